/* Legacy-mode translation: every fault reason, fault precedence, walks of
 * every depth and page size, TT behaviour, pass-through, abort-DMA,
 * translation/translated requests, ZLR, atomics and vtd_walk().
 *
 * The unit is programmed only through MMIO and memory (th_* helpers); the
 * checks are on architectural outcomes: vtd_result, fault records, diags.
 * Expected behaviour: docs/model.md, "Translation (legacy mode, TTM=00)". */
#include "harness.h"

#include <string.h>

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL
#define SZ_1G 0x40000000ULL
#define RW (VTD_SL_R | VTD_SL_W)
#define AT_U VTD_AT_UNTRANSLATED
#define AT_TREQ VTD_AT_TRANSLATION_REQ
#define AT_TD VTD_AT_TRANSLATED

/* Requester used by most tests: a non-zero bus and devfn so that root and
 * context indexing are both exercised. */
#define S0 SID(2, 3, 1)
#define S1 SID(2, 3, 2)
#define S2 SID(2, 4, 0)

#define IOVA 0x12345000ULL        /* 4 KiB-aligned IOVA below 2^39 */
#define PA 0x1234567000ULL        /* output page below 2^39 (fits haw 39) */

/* ------------------------------------------------------------------ */
/* Checking helpers (report the caller's line on failure)              */
/* ------------------------------------------------------------------ */

#define CHECK_EQ_AT(line, a, b)                                                          \
    do {                                                                                 \
        uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);                               \
        if (va_ != vb_) {                                                                \
            print_error("line %d: %s = 0x%llx, expected %s = 0x%llx\n", (line), #a,       \
                        (unsigned long long)va_, #b, (unsigned long long)vb_);           \
            fail();                                                                      \
        }                                                                                \
    } while (0)

static void expect_ok_at(const struct vtd_result *r, uint64_t pa, uint64_t ps, int perm, int line)
{
    if (r->status != VTD_OK)
        print_error("line %d: status %d fault_reason 0x%x\n", line, r->status, r->fault_reason);
    CHECK_EQ_AT(line, r->status, VTD_OK);
    CHECK_EQ_AT(line, r->pa, pa);
    if (ps)
        CHECK_EQ_AT(line, r->page_size, ps);
    if (perm >= 0)
        CHECK_EQ_AT(line, r->perm, perm);
}
#define EXPECT_OK(r, pa, ps, perm) expect_ok_at(&(r), (pa), (ps), (perm), __LINE__)

/* Mask of the FI bits a record keeps: 63:12 below the largest SAGAW width. */
static uint64_t fi_mask(struct th *t)
{
    uint64_t sagaw = th_rd64(t, VTD_REG_CAP) & VTD_CAP_SAGAW_MASK;
    unsigned w = (sagaw & VTD_CAP_SAGAW_57) ? 57 : (sagaw & VTD_CAP_SAGAW_48) ? 48 : 39;
    return ((1ULL << w) - 1) & ~0xFFFULL;
}

/* The fault record `idx` must hold this fault. */
static void expect_fault_at(struct th *t, const struct vtd_result *r, unsigned fr, uint16_t sid,
                            uint64_t addr, uint8_t access, uint8_t at, unsigned idx, int line)
{
    uint64_t lo, hi;
    if (r->status != VTD_FAULT || r->fault_reason != fr)
        print_error("line %d: status %d fault_reason 0x%x pa 0x%llx (expected fault 0x%x)\n", line,
                    r->status, r->fault_reason, (unsigned long long)r->pa, fr);
    CHECK_EQ_AT(line, r->status, VTD_FAULT);
    CHECK_EQ_AT(line, r->fault_reason, fr);
    CHECK_EQ_AT(line, r->fault_recorded, true);
    th_frcd(t, idx, &lo, &hi);
    CHECK_EQ_AT(line, !!(hi & VTD_FRCD_HI_F), 1);
    CHECK_EQ_AT(line, (hi & VTD_FRCD_HI_FR_MASK) >> VTD_FRCD_HI_FR_SHIFT, fr);
    CHECK_EQ_AT(line, hi & VTD_FRCD_HI_SID_MASK, sid);
    /* FI: address bits 63:12; bits at and above the largest AGAW read 0 */
    CHECK_EQ_AT(line, lo & VTD_FRCD_LO_FI_MASK, addr & fi_mask(t));
    /* AT reads 0 on a unit without ECAP.DT */
    CHECK_EQ_AT(line, (hi & VTD_FRCD_HI_AT_MASK) >> VTD_FRCD_HI_AT_SHIFT,
                (th_rd64(t, VTD_REG_ECAP) & VTD_ECAP_DT) ? at : 0);
    /* (T1,T2): write (0,0), read (1,0), atomic (1,1) */
    {
        bool t1 = !!(hi & VTD_FRCD_HI_T1), t2 = !!(hi & VTD_FRCD_HI_T2);
        bool e1 = (access & VTD_R) != 0, e2 = (access & (VTD_R | VTD_W)) == (VTD_R | VTD_W);
        CHECK_EQ_AT(line, t1, e1);
        CHECK_EQ_AT(line, t2, e2);
    }
    CHECK_EQ_AT(line, !!(hi & VTD_FRCD_HI_PP), 0); /* legacy requests carry no PASID */
    CHECK_EQ_AT(line, hi & VTD_FRCD_HI_PV_MASK, 0);
    CHECK_EQ_AT(line, !!(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_PPF), 1);
}
#define EXPECT_FAULT_I(t, r, fr, sid, addr, acc, at, idx)                                   \
    expect_fault_at((t), &(r), (fr), (sid), (addr), (acc), (at), (idx), __LINE__)
#define EXPECT_FAULT(t, r, fr, sid, addr, acc) EXPECT_FAULT_I(t, r, fr, sid, addr, acc, AT_U, 0)

/* A fault that is reported in the result but in no fault record. */
static void expect_unrecorded_fault_at(struct th *t, const struct vtd_result *r, unsigned fr, int line)
{
    uint64_t lo, hi;
    CHECK_EQ_AT(line, r->status, VTD_FAULT);
    CHECK_EQ_AT(line, r->fault_reason, fr);
    CHECK_EQ_AT(line, r->fault_recorded, false);
    th_frcd(t, 0, &lo, &hi);
    CHECK_EQ_AT(line, !!(hi & VTD_FRCD_HI_F), 0);
    CHECK_EQ_AT(line, !!(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_PPF), 0);
}
#define EXPECT_UNRECORDED_FAULT(t, r, fr) expect_unrecorded_fault_at((t), &(r), (fr), __LINE__)

static void expect_no_records_at(struct th *t, int line)
{
    uint64_t lo, hi;
    th_frcd(t, 0, &lo, &hi);
    CHECK_EQ_AT(line, !!(hi & VTD_FRCD_HI_F), 0);
    CHECK_EQ_AT(line, th_rd32(t, VTD_REG_FSTS) & (VTD_FSTS_PPF | VTD_FSTS_PFO), 0);
}
#define EXPECT_NO_RECORDS(t) expect_no_records_at((t), __LINE__)

/* ------------------------------------------------------------------ */
/* Setup helpers                                                       */
/* ------------------------------------------------------------------ */

static struct vtd_config cfg_base(void)
{
    struct vtd_config c;
    vtd_config_default(&c);
    return c;
}

/* Context entry for sid: TT `tt`, second-level table of `levels` levels
 * (AW = levels - 2), DID `did`.  Returns the table's root. */
static uint64_t dom(struct th *t, uint16_t sid, int levels, unsigned tt, uint16_t did)
{
    uint64_t root = th_alloc_page(t);
    th_set_ctx(t, sid, th_ctx_lo(root, tt, false), th_ctx_hi((unsigned)(levels - 2), did));
    return root;
}

/* Fresh unit (cfg NULL: default), S0 in domain 1 with a 4-level table
 * mapping IOVA -> PA (4 KiB, R|W), translation enabled.  Returns the root. */
