/* SPDX-License-Identifier: MIT */
/*
 * DMA request processing in legacy mode (spec "DMA Remapping", "Fault
 * conditions and remapping hardware behavior for various requests"): from a
 * request to a translation, a block, or a recorded fault.  docs/model.md
 * lists the order of checks this file implements.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "sm.h"

#define SL_ADDR VTD_GENMASK(51, 12)

static inline bool in_intr_range(uint64_t a)
{
    return (a >> 20) == (VTD_INTR_RANGE_BASE >> 20);
}

static bool pmr_blocks(struct vtd *u, uint64_t pa)
{
    return (pa >= atomic_load_explicit(&u->plm_lo, memory_order_relaxed) &&
            pa <= atomic_load_explicit(&u->plm_hi, memory_order_relaxed)) ||
           (pa >= atomic_load_explicit(&u->phm_lo, memory_order_relaxed) &&
            pa <= atomic_load_explicit(&u->phm_hi, memory_order_relaxed));
}

static int blocked(struct vtd_result *res)
{
    res->status = VTD_BLOCKED;
    res->fault_reason = 0;
    res->pa = 0;
    res->page_size = 0;
    res->perm = 0;
    res->ats = 0;
    return 0;
}

static int ok(struct vtd_result *res, uint64_t pa, uint64_t size, uint8_t perm, uint8_t ats)
{
    res->status = VTD_OK;
    res->fault_reason = 0;
    res->pa = pa;
    res->page_size = size;
    res->perm = perm;
    res->ats = ats;
    return 0;
}

/* Untranslated output with no walk (TE=0, pass-through, translated): subject
 * to the protected memory regions. */
static int ok_direct(struct vtd *u, uint32_t hot, struct vtd_result *res, uint64_t pa)
{
    if ((hot & HOT_PMR) && pmr_blocks(u, pa))
        return blocked(res);
    return ok(res, pa, VTD_PAGE_SIZE, VTD_R | VTD_W, 0);
}

static int fault(struct walk *w, struct vtd_result *res, uint8_t reason)
{
    const struct vtd_request *req = w->req;
    res->status = VTD_FAULT;
    res->fault_reason = reason;
    res->pa = 0;
    res->page_size = 0;
    res->perm = 0;
    res->ats = 0;
    if (walk_diags(w)) {
        stat_inc(&w->st->faults);
        if (!(w->qualified && w->fpd)) {
            struct fault f = {.reason = reason, .sid = req->sid, .addr = req->addr, .access = req->access,
                              .at = req->at, .pasid_valid = req->pasid_valid, .priv = req->priv,
                              .exe = (req->access & VTD_X) != 0, .pasid = req->pasid};
            res->fault_recorded = vtd_fault_record(w->u, &f);
        }
    }
    return 0;
}

/* Translation requests: conditions that a completion expresses as reduced
 * permission rather than as a fault. */
static int ats_null(struct vtd_result *res)
{
    return ok(res, 0, VTD_PAGE_SIZE, 0, 0);
}

static bool request_valid(const struct vtd_request *req)
{
    if (req->at > VTD_AT_TRANSLATED)
        return false;
    switch (req->access) {
    case VTD_R:
    case VTD_W:
    case VTD_R | VTD_W:
    case VTD_R | VTD_X: break;
    default: return false;
    }
    return !(req->zlr && req->access != VTD_R);
}

/* Write a front entry (struct front_entry or smfront_entry: seq, epoch and
 * n qwords v[]).  Its writer owns it while seq is odd; one that finds it
 * owned skips the write, this is only a memo. */
static void front_write(_Atomic uint32_t *seq, _Atomic uint32_t *ep, _Atomic uint64_t *v, const uint64_t *val,
                        unsigned n, uint32_t epoch)
{
    uint32_t s = atomic_load_explicit(seq, memory_order_relaxed);
    if ((s & 1) ||
        !atomic_compare_exchange_strong_explicit(seq, &s, s + 1, memory_order_acq_rel, memory_order_relaxed))
        return;
    vtd_fence(memory_order_release);
    for (unsigned i = 0; i < n; i++)
        atomic_store_explicit(&v[i], val[i], memory_order_relaxed);
    atomic_store_explicit(ep, epoch, memory_order_relaxed);
    atomic_store_explicit(seq, s + 2, memory_order_release);
}

/* Memo a result that the context cache and IOTLB hold now (see struct
 * front_entry): `epoch` is the front epoch read before the translation
 * started, so an invalidation or eviction since then leaves the memo dead. */
static void front_fill(struct vtd *u, uint16_t sid, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm,
                       uint32_t epoch)
{
    uint64_t pfn = iova >> VTD_PAGE_SHIFT;
    struct front_entry *fe = &u->front[front_index(sid, pfn)];
    /* d0: the output page; size: page size | perm (a page size leaves the
     * low 12 bits free), so the hit path needs no mask constant */
    const uint64_t val[3] = {[FE_TAG] = front_tag(sid, pfn), [FE_D0] = pa & ~(VTD_PAGE_SIZE - 1),
                             [FE_SIZE] = size | perm};
    front_write(&fe->seq, &fe->epoch, fe->v, val, 3, epoch);
}

/* The scalable-mode memo (struct smfront_entry) of a successful untranslated
 * request whose context, PASID-table entry and leaf all came from the
 * caches (w->ctx_hit, w->pc_hit, w->memo_tlb): the PASID-cache and IOTLB
 * entries are marked first, so that evicting them from now on retires it;
 * one evicted before (the mark finds it gone) leaves no memo. */
