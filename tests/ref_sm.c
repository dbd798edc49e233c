/* SPDX-License-Identifier: MIT */
/* Reference scalable-mode walk (ref_sm.h). */
#include "ref_sm.h"

#include <string.h>

#include <vtd/defs.h>
#include <vtd/regs.h>

#define BIT(n) (1ULL << (n))
#define MASK(h, l) ((~0ULL >> (63 - (h))) & ~((1ULL << (l)) - 1))

static bool rd(struct vtd_mem *m, uint64_t pa, void *v, size_t n) { return vtd_mem_read(m, pa, v, n) == 0; }

/* bits at and above haw of an address field 63:12 */
static uint64_t above_haw(unsigned haw) { return haw >= 64 ? 0 : MASK(63, haw); }

static void fault(struct ref_sm_out *o, unsigned fr, bool qualified, bool fpd)
{
    memset(&o->res, 0, sizeof(o->res));
    o->res.status = VTD_FAULT;
    o->res.fault_reason = (uint8_t)fr;
    o->recorded = !(qualified && fpd);
}

static void done(struct ref_sm_out *o, uint64_t pa, uint64_t size, unsigned perm)
{
    memset(&o->res, 0, sizeof(o->res));
    o->res.status = VTD_OK;
    o->res.pa = pa;
    o->res.page_size = size;
    o->res.perm = (uint8_t)perm;
    o->recorded = false;
}

static bool has(const struct ref_sm *c, uint64_t ecap_bit) { return (c->ecap & ecap_bit) != 0; }

/* second-level entry reserved bits (model.md "Translation (legacy mode)"),
 * entry at level l, leaf or not */
static uint64_t sl_rsvd(const struct ref_sm *c, unsigned l, bool leaf)
{
    uint64_t r = c->haw < 52 ? MASK(51, c->haw) : 0;
    if (!leaf)
        return r | BIT(11) | BIT(62) | (l >= 4 ? BIT(7) : 0);
    if (!has(c, VTD_ECAP_SC))
        r |= BIT(11);
    if (!has(c, VTD_ECAP_DT))
        r |= BIT(62);
    if (l == 2)
        r |= MASK(20, 12);
    if (l == 3)
        r |= MASK(29, 12);
    return r;
}

static void add(struct ref_sm_out *o, uint64_t pa, uint64_t bits)
{
    if (o->upd.n < REF_FL_MAX_UPD) {
        o->upd.u[o->upd.n].pa = pa;
        o->upd.u[o->upd.n].bits = bits;
        o->upd.n++;
    }
}

static bool in_intr(uint64_t a) { return a >= 0xFEE00000ULL && a <= 0xFEEFFFFFULL; }

/* PGTT 010 (model.md step 11 and "A/D with SSADE") */
static void sl_translate(const struct ref_sm *c, struct vtd_mem *mem, const struct vtd_request *req,
                         const uint64_t pe[8], bool fpd, struct ref_sm_out *o)
{
    const unsigned aw = (unsigned)((pe[0] >> 2) & 7), mgaw = (unsigned)((c->cap >> 16) & 0x3F) + 1;
    unsigned width = 30 + 9 * aw;
    if (width > mgaw)
        width = mgaw;
    const uint64_t addr = req->addr;
    if (addr >> width)
        return fault(o, 0x84, true, fpd);
    const bool ssade = pe[0] & BIT(9);
    const bool snoop = has(c, VTD_ECAP_SMPWCS) && (pe[1] & BIT(23));
    const bool wr = req->access & VTD_W, rq = req->access & (VTD_R | VTD_X);
    uint64_t table = pe[0] & MASK(63, 12);
    unsigned cum = 3;
    for (unsigned l = aw + 2; l >= 1; l--) {
        const unsigned sh = 12 + 9 * (l - 1);
        uint64_t pa = table + ((addr >> sh) & 511) * 8, e;
        if (!rd(mem, pa, &e, 8))
            return fault(o, l == aw + 2 ? 0x7B : 0x78, true, fpd);
        if (!(e & 3))
            return fault(o, 0x79, true, fpd);
        cum &= (unsigned)(e & 3);
        if (!cum)
            return fault(o, 0x79, true, fpd);
        if (rq && !(cum & 1))
            return fault(o, 0x86, true, fpd);
        if (wr && !(cum & 2))
            return fault(o, 0x85, true, fpd);
        const bool ps_ok = (l == 2 && (c->cap & VTD_CAP_SLLPS_2M)) || (l == 3 && (c->cap & VTD_CAP_SLLPS_1G));
        if (l > 1 && (e & BIT(7)) && !ps_ok)
            return fault(o, 0x7A, true, fpd); /* PS where no superpage is supported */
        const bool leaf = l == 1 || (e & BIT(7));
        if (e & sl_rsvd(c, l, leaf))
            return fault(o, 0x7A, true, fpd);
        if (ssade) {
            uint64_t want = BIT(8) | ((leaf && wr && (cum & 2)) ? BIT(9) : 0);
            if ((e & want) != want) {
                if (!snoop)
                    return fault(o, 0x7C, true, fpd);
                add(o, pa, want);
            }
        }
        if (leaf) {
            const uint64_t size = 1ULL << sh, out = (e & MASK(51, 12) & ~(size - 1)) | (addr & (size - 1));
            if (in_intr(out))
                return fault(o, 0x87, true, fpd);
            return done(o, out, size, cum);
        }
        table = e & MASK(51, 12);
    }
}

