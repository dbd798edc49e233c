/* SPDX-License-Identifier: MIT */
/*
 * DMAR table builder (VT-d spec 8.1-8.9): a struct vtd_dmar description in,
 * a binary table out, for a VMM to hand its guest.  vtd_dmar_check holds the
 * table to the spec's rules first, so a built table is one an OS accepts.
 */
#include <string.h>

#include "vtd/acpi.h"

/* strnlen is POSIX, not C11 */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

#define BAD(si, ci, m) do { err->structure = (si); err->scope = (ci); err->msg = (m); return -1; } while (0)

/* bytes before a structure's device scopes (0: it has none) */
static size_t fixed_len(const struct vtd_dmar_struct *s)
{
    switch (s->type) {
    case VTD_DMAR_DRHD: return 16;
    case VTD_DMAR_RMRR: return 24;
    case VTD_DMAR_ATSR: case VTD_DMAR_SATC: case VTD_DMAR_SIDP: return 8;
    case VTD_DMAR_RHSA: return 20;
    case VTD_DMAR_ANDD: return 8 + strlen(s->name) + 1;
    default: return 0;
    }
}

static size_t struct_len(const struct vtd_dmar *d, const struct vtd_dmar_struct *s)
{
    size_t n = fixed_len(s);
    const struct vtd_dmar_scope *sc = vtd_dmar_scopes(d, s);
    for (uint32_t i = 0; i < s->nscopes; i++)
        n += 6 + 2u * sc[i].npath;
    return n;
}

static int has_scopes(uint16_t type)
{
    return type == VTD_DMAR_DRHD || type == VTD_DMAR_RMRR || type == VTD_DMAR_ATSR ||
           type == VTD_DMAR_SATC || type == VTD_DMAR_SIDP;
}

static int check_scope(const struct vtd_dmar *d, int si, const struct vtd_dmar_struct *s,
                       int ci, const struct vtd_dmar_scope *e, struct vtd_dmar_error *err)
{
    if (e->type < VTD_SCOPE_ENDPOINT || e->type > VTD_SCOPE_NAMESPACE)
        BAD(si, ci, "device scope type must be 1..5 (endpoint, bridge, ioapic, hpet, namespace)");
    if (e->npath < 1 || e->npath > VTD_DMAR_MAX_PATH)
        BAD(si, ci, "device scope path must have 1..16 (device, function) entries");
    /* 8.3.1: flags are reserved outside SIDP and for types other than 1, 5 */
    if (e->flags && (s->type != VTD_DMAR_SIDP ||
                     (e->type != VTD_SCOPE_ENDPOINT && e->type != VTD_SCOPE_NAMESPACE)))
        BAD(si, ci, "device scope flags are defined only in SIDP, for endpoint and namespace scopes");
    if (e->flags & 0xe0)
        BAD(si, ci, "device scope flags bits 7:5 are reserved");
    if (e->type == VTD_SCOPE_NAMESPACE) {
        uint32_t i;
        for (i = 0; i < d->nstructs; i++)
            if (d->s[i].type == VTD_DMAR_ANDD && d->s[i].acpi_dev == e->enum_id)
                break;
        if (i == d->nstructs)
            BAD(si, ci, "namespace device scope names an ACPI device number no ANDD declares");
    }
    switch (s->type) {
    case VTD_DMAR_DRHD:
        /* 8.3.1: types 1 and 2 must not be used under INCLUDE_PCI_ALL */
        if ((s->flags & VTD_DRHD_INCLUDE_PCI_ALL) &&
            (e->type == VTD_SCOPE_ENDPOINT || e->type == VTD_SCOPE_BRIDGE))
            BAD(si, ci, "an INCLUDE_PCI_ALL unit lists no endpoint or bridge scopes");
        break;
    case VTD_DMAR_ATSR:
        if (e->type != VTD_SCOPE_BRIDGE)
            BAD(si, ci, "ATSR device scopes must be bridges (root ports)");
        break;
    case VTD_DMAR_SATC:
        if (e->type != VTD_SCOPE_ENDPOINT || e->npath != 1)
            BAD(si, ci, "SATC device scopes must be endpoints with a one-entry path (RCIEP)");
        break;
    case VTD_DMAR_SIDP:
        if ((e->type != VTD_SCOPE_ENDPOINT && e->type != VTD_SCOPE_NAMESPACE) || e->npath != 1)
            BAD(si, ci, "SIDP device scopes must be endpoint or namespace with a one-entry path");
        break;
    default:
        break;
    }
    return 0;
}

