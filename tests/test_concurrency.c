/* Translations on several threads racing MMIO: the contract of vtd.h
 * ("a translation that starts after the invalidation completed never
 * returns the old result"), lock-free cache reads, and fault recording from
 * many threads.  Meant to run under ThreadSanitizer as well. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "fl_tables.h"

#define ROUNDS 3000
#define PAGES 8
#define NTHREADS 2
#define BASE_PA 0x40000000ULL

struct race {
    struct th *t;
    uint64_t root;
    struct flx *sm; /* scalable mode, PGTT 001: FLX_PASID and RID_PASID 0 share the tables */
    _Atomic uint64_t version; /* invalidation for this version has completed */
    _Atomic int stop;
    _Atomic int errors;
    _Atomic uint64_t checked;
};

static uint64_t pa_of(uint64_t version, unsigned page)
{
    return BASE_PA + (version * PAGES + page) * VTD_PAGE_SIZE;
}

/* The request for page (scalable mode: with and without PASID in turn, a
 * write now and then: the leaves have D set, so nothing is written). */
static struct vtd_request race_req(const struct race *r, unsigned page, uint64_t n)
{
    struct vtd_request req = {.sid = SID(0, 1, 0), .access = VTD_R, .addr = page * VTD_PAGE_SIZE + 0x10};
    if (r->sm) {
        req = flx_req(req.addr, n % 5 == 4 ? VTD_W : VTD_R, false);
        req.pasid_valid = n % 3 != 0;
    }
    return req;
}

static void *translator(void *arg)
{
    struct race *r = arg;
    unsigned page = 0;
    for (uint64_t n = 0; !atomic_load(&r->stop); n++) {
        uint64_t v0 = atomic_load(&r->version);
        struct vtd_request req = race_req(r, page, n);
        struct vtd_result res;
        if (vtd_translate(r->t->u, &req, &res) != 0 || res.status != VTD_OK) {
            if (atomic_fetch_add(&r->errors, 1) < 5)
                fprintf(stderr, "page %u: status %d reason 0x%x\n", page, res.status, res.fault_reason);
            continue;
        }
        uint64_t v1 = atomic_load(&r->version);
        uint64_t got = (res.pa - 0x10 - BASE_PA) / VTD_PAGE_SIZE;
        uint64_t ver = got / PAGES;
        /* the newest mapping may be in memory before its invalidation ends */
        if (got % PAGES != page || ver < v0 || ver > v1 + 1) {
            if (atomic_fetch_add(&r->errors, 1) < 5)
                fprintf(stderr, "page %u: got version %llu, valid range [%llu, %llu]\n", page,
                        (unsigned long long)ver, (unsigned long long)v0, (unsigned long long)v1 + 1);
        }
        atomic_fetch_add(&r->checked, 1);
        page = (page + 1) % PAGES;
    }
    return NULL;
}

/* The mutator: remap every page to the next version, invalidate (a mix of
 * granularities), then publish the version. */
static void mutate_sm(struct race *r, uint64_t v)
{
    struct th *t = r->t;
    for (unsigned p = 0; p < PAGES; p++)
        th_w64(t, flx_pte(r->sm, p * VTD_PAGE_SIZE, 1),
               pa_of(v, p) | VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A | VTD_FL_D);
    uint64_t d[4];
    switch (v % 4) {
    case 0:
        for (uint32_t pasid = 0; pasid <= FLX_PASID; pasid += FLX_PASID) {
            sm_desc_piotlb(d, SM_PIOTLB_PASID, FLX_DID, pasid, 0, 0, false);
            sm_qi_submit(t, d);
        }
        break;
    case 1:
        for (uint32_t pasid = 0; pasid <= FLX_PASID; pasid += FLX_PASID) {
            sm_desc_piotlb(d, SM_PIOTLB_PAGE, FLX_DID, pasid, 0, 3, false); /* the 8 pages at 0 */
            sm_qi_submit(t, d);
        }
        break;
    case 2:
        sm_desc_iotlb(d, VTD_IOTLB_DOMAIN, FLX_DID, 0, 0, false);
        sm_qi_submit(t, d);
        break;
    default:
        sm_desc_iotlb(d, VTD_IOTLB_GLOBAL, 0, 0, 0, false);
        sm_qi_submit(t, d);
        break;
    }
    sm_qi_sync(t);
    atomic_store(&r->version, v);
}

