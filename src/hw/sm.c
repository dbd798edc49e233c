/* SPDX-License-Identifier: MIT */
/*
 * Scalable-mode structures (RTADDR.TTM = 01; spec Rev 5.10 §9.2, §9.4-§9.6,
 * fault conditions SRT/SCT/SPD/SPT of Table 30): from a request's source-id
 * and PASID (or the context's RID_PASID) to a decoded PASID-table entry,
 * through the context cache and the PASID cache.
 *
 * Caches: scalable-mode context entries share the context cache with the
 * legacy ones (tagged by source-id, marked CTX_SM, not tagged by domain: the
 * spec makes domain-selective context-cache invalidation global in scalable
 * mode).  The PASID cache holds valid PASID-table entries keyed by
 * (source-id, PASID) and carries the entry's domain id for domain- and
 * PASID-selective invalidation.  Entries stay until invalidated: a table
 * change without invalidation keeps using the cached entry (check_stale
 * reports it).
 */
#include <string.h>

#include "sm.h"

static int sm_fault(struct walk *w, int reason, bool qualified)
{
    w->qualified = qualified;
    return reason;
}

static void sm_read_diag(struct walk *w, uint64_t pa, const char *what)
{
    if (walk_diags(w))
        vtd_diagf(w->u, VTD_DIAG_READ_ERROR, w->req->sid, pa, "%s at 0x%llx is not backed by memory", what,
                  (unsigned long long)pa);
}

static bool sm_read(struct walk *w, uint64_t pa, void *buf, size_t len)
{
    if (walk_diags(w))
        stat_inc(&w->st->mem_reads);
    return w->u->host.mem_read(w->u->host.opaque, pa, buf, len) == 0;
}

/* ---- context ---- */

static void smctx_from_cache(const struct chit *h, struct smctx *sc)
{
    sc->pasiddirptr = h->d0 & VTD_SMCTX_PASIDDIRPTR_MASK;
    sc->fpd = h->d0 & VTD_SMCTX_FPD;
    sc->dte = h->d0 & VTD_SMCTX_DTE;
    sc->paside = h->d0 & VTD_SMCTX_PASIDE;
    sc->pre = h->d0 & VTD_SMCTX_PRE;
    sc->pdts = (uint8_t)VTD_FIELD_GET(h->d0, 11, 9);
    sc->rid_pasid = (uint32_t)(h->d1 >> 32) & 0xFFFFF;
    sc->rid_priv = (h->d1 >> 52) & 1;
}

/* Largest PASID the directory covers: 2^(PDTS+7) entries of 64 PASIDs. */
static uint32_t pdts_max(unsigned pdts)
{
    return (uint32_t)((1ULL << (pdts + 13)) - 1);
}

/* With CAP.CM (§6.1: the unit "caches not-present or erroneous
 * translation-structure entries") a scalable-mode context entry that is not
 * present (41h), sets reserved bits (42h) or is invalid (43h) is cached with
 * its fault, so software must invalidate the context cache after fixing it.
 * Read errors (40h) and root-entry faults are not cached: no context entry
 * was fetched. */
static int smctx_neg_fill(struct walk *w, int reason)
{
    struct vtd *u = w->u;
    const uint16_t sid = w->req->sid;
    if (u->cm && walk_caches(w) && u->ctxc.nsets &&
        cache_insert(&u->ctxc, ctx_set(&u->ctxc, sid), ctx_tag(sid),
                     (uint64_t)w->fpd << 1 | (uint64_t)(reason & 0xFF) << 8, CTX_SM | CTX_SMNEG, ctx_gen(u, 0),
                     &u->ctx_epoch, w->ctx_epoch) > 0)
        front_bump(u);
    return sm_fault(w, reason, true);
}