static void smfront_fill(struct walk *w, uint64_t pa, uint64_t size, uint8_t perm, uint32_t epoch)
{
    struct vtd *u = w->u;
    const struct vtd_request *req = w->req;
    if (!cache_mark_k(&u->pc, w->pc_set, w->pc_tag, 0, 0, w->pc_d0) ||
        !cache_mark_k(w->memo_tlb, w->memo_set, w->memo_tag, ~(uint64_t)CACHE_MARK, w->memo_key, w->memo_d0))
        return;
    const uint64_t key = smfront_key(req->sid, req->pasid_valid, req->priv, req->pasid),
                   pfn = req->addr >> VTD_PAGE_SHIFT;
    struct smfront_entry *fe = &u->smfront[smfront_index(key, pfn)];
    const uint64_t val[4] = {[SFE_KEY] = key, [SFE_PFN] = pfn,
                             [SFE_D0] = (pa & ~(VTD_PAGE_SIZE - 1)) | perm | (uint64_t)(w->memo_allow & perm) << 2,
                             [SFE_SIZE] = size};
    front_write(&fe->seq, &fe->epoch, fe->v, val, 4, epoch);
}

static int do_translate(struct vtd *u, const struct vtd_request *req, struct vtd_result *res, unsigned flags,
                        vtd_walk_fn fn, void *arg);

static bool same_result(const struct vtd_result *a, const struct vtd_result *b)
{
    return a->status == b->status && a->fault_reason == b->fault_reason && a->pa == b->pa &&
           a->perm == b->perm && a->page_size == b->page_size;
}

/* A result built from cached state is compared with what memory says now. */
static void check_stale(struct walk *w, const struct vtd_result *res, const struct ctxinfo *cached_ci)
{
    struct vtd *u = w->u;
    const struct vtd_request *req = w->req;
    struct vtd_result fresh;
    do_translate(u, req, &fresh, WALK_NOCACHE | WALK_NORECORD, NULL, NULL);
    if (same_result(res, &fresh))
        return;
    int code = VTD_DIAG_STALE_IOTLB;
    const char *what = "an IOTLB or paging-structure-cache entry";
    if (w->neg_cached) {
        code = VTD_DIAG_STALE_NEGATIVE;
        what = "a cached not-present entry (CAP.CM=1)";
    } else if (w->ctx_hit) {
        struct walk cw = {.u = u, .req = req, .flags = WALK_NOCACHE | WALK_NORECORD, .st = w->st};
        struct ctxinfo now;
        memset(&now, 0, sizeof(now));
        int r = vtd_ctx_fetch(&cw, &now);
        if (r || now.did != cached_ci->did || now.slptptr != cached_ci->slptptr || now.tt != cached_ci->tt ||
            now.aw != cached_ci->aw || now.fpd != cached_ci->fpd) {
            code = VTD_DIAG_STALE_CONTEXT;
            what = "a context-cache entry";
        }
    }
    vtd_diagf(u, code, req->sid, req->addr,
              "request from %02x:%02x.%u to 0x%llx used %s that no longer matches memory "
              "(cached: %s 0x%llx, tables now: %s 0x%llx): software changed the tables without invalidating",
              req->sid >> 8, (req->sid >> 3) & 31, req->sid & 7, (unsigned long long)req->addr, what,
              res->status == VTD_OK ? "pa" : "fault", (unsigned long long)(res->status == VTD_OK ? res->pa : res->fault_reason),
              fresh.status == VTD_OK ? "pa" : "fault",
              (unsigned long long)(fresh.status == VTD_OK ? fresh.pa : fresh.fault_reason));
}

/* ---- scalable mode (RTADDR.TTM = 01) ---- */

/* Table 30 conditions a translation request meets with a successful
 * completion granting nothing (R=W=U=S=0) instead of a fault. */
static bool sm_ats_null(uint8_t r)
{
    switch (r) {
    case VTD_FR_SM_PDE_NOT_PRESENT:
    case VTD_FR_SM_PTE_NOT_PRESENT:
    case VTD_FR_SM_EXEC_UNSUPPORTED:
    case VTD_FR_SM_PTE_SRE:
    case VTD_FR_SM_SL_PERM:
    case VTD_FR_SM_NON_CANONICAL:
    case VTD_FR_SM_USER_SUPERVISOR:
    case VTD_FR_SM_ADDR_BEYOND_HAW:
    case VTD_FR_SM_ADDR_BEYOND_AW:
    case VTD_FR_SM_NO_WRITE:
    case VTD_FR_SM_NO_READ:
    case VTD_FR_SM_FL_AD_NOSNOOP: return true;
    default: return r >= VTD_FR_SM_FL_READ_ERROR && r <= VTD_FR_SM_FL_NESTED_AD_WRITE;
    }
}

/* The second-level walker speaks legacy codes; scalable mode has its own
 * (Table 30 SSS.x / SGN.x).  `perm` is the cumulative permission found. */
static uint8_t sm_sl_code(uint8_t r, uint8_t perm)
{
    switch (r) {
    case VTD_FR_SL_READ_ERROR: return VTD_FR_SM_SL_READ_ERROR;
    case VTD_FR_CTX_INVALID: return VTD_FR_SM_SL_PTR; /* the table SSPTPTR names is unreadable */
    case VTD_FR_SL_RSVD: return VTD_FR_SM_SL_RSVD;
    case VTD_FR_NO_WRITE: return (perm & (VTD_R | VTD_W)) ? VTD_FR_SM_NO_WRITE : VTD_FR_SM_SL_PERM;
    case VTD_FR_NO_READ: return (perm & (VTD_R | VTD_W)) ? VTD_FR_SM_NO_READ : VTD_FR_SM_SL_PERM;
    default: return r;
    }
}

