/* SPDX-License-Identifier: MIT */
/*
 * vtd-bench: translation speed of the model.
 *
 *   vtd-bench [--iters N] [--threads T] [--case hit|walk|miss|all]
 *
 * Cases (each a unit with the default config, legacy mode, 4-level tables,
 * programmed through MMIO and memory as a driver would):
 *   hit   IOTLB hit: the same 256 pages translated again and again
 *   walk  full 4-level walk: IOTLB and paging-structure cache absent
 *         (iotlb_entries = pwc_entries = 0), context cached, tables in cache
 *   miss  IOTLB miss on a unit with all caches: 2^18 distinct pages, so the
 *         IOTLB never hits and the walk starts from the paging-structure cache
 *   irq   remapped interrupt: vtd_remap_msi on a remappable-format MSI whose
 *         IRTE (remapped format, SVT=1) is in the interrupt entry cache;
 *         each thread uses its own 128 indices
 *   flhit    scalable mode, PGTT 001 (first level, 4 levels): IOTLB hit on 256 pages
 *   flwalk   PGTT 001, IOTLB and paging-structure caches absent: a 4-level
 *            first-level walk every time (context and PASID caches hit)
 *   nestwalk PGTT 011 (nested, 4-level first and second level), no IOTLB or
 *            paging-structure caches: 4 first-level reads and 5 second-level
 *            walks of 4, 24 table reads per translation
 *   smhit    PGTT 010 (second level only, 4 levels): IOTLB hit on 256 pages
 *   nesthit  PGTT 011 (nested, 4-level first and second level): IOTLB hit on
 *            256 pages
 *   post  posted interrupt: vtd_remap_msi on a posted-format IRTE (IEC hit);
 *         each thread posts vectors 128..255 to its own descriptor, which the
 *         loop leaves pending (ON=1 after the first post), so this is the
 *         steady state of a vCPU that is not draining: PIR read, ON read, no
 *         notification
 * Reports ns per translation (or interrupt) on 1..T threads (wall clock, best of 5 runs) and
 * the speed-up of T threads over one.  For instructions per translation, run
 * it under callgrind with --no-warmup --reps 1 --threads 1 and
 * --toggle-collect=vtd_translate: scripts/bench.sh does that and prints both.
 *
 * The cases are the registry vtd_bench_model_cases[] below (bench/bench.h),
 * which `vtd bench` (tools/vtd/bench.c) runs too: this file is also compiled
 * into the vtd tool, without its main() (VTD_TOOL_NO_MAIN).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vtd/defs.h>
#include <vtd/mem.h>
#include <vtd/vtd.h>

#include "bench.h"

#define PAGE 4096ULL

struct bench {
    struct vtd_mem *mem;
    struct vtd *u;
    uint64_t next;
};

static uint64_t alloc_page(struct bench *b)
{
    uint64_t pa = b->next;
    b->next += PAGE;
    return pa;
}

static uint64_t rd64(struct bench *b, uint64_t pa)
{
    uint64_t v = 0;
    vtd_mem_read(b->mem, pa, &v, 8);
    return v;
}

static void wr64(struct bench *b, uint64_t pa, uint64_t v)
{
    if (vtd_mem_write(b->mem, pa, &v, 8)) {
        fprintf(stderr, "vtd-bench: memory write failed\n");
        exit(1);
    }
}

/* 4-level second-level map of one 4 KiB page. */
static void map4k(struct bench *b, uint64_t root, uint64_t iova, uint64_t pa)
{
    uint64_t table = root;
    for (int l = 4; l > 1; l--) {
        uint64_t e = table + ((iova >> (12 + 9 * (l - 1))) & 511) * 8, v = rd64(b, e);
        if (!(v & 3)) {
            v = alloc_page(b) | VTD_SL_R | VTD_SL_W;
            wr64(b, e, v);
        }
        table = v & VTD_GENMASK(51, 12);
    }
    wr64(b, table + ((iova >> 12) & 511) * 8, pa | VTD_SL_R | VTD_SL_W);
}

