/* Caches go stale exactly as hardware's do until software invalidates them:
 * IOTLB (global, domain, page with AM and IH), paging-structure cache,
 * context cache (global, domain, device with FM), caching mode (CAP.CM),
 * cache geometry and eviction, statistics, SRTP without invalidation.
 *
 * The unit is programmed only through MMIO and memory; expected behaviour is
 * docs/model.md, "Caches". */
#include "harness.h"

#include <string.h>

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL
#define SZ_1G 0x40000000ULL
#define RW (VTD_SL_R | VTD_SL_W)

#define SA SID(0, 2, 0)
#define SB SID(0, 3, 0)
#define SC SID(1, 4, 2)

#define CHECK_EQ_AT(line, a, b)                                                          \
    do {                                                                                 \
        uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);                               \
        if (va_ != vb_) {                                                                \
            print_error("line %d: %s = 0x%llx, expected %s = 0x%llx\n", (line), #a,       \
                        (unsigned long long)va_, #b, (unsigned long long)vb_);           \
            fail();                                                                      \
        }                                                                                \
    } while (0)

/* Translate a read of sid:iova and require pa. */
static void expect_pa_at(struct th *t, uint16_t sid, uint64_t iova, uint64_t pa, int line)
{
    struct vtd_result r = th_dma(t, sid, iova, VTD_R);
    if (r.status != VTD_OK)
        print_error("line %d: sid 0x%x iova 0x%llx: status %d fault 0x%x\n", line, sid,
                    (unsigned long long)iova, r.status, r.fault_reason);
    CHECK_EQ_AT(line, r.status, VTD_OK);
    CHECK_EQ_AT(line, r.pa, pa);
}
#define EXPECT_PA(t, sid, iova, pa) expect_pa_at((t), (sid), (iova), (pa), __LINE__)

static void expect_fault_at(struct th *t, uint16_t sid, uint64_t iova, unsigned fr, int line)
{
    struct vtd_result r = th_dma(t, sid, iova, VTD_R);
    if (r.status != VTD_FAULT)
        print_error("line %d: sid 0x%x iova 0x%llx: status %d pa 0x%llx\n", line, sid,
                    (unsigned long long)iova, r.status, (unsigned long long)r.pa);
    CHECK_EQ_AT(line, r.status, VTD_FAULT);
    CHECK_EQ_AT(line, r.fault_reason, fr);
}
#define EXPECT_FAULT(t, sid, iova, fr) expect_fault_at((t), (sid), (iova), (fr), __LINE__)

static struct vtd_config cfg_base(void)
{
    struct vtd_config c;
    vtd_config_default(&c);
    return c;
}

/* A 4-level domain for sid. */
static uint64_t dom(struct th *t, uint16_t sid, uint16_t did)
{
    uint64_t root = th_alloc_page(t);
    th_set_ctx(t, sid, th_ctx_lo(root, VTD_TT_UNTRANSLATED, false), th_ctx_hi(2, did));
    return root;
}

static uint64_t map4k(struct th *t, uint64_t root, uint64_t iova, uint64_t pa)
{
    return th_map(t, root, 4, iova, pa, SZ_4K, SZ_4K, RW);
}

/* Register-based IOTLB invalidation; returns IAIG. */
static unsigned iotlb_inv(struct th *t, unsigned g, uint16_t did, uint64_t addr, unsigned am, bool ih)
{
    uint64_t v;
    if (g == VTD_IOTLB_PAGE)
        th_wr64(t, t->iro + VTD_REG_IVA_OFF,
                (addr & VTD_IVA_ADDR_MASK) | (am & VTD_IVA_AM_MASK) | (ih ? VTD_IVA_IH : 0));
    th_wr64(t, t->iro + VTD_REG_IOTLB_OFF,
            VTD_IOTLB_IVT | VTD_IOTLB_DR | VTD_IOTLB_DW | ((uint64_t)g << VTD_IOTLB_IIRG_SHIFT) |
                ((uint64_t)did << VTD_IOTLB_DID_SHIFT));
    v = th_rd64(t, t->iro + VTD_REG_IOTLB_OFF);
    assert_false(v & VTD_IOTLB_IVT);
    return (unsigned)((v & VTD_IOTLB_IAIG_MASK) >> VTD_IOTLB_IAIG_SHIFT);
}
#define IOTLB_GLOBAL(t) assert_int_equal(iotlb_inv((t), VTD_IOTLB_GLOBAL, 0, 0, 0, false), VTD_IOTLB_GLOBAL)
#define IOTLB_DSI(t, did) assert_int_equal(iotlb_inv((t), VTD_IOTLB_DOMAIN, (did), 0, 0, false), VTD_IOTLB_DOMAIN)
#define IOTLB_PSI(t, did, addr, am, ih)                                                          \
    assert_int_equal(iotlb_inv((t), VTD_IOTLB_PAGE, (did), (addr), (am), (ih)), VTD_IOTLB_PAGE)

/* Register-based context-cache invalidation; returns CAIG. */
static unsigned ccmd(struct th *t, unsigned g, uint16_t did, uint16_t sid, unsigned fm)
{
    uint64_t v;
    th_wr64(t, VTD_REG_CCMD,
            VTD_CCMD_ICC | ((uint64_t)g << VTD_CCMD_CIRG_SHIFT) | ((uint64_t)fm << VTD_CCMD_FM_SHIFT) |
                ((uint64_t)sid << VTD_CCMD_SID_SHIFT) | did);
    v = th_rd64(t, VTD_REG_CCMD);
    assert_false(v & VTD_CCMD_ICC);
    return (unsigned)((v & VTD_CCMD_CAIG_MASK) >> VTD_CCMD_CAIG_SHIFT);
}
#define CC_GLOBAL(t) assert_int_equal(ccmd((t), VTD_CC_GLOBAL, 0, 0, 0), VTD_CC_GLOBAL)
#define CC_DOMAIN(t, did) assert_int_equal(ccmd((t), VTD_CC_DOMAIN, (did), 0, 0), VTD_CC_DOMAIN)
#define CC_DEVICE(t, did, sid, fm) assert_int_equal(ccmd((t), VTD_CC_DEVICE, (did), (sid), (fm)), VTD_CC_DEVICE)

static void set_ctx_present(struct th *t, uint16_t sid, bool present)
{
    uint64_t ce = th_ctx_addr(t, sid);
    uint64_t lo = th_r64(t, ce);
    th_w64(t, ce, present ? (lo | VTD_CTX_LO_P) : (lo & ~VTD_CTX_LO_P));
}

static int diag_count(struct th *t, int code)
{
    int n = t->ndiag < TH_MAX_LOG ? t->ndiag : TH_MAX_LOG, c = 0;
    for (int i = 0; i < n; i++)
        c += t->diag[i].code == code;
    return c;
}

