/* SPDX-License-Identifier: MIT */
/*
 * Caching mode (CAP.CM=1) in scalable mode: the PASID cache holds entries
 * that fault (not-present or reserved PASID-directory entries, 51h/52h;
 * not-present, reserved or invalid PASID-table entries, 59h/5Ah/5Bh), tagged
 * with the reserved domain id 0 (spec Rev 5.10 §6.2.3), so software must
 * invalidate after making them valid; and cached not-present second-level
 * leaves give the fault the walk would have given.  Everything through MMIO,
 * the invalidation queue and memory.
 */
#include "sm_tables.h"

#define DEV SID(0, 4, 0)
#define DID 5u
#define IOVA 0x40000000ULL
#define PA 0x80000000ULL

struct cm {
    struct th *t;
    uint64_t dir, sl_root;
};

static void cm_init(void **state, struct cm *c, bool cm)
{
    struct vtd_config cfg;
    sm_config(&cfg);
    if (cm)
        cfg.cap |= VTD_CAP_CM;
    c->t = th_new(state, &cfg);
    sm_qi_init(c->t);
    c->dir = sm_dev(c->t, DEV, 0, VTD_SMCTX_PASIDE, 0);
    c->sl_root = th_alloc_page(c->t);
    th_map(c->t, c->sl_root, 4, IOVA, PA, 4096, 4096, VTD_SL_R | VTD_SL_W);
    sm_enable(c->t);
}

static void pe_sl(struct cm *c, uint32_t pasid, uint64_t q[8])
{
    sm_pe_sl(q, c->sl_root, VTD_AW_48, DID);
    sm_set_pe(c->t, c->dir, pasid, q);
}

/* a unit, the device, and PASID 1's second-level entry: its address */
static uint64_t cm_setup(void **state, struct cm *c, bool cm, uint64_t q[8])
{
    cm_init(state, c, cm);
    pe_sl(c, 1, q);
    return sm_pe_addr(c->t, c->dir, 1);
}

static struct vtd_result rq(struct cm *c, uint32_t pasid, uint8_t access)
{
    struct vtd_request r = sm_req(DEV, true, pasid, IOVA | 0x10, access);
    return th_req(c->t, &r);
}

static void clear_faults(struct th *t)
{
    for (unsigned i = 0; i < 8; i++)
        th_frcd_clear(t, i);
    th_wr32(t, VTD_REG_FSTS, th_rd32(t, VTD_REG_FSTS));
}

static void expect_fault(struct cm *c, struct vtd_result r, unsigned fr)
{
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, fr);
    clear_faults(c->t);
}

static void expect_ok(struct vtd_result r)
{
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, PA | 0x10);
}

static void pc(struct cm *c, unsigned g, uint16_t did, uint32_t pasid)
{
    uint64_t d[4];
    sm_desc_pc(d, g, did, pasid);
    sm_qi_submit(c->t, d);
    sm_qi_sync(c->t);
}

/* 59h is cached: making the entry present changes nothing (the stale use is
 * reported) until a PASID-cache invalidation with domain id 0; one naming
 * the entry's new domain does not drop it. */
static void test_cm_pte_not_present_cached(void **state)
{
    struct cm c;
    uint64_t q[8], pa = cm_setup(state, &c, true, q);
    th_w64(c.t, pa, q[0] & ~VTD_PE_Q0_P);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_NOT_PRESENT);
    th_w64(c.t, pa, q[0]);
    th_clear_logs(c.t);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_NOT_PRESENT);
    assert_true(th_has_diag(c.t, VTD_DIAG_STALE_NEGATIVE));
    pc(&c, SM_PC_PASID, DID, 1);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_NOT_PRESENT);
    pc(&c, SM_PC_DOMAIN, DID, 0);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_NOT_PRESENT);
    pc(&c, SM_PC_PASID, 0, 2); /* another PASID */
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_NOT_PRESENT);
    pc(&c, SM_PC_PASID, 0, 1);
    expect_ok(rq(&c, 1, VTD_R));
}

/* Without CM nothing that faults is cached: the entry is used at once. */
static void test_no_cm_not_cached(void **state)
{
    struct cm c;
    uint64_t q[8], pa = cm_setup(state, &c, false, q);
    th_w64(c.t, pa, q[0] & ~VTD_PE_Q0_P);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_NOT_PRESENT);
    th_w64(c.t, pa, q[0]);
    expect_ok(rq(&c, 1, VTD_R));
    uint64_t da = c.dir;
    uint64_t de = th_r64(c.t, da);
    th_w64(c.t, da, de & ~VTD_PDE_P);
    /* the valid entry is cached: invalidate it first */
    pc(&c, SM_PC_PASID, DID, 1);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PDE_NOT_PRESENT);
    th_w64(c.t, da, de);
    expect_ok(rq(&c, 1, VTD_R));
}