static void setup(struct bench *b, const struct vtd_config *cfg, unsigned ndev, uint64_t npages)
{
    memset(b, 0, sizeof(*b));
    b->next = 0x100000;
    if (vtd_mem_create(0, &b->mem)) {
        fprintf(stderr, "vtd-bench: cannot create memory\n");
        exit(1);
    }
    struct vtd_host h = {0};
    vtd_mem_host(b->mem, &h);
    int rc = vtd_create(cfg, &h, &b->u);
    if (rc) {
        fprintf(stderr, "vtd-bench: vtd_create: %s\n", vtd_strerror(rc));
        exit(1);
    }
    uint64_t rta = alloc_page(b), ctp = alloc_page(b);
    wr64(b, rta, ctp | VTD_ROOT_LO_P); /* bus 0 */
    for (unsigned d = 0; d < ndev; d++) {
        uint64_t root = alloc_page(b);
        for (uint64_t p = 0; p < npages; p++)
            map4k(b, root, p * PAGE, (0x40000000ULL + (d * npages + p) * PAGE));
        wr64(b, ctp + d * 8 * 16 + 8, VTD_AW_48 | (uint64_t)(d + 1) << 8);
        wr64(b, ctp + d * 8 * 16, root | VTD_CTX_LO_P);
    }
    vtd_mmio_write(b->u, VTD_REG_RTADDR, rta, 8);
    vtd_mmio_write(b->u, VTD_REG_GCMD, VTD_GCMD_SRTP, 4);
    vtd_mmio_write(b->u, VTD_REG_CCMD, VTD_CCMD_ICC | (uint64_t)VTD_CC_GLOBAL << VTD_CCMD_CIRG_SHIFT, 8);
    uint64_t iro = VTD_FIELD_GET(vtd_mmio_read(b->u, VTD_REG_ECAP, 8), 17, 8) * 16;
    vtd_mmio_write(b->u, iro + 8, VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_GLOBAL << VTD_IOTLB_IIRG_SHIFT, 8);
    vtd_mmio_write(b->u, VTD_REG_GCMD, VTD_GCMD_TE, 4);
    if (!(vtd_mmio_read(b->u, VTD_REG_GSTS, 4) & VTD_GSTS_TES)) {
        fprintf(stderr, "vtd-bench: translation did not enable\n");
        exit(1);
    }
}

/* Scalable mode: device d (devfn d << 3, bus 0) gets PASID directory, PASID
 * table and PASID-table entry 0 (its RID_PASID) with PGTT 001 or 011 and
 * first-level tables mapping npages pages (A and D preset, so the steady
 * state writes nothing).  Nested: every first-level table page and data
 * page is identity-mapped in a 4-level second level. */
