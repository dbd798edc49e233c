/* SPDX-License-Identifier: MIT */
/*
 * First-level (PGTT 001) and nested (PGTT 011) translation, through MMIO and
 * memory: scalable-mode tables written as a driver would, vtd_translate,
 * fault records read back through the FRCD registers, A/D/EA bits checked in
 * memory.  One test per fault reason src/hw/fl.c produces (Rev 5.10 Table 30:
 * 70h-77h, 78h-7Dh, 80h, 81h, 85h, 86h, 90h, 91h).
 */
#include <stdio.h>
#include <string.h>

#include "fl_tables.h"

#define VA 0x0000123456789000ULL
#define PA 0x0000000ABCDE0000ULL
#define SZ_2M (2ULL << 20)
#define SZ_1G (1ULL << 30)
#define LEAF (VTD_FL_P | VTD_FL_RW | VTD_FL_US)

#define CHECK_EQ_AT(line, a, b)                                                                       \
    do {                                                                                              \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);               \
        if (a_ != b_)                                                                                 \
            fail_msg("line %d: %s = 0x%llx, expected %s = 0x%llx", line, #a, a_, #b, b_);             \
    } while (0)

static struct th *setup(void **state, const struct vtd_config *cfg)
{
    struct vtd_config c;
    if (!cfg) {
        fl_config(&c);
        cfg = &c;
    }
    return th_new(state, cfg);
}

static struct vtd_result dma(struct flx *x, uint64_t va, uint8_t access, bool priv)
{
    struct vtd_request r = flx_req(va, access, priv);
    return th_req(x->t, &r);
}

/* A translation to pa with page size and permission. */
static void expect_ok_at(const struct vtd_result *r, uint64_t pa, uint64_t size, int line)
{
    if (r->status != VTD_OK)
        fail_msg("line %d: status %d fault 0x%x, expected OK", line, r->status, r->fault_reason);
    CHECK_EQ_AT(line, r->pa, pa);
    CHECK_EQ_AT(line, r->page_size, size);
}
#define EXPECT_OK(r, pa, size) expect_ok_at(&(r), (pa), (size), __LINE__)

/* The fault in the result and in a fault record (read through MMIO): reason,
 * source-id, FI, PASID; the record is then cleared. */
static void expect_fault_at(struct th *t, const struct vtd_result *r, unsigned fr, uint64_t addr, int line)
{
    if (r->status != VTD_FAULT)
        fail_msg("line %d: status %d (pa 0x%llx), expected fault 0x%x", line, r->status,
                 (unsigned long long)r->pa, fr);
    CHECK_EQ_AT(line, r->fault_reason, fr);
    CHECK_EQ_AT(line, r->fault_recorded, true);
    unsigned nfr = (unsigned)VTD_FIELD_GET(t->cfg.cap, 47, 40) + 1;
    for (unsigned i = 0; i < nfr; i++) {
        uint64_t lo, hi;
        th_frcd(t, i, &lo, &hi);
        if (!(hi & VTD_FRCD_HI_F))
            continue;
        CHECK_EQ_AT(line, (hi & VTD_FRCD_HI_FR_MASK) >> VTD_FRCD_HI_FR_SHIFT, fr);
        CHECK_EQ_AT(line, hi & VTD_FRCD_HI_SID_MASK, FLX_SID);
        /* FI: the page address; bits 63:N may read 0 (N = MGAW, 57 here) */
        CHECK_EQ_AT(line, lo & VTD_GENMASK(56, 12), addr & VTD_GENMASK(56, 12));
        CHECK_EQ_AT(line, !!(hi & VTD_FRCD_HI_PP), 1);
        CHECK_EQ_AT(line, (hi & VTD_FRCD_HI_PV_MASK) >> VTD_FRCD_HI_PV_SHIFT, FLX_PASID);
        th_frcd_clear(t, i);
        th_wr32(t, VTD_REG_FSTS, th_rd32(t, VTD_REG_FSTS));
        return;
    }
    fail_msg("line %d: no fault record for 0x%x", line, fr);
}
#define EXPECT_FAULT(x, r, fr, addr) expect_fault_at((x)->t, &(r), (fr), (addr), __LINE__)

static void std_init(void **state, struct flx *x, const struct vtd_config *cfg, bool nested, int levels)
{
    struct th *t = setup(state, cfg);
    flx_init(x, t, nested, levels);
}

/* nested: the final page's guest-physical address and its mapping */
#define GPA_DATA 0x0000000077700000ULL
static void nested_data(struct flx *x, uint64_t gpa, uint64_t hpa, uint64_t slflags)
{
    flx_sl_map(x, gpa, hpa, slflags);
}

/* ------------------------------------------------------------------ */

static void test_fl_4level_4k(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    uint64_t leaf = flx_map(&x, VA, PA, 4096, LEAF);
    struct vtd_result r = dma(&x, VA + 0x123, VTD_R, false);
    EXPECT_OK(r, PA + 0x123, 4096);
    assert_int_equal(r.perm, VTD_R | VTD_W);
    /* A on every level, no D for a read, EA untouched without EAFE */
    for (int l = 4; l >= 1; l--) {
        uint64_t e = th_r64(x.t, flx_pte(&x, VA, l));
        assert_true(e & VTD_FL_A);
        assert_false(e & VTD_FL_D);
        assert_false(e & VTD_FL_EA);
    }
    /* a write (a first IOTLB hit from the read has no dirty state) sets D on the leaf only */
    r = dma(&x, VA, VTD_W, false);
    EXPECT_OK(r, PA, 4096);
    assert_true(th_r64(x.t, leaf) & VTD_FL_D);
    for (int l = 4; l >= 2; l--)
        assert_false(th_r64(x.t, flx_pte(&x, VA, l)) & VTD_FL_D);
}

