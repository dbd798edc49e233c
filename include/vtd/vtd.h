/* SPDX-License-Identifier: MIT */
/*
 * libvtd: a software model of an Intel VT-d remapping unit.
 *
 * This is the embedder contract: the stable surface a VMM, an emulator, a
 * test bench or a driver's unit test links against.  One `struct vtd` is one
 * remapping hardware unit (one DRHD).  The unit sees the platform only
 * through the `struct vtd_host` callbacks.
 *
 * Return values: 0 or a negative VTD_E* code.  A fault is not an error:
 * vtd_translate() returns 0 and sets res->status = VTD_FAULT.
 *
 * Timing: everything is synchronous.  When vtd_translate() returns, its fault
 * record and fault event are visible; a GCMD, CCMD or IOTLB command has
 * completed when its vtd_mmio_write() returns; queued invalidation
 * descriptors are processed, up to IQT, by the IQT write itself (unless
 * vtd_config.qi_async asks for vtd_qi_run()).
 *
 * Threads: the unit starts no threads and calls host callbacks only from
 * inside a vtd_* call, on the calling thread.  vtd_translate() may run on
 * many threads at once, concurrently with MMIO; cache reads take no lock.  A
 * translation racing an invalidation may return the old or the new result;
 * one that starts after the invalidation completed never returns the old.
 */
#ifndef VTD_VTD_H
#define VTD_VTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VTD_API __attribute__((visibility("default")))
#else
#define VTD_API
#endif

struct vtd; /* one remapping unit (one DRHD) */

/* A programming error of the software driving the unit.  Codes are the
 * VTD_DIAG_* constants of <vtd/defs.h>. */
struct vtd_diag {
    int code;        /* stable VTD_DIAG_* code */
    const char *msg; /* one sentence naming the offending field */
    uint16_t sid;    /* requester involved, or 0 */
    uint64_t addr;   /* entry / register / descriptor address involved, or 0 */
};

/* An invalidation the unit carried out (vtd_host.inval_notify). */
enum { VTD_NOTICE_CONTEXT = 1, VTD_NOTICE_IOTLB = 2 };
enum {
    VTD_NOTICE_GLOBAL = 1, /* everything in that cache */
    VTD_NOTICE_DOMAIN = 2, /* everything tagged with did */
    VTD_NOTICE_DEVICE = 3, /* context cache: source-ids matching sid under fm */
    VTD_NOTICE_PAGE = 4,   /* IOTLB: [addr, addr + size) of domain did (and pasid, when pasid_valid) */
    VTD_NOTICE_PASID = 5   /* IOTLB: everything tagged with did and pasid (scalable mode) */
};
struct vtd_inval_notice {
    uint8_t cache;       /* VTD_NOTICE_CONTEXT / _IOTLB */
    uint8_t granularity; /* VTD_NOTICE_*: the granularity performed */
    uint16_t did;        /* domain (not for global) */
    uint16_t sid;        /* device-selective: the source-id ... */
    uint8_t fm;          /* ... and its function mask (CCMD.FM) */
    bool ih;             /* page-selective: invalidation hint (leaf entries only) */
    bool pasid_valid;    /* PASID-based IOTLB invalidation (scalable mode) */
    uint32_t pasid;
    uint64_t addr, size; /* page-selective: the range */
};

/* A page group response (page_grp_resp_dsc, QI descriptor type 9) for the
 * endpoint `sid`: software's answer to a page request group.  code is the
 * PCIe response code (VTD_PRC_*). */
struct vtd_page_resp {
    uint16_t sid;
    bool pasid_valid;
    uint32_t pasid; /* when pasid_valid */
    uint16_t prgi;  /* page request group index, 9 bits */
    uint8_t code;
};
#define VTD_PRC_SUCCESS 0x0
#define VTD_PRC_INVALID_REQUEST 0x1
#define VTD_PRC_FAILURE 0xF

