/* SPDX-License-Identifier: MIT */
/*
 * The simulated machine of machine.h: memory + unit + driver + assignment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"

#define PAGE 4096ULL

/* ---- The unit's side: memory, interrupts, diagnostics ---- */

static int u_read(void *o, uint64_t pa, void *buf, size_t len)
{
    return vtd_mem_read(((struct mach *)o)->mem, pa, buf, len);
}

static int u_write(void *o, uint64_t pa, const void *buf, size_t len)
{
    return vtd_mem_write(((struct mach *)o)->mem, pa, buf, len);
}

static int u_cmpxchg(void *o, uint64_t pa, uint64_t *expected, uint64_t desired)
{
    return vtd_mem_cmpxchg64(((struct mach *)o)->mem, pa, expected, desired);
}

static void u_msi(void *o, uint64_t addr, uint32_t data)
{
    struct mach *m = o;
    if (m->nmsi < MACH_LOG) {
        m->msi[m->nmsi].addr = addr;
        m->msi[m->nmsi].data = data;
    }
    m->nmsi++;
}

static void u_diag(void *o, const struct vtd_diag *d)
{
    struct mach *m = o;
    if (m->ndiag < MACH_LOG) {
        m->diag[m->ndiag].code = d->code;
        snprintf(m->diag[m->ndiag].msg, sizeof m->diag[0].msg, "%s", d->msg ? d->msg : "");
    }
    m->ndiag++;
}

/* ---- The driver's side: registers through MMIO, memory, pages ---- */

static uint32_t d_read32(void *o, uint32_t off)
{
    return (uint32_t)vtd_mmio_read(((struct mach *)o)->u, off, 4);
}

static uint64_t d_read64(void *o, uint32_t off)
{
    return vtd_mmio_read(((struct mach *)o)->u, off, 8);
}

static void d_write32(void *o, uint32_t off, uint32_t v)
{
    vtd_mmio_write(((struct mach *)o)->u, off, v, 4);
}

static void d_write64(void *o, uint32_t off, uint64_t v)
{
    vtd_mmio_write(((struct mach *)o)->u, off, v, 8);
}

static int zero_pages(struct mach *m, uint64_t pa, uint64_t n)
{
    static const uint8_t zero[PAGE];
    for (uint64_t i = 0; i < n; i++)
        if (vtd_mem_write(m->mem, pa + i * PAGE, zero, sizeof zero))
            return -1;
    return 0;
}

static int d_page_alloc(void *o, unsigned order, uint64_t *pa, void **va)
{
    struct mach *m = o;
    if (va)
        *va = NULL;
    for (unsigned i = 0; i < m->ntbl_free; i++)
        if (m->tbl_free[i].order == order) {
            *pa = m->tbl_free[i].pa;
            m->tbl_free[i] = m->tbl_free[--m->ntbl_free];
            return zero_pages(m, *pa, 1ULL << order);
        }
    uint64_t size = PAGE << order;
    uint64_t at = (m->tbl_next + size - 1) & ~(size - 1);
    if (order > 10 || at + size > MACH_TABLES_BASE + MACH_TABLES_SIZE)
        return -1;
    m->tbl_next = at + size;
    *pa = at; /* never written yet: reads as zero */
    return 0;
}

static void d_page_free(void *o, unsigned order, uint64_t pa, void *va)
{
    struct mach *m = o;
    (void)va;
    if (m->ntbl_free < sizeof m->tbl_free / sizeof m->tbl_free[0]) {
        m->tbl_free[m->ntbl_free].pa = pa;
        m->tbl_free[m->ntbl_free].order = order;
        m->ntbl_free++;
    }
}

static void *d_zalloc(void *o, size_t size)
{
    (void)o;
    return calloc(1, size ? size : 1);
}

static void d_free(void *o, void *p, size_t size)
{
    (void)o, (void)size;
    free(p);
}

static void d_fault(void *o, const struct vtd_drv_fault *f)
{
    struct mach *m = o;
    if (m->nfault < MACH_LOG)
        m->fault[m->nfault] = *f;
    m->nfault++;
}

static void d_log(void *o, int level, const char *msg, uint64_t value)
{
    struct mach *m = o;
    if (level > VTD_DRV_LOG_WARN)
        return;
    m->nlog++;
    snprintf(m->last_log, sizeof m->last_log, "%s (0x%llx)", msg, (unsigned long long)value);
}

