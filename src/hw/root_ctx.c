/* SPDX-License-Identifier: MIT */
/*
 * Legacy root and context entries (spec "Root Entry", "Context Entry") and
 * the context cache: from a request's source-id to its domain, translation
 * type and second-level table.
 */
#include "internal.h"

static int ctx_fault(struct walk *w, int reason, bool qualified)
{
    w->qualified = qualified;
    return reason;
}

/* d1 of a context-cache entry (see internal.h) */
static uint64_t ctx_d1(const struct vtd *u, const struct ctxinfo *ci)
{
    unsigned width = 30 + 9 * (unsigned)ci->aw;
    if (width > u->mgaw)
        width = u->mgaw;
    bool fast = ci->present && (ci->tt == VTD_TT_UNTRANSLATED || ci->tt == VTD_TT_DEVTLB);
    return ci->did | (uint64_t)(width & 0xFF) << 16 | (fast ? CTX_FAST : 0);
}

static void ctx_fill(struct walk *w, const struct ctxinfo *ci)
{
    struct vtd *u = w->u;
    if (!walk_caches(w) || !u->ctxc.nsets)
        return;
    uint64_t d0 = ci->slptptr | (uint64_t)ci->present | (uint64_t)ci->fpd << 1 | (uint64_t)ci->tt << 2 |
                  (uint64_t)ci->aw << 4;
    if (cache_insert(&u->ctxc, ctx_set(&u->ctxc, w->req->sid), ctx_tag(w->req->sid), d0, ctx_d1(u, ci),
                     ctx_gen(u, ci->did), &u->ctx_epoch, w->ctx_epoch) > 0)
        front_bump(u);
}

