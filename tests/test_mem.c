/* SPDX-License-Identifier: MIT */
/* Sparse physical memory (src/mem/mem.c): contract of include/vtd/mem.h. */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <vtd/mem.h>

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)

static struct vtd_mem *mk(uint64_t size)
{
    struct vtd_mem *m = NULL;
    assert_int_equal(vtd_mem_create(size, &m), 0);
    assert_non_null(m);
    return m;
}

static uint64_t r64(struct vtd_mem *m, uint64_t pa)
{
    uint64_t v = 0xdeadbeef;
    assert_int_equal(vtd_mem_read(m, pa, &v, 8), 0);
    return v;
}

static void w64(struct vtd_mem *m, uint64_t pa, uint64_t v)
{
    assert_int_equal(vtd_mem_write(m, pa, &v, 8), 0);
}

static void fill_pattern(unsigned char *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 131u + seed * 7u + 1u);
}

static void test_create_sizes(void **state)
{
    (void)state;
    struct vtd_mem *m = (struct vtd_mem *)1;
    assert_int_equal(vtd_mem_create(VTD_MEM_MAX_SIZE + 4096, &m), VTD_EINVAL);
    assert_null(m);
    assert_int_equal(vtd_mem_create(4096 + 1, &m), VTD_EINVAL);
    assert_int_equal(vtd_mem_create(100, &m), VTD_EINVAL);
    assert_int_equal(vtd_mem_create(UINT64_MAX & ~4095ULL, &m), VTD_EINVAL);
    assert_int_equal(vtd_mem_create(4096, NULL), VTD_EINVAL);

    m = mk(0);
    assert_true(vtd_mem_size(m) == VTD_MEM_MAX_SIZE);
    assert_true(vtd_mem_pages(m) == 0);
    vtd_mem_destroy(m);

    m = mk(4096);
    assert_true(vtd_mem_size(m) == 4096);
    vtd_mem_destroy(m);

    m = mk(VTD_MEM_MAX_SIZE);
    assert_true(vtd_mem_size(m) == VTD_MEM_MAX_SIZE);
    vtd_mem_destroy(m);

    vtd_mem_destroy(NULL); /* harmless */
}

static void test_zero_reads(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(0);
    const uint64_t addrs[] = { 0, 8, 0xFFF8, 0x123456789000ULL, VTD_MEM_MAX_SIZE - 8 };
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
        assert_true(r64(m, addrs[i]) == 0);

    unsigned char buf[10000];
    memset(buf, 0xAA, sizeof(buf));
    assert_int_equal(vtd_mem_read(m, 0x7FFF3, buf, sizeof(buf)), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);
    /* Reading never allocates. */
    assert_true(vtd_mem_pages(m) == 0);

    /* Zero-length accesses inside the space succeed and touch nothing. */
    assert_int_equal(vtd_mem_read(m, 0x1000, NULL, 0), 0);
    assert_int_equal(vtd_mem_write(m, 0x1000, NULL, 0), 0);
    assert_true(vtd_mem_pages(m) == 0);
    vtd_mem_destroy(m);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(0);

    w64(m, 0x1000, 0x1122334455667788ULL);
    assert_true(r64(m, 0x1000) == 0x1122334455667788ULL);
    assert_true(vtd_mem_pages(m) == 1);
    /* Byte order is memory order: byte reads see the little/big-endian layout
     * of the value as the CPU stored it. */
    uint64_t v = 0x1122334455667788ULL;
    unsigned char want[8], got[8];
    memcpy(want, &v, 8);
    assert_int_equal(vtd_mem_read(m, 0x1000, got, 8), 0);
    assert_memory_equal(want, got, 8);
    assert_int_equal(vtd_mem_read(m, 0x1003, got, 3), 0);
    assert_memory_equal(want + 3, got, 3);

    /* Unaligned, crossing a page boundary. */
    unsigned char a[100], b[100];
    fill_pattern(a, sizeof(a), 1);
    assert_int_equal(vtd_mem_write(m, 0x5FFC - 13, a, sizeof(a)), 0);
    assert_true(vtd_mem_pages(m) == 3);
    assert_int_equal(vtd_mem_read(m, 0x5FFC - 13, b, sizeof(b)), 0);
    assert_memory_equal(a, b, sizeof(a));
    /* Neighbours untouched. */
    assert_int_equal(vtd_mem_read(m, 0x5FFC - 14, b, 1), 0);
    assert_int_equal(b[0], 0);
    assert_int_equal(vtd_mem_read(m, 0x5FFC - 13 + 100, b, 1), 0);
    assert_int_equal(b[0], 0);

    /* Several pages, partly over pages never written. */
    size_t n = 3 * 4096 + 77;
    unsigned char *big = malloc(n), *back = malloc(n);
    assert_non_null(big);
    assert_non_null(back);
    fill_pattern(big, n, 2);
    assert_int_equal(vtd_mem_write(m, 0x200005, big, n), 0);
    assert_int_equal(vtd_mem_read(m, 0x200005, back, n), 0);
    assert_memory_equal(big, back, n);
    assert_true(vtd_mem_pages(m) == 3 + 4);

    /* Read spanning written and unwritten pages. */
    memset(back, 0xAA, n);
    assert_int_equal(vtd_mem_read(m, 0x1FF000, back, 4096 + 16), 0);
    for (size_t i = 0; i < 4096 + 5; i++)
        assert_int_equal(back[i], 0);
    assert_memory_equal(back + 4096 + 5, big, 11);
    free(big);
    free(back);

    /* Far apart addresses use separate radix branches. */
    w64(m, VTD_MEM_MAX_SIZE - 8, 42);
    w64(m, 0x800000000000ULL, 43);
    assert_true(r64(m, VTD_MEM_MAX_SIZE - 8) == 42);
    assert_true(r64(m, 0x800000000000ULL) == 43);
    assert_true(r64(m, 0x800000000008ULL) == 0);
    assert_true(vtd_mem_pages(m) == 9);
    vtd_mem_destroy(m);
}