int vtd_dmar_check(const struct vtd_dmar *d, struct vtd_dmar_error *err)
{
    if (d->flags & 0xf8)
        BAD(-1, -1, "DMAR flags bits 7:3 are reserved");
    if (d->nstructs > VTD_DMAR_MAX_STRUCTS || d->nscopes > VTD_DMAR_MAX_SCOPES)
        BAD(-1, -1, "more structures or scopes than the arrays hold");
    size_t total = 48;
    for (uint32_t i = 0; i < d->nstructs; i++) {
        const struct vtd_dmar_struct *s = &d->s[i];
        int si = (int)i;
        if (s->type > VTD_DMAR_SIDP)
            BAD(si, -1, "structure type must be 0..6 (DRHD, RMRR, ATSR, RHSA, ANDD, SATC, SIDP)");
        /* 8.2: "BIOS implementations must report these remapping structure
         * types in numerical order" */
        if (i > 0 && s->type < d->s[i - 1].type)
            BAD(si, -1, "structures must come in type order: DRHD, RMRR, ATSR, RHSA, ANDD, SATC, SIDP");
        if (!has_scopes(s->type) && s->nscopes)
            BAD(si, -1, "RHSA and ANDD structures have no device scopes");
        if (s->first_scope > d->nscopes || s->nscopes > d->nscopes - s->first_scope)
            BAD(si, -1, "device scopes lie outside the scope array");
        switch (s->type) {
        case VTD_DMAR_DRHD:
            if (s->flags & 0xfe)
                BAD(si, -1, "DRHD flags bits 7:1 are reserved");
            if (s->size > 15)
                BAD(si, -1, "DRHD size is 4 bits (register set of 2^size 4 KiB pages)");
            if (s->base & ((UINT64_C(1) << (12 + s->size)) - 1))
                BAD(si, -1, "DRHD register base must be aligned to its register set size");
            if (s->flags & VTD_DRHD_INCLUDE_PCI_ALL)
                for (uint32_t j = i + 1; j < d->nstructs; j++)
                    if (d->s[j].type == VTD_DMAR_DRHD && d->s[j].segment == s->segment)
                        BAD(si, -1, "an INCLUDE_PCI_ALL unit must be the last DRHD of its segment");
            break;
        case VTD_DMAR_RMRR:
            if (s->base & 0xfff)
                BAD(si, -1, "RMRR base must be 4 KiB aligned");
            if (s->limit <= s->base || (s->limit & 0xfff) != 0xfff)
                BAD(si, -1, "RMRR limit must be above its base and end a 4 KiB page");
            if (s->nscopes == 0)
                BAD(si, -1, "RMRR needs at least one device scope");
            break;
        case VTD_DMAR_ATSR:
            if (s->flags & 0xfe)
                BAD(si, -1, "ATSR flags bits 7:1 are reserved");
            if ((s->flags & VTD_ATSR_ALL_PORTS) && s->nscopes)
                BAD(si, -1, "an ALL_PORTS ATSR has no device scopes");
            break;
        case VTD_DMAR_SATC:
            if (s->flags & 0xfe)
                BAD(si, -1, "SATC flags bits 7:1 are reserved");
            break;
        case VTD_DMAR_RHSA: {
            uint32_t j;
            for (j = 0; j < d->nstructs; j++)
                if (d->s[j].type == VTD_DMAR_DRHD && d->s[j].base == s->base)
                    break;
            if (j == d->nstructs)
                BAD(si, -1, "RHSA base names no DRHD's register base");
            break;
        }
        case VTD_DMAR_ANDD: {
            size_t n = bounded_len(s->name, VTD_DMAR_NAME_MAX);
            if (n == 0 || n == VTD_DMAR_NAME_MAX)
                BAD(si, -1, "ANDD object name must be 1..127 characters");
            for (uint32_t j = 0; j < i; j++)
                if (d->s[j].type == VTD_DMAR_ANDD && d->s[j].acpi_dev == s->acpi_dev)
                    BAD(si, -1, "ANDD ACPI device numbers must be unique");
            break;
        }
        default:
            break;
        }
        const struct vtd_dmar_scope *sc = vtd_dmar_scopes(d, s);
        for (uint32_t c = 0; c < s->nscopes; c++)
            if (check_scope(d, si, s, (int)c, &sc[c], err))
                return -1;
        size_t n = struct_len(d, s);
        if (n > 0xffff)
            BAD(si, -1, "structure longer than 65535 bytes");
        total += n;
    }
    if (total > 0xffffffffu)
        BAD(-1, -1, "table longer than 4 GiB");
    return 0;
}

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)v); wr16(p + 2, (uint16_t)(v >> 16)); }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

