/* SPDX-License-Identifier: MIT */
/*
 * vtd_mappings / vtd_mappings_pasid in scalable mode, one case per PGTT
 * (test_sm_random compares them with the reference on random tables).
 */
#include "fl_tables.h"

struct ml {
    unsigned n;
    uint64_t iova[16], pa[16], size[16];
    uint8_t perm[16];
};

static int cb(void *arg, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm)
{
    struct ml *l = arg;
    if (l->n < 16) {
        l->iova[l->n] = iova;
        l->pa[l->n] = pa;
        l->size[l->n] = size;
        l->perm[l->n] = perm;
    }
    l->n++;
    return 0;
}

static void expect_map(const struct ml *l, unsigned i, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm)
{
    assert_true(i < l->n);
    assert_int_equal(l->iova[i], iova);
    assert_int_equal(l->pa[i], pa);
    assert_int_equal(l->size[i], size);
    assert_int_equal(l->perm[i], perm);
}

static struct th *unit(void **state, uint8_t haw)
{
    struct vtd_config c;
    fl_config(&c);
    c.haw = haw;
    return th_new(state, &c);
}

/* PGTT 100: the range itself below 2^haw, without the interrupt range */
static void test_mappings_pt(void **state)
{
    struct th *t = unit(state, 40);
    sm_qi_init(t);
    uint64_t dir = sm_dev(t, SID(0, 1, 0), 0, VTD_SMCTX_PASIDE, 0), q[8];
    sm_pe_pt(q, 3);
    sm_set_pe(t, dir, 0, q);
    sm_enable(t);
    struct ml l = {0};
    assert_int_equal(vtd_mappings(t->u, SID(0, 1, 0), 0xF0000000, 1ULL << 41, cb, &l), 0);
    assert_int_equal(l.n, 2);
    expect_map(&l, 0, 0xF0000000, 0xF0000000, 0xFEE00000 - 0xF0000000, VTD_R | VTD_W);
    expect_map(&l, 1, 0xFEF00000, 0xFEF00000, (1ULL << 40) - 0xFEF00000, VTD_R | VTD_W);
    /* PASID 5 has no entry: a request with it faults 59h */
    assert_int_equal(vtd_mappings_pasid(t->u, SID(0, 1, 0), true, 5, false, 0, 4096, cb, &l), VTD_ENOENT);
}

/* PGTT 001: the upper canonical half is reported sign-extended; U/S and
 * the privilege decide the permission */
static void test_mappings_fl(void **state)
{
    struct th *t = unit(state, 50);
    struct flx x;
    flx_init(&x, t, false, 4);
    flx_map(&x, 0x1000, 0x10000000, 4096, VTD_FL_P | VTD_FL_RW | VTD_FL_US);
    flx_map(&x, 0xFFFF800000200000ULL, 0x20000000, 2ULL << 20, VTD_FL_P);
    struct ml l = {0};
    assert_int_equal(vtd_mappings_pasid(t->u, FLX_SID, true, FLX_PASID, false, 0, ~0ULL, cb, &l), 0);
    assert_int_equal(l.n, 1); /* the supervisor page is no user mapping */
    expect_map(&l, 0, 0x1000, 0x10000000, 4096, VTD_R | VTD_W);
    l.n = 0;
    assert_int_equal(vtd_mappings_pasid(t->u, FLX_SID, true, FLX_PASID, true, 0, ~0ULL, cb, &l), 0);
    assert_int_equal(l.n, 2);
    expect_map(&l, 1, 0xFFFF800000200000ULL, 0x20000000, 2ULL << 20, VTD_R | VTD_W); /* WPE=0 */
}

/* PGTT 011: a 2 MiB first-level leaf over 4 KiB second-level pages comes
 * in 4 KiB pieces, with the permissions ANDed */
static void test_mappings_nested(void **state)
{
    struct th *t = unit(state, 50);
    struct flx x;
    flx_init(&x, t, true, 4);
    flx_map(&x, 0x40000000, 0x80000000, 2ULL << 20, VTD_FL_P | VTD_FL_RW | VTD_FL_US);
    flx_sl_map(&x, 0x80000000, 0x30000000, VTD_SL_R | VTD_SL_W);
    flx_sl_map(&x, 0x80003000, 0x30005000, VTD_SL_R);
    struct ml l = {0};
    assert_int_equal(vtd_mappings_pasid(t->u, FLX_SID, true, FLX_PASID, false, 0, ~0ULL, cb, &l), 0);
    assert_int_equal(l.n, 2);
    expect_map(&l, 0, 0x40000000, 0x30000000, 4096, VTD_R | VTD_W);
    expect_map(&l, 1, 0x40003000, 0x30005000, 4096, VTD_R);
    /* a range inside the leaf: only the pieces overlapping it */
    l.n = 0;
    assert_int_equal(vtd_mappings_pasid(t->u, FLX_SID, true, FLX_PASID, false, 0x40002000, 0x2000, cb, &l), 0);
    assert_int_equal(l.n, 1);
    expect_map(&l, 0, 0x40003000, 0x30005000, 4096, VTD_R);
    /* the first-level table page unreadable through the second level: nothing */
    uint64_t root_sl = flx_sl_pte(&x, x.fl_root + FLX_GOFF, 1);
    th_w64(t, root_sl, x.fl_root | VTD_SL_W);
    l.n = 0;
    assert_int_equal(vtd_mappings_pasid(t->u, FLX_SID, true, FLX_PASID, false, 0, ~0ULL, cb, &l), 0);
    assert_int_equal(l.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mappings_pt, th_teardown),
        cmocka_unit_test_teardown(test_mappings_fl, th_teardown),
        cmocka_unit_test_teardown(test_mappings_nested, th_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
