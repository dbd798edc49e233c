/* SPDX-License-Identifier: MIT */
/* Scalable-mode table builders and 256-bit queued invalidation (sm_tables.h). */
#include "sm_tables.h"

#include <string.h>

void sm_config(struct vtd_config *cfg)
{
    vtd_config_scalable(cfg);
}

/* ---- queued invalidation, 256-bit descriptors ---- */

/* the queue and the wait-status word live in pages found through these
 * (one per harness: the harness has no spare field, so the queue base is
 * read back from IQA) */
static uint64_t qbase(struct th *t)
{
    return th_rd64(t, VTD_REG_IQA) & VTD_IQA_IQA_MASK;
}

void sm_qi_init(struct th *t)
{
    uint64_t q = th_alloc_page(t);
    th_alloc_page(t); /* the page after the queue holds the wait status */
    th_wr64(t, VTD_REG_IQT, 0);
    th_wr64(t, VTD_REG_IQA, q | VTD_IQA_DW);
    uint32_t gsts = th_rd32(t, VTD_REG_GSTS) & (uint32_t)VTD_GCMD_PERSISTENT;
    th_wr32(t, VTD_REG_GCMD, gsts | (uint32_t)VTD_GCMD_QIE);
    assert_true(th_rd32(t, VTD_REG_GSTS) & VTD_GSTS_QIES);
}

uint64_t sm_qi_submit(struct th *t, const uint64_t d[4])
{
    uint64_t tail = th_rd64(t, VTD_REG_IQT) & VTD_IQT_QT_MASK;
    uint64_t at = qbase(t) + tail;
    for (int i = 3; i >= 0; i--)
        th_w64(t, at + 8 * (unsigned)i, d[i]);
    th_wr64(t, VTD_REG_IQT, (tail + 32) & (VTD_PAGE_SIZE - 1));
    return at;
}

void sm_qi_sync(struct th *t)
{
    uint64_t status = qbase(t) + VTD_PAGE_SIZE;
    uint32_t v = (uint32_t)th_r64(t, status) + 1;
    uint64_t d[4] = {VTD_DESC_WAIT | VTD_DESC_WAIT_SW | (uint64_t)v << VTD_DESC_WAIT_STDATA_SHIFT, status, 0, 0};
    th_w64(t, status, 0);
    sm_qi_submit(t, d);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal((uint32_t)th_r64(t, status), v);
}

void sm_desc_cc(uint64_t d[4], unsigned g, uint16_t did, uint16_t sid, unsigned fm)
{
    d[0] = VTD_DESC_CC | (uint64_t)g << 4 | (uint64_t)did << 16 | (uint64_t)sid << 32 | (uint64_t)fm << 48;
    d[1] = d[2] = d[3] = 0;
}

void sm_desc_iotlb(uint64_t d[4], unsigned g, uint16_t did, uint64_t addr, unsigned am, bool ih)
{
    d[0] = VTD_DESC_IOTLB | (uint64_t)g << 4 | (uint64_t)did << 16;
    d[1] = (addr & VTD_DESC_ADDR_MASK) | (ih ? VTD_DESC_IOTLB_IH : 0) | am;
    d[2] = d[3] = 0;
}

void sm_desc_piotlb(uint64_t d[4], unsigned g, uint16_t did, uint32_t pasid, uint64_t addr, unsigned am, bool ih)
{
    d[0] = VTD_DESC_PIOTLB | (uint64_t)g << 4 | (uint64_t)did << 16 | (uint64_t)pasid << 32;
    d[1] = (addr & VTD_DESC_ADDR_MASK) | (ih ? VTD_DESC_IOTLB_IH : 0) | am;
    d[2] = d[3] = 0;
}

void sm_desc_pc(uint64_t d[4], unsigned g, uint16_t did, uint32_t pasid)
{
    d[0] = VTD_DESC_PC | (uint64_t)g << 4 | (uint64_t)did << 16 | (uint64_t)pasid << 32;
    d[1] = d[2] = d[3] = 0;
}

void sm_desc_pdevtlb(uint64_t d[4], uint16_t sid, uint32_t pasid, bool gi, uint64_t addr, bool s)
{
    d[0] = VTD_DESC_PDEVTLB | (uint64_t)sid << 16 | (uint64_t)pasid << 32;
    d[1] = (addr & VTD_DESC_ADDR_MASK) | (s ? VTD_BIT(11) : 0) | (gi ? 1u : 0);
    d[2] = d[3] = 0;
}

void sm_inval_all(struct th *t)
{
    uint64_t d[4];
    sm_desc_cc(d, 1, 0, 0, 0);
    sm_qi_submit(t, d);
    sm_desc_pc(d, SM_PC_GLOBAL, 0, 0);
    sm_qi_submit(t, d);
    sm_desc_iotlb(d, 1, 0, 0, 0, false);
    sm_qi_submit(t, d);
    sm_qi_sync(t);
}

void sm_enable(struct th *t)
{
    th_set_root(t, VTD_TTM_SCALABLE);
    th_enable_te(t);
}

/* ---- root and context ---- */

static uint64_t root_half(const struct th *t, uint16_t sid)
{
    return t->rta + (uint64_t)(sid >> 8) * VTD_ROOT_SIZE + ((sid & 0x80) ? 8 : 0);
}

