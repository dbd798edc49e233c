/* SPDX-License-Identifier: MIT */
/*
 * Support for VMMs that shadow a guest's translation tables (caching mode,
 * CAP.CM): invalidation notices to the embedder, and a walk that reports the
 * mappings the tables hold now.
 */
#include <string.h>

#include "internal.h"

void vtd_notify(struct vtd *u, const struct vtd_inval_notice *n)
{
    if (u->host.inval_notify)
        u->host.inval_notify(u->host.opaque, n);
}

struct mwalk {
    struct vtd *u;
    uint64_t start, last; /* inclusive range */
    vtd_mapping_fn fn;
    void *arg;
};

static int read_pte(struct vtd *u, uint64_t pa, uint64_t *pte)
{
    const uint64_t *p = u->host.mem_ptr ? u->host.mem_ptr(u->host.opaque, pa) : NULL;
    if (p) {
        *pte = __atomic_load_n(p, __ATOMIC_RELAXED);
        return 0;
    }
    return u->host.mem_read(u->host.opaque, pa, pte, 8);
}

/* Report the mappings of the table at `table` (level l) that cover `base`
 * onwards, within the range. */
static int walk_table(struct mwalk *m, uint64_t table, unsigned l, uint64_t base, uint8_t perm)
{
    unsigned shift = VTD_PAGE_SHIFT + 9 * (l - 1);
    uint64_t span = 1ULL << shift;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t lo = base + (uint64_t)i * span, hi = lo + span - 1;
        if (hi < m->start)
            continue;
        if (lo > m->last)
            break;
        uint64_t pte;
        if (read_pte(m->u, table + i * 8, &pte))
            return 0; /* the whole table is unreadable: nothing is mapped here */
        uint8_t p = perm & (uint8_t)(pte & (VTD_SL_R | VTD_SL_W));
        if (!p)
            continue; /* not present, or grants nothing through this path */
        bool leaf = l == 1 || (l <= 3 && (pte & VTD_SL_PS));
        if (pte & (leaf ? m->u->rsvd_leaf[l] : m->u->rsvd_nonleaf[l]))
            continue; /* a translation would fault Ch */
        if (leaf) {
            int rc = m->fn(m->arg, lo, pte & VTD_GENMASK(51, 12) & ~(span - 1), span, p);
            if (rc)
                return rc;
            continue;
        }
        int rc = walk_table(m, pte & VTD_GENMASK(51, 12), l - 1, lo, p);
        if (rc)
            return rc;
    }
    return 0;
}

int vtd_mappings(struct vtd *u, uint16_t sid, uint64_t start, uint64_t len, vtd_mapping_fn fn, void *arg)
{
    if (!u || !fn || !len || start + (len - 1) < start)
        return VTD_EINVAL;
    uint32_t hot = atomic_load_explicit(&u->hot, memory_order_acquire);
    if (!(hot & HOT_TE))
        return fn(arg, start, start, len, VTD_R | VTD_W);
    if (hot & HOT_SM)
        return VTD_ENOTSUP; /* scalable mode: not done (docs/model.md) */
    if (hot & (HOT_TTM_BAD | HOT_ABORT))
        return VTD_ENOENT;
    struct vtd_request req = {.sid = sid, .access = VTD_R, .addr = start};
    struct walk w;
    memset(&w, 0, sizeof(w));
    w.u = u;
    w.req = &req;
    w.flags = WALK_NOCACHE | WALK_NORECORD;
    w.st = vtd_stat_slot(u);
    struct ctxinfo ci;
    if (vtd_ctx_fetch(&w, &ci))
        return VTD_ENOENT;
    if (ci.tt == VTD_TT_PASSTHROUGH)
        return fn(arg, start, start, len, VTD_R | VTD_W);
    unsigned width = 30 + 9 * (unsigned)ci.aw;
    if (width > u->mgaw)
        width = u->mgaw;
    uint64_t top = width >= 64 ? ~0ULL : (1ULL << width) - 1;
    if (start > top)
        return 0;
    struct mwalk m = {.u = u, .start = start, .last = start + (len - 1), .fn = fn, .arg = arg};
    if (m.last > top)
        m.last = top;
    return walk_table(&m, ci.slptptr, ci.levels, 0, VTD_R | VTD_W);
}