static void test_fl_5level(void **state)
{
    const uint64_t va = 0x00AB123456789000ULL; /* bits 56:48 used, bit 56 = 0 */
    struct flx x;
    std_init(state, &x, NULL, false, 5);
    flx_map(&x, va, PA, 4096, LEAF);
    struct vtd_result r = dma(&x, va + 8, VTD_R, false);
    EXPECT_OK(r, PA + 8, 4096);
    for (int l = 5; l >= 1; l--)
        assert_true(th_r64(x.t, flx_pte(&x, va, l)) & VTD_FL_A);
    /* the 5-level negative half: bits 63:56 all 1 */
    const uint64_t hi = 0xFF00000000000000ULL | 0x00FF000000001000ULL;
    flx_map(&x, hi, PA + 0x1000, 4096, LEAF);
    r = dma(&x, hi, VTD_R, true);
    EXPECT_OK(r, PA + 0x1000, 4096);
}

static void test_fl_large_pages(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    flx_map(&x, 0x40000000ULL, 0x80000000ULL, SZ_2M, LEAF);
    flx_map(&x, 0x8000000000ULL, 0x1C0000000ULL, SZ_1G, LEAF);
    struct vtd_result r = dma(&x, 0x40000000ULL + 0x12345, VTD_W, false);
    EXPECT_OK(r, 0x80000000ULL + 0x12345, SZ_2M);
    r = dma(&x, 0x8000000000ULL + 0x2345678, VTD_R, false);
    EXPECT_OK(r, 0x1C0000000ULL + 0x2345678, SZ_1G);
    /* the IOTLB answers the next ones (same result) */
    r = dma(&x, 0x40000000ULL + 0x1FF000, VTD_R, false);
    EXPECT_OK(r, 0x80000000ULL + 0x1FF000, SZ_2M);
    struct vtd_stats st;
    vtd_get_stats(x.t->u, &st);
    assert_true(st.iotlb_hits >= 1);
}

/* Without CAP.FS1GP, PS in a PDPE is reserved: 72h. */
static void test_fl_1g_unsupported(void **state)
{
    struct vtd_config c;
    fl_config(&c);
    c.cap &= ~VTD_CAP_FL1GP;
    struct flx x;
    std_init(state, &x, &c, false, 4);
    flx_map(&x, 0x8000000000ULL, 0x1C0000000ULL, SZ_1G, LEAF);
    struct vtd_result r = dma(&x, 0x8000000000ULL, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_RSVD, 0x8000000000ULL);
}

/* 80h: the input is not canonical (48-bit with 4 levels, 57-bit with 5). */
static void test_fl_fault80_canonical(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    const uint64_t bad[] = {0x0000800000000000ULL, 0xFFFF700000000000ULL, 0x0100000000000000ULL};
    for (unsigned i = 0; i < 3; i++) {
        struct vtd_result r = dma(&x, bad[i], VTD_R, false);
        EXPECT_FAULT(&x, r, VTD_FR_SM_NON_CANONICAL, bad[i]);
    }
    /* canonical upper half works */
    flx_map(&x, 0xFFFF800000000000ULL, PA, 4096, LEAF);
    struct vtd_result r = dma(&x, 0xFFFF800000000000ULL, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
}

static void test_fl_fault80_canonical_5level(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 5);
    struct vtd_result r = dma(&x, 0x0100000000000000ULL, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_NON_CANONICAL, 0x0100000000000000ULL);
    /* 0x0000800000000000 is canonical with 57 bits: walks (and finds nothing: 71h) */
    r = dma(&x, 0x0000800000000000ULL, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_NOT_PRESENT, 0x0000800000000000ULL);
}

/* Clear (set = false) or set `bit` in its entry at `level`
 * and invalidate, as software would.  Returns the entry's address. */
static uint64_t change_entry(struct flx *x, uint64_t va, int level, uint64_t bit, bool set)
{
    uint64_t e = flx_pte(x, va, level), v = th_r64(x->t, e);
    th_w64(x->t, e, set ? v | bit : v & ~bit);
    flx_update_pe(x);
    return e;
}

/* 81h: a user request meets U/S = 0 at any level; supervisor requests
 * (SRE = 1) are not restricted by U/S. */
static void test_fl_fault81_user_supervisor(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    for (int l = 1; l <= 4; l++) { /* the shared PML4E last */
        uint64_t va = VA + ((uint64_t)l << 30);
        flx_map(&x, va, PA, 4096, LEAF);
        change_entry(&x, va, l, VTD_FL_US, false);
        struct vtd_result r = dma(&x, va, VTD_R, false);
        EXPECT_FAULT(&x, r, VTD_FR_SM_USER_SUPERVISOR, va);
        r = dma(&x, va, VTD_R | VTD_W, true);
        EXPECT_OK(r, PA, 4096);
        change_entry(&x, va, l, VTD_FL_US, true);
    }
}

/* Supervisor request with SRE = 0: 5Dh (the PASID entry refuses it). */
static void test_fl_priv_without_sre(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    flx_map(&x, VA, PA, 4096, LEAF);
    x.q[2] &= ~VTD_PE_Q2_SRE;
    flx_update_pe(&x);
    struct vtd_result r = dma(&x, VA, VTD_R, true);
    EXPECT_FAULT(&x, r, VTD_FR_SM_PTE_SRE, VA);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
}

/* 85h: R/W = 0 somewhere denies user writes always and supervisor writes
 * only with WPE = 1; reads are unaffected. */
static void test_fl_fault85_write_wpe(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    for (int l = 1; l <= 4; l++) { /* the shared PML4E last */
        uint64_t va = VA + ((uint64_t)l << 30);
        flx_map(&x, va, PA, 4096, LEAF);
        change_entry(&x, va, l, VTD_FL_RW, false);
        struct vtd_result r = dma(&x, va, VTD_W, false);
        EXPECT_FAULT(&x, r, VTD_FR_SM_NO_WRITE, va);
        r = dma(&x, va, VTD_R | VTD_W, false); /* atomic */
        EXPECT_FAULT(&x, r, VTD_FR_SM_NO_WRITE, va);
        r = dma(&x, va, VTD_R, false);
        EXPECT_OK(r, PA, 4096);
        assert_int_equal(r.perm, VTD_R);
        r = dma(&x, va, VTD_W, true); /* WPE = 0: supervisor may write */
        EXPECT_OK(r, PA, 4096);
        if (l < 4) /* restore (the shared PML4E stays read-only for the WPE check) */
            change_entry(&x, va, l, VTD_FL_RW, true);
    }
    x.q[2] |= VTD_PE_Q2_WPE;
    flx_update_pe(&x);
    struct vtd_result r = dma(&x, VA + (1ULL << 30), VTD_W, true);
    EXPECT_FAULT(&x, r, VTD_FR_SM_NO_WRITE, VA + (1ULL << 30));
    r = dma(&x, VA + (1ULL << 30), VTD_R, true);
    EXPECT_OK(r, PA, 4096);
}

