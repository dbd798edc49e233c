/* Scalable-mode translation (RTADDR.TTM=01) through MMIO and memory: the
 * scalable-mode root, context, PASID directory and PASID-table entries,
 * PGTT 010 (second level) and 100 (pass-through), every Table 30 fault this
 * path produces with its fault record, FPD at each level, the PASID cache and
 * the PASID-based invalidation descriptors. */
#include "sm_tables.h"

#include <stdlib.h>
#include <string.h>

#define DEV SID(1, 2, 0)   /* devfn < 128: the lower context table */
#define DEVU SID(1, 0x11, 1) /* devfn >= 128: the upper one */
#define DID 7
#define PASID 5
#define RIDP 1 /* RID_PASID */
#define IOVA 0x40000000ULL
#define PA 0x7000000ULL

struct smt {
    struct th *t;
    uint64_t dir, sl, pe; /* PASID directory, second-level root, PASID-table entry of PASID */
    uint64_t ctx;
};

static struct smt *smt_new(void **state, const struct vtd_config *cfg)
{
    struct vtd_config c;
    if (!cfg) {
        sm_config(&c);
        cfg = &c;
    }
    struct th *t = th_new(state, cfg);
    struct smt *s = calloc(1, sizeof(*s));
    t->user = s;
    s->t = t;
    sm_qi_init(t);
    sm_enable(t);
    s->dir = sm_dev(t, DEV, 0, VTD_SMCTX_DTE | VTD_SMCTX_PASIDE, RIDP);
    s->ctx = sm_ctx_addr(t, DEV);
    s->sl = th_alloc_page(t);
    th_map(t, s->sl, 4, IOVA, PA, 0x4000, 4096, VTD_SL_R | VTD_SL_W);
    th_map(t, s->sl, 4, IOVA + 0x4000, PA + 0x4000, 0x1000, 4096, VTD_SL_R);
    uint64_t q[8];
    sm_pe_sl(q, s->sl, 2, DID);
    s->pe = sm_set_pe(t, s->dir, PASID, q);
    sm_set_pe(t, s->dir, RIDP, q);
    th_clear_logs(t);
    return s;
}

static int teardown(void **state)
{
    struct th *t = *state;
    if (t)
        free(t->user);
    return th_teardown(state);
}

static struct vtd_result req(struct smt *s, uint16_t sid, bool pv, uint32_t pasid, uint64_t addr, uint8_t acc,
                             uint8_t at, bool priv)
{
    struct vtd_request r = sm_req(sid, pv, pasid, addr, acc);
    r.at = at;
    r.priv = priv;
    return th_req(s->t, &r);
}

static struct vtd_result dma(struct smt *s, uint64_t addr, uint8_t acc)
{
    return req(s, DEV, true, PASID, addr, acc, VTD_AT_UNTRANSLATED, false);
}

/* The fault and its record (record 0 of a fresh unit). */
static void expect_fault(struct smt *s, struct vtd_result r, uint8_t fr, bool recorded, uint16_t sid, bool pv,
                         uint32_t pasid, bool priv, bool exe)
{
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, fr);
    assert_int_equal(r.fault_recorded, recorded);
    uint64_t lo, hi;
    th_frcd(s->t, 0, &lo, &hi);
    if (!recorded) {
        assert_false(hi & VTD_FRCD_HI_F);
        return;
    }
    assert_true(hi & VTD_FRCD_HI_F);
    assert_int_equal(VTD_FIELD_GET(hi, 39, 32), fr);
    assert_int_equal(hi & VTD_FRCD_HI_SID_MASK, sid);
    assert_int_equal(!!(hi & VTD_FRCD_HI_PP), pv);
    if (pv)
        assert_int_equal(VTD_FIELD_GET(hi, 59, 40), pasid & 0xFFFFF);
    assert_int_equal(!!(hi & VTD_FRCD_HI_PRIV), priv);
    assert_int_equal(!!(hi & VTD_FRCD_HI_EXE), exe);
    assert_true(th_rd32(s->t, VTD_REG_FSTS) & VTD_FSTS_PPF);
}

static void expect_ok(struct vtd_result r, uint64_t pa)
{
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, pa);
}

static void pe_get(struct smt *s, uint64_t q[8])
{
    for (int i = 0; i < 8; i++)
        q[i] = th_r64(s->t, s->pe + 8 * (unsigned)i);
}

static void pe_put(struct smt *s, const uint64_t q[8])
{
    for (int i = 7; i >= 0; i--)
        th_w64(s->t, s->pe + 8 * (unsigned)i, q[i]);
}

/* ---------------------------------------------------------------- PGTT */

static void test_sl_translate(void **state)
{
    struct smt *s = smt_new(state, NULL);
    struct vtd_result r = dma(s, IOVA + 0x1234, VTD_W);
    expect_ok(r, PA + 0x1234);
    assert_int_equal(r.perm, VTD_R | VTD_W);
    assert_int_equal(r.page_size, 4096);
    /* the upper context table (devfn >= 128) via UP/UCTP */
    uint64_t dir = sm_dev(s->t, DEVU, 0, VTD_SMCTX_PASIDE, RIDP);
    uint64_t q[8];
    sm_pe_sl(q, s->sl, 2, DID);
    sm_set_pe(s->t, dir, PASID, q);
    expect_ok(req(s, DEVU, true, PASID, IOVA + 0x2008, VTD_R, VTD_AT_UNTRANSLATED, false), PA + 0x2008);
    assert_true(th_r64(s->t, s->t->rta + 8 * 3) & VTD_SMROOT_P); /* bus 1: UP set */
    assert_int_equal(s->t->ndiag, 0);
}

