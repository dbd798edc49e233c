/* ATS end to end: an endpoint with a device-TLB (src/ats) asks the unit for
 * translations, caches them, uses translated requests; the driver unmaps,
 * invalidates the IOTLB and the device-TLB through the invalidation queue;
 * the device refetches and faults.  Everything goes through MMIO, memory,
 * vtd_translate and the devtlb_inval callback. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/devtlb.h>

#include "harness.h"

#define DEV SID(0, 3, 0)
#define DID 3
#define IOVA 0x10000ULL
#define PA 0xA000000ULL

struct ats {
    struct th t;
    struct vtd_devtlb *d;
    uint64_t iq;      /* queue base */
    unsigned tail;    /* next descriptor index */
    uint64_t status;  /* wait status address */
    unsigned delivered;
    uint64_t last_addr, last_size;
    uint64_t root, pte;
    bool defer; /* the endpoint completes invalidations later */
};

static int on_devtlb(struct th *t, uint16_t sid, uint64_t addr, uint64_t size)
{
    struct ats *a = (struct ats *)t;
    a->delivered++;
    a->last_addr = addr;
    a->last_size = size;
    if (sid == DEV)
        vtd_devtlb_invalidate(a->d, addr, size);
    return a->defer ? VTD_DEVTLB_PENDING : 0;
}

static void submit(struct ats *a, uint64_t q0, uint64_t q1)
{
    th_w64(&a->t, a->iq + a->tail * 16, q0);
    th_w64(&a->t, a->iq + a->tail * 16 + 8, q1);
    a->tail = (a->tail + 1) % 256; /* QS=0: 256 descriptors */
}

/* Submit a wait descriptor with a status write, ring the tail, check it ran. */
static void flush(struct ats *a)
{
    static uint32_t seq;
    seq++;
    submit(a, VTD_DESC_WAIT | VTD_DESC_WAIT_SW | (uint64_t)seq << VTD_DESC_WAIT_STDATA_SHIFT, a->status);
    th_wr64(&a->t, VTD_REG_IQT, (uint64_t)a->tail << 4);
    assert_int_equal(th_rd64(&a->t, VTD_REG_IQH), (uint64_t)a->tail << 4);
    assert_int_equal(th_r64(&a->t, a->status) & 0xFFFFFFFF, seq);
    assert_int_equal(th_rd32(&a->t, VTD_REG_FSTS) & VTD_FSTS_IQE, 0);
}

static void iotlb_psi(struct ats *a, uint64_t addr, unsigned am)
{
    submit(a, VTD_DESC_IOTLB | 3u << 4 | (uint64_t)DID << 16, addr | am);
}

static void devtlb_inv(struct ats *a, uint64_t addr, bool s)
{
    submit(a, VTD_DESC_DEVTLB | (uint64_t)DEV << VTD_DESC_DEVTLB_SID_SHIFT, addr | (s ? VTD_DESC_DEVTLB_S : 0));
}

static struct ats *setup_cfg(uint64_t flags, const struct vtd_config *cfg)
{
    struct ats *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    th_init(&a->t, cfg);
    assert_true(a->t.cfg.ecap & VTD_ECAP_DT);
    assert_true(a->t.cfg.ecap & VTD_ECAP_QI);
    a->t.on_devtlb = on_devtlb;
    a->root = th_alloc_page(&a->t);
    a->pte = th_map(&a->t, a->root, 4, IOVA, PA, VTD_PAGE_SIZE, VTD_PAGE_SIZE, flags);
    th_map(&a->t, a->root, 4, 0x200000, 0x40000000, 2 << 20, 2 << 20, VTD_SL_R | VTD_SL_W | VTD_SL_SNP);
    th_set_ctx(&a->t, DEV, th_ctx_lo(a->root, VTD_TT_DEVTLB, false), th_ctx_hi(VTD_AW_48, DID));
    th_enable(&a->t);
    th_inval_all(&a->t);
    /* queued invalidation on: a 4 KiB queue */
    a->iq = th_alloc_page(&a->t);
    a->status = th_alloc_page(&a->t);
    th_wr64(&a->t, VTD_REG_IQA, a->iq);
    th_wr32(&a->t, VTD_REG_GCMD, (th_rd32(&a->t, VTD_REG_GSTS) & VTD_GCMD_PERSISTENT) | VTD_GCMD_QIE);
    assert_true(th_rd32(&a->t, VTD_REG_GSTS) & VTD_GSTS_QIES);
    assert_int_equal(vtd_devtlb_create(a->t.u, DEV, 8, &a->d), 0);
    return a;
}

