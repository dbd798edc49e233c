/* SPDX-License-Identifier: MIT */
/*
 * Invalidation (Rev 5.10 §6.5): the queued interface (§6.5.2: descriptors
 * gathered into a batch and submitted with an invalidation wait descriptor
 * whose status write is polled) and the register-based fallback (§6.5.1:
 * CCMD, IVA/IOTLB) for units without ECAP.QI.
 */
#include "drv_internal.h"

#define DESC_WAIT_NOOP ((uint64_t)VTD_DESC_WAIT)

/* ---- queue setup ---- */

int vdrv_qi_setup(struct vtd_drv *d)
{
    int rc;
    if (!d->qi_pa && !d->qi_va) {
        if ((rc = vdrv_page_alloc(d, d->cfg.qi_order, &d->qi_pa, &d->qi_va)))
            return rc;
    }
    if (!d->st_pa && !d->st_va) {
        if ((rc = vdrv_page_alloc(d, 0, &d->st_pa, &d->st_va)))
            return rc;
    }
    d->qi_n = (uint32_t)((VDRV_PAGE << d->cfg.qi_order) / d->desc_sz);
    d->qi_tail = 0;
    d->nbatch = 0;
    d->batch_err = 0;
    /* §6.5.2: IQT = 0, then IQA (base, size, width), then QIE */
    vdrv_wr64(d, VTD_REG_IQT, 0);
    vdrv_wr64(d, VTD_REG_IQA, d->qi_pa | (d->desc_sz == 32 ? VTD_IQA_DW : 0) | d->cfg.qi_order);
    return vdrv_gcmd_persist(d, VTD_GCMD_QIE, true);
}

void vdrv_qi_teardown(struct vtd_drv *d)
{
    if (d->qi_pa || d->qi_va)
        vdrv_page_free(d, d->cfg.qi_order, d->qi_pa, d->qi_va);
    if (d->st_pa || d->st_va)
        vdrv_page_free(d, 0, d->st_pa, d->st_va);
    d->qi_pa = d->st_pa = 0;
    d->qi_va = d->st_va = NULL;
}

/* ---- errors ---- */

void vdrv_report(struct vtd_drv *d, const struct vtd_drv_fault *f)
{
    if (d->ops.fault)
        d->ops.fault(d->ops.opaque, f);
}

int vdrv_qi_errors(struct vtd_drv *d, int *events)
{
    uint32_t fsts = vdrv_rd32(d, VTD_REG_FSTS);
    int rc = 0;
    if (!(fsts & (VTD_FSTS_IQE | VTD_FSTS_ITE | VTD_FSTS_ICE)))
        return 0;
    uint64_t iqercd = vdrv_rd64(d, VTD_REG_IQERCD);
    struct vtd_drv_fault f;
    if (fsts & VTD_FSTS_IQE) {
        vdrv_memset(&f, 0, sizeof(f));
        f.kind = VTD_DRV_FAULT_IQE;
        f.iqei = (uint8_t)(iqercd & VTD_IQERCD_IQEI_MASK);
        f.iqh = vdrv_rd64(d, VTD_REG_IQH) & VTD_IQH_QH_MASK;
        vdrv_log(d, VTD_DRV_LOG_ERR, "invalidation queue error (IQE) at IQH", f.iqh);
        vdrv_report(d, &f);
        (*events)++;
        /* Recover as hardware allows: the unit stopped at the bad descriptor
         * (IQH); make it a no-op wait descriptor and clear IQE, which resumes
         * fetching from IQH. */
        if (d->qi_n && f.iqh / d->desc_sz < d->qi_n) {
            uint64_t nop[4] = { DESC_WAIT_NOOP, 0, 0, 0 };
            vdrv_mwr(d, d->qi_pa + f.iqh, nop, d->desc_sz);
        }
        vdrv_wr32(d, VTD_REG_FSTS, (uint32_t)VTD_FSTS_IQE);
        rc = VTD_DRV_EIO;
    }
    if (fsts & VTD_FSTS_ITE) {
        vdrv_memset(&f, 0, sizeof(f));
        f.kind = VTD_DRV_FAULT_ITE;
        f.sid = (uint16_t)(iqercd >> VTD_IQERCD_ITESID_SHIFT);
        vdrv_log(d, VTD_DRV_LOG_ERR, "device-TLB invalidation time-out (ITE), source-id", f.sid);
        vdrv_report(d, &f);
        (*events)++;
        vdrv_wr32(d, VTD_REG_FSTS, (uint32_t)VTD_FSTS_ITE);
        if (!rc)
            rc = VTD_DRV_ETIMEDOUT;
    }
    if (fsts & VTD_FSTS_ICE) {
        vdrv_memset(&f, 0, sizeof(f));
        f.kind = VTD_DRV_FAULT_ICE;
        f.sid = (uint16_t)(iqercd >> VTD_IQERCD_ICESID_SHIFT);
        vdrv_log(d, VTD_DRV_LOG_WARN, "invalidation completion error (ICE), source-id", f.sid);
        vdrv_report(d, &f);
        (*events)++;
        vdrv_wr32(d, VTD_REG_FSTS, (uint32_t)VTD_FSTS_ICE);
    }
    return rc;
}