static void test_rid_pasid(void **state)
{
    struct smt *s = smt_new(state, NULL);
    /* a request without PASID uses RID_PASID's entry: map it differently */
    uint64_t sl2 = th_alloc_page(s->t), q[8];
    th_map(s->t, sl2, 3, IOVA, PA + 0x100000, 0x1000, 4096, VTD_SL_R | VTD_SL_W);
    sm_pe_sl(q, sl2, 1, DID + 1);
    sm_set_pe(s->t, s->dir, RIDP, q);
    expect_ok(req(s, DEV, false, 0, IOVA + 8, VTD_R, VTD_AT_UNTRANSLATED, false), PA + 0x100008);
    expect_ok(dma(s, IOVA + 8, VTD_R), PA + 8);
    /* a request with PASID = RID_PASID: 48h */
    expect_fault(s, req(s, DEV, true, RIDP, IOVA, VTD_R, VTD_AT_UNTRANSLATED, false), VTD_FR_SM_CTX_RID_PASID, true,
                 DEV, true, RIDP, false, false);
}

static void test_passthrough(void **state)
{
    struct smt *s = smt_new(state, NULL);
    uint64_t q[8];
    sm_pe_pt(q, DID);
    pe_put(s, q);
    struct vtd_result r = dma(s, 0x123456789ULL, VTD_W);
    expect_ok(r, 0x123456789ULL);
    assert_int_equal(r.perm, VTD_R | VTD_W);
    /* translation request: R=W=1 */
    r = req(s, DEV, true, PASID, 0x5000, VTD_R, VTD_AT_TRANSLATION_REQ, false);
    expect_ok(r, 0x5000);
    assert_int_equal(r.perm, VTD_R | VTD_W);
    /* above HAW (52): 83h */
    expect_fault(s, dma(s, 1ULL << 52, VTD_R), VTD_FR_SM_ADDR_BEYOND_HAW, true, DEV, true, PASID, false, false);
}

static void test_pt_intr_range(void **state)
{
    struct smt *s = smt_new(state, NULL);
    uint64_t q[8];
    sm_pe_pt(q, DID);
    pe_put(s, q);
    expect_fault(s, dma(s, 0xFEE00000ULL, VTD_R), VTD_FR_SM_INTR_RANGE, true, DEV, true, PASID, false, false);
}

static void test_sl_intr_range(void **state)
{
    struct smt *s = smt_new(state, NULL);
    th_map(s->t, s->sl, 4, 0x80000000ULL, 0xFEE00000ULL, 0x1000, 4096, VTD_SL_R | VTD_SL_W);
    expect_fault(s, dma(s, 0x80000000ULL, VTD_W), VTD_FR_SM_INTR_RANGE, true, DEV, true, PASID, false, false);
}

/* Without FLTS / NEST advertised, PGTT 001 and 011 are "not supported" (5Bh) */
/* a scalable-mode part without first-level translation */
static void sm_config_no_fl(struct vtd_config *c)
{
    sm_config(c);
    c->ecap &= ~(VTD_ECAP_FLTS | VTD_ECAP_NEST | VTD_ECAP_EAFS);
    c->cap &= ~(VTD_CAP_FL1GP | VTD_CAP_FL5LP);
}

static void test_pgtt_fl_nested_unsupported(void **state)
{
    struct vtd_config nofl;
    sm_config_no_fl(&nofl);
    struct smt *s = smt_new(state, &nofl);
    uint64_t q[8];
    sm_pe_fl(q, th_alloc_page(s->t), false, DID);
    q[2] = 0; /* FSPTPTR is reserved without FLTS (5Ah): PGTT alone */
    pe_put(s, q);
    expect_fault(s, dma(s, IOVA, VTD_R), VTD_FR_SM_PTE_INVALID, true, DEV, true, PASID, false, false);
    assert_true(th_has_diag(s->t, VTD_DIAG_PASID_INVALID));
}

static void test_pgtt_nested_fault(void **state)
{
    struct vtd_config nofl;
    sm_config_no_fl(&nofl);
    struct smt *s = smt_new(state, &nofl);
    uint64_t q[8];
    sm_pe_nested(q, 0x1000, false, s->sl, 2, DID);
    q[2] = 0; /* FSPTPTR is reserved without FLTS */
    pe_put(s, q);
    expect_fault(s, dma(s, IOVA, VTD_R), VTD_FR_SM_PTE_INVALID, true, DEV, true, PASID, false, false);
}

/* ------------------------------------------------------- fault reasons */

enum { M_NONE, M_ROOT_RD, M_ROOT_NP, M_ROOT_RSVD, M_CTX_RD, M_CTX_NP, M_CTX_RSVD, M_CTX_INV, M_DTE, M_PASIDE,
       M_PDTS, M_PSS, M_PDE_RD, M_PDE_NP, M_PDE_RSVD, M_PE_RD, M_PE_NP, M_PE_RSVD, M_PGTT, M_AW, M_EXEC, M_SRE,
       M_SL_RD, M_SL_PTR, M_SL_PERM, M_SL_RSVD, M_AD_NOSNOOP, M_ADDR_AW, M_NO_WRITE, M_NO_READ, M_TD_HAW,
       M_TD_PASID };

