/* SPDX-License-Identifier: MIT */
/*
 * Driver utilities: the only places that call the platform callbacks for
 * registers, memory, allocation, cache flushes, locking and logging.
 */
#include "drv_internal.h"

void vdrv_memset(void *p, int c, size_t n)
{
    volatile unsigned char *b = p; /* volatile: keep the compiler from calling memset */
    while (n--)
        *b++ = (unsigned char)c;
}

void vdrv_memcpy(void *dst, const void *src, size_t n)
{
    volatile unsigned char *o = dst;
    const unsigned char *i = src;
    while (n--)
        *o++ = *i++;
}

void vdrv_log(struct vtd_drv *d, int level, const char *msg, uint64_t value)
{
    if (d->ops.log)
        d->ops.log(d->ops.opaque, level, msg, value);
}

uint32_t vdrv_rd32(struct vtd_drv *d, uint32_t off)
{
    return d->ops.read32(d->ops.opaque, off);
}

uint64_t vdrv_rd64(struct vtd_drv *d, uint32_t off)
{
    return d->ops.read64(d->ops.opaque, off);
}

void vdrv_wr32(struct vtd_drv *d, uint32_t off, uint32_t v)
{
    d->ops.write32(d->ops.opaque, off, v);
}

void vdrv_wr64(struct vtd_drv *d, uint32_t off, uint64_t v)
{
    d->ops.write64(d->ops.opaque, off, v);
}

int vdrv_mrd(struct vtd_drv *d, uint64_t pa, void *buf, size_t len)
{
    if (d->ops.mem_read(d->ops.opaque, pa, buf, len) != 0) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "physical memory read failed", pa);
        return VTD_DRV_EIO;
    }
    return 0;
}

int vdrv_mwr(struct vtd_drv *d, uint64_t pa, const void *buf, size_t len)
{
    if (d->ops.mem_write(d->ops.opaque, pa, buf, len) != 0) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "physical memory write failed", pa);
        return VTD_DRV_EIO;
    }
    return 0;
}

/* ops->mem_ptr's pointer to the qword at pa (8-byte aligned), or NULL */
static uint64_t *qword_ptr(struct vtd_drv *d, uint64_t pa)
{
    return d->ops.mem_ptr ? d->ops.mem_ptr(d->ops.opaque, pa) : NULL;
}

int vdrv_mrd64(struct vtd_drv *d, uint64_t pa, uint64_t *v)
{
    const uint64_t *p = qword_ptr(d, pa);
    if (p) {
        *v = __atomic_load_n(p, __ATOMIC_RELAXED);
        return 0;
    }
    int rc = vdrv_mrd(d, pa, v, 8);
    if (rc)
        *v = 0;
    return rc;
}

int vdrv_mwr64(struct vtd_drv *d, uint64_t pa, uint64_t v)
{
    uint64_t *p = qword_ptr(d, pa);
    if (p) {
        __atomic_store_n(p, v, __ATOMIC_RELAXED);
        return 0;
    }
    return vdrv_mwr(d, pa, &v, 8);
}

int vdrv_mwrq(struct vtd_drv *d, uint64_t pa, const uint64_t *q, unsigned n)
{
    uint64_t *p = (pa & (VDRV_PAGE - 1)) + n * 8ULL <= VDRV_PAGE ? qword_ptr(d, pa) : NULL;
    if (!p)
        return vdrv_mwr(d, pa, q, n * 8ULL);
    for (unsigned i = 0; i < n; i++)
        __atomic_store_n(&p[i], q[i], __ATOMIC_RELAXED);
    return 0;
}

int vdrv_mrd32(struct vtd_drv *d, uint64_t pa, uint32_t *v)
{
    /* memory is little-endian: the low half of the qword at pa & ~7 */
    const uint64_t *p = qword_ptr(d, pa & ~7ULL);
    if (p) {
        *v = (uint32_t)(__atomic_load_n(p, __ATOMIC_RELAXED) >> (8 * (pa & 4)));
        return 0;
    }
    return vdrv_mrd(d, pa, v, 4);
}

void vdrv_clflush(struct vtd_drv *d, uint64_t pa, size_t len)
{
    if (d->coherent || !d->ops.flush || len == 0)
        return;
    d->ops.flush(d->ops.opaque, pa, len);
    d->st.flushes++;
}

void *vdrv_zalloc(struct vtd_drv *d, size_t size)
{
    return d->ops.zalloc(d->ops.opaque, size);
}

void vdrv_free(struct vtd_drv *d, void *p, size_t size)
{
    if (p)
        d->ops.free(d->ops.opaque, p, size);
}

int vdrv_page_alloc(struct vtd_drv *d, unsigned order, uint64_t *pa, void **va)
{
    *va = NULL;
    *pa = 0;
    if (d->ops.page_alloc(d->ops.opaque, order, pa, va) != 0 || (*pa & (VDRV_PAGE - 1)) != 0) {
        vdrv_log(d, VTD_DRV_LOG_ERR, "page allocation failed", order);
        return VTD_DRV_ENOMEM;
    }
    return 0;
}

void vdrv_page_free(struct vtd_drv *d, unsigned order, uint64_t pa, void *va)
{
    d->ops.page_free(d->ops.opaque, order, pa, va);
}

/* ---- pa -> va map: open addressing, linear probing, tombstones avoided by
 *      backward-shift deletion ---- */

