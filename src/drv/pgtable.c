/* SPDX-License-Identifier: MIT */
/*
 * Page tables of a domain: second-level (Rev 5.10 §9.8) or first-level
 * (IA-32e, §9.7) format, 512 entries per 4 KiB table, 3 to 5 levels.
 * map uses the largest leaf the unit allows; unmap clears leaves, splits a
 * superpage only partly unmapped, unlinks emptied tables and frees them
 * only after the invalidation that retires them (strict: before returning;
 * deferred: when the flush queue drains).
 */
#include "drv_internal.h"

#define ADDR_MASK VTD_GENMASK(51, 12)
#define PS_BIT VTD_BIT(7) /* PS in both formats (bit 7 of a PTE is PAT: never set there) */
#define CHUNK 64          /* entries read at once when scanning a table */

static unsigned lvl_shift(unsigned level)
{
    return 12 + 9 * (level - 1);
}

static bool present(const struct vtd_drv_domain *dom, uint64_t e)
{
    return dom->fl ? (e & VDRV_FL_P) != 0 : (e & (VTD_SL_R | VTD_SL_W)) != 0;
}

static bool is_leaf(uint64_t e, unsigned level)
{
    return level == 1 || (e & PS_BIT);
}

static uint64_t table_entry(const struct vtd_drv_domain *dom, uint64_t pa)
{
    if (dom->fl)
        return pa | VDRV_FL_P | VDRV_FL_RW | VDRV_FL_US | VDRV_FL_A;
    return pa | VTD_SL_R | VTD_SL_W;
}

/* Leaf bits for prot at `level`.  First-level leaves carry A and D already
 * set so the unit never needs to update them; XD is never set (execute
 * requests are not used). */
static uint64_t leaf_bits(const struct vtd_drv_domain *dom, unsigned prot, unsigned level)
{
    uint64_t b = level > 1 ? PS_BIT : 0;
    if (dom->fl) {
        b |= VDRV_FL_P | VDRV_FL_US | VDRV_FL_A;
        if (prot & VTD_DRV_PROT_WRITE)
            b |= VDRV_FL_RW | VDRV_FL_D;
        return b;
    }
    if (prot & VTD_DRV_PROT_READ)
        b |= VTD_SL_R;
    if (prot & VTD_DRV_PROT_WRITE)
        b |= VTD_SL_W;
    if (prot & VTD_DRV_PROT_SNOOP)
        b |= VTD_SL_SNP;
    return b;
}

static unsigned entry_prot(const struct vtd_drv_domain *dom, uint64_t e)
{
    if (dom->fl)
        return VTD_DRV_PROT_READ | (e & VDRV_FL_RW ? VTD_DRV_PROT_WRITE : 0u);
    return (e & VTD_SL_R ? VTD_DRV_PROT_READ : 0u) | (e & VTD_SL_W ? VTD_DRV_PROT_WRITE : 0u) |
           (e & VTD_SL_SNP ? VTD_DRV_PROT_SNOOP : 0u);
}

static bool leaf_ok(const struct vtd_drv_domain *dom, unsigned level)
{
    if (level == 1)
        return true;
    if (level > 3 || level > dom->levels)
        return false;
    uint64_t sizes = dom->fl ? dom->d->fl_sizes : dom->d->sl_sizes;
    return (sizes >> lvl_shift(level)) & 1;
}

static uint64_t next_boundary(uint64_t iova, uint64_t span, uint64_t end)
{
    uint64_t next = (iova | (span - 1)) + 1;
    return next < end && next != 0 ? next : end;
}

static void flush_entries(struct vtd_drv *d, uint64_t tpa, unsigned lo, unsigned hi)
{
    if (lo <= hi)
        vdrv_clflush(d, tpa + lo * 8ULL, (hi - lo + 1) * 8ULL);
}

/* ---- tables waiting to be freed ---- */

