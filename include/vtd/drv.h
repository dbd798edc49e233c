/* SPDX-License-Identifier: MIT */
/*
 * libvtd driver: a portable Intel VT-d driver.
 *
 * The driver programs one remapping unit (one DRHD) the way an operating
 * system does, and talks to it ONLY through the callbacks of `struct
 * vtd_drv_ops`: 32/64-bit register reads and writes at an offset, physical
 * memory reads and writes for the tables it builds, page allocation, host
 * memory for its own bookkeeping, and optionally a CPU cache flush for units
 * whose table walks are not coherent (ECAP.C = 0).  The same code could drive
 * real hardware: it is built freestanding (no libc, no printf).
 *
 * Return values: 0 (or a documented non-negative value) on success, or a
 * negative VTD_DRV_E* code.  Nothing is printed: problems are returned, and
 * described once more through the optional `log` callback.
 *
 * Threads: a `struct vtd_drv` and its domains are not thread-safe by
 * themselves.  When `ops->lock` / `ops->unlock` are given, every public
 * function takes that lock for its whole duration (callbacks such as `fault`
 * and `retire` then run with it held and must not call back into the driver);
 * otherwise the caller serialises all calls on one unit.
 *
 * Typical use:
 *
 *   vtd_drv_create(&ops, &cfg, &drv);          // probe VER/CAP/ECAP, allocate state
 *   vtd_drv_enable(drv);                       // QI, IR, root table, TE
 *   vtd_drv_domain_create(drv, &dcfg, &dom);   // DID, page-table root
 *   vtd_drv_map(dom, iova, hpa, size, VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE);
 *   vtd_drv_attach(dom, sid, 0);               // context entry -> dom
 *   ... DMA ...
 *   vtd_drv_unmap(dom, iova, size, NULL);      // clears PTEs, invalidates
 *   vtd_drv_detach(drv, sid);
 *   vtd_drv_domain_destroy(dom);
 *   vtd_drv_disable(drv);                      // TE, IRE, QIE off
 *   vtd_drv_destroy(drv);
 */
#ifndef VTD_DRV_H
#define VTD_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VTD_DRV_API __attribute__((visibility("default")))
#else
#define VTD_DRV_API
#endif

/* ---- Errors ---- */
enum {
    VTD_DRV_EINVAL = -1,    /* invalid argument (alignment, range, unknown flag) */
    VTD_DRV_ENOMEM = -2,    /* an allocation callback failed */
    VTD_DRV_ENOTSUP = -3,   /* the unit does not advertise what this needs */
    VTD_DRV_EBUSY = -4,     /* in use: device attached, domain has devices, unit enabled */
    VTD_DRV_EEXIST = -5,    /* map over an existing mapping; attach of an attached sid */
    VTD_DRV_ENOENT = -6,    /* nothing there: sid not attached, IRTE not allocated */
    VTD_DRV_ENOSPC = -7,    /* no free domain id / IRTE index */
    VTD_DRV_ETIMEDOUT = -8, /* a register command or wait descriptor did not complete
                               within cfg.poll_limit polls, or a device-TLB
                               invalidation timed out (FSTS.ITE) */
    VTD_DRV_EIO = -9,       /* the unit reported an error: invalidation queue error
                               (FSTS.IQE), a register invalidation it refused
                               (CAIG/IAIG = 00), a memory callback failed */
};
/* A constant English name for an error code ("invalid argument", ...). */
VTD_DRV_API const char *vtd_drv_strerror(int err);

/* ---- Platform callbacks ---- */

enum { VTD_DRV_LOG_ERR = 0, VTD_DRV_LOG_WARN = 1, VTD_DRV_LOG_INFO = 2 };