/* A hit on a cached not-present second-level leaf (CAP.CM): the walk it
 * stands for faults at the first level whose cumulative permission lacks
 * what the request needs (85h / 86h), else at the leaf (79h).  amiss says
 * which permission the levels above lack (0: none). */
static uint8_t sm_neg_code(uint8_t need, uint8_t amiss)
{
    const uint8_t above = amiss == VTD_FR_NO_WRITE ? VTD_R : amiss == VTD_FR_NO_READ ? VTD_W : VTD_R | VTD_W;
    if (!(need & NEED_ANY)) {
        if ((need & VTD_R) && !(above & VTD_R))
            return VTD_FR_SM_NO_READ;
        if ((need & VTD_W) && !(above & VTD_W))
            return VTD_FR_SM_NO_WRITE;
    }
    return VTD_FR_SM_SL_PERM;
}

/*
 * First-level (PGTT 001) and nested (PGTT 011) translation (src/hw/fl.c).
 * On a unit without ECAP.FLTS / ECAP.NEST vtd_sm_fetch() has already
 * faulted such entries 5Bh (PGTT not supported) and this is not reached.
 */
static int sm_fl_dispatch(struct walk *w, const struct pasidinfo *pi, struct leaf *lf)
{
    return vtd_fl_walk(w, pi, lf);
}

static void sm_check_stale(struct walk *w, const struct vtd_result *res, const struct smctx *sc,
                           const struct pasidinfo *pi)
{
    struct vtd *u = w->u;
    const struct vtd_request *req = w->req;
    struct vtd_result fresh;
    do_translate(u, req, &fresh, WALK_NOCACHE | WALK_NORECORD, NULL, NULL);
    if (same_result(res, &fresh))
        return;
    int kind = vtd_sm_stale(w, sc, pi), code = VTD_DIAG_STALE_IOTLB;
    const char *what = "an IOTLB or paging-structure-cache entry";
    if (w->neg_cached) {
        code = VTD_DIAG_STALE_NEGATIVE;
        what = "a cached not-present or invalid entry (CAP.CM=1)";
    } else if (kind == 1) {
        code = VTD_DIAG_STALE_CONTEXT;
        what = "a scalable-mode context-cache entry";
    } else if (kind == 2) {
        code = VTD_DIAG_STALE_PASID;
        what = "a PASID-cache entry";
    }
    vtd_diagf(u, code, req->sid, req->addr,
              "request from %02x:%02x.%u PASID %u to 0x%llx used %s that no longer matches memory "
              "(cached: %s 0x%llx, tables now: %s 0x%llx): software changed the tables without invalidating",
              req->sid >> 8, (req->sid >> 3) & 31, req->sid & 7, w->sm_pasid, (unsigned long long)req->addr, what,
              res->status == VTD_OK ? "pa" : "fault",
              (unsigned long long)(res->status == VTD_OK ? res->pa : res->fault_reason),
              fresh.status == VTD_OK ? "pa" : "fault",
              (unsigned long long)(fresh.status == VTD_OK ? fresh.pa : fresh.fault_reason));
}

/* IOTLB probe for (DID, PASID): 4 KiB first, then the superpage sizes the
 * domain may hold.  Fills *lf on a hit. */
static bool sm_iotlb_lookup(struct walk *w, uint16_t did, struct leaf *lf, uint64_t *d0)
{
    struct vtd *u = w->u;
    const uint64_t gen = tlb_gen(u, did), pfn = w->req->addr >> VTD_PAGE_SHIFT;
    const uint8_t ds = atomic_load_explicit(&u->dsizes[did], memory_order_acquire);
    for (unsigned size = 0; size <= 2; size++) {
        if (size && !(ds & (1u << size)))
            continue;
        uint64_t key = pfn >> (9 * size);
        struct chit h;
        const uint32_t set = iotlb_set(&u->iotlb, did, size, key);
        const uint64_t tag = iotlb_tag(did, size, key << (9 * size));
        if (cache_lookup_k(&u->iotlb, set, tag, TLB1_KEYMASK, w->tlb_d1 & TLB1_KEYMASK, &h) && h.gen == gen) {
            w->memo_tlb = &u->iotlb; /* for a memo of this hit (sm_translate) */
            w->memo_set = set;
            w->memo_tag = tag;
            w->memo_key = w->tlb_d1;
            w->memo_d0 = h.d0;
            lf->size = 1ULL << (VTD_PAGE_SHIFT + 9 * size);
            lf->page = h.d0 & SL_ADDR;
            lf->perm = (uint8_t)(h.d0 & (VTD_R | VTD_W));
            lf->flags = (uint8_t)(h.d0 & (TLB_SNP | TLB_D));
            lf->amiss = amiss_of(h.d0);
            *d0 = h.d0;
            return true;
        }
    }
    return false;
}

