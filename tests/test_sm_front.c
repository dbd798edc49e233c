/* SPDX-License-Identifier: MIT */
/*
 * The scalable-mode fast path (the front memo of src/hw/translate.c), through
 * the architecture: check_stale off (so the unit may take it), requests
 * repeated until a hit comes from the memo, then a change in memory and the
 * invalidation the spec asks for.  What is checked is only what a driver
 * sees: results, fault records, A/D bits in memory, statistics.
 *   - caches stay stale until invalidated, and each invalidation that drops
 *     the PASID-cache, IOTLB or context-cache entry a hit came from ends it:
 *     PASID-cache (type 7) PASID-selective and global, P_IOTLB (type 6) page-
 *     and PASID-selective, IOTLB (type 2) domain- and page-selective and
 *     global, context-cache (type 1) device-selective and global;
 *   - a P_IOTLB does not end a second-level-only (PGTT 010) entry (Table 24);
 *   - the first write after read hits still sets D (first level, second level
 *     with SSADE, nested with SSADE), and a leaf of another size cached by
 *     that write's walk is what later reads get;
 *   - supervisor and user requests, two PASIDs of one device and the
 *     request without PASID are kept apart;
 *   - execute requests, translation requests, translated requests,
 *     zero-length reads and TE off are not answered from the memo;
 *   - statistics count a memo hit as a context-cache and IOTLB hit.
 */
#include <string.h>

#include "fl_tables.h"

#define VA 0x0000001234560000ULL
#define PA1 0x0000000051000000ULL
#define PA2 0x0000000052000000ULL
#define PA3 0x0000000053000000ULL
#define LEAF (VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A | VTD_FL_D)
#define SL_RW (VTD_SL_R | VTD_SL_W)
#define SZ_2M (2ULL << 20)
#define HITS 4 /* a walk, an IOTLB hit that makes the memo, memo hits */

static void front_config(struct vtd_config *c)
{
    fl_config(c);
    c->check_stale = false;
}

static struct flx *fl_setup(void **state, bool nested)
{
    struct vtd_config c;
    front_config(&c);
    struct th *t = th_new(state, &c);
    static struct flx x; /* tests run one at a time */
    flx_init(&x, t, nested, 4);
    return &x;
}

static struct vtd_result fl_dma(struct flx *x, uint64_t va, uint8_t access, bool priv)
{
    struct vtd_request r = flx_req(va, access, priv);
    return th_req(x->t, &r);
}

#define EXPECT_PA(r, want)                                                                                 \
    do {                                                                                                   \
        struct vtd_result r_ = (r);                                                                        \
        if (r_.status != VTD_OK || r_.pa != (want))                                                        \
            fail_msg("line %d: status %d fault 0x%x pa 0x%llx, expected pa 0x%llx", __LINE__, r_.status,  \
                     r_.fault_reason, (unsigned long long)r_.pa, (unsigned long long)(want));              \
    } while (0)
#define EXPECT_FAULT(r, fr)                                                                                \
    do {                                                                                                   \
        struct vtd_result r_ = (r);                                                                        \
        if (r_.status != VTD_FAULT || r_.fault_reason != (fr))                                             \
            fail_msg("line %d: status %d fault 0x%x pa 0x%llx, expected fault 0x%x", __LINE__, r_.status, \
                     r_.fault_reason, (unsigned long long)r_.pa, (unsigned)(fr));                          \
    } while (0)

/* The same request HITS times, each giving pa (so the last ones are memo hits). */
static void warm(struct flx *x, uint64_t va, uint8_t access, bool priv, uint64_t pa)
{
    for (int i = 0; i < HITS; i++)
        EXPECT_PA(fl_dma(x, va, access, priv), pa);
}

static void submit(struct th *t, const uint64_t d[4])
{
    sm_qi_submit(t, d);
    sm_qi_sync(t);
}

/* ---- stale until invalidated, first level ---- */

