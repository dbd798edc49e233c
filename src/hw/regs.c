/* SPDX-License-Identifier: MIT */
/*
 * The register file (spec chapter "Register Descriptions"), table-driven:
 * each register is a descriptor with its width, reset value, writable,
 * write-1-to-clear, read-only and write-only masks, and an optional handler
 * for the side effects of a write.  Everything not named by a descriptor is
 * no register of this unit.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void gcmd_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
static void fsts_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
static void fectl_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
static void pmen_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
static void pmr_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
static void frcd_hi_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);

static struct reg_desc *add(struct vtd *u, uint16_t off, uint8_t size, const char *name, uint64_t reset,
                            uint64_t rw, uint64_t w1c)
{
    struct reg_desc *d = &u->regs[u->nregs++];
    memset(d, 0, sizeof(*d));
    d->off = off;
    d->size = size;
    d->name = name;
    d->reset = reset;
    d->rw = rw;
    d->w1c = w1c;
    return d;
}

/* Bits of a register that are defined but read-only: writes to them are
 * ignored silently (software often writes back what it read), unlike
 * reserved bits, which are reported. */
static uint64_t ro_bits(const struct reg_desc *d)
{
    switch (d->off) {
    case VTD_REG_FSTS: return VTD_GENMASK(15, 0); /* PPF, FRI, status bits of absent features */
    case VTD_REG_FECTL: return VTD_ECTL_IP;
    case VTD_REG_IECTL: return VTD_ECTL_IP; /* only present with ECAP.QI */
    case VTD_REG_PECTL: return VTD_ECTL_IP | VTD_GENMASK(29, 0); /* 29:0 RsvdP; only with ECAP.PRS */
    case VTD_REG_PMEN: return VTD_PMEN_PRS;
    case VTD_REG_CCMD: return VTD_CCMD_CAIG_MASK;
    default:
        if (d->on_write == vtd_iotlb_write)
            return VTD_IOTLB_IAIG_MASK | VTD_GENMASK(31, 0); /* 31:0 RsvdP */
        break;
    }
    switch (d->off) {
    default: break;
    }
    if (d->on_write == frcd_hi_write)
        return ~VTD_FRCD_HI_F;
    return 0;
}

