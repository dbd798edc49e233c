/* SPDX-License-Identifier: MIT */
/*
 * Translation caches (spec "Caching Translation Information"): the context
 * cache, the IOTLB and the second-level paging-structure cache, as
 * set-associative arrays of four-qword entries.
 *
 * Readers take no lock: each set has a sequence counter that writers make odd
 * while they change the set; a reader that saw it odd or changed retries.
 * Writers (fills from the translate path, invalidations from MMIO) own a set
 * by making its counter odd with a compare-exchange, so fills of different
 * sets never contend.  Domain-selective and global invalidations are O(1): entries
 * carry the generation (global << 32 | per-domain) they were filled under and
 * a lookup compares it with the current one.
 *
 * Other invalidations cost what is cached, not the size of what they name:
 * a set none of whose entries is selected is checked like a lookup (no
 * lock, no write), and one with more pages named than sets in use visits
 * only the sets in use (struct cache.used).  Why no fill can slip past:
 * an invalidation bumps the cache's epoch and then reads a set's counter
 * or used bit; a fill owns its set and sets its used bit and then reads
 * the epoch.  All four are sequentially consistent, so either the fill
 * sees the bump (and does not fill) or the invalidation sees the set owned
 * or used (and takes it, waiting for the fill).
 */
#include <stdlib.h>
#include <string.h>

#include "fl.h"

static int cache_alloc(struct cache *c, uint32_t entries, uint32_t ways)
{
    memset(c, 0, sizeof(*c));
    if (!entries)
        return 0;
    c->ways = ways;
    c->nsets = entries / ways;
    c->setmask = c->nsets - 1;
    c->meta = aligned_alloc(64, (size_t)c->nsets * sizeof(*c->meta));
    if (c->meta)
        memset(c->meta, 0, (size_t)c->nsets * sizeof(*c->meta));
    c->e = calloc((size_t)entries, sizeof(*c->e));
    c->nwords = (c->nsets + 63) / 64;
    /* whole cache lines of its own: fills of one unit write it, and another
     * unit's hot data must not share its lines */
    size_t ubytes = ((size_t)c->nwords * sizeof(*c->used) + 63) & ~(size_t)63;
    c->used = aligned_alloc(64, ubytes);
    if (c->used)
        memset(c->used, 0, ubytes);
    if (!c->meta || !c->e || !c->used)
        return VTD_ENOMEM;
    return 0;
}

static void cache_free(struct cache *c)
{
    free(c->meta);
    free(c->e);
    free(c->used);
    memset(c, 0, sizeof(*c));
}

/* A writer owns a set while its sequence counter is odd: readers retry,
 * other writers wait.  There is no other lock on the caches. */
static void set_lock(struct cache *c, uint32_t set)
{
    for (;;) {
        uint32_t s = atomic_load_explicit(&c->meta[set].seq, memory_order_relaxed);
        /* seq_cst: see the comment at the top */
        if (!(s & 1) && atomic_compare_exchange_weak_explicit(&c->meta[set].seq, &s, s + 1, memory_order_seq_cst,
                                                              memory_order_relaxed))
            break;
    }
    /* the odd count is visible before any entry changes */
    vtd_fence(memory_order_release);
}

static void set_unlock(struct cache *c, uint32_t set)
{
    atomic_fetch_add_explicit(&c->meta[set].seq, 1, memory_order_release);
}

/* The used bit of a set (struct cache.used).  Set and cleared only by the
 * set's owner. */
static bool set_used(const struct cache *c, uint32_t set)
{
    return (atomic_load_explicit(&c->used[set / 64], memory_order_seq_cst) >> (set % 64)) & 1;
}

static void set_mark_used(struct cache *c, uint32_t set)
{
    if (!set_used(c, set))
        atomic_fetch_or_explicit(&c->used[set / 64], 1ULL << (set % 64), memory_order_seq_cst);
}

static void set_mark_unused(struct cache *c, uint32_t set)
{
    if (set_used(c, set))
        atomic_fetch_and_explicit(&c->used[set / 64], ~(1ULL << (set % 64)), memory_order_seq_cst);
}