static struct ats *setup(uint64_t flags)
{
    return setup_cfg(flags, NULL);
}

static void teardown(struct ats *a)
{
    vtd_devtlb_destroy(a->d);
    th_fini(&a->t);
    free(a);
}

static void test_ats_full_loop(void **state)
{
    (void)state;
    struct ats *a = setup(VTD_SL_R | VTD_SL_W);
    struct vtd_result r;
    struct vtd_devtlb_stats st;

    /* miss: translation request, completion cached, translated request */
    assert_int_equal(vtd_devtlb_dma(a->d, IOVA + 0x40, VTD_W, &r), 0);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, PA + 0x40);
    assert_int_equal(vtd_devtlb_count(a->d), 1);
    /* hit: no translation request */
    assert_int_equal(vtd_devtlb_dma(a->d, IOVA + 0x80, VTD_R, &r), 0);
    assert_int_equal(r.pa, PA + 0x80);
    vtd_devtlb_get_stats(a->d, &st);
    assert_int_equal(st.translation_reqs, 1);
    assert_int_equal(st.translated_reqs, 2);
    assert_int_equal(st.hits, 1);

    /* the driver unmaps, then invalidates the IOTLB and the device-TLB */
    th_w64(&a->t, a->pte, 0);
    iotlb_psi(a, IOVA, 0);
    devtlb_inv(a, IOVA, false);
    flush(a);
    assert_int_equal(a->delivered, 1);
    assert_int_equal(a->last_addr, IOVA);
    assert_int_equal(a->last_size, VTD_PAGE_SIZE);
    assert_int_equal(vtd_devtlb_count(a->d), 0);

    /* the device refetches: the completion grants nothing, the device falls
     * back to an untranslated request, which faults (6h) and is recorded */
    assert_int_equal(vtd_devtlb_dma(a->d, IOVA, VTD_R, &r), 0);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_NO_READ);
    assert_true(r.fault_recorded);
    vtd_devtlb_get_stats(a->d, &st);
    assert_int_equal(st.translation_reqs, 2);
    assert_int_equal(st.untranslated_reqs, 1);
    uint64_t lo, hi;
    th_frcd(&a->t, 0, &lo, &hi);
    assert_int_equal(lo, IOVA);
    assert_int_equal(VTD_FIELD_GET(hi, 61, 60), VTD_AT_UNTRANSLATED);
    teardown(a);
}

/* Forgetting the device-TLB invalidation leaves the device using the old
 * translation: its translated requests still reach the old page. */
static void test_ats_missing_devtlb_invalidation(void **state)
{
    (void)state;
    struct ats *a = setup(VTD_SL_R | VTD_SL_W);
    struct vtd_result r;
    assert_int_equal(vtd_devtlb_dma(a->d, IOVA, VTD_R, &r), 0);
    th_w64(&a->t, a->pte, 0);
    iotlb_psi(a, IOVA, 0);
    flush(a);
    assert_int_equal(a->delivered, 0);
    assert_int_equal(vtd_devtlb_dma(a->d, IOVA + 8, VTD_R, &r), 0);
    assert_int_equal(r.status, VTD_OK); /* translated requests are not walked */
    assert_int_equal(r.pa, PA + 8);
    teardown(a);
}