static void pf_release(struct vtd_drv_domain *dom)
{
    for (unsigned i = 0; i < dom->pf_n; i++)
        vdrv_table_free(dom->d, dom->pf[i].pa);
    dom->pf_n = 0;
}

/* Queue table `pa` (already unlinked) for freeing after the next
 * invalidation.  Without memory for the list: invalidate now, then free. */
static int pf_add(struct vtd_drv_domain *dom, uint64_t pa)
{
    struct vtd_drv *d = dom->d;
    if (dom->pf_n == dom->pf_cap) {
        unsigned ncap = dom->pf_cap ? dom->pf_cap * 2 : 16;
        struct vdrv_pfree *n = vdrv_zalloc(d, ncap * sizeof(*n));
        if (!n) {
            vdrv_inv_domain_range(dom, 0, 0, true);
            int rc = vdrv_sync(d);
            pf_release(dom);
            vdrv_table_free(d, pa);
            return rc;
        }
        if (dom->pf_n)
            vdrv_memcpy(n, dom->pf, dom->pf_n * sizeof(*n));
        vdrv_free(d, dom->pf, dom->pf_cap * sizeof(*n));
        dom->pf = n;
        dom->pf_cap = ncap;
    }
    dom->pf[dom->pf_n++].pa = pa;
    return 0;
}

/* Tables keep a count of their present entries (vdrv_table_count): an
 * unmap knows a table emptied without reading its 512 entries. */
static void count_add(struct vtd_drv_domain *dom, uint64_t tpa, int delta)
{
    uint32_t *n = vdrv_table_count(dom->d, tpa);
    if (n)
        *n = (uint32_t)((int)*n + delta);
}

static bool table_empty(struct vtd_drv_domain *dom, uint64_t tpa)
{
    uint32_t *n = vdrv_table_count(dom->d, tpa);
    if (n)
        return *n == 0;
    uint64_t buf[CHUNK]; /* not ours (cannot happen): scan it */
    for (unsigned i = 0; i < 512; i += CHUNK) {
        if (vdrv_mrd(dom->d, tpa + i * 8ULL, buf, sizeof(buf)))
            return false;
        for (unsigned j = 0; j < CHUNK; j++)
            if (present(dom, buf[j]))
                return false;
    }
    return true;
}

/* ---- walk helpers ---- */

/* Any present leaf in [iova, end) below the table at tpa (level)? */
static bool range_mapped(struct vtd_drv_domain *dom, uint64_t tpa, unsigned level, uint64_t iova, uint64_t end)
{
    uint64_t span = 1ULL << lvl_shift(level);
    while (iova < end) {
        uint64_t ce = next_boundary(iova, span, end);
        uint64_t e;
        vdrv_mrd64(dom->d, tpa + ((iova >> lvl_shift(level)) & 511) * 8, &e);
        if (present(dom, e)) {
            if (is_leaf(e, level))
                return true;
            if (range_mapped(dom, e & ADDR_MASK, level - 1, iova, ce))
                return true;
        }
        iova = ce;
    }
    return false;
}

