/* SPDX-License-Identifier: MIT */
/*
 * Domains (domain ids per unit, CAP.ND) and device attachment through
 * legacy-mode root and context entries (Rev 5.10 §9.1, §9.3), with the
 * context-cache / IOTLB invalidations §6.5.3.3 asks for.  Scalable-mode
 * attachment is in sm.c.
 */
#include "drv_internal.h"

/* ---- domain ids ---- */

static int did_alloc(struct vtd_drv *d, uint16_t *did)
{
    for (uint32_t w = 0; w < (d->ndid + 63) / 64; w++) {
        if (d->did_map[w] == ~0ULL)
            continue;
        for (unsigned b = 0; b < 64; b++) {
            uint32_t id = w * 64 + b;
            if (id >= d->ndid)
                break;
            if (!(d->did_map[w] & (1ULL << b))) {
                d->did_map[w] |= 1ULL << b;
                d->ndid_used++;
                *did = (uint16_t)id;
                return 0;
            }
        }
    }
    vdrv_log(d, VTD_DRV_LOG_ERR, "no free domain id (CAP.ND)", d->ndid);
    return VTD_DRV_ENOSPC;
}

static void did_free(struct vtd_drv *d, uint16_t did)
{
    d->did_map[did / 64] &= ~(1ULL << (did % 64));
    d->ndid_used--;
}

/* ---- per-bus state ---- */

int vdrv_bus_get(struct vtd_drv *d, uint8_t bus, struct vdrv_bus **out)
{
    if (!d->bus[bus]) {
        d->bus[bus] = vdrv_zalloc(d, sizeof(struct vdrv_bus));
        if (!d->bus[bus])
            return VTD_DRV_ENOMEM;
    }
    *out = d->bus[bus];
    return 0;
}

void vdrv_bus_free(struct vtd_drv *d)
{
    for (unsigned b = 0; b < 256; b++) {
        struct vdrv_bus *bs = d->bus[b];
        if (!bs)
            continue;
        for (unsigned f = 0; f < 256; f++)
            vdrv_sm_free_dev(d, &bs->dev[f]);
        for (unsigned h = 0; h < 2; h++)
            if (bs->ctx_pa[h] || bs->ctx_va[h])
                vdrv_page_free(d, 0, bs->ctx_pa[h], bs->ctx_va[h]);
        vdrv_free(d, bs, sizeof(*bs));
        d->bus[b] = NULL;
    }
}

/* ---- (sid, pasid) references of a domain ---- */

int vdrv_ref_add(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid, bool ats)
{
    struct vtd_drv *d = dom->d;
    if (dom->nrefs == dom->refs_cap) {
        unsigned ncap = dom->refs_cap ? dom->refs_cap * 2 : 8;
        struct vdrv_pasid_ref *n = vdrv_zalloc(d, ncap * sizeof(*n));
        if (!n)
            return VTD_DRV_ENOMEM;
        if (dom->nrefs)
            vdrv_memcpy(n, dom->refs, dom->nrefs * sizeof(*n));
        vdrv_free(d, dom->refs, dom->refs_cap * sizeof(*n));
        dom->refs = n;
        dom->refs_cap = ncap;
    }
    dom->refs[dom->nrefs].sid = sid;
    dom->refs[dom->nrefs].pasid = pasid;
    dom->refs[dom->nrefs].ats = ats;
    dom->nrefs++;
    return 0;
}

void vdrv_ref_del(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid)
{
    for (unsigned i = 0; i < dom->nrefs; i++) {
        if (dom->refs[i].sid == sid && dom->refs[i].pasid == pasid) {
            dom->refs[i] = dom->refs[dom->nrefs - 1];
            dom->nrefs--;
            return;
        }
    }
}

/* ---- domains ---- */

void vtd_drv_domain_config_default(struct vtd_drv_domain_config *cfg)
{
    vdrv_memset(cfg, 0, sizeof(*cfg));
    cfg->type = VTD_DRV_DOM_PAGING;
}

static unsigned default_levels(struct vtd_drv *d)
{
    if (d->levels_mask & (1u << 4))
        return 4;
    if (d->levels_mask & (1u << 3))
        return 3;
    return 5;
}

