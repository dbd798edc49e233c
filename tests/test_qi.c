/* SPDX-License-Identifier: MIT */
/*
 * Queued invalidation (src/hw/qi.c), driven only through MMIO and memory as
 * a driver would: IQA/IQT/GCMD.QIE, descriptors written to the queue in
 * memory, and their architectural effects (caches, status writes,
 * completion events, device-TLB invalidations, IQE).
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 4096ULL
#define DID_A 1
#define DID_B 2
#define DEV_A SID(0, 2, 0)
#define DEV_B SID(0, 3, 0)

struct devtlb_call {
    uint16_t sid, pfsid;
    uint64_t addr, size;
    uint32_t pasid;
    bool pasid_valid, global;
};

/* struct th first: the unit's opaque (t) is also a struct qt. */
struct qt {
    struct th t;
    uint64_t iq;      /* queue base */
    unsigned qs;      /* IQA.QS */
    unsigned width;   /* descriptor bytes */
    uint32_t tail;    /* next free entry (index) */
    int ndev;
    struct devtlb_call dev[64];
};

static int devtlb_cb(void *opaque, uint16_t sid, uint16_t pfsid, uint64_t addr, uint64_t size, uint32_t pasid,
                      bool pasid_valid, bool global)
{
    struct qt *q = opaque;
    if (q->ndev < 64)
        q->dev[q->ndev] = (struct devtlb_call){sid, pfsid, addr, size, pasid, pasid_valid, global};
    q->ndev++;
    return 0;
}

static uint32_t gcmd_base(struct th *t)
{
    return th_rd32(t, VTD_REG_GSTS) & (uint32_t)VTD_GCMD_PERSISTENT;
}

/* A unit (cfg NULL: default) with the device-TLB callback installed. */
static struct qt *qt_new(const struct vtd_config *cfg)
{
    struct qt *q = calloc(1, sizeof(*q));
    assert_non_null(q);
    th_init(&q->t, cfg);
    /* recreate the unit so that it sees devtlb_inval (memory is kept) */
    vtd_destroy(q->t.u);
    q->t.host.devtlb_inval = devtlb_cb;
    assert_int_equal(vtd_create(&q->t.cfg, &q->t.host, &q->t.u), 0);
    return q;
}

static void qt_free(struct qt *q)
{
    th_fini(&q->t);
    free(q);
}

static uint32_t qt_entries(const struct qt *q)
{
    return (uint32_t)((PAGE << q->qs) / q->width);
}

/* Program IQA (IQT = 0 first, as Linux does) and enable QI. */
static void qi_enable_dw(struct qt *q, unsigned qs, bool dw)
{
    struct th *t = &q->t;
    q->qs = qs;
    q->width = dw ? 32 : 16;
    q->iq = th_alloc_page(t);
    for (unsigned i = 1; i < (1u << qs); i++)
        th_alloc_page(t); /* contiguous: the bump allocator */
    q->tail = 0;
    th_wr64(t, VTD_REG_IQT, 0);
    th_wr64(t, VTD_REG_IQA, q->iq | qs | (dw ? VTD_IQA_DW : 0));
    th_wr32(t, VTD_REG_GCMD, gcmd_base(t) | (uint32_t)VTD_GCMD_QIE);
    assert_true(th_rd32(t, VTD_REG_GSTS) & VTD_GSTS_QIES);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 0);
}

static void qi_enable(struct qt *q, unsigned qs)
{
    qi_enable_dw(q, qs, false);
}

/* Write a descriptor at the tail without telling the unit. */
static void qi_put(struct qt *q, uint64_t lo, uint64_t hi)
{
    uint64_t a = q->iq + (uint64_t)q->tail * q->width;
    th_w64(&q->t, a, lo);
    th_w64(&q->t, a + 8, hi);
    if (q->width == 32) {
        th_w64(&q->t, a + 16, 0);
        th_w64(&q->t, a + 24, 0);
    }
    q->tail = (q->tail + 1) % qt_entries(q);
}

static void qi_kick(struct qt *q)
{
    th_wr64(&q->t, VTD_REG_IQT, (uint64_t)q->tail * q->width);
}

static void qi_submit(struct qt *q, uint64_t lo, uint64_t hi)
{
    qi_put(q, lo, hi);
    qi_kick(q);
}

static uint64_t iqh_index(struct qt *q)
{
    return th_rd64(&q->t, VTD_REG_IQH) / q->width;
}

/* ---- descriptor builders ---- */

static uint64_t type_bits(unsigned type)
{
    return (uint64_t)(type & 0xF) | (uint64_t)(type >> 4) << 9;
}

static uint64_t cc_lo(unsigned g, uint16_t did, uint16_t sid, unsigned fm)
{
    return type_bits(VTD_DESC_CC) | (uint64_t)g << VTD_DESC_G_SHIFT | (uint64_t)did << VTD_DESC_DID_SHIFT |
           (uint64_t)sid << VTD_DESC_CC_SID_SHIFT | (uint64_t)fm << VTD_DESC_CC_FM_SHIFT;
}

static uint64_t iotlb_lo(unsigned g, uint16_t did)
{
    return type_bits(VTD_DESC_IOTLB) | (uint64_t)g << VTD_DESC_G_SHIFT | (uint64_t)did << VTD_DESC_DID_SHIFT |
           VTD_DESC_IOTLB_DR | VTD_DESC_IOTLB_DW;
}

static uint64_t iotlb_hi(uint64_t addr, unsigned am, bool ih)
{
    return addr | (ih ? VTD_DESC_IOTLB_IH : 0) | am;
}

