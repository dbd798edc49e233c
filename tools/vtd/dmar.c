/* SPDX-License-Identifier: MIT */
/*
 * vtd dmar decode [--json] [FILE]: list a binary ACPI DMAR table's fields.
 * vtd dmar build PLATFORM -o FILE: build one from a platform description.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmar_platform.h"
#include "tool.h"
#include "vtd/acpi.h"

static const char *const names[] = {
    "Hardware Unit Definition (DRHD)", "Reserved Memory Region (RMRR)",
    "Root Port ATS Capability (ATSR)", "Remapping Hardware Static Affinity (RHSA)",
    "ACPI Namespace Device Declaration (ANDD)", "SoC Integrated Address Translation Cache (SATC)",
    "SoC Integrated Device Property (SIDP)",
};
static const char *const short_names[] = {"DRHD", "RMRR", "ATSR", "RHSA", "ANDD", "SATC", "SIDP"};
static const char *const scope_names[] = {
    "Reserved", "PCI Endpoint Device", "PCI Bridge Device", "IOAPIC Device",
    "Message-capable HPET Device", "Namespace Device",
};
static const char *const scope_json[] = {"reserved", "endpoint", "bridge", "ioapic", "hpet", "namespace"};

#define MAX_FILE (1u << 20)

static void help(FILE *f)
{
    fprintf(f, "usage: vtd dmar decode [--json] [FILE]\n"
               "       vtd dmar build PLATFORM -o FILE\n"
               "decode: list a binary ACPI DMAR table's fields (default FILE\n"
               "  /sys/firmware/acpi/tables/DMAR), validating lengths and checksum;\n"
               "  --json prints one JSON object instead.  Errors give the byte offset.\n"
               "build: turn a platform description (text, see docs/dmar.md) into a\n"
               "  binary DMAR table for a guest; errors give FILE:LINE:COLUMN.\n"
               "  PLATFORM or FILE '-': standard input / output.\n"
               "exit status: 0 done, 2 bad usage or bad input.\n");
}

/* Read a whole file (at most MAX_FILE bytes) into buf; -1 after saying why. */
static long read_all(const char *path, unsigned char *buf)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "vtd dmar: cannot open %s\n", path);
        return -1;
    }
    size_t len = fread(buf, 1, MAX_FILE, f);
    int more = fgetc(f) != EOF, bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad || more) {
        fprintf(stderr, "vtd dmar: %s: %s\n", path, bad ? "read error" : "larger than 1 MiB");
        return -1;
    }
    return (long)len;
}