/* A fault or error the unit recorded, decoded (see vtd_drv_fault_poll). */
enum {
    VTD_DRV_FAULT_DMA = 1, /* a primary fault record of a DMA request */
    VTD_DRV_FAULT_IRQ = 2, /* a primary fault record of an interrupt request (FR 20h-2Fh) */
    VTD_DRV_FAULT_IQE = 3, /* invalidation queue error (FSTS.IQE; iqei, iqh) */
    VTD_DRV_FAULT_ITE = 4, /* invalidation time-out error (FSTS.ITE; sid = IQERCD.ITESID) */
    VTD_DRV_FAULT_ICE = 5, /* invalidation completion error (FSTS.ICE; sid = IQERCD.ICESID) */
    VTD_DRV_FAULT_OVERFLOW = 6, /* FSTS.PFO: faults were dropped */
    VTD_DRV_FAULT_PRQ_OVERFLOW = 7, /* PRS.PRO: the page request queue was full and
                                       page requests were discarded (the unit answered
                                       those that needed it Success, so the devices
                                       retry); reported by vtd_drv_prq_drain when it
                                       clears PRO */
};
enum { VTD_DRV_ACC_WRITE = 0, VTD_DRV_ACC_READ = 1, VTD_DRV_ACC_PAGE_REQ = 2, VTD_DRV_ACC_ATOMIC = 3 };
struct vtd_drv_fault {
    int kind;            /* VTD_DRV_FAULT_* */
    uint8_t reason;      /* FRCD.FR: the architectural fault reason (DMA, IRQ) */
    uint16_t sid;        /* requester (FRCD.SID; ITESID / ICESID) */
    uint64_t addr;       /* DMA: faulting page address (FRCD.FI, bits 63:12) */
    uint16_t irte_index; /* IRQ: interrupt index (FRCD.FI bits 63:48) */
    uint8_t access;      /* VTD_DRV_ACC_* from T1/T2 */
    uint8_t at;          /* FRCD.AT: address type of the request */
    bool pasid_present;  /* FRCD.PP */
    uint32_t pasid;      /* FRCD.PV */
    bool priv, exe;      /* FRCD.PRIV, FRCD.EXE */
    unsigned record;     /* index of the fault recording register it came from */
    uint8_t iqei;        /* IQE: IQERCD.IQEI */
    uint64_t iqh;        /* IQE: IQH at the error (the offending descriptor's offset) */
};

/* A page request the unit queued (page request descriptor, Rev 5.10
 * §7.4.1.1), decoded for the page_request callback (vtd_drv_prq_drain). */
struct vtd_drv_page_req {
    uint16_t sid;          /* requester (RID) */
    bool pasid_present;    /* PP: a request with PASID ... */
    uint32_t pasid;        /* ... this one (0 when !pasid_present) */
    uint64_t addr;         /* the page (4 KiB aligned) */
    bool read, write;      /* RDR, WRR: the access the device needs */
    bool exec;             /* EXR (only with a PASID and read) */
    bool priv;             /* PMR: supervisor privilege (only with a PASID) */
    bool lpig;             /* last request of its page group (PRGI) */
    uint16_t prgi;         /* page request group index, 9 bits */
    /* the domain the request's (sid, pasid) is attached to (without PASID:
     * the RID_PASID attach), or NULL */
    struct vtd_drv_domain *dom;
};
/* The answer to one page (the page_request callback's return value); the
 * driver answers a group with the worst of its pages' answers (Success <
 * Invalid Request < Response Failure, PCIe / Rev 5.10 Table 32). */
enum {
    VTD_DRV_PRC_SUCCESS = 0x0,         /* the page is there: the device retries */
    VTD_DRV_PRC_INVALID_REQUEST = 0x1, /* not serviced: the device's request fails */
    VTD_DRV_PRC_FAILURE = 0xF,         /* non-recoverable: the device disables its
                                          page request interface */
};

struct vtd_drv_ops {
    void *opaque; /* passed to every callback */

    /* Required: register access at a byte offset from the unit's base. */
    uint32_t (*read32)(void *opaque, uint32_t off);
    uint64_t (*read64)(void *opaque, uint32_t off);
    void (*write32)(void *opaque, uint32_t off, uint32_t val);
    void (*write64)(void *opaque, uint32_t off, uint64_t val);

    /* Required: physical memory access for the tables the driver builds (and
     * the queue status writes it polls).  0 on success, non-zero when the
     * range is not accessible.  An aligned 8-byte access must be single-copy
     * atomic (the unit may read a table entry concurrently). */
    int (*mem_read)(void *opaque, uint64_t pa, void *buf, size_t len);
    int (*mem_write)(void *opaque, uint64_t pa, const void *buf, size_t len);

