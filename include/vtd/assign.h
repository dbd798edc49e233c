/* SPDX-License-Identifier: MIT */
/*
 * libvtd device assignment: VMs, guest memory, groups, interrupts to vCPUs
 * (VFIO type1-like), built on the driver (<vtd/drv.h>) alone.
 *
 * A VM is a list of guest-physical (GPA) ranges, each 4 KiB guest page
 * backed by a host-physical page the platform allocates (they need not be
 * contiguous).  Assigning devices to a VM attaches them to the VM's domain
 * (one per VM, shared by all its devices: the "container"), and the first
 * assignment maps all of the VM's memory GPA -> HPA through the driver;
 * memory added later is mapped at once, memory removed is unmapped and
 * invalidated before its host pages are freed.  Unassigning the last device
 * unmaps everything and frees the domain.
 *
 * Groups: devices whose DMA the unit cannot tell apart are one group and
 * are assigned (and unassigned) together.  The caller describes the
 * topology: PCIe-to-PCI bridges (everything behind one reaches the unit
 * with the bridge's secondary-bus requester id, BB:00.0, as well as its
 * own) and which functions have ACS (functions of one device without ACS
 * can reach each other peer-to-peer, so they are grouped).
 *
 * Reserved regions: the interrupt range 0xFEE00000-0xFEEFFFFF and the RMRR
 * ranges the caller names are never mapped; guest memory overlapping them is
 * refused (VTD_ERESERVED).
 *
 * Interrupts: a device interrupt routed to a vCPU is posted to the vCPU's
 * posted-interrupt descriptor when the unit has CAP.PI, and remapped to the
 * host APIC the vCPU runs on otherwise (the VMM then injects it).
 *
 * Errors: 0 or a negative code (VTD_E* of <vtd/vtd.h> or VTD_AS_E* below);
 * vtd_assign_error() gives a sentence naming the device, range or region
 * at fault.  The layer prints nothing.  Not thread-safe: one caller at a
 * time per struct vtd_assign.
 */
#ifndef VTD_ASSIGN_H
#define VTD_ASSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtd/drv.h>
#include <vtd/vtd.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    VTD_AS_EGROUP = -40,    /* the request splits a group: assign its devices together */
    VTD_AS_ERESERVED = -41, /* a GPA range overlaps a reserved region */
    VTD_AS_EBUSY = -42,     /* already assigned / range already backed / in use */
    VTD_AS_ENODEV = -43,    /* no such device in the topology, or not assigned here */
    VTD_AS_EDRV = -44,      /* the driver refused (its error is in the message) */
};
/* Words for a VTD_AS_E* or VTD_E* code. */
VTD_API const char *vtd_assign_strerror(int err);

#define VTD_AS_INTR_BASE 0xFEE00000ULL /* the interrupt address range, never mapped */
#define VTD_AS_INTR_SIZE 0x100000ULL

/* ---- Topology ---- */

struct vtd_assign_dev {
    uint16_t sid; /* bus << 8 | dev << 3 | fn */
    bool acs;     /* the function has ACS: isolated from its sibling functions */
};
struct vtd_assign_bridge {
    uint8_t secondary, subordinate; /* the buses behind it */
    /* A PCIe-to-PCI(-X) bridge: requests from behind it may carry the
     * requester id (secondary, 00.0).  false: a PCIe root or switch port (no alias). */
    bool pcie_to_pci;
    /* A PCIe port with ACS (P2P request redirect): devices below it cannot
     * reach each other without the unit seeing it.  A port without ACS puts
     * every device below it in one group. */
    bool acs;
};
struct vtd_assign_range {
    uint64_t base, size; /* [base, base + size) */
};
struct vtd_assign_topology {
    const struct vtd_assign_dev *devs;
    unsigned ndevs;
    const struct vtd_assign_bridge *bridges;
    unsigned nbridges;
    const struct vtd_assign_range *rmrr; /* RMRR ranges (ACPI DMAR) */
    unsigned nrmrr;
};

