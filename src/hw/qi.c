/* SPDX-License-Identifier: MIT */
/*
 * Queued invalidation (spec "Queued Invalidation Interface"): the
 * invalidation queue registers (IQH, IQT, IQA), invalidation completion
 * (ICS, IECTL, IEDATA, IEADDR, IEUADDR), the error record (IQERCD), and the
 * descriptors themselves.
 *
 * Processing is synchronous: a write to IQT (while GSTS.QIES=1 and FSTS.IQE=0)
 * fetches and carries out every descriptor from IQH up to the new IQT before
 * the MMIO write returns.  A descriptor the unit cannot process sets FSTS.IQE,
 * records why in IQERCD.IQEI and leaves IQH at that descriptor; fetching
 * resumes as soon as software clears FSTS.IQE (or on a later IQT write).
 *
 * Register behaviour taken from Intel's register descriptions: IQH is reset
 * to 0 whenever queued invalidation is disabled (QIES clear), and writing
 * IQA resets IQH and IQT to 0.  IQH advances past a descriptor only once it
 * has been fetched, found valid and carried out.
 *
 * Everything here runs with the unit lock held (MMIO writes).
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

#include <string.h>

#define QI_HOLD (-1) /* desc_run: the descriptor cannot complete yet */

struct qdesc {
    uint64_t q[4];   /* q[2], q[3] only with 256-bit descriptors */
    uint64_t addr;   /* where it was fetched */
    unsigned width;  /* 16 or 32 bytes */
    unsigned type;
};

/* 256-bit descriptors (IQA.DW=1) exist on units with scalable mode or
 * abort-DMA mode. */
static bool dw_supported(const struct vtd *u)
{
    return (u->cfg.ecap & (VTD_ECAP_SMTS | VTD_ECAP_ADMS)) != 0;
}

static uint16_t desc_did(const struct vtd *u, uint64_t lo)
{
    /* DID bits beyond CAP.ND are ignored (as in CCMD / IOTLB) */
    return (uint16_t)(VTD_FIELD_GET(lo, 31, 16) & (u->ndomains - 1));
}

/* Stop the queue: FSTS.IQE (fault event per the usual rules) and IQERCD.IQEI. */
static void iq_stop(struct vtd *u, unsigned iqei)
{
    u->r_iqercd->val = (u->r_iqercd->val & ~VTD_IQERCD_IQEI_MASK) | iqei;
    vtd_fault_status_set(u, VTD_FSTS_IQE);
}