static uint64_t wait_lo(bool sw, bool intf, uint32_t data)
{
    return type_bits(VTD_DESC_WAIT) | (sw ? VTD_DESC_WAIT_SW : 0) | (intf ? VTD_DESC_WAIT_IF : 0) |
           (uint64_t)data << VTD_DESC_WAIT_STDATA_SHIFT;
}

static uint64_t devtlb_lo(uint16_t sid, uint16_t pfsid, unsigned mip)
{
    return type_bits(VTD_DESC_DEVTLB) | (uint64_t)(pfsid & 0xF) << VTD_DESC_DEVTLB_PFSID_LO_SHIFT |
           (uint64_t)(pfsid >> 4) << VTD_DESC_DEVTLB_PFSID_HI_SHIFT | (uint64_t)mip << VTD_DESC_DEVTLB_MIP_SHIFT |
           (uint64_t)sid << VTD_DESC_DEVTLB_SID_SHIFT;
}

/* ---- a translated device ---- */

struct dev {
    uint64_t root; /* second-level table */
    uint16_t sid, did;
};

static struct dev dev_setup(struct th *t, uint16_t sid, uint16_t did, uint64_t iova, uint64_t pa)
{
    struct dev d = {.root = th_alloc_page(t), .sid = sid, .did = did};
    th_map(t, d.root, 4, iova, pa, PAGE, PAGE, VTD_SL_R | VTD_SL_W);
    th_set_ctx(t, sid, th_ctx_lo(d.root, VTD_TT_UNTRANSLATED, false), th_ctx_hi(VTD_AW_48, did));
    return d;
}

static uint64_t dma_pa(struct th *t, uint16_t sid, uint64_t iova)
{
    struct vtd_result r = th_dma(t, sid, iova, VTD_R);
    assert_int_equal(r.status, VTD_OK);
    return r.pa;
}

static void remap(struct th *t, const struct dev *d, uint64_t iova, uint64_t pa)
{
    th_w64(t, th_pte_addr(t, d->root, 4, iova, 1), pa | VTD_SL_R | VTD_SL_W);
}

/* ---- tests ---- */

static void test_registers(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    uint64_t ecap = th_rd64(t, VTD_REG_ECAP);
    assert_true(ecap & VTD_ECAP_QI);
    assert_true(ecap & VTD_ECAP_DT);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 0);
    assert_int_equal(th_rd64(t, VTD_REG_IQT), 0);
    assert_int_equal(th_rd64(t, VTD_REG_IQA), 0);
    assert_int_equal(th_rd32(t, VTD_REG_ICS), 0);
    assert_int_equal(th_rd32(t, VTD_REG_IECTL), (uint32_t)VTD_ECTL_IM);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD), 0);

    /* IQA: base below haw, DW, QS; reserved bits read 0 */
    th_clear_logs(t);
    th_wr64(t, VTD_REG_IQA, 0x123456000ULL | 0x3F8 | 3);
    assert_int_equal(th_rd64(t, VTD_REG_IQA), 0x123456000ULL | 3);
    assert_true(th_has_diag(t, VTD_DIAG_REG_RESERVED));
    /* IQT: QT 18:4; bits 3:0 reserved */
    th_wr64(t, VTD_REG_IQT, 0x7FFFF);
    assert_int_equal(th_rd64(t, VTD_REG_IQT), 0x7FFF0);
    /* writing IQA resets IQT (and IQH) */
    th_wr64(t, VTD_REG_IQA, 0x200000);
    assert_int_equal(th_rd64(t, VTD_REG_IQT), 0);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 0);
    /* IQH and IQERCD are read-only for software */
    th_clear_logs(t);
    th_wr64(t, VTD_REG_IQH, 0x40);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 0);
    assert_true(th_has_diag(t, VTD_DIAG_REG_READONLY));
    th_wr64(t, VTD_REG_IQERCD, 5);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD), 0);
    /* IECTL: IM RW, IP RO */
    th_wr32(t, VTD_REG_IECTL, (uint32_t)VTD_ECTL_IP);
    assert_int_equal(th_rd32(t, VTD_REG_IECTL), 0);
    th_wr32(t, VTD_REG_IECTL, (uint32_t)VTD_ECTL_IM);
    assert_int_equal(th_rd32(t, VTD_REG_IECTL), (uint32_t)VTD_ECTL_IM);
    /* IEDATA 15:0, IEADDR 31:2, IEUADDR 31:0 */
    th_wr32(t, VTD_REG_IEDATA, 0xFFFFFFFF);
    th_wr32(t, VTD_REG_IEADDR, 0xFFFFFFFF);
    th_wr32(t, VTD_REG_IEUADDR, 0xFFFFFFFF);
    assert_int_equal(th_rd32(t, VTD_REG_IEDATA), 0xFFFF);
    assert_int_equal(th_rd32(t, VTD_REG_IEADDR), 0xFFFFFFFC);
    assert_int_equal(th_rd32(t, VTD_REG_IEUADDR), 0xFFFFFFFF);

    /* DT without QI is inconsistent */
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.ecap &= ~(VTD_ECAP_QI | VTD_ECAP_IR | VTD_ECAP_EIM);
    cfg.cap &= ~VTD_CAP_PI;
    struct vtd *u = NULL;
    assert_int_equal(vtd_create(&cfg, &t->host, &u), VTD_EINVAL);
    qt_free(q);

    /* without ECAP.QI the registers are absent */
    vtd_config_default(&cfg);
    cfg.ecap &= ~(VTD_ECAP_QI | VTD_ECAP_DT | VTD_ECAP_IR | VTD_ECAP_EIM); /* IR needs QI */
    cfg.cap &= ~VTD_CAP_PI;
    struct th t2;
    th_init(&t2, &cfg);
    th_clear_logs(&t2);
    assert_int_equal(th_rd64(&t2, VTD_REG_IQH), 0);
    assert_true(th_has_diag(&t2, VTD_DIAG_MMIO_UNKNOWN));
    th_wr32(&t2, VTD_REG_GCMD, (uint32_t)VTD_GCMD_QIE);
    assert_false(th_rd32(&t2, VTD_REG_GSTS) & VTD_GSTS_QIES);
    assert_true(th_has_diag(&t2, VTD_DIAG_GCMD_UNSUPPORTED));
    th_fini(&t2);
}

