/* SPDX-License-Identifier: MIT */
/* Unit life cycle: configuration, create/destroy/reset, diagnostics, stats. */
#define _XOPEN_SOURCE 700 /* PTHREAD_MUTEX_RECURSIVE */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Capabilities this model implements; any other bit makes vtd_create fail. */
#define CAP_IMPLEMENTED                                                                        \
    (VTD_CAP_ND_MASK | VTD_CAP_RWBF | VTD_CAP_PLMR | VTD_CAP_PHMR | VTD_CAP_CM |               \
     VTD_CAP_SAGAW_MASK | VTD_CAP_MGAW_MASK | VTD_CAP_ZLR | VTD_CAP_FRO_MASK |                 \
     VTD_CAP_SLLPS_MASK | VTD_CAP_PSI | VTD_CAP_NFR_MASK | VTD_CAP_MAMV_MASK | VTD_CAP_DWD |   \
     VTD_CAP_DRD | VTD_CAP_PI | VTD_CAP_ESIRTPS | VTD_CAP_FL1GP | VTD_CAP_FL5LP)
#define ECAP_IMPLEMENTED                                                                       \
    (VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_DT | VTD_ECAP_PT | VTD_ECAP_SC | VTD_ECAP_IRO_MASK | VTD_ECAP_ADMS | \
     VTD_ECAP_IR | VTD_ECAP_EIM | VTD_ECAP_SMTS | VTD_ECAP_PASID | VTD_ECAP_PSS_MASK | VTD_ECAP_SLTS |     \
     VTD_ECAP_SLADS | VTD_ECAP_SMPWCS | VTD_ECAP_RPS | VTD_ECAP_RPRIVS | VTD_ECAP_SRS | VTD_ECAP_FLTS |       \
     VTD_ECAP_NEST | VTD_ECAP_EAFS | VTD_ECAP_PRS | VTD_ECAP_PDS)
/* Scalable-mode features that need ECAP.SMTS */
#define ECAP_SM_ONLY                                                                                 \
    (VTD_ECAP_PASID | VTD_ECAP_PSS_MASK | VTD_ECAP_SLTS | VTD_ECAP_SLADS | VTD_ECAP_SMPWCS | VTD_ECAP_RPS | \
     VTD_ECAP_RPRIVS | VTD_ECAP_SRS | VTD_ECAP_FLTS | VTD_ECAP_NEST | VTD_ECAP_PRS | VTD_ECAP_MTS)

void vtd_config_default(struct vtd_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ver = 0x40;
    cfg->cap = VTD_FIELD_PREP(6, 2, 0) /* ND: 65536 domains */ | VTD_CAP_PLMR | VTD_CAP_PHMR |
               VTD_CAP_SAGAW_39 | VTD_CAP_SAGAW_48 | VTD_CAP_SAGAW_57 |
               VTD_FIELD_PREP(56, 21, 16) /* MGAW: 57 bits */ | VTD_CAP_ZLR |
               VTD_FIELD_PREP(0x40, 33, 24) /* FRO: 0x400 */ | VTD_CAP_SLLPS_2M | VTD_CAP_SLLPS_1G |
               VTD_CAP_PSI | VTD_FIELD_PREP(7, 47, 40) /* NFR: 8 records */ |
               VTD_FIELD_PREP(18, 53, 48) /* MAMV */ | VTD_CAP_DWD | VTD_CAP_DRD | VTD_CAP_PI;
    cfg->ecap = VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_DT | VTD_ECAP_IR | VTD_ECAP_EIM | VTD_ECAP_PT | VTD_ECAP_SC |
                VTD_FIELD_PREP(0x50, 17, 8) /* IRO: 0x500 */;
    cfg->haw = 52;
    cfg->iotlb_entries = 4096;
    cfg->iotlb_ways = 4;
    cfg->context_cache_entries = 1024;
    cfg->pasid_cache_entries = 0; /* no scalable mode in the default unit */
    cfg->pwc_entries = 1024;
    cfg->iec_entries = 256;
    cfg->check_stale = true;
}

