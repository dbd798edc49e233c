/* SPDX-License-Identifier: MIT */
/*
 * A guest with its own virtual IOMMU (docs/assign.md "Nested"): the
 * guest's first-level tables, in its own memory, bound for a PASID of an
 * assigned device over the VM's second level (PASID-table entry PGTT 011),
 * and the guest's PASID-based IOTLB invalidations forwarded by the VMM.
 * Everything goes through the driver.
 */
#include <stdio.h>
#include <stdlib.h>

#include <vtd/defs.h>
#include <vtd/regs.h>

#include "internal.h"

static struct as_nest *find_nest(struct vtd_vm *vm, uint16_t sid, uint32_t pasid)
{
    for (unsigned i = 0; i < vm->nnests; i++)
        if (vm->nests[i].sid == sid && vm->nests[i].pasid == pasid)
            return &vm->nests[i];
    return NULL;
}

/* The nest record of (sid, pasid), or NULL with the error set. */
static struct as_nest *nest_of(struct vtd_vm *vm, uint16_t sid, uint32_t pasid)
{
    char b1[8];
    if (!as_assigned(vm, sid))
        return NULL;
    struct as_nest *n = find_nest(vm, sid, pasid);
    if (!n)
        as_fail(vm->a, VTD_AS_ENODEV, "VM %u: PASID %u of %s has no guest first-level tables bound", vm->id, pasid,
                as_bdf(sid, b1));
    return n;
}

int vtd_vm_nest(struct vtd_vm *vm, uint16_t sid, uint32_t pasid, uint64_t fl_root, unsigned fl_levels)
{
    if (!vm)
        return VTD_EINVAL;
    struct vtd_assign *a = vm->a;
    char b1[8];
    uint64_t hpa;
    if (!as_assigned(vm, sid))
        return VTD_AS_ENODEV;
    if (!a->info.nested)
        return as_fail(a, VTD_ENOTSUP,
                       "VM %u: nested translation needs the driver in scalable mode on a unit with ECAP.NEST; "
                       "this one runs %s mode%s",
                       vm->id, a->info.scalable ? "scalable" : "legacy",
                       a->info.ecap & VTD_ECAP_NEST ? "" : " and has no ECAP.NEST");
    if (pasid == 0)
        return as_fail(a, VTD_EINVAL,
                       "VM %u: PASID 0 of %s is its RID_PASID, which carries the VM's second level; nest another PASID",
                       vm->id, as_bdf(sid, b1));
    if ((fl_root & (AS_PAGE - 1)) || (fl_levels != 4 && fl_levels != 5))
        return as_fail(a, VTD_EINVAL, "VM %u: first-level root 0x%llx must be 4 KiB aligned and levels 4 or 5 (not %u)",
                       vm->id, (unsigned long long)fl_root, fl_levels);
    if (vtd_vm_gpa_to_hpa(vm, fl_root, &hpa))
        return as_fail(a, VTD_AS_ENODEV, "VM %u: first-level root GPA 0x%llx is not guest memory", vm->id,
                       (unsigned long long)fl_root);
    if (find_nest(vm, sid, pasid))
        return as_fail(a, VTD_AS_EBUSY, "VM %u: PASID %u of %s has guest first-level tables bound already", vm->id,
                       pasid, as_bdf(sid, b1));
    if (vm->nnests == vm->nestcap) {
        unsigned cap = vm->nestcap ? 2 * vm->nestcap : 4;
        struct as_nest *p = realloc(vm->nests, cap * sizeof *p);
        if (!p)
            return as_fail(a, VTD_ENOMEM, "VM %u: out of memory for nested PASIDs", vm->id);
        vm->nests = p;
        vm->nestcap = cap;
    }
    int rc = vtd_drv_attach_nested(vm->dom, sid, pasid, fl_root, fl_levels, 0);
    if (rc) {
        char what[80];
        snprintf(what, sizeof what, "VM %u: nesting PASID %u of %s", vm->id, pasid, as_bdf(sid, b1));
        return as_drv_fail(a, rc, what);
    }
    vm->nests[vm->nnests++] = (struct as_nest){.sid = sid, .pasid = pasid};
    return 0;
}