static int sm_ctx_fetch(struct walk *w, struct smctx *sc)
{
    struct vtd *u = w->u;
    const uint16_t sid = w->req->sid;
    const unsigned bus = sid >> 8, devfn = sid & 0xFF;
    w->fpd = false;
    if (walk_caches(w) && u->ctxc.nsets) {
        struct chit h;
        if (ctx_lookup(&u->ctxc, sid, &h) && (h.d1 & CTX_SM) && h.gen == ctx_gen(u, 0)) {
            stat_inc(&w->st->ctx_hits);
            if (h.d1 & CTX_SMNEG) {
                /* CAP.CM: an entry that faulted, cached with its fault */
                memset(sc, 0, sizeof(*sc));
                w->used_cache = w->ctx_hit = w->neg_cached = true;
                w->fpd = (h.d0 >> 1) & 1;
                return sm_fault(w, (int)(uint8_t)(h.d0 >> 8), true);
            }
            smctx_from_cache(&h, sc);
            w->used_cache = w->ctx_hit = true;
            w->fpd = sc->fpd;
            return 0;
        }
        stat_inc(&w->st->ctx_misses);
    }
    w->ctx_epoch = atomic_load_explicit(&u->ctx_epoch, memory_order_acquire);

    /* scalable-mode root entry: LP/LCTP for devfn 0-127, UP/UCTP for 128-255 */
    const uint64_t rta = atomic_load_explicit(&u->rta, memory_order_acquire) & VTD_RTADDR_RTA_MASK;
    uint64_t re[2], ra = rta + bus * VTD_ROOT_SIZE;
    if (!sm_read(w, ra, re, sizeof(re))) {
        walk_step(w, VTD_STEP_SM_ROOT, 0, bus, rta, ra, NULL, 0, true);
        sm_read_diag(w, ra, "scalable-mode root entry");
        return sm_fault(w, VTD_FR_SM_ROOT_READ_ERROR, false);
    }
    walk_step(w, VTD_STEP_SM_ROOT, 0, bus, rta, ra, re, 2, false);
    const uint64_t half = re[devfn >> 7];
    if (!(half & VTD_SMROOT_P))
        return sm_fault(w, VTD_FR_SM_ROOT_NOT_PRESENT, false);
    if ((half & VTD_SMROOT_RSVD) || (half & VTD_SMROOT_CTP_MASK & u->haw_mask)) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_ROOT_RSVD, sid, ra,
                      "scalable-mode root entry for bus %u at 0x%llx: %s half 0x%llx sets reserved bits", bus,
                      (unsigned long long)ra, devfn >> 7 ? "upper" : "lower", (unsigned long long)half);
        return sm_fault(w, VTD_FR_SM_ROOT_RSVD, false);
    }

    /* scalable-mode context entry: 128 of 256 bits per table */
    const uint64_t ctp = half & VTD_SMROOT_CTP_MASK;
    uint64_t ce[4], ca = ctp + (devfn & 0x7F) * VTD_SMCTX_SIZE;
    if (!sm_read(w, ca, ce, sizeof(ce))) {
        walk_step(w, VTD_STEP_SM_CONTEXT, 0, devfn & 0x7F, ctp, ca, NULL, 0, true);
        sm_read_diag(w, ca, "scalable-mode context entry");
        return sm_fault(w, VTD_FR_SM_CTX_READ_ERROR, false);
    }
    walk_step(w, VTD_STEP_SM_CONTEXT, 0, devfn & 0x7F, ctp, ca, ce, 4, false);
    /* FPD is evaluated whether or not P is set */
    w->fpd = ce[0] & VTD_SMCTX_FPD;
    if (!(ce[0] & VTD_SMCTX_P))
        return smctx_neg_fill(w, VTD_FR_SM_CTX_NOT_PRESENT);
    const uint64_t r0 = ce[0] & u->rsvd_smctx[0], r1 = ce[1] & u->rsvd_smctx[1];
    if (r0 || r1 || ce[2] || ce[3]) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_CTX_RSVD, sid, ca,
                      "scalable-mode context entry for %02x:%02x.%u at 0x%llx sets reserved bits (q0 0x%llx q1 "
                      "0x%llx q2 0x%llx q3 0x%llx)",
                      bus, devfn >> 3, devfn & 7, (unsigned long long)ca, (unsigned long long)r0,
                      (unsigned long long)r1, (unsigned long long)ce[2], (unsigned long long)ce[3]);
        return smctx_neg_fill(w, VTD_FR_SM_CTX_RSVD);
    }
    struct chit h = {.d0 = ce[0], .d1 = CTX_SM | (ce[1] & VTD_GENMASK(20, 0)) << 32};
    smctx_from_cache(&h, sc);
    sc->fpd = w->fpd;
    /* SCT.4: DTE=0 with PRE=1 (PRE is reserved without ECAP.PRS), RID_PASID
     * beyond what PDTS covers, EPTR without PASIDE (EPTR is reserved without
     * ECAP.PTRS) */
    if (!sc->dte && sc->pre) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_SM_CTX_INVALID, sid, ca,
                      "scalable-mode context entry for %02x:%02x.%u enables page requests (PRE=1) without "
                      "device-TLBs (DTE=0)",
                      bus, devfn >> 3, devfn & 7);
        return smctx_neg_fill(w, VTD_FR_SM_CTX_INVALID);
    }
    if (sc->rid_pasid > pdts_max(sc->pdts)) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_SM_CTX_INVALID, sid, ca,
                      "scalable-mode context entry for %02x:%02x.%u: RID_PASID %u is beyond the %u PASIDs that "
                      "PDTS=%u covers",
                      bus, devfn >> 3, devfn & 7, sc->rid_pasid, pdts_max(sc->pdts) + 1, sc->pdts);
        return smctx_neg_fill(w, VTD_FR_SM_CTX_INVALID);
    }
    if (walk_caches(w) && u->ctxc.nsets &&
        cache_insert(&u->ctxc, ctx_set(&u->ctxc, sid), ctx_tag(sid), ce[0] & ~(uint64_t)VTD_SMCTX_P, h.d1,
                     ctx_gen(u, 0), &u->ctx_epoch, w->ctx_epoch) > 0)
        front_bump(u);
    return 0;
}