/* ACPI header strings: copied up to their width, padded with spaces */
static void wr_str(uint8_t *p, const char *s, size_t width)
{
    size_t n = bounded_len(s, width);
    memcpy(p, s, n);
    memset(p + n, ' ', width - n);
}

int vtd_dmar_build(const struct vtd_dmar *d, void *buf, size_t cap, size_t *len,
                   struct vtd_dmar_error *err)
{
    if (vtd_dmar_check(d, err))
        return -1;
    size_t total = 48;
    for (uint32_t i = 0; i < d->nstructs; i++)
        total += struct_len(d, &d->s[i]);
    *len = total;
    if (!buf && cap == 0)
        return 0;
    if (cap < total)
        BAD(-1, -1, "buffer smaller than the table");
    uint8_t *p = buf;
    memset(p, 0, total);
    memcpy(p, "DMAR", 4);
    wr32(p + 4, (uint32_t)total);
    p[8] = d->revision;
    wr_str(p + 10, d->oem_id, 6);
    wr_str(p + 16, d->oem_table_id, 8);
    wr32(p + 24, d->oem_revision);
    wr_str(p + 28, d->creator_id, 4);
    wr32(p + 32, d->creator_revision);
    p[36] = d->haw;
    p[37] = d->flags;
    size_t off = 48;
    for (uint32_t i = 0; i < d->nstructs; i++) {
        const struct vtd_dmar_struct *s = &d->s[i];
        uint8_t *q = p + off;
        size_t n = struct_len(d, s);
        wr16(q, s->type);
        wr16(q + 2, (uint16_t)n);
        switch (s->type) {
        case VTD_DMAR_DRHD:
            q[4] = s->flags; q[5] = s->size; wr16(q + 6, s->segment); wr64(q + 8, s->base);
            break;
        case VTD_DMAR_RMRR:
            wr16(q + 6, s->segment); wr64(q + 8, s->base); wr64(q + 16, s->limit);
            break;
        case VTD_DMAR_ATSR: case VTD_DMAR_SATC:
            q[4] = s->flags; wr16(q + 6, s->segment);
            break;
        case VTD_DMAR_SIDP:
            wr16(q + 6, s->segment);
            break;
        case VTD_DMAR_RHSA:
            wr64(q + 8, s->base); wr32(q + 16, s->proximity);
            break;
        case VTD_DMAR_ANDD:
            q[7] = s->acpi_dev;
            memcpy(q + 8, s->name, strlen(s->name)); /* NUL from the memset */
            break;
        default:
            break;
        }
        size_t so = fixed_len(s);
        const struct vtd_dmar_scope *sc = vtd_dmar_scopes(d, s);
        for (uint32_t c = 0; c < s->nscopes; c++) {
            const struct vtd_dmar_scope *e = &sc[c];
            q[so] = e->type;
            q[so + 1] = (uint8_t)(6 + 2 * e->npath);
            q[so + 2] = e->flags;
            q[so + 4] = e->enum_id;
            q[so + 5] = e->bus;
            for (unsigned k = 0; k < e->npath; k++) {
                q[so + 6 + 2 * k] = e->path[k].dev;
                q[so + 7 + 2 * k] = e->path[k].fn;
            }
            so += 6 + 2u * e->npath;
        }
        off += n;
    }
    p[9] = (uint8_t)(0u - vtd_dmar_checksum(p, total));
    return 0;
}
