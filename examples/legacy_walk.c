/* SPDX-License-Identifier: MIT */
/*
 * legacy_walk: a guided tour of a VT-d remapping unit in legacy mode.
 *
 * The program plays the part of an operating system's IOMMU driver.  It
 * creates a sparse physical memory and one remapping unit, then programs the
 * unit exactly as a driver on real hardware must: by writing translation
 * tables into physical memory and by reading and writing the unit's MMIO
 * registers.  Nothing else is used to set the unit up.
 *
 * Then it lets "devices" issue DMA requests (vtd_translate) and, for each
 * one, prints the table walk step by step (vtd_walk with a step callback):
 * root entry, context entry, every page-table level, and the result or the
 * fault, with the fault reason in words.  It shows the fault recording
 * registers and the fault-event interrupt, and finally the classic driver
 * bug: unmapping a page without invalidating the IOTLB.
 *
 * Every outcome is checked against what the narration says should happen;
 * the program exits non-zero if any of them differs, so it doubles as an
 * end-to-end check of the model.
 *
 * The machine in this story:
 *
 *   device A  00:02.0  domain 1   IOVA 0x10000000 -> PA 0x40000000  4 KiB  read/write
 *                                 IOVA 0x10001000 -> PA 0x40005000  4 KiB  read-only
 *                                 IOVA 0x20000000 -> PA 0x80000000  2 MiB  read/write
 *   device B  01:00.0  domain 2   IOVA 0x10000000 -> PA 0x50000000  4 KiB  read/write
 *   device C  00:04.0  (no context entry: the OS never assigned it a domain)
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/defs.h>
#include <vtd/mem.h>
#include <vtd/regs.h>
#include <vtd/vtd.h>

#define PAGE 4096ULL
#define SZ_2M (2ULL << 20)

#define SID(bus, dev, fn) ((uint16_t)((bus) << 8 | (dev) << 3 | (fn)))
#define DEV_A SID(0, 2, 0)
#define DEV_B SID(1, 0, 0)
#define DEV_C SID(0, 4, 0)
#define DID_A 1
#define DID_B 2

#define IOVA_RW 0x10000000ULL
#define IOVA_RO 0x10001000ULL
#define IOVA_2M 0x20000000ULL
#define PA_RW 0x40000000ULL
#define PA_RO 0x40005000ULL
#define PA_2M 0x80000000ULL
#define PA_B 0x50000000ULL

/* Where the fault event is to be delivered: local APIC 0, vector 0x31. */
#define FE_ADDR 0xFEE00000u
#define FE_DATA 0x0031u

/* ---------------------------------------------------------------------------
 * Fault reasons, as the VT-d specification words them (legacy mode).
 * ------------------------------------------------------------------------- */
static const struct {
    uint8_t code;
    const char *text;
} fault_reasons[] = {
    {0x01, "the root entry for the requester's bus is not present (P=0)"},
    {0x02, "the context entry for the requester is not present (P=0)"},
    {0x03, "the context entry is programmed invalidly (AW, TT or the table SLPTPTR names)"},
    {0x04, "the input address is beyond the domain's address width (AGAW/MGAW)"},
    {0x05, "write to a page without write permission"},
    {0x06, "read from a page without read permission (or the page is not mapped)"},
    {0x07, "error reading a second-level paging entry"},
    {0x08, "error reading the root table"},
    {0x09, "error reading the context table"},
    {0x0A, "reserved bits set in a root entry"},
    {0x0B, "reserved bits set in a context entry"},
    {0x0C, "reserved bits set in a second-level paging entry"},
    {0x0D, "the context's translation type (TT) does not allow this request type"},
    {0x0E, "the address is in the interrupt range (0xFEE00000-0xFEEFFFFF)"},
    {0x30, "the root-table type (RTADDR.TTM) is not supported"},
    {0x31, "a request with PASID reached a legacy-mode unit"},
    {0x32, "a page request reached a legacy-mode unit"},
    {0x33, "the unit is in abort-DMA mode"},
};

static const char *fault_text(uint8_t code)
{
    for (size_t i = 0; i < sizeof(fault_reasons) / sizeof(fault_reasons[0]); i++)
        if (fault_reasons[i].code == code)
            return fault_reasons[i].text;
    return "(a fault reason this example has no words for)";
}

/* ---------------------------------------------------------------------------
 * The platform around the unit: memory, interrupts, diagnostics.
 * ------------------------------------------------------------------------- */
struct sys {
    struct vtd_mem *mem;
    struct vtd *u;
    uint64_t next_page; /* the driver's page allocator for tables */
    uint64_t fro, iro;  /* register offsets read from CAP.FRO / ECAP.IRO */
    unsigned nfr;       /* number of fault recording registers */
    int nmsi;
    uint64_t msi_addr;
    uint32_t msi_data;
    int ndiag;
    int last_diag;
    int failures;
};

static int host_read(void *opaque, uint64_t pa, void *buf, size_t len)
{
    struct sys *s = opaque;
    return vtd_mem_read(s->mem, pa, buf, len);
}

static int host_write(void *opaque, uint64_t pa, const void *buf, size_t len)
{
    struct sys *s = opaque;
    return vtd_mem_write(s->mem, pa, buf, len);
}

static int host_cmpxchg64(void *opaque, uint64_t pa, uint64_t *expected, uint64_t desired)
{
    struct sys *s = opaque;
    return vtd_mem_cmpxchg64(s->mem, pa, expected, desired);
}

static void host_msi(void *opaque, uint64_t addr, uint32_t data)
{
    struct sys *s = opaque;
    s->nmsi++;
    s->msi_addr = addr;
    s->msi_data = data;
    printf("    >>> interrupt from the unit: MSI write of 0x%08" PRIx32 " to 0x%" PRIx64
           " (vector 0x%02x to local APIC %u)\n",
           data, addr, (unsigned)(data & 0xFF), (unsigned)((addr >> 12) & 0xFF));
}

