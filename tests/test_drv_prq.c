/* The driver's page request service (src/drv/prq.c) against a
 * vtd_config_scalable() unit (ECAP.PRS, DT, PDS), wired only through
 * vtd_mmio_* and the sparse memory.  The test is the device (translation
 * requests, vtd_page_request, the page group responses it receives through
 * vtd_host.page_response) and the OS (the page_request callback maps on
 * demand with vtd_drv_map); the driver is in between: page request queue,
 * event, PQH, PRS, group responses.  Every test fails on any unit diag. */
#define _POSIX_C_SOURCE 200809L
#include "drv_host.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RW (VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE)
#define PRQ_MSI_ADDR 0xFEE01000ULL
#define PRQ_MSI_DATA 0x4D
#define BACKING 0x30000000ULL /* the OS's pages for on-demand mappings */
#define FORBIDDEN 0x7F000000ULL /* the OS refuses pages from here (Invalid Request) ... */
#define FAILING 0x7F800000ULL   /* ... from here with Response Failure ... */
#define FORBIDDEN_END 0x80000000ULL /* ... to here */
#define MAXREQ 256

static const uint16_t DEV = SID(0, 5, 0);
static const uint16_t DEV2 = SID(0, 6, 0);

/* the host (first member: the ops' opaque is the struct dh) and the OS */
struct ph {
    struct dh h;
    int nreq;
    struct vtd_drv_page_req req[MAXREQ];
    uint64_t next_pa;
    int drain_in_callback;  /* what a nested vtd_drv_prq_drain returned */
    bool nested_drain;
    bool no_map;            /* answer without mapping */
    /* ops->lock: an error-checking mutex, so that a callback run with the
     * driver lock held and calling back into the driver fails the test
     * instead of hanging */
    pthread_mutex_t mu;
    int lock_errors;
};

static void os_lock(void *opaque)
{
    struct ph *p = opaque;
    if (pthread_mutex_lock(&p->mu))
        p->lock_errors++;
}

static void os_unlock(void *opaque)
{
    struct ph *p = opaque;
    if (pthread_mutex_unlock(&p->mu))
        p->lock_errors++;
}

static int os_page_request(void *opaque, const struct vtd_drv_page_req *r)
{
    struct ph *p = opaque;
    if (p->nreq < MAXREQ)
        p->req[p->nreq] = *r;
    p->nreq++;
    if (p->nested_drain)
        p->drain_in_callback = vtd_drv_prq_drain(p->h.drv);
    if (!r->read && !r->write)
        return VTD_DRV_PRC_SUCCESS; /* stop marker */
    if (r->addr >= FAILING && r->addr < FORBIDDEN_END)
        return VTD_DRV_PRC_FAILURE;
    if (r->addr >= FORBIDDEN && r->addr < FORBIDDEN_END)
        return VTD_DRV_PRC_INVALID_REQUEST;
    if (!r->dom)
        return VTD_DRV_PRC_INVALID_REQUEST;
    if (p->no_map)
        return VTD_DRV_PRC_SUCCESS;
    uint64_t pa = p->next_pa;
    p->next_pa += 4096;
    /* a page another request of the group already brought in is spurious:
     * still answered Success (§7.6) */
    int rc = vtd_drv_map(r->dom, r->addr, pa, 4096, RW | (r->exec ? VTD_DRV_PROT_EXEC : 0));
    return rc == 0 || rc == VTD_DRV_EEXIST ? VTD_DRV_PRC_SUCCESS : VTD_DRV_PRC_FAILURE;
}

static struct ph *prq_host(void **state, unsigned prq_order, bool msi, bool callback)
{
    struct vtd_config cfg;
    vtd_config_scalable(&cfg);
    cfg.check_stale = true;
    struct ph *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    *state = p;
    dh_init_unit(&p->h, &cfg);
    p->next_pa = BACKING;
    if (callback)
        p->h.ops.page_request = os_page_request;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&p->mu, &a);
    pthread_mutexattr_destroy(&a);
    p->h.ops.lock = os_lock;
    p->h.ops.unlock = os_unlock;
    p->h.dcfg.flags = VTD_DRV_CFG_SCALABLE | VTD_DRV_CFG_FORCE_SCALABLE;
    p->h.dcfg.prq_order = prq_order;
    if (msi) {
        p->h.dcfg.prq_msi_addr = PRQ_MSI_ADDR;
        p->h.dcfg.prq_msi_data = PRQ_MSI_DATA;
    }
    assert_int_equal(vtd_drv_create(&p->h.ops, &p->h.dcfg, &p->h.drv), 0);
    assert_int_equal(vtd_drv_enable(p->h.drv), 0);
    dh_no_diag(&p->h);
    return p;
}