void vtd_config_scalable(struct vtd_config *cfg)
{
    vtd_config_default(cfg);
    cfg->ver = 0x60;
    cfg->ecap |= VTD_ECAP_SMTS | VTD_ECAP_PASID | VTD_FIELD_PREP(19, 39, 35) /* PSS: 20-bit PASIDs */ |
                 VTD_ECAP_SLTS | VTD_ECAP_SLADS | VTD_ECAP_SMPWCS | VTD_ECAP_RPS | VTD_ECAP_RPRIVS |
                 VTD_ECAP_SRS | VTD_ECAP_ADMS | VTD_ECAP_FLTS | VTD_ECAP_NEST | VTD_ECAP_PRS | VTD_ECAP_PDS;
    cfg->cap |= VTD_CAP_FL1GP | VTD_CAP_FL5LP;
    cfg->pasid_cache_entries = 256;
}

void vtd_config_implemented(uint64_t *cap, uint64_t *ecap)
{
    if (cap)
        *cap = CAP_IMPLEMENTED;
    if (ecap)
        *ecap = ECAP_IMPLEMENTED;
}

const char *vtd_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case VTD_EINVAL: return "invalid argument or inconsistent configuration";
    case VTD_ENOMEM: return "out of memory";
    case VTD_ENOTSUP: return "capability not implemented by this model";
    case VTD_ENOENT: return "no usable context entry for this source-id";
    default: return "unknown error";
    }
}

static bool pow2(uint32_t x) { return x && !(x & (x - 1)); }

/* Checks a configuration; VTD_ENOTSUP for what the model lacks, VTD_EINVAL for
 * what no hardware could report; *why names the rule broken. */
#define BAD(code, msg)                                                                             \
    do {                                                                                           \
        *why = (msg);                                                                              \
        return (code);                                                                             \
    } while (0)