/* iq_stop with a diagnostic naming the cause. */
static void iq_error(struct vtd *u, unsigned iqei, int code, uint64_t addr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void iq_error(struct vtd *u, unsigned iqei, int code, uint64_t addr, const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    vtd_diagf(u, code, 0, addr, "%s (FSTS.IQE, IQEI=%u)", buf, iqei);
    iq_stop(u, iqei);
}

static int rsvd_error(struct vtd *u, const struct qdesc *d, const char *what)
{
    vtd_diagf(u, VTD_DIAG_QI_DESC_RSVD, 0, d->addr,
              "%s descriptor at 0x%llx (0x%016llx 0x%016llx) sets reserved bits or a reserved granularity",
              what, (unsigned long long)d->addr, (unsigned long long)d->q[1], (unsigned long long)d->q[0]);
    return VTD_IQEI_RSVD;
}

static int type_error(struct vtd *u, const struct qdesc *d, const char *why)
{
    vtd_diagf(u, VTD_DIAG_QI_DESC_TYPE, 0, d->addr, "descriptor at 0x%llx has type %u: %s",
              (unsigned long long)d->addr, d->type, why);
    return VTD_IQEI_TYPE;
}

/* ---- invalidation completion event (IECTL / IEDATA / IEADDR / IEUADDR) ---- */

static void ie_send(struct vtd *u)
{
    uint64_t addr = u->r_ieuaddr->val << 32 | u->r_ieaddr->val;
    u->r_iectl->val &= ~(uint64_t)VTD_ECTL_IP;
    if (u->host.msi)
        u->host.msi(u->host.opaque, addr, (uint32_t)u->r_iedata->val);
}

/* ---- descriptors ---- */

static int desc_cc(struct vtd *u, const struct qdesc *d)
{
    uint64_t lo = d->q[0];
    if ((lo & VTD_DESC_CC_RSVD_LO) || d->q[1])
        return rsvd_error(u, d, "context-cache");
    switch ((unsigned)VTD_FIELD_GET(lo, 5, 4)) {
    case VTD_CC_GLOBAL: vtd_inval_ctx_global(u); return 0;
    case VTD_CC_DOMAIN: vtd_inval_ctx_domain(u, desc_did(u, lo)); return 0;
    case VTD_CC_DEVICE:
        vtd_inval_ctx_device(u, (uint16_t)VTD_FIELD_GET(lo, 47, 32), (unsigned)VTD_FIELD_GET(lo, 49, 48));
        return 0;
    default: return rsvd_error(u, d, "context-cache (G=00)");
    }
}

static int desc_iotlb(struct vtd *u, const struct qdesc *d)
{
    uint64_t lo = d->q[0], hi = d->q[1];
    if ((lo & VTD_DESC_IOTLB_RSVD_LO) || (hi & VTD_DESC_IOTLB_RSVD_HI))
        return rsvd_error(u, d, "IOTLB");
    uint16_t did = desc_did(u, lo);
    /* DR/DW (drain): nothing is buffered in a synchronous model */
    switch ((unsigned)VTD_FIELD_GET(lo, 5, 4)) {
    case VTD_IOTLB_GLOBAL: vtd_inval_iotlb_global(u); return 0;
    case VTD_IOTLB_DOMAIN: vtd_inval_iotlb_domain(u, did); return 0;
    case VTD_IOTLB_PAGE: {
        unsigned am = (unsigned)(hi & VTD_DESC_IOTLB_AM_MASK);
        bool ih = hi & VTD_DESC_IOTLB_IH;
        uint64_t addr = hi & VTD_DESC_ADDR_MASK;
        if (!u->psi) {
            /* a coarser invalidation is always allowed */
            vtd_diagf(u, VTD_DIAG_IOTLB_PSI_UNSUPPORTED, 0, d->addr,
                      "page-selective IOTLB descriptor at 0x%llx but CAP.PSI is 0: performed domain-selectively",
                      (unsigned long long)d->addr);
            vtd_inval_iotlb_domain(u, did);
            return 0;
        }
        if (am > u->mamv) {
            vtd_diagf(u, VTD_DIAG_QI_IOTLB_AM, 0, d->addr,
                      "IOTLB descriptor at 0x%llx: AM=%u exceeds CAP.MAMV=%u", (unsigned long long)d->addr, am,
                      u->mamv);
            return VTD_IQEI_RSVD;
        }
        if (addr & ((1ULL << (VTD_PAGE_SHIFT + am)) - 1))
            vtd_diagf(u, VTD_DIAG_IOTLB_ADDR_ALIGN, 0, d->addr,
                      "IOTLB descriptor at 0x%llx: ADDR 0x%llx is not aligned to 2^AM=%llu pages: low bits ignored",
                      (unsigned long long)d->addr, (unsigned long long)addr, 1ULL << am);
        vtd_inval_iotlb_page(u, did, addr, am, ih);
        return 0;
    }
    default: return rsvd_error(u, d, "IOTLB (G=00)");
    }
}

/* Device-TLB invalidation (with or without PASID): handed to the endpoint
 * through the host; S: the size is encoded in ADDR. */
static void devtlb_send(struct vtd *u, const struct qdesc *d, uint16_t sid, uint16_t pfsid, uint64_t hi, bool s,
                        uint32_t pasid, bool pasid_valid, bool global);

static int desc_devtlb(struct vtd *u, const struct qdesc *d)
{
    if (!u->dt)
        return type_error(u, d, "device-TLB invalidation needs ECAP.DT");
    uint64_t lo = d->q[0], hi = d->q[1];
    if ((lo & VTD_DESC_DEVTLB_RSVD_LO) || (hi & VTD_DESC_DEVTLB_RSVD_HI))
        return rsvd_error(u, d, "device-TLB");
    uint16_t sid = (uint16_t)VTD_FIELD_GET(lo, 47, 32);
    uint16_t pfsid = (uint16_t)(VTD_FIELD_GET(lo, 15, 12) | VTD_FIELD_GET(lo, 63, 52) << 4);
    devtlb_send(u, d, sid, pfsid, hi, hi & VTD_DESC_DEVTLB_S, 0, false, false);
    return 0;
}

/* PASID-based device-TLB invalidation (type 8): SID 31:16, PASID 51:32,
 * PFSID 15:12 and 63:52, MIP 8:4; q1: GI 0, S 11, ADDR 63:12. */
static int desc_pdevtlb(struct vtd *u, const struct qdesc *d)
{
    if (!u->dt)
        return type_error(u, d, "PASID-based device-TLB invalidation needs ECAP.DT");
    uint64_t lo = d->q[0], hi = d->q[1];
    if ((hi & VTD_GENMASK(10, 1)) || d->q[2] || d->q[3])
        return rsvd_error(u, d, "PASID-based device-TLB");
    uint16_t sid = (uint16_t)VTD_FIELD_GET(lo, 31, 16);
    uint16_t pfsid = (uint16_t)(VTD_FIELD_GET(lo, 15, 12) | VTD_FIELD_GET(lo, 63, 52) << 4);
    bool gi = hi & 1;
    devtlb_send(u, d, sid, pfsid, hi, hi & VTD_BIT(11), (uint32_t)VTD_FIELD_GET(lo, 51, 32), true, gi);
    return 0;
}

/* PASID-based IOTLB invalidation (type 6): G 5:4 (10 PASID, 11 page), DID
 * 31:16, PASID 51:32; q1: AM 5:0, IH 6, ADDR 63:12. */
static int desc_piotlb(struct vtd *u, const struct qdesc *d)
{
    uint64_t lo = d->q[0], hi = d->q[1];
    if ((lo & VTD_DESC_PIOTLB_RSVD_LO) || (hi & VTD_DESC_IOTLB_RSVD_HI) ||
        d->q[2] || d->q[3])
        return rsvd_error(u, d, "PASID-based IOTLB");
    uint16_t did = desc_did(u, lo);
    uint32_t pasid = (uint32_t)VTD_FIELD_GET(lo, 51, 32);
    switch ((unsigned)VTD_FIELD_GET(lo, 5, 4)) {
    case 2: vtd_inval_piotlb_pasid(u, did, pasid); return 0;
    case 3: {
        unsigned am = (unsigned)(hi & VTD_DESC_IOTLB_AM_MASK);
        if (am > u->mamv) {
            vtd_diagf(u, VTD_DIAG_QI_IOTLB_AM, 0, d->addr,
                      "PASID-based IOTLB descriptor at 0x%llx: AM=%u exceeds CAP.MAMV=%u",
                      (unsigned long long)d->addr, am, u->mamv);
            return VTD_IQEI_RSVD;
        }
        vtd_inval_piotlb_page(u, did, pasid, hi & VTD_DESC_ADDR_MASK, am, hi & VTD_DESC_IOTLB_IH);
        return 0;
    }
    default: return rsvd_error(u, d, "PASID-based IOTLB (G=00/01)");
    }
}

/* PASID-cache invalidation (type 7): G 5:4 (00 domain, 01 PASID within
 * domain, 11 global), DID 31:16, PASID 51:32. */
static int desc_pc(struct vtd *u, const struct qdesc *d)
{
    uint64_t lo = d->q[0];
    if ((lo & (VTD_GENMASK(8, 6) | VTD_GENMASK(15, 12) | VTD_GENMASK(63, 52))) || d->q[1] || d->q[2] || d->q[3])
        return rsvd_error(u, d, "PASID-cache");
    uint16_t did = desc_did(u, lo);
    switch ((unsigned)VTD_FIELD_GET(lo, 5, 4)) {
    case 0: vtd_inval_pc_domain(u, did); return 0;
    case 1: vtd_inval_pc_pasid(u, did, (uint32_t)VTD_FIELD_GET(lo, 51, 32)); return 0;
    case 3: vtd_inval_pc_global(u); return 0;
    default: return rsvd_error(u, d, "PASID-cache (G=10)");
    }
}

static void devtlb_send(struct vtd *u, const struct qdesc *d, uint16_t sid, uint16_t pfsid, uint64_t hi, bool s,
                        uint32_t pasid, bool pasid_valid, bool global)
{
    uint64_t addr = hi & VTD_DESC_ADDR_MASK, size = VTD_PAGE_SIZE;
    if (s) {
        /* the lowest 0 bit of ADDR at or above bit 12, k, gives 2^(k+1) bytes;
         * ADDR all ones from bit 12 up (or k = 63): the whole space (size 0) */
        uint64_t zeros = ~addr & VTD_DESC_ADDR_MASK;
        unsigned k = zeros ? (unsigned)__builtin_ctzll(zeros) : 64;
        if (k >= 63) {
            addr = 0;
            size = 0;
        } else {
            size = 1ULL << (k + 1);
            addr &= ~(size - 1);
        }
    }
    if (u->host.devtlb_inval &&
        u->host.devtlb_inval(u->host.opaque, sid, pfsid, addr, size, pasid, pasid_valid, global) ==
            VTD_DEVTLB_PENDING) {
        if (u->devtlb_npending == sizeof(u->devtlb_pending) / sizeof(u->devtlb_pending[0])) {
            vtd_diagf(u, VTD_DIAG_QI_DEVTLB_OVERFLOW, sid, d->addr,
                      "more than %u device-TLB invalidations pending: the oldest is treated as completed",
                      u->devtlb_npending);
            memmove(u->devtlb_pending, u->devtlb_pending + 1, (u->devtlb_npending - 1) * sizeof(uint16_t));
            u->devtlb_npending--;
        }
        u->devtlb_pending[u->devtlb_npending++] = sid;
    }
}

static int desc_wait(struct vtd *u, const struct qdesc *d)
{
    uint64_t lo = d->q[0], hi = d->q[1];
    uint64_t rsvd_lo = VTD_DESC_WAIT_RSVD_LO | ((u->cfg.ecap & VTD_ECAP_PDS) ? 0 : VTD_DESC_WAIT_PD);
    if ((lo & rsvd_lo) || (hi & VTD_DESC_WAIT_RSVD_HI))
        return rsvd_error(u, d, "invalidation wait");
    /* a wait completes only after every earlier descriptor has: device-TLB
     * invalidations the endpoints have not completed hold it */
    if (u->devtlb_npending) {
        u->qi_held = true;
        return QI_HOLD;
    }
    u->qi_held = false;
    /* FN (fence) and PD (drain): every earlier descriptor has completed
     * already in this model, and every page request received has been
     * written to the page request queue (prq.c is synchronous). */
    if (lo & VTD_DESC_WAIT_SW) {
        uint32_t v = (uint32_t)(lo >> VTD_DESC_WAIT_STDATA_SHIFT);
        uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        uint64_t pa = hi & VTD_DESC_WAIT_ADDR_MASK;
        if (u->host.mem_write(u->host.opaque, pa, b, sizeof(b)))
            vtd_diagf(u, VTD_DIAG_QI_WAIT_WRITE, 0, d->addr,
                      "wait descriptor at 0x%llx: status write to 0x%llx, which the platform does not back, dropped",
                      (unsigned long long)d->addr, (unsigned long long)pa);
    }
    if (lo & VTD_DESC_WAIT_IF) {
        /* an event only when IWC goes 0 -> 1 */
        if (!(u->r_ics->val & VTD_ICS_IWC)) {
            u->r_ics->val |= VTD_ICS_IWC;
            u->r_iectl->val |= VTD_ECTL_IP;
            if (!(u->r_iectl->val & VTD_ECTL_IM))
                ie_send(u);
        }
    }
    return 0;
}

/* Carry out one descriptor: 0, or the IQEI value that stops the queue. */
/* Page group response (type 9, §7.6.1, 256-bit only): q0 PP 4, RC 15:12,
 * RID 31:16, PASID 51:32; q1 IGN 2:0, PRGI 11:3; the rest RsvdZ. */
static int desc_pgrp_resp(struct vtd *u, const struct qdesc *d)
{
    if (!(u->cfg.ecap & VTD_ECAP_PRS))
        return type_error(u, d, "page group response needs ECAP.PRS");
    if (d->width != 32)
        return type_error(u, d, "page group response is a 256-bit descriptor (set IQA.DW=1)");
    uint64_t lo = d->q[0], hi = d->q[1];
    if ((lo & (VTD_GENMASK(8, 5) | VTD_GENMASK(63, 52))) || (hi & VTD_GENMASK(63, 12)) || d->q[2] || d->q[3])
        return rsvd_error(u, d, "page group response");
    struct vtd_page_resp r = {
        .sid = (uint16_t)VTD_FIELD_GET(lo, 31, 16),
        .pasid_valid = lo & VTD_BIT(4),
        .pasid = (lo & VTD_BIT(4)) ? (uint32_t)VTD_FIELD_GET(lo, 51, 32) : 0,
        .prgi = (uint16_t)VTD_FIELD_GET(hi, 11, 3),
        .code = (uint8_t)VTD_FIELD_GET(lo, 15, 12),
    };
    if (u->host.page_response)
        u->host.page_response(u->host.opaque, &r);
    return 0;
}

static int desc_run(struct vtd *u, struct qdesc *d)
{
    uint64_t lo = d->q[0];
    d->type = (unsigned)(lo & VTD_DESC_TYPE_LO_MASK) | (unsigned)VTD_FIELD_GET(lo, 11, 9) << 4;
    /* Table 26: in scalable mode no 128-bit descriptor is valid; types 6-8
     * only in scalable mode */
    const bool sm = atomic_load_explicit(&u->hot, memory_order_acquire) & HOT_SM;
    if (sm && d->width == 16)
        return type_error(u, d, "128-bit descriptors are invalid in scalable mode (set IQA.DW=1)");
    if (!sm && (d->type == VTD_DESC_PIOTLB || d->type == VTD_DESC_PC || d->type == VTD_DESC_PDEVTLB))
        return type_error(u, d, "PASID-based invalidation is valid only in scalable mode (RTADDR.TTM=01)");
    switch (d->type) {
    case VTD_DESC_CC:
    case VTD_DESC_IOTLB:
    case VTD_DESC_DEVTLB:
    case VTD_DESC_WAIT:
        /* the upper half of a 256-bit descriptor is reserved for these */
        if (d->width == 32 && (d->q[2] | d->q[3]))
            return rsvd_error(u, d, "256-bit");
        break;
    default: break;
    }
    switch (d->type) {
    case VTD_DESC_CC: return desc_cc(u, d);
    case VTD_DESC_IOTLB: return desc_iotlb(u, d);
    case VTD_DESC_DEVTLB: return desc_devtlb(u, d);
    case VTD_DESC_WAIT: return desc_wait(u, d);
    case VTD_DESC_IEC:
        if (!(u->cfg.ecap & VTD_ECAP_IR))
            return type_error(u, d, "interrupt entry cache invalidation needs ECAP.IR");
        if (d->width == 32 && (d->q[2] | d->q[3]))
            return rsvd_error(u, d, "256-bit");
        if (vtd_qi_iec(u, d->q[0], d->q[1]))
            return rsvd_error(u, d, "interrupt entry cache");
        return 0;
    case VTD_DESC_PIOTLB: return desc_piotlb(u, d);
    case VTD_DESC_PC: return desc_pc(u, d);
    case VTD_DESC_PDEVTLB: return desc_pdevtlb(u, d);
    case VTD_DESC_PGRP_RESP: return desc_pgrp_resp(u, d);
    default: return type_error(u, d, "no such descriptor type");
    }
}

static void qi_run_now(struct vtd *u);

/* The unit's own trigger points (IQT write, QIE set, IQE/ITE cleared, a
 * completion): process now, unless the embedder asked to run the queue from
 * its own thread (vtd_config.qi_async), in which case vtd_qi_run() does it. */
static void qi_process(struct vtd *u)
{
    if (!u->cfg.qi_async)
        qi_run_now(u);
}

int vtd_qi_run(struct vtd *u)
{
    if (!u)
        return VTD_EINVAL;
    if (!u->r_iqh)
        return VTD_ENOTSUP;
    pthread_mutex_lock(&u->lock);
    uint64_t before = u->r_iqh->val;
    qi_run_now(u);
    int moved = u->r_iqh->val != before;
    pthread_mutex_unlock(&u->lock);
    return moved;
}

/* Fetch and carry out descriptors from IQH up to IQT. */
static void qi_run_now(struct vtd *u)
{
    if (!u->r_iqh || u->qi_running)
        return; /* a nested call: the running loop sees the new IQT */
    u->qi_running = true;
    while ((u->r_gsts->val & VTD_GSTS_QIES) && !(u->r_fsts->val & (VTD_FSTS_IQE | VTD_FSTS_ITE))) {
        uint64_t iqa = u->r_iqa->val, tail = u->r_iqt->val & VTD_IQT_QT_MASK, head = u->r_iqh->val;
        if (head == tail)
            break;
        bool dw = iqa & VTD_IQA_DW;
        if (dw && !dw_supported(u)) {
            iq_error(u, VTD_IQEI_WIDTH, VTD_DIAG_QI_WIDTH, VTD_REG_IQA,
                     "IQA.DW=1 (256-bit descriptors) but the unit has neither ECAP.SMTS nor ECAP.ADMS");
            break;
        }
        uint64_t qbytes = VTD_PAGE_SIZE << (iqa & VTD_IQA_QS_MASK);
        if (dw && (tail & VTD_BIT(4))) {
            iq_error(u, VTD_IQEI_TAIL_ALIGN, VTD_DIAG_QI_TAIL_ALIGN, VTD_REG_IQT,
                     "IQT 0x%llx is not 256-bit aligned (bit 4 set with IQA.DW=1)", (unsigned long long)tail);
            break;
        }
        if (tail >= qbytes) {
            iq_error(u, VTD_IQEI_TAIL, VTD_DIAG_QI_BAD_TAIL, VTD_REG_IQT,
                     "IQT 0x%llx is beyond the queue of %llu bytes (IQA.QS=%u)", (unsigned long long)tail,
                     (unsigned long long)qbytes, (unsigned)(iqa & VTD_IQA_QS_MASK));
            break;
        }
        struct qdesc d = {.addr = (iqa & VTD_IQA_IQA_MASK) + head, .width = dw ? 32u : 16u};
        if (u->host.mem_read(u->host.opaque, d.addr, d.q, d.width)) {
            iq_error(u, VTD_IQEI_FETCH, VTD_DIAG_QI_FETCH_ERROR, d.addr,
                     "descriptor fetch at 0x%llx (IQH 0x%llx) from memory the platform does not back",
                     (unsigned long long)d.addr, (unsigned long long)head);
            break;
        }
        uint32_t epoch = u->qi_epoch;
        int iqei = desc_run(u, &d);
        if (iqei == QI_HOLD)
            break; /* IQH stays at the wait descriptor until completions come */
        if (iqei) {
            iq_stop(u, (unsigned)iqei); /* desc_run reported why; IQH stays at the descriptor */
            break;
        }
        /* a callback may have disabled the queue or rewritten IQA */
        if (epoch == u->qi_epoch)
            u->r_iqh->val = (head + d.width) & (qbytes - 1);
    }
    u->qi_running = false;
}

/* ---- register handlers ---- */

void vtd_iqt_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)d, (void)old, (void)wval, (void)wmask;
    qi_process(u);
}

