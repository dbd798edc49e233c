/* SPDX-License-Identifier: MIT */
/*
 * Unit probe, bring-up and shutdown (Rev 5.10 §11.4.4 GCMD, §10 of the
 * programming guidance as Linux follows it): the order of enabling queued
 * invalidation, interrupt remapping and translation, with the global
 * invalidations in between.
 */
#include "drv_internal.h"

/* ---- GCMD ---- */

static int poll_gsts(struct vtd_drv *d, uint32_t bit, bool want)
{
    for (uint32_t i = 0; i < d->poll_limit; i++) {
        uint32_t s = vdrv_rd32(d, VTD_REG_GSTS);
        if (((s & bit) != 0) == want)
            return 0;
        vdrv_relax(d);
    }
    vdrv_log(d, VTD_DRV_LOG_ERR, "GSTS did not reflect the GCMD command", bit);
    return VTD_DRV_ETIMEDOUT;
}

int vdrv_gcmd_persist(struct vtd_drv *d, uint32_t bit, bool on)
{
    if (on)
        d->gcmd |= bit;
    else
        d->gcmd &= ~bit;
    vdrv_wr32(d, VTD_REG_GCMD, d->gcmd);
    return poll_gsts(d, bit, on);
}

int vdrv_gcmd_oneshot(struct vtd_drv *d, uint32_t bit)
{
    /* the persistent bits are written back with every command (shadow) */
    vdrv_wr32(d, VTD_REG_GCMD, d->gcmd | bit);
    switch (bit) {
    case VTD_GCMD_SRTP: return poll_gsts(d, VTD_GSTS_RTPS, true);
    case VTD_GCMD_SIRTP: return poll_gsts(d, VTD_GSTS_IRTPS, true);
    case VTD_GCMD_WBF: return poll_gsts(d, VTD_GSTS_WBFS, false);
    default: return VTD_DRV_EINVAL;
    }
}

int vdrv_wbf(struct vtd_drv *d)
{
    if (!d->rwbf || !d->live)
        return 0;
    d->st.wbf++;
    return vdrv_gcmd_oneshot(d, VTD_GCMD_WBF);
}

/* ---- probe ---- */

void vtd_drv_config_default(struct vtd_drv_config *cfg)
{
    vdrv_memset(cfg, 0, sizeof(*cfg));
    cfg->ir_order = 8;
    cfg->poll_limit = VDRV_DEFAULT_POLL;
}

static bool ops_ok(const struct vtd_drv_ops *o)
{
    return o && o->read32 && o->read64 && o->write32 && o->write64 && o->mem_read && o->mem_write &&
           o->page_alloc && o->page_free && o->zalloc && o->free && (!o->lock == !o->unlock);
}