static void print_text(const struct vtd_dmar *d)
{
    printf("Signature : \"DMAR\"\nTable Length : %08X\nRevision : %02X\nChecksum : %02X\n"
           "Oem ID : \"%s\"\nOem Table ID : \"%s\"\nOem Revision : %08X\n"
           "Asl Compiler ID : \"%s\"\nAsl Compiler Revision : %08X\n"
           "Host Address Width : %02X\nFlags : %02X\n",
           d->length, d->revision, d->checksum, d->oem_id, d->oem_table_id, d->oem_revision,
           d->creator_id, d->creator_revision, d->haw, d->flags);
    for (uint32_t i = 0; i < d->nstructs; i++) {
        const struct vtd_dmar_struct *s = &d->s[i];
        printf("\n[%04X] Subtable Type : %04X [%s]\nLength : %04X\n", s->offset, s->type,
               s->type <= VTD_DMAR_SIDP ? names[s->type] : "Reserved", s->length);
        switch (s->type) {
        case VTD_DMAR_DRHD:
            printf("Flags : %02X\nSize : %02X\nPCI Segment Number : %04X\nRegister Base Address : %016llX\n",
                   s->flags, s->size, s->segment, (unsigned long long)s->base);
            break;
        case VTD_DMAR_RMRR:
            printf("PCI Segment Number : %04X\nBase Address : %016llX\nEnd Address (limit) : %016llX\n",
                   s->segment, (unsigned long long)s->base, (unsigned long long)s->limit);
            break;
        case VTD_DMAR_ATSR: case VTD_DMAR_SATC:
            printf("Flags : %02X\nPCI Segment Number : %04X\n", s->flags, s->segment);
            break;
        case VTD_DMAR_SIDP:
            printf("PCI Segment Number : %04X\n", s->segment);
            break;
        case VTD_DMAR_RHSA:
            printf("Base Address : %016llX\nProximity Domain : %08X\n",
                   (unsigned long long)s->base, s->proximity);
            break;
        case VTD_DMAR_ANDD:
            printf("Device Number : %02X\nDevice Name : \"%s\"\n", s->acpi_dev, s->name);
            break;
        default:
            break;
        }
        const struct vtd_dmar_scope *sc = vtd_dmar_scopes(d, s);
        for (uint32_t k = 0; k < s->nscopes; k++) {
            const struct vtd_dmar_scope *e = &sc[k];
            printf("\nDevice Scope Type : %02X [%s]\nEntry Length : %02X\nFlags : %02X\n"
                   "Enumeration ID : %02X\nPCI Bus Number : %02X\n",
                   e->type, scope_names[e->type <= 5 ? e->type : 0], 6 + 2 * e->npath, e->flags,
                   e->enum_id, e->bus);
            for (unsigned j = 0; j < e->npath; j++)
                printf("PCI Path : %02X,%02X\n", e->path[j].dev, e->path[j].fn);
        }
    }
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_json(const struct vtd_dmar *d)
{
    printf("{\"signature\": \"DMAR\", \"length\": %u, \"revision\": %u, \"checksum\": %u, \"oem_id\": ",
           d->length, d->revision, d->checksum);
    json_str(d->oem_id);
    printf(", \"oem_table_id\": ");
    json_str(d->oem_table_id);
    printf(", \"oem_revision\": %u, \"creator_id\": ", d->oem_revision);
    json_str(d->creator_id);
    printf(", \"creator_revision\": %u, \"haw\": %u, \"address_width\": %u, \"flags\": %u,\n"
           " \"intr_remap\": %s, \"x2apic_opt_out\": %s, \"dma_ctrl_platform_opt_in\": %s,\n"
           " \"structures\": [",
           d->creator_revision, d->haw, d->haw + 1u, d->flags,
           d->flags & VTD_DMAR_INTR_REMAP ? "true" : "false",
           d->flags & VTD_DMAR_X2APIC_OPT_OUT ? "true" : "false",
           d->flags & VTD_DMAR_DMA_CTRL_PLATFORM_OPT_IN ? "true" : "false");
    for (uint32_t i = 0; i < d->nstructs; i++) {
        const struct vtd_dmar_struct *s = &d->s[i];
        printf("%s\n  {\"offset\": %u, \"type\": %u, \"kind\": \"%s\", \"length\": %u", i ? "," : "",
               s->offset, s->type, s->type <= VTD_DMAR_SIDP ? short_names[s->type] : "reserved", s->length);
        switch (s->type) {
        case VTD_DMAR_DRHD:
            printf(", \"flags\": %u, \"include_pci_all\": %s, \"size\": %u, \"segment\": %u,"
                   " \"register_base\": \"0x%llx\"", s->flags,
                   s->flags & VTD_DRHD_INCLUDE_PCI_ALL ? "true" : "false", s->size, s->segment,
                   (unsigned long long)s->base);
            break;
        case VTD_DMAR_RMRR:
            printf(", \"segment\": %u, \"base\": \"0x%llx\", \"limit\": \"0x%llx\"", s->segment,
                   (unsigned long long)s->base, (unsigned long long)s->limit);
            break;
        case VTD_DMAR_ATSR: case VTD_DMAR_SATC:
            printf(", \"flags\": %u, \"%s\": %s, \"segment\": %u", s->flags,
                   s->type == VTD_DMAR_ATSR ? "all_ports" : "atc_required", s->flags & 1 ? "true" : "false",
                   s->segment);
            break;
        case VTD_DMAR_SIDP:
            printf(", \"segment\": %u", s->segment);
            break;
        case VTD_DMAR_RHSA:
            printf(", \"register_base\": \"0x%llx\", \"proximity\": %u", (unsigned long long)s->base,
                   s->proximity);
            break;
        case VTD_DMAR_ANDD:
            printf(", \"acpi_device\": %u, \"name\": ", s->acpi_dev);
            json_str(s->name);
            break;
        default:
            break;
        }
        if (s->type > VTD_DMAR_SIDP || s->type == VTD_DMAR_RHSA || s->type == VTD_DMAR_ANDD) {
            printf("}");
            continue;
        }
        printf(", \"scopes\": [");
        const struct vtd_dmar_scope *sc = vtd_dmar_scopes(d, s);
        for (uint32_t k = 0; k < s->nscopes; k++) {
            const struct vtd_dmar_scope *e = &sc[k];
            printf("%s\n    {\"type\": %u, \"kind\": \"%s\", \"flags\": %u, \"enumeration_id\": %u,"
                   " \"bus\": %u, \"path\": [", k ? "," : "", e->type, scope_json[e->type <= 5 ? e->type : 0],
                   e->flags, e->enum_id, e->bus);
            for (unsigned j = 0; j < e->npath; j++)
                printf("%s{\"device\": %u, \"function\": %u}", j ? ", " : "", e->path[j].dev, e->path[j].fn);
            printf("]}");
        }
        printf("%s]}", s->nscopes ? "\n  " : "");
    }
    printf("%s]}\n", d->nstructs ? "\n " : "");
}

static int decode(const char *path, int json)
{
    static unsigned char buf[MAX_FILE];
    long len = read_all(path, buf);
    if (len < 0)
        return 2;
    static struct vtd_dmar d;
    size_t off;
    const char *msg;
    if (vtd_dmar_parse(buf, (size_t)len, &d, &off, &msg) != 0) {
        fprintf(stderr, "vtd dmar: %s: byte %zu (0x%zx): %s\n", path, off, off, msg);
        return 2;
    }
    if (json)
        print_json(&d);
    else
        print_text(&d);
    return 0;
}

static int build(const char *in, const char *out)
{
    static char text[MAX_FILE];
    long len = read_all(in, (unsigned char *)text);
    if (len < 0)
        return 2;
    static struct dmar_platform p;
    struct dmar_platform_error e;
    if (dmar_platform_parse(text, (size_t)len, &p, &e) != 0) {
        fprintf(stderr, "%s:%u:%u: error: %s\n", in, e.line, e.col, e.msg);
        return 2;
    }
    static unsigned char table[1u << 20];
    size_t tlen;
    struct vtd_dmar_error be;
    if (vtd_dmar_build(&p.d, table, sizeof table, &tlen, &be) != 0) {
        fprintf(stderr, "vtd dmar build: %s: %s\n", in, be.msg);
        return 2;
    }
    FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "wb");
    if (!f) {
        fprintf(stderr, "vtd dmar build: cannot create %s\n", out);
        return 2;
    }
    size_t w = fwrite(table, 1, tlen, f);
    int bad = (f == stdout ? fflush(f) : fclose(f)) != 0 || w != tlen;
    if (bad) {
        fprintf(stderr, "vtd dmar build: writing %s failed\n", out);
        return 2;
    }
    return 0;
}