struct fcase {
    int m;
    uint8_t fr;
    bool qualified;
    int lvl; /* the deepest FPD read before the fault: 0 none, 1 context, 2 PASID directory, 3 PASID-table entry */
};

static const struct fcase cases[] = {
    {M_ROOT_RD, VTD_FR_SM_ROOT_READ_ERROR, false, 0}, {M_ROOT_NP, VTD_FR_SM_ROOT_NOT_PRESENT, false, 0},
    {M_ROOT_RSVD, VTD_FR_SM_ROOT_RSVD, false, 0},     {M_CTX_RD, VTD_FR_SM_CTX_READ_ERROR, false, 0},
    {M_CTX_NP, VTD_FR_SM_CTX_NOT_PRESENT, true, 1},   {M_CTX_RSVD, VTD_FR_SM_CTX_RSVD, true, 1},
    {M_CTX_INV, VTD_FR_SM_CTX_INVALID, true, 1},      {M_DTE, VTD_FR_SM_CTX_DTE, true, 1},
    {M_PASIDE, VTD_FR_SM_CTX_PASIDE, true, 1},        {M_PDTS, VTD_FR_SM_CTX_PDTS, true, 1},
    {M_PSS, VTD_FR_SM_PASID_SIZE, true, 1},           {M_PDE_RD, VTD_FR_SM_PDE_READ_ERROR, false, 1},
    {M_PDE_NP, VTD_FR_SM_PDE_NOT_PRESENT, true, 2},   {M_PDE_RSVD, VTD_FR_SM_PDE_RSVD, true, 2},
    {M_PE_RD, VTD_FR_SM_PTE_READ_ERROR, false, 2},    {M_PE_NP, VTD_FR_SM_PTE_NOT_PRESENT, true, 3},
    {M_PE_RSVD, VTD_FR_SM_PTE_RSVD, true, 3},         {M_PGTT, VTD_FR_SM_PTE_INVALID, true, 3},
    {M_AW, VTD_FR_SM_PTE_INVALID, true, 3},           {M_EXEC, VTD_FR_SM_EXEC_UNSUPPORTED, true, 3},
    {M_SRE, VTD_FR_SM_PTE_SRE, true, 3},              {M_SL_RD, VTD_FR_SM_SL_READ_ERROR, true, 3},
    {M_SL_PTR, VTD_FR_SM_SL_PTR, true, 3},            {M_SL_PERM, VTD_FR_SM_SL_PERM, true, 3},
    {M_SL_RSVD, VTD_FR_SM_SL_RSVD, true, 3},          {M_AD_NOSNOOP, VTD_FR_SM_SL_AD_NOSNOOP, true, 3},
    {M_ADDR_AW, VTD_FR_SM_ADDR_BEYOND_AW, true, 3},   {M_NO_WRITE, VTD_FR_SM_NO_WRITE, true, 3},
    {M_NO_READ, VTD_FR_SM_NO_READ, true, 3},          {M_TD_HAW, VTD_FR_SM_ADDR_BEYOND_HAW, true, 2 /* RID_PASID entry: no FPD */},
    {M_TD_PASID, VTD_FR_SM_CTX_EPTR, true, 1},
};

static void hole(struct th *t, uint64_t pa)
{
    assert_int_equal(vtd_mem_add_hole(t->mem, pa & ~0xFFFULL, 4096), 0);
}