static uint64_t std_setup(struct th *t, const struct vtd_config *cfg, int levels)
{
    uint64_t root;
    th_init(t, cfg);
    root = dom(t, S0, levels, VTD_TT_UNTRANSLATED, 1);
    th_map(t, root, levels, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_enable(t);
    return root;
}

static uint64_t root_entry_addr(struct th *t, uint16_t sid)
{
    return t->rta + (uint64_t)(sid >> 8) * VTD_ROOT_SIZE;
}

static struct vtd_result treq(struct th *t, uint16_t sid, uint8_t at, uint64_t addr, uint8_t access)
{
    struct vtd_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.sid = sid;
    rq.at = at;
    rq.access = access;
    rq.addr = addr;
    return th_req(t, &rq);
}

static void hole(struct th *t, uint64_t page)
{
    assert_int_equal(vtd_mem_add_hole(t->mem, page & ~0xFFFULL, SZ_4K), 0);
}

/* ------------------------------------------------------------------ */
/* Fault reasons 1h - Eh                                              */
/* ------------------------------------------------------------------ */

static void test_fr1_root_not_present(void **state)
{
    struct th t;
    struct vtd_result r;
    (void)state;
    th_init(&t, NULL);
    th_set_ctx(&t, SID(1, 0, 0), th_ctx_lo(th_alloc_page(&t), 0, false), th_ctx_hi(2, 1));
    th_enable(&t);
    /* bus 3 has a zero root entry */
    r = th_dma(&t, SID(3, 1, 2), 0x1234567ULL, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_ROOT_NOT_PRESENT, SID(3, 1, 2), 0x1234567ULL, VTD_R);
    assert_int_equal((th_rd32(&t, VTD_REG_FSTS) & VTD_FSTS_FRI_MASK) >> VTD_FSTS_FRI_SHIFT, 0);
    /* A write from another bus: the next record, write type. */
    r = th_dma(&t, SID(4, 0, 0), 0xABCDE000ULL, VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_ROOT_NOT_PRESENT, SID(4, 0, 0), 0xABCDE000ULL, VTD_W, AT_U, 1);
    /* Root entry with reserved-free content but P=0 (CTP valid): still 1h */
    th_w64(&t, root_entry_addr(&t, SID(5, 0, 0)), th_alloc_page(&t));
    r = th_dma(&t, SID(5, 0, 0), 0x1000, VTD_R | VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_ROOT_NOT_PRESENT, SID(5, 0, 0), 0x1000, VTD_R | VTD_W, AT_U, 2);
    th_fini(&t);
}

static void test_fr2_ctx_not_present(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_enable(&t);
    /* same bus, other devfn: zero context entry */
    r = th_dma(&t, SID(2, 5, 7), IOVA + 0x10, VTD_W);
    EXPECT_FAULT(&t, r, VTD_FR_CTX_NOT_PRESENT, SID(2, 5, 7), IOVA, VTD_W);
    /* a fully programmed entry with only P clear */
    th_set_ctx(&t, S1, th_ctx_lo(root, 0, false) & ~VTD_CTX_LO_P, th_ctx_hi(2, 1));
    r = th_dma(&t, S1, IOVA, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_CTX_NOT_PRESENT, S1, IOVA, VTD_R, AT_U, 1);
    /* the mapped device still works */
    r = th_dma(&t, S0, IOVA + 0x10, VTD_R);
    EXPECT_OK(r, PA + 0x10, SZ_4K, VTD_R | VTD_W);
    th_fini(&t);
}

/* FPD is read even when P=0: 2h is then not recorded. */
static void test_fr2_fpd_suppresses(void **state)
{
    struct th t;
    struct vtd_result r;
    (void)state;
    th_init(&t, NULL);
    th_set_ctx(&t, S0, VTD_CTX_LO_FPD, 0);
    th_enable(&t);
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_UNRECORDED_FAULT(&t, r, VTD_FR_CTX_NOT_PRESENT);
    th_fini(&t);
}

struct ctx_case {
    const char *name;
    uint64_t cap_clear, ecap_clear;
    unsigned tt, aw;
};

static void test_fr3_invalid_context(void **state)
{
    static const struct ctx_case cases[] = {
        {"TT=11", 0, 0, VTD_TT_RESERVED, 2},
        {"TT=01 without ECAP.DT", 0, VTD_ECAP_DT, VTD_TT_DEVTLB, 2},
        {"TT=10 without ECAP.PT", 0, VTD_ECAP_PT, VTD_TT_PASSTHROUGH, 2},
        {"AW=0 (not in SAGAW)", 0, 0, VTD_TT_UNTRANSLATED, 0},
        {"AW=4", 0, 0, VTD_TT_UNTRANSLATED, 4},
        {"AW=5", 0, 0, VTD_TT_UNTRANSLATED, 5},
        {"AW=7", 0, 0, VTD_TT_UNTRANSLATED, 7},
        {"AW=1 without SAGAW 39", VTD_CAP_SAGAW_39, 0, VTD_TT_UNTRANSLATED, 1},
        {"AW=3 without SAGAW 57", VTD_CAP_SAGAW_57, 0, VTD_TT_UNTRANSLATED, 3},
        {"TT=01 with AW=0", 0, 0, VTD_TT_DEVTLB, 0},
        {"TT=01 with AW=4", 0, 0, VTD_TT_DEVTLB, 4},
        {"TT=11 with AW=0", 0, 0, VTD_TT_RESERVED, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ctx_case *c = &cases[i];
        struct th t;
        struct vtd_config cfg = cfg_base();
        struct vtd_result r;
        uint64_t root;
        cfg.cap &= ~c->cap_clear;
        cfg.ecap &= ~c->ecap_clear;
        print_message("case %s\n", c->name);
        th_init(&t, &cfg);
        root = th_alloc_page(&t);
        th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
        th_set_ctx(&t, S0, th_ctx_lo(root, c->tt, false), th_ctx_hi(c->aw, 1));
        th_enable(&t);
        r = th_dma(&t, S0, IOVA + 0x44, VTD_R);
        EXPECT_FAULT(&t, r, VTD_FR_CTX_INVALID, S0, IOVA, VTD_R);
        th_fini(&t);
    }
}

/* TT=10 ignores AW (diag for a value other than the largest supported) and
 * SLPTPTR (no reserved-bit check on it). */
static void test_fr3_passthrough_ignores_aw(void **state)
{
    static const unsigned aws[] = {0, 1, 2, 4, 7};
    (void)state;
    for (size_t i = 0; i < sizeof(aws) / sizeof(aws[0]); i++) {
        struct th t;
        struct vtd_result r;
        print_message("pass-through AW=%u\n", aws[i]);
        th_init(&t, NULL);
        th_set_ctx(&t, S0, th_ctx_lo(1ULL << 52, VTD_TT_PASSTHROUGH, false), th_ctx_hi(aws[i], 1));
        th_enable(&t);
        th_clear_logs(&t);
        r = th_dma(&t, S0, 0x7654321ULL, VTD_W);
        EXPECT_OK(r, 0x7654321ULL, SZ_4K, VTD_R | VTD_W);
        EXPECT_NO_RECORDS(&t);
        assert_true(th_has_diag(&t, VTD_DIAG_CTX_AW));
        th_fini(&t);
    }
    {   /* the largest supported AW: no diag */
        struct th t;
        struct vtd_result r;
        th_init(&t, NULL);
        th_set_ctx(&t, S0, th_ctx_lo(0, VTD_TT_PASSTHROUGH, false), th_ctx_hi(3, 1));
        th_enable(&t);
        th_clear_logs(&t);
        r = th_dma(&t, S0, 0x7654321ULL, VTD_R);
        EXPECT_OK(r, 0x7654321ULL, SZ_4K, VTD_R | VTD_W);
        assert_false(th_has_diag(&t, VTD_DIAG_CTX_AW));
        th_fini(&t);
    }
}

/* Step 6 (Dh) comes before step 7 (AW 3h). */
static void test_fr3_tt_check_before_aw(void **state)
{
    struct th t;
    struct vtd_result r;
    (void)state;
    th_init(&t, NULL);
    th_set_ctx(&t, S0, th_ctx_lo(th_alloc_page(&t), VTD_TT_UNTRANSLATED, false), th_ctx_hi(0, 1));
    th_enable(&t);
    r = treq(&t, S0, AT_TREQ, IOVA, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_TT_BLOCKED, S0, IOVA, VTD_R, AT_TREQ, 0);
    th_fini(&t);
}

/* The table SLPTPTR names is unreadable: 3h, for every depth. */
static void test_fr3_slptptr_unreadable(void **state)
{
    (void)state;
    for (int levels = 3; levels <= 5; levels++) {
        struct th t;
        struct vtd_result r;
        uint64_t root = std_setup(&t, NULL, levels);
        hole(&t, root);
        r = th_dma(&t, S0, IOVA, VTD_W);
        EXPECT_FAULT(&t, r, VTD_FR_CTX_INVALID, S0, IOVA, VTD_W);
        th_fini(&t);
    }
}

static void test_fr4_above_agaw(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    (void)state;
    /* 3-level: 39-bit input */
    th_init(&t, NULL);
    root = dom(&t, S0, 3, 0, 1);
    th_map(&t, root, 3, (1ULL << 39) - SZ_4K, PA, SZ_4K, SZ_4K, RW);
    th_enable(&t);
    r = th_dma(&t, S0, (1ULL << 39) - SZ_4K + 0xFFF, VTD_R);
    EXPECT_OK(r, PA + 0xFFF, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S0, 1ULL << 39, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_ADDR_BEYOND_AW, S0, 1ULL << 39, VTD_R);
    th_fini(&t);

    /* 4-level: 2^48 and a high bit well above */
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    th_map(&t, root, 4, (1ULL << 48) - SZ_4K, PA, SZ_4K, SZ_4K, RW);
    th_enable(&t);
    r = th_dma(&t, S0, (1ULL << 48) - SZ_4K, VTD_W);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S0, (1ULL << 48) + 0x123000, VTD_W);
    EXPECT_FAULT(&t, r, VTD_FR_ADDR_BEYOND_AW, S0, (1ULL << 48) + 0x123000, VTD_W);
    r = th_dma(&t, S1, 1ULL << 63, VTD_R);
    /* S1 has no context: 2h comes before the address check */
    EXPECT_FAULT_I(&t, r, VTD_FR_CTX_NOT_PRESENT, S1, 1ULL << 63, VTD_R, AT_U, 1);
    th_fini(&t);

    /* 5-level: 2^57 */
    th_init(&t, NULL);
    root = dom(&t, S0, 5, 0, 1);
    th_map(&t, root, 5, (1ULL << 57) - SZ_4K, PA, SZ_4K, SZ_4K, RW);
    th_enable(&t);
    r = th_dma(&t, S0, (1ULL << 57) - SZ_4K, VTD_R);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S0, 1ULL << 57, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_ADDR_BEYOND_AW, S0, 1ULL << 57, VTD_R);
    th_fini(&t);
}

/* MGAW smaller than the context's AGAW: the input limit is MGAW. */
static void test_fr4_above_mgaw(void **state)
{
    struct th t;
    struct vtd_result r;
    struct vtd_config cfg = cfg_base();
    uint64_t root;
    (void)state;
    cfg.cap = (cfg.cap & ~VTD_CAP_MGAW_MASK) | ((uint64_t)(48 - 1) << VTD_CAP_MGAW_SHIFT);
    th_init(&t, &cfg);
    root = dom(&t, S0, 5, 0, 1); /* AW=3: 57-bit AGAW */
    th_map(&t, root, 5, (1ULL << 48) - SZ_4K, PA, SZ_4K, SZ_4K, RW);
    th_map(&t, root, 5, 1ULL << 48, PA + SZ_4K, SZ_4K, SZ_4K, RW);
    th_enable(&t);
    r = th_dma(&t, S0, (1ULL << 48) - SZ_4K + 8, VTD_R);
    EXPECT_OK(r, PA + 8, SZ_4K, VTD_R | VTD_W);
    /* mapped in the table, but above MGAW */
    r = th_dma(&t, S0, 1ULL << 48, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_ADDR_BEYOND_AW, S0, 1ULL << 48, VTD_R);
    th_fini(&t);
}

/* Not present (R=W=0) at each level of 3-, 4- and 5-level walks:
 * read 6h, write 5h, atomic 6h. */
static void test_fr56_not_present_each_level(void **state)
{
    (void)state;
    for (int levels = 3; levels <= 5; levels++) {
        for (int lvl = 1; lvl <= levels; lvl++) {
            struct th t;
            struct vtd_result r;
            uint64_t root, e;
            print_message("levels %d, entry level %d\n", levels, lvl);
            th_init(&t, NULL);
            root = dom(&t, S0, levels, 0, 1);
            th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi((unsigned)(levels - 2), 1));
            th_set_ctx(&t, S2, th_ctx_lo(root, 0, false), th_ctx_hi((unsigned)(levels - 2), 1));
            th_map(&t, root, levels, IOVA, PA, SZ_4K, SZ_4K, RW);
            e = th_pte_addr(&t, root, levels, IOVA, lvl);
            assert_true(e != 0);
            /* keep the address bits: only R=W=0 makes it not present */
            th_w64(&t, e, th_r64(&t, e) & ~(uint64_t)RW);
            th_enable(&t);
            r = th_dma(&t, S0, IOVA + 0x123, VTD_R);
            EXPECT_FAULT_I(&t, r, VTD_FR_NO_READ, S0, IOVA, VTD_R, AT_U, 0);
            r = th_dma(&t, S1, IOVA + 0x123, VTD_W);
            EXPECT_FAULT_I(&t, r, VTD_FR_NO_WRITE, S1, IOVA, VTD_W, AT_U, 1);
            r = th_dma(&t, S2, IOVA + 0x123, VTD_R | VTD_W);
            EXPECT_FAULT_I(&t, r, VTD_FR_NO_READ, S2, IOVA, VTD_R | VTD_W, AT_U, 2);
            th_fini(&t);
        }
    }
}

/* A present entry lacking the requested permission at each level. */
static void test_fr56_permission_each_level(void **state)
{
    (void)state;
    for (int levels = 3; levels <= 5; levels++) {
        for (int lvl = 1; lvl <= levels; lvl++) {
            for (int ronly = 0; ronly <= 1; ronly++) {
                struct th t;
                struct vtd_result r;
                uint64_t root, e;
                print_message("levels %d, entry level %d, %s\n", levels, lvl,
                              ronly ? "R only" : "W only");
                th_init(&t, NULL);
                root = dom(&t, S0, levels, 0, 1);
                th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi((unsigned)(levels - 2), 1));
                th_set_ctx(&t, S2, th_ctx_lo(root, 0, false), th_ctx_hi((unsigned)(levels - 2), 1));
                th_map(&t, root, levels, IOVA, PA, SZ_4K, SZ_4K, RW);
                e = th_pte_addr(&t, root, levels, IOVA, lvl);
                th_w64(&t, e, th_r64(&t, e) & ~(ronly ? VTD_SL_W : VTD_SL_R));
                th_enable(&t);
                if (ronly) {
                    r = th_dma(&t, S0, IOVA + 0x8, VTD_R);
                    EXPECT_OK(r, PA + 0x8, SZ_4K, VTD_R);
                    r = th_dma(&t, S1, IOVA + 0x8, VTD_W);
                    EXPECT_FAULT_I(&t, r, VTD_FR_NO_WRITE, S1, IOVA, VTD_W, AT_U, 0);
                    r = th_dma(&t, S2, IOVA + 0x8, VTD_R | VTD_W);
                    EXPECT_FAULT_I(&t, r, VTD_FR_NO_WRITE, S2, IOVA, VTD_R | VTD_W, AT_U, 1);
                } else {
                    r = th_dma(&t, S0, IOVA + 0x8, VTD_R);
                    EXPECT_FAULT_I(&t, r, VTD_FR_NO_READ, S0, IOVA, VTD_R, AT_U, 0);
                    r = th_dma(&t, S1, IOVA + 0x8, VTD_W);
                    EXPECT_OK(r, PA + 0x8, SZ_4K, VTD_W);
                    r = th_dma(&t, S2, IOVA + 0x8, VTD_R | VTD_W);
                    EXPECT_FAULT_I(&t, r, VTD_FR_NO_READ, S2, IOVA, VTD_R | VTD_W, AT_U, 1);
                }
                th_fini(&t);
            }
        }
    }
}

