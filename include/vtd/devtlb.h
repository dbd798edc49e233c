/* SPDX-License-Identifier: MIT */
/*
 * The endpoint side of ATS: a small device-TLB (address translation cache)
 * for a device that asks the unit for translations (translation requests),
 * caches the completions, issues translated requests, and drops entries when
 * the unit delivers a device-TLB invalidation.  For tests, the `vtd` tool and
 * embedders that model ATS-capable devices; it talks to the unit only through
 * vtd_translate(), as a PCIe endpoint talks to the root complex.
 *
 * Threads: one device-TLB is used by one thread at a time (devices are
 * serial); different devices may run on different threads.
 */
#ifndef VTD_DEVTLB_H
#define VTD_DEVTLB_H

#include <vtd/vtd.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vtd_devtlb;

struct vtd_devtlb_stats {
    uint64_t hits, misses;       /* lookups by vtd_devtlb_dma */
    uint64_t translation_reqs;   /* translation requests sent */
    uint64_t translated_reqs;    /* translated requests sent */
    uint64_t untranslated_reqs;  /* fallbacks to untranslated requests */
    uint64_t invalidations;      /* vtd_devtlb_invalidate calls */
    uint64_t entries_dropped;    /* entries removed by them */
};

/* A device-TLB of `entries` entries (1..4096, fully associative, replaced in
 * round-robin order) for requester `sid` on unit u.  VTD_EINVAL, VTD_ENOMEM. */
VTD_API int vtd_devtlb_create(struct vtd *u, uint16_t sid, unsigned entries, struct vtd_devtlb **out);
VTD_API void vtd_devtlb_destroy(struct vtd_devtlb *d);

/* One DMA of the device to `addr` (one request, within a 4 KiB page):
 * - a cached translation granting `access`: a translated request (AT=10) with
 *   the cached host-physical address;
 * - otherwise a translation request (AT=01, asking for write when access has
 *   VTD_W); a completion that grants `access` and does not say U is cached
 *   and used for a translated request; a completion with U, or without the
 *   permission, makes the device issue the DMA as an untranslated request.
 * *res is the unit's answer to the request that carried the DMA.  Returns 0
 * or VTD_EINVAL. */
VTD_API int vtd_devtlb_dma(struct vtd_devtlb *d, uint64_t addr, uint8_t access, struct vtd_result *res);

/* A device-TLB invalidation arriving at the endpoint: drop every entry
 * overlapping [addr, addr + size) (size 0: everything).  Call it from the
 * unit's vtd_host.devtlb_inval callback for this device's source-id. */
VTD_API void vtd_devtlb_invalidate(struct vtd_devtlb *d, uint64_t addr, uint64_t size);

/* Number of valid entries, and whether one covers addr (for tests). */
VTD_API unsigned vtd_devtlb_count(const struct vtd_devtlb *d);
VTD_API bool vtd_devtlb_lookup(const struct vtd_devtlb *d, uint64_t addr, uint64_t *pa, uint8_t *perm);
VTD_API void vtd_devtlb_get_stats(const struct vtd_devtlb *d, struct vtd_devtlb_stats *out);

#ifdef __cplusplus
}
#endif
#endif
