/* SPDX-License-Identifier: MIT */
/*
 * The assignment layer end to end: model + driver + assign, wired only
 * through MMIO and memory (tools/vtd/machine.c).  Outcomes are checked where
 * a real system would see them: where DMA lands in host memory, the unit's
 * fault recording registers (read through MMIO before the driver clears
 * them), the fault event and posted-interrupt notification MSIs, the
 * posted-interrupt descriptor in memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vtd/assign.h>
#include <vtd/defs.h>
#include <vtd/regs.h>

#include "machine.h"

#define SID(b, d, f) ((uint16_t)(((b) << 8) | ((d) << 3) | (f)))
#define PAGE 4096ULL
#define DEV_A SID(0, 2, 0)
#define DEV_B SID(0, 3, 0)
/* PASID-table entry PGTT values (Rev 5.10 §9.6) */
#define PGTT_SL 2u
#define PGTT_NESTED 3u

static const struct vtd_assign_dev two_devs[] = {{DEV_A, true}, {DEV_B, true}};
static const struct vtd_assign_topology two_topo = {.devs = two_devs, .ndevs = 2};

static struct mach *new_mach_flags(const struct vtd_config *cfg, unsigned drv_flags,
                                   const struct vtd_assign_topology *t)
{
    struct mach *m;
    char err[256];
    int r = mach_create(&m, cfg, drv_flags, t, err, sizeof err);
    if (r)
        fail_msg("mach_create: %s", err);
    return m;
}

static struct mach *new_mach(const struct vtd_config *cfg, const struct vtd_assign_topology *t)
{
    return new_mach_flags(cfg, 0, t);
}

/* A vtd_config_scalable() unit with the driver in scalable mode (never the
 * legacy fallback). */
static struct mach *new_sm_mach(const struct vtd_assign_topology *t)
{
    struct vtd_config cfg;
    vtd_config_scalable(&cfg);
    struct mach *m = new_mach_flags(&cfg, VTD_DRV_CFG_SCALABLE | VTD_DRV_CFG_FORCE_SCALABLE, t);
    struct vtd_drv_info in;
    assert_int_equal(vtd_drv_info(m->drv, &in), 0);
    assert_true(in.scalable);
    assert_true(in.nested);
    /* the unit runs scalable mode: RTADDR.TTM = 01 */
    assert_int_equal((vtd_mmio_read(m->u, VTD_REG_RTADDR, 8) & VTD_RTADDR_TTM_MASK) >> VTD_RTADDR_TTM_SHIFT,
                     VTD_TTM_SCALABLE);
    return m;
}

/* The PASID-table entry the unit finds for (sid, pasid) (pasid 0: a request
 * without PASID, i.e. RID_PASID), read by a walk of the tables in memory. */
struct pe_catch {
    bool found;
    uint64_t q[8];
};
static void catch_pe(void *arg, const struct vtd_walk_step *st)
{
    struct pe_catch *c = arg;
    if (st->kind == VTD_STEP_PASID_ENTRY && !st->read_error) {
        c->found = true;
        memcpy(c->q, st->val, sizeof c->q);
    }
}
static struct pe_catch pasid_entry_of(struct mach *m, uint16_t sid, uint32_t pasid)
{
    struct vtd_request req = {.sid = sid, .at = VTD_AT_UNTRANSLATED, .access = VTD_R, .pasid_valid = pasid != 0,
                              .pasid = pasid};
    struct vtd_result res;
    struct pe_catch c = {0};
    assert_int_equal(vtd_walk(m->u, &req, &res, catch_pe, &c), 0);
    return c;
}
static unsigned pgtt_of(const struct pe_catch *c)
{
    return (unsigned)((c->q[0] & VTD_PE_Q0_PGTT_MASK) >> VTD_PE_Q0_PGTT_SHIFT);
}

static int teardown(void **state)
{
    mach_destroy(*state);
    return 0;
}

/* The pending fault record of `sid`, read through the unit's registers. */
static bool frcd_of(struct mach *m, uint16_t sid, uint8_t *fr, uint64_t *fi, bool *read)
{
    uint64_t cap = vtd_mmio_read(m->u, VTD_REG_CAP, 8);
    uint64_t fro = ((cap >> 24) & 0x3FF) * 16;
    unsigned nfr = (unsigned)((cap >> 40) & 0xFF) + 1;
    for (unsigned i = 0; i < nfr; i++) {
        uint64_t lo = vtd_mmio_read(m->u, fro + 16 * i, 8);
        uint64_t hi = vtd_mmio_read(m->u, fro + 16 * i + 8, 8);
        if ((hi & VTD_FRCD_HI_F) && (uint16_t)(hi & VTD_FRCD_HI_SID_MASK) == sid) {
            *fr = (uint8_t)((hi & VTD_FRCD_HI_FR_MASK) >> VTD_FRCD_HI_FR_SHIFT);
            *fi = lo & VTD_FRCD_LO_FI_MASK;
            if (read)
                *read = (hi & VTD_FRCD_HI_T1) != 0;
            return true;
        }
    }
    return false;
}

static struct vtd_vm *vm_with(struct mach *m, const uint64_t (*ranges)[2], unsigned n)
{
    struct vtd_vm *vm;
    assert_int_equal(vtd_vm_create(m->as, &vm), 0);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(vtd_vm_add_memory(vm, ranges[i][0], ranges[i][1]), 0);
    return vm;
}

struct count {
    unsigned runs;
    uint64_t bytes;
};
static int count_run(void *arg, uint64_t gpa, uint64_t hpa, uint64_t size)
{
    struct count *c = arg;
    (void)gpa, (void)hpa;
    c->runs++;
    c->bytes += size;
    return 0;
}

static const uint64_t vm1_mem[][2] = {{0x0, 0x40000}, {0x100000, 0x20000}, {0x7fff0000, 0x10000}};
static const uint64_t vm2_mem[][2] = {{0x0, 0x20000}, {0x200000, 0x40000}};

/* DMA by `sid` to every GPA page of vm's ranges reaches exactly the host
 * page behind it, and the guest's CPU reads what the device wrote. */
static void check_every_page(struct mach *m, struct vtd_vm *vm, uint16_t sid, const uint64_t (*mem)[2], unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        for (uint64_t g = mem[i][0]; g < mem[i][0] + mem[i][1]; g += PAGE) {
            uint64_t hpa, word = 0xD0000000ULL + g + sid, back = 0;
            assert_int_equal(vtd_vm_gpa_to_hpa(vm, g + 0x18, &hpa), 0);
            struct vtd_result res;
            assert_int_equal(mach_dma(m, sid, g + 0x18, VTD_W, &word, 8, &res), 0);
            assert_int_equal(res.status, VTD_OK);
            assert_int_equal(res.pa, hpa);
            assert_true(hpa >= MACH_POOL_BASE);
            /* the guest's CPU sees it at the same GPA */
            assert_int_equal(vtd_vm_read(vm, g + 0x18, &back, 8), 0);
            assert_int_equal(back, word);
            assert_int_equal(mach_dma(m, sid, g + 0x18, VTD_R, &back, 8, &res), 0);
            assert_int_equal(res.status, VTD_OK);
        }
}

/* Two VMs, each with a device: every GPA page of each VM reaches exactly
 * its host page, through scattered host memory. */
static void test_two_vms_dma(void **state)
{
    struct mach *m = *state = new_mach(NULL, &two_topo);
    struct vtd_vm *v1 = vm_with(m, vm1_mem, 3), *v2 = vm_with(m, vm2_mem, 2);
    assert_int_equal(vtd_vm_domain_id(v1), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_assign(v1, (uint16_t[]){DEV_A}, 1), 0);
    assert_int_equal(vtd_vm_assign(v2, (uint16_t[]){DEV_B}, 1), 0);
    assert_true(vtd_vm_domain_id(v1) >= 0);
    assert_true(vtd_vm_domain_id(v2) >= 0);
    assert_int_not_equal(vtd_vm_domain_id(v1), vtd_vm_domain_id(v2));
    assert_ptr_equal(vtd_assign_owner(m->as, DEV_A), v1);
    assert_ptr_equal(vtd_assign_owner(m->as, DEV_B), v2);

    /* scattered: far more host runs than ranges */
    struct count c = {0};
    assert_int_equal(vtd_vm_memory(v1, count_run, &c), 0);
    assert_int_equal(c.bytes, 0x40000 + 0x20000 + 0x10000);
    assert_true(c.runs > 20);

    check_every_page(m, v1, DEV_A, vm1_mem, 3);
    check_every_page(m, v2, DEV_B, vm2_mem, 2);
    assert_int_equal(m->nmsi, 0);
    assert_int_equal(m->ndiag, 0);
}

