/* SPDX-License-Identifier: MIT */
/*
 * ACPI DMAR table (VT-d spec chapter 8): parse a binary table, validating
 * every length and the checksum.  Never reads past the buffer; never prints.
 */
#ifndef VTD_ACPI_H
#define VTD_ACPI_H

#include <stddef.h>
#include <stdint.h>

enum {
    VTD_DMAR_DRHD = 0, VTD_DMAR_RMRR = 1, VTD_DMAR_ATSR = 2, VTD_DMAR_RHSA = 3,
    VTD_DMAR_ANDD = 4, VTD_DMAR_SATC = 5, VTD_DMAR_SIDP = 6,
};

/* One remapping structure: type, length and byte offset in the table. */
struct vtd_dmar_struct {
    uint16_t type, length;
    uint32_t offset;
    uint8_t  flags;      /* DRHD/ATSR/SATC flags byte (offset 4) */
    uint16_t segment;    /* DRHD/RMRR/ATSR/SATC/SIDP segment */
    uint64_t base;       /* DRHD register base, RMRR base, RHSA base */
    uint64_t limit;      /* RMRR limit (inclusive) */
    uint32_t proximity;  /* RHSA proximity domain */
    uint32_t nscopes;    /* device scopes found */
};

#define VTD_DMAR_MAX_STRUCTS 64

struct vtd_dmar {
    uint32_t length;
    uint8_t  revision, checksum, haw, flags;
    char     oem_id[7], oem_table_id[9];
    uint32_t nstructs;
    struct vtd_dmar_struct s[VTD_DMAR_MAX_STRUCTS];
};

/* Parse table [buf, buf+len).  Returns 0, or -1 with *err_off set to the
 * byte offset of the problem and *err_msg to a sentence describing it. */
int vtd_dmar_parse(const void *buf, size_t len, struct vtd_dmar *out,
                   size_t *err_off, const char **err_msg);

/* Sum of all bytes mod 256 is zero in a valid table. */
uint8_t vtd_dmar_checksum(const void *buf, size_t len);

#endif