/* A page request message from endpoint `sid` (PCIe Page Request Services,
 * spec Rev 5.10 §7.4): the device's Device-TLB found no usable translation
 * for `addr` and asks software to make the page present.  Requests with the
 * same prgi form a page group; the one with lpig set is its last. */
struct vtd_page_req {
    uint16_t sid;
    bool pasid_valid;
    uint32_t pasid; /* 20 bits, when pasid_valid */
    bool priv;      /* privilege mode requested (supervisor), with PASID */
    bool exe;       /* execute requested, with PASID and read */
    bool read, write;
    bool lpig;      /* last page in group */
    uint16_t prgi;  /* page request group index, 9 bits */
    uint64_t addr;  /* page address (bits 11:0 ignored) */
};
/* What the unit did with a page request (vtd_page_request). */
enum {
    VTD_PRQ_QUEUED = 0,   /* page request descriptor written at PQT, PQT advanced */
    VTD_PRQ_FAULT = 1,    /* a remapping-table condition of Table 30: fault_reason */
    VTD_PRQ_OVERFLOW = 2, /* PRS.PRO was set, or the queue was full (PRO now set) */
    VTD_PRQ_DROPPED = 3,  /* translation disabled, or the queue names memory the
                             platform does not back (diag) */
};
struct vtd_page_req_result {
    int status;           /* VTD_PRQ_* */
    uint8_t fault_reason; /* VTD_PRQ_FAULT: 30h-5Bh */
    bool fault_recorded;  /* false when FPD, PFO or collapsing suppressed it */
    bool responded;       /* the unit answered the device itself (page_response) ... */
    uint8_t code;         /* ... with this VTD_PRC_* code */
    uint64_t desc_addr;   /* VTD_PRQ_QUEUED: where the descriptor was written */
};

struct vtd_host {
    void *opaque; /* passed to every callback */
    /* 0 on success, non-zero when [pa, pa+len) is not backed: the unit then
     * reports the architectural "error accessing ..." fault. */
    int (*mem_read)(void *opaque, uint64_t pa, void *buf, size_t len);
    int (*mem_write)(void *opaque, uint64_t pa, const void *buf, size_t len);
    /* optional: atomic 64-bit compare-exchange at an 8-byte aligned pa, used
     * for A/D bits and posted-interrupt descriptors.  Returns 0 when it
     * exchanged, 1 when the compare failed (*expected then holds the current
     * value), negative when not backed.  NULL: mem_read + mem_write. */
    int (*mem_cmpxchg64)(void *opaque, uint64_t pa, uint64_t *expected, uint64_t desired);
    /* optional: interrupt messages the unit sends.  Fault events use
     * addr = FEUADDR << 32 | FEADDR, data = FEDATA. */
    void (*msi)(void *opaque, uint64_t addr, uint32_t data);
    void (*diag)(void *opaque, const struct vtd_diag *d); /* optional */
    /* optional, a speed-up for RAM-backed memory: a pointer to the 8-byte
     * aligned qword at pa that the unit may read at once with an atomic 8-byte
     * load, or NULL to make the unit use mem_read for it (always return NULL
     * where mem_read would fail).  Used for page-table entry reads. */
    const uint64_t *(*mem_ptr)(void *opaque, uint64_t pa);
    /* optional: a device-TLB invalidation (queued invalidation descriptor
     * type 3, ECAP.DT) to be delivered to the endpoint `sid` (pfsid: its
     * physical function).  [addr, addr + size) is the range to invalidate,
     * decoded from the descriptor's S bit: S=0 one 4 KiB page; S=1 the size
     * given by the lowest 0 bit of ADDR at or above bit 12 (bit k 0 means
     * 2^(k+1) bytes, addr aligned down to it).  size 0 stands for 2^64 (the
     * whole address space).  pasid/pasid_valid/global are for PASID-based
     * device-TLB invalidation (not modelled yet: false/0).
     * Return 0 when the endpoint has completed the invalidation, or
     * VTD_DEVTLB_PENDING when it will complete it later with
     * vtd_devtlb_complete(); until then a wait descriptor that follows holds
     * the queue, and vtd_devtlb_timeout() turns what is pending into an
     * invalidation time-out error (ITE).  NULL: every descriptor completes at
     * once with no endpoint to tell. */
    int (*devtlb_inval)(void *opaque, uint16_t sid, uint16_t pfsid, uint64_t addr, uint64_t size,
                        uint32_t pasid, bool pasid_valid, bool global);
    /* optional, for VMMs that shadow the tables (caching mode): called after
     * every context-cache or IOTLB invalidation has taken effect, whichever
     * interface (registers or queue) it came through; see struct
     * vtd_inval_notice and vtd_mappings(). */
    void (*inval_notify)(void *opaque, const struct vtd_inval_notice *n);
    /* optional (ECAP.PRS): a page group response to be delivered to the
     * endpoint r->sid: a page group response descriptor software submitted
     * (QI type 9), or a response the unit generated itself for a page
     * request it could not queue (vtd_page_request).  NULL: responses are
     * dropped. */
    void (*page_response)(void *opaque, const struct vtd_page_resp *r);
};