static void host_diag(void *opaque, const struct vtd_diag *d)
{
    struct sys *s = opaque;
    s->ndiag++;
    s->last_diag = d->code;
    printf("    >>> model diagnostic %d: %s\n", d->code, d->msg ? d->msg : "");
}

/* ---------------------------------------------------------------------------
 * Output and checks
 * ------------------------------------------------------------------------- */
static void heading(const char *title)
{
    printf("\n==== %s ", title);
    for (size_t n = strlen(title); n < 70; n++)
        putchar('=');
    printf("\n");
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  ");
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* A check of what the narration promised. */
static void check(struct sys *s, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(struct sys *s, bool ok, const char *fmt, ...)
{
    if (ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("  !!! UNEXPECTED: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    s->failures++;
}

static const char *perm_str(uint8_t perm)
{
    switch (perm & (VTD_R | VTD_W)) {
    case VTD_R | VTD_W: return "read/write";
    case VTD_R: return "read-only";
    case VTD_W: return "write-only";
    default: return "none";
    }
}

static const char *size_str(uint64_t size)
{
    switch (size) {
    case PAGE: return "4 KiB";
    case SZ_2M: return "2 MiB";
    case 1ULL << 30: return "1 GiB";
    default: return "?";
    }
}

static const char *access_str(uint8_t access)
{
    switch (access) {
    case VTD_R: return "read";
    case VTD_W: return "write";
    case VTD_R | VTD_W: return "atomic";
    default: return "?";
    }
}

static void sid_str(uint16_t sid, char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x.%u", sid >> 8, (sid >> 3) & 31, sid & 7);
}

/* ---------------------------------------------------------------------------
 * Physical memory, as the driver sees it
 * ------------------------------------------------------------------------- */
static void wr64(struct sys *s, uint64_t pa, uint64_t v)
{
    if (vtd_mem_write(s->mem, pa, &v, sizeof(v)) != 0) {
        fprintf(stderr, "legacy_walk: memory write at 0x%" PRIx64 " failed\n", pa);
        exit(2);
    }
}

static uint64_t rd64(struct sys *s, uint64_t pa)
{
    uint64_t v = 0;
    if (vtd_mem_read(s->mem, pa, &v, sizeof(v)) != 0) {
        fprintf(stderr, "legacy_walk: memory read at 0x%" PRIx64 " failed\n", pa);
        exit(2);
    }
    return v;
}

/* A zeroed 4 KiB page for a table (a bump allocator is all this needs). */
static uint64_t alloc_page(struct sys *s)
{
    static const uint8_t zero[PAGE];
    uint64_t pa = s->next_page;
    s->next_page += PAGE;
    if (vtd_mem_write(s->mem, pa, zero, sizeof(zero)) != 0) {
        fprintf(stderr, "legacy_walk: cannot allocate a page at 0x%" PRIx64 "\n", pa);
        exit(2);
    }
    return pa;
}

/* ---------------------------------------------------------------------------
 * MMIO, as the driver sees it
 * ------------------------------------------------------------------------- */
static uint32_t rd32r(struct sys *s, uint64_t off) { return (uint32_t)vtd_mmio_read(s->u, off, 4); }
static uint64_t rd64r(struct sys *s, uint64_t off) { return vtd_mmio_read(s->u, off, 8); }
static void wr32r(struct sys *s, uint64_t off, uint32_t v) { vtd_mmio_write(s->u, off, v, 4); }
static void wr64r(struct sys *s, uint64_t off, uint64_t v) { vtd_mmio_write(s->u, off, v, 8); }

/* Poll a register until (reg & mask) == want, as a driver must: the spec lets
 * hardware take its time.  The model completes commands synchronously, so
 * the first read already shows the result. */
static bool poll32(struct sys *s, uint64_t off, uint32_t mask, uint32_t want, const char *what)
{
    for (int i = 0; i < 1000; i++) {
        if ((rd32r(s, off) & mask) == want) {
            say("   ... polled %s: done after %d read%s", what, i + 1, i ? "s" : "");
            return true;
        }
    }
    check(s, false, "%s did not complete", what);
    return false;
}

static bool poll64(struct sys *s, uint64_t off, uint64_t mask, uint64_t want, const char *what)
{
    for (int i = 0; i < 1000; i++) {
        if ((rd64r(s, off) & mask) == want) {
            say("   ... polled %s: done after %d read%s", what, i + 1, i ? "s" : "");
            return true;
        }
    }
    check(s, false, "%s did not complete", what);
    return false;
}

/* GCMD is write-only and reads as 0.  Its persistent enables (TE, QIE, IRE,
 * ...) must be written back with every command, so a driver rebuilds them
 * from GSTS and adds the one command it wants. */
static void gcmd(struct sys *s, uint32_t set, uint32_t clear)
{
    uint32_t cur = rd32r(s, VTD_REG_GSTS) & (uint32_t)VTD_GCMD_PERSISTENT;
    wr32r(s, VTD_REG_GCMD, (cur & ~clear) | set);
}

/* ---------------------------------------------------------------------------
 * Building second-level page tables (4 levels, AW=2: 48-bit IOVAs)
 * ------------------------------------------------------------------------- */
#define LEVELS 4

static unsigned pt_index(uint64_t iova, int level)
{
    return (unsigned)(iova >> (VTD_PAGE_SHIFT + VTD_LEVEL_STRIDE * (level - 1))) & 511;
}

/* Map one page of `size` (4 KiB or 2 MiB) at iova to pa with leaf bits
 * `flags`; intermediate tables are allocated on demand and grant R+W (the
 * effective permission is the AND over all levels, so the leaf decides).
 * Returns the address of the leaf entry. */
static uint64_t map_page(struct sys *s, uint64_t pml4, uint64_t iova, uint64_t pa, uint64_t size,
                         uint64_t flags)
{
    int leaf_level = size == SZ_2M ? 2 : 1;
    uint64_t table = pml4;
    for (int level = LEVELS; level > leaf_level; level--) {
        uint64_t ea = table + pt_index(iova, level) * 8ULL;
        uint64_t e = rd64(s, ea);
        if (!(e & (VTD_SL_R | VTD_SL_W))) {
            e = alloc_page(s) | VTD_SL_R | VTD_SL_W;
            wr64(s, ea, e);
        }
        table = e & VTD_SL_ADDR_MASK;
    }
    uint64_t leaf = table + pt_index(iova, leaf_level) * 8ULL;
    wr64(s, leaf, pa | flags | (leaf_level > 1 ? VTD_SL_PS : 0));
    say("   mapped IOVA 0x%08" PRIx64 " -> PA 0x%08" PRIx64 " (%s, %s): leaf entry at 0x%" PRIx64 " = 0x%016" PRIx64,
        iova, pa, size_str(size), perm_str((uint8_t)(flags & 3)), leaf, rd64(s, leaf));
    return leaf;
}

/* ---------------------------------------------------------------------------
 * Printing a walk (the vtd_walk step callback)
 * ------------------------------------------------------------------------- */
static const char *level_name(int level)
{
    switch (level) {
    case 5: return "PML5E";
    case 4: return "PML4E";
    case 3: return "PDPE ";
    case 2: return "PDE  ";
    case 1: return "PTE  ";
    default: return "?    ";
    }
}

static const char *tt_str(unsigned tt)
{
    switch (tt) {
    case VTD_TT_UNTRANSLATED: return "00: untranslated requests, through second-level tables";
    case VTD_TT_DEVTLB: return "01: also ATS translation requests (device-TLB)";
    case VTD_TT_PASSTHROUGH: return "10: pass-through, no translation";
    default: return "11: reserved";
    }
}

static void print_step(void *arg, const struct vtd_walk_step *st)
{
    (void)arg;
    switch (st->kind) {
    case VTD_STEP_TE_OFF:
        say(" - translation is disabled (GSTS.TES=0): the address passes through untouched");
        return;
    case VTD_STEP_PASSTHROUGH:
        say(" - the context entry says pass-through: no page tables are read");
        return;
    case VTD_STEP_ROOT:
        say(" 1. root entry      bus 0x%02x -> root table 0x%" PRIx64 " + %u*16 = entry at 0x%" PRIx64, st->index,
            st->table, st->index, st->addr);
        if (st->read_error) {
            say("                    (memory there cannot be read)");
            return;
        }
        say("                    raw hi 0x%016" PRIx64 " lo 0x%016" PRIx64, st->val[1], st->val[0]);
        if (st->val[0] & VTD_ROOT_LO_P)
            say("                    P=1, context table (CTP) at 0x%" PRIx64, (uint64_t)(st->val[0] & VTD_ROOT_LO_CTP_MASK));
        else
            say("                    P=0: no context table for this bus");
        return;
    case VTD_STEP_CONTEXT: {
        say(" 2. context entry   devfn 0x%02x (%02x.%u) -> context table 0x%" PRIx64 " + 0x%02x*16 = entry at 0x%" PRIx64,
            st->index, st->index >> 3, st->index & 7, st->table, st->index, st->addr);
        if (st->read_error) {
            say("                    (memory there cannot be read)");
            return;
        }
        uint64_t lo = st->val[0], hi = st->val[1];
        say("                    raw hi 0x%016" PRIx64 " lo 0x%016" PRIx64, hi, lo);
        if (!(lo & VTD_CTX_LO_P)) {
            say("                    P=0 FPD=%u: this device has no translation set up (the other fields are ignored)",
                (unsigned)((lo >> 1) & 1));
            return;
        }
        unsigned aw = (unsigned)(hi & VTD_CTX_HI_AW_MASK);
        say("                    P=%u FPD=%u TT=%s", (unsigned)(lo & 1), (unsigned)((lo >> 1) & 1),
            tt_str((unsigned)VTD_FIELD_GET(lo, 3, 2)));
        say("                    AW=%u (%u-bit, %u-level tables) DID=%u SLPTPTR=0x%" PRIx64, aw, 30 + 9 * aw,
            aw + 2, (unsigned)VTD_FIELD_GET(hi, 23, 8), (uint64_t)(lo & VTD_CTX_LO_SLPTPTR_MASK));
        return;
    }
    case VTD_STEP_SL_PTE: {
        int l = st->level;
        unsigned hi_bit = 12 + 9 * (unsigned)l - 1, lo_bit = 12 + 9 * (unsigned)(l - 1);
        say(" %d. level %d %s   IOVA bits %u:%u = %u -> table 0x%" PRIx64 " + %u*8 = entry at 0x%" PRIx64,
            3 + LEVELS - l, l, level_name(l), hi_bit, lo_bit, st->index, st->table, st->index, st->addr);
        if (st->read_error) {
            say("                    (memory there cannot be read)");
            return;
        }
        uint64_t e = st->val[0];
        bool r = e & VTD_SL_R, w = e & VTD_SL_W, ps = e & VTD_SL_PS;
        bool leaf = l == 1 || (ps && l <= 3);
        char next[96];
        if (!r && !w)
            snprintf(next, sizeof(next), "not present (R=W=0): nothing is mapped here");
        else if (leaf)
            snprintf(next, sizeof(next), "leaf: %s page at 0x%" PRIx64, size_str(1ULL << lo_bit),
                     (uint64_t)(e & VTD_SL_ADDR_MASK & ~((1ULL << lo_bit) - 1)));
        else
            snprintf(next, sizeof(next), "next table at 0x%" PRIx64, (uint64_t)(e & VTD_SL_ADDR_MASK));
        say("                    raw 0x%016" PRIx64 "  R=%d W=%d PS=%d  %s", e, r, w, ps, next);
        return;
    }
    default:
        say(" - (step kind %d)", st->kind);
        return;
    }
}

static void print_result(const char *who, const struct vtd_result *res, bool unit)
{
    if (res->status == VTD_OK)
        say("%s: OK, PA 0x%" PRIx64 ", page %s, permission %s", who, res->pa, size_str(res->page_size),
            perm_str(res->perm));
    else if (res->status == VTD_FAULT)
        say("%s: FAULT %02Xh, %s%s", who, res->fault_reason, fault_text(res->fault_reason),
            !unit ? "" : res->fault_recorded ? " [recorded]" : " [not recorded]");
    else
        say("%s: BLOCKED (dropped without a fault)", who);
}

/* One DMA: print the walk memory implies (vtd_walk, no caches), then let
 * the unit process the request for real (vtd_translate: caches, fault
 * recording, interrupts). */
static void dma(struct sys *s, uint16_t sid, uint64_t iova, uint8_t access, struct vtd_result *walk,
                struct vtd_result *unit)
{
    char dev[16];
    sid_str(sid, dev, sizeof(dev));
    struct vtd_request req;
    memset(&req, 0, sizeof(req));
    req.sid = sid;
    req.at = VTD_AT_UNTRANSLATED;
    req.access = access;
    req.addr = iova;
    say("DMA %s from %s (source-id 0x%04x) to IOVA 0x%" PRIx64, access_str(access), dev, sid, iova);
    say("The walk through the tables in memory (vtd_walk):");
    memset(walk, 0, sizeof(*walk));
    int rc = vtd_walk(s->u, &req, walk, print_step, NULL);
    check(s, rc == 0, "vtd_walk returned %d", rc);
    print_result("   walk result", walk, false);
    say("The unit processes the request (vtd_translate):");
    memset(unit, 0, sizeof(*unit));
    rc = vtd_translate(s->u, &req, unit);
    check(s, rc == 0, "vtd_translate returned %d", rc);
    print_result("   the unit", unit, true);
}

static void expect_ok(struct sys *s, const struct vtd_result *r, uint64_t pa, uint64_t size, uint8_t perm)
{
    check(s, r->status == VTD_OK && r->pa == pa && r->page_size == size && r->perm == perm,
          "expected OK pa 0x%" PRIx64 " size 0x%" PRIx64 " perm %u, got status %d fr %02x pa 0x%" PRIx64
          " size 0x%" PRIx64 " perm %u",
          pa, size, perm, r->status, r->fault_reason, r->pa, r->page_size, r->perm);
}

static void expect_fault(struct sys *s, const struct vtd_result *r, uint8_t fr, bool recorded)
{
    check(s, r->status == VTD_FAULT && r->fault_reason == fr && r->fault_recorded == recorded,
          "expected fault %02Xh (%s), got status %d fr %02Xh recorded %d", fr,
          recorded ? "recorded" : "not recorded", r->status, r->fault_reason, r->fault_recorded);
}

/* ---------------------------------------------------------------------------
 * Fault recording registers
 * ------------------------------------------------------------------------- */
static unsigned show_fault_registers(struct sys *s)
{
    uint32_t fsts = rd32r(s, VTD_REG_FSTS);
    uint32_t fectl = rd32r(s, VTD_REG_FECTL);
    say("FSTS  (0x%03x) = 0x%08" PRIx32 ": PFO=%u (overflow) PPF=%u (primary fault pending) FRI=%u (first record to look at)",
        VTD_REG_FSTS, fsts, (unsigned)(fsts & VTD_FSTS_PFO), (unsigned)((fsts & VTD_FSTS_PPF) >> 1),
        (unsigned)VTD_FIELD_GET(fsts, 15, 8));
    say("FECTL (0x%03x) = 0x%08" PRIx32 ": IM=%u (interrupt mask) IP=%u (interrupt pending)", VTD_REG_FECTL, fectl,
        (unsigned)(fectl >> 31), (unsigned)((fectl >> 30) & 1));
    unsigned pending = 0;
    for (unsigned i = 0; i < s->nfr; i++) {
        uint64_t off = s->fro + (uint64_t)i * VTD_FRCD_SIZE;
        uint64_t lo = rd64r(s, off), hi = rd64r(s, off + 8);
        if (!(hi & VTD_FRCD_HI_F)) {
            say("FRCD%u (0x%03" PRIx64 ") F=0: empty", i, off);
            continue;
        }
        pending++;
        char dev[16];
        sid_str((uint16_t)(hi & VTD_FRCD_HI_SID_MASK), dev, sizeof(dev));
        bool t1 = hi & VTD_FRCD_HI_T1, t2 = hi & VTD_FRCD_HI_T2;
        uint8_t fr = (uint8_t)VTD_FIELD_GET(hi, 39, 32);
        say("FRCD%u (0x%03" PRIx64 ") raw hi 0x%016" PRIx64 " lo 0x%016" PRIx64, i, off, hi, lo);
        say("       F=1 SID=%s FI=0x%" PRIx64 " type=%s (T1=%d T2=%d) AT=%u FR=%02Xh: %s", dev,
            (uint64_t)(lo & VTD_FRCD_LO_FI_MASK), !t1 ? "write" : t2 ? "atomic" : "read", t1, t2,
            (unsigned)VTD_FIELD_GET(hi, 61, 60), fr, fault_text(fr));
    }
    return pending;
}

/* The fault handler's last step: write 1 to each record's F bit. */
static void clear_fault_records(struct sys *s)
{
    for (unsigned i = 0; i < s->nfr; i++) {
        uint64_t off = s->fro + (uint64_t)i * VTD_FRCD_SIZE + 8;
        if (rd64r(s, off) & VTD_FRCD_HI_F)
            wr64r(s, off, VTD_FRCD_HI_F);
    }
    wr32r(s, VTD_REG_FSTS, (uint32_t)VTD_FSTS_PFO); /* PFO is write-1-to-clear too */
}

/* ---------------------------------------------------------------------------
 * The story
 * ------------------------------------------------------------------------- */
int main(void)
{
    struct sys sys;
    struct sys *s = &sys;
    memset(s, 0, sizeof(*s));
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("libvtd legacy_walk: an IOMMU driver's first day, step by step.\n");

    heading("The platform");
    int rc = vtd_mem_create(0, &s->mem);
    if (rc) {
        fprintf(stderr, "vtd_mem_create: %s\n", vtd_strerror(rc));
        return 2;
    }
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    struct vtd_host host;
    memset(&host, 0, sizeof(host));
    host.opaque = s;
    host.mem_read = host_read;
    host.mem_write = host_write;
    host.mem_cmpxchg64 = host_cmpxchg64;
    host.msi = host_msi;
    host.diag = host_diag;
    rc = vtd_create(&cfg, &host, &s->u);
    if (rc) {
        fprintf(stderr, "vtd_create: %s\n", vtd_strerror(rc));
        vtd_mem_destroy(s->mem);
        return 2;
    }
    say("A sparse 2^52-byte physical memory and one remapping unit (one DRHD) with");
    say("the default configuration.  From here on the program is the OS driver: it");
    say("only writes memory and reads/writes the unit's registers.");

    heading("1. What the hardware can do (VER, CAP, ECAP)");
    uint32_t ver = rd32r(s, VTD_REG_VER);
    uint64_t cap = rd64r(s, VTD_REG_CAP), ecap = rd64r(s, VTD_REG_ECAP);
    s->fro = VTD_FIELD_GET(cap, 33, 24) * 16;
    s->nfr = (unsigned)VTD_FIELD_GET(cap, 47, 40) + 1;
    s->iro = VTD_FIELD_GET(ecap, 17, 8) * 16;
    unsigned sagaw = (unsigned)VTD_FIELD_GET(cap, 12, 8);
    say("VER  = 0x%08" PRIx32 ": architecture version %u.%u", ver, VTD_VER_MAX(ver), VTD_VER_MIN(ver));
    say("CAP  = 0x%016" PRIx64, cap);
    say("       SAGAW=0x%x (%s%s%s) MGAW=%u bits ND=%u (%u domain ids)", sagaw, sagaw & 2 ? "3-level " : "",
        sagaw & 4 ? "4-level " : "", sagaw & 8 ? "5-level" : "", (unsigned)VTD_FIELD_GET(cap, 21, 16) + 1,
        (unsigned)(cap & 7), 1u << (4 + 2 * (unsigned)(cap & 7)));
    say("       SLLPS: 2 MiB pages %s, 1 GiB pages %s; PSI (page-selective invalidation) %s; RWBF %s; CM %s",
        cap & VTD_CAP_SLLPS_2M ? "yes" : "no", cap & VTD_CAP_SLLPS_1G ? "yes" : "no", cap & VTD_CAP_PSI ? "yes" : "no",
        cap & VTD_CAP_RWBF ? "yes" : "no", cap & VTD_CAP_CM ? "yes" : "no");
    say("       FRO=0x%" PRIx64 " -> %u fault recording registers at 0x%" PRIx64, s->fro / 16, s->nfr, s->fro);
    say("ECAP = 0x%016" PRIx64, ecap);
    say("       IRO=0x%" PRIx64 " -> IVA at 0x%" PRIx64 ", IOTLB register at 0x%" PRIx64 "; C (coherent walks) %s; PT %s",
        s->iro / 16, s->iro, s->iro + VTD_REG_IOTLB_OFF, ecap & VTD_ECAP_C ? "yes" : "no",
        ecap & VTD_ECAP_PT ? "yes" : "no");
    check(s, (sagaw & 4) != 0, "the unit does not support 4-level tables (SAGAW bit 2)");
    check(s, (cap & VTD_CAP_SLLPS_2M) != 0, "the unit does not support 2 MiB pages");
    check(s, (cap & VTD_CAP_PSI) != 0, "the unit does not support page-selective invalidation");
    check(s, VTD_VER_MAX(ver) < 6, "VER >= 6 units have no register-based invalidation");
    if (s->failures)
        goto out;
    if (ecap & VTD_ECAP_C)
        say("ECAP.C=1: the unit snoops its table reads, so no cache flushes are needed after writing tables.");
    if (!(cap & VTD_CAP_RWBF))
        say("CAP.RWBF=0: no write-buffer flush (GCMD.WBF) is needed either.");

    heading("2. Translation tables in memory");
    s->next_page = 0x100000;
    uint64_t rta = alloc_page(s);
    uint64_t ctx_bus0 = alloc_page(s), ctx_bus1 = alloc_page(s);
    say("Root table at 0x%" PRIx64 ": 256 root entries of 16 bytes, one per PCI bus.", rta);
    wr64(s, rta + 0 * VTD_ROOT_SIZE, ctx_bus0 | VTD_ROOT_LO_P);
    wr64(s, rta + 1 * VTD_ROOT_SIZE, ctx_bus1 | VTD_ROOT_LO_P);
    say("   root entry for bus 0 -> context table 0x%" PRIx64 " (P=1)", ctx_bus0);
    say("   root entry for bus 1 -> context table 0x%" PRIx64 " (P=1)", ctx_bus1);

    uint64_t pml4_a = alloc_page(s), pml4_b = alloc_page(s);
    say("Domain %u (device A 00:02.0): 4-level second-level tables, PML4 at 0x%" PRIx64, DID_A, pml4_a);
    /* keep the leaf's address: step 12 unmaps this page */
    uint64_t leaf_rw = map_page(s, pml4_a, IOVA_RW, PA_RW, PAGE, VTD_SL_R | VTD_SL_W);
    map_page(s, pml4_a, IOVA_RO, PA_RO, PAGE, VTD_SL_R);
    map_page(s, pml4_a, IOVA_2M, PA_2M, SZ_2M, VTD_SL_R | VTD_SL_W);
    say("Domain %u (device B 01:00.0): its own tables, PML4 at 0x%" PRIx64 " (same IOVA, other PA)", DID_B, pml4_b);
    map_page(s, pml4_b, IOVA_RW, PA_B, PAGE, VTD_SL_R | VTD_SL_W);

    say("Context entries (16 bytes, one per device/function; high qword first, since the");
    say("low qword holds P):");
    uint64_t ce_a = ctx_bus0 + (DEV_A & 0xFF) * VTD_CTX_SIZE, ce_b = ctx_bus1 + (DEV_B & 0xFF) * VTD_CTX_SIZE;
    wr64(s, ce_a + 8, (uint64_t)VTD_AW_48 | (uint64_t)DID_A << VTD_CTX_HI_DID_SHIFT);
    wr64(s, ce_a, pml4_a | (uint64_t)VTD_TT_UNTRANSLATED << VTD_CTX_LO_TT_SHIFT | VTD_CTX_LO_P);
    wr64(s, ce_b + 8, (uint64_t)VTD_AW_48 | (uint64_t)DID_B << VTD_CTX_HI_DID_SHIFT);
    wr64(s, ce_b, pml4_b | (uint64_t)VTD_TT_UNTRANSLATED << VTD_CTX_LO_TT_SHIFT | VTD_CTX_LO_P);
    say("   00:02.0 at 0x%" PRIx64 ": hi 0x%016" PRIx64 " lo 0x%016" PRIx64 " (DID %u, AW=2, TT=00)", ce_a,
        rd64(s, ce_a + 8), rd64(s, ce_a), DID_A);
    say("   01:00.0 at 0x%" PRIx64 ": hi 0x%016" PRIx64 " lo 0x%016" PRIx64 " (DID %u, AW=2, TT=00)", ce_b,
        rd64(s, ce_b + 8), rd64(s, ce_b), DID_B);
    say("   00:04.0 (device C) gets no context entry: its entry stays all zeros.");

    heading("3. Programming the unit through its registers");
    say("Fault event interrupt: FEDATA=0x%04x, FEADDR=0x%08x, FEUADDR=0, then FECTL.IM=0 (unmask).", FE_DATA,
        FE_ADDR);
    wr32r(s, VTD_REG_FEDATA, FE_DATA);
    wr32r(s, VTD_REG_FEADDR, FE_ADDR);
    wr32r(s, VTD_REG_FEUADDR, 0);
    wr32r(s, VTD_REG_FECTL, 0);
    check(s, (rd32r(s, VTD_REG_FECTL) & VTD_ECTL_IM) == 0, "FECTL.IM did not clear");

    say("RTADDR (0x%03x) <- 0x%" PRIx64 " (root table address, TTM=00: legacy mode)", VTD_REG_RTADDR, rta);
    wr64r(s, VTD_REG_RTADDR, rta | (uint64_t)VTD_TTM_LEGACY << VTD_RTADDR_TTM_SHIFT);
    say("GCMD  (0x%03x) <- SRTP (set root table pointer): the unit latches RTADDR", VTD_REG_GCMD);
    gcmd(s, (uint32_t)VTD_GCMD_SRTP, 0);
    poll32(s, VTD_REG_GSTS, (uint32_t)VTD_GSTS_RTPS, (uint32_t)VTD_GSTS_RTPS, "GSTS.RTPS");

    say("CCMD  (0x%03x) <- ICC | CIRG=01 (global context-cache invalidation)", VTD_REG_CCMD);
    wr64r(s, VTD_REG_CCMD, VTD_CCMD_ICC | (uint64_t)VTD_CC_GLOBAL << VTD_CCMD_CIRG_SHIFT);
    poll64(s, VTD_REG_CCMD, VTD_CCMD_ICC, 0, "CCMD.ICC");
    uint64_t ccmd = rd64r(s, VTD_REG_CCMD);
    say("   CCMD reads 0x%016" PRIx64 ": CAIG=%u (the granularity actually performed: global)", ccmd,
        (unsigned)VTD_FIELD_GET(ccmd, 60, 59));
    check(s, VTD_FIELD_GET(ccmd, 60, 59) == VTD_CC_GLOBAL, "CCMD.CAIG is not 01 (global)");

    uint64_t iotlb_reg = s->iro + VTD_REG_IOTLB_OFF, iva_reg = s->iro + VTD_REG_IVA_OFF;
    say("IOTLB (0x%03" PRIx64 ") <- IVT | IIRG=01 (global IOTLB invalidation) | DR | DW (drain reads/writes)",
        iotlb_reg);
    wr64r(s, iotlb_reg,
          VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_GLOBAL << VTD_IOTLB_IIRG_SHIFT | VTD_IOTLB_DR | VTD_IOTLB_DW);
    poll64(s, iotlb_reg, VTD_IOTLB_IVT, 0, "IOTLB.IVT");
    uint64_t iotlb = rd64r(s, iotlb_reg);
    say("   IOTLB reads 0x%016" PRIx64 ": IAIG=%u (global)", iotlb, (unsigned)VTD_FIELD_GET(iotlb, 58, 57));
    check(s, VTD_FIELD_GET(iotlb, 58, 57) == VTD_IOTLB_GLOBAL, "IOTLB.IAIG is not 01 (global)");

    say("GCMD  (0x%03x) <- TE (translation enable)", VTD_REG_GCMD);
    gcmd(s, (uint32_t)VTD_GCMD_TE, 0);
    poll32(s, VTD_REG_GSTS, (uint32_t)VTD_GSTS_TES, (uint32_t)VTD_GSTS_TES, "GSTS.TES");
    say("GSTS  (0x%03x) = 0x%08" PRIx32 ": TES=1 RTPS=1.  DMA remapping is on.", VTD_REG_GSTS,
        rd32r(s, VTD_REG_GSTS));
    check(s, s->ndiag == 0, "the model reported %d programming error(s) during setup", s->ndiag);
    check(s, s->nmsi == 0, "an interrupt arrived during setup");

    struct vtd_result w, r;

    heading("4. A 4 KiB translation");
    dma(s, DEV_A, IOVA_RW + 0x234, VTD_R, &w, &r);
    expect_ok(s, &w, PA_RW + 0x234, PAGE, VTD_R | VTD_W);
    expect_ok(s, &r, PA_RW + 0x234, PAGE, VTD_R | VTD_W);
    say("The unit walked the tables and cached the result in its IOTLB (tagged DID %u).", DID_A);

    heading("5. A 2 MiB page");
    dma(s, DEV_A, IOVA_2M + 0x12345, VTD_W, &w, &r);
    expect_ok(s, &w, PA_2M + 0x12345, SZ_2M, VTD_R | VTD_W);
    expect_ok(s, &r, PA_2M + 0x12345, SZ_2M, VTD_R | VTD_W);
    say("The PDE has PS=1: the walk stops at level 2 and IOVA bits 20:0 are the offset");
    say("into the 2 MiB page.  One IOTLB entry now covers all 512 of its 4 KiB pages.");

    heading("6. Same IOVA, other domain");
    dma(s, DEV_B, IOVA_RW + 0x10, VTD_W, &w, &r);
    expect_ok(s, &w, PA_B + 0x10, PAGE, VTD_R | VTD_W);
    expect_ok(s, &r, PA_B + 0x10, PAGE, VTD_R | VTD_W);
    say("Device B's context entry names domain %u's tables, so the same IOVA reaches", DID_B);
    say("different memory: this is the isolation an IOMMU gives.");

    heading("7. A write to a read-only page (fault 5h)");
    dma(s, DEV_A, IOVA_RO + 0x80, VTD_W, &w, &r);
    expect_fault(s, &w, VTD_FR_NO_WRITE, false);
    expect_fault(s, &r, VTD_FR_NO_WRITE, true);
    check(s, s->nmsi == 1, "expected one fault-event interrupt, got %d", s->nmsi);
    say("The unit blocked the write, wrote fault record 0 and, since no fault was");
    say("pending before, sent the fault-event interrupt programmed in FEDATA/FEADDR.");

    heading("8. A device reaching a page its domain does not map (fault 6h)");
    dma(s, DEV_B, IOVA_2M, VTD_R, &w, &r);
    expect_fault(s, &w, VTD_FR_NO_READ, false);
    expect_fault(s, &r, VTD_FR_NO_READ, true);
    say("IOVA 0x%llx is device A's 2 MiB page, but domain %u's PDE for it is empty.", IOVA_2M, DID_B);
    say("A not-present entry is a missing permission: 6h for a read, 5h for a write.");
    check(s, s->nmsi == 1, "a second interrupt arrived (FSTS.PPF was already set), %d total", s->nmsi);
    say("No new interrupt: one is already pending (FSTS.PPF=1) for software to service.");

    heading("9. A device with no context entry (fault 2h)");
    dma(s, DEV_C, IOVA_RW, VTD_R, &w, &r);
    expect_fault(s, &w, VTD_FR_CTX_NOT_PRESENT, false);
    expect_fault(s, &r, VTD_FR_CTX_NOT_PRESENT, true);

    heading("10. The same device faulting again");
    dma(s, DEV_A, IOVA_RO, VTD_W, &w, &r);
    expect_fault(s, &w, VTD_FR_NO_WRITE, false);
    expect_fault(s, &r, VTD_FR_NO_WRITE, false);
    say("The DMA is blocked but no new record is written: device A already has a pending");
    say("record, and this unit collapses faults from one source-id until software clears");
    say("that record (docs/model.md, \"Fault recording\").");

    heading("11. The fault handler reads the fault registers");
    unsigned pending = show_fault_registers(s);
    uint32_t fsts = rd32r(s, VTD_REG_FSTS);
    check(s, pending == 3, "expected 3 pending fault records, found %u", pending);
    check(s, (fsts & VTD_FSTS_PPF) && !(fsts & VTD_FSTS_PFO) && VTD_FIELD_GET(fsts, 15, 8) == 0,
          "expected FSTS PPF=1 PFO=0 FRI=0, got 0x%08" PRIx32, fsts);
    {
        static const struct {
            uint16_t sid;
            uint8_t fr;
            uint64_t fi;
            bool t1;
        } want[3] = {{DEV_A, VTD_FR_NO_WRITE, IOVA_RO, false},
                     {DEV_B, VTD_FR_NO_READ, IOVA_2M, true},
                     {DEV_C, VTD_FR_CTX_NOT_PRESENT, IOVA_RW, true}};
        for (unsigned i = 0; i < 3; i++) {
            uint64_t lo = rd64r(s, s->fro + i * VTD_FRCD_SIZE), hi = rd64r(s, s->fro + i * VTD_FRCD_SIZE + 8);
            check(s,
                  (hi & VTD_FRCD_HI_F) && (uint16_t)(hi & VTD_FRCD_HI_SID_MASK) == want[i].sid &&
                      VTD_FIELD_GET(hi, 39, 32) == want[i].fr && (lo & VTD_FRCD_LO_FI_MASK) == want[i].fi &&
                      ((hi & VTD_FRCD_HI_T1) != 0) == want[i].t1 && !(hi & VTD_FRCD_HI_T2),
                  "fault record %u: hi 0x%016" PRIx64 " lo 0x%016" PRIx64 " is not SID 0x%04x FR %02Xh FI 0x%" PRIx64,
                  i, hi, lo, want[i].sid, want[i].fr, want[i].fi);
        }
    }
    say("The interrupt the unit sent: %d MSI, address 0x%" PRIx64 " data 0x%08" PRIx32 ".", s->nmsi, s->msi_addr,
        s->msi_data);
    check(s, s->nmsi == 1 && s->msi_addr == FE_ADDR && s->msi_data == FE_DATA,
          "expected one MSI to 0x%x data 0x%x", FE_ADDR, FE_DATA);
    say("The handler clears each record by writing 1 to its F bit (bit 127):");
    clear_fault_records(s);
    fsts = rd32r(s, VTD_REG_FSTS);
    say("FSTS = 0x%08" PRIx32 ": nothing pending any more.", fsts);
    check(s, (fsts & (VTD_FSTS_PPF | VTD_FSTS_PFO)) == 0, "FSTS still shows faults: 0x%08" PRIx32, fsts);

    heading("12. Unmapping a page, and forgetting the IOTLB");
    say("The driver unmaps IOVA 0x%llx of domain %u: it clears the PTE at 0x%" PRIx64 ".", IOVA_RW, DID_A, leaf_rw);
    wr64(s, leaf_rw, 0);
    say("But the IOTLB still holds the translation the unit cached in step 4, and");
    say("hardware does not watch memory.  The device reads the page again:");
    int diags_before = s->ndiag;
    dma(s, DEV_A, IOVA_RW + 0x234, VTD_R, &w, &r);
    expect_fault(s, &w, VTD_FR_NO_READ, false);
    expect_ok(s, &r, PA_RW + 0x234, PAGE, VTD_R | VTD_W);
    check(s, s->ndiag == diags_before + 1 && s->last_diag == VTD_DIAG_STALE_IOTLB,
          "expected one VTD_DIAG_STALE_IOTLB diagnostic, got %d new (last code %d)", s->ndiag - diags_before,
          s->last_diag);
    say("The tables say 6h, yet the DMA went through to the old page: on real hardware");
    say("the device could still write memory the OS may have given to someone else.");
    say("The model's stale-use diagnostic (%d) caught it.", VTD_DIAG_STALE_IOTLB);

    heading("13. Page-selective IOTLB invalidation");
    say("IVA   (0x%03" PRIx64 ") <- 0x%llx (ADDR) | AM=0 (one 4 KiB page) | IH=0 (also drop cached upper levels)",
        iva_reg, IOVA_RW);
    wr64r(s, iva_reg, IOVA_RW);
    say("IOTLB (0x%03" PRIx64 ") <- IVT | IIRG=11 (page-selective) | DID=%u | DR | DW", iotlb_reg, DID_A);
    wr64r(s, iotlb_reg,
          VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_PAGE << VTD_IOTLB_IIRG_SHIFT |
              (uint64_t)DID_A << VTD_IOTLB_DID_SHIFT | VTD_IOTLB_DR | VTD_IOTLB_DW);
    poll64(s, iotlb_reg, VTD_IOTLB_IVT, 0, "IOTLB.IVT");
    iotlb = rd64r(s, iotlb_reg);
    say("   IOTLB reads 0x%016" PRIx64 ": IAIG=%u (page-selective performed)", iotlb,
        (unsigned)VTD_FIELD_GET(iotlb, 58, 57));
    check(s, VTD_FIELD_GET(iotlb, 58, 57) == VTD_IOTLB_PAGE, "IOTLB.IAIG is not 11 (page-selective)");
    int msi_before = s->nmsi;
    diags_before = s->ndiag;
    dma(s, DEV_A, IOVA_RW + 0x234, VTD_R, &w, &r);
    expect_fault(s, &w, VTD_FR_NO_READ, false);
    expect_fault(s, &r, VTD_FR_NO_READ, true);
    check(s, s->ndiag == diags_before, "unexpected diagnostic after the invalidation");
    check(s, s->nmsi == msi_before + 1, "expected a new fault-event interrupt (nothing was pending)");
    say("Now the unit agrees with memory.  The fault went to the next record, and since");
    say("nothing was pending, a new interrupt was sent:");
    pending = show_fault_registers(s);
    fsts = rd32r(s, VTD_REG_FSTS);
    check(s, pending == 1 && VTD_FIELD_GET(fsts, 15, 8) == 3,
          "expected one pending record, at index 3 (FRI=3); found %u, FSTS 0x%08" PRIx32, pending, fsts);
    say("Device A's other mappings were not touched: the 2 MiB page still translates:");
    dma(s, DEV_A, IOVA_2M + 0x1FF000, VTD_R, &w, &r);
    expect_ok(s, &w, PA_2M + 0x1FF000, SZ_2M, VTD_R | VTD_W);
    expect_ok(s, &r, PA_2M + 0x1FF000, SZ_2M, VTD_R | VTD_W);

out:
    heading("Summary");
    struct vtd_stats st;
    vtd_get_stats(s->u, &st);
    say("unit counters: %" PRIu64 " translations, IOTLB %" PRIu64 " hits / %" PRIu64 " misses, %" PRIu64
        " walks, %" PRIu64 " faults (%" PRIu64 " recorded), %" PRIu64 " invalidations, %" PRIu64 " diagnostics",
        st.translations, st.iotlb_hits, st.iotlb_misses, st.walks, st.faults, st.faults_recorded, st.invalidations,
        st.diags);
    if (s->failures)
        say("%d outcome(s) differed from the narration: FAILED", s->failures);
    else
        say("Every outcome matched the narration.");
    vtd_destroy(s->u);
    vtd_mem_destroy(s->mem);
    return s->failures ? 1 : 0;
}
