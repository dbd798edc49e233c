/* SPDX-License-Identifier: MIT */
/*
 * Option parsing and inputs shared by the vtd subcommands that read a unit's
 * register file and a raw physical memory image (`vtd audit`, `vtd walk
 * --image`).  Every function that can fail prints its error itself, as
 * "vtd CMD: FILE-OR-OPTION: what", and returns the exit status 2.
 */
#ifndef VTD_TOOL_TOOLOPT_H
#define VTD_TOOL_TOOLOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"

/* A number: hex with 0x, octal with 0, or decimal; no sign, no trailing
 * characters, no overflow. */
bool tool_parse_u64(const char *s, uint64_t *out);

/* BB:DD.F in hex (bus 0-ff, device 0-1f, function 0-7) into a source-id. */
bool tool_parse_bdf(const char *s, uint16_t *sid);

/* "NAME VALUE" or "NAME=VALUE" at argv[*i]: 1 matched (*v the value, *i
 * advanced past a separate value), 0 not this option, -1 the value is
 * missing. */
int tool_opt_val(int argc, char **argv, int *i, const char *name, const char **v);

/* Read a whole file (or stdin for "-") of at most max bytes, NUL not added;
 * NULL with errno on failure (EFBIG: larger than max).  tool_read_file
 * (tool.h) is this with a 1 GiB limit. */
char *tool_read_file_max(const char *path, size_t max, size_t *len);

/* Read and parse a register file (audit_regs_parse: NAME VALUE, sysfs names,
 * iommu_regset, JSON); unit picks one unit of a regset dump (NULL: the
 * first).  0, or 2 after printing "vtd CMD: --regs PATH:LINE:COL: message". */
int tool_load_regs(const char *cmd, const char *path, const char *unit, struct audit_regs *r);

/* A raw physical memory image mapped whole (MAP_PRIVATE, so a sparse file
 * costs only the pages touched and the file is never written). */
struct tool_image {
    uint8_t *data;
    uint64_t size;
    uint64_t base; /* physical address of data[0] */
};
/* Map `path` at physical `base`; writable: the mapping may be written (copy
 * on write: the changes stay in this process).  0, or 2 after printing
 * "vtd CMD: [OPT ]PATH: reason" (opt: the option that named it, or NULL). */
int tool_map_image(const char *cmd, const char *opt, const char *path, uint64_t base, bool writable,
                   struct tool_image *img);
void tool_unmap_image(struct tool_image *img);

/* [pa, pa + len) inside the image: a pointer to it, else NULL. */
uint8_t *tool_image_at(const struct tool_image *img, uint64_t pa, uint64_t len);

#endif
