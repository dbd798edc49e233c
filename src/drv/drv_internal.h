/* SPDX-License-Identifier: MIT */
/*
 * Driver internals shared by the src/drv modules.  Freestanding: nothing
 * here may need libc; memory comes from the ops callbacks.
 *
 * Internal (non-static) names start with vdrv_ so they never collide with
 * the model's internal symbols in the same library.
 */
#ifndef VTD_DRV_INTERNAL_H
#define VTD_DRV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtd/defs.h>
#include <vtd/drv.h>
#include <vtd/regs.h>

#define VDRV_PAGE 4096ULL
#define VDRV_DEFAULT_POLL 1000000u
#define VDRV_DEFAULT_FQ 64u
#define VDRV_BATCH 32u /* descriptors gathered before a queue submit */

/* Scalable-mode structures (Rev 5.10 §9.2-9.6), kept local so the driver
 * depends only on what it writes. */
#define VDRV_SMCTX_SIZE 32
#define VDRV_SMCTX_P VTD_BIT(0)
#define VDRV_SMCTX_FPD VTD_BIT(1)
#define VDRV_SMCTX_DTE VTD_BIT(2)
#define VDRV_SMCTX_PASIDE VTD_BIT(3)
#define VDRV_SMCTX_PRE VTD_BIT(4)
#define VDRV_SMCTX_PDTS_SHIFT 9
#define VDRV_PDE_P VTD_BIT(0)
#define VDRV_PE_SIZE 64
#define VDRV_PE_P VTD_BIT(0)
#define VDRV_PE_FPD VTD_BIT(1)
#define VDRV_PE_AW_SHIFT 2
#define VDRV_PE_PGTT_SHIFT 6
#define VDRV_PGTT_FL 1
#define VDRV_PGTT_SL 2
#define VDRV_PGTT_NESTED 3
#define VDRV_PGTT_PT 4
#define VDRV_PE_Q1_PGSNP VTD_BIT(24)
#define VDRV_PE_Q2_SRE VTD_BIT(0)
#define VDRV_PE_Q2_FLPM_SHIFT 2

/* First-level (IA-32e) paging entry bits (§9.7). */
#define VDRV_FL_P VTD_BIT(0)
#define VDRV_FL_RW VTD_BIT(1)
#define VDRV_FL_US VTD_BIT(2)
#define VDRV_FL_A VTD_BIT(5)
#define VDRV_FL_D VTD_BIT(6)
#define VDRV_FL_PS VTD_BIT(7)
#define VDRV_FL_XD VTD_BIT(63)

/* Queued-invalidation descriptor types not in defs.h's field list. */
#define VDRV_PC_G_DOMAIN 0  /* PASID-cache: all PASIDs of a domain */
#define VDRV_PC_G_PASID 1   /* PASID-cache: one PASID of a domain */
#define VDRV_PC_G_GLOBAL 3
/* Page group response (type 9, §7.6.1; 256-bit): q0 PP 4, RC 15:12, RID
 * 31:16, PASID 51:32; q1 PRGI 11:3 */
#define VDRV_PGRP_PP VTD_BIT(4)
#define VDRV_PGRP_RC_SHIFT 12
#define VDRV_PGRP_RID_SHIFT 16
#define VDRV_PGRP_PASID_SHIFT 32
#define VDRV_PGRP_PRGI_SHIFT 3

/* the flags every attach call accepts */
#define VDRV_ATTACH_FLAGS (VTD_DRV_ATTACH_ATS | VTD_DRV_ATTACH_FPD | VTD_DRV_ATTACH_PRI)

/* A page group (sid, PASID, PRGI) one of whose pages was answered worse than
 * Success, waiting for its last request (LPIG). */
struct vdrv_prq_group {
    uint16_t sid, prgi;
    bool pp;
    uint32_t pasid;
    uint8_t code; /* VTD_DRV_PRC_* */
};

/* Software state of one requester id. */
struct vdrv_dev {
    struct vtd_drv_domain *dom; /* domain of requests without PASID (RID_PASID) */
    unsigned flags;             /* VTD_DRV_ATTACH_* */
    /* scalable mode: the PASID directory and its tables (2^20 PASIDs, 64 per table) */
    uint64_t pdir_pa;
    void *pdir_va;
    unsigned npasid; /* PASID entries present, RID_PASID included */
};

struct vdrv_bus {
    struct vdrv_dev dev[256];
    uint64_t ctx_pa[2]; /* legacy: [0] only (256 x 16 bytes); scalable: lower, upper */
    void *ctx_va[2];
    unsigned nctx[2];   /* present entries per table */
};