static void cache_clear(struct cache *c)
{
    for (uint32_t s = 0; s < c->nsets; s++) {
        set_lock(c, s);
        for (uint32_t w = 0; w < c->ways; w++) {
            struct centry *e = &c->e[s * c->ways + w];
            atomic_store_explicit(&e->tag, 0, memory_order_relaxed);
        }
        c->meta[s].victim = 0;
        set_mark_unused(c, s);
        set_unlock(c, s);
    }
}

int vtd_caches_init(struct vtd *u)
{
    const struct vtd_config *c = &u->cfg;
    int rc = cache_alloc(&u->ctxc, c->context_cache_entries, 1);
    if (!rc)
        rc = cache_alloc(&u->iotlb, c->iotlb_entries, c->iotlb_ways ? c->iotlb_ways : 1);
    if (!rc)
        rc = cache_alloc(&u->pwc, c->pwc_entries, c->pwc_entries >= 4 ? 4 : 1);
    if (!rc)
        rc = cache_alloc(&u->iec, (u->cfg.ecap & VTD_ECAP_IR) ? c->iec_entries : 0, 1);
    /* first-level caches: the IOTLB and PWC geometry again (fl.h) */
    const bool fl = u->cfg.ecap & VTD_ECAP_FLTS;
    if (!rc)
        rc = cache_alloc(&u->fltlb, fl ? c->iotlb_entries : 0, c->iotlb_ways ? c->iotlb_ways : 1);
    if (!rc)
        rc = cache_alloc(&u->flpwc, fl ? c->pwc_entries : 0, c->pwc_entries >= 4 ? 4 : 1);
    if (!rc && fl && !(u->fl_dgen = calloc(65536, sizeof(*u->fl_dgen))))
        rc = VTD_ENOMEM;
    if (!rc)
        rc = cache_alloc(&u->pc, (u->cfg.ecap & VTD_ECAP_SMTS) ? c->pasid_cache_entries : 0,
                         c->pasid_cache_entries >= 4 ? 4 : 1);
    if (rc)
        return rc;
    u->ctx_dgen = calloc(65536, sizeof(*u->ctx_dgen));
    u->tlb_dgen = calloc(65536, sizeof(*u->tlb_dgen));
    u->dsizes = calloc(65536, sizeof(*u->dsizes));
    const bool front = u->iotlb.nsets && u->ctxc.nsets;
    if (front)
        u->front = calloc(FRONT_ENTRIES, sizeof(*u->front));
    if (front && u->pc.nsets)
        u->smfront = calloc(FRONT_ENTRIES, sizeof(*u->smfront));
    if (!u->ctx_dgen || !u->tlb_dgen || !u->dsizes || (front && !u->front) || (front && u->pc.nsets && !u->smfront))
        return VTD_ENOMEM;
    return 0;
}

void vtd_caches_free(struct vtd *u)
{
    cache_free(&u->ctxc);
    cache_free(&u->iotlb);
    cache_free(&u->pwc);
    cache_free(&u->iec);
    cache_free(&u->fltlb);
    cache_free(&u->flpwc);
    free(u->fl_dgen);
    u->fl_dgen = NULL;
    cache_free(&u->pc);
    free(u->ctx_dgen);
    free(u->tlb_dgen);
    free(u->dsizes);
    free(u->front);
    u->front = NULL;
    free(u->smfront);
    u->smfront = NULL;
    u->ctx_dgen = u->tlb_dgen = NULL;
    u->dsizes = NULL;
}

void vtd_caches_reset(struct vtd *u)
{
    cache_clear(&u->ctxc);
    cache_clear(&u->iotlb);
    cache_clear(&u->pwc);
    cache_clear(&u->iec);
    cache_clear(&u->fltlb);
    cache_clear(&u->flpwc);
    cache_clear(&u->pc);
    atomic_fetch_add(&u->iec_epoch, 1);
    atomic_fetch_add(&u->pc_epoch, 1);
    atomic_fetch_add(&u->pc_ggen, 1);
    for (unsigned d = 0; d < 65536; d++)
        atomic_store_explicit(&u->dsizes[d], 0, memory_order_relaxed);
    /* bump the generations rather than zeroing them: nothing cached before
     * the reset may match afterwards */
    atomic_fetch_add(&u->ctx_ggen, 1);
    atomic_fetch_add(&u->tlb_ggen, 1);
    front_bump(u);
}