static int ph_teardown(void **state)
{
    return dh_teardown(state); /* struct dh is the first member */
}

static struct vtd_drv_domain *domain(struct ph *p, int type)
{
    struct vtd_drv_domain_config c;
    vtd_drv_domain_config_default(&c);
    c.type = type;
    struct vtd_drv_domain *dom;
    assert_int_equal(vtd_drv_domain_create(p->h.drv, &c, &dom), 0);
    return dom;
}

/* a second-level domain with DEV attached (RID_PASID) with ATS and PRI */
static struct vtd_drv_domain *pri_device(struct ph *p)
{
    struct vtd_drv_domain *sl = domain(p, VTD_DRV_DOM_PAGING);
    assert_int_equal(vtd_drv_attach(sl, DEV, VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_PRI), 0);
    return sl;
}

/* the device's Device-TLB asks for a translation (ATS) */
static struct vtd_result xlate(struct ph *p, uint16_t sid, bool pv, uint32_t pasid, uint64_t addr, uint8_t acc)
{
    struct vtd_request r = {.sid = sid, .at = VTD_AT_TRANSLATION_REQ, .access = acc, .pasid_valid = pv,
                            .pasid = pasid, .addr = addr};
    return th_req(&p->h.t, &r);
}

static struct vtd_page_req_result page_req(struct ph *p, uint16_t sid, bool pv, uint32_t pasid, uint64_t addr,
                                           bool write, bool lpig, uint16_t prgi)
{
    struct vtd_page_req r = {.sid = sid, .pasid_valid = pv, .pasid = pasid, .read = true, .write = write,
                             .lpig = lpig, .prgi = prgi, .addr = addr};
    struct vtd_page_req_result res;
    assert_int_equal(vtd_page_request(p->h.t.u, &r, &res), 0);
    return res;
}

static void expect_resp(struct ph *p, int i, uint16_t sid, bool pv, uint32_t pasid, uint16_t prgi, uint8_t code)
{
    assert_true(p->h.t.npresp > i);
    const struct vtd_page_resp *r = &p->h.t.presp[i];
    assert_int_equal(r->sid, sid);
    assert_int_equal(r->pasid_valid, pv);
    assert_int_equal(r->pasid, pasid);
    assert_int_equal(r->prgi, prgi);
    assert_int_equal(r->code, code);
}

static void expect_queue_empty(struct ph *p)
{
    assert_int_equal(p->lock_errors, 0);
    assert_int_equal(th_rd64(&p->h.t, VTD_REG_PQH), th_rd64(&p->h.t, VTD_REG_PQT));
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PRS), 0);
}

/* The queue and its event as the driver programmed them. */
static void registers(void **state)
{
    struct ph *p = prq_host(state, 1, true, true);
    struct vtd_drv_info in;
    assert_int_equal(vtd_drv_info(p->h.drv, &in), 0);
    assert_true(in.prq);
    assert_int_equal(in.prq_entries, 256);
    uint64_t pqa = th_rd64(&p->h.t, VTD_REG_PQA);
    assert_int_equal(pqa & VTD_PQA_PQS_MASK, 1);
    assert_true((pqa & VTD_GENMASK(63, 12)) >= DH_POOL);
    assert_int_equal(th_rd64(&p->h.t, VTD_REG_PQH), 0);
    assert_int_equal(th_rd64(&p->h.t, VTD_REG_PQT), 0);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PECTL), 0);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PEDATA), PRQ_MSI_DATA);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PEADDR), (uint32_t)PRQ_MSI_ADDR);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PEUADDR), 0);
    /* nothing queued: nothing to do */
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 0);
    assert_int_equal(vtd_drv_disable(p->h.drv), 0);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PECTL), VTD_ECTL_IM);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), VTD_DRV_ENOTSUP);
    dh_fini(&p->h);
}