/* The leaf changes to PA2: every request keeps PA1 until `inval` is sent. */
static void leaf_change(void **state, bool nested, void (*inval)(struct flx *x))
{
    struct flx *x = fl_setup(state, nested);
    uint64_t out1 = nested ? 0x80000000ULL : PA1, out2 = nested ? 0x80001000ULL : PA2;
    if (nested) {
        flx_sl_map(x, out1, PA1, SL_RW);
        flx_sl_map(x, out2, PA2, SL_RW);
    }
    uint64_t leaf = flx_map(x, VA, out1, 4096, LEAF);
    warm(x, VA, VTD_R, false, PA1);
    warm(x, VA, VTD_W, false, PA1);
    th_w64(x->t, leaf, out2 | LEAF);
    warm(x, VA, VTD_R, false, PA1);
    warm(x, VA, VTD_W, false, PA1);
    inval(x);
    warm(x, VA, VTD_R, false, PA2);
    warm(x, VA, VTD_W, false, PA2);
}

static void inval_piotlb_page(struct flx *x)
{
    uint64_t d[4];
    sm_desc_piotlb(d, SM_PIOTLB_PAGE, FLX_DID, FLX_PASID, VA, 0, false);
    submit(x->t, d);
}
static void inval_piotlb_pasid(struct flx *x)
{
    uint64_t d[4];
    sm_desc_piotlb(d, SM_PIOTLB_PASID, FLX_DID, FLX_PASID, 0, 0, false);
    submit(x->t, d);
}
static void inval_iotlb_domain(struct flx *x)
{
    uint64_t d[4];
    sm_desc_iotlb(d, VTD_IOTLB_DOMAIN, FLX_DID, 0, 0, false);
    submit(x->t, d);
}
static void inval_iotlb_page(struct flx *x)
{
    uint64_t d[4];
    sm_desc_iotlb(d, VTD_IOTLB_PAGE, FLX_DID, VA, 0, false);
    submit(x->t, d);
}
static void inval_iotlb_global(struct flx *x)
{
    uint64_t d[4];
    sm_desc_iotlb(d, VTD_IOTLB_GLOBAL, 0, 0, 0, false);
    submit(x->t, d);
}

static void test_fl_piotlb_page(void **state) { leaf_change(state, false, inval_piotlb_page); }
static void test_fl_piotlb_pasid(void **state) { leaf_change(state, false, inval_piotlb_pasid); }
static void test_fl_iotlb_domain(void **state) { leaf_change(state, false, inval_iotlb_domain); }
static void test_fl_iotlb_page(void **state) { leaf_change(state, false, inval_iotlb_page); }
static void test_fl_iotlb_global(void **state) { leaf_change(state, false, inval_iotlb_global); }
static void test_nested_piotlb_page(void **state) { leaf_change(state, true, inval_piotlb_page); }
static void test_nested_iotlb_domain(void **state) { leaf_change(state, true, inval_iotlb_domain); }

/* The PASID-table entry goes not present: hits go on until the PASID cache
 * is invalidated (PASID-selective or global), then 59h. */
static void pe_change(void **state, unsigned g)
{
    struct flx *x = fl_setup(state, false);
    flx_map(x, VA, PA1, 4096, LEAF);
    warm(x, VA, VTD_R, false, PA1);
    th_w64(x->t, x->pe, x->q[0] & ~VTD_PE_Q0_P);
    warm(x, VA, VTD_R, false, PA1);
    uint64_t d[4];
    sm_desc_pc(d, g, FLX_DID, FLX_PASID);
    submit(x->t, d);
    for (int i = 0; i < HITS; i++)
        EXPECT_FAULT(fl_dma(x, VA, VTD_R, false), VTD_FR_SM_PTE_NOT_PRESENT);
}
static void test_fl_pc_pasid(void **state) { pe_change(state, SM_PC_PASID); }
static void test_fl_pc_domain(void **state) { pe_change(state, SM_PC_DOMAIN); }
static void test_fl_pc_global(void **state) { pe_change(state, SM_PC_GLOBAL); }

/* The context entry goes not present: hits go on until a context-cache
 * invalidation (device-selective or global), then 41h. */