void vtd_iqa_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)d, (void)old, (void)wval, (void)wmask;
    if (u->r_gsts->val & VTD_GSTS_QIES)
        vtd_diagf(u, VTD_DIAG_QI_IQA_WHILE_ENABLED, 0, VTD_REG_IQA,
                  "IQA written while queued invalidation is enabled (GSTS.QIES=1): IQH and IQT reset to 0");
    u->r_iqh->val = 0;
    u->r_iqt->val = 0;
    u->qi_epoch++;
}

void vtd_ics_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)old, (void)wval, (void)wmask;
    /* servicing IWC clears a pending (masked) completion event */
    if (!(d->val & VTD_ICS_IWC))
        u->r_iectl->val &= ~(uint64_t)VTD_ECTL_IP;
}

void vtd_iectl_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask)
{
    (void)wval, (void)wmask;
    if ((old & VTD_ECTL_IM) && !(d->val & VTD_ECTL_IM) && (d->val & VTD_ECTL_IP))
        ie_send(u);
}

void vtd_qi_gcmd(struct vtd *u, bool enable)
{
    if (!u->r_iqh)
        return;
    if (enable) {
        u->r_gsts->val |= VTD_GSTS_QIES;
        qi_process(u); /* IQT may already be ahead of IQH */
        return;
    }
    uint64_t head = u->r_iqh->val, tail = u->r_iqt->val & VTD_IQT_QT_MASK;
    if (head != tail)
        vtd_diagf(u, VTD_DIAG_QI_DISABLE_PENDING, 0, VTD_REG_GCMD,
                  "GCMD.QIE cleared with descriptors pending (IQH 0x%llx, IQT 0x%llx): they are dropped",
                  (unsigned long long)head, (unsigned long long)tail);
    u->r_gsts->val &= ~(uint64_t)VTD_GSTS_QIES;
    u->r_iqh->val = 0;
    u->qi_epoch++;
}