/* PASID-table entry reserved bits (model.md step 6) */
static bool pe_rsvd(const struct ref_sm *c, const uint64_t pe[8])
{
    const bool slts = has(c, VTD_ECAP_SLTS), flts = has(c, VTD_ECAP_FLTS);
    const unsigned nd = (unsigned)(c->cap & 7), didbits = 4 + 2 * nd;
    uint64_t r0 = BIT(5) | MASK(11, 10) | (MASK(63, 12) & above_haw(c->haw));
    if (!slts)
        r0 |= MASK(4, 2) | MASK(63, 12);
    if (!(slts && has(c, VTD_ECAP_SLADS)))
        r0 |= BIT(9);
    uint64_t r1 = MASK(22, 16) | MASK(31, 27);
    if (!has(c, VTD_ECAP_SMPWCS))
        r1 |= BIT(23);
    if (!has(c, VTD_ECAP_SC))
        r1 |= BIT(24);
    if (!has(c, VTD_ECAP_MTS))
        r1 |= BIT(25) | BIT(26) | MASK(63, 32);
    if (didbits < 16)
        r1 |= MASK(15, didbits);
    uint64_t r2 = BIT(1) | MASK(11, 8) | (MASK(63, 12) & above_haw(c->haw));
    if (!has(c, VTD_ECAP_SRS))
        r2 |= BIT(0);
    if (!flts)
        r2 |= MASK(3, 2) | BIT(4) | MASK(63, 12);
    if (!(flts && has(c, VTD_ECAP_EAFS)))
        r2 |= BIT(7);
    return (pe[0] & r0) || (pe[1] & r1) || (pe[2] & r2) || pe[3] || pe[4] || pe[5] || pe[6] || pe[7];
}

/* 5Bh conditions */
static bool pe_invalid(const struct ref_sm *c, const uint64_t pe[8])
{
    const unsigned pgtt = (unsigned)((pe[0] >> 6) & 7), aw = (unsigned)((pe[0] >> 2) & 7);
    const unsigned fspm = (unsigned)((pe[2] >> 2) & 3);
    const unsigned sagaw = (unsigned)((c->cap >> 8) & 0x1F), mgaw = (unsigned)((c->cap >> 16) & 0x3F) + 1;
    switch (pgtt) {
    case 1: if (!has(c, VTD_ECAP_FLTS)) return true; break;
    case 2: if (!has(c, VTD_ECAP_SLTS)) return true; break;
    case 3: if (!has(c, VTD_ECAP_NEST)) return true; break;
    case 4: return !has(c, VTD_ECAP_PT);
    default: return true;
    }
    if ((pgtt == 2 || pgtt == 3) && (aw < 1 || aw > 3 || !(sagaw & (1u << aw))))
        return true;
    if ((pgtt == 1 || pgtt == 3) && (fspm > 1 || (fspm == 1 && !(c->cap & VTD_CAP_FL5LP))))
        return true;
    if (pgtt == 3) {
        unsigned width = 30 + 9 * aw;
        if (width > mgaw)
            width = mgaw;
        if ((pe[2] & MASK(63, 12)) >> width)
            return true;
    }
    return false;
}