/* A lower-level table (not the one SLPTPTR names) unreadable: 7h. */
static void test_fr7_lower_table_unreadable(void **state)
{
    (void)state;
    for (int levels = 3; levels <= 5; levels++) {
        for (int lvl = 1; lvl < levels; lvl++) { /* the table of level lvl */
            struct th t;
            struct vtd_result r;
            uint64_t root, e;
            print_message("levels %d, table of level %d unreadable\n", levels, lvl);
            root = std_setup(&t, NULL, levels);
            e = th_pte_addr(&t, root, levels, IOVA, lvl + 1);
            hole(&t, th_r64(&t, e) & VTD_SL_ADDR_MASK);
            r = th_dma(&t, S0, IOVA + 0xABC, VTD_R);
            EXPECT_FAULT(&t, r, VTD_FR_SL_READ_ERROR, S0, IOVA, VTD_R);
            th_fini(&t);
        }
    }
}

static void test_fr8_root_table_unreadable(void **state)
{
    struct th t;
    struct vtd_result r;
    (void)state;
    std_setup(&t, NULL, 4);
    hole(&t, t.rta);
    r = th_dma(&t, S0, IOVA, VTD_W);
    EXPECT_FAULT(&t, r, VTD_FR_ROOT_READ_ERROR, S0, IOVA, VTD_W);
    th_fini(&t);
}

static void test_fr9_ctx_table_unreadable(void **state)
{
    struct th t;
    struct vtd_result r;
    (void)state;
    std_setup(&t, NULL, 4);
    /* an FPD on the (unreadable) context entry cannot suppress 9h */
    hole(&t, th_ctx_addr(&t, S0));
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_CTX_READ_ERROR, S0, IOVA, VTD_R);
    th_fini(&t);
}

/* Root entry reserved bits: lo 11:1, the whole hi qword, CTP at or above haw. */
static void test_frA_root_reserved(void **state)
{
    struct rc { uint8_t haw; uint64_t lo_or, hi_or; } cases[32];
    size_t n = 0;
    (void)state;
    for (int b = 1; b <= 11; b++)
        cases[n++] = (struct rc){52, 1ULL << b, 0};
    cases[n++] = (struct rc){52, 0, 1ULL << 0};
    cases[n++] = (struct rc){52, 0, 1ULL << 1};
    cases[n++] = (struct rc){52, 0, 1ULL << 12};
    cases[n++] = (struct rc){52, 0, 1ULL << 40};
    cases[n++] = (struct rc){52, 0, 1ULL << 63};
    cases[n++] = (struct rc){52, 1ULL << 52, 0};
    cases[n++] = (struct rc){52, 1ULL << 63, 0};
    cases[n++] = (struct rc){39, 1ULL << 39, 0};
    cases[n++] = (struct rc){39, 1ULL << 45, 0};
    for (size_t i = 0; i < n; i++) {
        struct th t;
        struct vtd_config cfg = cfg_base();
        struct vtd_result r;
        uint64_t re;
        print_message("haw %u root lo |= 0x%llx hi |= 0x%llx\n", cases[i].haw,
                      (unsigned long long)cases[i].lo_or, (unsigned long long)cases[i].hi_or);
        cfg.haw = cases[i].haw;
        std_setup(&t, &cfg, 4);
        /* positive control first (faults are not cached) */
        r = th_dma(&t, S1, IOVA, VTD_R);
        assert_int_equal(r.fault_reason, VTD_FR_CTX_NOT_PRESENT); /* root entry fine */
        th_frcd_clear(&t, 0);
        re = root_entry_addr(&t, S0);
        th_w64(&t, re, th_r64(&t, re) | cases[i].lo_or);
        th_w64(&t, re + 8, th_r64(&t, re + 8) | cases[i].hi_or);
        r = th_dma(&t, S0, IOVA, VTD_R);
        EXPECT_FAULT_I(&t, r, VTD_FR_ROOT_RSVD, S0, IOVA, VTD_R, AT_U, 1);
        th_fini(&t);
    }
}

/* Root-level faults are recorded even when the context entry has FPD. */
static void test_frA_not_suppressed_by_fpd(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root, re;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_set_ctx(&t, S0, th_ctx_lo(root, 0, true), th_ctx_hi(2, 1));
    th_enable(&t);
    re = root_entry_addr(&t, S0);
    th_w64(&t, re, th_r64(&t, re) | (1ULL << 5));
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_ROOT_RSVD, S0, IOVA, VTD_R);
    th_fini(&t);
}

/* Context entry reserved bits: 11:4, 71, 127:88, SLPTPTR at or above haw. */
static void test_frB_ctx_reserved(void **state)
{
    struct cc { uint8_t haw; uint64_t lo_or, hi_or; } cases[40];
    size_t n = 0;
    (void)state;
    for (int b = 4; b <= 11; b++)
        cases[n++] = (struct cc){52, 1ULL << b, 0};
    cases[n++] = (struct cc){52, 0, 1ULL << 7};  /* bit 71 */
    cases[n++] = (struct cc){52, 0, 1ULL << 24}; /* bit 88 */
    cases[n++] = (struct cc){52, 0, 1ULL << 31};
    cases[n++] = (struct cc){52, 0, 1ULL << 40};
    cases[n++] = (struct cc){52, 0, 1ULL << 63}; /* bit 127 */
    cases[n++] = (struct cc){52, 1ULL << 52, 0}; /* SLPTPTR >= 2^52 */
    cases[n++] = (struct cc){52, 1ULL << 62, 0};
    cases[n++] = (struct cc){39, 1ULL << 39, 0};
    cases[n++] = (struct cc){39, 1ULL << 50, 0};
    for (size_t i = 0; i < n; i++) {
        struct th t;
        struct vtd_config cfg = cfg_base();
        struct vtd_result r;
        uint64_t ce;
        print_message("haw %u ctx lo |= 0x%llx hi |= 0x%llx\n", cases[i].haw,
                      (unsigned long long)cases[i].lo_or, (unsigned long long)cases[i].hi_or);
        cfg.haw = cases[i].haw;
        std_setup(&t, &cfg, 4);
        ce = th_ctx_addr(&t, S0);
        th_w64(&t, ce, th_r64(&t, ce) | cases[i].lo_or);
        th_w64(&t, ce + 8, th_r64(&t, ce + 8) | cases[i].hi_or);
        r = th_dma(&t, S0, IOVA + 0x800, VTD_W);
        EXPECT_FAULT(&t, r, VTD_FR_CTX_RSVD, S0, IOVA, VTD_W);
        th_fini(&t);
    }
}

/* DID bits beyond CAP.ND are reserved (ND=0: 16 domains, DID 3:0). */
static void test_frB_did_beyond_nd(void **state)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    struct vtd_result r;
    uint64_t root;
    (void)state;
    cfg.cap &= ~VTD_CAP_ND_MASK;
    th_init(&t, &cfg);
    root = dom(&t, S0, 4, 0, 15);
    th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi(2, 16));
    th_set_ctx(&t, S2, th_ctx_lo(root, 0, false), th_ctx_hi(2, 0x8001));
    th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_enable(&t);
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S1, IOVA, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_CTX_RSVD, S1, IOVA, VTD_R, AT_U, 0);
    r = th_dma(&t, S2, IOVA, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_CTX_RSVD, S2, IOVA, VTD_R, AT_U, 1);
    th_fini(&t);
}

/* AVAIL (70:67) is software's: not reserved. */
static void test_frB_avail_not_reserved(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t ce;
    (void)state;
    std_setup(&t, NULL, 4);
    ce = th_ctx_addr(&t, S0);
    th_w64(&t, ce + 8, th_r64(&t, ce + 8) | VTD_CTX_HI_AVAIL_MASK);
    r = th_dma(&t, S0, IOVA + 0x10, VTD_R);
    EXPECT_OK(r, PA + 0x10, SZ_4K, VTD_R | VTD_W);
    EXPECT_NO_RECORDS(&t);
    th_fini(&t);
}

/* Bh is checked before 3h, and FPD suppresses it (a qualified fault). */
static void test_frB_precedence_and_fpd(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = th_alloc_page(&t);
    th_set_ctx(&t, S0, th_ctx_lo(root, VTD_TT_RESERVED, false) | (1ULL << 4), th_ctx_hi(0, 1));
    th_enable(&t);
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_CTX_RSVD, S0, IOVA, VTD_R);
    th_fini(&t);

    th_init(&t, NULL);
    root = th_alloc_page(&t);
    th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_set_ctx(&t, S0, th_ctx_lo(root, 0, true), th_ctx_hi(2, 1) | (1ULL << 7));
    th_enable(&t);
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_UNRECORDED_FAULT(&t, r, VTD_FR_CTX_RSVD);
    th_fini(&t);
}

struct sl_case {
    const char *name;
    uint64_t cap_clear, ecap_clear;
    uint8_t haw;
    int levels;
    uint64_t page; /* mapping size */
    int lvl;       /* entry modified */
    uint64_t or_bits;
    uint64_t set;  /* non-zero: replace the entry with this value */
};

static void run_sl_case(const struct sl_case *c, unsigned expect_fr)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    struct vtd_result r;
    uint64_t root, e, iova = 0x40000000ULL * 3; /* 1 GiB aligned, < 2^39 */
    uint64_t pa = 0x40000000ULL * 5;
    print_message("case %s\n", c->name);
    cfg.cap &= ~c->cap_clear;
    cfg.ecap &= ~c->ecap_clear;
    if (c->haw)
        cfg.haw = c->haw;
    th_init(&t, &cfg);
    root = dom(&t, S0, c->levels, 0, 1);
    th_map(&t, root, c->levels, iova, pa, c->page, c->page, RW);
    e = th_pte_addr(&t, root, c->levels, iova, c->lvl);
    assert_true(e != 0);
    th_w64(&t, e, c->set ? c->set : (th_r64(&t, e) | c->or_bits));
    th_enable(&t);
    r = th_dma(&t, S0, iova + 0x808, VTD_R);
    if (expect_fr) {
        EXPECT_FAULT(&t, r, expect_fr, S0, iova, VTD_R);
    } else {
        EXPECT_OK(r, (pa | (c->or_bits & VTD_SL_ADDR_MASK)) + 0x808, c->page, VTD_R | VTD_W);
        EXPECT_NO_RECORDS(&t);
    }
    th_fini(&t);
}

