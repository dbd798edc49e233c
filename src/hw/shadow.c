/* SPDX-License-Identifier: MIT */
/*
 * Support for VMMs that shadow a guest's translation tables (caching mode,
 * CAP.CM): invalidation notices to the embedder, and a walk that reports the
 * mappings the tables hold now.
 */
#include <string.h>

#include "sm.h"

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

/* ---- scalable mode ---- */

/* min(30 + 9 * AW, MGAW): the second-level input width */
static unsigned sm_sl_width(const struct vtd *u, const struct pasidinfo *pi)
{
    unsigned width = 30 + 9 * (unsigned)pi->aw;
    return width > u->mgaw ? u->mgaw : width;
}

/* One address through the second level of pi (no cache, no A/D): false when
 * a translation faults on it (width, unreadable table, R=W=0 on the way,
 * reserved bits). */
static bool sl_one(struct vtd *u, const struct pasidinfo *pi, uint64_t gpa, uint64_t *hpa, uint8_t *perm)
{
    if (gpa >> sm_sl_width(u, pi))
        return false;
    uint64_t table = pi->slptptr;
    uint8_t p = VTD_R | VTD_W;
    for (unsigned l = pi->sl_levels; l >= 1; l--) {
        unsigned shift = VTD_PAGE_SHIFT + 9 * (l - 1);
        uint64_t pte;
        if (read_pte(u, table + ((gpa >> shift) & 511) * 8, &pte))
            return false;
        p &= (uint8_t)(pte & (VTD_SL_R | VTD_SL_W));
        if (!p)
            return false;
        bool leaf = l == 1 || (l <= 3 && (pte & VTD_SL_PS));
        if (pte & (leaf ? u->rsvd_leaf[l] : u->rsvd_nonleaf[l]))
            return false;
        if (leaf) {
            uint64_t size = 1ULL << shift;
            *hpa = (pte & VTD_GENMASK(51, 12) & ~(size - 1)) | (gpa & (size - 1));
            *perm = p;
            return true;
        }
        table = pte & VTD_GENMASK(51, 12);
    }
    return false;
}

struct flwalk {
    struct mwalk *m;
    const struct pasidinfo *pi;
    bool nested, priv;
    unsigned levels, n; /* n: 48 or 57 (canonical width) */
};

/* nested: a first-level leaf's guest-physical block through the second
 * level, reported piece by piece (each piece is the smaller of the two
 * leaves, so it is aligned) */
struct piece {
    struct mwalk *outer;
    uint64_t va, gpa, size; /* the first-level leaf: input, guest-physical base, size */
    uint8_t perm;
};

static int piece_cb(void *arg, uint64_t giova, uint64_t hpa, uint64_t size, uint8_t perm)
{
    const struct piece *pc = arg;
    struct mwalk *m = pc->outer;
    /* the intersection of the second-level leaf with the first-level one */
    uint64_t lo = giova > pc->gpa ? giova : pc->gpa;
    uint64_t end = giova + (size - 1), fend = pc->gpa + (pc->size - 1);
    if (end > fend)
        end = fend;
    uint8_t p = pc->perm & perm;
    if (!p)
        return 0;
    return m->fn(m->arg, pc->va + (lo - pc->gpa), hpa + (lo - giova), end - lo + 1, p);
}

/* Report the first-level leaves of the table at `table` (a guest-physical
 * address when nested) at level l covering inputs from base. */
