/* SPDX-License-Identifier: MIT */
/*
 * Scalable-mode structures (Rev 5.10 §9.2 scalable-mode root entry, §9.4
 * scalable-mode context entry, §9.5 PASID directory, §9.6 PASID-table entry)
 * and the invalidations that go with them (§6.5.3.3): PASID cache, IOTLB /
 * PASID-based IOTLB, device-TLB.
 *
 * One PASID-directory page per requester (512 entries, PDTS = 2: PASIDs
 * below 2^15), one PASID-table page per 64 PASIDs, allocated on first use.
 */
#include "drv_internal.h"

#define PDIR_PDTS 2       /* 2^(2+7) = 512 directory entries: one page */
#define PASID_LIMIT 32768 /* what one directory page covers */

static unsigned largest_aw(struct vtd_drv *d)
{
    for (unsigned l = 5; l >= 3; l--)
        if (d->levels_mask & (1u << l))
            return l - 2;
    return 1;
}

/* address of the scalable-mode context entry for devfn; allocates the
 * lower/upper context table and sets the root entry's LP/UP */
static int ctx_entry(struct vtd_drv *d, struct vdrv_bus *bs, uint8_t busn, uint8_t devfn, uint64_t *ce, bool *new_tbl)
{
    unsigned h = devfn >> 7;
    *new_tbl = false;
    if (!bs->ctx_pa[h] && !bs->ctx_va[h]) {
        int rc = vdrv_page_alloc(d, 0, &bs->ctx_pa[h], &bs->ctx_va[h]);
        if (rc)
            return rc;
        uint64_t re = d->root_pa + (uint64_t)busn * VTD_ROOT_SIZE + 8 * h;
        rc = vdrv_mwr64(d, re, bs->ctx_pa[h] | VTD_ROOT_LO_P); /* LP (lo) / UP (hi) */
        vdrv_clflush(d, re, 8);
        if (rc)
            return rc;
        *new_tbl = true;
    }
    *ce = bs->ctx_pa[h] + (uint64_t)(devfn & 0x7F) * VDRV_SMCTX_SIZE;
    return 0;
}

/* address of the PASID-table entry for pasid; allocates its table */
static int pasid_entry(struct vtd_drv *d, struct vdrv_dev *dev, uint32_t pasid, bool alloc, uint64_t *pe)
{
    uint64_t de = dev->pdir_pa + (uint64_t)(pasid >> 6) * 8, v;
    int rc = vdrv_mrd64(d, de, &v);
    if (rc)
        return rc;
    if (!(v & VDRV_PDE_P)) {
        if (!alloc)
            return VTD_DRV_ENOENT;
        uint64_t t;
        if ((rc = vdrv_table_alloc(d, &t)))
            return rc;
        vdrv_clflush(d, t, VDRV_PAGE);
        v = t | VDRV_PDE_P;
        if ((rc = vdrv_mwr64(d, de, v))) {
            vdrv_table_free(d, t);
            return rc;
        }
        vdrv_clflush(d, de, 8);
    }
    *pe = (v & VTD_GENMASK(63, 12)) + (uint64_t)(pasid & 63) * VDRV_PE_SIZE;
    return 0;
}

static void inv_pasid_iotlb(struct vtd_drv *d, int pgtt, uint16_t did, uint32_t pasid)
{
    if (pgtt == VDRV_PGTT_FL || pgtt == VDRV_PGTT_NESTED || pgtt == VDRV_PGTT_PT)
        vdrv_inv_piotlb_range(d, did, pasid, 0, 0, false);
    else
        vdrv_inv_iotlb(d, VTD_IOTLB_DOMAIN, did, 0, 0, false);
}

