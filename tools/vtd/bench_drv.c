/* SPDX-License-Identifier: MIT */
/*
 * vtd bench: the driver's map+unmap cases (src/drv through include/vtd/drv.h).
 *
 * The driver runs against a model unit (default config, legacy mode, QI) as
 * it would against hardware: its register callbacks are vtd_mmio_read/write,
 * its memory callbacks the sparse memory, its pages a pool in that memory.
 * A device (00:01.0) is attached to one second-level domain and TE is on.
 *
 * One operation is vtd_drv_map() of one page (4 KiB or 2 MiB) followed by
 * vtd_drv_unmap() of it.  The IOVAs cycle through 128 pages (more than the
 * flush queue's 64 entries, so a deferred domain never maps a range still
 * queued, as an IOVA allocator that frees on retire guarantees), and a pinned
 * mapping in the same last-level table keeps unmap from freeing it, as the
 * other live mappings of a busy device would.  Strict: every unmap
 * invalidates the IOTLB page-selectively through the queue and waits.
 * Deferred: every 64th unmap invalidates the queued ranges at once.
 *
 * The driver serialises the calls on one unit, so these cases run on one
 * thread whatever --threads says.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vtd/defs.h>
#include <vtd/drv.h>
#include <vtd/mem.h>
#include <vtd/vtd.h>

#include "bench.h"
#include "tool.h"

#define DEV_SID 0x0008 /* 00:01.0 */
#define POOL 0x10000000ULL
#define NIOVA 128

struct dhost {
    struct vtd_mem *mem;
    struct vtd *u;
    uint64_t next;
    uint64_t freed[1024];
    unsigned nfreed;
    uint64_t diags;
};

static struct dhost *DH(void *o)
{
    return o;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "vtd bench: driver case: %s: %s\n", what, vtd_drv_strerror(rc));
    exit(1);
}

/* unit side: memory plus a diag counter (the driver should cause none) */
static int h_read(void *o, uint64_t pa, void *buf, size_t len) { return vtd_mem_read(DH(o)->mem, pa, buf, len); }
static int h_write(void *o, uint64_t pa, const void *buf, size_t len) { return vtd_mem_write(DH(o)->mem, pa, buf, len); }
static int h_cmpxchg(void *o, uint64_t pa, uint64_t *exp, uint64_t des) { return vtd_mem_cmpxchg64(DH(o)->mem, pa, exp, des); }
static const uint64_t *h_ptr(void *o, uint64_t pa) { return vtd_mem_ptr(DH(o)->mem, pa); }
static void h_diag(void *o, const struct vtd_diag *d)
{
    (void)d;
    DH(o)->diags++;
}

/* driver side */
static uint32_t d_rd32(void *o, uint32_t off) { return (uint32_t)vtd_mmio_read(DH(o)->u, off, 4); }
static uint64_t *d_ptr(void *o, uint64_t pa) { return vtd_mem_ptr_rw(DH(o)->mem, pa); }
static uint64_t d_rd64(void *o, uint32_t off) { return vtd_mmio_read(DH(o)->u, off, 8); }
static void d_wr32(void *o, uint32_t off, uint32_t v) { vtd_mmio_write(DH(o)->u, off, v, 4); }
static void d_wr64(void *o, uint32_t off, uint64_t v) { vtd_mmio_write(DH(o)->u, off, v, 8); }

static int d_page_alloc(void *o, unsigned order, uint64_t *pa, void **va)
{
    static const unsigned char zero[4096];
    struct dhost *h = DH(o);
    uint64_t bytes = 4096ULL << order;
    if (order == 0 && h->nfreed) {
        *pa = h->freed[--h->nfreed];
    } else {
        h->next = (h->next + bytes - 1) & ~(bytes - 1);
        *pa = h->next;
        h->next += bytes;
    }
    for (uint64_t off = 0; off < bytes; off += sizeof zero)
        if (vtd_mem_write(h->mem, *pa + off, zero, sizeof zero))
            return -1;
    *va = NULL;
    return 0;
}

static void d_page_free(void *o, unsigned order, uint64_t pa, void *va)
{
    struct dhost *h = DH(o);
    (void)va;
    if (order == 0 && h->nfreed < sizeof h->freed / sizeof h->freed[0])
        h->freed[h->nfreed++] = pa;
}

static void *d_zalloc(void *o, size_t size)
{
    (void)o;
    return calloc(1, size);
}