/* Rev 5.10 has no execute permission (no XD bit: bits 63:52 are ignored) and
 * ECAP.ERS = 0: an execute request with PASID is refused before the walk
 * (5Ch on major version 6); bit 63 set in the entries changes nothing. */
static void test_fl_no_execute_in_rev510(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    uint64_t leaf = flx_map(&x, VA, PA, 4096, LEAF);
    th_w64(x.t, leaf, th_r64(x.t, leaf) | (1ULL << 63) | (0x7FFULL << 52));
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    r = dma(&x, VA, VTD_R | VTD_X, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_EXEC_UNSUPPORTED, VA);
}

/* 71h at every level. */
static void test_fl_fault71_not_present(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 5);
    for (int l = 5; l >= 1; l--) {
        uint64_t va = VA + ((uint64_t)l << 21);
        flx_map(&x, va, PA, 4096, LEAF);
        uint64_t e = flx_pte(&x, va, l);
        uint64_t v = th_r64(x.t, e);
        th_w64(x.t, e, v & ~VTD_FL_P);
        flx_update_pe(&x);
        struct vtd_result r = dma(&x, va, VTD_R, false);
        EXPECT_FAULT(&x, r, VTD_FR_SM_FL_NOT_PRESENT, va);
        th_w64(x.t, e, v);
        flx_update_pe(&x);
    }
}

/* 72h: PS in a PML5E / PML4E, bits 29:13 of a 1 GiB leaf, 20:13 of a 2 MiB
 * leaf, 51:HAW anywhere. */
static void test_fl_fault72_reserved(void **state)
{
    struct vtd_config c;
    fl_config(&c);
    c.haw = 46;
    struct flx x;
    std_init(state, &x, &c, false, 5);
    struct {
        int level;
        uint64_t page, bit;
    } cases[] = {{5, 4096, VTD_FL_PS}, {4, 4096, VTD_FL_PS}, {3, SZ_1G, 1ULL << 13}, {3, SZ_1G, 1ULL << 29},
                 {2, SZ_2M, 1ULL << 13}, {2, SZ_2M, 1ULL << 20}, {1, 4096, 1ULL << 46}, {3, 4096, 1ULL << 51},
                 {5, 4096, 1ULL << 47}};
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t va = (uint64_t)(i + 1) << 39;
        flx_map(&x, va, 0x40000000ULL, cases[i].page, LEAF);
        uint64_t e = flx_pte(&x, va, cases[i].level);
        th_w64(x.t, e, th_r64(x.t, e) | cases[i].bit);
        struct vtd_result r = dma(&x, va, VTD_R, false);
        print_message("case %u: level %d bit 0x%llx\n", i, cases[i].level, (unsigned long long)cases[i].bit);
        EXPECT_FAULT(&x, r, VTD_FR_SM_FL_RSVD, va);
        th_w64(x.t, e, th_r64(x.t, e) & ~cases[i].bit);
    }
    /* bit 7 of a PTE is PAT, and bits 63:52 are ignored: not reserved */
    uint64_t leaf = flx_map(&x, VA, PA, 4096, LEAF);
    th_w64(x.t, leaf, th_r64(x.t, leaf) | VTD_BIT(7) | VTD_BIT(62));
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
}

static void hole(struct th *t, uint64_t pa) { assert_int_equal(vtd_mem_add_hole(t->mem, pa, 4096), 0); }

/* 73h: the table FSPTPTR names cannot be read; 70h: a lower one. */
static void test_fl_fault73_top_read_error(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    hole(x.t, x.fl_root);
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_PML4_READ_ERROR, VA);
}

static void test_fl_fault70_read_error(void **state)
{
    for (int l = 3; l >= 1; l--) {
        struct flx x;
        std_init(state, &x, NULL, false, 4);
        flx_map(&x, VA, PA, 4096, LEAF);
        hole(x.t, th_r64(x.t, flx_pte(&x, VA, l + 1)) & VTD_FL_ADDR_MASK);
        struct vtd_result r = dma(&x, VA, VTD_R, false);
        EXPECT_FAULT(&x, r, VTD_FR_SM_FL_READ_ERROR, VA);
        th_teardown(state);
    }
}

/* EA (bit 10) is set with A when EAFE = 1 (and ECAP.EAFS); ignored otherwise. */
static void test_fl_extended_accessed(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    x.q[2] |= VTD_PE_Q2_EAFE;
    flx_update_pe(&x);
    uint64_t leaf = flx_map(&x, VA, PA, 4096, LEAF);
    struct vtd_result r = dma(&x, VA, VTD_W, false);
    EXPECT_OK(r, PA, 4096);
    for (int l = 4; l >= 1; l--) {
        uint64_t e = th_r64(x.t, flx_pte(&x, VA, l));
        assert_true(e & VTD_FL_A);
        assert_true(e & VTD_FL_EA);
    }
    assert_true(th_r64(x.t, leaf) & VTD_FL_D);
    /* A set but EA clear: EA still needs setting (one more update) */
    leaf = flx_map(&x, VA + 0x1000, PA, 4096, LEAF | VTD_FL_A);
    r = dma(&x, VA + 0x1000, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    assert_true(th_r64(x.t, leaf) & VTD_FL_EA);
}

/* 90h: an A/D update is needed but page walks are not snooped (PWSNP = 0);
 * with A (and D) preset nothing needs updating. */
static void test_fl_fault90_ad_nosnoop(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    x.q[1] &= ~VTD_PE_Q1_PWSNP;
    flx_update_pe(&x);
    flx_map(&x, VA, PA, 4096, LEAF);
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_AD_NOSNOOP, VA);
    for (int l = 4; l >= 1; l--) {
        uint64_t e = flx_pte(&x, VA, l);
        th_w64(x.t, e, th_r64(x.t, e) | VTD_FL_A);
    }
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    r = dma(&x, VA, VTD_W, false); /* D is clear */
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_AD_NOSNOOP, VA);
    uint64_t e = flx_pte(&x, VA, 1);
    th_w64(x.t, e, th_r64(x.t, e) | VTD_FL_D);
    flx_update_pe(&x);
    r = dma(&x, VA, VTD_W, false);
    EXPECT_OK(r, PA, 4096);
}

