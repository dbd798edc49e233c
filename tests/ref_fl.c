/* SPDX-License-Identifier: MIT */
/* Reference first-level / nested walk (ref_fl.h). */
#include "ref_fl.h"

#include <string.h>

#include <vtd/defs.h>
#include <vtd/regs.h>

#define BIT(n) (1ULL << (n))
#define MASK(h, l) ((~0ULL >> (63 - (h))) & ~((1ULL << (l)) - 1))

struct ctx {
    const struct ref_fl *c;
    struct vtd_mem *mem;
    struct ref_fl_upd *upd;
    bool snoop;
};

static void add(struct ctx *x, uint64_t pa, uint64_t bits)
{
    if (x->upd->n < REF_FL_MAX_UPD) {
        x->upd->u[x->upd->n].pa = pa;
        x->upd->u[x->upd->n].bits = bits;
        x->upd->n++;
    }
}

static bool rd(struct ctx *x, uint64_t pa, uint64_t *v) { return vtd_mem_read(x->mem, pa, v, 8) == 0; }

/* second-level reserved bits of a present entry at level l */
static uint64_t sl_rsvd(const struct ref_fl *c, unsigned l, bool leaf)
{
    uint64_t r = MASK(51, c->haw < 52 ? c->haw : 52) & MASK(51, 12);
    if (c->haw >= 52)
        r = 0;
    if (!leaf)
        return r | BIT(11) | BIT(62) | (l >= 4 ? BIT(7) : 0);
    if (!(c->ecap & VTD_ECAP_SC))
        r |= BIT(11);
    if (!(c->ecap & VTD_ECAP_DT))
        r |= BIT(62);
    if (l == 2)
        r |= MASK(20, 12) | ((c->cap & VTD_CAP_SLLPS_2M) ? 0 : BIT(7));
    if (l == 3)
        r |= MASK(29, 12) | ((c->cap & VTD_CAP_SLLPS_1G) ? 0 : BIT(7));
    return r;
}

struct slr {
    uint64_t hpa, size, leaf;
    unsigned perm;
};

/* gpa through the second level; top: FSPTPTR */
static int sl(struct ctx *x, uint64_t gpa, bool top, struct slr *o)
{
    const struct ref_fl *c = x->c;
    unsigned width = 30 + 9 * c->aw;
    if (width > c->mgaw)
        width = c->mgaw;
    if (width < 64 && (gpa >> width))
        return top ? 0x5B : 0x74;
    unsigned levels = c->aw + 2, perm = 3;
    uint64_t table = c->slptptr & MASK(51, 12);
    for (unsigned l = levels; l >= 1; l--) {
        unsigned sh = 12 + 9 * (l - 1);
        uint64_t pa = table + ((gpa >> sh) & 511) * 8, e;
        if (!rd(x, pa, &e))
            return l == levels ? 0x7B : 0x78;
        if (!(e & 3))
            return 0x79;
        bool leaf = l == 1 || (l <= 3 && (e & BIT(7)));
        if (e & sl_rsvd(c, l, leaf))
            return 0x7A;
        perm &= (unsigned)(e & 3);
        if (!perm)
            return 0x79; /* before A: only a validated entry gets A */
        if (c->ssade && !(e & BIT(8))) {
            if (!x->snoop)
                return 0x7C;
            add(x, pa, BIT(8));
        }
        if (leaf) {
            o->size = 1ULL << sh;
            o->hpa = (e & MASK(51, 12) & ~(o->size - 1)) | (gpa & (o->size - 1));
            o->perm = perm;
            o->leaf = pa;
            return 0;
        }
        table = e & MASK(51, 12);
    }
    return 0x79; /* not reached */
}

static uint64_t fl_rsvd(const struct ref_fl *c, unsigned l, uint64_t e)
{
    uint64_t r = c->haw < 52 ? MASK(51, c->haw) : 0;
    bool ps = e & BIT(7);
    if (l == 5 || l == 4)
        return r | BIT(7);
    if (l == 3 && ps)
        return r | ((c->cap & VTD_CAP_FL1GP) ? MASK(29, 13) : BIT(7));
    if (l == 2 && ps)
        return r | MASK(20, 13);
    return r;
}

static void out(struct vtd_result *res, int st, unsigned fr, uint64_t pa, uint64_t size, unsigned perm)
{
    memset(res, 0, sizeof(*res));
    res->status = st;
    res->fault_reason = (uint8_t)fr;
    res->pa = pa;
    res->page_size = size;
    res->perm = (uint8_t)perm;
}

