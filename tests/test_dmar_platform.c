/* SPDX-License-Identifier: MIT */
/* The DMAR platform format (tools/vtd/dmar_platform.c): every keyword and
 * key reaches the description; each mistake is reported at its line and
 * column; text -> build -> parse gives the same description. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dmar_platform.h"

static struct dmar_platform plat;
static struct vtd_dmar back;

static const char full[] =
    "# every keyword\n"
    "dmar haw=46 flags=intr_remap,x2apic_opt_out,dma_ctrl_platform_opt_in revision=2 oem_id=OEMX"
    " oem_table_id=\"TBL 1\" oem_revision=0x10 creator_id=ABCD creator_revision=99\n"
    "drhd base=0xfed90000 segment=0 size=0\n"
    "  scope endpoint bus=0 path=02.0\n"
    "  scope bridge path=1c.4\n"
    "drhd base=0xfed92000 size=1 flags=include_pci_all   # last of segment 0\n"
    "\tscope ioapic id=2 bus=0xf0 path=1f.0\n"
    "\tscope hpet id=7 path=1f.7\n"
    "\tscope namespace id=5 path=15.1\n"
    "drhd base=0x100000000 segment=1 flags=1\n"
    "rmrr base=0x7c000000 limit=0x7c7fffff\n"
    "  scope endpoint path=14.0\n"
    "  scope endpoint bus=3 path=1c.0,00.0,03.1\n"
    "atsr\n"
    "  scope bridge path=1c.0\n"
    "atsr segment=1 flags=all_ports\n"
    "rhsa base=0xfed90000 proximity=0\n"
    "rhsa base=0xfed92000 proximity=4294967294\n"
    "andd number=5 name=\\_SB.PCI0.I2C0\n"
    "andd number=6 name=\"\\_SB.PCI0.SPI1\"\n"
    "satc flags=atc_required\n"
    "  scope endpoint path=02.0\n"
    "sidp\n"
    "  scope endpoint path=03.0 flags=0x1f\n"
    "  scope namespace id=6 path=15.2 flags=atc_required\n";

static void test_full(void **state)
{
    (void)state;
    struct dmar_platform_error e;
    int rc = dmar_platform_parse(full, strlen(full), &plat, &e);
    if (rc)
        fail_msg("%u:%u: %s", e.line, e.col, e.msg);
    const struct vtd_dmar *d = &plat.d;
    assert_int_equal(d->haw, 45);
    assert_int_equal(d->flags, 7);
    assert_int_equal(d->revision, 2);
    assert_string_equal(d->oem_id, "OEMX");
    assert_string_equal(d->oem_table_id, "TBL 1");
    assert_int_equal(d->oem_revision, 0x10);
    assert_string_equal(d->creator_id, "ABCD");
    assert_int_equal(d->creator_revision, 99);
    assert_int_equal(d->nstructs, 12);
    assert_int_equal(d->nscopes, 11);
    assert_int_equal(d->s[0].base, 0xfed90000);
    assert_int_equal(d->s[1].size, 1);
    assert_int_equal(d->s[1].flags, VTD_DRHD_INCLUDE_PCI_ALL);
    assert_int_equal(d->s[2].segment, 1);
    assert_int_equal(d->s[2].base, 0x100000000ull);
    assert_int_equal(d->s[3].limit, 0x7c7fffff);
    assert_int_equal(d->s[5].flags, VTD_ATSR_ALL_PORTS);
    assert_int_equal(d->s[7].proximity, 0xfffffffe);
    assert_string_equal(d->s[8].name, "\\_SB.PCI0.I2C0");
    assert_int_equal(d->s[9].acpi_dev, 6);
    assert_string_equal(d->s[9].name, "\\_SB.PCI0.SPI1");
    assert_int_equal(d->s[10].flags, VTD_SATC_ATC_REQUIRED);
    const struct vtd_dmar_scope *sc = vtd_dmar_scopes(d, &d->s[1]);
    assert_int_equal(d->s[1].nscopes, 3);
    assert_int_equal(sc[0].type, VTD_SCOPE_IOAPIC);
    assert_int_equal(sc[0].enum_id, 2);
    assert_int_equal(sc[0].bus, 0xf0);
    assert_int_equal(sc[0].path[0].dev, 0x1f);
    assert_int_equal(sc[1].type, VTD_SCOPE_HPET);
    assert_int_equal(sc[1].path[0].fn, 7);
    assert_int_equal(sc[2].type, VTD_SCOPE_NAMESPACE);
    sc = vtd_dmar_scopes(d, &d->s[3]);
    assert_int_equal(sc[1].bus, 3);
    assert_int_equal(sc[1].npath, 3);
    assert_int_equal(sc[1].path[2].dev, 3);
    assert_int_equal(sc[1].path[2].fn, 1);
    assert_int_equal(vtd_dmar_scopes(d, &d->s[0])[1].type, VTD_SCOPE_BRIDGE);
    sc = vtd_dmar_scopes(d, &d->s[11]);
    assert_int_equal(sc[0].flags, 0x1f);
    assert_int_equal(sc[1].flags, VTD_SCOPE_ATC_REQUIRED);
    /* where things were written */
    assert_int_equal(plat.st[1].line, 6);
    assert_int_equal(plat.sc[3].line, 8);
    assert_int_equal(plat.sc[3].col, 2);
    /* build and parse back */
    static uint8_t table[4096];
    size_t len, off;
    struct vtd_dmar_error be;
    const char *msg;
    assert_int_equal(vtd_dmar_build(d, table, sizeof table, &len, &be), 0);
    assert_int_equal(vtd_dmar_parse(table, len, &back, &off, &msg), 0);
    assert_int_equal(back.nstructs, d->nstructs);
    assert_int_equal(back.nscopes, d->nscopes);
    assert_memory_equal(back.scopes, d->scopes, d->nscopes * sizeof d->scopes[0]);
    for (uint32_t i = 0; i < d->nstructs; i++) {
        assert_int_equal(back.s[i].type, d->s[i].type);
        assert_int_equal(back.s[i].base, d->s[i].base);
        assert_string_equal(back.s[i].name, d->s[i].name);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    struct dmar_platform_error e;
    const char *t = "dmar haw=39\ndrhd base=0xfed90000 flags=include_pci_all\n";
    assert_int_equal(dmar_platform_parse(t, strlen(t), &plat, &e), 0);
    assert_int_equal(plat.d.revision, 1);
    assert_string_equal(plat.d.oem_id, "LIBVTD");
    assert_string_equal(plat.d.oem_table_id, "VTDPLAT");
    assert_string_equal(plat.d.creator_id, "LVTD");
    assert_int_equal(plat.d.flags, 0);
    assert_int_equal(plat.d.s[0].segment, 0);
    /* no trailing newline, CRLF, comments only */
    t = "# x\r\ndmar haw=39 # y\r\n\r\ndrhd base=0x1000";
    assert_int_equal(dmar_platform_parse(t, strlen(t), &plat, &e), 0);
    assert_int_equal(plat.d.nstructs, 1);
}