static void test_frC_sl_reserved(void **state)
{
    static const struct sl_case cases[] = {
        {"leaf address bit 48 with haw 48", 0, 0, 48, 4, SZ_4K, 1, 1ULL << 48, 0},
        {"leaf address bit 51 with haw 48", 0, 0, 48, 4, SZ_4K, 1, 1ULL << 51, 0},
        {"leaf address bit 39 with haw 39", 0, 0, 39, 4, SZ_4K, 1, 1ULL << 39, 0},
        {"PDE address bit 50 with haw 48", 0, 0, 48, 4, SZ_4K, 2, 1ULL << 50, 0},
        {"PDPE address bit 50 with haw 48", 0, 0, 48, 4, SZ_4K, 3, 1ULL << 50, 0},
        {"PML4E address bit 51 with haw 48", 0, 0, 48, 4, SZ_4K, 4, 1ULL << 51, 0},
        {"PML5E address bit 49 with haw 48", 0, 0, 48, 5, SZ_4K, 5, 1ULL << 49, 0},
        {"PDE address bit 40 with haw 39", 0, 0, 39, 4, SZ_4K, 2, 1ULL << 40, 0},
        {"2M leaf address bit 49 with haw 48", 0, 0, 48, 4, SZ_2M, 2, 1ULL << 49, 0},
        {"1G leaf address bit 45 with haw 40", 0, 0, 40, 4, SZ_1G, 3, 1ULL << 45, 0},
        {"PS in PML4E", 0, 0, 0, 4, SZ_4K, 4, VTD_SL_PS, 0},
        {"PS in PML5E", 0, 0, 0, 5, SZ_4K, 5, VTD_SL_PS, 0},
        {"PS in PML4E of 5-level", 0, 0, 0, 5, SZ_4K, 4, VTD_SL_PS, 0},
        {"PS in PDPE without 1G", VTD_CAP_SLLPS_1G, 0, 0, 4, SZ_4K, 3, 0,
         (5 * SZ_1G) | VTD_SL_PS | RW},
        {"PS in PDE without 2M", VTD_CAP_SLLPS_MASK, 0, 0, 4, SZ_4K, 2, 0,
         (5 * SZ_1G) | VTD_SL_PS | RW},
        {"2M leaf address bit 12", 0, 0, 0, 4, SZ_2M, 2, 1ULL << 12, 0},
        {"2M leaf address bit 20", 0, 0, 0, 4, SZ_2M, 2, 1ULL << 20, 0},
        {"2M leaf address bit 16 (3-level)", 0, 0, 0, 3, SZ_2M, 2, 1ULL << 16, 0},
        {"1G leaf address bit 12", 0, 0, 0, 4, SZ_1G, 3, 1ULL << 12, 0},
        {"1G leaf address bit 21", 0, 0, 0, 4, SZ_1G, 3, 1ULL << 21, 0},
        {"1G leaf address bit 29", 0, 0, 0, 4, SZ_1G, 3, 1ULL << 29, 0},
        {"1G leaf address bit 29 (5-level)", 0, 0, 0, 5, SZ_1G, 3, 1ULL << 29, 0},
        {"SNP in leaf without ECAP.SC", 0, VTD_ECAP_SC, 0, 4, SZ_4K, 1, VTD_SL_SNP, 0},
        {"SNP in 2M leaf without ECAP.SC", 0, VTD_ECAP_SC, 0, 4, SZ_2M, 2, VTD_SL_SNP, 0},
        {"TM in leaf without ECAP.DT", 0, VTD_ECAP_DT, 0, 4, SZ_4K, 1, VTD_SL_TM, 0},
        {"TM in 1G leaf without ECAP.DT", 0, VTD_ECAP_DT, 0, 4, SZ_1G, 3, VTD_SL_TM, 0},
        {"SNP in PDE", 0, 0, 0, 4, SZ_4K, 2, VTD_SL_SNP, 0},
        {"SNP in PDPE", 0, 0, 0, 4, SZ_4K, 3, VTD_SL_SNP, 0},
        {"SNP in PML4E", 0, 0, 0, 4, SZ_4K, 4, VTD_SL_SNP, 0},
        {"SNP in PML5E", 0, 0, 0, 5, SZ_4K, 5, VTD_SL_SNP, 0},
        {"TM in PDE", 0, 0, 0, 4, SZ_4K, 2, VTD_SL_TM, 0},
        {"TM in PDPE", 0, 0, 0, 4, SZ_4K, 3, VTD_SL_TM, 0},
        {"TM in PML4E", 0, 0, 0, 4, SZ_4K, 4, VTD_SL_TM, 0},
        {"TM in PDPE above a 2M leaf", 0, 0, 0, 4, SZ_2M, 3, VTD_SL_TM, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_sl_case(&cases[i], VTD_FR_SL_RSVD);
}

/* The same bits where they are allowed, and the bits legacy mode ignores. */
static void test_frC_allowed_and_ignored_bits(void **state)
{
    const uint64_t ign = VTD_GENMASK(6, 2) | VTD_BIT(10) | VTD_GENMASK(61, 52) | VTD_BIT(63);
    static struct sl_case cases[] = {
        {"SNP in leaf with ECAP.SC", 0, 0, 0, 4, SZ_4K, 1, VTD_SL_SNP, 0},
        {"TM in leaf with ECAP.DT", 0, 0, 0, 4, SZ_4K, 1, VTD_SL_TM, 0},
        {"SNP|TM in 2M leaf", 0, 0, 0, 4, SZ_2M, 2, VTD_SL_SNP | VTD_SL_TM, 0},
        {"SNP|TM in 1G leaf", 0, 0, 0, 4, SZ_1G, 3, VTD_SL_SNP | VTD_SL_TM, 0},
        {"leaf address bit 38 with haw 39", 0, 0, 39, 4, SZ_4K, 1, 0, 0},
        {"leaf address bit 47 with haw 48", 0, 0, 48, 4, SZ_4K, 1, 1ULL << 47, 0},
        {"ignored bits in leaf", 0, 0, 0, 4, SZ_4K, 1, 0, 0},
        {"ignored bits in PDE", 0, 0, 0, 4, SZ_4K, 2, 0, 0},
        {"ignored bits in PDPE", 0, 0, 0, 4, SZ_4K, 3, 0, 0},
        {"ignored bits in PML4E", 0, 0, 0, 4, SZ_4K, 4, 0, 0},
        {"ignored bits in PML5E", 0, 0, 0, 5, SZ_4K, 5, 0, 0},
        {"ignored bits in 2M leaf", 0, 0, 0, 4, SZ_2M, 2, 0, 0},
        {"ignored bits in 1G leaf", 0, 0, 0, 4, SZ_1G, 3, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strncmp(cases[i].name, "ignored", 7) == 0)
            cases[i].or_bits = ign;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_sl_case(&cases[i], 0);
    /* The leaf's own PA with haw 39 stays below it: a sanity check for case 4 */
    {
        struct sl_case c = {"haw 39, PA below 2^39", 0, 0, 39, 3, SZ_4K, 1, 0, 0};
        run_sl_case(&c, 0);
    }
}

static void test_frD_tt_blocks_request(void **state)
{
    static const unsigned tts[] = {VTD_TT_UNTRANSLATED, VTD_TT_PASSTHROUGH};
    (void)state;
    for (size_t i = 0; i < 2; i++) {
        for (uint8_t at = AT_TREQ; at <= AT_TD; at++) {
            struct th t;
            struct vtd_result r;
            uint64_t root;
            print_message("TT=%u AT=%u\n", tts[i], at);
            th_init(&t, NULL);
            root = dom(&t, S0, 4, tts[i], 1);
            th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
            th_enable(&t);
            r = treq(&t, S0, at, IOVA + 0x20, VTD_R);
            EXPECT_FAULT_I(&t, r, VTD_FR_TT_BLOCKED, S0, IOVA, VTD_R, at, 0);
            /* Dh is decided before the address-width check */
            r = treq(&t, S1, at, 1ULL << 60, VTD_W); /* S1: no context -> 2h */
            EXPECT_FAULT_I(&t, r, VTD_FR_CTX_NOT_PRESENT, S1, 1ULL << 60, VTD_W, at, 1);
            th_set_ctx(&t, S2, th_ctx_lo(root, tts[i], false), th_ctx_hi(2, 1));
            r = treq(&t, S2, at, 1ULL << 60, VTD_W);
            EXPECT_FAULT_I(&t, r, VTD_FR_TT_BLOCKED, S2, 1ULL << 60, VTD_W, at, 2);
            /* untranslated requests still work */
            r = th_dma(&t, S0, IOVA + 0x20, VTD_R);
            if (tts[i] == VTD_TT_UNTRANSLATED)
                EXPECT_OK(r, PA + 0x20, SZ_4K, VTD_R | VTD_W);
            else
                EXPECT_OK(r, IOVA + 0x20, SZ_4K, VTD_R | VTD_W);
            th_fini(&t);
        }
    }
}

static void test_frE_output_in_interrupt_range(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
    th_map(&t, root, 4, 0x5000, 0xFEE00000ULL, SZ_4K, SZ_4K, RW);
    th_map(&t, root, 4, 0x6000, 0xFEEFF000ULL, SZ_4K, SZ_4K, RW);
    th_map(&t, root, 4, 0x7000, 0xFEDFF000ULL, SZ_4K, SZ_4K, RW); /* just below */
    th_map(&t, root, 4, 0x8000, 0xFEF00000ULL, SZ_4K, SZ_4K, RW); /* just above */
    th_map(&t, root, 4, 0x200000, 0xFEE00000ULL, SZ_2M, SZ_2M, RW); /* 2M leaf over it */
    th_enable(&t);
    r = th_dma(&t, S0, 0x5010, VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_INTR_RANGE, S0, 0x5010, VTD_W, AT_U, 0);
    r = th_dma(&t, S1, 0x6FFC, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_INTR_RANGE, S1, 0x6FFC, VTD_R, AT_U, 1);
    r = th_dma(&t, S0, 0x7FF0, VTD_W);
    EXPECT_OK(r, 0xFEDFFFF0ULL, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S0, 0x8000, VTD_W);
    EXPECT_OK(r, 0xFEF00000ULL, SZ_4K, VTD_R | VTD_W);
    th_frcd_clear(&t, 0);
    r = th_dma(&t, S0, 0x2FF000, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_INTR_RANGE, S0, 0x2FF000, VTD_R, AT_U, 2);
    th_fini(&t);
}

/* A translated request (TT=01) whose address is in the interrupt range. */
static void test_frE_translated_request(void **state)
{
    struct th t;
    struct vtd_result r;
    (void)state;
    th_init(&t, NULL);
    dom(&t, S0, 4, VTD_TT_DEVTLB, 1);
    th_enable(&t);
    r = treq(&t, S0, AT_TD, 0xFEE00123ULL, VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_INTR_RANGE, S0, 0xFEE00123ULL, VTD_W, AT_TD, 0);
    r = treq(&t, S0, AT_TD, 0xFEF00000ULL, VTD_W);
    EXPECT_OK(r, 0xFEF00000ULL, 0, -1);
    th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* Fault precedence within a walk (model.md step 9)                    */
/* ------------------------------------------------------------------ */

static struct vtd_config cfg_haw48(void)
{
    struct vtd_config c = cfg_base();
    c.haw = 48;
    return c;
}

static void test_prec_not_present_before_reserved(void **state)
{
    struct vtd_config cfg = cfg_haw48();
    (void)state;
    for (int lvl = 1; lvl <= 4; lvl++) {
        struct th t;
        struct vtd_result r;
        uint64_t root = std_setup(&t, &cfg, 4), e;
        th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
        e = th_pte_addr(&t, root, 4, IOVA, lvl);
        /* R=W=0 plus reserved bits (address >= haw, SNP in non-leaf, TM) */
        th_w64(&t, e, (th_r64(&t, e) & ~(uint64_t)RW) | (1ULL << 50) | VTD_SL_SNP |
                          (lvl == 4 ? VTD_SL_PS : 0));
        r = th_dma(&t, S0, IOVA, VTD_R);
        EXPECT_FAULT_I(&t, r, VTD_FR_NO_READ, S0, IOVA, VTD_R, AT_U, 0);
        r = th_dma(&t, S1, IOVA, VTD_W);
        EXPECT_FAULT_I(&t, r, VTD_FR_NO_WRITE, S1, IOVA, VTD_W, AT_U, 1);
        th_fini(&t);
    }
}

static void test_prec_permission_before_reserved(void **state)
{
    struct vtd_config cfg = cfg_haw48();
    (void)state;
    for (int lvl = 1; lvl <= 4; lvl++) {
        struct th t;
        struct vtd_result r;
        uint64_t root = std_setup(&t, &cfg, 4), e;
        th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
        e = th_pte_addr(&t, root, 4, IOVA, lvl);
        th_w64(&t, e, (th_r64(&t, e) & ~VTD_SL_W) | (1ULL << 50));
        /* write lacks W: 5h, not Ch */
        r = th_dma(&t, S0, IOVA, VTD_W);
        EXPECT_FAULT_I(&t, r, VTD_FR_NO_WRITE, S0, IOVA, VTD_W, AT_U, 0);
        /* a read has the permission: then the reserved bits fault */
        r = th_dma(&t, S1, IOVA, VTD_R);
        EXPECT_FAULT_I(&t, r, VTD_FR_SL_RSVD, S1, IOVA, VTD_R, AT_U, 1);
        th_fini(&t);
    }
}

/* Reserved bits in an entry whose lower table is unreadable: Ch, not 7h. */
static void test_prec_reserved_before_next_level(void **state)
{
    (void)state;
    for (int lvl = 2; lvl <= 4; lvl++) {
        struct th t;
        struct vtd_result r;
        uint64_t root = std_setup(&t, NULL, 4), e, v;
        th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
        e = th_pte_addr(&t, root, 4, IOVA, lvl);
        v = th_r64(&t, e);
        hole(&t, v & VTD_SL_ADDR_MASK);
        /* without reserved bits: 7h (control) */
        r = th_dma(&t, S1, IOVA, VTD_R);
        EXPECT_FAULT_I(&t, r, VTD_FR_SL_READ_ERROR, S1, IOVA, VTD_R, AT_U, 0);
        th_w64(&t, e, v | VTD_SL_SNP);
        r = th_dma(&t, S0, IOVA, VTD_R);
        EXPECT_FAULT_I(&t, r, VTD_FR_SL_RSVD, S0, IOVA, VTD_R, AT_U, 1);
        th_fini(&t);
    }
}

/* Permission is checked before the next level is read: 6h, not 7h. */
static void test_prec_permission_before_next_level(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root = std_setup(&t, NULL, 4), e, v;
    (void)state;
    e = th_pte_addr(&t, root, 4, IOVA, 3);
    v = th_r64(&t, e);
    hole(&t, v & VTD_SL_ADDR_MASK);
    th_w64(&t, e, v & ~VTD_SL_R);
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_NO_READ, S0, IOVA, VTD_R);
    th_fini(&t);
}

/* Steps 5-9 in order: 3h (AW) before 4h; 4h before the walk (3h/7h). */
static void test_prec_context_and_width(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    (void)state;
    /* 4h before the SLPTPTR table is read */
    root = std_setup(&t, NULL, 3);
    hole(&t, root);
    r = th_dma(&t, S0, 1ULL << 40, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_ADDR_BEYOND_AW, S0, 1ULL << 40, VTD_R);
    th_fini(&t);
    /* invalid AW: 3h even for an address above every width */
    th_init(&t, NULL);
    th_set_ctx(&t, S0, th_ctx_lo(th_alloc_page(&t), 0, false), th_ctx_hi(0, 1));
    th_enable(&t);
    r = th_dma(&t, S0, 1ULL << 62, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_CTX_INVALID, S0, 1ULL << 62, VTD_R);
    th_fini(&t);
}

/* Leaf permission (step 9) before the interrupt-range check (step 10). */
static void test_prec_permission_before_intr_range(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    th_map(&t, root, 4, 0x5000, 0xFEE00000ULL, SZ_4K, SZ_4K, VTD_SL_R);
    th_enable(&t);
    r = th_dma(&t, S0, 0x5000, VTD_W);
    EXPECT_FAULT(&t, r, VTD_FR_NO_WRITE, S0, 0x5000, VTD_W);
    th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* Walks: 3/4/5 levels x 4K/2M/1G                                      */
/* ------------------------------------------------------------------ */

static void test_walk_levels_and_page_sizes(void **state)
{
    static const uint64_t pages[] = {SZ_4K, SZ_2M, SZ_1G};
    static const uint64_t offs[] = {0x678, 0x123678, 0x2345678};
    (void)state;
    for (int levels = 3; levels <= 5; levels++) {
        /* near the top of each input range, 1 GiB aligned */
        uint64_t iova = (1ULL << (30 + 9 * (levels - 2))) - 3 * SZ_1G;
        for (size_t p = 0; p < 3; p++) {
            struct th t;
            struct vtd_result r;
            uint64_t root, pa = 0x840000000ULL + (pages[p] == SZ_4K ? 0x7000 : 0);
            print_message("levels %d page 0x%llx iova 0x%llx\n", levels,
                          (unsigned long long)pages[p], (unsigned long long)iova);
            th_init(&t, NULL);
            root = dom(&t, S0, levels, 0, 7);
            th_map(&t, root, levels, iova, pa, pages[p], pages[p], RW);
            th_enable(&t);
            r = th_dma(&t, S0, iova + offs[p], VTD_R);
            EXPECT_OK(r, pa + offs[p], pages[p], VTD_R | VTD_W);
            r = th_dma(&t, S0, iova + pages[p] - 4, VTD_W);
            EXPECT_OK(r, pa + pages[p] - 4, pages[p], VTD_R | VTD_W);
            r = th_dma(&t, S0, iova, VTD_R | VTD_W);
            EXPECT_OK(r, pa, pages[p], VTD_R | VTD_W);
            EXPECT_NO_RECORDS(&t);
            /* the page after it is not mapped */
            r = th_dma(&t, S0, iova + pages[p], VTD_R);
            EXPECT_FAULT(&t, r, VTD_FR_NO_READ, S0, iova + pages[p], VTD_R);
            th_fini(&t);
        }
    }
}

/* Distinct pages under distinct entries of every level resolve separately. */
static void test_walk_indexing(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    static const uint64_t iovas[] = {
        0x0ULL, 0x1000ULL, 0x1FF000ULL, 0x200000ULL, 0x40000000ULL, 0x8000000000ULL,
        0xFF8000000000ULL, 0x1000000000000ULL, 0x1FF000000000000ULL,
    };
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 5, 0, 1);
    for (size_t i = 0; i < sizeof(iovas) / sizeof(iovas[0]); i++)
        th_map(&t, root, 5, iovas[i], 0x100000000ULL + i * SZ_4K, SZ_4K, SZ_4K, RW);
    th_enable(&t);
    for (size_t i = 0; i < sizeof(iovas) / sizeof(iovas[0]); i++) {
        r = th_dma(&t, S0, iovas[i] + 0x10 + i, VTD_R);
        EXPECT_OK(r, 0x100000000ULL + i * SZ_4K + 0x10 + i, SZ_4K, VTD_R | VTD_W);
    }
    th_fini(&t);
}

/* Effective permission is the AND over all levels. */
static void test_walk_perm_and(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root, e;
    (void)state;
    /* non-leaf (PDPE) R only, leaf R|W: perm R, write 5h */
    root = std_setup(&t, NULL, 4);
    e = th_pte_addr(&t, root, 4, IOVA, 3);
    th_w64(&t, e, th_r64(&t, e) & ~VTD_SL_W);
    r = th_dma(&t, S0, IOVA + 4, VTD_R);
    EXPECT_OK(r, PA + 4, SZ_4K, VTD_R);
    r = th_dma(&t, S0, IOVA + 4, VTD_W);
    EXPECT_FAULT(&t, r, VTD_FR_NO_WRITE, S0, IOVA, VTD_W);
    th_fini(&t);

    /* PML4E W only, leaf R|W: perm W, read 6h */
    root = std_setup(&t, NULL, 4);
    e = th_pte_addr(&t, root, 4, IOVA, 4);
    th_w64(&t, e, th_r64(&t, e) & ~VTD_SL_R);
    r = th_dma(&t, S0, IOVA + 4, VTD_W);
    EXPECT_OK(r, PA + 4, SZ_4K, VTD_W);
    r = th_dma(&t, S0, IOVA + 4, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_NO_READ, S0, IOVA, VTD_R);
    th_fini(&t);

    /* PDE R only and leaf W only: nothing allowed */
    root = std_setup(&t, NULL, 4);
    th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
    e = th_pte_addr(&t, root, 4, IOVA, 2);
    th_w64(&t, e, th_r64(&t, e) & ~VTD_SL_W);
    e = th_pte_addr(&t, root, 4, IOVA, 1);
    th_w64(&t, e, th_r64(&t, e) & ~VTD_SL_R);
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_NO_READ, S0, IOVA, VTD_R, AT_U, 0);
    r = th_dma(&t, S1, IOVA, VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_NO_WRITE, S1, IOVA, VTD_W, AT_U, 1);
    th_fini(&t);

    /* 2M leaf R only under R|W tables, 3-level */
    th_init(&t, NULL);
    root = dom(&t, S0, 3, 0, 1);
    th_map(&t, root, 3, SZ_1G, 4 * SZ_1G, SZ_2M, SZ_2M, VTD_SL_R);
    th_enable(&t);
    r = th_dma(&t, S0, SZ_1G + 0x1234, VTD_R);
    EXPECT_OK(r, 4 * SZ_1G + 0x1234, SZ_2M, VTD_R);
    th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* TT, pass-through, TE off, abort-DMA                                 */
/* ------------------------------------------------------------------ */

static void test_tt01_all_request_types(void **state)
{
    struct th t;
    struct vtd_result r;
    struct vtd_stats s0, s1;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, VTD_TT_DEVTLB, 3);
    th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW | VTD_SL_SNP);
    th_map(&t, root, 4, SZ_1G, 8 * SZ_1G, SZ_2M, SZ_2M, VTD_SL_R | VTD_SL_SNP);
    th_enable(&t);
    r = th_dma(&t, S0, IOVA + 0x10, VTD_W);
    EXPECT_OK(r, PA + 0x10, SZ_4K, VTD_R | VTD_W);
    r = treq(&t, S0, AT_TREQ, IOVA, VTD_R | VTD_W);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    r = treq(&t, S0, AT_TREQ, SZ_1G + 0x3000, VTD_R);
    EXPECT_OK(r, SZ_1G * 8 + 0x3000, SZ_2M, VTD_R);
    /* translated requests are not walked: even with no table at all */
    hole(&t, root);
    vtd_get_stats(t.u, &s0);
    r = treq(&t, S0, AT_TD, 0x987654321ULL, VTD_W);
    EXPECT_OK(r, 0x987654321ULL, 0, -1);
    r = treq(&t, S0, AT_TD, 0x55555000ULL, VTD_R);
    EXPECT_OK(r, 0x55555000ULL, 0, -1);
    vtd_get_stats(t.u, &s1);
    assert_int_equal(s1.walks, s0.walks);
    EXPECT_NO_RECORDS(&t);
    th_fini(&t);
}





static void test_tt10_passthrough(void **state)
{
    struct th t;
    struct vtd_result r;
    struct vtd_config cfg = cfg_base();
    (void)state;
    th_init(&t, NULL);
    /* SLPTPTR 0 and AW=1 (39-bit): the limit is haw (52), not AW */
    th_set_ctx(&t, S0, th_ctx_lo(0, VTD_TT_PASSTHROUGH, false), th_ctx_hi(1, 2));
    th_enable(&t);
    r = th_dma(&t, S0, 0x12345678ULL, VTD_R);
    EXPECT_OK(r, 0x12345678ULL, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S0, 1ULL << 39, VTD_W);
    EXPECT_OK(r, 1ULL << 39, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S0, (1ULL << 52) - 1, VTD_R | VTD_W);
    EXPECT_OK(r, (1ULL << 52) - 1, SZ_4K, VTD_R | VTD_W);
    EXPECT_NO_RECORDS(&t);
    r = th_dma(&t, S0, 1ULL << 52, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_ADDR_BEYOND_AW, S0, 1ULL << 52, VTD_R);
    th_fini(&t);

    /* haw 39: 2^39 faults even with a 57-bit AW */
    cfg.haw = 39;
    th_init(&t, &cfg);
    th_set_ctx(&t, S0, th_ctx_lo(0, VTD_TT_PASSTHROUGH, false), th_ctx_hi(3, 2));
    th_enable(&t);
    r = th_dma(&t, S0, (1ULL << 39) - 8, VTD_W);
    EXPECT_OK(r, (1ULL << 39) - 8, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S0, 1ULL << 39, VTD_W);
    EXPECT_FAULT(&t, r, VTD_FR_ADDR_BEYOND_AW, S0, 1ULL << 39, VTD_W);
    th_fini(&t);
}

static void test_te_off_passthrough(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    (void)state;
    /* never enabled, nothing programmed */
    th_init(&t, NULL);
    r = th_dma(&t, SID(9, 9, 1), 0xABCDEF123ULL, VTD_W);
    EXPECT_OK(r, 0xABCDEF123ULL, SZ_4K, VTD_R | VTD_W);
    th_fini(&t);

    /* root latched and a mapping present, TE=0: still untranslated */
    th_init(&t, NULL);
    root = dom(&t, S0, 4, VTD_TT_DEVTLB, 1);
    th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, VTD_SL_R);
    th_set_root(&t, 0);
    r = th_dma(&t, S0, IOVA + 0x44, VTD_W);
    EXPECT_OK(r, IOVA + 0x44, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S1, 1ULL << 60, VTD_R); /* no context, no width limit */
    EXPECT_OK(r, 1ULL << 60, SZ_4K, VTD_R | VTD_W);
    /* translation and translated requests: blocked (UR), no fault */
    r = treq(&t, S0, AT_TREQ, IOVA, VTD_R);
    assert_int_equal(r.status, VTD_BLOCKED);
    r = treq(&t, S0, AT_TD, IOVA, VTD_W);
    assert_int_equal(r.status, VTD_BLOCKED);
    EXPECT_NO_RECORDS(&t);
    /* enabled: translated; disabled again: untranslated */
    th_enable_te(&t);
    r = th_dma(&t, S0, IOVA + 0x44, VTD_R);
    EXPECT_OK(r, PA + 0x44, SZ_4K, VTD_R);
    th_disable_te(&t);
    r = th_dma(&t, S0, IOVA + 0x44, VTD_R);
    EXPECT_OK(r, IOVA + 0x44, SZ_4K, VTD_R | VTD_W);
    th_fini(&t);
}