static int sm_translate(struct walk *w, struct vtd_result *res, uint32_t hot, uint32_t front_epoch)
{
    struct vtd *u = w->u;
    const struct vtd_request *req = w->req;
    const uint64_t addr = req->addr;
    struct smctx sc;
    struct pasidinfo pi;
    memset(&sc, 0, sizeof(sc));
    memset(&pi, 0, sizeof(pi));
    w->ats = req->at == VTD_AT_TRANSLATION_REQ;
    /* requests without PASID have ExecuteRequested treated as 0 */
    const uint8_t acc = req->pasid_valid ? req->access : (uint8_t)(req->access & (VTD_R | VTD_W));
    if (w->ats)
        w->need = 0;
    else if (VTD_UNLIKELY(req->zlr) && u->zlr)
        w->need = NEED_ANY;
    else
        w->need = (acc & VTD_W) | ((acc & (VTD_R | VTD_X)) ? VTD_R : 0);
    w->dirty = (req->at != VTD_AT_TRANSLATED) && (acc & VTD_W);

    /* RTA.5: a VER 8+ unit blocks execute requests before any table */
    if (req->pasid_valid && (req->access & VTD_X) && u->ver_major >= 8)
        return fault(w, res, VTD_FR_RTA_EXEC);
    int r = vtd_sm_fetch(w, &sc, &pi);
    if (VTD_UNLIKELY(r)) {
        if (w->ats && sm_ats_null((uint8_t)r))
            ats_null(res);
        else
            fault(w, res, (uint8_t)r);
        goto done;
    }
    w->tlb_d1 = tlb1_sm(w->sm_pasid);
    if (req->at == VTD_AT_TRANSLATED) {
        /* DTE=1: translated requests bypass translation (SGN.4.1, SGN.8.3) */
        if (addr & u->haw_mask)
            fault(w, res, VTD_FR_SM_ADDR_BEYOND_HAW);
        else if (in_intr_range(addr))
            fault(w, res, VTD_FR_SM_INTR_RANGE);
        else
            ok_direct(u, hot, res, addr);
        goto done;
    }
    if (VTD_UNLIKELY(in_intr_range(addr)) && !req->pasid_valid) {
        if (req->at == VTD_AT_UNTRANSLATED && req->access == VTD_W) {
            if (walk_diags(w))
                vtd_diagf(u, VTD_DIAG_REQ_INTR_RANGE, req->sid, addr,
                          "untranslated write to 0x%llx in the interrupt range is an interrupt request, not "
                          "DMA: deliver it with vtd_remap_msi()",
                          (unsigned long long)addr);
            blocked(res);
            goto done;
        }
        if (w->ats) {
            bool wr = req->access & VTD_W; /* special conditions S.1 / S.2 */
            ok(res, addr, VTD_PAGE_SIZE, wr ? VTD_W : 0, wr ? VTD_ATS_U : 0);
            goto done;
        }
    }
    const uint8_t priv_ats = w->sm_priv ? VTD_ATS_PRIV : 0;
    if (pi.pgtt == VTD_PGTT_PT) {
        walk_step(w, VTD_STEP_PASSTHROUGH, 0, 0, 0, addr, NULL, 0, false);
        if (addr & u->haw_mask) {
            if (w->ats)
                ats_null(res);
            else
                fault(w, res, VTD_FR_SM_ADDR_BEYOND_HAW);
        } else if (!w->ats && in_intr_range(addr)) {
            fault(w, res, VTD_FR_SM_INTR_RANGE);
        } else if (w->ats) {
            ok(res, addr, VTD_PAGE_SIZE, VTD_R | VTD_W,
               (uint8_t)(priv_ats | ((u->sc && pi.pgsnp) ? VTD_ATS_N : 0)));
        } else {
            ok_direct(u, hot, res, addr);
        }
        goto done;
    }
    struct leaf lf;
    if (pi.pgtt == VTD_PGTT_SL) {
        unsigned width = 30 + 9 * (unsigned)pi.aw;
        if (width > u->mgaw)
            width = u->mgaw;
        if (addr >> width) {
            if (w->ats)
                ats_null(res);
            else
                fault(w, res, VTD_FR_SM_ADDR_BEYOND_AW);
            goto done;
        }
        w->slade = pi.slade;
        w->ad_ok = u->smpwc && pi.pwsnp;
        struct ctxinfo ci = {.slptptr = pi.slptptr, .did = pi.did, .aw = pi.aw, .levels = pi.sl_levels,
                             .present = true};
        bool hit = false;
        uint64_t d0 = 0;
        if (walk_caches(w) && u->iotlb.nsets) {
            hit = sm_iotlb_lookup(w, pi.did, &lf, &d0);
            /* a write through an entry cached without D re-walks to set it */
            if (hit && w->slade && w->dirty && (lf.perm & VTD_W) && !(lf.flags & TLB_D)) {
                hit = false;
                w->d_rewalk = true;
            }
            if (hit) {
                stat_inc(&w->st->iotlb_hits);
                w->used_cache = true;
                if (d0 & TLB_NEG)
                    w->neg_cached = true;
                else
                    w->memo_allow = (uint8_t)(lf.perm & (!w->slade || (lf.flags & TLB_D) ? VTD_R | VTD_W : VTD_R));
            } else {
                stat_inc(&w->st->iotlb_misses);
            }
        }
        if (!hit) {
            w->memo_tlb = NULL;
            r = vtd_sl_walk(w, &ci, &lf);
            if (VTD_UNLIKELY(w->d_rewalk))
                front_bump(u); /* the walk may have cached a leaf other than the one memoized */
            if (r) {
                uint8_t code = sm_sl_code((uint8_t)r, w->perm_fault ? lf.perm : VTD_R | VTD_W);
                if (w->ats && (w->perm_fault || sm_ats_null(code)))
                    ats_null(res);
                else
                    fault(w, res, code);
                goto done;
            }
        }
    } else {
        r = sm_fl_dispatch(w, &pi, &lf);
        if (VTD_UNLIKELY(w->d_rewalk))
            front_bump(u); /* the walk may have cached a leaf (of another size) the probe finds first */
        if (r) {
            if (w->ats && (w->perm_fault || sm_ats_null((uint8_t)r))) {
                /* SFS.10: a failed A/D update is also reported as a fault */
                if (r == VTD_FR_SM_FL_AD_FAILED)
                    fault(w, res, (uint8_t)r);
                ats_null(res);
            } else {
                fault(w, res, (uint8_t)r);
            }
            goto done;
        }
    }
    if (w->ats && !lf.perm) {
        ats_null(res);
        goto done;
    }
    if (!w->ats) {
        uint8_t reason = vtd_perm_check(w->need, lf.perm, lf.amiss);
        if (VTD_UNLIKELY(reason)) {
            w->qualified = true;
            fault(w, res, w->neg_cached ? sm_neg_code(w->need, lf.amiss) : sm_sl_code(reason, lf.perm));
            goto done;
        }
    }
    uint64_t pa = lf.page | (addr & (lf.size - 1));
    if (VTD_UNLIKELY(in_intr_range(pa))) {
        w->qualified = true;
        fault(w, res, VTD_FR_SM_INTR_RANGE);
        goto done;
    }
    if (VTD_UNLIKELY(hot & HOT_PMR) && pmr_blocks(u, pa)) {
        blocked(res);
        goto done;
    }
    ok(res, pa, lf.size, lf.perm,
       w->ats ? (uint8_t)(priv_ats | ((u->sc && ((lf.flags & TLB_SNP) || pi.pgsnp)) ? VTD_ATS_N : 0)) : 0);
    /* a memo of what came from the caches alone, for requests the fast path
     * takes (untranslated, no ZLR, no execute; the address outside the
     * interrupt range, which a request without PASID treats apart) */
    if (w->memo_tlb && w->ctx_hit && w->pc_hit && !w->neg_cached && hot == (HOT_TE | HOT_FAST | HOT_SM) &&
        u->smfront && req->at == VTD_AT_UNTRANSLATED && !req->zlr && !(req->access & VTD_X) && !in_intr_range(addr))
        smfront_fill(w, pa, lf.size, lf.perm, front_epoch);
done:
    if (VTD_UNLIKELY(w->used_cache) && u->stale_check && walk_diags(w))
        sm_check_stale(w, res, &sc, &pi);
    return 0;
}

