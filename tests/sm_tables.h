/* Scalable-mode (RTADDR.TTM=01) table builders and 256-bit queued
 * invalidation for tests: everything is written to the harness memory and
 * programmed through MMIO, as a driver would. */
#ifndef VTD_TEST_SM_TABLES_H
#define VTD_TEST_SM_TABLES_H

#include "harness.h"

/* vtd_config_scalable() with the given cache sizes kept. */
void sm_config(struct vtd_config *cfg);

/* Queued invalidation with 256-bit descriptors: a one-page queue at a fresh
 * page, IQA.DW=1, GCMD.QIE; asserts GSTS.QIES.  Needed before SM because
 * 128-bit descriptors are invalid in scalable mode (Table 26). */
void sm_qi_init(struct th *t);
/* Write d[0..3] at IQT and advance IQT (the unit processes it at once).
 * Returns the descriptor's address. */
uint64_t sm_qi_submit(struct th *t, const uint64_t d[4]);
/* A wait descriptor with a status write; asserts it completed (the status
 * word changed) and FSTS.IQE is clear. */
void sm_qi_sync(struct th *t);

/* Descriptor builders (d[0..3] fully written). */
void sm_desc_cc(uint64_t d[4], unsigned g, uint16_t did, uint16_t sid, unsigned fm);   /* type 1 */
void sm_desc_iotlb(uint64_t d[4], unsigned g, uint16_t did, uint64_t addr, unsigned am, bool ih); /* 2 */
void sm_desc_piotlb(uint64_t d[4], unsigned g, uint16_t did, uint32_t pasid, uint64_t addr, unsigned am,
                    bool ih);                                                       /* type 6 */
void sm_desc_pc(uint64_t d[4], unsigned g, uint16_t did, uint32_t pasid);           /* type 7 */
void sm_desc_pdevtlb(uint64_t d[4], uint16_t sid, uint32_t pasid, bool gi, uint64_t addr, bool s); /* 8 */
#define SM_PC_DOMAIN 0u  /* PASID-cache G: domain-selective */
#define SM_PC_PASID 1u   /* PASID-selective within domain */
#define SM_PC_GLOBAL 3u
#define SM_PIOTLB_PASID 2u /* P_IOTLB G: PASID-selective */
#define SM_PIOTLB_PAGE 3u  /* page-selective within PASID */
/* Global context-cache, PASID-cache and IOTLB invalidation, then a wait. */
void sm_inval_all(struct th *t);

/* RTADDR = t->rta | TTM=01, SRTP, then TE. */
void sm_enable(struct th *t);

/* Scalable-mode context entry for sid: makes the bus's root entry half
 * present (LP for devfn 0-127, UP for 128-255), allocating its context table,
 * and writes the 256-bit entry (q1..q3 first, q0 last).  Returns its address. */
uint64_t sm_set_ctx(struct th *t, uint16_t sid, uint64_t q0, uint64_t q1);
/* Address of the context entry of sid (its root half must be present). */
uint64_t sm_ctx_addr(struct th *t, uint16_t sid);
/* Compose: q0 = PASIDDIRPTR | PDTS | flags (VTD_SMCTX_*) | P; q1 = RID_PASID | RID_PRIV. */
uint64_t sm_ctx_q0(uint64_t pasid_dir, unsigned pdts, uint64_t flags);
uint64_t sm_ctx_q1(uint32_t rid_pasid, bool rid_priv);
/* A device in scalable mode: allocates a PASID directory of 2^(pdts+7)
 * entries (at least one page) and writes a present context entry with
 * `flags`, PDTS and RID_PASID.  Returns the directory's address. */
uint64_t sm_dev(struct th *t, uint16_t sid, unsigned pdts, uint64_t flags, uint32_t rid_pasid);

/* Address of the PASID-table entry of `pasid` under directory `dir`: makes
 * the directory entry present (allocating a PASID table) when it is not. */
uint64_t sm_pe_addr(struct th *t, uint64_t dir, uint32_t pasid);
/* Write PASID-table entry q[0..7] (q0 last).  Returns its address. */
uint64_t sm_set_pe(struct th *t, uint64_t dir, uint32_t pasid, const uint64_t q[8]);
/* Compose a present PASID-table entry (all of q[] written). */
void sm_pe_sl(uint64_t q[8], uint64_t slptptr, unsigned aw, uint16_t did);   /* PGTT 010 */
void sm_pe_pt(uint64_t q[8], uint16_t did);                                  /* PGTT 100 */
void sm_pe_fl(uint64_t q[8], uint64_t flptptr, bool five_level, uint16_t did); /* PGTT 001 */
void sm_pe_nested(uint64_t q[8], uint64_t flptptr, bool five_level, uint64_t slptptr, unsigned aw,
                  uint16_t did);                                             /* PGTT 011 */

/* A request (untranslated unless at says otherwise). */
struct vtd_request sm_req(uint16_t sid, bool pasid_valid, uint32_t pasid, uint64_t addr, uint8_t access);

#endif