/* ---- PASID-table entry ---- */

/* PASID cache entry:
 * d0 = SSPTPTR | P 0 | FPD 1 (directory or table entry) | AW 4:2 | PGTT 8:6 | SSADE 9 | PGSNP 10 |
 *      PWSNP 11 | DID[11:0] 63:52
 * d1 = FSPTPTR | CACHE_MARK 0 | FSPM5 1 | WPE 2 | EAFE 3 | SRE 4 | DID[15:12] 63:60 */
static inline uint64_t pc_tag(uint16_t sid, uint32_t pasid) { return 1 | (uint64_t)sid << 1 | (uint64_t)pasid << 17; }
static inline uint16_t pc_tag_sid(uint64_t tag) { return (uint16_t)(tag >> 1); }
static inline uint32_t pc_tag_pasid(uint64_t tag) { return (uint32_t)(tag >> 17) & 0xFFFFF; }
static inline uint16_t pc_did(uint64_t d0, uint64_t d1) { return (uint16_t)((d0 >> 52) | (d1 >> 60) << 12); }

/* With CAP.CM (§6.2.3) the PASID cache also holds entries that would
 * fault: a not-present or reserved PASID-directory entry (51h, 52h) or
 * PASID-table entry (59h, 5Ah, 5Bh), tagged with the reserved domain id 0,
 * so software must invalidate (PASID-cache with DID 0, or globally) after
 * making such an entry valid.  d0 = P 0 (clear) | FPD 1 | reason 15:8,
 * d1 = 0.  Read errors (50h, 58h) are not cached: no entry was fetched. */
static inline uint8_t pc_neg_reason(uint64_t d0) { return (uint8_t)(d0 >> 8); }

static int pc_neg_fill(struct walk *w, uint64_t tag, uint32_t epoch, bool fpd, int reason)
{
    struct vtd *u = w->u;
    if (u->cm && walk_caches(w) && u->pc.nsets &&
        cache_insert(&u->pc, cache_set(&u->pc, tag), tag, (uint64_t)fpd << 1 | (uint64_t)(reason & 0xFF) << 8, 0,
                     atomic_load_explicit(&u->pc_ggen, memory_order_acquire), &u->pc_epoch, epoch) > 0)
        front_bump(u); /* evicted an entry a memo derives from */
    return sm_fault(w, reason, true);
}