static void sl_ident(struct bench *b, uint64_t sl, uint64_t pa)
{
    if (sl)
        map4k(b, sl, pa, pa);
}
static uint64_t fl_table(struct bench *b, uint64_t sl)
{
    uint64_t t = alloc_page(b);
    sl_ident(b, sl, t);
    return t;
}
static void map4k_fl(struct bench *b, uint64_t root, uint64_t sl, uint64_t va, uint64_t pa)
{
    const uint64_t bits = VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A;
    uint64_t table = root;
    for (int l = 4; l > 1; l--) {
        uint64_t e = table + ((va >> (12 + 9 * (l - 1))) & 511) * 8, v = rd64(b, e);
        if (!(v & VTD_FL_P)) {
            v = fl_table(b, sl) | bits;
            wr64(b, e, v);
        }
        table = v & VTD_FL_ADDR_MASK;
    }
    wr64(b, table + ((va >> 12) & 511) * 8, pa | bits | VTD_FL_D);
    sl_ident(b, sl, pa);
}
/* pgtt: 1 first level, 2 second level (4-level, SSADE off), 3 nested */
static void setup_sm(struct bench *b, const struct vtd_config *cfg, unsigned ndev, uint64_t npages, unsigned pgtt)
{
    memset(b, 0, sizeof(*b));
    b->next = 0x100000;
    struct vtd_host h = {0};
    if (vtd_mem_create(0, &b->mem) || (vtd_mem_host(b->mem, &h), vtd_create(cfg, &h, &b->u))) {
        fprintf(stderr, "vtd-bench: cannot create the scalable-mode unit\n");
        exit(1);
    }
    uint64_t rta = alloc_page(b), ctp = alloc_page(b);
    wr64(b, rta, ctp | VTD_SMROOT_P);
    for (unsigned d = 0; d < ndev; d++) {
        uint64_t dir = alloc_page(b), pt = alloc_page(b);
        uint64_t sl = pgtt != 1 ? alloc_page(b) : 0, root = pgtt != 2 ? fl_table(b, sl) : 0;
        for (uint64_t p = 0; p < npages; p++) {
            if (pgtt == 2)
                map4k(b, sl, p * PAGE, 0x40000000ULL + (d * npages + p) * PAGE);
            else
                map4k_fl(b, root, sl, p * PAGE, 0x40000000ULL + (d * npages + p) * PAGE);
        }
        uint64_t q0 = VTD_PE_Q0_P | (uint64_t)pgtt << VTD_PE_Q0_PGTT_SHIFT;
        if (pgtt != 1)
            q0 |= sl | (uint64_t)VTD_AW_48 << VTD_PE_Q0_AW_SHIFT;
        wr64(b, pt + 16, root);
        wr64(b, pt + 8, (d + 1) | VTD_PE_Q1_PWSNP);
        wr64(b, pt, q0);
        wr64(b, dir, pt | VTD_PDE_P);
        uint64_t ce = ctp + (uint64_t)(d << 3) * VTD_SMCTX_SIZE;
        wr64(b, ce + 8, 0); /* RID_PASID 0 */
        wr64(b, ce, dir | VTD_SMCTX_P);
    }
    vtd_mmio_write(b->u, VTD_REG_RTADDR, rta | (uint64_t)VTD_TTM_SCALABLE << VTD_RTADDR_TTM_SHIFT, 8);
    vtd_mmio_write(b->u, VTD_REG_GCMD, VTD_GCMD_SRTP, 4);
    vtd_mmio_write(b->u, VTD_REG_GCMD, VTD_GCMD_TE, 4);
    if (!(vtd_mmio_read(b->u, VTD_REG_GSTS, 4) & VTD_GSTS_TES)) {
        fprintf(stderr, "vtd-bench: translation did not enable\n");
        exit(1);
    }
}

static void teardown(struct bench *b)
{
    vtd_destroy(b->u);
    vtd_mem_destroy(b->mem);
}

struct job {
    struct bench *b;
    unsigned dev;
    uint64_t npages, iters;
    uint64_t ok;
    pthread_barrier_t *bar;
    bool warmup;
    double ns;
    int irq; /* 0 translate, 1 remapped, 2 posted */
};

/* The measured loops, kept out of line so that callgrind can count them
 * alone (--toggle-collect=translate_loop). */
__attribute__((noinline)) uint64_t translate_loop(struct vtd *u, uint16_t sid, uint64_t npages, uint64_t iters);
__attribute__((noinline)) uint64_t translate_loop(struct vtd *u, uint16_t sid, uint64_t npages, uint64_t iters)
{
    struct vtd_request req = {.sid = sid, .at = VTD_AT_UNTRANSLATED, .access = VTD_R};
    struct vtd_result res;
    uint64_t ok = 0, mask = npages - 1;
    for (uint64_t i = 0; i < iters; i++) {
        /* a stride coprime with npages visits every page, in an order
         * hardware prefetchers do not follow */
        req.addr = ((i * 40503) & mask) * PAGE + (i & 0xFF8);
        vtd_translate(u, &req, &res);
        ok += res.status == VTD_OK;
    }
    return ok;
}

/* Interrupts: the IRTE for (thread t, i) is index t * 128 + i, so two
 * threads use disjoint sets of the 256-entry interrupt entry cache. */
__attribute__((noinline)) uint64_t msi_loop(struct vtd *u, uint16_t sid, uint32_t base, uint32_t n, uint32_t first,
                                            uint64_t iters);
