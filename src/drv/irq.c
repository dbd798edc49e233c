/* SPDX-License-Identifier: MIT */
/*
 * Interrupt remapping (Rev 5.10 §5.1, §9.10): the remapping table (IRTA,
 * SIRTP, IRE), IRTE allocation, remapped- and posted-format IRTEs, the
 * remappable-format MSI a device is programmed with (§5.1.2.2), interrupt
 * entry cache invalidation (§6.5.2.7), and posted-interrupt descriptors
 * (§9.12).
 */
#include "drv_internal.h"

static unsigned irt_order(const struct vtd_drv *d)
{
    uint64_t bytes = 16ULL << d->cfg.ir_order;
    return bytes > VDRV_PAGE ? vdrv_ilog2(bytes / VDRV_PAGE) : 0;
}

int vdrv_ir_setup(struct vtd_drv *d)
{
    int rc;
    if (!d->irt_pa && !d->irt_va) {
        d->ir_n = 1u << d->cfg.ir_order;
        d->ir_map = vdrv_zalloc(d, (d->ir_n + 63) / 64 * 8);
        if (!d->ir_map)
            return VTD_DRV_ENOMEM;
        if ((rc = vdrv_page_alloc(d, irt_order(d), &d->irt_pa, &d->irt_va))) {
            vdrv_free(d, d->ir_map, (d->ir_n + 63) / 64 * 8);
            d->ir_map = NULL;
            return rc;
        }
    }
    vdrv_clflush(d, d->irt_pa, 16ULL << d->cfg.ir_order);
    /* IRTA: base, EIME (x2APIC), S = entries 2^(S+1) */
    vdrv_wr64(d, VTD_REG_IRTA, d->irt_pa | (d->x2apic ? VTD_IRTA_EIME : 0) | (d->cfg.ir_order - 1));
    if ((rc = vdrv_gcmd_oneshot(d, VTD_GCMD_SIRTP)))
        return rc;
    /* without CAP.ESIRTPS, SIRTP leaves the interrupt entry cache as it was */
    if (!(d->cap & VTD_CAP_ESIRTPS)) {
        vdrv_inv_iec(d, true, 0, 0);
        if ((rc = vdrv_sync(d)))
            return rc;
    }
    if ((d->cfg.flags & VTD_DRV_CFG_COMPAT_IRQ) && (rc = vdrv_gcmd_persist(d, VTD_GCMD_CFI, true)))
        return rc;
    return vdrv_gcmd_persist(d, VTD_GCMD_IRE, true);
}

void vdrv_ir_free(struct vtd_drv *d)
{
    if (d->irt_pa || d->irt_va)
        vdrv_page_free(d, irt_order(d), d->irt_pa, d->irt_va);
    d->irt_pa = 0;
    d->irt_va = NULL;
    vdrv_free(d, d->ir_map, (d->ir_n + 63) / 64 * 8);
    d->ir_map = NULL;
    while (d->pids) {
        struct vdrv_pid_page *p = d->pids;
        d->pids = p->next;
        vdrv_page_free(d, 0, p->pa, p->va);
        vdrv_free(d, p, sizeof(*p));
    }
}

/* ---- allocation ---- */

static bool irte_used(const struct vtd_drv *d, uint32_t i)
{
    return (d->ir_map[i / 64] >> (i % 64)) & 1;
}

static void irte_mark(struct vtd_drv *d, uint32_t i, bool on)
{
    if (on)
        d->ir_map[i / 64] |= 1ULL << (i % 64);
    else
        d->ir_map[i / 64] &= ~(1ULL << (i % 64));
}

static bool valid_block(const struct vtd_drv *d, uint32_t index, unsigned count)
{
    if (!d->ir || !d->ir_map || count == 0 || (count & (count - 1)) || count > 32)
        return false;
    if ((index & (count - 1)) || index >= d->ir_n || count > d->ir_n - index)
        return false;
    for (unsigned k = 0; k < count; k++)
        if (!irte_used(d, index + k))
            return false;
    return true;
}

int vtd_drv_irte_alloc(struct vtd_drv *d, unsigned count, uint32_t *index)
{
    if (!d || !index || count == 0 || (count & (count - 1)) || count > 32)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = VTD_DRV_ENOTSUP;
    if (d->ir && d->ir_map) {
        rc = VTD_DRV_ENOSPC;
        for (uint32_t i = 0; i + count <= d->ir_n; i += count) {
            unsigned k = 0;
            while (k < count && !irte_used(d, i + k))
                k++;
            if (k == count) {
                for (k = 0; k < count; k++)
                    irte_mark(d, i + k, true);
                *index = i;
                rc = 0;
                break;
            }
        }
    }
    vdrv_unlock(d);
    return rc;
}

/* Write an IRTE so that the unit never sees a half-written present entry
 * turn present: becoming present, the high qword goes first; becoming not
 * present, the low qword (P) goes first.  Rewriting a present entry with a
 * present one writes hi then lo: an interrupt arriving between the two
 * stores may see the new SID fields with the old vector (documented). */