/* A host compare-exchange that interferes: the first call on the leaf sets
 * an ignored bit (another agent updating the entry) or clears P, then fails
 * the compare; "fail" makes every call report an unbacked entry. */
struct racer {
    uint64_t target;
    int mode; /* 1: set bit 9 once; 2: clear P once; 3: always -1 */
    int calls;
};
static int racy_cmpxchg(void *opaque, uint64_t pa, uint64_t *expected, uint64_t desired)
{
    struct th *t = opaque;
    struct racer *rc = t->user;
    if (rc && pa == rc->target) {
        rc->calls++;
        if (rc->mode == 3)
            return -1;
        if (rc->calls == 1) {
            uint64_t v = th_r64(t, pa);
            v = rc->mode == 1 ? v | VTD_BIT(9) : v & ~VTD_FL_P;
            th_w64(t, pa, v);
        }
    }
    return vtd_mem_cmpxchg64(t->mem, pa, expected, desired);
}
static void racy_unit(struct th *t, struct racer *rc)
{
    vtd_destroy(t->u);
    t->user = rc;
    t->host.mem_cmpxchg64 = racy_cmpxchg;
    assert_int_equal(vtd_create(&t->cfg, &t->host, &t->u), 0);
}

static void test_fl_ad_cmpxchg_race(void **state)
{
    struct th *t = setup(state, NULL);
    struct racer rc = {0};
    racy_unit(t, &rc);
    struct flx x;
    flx_init(&x, t, false, 4);
    uint64_t leaf = flx_map(&x, VA, PA, 4096, LEAF);
    rc.target = leaf;
    rc.mode = 1;
    struct vtd_result r = dma(&x, VA, VTD_W, false);
    EXPECT_OK(r, PA, 4096);
    assert_int_equal(rc.calls, 2); /* failed once, then exchanged */
    uint64_t v = th_r64(t, leaf);
    assert_true(v & VTD_BIT(9));
    assert_true(v & VTD_FL_A);
    assert_true(v & VTD_FL_D);
    /* the entry became not present under the update: 71h, no D */
    leaf = flx_map(&x, VA + 0x1000, PA, 4096, LEAF);
    rc = (struct racer){.target = leaf, .mode = 2};
    r = dma(&x, VA + 0x1000, VTD_W, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_NOT_PRESENT, VA + 0x1000);
    assert_false(th_r64(t, leaf) & VTD_FL_D);
    t->user = NULL;
}

/* 91h: the A/D update fails (the host reports the entry unbacked). */
static void test_fl_fault91_ad_failed(void **state)
{
    struct th *t = setup(state, NULL);
    struct racer rc = {0};
    racy_unit(t, &rc);
    struct flx x;
    flx_init(&x, t, false, 4);
    uint64_t leaf = flx_map(&x, VA, PA, 4096, LEAF);
    rc = (struct racer){.target = leaf, .mode = 3};
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_AD_FAILED, VA);
    t->user = NULL;
}

/* Requests without PASID use RID_PASID (here 0x123 is not it: a second PASID entry). */
static void test_fl_rid_pasid(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    sm_set_ctx(x.t, FLX_SID, sm_ctx_q0(x.dir, 0, VTD_SMCTX_PASIDE), sm_ctx_q1(FLX_PASID, false));
    sm_inval_all(x.t);
    flx_map(&x, VA, PA, 4096, LEAF);
    struct vtd_request q = sm_req(FLX_SID, false, 0, VA, VTD_R);
    struct vtd_result r = th_req(x.t, &q);
    EXPECT_OK(r, PA, 4096);
}

/* ---- translation requests ---- */

static void test_fl_translation_request(void **state)
{
    struct flx x;
    std_init(state, &x, NULL, false, 4);
    sm_set_ctx(x.t, FLX_SID, sm_ctx_q0(x.dir, 0, VTD_SMCTX_PASIDE | VTD_SMCTX_DTE), sm_ctx_q1(0, false));
    sm_inval_all(x.t);
    uint64_t leaf = flx_map(&x, VA, PA, 4096, VTD_FL_P | VTD_FL_US);
    struct vtd_request q = flx_req(VA, VTD_R | VTD_W, false);
    q.at = VTD_AT_TRANSLATION_REQ;
    struct vtd_result r = th_req(x.t, &q);
    EXPECT_OK(r, PA, 4096);
    assert_int_equal(r.perm, VTD_R); /* effective permission, no fault */
    assert_false(th_r64(x.t, leaf) & VTD_FL_D);
    /* not present: success with R=W=0, nothing recorded */
    q.addr = VA + 0x10000;
    r = th_req(x.t, &q);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    assert_false(r.fault_recorded);
    assert_false(th_rd32(x.t, VTD_REG_FSTS) & VTD_FSTS_PPF);
    /* write granted: D is set (the device may write without asking again) */
    leaf = flx_map(&x, VA + 0x2000, PA, 4096, LEAF);
    q.addr = VA + 0x2000;
    r = th_req(x.t, &q);
    EXPECT_OK(r, PA, 4096);
    assert_int_equal(r.perm, VTD_R | VTD_W);
    assert_true(th_r64(x.t, leaf) & VTD_FL_D);
}

/* ---- caches ---- */

static void piotlb(struct flx *x, unsigned g, uint32_t pasid, uint64_t addr, unsigned am, bool ih)
{
    uint64_t d[4];
    sm_desc_piotlb(d, g, FLX_DID, pasid, addr, am, ih);
    sm_qi_submit(x->t, d);
    sm_qi_sync(x->t);
}