static int fl_table(struct flwalk *f, uint64_t table, unsigned l, uint64_t base, bool rw, bool us)
{
    struct mwalk *m = f->m;
    struct vtd *u = m->u;
    const struct pasidinfo *pi = f->pi;
    uint64_t hpa = table;
    if (f->nested) {
        uint8_t tp;
        if (!sl_one(u, pi, table, &hpa, &tp) || !(tp & VTD_R) || (pi->slade && !(tp & VTD_W)))
            return 0; /* 75h / 76h (or a second-level fault) */
    }
    const unsigned shift = VTD_PAGE_SHIFT + 9 * (l - 1);
    const uint64_t span = 1ULL << shift;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t lo = base + (uint64_t)i * span;
        if (l == f->levels && i >= 256)
            lo |= ~0ULL << (f->n - 1); /* the upper canonical half */
        uint64_t hi = lo + (span - 1);
        if (hi < m->start || lo > m->last)
            continue;
        uint64_t pte;
        if (read_pte(u, hpa + (uint64_t)i * 8, &pte))
            return 0;
        if (!(pte & VTD_FL_P) || (pte & vtd_fl_rsvd(u, l, pte)))
            continue;
        const bool leaf = l == 1 || (l <= 3 && (pte & VTD_FL_PS));
        const uint64_t next = pte & VTD_GENMASK(51, 12) & (leaf ? ~(span - 1) : ~0ULL);
        if (f->nested && (next >> sm_sl_width(u, pi)))
            continue; /* 74h */
        const bool lrw = rw && (pte & VTD_FL_RW), lus = us && (pte & VTD_FL_US);
        int rc;
        if (!leaf) {
            rc = fl_table(f, next, l - 1, lo, lrw, lus);
        } else {
            uint8_t p = vtd_fl_perm(lrw, lus, f->priv, pi->wpe);
            if (!p)
                continue;
            if (!f->nested) {
                rc = m->fn(m->arg, lo, next, span, p);
            } else {
                struct piece pc = {.outer = m, .va = lo, .gpa = next, .size = span, .perm = p};
                uint64_t top = sm_sl_width(u, pi) >= 64 ? ~0ULL : (1ULL << sm_sl_width(u, pi)) - 1;
                /* only the pieces of this leaf that overlap the range */
                uint64_t s0 = m->start > lo ? next + (m->start - lo) : next;
                uint64_t s1 = m->last < hi ? next + (m->last - lo) : next + (span - 1);
                if (s1 > top)
                    s1 = top;
                if (s0 > s1)
                    continue;
                struct mwalk in = {.u = u, .start = s0, .last = s1, .fn = piece_cb, .arg = &pc};
                rc = walk_table(&in, pi->slptptr, pi->sl_levels, 0, VTD_R | VTD_W);
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* Report the range [a, b] (inclusive) as identity mappings, without the
 * interrupt range. */
static int identity(struct mwalk *m, uint64_t a, uint64_t b)
{
    int rc = 0;
    if (a < 0xFEE00000ULL)
        rc = m->fn(m->arg, a, a, (b < 0xFEE00000ULL ? b : 0xFEDFFFFFULL) - a + 1, VTD_R | VTD_W);
    if (!rc && b > 0xFEEFFFFFULL) {
        uint64_t s = a > 0xFEEFFFFFULL ? a : 0xFEF00000ULL;
        rc = m->fn(m->arg, s, s, b - s + 1, VTD_R | VTD_W);
    }
    return rc;
}

static int sm_mappings(struct vtd *u, struct vtd_request *req, struct mwalk *m)
{
    struct walk w;
    memset(&w, 0, sizeof(w));
    w.u = u;
    w.req = req;
    w.flags = WALK_NOCACHE | WALK_NORECORD;
    w.st = vtd_stat_slot(u);
    struct smctx sc;
    struct pasidinfo pi;
    memset(&sc, 0, sizeof(sc));
    memset(&pi, 0, sizeof(pi));
    if (vtd_sm_fetch(&w, &sc, &pi))
        return VTD_ENOENT;
    if (pi.pgtt == VTD_PGTT_PT) {
        uint64_t top = ~u->haw_mask; /* 2^haw - 1 */
        if (m->start > top)
            return 0;
        return identity(m, m->start, m->last < top ? m->last : top);
    }
    if (pi.pgtt == VTD_PGTT_SL) {
        unsigned width = sm_sl_width(u, &pi);
        uint64_t top = width >= 64 ? ~0ULL : (1ULL << width) - 1;
        if (m->start > top)
            return 0;
        if (m->last > top)
            m->last = top;
        return walk_table(m, pi.slptptr, pi.sl_levels, 0, VTD_R | VTD_W);
    }
    struct flwalk f = {.m = m, .pi = &pi, .nested = pi.pgtt == VTD_PGTT_NESTED, .priv = w.sm_priv,
                       .levels = pi.fl_levels == 5 ? 5 : 4};
    f.n = f.levels == 5 ? 57 : 48;
    return fl_table(&f, pi.flptptr, f.levels, 0, true, true);
}

int vtd_mappings_pasid(struct vtd *u, uint16_t sid, bool pasid_valid, uint32_t pasid, bool priv, uint64_t start,
                       uint64_t len, vtd_mapping_fn fn, void *arg)
{
    if (!u || !fn || !len || start + (len - 1) < start)
        return VTD_EINVAL;
    uint32_t hot = atomic_load_explicit(&u->hot, memory_order_acquire);
    if (!(hot & HOT_SM) || !(hot & HOT_TE)) {
        if (pasid_valid)
            return (hot & HOT_TE) ? VTD_ENOENT : fn(arg, start, start, len, VTD_R | VTD_W);
        return vtd_mappings(u, sid, start, len, fn, arg);
    }
    struct vtd_request req = {.sid = sid, .at = VTD_AT_UNTRANSLATED, .access = VTD_R, .pasid_valid = pasid_valid,
                              .pasid = pasid, .priv = pasid_valid && priv, .addr = start};
    struct mwalk m = {.u = u, .start = start, .last = start + (len - 1), .fn = fn, .arg = arg};
    return sm_mappings(u, &req, &m);
}

int vtd_mappings(struct vtd *u, uint16_t sid, uint64_t start, uint64_t len, vtd_mapping_fn fn, void *arg)
{
    if (!u || !fn || !len || start + (len - 1) < start)
        return VTD_EINVAL;
    uint32_t hot = atomic_load_explicit(&u->hot, memory_order_acquire);
    if (!(hot & HOT_TE))
        return fn(arg, start, start, len, VTD_R | VTD_W);
    if (hot & HOT_SM)
        return vtd_mappings_pasid(u, sid, false, 0, false, start, len, fn, arg);
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