/* Random accesses against a flat reference copy. */
static void test_random_vs_reference(void **state)
{
    (void)state;
    const uint64_t size = 64 * KIB;
    struct vtd_mem *m = mk(size);
    unsigned char *ref = calloc(1, size), *buf = malloc(size);
    assert_non_null(ref);
    assert_non_null(buf);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int it = 0; it < 20000; it++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t pa = x % size;
        size_t len = (size_t)((x >> 20) % ((it & 15) == 0 ? 9000 : 24));
        if ((x >> 41) & 1) {
            /* the qword shapes of the fast paths: 0-5 aligned qwords, some
             * at the end of a page or of the memory */
            pa &= ~7ULL;
            if ((x >> 42) & 1)
                pa |= 4096 - 8 * ((x >> 43) & 3);
            pa %= size;
            len = 8 * (size_t)((x >> 45) % 6);
        }
        bool fits = len <= size - pa;
        if ((x >> 40) & 1) {
            fill_pattern(buf, len, (unsigned)it);
            int rc = vtd_mem_write(m, pa, buf, len);
            assert_int_equal(rc, fits ? 0 : -1);
            if (fits)
                memcpy(ref + pa, buf, len);
        } else {
            int rc = vtd_mem_read(m, pa, buf, len);
            assert_int_equal(rc, fits ? 0 : -1);
            if (fits && len)
                assert_memory_equal(buf, ref + pa, len);
        }
    }
    assert_int_equal(vtd_mem_read(m, 0, buf, size), 0);
    assert_memory_equal(buf, ref, size);
    free(ref);
    free(buf);
    vtd_mem_destroy(m);
}

/* vtd_mem_ptr_rw: writes through the pointer are what vtd_mem_read sees,
 * the rest of the page is reachable through it, a never-written page is
 * allocated; NULL when unaligned, beyond the size or with a hole. */