/* ------------------------------------------------------------------ */
/* IOTLB                                                               */
/* ------------------------------------------------------------------ */

#define IOVA_A 0x10000000ULL
#define PA1 0x700000000ULL
#define PA2 0x900000000ULL

static void test_iotlb_stale_remap_until_global(void **state)
{
    struct th t;
    uint64_t root, leaf;
    bool seen = false;
    (void)state;
    th_init(&t, NULL);
    assert_true(t.cfg.check_stale);
    root = dom(&t, SA, 1);
    leaf = map4k(&t, root, IOVA_A, PA1);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A + 0x10, PA1 + 0x10);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A + 0x10, PA1 + 0x10); /* fresh hit: not stale */
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_IOTLB));

    th_w64(&t, leaf, PA2 | RW);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A + 0x10, PA1 + 0x10); /* stale hit */
    EXPECT_PA(&t, SA, IOVA_A + 0x20, PA1 + 0x20);
    assert_true(th_has_diag(&t, VTD_DIAG_STALE_IOTLB));
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_CONTEXT));
    for (int i = 0; i < t.ndiag && i < TH_MAX_LOG; i++)
        if (t.diag[i].code == VTD_DIAG_STALE_IOTLB) {
            assert_int_equal(t.diag[i].sid, SA);
            seen = true;
        }
    assert_true(seen);

    IOTLB_GLOBAL(&t);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A + 0x10, PA2 + 0x10);
    EXPECT_PA(&t, SA, IOVA_A + 0x10, PA2 + 0x10);
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_IOTLB));
    th_fini(&t);
}

/* Clearing the leaf: the cached translation (and its permission) is still used. */
static void test_iotlb_stale_cleared_leaf(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root, leaf;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, SA, 1);
    leaf = map4k(&t, root, IOVA_A, PA1);
    th_enable(&t);
    r = th_dma(&t, SA, IOVA_A, VTD_W);
    assert_int_equal(r.status, VTD_OK);
    th_w64(&t, leaf, 0);
    th_clear_logs(&t);
    r = th_dma(&t, SA, IOVA_A + 8, VTD_W);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, PA1 + 8);
    assert_int_equal(r.perm, VTD_R | VTD_W);
    assert_true(th_has_diag(&t, VTD_DIAG_STALE_IOTLB));
    IOTLB_GLOBAL(&t);
    EXPECT_FAULT(&t, SA, IOVA_A, VTD_FR_NO_READ);
    th_fini(&t);
}

/* A permission downgrade is not seen until invalidation either. */
static void test_iotlb_stale_permission(void **state)
{
    struct th t;
    struct vtd_result r;
    uint64_t root, leaf;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, SA, 1);
    leaf = map4k(&t, root, IOVA_A, PA1);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    th_w64(&t, leaf, PA1 | VTD_SL_R);
    r = th_dma(&t, SA, IOVA_A, VTD_W);
    assert_int_equal(r.status, VTD_OK);
    IOTLB_DSI(&t, 1);
    r = th_dma(&t, SA, IOVA_A, VTD_W);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_NO_WRITE);
    th_fini(&t);
}

/* check_stale off: same stale behaviour, no diag. */
static void test_iotlb_stale_without_check(void **state)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    uint64_t root, leaf;
    (void)state;
    cfg.check_stale = false;
    th_init(&t, &cfg);
    root = dom(&t, SA, 1);
    leaf = map4k(&t, root, IOVA_A, PA1);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    th_w64(&t, leaf, PA2 | RW);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_IOTLB));
    IOTLB_GLOBAL(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    th_fini(&t);
}

/* Domain-selective: only that domain's entries go. */
static void test_iotlb_domain_selective(void **state)
{
    struct th t;
    uint64_t ra, rb, la, lb;
    (void)state;
    th_init(&t, NULL);
    ra = dom(&t, SA, 1);
    rb = dom(&t, SB, 2);
    la = map4k(&t, ra, IOVA_A, PA1);
    lb = map4k(&t, rb, IOVA_A, PA1 + 0x100000);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SB, IOVA_A, PA1 + 0x100000);
    th_w64(&t, la, PA2 | RW);
    th_w64(&t, lb, (PA2 + 0x100000) | RW);
    /* a DSI of an unrelated domain changes nothing */
    IOTLB_DSI(&t, 3);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SB, IOVA_A, PA1 + 0x100000);
    IOTLB_DSI(&t, 1);
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    th_clear_logs(&t);
    EXPECT_PA(&t, SB, IOVA_A, PA1 + 0x100000); /* domain 2 survives */
    assert_true(th_has_diag(&t, VTD_DIAG_STALE_IOTLB));
    IOTLB_DSI(&t, 2);
    EXPECT_PA(&t, SB, IOVA_A, PA2 + 0x100000);
    th_fini(&t);
}

/* Two devices in the same domain share IOTLB entries' fate. */
static void test_iotlb_domain_shared_by_devices(void **state)
{
    struct th t;
    uint64_t root, leaf;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, SA, 4);
    th_set_ctx(&t, SC, th_ctx_lo(root, 0, false), th_ctx_hi(2, 4));
    leaf = map4k(&t, root, IOVA_A, PA1);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SC, IOVA_A, PA1);
    th_w64(&t, leaf, PA2 | RW);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SC, IOVA_A, PA1);
    IOTLB_DSI(&t, 4);
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    EXPECT_PA(&t, SC, IOVA_A, PA2);
    th_fini(&t);
}

/* Page-selective, AM=0: that page only, that domain only. */
static void test_iotlb_psi_am0(void **state)
{
    struct th t;
    uint64_t ra, rb, leaf[4], lb;
    (void)state;
    th_init(&t, NULL);
    ra = dom(&t, SA, 1);
    rb = dom(&t, SB, 2);
    for (int i = 0; i < 4; i++)
        leaf[i] = map4k(&t, ra, IOVA_A + i * SZ_4K, PA1 + i * SZ_4K);
    lb = map4k(&t, rb, IOVA_A + SZ_4K, PA1 + 0x100000);
    th_enable(&t);
    for (int i = 0; i < 4; i++)
        EXPECT_PA(&t, SA, IOVA_A + i * SZ_4K, PA1 + i * SZ_4K);
    EXPECT_PA(&t, SB, IOVA_A + SZ_4K, PA1 + 0x100000);
    for (int i = 0; i < 4; i++)
        th_w64(&t, leaf[i], (PA2 + i * SZ_4K) | RW);
    th_w64(&t, lb, (PA2 + 0x100000) | RW);
    /* same address, other domain: domain 1 keeps it */
    IOTLB_PSI(&t, 2, IOVA_A + SZ_4K, 0, false);
    EXPECT_PA(&t, SB, IOVA_A + SZ_4K, PA2 + 0x100000);
    EXPECT_PA(&t, SA, IOVA_A + SZ_4K, PA1 + SZ_4K);
    IOTLB_PSI(&t, 1, IOVA_A + SZ_4K, 0, false);
    EXPECT_PA(&t, SA, IOVA_A + 0 * SZ_4K, PA1 + 0 * SZ_4K);
    EXPECT_PA(&t, SA, IOVA_A + 1 * SZ_4K, PA2 + 1 * SZ_4K);
    EXPECT_PA(&t, SA, IOVA_A + 2 * SZ_4K, PA1 + 2 * SZ_4K);
    EXPECT_PA(&t, SA, IOVA_A + 3 * SZ_4K, PA1 + 3 * SZ_4K);
    th_fini(&t);
}