static int check_config(const struct vtd_config *c, const char **why)
{
    uint64_t cap = c->cap, ecap = c->ecap;
    if ((ecap & VTD_ECAP_DT) && !(ecap & VTD_ECAP_QI))
        BAD(VTD_EINVAL, "ECAP.DT without ECAP.QI"); /* the spec: DT=1 only with QI=1 */
    if ((ecap & VTD_ECAP_IR) && !(ecap & VTD_ECAP_QI))
        BAD(VTD_EINVAL, "ECAP.IR without ECAP.QI");
    if ((cap & VTD_CAP_PI) && !(ecap & VTD_ECAP_IR))
        BAD(VTD_EINVAL, "CAP.PI without ECAP.IR");
    if ((ecap & VTD_ECAP_EIM) && !(ecap & VTD_ECAP_IR))
        BAD(VTD_EINVAL, "ECAP.EIM without ECAP.IR");
    /* Rev 5.10 §11.4.3: SMTS only with QI; the scalable-mode fields only
     * with SMTS; SLADS only with SMPWCS; NEST only with FLTS and SLTS */
    if ((ecap & VTD_ECAP_SMTS) && !(ecap & VTD_ECAP_QI))
        BAD(VTD_EINVAL, "ECAP.SMTS without ECAP.QI");
    if ((ecap & ECAP_SM_ONLY) && !(ecap & VTD_ECAP_SMTS))
        BAD(VTD_EINVAL, "a scalable-mode ECAP field (PASID PSS SLTS SLADS SMPWCS RPS RPRIVS SRS FLTS "
                        "NEST PRS MTS) without ECAP.SMTS");
    if ((ecap & VTD_ECAP_SLADS) && !(ecap & VTD_ECAP_SMPWCS))
        BAD(VTD_EINVAL, "ECAP.SLADS without ECAP.SMPWCS");
    if ((ecap & VTD_ECAP_NEST) && (ecap & (VTD_ECAP_FLTS | VTD_ECAP_SLTS)) != (VTD_ECAP_FLTS | VTD_ECAP_SLTS))
        BAD(VTD_EINVAL, "ECAP.NEST without both ECAP.FLTS and ECAP.SLTS");
    /* PRS and PDS only with DT (and PRS, above, only with SMTS) */
    if ((ecap & (VTD_ECAP_PRS | VTD_ECAP_PDS)) && !(ecap & VTD_ECAP_DT))
        BAD(VTD_EINVAL, "ECAP.PRS or ECAP.PDS without ECAP.DT");
    if (ecap & VTD_ECAP_ERS) /* "implementations must report this field as Clear" */
        BAD(VTD_EINVAL, "ECAP.ERS set (implementations report it Clear)");
    /* EAFS only with FSTS and SMPWCS; the first-level page capabilities only with FSTS */
    if ((ecap & VTD_ECAP_EAFS) && (ecap & (VTD_ECAP_FLTS | VTD_ECAP_SMPWCS)) != (VTD_ECAP_FLTS | VTD_ECAP_SMPWCS))
        BAD(VTD_EINVAL, "ECAP.EAFS without both ECAP.FLTS and ECAP.SMPWCS");
    if ((cap & (VTD_CAP_FL1GP | VTD_CAP_FL5LP)) && !(ecap & VTD_ECAP_FLTS))
        BAD(VTD_EINVAL, "CAP.FL1GP or CAP.FL5LP without ECAP.FLTS");
    if (cap & ~CAP_IMPLEMENTED)
        BAD(VTD_ENOTSUP, "a CAP bit this model does not implement");
    if (ecap & ~ECAP_IMPLEMENTED)
        BAD(VTD_ENOTSUP, "an ECAP bit this model does not implement");
    if (VTD_FIELD_GET(cap, 2, 0) == 7) /* ND 111b reserved */
        BAD(VTD_EINVAL, "CAP.ND 111b (reserved)");
    unsigned sagaw = (unsigned)VTD_FIELD_GET(cap, 12, 8);
    if (!sagaw || (sagaw & 0x11))
        BAD(VTD_EINVAL, "CAP.SAGAW names no supported width, or sets a reserved bit");
    unsigned mgaw = (unsigned)VTD_FIELD_GET(cap, 21, 16) + 1;
    unsigned minw = (sagaw & 2) ? 39 : (sagaw & 4) ? 48 : 57;
    if (mgaw < minw || mgaw > 64)
        BAD(VTD_EINVAL, "CAP.MGAW narrower than the smallest CAP.SAGAW width");
    unsigned sllps = (unsigned)VTD_FIELD_GET(cap, 37, 34);
    if (sllps != 0 && sllps != 1 && sllps != 3)
        BAD(VTD_EINVAL, "CAP.SLLPS neither 0000b, 0001b nor 0011b");
    if (c->haw < 32 || c->haw > 52)
        BAD(VTD_EINVAL, "host address width (haw) outside 32..52");
    uint64_t fro = VTD_FIELD_GET(cap, 33, 24) * 16, nfr = VTD_FIELD_GET(cap, 47, 40) + 1;
    uint64_t iro = VTD_FIELD_GET(ecap, 17, 8) * 16;
    /* fixed registers end at 0x220 (MTRRs) and 0xE00-0xE2F (virtual commands) */
    uint64_t fro_end = fro + nfr * VTD_FRCD_SIZE, iro_end = iro + 16;
    if (fro < 0x220 || iro < 0x220)
        BAD(VTD_EINVAL, "CAP.FRO or ECAP.IRO below 0x220, among the fixed registers");
    if ((fro < 0xE30 && fro_end > 0xE00) || (iro < 0xE30 && iro_end > 0xE00))
        BAD(VTD_EINVAL, "CAP.FRO/NFR or ECAP.IRO overlap the virtual-command registers 0xE00-0xE2F");
    if (fro < iro_end && iro < fro_end)
        BAD(VTD_EINVAL, "the fault-recording registers (CAP.FRO, CAP.NFR) overlap the IOTLB registers (ECAP.IRO)");
    if (c->iotlb_entries && (!c->iotlb_ways || c->iotlb_entries % c->iotlb_ways ||
                             !pow2(c->iotlb_entries / c->iotlb_ways)))
        BAD(VTD_EINVAL, "iotlb_entries / iotlb_ways is not a power-of-two number of sets");
    if (c->context_cache_entries && !pow2(c->context_cache_entries))
        BAD(VTD_EINVAL, "context_cache_entries is not a power of two");
    if (c->pwc_entries && !pow2(c->pwc_entries))
        BAD(VTD_EINVAL, "pwc_entries is not a power of two");
    if (c->iec_entries && (!pow2(c->iec_entries) || c->iec_entries > 65536))
        BAD(VTD_EINVAL, "iec_entries is not a power of two up to 65536");
    if (c->pasid_cache_entries && (!pow2(c->pasid_cache_entries) || c->pasid_cache_entries > (1u << 20)))
        BAD(VTD_EINVAL, "pasid_cache_entries is not a power of two up to 2^20");
    if (c->iotlb_entries > (1u << 24) || c->context_cache_entries > (1u << 20) ||
        c->pwc_entries > (1u << 24))
        BAD(VTD_EINVAL, "a cache larger than the model allows");
    return 0;
}
#undef BAD

