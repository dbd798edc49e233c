/* SPDX-License-Identifier: MIT */
/*
 * Decoding of the structures a VT-d translation reads (the steps
 * vtd_walk() reports) into the spec's named fields, the fault reasons in
 * words, and the text and JSON forms `vtd walk` prints.
 *
 * The tool keeps its own copy of a step (struct wf_step) that can hold every
 * kind, legacy and scalable (a 512-bit PASID-table entry, nested second-level
 * steps), whatever the linked model reports; wf_from_vtd() fills it from the
 * model's struct vtd_walk_step.
 */
#ifndef VTD_TOOL_WALKFMT_H
#define VTD_TOOL_WALKFMT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vtd/vtd.h>

/* Step kinds: the values of the model's VTD_STEP_* constants. */
enum {
    WF_ROOT = 1,        /* legacy root entry (128 bits), index = bus */
    WF_CONTEXT = 2,     /* legacy context entry (128 bits), index = devfn */
    WF_SL_PTE = 3,      /* second-level paging entry (64 bits) at `level` */
    WF_PASSTHROUGH = 4, /* the context (or PASID entry) says pass-through */
    WF_TE_OFF = 5,      /* translation disabled: address passed through */
    WF_SM_ROOT = 6,     /* scalable-mode root entry (128 bits), index = bus */
    WF_SM_CONTEXT = 7,  /* scalable-mode context entry (256 bits), index = devfn[6:0] */
    WF_PASID_DIR = 8,   /* PASID directory entry (64 bits), index = PASID[19:6] */
    WF_PASID_ENTRY = 9, /* PASID table entry (512 bits), index = PASID[5:0] */
    WF_FL_PTE = 10,     /* first-level paging entry (64 bits) at `level` */
    WF_KIND_MAX = 10
};

#define WF_NVAL 8
struct wf_step {
    int kind;       /* WF_* */
    int level;      /* paging level for WF_SL_PTE / WF_FL_PTE (1 = 4 KiB PTE), else 0 */
    unsigned index; /* index used into the table */
    uint64_t table; /* base address of the table read */
    uint64_t addr;  /* address of the entry read */
    uint64_t val[WF_NVAL]; /* the entry, 64-bit words, val[0] = bits 63:0 */
    bool read_error;       /* the read failed: the walk stops here */
    bool nested;    /* WF_SL_PTE inside a nested walk: translates a guest-physical address */
    int for_level;  /* nested: the first-level level whose table address this SL step
                       translates; 0 = the final output address */
    uint64_t input; /* the address this step translates (0 when the model does not say) */
};

/* Copy the model's step into the tool's form (fields the model does not have
 * are left 0). */
void wf_from_vtd(struct wf_step *d, const struct vtd_walk_step *s);

/* Name of a step kind ("root entry", "PASID-table entry", ...), "?" if unknown. */
const char *wf_kind_name(int kind);
/* Short name of the table a step reads ("root table", "PASID directory",
 * "SL PML4", "FL PT", ...): for SL/FL steps it depends on the level. */
const char *wf_table_name(int kind, int level);
/* Size of one entry in bytes (0 for steps that read nothing). */
unsigned wf_entry_bytes(int kind);
/* Number of entries of the table a step reads (0 for steps that read nothing). */
unsigned wf_table_entries(int kind);
/* What the index of a step stands for ("bus", "devfn", "PASID[19:6]",
 * "IOVA[47:39]", ...), written into buf. */
const char *wf_index_meaning(const struct wf_step *s, char *buf, size_t len);

/* One decoded field of an entry. */
enum { WF_FLAG, WF_NUM, WF_ADDR };
struct wf_field {
    const char *name; /* the spec's field name */
    int type;         /* WF_FLAG (one bit), WF_NUM (shifted down), WF_ADDR (in place) */
    unsigned hi, lo;  /* bit range within the whole entry (e.g. 79:64 for DID) */
    uint64_t value;
    const char *meaning; /* words for encoded values (TT, AW, PGTT, ...), or NULL */
};
#define WF_MAX_FIELDS 32
/* Decode the entry a step read into its fields.  Returns how many were
 * written to out (at most max); 0 for steps that read nothing or failed. */
int wf_decode(const struct wf_step *s, struct wf_field *out, int max);
/* Value of the named field of s (false when s has no such field). */
bool wf_field(const struct wf_step *s, const char *name, uint64_t *value);

/* The fault reason in words, e.g. 0x06 "read request to a page without read
 * permission", or NULL for a code the spec does not define. */
const char *wf_fault_words(uint8_t reason);
/* The fault reasons libvtd knows (every code of <vtd/defs.h>); returns the
 * count and, when list is not NULL, stores up to max of them. */
int wf_fault_codes(uint8_t *list, int max);

/* "00:02.0" for a source-id */
const char *wf_bdf(uint16_t sid, char *buf, size_t len);
/* "read" / "write" / "atomic" / "execute" for a request's access bits */
const char *wf_access_name(uint8_t access);
/* Page size as "4 KiB", "2 MiB", "1 GiB" */
const char *wf_size_name(uint64_t size, char *buf, size_t len);

/* s as a JSON string (quoted, escaped). */
void wf_json_str(FILE *f, const char *s);

/* Text output: the request, every step (table, index, entry address, raw
 * value, decoded fields) and the outcome.  Step numbers count from 1. */
void wf_print_request(FILE *f, const struct vtd_request *req);
void wf_print_step(FILE *f, int n, const struct wf_step *s);
void wf_print_result(FILE *f, const struct vtd_result *res);

/* JSON output: one object {"request":..., "steps":[...], "result":...}. */
void wf_print_json(FILE *f, const struct vtd_request *req, const struct wf_step *steps, int n,
                   const struct vtd_result *res);

#endif