void vtd_qi_resume(struct vtd *u)
{
    qi_process(u);
}

void vtd_qi_reset(struct vtd *u)
{
    u->qi_running = false;
    u->qi_epoch = 0;
    u->devtlb_npending = 0;
    u->qi_held = false;
}

int vtd_devtlb_complete(struct vtd *u, uint16_t sid)
{
    if (!u)
        return VTD_EINVAL;
    pthread_mutex_lock(&u->lock);
    unsigned i = 0;
    while (i < u->devtlb_npending && u->devtlb_pending[i] != sid)
        i++;
    if (i == u->devtlb_npending) {
        int rc = VTD_EINVAL;
        if (u->r_iqercd && u->dt) {
            /* ICE: an invalidation completion the unit did not ask for */
            u->r_iqercd->val = (u->r_iqercd->val & ~VTD_GENMASK(63, 48)) | (uint64_t)sid << VTD_IQERCD_ICESID_SHIFT;
            vtd_fault_status_set(u, VTD_FSTS_ICE);
        }
        vtd_diagf(u, VTD_DIAG_QI_UNEXPECTED_COMPLETION, sid, 0,
                  "device-TLB invalidation completion from %02x:%02x.%u with none pending (ICE)", sid >> 8,
                  (sid >> 3) & 31, sid & 7);
        pthread_mutex_unlock(&u->lock);
        return rc;
    }
    memmove(u->devtlb_pending + i, u->devtlb_pending + i + 1, (u->devtlb_npending - i - 1) * sizeof(uint16_t));
    u->devtlb_npending--;
    if (!u->devtlb_npending && u->qi_held)
        qi_process(u);
    pthread_mutex_unlock(&u->lock);
    return 0;
}