static void test_fl_iotlb_piotlb(void **state)
{
    struct vtd_config c;
    fl_config(&c);
    c.check_stale = false;
    struct flx x;
    std_init(state, &x, &c, false, 4);
    uint64_t leaf = flx_map(&x, VA, PA, 4096, LEAF);
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    /* change the leaf without invalidating: the IOTLB still answers */
    th_w64(x.t, leaf, (PA + 0x5000) | LEAF | VTD_FL_A);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    /* another PASID's page-selective invalidation leaves it */
    piotlb(&x, SM_PIOTLB_PAGE, FLX_PASID + 1, VA, 0, false);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    /* an unrelated page of ours neither */
    piotlb(&x, SM_PIOTLB_PAGE, FLX_PASID, VA + 0x200000, 0, false);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    /* the page itself: the new leaf */
    piotlb(&x, SM_PIOTLB_PAGE, FLX_PASID, VA, 0, true);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA + 0x5000, 4096);
    /* AM: a 2 MiB-aligned range covering VA */
    th_w64(x.t, leaf, (PA + 0x6000) | LEAF | VTD_FL_A);
    piotlb(&x, SM_PIOTLB_PAGE, FLX_PASID, VA & ~(SZ_2M - 1), 9, true);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA + 0x6000, 4096);
    /* PASID-selective */
    th_w64(x.t, leaf, (PA + 0x7000) | LEAF | VTD_FL_A);
    piotlb(&x, SM_PIOTLB_PASID, FLX_PASID, 0, 0, false);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA + 0x7000, 4096);
    /* page-selective iotlb_inv_dsc drops every first-level entry of the domain (Table 23) */
    th_w64(x.t, leaf, (PA + 0x8000) | LEAF | VTD_FL_A);
    uint64_t d[4];
    sm_desc_iotlb(d, 3, FLX_DID, 0x7000000000ULL, 0, true);
    sm_qi_submit(x.t, d);
    sm_qi_sync(x.t);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA + 0x8000, 4096);
}

/* IH = 1 keeps the first-level paging-structure entries, IH = 0 drops them. */
static void test_fl_pwc_ih(void **state)
{
    struct vtd_config c;
    fl_config(&c);
    c.check_stale = false;
    struct flx x;
    std_init(state, &x, &c, false, 4);
    flx_map(&x, VA, PA, 4096, LEAF);
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    /* move the page table (the PDE's target) without invalidating */
    uint64_t pde = flx_pte(&x, VA, 2), old = th_r64(x.t, pde);
    uint64_t pt = th_alloc_page(x.t);
    th_w64(x.t, pt + ((VA >> 12) & 511) * 8, (PA + 0x9000) | LEAF | VTD_FL_A);
    th_w64(x.t, pde, pt | FLX_TABLE_BITS | VTD_FL_A);
    piotlb(&x, SM_PIOTLB_PAGE, FLX_PASID, VA, 0, true); /* leaf only: the PDE stays cached */
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096); /* old page table, through the cached PDE */
    piotlb(&x, SM_PIOTLB_PAGE, FLX_PASID, VA, 0, false);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA + 0x9000, 4096);
    (void)old;
    struct vtd_stats st;
    vtd_get_stats(x.t->u, &st);
    assert_true(st.pwc_hits >= 1);
}

/* ---- nested ---- */

static void nested_init(void **state, struct flx *x, const struct vtd_config *cfg)
{
    std_init(state, x, cfg, true, 4);
}

static void test_nested_4k(void **state)
{
    struct flx x;
    nested_init(state, &x, NULL);
    uint64_t leaf = flx_map(&x, VA, GPA_DATA, 4096, LEAF);
    nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
    struct vtd_result r = dma(&x, VA + 0x10, VTD_W, false);
    EXPECT_OK(r, PA + 0x10, 4096);
    assert_true(th_r64(x.t, leaf) & VTD_FL_D);
    for (int l = 4; l >= 1; l--)
        assert_true(th_r64(x.t, flx_pte(&x, VA, l)) & VTD_FL_A);
    /* no second-level A/D without SSADE */
    assert_false(th_r64(x.t, flx_sl_pte(&x, GPA_DATA, 1)) & (VTD_SL_A | VTD_SL_D));
}

/* Page size: the smaller of the first-level leaf and the second-level leaf. */
static void test_nested_page_size(void **state)
{
    struct flx x;
    nested_init(state, &x, NULL);
    flx_map(&x, 0x40000000ULL, 0x80000000ULL, SZ_2M, LEAF);
    th_map(x.t, x.sl_root, 4, 0x80000000ULL, 0x200000000ULL, SZ_2M, 4096, VTD_SL_R | VTD_SL_W);
    struct vtd_result r = dma(&x, 0x40000000ULL + 0x3456, VTD_R, false);
    EXPECT_OK(r, 0x200000000ULL + 0x3456, 4096);
    flx_map(&x, 0x80000000ULL, 0xC0000000ULL, SZ_2M, LEAF);
    th_map(x.t, x.sl_root, 4, 0xC0000000ULL, 0x400000000ULL, SZ_2M, SZ_2M, VTD_SL_R | VTD_SL_W);
    r = dma(&x, 0x80000000ULL + 0x123456, VTD_R, false);
    EXPECT_OK(r, 0x400000000ULL + 0x123456, SZ_2M);
}

/* Permissions: first level and the second level of the final page combined
 * (85h from either; 86h only from the second level; 79h when the second
 * level grants nothing). */
