/* SPDX-License-Identifier: MIT */
/*
 * First-level / nested translation caches (fl.c, cache.c).
 *
 * Two set-associative arrays beside the legacy ones, present with ECAP.FLTS:
 *   fltlb  IOTLB entries of PGTT 001 / 011 translations (input address ->
 *          host-physical page, the first-level permission bits, and for
 *          nested the second-level permission of the final page);
 *   flpwc  first-level paging-structure-cache entries (a non-leaf entry:
 *          the host-physical address of the next first-level table and the
 *          R/W, U/S bits so far).
 * Both are tagged by domain id and PASID: the tag holds the page key and a
 * 16-bit hash of (did, pasid), d1 holds did and pasid exactly and a lookup
 * compares both.  An entry's gen is fl_gen(): the IOTLB generation of the
 * domain plus fl_dgen[did], so global and domain-selective IOTLB
 * invalidations and page-selective iotlb_inv_dsc (Table 23: all first-level
 * and nested entries of the domain) drop them in O(1).  The second-level
 * paging-structure entries a nested walk uses go to the legacy PWC (tag
 * did, second-level input = guest-physical address), where iotlb_inv_dsc
 * finds them as Table 23 says.
 */
#ifndef VTD_HW_FL_H
#define VTD_HW_FL_H
#include "internal.h"

#define FL_PFN_MASK VTD_GENMASK(44, 0) /* page number of a 57-bit input */

static inline uint16_t fl_hash(uint16_t did, uint32_t pasid)
{
    uint32_t h = ((uint32_t)did * 0x9E37u) ^ (pasid * 0x85EBCA6Bu);
    return (uint16_t)(h ^ (h >> 16));
}
/* d1 of both caches: did 16:1 | pasid 36:17 (bit 0 is CACHE_MARK: set on the
 * fltlb entries a scalable-mode front-cache memo derives from, so lookups
 * compare d1 without it) */
static inline uint64_t fl_key(uint16_t did, uint32_t pasid)
{
    return (uint64_t)did << 1 | (uint64_t)pasid << 17;
}
static inline uint16_t fl_key_did(uint64_t d1) { return (uint16_t)(d1 >> 1); }
static inline uint32_t fl_key_pasid(uint64_t d1) { return (uint32_t)(d1 >> 17) & 0xFFFFF; }
/* fltlb tag: valid 0 | size 2:1 | pfn of the page base 47:3 | hash 63:48 */
static inline uint64_t fltlb_tag(uint16_t did, uint32_t pasid, unsigned size, uint64_t pfn)
{
    return 1 | (uint64_t)size << 1 | (pfn & FL_PFN_MASK) << 3 | (uint64_t)fl_hash(did, pasid) << 48;
}
static inline unsigned fltlb_tag_size(uint64_t t) { return (unsigned)(t >> 1) & 3; }
static inline uint64_t fltlb_tag_pfn(uint64_t t) { return (t >> 3) & FL_PFN_MASK; }
static inline uint32_t fltlb_set(const struct cache *c, uint16_t did, uint32_t pasid, unsigned size, uint64_t key)
{
    return cache_set(c, key ^ (uint64_t)fl_hash(did, pasid) << 40 ^ (uint64_t)size << 62);
}
/* flpwc tag: valid 0 | level 3:1 | key (pfn >> 9*(level-1)) 48:4 | hash 63:49 */
static inline uint64_t flpwc_tag(uint16_t did, uint32_t pasid, unsigned level, uint64_t key)
{
    return 1 | (uint64_t)level << 1 | (key & FL_PFN_MASK) << 4 | (uint64_t)(fl_hash(did, pasid) & 0x7FFF) << 49;
}
static inline unsigned flpwc_tag_level(uint64_t t) { return (unsigned)(t >> 1) & 7; }
static inline uint64_t flpwc_tag_key(uint64_t t) { return (t >> 4) & FL_PFN_MASK; }
static inline uint32_t flpwc_set(const struct cache *c, uint16_t did, uint32_t pasid, unsigned level, uint64_t key)
{
    return cache_set(c, key ^ (uint64_t)fl_hash(did, pasid) << 40 ^ (uint64_t)level << 61);
}
static inline uint64_t fl_gen(struct vtd *u, uint16_t did)
{
    return (uint64_t)atomic_load_explicit(&u->tlb_ggen, memory_order_acquire) << 32 |
           (uint32_t)(atomic_load_explicit(&u->tlb_dgen[did], memory_order_acquire) +
                      atomic_load_explicit(&u->fl_dgen[did], memory_order_acquire));
}

/* P_IOTLB (p_iotlb_inv_dsc, Table 24) on the first-level caches:
 * PASID-selective (page = false): every fltlb and flpwc entry of (did, pasid);
 * page-selective-within-PASID: fltlb entries of (did, pasid) overlapping
 * [addr, addr + 2^am pages) and, with ih = false, the flpwc entries above that
 * range.  addr is a first-level input address (bits 56:12 used). */
void vtd_inval_fl(struct vtd *u, uint16_t did, uint32_t pasid, bool page, uint64_t addr, unsigned am, bool ih);
/* All first-level and nested entries of domain did (page-selective
 * iotlb_inv_dsc in scalable mode, Table 23). */
void vtd_inval_fl_domain(struct vtd *u, uint16_t did);

#endif