struct vtd_config {
    uint32_t ver;
    uint64_t cap;  /* honoured exactly; CAP.FRO places the fault records */
    uint64_t ecap; /* honoured exactly; ECAP.IRO places the IOTLB registers */
    uint8_t haw;   /* host address width (DMAR HAW + 1): entry address bits at
                      and above it are reserved.  Default 52 */
    /* Cache geometry: 0 entries means that cache is absent.  Entry counts are
     * rounded down to a power of two; iotlb_ways must divide iotlb_entries. */
    uint32_t iotlb_entries, iotlb_ways;
    uint32_t context_cache_entries, pasid_cache_entries, pwc_entries, iec_entries;
    /* Non-architectural knobs. */
    /* When set and host->diag is given, every cache hit is checked against
     * memory and a hit that no longer matches the tables is reported as
     * VTD_DIAG_STALE_* (the hardware behaviour, using the stale entry, is kept).
     * Costs a table walk per hit; default on. */
    bool check_stale;
    /* Queued invalidation: false (default) processes descriptors during the
     * IQT write that submits them; true leaves them queued until the
     * embedder calls vtd_qi_run(), e.g. from a thread of its own, as
     * hardware runs the queue beside the CPU.  Software then sees IQH advance
     * and wait descriptors complete later, as on real parts. */
    bool qi_async;
};

/* A legacy-mode part (docs/model.md "What the default unit advertises"):
 * 3/4/5-level tables, 2 MiB and 1 GiB pages, PSI, 8 fault records,
 * pass-through, snoop control, ZLR, PMRs, queued invalidation and
 * device-TLBs (QI, DT), interrupt remapping in xAPIC and x2APIC mode and
 * interrupt posting (IR, EIM, PI) with a 256-entry interrupt entry cache.
 * Features not yet modelled (scalable mode, ...) are not advertised. */
VTD_API void vtd_config_default(struct vtd_config *cfg);
/* A scalable-mode part (docs/model.md "Scalable mode"): what
 * vtd_config_default() advertises (VER 6.0: queued invalidation only) plus
 * scalable-mode translation (SMTS) with PASIDs (PASID, PSS = 20 bits),
 * second-level translation (SLTS) with A/D bits (SLADS, SMPWCS),
 * pass-through, RID_PASID and RID_PRIV (RPS, RPRIVS), supervisor requests
 * (SRS) and abort-DMA mode (ADMS), first-level and nested translation
 * (FLTS, NEST), page requests (PRS) with page-request drain (PDS), with a
 * 256-entry PASID cache. */
VTD_API void vtd_config_scalable(struct vtd_config *cfg);
/* The CAP and ECAP bits (fields included) this model implements: vtd_create
 * rejects a config with any other bit set (VTD_ENOTSUP).  Either pointer may
 * be NULL.  For tools that build a unit from a real unit's registers and
 * must mask what the model lacks (vtd walk --image). */
