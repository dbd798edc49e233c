/* SPDX-License-Identifier: MIT */
/*
 * Second-level translation (spec "Second-Stage Translation"): a 3-, 4- or
 * 5-level walk from SLPTPTR with 2 MiB / 1 GiB leaves, permissions ANDed over
 * the levels, reserved-bit checks, and the paging-structure cache and IOTLB
 * fills.
 *
 * Order within a level (spec table "Fault conditions"): an entry with R=W=0
 * grants nothing (5h/6h); a present entry lacking the requested permission
 * faults 5h/6h; only then are its reserved bits checked (Ch); only then is
 * the next level read (7h, or 3h for the table SLPTPTR names).
 */
#include "internal.h"

#define SL_ADDR VTD_GENMASK(51, 12)

uint8_t vtd_perm_fault(uint8_t need)
{
    if (need & (VTD_R | NEED_ANY))
        return VTD_FR_NO_READ;
    return VTD_FR_NO_WRITE;
}

struct pwc_fill {
    unsigned level;
    uint64_t key, d0;
};

static void fill(struct walk *w, const struct ctxinfo *ci, const struct pwc_fill *pf, unsigned npf,
                 unsigned size, uint64_t pfn, uint64_t d0, uint64_t gen, bool leaf)
{
    struct vtd *u = w->u;
    if (!(leaf && u->iotlb.nsets) && !(npf && u->pwc.nsets))
        return;
    for (unsigned i = 0; i < npf; i++)
        cache_insert(&u->pwc, pwc_set(&u->pwc, ci->did, pf[i].level, pf[i].key),
                     pwc_tag(ci->did, pf[i].level, pf[i].key), pf[i].d0, 0, gen, &u->tlb_epoch, w->tlb_epoch);
    if (leaf && u->iotlb.nsets) {
        uint64_t key = pfn >> (9 * size);
        /* the size is announced before an entry of it can be found */
        uint8_t ds = atomic_load_explicit(&u->dsizes[ci->did], memory_order_relaxed);
        if (!(ds & (1u << size)))
            atomic_fetch_or_explicit(&u->dsizes[ci->did], (uint8_t)(1u << size), memory_order_release);
        if (cache_insert_k(&u->iotlb, iotlb_set(&u->iotlb, ci->did, size, key), iotlb_tag(ci->did, size, pfn),
                           TLB1_KEYMASK, d0, w->tlb_d1, gen, &u->tlb_epoch, w->tlb_epoch) > 0)
            front_bump(u);
    }
}

/*
 * The common case in a tight loop: direct pointers to the tables, every
 * entry present and valid, the request's permission granted at each level.
 * Returns 0 with *lf filled (and the caches filled), or 1 when anything else
 * came up; the full walk then redoes the levels with every check in the
 * spec's order (it reads the same entries again, which only costs time).
 */
static int fast_walk(struct walk *w, const struct ctxinfo *ci, uint64_t table, unsigned l, uint8_t perm,
                     uint8_t amiss, uint64_t gen, struct leaf *lf)
{
    struct vtd *u = w->u;
    const uint64_t addr = w->req->addr;
    const uint8_t need = w->need;
    struct pwc_fill pf[4];
    unsigned npf = 0, l0 = l;
    unsigned shift = VTD_PAGE_SHIFT + 9 * (l - 1);
    if ((need & NEED_ANY) || w->slade)
        return 1;
    for (;;) {
        const uint64_t *p = u->host.mem_ptr(u->host.opaque, table + ((addr >> shift) & 511) * 8);
        if (VTD_UNLIKELY(!p))
            return 1;
        uint64_t pte = __atomic_load_n(p, __ATOMIC_RELAXED);
        uint8_t np = perm & (uint8_t)pte & (VTD_R | VTD_W);
        if (VTD_UNLIKELY(np != perm)) {
            if (!np)
                return 1; /* not present, or nothing left */
            if (!amiss)
                amiss = (np & VTD_R) ? VTD_FR_NO_WRITE : VTD_FR_NO_READ;
        }
        perm = np;
        const bool leaf = l == 1 || (l <= 3 && (pte & VTD_SL_PS));
        if (VTD_UNLIKELY((need & ~perm) || (pte & (leaf ? u->rsvd_leaf[l] : u->rsvd_nonleaf[l]))))
            return 1;
        if (leaf) {
            if (walk_diags(w))
                atomic_store_explicit(&w->st->mem_reads,
                                      atomic_load_explicit(&w->st->mem_reads, memory_order_relaxed) + (l0 - l + 1),
                                      memory_order_relaxed);
            lf->size = 1ULL << shift;
            lf->page = pte & SL_ADDR & ~(lf->size - 1);
            lf->perm = perm;
            lf->flags = (pte & VTD_SL_SNP) ? TLB_SNP : 0;
            lf->amiss = amiss;
            if (walk_caches(w) && (u->iotlb.nsets || npf))
                fill(w, ci, pf, npf, l - 1, (addr >> VTD_PAGE_SHIFT) & ~((1ULL << (9 * (l - 1))) - 1),
                     lf->page | lf->perm | lf->flags | amiss_bits(amiss), gen, true);
            return 0;
        }
        table = pte & SL_ADDR;
        if (u->pwc.nsets && walk_caches(w))
            pf[npf++] = (struct pwc_fill){.level = l, .key = addr >> shift, .d0 = table | perm | amiss_bits(amiss)};
        l--;
        shift -= 9;
    }
}