int cache_insert(struct cache *c, uint32_t set, uint64_t tag, uint64_t d0, uint64_t d1, uint64_t gen,
                 const _Atomic uint32_t *epoch, uint32_t expect)
{
    return cache_insert_k(c, set, tag, 0, d0, d1, gen, epoch, expect);
}

int cache_insert_k(struct cache *c, uint32_t set, uint64_t tag, uint64_t keymask, uint64_t d0, uint64_t d1,
                   uint64_t gen, const _Atomic uint32_t *epoch, uint32_t expect)
{
    struct centry *e = &c->e[(size_t)set * c->ways];
    set_lock(c, set);
    set_mark_used(c, set);
    /* checked with the set owned and marked used: an invalidation bumps the
     * epoch before it looks at the sets it drops from, so either it sees
     * this entry or this fill sees its bump (see the top of this file) */
    if (atomic_load_explicit(epoch, memory_order_seq_cst) != expect) {
        set_unlock(c, set);
        return -1;
    }
    uint32_t way = c->ways;
    int evicted = 0;
    for (uint32_t w = 0; w < c->ways && way == c->ways; w++)
        if (atomic_load_explicit(&e[w].tag, memory_order_relaxed) == tag &&
            !((atomic_load_explicit(&e[w].d1, memory_order_relaxed) ^ d1) & keymask))
            way = w;
    /* the same entry again, from a walk that may have read other values: a
     * memo of the old one must go too (the context cache always counts) */
    if (way < c->ways && (c->ways == 1 || (atomic_load_explicit(&e[way].d1, memory_order_relaxed) & CACHE_MARK)))
        evicted = 1;
    for (uint32_t w = 0; w < c->ways && way == c->ways; w++)
        if (atomic_load_explicit(&e[w].tag, memory_order_relaxed) == 0)
            way = w;
    if (way == c->ways) {
        way = c->meta[set].victim;
        c->meta[set].victim = (way + 1) % c->ways;
        /* the context cache always counts; an IOTLB entry only when marked */
        evicted = c->ways == 1 || (atomic_load_explicit(&e[way].d1, memory_order_relaxed) & CACHE_MARK);
    }
    atomic_store_explicit(&e[way].tag, tag, memory_order_relaxed);
    atomic_store_explicit(&e[way].d0, d0, memory_order_relaxed);
    atomic_store_explicit(&e[way].d1, d1, memory_order_relaxed);
    atomic_store_explicit(&e[way].gen, gen, memory_order_relaxed);
    set_unlock(c, set);
    return evicted;
}

bool cache_mark_k(struct cache *c, uint32_t set, uint64_t tag, uint64_t keymask, uint64_t key, uint64_t d0)
{
    struct centry *e = &c->e[(size_t)set * c->ways];
    bool found = false;
    set_lock(c, set);
    for (uint32_t w = 0; w < c->ways && !found; w++) {
        if (atomic_load_explicit(&e[w].tag, memory_order_relaxed) == tag &&
            (atomic_load_explicit(&e[w].d1, memory_order_relaxed) & keymask) == key &&
            atomic_load_explicit(&e[w].d0, memory_order_relaxed) == d0) {
            atomic_fetch_or_explicit(&e[w].d1, CACHE_MARK, memory_order_relaxed);
            found = true;
        }
    }
    set_unlock(c, set);
    return found;
}

/* Drop every entry of `set` that pred selects.  After the epoch bump of
 * the invalidation (see the top of this file).  A set with nothing
 * selected is only read, as a lookup reads it. */
static void drop_in_set(struct cache *c, uint32_t set, entry_pred pred, const void *arg)
{
    struct centry *e = &c->e[(size_t)set * c->ways];
    if (!set_used(c, set))
        return;
    uint32_t s1 = atomic_load_explicit(&c->meta[set].seq, memory_order_seq_cst);
    if (!(s1 & 1)) {
        bool any = false;
        for (uint32_t w = 0; w < c->ways && !any; w++) {
            uint64_t t = atomic_load_explicit(&e[w].tag, memory_order_relaxed);
            any = t && pred(t, atomic_load_explicit(&e[w].d0, memory_order_relaxed),
                            atomic_load_explicit(&e[w].d1, memory_order_relaxed), arg);
        }
        vtd_fence(memory_order_acquire);
        if (!any && atomic_load_explicit(&c->meta[set].seq, memory_order_relaxed) == s1)
            return;
    }
    set_lock(c, set);
    bool empty = true;
    for (uint32_t w = 0; w < c->ways; w++) {
        uint64_t t = atomic_load_explicit(&e[w].tag, memory_order_relaxed);
        if (t && pred(t, atomic_load_explicit(&e[w].d0, memory_order_relaxed),
                      atomic_load_explicit(&e[w].d1, memory_order_relaxed), arg)) {
            atomic_store_explicit(&e[w].tag, 0, memory_order_relaxed);
            t = 0;
        }
        empty &= !t;
    }
    if (empty)
        set_mark_unused(c, set);
    set_unlock(c, set);
}