VTD_API void vtd_config_implemented(uint64_t *cap, uint64_t *ecap);
/* Why vtd_create would reject cfg: a phrase naming the field or rule (e.g.
 * "ECAP.DT without ECAP.QI"), or NULL when it would accept it. */
VTD_API const char *vtd_config_problem(const struct vtd_config *cfg);

enum {
    VTD_EINVAL = -1,  /* invalid argument or inconsistent configuration */
    VTD_ENOMEM = -2,  /* allocation failed */
    VTD_ENOTSUP = -3, /* a capability the model does not implement */
    VTD_ENOENT = -4,  /* no translation structures for the request (vtd_mappings) */
};
VTD_API const char *vtd_strerror(int err);

/* Rejects (VTD_EINVAL / VTD_ENOTSUP) a config it cannot honour or that is
 * inconsistent, a NULL host, or missing mem_read/mem_write.  cfg NULL means
 * vtd_config_default(). */
VTD_API int vtd_create(const struct vtd_config *cfg, const struct vtd_host *host, struct vtd **out);
VTD_API void vtd_destroy(struct vtd *u);
VTD_API void vtd_reset(struct vtd *u); /* power-on reset: registers, records, caches */

/* size 4 or 8, naturally aligned.  Other sizes, unaligned or unknown offsets:
 * reads return 0, writes are ignored, and diag reports it.  GCMD reads as 0. */
VTD_API uint64_t vtd_mmio_read(struct vtd *u, uint64_t offset, unsigned size);
VTD_API void vtd_mmio_write(struct vtd *u, uint64_t offset, uint64_t value, unsigned size);
/* Size in bytes of the unit's register window (4 KiB, or more when FRO/IRO
 * place registers beyond it). */
VTD_API uint64_t vtd_mmio_size(const struct vtd *u);

enum { VTD_R = 1, VTD_W = 2, VTD_X = 4 }; /* access / permission bits */
enum { VTD_AT_UNTRANSLATED, VTD_AT_TRANSLATION_REQ, VTD_AT_TRANSLATED };
enum { VTD_OK = 0, VTD_FAULT = 1, VTD_BLOCKED = 2 };

/* Translation-completion attribute bits (vtd_result.ats). */
enum {
    VTD_ATS_U = 1,    /* untranslated access only: the device must not cache it */
    VTD_ATS_N = 2,    /* non-snooped accesses allowed */
    VTD_ATS_G = 4,    /* global mapping */
    VTD_ATS_PRIV = 8, /* privileged-mode access */
    VTD_ATS_EXEC = 16 /* execute permitted */
};

struct vtd_request {
    uint16_t sid;   /* bus << 8 | dev << 3 | fn */
    uint8_t at;     /* VTD_AT_* */
    uint8_t access; /* VTD_R read, VTD_W write, VTD_R|VTD_W atomic, VTD_R|VTD_X execute */
    bool pasid_valid;
    bool priv; /* supervisor request (with PASID) */
    bool zlr;  /* zero-length read */
    uint32_t pasid;
    uint64_t addr; /* IOVA; one request never crosses a 4 KiB page */
};

struct vtd_result {
    int status;           /* VTD_OK; VTD_FAULT; VTD_BLOCKED: dropped without a fault
                             (a protected memory region, an unsupported request
                             such as a translated request with TE=0; abort-DMA
                             mode faults 33h as the spec says) */
    uint8_t fault_reason; /* architectural code when status == VTD_FAULT */
    bool fault_recorded;  /* false when FPD, PFO or collapsing suppressed it */
    uint64_t pa;          /* translated address (page base + offset) */
    uint64_t page_size;   /* size of the leaf that mapped it; 4 KiB for pass-through and TE=0 */
    uint8_t perm;         /* permissions of the translation (not of the request);
                             pass-through and TE=0: VTD_R|VTD_W */
    uint8_t ats;          /* translation completion for VTD_AT_TRANSLATION_REQ: VTD_ATS_* */
};

/* Translate one DMA request.  Returns 0 (the outcome is in *res) or VTD_EINVAL
 * for a malformed request (NULL pointers, unknown at/access values). */
