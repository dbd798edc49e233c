/* SPDX-License-Identifier: MIT */
/*
 * The assignment layer's private state (src/assign/).  It sits on the
 * driver only (DESIGN.md): everything it does to the unit goes through
 * <vtd/drv.h>.
 */
#ifndef VTD_ASSIGN_INTERNAL_H
#define VTD_ASSIGN_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <vtd/assign.h>

#define AS_PAGE 4096ULL
#define AS_MAX_VCPUS 64 /* one host page of 64-byte posted-interrupt descriptors */
#define AS_MAX_RIDS 2   /* a device's own requester id and one bridge alias */

/* One device of the topology, with what the layer derived from it. */
struct as_dev {
    uint16_t sid;
    bool acs;
    int group;                    /* index into vtd_assign.groups */
    unsigned nrids;
    uint16_t rids[AS_MAX_RIDS];   /* requester ids its DMA arrives with */
    int bridge;                   /* the PCIe-to-PCI bridge aliasing it, or -1 */
    struct vtd_vm *vm;            /* assigned to, or NULL */
};

struct as_range {                 /* a GPA range of guest memory */
    uint64_t gpa, size;
    uint64_t *hpa;                /* host page of each 4 KiB guest page */
    struct as_range *next;
};

struct as_rid {                   /* a requester id attached to the VM's domain */
    uint16_t rid;
    unsigned refs;                /* devices of the VM that use it */
};

struct as_vcpu {
    uint32_t apic_id;
    uint8_t nv;
    uint64_t pid;                 /* host-physical address of its descriptor (0 without CAP.PI) */
};

struct as_irq {                   /* an interrupt routed to a vCPU */
    bool used;
    uint16_t sid;
    uint32_t index;               /* its IRTE */
};

struct as_nest {                  /* a PASID of an assigned device nested over the VM's domain */
    uint16_t sid;
    uint32_t pasid;
};

struct vtd_vm {
    struct vtd_assign *a;
    unsigned id;
    struct as_range *ranges;
    struct vtd_drv_domain *dom;   /* NULL while no device is assigned */
    unsigned ndevs;               /* devices assigned */
    struct as_rid *rids;          /* room for every requester id of the topology */
    unsigned nrids;
    struct as_vcpu vcpus[AS_MAX_VCPUS];
    unsigned nvcpus;
    struct as_irq *irqs;
    unsigned nirqs, irqcap;
    struct as_nest *nests;        /* guest first-level tables bound (nest.c) */
    unsigned nnests, nestcap;
    struct vtd_vm *next;
};

struct vtd_assign {
    struct vtd_drv *drv;
    struct vtd_drv_info info;
    struct vtd_assign_platform plat;
    struct as_dev *devs;
    unsigned ndevs;
    struct vtd_assign_bridge *bridges;
    unsigned nbridges;
    struct vtd_assign_range *resv;   /* interrupt range + RMRRs */
    unsigned nresv;
    unsigned ngroups;
    struct vtd_vm *vms;
    unsigned next_vm_id;
    char err[256];
};

/* Set a->err (printf-style) and return code. */
int as_fail(struct vtd_assign *a, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "BB:DD.F" */
const char *as_bdf(uint16_t sid, char buf[8]);
struct as_dev *as_find_dev(struct vtd_assign *a, uint16_t sid);
/* The device sid if it is assigned to vm; else NULL with the error set. */
struct as_dev *as_assigned(struct vtd_vm *vm, uint16_t sid);
/* Build devices, aliases and groups from the topology (group.c). */
int as_topology(struct vtd_assign *a, const struct vtd_assign_topology *t);
/* Why two devices of one group belong together, for error messages. */
void as_group_reason(const struct vtd_assign *a, const struct as_dev *x, const struct as_dev *y, char *buf,
                     size_t len);

/* a->err = "<what>: the driver said: ..."; VTD_ENOMEM or VTD_AS_EDRV */
int as_drv_fail(struct vtd_assign *a, int r, const char *what);

/* vm.c / irq.c / nest.c internals */
void as_irq_release_all(struct vtd_vm *vm);
/* Unbind every PASID of device sid nested in vm (before it is unassigned). */
void as_unnest_dev(struct vtd_vm *vm, uint16_t sid);

#endif