static void test_enable_disable(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    qi_enable(q, 0);
    uint64_t st = th_alloc_page(t);
    for (int i = 0; i < 3; i++)
        qi_submit(q, wait_lo(true, false, 0x100 + (uint32_t)i), st);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 3 * 16);
    assert_int_equal(th_rd64(t, VTD_REG_IQT), 3 * 16);
    assert_int_equal(th_r64(t, st) & 0xFFFFFFFF, 0x102);

    /* disabling resets IQH, not IQT */
    th_clear_logs(t);
    th_wr32(t, VTD_REG_GCMD, gcmd_base(t) & ~(uint32_t)VTD_GCMD_QIE);
    assert_false(th_rd32(t, VTD_REG_GSTS) & VTD_GSTS_QIES);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 0);
    assert_int_equal(th_rd64(t, VTD_REG_IQT), 3 * 16);
    assert_false(th_has_diag(t, VTD_DIAG_QI_DISABLE_PENDING));

    /* IQT written while disabled: nothing is fetched */
    th_w64(t, st, 0);
    th_wr64(t, VTD_REG_IQT, 1 * 16);
    assert_int_equal(th_r64(t, st), 0);
    /* enabling with IQT ahead of IQH fetches at once */
    th_wr32(t, VTD_REG_GCMD, gcmd_base(t) | (uint32_t)VTD_GCMD_QIE);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 16);
    assert_int_equal(th_r64(t, st) & 0xFFFFFFFF, 0x100);

    /* IQA written while enabled: reported, IQH/IQT reset */
    th_clear_logs(t);
    th_wr64(t, VTD_REG_IQA, q->iq);
    assert_true(th_has_diag(t, VTD_DIAG_QI_IQA_WHILE_ENABLED));
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 0);
    assert_int_equal(th_rd64(t, VTD_REG_IQT), 0);

    /* disabling with a pending (stuck) descriptor drops it and says so */
    q->tail = 0;
    qi_submit(q, 0 /* type 0: invalid */, 0);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    th_clear_logs(t);
    th_wr32(t, VTD_REG_GCMD, gcmd_base(t) & ~(uint32_t)VTD_GCMD_QIE);
    assert_true(th_has_diag(t, VTD_DIAG_QI_DISABLE_PENDING));
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 0);
    qt_free(q);
}

/* A stale IOTLB entry stays until a queued page-selective invalidation. */
static void test_iotlb_page(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    const uint64_t iova = 0x40000000, pa1 = 0x10000000, pa2 = 0x20000000;
    struct dev d = dev_setup(t, DEV_A, DID_A, iova, pa1);
    th_enable(t);
    th_inval_all(t); /* register-based, before QI is on */
    qi_enable(q, 0);
    assert_int_equal(dma_pa(t, DEV_A, iova), pa1);
    remap(t, &d, iova, pa2);
    assert_int_equal(dma_pa(t, DEV_A, iova), pa1); /* stale, as hardware */

    /* another page, another domain: no effect */
    qi_submit(q, iotlb_lo(VTD_IOTLB_PAGE, DID_A), iotlb_hi(iova + PAGE, 0, false));
    qi_submit(q, iotlb_lo(VTD_IOTLB_PAGE, DID_B), iotlb_hi(iova, 0, false));
    assert_int_equal(dma_pa(t, DEV_A, iova), pa1);
    /* the page itself (IH=1: leaf only) */
    qi_submit(q, iotlb_lo(VTD_IOTLB_PAGE, DID_A), iotlb_hi(iova, 0, true));
    assert_int_equal(dma_pa(t, DEV_A, iova), pa2);
    /* AM=2 covers iova + 3 pages */
    remap(t, &d, iova, pa1);
    qi_submit(q, iotlb_lo(VTD_IOTLB_PAGE, DID_A), iotlb_hi(iova + 3 * PAGE, 2, false));
    assert_int_equal(dma_pa(t, DEV_A, iova), pa1);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    qt_free(q);
}

static void test_iotlb_domain_global(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    const uint64_t iova = 0x40000000;
    struct dev a = dev_setup(t, DEV_A, DID_A, iova, 0x10000000);
    struct dev b = dev_setup(t, DEV_B, DID_B, iova, 0x11000000);
    th_enable(t);
    th_inval_all(t);
    qi_enable(q, 0);
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x10000000);
    assert_int_equal(dma_pa(t, DEV_B, iova), 0x11000000);
    remap(t, &a, iova, 0x20000000);
    remap(t, &b, iova, 0x21000000);

    qi_submit(q, iotlb_lo(VTD_IOTLB_DOMAIN, DID_A), 0);
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x20000000);
    assert_int_equal(dma_pa(t, DEV_B, iova), 0x11000000);
    qi_submit(q, iotlb_lo(VTD_IOTLB_GLOBAL, 0), 0);
    assert_int_equal(dma_pa(t, DEV_B, iova), 0x21000000);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    qt_free(q);
}