static void pi_from_cache(uint64_t d0, uint64_t d1, struct pasidinfo *pi)
{
    memset(pi, 0, sizeof(*pi));
    pi->present = true;
    pi->fpd = (d0 >> 1) & 1;
    pi->aw = (uint8_t)((d0 >> 2) & 7);
    pi->sl_levels = (uint8_t)(pi->aw + 2);
    pi->pgtt = (uint8_t)((d0 >> 6) & 7);
    pi->slade = (d0 >> 9) & 1;
    pi->pgsnp = (d0 >> 10) & 1;
    pi->pwsnp = (d0 >> 11) & 1;
    pi->slptptr = d0 & VTD_GENMASK(51, 12);
    pi->flptptr = d1 & VTD_GENMASK(51, 12);
    pi->sre = (d1 >> 4) & 1;
    pi->fspm5 = (d1 >> 1) & 1;
    pi->fl_levels = pi->fspm5 ? 5 : 4;
    pi->wpe = (d1 >> 2) & 1;
    pi->eafe = (d1 >> 3) & 1;
    pi->did = pc_did(d0, d1);
}

static void pi_to_cache(const struct pasidinfo *pi, uint64_t *d0, uint64_t *d1)
{
    *d0 = pi->slptptr | 1 | (uint64_t)pi->fpd << 1 | (uint64_t)(pi->aw & 7) << 2 | (uint64_t)(pi->pgtt & 7) << 6 |
          (uint64_t)pi->slade << 9 | (uint64_t)pi->pgsnp << 10 | (uint64_t)pi->pwsnp << 11 |
          (uint64_t)(pi->did & 0xFFF) << 52;
    *d1 = pi->flptptr | (uint64_t)pi->sre << 4 | (uint64_t)pi->fspm5 << 1 | (uint64_t)pi->wpe << 2 |
          (uint64_t)pi->eafe << 3 | (uint64_t)(pi->did >> 12) << 60;
}

static void pi_decode(const uint64_t pe[8], uint32_t pasid, struct pasidinfo *pi)
{
    memset(pi, 0, sizeof(*pi));
    pi->present = pe[0] & VTD_PE_Q0_P;
    pi->fpd = pe[0] & VTD_PE_Q0_FPD;
    pi->pgtt = (uint8_t)VTD_FIELD_GET(pe[0], 8, 6);
    pi->did = (uint16_t)(pe[1] & VTD_PE_Q1_DID_MASK);
    pi->pasid = pasid;
    pi->slptptr = pe[0] & VTD_PE_Q0_SSPTPTR_MASK;
    pi->aw = (uint8_t)VTD_FIELD_GET(pe[0], 4, 2);
    pi->sl_levels = (uint8_t)(pi->aw + 2);
    pi->slee = false; /* bit 5 is reserved in Rev 5.10 (execute requests are not supported) */
    pi->slade = pe[0] & VTD_PE_Q0_SSADE;
    pi->flptptr = pe[2] & VTD_PE_Q2_FSPTPTR_MASK;
    pi->fspm5 = VTD_FIELD_GET(pe[2], 3, 2) == 1;
    pi->fl_levels = pi->fspm5 ? 5 : 4;
    pi->sre = pe[2] & VTD_PE_Q2_SRE;
    pi->wpe = pe[2] & VTD_PE_Q2_WPE;
    pi->eafe = pe[2] & VTD_PE_Q2_EAFE;
    pi->pgsnp = pe[1] & VTD_PE_Q1_PGSNP;
    pi->pwsnp = pe[1] & VTD_PE_Q1_PWSNP;
    memcpy(pi->raw, pe, sizeof(pi->raw));
    pi->raw_valid = true;
}

/* SPT.4 (5Bh): what the entry asks for that the unit does not implement;
 * NULL when valid. */