    /* Required: 2^order physically contiguous, zeroed 4 KiB pages, 4 KiB
     * aligned.  Returns 0 and sets *pa (and *va: a host pointer for the
     * platform's own use, may be NULL; the driver never dereferences it and
     * passes it back to page_free), or non-zero when out of memory. */
    int (*page_alloc)(void *opaque, unsigned order, uint64_t *pa, void **va);
    void (*page_free)(void *opaque, unsigned order, uint64_t pa, void *va);

    /* Required: zeroed host memory for the driver's own state (never seen by
     * the unit); NULL when out of memory.  free gets the same size back. */
    void *(*zalloc)(void *opaque, size_t size);
    void (*free)(void *opaque, void *p, size_t size);

    /* Optional: write back CPU caches for [pa, pa+len) so that a unit whose
     * walks do not snoop (ECAP.C = 0) sees table writes.  Called after every
     * write to a root, context, PASID or page table, IRTE or PI descriptor,
     * before the unit is told about it.  Required when ECAP.C = 0. */
    void (*flush)(void *opaque, uint64_t pa, size_t len);

    /* Optional: called once per iteration of a polling loop (cpu_relax, or
     * letting a simulated unit progress). */
    void (*relax)(void *opaque);

    /* Optional: a monotonic clock for the flush queue's age bound (any unit;
     * vtd_drv_domain_config.fq_max_age is in the same unit).  NULL: the age
     * bound is not enforced (size bound and explicit flushes only). */
    uint64_t (*now)(void *opaque);

    /* Optional: faults and queue errors found by vtd_drv_fault_poll. */
    void (*fault)(void *opaque, const struct vtd_drv_fault *f);

    /* Optional: one constant sentence per problem (no formatting) and a
     * value (register contents, address) it concerns. */
    void (*log)(void *opaque, int level, const char *msg, uint64_t value);

    /* Optional (ECAP.PRS, scalable mode): service one page request found by
     * vtd_drv_prq_drain, e.g. map r->addr in r->dom with vtd_drv_map, and
     * return a VTD_DRV_PRC_* code.  Giving it makes the driver set up the
     * page request queue.  It runs WITHOUT the driver lock (it may call
     * vtd_drv_map and the other public calls).  Stop markers (lpig with
     * neither read nor write) are passed too; their answer is not sent, and
     * they end the open groups of their sid and PASID. */
    int (*page_request)(void *opaque, const struct vtd_drv_page_req *r);

    /* Optional: serialise every public call on this unit. */
    void (*lock)(void *opaque);
    void (*unlock)(void *opaque);

    /* Optional, a speed-up for memory the CPU reaches directly: a host
     * pointer to the 8-byte aligned qword at pa, through which the driver
     * reads and writes it and the rest of its 4 KiB page with atomic 8-byte
     * accesses instead of calling mem_read / mem_write; NULL to use those
     * for this access.  Used for page-table entries, queue descriptors and
     * the wait status (vtd_mem_ptr_rw has this contract). */
    uint64_t *(*mem_ptr)(void *opaque, uint64_t pa);
};

/* ---- Unit ---- */

struct vtd_drv;

enum {
    VTD_DRV_CFG_SCALABLE = 1u << 0, /* use scalable mode (RTADDR.TTM = 01) when ECAP.SMTS */
    VTD_DRV_CFG_NO_QI = 1u << 1,    /* register-based invalidation even with ECAP.QI
                                       (then no IR, no device-TLBs) */
    VTD_DRV_CFG_NO_IR = 1u << 2,    /* leave interrupt remapping off */
    VTD_DRV_CFG_X2APIC = 1u << 3,   /* IRTA.EIME = 1: 32-bit destinations (needs ECAP.EIM) */
    VTD_DRV_CFG_COMPAT_IRQ = 1u << 4, /* GCMD.CFI = 1: let compatibility-format
                                         interrupts through (default: blocked) */
    VTD_DRV_CFG_FORCE_SCALABLE = 1u << 5, /* with SCALABLE: fail (ENOTSUP) rather than
                                             fall back to legacy mode without SMTS */
};