int vdrv_sm_attach(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid, int pgtt, uint64_t fl_root,
                   unsigned fl_levels, unsigned flags)
{
    struct vtd_drv *d = dom->d;
    uint8_t busn = (uint8_t)(sid >> 8), devfn = (uint8_t)sid;
    bool ats = flags & VTD_DRV_ATTACH_ATS;
    uint32_t limit = d->pss >= 15 ? PASID_LIMIT : 1u << d->pss;
    if (pasid >= limit || (pasid && !(d->ecap & VTD_ECAP_PASID)))
        return VTD_DRV_ENOTSUP;
    if (ats && (!(d->ecap & VTD_ECAP_DT) || pasid))
        return VTD_DRV_ENOTSUP; /* device-TLB: RID_PASID attach only */
    if ((pgtt == VDRV_PGTT_SL && !(d->ecap & VTD_ECAP_SLTS)) || (pgtt == VDRV_PGTT_FL && !(d->ecap & VTD_ECAP_FLTS)) ||
        (pgtt == VDRV_PGTT_PT && !(d->ecap & VTD_ECAP_PT)) ||
        (pgtt == VDRV_PGTT_NESTED && !(d->ecap & VTD_ECAP_NEST)))
        return VTD_DRV_ENOTSUP;
    struct vdrv_bus *bs;
    int rc = vdrv_bus_get(d, busn, &bs);
    if (rc)
        return rc;
    struct vdrv_dev *dev = &bs->dev[devfn];
    if (pasid == 0 && dev->dom)
        return VTD_DRV_EEXIST;
    bool new_ctx = false, new_tbl = false;
    uint64_t ce = 0;
    if (!dev->pdir_pa) {
        if ((rc = ctx_entry(d, bs, busn, devfn, &ce, &new_tbl)))
            return rc;
        if ((rc = vdrv_table_alloc(d, &dev->pdir_pa)))
            return rc;
        vdrv_clflush(d, dev->pdir_pa, VDRV_PAGE);
        new_ctx = true;
    }
    uint64_t pe;
    if ((rc = pasid_entry(d, dev, pasid, true, &pe)))
        return rc;
    uint64_t q0;
    if ((rc = vdrv_mrd64(d, pe, &q0)))
        return rc;
    if (q0 & VDRV_PE_P)
        return VTD_DRV_EEXIST;
    if ((rc = vdrv_ref_add(dom, sid, pasid, ats)))
        return rc;

    /* §9.6 PASID-table entry: q1..q7 first, q0 (P) last */
    uint64_t pe_q[8] = { 0 };
    unsigned aw = pgtt == VDRV_PGTT_SL || pgtt == VDRV_PGTT_NESTED ? dom->levels - 2 : largest_aw(d);
    pe_q[0] = VDRV_PE_P | (flags & VTD_DRV_ATTACH_FPD ? VDRV_PE_FPD : 0) | (uint64_t)aw << VDRV_PE_AW_SHIFT |
              (uint64_t)pgtt << VDRV_PE_PGTT_SHIFT;
    if (pgtt == VDRV_PGTT_SL || pgtt == VDRV_PGTT_NESTED)
        pe_q[0] |= dom->root_pa;
    pe_q[1] = dom->did;
    /* walks snoop where the unit can (ECAP.SMPWCS): A/D updates of first-
     * level entries (nested: the caller's table) need PWSNP = 1 (§9.6) */
    if (d->ecap & VTD_ECAP_SMPWCS)
        pe_q[1] |= VTD_PE_Q1_PWSNP;
    if (pgtt == VDRV_PGTT_FL)
        pe_q[2] = dom->root_pa | (uint64_t)(dom->levels == 5) << VDRV_PE_Q2_FLPM_SHIFT;
    else if (pgtt == VDRV_PGTT_NESTED)
        pe_q[2] = fl_root | (uint64_t)(fl_levels == 5) << VDRV_PE_Q2_FLPM_SHIFT;
    rc = vdrv_mwr(d, pe + 8, &pe_q[1], 56);
    if (!rc)
        rc = vdrv_mwr64(d, pe, pe_q[0]);
    vdrv_clflush(d, pe, VDRV_PE_SIZE);
    if (!rc && new_ctx) {
        /* §9.4 scalable-mode context entry: q1 (RID_PASID = 0) then q0 */
        uint64_t c[4] = { 0 };
        c[0] = VDRV_SMCTX_P | (flags & VTD_DRV_ATTACH_FPD ? VDRV_SMCTX_FPD : 0) | (ats ? VDRV_SMCTX_DTE : 0) |
               (d->ecap & VTD_ECAP_PASID ? VDRV_SMCTX_PASIDE : 0) | (uint64_t)PDIR_PDTS << VDRV_SMCTX_PDTS_SHIFT |
               dev->pdir_pa;
        rc = vdrv_mwr(d, ce + 8, &c[1], 24);
        if (!rc)
            rc = vdrv_mwr64(d, ce, c[0]);
        vdrv_clflush(d, ce, VDRV_SMCTX_SIZE);
        if (!rc)
            bs->nctx[devfn >> 7]++;
    }
    if (rc) {
        vdrv_mwr64(d, pe, 0);
        vdrv_ref_del(dom, sid, pasid);
        return rc;
    }
    dev->npasid++;
    if (pasid == 0) {
        dev->dom = dom;
        dev->flags = flags;
        dom->ndev++;
        if (ats)
            dom->nats++;
    }
    /* not present -> present: caching mode needs invalidations */
    if (d->cm) {
        if (new_ctx)
            vdrv_inv_cc(d, VTD_CC_DEVICE, 0, sid, 0);
        /* §6.2.3: a cached entry that faulted (P=0) is tagged with the
         * reserved domain id 0, not the domain the entry now names */
        vdrv_inv_pc(d, VDRV_PC_G_PASID, 0, pasid);
        inv_pasid_iotlb(d, pgtt, dom->did, pasid);
        return vdrv_sync(d);
    }
    return vdrv_wbf(d);
}