/* Page-selective, AM>0: [ADDR, ADDR + 2^AM pages). */
static void test_iotlb_psi_am(void **state)
{
    static const unsigned ams[] = {1, 2, 3, 9, 18};
    (void)state;
    for (size_t k = 0; k < sizeof(ams) / sizeof(ams[0]); k++) {
        struct th t;
        unsigned am = ams[k];
        uint64_t npages = 1ULL << am, base = 0x40000000ULL * 4; /* aligned to any AM <= 18 */
        /* probe pages: 2 below, first, (middle), last, 2 above */
        uint64_t probes[7], leaf[7], root;
        bool inside[7];
        int n = 0;
        probes[n] = base - 2 * SZ_4K, inside[n++] = false;
        probes[n] = base - SZ_4K, inside[n++] = false;
        probes[n] = base, inside[n++] = true;
        if (npages > 2)
            probes[n] = base + (npages / 2) * SZ_4K, inside[n++] = true;
        probes[n] = base + (npages - 1) * SZ_4K, inside[n++] = true;
        probes[n] = base + npages * SZ_4K, inside[n++] = false;
        probes[n] = base + (npages + 1) * SZ_4K, inside[n++] = false;
        print_message("AM=%u\n", am);
        th_init(&t, NULL);
        root = dom(&t, SA, 1);
        for (int i = 0; i < n; i++)
            leaf[i] = map4k(&t, root, probes[i], PA1 + (uint64_t)i * SZ_4K);
        th_enable(&t);
        for (int i = 0; i < n; i++)
            EXPECT_PA(&t, SA, probes[i], PA1 + (uint64_t)i * SZ_4K);
        for (int i = 0; i < n; i++)
            th_w64(&t, leaf[i], (PA2 + (uint64_t)i * SZ_4K) | RW);
        th_clear_logs(&t);
        IOTLB_PSI(&t, 1, base, am, false);
        assert_false(th_has_diag(&t, VTD_DIAG_IOTLB_ADDR_ALIGN));
        for (int i = 0; i < n; i++)
            EXPECT_PA(&t, SA, probes[i], (inside[i] ? PA2 : PA1) + (uint64_t)i * SZ_4K);
        th_fini(&t);
    }
}

/* Page-selective on a busy IOTLB (256 pages cached): a range of 32 pages
 * (fewer than the sets in use: the sets its pages name are visited) and one
 * of 512 (more: the sets in use are visited) drop exactly their pages; the
 * others stay stale. */
static void test_iotlb_psi_busy(void **state)
{
    (void)state;
    struct th t;
    const uint64_t base = 0x40000000ULL * 4, n = 256;
    static uint64_t leaf[256];
    th_init(&t, NULL);
    uint64_t root = dom(&t, SA, 1);
    for (uint64_t i = 0; i < n; i++)
        leaf[i] = map4k(&t, root, base + i * SZ_4K, PA1 + i * SZ_4K);
    th_enable(&t);
    for (uint64_t i = 0; i < n; i++)
        EXPECT_PA(&t, SA, base + i * SZ_4K, PA1 + i * SZ_4K);
    for (uint64_t i = 0; i < n; i++)
        th_w64(&t, leaf[i], (PA2 + i * SZ_4K) | RW);
    th_clear_logs(&t);
    /* pages 64..95 */
    IOTLB_PSI(&t, 1, base + 64 * SZ_4K, 5, false);
    for (uint64_t i = 0; i < n; i++)
        EXPECT_PA(&t, SA, base + i * SZ_4K, (i >= 64 && i < 96 ? PA2 : PA1) + i * SZ_4K);
    /* pages 0..511: all of them */
    IOTLB_PSI(&t, 1, base, 9, false);
    for (uint64_t i = 0; i < n; i++)
        EXPECT_PA(&t, SA, base + i * SZ_4K, PA2 + i * SZ_4K);
    th_fini(&t);
}

/* ADDR bits below 2^AM pages are ignored (diag): the aligned range goes. */
static void test_iotlb_psi_addr_unaligned(void **state)
{
    struct th t;
    uint64_t root, leaf[6], base = 0x40000000ULL;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, SA, 1);
    for (int i = 0; i < 6; i++) /* pages base-1 .. base+4 */
        leaf[i] = map4k(&t, root, base + (uint64_t)(i - 1) * SZ_4K, PA1 + (uint64_t)i * SZ_4K);
    th_enable(&t);
    for (int i = 0; i < 6; i++)
        EXPECT_PA(&t, SA, base + (uint64_t)(i - 1) * SZ_4K, PA1 + (uint64_t)i * SZ_4K);
    for (int i = 0; i < 6; i++)
        th_w64(&t, leaf[i], (PA2 + (uint64_t)i * SZ_4K) | RW);
    th_clear_logs(&t);
    IOTLB_PSI(&t, 1, base + 3 * SZ_4K, 2, false); /* names [base, base + 4 pages) */
    assert_true(th_has_diag(&t, VTD_DIAG_IOTLB_ADDR_ALIGN));
    for (int i = 0; i < 6; i++) {
        bool inside = i >= 1 && i <= 4;
        EXPECT_PA(&t, SA, base + (uint64_t)(i - 1) * SZ_4K, (inside ? PA2 : PA1) + (uint64_t)i * SZ_4K);
    }
    th_fini(&t);
}

