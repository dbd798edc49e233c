/* SPDX-License-Identifier: MIT */
/*
 * The DMAR platform description: a text file (docs/dmar.md, "Platform
 * format") that `vtd dmar build` turns into a binary ACPI DMAR table.
 */
#ifndef VTD_TOOL_DMAR_PLATFORM_H
#define VTD_TOOL_DMAR_PLATFORM_H

#include <stddef.h>

#include "vtd/acpi.h"

struct dmar_src { unsigned line, col; };

struct dmar_platform {
    struct vtd_dmar d;                          /* the description */
    struct dmar_src hdr;                        /* where each part was written */
    struct dmar_src st[VTD_DMAR_MAX_STRUCTS];
    struct dmar_src sc[VTD_DMAR_MAX_SCOPES];
};

struct dmar_platform_error {
    unsigned line, col;                         /* 1-based */
    char     msg[160];
};

/* Parse [text, text+len) into p and hold it to vtd_dmar_check.  Returns 0,
 * or -1 with *e naming the line and column of the problem. */
int dmar_platform_parse(const char *text, size_t len, struct dmar_platform *p,
                        struct dmar_platform_error *e);

#endif
