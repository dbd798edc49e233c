/* SPDX-License-Identifier: MIT */
/*
 * `vtd audit` walker: reads the translation structures straight out of a
 * physical memory image (spec Rev 5.10 chapter 9 formats) and collects what
 * every device can reach.  It shares no code with the model: a second,
 * independent reading of the same formats.
 *
 *   legacy:   root (§9.1) -> context (§9.3) -> second level (§9.8)
 *   scalable: SM root (§9.2) -> SM context (§9.4) -> PASID directory (§9.5)
 *             -> PASID table entry (§9.6) -> first level (§9.7, IA-32e 4/5
 *             level), second level, nested or pass-through by PGTT
 *   interrupt remapping table (§9.9, §9.10)
 *
 * Every read is bounds-checked against the image; a walk through a table
 * that points back at itself is cut (a loop anomaly) and the work is bounded
 * by an entry budget, so any input terminates.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/defs.h>
#include <vtd/vtd.h>

#include "audit.h"

#define INTR_LO 0xFEE00000ULL
#define INTR_HI 0xFEF00000ULL /* exclusive */
#define DEFAULT_BUDGET (1ULL << 28)
#define DEFAULT_MAX_AN 10000

/* Scalable-mode structure fields (§9.2, §9.4-9.6) the shared defs do not name. */
#define SM_ROOT_RSVD VTD_GENMASK(11, 1)        /* lo and hi (bits 75:65) */
#define SMCTX_Q0_DTE VTD_BIT(2)
#define SMCTX_Q0_PASIDE VTD_BIT(3)
#define SMCTX_Q0_RSVD VTD_GENMASK(8, 7)
#define SMCTX_Q0_PDTS(q) (((q) >> 9) & 7)
#define SMCTX_Q1_RID_PASID VTD_GENMASK(19, 0) /* bits 83:64 */
#define SMCTX_Q1_RSVD VTD_GENMASK(63, 21)     /* bits 127:85 */
#define PDE_RSVD VTD_GENMASK(11, 2)
#define PTE_Q0_AW(q) (((q) >> 2) & 7)
#define PTE_Q0_PGTT(q) (((q) >> 6) & 7)
#define PTE_Q0_RSVD (VTD_BIT(5) | VTD_GENMASK(11, 10))
#define PTE_Q1_RSVD (VTD_GENMASK(22, 16) | VTD_GENMASK(31, 27)) /* 86:80, 95:91 */
#define PTE_Q2_FSPM(q) (((q) >> 2) & 3)
#define PTE_Q2_RSVD (VTD_BIT(1) | VTD_GENMASK(11, 8))          /* 129, 139:136 */
/* first-level (IA-32e) entry bits */
#define FL_P VTD_BIT(0)
#define FL_RW VTD_BIT(1)
#define FL_US VTD_BIT(2)
#define FL_PS VTD_BIT(7)
#define FL_XD VTD_BIT(63)

struct ctx {
    const struct audit_image *img;
    const struct audit_regs *regs;
    struct audit_report *rep;
    uint8_t haw;
    uint64_t budget; /* entries_read limit */
    size_t max_an;
    bool oom;
    bool quiet; /* debugfs re-walk: no anomalies, no tables */
};

/* ---- growable arrays ---- */
static bool grow(struct ctx *c, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * elem);
    if (!p) {
        c->oom = true;
        return false;
    }
    *arr = p;
    *cap = nc;
    return true;
}

static void anomaly(struct ctx *c, int kind, bool has_dev, uint16_t sid, uint32_t pasid,
                    uint64_t addr, uint64_t pa, const char *fmt, ...)
{
    struct audit_report *r = c->rep;
    if (c->quiet)
        return;
    if (r->nan >= c->max_an) {
        r->an_dropped++;
        return;
    }
    if (!grow(c, (void **)&r->an, &r->ancap, r->nan, sizeof *r->an))
        return;
    struct audit_anomaly *a = &r->an[r->nan++];
    a->kind = (uint8_t)kind;
    a->has_dev = has_dev;
    a->sid = sid;
    a->pasid = pasid;
    a->addr = addr;
    a->pa = pa;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
}

static void add_table(struct ctx *c, uint64_t pa, uint64_t size, int kind, bool owned,
                      uint16_t sid, uint32_t pasid)
{
    struct audit_report *r = c->rep;
    if (c->quiet || !grow(c, (void **)&r->tbl, &r->tblcap, r->ntbl, sizeof *r->tbl))
        return;
    r->tbl[r->ntbl++] = (struct audit_table){.pa = pa, .size = size, .kind = (uint8_t)kind,
                                             .owned = owned, .sid = sid, .pasid = pasid};
}

/* ---- image access ---- */
static bool in_image(const struct ctx *c, uint64_t pa, uint64_t len)
{
    const struct audit_image *m = c->img;
    if (pa < m->base)
        return false;
    uint64_t off = pa - m->base;
    return off <= m->size && len <= m->size - off;
}

static uint64_t rd64(struct ctx *c, uint64_t pa) /* caller checked in_image */
{
    uint64_t v;
    memcpy(&v, c->img->data + (pa - c->img->base), 8);
    c->rep->entries_read++;
    return v;
}

/* The entry budget: every walk stops once it is spent (reported once). */
static bool over(struct ctx *c)
{
    if (c->rep->entries_read < c->budget)
        return false;
    if (!c->rep->truncated && !c->quiet) {
        c->rep->truncated = true;
        anomaly(c, AUDIT_A_TRUNCATED, false, 0, AUDIT_NO_PASID, 0, 0,
                "entry budget (%llu entries) exhausted: the report is incomplete "
                "(raise --max-entries)",
                (unsigned long long)c->budget);
    }
    c->rep->truncated = true;
    return true;
}

static uint64_t addr_mask(const struct ctx *c) /* bits HAW-1:12 */
{
    return VTD_GENMASK(c->haw - 1, 12);
}
static uint64_t above_haw(const struct ctx *c) /* bits 63:HAW */
{
    return c->haw >= 64 ? 0 : VTD_GENMASK(63, c->haw);
}

static void sid_str(uint16_t sid, char *b)
{
    snprintf(b, 8, "%02x:%02x.%x", sid >> 8, (sid >> 3) & 0x1f, sid & 7);
}

/* ---- page-table walks (second level §9.8, first level §9.7) ---- */

typedef void (*leaf_fn)(void *arg, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm,
                        const uint64_t *path);

struct ptw {
    struct ctx *c;
    bool fl;                        /* first-level format */
    int levels;
    uint16_t sid;
    uint32_t pasid;
    const struct audit_space *sl;   /* nested: GPA -> HPA for FL table pointers */
    leaf_fn leaf;
    void *arg;
    uint64_t path_tbl[6];           /* table address per level on the current path */
    uint64_t path[6];               /* entry value per level (debugfs columns) */
    bool *stop;
    /* tables seen in this walk (shared-table detection), open addressing */
    uint64_t *seen;
    size_t seen_cap, seen_n;
};

