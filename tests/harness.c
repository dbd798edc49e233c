/* SPDX-License-Identifier: MIT */
/*
 * Test harness (tests/harness.h): a unit on a sparse memory, programmed only
 * through vtd_mmio_read/vtd_mmio_write and memory, as a driver would, so the
 * tests exercise the same paths an OS does.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH_TABLE_BASE 0x100000ULL
#define TH_PAGE 4096ULL
#define TH_SL_ENTRIES 512

/* ---- host callbacks: memory forwards to t->mem; diag and MSI are logged ---- */

/* The harness needs its own opaque (t) for the logs, so it cannot hand the
 * unit vtd_mem_host()'s callbacks directly; these forward to them. */
static int th_host_read(void *opaque, uint64_t pa, void *buf, size_t len)
{
    struct th *t = opaque;
    return vtd_mem_read(t->mem, pa, buf, len);
}

static int th_host_write(void *opaque, uint64_t pa, const void *buf, size_t len)
{
    struct th *t = opaque;
    return vtd_mem_write(t->mem, pa, buf, len);
}

static int th_host_cmpxchg64(void *opaque, uint64_t pa, uint64_t *expected, uint64_t desired)
{
    struct th *t = opaque;
    return vtd_mem_cmpxchg64(t->mem, pa, expected, desired);
}

/* Direct pointers for page-table reads (the vtd_host.mem_ptr speed-up); with
 * holes present vtd_mem_ptr gives NULL and the unit falls back to mem_read,
 * so both paths are exercised. */
static const uint64_t *th_host_ptr(void *opaque, uint64_t pa)
{
    struct th *t = opaque;
    return vtd_mem_ptr(t->mem, pa);
}

static int th_host_devtlb(void *opaque, uint16_t sid, uint16_t pfsid, uint64_t addr, uint64_t size,
                           uint32_t pasid, bool pasid_valid, bool global)
{
    struct th *t = opaque;
    (void)pfsid;
    t->devtlb_pasid = pasid;
    t->devtlb_pasid_valid = pasid_valid;
    t->devtlb_global = global;
    t->ndevtlb++;
    return t->on_devtlb ? t->on_devtlb(t, sid, addr, size) : 0;
}

static void th_host_notice(void *opaque, const struct vtd_inval_notice *n)
{
    struct th *t = opaque;
    if (t->on_notice)
        t->on_notice(t, n);
}

/* Translations may run on several threads, so the slot is claimed with an
 * atomic increment; each slot is then written by one thread only. */
static void th_host_diag(void *opaque, const struct vtd_diag *d)
{
    struct th *t = opaque;
    int i = __atomic_fetch_add(&t->ndiag, 1, __ATOMIC_RELAXED);
    if (i >= TH_MAX_LOG)
        return;
    t->diag[i].code = d->code;
    t->diag[i].sid = d->sid;
    t->diag[i].addr = d->addr;
    snprintf(t->diag[i].msg, sizeof(t->diag[i].msg), "%s", d->msg ? d->msg : "");
}

static void th_host_msi(void *opaque, uint64_t addr, uint32_t data)
{
    struct th *t = opaque;
    int i = __atomic_fetch_add(&t->nmsi, 1, __ATOMIC_RELAXED);
    if (i >= TH_MAX_LOG)
        return;
    t->msi[i].addr = addr;
    t->msi[i].data = data;
}

/* ---- setup ---- */