static int irte_write(struct vtd_drv *d, uint32_t index, uint64_t lo, uint64_t hi)
{
    uint64_t ea = d->irt_pa + (uint64_t)index * 16;
    int rc;
    if (lo & VTD_IRTE_P) {
        rc = vdrv_mwr64(d, ea + 8, hi);
        if (!rc)
            rc = vdrv_mwr64(d, ea, lo);
    } else {
        rc = vdrv_mwr64(d, ea, lo);
        if (!rc)
            rc = vdrv_mwr64(d, ea + 8, hi);
    }
    vdrv_clflush(d, ea, 16);
    vdrv_inv_iec(d, false, index, 0);
    int r = vdrv_sync(d);
    return rc ? rc : r;
}

int vtd_drv_irte_free(struct vtd_drv *d, uint32_t index, unsigned count)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = VTD_DRV_ENOENT;
    if (valid_block(d, index, count)) {
        rc = 0;
        for (unsigned k = 0; k < count; k++) {
            uint64_t ea = d->irt_pa + (uint64_t)(index + k) * 16;
            int r = vdrv_mwr64(d, ea, 0);
            if (!r)
                r = vdrv_mwr64(d, ea + 8, 0);
            if (r && !rc)
                rc = r;
            irte_mark(d, index + k, false);
        }
        vdrv_clflush(d, d->irt_pa + (uint64_t)index * 16, count * 16ULL);
        vdrv_inv_iec(d, false, index, vdrv_ilog2(count));
        int r = vdrv_sync(d);
        if (!rc)
            rc = r;
    }
    vdrv_unlock(d);
    return rc;
}

static uint64_t irte_hi(uint16_t sid, int svt)
{
    /* SQ = 0: all 16 bits of the requester id are compared */
    return (uint64_t)sid | (uint64_t)svt << VTD_IRTE_HI_SVT_SHIFT;
}

static bool dlm_ok(uint8_t m)
{
    return m == VTD_DRV_DLM_FIXED || m == VTD_DRV_DLM_LOWEST || m == VTD_DRV_DLM_SMI || m == VTD_DRV_DLM_NMI ||
           m == VTD_DRV_DLM_INIT || m == VTD_DRV_DLM_EXTINT;
}

