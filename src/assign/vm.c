/* SPDX-License-Identifier: MIT */
/*
 * VMs: guest memory made of host pages, the VM's domain (its "container"),
 * and assigning devices to it (docs/assign.md).  Everything done to the
 * unit goes through the driver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/regs.h>

#include "internal.h"

#define GPA_LIMIT (1ULL << 52)
#define PROT_RW (VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE)

int as_drv_fail(struct vtd_assign *a, int r, const char *what)
{
    return as_fail(a, r == VTD_DRV_ENOMEM ? VTD_ENOMEM : VTD_AS_EDRV, "%s: the driver said: %s", what,
                   vtd_drv_strerror(r));
}

/* ---- The layer ---- */

int vtd_assign_create(struct vtd_drv *drv, const struct vtd_assign_platform *p, const struct vtd_assign_topology *t,
                      struct vtd_assign **out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!out)
        return VTD_EINVAL;
    *out = NULL;
    if (!drv || !p || !t || !p->alloc_page || !p->free_page || !p->mem_read || !p->mem_write) {
        if (err && errlen)
            snprintf(err, errlen, "a driver, a topology and the platform's alloc_page, free_page, mem_read and "
                                  "mem_write are required");
        return VTD_EINVAL;
    }
    struct vtd_assign *a = calloc(1, sizeof *a);
    if (!a)
        return VTD_ENOMEM;
    a->drv = drv;
    a->plat = *p;
    a->next_vm_id = 1;
    int r = vtd_drv_info(drv, &a->info);
    if (r)
        r = as_drv_fail(a, r, "reading the driver's info");
    else
        r = as_topology(a, t);
    if (r) {
        if (err && errlen)
            snprintf(err, errlen, "%s", a->err);
        vtd_assign_destroy(a);
        return r;
    }
    *out = a;
    return 0;
}

void vtd_assign_destroy(struct vtd_assign *a)
{
    if (!a)
        return;
    while (a->vms)
        vtd_vm_destroy(a->vms);
    free(a->devs);
    free(a->bridges);
    free(a->resv);
    free(a);
}

const char *vtd_assign_error(const struct vtd_assign *a)
{
    return a ? a->err : "";
}

struct vtd_vm *vtd_assign_owner(const struct vtd_assign *a, uint16_t rid)
{
    for (unsigned i = 0; i < a->ndevs; i++)
        for (unsigned j = 0; j < a->devs[i].nrids; j++)
            if (a->devs[i].rids[j] == rid && a->devs[i].vm)
                return a->devs[i].vm;
    return NULL;
}

/* ---- VMs ---- */

int vtd_vm_create(struct vtd_assign *a, struct vtd_vm **out)
{
    if (!a || !out)
        return VTD_EINVAL;
    struct vtd_vm *vm = calloc(1, sizeof *vm);
    if (vm)
        vm->rids = calloc(a->ndevs * AS_MAX_RIDS + 1, sizeof *vm->rids);
    if (!vm || !vm->rids) {
        free(vm);
        return as_fail(a, VTD_ENOMEM, "out of memory for a VM");
    }
    vm->a = a;
    vm->id = a->next_vm_id++;
    vm->next = a->vms;
    a->vms = vm;
    *out = vm;
    return 0;
}

unsigned vtd_vm_id(const struct vtd_vm *vm)
{
    return vm->id;
}

static void free_range(struct vtd_assign *a, struct as_range *r)
{
    for (uint64_t i = 0; i < r->size / AS_PAGE; i++)
        a->plat.free_page(a->plat.opaque, r->hpa[i]);
    free(r->hpa);
    free(r);
}

void vtd_vm_destroy(struct vtd_vm *vm)
{
    if (!vm)
        return;
    struct vtd_assign *a = vm->a;
    /* unassign every device, whole groups at a time */
    for (unsigned i = 0; i < a->ndevs; i++) {
        if (a->devs[i].vm != vm)
            continue;
        uint16_t *m = calloc(a->ndevs, sizeof *m);
        int n = m ? vtd_assign_group_members(a, a->devs[i].group, m, a->ndevs) : 0;
        if (n > 0)
            vtd_vm_unassign(vm, m, (unsigned)n);
        free(m);
        a->devs[i].vm = NULL; /* even when the driver refused */
    }
    as_irq_release_all(vm);
    while (vm->ranges) {
        struct as_range *r = vm->ranges;
        vm->ranges = r->next;
        free_range(a, r);
    }
    for (struct vtd_vm **p = &a->vms; *p; p = &(*p)->next)
        if (*p == vm) {
            *p = vm->next;
            break;
        }
    free(vm->irqs);
    free(vm->nests);
    free(vm->rids);
    free(vm);
}