/* A superpage entry goes when a PSI names an address inside it. */
static void test_iotlb_psi_superpage(void **state)
{
    static const uint64_t pages[] = {SZ_2M, SZ_1G};
    (void)state;
    for (int p = 0; p < 2; p++) {
        struct th t;
        uint64_t page = pages[p], iova = 4 * SZ_1G, root, leaf;
        print_message("page 0x%llx\n", (unsigned long long)page);
        th_init(&t, NULL);
        root = dom(&t, SA, 1);
        leaf = th_map(&t, root, 4, iova, 8 * SZ_1G, page, page, RW);
        th_map(&t, root, 4, iova + page, 12 * SZ_1G, page, page, RW); /* neighbour */
        th_enable(&t);
        EXPECT_PA(&t, SA, iova + 0x1234, 8 * SZ_1G + 0x1234);
        EXPECT_PA(&t, SA, iova + page - SZ_4K, 8 * SZ_1G + page - SZ_4K);
        th_w64(&t, leaf, (16 * SZ_1G) | RW | VTD_SL_PS);
        EXPECT_PA(&t, SA, iova + 0x1234, 8 * SZ_1G + 0x1234);
        /* PSI of the neighbouring superpage and of a page below: no effect */
        IOTLB_PSI(&t, 1, iova + page, 0, false);
        IOTLB_PSI(&t, 1, iova - SZ_4K, 0, false);
        EXPECT_PA(&t, SA, iova + 0x1234, 8 * SZ_1G + 0x1234);
        /* a 4 KiB page deep inside the superpage */
        IOTLB_PSI(&t, 1, iova + page / 2 + 5 * SZ_4K, 0, false);
        EXPECT_PA(&t, SA, iova + 0x1234, 16 * SZ_1G + 0x1234);
        EXPECT_PA(&t, SA, iova + page - SZ_4K, 16 * SZ_1G + page - SZ_4K);
        th_fini(&t);
    }
}

/* Two pages A and B under the same PDE; the PDE is then pointed at a new
 * page table mapping both elsewhere. */
struct pde_fix {
    uint64_t root, pde, a, b, pa_a1, pa_b1, pa_a2, pa_b2;
};

static void pde_setup(struct th *t, struct pde_fix *f, const struct vtd_config *cfg)
{
    uint64_t pt2;
    th_init(t, cfg);
    f->root = dom(t, SA, 1);
    f->a = 0x40200000ULL;
    f->b = f->a + 7 * SZ_4K;
    f->pa_a1 = PA1;
    f->pa_b1 = PA1 + 0x10000;
    f->pa_a2 = PA2;
    f->pa_b2 = PA2 + 0x10000;
    map4k(t, f->root, f->a, f->pa_a1);
    map4k(t, f->root, f->b, f->pa_b1);
    th_enable(t);
    EXPECT_PA(t, SA, f->a, f->pa_a1); /* A in the IOTLB, the PDE in the PWC */
    pt2 = th_alloc_page(t);
    th_w64(t, pt2 + ((f->a >> 12) & 0x1FF) * 8, f->pa_a2 | RW);
    th_w64(t, pt2 + ((f->b >> 12) & 0x1FF) * 8, f->pa_b2 | RW);
    f->pde = th_pte_addr(t, f->root, 4, f->a, 2);
    assert_int_equal(f->pde, th_pte_addr(t, f->root, 4, f->b, 2));
    th_w64(t, f->pde, pt2 | RW);
}

/* Without invalidation, a page never translated before still walks the old
 * PDE from the paging-structure cache. */
static void test_pwc_stale_without_invalidation(void **state)
{
    struct th t;
    struct pde_fix f;
    (void)state;
    pde_setup(&t, &f, NULL);
    EXPECT_PA(&t, SA, f.b, f.pa_b1);
    EXPECT_PA(&t, SA, f.a, f.pa_a1);
    IOTLB_DSI(&t, 1); /* domain-selective clears the PWC too */
    EXPECT_PA(&t, SA, f.a, f.pa_a2);
    EXPECT_PA(&t, SA, f.b + 0x10, f.pa_b2 + 0x10);
    th_fini(&t);
}

/* PSI with IH=1 drops the leaf but keeps the paging-structure entries. */
static void test_iotlb_psi_ih1_keeps_pwc(void **state)
{
    struct th t;
    struct pde_fix f;
    (void)state;
    pde_setup(&t, &f, NULL);
    IOTLB_PSI(&t, 1, f.a, 0, true);
    /* B was never in the IOTLB: its walk starts from the cached PDE */
    EXPECT_PA(&t, SA, f.b, f.pa_b1);
    /* A was refetched, also through the cached PDE (old page table) */
    EXPECT_PA(&t, SA, f.a, f.pa_a1);
    /* IH=0 drops the PDE entry too */
    IOTLB_PSI(&t, 1, f.a, 0, false);
    EXPECT_PA(&t, SA, f.a, f.pa_a2);
    th_fini(&t);
}

/* PSI with IH=0 drops the paging-structure entries above the page. */
static void test_iotlb_psi_ih0_drops_pwc(void **state)
{
    struct th t;
    struct pde_fix f;
    (void)state;
    pde_setup(&t, &f, NULL);
    IOTLB_PSI(&t, 1, f.a, 0, false);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, f.b, f.pa_b2);
    EXPECT_PA(&t, SA, f.a, f.pa_a2);
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_IOTLB));
    th_fini(&t);
}

/* Global invalidation also clears the paging-structure cache. */
static void test_iotlb_global_drops_pwc(void **state)
{
    struct th t;
    struct pde_fix f;
    (void)state;
    pde_setup(&t, &f, NULL);
    IOTLB_GLOBAL(&t);
    EXPECT_PA(&t, SA, f.b, f.pa_b2);
    th_fini(&t);
}

/* Reserved granularity, AM above MAMV, PSI without CAP.PSI. */
static void test_iotlb_granularity_fallbacks(void **state)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    uint64_t root, la, lb;
    (void)state;
    /* IIRG=00: rejected (IAIG=00), nothing invalidated */
    th_init(&t, NULL);
    root = dom(&t, SA, 1);
    la = map4k(&t, root, IOVA_A, PA1);
    lb = map4k(&t, root, IOVA_A + SZ_1G, PA1 + SZ_4K);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SA, IOVA_A + SZ_1G, PA1 + SZ_4K);
    th_w64(&t, la, PA2 | RW);
    th_w64(&t, lb, (PA2 + SZ_4K) | RW);
    th_clear_logs(&t);
    assert_int_equal(iotlb_inv(&t, 0, 1, 0, 0, false), 0);
    assert_true(th_has_diag(&t, VTD_DIAG_IOTLB_GRANULARITY));
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    /* AM above MAMV (18): rejected (IAIG=00), nothing invalidated */
    th_clear_logs(&t);
    assert_int_equal(iotlb_inv(&t, VTD_IOTLB_PAGE, 1, 0, 19, false), 0);
    assert_true(th_has_diag(&t, VTD_DIAG_IOTLB_AM));
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SA, IOVA_A + SZ_1G, PA1 + SZ_4K);
    /* AM = MAMV works */
    IOTLB_PSI(&t, 1, 0, 18, false); /* [0, 1 GiB): IOVA_A only */
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    EXPECT_PA(&t, SA, IOVA_A + SZ_1G, PA1 + SZ_4K);
    th_fini(&t);

    /* no CAP.PSI: page-selective performed domain-selectively */
    cfg.cap &= ~VTD_CAP_PSI;
    th_init(&t, &cfg);
    root = dom(&t, SA, 1);
    la = map4k(&t, root, IOVA_A, PA1);
    lb = map4k(&t, root, IOVA_A + SZ_1G, PA1 + SZ_4K);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SA, IOVA_A + SZ_1G, PA1 + SZ_4K);
    th_w64(&t, la, PA2 | RW);
    th_w64(&t, lb, (PA2 + SZ_4K) | RW);
    th_clear_logs(&t);
    assert_int_equal(iotlb_inv(&t, VTD_IOTLB_PAGE, 1, IOVA_A, 0, false), VTD_IOTLB_DOMAIN);
    assert_true(th_has_diag(&t, VTD_DIAG_IOTLB_PSI_UNSUPPORTED));
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    EXPECT_PA(&t, SA, IOVA_A + SZ_1G, PA2 + SZ_4K);
    th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* Context cache                                                       */