/* Rev 5.10 §7.4-§7.6 end to end through a first-level table with a PASID:
 * translation request -> no permission -> page request -> event -> drain ->
 * the OS maps -> Success reaches the device -> the retry translates. */
static void fl_fault_and_retry(void **state)
{
    struct ph *p = prq_host(state, 0, true, true);
    struct vtd_drv_domain *sl = domain(p, VTD_DRV_DOM_PAGING);
    struct vtd_drv_domain *fl = domain(p, VTD_DRV_DOM_FIRST_LEVEL);
    assert_int_equal(vtd_drv_attach(sl, DEV, VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_PRI), 0);
    assert_int_equal(vtd_drv_attach_pasid(fl, DEV, 5, 0), 0);
    const uint64_t va = 0x7ff012345000ULL;

    /* 1. the Device-TLB gets no permission for the page */
    struct vtd_result r = xlate(p, DEV, true, 5, va + 0x80, VTD_W);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    /* 2. the device asks for it */
    int msi0 = p->h.t.nmsi;
    struct vtd_page_req_result pr = page_req(p, DEV, true, 5, va, true, true, 0x123);
    assert_int_equal(pr.status, VTD_PRQ_QUEUED);
    assert_int_equal(p->h.t.npresp, 0);
    /* 3. the page request event */
    assert_int_equal(p->h.t.nmsi, msi0 + 1);
    assert_int_equal(p->h.t.msi[msi0].addr, PRQ_MSI_ADDR);
    assert_int_equal(p->h.t.msi[msi0].data, PRQ_MSI_DATA);
    /* 4. the OS drains: its callback maps the page */
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    assert_int_equal(p->nreq, 1);
    const struct vtd_drv_page_req *q = &p->req[0];
    assert_int_equal(q->sid, DEV);
    assert_true(q->pasid_present);
    assert_int_equal(q->pasid, 5);
    assert_int_equal(q->addr, va);
    assert_true(q->read && q->write && q->lpig);
    assert_false(q->exec || q->priv);
    assert_int_equal(q->prgi, 0x123);
    assert_ptr_equal(q->dom, fl);
    /* 5. the response reached the device */
    assert_int_equal(p->h.t.npresp, 1);
    expect_resp(p, 0, DEV, true, 5, 0x123, VTD_PRC_SUCCESS);
    expect_queue_empty(p);
    /* 6. the retry translates, the translated request goes through */
    r = xlate(p, DEV, true, 5, va + 0x80, VTD_W);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, BACKING + 0x80);
    assert_int_equal(r.perm & (VTD_R | VTD_W), VTD_R | VTD_W);
    struct vtd_request tr = {.sid = DEV, .at = VTD_AT_TRANSLATED, .access = VTD_W, .addr = BACKING + 0x80};
    assert_int_equal(th_req(&p->h.t, &tr).status, VTD_OK);
    struct vtd_drv_stats st;
    vtd_drv_stats(p->h.drv, &st);
    assert_int_equal(st.prq_requests, 1);
    assert_int_equal(st.prq_responses, 1);
    assert_int_equal(vtd_drv_fault_poll(p->h.drv), 0);
    dh_no_diag(&p->h);
    assert_int_equal(vtd_drv_detach_pasid(p->h.drv, DEV, 5), 0);
    assert_int_equal(vtd_drv_detach(p->h.drv, DEV), 0);
    dh_fini(&p->h);
}

/* Without a PASID, second level (RID_PASID), the event masked: polled. */
static void sl_polled(void **state)
{
    struct ph *p = prq_host(state, 0, false, true);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PECTL), VTD_ECTL_IM);
    struct vtd_drv_domain *sl = pri_device(p);
    struct vtd_result r = xlate(p, DEV, false, 0, 0x40000, VTD_R);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    int msi0 = p->h.t.nmsi;
    assert_int_equal(page_req(p, DEV, false, 0, 0x40000, false, true, 9).status, VTD_PRQ_QUEUED);
    assert_int_equal(p->h.t.nmsi, msi0); /* IM = 1 */
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PRS), VTD_PRS_PPR);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    assert_false(p->req[0].pasid_present);
    assert_ptr_equal(p->req[0].dom, sl);
    expect_resp(p, 0, DEV, false, 0, 9, VTD_PRC_SUCCESS);
    expect_queue_empty(p);
    r = xlate(p, DEV, false, 0, 0x40000, VTD_R);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, BACKING);
    dh_no_diag(&p->h);
    dh_fini(&p->h);
}

