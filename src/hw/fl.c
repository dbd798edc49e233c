/* SPDX-License-Identifier: MIT */
/*
 * First-level (PGTT 001) and nested (PGTT 011) translation, spec Rev 5.10
 * §3.6 "First-Stage Translation", §3.8 "Nested Translation", §9.7 entry
 * formats and the SFS / SSS / SGN rows of Table 30.
 *
 * First level: IA-32e paging, 4 levels (48-bit canonical input) or 5
 * (FSPM = 01, CAP.FS5LP; 57-bit), 2 MiB leaves always, 1 GiB with
 * CAP.FS1GP.  Access rights (§3.6.1): a user request (PR = 0) needs U/S = 1
 * in every entry, and for a write R/W = 1 in every entry; a supervisor
 * request (PR = 1, SRE = 1) may read anything mapped and write anything
 * mapped when WPE = 0, with WPE = 1 only where R/W = 1 everywhere.  Rev 5.10
 * has no execute permission in first-level entries (bits 63:52 are ignored,
 * there is no XD bit, no NXE and no SMEP / SMAP control) and ECAP.ERS must be
 * 0: requests with ER = 1 are refused before translation (RTA.5 34h, or
 * SPT.5 5Ch on major version <= 7), so this file never sees one.
 *
 * Order of checks per level: the read (70h, or 73h for the table FSPTPTR
 * names), P (71h), reserved bits (72h), nested: the next address within the
 * second-level width (74h); then the entry is used: A (and EA with EAFE) is
 * set on a non-leaf entry.  At the leaf: U/S (81h), first-level write
 * permission (85h), nested: the final guest-physical address through the
 * second level (79h, 85h, 86h); then A (EA) and, for a write, D are set in
 * one compare-exchange.  A/D updates need snooped page walks (ECAP.SMPWCS
 * and PWSNP, else 90h) and a backed entry (91h); a compare that fails (the
 * entry changed under us) re-checks the new value.
 *
 * Nested: FSPTPTR, every entry's ADDR and the final address are
 * guest-physical and go through the second level of the same PASID entry
 * (SSPTPTR, AW).  Reading a first-level entry needs second-level read
 * permission (75h for the FSPTPTR table, 76h below; R and W with SSADE), an
 * A/EA/D update needs read and write (77h).  Second-level faults on the way:
 * 78h (read error below the top), 79h (R = W = 0, or neither cumulatively),
 * 7Ah (reserved), 7Bh (read error at SSPTPTR), 7Ch / 7Dh (SSADE A/D update
 * not snooped / failed).  With SSADE the second-level A bits of every entry
 * used, and D of the leaf mapping a page written (a first-level entry whose
 * A/D changed, or the final page of a write), are set too.
 */
#include <string.h>

#include "fl.h"
#include "sm.h"

#define SL_ADDR VTD_GENMASK(51, 12)
#define FL_ADDR VTD_FL_ADDR_MASK
#define AD_RETRIES 64 /* compare failures on one entry before giving up (91h / 7Dh) */

/* fltlb d0: output page | FL R/W all 0 | FL U/S all 1 | dirty recorded 2 |
 * SL perm 4:3 | SNP 5 */
#define FLT_RW 1u
#define FLT_US 2u
#define FLT_D 4u
#define FLT_SLPERM_SHIFT 3
#define FLT_SNP 32u
/* flpwc d0: next table (host-physical) | R/W so far 0 | U/S so far 1 |
 * nested: second-level W on the next table's page 2 */
#define FLP_SLW 4u

struct sl_out {
    uint64_t hpa;     /* translated address */
    uint64_t size;    /* second-level page size */
    uint8_t perm;     /* cumulative R/W */
    bool snp;
    uint64_t leaf_pa; /* the second-level leaf (for a D update with SSADE) */
};

static inline bool caps(const struct vtd *u, uint64_t ecap_bit) { return (u->cfg.ecap & ecap_bit) != 0; }

static void count_read(struct walk *w)
{
    if (walk_diags(w))
        stat_inc(&w->st->mem_reads);
}