static bool seen_insert(struct ptw *w, uint64_t pa) /* true when already there */
{
    if (w->seen_n * 2 >= w->seen_cap) {
        size_t nc = w->seen_cap ? w->seen_cap * 2 : 256;
        uint64_t *ns = calloc(nc, sizeof *ns);
        if (!ns) {
            w->c->oom = true;
            return false;
        }
        for (size_t i = 0; i < w->seen_cap; i++) {
            if (!w->seen[i])
                continue;
            size_t h = (size_t)((w->seen[i] >> 12) * 0x9E3779B97F4A7C15ULL) & (nc - 1);
            while (ns[h])
                h = (h + 1) & (nc - 1);
            ns[h] = w->seen[i];
        }
        free(w->seen);
        w->seen = ns;
        w->seen_cap = nc;
    }
    uint64_t key = pa | 1; /* never 0 */
    size_t h = (size_t)((pa >> 12) * 0x9E3779B97F4A7C15ULL) & (w->seen_cap - 1);
    while (w->seen[h]) {
        if (w->seen[h] == key)
            return true;
        h = (h + 1) & (w->seen_cap - 1);
    }
    w->seen[h] = key;
    w->seen_n++;
    return false;
}

/* nested: GPA of a first-level table -> HPA through the second level (needs R) */
static bool sl_lookup(const struct audit_space *sl, uint64_t gpa, uint64_t *hpa)
{
    size_t lo = 0, hi = sl->nr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct audit_range *r = &sl->r[mid];
        if (gpa < r->iova)
            hi = mid;
        else if (gpa - r->iova >= r->size)
            lo = mid + 1;
        else {
            if (!(r->perm & VTD_R))
                return false;
            *hpa = r->pa + (gpa - r->iova);
            return true;
        }
    }
    return false;
}

static const char *lvl_name(bool fl, int level)
{
    static const char *const sl[] = {"", "SL PT", "SL PD", "SL PDPT", "SL PML4", "SL PML5"};
    static const char *const f[] = {"", "FL PT", "FL PD", "FL PDPT", "FL PML4", "FL PML5"};
    return (fl ? f : sl)[level];
}

static void pt_level(struct ptw *w, uint64_t tbl, int level, uint64_t base, uint8_t perm)
{
    struct ctx *c = w->c;
    const bool fl = w->fl;
    uint64_t cap = c->regs->cap, ecap = c->regs->ecap;
    if (!in_image(c, tbl, 4096)) {
        anomaly(c, AUDIT_A_UNREADABLE, true, w->sid, w->pasid, tbl, tbl,
                "%s table at 0x%llx is outside the image", lvl_name(fl, level),
                (unsigned long long)tbl);
        return;
    }
    w->path_tbl[level] = tbl;
    const uint64_t span = 1ULL << (12 + 9 * (level - 1));
    for (unsigned i = 0; i < 512 && !*w->stop; i++) {
        if (over(c)) {
            *w->stop = true;
            return;
        }
        uint64_t ea = tbl + 8 * i, e = rd64(c, ea);
        uint64_t iova = base + (uint64_t)i * span;
        bool present = fl ? (e & FL_P) != 0 : (e & (VTD_SL_R | VTD_SL_W)) != 0;
        if (!present)
            continue;
        uint8_t p;
        if (fl)
            p = (uint8_t)(VTD_R | ((e & FL_RW) ? VTD_W : 0) | ((e & FL_XD) ? 0 : VTD_X) |
                          ((e & FL_US) ? AUDIT_U : 0));
        else
            p = (uint8_t)(e & (VTD_SL_R | VTD_SL_W | VTD_SL_X));
        p &= perm;
        bool ps = (e & VTD_SL_PS) != 0; /* bit 7 in both formats */
        bool leaf = level == 1 || (ps && (level == 2 || level == 3));
        /* reserved bits (§9.7 Tables 34-40, §9.8 Tables 41-47) */
        uint64_t rsvd = 0;
        if (fl) {
            rsvd = c->haw < 52 ? e & VTD_GENMASK(51, c->haw) : 0;
            if (ps && level >= 4)
                rsvd |= FL_PS;
            if (ps && level == 3 && !(cap & VTD_CAP_FL1GP))
                rsvd |= FL_PS;
            if (leaf && level == 3 && (cap & VTD_CAP_FL1GP))
                rsvd |= e & VTD_GENMASK(29, 13);
            if (leaf && level == 2)
                rsvd |= e & VTD_GENMASK(20, 13);
        } else {
            rsvd = e & above_haw(c) & VTD_GENMASK(51, 0);
            if (ps && level >= 4)
                rsvd |= VTD_SL_PS;
            if (ps && level == 2 && !(cap & VTD_CAP_SLLPS_2M))
                rsvd |= VTD_SL_PS;
            if (ps && level == 3 && !(cap & VTD_CAP_SLLPS_1G))
                rsvd |= VTD_SL_PS;
            if (!leaf)
                rsvd |= e & VTD_SL_SNP;
            else if (!(ecap & VTD_ECAP_SC))
                rsvd |= e & VTD_SL_SNP;
            if (leaf && level == 2 && (cap & VTD_CAP_SLLPS_2M))
                rsvd |= e & VTD_GENMASK(20, 12);
            if (leaf && level == 3 && (cap & VTD_CAP_SLLPS_1G))
                rsvd |= e & VTD_GENMASK(29, 12);
            if (e & VTD_SL_TM && (!leaf || !(ecap & VTD_ECAP_DT)))
                rsvd |= VTD_SL_TM;
        }
        if (rsvd) {
            anomaly(c, AUDIT_A_RESERVED, true, w->sid, w->pasid, ea, ea,
                    "%s entry %u at 0x%llx = 0x%016llx: reserved bits 0x%llx set (the unit faults)",
                    lvl_name(fl, level), i, (unsigned long long)ea, (unsigned long long)e,
                    (unsigned long long)rsvd);
            continue;
        }
        w->path[level] = e;
        if (leaf) {
            uint64_t out = e & addr_mask(c) & ~(span - 1);
            w->leaf(w->arg, iova, out, span, p, w->path);
        } else {
            uint64_t next = e & addr_mask(c);
            if (w->sl) {
                uint64_t gpa = next;
                if (!sl_lookup(w->sl, gpa, &next)) {
                    anomaly(c, AUDIT_A_UNREADABLE, true, w->sid, w->pasid, ea, gpa,
                            "nested: %s table GPA 0x%llx (entry 0x%llx) has no readable "
                            "second-level mapping",
                            lvl_name(fl, level - 1), (unsigned long long)gpa,
                            (unsigned long long)ea);
                    w->path[level] = 0;
                    continue;
                }
            }
            bool loop = false;
            for (int l = level; l <= w->levels; l++)
                if (w->path_tbl[l] == next)
                    loop = true;
            if (loop) {
                anomaly(c, AUDIT_A_LOOP, true, w->sid, w->pasid, ea, next,
                        "%s entry at 0x%llx points back to table 0x%llx on its own walk path",
                        lvl_name(fl, level), (unsigned long long)ea, (unsigned long long)next);
            } else {
                if (!c->quiet && seen_insert(w, next))
                    anomaly(c, AUDIT_A_SHARED_TABLE, true, w->sid, w->pasid, ea, next,
                            "%s table 0x%llx is referenced again from 0x%llx",
                            lvl_name(fl, level - 1), (unsigned long long)next,
                            (unsigned long long)ea);
                else
                    add_table(c, next, 4096, fl ? AUDIT_T_FL : AUDIT_T_SL, true, w->sid, w->pasid);
                pt_level(w, next, level - 1, iova, p);
                w->path_tbl[level - 1] = 0;
            }
        }
        w->path[level] = 0;
    }
}

