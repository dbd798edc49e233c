/* SPDX-License-Identifier: MIT */
/* Internal state of one remapping unit, shared by the src/hw modules. */
#ifndef VTD_HW_INTERNAL_H
#define VTD_HW_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

/* Fences of the caches' seqlocks.  gcc's ThreadSanitizer does not support
 * atomic_thread_fence (-Wtsan, an error with -Werror); on x86 an acquire or
 * release thread fence is only a compiler barrier, which atomic_signal_fence
 * gives, so gcc TSan builds use that there.  Every other build, and gcc TSan
 * on other architectures, keeps the thread fence. */
#if defined(__SANITIZE_THREAD__) && (defined(__x86_64__) || defined(__i386__))
#define vtd_fence(order) atomic_signal_fence(order)
#else
#define vtd_fence(order) atomic_thread_fence(order)
#endif
#include <stdbool.h>
#include <stdint.h>

#include <vtd/defs.h>
#include <vtd/regs.h>
#include <vtd/vtd.h>

#define VTD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VTD_LIKELY(x) __builtin_expect(!!(x), 1)

/* ---- Registers (regs.c) ---- */
enum reg_kind {
    REG_PLAIN,   /* value/rw/w1c only */
    REG_COMMAND, /* write-only command register (GCMD): never stores, reads 0 */
};
struct reg_desc {
    uint16_t off;
    uint8_t size; /* 4 or 8 */
    uint8_t kind;
    const char *name;
    uint64_t reset, rw, w1c;
    uint64_t ro; /* defined read-only bits: writes to them are ignored silently */
    uint64_t wo; /* write-only bits: stored for the command, read as 0 */
    uint64_t val;
    /* side effects after a write: old value, bits written (value & byte mask), mask */
    void (*on_write)(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
};
#define VTD_MAX_REGS 600

/* ---- Set-associative caches (cache.c) ----
 * An entry is four qwords; tag 0 means invalid.  Readers take no lock: they
 * read the set's sequence counter before and after (seqlock).  Writers hold
 * a set by making its counter odd (cache.c). */
struct set_meta {
    _Alignas(64) _Atomic uint32_t seq; /* odd while a writer owns the set */
    uint32_t victim;                   /* round-robin, changed only by the owner */
};
struct centry {
    _Atomic uint64_t tag, d0, d1, gen;
};
struct cache {
    uint32_t nsets, ways, setmask;
    struct set_meta *meta; /* per set, one cache line each (no false sharing) */
    /* bit s of used[s / 64]: set s may hold an entry.  A fill sets it (with
     * the set owned, before it checks the epoch); an invalidation clears it
     * when it leaves the set empty.  Lets invalidations visit only the sets
     * that hold something (cache.c). */
    _Atomic uint64_t *used;
    uint32_t nwords; /* of used */

    struct centry *e;      /* nsets * ways */
};
struct chit {
    uint64_t d0, d1, gen;
};

/* Per-thread-slot counters: each thread updates one slot with plain relaxed
 * load/store (no atomic read-modify-write on the hot path). */
#define VTD_STAT_SLOTS 16
struct stat_slot {
    /* translations completed by the fast path: each is also a context-cache
     * hit and an IOTLB hit (vtd_get_stats adds them in).  The slot starts a
     * cache line (and the 11 counters pad it to two). */
    _Alignas(64) _Atomic uint64_t fast_hits;
    _Atomic uint64_t translations, iotlb_hits, iotlb_misses, ctx_hits, ctx_misses, pwc_hits, pwc_misses, walks,
        mem_reads, faults;
};
_Static_assert(sizeof(struct stat_slot) == 128, "stat slot: two cache lines");

/* Decoded context (legacy context entry) as cached. */
struct ctxinfo {
    uint64_t slptptr;
    uint16_t did;
    uint8_t tt, aw, levels;
    bool fpd;
    bool present; /* false: a cached not-present entry (CM=1) */
};

/* Flags of the translation state read on the hot path (vtd.hot). */
#define HOT_TE 1u
#define HOT_ABORT 2u /* TTM abort-DMA latched */
#define HOT_PMR 4u   /* PMEN.EPM */
#define HOT_TTM_BAD 8u /* latched TTM not supported: 30h */
#define HOT_FAST 16u   /* fast_ok: set once at create, never changes */
#define HOT_SM 32u     /* TTM=01 (scalable mode) latched on an SMTS unit */

struct vtd {
    /* first, so that a thread's slot is u + slot * 128 */
    struct stat_slot stats[VTD_STAT_SLOTS];
    struct vtd_config cfg;
    struct vtd_host host;
    pthread_mutex_t lock; /* registers, fault recording (recursive) */