/* ---- The VMM's side: host pages for guests ---- */

static int p_alloc(void *o, uint64_t *hpa)
{
    struct mach *m = o;
    if (!m->npool)
        return -1;
    *hpa = MACH_POOL_BASE + (uint64_t)m->pool[--m->npool] * PAGE;
    return 0;
}

static void p_free(void *o, uint64_t hpa)
{
    struct mach *m = o;
    if (m->npool < MACH_POOL_PAGES)
        m->pool[m->npool++] = (uint32_t)((hpa - MACH_POOL_BASE) / PAGE);
}

/* A fixed scramble of the pool (xorshift), so runs are reproducible and a
 * VM's consecutive guest pages land on scattered host pages. */
static void scramble(uint32_t *p, uint32_t n)
{
    uint32_t x = 0x9E3779B9u;
    for (uint32_t i = 0; i < n; i++)
        p[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        uint32_t j = x % (i + 1), t = p[i];
        p[i] = p[j], p[j] = t;
    }
}

int mach_create(struct mach **out, const struct vtd_config *cfg, unsigned drv_flags,
                const struct vtd_assign_topology *topo, char *err, size_t errlen)
{
    *out = NULL;
    struct mach *m = calloc(1, sizeof *m);
    if (!m || !(m->pool = malloc(MACH_POOL_PAGES * sizeof *m->pool))) {
        free(m);
        snprintf(err, errlen, "out of memory");
        return VTD_ENOMEM;
    }
    scramble(m->pool, MACH_POOL_PAGES);
    m->npool = MACH_POOL_PAGES;
    m->tbl_next = MACH_TABLES_BASE;
    if (cfg)
        m->cfg = *cfg;
    else
        vtd_config_default(&m->cfg);

    int r = vtd_mem_create(0, &m->mem);
    if (r) {
        snprintf(err, errlen, "memory: %s", vtd_strerror(r));
        goto fail;
    }
    struct vtd_host host = {.opaque = m, .mem_read = u_read, .mem_write = u_write, .mem_cmpxchg64 = u_cmpxchg,
                            .msi = u_msi, .diag = u_diag};
    r = vtd_create(&m->cfg, &host, &m->u);
    if (r) {
        snprintf(err, errlen, "the unit: %s", vtd_strerror(r));
        goto fail;
    }
    struct vtd_drv_ops ops = {.opaque = m, .read32 = d_read32, .read64 = d_read64, .write32 = d_write32,
                              .write64 = d_write64, .mem_read = u_read, .mem_write = u_write,
                              .page_alloc = d_page_alloc, .page_free = d_page_free, .zalloc = d_zalloc,
                              .free = d_free, .fault = d_fault, .log = d_log};
    struct vtd_drv_config dcfg;
    vtd_drv_config_default(&dcfg);
    dcfg.flags |= drv_flags;
    dcfg.fault_msi_addr = MACH_FE_ADDR;
    dcfg.fault_msi_data = MACH_FE_DATA;
    r = vtd_drv_create(&ops, &dcfg, &m->drv);
    if (r == 0 && (r = vtd_drv_enable(m->drv)) != 0) {
        snprintf(err, errlen, "the driver: enabling the unit: %s", vtd_drv_strerror(r));
        goto fail;
    }
    if (r) {
        snprintf(err, errlen, "the driver: %s", vtd_drv_strerror(r));
        goto fail;
    }
    struct vtd_assign_platform plat = {.opaque = m, .alloc_page = p_alloc, .free_page = p_free,
                                       .mem_read = u_read, .mem_write = u_write, .mem_cmpxchg64 = u_cmpxchg};
    char aerr[256];
    r = vtd_assign_create(m->drv, &plat, topo, &m->as, aerr, sizeof aerr);
    if (r) {
        snprintf(err, errlen, "the assignment layer: %s", aerr);
        goto fail;
    }
    *out = m;
    return 0;
fail:
    mach_destroy(m);
    return r ? r : VTD_EINVAL;
}

void mach_destroy(struct mach *m)
{
    if (!m)
        return;
    vtd_assign_destroy(m->as);
    vtd_drv_destroy(m->drv);
    vtd_destroy(m->u);
    vtd_mem_destroy(m->mem);
    free(m->pool);
    free(m);
}