/* Walk a table tree from root (an HPA, or for nested a GPA translated via sl). */
static bool pt_walk(struct ctx *c, bool fl, int levels, uint64_t root, const struct audit_space *sl,
                    uint16_t sid, uint32_t pasid, leaf_fn leaf, void *arg)
{
    bool stop = false;
    struct ptw w = {.c = c, .fl = fl, .levels = levels, .sid = sid, .pasid = pasid, .sl = sl,
                    .leaf = leaf, .arg = arg, .stop = &stop};
    uint64_t top = root;
    if (sl && !sl_lookup(sl, root, &top)) {
        anomaly(c, AUDIT_A_UNREADABLE, true, sid, pasid, root, root,
                "nested: first-level root GPA 0x%llx has no readable second-level mapping",
                (unsigned long long)root);
        return false;
    }
    add_table(c, top, 4096, fl ? AUDIT_T_FL : AUDIT_T_SL, true, sid, pasid);
    if (!c->quiet)
        seen_insert(&w, top);
    pt_level(&w, top, levels, 0, VTD_R | VTD_W | VTD_X | AUDIT_U);
    free(w.seen);
    return stop;
}

static uint64_t canonical(uint64_t va, int levels)
{
    int bits = 12 + 9 * levels;
    if (bits < 64 && (va >> (bits - 1)) & 1)
        va |= ~0ULL << bits;
    return va;
}

/* ---- spaces ---- */

static void add_range(struct ctx *c, struct audit_space *sp, uint64_t iova, uint64_t pa,
                      uint64_t size, uint8_t perm)
{
    if (sp->nr) {
        struct audit_range *l = &sp->r[sp->nr - 1];
        if (l->perm == perm && l->iova + l->size == iova && l->pa + l->size == pa) {
            l->size += size;
            return;
        }
    }
    if (!grow(c, (void **)&sp->r, &sp->cap, sp->nr, sizeof *sp->r))
        return;
    sp->r[sp->nr++] = (struct audit_range){.iova = iova, .pa = pa, .size = size, .perm = perm};
}

struct collect {
    struct ctx *c;
    struct audit_space *sp;
    const struct audit_space *sl; /* nested: compose with this */
    int fl_levels;                /* FL: canonicalise IOVAs */
};

static void on_leaf(void *arg, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm,
                    const uint64_t *path)
{
    (void)path;
    struct collect *k = arg;
    if (k->fl_levels)
        iova = canonical(iova, k->fl_levels);
    if (!k->sl) {
        add_range(k->c, k->sp, iova, pa, size, perm);
        return;
    }
    /* nested: the FL output is a GPA; map [pa, pa+size) through the SL ranges */
    const struct audit_space *sl = k->sl;
    size_t lo = 0, hi = sl->nr;
    while (lo < hi) { /* first range ending above pa */
        size_t mid = lo + (hi - lo) / 2;
        if (sl->r[mid].iova + sl->r[mid].size <= pa)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < sl->nr && sl->r[i].iova < pa + size; i++) {
        const struct audit_range *r = &sl->r[i];
        uint64_t s = r->iova > pa ? r->iova : pa;
        uint64_t e = r->iova + r->size < pa + size ? r->iova + r->size : pa + size;
        uint8_t p = (uint8_t)(perm & (r->perm | AUDIT_U));
        if (p & (VTD_R | VTD_W))
            add_range(k->c, k->sp, iova + (s - pa), r->pa + (s - r->iova), e - s, p);
    }
}

/* The space for these tables: reuse one already walked, else walk now. */
static int get_space(struct ctx *c, int tt, int levels, uint64_t root, int fl_levels,
                     uint64_t fl_root, uint16_t sid, uint32_t pasid)
{
    struct audit_report *r = c->rep;
    for (size_t i = 0; i < r->nspace; i++) {
        struct audit_space *s = &r->space[i];
        if (s->tt == tt && s->levels == levels && s->root == root && s->fl_levels == fl_levels &&
            s->fl_root == fl_root)
            return (int)i;
    }
    int sl_idx = -1;
    if (tt == AUDIT_TT_NESTED) {
        sl_idx = get_space(c, AUDIT_TT_SL, levels, root, 0, 0, sid, pasid);
        if (sl_idx < 0)
            return -1;
    }
    if (!grow(c, (void **)&r->space, &r->spacecap, r->nspace, sizeof *r->space))
        return -1;
    int idx = (int)r->nspace++;
    r->space[idx] = (struct audit_space){.tt = (uint8_t)tt, .levels = (uint8_t)levels,
                                         .root = root, .fl_levels = (uint8_t)fl_levels,
                                         .fl_root = fl_root};
    struct collect k = {.c = c};
    bool trunc;
    if (tt == AUDIT_TT_SL) {
        k.sp = &r->space[idx];
        trunc = pt_walk(c, false, levels, root, NULL, sid, pasid, on_leaf, &k);
    } else {
        /* walk into a local space first: r->space may move when the walk
           itself adds spaces (it does not today, but keep pointers honest) */
        struct audit_space tmp = r->space[idx];
        k.sp = &tmp;
        k.fl_levels = tt == AUDIT_TT_NESTED ? fl_levels : levels;
        k.sl = sl_idx >= 0 ? &r->space[sl_idx] : NULL;
        trunc = pt_walk(c, true, k.fl_levels, tt == AUDIT_TT_NESTED ? fl_root : root, k.sl, sid,
                        pasid, on_leaf, &k);
        r->space[idx] = tmp;
    }
    if (trunc)
        r->space[idx].truncated = true;
    return idx;
}

static struct audit_dev *add_dev(struct ctx *c, uint16_t sid, uint32_t pasid)
{
    struct audit_report *r = c->rep;
    if (!grow(c, (void **)&r->dev, &r->devcap, r->ndev, sizeof *r->dev))
        return NULL;
    struct audit_dev *d = &r->dev[r->ndev++];
    memset(d, 0, sizeof *d);
    d->sid = sid;
    d->pasid = pasid;
    d->space = -1;
    return d;
}