/* Break the tables as case m says; returns the request that then faults. */
static struct vtd_request breakit(struct smt *s, int m)
{
    struct th *t = s->t;
    struct vtd_request r = sm_req(DEV, true, PASID, IOVA, VTD_R);
    uint64_t ra = t->rta + 16 * (DEV >> 8), q[8];
    pe_get(s, q);
    uint64_t de = s->dir + 8 * (PASID >> 6);
    switch (m) {
    case M_ROOT_RD: hole(t, ra); break;
    case M_ROOT_NP: th_w64(t, ra, 0); break;
    case M_ROOT_RSVD: th_w64(t, ra, th_r64(t, ra) | 0x10); break;
    case M_CTX_RD: hole(t, s->ctx); break;
    case M_CTX_NP: th_w64(t, s->ctx, th_r64(t, s->ctx) & ~VTD_SMCTX_P); break;
    case M_CTX_RSVD: th_w64(t, s->ctx + 16, 1); break;
    case M_CTX_INV: th_w64(t, s->ctx + 8, sm_ctx_q1(0x3000, false)); break; /* RID_PASID beyond PDTS=0 */
    case M_DTE:
        th_w64(t, s->ctx, th_r64(t, s->ctx) & ~VTD_SMCTX_DTE);
        r.at = VTD_AT_TRANSLATION_REQ;
        break;
    case M_PASIDE: th_w64(t, s->ctx, th_r64(t, s->ctx) & ~VTD_SMCTX_PASIDE); break;
    case M_PDTS: r.pasid = 0x2000; break; /* PDTS=0 covers 8192 PASIDs */
    case M_PSS: r.pasid = 0x100000; break;
    case M_PDE_RD: hole(t, de); break;
    case M_PDE_NP: th_w64(t, de, th_r64(t, de) & ~VTD_PDE_P); break;
    case M_PDE_RSVD: th_w64(t, de, th_r64(t, de) | 0x4); break;
    case M_PE_RD: hole(t, s->pe); break;
    case M_PE_NP: q[0] &= ~VTD_PE_Q0_P; pe_put(s, q); break;
    case M_PE_RSVD: q[3] = 1; pe_put(s, q); break;
    case M_PGTT: q[0] = (q[0] & ~VTD_PE_Q0_PGTT_MASK) | (5ULL << 6); pe_put(s, q); break;
    case M_AW: q[0] = (q[0] & ~VTD_PE_Q0_AW_MASK) | (4ULL << 2); pe_put(s, q); break;
    case M_EXEC: r.access = VTD_R | VTD_X; break;
    case M_SRE: r.priv = true; break;
    case M_SL_RD: hole(t, th_pte_addr(t, s->sl, 4, IOVA, 1)); break;
    case M_SL_PTR: hole(t, s->sl); break;
    case M_SL_PERM: r.addr = IOVA + 0x100000; break; /* not mapped: R=W=0 */
    case M_SL_RSVD: {
        uint64_t p = th_pte_addr(t, s->sl, 4, IOVA, 4); /* PS in a PML4E */
        th_w64(t, p, th_r64(t, p) | VTD_SL_PS);
        break;
    }
    case M_AD_NOSNOOP: q[0] |= VTD_PE_Q0_SSADE; pe_put(s, q); break; /* PWSNP=0 */
    case M_ADDR_AW: r.addr = 1ULL << 48; break;
    case M_NO_WRITE: r.addr = IOVA + 0x4000; r.access = VTD_W; break;
    case M_NO_READ: {
        uint64_t p = th_pte_addr(t, s->sl, 4, IOVA, 1);
        th_w64(t, p, (th_r64(t, p) & ~VTD_SL_R));
        break;
    }
    case M_TD_HAW: r.pasid_valid = false; r.at = VTD_AT_TRANSLATED; r.addr = 1ULL << 52; break;
    case M_TD_PASID: r.at = VTD_AT_TRANSLATED; break;
    default: break;
    }
    return r;
}

static void run_case(void **state, const struct fcase *c, int fpd_level)
{
    print_message("case fault 0x%02x FPD level %d\n", c->fr, fpd_level);
    struct smt *s = smt_new(state, NULL);
    struct th *t = s->t;
    /* FPD at one level: 0 none, 1 context, 2 PASID directory, 3 PASID-table entry */
    if (fpd_level == 1)
        th_w64(t, s->ctx, th_r64(t, s->ctx) | VTD_SMCTX_FPD);
    if (fpd_level == 2) {
        uint64_t de = s->dir + 8 * (PASID >> 6);
        th_w64(t, de, th_r64(t, de) | VTD_PDE_FPD);
    }
    if (fpd_level == 3)
        th_w64(t, s->pe, th_r64(t, s->pe) | VTD_PE_Q0_FPD);
    struct vtd_request r = breakit(s, c->m);
    struct vtd_result res = th_req(t, &r);
    /* an FPD read on the path before the fault suppresses a qualified one */
    bool fpd_seen = fpd_level && c->lvl >= fpd_level;
    bool recorded = !(c->qualified && fpd_seen);
    expect_fault(s, res, c->fr, recorded, DEV, r.pasid_valid, r.pasid, r.priv, (r.access & VTD_X) != 0);
    teardown(state);
    *state = NULL;
}

static void test_fault_reasons(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case %zu: fault 0x%02x\n", i, cases[i].fr);
        run_case(state, &cases[i], 0);
    }
}

static void test_fpd_levels(void **state)
{
    for (int lvl = 1; lvl <= 3; lvl++)
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            run_case(state, &cases[i], lvl);
}

static void test_exec_ver8(void **state)
{
    struct vtd_config c;
    sm_config(&c);
    c.ver = 0x80;
    struct smt *s = smt_new(state, &c);
    /* RTA.5: not qualified, even with the context's FPD */
    th_w64(s->t, s->ctx, th_r64(s->t, s->ctx) | VTD_SMCTX_FPD);
    expect_fault(s, dma(s, IOVA, VTD_R | VTD_X), VTD_FR_RTA_EXEC, true, DEV, true, PASID, false, true);
    /* without PASID, execute-requested is treated as 0: a read */
    expect_ok(req(s, DEV, false, 0, IOVA, VTD_R | VTD_X, VTD_AT_UNTRANSLATED, false), PA);
}