/* A device reaching into the other VM's memory faults, recorded. */
static void test_cross_vm_faults(void **state)
{
    struct mach *m = *state = new_mach(NULL, &two_topo);
    struct vtd_vm *v1 = vm_with(m, vm1_mem, 3), *v2 = vm_with(m, vm2_mem, 2);
    assert_int_equal(vtd_vm_assign(v1, (uint16_t[]){DEV_A}, 1), 0);
    assert_int_equal(vtd_vm_assign(v2, (uint16_t[]){DEV_B}, 1), 0);

    /* GPA 0x200000 is memory of VM 2 only */
    uint64_t word = 0x1111, hpa2, before = 0, after = 0;
    assert_int_equal(vtd_vm_gpa_to_hpa(v2, 0x200000, &hpa2), 0);
    assert_int_equal(vtd_vm_read(v2, 0x200000, &before, 8), 0);
    struct vtd_result res;
    assert_int_equal(mach_dma(m, DEV_A, 0x200000, VTD_W, &word, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_true(res.fault_recorded);
    uint8_t fr;
    uint64_t fi;
    bool rd;
    assert_true(frcd_of(m, DEV_A, &fr, &fi, &rd));
    assert_int_equal(fr, VTD_FR_NO_WRITE);
    assert_int_equal(fi, 0x200000);
    assert_false(rd);
    /* the fault event went to the address the driver programmed */
    assert_int_equal(m->nmsi, 1);
    assert_int_equal(m->msi[0].addr, MACH_FE_ADDR);
    assert_int_equal(m->msi[0].data, MACH_FE_DATA);
    assert_int_equal(vtd_vm_read(v2, 0x200000, &after, 8), 0);
    assert_int_equal(before, after);

    /* the driver decodes and clears it */
    assert_int_equal(mach_poll_faults(m), 1);
    assert_int_equal(m->fault[0].kind, VTD_DRV_FAULT_DMA);
    assert_int_equal(m->fault[0].sid, DEV_A);
    assert_int_equal(m->fault[0].reason, VTD_FR_NO_WRITE);
    assert_int_equal(m->fault[0].addr, 0x200000);
    assert_false(frcd_of(m, DEV_A, &fr, &fi, NULL));

    /* a host-physical address of VM 2 used as an address by device A: it is
     * translated as a GPA of VM 1, where nothing is mapped */
    assert_int_equal(mach_dma(m, DEV_A, hpa2, VTD_R, &word, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_true(frcd_of(m, DEV_A, &fr, &fi, &rd));
    assert_int_equal(fr, VTD_FR_NO_READ);
    assert_int_equal(fi, hpa2);
    assert_true(rd);
    assert_int_equal(mach_poll_faults(m), 1);

    /* and device B cannot reach VM 1's GPA 0x100000 */
    assert_int_equal(mach_dma(m, DEV_B, 0x100000, VTD_R, &word, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_true(frcd_of(m, DEV_B, &fr, &fi, NULL));
    assert_int_equal(fi, 0x100000);
}

/* The same on a scalable-mode unit: each device's RID_PASID entry is a
 * second-level (PGTT 010) entry over its VM's GPA -> HPA tables; another
 * VM's memory faults with the scalable-mode reasons; interrupts are posted
 * as in legacy mode; unassigning removes the entries. */
static void test_scalable_assign(void **state)
{
    struct mach *m = *state = new_sm_mach(&two_topo);
    struct vtd_vm *v1 = vm_with(m, vm1_mem, 3), *v2 = vm_with(m, vm2_mem, 2);
    assert_int_equal(vtd_vm_assign(v1, (uint16_t[]){DEV_A}, 1), 0);
    assert_int_equal(vtd_vm_assign(v2, (uint16_t[]){DEV_B}, 1), 0);
    assert_int_not_equal(vtd_vm_domain_id(v1), vtd_vm_domain_id(v2));
    const struct { struct vtd_vm *vm; uint16_t sid; } devs[] = {{v1, DEV_A}, {v2, DEV_B}};
    for (unsigned k = 0; k < 2; k++) {
        struct pe_catch pe = pasid_entry_of(m, devs[k].sid, 0);
        assert_true(pe.found);
        assert_true(pe.q[0] & VTD_PE_Q0_P);
        assert_int_equal(pgtt_of(&pe), PGTT_SL);
        assert_int_equal(pe.q[1] & VTD_PE_Q1_DID_MASK, (uint64_t)vtd_vm_domain_id(devs[k].vm));
        assert_int_equal(pe.q[0] & VTD_PE_Q0_SSPTPTR_MASK,
                         vtd_drv_domain_root(vtd_drv_domain_of(m->drv, devs[k].sid)));
    }
    check_every_page(m, v1, DEV_A, vm1_mem, 3);
    check_every_page(m, v2, DEV_B, vm2_mem, 2);
    assert_int_equal(m->ndiag, 0);

    /* GPA 0x200000 is VM 2's only: for device A's second level nothing is
     * there (SS entry R = W = 0: SSS.2, 79h), for a write and for a read */
    uint64_t word = 0x1111, before, after;
    assert_int_equal(vtd_vm_read(v2, 0x200000, &before, 8), 0);
    struct vtd_result res;
    uint8_t fr;
    uint64_t fi;
    bool rd;
    for (int w = 1; w >= 0; w--) {
        assert_int_equal(mach_dma(m, DEV_A, 0x200000, w ? VTD_W : VTD_R, &word, 8, &res), 0);
        assert_int_equal(res.status, VTD_FAULT);
        assert_int_equal(res.fault_reason, VTD_FR_SM_SL_PERM);
        assert_true(frcd_of(m, DEV_A, &fr, &fi, &rd));
        assert_int_equal(fr, VTD_FR_SM_SL_PERM);
        assert_int_equal(fi, 0x200000);
        assert_int_equal(rd, !w);
        assert_int_equal(mach_poll_faults(m), 1);
        assert_int_equal(m->fault[m->nfault - 1].reason, VTD_FR_SM_SL_PERM);
        assert_false(m->fault[m->nfault - 1].pasid_present);
    }
    assert_int_equal(vtd_vm_read(v2, 0x200000, &after, 8), 0);
    assert_int_equal(before, after);
    /* an address beyond the domain's 48 bits: SGN.5, 84h */
    assert_int_equal(mach_dma(m, DEV_A, 1ULL << 48, VTD_R, &word, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(res.fault_reason, VTD_FR_SM_ADDR_BEYOND_AW);
    assert_int_equal(mach_poll_faults(m), 1);

    /* interrupts: posted to the vCPU as in legacy mode */
    unsigned c;
    assert_int_equal(vtd_vm_add_vcpu(v1, 4, 0xF2, &c), 0);
    struct vtd_vm_irq irq;
    assert_int_equal(vtd_vm_route_irq(v1, DEV_A, c, 0x51, 0x80, &irq), 0);
    assert_true(irq.posted);
    struct vtd_irq out;
    int msis = m->nmsi;
    assert_int_equal(vtd_remap_msi(m->u, &irq.msi, &out), 0);
    assert_int_equal(out.status, VTD_OK);
    assert_int_equal(out.kind, VTD_IRQ_POSTED);
    assert_int_equal(out.vector, 0x51);
    struct vtd_vcpu_state vs;
    assert_int_equal(vtd_vm_vcpu_state(v1, c, &vs), 0);
    assert_int_equal(vs.pir[1], 1ULL << (0x51 - 64));
    assert_int_equal(m->nmsi, msis + 1);
    assert_int_equal(m->msi[msis].addr, 0xFEE00000ULL | 4 << 12);
    assert_int_equal(m->msi[msis].data, 0xF2);

    /* unassigned: the RID_PASID entry and the context entry are gone, DMA
     * faults at the context (SCT.2, 41h), the interrupt entry too (22h) */
    assert_int_equal(vtd_vm_unassign(v1, (uint16_t[]){DEV_A}, 1), 0);
    assert_false(pasid_entry_of(m, DEV_A, 0).found);
    assert_int_equal(mach_dma(m, DEV_A, 0x1000, VTD_R, &word, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(res.fault_reason, VTD_FR_SM_CTX_NOT_PRESENT);
    assert_true(frcd_of(m, DEV_A, &fr, &fi, &rd));
    assert_int_equal(fr, VTD_FR_SM_CTX_NOT_PRESENT);
    assert_int_equal(vtd_remap_msi(m->u, &irq.msi, &out), 0);
    assert_int_equal(out.status, VTD_FAULT);
    assert_int_equal(out.fault_reason, VTD_FR_IR_NOT_PRESENT);
    /* device B and its VM are untouched */
    check_every_page(m, v2, DEV_B, vm2_mem, 2);
    assert_int_equal(m->ndiag, 0);
}

/* ---- A guest with its own virtual IOMMU (nested) ---- */

/* The guest's OS writes its first-level tables with machine.c's mach_gfl_*
 * (in its own memory, through its CPU); these fail the test on error. */
#define GFL_TABLE MACH_GFL_TABLE
static void gfl_set(struct mach_gfl *g, uint64_t va, int level, uint64_t val)
{
    assert_int_equal(mach_gfl_set(g, va, level, val), 0);
}
static uint64_t gfl_get(struct mach_gfl *g, uint64_t va, int level)
{
    uint64_t v = 0;
    assert_int_equal(mach_gfl_get(g, va, level, &v), 0);
    return v;
}

/* A DMA write with PASID by sid to guest IOVA iova lands on the host page
 * behind guest-physical gpa; the guest's CPU reads it there. */
static void expect_pasid_dma(struct mach *m, struct vtd_vm *vm, uint16_t sid, uint32_t pasid, uint64_t iova,
                             uint64_t gpa)
{
    uint64_t hpa, word = 0xC0DE000000000000ULL ^ iova ^ gpa, back = 0;
    struct vtd_result res;
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, gpa, &hpa), 0);
    assert_int_equal(mach_dma_pasid(m, sid, pasid, iova, VTD_W, &word, 8, &res), 0);
    assert_int_equal(res.status, VTD_OK);
    assert_int_equal(res.pa, hpa);
    assert_int_equal(vtd_vm_read(vm, gpa, &back, 8), 0);
    assert_int_equal(back, word);
}

/* A DMA with PASID that must fault with reason fr: recorded with the guest
 * IOVA and the PASID (FRCD read through MMIO), then collected by the driver. */
static void expect_pasid_fault(struct mach *m, uint16_t sid, uint32_t pasid, uint64_t iova, uint8_t access, uint8_t fr)
{
    uint64_t w = 0x5A5A, fi;
    uint8_t got;
    struct vtd_result res;
    assert_int_equal(mach_dma_pasid(m, sid, pasid, iova, access, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(res.fault_reason, fr);
    assert_true(frcd_of(m, sid, &got, &fi, NULL));
    assert_int_equal(got, fr);
    assert_int_equal(fi, iova & ~(PAGE - 1));
    assert_int_equal(mach_poll_faults(m), 1);
    const struct vtd_drv_fault *f = &m->fault[m->nfault - 1];
    assert_int_equal(f->reason, fr);
    assert_true(f->pasid_present);
    assert_int_equal(f->pasid, pasid);
}

#define GUEST_DID 0x2Au
static void guest_piotlb(uint64_t desc[2], uint32_t pasid, bool page, uint64_t addr, unsigned am, bool ih)
{
    mach_guest_piotlb(desc, GUEST_DID, pasid, page, addr, am, ih);
}

#define GPASID 5u
static const uint64_t nest_plain[][2] = {{0x8000, 0x38000}}; /* VM 1 memory the test leaves alone */
#define GIOVA 0x40001000ULL  /* guest IOVA -> GPA 0x3000 */

/* Nested translation end to end: the guest's first-level tables (guest
 * IOVA -> GPA) over the VM's second level (GPA -> HPA). */
static void test_nested_guest_iommu(void **state)
{
    struct mach *m = *state = new_sm_mach(&two_topo);
    struct vtd_vm *v1 = vm_with(m, vm1_mem, 3), *v2 = vm_with(m, vm2_mem, 2);
    assert_int_equal(vtd_vm_assign(v1, (uint16_t[]){DEV_A}, 1), 0);
    assert_int_equal(vtd_vm_assign(v2, (uint16_t[]){DEV_B}, 1), 0);
    /* the guest's tables live in its range 0x100000-0x120000 */
    struct mach_gfl g;
    assert_int_equal(mach_gfl_init(&g, v1, 0x100000, 0x110000), 0);
    gfl_set(&g, GIOVA, 1, 0x3000 | GFL_TABLE);
    gfl_set(&g, GIOVA + PAGE, 1, 0x7fff5000 | GFL_TABLE); /* another range of the VM */
    assert_int_equal(vtd_vm_nest(v1, DEV_A, GPASID, g.cr3, 4), 0);

    /* the PASID entry: nested, the guest's CR3 (a GPA), the VM's second
     * level and DID */
    struct pe_catch pe = pasid_entry_of(m, DEV_A, GPASID);
    assert_true(pe.found);
    assert_int_equal(pgtt_of(&pe), PGTT_NESTED);
    assert_int_equal(pe.q[2] & VTD_PE_Q2_FSPTPTR_MASK, g.cr3);
    assert_int_equal(pe.q[0] & VTD_PE_Q0_SSPTPTR_MASK, vtd_drv_domain_root(vtd_drv_domain_of(m->drv, DEV_A)));
    assert_int_equal(pe.q[1] & VTD_PE_Q1_DID_MASK, (uint64_t)vtd_vm_domain_id(v1));

    /* guest IOVA -> GPA (guest tables) -> HPA (host tables) */
    expect_pasid_dma(m, v1, DEV_A, GPASID, GIOVA + 0x10, 0x3010);
    expect_pasid_dma(m, v1, DEV_A, GPASID, GIOVA + PAGE + 0x20, 0x7fff5020);
    /* the unit set A and D in the guest's leaf, in guest memory */
    assert_int_equal(gfl_get(&g, GIOVA, 1) & (VTD_FL_A | VTD_FL_D), VTD_FL_A | VTD_FL_D);
    /* without PASID the same device still sees plain GPAs (RID_PASID) */
    check_every_page(m, v1, DEV_A, nest_plain, 1);
    /* a guest IOVA the guest did not map: first-level P = 0 (SFS.2, 71h) */
    expect_pasid_fault(m, DEV_A, GPASID, GIOVA + 2 * PAGE, VTD_R, VTD_FR_SM_FL_NOT_PRESENT);

    /* a guest table pointer (PDPTE) to GPA 0x500000, which is not the VM's:
     * the second-level walk of that table's address finds R = W = 0 --
     * Table 30 SFS.1 treats a nested second-level fault on the way to a
     * first-level entry as SSS.1-5: SSS.2, 79h */
    gfl_set(&g, 0x80000000ULL, 3, 0x500000 | GFL_TABLE);
    expect_pasid_fault(m, DEV_A, GPASID, 0x80000000ULL, VTD_R, VTD_FR_SM_SL_PERM);
    /* a guest leaf pointing at GPA 0x200000 (VM 2's memory, not VM 1's):
     * the final address through the second level, R = W = 0 (79h); VM 2's
     * page untouched */
    uint64_t before, after;
    assert_int_equal(vtd_vm_read(v2, 0x200000, &before, 8), 0);
    gfl_set(&g, GIOVA + 3 * PAGE, 1, 0x200000 | GFL_TABLE);
    expect_pasid_fault(m, DEV_A, GPASID, GIOVA + 3 * PAGE, VTD_W, VTD_FR_SM_SL_PERM);
    assert_int_equal(vtd_vm_read(v2, 0x200000, &after, 8), 0);
    assert_int_equal(before, after);
    /* a guest leaf beyond the second level's 48 bits: SFS.5, 74h */
    gfl_set(&g, GIOVA + 4 * PAGE, 1, (1ULL << 50) | GFL_TABLE);
    expect_pasid_fault(m, DEV_A, GPASID, GIOVA + 4 * PAGE, VTD_R, VTD_FR_SM_FL_NESTED_ADDR);
    /* device B (VM 2) has no such PASID: its PASID table (the one holding
     * its RID_PASID) has P = 0 there (SPT.2, 59h) */
    expect_pasid_fault(m, DEV_B, GPASID, GIOVA, VTD_R, VTD_FR_SM_PTE_NOT_PRESENT);
    assert_int_equal(m->ndiag, 0);

    /* the guest remaps GIOVA to GPA 0x4000 in place: until it invalidates,
     * the unit keeps using its cached translation (the model flags the
     * stale use) */
    uint64_t old_hpa;
    assert_int_equal(vtd_vm_gpa_to_hpa(v1, 0x3000, &old_hpa), 0);
    gfl_set(&g, GIOVA, 1, 0x4000 | GFL_TABLE);
    struct vtd_result res;
    uint64_t w = 1;
    assert_int_equal(mach_dma_pasid(m, DEV_A, GPASID, GIOVA, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_OK);
    assert_int_equal(res.pa, old_hpa);
    assert_int_equal(m->ndiag, 1);
    assert_int_equal(m->diag[0].code, VTD_DIAG_STALE_IOTLB);
    /* the guest's page-selective invalidation, forwarded by the VMM */
    uint64_t desc[2];
    guest_piotlb(desc, GPASID, true, GIOVA, 0, false);
    assert_int_equal(vtd_vm_nest_inval(v1, DEV_A, desc), 0);
    expect_pasid_dma(m, v1, DEV_A, GPASID, GIOVA + 0x30, 0x4030);
    assert_int_equal(m->ndiag, 1); /* no stale use since */
    /* again, and a PASID-selective one (G = 10b) */
    gfl_set(&g, GIOVA, 1, 0x5000 | GFL_TABLE);
    guest_piotlb(desc, GPASID, false, 0, 0, false);
    assert_int_equal(vtd_vm_nest_inval(v1, DEV_A, desc), 0);
    expect_pasid_dma(m, v1, DEV_A, GPASID, GIOVA + 0x38, 0x5038);
    /* a leaf-only change (IH = 1) of GIOVA + PAGE, which is cached: the
     * guest invalidating another page leaves it stale, invalidating the
     * 2-page block (AM = 1) holding it does not */
    uint64_t hpa7;
    assert_int_equal(vtd_vm_gpa_to_hpa(v1, 0x7fff5008, &hpa7), 0);
    expect_pasid_dma(m, v1, DEV_A, GPASID, GIOVA + PAGE + 8, 0x7fff5008);
    gfl_set(&g, GIOVA + PAGE, 1, 0x6000 | GFL_TABLE);
    guest_piotlb(desc, GPASID, true, GIOVA, 0, true);
    assert_int_equal(vtd_vm_nest_inval(v1, DEV_A, desc), 0);
    assert_int_equal(mach_dma_pasid(m, DEV_A, GPASID, GIOVA + PAGE + 8, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.pa, hpa7);
    assert_int_equal(m->ndiag, 2);
    assert_int_equal(m->diag[1].code, VTD_DIAG_STALE_IOTLB);
    guest_piotlb(desc, GPASID, true, GIOVA + PAGE, 1, true);
    assert_int_equal(vtd_vm_nest_inval(v1, DEV_A, desc), 0);
    expect_pasid_dma(m, v1, DEV_A, GPASID, GIOVA + PAGE + 8, 0x6008);
    assert_int_equal(m->ndiag, 2);

    /* descriptors the layer refuses, and PASIDs not bound */
    uint64_t bad[2] = {VTD_DESC_IOTLB | 1u << VTD_DESC_G_SHIFT, 0};
    assert_int_equal(vtd_vm_nest_inval(v1, DEV_A, bad), VTD_EINVAL);
    assert_non_null(strstr(vtd_assign_error(m->as), "not 6"));
    guest_piotlb(bad, GPASID, true, GIOVA, 0, false);
    bad[0] &= ~VTD_DESC_G_MASK; /* G = 00b */
    assert_int_equal(vtd_vm_nest_inval(v1, DEV_A, bad), VTD_EINVAL);
    assert_non_null(strstr(vtd_assign_error(m->as), "granularity"));
    guest_piotlb(bad, GPASID, true, GIOVA, 0, false);
    bad[0] |= 1ULL << 60;
    assert_int_equal(vtd_vm_nest_inval(v1, DEV_A, bad), VTD_EINVAL);
    assert_non_null(strstr(vtd_assign_error(m->as), "reserved"));
    guest_piotlb(desc, GPASID + 1, true, GIOVA, 0, false);
    assert_int_equal(vtd_vm_nest_inval(v1, DEV_A, desc), VTD_AS_ENODEV);
    guest_piotlb(desc, GPASID, true, GIOVA, 0, false);
    assert_int_equal(vtd_vm_nest_inval(v2, DEV_B, desc), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_nest_inval(v1, DEV_B, desc), VTD_AS_ENODEV);
    /* binding refusals */
    assert_int_equal(vtd_vm_nest(v1, DEV_A, GPASID, g.cr3, 4), VTD_AS_EBUSY);
    assert_int_equal(vtd_vm_nest(v1, DEV_A, 0, g.cr3, 4), VTD_EINVAL);
    assert_non_null(strstr(vtd_assign_error(m->as), "RID_PASID"));
    assert_int_equal(vtd_vm_nest(v1, DEV_A, GPASID + 1, 0x500000, 4), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_nest(v1, DEV_A, GPASID + 1, g.cr3, 3), VTD_EINVAL);
    assert_int_equal(vtd_vm_nest(v1, DEV_A, 1u << 20, g.cr3, 4), VTD_AS_EDRV);

    /* the host takes back the page GIOVA + PAGE maps (GPA 0x6000): the
     * host's unmap invalidates the nested translations built on it too */
    assert_int_equal(vtd_vm_remove_memory(v1, 0x6000, PAGE), 0);
    expect_pasid_fault(m, DEV_A, GPASID, GIOVA + PAGE, VTD_R, VTD_FR_SM_SL_PERM);
    assert_int_equal(m->ndiag, 2);

    /* a second PASID whose CR3 page the host takes back: the walk of the
     * table pointer itself faults in the second level (79h) */
    struct mach_gfl g2;
    assert_int_equal(mach_gfl_init(&g2, v1, 0x110000, 0x120000), 0);
    gfl_set(&g2, GIOVA, 1, 0x3000 | GFL_TABLE);
    assert_int_equal(vtd_vm_nest(v1, DEV_A, GPASID + 1, g2.cr3, 4), 0);
    expect_pasid_dma(m, v1, DEV_A, GPASID + 1, GIOVA, 0x3000);
    assert_int_equal(vtd_vm_remove_memory(v1, g2.cr3, PAGE), 0);
    expect_pasid_fault(m, DEV_A, GPASID + 1, GIOVA, VTD_R, VTD_FR_SM_SL_PERM);
    assert_int_equal(m->ndiag, 2);

    /* a guest with 5-level first-level paging (CAP.FL5LP): an IOVA above
     * 2^48 walks five guest tables, each through the second level */
    struct mach_gfl g5;
    assert_int_equal(mach_gfl_init(&g5, v1, 0x118000, 0x120000), 0);
    g5.levels = 5;
    const uint64_t hi = (1ULL << 52) | GIOVA;
    gfl_set(&g5, hi, 1, 0x3000 | GFL_TABLE);
    assert_int_equal(vtd_vm_nest(v1, DEV_A, GPASID + 2, g5.cr3, 5), 0);
    expect_pasid_dma(m, v1, DEV_A, GPASID + 2, hi + 0x18, 0x3018);
    expect_pasid_fault(m, DEV_A, GPASID + 2, hi + PAGE, VTD_R, VTD_FR_SM_FL_NOT_PRESENT);
    assert_int_equal(vtd_vm_unnest(v1, DEV_A, GPASID + 2), 0);
    assert_int_equal(m->ndiag, 2);

    /* unbinding restores second level only: the PASID faults at its entry
     * (SPT.2, 59h), requests without PASID still reach the VM's memory */
    assert_int_equal(vtd_vm_unnest(v1, DEV_A, GPASID), 0);
    assert_int_equal(vtd_vm_unnest(v1, DEV_A, GPASID), VTD_AS_ENODEV);
    expect_pasid_fault(m, DEV_A, GPASID, GIOVA, VTD_R, VTD_FR_SM_PTE_NOT_PRESENT);
    check_every_page(m, v1, DEV_A, nest_plain, 1);
    assert_int_equal(pgtt_of((struct pe_catch[]){pasid_entry_of(m, DEV_A, 0)}), PGTT_SL);

    /* unassigning with PASID 6 still bound unbinds it too: the context
     * entry goes (41h for either kind of request), the domain is freed */
    assert_int_equal(vtd_vm_unassign(v1, (uint16_t[]){DEV_A}, 1), 0);
    expect_pasid_fault(m, DEV_A, GPASID + 1, GIOVA, VTD_R, VTD_FR_SM_CTX_NOT_PRESENT);
    assert_int_equal(mach_dma(m, DEV_A, 0x3000, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.fault_reason, VTD_FR_SM_CTX_NOT_PRESENT);
    assert_int_equal(mach_poll_faults(m), 1);
    struct vtd_drv_info info;
    assert_int_equal(vtd_drv_info(m->drv, &info), 0);
    assert_int_equal(info.domains_used, 1); /* VM 2's */
    /* and the device can be assigned and nested again */
    assert_int_equal(vtd_vm_assign(v1, (uint16_t[]){DEV_A}, 1), 0);
    gfl_set(&g, GIOVA, 1, 0x3000 | GFL_TABLE);
    assert_int_equal(vtd_vm_nest(v1, DEV_A, GPASID, g.cr3, 4), 0);
    expect_pasid_dma(m, v1, DEV_A, GPASID, GIOVA + 0x40, 0x3040);
    assert_int_equal(m->ndiag, 2);
}

/* Topology: a PCIe-to-PCI bridge to buses 05-06, a multi-function device
 * without ACS (00:04.x), one with ACS (00:05.x), one mixed (00:06.x). */
static const struct vtd_assign_dev grp_devs[] = {
    {SID(5, 0, 0), false}, {SID(5, 1, 0), false}, {SID(6, 0, 0), false}, {SID(0, 4, 0), false},
    {SID(0, 4, 1), false}, {SID(0, 5, 0), true},  {SID(0, 5, 1), true},  {SID(0, 6, 0), true},
    {SID(0, 6, 1), false}, {SID(0, 6, 2), false}, {SID(7, 0, 0), false}};
static const struct vtd_assign_dev port_devs[] = {{SID(8, 0, 0), true}, {SID(9, 0, 0), true}, {SID(10, 0, 0), true},
                                                  {SID(11, 0, 0), true}};
static const struct vtd_assign_bridge grp_bridges[] = {{5, 6, true, false}, {7, 7, false, true}};
static const struct vtd_assign_topology grp_topo = {
    .devs = grp_devs, .ndevs = 11, .bridges = grp_bridges, .nbridges = 2};

static void test_groups(void **state)
{
    struct mach *m = *state = new_mach(NULL, &grp_topo);
    struct vtd_assign *a = m->as;
    int g5 = vtd_assign_group(a, SID(5, 0, 0));
    assert_true(g5 >= 0);
    assert_int_equal(vtd_assign_group(a, SID(5, 1, 0)), g5);
    assert_int_equal(vtd_assign_group(a, SID(6, 0, 0)), g5);
    assert_int_equal(vtd_assign_group_members(a, g5, NULL, 0), 3);
    assert_int_equal(vtd_assign_group(a, SID(0, 4, 0)), vtd_assign_group(a, SID(0, 4, 1)));
    assert_int_not_equal(vtd_assign_group(a, SID(0, 5, 0)), vtd_assign_group(a, SID(0, 5, 1)));
    /* a function with ACS is isolated; the two without it share a group */
    assert_int_not_equal(vtd_assign_group(a, SID(0, 6, 0)), vtd_assign_group(a, SID(0, 6, 1)));
    assert_int_equal(vtd_assign_group(a, SID(0, 6, 1)), vtd_assign_group(a, SID(0, 6, 2)));
    /* behind a PCIe switch port: no alias */
    assert_int_equal(vtd_assign_group_members(a, vtd_assign_group(a, SID(7, 0, 0)), NULL, 0), 1);
    assert_int_equal(vtd_assign_group(a, SID(9, 0, 0)), VTD_AS_ENODEV);
    uint16_t rids[2];
    assert_int_equal(vtd_assign_requester_ids(a, SID(5, 1, 0), rids, 2), 2);
    assert_int_equal(rids[0], SID(5, 1, 0));
    assert_int_equal(rids[1], SID(5, 0, 0));
    assert_int_equal(vtd_assign_requester_ids(a, SID(6, 0, 0), rids, 2), 2);
    assert_int_equal(rids[1], SID(5, 0, 0));
    assert_int_equal(vtd_assign_requester_ids(a, SID(5, 0, 0), rids, 2), 1);

    struct vtd_vm *vm = vm_with(m, vm2_mem, 2), *other;
    assert_int_equal(vtd_vm_create(a, &other), 0);
    /* one device behind the bridge alone: refused, nothing attached */
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){SID(5, 1, 0)}, 1), VTD_AS_EGROUP);
    const char *e = vtd_assign_error(a);
    assert_non_null(strstr(e, "05:01.0"));
    assert_non_null(strstr(e, "05:00.0"));
    assert_non_null(strstr(e, "PCIe-to-PCI bridge"));
    assert_int_equal(vtd_vm_domain_id(vm), VTD_AS_ENODEV);
    struct vtd_result res;
    uint64_t w = 1;
    assert_int_equal(mach_dma(m, SID(5, 1, 0), 0x0, VTD_W, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    mach_poll_faults(m);
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){SID(0, 4, 1)}, 1), VTD_AS_EGROUP);
    assert_non_null(strstr(vtd_assign_error(a), "without ACS"));
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){SID(0, 6, 1)}, 1), VTD_AS_EGROUP);

    /* the whole group: every requester id is attached, the alias too */
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){SID(6, 0, 0), SID(5, 0, 0), SID(5, 1, 0)}, 3), 0);
    uint64_t hpa;
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, 0x200000, &hpa), 0);
    const uint16_t requesters[] = {SID(5, 0, 0), SID(5, 1, 0), SID(6, 0, 0)};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(mach_dma(m, requesters[i], 0x200000, VTD_W, &w, 8, &res), 0);
        assert_int_equal(res.status, VTD_OK);
        assert_int_equal(res.pa, hpa);
    }
    /* an isolated function alone is fine; its sibling can go elsewhere */
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){SID(0, 5, 0)}, 1), 0);
    assert_int_equal(vtd_vm_assign(other, (uint16_t[]){SID(0, 5, 1)}, 1), 0);
    /* already taken */
    assert_int_equal(vtd_vm_assign(other, (uint16_t[]){SID(0, 5, 0)}, 1), VTD_AS_EBUSY);
    assert_non_null(strstr(vtd_assign_error(a), "already assigned to VM"));
    assert_int_equal(vtd_vm_assign(other, (uint16_t[]){SID(9, 0, 0)}, 1), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_assign(other, (uint16_t[]){SID(0, 4, 0), SID(0, 4, 0)}, 2), VTD_EINVAL);
    /* unassigning part of a group is refused too */
    assert_int_equal(vtd_vm_unassign(vm, (uint16_t[]){SID(5, 0, 0)}, 1), VTD_AS_EGROUP);
    assert_int_equal(vtd_vm_unassign(other, (uint16_t[]){SID(5, 0, 0), SID(5, 1, 0), SID(6, 0, 0)}, 3),
                     VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_unassign(vm, (uint16_t[]){SID(5, 0, 0), SID(5, 1, 0), SID(6, 0, 0)}, 3), 0);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(mach_dma(m, requesters[i], 0x200000, VTD_W, &w, 8, &res), 0);
        assert_int_equal(res.status, VTD_FAULT);
    }
    /* 00:05.0 keeps the domain and its mappings */
    assert_true(vtd_vm_domain_id(vm) >= 0);
    assert_int_equal(mach_dma(m, SID(0, 5, 0), 0x200000, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_OK);
}