static int sagaw_levels(const struct ctx *c, unsigned aw)
{
    if (aw < 1 || aw > 3)
        return 0;
    if (!(c->regs->cap & VTD_BIT(VTD_CAP_SAGAW_SHIFT + aw)))
        return 0;
    return (int)aw + 2;
}

static void blocked(struct ctx *c, struct audit_dev *d, uint64_t ea, const char *why)
{
    d->tt = AUDIT_TT_BLOCKED;
    d->why = why;
    anomaly(c, AUDIT_A_RESERVED, true, d->sid, d->pasid, ea, ea, "entry at 0x%llx: %s",
            (unsigned long long)ea, why);
}

/* ---- legacy mode ---- */

static void legacy_ctx(struct ctx *c, uint16_t bus, uint64_t rlo, uint64_t rhi, uint64_t ctp)
{
    uint64_t ecap = c->regs->ecap;
    unsigned nd = (unsigned)(c->regs->cap & VTD_CAP_ND_MASK);
    unsigned did_bits = 4 + 2 * nd;
    for (unsigned devfn = 0; devfn < 256 && !over(c) && !c->oom; devfn++) {
        uint64_t ea = ctp + 16 * devfn;
        uint64_t lo = rd64(c, ea), hi = rd64(c, ea + 8);
        if (!(lo & VTD_CTX_LO_P))
            continue;
        uint16_t sid = (uint16_t)(bus << 8 | devfn);
        struct audit_dev *d = add_dev(c, sid, AUDIT_NO_PASID);
        if (!d)
            return;
        d->entry[0] = rlo;
        d->entry[1] = rhi;
        d->entry[2] = lo;
        d->entry[3] = hi;
        d->did = (uint16_t)((hi & VTD_CTX_HI_DID_MASK) >> VTD_CTX_HI_DID_SHIFT);
        d->fpd = (lo & VTD_CTX_LO_FPD) != 0;
        uint64_t rsvd_lo = lo & (VTD_CTX_LO_RSVD | above_haw(c));
        uint64_t rsvd_hi = hi & (VTD_CTX_HI_RSVD | VTD_CTX_HI_RSVD7);
        if (did_bits < 16)
            rsvd_hi |= hi & VTD_GENMASK(23, 8 + did_bits);
        if (rsvd_lo || rsvd_hi) {
            d->tt = AUDIT_TT_BLOCKED;
            d->why = "context entry reserved bits set";
            anomaly(c, AUDIT_A_RESERVED, true, sid, AUDIT_NO_PASID, ea, ea,
                    "context entry at 0x%llx = 0x%016llx:0x%016llx: reserved bits "
                    "0x%016llx:0x%016llx set (the unit faults)",
                    (unsigned long long)ea, (unsigned long long)hi, (unsigned long long)lo,
                    (unsigned long long)rsvd_hi, (unsigned long long)rsvd_lo);
            continue;
        }
        unsigned tt = (unsigned)((lo & VTD_CTX_LO_TT_MASK) >> VTD_CTX_LO_TT_SHIFT);
        if (tt == VTD_TT_RESERVED || (tt == VTD_TT_DEVTLB && !(ecap & VTD_ECAP_DT))) {
            blocked(c, d, ea, "context TT reserved (or 01 without ECAP.DT)");
            continue;
        }
        if (tt == VTD_TT_PASSTHROUGH) {
            if (!(ecap & VTD_ECAP_PT)) {
                blocked(c, d, ea, "context TT 10 (pass-through) without ECAP.PT");
                continue;
            }
            d->tt = AUDIT_TT_PT;
            continue;
        }
        int levels = sagaw_levels(c, (unsigned)(hi & VTD_CTX_HI_AW_MASK));
        if (!levels) {
            blocked(c, d, ea, "context AW not supported by CAP.SAGAW");
            continue;
        }
        d->tt = AUDIT_TT_SL;
        d->devtlb = tt == VTD_TT_DEVTLB;
        uint64_t slpt = lo & VTD_CTX_LO_SLPTPTR_MASK;
        int sp = get_space(c, AUDIT_TT_SL, levels, slpt, 0, 0, sid, AUDIT_NO_PASID);
        c->rep->dev[c->rep->ndev - 1].space = sp; /* d may have moved */
    }
}

/* ---- scalable mode ---- */

static void sm_pasid_entry(struct ctx *c, uint16_t sid, const uint64_t *dev_entry, uint32_t pasid,
                           uint64_t ea, const uint64_t *q, bool paside, uint32_t rid_pasid,
                           bool dte)
{
    uint64_t cap = c->regs->cap, ecap = c->regs->ecap;
    struct audit_dev *d = add_dev(c, sid, pasid);
    if (!d)
        return;
    memcpy(d->entry, dev_entry, sizeof d->entry);
    memcpy(d->pasid_entry, q, sizeof d->pasid_entry);
    d->rid_pasid = pasid == rid_pasid;
    d->did = (uint16_t)(q[1] & 0xFFFF);
    d->fpd = (q[0] & 2) != 0;
    d->devtlb = dte;
    if (!paside && !d->rid_pasid) {
        d->tt = AUDIT_TT_BLOCKED;
        d->why = "PASIDE=0 in the context entry: only RID_PASID is used";
        return;
    }
    unsigned nd = (unsigned)(cap & VTD_CAP_ND_MASK), did_bits = 4 + 2 * nd;
    uint64_t rs[8] = {
        q[0] & (PTE_Q0_RSVD | above_haw(c)),
        q[1] & (PTE_Q1_RSVD | (did_bits < 16 ? VTD_GENMASK(15, did_bits) : 0)),
        q[2] & (PTE_Q2_RSVD | above_haw(c)),
        q[3], q[4], q[5], q[6], q[7], /* 255:192 reserved; 511:256 HPT fields: reserved
                                         without ECAP.HPTS, which the audit does not decode */
    };
    for (int i = 0; i < 8; i++)
        if (rs[i]) {
            d->tt = AUDIT_TT_BLOCKED;
            d->why = "PASID-table entry reserved bits set";
            anomaly(c, AUDIT_A_RESERVED, true, sid, pasid, ea, ea,
                    "PASID-table entry at 0x%llx: reserved bits set in qword %d (0x%016llx)",
                    (unsigned long long)ea, i, (unsigned long long)rs[i]);
            return;
        }
    unsigned pgtt = (unsigned)PTE_Q0_PGTT(q[0]);
    int sl_levels = sagaw_levels(c, (unsigned)PTE_Q0_AW(q[0]));
    int fl_levels = PTE_Q2_FSPM(q[2]) == 0 ? 4 : (PTE_Q2_FSPM(q[2]) == 1 && (cap & VTD_CAP_FL5LP)) ? 5 : 0;
    uint64_t slpt = q[0] & addr_mask(c), flpt = q[2] & addr_mask(c);
    int tt, sp = -1;
    switch (pgtt) {
    case 1:
        if (!(ecap & VTD_ECAP_FLTS) || !fl_levels) {
            blocked(c, d, ea, "PGTT first-level without ECAP.FLTS, or FSPM reserved");
            return;
        }
        tt = AUDIT_TT_FL;
        break;
    case 2:
        if (!(ecap & VTD_ECAP_SLTS) || !sl_levels) {
            blocked(c, d, ea, "PGTT second-level without ECAP.SLTS, or AW not in CAP.SAGAW");
            return;
        }
        tt = AUDIT_TT_SL;
        break;
    case 3:
        if (!(ecap & VTD_ECAP_NEST) || !sl_levels || !fl_levels) {
            blocked(c, d, ea, "PGTT nested without ECAP.NEST, AW or FSPM invalid");
            return;
        }
        tt = AUDIT_TT_NESTED;
        break;
    case 4:
        if (!(ecap & VTD_ECAP_PT)) {
            blocked(c, d, ea, "PGTT pass-through without ECAP.PT");
            return;
        }
        d->tt = AUDIT_TT_PT;
        return;
    default:
        blocked(c, d, ea, "PGTT reserved");
        return;
    }
    d->tt = (uint8_t)tt;
    if (tt == AUDIT_TT_FL)
        sp = get_space(c, tt, fl_levels, flpt, 0, 0, sid, pasid);
    else if (tt == AUDIT_TT_SL)
        sp = get_space(c, tt, sl_levels, slpt, 0, 0, sid, pasid);
    else
        sp = get_space(c, tt, sl_levels, slpt, fl_levels, flpt, sid, pasid);
    c->rep->dev[c->rep->ndev - 1].space = sp;
}

