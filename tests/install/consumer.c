/* SPDX-License-Identifier: MIT */
/*
 * A program built against an installed libvtd (tests/install_test.sh builds
 * it once with pkg-config and once with find_package(vtd)).  It programs a
 * unit as a driver would -- root table, context entry, a 4-level
 * second-level page table, RTADDR, SRTP, TE -- translates one DMA read, and
 * builds and parses a DMAR table.  Prints "consumer VERSION ok".
 */
#include <stdio.h>
#include <string.h>

#include <vtd/acpi.h>
#include <vtd/defs.h>
#include <vtd/mem.h>
#include <vtd/regs.h>
#include <vtd/version.h>
#include <vtd/vtd.h>

static int fail(const char *what)
{
    fprintf(stderr, "consumer: %s\n", what);
    return 1;
}

static int put64(struct vtd_mem *m, uint64_t pa, uint64_t v)
{
    return vtd_mem_write(m, pa, &v, sizeof v);
}

int main(void)
{
    struct vtd_mem *m;
    if (vtd_mem_create(0, &m))
        return fail("vtd_mem_create");
    struct vtd_host host = {0};
    vtd_mem_host(m, &host);
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    struct vtd *u;
    if (vtd_create(&cfg, &host, &u))
        return fail("vtd_create");

    /* requester 00:02.0 (devfn 0x10) in domain 1: IOVA 0 -> PA 0x7000 */
    int bad = put64(m, 0x1000, 0x2000 | VTD_ROOT_LO_P);                  /* root entry, bus 0 */
    bad |= put64(m, 0x2000 + 0x10 * VTD_CTX_SIZE, 0x3000 | VTD_CTX_LO_P); /* TT=00 */
    bad |= put64(m, 0x2000 + 0x10 * VTD_CTX_SIZE + 8, VTD_AW_48 | 1u << VTD_CTX_HI_DID_SHIFT);
    bad |= put64(m, 0x3000, 0x4000 | 3);                                  /* PML4: R|W */
    bad |= put64(m, 0x4000, 0x5000 | 3);                                  /* PDP */
    bad |= put64(m, 0x5000, 0x6000 | 3);                                  /* PD */
    bad |= put64(m, 0x6000, 0x7000 | 3);                                  /* PT: 4 KiB leaf */
    if (bad)
        return fail("table write");
    vtd_mmio_write(u, VTD_REG_RTADDR, 0x1000, 8);
    vtd_mmio_write(u, VTD_REG_GCMD, VTD_GCMD_SRTP, 4);
    vtd_mmio_write(u, VTD_REG_GCMD, VTD_GCMD_TE, 4);
    if (!(vtd_mmio_read(u, VTD_REG_GSTS, 4) & VTD_GSTS_TES))
        return fail("translation not enabled");
    struct vtd_request rq = {.sid = 0x0010, .at = VTD_AT_UNTRANSLATED, .access = VTD_R, .addr = 0x123};
    struct vtd_result rs;
    if (vtd_translate(u, &rq, &rs) || rs.status != VTD_OK || rs.pa != 0x7123)
        return fail("translation of IOVA 0x123 is not PA 0x7123");

    /* a DMAR table describing this unit */
    static struct vtd_dmar d, back;
    d.revision = 1;
    d.haw = cfg.haw - 1;
    d.nstructs = 1;
    d.s[0].type = VTD_DMAR_DRHD;
    d.s[0].flags = VTD_DRHD_INCLUDE_PCI_ALL;
    d.s[0].base = 0xfed90000;
    uint8_t table[256];
    size_t len, off;
    struct vtd_dmar_error e;
    const char *msg;
    if (vtd_dmar_build(&d, table, sizeof table, &len, &e) || len != 64 ||
        vtd_dmar_parse(table, len, &back, &off, &msg) || back.s[0].base != 0xfed90000)
        return fail("DMAR build/parse");

    vtd_destroy(u);
    vtd_mem_destroy(m);
    printf("consumer %s ok\n", VTD_VERSION_STRING);
    return 0;
}
