/* SPDX-License-Identifier: MIT */
/* IOVA allocator (src/drv/iova.c): the contract of include/vtd/iova.h. */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <vtd/iova.h>

#define PG 4096ULL

/* ---- memory callbacks: malloc with accounting and injected failures ---- */

struct heap {
    atomic_long bytes, calls;
    long fail_at; /* the fail_at-th call (1-based) fails; 0: never */
};

static void *heap_alloc(void *opaque, size_t size)
{
    struct heap *h = opaque;
    long n = atomic_fetch_add(&h->calls, 1) + 1;
    if (h->fail_at && n == h->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        atomic_fetch_add(&h->bytes, (long)size);
    return p;
}

static void heap_free(void *opaque, void *p, size_t size)
{
    struct heap *h = opaque;
    atomic_fetch_sub(&h->bytes, (long)size);
    free(p);
}

static struct vtd_iova_config cfg_of(struct heap *h, uint64_t base, uint64_t end, unsigned ncpus)
{
    struct vtd_iova_config c = {.base = base, .end = end, .ncpus = ncpus,
                                .alloc = heap_alloc, .free = heap_free, .opaque = h};
    return c;
}

static struct vtd_iova *mk(struct heap *h, uint64_t base, uint64_t end, unsigned ncpus)
{
    struct vtd_iova_config c = cfg_of(h, base, end, ncpus);
    struct vtd_iova *d = NULL;
    assert_int_equal(vtd_iova_create(&c, &d), 0);
    assert_non_null(d);
    return d;
}

static void done(struct vtd_iova *d, struct heap *h)
{
    vtd_iova_destroy(d);
    assert_int_equal(atomic_load(&h->bytes), 0); /* every byte given back */
}

static uint64_t alloc_ok(struct vtd_iova *d, unsigned cpu, uint64_t n, uint64_t limit)
{
    uint64_t a = 0;
    assert_int_equal(vtd_iova_alloc(d, cpu, n, limit, &a), 0);
    return a;
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* ---- tests ---- */

static void test_create_args(void **state)
{
    (void)state;
    struct heap h = {0};
    struct vtd_iova *d = (struct vtd_iova *)1;
    struct vtd_iova_config c = cfg_of(&h, PG, 1ULL << 32, 2);
    assert_int_equal(vtd_iova_create(NULL, &d), VTD_IOVA_EINVAL);
    assert_null(d);
    assert_int_equal(vtd_iova_create(&c, NULL), VTD_IOVA_EINVAL);
    struct vtd_iova_config bad = c;
    bad.alloc = NULL;
    assert_int_equal(vtd_iova_create(&bad, &d), VTD_IOVA_EINVAL);
    bad = c, bad.free = NULL;
    assert_int_equal(vtd_iova_create(&bad, &d), VTD_IOVA_EINVAL);
    bad = c, bad.base = 100;
    assert_int_equal(vtd_iova_create(&bad, &d), VTD_IOVA_EINVAL);
    bad = c, bad.end = (1ULL << 32) + 1;
    assert_int_equal(vtd_iova_create(&bad, &d), VTD_IOVA_EINVAL);
    bad = c, bad.base = bad.end;
    assert_int_equal(vtd_iova_create(&bad, &d), VTD_IOVA_EINVAL);
    bad = c, bad.ncpus = VTD_IOVA_MAX_CPUS + 1;
    assert_int_equal(vtd_iova_create(&bad, &d), VTD_IOVA_EINVAL);
    bad = c, bad.hash_buckets = 1000;
    assert_int_equal(vtd_iova_create(&bad, &d), VTD_IOVA_EINVAL);
    assert_int_equal(atomic_load(&h.bytes), 0);

    assert_int_equal(vtd_iova_create(&c, &d), 0);
    uint64_t a;
    assert_int_equal(vtd_iova_alloc(d, 0, 0, 0, &a), VTD_IOVA_EINVAL);
    assert_int_equal(vtd_iova_alloc(d, 2, 1, 0, &a), VTD_IOVA_EINVAL); /* cpu out of range */
    assert_int_equal(vtd_iova_alloc(d, 0, 1, 0, NULL), VTD_IOVA_EINVAL);
    assert_int_equal(vtd_iova_alloc(NULL, 0, 1, 0, &a), VTD_IOVA_EINVAL);
    assert_int_equal(vtd_iova_alloc(d, 0, 1ULL << 20, 0, &a), VTD_IOVA_ENOSPC); /* more than the space */
    assert_int_equal(vtd_iova_free(d, 0, 0x1000, 0), VTD_IOVA_EINVAL);
    assert_int_equal(vtd_iova_free(d, 0, 0x1001, 1), VTD_IOVA_EINVAL);
    assert_int_equal(vtd_iova_free(d, 5, 0x1000, 1), VTD_IOVA_EINVAL);
    assert_int_equal(vtd_iova_flush_cpu(d, 2), VTD_IOVA_EINVAL);
    assert_int_equal(vtd_iova_flush_cpu(d, 1), 0);
    assert_int_equal(vtd_iova_reserve(d, 0x1000, 0), VTD_IOVA_EINVAL);
    assert_int_equal(vtd_iova_reserve(d, UINT64_MAX - 0xFFF, 0x2000), VTD_IOVA_EINVAL); /* wraps */
    assert_int_equal(vtd_iova_reserve(d, 1ULL << 33, 0x1000), VTD_IOVA_EINVAL);        /* outside */
    done(d, &h);
    vtd_iova_destroy(NULL);

    /* every error code has its own sentence */
    const int codes[] = {0, VTD_IOVA_EINVAL, VTD_IOVA_ENOMEM, VTD_IOVA_ENOSPC, VTD_IOVA_ENOTALLOC,
                         VTD_IOVA_ESIZE, VTD_IOVA_EBUSY};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(vtd_iova_strerror(codes[i]), vtd_iova_strerror(codes[j]));
    assert_string_equal(vtd_iova_strerror(12345), "unknown error");
}

/* Every size 1..100 is aligned to its power of two, nothing overlaps, and the
 * first allocation of a fresh allocator is the highest page (top-down). */
static void test_alignment(void **state)
{
    (void)state;
    for (unsigned ncpus = 0; ncpus <= 1; ncpus++) {
        struct heap h = {0};
        const uint64_t end = 1ULL << 40;
        struct vtd_iova *d = mk(&h, PG, end, ncpus);
        assert_true(alloc_ok(d, 0, 1, 0) == end - PG);
        uint64_t at[101], len[101];
        for (uint64_t n = 1; n <= 100; n++) {
            at[n] = alloc_ok(d, 0, n, 0);
            len[n] = n <= 32 ? pow2_at_least(n) : n;
            assert_true(at[n] % (pow2_at_least(n) * PG) == 0);
            assert_true(at[n] >= PG && at[n] + len[n] * PG <= end);
            for (uint64_t m = 1; m < n; m++)
                assert_true(at[n] + len[n] * PG <= at[m] || at[m] + len[m] * PG <= at[n]);
        }
        struct vtd_iova_stats st;
        vtd_iova_get_stats(d, &st);
        assert_true(st.ranges == 101);
        for (uint64_t n = 1; n <= 100; n++)
            assert_int_equal(vtd_iova_free(d, 0, at[n], n), 0);
        assert_int_equal(vtd_iova_free(d, 0, end - PG, 1), 0);
        vtd_iova_flush(d);
        vtd_iova_get_stats(d, &st);
        assert_true(st.ranges == 0 && st.pages == 0 && st.cached == 0);
        assert_true(st.tree_nodes == 1); /* everything merged back into one free segment */
        done(d, &h);
    }
}

static void test_limit(void **state)
{
    (void)state;
    struct heap h = {0};
    struct vtd_iova *d = mk(&h, PG, 1ULL << 48, 2);
    /* a 32-bit DMA mask: limit = mask + 1 */
    uint64_t a = alloc_ok(d, 0, 1, 1ULL << 32);
    assert_true(a == (1ULL << 32) - PG);
    a = alloc_ok(d, 0, 16, 1ULL << 32);
    assert_true(a + 16 * PG <= (1ULL << 32) && a % (16 * PG) == 0);
    /* an unaligned limit rounds down */
    a = alloc_ok(d, 0, 1, 0x12345678);
    assert_true(a == 0x12344000);
    /* limit 0 and a limit above the end both mean the end */
    assert_true(alloc_ok(d, 0, 1, 0) == (1ULL << 48) - PG);
    assert_true(alloc_ok(d, 0, 1, UINT64_MAX) == (1ULL << 48) - 2 * PG);
    /* below base, or too low for the size: no space */
    assert_int_equal(vtd_iova_alloc(d, 0, 1, PG, &a), VTD_IOVA_ENOSPC);
    assert_int_equal(vtd_iova_alloc(d, 0, 4, 4 * PG, &a), VTD_IOVA_ENOSPC);
    assert_true(alloc_ok(d, 0, 1, 2 * PG) == PG);
    /* a cached range above a low limit is not handed to a low-limit request */
    uint64_t hi = alloc_ok(d, 1, 2, 0);
    assert_int_equal(vtd_iova_free(d, 1, hi, 2), 0);
    a = alloc_ok(d, 1, 2, 1ULL << 30);
    assert_true(a + 2 * PG <= (1ULL << 30));
    assert_true(alloc_ok(d, 1, 2, 0) == hi); /* but to the next request without one */
    done(d, &h);
}

/* The interrupt window and an RMRR are never handed out; reserve's errors. */
static void test_reserve(void **state)
{
    (void)state;
    for (unsigned ncpus = 0; ncpus <= 3; ncpus += 3) {
        struct heap h = {0};
        const uint64_t base = 0xFE000000, end = 0xFF000000; /* 4096 pages */
        struct vtd_iova *d = mk(&h, base, end, ncpus);
        assert_int_equal(vtd_iova_reserve(d, 0xFEE00000, 0x100000), 0);
        assert_int_equal(vtd_iova_reserve(d, 0xFE100800, 0x2000), 0); /* RMRR, unaligned: 3 pages */
        assert_int_equal(vtd_iova_reserve(d, 0xFEE80000, 0x1000), 0); /* inside the first: fine */
        assert_int_equal(vtd_iova_reserve(d, 0xFDFFF000, 0x2000), 0); /* half outside: clipped */
        struct vtd_iova_stats st;
        vtd_iova_get_stats(d, &st);
        assert_true(st.reserved_pages == 256 + 3 + 1);
        assert_int_equal(vtd_iova_free(d, 0, 0xFEE00000, 1), VTD_IOVA_ENOTALLOC);
        unsigned got = 0;
        uint64_t a;
        int rc;
        while ((rc = vtd_iova_alloc(d, got % 3, 1, 0, &a)) == 0) {
            got++;
            assert_true(a >= base && a < end);
            assert_false(a >= 0xFEE00000 && a < 0xFEF00000);
            assert_false(a >= 0xFE100000 && a < 0xFE103000);
            assert_false(a == 0xFE000000);
        }
        assert_int_equal(rc, VTD_IOVA_ENOSPC);
        assert_int_equal(got, 4096 - 256 - 3 - 1);
        /* reserving over an allocation is refused, and changes nothing */
        assert_int_equal(vtd_iova_reserve(d, 0xFE800000, 0x1000), VTD_IOVA_EBUSY);
        assert_int_equal(vtd_iova_free(d, 0, 0xFE800000, 1), 0);
        /* free: now (after the caches are flushed) the reservation succeeds */
        assert_int_equal(vtd_iova_reserve(d, 0xFE800000, 0x1000), 0);
        assert_int_equal(vtd_iova_alloc(d, 0, 1, 0, &a), VTD_IOVA_ENOSPC);
        done(d, &h);
    }
}

/* Exhaustion, then reuse: caches give their ranges back when an allocation
 * of another size would fail. */
static void test_exhaustion(void **state)
{
    (void)state;
    struct heap h = {0};
    struct vtd_iova *d = mk(&h, 0, 64 * PG, 2);
    uint64_t a[64], x;
    for (int i = 0; i < 64; i++)
        a[i] = alloc_ok(d, (unsigned)i & 1, 1, 0);
    assert_int_equal(vtd_iova_alloc(d, 0, 1, 0, &x), VTD_IOVA_ENOSPC);
    assert_int_equal(vtd_iova_free(d, 1, a[10], 1), 0);
    assert_true(alloc_ok(d, 1, 1, 0) == a[10]); /* from the magazine */
    for (int i = 0; i < 64; i++)
        assert_int_equal(vtd_iova_free(d, (unsigned)i % 2, a[i], 1), 0);
    struct vtd_iova_stats st;
    vtd_iova_get_stats(d, &st);
    assert_true(st.cached == 64 && st.ranges == 64);
    /* 64 pages in one piece: only after the caches are flushed */
    assert_true(alloc_ok(d, 0, 64, 0) == 0);
    vtd_iova_get_stats(d, &st);
    assert_true(st.flushes == 2 && st.cached == 0 && st.ranges == 1); /* both ENOSPC paths flushed */
    assert_int_equal(vtd_iova_alloc(d, 0, 1, 0, &x), VTD_IOVA_ENOSPC);
    assert_int_equal(vtd_iova_free(d, 0, 0, 64), 0);
    done(d, &h);
}

/* Every other page free: no aligned pair exists; freeing the rest merges. */
static void test_fragmentation(void **state)
{
    (void)state;
    for (unsigned ncpus = 0; ncpus <= 1; ncpus++) {
        struct heap h = {0};
        struct vtd_iova *d = mk(&h, 0, 64 * PG, ncpus);
        uint64_t x;
        for (int i = 0; i < 64; i++)
            alloc_ok(d, 0, 1, 0);
        for (uint64_t p = 0; p < 64; p += 2)
            assert_int_equal(vtd_iova_free(d, 0, p * PG, 1), 0);
        assert_int_equal(vtd_iova_alloc(d, 0, 2, 0, &x), VTD_IOVA_ENOSPC);
        /* 3 pages round to 4: none either */
        assert_int_equal(vtd_iova_alloc(d, 0, 3, 0, &x), VTD_IOVA_ENOSPC);
        /* single pages are reused, highest first (the failed requests above
         * flushed the caches, so the tree answers) */
        assert_true(alloc_ok(d, 0, 1, 0) == 62 * PG);
        assert_int_equal(vtd_iova_free(d, 0, 62 * PG, 1), 0);
        for (uint64_t p = 1; p < 64; p += 2)
            assert_int_equal(vtd_iova_free(d, 0, p * PG, 1), 0);
        /* now one free piece again */
        assert_true(alloc_ok(d, 0, 32, 0) == 32 * PG);
        assert_true(alloc_ok(d, 0, 32, 0) == 0);
        assert_int_equal(vtd_iova_free(d, 0, 0, 32), 0);
        assert_int_equal(vtd_iova_free(d, 0, 32 * PG, 32), 0);
        done(d, &h);
    }
}

static void test_double_free(void **state)
{
    (void)state;
    for (unsigned ncpus = 0; ncpus <= 2; ncpus += 2) {
        struct heap h = {0};
        struct vtd_iova *d = mk(&h, PG, 1ULL << 32, ncpus);
        uint64_t one = alloc_ok(d, 0, 1, 0), four = alloc_ok(d, 0, 4, 0), big = alloc_ok(d, 0, 100, 0);
        uint64_t three = alloc_ok(d, 1 % (ncpus ? ncpus : 1), 3, 0);
        /* wrong size, inside a range, never allocated, reserved: nothing changes */
        assert_int_equal(vtd_iova_free(d, 0, one, 2), VTD_IOVA_ESIZE);
        assert_int_equal(vtd_iova_free(d, 0, one, 33), VTD_IOVA_ESIZE);
        assert_int_equal(vtd_iova_free(d, 0, big, 99), VTD_IOVA_ESIZE);
        assert_int_equal(vtd_iova_free(d, 0, big, 1), VTD_IOVA_ESIZE);
        assert_int_equal(vtd_iova_free(d, 0, four + PG, 1), VTD_IOVA_ENOTALLOC);
        assert_int_equal(vtd_iova_free(d, 0, big + PG, 99), VTD_IOVA_ENOTALLOC);
        assert_int_equal(vtd_iova_free(d, 0, 0x10000000, 1), VTD_IOVA_ENOTALLOC);
        assert_int_equal(vtd_iova_free(d, 0, 0x10000000, 64), VTD_IOVA_ENOTALLOC);
        assert_int_equal(vtd_iova_free(d, 0, 0, 1), VTD_IOVA_ENOTALLOC); /* below base */
        assert_int_equal(vtd_iova_free(d, 0, 1ULL << 40, 1), VTD_IOVA_ENOTALLOC); /* above end */
        /* the first free works, the second is a double free: while cached ... */
        assert_int_equal(vtd_iova_free(d, 0, one, 1), 0);
        assert_int_equal(vtd_iova_free(d, 0, one, 1), VTD_IOVA_ENOTALLOC);
        assert_int_equal(vtd_iova_free(d, 0, one, 64), VTD_IOVA_ENOTALLOC);
        assert_int_equal(vtd_iova_free(d, 0, big, 100), 0);
        assert_int_equal(vtd_iova_free(d, 0, big, 100), VTD_IOVA_ENOTALLOC);
        /* 3 pages were allocated as 4: freeing with 3 or 4 is the same size */
        assert_int_equal(vtd_iova_free(d, 0, three, 4), 0);
        assert_int_equal(vtd_iova_free(d, 0, three, 3), VTD_IOVA_ENOTALLOC);
        /* ... and after the caches gave it back */
        vtd_iova_flush(d);
        assert_int_equal(vtd_iova_free(d, 0, one, 1), VTD_IOVA_ENOTALLOC);
        assert_int_equal(vtd_iova_free(d, 0, four, 4), 0);
        struct vtd_iova_stats st;
        vtd_iova_get_stats(d, &st);
        assert_true(st.ranges == (ncpus ? 1u : 0u) && st.cached == st.ranges);
        done(d, &h);
    }
}

/* Every allocation failure of the callback is reported and leaves the
 * allocator usable and leak-free. */
static void test_enomem(void **state)
{
    (void)state;
    for (long f = 1; f <= 4; f++) {
        struct heap h = {.fail_at = f};
        struct vtd_iova_config c = cfg_of(&h, PG, 1ULL << 32, 2);
        struct vtd_iova *d = NULL;
        assert_int_equal(vtd_iova_create(&c, &d), VTD_IOVA_ENOMEM);
        assert_null(d);
        assert_int_equal(atomic_load(&h.bytes), 0);
    }
    struct heap h = {0};
    struct vtd_iova *d = mk(&h, PG, 1ULL << 32, 1);
    uint64_t a[200];
    int i = 0, fails = 0;
    /* tree nodes come 63 to a 4 KiB chunk: a later split needs a new chunk */
    for (; i < 200; i++) {
        h.fail_at = atomic_load(&h.calls) + 1;
        int rc = vtd_iova_alloc(d, 0, 100, 0, &a[i]);
        h.fail_at = 0;
        if (rc == VTD_IOVA_ENOMEM) {
            fails++;
            assert_int_equal(vtd_iova_alloc(d, 0, 100, 0, &a[i]), 0);
        } else {
            assert_int_equal(rc, 0);
        }
    }
    assert_true(fails >= 1);
    /* a free into a CPU cache that cannot get a magazine goes to the tree */
    uint64_t one = alloc_ok(d, 0, 1, 0);
    h.fail_at = atomic_load(&h.calls) + 1;
    assert_int_equal(vtd_iova_free(d, 0, one, 1), 0);
    h.fail_at = 0;
    struct vtd_iova_stats st;
    vtd_iova_get_stats(d, &st);
    assert_true(st.cached == 0 && st.ranges == 200);
    assert_int_equal(vtd_iova_free(d, 0, one, 1), VTD_IOVA_ENOTALLOC);
    for (i = 0; i < 200; i++)
        assert_int_equal(vtd_iova_free(d, 0, a[i], 100), 0);
    done(d, &h);
}

/* ---- random sequences against a reference bitmap ---- */

#define RPAGES 2048
#define RBASE 16 /* pages below base */

struct live {
    uint64_t iova, npages;
};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* highest aligned start of len free pages ending at or below lim, or UINT64_MAX */
static uint64_t ref_fit(const uint8_t *used, uint64_t len, uint64_t lim)
{
    uint64_t align = pow2_at_least(len);
    if (lim < len)
        return UINT64_MAX;
    for (uint64_t a = (lim - len) & ~(align - 1);; a -= align) {
        if (a < RBASE)
            return UINT64_MAX;
        bool ok = true;
        for (uint64_t p = a; p < a + len && ok; p++)
            ok = !used[p];
        if (ok)
            return a;
        if (a < align)
            return UINT64_MAX;
    }
}

static void random_run(unsigned ncpus, uint64_t seed)
{
    struct heap h = {0};
    const uint64_t end_pfn = RBASE + RPAGES;
    struct vtd_iova_config c = cfg_of(&h, RBASE * PG, end_pfn * PG, ncpus);
    c.depot_mags = 2; /* small, so that full depots give back to the tree */
    c.hash_buckets = 64;
    struct vtd_iova *d = NULL;
    assert_int_equal(vtd_iova_create(&c, &d), 0);
    static uint8_t used[RBASE + RPAGES]; /* 1 allocated, 2 reserved */
    memset(used, 0, sizeof used);
    const uint64_t resv[][2] = {{RBASE + 1000, 37}, {RBASE + 1500, 1}, {end_pfn - 3, 3}};
    for (int r = 0; r < 3; r++) {
        assert_int_equal(vtd_iova_reserve(d, resv[r][0] * PG, resv[r][1] * PG), 0);
        for (uint64_t p = 0; p < resv[r][1]; p++)
            used[resv[r][0] + p] = 2;
    }
    struct live live[512];
    unsigned nlive = 0;
    uint64_t s = seed;
    unsigned enospc = 0, errs = 0;
    for (int op = 0; op < 60000; op++) {
        uint64_t r = rnd(&s);
        unsigned cpu = ncpus ? (unsigned)(r >> 40) % ncpus : 0;
        if (r % 100 < 55 && nlive < 512) {
            uint64_t n = r % 16 < 12 ? 1 + (r >> 8) % 8 : 1 + (r >> 8) % 120;
            uint64_t lim = (r >> 20) % 4 ? 0 : RBASE + n + (r >> 24) % RPAGES;
            uint64_t lim_pfn = lim && lim < end_pfn ? lim : end_pfn;
            uint64_t len = n <= 32 ? pow2_at_least(n) : n, a;
            int rc = vtd_iova_alloc(d, cpu, n, lim * PG, &a);
            if (rc == VTD_IOVA_ENOSPC) {
                /* caches were flushed before giving up: so nothing fits */
                assert_true(ref_fit(used, len, lim_pfn) == UINT64_MAX);
                enospc++;
                continue;
            }
            assert_int_equal(rc, 0);
            uint64_t pfn = a / PG;
            assert_true(a % (pow2_at_least(n) * PG) == 0);
            assert_true(pfn >= RBASE && pfn + len <= lim_pfn);
            if (!ncpus) /* no caches: exactly the top-down choice */
                assert_true(pfn == ref_fit(used, len, lim_pfn));
            for (uint64_t p = pfn; p < pfn + len; p++) {
                assert_int_equal(used[p], 0); /* no overlap, not reserved */
                used[p] = 1;
            }
            live[nlive++] = (struct live){a, n};
        } else if (r % 100 < 95 && nlive) {
            unsigned i = (unsigned)((r >> 16) % nlive);
            struct live l = live[i];
            uint64_t len = l.npages <= 32 ? pow2_at_least(l.npages) : l.npages;
            assert_int_equal(vtd_iova_free(d, cpu, l.iova, l.npages), 0);
            for (uint64_t p = l.iova / PG; p < l.iova / PG + len; p++)
                used[p] = 0;
            live[i] = live[--nlive];
            if ((r >> 30) % 4 == 0) { /* and again: a double free */
                assert_int_equal(vtd_iova_free(d, cpu, l.iova, l.npages), VTD_IOVA_ENOTALLOC);
                errs++;
            }
        } else if (r % 100 < 98) {
            /* a bogus free: a page that is not the start of a live range */
            uint64_t p = RBASE + (r >> 12) % RPAGES;
            bool start = false;
            for (unsigned i = 0; i < nlive; i++)
                start |= live[i].iova == p * PG;
            if (!start) {
                assert_int_equal(vtd_iova_free(d, cpu, p * PG, 1 + (r >> 50) % 40), VTD_IOVA_ENOTALLOC);
                errs++;
            }
        } else if (r % 100 < 99 || !ncpus) {
            vtd_iova_flush(d);
        } else {
            assert_int_equal(vtd_iova_flush_cpu(d, cpu), 0);
        }
    }
    assert_true(enospc > 10 && errs > 100); /* the sequence reached both */
    struct vtd_iova_stats st;
    vtd_iova_get_stats(d, &st);
    assert_true(st.ranges - st.cached == nlive);
    while (nlive) {
        nlive--;
        assert_int_equal(vtd_iova_free(d, 0, live[nlive].iova, live[nlive].npages), 0);
    }
    vtd_iova_flush(d);
    vtd_iova_get_stats(d, &st);
    assert_true(st.ranges == 0 && st.pages == 0 && st.reserved_pages == 41);
    /* free space and reservations only: 3 reserved, 3 free around them */
    assert_true(st.tree_nodes == 6);
    done(d, &h);
}

static void test_random_vs_bitmap(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        random_run(0, seed * 0x9E3779B97F4A7C15ULL);
        random_run(4, seed * 0x9E3779B97F4A7C15ULL);
    }
}

/* ---- two threads, separate cpu indices ---- */

#define TPAGES (1u << 14)

struct tjob {
    struct vtd_iova *d;
    unsigned cpu;
    atomic_uchar *owner; /* per page: 0 free, else the owning thread + 1 */
    unsigned overlaps, errors, ops;
};

static void *tmain(void *arg)
{
    struct tjob *j = arg;
    uint64_t s = 0x1234567 + j->cpu * 77;
    struct live live[64];
    unsigned nlive = 0;
    for (int op = 0; op < 100000; op++) {
        uint64_t r = rnd(&s);
        if (nlive < 64 && (r % 2 || !nlive)) {
            uint64_t n = r % 8 ? 1 + (r >> 8) % 4 : 1 + (r >> 8) % 40, a;
            int rc = vtd_iova_alloc(j->d, j->cpu, n, 0, &a);
            j->ops++;
            if (rc) {
                j->errors += rc != VTD_IOVA_ENOSPC;
                continue;
            }
            uint64_t len = n <= 32 ? pow2_at_least(n) : n;
            for (uint64_t p = a / PG; p < a / PG + len; p++) {
                unsigned char z = 0;
                if (p >= TPAGES || !atomic_compare_exchange_strong(&j->owner[p], &z, (unsigned char)(j->cpu + 1)))
                    j->overlaps++;
            }
            live[nlive++] = (struct live){a, n};
        } else {
            unsigned i = (unsigned)((r >> 16) % nlive);
            struct live l = live[i];
            uint64_t len = l.npages <= 32 ? pow2_at_least(l.npages) : l.npages;
            for (uint64_t p = l.iova / PG; p < l.iova / PG + len; p++)
                atomic_store(&j->owner[p], 0);
            j->errors += vtd_iova_free(j->d, j->cpu, l.iova, l.npages) != 0;
            if (r % 16 == 0) /* double free, detected on this thread */
                j->errors += vtd_iova_free(j->d, j->cpu, l.iova, l.npages) != VTD_IOVA_ENOTALLOC;
            live[i] = live[--nlive];
            j->ops++;
        }
        if (op % 20000 == 19999)
            vtd_iova_flush(j->d); /* flushes the other thread's magazines too */
    }
    while (nlive) {
        nlive--;
        uint64_t len = live[nlive].npages <= 32 ? pow2_at_least(live[nlive].npages) : live[nlive].npages;
        for (uint64_t p = live[nlive].iova / PG; p < live[nlive].iova / PG + len; p++)
            atomic_store(&j->owner[p], 0);
        j->errors += vtd_iova_free(j->d, j->cpu, live[nlive].iova, live[nlive].npages) != 0;
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    struct heap h = {0};
    struct vtd_iova *d = mk(&h, PG, (uint64_t)TPAGES * PG, 2);
    assert_int_equal(vtd_iova_reserve(d, 0x1000000, 0x100000), 0);
    static atomic_uchar owner[TPAGES];
    for (unsigned p = 0; p < TPAGES; p++)
        atomic_init(&owner[p], 0);
    struct tjob jobs[2];
    pthread_t tid[2];
    for (unsigned t = 0; t < 2; t++) {
        jobs[t] = (struct tjob){.d = d, .cpu = t, .owner = owner};
        assert_int_equal(pthread_create(&tid[t], NULL, tmain, &jobs[t]), 0);
    }
    for (unsigned t = 0; t < 2; t++) {
        pthread_join(tid[t], NULL);
        assert_int_equal(jobs[t].overlaps, 0);
        assert_int_equal(jobs[t].errors, 0);
        assert_int_equal(jobs[t].ops, 100000);
    }
    for (unsigned p = 0x1000; p < 0x1100; p++)
        assert_int_equal(atomic_load(&owner[p]), 0);
    struct vtd_iova_stats st;
    vtd_iova_get_stats(d, &st);
    assert_true(st.ranges == st.cached);
    assert_true(st.fast_allocs > st.slow_allocs); /* the caches did their job */
    vtd_iova_flush(d);
    vtd_iova_get_stats(d, &st);
    assert_true(st.ranges == 0 && st.pages == 0);
    done(d, &h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_args),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_exhaustion),
        cmocka_unit_test(test_fragmentation),
        cmocka_unit_test(test_double_free),
        cmocka_unit_test(test_enomem),
        cmocka_unit_test(test_random_vs_bitmap),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
