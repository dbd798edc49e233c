/* SPDX-License-Identifier: MIT */
/*
 * The picture `vtd walk --svg FILE` draws: one translation as the VT-d
 * spec's figures draw it.  Self-contained SVG 1.1 (presentation attributes
 * only, generic font families, no scripts, no external references).
 *
 * Layout (docs/walk.md "SVG layout"):
 *  - a chain, left to right, for legacy, first-level-only and
 *    second-level-only walks: root table -> context table -> (PASID
 *    directory -> PASID table) -> each page-table level -> the page, every
 *    table a column with the entry used highlighted at its place and its
 *    index marked, an arrow from that entry to the next table, the table's
 *    address above and the entry's key fields below;
 *  - for a nested walk the 2-D grid: the structures before the page tables
 *    along the top, then one column per first-level level (and one for the
 *    final output address) holding the second-level walk that translates
 *    that level's guest-physical table address (one row per second-level
 *    level) and, in the bottom row, the first-level entry read from the
 *    host-physical table found.
 *  - the request above, the request address split into the index fields
 *    each step used, and the outcome (page and HPA, or the fault in words).
 */
#ifndef VTD_TOOL_SVG_H
#define VTD_TOOL_SVG_H

#include <stdio.h>

#include "walkfmt.h"

/* Write the picture of one walk (steps in the order read) to f.  Returns 0,
 * or -1 when writing failed. */
int svg_walk(FILE *f, const struct vtd_request *req, const struct wf_step *steps, int n,
             const struct vtd_result *res);

/* Write s to f with the five XML special characters escaped. */
void svg_escape(FILE *f, const char *s);

#endif
