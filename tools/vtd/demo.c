/* SPDX-License-Identifier: MIT */
/*
 * `vtd demo`: device assignment with VT-d, told on two VMs.
 *
 * A simulated host (tools/vtd/machine.c): sparse memory, one remapping unit
 * (the model), the driver programming it through MMIO and memory only, and
 * the assignment layer on the driver.  Two VMs get memory made of scattered
 * host pages and one device each; the story then shows what the IOMMU does
 * for them: DMA to guest-physical addresses reaching the right host pages
 * (with the table walk), a device reaching into the other VM's memory
 * stopped with a recorded fault, an interrupt posted to a vCPU, an
 * unmapped page faulting after invalidation, and (on a second host with a
 * scalable-mode unit) a guest's own IOMMU tables translated nested over
 * its VM's second level.  Every outcome it tells is
 * checked; the exit status is 1 when any differs (docs/demo.md).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/assign.h>
#include <vtd/defs.h>
#include <vtd/regs.h>

#include "machine.h"
#include "tool.h"
#include "walkfmt.h"

#define PAGE 4096ULL
#define SID(b, d, f) ((uint16_t)(((b) << 8) | ((d) << 3) | (f)))
#define NIC SID(0, 2, 0)   /* VM 1's network card */
#define DISK SID(0, 3, 0)  /* VM 2's NVMe disk */
#define OLD_A SID(5, 0, 0) /* two PCI cards behind a PCIe-to-PCI bridge */
#define OLD_B SID(5, 1, 0)
#define MAX_CHECKS 128
#define MAX_STEPS 64

/* VM 2 owns GPA 0x80000000; VM 1 has nothing there. */
#define VM2_ONLY_GPA UINT64_C(0x80000000)
#define NOTIFY_VECTOR 0xF2 /* the host's posted-interrupt notification vector */
#define GUEST_VECTOR 0x45  /* the vector VM 1's NIC driver asked for */
#define HOST_CPU 2         /* the host CPU (APIC id) VM 1's vCPU 0 runs on */
#define HOST_IRQ_VECTOR 0x80 /* without CAP.PI: the host vector the VMM handles */

struct demo {
    struct mach *m;
    struct vtd_vm *vm1, *vm2;
    unsigned vcpu;
    bool quiet, json, no_pi;
    FILE *out; /* narration: stdout, or nothing with --quiet / --json */
    int passed, failed;
    int nchecks;
    struct { char what[200]; bool ok; } checks[MAX_CHECKS];
};

static void demo_usage(FILE *f)
{
    fprintf(f, "usage: vtd demo [--quiet | --json] [--no-pi]\n\n"
               "Device assignment with VT-d, told on two VMs: a simulated host with one\n"
               "remapping unit, programmed by libvtd's driver through its registers and\n"
               "memory; the assignment layer gives each VM memory made of scattered host\n"
               "pages and one device.  The story shows, step by step:\n"
               "  - each VM's device DMAing to guest-physical addresses, the table walk\n"
               "    and the host-physical page it reaches;\n"
               "  - a group that must be assigned whole, and a reserved range refused;\n"
               "  - a device reaching into the other VM's memory, stopped with a fault\n"
               "    record (decoded from the unit's fault recording registers);\n"
               "  - a device interrupt posted to a vCPU (PIR bit, notification);\n"
               "  - a page unmapped and invalidated, the device's next access faulting;\n"
               "  - on a second host with a scalable-mode unit, a guest's own IOMMU tables\n"
               "    translated nested over its VM's second level, the guest's invalidation\n"
               "    forwarded, a guest table pointer outside the VM faulting.\n"
               "Every outcome told is checked; a summary closes the story.\n\n"
               "  --quiet   print only the summary (and any check that failed)\n"
               "  --json    print the checks as one JSON object instead of the story\n"
               "  --no-pi   a unit without posted interrupts (CAP.PI = 0): the interrupt is\n"
               "            remapped to a host vector instead\n\n"
               "Exit status: 0 every check passed, 1 some check failed, 2 bad usage or\n"
               "the machine could not be built.\n");
}

/* ---- Narration ---- */

static void say(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct demo *d, const char *fmt, ...)
{
    if (!d->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->out, fmt, ap);
    va_end(ap);
    fputc('\n', d->out);
}

static void gap(struct demo *d)
{
    if (d->out)
        fputc('\n', d->out);
}

static void act(struct demo *d, int n, const char *title)
{
    if (!d->out)
        return;
    fprintf(d->out, "\n== %d. %s ", n, title);
    for (size_t i = strlen(title); i < 66; i++)
        fputc('=', d->out);
    fprintf(d->out, "\n\n");
}