int vtd_devtlb_timeout(struct vtd *u)
{
    if (!u)
        return VTD_EINVAL;
    pthread_mutex_lock(&u->lock);
    int n = (int)u->devtlb_npending;
    if (n) {
        uint16_t sid = u->devtlb_pending[0];
        u->r_iqercd->val = (u->r_iqercd->val & ~VTD_GENMASK(47, 32)) | (uint64_t)sid << VTD_IQERCD_ITESID_SHIFT;
        u->devtlb_npending = 0;
        if (u->qi_held) {
            /* the held wait descriptor is aborted: IQH moves past it */
            uint64_t iqa = u->r_iqa->val, qbytes = VTD_PAGE_SIZE << (iqa & VTD_IQA_QS_MASK);
            u->r_iqh->val = (u->r_iqh->val + ((iqa & VTD_IQA_DW) ? 32 : 16)) & (qbytes - 1);
            u->qi_held = false;
        }
        vtd_diagf(u, VTD_DIAG_QI_DEVTLB_TIMEOUT, sid, 0,
                  "%d device-TLB invalidation(s) timed out, the first for %02x:%02x.%u (ITE)", n, sid >> 8,
                  (sid >> 3) & 31, sid & 7);
        vtd_fault_status_set(u, VTD_FSTS_ITE);
    }
    pthread_mutex_unlock(&u->lock);
    return n;
}