static void test_ptr_rw(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(1 * MIB);
    assert_null(vtd_mem_ptr_rw(m, 0x1004));
    assert_null(vtd_mem_ptr_rw(m, 1 * MIB));
    assert_null(vtd_mem_ptr_rw(NULL, 0));
    assert_int_equal(vtd_mem_pages(m), 0);
    uint64_t *p = vtd_mem_ptr_rw(m, 0x2ff8);
    assert_non_null(p);
    assert_int_equal(vtd_mem_pages(m), 1);
    assert_int_equal(__atomic_load_n(p, __ATOMIC_RELAXED), 0);
    __atomic_store_n(p, 0x1122334455667788ULL, __ATOMIC_RELAXED);
    assert_int_equal(r64(m, 0x2ff8), 0x1122334455667788ULL);
    uint64_t *q = vtd_mem_ptr_rw(m, 0x2000);
    assert_ptr_equal(q + 511, p);
    w64(m, 0x2010, 42);
    assert_int_equal(__atomic_load_n(&q[2], __ATOMIC_RELAXED), 42);
    /* the read-only pointer now sees the page too */
    assert_ptr_equal(vtd_mem_ptr(m, 0x2010), &q[2]);
    assert_int_equal(vtd_mem_add_hole(m, 0x80000, 4096), 0);
    assert_null(vtd_mem_ptr_rw(m, 0x2000));
    vtd_mem_destroy(m);
}

static void test_size_limit(void **state)
{
    (void)state;
    const uint64_t size = 64 * KIB;
    struct vtd_mem *m = mk(size);
    unsigned char b[16];
    memset(b, 0x5A, sizeof(b));

    assert_int_equal(vtd_mem_write(m, size - 1, b, 1), 0);
    assert_int_equal(vtd_mem_write(m, size - 8, b, 8), 0);
    w64(m, size - 16, 7);
    /* Straddling the end: fails, writes nothing. */
    assert_int_equal(vtd_mem_write(m, size - 12, b, 16), -1);
    assert_true(r64(m, size - 16) == 7);
    assert_int_equal(vtd_mem_write(m, size, b, 1), -1);
    assert_int_equal(vtd_mem_write(m, size + 4096, b, 8), -1);

    memset(b, 0xCC, sizeof(b));
    assert_int_equal(vtd_mem_read(m, size - 12, b, 16), -1);
    assert_int_equal(b[0], 0xCC); /* nothing read */
    assert_int_equal(vtd_mem_read(m, size, b, 8), -1);
    assert_int_equal(vtd_mem_read(m, size - 8, b, 8), 0);
    assert_int_equal(b[7], 0x5A);

    /* Zero length: fine at the end, not beyond it. */
    assert_int_equal(vtd_mem_read(m, size, b, 0), 0);
    assert_int_equal(vtd_mem_read(m, size + 1, b, 0), -1);
    vtd_mem_destroy(m);
}

static void test_overflow(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(0);
    unsigned char b[16] = { 1 };
    uint64_t x = 0;
    assert_int_equal(vtd_mem_read(m, UINT64_MAX - 3, b, 8), -1);
    assert_int_equal(vtd_mem_write(m, UINT64_MAX - 3, b, 8), -1);
    assert_int_equal(vtd_mem_read(m, UINT64_MAX, b, 1), -1);
    assert_int_equal(vtd_mem_read(m, 8, b, SIZE_MAX), -1);
    assert_int_equal(vtd_mem_write(m, 8, b, SIZE_MAX), -1);
    assert_int_equal(vtd_mem_read(m, VTD_MEM_MAX_SIZE - 4, b, 8), -1);
    assert_int_equal(vtd_mem_write(m, VTD_MEM_MAX_SIZE - 4, b, 8), -1);
    assert_int_equal(vtd_mem_cmpxchg64(m, UINT64_MAX - 7, &x, 1), -1);
    assert_int_equal(vtd_mem_add_hole(m, UINT64_MAX - 4095, 8192), VTD_EINVAL);
    assert_int_equal(vtd_mem_add_hole(m, 4096, UINT64_MAX), VTD_EINVAL);
    /* NULL buffers with a length are rejected, not dereferenced. */
    assert_int_equal(vtd_mem_read(m, 0, NULL, 8), -1);
    assert_int_equal(vtd_mem_write(m, 0, NULL, 8), -1);
    assert_true(vtd_mem_pages(m) == 0);
    vtd_mem_destroy(m);
}