/* Completion fields: size of the leaf, permission, N for snooped leaves. */
static void test_ats_completion_fields(void **state)
{
    (void)state;
    struct ats *a = setup(VTD_SL_R);
    struct vtd_request req = {.sid = DEV, .at = VTD_AT_TRANSLATION_REQ, .access = VTD_R, .addr = 0x2345678};
    struct vtd_result r = th_req(&a->t, &req);
    assert_int_equal(r.status, VTD_OK); /* 0x2345678 is not mapped: a null completion */
    assert_int_equal(r.perm, 0);
    req.addr = 0x212345;
    r = th_req(&a->t, &req);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.page_size, 2 << 20);
    assert_int_equal(r.pa & ~((2ULL << 20) - 1), 0x40000000);
    assert_int_equal(r.perm, VTD_R | VTD_W);
    assert_int_equal(r.ats & VTD_ATS_N, VTD_ATS_N); /* SNP=1 with ECAP.SC */
    req.addr = IOVA;
    req.access = VTD_W;
    r = th_req(&a->t, &req);
    assert_int_equal(r.perm, VTD_R); /* read-only page: completion says so, no fault */
    assert_false(r.fault_recorded);
    assert_int_equal(th_rd32(&a->t, VTD_REG_FSTS) & VTD_FSTS_PPF, 0);
    /* so a device asking to write falls back to an untranslated write: 5h */
    assert_int_equal(vtd_devtlb_dma(a->d, IOVA, VTD_W, &r), 0);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_NO_WRITE);
    teardown(a);
}

/* The S-bit size encoding of a device-TLB invalidation: a 2 MiB range drops
 * the superpage entry and leaves the 4 KiB one. */
static void test_ats_invalidation_range(void **state)
{
    (void)state;
    struct ats *a = setup(VTD_SL_R | VTD_SL_W);
    struct vtd_result r;
    assert_int_equal(vtd_devtlb_dma(a->d, IOVA, VTD_R, &r), 0);
    assert_int_equal(vtd_devtlb_dma(a->d, 0x300000, VTD_R, &r), 0);
    assert_int_equal(vtd_devtlb_count(a->d), 2);
    /* 2 MiB at 0x200000: ADDR bits 19:12 ones, bit 20 zero */
    devtlb_inv(a, 0x200000 | 0xFF000, true);
    flush(a);
    assert_int_equal(a->last_addr, 0x200000);
    assert_int_equal(a->last_size, 2 << 20);
    assert_int_equal(vtd_devtlb_count(a->d), 1);
    assert_true(vtd_devtlb_lookup(a->d, IOVA, NULL, NULL));
    assert_false(vtd_devtlb_lookup(a->d, 0x300000, NULL, NULL));
    teardown(a);
}

/* Submit a wait with status write `seq` and ring the tail, without checks. */
static void submit_wait(struct ats *a, uint32_t seq)
{
    submit(a, VTD_DESC_WAIT | VTD_DESC_WAIT_SW | (uint64_t)seq << VTD_DESC_WAIT_STDATA_SHIFT, a->status);
    th_wr64(&a->t, VTD_REG_IQT, (uint64_t)a->tail << 4);
}

/* An endpoint that completes later: the wait after the device-TLB
 * invalidation holds the queue until vtd_devtlb_complete(). */
static void test_devtlb_async_completion(void **state)
{
    (void)state;
    struct ats *a = setup(VTD_SL_R | VTD_SL_W);
    a->defer = true;
    devtlb_inv(a, IOVA, false);
    submit_wait(a, 0x77);
    assert_int_equal(a->delivered, 1);
    uint64_t wait_at = (uint64_t)(a->tail - 1) << 4;
    assert_int_equal(th_rd64(&a->t, VTD_REG_IQH), wait_at); /* held at the wait */
    assert_int_equal(th_r64(&a->t, a->status), 0);
    assert_int_equal(th_rd32(&a->t, VTD_REG_FSTS) & (VTD_FSTS_IQE | VTD_FSTS_ITE), 0);
    assert_int_equal(vtd_devtlb_complete(a->t.u, DEV), 0);
    assert_int_equal(th_rd64(&a->t, VTD_REG_IQH), (uint64_t)a->tail << 4);
    assert_int_equal(th_r64(&a->t, a->status) & 0xFFFFFFFF, 0x77);
    teardown(a);
}