/* Scalable mode with SSADE (spec "Accessed and Dirty Flags" for the second
 * stage): set A in every entry used and D in the leaf of a write, with an
 * atomic compare-exchange; 0, or 7Ch when the page walk is not snooped
 * (SMPWCS or PWSNP clear), 7Dh when the update fails.  vtd_walk and stale
 * checks (WALK_NORECORD) never write memory. */
static int sl_ad(struct walk *w, uint64_t pa, uint64_t pte, bool leaf, uint8_t perm, uint8_t *flags)
{
    struct vtd *u = w->u;
    uint64_t want = VTD_SL_A | ((leaf && w->dirty && (perm & VTD_W)) ? VTD_SL_D : 0);
    if (leaf && (pte & VTD_SL_D))
        *flags |= TLB_D;
    if ((pte & want) == want)
        return 0;
    if (!w->ad_ok)
        return VTD_FR_SM_SL_AD_NOSNOOP;
    if (leaf && (want & VTD_SL_D))
        *flags |= TLB_D;
    if (!walk_diags(w))
        return 0;
    uint64_t cur = pte;
    for (int tries = 0; tries < 16; tries++) {
        int rc;
        if (u->host.mem_cmpxchg64) {
            uint64_t exp = cur;
            rc = u->host.mem_cmpxchg64(u->host.opaque, pa, &exp, cur | want);
            if (rc == 1) {
                /* changed under us: keep going only while it still maps the
                 * same thing (software may be racing with its own update) */
                if ((exp & ~(VTD_SL_A | VTD_SL_D)) != (pte & ~(VTD_SL_A | VTD_SL_D)))
                    break;
                cur = exp;
                continue;
            }
        } else {
            uint64_t v = cur | want;
            rc = u->host.mem_write(u->host.opaque, pa, &v, sizeof(v)) ? -1 : 0;
        }
        if (rc == 0)
            return 0;
        break;
    }
    vtd_diagf(u, VTD_DIAG_READ_ERROR, w->req->sid, pa,
              "second-level entry at 0x%llx: the A/D update could not be written", (unsigned long long)pa);
    return VTD_FR_SM_SL_AD_FAILED;
}