struct vtd_drv_config {
    unsigned flags;          /* VTD_DRV_CFG_* */
    unsigned qi_order;       /* invalidation queue size: 2^qi_order pages (IQA.QS, 0..7); default 0 */
    unsigned ir_order;       /* interrupt remapping table: 2^ir_order entries (IRTA.S + 1,
                                1..16); 0 means 256 entries */
    uint32_t poll_limit;     /* polls before VTD_DRV_ETIMEDOUT; 0 means 1000000 */
    uint64_t fault_msi_addr; /* fault event MSI (FEADDR/FEUADDR, FEDATA) unmasked at
                                enable when fault_msi_addr != 0; else FECTL.IM stays 1 */
    uint32_t fault_msi_data;
    /* page request queue (with ops->page_request and ECAP.PRS in scalable
     * mode): 2^prq_order pages (PQA.PQS, 0..7), 2^(prq_order + 7) entries */
    unsigned prq_order;
    uint64_t prq_msi_addr;   /* page request event MSI (PEADDR/PEUADDR, PEDATA)
                                unmasked at enable when != 0; else PECTL.IM stays 1
                                (poll with vtd_drv_prq_drain) */
    uint32_t prq_msi_data;
};
VTD_DRV_API void vtd_drv_config_default(struct vtd_drv_config *cfg);

/* What the driver found and chose (vtd_drv_info). */
struct vtd_drv_info {
    uint32_t ver;
    uint64_t cap, ecap;
    bool scalable;            /* scalable mode chosen (else legacy) */
    bool qi;                  /* queued invalidation in use (else registers) */
    bool ir;                  /* interrupt remapping in use */
    bool x2apic;              /* IRTA.EIME */
    bool posted;              /* CAP.PI: posted IRTEs possible */
    bool nested;              /* scalable mode with ECAP.NEST: nested attach possible */
    bool caching_mode;        /* CAP.CM */
    bool coherent;            /* ECAP.C */
    bool enabled;             /* between vtd_drv_enable and vtd_drv_disable */
    uint32_t domains;         /* domain ids the unit has (2^(4 + 2 * CAP.ND)) */
    uint32_t domains_used;
    unsigned levels_mask;     /* second-level table depths supported: bit n = n levels (SAGAW) */
    uint64_t page_sizes;      /* page sizes map may use: bit 12 (4 KiB), 21, 30 (SLLPS) */
    unsigned mgaw;            /* maximum guest address width in bits (CAP.MGAW + 1) */
    uint32_t ir_entries;      /* IRTE count (0 without IR) */
    unsigned fault_records;   /* CAP.NFR + 1 */
    bool prq;                 /* page request queue in use (ECAP.PRS, scalable,
                                 ops->page_request) */
    uint32_t prq_entries;     /* its size in descriptors (0 without) */
};
VTD_DRV_API int vtd_drv_info(struct vtd_drv *d, struct vtd_drv_info *out);

/* Probe the unit (VER, CAP, ECAP), check the callbacks, allocate the driver
 * state and the root table.  Touches no register but reads.  cfg NULL: the
 * defaults.  ENOTSUP when the unit offers no usable table depth or needs a
 * flush callback that is missing (ECAP.C = 0), or FORCE_SCALABLE without
 * ECAP.SMTS. */
VTD_DRV_API int vtd_drv_create(const struct vtd_drv_ops *ops, const struct vtd_drv_config *cfg,
                               struct vtd_drv **out);
/* Frees everything the driver allocated.  Disables the unit first if it is
 * still enabled.  Domains still existing are destroyed (devices detached). */
VTD_DRV_API void vtd_drv_destroy(struct vtd_drv *d);

/* Bring-up, in this order (docs/driver.md): turn off whatever is enabled
 * (TE, IRE, QIE), clear stale fault records; queued invalidation (IQT = 0,
 * IQA, GCMD.QIE); interrupt remapping (IRTA, SIRTP, global IEC invalidation,
 * CFI, IRE); root table (RTADDR with TTM, SRTP, global context-cache, PASID-
 * cache (scalable) and IOTLB invalidation); write-buffer flush (CAP.RWBF);
 * fault event registers; page request queue and event (ops->page_request
 * with ECAP.PRS in scalable mode: PQH = PQT = 0, PQA, PRS cleared, PECTL);
 * GCMD.TE.  Devices attached before enable are live
 * once TE is set.  EBUSY when already enabled. */