/* ------------------------------------------------------------------ */

/* New DID and table: old context used until CCMD; then the new domain. */
static void test_ctx_stale_did_until_ccmd(void **state)
{
    struct th t;
    uint64_t r1, r2;
    (void)state;
    th_init(&t, NULL);
    r1 = dom(&t, SA, 1);
    map4k(&t, r1, IOVA_A, PA1);
    map4k(&t, r1, IOVA_A + SZ_4K, PA1 + SZ_4K);
    r2 = th_alloc_page(&t);
    map4k(&t, r2, IOVA_A, PA2);
    map4k(&t, r2, IOVA_A + SZ_4K, PA2 + SZ_4K);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    th_set_ctx(&t, SA, th_ctx_lo(r2, 0, false), th_ctx_hi(2, 2));
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    /* a page not in the IOTLB is walked from the cached context's table */
    EXPECT_PA(&t, SA, IOVA_A + SZ_4K, PA1 + SZ_4K);
    assert_true(th_has_diag(&t, VTD_DIAG_STALE_CONTEXT));
    CC_GLOBAL(&t);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA2); /* DID 2: no IOTLB entry */
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_CONTEXT));
    th_fini(&t);
}

/* P cleared: still translates until CCMD, then 2h. */
static void test_ctx_stale_not_present(void **state)
{
    struct th t;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, SA, 1);
    map4k(&t, root, IOVA_A, PA1);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    set_ctx_present(&t, SA, false);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    assert_true(th_has_diag(&t, VTD_DIAG_STALE_CONTEXT));
    CC_GLOBAL(&t);
    EXPECT_FAULT(&t, SA, IOVA_A, VTD_FR_CTX_NOT_PRESENT);
    th_fini(&t);
}

/* Same DID, new SLPTPTR: CCMD alone leaves the IOTLB entries (tagged by
 * DID) in place; the IOTLB invalidation that must follow removes them. */
static void test_ctx_inval_does_not_touch_iotlb(void **state)
{
    struct th t;
    uint64_t r1, r2;
    (void)state;
    th_init(&t, NULL);
    r1 = dom(&t, SA, 1);
    map4k(&t, r1, IOVA_A, PA1);
    r2 = th_alloc_page(&t);
    map4k(&t, r2, IOVA_A, PA2);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    th_set_ctx(&t, SA, th_ctx_lo(r2, 0, false), th_ctx_hi(2, 1));
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    CC_GLOBAL(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    IOTLB_DSI(&t, 1);
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    th_fini(&t);
}

/* Domain-selective: entries tagged with that (old) DID only. */
static void test_ctx_domain_selective(void **state)
{
    struct th t;
    uint64_t ra, rb, ra2;
    (void)state;
    th_init(&t, NULL);
    ra = dom(&t, SA, 1);
    rb = dom(&t, SB, 2);
    map4k(&t, ra, IOVA_A, PA1);
    map4k(&t, rb, IOVA_A, PA1 + SZ_4K);
    ra2 = th_alloc_page(&t);
    map4k(&t, ra2, IOVA_A, PA2);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SB, IOVA_A, PA1 + SZ_4K);
    /* SA moves to DID 5 with another table; SB is cleared */
    th_set_ctx(&t, SA, th_ctx_lo(ra2, 0, false), th_ctx_hi(2, 5));
    set_ctx_present(&t, SB, false);
    CC_DOMAIN(&t, 5); /* the new DID: the cached entry has DID 1 */
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SB, IOVA_A, PA1 + SZ_4K);
    CC_DOMAIN(&t, 1);
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    EXPECT_PA(&t, SB, IOVA_A, PA1 + SZ_4K); /* DID 2 kept */
    CC_DOMAIN(&t, 2);
    EXPECT_FAULT(&t, SB, IOVA_A, VTD_FR_CTX_NOT_PRESENT);
    th_fini(&t);
}

/* Device-selective with each function mask: FM=1 masks function bit 2,
 * FM=2 bits 2:1, FM=3 bits 2:0 (the SID's low three bits). */