    /* registers */
    struct reg_desc regs[VTD_MAX_REGS];
    unsigned nregs;
    uint16_t *slot; /* per 4-byte MMIO slot: regs index + 1, 0 = none */
    uint64_t mmio_size;
    struct reg_desc *r_gsts, *r_rtaddr, *r_ccmd, *r_fsts, *r_fectl, *r_fedata, *r_feaddr,
        *r_feuaddr, *r_pmen, *r_plmbase, *r_plmlimit, *r_phmbase, *r_phmlimit, *r_iva, *r_iotlb;
    struct reg_desc *r_frcd; /* first of 2*(NFR+1) descs: lo, hi, lo, hi ... */
    bool root_latched;       /* SRTP done since reset */
    /* queued invalidation (qi.c): registers present only with ECAP.QI (NULL otherwise) */
    struct reg_desc *r_iqh, *r_iqt, *r_iqa, *r_ics, *r_iectl, *r_iedata, *r_ieaddr, *r_ieuaddr,
        *r_iqercd;
    struct reg_desc *r_pqh, *r_pqt, *r_pqa, *r_prs, *r_pectl, *r_pedata, *r_peaddr, *r_peuaddr;
    bool qi_running; /* the queue is being processed (a callback re-entering MMIO must not nest) */
    uint32_t qi_epoch; /* bumped when IQH is reset (QIE cleared, IQA written) */
    uint16_t devtlb_pending[256]; /* source-ids with a device-TLB invalidation pending, oldest first */
    unsigned devtlb_npending;
    bool qi_held;                 /* a wait descriptor at IQH waits for them */
    /* interrupt remapping (ir.c, posted.c): IRTA present only with ECAP.IR */
    struct reg_desc *r_irta;
    _Atomic uint32_t ir_flags; /* IRF_*: GSTS.IRES / CFIS as read by vtd_remap_msi */
    _Atomic uint64_t irta;     /* IRTA latched by SIRTP */
    struct cache iec;          /* interrupt entry cache: direct-mapped by index */
    _Atomic uint32_t iec_epoch; /* bumped by every IEC invalidation */

    /* translation state read lock-free by vtd_translate */
    _Atomic uint32_t hot;
    _Atomic uint64_t rta; /* latched RTADDR (RTA | TTM) */
    _Atomic uint64_t plm_lo, plm_hi, phm_lo, phm_hi; /* inclusive ranges, lo > hi: empty */

    /* fault recording */
    unsigned nfr;     /* number of records */
    unsigned fr_next; /* next record index */

    /* derived capabilities */
    uint32_t ndomains;
    uint8_t mgaw; /* width in bits (MGAW + 1) */
    uint8_t sagaw;
    uint8_t ver_major;
    uint64_t haw_mask; /* bits at and above haw */
    bool cm, zlr, dt, pt, sc, sl2m, sl1g, psi;
    unsigned mamv;
    bool stale_check; /* cfg.check_stale && host.diag */
    bool fast_ok;     /* the fast path may be used: both caches present, no stale checking */
    bool miss_ok;     /* the fast miss path may be used: context cache present, no stale checking */
    uint64_t rsvd_leaf[4];    /* reserved bits of a present leaf at level 1..3 */
    uint64_t rsvd_nonleaf[6]; /* reserved bits of a present non-leaf at level 2..5 */
    uint64_t rsvd_ctx_hi;     /* reserved bits of a context entry's high qword */
    /* scalable mode (sm.c): reserved bits of the SM context entry q0/q1 and of
     * the PASID-table entry q0..q7, per the capabilities advertised */
    uint64_t rsvd_smctx[2], rsvd_pe[8];
    unsigned pasid_bits; /* ECAP.PSS + 1 */
    bool smts, rps, rprivs, srs, slts, slads, smpwc;