int cmd_dmar(int argc, char **argv)
{
    if (argc < 2 || tool_is_help(argv[1])) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++)
        if (tool_is_help(argv[i])) {
            help(stdout);
            return 0;
        }
    if (strcmp(argv[1], "decode") == 0) {
        int json = 0;
        const char *path = NULL;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0)
                json = 1;
            else if (argv[i][0] == '-' && argv[i][1] != 0) {
                fprintf(stderr, "vtd dmar decode: unknown option '%s'\n", argv[i]);
                return 2;
            } else if (path) {
                fprintf(stderr, "vtd dmar decode: one FILE only\n");
                return 2;
            } else
                path = argv[i];
        }
        return decode(path ? path : "/sys/firmware/acpi/tables/DMAR", json);
    }
    if (strcmp(argv[1], "build") == 0) {
        const char *in = NULL, *out = NULL;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
                out = argv[++i];
            else if (strncmp(argv[i], "-o", 2) == 0 && argv[i][2])
                out = argv[i] + 2;
            else if (argv[i][0] == '-' && argv[i][1] != 0) {
                fprintf(stderr, "vtd dmar build: unknown option '%s' (or -o without FILE)\n", argv[i]);
                return 2;
            } else if (in) {
                fprintf(stderr, "vtd dmar build: one PLATFORM only\n");
                return 2;
            } else
                in = argv[i];
        }
        if (!in || !out) {
            fprintf(stderr, "usage: vtd dmar build PLATFORM -o FILE\n");
            return 2;
        }
        return build(in, out);
    }
    fprintf(stderr, "vtd dmar: unknown action '%s' (try 'vtd dmar --help')\n", argv[1]);
    return 2;
}