/* ---- The platform ---- */

struct vtd_assign_platform {
    void *opaque;
    /* A 4 KiB host page for guest memory or posted-interrupt descriptors:
     * 0 with *hpa set (4 KiB aligned), or non-zero when memory ran out. */
    int (*alloc_page)(void *opaque, uint64_t *hpa);
    void (*free_page)(void *opaque, uint64_t hpa);
    /* Host-physical memory access (the VMM's view): 0 or non-zero on error. */
    int (*mem_read)(void *opaque, uint64_t hpa, void *buf, size_t len);
    int (*mem_write)(void *opaque, uint64_t hpa, const void *buf, size_t len);
    /* optional: atomic 64-bit compare-exchange (as vtd_host.mem_cmpxchg64);
     * used to drain posted-interrupt descriptors.  NULL: read + write. */
    int (*mem_cmpxchg64)(void *opaque, uint64_t hpa, uint64_t *expected, uint64_t desired);
};

struct vtd_assign;
struct vtd_vm;

/* The layer over one driver instance (created; it may be enabled before or
 * after).  Checks the topology: duplicate devices, bridges with secondary
 * above subordinate, empty or wrapping RMRRs are VTD_EINVAL, with a
 * sentence naming the entry in err (optional, errlen bytes).
 * p->alloc_page, free_page, mem_read, mem_write are required. */
VTD_API int vtd_assign_create(struct vtd_drv *drv, const struct vtd_assign_platform *p,
                              const struct vtd_assign_topology *t, struct vtd_assign **out, char *err,
                              size_t errlen);
/* Destroys every VM left (unassigning their devices) and frees the layer. */
VTD_API void vtd_assign_destroy(struct vtd_assign *a);
/* The last error as one sentence ("" when none). */
VTD_API const char *vtd_assign_error(const struct vtd_assign *a);

/* Group of a device: >= 0, or VTD_AS_ENODEV.  members: up to max source-ids
 * of that group (returns the group size when members is NULL). */
VTD_API int vtd_assign_group(const struct vtd_assign *a, uint16_t sid);
VTD_API int vtd_assign_group_members(const struct vtd_assign *a, int group, uint16_t *members, unsigned max);
/* The requester ids DMA from `sid` reaches the unit with (its own first,
 * then a bridge alias): count, or VTD_AS_ENODEV. */
VTD_API int vtd_assign_requester_ids(const struct vtd_assign *a, uint16_t sid, uint16_t *rids, unsigned max);
/* Whether [base, base+size) overlaps a reserved region; the region in *hit. */
VTD_API bool vtd_assign_reserved(const struct vtd_assign *a, uint64_t base, uint64_t size,
                                 struct vtd_assign_range *hit);

/* ---- VMs and guest memory ---- */

VTD_API int vtd_vm_create(struct vtd_assign *a, struct vtd_vm **out);
/* Unassigns its devices, frees its interrupts, memory and descriptors. */
VTD_API void vtd_vm_destroy(struct vtd_vm *vm);
VTD_API unsigned vtd_vm_id(const struct vtd_vm *vm); /* 1, 2, ... in creation order */

/* Back [gpa, gpa + size) (4 KiB aligned, not empty, below 2^52) with host
 * pages, mapped for the VM's devices at once when it has any.  VTD_EINVAL
 * for bad ranges, VTD_AS_ERESERVED when it overlaps a reserved region,
 * VTD_AS_EBUSY when it overlaps memory the VM has, VTD_ENOMEM when pages ran
 * out, VTD_AS_EDRV when the driver refused a mapping (nothing is kept). */
VTD_API int vtd_vm_add_memory(struct vtd_vm *vm, uint64_t gpa, uint64_t size);
/* Remove [gpa, gpa + size) (whole 4 KiB pages of backed memory; it may
 * split a range): unmapped through the driver, which invalidates the
 * IOTLB and device-TLBs before returning, and only then the host pages are
 * freed.  VTD_AS_ENODEV when a page of it is not backed. */
