/* SPDX-License-Identifier: MIT */
/*
 * Page requests (ECAP.PRS; spec Rev 5.10 §7.4-§7.5, Table 30's page request
 * columns, Table 31, §6.5.3.1): a device's page request message checked
 * against the scalable-mode structures, written as a page request
 * descriptor into the page request queue (PQA/PQH/PQT), the page request
 * status (PRS.PPR/PRO) and event (PECTL, PEDATA/PEADDR/PEUADDR), and the
 * responses the unit generates itself for requests it does not queue.
 * Page group responses from software (QI type 9) are in qi.c.
 *
 * Everything is synchronous: a request that vtd_page_request() queued is
 * visible in memory and in PQT when it returns, so every page request
 * "received" before an invalidation wait descriptor completes has been
 * "delivered" (§7.7): the wait descriptor's PD flag needs nothing more.
 */
#include <string.h>

#include "sm.h"

#define PRS_STATUS (VTD_PRS_PPR | VTD_PRS_PRO)

/* A request needs a response when it is the last of its group; a stop
 * marker (LPIG with neither read nor write requested, PCIe) never gets one
 * (the unit reports ECAP.SMS=0, which leaves a failed stop marker
 * undefined: it is dropped). */
static bool needs_response(const struct vtd_page_req *r)
{
    return r->lpig && (r->read || r->write);
}

static void pe_send(struct vtd *u)
{
    uint64_t addr = u->r_peuaddr->val << 32 | u->r_peaddr->val;
    u->r_pectl->val &= ~(uint64_t)VTD_ECTL_IP;
    if (u->host.msi)
        u->host.msi(u->host.opaque, addr, (uint32_t)u->r_pedata->val);
}

/* §7.5: a page request event only when neither PPR nor PRO was set before;
 * IM=1 holds it in PECTL.IP. */
static void prs_set(struct vtd *u, uint64_t bit)
{
    uint64_t prs = u->r_prs->val;
    u->r_prs->val = prs | bit;
    if (prs & PRS_STATUS)
        return;
    u->r_pectl->val |= VTD_ECTL_IP;
    if (!(u->r_pectl->val & VTD_ECTL_IM))
        pe_send(u);
}

void vtd_prs_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)old, (void)wval, (void)wmask;
    /* software serviced every condition: no stale event on unmask */
    if (!(d->val & PRS_STATUS))
        u->r_pectl->val &= ~(uint64_t)VTD_ECTL_IP;
}

void vtd_pectl_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)wval, (void)wmask;
    if ((old & VTD_ECTL_IM) && !(d->val & VTD_ECTL_IM) && (d->val & VTD_ECTL_IP))
        pe_send(u);
}

static void respond(struct vtd *u, const struct vtd_page_req *r, uint8_t code, struct vtd_page_req_result *res)
{
    if (!needs_response(r))
        return;
    struct vtd_page_resp p = {.sid = r->sid, .pasid_valid = r->pasid_valid,
                              .pasid = r->pasid_valid ? r->pasid : 0, .prgi = r->prgi, .code = code};
    res->responded = true;
    res->code = code;
    if (u->host.page_response)
        u->host.page_response(u->host.opaque, &p);
}

/* Table 30: a non-recoverable fault (unless an FPD on the path suppresses a
 * qualified one) and, when the request needs one, Invalid Request. */
static void prq_fault(struct vtd *u, const struct walk *w, const struct vtd_page_req *r, uint8_t reason,
                      struct vtd_page_req_result *res)
{
    res->status = VTD_PRQ_FAULT;
    res->fault_reason = reason;
    if (!(w->qualified && w->fpd)) {
        struct fault f = {.reason = reason, .sid = r->sid, .addr = r->addr, .pasid_valid = r->pasid_valid,
                          .priv = r->pasid_valid && r->priv, .pasid = r->pasid_valid ? r->pasid : 0,
                          .prq = true};
        res->fault_recorded = vtd_fault_record(u, &f);
    }
    respond(u, r, VTD_PRC_INVALID_REQUEST, res);
}