/* PCIe ports: without ACS everything below shares a group; with ACS not. */
static void test_switch_ports(void **state)
{
    const struct vtd_assign_bridge ports[] = {{8, 9, false, false}, {10, 11, false, true}};
    const struct vtd_assign_topology t = {.devs = port_devs, .ndevs = 4, .bridges = ports, .nbridges = 2};
    struct mach *m = *state = new_mach(NULL, &t);
    assert_int_equal(vtd_assign_group(m->as, SID(8, 0, 0)), vtd_assign_group(m->as, SID(9, 0, 0)));
    assert_int_not_equal(vtd_assign_group(m->as, SID(10, 0, 0)), vtd_assign_group(m->as, SID(11, 0, 0)));
    uint16_t rids[2];
    assert_int_equal(vtd_assign_requester_ids(m->as, SID(9, 0, 0), rids, 2), 1); /* no alias */
    struct vtd_vm *vm;
    assert_int_equal(vtd_vm_create(m->as, &vm), 0);
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){SID(9, 0, 0)}, 1), VTD_AS_EGROUP);
    assert_non_null(strstr(vtd_assign_error(m->as), "PCIe port to buses 08-09, which has no ACS"));
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){SID(11, 0, 0)}, 1), 0);
}

static void test_bad_topology(void **state)
{
    (void)state;
    const struct vtd_assign_dev dup[] = {{DEV_A, true}, {DEV_B, true}, {DEV_A, false}};
    const struct vtd_assign_topology t1 = {.devs = dup, .ndevs = 3};
    struct mach *m;
    char err[256];
    assert_int_equal(mach_create(&m, NULL, 0, &t1, err, sizeof err), VTD_EINVAL);
    assert_non_null(strstr(err, "00:02.0 listed twice (entries 0 and 2)"));
    const struct vtd_assign_bridge br[] = {{6, 5, true, false}};
    const struct vtd_assign_topology t2 = {.devs = dup, .ndevs = 1, .bridges = br, .nbridges = 1};
    assert_int_equal(mach_create(&m, NULL, 0, &t2, err, sizeof err), VTD_EINVAL);
    assert_non_null(strstr(err, "bridge 0"));
    const struct vtd_assign_range rm[] = {{0x1000, 0}};
    const struct vtd_assign_topology t3 = {.devs = dup, .ndevs = 1, .rmrr = rm, .nrmrr = 1};
    assert_int_equal(mach_create(&m, NULL, 0, &t3, err, sizeof err), VTD_EINVAL);
    assert_non_null(strstr(err, "RMRR 0"));
}