struct bad_case { const char *text; unsigned line, col; const char *words; };

static const struct bad_case bad[] = {
    {"", 1, 1, "no 'dmar"},
    {"drhd base=0\n", 1, 1, "first line must be 'dmar"},
    {"dmar\n", 1, 1, "needs haw="},
    {"dmar haw=0\n", 1, 10, "1..64"},
    {"dmar haw=65\n", 1, 10, "above the largest"},
    {"dmar haw=4x\n", 1, 11, "'x' is not a decimal digit"},
    {"dmar haw=0x\n", 1, 10, "expected a number"},
    {"dmar haw=99999999999999999999\n", 1, 10, "64 bits"},
    {"dmar haw=39 haw=40\n", 1, 13, "given twice"},
    {"dmar haw=39 colour=red\n", 1, 13, "unknown key 'colour'"},
    {"dmar haw=39 flags=intr_remap,bogus\n", 1, 30, "unknown flags flag 'bogus'"},
    {"dmar haw=39 flags=0x100\n", 1, 19, "above the largest"},
    {"dmar haw=39 flags=8\n", 1, 1, "bits 7:3 are reserved"},
    {"dmar haw=39 oem_id=SEVENCH\n", 1, 20, "at most 6"},
    {"dmar haw=39 oem_id=\"abc\n", 1, 20, "closing"},
    {"dmar haw=39 oem_id=\n", 1, 20, "no value"},
    {"dmar haw=39 =5\n", 1, 13, "'=' without a key"},
    {"dmar haw=39 x\n", 1, 13, "expected key=value"},
    {"dmar haw=39\ndmar haw=39\n", 2, 1, "second 'dmar'"},
    {"dmar haw=39\n  widget\n", 2, 3, "unknown keyword 'widget'"},
    {"dmar haw=39\nbase=1\n", 2, 1, "starts with a keyword"},
    {"dmar haw=39\ndrhd\n", 2, 1, "needs base="},
    {"dmar haw=39\ndrhd base=0x1000 size=16\n", 2, 23, "above the largest"},
    {"dmar haw=39\ndrhd base=0x1800\n", 2, 1, "aligned"},
    {"dmar haw=39\ndrhd base=0x1000 flags=include_pci_all\ndrhd base=0x2000\n", 2, 1, "last DRHD"},
    {"dmar haw=39\nscope endpoint path=1.0\n", 2, 1, "belongs after"},
    {"dmar haw=39\ndrhd base=0x1000\nrhsa base=0x1000 proximity=0\n  scope endpoint path=1.0\n", 4, 3,
     "no device scopes"},
    {"dmar haw=39\ndrhd base=0x1000\n scope\n", 3, 7, "needs a type"},
    {"dmar haw=39\ndrhd base=0x1000\n scope thing path=1.0\n", 3, 8, "unknown scope type"},
    {"dmar haw=39\ndrhd base=0x1000\n scope endpoint\n", 3, 2, "needs path="},
    {"dmar haw=39\ndrhd base=0x1000\n scope endpoint path=20.0\n", 3, 22, "above 0x1f"},
    {"dmar haw=39\ndrhd base=0x1000\n scope endpoint path=1f.8\n", 3, 25, "above the largest"},
    {"dmar haw=39\ndrhd base=0x1000\n scope endpoint path=1g.0\n", 3, 23, "not a hex digit"},
    {"dmar haw=39\ndrhd base=0x1000\n scope endpoint path=1f\n", 3, 22, "DEVICE.FUNCTION"},
    {"dmar haw=39\ndrhd base=0x1000\n scope endpoint path=1.0,,2.0\n", 3, 26, "DEVICE.FUNCTION"},
    {"dmar haw=39\ndrhd base=0x1000\n scope endpoint path=1.0 bus=256\n", 3, 30, "above the largest"},
    {"dmar haw=39\ndrhd base=0x1000\n scope endpoint path=1.0 flags=atc_required\n", 3, 2,
     "only in SIDP"},
    {"dmar haw=39\ndrhd base=0x1000 flags=include_pci_all\n scope endpoint path=1.0\n", 3, 2,
     "INCLUDE_PCI_ALL"},
    {"dmar haw=39\ndrhd base=0x1000\n scope namespace id=3 path=1.0\n", 3, 2, "no ANDD declares"},
    {"dmar haw=39\ndrhd base=0x1000\nrmrr base=0x2000 limit=0x2fff\n", 3, 1, "at least one device scope"},
    {"dmar haw=39\ndrhd base=0x1000\nrmrr base=0x2000 limit=0x2ffe\n scope endpoint path=1.0\n", 3, 1,
     "4 KiB page"},
    {"dmar haw=39\ndrhd base=0x1000\nrmrr base=0x2000\n", 3, 1, "needs limit="},
    {"dmar haw=39\ndrhd base=0x1000\natsr flags=all_ports\n scope bridge path=1.0\n", 3, 1, "ALL_PORTS"},
    {"dmar haw=39\ndrhd base=0x1000\natsr\n scope endpoint path=1.0\n", 4, 2, "bridges"},
    {"dmar haw=39\ndrhd base=0x1000\nrhsa base=0x2000 proximity=1\n", 3, 1, "names no DRHD"},
    {"dmar haw=39\ndrhd base=0x1000\nrhsa base=0x1000\n", 3, 1, "needs proximity="},
    {"dmar haw=39\ndrhd base=0x1000\nandd number=1\n", 3, 1, "needs name="},
    {"dmar haw=39\ndrhd base=0x1000\nandd number=1 name=a\nandd number=1 name=b\n", 4, 1, "unique"},
    {"dmar haw=39\ndrhd base=0x1000\nandd number=256 name=a\n", 3, 13, "above the largest"},
    {"dmar haw=39\ndrhd base=0x1000\nsatc\n scope endpoint path=1.0,2.0\n", 4, 2, "RCIEP"},
    {"dmar haw=39\ndrhd base=0x1000\nsidp\n scope ioapic path=1.0\n", 4, 2, "SIDP device scopes"},
    {"dmar haw=39\ndrhd base=0x1000\nsidp\n scope endpoint path=1.0 flags=0x20\n", 4, 2, "7:5"},
    {"dmar haw=39\nrmrr base=0x2000 limit=0x2fff\n scope endpoint path=1.0\ndrhd base=0x1000\n", 4, 1,
     "type order"},
    {"dmar haw=39\ndrhd base=0x1000 segment=65536\n", 2, 26, "above the largest"},
    {"dmar haw=39 oem_id=\"a\tb\"\n", 1, 22, "printable ASCII"},
    {"dmar haw=39\x01\n", 1, 12, "printable ASCII"},
    {"dmar haw=39 oem_id=a\"b\n", 1, 21, "quote it"},
    {"dmar haw=39 a b c d e f g h i j k l m n o p\n", 1, 41, "more than 16 words"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dmar_platform_error e;
        int rc = dmar_platform_parse(bad[i].text, strlen(bad[i].text), &plat, &e);
        if (rc != -1 || e.line != bad[i].line || e.col != bad[i].col || !strstr(e.msg, bad[i].words))
            fail_msg("case %zu (%s): rc %d, got %u:%u: %s; want %u:%u: ...%s...", i, bad[i].text, rc,
                     e.line, e.col, e.msg, bad[i].line, bad[i].col, bad[i].words);
    }
}

