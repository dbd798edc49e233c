/* SPDX-License-Identifier: MIT */
/*
 * A sparse physical memory for tools and tests: the whole 2^52-byte space
 * (or a smaller one), 4 KiB pages allocated on first write, unwritten memory
 * reading as zero.  Ranges can be made unbacked ("holes") so that a unit's
 * "error accessing ..." faults can be produced.  Embedders bring their own
 * memory; this one is what `vtd` and the tests use.
 *
 * Threads: reads and writes may run on many threads at once.  Accesses are
 * made 8 bytes at a time where aligned, so a concurrent reader of an aligned
 * qword sees either the old or the new value, as with real memory.
 */
#ifndef VTD_MEM_H
#define VTD_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <vtd/vtd.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vtd_mem;

#define VTD_MEM_MAX_SIZE (1ULL << 52)

/* size: bytes of address space, [0, size) backed; 0 means VTD_MEM_MAX_SIZE.
 * Returns 0, VTD_EINVAL (size above 2^52 or not a multiple of 4 KiB) or VTD_ENOMEM. */
VTD_API int vtd_mem_create(uint64_t size, struct vtd_mem **out);
VTD_API void vtd_mem_destroy(struct vtd_mem *m);

/* 0 on success; -1 when any byte of [pa, pa+len) is not backed (beyond the
 * size or in a hole), in which case nothing is read or written.  A write that
 * cannot allocate a page returns VTD_ENOMEM and writes nothing. */
VTD_API int vtd_mem_read(struct vtd_mem *m, uint64_t pa, void *buf, size_t len);
VTD_API int vtd_mem_write(struct vtd_mem *m, uint64_t pa, const void *buf, size_t len);
/* 8-byte aligned compare-exchange, the contract of vtd_host.mem_cmpxchg64. */
VTD_API int vtd_mem_cmpxchg64(struct vtd_mem *m, uint64_t pa, uint64_t *expected, uint64_t desired);

/* Make [base, base+len) unbacked (page granular: the pages it touches).  Pages
 * already written there are discarded.  VTD_EINVAL for an empty or
 * out-of-range span, VTD_ENOMEM when the hole list cannot grow. */
VTD_API int vtd_mem_add_hole(struct vtd_mem *m, uint64_t base, uint64_t len);

VTD_API uint64_t vtd_mem_size(const struct vtd_mem *m);
VTD_API uint64_t vtd_mem_pages(const struct vtd_mem *m); /* pages allocated so far */

/* The contract of vtd_host.mem_ptr: a pointer to the aligned qword at pa
 * (read it with an atomic 8-byte load), valid until vtd_mem_destroy; NULL
 * when pa is unaligned, beyond the size, or while any hole exists (then use
 * vtd_mem_read, which reports holes).  A page never written yields a pointer
 * into a shared page of zeros, so a later first write is not seen through it:
 * take a fresh pointer for every read. */
VTD_API const uint64_t *vtd_mem_ptr(struct vtd_mem *m, uint64_t pa);

/* The contract of vtd_drv_ops.mem_ptr: a pointer to the aligned qword at pa
 * through which it and the rest of its 4 KiB page may be read and written
 * with atomic 8-byte accesses, valid until vtd_mem_destroy (a page never
 * written is allocated, zeroed); NULL when pa is unaligned, beyond the size,
 * while any hole exists, or when no memory is left. */
VTD_API uint64_t *vtd_mem_ptr_rw(struct vtd_mem *m, uint64_t pa);

/* Fill h->opaque, mem_read, mem_write, mem_cmpxchg64 and mem_ptr for this
 * memory; leaves msi and diag as they are.  Since opaque becomes the memory,
 * an embedder whose msi/diag callbacks need their own context should wrap
 * these functions instead (as tests/harness.c does). */
VTD_API void vtd_mem_host(struct vtd_mem *m, struct vtd_host *h);

#ifdef __cplusplus
}
#endif
#endif