/* A group is answered once, after its last page, with its worst answer,
 * also across drains; other groups are not affected; stop markers get none. */
static void groups(void **state)
{
    struct ph *p = prq_host(state, 0, true, true);
    struct vtd_drv_domain *fl = domain(p, VTD_DRV_DOM_FIRST_LEVEL);
    pri_device(p);
    assert_int_equal(vtd_drv_attach_pasid(fl, DEV, 3, 0), 0);
    /* group 7: ok, refused (Invalid Request) | drain | ok (last) */
    page_req(p, DEV, true, 3, 0x10000, true, false, 7);
    page_req(p, DEV, true, 3, FORBIDDEN, true, false, 7);
    /* group 7 of another PASID and group 8: fine */
    assert_int_equal(vtd_drv_attach_pasid(fl, DEV, 4, 0), 0);
    page_req(p, DEV, true, 4, 0x20000, true, true, 7);
    page_req(p, DEV, true, 3, 0x30000, false, true, 8);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 4);
    assert_int_equal(p->h.t.npresp, 2);
    expect_resp(p, 0, DEV, true, 4, 7, VTD_PRC_SUCCESS);
    expect_resp(p, 1, DEV, true, 3, 8, VTD_PRC_SUCCESS);
    page_req(p, DEV, true, 3, 0x11000, true, true, 7);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    assert_int_equal(p->h.t.npresp, 3);
    expect_resp(p, 2, DEV, true, 3, 7, VTD_PRC_INVALID_REQUEST);
    /* the group was answered: a new group 7 starts clean */
    page_req(p, DEV, true, 3, 0x12000, true, true, 7);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    expect_resp(p, 3, DEV, true, 3, 7, VTD_PRC_SUCCESS);
    /* Response Failure beats Invalid Request, in one drain and across two */
    page_req(p, DEV, true, 3, FAILING, true, false, 1);
    page_req(p, DEV, true, 3, FORBIDDEN, true, false, 1);
    page_req(p, DEV, true, 3, 0x13000, true, true, 1);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 3);
    expect_resp(p, 4, DEV, true, 3, 1, VTD_PRC_FAILURE);
    page_req(p, DEV, true, 3, FAILING, true, false, 2);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    page_req(p, DEV, true, 3, FORBIDDEN, true, true, 2);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    expect_resp(p, 5, DEV, true, 3, 2, VTD_PRC_FAILURE);
    /* a stop marker: passed to the OS, never answered; it ends the PASID's
     * open groups (group 9 of PASID 3), not those of another PASID (4) */
    page_req(p, DEV, true, 3, FORBIDDEN, true, false, 9);
    page_req(p, DEV, true, 4, FORBIDDEN, true, false, 9);
    struct vtd_page_req stop = {.sid = DEV, .pasid_valid = true, .pasid = 3, .lpig = true};
    struct vtd_page_req_result res;
    assert_int_equal(vtd_page_request(p->h.t.u, &stop, &res), 0);
    assert_int_equal(res.status, VTD_PRQ_QUEUED);
    int n = p->nreq;
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 3);
    assert_int_equal(p->nreq, n + 3);
    assert_false(p->req[n + 2].read || p->req[n + 2].write);
    assert_int_equal(p->h.t.npresp, 6);
    page_req(p, DEV, true, 3, 0x14000, true, true, 9);
    page_req(p, DEV, true, 4, 0x14000, true, true, 9);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 2);
    expect_resp(p, 6, DEV, true, 3, 9, VTD_PRC_SUCCESS);
    expect_resp(p, 7, DEV, true, 4, 9, VTD_PRC_INVALID_REQUEST);
    expect_queue_empty(p);
    struct vtd_drv_stats st;
    vtd_drv_stats(p->h.drv, &st);
    assert_int_equal(st.prq_responses, 8);
    assert_int_equal(st.prq_lost_groups, 0);
    dh_no_diag(&p->h);
    dh_fini(&p->h);
}

/* Invalid requests: a page the OS refuses stays unmapped; a device attached
 * without PRI is refused by the unit itself (47h, Invalid Request, nothing
 * queued); an unattached PASID reaches the OS with no domain. */