VTD_DRV_API int vtd_drv_enable(struct vtd_drv *d);
/* Clean shutdown: drain the flush queues, TE off, global invalidations,
 * IRE off, QIE off (after the queue drained), fault events masked.  Tables
 * and domains stay, so vtd_drv_enable may be called again. */
VTD_DRV_API int vtd_drv_disable(struct vtd_drv *d);

/* ---- Domains ---- */

struct vtd_drv_domain;

enum {
    VTD_DRV_DOM_PAGING = 0,  /* second-level page tables (legacy TT=00/01; scalable PGTT=010) */
    VTD_DRV_DOM_PASSTHROUGH, /* no translation (legacy TT=10, needs ECAP.PT; scalable PGTT=100) */
    VTD_DRV_DOM_FIRST_LEVEL, /* scalable only: first-level (IA-32e) tables the driver
                                builds (PGTT=001, needs ECAP.FLTS) */
};
enum {
    VTD_DRV_DOM_DEFERRED = 1u << 0, /* unmap queues the IOTLB invalidation in a flush
                                       queue (batched) instead of invalidating at once */
};
struct vtd_drv_domain_config {
    int type;              /* VTD_DRV_DOM_* */
    unsigned flags;        /* VTD_DRV_DOM_* flags */
    unsigned levels;       /* 3, 4 or 5; 0: the deepest the unit supports (up to 4 when
                              MGAW allows) */
    unsigned fq_max_entries; /* deferred: flush when this many unmaps are queued; 0: 64 */
    uint64_t fq_max_age;   /* deferred: flush when the oldest queued unmap is older
                              (ops->now units); 0: no age bound */
    /* deferred: called after the invalidation that retired [iova, iova+size),
     * when the range may be reused (e.g. freed in an IOVA allocator).  Strict
     * domains call it too, before vtd_drv_unmap returns.  Optional. */
    void (*retire)(void *arg, uint64_t iova, uint64_t size);
    void *retire_arg;
};
VTD_DRV_API void vtd_drv_domain_config_default(struct vtd_drv_domain_config *cfg);

/* Allocate a domain id (CAP.ND; DID 0 is never used when CAP.CM) and a
 * top-level table.  ENOSPC when domain ids are exhausted, ENOTSUP for a type
 * or depth the unit/mode cannot do. */
VTD_DRV_API int vtd_drv_domain_create(struct vtd_drv *d, const struct vtd_drv_domain_config *cfg,
                                      struct vtd_drv_domain **out);
/* EBUSY while devices are attached.  Drains its flush queue, frees tables and the id. */
VTD_DRV_API int vtd_drv_domain_destroy(struct vtd_drv_domain *dom);
VTD_DRV_API uint16_t vtd_drv_domain_id(const struct vtd_drv_domain *dom);
VTD_DRV_API unsigned vtd_drv_domain_levels(const struct vtd_drv_domain *dom);
/* Physical address of the domain's top-level table (0 for pass-through),
 * for nesting and for tools that walk it. */
VTD_DRV_API uint64_t vtd_drv_domain_root(const struct vtd_drv_domain *dom);

enum {
    VTD_DRV_ATTACH_ATS = 1u << 0, /* the device has a device-TLB: legacy TT=01 (ECAP.DT),
                                     scalable DTE=1; unmaps invalidate its device-TLB */
    VTD_DRV_ATTACH_FPD = 1u << 1, /* fault processing disable in the entry */
    VTD_DRV_ATTACH_PRI = 1u << 2, /* page requests: PRE = 1 in the scalable-mode context
                                     entry (needs ATS too, else EINVAL; ENOTSUP without
                                     the page request queue, vtd_drv_info.prq).
                                     vtd_drv_attach only: it covers every PASID of sid */
};
/* Point requester `sid` at the domain: legacy mode writes its context entry;
 * scalable mode writes its scalable-mode context entry and the RID_PASID (0)
 * PASID-table entry.  Invalidates as the spec requires (context cache device-
 * selective, IOTLB domain-selective, with CAP.CM the DID-0 cached not-present
 * entry; write-buffer flush with CAP.RWBF).  EEXIST when sid is attached. */
