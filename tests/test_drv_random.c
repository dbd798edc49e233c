/* The driver under long randomized map / unmap sequences against a shadow
 * map (IOVA page -> PA, permission), on legacy units of different
 * capabilities (superpages or not, PSI or not, small MAMV, caching mode,
 * register-based or queued invalidation) and on scalable-mode units
 * (second-level and first-level domains on the RID_PASID entry), strict
 * and deferred domains.
 * After every operation sampled DMAs through the unit (mapped pages, pages
 * just unmapped, never mapped, range boundaries) must reach exactly the
 * shadow's PA with its permission, or fault with the right reason.  A
 * deferred domain's unmapped page may still translate to its old PA until
 * the flush queue is drained; after vtd_drv_flush it must fault.  Every run
 * ends with everything unmapped and checks that the page-table pages came
 * back, and fails on any unit diagnostic (missed invalidations, stale cache
 * use).  Seeds are fixed; a failure prints seed, configuration and step. */
#include "drv_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define SPACE (64 * MiB)            /* IOVA window exercised */
#define NPAGES (SPACE >> 12)
#define PA_BASE 0x100000000ULL     /* DMA targets (never accessed) */
#define STEPS 2500
#define SAMPLES 10

static const uint16_t DEV = SID(0, 5, 0);

enum { CFG_DEFAULT, CFG_NO_SP, CFG_NO_PSI, CFG_SMALL_MAMV, CFG_CM, CFG_REG, CFG_SM_SL, CFG_SM_FL, CFG_DIRECT, CFG_N };
static const char *const cfg_name[CFG_N] = {"default", "no-superpages", "no-PSI", "MAMV=1", "caching-mode",
                                            "register-invalidation", "scalable second-level",
                                            "scalable first-level", "direct-pointers"};

