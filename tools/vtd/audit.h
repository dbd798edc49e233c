/* SPDX-License-Identifier: MIT */
/*
 * `vtd audit`: what can each device reach?  The walker reads a raw physical
 * memory image directly (independent of the model): root, context, PASID
 * directory / table entries, second- and first-level page tables and the
 * interrupt remapping table, and collects per device the merged IOVA ->
 * physical ranges with permissions, plus the anomalies a reviewer should see.
 *
 * audit_regs.c  register file (NAME VALUE text, Linux iommu_regset, JSON)
 * audit_walk.c  the walker (audit_run) and its report
 * audit.c       the command: options, mmap, text / JSON / debugfs output
 */
#ifndef VTD_TOOL_AUDIT_H
#define VTD_TOOL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- registers ---- */
struct audit_regs {
    uint32_t ver;
    uint64_t cap, ecap, rtaddr, irta, iqa;
    uint32_t gsts;
    uint8_t haw;          /* host address width; 0 = not given (52 used) */
    uint64_t unit_base;   /* register base address (sysfs "address"), 0 if not given */
    char name[32];        /* unit name ("dmar0"), from an iommu_regset header or --name */
    unsigned seen;        /* AUDIT_REG_* bits given */
};
enum {
    AUDIT_REG_VER = 1, AUDIT_REG_CAP = 2, AUDIT_REG_ECAP = 4, AUDIT_REG_GSTS = 8,
    AUDIT_REG_RTADDR = 16, AUDIT_REG_IRTA = 32, AUDIT_REG_IQA = 64, AUDIT_REG_HAW = 128,
    AUDIT_REG_BASE = 256,
};
/* Parse a register file (text or JSON, told apart by the first non-blank
 * character).  unit: with an iommu_regset dump holding several units, the one
 * named so (NULL: the first).  0 on success; -1 with err filled as
 * "LINE:COL: message". */
int audit_regs_parse(const char *text, size_t len, const char *unit, struct audit_regs *r,
                     char *err, size_t errlen);

/* ---- the walk ---- */
#define AUDIT_U 8          /* perm bit beside VTD_R/W/X: first level, user-accessible */
#define AUDIT_NO_PASID 0xFFFFFFFFu

enum audit_tt {            /* how a device's requests are translated */
    AUDIT_TT_SL,           /* second level only (legacy TT 00/01, PGTT 010) */
    AUDIT_TT_FL,           /* first level only (PGTT 001) */
    AUDIT_TT_NESTED,       /* first level over second level (PGTT 011) */
    AUDIT_TT_PT,           /* pass-through (legacy TT 10, PGTT 100) */
    AUDIT_TT_OFF,          /* translation disabled (GSTS.TES = 0) */
    AUDIT_TT_BLOCKED,      /* entry present but unusable (reserved TT/PGTT, unreadable) */
};

struct audit_range {
    uint64_t iova, pa, size;
    uint8_t perm;          /* VTD_R | VTD_W | VTD_X | AUDIT_U */
};

/* One address space: a page-table walk result, shared by every device (and
 * PASID) whose entry names the same tables. */
struct audit_space {
    uint8_t tt;            /* AUDIT_TT_SL / FL / NESTED */
    uint8_t levels;        /* SL levels (SL, nested) or FL levels (FL) */
    uint8_t fl_levels;     /* nested: FL levels */
    uint64_t root;         /* SLPTPTR (SL, nested) or FLPTPTR (FL) */
    uint64_t fl_root;      /* nested: FLPTPTR (a GPA) */
    struct audit_range *r;
    size_t nr, cap;
    bool truncated;        /* the entry budget ran out inside this space */
};

/* One device's entry: a source-id (and PASID in scalable mode). */
struct audit_dev {
    uint16_t sid;
    uint32_t pasid;        /* AUDIT_NO_PASID for legacy mode */
    bool rid_pasid;        /* scalable mode: this PASID is the context's RID_PASID */
    uint8_t tt;            /* AUDIT_TT_* */
    uint16_t did;
    bool fpd, devtlb;      /* FPD; TT 01 / DTE: translated requests bypass translation */
    int space;             /* index into report spaces, -1 for PT / OFF / BLOCKED */
    uint64_t entry[8];     /* legacy: root lo/hi, ctx lo/hi; SM: root lo/hi, ctx 4 qwords */
    uint64_t pasid_entry[8];
    const char *why;       /* AUDIT_TT_BLOCKED: the reason */
};

