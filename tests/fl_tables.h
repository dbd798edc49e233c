/* First-level and nested translation set up for tests (through MMIO and
 * memory, on top of sm_tables.h): one device with PASID enabled, one PASID
 * entry of PGTT 001 or 011, first-level tables and, for nested, the
 * second-level tables that map the first-level table pages. */
#ifndef VTD_TEST_FL_TABLES_H
#define VTD_TEST_FL_TABLES_H

#include "sm_tables.h"

#define FLX_SID SID(0, 3, 0)
#define FLX_PASID 0x123u
#define FLX_DID 7u
/* nested: a first-level table page at host-physical h has guest-physical h + FLX_GOFF */
#define FLX_GOFF (1ULL << 40)
/* default bits of a non-leaf first-level entry the builder writes */
#define FLX_TABLE_BITS (VTD_FL_P | VTD_FL_RW | VTD_FL_US)

struct flx {
    struct th *t;
    int levels;   /* first level: 4 or 5 */
    bool nested;
    int sl_levels; /* nested: 4 (AW = 2) */
    uint64_t dir, fl_root, sl_root, pe;
    uint64_t q[8]; /* the PASID-table entry */
};

/* vtd_config_scalable() plus FLTS, NEST, EAFS, FS1GP, FS5LP. */
void fl_config(struct vtd_config *cfg);
/* Program t (created with fl_config or a variant): QI, a scalable-mode
 * context for FLX_SID (PASIDE), the PASID entry for FLX_PASID (SRE = 1), an
 * empty first-level root, enable translation. */
void flx_init(struct flx *x, struct th *t, bool nested, int levels);
/* Write x->q back (q0 last), then PASID-cache and P_IOTLB PASID-selective
 * invalidation of FLX_PASID. */
void flx_update_pe(struct flx *x);
/* Map va -> out (a guest-physical address when nested) with a leaf of
 * `page` bytes (4K, 2M, 1G) and leaf bits `leaf` (VTD_FL_P etc.); missing
 * tables are allocated with FLX_TABLE_BITS (nested: their pages are mapped
 * R/W in the second level).  Returns the leaf entry's host-physical address. */
uint64_t flx_map(struct flx *x, uint64_t va, uint64_t out, uint64_t page, uint64_t leaf);
/* Host-physical address of the first-level entry for va at `level` (1 = PTE). */
uint64_t flx_pte(struct flx *x, uint64_t va, int level);
/* Nested: map gpa -> hpa (4 KiB) in the second level with bits `flags`;
 * returns the leaf's address. */
uint64_t flx_sl_map(struct flx *x, uint64_t gpa, uint64_t hpa, uint64_t flags);
uint64_t flx_sl_pte(struct flx *x, uint64_t gpa, int level);
/* A request with FLX_PASID (privileged when priv). */
struct vtd_request flx_req(uint64_t va, uint8_t access, bool priv);

#endif