static void test_ctx_device_selective_fm(void **state)
{
    static const unsigned fmask[4] = {0, 4, 6, 7};
    (void)state;
    for (unsigned fm = 0; fm < 4; fm++) {
        struct th t;
        uint64_t root;
        uint16_t others[2] = {SID(0, 3, 5), SID(1, 2, 5)};
        print_message("FM=%u\n", fm);
        th_init(&t, NULL);
        root = th_alloc_page(&t);
        map4k(&t, root, IOVA_A, PA1);
        for (unsigned f = 0; f < 8; f++)
            th_set_ctx(&t, SID(0, 2, f), th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
        for (int i = 0; i < 2; i++)
            th_set_ctx(&t, others[i], th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
        th_enable(&t);
        for (unsigned f = 0; f < 8; f++)
            EXPECT_PA(&t, SID(0, 2, f), IOVA_A, PA1);
        for (int i = 0; i < 2; i++)
            EXPECT_PA(&t, others[i], IOVA_A, PA1);
        for (unsigned f = 0; f < 8; f++)
            set_ctx_present(&t, SID(0, 2, f), false);
        for (int i = 0; i < 2; i++)
            set_ctx_present(&t, others[i], false);
        CC_DEVICE(&t, 1, SID(0, 2, 5), fm);
        for (unsigned f = 0; f < 8; f++) {
            bool hit = (f & ~fmask[fm] & 7) == (5 & ~fmask[fm] & 7);
            print_message("  function %u %s\n", f, hit ? "invalidated" : "kept");
            if (hit)
                EXPECT_FAULT(&t, SID(0, 2, f), IOVA_A, VTD_FR_CTX_NOT_PRESENT);
            else
                EXPECT_PA(&t, SID(0, 2, f), IOVA_A, PA1);
        }
        for (int i = 0; i < 2; i++)
            EXPECT_PA(&t, others[i], IOVA_A, PA1);
        th_fini(&t);
    }
}

/* CIRG=00 is rejected and invalidates nothing. */
static void test_ctx_granularity_reserved(void **state)
{
    struct th t;
    uint64_t root;
    (void)state;
    th_init(&t, NULL);
    root = dom(&t, SA, 1);
    map4k(&t, root, IOVA_A, PA1);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    set_ctx_present(&t, SA, false);
    th_clear_logs(&t);
    assert_int_equal(ccmd(&t, 0, 1, SA, 0), 0);
    assert_true(th_has_diag(&t, VTD_DIAG_CCMD_GRANULARITY));
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    CC_DEVICE(&t, 1, SA, 0);
    EXPECT_FAULT(&t, SA, IOVA_A, VTD_FR_CTX_NOT_PRESENT);
    th_fini(&t);
}

/* SRTP does not invalidate (ESRTPS=0): cached context entries stay. */
static void test_srtp_keeps_context_cache(void **state)
{
    struct th t;
    uint64_t r1, r2, rt2, ct2;
    (void)state;
    th_init(&t, NULL);
    assert_false(th_rd64(&t, VTD_REG_CAP) & VTD_CAP_ESRTPS);
    r1 = dom(&t, SA, 1);
    map4k(&t, r1, IOVA_A, PA1);
    map4k(&t, r1, IOVA_A + SZ_4K, PA1 + SZ_4K);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    /* a second root table: SA in domain 2 with another table */
    rt2 = th_alloc_page(&t);
    ct2 = th_alloc_page(&t);
    r2 = th_alloc_page(&t);
    map4k(&t, r2, IOVA_A, PA2);
    map4k(&t, r2, IOVA_A + SZ_4K, PA2 + SZ_4K);
    th_w64(&t, rt2 + (SA >> 8) * 16, ct2 | VTD_ROOT_LO_P);
    th_w64(&t, ct2 + (SA & 0xFF) * 16 + 8, th_ctx_hi(2, 2));
    th_w64(&t, ct2 + (SA & 0xFF) * 16, th_ctx_lo(r2, 0, false));
    th_wr64(&t, VTD_REG_RTADDR, rt2);
    th_wr32(&t, VTD_REG_GCMD, (uint32_t)(VTD_GCMD_TE | VTD_GCMD_SRTP));
    assert_true(th_rd32(&t, VTD_REG_GSTS) & VTD_GSTS_RTPS);
    assert_true(th_rd32(&t, VTD_REG_GSTS) & VTD_GSTS_TES);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SA, IOVA_A + SZ_4K, PA1 + SZ_4K); /* walked via the cached context */
    CC_GLOBAL(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* Caching mode                                                        */
/* ------------------------------------------------------------------ */

static void test_cm1_not_present_leaf_cached(void **state)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    uint64_t root, b, a;
    (void)state;
    cfg.cap |= VTD_CAP_CM;
    th_init(&t, &cfg);
    assert_true(th_rd64(&t, VTD_REG_CAP) & VTD_CAP_CM);
    root = dom(&t, SA, 1);
    b = IOVA_A;
    a = IOVA_A + SZ_4K;
    map4k(&t, root, b, PA1); /* tables exist, A's PTE is zero */
    th_enable(&t);
    EXPECT_FAULT(&t, SA, a, VTD_FR_NO_READ);
    map4k(&t, root, a, PA2);
    th_clear_logs(&t);
    EXPECT_FAULT(&t, SA, a, VTD_FR_NO_READ);
    assert_true(th_has_diag(&t, VTD_DIAG_STALE_NEGATIVE));
    /* a PSI of another page leaves it */
    IOTLB_PSI(&t, 1, b, 0, false);
    EXPECT_FAULT(&t, SA, a, VTD_FR_NO_READ);
    IOTLB_PSI(&t, 1, a, 0, false);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, a + 0x30, PA2 + 0x30);
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_NEGATIVE));
    th_fini(&t);
}

static void test_cm1_not_present_context_cached(void **state)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    uint64_t root;
    (void)state;
    cfg.cap |= VTD_CAP_CM;
    th_init(&t, &cfg);
    root = dom(&t, SA, 1);
    map4k(&t, root, IOVA_A, PA1);
    set_ctx_present(&t, SA, false);
    th_enable(&t);
    EXPECT_FAULT(&t, SA, IOVA_A, VTD_FR_CTX_NOT_PRESENT);
    set_ctx_present(&t, SA, true);
    EXPECT_FAULT(&t, SA, IOVA_A, VTD_FR_CTX_NOT_PRESENT);
    CC_GLOBAL(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    th_fini(&t);
}

static void test_cm0_not_present_never_cached(void **state)
{
    struct th t;
    uint64_t root, a = IOVA_A + SZ_4K;
    (void)state;
    th_init(&t, NULL);
    assert_false(th_rd64(&t, VTD_REG_CAP) & VTD_CAP_CM);
    root = dom(&t, SA, 1);
    map4k(&t, root, IOVA_A, PA1);
    set_ctx_present(&t, SB, false); /* nothing: SB has no entry yet */
    th_enable(&t);
    EXPECT_FAULT(&t, SA, a, VTD_FR_NO_READ);
    map4k(&t, root, a, PA2);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, a, PA2);
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_NEGATIVE));
    /* a not-present context entry is not cached either */
    EXPECT_FAULT(&t, SB, IOVA_A, VTD_FR_CTX_NOT_PRESENT);
    th_set_ctx(&t, SB, th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
    EXPECT_PA(&t, SB, IOVA_A, PA1);
    assert_int_equal(diag_count(&t, VTD_DIAG_STALE_CONTEXT), 0);
    th_fini(&t);
}

/* ------------------------------------------------------------------ */
/* Geometry and statistics                                             */
/* ------------------------------------------------------------------ */

static void test_geometry_no_iotlb(void **state)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    struct vtd_stats s;
    uint64_t root, leaf;
    (void)state;
    cfg.iotlb_entries = 0;
    th_init(&t, &cfg);
    root = dom(&t, SA, 1);
    leaf = map4k(&t, root, IOVA_A, PA1);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    th_w64(&t, leaf, PA2 | RW);
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    th_w64(&t, leaf, 0);
    EXPECT_FAULT(&t, SA, IOVA_A, VTD_FR_NO_READ);
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_IOTLB));
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.iotlb_hits, 0);
    /* invalidation still completes */
    IOTLB_GLOBAL(&t);
    IOTLB_PSI(&t, 1, IOVA_A, 0, false);
    th_fini(&t);
}

