/* SPDX-License-Identifier: MIT */
/*
 * Interrupts of assigned devices to vCPUs (docs/assign.md "Interrupts").
 *
 * With CAP.PI each interrupt gets a posted-format IRTE naming the vCPU's
 * posted-interrupt descriptor: the unit sets the guest vector in the PIR
 * and, when ON was clear (and SN clear or URG set), sends the notification
 * vector to the host CPU the vCPU runs on.  Without CAP.PI the IRTE is
 * remapped-format: the host vector goes to that CPU and the VMM injects the
 * guest vector itself.  Either way the IRTE checks the source-id: the
 * device's requester id, or the bus range of the PCIe-to-PCI bridge whose
 * alias its interrupts may carry.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PID_ON (1ULL << 0) /* descriptor qword 4, bit 256 */
#define PID_SN (1ULL << 1) /* bit 257 */

int vtd_vm_add_vcpu(struct vtd_vm *vm, uint32_t apic_id, uint8_t nv, unsigned *vcpu)
{
    if (!vm)
        return VTD_EINVAL;
    struct vtd_assign *a = vm->a;
    if (vm->nvcpus >= AS_MAX_VCPUS)
        return as_fail(a, VTD_AS_EBUSY, "VM %u already has %u vCPUs", vm->id, AS_MAX_VCPUS);
    if (!a->info.x2apic && apic_id > 0xFF)
        return as_fail(a, VTD_EINVAL, "VM %u: APIC id %u does not fit xAPIC mode (8 bits)", vm->id, apic_id);
    struct as_vcpu *c = &vm->vcpus[vm->nvcpus];
    c->apic_id = apic_id;
    c->nv = nv;
    c->pid = 0;
    if (a->info.posted) {
        int rc = vtd_drv_pid_alloc(a->drv, nv, apic_id, &c->pid);
        if (rc)
            return as_fail(a, rc == VTD_DRV_ENOMEM ? VTD_ENOMEM : VTD_AS_EDRV,
                           "VM %u: allocating a posted-interrupt descriptor: the driver said: %s", vm->id,
                           vtd_drv_strerror(rc));
    }
    if (vcpu)
        *vcpu = vm->nvcpus;
    vm->nvcpus++;
    return 0;
}

uint64_t vtd_vm_vcpu_pid(const struct vtd_vm *vm, unsigned vcpu)
{
    return vm && vcpu < vm->nvcpus ? vm->vcpus[vcpu].pid : 0;
}

static struct as_irq *new_irq(struct vtd_vm *vm)
{
    for (unsigned i = 0; i < vm->nirqs; i++)
        if (!vm->irqs[i].used)
            return &vm->irqs[i];
    if (vm->nirqs == vm->irqcap) {
        unsigned cap = vm->irqcap ? 2 * vm->irqcap : 8;
        struct as_irq *p = realloc(vm->irqs, cap * sizeof *p);
        if (!p)
            return NULL;
        vm->irqs = p;
        vm->irqcap = cap;
    }
    struct as_irq *q = &vm->irqs[vm->nirqs++];
    memset(q, 0, sizeof *q);
    return q;
}

int vtd_vm_route_irq(struct vtd_vm *vm, uint16_t sid, unsigned vcpu, uint8_t vector, uint8_t host_vector,
                     struct vtd_vm_irq *out)
{
    if (!vm || !out)
        return VTD_EINVAL;
    struct vtd_assign *a = vm->a;
    char b1[8];
    struct as_dev *d = as_assigned(vm, sid);
    if (!d)
        return VTD_AS_ENODEV;
    if (vcpu >= vm->nvcpus)
        return as_fail(a, VTD_EINVAL, "VM %u has no vCPU %u", vm->id, vcpu);
    if (!a->info.ir)
        return as_fail(a, VTD_AS_EDRV, "the driver has interrupt remapping off: interrupts cannot be routed");
    struct as_irq *q = new_irq(vm);
    if (!q)
        return as_fail(a, VTD_ENOMEM, "out of memory for an interrupt route");