static int do_translate(struct vtd *u, const struct vtd_request *req, struct vtd_result *res, unsigned flags,
                        vtd_walk_fn fn, void *arg)
{
    struct walk w;
    w.u = u;
    w.req = req;
    w.flags = flags;
    w.fn = fn;
    w.arg = arg;
    w.st = vtd_stat_slot(u);
    w.used_cache = w.neg_cached = w.ctx_hit = w.qualified = w.fpd = w.perm_fault = false;
    w.tlb_d1 = 0; /* legacy walks read these two scalable-mode fields; sm_translate sets the rest */
    w.slade = false;
    w.pc_hit = w.ad_ok = w.dirty = w.sm_priv = false;
    w.sm_pasid = 0;
    w.memo_tlb = NULL;
    w.d_rewalk = false;
    res->fault_recorded = false;
    if (walk_diags(&w))
        stat_inc(&w.st->translations);

    const uint64_t addr = req->addr;
    const uint32_t front_epoch = atomic_load_explicit(&u->front_epoch, memory_order_acquire);
    const uint32_t hot = atomic_load_explicit(&u->hot, memory_order_acquire);
    if (VTD_UNLIKELY(!(hot & HOT_TE))) {
        walk_step(&w, VTD_STEP_TE_OFF, 0, 0, 0, addr, NULL, 0, false);
        if (req->at != VTD_AT_UNTRANSLATED)
            return blocked(res); /* UR: no translation service with TE=0 */
        return ok_direct(u, hot, res, addr);
    }
    if (VTD_UNLIKELY(hot & (HOT_TTM_BAD | HOT_ABORT)))
        return fault(&w, res, (hot & HOT_ABORT) ? VTD_FR_RTA_ABORT_DMA : VTD_FR_RTA_TTM_INVALID);
    if (hot & HOT_SM)
        return sm_translate(&w, res, hot, front_epoch);
    if (VTD_UNLIKELY(req->pasid_valid)) {
        if (walk_diags(&w))
            vtd_diagf(u, VTD_DIAG_REQ_PASID_LEGACY, req->sid, addr,
                      "request with PASID %u from %02x:%02x.%u on a legacy-mode unit: blocked (31h)", req->pasid,
                      req->sid >> 8, (req->sid >> 3) & 31, req->sid & 7);
        return fault(&w, res, VTD_FR_RTA_PASID_LEGACY);
    }
    w.ats = req->at == VTD_AT_TRANSLATION_REQ;
    if (w.ats)
        w.need = 0;
    else if (VTD_UNLIKELY(req->zlr) && u->zlr)
        w.need = NEED_ANY;
    else
        w.need = (req->access & VTD_W) | ((req->access & (VTD_R | VTD_X)) ? VTD_R : 0);

    struct ctxinfo ci;
    int r = vtd_ctx_fetch(&w, &ci);
    if (VTD_UNLIKELY(r)) {
        fault(&w, res, (uint8_t)r);
        goto done;
    }
    w.qualified = true;
    if (VTD_UNLIKELY(req->at != VTD_AT_UNTRANSLATED && ci.tt != VTD_TT_DEVTLB)) {
        fault(&w, res, VTD_FR_TT_BLOCKED);
        goto done;
    }
    if (VTD_UNLIKELY(in_intr_range(addr))) {
        if (req->at == VTD_AT_UNTRANSLATED) {
            if (req->access == VTD_W) {
                if (walk_diags(&w))
                    vtd_diagf(u, VTD_DIAG_REQ_INTR_RANGE, req->sid, addr,
                              "untranslated write to 0x%llx in the interrupt range is an interrupt request, not "
                              "DMA: deliver it with vtd_remap_msi()",
                              (unsigned long long)addr);
                blocked(res);
            } else if (req->zlr) {
                ok(res, addr, VTD_PAGE_SIZE, 0, 0); /* completes, data obfuscated */
            } else {
                fault(&w, res, VTD_FR_INTR_RANGE);
            }
            goto done;
        }
        if (req->at == VTD_AT_TRANSLATION_REQ) {
            /* not a fault: the completion tells the device to use untranslated
             * requests (U) and, when it asked for write, that it may write */
            bool wr = req->access & VTD_W;
            /* NW=0: W=U=1; NW=1: R=W=U=0 (the spec's S.1 / S.2) */
            ok(res, addr, VTD_PAGE_SIZE, wr ? VTD_W : 0, wr ? VTD_ATS_U : 0);
            goto done;
        }
    }
    if (ci.tt == VTD_TT_PASSTHROUGH) {
        walk_step(&w, VTD_STEP_PASSTHROUGH, 0, 0, 0, addr, NULL, 0, false);
        if (addr & u->haw_mask)
            fault(&w, res, VTD_FR_ADDR_BEYOND_AW);
        else if (in_intr_range(addr))
            fault(&w, res, VTD_FR_INTR_RANGE);
        else
            ok_direct(u, hot, res, addr);
        goto done;
    }
    if (req->at == VTD_AT_TRANSLATED) {
        if (addr & u->haw_mask)
            fault(&w, res, VTD_FR_ADDR_BEYOND_AW);
        else if (in_intr_range(addr))
            fault(&w, res, VTD_FR_INTR_RANGE);
        else
            ok_direct(u, hot, res, addr);
        goto done;
    }
    unsigned width = 30 + 9 * (unsigned)ci.aw;
    if (width > u->mgaw)
        width = u->mgaw;
    if (VTD_UNLIKELY(addr >> width)) {
        if (w.ats)
            ats_null(res);
        else
            fault(&w, res, VTD_FR_ADDR_BEYOND_AW);
        goto done;
    }

    struct leaf lf;
    bool hit = false;
    uint32_t hit_set = 0;
    uint64_t hit_tag = 0, hit_d0 = 0;
    if (walk_caches(&w) && u->iotlb.nsets) {
        const uint64_t gen = tlb_gen(u, ci.did), pfn = addr >> VTD_PAGE_SHIFT;
        struct chit h;
        unsigned size = 0;
        hit_set = iotlb_set(&u->iotlb, ci.did, 0, pfn);
        hit_tag = iotlb_tag(ci.did, 0, pfn);
        hit = cache_lookup(&u->iotlb, hit_set, hit_tag, &h) && h.gen == gen;
        if (!hit) {
            uint8_t ds = atomic_load_explicit(&u->dsizes[ci.did], memory_order_acquire);
            for (size = 1; size <= 2 && !hit; size++) {
                if (!(ds & (1u << size)))
                    continue;
                uint64_t key = pfn >> (9 * size);
                hit_set = iotlb_set(&u->iotlb, ci.did, size, key);
                hit_tag = iotlb_tag(ci.did, size, key << (9 * size));
                hit = cache_lookup(&u->iotlb, hit_set, hit_tag, &h) && h.gen == gen;
            }
            size--;
        }
        if (hit) {
            stat_inc(&w.st->iotlb_hits);
            w.used_cache = true;
            lf.size = 1ULL << (VTD_PAGE_SHIFT + 9 * size);
            lf.page = h.d0 & SL_ADDR;
            lf.perm = (uint8_t)(h.d0 & (VTD_R | VTD_W));
            lf.flags = (uint8_t)(h.d0 & TLB_SNP);
            lf.amiss = amiss_of(h.d0);
            hit_d0 = h.d0;
            if (h.d0 & TLB_NEG)
                w.neg_cached = true;
        } else {
            stat_inc(&w.st->iotlb_misses);
        }
    }
    if (!hit) {
        r = vtd_sl_walk(&w, &ci, &lf);
        if (r) {
            if (w.ats && w.perm_fault)
                ats_null(res);
            else
                fault(&w, res, (uint8_t)r);
            goto done;
        }
    }
    if (w.ats && !lf.perm) {
        ats_null(res); /* a completion granting nothing has no output address */
        goto done;
    }
    if (!w.ats) {
        uint8_t reason = vtd_perm_check(w.need, lf.perm, lf.amiss);
        if (VTD_UNLIKELY(reason)) {
            fault(&w, res, reason);
            goto done;
        }
    }
    uint64_t pa = lf.page | (addr & (lf.size - 1));
    if (VTD_UNLIKELY(in_intr_range(pa))) {
        fault(&w, res, VTD_FR_INTR_RANGE);
        goto done;
    }
    if (VTD_UNLIKELY(hot & HOT_PMR) && u->ver_major >= 2 && pmr_blocks(u, pa)) {
        blocked(res);
        goto done;
    }
    res->status = VTD_OK;
    res->fault_reason = 0;
    res->pa = pa;
    res->page_size = lf.size;
    res->perm = lf.perm;
    res->ats = (w.ats && u->sc && (lf.flags & TLB_SNP)) ? VTD_ATS_N : 0;
    /* memo in the front cache what came from an IOTLB hit (so entries that
     * are used once, as under thrashing, never cost a front-cache flush when
     * evicted): the IOTLB entry is marked, and evicting a marked entry bumps
     * the front epoch */
    if (hit && hot == (HOT_TE | HOT_FAST) && req->at == VTD_AT_UNTRANSLATED && !req->zlr &&
        !(req->access & VTD_X) && cache_mark_k(&u->iotlb, hit_set, hit_tag, 0, 0, hit_d0))
        front_fill(u, req->sid, addr, pa, lf.size, lf.perm, front_epoch);
done:
    if (VTD_UNLIKELY(w.used_cache) && u->stale_check && walk_diags(&w))
        check_stale(&w, res, &ci);
    return 0;
}