/* Reserved regions are never mapped. */
static void test_reserved(void **state)
{
    const struct vtd_assign_range rmrr[] = {{0x3e000000, 0x100000}};
    const struct vtd_assign_topology t = {.devs = two_devs, .ndevs = 2, .rmrr = rmrr, .nrmrr = 1};
    struct mach *m = *state = new_mach(NULL, &t);
    struct vtd_vm *vm;
    assert_int_equal(vtd_vm_create(m->as, &vm), 0);
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){DEV_A}, 1), 0);
    assert_int_equal(vtd_vm_add_memory(vm, 0xFED00000, 0x200000), VTD_AS_ERESERVED);
    assert_non_null(strstr(vtd_assign_error(m->as), "interrupt range"));
    assert_non_null(strstr(vtd_assign_error(m->as), "0xfee00000"));
    assert_int_equal(vtd_vm_add_memory(vm, 0xFEEFF000, 0x1000), VTD_AS_ERESERVED);
    assert_int_equal(vtd_vm_add_memory(vm, 0x3e0ff000, 0x2000), VTD_AS_ERESERVED);
    assert_non_null(strstr(vtd_assign_error(m->as), "RMRR"));
    /* right up to the edges is fine */
    assert_int_equal(vtd_vm_add_memory(vm, 0xFEDFF000, 0x1000), 0);
    assert_int_equal(vtd_vm_add_memory(vm, 0xFEF00000, 0x1000), 0);
    assert_int_equal(vtd_vm_add_memory(vm, 0x3df00000, 0x100000), 0);
    assert_int_equal(vtd_vm_add_memory(vm, 0x3e100000, 0x1000), 0);
    /* overlap, alignment */
    assert_int_equal(vtd_vm_add_memory(vm, 0x3df80000, 0x1000), VTD_AS_EBUSY);
    assert_int_equal(vtd_vm_add_memory(vm, 0x10, 0x1000), VTD_EINVAL);
    assert_int_equal(vtd_vm_add_memory(vm, 0x1000, 0), VTD_EINVAL);
    /* DMA into the RMRR or the interrupt range as memory finds nothing mapped */
    struct vtd_result res;
    uint64_t w = 0;
    assert_int_equal(mach_dma(m, DEV_A, 0x3e000000, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(res.fault_reason, VTD_FR_NO_READ);
    assert_int_equal(mach_dma(m, DEV_A, 0x3e0ff000, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(mach_dma(m, DEV_A, 0xFEDFF000, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_OK);
    assert_int_equal(mach_dma(m, DEV_A, 0xFEF00000, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_OK);
    assert_int_equal(mach_dma(m, DEV_A, 0x3e100000, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_OK);
    struct vtd_assign_range hit;
    assert_true(vtd_assign_reserved(m->as, 0xFEE80000, 0x1000, &hit));
    assert_int_equal(hit.base, VTD_AS_INTR_BASE);
    assert_false(vtd_assign_reserved(m->as, 0x0, 0x1000, NULL));
}

/* Memory added after assignment is mapped at once; removed memory is
 * unmapped and invalidated, so the device's next (cached) access faults. */
static void test_unmap_invalidates(void **state)
{
    struct mach *m = *state = new_mach(NULL, &two_topo);
    struct vtd_vm *vm = vm_with(m, vm1_mem, 1);
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){DEV_A}, 1), 0);
    assert_int_equal(vtd_vm_add_memory(vm, 0x800000, 0x4000), 0);
    struct vtd_result res;
    uint64_t w = 7, hpa;
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, 0x801000, &hpa), 0);
    assert_int_equal(mach_dma(m, DEV_A, 0x801000, VTD_W, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_OK);
    assert_int_equal(res.pa, hpa);
    struct vtd_stats st0, st1;
    vtd_get_stats(m->u, &st0);
    assert_int_equal(mach_dma(m, DEV_A, 0x801000, VTD_W, &w, 8, &res), 0);
    vtd_get_stats(m->u, &st1);
    assert_int_equal(st1.iotlb_hits, st0.iotlb_hits + 1); /* cached in the IOTLB now */

    assert_int_equal(vtd_vm_remove_memory(vm, 0x801000, 0x1000), 0);
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, 0x801000, &hpa), VTD_AS_ENODEV);
    assert_int_equal(mach_dma(m, DEV_A, 0x801000, VTD_W, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(res.fault_reason, VTD_FR_NO_WRITE);
    uint8_t fr;
    uint64_t fi;
    assert_true(frcd_of(m, DEV_A, &fr, &fi, NULL));
    assert_int_equal(fi, 0x801000);
    /* no stale cached entry was used: the model's stale-use diagnostics are quiet */
    assert_int_equal(m->ndiag, 0);
    /* the pages around it stay */
    for (uint64_t g = 0x800000; g < 0x804000; g += PAGE) {
        if (g == 0x801000)
            continue;
        assert_int_equal(mach_dma(m, DEV_A, g, VTD_R, &w, 8, &res), 0);
        assert_int_equal(res.status, VTD_OK);
    }
    assert_int_equal(vtd_vm_remove_memory(vm, 0x801000, 0x1000), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_remove_memory(vm, 0x800000, 0x2000), VTD_AS_ENODEV);

    /* unassigning the last device detaches it: context entry gone */
    assert_int_equal(vtd_vm_unassign(vm, (uint16_t[]){DEV_A}, 1), 0);
    assert_int_equal(vtd_vm_domain_id(vm), VTD_AS_ENODEV);
    assert_int_equal(mach_dma(m, DEV_A, 0x0, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(vtd_vm_unassign(vm, (uint16_t[]){DEV_A}, 1), VTD_AS_ENODEV);
    /* and assigning again maps everything again */
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){DEV_A}, 1), 0);
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, 0x803000, &hpa), 0);
    assert_int_equal(mach_dma(m, DEV_A, 0x803000, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_OK);
    assert_int_equal(res.pa, hpa);
}