/* ---- submission ---- */

/* wait_flags: more flags of the closing wait descriptor (FN, PD) */
static int qi_submit(struct vtd_drv *d, uint64_t wait_flags)
{
    uint32_t seq = ++d->st_seq;
    if (seq == 0)
        seq = ++d->st_seq;
    /* §6.5.2.9: wait descriptor, status write of seq to the status page */
    d->batch[d->nbatch][0] =
        VTD_DESC_WAIT | VTD_DESC_WAIT_SW | wait_flags | (uint64_t)seq << VTD_DESC_WAIT_STDATA_SHIFT;
    d->batch[d->nbatch][1] = d->st_pa;
    unsigned n = d->nbatch + 1;
    d->nbatch = 0;
    int rc = 0;
    for (unsigned i = 0; i < n && !rc; i++) {
        uint64_t desc[4] = { d->batch[i][0], d->batch[i][1], 0, 0 };
        rc = vdrv_mwrq(d, d->qi_pa + (uint64_t)d->qi_tail * d->desc_sz, desc, d->desc_sz / 8);
        d->qi_tail = (d->qi_tail + 1) % d->qi_n;
    }
    if (rc)
        return rc;
    d->st.qi_submits++;
    d->st.qi_descs += n;
    vdrv_wr64(d, VTD_REG_IQT, (uint64_t)d->qi_tail * d->desc_sz);
    int err = 0, events = 0;
    for (uint32_t i = 0; i < d->poll_limit; i++) {
        uint32_t st = 0;
        if ((rc = vdrv_mrd32(d, d->st_pa, &st)))
            return rc;
        if (st == seq)
            return err;
        int e = vdrv_qi_errors(d, &events);
        if (e == VTD_DRV_ETIMEDOUT)
            return e; /* ITE aborted the wait: it will never write its status */
        if (e && !err)
            err = e;
        vdrv_relax(d);
    }
    vdrv_log(d, VTD_DRV_LOG_ERR, "invalidation wait descriptor did not complete", seq);
    return VTD_DRV_ETIMEDOUT;
}

static void qi_push(struct vtd_drv *d, uint64_t lo, uint64_t hi)
{
    if (d->nbatch + 1 >= VDRV_BATCH || d->nbatch + 1 >= d->qi_n - 1) {
        int rc = qi_submit(d, 0);
        if (rc && !d->batch_err)
            d->batch_err = rc;
    }
    d->batch[d->nbatch][0] = lo;
    d->batch[d->nbatch][1] = hi;
    d->nbatch++;
}

int vdrv_sync(struct vtd_drv *d)
{
    int rc = d->batch_err;
    d->batch_err = 0;
    if (!d->live) {
        d->nbatch = 0;
        return 0;
    }
    if (d->qi && d->nbatch) {
        int r = qi_submit(d, 0);
        if (!rc)
            rc = r;
    }
    return rc;
}

int vdrv_sync_page_drain(struct vtd_drv *d)
{
    int rc = d->batch_err;
    d->batch_err = 0;
    if (!d->live || !d->qi) {
        d->nbatch = 0;
        return rc;
    }
    /* PD is reserved without ECAP.PDS; the fence alone then orders the wait */
    int r = qi_submit(d, VTD_DESC_WAIT_FN | ((d->ecap & VTD_ECAP_PDS) ? VTD_DESC_WAIT_PD : 0));
    return rc ? rc : r;
}