/* Context-cache invalidation through the queue: the device moves to another
 * domain with other tables; the cached context keeps the old one until a
 * context-cache descriptor invalidates it. */
static void test_context_cache(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    const uint64_t iova = 0x40000000;
    dev_setup(t, DEV_A, DID_A, iova, 0x10000000);
    dev_setup(t, DEV_B, DID_B, iova, 0x11000000);
    th_enable(t);
    th_inval_all(t);
    qi_enable(q, 0);
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x10000000);
    assert_int_equal(dma_pa(t, DEV_B, iova), 0x11000000);

    uint64_t r2 = th_alloc_page(t), r3 = th_alloc_page(t);
    th_map(t, r2, 4, iova, 0x30000000, PAGE, PAGE, VTD_SL_R | VTD_SL_W);
    th_map(t, r3, 4, iova, 0x31000000, PAGE, PAGE, VTD_SL_R | VTD_SL_W);
    th_set_ctx(t, DEV_A, th_ctx_lo(r2, VTD_TT_UNTRANSLATED, false), th_ctx_hi(VTD_AW_48, 7));
    th_set_ctx(t, DEV_B, th_ctx_lo(r3, VTD_TT_UNTRANSLATED, false), th_ctx_hi(VTD_AW_48, 8));
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x10000000);

    /* device-selective for another function (FM=0): no effect */
    qi_submit(q, cc_lo(VTD_CC_DEVICE, DID_A, SID(0, 2, 1), 0), 0);
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x10000000);
    /* FM=3 masks the function: covers 0:2.0 */
    qi_submit(q, cc_lo(VTD_CC_DEVICE, DID_A, SID(0, 2, 5), 3), 0);
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x30000000);
    assert_int_equal(dma_pa(t, DEV_B, iova), 0x11000000);
    /* domain-selective for the old domain of B */
    qi_submit(q, cc_lo(VTD_CC_DOMAIN, DID_B, 0, 0), 0);
    assert_int_equal(dma_pa(t, DEV_B, iova), 0x31000000);

    /* global */
    th_set_ctx(t, DEV_A, th_ctx_lo(r3, VTD_TT_UNTRANSLATED, false), th_ctx_hi(VTD_AW_48, 8));
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x30000000);
    qi_submit(q, cc_lo(VTD_CC_GLOBAL, 0, 0, 0), 0);
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x31000000);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    qt_free(q);
}

static void test_wait_status_write(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    qi_enable(q, 0);
    uint64_t st = th_alloc_page(t);
    th_w64(t, st, 0x1111111111111111ULL);
    th_clear_logs(t);
    qi_submit(q, wait_lo(true, false, 0xDEADBEEF) | VTD_DESC_WAIT_FN, st + 4);
    /* 32 bits at st + 4 */
    assert_int_equal(th_r64(t, st), 0xDEADBEEF11111111ULL);
    assert_int_equal(th_rd32(t, VTD_REG_ICS), 0);
    assert_int_equal(t->nmsi, 0);
    assert_int_equal(t->ndiag, 0);

    /* status write to unbacked memory: dropped, reported, queue goes on */
    assert_int_equal(vtd_mem_add_hole(t->mem, 0x7000000000ULL, PAGE), 0);
    qi_put(q, wait_lo(true, false, 1), 0x7000000000ULL);
    qi_put(q, wait_lo(true, false, 2), st);
    qi_kick(q);
    assert_true(th_has_diag(t, VTD_DIAG_QI_WAIT_WRITE));
    assert_int_equal(th_r64(t, st) & 0xFFFFFFFF, 2);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    qt_free(q);
}

static void test_wait_interrupt(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    qi_enable(q, 0);
    th_wr32(t, VTD_REG_IEDATA, 0x4321);
    th_wr32(t, VTD_REG_IEADDR, 0xFEE01000);
    th_wr32(t, VTD_REG_IEUADDR, 0x12);
    th_wr32(t, VTD_REG_IECTL, 0); /* unmask */
    th_clear_logs(t);

    qi_submit(q, wait_lo(false, true, 0), 0);
    assert_int_equal(th_rd32(t, VTD_REG_ICS), VTD_ICS_IWC);
    assert_int_equal(t->nmsi, 1);
    assert_int_equal(t->msi[0].addr, 0x12FEE01000ULL);
    assert_int_equal(t->msi[0].data, 0x4321);
    assert_int_equal(th_rd32(t, VTD_REG_IECTL), 0);

    /* IWC already set: no new event */
    qi_submit(q, wait_lo(false, true, 0), 0);
    assert_int_equal(t->nmsi, 1);
    /* software clears IWC (RW1C): the next one signals again */
    th_wr32(t, VTD_REG_ICS, VTD_ICS_IWC);
    assert_int_equal(th_rd32(t, VTD_REG_ICS), 0);
    /* SW and IF together: status written, then the event */
    uint64_t st = th_alloc_page(t);
    qi_submit(q, wait_lo(true, true, 0xA5A5), st);
    assert_int_equal(th_r64(t, st), 0xA5A5);
    assert_int_equal(t->nmsi, 2);

    /* masked: IP set, no message; unmasking sends it */
    th_wr32(t, VTD_REG_ICS, VTD_ICS_IWC);
    th_wr32(t, VTD_REG_IECTL, (uint32_t)VTD_ECTL_IM);
    qi_submit(q, wait_lo(false, true, 0), 0);
    assert_int_equal(t->nmsi, 2);
    assert_int_equal(th_rd32(t, VTD_REG_IECTL), (uint32_t)(VTD_ECTL_IM | VTD_ECTL_IP));
    th_wr32(t, VTD_REG_IECTL, 0);
    assert_int_equal(t->nmsi, 3);
    assert_int_equal(t->msi[2].data, 0x4321);
    assert_int_equal(th_rd32(t, VTD_REG_IECTL), 0);

    /* masked, then serviced (IWC cleared) before unmasking: IP cleared, no stale message */
    th_wr32(t, VTD_REG_ICS, VTD_ICS_IWC);
    th_wr32(t, VTD_REG_IECTL, (uint32_t)VTD_ECTL_IM);
    qi_submit(q, wait_lo(false, true, 0), 0);
    assert_true(th_rd32(t, VTD_REG_IECTL) & VTD_ECTL_IP);
    th_wr32(t, VTD_REG_ICS, VTD_ICS_IWC);
    assert_false(th_rd32(t, VTD_REG_IECTL) & VTD_ECTL_IP);
    th_wr32(t, VTD_REG_IECTL, 0);
    assert_int_equal(t->nmsi, 3);
    /* the fault event was never involved */
    assert_int_equal(th_rd32(t, VTD_REG_FSTS), 0);
    qt_free(q);
}