static void test_priv(void **state)
{
    struct smt *s = smt_new(state, NULL);
    uint64_t q[8];
    pe_get(s, q);
    q[2] |= VTD_PE_Q2_SRE;
    pe_put(s, q);
    struct vtd_result r = req(s, DEV, true, PASID, IOVA, VTD_R, VTD_AT_TRANSLATION_REQ, true);
    expect_ok(r, PA);
    assert_true(r.ats & VTD_ATS_PRIV);
    /* RID_PRIV: a request without PASID is privileged; its entry has SRE=0 */
    th_w64(s->t, s->ctx + 8, sm_ctx_q1(RIDP, true));
    sm_inval_all(s->t);
    expect_fault(s, req(s, DEV, false, 0, IOVA, VTD_R, VTD_AT_UNTRANSLATED, false), VTD_FR_SM_PTE_SRE, true, DEV,
                 false, 0, false, false);
    /* a translation request gets a completion granting nothing, no fault */
    th_frcd_clear(s->t, 0);
    r = req(s, DEV, false, 0, IOVA, VTD_R, VTD_AT_TRANSLATION_REQ, false);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
}

static void test_rsvd_per_caps(void **state)
{
    /* RID_PASID is reserved without ECAP.RPS; SSADE without SLADS */
    struct vtd_config c;
    sm_config(&c);
    c.ecap &= ~(VTD_ECAP_RPS | VTD_ECAP_SLADS);
    struct smt *s = smt_new(state, &c);
    expect_fault(s, dma(s, IOVA, VTD_R), VTD_FR_SM_CTX_RSVD, true, DEV, true, PASID, false, false);
    th_frcd_clear(s->t, 0);
    th_w64(s->t, s->ctx + 8, 0);
    sm_inval_all(s->t);
    expect_ok(dma(s, IOVA, VTD_R), PA);
    th_w64(s->t, s->pe, th_r64(s->t, s->pe) | VTD_PE_Q0_SSADE);
    sm_inval_all(s->t);
    struct vtd_result r = dma(s, IOVA, VTD_R);
    assert_int_equal(r.fault_reason, VTD_FR_SM_PTE_RSVD);
}

/* ------------------------------------------------------------ A/D bits */

static void test_ssade(void **state)
{
    struct smt *s = smt_new(state, NULL);
    uint64_t q[8];
    pe_get(s, q);
    q[0] |= VTD_PE_Q0_SSADE;
    q[1] |= VTD_PE_Q1_PWSNP;
    pe_put(s, q);
    uint64_t pte = th_pte_addr(s->t, s->sl, 4, IOVA, 1), top = th_pte_addr(s->t, s->sl, 4, IOVA, 4);
    expect_ok(dma(s, IOVA, VTD_R), PA);
    assert_true(th_r64(s->t, pte) & VTD_SL_A);
    assert_false(th_r64(s->t, pte) & VTD_SL_D);
    assert_true(th_r64(s->t, top) & VTD_SL_A);
    /* a write through the cached entry still sets D */
    expect_ok(dma(s, IOVA, VTD_W), PA);
    assert_true(th_r64(s->t, pte) & VTD_SL_D);
    /* vtd_walk never writes */
    uint64_t p2 = th_pte_addr(s->t, s->sl, 4, IOVA + 0x1000, 1), before = th_r64(s->t, p2);
    struct vtd_request rq = sm_req(DEV, true, PASID, IOVA + 0x1000, VTD_W);
    struct vtd_result res;
    assert_int_equal(vtd_walk(s->t->u, &rq, &res, NULL, NULL), 0);
    assert_int_equal(res.status, VTD_OK);
    assert_int_equal(th_r64(s->t, p2), before);
}

static int cmpxchg_fails(void *opaque, uint64_t pa, uint64_t *expected, uint64_t desired)
{
    (void)opaque, (void)pa, (void)expected, (void)desired;
    return -1;
}

/* SSS.6: the A/D update cannot be written (the platform's atomic fails) */
static void test_ad_failed(void **state)
{
    struct smt *s = smt_new(state, NULL);
    struct th *t = s->t;
    vtd_destroy(t->u);
    struct vtd_host h = t->host;
    h.mem_cmpxchg64 = cmpxchg_fails;
    assert_int_equal(vtd_create(&t->cfg, &h, &t->u), 0);
    sm_qi_init(t);
    sm_enable(t);
    th_w64(t, s->pe + 8, th_r64(t, s->pe + 8) | VTD_PE_Q1_PWSNP);
    th_w64(t, s->pe, th_r64(t, s->pe) | VTD_PE_Q0_SSADE);
    expect_fault(s, dma(s, IOVA, VTD_R), VTD_FR_SM_SL_AD_FAILED, true, DEV, true, PASID, false, false);
}

/* a translation request for write sets D too */
static void test_ad_ats(void **state)
{
    struct smt *s = smt_new(state, NULL);
    th_w64(s->t, s->pe + 8, th_r64(s->t, s->pe + 8) | VTD_PE_Q1_PWSNP);
    th_w64(s->t, s->pe, th_r64(s->t, s->pe) | VTD_PE_Q0_SSADE);
    uint64_t pte = th_pte_addr(s->t, s->sl, 4, IOVA + 0x2000, 1), ro = th_pte_addr(s->t, s->sl, 4, IOVA + 0x4000, 1);
    expect_ok(req(s, DEV, true, PASID, IOVA + 0x2000, VTD_W, VTD_AT_TRANSLATION_REQ, false), PA + 0x2000);
    assert_true(th_r64(s->t, pte) & VTD_SL_D);
    /* no write permission: A only */
    expect_ok(req(s, DEV, true, PASID, IOVA + 0x4000, VTD_W, VTD_AT_TRANSLATION_REQ, false), PA + 0x4000);
    assert_true(th_r64(s->t, ro) & VTD_SL_A);
    assert_false(th_r64(s->t, ro) & VTD_SL_D);
}