static void test_nested_permissions(void **state)
{
    struct flx x;
    nested_init(state, &x, NULL);
    struct {
        uint64_t fl, sl;
        uint8_t access;
        unsigned fr; /* 0: ok */
        uint8_t perm;
    } cases[] = {
        {LEAF, VTD_SL_R | VTD_SL_W, VTD_W, 0, VTD_R | VTD_W},
        {LEAF, VTD_SL_R, VTD_W, VTD_FR_SM_NO_WRITE, 0},
        {LEAF, VTD_SL_R, VTD_R, 0, VTD_R},
        {LEAF, VTD_SL_W, VTD_R, VTD_FR_SM_NO_READ, 0},
        {LEAF, VTD_SL_W, VTD_W, 0, VTD_W},
        {LEAF, VTD_SL_W, VTD_R | VTD_W, VTD_FR_SM_NO_READ, 0},
        {LEAF, VTD_SL_R, VTD_R | VTD_W, VTD_FR_SM_NO_WRITE, 0},
        {VTD_FL_P | VTD_FL_US, VTD_SL_R | VTD_SL_W, VTD_W, VTD_FR_SM_NO_WRITE, 0},
        {VTD_FL_P | VTD_FL_US, VTD_SL_W, VTD_R, VTD_FR_SM_NO_READ, 0},
        {VTD_FL_P, VTD_SL_R | VTD_SL_W, VTD_R, VTD_FR_SM_USER_SUPERVISOR, 0},
        {LEAF, 0, VTD_R, VTD_FR_SM_SL_PERM, 0},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t va = VA + (uint64_t)i * 0x1000, gpa = GPA_DATA + (uint64_t)i * 0x1000;
        flx_map(&x, va, gpa, 4096, cases[i].fl);
        nested_data(&x, gpa, PA, cases[i].sl);
        struct vtd_result r = dma(&x, va, cases[i].access, false);
        print_message("case %u\n", i);
        if (cases[i].fr) {
            EXPECT_FAULT(&x, r, cases[i].fr, va);
        } else {
            EXPECT_OK(r, PA, 4096);
            assert_int_equal(r.perm, cases[i].perm);
        }
    }
}

/* 75h / 76h: a first-level table not readable through the second level;
 * 77h: an A update that the second level does not let through (W = 0). */
static void test_nested_fault75_76_77(void **state)
{
    struct flx x;
    nested_init(state, &x, NULL);
    flx_map(&x, VA, GPA_DATA, 4096, LEAF);
    nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
    /* the root's page write-only in the second level: 75h */
    uint64_t sle = flx_sl_pte(&x, x.fl_root + FLX_GOFF, 1);
    th_w64(x.t, sle, x.fl_root | VTD_SL_W);
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_NESTED_TOP_READ, VA);
    /* read-only: the PML4E needs its A bit set: 77h */
    th_w64(x.t, sle, x.fl_root | VTD_SL_R);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_NESTED_AD_WRITE, VA);
    /* with A preset the walk goes on */
    uint64_t e4 = flx_pte(&x, VA, 4);
    th_w64(x.t, e4, th_r64(x.t, e4) | VTD_FL_A);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    th_w64(x.t, sle, x.fl_root | VTD_SL_R | VTD_SL_W);
    /* a lower table (the page table) write-only: 76h */
    uint64_t pt = th_r64(x.t, flx_pte(&x, VA, 2)) & VTD_FL_ADDR_MASK; /* gpa */
    uint64_t ple = flx_sl_pte(&x, pt, 1);
    th_w64(x.t, ple, (pt - FLX_GOFF) | VTD_SL_W);
    flx_update_pe(&x);
    r = dma(&x, VA + 0x1000, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_NESTED_READ, VA + 0x1000);
}

/* 74h: a first-level address (next table or final page) beyond the
 * second-level width (AW = 2: 48 bits).  5Bh: FSPTPTR beyond it. */
static void test_nested_fault74_address_width(void **state)
{
    struct flx x;
    nested_init(state, &x, NULL);
    uint64_t leaf = flx_map(&x, VA, GPA_DATA, 4096, LEAF);
    th_w64(x.t, leaf, (1ULL << 49) | LEAF);
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_NESTED_ADDR, VA);
    uint64_t e3 = flx_pte(&x, VA, 3);
    th_w64(x.t, e3, (1ULL << 48) | FLX_TABLE_BITS);
    r = dma(&x, VA + 0x200000, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_NESTED_ADDR, VA + 0x200000);
    x.q[2] = (x.q[2] & ~VTD_PE_Q2_FSPTPTR_MASK) | (1ULL << 50);
    flx_update_pe(&x);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_PTE_INVALID, VA);
}

/* Second-level faults met on the way: 7Bh (SSPTPTR table unreadable), 78h
 * (a lower SL table), 7Ah (SL reserved bits), 79h (SL entry R = W = 0 for a
 * first-level table). */
static void test_nested_sl_faults(void **state)
{
    {
        struct flx x;
        nested_init(state, &x, NULL);
        flx_map(&x, VA, GPA_DATA, 4096, LEAF);
        hole(x.t, x.sl_root);
        struct vtd_result r = dma(&x, VA, VTD_R, false);
        EXPECT_FAULT(&x, r, VTD_FR_SM_SL_PTR, VA);
        th_teardown(state);
    }
    {
        struct flx x;
        nested_init(state, &x, NULL);
        flx_map(&x, VA, GPA_DATA, 4096, LEAF);
        nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
        hole(x.t, th_r64(x.t, flx_sl_pte(&x, GPA_DATA, 2)) & VTD_SL_ADDR_MASK);
        struct vtd_result r = dma(&x, VA, VTD_R, false);
        EXPECT_FAULT(&x, r, VTD_FR_SM_SL_READ_ERROR, VA);
        th_teardown(state);
    }
    {
        struct flx x;
        nested_init(state, &x, NULL);
        flx_map(&x, VA, GPA_DATA, 4096, LEAF);
        nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
        uint64_t pde = flx_sl_pte(&x, GPA_DATA, 2);
        th_w64(x.t, pde, th_r64(x.t, pde) | VTD_SL_SNP); /* SNP is reserved in a non-leaf entry */
        struct vtd_result r = dma(&x, VA, VTD_R, false);
        EXPECT_FAULT(&x, r, VTD_FR_SM_SL_RSVD, VA);
        th_teardown(state);
    }
    {
        struct flx x;
        nested_init(state, &x, NULL);
        flx_map(&x, VA, GPA_DATA, 4096, LEAF);
        uint64_t pt = th_r64(x.t, flx_pte(&x, VA, 2)) & VTD_FL_ADDR_MASK;
        th_w64(x.t, flx_sl_pte(&x, pt, 1), pt - FLX_GOFF); /* R = W = 0 */
        struct vtd_result r = dma(&x, VA, VTD_R, false);
        EXPECT_FAULT(&x, r, VTD_FR_SM_SL_PERM, VA);
    }
}