const char *vtd_config_problem(const struct vtd_config *cfg)
{
    const char *why = NULL;
    if (!cfg)
        return "no configuration";
    return check_config(cfg, &why) ? why : NULL;
}

static void derive(struct vtd *u)
{
    uint64_t cap = u->cfg.cap, ecap = u->cfg.ecap;
    u->ndomains = 1u << (4 + 2 * (unsigned)VTD_FIELD_GET(cap, 2, 0));
    u->mgaw = (uint8_t)(VTD_FIELD_GET(cap, 21, 16) + 1);
    u->sagaw = (uint8_t)VTD_FIELD_GET(cap, 12, 8);
    u->haw_mask = ~0ULL << u->cfg.haw;
    u->cm = cap & VTD_CAP_CM;
    u->zlr = cap & VTD_CAP_ZLR;
    u->sl2m = cap & VTD_CAP_SLLPS_2M;
    u->sl1g = cap & VTD_CAP_SLLPS_1G;
    u->psi = cap & VTD_CAP_PSI;
    u->mamv = (unsigned)VTD_FIELD_GET(cap, 53, 48);
    u->dt = ecap & VTD_ECAP_DT;
    u->pt = ecap & VTD_ECAP_PT;
    u->sc = ecap & VTD_ECAP_SC;
    u->nfr = (unsigned)VTD_FIELD_GET(cap, 47, 40) + 1;
    u->stale_check = u->cfg.check_stale && u->host.diag;
    u->fast_ok = !u->stale_check && u->cfg.iotlb_entries && u->cfg.context_cache_entries;
    u->miss_ok = !u->stale_check && u->cfg.context_cache_entries;
    u->ver_major = (uint8_t)VTD_VER_MAX(u->cfg.ver);

    /* reserved bits of present second-level entries, per level */
    uint64_t haw_bits = VTD_GENMASK(51, 12) & u->haw_mask;
    uint64_t leaf = haw_bits | (u->sc ? 0 : VTD_SL_SNP) | (u->dt ? 0 : VTD_SL_TM);
    u->rsvd_leaf[1] = leaf;
    u->rsvd_leaf[2] = leaf | VTD_GENMASK(20, 12) | (u->sl2m ? 0 : VTD_SL_PS);
    u->rsvd_leaf[3] = leaf | VTD_GENMASK(29, 12) | (u->sl1g ? 0 : VTD_SL_PS);
    for (unsigned l = 2; l <= 5; l++)
        u->rsvd_nonleaf[l] = haw_bits | VTD_SL_SNP | VTD_SL_TM | (l >= 4 ? VTD_SL_PS : 0);
    /* context high qword: bit 71, bits 127:88, and DID bits beyond CAP.ND */
    unsigned didbits = 4 + 2 * (unsigned)VTD_FIELD_GET(cap, 2, 0);
    u->rsvd_ctx_hi = VTD_CTX_HI_RSVD7 | VTD_CTX_HI_RSVD;
    if (didbits < 16)
        u->rsvd_ctx_hi |= VTD_GENMASK(23, 8 + didbits);

    /* scalable mode: fields of features not advertised are reserved */
    u->smts = ecap & VTD_ECAP_SMTS;
    u->rps = ecap & VTD_ECAP_RPS;
    u->rprivs = ecap & VTD_ECAP_RPRIVS;
    u->srs = ecap & VTD_ECAP_SRS;
    u->slts = ecap & VTD_ECAP_SLTS;
    u->slads = ecap & VTD_ECAP_SLADS;
    u->smpwc = ecap & VTD_ECAP_SMPWCS;
    u->pasid_bits = (ecap & VTD_ECAP_PASID) ? (unsigned)VTD_FIELD_GET(ecap, 39, 35) + 1 : 0;
    const bool flts = ecap & VTD_ECAP_FLTS;
    u->rsvd_smctx[0] = VTD_SMCTX_RSVD_LO | VTD_SMCTX_HPTE | VTD_SMCTX_EPTR | (u->dt ? 0 : VTD_SMCTX_DTE) |
                       ((ecap & VTD_ECAP_PASID) ? 0 : VTD_SMCTX_PASIDE) | ((ecap & VTD_ECAP_PRS) ? 0 : VTD_SMCTX_PRE) |
                       (VTD_SMCTX_PASIDDIRPTR_MASK & u->haw_mask);
    u->rsvd_smctx[1] = VTD_SMCTX_Q1_RSVD | (u->rps ? 0 : VTD_SMCTX_Q1_RID_PASID_MASK) |
                       (u->rprivs ? 0 : VTD_SMCTX_Q1_RID_PRIV);
    u->rsvd_pe[0] = VTD_PE_Q0_RSVD5 | VTD_PE_Q0_RSVD | (VTD_PE_Q0_SSPTPTR_MASK & u->haw_mask) |
                    (u->slts ? 0 : VTD_PE_Q0_AW_MASK | VTD_PE_Q0_SSPTPTR_MASK) |
                    ((u->slts && u->slads) ? 0 : VTD_PE_Q0_SSADE);
    u->rsvd_pe[1] = VTD_PE_Q1_RSVD | VTD_PE_Q1_RSVD2 | (u->smpwc ? 0 : VTD_PE_Q1_PWSNP) | (u->sc ? 0 : VTD_PE_Q1_PGSNP) |
                    ((ecap & VTD_ECAP_MTS) ? 0 : VTD_PE_Q1_CD | VTD_PE_Q1_EMTE | VTD_PE_Q1_PAT_MASK);
    if (didbits < 16)
        u->rsvd_pe[1] |= VTD_GENMASK(15, didbits);
    u->rsvd_pe[2] = VTD_PE_Q2_RSVD1 | VTD_PE_Q2_RSVD | (u->srs ? 0 : VTD_PE_Q2_SRE) |
                    (flts ? 0 : VTD_PE_Q2_FSPM_MASK | VTD_PE_Q2_WPE | VTD_PE_Q2_FSPTPTR_MASK) |
                    ((flts && (ecap & VTD_ECAP_EAFS)) ? 0 : VTD_PE_Q2_EAFE) | (VTD_PE_Q2_FSPTPTR_MASK & u->haw_mask);
    /* q3, q6, q7 reserved; q4, q5 the host permission table (no ECAP.HPTS) */
    u->rsvd_pe[3] = u->rsvd_pe[4] = u->rsvd_pe[5] = u->rsvd_pe[6] = u->rsvd_pe[7] = ~0ULL;
}

