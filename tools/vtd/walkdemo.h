/* SPDX-License-Identifier: MIT */
/*
 * `vtd walk --demo-tables`: a small built-in example unit, its tables
 * written into a sparse memory and the unit programmed through its
 * registers as a driver would, so that `vtd walk` has something to show
 * without a scenario or a memory image (docs/walk.md "Demo tables").
 */
#ifndef VTD_TOOL_WALKDEMO_H
#define VTD_TOOL_WALKDEMO_H

#include <stddef.h>

#include <vtd/mem.h>
#include <vtd/vtd.h>

/* Example layouts: WALKDEMO_LEGACY (legacy mode, 4-level tables). */
enum { WALKDEMO_LEGACY = 1 };

/* Build the example `kind`.  On success returns 0 with *mem and *u set
 * (free with walkdemo_destroy); otherwise a negative VTD_E* code with the
 * reason in err. */
int walkdemo_create(int kind, struct vtd_mem **mem, struct vtd **u, char *err, size_t errlen);
void walkdemo_destroy(struct vtd_mem *mem, struct vtd *u);

/* The name of a layout for --demo-tables=NAME ("legacy"), or 0 when unknown. */
int walkdemo_kind(const char *name);
/* One line per layout: its name, and the requests worth trying, for --help. */
const char *walkdemo_help(void);

#endif