/* Every set that may hold an entry (its used bit set). */
static void drop_all(struct cache *c, entry_pred pred, const void *arg)
{
    for (uint32_t i = 0; i < c->nwords; i++) {
        uint64_t w = atomic_load_explicit(&c->used[i], memory_order_seq_cst);
        for (; w; w &= w - 1)
            drop_in_set(c, i * 64 + (uint32_t)__builtin_ctzll(w), pred, arg);
    }
}

void cache_drop_if(struct cache *c, entry_pred pred, const void *arg)
{
    drop_all(c, pred, arg);
}

/* Should an invalidation naming `nkeys` sets (one per key, some maybe
 * shared) visit the sets in use instead?  Yes when they are fewer. */
static bool count_fewer(const struct cache *c, uint64_t nkeys)
{
    if (nkeys > c->nsets)
        return true;
    uint64_t n = 0;
    for (uint32_t i = 0; i < c->nwords && n < nkeys; i++)
        n += (unsigned)__builtin_popcountll(atomic_load_explicit(&c->used[i], memory_order_relaxed));
    return n < nkeys;
}

static inline bool fewer_used(const struct cache *c, uint64_t nkeys)
{
    return nkeys > c->nwords && count_fewer(c, nkeys); /* a few keys: cheaper than counting */
}

/* ---- context cache ---- */

/* Scalable mode: PASID-cache entries derive from the context entry (its
 * PASIDDIRPTR), so a context-cache invalidation drops those of the
 * source-ids it covers too (the spec still asks software to follow it with a
 * PASID-cache invalidation; doing more than asked is allowed). */
static bool sm_latched(const struct vtd *u)
{
    return atomic_load_explicit(&u->hot, memory_order_acquire) & HOT_SM;
}

void vtd_inval_ctx_global(struct vtd *u)
{
    if (sm_latched(u))
        vtd_inval_pc_global(u);
    atomic_fetch_add_explicit(&u->ctx_epoch, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&u->ctx_ggen, 1, memory_order_acq_rel);
    front_bump(u);
    vtd_notify(u, &(struct vtd_inval_notice){.cache = VTD_NOTICE_CONTEXT, .granularity = VTD_NOTICE_GLOBAL});
}

void vtd_inval_ctx_domain(struct vtd *u, uint16_t did)
{
    /* the scalable-mode context cache is not tagged by domain: global */
    if (sm_latched(u)) {
        vtd_inval_ctx_global(u);
        return;
    }
    atomic_fetch_add_explicit(&u->ctx_epoch, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&u->ctx_dgen[did], 1, memory_order_acq_rel);
    front_bump(u);
    vtd_notify(u, &(struct vtd_inval_notice){.cache = VTD_NOTICE_CONTEXT, .granularity = VTD_NOTICE_DOMAIN,
                                             .did = did});
}

static bool tag_is(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg)
{
    (void)d0, (void)d1;
    return tag == *(const uint64_t *)arg;
}

void vtd_inval_ctx_device(struct vtd *u, uint16_t sid, unsigned fm)
{
    /* FM: 01 masks function bit 2, 10 bits 2:1, 11 bits 2:0 */
    static const uint16_t masks[4] = {0, 4, 6, 7};
    uint16_t m = masks[fm & 3];
    if (sm_latched(u))
        vtd_inval_pc_device(u, sid, fm);
    atomic_fetch_add_explicit(&u->ctx_epoch, 1, memory_order_seq_cst);
    for (unsigned v = 0; v < 8 && u->ctxc.nsets; v++) {
        if (v & ~m)
            continue;
        uint16_t s = (uint16_t)((sid & ~m) | v);
        uint64_t tag = ctx_tag(s);
        drop_in_set(&u->ctxc, ctx_set(&u->ctxc, s), tag_is, &tag);
    }
    front_bump(u);
    vtd_notify(u, &(struct vtd_inval_notice){.cache = VTD_NOTICE_CONTEXT, .granularity = VTD_NOTICE_DEVICE,
                                             .sid = sid, .fm = (uint8_t)(fm & 3)});
}