static void sm_ctx(struct ctx *c, uint16_t bus, uint64_t rlo, uint64_t rhi, uint64_t ctp,
                   unsigned first_devfn)
{
    uint64_t ecap = c->regs->ecap;
    for (unsigned k = 0; k < 128 && !over(c) && !c->oom; k++) {
        unsigned devfn = first_devfn + k;
        uint64_t ea = ctp + 32 * k, q[4];
        for (int i = 0; i < 4; i++)
            q[i] = rd64(c, ea + 8 * (uint64_t)i);
        if (!(q[0] & 1))
            continue;
        uint16_t sid = (uint16_t)(bus << 8 | devfn);
        uint64_t dev_entry[8] = {rlo, rhi, q[0], q[1], q[2], q[3], 0, 0};
        uint64_t r0 = q[0] & (SMCTX_Q0_RSVD | above_haw(c));
        if (!(ecap & VTD_ECAP_DT))
            r0 |= q[0] & SMCTX_Q0_DTE;
        if (!(ecap & VTD_ECAP_PASID))
            r0 |= q[0] & SMCTX_Q0_PASIDE;
        if (!(ecap & VTD_ECAP_PRS))
            r0 |= q[0] & VTD_BIT(4);
        r0 |= q[0] & VTD_GENMASK(6, 5); /* HPTE, EPTR: reserved without HPTS / PTRS */
        uint64_t r1 = q[1] & SMCTX_Q1_RSVD;
        if (!(ecap & VTD_ECAP_RPS))
            r1 |= q[1] & SMCTX_Q1_RID_PASID;
        if (!(ecap & VTD_ECAP_RPRIVS))
            r1 |= q[1] & VTD_BIT(20);
        if (r0 || r1 || q[2] || q[3]) {
            struct audit_dev *d = add_dev(c, sid, AUDIT_NO_PASID);
            if (!d)
                return;
            memcpy(d->entry, dev_entry, sizeof d->entry);
            d->tt = AUDIT_TT_BLOCKED;
            d->why = "scalable-mode context entry reserved bits set";
            anomaly(c, AUDIT_A_RESERVED, true, sid, AUDIT_NO_PASID, ea, ea,
                    "scalable-mode context entry at 0x%llx: reserved bits set "
                    "(0x%016llx 0x%016llx 0x%016llx 0x%016llx)",
                    (unsigned long long)ea, (unsigned long long)r0, (unsigned long long)r1,
                    (unsigned long long)q[2], (unsigned long long)q[3]);
            continue;
        }
        bool paside = (q[0] & SMCTX_Q0_PASIDE) != 0, dte = (q[0] & SMCTX_Q0_DTE) != 0;
        uint32_t rid_pasid = (uint32_t)(q[1] & SMCTX_Q1_RID_PASID);
        uint64_t dir = q[0] & addr_mask(c);
        uint64_t ndir = 1ULL << (SMCTX_Q0_PDTS(q[0]) + 7);
        if (!in_image(c, dir, ndir * 8)) {
            struct audit_dev *d = add_dev(c, sid, AUDIT_NO_PASID);
            if (!d)
                return;
            memcpy(d->entry, dev_entry, sizeof d->entry);
            d->tt = AUDIT_TT_BLOCKED;
            d->why = "PASID directory outside the image";
            anomaly(c, AUDIT_A_UNREADABLE, true, sid, AUDIT_NO_PASID, ea, dir,
                    "PASID directory at 0x%llx (%llu entries) is outside the image",
                    (unsigned long long)dir, (unsigned long long)ndir);
            continue;
        }
        add_table(c, dir, ndir * 8, AUDIT_T_PASID_DIR, true, sid, AUDIT_NO_PASID);
        for (uint64_t di = 0; di < ndir && !over(c) && !c->oom; di++) {
            uint64_t dea = dir + 8 * di, de = rd64(c, dea);
            if (!(de & 1))
                continue;
            if (de & (PDE_RSVD | above_haw(c))) {
                anomaly(c, AUDIT_A_RESERVED, true, sid, (uint32_t)(di << 6), dea, dea,
                        "PASID directory entry %llu at 0x%llx = 0x%016llx: reserved bits set",
                        (unsigned long long)di, (unsigned long long)dea, (unsigned long long)de);
                continue;
            }
            uint64_t pt = de & addr_mask(c);
            if (!in_image(c, pt, 4096)) {
                anomaly(c, AUDIT_A_UNREADABLE, true, sid, (uint32_t)(di << 6), dea, pt,
                        "PASID table at 0x%llx (PASIDs 0x%llx-0x%llx) is outside the image",
                        (unsigned long long)pt, (unsigned long long)(di << 6),
                        (unsigned long long)(di << 6 | 63));
                continue;
            }
            add_table(c, pt, 4096, AUDIT_T_PASID_TABLE, true, sid, (uint32_t)(di << 6));
            for (unsigned ti = 0; ti < 64; ti++) {
                uint64_t pea = pt + 64 * ti, pq[8];
                for (int i = 0; i < 8; i++)
                    pq[i] = rd64(c, pea + 8 * (uint64_t)i);
                if (!(pq[0] & 1))
                    continue;
                sm_pasid_entry(c, sid, dev_entry, (uint32_t)(di << 6 | ti), pea, pq, paside,
                               rid_pasid, dte);
                if (c->oom)
                    return;
            }
        }
    }
}