/* limits: 64 structures, 256 scopes, 16 path entries */
static void test_limits(void **state)
{
    (void)state;
    static char t[65536];
    struct dmar_platform_error e;
    size_t n = (size_t)snprintf(t, sizeof t, "dmar haw=39\n");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(t + n, sizeof t - n, "drhd base=0x%x\n", (i + 1) << 12);
    assert_int_equal(dmar_platform_parse(t, n, &plat, &e), -1);
    assert_int_equal(e.line, 66);
    assert_non_null(strstr(e.msg, "64 structures"));
    n = (size_t)snprintf(t, sizeof t, "dmar haw=39\ndrhd base=0x1000\n");
    for (int i = 0; i < 257; i++)
        n += (size_t)snprintf(t + n, sizeof t - n, " scope endpoint path=1.0\n");
    assert_int_equal(dmar_platform_parse(t, n, &plat, &e), -1);
    assert_int_equal(e.line, 259);
    assert_non_null(strstr(e.msg, "256 device scopes"));
    n = (size_t)snprintf(t, sizeof t, "dmar haw=39\ndrhd base=0x1000\n scope bridge path=0.0");
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(t + n, sizeof t - n, ",1.%d", i % 8);
    assert_int_equal(dmar_platform_parse(t, n, &plat, &e), -1);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.col, 20 + 4 * 16);
    assert_non_null(strstr(e.msg, "16 entries"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