/* ---- IOTLB and paging-structure cache ---- */

void vtd_inval_iotlb_global(struct vtd *u)
{
    atomic_fetch_add_explicit(&u->tlb_epoch, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&u->tlb_ggen, 1, memory_order_acq_rel);
    front_bump(u);
    vtd_notify(u, &(struct vtd_inval_notice){.cache = VTD_NOTICE_IOTLB, .granularity = VTD_NOTICE_GLOBAL});
}

void vtd_inval_iotlb_domain(struct vtd *u, uint16_t did)
{
    atomic_fetch_add_explicit(&u->tlb_epoch, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&u->tlb_dgen[did], 1, memory_order_acq_rel);
    front_bump(u);
    vtd_notify(u, &(struct vtd_inval_notice){.cache = VTD_NOTICE_IOTLB, .granularity = VTD_NOTICE_DOMAIN,
                                             .did = did});
}

struct range_arg {
    uint16_t did;
    uint64_t first, last; /* page numbers, inclusive */
};

static bool iotlb_in_range(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg)
{
    const struct range_arg *r = arg;
    (void)d0, (void)d1;
    if (iotlb_tag_did(tag) != r->did)
        return false;
    uint64_t pfn = iotlb_tag_pfn(tag), npages = 1ULL << (9 * iotlb_tag_size(tag));
    return pfn <= r->last && pfn + npages - 1 >= r->first;
}

static bool pwc_in_range(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg)
{
    const struct range_arg *r = arg;
    (void)d0, (void)d1;
    if (pwc_tag_did(tag) != r->did)
        return false;
    unsigned level = pwc_tag_level(tag);
    unsigned sh = 9 * (level - 1); /* entry at `level` covers 2^sh pages */
    uint64_t pfn = pwc_tag_key(tag) << sh, npages = 1ULL << sh;
    return pfn <= r->last && pfn + npages - 1 >= r->first;
}

/* Scalable-mode entries of a domain (and PASID, and range) for PASID-based
 * invalidation; fs_only: first-level / nested entries only. */
struct pasid_sel {
    uint16_t did;
    uint32_t pasid;
    bool by_pasid, fs_only, by_range;
    uint64_t first, last;
};

static bool pasid_sel_d1(const struct pasid_sel *s, uint64_t d1)
{
    if (!(d1 & TLB1_SM) || (s->fs_only && !(d1 & TLB1_FS)))
        return false;
    return !s->by_pasid || tlb1_pasid(d1) == s->pasid;
}

static bool iotlb_pasid_match(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg)
{
    const struct pasid_sel *s = arg;
    (void)d0;
    if (iotlb_tag_did(tag) != s->did || !pasid_sel_d1(s, d1))
        return false;
    if (!s->by_range)
        return true;
    uint64_t pfn = iotlb_tag_pfn(tag), npages = 1ULL << (9 * iotlb_tag_size(tag));
    return pfn <= s->last && pfn + npages - 1 >= s->first;
}

static bool pwc_pasid_match(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg)
{
    const struct pasid_sel *s = arg;
    (void)d0;
    if (pwc_tag_did(tag) != s->did || !pasid_sel_d1(s, d1))
        return false;
    if (!s->by_range)
        return true;
    unsigned sh = 9 * (pwc_tag_level(tag) - 1);
    uint64_t pfn = pwc_tag_key(tag) << sh, npages = 1ULL << sh;
    return pfn <= s->last && pfn + npages - 1 >= s->first;
}

