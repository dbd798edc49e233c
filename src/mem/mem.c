/* SPDX-License-Identifier: MIT */
/*
 * Sparse physical memory (see include/vtd/mem.h).
 *
 * Layout: a 3-level radix over the 40-bit page number of a 52-bit address,
 * split 14/13/13 (top / mid / leaf).  Tables and 4 KiB pages are calloc'd on
 * first write and published with a compare-exchange, so readers never take a
 * lock: a reader that finds a NULL slot anywhere on the path reads zeros and
 * allocates nothing.  The top table is sized to the memory, so a small memory
 * costs one pointer of top table.
 *
 * Data is stored as uint64_t so aligned qwords go through 8-byte atomics (a
 * concurrent reader sees the old or the new value, never a mix); the bytes of
 * unaligned heads and tails use 1-byte atomics.  All atomics are relaxed: the
 * memory makes no ordering promise beyond that of real RAM, and publication of
 * tables and pages uses release/acquire so a fresh page reads as zero.
 *
 * Holes: an immutable array, replaced (never modified) under a mutex and
 * published with a release store; superseded arrays are chained and freed at
 * destroy, so a reader that loaded an old array can keep using it.  With no
 * hole the check is one NULL load.
 *
 * Pages discarded by a hole are unlinked from the radix but, because a racing
 * reader may still hold a pointer to one, kept on a retired list until
 * destroy.  Nothing is ever freed before vtd_mem_destroy.
 */
#define _POSIX_C_SOURCE 200809L

#include <vtd/mem.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PG_SHIFT 12
#define PG_SIZE (1ULL << PG_SHIFT)
#define PG_MASK (PG_SIZE - 1)
#define PG_QWORDS (PG_SIZE / 8)
#define VTD_MEM_LIKELY(x) __builtin_expect(!!(x), 1)

#define LEAF_BITS 13
#define MID_BITS 13
#define TOP_BITS 14 /* 12 + 13 + 13 + 14 = 52 */
#define LEAF_SLOTS (1u << LEAF_BITS)
#define MID_SLOTS (1u << MID_BITS)
#define TOP_SPAN_SHIFT (LEAF_BITS + MID_BITS) /* page-number bits below the top index */

/* The -1 of the mem.h contract ("not backed"). */
#define NOT_BACKED (-1)

struct pg {
    uint64_t q[PG_QWORDS];
};
/* Slots are void * so that one get-or-create serves every level without
 * type-punning the slot. */
struct leaf {
    void *pg[LEAF_SLOTS]; /* struct pg * */
};
struct mid {
    void *leaf[MID_SLOTS]; /* struct leaf * */
};

struct hole {
    uint64_t lo, hi; /* page-aligned, [lo, hi) */
};
struct hole_set {
    struct hole_set *prev; /* the set this one replaced, freed at destroy */
    size_t n;
    struct hole h[];
};

struct vtd_mem {
    uint64_t size;
    size_t ntop;
    void **top;               /* ntop slots of struct mid * */
    uint64_t pages;           /* atomic: pages currently linked into the radix */
    struct hole_set *holes;   /* atomic: NULL while there is no hole */
    pthread_mutex_t lock;     /* serialises hole additions */
    struct pg **retired;      /* pages discarded by holes; under lock */
    size_t nretired, retired_cap;
};

/* ---- radix ---- */

static inline size_t top_index(uint64_t pn) { return (size_t)(pn >> TOP_SPAN_SHIFT); }
static inline size_t mid_index(uint64_t pn) { return (size_t)(pn >> LEAF_BITS) & (MID_SLOTS - 1); }
static inline size_t leaf_index(uint64_t pn) { return (size_t)pn & (LEAF_SLOTS - 1); }

/* The page holding page number pn, or NULL when it was never written. */
static inline struct pg *page_lookup(const struct vtd_mem *m, uint64_t pn)
{
    struct mid *mid = __atomic_load_n(&m->top[top_index(pn)], __ATOMIC_ACQUIRE);
    if (!mid)
        return NULL;
    struct leaf *leaf = __atomic_load_n(&mid->leaf[mid_index(pn)], __ATOMIC_ACQUIRE);
    if (!leaf)
        return NULL;
    return __atomic_load_n(&leaf->pg[leaf_index(pn)], __ATOMIC_ACQUIRE);
}

