/* SPDX-License-Identifier: MIT */
/*
 * The scenario runner's state (a "world": memory, units, drivers, logs) and
 * the helpers its files share: scenario_exec.c (commands, output),
 * scenario_expect.c (expectations), scenario_drv.c (driver commands).
 */
#ifndef VTD_TOOL_SCENARIO_WORLD_H
#define VTD_TOOL_SCENARIO_WORLD_H

#include <vtd/drv.h>

#include "scenario_int.h"

#define MAX_UNITS 64
#define MAX_DOMAINS 64
#define LOG_MAX 4096

struct unitrec {
    char name[SC_NAME_MAX];
    struct vtd *u;
    struct sc_world *w;
    struct vtd_drv *drv; /* `drv init` on this unit */
};

struct domrec {
    char name[SC_NAME_MAX];
    struct vtd_drv_domain *dom;
    int unit;
};

struct drvfault {
    struct vtd_drv_fault f;
    int unit;
};

struct msirec {
    uint64_t addr;
    uint32_t data;
    int unit;
};

struct diagrec {
    int code, unit;
    uint16_t sid;
    uint64_t addr;
    char msg[200];
};

struct sc_world {
    const struct sc_script *s;
    const struct sc_run_opts *o;
    const struct sc_cmd *c; /* the command running */
    struct vtd_mem *mem;
    struct unitrec units[MAX_UNITS];
    unsigned nunits;
    int cur;
    struct msirec *msis;
    size_t nmsi, msi_seen;
    struct diagrec *diags;
    size_t ndiag, diag_seen;
    bool log_full;
    bool defer; /* a request is running: print its MSIs and diagnostics after it */
    /* the last request of each kind, and which came last */
    bool have_dma, have_irq, last_is_irq;
    int dma_unit, irq_unit;
    struct vtd_request req;
    struct vtd_result res;
    struct vtd_msi msi;
    struct vtd_irq irq;
    uint64_t pool_next;
    struct domrec doms[MAX_DOMAINS];
    unsigned ndoms;
    struct drvfault *dfaults; /* reported by vtd_drv_fault_poll */
    size_t ndfault, dfault_seen;
    unsigned passed, failed;
    int status; /* 0 running, 2 stopped by an error */
};

/* output (scenario_exec.c) */
FILE *sw_out(struct sc_world *w); /* NULL: silent */
bool sw_json(struct sc_world *w);
void sw_text_prefix(struct sc_world *w, int unit);
void sw_json_begin(struct sc_world *w, const char *ev, int unit);
void sw_jhex(FILE *f, const char *key, uint64_t v);
void sw_jstrkey(FILE *f, const char *key, const char *v);
void sw_run_error(struct sc_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sw_perm_name(uint8_t p, char *buf);
/* the unit and its registers */
struct vtd *sw_cur_unit(struct sc_world *w);
uint64_t sw_reg_offset(struct sc_world *w, const struct sc_reg *r);
uint64_t sw_mmio_rd(struct sc_world *w, const char *name, uint64_t off, unsigned size);
void sw_mmio_wr(struct sc_world *w, const char *name, uint64_t off, unsigned size, uint64_t v);
int sw_zero_page(struct sc_world *w, uint64_t pa);

/* expectations (scenario_expect.c): run one expect command */
void sw_expect(struct sc_world *w, const struct sc_cmd *c);
void sw_expect_result(struct sc_world *w, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* driver commands (scenario_drv.c) */
void sw_drv(struct sc_world *w, const struct sc_cmd *c);
/* vtd_remap_msi on the current unit, reported as an irq event (`msi`, `drv msi`) */
void sw_send_msi(struct sc_world *w, const struct vtd_msi *m);
void sw_drv_destroy_all(struct sc_world *w);

#endif