VTD_API int vtd_vm_remove_memory(struct vtd_vm *vm, uint64_t gpa, uint64_t size);
/* The host page behind a guest-physical address (plus the offset). */
VTD_API int vtd_vm_gpa_to_hpa(const struct vtd_vm *vm, uint64_t gpa, uint64_t *hpa);
/* CPU access to guest memory (what the guest's CPU sees): may cross pages. */
VTD_API int vtd_vm_read(const struct vtd_vm *vm, uint64_t gpa, void *buf, size_t len);
VTD_API int vtd_vm_write(const struct vtd_vm *vm, uint64_t gpa, const void *buf, size_t len);
/* Report every backed GPA page run [gpa, gpa+size) -> contiguous host pages
 * from hpa, in increasing GPA order; fn returns non-zero to stop. */
typedef int (*vtd_vm_mem_fn)(void *arg, uint64_t gpa, uint64_t hpa, uint64_t size);
VTD_API int vtd_vm_memory(const struct vtd_vm *vm, vtd_vm_mem_fn fn, void *arg);

/* ---- Assignment ---- */

/* Assign devices to vm.  Every group touched must be complete: each member
 * in sids or already assigned to vm, else VTD_AS_EGROUP (message: which
 * device, which group member is missing and why they share a group).
 * VTD_AS_ENODEV for a device not in the topology, VTD_AS_EBUSY for one
 * assigned already (to any VM).  On success every requester id of every
 * device is attached to the VM's domain (created, with all memory mapped,
 * on the first assignment).  On failure nothing changed. */
VTD_API int vtd_vm_assign(struct vtd_vm *vm, const uint16_t *sids, unsigned n);
/* Unassign: groups must be complete as for assign (VTD_AS_EGROUP), every
 * device assigned to vm (VTD_AS_ENODEV).  Interrupts routed from them are
 * freed.  The last device gone, all memory is unmapped and the domain
 * freed. */
VTD_API int vtd_vm_unassign(struct vtd_vm *vm, const uint16_t *sids, unsigned n);
/* The VM's domain id (DID, which may be 0 on a unit without CAP.CM), or
 * VTD_AS_ENODEV while it has no devices (and so no domain). */
VTD_API int vtd_vm_domain_id(const struct vtd_vm *vm);
/* The VM owning a requester id (own or alias), or NULL. */
VTD_API struct vtd_vm *vtd_assign_owner(const struct vtd_assign *a, uint16_t rid);

/* ---- A guest with its own virtual IOMMU (nested translation) ---- */

/* On a scalable-mode unit every assigned device's requests without PASID
 * use its RID_PASID entry: second level (PGTT=010b) over the VM's GPA -> HPA
 * tables, exactly as the legacy context entry does.  On top of that:
 *
 * Bind the guest's first-level tables (what the guest's OS wrote into its
 * virtual IOMMU: IA-32e tables in its own memory, root = the guest's "CR3",
 * a GPA) for PASID `pasid` of assigned device `sid`: requests tagged with
 * that PASID are translated guest IOVA -> GPA by those tables, whose table
 * reads and output are in turn translated GPA -> HPA by the VM's second
 * level (PASID-table entry PGTT=011b, nested).  Needs the driver in
 * scalable mode on a unit with ECAP.NEST (vtd_drv_info.nested), else
 * VTD_ENOTSUP.  VTD_AS_ENODEV when sid is not assigned to vm or fl_root is
 * not backed guest memory; VTD_EINVAL for PASID 0 (the RID_PASID), fl_root
 * unaligned or fl_levels not 4 or 5; VTD_AS_EBUSY when that PASID is bound
 * already; VTD_AS_EDRV when the driver refuses (e.g. a PASID beyond what
 * it supports).  The guest edits its tables freely afterwards: the unit
 * sees a change once the guest invalidated it (vtd_vm_nest_inval). */