/* SSADE: second-level A on every entry used, D on the leaves of pages
 * written (the first-level entries updated and the final page of a write);
 * reads of first-level tables then need R and W; 7Ch without snooped walks;
 * 7Dh when the update fails. */
static void test_nested_ssade(void **state)
{
    struct flx x;
    nested_init(state, &x, NULL);
    x.q[0] |= VTD_PE_Q0_SSADE;
    flx_update_pe(&x);
    flx_map(&x, VA, GPA_DATA, 4096, LEAF);
    nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
    struct vtd_result r = dma(&x, VA, VTD_W, false);
    EXPECT_OK(r, PA, 4096);
    for (int l = 4; l >= 1; l--)
        assert_true(th_r64(x.t, flx_sl_pte(&x, GPA_DATA, l)) & VTD_SL_A);
    assert_true(th_r64(x.t, flx_sl_pte(&x, GPA_DATA, 1)) & VTD_SL_D);
    uint64_t root_sl = flx_sl_pte(&x, x.fl_root + FLX_GOFF, 1);
    assert_true(th_r64(x.t, root_sl) & VTD_SL_A);
    assert_true(th_r64(x.t, root_sl) & VTD_SL_D); /* the PML4E's A was set */
    /* a read of a page whose SL leaf lacks W: with SSADE first-level tables need R and W */
    th_w64(x.t, root_sl, x.fl_root | VTD_SL_R | VTD_SL_A);
    flx_update_pe(&x);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_FL_NESTED_TOP_READ, VA);
    th_w64(x.t, root_sl, x.fl_root | VTD_SL_R | VTD_SL_W);
    /* 7Ch: not snooped and an SL A bit clear */
    uint64_t dle = flx_sl_pte(&x, GPA_DATA, 1);
    th_w64(x.t, dle, th_r64(x.t, dle) & ~VTD_SL_A);
    x.q[1] &= ~VTD_PE_Q1_PWSNP;
    flx_update_pe(&x);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_SL_AD_NOSNOOP, VA);
}

/* Regression (found by test_sm_random): with SSADE and walks not snooped, a
 * write whose second-level leaf already has A and D needs no update and must
 * not fault 7Ch. */
static void test_nested_ssade_no_update_needed(void **state)
{
    struct flx x;
    nested_init(state, &x, NULL);
    x.q[0] |= VTD_PE_Q0_SSADE;
    x.q[1] &= ~VTD_PE_Q1_PWSNP;
    flx_update_pe(&x);
    flx_map(&x, VA, GPA_DATA, 4096, LEAF | VTD_FL_A | VTD_FL_D);
    nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
    /* every entry either walk uses: A (first level) and A/D (second level) set */
    for (int l = 4; l >= 2; l--) {
        uint64_t fe = flx_pte(&x, VA, l);
        th_w64(x.t, fe, th_r64(x.t, fe) | VTD_FL_A);
    }
    for (uint64_t g = 0; g < 5; g++) {
        uint64_t gpa = g < 4 ? 0 : GPA_DATA;
        if (g < 4) {
            gpa = x.fl_root + FLX_GOFF;
            if (g > 0)
                gpa = (th_r64(x.t, flx_pte(&x, VA, 5 - (int)g)) & VTD_FL_ADDR_MASK);
        }
        for (int l = 4; l >= 1; l--) {
            uint64_t se = flx_sl_pte(&x, gpa, l);
            th_w64(x.t, se, th_r64(x.t, se) | VTD_SL_A | (l == 1 ? VTD_SL_D : 0));
        }
    }
    struct vtd_result r = dma(&x, VA, VTD_W, false);
    EXPECT_OK(r, PA, 4096);
    /* D clear on the data page's leaf: now an update is needed, 7Ch */
    uint64_t dle = flx_sl_pte(&x, GPA_DATA, 1);
    th_w64(x.t, dle, th_r64(x.t, dle) & ~VTD_SL_D);
    flx_update_pe(&x);
    r = dma(&x, VA, VTD_W, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_SL_AD_NOSNOOP, VA);
}

/* A second-level entry of a nested walk is validated before its A is set:
 * a path whose cumulative R and W are both 0 is 79h and the entry that
 * emptied it keeps A clear (it was set before the check). */
static void test_nested_sl_perm_before_ad(void **state)
{
    struct flx x;
    nested_init(state, &x, NULL);
    x.q[0] |= VTD_PE_Q0_SSADE;
    flx_update_pe(&x);
    flx_map(&x, VA, GPA_DATA, 4096, LEAF | VTD_FL_A | VTD_FL_D);
    nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
    /* the data page's second-level path: PML4E R only, PDPE W only */
    uint64_t l4 = flx_sl_pte(&x, GPA_DATA, 4), l3 = flx_sl_pte(&x, GPA_DATA, 3);
    th_w64(x.t, l4, th_r64(x.t, l4) & ~VTD_SL_W);
    th_w64(x.t, l3, th_r64(x.t, l3) & ~(VTD_SL_R | VTD_SL_A));
    flx_update_pe(&x);
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_SL_PERM, VA);
    assert_true(th_r64(x.t, l4) & VTD_SL_A);
    assert_false(th_r64(x.t, l3) & VTD_SL_A);
}

static void test_nested_fault7d_sl_ad_failed(void **state)
{
    struct th *t = setup(state, NULL);
    struct racer rc = {0};
    racy_unit(t, &rc);
    struct flx x;
    flx_init(&x, t, true, 4);
    x.q[0] |= VTD_PE_Q0_SSADE;
    flx_update_pe(&x);
    flx_map(&x, VA, GPA_DATA, 4096, LEAF);
    nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
    rc = (struct racer){.target = x.sl_root + ((FLX_GOFF + x.fl_root) >> 39 & 511) * 8, .mode = 3};
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_FAULT(&x, r, VTD_FR_SM_SL_AD_FAILED, VA);
    t->user = NULL;
}