uint64_t sm_ctx_addr(struct th *t, uint16_t sid)
{
    uint64_t r = th_r64(t, root_half(t, sid));
    if (!(r & VTD_SMROOT_P))
        fail_msg("sm_ctx_addr: root entry half for %04x not present", sid);
    return (r & VTD_SMROOT_CTP_MASK) + (uint64_t)(sid & 0x7F) * VTD_SMCTX_SIZE;
}

uint64_t sm_set_ctx(struct th *t, uint16_t sid, uint64_t q0, uint64_t q1)
{
    uint64_t ra = root_half(t, sid);
    if (!(th_r64(t, ra) & VTD_SMROOT_P))
        th_w64(t, ra, th_alloc_page(t) | VTD_SMROOT_P);
    uint64_t ca = sm_ctx_addr(t, sid);
    th_w64(t, ca + 24, 0);
    th_w64(t, ca + 16, 0);
    th_w64(t, ca + 8, q1);
    th_w64(t, ca, q0);
    return ca;
}

uint64_t sm_ctx_q0(uint64_t pasid_dir, unsigned pdts, uint64_t flags)
{
    return pasid_dir | (uint64_t)pdts << VTD_SMCTX_PDTS_SHIFT | flags | VTD_SMCTX_P;
}

uint64_t sm_ctx_q1(uint32_t rid_pasid, bool rid_priv)
{
    return (rid_pasid & VTD_SMCTX_Q1_RID_PASID_MASK) | (rid_priv ? VTD_SMCTX_Q1_RID_PRIV : 0);
}

uint64_t sm_dev(struct th *t, uint16_t sid, unsigned pdts, uint64_t flags, uint32_t rid_pasid)
{
    /* 2^(pdts+7) entries of 8 bytes: 1 KiB .. 8 MiB; pages are bump-allocated, so contiguous */
    uint64_t bytes = 8ULL << (pdts + 7), dir = th_alloc_page(t);
    for (uint64_t b = VTD_PAGE_SIZE; b < bytes; b += VTD_PAGE_SIZE)
        th_alloc_page(t);
    sm_set_ctx(t, sid, sm_ctx_q0(dir, pdts, flags), sm_ctx_q1(rid_pasid, false));
    return dir;
}

/* ---- PASID directory and table ---- */

uint64_t sm_pe_addr(struct th *t, uint64_t dir, uint32_t pasid)
{
    uint64_t da = dir + (uint64_t)(pasid >> 6) * VTD_PDE_SIZE;
    uint64_t de = th_r64(t, da);
    if (!(de & VTD_PDE_P)) {
        de = th_alloc_page(t) | VTD_PDE_P | (de & VTD_PDE_FPD);
        th_w64(t, da, de);
    }
    return (de & VTD_PDE_PTP_MASK) + (uint64_t)(pasid & 63) * VTD_PE_SIZE;
}

uint64_t sm_set_pe(struct th *t, uint64_t dir, uint32_t pasid, const uint64_t q[8])
{
    uint64_t pa = sm_pe_addr(t, dir, pasid);
    for (int i = 7; i >= 0; i--)
        th_w64(t, pa + 8 * (unsigned)i, q[i]);
    return pa;
}

void sm_pe_sl(uint64_t q[8], uint64_t slptptr, unsigned aw, uint16_t did)
{
    memset(q, 0, 8 * sizeof(q[0]));
    q[0] = slptptr | (uint64_t)2 << VTD_PE_Q0_PGTT_SHIFT | (uint64_t)aw << VTD_PE_Q0_AW_SHIFT | VTD_PE_Q0_P;
    q[1] = did;
}

void sm_pe_pt(uint64_t q[8], uint16_t did)
{
    memset(q, 0, 8 * sizeof(q[0]));
    q[0] = (uint64_t)4 << VTD_PE_Q0_PGTT_SHIFT | VTD_PE_Q0_P;
    q[1] = did;
}

void sm_pe_fl(uint64_t q[8], uint64_t flptptr, bool five_level, uint16_t did)
{
    memset(q, 0, 8 * sizeof(q[0]));
    q[0] = (uint64_t)1 << VTD_PE_Q0_PGTT_SHIFT | VTD_PE_Q0_P;
    q[1] = did;
    q[2] = flptptr | (five_level ? (uint64_t)1 << VTD_PE_Q2_FSPM_SHIFT : 0);
}

void sm_pe_nested(uint64_t q[8], uint64_t flptptr, bool five_level, uint64_t slptptr, unsigned aw, uint16_t did)
{
    sm_pe_fl(q, flptptr, five_level, did);
    q[0] = slptptr | (uint64_t)3 << VTD_PE_Q0_PGTT_SHIFT | (uint64_t)aw << VTD_PE_Q0_AW_SHIFT | VTD_PE_Q0_P;
}

struct vtd_request sm_req(uint16_t sid, bool pasid_valid, uint32_t pasid, uint64_t addr, uint8_t access)
{
    struct vtd_request r = {.sid = sid, .at = VTD_AT_UNTRANSLATED, .access = access,
                            .pasid_valid = pasid_valid, .pasid = pasid, .addr = addr};
    return r;
}