/* vtd_create: the scalable-mode capability dependencies (Rev 5.10 §11.4.3) */
static void test_config_checks(void **state)
{
    (void)state;
    struct vtd_mem *m;
    assert_int_equal(vtd_mem_create(1ULL << 40, &m), 0);
    struct vtd_host h;
    vtd_mem_host(m, &h);
    struct vtd *u;
    struct vtd_config c;
    static const struct {
        uint64_t clear, set;
        int rc;
    } v[] = {
        {0, 0, 0},
        {VTD_ECAP_QI | VTD_ECAP_DT | VTD_ECAP_IR | VTD_ECAP_EIM, 0, VTD_EINVAL}, /* SMTS needs QI */
        {VTD_ECAP_SMTS, 0, VTD_EINVAL},           /* PASID, SLTS ... need SMTS */
        {VTD_ECAP_SMPWCS, 0, VTD_EINVAL},         /* SLADS needs SMPWCS */
        {0, VTD_ECAP_ERS, VTD_EINVAL},            /* Rev 5.10: ERS must be 0 */
        {VTD_ECAP_FLTS, 0, VTD_EINVAL},           /* NEST needs FLTS */
        {VTD_ECAP_FLTS | VTD_ECAP_NEST, 0, VTD_EINVAL}, /* FS1GP / FS5LP need FLTS */
        {VTD_ECAP_SMPWCS | VTD_ECAP_SLADS, VTD_ECAP_EAFS, VTD_EINVAL}, /* EAFS needs SMPWCS */
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        vtd_config_scalable(&c);
        if (v[i].clear & VTD_ECAP_QI)
            c.cap &= ~VTD_CAP_PI;
        c.ecap = (c.ecap & ~v[i].clear) | v[i].set;
        print_message("check %zu\n", i);
        int rc = vtd_create(&c, &h, &u);
        assert_int_equal(rc, v[i].rc);
        if (!rc)
            vtd_destroy(u);
    }
    vtd_config_scalable(&c);
    c.pasid_cache_entries = 3;
    assert_int_equal(vtd_create(&c, &h, &u), VTD_EINVAL);
    vtd_mem_destroy(m);
}

/* ------------------------------------------------------ PASID cache */

static void test_pasid_cache_stale(void **state)
{
    struct smt *s = smt_new(state, NULL);
    expect_ok(dma(s, IOVA, VTD_R), PA);
    /* repoint the entry to pass-through without invalidating: the cached
     * second-level entry is used, and reported stale */
    uint64_t q[8];
    sm_pe_pt(q, DID);
    pe_put(s, q);
    expect_ok(dma(s, IOVA, VTD_R), PA);
    assert_true(th_has_diag(s->t, VTD_DIAG_STALE_PASID) || th_has_diag(s->t, VTD_DIAG_STALE_IOTLB));
    /* an address the IOTLB does not hold: the PASID cache still says SL */
    struct vtd_result r = dma(s, IOVA + 0x1000, VTD_R);
    expect_ok(r, PA + 0x1000);
    assert_true(th_has_diag(s->t, VTD_DIAG_STALE_PASID));
    /* PASID-selective PASID-cache invalidation of another PASID: still stale */
    uint64_t d[4];
    sm_desc_pc(d, SM_PC_PASID, DID, PASID + 1);
    sm_qi_submit(s->t, d);
    expect_ok(dma(s, IOVA + 0x2000, VTD_R), PA + 0x2000);
    /* the right one, then the IOTLB of that PASID: pass-through now */
    sm_desc_pc(d, SM_PC_PASID, DID, PASID);
    sm_qi_submit(s->t, d);
    sm_desc_piotlb(d, SM_PIOTLB_PASID, DID, PASID, 0, 0, false);
    sm_qi_submit(s->t, d);
    sm_qi_sync(s->t);
    expect_ok(dma(s, IOVA, VTD_R), IOVA);
}