static void invalid_requests(void **state)
{
    struct ph *p = prq_host(state, 0, true, true);
    struct vtd_drv_domain *sl = pri_device(p);
    assert_int_equal(vtd_drv_attach(sl, DEV2, VTD_DRV_ATTACH_ATS), 0);
    page_req(p, DEV, false, 0, FORBIDDEN, true, true, 3);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    expect_resp(p, 0, DEV, false, 0, 3, VTD_PRC_INVALID_REQUEST);
    uint64_t pa;
    unsigned prot;
    assert_int_equal(vtd_drv_iova_to_phys(sl, FORBIDDEN, &pa, &prot, NULL), VTD_DRV_ENOENT);
    assert_int_equal(xlate(p, DEV, false, 0, FORBIDDEN, VTD_W).perm, 0);

    struct vtd_page_req_result res = page_req(p, DEV2, false, 0, 0x1000, true, true, 4);
    assert_int_equal(res.status, VTD_PRQ_FAULT);
    assert_int_equal(res.fault_reason, VTD_FR_SM_CTX_PRE);
    expect_resp(p, 1, DEV2, false, 0, 4, VTD_PRC_INVALID_REQUEST);
    int n = p->nreq;
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 0);
    assert_int_equal(p->nreq, n);
    p->h.nfault = 0;
    assert_int_equal(vtd_drv_fault_poll(p->h.drv), 1);
    assert_int_equal(p->h.fault[0].kind, VTD_DRV_FAULT_DMA);
    assert_int_equal(p->h.fault[0].reason, VTD_FR_SM_CTX_PRE);
    assert_int_equal(p->h.fault[0].access, VTD_DRV_ACC_PAGE_REQ);
    assert_int_equal(p->h.fault[0].sid, DEV2);

    /* PASID 9 is not attached: the unit faults 59h (PASID entry not present) */
    res = page_req(p, DEV, true, 9, 0x1000, true, true, 5);
    assert_int_equal(res.status, VTD_PRQ_FAULT);
    expect_resp(p, 2, DEV, true, 9, 5, VTD_PRC_INVALID_REQUEST);
    vtd_drv_fault_poll(p->h.drv);
    /* attached, then detached after the request was queued: the detach
     * drains (§7.10: P_DEVTLB, wait with PD, the queue serviced), so the
     * OS gets the request with no domain before detach returns */
    struct vtd_drv_domain *fl = domain(p, VTD_DRV_DOM_FIRST_LEVEL);
    assert_int_equal(vtd_drv_attach_pasid(fl, DEV, 9, 0), 0);
    assert_int_equal(page_req(p, DEV, true, 9, 0x1000, true, true, 6).status, VTD_PRQ_QUEUED);
    n = p->nreq;
    const int nd = p->h.ndevtlb;
    assert_int_equal(vtd_drv_detach_pasid(p->h.drv, DEV, 9), 0);
    assert_int_equal(p->h.ndevtlb, nd + 1); /* the PASID's device-TLB invalidation reached the device */
    assert_int_equal(p->h.devtlb_sid, DEV);
    assert_int_equal(p->h.devtlb_size, 0); /* every page of the PASID */
    assert_int_equal(p->nreq, n + 1);
    assert_null(p->req[p->nreq - 1].dom);
    expect_resp(p, 3, DEV, true, 9, 6, VTD_PRC_INVALID_REQUEST);
    expect_queue_empty(p);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 0);
    dh_no_diag(&p->h);
    dh_fini(&p->h);
}

/* An order-0 queue filled (127 of 128 entries) by DEV without PASID, the
 * OS answering without mapping; group i/16, with an LPIG at every 16th
 * request when lpig (groups 0..6 closed, 7 open). */
static struct ph *full_queue(void **state, bool msi, bool lpig)
{
    struct ph *p = prq_host(state, 0, msi, true);
    p->no_map = true;
    pri_device(p);
    for (int i = 0; i < 127; i++)
        assert_int_equal(page_req(p, DEV, false, 0, 0x100000 + (uint64_t)i * 4096, true, lpig && i % 16 == 15,
                                  (uint16_t)(i / 16))
                             .status,
                         VTD_PRQ_QUEUED);
    return p;
}