/* An endpoint that never completes: the time-out gives ITE with ITESID, the
 * held wait is aborted (no status write), and nothing more is fetched until
 * software clears FSTS.ITE. */
static void test_devtlb_timeout_ite(void **state)
{
    (void)state;
    struct ats *a = setup(VTD_SL_R | VTD_SL_W);
    th_wr32(&a->t, VTD_REG_FECTL, 0); /* unmask the fault event */
    a->defer = true;
    devtlb_inv(a, IOVA, false);
    submit_wait(a, 0x55);
    assert_int_equal(vtd_devtlb_timeout(a->t.u), 1);
    uint32_t fsts = th_rd32(&a->t, VTD_REG_FSTS);
    assert_true(fsts & VTD_FSTS_ITE);
    assert_int_equal(VTD_FIELD_GET(th_rd64(&a->t, VTD_REG_IQERCD), 47, 32), DEV);
    assert_int_equal(th_r64(&a->t, a->status), 0); /* the wait was aborted */
    assert_int_equal(th_rd64(&a->t, VTD_REG_IQH), (uint64_t)a->tail << 4);
    assert_true(th_has_diag(&a->t, VTD_DIAG_QI_DEVTLB_TIMEOUT));
    assert_int_equal(a->t.nmsi, 1); /* the fault event */
    /* halted: a new wait is not processed while ITE is set */
    a->defer = false;
    submit_wait(a, 0x56);
    assert_int_equal(th_r64(&a->t, a->status), 0);
    /* clearing ITE resumes fetching */
    th_wr32(&a->t, VTD_REG_FSTS, VTD_FSTS_ITE);
    assert_int_equal(th_r64(&a->t, a->status) & 0xFFFFFFFF, 0x56);
    assert_int_equal(th_rd64(&a->t, VTD_REG_IQH), (uint64_t)a->tail << 4);
    assert_int_equal(vtd_devtlb_timeout(a->t.u), 0); /* nothing pending */
    teardown(a);
}

/* A completion nobody asked for: ICE with ICESID. */
static void test_devtlb_unexpected_completion_ice(void **state)
{
    (void)state;
    struct ats *a = setup(VTD_SL_R | VTD_SL_W);
    assert_int_equal(vtd_devtlb_complete(a->t.u, SID(0, 9, 1)), VTD_EINVAL);
    assert_true(th_rd32(&a->t, VTD_REG_FSTS) & VTD_FSTS_ICE);
    assert_int_equal(VTD_FIELD_GET(th_rd64(&a->t, VTD_REG_IQERCD), 63, 48), SID(0, 9, 1));
    assert_true(th_has_diag(&a->t, VTD_DIAG_QI_UNEXPECTED_COMPLETION));
    th_wr32(&a->t, VTD_REG_FSTS, VTD_FSTS_ICE);
    assert_int_equal(th_rd32(&a->t, VTD_REG_FSTS) & VTD_FSTS_ICE, 0);
    teardown(a);
}

/* vtd_config.qi_async: the IQT write only queues; vtd_qi_run() processes,
 * here on a thread of its own while the "driver" polls the status write. */
struct runner {
    struct vtd *u;
    _Atomic int stop;
};

static void *run_queue(void *arg)
{
    struct runner *r = arg;
    while (!atomic_load(&r->stop))
        if (vtd_qi_run(r->u) < 0)
            break;
    return NULL;
}

