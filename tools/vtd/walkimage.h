/* SPDX-License-Identifier: MIT */
/*
 * `vtd walk --image IMG --regs REGS`: a model unit whose CAP / ECAP / VER /
 * HAW come from a real unit's register file (the `vtd audit` forms), whose
 * memory is a raw physical memory image, and which is programmed through its
 * registers as a driver would (RTADDR + SRTP, IRTA + SIRTP, IRE, TE), so
 * that vtd_walk shows what that unit would do with a request.
 */
#ifndef VTD_TOOL_WALKIMAGE_H
#define VTD_TOOL_WALKIMAGE_H

#include <stdio.h>

#include <vtd/vtd.h>

#include "audit.h"
#include "toolopt.h"

struct walkimg;

/* Build the unit over img (which must outlive it).  CAP / ECAP bits the model
 * does not implement are masked off with a warning on `warn` naming them
 * (regs_path in the message).  0 with *out set, or 2 after printing the
 * reason ("vtd walk: REGS: ..."). */
int walkimg_create(const struct audit_regs *r, const char *regs_path, const struct tool_image *img,
                   FILE *warn, struct walkimg **out);
struct vtd *walkimg_unit(struct walkimg *w);
void walkimg_destroy(struct walkimg *w);

/* "AFL (bit 3), MHMV[23:20]": the CAP (ecap false) or ECAP bits in `bits`
 * by their spec names, unnamed bits as "bit N".  Returns buf. */
const char *walkimg_bit_names(bool ecap, uint64_t bits, char *buf, size_t len);

/* One GCMD command as software issues it: the persistent bits GSTS already
 * has, plus `cmd`; returns GSTS afterwards. */
uint32_t walkimg_gcmd(struct vtd *u, uint32_t cmd);

#endif