static void ctx_change(void **state, unsigned g)
{
    struct flx *x = fl_setup(state, false);
    flx_map(x, VA, PA1, 4096, LEAF);
    warm(x, VA, VTD_R, false, PA1);
    uint64_t ce = sm_ctx_addr(x->t, FLX_SID);
    th_w64(x->t, ce, th_r64(x->t, ce) & ~VTD_SMCTX_P);
    warm(x, VA, VTD_R, false, PA1);
    uint64_t d[4];
    sm_desc_cc(d, g, 0, FLX_SID, 0);
    submit(x->t, d);
    for (int i = 0; i < HITS; i++)
        EXPECT_FAULT(fl_dma(x, VA, VTD_R, false), VTD_FR_SM_CTX_NOT_PRESENT);
}
static void test_fl_cc_device(void **state) { ctx_change(state, VTD_CC_DEVICE); }
static void test_fl_cc_global(void **state) { ctx_change(state, VTD_CC_GLOBAL); }

/* ---- second level (PGTT 010) ---- */

#define SL_SID SID(0, 5, 0)
#define SL_DID 9u

struct slx {
    struct th *t;
    uint64_t dir, root, pe;
    uint64_t q[8];
};

static struct slx *sl_setup(void **state, bool ssade)
{
    struct vtd_config c;
    front_config(&c);
    static struct slx s;
    memset(&s, 0, sizeof(s));
    s.t = th_new(state, &c);
    sm_qi_init(s.t);
    s.dir = sm_dev(s.t, SL_SID, 0, VTD_SMCTX_PASIDE, 0);
    s.root = th_alloc_page(s.t);
    sm_pe_sl(s.q, s.root, VTD_AW_48, SL_DID);
    if (ssade)
        s.q[0] |= VTD_PE_Q0_SSADE;
    s.q[1] |= VTD_PE_Q1_PWSNP;
    s.pe = sm_set_pe(s.t, s.dir, 0, s.q);
    sm_enable(s.t);
    return &s;
}

static struct vtd_result sl_dma(struct slx *s, uint64_t addr, uint8_t access)
{
    struct vtd_request r = sm_req(SL_SID, false, 0, addr, access);
    return th_req(s->t, &r);
}

static void sl_warm(struct slx *s, uint64_t addr, uint8_t access, uint64_t pa)
{
    for (int i = 0; i < HITS; i++)
        EXPECT_PA(sl_dma(s, addr, access), pa);
}

/* A second-level-only entry survives P_IOTLB (Table 24: page- and
 * PASID-selective P_IOTLB do not touch it) and PASID-cache invalidation, and
 * goes with IOTLB page-selective invalidation. */
static void test_sl_stale(void **state)
{
    struct slx *s = sl_setup(state, false);
    uint64_t leaf = th_map(s->t, s->root, 4, VA, PA1, 4096, 4096, SL_RW);
    sl_warm(s, VA, VTD_W, PA1);
    th_w64(s->t, leaf, PA2 | SL_RW);
    sl_warm(s, VA, VTD_R, PA1);
    uint64_t d[4];
    sm_desc_piotlb(d, SM_PIOTLB_PAGE, SL_DID, 0, VA, 0, false);
    submit(s->t, d);
    sl_warm(s, VA, VTD_R, PA1);
    sm_desc_pc(d, SM_PC_PASID, SL_DID, 0);
    submit(s->t, d);
    sl_warm(s, VA, VTD_R, PA1);
    sm_desc_iotlb(d, VTD_IOTLB_PAGE, SL_DID, VA, 0, false);
    submit(s->t, d);
    sl_warm(s, VA, VTD_R, PA2);
    sl_warm(s, VA, VTD_W, PA2);
}