void th_init(struct th *t, const struct vtd_config *cfg)
{
    memset(t, 0, sizeof(*t));
    int rc = vtd_mem_create(0, &t->mem);
    if (rc != 0)
        fail_msg("vtd_mem_create: %d", rc);
    if (cfg)
        t->cfg = *cfg;
    else
        vtd_config_default(&t->cfg);

    t->host.opaque = t;
    t->host.mem_read = th_host_read;
    t->host.mem_write = th_host_write;
    t->host.mem_cmpxchg64 = th_host_cmpxchg64;
    t->host.mem_ptr = th_host_ptr;
    t->host.inval_notify = th_host_notice;
    t->host.devtlb_inval = th_host_devtlb;
    t->host.msi = th_host_msi;
    t->host.diag = th_host_diag;
    rc = vtd_create(&t->cfg, &t->host, &t->u);
    if (rc != 0)
        fail_msg("vtd_create: %d (%s)", rc, vtd_strerror(rc));

    /* Read the register placement back as a driver must, rather than
     * trusting cfg: this also checks CAP/ECAP read as configured. */
    uint64_t cap = th_rd64(t, VTD_REG_CAP);
    uint64_t ecap = th_rd64(t, VTD_REG_ECAP);
    t->fro = VTD_FIELD_GET(cap, 33, 24) * 16;
    t->iro = VTD_FIELD_GET(ecap, 17, 8) * 16;

    t->next_page = TH_TABLE_BASE;
    t->rta = th_alloc_page(t);
}

void th_fini(struct th *t)
{
    vtd_destroy(t->u);
    t->u = NULL;
    vtd_mem_destroy(t->mem);
    t->mem = NULL;
}

/* ---- memory ---- */

struct th *th_new(void **state, const struct vtd_config *cfg)
{
    struct th *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    th_init(t, cfg);
    *state = t;
    return t;
}

int th_teardown(void **state)
{
    struct th *t = *state;
    if (t != NULL) {
        th_fini(t);
        free(t);
    }
    *state = NULL;
    return 0;
}

uint64_t th_alloc_page(struct th *t)
{
    uint64_t pa = t->next_page;
    if (pa + TH_PAGE > vtd_mem_size(t->mem))
        fail_msg("th_alloc_page: out of memory at 0x%llx", (unsigned long long)pa);
    t->next_page += TH_PAGE;
    /* The bump allocator never reuses a page, but a test may have written
     * there directly: zero it so "zeroed" holds regardless. */
    static const uint64_t zero[TH_PAGE / 8];
    int rc = vtd_mem_write(t->mem, pa, zero, sizeof(zero));
    if (rc != 0)
        fail_msg("th_alloc_page: write at 0x%llx: %d", (unsigned long long)pa, rc);
    return pa;
}

void th_w64(struct th *t, uint64_t pa, uint64_t v)
{
    int rc = vtd_mem_write(t->mem, pa, &v, sizeof(v));
    if (rc != 0)
        fail_msg("th_w64 at 0x%llx: %d", (unsigned long long)pa, rc);
}

uint64_t th_r64(struct th *t, uint64_t pa)
{
    uint64_t v = 0;
    int rc = vtd_mem_read(t->mem, pa, &v, sizeof(v));
    if (rc != 0)
        fail_msg("th_r64 at 0x%llx: %d", (unsigned long long)pa, rc);
    return v;
}

/* ---- MMIO ---- */

uint32_t th_rd32(struct th *t, uint64_t off)
{
    return (uint32_t)vtd_mmio_read(t->u, off, 4);
}

uint64_t th_rd64(struct th *t, uint64_t off)
{
    return vtd_mmio_read(t->u, off, 8);
}

void th_wr32(struct th *t, uint64_t off, uint32_t v)
{
    vtd_mmio_write(t->u, off, v, 4);
}

void th_wr64(struct th *t, uint64_t off, uint64_t v)
{
    vtd_mmio_write(t->u, off, v, 8);
}

/* GCMD is write-only and reads as 0, so software rebuilds the persistent
 * enables from GSTS and adds the one command it wants (spec 11.4.4). */
static uint32_t th_gcmd_base(struct th *t)
{
    return th_rd32(t, VTD_REG_GSTS) & (uint32_t)VTD_GCMD_PERSISTENT;
}

void th_set_root(struct th *t, unsigned ttm)
{
    th_wr64(t, VTD_REG_RTADDR, t->rta | ((uint64_t)ttm << VTD_RTADDR_TTM_SHIFT));
    th_wr32(t, VTD_REG_GCMD, th_gcmd_base(t) | (uint32_t)VTD_GCMD_SRTP);
    assert_true(th_rd32(t, VTD_REG_GSTS) & VTD_GSTS_RTPS);
}

