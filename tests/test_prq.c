/* Page request queue interface registers (ECAP.PRS, spec §11.4.11), the
 * context-entry PRE bit they make meaningful, and page group response
 * descriptors (QI type 9) delivered to vtd_host.page_response.  Page
 * requests themselves are not modelled yet (docs/page-requests.md). */
#include "sm_tables.h"

#include <stdlib.h>

#define DEV SID(1, 2, 0)
#define DID 7
#define RIDP 1
#define IOVA 0x40000000ULL
#define PA 0x7000000ULL

/* vtd_config_scalable() advertises page requests (PRS) and page-request
 * drain (PDS) */
static void prs_config(struct vtd_config *c)
{
    sm_config(c);
    assert_true((c->ecap & (VTD_ECAP_PRS | VTD_ECAP_PDS)) == (VTD_ECAP_PRS | VTD_ECAP_PDS));
}

/* a scalable-mode part without page requests */
static void noprs_config(struct vtd_config *c)
{
    sm_config(c);
    c->ecap &= ~(VTD_ECAP_PRS | VTD_ECAP_PDS);
}

static struct th *prs_new(void **state)
{
    struct vtd_config c;
    prs_config(&c);
    return th_new(state, &c);
}

static void test_prs_config_accepted(void **state)
{
    struct th *t = prs_new(state);
    assert_true(th_rd64(t, VTD_REG_ECAP) & VTD_ECAP_PRS);
}

/* ECAP.PRS outside scalable mode is inconsistent */
static void test_prs_needs_smts(void **state)
{
    (void)state;
    struct vtd_config c;
    vtd_config_default(&c);
    c.ecap |= VTD_ECAP_PRS;
    struct vtd *u = NULL;
    assert_int_not_equal(vtd_create(&c, NULL, &u), 0);
    assert_null(u);
}

static void test_reset_values(void **state)
{
    struct th *t = prs_new(state);
    assert_int_equal(th_rd64(t, VTD_REG_PQH), 0);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 0);
    assert_int_equal(th_rd64(t, VTD_REG_PQA), 0);
    assert_int_equal(th_rd32(t, VTD_REG_PRS), 0);
    assert_int_equal(th_rd32(t, VTD_REG_PECTL), (uint32_t)VTD_ECTL_IM);
    assert_int_equal(th_rd32(t, VTD_REG_PEDATA), 0);
    assert_int_equal(th_rd32(t, VTD_REG_PEADDR), 0);
    assert_int_equal(th_rd32(t, VTD_REG_PEUADDR), 0);
}

static void test_rw_masks(void **state)
{
    struct th *t = prs_new(state);
    unsigned haw = t->cfg.haw;
    th_wr64(t, VTD_REG_PQH, ~0ULL);
    assert_int_equal(th_rd64(t, VTD_REG_PQH), VTD_GENMASK(18, 5));
    th_wr64(t, VTD_REG_PQT, ~0ULL);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), VTD_GENMASK(18, 5));
    th_wr64(t, VTD_REG_PQA, ~0ULL);
    assert_int_equal(th_rd64(t, VTD_REG_PQA), VTD_GENMASK(haw - 1, 12) | 7);
    th_wr64(t, VTD_REG_PQA, 0x12345000ULL | 3);
    assert_int_equal(th_rd64(t, VTD_REG_PQA), 0x12345003ULL);
    th_wr32(t, VTD_REG_PEDATA, ~0U);
    assert_int_equal(th_rd32(t, VTD_REG_PEDATA), 0xFFFF);
    th_wr32(t, VTD_REG_PEADDR, ~0U);
    assert_int_equal(th_rd32(t, VTD_REG_PEADDR), 0xFFFFFFFC);
    th_wr32(t, VTD_REG_PEUADDR, ~0U);
    assert_int_equal(th_rd32(t, VTD_REG_PEUADDR), 0xFFFFFFFF);
    /* IM is RW, IP read-only; 29:0 RsvdP */
    th_wr32(t, VTD_REG_PECTL, 0);
    assert_int_equal(th_rd32(t, VTD_REG_PECTL), 0);
    th_wr32(t, VTD_REG_PECTL, (uint32_t)VTD_ECTL_IP);
    assert_int_equal(th_rd32(t, VTD_REG_PECTL), 0);
    th_wr32(t, VTD_REG_PECTL, (uint32_t)VTD_ECTL_IM);
    assert_int_equal(th_rd32(t, VTD_REG_PECTL), (uint32_t)VTD_ECTL_IM);
    /* PRS is RW1CS: writing ones to clear status bits that are clear sets nothing */
    th_wr32(t, VTD_REG_PRS, ~0U);
    assert_int_equal(th_rd32(t, VTD_REG_PRS), 0);
}