static void test_pasid_cache_domain_global(void **state)
{
    struct smt *s = smt_new(state, NULL);
    uint64_t q[8], d[4];
    expect_ok(dma(s, IOVA, VTD_R), PA);
    sm_pe_pt(q, DID);
    pe_put(s, q);
    /* domain-selective for another domain: kept */
    sm_desc_pc(d, SM_PC_DOMAIN, DID + 1, 0);
    sm_qi_submit(s->t, d);
    expect_ok(dma(s, IOVA + 0x3000, VTD_R), PA + 0x3000);
    sm_desc_pc(d, SM_PC_DOMAIN, DID, 0);
    sm_qi_submit(s->t, d);
    expect_ok(dma(s, IOVA + 0x3000, VTD_R), IOVA + 0x3000);
    /* global */
    sm_pe_sl(q, s->sl, 2, DID);
    pe_put(s, q);
    expect_ok(dma(s, IOVA + 0x3000, VTD_R), IOVA + 0x3000);
    sm_desc_pc(d, SM_PC_GLOBAL, 0, 0);
    sm_qi_submit(s->t, d);
    expect_ok(dma(s, IOVA + 0x3000, VTD_R), PA + 0x3000);
    /* reserved granularity 10b: IQE, IQEI=4 */
    sm_desc_pc(d, 2, 0, 0);
    sm_qi_submit(s->t, d);
    assert_true(th_rd32(s->t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(s->t, VTD_REG_IQERCD) & 0xF, VTD_IQEI_RSVD);
}

static void test_ctx_inval_drops_pasid_cache(void **state)
{
    struct smt *s = smt_new(state, NULL);
    uint64_t q[8], d[4];
    expect_ok(dma(s, IOVA, VTD_R), PA);
    sm_pe_pt(q, DID);
    pe_put(s, q);
    /* device-selective context-cache invalidation (DID ignored in SM) drops
     * the device's PASID-cache entries; then the IOTLB */
    sm_desc_cc(d, 3, 0x55, DEV, 0);
    sm_qi_submit(s->t, d);
    sm_desc_iotlb(d, 2, DID, 0, 0, false);
    sm_qi_submit(s->t, d);
    expect_ok(dma(s, IOVA, VTD_R), IOVA);
}

/* ------------------------------------------------- IOTLB invalidation */

static void test_piotlb(void **state)
{
    struct smt *s = smt_new(state, NULL);
    uint64_t d[4], pte = th_pte_addr(s->t, s->sl, 4, IOVA, 1);
    expect_ok(dma(s, IOVA, VTD_R), PA);
    expect_ok(req(s, DEV, false, 0, IOVA, VTD_R, VTD_AT_UNTRANSLATED, false), PA);
    th_w64(s->t, pte, (PA + 0x10000) | VTD_SL_R | VTD_SL_W);
    /* page-selective-within-PASID leaves second-level entries (Table 24) */
    sm_desc_piotlb(d, SM_PIOTLB_PAGE, DID, PASID, IOVA, 0, false);
    sm_qi_submit(s->t, d);
    expect_ok(dma(s, IOVA, VTD_R), PA);
    /* PASID-selective drops this PASID's entries only */
    sm_desc_piotlb(d, SM_PIOTLB_PASID, DID, PASID, 0, 0, false);
    sm_qi_submit(s->t, d);
    expect_ok(dma(s, IOVA, VTD_R), PA + 0x10000);
    expect_ok(req(s, DEV, false, 0, IOVA, VTD_R, VTD_AT_UNTRANSLATED, false), PA);
    /* IOTLB page-selective (type 2) drops second-level entries of every PASID */
    th_w64(s->t, pte, (PA + 0x20000) | VTD_SL_R | VTD_SL_W);
    sm_desc_iotlb(d, 3, DID, IOVA, 0, true);
    sm_qi_submit(s->t, d);
    expect_ok(dma(s, IOVA, VTD_R), PA + 0x20000);
    expect_ok(req(s, DEV, false, 0, IOVA, VTD_R, VTD_AT_UNTRANSLATED, false), PA + 0x20000);
    /* reserved granularity */
    sm_desc_piotlb(d, 1, DID, PASID, 0, 0, false);
    sm_qi_submit(s->t, d);
    assert_true(th_rd32(s->t, VTD_REG_FSTS) & VTD_FSTS_IQE);
}

static void test_pdevtlb(void **state)
{
    struct smt *s = smt_new(state, NULL);
    uint64_t d[4];
    sm_desc_pdevtlb(d, DEV, 0x1234, true, 0x5000, false);
    sm_qi_submit(s->t, d);
    sm_qi_sync(s->t);
    assert_int_equal(s->t->ndevtlb, 1);
    assert_true(s->t->devtlb_pasid_valid);
    assert_true(s->t->devtlb_global);
    assert_int_equal(s->t->devtlb_pasid, 0x1234);
    d[1] |= 2; /* reserved bit 65 */
    sm_qi_submit(s->t, d);
    assert_true(th_rd32(s->t, VTD_REG_FSTS) & VTD_FSTS_IQE);
}

static void test_128bit_descriptor_in_sm(void **state)
{
    struct vtd_config c;
    sm_config(&c);
    struct th *t = th_new(state, &c);
    /* a 128-bit queue, then scalable mode: every descriptor is invalid */
    uint64_t q = th_alloc_page(t);
    th_wr64(t, VTD_REG_IQT, 0);
    th_wr64(t, VTD_REG_IQA, q);
    th_wr32(t, VTD_REG_GCMD, (uint32_t)VTD_GCMD_QIE);
    sm_enable(t);
    th_w64(t, q, VTD_DESC_CC | 1u << 4);
    th_wr64(t, VTD_REG_IQT, 16);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD) & 0xF, VTD_IQEI_TYPE);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), 0);
}

static void test_legacy_pasid_desc_invalid(void **state)
{
    struct vtd_config c;
    sm_config(&c);
    struct th *t = th_new(state, &c);
    sm_qi_init(t);
    th_enable(t); /* legacy TTM */
    uint64_t d[4];
    sm_desc_pc(d, SM_PC_GLOBAL, 0, 0);
    sm_qi_submit(t, d);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD) & 0xF, VTD_IQEI_TYPE);
    /* and a request with PASID in legacy mode: 31h */
    struct vtd_request r = sm_req(DEV, true, 3, IOVA, VTD_R);
    assert_int_equal(th_req(t, &r).fault_reason, VTD_FR_RTA_PASID_LEGACY);
}