/* SSADE: reads leave D clear; the first write sets it although reads hit. */
static void test_sl_dirty_after_read(void **state)
{
    struct slx *s = sl_setup(state, true);
    uint64_t leaf = th_map(s->t, s->root, 4, VA, PA1, 4096, 4096, SL_RW);
    sl_warm(s, VA, VTD_R, PA1);
    assert_true(th_r64(s->t, leaf) & VTD_SL_A);
    assert_false(th_r64(s->t, leaf) & VTD_SL_D);
    EXPECT_PA(sl_dma(s, VA, VTD_W), PA1);
    assert_true(th_r64(s->t, leaf) & VTD_SL_D);
    /* and an atomic (R and W) after clearing D without invalidation: the
     * IOTLB says D is recorded, so nothing is written (as hardware) */
    th_w64(s->t, leaf, th_r64(s->t, leaf) & ~VTD_SL_D);
    sl_warm(s, VA, VTD_R | VTD_W, PA1);
    assert_false(th_r64(s->t, leaf) & VTD_SL_D);
}

/* ---- A/D ---- */

static void test_fl_dirty_after_read(void **state)
{
    struct flx *x = fl_setup(state, false);
    uint64_t leaf = flx_map(x, VA, PA1, 4096, LEAF & ~VTD_FL_D);
    warm(x, VA, VTD_R, false, PA1);
    struct vtd_result r = fl_dma(x, VA, VTD_R, false);
    assert_int_equal(r.perm, VTD_R | VTD_W); /* the permission, not what the memo may grant */
    assert_false(th_r64(x->t, leaf) & VTD_FL_D);
    EXPECT_PA(fl_dma(x, VA, VTD_W, false), PA1);
    assert_true(th_r64(x->t, leaf) & VTD_FL_D);
    warm(x, VA, VTD_W, false, PA1);
    /* an atomic after a read on another page */
    uint64_t leaf2 = flx_map(x, VA + 0x1000, PA2, 4096, LEAF & ~VTD_FL_D);
    warm(x, VA + 0x1000, VTD_R, false, PA2);
    EXPECT_PA(fl_dma(x, VA + 0x1000, VTD_R | VTD_W, false), PA2);
    assert_true(th_r64(x->t, leaf2) & VTD_FL_D);
}

/* Nested with SSADE: the second-level leaf of the final page gets D on the
 * first write, after read hits. */
static void test_nested_dirty_after_read(void **state)
{
    struct flx *x = fl_setup(state, true);
    x->q[0] |= VTD_PE_Q0_SSADE;
    flx_update_pe(x);
    const uint64_t gpa = 0x80000000ULL;
    uint64_t sleaf = flx_sl_map(x, gpa, PA1, SL_RW);
    uint64_t leaf = flx_map(x, VA, gpa, 4096, LEAF);
    warm(x, VA, VTD_R, false, PA1);
    assert_false(th_r64(x->t, sleaf) & VTD_SL_D);
    EXPECT_PA(fl_dma(x, VA, VTD_W, false), PA1);
    assert_true(th_r64(x->t, sleaf) & VTD_SL_D);
    assert_true(th_r64(x->t, leaf) & VTD_FL_D);
}

/* A 2 MiB leaf without D is read (and memoized); the tables then map the
 * 4 KiB page to PA3 without invalidation.  The write re-walks to set D
 * (the cached entry has none) and caches the 4 KiB leaf, which the IOTLB
 * probe finds first: later reads get PA3 from the IOTLB, not PA1 from a
 * memo of the 2 MiB entry. */
static void test_fl_dirty_rewalk_other_size(void **state)
{
    struct flx *x = fl_setup(state, false);
    flx_map(x, 0x40000000ULL, PA1 & ~(SZ_2M - 1), SZ_2M, (LEAF & ~VTD_FL_D) | VTD_FL_PS);
    const uint64_t va = 0x40003000ULL;
    warm(x, va, VTD_R, false, (PA1 & ~(SZ_2M - 1)) + 0x3000);
    uint64_t pde = flx_pte(x, va, 2), pt = th_alloc_page(x->t);
    th_w64(x->t, pt + ((va >> 12) & 511) * 8, PA3 | (LEAF & ~VTD_FL_D));
    th_w64(x->t, pde, pt | VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A);
    EXPECT_PA(fl_dma(x, va, VTD_W, false), PA3);
    warm(x, va, VTD_R, false, PA3);
}

/* ---- keys: privilege, PASID, no PASID ---- */

