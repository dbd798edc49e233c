/* SPDX-License-Identifier: MIT */
/*
 * IOVA allocator (include/vtd/iova.h): per-CPU magazines and a depot per
 * cached size in front of an augmented AVL tree of address-space segments.
 *
 * The tree: nodes are segments [pfn, pfn + len) of one type (free, allocated,
 * reserved) that together partition [base, end).  Each node carries the
 * longest free segment of its subtree (maxfree), so the top-down search
 * descends right first and prunes subtrees that cannot hold the request.
 *
 * The caches (after Bonwick's magazines, as Linux's iova rcache): an
 * allocation of a cached size stays an allocated segment while a magazine
 * holds it, so the tree never sees the fast path.  Such allocations are
 * also in a hash keyed by first page, whose node carries an atomic state
 * (handed out / cached): that is what lets a free on the fast path detect a
 * double free without the tree lock.
 *
 * Lock order: CPU cache -> depot -> tree -> hash bucket.  The alloc/free
 * callbacks are called only under the tree lock.
 *
 * Freestanding: no libc, no builtins.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtd/iova.h>

#define NCLASS 6 /* 1 << 0 .. 1 << 5 pages: log2(VTD_IOVA_CACHE_MAX_PAGES) + 1 */
#define CHUNK_SIZE 4096
#define CACHELINE 64
#define DEFAULT_DEPOT_MAGS 32
#define DEFAULT_HASH_BUCKETS 4096

/* Slow paths out of line, so that the fast paths stay small. */
#if defined(__GNUC__)
#define SLOW __attribute__((noinline, cold))
#else
#define SLOW
#endif

enum { SEG_FREE, SEG_ALLOC, SEG_RESV };
enum { ST_NONE, ST_USER, ST_CACHED }; /* state of a hashed (cached-size) allocation */

/* 64 bytes and cache-line aligned in its chunk: a node's state is written on
 * every fast alloc and free, by the CPU that holds it; neighbours in a chunk
 * belong to other CPUs. */
struct node {
    _Alignas(CACHELINE) uint64_t pfn, len;
    uint64_t maxfree;     /* longest free segment in this subtree */
    struct node *l, *r;   /* tree links (tree lock) */
    struct node *hnext;   /* hash chain (bucket lock) */
    int height;
    uint8_t type;         /* SEG_* (tree lock) */
    bool hashed;          /* a cached-size allocation, in the hash */
    _Atomic uint8_t state; /* ST_* for hashed nodes */
};

struct chunk {
    struct chunk *next;
};
#define NODES_PER_CHUNK (CHUNK_SIZE / sizeof(struct node) - 1) /* the first line holds the header */

struct spin {
    atomic_int v;
};

struct mag {
    struct mag *next;
    uint32_t n, pad;
    struct node *e[VTD_IOVA_MAG_SIZE];
};

struct cpu_cache {
    _Alignas(CACHELINE) struct spin lock;
    struct mag *loaded[NCLASS], *prev[NCLASS];
    /* written by the owner only: relaxed load + store, no RMW */
    _Atomic uint64_t fast_allocs, fast_frees;
};

struct depot {
    struct spin lock;
    unsigned nfull;
    struct mag *full, *empty;
    char pad[CACHELINE - 24]; /* one cache line each (no alignment: the callback promises 16) */
};

struct bucket {
    struct spin lock;
    struct node *head;
};

struct vtd_iova {
    struct vtd_iova_config cfg;
    uint64_t base_pfn, end_pfn;
    unsigned ncpus, depot_max, hash_mask;
    struct cpu_cache *cpus;
    void *cpus_raw;
    size_t cpus_raw_size;
    struct bucket *buckets;
    struct depot depot[NCLASS];

    char pad[CACHELINE]; /* keep the tree's lock and fields off the lines above */
    struct spin tree_lock;
    struct node *root;
    struct node *spare;   /* unused nodes */
    struct chunk *chunks;
    uint64_t ranges, pages, resv_pages, nodes, slow_allocs, slow_frees, flushes;
};

/* ---- locks ---- */

static inline void cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

static inline void spin_lock(struct spin *s)
{
    for (;;) {
        if (!atomic_exchange_explicit(&s->v, 1, memory_order_acquire))
            return;
        while (atomic_load_explicit(&s->v, memory_order_relaxed))
            cpu_relax();
    }
}