/* A device interrupt posted to a vCPU: PIR bit, ON, notification. */
static void test_posted_irq(void **state)
{
    struct mach *m = *state = new_mach(NULL, &two_topo);
    struct vtd_vm *vm = vm_with(m, vm1_mem, 1);
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){DEV_A}, 1), 0);
    unsigned c0, c1;
    assert_int_equal(vtd_vm_add_vcpu(vm, 2, 0xF2, &c0), 0);
    assert_int_equal(vtd_vm_add_vcpu(vm, 3, 0xF2, &c1), 0);
    assert_int_not_equal(vtd_vm_vcpu_pid(vm, c1), 0);
    assert_int_equal(vtd_vm_vcpu_pid(vm, c1) % 64, 0);
    struct vtd_vm_irq irq;
    assert_int_equal(vtd_vm_route_irq(vm, DEV_B, c1, 0x45, 0x80, &irq), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_route_irq(vm, DEV_A, 7, 0x45, 0x80, &irq), VTD_EINVAL);
    assert_int_equal(vtd_vm_route_irq(vm, DEV_A, c1, 0x45, 0x80, &irq), 0);
    assert_true(irq.posted);
    assert_int_equal(irq.msi.addr & 0xFFF00010, 0xFEE00010); /* remappable format */

    struct vtd_irq out;
    assert_int_equal(vtd_remap_msi(m->u, &irq.msi, &out), 0);
    assert_int_equal(out.status, VTD_OK);
    assert_int_equal(out.kind, VTD_IRQ_POSTED);
    assert_int_equal(out.vector, 0x45);
    assert_int_equal(out.pid_addr, vtd_vm_vcpu_pid(vm, c1));
    assert_true(out.notified);
    struct vtd_vcpu_state st;
    assert_int_equal(vtd_vm_vcpu_state(vm, c1, &st), 0);
    assert_int_equal(st.pir[1], 1ULL << (0x45 - 64));
    assert_int_equal(st.pir[0] | st.pir[2] | st.pir[3], 0);
    assert_true(st.on);
    assert_false(st.sn);
    /* the notification: vector NV to the APIC the vCPU runs on */
    assert_int_equal(m->nmsi, 1);
    assert_int_equal(m->msi[0].addr, 0xFEE00000ULL | 3 << 12);
    assert_int_equal(m->msi[0].data, 0xF2);
    /* the other vCPU saw nothing */
    assert_int_equal(vtd_vm_vcpu_state(vm, c0, &st), 0);
    assert_false(st.on);
    assert_int_equal(st.pir[1], 0);

    /* a second one while ON is set: PIR only, no notification */
    struct vtd_vm_irq irq2;
    assert_int_equal(vtd_vm_route_irq(vm, DEV_A, c1, 0x46, 0x80, &irq2), 0);
    assert_int_equal(vtd_remap_msi(m->u, &irq2.msi, &out), 0);
    assert_false(out.notified);
    assert_int_equal(m->nmsi, 1);
    uint64_t pir[4];
    assert_int_equal(vtd_vm_vcpu_drain(vm, c1, pir), 0);
    assert_int_equal(pir[1], 3ULL << 5);
    assert_int_equal(vtd_vm_vcpu_state(vm, c1, &st), 0);
    assert_false(st.on);
    assert_int_equal(st.pir[1], 0);

    /* the same message from another device fails source validation */
    struct vtd_msi forged = irq.msi;
    forged.sid = DEV_B;
    assert_int_equal(vtd_remap_msi(m->u, &forged, &out), 0);
    assert_int_equal(out.status, VTD_FAULT);
    assert_int_equal(out.fault_reason, VTD_FR_IR_SID);
    uint8_t fr;
    uint64_t fi;
    assert_true(frcd_of(m, DEV_B, &fr, &fi, NULL));
    assert_int_equal(fr, VTD_FR_IR_SID);
    assert_int_equal(fi >> 48, irq.handle);

    /* unrouted: the IRTE is gone */
    assert_int_equal(vtd_vm_unroute_irq(vm, irq.handle), 0);
    assert_int_equal(vtd_vm_unroute_irq(vm, irq.handle), VTD_AS_ENODEV);
    assert_int_equal(vtd_remap_msi(m->u, &irq.msi, &out), 0);
    assert_int_equal(out.status, VTD_FAULT);
    assert_int_equal(out.fault_reason, VTD_FR_IR_NOT_PRESENT);
}