void vtd_inval_piotlb_pasid(struct vtd *u, uint16_t did, uint32_t pasid)
{
    /* Table 24, PASID-selective: IOTLB entries of every PGTT and first-level
     * paging-structure-cache entries of (DID, PASID); second-level
     * paging-structure-cache entries are not affected */
    struct pasid_sel ps = {.did = did, .pasid = pasid, .by_pasid = true};
    atomic_fetch_add_explicit(&u->tlb_epoch, 1, memory_order_seq_cst);
    if (u->iotlb.nsets)
        cache_drop_if(&u->iotlb, iotlb_pasid_match, &ps);
    ps.fs_only = true;
    if (u->pwc.nsets)
        cache_drop_if(&u->pwc, pwc_pasid_match, &ps);
    if (u->fl_dgen)
        vtd_inval_fl(u, did, pasid, false, 0, 0, false);
    front_bump(u);
    vtd_notify(u, &(struct vtd_inval_notice){.cache = VTD_NOTICE_IOTLB, .granularity = VTD_NOTICE_PASID,
                                             .did = did, .pasid_valid = true, .pasid = pasid});
}

void vtd_inval_piotlb_page(struct vtd *u, uint16_t did, uint32_t pasid, uint64_t addr, unsigned am, bool ih)
{
    /* Table 24, page-selective-within-PASID: first-level / nested IOTLB
     * entries of (DID, PASID, range) and, with IH=0, first-level
     * paging-structure-cache entries; second-level-only and pass-through
     * entries are not affected */
    struct pasid_sel ps = {.did = did, .pasid = pasid, .by_pasid = true, .fs_only = true, .by_range = true};
    ps.first = (addr >> VTD_PAGE_SHIFT) & ~((1ULL << am) - 1);
    ps.last = ps.first + (1ULL << am) - 1;
    atomic_fetch_add_explicit(&u->tlb_epoch, 1, memory_order_seq_cst);
    if (u->iotlb.nsets)
        cache_drop_if(&u->iotlb, iotlb_pasid_match, &ps);
    if (!ih && u->pwc.nsets)
        cache_drop_if(&u->pwc, pwc_pasid_match, &ps);
    if (u->fl_dgen)
        vtd_inval_fl(u, did, pasid, true, addr, am, ih);
    front_bump(u);
    vtd_notify(u, &(struct vtd_inval_notice){.cache = VTD_NOTICE_IOTLB, .granularity = VTD_NOTICE_PAGE,
                                             .did = did, .ih = ih, .pasid_valid = true, .pasid = pasid,
                                             .addr = ps.first << VTD_PAGE_SHIFT,
                                             .size = (1ULL << am) << VTD_PAGE_SHIFT});
}

void vtd_inval_iotlb_page(struct vtd *u, uint16_t did, uint64_t addr, unsigned am, bool ih)
{
    struct range_arg r = {.did = did};
    r.first = (addr >> VTD_PAGE_SHIFT) & ~((1ULL << am) - 1);
    r.last = r.first + (1ULL << am) - 1;
    atomic_fetch_add_explicit(&u->tlb_epoch, 1, memory_order_seq_cst);
    if (u->iotlb.nsets) {
        for (unsigned s = 0; s < 3; s++) {
            uint64_t k0 = r.first >> (9 * s), k1 = r.last >> (9 * s);
            if (fewer_used(&u->iotlb, k1 - k0 + 1)) {
                drop_all(&u->iotlb, iotlb_in_range, &r);
                break;
            }
            for (uint64_t k = k0; k <= k1; k++)
                drop_in_set(&u->iotlb, iotlb_set(&u->iotlb, did, s, k), iotlb_in_range, &r);
        }
    }
    /* scalable mode: every first-level / nested entry of the domain (Table 23) */
    if (u->fl_dgen)
        vtd_inval_fl_domain(u, did);
    /* IH=0: the paging-structure entries above the range go too; IH=1 tells
     * the unit that no non-leaf entry changed, so they are kept. */
    if (!ih && u->pwc.nsets) {
        for (unsigned level = 2; level <= 5; level++) {
            unsigned sh = 9 * (level - 1);
            uint64_t k0 = r.first >> sh, k1 = r.last >> sh;
            if (fewer_used(&u->pwc, k1 - k0 + 1)) {
                drop_all(&u->pwc, pwc_in_range, &r);
                break;
            }
            for (uint64_t k = k0; k <= k1; k++)
                drop_in_set(&u->pwc, pwc_set(&u->pwc, did, level, k), pwc_in_range, &r);
        }
    }
    /* scalable mode (Table 23): first-level and nested IOTLB entries, and
     * first-level paging-structure-cache entries, of the domain go whole */
    if (sm_latched(u)) {
        struct pasid_sel ps = {.did = did, .fs_only = true};
        if (u->iotlb.nsets)
            cache_drop_if(&u->iotlb, iotlb_pasid_match, &ps);
        if (u->pwc.nsets)
            cache_drop_if(&u->pwc, pwc_pasid_match, &ps);
    }
    front_bump(u);
    vtd_notify(u, &(struct vtd_inval_notice){.cache = VTD_NOTICE_IOTLB, .granularity = VTD_NOTICE_PAGE,
                                             .did = did, .ih = ih, .addr = r.first << VTD_PAGE_SHIFT,
                                             .size = (1ULL << am) << VTD_PAGE_SHIFT});
}

