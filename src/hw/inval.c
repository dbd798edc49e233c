/* SPDX-License-Identifier: MIT */
/*
 * Register-based invalidation (spec "Register-based Invalidation Interface"):
 * the context command register (CCMD) and the IOTLB registers (IVA, IOTLB).
 * Commands complete before the MMIO write returns; the actual granularity is
 * reported in CAIG / IAIG, 00 meaning the request was rejected.
 */
#include "internal.h"

/* Requests the unit refuses whatever their granularity: 0, or why. */
static const char *rejected(struct vtd *u)
{
    if (u->ver_major >= 6)
        return "VER major >= 6: register-based invalidation is not supported (use queued invalidation)";
    if (u->r_gsts->val & VTD_GSTS_QIES)
        return "queued invalidation is enabled";
    if (VTD_FIELD_GET(atomic_load(&u->rta), 11, 10) != VTD_TTM_LEGACY)
        return "the latched RTADDR.TTM is not legacy mode";
    return NULL;
}

static int reject_code(struct vtd *u)
{
    if (u->ver_major >= 6)
        return VTD_DIAG_INVAL_VERSION;
    if (u->r_gsts->val & VTD_GSTS_QIES)
        return VTD_DIAG_INVAL_WHILE_QI;
    return VTD_DIAG_RTADDR_TTM;
}

void vtd_ccmd_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)old, (void)wmask;
    if (!(wval & VTD_CCMD_ICC))
        return;
    uint64_t v = d->val;
    unsigned cirg = (unsigned)VTD_FIELD_GET(v, 62, 61), caig = 0;
    uint16_t did = (uint16_t)(v & VTD_CCMD_DID_MASK), sid = (uint16_t)VTD_FIELD_GET(v, 31, 16);
    unsigned fm = (unsigned)VTD_FIELD_GET(v, 33, 32);
    atomic_fetch_add_explicit(&u->invalidations, 1, memory_order_relaxed);
    const char *why = rejected(u);
    if (why) {
        vtd_diagf(u, reject_code(u), 0, VTD_REG_CCMD, "CCMD invalidation rejected (CAIG=00): %s", why);
    } else {
        switch (cirg) {
        case VTD_CC_GLOBAL:
            vtd_inval_ctx_global(u);
            caig = VTD_CC_GLOBAL;
            break;
        case VTD_CC_DOMAIN:
            vtd_inval_ctx_domain(u, did);
            caig = VTD_CC_DOMAIN;
            break;
        case VTD_CC_DEVICE:
            vtd_inval_ctx_device(u, sid, fm);
            caig = VTD_CC_DEVICE;
            break;
        default:
            vtd_diagf(u, VTD_DIAG_CCMD_GRANULARITY, 0, VTD_REG_CCMD,
                      "CCMD written with ICC=1 and CIRG=00 (reserved): request rejected (CAIG=00)");
            break;
        }
    }
    d->val = (v & ~(VTD_CCMD_ICC | VTD_CCMD_CAIG_MASK)) | (uint64_t)caig << VTD_CCMD_CAIG_SHIFT;
}

void vtd_iotlb_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)old, (void)wmask;
    if (!(wval & VTD_IOTLB_IVT))
        return;
    uint64_t v = d->val, iva = u->r_iva->val;
    unsigned iirg = (unsigned)VTD_FIELD_GET(v, 61, 60), iaig = 0;
    uint16_t did = (uint16_t)VTD_FIELD_GET(v, 47, 32);
    unsigned am = (unsigned)(iva & VTD_IVA_AM_MASK);
    bool ih = iva & VTD_IVA_IH;
    uint64_t addr = iva & VTD_IVA_ADDR_MASK;
    atomic_fetch_add_explicit(&u->invalidations, 1, memory_order_relaxed);
    const char *why = rejected(u);
    if (why) {
        vtd_diagf(u, reject_code(u), 0, d->off, "IOTLB invalidation rejected (IAIG=00): %s", why);
    } else {
        switch (iirg) {
        case VTD_IOTLB_GLOBAL:
            vtd_inval_iotlb_global(u);
            iaig = VTD_IOTLB_GLOBAL;
            break;
        case VTD_IOTLB_DOMAIN:
            vtd_inval_iotlb_domain(u, did);
            iaig = VTD_IOTLB_DOMAIN;
            break;
        case VTD_IOTLB_PAGE:
            if (!u->psi) {
                /* a coarser invalidation is always allowed */
                vtd_diagf(u, VTD_DIAG_IOTLB_PSI_UNSUPPORTED, 0, d->off,
                          "page-selective IOTLB invalidation requested but CAP.PSI is 0: performed "
                          "domain-selectively (IAIG=10)");
                vtd_inval_iotlb_domain(u, did);
                iaig = VTD_IOTLB_DOMAIN;
            } else if (am > u->mamv) {
                vtd_diagf(u, VTD_DIAG_IOTLB_AM, 0, u->r_iva->off,
                          "IVA.AM=%u exceeds CAP.MAMV=%u: request rejected (IAIG=00)", am, u->mamv);
            } else {
                if (addr & ((1ULL << (VTD_PAGE_SHIFT + am)) - 1))
                    vtd_diagf(u, VTD_DIAG_IOTLB_ADDR_ALIGN, 0, u->r_iva->off,
                              "IVA.ADDR 0x%llx is not aligned to 2^AM=%llu pages: low bits ignored",
                              (unsigned long long)addr, 1ULL << am);
                vtd_inval_iotlb_page(u, did, addr, am, ih);
                iaig = VTD_IOTLB_PAGE;
            }
            break;
        default:
            vtd_diagf(u, VTD_DIAG_IOTLB_GRANULARITY, 0, d->off,
                      "IOTLB written with IVT=1 and IIRG=00 (reserved): request rejected (IAIG=00)");
            break;
        }
    }
    d->val = (v & ~(VTD_IOTLB_IVT | VTD_IOTLB_IAIG_MASK)) | (uint64_t)iaig << VTD_IOTLB_IAIG_SHIFT;
}