int vtd_regs_init(struct vtd *u)
{
    uint64_t cap = u->cfg.cap, ecap = u->cfg.ecap;
    unsigned haw = u->cfg.haw;
    uint64_t fro = VTD_FIELD_GET(cap, 33, 24) * 16, iro = VTD_FIELD_GET(ecap, 17, 8) * 16;
    bool plmr = cap & VTD_CAP_PLMR, phmr = cap & VTD_CAP_PHMR;
    uint64_t didmask = (u->ndomains >= 65536) ? 0xFFFF : (u->ndomains - 1);

    u->nregs = 0;
    add(u, VTD_REG_VER, 4, "VER", u->cfg.ver, 0, 0);
    add(u, VTD_REG_CAP, 8, "CAP", cap, 0, 0);
    add(u, VTD_REG_ECAP, 8, "ECAP", ecap, 0, 0);
    struct reg_desc *d = add(u, VTD_REG_GCMD, 4, "GCMD", 0, 0, 0);
    d->kind = REG_COMMAND;
    d->on_write = gcmd_write;
    u->r_gsts = add(u, VTD_REG_GSTS, 4, "GSTS", 0, 0, 0);
    u->r_rtaddr = add(u, VTD_REG_RTADDR, 8, "RTADDR", 0,
                      VTD_GENMASK(haw - 1, 12) | VTD_RTADDR_TTM_MASK, 0);
    u->r_ccmd = add(u, VTD_REG_CCMD, 8, "CCMD", 0,
                    VTD_CCMD_ICC | VTD_CCMD_CIRG_MASK | VTD_CCMD_FM_MASK | VTD_CCMD_SID_MASK | didmask, 0);
    u->r_ccmd->on_write = vtd_ccmd_write;
    u->r_fsts = add(u, VTD_REG_FSTS, 4, "FSTS", 0, 0, VTD_FSTS_PFO);
    u->r_fsts->on_write = fsts_write;
    if (ecap & VTD_ECAP_QI) /* ICE and ITE report device-TLB invalidation errors */
        u->r_fsts->w1c |= VTD_FSTS_IQE | ((ecap & VTD_ECAP_DT) ? VTD_FSTS_ICE | VTD_FSTS_ITE : 0);
    u->r_fectl = add(u, VTD_REG_FECTL, 4, "FECTL", VTD_ECTL_IM, VTD_ECTL_IM, 0);
    u->r_fectl->on_write = fectl_write;
    u->r_fedata = add(u, VTD_REG_FEDATA, 4, "FEDATA", 0, VTD_FEDATA_MASK, 0);
    u->r_feaddr = add(u, VTD_REG_FEADDR, 4, "FEADDR", 0, VTD_FEADDR_MASK, 0);
    u->r_feuaddr = add(u, VTD_REG_FEUADDR, 4, "FEUADDR", 0, 0xFFFFFFFFULL, 0);
    /* Protected memory: registers exist, read-only when the capability is
     * clear.  1 MiB granularity: bits 19:0 of a base read 0, of a limit are
     * decoded as ones. */
    u->r_pmen = add(u, VTD_REG_PMEN, 4, "PMEN", 0, (plmr || phmr) ? VTD_PMEN_EPM : 0, 0);
    u->r_pmen->on_write = pmen_write;
    u->r_plmbase = add(u, VTD_REG_PLMBASE, 4, "PLMBASE", 0, plmr ? VTD_GENMASK(31, 20) : 0, 0);
    u->r_plmlimit = add(u, VTD_REG_PLMLIMIT, 4, "PLMLIMIT", 0, plmr ? VTD_GENMASK(31, 20) : 0, 0);
    u->r_phmbase = add(u, VTD_REG_PHMBASE, 8, "PHMBASE", 0, phmr ? VTD_GENMASK(haw - 1, 20) : 0, 0);
    u->r_phmlimit = add(u, VTD_REG_PHMLIMIT, 8, "PHMLIMIT", 0, phmr ? VTD_GENMASK(haw - 1, 20) : 0, 0);
    u->r_plmbase->on_write = u->r_plmlimit->on_write = pmr_write;
    u->r_phmbase->on_write = u->r_phmlimit->on_write = pmr_write;
    u->r_iva = add(u, (uint16_t)(iro + VTD_REG_IVA_OFF), 8, "IVA", 0,
                   VTD_IVA_ADDR_MASK | VTD_IVA_IH | VTD_IVA_AM_MASK, 0);
    u->r_iva->wo = u->r_iva->rw;
    u->r_iotlb = add(u, (uint16_t)(iro + VTD_REG_IOTLB_OFF), 8, "IOTLB", 0,
                     VTD_IOTLB_IVT | VTD_IOTLB_IIRG_MASK | VTD_IOTLB_DR | VTD_IOTLB_DW |
                         (didmask << VTD_IOTLB_DID_SHIFT),
                     0);
    u->r_iotlb->on_write = vtd_iotlb_write;
    u->r_ccmd->wo = VTD_CCMD_SID_MASK | VTD_CCMD_FM_MASK;
    /* queued invalidation (qi.c) */
    u->r_iqh = u->r_iqt = u->r_iqa = u->r_ics = u->r_iectl = NULL;
    u->r_iedata = u->r_ieaddr = u->r_ieuaddr = u->r_iqercd = NULL;
    if (ecap & VTD_ECAP_QI) {
        u->r_iqh = add(u, VTD_REG_IQH, 8, "IQH", 0, 0, 0); /* advanced by the unit only */
        u->r_iqt = add(u, VTD_REG_IQT, 8, "IQT", 0, VTD_IQT_QT_MASK, 0);
        u->r_iqt->on_write = vtd_iqt_write;
        u->r_iqa = add(u, VTD_REG_IQA, 8, "IQA", 0,
                       VTD_GENMASK(haw - 1, 12) | VTD_IQA_DW | VTD_IQA_QS_MASK, 0);
        u->r_iqa->on_write = vtd_iqa_write;
        u->r_ics = add(u, VTD_REG_ICS, 4, "ICS", 0, 0, VTD_ICS_IWC);
        u->r_ics->on_write = vtd_ics_write;
        u->r_iectl = add(u, VTD_REG_IECTL, 4, "IECTL", VTD_ECTL_IM, VTD_ECTL_IM, 0);
        u->r_iectl->on_write = vtd_iectl_write;
        u->r_iedata = add(u, VTD_REG_IEDATA, 4, "IEDATA", 0, VTD_FEDATA_MASK, 0);
        u->r_ieaddr = add(u, VTD_REG_IEADDR, 4, "IEADDR", 0, VTD_FEADDR_MASK, 0);
        u->r_ieuaddr = add(u, VTD_REG_IEUADDR, 4, "IEUADDR", 0, 0xFFFFFFFFULL, 0);
        u->r_iqercd = add(u, VTD_REG_IQERCD, 8, "IQERCD", 0, 0, 0);
    }
    /* page request queue interface (§11.4.11); page requests: prq.c */
    u->r_pqh = u->r_pqt = u->r_pqa = u->r_prs = NULL;
    u->r_pectl = u->r_pedata = u->r_peaddr = u->r_peuaddr = NULL;
    if (ecap & VTD_ECAP_PRS) {
        u->r_pqh = add(u, VTD_REG_PQH, 8, "PQH", 0, VTD_PQH_MASK, 0);
        u->r_pqt = add(u, VTD_REG_PQT, 8, "PQT", 0, VTD_PQT_MASK, 0);
        u->r_pqa = add(u, VTD_REG_PQA, 8, "PQA", 0, VTD_GENMASK(haw - 1, 12) | VTD_PQA_PQS_MASK, 0);
        u->r_prs = add(u, VTD_REG_PRS, 4, "PRS", 0, 0, VTD_PRS_PPR | VTD_PRS_PRO);
        u->r_prs->on_write = vtd_prs_write;
        u->r_pectl = add(u, VTD_REG_PECTL, 4, "PECTL", VTD_ECTL_IM, VTD_ECTL_IM, 0);
        u->r_pectl->on_write = vtd_pectl_write;
        u->r_pedata = add(u, VTD_REG_PEDATA, 4, "PEDATA", 0, VTD_FEDATA_MASK, 0);
        u->r_peaddr = add(u, VTD_REG_PEADDR, 4, "PEADDR", 0, VTD_FEADDR_MASK, 0);
        u->r_peuaddr = add(u, VTD_REG_PEUADDR, 4, "PEUADDR", 0, 0xFFFFFFFFULL, 0);
    }
    u->r_irta = NULL;
    if (ecap & VTD_ECAP_IR)
        u->r_irta = add(u, VTD_REG_IRTA, 8, "IRTA", 0,
                        VTD_GENMASK(haw - 1, 12) | ((ecap & VTD_ECAP_EIM) ? VTD_IRTA_EIME : 0) |
                            VTD_IRTA_S_MASK,
                        0);
    u->r_frcd = &u->regs[u->nregs];
    for (unsigned i = 0; i < u->nfr; i++) {
        add(u, (uint16_t)(fro + i * VTD_FRCD_SIZE), 8, "FRCD.lo", 0, 0, 0);
        d = add(u, (uint16_t)(fro + i * VTD_FRCD_SIZE + 8), 8, "FRCD.hi", 0, 0, VTD_FRCD_HI_F);
        d->on_write = frcd_hi_write;
    }
    for (unsigned i = 0; i < u->nregs; i++)
        u->regs[i].ro = ro_bits(&u->regs[i]);

    uint64_t end = 0x1000;
    for (unsigned i = 0; i < u->nregs; i++)
        if ((uint64_t)u->regs[i].off + u->regs[i].size > end)
            end = u->regs[i].off + u->regs[i].size;
    u->mmio_size = (end + 0xFFF) & ~0xFFFULL;
    u->slot = calloc(u->mmio_size / 4, sizeof(*u->slot));
    if (!u->slot)
        return VTD_ENOMEM;
    for (unsigned i = 0; i < u->nregs; i++)
        for (unsigned k = 0; k < u->regs[i].size / 4; k++)
            u->slot[u->regs[i].off / 4 + k] = (uint16_t)(i + 1);
    return 0;
}