static void mutate(struct race *r, uint64_t v)
{
    struct th *t = r->t;
    if (r->sm) {
        mutate_sm(r, v);
        return;
    }
    for (unsigned p = 0; p < PAGES; p++) {
        uint64_t pte = th_pte_addr(t, r->root, 4, p * VTD_PAGE_SIZE, 1);
        th_w64(t, pte, pa_of(v, p) | VTD_SL_R | VTD_SL_W);
    }
    switch (v % 3) {
    case 0:
        th_wr64(t, t->iro + 8, VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_GLOBAL << VTD_IOTLB_IIRG_SHIFT);
        break;
    case 1:
        th_wr64(t, t->iro + 8,
                VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_DOMAIN << VTD_IOTLB_IIRG_SHIFT | 7ULL << VTD_IOTLB_DID_SHIFT);
        break;
    default:
        th_wr64(t, t->iro, 3); /* AM=3: the 8 pages at 0 */
        th_wr64(t, t->iro + 8,
                VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_PAGE << VTD_IOTLB_IIRG_SHIFT | 7ULL << VTD_IOTLB_DID_SHIFT);
        break;
    }
    assert_int_equal(th_rd64(t, t->iro + 8) & VTD_IOTLB_IVT, 0);
    atomic_store(&r->version, v);
}

static void run_race(bool check_stale, bool sm)
{
    struct vtd_config cfg;
    if (sm)
        fl_config(&cfg);
    else
        vtd_config_default(&cfg);
    cfg.check_stale = check_stale;
    struct th *t = malloc(sizeof(*t));
    assert_non_null(t);
    th_init(t, &cfg);
    struct race r = {.t = t};
    struct flx x;
    if (sm) {
        flx_init(&x, t, false, 4);
        sm_set_pe(t, x.dir, 0, x.q); /* RID_PASID 0: the same entry */
        r.sm = &x;
        for (unsigned p = 0; p < PAGES; p++)
            flx_map(&x, p * VTD_PAGE_SIZE, pa_of(0, p), VTD_PAGE_SIZE,
                    VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A | VTD_FL_D);
    } else {
        r.root = th_alloc_page(t);
        for (unsigned p = 0; p < PAGES; p++)
            th_map(t, r.root, 4, p * VTD_PAGE_SIZE, pa_of(0, p), VTD_PAGE_SIZE, VTD_PAGE_SIZE,
                   VTD_SL_R | VTD_SL_W);
        th_set_ctx(t, SID(0, 1, 0), th_ctx_lo(r.root, 0, false), th_ctx_hi(VTD_AW_48, 7));
        th_enable(t);
        th_inval_all(t);
    }

    pthread_t tid[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, translator, &r), 0);
    for (uint64_t v = 1; v <= ROUNDS; v++) {
        /* let the translators run between rounds (bounded wait) */
        uint64_t c0 = atomic_load(&r.checked);
        for (int spin = 0; spin < 100000 && atomic_load(&r.checked) < c0 + 2; spin++)
            sched_yield();
        mutate(&r, v);
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(tid[i], NULL);
    assert_int_equal(atomic_load(&r.errors), 0);
    assert_true(atomic_load(&r.checked) > 0);
    /* after the last invalidation every page gives the last version */
    for (unsigned p = 0; p < PAGES; p++) {
        for (uint64_t n = 0; n < 6; n++) {
            struct vtd_request req = race_req(&r, p, n);
            struct vtd_result res = th_req(t, &req);
            assert_int_equal(res.status, VTD_OK);
            assert_int_equal(res.pa, pa_of(ROUNDS, p) + 0x10);
        }
    }
    th_fini(t);
    free(t);
}