VTD_API int vtd_translate(struct vtd *u, const struct vtd_request *req, struct vtd_result *res);

/* ---- Page requests (ECAP.PRS; docs/page-requests.md) ---- */

/* A device's page request arrives at the unit.  Checked as Table 30's page
 * request columns say (legacy mode 32h, RTADDR faults 30h/33h, the
 * scalable-mode root, context (PRE=0: 47h), PASID directory and PASID-table
 * entry, with FPD honoured); a valid request invalidates the IOTLB entries
 * for its page (§6.5.3.1), is written as a page request descriptor at PQT,
 * advances PQT, sets PRS.PPR and raises the page request event (PECTL,
 * PEDATA/PEADDR/PEUADDR through host->msi).  A request that requires a
 * response (lpig, and read or write) and is not queued is answered through
 * host->page_response: Invalid Request after a fault, Success when the
 * queue overflowed (Table 31).  res may be NULL.  Returns 0, VTD_EINVAL for
 * NULL u/r or a PASID or PRGI beyond its width, VTD_ENOTSUP without
 * ECAP.PRS.  Takes the unit lock. */
VTD_API int vtd_page_request(struct vtd *u, const struct vtd_page_req *r, struct vtd_page_req_result *res);

/* ---- Interrupt remapping (ECAP.IR) and posting (CAP.PI) ---- */

enum { VTD_IRQ_PASSTHROUGH, VTD_IRQ_REMAPPED, VTD_IRQ_POSTED };
/* An interrupt request: a DWORD write by `sid` of `data` to `addr`
 * (0xFEEx_xxxx). */
struct vtd_msi {
    uint16_t sid;
    uint64_t addr;
    uint32_t data;
};
struct vtd_irq {
    int status;           /* VTD_OK, VTD_FAULT (the interrupt is blocked) */
    uint8_t fault_reason; /* 20h-29h when status == VTD_FAULT */
    bool fault_recorded;  /* false when FPD, PFO or collapsing suppressed it */
    uint8_t kind;         /* VTD_IRQ_* */
    uint8_t vector;       /* remapped / pass-through: the vector to deliver;
                             posted: the virtual vector set in PIR */
    uint8_t delivery_mode;
    uint32_t dest;        /* APIC id: 8-bit (DST[15:8]) in xAPIC mode, 32-bit in x2APIC mode */
    bool dest_logical, redir_hint, level_triggered;
    uint64_t pid_addr;    /* posted: the descriptor updated */
    bool notified;        /* posted: a notification event was sent (host->msi) */
};
/* Remap one interrupt request (docs/model.md "Interrupt remapping").
 * GSTS.IRES=0: passed through, the compatibility-format fields decoded.
 * IRES=1: compatibility format passed through, or blocked with fault 25h
 * when IRTA.EIME=1 or GSTS.CFIS=0; remappable format looked up in the
 * interrupt remapping table (through the interrupt entry cache): a
 * remapped-format IRTE gives kind VTD_IRQ_REMAPPED and the interrupt to
 * deliver; a posted-format IRTE (CAP.PI) updates the posted-interrupt
 * descriptor in memory, sends the notification event through host->msi
 * when the architecture says so, and gives kind VTD_IRQ_POSTED.  Faults are
 * recorded with FI[63:48] = interrupt index.  Returns 0 (outcome in *out) or
 * VTD_EINVAL for NULL pointers or an address that is no interrupt request
 * (bits 63:32 not 0 or 31:20 not 0xFEE).  Safe on many threads at once. */
VTD_API int vtd_remap_msi(struct vtd *u, const struct vtd_msi *msi, struct vtd_irq *out);

/* An I/O APIC redirection table entry in remappable format (bit 48 = 1:
 * interrupt index[14:0] in bits 63:49, index[15] in bit 11, vector 7:0,
 * trigger mode 15) turned into the interrupt request the I/O APIC sends:
 * addr = 0xFEE00000 | index[14:0] << 5 | 1 << 4 | index[15] << 2 (SHV = 0),
 * data = vector | trigger << 15, from `sid`.  VTD_EINVAL for a
 * compatibility-format entry (bit 48 = 0) or out NULL. */