static int domain_create_locked(struct vtd_drv *d, const struct vtd_drv_domain_config *cfg,
                                struct vtd_drv_domain **out)
{
    struct vtd_drv_domain_config c;
    if (cfg)
        c = *cfg;
    else
        vtd_drv_domain_config_default(&c);
    if (c.flags & ~(unsigned)VTD_DRV_DOM_DEFERRED)
        return VTD_DRV_EINVAL;
    unsigned levels = c.levels;
    bool fl = false;
    switch (c.type) {
    case VTD_DRV_DOM_PAGING:
        if (d->sm && !(d->ecap & VTD_ECAP_SLTS))
            return VTD_DRV_ENOTSUP;
        if (!levels)
            levels = default_levels(d);
        if (levels < 3 || levels > 5 || !(d->levels_mask & (1u << levels)))
            return VTD_DRV_ENOTSUP;
        break;
    case VTD_DRV_DOM_PASSTHROUGH:
        if (!(d->ecap & VTD_ECAP_PT))
            return VTD_DRV_ENOTSUP;
        levels = 0;
        break;
    case VTD_DRV_DOM_FIRST_LEVEL:
        if (!d->sm || !(d->ecap & VTD_ECAP_FLTS))
            return VTD_DRV_ENOTSUP;
        if (!levels)
            levels = 4;
        if ((levels != 4 && levels != 5) || (levels == 5 && !(d->cap & VTD_CAP_FL5LP)))
            return VTD_DRV_ENOTSUP;
        fl = true;
        break;
    default:
        return VTD_DRV_EINVAL;
    }
    struct vtd_drv_domain *dom = vdrv_zalloc(d, sizeof(*dom));
    if (!dom)
        return VTD_DRV_ENOMEM;
    dom->d = d;
    dom->type = c.type;
    dom->flags = c.flags;
    dom->levels = levels;
    dom->fl = fl;
    dom->retire = c.retire;
    dom->retire_arg = c.retire_arg;
    unsigned aw = 12 + 9 * levels;
    if (fl)
        aw -= 1; /* the lower canonical half */
    else if (aw > d->mgaw)
        aw = d->mgaw;
    dom->aw_limit = levels ? 1ULL << aw : 0;
    int rc = did_alloc(d, &dom->did);
    if (rc)
        goto fail;
    if (levels && (rc = vdrv_table_alloc(d, &dom->root_pa))) {
        did_free(d, dom->did);
        goto fail;
    }
    if (c.flags & VTD_DRV_DOM_DEFERRED) {
        dom->fq_max = c.fq_max_entries ? c.fq_max_entries : VDRV_DEFAULT_FQ;
        dom->fq_max_age = c.fq_max_age;
        dom->fq = vdrv_zalloc(d, dom->fq_max * sizeof(*dom->fq));
        if (!dom->fq) {
            rc = VTD_DRV_ENOMEM;
            if (dom->root_pa)
                vdrv_table_free(d, dom->root_pa);
            did_free(d, dom->did);
            goto fail;
        }
    }
    dom->next = d->domains;
    d->domains = dom;
    *out = dom;
    return 0;
fail:
    vdrv_free(d, dom, sizeof(*dom));
    return rc;
}

int vtd_drv_domain_create(struct vtd_drv *d, const struct vtd_drv_domain_config *cfg, struct vtd_drv_domain **out)
{
    if (!d || !out)
        return VTD_DRV_EINVAL;
    *out = NULL;
    vdrv_lock(d);
    int rc = domain_create_locked(d, cfg, out);
    vdrv_unlock(d);
    return rc;
}

static int domain_destroy_locked(struct vtd_drv_domain *dom)
{
    struct vtd_drv *d = dom->d;
    if (dom->ndev || dom->nrefs)
        return VTD_DRV_EBUSY;
    int rc = vdrv_fq_flush(dom);
    int r = vdrv_pt_destroy(dom);
    if (!rc)
        rc = r;
    did_free(d, dom->did);
    for (struct vtd_drv_domain **p = &d->domains; *p; p = &(*p)->next) {
        if (*p == dom) {
            *p = dom->next;
            break;
        }
    }
    vdrv_free(d, dom->fq, dom->fq_max * sizeof(*dom->fq));
    vdrv_free(d, dom->pf, dom->pf_cap * sizeof(*dom->pf));
    vdrv_free(d, dom->refs, dom->refs_cap * sizeof(*dom->refs));
    vdrv_free(d, dom, sizeof(*dom));
    return rc;
}

int vtd_drv_domain_destroy(struct vtd_drv_domain *dom)
{
    if (!dom)
        return VTD_DRV_EINVAL;
    struct vtd_drv *d = dom->d;
    vdrv_lock(d);
    int rc = domain_destroy_locked(dom);
    vdrv_unlock(d);
    return rc;
}

uint16_t vtd_drv_domain_id(const struct vtd_drv_domain *dom)
{
    return dom ? dom->did : 0;
}

unsigned vtd_drv_domain_levels(const struct vtd_drv_domain *dom)
{
    return dom ? dom->levels : 0;
}

uint64_t vtd_drv_domain_root(const struct vtd_drv_domain *dom)
{
    return dom ? dom->root_pa : 0;
}

/* ---- legacy-mode attach / detach ---- */

static unsigned largest_aw(struct vtd_drv *d)
{
    for (unsigned l = 5; l >= 3; l--)
        if (d->levels_mask & (1u << l))
            return l - 2;
    return 1;
}