__attribute__((noinline)) uint64_t msi_loop(struct vtd *u, uint16_t sid, uint32_t base, uint32_t n, uint32_t first,
                                            uint64_t iters)
{
    struct vtd_msi m = {.sid = sid};
    struct vtd_irq o;
    uint64_t ok = 0;
    for (uint64_t i = 0; i < iters; i++) {
        uint32_t idx = base + first + (uint32_t)(i % n);
        m.addr = 0xFEE00000ULL | (uint64_t)(idx & 0x7FFF) << 5 | 1u << 4 | (uint64_t)(idx >> 15) << 2;
        vtd_remap_msi(u, &m, &o);
        ok += o.status == VTD_OK;
    }
    return ok;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *run_job(void *arg)
{
    struct job *j = arg;
    uint16_t sid = (uint16_t)(j->dev << 3);
    uint32_t base = j->dev * 128, n = 128, first = 0;
    if (j->warmup) {
        if (j->irq)
            msi_loop(j->b->u, sid, base, n, first, 2 * n);
        else
            translate_loop(j->b->u, sid, j->npages, j->npages * 2); /* warm up */
    }
    pthread_barrier_wait(j->bar);
    double t0 = now_ns();
    j->ok = j->irq ? msi_loop(j->b->u, sid, base, n, first, j->iters)
                   : translate_loop(j->b->u, sid, j->npages, j->iters);
    j->ns = now_ns() - t0;
    return NULL;
}

/* ns per translation per thread of each of `reps` runs */
/* warmup false (--no-warmup): for instruction counts under callgrind */
static const struct vtd_bench_runs *measure(struct bench *b, unsigned threads, uint64_t npages, uint64_t iters,
                                            int reps, bool warmup, int irq)
{
    static struct vtd_bench_runs runs; /* cases run one at a time */
    runs.n = 0;
    for (int r = 0; r < reps; r++) {
        pthread_t tid[16];
        struct job jobs[16];
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, threads);
        for (unsigned t = 0; t < threads; t++) {
            jobs[t] = (struct job){.b = b, .dev = t, .npages = npages, .iters = iters, .bar = &bar,
                                   .warmup = warmup, .irq = irq};
            pthread_create(&tid[t], NULL, run_job, &jobs[t]);
        }
        double worst = 0;
        for (unsigned t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            if (jobs[t].ok != iters) {
                fprintf(stderr, "vtd-bench: %llu of %llu requests failed\n",
                        (unsigned long long)(iters - jobs[t].ok), (unsigned long long)iters);
                exit(1);
            }
            if (jobs[t].ns > worst)
                worst = jobs[t].ns;
        }
        pthread_barrier_destroy(&bar);
        vtd_bench_runs_add(&runs, worst / iters);
    }
    return &runs;
}

static void run_case(const struct vtd_bench_case *c, const struct vtd_bench_opts *o, const struct vtd_bench_report *r)
{
    const char *name = c->name;
    unsigned maxthreads = o->threads;
    uint64_t iters = o->iters;
    int reps = o->reps;
    bool warmup = o->warmup;
    struct vtd_config cfg;
    const bool sm = !strncmp(name, "fl", 2) || !strncmp(name, "nest", 4) || !strcmp(name, "smhit");
    if (sm)
        vtd_config_scalable(&cfg);
    else
        vtd_config_default(&cfg);
    cfg.check_stale = false;
    uint64_t npages = 256;
    if (!strcmp(name, "flwalk") || !strcmp(name, "nestwalk")) {
        cfg.iotlb_entries = 0;
        cfg.pwc_entries = 0;
    } else if (!strcmp(name, "walk")) {
        cfg.iotlb_entries = 0;
        cfg.pwc_entries = 0;
    } else if (!strcmp(name, "miss")) {
        npages = 1u << 18;
    }
    struct bench b;
    if (sm)
        setup_sm(&b, &cfg, maxthreads, npages, !strncmp(name, "nest", 4) ? 3 : !strcmp(name, "smhit") ? 2 : 1);
    else
        setup(&b, &cfg, maxthreads, npages);
    for (unsigned t = 1; t <= maxthreads; t++)
        r->sample(r->opaque, c, t, measure(&b, t, npages, iters, reps, warmup, 0));
    struct vtd_stats st;
    vtd_get_stats(b.u, &st);
    char note[256];
    snprintf(note, sizeof note, "stats: %llu translations, %llu IOTLB hits, %llu misses, %llu walks, %llu table reads",
             (unsigned long long)st.translations, (unsigned long long)st.iotlb_hits,
             (unsigned long long)st.iotlb_misses, (unsigned long long)st.walks, (unsigned long long)st.mem_reads);
    r->note(r->opaque, c, note);
    teardown(&b);
}