/* Many submissions of different batch sizes wrap the queue several times. */
static void test_wraparound(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    qi_enable(q, 0); /* 256 entries */
    uint64_t st = th_alloc_page(t);
    uint32_t n = 0;
    bool wrapped = false;
    for (int round = 0; round < 200; round++) {
        int batch = 1 + round % 7;
        for (int i = 0; i < batch; i++) {
            qi_put(q, wait_lo(true, false, n), st + (uint64_t)(n % 512) * 8);
            n++;
        }
        uint32_t before = (uint32_t)iqh_index(q);
        qi_kick(q);
        uint32_t after = (uint32_t)iqh_index(q);
        assert_int_equal(after, q->tail);
        wrapped |= after < before;
        for (uint32_t k = n - (uint32_t)batch; k < n; k++)
            assert_int_equal(th_r64(t, st + (uint64_t)(k % 512) * 8) & 0xFFFFFFFF, k);
    }
    assert_true(wrapped);
    assert_true(n > 3 * 256);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);

    /* a larger queue: QS=1 is 512 entries */
    qt_free(q);
    q = qt_new(NULL);
    t = &q->t;
    qi_enable(q, 1);
    st = th_alloc_page(t);
    for (uint32_t i = 0; i < 700; i++)
        qi_submit(q, wait_lo(true, false, i), st);
    assert_int_equal(th_r64(t, st) & 0xFFFFFFFF, 699);
    assert_int_equal(iqh_index(q), 700 - 512);
    qt_free(q);
}

/* Submit a bad descriptor after a good one; check IQE, IQEI, IQH, the fault
 * event, that nothing moves until FSTS.IQE is cleared, and that clearing it
 * (after software fixed the descriptor) resumes the queue. */
static void check_iqe(struct qt *q, uint64_t lo, uint64_t hi, unsigned iqei, int diag)
{
    struct th *t = &q->t;
    uint64_t st = th_alloc_page(t);
    th_wr32(t, VTD_REG_FEDATA, 0x55);
    th_wr32(t, VTD_REG_FEADDR, 0xFEE00000);
    th_wr32(t, VTD_REG_FECTL, 0);
    th_clear_logs(t);

    qi_put(q, wait_lo(true, false, 1), st);
    uint32_t bad = q->tail;
    qi_put(q, lo, hi);
    qi_put(q, wait_lo(true, false, 2), st + 8);
    qi_kick(q);
    assert_int_equal(th_r64(t, st) & 0xFFFFFFFF, 1);
    assert_int_equal(th_r64(t, st + 8), 0);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD) & VTD_IQERCD_IQEI_MASK, iqei);
    assert_int_equal(iqh_index(q), bad);
    assert_true(th_has_diag(t, diag));
    assert_int_equal(t->nmsi, 1); /* fault event */
    assert_int_equal(t->msi[0].addr, 0xFEE00000);
    assert_int_equal(t->msi[0].data, 0x55);

    /* no progress while IQE is set, even on a new IQT write */
    qi_put(q, wait_lo(true, false, 3), st + 16);
    qi_kick(q);
    assert_int_equal(iqh_index(q), bad);
    assert_int_equal(th_r64(t, st + 16), 0);

    /* software replaces the bad descriptor (as Linux does) and clears IQE */
    uint64_t a = q->iq + (uint64_t)bad * q->width;
    th_w64(t, a, wait_lo(true, false, 9));
    th_w64(t, a + 8, st + 24);
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_IQE);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(iqh_index(q), q->tail);
    assert_int_equal(th_r64(t, st + 24), 9);
    assert_int_equal(th_r64(t, st + 8), 2);
    assert_int_equal(th_r64(t, st + 16), 3);
    assert_int_equal(t->nmsi, 1);
}