static int read_entry(struct walk *w, uint64_t pa, uint64_t *v)
{
    struct vtd *u = w->u;
    count_read(w);
    const uint64_t *p = u->host.mem_ptr ? u->host.mem_ptr(u->host.opaque, pa) : NULL;
    if (VTD_LIKELY(p != NULL)) {
        *v = __atomic_load_n(p, __ATOMIC_RELAXED);
        return 0;
    }
    return u->host.mem_read(u->host.opaque, pa, v, 8);
}

static void nested_step(struct walk *w, int level, unsigned idx, uint64_t table, uint64_t pa, const uint64_t *v,
                        int for_level, uint64_t gpa)
{
    if (VTD_UNLIKELY(w->fn != NULL)) {
        struct vtd_walk_step s = {.kind = VTD_STEP_SL_PTE, .level = level, .index = idx, .table = table,
                                  .addr = pa, .read_error = v == NULL, .nested = true, .for_level = for_level,
                                  .input = gpa};
        if (v)
            s.val[0] = *v;
        w->fn(w->arg, &s);
    }
}

static void fl_step(struct walk *w, int level, unsigned idx, uint64_t table, uint64_t pa, const uint64_t *v)
{
    walk_step(w, VTD_STEP_FL_PTE, level, idx, table, pa, v, v ? 1 : 0, v == NULL);
}

/* Second-level width for a nested walk: min(MGAW, AW). */
static unsigned sl_width(const struct vtd *u, const struct pasidinfo *pi)
{
    unsigned width = 30 + 9 * (unsigned)pi->aw;
    return width > u->mgaw ? u->mgaw : width;
}

/* Set `bits` in the entry at pa (value *v as read) with one compare-exchange.
 * 0 done (*v = the new value), 1 the entry changed (*v = its value now: the
 * caller checks it again), -1 not backed.  Inspection walks (vtd_walk, the
 * stale check's re-walk) change nothing in memory: they go on as if the
 * update had been made. */
static int set_bits(struct walk *w, uint64_t pa, uint64_t *v, uint64_t bits)
{
    if (!walk_diags(w)) {
        *v |= bits;
        return 0;
    }
    struct vtd *u = w->u;
    uint64_t expect = *v;
    int rc = vtd_host_cmpxchg(u, pa, &expect, expect | bits);
    if (rc == 0) {
        *v = expect | bits;
        return 0;
    }
    if (rc > 0) {
        *v = expect;
        return 1;
    }
    return -1;
}

/* Second-level A/D updates (SSADE): D on a leaf whose page is written. */
static int sl_set_dirty(struct walk *w, const struct pasidinfo *pi, uint64_t pa)
{
    struct vtd *u = w->u;
    uint64_t v;
    if (read_entry(w, pa, &v))
        return VTD_FR_SM_SL_AD_FAILED;
    /* an update is needed only when a bit is clear (no 7Ch otherwise) */
    if ((v & (VTD_SL_A | VTD_SL_D)) == (VTD_SL_A | VTD_SL_D))
        return 0;
    if (!pi->pwsnp || !caps(u, VTD_ECAP_SMPWCS))
        return VTD_FR_SM_SL_AD_NOSNOOP;
    if (!walk_diags(w))
        return 0;
    for (unsigned i = 0; i < AD_RETRIES; i++) {
        if ((v & (VTD_SL_A | VTD_SL_D)) == (VTD_SL_A | VTD_SL_D))
            return 0;
        int rc = set_bits(w, pa, &v, VTD_SL_A | VTD_SL_D);
        if (rc < 0)
            return VTD_FR_SM_SL_AD_FAILED;
        if (rc == 0)
            return 0;
    }
    return VTD_FR_SM_SL_AD_FAILED;
}

/*
 * Translate guest-physical `gpa` through the second level of pi (a nested
 * walk's step for first-level level `for_level`, 0 = the final address).
 * top: gpa is FSPTPTR (its width violation is SPT.4.4).  Fills the legacy
 * PWC (tag pi->did) with the non-leaf entries.  0 or a fault reason.
 */
