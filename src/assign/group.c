/* SPDX-License-Identifier: MIT */
/*
 * Topology, requester-id aliases and groups (docs/assign.md "Groups").
 *
 * A group is the smallest set of devices the unit can isolate from the
 * rest.  Two devices share one when
 *  - their DMA can arrive with the same requester id: everything behind a
 *    PCIe-to-PCI bridge may be seen as (secondary bus, 00.0), because such
 *    a bridge takes ownership of the transactions it forwards; or
 *  - they are functions of one multi-function device and neither has ACS:
 *    without ACS's P2P request redirect, one function can reach the other
 *    without going through the unit at all;
 *  - they sit below one PCIe root or switch port without ACS (peer-to-peer
 *    traffic below it is routed without reaching the unit).
 * Both relations are made transitive (union-find), as Linux's IOMMU groups
 * are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int as_fail(struct vtd_assign *a, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, sizeof a->err, fmt, ap);
    va_end(ap);
    return code;
}

const char *as_bdf(uint16_t sid, char buf[8])
{
    snprintf(buf, 8, "%02x:%02x.%u", (unsigned)(sid >> 8), (unsigned)(sid >> 3) & 31, (unsigned)sid & 7);
    return buf;
}

struct as_dev *as_find_dev(struct vtd_assign *a, uint16_t sid)
{
    for (unsigned i = 0; i < a->ndevs; i++)
        if (a->devs[i].sid == sid)
            return &a->devs[i];
    return NULL;
}

static const struct as_dev *find_cdev(const struct vtd_assign *a, uint16_t sid)
{
    return as_find_dev((struct vtd_assign *)a, sid);
}

static int uf_find(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void uf_union(int *parent, int x, int y)
{
    x = uf_find(parent, x);
    y = uf_find(parent, y);
    if (x != y)
        parent[x < y ? y : x] = x < y ? x : y;
}

/* The PCIe-to-PCI bridge whose alias a device on `bus` carries: the one
 * nearest the root (widest bus range), since it is the last to take
 * ownership of the request on its way up. */
static int alias_bridge(const struct vtd_assign *a, uint8_t bus)
{
    int best = -1;
    for (unsigned i = 0; i < a->nbridges; i++) {
        const struct vtd_assign_bridge *b = &a->bridges[i];
        if (!b->pcie_to_pci || bus < b->secondary || bus > b->subordinate)
            continue;
        if (best < 0 || b->subordinate - b->secondary > a->bridges[best].subordinate - a->bridges[best].secondary)
            best = (int)i;
    }
    return best;
}

static bool same_slot(uint16_t x, uint16_t y)
{
    return (x >> 3) == (y >> 3);
}

/* A PCIe port without ACS both devices sit below, or -1. */
static int open_port(const struct vtd_assign *a, uint16_t x, uint16_t y)
{
    for (unsigned i = 0; i < a->nbridges; i++) {
        const struct vtd_assign_bridge *b = &a->bridges[i];
        uint8_t bx = (uint8_t)(x >> 8), by = (uint8_t)(y >> 8);
        if (!b->pcie_to_pci && !b->acs && bx >= b->secondary && bx <= b->subordinate && by >= b->secondary &&
            by <= b->subordinate)
            return (int)i;
    }
    return -1;
}

int as_topology(struct vtd_assign *a, const struct vtd_assign_topology *t)
{
    char b1[8];
    if (t->ndevs && !t->devs)
        return as_fail(a, VTD_EINVAL, "topology: %u devices but no device list", t->ndevs);
    if ((t->nbridges && !t->bridges) || (t->nrmrr && !t->rmrr))
        return as_fail(a, VTD_EINVAL, "topology: a count is given without its list");
    for (unsigned i = 0; i < t->nbridges; i++)
        if (t->bridges[i].secondary > t->bridges[i].subordinate)
            return as_fail(a, VTD_EINVAL, "topology: bridge %u: secondary bus %02x above subordinate bus %02x", i,
                           t->bridges[i].secondary, t->bridges[i].subordinate);
    for (unsigned i = 0; i < t->nrmrr; i++) {
        const struct vtd_assign_range *r = &t->rmrr[i];
        if (r->size == 0 || r->base + r->size < r->base)
            return as_fail(a, VTD_EINVAL, "topology: RMRR %u [0x%llx, +0x%llx) is empty or wraps", i,
                           (unsigned long long)r->base, (unsigned long long)r->size);
    }
    for (unsigned i = 0; i < t->ndevs; i++)
        for (unsigned j = 0; j < i; j++)
            if (t->devs[i].sid == t->devs[j].sid)
                return as_fail(a, VTD_EINVAL, "topology: device %s listed twice (entries %u and %u)",
                               as_bdf(t->devs[i].sid, b1), j, i);

    a->devs = calloc(t->ndevs ? t->ndevs : 1, sizeof *a->devs);
    a->bridges = calloc(t->nbridges ? t->nbridges : 1, sizeof *a->bridges);
    a->resv = calloc(t->nrmrr + 1, sizeof *a->resv);
    int *parent = calloc(t->ndevs ? t->ndevs : 1, sizeof *parent);
    if (!a->devs || !a->bridges || !a->resv || !parent) {
        free(parent);
        return as_fail(a, VTD_ENOMEM, "out of memory for the topology");
    }
    a->ndevs = t->ndevs;
    a->nbridges = t->nbridges;
    if (t->nbridges)
        memcpy(a->bridges, t->bridges, t->nbridges * sizeof *a->bridges);
    a->resv[0].base = VTD_AS_INTR_BASE;
    a->resv[0].size = VTD_AS_INTR_SIZE;
    if (t->nrmrr)
        memcpy(a->resv + 1, t->rmrr, t->nrmrr * sizeof *a->resv);
    a->nresv = t->nrmrr + 1;

    for (unsigned i = 0; i < a->ndevs; i++) {
        struct as_dev *d = &a->devs[i];
        d->sid = t->devs[i].sid;
        d->acs = t->devs[i].acs;
        d->rids[0] = d->sid;
        d->nrids = 1;
        d->bridge = alias_bridge(a, (uint8_t)(d->sid >> 8));
        if (d->bridge >= 0) {
            uint16_t alias = (uint16_t)(a->bridges[d->bridge].secondary << 8);
            if (alias != d->sid)
                d->rids[d->nrids++] = alias;
        }
        parent[i] = (int)i;
    }
    for (unsigned i = 0; i < a->ndevs; i++)
        for (unsigned j = 0; j < i; j++) {
            const struct as_dev *x = &a->devs[i], *y = &a->devs[j];
            bool share = false;
            for (unsigned p = 0; p < x->nrids; p++)
                for (unsigned q = 0; q < y->nrids; q++)
                    share |= x->rids[p] == y->rids[q];
            if (share || (same_slot(x->sid, y->sid) && !x->acs && !y->acs) || open_port(a, x->sid, y->sid) >= 0)
                uf_union(parent, (int)i, (int)j);
        }
    /* number the groups in device order */
    int *num = calloc(a->ndevs ? a->ndevs : 1, sizeof *num);
    if (!num) {
        free(parent);
        return as_fail(a, VTD_ENOMEM, "out of memory for the topology");
    }
    for (unsigned i = 0; i < a->ndevs; i++)
        num[i] = -1;
    for (unsigned i = 0; i < a->ndevs; i++) {
        int root = uf_find(parent, (int)i);
        if (num[root] < 0)
            num[root] = (int)a->ngroups++;
        a->devs[i].group = num[root];
    }
    free(num);
    free(parent);
    return 0;
}