VTD_API int vtd_vm_nest(struct vtd_vm *vm, uint16_t sid, uint32_t pasid, uint64_t fl_root, unsigned fl_levels);
/* Unbind: the PASID entry is cleared and invalidated (PASID cache,
 * PASID-based IOTLB); requests with that PASID then fault (PASID entry not
 * present), requests without PASID keep the second level.  Unassigning a
 * device unbinds all of its PASIDs first.  VTD_AS_ENODEV when not bound. */
VTD_API int vtd_vm_unnest(struct vtd_vm *vm, uint16_t sid, uint32_t pasid);
/* Forward a guest's invalidation: desc is the 128-bit PASID-based IOTLB
 * invalidation descriptor (type 6; desc[0] = bits 63:0) the guest queued
 * in its virtual IOMMU, which the VMM trapped and resolved (from the
 * guest's DID) to assigned device sid.  Its PASID must be bound for sid.
 * G=10b: everything cached for the PASID; G=11b: the 2^AM pages at ADDR
 * (IH=1: leaf entries only).  The host issues the same invalidation with
 * the VM's own DID and waits for it; the guest's DID is not used.
 * VTD_EINVAL for another type, G=00b/01b or reserved bits set (the
 * sentence quotes the descriptor), VTD_AS_ENODEV for a PASID not bound,
 * VTD_AS_EDRV when the driver refuses. */
VTD_API int vtd_vm_nest_inval(struct vtd_vm *vm, uint16_t sid, const uint64_t desc[2]);

/* ---- vCPUs and interrupts ---- */

/* A vCPU running on the host CPU with APIC id apic_id; nv is the
 * notification vector the host handles posted-interrupt notifications
 * with.  Its 64-byte posted-interrupt descriptor is allocated in host
 * memory (up to 64 vCPUs per VM).  *vcpu: its number (0, 1, ...). */
VTD_API int vtd_vm_add_vcpu(struct vtd_vm *vm, uint32_t apic_id, uint8_t nv, unsigned *vcpu);
/* Host-physical address of a vCPU's descriptor, 0 for no such vCPU. */
VTD_API uint64_t vtd_vm_vcpu_pid(const struct vtd_vm *vm, unsigned vcpu);

struct vtd_vm_irq {
    bool posted;         /* posted to the vCPU (CAP.PI), else remapped to the host */
    unsigned handle;     /* the interrupt-remapping table index */
    struct vtd_msi msi;  /* what the device must send: program it into its MSI capability */
};
/* Route interrupts of assigned device `sid` with guest vector `vector` to
 * vCPU `vcpu`: a posted IRTE (the virtual vector set in the vCPU's PIR)
 * when the unit has CAP.PI, else a remapped IRTE delivering host_vector to
 * the vCPU's host APIC.  Source-id validated against the device's
 * requester id. */
VTD_API int vtd_vm_route_irq(struct vtd_vm *vm, uint16_t sid, unsigned vcpu, uint8_t vector, uint8_t host_vector,
                             struct vtd_vm_irq *out);
VTD_API int vtd_vm_unroute_irq(struct vtd_vm *vm, unsigned handle);

/* The vCPU's descriptor as the VMM reads it: PIR (256 bits), ON and SN. */
struct vtd_vcpu_state {
    uint64_t pir[4];
    bool on, sn;
};
VTD_API int vtd_vm_vcpu_state(const struct vtd_vm *vm, unsigned vcpu, struct vtd_vcpu_state *out);
/* What the VMM does on a notification: clear ON, then take and clear PIR
 * (each by compare-exchange), returning the vectors that were pending. */
VTD_API int vtd_vm_vcpu_drain(struct vtd_vm *vm, unsigned vcpu, uint64_t pir[4]);

#ifdef __cplusplus
}
#endif
#endif