void vtd_regs_free(struct vtd *u)
{
    free(u->slot);
    u->slot = NULL;
}

void vtd_regs_reset(struct vtd *u)
{
    for (unsigned i = 0; i < u->nregs; i++)
        u->regs[i].val = u->regs[i].reset;
    u->root_latched = false;
    vtd_qi_reset(u);
    vtd_ir_reset(u);
    atomic_store(&u->hot, u->fast_ok ? HOT_FAST : 0);
    atomic_store(&u->rta, 0);
    atomic_store(&u->plm_lo, 1);
    atomic_store(&u->plm_hi, 0);
    atomic_store(&u->phm_lo, 1);
    atomic_store(&u->phm_hi, 0);
}

uint64_t vtd_mmio_size(const struct vtd *u)
{
    return u ? u->mmio_size : 0;
}

static struct reg_desc *reg_at(struct vtd *u, uint64_t off)
{
    if (off >= u->mmio_size)
        return NULL;
    unsigned s = u->slot[off / 4];
    return s ? &u->regs[s - 1] : NULL;
}

static uint64_t reg_read(const struct reg_desc *d)
{
    if (d->kind == REG_COMMAND)
        return 0;
    return d->val & ~d->wo;
}

static bool access_ok(struct vtd *u, uint64_t off, unsigned size, bool write)
{
    const char *what = write ? "write" : "read";
    if (size != 4 && size != 8) {
        vtd_diagf(u, VTD_DIAG_MMIO_SIZE, 0, off, "MMIO %s of %u bytes at 0x%llx: only 4- and 8-byte accesses are defined",
                  what, size, (unsigned long long)off);
        return false;
    }
    if (off & (size - 1)) {
        vtd_diagf(u, VTD_DIAG_MMIO_UNALIGNED, 0, off, "MMIO %s of %u bytes at 0x%llx is not naturally aligned",
                  what, size, (unsigned long long)off);
        return false;
    }
    if (!reg_at(u, off) && !(size == 8 && reg_at(u, off + 4))) {
        vtd_diagf(u, VTD_DIAG_MMIO_UNKNOWN, 0, off, "MMIO %s at 0x%llx: no register of this unit is there",
                  what, (unsigned long long)off);
        return false;
    }
    return true;
}