/* ---- root table, IRT, checks ---- */

static void walk_root(struct ctx *c, const struct audit_opts *o)
{
    struct audit_report *r = c->rep;
    for (unsigned bus = 0; bus < 256 && !c->oom && !over(c); bus++) {
        if (o && o->progress)
            o->progress(o->progress_arg, bus, 256);
        uint64_t ea = r->root + 16 * bus;
        uint64_t lo = rd64(c, ea), hi = rd64(c, ea + 8);
        if (!r->sm) {
            if (!(lo & VTD_ROOT_LO_P))
                continue;
            if ((lo & (VTD_ROOT_LO_RSVD | above_haw(c))) || hi) {
                anomaly(c, AUDIT_A_RESERVED, false, (uint16_t)(bus << 8), AUDIT_NO_PASID, ea, ea,
                        "root entry %u at 0x%llx = 0x%016llx:0x%016llx: reserved bits set "
                        "(bus %02x blocked)",
                        bus, (unsigned long long)ea, (unsigned long long)hi,
                        (unsigned long long)lo, bus);
                continue;
            }
            uint64_t ctp = lo & VTD_ROOT_LO_CTP_MASK;
            if (!in_image(c, ctp, 4096)) {
                anomaly(c, AUDIT_A_UNREADABLE, false, (uint16_t)(bus << 8), AUDIT_NO_PASID, ea,
                        ctp, "context table of bus %02x at 0x%llx is outside the image", bus,
                        (unsigned long long)ctp);
                continue;
            }
            add_table(c, ctp, 4096, AUDIT_T_CONTEXT, false, 0, AUDIT_NO_PASID);
            legacy_ctx(c, (uint16_t)bus, lo, hi, ctp);
            continue;
        }
        /* scalable-mode root entry: lower half devfn 0-127, upper half 128-255 */
        for (int half = 0; half < 2; half++) {
            uint64_t e = half ? hi : lo;
            if (!(e & 1))
                continue;
            if (e & (SM_ROOT_RSVD | above_haw(c))) {
                anomaly(c, AUDIT_A_RESERVED, false, (uint16_t)(bus << 8), AUDIT_NO_PASID, ea, ea,
                        "scalable-mode root entry %u at 0x%llx: reserved bits set in the %s "
                        "half (0x%016llx)",
                        bus, (unsigned long long)ea, half ? "upper" : "lower",
                        (unsigned long long)e);
                continue;
            }
            uint64_t ctp = e & addr_mask(c);
            if (!in_image(c, ctp, 4096)) {
                anomaly(c, AUDIT_A_UNREADABLE, false, (uint16_t)(bus << 8), AUDIT_NO_PASID, ea,
                        ctp, "%s context table of bus %02x at 0x%llx is outside the image",
                        half ? "upper" : "lower", bus, (unsigned long long)ctp);
                continue;
            }
            add_table(c, ctp, 4096, AUDIT_T_CONTEXT, false, 0, AUDIT_NO_PASID);
            sm_ctx(c, (uint16_t)bus, lo, hi, ctp, half ? 128 : 0);
        }
    }
    if (o && o->progress)
        o->progress(o->progress_arg, 256, 256);
}

static void walk_irt(struct ctx *c)
{
    struct audit_report *r = c->rep;
    uint64_t irta = c->regs->irta, cap = c->regs->cap;
    r->irt = irta & VTD_GENMASK(63, 12);
    r->irt_entries = 2u << (irta & 0xF);
    r->eime = (irta & VTD_BIT(11)) != 0;
    uint64_t bytes = (uint64_t)r->irt_entries * 16;
    if (!in_image(c, r->irt, bytes)) {
        anomaly(c, AUDIT_A_UNREADABLE, false, 0, AUDIT_NO_PASID, r->irt, r->irt,
                "interrupt remapping table at 0x%llx (%u entries) is outside the image",
                (unsigned long long)r->irt, r->irt_entries);
        return;
    }
    add_table(c, r->irt, bytes, AUDIT_T_IRT, false, 0, AUDIT_NO_PASID);
    for (unsigned i = 0; i < r->irt_entries && !c->oom && !over(c); i++) {
        uint64_t ea = r->irt + 16ULL * i, lo = rd64(c, ea), hi = rd64(c, ea + 8);
        if (!(lo & VTD_IRTE_P))
            continue;
        bool posted = (lo & VTD_IRTE_IM) && (cap & VTD_CAP_PI);
        uint64_t rl, rh;
        if (posted) {
            rl = lo & VTD_IRTE_PI_RSVD_LO;
            rh = hi & VTD_IRTE_PI_HI_RSVD;
        } else {
            rl = lo & (VTD_IRTE_RSVD_LO | (r->eime ? 0 : VTD_IRTE_RSVD_LO_XAPIC));
            if (!(cap & VTD_CAP_PI))
                rl |= lo & VTD_IRTE_IM;
            rh = hi & VTD_IRTE_HI_RSVD;
        }
        if ((hi >> VTD_IRTE_HI_SVT_SHIFT & 3) == 3)
            rh |= 3ULL << VTD_IRTE_HI_SVT_SHIFT; /* SVT 11 reserved */
        if (!grow(c, (void **)&r->irte, &r->irtecap, r->nirte, sizeof *r->irte))
            return;
        r->irte[r->nirte++] = (struct audit_irte){.index = i, .lo = lo, .hi = hi,
                                                  .posted = posted, .rsvd = rl || rh};
        uint16_t sid = (uint16_t)(hi & VTD_IRTE_HI_SID_MASK);
        if (rl || rh)
            anomaly(c, AUDIT_A_RESERVED, false, sid, AUDIT_NO_PASID, ea, ea,
                    "IRTE %u at 0x%llx: reserved bits 0x%016llx:0x%016llx set (the unit "
                    "blocks it, fault 24h)",
                    i, (unsigned long long)ea, (unsigned long long)rh, (unsigned long long)rl);
        if (((hi >> VTD_IRTE_HI_SVT_SHIFT) & 3) == VTD_SVT_NONE)
            anomaly(c, AUDIT_A_IRTE, false, sid, AUDIT_NO_PASID, ea, ea,
                    "IRTE %u: SVT 00, no source-id check: any device can raise this interrupt",
                    i);
        if (posted) {
            uint64_t pda = (hi & VTD_GENMASK(63, 32)) | ((lo >> VTD_IRTE_PDAL_SHIFT) << 6);
            add_table(c, pda, 64, AUDIT_T_PID, false, 0, AUDIT_NO_PASID);
        }
    }
}

static int cmp_tbl(const void *a, const void *b)
{
    const struct audit_table *x = a, *y = b;
    return x->pa < y->pa ? -1 : x->pa > y->pa ? 1 : (int)x->kind - (int)y->kind;
}

static void dev_str(const struct audit_dev *d, char *b, size_t n)
{
    char s[8];
    sid_str(d->sid, s);
    if (d->pasid == AUDIT_NO_PASID)
        snprintf(b, n, "%s", s);
    else
        snprintf(b, n, "%s pasid %u", s, d->pasid);
}