static int legacy_attach(struct vtd_drv_domain *dom, uint16_t sid, unsigned flags)
{
    struct vtd_drv *d = dom->d;
    uint8_t busn = (uint8_t)(sid >> 8), devfn = (uint8_t)sid;
    bool ats = flags & VTD_DRV_ATTACH_ATS;
    if (ats && (!(d->ecap & VTD_ECAP_DT) || !d->qi || dom->type != VTD_DRV_DOM_PAGING))
        return VTD_DRV_ENOTSUP;
    struct vdrv_bus *bs;
    int rc = vdrv_bus_get(d, busn, &bs);
    if (rc)
        return rc;
    struct vdrv_dev *dev = &bs->dev[devfn];
    if (dev->dom)
        return VTD_DRV_EEXIST;
    rc = vdrv_ref_add(dom, sid, 0, ats);
    if (rc)
        return rc;
    bool new_table = false;
    if (!bs->ctx_pa[0] && !bs->ctx_va[0]) {
        if ((rc = vdrv_page_alloc(d, 0, &bs->ctx_pa[0], &bs->ctx_va[0]))) {
            vdrv_ref_del(dom, sid, 0);
            return rc;
        }
        new_table = true;
    }
    /* §9.3: hi = AW | DID, lo = P | FPD | TT | SLPTPTR; P last */
    unsigned tt, aw;
    uint64_t slpt = 0;
    if (dom->type == VTD_DRV_DOM_PASSTHROUGH) {
        tt = VTD_TT_PASSTHROUGH;
        aw = largest_aw(d); /* ignored with TT=10; the largest supported value */
    } else {
        tt = ats ? VTD_TT_DEVTLB : VTD_TT_UNTRANSLATED;
        aw = dom->levels - 2;
        slpt = dom->root_pa;
    }
    uint64_t ce = bs->ctx_pa[0] + (uint64_t)devfn * VTD_CTX_SIZE;
    uint64_t hi = aw | (uint64_t)dom->did << VTD_CTX_HI_DID_SHIFT;
    uint64_t lo = VTD_CTX_LO_P | (flags & VTD_DRV_ATTACH_FPD ? VTD_CTX_LO_FPD : 0) |
                  (uint64_t)tt << VTD_CTX_LO_TT_SHIFT | slpt;
    rc = vdrv_mwr64(d, ce + 8, hi);
    if (!rc)
        rc = vdrv_mwr64(d, ce, lo);
    vdrv_clflush(d, ce, VTD_CTX_SIZE);
    if (!rc && new_table) {
        uint64_t re = d->root_pa + (uint64_t)busn * VTD_ROOT_SIZE;
        rc = vdrv_mwr64(d, re + 8, 0);
        if (!rc)
            rc = vdrv_mwr64(d, re, bs->ctx_pa[0] | VTD_ROOT_LO_P);
        vdrv_clflush(d, re, VTD_ROOT_SIZE);
    }
    if (rc) {
        vdrv_mwr64(d, ce, 0);
        vdrv_ref_del(dom, sid, 0);
        return rc;
    }
    bs->nctx[0]++;
    dev->dom = dom;
    dev->flags = flags;
    dom->ndev++;
    if (ats)
        dom->nats++;
    /* Not present -> present (§6.1): a unit in caching mode may have cached
     * the not-present entry, tagged with domain 0; others need at most a
     * write-buffer flush. */
    if (d->cm) {
        vdrv_inv_cc(d, VTD_CC_DEVICE, 0, sid, 0);
        vdrv_inv_iotlb(d, VTD_IOTLB_DOMAIN, dom->did, 0, 0, false);
        return vdrv_sync(d);
    }
    return vdrv_wbf(d);
}

static int legacy_detach(struct vtd_drv *d, uint16_t sid)
{
    struct vdrv_bus *bs = d->bus[sid >> 8];
    struct vdrv_dev *dev = bs ? &bs->dev[sid & 0xFF] : NULL;
    if (!dev || !dev->dom)
        return VTD_DRV_ENOENT;
    struct vtd_drv_domain *dom = dev->dom;
    uint64_t ce = bs->ctx_pa[0] + (uint64_t)(sid & 0xFF) * VTD_CTX_SIZE;
    int rc = vdrv_mwr64(d, ce, 0); /* P first */
    int r = vdrv_mwr64(d, ce + 8, 0);
    if (!rc)
        rc = r;
    vdrv_clflush(d, ce, VTD_CTX_SIZE);
    /* §6.5.3.3: context cache (device-selective, the old DID), then the
     * domain's IOTLB, then the device-TLB */
    vdrv_inv_cc(d, VTD_CC_DEVICE, dom->did, sid, 0);
    vdrv_inv_iotlb(d, VTD_IOTLB_DOMAIN, dom->did, 0, 0, false);
    if (dev->flags & VTD_DRV_ATTACH_ATS)
        vdrv_inv_devtlb(d, sid, 0, 0);
    r = vdrv_sync(d);
    if (!rc)
        rc = r;
    bs->nctx[0]--;
    if (dev->flags & VTD_DRV_ATTACH_ATS)
        dom->nats--;
    dom->ndev--;
    vdrv_ref_del(dom, sid, 0);
    dev->dom = NULL;
    dev->flags = 0;
    return rc;
}