/* PRS.PRO: a full queue (N-1 entries) discards the next requests (the unit
 * answers Success); the driver services the N-1, clears PRO only once the
 * queue is empty, reports it, and the next request is queued again. */
static void overflow(void **state)
{
    struct ph *p = full_queue(state, true, true);
    const int msi0 = 0;
    assert_int_equal(p->h.t.nmsi, msi0 + 1); /* one event: PPR stayed set */
    assert_int_equal(page_req(p, DEV, false, 0, 0x900000, true, true, 100).status, VTD_PRQ_OVERFLOW);
    assert_int_equal(page_req(p, DEV, false, 0, 0x901000, true, true, 101).status, VTD_PRQ_OVERFLOW);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PRS), VTD_PRS_PPR | VTD_PRS_PRO);
    assert_int_equal(p->h.t.nmsi, msi0 + 1); /* PRO with PPR set: no new event */
    assert_int_equal(p->h.t.npresp, 2);      /* the unit's own Success answers */
    expect_resp(p, 0, DEV, false, 0, 100, VTD_PRC_SUCCESS);
    expect_resp(p, 1, DEV, false, 0, 101, VTD_PRC_SUCCESS);

    p->h.nfault = 0;
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 127);
    assert_int_equal(p->nreq, 127);
    assert_int_equal(p->h.t.npresp, 2 + 7); /* groups 0..6 ended with an LPIG; group 7 is open */
    expect_resp(p, 2, DEV, false, 0, 0, VTD_PRC_SUCCESS);
    expect_queue_empty(p);
    assert_int_equal(p->h.nfault, 1);
    assert_int_equal(p->h.fault[0].kind, VTD_DRV_FAULT_PRQ_OVERFLOW);
    struct vtd_drv_stats st;
    vtd_drv_stats(p->h.drv, &st);
    assert_int_equal(st.prq_overflows, 1);
    assert_int_equal(st.prq_requests, 127);

    /* queued again, with a new event */
    assert_int_equal(page_req(p, DEV, false, 0, 0x902000, true, true, 7).status, VTD_PRQ_QUEUED);
    assert_int_equal(p->h.t.nmsi, msi0 + 2);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    expect_resp(p, 9, DEV, false, 0, 7, VTD_PRC_SUCCESS);
    expect_queue_empty(p);
    dh_no_diag(&p->h);
    dh_fini(&p->h);
}

/* PRO stays set while the queue is not empty: a drain stopped by an
 * unreadable descriptor leaves it, the next one clears it. */
static void overflow_kept_until_empty(void **state)
{
    struct ph *p = full_queue(state, false, false);
    assert_int_equal(page_req(p, DEV, false, 0, 0x200000, true, false, 1).status, VTD_PRQ_OVERFLOW);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PRS), VTD_PRS_PPR | VTD_PRS_PRO);
    /* PQH moved by hand beyond the queue (a bug elsewhere): EIO, PRO kept */
    th_wr64(&p->h.t, VTD_REG_PQH, 4096 + 32);
    assert_int_equal(th_rd64(&p->h.t, VTD_REG_PQH), 4096 + 32);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), VTD_DRV_EIO);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PRS), VTD_PRS_PRO);
    th_wr64(&p->h.t, VTD_REG_PQH, 0);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 127);
    expect_queue_empty(p);
    dh_no_diag(&p->h);
    dh_fini(&p->h);
}

/* Argument and capability checks; the callback runs unlocked but a nested
 * drain is refused. */