static int nested_sl(struct walk *w, const struct pasidinfo *pi, uint64_t gpa, int for_level, bool top,
                     struct sl_out *o)
{
    struct vtd *u = w->u;
    const unsigned levels = pi->sl_levels;
    const bool use = walk_caches(w) && u->pwc.nsets;
    if (gpa >> sl_width(u, pi))
        return top ? VTD_FR_SM_PTE_INVALID : VTD_FR_SM_FL_NESTED_ADDR;
    uint64_t table = pi->slptptr & SL_ADDR, gen = 0;
    uint8_t perm = VTD_R | VTD_W;
    unsigned l = levels;
    if (use) {
        gen = tlb_gen(u, pi->did);
        for (unsigned pl = 2; pl <= levels; pl++) {
            uint64_t key = gpa >> (VTD_PAGE_SHIFT + 9 * (pl - 1));
            struct chit h = {0};
            if (cache_lookup(&u->pwc, pwc_set(&u->pwc, pi->did, pl, key), pwc_tag(pi->did, pl, key), &h) &&
                h.gen == gen) {
                stat_inc(&w->st->pwc_hits);
                table = h.d0 & SL_ADDR;
                perm = (uint8_t)(h.d0 & (VTD_R | VTD_W));
                l = pl - 1;
                w->used_cache = true;
                break;
            }
            stat_inc(&w->st->pwc_misses);
        }
    }
    const bool ssade = pi->slade;
    unsigned shift = VTD_PAGE_SHIFT + 9 * (l - 1);
    for (;; l--, shift -= 9) {
        const unsigned idx = (unsigned)(gpa >> shift) & 511;
        const uint64_t pa = table + idx * 8;
        uint64_t pte;
        if (read_entry(w, pa, &pte)) {
            nested_step(w, (int)l, idx, table, pa, NULL, for_level, gpa);
            return l == levels ? VTD_FR_SM_SL_PTR : VTD_FR_SM_SL_READ_ERROR;
        }
        nested_step(w, (int)l, idx, table, pa, &pte, for_level, gpa);
        for (unsigned tries = 0;; tries++) {
            if (!(pte & (VTD_SL_R | VTD_SL_W)))
                return VTD_FR_SM_SL_PERM;
            const bool leaf = l == 1 || (l <= 3 && (pte & VTD_SL_PS));
            if (pte & (leaf ? u->rsvd_leaf[l] : u->rsvd_nonleaf[l]))
                return VTD_FR_SM_SL_RSVD;
            /* an entry is validated (cumulative R or W) before its A is set */
            if (!(perm & pte & (VTD_SL_R | VTD_SL_W)))
                return VTD_FR_SM_SL_PERM;
            if (!ssade || (pte & VTD_SL_A))
                break;
            if (!pi->pwsnp || !caps(u, VTD_ECAP_SMPWCS))
                return VTD_FR_SM_SL_AD_NOSNOOP;
            int rc = set_bits(w, pa, &pte, VTD_SL_A);
            if (rc < 0 || tries >= AD_RETRIES)
                return VTD_FR_SM_SL_AD_FAILED;
            if (rc == 0)
                break;
        }
        perm &= (uint8_t)(pte & (VTD_SL_R | VTD_SL_W));
        if (!perm)
            return VTD_FR_SM_SL_PERM; /* neither R nor W granted cumulatively */
        const bool leaf = l == 1 || (l <= 3 && (pte & VTD_SL_PS));
        if (leaf) {
            o->size = 1ULL << shift;
            o->hpa = (pte & SL_ADDR & ~(o->size - 1)) | (gpa & (o->size - 1));
            o->perm = perm;
            o->snp = (pte & VTD_SL_SNP) != 0;
            o->leaf_pa = pa;
            return 0;
        }
        table = pte & SL_ADDR;
        if (use)
            cache_insert(&u->pwc, pwc_set(&u->pwc, pi->did, l, gpa >> shift), pwc_tag(pi->did, l, gpa >> shift),
                         table | perm, 0, gen, &u->tlb_epoch, w->tlb_epoch);
    }
}