enum audit_akind {
    AUDIT_A_TABLE_WRITE,   /* a device can write a translation structure */
    AUDIT_A_INTR_RANGE,    /* a mapping into 0xFEE00000-0xFEEFFFFF */
    AUDIT_A_IDENTITY,      /* IOVA == PA run */
    AUDIT_A_RESERVED,      /* reserved bits set in an entry */
    AUDIT_A_UNREADABLE,    /* an entry a walk could not read (outside the image) */
    AUDIT_A_LOOP,          /* a table points back to one on its own walk path */
    AUDIT_A_SHARED_TABLE,  /* one table referenced from two entries of one space */
    AUDIT_A_DID_CONFLICT,  /* one domain id, different page tables */
    AUDIT_A_PASSTHROUGH,   /* pass-through / TE off: the device reaches all memory */
    AUDIT_A_DEVTLB,        /* translated requests allowed (ATS): they bypass remapping */
    AUDIT_A_TRUNCATED,     /* the entry budget ran out */
    AUDIT_A_IRTE,          /* interrupt remapping table issue */
    AUDIT_A_KIND_MAX
};

struct audit_anomaly {
    uint8_t kind;          /* AUDIT_A_* */
    uint16_t sid;          /* device involved, or 0 */
    uint32_t pasid;        /* or AUDIT_NO_PASID */
    bool has_dev;
    uint64_t addr;         /* entry / table / IOVA involved */
    uint64_t pa;           /* physical address involved (TABLE_WRITE: the table's) */
    char msg[160];
};

/* Every translation structure found, for the "can a device write it" check. */
enum audit_tkind {
    AUDIT_T_ROOT, AUDIT_T_CONTEXT, AUDIT_T_PASID_DIR, AUDIT_T_PASID_TABLE,
    AUDIT_T_SL, AUDIT_T_FL, AUDIT_T_IRT, AUDIT_T_IQ, AUDIT_T_PID, AUDIT_T_KIND_MAX
};
struct audit_table {
    uint64_t pa, size;
    uint8_t kind;          /* AUDIT_T_* */
    bool owned;            /* found through a device's entries (sid, pasid say whose) */
    uint16_t sid;
    uint32_t pasid;
};

struct audit_irte {
    unsigned index;
    uint64_t lo, hi;
    bool posted;
    bool rsvd;
};

struct audit_report {
    bool te, sm, ir;       /* GSTS.TES, RTADDR.TTM scalable, GSTS.IRES */
    bool abort_dma;        /* TTM 11 */
    uint64_t root;         /* root table address */
    struct audit_dev *dev;
    size_t ndev, devcap;
    struct audit_space *space;
    size_t nspace, spacecap;
    struct audit_anomaly *an;
    size_t nan, ancap;
    size_t an_dropped;     /* anomalies beyond the limit, counted only */
    struct audit_table *tbl;
    size_t ntbl, tblcap;
    /* interrupt remapping table */
    uint64_t irt;          /* IRTA address */
    unsigned irt_entries;
    bool eime;
    struct audit_irte *irte;
    size_t nirte, irtecap;
    uint64_t entries_read; /* 8-byte entries read, all walks */
    bool truncated;        /* the entry budget ran out: the report is incomplete */
};

struct audit_image {
    const uint8_t *data;
    uint64_t size;
    uint64_t base;         /* physical address of data[0] */
};

struct audit_opts {
    uint64_t max_entries;  /* budget of 8-byte entries read; 0 = default (1 << 28) */
    size_t max_anomalies;  /* 0 = default (10000) */
    /* progress: called with done/total work units (buses); NULL = none */
    void (*progress)(void *arg, unsigned done, unsigned total);
    void *progress_arg;
};

/* Walk the image under the registers.  0 on success; -1 when the walk
 * cannot start (the root table or IRT is not in the image when enabled, out
 * of memory), with err filled.  The report is filled in either case; free
 * it with audit_report_free. */
int audit_run(const struct audit_image *img, const struct audit_regs *regs,
              const struct audit_opts *opts, struct audit_report *rep, char *err, size_t errlen);
void audit_report_free(struct audit_report *rep);

const char *audit_tt_name(int tt);
const char *audit_akind_name(int kind);
const char *audit_tkind_name(int kind);
/* "RW-" permission string into buf (at least 5 bytes); with fl a fourth
 * character: U user-accessible, S supervisor only. */
const char *audit_perm_str(uint8_t perm, bool fl, char *buf);

/* Output (audit.c) */
enum { AUDIT_FMT_TEXT, AUDIT_FMT_JSON, AUDIT_FMT_DEBUGFS };
void audit_print(FILE *f, int fmt, const struct audit_image *img, const struct audit_regs *regs,
                 const struct audit_report *rep);
/* debugfs domain_translation_struct body for one space: every leaf with its
 * PML5E..PTE path, as Linux prints it (audit_walk.c). */
void audit_print_domain_leaves(FILE *f, const struct audit_image *img, const struct audit_regs *regs,
                               const struct audit_space *sp);

#endif