/* Without CAP.PI the interrupt is remapped to the vCPU's host CPU. */
static void test_remapped_irq_without_pi(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap &= ~VTD_CAP_PI;
    struct mach *m = *state = new_mach(&cfg, &two_topo);
    struct vtd_vm *vm = vm_with(m, vm1_mem, 1);
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){DEV_A}, 1), 0);
    unsigned c;
    assert_int_equal(vtd_vm_add_vcpu(vm, 5, 0xF2, &c), 0);
    assert_int_equal(vtd_vm_vcpu_pid(vm, c), 0);
    struct vtd_vm_irq irq;
    assert_int_equal(vtd_vm_route_irq(vm, DEV_A, c, 0x45, 0x81, &irq), 0);
    assert_false(irq.posted);
    struct vtd_irq out;
    assert_int_equal(vtd_remap_msi(m->u, &irq.msi, &out), 0);
    assert_int_equal(out.status, VTD_OK);
    assert_int_equal(out.kind, VTD_IRQ_REMAPPED);
    assert_int_equal(out.vector, 0x81);
    assert_int_equal(out.dest, 5);
    struct vtd_vcpu_state st;
    assert_int_equal(vtd_vm_vcpu_state(vm, c, &st), VTD_AS_ENODEV);
}

/* Interrupts from behind a PCIe-to-PCI bridge are validated by bus range;
 * unassigning frees the device's interrupts. */