/* ---- first-level caches (fl.h) ---- */

void vtd_inval_fl_domain(struct vtd *u, uint16_t did)
{
    if (!u->fl_dgen)
        return;
    atomic_fetch_add_explicit(&u->tlb_epoch, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&u->fl_dgen[did], 1, memory_order_acq_rel);
    front_bump(u);
}

struct fl_range {
    uint64_t key; /* fl_key(did, pasid) */
    bool page;
    uint64_t first, last; /* page numbers (45 bits), inclusive */
};

static bool fl_overlaps(const struct fl_range *r, uint64_t pfn, unsigned sh)
{
    return !r->page || (pfn <= r->last && pfn + (1ULL << sh) - 1 >= r->first);
}
static bool fltlb_match(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg)
{
    const struct fl_range *r = arg;
    (void)d0;
    return (d1 & ~(uint64_t)CACHE_MARK) == r->key && fl_overlaps(r, fltlb_tag_pfn(tag), 9 * fltlb_tag_size(tag));
}
static bool flpwc_match(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg)
{
    const struct fl_range *r = arg;
    unsigned sh = 9 * (flpwc_tag_level(tag) - 1);
    (void)d0;
    return d1 == r->key && fl_overlaps(r, flpwc_tag_key(tag) << sh, sh);
}

void vtd_inval_fl(struct vtd *u, uint16_t did, uint32_t pasid, bool page, uint64_t addr, unsigned am, bool ih)
{
    struct fl_range r = {.key = fl_key(did, pasid), .page = page};
    if (am > 45)
        am = 45;
    r.first = ((addr >> VTD_PAGE_SHIFT) & FL_PFN_MASK) & ~((1ULL << am) - 1);
    r.last = r.first + (1ULL << am) - 1;
    /* the epoch first: a walk that read the tables before this does not fill */
    atomic_fetch_add_explicit(&u->tlb_epoch, 1, memory_order_seq_cst);
    if (u->fltlb.nsets)
        cache_drop_if(&u->fltlb, fltlb_match, &r);
    if (u->flpwc.nsets && !(page && ih))
        cache_drop_if(&u->flpwc, flpwc_match, &r);
    front_bump(u);
}

/* ---- interrupt entry cache ---- */

struct iec_range {
    uint32_t lo, hi; /* inclusive */
};
static bool iec_in_range(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg)
{
    const struct iec_range *r = arg;
    (void)d0, (void)d1;
    uint64_t idx = tag >> 1;
    return idx >= r->lo && idx <= r->hi;
}

void vtd_inval_iec(struct vtd *u, bool global, uint32_t idx, unsigned im)
{
    /* the epoch first: a fill that read the table before this cannot land after it */
    atomic_fetch_add_explicit(&u->iec_epoch, 1, memory_order_seq_cst);
    if (!u->iec.nsets)
        return;
    if (global) {
        cache_clear(&u->iec);
        return;
    }
    uint64_t n = 1ULL << im;
    struct iec_range r = {idx, (uint32_t)((uint64_t)idx + n - 1 > 0xFFFFFFFFu ? 0xFFFFFFFFu : idx + n - 1)};
    if (fewer_used(&u->iec, n)) {
        drop_all(&u->iec, iec_in_range, &r);
        return;
    }
    for (uint64_t i = 0; i < n; i++)
        drop_in_set(&u->iec, iec_set(&u->iec, (uint32_t)(idx + i)), iec_in_range, &r);
}
