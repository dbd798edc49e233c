/* SPDX-License-Identifier: MIT */
/*
 * A whole simulated machine for `vtd demo` and tests/test_assign.c: sparse
 * host memory, one remapping unit (the model), the driver programming it
 * only through its MMIO registers and that memory, and the assignment layer
 * on the driver.  The pieces meet only where real ones do:
 *
 *   driver --read32/write32/read64/write64--> vtd_mmio_read/write (the unit)
 *   driver --mem_read/mem_write--> sparse memory <--mem_read/mem_write-- unit
 *
 * Host pages for guest memory come from a pool handed out in a scrambled
 * order, so a VM's memory is scattered over host memory as on a real host.
 */
#ifndef VTD_TOOL_MACHINE_H
#define VTD_TOOL_MACHINE_H

#include <stddef.h>
#include <stdint.h>

#include <vtd/assign.h>
#include <vtd/defs.h>
#include <vtd/drv.h>
#include <vtd/mem.h>
#include <vtd/vtd.h>

#define MACH_TABLES_BASE 0x10000000ULL   /* driver table pages: 256 MiB from here */
#define MACH_TABLES_SIZE 0x10000000ULL
#define MACH_POOL_BASE 0x200000000ULL    /* guest pages: the pool, from 8 GiB */
#define MACH_POOL_PAGES 16384u           /* 64 MiB of host pages */
#define MACH_LOG 64

/* Fault-event MSI the driver programs (FEADDR/FEDATA): APIC 0, vector 0xF0. */
#define MACH_FE_ADDR UINT64_C(0xFEE00000)
#define MACH_FE_DATA 0xF0u

struct mach_pool_page;

struct mach {
    struct vtd_mem *mem;
    struct vtd *u;
    struct vtd_drv *drv;
    struct vtd_assign *as;
    struct vtd_config cfg;
    /* driver table pages: bump allocation, freed blocks kept per order */
    uint64_t tbl_next;
    struct { uint64_t pa; unsigned order; } tbl_free[1024];
    unsigned ntbl_free;
    /* guest pages: a scrambled stack of free pool pages */
    uint32_t *pool;
    uint32_t npool;
    /* what happened: MSIs the unit sent, faults the driver reported, diags */
    int nmsi;
    struct { uint64_t addr; uint32_t data; } msi[MACH_LOG];
    int nfault;
    struct vtd_drv_fault fault[MACH_LOG];
    int ndiag;
    struct { int code; char msg[320]; } diag[MACH_LOG];
    int nlog;                   /* driver log lines (errors and warnings) */
    char last_log[160];
};

/* Build the machine: cfg NULL = vtd_config_default; drv_flags = extra
 * VTD_DRV_CFG_* flags; the topology for the assignment layer.  0, or a
 * negative code with a sentence in err. */
int mach_create(struct mach **out, const struct vtd_config *cfg, unsigned drv_flags,
                const struct vtd_assign_topology *topo, char *err, size_t errlen);
void mach_destroy(struct mach *m);

/* One DMA by a device, as the device issues it: translate, then (on
 * success) read or write len bytes (within one 4 KiB page) at the
 * translated address.  Returns 0 with *res filled, or a negative code. */
int mach_dma(struct mach *m, uint16_t sid, uint64_t addr, uint8_t access, void *buf, size_t len,
             struct vtd_result *res);
/* The same with a PASID (a user request, untranslated). */
int mach_dma_pasid(struct mach *m, uint16_t sid, uint32_t pasid, uint64_t addr, uint8_t access, void *buf,
                   size_t len, struct vtd_result *res);
/* The same for any request (req->addr, req->access as issued). */
int mach_dma_req(struct mach *m, const struct vtd_request *req, void *buf, size_t len, struct vtd_result *res);
/* Let the driver collect pending faults (vtd_drv_fault_poll) into m->fault;
 * returns how many were added. */
int mach_poll_faults(struct mach *m);

/* ---- A guest's OS driving its virtual IOMMU (nested translation) ---- */

/* The guest writing IA-32e first-level tables (4 levels, or 5 after
 * setting `levels`; 4 KiB leaves) in its own memory with its CPU
 * (vtd_vm_write): every table and entry is a guest-physical address.
 * Table pages come from [next, end) of guest memory (which starts zeroed);
 * cr3 is the first. */
#define MACH_GFL_TABLE (VTD_FL_P | VTD_FL_RW | VTD_FL_US) /* bits of the entries it writes */
struct mach_gfl {
    struct vtd_vm *vm;
    uint64_t cr3, next, end;
    int levels; /* 4 (mach_gfl_init) or 5 */
};
/* 0, VTD_ENOMEM when [next, end) ran out, VTD_AS_ENODEV for GPAs the VM lacks. */
int mach_gfl_init(struct mach_gfl *g, struct vtd_vm *vm, uint64_t first, uint64_t end);
/* The GPA of the entry for va at `level` (1 = PTE), allocating the tables above it. */
int mach_gfl_entry(struct mach_gfl *g, uint64_t va, int level, uint64_t *gpa);
int mach_gfl_set(struct mach_gfl *g, uint64_t va, int level, uint64_t val);
int mach_gfl_get(struct mach_gfl *g, uint64_t va, int level, uint64_t *val);
/* The guest's PASID-based IOTLB invalidation descriptor (type 6) with its
 * own DID: page-selective (G = 11b, 2^am pages at addr, IH) or for the
 * whole PASID (G = 10b). */
void mach_guest_piotlb(uint64_t desc[2], uint16_t guest_did, uint32_t pasid, bool page, uint64_t addr, unsigned am,
                       bool ih);

#endif