/* ---- Guest memory ---- */

static struct as_range *range_of(const struct vtd_vm *vm, uint64_t gpa)
{
    for (struct as_range *r = vm->ranges; r; r = r->next)
        if (gpa >= r->gpa && gpa - r->gpa < r->size)
            return r;
    return NULL;
}

/* Map pages [first, first + n) of r through the driver, one call per run of
 * contiguous host pages. */
static int map_pages(struct vtd_vm *vm, const struct as_range *r, uint64_t first, uint64_t n)
{
    uint64_t i = first, end = first + n;
    while (i < end) {
        uint64_t j = i + 1;
        while (j < end && r->hpa[j] == r->hpa[j - 1] + AS_PAGE)
            j++;
        uint64_t gpa = r->gpa + i * AS_PAGE;
        int rc = vtd_drv_map(vm->dom, gpa, r->hpa[i], (j - i) * AS_PAGE, PROT_RW);
        if (rc) {
            char what[128];
            snprintf(what, sizeof what, "VM %u: mapping GPA [0x%llx, 0x%llx) -> HPA 0x%llx", vm->id,
                     (unsigned long long)gpa, (unsigned long long)(r->gpa + j * AS_PAGE),
                     (unsigned long long)r->hpa[i]);
            if (i > first)
                vtd_drv_unmap(vm->dom, r->gpa + first * AS_PAGE, (i - first) * AS_PAGE, NULL);
            return as_drv_fail(vm->a, rc, what);
        }
        i = j;
    }
    return 0;
}

static int unmap_gpa(struct vtd_vm *vm, uint64_t gpa, uint64_t size)
{
    int rc = vtd_drv_unmap(vm->dom, gpa, size, NULL);
    if (rc) {
        char what[96];
        snprintf(what, sizeof what, "VM %u: unmapping GPA [0x%llx, 0x%llx)", vm->id, (unsigned long long)gpa,
                 (unsigned long long)(gpa + size));
        return as_drv_fail(vm->a, rc, what);
    }
    return 0;
}

static int map_all(struct vtd_vm *vm)
{
    for (struct as_range *r = vm->ranges; r; r = r->next) {
        int rc = map_pages(vm, r, 0, r->size / AS_PAGE);
        if (rc) {
            for (struct as_range *q = vm->ranges; q != r; q = q->next)
                vtd_drv_unmap(vm->dom, q->gpa, q->size, NULL);
            return rc;
        }
    }
    return 0;
}

static int check_span(struct vtd_assign *a, uint64_t gpa, uint64_t size, const char *what)
{
    if (size == 0 || (gpa | size) & (AS_PAGE - 1) || gpa >= GPA_LIMIT || size > GPA_LIMIT - gpa)
        return as_fail(a, VTD_EINVAL,
                       "%s: GPA range [0x%llx, +0x%llx) must be non-empty, 4 KiB aligned and below 2^52", what,
                       (unsigned long long)gpa, (unsigned long long)size);
    return 0;
}

int vtd_vm_add_memory(struct vtd_vm *vm, uint64_t gpa, uint64_t size)
{
    if (!vm)
        return VTD_EINVAL;
    struct vtd_assign *a = vm->a;
    int rc = check_span(a, gpa, size, "add memory");
    if (rc)
        return rc;
    struct vtd_assign_range hit;
    if (vtd_assign_reserved(a, gpa, size, &hit))
        return as_fail(a, VTD_AS_ERESERVED,
                       "VM %u: GPA range [0x%llx, 0x%llx) overlaps the reserved region [0x%llx, 0x%llx) (%s), "
                       "which is never mapped",
                       vm->id, (unsigned long long)gpa, (unsigned long long)(gpa + size),
                       (unsigned long long)hit.base, (unsigned long long)(hit.base + hit.size),
                       hit.base == VTD_AS_INTR_BASE && hit.size == VTD_AS_INTR_SIZE ? "interrupt range" : "RMRR");
    for (struct as_range *r = vm->ranges; r; r = r->next)
        if (gpa < r->gpa + r->size && r->gpa < gpa + size)
            return as_fail(a, VTD_AS_EBUSY, "VM %u: GPA range [0x%llx, 0x%llx) overlaps its memory at [0x%llx, 0x%llx)",
                           vm->id, (unsigned long long)gpa, (unsigned long long)(gpa + size),
                           (unsigned long long)r->gpa, (unsigned long long)(r->gpa + r->size));

    uint64_t n = size / AS_PAGE;
    struct as_range *r = calloc(1, sizeof *r);
    if (r)
        r->hpa = calloc(n, sizeof *r->hpa);
    if (!r || !r->hpa) {
        free(r);
        return as_fail(a, VTD_ENOMEM, "VM %u: out of memory for %llu page entries", vm->id, (unsigned long long)n);
    }
    r->gpa = gpa;
    static const uint8_t zero[AS_PAGE];
    for (uint64_t i = 0; i < n; i++) {
        /* a fresh page may hold another tenant's data: clear it */
        if (a->plat.alloc_page(a->plat.opaque, &r->hpa[i]) ||
            (a->plat.mem_write(a->plat.opaque, r->hpa[i], zero, sizeof zero) &&
             (a->plat.free_page(a->plat.opaque, r->hpa[i]), true))) {
            r->size = i * AS_PAGE;
            free_range(a, r);
            return as_fail(a, VTD_ENOMEM, "VM %u: no host page for GPA 0x%llx", vm->id,
                           (unsigned long long)(gpa + i * AS_PAGE));
        }
    }
    r->size = size;
    if (vm->dom) {
        rc = map_pages(vm, r, 0, n);
        if (rc) {
            free_range(a, r);
            return rc;
        }
    }
    r->next = vm->ranges;
    vm->ranges = r;
    return 0;
}

