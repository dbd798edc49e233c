/* SPDX-License-Identifier: MIT */
/*
 * Fault handling (Rev 5.10 §7.2, §11.4.11-14): primary fault records read
 * from FSTS.FRI on, decoded, reported and cleared (F is write-1-to-clear),
 * then the overflow (PFO) and the queue errors (IQE, ITE, ICE).
 */
#include "drv_internal.h"

static void decode(uint64_t lo, uint64_t hi, unsigned rec, struct vtd_drv_fault *f)
{
    vdrv_memset(f, 0, sizeof(*f));
    f->record = rec;
    f->reason = (uint8_t)VTD_FIELD_GET(hi, 39, 32);
    f->sid = (uint16_t)(hi & VTD_FRCD_HI_SID_MASK);
    bool t1 = hi & VTD_FRCD_HI_T1, t2 = hi & VTD_FRCD_HI_T2;
    f->access = (uint8_t)(t2 ? (t1 ? VTD_DRV_ACC_ATOMIC : VTD_DRV_ACC_PAGE_REQ)
                             : (t1 ? VTD_DRV_ACC_READ : VTD_DRV_ACC_WRITE));
    f->at = (uint8_t)VTD_FIELD_GET(hi, 61, 60);
    f->pasid_present = (hi & VTD_FRCD_HI_PP) != 0;
    f->pasid = (uint32_t)VTD_FIELD_GET(hi, 59, 40);
    f->priv = (hi & VTD_FRCD_HI_PRIV) != 0;
    f->exe = (hi & VTD_FRCD_HI_EXE) != 0;
    /* interrupt-remapping faults (20h-2Fh) carry the index in FI[63:48] */
    if (f->reason >= 0x20 && f->reason <= 0x2F) {
        f->kind = VTD_DRV_FAULT_IRQ;
        f->irte_index = (uint16_t)(lo >> 48);
    } else {
        f->kind = VTD_DRV_FAULT_DMA;
        f->addr = lo & VTD_FRCD_LO_FI_MASK;
    }
}

static int poll_locked(struct vtd_drv *d)
{
    int events = 0;
    uint32_t fsts = vdrv_rd32(d, VTD_REG_FSTS);
    if (fsts & VTD_FSTS_PPF) {
        unsigned i = (unsigned)VTD_FIELD_GET(fsts, 15, 8);
        if (i >= d->nfr)
            i = 0;
        /* records are filled in order from FRI; one may have been cleared
         * out of order, so every record is looked at once, from FRI on */
        for (unsigned n = 0; n < d->nfr; n++, i = (i + 1) % d->nfr) {
            uint32_t off = d->fro + i * VTD_FRCD_SIZE;
            uint64_t hi = vdrv_rd64(d, off + 8);
            if (!(hi & VTD_FRCD_HI_F))
                continue;
            uint64_t lo = vdrv_rd64(d, off);
            struct vtd_drv_fault f;
            decode(lo, hi, i, &f);
            vdrv_wr32(d, off + 12, 1u << 31); /* F, write 1 to clear */
            vdrv_report(d, &f);
            events++;
        }
    }
    if (fsts & VTD_FSTS_PFO) {
        struct vtd_drv_fault f;
        vdrv_memset(&f, 0, sizeof(f));
        f.kind = VTD_DRV_FAULT_OVERFLOW;
        vdrv_log(d, VTD_DRV_LOG_WARN, "primary fault overflow (PFO): faults were dropped", fsts);
        vdrv_wr32(d, VTD_REG_FSTS, (uint32_t)VTD_FSTS_PFO);
        vdrv_report(d, &f);
        events++;
    }
    vdrv_qi_errors(d, &events);
    return events;
}

int vtd_drv_fault_poll(struct vtd_drv *d)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = poll_locked(d);
    vdrv_unlock(d);
    return rc;
}
