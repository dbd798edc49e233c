/* SPDX-License-Identifier: MIT */
/* Fuzz the `vtd audit` walker (audit_run, audit_print, the debugfs leaves).
 * Any input must walk to a report (or a clean error), never crash or read
 * outside the image.  Two input forms:
 *
 * Recipe (starts with "VTDA"): the registers, then writes into a zeroed
 * image, so that the fuzzer builds linked tables a few bytes at a time
 * instead of having to hit page-aligned pointers in a raw image.  All
 * numbers little-endian; a record cut short at the end is ignored.
 *
 *   header (48 bytes)
 *     0  "VTDA"
 *     4  u8  flags: 1 JSON output (else text), 2 debugfs domain listings,
 *                   4 entry budget 64 (else 65536), 8 image at physical
 *                   0x40000000 (else 0), 16 VER given, 32 IRTA given,
 *                   64 IQA given
 *     5  u8  image size in pages, minus 1 (1..256 pages of 4 KiB)
 *     6  u8  HAW: 0 not given, else 20 + HAW % 45
 *     7  u8  VER
 *     8  u64 CAP       16 u64 ECAP       24 u32 GSTS     28 u32 (unused)
 *    32  u8  RTADDR page   33 u8 IRTA page   34 u8 IQA page   35 (unused)
 *    36  u16 RTADDR bits 11:0 (TTM 11:10)   38 u16 IRTA bits 11:0 (S, EIME)
 *    40  u16 IQA bits 11:0                  42..47 (unused)
 *     (a register's value: image base + page * 4096 | bits 11:0)
 *   then records, the low 2 bits of the first byte saying which:
 *     0 qword   [op][u24 qword index][u64 value]                   12 bytes
 *     1 pointer [op][u24 qword index][u8 page][u16 bits 11:0]       7 bytes
 *               value = base + page * 4096 | bits, | (op >> 2) << 58
 *               (so XD / high reserved bits can be set too)
 *     2 pair    [op][u24 qword index][u8 page][u16 bits][u64 hi]  15 bytes
 *               a pointer qword then the next qword (128-bit entries)
 *     3 fill    [op][u24 qword index][u16 count][u8 stride][u64 value]
 *               count (at most 4096) qwords every stride (0: 1) qwords, the
 *               value's address field advancing by (op >> 2) pages each
 *                                                                    15 bytes
 *   qword index: the byte address index * 8, modulo the image size.
 *
 * Anything else is the older form: the input is the image itself (base 0)
 * under fixed registers (legacy mode, translation and interrupt remapping
 * on, root table at 0, IRT at 0x1000, invalidation queue at 0x2000), its
 * last byte selecting legacy or scalable mode, EIME, the budget and the
 * output.  fuzz/audit_seeds.py writes recipe seeds (fuzz/corpus/audit/r-*).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 48

/* Building the image is the harness, not code under test: no coverage
 * tracing there (its compares would cost more than the walk). */
#if defined(__clang__) && __clang_major__ >= 13
#define NO_COV __attribute__((no_sanitize("coverage")))
#else
#define NO_COV
#endif

NO_COV static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void run(const struct audit_image *img, const struct audit_regs *r, uint64_t budget, bool json,
                bool leaves)
{
    struct audit_opts opts = {.max_entries = budget, .max_anomalies = 256};
    struct audit_report rep;
    char err[256];
    if (audit_run(img, r, &opts, &rep, err, sizeof err) == 0) {
        FILE *f = fopen("/dev/null", "w");
        if (f) {
            audit_print(f, json ? AUDIT_FMT_JSON : AUDIT_FMT_TEXT, img, r, &rep);
            if (leaves)
                for (size_t i = 0; i < rep.nspace; i++)
                    audit_print_domain_leaves(f, img, r, &rep.space[i]);
            fclose(f);
        }
    }
    audit_report_free(&rep);
}

NO_COV static void put64(uint8_t *img, uint64_t size, uint64_t idx, uint64_t v)
{
    uint64_t off = (idx * 8) % size;
    memcpy(img + off, &v, 8);
}