VTD_DRV_API int vtd_drv_attach(struct vtd_drv_domain *dom, uint16_t sid, unsigned flags);
/* Clear the entry (context entry in legacy mode; the RID_PASID entry and,
 * when no PASID is left, the context entry in scalable mode), invalidate
 * (context cache, PASID cache, IOTLB, device-TLB).  ENOENT when not attached. */
VTD_DRV_API int vtd_drv_detach(struct vtd_drv *d, uint16_t sid);
/* The domain sid is attached to, or NULL. */
VTD_DRV_API struct vtd_drv_domain *vtd_drv_domain_of(struct vtd_drv *d, uint16_t sid);

/* Scalable mode only (else ENOTSUP): attach requests of sid tagged with
 * `pasid` (1 .. 2^(PSS+1) - 1) to dom, written as the PASID-table entry of
 * the domain's type (PGTT 010 second-level, 100 pass-through, 001 first-level). */
VTD_DRV_API int vtd_drv_attach_pasid(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid,
                                     unsigned flags);
/* Scalable mode with ECAP.NEST: nested translation (PGTT=011) for (sid,
 * pasid): first level from the caller's table at `fl_root` (a guest physical
 * address translated through dom's second level), `fl_levels` 4 or 5, second
 * level = dom (a VTD_DRV_DOM_PAGING domain). */
VTD_DRV_API int vtd_drv_attach_nested(struct vtd_drv_domain *dom, uint16_t sid, uint32_t pasid,
                                      uint64_t fl_root, unsigned fl_levels, unsigned flags);
VTD_DRV_API int vtd_drv_detach_pasid(struct vtd_drv *d, uint16_t sid, uint32_t pasid);

enum {
    VTD_DRV_INV_LEAF = 1u << 0, /* only leaf entries changed (IH = 1): paging-structure
                                   caches are kept */
};
/* Scalable mode with queued invalidation (else ENOTSUP): the first-level
 * tables of (sid, pasid)'s first-level or nested entry (PGTT 001 / 011)
 * changed behind the driver's back -- a guest's own tables under nesting,
 * which the guest invalidates through its virtual IOMMU and the VMM
 * forwards.  Issues a PASID-based IOTLB invalidation tagged with the
 * entry's domain id: page-selective for [iova, iova+size) (4 KiB aligned;
 * rounded out to a naturally aligned power-of-two block), PASID-selective
 * when size is 0 or the block exceeds CAP.MAMV; then waits for it.  ENOENT
 * when (sid, pasid) has no entry, EINVAL for a second-level or
 * pass-through entry (vtd_drv_unmap keeps those coherent). */
VTD_DRV_API int vtd_drv_invalidate_pasid(struct vtd_drv *d, uint16_t sid, uint32_t pasid, uint64_t iova,
                                         uint64_t size, unsigned flags);

/* ---- Mappings ---- */

enum {
    VTD_DRV_PROT_READ = 1u << 0,
    VTD_DRV_PROT_WRITE = 1u << 1,
    VTD_DRV_PROT_EXEC = 1u << 2,  /* first-level: clear XD (ignored in second-level legacy mode) */
    VTD_DRV_PROT_SNOOP = 1u << 3, /* second-level SNP (needs ECAP.SC; else ENOTSUP) */
};
/* Map [iova, iova+size) -> [pa, pa+size) with prot (READ and/or WRITE
 * required).  iova, pa and size 4 KiB aligned, size > 0, the range below the
 * domain's address width.  Uses the largest page sizes the unit supports
 * (CAP.SLLPS, or CAP.FL1GP for first-level) where iova and pa are aligned
 * alike.  EEXIST (and nothing changed) when any page of the range is mapped.
 * Not-present -> present: with CAP.CM a page-selective invalidation, else a
 * write-buffer flush (CAP.RWBF).  A range still waiting in the flush queue
 * is flushed first.  ENOMEM: nothing mapped. */
VTD_DRV_API int vtd_drv_map(struct vtd_drv_domain *dom, uint64_t iova, uint64_t pa, uint64_t size,
                            unsigned prot);