/* Without ECAP.PRS the registers are RsvdZ: they read 0 whatever is written */
static void test_absent_without_prs(void **state)
{
    struct vtd_config c;
    noprs_config(&c);
    struct th *t = th_new(state, &c);
    assert_false(th_rd64(t, VTD_REG_ECAP) & VTD_ECAP_PRS);
    th_wr64(t, VTD_REG_PQH, ~0ULL);
    th_wr64(t, VTD_REG_PQA, ~0ULL);
    th_wr32(t, VTD_REG_PECTL, 0);
    th_wr32(t, VTD_REG_PEDATA, ~0U);
    assert_int_equal(th_rd64(t, VTD_REG_PQH), 0);
    assert_int_equal(th_rd64(t, VTD_REG_PQA), 0);
    assert_int_equal(th_rd32(t, VTD_REG_PECTL), 0);
    assert_int_equal(th_rd32(t, VTD_REG_PEDATA), 0);
}

/* A device whose scalable-mode context entry has the given flags, a PASID
 * table entry for RID_PASID translating IOVA to PA through the second level */
static void dev_setup(struct th *t, uint64_t flags)
{
    sm_qi_init(t);
    sm_enable(t);
    uint64_t dir = sm_dev(t, DEV, 0, flags, RIDP);
    uint64_t sl = th_alloc_page(t);
    th_map(t, sl, 4, IOVA, PA, 0x1000, 4096, VTD_SL_R | VTD_SL_W);
    uint64_t q[8];
    sm_pe_sl(q, sl, 2, DID);
    sm_set_pe(t, dir, RIDP, q);
    th_clear_logs(t);
}

static struct vtd_result dma(struct th *t)
{
    struct vtd_request r = sm_req(DEV, false, 0, IOVA + 0x10, VTD_R);
    return th_req(t, &r);
}

static void expect_ctx_fault(struct th *t, struct vtd_result r, uint8_t fr)
{
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, fr);
    uint64_t lo, hi;
    th_frcd(t, 0, &lo, &hi);
    assert_true(hi & VTD_FRCD_HI_F);
    assert_int_equal(VTD_FIELD_GET(hi, 39, 32), fr);
    assert_int_equal(hi & VTD_FRCD_HI_SID_MASK, DEV);
}

/* PRE=1 with DTE=1 is a valid entry when page requests are supported */
static void test_pre_valid_with_prs(void **state)
{
    struct th *t = prs_new(state);
    dev_setup(t, VTD_SMCTX_DTE | VTD_SMCTX_PRE);
    struct vtd_result r = dma(t);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, PA + 0x10);
}

/* SCT.4: PRE=1 with DTE=0 is an invalid programming of the context entry */
static void test_pre_without_dte_invalid(void **state)
{
    struct th *t = prs_new(state);
    dev_setup(t, VTD_SMCTX_PRE);
    expect_ctx_fault(t, dma(t), VTD_FR_SM_CTX_INVALID);
    assert_true(th_has_diag(t, VTD_DIAG_SM_CTX_INVALID));
}

/* Without ECAP.PRS, PRE is a reserved bit (SCT.3) */
static void test_pre_reserved_without_prs(void **state)
{
    struct vtd_config c;
    noprs_config(&c);
    struct th *t = th_new(state, &c);
    dev_setup(t, VTD_SMCTX_DTE | VTD_SMCTX_PRE);
    expect_ctx_fault(t, dma(t), VTD_FR_SM_CTX_RSVD);
}

/* ---- page group response (QI descriptor type 9) ---- */

static uint64_t pgr_q0(uint16_t rid, bool pp, uint32_t pasid, unsigned rc)
{
    return VTD_DESC_PGRP_RESP | (pp ? VTD_BIT(4) : 0) | (uint64_t)rc << 12 | (uint64_t)rid << 16 |
           (uint64_t)pasid << 32;
}

static uint64_t pgr_q1(unsigned prgi) { return (uint64_t)prgi << 3; }

static void qi_ready(struct th *t)
{
    sm_qi_init(t);
    sm_enable(t);
    th_clear_logs(t);
    t->npresp = 0;
}