int vtd_vm_remove_memory(struct vtd_vm *vm, uint64_t gpa, uint64_t size)
{
    if (!vm)
        return VTD_EINVAL;
    struct vtd_assign *a = vm->a;
    int rc = check_span(a, gpa, size, "remove memory");
    if (rc)
        return rc;
    struct as_range *r = range_of(vm, gpa);
    if (!r || gpa + size > r->gpa + r->size)
        return as_fail(a, VTD_AS_ENODEV, "VM %u: GPA range [0x%llx, 0x%llx) is not one backed range of its memory",
                       vm->id, (unsigned long long)gpa, (unsigned long long)(gpa + size));
    uint64_t first = (gpa - r->gpa) / AS_PAGE, n = size / AS_PAGE, total = r->size / AS_PAGE;
    /* the pieces that stay, before and after */
    struct as_range *lo = NULL, *hi = NULL;
    if (first) {
        lo = calloc(1, sizeof *lo);
        if (!lo || !(lo->hpa = calloc(first, sizeof *lo->hpa)))
            goto nomem;
    }
    if (first + n < total) {
        hi = calloc(1, sizeof *hi);
        if (!hi || !(hi->hpa = calloc(total - first - n, sizeof *hi->hpa)))
            goto nomem;
    }
    /* unmap and invalidate before the pages go back to the host */
    if (vm->dom && (rc = unmap_gpa(vm, gpa, size))) {
        if (lo)
            free(lo->hpa);
        if (hi)
            free(hi->hpa);
        free(lo);
        free(hi);
        return rc;
    }
    for (uint64_t i = first; i < first + n; i++)
        a->plat.free_page(a->plat.opaque, r->hpa[i]);
    struct as_range **link = &vm->ranges;
    while (*link != r)
        link = &(*link)->next;
    *link = r->next;
    if (lo) {
        lo->gpa = r->gpa;
        lo->size = first * AS_PAGE;
        memcpy(lo->hpa, r->hpa, first * sizeof *lo->hpa);
        lo->next = vm->ranges;
        vm->ranges = lo;
    }
    if (hi) {
        hi->gpa = gpa + size;
        hi->size = (total - first - n) * AS_PAGE;
        memcpy(hi->hpa, r->hpa + first + n, (total - first - n) * sizeof *hi->hpa);
        hi->next = vm->ranges;
        vm->ranges = hi;
    }
    free(r->hpa);
    free(r);
    return 0;
nomem:
    if (lo)
        free(lo->hpa);
    if (hi)
        free(hi->hpa);
    free(lo);
    free(hi);
    return as_fail(a, VTD_ENOMEM, "VM %u: out of memory splitting a range", vm->id);
}

int vtd_vm_gpa_to_hpa(const struct vtd_vm *vm, uint64_t gpa, uint64_t *hpa)
{
    const struct as_range *r = vm ? range_of(vm, gpa) : NULL;
    if (!r || !hpa)
        return VTD_AS_ENODEV;
    *hpa = r->hpa[(gpa - r->gpa) / AS_PAGE] + (gpa & (AS_PAGE - 1));
    return 0;
}