    int svt = VTD_DRV_SVT_SID;
    uint16_t svsid = sid;
    if (d->bridge >= 0) {
        const struct vtd_assign_bridge *b = &a->bridges[d->bridge];
        svt = VTD_DRV_SVT_BUS;
        svsid = (uint16_t)(b->secondary << 8 | b->subordinate);
    }
    const struct as_vcpu *c = &vm->vcpus[vcpu];
    uint32_t index;
    int rc = vtd_drv_irte_alloc(a->drv, 1, &index);
    const char *what = "allocating an IRTE";
    if (rc == 0) {
        if (c->pid) {
            what = "programming a posted IRTE";
            rc = vtd_drv_irte_set_posted(a->drv, index, svsid, svt, c->pid, vector, false);
        } else {
            struct vtd_drv_irq_target t = {.vector = host_vector, .delivery_mode = VTD_DRV_DLM_FIXED,
                                           .dest = c->apic_id};
            what = "programming a remapped IRTE";
            rc = vtd_drv_irte_set_remapped(a->drv, index, svsid, svt, &t);
        }
        if (rc == 0) {
            what = "composing the MSI";
            rc = vtd_drv_msi_compose(a->drv, index, false, &out->msi.addr, &out->msi.data);
        }
        if (rc)
            vtd_drv_irte_free(a->drv, index, 1);
    }
    if (rc) {
        return as_fail(a, rc == VTD_DRV_ENOMEM ? VTD_ENOMEM : VTD_AS_EDRV, "VM %u, device %s: %s: the driver said: %s",
                       vm->id, as_bdf(sid, b1), what, vtd_drv_strerror(rc));
    }
    q->used = true;
    q->sid = sid;
    q->index = index;
    out->posted = c->pid != 0;
    out->handle = index;
    out->msi.sid = sid;
    return 0;
}

int vtd_vm_unroute_irq(struct vtd_vm *vm, unsigned handle)
{
    if (!vm)
        return VTD_EINVAL;
    for (unsigned i = 0; i < vm->nirqs; i++) {
        struct as_irq *q = &vm->irqs[i];
        if (q->used && q->index == handle) {
            q->used = false;
            int rc = vtd_drv_irte_free(vm->a->drv, handle, 1);
            return rc ? as_fail(vm->a, VTD_AS_EDRV, "VM %u: freeing IRTE %u: the driver said: %s", vm->id, handle,
                                vtd_drv_strerror(rc))
                      : 0;
        }
    }
    return as_fail(vm->a, VTD_AS_ENODEV, "VM %u routes no interrupt with handle %u", vm->id, handle);
}

void as_irq_release_all(struct vtd_vm *vm)
{
    for (unsigned i = 0; i < vm->nirqs; i++)
        if (vm->irqs[i].used)
            vtd_vm_unroute_irq(vm, vm->irqs[i].index);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].pid)
            vtd_drv_pid_free(vm->a->drv, vm->vcpus[i].pid);
    vm->nvcpus = 0;
}

static int pid_read(const struct vtd_vm *vm, unsigned vcpu, uint64_t q[5])
{
    const struct vtd_assign_platform *p = &vm->a->plat;
    if (vcpu >= vm->nvcpus || !vm->vcpus[vcpu].pid)
        return VTD_AS_ENODEV;
    return p->mem_read(p->opaque, vm->vcpus[vcpu].pid, q, 5 * sizeof *q) ? VTD_AS_ENODEV : 0;
}

int vtd_vm_vcpu_state(const struct vtd_vm *vm, unsigned vcpu, struct vtd_vcpu_state *out)
{
    if (!vm || !out)
        return VTD_EINVAL;
    uint64_t q[5];
    int rc = pid_read(vm, vcpu, q);
    if (rc)
        return rc;
    memcpy(out->pir, q, sizeof out->pir);
    out->on = q[4] & PID_ON;
    out->sn = q[4] & PID_SN;
    return 0;
}

/* Atomically clear `clear` in the qword at hpa; *old gets the value replaced. */
static int update64(const struct vtd_assign_platform *p, uint64_t hpa, uint64_t clear, uint64_t *old)
{
    uint64_t v;
    if (p->mem_read(p->opaque, hpa, &v, sizeof v))
        return VTD_AS_ENODEV;
    if (!p->mem_cmpxchg64) {
        uint64_t nv = v & ~clear;
        *old = v;
        return p->mem_write(p->opaque, hpa, &nv, sizeof nv) ? VTD_AS_ENODEV : 0;
    }
    for (;;) {
        int rc = p->mem_cmpxchg64(p->opaque, hpa, &v, v & ~clear);
        if (rc == 0) {
            *old = v;
            return 0;
        }
        if (rc < 0)
            return VTD_AS_ENODEV;
    }
}

int vtd_vm_vcpu_drain(struct vtd_vm *vm, unsigned vcpu, uint64_t pir[4])
{
    if (!vm || !pir)
        return VTD_EINVAL;
    uint64_t q[5], old;
    int rc = pid_read(vm, vcpu, q);
    if (rc)
        return rc;
    uint64_t pid = vm->vcpus[vcpu].pid;
    /* ON first: a vector posted after this sets ON again and notifies */
    if ((rc = update64(&vm->a->plat, pid + 32, PID_ON, &old)))
        return rc;
    for (unsigned i = 0; i < 4; i++)
        if ((rc = update64(&vm->a->plat, pid + 8 * i, ~0ULL, &pir[i])))
            return rc;
    return 0;
}