/* Abort-DMA (TTM=11 with ECAP.ADMS): every request faults 33h, not
 * qualified (recorded even with FPD). */
static void test_abort_dma(void **state)
{
    struct th t;
    struct vtd_result r;
    struct vtd_config cfg = cfg_base();
    uint64_t root;
    (void)state;
    cfg.ecap |= VTD_ECAP_ADMS;
    th_init(&t, &cfg);
    root = dom(&t, S0, 4, VTD_TT_DEVTLB, 1);
    th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_set_ctx(&t, S1, th_ctx_lo(0, VTD_TT_PASSTHROUGH, true), th_ctx_hi(2, 2)); /* FPD */
    th_set_root(&t, VTD_TTM_ABORT_DMA);
    th_enable_te(&t);
    assert_int_equal((th_rd64(&t, VTD_REG_RTADDR) & VTD_RTADDR_TTM_MASK) >> VTD_RTADDR_TTM_SHIFT,
                     VTD_TTM_ABORT_DMA);
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_RTA_ABORT_DMA, S0, IOVA, VTD_R, AT_U, 0);
    r = th_dma(&t, S1, 0x1000, VTD_W); /* pass-through context with FPD */
    EXPECT_FAULT_I(&t, r, VTD_FR_RTA_ABORT_DMA, S1, 0x1000, VTD_W, AT_U, 1);
    r = th_dma(&t, SID(7, 0, 0), 0x2000, VTD_R); /* no root entry */
    EXPECT_FAULT_I(&t, r, VTD_FR_RTA_ABORT_DMA, SID(7, 0, 0), 0x2000, VTD_R, AT_U, 2);
    r = treq(&t, S2, AT_TREQ, IOVA, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_RTA_ABORT_DMA, S2, IOVA, VTD_R, AT_TREQ, 3);
    r = treq(&t, SID(8, 0, 0), AT_TD, 0x1000, VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_RTA_ABORT_DMA, SID(8, 0, 0), 0x1000, VTD_W, AT_TD, 4);
    r = th_dma(&t, SID(8, 1, 0), 1ULL << 62, VTD_R | VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_RTA_ABORT_DMA, SID(8, 1, 0), 1ULL << 62, VTD_R | VTD_W, AT_U, 5);
    /* back to legacy: translations resume */
    th_set_root(&t, VTD_TTM_LEGACY);
    th_inval_all(&t);
    r = th_dma(&t, S0, IOVA + 1, VTD_R);
    EXPECT_OK(r, PA + 1, SZ_4K, VTD_R | VTD_W);
    th_fini(&t);
}