static int map_table(struct vtd_drv_domain *dom, uint64_t tpa, unsigned level, uint64_t iova, uint64_t end,
                     uint64_t pa, unsigned prot)
{
    struct vtd_drv *d = dom->d;
    unsigned shift = lvl_shift(level);
    uint64_t span = 1ULL << shift;
    unsigned lo = 512, hi = 0;
    int rc = 0;
    while (iova < end) {
        unsigned idx = (unsigned)((iova >> shift) & 511);
        uint64_t ea = tpa + idx * 8ULL;
        uint64_t ce = next_boundary(iova, span, end);
        uint64_t e;
        if ((rc = vdrv_mrd64(d, ea, &e)))
            break;
        bool whole = ce - iova == span && !(pa & (span - 1));
        if (!present(dom, e) && (level == 1 || (whole && leaf_ok(dom, level)))) {
            if ((rc = vdrv_mwr64(d, ea, (pa & ADDR_MASK) | leaf_bits(dom, prot, level))))
                break;
            count_add(dom, tpa, 1);
            if (level > 1)
                dom->has_superpages = true;
        } else if (level == 1 || (present(dom, e) && is_leaf(e, level))) {
            rc = VTD_DRV_EEXIST;
            break;
        } else {
            if (!present(dom, e)) {
                uint64_t child;
                if ((rc = vdrv_table_alloc(d, &child)))
                    break;
                e = table_entry(dom, child);
                if ((rc = vdrv_mwr64(d, ea, e))) {
                    vdrv_table_free(d, child);
                    break;
                }
                count_add(dom, tpa, 1);
            }
            if ((rc = map_table(dom, e & ADDR_MASK, level - 1, iova, ce, pa, prot))) {
                lo = lo < idx ? lo : idx;
                hi = hi > idx ? hi : idx;
                break;
            }
        }
        lo = lo < idx ? lo : idx;
        hi = hi > idx ? hi : idx;
        pa += ce - iova;
        iova = ce;
    }
    flush_entries(d, tpa, lo, hi);
    return rc;
}

/* Replace the superpage leaf e (at ea, `level`) by a table of level-1
 * entries mapping the same pages with the same rights. */
static int split(struct vtd_drv_domain *dom, uint64_t ea, uint64_t e, unsigned level, uint64_t *ne)
{
    struct vtd_drv *d = dom->d;
    uint64_t child;
    int rc = vdrv_table_alloc(d, &child);
    if (rc)
        return rc;
    unsigned cshift = lvl_shift(level - 1);
    uint64_t base = e & ADDR_MASK & ~((1ULL << lvl_shift(level)) - 1);
    uint64_t bits = e & ~ADDR_MASK & ~PS_BIT;
    if (level - 1 > 1)
        bits |= PS_BIT;
    uint64_t buf[CHUNK];
    for (unsigned i = 0; i < 512 && !rc; i += CHUNK) {
        for (unsigned j = 0; j < CHUNK; j++)
            buf[j] = (base + ((uint64_t)(i + j) << cshift)) | bits;
        rc = vdrv_mwr(d, child + i * 8ULL, buf, sizeof(buf));
    }
    if (rc) {
        vdrv_table_free(d, child);
        return rc;
    }
    vdrv_clflush(d, child, VDRV_PAGE);
    *ne = table_entry(dom, child);
    /* one atomic 8-byte store: the rest of the superpage stays mapped */
    rc = vdrv_mwr64(d, ea, *ne);
    if (rc) {
        vdrv_table_free(d, child);
        return rc;
    }
    count_add(dom, child, 512);
    d->st.superpage_splits++;
    return 0;
}

/* *empty: the table at tpa has no present entry left (one count lookup per
 * table serves both the changes and this answer) */