static int probe(struct vtd_drv *d)
{
    const struct vtd_drv_config *c = &d->cfg;
    d->ver = vdrv_rd32(d, VTD_REG_VER);
    d->cap = vdrv_rd64(d, VTD_REG_CAP);
    d->ecap = vdrv_rd64(d, VTD_REG_ECAP);
    uint64_t cap = d->cap, ecap = d->ecap;
    if (cap == 0 || cap == ~0ULL) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "CAP reads as all zeros or all ones: no unit", cap);
        return VTD_DRV_ENOTSUP;
    }
    d->fro = (uint32_t)VTD_FIELD_GET(cap, 33, 24) * 16;
    d->iro = (uint32_t)VTD_FIELD_GET(ecap, 17, 8) * 16;
    d->nfr = (unsigned)VTD_FIELD_GET(cap, 47, 40) + 1;
    d->mgaw = (unsigned)VTD_FIELD_GET(cap, 21, 16) + 1;
    d->mamv = (unsigned)VTD_FIELD_GET(cap, 53, 48);
    unsigned sagaw = (unsigned)VTD_FIELD_GET(cap, 12, 8);
    d->levels_mask = 0;
    for (unsigned b = 1; b <= 3; b++)
        if (sagaw & (1u << b))
            d->levels_mask |= 1u << (b + 2);
    d->cm = (cap & VTD_CAP_CM) != 0;
    d->rwbf = (cap & VTD_CAP_RWBF) != 0;
    d->psi = (cap & VTD_CAP_PSI) != 0;
    d->coherent = (ecap & VTD_ECAP_C) != 0;
    d->sl_sizes = 1ULL << 12;
    if (cap & VTD_CAP_SLLPS_2M)
        d->sl_sizes |= 1ULL << 21;
    if (cap & VTD_CAP_SLLPS_1G)
        d->sl_sizes |= 1ULL << 30;
    d->fl_sizes = (1ULL << 12) | (1ULL << 21);
    if (cap & VTD_CAP_FL1GP)
        d->fl_sizes |= 1ULL << 30;
    d->pss = (unsigned)VTD_FIELD_GET(ecap, 39, 35) + 1;

    if (!d->levels_mask) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "CAP.SAGAW offers no 3-, 4- or 5-level table", cap);
        return VTD_DRV_ENOTSUP;
    }
    if (!d->coherent && !d->ops.flush) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "ECAP.C is 0 (walks do not snoop) and there is no flush callback", ecap);
        return VTD_DRV_ENOTSUP;
    }
    d->sm = (c->flags & VTD_DRV_CFG_SCALABLE) && (ecap & VTD_ECAP_SMTS);
    if ((c->flags & VTD_DRV_CFG_FORCE_SCALABLE) && !d->sm) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "scalable mode asked for but ECAP.SMTS is 0", ecap);
        return VTD_DRV_ENOTSUP;
    }
    d->qi = (ecap & VTD_ECAP_QI) && !(c->flags & VTD_DRV_CFG_NO_QI);
    if (d->sm && !d->qi) {
        /* scalable mode has no register-based invalidation */
        vdrv_log(d, VTD_DRV_LOG_ERR, "scalable mode needs queued invalidation", ecap);
        return VTD_DRV_ENOTSUP;
    }
    if (!d->qi && d->ver >= 0x60) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "VER 6.0 or later has no register-based invalidation", d->ver);
        return VTD_DRV_ENOTSUP;
    }
    d->ir = (ecap & VTD_ECAP_IR) && d->qi && !(c->flags & VTD_DRV_CFG_NO_IR);
    if ((c->flags & VTD_DRV_CFG_X2APIC) && d->ir) {
        if (!(ecap & VTD_ECAP_EIM)) {
            vdrv_log(d, VTD_DRV_LOG_ERR, "x2APIC mode asked for but ECAP.EIM is 0", ecap);
            return VTD_DRV_ENOTSUP;
        }
        d->x2apic = true;
    }
    d->desc_sz = d->sm ? 32 : 16;
    unsigned nd = (unsigned)VTD_FIELD_GET(cap, 2, 0);
    if (nd > 6)
        nd = 6;
    d->ndid = 1u << (4 + 2 * nd);
    return 0;
}

int vtd_drv_create(const struct vtd_drv_ops *ops, const struct vtd_drv_config *cfg, struct vtd_drv **out)
{
    if (!out)
        return VTD_DRV_EINVAL;
    *out = NULL;
    if (!ops_ok(ops))
        return VTD_DRV_EINVAL;
    struct vtd_drv_config c;
    if (cfg)
        c = *cfg;
    else
        vtd_drv_config_default(&c);
    if (c.ir_order == 0)
        c.ir_order = 8;
    if (c.qi_order > 7 || c.ir_order > 16 || c.prq_order > 7 ||
        (c.flags & ~(unsigned)(VTD_DRV_CFG_SCALABLE | VTD_DRV_CFG_NO_QI | VTD_DRV_CFG_NO_IR |
                               VTD_DRV_CFG_X2APIC | VTD_DRV_CFG_COMPAT_IRQ |
                               VTD_DRV_CFG_FORCE_SCALABLE)))
        return VTD_DRV_EINVAL;
    struct vtd_drv *d = ops->zalloc(ops->opaque, sizeof(*d));
    if (!d)
        return VTD_DRV_ENOMEM;
    d->ops = *ops;
    d->cfg = c;
    d->poll_limit = c.poll_limit ? c.poll_limit : VDRV_DEFAULT_POLL;
    int rc = probe(d);
    if (rc)
        goto fail;
    rc = VTD_DRV_ENOMEM;
    d->did_map = vdrv_zalloc(d, (d->ndid + 63) / 64 * 8);
    if (!d->did_map)
        goto fail;
    if (d->cm) /* caching mode: DID 0 tags cached not-present entries (§6.1) */
        d->did_map[0] |= 1;
    rc = vdrv_page_alloc(d, 0, &d->root_pa, &d->root_va);
    if (rc)
        goto fail;
    if ((rc = vdrv_prq_alloc(d))) {
        vdrv_page_free(d, 0, d->root_pa, d->root_va);
        goto fail;
    }
    /* what firmware (or an earlier user) left enabled */
    d->gcmd = vdrv_rd32(d, VTD_REG_GSTS) & (uint32_t)VTD_GCMD_PERSISTENT;
    *out = d;
    return 0;
fail:
    vdrv_free(d, d->did_map, (d->ndid + 63) / 64 * 8);
    ops->free(ops->opaque, d, sizeof(*d));
    return rc;
}