static uint32_t pmap_hash(uint64_t pa, uint32_t cap)
{
    uint64_t h = (pa >> 12) * 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(h >> 32) & (cap - 1);
}

static int pmap_grow(struct vtd_drv *d)
{
    uint32_t ncap = d->pmap_cap ? d->pmap_cap * 2 : 256;
    struct vdrv_pmap_ent *n = vdrv_zalloc(d, (size_t)ncap * sizeof(*n));
    if (!n)
        return VTD_DRV_ENOMEM;
    for (uint32_t i = 0; i < d->pmap_cap; i++) {
        if (!d->pmap[i].pa)
            continue;
        uint32_t j = pmap_hash(d->pmap[i].pa, ncap);
        while (n[j].pa)
            j = (j + 1) & (ncap - 1);
        n[j] = d->pmap[i];
    }
    vdrv_free(d, d->pmap, (size_t)d->pmap_cap * sizeof(*d->pmap));
    d->pmap = n;
    d->pmap_cap = ncap;
    return 0;
}

/* Page 0 is a valid physical page for a platform to hand out, so the key
 * stored is pa | 1 (pages are 4 KiB aligned, bit 0 is free). */
static int pmap_put(struct vtd_drv *d, uint64_t pa, void *va)
{
    if ((d->pmap_n + 1) * 2 > d->pmap_cap) {
        int rc = pmap_grow(d);
        if (rc)
            return rc;
    }
    uint64_t key = pa | 1;
    uint32_t j = pmap_hash(key, d->pmap_cap);
    while (d->pmap[j].pa)
        j = (j + 1) & (d->pmap_cap - 1);
    d->pmap[j].pa = key;
    d->pmap[j].va = va;
    d->pmap[j].npresent = 0;
    d->pmap_n++;
    return 0;
}

/* slot of pa, or pmap_cap when absent */
static uint32_t pmap_slot(struct vtd_drv *d, uint64_t pa)
{
    if (!d->pmap_cap)
        return 0;
    uint64_t key = pa | 1;
    uint32_t mask = d->pmap_cap - 1;
    uint32_t j = pmap_hash(key, d->pmap_cap);
    while (d->pmap[j].pa && d->pmap[j].pa != key)
        j = (j + 1) & mask;
    return d->pmap[j].pa ? j : d->pmap_cap;
}

uint32_t *vdrv_table_count(struct vtd_drv *d, uint64_t pa)
{
    uint32_t j = pmap_slot(d, pa);
    return j < d->pmap_cap ? &d->pmap[j].npresent : NULL;
}

static void *pmap_take(struct vtd_drv *d, uint64_t pa)
{
    uint32_t j = pmap_slot(d, pa);
    if (j >= d->pmap_cap)
        return NULL;
    uint32_t mask = d->pmap_cap - 1;
    void *va = d->pmap[j].va;
    d->pmap_n--;
    /* backward-shift deletion keeps probe chains intact */
    uint32_t hole = j;
    for (uint32_t k = (j + 1) & mask; d->pmap[k].pa; k = (k + 1) & mask) {
        uint32_t home = pmap_hash(d->pmap[k].pa, d->pmap_cap);
        /* can the entry at k move to hole?  only if home is not in (hole, k] */
        bool in = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
        if (!in) {
            d->pmap[hole] = d->pmap[k];
            hole = k;
        }
    }
    d->pmap[hole].pa = 0;
    d->pmap[hole].va = NULL;
    return va;
}

int vdrv_table_alloc(struct vtd_drv *d, uint64_t *pa)
{
    void *va;
    int rc = vdrv_page_alloc(d, 0, pa, &va);
    if (rc)
        return rc;
    if (pmap_put(d, *pa, va) != 0) {
        vdrv_page_free(d, 0, *pa, va);
        return VTD_DRV_ENOMEM;
    }
    d->st.tables_allocated++;
    return 0;
}

void vdrv_table_free(struct vtd_drv *d, uint64_t pa)
{
    void *va = pmap_take(d, pa);
    vdrv_page_free(d, 0, pa, va);
    d->st.tables_freed++;
}

void vdrv_relax(struct vtd_drv *d)
{
    if (d->ops.relax)
        d->ops.relax(d->ops.opaque);
}

void vdrv_lock(struct vtd_drv *d)
{
    if (d->ops.lock)
        d->ops.lock(d->ops.opaque);
}

void vdrv_unlock(struct vtd_drv *d)
{
    if (d->ops.unlock)
        d->ops.unlock(d->ops.opaque);
}

unsigned vdrv_ilog2(uint64_t v)
{
    unsigned n = 0;
    while (v >>= 1)
        n++;
    return n;
}

const char *vtd_drv_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case VTD_DRV_EINVAL: return "invalid argument";
    case VTD_DRV_ENOMEM: return "out of memory";
    case VTD_DRV_ENOTSUP: return "not supported by the unit";
    case VTD_DRV_EBUSY: return "busy";
    case VTD_DRV_EEXIST: return "already mapped or attached";
    case VTD_DRV_ENOENT: return "not found";
    case VTD_DRV_ENOSPC: return "no free identifier";
    case VTD_DRV_ETIMEDOUT: return "timed out";
    case VTD_DRV_EIO: return "error reported by the unit or platform";
    default: return "unknown error";
    }
}