/* First-level permission from the cumulative R/W and U/S bits (§3.6.1). */
uint8_t vtd_fl_perm(bool rw, bool us, bool priv, bool wpe)
{
    if (!priv)
        return us ? (uint8_t)(VTD_R | (rw ? VTD_W : 0)) : 0;
    return (uint8_t)(VTD_R | ((rw || !wpe) ? VTD_W : 0));
}

/* Reserved bits of a present first-level entry at level l (§3.6, §9.7). */
uint64_t vtd_fl_rsvd(const struct vtd *u, unsigned l, uint64_t pte)
{
    uint64_t r = VTD_GENMASK(51, 0) & u->haw_mask;
    if (l >= 4)
        return r | VTD_FL_PS;
    if (!(pte & VTD_FL_PS) || l == 1)
        return r;
    if (l == 3)
        return r | ((u->cfg.cap & VTD_CAP_FL1GP) ? VTD_GENMASK(29, 13) : VTD_FL_PS);
    return r | VTD_GENMASK(20, 13);
}

/* Check a first-level request against a translation: 0, or the reason
 * (81h, 85h, 86h, 79h) with *perm the effective permission. */
static int perm_result(const struct walk *w, bool priv, bool wpe, bool rw, bool us, uint8_t slperm, uint8_t *perm)
{
    const uint8_t need = w->need;
    const uint8_t flp = vtd_fl_perm(rw, us, priv, wpe);
    *perm = flp & slperm;
    if (w->ats)
        return 0;
    if (!flp)
        return VTD_FR_SM_USER_SUPERVISOR;
    if ((need & VTD_W) && !(flp & VTD_W))
        return VTD_FR_SM_NO_WRITE;
    if (need & NEED_ANY)
        return slperm ? 0 : VTD_FR_SM_SL_PERM;
    if ((need & VTD_R) && !(slperm & VTD_R))
        return VTD_FR_SM_NO_READ;
    if ((need & VTD_W) && !(slperm & VTD_W))
        return VTD_FR_SM_NO_WRITE;
    return 0;
}

/* The conditions Table 30 answers a translation request with "Success with
 * R=W=U=S=0" (rather than CA) are marked perm_fault for the caller. */
static int fl_fault(struct walk *w, int reason)
{
    switch (reason) {
    case VTD_FR_SM_SL_READ_ERROR:
    case VTD_FR_SM_SL_RSVD:
    case VTD_FR_SM_SL_PTR:
    case VTD_FR_SM_SL_AD_NOSNOOP:
    case VTD_FR_SM_SL_AD_FAILED:
    case VTD_FR_SM_PTE_INVALID: break;
    default: w->perm_fault = true;
    }
    w->qualified = true;
    return reason;
}

struct pf_ent {
    unsigned level;
    uint64_t key, d0;
};

static void fl_fill(struct walk *w, const struct pasidinfo *pi, const struct pf_ent *pf, unsigned npf, bool leaf,
                    unsigned size, uint64_t pfn, uint64_t d0, uint64_t gen)
{
    struct vtd *u = w->u;
    const uint64_t key = fl_key(pi->did, pi->pasid);
    for (unsigned i = 0; i < npf && u->flpwc.nsets; i++)
        cache_insert(&u->flpwc, flpwc_set(&u->flpwc, pi->did, pi->pasid, pf[i].level, pf[i].key),
                     flpwc_tag(pi->did, pi->pasid, pf[i].level, pf[i].key), pf[i].d0, key, gen, &u->tlb_epoch,
                     w->tlb_epoch);
    if (leaf && u->fltlb.nsets &&
        cache_insert(&u->fltlb, fltlb_set(&u->fltlb, pi->did, pi->pasid, size, pfn >> (9 * size)),
                     fltlb_tag(pi->did, pi->pasid, size, pfn), d0, key, gen, &u->tlb_epoch, w->tlb_epoch) > 0)
        front_bump(u);
}