struct vdrv_fq_ent {
    uint64_t iova, size, time; /* the unmapped range (retire gets it back) */
    uint64_t lo, hi;           /* what its invalidation must cover: the range plus
                                  the span of every table it emptied */
};

/* A table page that waits for the invalidation that retires it. */
struct vdrv_pfree {
    uint64_t pa;
};

/* pa -> va for the pages the driver allocated (the platform's cookie). */
struct vdrv_pmap_ent {
    uint64_t pa; /* 0: empty slot (page 0 is never handed out as a table... see pmap_put) */
    void *va;
    uint32_t npresent; /* page tables: entries present (pgtable.c keeps it) */
};

struct vdrv_pid_page {
    struct vdrv_pid_page *next;
    uint64_t pa;
    void *va;
    uint64_t used; /* bit i: descriptor at pa + 64 i */
};

/* A (sid, pasid) using a domain in scalable mode, for PASID-granular invalidation. */
struct vdrv_pasid_ref {
    uint16_t sid;
    uint32_t pasid;
    bool ats;
};

struct vtd_drv_domain {
    struct vtd_drv *d;
    struct vtd_drv_domain *next;
    int type;
    unsigned flags;
    uint16_t did;
    unsigned levels;
    bool fl;           /* first-level (IA-32e) entry format */
    uint64_t root_pa;
    uint64_t aw_limit; /* iova + size must not exceed this */
    unsigned ndev;     /* requester ids attached (RID_PASID or legacy) */
    unsigned nats;     /* of them with a device-TLB */
    struct vdrv_pasid_ref *refs; /* every (sid, pasid) attached, RID_PASID (0) included */
    unsigned nrefs, refs_cap;
    /* flush queue (deferred) */
    struct vdrv_fq_ent *fq;
    unsigned fq_n, fq_max;
    uint64_t fq_max_age;
    uint64_t freed_lo, freed_hi; /* unmap_table: span of the tables it emptied */
    bool unlinked;               /* unmap_table: it unlinked a table */
    /* tables to free after the next invalidation of this domain */
    struct vdrv_pfree *pf;
    unsigned pf_n, pf_cap;
    void (*retire)(void *arg, uint64_t iova, uint64_t size);
    void *retire_arg;
    bool has_superpages;
};

struct vtd_drv {
    struct vtd_drv_ops ops;
    struct vtd_drv_config cfg;
    uint32_t ver;
    uint64_t cap, ecap;
    uint32_t fro, iro; /* byte offsets of the fault records and IVA/IOTLB */
    unsigned nfr;
    bool sm, qi, ir, x2apic, cm, coherent, rwbf, psi, enabled;
    bool live;         /* invalidations reach the unit (QI enabled, or registers) */
    unsigned mamv;
    unsigned levels_mask;
    unsigned mgaw;
    unsigned pss;       /* PASID bits (scalable) */
    uint64_t sl_sizes;  /* second-level leaf sizes allowed (bit n: 2^n bytes) */
    uint64_t fl_sizes;
    uint32_t gcmd;      /* shadow of the persistent GCMD bits */
    uint32_t poll_limit;
    /* root table and per-bus state */
    uint64_t root_pa;
    void *root_va;
    struct vdrv_bus *bus[256];
    /* domain ids */
    uint64_t *did_map;
    uint32_t ndid, ndid_used;
    struct vtd_drv_domain *domains;
    /* queued invalidation */
    uint64_t qi_pa;
    void *qi_va;
    uint32_t qi_n;     /* descriptors in the queue */
    uint32_t qi_tail;  /* next slot */
    unsigned desc_sz;  /* 16 or 32 */
    uint64_t st_pa;    /* status page for wait descriptors */
    void *st_va;
    uint32_t st_seq;
    uint64_t batch[VDRV_BATCH][2];
    unsigned nbatch;
    int batch_err;     /* first error while gathering (register fallback) */
    /* interrupt remapping */
    uint64_t irt_pa;
    void *irt_va;
    uint32_t ir_n;
    uint64_t *ir_map;
    struct vdrv_pid_page *pids;
    /* page request queue (ECAP.PRS) */
    bool prq;          /* set up (ops->page_request, scalable, PRS) */
    bool prq_busy;     /* a drain is running (its callback runs unlocked) */
    uint64_t prq_pa;
    void *prq_va;
    uint32_t prq_n;    /* descriptors in the queue */
    struct vdrv_prq_group *groups; /* prq_n slots, ngroups used */
    uint32_t ngroups;
    /* pa -> va map */
    struct vdrv_pmap_ent *pmap;
    uint32_t pmap_cap, pmap_n;
    struct vtd_drv_stats st;
};

