/* SPDX-License-Identifier: MIT */
/*
 * Interrupt remapping (spec chapter "Interrupt Remapping"): IRTA and the
 * GCMD commands SIRTP / IRE / CFI, the interrupt entry cache and its
 * invalidation (queued descriptor type 4), remappable-format MSI decoding,
 * remapped-format IRTEs with source validation, and the fault reasons
 * 20h-26h.  Posted-format IRTEs are handed to posted.c.
 */
#include <string.h>

#include "internal.h"

/* ---- registers and commands (called with the unit lock held) ---- */

void vtd_ir_reset(struct vtd *u)
{
    atomic_store(&u->ir_flags, 0);
    atomic_store(&u->irta, 0);
}

static void set_flag(struct vtd *u, uint32_t f, bool on)
{
    uint32_t v = atomic_load(&u->ir_flags);
    atomic_store(&u->ir_flags, on ? (v | f) : (v & ~f));
}

void vtd_ir_sirtp(struct vtd *u)
{
    atomic_store(&u->irta, u->r_irta->val);
    u->r_gsts->val |= VTD_GSTS_IRTPS;
    /* CAP.ESIRTPS: the SIRTP flow invalidates the interrupt entry cache;
     * otherwise software must (IEC descriptor) */
    if (u->cfg.cap & VTD_CAP_ESIRTPS)
        vtd_inval_iec(u, true, 0, 0);
}

void vtd_ir_gcmd(struct vtd *u, uint32_t changes, uint32_t cmd)
{
    if (changes & VTD_GCMD_CFI) {
        if (cmd & VTD_GCMD_CFI)
            u->r_gsts->val |= VTD_GSTS_CFIS;
        else
            u->r_gsts->val &= ~(uint64_t)VTD_GSTS_CFIS;
        set_flag(u, IRF_CFIS, cmd & VTD_GCMD_CFI);
    }
    if (changes & VTD_GCMD_IRE) {
        if (cmd & VTD_GCMD_IRE) {
            if (!(u->r_gsts->val & VTD_GSTS_IRTPS))
                vtd_diagf(u, VTD_DIAG_IR_IRE_NO_IRTP, 0, VTD_REG_GCMD,
                          "GCMD.IRE set before any SIRTP: the unit uses an interrupt remapping table at address 0");
            u->r_gsts->val |= VTD_GSTS_IRES;
            set_flag(u, IRF_IRES, true);
        } else {
            u->r_gsts->val &= ~(uint64_t)VTD_GSTS_IRES;
            set_flag(u, IRF_IRES, false);
            /* with ESIRTPS disabling remapping also invalidates the IEC
             * (Linux skips its global IEC flush on both paths then) */
            if (u->cfg.cap & VTD_CAP_ESIRTPS)
                vtd_inval_iec(u, true, 0, 0);
            /* the next-record index restarts when TES and IRES are both clear */
            if (!(u->r_gsts->val & VTD_GSTS_TES))
                u->fr_next = 0;
        }
    }
}

int vtd_qi_iec(struct vtd *u, uint64_t lo, uint64_t hi)
{
    if ((lo & VTD_DESC_IEC_RSVD_LO) || hi)
        return -1;
    if (lo & VTD_DESC_IEC_G)
        vtd_inval_iec(u, false, (uint32_t)VTD_FIELD_GET(lo, 47, 32), (unsigned)VTD_FIELD_GET(lo, 31, 27));
    else
        vtd_inval_iec(u, true, 0, 0);
    return 0;
}

/* ---- remapping ---- */

static void decode_compat(const struct vtd_msi *m, struct vtd_irq *o)
{
    o->kind = VTD_IRQ_PASSTHROUGH;
    o->vector = (uint8_t)m->data;
    o->delivery_mode = (uint8_t)((m->data >> 8) & 7);
    o->level_triggered = (m->data >> 15) & 1;
    o->dest = (uint32_t)((m->addr >> 12) & 0xFF);
    o->dest_logical = (m->addr >> 2) & 1;
    o->redir_hint = (m->addr >> 3) & 1;
}