/* vtd_walk reports every second-level step of a nested walk (nested, the
 * first-level level it serves, the GPA) and changes nothing in memory:
 * 4 first-level reads + 5 second-level walks of 4 = 24 reads. */
struct steps {
    int n, nested, fl;
    int for_level[32];
    uint64_t input[32];
};
static void on_step(void *arg, const struct vtd_walk_step *s)
{
    struct steps *st = arg;
    if (st->n < 32) {
        st->for_level[st->n] = s->nested ? s->for_level : -1;
        st->input[st->n] = s->input;
    }
    st->n++;
    if (s->kind == VTD_STEP_SL_PTE && s->nested)
        st->nested++;
    if (s->kind == VTD_STEP_FL_PTE)
        st->fl++;
}
static void test_nested_walk_steps(void **state)
{
    struct flx x;
    nested_init(state, &x, NULL);
    uint64_t leaf = flx_map(&x, VA, GPA_DATA, 4096, LEAF);
    nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
    struct steps st = {0};
    struct vtd_request q = flx_req(VA + 0x44, VTD_W, false);
    struct vtd_result r;
    assert_int_equal(vtd_walk(x.t->u, &q, &r, on_step, &st), 0);
    EXPECT_OK(r, PA + 0x44, 4096);
    assert_int_equal(st.fl, 4);
    assert_int_equal(st.nested, 20);
    assert_false(th_r64(x.t, leaf) & (VTD_FL_A | VTD_FL_D)); /* inspection changes nothing */
    /* the last four second-level steps translate the final GPA (for_level 0) */
    int last = 0;
    for (int i = 0; i < st.n && i < 32; i++)
        if (st.for_level[i] == 0) {
            assert_int_equal(st.input[i], GPA_DATA + 0x44);
            last++;
        }
    assert_int_equal(last, 4);
    /* without paging-structure caches vtd_translate reads the same 24
     * entries (plus the 4 of root, context, PASID directory and table) */
    th_teardown(state);
    struct vtd_config c;
    fl_config(&c);
    c.pwc_entries = 0;
    nested_init(state, &x, &c);
    flx_map(&x, VA, GPA_DATA, 4096, LEAF);
    nested_data(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
    struct vtd_stats s0, s1;
    vtd_get_stats(x.t->u, &s0);
    r = dma(&x, VA + 0x44, VTD_R, false);
    EXPECT_OK(r, PA + 0x44, 4096);
    vtd_get_stats(x.t->u, &s1);
    assert_int_equal(s1.mem_reads - s0.mem_reads, 24 + 4);
}

/* Nested caches: the second-level paging-structure entries are reused, the
 * IOTLB holds the combined translation, and iotlb_inv_dsc (second-level
 * change) drops the nested IOTLB entries of the domain. */
static void test_nested_caches(void **state)
{
    struct vtd_config c;
    fl_config(&c);
    c.check_stale = false;
    struct flx x;
    nested_init(state, &x, &c);
    flx_map(&x, VA, GPA_DATA, 4096, LEAF);
    uint64_t sle = flx_sl_map(&x, GPA_DATA, PA, VTD_SL_R | VTD_SL_W);
    struct vtd_result r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    struct vtd_stats s0, s1;
    vtd_get_stats(x.t->u, &s0);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    vtd_get_stats(x.t->u, &s1);
    assert_int_equal(s1.mem_reads, s0.mem_reads); /* an IOTLB hit */
    /* the guest moves its data page in the second level */
    th_w64(x.t, sle, (PA + 0x3000) | VTD_SL_R | VTD_SL_W);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA, 4096);
    uint64_t d[4];
    sm_desc_iotlb(d, 3, FLX_DID, GPA_DATA, 0, true);
    sm_qi_submit(x.t, d);
    sm_qi_sync(x.t);
    r = dma(&x, VA, VTD_R, false);
    EXPECT_OK(r, PA + 0x3000, 4096);
    /* a neighbouring page walks from the cached first-level and second-level
     * paging-structure entries: fewer than 24 reads */
    flx_map(&x, VA + 0x1000, GPA_DATA + 0x1000, 4096, LEAF);
    flx_sl_map(&x, GPA_DATA + 0x1000, PA + 0x1000, VTD_SL_R | VTD_SL_W);
    vtd_get_stats(x.t->u, &s0);
    r = dma(&x, VA + 0x1000, VTD_R, false);
    EXPECT_OK(r, PA + 0x1000, 4096);
    vtd_get_stats(x.t->u, &s1);
    assert_true(s1.mem_reads - s0.mem_reads < 24);
    assert_true(s1.pwc_hits > s0.pwc_hits);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, th_teardown)
        T(test_fl_4level_4k),
        T(test_fl_5level),
        T(test_fl_large_pages),
        T(test_fl_1g_unsupported),
        T(test_fl_fault80_canonical),
        T(test_fl_fault80_canonical_5level),
        T(test_fl_fault81_user_supervisor),
        T(test_fl_priv_without_sre),
        T(test_fl_fault85_write_wpe),
        T(test_fl_no_execute_in_rev510),
        T(test_fl_fault71_not_present),
        T(test_fl_fault72_reserved),
        T(test_fl_fault73_top_read_error),
        T(test_fl_fault70_read_error),
        T(test_fl_extended_accessed),
        T(test_fl_fault90_ad_nosnoop),
        T(test_fl_ad_cmpxchg_race),
        T(test_fl_fault91_ad_failed),
        T(test_fl_rid_pasid),
        T(test_fl_translation_request),
        T(test_fl_iotlb_piotlb),
        T(test_fl_pwc_ih),
        T(test_nested_4k),
        T(test_nested_page_size),
        T(test_nested_permissions),
        T(test_nested_fault75_76_77),
        T(test_nested_fault74_address_width),
        T(test_nested_sl_faults),
        T(test_nested_ssade),
        T(test_nested_ssade_no_update_needed),
        T(test_nested_sl_perm_before_ad),
        T(test_nested_fault7d_sl_ad_failed),
        T(test_nested_walk_steps),
        T(test_nested_caches),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