static void test_iqe_bad_type(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    qi_enable(q, 0);
    check_iqe(q, 0, 0, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);                               /* type 0 */
    check_iqe(q, type_bits(VTD_DESC_PIOTLB), 0, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);      /* no SMTS */
    check_iqe(q, type_bits(VTD_DESC_PC), 0, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);
    check_iqe(q, type_bits(VTD_DESC_PDEVTLB), 0, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);
    check_iqe(q, type_bits(VTD_DESC_PGRP_RESP), 0, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);   /* no PRS */
    check_iqe(q, type_bits(0x15), 0, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);                 /* bits 11:9 */
    check_iqe(q, type_bits(0xF), 0, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);
    qt_free(q);

    /* IEC descriptors need ECAP.IR (the default unit has it: they work) */
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.ecap &= ~(VTD_ECAP_IR | VTD_ECAP_EIM);
    cfg.cap &= ~VTD_CAP_PI;
    q = qt_new(&cfg);
    qi_enable(q, 0);
    check_iqe(q, type_bits(VTD_DESC_IEC), 0, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);         /* no IR */
    qt_free(q);

    /* device-TLB descriptors need ECAP.DT */
    vtd_config_default(&cfg);
    cfg.ecap &= ~VTD_ECAP_DT;
    q = qt_new(&cfg);
    qi_enable(q, 0);
    check_iqe(q, devtlb_lo(DEV_A, DEV_A, 0), 0, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);
    assert_int_equal(q->ndev, 0);
    qt_free(q);
}

static void test_iqe_reserved(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    qi_enable(q, 0);
    /* context-cache: G=00, lo bit 6, bit 12, bit 50, any hi bit */
    check_iqe(q, cc_lo(0, 1, 0, 0), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, cc_lo(VTD_CC_GLOBAL, 0, 0, 0) | VTD_BIT(6), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, cc_lo(VTD_CC_GLOBAL, 0, 0, 0) | VTD_BIT(12), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, cc_lo(VTD_CC_GLOBAL, 0, 0, 0) | VTD_BIT(50), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, cc_lo(VTD_CC_GLOBAL, 0, 0, 0), 1, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    /* IOTLB: G=00, lo bit 8, lo bit 32, hi bit 7 */
    check_iqe(q, iotlb_lo(0, 1), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, iotlb_lo(VTD_IOTLB_GLOBAL, 0) | VTD_BIT(8), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, iotlb_lo(VTD_IOTLB_GLOBAL, 0) | VTD_BIT(32), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, iotlb_lo(VTD_IOTLB_PAGE, 1), iotlb_hi(0x1000, 0, false) | VTD_BIT(7), VTD_IQEI_RSVD,
              VTD_DIAG_QI_DESC_RSVD);
    /* AM above MAMV (18) */
    check_iqe(q, iotlb_lo(VTD_IOTLB_PAGE, 1), iotlb_hi(0, 19, false), VTD_IQEI_RSVD, VTD_DIAG_QI_IOTLB_AM);
    /* wait: bit 8, bit 12, PD without PRS, hi bits 1:0 */
    check_iqe(q, wait_lo(false, false, 0) | VTD_BIT(8), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, wait_lo(false, false, 0) | VTD_BIT(12), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, wait_lo(false, false, 0) | VTD_DESC_WAIT_PD, 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, wait_lo(true, false, 0), 0x2001, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    /* device-TLB: lo bit 4, bit 21, bit 48, hi bit 1 */
    check_iqe(q, devtlb_lo(DEV_A, 0, 0) | VTD_BIT(4), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, devtlb_lo(DEV_A, 0, 0) | VTD_BIT(21), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, devtlb_lo(DEV_A, 0, 0) | VTD_BIT(48), 0, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    check_iqe(q, devtlb_lo(DEV_A, 0, 0), 0x1002, VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
    assert_int_equal(q->ndev, 0);
    qt_free(q);
}

static void test_iqe_tail_fetch_width(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    qi_enable(q, 0);

    /* IQT beyond a 256-entry queue */
    th_wr32(t, VTD_REG_FECTL, 0);
    th_clear_logs(t);
    th_wr64(t, VTD_REG_IQT, 256 * 16);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD) & VTD_IQERCD_IQEI_MASK, VTD_IQEI_TAIL);
    assert_true(th_has_diag(t, VTD_DIAG_QI_BAD_TAIL));
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 0);
    assert_int_equal(t->nmsi, 1);
    /* a valid tail, then clearing IQE: processed */
    uint64_t st = th_alloc_page(t);
    q->tail = 0;
    qi_submit(q, wait_lo(true, false, 7), st);
    assert_int_equal(th_r64(t, st), 0);
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_IQE);
    assert_int_equal(th_r64(t, st), 7);
    assert_int_equal(iqh_index(q), 1);

    /* fetch error: the queue's second page is a hole */
    qt_free(q);
    q = qt_new(NULL);
    t = &q->t;
    qi_enable(q, 1);
    st = th_alloc_page(t);
    assert_int_equal(vtd_mem_add_hole(t->mem, q->iq + PAGE, PAGE), 0);
    th_clear_logs(t);
    for (int i = 0; i < 256; i++)
        qi_put(q, wait_lo(true, false, (uint32_t)i), st);
    qi_kick(q);
    assert_int_equal(iqh_index(q), 256);
    assert_int_equal(th_r64(t, st), 255);
    /* the next descriptor would be in the hole: software cannot even write it */
    q->tail++;
    qi_kick(q);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD) & VTD_IQERCD_IQEI_MASK, VTD_IQEI_FETCH);
    assert_true(th_has_diag(t, VTD_DIAG_QI_FETCH_ERROR));
    assert_int_equal(iqh_index(q), 256);

    /* DW=1 without SMTS or ADMS */
    qt_free(q);
    q = qt_new(NULL);
    t = &q->t;
    qi_enable_dw(q, 0, true);
    assert_true(th_rd64(t, VTD_REG_IQA) & VTD_IQA_DW);
    th_clear_logs(t);
    st = th_alloc_page(t);
    qi_submit(q, wait_lo(true, false, 1), st);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD) & VTD_IQERCD_IQEI_MASK, VTD_IQEI_WIDTH);
    assert_true(th_has_diag(t, VTD_DIAG_QI_WIDTH));
    assert_int_equal(th_r64(t, st), 0);
    qt_free(q);
}