static void test_bridged_irq_and_unassign(void **state)
{
    struct mach *m = *state = new_mach(NULL, &grp_topo);
    struct vtd_vm *vm = vm_with(m, vm2_mem, 1);
    const uint16_t grp[] = {SID(5, 0, 0), SID(5, 1, 0), SID(6, 0, 0)};
    assert_int_equal(vtd_vm_assign(vm, grp, 3), 0);
    unsigned c;
    assert_int_equal(vtd_vm_add_vcpu(vm, 1, 0xF2, &c), 0);
    struct vtd_vm_irq irq;
    assert_int_equal(vtd_vm_route_irq(vm, SID(6, 0, 0), c, 0x30, 0x80, &irq), 0);
    struct vtd_irq out;
    /* the alias (05:00.0) and the device's own id both pass; bus 07 does not */
    struct vtd_msi msg = irq.msi;
    msg.sid = SID(5, 0, 0);
    assert_int_equal(vtd_remap_msi(m->u, &msg, &out), 0);
    assert_int_equal(out.status, VTD_OK);
    msg.sid = SID(6, 0, 0);
    assert_int_equal(vtd_remap_msi(m->u, &msg, &out), 0);
    assert_int_equal(out.status, VTD_OK);
    msg.sid = SID(7, 0, 0);
    assert_int_equal(vtd_remap_msi(m->u, &msg, &out), 0);
    assert_int_equal(out.status, VTD_FAULT);
    assert_int_equal(out.fault_reason, VTD_FR_IR_SID);
    assert_int_equal(vtd_vm_unassign(vm, grp, 3), 0);
    msg.sid = SID(6, 0, 0);
    assert_int_equal(vtd_remap_msi(m->u, &msg, &out), 0);
    assert_int_equal(out.status, VTD_FAULT);
    assert_int_equal(out.fault_reason, VTD_FR_IR_NOT_PRESENT);
    assert_int_equal(vtd_vm_unroute_irq(vm, irq.handle), VTD_AS_ENODEV);
}

/* Destroying VMs with devices, memory and interrupts leaves the unit clean. */
static void test_destroy_cleans_up(void **state)
{
    struct mach *m = *state = new_mach(NULL, &two_topo);
    struct vtd_vm *v1 = vm_with(m, vm1_mem, 3);
    assert_int_equal(vtd_vm_assign(v1, (uint16_t[]){DEV_A}, 1), 0);
    unsigned c;
    assert_int_equal(vtd_vm_add_vcpu(v1, 0, 0xF2, &c), 0);
    struct vtd_vm_irq irq;
    assert_int_equal(vtd_vm_route_irq(v1, DEV_A, c, 0x40, 0x80, &irq), 0);
    uint32_t pool_before = m->npool;
    vtd_vm_destroy(v1);
    assert_int_equal(m->npool, pool_before + (0x40000 + 0x20000 + 0x10000) / PAGE);
    struct vtd_result res;
    uint64_t w = 0;
    assert_int_equal(mach_dma(m, DEV_A, 0x0, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    struct vtd_drv_info info;
    assert_int_equal(vtd_drv_info(m->drv, &info), 0);
    assert_int_equal(info.domains_used, 0);
    /* the device can go to another VM now */
    struct vtd_vm *v2 = vm_with(m, vm2_mem, 1);
    assert_int_equal(vtd_vm_assign(v2, (uint16_t[]){DEV_A}, 1), 0);
}

/* The driver refusing a mapping (a GPA beyond the domain's 48-bit address
 * width) leaves nothing behind, on assign and on add_memory. */
static void test_driver_refusal_rolls_back(void **state)
{
    struct mach *m = *state = new_mach(NULL, &two_topo);
    struct vtd_vm *vm = vm_with(m, vm1_mem, 1);
    const uint64_t far = 1ULL << 50;
    assert_int_equal(vtd_vm_add_memory(vm, far, 0x2000), 0); /* no domain yet: just memory */
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){DEV_A}, 1), VTD_AS_EDRV);
    assert_non_null(strstr(vtd_assign_error(m->as), "mapping GPA [0x4000000000000"));
    assert_non_null(strstr(vtd_assign_error(m->as), "the driver said"));
    assert_int_equal(vtd_vm_domain_id(vm), VTD_AS_ENODEV);
    assert_null(vtd_assign_owner(m->as, DEV_A));
    struct vtd_result res;
    uint64_t w = 0;
    assert_int_equal(mach_dma(m, DEV_A, 0x0, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_FAULT);
    struct vtd_drv_info info;
    assert_int_equal(vtd_drv_info(m->drv, &info), 0);
    assert_int_equal(info.domains_used, 0);
    /* without it the assignment works */
    assert_int_equal(vtd_vm_remove_memory(vm, far, 0x2000), 0);
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){DEV_A}, 1), 0);
    uint32_t pool = m->npool;
    assert_int_equal(vtd_vm_add_memory(vm, far, 0x2000), VTD_AS_EDRV);
    assert_int_equal(m->npool, pool);
    uint64_t hpa;
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, far, &hpa), VTD_AS_ENODEV);
    assert_int_equal(mach_dma(m, DEV_A, 0x0, VTD_R, &w, 8, &res), 0);
    assert_int_equal(res.status, VTD_OK);
}