static bool check(struct demo *d, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool check(struct demo *d, bool ok, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (d->nchecks < MAX_CHECKS) {
        snprintf(d->checks[d->nchecks].what, sizeof d->checks[0].what, "%s", what);
        d->checks[d->nchecks].ok = ok;
        d->nchecks++;
    }
    if (ok)
        d->passed++;
    else
        d->failed++;
    if (d->out)
        fprintf(d->out, "   [%s] %s\n", ok ? "ok" : "FAILED", what);
    else if (!ok && !d->json)
        printf("FAILED: %s\n", what);
    return ok;
}

static const char *bdf(uint16_t sid, char buf[16])
{
    return wf_bdf(sid, buf, 16);
}

/* ---- Walks ---- */

struct steps {
    struct wf_step s[MAX_STEPS];
    int n;
};

static void on_step(void *arg, const struct vtd_walk_step *s)
{
    struct steps *c = arg;
    if (c->n < MAX_STEPS)
        wf_from_vtd(&c->s[c->n++], s);
}

/* Show how the unit walks `addr` for `sid`: every step in full (`full`) or
 * one line per structure read. */
static void show_walk(struct demo *d, uint16_t sid, uint64_t addr, uint8_t access, bool full)
{
    if (!d->out)
        return;
    struct vtd_request req = {.sid = sid, .at = VTD_AT_UNTRANSLATED, .access = access, .addr = addr};
    struct steps *c = calloc(1, sizeof *c);
    struct vtd_result res;
    if (!c || vtd_walk(d->m->u, &req, &res, on_step, c)) {
        free(c);
        return;
    }
    if (full) {
        fprintf(d->out, "   ,-- the walk, as the unit does it (vtd walk shows the same)\n");
        wf_print_request(d->out, &req);
        for (int i = 0; i < c->n; i++)
            wf_print_step(d->out, i + 1, &c->s[i]);
        wf_print_result(d->out, &res);
        fprintf(d->out, "   `--\n");
    } else {
        fprintf(d->out, "   walk:");
        for (int i = 0; i < c->n; i++) {
            const struct wf_step *s = &c->s[i];
            uint64_t v;
            fprintf(d->out, "%s %s[%u]", i ? " ->" : "", wf_table_name(s->kind, s->level), s->index);
            if (s->kind == WF_CONTEXT && wf_field(s, "DID", &v))
                fprintf(d->out, " DID %" PRIu64, v);
        }
        fprintf(d->out, "\n   ");
        wf_print_result(d->out, &res);
    }
    free(c);
}

/* ---- The story ---- */

struct run_count {
    unsigned runs, pages;
    uint64_t first[4][3];
};

static int count_runs(void *arg, uint64_t gpa, uint64_t hpa, uint64_t size)
{
    struct run_count *c = arg;
    if (c->runs < 4) {
        c->first[c->runs][0] = gpa;
        c->first[c->runs][1] = hpa;
        c->first[c->runs][2] = size;
    }
    c->runs++;
    c->pages += (unsigned)(size / PAGE);
    return 0;
}

static void show_memory(struct demo *d, struct vtd_vm *vm)
{
    struct run_count c = {0};
    vtd_vm_memory(vm, count_runs, &c);
    say(d, "   VM %u: %u guest pages on %u host pages, in %u contiguous run(s); the first:", vtd_vm_id(vm), c.pages,
        c.pages, c.runs);
    for (unsigned i = 0; i < c.runs && i < 4; i++)
        say(d, "     GPA 0x%08" PRIx64 " -> HPA 0x%09" PRIx64 "  (%" PRIu64 " KiB)", c.first[i][0], c.first[i][1],
            c.first[i][2] / 1024);
    check(d, c.runs > 8, "VM %u's memory is scattered over host memory (%u runs for %u pages)", vtd_vm_id(vm), c.runs,
          c.pages);
}

static int add_mem(struct demo *d, struct vtd_vm *vm, uint64_t gpa, uint64_t size)
{
    int r = vtd_vm_add_memory(vm, gpa, size);
    check(d, r == 0, "VM %u gets GPA [0x%" PRIx64 ", 0x%" PRIx64 ")%s%s", vtd_vm_id(vm), gpa, gpa + size,
          r ? ": " : "", r ? vtd_assign_error(d->m->as) : "");
    return r;
}

static void act_machine(struct demo *d)
{
    struct vtd_drv_info info;
    vtd_drv_info(d->m->drv, &info);
    act(d, 1, "The host");
    say(d, "   One VT-d remapping unit (the libvtd model) sits between the devices and host");
    say(d, "   memory.  libvtd's driver has brought it up exactly as an OS would, through");
    say(d, "   its registers: VER %u.%u, CAP 0x%016" PRIx64 ", ECAP 0x%016" PRIx64 ".", info.ver >> 4 & 0xF,
        info.ver & 0xF, info.cap, info.ecap);
    uint64_t rtaddr = vtd_mmio_read(d->m->u, VTD_REG_RTADDR, 8);
    uint32_t gsts = (uint32_t)vtd_mmio_read(d->m->u, VTD_REG_GSTS, 4);
    say(d, "   Root table at 0x%" PRIx64 " (%s mode), %s invalidation, interrupt remapping %s",
        rtaddr & ~(uint64_t)0xFFF, info.scalable ? "scalable" : "legacy", info.qi ? "queued" : "register-based",
        info.ir ? "on" : "off");
    say(d, "   (%u entries), posted interrupts %s.  GSTS = 0x%08x.", info.ir_entries,
        info.posted ? "supported (CAP.PI)" : "not supported", gsts);
    check(d, (gsts & (1u << 31)) != 0, "translation is enabled (GSTS.TES = 1)");
    gap(d);
    say(d, "   The devices, as the platform firmware describes them:");
    say(d, "     00:02.0  network card (has ACS)             -> for VM 1");
    say(d, "     00:03.0  NVMe disk (has ACS)                -> for VM 2");
    say(d, "     05:00.0, 05:01.0  two PCI cards behind a PCIe-to-PCI bridge to bus 05");
    say(d, "   Reserved: the interrupt range 0xFEE00000-0xFEEFFFFF and one RMRR,");
    say(d, "   0x7C000000-0x7C0FFFFF (a BIOS buffer); neither is ever mapped for a VM.");
}

static void act_vms(struct demo *d)
{
    act(d, 2, "Two VMs, their memory made of scattered host pages");
    say(d, "   A VM's guest-physical address space (GPA) is backed page by page with");
    say(d, "   host-physical pages (HPA) wherever the host's allocator had them free.");
    say(d, "   The CPU sees it through its own EPT tables; a device will see it through");
    say(d, "   the IOMMU's second-level tables, which the assignment layer fills.");
    gap(d);
    add_mem(d, d->vm1, 0x0, 0x100000);
    add_mem(d, d->vm1, 0x40000000, 0x10000);
    add_mem(d, d->vm2, 0x0, 0x100000);
    add_mem(d, d->vm2, VM2_ONLY_GPA, 0x40000);
    show_memory(d, d->vm1);
    show_memory(d, d->vm2);
    gap(d);
    say(d, "   Memory across a reserved range is refused:");
    int r = vtd_vm_add_memory(d->vm2, 0xFEC00000, 0x400000);
    say(d, "     VM 2 asks for GPA [0xFEC00000, 0xFF000000): %s", vtd_assign_error(d->m->as));
    check(d, r == VTD_AS_ERESERVED, "memory over the interrupt range is refused (VTD_AS_ERESERVED)");
    r = vtd_vm_add_memory(d->vm2, 0x7C080000, 0x100000);
    say(d, "     VM 2 asks for GPA [0x7C080000, 0x7C180000): %s", vtd_assign_error(d->m->as));
    check(d, r == VTD_AS_ERESERVED, "memory over the RMRR is refused (VTD_AS_ERESERVED)");
}

static void act_assign(struct demo *d)
{
    char b1[16], b2[16];
    act(d, 3, "Assigning devices: domains, groups");
    say(d, "   Each VM gets one IOMMU domain (its \"container\"): one set of second-level");
    say(d, "   tables translating that VM's GPAs to its HPAs.  Assigning a device writes");
    say(d, "   its context entry to point at the domain; the first assignment maps all");
    say(d, "   of the VM's memory.");
    gap(d);
    int r = vtd_vm_assign(d->vm1, (uint16_t[]){NIC}, 1);
    check(d, r == 0, "network card %s assigned to VM 1: domain %d%s%s", bdf(NIC, b1), vtd_vm_domain_id(d->vm1),
          r ? ": " : "", r ? vtd_assign_error(d->m->as) : "");
    r = vtd_vm_assign(d->vm2, (uint16_t[]){DISK}, 1);
    check(d, r == 0, "NVMe disk %s assigned to VM 2: domain %d%s%s", bdf(DISK, b1), vtd_vm_domain_id(d->vm2),
          r ? ": " : "", r ? vtd_assign_error(d->m->as) : "");
    check(d, vtd_vm_domain_id(d->vm1) != vtd_vm_domain_id(d->vm2) && vtd_vm_domain_id(d->vm1) >= 0 &&
                 vtd_vm_domain_id(d->vm2) >= 0,
          "the two VMs have different domains (DID %d and %d)", vtd_vm_domain_id(d->vm1), vtd_vm_domain_id(d->vm2));
    gap(d);
    say(d, "   The two PCI cards behind the PCIe-to-PCI bridge: such a bridge forwards");
    say(d, "   their DMA as its own, with requester id 05:00.0, so the IOMMU cannot tell");
    say(d, "   them apart.  They form one group, and a group goes to one VM, whole.");
    r = vtd_vm_assign(d->vm2, (uint16_t[]){OLD_B}, 1);
    say(d, "     assign %s alone to VM 2: %s", bdf(OLD_B, b2), vtd_assign_error(d->m->as));
    check(d, r == VTD_AS_EGROUP, "assigning one device of a group alone is refused (VTD_AS_EGROUP)");
    check(d, vtd_assign_group(d->m->as, OLD_A) == vtd_assign_group(d->m->as, OLD_B) &&
                 vtd_assign_group(d->m->as, OLD_A) != vtd_assign_group(d->m->as, DISK),
          "%s and %s share group %d; the disk is in a group of its own", bdf(OLD_A, b1), bdf(OLD_B, b2),
          vtd_assign_group(d->m->as, OLD_A));
}

/* A device of `vm` DMAs `len` bytes to gpa; checks where they land. */
static void dma_to_gpa(struct demo *d, struct vtd_vm *vm, uint16_t sid, const char *name, uint64_t gpa,
                       bool write, bool full)
{
    char b1[16];
    uint64_t hpa = 0;
    vtd_vm_gpa_to_hpa(vm, gpa, &hpa);
    char msg[32] = {0};
    snprintf(msg, sizeof msg, write ? "hello from VM %u" : "block of VM %u", vtd_vm_id(vm));
    if (!write)
        vtd_vm_write(vm, gpa, msg, sizeof msg); /* the guest put it there */
    say(d, "   VM %u's driver programs its %s (%s) to %s GPA 0x%" PRIx64 ".", vtd_vm_id(vm), name, bdf(sid, b1),
        write ? "write a packet to" : "read a block from", gpa);
    show_walk(d, sid, gpa, write ? VTD_W : VTD_R, full);
    char buf[32] = {0}, seen[33] = {0};
    if (write)
        memcpy(buf, msg, sizeof buf);
    struct vtd_result res;
    int r = mach_dma(d->m, sid, gpa, write ? VTD_W : VTD_R, buf, sizeof buf, &res);
    if (write)
        vtd_vm_read(vm, gpa, seen, sizeof buf);
    else
        memcpy(seen, buf, sizeof buf);
    check(d, r == 0 && res.status == VTD_OK && res.pa == hpa,
          "the %s reached HPA 0x%" PRIx64 ", the host page behind VM %u's GPA 0x%" PRIx64, write ? "write" : "read",
          res.pa, vtd_vm_id(vm), gpa);
    check(d, memcmp(seen, msg, sizeof msg) == 0, "%s \"%s\" %s", write ? "the guest reads" : "the device got", seen,
          write ? "at that GPA" : "from that GPA");
}

static void act_dma(struct demo *d)
{
    act(d, 4, "DMA to guest-physical addresses");
    say(d, "   A guest's driver knows only GPAs, and programs them into its device.  The");
    say(d, "   device's DMA carries its requester id (bus:dev.fn) and that address; the");
    say(d, "   unit finds the context entry by requester id (root table by bus, context");
    say(d, "   table by devfn), takes the domain's second-level table from it, and walks");
    say(d, "   the address down to a host page.");
    gap(d);
    dma_to_gpa(d, d->vm1, NIC, "network card", 0x3018, true, true);
    gap(d);
    dma_to_gpa(d, d->vm2, DISK, "disk", 0x3018, false, false);
    uint64_t h1 = 0, h2 = 0;
    vtd_vm_gpa_to_hpa(d->vm1, 0x3018, &h1);
    vtd_vm_gpa_to_hpa(d->vm2, 0x3018, &h2);
    check(d, h1 != h2 && h1 && h2, "the same GPA 0x3018 is HPA 0x%" PRIx64 " for VM 1 and 0x%" PRIx64 " for VM 2", h1,
          h2);
    gap(d);
    dma_to_gpa(d, d->vm1, NIC, "network card", 0x40004200, true, false);
}

static void show_fault_record(struct demo *d, uint16_t sid, uint8_t want_fr, uint64_t want_fi)
{
    char b1[16];
    uint64_t cap = vtd_mmio_read(d->m->u, VTD_REG_CAP, 8);
    uint64_t fro = ((cap >> 24) & 0x3FF) * 16;
    unsigned nfr = (unsigned)((cap >> 40) & 0xFF) + 1;
    uint32_t fsts = (uint32_t)vtd_mmio_read(d->m->u, VTD_REG_FSTS, 4);
    say(d, "   FSTS = 0x%08x: PPF=%u (a primary fault is pending), FRI=%u (its record)", fsts, fsts >> 1 & 1,
        fsts >> 8 & 0xFF);
    bool found = false;
    for (unsigned i = 0; i < nfr && !found; i++) {
        uint64_t lo = vtd_mmio_read(d->m->u, fro + 16 * i, 8), hi = vtd_mmio_read(d->m->u, fro + 16 * i + 8, 8);
        if (!(hi & VTD_FRCD_HI_F) || (uint16_t)(hi & VTD_FRCD_HI_SID_MASK) != sid)
            continue;
        found = true;
        uint8_t fr = (uint8_t)((hi & VTD_FRCD_HI_FR_MASK) >> VTD_FRCD_HI_FR_SHIFT);
        bool t1 = hi & VTD_FRCD_HI_T1, t2 = hi & VTD_FRCD_HI_T2;
        uint64_t fi = lo & VTD_FRCD_LO_FI_MASK;
        const char *w = wf_fault_words(fr);
        say(d, "   fault recording register %u (at MMIO 0x%" PRIx64 "): 0x%016" PRIx64 "_%016" PRIx64, i, fro + 16 * i,
            hi, lo);
        say(d, "     F=1  FR=%02Xh (%s)", fr, w ? w : "?");
        say(d, "     SID=%s  T1,T2=%u,%u (%s)  FI=0x%" PRIx64 " (the page it tried)", bdf(sid, b1), t1, t2,
            t1 && t2 ? "atomic" : t1 ? "read" : t2 ? "page request" : "write", fi);
        check(d, fr == want_fr && fi == want_fi, "the unit recorded fault %02Xh for %s at 0x%" PRIx64, fr,
              bdf(sid, b1), fi);
    }
    if (!found)
        check(d, false, "a fault record for %s is pending", bdf(sid, b1));
}

/* The driver collects the fault; the layer says whose device it was. */
static void driver_reports(struct demo *d, uint16_t sid)
{
    char b1[16];
    int before = d->m->nfault;
    int n = mach_poll_faults(d->m);
    bool ok = n == 1 && d->m->fault[before].kind == VTD_DRV_FAULT_DMA && d->m->fault[before].sid == sid;
    if (ok) {
        const struct vtd_drv_fault *f = &d->m->fault[before];
        struct vtd_vm *owner = vtd_assign_owner(d->m->as, f->sid);
        say(d, "   The host's driver takes the fault event, reads and clears the record:");
        say(d, "     \"DMA %s fault from %s at 0x%" PRIx64 ", reason %02Xh\" -> device of VM %u",
            f->access == VTD_DRV_ACC_READ ? "read" : "write", bdf(f->sid, b1), f->addr, f->reason,
            owner ? vtd_vm_id(owner) : 0);
    }
    check(d, ok, "the driver reported exactly that fault (%d report%s)", n, n == 1 ? "" : "s");
    uint32_t fsts = (uint32_t)vtd_mmio_read(d->m->u, VTD_REG_FSTS, 4);
    check(d, !(fsts & 2), "the record is cleared (FSTS.PPF = 0)");
}

static void act_isolation(struct demo *d)
{
    act(d, 5, "A device reaching into the other VM's memory");
    say(d, "   VM 1's driver, buggy or malicious, points its network card at GPA 0x%" PRIx64 ":", VM2_ONLY_GPA);
    say(d, "   memory VM 2 has, VM 1 does not.  VM 1's domain has no mapping there: the");
    say(d, "   walk stops at a PDP entry with R=W=0, which legacy mode reports as a");
    say(d, "   permission fault (05h for a write, 06h for a read).");
    uint64_t before[4] = {0}, after[4] = {0}, hpa2 = 0;
    vtd_vm_read(d->vm2, VM2_ONLY_GPA, before, sizeof before);
    vtd_vm_gpa_to_hpa(d->vm2, VM2_ONLY_GPA, &hpa2);
    show_walk(d, NIC, VM2_ONLY_GPA, VTD_W, false);
    int nmsi = d->m->nmsi;
    char junk[32];
    memset(junk, 0x5A, sizeof junk);
    struct vtd_result res;
    mach_dma(d->m, NIC, VM2_ONLY_GPA, VTD_W, junk, sizeof junk, &res);
    check(d, res.status == VTD_FAULT && res.fault_reason == VTD_FR_NO_WRITE && res.fault_recorded,
          "the write is stopped: fault %02Xh, recorded", res.fault_reason);
    vtd_vm_read(d->vm2, VM2_ONLY_GPA, after, sizeof after);
    check(d, memcmp(before, after, sizeof before) == 0, "VM 2's memory at GPA 0x%" PRIx64 " is untouched",
          VM2_ONLY_GPA);
    show_fault_record(d, NIC, VTD_FR_NO_WRITE, VM2_ONLY_GPA);
    bool ev = d->m->nmsi == nmsi + 1 && d->m->msi[nmsi].addr == MACH_FE_ADDR && d->m->msi[nmsi].data == MACH_FE_DATA;
    if (ev)
        say(d, "   The unit raised its fault event: MSI 0x%x to 0x%" PRIx64 " (FEDATA/FEADDR).", MACH_FE_DATA,
            MACH_FE_ADDR);
    check(d, ev, "one fault-event interrupt was sent");
    driver_reports(d, NIC);
    gap(d);
    say(d, "   Nor does knowing a host-physical address help: the NIC reads from 0x%" PRIx64 ",", hpa2);
    say(d, "   the HPA behind VM 2's GPA 0x%" PRIx64 ".  The unit translates it as a GPA of VM 1:", VM2_ONLY_GPA);
    show_walk(d, NIC, hpa2, VTD_R, false);
    mach_dma(d->m, NIC, hpa2, VTD_R, junk, sizeof junk, &res);
    check(d, res.status == VTD_FAULT && res.fault_reason == VTD_FR_NO_READ, "the read is stopped: fault %02Xh",
          res.fault_reason);
    show_fault_record(d, NIC, VTD_FR_NO_READ, hpa2 & ~0xFFFULL);
    driver_reports(d, NIC);
}

static void show_irte(struct demo *d, unsigned index)
{
    uint64_t irta = vtd_mmio_read(d->m->u, VTD_REG_IRTA, 8), e[2] = {0, 0};
    uint64_t at = (irta & VTD_IRTA_IRTA_MASK) + 16ULL * index;
    vtd_mem_read(d->m->mem, at, e, sizeof e);
    bool im = e[0] >> 15 & 1;
    say(d, "   IRTE %u at 0x%" PRIx64 " (IRTA + 16 x %u): 0x%016" PRIx64 "_%016" PRIx64, index, at, index, e[1], e[0]);
    if (im) {
        uint64_t pda = (e[1] >> 32) << 32 | (e[0] >> 38 & 0x3FFFFFF) << 6;
        say(d, "     P=%u IM=1 (posted) URG=%u V=0x%02x (guest vector) PDA=0x%" PRIx64 " SID=%04x SVT=%u",
            (unsigned)(e[0] & 1), (unsigned)(e[0] >> 14 & 1), (unsigned)(e[0] >> 16 & 0xFF), pda,
            (unsigned)(e[1] & 0xFFFF), (unsigned)(e[1] >> 18 & 3));
    } else {
        struct vtd_drv_info info;
        vtd_drv_info(d->m->drv, &info);
        uint32_t dst = (uint32_t)(e[0] >> 32);
        say(d, "     P=%u IM=0 (remapped) V=0x%02x DST=0x%08x (APIC %u, %s) SID=%04x SVT=%u", (unsigned)(e[0] & 1),
            (unsigned)(e[0] >> 16 & 0xFF), dst, info.x2apic ? dst : dst >> 8 & 0xFF,
            info.x2apic ? "x2APIC" : "xAPIC: bits 15:8", (unsigned)(e[1] & 0xFFFF), (unsigned)(e[1] >> 18 & 3));
    }
}

/* CAP.PI: the unit posts into the vCPU's descriptor and notifies. */
static void irq_posted(struct demo *d, const struct vtd_vm_irq *irq)
{
    int nmsi = d->m->nmsi;
    struct vtd_irq out;
    int r = vtd_remap_msi(d->m->u, &irq->msi, &out);
    bool posted = r == 0 && out.status == VTD_OK && out.kind == VTD_IRQ_POSTED;
    check(d, posted && out.vector == GUEST_VECTOR && out.pid_addr == vtd_vm_vcpu_pid(d->vm1, d->vcpu),
          "the unit posted vector 0x%02x into vCPU 0's descriptor", out.vector);
    struct vtd_vcpu_state st;
    vtd_vm_vcpu_state(d->vm1, d->vcpu, &st);
    say(d, "   PIR (bits 255..0) = %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 "  ON=%u SN=%u", st.pir[3],
        st.pir[2], st.pir[1], st.pir[0], st.on, st.sn);
    check(d, (st.pir[GUEST_VECTOR / 64] >> (GUEST_VECTOR % 64) & 1) && st.on, "PIR bit 0x%02x is set, and ON",
          GUEST_VECTOR);
    bool note = out.notified && d->m->nmsi == nmsi + 1 &&
                d->m->msi[nmsi].addr == (0xFEE00000ULL | (uint64_t)HOST_CPU << 12) &&
                d->m->msi[nmsi].data == NOTIFY_VECTOR;
    if (d->m->nmsi > nmsi)
        say(d, "   notification: MSI 0x%02" PRIx32 " to 0x%" PRIx64 " (vector 0x%02x to host CPU %u)",
            d->m->msi[nmsi].data, d->m->msi[nmsi].addr, NOTIFY_VECTOR, HOST_CPU);
    check(d, note, "the notification went to host CPU %u with vector 0x%02x", HOST_CPU, NOTIFY_VECTOR);
    uint64_t pir[4];
    vtd_vm_vcpu_drain(d->vm1, d->vcpu, pir);
    say(d, "   The host's notification handler clears ON and takes the PIR: the vCPU");
    say(d, "   gets vector 0x%02x without the VMM ever handling the device's interrupt.", GUEST_VECTOR);
    vtd_vm_vcpu_state(d->vm1, d->vcpu, &st);
    check(d, (pir[GUEST_VECTOR / 64] >> (GUEST_VECTOR % 64) & 1) && !st.on && !st.pir[GUEST_VECTOR / 64],
          "vector 0x%02x delivered; PIR and ON clear again", GUEST_VECTOR);
}

/* No CAP.PI: the unit remaps to a host vector; the VMM injects. */
static void irq_remapped(struct demo *d, const struct vtd_vm_irq *irq)
{
    struct vtd_irq out;
    int r = vtd_remap_msi(d->m->u, &irq->msi, &out);
    bool ok = r == 0 && out.status == VTD_OK && out.kind == VTD_IRQ_REMAPPED;
    say(d, "   result: remapped, vector 0x%02x to APIC %u", out.vector, out.dest);
    check(d, ok && out.vector == HOST_IRQ_VECTOR && out.dest == HOST_CPU,
          "the unit remapped it to host vector 0x%02x on host CPU %u", HOST_IRQ_VECTOR, HOST_CPU);
    say(d, "   The host's handler for vector 0x%02x (the VMM) injects vector 0x%02x into", HOST_IRQ_VECTOR,
        GUEST_VECTOR);
    say(d, "   vCPU 0 itself: one exit per interrupt, which posting avoids.");
}

static void act_irq(struct demo *d)
{
    char b1[16];
    bool pi = d->m->cfg.cap & VTD_CAP_PI;
    act(d, 6, pi ? "A device interrupt posted to a vCPU" : "A device interrupt remapped for a vCPU");
    if (pi) {
        say(d, "   VM 1's vCPU 0 runs on host CPU %u.  Its posted-interrupt descriptor (PID)", HOST_CPU);
        say(d, "   holds 256 request bits (PIR), ON (outstanding notification) and where to");
        say(d, "   notify: vector 0x%02x to CPU %u.  The NIC's driver in VM 1 asks for vector", NOTIFY_VECTOR,
            HOST_CPU);
    } else {
        say(d, "   VM 1's vCPU 0 runs on host CPU %u.  This unit has no CAP.PI (--no-pi), so", HOST_CPU);
        say(d, "   interrupts cannot be posted: they are remapped to a host vector (0x%02x)", HOST_IRQ_VECTOR);
        say(d, "   on that CPU instead.  The NIC's driver in VM 1 asks for vector");
    }
    say(d, "   0x%02x; the host programs an interrupt-remapping entry (IRTE) for it and", GUEST_VECTOR);
    say(d, "   writes the remappable-format MSI the IRTE's index gives into the NIC.");
    int r = vtd_vm_add_vcpu(d->vm1, HOST_CPU, NOTIFY_VECTOR, &d->vcpu);
    if (pi)
        check(d, r == 0 && vtd_vm_vcpu_pid(d->vm1, d->vcpu), "vCPU %u of VM 1 has its descriptor at HPA 0x%" PRIx64,
              d->vcpu, vtd_vm_vcpu_pid(d->vm1, d->vcpu));
    else
        check(d, r == 0 && !vtd_vm_vcpu_pid(d->vm1, d->vcpu), "vCPU %u of VM 1 needs no descriptor", d->vcpu);
    struct vtd_vm_irq irq;
    r = vtd_vm_route_irq(d->vm1, NIC, d->vcpu, GUEST_VECTOR, HOST_IRQ_VECTOR, &irq);
    if (!check(d, r == 0 && irq.posted == pi, "the NIC's interrupt is routed to vCPU 0 (%s)",
               r ? vtd_assign_error(d->m->as) : irq.posted ? "posted" : "remapped to the host"))
        return;
    show_irte(d, irq.handle);
    say(d, "   The NIC signals: it writes 0x%08" PRIx32 " to 0x%" PRIx64 " (requester %s): address bit 4 says", irq.msi.data,
        irq.msi.addr, bdf(NIC, b1));
    say(d, "   remappable format, bits 19:5 (and 2) carry the handle, %u: the IRTE's index.",
        (unsigned)((irq.msi.addr >> 5 & 0x7FFF) | (irq.msi.addr >> 2 & 1) << 15));
    if (pi)
        irq_posted(d, &irq);
    else
        irq_remapped(d, &irq);
    gap(d);
    say(d, "   The disk of VM 2 sends the very same message: the IRTE names the NIC as the");
    say(d, "   only source (SVT=1), so the unit blocks it.");
    struct vtd_msi forged = irq.msi;
    forged.sid = DISK;
    struct vtd_irq out;
    r = vtd_remap_msi(d->m->u, &forged, &out);
    const char *w = wf_fault_words(out.fault_reason);
    say(d, "   result: FAULT %02Xh %s", out.fault_reason, w ? w : "");
    check(d, r == 0 && out.status == VTD_FAULT && out.fault_reason == VTD_FR_IR_SID,
          "an interrupt from %s through the NIC's IRTE faults 26h", bdf(DISK, b1));
    int n = mach_poll_faults(d->m);
    check(d, n == 1 && d->m->fault[d->m->nfault - 1].kind == VTD_DRV_FAULT_IRQ &&
                 d->m->fault[d->m->nfault - 1].irte_index == irq.handle,
          "the driver reports it as an interrupt fault on IRTE %u", irq.handle);
}

/* Address of the leaf (4 KiB) entry the unit reads for `addr`, or 0. */
static uint64_t leaf_entry(struct demo *d, uint16_t sid, uint64_t addr)
{
    struct vtd_request req = {.sid = sid, .at = VTD_AT_UNTRANSLATED, .access = VTD_R, .addr = addr};
    struct steps *c = calloc(1, sizeof *c);
    struct vtd_result res;
    uint64_t at = 0;
    if (c && vtd_walk(d->m->u, &req, &res, on_step, c) == 0 && c->n &&
        c->s[c->n - 1].kind == WF_SL_PTE && c->s[c->n - 1].level == 1)
        at = c->s[c->n - 1].addr;
    free(c);
    return at;
}

static int stale_diags(const struct mach *m, int from)
{
    int n = 0;
    for (int i = from; i < m->ndiag && i < MACH_LOG; i++)
        n += m->diag[i].code == VTD_DIAG_STALE_IOTLB;
    return n;
}

/* What a driver that forgets to invalidate gets: done by hand on the
 * tables (the driver is not told), then put back as it was. */
static void forgetful_driver(struct demo *d, uint64_t gpa)
{
    struct vtd_result res;
    char buf[64];
    uint64_t hpa = 0, pte = 0, zero = 0;
    vtd_vm_gpa_to_hpa(d->vm2, gpa, &hpa);
    uint64_t at = leaf_entry(d, DISK, gpa);
    if (!check(d, at != 0 && vtd_mem_read(d->m->mem, at, &pte, 8) == 0, "found the PTE of VM 2's GPA 0x%" PRIx64,
               gpa))
        return;
    say(d, "   First, the classic bug.  The disk reads GPA 0x%" PRIx64 " (now cached), then a", gpa);
    say(d, "   careless driver clears its PTE at 0x%" PRIx64 " and does not invalidate:", at);
    mach_dma(d->m, DISK, gpa, VTD_R, buf, sizeof buf, &res);
    vtd_mem_write(d->m->mem, at, &zero, 8);
    int nd = d->m->ndiag;
    mach_dma(d->m, DISK, gpa, VTD_R, buf, sizeof buf, &res);
    check(d, res.status == VTD_OK && res.pa == hpa,
          "the disk still reaches HPA 0x%" PRIx64 " through the stale IOTLB entry", res.pa);
    if (d->m->ndiag > nd && nd < MACH_LOG)
        say(d, "   model diagnostic %d: %s", d->m->diag[nd].code, d->m->diag[nd].msg);
    check(d, stale_diags(d->m, nd) == 1, "the model flags it: VTD_DIAG_STALE_IOTLB");
    say(d, "   Were that page handed to someone else, the disk could still write it.");
    say(d, "   (The PTE is put back before the story goes on.)");
    vtd_mem_write(d->m->mem, at, &pte, 8);
    gap(d);
}

static void act_unmap(struct demo *d)
{
    act(d, 7, "Unmapping a page: invalidate, then the stale access faults");
    say(d, "   The unit caches translations in its IOTLB: a cached page is used without");
    say(d, "   walking the tables again, so clearing a PTE alone changes nothing for a");
    say(d, "   device that used the page before.");
    gap(d);
    forgetful_driver(d, 0x6000);
    const uint64_t gpa = 0x5000;
    say(d, "   Done right.  VM 2's disk reads GPA 0x%" PRIx64 " twice; the second read is", gpa);
    say(d, "   answered from the IOTLB.");
    struct vtd_result res;
    char buf[64];
    struct vtd_stats s0, s1;
    mach_dma(d->m, DISK, gpa, VTD_R, buf, sizeof buf, &res);
    vtd_get_stats(d->m->u, &s0);
    mach_dma(d->m, DISK, gpa, VTD_R, buf, sizeof buf, &res);
    vtd_get_stats(d->m->u, &s1);
    check(d, res.status == VTD_OK && s1.iotlb_hits == s0.iotlb_hits + 1 && s1.walks == s0.walks,
          "the second read hit the IOTLB (no walk)");
    say(d, "   The host takes the page back from VM 2 (say, its balloon driver gave it");
    say(d, "   up).  The layer unmaps it through the driver, which clears the PTE and");
    say(d, "   invalidates the IOTLB for that page (queued invalidation, then a wait");
    say(d, "   descriptor) before the layer frees the host page.");
    struct vtd_drv_stats ds0, ds1;
    vtd_drv_stats(d->m->drv, &ds0);
    int r = vtd_vm_remove_memory(d->vm2, gpa, PAGE);
    vtd_drv_stats(d->m->drv, &ds1);
    check(d, r == 0, "GPA 0x%" PRIx64 " removed from VM 2%s%s", gpa, r ? ": " : "", r ? vtd_assign_error(d->m->as) : "");
    uint64_t inv = (ds1.iotlb_psi - ds0.iotlb_psi) + (ds1.iotlb_dsi - ds0.iotlb_dsi) +
                   (ds1.iotlb_global - ds0.iotlb_global);
    say(d, "   driver: %" PRIu64 " page-selective, %" PRIu64 " domain-selective IOTLB invalidation(s), %" PRIu64
           " queued descriptor(s)",
        ds1.iotlb_psi - ds0.iotlb_psi, ds1.iotlb_dsi - ds0.iotlb_dsi, ds1.qi_descs - ds0.qi_descs);
    check(d, inv >= 1, "the driver invalidated the IOTLB");
    show_walk(d, DISK, gpa, VTD_R, false);
    int ndiag = d->m->ndiag;
    mach_dma(d->m, DISK, gpa, VTD_R, buf, sizeof buf, &res);
    check(d, res.status == VTD_FAULT && res.fault_reason == VTD_FR_NO_READ && res.fault_recorded,
          "the disk's next read of GPA 0x%" PRIx64 " faults %02Xh, recorded", gpa, res.fault_reason);
    check(d, stale_diags(d->m, ndiag) == 0, "no stale IOTLB entry was used this time");
    show_fault_record(d, DISK, VTD_FR_NO_READ, gpa);
    driver_reports(d, DISK);
    mach_dma(d->m, DISK, gpa + PAGE, VTD_R, buf, sizeof buf, &res);
    check(d, res.status == VTD_OK, "the page next to it still works");
}

/* ---- Act 8: a guest with its own IOMMU ---- */

#define GUEST_PASID 1u
#define GUEST_IOVA UINT64_C(0x7f000000) /* what the guest's NIC driver maps */
#define GUEST_CR3 UINT64_C(0x10000)     /* its tables: GPA 0x10000-0x1ffff */
#define GUEST_DID 0x2A                  /* the domain id the guest uses in its vIOMMU */

struct nest_count {
    unsigned pgtt, fl, sl;
};
static void count_nested(void *arg, const struct vtd_walk_step *s)
{
    struct nest_count *c = arg;
    if (s->kind == VTD_STEP_PASID_ENTRY)
        c->pgtt = (unsigned)((s->val[0] & VTD_PE_Q0_PGTT_MASK) >> VTD_PE_Q0_PGTT_SHIFT);
    c->fl += s->kind == VTD_STEP_FL_PTE;
    c->sl += s->kind == VTD_STEP_SL_PTE && s->nested;
}

/* A DMA read with PASID by m's NIC; *hpa: where the GPA is in host memory. */
static struct vtd_result nic_pasid_read(struct mach *m, struct vtd_vm *vm, uint64_t iova, uint64_t gpa, uint64_t *hpa)
{
    struct vtd_result res;
    char buf[8];
    *hpa = 0;
    vtd_vm_gpa_to_hpa(vm, gpa, hpa);
    if (mach_dma_pasid(m, NIC, GUEST_PASID, iova, VTD_R, buf, sizeof buf, &res))
        res.status = VTD_FAULT;
    return res;
}

static void act_nested(struct demo *d, struct mach *m, struct vtd_vm *vm)
{
    char b1[16];
    uint64_t hpa;
    struct mach_gfl g;
    bool ok = mach_gfl_init(&g, vm, GUEST_CR3, GUEST_CR3 + 16 * PAGE) == 0 &&
              mach_gfl_set(&g, GUEST_IOVA, 1, 0x3000 | MACH_GFL_TABLE) == 0;
    say(d, "   The guest's NIC driver maps IOVA 0x%" PRIx64 " -> GPA 0x3000 in IA-32e tables", GUEST_IOVA);
    say(d, "   it writes into its own memory (CR3 = GPA 0x%" PRIx64 ") and hands its vIOMMU.", GUEST_CR3);
    int r = ok ? vtd_vm_nest(vm, NIC, GUEST_PASID, g.cr3, 4) : VTD_EINVAL;
    check(d, r == 0, "the VMM binds them for PASID %u of %s%s%s", GUEST_PASID, bdf(NIC, b1), r ? ": " : "",
          r ? vtd_assign_error(m->as) : "");
    struct vtd_result res = nic_pasid_read(m, vm, GUEST_IOVA + 0x18, 0x3018, &hpa);
    check(d, res.status == VTD_OK && res.pa == hpa && hpa,
          "IOVA 0x%" PRIx64 " with PASID %u -> GPA 0x3018 (guest's tables) -> HPA 0x%" PRIx64 " (VM's)",
          GUEST_IOVA + 0x18, GUEST_PASID, res.pa);
    struct vtd_request req = {.sid = NIC, .at = VTD_AT_UNTRANSLATED, .access = VTD_R, .pasid_valid = true,
                              .pasid = GUEST_PASID, .addr = GUEST_IOVA};
    struct nest_count c = {0};
    vtd_walk(m->u, &req, &res, count_nested, &c);
    check(d, c.pgtt == 3 && c.fl == 4 && c.sl == 5 * 4,
          "the walk: PASID entry PGTT 011b (nested); %u guest entries, %u second-level reads", c.fl, c.sl);
    say(d, "   (the guest's CR3, its 3 table pointers and the page are GPAs: 5 x 4 levels)");
    gap(d);

    say(d, "   The guest remaps that IOVA to GPA 0x4000 by rewriting its PTE.  Until it");
    say(d, "   invalidates, the unit may use what it cached, as on bare metal:");
    uint64_t old = hpa;
    int nd = m->ndiag;
    ok = mach_gfl_set(&g, GUEST_IOVA, 1, 0x4000 | MACH_GFL_TABLE) == 0;
    res = nic_pasid_read(m, vm, GUEST_IOVA + 0x18, 0x4018, &hpa);
    check(d, ok && res.status == VTD_OK && res.pa == old && stale_diags(m, nd) == 1,
          "still HPA 0x%" PRIx64 " (GPA 0x3018): stale, and the model flags it", res.pa);
    say(d, "   The guest queues a PASID-based IOTLB invalidation (type 6, its own DID");
    say(d, "   0x%x) in its vIOMMU; the VMM traps it and forwards the descriptor:", GUEST_DID);
    uint64_t desc[2];
    mach_guest_piotlb(desc, GUEST_DID, GUEST_PASID, true, GUEST_IOVA, 0, false);
    struct vtd_drv_stats s0, s1;
    vtd_drv_stats(m->drv, &s0);
    r = vtd_vm_nest_inval(vm, NIC, desc);
    vtd_drv_stats(m->drv, &s1);
    check(d, r == 0 && s1.iotlb_psi == s0.iotlb_psi + 1,
          "the host issued it with the VM's DID %d (page-selective, PASID %u)", vtd_vm_domain_id(vm), GUEST_PASID);
    res = nic_pasid_read(m, vm, GUEST_IOVA + 0x18, 0x4018, &hpa);
    check(d, res.status == VTD_OK && res.pa == hpa && stale_diags(m, nd) == 1,
          "now HPA 0x%" PRIx64 " (GPA 0x4018)", res.pa);
    gap(d);

    say(d, "   A buggy (or hostile) guest points a table entry at GPA 0x500000, which the");
    say(d, "   VM does not have; the unit walks the second level for that table and stops:");
    ok = mach_gfl_set(&g, GUEST_IOVA + 0x200000, 2, 0x500000 | MACH_GFL_TABLE) == 0;
    res = nic_pasid_read(m, vm, GUEST_IOVA + 0x200000, 0, &hpa);
    int n = mach_poll_faults(m);
    const struct vtd_drv_fault *f = n > 0 && m->nfault <= MACH_LOG ? &m->fault[m->nfault - 1] : NULL;
    check(d, ok && res.status == VTD_FAULT && res.fault_reason == VTD_FR_SM_SL_PERM && f && f->pasid_present &&
                 f->pasid == GUEST_PASID && f->addr == GUEST_IOVA + 0x200000,
          "fault %02Xh (second-level entry R = W = 0), recorded with PASID %u and IOVA 0x%" PRIx64,
          res.fault_reason, GUEST_PASID, GUEST_IOVA + 0x200000);
    r = vtd_vm_unnest(vm, NIC, GUEST_PASID);
    res = nic_pasid_read(m, vm, GUEST_IOVA, 0, &hpa);
    mach_poll_faults(m);
    struct vtd_result plain;
    char buf[8];
    vtd_vm_gpa_to_hpa(vm, 0x3018, &hpa);
    mach_dma(m, NIC, 0x3018, VTD_R, buf, sizeof buf, &plain);
    check(d, r == 0 && res.fault_reason == VTD_FR_SM_PTE_NOT_PRESENT && plain.status == VTD_OK && plain.pa == hpa,
          "unbound: PASID %u faults %02Xh, requests without PASID still reach GPA 0x3018", GUEST_PASID,
          res.fault_reason);
}

/* A second host with a scalable-mode unit (ECAP.NEST) for act 8. */
static void act_nested_host(struct demo *d)
{
    act(d, 8, "A guest with its own IOMMU: nested translation");
    say(d, "   A guest whose OS drives a virtual IOMMU maps its DMA with its own page");
    say(d, "   tables (guest IOVA -> GPA).  A unit in scalable mode with ECAP.NEST walks");
    say(d, "   them nested: every GPA the guest wrote, table pointers and the page, goes");
    say(d, "   through the VM's second level.  So this act builds a second host, with a");
    say(d, "   vtd_config_scalable() unit, one VM and the NIC.");
    static const struct vtd_assign_dev devs[] = {{NIC, true}};
    const struct vtd_assign_topology topo = {.devs = devs, .ndevs = 1};
    struct vtd_config cfg;
    vtd_config_scalable(&cfg);
    struct mach *m = NULL;
    struct vtd_vm *vm = NULL;
    char err[256], b1[16];
    struct vtd_drv_info in = {0};
    int r = mach_create(&m, &cfg, VTD_DRV_CFG_SCALABLE | VTD_DRV_CFG_FORCE_SCALABLE, &topo, err, sizeof err);
    if (!r)
        vtd_drv_info(m->drv, &in);
    if (!check(d, r == 0 && in.scalable && in.nested, "driver in scalable mode, unit with ECAP.NEST%s%s",
               r ? ": " : "", r ? err : ""))
        return;
    r = vtd_vm_create(m->as, &vm);
    if (!r)
        r = vtd_vm_add_memory(vm, 0, 0x100000);
    if (!r)
        r = vtd_vm_assign(vm, (uint16_t[]){NIC}, 1);
    struct vtd_request req = {.sid = NIC, .at = VTD_AT_UNTRANSLATED, .access = VTD_R, .addr = 0x3000};
    struct vtd_result res;
    struct nest_count c = {0};
    if (!r)
        vtd_walk(m->u, &req, &res, count_nested, &c);
    if (check(d, r == 0 && c.pgtt == 2, "a VM with GPA [0x0, 0x100000), %s assigned: RID_PASID entry PGTT 010b%s%s",
              bdf(NIC, b1), r ? ": " : "", r ? vtd_assign_error(m->as) : ""))
        act_nested(d, m, vm);
    mach_destroy(m);
}

static void summary(struct demo *d)
{
    if (d->json) {
        printf("{\"command\":\"demo\",\"checks\":[");
        for (int i = 0; i < d->nchecks; i++) {
            printf("%s{\"check\":\"", i ? "," : "");
            for (const char *p = d->checks[i].what; *p; p++) {
                if (*p == '"' || *p == '\\')
                    putchar('\\');
                if ((unsigned char)*p >= 0x20)
                    putchar(*p);
            }
            printf("\",\"ok\":%s}", d->checks[i].ok ? "true" : "false");
        }
        printf("],\"passed\":%d,\"failed\":%d}\n", d->passed, d->failed);
        return;
    }
    if (d->out) {
        act(d, 9, "Summary");
        say(d, "   - Each VM's memory is scattered host pages; its device saw only its own");
        say(d, "     GPAs, translated by its domain's second-level tables to the right HPAs.");
        say(d, "   - Devices sharing a requester id (a PCIe-to-PCI bridge) form one group;");
        say(d, "     reserved ranges (interrupts, RMRRs) are never guest memory.");
        say(d, "   - Reaching outside its VM, a device is stopped and the unit records who,");
        say(d, "     where and why in its fault recording registers.");
        if (d->m->cfg.cap & VTD_CAP_PI)
            say(d, "   - A device interrupt went straight into the vCPU's PIR (posted).");
        else
            say(d, "   - Without CAP.PI a device interrupt is remapped to the host, which injects it.");
        say(d, "   - A cleared PTE alone leaves the IOTLB's copy in use; unmapping with the");
        say(d, "     invalidation makes the device's next access fault.");
        say(d, "   - A guest's own IOMMU tables run nested over its VM's second level: the");
        say(d, "     guest's invalidations are forwarded, and its GPAs cannot leave the VM.");
        gap(d);
    }
    printf("vtd demo: %d checks, %d passed, %d failed\n", d->passed + d->failed, d->passed, d->failed);
}

int cmd_demo(int argc, char **argv)
{
    struct demo *d = calloc(1, sizeof *d);
    if (!d) {
        fprintf(stderr, "vtd demo: out of memory\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            demo_usage(stdout);
            free(d);
            return 0;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            d->quiet = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            d->json = true;
        } else if (strcmp(argv[i], "--no-pi") == 0) {
            d->no_pi = true;
        } else {
            fprintf(stderr, "vtd demo: unknown argument '%s' (see vtd demo --help)\n", argv[i]);
            free(d);
            return 2;
        }
    }
    d->out = d->quiet || d->json ? NULL : stdout;

    static const struct vtd_assign_dev devs[] = {{NIC, true}, {DISK, true}, {OLD_A, false}, {OLD_B, false}};
    static const struct vtd_assign_bridge bridges[] = {{5, 5, true, false}};
    static const struct vtd_assign_range rmrr[] = {{0x7C000000, 0x100000}};
    const struct vtd_assign_topology topo = {.devs = devs, .ndevs = 4, .bridges = bridges, .nbridges = 1,
                                             .rmrr = rmrr, .nrmrr = 1};
    char err[256];
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    if (d->no_pi)
        cfg.cap &= ~VTD_CAP_PI;
    int r = mach_create(&d->m, &cfg, 0, &topo, err, sizeof err);
    if (r) {
        fprintf(stderr, "vtd demo: cannot build the machine: %s\n", err);
        free(d);
        return 2;
    }
    if (vtd_vm_create(d->m->as, &d->vm1) || vtd_vm_create(d->m->as, &d->vm2)) {
        fprintf(stderr, "vtd demo: cannot create the VMs: %s\n", vtd_assign_error(d->m->as));
        mach_destroy(d->m);
        free(d);
        return 2;
    }
    say(d, "vtd demo: device assignment with VT-d, on two VMs.  Every [ok] below is a");
    say(d, "check of what the text says; the summary counts them.");
    act_machine(d);
    act_vms(d);
    act_assign(d);
    act_dma(d);
    act_isolation(d);
    act_irq(d);
    act_unmap(d);
    act_nested_host(d);
    summary(d);
    int status = d->failed ? 1 : 0;
    mach_destroy(d->m);
    free(d);
    return status;
}