/* 256-bit descriptors on a unit with ECAP.ADMS. */
static void test_256bit(void **state)
{
    (void)state;
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.ecap |= VTD_ECAP_ADMS;
    struct qt *q = qt_new(&cfg);
    struct th *t = &q->t;
    qi_enable_dw(q, 0, true);
    uint64_t st = th_alloc_page(t);
    for (uint32_t i = 0; i < 300; i++) /* 128 entries: wraps */
        qi_submit(q, wait_lo(true, false, i), st);
    assert_int_equal(th_r64(t, st), 299);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), (300 % 128) * 32);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);

    /* the upper 128 bits are reserved for the legacy descriptor types */
    th_clear_logs(t);
    uint64_t a = q->iq + (uint64_t)q->tail * 32;
    qi_put(q, wait_lo(true, false, 1), st);
    th_w64(t, a + 16, 1);
    qi_kick(q);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD) & VTD_IQERCD_IQEI_MASK, VTD_IQEI_RSVD);
    th_w64(t, a + 16, 0);
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_IQE);
    assert_int_equal(th_r64(t, st), 1);

    /* IQT bit 4 set: not 256-bit aligned */
    th_clear_logs(t);
    th_wr64(t, VTD_REG_IQT, (uint64_t)q->tail * 32 + 16);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD) & VTD_IQERCD_IQEI_MASK, VTD_IQEI_TAIL_ALIGN);
    assert_true(th_has_diag(t, VTD_DIAG_QI_TAIL_ALIGN));
    qt_free(q);
}

/* IQE follows the fault-event rules: no event when a fault status is
 * already pending; masked events wait in FECTL.IP. */
static void test_iqe_event_rules(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    qi_enable(q, 0);
    th_wr32(t, VTD_REG_FEDATA, 0x66);
    th_wr32(t, VTD_REG_FEADDR, 0xFEE00000);

    /* masked: IP, no message; clearing IQE while masked clears IP */
    th_clear_logs(t);
    qi_submit(q, 0, 0);
    assert_int_equal(t->nmsi, 0);
    assert_true(th_rd32(t, VTD_REG_FECTL) & VTD_ECTL_IP);
    uint64_t a = q->iq + (uint64_t)(q->tail - 1) * 16;
    th_w64(t, a, wait_lo(false, false, 0));
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_IQE);
    assert_false(th_rd32(t, VTD_REG_FECTL) & VTD_ECTL_IP);
    th_wr32(t, VTD_REG_FECTL, 0);
    assert_int_equal(t->nmsi, 0);

    /* masked, then unmasked: the message goes out */
    th_wr32(t, VTD_REG_FECTL, (uint32_t)VTD_ECTL_IM);
    qi_submit(q, 0, 0);
    assert_int_equal(t->nmsi, 0);
    th_wr32(t, VTD_REG_FECTL, 0);
    assert_int_equal(t->nmsi, 1);
    assert_int_equal(t->msi[0].data, 0x66);
    a = q->iq + (uint64_t)(q->tail - 1) * 16;
    th_w64(t, a, wait_lo(false, false, 0));
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_IQE);

    /* a primary fault pending: IQE raises no new event */
    th_enable(t);
    th_clear_logs(t);
    struct vtd_result r = th_dma(t, DEV_A, 0x1000, VTD_R); /* root not present: 1h */
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(t->nmsi, 1);
    qi_submit(q, 0, 0);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(t->nmsi, 1);
    qt_free(q);
}

static void test_devtlb(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    qi_enable(q, 0);
    th_clear_logs(t);

    /* S=0: one page */
    qi_submit(q, devtlb_lo(SID(3, 4, 1), 0xABCD, 5), 0x12345000);
    assert_int_equal(q->ndev, 1);
    assert_int_equal(q->dev[0].sid, SID(3, 4, 1));
    assert_int_equal(q->dev[0].pfsid, 0xABCD);
    assert_int_equal(q->dev[0].addr, 0x12345000);
    assert_int_equal(q->dev[0].size, PAGE);
    assert_false(q->dev[0].pasid_valid);
    assert_false(q->dev[0].global);
    /* S=1, bits 14:12 set, bit 15 clear: 64 KiB at 0x10000 */
    qi_submit(q, devtlb_lo(DEV_A, DEV_A, 0), 0x17000 | VTD_DESC_DEVTLB_S);
    assert_int_equal(q->dev[1].addr, 0x10000);
    assert_int_equal(q->dev[1].size, 0x10000);
    /* S=1, bit 12 clear: 8 KiB */
    qi_submit(q, devtlb_lo(DEV_A, DEV_A, 0), 0x40000000 | VTD_DESC_DEVTLB_S);
    assert_int_equal(q->dev[2].addr, 0x40000000);
    assert_int_equal(q->dev[2].size, 0x2000);
    /* S=1, what Linux sends for order 9 (2 MiB): addr | (2^(12+8) - 1) */
    qi_submit(q, devtlb_lo(DEV_A, DEV_A, 0), ((0x40200000 | ((1ULL << 20) - 1)) & ~0xFFFULL) | VTD_DESC_DEVTLB_S);
    assert_int_equal(q->dev[3].addr, 0x40200000);
    assert_int_equal(q->dev[3].size, 2ULL << 20);
    /* S=1, bits 62:12 set: the whole space (size 0 = 2^64) */
    qi_submit(q, devtlb_lo(DEV_A, DEV_A, 0), (VTD_GENMASK(62, 12)) | VTD_DESC_DEVTLB_S);
    assert_int_equal(q->dev[4].addr, 0);
    assert_int_equal(q->dev[4].size, 0);
    qi_submit(q, devtlb_lo(DEV_A, DEV_A, 0), VTD_GENMASK(63, 12) | VTD_DESC_DEVTLB_S);
    assert_int_equal(q->dev[5].size, 0);
    /* completion is synchronous: a following wait sees it done */
    uint64_t st = th_alloc_page(t);
    qi_put(q, devtlb_lo(DEV_B, DEV_B, 0), 0x5000);
    qi_put(q, wait_lo(true, false, 1), st);
    qi_kick(q);
    assert_int_equal(q->ndev, 7);
    assert_int_equal(q->dev[6].sid, DEV_B);
    assert_int_equal(th_r64(t, st), 1);
    assert_int_equal(t->ndiag, 0);
    qt_free(q);
}