void ref_sm_translate(const struct ref_sm *c, struct vtd_mem *mem, const struct vtd_request *req,
                      struct ref_sm_out *o)
{
    memset(o, 0, sizeof(*o));
    const unsigned bus = req->sid >> 8, devfn = req->sid & 0xFF;
    const unsigned major = (c->ver >> 4) & 0xF;
    if (req->pasid_valid && (req->access & VTD_X) && major >= 8)
        return fault(o, 0x34, false, false);
    /* root */
    uint64_t re[2];
    if (!rd(mem, c->rta + bus * 16, re, 16))
        return fault(o, 0x38, false, false);
    const uint64_t half = re[devfn >> 7];
    if (!(half & 1))
        return fault(o, 0x39, false, false);
    if ((half & MASK(11, 1)) || (half & MASK(63, 12) & above_haw(c->haw)))
        return fault(o, 0x3A, false, false);
    /* context */
    uint64_t ce[4];
    if (!rd(mem, (half & MASK(63, 12)) + (devfn & 0x7F) * 32, ce, 32))
        return fault(o, 0x40, false, false);
    bool fpd = ce[0] & BIT(1);
    if (!(ce[0] & 1))
        return fault(o, 0x41, true, fpd);
    uint64_t r0 = MASK(8, 7) | BIT(5) | BIT(6) | (has(c, VTD_ECAP_PRS) ? 0 : BIT(4)) |
                  (has(c, VTD_ECAP_DT) ? 0 : BIT(2)) | (has(c, VTD_ECAP_PASID) ? 0 : BIT(3)) |
                  (MASK(63, 12) & above_haw(c->haw));
    uint64_t r1 = MASK(63, 21) | (has(c, VTD_ECAP_RPS) ? 0 : MASK(19, 0)) | (has(c, VTD_ECAP_RPRIVS) ? 0 : BIT(20));
    if ((ce[0] & r0) || (ce[1] & r1) || ce[2] || ce[3])
        return fault(o, 0x42, true, fpd);
    const unsigned pdts = (unsigned)((ce[0] >> 9) & 7);
    const uint64_t pmax = (1ULL << (pdts + 13)) - 1;
    const uint32_t rid_pasid = (uint32_t)(ce[1] & 0xFFFFF);
    const bool rid_priv = ce[1] & BIT(20);
    if (rid_pasid > pmax)
        return fault(o, 0x43, true, fpd);
    uint32_t pasid;
    bool priv;
    if (req->pasid_valid) {
        const unsigned pss = (unsigned)((c->ecap >> 35) & 0x1F);
        if (!(ce[0] & BIT(3)))
            return fault(o, 0x45, true, fpd);
        if (req->pasid >> (pss + 1))
            return fault(o, 0x89, true, fpd);
        if (req->pasid > pmax)
            return fault(o, 0x46, true, fpd);
        if (req->pasid == rid_pasid)
            return fault(o, 0x48, true, fpd);
        pasid = req->pasid;
        priv = req->priv;
    } else {
        pasid = rid_pasid;
        priv = rid_priv;
    }
    o->pasid = pasid;
    /* PASID directory */
    uint64_t de;
    if (!rd(mem, (ce[0] & MASK(63, 12)) + (uint64_t)(pasid >> 6) * 8, &de, 8))
        return fault(o, 0x50, false, false);
    fpd = fpd || (de & BIT(1));
    if (!(de & 1))
        return fault(o, 0x51, true, fpd);
    if ((de & MASK(11, 2)) || (de & MASK(63, 12) & above_haw(c->haw)))
        return fault(o, 0x52, true, fpd);
    /* PASID table */
    uint64_t pe[8];
    if (!rd(mem, (de & MASK(63, 12)) + (uint64_t)(pasid & 63) * 64, pe, 64))
        return fault(o, 0x58, false, false);
    fpd = fpd || (pe[0] & BIT(1));
    if (!(pe[0] & 1))
        return fault(o, 0x59, true, fpd);
    if (pe_rsvd(c, pe))
        return fault(o, 0x5A, true, fpd);
    if (pe_invalid(c, pe))
        return fault(o, 0x5B, true, fpd);
    o->have_pe = true;
    o->did = (uint16_t)pe[1];
    if (req->pasid_valid && (req->access & VTD_X))
        return fault(o, 0x5C, true, fpd);
    const bool sre = pe[2] & BIT(0);
    if (priv && !sre)
        return fault(o, 0x5D, true, fpd);
    const uint64_t addr = req->addr;
    if (!req->pasid_valid && in_intr(addr) && req->access == VTD_W) {
        memset(&o->res, 0, sizeof(o->res));
        o->res.status = VTD_BLOCKED;
        return;
    }
    const unsigned pgtt = (unsigned)((pe[0] >> 6) & 7);
    if (pgtt == 4) {
        if (addr & above_haw(c->haw))
            return fault(o, 0x83, true, fpd);
        if (in_intr(addr))
            return fault(o, 0x87, true, fpd);
        return done(o, addr, 4096, VTD_R | VTD_W);
    }
    if (pgtt == 2)
        return sl_translate(c, mem, req, pe, fpd, o);
    /* PGTT 001 / 011 */
    struct ref_fl f = {.cap = c->cap, .ecap = c->ecap, .haw = c->haw,
                       .mgaw = (unsigned)((c->cap >> 16) & 0x3F) + 1, .nested = pgtt == 3,
                       .levels = ((pe[2] >> 2) & 3) == 1 ? 5 : 4, .flptptr = pe[2] & MASK(63, 12),
                       .sre = sre, .wpe = pe[2] & BIT(4), .eafe = pe[2] & BIT(7), .pwsnp = pe[1] & BIT(23),
                       .slptptr = pe[0] & MASK(63, 12), .aw = (unsigned)((pe[0] >> 2) & 7),
                       .ssade = pe[0] & BIT(9)};
    struct vtd_request q = *req;
    q.priv = priv;
    q.access = (uint8_t)(req->access & (VTD_R | VTD_W));
    ref_fl_translate(&f, mem, &q, &o->res, &o->upd);
    if (o->res.status == VTD_OK && in_intr(o->res.pa))
        return fault(o, 0x87, true, fpd);
    if (o->res.status != VTD_OK)
        o->recorded = !fpd; /* every first-level fault is qualified */
}