/*
 * The common case in one straight line: an untranslated request without
 * PASID, translation enabled and nothing else latched, a context-cache hit
 * and a 4 KiB IOTLB hit that grants the access.  It reads exactly the cached
 * state do_translate() would read and gives the same result; anything else
 * (a miss, a fault, superpages, PMRs, stale checking) takes do_translate().
 */
/* The request fields the fast path requires to be zero, read as one qword:
 * at, pasid_valid, zlr and the access bits other than R and W. */
_Static_assert(offsetof(struct vtd_request, at) == 2 && offsetof(struct vtd_request, access) == 3 &&
                   offsetof(struct vtd_request, pasid_valid) == 4 && offsetof(struct vtd_request, zlr) == 6,
               "struct vtd_request layout");
_Static_assert(VTD_OK == 0 && offsetof(struct vtd_result, status) == 0 &&
                   offsetof(struct vtd_result, fault_reason) == 4 && offsetof(struct vtd_result, fault_recorded) == 5 &&
                   offsetof(struct vtd_result, pa) == 8 && offsetof(struct vtd_result, ats) == offsetof(struct vtd_result, perm) + 1,
               "struct vtd_result layout");
#define FAST_REQ_MASK (0xFFULL << 16 | (0xFFULL & ~(uint64_t)(VTD_R | VTD_W)) << 24 | 0xFFULL << 32 | 0xFFULL << 48)

