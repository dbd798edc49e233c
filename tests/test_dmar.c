/* SPDX-License-Identifier: MIT */
/* DMAR parser: the iasl -T DMAR template (compiled by iasl 20200925) and
 * every validation error with its byte offset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vtd/acpi.h"

static const uint8_t tmpl[] = {
  0x44, 0x4d, 0x41, 0x52, 0x8c, 0x00, 0x00, 0x00, 0x01, 0xe4, 0x49, 0x4e,
  0x54, 0x45, 0x4c, 0x20, 0x54, 0x45, 0x4d, 0x50, 0x4c, 0x41, 0x54, 0x45,
  0x01, 0x00, 0x00, 0x00, 0x49, 0x4e, 0x54, 0x4c, 0x25, 0x09, 0x20, 0x20,
  0x2f, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x18, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x08, 0x00, 0x00, 0x01,
  0x01, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0xff, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x10, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
  0x03, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
};

static void fix_sum(uint8_t *t, size_t len)
{
    t[9] = 0;
    t[9] = (uint8_t)(0u - vtd_dmar_checksum(t, len));
}

static void test_template(void **state)
{
    (void)state;
    struct vtd_dmar d;
    size_t off = 0;
    const char *msg = NULL;
    assert_int_equal(vtd_dmar_parse(tmpl, sizeof tmpl, &d, &off, &msg), 0);
    assert_int_equal(d.length, 0x8c);
    assert_int_equal(d.haw, 0x2f);
    assert_int_equal(d.flags, 1);
    assert_string_equal(d.oem_table_id, "TEMPLATE");
    assert_int_equal(d.nstructs, 4);
    assert_int_equal(d.s[0].type, VTD_DMAR_DRHD);
    assert_int_equal(d.s[0].flags, 1);
    assert_int_equal(d.s[0].nscopes, 1);
    assert_int_equal(d.s[1].type, VTD_DMAR_RMRR);
    assert_int_equal(d.s[1].limit, 0xfff);
    assert_int_equal(d.s[2].type, VTD_DMAR_ATSR);
    assert_int_equal(d.s[3].type, VTD_DMAR_RHSA);
    assert_int_equal(d.s[3].offset, 0x8c - 0x14);
}

static void expect_err(const uint8_t *t, size_t len, size_t want_off)
{
    struct vtd_dmar d;
    size_t off = 0;
    const char *msg = NULL;
    assert_int_equal(vtd_dmar_parse(t, len, &d, &off, &msg), -1);
    assert_non_null(msg);
    assert_int_equal(off, want_off);
}

static void test_errors(void **state)
{
    (void)state;
    uint8_t t[sizeof tmpl];
    expect_err(tmpl, 40, 40);                     /* truncated header */
    expect_err(tmpl, sizeof tmpl - 1, 4);         /* length beyond data */
    memcpy(t, tmpl, sizeof t);
    t[20] ^= 1;
    expect_err(t, sizeof t, 9);                   /* checksum */
    memcpy(t, tmpl, sizeof t);
    t[0] = 'X';
    expect_err(t, sizeof t, 0);                   /* signature */
    memcpy(t, tmpl, sizeof t);
    t[48 + 16 + 1] = 0x0a;                        /* DRHD scope length 10 > 8 left */
    fix_sum(t, sizeof t);
    expect_err(t, sizeof t, 48 + 16 + 1);
    memcpy(t, tmpl, sizeof t);
    t[48 + 2] = 0xff;                             /* DRHD length overruns table */
    fix_sum(t, sizeof t);
    expect_err(t, sizeof t, 48 + 2);
    memcpy(t, tmpl, sizeof t);
    t[48 + 2] = 2;                                /* length below 4 */
    fix_sum(t, sizeof t);
    expect_err(t, sizeof t, 48 + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