static int unmap_table(struct vtd_drv_domain *dom, uint64_t tpa, unsigned level, uint64_t iova, uint64_t end,
                       uint64_t *unmapped, bool *changed, bool *empty)
{
    struct vtd_drv *d = dom->d;
    unsigned shift = lvl_shift(level);
    uint64_t span = 1ULL << shift;
    unsigned lo = 512, hi = 0;
    int rc = 0;
    uint32_t *cnt = vdrv_table_count(d, tpa);
    while (iova < end) {
        unsigned idx = (unsigned)((iova >> shift) & 511);
        uint64_t ea = tpa + idx * 8ULL;
        uint64_t ce = next_boundary(iova, span, end);
        uint64_t e;
        if ((rc = vdrv_mrd64(d, ea, &e)))
            break;
        if (!present(dom, e)) {
            iova = ce;
            continue;
        }
        lo = lo < idx ? lo : idx;
        hi = hi > idx ? hi : idx;
        *changed = true;
        if (is_leaf(e, level)) {
            if (ce - iova == span) {
                if ((rc = vdrv_mwr64(d, ea, 0)))
                    break;
                if (cnt)
                    (*cnt)--;
                *unmapped += span;
                iova = ce;
                continue;
            }
            if ((rc = split(dom, ea, e, level, &e)))
                break;
        }
        uint64_t child = e & ADDR_MASK;
        bool child_empty;
        rc = unmap_table(dom, child, level - 1, iova, ce, unmapped, changed, &child_empty);
        if (rc)
            break;
        if (child_empty) {
            dom->unlinked = true;
            if ((rc = vdrv_mwr64(d, ea, 0)))
                break;
            if (cnt)
                (*cnt)--;
            if ((rc = pf_add(dom, child)))
                break;
            /* a paging-structure cache may map all of [base, base + span)
             * through that table: its invalidation must cover the span */
            uint64_t base = iova & ~(span - 1);
            if (base < dom->freed_lo)
                dom->freed_lo = base;
            if (base + span > dom->freed_hi)
                dom->freed_hi = base + span;
        }
        iova = ce;
    }
    flush_entries(d, tpa, lo, hi);
    *empty = !rc && (cnt ? *cnt == 0 : table_empty(dom, tpa));
    return rc;
}

static void free_tree(struct vtd_drv_domain *dom, uint64_t tpa, unsigned level)
{
    if (level > 1) {
        uint64_t buf[CHUNK];
        for (unsigned i = 0; i < 512; i += CHUNK) {
            if (vdrv_mrd(dom->d, tpa + i * 8ULL, buf, sizeof(buf)))
                break;
            for (unsigned j = 0; j < CHUNK; j++)
                if (present(dom, buf[j]) && !is_leaf(buf[j], level))
                    free_tree(dom, buf[j] & ADDR_MASK, level - 1);
        }
    }
    vdrv_table_free(dom->d, tpa);
}

/* ---- flush queue ---- */

int vdrv_fq_flush(struct vtd_drv_domain *dom)
{
    struct vtd_drv *d = dom->d;
    if (!dom->fq_n && !dom->pf_n)
        return 0;
    uint64_t lo = ~0ULL, hi = 0;
    for (unsigned i = 0; i < dom->fq_n; i++) {
        if (dom->fq[i].lo < lo)
            lo = dom->fq[i].lo;
        if (dom->fq[i].hi > hi)
            hi = dom->fq[i].hi;
    }
    /* one invalidation for the whole batch: the covering range, which
     * falls back to domain-selective when it is too large */
    vdrv_inv_domain_range(dom, dom->fq_n ? lo : 0, dom->fq_n ? hi - lo : 0, true);
    int rc = vdrv_sync(d);
    pf_release(dom);
    for (unsigned i = 0; i < dom->fq_n; i++)
        if (dom->retire)
            dom->retire(dom->retire_arg, dom->fq[i].iova, dom->fq[i].size);
    dom->fq_n = 0;
    d->st.fq_flushes++;
    return rc;
}

static bool fq_too_old(struct vtd_drv_domain *dom)
{
    struct vtd_drv *d = dom->d;
    if (!dom->fq_n || !dom->fq_max_age || !d->ops.now)
        return false;
    return d->ops.now(d->ops.opaque) - dom->fq[0].time >= dom->fq_max_age;
}

static bool fq_overlaps(const struct vtd_drv_domain *dom, uint64_t iova, uint64_t size)
{
    for (unsigned i = 0; i < dom->fq_n; i++)
        if (dom->fq[i].lo < iova + size && iova < dom->fq[i].hi)
            return true;
    return false;
}

/* ---- public ---- */

static int check_range(const struct vtd_drv_domain *dom, uint64_t iova, uint64_t size)
{
    if (!dom->levels)
        return VTD_DRV_EINVAL; /* pass-through: no tables */
    if (!size || ((iova | size) & (VDRV_PAGE - 1)) || iova + size < iova || iova + size > dom->aw_limit)
        return VTD_DRV_EINVAL;
    return 0;
}

