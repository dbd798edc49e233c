/* SPDX-License-Identifier: MIT */
/*
 * vtd bench: every benchmark in one command, as a table or JSON.
 *
 * Cases come from registries (bench/bench.h): the model's translation and
 * interrupt cases (bench/vtd-bench.c, shared with the standalone vtd-bench
 * that scripts/bench.sh runs), the IOVA allocator's below, and the driver's
 * map+unmap (bench_drv.c).  Results go to stdout, progress to stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vtd/iova.h>

#include "bench.h"
#include "tool.h"

/* ---- IOVA allocator cases (src/drv/iova.c) ---- */

static void *heap_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return malloc(size);
}

static void heap_free(void *opaque, void *p, size_t size)
{
    (void)opaque, (void)size;
    free(p);
}

static struct vtd_iova *iova_new(unsigned ncpus)
{
    struct vtd_iova_config cfg = {.base = VTD_IOVA_PAGE_SIZE, .end = 1ULL << 48, .ncpus = ncpus,
                                  .alloc = heap_alloc, .free = heap_free};
    struct vtd_iova *d;
    int rc = vtd_iova_create(&cfg, &d);
    if (!rc)
        rc = vtd_iova_reserve(d, 0xFEE00000, 0x100000); /* the interrupt window, as a driver does */
    if (rc) {
        fprintf(stderr, "vtd bench: IOVA allocator: %s\n", vtd_iova_strerror(rc));
        exit(1);
    }
    return d;
}

enum { IOVA_SINGLE, IOVA_BATCH, IOVA_TREE };

/* The measured loops (out of line, for callgrind's --toggle-collect).
 * Each returns the number of calls that failed (0 expected). */
__attribute__((noinline)) uint64_t bench_iova_single(struct vtd_iova *d, unsigned cpu, uint64_t iters);
__attribute__((noinline)) uint64_t bench_iova_single(struct vtd_iova *d, unsigned cpu, uint64_t iters)
{
    uint64_t bad = 0, a = 0;
    for (uint64_t i = 0; i < iters; i++) {
        bad += vtd_iova_alloc(d, cpu, 1, 0, &a) != 0;
        bad += vtd_iova_free(d, cpu, a, 1) != 0;
    }
    return bad;
}

/* 16 allocations of mixed cached sizes (mostly 1 page, as network and
 * storage DMA is), then their 16 frees: the magazines exchange with the
 * depot now and then. */
static const uint64_t batch_sizes[16] = {1, 1, 2, 1, 4, 1, 8, 1, 1, 2, 16, 1, 32, 1, 4, 3};

__attribute__((noinline)) uint64_t bench_iova_batch(struct vtd_iova *d, unsigned cpu, uint64_t iters);
__attribute__((noinline)) uint64_t bench_iova_batch(struct vtd_iova *d, unsigned cpu, uint64_t iters)
{
    uint64_t bad = 0, a[16];
    for (uint64_t i = 0; i < iters; i += 16) {
        for (int k = 0; k < 16; k++)
            bad += vtd_iova_alloc(d, cpu, batch_sizes[k], 0, &a[k]) != 0;
        for (int k = 0; k < 16; k++)
            bad += vtd_iova_free(d, cpu, a[k], batch_sizes[k]) != 0;
    }
    return bad;
}

/* No caches: every alloc and free searches and rebalances the tree. */
__attribute__((noinline)) uint64_t bench_iova_tree(struct vtd_iova *d, unsigned cpu, uint64_t iters);
__attribute__((noinline)) uint64_t bench_iova_tree(struct vtd_iova *d, unsigned cpu, uint64_t iters)
{
    uint64_t bad = 0, a = 0;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t n = 1 + (i & 3);
        bad += vtd_iova_alloc(d, cpu, n, 0, &a) != 0;
        bad += vtd_iova_free(d, cpu, a, n) != 0;
    }
    return bad;
}