static void test_geometry_no_context_cache(void **state)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    struct vtd_stats s;
    uint64_t root, r2;
    (void)state;
    cfg.context_cache_entries = 0;
    th_init(&t, &cfg);
    root = dom(&t, SA, 1);
    map4k(&t, root, IOVA_A, PA1);
    r2 = th_alloc_page(&t);
    map4k(&t, r2, IOVA_A, PA2);
    th_enable(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    th_set_ctx(&t, SA, th_ctx_lo(r2, 0, false), th_ctx_hi(2, 2));
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    set_ctx_present(&t, SA, false);
    EXPECT_FAULT(&t, SA, IOVA_A, VTD_FR_CTX_NOT_PRESENT);
    assert_false(th_has_diag(&t, VTD_DIAG_STALE_CONTEXT));
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.ctx_hits, 0);
    CC_GLOBAL(&t);
    th_fini(&t);
}

static void test_geometry_no_pwc(void **state)
{
    struct th t;
    struct pde_fix f;
    struct vtd_config cfg = cfg_base();
    struct vtd_stats s;
    (void)state;
    cfg.pwc_entries = 0;
    pde_setup(&t, &f, &cfg);
    EXPECT_PA(&t, SA, f.b, f.pa_b2); /* the new PDE, no invalidation */
    EXPECT_PA(&t, SA, f.a, f.pa_a1); /* the leaf is still in the IOTLB */
    IOTLB_PSI(&t, 1, f.a, 0, true);
    EXPECT_PA(&t, SA, f.a, f.pa_a2);
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.pwc_hits, 0);
    th_fini(&t);
}

static void test_geometry_no_caches(void **state)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    struct vtd_stats s;
    uint64_t root, leaf, r2, pde, pt2;
    (void)state;
    cfg.iotlb_entries = 0;
    cfg.context_cache_entries = 0;
    cfg.pwc_entries = 0;
    th_init(&t, &cfg);
    root = dom(&t, SA, 1);
    leaf = map4k(&t, root, IOVA_A, PA1);
    th_enable(&t);
    for (int i = 0; i < 3; i++)
        EXPECT_PA(&t, SA, IOVA_A, PA1);
    th_w64(&t, leaf, (PA1 + SZ_4K) | RW);
    EXPECT_PA(&t, SA, IOVA_A, PA1 + SZ_4K);
    pde = th_pte_addr(&t, root, 4, IOVA_A, 2);
    pt2 = th_alloc_page(&t);
    th_w64(&t, pt2 + ((IOVA_A >> 12) & 0x1FF) * 8, (PA1 + 2 * SZ_4K) | RW);
    th_w64(&t, pde, pt2 | RW);
    EXPECT_PA(&t, SA, IOVA_A, PA1 + 2 * SZ_4K);
    r2 = th_alloc_page(&t);
    map4k(&t, r2, IOVA_A, PA2);
    th_set_ctx(&t, SA, th_ctx_lo(r2, 0, false), th_ctx_hi(2, 1)); /* same DID */
    th_clear_logs(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA2);
    assert_int_equal(diag_count(&t, VTD_DIAG_STALE_IOTLB) + diag_count(&t, VTD_DIAG_STALE_CONTEXT), 0);
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.iotlb_hits, 0);
    assert_int_equal(s.ctx_hits, 0);
    assert_int_equal(s.pwc_hits, 0);
    th_fini(&t);
}

/* A 4-entry direct-mapped IOTLB keeps at most 4 translations. */
static void test_geometry_small_iotlb_evicts(void **state)
{
    enum { N = 64 };
    struct vtd_config cfg = cfg_base();
    struct th t;
    uint64_t root, leaf[N];
    int old = 0;
    struct vtd_stats s0, s1;
    (void)state;
    cfg.iotlb_entries = 4;
    cfg.iotlb_ways = 1;
    th_init(&t, &cfg);
    root = dom(&t, SA, 1);
    for (int i = 0; i < N; i++)
        leaf[i] = map4k(&t, root, IOVA_A + (uint64_t)i * SZ_4K, PA1 + (uint64_t)i * SZ_4K);
    th_enable(&t);
    for (int i = 0; i < N; i++)
        EXPECT_PA(&t, SA, IOVA_A + (uint64_t)i * SZ_4K, PA1 + (uint64_t)i * SZ_4K);
    for (int i = 0; i < N; i++)
        th_w64(&t, leaf[i], (PA2 + (uint64_t)i * SZ_4K) | RW);
    /* the last one filled is still there */
    EXPECT_PA(&t, SA, IOVA_A + (uint64_t)(N - 1) * SZ_4K, PA1 + (uint64_t)(N - 1) * SZ_4K);
    vtd_get_stats(t.u, &s0);
    for (int i = 0; i < N - 1; i++) {
        struct vtd_result r = th_dma(&t, SA, IOVA_A + (uint64_t)i * SZ_4K, VTD_R);
        assert_int_equal(r.status, VTD_OK);
        if (r.pa == PA1 + (uint64_t)i * SZ_4K)
            old++;
        else
            assert_int_equal(r.pa, PA2 + (uint64_t)i * SZ_4K);
    }
    vtd_get_stats(t.u, &s1);
    print_message("stale after eviction: %d of %d\n", old, N - 1);
    assert_true(old <= 3);
    assert_true(s1.iotlb_misses - s0.iotlb_misses >= N - 1 - 3);
    th_fini(&t);

    /* the default IOTLB holds all 64 */
    th_init(&t, NULL);
    root = dom(&t, SA, 1);
    for (int i = 0; i < N; i++)
        leaf[i] = map4k(&t, root, IOVA_A + (uint64_t)i * SZ_4K, PA1 + (uint64_t)i * SZ_4K);
    th_enable(&t);
    for (int i = 0; i < N; i++)
        EXPECT_PA(&t, SA, IOVA_A + (uint64_t)i * SZ_4K, PA1 + (uint64_t)i * SZ_4K);
    for (int i = 0; i < N; i++)
        th_w64(&t, leaf[i], (PA2 + (uint64_t)i * SZ_4K) | RW);
    for (int i = 0; i < N; i++)
        EXPECT_PA(&t, SA, IOVA_A + (uint64_t)i * SZ_4K, PA1 + (uint64_t)i * SZ_4K);
    th_fini(&t);
}