/* A not-present (51h) or reserved (52h) PASID-directory entry is cached per
 * PASID: the domain-selective invalidation of domain 0 drops it. */
static void test_cm_pde_cached(void **state)
{
    struct cm c;
    cm_init(state, &c, true);
    uint64_t q[8];
    pe_sl(&c, 1, q);
    uint64_t da = c.dir, de = th_r64(c.t, da);
    th_w64(c.t, da, de & ~VTD_PDE_P);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PDE_NOT_PRESENT);
    th_w64(c.t, da, de | VTD_BIT(5)); /* present, reserved bit */
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PDE_NOT_PRESENT);
    pc(&c, SM_PC_DOMAIN, 0, 0);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PDE_RSVD);
    th_w64(c.t, da, de);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PDE_RSVD);
    pc(&c, SM_PC_DOMAIN, 0, 0);
    expect_ok(rq(&c, 1, VTD_R));
}

/* Reserved bits (5Ah) and an invalid PGTT (5Bh) are cached as well; a global
 * PASID-cache invalidation and a device-selective context-cache invalidation
 * (which in scalable mode also drops the device's PASID-cache entries) drop
 * them. */
static void test_cm_pte_rsvd_invalid_cached(void **state)
{
    struct cm c;
    uint64_t q[8], pa = cm_setup(state, &c, true, q);
    th_w64(c.t, pa + 8, q[1] | VTD_BIT(16)); /* 80: reserved */
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_RSVD);
    th_w64(c.t, pa + 8, q[1]);
    th_w64(c.t, pa, (q[0] & ~VTD_PE_Q0_PGTT_MASK) | 5ULL << VTD_PE_Q0_PGTT_SHIFT); /* PGTT 101 */
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_RSVD);
    pc(&c, SM_PC_GLOBAL, 0, 0);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_INVALID);
    th_w64(c.t, pa, q[0]);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_PTE_INVALID);
    uint64_t d[4];
    sm_desc_cc(d, 3, 0, DEV, 0);
    sm_qi_submit(c.t, d);
    sm_qi_sync(c.t);
    expect_ok(rq(&c, 1, VTD_R));
}

/* The cached fault keeps the FPD seen on its way: with the PASID-table
 * entry's FPD set, the cached 59h stays unrecorded; a request without PASID
 * (RID_PASID) has its own entry. */
static void test_cm_negative_fpd(void **state)
{
    struct cm c;
    cm_init(state, &c, true);
    uint64_t q[8];
    pe_sl(&c, 1, q);
    pe_sl(&c, 0, q);
    uint64_t pa = sm_pe_addr(c.t, c.dir, 1);
    th_w64(c.t, pa, (q[0] & ~VTD_PE_Q0_P) | VTD_PE_Q0_FPD);
    struct vtd_result r = rq(&c, 1, VTD_R);
    assert_int_equal(r.fault_reason, VTD_FR_SM_PTE_NOT_PRESENT);
    assert_false(r.fault_recorded);
    th_w64(c.t, pa, q[0] & ~VTD_PE_Q0_P); /* FPD cleared, no invalidation */
    r = rq(&c, 1, VTD_R);
    assert_int_equal(r.fault_reason, VTD_FR_SM_PTE_NOT_PRESENT);
    assert_false(r.fault_recorded);
    pc(&c, SM_PC_PASID, 0, 1);
    r = rq(&c, 1, VTD_W);
    assert_int_equal(r.fault_reason, VTD_FR_SM_PTE_NOT_PRESENT);
    assert_true(r.fault_recorded);
    clear_faults(c.t);
    struct vtd_request nr = sm_req(DEV, false, 0, IOVA, VTD_R);
    r = th_req(c.t, &nr);
    assert_int_equal(r.status, VTD_OK);
}

/* Regression (test_sm_random): a cached not-present second-level leaf gives
 * the fault of the walk it stands for: 86h / 85h when a level above lacks
 * the permission (the walk stops there), 79h otherwise. */
