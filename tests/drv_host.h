/* The driver wired to a model unit exactly as an OS would meet hardware:
 * register callbacks go to vtd_mmio_*, memory callbacks to the sparse
 * memory, pages come from a pool in that memory.  Logs the driver's fault
 * reports and tracks leaks; the unit's diag log lives in the th harness. */
#ifndef VTD_TEST_DRV_HOST_H
#define VTD_TEST_DRV_HOST_H

#include "harness.h"
#include <vtd/drv.h>

#define DH_POOL 0x40000000ULL /* driver pages come from here up */
#define DH_MAX_FREE 4096
#define DH_MAX_FAULT 128
#define DH_MAX_DIRTY 4096

struct dh {
    struct th t;
    struct vtd_drv *drv;
    struct vtd_drv_ops ops;
    struct vtd_drv_config dcfg;
    uint64_t next_pa;
    uint64_t freed[DH_MAX_FREE]; /* order-0 pages to reuse (LIFO) */
    unsigned nfreed;
    long pages_live;
    long bytes_live;
    int fail_page_allocs_after; /* >= 0: page_alloc fails after that many more */
    bool direct;                /* ops.mem_ptr gives pointers (vtd_mem_ptr_rw) */
    uint64_t nptr;              /* pointers it gave */
    int nfault;
    struct vtd_drv_fault fault[DH_MAX_FAULT];
    int nlog;
    uint64_t now;
    /* ECAP.C = 0 checking: 64-byte lines the driver wrote and did not flush */
    bool check_flush;
    unsigned ndirty;
    uint64_t dirty[DH_MAX_DIRTY];
    int dirty_at_mmio; /* MMIO writes that happened with dirty lines */
    uint64_t nflush;
    /* optional hook run from the driver's relax callback */
    void (*on_relax)(struct dh *h);
    int relax_calls;
    /* invalidations the unit carried out: [VTD_NOTICE_CONTEXT/IOTLB][granularity] */
    int notices[3][5];
    uint64_t last_psi_addr, last_psi_size;
    bool last_psi_ih;
    /* device-TLB invalidations delivered to endpoints */
    int ndevtlb;
    uint64_t devtlb_addr, devtlb_size;
    uint16_t devtlb_sid;
    int devtlb_pending; /* > 0: answer VTD_DEVTLB_PENDING that many times */
};

/* Unit with cfg (NULL: default, check_stale on), driver with dcfg (NULL:
 * default); vtd_drv_create must succeed.  Does not enable. */
void dh_init(struct dh *h, const struct vtd_config *cfg, const struct vtd_drv_config *dcfg);
/* Build only the ops (for tests of vtd_drv_create failures). */
void dh_init_unit(struct dh *h, const struct vtd_config *cfg);
/* Destroys the driver (if any), checks that every page and byte was given
 * back and that the unit reported no diagnostic, frees the unit. */
void dh_fini(struct dh *h);
/* cmocka fixtures */
struct dh *dh_new(void **state, const struct vtd_config *cfg, const struct vtd_drv_config *dcfg);
int dh_teardown(void **state);

/* Fails the test when the unit reported any diagnostic (prints the first). */
void dh_no_diag(struct dh *h);
/* DMA through the unit; asserts the call returned 0 */
struct vtd_result dh_dma(struct dh *h, uint16_t sid, uint64_t iova, uint8_t access);

#endif
