/* SPDX-License-Identifier: MIT */
/*
 * Interrupt posting (CAP.PI, spec "Interrupt Posting"): a posted-format IRTE
 * names a 64-byte posted-interrupt descriptor; the unit sets the virtual
 * vector's bit in PIR and, when the descriptor asks for it, sets ON and sends
 * the notification event (NV to NDST) through host->msi.  The descriptor is
 * shared with the CPUs (a VMM clears ON and drains PIR concurrently), so
 * every update is a 64-bit compare-exchange on memory.
 */
#include "internal.h"

/* Compare-exchange through the host, or read + compare + write under the
 * unit lock when the host has no mem_cmpxchg64 (atomic only against other
 * users of this unit).  0 exchanged, 1 compare failed, <0 not backed. */
int vtd_host_cmpxchg(struct vtd *u, uint64_t pa, uint64_t *expected, uint64_t desired)
{
    if (u->host.mem_cmpxchg64)
        return u->host.mem_cmpxchg64(u->host.opaque, pa, expected, desired);
    int rc;
    uint64_t cur;
    pthread_mutex_lock(&u->lock);
    if (u->host.mem_read(u->host.opaque, pa, &cur, 8))
        rc = -1;
    else if (cur != *expected) {
        *expected = cur;
        rc = 1;
    } else
        rc = u->host.mem_write(u->host.opaque, pa, &desired, 8) ? -1 : 0;
    pthread_mutex_unlock(&u->lock);
    return rc;
}

int vtd_post_irq(struct vtd *u, uint64_t lo, uint64_t hi, bool eime, struct vtd_irq *o)
{
    uint64_t pda = (hi & VTD_GENMASK(63, 32)) | ((lo >> VTD_IRTE_PDAL_SHIFT) << 6);
    uint8_t vec = (uint8_t)(lo >> VTD_IRTE_V_SHIFT);
    bool urg = lo & VTD_IRTE_URG;
    o->kind = VTD_IRQ_POSTED;
    o->vector = vec;
    o->pid_addr = pda;
    /* control qword and the reserved bytes 40..63 */
    uint64_t d[4];
    if (u->host.mem_read(u->host.opaque, pda + VTD_PID_CTL_OFF, d, sizeof(d))) {
        vtd_diagf(u, VTD_DIAG_IR_PID, 0, pda,
                  "posted-interrupt descriptor at 0x%llx is in memory the platform does not back (27h)",
                  (unsigned long long)pda);
        return VTD_FR_IR_PID_READ_ERROR;
    }
    uint64_t rsvd = VTD_PID_CTL_RSVD | (eime ? 0 : VTD_PID_CTL_RSVD_XAPIC);
    if ((d[0] & rsvd) || d[1] || d[2] || d[3]) {
        vtd_diagf(u, VTD_DIAG_IR_PID, 0, pda,
                  "posted-interrupt descriptor at 0x%llx sets reserved bits (control 0x%016llx) (28h)",
                  (unsigned long long)pda, (unsigned long long)d[0]);
        return VTD_FR_IR_PID_RSVD;
    }
    /* PIR[vec]: atomic OR by compare-exchange */
    uint64_t pq = pda + (vec / 64) * 8, bit = 1ULL << (vec % 64), cur;
    if (u->host.mem_read(u->host.opaque, pq, &cur, 8))
        return VTD_FR_IR_PID_READ_ERROR;
    for (;;) {
        if (cur & bit)
            break; /* already pending: coalesced */
        int rc = vtd_host_cmpxchg(u, pq, &cur, cur | bit);
        if (rc == 0)
            break;
        if (rc < 0)
            return VTD_FR_IR_PID_READ_ERROR;
    }
    /* ON: set it if it was clear and (URG or not SN); that 0->1 edge, and
     * only it, sends the notification.  PIR is written first, so a VMM that
     * clears ON and then drains PIR never misses the bit set here. */
    uint64_t ctl = d[0];
    for (;;) {
        if ((ctl & VTD_PID_ON) || (!urg && (ctl & VTD_PID_SN)))
            return 0;
        int rc = vtd_host_cmpxchg(u, pda + VTD_PID_CTL_OFF, &ctl, ctl | VTD_PID_ON);
        if (rc == 0)
            break;
        if (rc < 0)
            return VTD_FR_IR_PID_READ_ERROR;
    }
    uint32_t ndst = (uint32_t)(ctl >> VTD_PID_NDST_SHIFT);
    uint32_t dest = eime ? ndst : (ndst >> 8) & 0xFF;
    uint64_t addr = VTD_MSI_ADDR_BASE | (uint64_t)(dest & 0xFF) << 12 | (uint64_t)(dest >> 8) << 40;
    o->notified = true;
    if (u->host.msi)
        u->host.msi(u->host.opaque, addr, (uint32_t)((ctl >> VTD_PID_NV_SHIFT) & 0xFF));
    return 0;
}
