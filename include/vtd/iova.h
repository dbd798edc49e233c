/* SPDX-License-Identifier: MIT */
/*
 * IOVA allocator for DMA-API style use (part of the driver layer, src/drv/iova.c).
 *
 * One `struct vtd_iova` hands out I/O virtual address ranges of one address
 * space (one domain), in 4 KiB pages, as dma_map_*() needs them:
 *
 *   - allocation is top-down: the highest size-aligned free range that ends
 *     at or below the caller's limit (a DMA mask + 1) is returned, like Linux;
 *   - a range of N pages is aligned to N rounded up to a power of two, so it
 *     can be mapped with the largest pages its size allows;
 *   - sizes up to VTD_IOVA_CACHE_MAX_PAGES are rounded up to a power of two
 *     and served from per-CPU magazines (two per CPU and size, each holding
 *     VTD_IOVA_MAG_SIZE ranges) backed by a depot of full magazines per size;
 *     a range freed into a magazine stays allocated in the tree until the
 *     cache gives it back (full depot, vtd_iova_flush(), or an allocation
 *     that would otherwise fail: it flushes every cache and retries once);
 *   - the slow path is a balanced (AVL) tree of segments that partition the
 *     address space (free, allocated, reserved), each subtree annotated with
 *     its longest free segment, so a search skips every subtree that cannot
 *     hold the request: O(log n) tree steps, plus the free segments long
 *     enough but without an aligned fit below the limit that it visits;
 *   - reserved ranges (the interrupt window 0xFEE00000-0xFEEFFFFF, RMRRs, ...)
 *     are never handed out;
 *   - every free is checked: an address that is not the start of a live
 *     allocation (double free, never allocated, reserved) and a size that is
 *     not the allocated size are reported, never silently accepted.  The
 *     check is exact for a program that frees each range from one thread; a
 *     double free racing the first free of the same range is reported to one
 *     of the two callers.
 *
 * Freestanding: no libc.  Memory comes from the caller's alloc/free callbacks
 * (tree nodes in 4 KiB chunks, magazines of 512 bytes, the per-CPU array and
 * the hash of cached-size allocations at create time).  The callbacks are
 * called only while the allocator holds its tree lock, so never concurrently
 * with each other by one allocator.
 *
 * Threads: every function may be called from many threads at once, with one
 * exception: a cpu index is used by one thread at a time (as per-CPU data with
 * preemption off).  Locks are C11-atomic spinlocks: one per CPU cache, one per
 * depot size, one for the tree, one per hash bucket.
 *
 * Return values: 0 or a negative VTD_IOVA_E* code (vtd_iova_strerror()).
 */
#ifndef VTD_IOVA_H
#define VTD_IOVA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef VTD_API
#if defined(__GNUC__)
#define VTD_API __attribute__((visibility("default")))
#else
#define VTD_API
#endif
#endif

#define VTD_IOVA_PAGE_SHIFT 12
#define VTD_IOVA_PAGE_SIZE (1ULL << VTD_IOVA_PAGE_SHIFT)
#define VTD_IOVA_CACHE_MAX_PAGES 32 /* 2^5: sizes 1, 2, 4, 8, 16, 32 pages are cached */
#define VTD_IOVA_MAG_SIZE 62        /* ranges per magazine (a magazine is 512 bytes) */
#define VTD_IOVA_MAX_CPUS 1024

enum {
    VTD_IOVA_EINVAL = -1,    /* bad argument (the same value as VTD_EINVAL) */
    VTD_IOVA_ENOMEM = -2,    /* the alloc callback returned NULL (as VTD_ENOMEM) */
    VTD_IOVA_ENOSPC = -20,   /* no free aligned range of that size below the limit */
    VTD_IOVA_ENOTALLOC = -21, /* freed address is not a live allocation: double free,
                                 never allocated, reserved, or not its first page */
    VTD_IOVA_ESIZE = -22,    /* freed with a size other than the one allocated */
    VTD_IOVA_EBUSY = -23,    /* reserve: part of the range is allocated */
};