void vtd_drv_destroy(struct vtd_drv *d)
{
    if (!d)
        return;
    if (d->enabled)
        vtd_drv_disable(d);
    vdrv_lock(d);
    vdrv_domains_destroy(d);
    vdrv_bus_free(d);
    vdrv_ir_free(d);
    vdrv_qi_teardown(d);
    vdrv_prq_free(d);
    if (d->root_pa || d->root_va)
        vdrv_page_free(d, 0, d->root_pa, d->root_va);
    vdrv_free(d, d->did_map, (d->ndid + 63) / 64 * 8);
    vdrv_free(d, d->pmap, (size_t)d->pmap_cap * sizeof(*d->pmap));
    vdrv_unlock(d);
    struct vtd_drv_ops ops = d->ops;
    ops.free(ops.opaque, d, sizeof(*d));
}

/* ---- bring-up ---- */

static void clear_faults(struct vtd_drv *d)
{
    for (unsigned i = 0; i < d->nfr; i++) {
        uint32_t off = d->fro + i * VTD_FRCD_SIZE + 12;
        if (vdrv_rd32(d, off) & (1u << 31))
            vdrv_wr32(d, off, 1u << 31);
    }
    uint32_t fsts = vdrv_rd32(d, VTD_REG_FSTS);
    uint32_t w1c = fsts & (uint32_t)(VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE);
    if (w1c)
        vdrv_wr32(d, VTD_REG_FSTS, w1c);
}

/* An event's data and address registers follow its control register
 * (FECTL 038h: FEDATA, FEADDR, FEUADDR; PECTL 0E0h: PEDATA, PEADDR, PEUADDR):
 * program them and unmask. */
static void event_setup(struct vtd_drv *d, uint32_t ctl, uint64_t addr, uint32_t data)
{
    vdrv_wr32(d, ctl + 4, data & (uint32_t)VTD_FEDATA_MASK);
    vdrv_wr32(d, ctl + 8, (uint32_t)addr & (uint32_t)VTD_FEADDR_MASK);
    vdrv_wr32(d, ctl + 12, (uint32_t)(addr >> 32));
    vdrv_wr32(d, ctl, 0);
}

static int enable_locked(struct vtd_drv *d)
{
    int rc;
    if (d->enabled)
        return VTD_DRV_EBUSY;
    /* 1. a clean start: whatever was left on goes off, oldest first */
    if (d->gcmd & VTD_GCMD_TE && (rc = vdrv_gcmd_persist(d, VTD_GCMD_TE, false)))
        return rc;
    if (d->gcmd & VTD_GCMD_IRE && (rc = vdrv_gcmd_persist(d, VTD_GCMD_IRE, false)))
        return rc;
    if (d->gcmd & VTD_GCMD_QIE && (rc = vdrv_gcmd_persist(d, VTD_GCMD_QIE, false)))
        return rc;
    if (d->gcmd & (VTD_GCMD_CFI | VTD_GCMD_EAFL)) {
        d->gcmd &= ~(uint32_t)(VTD_GCMD_CFI | VTD_GCMD_EAFL);
        vdrv_wr32(d, VTD_REG_GCMD, d->gcmd);
    }
    vdrv_wr32(d, VTD_REG_FECTL, (uint32_t)VTD_ECTL_IM);
    clear_faults(d);

    /* 2. queued invalidation first: everything after invalidates through it */
    if (d->qi) {
        if ((rc = vdrv_qi_setup(d)))
            return rc;
    }
    d->live = true;

    /* 3. interrupt remapping: table, SIRTP, IEC flush, CFI, IRE */
    if (d->ir && (rc = vdrv_ir_setup(d)))
        goto fail;

    /* 4. root table: RTADDR (+TTM), SRTP, then global context-cache, PASID-
     * cache and IOTLB invalidation (hardware without ESRTPS keeps stale
     * entries across SRTP) */
    vdrv_clflush(d, d->root_pa, VDRV_PAGE);
    vdrv_wr64(d, VTD_REG_RTADDR, d->root_pa | (d->sm ? (uint64_t)VTD_TTM_SCALABLE << VTD_RTADDR_TTM_SHIFT : 0));
    if ((rc = vdrv_gcmd_oneshot(d, VTD_GCMD_SRTP)))
        goto fail;
    vdrv_inv_cc(d, VTD_CC_GLOBAL, 0, 0, 0);
    if (d->sm)
        vdrv_inv_pc(d, VDRV_PC_G_GLOBAL, 0, 0);
    vdrv_inv_iotlb(d, VTD_IOTLB_GLOBAL, 0, 0, 0, false);
    if ((rc = vdrv_sync(d)))
        goto fail;
    /* 5. tables written before now must reach memory */
    if ((rc = vdrv_wbf(d)))
        goto fail;
    /* 6. fault events; the page request queue and its event */
    if (d->cfg.fault_msi_addr)
        event_setup(d, VTD_REG_FECTL, d->cfg.fault_msi_addr, d->cfg.fault_msi_data);
    vdrv_prq_setup(d);
    if (d->prq && d->cfg.prq_msi_addr)
        event_setup(d, VTD_REG_PECTL, d->cfg.prq_msi_addr, d->cfg.prq_msi_data);
    /* 7. translation */
    if ((rc = vdrv_gcmd_persist(d, VTD_GCMD_TE, true)))
        goto fail;
    d->enabled = true;
    return 0;
fail:
    vdrv_log(d, VTD_DRV_LOG_ERR, "bring-up failed", (uint64_t)(int64_t)rc);
    return rc;
}

