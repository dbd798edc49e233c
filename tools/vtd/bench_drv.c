/* SPDX-License-Identifier: MIT */
/*
 * vtd bench: the driver's map+unmap cases (src/drv through include/vtd/drv.h).
 *
 * The driver runs against a model unit (default config, legacy mode, QI) as
 * it would against hardware: its register callbacks are vtd_mmio_read/write,
 * its memory callbacks the sparse memory (and ops.mem_ptr direct pointers
 * into it, as a kernel reaches its own page tables), its pages a pool in that
 * memory.  A device is attached to a second-level domain and TE is on.
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
 * Threads.  The driver serialises the calls on one unit (ops.lock), and one
 * domain's tables are changed by one caller at a time, so there are two ways
 * to use 2 threads:
 *   map4k-strict etc.: one unit per thread (a platform with several DMAR
 *     units, a device behind each), each with its own driver instance and
 *     domain; the memory is shared.  Nothing is shared on the map/unmap path
 *     but the memory's radix.
 *   map4k-strict-1unit etc.: one unit and one driver for all threads, a
 *     domain and a device per thread; ops.lock is a mutex, so the calls of
 *     the threads take turns (and the queue is one).
 * Concurrent map/unmap on one domain is not offered: the driver does not
 * support it (its tables, flush queue and table counts are per domain with
 * no lock of their own).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
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

#define DEV_SID 0x0008 /* 00:01.0; thread k's device is 0x0008 + k */
#define POOL 0x10000000ULL
#define POOL_SPAN 0x10000000ULL /* each unit's page pool */
#define NIOVA 128

struct dhost {
    struct vtd_mem *mem; /* shared by every unit */
    struct vtd *u;
    uint64_t next;
    uint64_t freed[1024];
    unsigned nfreed;
    uint64_t diags;
    pthread_mutex_t lock; /* ops.lock of the -1unit cases */
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
    __atomic_fetch_add(&DH(o)->diags, 1, __ATOMIC_RELAXED);
}

/* driver side */
static uint32_t d_rd32(void *o, uint32_t off) { return (uint32_t)vtd_mmio_read(DH(o)->u, off, 4); }
static uint64_t *d_ptr(void *o, uint64_t pa) { return vtd_mem_ptr_rw(DH(o)->mem, pa); }
static uint64_t d_rd64(void *o, uint32_t off) { return vtd_mmio_read(DH(o)->u, off, 8); }
static void d_wr32(void *o, uint32_t off, uint32_t v) { vtd_mmio_write(DH(o)->u, off, v, 4); }
static void d_wr64(void *o, uint32_t off, uint64_t v) { vtd_mmio_write(DH(o)->u, off, v, 8); }
static void d_lock(void *o) { pthread_mutex_lock(&DH(o)->lock); }
static void d_unlock(void *o) { pthread_mutex_unlock(&DH(o)->lock); }

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

/* whole cache lines: one unit's driver state never shares a line with
 * another's (the threads of the unit-per-thread cases would contend) */