/* The IOTLB: a hit usable for this request (a write needs the dirty state
 * recorded) fills *lf or gives the fault; returns -1 when there is none. */
static int tlb_probe(struct walk *w, const struct pasidinfo *pi, bool priv, bool write, uint64_t gen,
                     struct leaf *lf)
{
    struct vtd *u = w->u;
    const uint64_t pfn = (w->req->addr >> VTD_PAGE_SHIFT) & FL_PFN_MASK, key = fl_key(pi->did, pi->pasid);
    for (unsigned size = 0; size <= 2; size++) {
        uint64_t base = pfn & ~((1ULL << (9 * size)) - 1);
        struct chit h = {0};
        const uint32_t set = fltlb_set(&u->fltlb, pi->did, pi->pasid, size, base >> (9 * size));
        const uint64_t tag = fltlb_tag(pi->did, pi->pasid, size, base);
        if (!cache_lookup_k(&u->fltlb, set, tag, ~(uint64_t)CACHE_MARK, key, &h) || h.gen != gen)
            continue;
        if (write && !(h.d0 & FLT_D)) {
            w->d_rewalk = true;
            break; /* the walk sets D */
        }
        stat_inc(&w->st->iotlb_hits);
        w->used_cache = true;
        uint8_t perm;
        int r = perm_result(w, priv, pi->wpe, h.d0 & FLT_RW, h.d0 & FLT_US,
                            (uint8_t)((h.d0 >> FLT_SLPERM_SHIFT) & 3), &perm);
        if (r)
            return fl_fault(w, r);
        lf->size = 1ULL << (VTD_PAGE_SHIFT + 9 * size);
        lf->page = h.d0 & SL_ADDR & ~(lf->size - 1);
        lf->perm = perm;
        lf->flags = (h.d0 & FLT_SNP) ? TLB_SNP : 0;
        lf->amiss = 0;
        /* for a memo of this hit: a write needs D recorded */
        w->memo_tlb = &u->fltlb;
        w->memo_set = set;
        w->memo_tag = tag;
        w->memo_key = key;
        w->memo_d0 = h.d0;
        w->memo_allow = (uint8_t)(perm & ((h.d0 & FLT_D) ? VTD_R | VTD_W : VTD_R));
        return 0;
    }
    stat_inc(&w->st->iotlb_misses);
    return -1;
}