/* ---- register-based (§6.5.1) ---- */

static void reg_error(struct vtd_drv *d, int rc)
{
    if (rc && !d->batch_err)
        d->batch_err = rc;
}

static int reg_cc(struct vtd_drv *d, int gran, uint16_t did, uint16_t sid, uint8_t fm)
{
    uint64_t v = VTD_CCMD_ICC | (uint64_t)gran << VTD_CCMD_CIRG_SHIFT | (uint64_t)(fm & 3) << VTD_CCMD_FM_SHIFT |
                 (uint64_t)sid << VTD_CCMD_SID_SHIFT | did;
    d->st.reg_invals++;
    vdrv_wr64(d, VTD_REG_CCMD, v);
    for (uint32_t i = 0; i < d->poll_limit; i++) {
        uint64_t r = vdrv_rd64(d, VTD_REG_CCMD);
        if (!(r & VTD_CCMD_ICC)) {
            if (VTD_FIELD_GET(r, 60, 59) == 0) {
                vdrv_log(d, VTD_DRV_LOG_ERR, "context-cache invalidation refused (CAIG = 0)", r);
                return VTD_DRV_EIO;
            }
            return 0;
        }
        vdrv_relax(d);
    }
    return VTD_DRV_ETIMEDOUT;
}

static int reg_iotlb(struct vtd_drv *d, int gran, uint16_t did, uint64_t addr, unsigned am, bool ih)
{
    uint64_t v = VTD_IOTLB_IVT | (uint64_t)gran << VTD_IOTLB_IIRG_SHIFT | (uint64_t)did << VTD_IOTLB_DID_SHIFT;
    if (d->cap & VTD_CAP_DRD)
        v |= VTD_IOTLB_DR;
    if (d->cap & VTD_CAP_DWD)
        v |= VTD_IOTLB_DW;
    d->st.reg_invals++;
    if (gran == VTD_IOTLB_PAGE)
        vdrv_wr64(d, d->iro + VTD_REG_IVA_OFF, addr | (ih ? VTD_IVA_IH : 0) | am);
    vdrv_wr64(d, d->iro + VTD_REG_IOTLB_OFF, v);
    for (uint32_t i = 0; i < d->poll_limit; i++) {
        uint64_t r = vdrv_rd64(d, d->iro + VTD_REG_IOTLB_OFF);
        if (!(r & VTD_IOTLB_IVT)) {
            if (VTD_FIELD_GET(r, 58, 57) == 0) {
                vdrv_log(d, VTD_DRV_LOG_ERR, "IOTLB invalidation refused (IAIG = 0)", r);
                return VTD_DRV_EIO;
            }
            return 0;
        }
        vdrv_relax(d);
    }
    return VTD_DRV_ETIMEDOUT;
}

/* ---- the invalidations ---- */

void vdrv_inv_cc(struct vtd_drv *d, int gran, uint16_t did, uint16_t sid, uint8_t fm)
{
    if (!d->live)
        return;
    if (gran == VTD_CC_GLOBAL)
        d->st.cc_global++;
    else if (gran == VTD_CC_DOMAIN)
        d->st.cc_domain++;
    else
        d->st.cc_device++;
    if (!d->qi) {
        reg_error(d, reg_cc(d, gran, did, sid, fm));
        return;
    }
    qi_push(d, VTD_DESC_CC | (uint64_t)gran << VTD_DESC_G_SHIFT | (uint64_t)did << VTD_DESC_DID_SHIFT |
                   (uint64_t)sid << VTD_DESC_CC_SID_SHIFT | (uint64_t)(fm & 3) << VTD_DESC_CC_FM_SHIFT,
            0);
}