static void test_holes(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(0);
    w64(m, 0x4FF8, 1);
    w64(m, 0x5000, 2);
    w64(m, 0x6000, 3);
    assert_true(vtd_mem_pages(m) == 3);

    assert_int_equal(vtd_mem_add_hole(m, 0, 0), VTD_EINVAL);
    assert_int_equal(vtd_mem_add_hole(m, VTD_MEM_MAX_SIZE, 1), VTD_EINVAL);
    assert_int_equal(vtd_mem_add_hole(m, VTD_MEM_MAX_SIZE - 4096, 4097), VTD_EINVAL);

    /* 16 bytes inside page 0x5000: the whole page goes, and its data with it. */
    assert_int_equal(vtd_mem_add_hole(m, 0x5100, 0x10), 0);
    assert_true(vtd_mem_pages(m) == 2);

    uint64_t v = 0x77;
    unsigned char b[16];
    assert_int_equal(vtd_mem_read(m, 0x5000, &v, 8), -1);
    assert_true(v == 0x77);
    assert_int_equal(vtd_mem_read(m, 0x5FFF, b, 1), -1);
    /* A straddling read fails even though part of it is backed. */
    memset(b, 0xEE, sizeof(b));
    assert_int_equal(vtd_mem_read(m, 0x4FF8, b, 16), -1);
    assert_int_equal(b[0], 0xEE);
    assert_int_equal(vtd_mem_read(m, 0x5FF8, b, 16), -1);
    /* Writes fail and write nothing, also in the backed part. */
    memset(b, 0x99, sizeof(b));
    assert_int_equal(vtd_mem_write(m, 0x4FF8, b, 16), -1);
    assert_true(r64(m, 0x4FF8) == 1);
    assert_int_equal(vtd_mem_write(m, 0x5FF8, b, 16), -1);
    assert_true(r64(m, 0x6000) == 3);
    assert_int_equal(vtd_mem_write(m, 0x5800, b, 8), -1);
    uint64_t e = 0;
    assert_int_equal(vtd_mem_cmpxchg64(m, 0x5008, &e, 5), -1);
    assert_true(vtd_mem_pages(m) == 2);
    /* Around the hole all is normal. */
    assert_true(r64(m, 0x4FF8) == 1);
    assert_true(r64(m, 0x6000) == 3);
    w64(m, 0x4000, 9);

    /* A hole spanning pages, over unwritten and written memory. */
    w64(m, 0x100000, 4);
    assert_int_equal(vtd_mem_add_hole(m, 0xFF800, 0x2000), 0); /* pages 0xFF..0x101 */
    assert_int_equal(vtd_mem_read(m, 0xFF000, &v, 8), -1);
    assert_int_equal(vtd_mem_read(m, 0x100000, &v, 8), -1);
    assert_int_equal(vtd_mem_read(m, 0x101FF8, &v, 8), -1);
    assert_true(r64(m, 0xFEFF8) == 0);
    assert_true(r64(m, 0x102000) == 0);

    /* A huge hole over mostly unallocated radix must be quick (no page walk). */
    w64(m, 0x10000000000ULL, 5);
    uint64_t before = vtd_mem_pages(m);
    assert_int_equal(vtd_mem_add_hole(m, 0x8000000000ULL, 0x80000000000ULL), 0);
    assert_true(vtd_mem_pages(m) == before - 1);
    assert_int_equal(vtd_mem_read(m, 0x10000000000ULL, &v, 8), -1);
    assert_true(r64(m, 0x4FF8) == 1);

    /* Many holes: the list grows. */
    for (uint64_t i = 0; i < 200; i++)
        assert_int_equal(vtd_mem_add_hole(m, 0x40000000ULL + i * 0x2000, 1), 0);
    for (uint64_t i = 0; i < 200; i++) {
        assert_int_equal(vtd_mem_read(m, 0x40000000ULL + i * 0x2000, &v, 8), -1);
        assert_true(r64(m, 0x40000000ULL + i * 0x2000 + 0x1000) == 0);
    }
    vtd_mem_destroy(m);
}

static void test_hole_at_end_of_small_memory(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(16 * KIB);
    uint64_t v = 0;
    assert_int_equal(vtd_mem_add_hole(m, 12 * KIB, 4 * KIB), 0);
    assert_int_equal(vtd_mem_read(m, 12 * KIB, &v, 8), -1);
    assert_int_equal(vtd_mem_read(m, 12 * KIB - 8, &v, 8), 0);
    assert_int_equal(vtd_mem_add_hole(m, 16 * KIB, 1), VTD_EINVAL);
    vtd_mem_destroy(m);
}