/* Interrupt remapping table of 4096 entries (16 threads x 128 used) behind IRTA,
 * remapped IRTEs with SVT=1 for the remap case, posted IRTEs (one descriptor
 * per thread) for the post case; QI on, IRE on. */
static void run_irq_case(const struct vtd_bench_case *c, const struct vtd_bench_opts *o,
                         const struct vtd_bench_report *r)
{
    const char *name = c->name;
    unsigned maxthreads = o->threads;
    uint64_t iters = o->iters;
    int reps = o->reps;
    bool warmup = o->warmup;
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.check_stale = false;
    bool post = !strcmp(name, "post");
    struct bench b;
    setup(&b, &cfg, 1, 1);
    uint64_t irt = b.next;
    b.next += 16 * 4096;
    uint64_t iq = alloc_page(&b), pd = b.next;
    b.next += 16 * PAGE; /* one descriptor per page: no false sharing between threads */
    for (unsigned t = 0; t < 16; t++) {
        uint16_t sid = (uint16_t)(t << 3);
        uint64_t d = pd + t * PAGE;
        wr64(&b, d + 32, (uint64_t)0xF0 << 16 | (uint64_t)(t << 8) << 32); /* NV, xAPIC NDST */
        for (unsigned i = 0; i < 128; i++) {
            uint64_t lo, hi = sid | (uint64_t)VTD_SVT_SID << VTD_IRTE_HI_SVT_SHIFT;
            if (post)
                lo = VTD_IRTE_P | VTD_IRTE_IM | (uint64_t)(128 + i) << VTD_IRTE_V_SHIFT |
                     ((d >> 6) & 0x3FFFFFF) << VTD_IRTE_PDAL_SHIFT;
            else
                lo = VTD_IRTE_P | (uint64_t)(0x20 + i) << VTD_IRTE_V_SHIFT | (uint64_t)t << 40;
            uint32_t idx = t * 128 + i; /* threads use disjoint IEC sets */
            wr64(&b, irt + idx * 16ULL, lo);
            wr64(&b, irt + idx * 16ULL + 8, hi);
        }
    }
    vtd_mmio_write(b.u, VTD_REG_IQA, iq, 8);
    vtd_mmio_write(b.u, VTD_REG_GCMD, VTD_GCMD_TE | VTD_GCMD_QIE, 4);
    vtd_mmio_write(b.u, VTD_REG_IRTA, irt | 11, 8); /* 2^12 entries */
    vtd_mmio_write(b.u, VTD_REG_GCMD, VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_SIRTP, 4);
    vtd_mmio_write(b.u, VTD_REG_GCMD, VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE, 4);
    if (!(vtd_mmio_read(b.u, VTD_REG_GSTS, 4) & VTD_GSTS_IRES)) {
        fprintf(stderr, "vtd-bench: interrupt remapping did not enable\n");
        exit(1);
    }
    for (unsigned t = 1; t <= maxthreads; t++)
        r->sample(r->opaque, c, t, measure(&b, t, 1, iters, reps, warmup, post ? 2 : 1));
    teardown(&b);
}

/* The model's cases, in the order `vtd-bench --case all` and `vtd bench` run
 * them.  Targets (ns per operation per thread) are the remapping-unit issue's. */