static const char *pe_invalid(const struct vtd *u, const struct pasidinfo *pi, unsigned fspm)
{
    const uint64_t ecap = u->cfg.ecap;
    switch (pi->pgtt) {
    case VTD_PGTT_FL:
        if (!(ecap & VTD_ECAP_FLTS))
            return "PGTT=001 (first level) but ECAP.FLTS is 0";
        break;
    case VTD_PGTT_SL:
        if (!u->slts)
            return "PGTT=010 (second level) but ECAP.SLTS is 0";
        break;
    case VTD_PGTT_NESTED:
        if (!(ecap & VTD_ECAP_NEST))
            return "PGTT=011 (nested) but ECAP.NEST is 0";
        break;
    case VTD_PGTT_PT:
        if (!u->pt)
            return "PGTT=100 (pass-through) but ECAP.PT is 0";
        return NULL;
    default: return "PGTT is a reserved value";
    }
    if ((pi->pgtt == VTD_PGTT_SL || pi->pgtt == VTD_PGTT_NESTED) &&
        (pi->aw < 1 || pi->aw > 3 || !(u->sagaw & (1u << pi->aw))))
        return "AW is not supported by CAP.SAGAW";
    if ((pi->pgtt == VTD_PGTT_FL || pi->pgtt == VTD_PGTT_NESTED) &&
        (fspm > 1 || (fspm == 1 && !(u->cfg.cap & VTD_CAP_FL5LP))))
        return "FSPM is not supported";
    if (pi->pgtt == VTD_PGTT_NESTED) {
        unsigned width = 30 + 9 * (unsigned)pi->aw;
        if (width > u->mgaw)
            width = u->mgaw;
        if (pi->flptptr >> width)
            return "nested: FSPTPTR is beyond the second-level address width";
    }
    return NULL;
}

static int pe_fetch(struct walk *w, const struct smctx *sc, uint32_t pasid, struct pasidinfo *pi)
{
    struct vtd *u = w->u;
    const uint16_t sid = w->req->sid;
    const bool use = walk_caches(w) && u->pc.nsets;
    const uint64_t tag = pc_tag(sid, pasid);
    uint32_t epoch = 0;
    if (use) {
        struct chit h;
        const uint32_t set = cache_set(&u->pc, tag);
        if (cache_lookup(&u->pc, set, tag, &h) && h.gen == atomic_load_explicit(&u->pc_ggen, memory_order_acquire)) {
            w->used_cache = w->pc_hit = true;
            if (!(h.d0 & 1)) {
                /* CAP.CM: an entry that faulted, cached with its fault */
                w->fpd |= (h.d0 >> 1) & 1;
                w->neg_cached = true;
                return sm_fault(w, (int)pc_neg_reason(h.d0), true);
            }
            pi_from_cache(h.d0, h.d1, pi);
            pi->pasid = pasid;
            w->fpd |= pi->fpd;
            w->used_cache = w->pc_hit = true;
            w->pc_set = set;
            w->pc_tag = tag;
            w->pc_d0 = h.d0;
            return 0;
        }
        epoch = atomic_load_explicit(&u->pc_epoch, memory_order_acquire);
    }
    /* PASID directory entry, indexed by PASID[19:6] */
    const uint64_t dir = sc->pasiddirptr, da = dir + (uint64_t)(pasid >> 6) * VTD_PDE_SIZE;
    uint64_t de;
    if (!sm_read(w, da, &de, sizeof(de))) {
        walk_step(w, VTD_STEP_PASID_DIR, 0, pasid >> 6, dir, da, NULL, 0, true);
        sm_read_diag(w, da, "PASID directory entry");
        return sm_fault(w, VTD_FR_SM_PDE_READ_ERROR, false);
    }
    walk_step(w, VTD_STEP_PASID_DIR, 0, pasid >> 6, dir, da, &de, 1, false);
    const bool dfpd = de & VTD_PDE_FPD;
    w->fpd |= dfpd;
    if (!(de & VTD_PDE_P))
        return pc_neg_fill(w, tag, epoch, dfpd, VTD_FR_SM_PDE_NOT_PRESENT);
    if ((de & VTD_PDE_RSVD) || (de & VTD_PDE_PTP_MASK & u->haw_mask)) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_PASID_RSVD, sid, da,
                      "PASID directory entry for PASID %u at 0x%llx = 0x%016llx sets reserved bits", pasid,
                      (unsigned long long)da, (unsigned long long)de);
        return pc_neg_fill(w, tag, epoch, dfpd, VTD_FR_SM_PDE_RSVD);
    }
    /* PASID-table entry, indexed by PASID[5:0] */
    const uint64_t pt = de & VTD_PDE_PTP_MASK, pa = pt + (uint64_t)(pasid & 63) * VTD_PE_SIZE;
    uint64_t pe[8];
    if (!sm_read(w, pa, pe, sizeof(pe))) {
        walk_step(w, VTD_STEP_PASID_ENTRY, 0, pasid & 63, pt, pa, NULL, 0, true);
        sm_read_diag(w, pa, "PASID-table entry");
        return sm_fault(w, VTD_FR_SM_PTE_READ_ERROR, false);
    }
    walk_step(w, VTD_STEP_PASID_ENTRY, 0, pasid & 63, pt, pa, pe, 8, false);
    w->fpd |= (pe[0] & VTD_PE_Q0_FPD) != 0;
    const bool efpd = dfpd || (pe[0] & VTD_PE_Q0_FPD);
    if (!(pe[0] & VTD_PE_Q0_P))
        return pc_neg_fill(w, tag, epoch, efpd, VTD_FR_SM_PTE_NOT_PRESENT);
    uint64_t rsvd = 0;
    unsigned rq = 0;
    for (unsigned i = 0; i < 8 && !rsvd; i++)
        if ((rsvd = pe[i] & u->rsvd_pe[i]) != 0)
            rq = i;
    if (rsvd) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_PASID_RSVD, sid, pa,
                      "PASID-table entry for PASID %u at 0x%llx sets reserved bits 0x%llx in qword %u", pasid,
                      (unsigned long long)pa, (unsigned long long)rsvd, rq);
        return pc_neg_fill(w, tag, epoch, efpd, VTD_FR_SM_PTE_RSVD);
    }
    pi_decode(pe, pasid, pi);
    const char *why = pe_invalid(u, pi, (unsigned)VTD_FIELD_GET(pe[2], 3, 2));
    if (why) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_PASID_INVALID, sid, pa, "PASID-table entry for PASID %u at 0x%llx: %s", pasid,
                      (unsigned long long)pa, why);
        return pc_neg_fill(w, tag, epoch, efpd, VTD_FR_SM_PTE_INVALID);
    }
    pi->fpd = dfpd || pi->fpd; /* as cached: both FPDs below the context */
    if (use) {
        uint64_t d0, d1;
        pi_to_cache(pi, &d0, &d1);
        if (cache_insert(&u->pc, cache_set(&u->pc, tag), tag, d0, d1,
                         atomic_load_explicit(&u->pc_ggen, memory_order_acquire), &u->pc_epoch, epoch) > 0)
            front_bump(u);
    }
    return 0;
}