int vdrv_sm_detach(struct vtd_drv *d, uint16_t sid, uint32_t pasid)
{
    struct vdrv_bus *bs = d->bus[sid >> 8];
    struct vdrv_dev *dev = bs ? &bs->dev[sid & 0xFF] : NULL;
    if (!dev || !dev->pdir_pa)
        return VTD_DRV_ENOENT;
    uint64_t pe;
    int rc = pasid_entry(d, dev, pasid, false, &pe);
    if (rc)
        return rc;
    uint64_t q[8];
    if ((rc = vdrv_mrd(d, pe, q, sizeof(q))))
        return rc;
    if (!(q[0] & VDRV_PE_P))
        return VTD_DRV_ENOENT;
    uint16_t did = (uint16_t)q[1];
    int pgtt = (int)VTD_FIELD_GET(q[0], 8, 6);
    struct vtd_drv_domain *dom = NULL;
    for (struct vtd_drv_domain *x = d->domains; x; x = x->next)
        if (x->did == did)
            dom = x;
    /* §6.5.3.3 / Linux's PASID teardown: clear P, PASID-cache, IOTLB (or
     * P_IOTLB), device-TLB */
    rc = vdrv_mwr64(d, pe, 0);
    vdrv_clflush(d, pe, 8);
    vdrv_inv_pc(d, VDRV_PC_G_PASID, did, pasid);
    inv_pasid_iotlb(d, pgtt, did, pasid);
    bool ats = pasid == 0 && (dev->flags & VTD_DRV_ATTACH_ATS);
    if (ats)
        vdrv_inv_devtlb(d, sid, 0, 0);
    int r = vdrv_sync(d);
    if (!rc)
        rc = r;
    dev->npasid--;
    if (dom) {
        vdrv_ref_del(dom, sid, pasid);
        if (pasid == 0) {
            dom->ndev--;
            if (ats)
                dom->nats--;
        }
    }
    if (pasid == 0) {
        dev->dom = NULL;
        dev->flags = 0;
    }
    if (dev->npasid == 0) {
        /* the last PASID: the context entry goes, then everything it tagged */
        uint64_t ce = bs->ctx_pa[(sid & 0xFF) >> 7] + (uint64_t)(sid & 0x7F) * VDRV_SMCTX_SIZE;
        vdrv_mwr64(d, ce, 0);
        vdrv_clflush(d, ce, 8);
        vdrv_inv_cc(d, VTD_CC_DEVICE, did, sid, 0);
        vdrv_inv_pc(d, VDRV_PC_G_GLOBAL, 0, 0);
        vdrv_inv_iotlb(d, VTD_IOTLB_GLOBAL, 0, 0, 0, false);
        r = vdrv_sync(d);
        if (!rc)
            rc = r;
        bs->nctx[(sid & 0xFF) >> 7]--;
        vdrv_sm_free_dev(d, dev);
    }
    return rc;
}

/* The first-level or nested entry of (sid, pasid) changed outside the
 * driver (a guest's own tables): PASID-based IOTLB invalidation with the
 * entry's DID, then wait. */
int vdrv_sm_inval_pasid(struct vtd_drv *d, uint16_t sid, uint32_t pasid, uint64_t iova, uint64_t size, bool leaf)
{
    struct vdrv_bus *bs = d->bus[sid >> 8];
    struct vdrv_dev *dev = bs ? &bs->dev[sid & 0xFF] : NULL;
    if (!dev || !dev->pdir_pa || pasid >= PASID_LIMIT)
        return VTD_DRV_ENOENT;
    uint64_t pe, q[2];
    int rc = pasid_entry(d, dev, pasid, false, &pe);
    if (rc)
        return rc;
    if ((rc = vdrv_mrd(d, pe, q, sizeof(q))))
        return rc;
    if (!(q[0] & VDRV_PE_P))
        return VTD_DRV_ENOENT;
    int pgtt = (int)VTD_FIELD_GET(q[0], 8, 6);
    if (pgtt != VDRV_PGTT_FL && pgtt != VDRV_PGTT_NESTED)
        return VTD_DRV_EINVAL; /* second level: vtd_drv_unmap invalidates */
    vdrv_inv_piotlb_range(d, (uint16_t)q[1], pasid, iova, size, leaf);
    return vdrv_sync(d);
}

void vdrv_sm_detach_all(struct vtd_drv *d, uint16_t sid)
{
    struct vdrv_bus *bs = d->bus[sid >> 8];
    struct vdrv_dev *dev = bs ? &bs->dev[sid & 0xFF] : NULL;
    if (!dev)
        return;
    for (uint32_t p = 0; dev->pdir_pa && dev->npasid && p < PASID_LIMIT; p++) {
        uint64_t pe, q0;
        if ((p & 63) == 0 && pasid_entry(d, dev, p, false, &pe) == VTD_DRV_ENOENT) {
            p += 63;
            continue;
        }
        if (pasid_entry(d, dev, p, false, &pe) == 0 && vdrv_mrd64(d, pe, &q0) == 0 && (q0 & VDRV_PE_P))
            vdrv_sm_detach(d, sid, p);
    }
}

void vdrv_sm_free_dev(struct vtd_drv *d, struct vdrv_dev *dev)
{
    if (!dev->pdir_pa)
        return;
    uint64_t v;
    for (unsigned i = 0; i < 512; i++)
        if (vdrv_mrd64(d, dev->pdir_pa + i * 8ULL, &v) == 0 && (v & VDRV_PDE_P))
            vdrv_table_free(d, v & VTD_GENMASK(63, 12));
    vdrv_table_free(d, dev->pdir_pa);
    dev->pdir_pa = 0;
    dev->npasid = 0;
}
