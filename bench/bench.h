/* SPDX-License-Identifier: MIT */
/*
 * Benchmark cases, shared by the standalone bench/vtd-bench and `vtd bench`
 * (tools/vtd/bench.c).
 *
 * A case measures one operation (a translation, an interrupt, an IOVA
 * alloc+free, ...) on 1..threads threads and reports, for each thread count,
 * the wall-clock ns per operation per thread (best of reps runs; a run's
 * time is its slowest thread's).  Cases live in registries: the model's
 * (remapping unit) cases in bench/vtd-bench.c, the driver layer's in
 * tools/vtd/bench.c (IOVA allocator) and tools/vtd/bench_drv.c (map/unmap).
 * To add one: write its run function, add a row to the registry.
 */
#ifndef VTD_BENCH_H
#define VTD_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vtd_bench_opts {
    unsigned threads; /* measure on 1..threads threads (at most VTD_BENCH_MAX_THREADS) */
    uint64_t iters;   /* operations per thread per run */
    int reps;         /* runs per thread count; the best is reported */
    bool warmup;      /* false: no warm-up pass (instruction counts under callgrind) */
};

#define VTD_BENCH_MAX_THREADS 16

struct vtd_bench_case;

/* Where a case's results go. */
struct vtd_bench_report {
    /* ns per operation per thread, measured on `threads` threads */
    void (*sample)(void *opaque, const struct vtd_bench_case *c, unsigned threads, double ns);
    /* one line of extra information (statistics of the run) */
    void (*note)(void *opaque, const struct vtd_bench_case *c, const char *text);
    void *opaque;
};

struct vtd_bench_case {
    const char *name;   /* --case NAME */
    const char *group;  /* translate, irq, iova, drv */
    const char *what;   /* one line: what is measured */
    const char *unit;   /* the operation: "translation", "interrupt", "alloc+free" */
    double target_ns;   /* the target per operation per thread, 0: none */
    /* Runs on 1..o->threads threads, calling r->sample once per thread count.
     * Exits the process (status 1, message on stderr) when its setup fails. */
    void (*run)(const struct vtd_bench_case *c, const struct vtd_bench_opts *o, const struct vtd_bench_report *r);
};

/* The model's cases (bench/vtd-bench.c). */
extern const struct vtd_bench_case vtd_bench_model_cases[];
extern const size_t vtd_bench_model_ncases;
/* The driver's map+unmap cases (tools/vtd/bench_drv.c, `vtd bench` only). */
extern const struct vtd_bench_case vtd_bench_drv_cases[];
extern const size_t vtd_bench_drv_ncases;

#endif