static void test_cmpxchg(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(1 * MIB);

    /* Unwritten memory is zero: a non-zero expectation fails without allocating. */
    uint64_t e = 5;
    assert_int_equal(vtd_mem_cmpxchg64(m, 0x2000, &e, 6), 1);
    assert_true(e == 0);
    assert_true(vtd_mem_pages(m) == 0);
    /* ... and a zero one succeeds, allocating. */
    e = 0;
    assert_int_equal(vtd_mem_cmpxchg64(m, 0x2000, &e, 6), 0);
    assert_true(r64(m, 0x2000) == 6);
    assert_true(vtd_mem_pages(m) == 1);

    e = 6;
    assert_int_equal(vtd_mem_cmpxchg64(m, 0x2000, &e, 0xFFFFFFFF00000001ULL), 0);
    assert_true(r64(m, 0x2000) == 0xFFFFFFFF00000001ULL);
    e = 6;
    assert_int_equal(vtd_mem_cmpxchg64(m, 0x2000, &e, 7), 1);
    assert_true(e == 0xFFFFFFFF00000001ULL);
    assert_true(r64(m, 0x2000) == 0xFFFFFFFF00000001ULL);
    /* Neighbouring qwords untouched. */
    assert_true(r64(m, 0x1FF8) == 0);
    assert_true(r64(m, 0x2008) == 0);

    /* Unaligned and unbacked: negative. */
    e = 0;
    assert_true(vtd_mem_cmpxchg64(m, 0x2004, &e, 1) < 0);
    assert_true(vtd_mem_cmpxchg64(m, 1 * MIB, &e, 1) < 0);
    assert_true(vtd_mem_cmpxchg64(m, 1 * MIB - 8, &e, 1) == 0);
    assert_int_equal(vtd_mem_add_hole(m, 0x3000, 8), 0);
    assert_true(vtd_mem_cmpxchg64(m, 0x3000, &e, 1) < 0);
    assert_true(vtd_mem_cmpxchg64(m, 0x2000, NULL, 1) < 0);
    vtd_mem_destroy(m);
}

static void dummy_msi(void *opaque, uint64_t addr, uint32_t data)
{
    (void)opaque;
    (void)addr;
    (void)data;
}

static void test_host_adapter(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(0);
    struct vtd_host h;
    memset(&h, 0, sizeof(h));
    h.msi = dummy_msi;
    vtd_mem_host(m, &h);
    assert_ptr_equal(h.opaque, m);
    assert_true(h.msi == dummy_msi); /* left as it was */
    assert_null(h.diag);
    assert_non_null(h.mem_read);
    assert_non_null(h.mem_write);
    assert_non_null(h.mem_cmpxchg64);

    uint64_t v = 0xABCD, w = 0;
    assert_int_equal(h.mem_write(h.opaque, 0x3000, &v, 8), 0);
    assert_int_equal(h.mem_read(h.opaque, 0x3000, &w, 8), 0);
    assert_true(w == 0xABCD);
    uint64_t e = 0xABCD;
    assert_int_equal(h.mem_cmpxchg64(h.opaque, 0x3000, &e, 1), 0);
    assert_true(r64(m, 0x3000) == 1);
    assert_int_not_equal(h.mem_read(h.opaque, VTD_MEM_MAX_SIZE, &w, 8), 0);
    vtd_mem_destroy(m);
}

/* ---- concurrency ---- */

/* Qwords whose 8 bytes are all equal: a torn read would show mixed bytes. */
static uint64_t splat(unsigned char c)
{
    return 0x0101010101010101ULL * c;
}

struct race {
    struct vtd_mem *m;
    uint64_t base;
    unsigned iters;
    int errors;        /* written only by the thread that owns it */
    uint64_t seen_new; /* reader: non-zero values seen (progress) */
};

static void *race_writer(void *arg)
{
    struct race *r = arg;
    for (unsigned it = 1; it <= r->iters; it++) {
        unsigned char c = (unsigned char)(it % 255 + 1);
        uint64_t v = splat(c);
        /* Spread over fresh pages and radix branches so page publication races
         * the reader's lookups; also rewrite a hot qword. */
        uint64_t pa = r->base + (uint64_t)(it % 64) * 0x1000 + (uint64_t)(it % 512) * 8;
        if (vtd_mem_write(r->m, pa, &v, 8) != 0)
            r->errors++;
        if (vtd_mem_write(r->m, r->base, &v, 8) != 0)
            r->errors++;
        /* An unaligned write straddling a page: byte-wise part included. */
        unsigned char b[12];
        memset(b, c, sizeof(b));
        if (vtd_mem_write(r->m, r->base + 0x10000 - 6, b, sizeof(b)) != 0)
            r->errors++;
        uint64_t e = splat((unsigned char)(c - 1 ? c - 1 : 255));
        (void)vtd_mem_cmpxchg64(r->m, r->base + 0x20000, &e, v);
    }
    return NULL;
}