struct iova_job {
    struct vtd_bench_thread th;
    struct vtd_iova *d;
    unsigned cpu;
    int kind;
    uint64_t iters, bad;
    bool warmup;
};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t iova_loop(const struct iova_job *j, uint64_t iters)
{
    switch (j->kind) {
    case IOVA_BATCH: return bench_iova_batch(j->d, j->cpu, iters);
    case IOVA_TREE: return bench_iova_tree(j->d, j->cpu, iters);
    default: return bench_iova_single(j->d, j->cpu, iters);
    }
}

static void *iova_thread(void *arg)
{
    struct iova_job *j = arg;
    if (j->warmup)
        j->bad += iova_loop(j, j->iters / 10 + 16);
    pthread_barrier_wait(j->th.bar);
    double t0 = now_ns();
    j->bad += iova_loop(j, j->iters);
    j->th.ns = now_ns() - t0;
    return NULL;
}

static void run_iova(const struct vtd_bench_case *c, const struct vtd_bench_opts *o, const struct vtd_bench_report *r)
{
    int kind = !strcmp(c->name, "iova-batch") ? IOVA_BATCH : !strcmp(c->name, "iova-tree") ? IOVA_TREE : IOVA_SINGLE;
    struct vtd_iova *d = iova_new(kind == IOVA_TREE ? 0 : o->threads);
    uint64_t iters = kind == IOVA_BATCH ? (o->iters + 15) / 16 * 16 : o->iters;
    if (kind == IOVA_TREE) {
        /* a fragmented tree: 20000 ranges of 1..64 pages, every other one freed */
        static uint64_t at[20000];
        for (unsigned i = 0; i < 20000; i++)
            if (vtd_iova_alloc(d, 0, 1 + i % 64, 0, &at[i])) {
                fprintf(stderr, "vtd bench: IOVA set-up allocation failed\n");
                exit(1);
            }
        for (unsigned i = 0; i < 20000; i += 2)
            vtd_iova_free(d, 0, at[i], 1 + i % 64);
    }
    static struct vtd_bench_runs runs;
    for (unsigned t = 1; t <= o->threads; t++) {
        runs.n = 0;
        for (int rep = 0; rep < o->reps; rep++) {
            struct iova_job jobs[VTD_BENCH_MAX_THREADS];
            for (unsigned k = 0; k < t; k++)
                jobs[k] = (struct iova_job){.d = d, .cpu = k, .kind = kind, .iters = iters, .warmup = o->warmup};
            double worst = vtd_bench_threads(t, iova_thread, jobs, sizeof jobs[0]);
            for (unsigned k = 0; k < t; k++) {
                if (jobs[k].bad) {
                    fprintf(stderr, "vtd bench: %s: %llu IOVA calls failed\n", c->name,
                            (unsigned long long)jobs[k].bad);
                    exit(1);
                }
            }
            vtd_bench_runs_add(&runs, worst / iters);
        }
        r->sample(r->opaque, c, t, &runs);
    }
    struct vtd_iova_stats st;
    vtd_iova_get_stats(d, &st);
    char note[256];
    snprintf(note, sizeof note,
             "stats: %llu fast allocs, %llu tree allocs, %llu fast frees, %llu tree frees, %llu tree nodes",
             (unsigned long long)st.fast_allocs, (unsigned long long)st.slow_allocs,
             (unsigned long long)st.fast_frees, (unsigned long long)st.slow_frees,
             (unsigned long long)st.tree_nodes);
    r->note(r->opaque, c, note);
    vtd_iova_destroy(d);
}

/* The IOVA allocator's cases; the driver's map+unmap cases are in bench_drv.c. */
static const struct vtd_bench_case iova_cases[] = {
    {"iova-fast", "iova", "IOVA alloc+free, 1 page, CPU magazine", "alloc+free", 50, run_iova},
    {"iova-batch", "iova", "IOVA 16 allocs (1-32 pages), 16 frees", "alloc+free", 50, run_iova},
    {"iova-tree", "iova", "IOVA alloc+free, no caches, 10k ranges", "alloc+free", 0, run_iova},
};