static void api(void **state)
{
    struct ph *p = prq_host(state, 0, false, true);
    struct vtd_drv_domain *sl = domain(p, VTD_DRV_DOM_PAGING);
    assert_int_equal(vtd_drv_attach(sl, DEV, VTD_DRV_ATTACH_PRI), VTD_DRV_EINVAL);
    assert_int_equal(vtd_drv_attach_pasid(sl, DEV, 2, VTD_DRV_ATTACH_PRI), VTD_DRV_EINVAL);
    /* a PASID attached first wrote the context entry without DTE / PRE */
    assert_int_equal(vtd_drv_attach_pasid(sl, DEV2, 2, 0), 0);
    assert_int_equal(vtd_drv_attach(sl, DEV2, VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_PRI), VTD_DRV_EBUSY);
    assert_int_equal(vtd_drv_attach(sl, DEV2, 0), 0);
    /* a context entry with DTE and PRE serves a later RID_PASID re-attach */
    assert_int_equal(vtd_drv_attach(sl, DEV, VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_PRI), 0);
    assert_int_equal(vtd_drv_attach_pasid(sl, DEV, 2, 0), 0);
    assert_int_equal(vtd_drv_detach(p->h.drv, DEV), 0);
    assert_int_equal(vtd_drv_attach(sl, DEV, VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_PRI), 0);
    p->nested_drain = true;
    page_req(p, DEV, true, 2, 0x5000, true, true, 0);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    assert_int_equal(p->drain_in_callback, VTD_DRV_EBUSY);
    expect_resp(p, 0, DEV, true, 2, 0, VTD_PRC_SUCCESS);
    assert_int_equal(vtd_drv_prq_drain(NULL), VTD_DRV_EINVAL);
    dh_no_diag(&p->h);
    dh_fini(&p->h);
    free(p);
    *state = NULL;

    /* no callback: no queue */
    p = prq_host(state, 0, false, false);
    struct vtd_drv_info in;
    assert_int_equal(vtd_drv_info(p->h.drv, &in), 0);
    assert_false(in.prq);
    assert_int_equal(th_rd64(&p->h.t, VTD_REG_PQA), 0);
    sl = domain(p, VTD_DRV_DOM_PAGING);
    assert_int_equal(vtd_drv_attach(sl, DEV, VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_PRI), VTD_DRV_ENOTSUP);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), VTD_DRV_ENOTSUP);
    dh_fini(&p->h);
    free(p);
    *state = NULL;

    /* PQS beyond 7 */
    struct dh h;
    dh_init_unit(&h, NULL);
    h.ops.page_request = os_page_request;
    h.dcfg.prq_order = 8;
    assert_int_equal(vtd_drv_create(&h.ops, &h.dcfg, &h.drv), VTD_DRV_EINVAL);
    /* legacy mode: page requests need scalable mode */
    h.dcfg.prq_order = 0;
    assert_int_equal(vtd_drv_create(&h.ops, &h.dcfg, &h.drv), 0);
    assert_int_equal(vtd_drv_info(h.drv, &in), 0);
    assert_false(in.prq);
    assert_int_equal(vtd_drv_domain_create(h.drv, NULL, &sl), 0);
    assert_int_equal(vtd_drv_attach(sl, DEV, VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_PRI), VTD_DRV_ENOTSUP);
    dh_fini(&h);
}

/* Re-enable starts an empty queue at offset 0. */
static void reenable(void **state)
{
    struct ph *p = prq_host(state, 0, true, true);
    pri_device(p);
    page_req(p, DEV, false, 0, 0x1000, true, true, 1);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    assert_int_equal(th_rd64(&p->h.t, VTD_REG_PQH), 32);
    assert_int_equal(vtd_drv_disable(p->h.drv), 0);
    assert_int_equal(vtd_drv_enable(p->h.drv), 0);
    assert_int_equal(th_rd64(&p->h.t, VTD_REG_PQH), 0);
    assert_int_equal(th_rd64(&p->h.t, VTD_REG_PQT), 0);
    assert_int_equal(th_rd32(&p->h.t, VTD_REG_PECTL), 0);
    page_req(p, DEV, false, 0, 0x2000, true, true, 2);
    assert_int_equal(vtd_drv_prq_drain(p->h.drv), 1);
    expect_resp(p, 1, DEV, false, 0, 2, VTD_PRC_SUCCESS);
    dh_no_diag(&p->h);
    dh_fini(&p->h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(registers, ph_teardown),
        cmocka_unit_test_teardown(fl_fault_and_retry, ph_teardown),
        cmocka_unit_test_teardown(sl_polled, ph_teardown),
        cmocka_unit_test_teardown(groups, ph_teardown),
        cmocka_unit_test_teardown(invalid_requests, ph_teardown),
        cmocka_unit_test_teardown(overflow, ph_teardown),
        cmocka_unit_test_teardown(overflow_kept_until_empty, ph_teardown),
        cmocka_unit_test_teardown(api, ph_teardown),
        cmocka_unit_test_teardown(reenable, ph_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