static void owner_str(const struct audit_table *t, const struct audit_dev *d, char *b, size_t n)
{
    char s[8];
    if (!t->owned) {
        snprintf(b, n, "the unit's");
        return;
    }
    sid_str(t->sid, s);
    bool own = t->sid == d->sid;
    if (t->pasid == AUDIT_NO_PASID || t->kind == AUDIT_T_PASID_TABLE || t->kind == AUDIT_T_PASID_DIR)
        snprintf(b, n, own ? "its own" : "device %s", s);
    else
        snprintf(b, n, "%s (pasid %u)", own ? "its own" : s, t->pasid);
}

/* Writable ranges of every device against every structure found. */
static void check_writes(struct ctx *c)
{
    struct audit_report *r = c->rep;
    if (!r->ntbl)
        return;
    qsort(r->tbl, r->ntbl, sizeof *r->tbl, cmp_tbl);
    uint64_t maxsz = 0;
    for (size_t i = 0; i < r->ntbl; i++)
        if (r->tbl[i].size > maxsz)
            maxsz = r->tbl[i].size;
    for (size_t di = 0; di < r->ndev; di++) {
        const struct audit_dev *d = &r->dev[di];
        char ds[32], own[40];
        dev_str(d, ds, sizeof ds);
        if (d->tt == AUDIT_TT_PT) {
            anomaly(c, AUDIT_A_TABLE_WRITE, true, d->sid, d->pasid, 0, 0,
                    "pass-through: %s can write all memory, every translation structure "
                    "found (%zu) included", ds, r->ntbl);
            continue;
        }
        if (d->space < 0)
            continue;
        const struct audit_space *sp = &r->space[d->space];
        for (size_t ri = 0; ri < sp->nr; ri++) {
            const struct audit_range *rg = &sp->r[ri];
            if (!(rg->perm & VTD_W))
                continue;
            uint64_t a = rg->pa, b = rg->pa + rg->size; /* [a, b) */
            /* first table with pa >= a - maxsz */
            uint64_t from = a > maxsz ? a - maxsz : 0;
            size_t lo = 0, hi = r->ntbl;
            while (lo < hi) {
                size_t m = lo + (hi - lo) / 2;
                if (r->tbl[m].pa < from)
                    lo = m + 1;
                else
                    hi = m;
            }
            for (size_t ti = lo; ti < r->ntbl && r->tbl[ti].pa < b; ti++) {
                const struct audit_table *t = &r->tbl[ti];
                if (t->pa + t->size <= a)
                    continue;
                owner_str(t, d, own, sizeof own);
                uint64_t hit = t->pa > a ? t->pa : a;
                anomaly(c, AUDIT_A_TABLE_WRITE, true, d->sid, d->pasid, rg->iova + (hit - a),
                        t->pa, "%s can write %s %s at 0x%llx (IOVA 0x%llx)", ds, own,
                        audit_tkind_name(t->kind), (unsigned long long)t->pa,
                        (unsigned long long)(rg->iova + (hit - a)));
            }
        }
    }
}

static void check_ranges(struct ctx *c)
{
    struct audit_report *r = c->rep;
    size_t *first = calloc(r->nspace + 1, sizeof *first);
    int32_t *did_dev = malloc(65536 * sizeof *did_dev);
    if (!first || !did_dev) {
        free(first);
        free(did_dev);
        c->oom = true;
        return;
    }
    for (size_t i = 0; i < r->nspace; i++)
        first[i] = SIZE_MAX;
    for (size_t di = 0; di < r->ndev; di++)
        if (r->dev[di].space >= 0 && first[r->dev[di].space] == SIZE_MAX)
            first[r->dev[di].space] = di;
    for (size_t di = 0; di < r->ndev; di++) {
        const struct audit_dev *d = &r->dev[di];
        char ds[32];
        dev_str(d, ds, sizeof ds);
        if (d->tt == AUDIT_TT_PT)
            anomaly(c, AUDIT_A_PASSTHROUGH, true, d->sid, d->pasid, 0, 0,
                    "%s is pass-through: it reaches all physical memory", ds);
        /* DTE / TT 01 is a property of the context entry: once per source-id */
        if (d->devtlb && d->tt != AUDIT_TT_BLOCKED && (di == 0 || r->dev[di - 1].sid != d->sid))
            anomaly(c, AUDIT_A_DEVTLB, true, d->sid, d->pasid, 0, 0,
                    "%s may issue translated requests (TT 01 / DTE): those bypass remapping, "
                    "so it is trusted with all memory",
                    ds);
        if (d->space < 0)
            continue;
        /* report each space's ranges once, for the first device using it */
        if (first[d->space] != di)
            continue;
        const struct audit_space *sp = &r->space[d->space];
        for (size_t ri = 0; ri < sp->nr; ri++) {
            const struct audit_range *rg = &sp->r[ri];
            if (rg->iova < INTR_HI && rg->iova + rg->size > INTR_LO)
                anomaly(c, AUDIT_A_INTR_RANGE, true, d->sid, d->pasid, rg->iova, rg->pa,
                        "%s maps IOVA 0x%llx-0x%llx, overlapping the interrupt range "
                        "0xFEE00000-0xFEEFFFFF", ds, (unsigned long long)rg->iova,
                        (unsigned long long)(rg->iova + rg->size - 1));
            if (rg->pa < INTR_HI && rg->pa + rg->size > INTR_LO)
                anomaly(c, AUDIT_A_INTR_RANGE, true, d->sid, d->pasid, rg->iova, rg->pa,
                        "%s maps IOVA 0x%llx to physical 0x%llx-0x%llx in the interrupt range",
                        ds, (unsigned long long)rg->iova, (unsigned long long)rg->pa,
                        (unsigned long long)(rg->pa + rg->size - 1));
            if (rg->iova == rg->pa)
                anomaly(c, AUDIT_A_IDENTITY, true, d->sid, d->pasid, rg->iova, rg->pa,
                        "%s identity-maps 0x%llx-0x%llx (%s)", ds, (unsigned long long)rg->iova,
                        (unsigned long long)(rg->iova + rg->size - 1),
                        (rg->perm & VTD_W) ? "writable" : "read-only");
        }
    }
    /* one domain id naming different second-level tables (§9.3 DID, §9.6 DID) */
    for (size_t i = 0; i < 65536; i++)
        did_dev[i] = -1;
    for (size_t i = 0; i < r->ndev; i++) {
        const struct audit_dev *a = &r->dev[i];
        if (a->space < 0 || r->space[a->space].tt == AUDIT_TT_FL)
            continue;
        if (did_dev[a->did] < 0) {
            did_dev[a->did] = (int32_t)i;
            continue;
        }
        const struct audit_dev *b = &r->dev[did_dev[a->did]];
        if (r->space[b->space].root != r->space[a->space].root) {
            char as[32], bs[32];
            dev_str(a, as, sizeof as);
            dev_str(b, bs, sizeof bs);
            anomaly(c, AUDIT_A_DID_CONFLICT, true, a->sid, a->pasid, r->space[a->space].root,
                    r->space[b->space].root,
                    "domain %u: %s uses second-level tables 0x%llx, %s uses 0x%llx (one "
                    "domain id must name one table)",
                    a->did, as, (unsigned long long)r->space[a->space].root, bs,
                    (unsigned long long)r->space[b->space].root);
        }
    }
    free(first);
    free(did_dev);
}