static int map_locked(struct vtd_drv_domain *dom, uint64_t iova, uint64_t pa, uint64_t size, unsigned prot)
{
    struct vtd_drv *d = dom->d;
    int rc = check_range(dom, iova, size);
    if (rc)
        return rc;
    if ((pa & (VDRV_PAGE - 1)) || pa + size < pa || pa + size > (1ULL << 52) ||
        !(prot & (VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE)) ||
        (prot & ~(unsigned)(VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE | VTD_DRV_PROT_EXEC | VTD_DRV_PROT_SNOOP)))
        return VTD_DRV_EINVAL;
    if ((prot & VTD_DRV_PROT_SNOOP) && (dom->fl || !(d->ecap & VTD_ECAP_SC)))
        return VTD_DRV_ENOTSUP;
    if (dom->fl && !(prot & VTD_DRV_PROT_READ))
        return VTD_DRV_ENOTSUP; /* first-level entries cannot grant write without read */
    /* an IOTLB may still hold the old translation of a range waiting in the
     * flush queue: retire it before reusing the addresses */
    if (fq_overlaps(dom, iova, size) && (rc = vdrv_fq_flush(dom)))
        return rc;
    /* One page needs no look-ahead: map_table finds a mapping of it (a
     * present leaf on its path) before it writes anything, and tables are
     * only added below not-present entries, where nothing is mapped. */
    bool one = size == VDRV_PAGE;
    if (!one && range_mapped(dom, dom->root_pa, dom->levels, iova, iova + size))
        return VTD_DRV_EEXIST;
    rc = map_table(dom, dom->root_pa, dom->levels, iova, iova + size, pa, prot);
    if (rc == VTD_DRV_EEXIST && one)
        return rc;
    if (rc) {
        /* undo: a device may already have used (and the unit cached) part
         * of the new mappings, so removing them is invalidated like unmap */
        uint64_t un = 0;
        bool ch = false, empty;
        unmap_table(dom, dom->root_pa, dom->levels, iova, iova + size, &un, &ch, &empty);
        vdrv_inv_domain_range(dom, iova, size, true);
        vdrv_sync(d);
        pf_release(dom);
        return rc;
    }
    /* Not present -> present (§6.1): in caching mode the unit may cache
     * not-present entries, so invalidate; otherwise flush write buffers. */
    if (d->cm) {
        vdrv_inv_domain_range(dom, iova, size, false);
        return vdrv_sync(d);
    }
    return vdrv_wbf(d);
}

int vtd_drv_map(struct vtd_drv_domain *dom, uint64_t iova, uint64_t pa, uint64_t size, unsigned prot)
{
    if (!dom)
        return VTD_DRV_EINVAL;
    vdrv_lock(dom->d);
    int rc = map_locked(dom, iova, pa, size, prot);
    vdrv_unlock(dom->d);
    return rc;
}