/* Read a front entry's n qwords into out[] and its epoch into *e
 * (seqlock): false when it was being written. */
static inline __attribute__((always_inline)) bool front_read(const _Atomic uint32_t *seq, const _Atomic uint32_t *ep,
                                                             const _Atomic uint64_t *v, uint64_t *out, unsigned n,
                                                             uint32_t *e)
{
    uint32_t s1 = atomic_load_explicit(seq, memory_order_acquire);
    /* written out: n is 3 or 4, and the hit path wants no loop */
    out[0] = atomic_load_explicit(&v[0], memory_order_relaxed);
    out[1] = atomic_load_explicit(&v[1], memory_order_relaxed);
    out[2] = atomic_load_explicit(&v[2], memory_order_relaxed);
    if (n > 3)
        out[3] = atomic_load_explicit(&v[3], memory_order_relaxed);
    *e = atomic_load_explicit(ep, memory_order_relaxed);
    vtd_fence(memory_order_acquire);
    return !(s1 & 1) && atomic_load_explicit(seq, memory_order_relaxed) == s1;
}

/* The epoch a front entry was read with is the current one. */
static inline bool front_current(struct vtd *u, uint32_t e)
{
    return e == atomic_load_explicit(&u->front_epoch, memory_order_acquire);
}

/* A front-cache hit's result (no ATS bits) and its count: as the context
 * cache and IOTLB hits it stands for (vtd_get_stats adds fast_hits to
 * translations, context-cache and IOTLB hits). */
static inline __attribute__((always_inline)) void front_result(struct vtd *u, struct vtd_result *res, uint64_t pa,
                                                               uint64_t size, uint8_t perm)
{
    /* status = VTD_OK, fault_reason = 0, fault_recorded = false in one store,
     * perm and ats = 0 in another */
    const uint64_t zero = 0;
    memcpy(res, &zero, sizeof(zero));
    res->pa = pa;
    res->page_size = size;
    const uint16_t perm_ats = perm;
    memcpy(&res->perm, &perm_ats, sizeof(perm_ats));
    stat_inc(&vtd_stat_slot(u)->fast_hits);
}

static inline __attribute__((always_inline)) bool fast_translate(struct vtd *u, const struct vtd_request *req,
                                                                 struct vtd_result *res)
{
    uint64_t head;
    memcpy(&head, req, sizeof(head));
    if ((head & FAST_REQ_MASK) || atomic_load_explicit(&u->hot, memory_order_acquire) != (HOT_TE | HOT_FAST))
        return false;
    const uint16_t sid = (uint16_t)head;
    const uint8_t access = (uint8_t)(head >> 24);
    const uint64_t addr = req->addr, pfn = addr >> VTD_PAGE_SHIFT;
    const struct front_entry *fe = &u->front[front_index(sid, pfn)];
    uint64_t v[3];
    uint32_t ep;
    if (!front_read(&fe->seq, &fe->epoch, fe->v, v, 3, &ep) || v[FE_TAG] != front_tag(sid, pfn) ||
        !front_current(u, ep))
        return false;
    const uint64_t d0 = v[FE_D0], size = v[FE_SIZE];
    const uint8_t perm = (uint8_t)(size & (VTD_R | VTD_W));
    if ((perm & access) != access || VTD_UNLIKELY(!access))
        return false;
    front_result(u, res, d0 | (addr & (VTD_PAGE_SIZE - 1)), size & ~(VTD_PAGE_SIZE - 1), perm);
    return true;
}

/*
 * The scalable-mode hit (struct smfront_entry): an untranslated read, write
 * or atomic, with or without PASID, no ZLR, translation enabled in scalable
 * mode and nothing else latched, whose memo is current and grants the
 * access.  Gives what sm_translate() gives from the same cached state: the
 * memo is dead once any of the context-cache, PASID-cache and IOTLB entries
 * it came from is invalidated or evicted.
 */
#define SM_FAST_REQ_MASK (0xFFULL << 16 | (0xFFULL & ~(uint64_t)(VTD_R | VTD_W)) << 24 | 0xFFULL << 48)