int vtd_drv_irte_set_remapped(struct vtd_drv *d, uint32_t index, uint16_t sid, int svt,
                              const struct vtd_drv_irq_target *t)
{
    if (!d || !t || svt < VTD_DRV_SVT_NONE || svt > VTD_DRV_SVT_BUS || !dlm_ok(t->delivery_mode))
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc;
    if (!d->ir)
        rc = VTD_DRV_ENOTSUP;
    else if (index >= d->ir_n || !irte_used(d, index))
        rc = VTD_DRV_ENOENT;
    else if (!d->x2apic && t->dest > 0xFF)
        rc = VTD_DRV_EINVAL;
    else {
        /* §9.10: xAPIC destinations sit in DST[15:8] (bits 47:40) */
        uint64_t dst = d->x2apic ? (uint64_t)t->dest << 32 : (uint64_t)(t->dest & 0xFF) << 40;
        uint64_t lo = VTD_IRTE_P | (t->dest_logical ? VTD_IRTE_DM : 0) | (t->redir_hint ? VTD_IRTE_RH : 0) |
                      (t->level ? VTD_IRTE_TM : 0) | (uint64_t)t->delivery_mode << VTD_IRTE_DLM_SHIFT |
                      (uint64_t)t->vector << VTD_IRTE_V_SHIFT | dst;
        rc = irte_write(d, index, lo, irte_hi(sid, svt));
    }
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_irte_set_posted(struct vtd_drv *d, uint32_t index, uint16_t sid, int svt, uint64_t pid_pa,
                            uint8_t vector, bool urgent)
{
    if (!d || svt < VTD_DRV_SVT_NONE || svt > VTD_DRV_SVT_BUS || (pid_pa & 63))
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc;
    if (!d->ir || !(d->cap & VTD_CAP_PI))
        rc = VTD_DRV_ENOTSUP;
    else if (index >= d->ir_n || !irte_used(d, index))
        rc = VTD_DRV_ENOENT;
    else {
        /* §9.11: PDA_L (descriptor address 31:6) in 63:38, PDA_H in 127:96 */
        uint64_t lo = VTD_IRTE_P | (urgent ? VTD_IRTE_URG : 0) | VTD_IRTE_IM |
                      (uint64_t)vector << VTD_IRTE_V_SHIFT | ((pid_pa >> 6) & 0x3FFFFFFULL) << VTD_IRTE_PDAL_SHIFT;
        uint64_t hi = irte_hi(sid, svt) | (pid_pa >> 32) << 32;
        rc = irte_write(d, index, lo, hi);
    }
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_irte_clear(struct vtd_drv *d, uint32_t index)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc;
    if (!d->ir)
        rc = VTD_DRV_ENOTSUP;
    else if (index >= d->ir_n || !irte_used(d, index))
        rc = VTD_DRV_ENOENT;
    else
        rc = irte_write(d, index, 0, 0);
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_msi_compose(struct vtd_drv *d, uint32_t index, bool multi, uint64_t *addr, uint32_t *data)
{
    if (!d || !addr || !data)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = 0;
    if (!d->ir)
        rc = VTD_DRV_ENOTSUP;
    else if (index >= d->ir_n || !irte_used(d, index))
        rc = VTD_DRV_ENOENT;
    else {
        /* §5.1.2.2: handle[14:0] in 19:5, format 4, SHV 3, handle[15] in 2 */
        *addr = VTD_MSI_ADDR_BASE | (uint64_t)(index & 0x7FFF) << 5 | VTD_MSI_ADDR_FORMAT |
                (multi ? VTD_MSI_ADDR_SHV : 0) | (uint64_t)((index >> 15) & 1) << 2;
        *data = 0;
    }
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_iec_invalidate(struct vtd_drv *d, uint32_t index, unsigned count)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = 0;
    if (!d->ir)
        rc = VTD_DRV_ENOTSUP;
    else if (count && (index >= d->ir_n || count > d->ir_n))
        rc = VTD_DRV_EINVAL;
    else {
        if (count == 0) {
            vdrv_inv_iec(d, true, 0, 0);
        } else {
            unsigned im = 0;
            while (((index >> im) << im) + (1ULL << im) < (uint64_t)index + count)
                im++;
            vdrv_inv_iec(d, false, index >> im << im, im);
        }
        rc = vdrv_sync(d);
    }
    vdrv_unlock(d);
    return rc;
}

/* ---- posted-interrupt descriptors ---- */

static int pid_write(struct vtd_drv *d, uint64_t pa, uint8_t nv, uint32_t ndst)
{
    if (!d->x2apic && ndst > 0xFF)
        return VTD_DRV_EINVAL;
    uint64_t desc[8] = { 0 };
    /* control qword (bits 319:256): NV 279:272, NDST 319:288 (xAPIC: 15:8) */
    uint32_t dst = d->x2apic ? ndst : (ndst & 0xFF) << 8;
    desc[4] = (uint64_t)nv << VTD_PID_NV_SHIFT | (uint64_t)dst << VTD_PID_NDST_SHIFT;
    int rc = vdrv_mwr(d, pa, desc, sizeof(desc));
    vdrv_clflush(d, pa, sizeof(desc));
    return rc;
}

int vtd_drv_pid_init(struct vtd_drv *d, uint64_t pid_pa, uint8_t nv, uint32_t ndst)
{
    if (!d || (pid_pa & 63))
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = pid_write(d, pid_pa, nv, ndst);
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_pid_alloc(struct vtd_drv *d, uint8_t nv, uint32_t ndst, uint64_t *pid_pa)
{
    if (!d || !pid_pa)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = 0;
    if (!d->x2apic && ndst > 0xFF) {
        rc = VTD_DRV_EINVAL;
        goto out;
    }
    struct vdrv_pid_page *p = d->pids;
    while (p && p->used == ~0ULL)
        p = p->next;
    if (!p) {
        p = vdrv_zalloc(d, sizeof(*p));
        if (!p) {
            rc = VTD_DRV_ENOMEM;
            goto out;
        }
        if ((rc = vdrv_page_alloc(d, 0, &p->pa, &p->va))) {
            vdrv_free(d, p, sizeof(*p));
            goto out;
        }
        p->next = d->pids;
        d->pids = p;
    }
    unsigned slot = 0;
    while ((p->used >> slot) & 1)
        slot++;
    uint64_t pa = p->pa + slot * 64ULL;
    if ((rc = pid_write(d, pa, nv, ndst)))
        goto out;
    p->used |= 1ULL << slot;
    *pid_pa = pa;
out:
    vdrv_unlock(d);
    return rc;
}

int vtd_drv_pid_free(struct vtd_drv *d, uint64_t pid_pa)
{
    if (!d)
        return VTD_DRV_EINVAL;
    vdrv_lock(d);
    int rc = VTD_DRV_ENOENT;
    for (struct vdrv_pid_page **pp = &d->pids; *pp; pp = &(*pp)->next) {
        struct vdrv_pid_page *p = *pp;
        if (pid_pa < p->pa || pid_pa >= p->pa + VDRV_PAGE || (pid_pa & 63))
            continue;
        unsigned slot = (unsigned)((pid_pa - p->pa) / 64);
        if (!((p->used >> slot) & 1))
            break;
        p->used &= ~(1ULL << slot);
        rc = 0;
        if (!p->used) {
            *pp = p->next;
            vdrv_page_free(d, 0, p->pa, p->va);
            vdrv_free(d, p, sizeof(*p));
        }
        break;
    }
    vdrv_unlock(d);
    return rc;
}