uint64_t vtd_mmio_read(struct vtd *u, uint64_t off, unsigned size)
{
    if (!u || !access_ok(u, off, size, false))
        return 0;
    pthread_mutex_lock(&u->lock);
    uint64_t v = 0;
    struct reg_desc *d = reg_at(u, off);
    if (size == 8) {
        if (d && d->size == 8) {
            v = reg_read(d);
        } else {
            struct reg_desc *h = reg_at(u, off + 4);
            v = (d ? reg_read(d) : 0) | (h ? reg_read(h) << 32 : 0);
        }
    } else if (d->size == 4) {
        v = reg_read(d);
    } else {
        v = (reg_read(d) >> ((off - d->off) * 8)) & 0xFFFFFFFFULL;
    }
    pthread_mutex_unlock(&u->lock);
    return v;
}

/* Write `v` to the bits of d selected by wmask. */
static void reg_write(struct vtd *u, struct reg_desc *d, uint64_t v, uint64_t wmask)
{
    uint64_t wv = v & wmask;
    if (d->kind == REG_COMMAND) {
        d->on_write(u, d, 0, wv, wmask);
        return;
    }
    if (!(d->rw | d->w1c)) {
        vtd_diagf(u, VTD_DIAG_REG_READONLY, 0, d->off, "write to read-only register %s (0x%03x) ignored",
                  d->name, d->off);
        return;
    }
    uint64_t rsvd = wv & ~(d->rw | d->w1c | d->ro);
    if (rsvd)
        vtd_diagf(u, VTD_DIAG_REG_RESERVED, 0, d->off,
                  "write to %s (0x%03x) sets reserved bits 0x%llx; they read as 0", d->name, d->off,
                  (unsigned long long)rsvd);
    uint64_t old = d->val;
    uint64_t nv = (old & ~(d->rw & wmask)) | (wv & d->rw);
    nv &= ~(wv & d->w1c);
    d->val = nv;
    if (d->on_write)
        d->on_write(u, d, old, wv, wmask);
}

void vtd_mmio_write(struct vtd *u, uint64_t off, uint64_t value, unsigned size)
{
    if (!u || !access_ok(u, off, size, true))
        return;
    pthread_mutex_lock(&u->lock);
    struct reg_desc *d = reg_at(u, off);
    if (size == 8) {
        if (d && d->size == 8) {
            reg_write(u, d, value, ~0ULL);
        } else {
            struct reg_desc *h = reg_at(u, off + 4);
            if (d)
                reg_write(u, d, value & 0xFFFFFFFFULL, 0xFFFFFFFFULL);
            if (h)
                reg_write(u, h, value >> 32, 0xFFFFFFFFULL);
        }
    } else if (d->size == 4) {
        reg_write(u, d, value & 0xFFFFFFFFULL, 0xFFFFFFFFULL);
    } else {
        unsigned sh = (unsigned)(off - d->off) * 8;
        reg_write(u, d, (value & 0xFFFFFFFFULL) << sh, 0xFFFFFFFFULL << sh);
    }
    pthread_mutex_unlock(&u->lock);
}