/* A latched TTM the unit does not support: 30h for every request. */
static void test_ttm_unsupported(void **state)
{
    static const unsigned ttms[] = {VTD_TTM_RESERVED, VTD_TTM_SCALABLE, VTD_TTM_ABORT_DMA};
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct th t;
        struct vtd_result r;
        print_message("TTM=%u (no ADMS, no SMTS)\n", ttms[i]);
        std_setup(&t, NULL, 4);
        th_clear_logs(&t);
        th_set_root(&t, ttms[i]);
        assert_true(th_has_diag(&t, VTD_DIAG_RTADDR_TTM));
        r = th_dma(&t, S0, IOVA, VTD_R);
        EXPECT_FAULT(&t, r, VTD_FR_RTA_TTM_INVALID, S0, IOVA, VTD_R);
        th_fini(&t);
    }
}

/* Untranslated requests whose input is in the interrupt range (step 8). */
static void test_input_in_interrupt_range(void **state)
{
    struct th t;
    struct vtd_result r;
    struct vtd_request rq;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
    th_set_ctx(&t, S2, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
    /* even a mapping there is not used */
    th_map(&t, root, 4, 0xFEE00000ULL, PA, SZ_4K, SZ_4K, RW);
    th_enable(&t);
    th_clear_logs(&t);
    r = th_dma(&t, S0, 0xFEE00010ULL, VTD_W);
    assert_int_equal(r.status, VTD_BLOCKED);
    assert_true(th_has_diag(&t, VTD_DIAG_REQ_INTR_RANGE));
    EXPECT_NO_RECORDS(&t);
    memset(&rq, 0, sizeof(rq));
    rq.sid = S0;
    rq.access = VTD_R;
    rq.zlr = true;
    rq.addr = 0xFEEFF000ULL;
    r = th_req(&t, &rq);
    EXPECT_OK(r, 0xFEEFF000ULL, 0, 0);
    EXPECT_NO_RECORDS(&t);
    r = th_dma(&t, S1, 0xFEE00010ULL, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_INTR_RANGE, S1, 0xFEE00010ULL, VTD_R, AT_U, 0);
    r = th_dma(&t, S2, 0xFEEFFFF0ULL, VTD_R | VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_INTR_RANGE, S2, 0xFEEFFFF0ULL, VTD_R | VTD_W, AT_U, 1);
    th_fini(&t);
}

/* Translation requests whose input is in the interrupt range: completed
 * with U and perm W when asking for write, else with neither; no fault. */
static void test_treq_input_in_interrupt_range(void **state)
{
    struct th t;
    struct vtd_result r;
    (void)state;
    th_init(&t, NULL);
    assert_true(th_rd64(&t, VTD_REG_ECAP) & VTD_ECAP_DT);
    dom(&t, S0, 4, VTD_TT_DEVTLB, 1);
    th_enable(&t);
    r = treq(&t, S0, AT_TREQ, 0xFEE00000ULL, VTD_W);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, VTD_W);
    assert_true(r.ats & VTD_ATS_U);
    r = treq(&t, S0, AT_TREQ, 0xFEE12000ULL, VTD_R);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    assert_int_equal(r.ats & VTD_ATS_U, 0); /* NW=1: R=W=U=0 */
    assert_int_equal(r.pa, 0xFEE12000ULL);
    EXPECT_NO_RECORDS(&t);
    th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* Translation requests                                                */
/* ------------------------------------------------------------------ */

static void test_treq_not_present_no_fault(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root, e;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, VTD_TT_DEVTLB, 1);
    th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_map(&t, root, 4, SZ_1G * 2, PA, SZ_4K, SZ_4K, VTD_SL_R);
    th_map(&t, root, 4, SZ_1G * 3, PA, SZ_4K, SZ_4K, RW);
    e = th_pte_addr(&t, root, 4, SZ_1G * 3, 3); /* PDPE not present */
    th_w64(&t, e, 0);
    th_map(&t, root, 4, SZ_1G * 4, PA, SZ_4K, SZ_4K, VTD_SL_W);
    th_enable(&t);
    /* leaf absent (page after IOVA) */
    r = treq(&t, S0, AT_TREQ, IOVA + SZ_4K, VTD_R | VTD_W);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    /* non-leaf absent */
    r = treq(&t, S0, AT_TREQ, SZ_1G * 3, VTD_R);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    /* read-only page asked for write: completion says R */
    r = treq(&t, S0, AT_TREQ, SZ_1G * 2 + 0x10, VTD_R | VTD_W);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, VTD_R);
    assert_int_equal(r.pa & ~0xFFFULL, PA);
    r = treq(&t, S0, AT_TREQ, SZ_1G * 2, VTD_W);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, VTD_R);
    /* write-only page asked for read */
    r = treq(&t, S0, AT_TREQ, SZ_1G * 4, VTD_R);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, VTD_W);
    EXPECT_NO_RECORDS(&t);
    /* an untranslated request to the absent page does fault */
    r = th_dma(&t, S0, IOVA + SZ_4K, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_NO_READ, S0, IOVA + SZ_4K, VTD_R);
    th_fini(&t);
}





/* ------------------------------------------------------------------ */
/* ZLR, atomics, PASID, API checks                                     */
/* ------------------------------------------------------------------ */

static struct vtd_result zlr_read(struct th *t, uint16_t sid, uint64_t addr)
{
    struct vtd_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.sid = sid;
    rq.at = AT_U;
    rq.access = VTD_R;
    rq.zlr = true;
    rq.addr = addr;
    return th_req(t, &rq);
}

static void test_zlr(void **state)
{
    struct th t;
    struct vtd_result r;
    struct vtd_config cfg = cfg_base();
    uint64_t root;
    (void)state;
    assert_true(cfg.cap & VTD_CAP_ZLR);
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    th_map(&t, root, 4, 0x1000, PA, SZ_4K, SZ_4K, VTD_SL_W);
    th_enable(&t);
    r = zlr_read(&t, S0, 0x1010);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, PA + 0x10);
    EXPECT_NO_RECORDS(&t);
    /* ZLR to a page that is not present still faults */
    r = zlr_read(&t, S0, 0x2000);
    EXPECT_FAULT(&t, r, VTD_FR_NO_READ, S0, 0x2000, VTD_R);
    th_fini(&t);

    cfg.cap &= ~VTD_CAP_ZLR;
    th_init(&t, &cfg);
    root = dom(&t, S0, 4, 0, 1);
    th_map(&t, root, 4, 0x1000, PA, SZ_4K, SZ_4K, VTD_SL_W);
    th_enable(&t);
    r = zlr_read(&t, S0, 0x1010);
    EXPECT_FAULT(&t, r, VTD_FR_NO_READ, S0, 0x1010, VTD_R);
    th_fini(&t);
}

