/* Reference for first-level and nested translation: a slow, cache-free
 * walk written from spec Rev 5.10 §3.6, §3.8, §9.7 and Table 30 (the rules
 * docs/model.md "First-level and nested translation" lists), independently
 * of src/hw/fl.c.  It reads the tables and changes nothing: the A/D/EA bits
 * a translation must set are returned as a list for the caller to check
 * after the unit translated. */
#ifndef VTD_TEST_REF_FL_H
#define VTD_TEST_REF_FL_H

#include <stdbool.h>
#include <stdint.h>

#include <vtd/mem.h>
#include <vtd/vtd.h>

struct ref_fl {
    uint64_t cap, ecap;
    unsigned haw, mgaw;
    /* the PASID-table entry */
    bool nested;
    unsigned levels; /* 4 or 5 */
    uint64_t flptptr;
    bool sre, wpe, eafe, pwsnp;
    uint64_t slptptr;
    unsigned aw; /* nested: 2 = 4-level */
    bool ssade;
};

#define REF_FL_MAX_UPD 32
struct ref_fl_upd {
    unsigned n;
    struct {
        uint64_t pa, bits;
    } u[REF_FL_MAX_UPD];
};

/* An untranslated request with PASID (req->priv = PR) under c: the outcome
 * (status, fault_reason, pa, page_size, perm) and the bits to be set. */
void ref_fl_translate(const struct ref_fl *c, struct vtd_mem *mem, const struct vtd_request *req,
                      struct vtd_result *res, struct ref_fl_upd *upd);

#endif
