/* SPDX-License-Identifier: MIT */
/*
 * Scalable mode (RTADDR.TTM = 01): the interface between the scalable-mode
 * structures (root, context, PASID directory and PASID table: sm.c, owned by
 * the scalable-mode work) and first-level / nested translation (fl.c).
 *
 * The scalable-mode path resolves a request to a decoded PASID-table entry
 * (struct pasidinfo, from the PASID cache or memory) and then, by PGTT:
 *   010 second-level only  -> the second-level walker (sl_walk.c)
 *   100 pass-through       -> the address itself
 *   001 first-level only   -> vtd_fl_walk()
 *   011 nested             -> vtd_fl_walk(), which translates every
 *                             first-level table pointer and the final
 *                             address through the second level
 */
#ifndef VTD_HW_SM_H
#define VTD_HW_SM_H
#include "internal.h"

/* PASID-table entry PGTT values (§9.6) */
#define VTD_PGTT_FL 1u
#define VTD_PGTT_SL 2u
#define VTD_PGTT_NESTED 3u
#define VTD_PGTT_PT 4u

/* A PASID-table entry decoded (as the PASID cache holds it).  Field names
 * follow spec Rev 5.10 where it renamed them (first stage = first level,
 * second stage = second level). */
struct pasidinfo {
    bool present, fpd;
    uint8_t pgtt;     /* VTD_PGTT_* */
    uint16_t did;     /* domain id tagging IOTLB / paging-structure cache entries */
    uint32_t pasid;   /* the PASID this entry is for (RID_PASID for requests without one) */
    /* second level (PGTT 010, 011) */
    uint64_t slptptr; /* second-level page-table pointer */
    uint8_t aw;       /* AW field: 1 = 3-level, 2 = 4-level, 3 = 5-level */
    uint8_t sl_levels;
    bool slee;        /* second-level execute enable */
    bool slade;       /* second-level accessed/dirty enable */
    /* first level (PGTT 001, 011) */
    uint64_t flptptr; /* first-level page-table pointer (a GPA when nested) */
    uint8_t fl_levels; /* 4, or 5 with FLPM = 01 */
    bool sre;         /* supervisor requests enabled */
    bool wpe;         /* write protect enable (supervisor writes honour R/W) */
    bool eafe;        /* extended accessed flag enable */
    /* memory type / snoop */
    bool pgsnp, pwsnp;
    uint64_t raw[8];  /* the entry as read (raw_valid), else zero */
    bool raw_valid;   /* false when the entry came from the PASID cache */
    bool fspm5;       /* FSPM = 01 (5-level first level) */
};

/* A scalable-mode context entry decoded (as the context cache holds it). */
struct smctx {
    uint64_t pasiddirptr;
    uint32_t rid_pasid; /* 0 without ECAP.RPS */
    uint8_t pdts;
    bool fpd, dte, paside, pre;
    bool rid_priv;      /* false without ECAP.RPRIVS */
};

/* Resolve w->req through the scalable-mode root, context, PASID directory
 * and PASID-table entries (context cache and PASID cache first): 0 with
 * *sc, *pi, w->sm_pasid and w->sm_priv filled, or a fault reason (38h-5Dh,
 * 89h) with w->qualified and w->fpd (the OR of the FPDs read) set.  Checks
 * everything Table 30 assigns to these structures for the request type,
 * including PGTT support (5Bh), execute (5Ch) and supervisor (5Dh)
 * requests. */
int vtd_sm_fetch(struct walk *w, struct smctx *sc, struct pasidinfo *pi);
/* For check_stale: 1 when the context entry in memory no longer matches
 * *sc, 2 when the PASID-table entry no longer matches *pi, 0 otherwise. */
int vtd_sm_stale(struct walk *w, const struct smctx *sc, const struct pasidinfo *pi);

/* First-level or nested translation (fl.c) of w->req under PASID entry pi:
 * fills *lf and returns 0, or returns a fault reason (7xh/8xh, or a nested
 * second-level reason), setting w->qualified as Table 30 says.  Fills the
 * IOTLB and paging-structure caches (tagged with pi->did and the PASID) when
 * w allows caching. */
int vtd_fl_walk(struct walk *w, const struct pasidinfo *pi, struct leaf *lf);
/* First-level permission (VTD_R / VTD_W, 0 = none) from the cumulative R/W
 * and U/S bits of a leaf (§3.6.1), and the reserved bits of a present
 * first-level entry at level l; shared with vtd_mappings (shadow.c). */
uint8_t vtd_fl_perm(bool rw, bool us, bool priv, bool wpe);
uint64_t vtd_fl_rsvd(const struct vtd *u, unsigned l, uint64_t pte);

#endif