void vdrv_inv_iotlb(struct vtd_drv *d, int gran, uint16_t did, uint64_t addr, unsigned am, bool ih)
{
    if (!d->live)
        return;
    if (gran == VTD_IOTLB_GLOBAL)
        d->st.iotlb_global++;
    else if (gran == VTD_IOTLB_DOMAIN)
        d->st.iotlb_dsi++;
    else
        d->st.iotlb_psi++;
    if (!d->qi) {
        reg_error(d, reg_iotlb(d, gran, did, addr, am, ih));
        return;
    }
    uint64_t lo = VTD_DESC_IOTLB | (uint64_t)gran << VTD_DESC_G_SHIFT | (uint64_t)did << VTD_DESC_DID_SHIFT;
    if (d->cap & VTD_CAP_DRD)
        lo |= VTD_DESC_IOTLB_DR;
    if (d->cap & VTD_CAP_DWD)
        lo |= VTD_DESC_IOTLB_DW;
    uint64_t hi = gran == VTD_IOTLB_PAGE ? (addr & VTD_DESC_ADDR_MASK) | (ih ? VTD_DESC_IOTLB_IH : 0) | am : 0;
    qi_push(d, lo, hi);
}

/* The smallest naturally aligned power-of-two block of pages covering
 * [iova, iova+size): *base, and its order (AM). */
static unsigned cover(uint64_t iova, uint64_t size, uint64_t *base)
{
    uint64_t first = iova >> 12, last = (iova + size - 1) >> 12;
    unsigned am = 0;
    while ((first >> am) != (last >> am))
        am++;
    *base = (first >> am << am) << 12;
    return am;
}

void vdrv_inv_iotlb_range(struct vtd_drv *d, uint16_t did, uint64_t iova, uint64_t size, bool ih)
{
    uint64_t base;
    unsigned am = size ? cover(iova, size, &base) : 64;
    /* §6.5.2.3: page-selective needs CAP.PSI and AM <= CAP.MAMV */
    if (!size || !d->psi || am > d->mamv)
        vdrv_inv_iotlb(d, VTD_IOTLB_DOMAIN, did, 0, 0, false);
    else
        vdrv_inv_iotlb(d, VTD_IOTLB_PAGE, did, base, am, ih);
}

void vdrv_inv_piotlb_range(struct vtd_drv *d, uint16_t did, uint32_t pasid, uint64_t iova, uint64_t size, bool ih)
{
    if (!d->live || !d->qi)
        return;
    uint64_t base;
    unsigned am = size ? cover(iova, size, &base) : 64;
    uint64_t lo = VTD_DESC_PIOTLB | (uint64_t)did << VTD_DESC_DID_SHIFT | (uint64_t)(pasid & 0xFFFFF) << 32;
    if (!size || am > d->mamv) {
        d->st.iotlb_dsi++;
        qi_push(d, lo | (uint64_t)VTD_DESC_PIOTLB_G_PASID << VTD_DESC_G_SHIFT, 0);
    } else {
        d->st.iotlb_psi++;
        qi_push(d, lo | (uint64_t)VTD_DESC_PIOTLB_G_PAGE << VTD_DESC_G_SHIFT, base | am | (ih ? VTD_DESC_IOTLB_IH : 0));
    }
}

void vdrv_inv_devtlb(struct vtd_drv *d, uint16_t sid, uint64_t iova, uint64_t size)
{
    if (!d->live || !d->qi)
        return;
    d->st.devtlb_invals++;
    /* §6.5.2.5: S=0 one page; S=1 the size is 2^(k+1) bytes where bit k is
     * the lowest 0 bit of ADDR at or above 12; all ones (bit 63 0) = all. */
    uint64_t addr, s = 0;
    if (size == 0) {
        addr = 0x7FFFFFFFFFFFF000ULL;
        s = VTD_DESC_DEVTLB_S;
    } else {
        uint64_t base;
        unsigned am = cover(iova, size, &base);
        if (am + 12 >= 63) {
            addr = 0x7FFFFFFFFFFFF000ULL;
            s = VTD_DESC_DEVTLB_S;
        } else if (am == 0) {
            addr = base;
        } else {
            addr = base | (((1ULL << (am + 11)) - 1) & ~0xFFFULL);
            s = VTD_DESC_DEVTLB_S;
        }
    }
    /* The IOTLB invalidations before this one must have completed before
     * the device is told, or it could refetch a stale translation: fence. */
    qi_push(d, VTD_DESC_WAIT | VTD_DESC_WAIT_FN, 0);
    uint64_t lo = VTD_DESC_DEVTLB | (uint64_t)sid << VTD_DESC_DEVTLB_SID_SHIFT |
                  (uint64_t)(sid & 0xF) << VTD_DESC_DEVTLB_PFSID_LO_SHIFT |
                  (uint64_t)(sid >> 4) << VTD_DESC_DEVTLB_PFSID_HI_SHIFT;
    qi_push(d, lo, addr | s);
}

