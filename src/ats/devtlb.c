/* SPDX-License-Identifier: MIT */
/* The endpoint side of ATS: a device's address translation cache. */
#include <stdlib.h>

#include <vtd/devtlb.h>

struct atc_entry {
    bool valid;
    uint64_t iova, pa, size; /* size-aligned */
    uint8_t perm;
};

struct vtd_devtlb {
    struct vtd *u;
    uint16_t sid;
    unsigned n, next;
    struct vtd_devtlb_stats st;
    struct atc_entry e[];
};

int vtd_devtlb_create(struct vtd *u, uint16_t sid, unsigned entries, struct vtd_devtlb **out)
{
    if (!out)
        return VTD_EINVAL;
    *out = NULL;
    if (!u || entries == 0 || entries > 4096)
        return VTD_EINVAL;
    struct vtd_devtlb *d = calloc(1, sizeof(*d) + entries * sizeof(d->e[0]));
    if (!d)
        return VTD_ENOMEM;
    d->u = u;
    d->sid = sid;
    d->n = entries;
    *out = d;
    return 0;
}

void vtd_devtlb_destroy(struct vtd_devtlb *d)
{
    free(d);
}

static struct atc_entry *find(const struct vtd_devtlb *d, uint64_t addr)
{
    for (unsigned i = 0; i < d->n; i++) {
        const struct atc_entry *e = &d->e[i];
        if (e->valid && addr - e->iova < e->size)
            return (struct atc_entry *)e;
    }
    return NULL;
}

static int send(struct vtd_devtlb *d, uint8_t at, uint64_t addr, uint8_t access, struct vtd_result *res)
{
    struct vtd_request req = {.sid = d->sid, .at = at, .access = access, .addr = addr};
    return vtd_translate(d->u, &req, res);
}

int vtd_devtlb_dma(struct vtd_devtlb *d, uint64_t addr, uint8_t access, struct vtd_result *res)
{
    if (!d || !res || !access || (access & ~(VTD_R | VTD_W)))
        return VTD_EINVAL;
    struct atc_entry *e = find(d, addr);
    if (e && (e->perm & access) == access) {
        d->st.hits++;
        d->st.translated_reqs++;
        return send(d, VTD_AT_TRANSLATED, e->pa + (addr - e->iova), access, res);
    }
    d->st.misses++;
    struct vtd_result c;
    d->st.translation_reqs++;
    int rc = send(d, VTD_AT_TRANSLATION_REQ, addr, access & VTD_W ? VTD_W : VTD_R, &c);
    if (rc)
        return rc;
    if (c.status == VTD_OK && !(c.ats & VTD_ATS_U) && (c.perm & access) == access && c.page_size) {
        if (!e) {
            e = &d->e[d->next];
            d->next = (d->next + 1) % d->n;
        }
        e->valid = true;
        e->size = c.page_size;
        e->iova = addr & ~(c.page_size - 1);
        e->pa = c.pa & ~(c.page_size - 1);
        e->perm = c.perm;
        d->st.translated_reqs++;
        return send(d, VTD_AT_TRANSLATED, e->pa + (addr - e->iova), access, res);
    }
    if (c.status != VTD_OK) {
        *res = c; /* the translation request itself failed (UR/CA) */
        return 0;
    }
    d->st.untranslated_reqs++;
    return send(d, VTD_AT_UNTRANSLATED, addr, access, res);
}

void vtd_devtlb_invalidate(struct vtd_devtlb *d, uint64_t addr, uint64_t size)
{
    if (!d)
        return;
    d->st.invalidations++;
    uint64_t last = size ? addr + size - 1 : ~0ULL;
    if (!size)
        addr = 0;
    for (unsigned i = 0; i < d->n; i++) {
        struct atc_entry *e = &d->e[i];
        if (e->valid && e->iova <= last && e->iova + e->size - 1 >= addr) {
            e->valid = false;
            d->st.entries_dropped++;
        }
    }
}

unsigned vtd_devtlb_count(const struct vtd_devtlb *d)
{
    unsigned c = 0;
    for (unsigned i = 0; d && i < d->n; i++)
        c += d->e[i].valid;
    return c;
}

bool vtd_devtlb_lookup(const struct vtd_devtlb *d, uint64_t addr, uint64_t *pa, uint8_t *perm)
{
    const struct atc_entry *e = d ? find(d, addr) : NULL;
    if (!e)
        return false;
    if (pa)
        *pa = e->pa + (addr - e->iova);
    if (perm)
        *perm = e->perm;
    return true;
}

void vtd_devtlb_get_stats(const struct vtd_devtlb *d, struct vtd_devtlb_stats *out)
{
    if (d && out)
        *out = d->st;
}