int vtd_vm_unnest(struct vtd_vm *vm, uint16_t sid, uint32_t pasid)
{
    if (!vm)
        return VTD_EINVAL;
    char b1[8];
    struct as_nest *n = nest_of(vm, sid, pasid);
    if (!n)
        return VTD_AS_ENODEV;
    /* the record goes even when the driver fails: the entry is cleared first */
    *n = vm->nests[--vm->nnests];
    int rc = vtd_drv_detach_pasid(vm->a->drv, sid, pasid);
    if (rc) {
        char what[80];
        snprintf(what, sizeof what, "VM %u: removing PASID %u of %s", vm->id, pasid, as_bdf(sid, b1));
        return as_drv_fail(vm->a, rc, what);
    }
    return 0;
}

void as_unnest_dev(struct vtd_vm *vm, uint16_t sid)
{
    for (unsigned i = vm->nnests; i--;)
        if (vm->nests[i].sid == sid)
            vtd_vm_unnest(vm, sid, vm->nests[i].pasid);
}

int vtd_vm_nest_inval(struct vtd_vm *vm, uint16_t sid, const uint64_t desc[2])
{
    if (!vm || !desc)
        return VTD_EINVAL;
    struct vtd_assign *a = vm->a;
    const uint64_t lo = desc[0], hi = desc[1];
    const unsigned type = (unsigned)((lo & VTD_DESC_TYPE_LO_MASK) | (lo & VTD_DESC_TYPE_HI_MASK) >> 5);
    const unsigned g = (unsigned)((lo & VTD_DESC_G_MASK) >> VTD_DESC_G_SHIFT);
    const uint32_t pasid = (uint32_t)((lo & VTD_DESC_PASID_MASK) >> VTD_DESC_PASID_SHIFT);
    const char *bad = NULL;
    if (type != VTD_DESC_PIOTLB)
        bad = "its type is not 6 (PASID-based IOTLB invalidation)";
    else if (g != VTD_DESC_PIOTLB_G_PASID && g != VTD_DESC_PIOTLB_G_PAGE)
        bad = "its granularity G (bits 5:4) is reserved (00b/01b)";
    else if ((lo & VTD_DESC_PIOTLB_RSVD_LO) || (g == VTD_DESC_PIOTLB_G_PAGE && (hi & VTD_DESC_IOTLB_RSVD_HI)))
        bad = "reserved bits are set";
    if (bad)
        return as_fail(a, VTD_EINVAL, "VM %u: the guest's descriptor 0x%016llx %016llx is refused: %s", vm->id,
                       (unsigned long long)hi, (unsigned long long)lo, bad);
    if (!nest_of(vm, sid, pasid))
        return VTD_AS_ENODEV;
    /* the guest's DID (bits 31:16) named the guest's domain, which the VMM
     * resolved to sid; the host tags the entry with the VM's own DID */
    uint64_t iova = 0, size = 0;
    unsigned flags = 0;
    if (g == VTD_DESC_PIOTLB_G_PAGE) {
        const unsigned am = (unsigned)(hi & VTD_DESC_IOTLB_AM_MASK);
        if (am + 12 < 57) { /* wider than any first-level input: the whole PASID */
            size = AS_PAGE << am;
            iova = hi & VTD_DESC_ADDR_MASK & ~(size - 1);
        }
        if (hi & VTD_DESC_IOTLB_IH)
            flags |= VTD_DRV_INV_LEAF;
    }
    int rc = vtd_drv_invalidate_pasid(a->drv, sid, pasid, iova, size, flags);
    if (rc) {
        char what[96], b1[8];
        snprintf(what, sizeof what, "VM %u: forwarding the guest's invalidation of PASID %u of %s", vm->id, pasid,
                 as_bdf(sid, b1));
        return as_drv_fail(a, rc, what);
    }
    return 0;
}
