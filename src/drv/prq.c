/* SPDX-License-Identifier: MIT */
/*
 * Page requests (Rev 5.10 §7.4-§7.6, §11.4.11): the page request queue the
 * unit writes page request descriptors into (PQA base and size, PQH which
 * software moves, PQT which the unit moves), the page request status
 * (PRS.PPR, PRS.PRO) and event (PECTL, PEDATA, PEADDR, PEUADDR), and the
 * page group responses (QI type 9) the driver sends once the OS's
 * page_request callback serviced a group.
 *
 * PPR is cleared before PQT is read, so a descriptor the unit writes after
 * that read sets PPR again and raises a new event: none is missed.  PRO is
 * cleared only once the queue is empty: while it is set the unit discards
 * every request (answering those that need it Success, so the devices
 * retry), and clearing it on a full queue would only overflow again.
 */
#include "drv_internal.h"

#define PRQ_DESC 32u
#define PRQ_TYPE_PAGE_REQ 0x01

static uint64_t prq_bytes(const struct vtd_drv *d) { return VDRV_PAGE << d->cfg.prq_order; }

int vdrv_prq_alloc(struct vtd_drv *d)
{
    d->prq = false;
    if (!d->ops.page_request || !d->sm || !(d->ecap & VTD_ECAP_PRS))
        return 0;
    int rc = vdrv_page_alloc(d, d->cfg.prq_order, &d->prq_pa, &d->prq_va);
    if (rc)
        return rc;
    d->prq_n = (uint32_t)(prq_bytes(d) / PRQ_DESC);
    /* a group waits for its last request only while its pages are queued or
     * being serviced: no more groups than queue entries can be open */
    d->groups = vdrv_zalloc(d, (size_t)d->prq_n * sizeof(*d->groups));
    if (!d->groups) {
        vdrv_page_free(d, d->cfg.prq_order, d->prq_pa, d->prq_va);
        d->prq_pa = 0;
        d->prq_va = NULL;
        return VTD_DRV_ENOMEM;
    }
    d->prq = true;
    return 0;
}

void vdrv_prq_free(struct vtd_drv *d)
{
    if (!d->prq)
        return;
    vdrv_page_free(d, d->cfg.prq_order, d->prq_pa, d->prq_va);
    vdrv_free(d, d->groups, (size_t)d->prq_n * sizeof(*d->groups));
    d->prq_pa = 0;
    d->prq_va = NULL;
    d->groups = NULL;
    d->prq = false;
}

void vdrv_prq_setup(struct vtd_drv *d)
{
    if (!d->prq)
        return;
    /* §7.4.1: head and tail zero, then the queue's address and size, before
     * any context entry with PRE=1 is used (TE is still off) */
    vdrv_wr32(d, VTD_REG_PECTL, (uint32_t)VTD_ECTL_IM);
    vdrv_wr64(d, VTD_REG_PQH, 0);
    vdrv_wr64(d, VTD_REG_PQT, 0);
    vdrv_wr64(d, VTD_REG_PQA, d->prq_pa | d->cfg.prq_order);
    uint32_t prs = vdrv_rd32(d, VTD_REG_PRS) & (uint32_t)(VTD_PRS_PPR | VTD_PRS_PRO);
    if (prs)
        vdrv_wr32(d, VTD_REG_PRS, prs); /* RW1CS: stale status from an earlier user */
    d->ngroups = 0;
}

/* ---- groups ---- */

static unsigned rank(uint8_t code)
{
    return code == VTD_DRV_PRC_SUCCESS ? 0 : code == VTD_DRV_PRC_INVALID_REQUEST ? 1 : 2;
}

static uint32_t group_find(struct vtd_drv *d, const struct vtd_drv_page_req *r)
{
    for (uint32_t i = 0; i < d->ngroups; i++) {
        const struct vdrv_prq_group *g = &d->groups[i];
        if (g->sid == r->sid && g->prgi == r->prgi && g->pp == r->pasid_present && g->pasid == r->pasid)
            return i;
    }
    return d->ngroups;
}