static void dropped(struct vtd *u, const struct vtd_page_req *r, struct vtd_page_req_result *res)
{
    res->status = VTD_PRQ_DROPPED;
    respond(u, r, VTD_PRC_INVALID_REQUEST, res);
}

/* §6.5.3.1: a queued page request invalidates the IOTLB and paging-structure
 * entries that control its page, by the PASID-table entry's PGTT, so that a
 * permission software upgraded without invalidating is seen on retry.
 * Table 27: first-stage, page-selective-within-PASID P_IOTLB (DID, PASID,
 * page, AM=0, IH=0); second-stage and pass-through, page-selective-within-
 * domain IOTLB (DID, page); nested, domain-selective IOTLB (DID). */
static void implicit_inval(struct vtd *u, const struct pasidinfo *pi, uint32_t pasid, uint64_t addr)
{
    switch (pi->pgtt) {
    case VTD_PGTT_FL: vtd_inval_piotlb_page(u, pi->did, pasid, addr, 0, false); break;
    case VTD_PGTT_NESTED: vtd_inval_iotlb_domain(u, pi->did); break;
    default: vtd_inval_iotlb_page(u, pi->did, addr, 0, false); break; /* 010, 100 */
    }
}

static void put64(uint8_t *b, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* The descriptor of §7.4.1.1; EXR and PMR exist only with a PASID. */
static void encode(const struct vtd_page_req *r, uint8_t out[VTD_PRQ_DESC_SIZE])
{
    uint64_t q0 = VTD_PRQ_DESC_TYPE | (uint64_t)r->sid << VTD_PRQ_DESC_RID_SHIFT;
    if (r->pasid_valid) {
        q0 |= VTD_PRQ_DESC_PP | (uint64_t)r->pasid << VTD_PRQ_DESC_PASID_SHIFT;
        if (r->exe && r->read)
            q0 |= VTD_PRQ_DESC_EXR;
        if (r->priv)
            q0 |= VTD_PRQ_DESC_PMR;
    }
    uint64_t q1 = (r->read ? VTD_PRQ_DESC_RDR : 0) | (r->write ? VTD_PRQ_DESC_WRR : 0) |
                  (r->lpig ? VTD_PRQ_DESC_LPIG : 0) | (uint64_t)r->prgi << VTD_PRQ_DESC_PRGI_SHIFT |
                  (r->addr & VTD_PRQ_DESC_ADDR_MASK);
    memset(out, 0, VTD_PRQ_DESC_SIZE);
    put64(out, q0);
    put64(out + 8, q1);
}

/* Queue a request whose checks passed (Table 31 for a full or overflowed queue). */
static void enqueue(struct vtd *u, const struct vtd_page_req *r, const struct pasidinfo *pi, uint32_t pasid,
                    struct vtd_page_req_result *res)
{
    /* Table 31: while PRO is set every request is discarded; one that
     * needs a response is answered Success (the device retries) */
    if (u->r_prs->val & VTD_PRS_PRO) {
        res->status = VTD_PRQ_OVERFLOW;
        respond(u, r, VTD_PRC_SUCCESS, res);
        return;
    }
    const uint64_t pqa = u->r_pqa->val;
    const uint64_t size = (uint64_t)VTD_PAGE_SIZE << (pqa & VTD_PQA_PQS_MASK);
    const uint64_t base = pqa & VTD_GENMASK(63, 12);
    const uint64_t tail = u->r_pqt->val & VTD_PQT_MASK, head = u->r_pqh->val & VTD_PQH_MASK;
    if (tail >= size) {
        vtd_diagf(u, VTD_DIAG_PRQ_BAD_TAIL, r->sid, VTD_REG_PQT,
                  "PQT 0x%llx is beyond the page request queue (%llu bytes, PQA.PQS=%u): page request dropped",
                  (unsigned long long)tail, (unsigned long long)size, (unsigned)(pqa & VTD_PQA_PQS_MASK));
        dropped(u, r, res);
        return;
    }
    const uint64_t next = (tail + VTD_PRQ_DESC_SIZE) & (size - 1);
    /* full: the tail one behind the head (N-1 entries used) */
    if (next == head) {
        prs_set(u, VTD_PRS_PRO);
        res->status = VTD_PRQ_OVERFLOW;
        respond(u, r, VTD_PRC_SUCCESS, res);
        return;
    }
    implicit_inval(u, pi, pasid, r->addr);
    uint8_t desc[VTD_PRQ_DESC_SIZE];
    encode(r, desc);
    if (u->host.mem_write(u->host.opaque, base + tail, desc, sizeof(desc))) {
        vtd_diagf(u, VTD_DIAG_PRQ_WRITE, r->sid, base + tail,
                  "page request descriptor write to 0x%llx, which the platform does not back (PQA): dropped",
                  (unsigned long long)(base + tail));
        dropped(u, r, res);
        return;
    }
    u->r_pqt->val = next;
    prs_set(u, VTD_PRS_PPR);
    res->status = VTD_PRQ_QUEUED;
    res->desc_addr = base + tail;
}

int vtd_page_request(struct vtd *u, const struct vtd_page_req *r, struct vtd_page_req_result *res)
{
    if (!u || !r)
        return VTD_EINVAL;
    if (!(u->cfg.ecap & VTD_ECAP_PRS))
        return VTD_ENOTSUP;
    if ((r->pasid_valid && (r->pasid >> 20)) || (r->prgi >> 9))
        return VTD_EINVAL;
    struct vtd_page_req_result tmp;
    if (!res)
        res = &tmp;
    memset(res, 0, sizeof(*res));
    struct vtd_request req = {.sid = r->sid, .at = VTD_AT_UNTRANSLATED,
                              .access = (uint8_t)((r->read ? VTD_R : 0) | (r->write ? VTD_W : 0)),
                              .pasid_valid = r->pasid_valid, .priv = r->priv, .pasid = r->pasid,
                              .addr = r->addr & VTD_PRQ_DESC_ADDR_MASK};
    /* vtd_stats count vtd_translate calls only: the walk counts into a
     * slot of its own */
    struct stat_slot scratch;
    memset(&scratch, 0, sizeof(scratch));
    struct walk w = {.u = u, .req = &req, .flags = WALK_PRQ, .st = &scratch};
    pthread_mutex_lock(&u->lock);
    const uint32_t hot = atomic_load_explicit(&u->hot, memory_order_acquire);
    if (!(hot & HOT_TE)) {
        /* no translation structures are in use: nothing can be serviced */
        vtd_diagf(u, VTD_DIAG_PRQ_TE_OFF, r->sid, r->addr,
                  "page request from %02x:%02x.%u while translation is disabled (GSTS.TES=0): dropped", r->sid >> 8,
                  (r->sid >> 3) & 31, r->sid & 7);
        dropped(u, r, res);
    } else if (hot & (HOT_TTM_BAD | HOT_ABORT)) {
        prq_fault(u, &w, r, (hot & HOT_ABORT) ? VTD_FR_RTA_ABORT_DMA : VTD_FR_RTA_TTM_INVALID, res);
    } else if (!(hot & HOT_SM)) {
        prq_fault(u, &w, r, VTD_FR_RTA_PRQ_LEGACY, res); /* RTA.3: page requests need scalable mode */
    } else {
        struct smctx sc;
        struct pasidinfo pi;
        memset(&sc, 0, sizeof(sc));
        memset(&pi, 0, sizeof(pi));
        int fr = vtd_sm_fetch(&w, &sc, &pi);
        if (fr)
            prq_fault(u, &w, r, (uint8_t)fr, res);
        else
            enqueue(u, r, &pi, w.sm_pasid, res);
    }
    pthread_mutex_unlock(&u->lock);
    return 0;
}
