/* Reference walker: a slow, obvious, cache-free model of legacy-mode DMA
 * remapping, written from docs/model.md ("Translation (legacy mode)") and
 * shared/VTD-FACTS.md (§2 structures, §3 fault reasons) independently of
 * src/hw/.  Tests compare the unit against it.
 *
 * It decides status, fault_reason, pa, page_size, perm and ats of a request.
 * It does not record faults (fault_recorded is always false) and keeps no
 * state between calls: every call reads the tables from memory afresh. */
#ifndef VTD_TEST_REF_WALK_H
#define VTD_TEST_REF_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtd/mem.h>
#include <vtd/vtd.h>

/* What the reference needs to know about the unit: its capabilities and the
 * register state software latched into it. */
struct ref_unit {
    uint32_t ver;       /* VER as advertised (major in bits 7:4) */
    uint64_t cap, ecap; /* CAP and ECAP as advertised */
    unsigned haw;       /* host address width: entry address bits >= haw are reserved */
    bool te;            /* GSTS.TES */
    uint64_t rta;       /* root table address latched by SRTP (RTADDR.RTA) */
    unsigned ttm;       /* RTADDR.TTM latched by SRTP */
    bool epm;           /* PMEN.EPM */
    uint32_t plmbase, plmlimit; /* PLMBASE / PLMLIMIT register values (bits 31:20) */
    uint64_t phmbase, phmlimit; /* PHMBASE / PHMLIMIT register values (bits haw-1:20) */

    /* Optional human-readable trace of every structure read and every
     * decision taken (NUL-terminated, truncated to trace_size).  NULL: none. */
    char *trace;
    size_t trace_size;
};

/* Translate req as docs/model.md says.  Returns 0 with the outcome in *res,
 * VTD_EINVAL for a malformed request (NULL pointers, unknown at / access
 * values), VTD_ENOTSUP for scalable mode (TTM=01 with ECAP.SMTS), which the
 * reference does not model. */
int ref_translate(const struct ref_unit *ru, struct vtd_mem *mem, const struct vtd_request *req,
                  struct vtd_result *res);

/* True when pa lies in an enabled protected memory region (model.md step 13). */
bool ref_in_pmr(const struct ref_unit *ru, uint64_t pa);

#endif