static void test_pgr_delivered(void **state)
{
    struct th *t = prs_new(state);
    qi_ready(t);
    uint64_t d[4] = {pgr_q0(DEV, true, 0x12345, VTD_PRC_SUCCESS), pgr_q1(0x1AB) | 7 /* IGN */, 0, 0};
    sm_qi_submit(t, d);
    sm_qi_sync(t);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(t->npresp, 1);
    assert_int_equal(t->presp[0].sid, DEV);
    assert_true(t->presp[0].pasid_valid);
    assert_int_equal(t->presp[0].pasid, 0x12345);
    assert_int_equal(t->presp[0].prgi, 0x1AB);
    assert_int_equal(t->presp[0].code, VTD_PRC_SUCCESS);

    /* without PASID: the PASID field is ignored */
    uint64_t e[4] = {pgr_q0(SID(3, 1, 2), false, 0x777, VTD_PRC_INVALID_REQUEST), pgr_q1(5), 0, 0};
    sm_qi_submit(t, e);
    uint64_t f[4] = {pgr_q0(DEV, true, 1, VTD_PRC_FAILURE), pgr_q1(0), 0, 0};
    sm_qi_submit(t, f);
    sm_qi_sync(t);
    assert_int_equal(t->npresp, 3);
    assert_int_equal(t->presp[1].sid, SID(3, 1, 2));
    assert_false(t->presp[1].pasid_valid);
    assert_int_equal(t->presp[1].pasid, 0);
    assert_int_equal(t->presp[1].prgi, 5);
    assert_int_equal(t->presp[1].code, VTD_PRC_INVALID_REQUEST);
    assert_int_equal(t->presp[2].code, VTD_PRC_FAILURE);
    assert_int_equal(t->presp[2].prgi, 0);
}

/* one descriptor on a fresh unit: it stops the queue with IQEI iqei, the
 * head stays at it and nothing reaches the device */
static void check_pgr_error(const struct vtd_config *c, const uint64_t d[4], unsigned iqei, int diag)
{
    struct th t;
    th_init(&t, c);
    qi_ready(&t);
    uint64_t at = sm_qi_submit(&t, d);
    assert_true(th_rd32(&t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(&t, VTD_REG_IQERCD) & VTD_IQERCD_IQEI_MASK, iqei);
    assert_int_equal(th_rd64(&t, VTD_REG_IQH), at & (VTD_PAGE_SIZE - 1));
    assert_true(th_has_diag(&t, diag));
    assert_int_equal(t.npresp, 0);
    th_fini(&t);
}

static void test_pgr_reserved(void **state)
{
    (void)state;
    struct vtd_config c;
    prs_config(&c);
    const uint64_t q0 = pgr_q0(DEV, true, 9, 0), q1 = pgr_q1(3);
    const uint64_t bad[][4] = {
        {q0 | VTD_BIT(5), q1, 0, 0},  {q0 | VTD_BIT(8), q1, 0, 0}, {q0 | VTD_BIT(52), q1, 0, 0},
        {q0 | VTD_BIT(63), q1, 0, 0}, {q0, q1 | VTD_BIT(12), 0, 0}, {q0, q1 | VTD_BIT(63), 0, 0},
        {q0, q1, 1, 0},               {q0, q1, 0, VTD_BIT(63)},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_pgr_error(&c, bad[i], VTD_IQEI_RSVD, VTD_DIAG_QI_DESC_RSVD);
}

/* without ECAP.PRS a page group response is an invalid descriptor type */
static void test_pgr_without_prs(void **state)
{
    (void)state;
    struct vtd_config c;
    noprs_config(&c);
    const uint64_t d[4] = {pgr_q0(DEV, false, 0, 0), pgr_q1(1), 0, 0};
    check_pgr_error(&c, d, VTD_IQEI_TYPE, VTD_DIAG_QI_DESC_TYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_prs_config_accepted, th_teardown),
        cmocka_unit_test(test_prs_needs_smts),
        cmocka_unit_test_teardown(test_reset_values, th_teardown),
        cmocka_unit_test_teardown(test_rw_masks, th_teardown),
        cmocka_unit_test_teardown(test_absent_without_prs, th_teardown),
        cmocka_unit_test_teardown(test_pre_valid_with_prs, th_teardown),
        cmocka_unit_test_teardown(test_pre_without_dte_invalid, th_teardown),
        cmocka_unit_test_teardown(test_pre_reserved_without_prs, th_teardown),
        cmocka_unit_test_teardown(test_pgr_delivered, th_teardown),
        cmocka_unit_test(test_pgr_reserved),
        cmocka_unit_test(test_pgr_without_prs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