int vtd_create(const struct vtd_config *cfg, const struct vtd_host *host, struct vtd **out)
{
    struct vtd_config def;
    if (!out)
        return VTD_EINVAL;
    *out = NULL;
    if (!host || !host->mem_read || !host->mem_write)
        return VTD_EINVAL;
    if (!cfg) {
        vtd_config_default(&def);
        cfg = &def;
    }
    const char *why;
    int rc = check_config(cfg, &why);
    if (rc)
        return rc;
    struct vtd *u = calloc(1, sizeof(*u));
    if (!u)
        return VTD_ENOMEM;
    u->cfg = *cfg;
    u->host = *host;
    derive(u);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&u->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    rc = vtd_regs_init(u);
    if (!rc)
        rc = vtd_caches_init(u);
    if (rc) {
        vtd_destroy(u);
        return rc;
    }
    vtd_reset(u);
    *out = u;
    return 0;
}

void vtd_destroy(struct vtd *u)
{
    if (!u)
        return;
    vtd_caches_free(u);
    vtd_regs_free(u);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

void vtd_reset(struct vtd *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    vtd_regs_reset(u);
    vtd_fault_reset(u);
    vtd_caches_reset(u);
    for (unsigned i = 0; i < VTD_STAT_SLOTS; i++) {
        struct stat_slot *s = &u->stats[i];
        _Atomic uint64_t *c[] = {&s->translations, &s->iotlb_hits, &s->iotlb_misses, &s->ctx_hits,
                                 &s->ctx_misses, &s->pwc_hits, &s->pwc_misses, &s->walks,
                                 &s->mem_reads, &s->faults, &s->fast_hits};
        for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++)
            atomic_store(c[k], 0);
    }
    atomic_store(&u->faults_recorded, 0);
    atomic_store(&u->invalidations, 0);
    atomic_store(&u->diags, 0);
    pthread_mutex_unlock(&u->lock);
}