/* ---- the command ---- */

struct registry {
    const struct vtd_bench_case *cases;
    size_t n;
};

static size_t all_cases(const struct vtd_bench_case **out, size_t max)
{
    const struct registry regs[] = {
        {vtd_bench_model_cases, vtd_bench_model_ncases},
        {iova_cases, sizeof iova_cases / sizeof iova_cases[0]},
        {vtd_bench_drv_cases, vtd_bench_drv_ncases},
    };
    size_t n = 0;
    for (size_t r = 0; r < sizeof regs / sizeof regs[0]; r++)
        for (size_t i = 0; i < regs[r].n && n < max; i++)
            out[n++] = &regs[r].cases[i];
    return n;
}

struct sample {
    const struct vtd_bench_case *c;
    unsigned threads;
    double ns, median, one; /* ns: the best run; one: the same case's best on 1 thread */
};

struct note {
    const struct vtd_bench_case *c;
    char text[256];
};

#define MAX_CASES 64
#define MAX_SAMPLES (MAX_CASES * VTD_BENCH_MAX_THREADS)

struct results {
    struct sample s[MAX_SAMPLES];
    size_t ns;
    struct note notes[MAX_CASES];
    size_t nnotes;
};

static void on_sample(void *opaque, const struct vtd_bench_case *c, unsigned threads,
                      const struct vtd_bench_runs *runs)
{
    struct results *res = opaque;
    double ns = vtd_bench_best(runs), median = vtd_bench_median(runs);
    double one = ns;
    for (size_t i = 0; i < res->ns; i++)
        if (res->s[i].c == c && res->s[i].threads == 1)
            one = res->s[i].ns;
    if (res->ns < MAX_SAMPLES)
        res->s[res->ns++] = (struct sample){c, threads, ns, median, one};
    fprintf(stderr, "vtd bench:   %s threads=%u: %.1f ns/%s/thread (median %.1f)\n", c->name, threads, ns, c->unit,
            median);
}

static void on_note(void *opaque, const struct vtd_bench_case *c, const char *text)
{
    struct results *res = opaque;
    if (res->nnotes < MAX_CASES) {
        res->notes[res->nnotes].c = c;
        snprintf(res->notes[res->nnotes].text, sizeof res->notes[0].text, "%s", text);
        res->nnotes++;
    }
}

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            colon++;
            while (*colon == ' ' || *colon == '\t')
                colon++;
            colon[strcspn(colon, "\n")] = 0;
            snprintf(buf, len, "%s", colon);
            break;
        }
    }
    fclose(f);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static const char *verdict(const struct sample *s)
{
    if (!s->c->target_ns)
        return "";
    return s->ns <= s->c->target_ns ? "met" : "MISSED";
}

static void print_table(const struct results *res, const struct vtd_bench_opts *o, const char *cpu)
{
    printf("vtd bench: %ld cores, %s; --threads %u --iters %llu --reps %d%s\n", sysconf(_SC_NPROCESSORS_ONLN), cpu,
           o->threads, (unsigned long long)o->iters, o->reps, o->warmup ? "" : " --no-warmup");
    printf("%-20s %-11s %7s %13s %9s %12s %9s %-13s %s\n", "case", "operation", "threads", "ns/op/thread", "median",
           "Mops/s total", "speed-up", "target", "what");
    for (size_t i = 0; i < res->ns; i++) {
        const struct sample *s = &res->s[i];
        char target[32] = "-";
        if (s->c->target_ns)
            snprintf(target, sizeof target, "%.0f ns %s", s->c->target_ns, verdict(s));
        printf("%-20s %-11s %7u %13.1f %9.1f %12.2f %8.2fx %-13s %s\n", s->c->name, s->c->unit, s->threads, s->ns,
               s->median, s->threads * 1e3 / s->ns, s->threads * s->one / s->ns, target, s->c->what);
    }
    for (size_t i = 0; i < res->nnotes; i++)
        printf("  %s: %s\n", res->notes[i].c->name, res->notes[i].text);
}