static void d_free(void *o, void *p, size_t size)
{
    (void)o, (void)size;
    free(p);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The measured loop (out of line, for callgrind's --toggle-collect). */
__attribute__((noinline)) int bench_drv_loop(struct vtd_drv_domain *dom, uint64_t base, uint64_t page,
                                             uint64_t iters);
__attribute__((noinline)) int bench_drv_loop(struct vtd_drv_domain *dom, uint64_t base, uint64_t page,
                                             uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t iova = base + (i % NIOVA) * page;
        int rc = vtd_drv_map(dom, iova, iova + (1ULL << 40), page, VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE);
        if (!rc)
            rc = vtd_drv_unmap(dom, iova, page, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* A DMA read of iova through the unit: the page it reaches, or ~0 on a fault. */
static uint64_t dma(struct dhost *h, uint64_t iova)
{
    struct vtd_request req = {.sid = DEV_SID, .at = VTD_AT_UNTRANSLATED, .access = VTD_R, .addr = iova};
    struct vtd_result res;
    if (vtd_translate(h->u, &req, &res) || res.status != VTD_OK)
        return ~0ULL;
    return res.pa;
}

static void run_drv(const struct vtd_bench_case *c, const struct vtd_bench_opts *o, const struct vtd_bench_report *r)
{
    bool big = strstr(c->name, "2m") != NULL, deferred = strstr(c->name, "deferred") != NULL;
    uint64_t page = big ? 1ULL << 21 : 1ULL << 12;
    /* 128 pages from base, and the pinned one after them, all under one
     * last-level table (2 MiB of 4 KiB pages, 1 GiB of 2 MiB pages) */
    uint64_t base = big ? 1ULL << 30 : 1ULL << 21, pin = base + NIOVA * page;

    struct dhost h = {.next = POOL};
    if (vtd_mem_create(0, &h.mem))
        die("memory", VTD_DRV_ENOMEM);
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.check_stale = false; /* as in the model's cases */
    struct vtd_host host = {.opaque = &h, .mem_read = h_read, .mem_write = h_write, .mem_cmpxchg64 = h_cmpxchg,
                            .mem_ptr = h_ptr, .diag = h_diag};
    int rc = vtd_create(&cfg, &host, &h.u);
    if (rc) {
        fprintf(stderr, "vtd bench: vtd_create: %s\n", vtd_strerror(rc));
        exit(1);
    }
    struct vtd_drv_ops ops = {.opaque = &h, .read32 = d_rd32, .read64 = d_rd64, .write32 = d_wr32,
                              .write64 = d_wr64, .mem_read = h_read, .mem_write = h_write,
                              .page_alloc = d_page_alloc, .page_free = d_page_free, .zalloc = d_zalloc,
                              .free = d_free, .mem_ptr = d_ptr};
    struct vtd_drv *drv;
    struct vtd_drv_domain *dom;
    struct vtd_drv_domain_config dcfg;
    vtd_drv_domain_config_default(&dcfg);
    dcfg.levels = 4;
    if (deferred)
        dcfg.flags |= VTD_DRV_DOM_DEFERRED;
    if ((rc = vtd_drv_create(&ops, NULL, &drv)))
        die("vtd_drv_create", rc);
    if ((rc = vtd_drv_domain_create(drv, &dcfg, &dom)))
        die("vtd_drv_domain_create", rc);
    if ((rc = vtd_drv_attach(dom, DEV_SID, 0)))
        die("vtd_drv_attach", rc);
    if ((rc = vtd_drv_enable(drv)))
        die("vtd_drv_enable", rc);
    unsigned prot = VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE;
    if ((rc = vtd_drv_map(dom, pin, pin + (1ULL << 40), page, prot)))
        die("vtd_drv_map (pinned page)", rc);

    /* the set-up works: a mapped page translates, an unmapped one faults */
    if ((rc = vtd_drv_map(dom, base, base + (1ULL << 40), page, prot)))
        die("vtd_drv_map", rc);
    uint64_t pa = dma(&h, base + page - 8);
    if ((rc = vtd_drv_unmap(dom, base, page, NULL)) || (deferred && (rc = vtd_drv_flush(dom))))
        die("vtd_drv_unmap", rc);
    if (pa != base + (1ULL << 40) + page - 8 || dma(&h, base) != ~0ULL || dma(&h, pin) != pin + (1ULL << 40)) {
        fprintf(stderr, "vtd bench: %s: the driver's mappings do not translate as mapped\n", c->name);
        exit(1);
    }
    vtd_mmio_write(h.u, VTD_REG_FSTS, vtd_mmio_read(h.u, VTD_REG_FSTS, 4), 4);

    if (o->warmup && (rc = bench_drv_loop(dom, base, page, NIOVA * 2)))
        die("map/unmap", rc);
    double best = 1e30;
    for (int rep = 0; rep < o->reps; rep++) {
        double t0 = now_ns();
        if ((rc = bench_drv_loop(dom, base, page, o->iters)))
            die("map/unmap", rc);
        double ns = (now_ns() - t0) / o->iters;
        if (ns < best)
            best = ns;
    }
    r->sample(r->opaque, c, 1, best);

    if (deferred && (rc = vtd_drv_flush(dom)))
        die("vtd_drv_flush", rc);
    struct vtd_drv_stats st;
    vtd_drv_stats(drv, &st);
    struct vtd_stats us;
    vtd_get_stats(h.u, &us);
    char note[256];
    snprintf(note, sizeof note,
             "1 thread only; driver: %llu IOTLB PSI, %llu DSI, %llu flush-queue drains, %llu QI batches; "
             "unit: %llu diagnostics",
             (unsigned long long)st.iotlb_psi, (unsigned long long)st.iotlb_dsi,
             (unsigned long long)st.fq_flushes, (unsigned long long)st.qi_submits, (unsigned long long)h.diags);
    r->note(r->opaque, c, note);
    vtd_drv_destroy(drv);
    vtd_destroy(h.u);
    vtd_mem_destroy(h.mem);
}

const struct vtd_bench_case vtd_bench_drv_cases[] = {
    {"map4k-strict", "drv", "driver map+unmap 4 KiB, strict", "map+unmap", 400, run_drv},
    {"map4k-deferred", "drv", "driver map+unmap 4 KiB, deferred", "map+unmap", 0, run_drv},
    {"map2m-strict", "drv", "driver map+unmap 2 MiB, strict", "map+unmap", 0, run_drv},
    {"map2m-deferred", "drv", "driver map+unmap 2 MiB, deferred", "map+unmap", 0, run_drv},
};
const size_t vtd_bench_drv_ncases = sizeof vtd_bench_drv_cases / sizeof vtd_bench_drv_cases[0];