void vtd_diagf(struct vtd *u, int code, uint16_t sid, uint64_t addr, const char *fmt, ...)
{
    atomic_fetch_add_explicit(&u->diags, 1, memory_order_relaxed);
    if (!u->host.diag)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    struct vtd_diag d = {.code = code, .msg = buf, .sid = sid, .addr = addr};
    u->host.diag(u->host.opaque, &d);
}

/* Threads are numbered once, process-wide, so that each thread of a unit
 * counts into its own stat slot: no shared cache line on the hit path. */
static _Atomic unsigned thread_numbers;
_Thread_local unsigned vtd_thread_number;

struct stat_slot *vtd_stat_slot_slow(struct vtd *u)
{
    unsigned n = atomic_fetch_add_explicit(&thread_numbers, 1, memory_order_relaxed) + 1;
    vtd_thread_number = n;
    return &u->stats[n % VTD_STAT_SLOTS];
}

void vtd_get_stats(struct vtd *u, struct vtd_stats *out)
{
    if (!u || !out)
        return;
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < VTD_STAT_SLOTS; i++) {
        struct stat_slot *s = &u->stats[i];
        uint64_t fast = atomic_load(&s->fast_hits);
        out->translations += atomic_load(&s->translations) + fast;
        out->ctx_hits += fast;
        out->iotlb_hits += atomic_load(&s->iotlb_hits) + fast;
        out->iotlb_misses += atomic_load(&s->iotlb_misses);
        out->ctx_hits += atomic_load(&s->ctx_hits);
        out->ctx_misses += atomic_load(&s->ctx_misses);
        out->pwc_hits += atomic_load(&s->pwc_hits);
        out->pwc_misses += atomic_load(&s->pwc_misses);
        out->walks += atomic_load(&s->walks);
        out->mem_reads += atomic_load(&s->mem_reads);
        out->faults += atomic_load(&s->faults);
    }
    out->faults_recorded = atomic_load(&u->faults_recorded);
    out->invalidations = atomic_load(&u->invalidations);
    out->diags = atomic_load(&u->diags);
}
