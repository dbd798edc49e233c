/* SPDX-License-Identifier: MIT */
/* First-level / nested test set-up (fl_tables.h). */
#include "fl_tables.h"

#include <string.h>

void fl_config(struct vtd_config *cfg)
{
    sm_config(cfg);
    cfg->cap |= VTD_CAP_FL1GP | VTD_CAP_FL5LP;
    cfg->ecap |= VTD_ECAP_FLTS | VTD_ECAP_NEST | VTD_ECAP_EAFS;
}

static uint64_t gpa_of(const struct flx *x, uint64_t hpa) { return x->nested ? hpa + FLX_GOFF : hpa; }
static uint64_t hpa_of(const struct flx *x, uint64_t gpa) { return x->nested ? gpa - FLX_GOFF : gpa; }

/* a fresh first-level table page (nested: mapped R/W in the second level) */
static uint64_t fl_table(struct flx *x)
{
    uint64_t h = th_alloc_page(x->t);
    if (x->nested)
        flx_sl_map(x, h + FLX_GOFF, h, VTD_SL_R | VTD_SL_W);
    return h;
}

void flx_init(struct flx *x, struct th *t, bool nested, int levels)
{
    memset(x, 0, sizeof(*x));
    x->t = t;
    x->levels = levels;
    x->nested = nested;
    x->sl_levels = 4;
    sm_qi_init(t);
    x->dir = sm_dev(t, FLX_SID, 0, VTD_SMCTX_PASIDE, 0);
    if (nested)
        x->sl_root = th_alloc_page(t);
    x->fl_root = fl_table(x);
    if (nested)
        sm_pe_nested(x->q, gpa_of(x, x->fl_root), levels == 5, x->sl_root, VTD_AW_48, FLX_DID);
    else
        sm_pe_fl(x->q, x->fl_root, levels == 5, FLX_DID);
    x->q[1] |= VTD_PE_Q1_PWSNP;
    x->q[2] |= VTD_PE_Q2_SRE;
    x->pe = sm_set_pe(t, x->dir, FLX_PASID, x->q);
    sm_enable(t);
}

void flx_update_pe(struct flx *x)
{
    x->pe = sm_set_pe(x->t, x->dir, FLX_PASID, x->q);
    uint64_t d[4];
    sm_desc_pc(d, SM_PC_PASID, FLX_DID, FLX_PASID);
    sm_qi_submit(x->t, d);
    sm_desc_piotlb(d, SM_PIOTLB_PASID, FLX_DID, FLX_PASID, 0, 0, false);
    sm_qi_submit(x->t, d);
    sm_qi_sync(x->t);
}

static unsigned fl_index(uint64_t va, int level) { return (unsigned)(va >> (12 + 9 * (level - 1))) & 511; }

uint64_t flx_map(struct flx *x, uint64_t va, uint64_t out, uint64_t page, uint64_t leaf)
{
    int leaf_level = page == (1ULL << 30) ? 3 : page == (2ULL << 20) ? 2 : 1;
    if (leaf_level == 1 && page != 4096)
        fail_msg("flx_map: page 0x%llx", (unsigned long long)page);
    uint64_t table = x->fl_root;
    for (int l = x->levels; l > leaf_level; l--) {
        uint64_t ea = table + fl_index(va, l) * 8, e = th_r64(x->t, ea);
        if (!(e & VTD_FL_P)) {
            e = gpa_of(x, fl_table(x)) | FLX_TABLE_BITS;
            th_w64(x->t, ea, e);
        } else if (e & VTD_FL_PS) {
            fail_msg("flx_map: 0x%llx under a level-%d leaf", (unsigned long long)va, l);
        }
        table = hpa_of(x, e & VTD_FL_ADDR_MASK);
    }
    uint64_t ea = table + fl_index(va, leaf_level) * 8;
    th_w64(x->t, ea, out | leaf | (leaf_level > 1 ? VTD_FL_PS : 0));
    return ea;
}

uint64_t flx_pte(struct flx *x, uint64_t va, int level)
{
    uint64_t table = x->fl_root;
    for (int l = x->levels; l > level; l--) {
        uint64_t e = th_r64(x->t, table + fl_index(va, l) * 8);
        if (!(e & VTD_FL_P) || (e & VTD_FL_PS))
            fail_msg("flx_pte: no level-%d table for 0x%llx", level, (unsigned long long)va);
        table = hpa_of(x, e & VTD_FL_ADDR_MASK);
    }
    return table + fl_index(va, level) * 8;
}

uint64_t flx_sl_map(struct flx *x, uint64_t gpa, uint64_t hpa, uint64_t flags)
{
    uint64_t e = th_pte_addr(x->t, x->sl_root, x->sl_levels, gpa, 1);
    if (e) {
        th_w64(x->t, e, hpa | flags);
        return e;
    }
    return th_map(x->t, x->sl_root, x->sl_levels, gpa, hpa, 4096, 4096, flags);
}

uint64_t flx_sl_pte(struct flx *x, uint64_t gpa, int level)
{
    return th_pte_addr(x->t, x->sl_root, x->sl_levels, gpa, level);
}

struct vtd_request flx_req(uint64_t va, uint8_t access, bool priv)
{
    struct vtd_request r = sm_req(FLX_SID, true, FLX_PASID, va, access);
    r.priv = priv;
    return r;
}