int vtd_fl_walk(struct walk *w, const struct pasidinfo *pi, struct leaf *lf)
{
    struct vtd *u = w->u;
    const struct vtd_request *req = w->req;
    const uint64_t addr = req->addr;
    const bool nested = pi->pgtt == VTD_PGTT_NESTED;
    const unsigned levels = pi->fl_levels == 5 ? 5 : 4;
    const bool priv = w->sm_priv; /* PR, or RID_PRIV for a request without PASID */
    /* a write sets D: a write request, or a translation request asking for
     * write (NW = 0) */
    const bool write = (w->need & VTD_W) || (w->ats && (req->access & VTD_W));
    const uint64_t ea = (pi->eafe && caps(u, VTD_ECAP_EAFS)) ? VTD_FL_EA : 0;
    const bool snoop = pi->pwsnp && caps(u, VTD_ECAP_SMPWCS);
    const bool use = walk_caches(w) && u->fl_dgen != NULL;

    /* canonical input (SGN.1): bits 63:N-1 all equal */
    const unsigned n = levels == 5 ? 57 : 48;
    const int64_t hi = (int64_t)addr >> (n - 1);
    if (hi != 0 && hi != -1)
        return fl_fault(w, VTD_FR_SM_NON_CANONICAL);
    if (priv && !pi->sre)
        return fl_fault(w, VTD_FR_SM_PTE_SRE);

    uint64_t gen = 0;
    if (walk_caches(w))
        w->tlb_epoch = atomic_load_explicit(&u->tlb_epoch, memory_order_acquire);
    if (use) {
        gen = fl_gen(u, pi->did);
        if (u->fltlb.nsets) {
            int r = tlb_probe(w, pi, priv, write, gen, lf);
            if (r >= 0)
                return r;
        }
    }
    if (walk_diags(w))
        stat_inc(&w->st->walks);

    /* the table to read at level l: gpa (nested, unless from the PWC) and hpa */
    unsigned l = levels;
    uint64_t table = pi->flptptr & FL_ADDR;
    bool rw = true, us = true, from_top = true, have_hpa = !nested, slw = true;
    uint64_t hpa = table;
    struct sl_out so = {0};
    /* the FL PWC holds host-physical table addresses; with SSADE a nested
     * walk would have to find the second-level leaf again for a D update,
     * so such walks neither use nor fill it */
    const bool use_pwc = use && u->flpwc.nsets && !(nested && pi->slade);
    const uint64_t fkey = fl_key(pi->did, pi->pasid), pfn = (addr >> VTD_PAGE_SHIFT) & FL_PFN_MASK;
    if (use_pwc) {
        for (unsigned pl = 2; pl <= levels; pl++) {
            uint64_t key = pfn >> (9 * (pl - 1));
            struct chit h = {0};
            if (cache_lookup_k(&u->flpwc, flpwc_set(&u->flpwc, pi->did, pi->pasid, pl, key),
                               flpwc_tag(pi->did, pi->pasid, pl, key), ~0ULL, fkey, &h) &&
                h.gen == gen) {
                stat_inc(&w->st->pwc_hits);
                w->used_cache = true;
                hpa = h.d0 & FL_ADDR;
                rw = h.d0 & FLT_RW;
                us = h.d0 & FLT_US;
                slw = h.d0 & FLP_SLW;
                have_hpa = true;
                from_top = false;
                l = pl - 1;
                break;
            }
            stat_inc(&w->st->pwc_misses);
        }
    }

    struct pf_ent pf[4];
    unsigned npf = 0;
    unsigned shift = VTD_PAGE_SHIFT + 9 * (l - 1);
    const uint64_t rsvd_ad = VTD_FL_A | ea;
    for (;; l--, shift -= 9) {
        if (!have_hpa) {
            /* nested: the table's guest-physical address through the second level */
            int r = nested_sl(w, pi, table, (int)l, from_top, &so);
            if (r)
                return fl_fault(w, r);
            const uint8_t need = pi->slade ? (VTD_R | VTD_W) : VTD_R;
            if ((so.perm & need) != need)
                return fl_fault(w, from_top ? VTD_FR_SM_FL_NESTED_TOP_READ : VTD_FR_SM_FL_NESTED_READ);
            hpa = so.hpa;
            slw = so.perm & VTD_W;
            if (npf)
                pf[npf - 1].d0 |= (hpa & FL_ADDR) | (slw ? FLP_SLW : 0);
        }
        const unsigned idx = (unsigned)(addr >> shift) & 511;
        const uint64_t pa = hpa + idx * 8;
        uint64_t pte;
        if (read_entry(w, pa, &pte)) {
            fl_step(w, (int)l, idx, hpa, pa, NULL);
            return fl_fault(w, from_top && l == levels ? VTD_FR_SM_FL_PML4_READ_ERROR : VTD_FR_SM_FL_READ_ERROR);
        }
        fl_step(w, (int)l, idx, hpa, pa, &pte);
        for (unsigned tries = 0;; tries++) {
            if (!(pte & VTD_FL_P))
                return fl_fault(w, VTD_FR_SM_FL_NOT_PRESENT);
            if (pte & vtd_fl_rsvd(u, l, pte))
                return fl_fault(w, VTD_FR_SM_FL_RSVD);
            const bool leaf = l == 1 || (l <= 3 && (pte & VTD_FL_PS));
            const uint64_t size = 1ULL << shift;
            const uint64_t next = leaf ? pte & FL_ADDR & ~(size - 1) : pte & FL_ADDR;
            if (nested && (next >> sl_width(u, pi)))
                return fl_fault(w, VTD_FR_SM_FL_NESTED_ADDR);
            const bool lrw = rw && (pte & VTD_FL_RW), lus = us && (pte & VTD_FL_US);
            uint64_t bits = rsvd_ad;
            uint8_t perm = VTD_R | VTD_W;
            struct sl_out fo = {.perm = VTD_R | VTD_W, .size = size};
            if (leaf) {
                /* the final address: first-level rights, then (nested) the
                 * second level */
                uint8_t flonly;
                int r = perm_result(w, priv, pi->wpe, lrw, lus, VTD_R | VTD_W, &flonly);
                if (r)
                    return fl_fault(w, r);
                if (nested) {
                    r = nested_sl(w, pi, next | (addr & (size - 1)), 0, false, &fo);
                    if (r)
                        return fl_fault(w, r);
                    r = perm_result(w, priv, pi->wpe, lrw, lus, fo.perm, &perm);
                    if (r)
                        return fl_fault(w, r);
                } else {
                    perm = flonly;
                }
                if (w->ats && !perm) {
                    lf->perm = 0;
                    return 0; /* nothing granted: no output, no A/D */
                }
                if (write && (perm & VTD_W))
                    bits |= VTD_FL_D;
            }
            if ((pte & bits) != bits) {
                if (nested && !slw)
                    return fl_fault(w, VTD_FR_SM_FL_NESTED_AD_WRITE);
                if (!snoop)
                    return fl_fault(w, VTD_FR_SM_FL_AD_NOSNOOP);
                int rc = set_bits(w, pa, &pte, bits);
                if (rc < 0 || (rc > 0 && tries >= AD_RETRIES))
                    return fl_fault(w, VTD_FR_SM_FL_AD_FAILED);
                if (rc > 0)
                    continue; /* changed under us: check the new value */
                if (nested && pi->slade) {
                    /* the first-level table's page was written */
                    int r = sl_set_dirty(w, pi, so.leaf_pa);
                    if (r)
                        return fl_fault(w, r);
                }
            }
            if (leaf && nested && pi->slade && write && (perm & VTD_W)) {
                int r = sl_set_dirty(w, pi, fo.leaf_pa);
                if (r)
                    return fl_fault(w, r);
            }
            rw = lrw;
            us = lus;
            if (leaf) {
                uint64_t esize = fo.size < size ? fo.size : size;
                uint64_t out = nested ? fo.hpa : next | (addr & (size - 1));
                lf->size = esize;
                lf->page = out & ~(esize - 1);
                lf->perm = perm;
                lf->flags = (pi->pgsnp || (nested && fo.snp)) ? TLB_SNP : 0;
                lf->amiss = 0;
                if (use) {
                    unsigned sz = esize >= (1ULL << 30) ? 2 : esize >= (1ULL << 21) ? 1 : 0;
                    uint64_t d0 = lf->page | (rw ? FLT_RW : 0) | (us ? FLT_US : 0) |
                                  ((pte & VTD_FL_D) && (!nested || !pi->slade || (write && (perm & VTD_W))) ? FLT_D : 0) |
                                  (uint64_t)(fo.perm & 3) << FLT_SLPERM_SHIFT | (lf->flags ? FLT_SNP : 0);
                    fl_fill(w, pi, pf, use_pwc ? npf : 0, true, sz, pfn & ~((1ULL << (9 * sz)) - 1), d0, gen);
                }
                return 0;
            }
            break;
        }
        /* next level */
        if (use_pwc) {
            pf[npf++] = (struct pf_ent){.level = l, .key = pfn >> (9 * (l - 1)),
                                        .d0 = (rw ? FLT_RW : 0) | (us ? FLT_US : 0)};
            if (!nested)
                pf[npf - 1].d0 |= (pte & FL_ADDR) | FLP_SLW;
        }
        table = pte & FL_ADDR;
        hpa = table;
        have_hpa = !nested;
        from_top = false;
    }
}