static void print_json(const struct results *res, const struct vtd_bench_opts *o, const char *cpu)
{
    printf("{\"machine\": {\"cores\": %ld, \"cpu\": ", sysconf(_SC_NPROCESSORS_ONLN));
    json_str(stdout, cpu);
    printf("},\n \"options\": {\"threads\": %u, \"iters\": %llu, \"reps\": %d, \"warmup\": %s},\n \"results\": [",
           o->threads, (unsigned long long)o->iters, o->reps, o->warmup ? "true" : "false");
    for (size_t i = 0; i < res->ns; i++) {
        const struct sample *s = &res->s[i];
        printf("%s\n  {\"case\": ", i ? "," : "");
        json_str(stdout, s->c->name);
        printf(", \"group\": ");
        json_str(stdout, s->c->group);
        printf(", \"operation\": ");
        json_str(stdout, s->c->unit);
        printf(", \"what\": ");
        json_str(stdout, s->c->what);
        printf(", \"threads\": %u, \"ns_per_op\": %.2f, \"ns_per_op_median\": %.2f, \"mops_total\": %.3f, "
               "\"speedup\": %.3f",
               s->threads, s->ns, s->median, s->threads * 1e3 / s->ns, s->threads * s->one / s->ns);
        if (s->c->target_ns)
            printf(", \"target_ns\": %.0f, \"target_met\": %s}", s->c->target_ns,
                   s->ns <= s->c->target_ns ? "true" : "false");
        else
            printf(", \"target_ns\": null, \"target_met\": null}");
    }
    printf("\n ],\n \"notes\": [");
    for (size_t i = 0; i < res->nnotes; i++) {
        printf("%s\n  {\"case\": ", i ? "," : "");
        json_str(stdout, res->notes[i].c->name);
        printf(", \"text\": ");
        json_str(stdout, res->notes[i].text);
        printf("}");
    }
    printf("\n ]}\n");
}

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: vtd bench [--case NAME]... [--threads T] [--iters N] [--reps R] [--json] [--no-warmup]\n"
               "       vtd bench --list\n\n"
               "Runs the benchmarks: the model's translation and interrupt cases, the IOVA\n"
               "allocator, the driver's map+unmap.  Each case runs on 1..T threads; a row gives wall-clock ns per\n"
               "operation per thread (best of R runs, a run timed by its slowest thread, and\n"
               "the median run), the total rate, the speed-up over one thread and the issue's target.\n\n"
               "  --case NAME  a case or a group (translate, irq, iova, drv); repeat, or\n"
               "               separate with commas.  Default: all\n"
               "  --threads T  1..%d (default 2)     --iters N  operations per thread (default 2000000)\n"
               "  --reps R     runs per row, 1..%d (default 5)\n"
               "  --json       results as JSON on stdout    --list  the cases, one a line\n"
               "  --no-warmup  skip the warm-up pass (for instruction counts under callgrind)\n"
               "Progress goes to stderr.  Exit status: 0, 1 a case failed, 2 bad usage.\n",
               VTD_BENCH_MAX_THREADS, VTD_BENCH_MAX_REPS);
}

/* Parses an unsigned number in [lo, hi]; false with a message otherwise. */
static bool parse_num(const char *opt, const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = v && *v && *v != '-' ? strtoull(v, &end, 0) : 0;
    if (!v || !*v || *v == '-' || errno || *end || x < lo || x > hi) {
        fprintf(stderr, "vtd bench: %s wants a number from %llu to %llu, got '%s'\n", opt, (unsigned long long)lo,
                (unsigned long long)hi, v ? v : "");
        return false;
    }
    *out = x;
    return true;
}

static bool selected(const struct vtd_bench_case *c, char **sel, int nsel)
{
    if (!nsel)
        return true;
    for (int i = 0; i < nsel; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", sel[i]);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
            if (!strcmp(tok, c->name) || !strcmp(tok, c->group) || !strcmp(tok, "all"))
                return true;
    }
    return false;
}