static inline void spin_unlock(struct spin *s)
{
    atomic_store_explicit(&s->v, 0, memory_order_release);
}

static inline void spin_init(struct spin *s)
{
    atomic_init(&s->v, 0);
}

static inline void count(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* ---- sizes ---- */

/* Size class of npages (rounded up to a power of two), or -1 above the cached sizes. */
static int size_class(uint64_t npages)
{
    if (npages > VTD_IOVA_CACHE_MAX_PAGES)
        return -1;
#if defined(__GNUC__)
    return npages <= 1 ? 0 : 64 - __builtin_clzll(npages - 1);
#else
    int c = 0;
    while ((1ULL << c) < npages)
        c++;
    return c;
#endif
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* Pages an allocation of npages occupies: cached sizes round up to a power of two. */
static uint64_t alloc_len(uint64_t npages)
{
    return npages <= VTD_IOVA_CACHE_MAX_PAGES ? 1ULL << size_class(npages) : npages;
}

/* ---- memory (tree lock held) ---- */

static struct node *take_node(struct vtd_iova *d)
{
    struct node *n = d->spare;
    d->spare = n->l;
    n->l = n->r = n->hnext = NULL;
    n->hashed = false;
    atomic_store_explicit(&n->state, ST_NONE, memory_order_relaxed);
    d->nodes++;
    return n;
}

static void put_node(struct vtd_iova *d, struct node *n)
{
    n->l = d->spare;
    d->spare = n;
    d->nodes--;
}

/* Makes sure `want` spare nodes exist (at most NODES_PER_CHUNK). */
static int reserve_nodes(struct vtd_iova *d, unsigned want)
{
    unsigned have = 0;
    for (struct node *n = d->spare; n && have < want; n = n->l)
        have++;
    if (have >= want)
        return 0;
    struct chunk *c = d->cfg.alloc(d->cfg.opaque, CHUNK_SIZE);
    if (!c)
        return VTD_IOVA_ENOMEM;
    c->next = d->chunks;
    d->chunks = c;
    /* the callback promises 16-byte alignment: place the nodes on lines */
    uintptr_t first = ((uintptr_t)(c + 1) + CACHELINE - 1) & ~(uintptr_t)(CACHELINE - 1);
    struct node *nodes = (struct node *)first;
    for (size_t i = 0; i < NODES_PER_CHUNK; i++) {
        nodes[i].l = d->spare;
        d->spare = &nodes[i];
    }
    return 0;
}

static struct mag *new_mag(struct vtd_iova *d)
{
    struct mag *m = d->cfg.alloc(d->cfg.opaque, sizeof(struct mag));
    if (m) {
        m->next = NULL;
        m->n = 0;
    }
    return m;
}

/* ---- AVL tree of segments (tree lock held) ---- */

static int height(const struct node *n) { return n ? n->height : 0; }
static uint64_t maxfree(const struct node *n) { return n ? n->maxfree : 0; }

static void pull(struct node *n)
{
    int hl = height(n->l), hr = height(n->r);
    n->height = 1 + (hl > hr ? hl : hr);
    uint64_t m = n->type == SEG_FREE ? n->len : 0;
    if (maxfree(n->l) > m)
        m = maxfree(n->l);
    if (maxfree(n->r) > m)
        m = maxfree(n->r);
    n->maxfree = m;
}

static struct node *rot_right(struct node *n)
{
    struct node *l = n->l;
    n->l = l->r;
    l->r = n;
    pull(n);
    pull(l);
    return l;
}

static struct node *rot_left(struct node *n)
{
    struct node *r = n->r;
    n->r = r->l;
    r->l = n;
    pull(n);
    pull(r);
    return r;
}

static struct node *balance(struct node *n)
{
    pull(n);
    int b = height(n->l) - height(n->r);
    if (b > 1) {
        if (height(n->l->l) < height(n->l->r))
            n->l = rot_left(n->l);
        return rot_right(n);
    }
    if (b < -1) {
        if (height(n->r->r) < height(n->r->l))
            n->r = rot_right(n->r);
        return rot_left(n);
    }
    return n;
}

static struct node *tree_insert(struct node *t, struct node *n)
{
    if (!t) {
        n->l = n->r = NULL;
        pull(n);
        return n;
    }
    if (n->pfn < t->pfn)
        t->l = tree_insert(t->l, n);
    else
        t->r = tree_insert(t->r, n);
    return balance(t);
}

static struct node *remove_min(struct node *t, struct node **min)
{
    if (!t->l) {
        *min = t;
        return t->r;
    }
    t->l = remove_min(t->l, min);
    return balance(t);
}

static struct node *tree_remove(struct node *t, uint64_t pfn)
{
    if (!t)
        return NULL;
    if (pfn < t->pfn) {
        t->l = tree_remove(t->l, pfn);
    } else if (pfn > t->pfn) {
        t->r = tree_remove(t->r, pfn);
    } else {
        struct node *l = t->l, *r = t->r, *m;
        if (!r)
            return l;
        r = remove_min(r, &m);
        m->l = l;
        m->r = r;
        return balance(m);
    }
    return balance(t);
}

/* Recompute the annotations on the path to pfn after a node there changed in place. */
static void tree_fix(struct node *t, uint64_t pfn)
{
    if (!t)
        return;
    if (pfn < t->pfn)
        tree_fix(t->l, pfn);
    else if (pfn > t->pfn)
        tree_fix(t->r, pfn);
    pull(t);
}

/* The segment containing pfn (segments partition the space). */
static struct node *tree_floor(struct node *t, uint64_t pfn)
{
    struct node *best = NULL;
    while (t) {
        if (t->pfn <= pfn) {
            best = t;
            t = t->r;
        } else {
            t = t->l;
        }
    }
    return best;
}

static struct node *tree_find(struct node *t, uint64_t pfn)
{
    while (t && t->pfn != pfn)
        t = pfn < t->pfn ? t->l : t->r;
    return t;
}

/* Highest start a, aligned, with [a, a + len) inside free segment n and below lim. */
static bool seg_fit(const struct node *n, uint64_t len, uint64_t align, uint64_t lim, uint64_t *at)
{
    uint64_t hi = n->pfn + n->len;
    if (hi > lim)
        hi = lim;
    if (hi < n->pfn + len)
        return false;
    uint64_t a = (hi - len) & ~(align - 1);
    if (a < n->pfn)
        return false;
    *at = a;
    return true;
}

/* Top-down: the highest free segment with an aligned fit below lim. */
static struct node *tree_search(struct node *t, uint64_t len, uint64_t align, uint64_t lim, uint64_t *at)
{
    if (!t || t->maxfree < len)
        return NULL;
    if (t->pfn < lim) { /* t and everything right of it start at or above t->pfn */
        struct node *r = tree_search(t->r, len, align, lim, at);
        if (r)
            return r;
        if (t->type == SEG_FREE && seg_fit(t, len, align, lim, at))
            return t;
    }
    return tree_search(t->l, len, align, lim, at);
}

/* ---- hash of cached-size allocations ---- */

static struct bucket *bucket_of(struct vtd_iova *d, uint64_t pfn)
{
    return &d->buckets[(uint32_t)((pfn * 0x9E3779B97F4A7C15ULL) >> 32) & d->hash_mask];
}

static void hash_insert(struct vtd_iova *d, struct node *n)
{
    struct bucket *b = bucket_of(d, n->pfn);
    spin_lock(&b->lock);
    n->hnext = b->head;
    b->head = n;
    spin_unlock(&b->lock);
}

static void hash_remove(struct vtd_iova *d, struct node *n)
{
    struct bucket *b = bucket_of(d, n->pfn);
    spin_lock(&b->lock);
    struct node **pp = &b->head;
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    spin_unlock(&b->lock);
    n->hnext = NULL;
}

/* ---- tree allocation and release (tree lock held) ---- */

static int tree_alloc(struct vtd_iova *d, uint64_t len, uint64_t lim, bool hashed, uint64_t *pfn)
{
    int rc = reserve_nodes(d, 2);
    if (rc)
        return rc;
    uint64_t a;
    struct node *f = tree_search(d->root, len, pow2_at_least(len), lim, &a);
    if (!f)
        return VTD_IOVA_ENOSPC;
    uint64_t fend = f->pfn + f->len;
    if (a + len < fend) { /* free tail above the allocation */
        struct node *t = take_node(d);
        t->pfn = a + len;
        t->len = fend - (a + len);
        t->type = SEG_FREE;
        d->root = tree_insert(d->root, t);
    }
    struct node *n = f;
    if (a > f->pfn) { /* free head below it stays in f */
        f->len = a - f->pfn;
        tree_fix(d->root, f->pfn);
        n = take_node(d);
        n->pfn = a;
        n->len = len;
        n->type = SEG_ALLOC;
        d->root = tree_insert(d->root, n);
    } else {
        f->len = len;
        f->type = SEG_ALLOC;
        tree_fix(d->root, f->pfn);
    }
    d->ranges++;
    d->pages += len;
    d->slow_allocs++;
    if (hashed) {
        n->hashed = true;
        atomic_store_explicit(&n->state, ST_USER, memory_order_relaxed);
        hash_insert(d, n);
    }
    *pfn = a;
    return 0;
}

/* Allocated segment n becomes free and merges with free neighbours. */
static void tree_release(struct vtd_iova *d, struct node *n)
{
    if (n->hashed) {
        hash_remove(d, n);
        n->hashed = false;
        atomic_store_explicit(&n->state, ST_NONE, memory_order_relaxed);
    }
    d->ranges--;
    d->pages -= n->len;
    n->type = SEG_FREE;
    struct node *p = n->pfn > d->base_pfn ? tree_floor(d->root, n->pfn - 1) : NULL;
    if (p && p->type == SEG_FREE) {
        p->len += n->len;
        d->root = tree_remove(d->root, n->pfn);
        put_node(d, n);
        n = p;
    }
    struct node *q = tree_find(d->root, n->pfn + n->len);
    if (q && q->type == SEG_FREE) {
        n->len += q->len;
        d->root = tree_remove(d->root, q->pfn);
        put_node(d, q);
    }
    tree_fix(d->root, n->pfn);
}

static void release_mag(struct vtd_iova *d, struct mag *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        tree_release(d, m->e[i]);
    m->n = 0;
}

/* ---- per-CPU caches ---- */

static struct node *mag_pop(struct mag *m, uint64_t lim)
{
    if (!m || !m->n)
        return NULL;
    for (uint32_t i = m->n; i-- > 0;) {
        struct node *n = m->e[i];
        if (n->pfn + n->len <= lim) {
            m->e[i] = m->e[m->n - 1];
            m->n--;
            return n;
        }
    }
    return NULL;
}

/* The loaded magazine is empty or absent: swap in prev, or a full one from
 * the depot.  Returns the loaded magazine (cpu lock held). */
SLOW static struct mag *cache_get_exchange(struct vtd_iova *d, struct cpu_cache *cc, int c)
{
    struct mag *m = cc->loaded[c], *p = cc->prev[c];
    if (p && p->n) {
        cc->prev[c] = m;
        cc->loaded[c] = p;
        return p;
    }
    struct depot *dp = &d->depot[c];
    spin_lock(&dp->lock);
    struct mag *full = dp->full;
    if (full) {
        dp->full = full->next;
        dp->nfull--;
        if (m) {
            m->next = dp->empty;
            dp->empty = m;
        }
        cc->loaded[c] = m = full;
    }
    spin_unlock(&dp->lock);
    return m;
}

static struct node *cache_get(struct vtd_iova *d, unsigned cpu, int c, uint64_t lim)
{
    struct cpu_cache *cc = &d->cpus[cpu];
    spin_lock(&cc->lock);
    struct mag *m = cc->loaded[c];
    if (!m || !m->n)
        m = cache_get_exchange(d, cc, c);
    struct node *n = mag_pop(m, lim);
    spin_unlock(&cc->lock);
    if (n) {
        atomic_store_explicit(&n->state, ST_USER, memory_order_release);
        count(&cc->fast_allocs);
    }
    return n;
}

SLOW static struct mag *cache_put_exchange(struct vtd_iova *d, struct cpu_cache *cc, int c);

/* Puts n (state already ST_CACHED) into cpu's magazines; false when no magazine
 * could be had (the caller then gives n back to the tree). */
static bool cache_put(struct vtd_iova *d, unsigned cpu, int c, struct node *n)
{
    struct cpu_cache *cc = &d->cpus[cpu];
    spin_lock(&cc->lock);
    struct mag *m = cc->loaded[c];
    if (!m || m->n == VTD_IOVA_MAG_SIZE)
        m = cache_put_exchange(d, cc, c);
    if (!m) {
        spin_unlock(&cc->lock);
        return false;
    }
    m->e[m->n++] = n;
    spin_unlock(&cc->lock);
    count(&cc->fast_frees);
    return true;
}

/* The loaded magazine is full or absent: returns a magazine with room, now
 * loaded, or NULL when none could be had (cpu lock held). */
SLOW static struct mag *cache_put_exchange(struct vtd_iova *d, struct cpu_cache *cc, int c)
{
    struct mag *m = cc->loaded[c], *p = cc->prev[c];
    struct depot *dp = &d->depot[c];
    if (p && p->n < VTD_IOVA_MAG_SIZE) { /* swap with prev */
        cc->prev[c] = m;
        m = p;
    } else if (!p && m) { /* keep the full one as prev */
        cc->prev[c] = m;
        m = NULL;
    } else if (m) { /* both full: loaded goes to the depot, or back to the tree */
        spin_lock(&dp->lock);
        if (dp->nfull < d->depot_max) {
            m->next = dp->full;
            dp->full = m;
            dp->nfull++;
            m = NULL;
        }
        spin_unlock(&dp->lock);
        if (m) {
            spin_lock(&d->tree_lock);
            release_mag(d, m);
            spin_unlock(&d->tree_lock);
        }
    }
    if (!m) {
        spin_lock(&dp->lock);
        m = dp->empty;
        if (m)
            dp->empty = m->next;
        spin_unlock(&dp->lock);
    }
    if (!m) {
        spin_lock(&d->tree_lock);
        m = new_mag(d);
        spin_unlock(&d->tree_lock);
    }
    cc->loaded[c] = m;
    return m;
}

static void flush_cpu(struct vtd_iova *d, unsigned cpu)
{
    struct cpu_cache *cc = &d->cpus[cpu];
    spin_lock(&cc->lock);
    spin_lock(&d->tree_lock);
    for (int c = 0; c < NCLASS; c++) {
        if (cc->loaded[c])
            release_mag(d, cc->loaded[c]);
        if (cc->prev[c])
            release_mag(d, cc->prev[c]);
    }
    spin_unlock(&d->tree_lock);
    spin_unlock(&cc->lock);
}

static void free_mag_list(struct vtd_iova *d, struct mag *m)
{
    while (m) {
        struct mag *next = m->next;
        d->cfg.free(d->cfg.opaque, m, sizeof(*m));
        m = next;
    }
}

static void flush_all(struct vtd_iova *d)
{
    for (unsigned cpu = 0; cpu < d->ncpus; cpu++)
        flush_cpu(d, cpu);
    for (int c = 0; c < NCLASS; c++) {
        struct depot *dp = &d->depot[c];
        spin_lock(&dp->lock);
        struct mag *full = dp->full, *empty = dp->empty;
        dp->full = dp->empty = NULL;
        dp->nfull = 0;
        spin_unlock(&dp->lock);
        spin_lock(&d->tree_lock);
        for (struct mag *m = full; m; m = m->next)
            release_mag(d, m);
        free_mag_list(d, full);
        free_mag_list(d, empty);
        spin_unlock(&d->tree_lock);
    }
}

/* ---- public ---- */

int vtd_iova_create(const struct vtd_iova_config *cfg, struct vtd_iova **out)
{
    if (out)
        *out = NULL;
    if (!cfg || !out || !cfg->alloc || !cfg->free)
        return VTD_IOVA_EINVAL;
    uint64_t mask = VTD_IOVA_PAGE_SIZE - 1;
    if ((cfg->base & mask) || (cfg->end & mask) || cfg->base >= cfg->end || cfg->ncpus > VTD_IOVA_MAX_CPUS)
        return VTD_IOVA_EINVAL;
    unsigned nb = cfg->hash_buckets ? cfg->hash_buckets : DEFAULT_HASH_BUCKETS;
    if (nb & (nb - 1) || nb > (1u << 24))
        return VTD_IOVA_EINVAL;
    struct vtd_iova *d = cfg->alloc(cfg->opaque, sizeof(*d));
    if (!d)
        return VTD_IOVA_ENOMEM;
    unsigned char *bytes = (unsigned char *)d;
    for (size_t i = 0; i < sizeof(*d); i++)
        bytes[i] = 0;
    d->cfg = *cfg;
    d->base_pfn = cfg->base >> VTD_IOVA_PAGE_SHIFT;
    d->end_pfn = cfg->end >> VTD_IOVA_PAGE_SHIFT;
    d->ncpus = cfg->ncpus;
    d->depot_max = cfg->depot_mags ? cfg->depot_mags : DEFAULT_DEPOT_MAGS;
    d->hash_mask = nb - 1;
    d->cfg.hash_buckets = nb;
    spin_init(&d->tree_lock);
    for (int c = 0; c < NCLASS; c++)
        spin_init(&d->depot[c].lock);
    if (d->ncpus) {
        d->buckets = cfg->alloc(cfg->opaque, (size_t)nb * sizeof(struct bucket));
        d->cpus_raw_size = d->ncpus * sizeof(struct cpu_cache) + CACHELINE;
        d->cpus_raw = cfg->alloc(cfg->opaque, d->cpus_raw_size);
        if (!d->buckets || !d->cpus_raw) {
            vtd_iova_destroy(d);
            return VTD_IOVA_ENOMEM;
        }
        for (unsigned i = 0; i < nb; i++) {
            spin_init(&d->buckets[i].lock);
            d->buckets[i].head = NULL;
        }
        uintptr_t p = ((uintptr_t)d->cpus_raw + CACHELINE - 1) & ~(uintptr_t)(CACHELINE - 1);
        d->cpus = (struct cpu_cache *)p;
        for (unsigned i = 0; i < d->ncpus; i++) {
            struct cpu_cache *cc = &d->cpus[i];
            spin_init(&cc->lock);
            for (int c = 0; c < NCLASS; c++)
                cc->loaded[c] = cc->prev[c] = NULL;
            atomic_init(&cc->fast_allocs, 0);
            atomic_init(&cc->fast_frees, 0);
        }
    }
    if (reserve_nodes(d, 1)) {
        vtd_iova_destroy(d);
        return VTD_IOVA_ENOMEM;
    }
    struct node *n = take_node(d);
    n->pfn = d->base_pfn;
    n->len = d->end_pfn - d->base_pfn;
    n->type = SEG_FREE;
    d->root = tree_insert(NULL, n);
    *out = d;
    return 0;
}

void vtd_iova_destroy(struct vtd_iova *d)
{
    if (!d)
        return;
    void *op = d->cfg.opaque;
    for (unsigned i = 0; d->cpus && i < d->ncpus; i++) {
        for (int c = 0; c < NCLASS; c++) {
            if (d->cpus[i].loaded[c])
                d->cfg.free(op, d->cpus[i].loaded[c], sizeof(struct mag));
            if (d->cpus[i].prev[c])
                d->cfg.free(op, d->cpus[i].prev[c], sizeof(struct mag));
        }
    }
    for (int c = 0; c < NCLASS; c++) {
        free_mag_list(d, d->depot[c].full);
        free_mag_list(d, d->depot[c].empty);
    }
    while (d->chunks) {
        struct chunk *next = d->chunks->next;
        d->cfg.free(op, d->chunks, CHUNK_SIZE);
        d->chunks = next;
    }
    if (d->cpus_raw)
        d->cfg.free(op, d->cpus_raw, d->cpus_raw_size);
    if (d->buckets)
        d->cfg.free(op, d->buckets, (size_t)d->cfg.hash_buckets * sizeof(struct bucket));
    d->cfg.free(op, d, sizeof(*d));
}

SLOW static int slow_alloc(struct vtd_iova *d, uint64_t len, uint64_t lim, bool hashed, uint64_t *iova)
{
    uint64_t pfn = 0;
    spin_lock(&d->tree_lock);
    int rc = tree_alloc(d, len, lim, hashed, &pfn);
    spin_unlock(&d->tree_lock);
    if (rc == VTD_IOVA_ENOSPC && d->ncpus) {
        /* what the caches hold may be what is missing */
        flush_all(d);
        spin_lock(&d->tree_lock);
        d->flushes++;
        rc = tree_alloc(d, len, lim, hashed, &pfn);
        spin_unlock(&d->tree_lock);
    }
    if (rc)
        return rc;
    *iova = pfn << VTD_IOVA_PAGE_SHIFT;
    return 0;
}

int vtd_iova_alloc(struct vtd_iova *d, unsigned cpu, uint64_t npages, uint64_t limit, uint64_t *iova)
{
    if (!d || !iova || !npages || (d->ncpus && cpu >= d->ncpus))
        return VTD_IOVA_EINVAL;
    uint64_t lim = limit >> VTD_IOVA_PAGE_SHIFT;
    if (!limit || lim > d->end_pfn)
        lim = d->end_pfn;
    if (npages > d->end_pfn - d->base_pfn)
        return VTD_IOVA_ENOSPC;
    uint64_t len = alloc_len(npages);
    int c = size_class(npages);
    bool cached = d->ncpus && c >= 0;
    if (cached) {
        struct node *n = cache_get(d, cpu, c, lim);
        if (n) {
            *iova = n->pfn << VTD_IOVA_PAGE_SHIFT;
            return 0;
        }
    }
    return slow_alloc(d, len, lim, cached, iova);
}

/* Free through the tree: sizes above the cached ones, no caches, or a
 * fast-path miss whose error needs the tree to name. */
SLOW static int slow_free(struct vtd_iova *d, uint64_t pfn, uint64_t len)
{
    spin_lock(&d->tree_lock);
    struct node *n = tree_find(d->root, pfn);
    int rc = 0;
    if (!n || n->type != SEG_ALLOC)
        rc = VTD_IOVA_ENOTALLOC;
    else if (n->hashed) /* a cached-size range freed with a size above the cached ones */
        rc = atomic_load_explicit(&n->state, memory_order_acquire) == ST_USER ? VTD_IOVA_ESIZE : VTD_IOVA_ENOTALLOC;
    else if (n->len != len)
        rc = VTD_IOVA_ESIZE;
    if (!rc) {
        tree_release(d, n);
        d->slow_frees++;
    }
    spin_unlock(&d->tree_lock);
    return rc;
}

int vtd_iova_free(struct vtd_iova *d, unsigned cpu, uint64_t iova, uint64_t npages)
{
    if (!d || !npages || (iova & (VTD_IOVA_PAGE_SIZE - 1)) || (d->ncpus && cpu >= d->ncpus))
        return VTD_IOVA_EINVAL;
    uint64_t pfn = iova >> VTD_IOVA_PAGE_SHIFT, len = alloc_len(npages);
    int c = size_class(npages);
    if (!d->ncpus || c < 0)
        return slow_free(d, pfn, len);
    struct bucket *b = bucket_of(d, pfn);
    spin_lock(&b->lock);
    struct node *n = b->head;
    while (n && n->pfn != pfn)
        n = n->hnext;
    if (!n) {
        spin_unlock(&b->lock);
        return slow_free(d, pfn, len); /* not a cached-size allocation: the tree names the error */
    }
    if (atomic_load_explicit(&n->state, memory_order_acquire) != ST_USER) {
        spin_unlock(&b->lock);
        return VTD_IOVA_ENOTALLOC; /* cached: freed already */
    }
    if (n->len != len) {
        spin_unlock(&b->lock);
        return VTD_IOVA_ESIZE;
    }
    atomic_store_explicit(&n->state, ST_CACHED, memory_order_relaxed);
    spin_unlock(&b->lock);
    if (!cache_put(d, cpu, c, n)) {
        spin_lock(&d->tree_lock);
        tree_release(d, n);
        d->slow_frees++;
        spin_unlock(&d->tree_lock);
    }
    return 0;
}

/* Is any part of [b, e) allocated? (tree lock held) */
static bool range_busy(struct vtd_iova *d, uint64_t b, uint64_t e)
{
    for (uint64_t cur = b; cur < e;) {
        struct node *s = tree_floor(d->root, cur);
        if (s->type == SEG_ALLOC)
            return true;
        cur = s->pfn + s->len;
    }
    return false;
}

int vtd_iova_reserve(struct vtd_iova *d, uint64_t base, uint64_t size)
{
    if (!d || !size || base + size < base)
        return VTD_IOVA_EINVAL;
    uint64_t b = base >> VTD_IOVA_PAGE_SHIFT;
    uint64_t e = (base + size - 1) / VTD_IOVA_PAGE_SIZE + 1;
    if (b < d->base_pfn)
        b = d->base_pfn;
    if (e > d->end_pfn)
        e = d->end_pfn;
    if (b >= e)
        return VTD_IOVA_EINVAL; /* entirely outside the space */
    spin_lock(&d->tree_lock);
    if (range_busy(d, b, e) && d->ncpus) {
        spin_unlock(&d->tree_lock);
        flush_all(d);
        spin_lock(&d->tree_lock);
    }
    int rc = range_busy(d, b, e) ? VTD_IOVA_EBUSY : reserve_nodes(d, 2);
    for (uint64_t cur = b; !rc && cur < e;) {
        struct node *s = tree_floor(d->root, cur);
        if (s->type == SEG_FREE) {
            uint64_t send = s->pfn + s->len;
            if (s->pfn < cur) { /* keep the head free */
                struct node *t = take_node(d);
                t->pfn = cur;
                t->len = send - cur;
                t->type = SEG_FREE;
                s->len = cur - s->pfn;
                tree_fix(d->root, s->pfn);
                d->root = tree_insert(d->root, t);
                s = t;
            }
            if (send > e) { /* and the tail */
                struct node *t = take_node(d);
                t->pfn = e;
                t->len = send - e;
                t->type = SEG_FREE;
                s->len = e - s->pfn;
                d->root = tree_insert(d->root, t);
            }
            s->type = SEG_RESV;
            tree_fix(d->root, s->pfn);
            d->resv_pages += s->len;
        }
        cur = s->pfn + s->len;
    }
    spin_unlock(&d->tree_lock);
    return rc;
}

void vtd_iova_flush(struct vtd_iova *d)
{
    if (d)
        flush_all(d);
}

int vtd_iova_flush_cpu(struct vtd_iova *d, unsigned cpu)
{
    if (!d || cpu >= d->ncpus)
        return VTD_IOVA_EINVAL;
    flush_cpu(d, cpu);
    return 0;
}

static uint64_t mag_count(const struct mag *m)
{
    return m ? m->n : 0;
}

void vtd_iova_get_stats(struct vtd_iova *d, struct vtd_iova_stats *out)
{
    if (!d || !out)
        return;
    uint64_t cached = 0, fa = 0, ff = 0;
    for (unsigned i = 0; i < d->ncpus; i++) {
        struct cpu_cache *cc = &d->cpus[i];
        spin_lock(&cc->lock);
        for (int c = 0; c < NCLASS; c++)
            cached += mag_count(cc->loaded[c]) + mag_count(cc->prev[c]);
        spin_unlock(&cc->lock);
        fa += atomic_load_explicit(&cc->fast_allocs, memory_order_relaxed);
        ff += atomic_load_explicit(&cc->fast_frees, memory_order_relaxed);
    }
    for (int c = 0; c < NCLASS; c++) {
        spin_lock(&d->depot[c].lock);
        for (struct mag *m = d->depot[c].full; m; m = m->next)
            cached += m->n;
        spin_unlock(&d->depot[c].lock);
    }
    spin_lock(&d->tree_lock);
    out->ranges = d->ranges;
    out->pages = d->pages;
    out->cached = cached;
    out->reserved_pages = d->resv_pages;
    out->tree_nodes = d->nodes;
    out->fast_allocs = fa;
    out->slow_allocs = d->slow_allocs;
    out->fast_frees = ff;
    out->slow_frees = d->slow_frees;
    out->flushes = d->flushes;
    spin_unlock(&d->tree_lock);
}

const char *vtd_iova_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case VTD_IOVA_EINVAL: return "invalid argument";
    case VTD_IOVA_ENOMEM: return "out of memory (the allocation callback failed)";
    case VTD_IOVA_ENOSPC: return "no free aligned IOVA range of that size below the limit";
    case VTD_IOVA_ENOTALLOC: return "address is not the start of a live IOVA allocation (double free?)";
    case VTD_IOVA_ESIZE: return "size differs from the size allocated at this address";
    case VTD_IOVA_EBUSY: return "part of the range is allocated";
    default: return "unknown error";
    }
}