/* ---- util.c ---- */
void vdrv_memset(void *p, int c, size_t n);
void vdrv_memcpy(void *dst, const void *src, size_t n);
void vdrv_log(struct vtd_drv *d, int level, const char *msg, uint64_t value);
uint32_t vdrv_rd32(struct vtd_drv *d, uint32_t off);
uint64_t vdrv_rd64(struct vtd_drv *d, uint32_t off);
void vdrv_wr32(struct vtd_drv *d, uint32_t off, uint32_t v);
void vdrv_wr64(struct vtd_drv *d, uint32_t off, uint64_t v);
int vdrv_mrd64(struct vtd_drv *d, uint64_t pa, uint64_t *v);
int vdrv_mwr64(struct vtd_drv *d, uint64_t pa, uint64_t v);
int vdrv_mwr(struct vtd_drv *d, uint64_t pa, const void *buf, size_t len);
int vdrv_mrd(struct vtd_drv *d, uint64_t pa, void *buf, size_t len);
/* n qwords at pa (8-byte aligned), through ops->mem_ptr when it gives a pointer */
int vdrv_mwrq(struct vtd_drv *d, uint64_t pa, const uint64_t *q, unsigned n);
/* the 4 bytes at pa (4-byte aligned) */
int vdrv_mrd32(struct vtd_drv *d, uint64_t pa, uint32_t *v);
/* make [pa, pa+len) visible to a non-coherent unit (ECAP.C = 0) */
void vdrv_clflush(struct vtd_drv *d, uint64_t pa, size_t len);
void *vdrv_zalloc(struct vtd_drv *d, size_t size);
void vdrv_free(struct vtd_drv *d, void *p, size_t size);
/* 2^order zeroed pages; 0 or VTD_DRV_ENOMEM */
int vdrv_page_alloc(struct vtd_drv *d, unsigned order, uint64_t *pa, void **va);
void vdrv_page_free(struct vtd_drv *d, unsigned order, uint64_t pa, void *va);
/* page-table pages: the va is remembered in the pa -> va map */
int vdrv_table_alloc(struct vtd_drv *d, uint64_t *pa);
void vdrv_table_free(struct vtd_drv *d, uint64_t pa);
/* The present-entry count of a table vdrv_table_alloc returned (starts at 0);
 * NULL for an address it did not. */
uint32_t *vdrv_table_count(struct vtd_drv *d, uint64_t pa);
void vdrv_relax(struct vtd_drv *d);
void vdrv_lock(struct vtd_drv *d);
void vdrv_unlock(struct vtd_drv *d);
unsigned vdrv_ilog2(uint64_t v); /* floor(log2(v)), v > 0 */

/* ---- unit.c ---- */
/* set (on) or clear a persistent GCMD bit and wait for its GSTS bit */
int vdrv_gcmd_persist(struct vtd_drv *d, uint32_t bit, bool on);
/* a one-shot GCMD command (SRTP, SIRTP, WBF) */
int vdrv_gcmd_oneshot(struct vtd_drv *d, uint32_t bit);
/* write-buffer flush when CAP.RWBF */
int vdrv_wbf(struct vtd_drv *d);

/* ---- inval.c ---- */
int vdrv_qi_setup(struct vtd_drv *d);
void vdrv_qi_teardown(struct vtd_drv *d);
/* Gather an invalidation (queued: into the batch; registers: carried out
 * now).  vdrv_sync submits the batch with a wait descriptor and polls it. */
void vdrv_inv_cc(struct vtd_drv *d, int gran, uint16_t did, uint16_t sid, uint8_t fm);
void vdrv_inv_iotlb(struct vtd_drv *d, int gran, uint16_t did, uint64_t addr, unsigned am, bool ih);
/* page-selective for [iova, iova+size) when possible, else domain-selective;
 * ih: the invalidation hint (only leaf entries changed) */
void vdrv_inv_iotlb_range(struct vtd_drv *d, uint16_t did, uint64_t iova, uint64_t size, bool ih);
/* PASID-based IOTLB: page-selective for [iova, iova+size) (ih: leaf entries
 * only) when the block fits CAP.MAMV, else PASID-selective; size 0: PASID-selective */