/* ------------------------------------------------------------ vtd_walk */

struct steps {
    int kinds[16];
    uint64_t v0[16];
    int n;
};

static void on_step(void *arg, const struct vtd_walk_step *st)
{
    struct steps *s = arg;
    if (s->n < 16) {
        s->kinds[s->n] = st->kind;
        s->v0[s->n] = st->val[0];
        s->n++;
    }
}

static void test_walk_steps(void **state)
{
    struct smt *s = smt_new(state, NULL);
    struct steps st = {.n = 0};
    struct vtd_request rq = sm_req(DEV, true, PASID, IOVA, VTD_R);
    struct vtd_result res;
    assert_int_equal(vtd_walk(s->t->u, &rq, &res, on_step, &st), 0);
    expect_ok(res, PA);
    assert_int_equal(st.n, 8);
    assert_int_equal(st.kinds[0], VTD_STEP_SM_ROOT);
    assert_int_equal(st.kinds[1], VTD_STEP_SM_CONTEXT);
    assert_int_equal(st.v0[1], th_r64(s->t, s->ctx));
    assert_int_equal(st.kinds[2], VTD_STEP_PASID_DIR);
    assert_int_equal(st.kinds[3], VTD_STEP_PASID_ENTRY);
    assert_int_equal(st.v0[3], th_r64(s->t, s->pe));
    assert_int_equal(st.kinds[4], VTD_STEP_SL_PTE);
    assert_int_equal(vtd_mappings(s->t->u, DEV, 0, 4096, NULL, NULL), VTD_EINVAL);
}

static int map_cb(void *arg, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm)
{
    (void)arg, (void)iova, (void)pa, (void)size, (void)perm;
    return 0;
}

/* vtd_mappings in scalable mode walks the RID_PASID entry (test_sm_random
 * compares vtd_mappings_pasid with the reference for every PGTT) */
static void test_mappings_rid_pasid(void **state)
{
    struct smt *s = smt_new(state, NULL);
    assert_int_equal(vtd_mappings(s->t->u, DEV, 0, 4096, map_cb, NULL), 0);
    /* a PASID the context does not enable has none */
    assert_int_equal(vtd_mappings_pasid(s->t->u, DEV, true, 0x7FFFF, false, 0, 4096, map_cb, NULL), VTD_ENOENT);
}

static void test_ats_sl(void **state)
{
    struct smt *s = smt_new(state, NULL);
    uint64_t q[8];
    pe_get(s, q);
    q[1] |= VTD_PE_Q1_PGSNP;
    pe_put(s, q);
    struct vtd_result r = req(s, DEV, true, PASID, IOVA + 0x4000, VTD_R | VTD_W, VTD_AT_TRANSLATION_REQ, false);
    expect_ok(r, PA + 0x4000);
    assert_int_equal(r.perm, VTD_R); /* effective permission, no fault */
    assert_true(r.ats & VTD_ATS_N);
    /* beyond AW: success with nothing granted */
    r = req(s, DEV, true, PASID, 1ULL << 50, VTD_R, VTD_AT_TRANSLATION_REQ, false);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    /* translated request without PASID bypasses translation */
    expect_ok(req(s, DEV, false, 0, 0x12345000, VTD_W, VTD_AT_TRANSLATED, false), 0x12345000);
    assert_false(th_rd32(s->t, VTD_REG_FSTS) & VTD_FSTS_PPF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sl_translate, teardown),
        cmocka_unit_test_teardown(test_rid_pasid, teardown),
        cmocka_unit_test_teardown(test_passthrough, teardown),
        cmocka_unit_test_teardown(test_pt_intr_range, teardown),
        cmocka_unit_test_teardown(test_sl_intr_range, teardown),
        cmocka_unit_test_teardown(test_pgtt_fl_nested_unsupported, teardown),
        cmocka_unit_test_teardown(test_pgtt_nested_fault, teardown),
        cmocka_unit_test_teardown(test_fault_reasons, teardown),
        cmocka_unit_test_teardown(test_fpd_levels, teardown),
        cmocka_unit_test_teardown(test_exec_ver8, teardown),
        cmocka_unit_test_teardown(test_priv, teardown),
        cmocka_unit_test_teardown(test_rsvd_per_caps, teardown),
        cmocka_unit_test_teardown(test_ssade, teardown),
        cmocka_unit_test_teardown(test_ad_failed, teardown),
        cmocka_unit_test_teardown(test_ad_ats, teardown),
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test_teardown(test_pasid_cache_stale, teardown),
        cmocka_unit_test_teardown(test_pasid_cache_domain_global, teardown),
        cmocka_unit_test_teardown(test_ctx_inval_drops_pasid_cache, teardown),
        cmocka_unit_test_teardown(test_piotlb, teardown),
        cmocka_unit_test_teardown(test_pdevtlb, teardown),
        cmocka_unit_test_teardown(test_128bit_descriptor_in_sm, teardown),
        cmocka_unit_test_teardown(test_legacy_pasid_desc_invalid, teardown),
        cmocka_unit_test_teardown(test_walk_steps, teardown),
        cmocka_unit_test_teardown(test_mappings_rid_pasid, teardown),
        cmocka_unit_test_teardown(test_ats_sl, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
