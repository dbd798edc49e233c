/* Reference for scalable-mode translation (RTADDR.TTM = 01): a slow,
 * cache-free walk of the scalable-mode root, context, PASID-directory and
 * PASID-table entries and of the PGTT 010 (second level, with SSADE A/D) and
 * 100 (pass-through) translations, written from docs/model.md "Scalable
 * mode" (its order of checks) and spec Rev 5.10 Table 30, independently of
 * src/hw/.  PGTT 001 and 011 are handed to ref_fl_translate (ref_fl.c).
 * It reads memory and changes nothing: the A/D bits the unit must set are
 * listed in *upd.  Untranslated requests only. */
#ifndef VTD_TEST_REF_SM_H
#define VTD_TEST_REF_SM_H

#include "ref_fl.h"

struct ref_sm {
    uint32_t ver;
    uint64_t cap, ecap;
    unsigned haw;
    uint64_t rta; /* latched RTADDR.RTA */
};

struct ref_sm_out {
    struct vtd_result res;  /* status, fault_reason, pa, page_size, perm */
    bool recorded;          /* a fault the unit records (no FPD on the path suppresses it) */
    uint32_t pasid;         /* PASID used: the request's or RID_PASID */
    uint16_t did;           /* the PASID-table entry's DID when one was decoded */
    bool have_pe;
    struct ref_fl_upd upd;  /* A/D (EA) bits to be set */
};

void ref_sm_translate(const struct ref_sm *c, struct vtd_mem *mem, const struct vtd_request *req,
                      struct ref_sm_out *o);

#endif