    /* caches */
    struct cache ctxc, iotlb, pwc;
    /* first-level / nested (fl.c, allocated with ECAP.FLTS): combined IOTLB
     * entries and first-level paging-structure entries, tagged by domain and
     * PASID; fl_dgen[did] is bumped by IOTLB invalidations that drop all of
     * a domain's first-level entries (page-selective iotlb_inv_dsc) */
    struct cache fltlb, flpwc;
    _Atomic uint32_t *fl_dgen;
    _Atomic uint32_t ctx_ggen, tlb_ggen;
    /* bumped by every invalidation of that cache: a walk that started before
     * one does not fill (its reads may predate the change) */
    _Atomic uint32_t ctx_epoch, tlb_epoch;
    _Atomic uint32_t *ctx_dgen, *tlb_dgen; /* per domain id */
    _Atomic uint8_t *dsizes;               /* per domain: bit s set if IOTLB may hold size s */

    /* PASID cache (sm.c): tag 1 | sid << 1 | PASID << 17, see sm.c */
    struct cache pc;
    _Atomic uint32_t pc_ggen, pc_epoch;

    struct front_entry *front;
    struct smfront_entry *smfront; /* with the PASID cache too */
    _Atomic uint32_t front_epoch;

    _Atomic uint64_t faults_recorded, invalidations, diags;
};

/* ir.c flags (vtd.ir_flags) */
#define IRF_IRES 1u
#define IRF_CFIS 2u

/* unit.c */
void vtd_diagf(struct vtd *u, int code, uint16_t sid, uint64_t addr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
struct stat_slot *vtd_stat_slot_slow(struct vtd *u);
/* process-wide thread number (0: not yet assigned), see unit.c */
extern _Thread_local unsigned vtd_thread_number __attribute__((tls_model("initial-exec"), visibility("hidden")));
static inline struct stat_slot *vtd_stat_slot(struct vtd *u)
{
    unsigned n = vtd_thread_number;
    if (VTD_UNLIKELY(n == 0))
        return vtd_stat_slot_slow(u);
    return &u->stats[n % VTD_STAT_SLOTS];
}
static inline void stat_inc(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* regs.c */
int vtd_regs_init(struct vtd *u);
void vtd_regs_reset(struct vtd *u);
void vtd_regs_free(struct vtd *u);

/* fault.c */
struct fault {
    uint8_t reason;
    uint16_t sid;
    uint64_t addr; /* FI */
    uint8_t access, at;
    bool pasid_valid, priv, exe;
    uint32_t pasid;
    bool intr;      /* interrupt-remapping fault: FI[63:48] = index (in addr) */
    bool prq;       /* page request: type T1=0 T2=1, no AT or EXE */
};
/* Record a fault (takes the unit lock); returns true when a record was written. */
bool vtd_fault_record(struct vtd *u, const struct fault *f);
/* Status bits changed by software: recompute PPF and IP. */
void vtd_fault_status_update(struct vtd *u);
/* FECTL.IM cleared: deliver a pending event. */
void vtd_fault_unmask(struct vtd *u);
void vtd_fault_reset(struct vtd *u);
/* Set a fault status bit (IQE, ICE, ITE) and raise the fault event when no
 * fault status was pending before (caller holds the unit lock). */
void vtd_fault_status_set(struct vtd *u, uint64_t bit);

/* cache.c */
int vtd_caches_init(struct vtd *u);
void vtd_caches_free(struct vtd *u);
void vtd_caches_reset(struct vtd *u);
/* Lock-free probe of one set for `tag` (seqlock read). */
static inline bool cache_lookup(const struct cache *c, uint32_t set, uint64_t tag, struct chit *out)
{
    const struct centry *e = &c->e[(size_t)set * c->ways];
    for (;;) {
        uint32_t s1 = atomic_load_explicit(&c->meta[set].seq, memory_order_acquire);
        if (VTD_UNLIKELY(s1 & 1))
            continue;
        bool hit = false;
        for (uint32_t w = 0; w < c->ways; w++) {
            if (atomic_load_explicit(&e[w].tag, memory_order_relaxed) == tag) {
                out->d0 = atomic_load_explicit(&e[w].d0, memory_order_relaxed);
                out->d1 = atomic_load_explicit(&e[w].d1, memory_order_relaxed);
                out->gen = atomic_load_explicit(&e[w].gen, memory_order_relaxed);
                hit = true;
                break;
            }
        }
        vtd_fence(memory_order_acquire);
        if (VTD_LIKELY(atomic_load_explicit(&c->meta[set].seq, memory_order_relaxed) == s1))
            return hit;
    }
}
/* Insert unless *epoch moved away from `expect` (an invalidation since the
 * walk started): -1 not inserted, 0 inserted, 1 inserted by evicting a valid
 * entry of another tag. */
int cache_insert(struct cache *c, uint32_t set, uint64_t tag, uint64_t d0, uint64_t d1, uint64_t gen,
                 const _Atomic uint32_t *epoch, uint32_t expect);
/* cache_insert where an entry is the same one when its tag and (d1 & keymask) match. */
int cache_insert_k(struct cache *c, uint32_t set, uint64_t tag, uint64_t keymask, uint64_t d0, uint64_t d1,
                   uint64_t gen, const _Atomic uint32_t *epoch, uint32_t expect);
/* cache_lookup of the entry with `tag` and (d1 & keymask) == key. */
static inline bool cache_lookup_k(const struct cache *c, uint32_t set, uint64_t tag, uint64_t keymask, uint64_t key,
                                  struct chit *out)
{
    const struct centry *e = &c->e[(size_t)set * c->ways];
    for (;;) {
        uint32_t s1 = atomic_load_explicit(&c->meta[set].seq, memory_order_acquire);
        if (VTD_UNLIKELY(s1 & 1))
            continue;
        bool hit = false;
        for (uint32_t w = 0; w < c->ways && !hit; w++) {
            if (atomic_load_explicit(&e[w].tag, memory_order_relaxed) == tag) {
                out->d1 = atomic_load_explicit(&e[w].d1, memory_order_relaxed);
                if ((out->d1 & keymask) != key)
                    continue;
                out->d0 = atomic_load_explicit(&e[w].d0, memory_order_relaxed);
                out->gen = atomic_load_explicit(&e[w].gen, memory_order_relaxed);
                hit = true;
            }
        }
        vtd_fence(memory_order_acquire);
        if (VTD_LIKELY(atomic_load_explicit(&c->meta[set].seq, memory_order_relaxed) == s1))
            return hit;
    }
}
/* Drop every entry of every set for which pred(tag, d0, d1, arg) holds. */
typedef bool (*entry_pred)(uint64_t tag, uint64_t d0, uint64_t d1, const void *arg);
void cache_drop_if(struct cache *c, entry_pred pred, const void *arg);
/* d1 bit of an IOTLB, first-level IOTLB or PASID-cache entry: a front-cache
 * entry may derive from this entry, so evicting it or replacing it in place
 * must bump the front epoch (cache_insert returns 1 then).  cache_mark_k sets
 * it on the entry of `tag` with (d1 & keymask) == key and d0 == `d0` (the
 * entry the caller's lookup hit): false when that entry is gone. */
#define CACHE_MARK 1u
bool cache_mark_k(struct cache *c, uint32_t set, uint64_t tag, uint64_t keymask, uint64_t key, uint64_t d0);

/*
 * The front cache: not architectural, a memo of results the context cache
 * and IOTLB give together, indexed by (source-id, page) so that a hit costs
 * one probe.  It never changes what the unit does: every event that could
 * make the architectural caches answer differently (any invalidation, any
 * eviction from the context cache or IOTLB, reset) bumps front_epoch once it
 * has taken effect, and every front entry must match the epoch read before
 * the translation that filled it started: a translation that could still
 * see the old state started before the bump.  Entry: seq (odd while written), tag
 * (valid 0 | sid 16:1 | pfn 63:17), d0 (output page), size (page size | perm), epoch.
 */
#define FRONT_ENTRIES 4096u
struct front_entry {
    _Atomic uint32_t seq;
    _Atomic uint32_t epoch;
    _Atomic uint64_t v[3]; /* FE_TAG, FE_D0, FE_SIZE */
};
enum { FE_TAG, FE_D0, FE_SIZE };
static inline uint32_t front_index(uint16_t sid, uint64_t pfn)
{
    /* consecutive pages of one device land in consecutive entries */
    return (uint32_t)(pfn ^ ((uint32_t)sid * 0x9E3779B1u >> 16)) & (FRONT_ENTRIES - 1);
}
static inline uint64_t front_tag(uint16_t sid, uint64_t pfn) { return 1 | (uint64_t)sid << 1 | pfn << 17; }
/*
 * The scalable-mode front cache (translate.c), same rules: a memo of an
 * untranslated request's result from a context-cache hit, a PASID-cache hit
 * and an IOTLB (PGTT 010) or first-level IOTLB (001, 011) hit, whose PASID
 * cache and IOTLB entries are marked (CACHE_MARK).  Keyed by what selects
 * the result: source-id, PASID-valid and, with PASID, the PASID and PR (a
 * request without PASID uses the context's RID_PASID and RID_PRIV, which
 * the cached context fixes).  Entry: seq, epoch, key (valid 0 | PASID-valid
 * 1 | PR 2 | sid 18:3 | PASID 63:32), pfn, d0 (output page | perm 1:0 |
 * the accesses the memo may grant 3:2: a write only when nothing remains to
 * be updated, i.e. no D bit to set), size.
 */
struct smfront_entry {
    _Atomic uint32_t seq;
    _Atomic uint32_t epoch;
    _Atomic uint64_t v[4]; /* SFE_KEY, SFE_PFN, SFE_D0, SFE_SIZE */
};
enum { SFE_KEY, SFE_PFN, SFE_D0, SFE_SIZE };
static inline uint64_t smfront_key(uint16_t sid, bool pv, bool priv, uint32_t pasid)
{
    return pv ? 3 | (uint64_t)priv << 2 | (uint64_t)sid << 3 | (uint64_t)pasid << 32 : 1 | (uint64_t)sid << 3;
}
static inline uint32_t smfront_index(uint64_t key, uint64_t pfn)
{
    return (uint32_t)(pfn ^ ((uint32_t)(key >> 3) * 0x9E3779B1u >> 16) ^ (uint32_t)(key >> 32) * 0x85EBCA6Bu) &
           (FRONT_ENTRIES - 1);
}
static inline void front_bump(struct vtd *u);
static inline uint32_t cache_set(const struct cache *c, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(h >> 40) & c->setmask;
}
static inline uint64_t tlb_gen(struct vtd *u, uint16_t did)
{
    return (uint64_t)atomic_load_explicit(&u->tlb_ggen, memory_order_acquire) << 32 |
           atomic_load_explicit(&u->tlb_dgen[did], memory_order_acquire);
}
static inline uint64_t ctx_gen(struct vtd *u, uint16_t did)
{
    return (uint64_t)atomic_load_explicit(&u->ctx_ggen, memory_order_acquire) << 32 |
           atomic_load_explicit(&u->ctx_dgen[did], memory_order_acquire);
}
/* Context cache: direct-mapped by source-id; tag 1 | sid << 1.
 * d0: SLPTPTR | P 0 | FPD 1 | TT 3:2 | AW 6:4 ;
 * d1: DID 15:0 | input width 23:16 (min(AGAW, MGAW+1)) | CTX_FAST: present
 *     and TT 00/01, so an untranslated request may take the fast path */
#define CTX_FAST (1ULL << 24)
#define CTX_SM (1ULL << 25) /* a scalable-mode context entry (sm.c); never CTX_FAST */
#define CTX_SMNEG (1ULL << 26) /* with CTX_SM: a faulting entry cached under CAP.CM; d0 = FPD 1 | reason 15:8 */
static inline uint64_t ctx_tag(uint16_t sid) { return 1 | (uint64_t)sid << 1; }
static inline uint32_t ctx_set(const struct cache *c, uint16_t sid) { return sid & c->setmask; }
static inline void front_bump(struct vtd *u)
{
    atomic_fetch_add_explicit(&u->front_epoch, 1, memory_order_acq_rel);
}
/* IOTLB: tag valid 0 | size 2:1 (0 4K, 1 2M, 2 1G) | did 18:3 | pfn of the page base 63:19 */
static inline uint64_t iotlb_tag(uint16_t did, unsigned size, uint64_t pfn)
{
    return 1 | (uint64_t)size << 1 | (uint64_t)did << 3 | pfn << 19;
}
static inline unsigned iotlb_tag_size(uint64_t t) { return (unsigned)(t >> 1) & 3; }
static inline uint16_t iotlb_tag_did(uint64_t t) { return (uint16_t)(t >> 3); }
static inline uint64_t iotlb_tag_pfn(uint64_t t) { return t >> 19; }
/* key: page number >> 9*size */
static inline uint32_t iotlb_set(const struct cache *c, uint16_t did, unsigned size, uint64_t key)
{
    return cache_set(c, key ^ (uint64_t)did << 44 ^ (uint64_t)size << 62);
}
/* IOTLB d0: output page | perm 2:0 | NEG 3 | D 4 | SNP 5 | amiss 7:6 */
#define TLB_NEG 8u
#define TLB_D 16u /* scalable mode with SSADE: the leaf's D bit is set */
#define TLB_SNP 32u
/* IOTLB and paging-structure-cache d1 in scalable mode: SM 1 | FS 2 (a
 * first-level or nested entry) | PASID 51:32 (CACHE_MARK is bit 0).  The
 * legacy entries have none of these bits, so a lookup keyed on
 * TLB1_KEYMASK never confuses the modes or two PASIDs of one domain.
 * Second-level paging-structure-cache entries are shared by all PASIDs of a
 * domain (the spec tags them with DID only) and carry d1 = 0. */
#define TLB1_SM 2u
#define TLB1_FS 4u
#define TLB1_PASID_SHIFT 32
#define TLB1_KEYMASK (TLB1_SM | (0xFFFFFULL << TLB1_PASID_SHIFT))
static inline uint64_t tlb1_sm(uint32_t pasid) { return TLB1_SM | (uint64_t)(pasid & 0xFFFFF) << TLB1_PASID_SHIFT; }
static inline uint32_t tlb1_pasid(uint64_t d1) { return (uint32_t)(d1 >> TLB1_PASID_SHIFT) & 0xFFFFF; }
/* PWC: tag valid 0 | level 3:1 | did 19:4 | key (page number >> 9*(level-1)) 63:20;
 * d0 = next table | perm so far | amiss 7:6 */
static inline uint64_t pwc_tag(uint16_t did, unsigned level, uint64_t key)
{
    return 1 | (uint64_t)level << 1 | (uint64_t)did << 4 | key << 20;
}
static inline unsigned pwc_tag_level(uint64_t t) { return (unsigned)(t >> 1) & 7; }
static inline uint16_t pwc_tag_did(uint64_t t) { return (uint16_t)(t >> 4); }
static inline uint64_t pwc_tag_key(uint64_t t) { return t >> 20; }
static inline uint32_t pwc_set(const struct cache *c, uint16_t did, unsigned level, uint64_t key)
{
    return cache_set(c, key ^ (uint64_t)did << 44 ^ (uint64_t)level << 61);
}
/* Interrupt entry cache: tag 1 | index << 1, d0/d1 = the IRTE. */
static inline uint64_t iec_tag(uint32_t index) { return 1 | (uint64_t)index << 1; }
static inline uint32_t iec_set(const struct cache *c, uint32_t index) { return index & c->setmask; }
/* global, or indices [idx, idx + 2^im) */
void vtd_inval_iec(struct vtd *u, bool global, uint32_t idx, unsigned im);
void vtd_inval_ctx_global(struct vtd *u);
void vtd_inval_ctx_domain(struct vtd *u, uint16_t did);
void vtd_inval_ctx_device(struct vtd *u, uint16_t sid, unsigned fm);
void vtd_inval_iotlb_global(struct vtd *u);
void vtd_inval_iotlb_domain(struct vtd *u, uint16_t did);
void vtd_inval_iotlb_page(struct vtd *u, uint16_t did, uint64_t addr, unsigned am, bool ih);
/* scalable mode (PASID-based IOTLB invalidation, Table 24) */
void vtd_inval_piotlb_pasid(struct vtd *u, uint16_t did, uint32_t pasid);
void vtd_inval_piotlb_page(struct vtd *u, uint16_t did, uint32_t pasid, uint64_t addr, unsigned am, bool ih);
/* sm.c: the PASID cache (PASID-cache invalidation descriptor, and the
 * context-cache invalidations that drop what derives from the context) */
void vtd_inval_pc_global(struct vtd *u);
void vtd_inval_pc_domain(struct vtd *u, uint16_t did);
void vtd_inval_pc_pasid(struct vtd *u, uint16_t did, uint32_t pasid);
void vtd_inval_pc_device(struct vtd *u, uint16_t sid, unsigned fm);

/* shadow.c */
void vtd_notify(struct vtd *u, const struct vtd_inval_notice *n);

/* inval.c: register-based invalidation handlers */
void vtd_ccmd_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
void vtd_iotlb_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);

/* qi.c: the invalidation queue (all called with the unit lock held) */
void vtd_iqt_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
void vtd_iqa_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
void vtd_ics_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
void vtd_iectl_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
void vtd_qi_gcmd(struct vtd *u, bool enable); /* GCMD.QIE changed */
void vtd_qi_resume(struct vtd *u);            /* FSTS.IQE cleared: fetching may go on */
void vtd_qi_reset(struct vtd *u);

/* The context cache is direct-mapped: one entry to read. */
static inline bool ctx_lookup(const struct cache *c, uint16_t sid, struct chit *out)
{
    const uint32_t set = ctx_set(c, sid);
    const struct centry *e = &c->e[set];
    for (;;) {
        uint32_t s1 = atomic_load_explicit(&c->meta[set].seq, memory_order_acquire);
        uint64_t tag = atomic_load_explicit(&e->tag, memory_order_relaxed);
        out->d0 = atomic_load_explicit(&e->d0, memory_order_relaxed);
        out->d1 = atomic_load_explicit(&e->d1, memory_order_relaxed);
        out->gen = atomic_load_explicit(&e->gen, memory_order_relaxed);
        vtd_fence(memory_order_acquire);
        if (VTD_LIKELY(!(s1 & 1) && atomic_load_explicit(&c->meta[set].seq, memory_order_relaxed) == s1))
            return tag == ctx_tag(sid);
    }
}

/* Decode a cached context entry. */
static inline void ctx_from_cache(const struct chit *h, struct ctxinfo *ci)
{
    ci->present = h->d0 & 1;
    ci->fpd = (h->d0 >> 1) & 1;
    ci->tt = (uint8_t)((h->d0 >> 2) & 3);
    ci->aw = (uint8_t)((h->d0 >> 4) & 7);
    ci->levels = (uint8_t)(ci->aw + 2);
    ci->slptptr = h->d0 & VTD_GENMASK(63, 12);
    ci->did = (uint16_t)h->d1;
}

/* prq.c: PRS and PECTL writes (page request event) */
void vtd_prs_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);
void vtd_pectl_write(struct vtd *u, struct reg_desc *d, uint64_t old, uint64_t wval, uint64_t wmask);

/* ir.c */
void vtd_ir_sirtp(struct vtd *u);           /* GCMD.SIRTP */
void vtd_ir_gcmd(struct vtd *u, uint32_t changes, uint32_t cmd); /* IRE / CFI changed */
void vtd_ir_reset(struct vtd *u);
int vtd_qi_iec(struct vtd *u, uint64_t lo, uint64_t hi); /* IEC descriptor: 0 or -1 (reserved) */

/* posted.c: post `irte` (posted format, already validated) for interrupt
 * `index`: 0 or a fault reason (27h / 28h); fills out */
int vtd_post_irq(struct vtd *u, uint64_t lo, uint64_t hi, bool eime, struct vtd_irq *out);

/* posted.c: 64-bit compare-exchange through the host (mem_read + mem_write
 * under the unit lock without mem_cmpxchg64): 0 exchanged, 1 compare failed
 * (*expected updated), <0 not backed */
int vtd_host_cmpxchg(struct vtd *u, uint64_t pa, uint64_t *expected, uint64_t desired);

/* root_ctx.c */
struct walk;
/* Fetch the context for the request (cache or memory): 0, or a fault reason
 * (w->qualified tells whether FPD applies; w->fpd holds the entry's FPD). */
int vtd_ctx_fetch(struct walk *w, struct ctxinfo *ci);

/* sl_walk.c */
struct leaf {
    uint64_t page; /* output page base */
    uint64_t size; /* page size */
    uint8_t perm;  /* effective R/W */
    uint8_t flags; /* TLB_SNP of the leaf */
    uint8_t amiss; /* see vtd_perm_check */
};
/* Walk the second-level tables for w->req (paging-structure cache first),
 * filling the IOTLB and paging-structure cache on success: 0 or a fault reason. */
int vtd_sl_walk(struct walk *w, const struct ctxinfo *ci, struct leaf *lf);
uint8_t vtd_perm_fault(uint8_t need);
/* 0 when effective permission `perm` satisfies `need`, else 5h/6h.  For an
 * atomic (R and W) the reason depends on the first level where a permission
 * went missing: `amiss` is that reason when the walk recorded it (cached
 * entries keep it), 0 when unknown. */
static inline uint8_t vtd_perm_check(uint8_t need, uint8_t perm, uint8_t amiss)
{
    if (VTD_UNLIKELY(need & 8u /* NEED_ANY */))
        return (perm & (VTD_R | VTD_W)) ? 0 : VTD_FR_NO_READ;
    if (VTD_LIKELY((need & perm) == need))
        return 0;
    if (need == (VTD_R | VTD_W) && amiss)
        return amiss;
    return ((need & VTD_R) && !(perm & VTD_R)) ? VTD_FR_NO_READ : VTD_FR_NO_WRITE;
}
/* amiss encoded in cache entry d0 bits 7:6 (IOTLB and paging-structure cache) */
#define AMISS_SHIFT 6
static inline uint64_t amiss_bits(uint8_t amiss)
{
    return amiss == VTD_FR_NO_WRITE ? 1ULL << AMISS_SHIFT : amiss == VTD_FR_NO_READ ? 2ULL << AMISS_SHIFT : 0;
}
static inline uint8_t amiss_of(uint64_t d0)
{
    unsigned v = (unsigned)(d0 >> AMISS_SHIFT) & 3;
    return v == 1 ? VTD_FR_NO_WRITE : v == 2 ? VTD_FR_NO_READ : 0;
}

/* translate.c: one walk's context */
#define WALK_NOCACHE 1u  /* neither use nor fill caches */
#define WALK_NORECORD 2u /* do not record faults or report table diagnostics */
#define NEED_ANY 8u      /* need: R or W suffices (zero-length read with CAP.ZLR) */
#define WALK_PRQ 16u     /* a page request (prq.c): Table 30's page request column */
struct walk {
    struct vtd *u;
    const struct vtd_request *req;
    unsigned flags;
    vtd_walk_fn fn;
    void *arg;
    struct stat_slot *st;
    bool used_cache; /* some cached state was used */
    bool neg_cached; /* a cached not-present entry was used */
    bool ctx_hit;    /* the context came from the context cache */
    bool qualified;  /* the fault is qualified (FPD may suppress it) */
    bool fpd;        /* FPD of the context entry */
    bool ats;        /* translation request: permission conditions do not fault */
    bool perm_fault; /* the fault is a permission / not-present one (5h/6h) */
    uint8_t need;    /* VTD_R / VTD_W / NEED_ANY the request needs; 0 for ATS */
    uint32_t ctx_epoch, tlb_epoch; /* invalidation epochs when the walk started */
    /* scalable mode (sm.c); all zero in legacy mode */
    uint64_t tlb_d1; /* IOTLB d1 tag: tlb1_sm(PASID) (FS added for first-level entries) */
    bool slade;      /* SSADE: set A (and D for writes) in second-level entries */
    bool ad_ok;      /* SMPWCS and PWSNP: A/D updates are snooped, so allowed */
    bool dirty;      /* the request sets D: untranslated write/atomic, translation request for write */
    bool pc_hit;     /* the PASID-table entry came from the PASID cache */
    bool sm_priv;    /* effective privilege (PR, or RID_PRIV) */
    uint32_t sm_pasid; /* effective PASID (the request's, or RID_PASID) */
    /* the scalable-mode front cache (translate.c): the entries a hit came
     * from, to mark them (memo_tlb NULL: no IOTLB hit) */
    uint32_t pc_set, memo_set;
    uint64_t pc_tag, pc_d0, memo_tag, memo_key, memo_d0;
    struct cache *memo_tlb;
    uint8_t memo_allow; /* VTD_R / VTD_W the IOTLB entry lets a memo grant */
    bool d_rewalk;      /* an IOTLB hit was not used, to set D: a new entry may shadow it */
};
static inline bool walk_caches(const struct walk *w) { return !(w->flags & WALK_NOCACHE); }
static inline bool walk_diags(const struct walk *w) { return !(w->flags & WALK_NORECORD); }
static inline void walk_step(struct walk *w, int kind, int level, unsigned index, uint64_t table,
                             uint64_t addr, const uint64_t *val, unsigned nval, bool err)
{
    if (VTD_UNLIKELY(w->fn != NULL)) {
        struct vtd_walk_step s = {.kind = kind, .level = level, .index = index, .table = table,
                                  .addr = addr, .read_error = err};
        for (unsigned i = 0; i < nval && i < 8; i++)
            s.val[i] = val[i];
        s.input = w->req->addr;
        w->fn(w->arg, &s);
    }
}

#endif