/* The answer for r's group after r: the worst of the pages so far.  A group
 * is remembered only once a page was answered worse than Success. */
static uint8_t group_note(struct vtd_drv *d, const struct vtd_drv_page_req *r, uint8_t code)
{
    uint32_t i = group_find(d, r);
    if (i < d->ngroups && rank(d->groups[i].code) > rank(code))
        code = d->groups[i].code;
    if (r->lpig) {
        if (i < d->ngroups)
            d->groups[i] = d->groups[--d->ngroups]; /* answered: forgotten */
        return code;
    }
    if (code == VTD_DRV_PRC_SUCCESS)
        return code;
    if (i == d->ngroups) {
        if (d->ngroups == d->prq_n) {
            d->st.prq_lost_groups++;
            vdrv_log(d, VTD_DRV_LOG_WARN, "page group table full: a failed page's group is not remembered",
                     r->prgi);
            return code;
        }
        d->ngroups++;
    }
    struct vdrv_prq_group *g = &d->groups[i];
    g->sid = r->sid;
    g->prgi = r->prgi;
    g->pp = r->pasid_present;
    g->pasid = r->pasid;
    g->code = code;
    return code;
}

/* A stop marker (PCIe: the device stopped using the PASID) ends every open
 * group of that PASID: none of them will see its last request. */
static void groups_stop(struct vtd_drv *d, const struct vtd_drv_page_req *r)
{
    for (uint32_t i = 0; i < d->ngroups;) {
        const struct vdrv_prq_group *g = &d->groups[i];
        if (g->sid == r->sid && g->pp == r->pasid_present && g->pasid == r->pasid)
            d->groups[i] = d->groups[--d->ngroups];
        else
            i++;
    }
}

/* ---- the queue ---- */

static void decode(const uint64_t q[4], struct vtd_drv_page_req *r)
{
    vdrv_memset(r, 0, sizeof(*r));
    r->sid = (uint16_t)VTD_FIELD_GET(q[0], 31, 16);
    r->pasid_present = (q[0] & VTD_PRQ_DESC_PP) != 0;
    r->pasid = r->pasid_present ? (uint32_t)VTD_FIELD_GET(q[0], 51, 32) : 0;
    r->exec = r->pasid_present && (q[0] & VTD_PRQ_DESC_EXR);
    r->priv = r->pasid_present && (q[0] & VTD_PRQ_DESC_PMR);
    r->read = (q[1] & VTD_PRQ_DESC_RDR) != 0;
    r->write = (q[1] & VTD_PRQ_DESC_WRR) != 0;
    r->lpig = (q[1] & VTD_PRQ_DESC_LPIG) != 0;
    r->prgi = (uint16_t)VTD_FIELD_GET(q[1], 11, 3);
    r->addr = q[1] & VTD_PRQ_DESC_ADDR_MASK;
}

static int prq_offsets(struct vtd_drv *d, uint64_t *head, uint64_t *tail)
{
    *head = vdrv_rd64(d, VTD_REG_PQH) & VTD_PQH_MASK;
    *tail = vdrv_rd64(d, VTD_REG_PQT) & VTD_PQT_MASK;
    if (*head >= prq_bytes(d) || *tail >= prq_bytes(d)) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "page request queue head or tail beyond the queue (PQA.PQS)", *tail);
        return VTD_DRV_EIO;
    }
    return 0;
}

/* One descriptor at PQH: decode, service (the callback runs unlocked),
 * answer its group, move PQH.  0, or VTD_DRV_EIO when it cannot be read. */