int vtd_sm_fetch(struct walk *w, struct smctx *sc, struct pasidinfo *pi)
{
    struct vtd *u = w->u;
    const struct vtd_request *req = w->req;
    int r = sm_ctx_fetch(w, sc);
    if (r)
        return r;
    w->qualified = true; /* every condition from here on is qualified but 50h and 58h */
    const bool prq = w->flags & WALK_PRQ;
    /* SCT.8: page requests need PRE (SCT.5, DTE, is NA for them: DTE=0 with
     * PRE=1 is 43h above) */
    if (prq && !sc->pre)
        return VTD_FR_SM_CTX_PRE;
    if (!prq && req->at != VTD_AT_UNTRANSLATED && !sc->dte)
        return VTD_FR_SM_CTX_DTE;
    uint32_t pasid;
    bool priv;
    if (req->pasid_valid) {
        if (!sc->paside)
            return VTD_FR_SM_CTX_PASIDE;
        if (!prq && (req->pasid >> u->pasid_bits)) /* SGN.10 is NA for page requests */
            return VTD_FR_SM_PASID_SIZE;
        if (req->pasid > pdts_max(sc->pdts))
            return VTD_FR_SM_CTX_PDTS;
        /* the RID_PASID value is reserved for requests without PASID (it is
         * 0 when ECAP.RPS is clear) */
        if (req->pasid == sc->rid_pasid)
            return VTD_FR_SM_CTX_RID_PASID;
        if (req->at == VTD_AT_TRANSLATED)
            return VTD_FR_SM_CTX_EPTR; /* EPTR is reserved (0): no ECAP.PTRS */
        pasid = req->pasid;
        priv = req->priv;
    } else {
        pasid = sc->rid_pasid;
        priv = sc->rid_priv;
    }
    w->sm_pasid = pasid;
    w->sm_priv = priv;
    r = pe_fetch(w, sc, pasid, pi);
    if (r || prq) /* SPT.5 and SPT.6 are NA for page requests */
        return r;
    if (req->at != VTD_AT_TRANSLATED) {
        /* SPT.5: a unit of major version 7 or below with ECAP.ERS clear (as
         * Rev 5.10 requires); version 8 and above fault 34h earlier */
        if (req->pasid_valid && (req->access & VTD_X))
            return VTD_FR_SM_EXEC_UNSUPPORTED;
        if (priv && !pi->sre)
            return VTD_FR_SM_PTE_SRE;
    }
    return 0;
}

