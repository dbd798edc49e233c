/* SPDX-License-Identifier: MIT */
/* vtd dmar decode [FILE]: list a binary ACPI DMAR table's fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "vtd/acpi.h"

static const char *const names[] = {
    "Hardware Unit Definition (DRHD)", "Reserved Memory Region (RMRR)",
    "Root Port ATS Capability (ATSR)", "Remapping Hardware Static Affinity (RHSA)",
    "ACPI Namespace Device Declaration (ANDD)", "SoC Integrated Address Translation Cache (SATC)",
    "SoC Integrated Device Property (SIDP)",
};

static void help(FILE *f)
{
    fprintf(f, "usage: vtd dmar decode [FILE]\n"
               "Decode a binary ACPI DMAR table (default /sys/firmware/acpi/tables/DMAR),\n"
               "validating lengths and checksum; errors give the byte offset (exit 2).\n");
}

static int decode(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "vtd dmar: cannot open %s\n", path);
        return 2;
    }
    static unsigned char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    static struct vtd_dmar d;
    size_t off;
    const char *msg;
    if (vtd_dmar_parse(buf, len, &d, &off, &msg) != 0) {
        fprintf(stderr, "vtd dmar: %s: byte %zu (0x%zx): %s\n", path, off, off, msg);
        return 2;
    }
    printf("Signature : \"DMAR\"\nTable Length : %08X\nRevision : %02X\nChecksum : %02X\n"
           "Oem ID : \"%s\"\nOem Table ID : \"%s\"\nHost Address Width : %02X\nFlags : %02X\n",
           d.length, d.revision, d.checksum, d.oem_id, d.oem_table_id, d.haw, d.flags);
    for (uint32_t i = 0; i < d.nstructs; i++) {
        const struct vtd_dmar_struct *s = &d.s[i];
        printf("\n[%04X] Subtable Type : %04X [%s]\nLength : %04X\n", s->offset, s->type,
               s->type <= VTD_DMAR_SIDP ? names[s->type] : "Reserved", s->length);
        switch (s->type) {
        case VTD_DMAR_DRHD:
            printf("Flags : %02X\nPCI Segment Number : %04X\nRegister Base Address : %016llX\n",
                   s->flags, s->segment, (unsigned long long)s->base);
            break;
        case VTD_DMAR_RMRR:
            printf("PCI Segment Number : %04X\nBase Address : %016llX\nEnd Address (limit) : %016llX\n",
                   s->segment, (unsigned long long)s->base, (unsigned long long)s->limit);
            break;
        case VTD_DMAR_ATSR: case VTD_DMAR_SATC:
            printf("Flags : %02X\nPCI Segment Number : %04X\n", s->flags, s->segment);
            break;
        case VTD_DMAR_RHSA:
            printf("Base Address : %016llX\nProximity Domain : %08X\n",
                   (unsigned long long)s->base, s->proximity);
            break;
        default:
            break;
        }
        if (s->nscopes)
            printf("Device Scopes : %u\n", s->nscopes);
    }
    return 0;
}

int cmd_dmar(int argc, char **argv)
{
    if (argc < 2 || tool_is_help(argv[1])) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "decode") != 0) {
        fprintf(stderr, "vtd dmar: unknown action '%s' (try 'vtd dmar --help')\n", argv[1]);
        return 2;
    }
    if (argc > 2 && tool_is_help(argv[2])) {
        help(stdout);
        return 0;
    }
    return decode(argc > 2 ? argv[2] : "/sys/firmware/acpi/tables/DMAR");
}