static int service_one(struct vtd_drv *d, uint64_t *head)
{
    uint64_t q[4];
    if (vdrv_mrd(d, d->prq_pa + *head, q, sizeof(q))) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "page request descriptor unreadable at PQH", *head);
        return VTD_DRV_EIO;
    }
    *head = (*head + PRQ_DESC) & (prq_bytes(d) - 1);
    d->st.prq_requests++;
    if ((q[0] & 0xFF) != PRQ_TYPE_PAGE_REQ) {
        /* Rev 5.10 defines no other type; nothing to answer */
        vdrv_log(d, VTD_DRV_LOG_WARN, "page request queue: unknown descriptor type skipped", q[0] & 0xFF);
        vdrv_wr64(d, VTD_REG_PQH, *head);
        return 0;
    }
    struct vtd_drv_page_req r;
    decode(q, &r);
    r.dom = vdrv_sm_domain_of(d, r.sid, r.pasid_present ? r.pasid : 0);
    vdrv_unlock(d);
    int code = d->ops.page_request(d->ops.opaque, &r);
    vdrv_lock(d);
    if (code != VTD_DRV_PRC_SUCCESS && code != VTD_DRV_PRC_INVALID_REQUEST && code != VTD_DRV_PRC_FAILURE) {
        vdrv_log(d, VTD_DRV_LOG_WARN, "page_request returned no response code: Invalid Request", (uint64_t)code);
        code = VTD_DRV_PRC_INVALID_REQUEST;
    }
    /* a stop marker (neither read nor write) has no group to answer */
    if (r.read || r.write) {
        uint8_t c = group_note(d, &r, (uint8_t)code);
        if (r.lpig)
            vdrv_qi_page_response(d, r.sid, r.pasid_present, r.pasid, r.prgi, c);
    } else if (r.lpig) {
        groups_stop(d, &r);
    }
    vdrv_wr64(d, VTD_REG_PQH, *head);
    return 0;
}

/* PRO is cleared once everything queued before it was serviced. */
static int overflow_check(struct vtd_drv *d, uint64_t head)
{
    if (!(vdrv_rd32(d, VTD_REG_PRS) & VTD_PRS_PRO))
        return 0;
    if ((vdrv_rd64(d, VTD_REG_PQT) & VTD_PQT_MASK) != head)
        return 0; /* the next drain */
    vdrv_wr32(d, VTD_REG_PRS, (uint32_t)VTD_PRS_PRO);
    d->st.prq_overflows++;
    vdrv_log(d, VTD_DRV_LOG_WARN, "page request queue overflow (PRS.PRO): page requests were discarded", head);
    struct vtd_drv_fault f;
    vdrv_memset(&f, 0, sizeof(f));
    f.kind = VTD_DRV_FAULT_PRQ_OVERFLOW;
    vdrv_report(d, &f);
    return 1;
}

static int drain_locked(struct vtd_drv *d)
{
    if (!d->prq || !d->enabled)
        return VTD_DRV_ENOTSUP;
    if (d->prq_busy)
        return VTD_DRV_EBUSY;
    d->prq_busy = true;
    if (vdrv_rd32(d, VTD_REG_PRS) & VTD_PRS_PPR)
        vdrv_wr32(d, VTD_REG_PRS, (uint32_t)VTD_PRS_PPR);
    uint64_t head, tail;
    int rc = prq_offsets(d, &head, &tail);
    uint32_t n = 0;
    while (!rc && head != tail && n < d->prq_n) {
        rc = service_one(d, &head);
        if (!rc && ++n < d->prq_n && head == tail)
            rc = prq_offsets(d, &head, &tail); /* more may have come meanwhile */
    }
    int r = vdrv_sync(d); /* the responses */
    if (!rc)
        rc = r;
    if (!rc)
        overflow_check(d, head);
    d->prq_busy = false;
    return rc ? rc : (int)n;
}

int vdrv_prq_drain_departed(struct vtd_drv *d)
{
    if (!d->prq || !d->enabled)
        return 0;
    for (int round = 0; round < 2; round++) {
        int rc = vdrv_sync_page_drain(d);
        if (rc)
            return rc;
        if (d->prq_busy)
            return 0; /* detach from inside the page_request callback: the running drain services the queue */
        rc = drain_locked(d);
        if (rc < 0)
            return rc;
        if (!(vdrv_rd32(d, VTD_REG_PRS) & VTD_PRS_PRO))
            break;
    }
    return 0;
}

int vtd_drv_prq_drain(struct vtd_drv *d)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = drain_locked(d);
    vdrv_unlock(d);
    return rc;
}
