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
    /* model.md "Registers": a region is [base, limit | 0x1FFFFF]. */
    if (ru->cap & VTD_CAP_PLMR) {
        uint64_t base = ru->plmbase;
        uint64_t limit = (uint64_t)ru->plmlimit | 0x1FFFFFu;
        if (pa >= base && pa <= limit)
            return true;
    }
    if (ru->cap & VTD_CAP_PHMR) {
        uint64_t base = ru->phmbase;
        uint64_t limit = ru->phmlimit | 0x1FFFFFu;
        if (pa >= base && pa <= limit)
            return true;
    }
    return false;
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

    const bool is_treq = req->at == VTD_AT_TRANSLATION_REQ;
    const bool is_translated = req->at == VTD_AT_TRANSLATED;
    const uint64_t addr = req->addr;
    const uint8_t bus = (uint8_t)(req->sid >> 8);
    const uint8_t devfn = (uint8_t)(req->sid & 0xFF);

    /* M1: TE=0: the address passes through untranslated (4 KiB, RW),
     * subject to the protected memory regions (M11). */
    if (!ru->te) {
        trace(ru, "TE=0\n");
        if (ref_in_pmr(ru, addr)) {
            res->status = VTD_BLOCKED;
            trace(ru, "=> BLOCKED (PMR, TE=0)\n");
            return 0;
        }
        return pass_out(ru, res, addr, "TE=0");
    }

    /* M2: abort-DMA mode: every request blocked. */
    if (ru->ttm == VTD_TTM_ABORT_DMA) {
        res->status = VTD_BLOCKED;
        trace(ru, "=> BLOCKED (TTM=11 abort-DMA)\n");
        return 0;
    }
    if (ru->ttm != VTD_TTM_LEGACY)
        return VTD_ENOTSUP;

    /* M3: a PASID on a legacy-mode unit is ignored: nothing to do. */

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
    if (!(ctx[0] & VTD_CTX_LO_P))
        return fault(ru, res, VTD_FR_CTX_NOT_PRESENT, "context P=0 (M5)");
    if (ctx[0] & VTD_CTX_LO_RSVD)
        return fault(ru, res, VTD_FR_CTX_RSVD, "context bits 11:4 reserved (M5)");
    if (ctx[1] & VTD_CTX_HI_RSVD7)
        return fault(ru, res, VTD_FR_CTX_RSVD, "context bit 71 reserved (M5)");
    if (ctx[1] & VTD_CTX_HI_RSVD)
        return fault(ru, res, VTD_FR_CTX_RSVD, "context bits 127:88 reserved (M5)");
    if (ctx[0] & bits_from_haw(ru->haw, 63))
        return fault(ru, res, VTD_FR_CTX_RSVD, "context SLPTPTR at or above haw (M5)");

    unsigned tt = (unsigned)((ctx[0] & VTD_CTX_LO_TT_MASK) >> VTD_CTX_LO_TT_SHIFT);
    unsigned aw = (unsigned)(ctx[1] & VTD_CTX_HI_AW_MASK);
    uint64_t slptptr = ctx[0] & VTD_CTX_LO_SLPTPTR_MASK;
    unsigned sagaw = (unsigned)((ru->cap & VTD_CAP_SAGAW_MASK) >> VTD_CAP_SAGAW_SHIFT);

    if (tt == VTD_TT_RESERVED)
        return fault(ru, res, VTD_FR_CTX_INVALID, "context TT=11 reserved (M5)");
    if (tt == VTD_TT_DEVTLB && !(ru->ecap & VTD_ECAP_DT))
        return fault(ru, res, VTD_FR_CTX_INVALID, "context TT=01 without ECAP.DT (M5)");
    if (tt == VTD_TT_PASSTHROUGH && !(ru->ecap & VTD_ECAP_PT))
        return fault(ru, res, VTD_FR_CTX_INVALID, "context TT=10 without ECAP.PT (M5)");
    /* AW must name a width SAGAW advertises, pass-through included (M5).  The
     * only widths a unit can advertise are AW 1..3 (39/48/57 bits). */
    if (aw < VTD_AW_39 || aw > VTD_AW_57 || !(sagaw & (1u << aw)))
        return fault(ru, res, VTD_FR_CTX_INVALID, "context AW not in SAGAW (M5)");

    /* M6: request type against TT. */
    if ((is_treq || is_translated) && (tt == VTD_TT_UNTRANSLATED || tt == VTD_TT_PASSTHROUGH))
        return fault(ru, res, VTD_FR_TT_BLOCKED, "translation/translated request, TT 00/10 (M6)");
    if (is_translated) {
        /* TT=01: translated requests are not walked; the address is the
         * output (M6), Eh when in the interrupt range (M6/M10), then the
         * protected memory regions (M11). */
        if (in_intr_range(addr))
            return fault(ru, res, VTD_FR_INTR_RANGE, "translated output in interrupt range (M6)");
        if (ref_in_pmr(ru, addr)) {
            res->status = VTD_BLOCKED;
            trace(ru, "=> BLOCKED (PMR, translated)\n");
            return 0;
        }
        return pass_out(ru, res, addr, "translated");
    }

    /* M7: input address width: 2^min(AGAW, MGAW+1), pass-through included. */
    unsigned agaw = 30 + 9 * aw;
    unsigned mgaw = (unsigned)((ru->cap & VTD_CAP_MGAW_MASK) >> VTD_CAP_MGAW_SHIFT) + 1;
    unsigned width = agaw < mgaw ? agaw : mgaw;
    if (width < 64 && (addr >> width) != 0)
        return fault(ru, res, VTD_FR_ADDR_BEYOND_AW, "input address above AGAW/MGAW (M7)");

    /* M8: pass-through: pa = input address, then M10 and M11. */
    if (tt == VTD_TT_PASSTHROUGH) {
        if (in_intr_range(addr))
            return fault(ru, res, VTD_FR_INTR_RANGE, "pass-through output in interrupt range (M10)");
        if (ref_in_pmr(ru, addr)) {
            res->status = VTD_BLOCKED;
            trace(ru, "=> BLOCKED (PMR, pass-through)\n");
            return 0;
        }
        return pass_out(ru, res, addr, "pass-through");
    }

    /* M9: second-level walk from SLPTPTR, AW + 2 levels. */
    const int levels = (int)aw + 2;
    const bool zlr_ok = req->zlr && (ru->cap & VTD_CAP_ZLR); /* model.md "Zero-length reads" */
    const bool need_r = !zlr_ok && (req->access & VTD_R);
    const bool need_w = req->access & VTD_W;
    /* Not-present fault: 6h for reads (atomics too), 5h for writes (M9). */
    const uint8_t np_fr = (req->access == VTD_W) ? VTD_FR_NO_WRITE : VTD_FR_NO_READ;

    uint64_t table = slptptr;
    uint8_t perm = VTD_R | VTD_W; /* effective permission: AND over levels (M9) */
    for (int level = levels; level >= 1; level--) {
        unsigned shift = VTD_PAGE_SHIFT + VTD_LEVEL_STRIDE * (unsigned)(level - 1);
        unsigned idx = (unsigned)((addr >> shift) & 0x1FF);
        uint64_t ea = table + (uint64_t)idx * 8;
        uint64_t e;

        /* M9: unreadable table: the one the context names 3h, lower ones 7h. */
        if (vtd_mem_read(mem, ea, &e, sizeof(e)) != 0) {
            trace(ru, "L%d[%u] @%#llx unreadable\n", level, idx, (unsigned long long)ea);
            if (level == levels)
                return fault(ru, res, VTD_FR_CTX_INVALID, "SLPTPTR table unreadable (M9)");
            return fault(ru, res, VTD_FR_SL_READ_ERROR, "second-level table unreadable (M9)");
        }
        trace(ru, "L%d[%u] @%#llx = %016llx\n", level, idx, (unsigned long long)ea,
              (unsigned long long)e);

        uint8_t eperm = (uint8_t)(((e & VTD_SL_R) ? VTD_R : 0) | ((e & VTD_SL_W) ? VTD_W : 0));

        /* M9: R=W=0 is not present: 6h/5h by request type, no reserved-bit
         * check.  Translation requests do not fault: the completion grants
         * nothing (model.md "Translation requests"). */
        if (eperm == 0) {
            if (is_treq) {
                res->status = VTD_OK;
                res->perm = 0;
                res->pa = 0;
                res->page_size = 0;
                res->ats = 0;
                trace(ru, "=> OK (translation request, not present at L%d): perm 0\n", level);
                return 0;
            }
            return fault(ru, res, np_fr, "second-level entry not present (M9)");
        }

        perm &= eperm;

        /* M9: a present entry lacking the requested permission: 6h (read)
         * before 5h (write).  Checked against the permission accumulated so
         * far, which for plain reads and writes is the same as checking this
         * entry alone; a ZLR with CAP.ZLR needs R or W.  Translation requests
         * report the permission instead of faulting. */
        if (!is_treq) {
            if (zlr_ok && perm == 0)
                return fault(ru, res, VTD_FR_NO_READ, "ZLR: no R or W along the path (M9, ZLR)");
            if (need_r && !(perm & VTD_R))
                return fault(ru, res, VTD_FR_NO_READ, "no read permission (M9)");
            if (need_w && !(perm & VTD_W))
                return fault(ru, res, VTD_FR_NO_WRITE, "no write permission (M9)");
        }

        /* Leaf or table?  PTE (level 1) is always a leaf; a PDE (2) or PDPE (3)
         * with PS=1 maps a 2 MiB / 1 GiB page. */
        bool ps = (e & VTD_SL_PS) != 0;
        bool leaf = (level == 1) || ((level == 2 || level == 3) && ps);

        /* M9 then: reserved bits (Ch), model.md "Reserved bits of a
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

        /* M10: output in the interrupt range: Eh. */
        if (in_intr_range(pa))
            return fault(ru, res, VTD_FR_INTR_RANGE, "output in the interrupt range (M10)");

        /* M11: remapped requests are not checked against the PMRs. */
        res->status = VTD_OK;
        res->fault_reason = 0;
        res->pa = pa;
        res->page_size = page_size;
        res->perm = perm;
        res->ats = 0;
        if (is_treq) {
            /* model.md "Translation requests": U when TM=1, N when SNP=0. */
            if (e & VTD_SL_TM)
                res->ats |= VTD_ATS_U;
            if (!(e & VTD_SL_SNP))
                res->ats |= VTD_ATS_N;
        }
        trace(ru, "=> OK pa=%#llx size=%#llx perm=%u ats=%u\n", (unsigned long long)pa,
              (unsigned long long)page_size, perm, res->ats);
        return 0;
    }
    /* Not reached: level 1 is always a leaf. */
    return VTD_EINVAL;
}