/* ---- GCMD ---- */

static bool ttm_supported(const struct vtd *u, unsigned ttm)
{
    switch (ttm) {
    case VTD_TTM_LEGACY: return true;
    case VTD_TTM_SCALABLE: return u->cfg.ecap & VTD_ECAP_SMTS;
    case VTD_TTM_ABORT_DMA: return u->cfg.ecap & VTD_ECAP_ADMS;
    default: return false;
    }
}

static void set_hot(struct vtd *u, uint32_t bits, bool on)
{
    uint32_t h = atomic_load(&u->hot);
    atomic_store(&u->hot, on ? (h | bits) : (h & ~bits));
}

static void srtp(struct vtd *u)
{
    uint64_t r = u->r_rtaddr->val;
    unsigned ttm = (unsigned)VTD_FIELD_GET(r, 11, 10);
    if (!ttm_supported(u, ttm))
        vtd_diagf(u, VTD_DIAG_RTADDR_TTM, 0, VTD_REG_RTADDR,
                  "SRTP latched RTADDR.TTM=%u, which this unit does not support: every request will fault 30h",
                  ttm);
    atomic_store(&u->rta, r);
    set_hot(u, HOT_TTM_BAD, !ttm_supported(u, ttm));
    set_hot(u, HOT_ABORT, ttm == VTD_TTM_ABORT_DMA && ttm_supported(u, ttm));
    set_hot(u, HOT_SM, ttm == VTD_TTM_SCALABLE && ttm_supported(u, ttm));
    u->root_latched = true;
    u->r_gsts->val |= VTD_GSTS_RTPS;
}

static void gcmd_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)d, (void)old, (void)wmask;
    uint32_t cmd = (uint32_t)wval, gsts = (uint32_t)u->r_gsts->val;
    uint64_t cap = u->cfg.cap, ecap = u->cfg.ecap;
    uint32_t supported = VTD_GCMD_TE | VTD_GCMD_SRTP;
    if (cap & VTD_CAP_RWBF)
        supported |= VTD_GCMD_WBF;
    if (cap & VTD_CAP_AFL)
        supported |= VTD_GCMD_SFL | VTD_GCMD_EAFL;
    if (ecap & VTD_ECAP_QI)
        supported |= VTD_GCMD_QIE;
    if (ecap & VTD_ECAP_IR)
        supported |= VTD_GCMD_IRE | VTD_GCMD_SIRTP | VTD_GCMD_CFI;

    uint32_t unsup = cmd & ~supported & (VTD_GCMD_PERSISTENT | VTD_GCMD_ONESHOT);
    if (unsup == VTD_GCMD_WBF)
        vtd_diagf(u, VTD_DIAG_WBF_UNNEEDED, 0, VTD_REG_GCMD,
                  "GCMD.WBF written but CAP.RWBF is 0: this unit needs no write-buffer flush (ignored)");
    else if (unsup)
        vtd_diagf(u, VTD_DIAG_GCMD_UNSUPPORTED, 0, VTD_REG_GCMD,
                  "GCMD bits 0x%08x name commands this unit does not advertise (ignored)", unsup);
    if (cmd & ~(VTD_GCMD_PERSISTENT | VTD_GCMD_ONESHOT))
        vtd_diagf(u, VTD_DIAG_REG_RESERVED, 0, VTD_REG_GCMD, "GCMD write sets reserved bits 0x%08x",
                  cmd & ~(uint32_t)(VTD_GCMD_PERSISTENT | VTD_GCMD_ONESHOT));
    cmd &= supported;
    uint32_t persist_changes = (cmd ^ gsts) & VTD_GCMD_PERSISTENT & supported;
    uint32_t oneshots = cmd & VTD_GCMD_ONESHOT;
    unsigned n = (unsigned)__builtin_popcount(persist_changes) + (unsigned)__builtin_popcount(oneshots);
    if (n > 1)
        vtd_diagf(u, VTD_DIAG_GCMD_MULTI, 0, VTD_REG_GCMD,
                  "one GCMD write (0x%08x) carries %u commands; software must change one field at a time", cmd, n);
    if (oneshots && (persist_changes & gsts))
        vtd_diagf(u, VTD_DIAG_GCMD_PERSIST_DROPPED, 0, VTD_REG_GCMD,
                  "GCMD one-shot command written without the persistent bits 0x%08x of GSTS: they are turned off",
                  persist_changes & gsts);

    if (oneshots & VTD_GCMD_SRTP)
        srtp(u);
    if (oneshots & VTD_GCMD_SIRTP)
        vtd_ir_sirtp(u);
    /* WBF: nothing buffered in a software model; WBFS reads 0 once done. */
    if (persist_changes & VTD_GCMD_TE) {
        if (cmd & VTD_GCMD_TE) {
            if (!u->root_latched)
                vtd_diagf(u, VTD_DIAG_TE_NO_ROOT, 0, VTD_REG_GCMD,
                          "GCMD.TE set before any SRTP: the unit walks the root table at address 0");
            u->r_gsts->val |= VTD_GSTS_TES;
            set_hot(u, HOT_TE, true);
        } else {
            u->r_gsts->val &= ~(uint64_t)VTD_GSTS_TES;
            set_hot(u, HOT_TE, false);
            /* Rev 5.10 GCMD.TE: an SMTS unit invalidates all its DMA
             * remapping caches when translation is disabled */
            if (u->smts) {
                vtd_inval_pc_global(u);
                atomic_fetch_add(&u->ctx_epoch, 1);
                atomic_fetch_add(&u->ctx_ggen, 1);
                atomic_fetch_add(&u->tlb_epoch, 1);
                atomic_fetch_add(&u->tlb_ggen, 1);
                front_bump(u);
            }
            /* the next-record index restarts when TES and IRES are both clear */
            if (!(u->r_gsts->val & VTD_GSTS_IRES))
                u->fr_next = 0;
        }
    }
    if (persist_changes & VTD_GCMD_QIE)
        vtd_qi_gcmd(u, cmd & VTD_GCMD_QIE);
    if (persist_changes & (VTD_GCMD_IRE | VTD_GCMD_CFI))
        vtd_ir_gcmd(u, persist_changes, cmd);
}