int vtd_sm_stale(struct walk *w, const struct smctx *sc, const struct pasidinfo *pi)
{
    struct walk cw = {.u = w->u, .req = w->req, .flags = WALK_NOCACHE | WALK_NORECORD, .st = w->st};
    struct smctx now;
    memset(&now, 0, sizeof(now));
    if (w->ctx_hit && (sm_ctx_fetch(&cw, &now) || now.pasiddirptr != sc->pasiddirptr || now.pdts != sc->pdts ||
                       now.fpd != sc->fpd || now.dte != sc->dte || now.paside != sc->paside ||
                       now.rid_pasid != sc->rid_pasid || now.rid_priv != sc->rid_priv))
        return 1;
    if (w->pc_hit && w->neg_cached)
        return 2; /* called only when the fresh result differs */
    if (w->pc_hit) {
        struct pasidinfo p;
        cw.fpd = false;
        uint64_t a0, a1, b0, b1;
        if (pe_fetch(&cw, sc, w->sm_pasid, &p))
            return 2;
        pi_to_cache(&p, &a0, &a1);
        pi_to_cache(pi, &b0, &b1);
        if (a0 != b0 || a1 != b1)
            return 2;
    }
    return 0;
}

/* ---- PASID-cache invalidation (descriptor type 7, and context-cache
 *      invalidation in scalable mode) ---- */

/* Each also retires the scalable-mode front memos (front_bump after the
 * change took effect): a memo derives from a PASID-cache entry. */
void vtd_inval_pc_global(struct vtd *u)
{
    atomic_fetch_add_explicit(&u->pc_epoch, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&u->pc_ggen, 1, memory_order_acq_rel);
    front_bump(u);
}

struct pc_sel {
    uint16_t did, sid, sidmask;
    uint32_t pasid;
    int by; /* 0 domain, 1 domain + PASID, 2 source-id */
};

static bool pc_match(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg)
{
    const struct pc_sel *s = arg;
    switch (s->by) {
    case 0: return pc_did(d0, d1) == s->did;
    case 1: return pc_did(d0, d1) == s->did && pc_tag_pasid(tag) == s->pasid;
    default: return (pc_tag_sid(tag) & ~s->sidmask) == (s->sid & ~s->sidmask);
    }
}

static void pc_drop(struct vtd *u, const struct pc_sel *s)
{
    atomic_fetch_add_explicit(&u->pc_epoch, 1, memory_order_seq_cst);
    if (u->pc.nsets)
        cache_drop_if(&u->pc, pc_match, s);
    front_bump(u);
}

void vtd_inval_pc_domain(struct vtd *u, uint16_t did)
{
    pc_drop(u, &(struct pc_sel){.did = did, .by = 0});
}

void vtd_inval_pc_pasid(struct vtd *u, uint16_t did, uint32_t pasid)
{
    pc_drop(u, &(struct pc_sel){.did = did, .pasid = pasid, .by = 1});
}

void vtd_inval_pc_device(struct vtd *u, uint16_t sid, unsigned fm)
{
    static const uint16_t masks[4] = {0, 4, 6, 7};
    pc_drop(u, &(struct pc_sel){.sid = sid, .sidmask = masks[fm & 3], .by = 2});
}