static void test_race_invalidation_fast_path(void **state)
{
    (void)state;
    run_race(false, false);
}

static void test_race_invalidation_stale_checking(void **state)
{
    (void)state;
    run_race(true, false);
}

/* Scalable mode, first level, with and without PASID: P_IOTLB, IOTLB
 * domain-selective and global invalidations racing the front memo. */
static void test_race_invalidation_sm_fast_path(void **state)
{
    (void)state;
    run_race(false, true);
}

static void test_race_invalidation_sm_stale_checking(void **state)
{
    (void)state;
    run_race(true, true);
}

/* Faults from several threads at once: every record written is whole (a SID
 * of one of the faulting devices, the right reason), PPF is set, and the
 * number of records written equals what the results say was recorded. */
struct fault_job {
    struct th *t;
    unsigned dev;
    int recorded;
};

static void *faulter(void *arg)
{
    struct fault_job *j = arg;
    for (int i = 0; i < 2000; i++) {
        struct vtd_request req = {.sid = SID(1, j->dev, 0), .access = VTD_W, .addr = (uint64_t)i << 12};
        struct vtd_result res;
        assert_int_equal(vtd_translate(j->t->u, &req, &res), 0);
        assert_int_equal(res.status, VTD_FAULT);
        assert_int_equal(res.fault_reason, VTD_FR_ROOT_NOT_PRESENT);
        j->recorded += res.fault_recorded;
    }
    return NULL;
}

static void test_concurrent_fault_recording(void **state)
{
    (void)state;
    struct th *t = malloc(sizeof(*t));
    assert_non_null(t);
    th_init(t, NULL);
    th_enable(t);
    struct fault_job jobs[4];
    pthread_t tid[4];
    for (unsigned i = 0; i < 4; i++) {
        jobs[i] = (struct fault_job){.t = t, .dev = i};
        assert_int_equal(pthread_create(&tid[i], NULL, faulter, &jobs[i]), 0);
    }
    int recorded = 0;
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(tid[i], NULL);
        recorded += jobs[i].recorded;
    }
    /* collapsing: one pending record per source-id at most, 4 sources */
    assert_int_equal(recorded, 4);
    unsigned nfr = (unsigned)VTD_FIELD_GET(t->cfg.cap, 47, 40) + 1, seen = 0, mask = 0;
    for (unsigned i = 0; i < nfr; i++) {
        uint64_t lo, hi;
        th_frcd(t, i, &lo, &hi);
        if (!(hi & VTD_FRCD_HI_F))
            continue;
        seen++;
        uint16_t sid = (uint16_t)(hi & 0xFFFF);
        assert_int_equal(sid >> 8, 1);
        mask |= 1u << ((sid >> 3) & 31);
        assert_int_equal(VTD_FIELD_GET(hi, 39, 32), VTD_FR_ROOT_NOT_PRESENT);
    }
    assert_int_equal(seen, 4);
    assert_int_equal(mask, 0xF);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_PPF);
    /* FECTL.IM is 1 after reset: the one event is held until unmasked */
    assert_int_equal(t->nmsi, 0);
    assert_true(th_rd32(t, VTD_REG_FECTL) & VTD_ECTL_IP);
    th_wr32(t, VTD_REG_FECTL, 0);
    assert_int_equal(t->nmsi, 1);
    th_fini(t);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_race_invalidation_fast_path),
        cmocka_unit_test(test_race_invalidation_stale_checking),
        cmocka_unit_test(test_race_invalidation_sm_fast_path),
        cmocka_unit_test(test_race_invalidation_sm_stale_checking),
        cmocka_unit_test(test_concurrent_fault_recording),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
