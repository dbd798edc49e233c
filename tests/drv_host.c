/* See drv_host.h. */
#include "drv_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct dh *H(void *opaque)
{
    return opaque;
}

/* ---- registers ---- */

static bool dirty_any(struct dh *h)
{
    return h->ndirty != 0;
}

static uint32_t op_rd32(void *o, uint32_t off)
{
    return (uint32_t)vtd_mmio_read(H(o)->t.u, off, 4);
}

static uint64_t op_rd64(void *o, uint32_t off)
{
    return vtd_mmio_read(H(o)->t.u, off, 8);
}

static void op_wr32(void *o, uint32_t off, uint32_t v)
{
    struct dh *h = H(o);
    if (h->check_flush && dirty_any(h))
        h->dirty_at_mmio++;
    vtd_mmio_write(h->t.u, off, v, 4);
}

static void op_wr64(void *o, uint32_t off, uint64_t v)
{
    struct dh *h = H(o);
    if (h->check_flush && dirty_any(h))
        h->dirty_at_mmio++;
    vtd_mmio_write(h->t.u, off, v, 8);
}

/* ---- memory ---- */

static bool in_queue(struct dh *h, uint64_t pa)
{
    if (!(h->t.cfg.ecap & VTD_ECAP_QI))
        return false;
    uint64_t iqa = vtd_mmio_read(h->t.u, VTD_REG_IQA, 8);
    uint64_t base = iqa & VTD_IQA_IQA_MASK;
    uint64_t len = 4096ULL << (iqa & 7);
    return iqa && pa >= base && pa < base + len;
}

static void dirty_mark(struct dh *h, uint64_t pa, size_t len)
{
    for (uint64_t l = pa & ~63ULL; l < pa + len; l += 64) {
        bool have = false;
        for (unsigned i = 0; i < h->ndirty; i++)
            if (h->dirty[i] == l)
                have = true;
        if (!have) {
            if (h->ndirty == DH_MAX_DIRTY)
                fail_msg("too many unflushed lines");
            h->dirty[h->ndirty++] = l;
        }
    }
}

static void op_flush(void *o, uint64_t pa, size_t len)
{
    struct dh *h = H(o);
    h->nflush++;
    for (unsigned i = 0; i < h->ndirty;) {
        if (h->dirty[i] + 64 > pa && h->dirty[i] < pa + len)
            h->dirty[i] = h->dirty[--h->ndirty];
        else
            i++;
    }
}

static int op_mrd(void *o, uint64_t pa, void *buf, size_t len)
{
    return vtd_mem_read(H(o)->t.mem, pa, buf, len);
}

/* only with h->direct, and never while flushes are checked (writes through
 * the pointer would not be seen) */
static uint64_t *op_mptr(void *o, uint64_t pa)
{
    struct dh *h = H(o);
    if (!h->direct || h->check_flush)
        return NULL;
    h->nptr++;
    return vtd_mem_ptr_rw(h->t.mem, pa);
}

static int op_mwr(void *o, uint64_t pa, const void *buf, size_t len)
{
    struct dh *h = H(o);
    if (h->check_flush && !in_queue(h, pa))
        dirty_mark(h, pa, len);
    return vtd_mem_write(h->t.mem, pa, buf, len);
}

/* ---- pages: a pool in the sparse memory; freed pages are poisoned
 *      (all ones: reserved bits everywhere) and reused first ---- */

static int op_page_alloc(void *o, unsigned order, uint64_t *pa, void **va)
{
    struct dh *h = H(o);
    if (h->fail_page_allocs_after >= 0) {
        if (h->fail_page_allocs_after == 0)
            return -1;
        h->fail_page_allocs_after--;
    }
    uint64_t bytes = 4096ULL << order;
    if (order == 0 && h->nfreed) {
        *pa = h->freed[--h->nfreed];
    } else {
        h->next_pa = (h->next_pa + bytes - 1) & ~(bytes - 1);
        *pa = h->next_pa;
        h->next_pa += bytes;
    }
    void *zero = calloc(1, bytes);
    assert_non_null(zero);
    assert_int_equal(vtd_mem_write(h->t.mem, *pa, zero, bytes), 0);
    free(zero);
    *va = (void *)(uintptr_t)(*pa + 1); /* a cookie the driver must hand back */
    h->pages_live += 1L << order;
    return 0;
}

static void op_page_free(void *o, unsigned order, uint64_t pa, void *va)
{
    struct dh *h = H(o);
    if ((uintptr_t)va != pa + 1)
        fail_msg("page_free(0x%llx): wrong host pointer %p", (unsigned long long)pa, va);
    uint64_t bytes = 4096ULL << order;
    unsigned char *poison = malloc(bytes);
    assert_non_null(poison);
    memset(poison, 0xFF, bytes);
    assert_int_equal(vtd_mem_write(h->t.mem, pa, poison, bytes), 0);
    free(poison);
    if (order == 0 && h->nfreed < DH_MAX_FREE)
        h->freed[h->nfreed++] = pa;
    h->pages_live -= 1L << order;
}