static int vm_access(const struct vtd_vm *vm, uint64_t gpa, void *buf, size_t len, bool write)
{
    if (!vm || (!buf && len))
        return VTD_EINVAL;
    const struct vtd_assign_platform *p = &vm->a->plat;
    uint8_t *b = buf;
    while (len) {
        uint64_t hpa;
        if (vtd_vm_gpa_to_hpa(vm, gpa, &hpa))
            return VTD_AS_ENODEV;
        size_t chunk = (size_t)(AS_PAGE - (gpa & (AS_PAGE - 1)));
        if (chunk > len)
            chunk = len;
        int rc = write ? p->mem_write(p->opaque, hpa, b, chunk) : p->mem_read(p->opaque, hpa, b, chunk);
        if (rc)
            return VTD_AS_ENODEV;
        b += chunk;
        gpa += chunk;
        len -= chunk;
    }
    return 0;
}

int vtd_vm_read(const struct vtd_vm *vm, uint64_t gpa, void *buf, size_t len)
{
    return vm_access(vm, gpa, buf, len, false);
}

int vtd_vm_write(const struct vtd_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    return vm_access(vm, gpa, (void *)buf, len, true);
}

int vtd_vm_memory(const struct vtd_vm *vm, vtd_vm_mem_fn fn, void *arg)
{
    if (!vm || !fn)
        return VTD_EINVAL;
    uint64_t at = 0;
    for (;;) {
        /* the lowest range at or above `at` (ranges are few) */
        const struct as_range *best = NULL;
        for (const struct as_range *r = vm->ranges; r; r = r->next)
            if (r->gpa >= at && (!best || r->gpa < best->gpa))
                best = r;
        if (!best)
            return 0;
        uint64_t n = best->size / AS_PAGE;
        for (uint64_t i = 0; i < n;) {
            uint64_t j = i + 1;
            while (j < n && best->hpa[j] == best->hpa[j - 1] + AS_PAGE)
                j++;
            int rc = fn(arg, best->gpa + i * AS_PAGE, best->hpa[i], (j - i) * AS_PAGE);
            if (rc)
                return rc;
            i = j;
        }
        at = best->gpa + best->size;
    }
}

/* ---- Assignment ---- */

static bool in_list(const uint16_t *sids, unsigned n, uint16_t sid)
{
    for (unsigned i = 0; i < n; i++)
        if (sids[i] == sid)
            return true;
    return false;
}

/* Each device known, no duplicates, and every group touched complete: its
 * members in the list or (assign: already with vm; unassign: not with vm). */
static int check_groups(struct vtd_vm *vm, const uint16_t *sids, unsigned n, bool assign)
{
    struct vtd_assign *a = vm->a;
    char b1[8], b2[8], why[160];
    if (!sids || n == 0)
        return as_fail(a, VTD_EINVAL, "VM %u: no devices given", vm->id);
    for (unsigned i = 0; i < n; i++) {
        if (!as_find_dev(a, sids[i]))
            return as_fail(a, VTD_AS_ENODEV, "device %s is not in the topology", as_bdf(sids[i], b1));
        if (in_list(sids, i, sids[i]))
            return as_fail(a, VTD_EINVAL, "device %s is listed twice", as_bdf(sids[i], b1));
    }
    for (unsigned i = 0; i < n; i++) {
        struct as_dev *d = as_find_dev(a, sids[i]);
        if (assign && d->vm)
            return as_fail(a, VTD_AS_EBUSY, "device %s is already assigned to VM %u", as_bdf(d->sid, b1), d->vm->id);
        if (!assign && d->vm != vm)
            return as_fail(a, VTD_AS_ENODEV, "device %s is not assigned to VM %u", as_bdf(d->sid, b1), vm->id);
        for (unsigned j = 0; j < a->ndevs; j++) {
            const struct as_dev *m = &a->devs[j];
            if (m->group != d->group || in_list(sids, n, m->sid) || (assign && m->vm == vm))
                continue;
            if (!assign && m->vm != vm)
                continue;
            as_group_reason(a, d, m, why, sizeof why);
            return as_fail(a, VTD_AS_EGROUP,
                           "device %s cannot be %s without %s: they share group %d (%s); %s the whole group",
                           as_bdf(d->sid, b1), assign ? "assigned" : "unassigned", as_bdf(m->sid, b2), d->group, why,
                           assign ? "assign" : "unassign");
        }
    }
    return 0;
}

static struct as_rid *find_rid(struct vtd_vm *vm, uint16_t rid)
{
    for (unsigned i = 0; i < vm->nrids; i++)
        if (vm->rids[i].rid == rid)
            return &vm->rids[i];
    return NULL;
}