static void test_cm_sl_negative_codes(void **state)
{
    struct cm c;
    cm_init(state, &c, true);
    uint64_t q[8];
    pe_sl(&c, 1, q);
    uint64_t l2 = th_pte_addr(c.t, c.sl_root, 4, IOVA, 2), l1 = th_pte_addr(c.t, c.sl_root, 4, IOVA, 1);
    uint64_t l2v = th_r64(c.t, l2);
    th_w64(c.t, l1, 0); /* every level above R/W: 79h for any access */
    expect_fault(&c, rq(&c, 1, VTD_W), VTD_FR_SM_SL_PERM);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_SL_PERM);
    expect_fault(&c, rq(&c, 1, VTD_R | VTD_W), VTD_FR_SM_SL_PERM);
    uint64_t d[4];
    sm_desc_iotlb(d, 2, DID, 0, 0, false);
    sm_qi_submit(c.t, d);
    sm_qi_sync(c.t);
    th_w64(c.t, l2, l2v & ~VTD_SL_R); /* PDE write-only */
    expect_fault(&c, rq(&c, 1, VTD_W), VTD_FR_SM_SL_PERM); /* the leaf: cached */
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_NO_READ);
    expect_fault(&c, rq(&c, 1, VTD_R | VTD_W), VTD_FR_SM_NO_READ);
    expect_fault(&c, rq(&c, 1, VTD_W), VTD_FR_SM_SL_PERM);
    sm_desc_iotlb(d, 2, DID, 0, 0, false);
    sm_qi_submit(c.t, d);
    sm_qi_sync(c.t);
    th_w64(c.t, l2, l2v & ~VTD_SL_W); /* PDE read-only */
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_SL_PERM);
    expect_fault(&c, rq(&c, 1, VTD_W), VTD_FR_SM_NO_WRITE);
    expect_fault(&c, rq(&c, 1, VTD_R | VTD_W), VTD_FR_SM_NO_WRITE);
}

/* Regression (test_sm_random): a paging-structure-cache entry filled by a
 * nested walk (domain DID, write-only PDE) and then used by a second-level
 * walk of another PASID of the domain that caches a not-present leaf: a
 * read through that cached leaf is 86h, as the walk says. */
static void test_cm_sl_negative_after_nested_pwc(void **state)
{
    struct vtd_config cfg;
    sm_config(&cfg);
    cfg.cap |= VTD_CAP_CM | VTD_CAP_FL1GP;
    cfg.ecap |= VTD_ECAP_FLTS | VTD_ECAP_NEST;
    struct cm c;
    c.t = th_new(state, &cfg);
    sm_qi_init(c.t);
    c.dir = sm_dev(c.t, DEV, 0, VTD_SMCTX_PASIDE, 0);
    c.sl_root = th_alloc_page(c.t);
    th_map(c.t, c.sl_root, 4, IOVA, PA, 4096, 4096, VTD_SL_R | VTD_SL_W);
    /* nested PASID 2: a first-level table (one 1 GiB leaf: VA 0 -> GPA IOVA)
     * at host page fl, guest-physical fl (identity-mapped in the second level) */
    uint64_t fl = th_alloc_page(c.t), fl3 = th_alloc_page(c.t);
    th_map(c.t, c.sl_root, 4, fl, fl, 4096, 4096, VTD_SL_R | VTD_SL_W);
    th_map(c.t, c.sl_root, 4, fl3, fl3, 4096, 4096, VTD_SL_R | VTD_SL_W);
    th_w64(c.t, fl, fl3 | VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A);
    th_w64(c.t, fl3, IOVA | VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A | VTD_FL_D | VTD_FL_PS);
    uint64_t q[8];
    sm_pe_nested(q, fl, false, c.sl_root, VTD_AW_48, DID);
    q[1] |= VTD_PE_Q1_PWSNP;
    sm_set_pe(c.t, c.dir, 2, q);
    pe_sl(&c, 1, q);
    sm_enable(c.t);
    uint64_t l2 = th_pte_addr(c.t, c.sl_root, 4, IOVA, 2), l1 = th_pte_addr(c.t, c.sl_root, 4, IOVA, 1);
    th_w64(c.t, l1, 0);
    th_w64(c.t, l2, th_r64(c.t, l2) & ~VTD_SL_R);
    struct vtd_request nr = sm_req(DEV, true, 2, 0x10, VTD_W);
    struct vtd_result r = th_req(c.t, &nr);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_SM_SL_PERM);
    clear_faults(c.t);
    expect_fault(&c, rq(&c, 1, VTD_W), VTD_FR_SM_SL_PERM);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_NO_READ);
}