static int attach_pgtt(const struct vtd_drv_domain *dom)
{
    switch (dom->type) {
    case VTD_DRV_DOM_PASSTHROUGH: return VDRV_PGTT_PT;
    case VTD_DRV_DOM_FIRST_LEVEL: return VDRV_PGTT_FL;
    default: return VDRV_PGTT_SL;
    }
}

int vtd_drv_attach(struct vtd_drv_domain *dom, uint16_t sid, unsigned flags)
{
    if (!dom || (flags & ~(unsigned)(VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_FPD)))
        return VTD_DRV_EINVAL;
    struct vtd_drv *d = dom->d;
    vdrv_lock(d);
    int rc = d->sm ? vdrv_sm_attach(dom, sid, 0, attach_pgtt(dom), 0, 0, flags) : legacy_attach(dom, sid, flags);
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_detach(struct vtd_drv *d, uint16_t sid)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = d->sm ? vdrv_sm_detach(d, sid, 0) : legacy_detach(d, sid);
    vdrv_unlock(d);
    return rc;
}

struct vtd_drv_domain *vtd_drv_domain_of(struct vtd_drv *d, uint16_t sid)
{
    if (!d)
        return NULL;
    vdrv_lock(d);
    struct vdrv_bus *bs = d->bus[sid >> 8];
    struct vtd_drv_domain *dom = bs ? bs->dev[sid & 0xFF].dom : NULL;
    vdrv_unlock(d);
    return dom;
}

int vtd_drv_attach_pasid(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid, unsigned flags)
{
    if (!dom || pasid == 0 || (flags & ~(unsigned)(VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_FPD)))
        return VTD_DRV_EINVAL;
    struct vtd_drv *d = dom->d;
    vdrv_lock(d);
    int rc = d->sm ? vdrv_sm_attach(dom, sid, pasid, attach_pgtt(dom), 0, 0, flags) : VTD_DRV_ENOTSUP;
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_attach_nested(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid, uint64_t fl_root,
                          unsigned fl_levels, unsigned flags)
{
    if (!dom || (fl_root & 0xFFF) || (fl_levels != 4 && fl_levels != 5) ||
        (flags & ~(unsigned)(VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_FPD)))
        return VTD_DRV_EINVAL;
    struct vtd_drv *d = dom->d;
    vdrv_lock(d);
    int rc;
    if (!d->sm || !(d->ecap & VTD_ECAP_NEST) || dom->type != VTD_DRV_DOM_PAGING ||
        (fl_levels == 5 && !(d->cap & VTD_CAP_FL5LP)))
        rc = VTD_DRV_ENOTSUP;
    else
        rc = vdrv_sm_attach(dom, sid, pasid, VDRV_PGTT_NESTED, fl_root, fl_levels, flags);
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_detach_pasid(struct vtd_drv *d, uint16_t sid, uint32_t pasid)
{
    if (!d || pasid == 0)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = d->sm ? vdrv_sm_detach(d, sid, pasid) : VTD_DRV_ENOTSUP;
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_invalidate_pasid(struct vtd_drv *d, uint16_t sid, uint32_t pasid, uint64_t iova, uint64_t size,
                             unsigned flags)
{
    if (!d || (flags & ~(unsigned)VTD_DRV_INV_LEAF) || ((iova | size) & 0xFFF) || iova + size < iova)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = !d->sm || !d->qi ? VTD_DRV_ENOTSUP
                              : vdrv_sm_inval_pasid(d, sid, pasid, iova, size, flags & VTD_DRV_INV_LEAF);
    vdrv_unlock(d);
    return rc;
}

/* Teardown at vtd_drv_destroy: every device detached, every domain freed. */
void vdrv_domains_destroy(struct vtd_drv *d)
{
    for (unsigned b = 0; b < 256; b++) {
        struct vdrv_bus *bs = d->bus[b];
        if (!bs)
            continue;
        for (unsigned f = 0; f < 256; f++) {
            uint16_t sid = (uint16_t)(b << 8 | f);
            if (d->sm)
                vdrv_sm_detach_all(d, sid);
            else if (bs->dev[f].dom)
                legacy_detach(d, sid);
        }
    }
    while (d->domains)
        domain_destroy_locked(d->domains);
}
