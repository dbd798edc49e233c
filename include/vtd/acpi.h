/* SPDX-License-Identifier: MIT */
/*
 * ACPI DMAR table (VT-d spec chapter 8): parse a binary table, validating
 * every length and the checksum, and build one from a description.  The
 * same struct vtd_dmar is the parser's output and the builder's input, so
 * build -> parse gives the description back.  Never prints, never allocates.
 */
#ifndef VTD_ACPI_H
#define VTD_ACPI_H

#include <stddef.h>
#include <stdint.h>
#include <vtd/vtd.h> /* VTD_API */

#ifdef __cplusplus
extern "C" {
#ifdef __cplusplus
}
#endif

#endif

enum {
    VTD_DMAR_DRHD = 0, VTD_DMAR_RMRR = 1, VTD_DMAR_ATSR = 2, VTD_DMAR_RHSA = 3,
    VTD_DMAR_ANDD = 4, VTD_DMAR_SATC = 5, VTD_DMAR_SIDP = 6,
};

/* DMAR header flags (offset 37) */
#define VTD_DMAR_INTR_REMAP               0x01u
#define VTD_DMAR_X2APIC_OPT_OUT           0x02u
#define VTD_DMAR_DMA_CTRL_PLATFORM_OPT_IN 0x04u
/* structure flags (offset 4) */
#define VTD_DRHD_INCLUDE_PCI_ALL          0x01u
#define VTD_ATSR_ALL_PORTS                0x01u
#define VTD_SATC_ATC_REQUIRED             0x01u

/* device scope types (8.3.1) */
enum {
    VTD_SCOPE_ENDPOINT = 1, VTD_SCOPE_BRIDGE = 2, VTD_SCOPE_IOAPIC = 3,
    VTD_SCOPE_HPET = 4, VTD_SCOPE_NAMESPACE = 5,
};
/* device scope flags (offset 2), defined only inside SIDP for types 1 and 5 */
#define VTD_SCOPE_REQ_WO_PASID_NESTED_NOTALLOWED 0x01u
#define VTD_SCOPE_REQ_WO_PASID_PWSNP_NOTALLOWED  0x02u
#define VTD_SCOPE_REQ_WO_PASID_PGSNP_NOTALLOWED  0x04u
#define VTD_SCOPE_ATC_HARDENED                   0x08u
#define VTD_SCOPE_ATC_REQUIRED                   0x10u

/* libvtd limits (not the spec's): tables beyond them fail to parse with a
 * message that says so. */
#define VTD_DMAR_MAX_STRUCTS 64
#define VTD_DMAR_MAX_SCOPES  256   /* device scopes in the whole table */
#define VTD_DMAR_MAX_PATH    16    /* (device, function) pairs in one scope */
#define VTD_DMAR_NAME_MAX    128   /* ANDD object name, with its NUL */

/* One device scope entry (8.3.1). */
struct vtd_dmar_scope {
    uint8_t type;        /* VTD_SCOPE_* */
    uint8_t flags;       /* VTD_SCOPE_* flags (SIDP only) */
    uint8_t enum_id;     /* IOAPIC id, HPET number, ANDD device number */
    uint8_t bus;         /* start bus */
    uint8_t npath;       /* (device, function) pairs, 1..VTD_DMAR_MAX_PATH */
    struct { uint8_t dev, fn; } path[VTD_DMAR_MAX_PATH];
};

/* One remapping structure. */
struct vtd_dmar_struct {
    uint16_t type, length;  /* length: computed by the builder */
    uint32_t offset;        /* byte offset in the table: computed by the builder */
    uint8_t  flags;      /* DRHD/ATSR/SATC flags byte (offset 4) */
    uint8_t  size;       /* DRHD Size: register set is 2^size 4 KiB pages */
    uint16_t segment;    /* DRHD/RMRR/ATSR/SATC/SIDP segment */
    uint64_t base;       /* DRHD register base, RMRR base, RHSA base */
    uint64_t limit;      /* RMRR limit (inclusive) */
    uint32_t proximity;  /* RHSA proximity domain */
    uint8_t  acpi_dev;   /* ANDD ACPI device number */
    char     name[VTD_DMAR_NAME_MAX];  /* ANDD ACPI object name */
    uint32_t first_scope;  /* index of its first scope in vtd_dmar.scopes */
    uint32_t nscopes;      /* device scopes it has */
};

struct vtd_dmar {
    uint32_t length;                 /* computed by the builder */
    uint8_t  revision, checksum;     /* checksum: computed by the builder */
    uint8_t  haw;                    /* host address width - 1 */
    uint8_t  flags;                  /* VTD_DMAR_INTR_REMAP, ... */
    char     oem_id[7], oem_table_id[9], creator_id[5];  /* space padded in the table */
    uint32_t oem_revision, creator_revision;
    uint32_t nstructs;
    struct vtd_dmar_struct s[VTD_DMAR_MAX_STRUCTS];
    uint32_t nscopes;                /* used entries of scopes[] */
    struct vtd_dmar_scope scopes[VTD_DMAR_MAX_SCOPES];
};

/* Parse table [buf, buf+len).  Returns 0, or -1 with *err_off set to the
 * byte offset of the problem and *err_msg to a sentence describing it. */
VTD_API int vtd_dmar_parse(const void *buf, size_t len, struct vtd_dmar *out,
                           size_t *err_off, const char **err_msg);

/* Sum of all bytes mod 256 is zero in a valid table. */
VTD_API uint8_t vtd_dmar_checksum(const void *buf, size_t len);

/* Where a description is wrong: structure index (-1: the header), scope
 * index within that structure (-1: the structure itself), and a sentence. */
struct vtd_dmar_error {
    int         structure;
    int         scope;
    const char *msg;
};

/* Check a description against the rules of spec chapter 8 that a table
 * must follow (type order, alignment, reserved bits, scope types allowed
 * per structure, RHSA naming a DRHD, ANDD numbers, ...).  0 or -1. */
VTD_API int vtd_dmar_check(const struct vtd_dmar *d, struct vtd_dmar_error *err);

/* Build the binary table that d describes into [buf, buf+cap): checks d
 * (vtd_dmar_check), lays out the structures in order, computes every
 * length and the checksum.  Fields marked "computed" above are ignored.
 * *len gets the table's size; buf may be NULL with cap 0 to ask for it.
 * Returns 0, or -1 with *err (cap too small: structure -1, *len = size). */
VTD_API int vtd_dmar_build(const struct vtd_dmar *d, void *buf, size_t cap, size_t *len,
                           struct vtd_dmar_error *err);

/* The scopes of structure s of d: d->scopes + s->first_scope. */
static inline const struct vtd_dmar_scope *vtd_dmar_scopes(const struct vtd_dmar *d,
                                                           const struct vtd_dmar_struct *s)
{
    return d->scopes + s->first_scope;
}

#ifdef __cplusplus
}
#endif

#endif