void vdrv_inv_piotlb_range(struct vtd_drv *d, uint16_t did, uint32_t pasid, uint64_t iova, uint64_t size, bool ih);
void vdrv_inv_devtlb(struct vtd_drv *d, uint16_t sid, uint64_t iova, uint64_t size);
void vdrv_inv_iec(struct vtd_drv *d, bool global, uint32_t index, unsigned im);
void vdrv_inv_pc(struct vtd_drv *d, int gran, uint16_t did, uint32_t pasid);
int vdrv_sync(struct vtd_drv *d);
/* vdrv_sync whose closing wait descriptor also has FN and PD (§7.10: every
 * page request the unit received before it is in the page request queue) */
int vdrv_sync_page_drain(struct vtd_drv *d);
/* PASID-based device-TLB invalidation of every page of (sid, pasid) */
void vdrv_inv_pdevtlb_pasid(struct vtd_drv *d, uint16_t sid, uint32_t pasid);
/* the domain's IOTLB (and, with devtlb, the device-TLBs of its ATS
 * devices) for a range; size 0: everything */
void vdrv_inv_domain_range(struct vtd_drv_domain *dom, uint64_t iova, uint64_t size, bool devtlb);
/* the same with IH = ih: true only when no non-leaf entry of the range
 * changed (Rev 5.10 §6.5.2.3: the unit may keep its paging-structure
 * caches) */
void vdrv_inv_domain_leaves(struct vtd_drv_domain *dom, uint64_t iova, uint64_t size, bool devtlb, bool ih);
/* Queue errors (FSTS.IQE/ITE/ICE): report each through ops->fault, recover
 * (IQE: the offending descriptor becomes a no-op), clear.  *events counts
 * the reports.  Returns VTD_DRV_EIO after an IQE, VTD_DRV_ETIMEDOUT after an
 * ITE, else 0. */
int vdrv_qi_errors(struct vtd_drv *d, int *events);
void vdrv_report(struct vtd_drv *d, const struct vtd_drv_fault *f);

/* a page group response (type 9) into the batch; vdrv_sync submits it */
void vdrv_qi_page_response(struct vtd_drv *d, uint16_t sid, bool pp, uint32_t pasid, uint16_t prgi, uint8_t code);

/* ---- prq.c ---- */
int vdrv_prq_alloc(struct vtd_drv *d);   /* at create: queue pages and group table */
void vdrv_prq_setup(struct vtd_drv *d);  /* at enable: PQH, PQT, PQA, PRS, event */
void vdrv_prq_free(struct vtd_drv *d);
/* §7.10 after a PRI device's PASID entry went and its device-TLB was
 * invalidated: drain wait, then service the queue (again after PRS.PRO). */
int vdrv_prq_drain_departed(struct vtd_drv *d);

/* ---- pgtable.c ---- */
int vdrv_pt_destroy(struct vtd_drv_domain *dom);
int vdrv_fq_flush(struct vtd_drv_domain *dom);

/* ---- domain.c ---- */
void vdrv_domains_destroy(struct vtd_drv *d);
void vdrv_bus_free(struct vtd_drv *d);

/* ---- irq.c ---- */
int vdrv_ir_setup(struct vtd_drv *d);
void vdrv_ir_free(struct vtd_drv *d);

/* ---- sm.c ---- */
int vdrv_sm_attach(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid, int pgtt, uint64_t fl_root,
                   unsigned fl_levels, unsigned flags);
int vdrv_sm_detach(struct vtd_drv *d, uint16_t sid, uint32_t pasid);
int vdrv_sm_inval_pasid(struct vtd_drv *d, uint16_t sid, uint32_t pasid, uint64_t iova, uint64_t size, bool leaf);
void vdrv_sm_free_dev(struct vtd_drv *d, struct vdrv_dev *dev);
void vdrv_sm_detach_all(struct vtd_drv *d, uint16_t sid);
/* the domain (sid, pasid) is attached to, or NULL */
struct vtd_drv_domain *vdrv_sm_domain_of(struct vtd_drv *d, uint16_t sid, uint32_t pasid);

/* ---- domain.c helpers shared with sm.c ---- */
int vdrv_bus_get(struct vtd_drv *d, uint8_t bus, struct vdrv_bus **out);
struct vtd_drv_domain *vdrv_domain_by_did(struct vtd_drv *d, uint16_t did);
int vdrv_ref_add(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid, bool ats);
void vdrv_ref_del(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid);

#endif