struct rnd_state {
    uint64_t s;
};
static uint64_t rnd(struct rnd_state *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t rnd_below(struct rnd_state *r, uint64_t n) { return rnd(r) % n; }

struct shadow {
    uint64_t pa[NPAGES];    /* page base, 0: not mapped */
    uint8_t perm[NPAGES];   /* VTD_R / VTD_W */
    uint64_t old_pa[NPAGES]; /* deferred: unmapped, maybe not yet invalidated */
    uint8_t old_perm[NPAGES];
};

struct run {
    struct dh *h;
    struct vtd_drv_domain *dom;
    struct shadow *sh;
    struct rnd_state r;
    uint64_t seed;
    int cfg;
    bool deferred;
    int step;
    const char *op;
};

#define RUN_FAIL(ru, ...)                                                                                    \
    do {                                                                                                     \
        char m_[256];                                                                                        \
        snprintf(m_, sizeof(m_), __VA_ARGS__);                                                               \
        fail_msg("seed 0x%llx cfg %s %s step %d (%s): %s", (unsigned long long)(ru)->seed, cfg_name[(ru)->cfg], \
                 (ru)->deferred ? "deferred" : "strict", (ru)->step, (ru)->op, m_);                          \
    } while (0)

static void check_result(struct run *ru, uint64_t page, uint8_t acc, uint64_t iova, uint64_t off,
                         const struct vtd_result *r);

static void check_page(struct run *ru, uint64_t page, uint8_t acc)
{
    uint64_t off = rnd_below(&ru->r, 4096) & ~7ULL;
    uint64_t iova = (page << 12) + off;
    int ndiag = ru->h->t.ndiag;
    struct vtd_result res = dh_dma(ru->h, DEV, iova, acc);
    struct shadow *sh = ru->sh;
    check_result(ru, page, acc, iova, off, &res);
    if (ru->deferred && page < NPAGES && (sh->pa[page] || sh->old_pa[page]) && ru->h->t.ndiag > ndiag) {
        /* deferred: until the flush, the unit may still hold the old
         * translation of a pending unmap, and the superpage entry a partial
         * unmap split (the pages still mapped keep their PA and permission,
         * only the cached page size is larger).  Its stale-hit check reports
         * those uses; the result was checked against the shadow above, so
         * accept exactly those reports, for this address. */
        for (int i = ndiag; i < ru->h->t.ndiag && i < TH_MAX_LOG; i++)
            if (ru->h->t.diag[i].code != VTD_DIAG_STALE_IOTLB || ru->h->t.diag[i].addr != iova)
                RUN_FAIL(ru, "DMA to 0x%llx: diag %d: %s", (unsigned long long)iova, ru->h->t.diag[i].code,
                         ru->h->t.diag[i].msg);
        if (ru->h->t.ndiag > TH_MAX_LOG)
            RUN_FAIL(ru, "diag log overflow");
        ru->h->t.ndiag = ndiag;
    }
}

static void check_result(struct run *ru, uint64_t page, uint8_t acc, uint64_t iova, uint64_t off,
                         const struct vtd_result *r)
{
    struct vtd_result res = *r;
    struct shadow *sh = ru->sh;
    if (page < NPAGES && sh->pa[page]) {
        if (sh->perm[page] & acc) {
            if (res.status != VTD_OK || res.pa != sh->pa[page] + off || res.perm != sh->perm[page])
                RUN_FAIL(ru, "%s 0x%llx: status %d fault 0x%x pa 0x%llx, expected pa 0x%llx", acc == VTD_R ? "read" : "write",
                         (unsigned long long)iova, res.status, res.fault_reason, (unsigned long long)res.pa,
                         (unsigned long long)(sh->pa[page] + off));
            return;
        }
    } else if (page < NPAGES && sh->old_pa[page] && res.status == VTD_OK) {
        /* deferred: the old translation may still be cached until the flush */
        if (!(sh->old_perm[page] & acc) || res.pa != sh->old_pa[page] + off)
            RUN_FAIL(ru, "0x%llx pending unmap translated to 0x%llx, old pa 0x%llx", (unsigned long long)iova,
                     (unsigned long long)res.pa, (unsigned long long)(sh->old_pa[page] + off));
        return;
    }
    /* legacy: a missing permission and a not-present entry are both 5h / 6h;
     * scalable second level: 86h / 85h when the leaf lacks the one asked
     * for, 79h when nothing is mapped; first level: 71h not present, 85h a
     * write to a read-only page */
    const bool mapped = page < NPAGES && sh->pa[page];
    uint8_t want = acc == VTD_R ? VTD_FR_NO_READ : VTD_FR_NO_WRITE;
    if (ru->cfg == CFG_SM_SL)
        want = !mapped ? VTD_FR_SM_SL_PERM : acc == VTD_R ? VTD_FR_SM_NO_READ : VTD_FR_SM_NO_WRITE;
    else if (ru->cfg == CFG_SM_FL)
        want = !mapped ? VTD_FR_SM_FL_NOT_PRESENT : VTD_FR_SM_NO_WRITE;
    /* scalable mode, deferred: the old translation of a pending unmap may
     * still be cached and lack the permission asked for */
    uint8_t stale = want;
    if (!mapped && page < NPAGES && sh->old_pa[page] && !(sh->old_perm[page] & acc))
        stale = ru->cfg == CFG_SM_SL && acc == VTD_R ? VTD_FR_SM_NO_READ
                : ru->cfg == CFG_SM_SL || ru->cfg == CFG_SM_FL ? VTD_FR_SM_NO_WRITE
                                                                : want;
    if (res.status != VTD_FAULT || (res.fault_reason != want && res.fault_reason != stale))
        RUN_FAIL(ru, "%s 0x%llx: status %d fault 0x%x pa 0x%llx, expected fault 0x%x",
                 acc == VTD_R ? "read" : "write", (unsigned long long)iova, res.status, res.fault_reason,
                 (unsigned long long)res.pa, want);
}

static void check_around(struct run *ru, uint64_t first, uint64_t n)
{
    uint64_t cand[6] = {first, first + n - 1, first + n, first ? first - 1 : 0, first + rnd_below(&ru->r, n),
                        rnd_below(&ru->r, NPAGES + 16)};
    for (unsigned i = 0; i < 6; i++)
        check_page(ru, cand[i], rnd(&ru->r) & 1 ? VTD_R : VTD_W);
    for (unsigned i = 0; i < SAMPLES - 6; i++)
        check_page(ru, rnd_below(&ru->r, NPAGES), rnd(&ru->r) & 1 ? VTD_R : VTD_W);
    /* drain fault records so the unit keeps recording */
    if (vtd_drv_fault_poll(ru->h->drv) < 0)
        RUN_FAIL(ru, "fault_poll failed");
    ru->h->nfault = 0;
    dh_no_diag(ru->h);
}

static void explicit_flush(struct run *ru)
{
    ru->op = "flush";
    int rc = vtd_drv_flush(ru->dom);
    if (rc)
        RUN_FAIL(ru, "vtd_drv_flush: %d", rc);
    if (vtd_drv_flush_pending(ru->dom))
        RUN_FAIL(ru, "%u unmaps still pending after flush", vtd_drv_flush_pending(ru->dom));
    /* every pending page now faults */
    struct shadow *sh = ru->sh;
    for (uint64_t p = 0; p < NPAGES; p++) {
        if (sh->old_pa[p] && !sh->pa[p]) {
            sh->old_pa[p] = 0;
            if ((p & 7) == 0)
                check_page(ru, p, sh->old_perm[p] & VTD_R ? VTD_R : VTD_W);
        }
        sh->old_pa[p] = 0;
    }
}

static void do_map(struct run *ru)
{
    struct shadow *sh = ru->sh;
    uint64_t first, n, pa;
    int kind = (int)rnd_below(&ru->r, 3);
    if (kind == 0) { /* a few 4 KiB pages */
        n = 1 + rnd_below(&ru->r, 4);
        first = rnd_below(&ru->r, NPAGES - n);
        pa = PA_BASE + (rnd_below(&ru->r, 1 << 20) << 12);
        ru->op = "map 4K";
    } else if (kind == 1) { /* 2 MiB aligned, 1 or 2 superpages (iova and pa aligned alike) */
        n = 512 * (1 + rnd_below(&ru->r, 2));
        first = rnd_below(&ru->r, NPAGES / 512 - 2) * 512;
        pa = PA_BASE + (rnd_below(&ru->r, 2048) << 21);
        ru->op = "map 2M";
    } else { /* odd size, possibly crossing 2 MiB boundaries with matching alignment */
        n = 1 + rnd_below(&ru->r, 1100);
        first = rnd_below(&ru->r, NPAGES - n);
        pa = PA_BASE + (rnd_below(&ru->r, 2048) << 21) + ((first & 511) << 12);
        if (rnd(&ru->r) & 1)
            pa += 4096 * (1 + rnd_below(&ru->r, 511)); /* misaligned: 4 KiB pages only */
        ru->op = "map odd";
    }
    bool busy = false;
    for (uint64_t p = first; p < first + n; p++)
        busy |= sh->pa[p] != 0;
    static const uint8_t perms[3] = {VTD_R, VTD_R | VTD_W, VTD_W};
    /* first-level pages are always readable: no write-only */
    uint8_t perm = perms[rnd_below(&ru->r, ru->cfg == CFG_SM_FL ? 2 : 3)];
    unsigned prot = (perm & VTD_R ? VTD_DRV_PROT_READ : 0) | (perm & VTD_W ? VTD_DRV_PROT_WRITE : 0);
    int rc = vtd_drv_map(ru->dom, first << 12, pa, n << 12, prot);
    if (busy) {
        if (rc != VTD_DRV_EEXIST)
            RUN_FAIL(ru, "map over a mapping [0x%llx, +0x%llx): %d, expected EEXIST", (unsigned long long)(first << 12),
                     (unsigned long long)(n << 12), rc);
    } else {
        if (rc)
            RUN_FAIL(ru, "map [0x%llx, +0x%llx) -> 0x%llx: %d", (unsigned long long)(first << 12),
                     (unsigned long long)(n << 12), (unsigned long long)pa, rc);
        for (uint64_t p = first; p < first + n; p++) {
            sh->pa[p] = pa + ((p - first) << 12);
            sh->perm[p] = perm;
            sh->old_pa[p] = 0;
        }
    }
    check_around(ru, first, n);
}

static void do_unmap(struct run *ru)
{
    struct shadow *sh = ru->sh;
    uint64_t first, n;
    int kind = (int)rnd_below(&ru->r, 3);
    if (kind == 0) { /* a single page: splits a superpage */
        n = 1;
        first = rnd_below(&ru->r, NPAGES);
        ru->op = "unmap 1";
    } else if (kind == 1) { /* 2 MiB aligned */
        n = 512;
        first = rnd_below(&ru->r, NPAGES / 512) * 512;
        ru->op = "unmap 2M";
    } else {
        n = 1 + rnd_below(&ru->r, 1500);
        first = rnd_below(&ru->r, NPAGES - n);
        ru->op = "unmap odd";
    }
    uint64_t want = 0;
    for (uint64_t p = first; p < first + n; p++)
        want += sh->pa[p] ? 4096 : 0;
    uint64_t got = ~0ULL;
    int rc = vtd_drv_unmap(ru->dom, first << 12, n << 12, &got);
    if (rc)
        RUN_FAIL(ru, "unmap [0x%llx, +0x%llx): %d", (unsigned long long)(first << 12), (unsigned long long)(n << 12), rc);
    if (got != want)
        RUN_FAIL(ru, "unmap [0x%llx, +0x%llx): %llu bytes unmapped, expected %llu", (unsigned long long)(first << 12),
                 (unsigned long long)(n << 12), (unsigned long long)got, (unsigned long long)want);
    for (uint64_t p = first; p < first + n; p++) {
        if (sh->pa[p] && ru->deferred) {
            sh->old_pa[p] = sh->pa[p];
            sh->old_perm[p] = sh->perm[p];
        }
        sh->pa[p] = 0;
    }
    if (!ru->deferred && vtd_drv_flush_pending(ru->dom))
        RUN_FAIL(ru, "strict domain has pending unmaps");
    check_around(ru, first, n);
}

static void configure(int which, struct vtd_config *cfg, struct vtd_drv_config *dcfg)
{
    vtd_config_default(cfg);
    vtd_drv_config_default(dcfg);
    switch (which) {
    case CFG_NO_SP:
        cfg->cap &= ~VTD_CAP_SLLPS_MASK;
        break;
    case CFG_NO_PSI:
        cfg->cap &= ~VTD_CAP_PSI;
        break;
    case CFG_SMALL_MAMV:
        cfg->cap = (cfg->cap & ~VTD_CAP_MAMV_MASK) | (1ULL << VTD_CAP_MAMV_SHIFT);
        break;
    case CFG_CM:
        cfg->cap |= VTD_CAP_CM;
        break;
    case CFG_DIRECT:
        break; /* the default unit; the driver gets ops.mem_ptr (one_run) */
    case CFG_REG:
        cfg->ecap &= ~(VTD_ECAP_QI | VTD_ECAP_IR | VTD_ECAP_EIM | VTD_ECAP_DT);
        cfg->cap &= ~VTD_CAP_PI;
        break;
    case CFG_SM_SL:
    case CFG_SM_FL:
        vtd_config_scalable(cfg);
        dcfg->flags |= VTD_DRV_CFG_SCALABLE;
        break;
    default:
        break;
    }
}

static void one_run(int which, bool deferred, uint64_t seed)
{
    struct vtd_config cfg;
    struct vtd_drv_config dcfg;
    configure(which, &cfg, &dcfg);
    struct dh *h = calloc(1, sizeof(*h));
    struct shadow *sh = calloc(1, sizeof(*sh));
    assert_non_null(h);
    assert_non_null(sh);
    dh_init(h, &cfg, &dcfg);
    h->direct = which == CFG_DIRECT;
    struct run ru = {.h = h, .sh = sh, .seed = seed, .cfg = which, .deferred = deferred, .op = "setup"};
    ru.r.s = seed;
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain_config c;
    vtd_drv_domain_config_default(&c);
    if (which == CFG_SM_FL)
        c.type = VTD_DRV_DOM_FIRST_LEVEL;
    if (deferred) {
        c.flags = VTD_DRV_DOM_DEFERRED;
        c.fq_max_entries = 16;
    }
    assert_int_equal(vtd_drv_domain_create(h->drv, &c, &ru.dom), 0);
    assert_int_equal(vtd_drv_attach(ru.dom, DEV, 0), 0);
    long base_pages = h->pages_live;
    struct vtd_drv_stats st0;
    vtd_drv_stats(h->drv, &st0);

    for (ru.step = 0; ru.step < STEPS; ru.step++) {
        unsigned op = (unsigned)rnd_below(&ru.r, 16);
        if (op < 8)
            do_map(&ru);
        else if (op < 15)
            do_unmap(&ru);
        else if (deferred)
            explicit_flush(&ru);
    }
    /* unmap everything; page tables come back */
    ru.op = "final unmap";
    uint64_t want = 0, got = 0;
    for (uint64_t p = 0; p < NPAGES; p++)
        want += sh->pa[p] ? 4096 : 0;
    if (vtd_drv_unmap(ru.dom, 0, SPACE, &got) || got != want)
        RUN_FAIL(&ru, "final unmap: %llu bytes, expected %llu", (unsigned long long)got, (unsigned long long)want);
    for (uint64_t p = 0; p < NPAGES; p++) {
        if (sh->pa[p] && deferred) {
            sh->old_pa[p] = sh->pa[p];
            sh->old_perm[p] = sh->perm[p];
        }
        sh->pa[p] = 0;
    }
    if (deferred)
        explicit_flush(&ru);
    for (unsigned i = 0; i < 32; i++)
        check_page(&ru, rnd_below(&ru.r, NPAGES), rnd(&ru.r) & 1 ? VTD_R : VTD_W);
    struct vtd_drv_stats st1;
    vtd_drv_stats(h->drv, &st1);
    if (h->pages_live != base_pages)
        RUN_FAIL(&ru, "%ld page-table pages not returned (allocated %llu, freed %llu)", h->pages_live - base_pages,
                 (unsigned long long)(st1.tables_allocated - st0.tables_allocated),
                 (unsigned long long)(st1.tables_freed - st0.tables_freed));
    if (st1.tables_allocated == st0.tables_allocated)
        RUN_FAIL(&ru, "no page table was allocated: the run tested nothing");
    if (which != CFG_NO_SP && st1.superpage_splits == st0.superpage_splits)
        RUN_FAIL(&ru, "no superpage was split");
    if (h->direct != (h->nptr != 0))
        RUN_FAIL(&ru, "ops.mem_ptr used %llu times", (unsigned long long)h->nptr);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    assert_int_equal(vtd_drv_domain_destroy(ru.dom), 0);
    dh_fini(h);
    free(h);
    free(sh);
}

static const uint64_t seeds[] = {0x5eed0001ULL, 0xdecafbadULL, 0x0123456789abcdefULL};

static void run_cfg(int which, bool deferred)
{
    for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        one_run(which, deferred, seeds[i] ^ ((uint64_t)which << 40) ^ ((uint64_t)deferred << 48));
}

#define CASE(name, which)                                                                                    \
    static void name##_strict(void **state)                                                                  \
    {                                                                                                        \
        (void)state;                                                                                         \
        run_cfg(which, false);                                                                               \
    }                                                                                                        \
    static void name##_deferred(void **state)                                                                \
    {                                                                                                        \
        (void)state;                                                                                         \
        run_cfg(which, true);                                                                                \
    }
CASE(dflt, CFG_DEFAULT)
CASE(no_sp, CFG_NO_SP)
CASE(no_psi, CFG_NO_PSI)
CASE(mamv, CFG_SMALL_MAMV)
CASE(cm, CFG_CM)
CASE(reg, CFG_REG)
CASE(sm_sl, CFG_SM_SL)
CASE(sm_fl, CFG_SM_FL)
CASE(direct, CFG_DIRECT)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dflt_strict),   cmocka_unit_test(dflt_deferred), cmocka_unit_test(no_sp_strict),
        cmocka_unit_test(no_sp_deferred), cmocka_unit_test(no_psi_strict), cmocka_unit_test(no_psi_deferred),
        cmocka_unit_test(mamv_strict),   cmocka_unit_test(mamv_deferred), cmocka_unit_test(cm_strict),
        cmocka_unit_test(cm_deferred),   cmocka_unit_test(reg_strict),    cmocka_unit_test(reg_deferred),
        cmocka_unit_test(sm_sl_strict),  cmocka_unit_test(sm_sl_deferred), cmocka_unit_test(sm_fl_strict),
        cmocka_unit_test(sm_fl_deferred), cmocka_unit_test(direct_strict), cmocka_unit_test(direct_deferred),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