void th_enable_te(struct th *t)
{
    th_wr32(t, VTD_REG_GCMD, th_gcmd_base(t) | (uint32_t)VTD_GCMD_TE);
    assert_true(th_rd32(t, VTD_REG_GSTS) & VTD_GSTS_TES);
}

void th_disable_te(struct th *t)
{
    th_wr32(t, VTD_REG_GCMD, th_gcmd_base(t) & ~(uint32_t)VTD_GCMD_TE);
    assert_false(th_rd32(t, VTD_REG_GSTS) & VTD_GSTS_TES);
}

void th_enable(struct th *t)
{
    th_set_root(t, 0);
    th_enable_te(t);
}

/* ---- root and context tables ---- */

void th_set_ctx(struct th *t, uint16_t sid, uint64_t lo, uint64_t hi)
{
    uint64_t root = t->rta + (uint64_t)(sid >> 8) * VTD_ROOT_SIZE;
    uint64_t rlo = th_r64(t, root);
    if (!(rlo & VTD_ROOT_LO_P)) {
        rlo = th_alloc_page(t) | VTD_ROOT_LO_P;
        th_w64(t, root, rlo);
    }
    uint64_t ce = (rlo & VTD_ROOT_LO_CTP_MASK) + (uint64_t)(sid & 0xFF) * VTD_CTX_SIZE;
    /* hi before lo: lo carries P, so a concurrent walker never pairs a new
     * P with an old hi. */
    th_w64(t, ce + 8, hi);
    th_w64(t, ce, lo);
}

uint64_t th_ctx_lo(uint64_t slptptr, unsigned tt, bool fpd)
{
    return slptptr | ((uint64_t)tt << VTD_CTX_LO_TT_SHIFT) | (fpd ? VTD_CTX_LO_FPD : 0) | VTD_CTX_LO_P;
}

uint64_t th_ctx_hi(unsigned aw, uint16_t did)
{
    return (uint64_t)aw | ((uint64_t)did << VTD_CTX_HI_DID_SHIFT);
}

uint64_t th_ctx_addr(struct th *t, uint16_t sid)
{
    uint64_t rlo = th_r64(t, t->rta + (uint64_t)(sid >> 8) * VTD_ROOT_SIZE);
    if (!(rlo & VTD_ROOT_LO_P))
        fail_msg("th_ctx_addr: root entry for bus %u not present", (unsigned)(sid >> 8));
    return (rlo & VTD_ROOT_LO_CTP_MASK) + (uint64_t)(sid & 0xFF) * VTD_CTX_SIZE;
}

/* ---- second-level page tables ---- */

static unsigned sl_index(uint64_t iova, int level)
{
    return (unsigned)(iova >> (VTD_PAGE_SHIFT + VTD_LEVEL_STRIDE * (level - 1))) & (TH_SL_ENTRIES - 1);
}

/* A second-level entry is present when it grants R or W. */
static bool sl_present(uint64_t e)
{
    return (e & (VTD_SL_R | VTD_SL_W)) != 0;
}

uint64_t th_map(struct th *t, uint64_t root, int levels, uint64_t iova, uint64_t pa,
                uint64_t size, uint64_t page, uint64_t flags)
{
    int leaf_level = page == (1ULL << 30) ? 3 : page == (2ULL << 20) ? 2 : 1;
    if (leaf_level == 1 && page != 4096ULL)
        fail_msg("th_map: page size 0x%llx is not 4K/2M/1G", (unsigned long long)page);
    if (levels < 3 || levels > 5)
        fail_msg("th_map: %d levels", levels);
    if (size == 0 || ((iova | pa | size) & (page - 1)))
        fail_msg("th_map: iova 0x%llx pa 0x%llx size 0x%llx not multiples of page 0x%llx",
                 (unsigned long long)iova, (unsigned long long)pa, (unsigned long long)size,
                 (unsigned long long)page);

    uint64_t leaf = 0;
    for (uint64_t off = 0; off < size; off += page) {
        uint64_t va = iova + off;
        uint64_t table = root;
        for (int level = levels; level > leaf_level; level--) {
            uint64_t ea = table + (uint64_t)sl_index(va, level) * 8;
            uint64_t e = th_r64(t, ea);
            if (!sl_present(e)) {
                e = th_alloc_page(t) | VTD_SL_R | VTD_SL_W;
                th_w64(t, ea, e);
            } else if (e & VTD_SL_PS) {
                fail_msg("th_map: iova 0x%llx already covered by a level-%d superpage",
                         (unsigned long long)va, level);
            }
            table = e & VTD_SL_ADDR_MASK;
        }
        leaf = table + (uint64_t)sl_index(va, leaf_level) * 8;
        th_w64(t, leaf, (pa + off) | flags | (leaf_level > 1 ? VTD_SL_PS : 0));
    }
    return leaf;
}