/* A supervisor-only page (U/S = 0): supervisor hits do not serve user
 * requests (81h, recorded each time), and a read-only page written by a
 * supervisor with WPE = 0 is writable for it but not for a user. */
static void test_priv_user(void **state)
{
    struct flx *x = fl_setup(state, false);
    flx_map(x, VA, PA1, 4096, LEAF & ~VTD_FL_US);
    warm(x, VA, VTD_R, true, PA1);
    for (int i = 0; i < 3; i++) {
        struct vtd_result r = fl_dma(x, VA, VTD_R, false);
        EXPECT_FAULT(r, VTD_FR_SM_USER_SUPERVISOR);
        assert_true(r.fault_recorded || i > 0); /* later ones may find the record still pending */
    }
    warm(x, VA, VTD_R, true, PA1);
    flx_map(x, VA + 0x1000, PA2, 4096, LEAF & ~VTD_FL_RW);
    warm(x, VA + 0x1000, VTD_W, true, PA2);
    warm(x, VA + 0x1000, VTD_R, false, PA2);
    EXPECT_FAULT(fl_dma(x, VA + 0x1000, VTD_W, false), VTD_FR_SM_NO_WRITE);
    warm(x, VA + 0x1000, VTD_W, true, PA2);
}

/* Two PASIDs of one device in one domain and the request without PASID
 * (RID_PASID 0, its own first-level tables) map VA to three pages. */
static void test_pasids_apart(void **state)
{
    struct flx *x = fl_setup(state, false);
    flx_map(x, VA, PA1, 4096, LEAF);
    /* PASID FLX_PASID + 1 and RID_PASID 0: the same DID, other tables */
    uint64_t root2 = th_alloc_page(x->t), root0 = th_alloc_page(x->t);
    struct flx y = *x, z = *x;
    y.fl_root = root2;
    z.fl_root = root0;
    flx_map(&y, VA, PA2, 4096, LEAF);
    flx_map(&z, VA, PA3, 4096, LEAF);
    uint64_t q[8];
    memcpy(q, x->q, sizeof(q));
    q[2] = (q[2] & ~VTD_PE_Q2_FSPTPTR_MASK) | root2;
    sm_set_pe(x->t, x->dir, FLX_PASID + 1, q);
    q[2] = (q[2] & ~VTD_PE_Q2_FSPTPTR_MASK) | root0;
    sm_set_pe(x->t, x->dir, 0, q);
    for (int round = 0; round < HITS; round++) {
        EXPECT_PA(fl_dma(x, VA, VTD_R, false), PA1);
        struct vtd_request r = flx_req(VA, VTD_R, false);
        r.pasid = FLX_PASID + 1;
        EXPECT_PA(th_req(x->t, &r), PA2);
        r.pasid_valid = false;
        r.pasid = FLX_PASID; /* ignored without PASID */
        EXPECT_PA(th_req(x->t, &r), PA3);
        r.priv = true; /* ignored too: RID_PRIV is 0 */
        EXPECT_PA(th_req(x->t, &r), PA3);
    }
    /* invalidating one PASID leaves the others' results */
    th_w64(x->t, flx_pte(&y, VA, 1), PA1 | LEAF);
    uint64_t d[4];
    sm_desc_piotlb(d, SM_PIOTLB_PASID, FLX_DID, FLX_PASID + 1, 0, 0, false);
    submit(x->t, d);
    struct vtd_request r = flx_req(VA, VTD_R, false);
    r.pasid = FLX_PASID + 1;
    struct vtd_request nopasid = flx_req(VA, VTD_R, false);
    nopasid.pasid_valid = false;
    for (int i = 0; i < HITS; i++) {
        EXPECT_PA(th_req(x->t, &r), PA1);
        EXPECT_PA(fl_dma(x, VA, VTD_R, false), PA1);
        EXPECT_PA(th_req(x->t, &nopasid), PA3);
    }
}

/* ---- requests the memo does not answer ---- */