void vdrv_inv_pdevtlb_pasid(struct vtd_drv *d, uint16_t sid, uint32_t pasid)
{
    if (!d->live || !d->qi)
        return;
    d->st.devtlb_invals++;
    /* §6.5.2.8: S=1 with ADDR 0x7FFF_FFFF_FFFF_F000: every page of the PASID */
    qi_push(d, VTD_DESC_WAIT | VTD_DESC_WAIT_FN, 0);
    uint64_t lo = VTD_DESC_PDEVTLB | (uint64_t)sid << VTD_DESC_PDEVTLB_SID_SHIFT |
                  (uint64_t)pasid << VTD_DESC_PASID_SHIFT |
                  (uint64_t)(sid & 0xF) << VTD_DESC_DEVTLB_PFSID_LO_SHIFT |
                  (uint64_t)(sid >> 4) << VTD_DESC_DEVTLB_PFSID_HI_SHIFT;
    qi_push(d, lo, 0x7FFFFFFFFFFFF000ULL | VTD_DESC_PDEVTLB_S);
}

void vdrv_inv_iec(struct vtd_drv *d, bool global, uint32_t index, unsigned im)
{
    if (!d->live || !d->qi)
        return;
    d->st.iec_invals++;
    uint64_t lo = VTD_DESC_IEC;
    if (!global)
        lo |= VTD_DESC_IEC_G | (uint64_t)(im & 31) << VTD_DESC_IEC_IM_SHIFT | (uint64_t)(index & 0xFFFF)
                                                                               << VTD_DESC_IEC_IIDX_SHIFT;
    qi_push(d, lo, 0);
}

void vdrv_inv_pc(struct vtd_drv *d, int gran, uint16_t did, uint32_t pasid)
{
    if (!d->live || !d->qi || !d->sm)
        return;
    d->st.pc_invals++;
    qi_push(d, VTD_DESC_PC | (uint64_t)gran << VTD_DESC_G_SHIFT | (uint64_t)did << VTD_DESC_DID_SHIFT |
                   (uint64_t)(pasid & 0xFFFFF) << 32,
            0);
}

void vdrv_qi_page_response(struct vtd_drv *d, uint16_t sid, bool pp, uint32_t pasid, uint16_t prgi, uint8_t code)
{
    if (!d->live || !d->qi)
        return;
    d->st.prq_responses++;
    uint64_t lo = VTD_DESC_PGRP_RESP | (uint64_t)(code & 0xF) << VDRV_PGRP_RC_SHIFT |
                  (uint64_t)sid << VDRV_PGRP_RID_SHIFT;
    if (pp)
        lo |= VDRV_PGRP_PP | (uint64_t)(pasid & 0xFFFFF) << VDRV_PGRP_PASID_SHIFT;
    qi_push(d, lo, (uint64_t)(prgi & 0x1FF) << VDRV_PGRP_PRGI_SHIFT);
}

void vdrv_inv_domain_range(struct vtd_drv_domain *dom, uint64_t iova, uint64_t size, bool devtlb)
{
    vdrv_inv_domain_leaves(dom, iova, size, devtlb, false);
}

void vdrv_inv_domain_leaves(struct vtd_drv_domain *dom, uint64_t iova, uint64_t size, bool devtlb, bool ih)
{
    struct vtd_drv *d = dom->d;
    if (d->sm && dom->fl) {
        /* first-level and nested entries are tagged with the PASID: P_IOTLB */
        for (unsigned i = 0; i < dom->nrefs; i++)
            vdrv_inv_piotlb_range(d, dom->did, dom->refs[i].pasid, iova, size, ih);
    } else {
        vdrv_inv_iotlb_range(d, dom->did, iova, size, ih);
    }
    for (unsigned i = 0; devtlb && i < dom->nrefs; i++)
        if (dom->refs[i].ats && dom->refs[i].pasid == 0)
            vdrv_inv_devtlb(d, dom->refs[i].sid, iova, size);
}