/* A 4-entry context cache keeps at most 4 devices. */
static void test_geometry_small_context_cache_evicts(void **state)
{
    enum { N = 16 };
    struct vtd_config cfg = cfg_base();
    struct th t;
    uint64_t root;
    int kept = 0;
    (void)state;
    cfg.context_cache_entries = 4;
    th_init(&t, &cfg);
    root = th_alloc_page(&t);
    map4k(&t, root, IOVA_A, PA1);
    for (int i = 0; i < N; i++)
        th_set_ctx(&t, (uint16_t)(0x100 + i), th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
    th_enable(&t);
    for (int i = 0; i < N; i++)
        EXPECT_PA(&t, (uint16_t)(0x100 + i), IOVA_A, PA1);
    for (int i = 0; i < N; i++)
        set_ctx_present(&t, (uint16_t)(0x100 + i), false);
    /* the last device used is still cached */
    EXPECT_PA(&t, (uint16_t)(0x100 + N - 1), IOVA_A, PA1);
    for (int i = 0; i < N - 1; i++) {
        struct vtd_result r = th_dma(&t, (uint16_t)(0x100 + i), IOVA_A, VTD_R);
        if (r.status == VTD_OK)
            kept++;
        else
            assert_int_equal(r.fault_reason, VTD_FR_CTX_NOT_PRESENT);
    }
    print_message("context entries kept: %d of %d\n", kept, N - 1);
    assert_true(kept <= 3);
    th_fini(&t);

    /* default geometry keeps all 16 */
    th_init(&t, NULL);
    root = th_alloc_page(&t);
    map4k(&t, root, IOVA_A, PA1);
    for (int i = 0; i < N; i++)
        th_set_ctx(&t, (uint16_t)(0x100 + i), th_ctx_lo(root, 0, false), th_ctx_hi(2, 1));
    th_enable(&t);
    for (int i = 0; i < N; i++)
        EXPECT_PA(&t, (uint16_t)(0x100 + i), IOVA_A, PA1);
    for (int i = 0; i < N; i++)
        set_ctx_present(&t, (uint16_t)(0x100 + i), false);
    for (int i = 0; i < N; i++)
        EXPECT_PA(&t, (uint16_t)(0x100 + i), IOVA_A, PA1);
    th_fini(&t);
}

static void test_stats_counters(void **state)
{
    struct th t;
    struct vtd_config cfg = cfg_base();
    struct vtd_stats s0, s;
    uint64_t root;
    (void)state;
    cfg.check_stale = false;
    th_init(&t, &cfg);
    root = dom(&t, SA, 1);
    map4k(&t, root, IOVA_A, PA1);
    map4k(&t, root, IOVA_A + SZ_4K, PA1 + SZ_4K);
    th_enable(&t);
    vtd_get_stats(t.u, &s0);
    assert_int_equal(s0.translations, 0);
    assert_int_equal(s0.iotlb_hits + s0.iotlb_misses + s0.ctx_hits + s0.ctx_misses, 0);

    EXPECT_PA(&t, SA, IOVA_A, PA1);
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.translations, 1);
    assert_int_equal(s.iotlb_misses, 1);
    assert_int_equal(s.iotlb_hits, 0);
    assert_int_equal(s.ctx_misses, 1);
    assert_int_equal(s.ctx_hits, 0);
    assert_int_equal(s.walks, 1);

    EXPECT_PA(&t, SA, IOVA_A + 0x80, PA1 + 0x80);
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.translations, 2);
    assert_int_equal(s.iotlb_hits, 1);
    assert_int_equal(s.iotlb_misses, 1);
    assert_int_equal(s.ctx_hits, 1);
    assert_int_equal(s.ctx_misses, 1);
    assert_int_equal(s.walks, 1);

    EXPECT_PA(&t, SA, IOVA_A + SZ_4K, PA1 + SZ_4K);
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.iotlb_misses, 2);
    assert_int_equal(s.ctx_hits, 2);
    assert_int_equal(s.walks, 2);

    IOTLB_GLOBAL(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.iotlb_misses, 3);
    assert_int_equal(s.ctx_hits, 3);
    assert_int_equal(s.ctx_misses, 1);

    CC_GLOBAL(&t);
    EXPECT_PA(&t, SA, IOVA_A, PA1);
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.ctx_misses, 2);
    assert_int_equal(s.iotlb_hits, 2); /* CCMD left the IOTLB */
    assert_int_equal(s.translations, 5);
    assert_int_equal(s.invalidations, 2);
    assert_int_equal(s.faults, 0);

    /* faults are counted */
    EXPECT_FAULT(&t, SA, IOVA_A + 2 * SZ_4K, VTD_FR_NO_READ);
    vtd_get_stats(t.u, &s);
    assert_int_equal(s.faults, 1);
    assert_int_equal(s.faults_recorded, 1);
    th_fini(&t);
}

int main(void)
{
    const struct CMUnitTest iotlb[] = {
        cmocka_unit_test(test_iotlb_stale_remap_until_global),
        cmocka_unit_test(test_iotlb_stale_cleared_leaf),
        cmocka_unit_test(test_iotlb_stale_permission),
        cmocka_unit_test(test_iotlb_stale_without_check),
        cmocka_unit_test(test_iotlb_domain_selective),
        cmocka_unit_test(test_iotlb_domain_shared_by_devices),
        cmocka_unit_test(test_iotlb_psi_am0),
        cmocka_unit_test(test_iotlb_psi_am),
        cmocka_unit_test(test_iotlb_psi_busy),
        cmocka_unit_test(test_iotlb_psi_addr_unaligned),
        cmocka_unit_test(test_iotlb_psi_superpage),
        cmocka_unit_test(test_pwc_stale_without_invalidation),
        cmocka_unit_test(test_iotlb_psi_ih1_keeps_pwc),
        cmocka_unit_test(test_iotlb_psi_ih0_drops_pwc),
        cmocka_unit_test(test_iotlb_global_drops_pwc),
        cmocka_unit_test(test_iotlb_granularity_fallbacks),
    };
    const struct CMUnitTest ctx[] = {
        cmocka_unit_test(test_ctx_stale_did_until_ccmd),
        cmocka_unit_test(test_ctx_stale_not_present),
        cmocka_unit_test(test_ctx_inval_does_not_touch_iotlb),
        cmocka_unit_test(test_ctx_domain_selective),
        cmocka_unit_test(test_ctx_device_selective_fm),
        cmocka_unit_test(test_ctx_granularity_reserved),
        cmocka_unit_test(test_srtp_keeps_context_cache),
    };
    const struct CMUnitTest cm[] = {
        cmocka_unit_test(test_cm1_not_present_leaf_cached),
        cmocka_unit_test(test_cm1_not_present_context_cached),
        cmocka_unit_test(test_cm0_not_present_never_cached),
    };
    const struct CMUnitTest geo[] = {
        cmocka_unit_test(test_geometry_no_iotlb),
        cmocka_unit_test(test_geometry_no_context_cache),
        cmocka_unit_test(test_geometry_no_pwc),
        cmocka_unit_test(test_geometry_no_caches),
        cmocka_unit_test(test_geometry_small_iotlb_evicts),
        cmocka_unit_test(test_geometry_small_context_cache_evicts),
        cmocka_unit_test(test_stats_counters),
    };
    int fails = 0;
    fails += cmocka_run_group_tests_name("cache_iotlb", iotlb, NULL, NULL);
    fails += cmocka_run_group_tests_name("cache_context", ctx, NULL, NULL);
    fails += cmocka_run_group_tests_name("cache_caching_mode", cm, NULL, NULL);
    fails += cmocka_run_group_tests_name("cache_geometry", geo, NULL, NULL);
    return fails ? 1 : 0;
}