static void *op_zalloc(void *o, size_t size)
{
    H(o)->bytes_live += (long)size;
    return calloc(1, size);
}

static void op_free(void *o, void *p, size_t size)
{
    H(o)->bytes_live -= (long)size;
    free(p);
}

static void op_relax(void *o)
{
    struct dh *h = H(o);
    h->relax_calls++;
    if (h->on_relax)
        h->on_relax(h);
}

static uint64_t op_now(void *o)
{
    return H(o)->now;
}

static void op_fault(void *o, const struct vtd_drv_fault *f)
{
    struct dh *h = H(o);
    if (h->nfault < DH_MAX_FAULT)
        h->fault[h->nfault] = *f;
    h->nfault++;
}

static void op_log(void *o, int level, const char *msg, uint64_t value)
{
    (void)level, (void)msg, (void)value;
    H(o)->nlog++;
}

/* ---- unit-side hooks ---- */

static void on_notice(struct th *t, const struct vtd_inval_notice *n)
{
    struct dh *h = (struct dh *)t;
    if (n->cache < 3 && n->granularity < 5)
        h->notices[n->cache][n->granularity]++;
    if (n->cache == VTD_NOTICE_IOTLB && n->granularity == VTD_NOTICE_PAGE) {
        h->last_psi_addr = n->addr;
        h->last_psi_size = n->size;
        h->last_psi_ih = n->ih;
    }
}

static int on_devtlb(struct th *t, uint16_t sid, uint64_t addr, uint64_t size)
{
    struct dh *h = (struct dh *)t;
    h->ndevtlb++;
    h->devtlb_sid = sid;
    h->devtlb_addr = addr;
    h->devtlb_size = size;
    if (h->devtlb_pending > 0) {
        h->devtlb_pending--;
        return VTD_DEVTLB_PENDING;
    }
    return 0;
}

void dh_init_unit(struct dh *h, const struct vtd_config *cfg)
{
    memset(h, 0, sizeof(*h));
    th_init(&h->t, cfg);
    h->t.on_notice = on_notice;
    h->t.on_devtlb = on_devtlb;
    h->next_pa = DH_POOL;
    h->fail_page_allocs_after = -1;
    h->ops.opaque = h;
    h->ops.read32 = op_rd32;
    h->ops.read64 = op_rd64;
    h->ops.write32 = op_wr32;
    h->ops.write64 = op_wr64;
    h->ops.mem_read = op_mrd;
    h->ops.mem_write = op_mwr;
    h->ops.mem_ptr = op_mptr;
    h->ops.page_alloc = op_page_alloc;
    h->ops.page_free = op_page_free;
    h->ops.zalloc = op_zalloc;
    h->ops.free = op_free;
    h->ops.flush = op_flush;
    h->ops.relax = op_relax;
    h->ops.now = op_now;
    h->ops.fault = op_fault;
    h->ops.log = op_log;
    vtd_drv_config_default(&h->dcfg);
}

void dh_init(struct dh *h, const struct vtd_config *cfg, const struct vtd_drv_config *dcfg)
{
    dh_init_unit(h, cfg);
    if (dcfg)
        h->dcfg = *dcfg;
    int rc = vtd_drv_create(&h->ops, &h->dcfg, &h->drv);
    if (rc)
        fail_msg("vtd_drv_create: %d (%s)", rc, vtd_drv_strerror(rc));
}

void dh_no_diag(struct dh *h)
{
    if (h->t.ndiag)
        fail_msg("%d unit diagnostics, first: code %d sid %04x addr 0x%llx: %s", h->t.ndiag, h->t.diag[0].code,
                 h->t.diag[0].sid, (unsigned long long)h->t.diag[0].addr, h->t.diag[0].msg);
    if (h->check_flush && h->dirty_at_mmio)
        fail_msg("%d register writes happened with unflushed table writes", h->dirty_at_mmio);
}

void dh_fini(struct dh *h)
{
    if (h->drv) {
        vtd_drv_destroy(h->drv);
        h->drv = NULL;
        dh_no_diag(h);
        assert_int_equal(h->pages_live, 0);
        assert_int_equal(h->bytes_live, 0);
    }
    if (h->t.u)
        th_fini(&h->t);
}

struct dh *dh_new(void **state, const struct vtd_config *cfg, const struct vtd_drv_config *dcfg)
{
    struct dh *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    *state = h;
    dh_init(h, cfg, dcfg);
    return h;
}

int dh_teardown(void **state)
{
    struct dh *h = *state;
    if (!h)
        return 0;
    /* after a failed test: free without re-checking */
    if (h->drv)
        vtd_drv_destroy(h->drv);
    h->drv = NULL;
    if (h->t.u)
        th_fini(&h->t);
    free(h);
    *state = NULL;
    return 0;
}

struct vtd_result dh_dma(struct dh *h, uint16_t sid, uint64_t iova, uint8_t access)
{
    if (h->check_flush && h->ndirty)
        fail_msg("DMA with %u unflushed table lines", h->ndirty);
    return th_dma(&h->t, sid, iova, access);
}