void ref_fl_translate(const struct ref_fl *c, struct vtd_mem *mem, const struct vtd_request *req,
                      struct vtd_result *res, struct ref_fl_upd *upd)
{
    struct ctx x = {.c = c, .mem = mem, .upd = upd,
                    .snoop = c->pwsnp && (c->ecap & VTD_ECAP_SMPWCS)};
    upd->n = 0;
    const uint64_t va = req->addr;
    unsigned n = c->levels == 5 ? 57 : 48;
    uint64_t top = va >> (n - 1);
    /* the PASID-table entry's SPT.6 comes before first-level translation */
    if (req->priv && !c->sre)
        return out(res, VTD_FAULT, 0x5D, 0, 0, 0);
    if (top != 0 && top != (~0ULL >> (n - 1)))
        return out(res, VTD_FAULT, 0x80, 0, 0, 0);
    const bool wr = req->access & VTD_W, rdq = req->access & (VTD_R | VTD_X);
    const uint64_t ea = (c->eafe && (c->ecap & VTD_ECAP_EAFS)) ? BIT(10) : 0;
    uint64_t table = c->flptptr & MASK(51, 12);
    bool rw = true, us = true;
    unsigned width = 30 + 9 * c->aw;
    if (width > c->mgaw)
        width = c->mgaw;
    for (unsigned l = c->levels; l >= 1; l--) {
        const bool first = l == c->levels;
        uint64_t hpa = table;
        struct slr ts = {.perm = 3};
        if (c->nested) {
            int r = sl(&x, table, first, &ts);
            if (r)
                return out(res, VTD_FAULT, (unsigned)r, 0, 0, 0);
            unsigned need = c->ssade ? 3 : 1;
            if ((ts.perm & need) != need)
                return out(res, VTD_FAULT, first ? 0x75 : 0x76, 0, 0, 0);
            hpa = ts.hpa;
        }
        unsigned sh = 12 + 9 * (l - 1);
        uint64_t pa = hpa + ((va >> sh) & 511) * 8, e;
        if (!rd(&x, pa, &e))
            return out(res, VTD_FAULT, first ? 0x73 : 0x70, 0, 0, 0);
        if (!(e & 1))
            return out(res, VTD_FAULT, 0x71, 0, 0, 0);
        if (e & fl_rsvd(c, l, e))
            return out(res, VTD_FAULT, 0x72, 0, 0, 0);
        bool leaf = l == 1 || (e & BIT(7));
        uint64_t size = 1ULL << sh;
        uint64_t next = e & MASK(51, 12) & (leaf ? ~(size - 1) : ~0ULL);
        if (c->nested && (next >> width))
            return out(res, VTD_FAULT, 0x74, 0, 0, 0);
        rw = rw && (e & 2);
        us = us && (e & 4);
        uint64_t bits = BIT(5) | ea;
        unsigned perm = 3;
        struct slr fs = {.perm = 3, .size = size};
        if (leaf) {
            /* §3.6.1 */
            unsigned flp;
            if (req->priv)
                flp = 1 | ((rw || !c->wpe) ? 2 : 0);
            else
                flp = us ? (1 | (rw ? 2 : 0)) : 0;
            if (!flp)
                return out(res, VTD_FAULT, 0x81, 0, 0, 0);
            if (wr && !(flp & 2))
                return out(res, VTD_FAULT, 0x85, 0, 0, 0);
            if (c->nested) {
                int r = sl(&x, next | (va & (size - 1)), false, &fs);
                if (r)
                    return out(res, VTD_FAULT, (unsigned)r, 0, 0, 0);
                if (rdq && !(fs.perm & 1))
                    return out(res, VTD_FAULT, 0x86, 0, 0, 0);
                if (wr && !(fs.perm & 2))
                    return out(res, VTD_FAULT, 0x85, 0, 0, 0);
            }
            perm = flp & fs.perm;
            if (wr)
                bits |= BIT(6);
        }
        if ((e & bits) != bits) {
            if (c->nested && !(ts.perm & 2))
                return out(res, VTD_FAULT, 0x77, 0, 0, 0);
            if (!x.snoop)
                return out(res, VTD_FAULT, 0x90, 0, 0, 0);
            add(&x, pa, bits);
            if (c->nested && c->ssade)
                add(&x, ts.leaf, BIT(8) | BIT(9));
        }
        if (leaf) {
            if (c->nested && c->ssade && wr) {
                /* D on the second-level leaf of the page written (A was
                 * listed by the walk); needed only when clear */
                uint64_t sv;
                if (!rd(&x, fs.leaf, &sv))
                    return out(res, VTD_FAULT, 0x7D, 0, 0, 0);
                if (!(sv & BIT(9))) {
                    if (!x.snoop)
                        return out(res, VTD_FAULT, 0x7C, 0, 0, 0);
                    add(&x, fs.leaf, BIT(8) | BIT(9));
                }
            }
            uint64_t es = fs.size < size ? fs.size : size;
            uint64_t o = c->nested ? fs.hpa : next | (va & (size - 1));
            return out(res, VTD_OK, 0, o, es, perm);
        }
        table = next;
    }
}