uint64_t th_pte_addr(struct th *t, uint64_t root, int levels, uint64_t iova, int level)
{
    if (level < 1 || level > levels)
        fail_msg("th_pte_addr: level %d of %d", level, levels);
    uint64_t table = root;
    for (int l = levels; l > level; l--) {
        uint64_t e = th_r64(t, table + (uint64_t)sl_index(iova, l) * 8);
        /* A superpage leaf above means there is no table at `level`. */
        if (!sl_present(e) || (e & VTD_SL_PS))
            return 0;
        table = e & VTD_SL_ADDR_MASK;
    }
    return table + (uint64_t)sl_index(iova, level) * 8;
}

/* ---- invalidation ---- */

void th_inval_all(struct th *t)
{
    th_wr64(t, VTD_REG_CCMD, VTD_CCMD_ICC | ((uint64_t)VTD_CC_GLOBAL << VTD_CCMD_CIRG_SHIFT));
    uint64_t ccmd = th_rd64(t, VTD_REG_CCMD);
    assert_false(ccmd & VTD_CCMD_ICC);
    /* CAIG 0 would mean the unit did not perform the invalidation. */
    assert_true(ccmd & VTD_CCMD_CAIG_MASK);

    uint64_t reg = t->iro + VTD_REG_IOTLB_OFF;
    th_wr64(t, reg, VTD_IOTLB_IVT | ((uint64_t)VTD_IOTLB_GLOBAL << VTD_IOTLB_IIRG_SHIFT));
    assert_false(th_rd64(t, reg) & VTD_IOTLB_IVT);
}

/* ---- DMA ---- */

struct vtd_result th_dma(struct th *t, uint16_t sid, uint64_t addr, uint8_t access)
{
    struct vtd_request req;
    memset(&req, 0, sizeof(req));
    req.sid = sid;
    req.at = VTD_AT_UNTRANSLATED;
    req.access = access;
    req.addr = addr;
    return th_req(t, &req);
}

struct vtd_result th_req(struct th *t, const struct vtd_request *req)
{
    struct vtd_result res;
    memset(&res, 0, sizeof(res));
    assert_int_equal(vtd_translate(t->u, req, &res), 0);
    return res;
}

/* ---- fault records ---- */

void th_frcd(struct th *t, unsigned i, uint64_t *lo, uint64_t *hi)
{
    uint64_t off = t->fro + (uint64_t)i * VTD_FRCD_SIZE;
    *lo = th_rd64(t, off);
    *hi = th_rd64(t, off + 8);
}

void th_frcd_clear(struct th *t, unsigned i)
{
    th_wr64(t, t->fro + (uint64_t)i * VTD_FRCD_SIZE + 8, VTD_FRCD_HI_F);
}

/* ---- logs ---- */

bool th_has_diag(struct th *t, int code)
{
    int n = __atomic_load_n(&t->ndiag, __ATOMIC_RELAXED);
    if (n > TH_MAX_LOG)
        n = TH_MAX_LOG;
    for (int i = 0; i < n; i++)
        if (t->diag[i].code == code)
            return true;
    return false;
}

void th_clear_logs(struct th *t)
{
    t->ndiag = 0;
    t->nmsi = 0;
    memset(t->diag, 0, sizeof(t->diag));
    memset(t->msi, 0, sizeof(t->msi));
}