/* the records after the header, written into img */
NO_COV static void build(uint8_t *img, uint64_t size, uint64_t base, const uint8_t *d, size_t n)
{
    size_t i = HDR;
    while (i < n) {
        const uint8_t op = d[i];
        static const size_t len[4] = {12, 7, 15, 15};
        if (n - i < len[op & 3])
            break;
        const uint8_t *p = d + i + 1;
        uint64_t idx = le(p, 3);
        uint64_t ptr = base + (uint64_t)p[3] * 4096 + (le(p + 4, 2) & 0xFFF);
        switch (op & 3) {
        case 0:
            put64(img, size, idx, le(p + 3, 8));
            break;
        case 1:
            put64(img, size, idx, ptr | (uint64_t)(op >> 2) << 58);
            break;
        case 2:
            put64(img, size, idx, ptr);
            put64(img, size, idx + 1, le(p + 6, 8));
            break;
        case 3: {
            uint64_t count = le(p + 3, 2), stride = p[5] ? p[5] : 1, v = le(p + 6, 8);
            for (uint64_t k = 0; k < count && k < 4096 && k < size / 8; k++)
                put64(img, size, idx + k * stride, v + k * (uint64_t)(op >> 2) * 4096);
            break;
        }
        }
        i += len[op & 3];
    }
}

static void recipe(const uint8_t *d, size_t n)
{
    const uint8_t flags = d[4];
    const uint64_t size = ((uint64_t)d[5] + 1) * 4096;
    const uint64_t base = (flags & 8) ? 0x40000000ULL : 0;
    struct audit_regs r = {0};
    r.seen = AUDIT_REG_CAP | AUDIT_REG_ECAP | AUDIT_REG_GSTS | AUDIT_REG_RTADDR;
    if (d[6]) {
        r.haw = (uint8_t)(20 + d[6] % 45);
        r.seen |= AUDIT_REG_HAW;
    }
    r.ver = (flags & 16) ? d[7] : 0x10;
    r.seen |= (flags & 16) ? AUDIT_REG_VER : 0;
    r.cap = le(d + 8, 8);
    r.ecap = le(d + 16, 8);
    r.gsts = (uint32_t)le(d + 24, 4);
    r.rtaddr = base + (uint64_t)d[32] * 4096 + (le(d + 36, 2) & 0xFFF);
    if (flags & 32) {
        r.irta = base + (uint64_t)d[33] * 4096 + (le(d + 38, 2) & 0xFFF);
        r.seen |= AUDIT_REG_IRTA;
    }
    if (flags & 64) {
        r.iqa = base + (uint64_t)d[34] * 4096 + (le(d + 40, 2) & 0xFFF);
        r.seen |= AUDIT_REG_IQA;
    }
    uint8_t *img = calloc(1, (size_t)size);
    if (!img)
        return;
    build(img, size, base, d, n);
    struct audit_image im = {.data = img, .size = size, .base = base};
    run(&im, &r, (flags & 4) ? 64 : 1u << 16, flags & 1, flags & 2);
    free(img);
}

static void raw_image(const uint8_t *data, size_t size)
{
    const uint8_t sel = data[size - 1];
    struct audit_regs r = {0};
    r.ver = 0x10;
    /* CAP: SAGAW 3/4/5-level, MGAW 57, SLLPS 2M+1G, ND 16 bits, FL1GP, 5LP */
    r.cap = (0x7ull << 8) | (56ull << 16) | (0x3ull << 34) | 0x6ull | (1ull << 56) | (1ull << 60);
    /* ECAP: QI, IR, EIM, PT, NEST, SMTS, FLTS, SLTS, PASID, PSS 19 */
    r.ecap = 0x2ull | 0x8ull | 0x10ull | (1ull << 6) | (1ull << 26) | (1ull << 43) | (1ull << 47) |
             (1ull << 46) | (1ull << 40) | (19ull << 35);
    r.gsts = (1u << 31) | (1u << 30) | (1u << 25) | (1u << 24) | (1u << 26);
    r.rtaddr = (sel & 1) ? (1ull << 10) : 0; /* RTADDR.TTM: 01 = scalable */
    r.irta = 0x1000 | 0xF | ((uint64_t)(sel & 2) << 10); /* size 2^16, EIME */
    r.iqa = 0x2000;
    r.haw = 48;
    r.seen = AUDIT_REG_VER | AUDIT_REG_CAP | AUDIT_REG_ECAP | AUDIT_REG_GSTS | AUDIT_REG_RTADDR |
             AUDIT_REG_IRTA | AUDIT_REG_IQA | AUDIT_REG_HAW;
    struct audit_image img = {.data = data, .size = size, .base = 0};
    run(&img, &r, (sel & 4) ? 64 : 1u << 16, (sel >> 3) % 2, sel & 0x10);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= HDR && memcmp(data, "VTDA", 4) == 0)
        recipe(data, size);
    else if (size > 0)
        raw_image(data, size);
    return 0;
}