/* Unmap every mapped page in [iova, iova+size) (4 KiB aligned); pages not
 * mapped are skipped.  A superpage partly inside is split (the rest stays
 * mapped).  Strict domains invalidate (IOTLB page-selective when CAP.PSI and
 * the power-of-two span fits CAP.MAMV, else domain-selective; device-TLBs of
 * ATS devices) and free emptied tables before returning; deferred domains
 * queue it.  *unmapped (optional) gets the bytes that were mapped. */
VTD_DRV_API int vtd_drv_unmap(struct vtd_drv_domain *dom, uint64_t iova, uint64_t size,
                              uint64_t *unmapped);
/* Look iova up in the domain's own tables: 0 with *pa and *prot (and
 * *page_size, optional) set, or ENOENT. */
VTD_DRV_API int vtd_drv_iova_to_phys(struct vtd_drv_domain *dom, uint64_t iova, uint64_t *pa,
                                     unsigned *prot, uint64_t *page_size);
/* Deferred domains: invalidate everything queued now (one invalidation),
 * free the tables it retires, call retire for each range. */
VTD_DRV_API int vtd_drv_flush(struct vtd_drv_domain *dom);
/* Enforce the age bound of every deferred domain (call from a timer). */
VTD_DRV_API int vtd_drv_flush_poll(struct vtd_drv *d);
VTD_DRV_API unsigned vtd_drv_flush_pending(const struct vtd_drv_domain *dom);

/* ---- Interrupt remapping ---- */

/* Allocate `count` (a power of two, up to 32, for multi-message MSI)
 * consecutive, naturally aligned IRTE indices; *index gets the first.
 * ENOTSUP without interrupt remapping, ENOSPC when full. */
VTD_DRV_API int vtd_drv_irte_alloc(struct vtd_drv *d, unsigned count, uint32_t *index);
/* Clear and free them (IEC invalidated). */
VTD_DRV_API int vtd_drv_irte_free(struct vtd_drv *d, uint32_t index, unsigned count);

enum { VTD_DRV_DLM_FIXED = 0, VTD_DRV_DLM_LOWEST = 1, VTD_DRV_DLM_SMI = 2, VTD_DRV_DLM_NMI = 4,
       VTD_DRV_DLM_INIT = 5, VTD_DRV_DLM_EXTINT = 7 };
struct vtd_drv_irq_target {
    uint8_t vector;
    uint8_t delivery_mode;  /* VTD_DRV_DLM_* (IRTE.DLM) */
    uint32_t dest;          /* APIC id: 8 bits in xAPIC mode, 32 in x2APIC mode */
    bool dest_logical;      /* IRTE.DM */
    bool redir_hint;        /* IRTE.RH */
    bool level;             /* IRTE.TM */
};
/* Source validation written into the IRTE. */
enum {
    VTD_DRV_SVT_NONE = 0, /* no check */
    VTD_DRV_SVT_SID = 1,  /* requester id must equal sid (SQ = 0) */
    VTD_DRV_SVT_BUS = 2,  /* requester bus in [sid >> 8, sid & 0xff] (behind a bridge) */
};
/* Program IRTE `index` remapped-format (IM=0) and invalidate its IEC entry. */
VTD_DRV_API int vtd_drv_irte_set_remapped(struct vtd_drv *d, uint32_t index, uint16_t sid, int svt,
                                          const struct vtd_drv_irq_target *t);
/* Program IRTE `index` posted-format (IM=1, CAP.PI): virtual vector `vector`
 * set in the 64-byte aligned posted-interrupt descriptor at `pid_pa`;
 * urgent sets URG.  IEC invalidated. */
VTD_DRV_API int vtd_drv_irte_set_posted(struct vtd_drv *d, uint32_t index, uint16_t sid, int svt,
                                        uint64_t pid_pa, uint8_t vector, bool urgent);
/* Make IRTE `index` not present (index stays allocated) and invalidate it. */
VTD_DRV_API int vtd_drv_irte_clear(struct vtd_drv *d, uint32_t index);
/* The remappable-format MSI for IRTE `index` (IRTE handle = index, SHV = 0,
 * data = 0), or with multi = true for a multi-message block starting at
 * `index` (SHV = 1, subhandle 0: the device adds its message number to the
 * data, selecting index + n). */