VTD_API int vtd_ioapic_rte_to_msi(uint64_t rte, uint16_t sid, struct vtd_msi *out);

/* ---- Inspection (not architectural; for tools, tests and debuggers) ---- */

/* One structure read by a walk, reported by vtd_walk(). */
enum {
    VTD_STEP_ROOT = 1,    /* legacy root entry: val[0..1] */
    VTD_STEP_CONTEXT = 2, /* legacy context entry: val[0..1] */
    VTD_STEP_SL_PTE = 3,  /* second-level entry at `level` (1 = 4 KiB PTE): val[0] */
    VTD_STEP_PASSTHROUGH = 4, /* context says pass-through (no table read) */
    VTD_STEP_TE_OFF = 5,      /* translation disabled: address passed through */
    /* scalable mode (RTADDR.TTM = 01) */
    VTD_STEP_SM_ROOT = 6,     /* scalable-mode root entry (LP/UP halves): val[0..1], index = bus */
    VTD_STEP_SM_CONTEXT = 7,  /* scalable-mode context entry: val[0..3], index = devfn[6:0] */
    VTD_STEP_PASID_DIR = 8,   /* PASID directory entry: val[0], index = PASID[19:6] */
    VTD_STEP_PASID_ENTRY = 9, /* PASID-table entry: val[0..7], index = PASID[5:0] */
    VTD_STEP_FL_PTE = 10,     /* first-level entry at `level` (1 = 4 KiB PTE): val[0] */
};
struct vtd_walk_step {
    int kind;       /* VTD_STEP_* */
    int level;      /* page-table level for VTD_STEP_SL_PTE, else 0 */
    unsigned index; /* index used into the table */
    uint64_t table; /* base address of the table read */
    uint64_t addr;  /* address of the entry read */
    uint64_t val[8];  /* the entry, 64-bit words, val[0] = bits 63:0 */
    bool read_error;  /* the read failed (the walk stops here) */
    bool nested;      /* VTD_STEP_SL_PTE of a nested walk: it translates a
                         guest-physical address (a first-level table pointer
                         or the final output) */
    int for_level;    /* nested: the first-level level whose table address this
                         second-level step translates; 0 = the final address */
    uint64_t input;   /* the address this step translates (IOVA, or the GPA in
                         a nested walk) */
};
typedef void (*vtd_walk_fn)(void *arg, const struct vtd_walk_step *step);

/* Walk the tables in memory for `req` as the unit would, without using or
 * filling any cache and without recording faults, calling fn for every
 * structure read.  res gets the outcome the walk produced (fault_recorded is
 * always false).  fn may be NULL. */
VTD_API int vtd_walk(struct vtd *u, const struct vtd_request *req, struct vtd_result *res,
                     vtd_walk_fn fn, void *arg);

/* One leaf mapping reported by vtd_mappings(). Return non-zero to stop. */
typedef int (*vtd_mapping_fn)(void *arg, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm);

/* Walk the tables in memory (never the caches) that the context entry of
 * `sid` names and report every leaf mapping that overlaps [start, start+len):
 * iova and pa of the whole leaf (4 KiB, 2 MiB or 1 GiB), its size and the
 * effective permission (VTD_R/VTD_W, ANDed over the levels; entries granting
 * nothing are not reported), in increasing iova order.  Entries a
 * translation would fault on (reserved bits, unreadable tables) are not
 * mappings and are skipped.  A pass-through context, or translation disabled,
 * reports the range itself as one identity mapping with VTD_R|VTD_W.
 * Returns 0, the first non-zero value fn returned, VTD_EINVAL for bad
 * arguments (len 0, range wrapping), or VTD_ENOENT when the source-id has no
 * usable context entry (what a DMA from it would fault on).  This is what a
 * VMM keeping a shadow of a guest's tables calls from inval_notify. */