/* A scalable-mode context entry that is not present (41h), sets reserved
 * bits (42h) or is invalid (43h) is cached under CM with its fault: fixing
 * it in memory changes nothing (the stale use is reported) until a
 * context-cache invalidation covering the device; one for another device
 * does not drop it. */
static void test_cm_smctx_cached(void **state)
{
    struct cm c;
    uint64_t q[8];
    cm_setup(state, &c, true, q);
    const uint64_t ca = sm_ctx_addr(c.t, DEV), c0 = th_r64(c.t, ca), c1 = th_r64(c.t, ca + 8);
    uint64_t d[4];
    th_w64(c.t, ca, c0 & ~VTD_SMCTX_P);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_CTX_NOT_PRESENT);
    th_w64(c.t, ca, c0);
    th_clear_logs(c.t);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_CTX_NOT_PRESENT);
    assert_true(th_has_diag(c.t, VTD_DIAG_STALE_NEGATIVE));
    sm_desc_cc(d, 3, 0, SID(0, 5, 0), 0); /* another device */
    sm_qi_submit(c.t, d);
    sm_qi_sync(c.t);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_CTX_NOT_PRESENT);
    sm_desc_cc(d, 3, 0, DEV, 0);
    sm_qi_submit(c.t, d);
    sm_qi_sync(c.t);
    expect_ok(rq(&c, 1, VTD_R));

    /* reserved bits in the upper half (42h), dropped by a global invalidation */
    th_w64(c.t, ca + 16, 1);
    sm_desc_cc(d, 1, 0, 0, 0);
    sm_qi_submit(c.t, d);
    sm_qi_sync(c.t);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_CTX_RSVD);
    th_w64(c.t, ca + 16, 0);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_CTX_RSVD);
    sm_qi_submit(c.t, d);
    sm_qi_sync(c.t);
    expect_ok(rq(&c, 1, VTD_R));

    /* RID_PASID beyond what PDTS covers (43h) */
    th_w64(c.t, ca + 8, (c1 & ~(uint64_t)VTD_SMCTX_Q1_RID_PASID_MASK) | VTD_SMCTX_Q1_RID_PASID_MASK);
    sm_qi_submit(c.t, d);
    sm_qi_sync(c.t);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_CTX_INVALID);
    th_w64(c.t, ca + 8, c1);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_CTX_INVALID);
    sm_qi_submit(c.t, d);
    sm_qi_sync(c.t);
    expect_ok(rq(&c, 1, VTD_R));
}

/* The cached context fault keeps the context entry's FPD; without CM a
 * faulting context entry is not cached and is used as soon as it is fixed. */
static void test_smctx_fpd_and_no_cm(void **state)
{
    struct cm c;
    uint64_t q[8];
    cm_setup(state, &c, true, q);
    uint64_t ca = sm_ctx_addr(c.t, DEV), c0 = th_r64(c.t, ca);
    th_w64(c.t, ca, (c0 & ~VTD_SMCTX_P) | VTD_SMCTX_FPD);
    struct vtd_result r = rq(&c, 1, VTD_R);
    assert_int_equal(r.fault_reason, VTD_FR_SM_CTX_NOT_PRESENT);
    assert_false(r.fault_recorded);
    th_w64(c.t, ca, c0 & ~VTD_SMCTX_P); /* FPD cleared, no invalidation */
    r = rq(&c, 1, VTD_R);
    assert_int_equal(r.fault_reason, VTD_FR_SM_CTX_NOT_PRESENT);
    assert_false(r.fault_recorded);
    th_teardown(state);

    cm_setup(state, &c, false, q);
    ca = sm_ctx_addr(c.t, DEV);
    c0 = th_r64(c.t, ca);
    th_w64(c.t, ca, c0 & ~VTD_SMCTX_P);
    expect_fault(&c, rq(&c, 1, VTD_R), VTD_FR_SM_CTX_NOT_PRESENT);
    th_w64(c.t, ca, c0);
    expect_ok(rq(&c, 1, VTD_R));
    th_w64(c.t, ca + 16, 1);
    expect_ok(rq(&c, 1, VTD_R)); /* the valid entry is cached */
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, th_teardown)
    const struct CMUnitTest tests[] = {
        T(test_cm_pte_not_present_cached), T(test_no_cm_not_cached),   T(test_cm_pde_cached),
        T(test_cm_pte_rsvd_invalid_cached), T(test_cm_negative_fpd),   T(test_cm_sl_negative_codes),
        T(test_cm_sl_negative_after_nested_pwc), T(test_cm_smctx_cached), T(test_smctx_fpd_and_no_cm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