int audit_run(const struct audit_image *img, const struct audit_regs *regs,
              const struct audit_opts *opts, struct audit_report *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    struct ctx c = {.img = img, .regs = regs, .rep = rep, .haw = regs->haw ? regs->haw : 52,
                    .budget = opts && opts->max_entries ? opts->max_entries : DEFAULT_BUDGET,
                    .max_an = opts && opts->max_anomalies ? opts->max_anomalies : DEFAULT_MAX_AN};
    if (c.haw > 52)
        c.haw = 52;
    rep->te = (regs->gsts & VTD_GSTS_TES) != 0;
    rep->ir = (regs->gsts & VTD_GSTS_IRES) != 0;
    unsigned ttm = (unsigned)((regs->rtaddr & VTD_RTADDR_TTM_MASK) >> VTD_RTADDR_TTM_SHIFT);
    rep->sm = ttm == VTD_TTM_SCALABLE;
    rep->abort_dma = ttm == VTD_TTM_ABORT_DMA;
    rep->root = regs->rtaddr & VTD_RTADDR_RTA_MASK;
    if (!rep->te) {
        anomaly(&c, AUDIT_A_PASSTHROUGH, false, 0, AUDIT_NO_PASID, 0, 0,
                "DMA remapping is off (GSTS.TES=0): every device reaches all physical memory");
    } else if (ttm == VTD_TTM_RESERVED || (rep->sm && !(regs->ecap & VTD_ECAP_SMTS)) ||
               (rep->abort_dma && !(regs->ecap & VTD_ECAP_ADMS))) {
        anomaly(&c, AUDIT_A_RESERVED, false, 0, AUDIT_NO_PASID, regs->rtaddr, 0,
                "RTADDR.TTM %u is not supported by this unit: every request faults (30h)", ttm);
    } else if (!rep->abort_dma) {
        if (!in_image(&c, rep->root, 4096)) {
            snprintf(err, errlen,
                     "root table at 0x%llx (RTADDR) is outside the image [0x%llx, 0x%llx): "
                     "truncated image or wrong --base",
                     (unsigned long long)rep->root, (unsigned long long)img->base,
                     (unsigned long long)(img->base + img->size));
            return -1;
        }
        add_table(&c, rep->root, 4096, AUDIT_T_ROOT, false, 0, AUDIT_NO_PASID);
        walk_root(&c, opts);
    }
    if (regs->irta || rep->ir)
        walk_irt(&c);
    if (regs->iqa || (regs->gsts & VTD_GSTS_QIES)) {
        uint64_t iq = regs->iqa & VTD_GENMASK(63, 12);
        add_table(&c, iq, 4096ULL << (regs->iqa & 7), AUDIT_T_IQ, false, 0, AUDIT_NO_PASID);
    }
    check_writes(&c);
    check_ranges(&c);
    if (c.oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void audit_report_free(struct audit_report *rep)
{
    for (size_t i = 0; i < rep->nspace; i++)
        free(rep->space[i].r);
    free(rep->space);
    free(rep->dev);
    free(rep->an);
    free(rep->tbl);
    free(rep->irte);
    memset(rep, 0, sizeof *rep);
}

/* ---- debugfs domain_translation_struct leaves ---- */

struct dbg {
    FILE *f;
};

static void on_dbg_leaf(void *arg, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm,
                        const uint64_t *path)
{
    (void)pa;
    (void)size;
    (void)perm;
    struct dbg *d = arg;
    fprintf(d->f, "0x%013llx |\t0x%016llx\t0x%016llx\t0x%016llx\t0x%016llx\t0x%016llx\n",
            (unsigned long long)(iova >> 12), (unsigned long long)path[5],
            (unsigned long long)path[4], (unsigned long long)path[3], (unsigned long long)path[2],
            (unsigned long long)path[1]);
}

void audit_print_domain_leaves(FILE *f, const struct audit_image *img, const struct audit_regs *regs,
                               const struct audit_space *sp)
{
    struct audit_report scratch;
    memset(&scratch, 0, sizeof scratch);
    struct ctx c = {.img = img, .regs = regs, .rep = &scratch, .haw = regs->haw ? regs->haw : 52,
                    .budget = DEFAULT_BUDGET, .max_an = 1, .quiet = true};
    if (c.haw > 52)
        c.haw = 52;
    struct dbg d = {.f = f};
    /* Linux walks the domain's own page table: SL tables for SL/nested
       domains, FL tables for first-level ones */
    if (sp->tt == AUDIT_TT_FL)
        pt_walk(&c, true, sp->levels, sp->root, NULL, 0, AUDIT_NO_PASID, on_dbg_leaf, &d);
    else
        pt_walk(&c, false, sp->levels, sp->root, NULL, 0, AUDIT_NO_PASID, on_dbg_leaf, &d);
    audit_report_free(&scratch);
}

/* ---- names ---- */

const char *audit_tt_name(int tt)
{
    static const char *const n[] = {"second-level", "first-level", "nested", "pass-through",
                                    "translation-off", "blocked"};
    return tt >= 0 && tt <= AUDIT_TT_BLOCKED ? n[tt] : "?";
}

const char *audit_akind_name(int kind)
{
    static const char *const n[] = {"table-write", "interrupt-range", "identity-map", "reserved-bits",
                                    "unreadable", "loop", "shared-table", "domain-id-conflict",
                                    "pass-through", "device-tlb", "truncated", "irte"};
    return kind >= 0 && kind < AUDIT_A_KIND_MAX ? n[kind] : "?";
}

const char *audit_tkind_name(int kind)
{
    static const char *const n[] = {"root table", "context table", "PASID directory",
                                    "PASID table", "second-level page table",
                                    "first-level page table", "interrupt remapping table",
                                    "invalidation queue", "posted-interrupt descriptor"};
    return kind >= 0 && kind < AUDIT_T_KIND_MAX ? n[kind] : "?";
}

const char *audit_perm_str(uint8_t perm, bool fl, char *buf)
{
    buf[0] = (perm & VTD_R) ? 'R' : '-';
    buf[1] = (perm & VTD_W) ? 'W' : '-';
    buf[2] = (perm & VTD_X) ? 'X' : '-';
    buf[3] = fl ? ((perm & AUDIT_U) ? 'U' : 'S') : 0;
    buf[4] = 0;
    return buf;
}