/* ---- Fault status / event control ---- */

static void fsts_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)wval, (void)wmask;
    vtd_fault_status_update(u);
    if (((old & VTD_FSTS_IQE) && !(d->val & VTD_FSTS_IQE)) || ((old & VTD_FSTS_ITE) && !(d->val & VTD_FSTS_ITE)))
        vtd_qi_resume(u);
}

static void fectl_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)wval, (void)wmask;
    if ((old & VTD_ECTL_IM) && !(d->val & VTD_ECTL_IM))
        vtd_fault_unmask(u);
}

static void frcd_hi_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)d, (void)old, (void)wmask;
    if (wval & VTD_FRCD_HI_F)
        vtd_fault_status_update(u);
}

/* ---- Protected memory regions ---- */

static void pmr_update(struct vtd *u)
{
    uint64_t lb = u->r_plmbase->val, ll = u->r_plmlimit->val | 0xFFFFF;
    uint64_t hb = u->r_phmbase->val, hl = u->r_phmlimit->val | 0xFFFFF;
    bool plm = u->r_plmbase->rw && (u->r_plmlimit->val >= lb);
    bool phm = u->r_phmbase->rw && (u->r_phmlimit->val >= hb);
    atomic_store(&u->plm_lo, plm ? lb : 1);
    atomic_store(&u->plm_hi, plm ? ll : 0);
    atomic_store(&u->phm_lo, phm ? hb : 1);
    atomic_store(&u->phm_hi, phm ? hl : 0);
}

static void pmen_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)old, (void)wval, (void)wmask;
    bool on = d->val & VTD_PMEN_EPM;
    if (on)
        d->val |= VTD_PMEN_PRS;
    else
        d->val &= ~(uint64_t)VTD_PMEN_PRS;
    pmr_update(u);
    set_hot(u, HOT_PMR, on);
}

static void pmr_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)wval, (void)wmask;
    if (u->r_pmen->val & VTD_PMEN_PRS) {
        d->val = old;
        vtd_diagf(u, VTD_DIAG_PMR_CHANGE_ENABLED, 0, d->off,
                  "%s written while protected memory regions are enabled (PMEN.PRS=1): write dropped", d->name);
        return;
    }
    pmr_update(u);
}