/* Host memory running out: VTD_ENOMEM, every page given back. */
static void test_out_of_host_pages(void **state)
{
    struct mach *m = *state = new_mach(NULL, &two_topo);
    struct vtd_vm *vm;
    assert_int_equal(vtd_vm_create(m->as, &vm), 0);
    uint32_t pool = m->npool;
    assert_int_equal(vtd_vm_add_memory(vm, 0, (uint64_t)(MACH_POOL_PAGES + 1) * PAGE), VTD_ENOMEM);
    assert_non_null(strstr(vtd_assign_error(m->as), "no host page"));
    assert_int_equal(m->npool, pool);
    assert_int_equal(vtd_vm_add_memory(vm, 0, (uint64_t)MACH_POOL_PAGES * PAGE), 0);
    assert_int_equal(m->npool, 0);
    assert_int_equal(vtd_vm_remove_memory(vm, 0, (uint64_t)MACH_POOL_PAGES * PAGE), 0);
    assert_int_equal(m->npool, pool);
}

struct runs {
    unsigned n;
    uint64_t gpa[64], size[64];
};
static int record_run(void *arg, uint64_t gpa, uint64_t hpa, uint64_t size)
{
    struct runs *r = arg;
    (void)hpa;
    if (r->n < 64) {
        r->gpa[r->n] = gpa;
        r->size[r->n] = size;
    }
    r->n++;
    return 0;
}
static int stop_at_first(void *arg, uint64_t gpa, uint64_t hpa, uint64_t size)
{
    (void)arg, (void)gpa, (void)hpa, (void)size;
    return 42;
}

/* CPU access across pages, splitting ranges, the memory listing. */
static void test_guest_memory(void **state)
{
    struct mach *m = *state = new_mach(NULL, &two_topo);
    struct vtd_vm *vm;
    assert_int_equal(vtd_vm_create(m->as, &vm), 0);
    assert_int_equal(vtd_vm_add_memory(vm, 0x100000, 0x4000), 0);
    assert_int_equal(vtd_vm_add_memory(vm, 0x0, 0x2000), 0);
    char msg[6000], back[6000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (char)(i * 7);
    assert_int_equal(vtd_vm_write(vm, 0x100800, msg, sizeof msg), 0);
    assert_int_equal(vtd_vm_read(vm, 0x100800, back, sizeof back), 0);
    assert_memory_equal(msg, back, sizeof msg);
    /* the bytes really sit on two different host pages */
    uint64_t h0, h1, v;
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, 0x101000, &h1), 0);
    assert_int_equal(vtd_mem_read(m->mem, h1, &v, 8), 0);
    assert_memory_equal(&v, msg + 0x800, 8);
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, 0x100800, &h0), 0);
    assert_int_not_equal(h0 + 0x800, h1);
    assert_int_equal(vtd_vm_read(vm, 0x1ff0, back, 32), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_write(vm, 0x3000, msg, 1), VTD_AS_ENODEV);

    /* remove the middle of a range: two ranges stay, listed in GPA order */
    assert_int_equal(vtd_vm_remove_memory(vm, 0x101000, 0x2000), 0);
    struct runs r = {0};
    assert_int_equal(vtd_vm_memory(vm, record_run, &r), 0);
    uint64_t total = 0, last = 0;
    for (unsigned i = 0; i < r.n; i++) {
        assert_true(r.gpa[i] >= last);
        last = r.gpa[i] + r.size[i];
        total += r.size[i];
    }
    assert_int_equal(total, 0x2000 + 0x2000);
    assert_int_equal(r.gpa[0], 0x0);
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, 0x100000, &h0), 0);
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, 0x103000, &h0), 0);
    assert_int_equal(vtd_vm_gpa_to_hpa(vm, 0x102000, &h0), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_memory(vm, stop_at_first, NULL), 42);
    assert_int_equal(vtd_vm_remove_memory(vm, 0x100000, 0x2000), VTD_AS_ENODEV); /* spans a hole */
    assert_int_equal(vtd_vm_remove_memory(vm, 0x100000, 0x1000), 0);
    assert_int_equal(vtd_vm_remove_memory(vm, 0x103000, 0x1000), 0);
    assert_int_equal(vtd_vm_add_memory(vm, 0x101000, 0x1000), 0); /* the hole can be refilled */
    assert_int_equal(vtd_vm_add_memory(vm, 0xFFFFFFFFFF000ULL, 0x2000), VTD_EINVAL); /* beyond 2^52 */
    assert_int_equal(vtd_vm_id(vm), 1);
}

/* Argument checks and features the unit or driver lacks. */
static void test_refusals(void **state)
{
    struct mach *m = *state = new_mach(NULL, &two_topo);
    struct vtd_vm *vm = vm_with(m, vm1_mem, 1), *other;
    assert_int_equal(vtd_vm_create(m->as, &other), 0);
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){DEV_A}, 1), 0);
    assert_int_equal(vtd_vm_assign(vm, NULL, 0), VTD_EINVAL);
    unsigned c;
    /* xAPIC mode: 8-bit APIC ids */
    assert_int_equal(vtd_vm_add_vcpu(vm, 256, 0xF2, &c), VTD_EINVAL);
    assert_non_null(strstr(vtd_assign_error(m->as), "xAPIC"));
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(vtd_vm_add_vcpu(vm, i, 0xF2, &c), 0);
    assert_int_equal(c, 63);
    assert_int_equal(vtd_vm_add_vcpu(vm, 1, 0xF2, &c), VTD_AS_EBUSY);
    assert_int_equal(vtd_vm_vcpu_pid(vm, 64), 0);
    struct vtd_vcpu_state st;
    assert_int_equal(vtd_vm_vcpu_state(vm, 64, &st), VTD_AS_ENODEV);
    /* nested translation needs scalable mode with ECAP.NEST */
    assert_int_equal(vtd_vm_nest(vm, DEV_A, 1, 0x0, 4), VTD_ENOTSUP);
    assert_non_null(strstr(vtd_assign_error(m->as), "ECAP.NEST"));
    assert_int_equal(vtd_vm_nest(vm, DEV_B, 1, 0x0, 4), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_nest(other, DEV_A, 1, 0x0, 4), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_unnest(other, DEV_A, 1), VTD_AS_ENODEV);
    assert_int_equal(vtd_vm_unnest(vm, DEV_A, 1), VTD_AS_ENODEV);
    assert_string_equal(vtd_assign_strerror(VTD_AS_EGROUP),
                        "the request splits a group: its devices must be assigned together");
    assert_string_equal(vtd_assign_strerror(VTD_ENOMEM), "out of memory");
    assert_string_equal(vtd_assign_strerror(VTD_ENOTSUP), "not supported by this unit or driver configuration");
    assert_string_equal(vtd_assign_strerror(-1000), "unknown error");
}

/* With interrupt remapping off in the driver, routing is refused. */
static void test_no_ir(void **state)
{
    struct mach *m;
    char err[256];
    assert_int_equal(mach_create(&m, NULL, VTD_DRV_CFG_NO_IR, &two_topo, err, sizeof err), 0);
    *state = m;
    struct vtd_vm *vm = vm_with(m, vm1_mem, 1);
    assert_int_equal(vtd_vm_assign(vm, (uint16_t[]){DEV_A}, 1), 0);
    unsigned c;
    assert_int_equal(vtd_vm_add_vcpu(vm, 1, 0xF2, &c), 0);
    struct vtd_vm_irq irq;
    assert_int_equal(vtd_vm_route_irq(vm, DEV_A, c, 0x40, 0x80, &irq), VTD_AS_EDRV);
    assert_non_null(strstr(vtd_assign_error(m->as), "interrupt remapping off"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_two_vms_dma, teardown),
        cmocka_unit_test_teardown(test_cross_vm_faults, teardown),
        cmocka_unit_test_teardown(test_scalable_assign, teardown),
        cmocka_unit_test_teardown(test_nested_guest_iommu, teardown),
        cmocka_unit_test_teardown(test_groups, teardown),
        cmocka_unit_test(test_bad_topology),
        cmocka_unit_test_teardown(test_switch_ports, teardown),
        cmocka_unit_test_teardown(test_reserved, teardown),
        cmocka_unit_test_teardown(test_unmap_invalidates, teardown),
        cmocka_unit_test_teardown(test_posted_irq, teardown),
        cmocka_unit_test_teardown(test_remapped_irq_without_pi, teardown),
        cmocka_unit_test_teardown(test_bridged_irq_and_unassign, teardown),
        cmocka_unit_test_teardown(test_destroy_cleans_up, teardown),
        cmocka_unit_test_teardown(test_driver_refusal_rolls_back, teardown),
        cmocka_unit_test_teardown(test_out_of_host_pages, teardown),
        cmocka_unit_test_teardown(test_guest_memory, teardown),
        cmocka_unit_test_teardown(test_refusals, teardown),
        cmocka_unit_test_teardown(test_no_ir, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