int vtd_drv_enable(struct vtd_drv *d)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = enable_locked(d);
    vdrv_unlock(d);
    return rc;
}

static int disable_locked(struct vtd_drv *d)
{
    int rc = 0, r;
    if (!d->enabled && !d->live)
        return 0;
    for (struct vtd_drv_domain *dom = d->domains; dom; dom = dom->next)
        if ((r = vdrv_fq_flush(dom)) && !rc)
            rc = r;
    if ((r = vdrv_gcmd_persist(d, VTD_GCMD_TE, false)) && !rc)
        rc = r;
    vdrv_inv_cc(d, VTD_CC_GLOBAL, 0, 0, 0);
    if (d->sm)
        vdrv_inv_pc(d, VDRV_PC_G_GLOBAL, 0, 0);
    vdrv_inv_iotlb(d, VTD_IOTLB_GLOBAL, 0, 0, 0, false);
    if ((r = vdrv_sync(d)) && !rc)
        rc = r;
    if (d->gcmd & VTD_GCMD_IRE) {
        if ((r = vdrv_gcmd_persist(d, VTD_GCMD_IRE, false)) && !rc)
            rc = r;
        vdrv_inv_iec(d, true, 0, 0);
        if ((r = vdrv_sync(d)) && !rc)
            rc = r;
    }
    if (d->gcmd & VTD_GCMD_CFI) {
        d->gcmd &= ~(uint32_t)VTD_GCMD_CFI;
        vdrv_wr32(d, VTD_REG_GCMD, d->gcmd);
    }
    /* every submit waited for its wait descriptor: the queue is empty */
    if (d->gcmd & VTD_GCMD_QIE) {
        if ((r = vdrv_gcmd_persist(d, VTD_GCMD_QIE, false)) && !rc)
            rc = r;
    }
    vdrv_wr32(d, VTD_REG_FECTL, (uint32_t)VTD_ECTL_IM);
    if (d->prq)
        vdrv_wr32(d, VTD_REG_PECTL, (uint32_t)VTD_ECTL_IM);
    d->live = false;
    d->enabled = false;
    return rc;
}

int vtd_drv_disable(struct vtd_drv *d)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = disable_locked(d);
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_info(struct vtd_drv *d, struct vtd_drv_info *o)
{
    if (!d || !o)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    vdrv_memset(o, 0, sizeof(*o));
    o->ver = d->ver;
    o->cap = d->cap;
    o->ecap = d->ecap;
    o->scalable = d->sm;
    o->qi = d->qi;
    o->ir = d->ir;
    o->x2apic = d->x2apic;
    o->posted = d->ir && (d->cap & VTD_CAP_PI);
    o->nested = d->sm && (d->ecap & VTD_ECAP_NEST);
    o->caching_mode = d->cm;
    o->coherent = d->coherent;
    o->enabled = d->enabled;
    o->domains = d->ndid;
    o->domains_used = d->ndid_used;
    o->levels_mask = d->levels_mask;
    o->page_sizes = d->sl_sizes;
    o->mgaw = d->mgaw;
    o->ir_entries = d->ir ? 1u << d->cfg.ir_order : 0;
    o->fault_records = d->nfr;
    o->prq = d->prq;
    o->prq_entries = d->prq ? d->prq_n : 0;
    vdrv_unlock(d);
    return 0;
}

void vtd_drv_stats(struct vtd_drv *d, struct vtd_drv_stats *out)
{
    if (!d || !out)
        return;
    vdrv_lock(d);
    *out = d->st;
    vdrv_unlock(d);
}