/* Install a zeroed object of `size` bytes in *slot unless another thread got
 * there first; returns whichever object ends up in the slot, NULL on ENOMEM.
 * *won tells whether ours was installed. */
static void *slot_get_or_create(void **slot, size_t size, bool *won)
{
    *won = false;
    void *cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (cur)
        return cur;
    void *fresh = calloc(1, size);
    if (!fresh)
        return NULL;
    /* Release so a reader that acquires the pointer sees the zeroed contents. */
    if (__atomic_compare_exchange_n(slot, &cur, fresh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        *won = true;
        return fresh;
    }
    free(fresh);
    return cur; /* the winner, loaded by the failed exchange */
}

static struct pg *page_get_or_create(struct vtd_mem *m, uint64_t pn)
{
    bool won;
    struct mid *mid = slot_get_or_create(&m->top[top_index(pn)], sizeof(struct mid), &won);
    if (!mid)
        return NULL;
    struct leaf *leaf = slot_get_or_create(&mid->leaf[mid_index(pn)], sizeof(struct leaf), &won);
    if (!leaf)
        return NULL;
    struct pg *pg = slot_get_or_create(&leaf->pg[leaf_index(pn)], sizeof(struct pg), &won);
    if (pg && won)
        __atomic_fetch_add(&m->pages, 1, __ATOMIC_RELAXED);
    return pg;
}

/* ---- checks ---- */

/* [pa, pa+len) lies inside [0, size), written so that pa+len cannot wrap. */
static inline bool in_range(const struct vtd_mem *m, uint64_t pa, uint64_t len)
{
    return pa <= m->size && len <= m->size - pa;
}

/* Any byte of [pa, pa+len) in a hole?  len > 0 and the range is in_range. */
static bool hits_hole(const struct vtd_mem *m, uint64_t pa, uint64_t len)
{
    const struct hole_set *hs = __atomic_load_n(&m->holes, __ATOMIC_ACQUIRE);
    if (!hs)
        return false;
    uint64_t end = pa + len;
    for (size_t i = 0; i < hs->n; i++)
        if (pa < hs->h[i].hi && end > hs->h[i].lo)
            return true;
    return false;
}

/* ---- copying ---- */

static void copy_out(const struct pg *pg, size_t off, unsigned char *dst, size_t len)
{
    const unsigned char *b = (const unsigned char *)pg->q;
    while (len && (off & 7)) {
        *dst++ = __atomic_load_n(&b[off++], __ATOMIC_RELAXED);
        len--;
    }
    for (; len >= 8; len -= 8, off += 8, dst += 8) {
        uint64_t v = __atomic_load_n(&pg->q[off / 8], __ATOMIC_RELAXED);
        memcpy(dst, &v, 8);
    }
    while (len--)
        *dst++ = __atomic_load_n(&b[off++], __ATOMIC_RELAXED);
}

static void copy_in(struct pg *pg, size_t off, const unsigned char *src, size_t len)
{
    unsigned char *b = (unsigned char *)pg->q;
    while (len && (off & 7)) {
        __atomic_store_n(&b[off++], *src++, __ATOMIC_RELAXED);
        len--;
    }
    for (; len >= 8; len -= 8, off += 8, src += 8) {
        uint64_t v;
        memcpy(&v, src, 8);
        __atomic_store_n(&pg->q[off / 8], v, __ATOMIC_RELAXED);
    }
    while (len--)
        __atomic_store_n(&b[off++], *src++, __ATOMIC_RELAXED);
}

/* ---- public ---- */

int vtd_mem_create(uint64_t size, struct vtd_mem **out)
{
    if (!out)
        return VTD_EINVAL;
    *out = NULL;
    if (size == 0)
        size = VTD_MEM_MAX_SIZE;
    if (size > VTD_MEM_MAX_SIZE || (size & PG_MASK))
        return VTD_EINVAL;

    struct vtd_mem *m = calloc(1, sizeof(*m));
    if (!m)
        return VTD_ENOMEM;
    m->size = size;
    uint64_t npages = size >> PG_SHIFT;
    m->ntop = (size_t)((npages + (1ULL << TOP_SPAN_SHIFT) - 1) >> TOP_SPAN_SHIFT);
    m->top = calloc(m->ntop, sizeof(*m->top));
    if (!m->top) {
        free(m);
        return VTD_ENOMEM;
    }
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m->top);
        free(m);
        return VTD_ENOMEM;
    }
    *out = m;
    return 0;
}