static void put_rid(struct vtd_vm *vm, uint16_t rid)
{
    struct as_rid *e = find_rid(vm, rid);
    if (!e || --e->refs)
        return;
    vtd_drv_detach(vm->a->drv, rid);
    *e = vm->rids[--vm->nrids];
}

static int get_rid(struct vtd_vm *vm, uint16_t rid)
{
    struct as_rid *e = find_rid(vm, rid);
    if (e) {
        e->refs++;
        return 0;
    }
    int rc = vtd_drv_attach(vm->dom, rid, 0);
    if (rc) {
        char what[64], b1[8];
        snprintf(what, sizeof what, "VM %u: attaching requester id %s", vm->id, as_bdf(rid, b1));
        return as_drv_fail(vm->a, rc, what);
    }
    vm->rids[vm->nrids].rid = rid;
    vm->rids[vm->nrids].refs = 1;
    vm->nrids++;
    return 0;
}

static void drop_domain(struct vtd_vm *vm)
{
    for (struct as_range *r = vm->ranges; r; r = r->next)
        vtd_drv_unmap(vm->dom, r->gpa, r->size, NULL);
    vtd_drv_domain_destroy(vm->dom);
    vm->dom = NULL;
}

int vtd_vm_assign(struct vtd_vm *vm, const uint16_t *sids, unsigned n)
{
    if (!vm)
        return VTD_EINVAL;
    struct vtd_assign *a = vm->a;
    int rc = check_groups(vm, sids, n, true);
    if (rc)
        return rc;
    bool fresh = !vm->dom;
    if (fresh) {
        struct vtd_drv_domain_config cfg;
        vtd_drv_domain_config_default(&cfg);
        rc = vtd_drv_domain_create(a->drv, &cfg, &vm->dom);
        if (rc) {
            vm->dom = NULL;
            char what[48];
            snprintf(what, sizeof what, "VM %u: creating its domain", vm->id);
            return as_drv_fail(a, rc, what);
        }
        rc = map_all(vm);
        if (rc) {
            vtd_drv_domain_destroy(vm->dom);
            vm->dom = NULL;
            return rc;
        }
    }
    unsigned i, k = 0;
    for (i = 0; i < n; i++) {
        struct as_dev *d = as_find_dev(a, sids[i]);
        for (k = 0; k < d->nrids; k++)
            if ((rc = get_rid(vm, d->rids[k])))
                goto undo;
        d->vm = vm;
    }
    vm->ndevs += n;
    return 0;
undo:
    /* device i got rids [0, k); devices before it got all of theirs */
    for (unsigned kk = 0; kk < k; kk++)
        put_rid(vm, as_find_dev(a, sids[i])->rids[kk]);
    while (i--) {
        struct as_dev *d = as_find_dev(a, sids[i]);
        for (unsigned kk = 0; kk < d->nrids; kk++)
            put_rid(vm, d->rids[kk]);
        d->vm = NULL;
    }
    if (fresh)
        drop_domain(vm);
    return rc;
}

int vtd_vm_unassign(struct vtd_vm *vm, const uint16_t *sids, unsigned n)
{
    if (!vm)
        return VTD_EINVAL;
    struct vtd_assign *a = vm->a;
    int rc = check_groups(vm, sids, n, false);
    if (rc)
        return rc;
    for (unsigned i = 0; i < vm->nirqs; i++)
        if (vm->irqs[i].used && in_list(sids, n, vm->irqs[i].sid))
            vtd_vm_unroute_irq(vm, vm->irqs[i].index);
    for (unsigned i = 0; i < n; i++) {
        struct as_dev *d = as_find_dev(a, sids[i]);
        as_unnest_dev(vm, d->sid); /* its PASID entries go before its RID_PASID */
        for (unsigned k = 0; k < d->nrids; k++)
            put_rid(vm, d->rids[k]);
        d->vm = NULL;
    }
    vm->ndevs -= n;
    if (vm->ndevs == 0)
        drop_domain(vm);
    return 0;
}

int vtd_vm_domain_id(const struct vtd_vm *vm)
{
    return vm && vm->dom ? (int)vtd_drv_domain_id(vm->dom) : VTD_AS_ENODEV;
}

struct as_dev *as_assigned(struct vtd_vm *vm, uint16_t sid)
{
    char b1[8];
    struct as_dev *d = as_find_dev(vm->a, sid);
    if (d && d->vm == vm)
        return d;
    as_fail(vm->a, VTD_AS_ENODEV, "device %s is not assigned to VM %u", as_bdf(sid, b1), vm->id);
    return NULL;
}