static void test_qi_async(void **state)
{
    (void)state;
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.qi_async = true;
    struct ats *a = setup_cfg(VTD_SL_R | VTD_SL_W, &cfg);
    struct vtd_result r = th_dma(&a->t, DEV, IOVA, VTD_R);
    assert_int_equal(r.pa, PA);
    th_w64(&a->t, a->pte, (PA + 0x5000) | VTD_SL_R | VTD_SL_W);
    iotlb_psi(a, IOVA, 0);
    submit_wait(a, 0x99);
    /* nothing happened yet: head still 0, old translation still cached */
    assert_int_equal(th_rd64(&a->t, VTD_REG_IQH), 0);
    assert_int_equal(th_r64(&a->t, a->status), 0);
    assert_int_equal(th_dma(&a->t, DEV, IOVA, VTD_R).pa, PA);
    assert_int_equal(vtd_qi_run(a->t.u), 1);
    assert_int_equal(th_rd64(&a->t, VTD_REG_IQH), (uint64_t)a->tail << 4);
    assert_int_equal(th_r64(&a->t, a->status) & 0xFFFFFFFF, 0x99);
    assert_int_equal(th_dma(&a->t, DEV, IOVA, VTD_R).pa, PA + 0x5000);
    assert_int_equal(vtd_qi_run(a->t.u), 0); /* nothing left */

    /* a runner thread: the driver submits and polls as it would on hardware */
    struct runner rn = {.u = a->t.u};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, run_queue, &rn), 0);
    for (uint32_t seq = 1; seq <= 200; seq++) {
        th_w64(&a->t, a->pte, (PA + (uint64_t)seq * 0x1000) | VTD_SL_R | VTD_SL_W);
        iotlb_psi(a, IOVA, 0);
        submit(a, VTD_DESC_WAIT | VTD_DESC_WAIT_SW | (uint64_t)seq << VTD_DESC_WAIT_STDATA_SHIFT, a->status);
        th_wr64(&a->t, VTD_REG_IQT, (uint64_t)a->tail << 4);
        uint64_t v;
        do {
            v = th_r64(&a->t, a->status) & 0xFFFFFFFF;
        } while (v != seq);
        /* the wait completed, so the invalidation before it did */
        assert_int_equal(th_dma(&a->t, DEV, IOVA, VTD_R).pa, PA + (uint64_t)seq * 0x1000);
    }
    atomic_store(&rn.stop, 1);
    pthread_join(tid, NULL);
    teardown(a);
}

static void test_devtlb_api_errors(void **state)
{
    (void)state;
    struct ats *a = setup(VTD_SL_R);
    struct vtd_devtlb *d;
    struct vtd_result r;
    assert_int_equal(vtd_devtlb_create(NULL, DEV, 8, &d), VTD_EINVAL);
    assert_int_equal(vtd_devtlb_create(a->t.u, DEV, 0, &d), VTD_EINVAL);
    assert_int_equal(vtd_devtlb_create(a->t.u, DEV, 5000, &d), VTD_EINVAL);
    assert_int_equal(vtd_devtlb_dma(a->d, IOVA, 0, &r), VTD_EINVAL);
    assert_int_equal(vtd_devtlb_dma(a->d, IOVA, VTD_X, &r), VTD_EINVAL);
    assert_int_equal(vtd_devtlb_dma(NULL, IOVA, VTD_R, &r), VTD_EINVAL);
    teardown(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ats_full_loop),
        cmocka_unit_test(test_ats_missing_devtlb_invalidation),
        cmocka_unit_test(test_ats_completion_fields),
        cmocka_unit_test(test_ats_invalidation_range),
        cmocka_unit_test(test_devtlb_async_completion),
        cmocka_unit_test(test_devtlb_timeout_ite),
        cmocka_unit_test(test_devtlb_unexpected_completion_ice),
        cmocka_unit_test(test_qi_async),
        cmocka_unit_test(test_devtlb_api_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