static void test_other_requests(void **state)
{
    struct flx *x = fl_setup(state, false);
    flx_map(x, VA, PA1, 4096, LEAF);
    warm(x, VA, VTD_R, false, PA1);
    /* execute with PASID: 5Ch on a major version below 8 (ERS = 0) */
    EXPECT_FAULT(fl_dma(x, VA, VTD_R | VTD_X, false), VTD_FR_SM_EXEC_UNSUPPORTED);
    /* translation and translated requests: the context has DTE = 0 */
    struct vtd_request r = flx_req(VA, VTD_R, false);
    r.at = VTD_AT_TRANSLATION_REQ;
    EXPECT_FAULT(th_req(x->t, &r), VTD_FR_SM_CTX_DTE);
    r.at = VTD_AT_TRANSLATED;
    EXPECT_FAULT(th_req(x->t, &r), VTD_FR_SM_CTX_DTE);
    /* an invalid request is refused, memo or not */
    r = flx_req(VA, 0, false);
    struct vtd_result res;
    assert_int_equal(vtd_translate(x->t->u, &r, &res), VTD_EINVAL);
    /* zero-length read: as a read */
    r = flx_req(VA, VTD_R, false);
    r.zlr = true;
    EXPECT_PA(th_req(x->t, &r), PA1);
    /* TE off: untranslated */
    warm(x, VA, VTD_R, false, PA1);
    th_disable_te(x->t);
    EXPECT_PA(fl_dma(x, VA, VTD_R, false), VA);
}

/* Memo hits count as translations with context-cache and IOTLB hits, and
 * read nothing. */
static void test_stats(void **state)
{
    struct flx *x = fl_setup(state, false);
    flx_map(x, VA, PA1, 4096, LEAF);
    warm(x, VA, VTD_R, false, PA1);
    struct vtd_stats a, b;
    vtd_get_stats(x->t->u, &a);
    for (int i = 0; i < 100; i++)
        EXPECT_PA(fl_dma(x, VA, VTD_R, false), PA1);
    vtd_get_stats(x->t->u, &b);
    assert_int_equal(b.translations - a.translations, 100);
    assert_int_equal(b.ctx_hits - a.ctx_hits, 100);
    assert_int_equal(b.iotlb_hits - a.iotlb_hits, 100);
    assert_int_equal(b.iotlb_misses, a.iotlb_misses);
    assert_int_equal(b.ctx_misses, a.ctx_misses);
    assert_int_equal(b.mem_reads, a.mem_reads);
    assert_int_equal(b.walks, a.walks);
    assert_int_equal(b.faults, a.faults);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fl_piotlb_page, th_teardown),
        cmocka_unit_test_teardown(test_fl_piotlb_pasid, th_teardown),
        cmocka_unit_test_teardown(test_fl_iotlb_domain, th_teardown),
        cmocka_unit_test_teardown(test_fl_iotlb_page, th_teardown),
        cmocka_unit_test_teardown(test_fl_iotlb_global, th_teardown),
        cmocka_unit_test_teardown(test_nested_piotlb_page, th_teardown),
        cmocka_unit_test_teardown(test_nested_iotlb_domain, th_teardown),
        cmocka_unit_test_teardown(test_fl_pc_pasid, th_teardown),
        cmocka_unit_test_teardown(test_fl_pc_domain, th_teardown),
        cmocka_unit_test_teardown(test_fl_pc_global, th_teardown),
        cmocka_unit_test_teardown(test_fl_cc_device, th_teardown),
        cmocka_unit_test_teardown(test_fl_cc_global, th_teardown),
        cmocka_unit_test_teardown(test_sl_stale, th_teardown),
        cmocka_unit_test_teardown(test_sl_dirty_after_read, th_teardown),
        cmocka_unit_test_teardown(test_fl_dirty_after_read, th_teardown),
        cmocka_unit_test_teardown(test_nested_dirty_after_read, th_teardown),
        cmocka_unit_test_teardown(test_fl_dirty_rewalk_other_size, th_teardown),
        cmocka_unit_test_teardown(test_priv_user, th_teardown),
        cmocka_unit_test_teardown(test_pasids_apart, th_teardown),
        cmocka_unit_test_teardown(test_other_requests, th_teardown),
        cmocka_unit_test_teardown(test_stats, th_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