const struct vtd_bench_case vtd_bench_model_cases[] = {
    {"hit", "translate", "IOTLB hit", "translation", 15, run_case},
    {"walk", "translate", "4-level walk, no IOTLB/PWC", "translation", 80, run_case},
    {"miss", "translate", "IOTLB miss, PWC on", "translation", 0, run_case},
    {"irq", "irq", "remapped interrupt, IEC hit", "interrupt", 0, run_irq_case},
    {"post", "irq", "posted interrupt (ON set)", "interrupt", 0, run_irq_case},
    /* first-level and nested (scalable-mode) translation */
    {"flhit", "translate", "first level, IOTLB hit", "translation", 0, run_case},
    {"flwalk", "translate", "first level 4-level walk, no IOTLB/PWC", "translation", 0, run_case},
    {"nestwalk", "translate", "nested 4+4-level walk, no IOTLB/PWC", "translation", 0, run_case},
    {"smhit", "translate", "scalable mode second level, IOTLB hit", "translation", 0, run_case},
    {"nesthit", "translate", "nested, IOTLB hit", "translation", 0, run_case},
};
const size_t vtd_bench_model_ncases = sizeof vtd_bench_model_cases / sizeof vtd_bench_model_cases[0];

#ifndef VTD_TOOL_NO_MAIN
/* vtd-bench's own output: one line per case and thread count. */
struct line_state {
    double one; /* ns on 1 thread, for the speed-up */
};

static void print_sample(void *opaque, const struct vtd_bench_case *c, unsigned t, const struct vtd_bench_runs *runs)
{
    struct line_state *ls = opaque;
    double ns = vtd_bench_best(runs);
    if (t == 1)
        ls->one = ns;
    if (!strcmp(c->unit, "interrupt"))
        printf("%-5s %-28s threads=%u  %7.1f ns/interrupt/thread    %6.2f Mirq/s total    speed-up %.2fx\n",
               c->name, c->what, t, ns, t * 1e3 / ns, t * ls->one / ns);
    else
        printf("%-5s %-28s threads=%u  %7.1f ns/translation/thread  %6.2f Mtrans/s total  speed-up %.2fx\n",
               c->name, c->what, t, ns, t * 1e3 / ns, t * ls->one / ns);
    fflush(stdout);
}

static void print_note(void *opaque, const struct vtd_bench_case *c, const char *text)
{
    (void)opaque, (void)c;
    printf("      %s\n", text);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vtd-bench [--iters N] [--threads T] [--reps R] [--case NAME|all] [--no-warmup]\n"
               "  Measures vtd_translate and vtd_remap_msi on a legacy-mode unit (see the comment at the top of\n"
               "  bench/vtd-bench.c).  Defaults: --iters 2000000 --threads 2 --reps 5 --case all\n"
               "  cases:");
    for (size_t i = 0; i < vtd_bench_model_ncases; i++)
        fprintf(f, " %s", vtd_bench_model_cases[i].name);
    fprintf(f, "\n");
}

int main(int argc, char **argv)
{
    uint64_t iters = 2000000;
    unsigned threads = 2;
    int reps = 5;
    const char *which = "all";
    bool warmup = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--iters") && v) {
            iters = strtoull(v, NULL, 0), i++;
        } else if (!strcmp(a, "--threads") && v) {
            threads = (unsigned)atoi(v), i++;
        } else if (!strcmp(a, "--reps") && v) {
            reps = atoi(v), i++;
        } else if (!strcmp(a, "--case") && v) {
            which = v, i++;
        } else if (!strcmp(a, "--no-warmup")) {
            warmup = false;
        } else {
            fprintf(stderr, "vtd-bench: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!iters || threads < 1 || threads > 16 || reps < 1 || reps > VTD_BENCH_MAX_REPS) {
        fprintf(stderr, "vtd-bench: --iters must be > 0, --threads 1..16, --reps 1..%d\n", VTD_BENCH_MAX_REPS);
        return 2;
    }
    const struct vtd_bench_opts o = {.threads = threads, .iters = iters, .reps = reps, .warmup = warmup};
    struct line_state ls = {0};
    const struct vtd_bench_report rep = {.sample = print_sample, .note = print_note, .opaque = &ls};
    int ran = 0;
    for (size_t c = 0; c < vtd_bench_model_ncases; c++) {
        if (strcmp(which, "all") && strcmp(which, vtd_bench_model_cases[c].name))
            continue;
        vtd_bench_model_cases[c].run(&vtd_bench_model_cases[c], &o, &rep);
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "vtd-bench: unknown case '%s' (see --help)\n", which);
        return 2;
    }
    return 0;
}
#endif