/* The default unit now advertises DT: TT=01 contexts accept translation
 * requests (through MMIO-programmed tables). */
static void test_tt01_default(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    uint64_t root = th_alloc_page(t);
    th_map(t, root, 4, 0x40000000, 0x10000000, PAGE, PAGE, VTD_SL_R | VTD_SL_W);
    th_set_ctx(t, DEV_A, th_ctx_lo(root, VTD_TT_DEVTLB, false), th_ctx_hi(VTD_AW_48, DID_A));
    th_enable(t);
    struct vtd_request req = {.sid = DEV_A, .at = VTD_AT_TRANSLATION_REQ, .access = VTD_R, .addr = 0x40000000};
    struct vtd_result r = th_req(t, &req);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, 0x10000000);
    qt_free(q);
}

/* Register-based invalidation is refused while QI is enabled. */
static void test_register_inval_rejected(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    const uint64_t iova = 0x40000000;
    struct dev d = dev_setup(t, DEV_A, DID_A, iova, 0x10000000);
    th_enable(t);
    th_inval_all(t);
    qi_enable(q, 0);
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x10000000);
    remap(t, &d, iova, 0x20000000);

    th_clear_logs(t);
    th_wr64(t, VTD_REG_CCMD, VTD_CCMD_ICC | ((uint64_t)VTD_CC_GLOBAL << VTD_CCMD_CIRG_SHIFT));
    uint64_t ccmd = th_rd64(t, VTD_REG_CCMD);
    assert_false(ccmd & VTD_CCMD_ICC);
    assert_int_equal(ccmd & VTD_CCMD_CAIG_MASK, 0);
    uint64_t reg = t->iro + VTD_REG_IOTLB_OFF;
    th_wr64(t, reg, VTD_IOTLB_IVT | ((uint64_t)VTD_IOTLB_GLOBAL << VTD_IOTLB_IIRG_SHIFT));
    uint64_t v = th_rd64(t, reg);
    assert_false(v & VTD_IOTLB_IVT);
    assert_int_equal(v & VTD_IOTLB_IAIG_MASK, 0);
    assert_true(th_has_diag(t, VTD_DIAG_INVAL_WHILE_QI));
    /* nothing was invalidated */
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x10000000);

    /* after QI is disabled the registers work again */
    th_wr32(t, VTD_REG_GCMD, gcmd_base(t) & ~(uint32_t)VTD_GCMD_QIE);
    th_inval_all(t);
    assert_int_equal(dma_pa(t, DEV_A, iova), 0x20000000);
    qt_free(q);
}

/* A host callback re-entering MMIO (submitting more work from the device-TLB
 * callback) does not nest: the running loop picks up the new tail. */
static struct qt *reenter_q;
static uint64_t reenter_st;
static int reenter_cb(void *opaque, uint16_t sid, uint16_t pfsid, uint64_t addr, uint64_t size, uint32_t pasid,
                       bool pasid_valid, bool global)
{
    devtlb_cb(opaque, sid, pfsid, addr, size, pasid, pasid_valid, global);
    if (reenter_q->ndev == 1)
        qi_submit(reenter_q, wait_lo(true, false, 42), reenter_st);
    return 0;
}

static void test_reentrant_submit(void **state)
{
    (void)state;
    struct qt *q = qt_new(NULL);
    struct th *t = &q->t;
    vtd_destroy(t->u);
    t->host.devtlb_inval = reenter_cb;
    assert_int_equal(vtd_create(&t->cfg, &t->host, &t->u), 0);
    qi_enable(q, 0);
    reenter_q = q;
    reenter_st = th_alloc_page(t);
    qi_submit(q, devtlb_lo(DEV_A, DEV_A, 0), 0);
    assert_int_equal(q->ndev, 1);
    assert_int_equal(th_r64(t, reenter_st), 42);
    assert_int_equal(iqh_index(q), 2);
    qt_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers),
        cmocka_unit_test(test_enable_disable),
        cmocka_unit_test(test_iotlb_page),
        cmocka_unit_test(test_iotlb_domain_global),
        cmocka_unit_test(test_context_cache),
        cmocka_unit_test(test_wait_status_write),
        cmocka_unit_test(test_wait_interrupt),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_iqe_bad_type),
        cmocka_unit_test(test_iqe_reserved),
        cmocka_unit_test(test_iqe_tail_fetch_width),
        cmocka_unit_test(test_256bit),
        cmocka_unit_test(test_iqe_event_rules),
        cmocka_unit_test(test_devtlb),
        cmocka_unit_test(test_tt01_default),
        cmocka_unit_test(test_register_inval_rejected),
        cmocka_unit_test(test_reentrant_submit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
