/* Test harness: a unit on a sparse memory, programmed through MMIO and memory
 * exactly as a driver would, with logs of the diagnostics and MSIs it emits. */
#ifndef VTD_TEST_HARNESS_H
#define VTD_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include <vtd/defs.h>
#include <vtd/mem.h>
#include <vtd/regs.h>
#include <vtd/vtd.h>

#define TH_MAX_LOG 256

struct th {
    struct vtd_mem *mem;
    struct vtd *u;
    struct vtd_config cfg;
    struct vtd_host host;
    uint64_t next_page; /* bump allocator for tables, from 0x100000 */
    uint64_t rta;       /* root table allocated by th_init */
    uint64_t fro, iro;  /* byte offsets of the fault records and IOTLB registers */
    int ndiag;          /* diags seen (the log keeps the first TH_MAX_LOG) */
    struct { int code; uint16_t sid; uint64_t addr; char msg[160]; } diag[TH_MAX_LOG];
    int nmsi;
    struct { uint64_t addr; uint32_t data; } msi[TH_MAX_LOG];
    /* optional: called for every invalidation notice (vtd_host.inval_notify) */
    void (*on_notice)(struct th *t, const struct vtd_inval_notice *n);
    /* optional: device-TLB invalidations the unit delivers (vtd_host.devtlb_inval) */
    /* returns 0 (completed) or VTD_DEVTLB_PENDING */
    int (*on_devtlb)(struct th *t, uint16_t sid, uint64_t addr, uint64_t size);
    /* the PASID fields of the last device-TLB invalidation delivered */
    uint32_t devtlb_pasid;
    bool devtlb_pasid_valid, devtlb_global;
    int ndevtlb;
    void *user;
};

/* Create memory (whole 52-bit space) and a unit with cfg (NULL: default).
 * Allocates a zeroed root table at t->rta but does not program the unit.
 * Fails the test on error. */
void th_init(struct th *t, const struct vtd_config *cfg);
void th_fini(struct th *t);
/* cmocka fixtures: a heap-allocated, th_init'ed harness stored in *state,
 * and the teardown that frees it (safe when the test failed midway). */
struct th *th_new(void **state, const struct vtd_config *cfg);
int th_teardown(void **state);

uint64_t th_alloc_page(struct th *t); /* a zeroed 4 KiB page's address */
void th_w64(struct th *t, uint64_t pa, uint64_t v);
uint64_t th_r64(struct th *t, uint64_t pa);

uint32_t th_rd32(struct th *t, uint64_t off);
uint64_t th_rd64(struct th *t, uint64_t off);
void th_wr32(struct th *t, uint64_t off, uint32_t v);
void th_wr64(struct th *t, uint64_t off, uint64_t v);

/* RTADDR = t->rta | ttm << 10, then GCMD.SRTP (with the persistent bits
 * shadowed from GSTS); asserts GSTS.RTPS. */
void th_set_root(struct th *t, unsigned ttm);
/* GCMD with TE set / cleared (persistent bits shadowed); asserts GSTS.TES. */
void th_enable_te(struct th *t);
void th_disable_te(struct th *t);
/* th_set_root(t, 0) + th_enable_te(t). */
void th_enable(struct th *t);

/* Legacy context entry for sid: makes the bus's root entry present (allocating
 * its context table) and writes the entry (lo, hi) raw. */
void th_set_ctx(struct th *t, uint16_t sid, uint64_t lo, uint64_t hi);
/* Compose a legacy context entry. */
uint64_t th_ctx_lo(uint64_t slptptr, unsigned tt, bool fpd);
uint64_t th_ctx_hi(unsigned aw, uint16_t did);
/* Address of the context entry for sid (root entry must be present). */
uint64_t th_ctx_addr(struct th *t, uint16_t sid);

/* Map [iova, iova+size) -> pa in the second-level table rooted at `root`
 * (levels 3/4/5), with page size `page` (4 KiB, 2 MiB or 1 GiB) and leaf bits
 * `flags` (VTD_SL_R | VTD_SL_W | ...); allocates intermediate tables with R|W.
 * Returns the address of the (last) leaf entry written. */
uint64_t th_map(struct th *t, uint64_t root, int levels, uint64_t iova, uint64_t pa,
                uint64_t size, uint64_t page, uint64_t flags);
/* Address of the entry for iova at `level` (1 = PTE) or 0 when a table above
 * it is absent. */
uint64_t th_pte_addr(struct th *t, uint64_t root, int levels, uint64_t iova, int level);

/* Register-based invalidation: CCMD global then IOTLB global; asserts both complete. */
void th_inval_all(struct th *t);

/* Translate; asserts the call returned 0. */
struct vtd_result th_dma(struct th *t, uint16_t sid, uint64_t addr, uint8_t access);
struct vtd_result th_req(struct th *t, const struct vtd_request *req);

/* Fault record i: lo and hi qwords read through MMIO. */
void th_frcd(struct th *t, unsigned i, uint64_t *lo, uint64_t *hi);
/* Clear fault record i (write 1 to F). */
void th_frcd_clear(struct th *t, unsigned i);

bool th_has_diag(struct th *t, int code);
void th_clear_logs(struct th *t);

#define SID(b, d, f) ((uint16_t)(((b) << 8) | ((d) << 3) | (f)))

#endif