int mach_dma_req(struct mach *m, const struct vtd_request *req, void *buf, size_t len, struct vtd_result *res)
{
    if ((req->addr & (PAGE - 1)) + len > PAGE)
        return VTD_EINVAL;
    int r = vtd_translate(m->u, req, res);
    if (r || res->status != VTD_OK || !len)
        return r;
    if (req->access & VTD_W)
        return vtd_mem_write(m->mem, res->pa, buf, len) ? VTD_EINVAL : 0;
    return vtd_mem_read(m->mem, res->pa, buf, len) ? VTD_EINVAL : 0;
}

int mach_dma(struct mach *m, uint16_t sid, uint64_t addr, uint8_t access, void *buf, size_t len,
             struct vtd_result *res)
{
    struct vtd_request req = {.sid = sid, .at = VTD_AT_UNTRANSLATED, .access = access, .addr = addr};
    return mach_dma_req(m, &req, buf, len, res);
}

int mach_dma_pasid(struct mach *m, uint16_t sid, uint32_t pasid, uint64_t addr, uint8_t access, void *buf,
                   size_t len, struct vtd_result *res)
{
    struct vtd_request req = {.sid = sid, .at = VTD_AT_UNTRANSLATED, .access = access, .pasid_valid = true,
                              .pasid = pasid, .addr = addr};
    return mach_dma_req(m, &req, buf, len, res);
}

int mach_poll_faults(struct mach *m)
{
    int before = m->nfault;
    int r = vtd_drv_fault_poll(m->drv);
    return r < 0 ? r : m->nfault - before;
}

/* ---- The guest's first-level tables ---- */

int mach_gfl_init(struct mach_gfl *g, struct vtd_vm *vm, uint64_t first, uint64_t end)
{
    *g = (struct mach_gfl){.vm = vm, .cr3 = first, .next = first + PAGE, .end = end, .levels = 4};
    uint64_t hpa;
    return first >= end ? VTD_ENOMEM : vtd_vm_gpa_to_hpa(vm, first, &hpa);
}

int mach_gfl_entry(struct mach_gfl *g, uint64_t va, int level, uint64_t *gpa)
{
    uint64_t table = g->cr3;
    for (int l = g->levels == 5 ? 5 : 4;; l--) {
        uint64_t at = table + ((va >> (12 + 9 * (l - 1))) & 511) * 8, e;
        if (l <= level) {
            *gpa = at;
            return 0;
        }
        int r = vtd_vm_read(g->vm, at, &e, 8);
        if (r)
            return r;
        if (!(e & VTD_FL_P)) {
            if (g->next >= g->end)
                return VTD_ENOMEM;
            e = g->next | MACH_GFL_TABLE; /* guest memory starts zeroed */
            g->next += PAGE;
            if ((r = vtd_vm_write(g->vm, at, &e, 8)))
                return r;
        }
        table = e & VTD_FL_ADDR_MASK;
    }
}

int mach_gfl_set(struct mach_gfl *g, uint64_t va, int level, uint64_t val)
{
    uint64_t at;
    int r = mach_gfl_entry(g, va, level, &at);
    return r ? r : vtd_vm_write(g->vm, at, &val, 8);
}

int mach_gfl_get(struct mach_gfl *g, uint64_t va, int level, uint64_t *val)
{
    uint64_t at;
    int r = mach_gfl_entry(g, va, level, &at);
    return r ? r : vtd_vm_read(g->vm, at, val, 8);
}

void mach_guest_piotlb(uint64_t desc[2], uint16_t guest_did, uint32_t pasid, bool page, uint64_t addr, unsigned am,
                       bool ih)
{
    const uint64_t g = page ? VTD_DESC_PIOTLB_G_PAGE : VTD_DESC_PIOTLB_G_PASID;
    desc[0] = VTD_DESC_PIOTLB | g << VTD_DESC_G_SHIFT | (uint64_t)guest_did << VTD_DESC_DID_SHIFT |
              (uint64_t)pasid << VTD_DESC_PASID_SHIFT;
    desc[1] = page ? addr | am | (ih ? VTD_DESC_IOTLB_IH : 0) : 0;
}