static void ir_fault(struct vtd *u, const struct vtd_msi *m, struct vtd_irq *o, uint8_t reason, uint32_t index,
                     bool suppressed)
{
    o->status = VTD_FAULT;
    o->fault_reason = reason;
    if (suppressed)
        return;
    struct fault f = {.reason = reason, .sid = m->sid, .access = VTD_W, .intr = true,
                      .addr = (uint64_t)(index & 0xFFFF) << 48};
    o->fault_recorded = vtd_fault_record(u, &f);
}

/* SVT/SQ: true when the requester may use this IRTE; *rsvd for SVT=11b */
static bool source_ok(uint64_t hi, uint16_t sid, bool *rsvd)
{
    uint16_t want = (uint16_t)(hi & VTD_IRTE_HI_SID_MASK);
    unsigned sq = (unsigned)(hi >> VTD_IRTE_HI_SQ_SHIFT) & 3;
    switch ((unsigned)(hi >> VTD_IRTE_HI_SVT_SHIFT) & 3) {
    case VTD_SVT_NONE: return true;
    case VTD_SVT_SID: {
        /* SQ 0 all 16 bits; 1/2/3 ignore function bit 2, bits 2:1, bits 2:0 */
        static const uint16_t mask[4] = {0xFFFF, 0xFFFB, 0xFFF9, 0xFFF8};
        return (sid & mask[sq]) == (want & mask[sq]);
    }
    case VTD_SVT_BUS: {
        unsigned bus = sid >> 8, first = want >> 8, last = want & 0xFF;
        return bus >= first && bus <= last;
    }
    default: *rsvd = true; return false;
    }
}

