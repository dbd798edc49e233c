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

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vtd_bench_opts {
    unsigned threads; /* measure on 1..threads threads (at most VTD_BENCH_MAX_THREADS) */
    uint64_t iters;   /* operations per thread per run */
    int reps;         /* runs per thread count (at most VTD_BENCH_MAX_REPS): best and median reported */
    bool warmup;      /* false: no warm-up pass (instruction counts under callgrind) */
};

#define VTD_BENCH_MAX_THREADS 16
#define VTD_BENCH_MAX_REPS 1000

/* The runs of one case at one thread count: ns per operation per thread of
 * each (a run's time is its slowest thread's). */
struct vtd_bench_runs {
    int n;
    double ns[VTD_BENCH_MAX_REPS];
};

static inline void vtd_bench_runs_add(struct vtd_bench_runs *r, double ns)
{
    if (r->n < VTD_BENCH_MAX_REPS)
        r->ns[r->n++] = ns;
}

static inline double vtd_bench_best(const struct vtd_bench_runs *r)
{
    double best = r->n ? r->ns[0] : 0;
    for (int i = 1; i < r->n; i++)
        if (r->ns[i] < best)
            best = r->ns[i];
    return best;
}

/* the middle run (the mean of the two middle ones for an even count) */
static inline double vtd_bench_median(const struct vtd_bench_runs *r)
{
    double v[VTD_BENCH_MAX_REPS];
    int n = r->n;
    for (int i = 0; i < n; i++) {
        int j = i;
        for (; j > 0 && v[j - 1] > r->ns[i]; j--)
            v[j] = v[j - 1];
        v[j] = r->ns[i];
    }
    if (!n)
        return 0;
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The first member of every job vtd_bench_threads runs. */
struct vtd_bench_thread {
    pthread_barrier_t *bar; /* the job waits on it just before its timed part */
    double ns;              /* the job sets it: the timed part's wall-clock ns */
};

/* Runs fn on t threads (t <= VTD_BENCH_MAX_THREADS), thread k on the job at
 * (char *)jobs + k * size, released together; returns the slowest one's ns. */
static inline double vtd_bench_threads(unsigned t, void *(*fn)(void *), void *jobs, size_t size)
{
    pthread_t tid[VTD_BENCH_MAX_THREADS];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, t);
    for (unsigned k = 0; k < t; k++) {
        struct vtd_bench_thread *th = (struct vtd_bench_thread *)((char *)jobs + k * size);
        th->bar = &bar;
        pthread_create(&tid[k], NULL, fn, th);
    }
    double worst = 0;
    for (unsigned k = 0; k < t; k++) {
        pthread_join(tid[k], NULL);
        const struct vtd_bench_thread *th = (const struct vtd_bench_thread *)((char *)jobs + k * size);
        if (th->ns > worst)
            worst = th->ns;
    }
    pthread_barrier_destroy(&bar);
    return worst;
}

struct vtd_bench_case;

/* Where a case's results go. */
struct vtd_bench_report {
    /* the runs on `threads` threads (ns per operation per thread) */
    void (*sample)(void *opaque, const struct vtd_bench_case *c, unsigned threads, const struct vtd_bench_runs *runs);
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