struct vtd_iova_config {
    /* Address space [base, end): both 4 KiB aligned, base < end, end <= 2^64 - 4 KiB.
     * Linux starts at one page so that IOVA 0 is never handed out. */
    uint64_t base, end;
    /* Per-CPU caches: cpu indices 0..ncpus-1 (at most VTD_IOVA_MAX_CPUS).
     * 0: no caches, every call takes the tree. */
    unsigned ncpus;
    /* Magazines each size's depot may hold before frees go back to the tree. 0: 32. */
    unsigned depot_mags;
    /* Buckets of the hash that finds a cached-size allocation by address on
     * free (a power of two up to 2^24; 0: 4096).  Each bucket is 16 bytes. */
    unsigned hash_buckets;
    /* Memory: alloc returns size bytes aligned to at least 16, or NULL; free gets
     * back a pointer alloc returned and its size.  Both required. */
    void *(*alloc)(void *opaque, size_t size);
    void (*free)(void *opaque, void *ptr, size_t size);
    void *opaque;
};

struct vtd_iova;

/* VTD_IOVA_EINVAL for a NULL cfg/out, missing callbacks, an unaligned or empty
 * space, ncpus above VTD_IOVA_MAX_CPUS, hash_buckets not a power of two;
 * VTD_IOVA_ENOMEM when the callback fails. */
VTD_API int vtd_iova_create(const struct vtd_iova_config *cfg, struct vtd_iova **out);
/* Gives every byte back through cfg.free; live allocations are dropped. NULL: nothing. */
VTD_API void vtd_iova_destroy(struct vtd_iova *d);

/* Allocate npages pages (npages >= 1) ending at or below limit (an exclusive
 * address, rounded down to a page; 0 or above end means end), on cpu's cache
 * (cpu < ncpus; ignored when ncpus is 0).  *iova gets the first address.
 * Returns 0, VTD_IOVA_EINVAL, VTD_IOVA_ENOSPC or VTD_IOVA_ENOMEM. */
VTD_API int vtd_iova_alloc(struct vtd_iova *d, unsigned cpu, uint64_t npages, uint64_t limit, uint64_t *iova);
/* Free the range vtd_iova_alloc() returned at iova, with the npages it was
 * asked for.  Returns 0, VTD_IOVA_EINVAL (unaligned iova, npages 0, cpu out
 * of range), VTD_IOVA_ENOTALLOC or VTD_IOVA_ESIZE; on error nothing changes. */
VTD_API int vtd_iova_free(struct vtd_iova *d, unsigned cpu, uint64_t iova, uint64_t npages);

/* Reserve [base, base + size) (rounded out to pages): never handed out.
 * Overlapping earlier reservations is fine.  Returns 0, VTD_IOVA_EINVAL
 * (size 0, outside the space), VTD_IOVA_EBUSY (part of it is allocated;
 * cached ranges are flushed first) or VTD_IOVA_ENOMEM. */
VTD_API int vtd_iova_reserve(struct vtd_iova *d, uint64_t base, uint64_t size);

/* Give every cached range (all CPUs and the depot) back to the tree. */
VTD_API void vtd_iova_flush(struct vtd_iova *d);
/* Give one CPU's magazines back (CPU going offline). VTD_IOVA_EINVAL for a bad cpu. */
VTD_API int vtd_iova_flush_cpu(struct vtd_iova *d, unsigned cpu);

struct vtd_iova_stats {
    uint64_t ranges;      /* allocated ranges in the tree, cached ones included */
    uint64_t pages;       /* pages in those ranges */
    uint64_t cached;      /* of those, ranges sitting in magazines (CPU or depot) */
    uint64_t reserved_pages;
    uint64_t tree_nodes;  /* segments: free + allocated + reserved */
    uint64_t fast_allocs; /* served by a CPU magazine or the depot */
    uint64_t slow_allocs; /* served by the tree */
    uint64_t fast_frees, slow_frees;
    uint64_t flushes;     /* caches flushed to retry a failing allocation */
};
/* A snapshot: exact when no other call runs at the same time. */
VTD_API void vtd_iova_get_stats(struct vtd_iova *d, struct vtd_iova_stats *out);

VTD_API const char *vtd_iova_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