static int unmap_locked(struct vtd_drv_domain *dom, uint64_t iova, uint64_t size, uint64_t *unmapped)
{
    struct vtd_drv *d = dom->d;
    int rc = check_range(dom, iova, size);
    if (rc)
        return rc;
    /* A full flush queue is drained before the tables change: draining it
     * after would free the tables this unmap empties (already on the
     * release list) under an invalidation that does not cover this range. */
    if ((dom->flags & VTD_DRV_DOM_DEFERRED) && dom->fq_n == dom->fq_max && (rc = vdrv_fq_flush(dom)))
        return rc;
    uint64_t un = 0, splits = d->st.superpage_splits;
    bool changed = false, empty;
    dom->unlinked = false;
    dom->freed_lo = iova;
    dom->freed_hi = iova + size;
    rc = unmap_table(dom, dom->root_pa, dom->levels, iova, iova + size, &un, &changed, &empty);
    /* only leaves changed: no table unlinked and no superpage split (a leaf
     * became a table pointer) */
    bool leaves = !dom->unlinked && d->st.superpage_splits == splits;
    if (unmapped)
        *unmapped = un;
    if (!changed) {
        if (dom->retire)
            dom->retire(dom->retire_arg, iova, size);
        return rc;
    }
    if (dom->flags & VTD_DRV_DOM_DEFERRED) {
        uint64_t now = d->ops.now ? d->ops.now(d->ops.opaque) : 0;
        dom->fq[dom->fq_n].iova = iova;
        dom->fq[dom->fq_n].size = size;
        dom->fq[dom->fq_n].time = now;
        dom->fq[dom->fq_n].lo = dom->freed_lo;
        dom->fq[dom->fq_n].hi = dom->freed_hi;
        dom->fq_n++;
        if (dom->fq_n == dom->fq_max || fq_too_old(dom)) {
            int r = vdrv_fq_flush(dom);
            if (!rc)
                rc = r;
        }
        return rc;
    }
    /* strict: IOTLB (page-selective when it fits; IH when only leaves
     * changed), device-TLBs, then free */
    vdrv_inv_domain_leaves(dom, iova, size, true, leaves && !rc);
    int r = vdrv_sync(d);
    if (!rc)
        rc = r;
    pf_release(dom);
    if (dom->retire)
        dom->retire(dom->retire_arg, iova, size);
    return rc;
}

int vtd_drv_unmap(struct vtd_drv_domain *dom, uint64_t iova, uint64_t size, uint64_t *unmapped)
{
    if (!dom)
        return VTD_DRV_EINVAL;
    vdrv_lock(dom->d);
    int rc = unmap_locked(dom, iova, size, unmapped);
    vdrv_unlock(dom->d);
    return rc;
}

int vtd_drv_iova_to_phys(struct vtd_drv_domain *dom, uint64_t iova, uint64_t *pa, unsigned *prot,
                         uint64_t *page_size)
{
    if (!dom || !pa || !prot)
        return VTD_DRV_EINVAL;
    struct vtd_drv *d = dom->d;
    vdrv_lock(d);
    int rc = VTD_DRV_ENOENT;
    if (dom->levels && iova < dom->aw_limit) {
        uint64_t tpa = dom->root_pa;
        for (unsigned level = dom->levels; level >= 1; level--) {
            uint64_t e;
            unsigned shift = lvl_shift(level);
            if (vdrv_mrd64(d, tpa + ((iova >> shift) & 511) * 8, &e) || !present(dom, e))
                break;
            if (is_leaf(e, level)) {
                uint64_t span = 1ULL << shift;
                *pa = (e & ADDR_MASK & ~(span - 1)) | (iova & (span - 1));
                *prot = entry_prot(dom, e);
                if (page_size)
                    *page_size = span;
                rc = 0;
                break;
            }
            tpa = e & ADDR_MASK;
        }
    } else if (!dom->levels) {
        rc = VTD_DRV_EINVAL;
    }
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_flush(struct vtd_drv_domain *dom)
{
    if (!dom)
        return VTD_DRV_EINVAL;
    vdrv_lock(dom->d);
    int rc = vdrv_fq_flush(dom);
    vdrv_unlock(dom->d);
    return rc;
}

int vtd_drv_flush_poll(struct vtd_drv *d)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = 0;
    for (struct vtd_drv_domain *dom = d->domains; dom; dom = dom->next) {
        if (fq_too_old(dom)) {
            int r = vdrv_fq_flush(dom);
            if (!rc)
                rc = r;
        }
    }
    vdrv_unlock(d);
    return rc;
}

unsigned vtd_drv_flush_pending(const struct vtd_drv_domain *dom)
{
    return dom ? dom->fq_n : 0;
}

int vdrv_pt_destroy(struct vtd_drv_domain *dom)
{
    pf_release(dom);
    if (dom->levels)
        free_tree(dom, dom->root_pa, dom->levels);
    dom->root_pa = 0;
    return 0;
}