static void *d_zalloc(void *o, size_t size)
{
    (void)o;
    size_t bytes = (size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
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

/* A DMA read of iova by sid through the unit: the page it reaches, or ~0 on a fault. */
static uint64_t dma(struct dhost *h, uint16_t sid, uint64_t iova)
{
    struct vtd_request req = {.sid = sid, .at = VTD_AT_UNTRANSLATED, .access = VTD_R, .addr = iova};
    struct vtd_result res;
    if (vtd_translate(h->u, &req, &res) || res.status != VTD_OK)
        return ~0ULL;
    return res.pa;
}

struct geometry {
    const char *name;
    bool deferred;
    uint64_t page, base, pin; /* 128 pages from base, the pinned one after them,
                                 all under one last-level table */
};

/* One unit with its driver. */
struct inst {
    struct dhost h;
    struct vtd_drv *drv;
};

static void inst_init(struct inst *in, struct vtd_mem *mem, unsigned k, bool locked)
{
    memset(in, 0, sizeof(*in));
    struct dhost *h = &in->h;
    h->mem = mem;
    h->next = POOL + k * POOL_SPAN;
    pthread_mutex_init(&h->lock, NULL);
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.check_stale = false; /* as in the model's cases */
    struct vtd_host host = {.opaque = h, .mem_read = h_read, .mem_write = h_write, .mem_cmpxchg64 = h_cmpxchg,
                            .mem_ptr = h_ptr, .diag = h_diag};
    int rc = vtd_create(&cfg, &host, &h->u);
    if (rc) {
        fprintf(stderr, "vtd bench: vtd_create: %s\n", vtd_strerror(rc));
        exit(1);
    }
    struct vtd_drv_ops ops = {.opaque = h, .read32 = d_rd32, .read64 = d_rd64, .write32 = d_wr32,
                              .write64 = d_wr64, .mem_read = h_read, .mem_write = h_write,
                              .page_alloc = d_page_alloc, .page_free = d_page_free, .zalloc = d_zalloc,
                              .free = d_free, .mem_ptr = d_ptr};
    if (locked) {
        ops.lock = d_lock;
        ops.unlock = d_unlock;
    }
    if ((rc = vtd_drv_create(&ops, NULL, &in->drv)))
        die("vtd_drv_create", rc);
    if ((rc = vtd_drv_enable(in->drv)))
        die("vtd_drv_enable", rc);
}

/* A domain for device sid on in's unit, with the pinned page mapped; checks
 * that its mappings translate as mapped, then warms it up. */
static struct vtd_drv_domain *domain_init(struct inst *in, uint16_t sid, const struct geometry *g, bool warmup)
{
    struct vtd_drv_domain *dom;
    struct vtd_drv_domain_config dcfg;
    vtd_drv_domain_config_default(&dcfg);
    dcfg.levels = 4;
    if (g->deferred)
        dcfg.flags |= VTD_DRV_DOM_DEFERRED;
    int rc;
    if ((rc = vtd_drv_domain_create(in->drv, &dcfg, &dom)))
        die("vtd_drv_domain_create", rc);
    if ((rc = vtd_drv_attach(dom, sid, 0)))
        die("vtd_drv_attach", rc);
    unsigned prot = VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE;
    uint64_t page = g->page, base = g->base, pin = g->pin;
    if ((rc = vtd_drv_map(dom, pin, pin + (1ULL << 40), page, prot)))
        die("vtd_drv_map (pinned page)", rc);
    /* the set-up works: a mapped page translates, an unmapped one faults */
    if ((rc = vtd_drv_map(dom, base, base + (1ULL << 40), page, prot)))
        die("vtd_drv_map", rc);
    uint64_t pa = dma(&in->h, sid, base + page - 8);
    if ((rc = vtd_drv_unmap(dom, base, page, NULL)) || (g->deferred && (rc = vtd_drv_flush(dom))))
        die("vtd_drv_unmap", rc);
    if (pa != base + (1ULL << 40) + page - 8 || dma(&in->h, sid, base) != ~0ULL ||
        dma(&in->h, sid, pin) != pin + (1ULL << 40)) {
        fprintf(stderr, "vtd bench: %s: the driver's mappings do not translate as mapped\n", g->name);
        exit(1);
    }
    vtd_mmio_write(in->h.u, VTD_REG_FSTS, vtd_mmio_read(in->h.u, VTD_REG_FSTS, 4), 4);
    if (warmup && (rc = bench_drv_loop(dom, base, page, NIOVA * 2)))
        die("map/unmap", rc);
    return dom;
}

struct drv_job {
    struct vtd_bench_thread th;
    struct vtd_drv_domain *dom;
    const struct geometry *g;
    uint64_t iters;
    int rc;
};

static void *drv_thread(void *arg)
{
    struct drv_job *j = arg;
    pthread_barrier_wait(j->th.bar);
    double t0 = now_ns();
    j->rc = bench_drv_loop(j->dom, j->g->base, j->g->page, j->iters);
    j->th.ns = now_ns() - t0;
    return NULL;
}

static void run_drv(const struct vtd_bench_case *c, const struct vtd_bench_opts *o, const struct vtd_bench_report *r)
{
    bool big = strstr(c->name, "2m") != NULL, one_unit = strstr(c->name, "1unit") != NULL;
    struct geometry g = {.name = c->name, .deferred = strstr(c->name, "deferred") != NULL};
    g.page = big ? 1ULL << 21 : 1ULL << 12;
    g.base = big ? 1ULL << 30 : 1ULL << 21;
    g.pin = g.base + NIOVA * g.page;
    unsigned T = o->threads, nunits = one_unit ? 1 : T;

    struct vtd_mem *mem;
    if (vtd_mem_create(0, &mem))
        die("memory", VTD_DRV_ENOMEM);
    static struct inst inst[VTD_BENCH_MAX_THREADS];
    struct vtd_drv_domain *dom[VTD_BENCH_MAX_THREADS];
    for (unsigned k = 0; k < nunits; k++)
        inst_init(&inst[k], mem, k, one_unit);
    for (unsigned k = 0; k < T; k++)
        dom[k] = domain_init(&inst[one_unit ? 0 : k], (uint16_t)(DEV_SID + k), &g, o->warmup);

    static struct vtd_bench_runs runs;
    for (unsigned t = 1; t <= T; t++) {
        runs.n = 0;
        for (int rep = 0; rep < o->reps; rep++) {
            struct drv_job jobs[VTD_BENCH_MAX_THREADS];
            for (unsigned k = 0; k < t; k++)
                jobs[k] = (struct drv_job){.dom = dom[k], .g = &g, .iters = o->iters};
            double worst = vtd_bench_threads(t, drv_thread, jobs, sizeof jobs[0]);
            for (unsigned k = 0; k < t; k++)
                if (jobs[k].rc)
                    die("map/unmap", jobs[k].rc);
            vtd_bench_runs_add(&runs, worst / o->iters);
        }
        r->sample(r->opaque, c, t, &runs);
    }

    int rc;
    for (unsigned k = 0; k < T; k++)
        if (g.deferred && (rc = vtd_drv_flush(dom[k])))
            die("vtd_drv_flush", rc);
    struct vtd_drv_stats sum = {0};
    uint64_t diags = 0;
    for (unsigned k = 0; k < nunits; k++) {
        struct vtd_drv_stats st;
        vtd_drv_stats(inst[k].drv, &st);
        sum.iotlb_psi += st.iotlb_psi;
        sum.iotlb_dsi += st.iotlb_dsi;
        sum.fq_flushes += st.fq_flushes;
        sum.qi_submits += st.qi_submits;
        diags += inst[k].h.diags;
    }
    char note[256];
    snprintf(note, sizeof note,
             "%s; driver: %llu IOTLB PSI, %llu DSI, %llu flush-queue drains, %llu QI batches; unit: %llu diagnostics",
             one_unit ? "threads share one unit (a domain each)" : "a unit per thread",
             (unsigned long long)sum.iotlb_psi, (unsigned long long)sum.iotlb_dsi,
             (unsigned long long)sum.fq_flushes, (unsigned long long)sum.qi_submits, (unsigned long long)diags);
    r->note(r->opaque, c, note);
    for (unsigned k = 0; k < nunits; k++) {
        vtd_drv_destroy(inst[k].drv);
        vtd_destroy(inst[k].h.u);
        pthread_mutex_destroy(&inst[k].h.lock);
    }
    vtd_mem_destroy(mem);
}

const struct vtd_bench_case vtd_bench_drv_cases[] = {
    {"map4k-strict", "drv", "driver map+unmap 4 KiB, strict, a unit per thread", "map+unmap", 400, run_drv},
    {"map4k-deferred", "drv", "driver map+unmap 4 KiB, deferred, a unit per thread", "map+unmap", 0, run_drv},
    {"map2m-strict", "drv", "driver map+unmap 2 MiB, strict, a unit per thread", "map+unmap", 0, run_drv},
    {"map2m-deferred", "drv", "driver map+unmap 2 MiB, deferred, a unit per thread", "map+unmap", 0, run_drv},
    {"map4k-strict-1unit", "drv", "driver map+unmap 4 KiB, strict, one unit", "map+unmap", 0, run_drv},
    {"map4k-deferred-1unit", "drv", "driver map+unmap 4 KiB, deferred, one unit", "map+unmap", 0, run_drv},
    {"map2m-strict-1unit", "drv", "driver map+unmap 2 MiB, strict, one unit", "map+unmap", 0, run_drv},
    {"map2m-deferred-1unit", "drv", "driver map+unmap 2 MiB, deferred, one unit", "map+unmap", 0, run_drv},
};
const size_t vtd_bench_drv_ncases = sizeof vtd_bench_drv_cases / sizeof vtd_bench_drv_cases[0];