VTD_DRV_API int vtd_drv_msi_compose(struct vtd_drv *d, uint32_t index, bool multi, uint64_t *addr,
                                    uint32_t *data);
/* Invalidate the interrupt entry cache: count entries from index (rounded
 * out to a power-of-two block), or everything with count 0. */
VTD_DRV_API int vtd_drv_iec_invalidate(struct vtd_drv *d, uint32_t index, unsigned count);

/* Posted-interrupt descriptors (64 bytes: PIR, ON, SN, NV, NDST).
 * vtd_drv_pid_init writes a descriptor the caller owns (64-byte aligned)
 * with PIR and ON/SN clear; vtd_drv_pid_alloc allocates one (one per 64
 * bytes of driver-allocated pages) and initialises it; vtd_drv_pid_free
 * returns it.  ndst: the APIC id of the notification's destination (in xAPIC
 * mode the driver places it in NDST[15:8]); nv: the notification vector. */
VTD_DRV_API int vtd_drv_pid_init(struct vtd_drv *d, uint64_t pid_pa, uint8_t nv, uint32_t ndst);
VTD_DRV_API int vtd_drv_pid_alloc(struct vtd_drv *d, uint8_t nv, uint32_t ndst, uint64_t *pid_pa);
VTD_DRV_API int vtd_drv_pid_free(struct vtd_drv *d, uint64_t pid_pa);

/* ---- Faults ---- */

/* Read every pending primary fault record (from FSTS.FRI on), report each
 * through ops->fault, clear its F bit; then clear FSTS.PFO (reported as
 * VTD_DRV_FAULT_OVERFLOW) and queue errors IQE / ITE / ICE (reported with
 * IQERCD).  An IQE is recovered by replacing the offending descriptor with
 * a no-op wait descriptor.  Returns the number of events reported (>= 0). */
VTD_DRV_API int vtd_drv_fault_poll(struct vtd_drv *d);

/* ---- Page requests (ECAP.PRS; docs/driver.md, docs/page-requests.md) ---- */

/* Service the page request queue: clear PRS.PPR, then for each descriptor
 * from PQH to PQT decode it, look up its domain, hand it to
 * ops->page_request (without the driver lock), move PQH past it; a group's
 * last request (LPIG with read or write) gets a page group response (QI type
 * 9) with the worst answer of the group's pages, also of pages handled by an
 * earlier call.  At most one queue's worth of descriptors per call.  Then,
 * when PRS.PRO is set and the queue is empty, PRO is cleared and reported
 * (VTD_DRV_FAULT_PRQ_OVERFLOW).  Returns the number of descriptors handled
 * (>= 0); ENOTSUP without a page request queue, EBUSY when called from the
 * callback or while another drain runs, EIO when PQH/PQT are out of the queue
 * or a descriptor cannot be read (the rest stays queued). */
VTD_DRV_API int vtd_drv_prq_drain(struct vtd_drv *d);

/* ---- Statistics (for tests and benchmarks) ---- */
struct vtd_drv_stats {
    uint64_t qi_submits, qi_descs;     /* queue batches and descriptors submitted */
    uint64_t reg_invals;               /* register-based invalidations (CCMD, IOTLB) */
    uint64_t iotlb_psi, iotlb_dsi, iotlb_global;
    uint64_t cc_device, cc_domain, cc_global;
    uint64_t devtlb_invals, iec_invals, pc_invals;
    uint64_t wbf;                      /* write-buffer flushes */
    uint64_t flushes;                  /* ops->flush calls */
    uint64_t fq_flushes;               /* flush-queue drains */
    uint64_t tables_allocated, tables_freed;
    uint64_t superpage_splits;
    uint64_t prq_requests;             /* page request descriptors handled */
    uint64_t prq_responses;            /* page group responses sent */
    uint64_t prq_overflows;            /* PRS.PRO conditions cleared */
    uint64_t prq_lost_groups;          /* a page failed but its group could not be
                                          remembered (table full): answered as the
                                          last page alone */
};
VTD_DRV_API void vtd_drv_stats(struct vtd_drv *d, struct vtd_drv_stats *out);

#ifdef __cplusplus
}
#endif
#endif