int vtd_sl_walk(struct walk *w, const struct ctxinfo *ci, struct leaf *lf)
{
    struct vtd *u = w->u;
    const uint64_t addr = w->req->addr;
    const unsigned levels = ci->levels;
    const bool use = walk_caches(w);
    uint64_t table = ci->slptptr, gen = 0;
    uint8_t perm = VTD_R | VTD_W, amiss = 0;
    unsigned l = levels;
    struct pwc_fill pf[4];
    unsigned npf = 0;

    if (use) {
        w->tlb_epoch = atomic_load_explicit(&u->tlb_epoch, memory_order_acquire);
        gen = tlb_gen(u, ci->did);
        if (u->pwc.nsets) {
            /* deepest non-leaf entry first */
            for (unsigned pl = 2; pl <= levels; pl++) {
                uint64_t key = addr >> (VTD_PAGE_SHIFT + 9 * (pl - 1));
                struct chit h;
                if (cache_lookup(&u->pwc, pwc_set(&u->pwc, ci->did, pl, key), pwc_tag(ci->did, pl, key), &h) &&
                    h.gen == gen) {
                    stat_inc(&w->st->pwc_hits);
                    table = h.d0 & SL_ADDR;
                    perm = (uint8_t)(h.d0 & (VTD_R | VTD_W));
                    amiss = amiss_of(h.d0);
                    /* entries filled by nested walks carry no amiss: with
                     * one permission left, the other is the one missing */
                    if (!amiss && perm && perm != (VTD_R | VTD_W))
                        amiss = (perm & VTD_R) ? VTD_FR_NO_WRITE : VTD_FR_NO_READ;
                    l = pl - 1;
                    w->used_cache = true;
                    /* the cached levels' permission is checked before the
                     * next level is read, as a full walk would */
                    uint8_t pr = w->ats ? 0 : vtd_perm_check(w->need, perm, amiss);
                    if (pr) {
                        w->qualified = true;
                        w->perm_fault = true;
                        lf->perm = perm;
                        return pr;
                    }
                    break;
                }
                stat_inc(&w->st->pwc_misses);
            }
        }
    }
    if (walk_diags(w)) /* count what vtd_translate does, not vtd_walk or stale checks */
        stat_inc(&w->st->walks);
    if (VTD_LIKELY(!w->fn && u->host.mem_ptr)) {
        int r = fast_walk(w, ci, table, l, perm, amiss, gen, lf);
        if (VTD_LIKELY(r == 0))
            return 0;
        /* anything unusual: the full walk below, from the same start */
    }
    /* table reads are counted once per walk: levels read = start - end + 1 */
    const unsigned l0 = l;
#define COUNT_READS()                                                                                  \
    do {                                                                                               \
        if (walk_diags(w))                                                                             \
            atomic_store_explicit(&w->st->mem_reads,                                                   \
                                  atomic_load_explicit(&w->st->mem_reads, memory_order_relaxed) + (l0 - l + 1), \
                                  memory_order_relaxed);                                               \
    } while (0)

    const uint8_t need = w->need;
    unsigned shift = VTD_PAGE_SHIFT + 9 * (l - 1);
    for (;; l--, shift -= 9) {
        unsigned idx = (unsigned)(addr >> shift) & 511;
        uint64_t pa = table + idx * 8, pte;
        const uint64_t *p = u->host.mem_ptr ? u->host.mem_ptr(u->host.opaque, pa) : NULL;
        if (VTD_LIKELY(p != NULL)) {
            pte = __atomic_load_n(p, __ATOMIC_RELAXED);
        } else if (VTD_UNLIKELY(u->host.mem_read(u->host.opaque, pa, &pte, 8))) {
            walk_step(w, VTD_STEP_SL_PTE, (int)l, idx, table, pa, NULL, 0, true);
            if (walk_diags(w))
                vtd_diagf(u, VTD_DIAG_READ_ERROR, w->req->sid, pa,
                          "second-level table at 0x%llx (level %u) is not backed by memory",
                          (unsigned long long)table, l);
            w->qualified = true;
            COUNT_READS();
            return l == levels ? VTD_FR_CTX_INVALID : VTD_FR_SL_READ_ERROR;
        }
        walk_step(w, VTD_STEP_SL_PTE, (int)l, idx, table, pa, &pte, 1, false);
        perm &= (uint8_t)(pte & (VTD_SL_R | VTD_SL_W));
        if (!amiss && perm != (VTD_R | VTD_W) && perm)
            amiss = (perm & VTD_R) ? VTD_FR_NO_WRITE : VTD_FR_NO_READ;
        const bool leaf = l == 1 || (l <= 3 && (pte & VTD_SL_PS));
        const uint64_t rsvd = pte & (leaf ? u->rsvd_leaf[l] : u->rsvd_nonleaf[l]);
        const bool short_perm = (need & ~perm & (VTD_R | VTD_W)) || ((need & NEED_ANY) && !perm);
        /* one test on the common path; the order of the checks below is the
         * spec's precedence */
        if (VTD_UNLIKELY(!(pte & (VTD_SL_R | VTD_SL_W)) || short_perm || rsvd)) {
            w->qualified = true;
            COUNT_READS();
            if (!(pte & (VTD_SL_R | VTD_SL_W))) {
                /* not present; with CAP.CM the unit caches that (as a 4 KiB
                 * entry granting nothing, keeping in amiss which permission
                 * the levels above lack, 0 for none) and software must
                 * invalidate after making it present */
                if (use && u->cm && u->iotlb.nsets)
                    fill(w, ci, pf, npf, 0, addr >> VTD_PAGE_SHIFT,
                         TLB_NEG | amiss_bits(amiss), gen, true);
                else if (use && npf)
                    fill(w, ci, pf, npf, 0, 0, 0, gen, false);
                w->perm_fault = true;
                lf->perm = 0;
                return vtd_perm_fault(need);
            }
            if (short_perm) {
                w->perm_fault = true;
                lf->perm = perm;
                return vtd_perm_check(need, perm, amiss);
            }
            if (walk_diags(w))
                vtd_diagf(u, VTD_DIAG_SL_RSVD, w->req->sid, pa,
                          "second-level %s entry at 0x%llx (level %u) = 0x%016llx sets reserved bits 0x%llx",
                          leaf ? "leaf" : "non-leaf", (unsigned long long)pa, l, (unsigned long long)pte,
                          (unsigned long long)rsvd);
            return VTD_FR_SL_RSVD;
        }
        uint8_t adflags = 0;
        if (VTD_UNLIKELY(w->slade)) {
            int ar = sl_ad(w, pa, pte, leaf, perm, &adflags);
            if (ar) {
                w->qualified = true;
                COUNT_READS();
                return ar;
            }
        }
        if (leaf) {
            COUNT_READS();
            lf->size = 1ULL << shift;
            lf->page = pte & SL_ADDR & ~(lf->size - 1);
            lf->perm = perm;
            lf->flags = (uint8_t)(((pte & VTD_SL_SNP) ? TLB_SNP : 0) | adflags);
            lf->amiss = amiss;
            if (use && (u->iotlb.nsets || npf))
                fill(w, ci, pf, npf, l - 1, (addr >> VTD_PAGE_SHIFT) & ~((1ULL << (9 * (l - 1))) - 1),
                     lf->page | lf->perm | lf->flags | amiss_bits(amiss), gen, true);
            return 0;
        }
        table = pte & SL_ADDR;
        if (use && u->pwc.nsets)
            pf[npf++] = (struct pwc_fill){.level = l, .key = addr >> shift, .d0 = table | perm | amiss_bits(amiss)};
    }
}