static inline __attribute__((always_inline)) bool sm_fast_translate(struct vtd *u, const struct vtd_request *req,
                                                                    struct vtd_result *res)
{
    uint64_t head;
    memcpy(&head, req, sizeof(head));
    const uint8_t access = (uint8_t)(head >> 24);
    if ((head & SM_FAST_REQ_MASK) || !access ||
        atomic_load_explicit(&u->hot, memory_order_acquire) != (HOT_TE | HOT_FAST | HOT_SM) || !u->smfront)
        return false;
    const uint64_t addr = req->addr, pfn = addr >> VTD_PAGE_SHIFT;
    const uint64_t key = smfront_key(req->sid, req->pasid_valid, req->priv, req->pasid);
    const struct smfront_entry *fe = &u->smfront[smfront_index(key, pfn)];
    uint64_t v[4];
    uint32_t ep;
    if (!front_read(&fe->seq, &fe->epoch, fe->v, v, 4, &ep) || v[SFE_KEY] != key || v[SFE_PFN] != pfn ||
        !front_current(u, ep))
        return false;
    const uint64_t d0 = v[SFE_D0], size = v[SFE_SIZE];
    const uint8_t allow = (uint8_t)((d0 >> 2) & (VTD_R | VTD_W));
    if ((allow & access) != access)
        return false;
    front_result(u, res, (d0 & ~(VTD_PAGE_SIZE - 1)) | (addr & (VTD_PAGE_SIZE - 1)), size,
                 (uint8_t)(d0 & (VTD_R | VTD_W)));
    return true;
}

/*
 * The common miss: the same preconditions as fast_translate (an untranslated
 * read/write/atomic without PASID or ZLR, nothing but TE and the fast path
 * latched) and a context-cache hit for a TT 00/01 entry, but no front-cache
 * hit.  Probes the IOTLB (a hit is left to do_translate, which memoizes it),
 * then walks.  Everything it does not handle (a context miss, an IOTLB hit,
 * an address beyond the width or in the interrupt range) it leaves to
 * do_translate before touching any state, so results are the same.
 */
static bool fast_miss(struct vtd *u, const struct vtd_request *req, struct vtd_result *res)
{
    uint64_t head;
    memcpy(&head, req, sizeof(head));
    if ((head & FAST_REQ_MASK) || !u->miss_ok ||
        (atomic_load_explicit(&u->hot, memory_order_acquire) & ~HOT_FAST) != HOT_TE)
        return false;
    const uint16_t sid = req->sid;
    const uint64_t addr = req->addr, pfn = addr >> VTD_PAGE_SHIFT;
    struct chit c;
    if (!ctx_lookup(&u->ctxc, sid, &c) || !(c.d1 & CTX_FAST) || c.gen != ctx_gen(u, (uint16_t)c.d1) ||
        (addr >> ((c.d1 >> 16) & 0xFF)) || in_intr_range(addr))
        return false;
    struct ctxinfo ci;
    ctx_from_cache(&c, &ci);
    if (u->iotlb.nsets) {
        struct chit h;
        const uint64_t gen = tlb_gen(u, ci.did);
        if (cache_lookup(&u->iotlb, iotlb_set(&u->iotlb, ci.did, 0, pfn), iotlb_tag(ci.did, 0, pfn), &h) &&
            h.gen == gen)
            return false;
        if (atomic_load_explicit(&u->dsizes[ci.did], memory_order_acquire) & 6)
            return false; /* superpage entries may exist: do_translate probes them */
    }
    struct walk w;
    w.u = u;
    w.req = req;
    w.flags = 0;
    w.fn = NULL;
    w.arg = NULL;
    w.st = vtd_stat_slot(u);
    w.used_cache = true; /* the context */
    w.neg_cached = w.qualified = w.perm_fault = w.ats = false;
    w.tlb_d1 = 0;      /* the scalable-mode fields the legacy walk reads */
    w.slade = false;
    w.memo_tlb = NULL;
    w.d_rewalk = false;
    w.ctx_hit = true;
    w.fpd = ci.fpd;
    w.need = (uint8_t)(head >> 24) & (VTD_R | VTD_W);
    stat_inc(&w.st->translations);
    stat_inc(&w.st->ctx_hits);
    if (u->iotlb.nsets)
        stat_inc(&w.st->iotlb_misses);
    struct leaf lf;
    int r = vtd_sl_walk(&w, &ci, &lf);
    res->fault_recorded = false;
    if (r) {
        fault(&w, res, (uint8_t)r);
        return true;
    }
    uint8_t reason = vtd_perm_check(w.need, lf.perm, lf.amiss);
    uint64_t pa = lf.page | (addr & (lf.size - 1));
    if (!reason && in_intr_range(pa))
        reason = VTD_FR_INTR_RANGE;
    if (reason) {
        w.qualified = true;
        fault(&w, res, reason);
        return true;
    }
    ok(res, pa, lf.size, lf.perm, 0);
    return true;
}

static __attribute__((noinline)) int slow_translate(struct vtd *u, const struct vtd_request *req,
                                                    struct vtd_result *res)
{
    if (sm_fast_translate(u, req, res))
        return 0;
    if (!request_valid(req))
        return VTD_EINVAL;
    if (fast_miss(u, req, res))
        return 0;
    return do_translate(u, req, res, 0, NULL, NULL);
}

int vtd_translate(struct vtd *u, const struct vtd_request *req, struct vtd_result *res)
{
    if (VTD_UNLIKELY(!u || !req || !res))
        return VTD_EINVAL;
    if (VTD_LIKELY(fast_translate(u, req, res)))
        return 0;
    return slow_translate(u, req, res);
}

int vtd_walk(struct vtd *u, const struct vtd_request *req, struct vtd_result *res, vtd_walk_fn fn, void *arg)
{
    if (!u || !req || !res || !request_valid(req))
        return VTD_EINVAL;
    return do_translate(u, req, res, WALK_NOCACHE | WALK_NORECORD, fn, arg);
}