static void *race_reader(void *arg)
{
    struct race *r = arg;
    for (unsigned it = 1; it <= r->iters; it++) {
        uint64_t v;
        uint64_t pa = r->base + (uint64_t)(it % 64) * 0x1000 + (uint64_t)((it * 7) % 512) * 8;
        if (vtd_mem_read(r->m, pa, &v, 8) != 0 || v != splat((unsigned char)v))
            r->errors++;
        if (vtd_mem_read(r->m, r->base, &v, 8) != 0 || v != splat((unsigned char)v))
            r->errors++;
        if (v)
            r->seen_new++;
        unsigned char b[12];
        if (vtd_mem_read(r->m, r->base + 0x10000 - 6, b, sizeof(b)) != 0)
            r->errors++;
        uint64_t e = 0;
        /* Fails (compare) or succeeds on a zero qword: either is fine, but
         * it must not report "not backed". */
        if (vtd_mem_cmpxchg64(r->m, r->base + 0x20000, &e, splat(1)) < 0)
            r->errors++;
        if (vtd_mem_read(r->m, r->base + 0x20000, &v, 8) != 0 || v != splat((unsigned char)v))
            r->errors++;
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(0);
    /* Two regions: one in a fresh radix branch (allocation races), one where
     * another hole is added while the threads run (hole-list swap races). */
    struct race w = { m, 0x3000000000ULL, 20000, 0, 0 };
    struct race rd = { m, 0x3000000000ULL, 20000, 0, 0 };
    pthread_t tw, tr;
    assert_int_equal(pthread_create(&tw, NULL, race_writer, &w), 0);
    assert_int_equal(pthread_create(&tr, NULL, race_reader, &rd), 0);
    for (uint64_t i = 0; i < 50; i++)
        assert_int_equal(vtd_mem_add_hole(m, 0x7000000000ULL + i * 0x10000, 1), 0);
    assert_int_equal(pthread_join(tw, NULL), 0);
    assert_int_equal(pthread_join(tr, NULL), 0);
    assert_int_equal(w.errors, 0);
    assert_int_equal(rd.errors, 0);
    assert_true(r64(m, 0x3000000000ULL) == splat((unsigned char)(20000 % 255 + 1)));
    vtd_mem_destroy(m);
}

/* Two writers creating the same pages at once: exactly one page each. */
struct pub {
    struct vtd_mem *m;
    uint64_t val;
};

static void *pub_writer(void *arg)
{
    struct pub *p = arg;
    for (uint64_t i = 0; i < 2048; i++) {
        uint64_t pa = 0x5000000000ULL + i * 0x1000 + (p->val & 1) * 8;
        (void)vtd_mem_write(p->m, pa, &p->val, 8);
    }
    return NULL;
}

static void test_concurrent_publish(void **state)
{
    (void)state;
    struct vtd_mem *m = mk(0);
    struct pub a = { m, 2 }, b = { m, 3 };
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, pub_writer, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, pub_writer, &b), 0);
    assert_int_equal(pthread_join(ta, NULL), 0);
    assert_int_equal(pthread_join(tb, NULL), 0);
    assert_true(vtd_mem_pages(m) == 2048);
    for (uint64_t i = 0; i < 2048; i++) {
        assert_true(r64(m, 0x5000000000ULL + i * 0x1000) == 2);
        assert_true(r64(m, 0x5000000000ULL + i * 0x1000 + 8) == 3);
    }
    vtd_mem_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_sizes),
        cmocka_unit_test(test_zero_reads),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_random_vs_reference),
        cmocka_unit_test(test_ptr_rw),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_holes),
        cmocka_unit_test(test_hole_at_end_of_small_memory),
        cmocka_unit_test(test_cmpxchg),
        cmocka_unit_test(test_host_adapter),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_concurrent_publish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