VTD_API int vtd_mappings(struct vtd *u, uint16_t sid, uint64_t start, uint64_t len, vtd_mapping_fn fn, void *arg);

/* Scalable mode (RTADDR.TTM = 01): the mappings of the PASID-table entry a
 * request from `sid` with PASID `pasid` (pasid_valid) and privilege `priv`
 * would use; without PASID, the context's RID_PASID entry and RID_PRIV
 * (vtd_mappings does that).  PGTT 010: second-level leaves as above; 001:
 * first-level leaves, iova the (canonical, sign-extended) input, pa the
 * host-physical page, perm from R/W, U/S, WPE and priv (§3.6.1); 011: each
 * first-level leaf through the second level, in pieces of the smaller of
 * the two leaves, perm ANDed; 100: the range itself, identity, RW, without
 * 0xFEE00000-0xFEEFFFFF and cut at the host address width.  Entries a
 * translation would fault on are skipped, and A/D updates are taken as
 * succeeding (a translation may still fault 7Ch/90h/77h).  First-level
 * mappings come in table order (the lower canonical half first).  In legacy
 * mode a request with PASID has no mappings (VTD_ENOENT), one without is
 * vtd_mappings.  Returns as vtd_mappings. */
VTD_API int vtd_mappings_pasid(struct vtd *u, uint16_t sid, bool pasid_valid, uint32_t pasid, bool priv,
                               uint64_t start, uint64_t len, vtd_mapping_fn fn, void *arg);

/* With vtd_config.qi_async: fetch and carry out the queued descriptors (up
 * to IQT, or until an error or a wait held by pending device-TLB
 * invalidations stops the queue).  Returns 1 when IQH moved, 0 when there was
 * nothing to do, VTD_ENOTSUP on a unit without ECAP.QI.  Safe to call on any
 * thread, concurrently with MMIO and translation.  Without qi_async the
 * queue is processed at once and this finds nothing to do. */
VTD_API int vtd_qi_run(struct vtd *u);

/* ---- Device-TLB invalidation completion (ECAP.DT, queued invalidation) ---- */

#define VTD_DEVTLB_PENDING 1 /* devtlb_inval return: completion will come later */

/* The endpoint `sid` completes its oldest pending device-TLB invalidation.
 * When nothing is pending for it, the completion is unexpected: the unit sets
 * FSTS.ICE with IQERCD.ICESID = sid (invalidation completion error) and
 * returns VTD_EINVAL.  Returns 0 otherwise; a wait descriptor held by pending
 * invalidations proceeds once none is left. */
VTD_API int vtd_devtlb_complete(struct vtd *u, uint16_t sid);

/* The embedder's clock says the device-TLB invalidation completion time-out
 * has passed: if any invalidation is pending, the unit sets FSTS.ITE with
 * IQERCD.ITESID = the source-id of the oldest, forgets the pending ones,
 * aborts the wait descriptor holding the queue (no status write, no
 * interrupt; IQH moves past it) and fetches nothing more until software
 * clears FSTS.ITE.  Returns the number of invalidations that timed out. */
VTD_API int vtd_devtlb_timeout(struct vtd *u);

struct vtd_stats {
    uint64_t translations;  /* vtd_translate calls */
    uint64_t iotlb_hits, iotlb_misses;
    uint64_t ctx_hits, ctx_misses;
    uint64_t pwc_hits, pwc_misses; /* paging-structure cache probes */
    uint64_t walks;                /* second-level walks started */
    uint64_t mem_reads;            /* table-entry reads from memory */
    uint64_t faults;               /* faults detected (recorded or not) */
    uint64_t faults_recorded;
    uint64_t invalidations;        /* register-based invalidation commands */
    uint64_t diags;
};
/* Counters since vtd_create / vtd_reset, of vtd_translate calls only (not
 * vtd_walk, vtd_mappings, or the re-walks stale checking makes).  Exact when
 * no translation is running concurrently and at most 16 threads translate. */
VTD_API void vtd_get_stats(struct vtd *u, struct vtd_stats *out);

#ifdef __cplusplus
}
#endif
#endif
