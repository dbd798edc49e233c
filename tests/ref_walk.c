/* Reference walker for legacy-mode DMA remapping (see ref_walk.h).
 *
 * Written for clarity, not speed: one check per rule, in the order
 * docs/model.md "Translation (legacy mode, TTM=00)" gives them; each check
 * cites the step ("M<n>") of that list or the VTD-FACTS section it comes
 * from.  No caches, no state, no sharing of code with src/hw/. */
#include "ref_walk.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vtd/defs.h>
#include <vtd/regs.h>

/* ---- small helpers ---- */

static void trace(const struct ref_unit *ru, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void trace(const struct ref_unit *ru, const char *fmt, ...)
{
    if (ru->trace == NULL || ru->trace_size == 0)
        return;
    size_t used = strlen(ru->trace);
    if (used + 1 >= ru->trace_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ru->trace + used, ru->trace_size - used, fmt, ap);
    va_end(ap);
}

/* Mask of the address bits at and above haw, up to and including bit `top`. */
static uint64_t bits_from_haw(unsigned haw, unsigned top)
{
    if (haw > top)
        return 0;
    return VTD_GENMASK(top, haw);
}

static int fault(const struct ref_unit *ru, struct vtd_result *res, uint8_t fr, const char *why)
{
    res->status = VTD_FAULT;
    res->fault_reason = fr;
    res->pa = 0;
    res->page_size = 0;
    res->perm = 0;
    res->ats = 0;
    trace(ru, "=> FAULT %02Xh: %s\n", fr, why);
    return 0;
}

static bool in_intr_range(uint64_t pa)
{
    return pa >= VTD_INTR_RANGE_BASE && pa <= VTD_INTR_RANGE_LIMIT;
}

bool ref_in_pmr(const struct ref_unit *ru, uint64_t pa)
{
    if (!ru->epm)
        return false;
    /* model.md "Registers": a region is [base, limit | 0xFFFFF]; limit below
     * base: no region. */
    if (ru->cap & VTD_CAP_PLMR) {
        uint64_t base = ru->plmbase;
        uint64_t limit = ru->plmlimit;
        if (limit >= base && pa >= base && pa <= (limit | 0xFFFFFu))
            return true;
    }
    if (ru->cap & VTD_CAP_PHMR) {
        uint64_t base = ru->phmbase;
        uint64_t limit = ru->phmlimit;
        if (limit >= base && pa >= base && pa <= (limit | 0xFFFFFu))
            return true;
    }
    return false;
}

static int blocked(const struct ref_unit *ru, struct vtd_result *res, const char *why)
{
    memset(res, 0, sizeof(*res));
    res->status = VTD_BLOCKED;
    trace(ru, "=> BLOCKED: %s\n", why);
    return 0;
}

/* M13: protected memory regions apply to every output (VER major >= 2); with
 * VER major below 2 not to outputs translated through second-level tables. */
static bool pmr_blocks(const struct ref_unit *ru, uint64_t pa, bool via_second_level)
{
    if (via_second_level && VTD_VER_MAX(ru->ver) < 2)
        return false;
    return ref_in_pmr(ru, pa);
}

/* An untranslated/pass-through/translated output: 4 KiB, R|W (vtd.h). */
static int pass_out(const struct ref_unit *ru, struct vtd_result *res, uint64_t pa, const char *what)
{
    res->status = VTD_OK;
    res->fault_reason = 0;
    res->pa = pa;
    res->page_size = VTD_PAGE_SIZE;
    res->perm = VTD_R | VTD_W;
    res->ats = 0;
    trace(ru, "=> OK (%s) pa=%#llx\n", what, (unsigned long long)pa);
    return 0;
}

static bool valid_access(const struct vtd_request *req)
{
    switch (req->access) {
    case VTD_R:
    case VTD_W:
    case VTD_R | VTD_W:
    case VTD_R | VTD_X:
        return true;
    default:
        return false;
    }
}

int ref_translate(const struct ref_unit *ru, struct vtd_mem *mem, const struct vtd_request *req,
                  struct vtd_result *res)
{
    if (ru == NULL || mem == NULL || req == NULL || res == NULL)
        return VTD_EINVAL;
    if (req->at > VTD_AT_TRANSLATED || !valid_access(req))
        return VTD_EINVAL;
    memset(res, 0, sizeof(*res));
    if (ru->trace != NULL && ru->trace_size > 0)
        ru->trace[0] = '\0';

    const bool is_untr = req->at == VTD_AT_UNTRANSLATED;
    const bool is_treq = req->at == VTD_AT_TRANSLATION_REQ;
    const bool is_translated = req->at == VTD_AT_TRANSLATED;
    const bool is_write = req->access == VTD_W; /* a write, not an atomic */
    const bool zlr_ok = req->zlr && (ru->cap & VTD_CAP_ZLR); /* "Zero-length reads" */
    const uint64_t addr = req->addr;
    const uint8_t bus = (uint8_t)(req->sid >> 8);
    const uint8_t devfn = (uint8_t)(req->sid & 0xFF);

    /* M1: TE=0: untranslated requests pass through (4 KiB, RW), still subject
     * to the protected memory regions (M13: they block every DMA); translation
     * and translated requests are blocked (UR, no fault). */
    if (!ru->te) {
        trace(ru, "TE=0\n");
        if (!is_untr)
            return blocked(ru, res, "TE=0, translation/translated request (M1)");
        if (pmr_blocks(ru, addr, false))
            return blocked(ru, res, "PMR, TE=0 (M13)");
        return pass_out(ru, res, addr, "TE=0");
    }

    /* M2: a latched TTM the unit does not support: 30h; abort-DMA: 33h. */
    if (ru->ttm == VTD_TTM_RESERVED || (ru->ttm == VTD_TTM_SCALABLE && !(ru->ecap & VTD_ECAP_SMTS)) ||
        (ru->ttm == VTD_TTM_ABORT_DMA && !(ru->ecap & VTD_ECAP_ADMS)))
        return fault(ru, res, VTD_FR_RTA_TTM_INVALID, "latched TTM not supported (M2)");
    if (ru->ttm == VTD_TTM_ABORT_DMA)
        return fault(ru, res, VTD_FR_RTA_ABORT_DMA, "TTM=11 abort-DMA (M2)");
    if (ru->ttm != VTD_TTM_LEGACY)
        return VTD_ENOTSUP;

    /* M3: a request with PASID on a legacy-mode unit: 31h. */
    if (req->pasid_valid)
        return fault(ru, res, VTD_FR_RTA_PASID_LEGACY, "request with PASID, legacy TTM (M3)");

    /* M4: root entry at RTA + bus * 16 (VTD-FACTS §2 legacy root entry). */
    uint64_t root_addr = (ru->rta & VTD_RTADDR_RTA_MASK) + (uint64_t)bus * VTD_ROOT_SIZE;
    uint64_t root[2];
    if (vtd_mem_read(mem, root_addr, root, sizeof(root)) != 0) {
        trace(ru, "root[%u] @%#llx unreadable\n", bus, (unsigned long long)root_addr);
        return fault(ru, res, VTD_FR_ROOT_READ_ERROR, "root table unreadable (M4)");
    }
    trace(ru, "root[%u] @%#llx = %016llx %016llx\n", bus, (unsigned long long)root_addr,
          (unsigned long long)root[1], (unsigned long long)root[0]);
    if (!(root[0] & VTD_ROOT_LO_P))
        return fault(ru, res, VTD_FR_ROOT_NOT_PRESENT, "root P=0 (M4)");
    if (root[0] & VTD_ROOT_LO_RSVD)
        return fault(ru, res, VTD_FR_ROOT_RSVD, "root bits 11:1 reserved (M4)");
    if (root[1] != 0)
        return fault(ru, res, VTD_FR_ROOT_RSVD, "root bits 127:64 reserved (M4)");
    if (root[0] & bits_from_haw(ru->haw, 63))
        return fault(ru, res, VTD_FR_ROOT_RSVD, "root CTP at or above haw (M4)");
    uint64_t ctp = root[0] & VTD_ROOT_LO_CTP_MASK;

    /* M5: context entry at CTP + devfn * 16 (VTD-FACTS §2 legacy context entry). */
    uint64_t ctx_addr = ctp + (uint64_t)devfn * VTD_CTX_SIZE;
    uint64_t ctx[2];
    if (vtd_mem_read(mem, ctx_addr, ctx, sizeof(ctx)) != 0) {
        trace(ru, "ctx[%02x] @%#llx unreadable\n", devfn, (unsigned long long)ctx_addr);
        return fault(ru, res, VTD_FR_CTX_READ_ERROR, "context table unreadable (M5)");
    }
    trace(ru, "ctx[%02x] @%#llx = %016llx %016llx\n", devfn, (unsigned long long)ctx_addr,
          (unsigned long long)ctx[1], (unsigned long long)ctx[0]);
    unsigned tt = (unsigned)((ctx[0] & VTD_CTX_LO_TT_MASK) >> VTD_CTX_LO_TT_SHIFT);
    unsigned aw = (unsigned)(ctx[1] & VTD_CTX_HI_AW_MASK);
    uint64_t slptptr = ctx[0] & VTD_CTX_LO_SLPTPTR_MASK;
    unsigned nd = (unsigned)((ru->cap & VTD_CAP_ND_MASK) >> VTD_CAP_ND_SHIFT);
    unsigned did_bits = 4 + 2 * nd; /* domains = 2^(4 + 2 ND), VTD-FACTS §1 */
    uint64_t did = (ctx[1] & VTD_CTX_HI_DID_MASK) >> VTD_CTX_HI_DID_SHIFT;

    if (!(ctx[0] & VTD_CTX_LO_P))
        return fault(ru, res, VTD_FR_CTX_NOT_PRESENT, "context P=0 (M5)");
    if (ctx[0] & VTD_CTX_LO_RSVD)
        return fault(ru, res, VTD_FR_CTX_RSVD, "context bits 11:4 reserved (M5)");
    if (ctx[1] & VTD_CTX_HI_RSVD7)
        return fault(ru, res, VTD_FR_CTX_RSVD, "context bit 71 reserved (M5)");
    if (ctx[1] & VTD_CTX_HI_RSVD)
        return fault(ru, res, VTD_FR_CTX_RSVD, "context bits 127:88 reserved (M5)");
    if (did_bits < 16 && (did >> did_bits) != 0)
        return fault(ru, res, VTD_FR_CTX_RSVD, "context DID beyond CAP.ND (M5)");
    if ((tt == VTD_TT_UNTRANSLATED || tt == VTD_TT_DEVTLB) && (ctx[0] & bits_from_haw(ru->haw, 63)))
        return fault(ru, res, VTD_FR_CTX_RSVD, "context SLPTPTR at or above haw, TT 00/01 (M5)");

    if (tt == VTD_TT_RESERVED)
        return fault(ru, res, VTD_FR_CTX_INVALID, "context TT=11 reserved (M5)");
    if (tt == VTD_TT_DEVTLB && !(ru->ecap & VTD_ECAP_DT))
        return fault(ru, res, VTD_FR_CTX_INVALID, "context TT=01 without ECAP.DT (M5)");
    if (tt == VTD_TT_PASSTHROUGH && !(ru->ecap & VTD_ECAP_PT))
        return fault(ru, res, VTD_FR_CTX_INVALID, "context TT=10 without ECAP.PT (M5)");

    /* M6: request type against TT. */
    if (!is_untr && (tt == VTD_TT_UNTRANSLATED || tt == VTD_TT_PASSTHROUGH))
        return fault(ru, res, VTD_FR_TT_BLOCKED, "translation/translated request, TT 00/10 (M6)");

    /* M7: TT 00/01: AW must name a width SAGAW advertises (only AW 1..3 can
     * be advertised).  TT=10 ignores AW. */
    unsigned sagaw = (unsigned)((ru->cap & VTD_CAP_SAGAW_MASK) >> VTD_CAP_SAGAW_SHIFT);
    if (tt != VTD_TT_PASSTHROUGH && (aw < VTD_AW_39 || aw > VTD_AW_57 || !(sagaw & (1u << aw))))
        return fault(ru, res, VTD_FR_CTX_INVALID, "context AW not in SAGAW (M7)");

    /* M8: an untranslated request whose input is in the interrupt range is an
     * interrupt write, not DMA: blocked; a ZLR completes with perm 0; other
     * reads and atomics fault Eh.  A translation request there completes with
     * perm W and U when it asks for write, else perm 0 and U. */
    if (is_untr && in_intr_range(addr)) {
        if (is_write)
            return blocked(ru, res, "untranslated write to the interrupt range (M8)");
        /* M8 says "a zero-length read completes" with no CAP.ZLR condition
         * (unlike "Zero-length reads", which makes a ZLR a plain read when
         * CAP.ZLR=0); the specific rule is taken. */
        if (req->zlr) {
            pass_out(ru, res, addr, "ZLR to the interrupt range (M8)");
            res->perm = 0;
            return 0;
        }
        return fault(ru, res, VTD_FR_INTR_RANGE, "untranslated read/atomic to the interrupt range (M8)");
    }
    if (is_treq && in_intr_range(addr)) {
        pass_out(ru, res, addr, "translation request in the interrupt range (M8)");
        /* S.1 (asks for write, NW=0): W=U=1; S.2 (NW=1): R=W=U=0 */
        res->perm = (req->access & VTD_W) ? VTD_W : 0;
        res->ats = (req->access & VTD_W) ? VTD_ATS_U : 0;
        return 0;
    }

    /* M9: address width.  Untranslated and translation requests (TT 00/01):
     * 2^min(AGAW, MGAW+1); pass-through and translated requests: 2^haw.
     * Translation requests do not fault: the completion grants nothing. */
    unsigned agaw = 30 + 9 * aw;
    unsigned mgaw = (unsigned)((ru->cap & VTD_CAP_MGAW_MASK) >> VTD_CAP_MGAW_SHIFT) + 1;
    unsigned width = (tt == VTD_TT_PASSTHROUGH || is_translated) ? ru->haw : (agaw < mgaw ? agaw : mgaw);
    if (width < 64 && (addr >> width) != 0) {
        if (is_treq) {
            res->status = VTD_OK;
            trace(ru, "=> OK (translation request above the width): perm 0\n");
            return 0; /* page_size 0: nothing mapped */
        }
        return fault(ru, res, VTD_FR_ADDR_BEYOND_AW, "input address above the width (M9)");
    }

    /* M10: translated requests are not walked; pass-through: pa = addr.
     * Then M12 (interrupt range) and M13 (PMR). */
    if (is_translated || tt == VTD_TT_PASSTHROUGH) {
        if (in_intr_range(addr))
            return fault(ru, res, VTD_FR_INTR_RANGE, "output in the interrupt range (M12)");
        if (pmr_blocks(ru, addr, false))
            return blocked(ru, res, "PMR, translated/pass-through output (M13)");
        return pass_out(ru, res, addr, is_translated ? "translated" : "pass-through");
    }

    /* M11: second-level walk from SLPTPTR, AW + 2 levels. */
    const int levels = (int)aw + 2;
    /* A ZLR with CAP.ZLR does not need R ("Zero-length reads"). */
    const bool need_r = !zlr_ok && (req->access & VTD_R);
    const bool need_w = req->access & VTD_W;
    /* R=W=0 grants nothing: 5h for writes, 6h for reads and atomics. */
    const uint8_t np_fr = is_write ? VTD_FR_NO_WRITE : VTD_FR_NO_READ;

    uint64_t table = slptptr;
    uint8_t perm = VTD_R | VTD_W; /* effective permission: AND over levels */
    for (int level = levels; level >= 1; level--) {
        unsigned shift = VTD_PAGE_SHIFT + VTD_LEVEL_STRIDE * (unsigned)(level - 1);
        unsigned idx = (unsigned)((addr >> shift) & 0x1FF);
        uint64_t ea = table + (uint64_t)idx * 8;
        uint64_t e;

        /* M11: unreadable table: the one the context names 3h, lower ones 7h. */
        if (vtd_mem_read(mem, ea, &e, sizeof(e)) != 0) {
            trace(ru, "L%d[%u] @%#llx unreadable\n", level, idx, (unsigned long long)ea);
            if (level == levels)
                return fault(ru, res, VTD_FR_CTX_INVALID, "SLPTPTR table unreadable (M11)");
            return fault(ru, res, VTD_FR_SL_READ_ERROR, "second-level table unreadable (M11)");
        }
        trace(ru, "L%d[%u] @%#llx = %016llx\n", level, idx, (unsigned long long)ea,
              (unsigned long long)e);

        uint8_t eperm = (uint8_t)(((e & VTD_SL_R) ? VTD_R : 0) | ((e & VTD_SL_W) ? VTD_W : 0));

        /* M11: R=W=0 grants nothing, no reserved-bit check.  Translation
         * requests do not fault on permission: the completion grants nothing. */
        if (eperm == 0) {
            if (is_treq) {
                res->status = VTD_OK;
                trace(ru, "=> OK (translation request, R=W=0 at L%d): perm 0\n", level);
                return 0; /* page_size 0: nothing mapped */
            }
            return fault(ru, res, np_fr, "second-level entry grants nothing (M11)");
        }

        perm &= eperm;

        /* M11: a present entry lacking the requested permission: 6h (read,
         * atomic without R) or 5h (write, atomic without W).  A ZLR with
         * CAP.ZLR may lack R, but not everything: it needs a page with W
         * ("a ZLR to a page with W but no R"), i.e. the permission
         * accumulated so far must not be empty (6h: it is a read). */
        if (!is_treq) {
            if (zlr_ok && perm == 0)
                return fault(ru, res, VTD_FR_NO_READ, "ZLR: the path grants neither R nor W (M11)");
            if (need_r && !(eperm & VTD_R))
                return fault(ru, res, VTD_FR_NO_READ, "no read permission (M11)");
            if (need_w && !(eperm & VTD_W))
                return fault(ru, res, VTD_FR_NO_WRITE, "no write permission (M11)");
        }

        /* Leaf or table?  PTE (level 1) is always a leaf; a PDE (2) or PDPE (3)
         * with PS=1 maps a 2 MiB / 1 GiB page. */
        bool ps = (e & VTD_SL_PS) != 0;
        bool leaf = (level == 1) || ((level == 2 || level == 3) && ps);

        /* M11 then: reserved bits (Ch), model.md "Reserved bits of a
         * second-level entry", VTD-FACTS §2 second-level PTE. */
        if (e & bits_from_haw(ru->haw, 51))
            return fault(ru, res, VTD_FR_SL_RSVD, "address bits at or above haw");
        if (level >= 4 && ps)
            return fault(ru, res, VTD_FR_SL_RSVD, "PS in a PML4E/PML5E");
        if (level == 3 && ps && !(ru->cap & VTD_CAP_SLLPS_1G))
            return fault(ru, res, VTD_FR_SL_RSVD, "PS in a PDPE without 1 GiB support");
        if (level == 2 && ps && !(ru->cap & VTD_CAP_SLLPS_2M))
            return fault(ru, res, VTD_FR_SL_RSVD, "PS in a PDE without 2 MiB support");
        if ((e & VTD_SL_SNP) && !leaf)
            return fault(ru, res, VTD_FR_SL_RSVD, "SNP in a non-leaf entry");
        if ((e & VTD_SL_SNP) && !(ru->ecap & VTD_ECAP_SC))
            return fault(ru, res, VTD_FR_SL_RSVD, "SNP without ECAP.SC");
        if ((e & VTD_SL_TM) && !leaf)
            return fault(ru, res, VTD_FR_SL_RSVD, "TM in a non-leaf entry");
        if ((e & VTD_SL_TM) && !(ru->ecap & VTD_ECAP_DT))
            return fault(ru, res, VTD_FR_SL_RSVD, "TM without ECAP.DT");
        if (leaf && level == 2 && (e & VTD_GENMASK(20, 12)))
            return fault(ru, res, VTD_FR_SL_RSVD, "address bits 20:12 of a 2 MiB leaf");
        if (leaf && level == 3 && (e & VTD_GENMASK(29, 12)))
            return fault(ru, res, VTD_FR_SL_RSVD, "address bits 29:12 of a 1 GiB leaf");

        if (!leaf) {
            table = e & VTD_SL_ADDR_MASK;
            continue;
        }

        /* The leaf: output = page base + offset. */
        uint64_t page_size = 1ULL << shift;
        uint64_t pa = (e & VTD_SL_ADDR_MASK & ~(page_size - 1)) | (addr & (page_size - 1));

        /* A completion that grants nothing has no output (model.md, Device-TLBs):
         * no interrupt-range or PMR check applies. */
        if (is_treq && perm == 0) {
            res->status = VTD_OK;
            res->fault_reason = 0;
            res->pa = 0;
            res->page_size = 0; /* "means nothing" to the comparison */
            res->perm = 0;
            res->ats = 0;
            return 0;
        }
        /* M12: output in the interrupt range: Eh. */
        if (in_intr_range(pa))
            return fault(ru, res, VTD_FR_INTR_RANGE, "output in the interrupt range (M12)");
        /* M13: protected memory regions (VER major >= 2 for remapped output). */
        if (pmr_blocks(ru, pa, true))
            return blocked(ru, res, "PMR, remapped output (M13)");

        res->status = VTD_OK;
        res->fault_reason = 0;
        res->pa = pa;
        res->page_size = page_size;
        res->perm = perm;
        res->ats = 0;
        /* "Translation requests": N when ECAP.SC=1 and the leaf has SNP=1. */
        if (is_treq && (ru->ecap & VTD_ECAP_SC) && (e & VTD_SL_SNP))
            res->ats |= VTD_ATS_N;
        trace(ru, "=> OK pa=%#llx size=%#llx perm=%u ats=%u\n", (unsigned long long)pa,
              (unsigned long long)page_size, perm, res->ats);
        return 0;
    }
    /* Not reached: level 1 is always a leaf. */
    return VTD_EINVAL;
}