int cmd_bench(int argc, char **argv)
{
    struct vtd_bench_opts o = {.threads = 2, .iters = 2000000, .reps = 5, .warmup = true};
    bool json = false, list = false;
    char *sel[32];
    int nsel = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *v = NULL;
        char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        char name[32];
        if (eq && (size_t)(eq - a) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            a = name;
            v = eq + 1;
        }
        bool takes = !strcmp(a, "--case") || !strcmp(a, "--threads") || !strcmp(a, "--iters") || !strcmp(a, "--reps");
        if (takes && !v) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vtd bench: %s needs a value (see vtd bench --help)\n", a);
                return 2;
            }
            v = argv[++i];
        } else if (!takes && v) {
            fprintf(stderr, "vtd bench: %s takes no value\n", a);
            return 2;
        }
        uint64_t x;
        if (tool_is_help(a)) {
            bench_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--list")) {
            list = true;
        } else if (!strcmp(a, "--no-warmup")) {
            o.warmup = false;
        } else if (!strcmp(a, "--case")) {
            if (nsel == 32) {
                fprintf(stderr, "vtd bench: at most 32 --case options\n");
                return 2;
            }
            sel[nsel++] = v;
        } else if (!strcmp(a, "--threads")) {
            if (!parse_num(a, v, 1, VTD_BENCH_MAX_THREADS, &x))
                return 2;
            o.threads = (unsigned)x;
        } else if (!strcmp(a, "--iters")) {
            if (!parse_num(a, v, 1, 1ULL << 40, &x))
                return 2;
            o.iters = x;
        } else if (!strcmp(a, "--reps")) {
            if (!parse_num(a, v, 1, VTD_BENCH_MAX_REPS, &x))
                return 2;
            o.reps = (int)x;
        } else {
            fprintf(stderr, "vtd bench: unknown option '%s' (see vtd bench --help)\n", argv[i]);
            return 2;
        }
    }
    const struct vtd_bench_case *cases[MAX_CASES];
    size_t ncases = all_cases(cases, MAX_CASES);
    if (list) {
        int wn = 4, ww = 4;
        for (size_t i = 0; i < ncases; i++) {
            int n = (int)strlen(cases[i]->name), m = (int)strlen(cases[i]->what);
            wn = n > wn ? n : wn;
            ww = m > ww ? m : ww;
        }
        for (size_t i = 0; i < ncases; i++) {
            char target[32] = "";
            if (cases[i]->target_ns)
                snprintf(target, sizeof target, "target %.0f ns", cases[i]->target_ns);
            printf("%-*s %-10s %-*s %s\n", wn, cases[i]->name, cases[i]->group, ww, cases[i]->what, target);
        }
        return 0;
    }
    /* every name asked for must mean something */
    for (int k = 0; k < nsel; k++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", sel[k]);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            bool known = !strcmp(tok, "all");
            for (size_t i = 0; i < ncases && !known; i++)
                known = !strcmp(tok, cases[i]->name) || !strcmp(tok, cases[i]->group);
            if (!known) {
                fprintf(stderr, "vtd bench: no case or group '%s' (vtd bench --list shows them)\n", tok);
                return 2;
            }
        }
    }
    static struct results res;
    res.ns = res.nnotes = 0;
    const struct vtd_bench_report rep = {.sample = on_sample, .note = on_note, .opaque = &res};
    size_t todo = 0, done = 0;
    for (size_t i = 0; i < ncases; i++)
        todo += selected(cases[i], sel, nsel);
    for (size_t i = 0; i < ncases; i++) {
        if (!selected(cases[i], sel, nsel))
            continue;
        fprintf(stderr, "vtd bench: [%zu/%zu] %s: %s, 1..%u threads\n", ++done, todo, cases[i]->name,
                cases[i]->what, o.threads);
        cases[i]->run(cases[i], &o, &rep);
    }
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    if (json)
        print_json(&res, &o, cpu);
    else
        print_table(&res, &o, cpu);
    return 0;
}