void as_group_reason(const struct vtd_assign *a, const struct as_dev *x, const struct as_dev *y, char *buf,
                     size_t len)
{
    char b1[8];
    if (x->bridge >= 0 && x->bridge == y->bridge) {
        const struct vtd_assign_bridge *b = &a->bridges[x->bridge];
        snprintf(buf, len, "both sit behind the PCIe-to-PCI bridge to bus %02x, so their DMA can reach the unit as %s",
                 b->secondary, as_bdf((uint16_t)(b->secondary << 8), b1));
    } else if (same_slot(x->sid, y->sid) && !x->acs && !y->acs) {
        snprintf(buf, len, "they are functions of one device without ACS, which can reach each other directly");
    } else if (open_port(a, x->sid, y->sid) >= 0) {
        const struct vtd_assign_bridge *b = &a->bridges[open_port(a, x->sid, y->sid)];
        snprintf(buf, len, "both sit below the PCIe port to buses %02x-%02x, which has no ACS, so they can reach "
                           "each other directly", b->secondary, b->subordinate);
    } else {
        snprintf(buf, len, "they are linked through other members of the group");
    }
}

int vtd_assign_group(const struct vtd_assign *a, uint16_t sid)
{
    const struct as_dev *d = find_cdev(a, sid);
    return d ? d->group : VTD_AS_ENODEV;
}

int vtd_assign_group_members(const struct vtd_assign *a, int group, uint16_t *members, unsigned max)
{
    if (group < 0 || (unsigned)group >= a->ngroups)
        return VTD_AS_ENODEV;
    unsigned n = 0;
    for (unsigned i = 0; i < a->ndevs; i++)
        if (a->devs[i].group == group) {
            if (members && n < max)
                members[n] = a->devs[i].sid;
            n++;
        }
    return (int)n;
}

int vtd_assign_requester_ids(const struct vtd_assign *a, uint16_t sid, uint16_t *rids, unsigned max)
{
    const struct as_dev *d = find_cdev(a, sid);
    if (!d)
        return VTD_AS_ENODEV;
    for (unsigned i = 0; i < d->nrids && i < max; i++)
        rids[i] = d->rids[i];
    return (int)d->nrids;
}

bool vtd_assign_reserved(const struct vtd_assign *a, uint64_t base, uint64_t size, struct vtd_assign_range *hit)
{
    for (unsigned i = 0; i < a->nresv; i++) {
        const struct vtd_assign_range *r = &a->resv[i];
        if (base < r->base + r->size && r->base < base + size) {
            if (hit)
                *hit = *r;
            return true;
        }
    }
    return false;
}

const char *vtd_assign_strerror(int err)
{
    switch (err) {
    case VTD_AS_EGROUP: return "the request splits a group: its devices must be assigned together";
    case VTD_AS_ERESERVED: return "the range overlaps a reserved region";
    case VTD_AS_EBUSY: return "already assigned or in use";
    case VTD_AS_ENODEV: return "no such device, or not assigned here";
    case VTD_AS_EDRV: return "the driver refused the operation";
    /* the layer's own words: it uses the driver, not the model */
    case 0: return "success";
    case VTD_EINVAL: return "invalid argument";
    case VTD_ENOMEM: return "out of memory";
    case VTD_ENOTSUP: return "not supported by this unit or driver configuration";
    default: return "unknown error";
    }
}