int vtd_remap_msi(struct vtd *u, const struct vtd_msi *m, struct vtd_irq *o)
{
    if (!u || !m || !o)
        return VTD_EINVAL;
    memset(o, 0, sizeof(*o));
    if ((m->addr & ~VTD_GENMASK(19, 0)) != VTD_MSI_ADDR_BASE)
        return VTD_EINVAL;
    o->status = VTD_OK;
    uint32_t flags = atomic_load_explicit(&u->ir_flags, memory_order_acquire);
    if (!(flags & IRF_IRES)) {
        decode_compat(m, o);
        return 0;
    }
    uint64_t irta = atomic_load_explicit(&u->irta, memory_order_acquire);
    bool eime = irta & VTD_IRTA_EIME;
    if (!(m->addr & VTD_MSI_ADDR_FORMAT)) {
        if (eime || !(flags & IRF_CFIS)) {
            ir_fault(u, m, o, VTD_FR_IR_COMPAT_BLOCKED, 0, false);
            return 0;
        }
        decode_compat(m, o);
        return 0;
    }
    /* remappable format: data[31:16] reserved (address bits 1:0 are ignored) */
    if (m->data & VTD_MSI_DATA_RSVD) {
        ir_fault(u, m, o, VTD_FR_IR_REQ_RSVD, 0, false);
        return 0;
    }
    uint32_t index = (uint32_t)((m->addr >> 5) & 0x7FFF) | (uint32_t)((m->addr >> 2) & 1) << 15;
    if (m->addr & VTD_MSI_ADDR_SHV)
        index += m->data & 0xFFFF;
    uint32_t entries = 2u << (irta & VTD_IRTA_S_MASK);
    if (index >= entries) {
        ir_fault(u, m, o, VTD_FR_IR_INDEX, index, false);
        return 0;
    }
    /* the IRTE: interrupt entry cache, else memory */
    uint64_t lo, hi;
    struct cache *c = &u->iec;
    struct chit h;
    if (c->nsets && cache_lookup(c, iec_set(c, index), iec_tag(index), &h)) {
        lo = h.d0;
        hi = h.d1;
        if (u->stale_check) {
            /* the hardware behaviour (use the cached entry) is kept */
            uint64_t pa = (irta & VTD_GENMASK(63, 12)) + (uint64_t)index * 16, e[2];
            if (u->host.mem_read(u->host.opaque, pa, e, sizeof(e)) || e[0] != lo || e[1] != hi)
                vtd_diagf(u, VTD_DIAG_STALE_IEC, m->sid, pa,
                          "interrupt entry cache entry %u used after the IRTE at 0x%llx changed: "
                          "software did not invalidate the IEC (IEC descriptor)",
                          index, (unsigned long long)pa);
        }
    } else {
        uint32_t epoch = atomic_load_explicit(&u->iec_epoch, memory_order_acquire);
        uint64_t pa = (irta & VTD_GENMASK(63, 12)) + (uint64_t)index * 16;
        uint64_t e[2];
        if (u->host.mem_read(u->host.opaque, pa, e, sizeof(e))) {
            vtd_diagf(u, VTD_DIAG_READ_ERROR, m->sid, pa,
                      "IRTE %u at 0x%llx: the interrupt remapping table is in memory the platform does not back",
                      index, (unsigned long long)pa);
            ir_fault(u, m, o, VTD_FR_IR_READ_ERROR, index, false);
            return 0;
        }
        lo = e[0];
        hi = e[1];
        /* only present entries are cached */
        if (c->nsets && (lo & VTD_IRTE_P))
            cache_insert(c, iec_set(c, index), iec_tag(index), lo, hi, 0, &u->iec_epoch, epoch);
    }
    bool fpd = lo & VTD_IRTE_FPD; /* read even when P=0 */
    if (!(lo & VTD_IRTE_P)) {
        ir_fault(u, m, o, VTD_FR_IR_NOT_PRESENT, index, fpd);
        return 0;
    }
    bool posted = lo & VTD_IRTE_IM;
    bool pi = u->cfg.cap & VTD_CAP_PI;
    uint64_t rlo, rhi;
    if (posted && pi) {
        rlo = VTD_IRTE_PI_RSVD_LO;
        rhi = VTD_IRTE_PI_HI_RSVD;
    } else {
        rlo = VTD_IRTE_RSVD_LO | (pi ? 0 : VTD_IRTE_IM) | (eime ? 0 : VTD_IRTE_RSVD_LO_XAPIC);
        rhi = VTD_IRTE_HI_RSVD;
    }
    bool svt_rsvd = false;
    bool src = source_ok(hi, m->sid, &svt_rsvd);
    if ((lo & rlo) || (hi & rhi) || svt_rsvd) {
        vtd_diagf(u, VTD_DIAG_IR_IRTE_RSVD, m->sid, index,
                  "IRTE %u (0x%016llx 0x%016llx) sets reserved bits 0x%016llx 0x%016llx%s", index,
                  (unsigned long long)hi, (unsigned long long)lo, (unsigned long long)(hi & rhi),
                  (unsigned long long)(lo & rlo), svt_rsvd ? " (SVT=11b is reserved)" : "");
        ir_fault(u, m, o, VTD_FR_IR_RSVD, index, fpd);
        return 0;
    }
    if (!src) {
        ir_fault(u, m, o, VTD_FR_IR_SID, index, fpd);
        return 0;
    }
    if (posted) {
        int fr = vtd_post_irq(u, lo, hi, eime, o);
        if (fr)
            ir_fault(u, m, o, (uint8_t)fr, index, false);
        return 0;
    }
    o->kind = VTD_IRQ_REMAPPED;
    o->vector = (uint8_t)(lo >> VTD_IRTE_V_SHIFT);
    o->delivery_mode = (uint8_t)((lo >> VTD_IRTE_DLM_SHIFT) & 7);
    o->dest_logical = lo & VTD_IRTE_DM;
    o->redir_hint = lo & VTD_IRTE_RH;
    o->level_triggered = lo & VTD_IRTE_TM;
    uint32_t dst = (uint32_t)(lo >> VTD_IRTE_DST_SHIFT);
    o->dest = eime ? dst : (dst >> 8) & 0xFF;
    return 0;
}

int vtd_ioapic_rte_to_msi(uint64_t rte, uint16_t sid, struct vtd_msi *out)
{
    if (!out || !(rte & VTD_BIT(48)))
        return VTD_EINVAL;
    uint64_t index = (rte >> 49) | ((rte >> 11) & 1) << 15;
    out->sid = sid;
    out->addr = VTD_MSI_ADDR_BASE | (index & 0x7FFF) << 5 | VTD_MSI_ADDR_FORMAT | (index >> 15) << 2;
    out->data = (uint32_t)(rte & 0xFF) | (uint32_t)((rte >> 15) & 1) << 15;
    return 0;
}