void vtd_mem_destroy(struct vtd_mem *m)
{
    if (!m)
        return;
    for (size_t t = 0; t < m->ntop; t++) {
        struct mid *mid = m->top[t];
        if (!mid)
            continue;
        for (size_t i = 0; i < MID_SLOTS; i++) {
            struct leaf *leaf = mid->leaf[i];
            if (!leaf)
                continue;
            for (size_t j = 0; j < LEAF_SLOTS; j++)
                free(leaf->pg[j]);
            free(leaf);
        }
        free(mid);
    }
    free(m->top);
    for (size_t i = 0; i < m->nretired; i++)
        free(m->retired[i]);
    free(m->retired);
    for (struct hole_set *hs = m->holes, *prev; hs; hs = prev) {
        prev = hs->prev;
        free(hs);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* The shape of table-entry, descriptor and status accesses: at most 32
 * bytes inside one page, with no hole anywhere. */
static inline bool small_fast(const struct vtd_mem *m, uint64_t pa, const void *buf, size_t len)
{
    return len && len <= 32 && m && buf && pa < m->size && (pa & PG_MASK) + len <= PG_SIZE &&
           !__atomic_load_n(&m->holes, __ATOMIC_ACQUIRE);
}

static __attribute__((noinline)) int mem_read_slow(struct vtd_mem *m, uint64_t pa, void *buf, size_t len)
{
    if (!m || !in_range(m, pa, len) || (len && !buf))
        return NOT_BACKED;
    if (len == 0)
        return 0;
    if (hits_hole(m, pa, len))
        return NOT_BACKED;

    unsigned char *dst = buf;
    while (len) {
        size_t off = (size_t)(pa & PG_MASK);
        size_t chunk = PG_SIZE - off < len ? (size_t)(PG_SIZE - off) : len;
        const struct pg *pg = page_lookup(m, pa >> PG_SHIFT);
        if (pg)
            copy_out(pg, off, dst, chunk);
        else
            memset(dst, 0, chunk);
        dst += chunk;
        pa += chunk;
        len -= chunk;
    }
    return 0;
}

int vtd_mem_read(struct vtd_mem *m, uint64_t pa, void *buf, size_t len)
{
    if (VTD_MEM_LIKELY(small_fast(m, pa, buf, len))) {
        const struct pg *pg = page_lookup(m, pa >> PG_SHIFT);
        if (!pg) {
            memset(buf, 0, len);
        } else if (!((pa | len) & 7)) { /* aligned qwords */
            unsigned char *dst = buf;
            for (size_t i = 0; i < len / 8; i++) {
                uint64_t v = __atomic_load_n(&pg->q[(pa & PG_MASK) / 8 + i], __ATOMIC_RELAXED);
                memcpy(dst + 8 * i, &v, 8);
            }
        } else {
            copy_out(pg, (size_t)(pa & PG_MASK), buf, len);
        }
        return 0;
    }
    return mem_read_slow(m, pa, buf, len);
}

static __attribute__((noinline)) int mem_write_slow(struct vtd_mem *m, uint64_t pa, const void *buf, size_t len)
{
    if (!m || !in_range(m, pa, len) || (len && !buf))
        return NOT_BACKED;
    if (len == 0)
        return 0;
    if (hits_hole(m, pa, len))
        return NOT_BACKED;

    uint64_t first = pa >> PG_SHIFT, last = (pa + len - 1) >> PG_SHIFT;
    /* "Writes nothing" on ENOMEM: allocate every page the write touches
     * before copying a byte.  Pages created here and then left unwritten
     * still read as zero, so a failure leaves memory's contents unchanged. */
    if (first != last)
        for (uint64_t pn = first; pn <= last; pn++)
            if (!page_get_or_create(m, pn))
                return VTD_ENOMEM;

    const unsigned char *src = buf;
    while (len) {
        size_t off = (size_t)(pa & PG_MASK);
        size_t chunk = PG_SIZE - off < len ? (size_t)(PG_SIZE - off) : len;
        /* Normally a lookup (the page exists); it only allocates again when a
         * hole added concurrently discarded the page in between. */
        struct pg *pg = page_get_or_create(m, pa >> PG_SHIFT);
        if (!pg)
            return VTD_ENOMEM;
        copy_in(pg, off, src, chunk);
        src += chunk;
        pa += chunk;
        len -= chunk;
    }
    return 0;
}

int vtd_mem_write(struct vtd_mem *m, uint64_t pa, const void *buf, size_t len)
{
    if (VTD_MEM_LIKELY(small_fast(m, pa, buf, len))) {
        struct pg *pg = page_lookup(m, pa >> PG_SHIFT);
        if (VTD_MEM_LIKELY(pg != NULL)) { /* else: a first write, which allocates */
            if (!((pa | len) & 7)) { /* aligned qwords */
                const unsigned char *src = buf;
                for (size_t i = 0; i < len / 8; i++) {
                    uint64_t v;
                    memcpy(&v, src + 8 * i, 8);
                    __atomic_store_n(&pg->q[(pa & PG_MASK) / 8 + i], v, __ATOMIC_RELAXED);
                }
            } else {
                copy_in(pg, (size_t)(pa & PG_MASK), buf, len);
            }
            return 0;
        }
    }
    return mem_write_slow(m, pa, buf, len);
}

int vtd_mem_cmpxchg64(struct vtd_mem *m, uint64_t pa, uint64_t *expected, uint64_t desired)
{
    if (!m || !expected || (pa & 7) || !in_range(m, pa, 8) || hits_hole(m, pa, 8))
        return NOT_BACKED;
    uint64_t pn = pa >> PG_SHIFT;
    struct pg *pg = page_lookup(m, pn);
    if (!pg) {
        /* An unwritten qword is zero: a compare against anything else fails
         * without allocating. */
        if (*expected != 0) {
            *expected = 0;
            return 1;
        }
        pg = page_get_or_create(m, pn);
        if (!pg)
            return VTD_ENOMEM;
    }
    /* Sequentially consistent: A/D-bit and posted-descriptor updates are
     * locked read-modify-writes on real hardware. */
    if (__atomic_compare_exchange_n(&pg->q[(pa & PG_MASK) / 8], expected, desired, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return 0;
    return 1;
}

/* Unlink and retire the pages of [lo, hi) (page numbers), visiting only the
 * parts of the radix that exist.  Called with m->lock held. */
static void discard_pages(struct vtd_mem *m, uint64_t lo, uint64_t hi)
{
    uint64_t pn = lo;
    while (pn < hi) {
        struct mid *mid = __atomic_load_n(&m->top[top_index(pn)], __ATOMIC_ACQUIRE);
        if (!mid) {
            pn = ((pn >> TOP_SPAN_SHIFT) + 1) << TOP_SPAN_SHIFT;
            continue;
        }
        struct leaf *leaf = __atomic_load_n(&mid->leaf[mid_index(pn)], __ATOMIC_ACQUIRE);
        if (!leaf) {
            pn = ((pn >> LEAF_BITS) + 1) << LEAF_BITS;
            continue;
        }
        void **slot = &leaf->pg[leaf_index(pn)];
        pn++;
        if (!__atomic_load_n(slot, __ATOMIC_ACQUIRE))
            continue;
        if (m->nretired == m->retired_cap) {
            size_t cap = m->retired_cap ? 2 * m->retired_cap : 16;
            struct pg **r = realloc(m->retired, cap * sizeof(*r));
            /* Out of memory: leave the page linked.  It is unreachable behind
             * the hole, so this only costs the memory. */
            if (!r)
                continue;
            m->retired = r;
            m->retired_cap = cap;
        }
        struct pg *pg = __atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL);
        if (pg) {
            m->retired[m->nretired++] = pg;
            __atomic_fetch_sub(&m->pages, 1, __ATOMIC_RELAXED);
        }
    }
}

int vtd_mem_add_hole(struct vtd_mem *m, uint64_t base, uint64_t len)
{
    if (!m || len == 0 || !in_range(m, base, len))
        return VTD_EINVAL;
    /* Page granular; size is page aligned so hi stays within it. */
    struct hole nh = { base & ~PG_MASK, (base + len + PG_MASK) & ~PG_MASK };

    pthread_mutex_lock(&m->lock);
    struct hole_set *old = m->holes;
    size_t n = old ? old->n : 0;
    struct hole_set *hs = malloc(sizeof(*hs) + (n + 1) * sizeof(hs->h[0]));
    if (!hs) {
        pthread_mutex_unlock(&m->lock);
        return VTD_ENOMEM;
    }
    hs->prev = old;
    hs->n = n + 1;
    if (n)
        memcpy(hs->h, old->h, n * sizeof(hs->h[0]));
    hs->h[n] = nh;
    /* Publish the hole before discarding, so no new access lands in a page
     * after it has been unlinked (except one that already passed the check). */
    __atomic_store_n(&m->holes, hs, __ATOMIC_RELEASE);
    discard_pages(m, nh.lo >> PG_SHIFT, nh.hi >> PG_SHIFT);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

uint64_t vtd_mem_size(const struct vtd_mem *m)
{
    return m ? m->size : 0;
}

uint64_t vtd_mem_pages(const struct vtd_mem *m)
{
    return m ? __atomic_load_n(&m->pages, __ATOMIC_RELAXED) : 0;
}

/* ---- vtd_host adapters ---- */

/* Zeros for qwords of pages never written (read-only). */
static const uint64_t zero_page[PG_SIZE / 8];

static inline const uint64_t *mem_ptr(struct vtd_mem *m, uint64_t pa)
{
    if (!m || (pa & 7) || pa >= m->size || __atomic_load_n(&m->holes, __ATOMIC_ACQUIRE))
        return NULL;
    const struct pg *pg = page_lookup(m, pa >> PG_SHIFT);
    return pg ? &pg->q[(pa & PG_MASK) / 8] : &zero_page[(pa & PG_MASK) / 8];
}

const uint64_t *vtd_mem_ptr(struct vtd_mem *m, uint64_t pa)
{
    return mem_ptr(m, pa);
}

uint64_t *vtd_mem_ptr_rw(struct vtd_mem *m, uint64_t pa)
{
    if (!m || (pa & 7) || pa >= m->size || __atomic_load_n(&m->holes, __ATOMIC_ACQUIRE))
        return NULL;
    struct pg *pg = page_lookup(m, pa >> PG_SHIFT);
    if (!pg)
        pg = page_get_or_create(m, pa >> PG_SHIFT);
    return pg ? &pg->q[(pa & PG_MASK) / 8] : NULL;
}

static const uint64_t *host_ptr(void *opaque, uint64_t pa)
{
    return mem_ptr(opaque, pa);
}

static int host_read(void *opaque, uint64_t pa, void *buf, size_t len)
{
    return vtd_mem_read(opaque, pa, buf, len);
}

static int host_write(void *opaque, uint64_t pa, const void *buf, size_t len)
{
    return vtd_mem_write(opaque, pa, buf, len);
}

static int host_cmpxchg64(void *opaque, uint64_t pa, uint64_t *expected, uint64_t desired)
{
    return vtd_mem_cmpxchg64(opaque, pa, expected, desired);
}

void vtd_mem_host(struct vtd_mem *m, struct vtd_host *h)
{
    if (!h)
        return;
    h->opaque = m;
    h->mem_read = host_read;
    h->mem_write = host_write;
    h->mem_cmpxchg64 = host_cmpxchg64;
    h->mem_ptr = host_ptr;
}