int vtd_ctx_fetch(struct walk *w, struct ctxinfo *ci)
{
    struct vtd *u = w->u;
    uint16_t sid = w->req->sid;
    w->fpd = false;
    if (walk_caches(w) && u->ctxc.nsets) {
        struct chit h;
        /* direct-mapped: one entry to read */
        if (ctx_lookup(&u->ctxc, sid, &h) && h.gen == ctx_gen(u, (uint16_t)h.d1)) {
            stat_inc(&w->st->ctx_hits);
            ctx_from_cache(&h, ci);
            w->used_cache = w->ctx_hit = true;
            w->fpd = ci->fpd;
            if (!ci->present) {
                w->neg_cached = true;
                return ctx_fault(w, VTD_FR_CTX_NOT_PRESENT, true);
            }
            return 0;
        }
        stat_inc(&w->st->ctx_misses);
    }
    w->ctx_epoch = atomic_load_explicit(&u->ctx_epoch, memory_order_acquire);

    /* Root entry, indexed by bus */
    uint64_t rta = atomic_load_explicit(&u->rta, memory_order_acquire) & VTD_RTADDR_RTA_MASK;
    unsigned bus = sid >> 8, devfn = sid & 0xFF;
    uint64_t re[2], ra = rta + bus * VTD_ROOT_SIZE;
    if (walk_diags(w))
        stat_inc(&w->st->mem_reads);
    if (u->host.mem_read(u->host.opaque, ra, re, sizeof(re))) {
        walk_step(w, VTD_STEP_ROOT, 0, bus, rta, ra, NULL, 0, true);
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_READ_ERROR, sid, ra, "root entry for bus %u at 0x%llx is not backed by memory",
                      bus, (unsigned long long)ra);
        return ctx_fault(w, VTD_FR_ROOT_READ_ERROR, false);
    }
    walk_step(w, VTD_STEP_ROOT, 0, bus, rta, ra, re, 2, false);
    if (!(re[0] & VTD_ROOT_LO_P))
        return ctx_fault(w, VTD_FR_ROOT_NOT_PRESENT, false);
    if ((re[0] & VTD_ROOT_LO_RSVD) || re[1] || (re[0] & VTD_ROOT_LO_CTP_MASK & u->haw_mask)) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_ROOT_RSVD, sid, ra,
                      "root entry for bus %u at 0x%llx sets reserved bits (lo 0x%llx hi 0x%llx)", bus,
                      (unsigned long long)ra, (unsigned long long)re[0], (unsigned long long)re[1]);
        return ctx_fault(w, VTD_FR_ROOT_RSVD, false);
    }

    /* Context entry, indexed by devfn */
    uint64_t ctp = re[0] & VTD_ROOT_LO_CTP_MASK;
    uint64_t ce[2], ca = ctp + devfn * VTD_CTX_SIZE;
    if (walk_diags(w))
        stat_inc(&w->st->mem_reads);
    if (u->host.mem_read(u->host.opaque, ca, ce, sizeof(ce))) {
        walk_step(w, VTD_STEP_CONTEXT, 0, devfn, ctp, ca, NULL, 0, true);
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_READ_ERROR, sid, ca,
                      "context table of bus %u: entry at 0x%llx is not backed by memory", bus,
                      (unsigned long long)ca);
        return ctx_fault(w, VTD_FR_CTX_READ_ERROR, false);
    }
    walk_step(w, VTD_STEP_CONTEXT, 0, devfn, ctp, ca, ce, 2, false);
    /* FPD applies even when P is clear */
    w->fpd = ci->fpd = ce[0] & VTD_CTX_LO_FPD;
    ci->tt = (uint8_t)VTD_FIELD_GET(ce[0], 3, 2);
    ci->aw = (uint8_t)(ce[1] & VTD_CTX_HI_AW_MASK);
    ci->levels = (uint8_t)(ci->aw + 2);
    ci->slptptr = ce[0] & VTD_CTX_LO_SLPTPTR_MASK;
    ci->did = (uint16_t)VTD_FIELD_GET(ce[1], 23, 8);
    if (!(ce[0] & VTD_CTX_LO_P)) {
        /* With CAP.CM the unit may cache not-present entries (tagged with the
         * reserved domain id 0): software must invalidate after making an
         * entry present. */
        if (u->cm) {
            struct ctxinfo neg = {.present = false, .fpd = ci->fpd, .did = 0};
            ctx_fill(w, &neg);
        }
        return ctx_fault(w, VTD_FR_CTX_NOT_PRESENT, true);
    }
    ci->present = true;
    uint64_t rsvd_lo = ce[0] & VTD_CTX_LO_RSVD, rsvd_hi = ce[1] & u->rsvd_ctx_hi;
    if (ci->tt == VTD_TT_UNTRANSLATED || ci->tt == VTD_TT_DEVTLB)
        rsvd_lo |= ci->slptptr & u->haw_mask;
    if (rsvd_lo || rsvd_hi) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_CTX_RSVD, sid, ca,
                      "context entry for %02x:%02x.%u at 0x%llx sets reserved bits (lo 0x%llx hi 0x%llx)",
                      bus, devfn >> 3, devfn & 7, (unsigned long long)ca, (unsigned long long)rsvd_lo,
                      (unsigned long long)rsvd_hi);
        return ctx_fault(w, VTD_FR_CTX_RSVD, true);
    }
    bool tt_ok = ci->tt == VTD_TT_UNTRANSLATED || (ci->tt == VTD_TT_DEVTLB && u->dt) ||
                 (ci->tt == VTD_TT_PASSTHROUGH && u->pt);
    if (!tt_ok) {
        if (walk_diags(w))
            vtd_diagf(u, VTD_DIAG_CTX_TT, sid, ca, "context entry for %02x:%02x.%u has TT=%u, %s", bus,
                      devfn >> 3, devfn & 7, ci->tt,
                      ci->tt == VTD_TT_RESERVED ? "a reserved value"
                      : ci->tt == VTD_TT_DEVTLB ? "but ECAP.DT is 0"
                                                : "but ECAP.PT is 0");
        return ctx_fault(w, VTD_FR_CTX_INVALID, true);
    }
    /* the request type is checked against TT before AW (Dh before 3h) */
    if (w->req->at != VTD_AT_UNTRANSLATED && ci->tt != VTD_TT_DEVTLB)
        return ctx_fault(w, VTD_FR_TT_BLOCKED, true);
    if (ci->tt != VTD_TT_PASSTHROUGH) {
        if (ci->aw > 3 || !(u->sagaw & (1u << ci->aw))) {
            if (walk_diags(w))
                vtd_diagf(u, VTD_DIAG_CTX_AW, sid, ca,
                          "context entry for %02x:%02x.%u has AW=%u, not supported by CAP.SAGAW 0x%x", bus,
                          devfn >> 3, devfn & 7, ci->aw, u->sagaw);
            return ctx_fault(w, VTD_FR_CTX_INVALID, true);
        }
    } else if (walk_diags(w) && (1u << ci->aw) != (1u << (31 - __builtin_clz(u->sagaw)))) {
        vtd_diagf(u, VTD_DIAG_CTX_AW, sid, ca,
                  "pass-through context entry for %02x:%02x.%u has AW=%u; software must program the largest "
                  "supported AGAW",
                  bus, devfn >> 3, devfn & 7, ci->aw);
    }
    ctx_fill(w, ci);
    return 0;
}
