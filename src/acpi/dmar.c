/* SPDX-License-Identifier: MIT */
/*
 * DMAR table parser (VT-d spec 8.1-8.3).  Header: 36-byte ACPI header, HAW at
 * 36, flags at 37, 10 reserved, remapping structures from 48 (u16 type, u16
 * length).  Device scopes: type, length, reserved[2], enumeration id, start
 * bus, then (device, function) pairs.
 */
#include <string.h>

#include "vtd/acpi.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

uint8_t vtd_dmar_checksum(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

#define FAIL(off, msg) do { *err_off = (off); *err_msg = (msg); return -1; } while (0)

/* minimum length of each structure type, up to where its scopes start */
static size_t scope_start(uint16_t type)
{
    switch (type) {
    case VTD_DMAR_DRHD: return 16;
    case VTD_DMAR_RMRR: return 24;
    case VTD_DMAR_ATSR: return 8;
    case VTD_DMAR_SATC: return 8;
    case VTD_DMAR_SIDP: return 8;
    default: return 0; /* no scopes */
    }
}

static int parse_scopes(const uint8_t *p, size_t start, size_t end, struct vtd_dmar *d,
                        struct vtd_dmar_struct *s, size_t *err_off, const char **err_msg)
{
    size_t off = start;
    s->first_scope = d->nscopes;
    while (off < end) {
        if (end - off < 6)
            FAIL(off, "device scope header (6 bytes) overruns its structure");
        uint8_t type = p[off], slen = p[off + 1];
        if (slen < 6 || (slen - 6) % 2)
            FAIL(off + 1, "device scope length must be 6 plus 2 per path entry");
        if (slen > end - off)
            FAIL(off + 1, "device scope overruns its structure");
        if (type < 1 || type > 5)
            FAIL(off, "unknown device scope type");
        if (slen == 6)
            FAIL(off + 1, "device scope has an empty path");
        if ((slen - 6) / 2 > VTD_DMAR_MAX_PATH)
            FAIL(off + 1, "device scope path longer than 16 entries (a libvtd limit)");
        if (d->nscopes == VTD_DMAR_MAX_SCOPES)
            FAIL(off, "more than 256 device scopes in the table (a libvtd limit)");
        struct vtd_dmar_scope *e = &d->scopes[d->nscopes++];
        e->type = type;
        e->flags = p[off + 2];
        e->enum_id = p[off + 4];
        e->bus = p[off + 5];
        e->npath = (uint8_t)((slen - 6) / 2);
        for (unsigned i = 0; i < e->npath; i++) {
            e->path[i].dev = p[off + 6 + 2 * i];
            e->path[i].fn = p[off + 7 + 2 * i];
        }
        s->nscopes++;
        off += slen;
    }
    return 0;
}

/* ANDD: ACPI device number at 7, NUL-terminated object name from 8. */
static int parse_andd(const uint8_t *q, size_t slen, struct vtd_dmar_struct *s,
                      size_t *err_off, const char **err_msg)
{
    s->acpi_dev = q[7];
    size_t n = 0;
    while (8 + n < slen && q[8 + n] != 0)
        n++;
    if (8 + n == slen)
        FAIL(8 + n, "ANDD object name is not NUL-terminated within the structure");
    if (n == 0)
        FAIL(8, "ANDD object name is empty");
    if (n >= VTD_DMAR_NAME_MAX)
        FAIL(8, "ANDD object name longer than 127 bytes (a libvtd limit)");
    memcpy(s->name, q + 8, n);
    s->name[n] = 0;
    return 0;
}

int vtd_dmar_parse(const void *buf, size_t len, struct vtd_dmar *out,
                   size_t *err_off, const char **err_msg)
{
    const uint8_t *p = buf;
    memset(out, 0, sizeof *out);
    if (len < 48)
        FAIL(len, "table shorter than the 48-byte DMAR header");
    if (memcmp(p, "DMAR", 4) != 0)
        FAIL(0, "signature is not \"DMAR\"");
    uint32_t tlen = rd32(p + 4);
    if (tlen < 48)
        FAIL(4, "header length below 48");
    if (tlen > len)
        FAIL(4, "header length exceeds the data given");
    if (vtd_dmar_checksum(p, tlen) != 0)
        FAIL(9, "checksum: bytes do not sum to zero");
    out->length = tlen;
    out->revision = p[8];
    out->checksum = p[9];
    memcpy(out->oem_id, p + 10, 6);
    memcpy(out->oem_table_id, p + 16, 8);
    out->oem_revision = rd32(p + 24);
    memcpy(out->creator_id, p + 28, 4);
    out->creator_revision = rd32(p + 32);
    out->haw = p[36];
    out->flags = p[37];
    size_t off = 48;
    while (off < tlen) {
        if (tlen - off < 4)
            FAIL(off, "remapping structure header (4 bytes) overruns the table");
        uint16_t type = rd16(p + off), slen = rd16(p + off + 2);
        if (slen < 4)
            FAIL(off + 2, "remapping structure length below 4");
        if (slen > tlen - off)
            FAIL(off + 2, "remapping structure overruns the table");
        if (out->nstructs == VTD_DMAR_MAX_STRUCTS)
            FAIL(off, "more than 64 remapping structures (a libvtd limit)");
        struct vtd_dmar_struct *s = &out->s[out->nstructs];
        s->type = type;
        s->length = slen;
        s->offset = (uint32_t)off;
        const uint8_t *q = p + off;
        size_t need = scope_start(type);
        if (type == VTD_DMAR_RHSA)
            need = 20;
        else if (type == VTD_DMAR_ANDD)
            need = 8;
        else if (type > VTD_DMAR_SIDP)
            need = 4; /* reserved types are skipped by length */
        if (slen < need)
            FAIL(off + 2, "remapping structure too short for its type");
        switch (type) {
        case VTD_DMAR_DRHD:
            s->flags = q[4]; s->size = q[5]; s->segment = rd16(q + 6); s->base = rd64(q + 8);
            break;
        case VTD_DMAR_RMRR:
            s->segment = rd16(q + 6); s->base = rd64(q + 8); s->limit = rd64(q + 16);
            if (s->limit < s->base)
                FAIL(off + 16, "RMRR limit below its base");
            break;
        case VTD_DMAR_ATSR: case VTD_DMAR_SATC:
            s->flags = q[4]; s->segment = rd16(q + 6);
            break;
        case VTD_DMAR_SIDP:
            s->segment = rd16(q + 6);
            break;
        case VTD_DMAR_RHSA:
            s->base = rd64(q + 8); s->proximity = rd32(q + 16);
            break;
        case VTD_DMAR_ANDD:
            if (parse_andd(q, slen, s, err_off, err_msg)) {
                *err_off += off;
                return -1;
            }
            break;
        default:
            break;
        }
        if (scope_start(type) && parse_scopes(q, scope_start(type), slen, out, s, err_off, err_msg)) {
            *err_off += off;
            return -1;
        }
        out->nstructs++;
        off += slen;
    }
    return 0;
}
