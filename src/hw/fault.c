/* SPDX-License-Identifier: MIT */
/*
 * Primary fault logging (spec "Fault Logging"): fault recording registers
 * filled in order from the unit's next-record index, FSTS (PFO, PPF, FRI),
 * same-source collapsing, and the fault event (FECTL IM/IP, FEDATA/FEADDR/
 * FEUADDR).
 */
#include "internal.h"

#define FSTS_EVENT_STATUS (VTD_FSTS_PFO | VTD_FSTS_PPF | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE)

static struct reg_desc *frcd_lo(struct vtd *u, unsigned i) { return &u->r_frcd[2 * i]; }
static struct reg_desc *frcd_hi(struct vtd *u, unsigned i) { return &u->r_frcd[2 * i + 1]; }

static void send_event(struct vtd *u)
{
    uint64_t addr = u->r_feuaddr->val << 32 | u->r_feaddr->val;
    u->r_fectl->val &= ~(uint64_t)VTD_ECTL_IP;
    if (u->host.msi)
        u->host.msi(u->host.opaque, addr, (uint32_t)u->r_fedata->val);
}

/* A new fault condition: IP set, and the MSI sent unless masked. */
static void raise_event(struct vtd *u)
{
    u->r_fectl->val |= VTD_ECTL_IP;
    if (!(u->r_fectl->val & VTD_ECTL_IM))
        send_event(u);
}

/* Largest AGAW the unit supports: FI bits at and above it are reserved. */
static uint64_t fi_mask(const struct vtd *u)
{
    unsigned w = (u->sagaw & 8) ? 57 : (u->sagaw & 4) ? 48 : 39;
    return VTD_GENMASK(w - 1, 12);
}

bool vtd_fault_record(struct vtd *u, const struct fault *f)
{
    bool written = false;
    pthread_mutex_lock(&u->lock);
    uint64_t fsts = u->r_fsts->val;
    if (fsts & VTD_FSTS_PFO)
        goto out;
    /* Collapsing: the spec lets hardware drop a fault from a source-id that
     * already has a pending record. */
    for (unsigned i = 0; i < u->nfr; i++) {
        uint64_t hi = frcd_hi(u, i)->val;
        if ((hi & VTD_FRCD_HI_F) && (uint16_t)(hi & VTD_FRCD_HI_SID_MASK) == f->sid)
            goto out;
    }
    unsigned i = u->fr_next;
    if (frcd_hi(u, i)->val & VTD_FRCD_HI_F) {
        u->r_fsts->val = fsts | VTD_FSTS_PFO;
        if (!(fsts & FSTS_EVENT_STATUS))
            raise_event(u);
        goto out;
    }
    uint64_t hi = f->sid | (uint64_t)f->reason << VTD_FRCD_HI_FR_SHIFT | VTD_FRCD_HI_F;
    /* Type (T1, T2): write 00, page request 01, read 10, atomic 11 */
    if (f->prq)
        hi |= VTD_FRCD_HI_T2;
    else if (f->access & VTD_R)
        hi |= VTD_FRCD_HI_T1;
    if (!f->prq && (f->access & (VTD_R | VTD_W)) == (VTD_R | VTD_W))
        hi |= VTD_FRCD_HI_T2;
    if (u->dt && !f->prq) /* AT: only for read, write and atomic requests */
        hi |= (uint64_t)(f->at & 3) << VTD_FRCD_HI_AT_SHIFT;
    if (u->cfg.ecap & VTD_ECAP_PASID) {
        if (f->pasid_valid)
            hi |= VTD_FRCD_HI_PP | (uint64_t)(f->pasid & 0xFFFFF) << VTD_FRCD_HI_PV_SHIFT;
        if (f->priv)
            hi |= VTD_FRCD_HI_PRIV;
        if (f->exe && !f->prq)
            hi |= VTD_FRCD_HI_EXE;
    }
    /* interrupt faults: FI[63:48] = interrupt index, 47:12 zero */
    frcd_lo(u, i)->val = f->intr ? (f->addr & VTD_GENMASK(63, 48)) : (f->addr & fi_mask(u));
    frcd_hi(u, i)->val = hi;
    u->fr_next = (i + 1) % u->nfr;
    if (!(fsts & VTD_FSTS_PPF)) {
        fsts = (fsts & ~VTD_FSTS_FRI_MASK) | (uint64_t)i << VTD_FSTS_FRI_SHIFT;
    }
    u->r_fsts->val = fsts | VTD_FSTS_PPF;
    if (!(fsts & FSTS_EVENT_STATUS))
        raise_event(u);
    written = true;
    atomic_fetch_add_explicit(&u->faults_recorded, 1, memory_order_relaxed);
out:
    pthread_mutex_unlock(&u->lock);
    return written;
}

void vtd_fault_status_update(struct vtd *u)
{
    bool ppf = false;
    for (unsigned i = 0; i < u->nfr; i++)
        ppf |= (frcd_hi(u, i)->val & VTD_FRCD_HI_F) != 0;
    if (ppf)
        u->r_fsts->val |= VTD_FSTS_PPF;
    else
        u->r_fsts->val &= ~(uint64_t)VTD_FSTS_PPF;
    /* Servicing every status while the event is masked clears IP, so no
     * stale interrupt is sent on unmask. */
    if (!(u->r_fsts->val & FSTS_EVENT_STATUS))
        u->r_fectl->val &= ~(uint64_t)VTD_ECTL_IP;
}

void vtd_fault_unmask(struct vtd *u)
{
    if (u->r_fectl->val & VTD_ECTL_IP)
        send_event(u);
}

void vtd_fault_status_set(struct vtd *u, uint64_t bit)
{
    pthread_mutex_lock(&u->lock);
    uint64_t fsts = u->r_fsts->val;
    u->r_fsts->val = fsts | bit;
    if (!(fsts & FSTS_EVENT_STATUS))
        raise_event(u);
    pthread_mutex_unlock(&u->lock);
}

void vtd_fault_reset(struct vtd *u)
{
    u->fr_next = 0;
}
