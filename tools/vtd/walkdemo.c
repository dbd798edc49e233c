/* SPDX-License-Identifier: MIT */
/*
 * Built-in example tables for `vtd walk --demo-tables` (see walkdemo.h).
 *
 * legacy: root table at 0x100000, bus 0's context table at 0x101000.
 *   00:02.0  TT=00, AW=2 (48-bit, 4 levels), DID 1, SLPTPTR 0x200000:
 *            IOVA 0x12345000 -> 0x7654000 (4 KiB, R/W)
 *            IOVA 0x40000000 -> 0x80000000 (2 MiB superpage, read-only)
 *   00:03.0  TT=10 pass-through, DID 2
 *   00:04.0  context entry not present (fault 02h)
 */
#include <stdio.h>
#include <string.h>

#include <vtd/defs.h>
#include <vtd/regs.h>

#include "walkdemo.h"
#include "walkimage.h"

#define DEMO_RTA 0x100000ULL
#define DEMO_CTX 0x101000ULL
#define DEMO_SL_ROOT 0x200000ULL

struct builder {
    struct vtd_mem *mem;
    uint64_t next; /* bump allocator for tables */
    int err;
};

static void w64(struct builder *b, uint64_t pa, uint64_t v)
{
    if (!b->err && vtd_mem_write(b->mem, pa, &v, 8))
        b->err = VTD_ENOMEM;
}

static uint64_t r64(struct builder *b, uint64_t pa)
{
    uint64_t v = 0;
    if (!b->err && vtd_mem_read(b->mem, pa, &v, 8))
        b->err = VTD_EINVAL;
    return v;
}

/* Map one page of `page` bytes (4 KiB, 2 MiB) in a 4-level second-level table. */
static void sl_map(struct builder *b, uint64_t root, uint64_t iova, uint64_t pa, uint64_t page, uint64_t flags)
{
    int leaf = page == (2ULL << 20) ? 2 : 1;
    uint64_t table = root;
    for (int level = 4; level > leaf; level--) {
        uint64_t ea = table + ((iova >> (12 + 9 * (level - 1))) & 511) * 8;
        uint64_t e = r64(b, ea);
        if (!(e & (VTD_SL_R | VTD_SL_W))) {
            e = b->next | VTD_SL_R | VTD_SL_W;
            b->next += VTD_PAGE_SIZE;
            w64(b, ea, e);
        }
        table = e & VTD_SL_ADDR_MASK;
    }
    w64(b, table + ((iova >> (12 + 9 * (leaf - 1))) & 511) * 8, pa | flags | (leaf > 1 ? VTD_SL_PS : 0));
}

static void ctx(struct builder *b, uint8_t devfn, uint64_t lo, uint64_t hi)
{
    w64(b, DEMO_CTX + devfn * 16ULL, lo);
    w64(b, DEMO_CTX + devfn * 16ULL + 8, hi);
}

static void legacy_tables(struct builder *b)
{
    w64(b, DEMO_RTA, DEMO_CTX | VTD_ROOT_LO_P); /* bus 0 */
    ctx(b, 0x10, DEMO_SL_ROOT | (VTD_TT_UNTRANSLATED << VTD_CTX_LO_TT_SHIFT) | VTD_CTX_LO_P,
        VTD_AW_48 | (1ULL << VTD_CTX_HI_DID_SHIFT));
    ctx(b, 0x18, (VTD_TT_PASSTHROUGH << VTD_CTX_LO_TT_SHIFT) | VTD_CTX_LO_P,
        VTD_AW_48 | (2ULL << VTD_CTX_HI_DID_SHIFT));
    b->next = DEMO_SL_ROOT + VTD_PAGE_SIZE;
    sl_map(b, DEMO_SL_ROOT, 0x12345000ULL, 0x7654000ULL, VTD_PAGE_SIZE, VTD_SL_R | VTD_SL_W);
    sl_map(b, DEMO_SL_ROOT, 0x40000000ULL, 0x80000000ULL, 2ULL << 20, VTD_SL_R);
}

/* Latch the root table and turn translation on, as a driver does (GCMD
 * carries the persistent bits already set). */
static int enable(struct vtd *u, uint64_t rtaddr, char *err, size_t errlen)
{
    vtd_mmio_write(u, VTD_REG_RTADDR, rtaddr, 8);
    walkimg_gcmd(u, VTD_GCMD_SRTP);
    uint32_t sts = walkimg_gcmd(u, VTD_GCMD_TE);
    if (!(sts & VTD_GSTS_RTPS) || !(sts & VTD_GSTS_TES)) {
        snprintf(err, errlen, "the unit did not accept the root table (GSTS 0x%08x)", (unsigned)sts);
        return VTD_EINVAL;
    }
    return 0;
}

int walkdemo_create(int kind, struct vtd_mem **memp, struct vtd **up, char *err, size_t errlen)
{
    if (kind != WALKDEMO_LEGACY) {
        snprintf(err, errlen, "unknown demo layout %d", kind);
        return VTD_EINVAL;
    }
    struct builder b = {0};
    int r = vtd_mem_create(0, &b.mem);
    if (r) {
        snprintf(err, errlen, "cannot create memory: %s", vtd_strerror(r));
        return r;
    }
    legacy_tables(&b);
    if (b.err) {
        snprintf(err, errlen, "cannot write the demo tables: %s", vtd_strerror(b.err));
        vtd_mem_destroy(b.mem);
        return b.err;
    }
    struct vtd_host host;
    memset(&host, 0, sizeof host);
    vtd_mem_host(b.mem, &host);
    struct vtd *u;
    r = vtd_create(NULL, &host, &u);
    if (r) {
        snprintf(err, errlen, "cannot create the unit: %s", vtd_strerror(r));
        vtd_mem_destroy(b.mem);
        return r;
    }
    r = enable(u, DEMO_RTA, err, errlen);
    if (r) {
        walkdemo_destroy(b.mem, u);
        return r;
    }
    *memp = b.mem;
    *up = u;
    return 0;
}

void walkdemo_destroy(struct vtd_mem *mem, struct vtd *u)
{
    if (u)
        vtd_destroy(u);
    if (mem)
        vtd_mem_destroy(mem);
}

int walkdemo_kind(const char *name)
{
    if (!name || !*name || strcmp(name, "legacy") == 0)
        return WALKDEMO_LEGACY;
    return 0;
}

const char *walkdemo_help(void)
{
    return "  legacy   legacy mode, 4-level tables:\n"
           "           --sid 00:02.0 --addr 0x12345678            4 KiB page, R/W\n"
           "           --sid 00:02.0 --addr 0x40123456 [--write]  2 MiB superpage, read-only\n"
           "           --sid 00:02.0 --addr 0x99000000            not mapped (fault 06h)\n"
           "           --sid 00:03.0 --addr 0x1000                pass-through\n"
           "           --sid 00:04.0 --addr 0x1000                context not present (02h)\n";
}