static void test_atomic_requests(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    th_set_ctx(&t, S1, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
    th_set_ctx(&t, S2, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
    th_map(&t, root, 4, 0x1000, PA, SZ_4K, SZ_4K, RW);
    th_map(&t, root, 4, 0x2000, PA, SZ_4K, SZ_4K, VTD_SL_R);
    th_map(&t, root, 4, 0x3000, PA, SZ_4K, SZ_4K, VTD_SL_W);
    th_enable(&t);
    r = th_dma(&t, S0, 0x1008, VTD_R | VTD_W);
    EXPECT_OK(r, PA + 8, SZ_4K, VTD_R | VTD_W);
    r = th_dma(&t, S0, 0x2008, VTD_R | VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_NO_WRITE, S0, 0x2008, VTD_R | VTD_W, AT_U, 0);
    r = th_dma(&t, S1, 0x3008, VTD_R | VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_NO_READ, S1, 0x3008, VTD_R | VTD_W, AT_U, 1);
    r = th_dma(&t, S2, 0x4008, VTD_R | VTD_W);
    EXPECT_FAULT_I(&t, r, VTD_FR_NO_READ, S2, 0x4008, VTD_R | VTD_W, AT_U, 2);
    th_fini(&t);
}

/* Other faults are recorded for translation requests, with AT=01; the
 * address-width condition is not a fault (perm 0). */
static void test_treq_other_faults_recorded(void **state)
{
    struct th t;
    struct vtd_result r;
    struct vtd_config cfg = cfg_base();
    uint64_t root, e;
    (void)state;
    cfg.haw = 48;
    th_init(&t, &cfg);
    assert_true(th_rd64(&t, VTD_REG_ECAP) & VTD_ECAP_DT);
    root = dom(&t, S0, 3, VTD_TT_DEVTLB, 1);
    th_set_ctx(&t, S1, th_ctx_lo(root, VTD_TT_DEVTLB, false), th_ctx_hi(1, 1));
    th_set_ctx(&t, S2, th_ctx_lo(root, VTD_TT_DEVTLB, false), th_ctx_hi(1, 1));
    th_map(&t, root, 3, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_map(&t, root, 3, SZ_1G, 0xFEE00000ULL, SZ_4K, SZ_4K, RW);
    th_map(&t, root, 3, 2 * SZ_1G, PA, SZ_4K, SZ_4K, RW);
    e = th_pte_addr(&t, root, 3, IOVA, 1);
    th_enable(&t);
    r = treq(&t, S0, AT_TREQ, 1ULL << 39, VTD_R);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    r = treq(&t, S0, AT_TREQ, 1ULL << 62, VTD_W);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    EXPECT_NO_RECORDS(&t);
    r = treq(&t, S1, AT_TREQ, SZ_1G, VTD_W); /* output in the interrupt range */
    EXPECT_FAULT_I(&t, r, VTD_FR_INTR_RANGE, S1, SZ_1G, VTD_W, AT_TREQ, 0);
    th_w64(&t, e, th_r64(&t, e) | (1ULL << 50));
    r = treq(&t, S2, AT_TREQ, IOVA, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_SL_RSVD, S2, IOVA, VTD_R, AT_TREQ, 1);
    hole(&t, th_r64(&t, th_pte_addr(&t, root, 3, 2 * SZ_1G, 2)) & VTD_SL_ADDR_MASK);
    r = treq(&t, S0, AT_TREQ, 2 * SZ_1G, VTD_R);
    EXPECT_FAULT_I(&t, r, VTD_FR_SL_READ_ERROR, S0, 2 * SZ_1G, VTD_R, AT_TREQ, 2);
    r = treq(&t, SID(2, 7, 7), AT_TREQ, IOVA, VTD_R); /* no context */
    EXPECT_FAULT_I(&t, r, VTD_FR_CTX_NOT_PRESENT, SID(2, 7, 7), IOVA, VTD_R, AT_TREQ, 3);
    th_fini(&t);
}

/* ats: N when ECAP.SC=1 and the leaf has SNP=1; U never for mapped pages. */
static void test_treq_ats_bits(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    assert_true(th_rd64(&t, VTD_REG_ECAP) & VTD_ECAP_SC);
    root = dom(&t, S0, 4, VTD_TT_DEVTLB, 1);
    th_map(&t, root, 4, 0x1000, PA, SZ_4K, SZ_4K, RW | VTD_SL_SNP);
    th_map(&t, root, 4, 0x2000, PA, SZ_4K, SZ_4K, RW);                         /* SNP=0 */
    th_map(&t, root, 4, 0x3000, PA, SZ_4K, SZ_4K, RW | VTD_SL_SNP | VTD_SL_TM); /* TM=1 */
    th_map(&t, root, 4, 0x4000, PA, SZ_4K, SZ_4K, RW | VTD_SL_TM);
    th_map(&t, root, 4, SZ_2M, 2 * SZ_1G, SZ_2M, SZ_2M, VTD_SL_R | VTD_SL_SNP);
    th_enable(&t);
    r = treq(&t, S0, AT_TREQ, 0x1000, VTD_R);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    assert_int_equal(r.ats & (VTD_ATS_U | VTD_ATS_N), VTD_ATS_N);
    r = treq(&t, S0, AT_TREQ, 0x2000, VTD_R);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    assert_int_equal(r.ats & (VTD_ATS_U | VTD_ATS_N), 0);
    r = treq(&t, S0, AT_TREQ, 0x3000, VTD_W);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    assert_int_equal(r.ats & (VTD_ATS_U | VTD_ATS_N), VTD_ATS_N);
    r = treq(&t, S0, AT_TREQ, 0x4000, VTD_R);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    assert_int_equal(r.ats & (VTD_ATS_U | VTD_ATS_N), 0);
    r = treq(&t, S0, AT_TREQ, SZ_2M + 0x5000, VTD_R);
    EXPECT_OK(r, 2 * SZ_1G + 0x5000, SZ_2M, VTD_R);
    assert_int_equal(r.ats & (VTD_ATS_U | VTD_ATS_N), VTD_ATS_N);
    th_fini(&t);
}

/* A request with PASID on a legacy unit: 31h, not qualified. */
static void test_pasid_on_legacy(void **state)
{
    struct th t;
    struct vtd_result r;
    struct vtd_request rq;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_set_ctx(&t, S1, th_ctx_lo(root, 0, true), th_ctx_hi(2, 1)); /* FPD */
    th_enable(&t);
    th_clear_logs(&t);
    memset(&rq, 0, sizeof(rq));
    rq.sid = S0;
    rq.at = AT_U;
    rq.access = VTD_W;
    rq.pasid_valid = true;
    rq.pasid = 0x1234;
    rq.addr = IOVA + 0x100;
    r = th_req(&t, &rq);
    EXPECT_FAULT_I(&t, r, VTD_FR_RTA_PASID_LEGACY, S0, IOVA, VTD_W, AT_U, 0);
    assert_true(th_has_diag(&t, VTD_DIAG_REQ_PASID_LEGACY));
    rq.sid = S1; /* FPD does not suppress it */
    r = th_req(&t, &rq);
    EXPECT_FAULT_I(&t, r, VTD_FR_RTA_PASID_LEGACY, S1, IOVA, VTD_W, AT_U, 1);
    rq.sid = SID(6, 0, 0); /* no root entry: 31h comes first */
    r = th_req(&t, &rq);
    EXPECT_FAULT_I(&t, r, VTD_FR_RTA_PASID_LEGACY, SID(6, 0, 0), IOVA, VTD_W, AT_U, 2);
    /* without PASID: translated, no such diag */
    th_clear_logs(&t);
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    assert_false(th_has_diag(&t, VTD_DIAG_REQ_PASID_LEGACY));
    th_fini(&t);
}

static void test_translate_einval(void **state)
{
    struct th t;
    struct vtd_request rq;
    struct vtd_result res;
    struct vtd_stats s;
    (void)state;
    std_setup(&t, NULL, 4);
    memset(&rq, 0, sizeof(rq));
    rq.sid = S0;
    rq.access = VTD_R;
    rq.addr = IOVA;
    assert_int_equal(vtd_translate(NULL, &rq, &res), VTD_EINVAL);
    assert_int_equal(vtd_translate(t.u, NULL, &res), VTD_EINVAL);
    assert_int_equal(vtd_translate(t.u, &rq, NULL), VTD_EINVAL);
    rq.at = 3;
    assert_int_equal(vtd_translate(t.u, &rq, &res), VTD_EINVAL);
    rq.at = 0xFF;
    assert_int_equal(vtd_translate(t.u, &rq, &res), VTD_EINVAL);
    rq.at = AT_U;
    rq.access = 0x8;
    assert_int_equal(vtd_translate(t.u, &rq, &res), VTD_EINVAL);
    rq.access = 0xF0 | VTD_R;
    assert_int_equal(vtd_translate(t.u, &rq, &res), VTD_EINVAL);
    /* nothing was recorded */
    EXPECT_NO_RECORDS(&t);
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.faults, 0);
    /* and a good request still works */
    rq.access = VTD_R;
    assert_int_equal(vtd_translate(t.u, &rq, &res), 0);
    EXPECT_OK(res, PA, SZ_4K, VTD_R | VTD_W);
    th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* vtd_walk                                                            */
/* ------------------------------------------------------------------ */

struct steps {
    int n;
    struct vtd_walk_step s[16];
};

static void collect(void *arg, const struct vtd_walk_step *st)
{
    struct steps *c = arg;
    if (c->n < 16)
        c->s[c->n] = *st;
    c->n++;
}

static struct vtd_result do_walk(struct th *t, uint16_t sid, uint8_t at, uint64_t addr, uint8_t access,
                                 struct steps *st)
{
    struct vtd_request rq;
    struct vtd_result res;
    memset(&rq, 0, sizeof(rq));
    memset(&res, 0xA5, sizeof(res));
    memset(st, 0, sizeof(*st));
    rq.sid = sid;
    rq.at = at;
    rq.access = access;
    rq.addr = addr;
    assert_int_equal(vtd_walk(t->u, &rq, &res, collect, st), 0);
    return res;
}

static void check_root_ctx_steps(struct th *t, const struct steps *st, uint16_t sid)
{
    uint64_t re = root_entry_addr(t, sid), ce = th_ctx_addr(t, sid);
    assert_true(st->n >= 2);
    assert_int_equal(st->s[0].kind, VTD_STEP_ROOT);
    assert_int_equal(st->s[0].level, 0);
    assert_int_equal(st->s[0].index, sid >> 8);
    assert_int_equal(st->s[0].table, t->rta);
    assert_int_equal(st->s[0].addr, re);
    assert_int_equal(st->s[0].val[0], th_r64(t, re));
    assert_int_equal(st->s[0].val[1], th_r64(t, re + 8));
    assert_false(st->s[0].read_error);
    assert_int_equal(st->s[1].kind, VTD_STEP_CONTEXT);
    assert_int_equal(st->s[1].level, 0);
    assert_int_equal(st->s[1].index, sid & 0xFF);
    assert_int_equal(st->s[1].table, ce & ~0xFFFULL);
    assert_int_equal(st->s[1].addr, ce);
    assert_int_equal(st->s[1].val[0], th_r64(t, ce));
    assert_int_equal(st->s[1].val[1], th_r64(t, ce + 8));
    assert_false(st->s[1].read_error);
}

static void check_sl_steps(struct th *t, const struct steps *st, int first, uint64_t root, int levels,
                           uint64_t iova, int leaf_level)
{
    for (int lvl = levels; lvl >= leaf_level; lvl--) {
        const struct vtd_walk_step *s = &st->s[first + levels - lvl];
        uint64_t e = th_pte_addr(t, root, levels, iova, lvl);
        assert_int_equal(s->kind, VTD_STEP_SL_PTE);
        assert_int_equal(s->level, lvl);
        assert_int_equal(s->index, (iova >> (12 + 9 * (lvl - 1))) & 0x1FF);
        assert_int_equal(s->table, e & ~0xFFFULL);
        assert_int_equal(s->addr, e);
        assert_int_equal(s->val[0], th_r64(t, e));
        assert_false(s->read_error);
    }
}

static void test_walk_steps(void **state)
{
    static const uint64_t pages[] = {SZ_4K, SZ_2M, SZ_1G};
    (void)state;
    for (int levels = 3; levels <= 5; levels++) {
        for (size_t p = 0; p < 3; p++) {
            struct th t;
            struct steps st;
            struct vtd_result w, r;
            uint64_t root, iova = (1ULL << (30 + 9 * (levels - 2))) - 5 * SZ_1G;
            int leaf = p == 0 ? 1 : p == 1 ? 2 : 3;
            print_message("levels %d page 0x%llx\n", levels, (unsigned long long)pages[p]);
            th_init(&t, NULL);
            root = dom(&t, S0, levels, 0, 1);
            th_map(&t, root, levels, iova, 6 * SZ_1G, pages[p], pages[p], RW);
            th_enable(&t);
            w = do_walk(&t, S0, AT_U, iova + 0x123, VTD_W, &st);
            assert_int_equal(st.n, 2 + levels - leaf + 1);
            check_root_ctx_steps(&t, &st, S0);
            check_sl_steps(&t, &st, 2, root, levels, iova, leaf);
            EXPECT_OK(w, 6 * SZ_1G + 0x123, pages[p], VTD_R | VTD_W);
            assert_false(w.fault_recorded);
            r = th_dma(&t, S0, iova + 0x123, VTD_W);
            assert_int_equal(r.status, w.status);
            assert_int_equal(r.pa, w.pa);
            assert_int_equal(r.page_size, w.page_size);
            assert_int_equal(r.perm, w.perm);
            th_fini(&t);
        }
    }
}

/* A faulting walk reports the fault but records nothing; translate records it. */
static void test_walk_faults_not_recorded(void **state)
{
    struct th t;
    struct steps st;
    struct vtd_result w, r;
    uint64_t root, e, pt;
    struct vtd_stats s0, s1;
    (void)state;
    root = std_setup(&t, NULL, 4);
    e = th_pte_addr(&t, root, 4, IOVA, 2);
    pt = th_r64(&t, e) & VTD_SL_ADDR_MASK;
    /* leaf not present */
    w = do_walk(&t, S0, AT_U, IOVA + SZ_4K, VTD_R, &st);
    assert_int_equal(w.status, VTD_FAULT);
    assert_int_equal(w.fault_reason, VTD_FR_NO_READ);
    assert_false(w.fault_recorded);
    assert_int_equal(st.n, 6);
    check_sl_steps(&t, &st, 2, root, 4, IOVA + SZ_4K, 1);
    EXPECT_NO_RECORDS(&t);
    /* lower table unreadable: the last step carries read_error */
    hole(&t, pt);
    vtd_get_stats(t.u, &s0);
    w = do_walk(&t, S0, AT_U, IOVA, VTD_R, &st);
    vtd_get_stats(t.u, &s1);
    assert_int_equal(s1.faults_recorded, s0.faults_recorded);
    assert_int_equal(w.status, VTD_FAULT);
    assert_int_equal(w.fault_reason, VTD_FR_SL_READ_ERROR);
    assert_false(w.fault_recorded);
    assert_int_equal(st.n, 6);
    assert_int_equal(st.s[5].kind, VTD_STEP_SL_PTE);
    assert_int_equal(st.s[5].level, 1);
    assert_int_equal(st.s[5].addr, pt + ((IOVA >> 12) & 0x1FF) * 8);
    assert_true(st.s[5].read_error);
    EXPECT_NO_RECORDS(&t);
    /* vtd_translate: recorded */
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_FAULT(&t, r, VTD_FR_SL_READ_ERROR, S0, IOVA, VTD_R);
    /* root not present: one step */
    w = do_walk(&t, SID(9, 0, 0), AT_U, IOVA, VTD_R, &st);
    assert_int_equal(w.fault_reason, VTD_FR_ROOT_NOT_PRESENT);
    assert_int_equal(st.n, 1);
    assert_int_equal(st.s[0].kind, VTD_STEP_ROOT);
    assert_int_equal(st.s[0].addr, t.rta + 9 * 16);
    /* NULL callback works */
    {
        struct vtd_request rq;
        struct vtd_result res;
        memset(&rq, 0, sizeof(rq));
        rq.sid = S0;
        rq.access = VTD_R;
        rq.addr = 1ULL << 50;
        assert_int_equal(vtd_walk(t.u, &rq, &res, NULL, NULL), 0);
        assert_int_equal(res.status, VTD_FAULT);
        assert_int_equal(res.fault_reason, VTD_FR_ADDR_BEYOND_AW);
        assert_false(res.fault_recorded);
    }
    th_fini(&t);
}

/* Pass-through and TE=0 walks. */
static void test_walk_passthrough_and_te_off(void **state)
{
    struct th t;
    struct steps st;
    struct vtd_result w;
    (void)state;
    th_init(&t, NULL);
    th_set_ctx(&t, S0, th_ctx_lo(0, VTD_TT_PASSTHROUGH, false), th_ctx_hi(2, 1));
    w = do_walk(&t, S0, AT_U, 0x5678, VTD_R, &st);
    assert_int_equal(st.n, 1);
    assert_int_equal(st.s[0].kind, VTD_STEP_TE_OFF);
    EXPECT_OK(w, 0x5678, SZ_4K, VTD_R | VTD_W);
    th_enable(&t);
    w = do_walk(&t, S0, AT_U, 0x5678, VTD_R, &st);
    assert_int_equal(st.n, 3);
    check_root_ctx_steps(&t, &st, S0);
    assert_int_equal(st.s[2].kind, VTD_STEP_PASSTHROUGH);
    EXPECT_OK(w, 0x5678, SZ_4K, VTD_R | VTD_W);
    th_fini(&t);
}

/* vtd_walk neither uses nor fills the caches. */
static void test_walk_bypasses_caches(void **state)
{
    struct th t;
    struct steps st;
    struct vtd_result w, r;
    uint64_t root, leaf;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, S0, 4, 0, 1);
    leaf = th_map(&t, root, 4, IOVA, PA, SZ_4K, SZ_4K, RW);
    th_map(&t, root, 4, IOVA + SZ_4K, PA + SZ_4K, SZ_4K, SZ_4K, RW);
    th_enable(&t);
    r = th_dma(&t, S0, IOVA, VTD_R); /* cached */
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W);
    th_w64(&t, leaf, (PA + 0x100000) | RW);
    w = do_walk(&t, S0, AT_U, IOVA, VTD_R, &st);
    EXPECT_OK(w, PA + 0x100000, SZ_4K, VTD_R | VTD_W); /* memory, not the IOTLB */
    r = th_dma(&t, S0, IOVA, VTD_R);
    EXPECT_OK(r, PA, SZ_4K, VTD_R | VTD_W); /* still the cached one */
    /* walking a page does not cache it */
    w = do_walk(&t, S0, AT_U, IOVA + SZ_4K, VTD_R, &st);
    EXPECT_OK(w, PA + SZ_4K, SZ_4K, VTD_R | VTD_W);
    th_w64(&t, th_pte_addr(&t, root, 4, IOVA + SZ_4K, 1), (PA + 0x200000) | RW);
    r = th_dma(&t, S0, IOVA + SZ_4K, VTD_R);
    EXPECT_OK(r, PA + 0x200000, SZ_4K, VTD_R | VTD_W);
    th_fini(&t);
}

int main(void)
{
    const struct CMUnitTest faults[] = {
        cmocka_unit_test(test_fr1_root_not_present),
        cmocka_unit_test(test_fr2_ctx_not_present),
        cmocka_unit_test(test_fr2_fpd_suppresses),
        cmocka_unit_test(test_fr3_invalid_context),
        cmocka_unit_test(test_fr3_passthrough_ignores_aw),
        cmocka_unit_test(test_fr3_tt_check_before_aw),
        cmocka_unit_test(test_fr3_slptptr_unreadable),
        cmocka_unit_test(test_fr4_above_agaw),
        cmocka_unit_test(test_fr4_above_mgaw),
        cmocka_unit_test(test_fr56_not_present_each_level),
        cmocka_unit_test(test_fr56_permission_each_level),
        cmocka_unit_test(test_fr7_lower_table_unreadable),
        cmocka_unit_test(test_fr8_root_table_unreadable),
        cmocka_unit_test(test_fr9_ctx_table_unreadable),
        cmocka_unit_test(test_frA_root_reserved),
        cmocka_unit_test(test_frA_not_suppressed_by_fpd),
        cmocka_unit_test(test_frB_ctx_reserved),
        cmocka_unit_test(test_frB_did_beyond_nd),
        cmocka_unit_test(test_frB_avail_not_reserved),
        cmocka_unit_test(test_frB_precedence_and_fpd),
        cmocka_unit_test(test_frC_sl_reserved),
        cmocka_unit_test(test_frC_allowed_and_ignored_bits),
        cmocka_unit_test(test_frD_tt_blocks_request),
        cmocka_unit_test(test_frE_output_in_interrupt_range),
        cmocka_unit_test(test_frE_translated_request),
    };
    const struct CMUnitTest precedence[] = {
        cmocka_unit_test(test_prec_not_present_before_reserved),
        cmocka_unit_test(test_prec_permission_before_reserved),
        cmocka_unit_test(test_prec_reserved_before_next_level),
        cmocka_unit_test(test_prec_permission_before_next_level),
        cmocka_unit_test(test_prec_context_and_width),
        cmocka_unit_test(test_prec_permission_before_intr_range),
    };
    const struct CMUnitTest walks[] = {
        cmocka_unit_test(test_walk_levels_and_page_sizes),
        cmocka_unit_test(test_walk_indexing),
        cmocka_unit_test(test_walk_perm_and),
    };
    const struct CMUnitTest modes[] = {
        cmocka_unit_test(test_tt01_all_request_types),
        cmocka_unit_test(test_tt10_passthrough),
        cmocka_unit_test(test_te_off_passthrough),
        cmocka_unit_test(test_abort_dma),
        cmocka_unit_test(test_ttm_unsupported),
        cmocka_unit_test(test_input_in_interrupt_range),
        cmocka_unit_test(test_treq_input_in_interrupt_range),
        cmocka_unit_test(test_treq_not_present_no_fault),
        cmocka_unit_test(test_treq_other_faults_recorded),
        cmocka_unit_test(test_treq_ats_bits),
        cmocka_unit_test(test_zlr),
        cmocka_unit_test(test_atomic_requests),
        cmocka_unit_test(test_pasid_on_legacy),
        cmocka_unit_test(test_translate_einval),
    };
    const struct CMUnitTest walk_api[] = {
        cmocka_unit_test(test_walk_steps),
        cmocka_unit_test(test_walk_faults_not_recorded),
        cmocka_unit_test(test_walk_passthrough_and_te_off),
        cmocka_unit_test(test_walk_bypasses_caches),
    };
    int fails = 0;
    fails += cmocka_run_group_tests_name("translate_faults", faults, NULL, NULL);
    fails += cmocka_run_group_tests_name("translate_precedence", precedence, NULL, NULL);
    fails += cmocka_run_group_tests_name("translate_walks", walks, NULL, NULL);
    fails += cmocka_run_group_tests_name("translate_modes", modes, NULL, NULL);
    fails += cmocka_run_group_tests_name("translate_vtd_walk", walk_api, NULL, NULL);
    return fails ? 1 : 0;
}
