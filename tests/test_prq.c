/* Page requests (ECAP.PRS, spec Rev 5.10 §7.4-§7.10, §11.4.11): the page
 * request queue registers, the context-entry PRE bit, vtd_page_request()
 * (Table 30's page request column, the page request descriptor, PQT, PRS,
 * the page request event, Table 31's automatic responses, §6.5.3.1's
 * implicit invalidation), page group response descriptors (QI type 9)
 * delivered to vtd_host.page_response, the wait descriptor's PD flag
 * (ECAP.PDS), and the whole fault-and-retry loop through a first-level
 * table.  Everything through MMIO and memory (docs/page-requests.md). */
#include "fl_tables.h"

#include <stdlib.h>
#include <string.h>

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


/* ================================================================ page requests */

#define PASID 0x55u
#define EV_ADDR 0xFEE01000u
#define EV_UADDR 0x12u
#define EV_DATA 0x4321u
#define DEV_FLAGS (VTD_SMCTX_DTE | VTD_SMCTX_PRE | VTD_SMCTX_PASIDE)
#define LOOP_VA 0x7000123000ULL /* first-level tests: a user page ... */
#define LOOP_PA 0x9000000ULL    /* ... and where software maps it */

/* A page request queue of 2^pqs pages at a fresh address, PQH = PQT = 0,
 * the page request event unmasked.  Returns the queue's base. */
static uint64_t prq_init(struct th *t, unsigned pqs)
{
    uint64_t q = th_alloc_page(t);
    for (unsigned i = 1; i < (1u << pqs); i++)
        th_alloc_page(t);
    th_wr64(t, VTD_REG_PQH, 0);
    th_wr64(t, VTD_REG_PQT, 0);
    th_wr64(t, VTD_REG_PQA, q | pqs);
    th_wr32(t, VTD_REG_PEDATA, EV_DATA);
    th_wr32(t, VTD_REG_PEADDR, EV_ADDR);
    th_wr32(t, VTD_REG_PEUADDR, EV_UADDR);
    th_wr32(t, VTD_REG_PECTL, 0);
    return q;
}

struct dev {
    struct th *t;
    uint64_t q, dir, ctx, sl, pe_rid, pe_pasid;
};

/* A unit with a page request queue and DEV in scalable mode: context with
 * ctxflags, RID_PASID = RIDP, PASID-table entries for RIDP and PASID
 * translating IOVA -> PA (second level, read/write). */
static struct th *prq_dev(void **state, struct dev *d, const struct vtd_config *cfg, uint64_t ctxflags)
{
    struct vtd_config c;
    prs_config(&c);
    struct th *t = th_new(state, cfg ? cfg : &c);
    d->t = t;
    sm_qi_init(t);
    d->q = prq_init(t, 0);
    d->dir = sm_dev(t, DEV, 0, ctxflags, RIDP);
    d->ctx = sm_ctx_addr(t, DEV);
    d->sl = th_alloc_page(t);
    th_map(t, d->sl, 4, IOVA, PA, 0x1000, 4096, VTD_SL_R | VTD_SL_W);
    uint64_t q[8];
    sm_pe_sl(q, d->sl, 2, DID);
    d->pe_rid = sm_set_pe(t, d->dir, RIDP, q);
    d->pe_pasid = sm_set_pe(t, d->dir, PASID, q);
    sm_enable(t);
    th_clear_logs(t);
    t->npresp = 0;
    return t;
}

static struct vtd_page_req preq(bool pv, uint32_t pasid, uint64_t addr, bool lpig, uint16_t prgi)
{
    struct vtd_page_req r = {.sid = DEV, .pasid_valid = pv, .pasid = pasid, .read = true, .addr = addr,
                             .lpig = lpig, .prgi = prgi};
    return r;
}

static struct vtd_page_req_result send(struct th *t, const struct vtd_page_req *r)
{
    struct vtd_page_req_result res;
    memset(&res, 0xA5, sizeof(res));
    assert_int_equal(vtd_page_request(t->u, r, &res), 0);
    return res;
}

static void rd_desc(struct th *t, uint64_t at, uint64_t q[4])
{
    for (unsigned i = 0; i < 4; i++)
        q[i] = th_r64(t, at + 8 * i);
}

static uint64_t ev_addr(void) { return (uint64_t)EV_UADDR << 32 | EV_ADDR; }

static void test_api_errors(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    struct vtd_page_req r = preq(true, PASID, IOVA, true, 1);
    assert_int_equal(vtd_page_request(NULL, &r, NULL), VTD_EINVAL);
    assert_int_equal(vtd_page_request(t->u, NULL, NULL), VTD_EINVAL);
    r.pasid = 1u << 20;
    assert_int_equal(vtd_page_request(t->u, &r, NULL), VTD_EINVAL);
    r.pasid = PASID;
    r.prgi = 512;
    assert_int_equal(vtd_page_request(t->u, &r, NULL), VTD_EINVAL);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 0);
    r.prgi = 511;
    assert_int_equal(vtd_page_request(t->u, &r, NULL), 0); /* res may be NULL */
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 32);
    /* a unit without ECAP.PRS takes no page requests */
    struct vtd_config c;
    noprs_config(&c);
    struct th u;
    th_init(&u, &c);
    assert_int_equal(vtd_page_request(u.u, &r, NULL), VTD_ENOTSUP);
    th_fini(&u);
}

/* §11.4.3: PRS and PDS only with DT */
static void test_config_needs_dt(void **state)
{
    (void)state;
    const uint64_t bits[] = {VTD_ECAP_PRS, VTD_ECAP_PDS};
    for (unsigned i = 0; i < 2; i++) {
        struct vtd_config c;
        noprs_config(&c);
        c.ecap = (c.ecap & ~VTD_ECAP_DT) | bits[i];
        struct vtd *u = NULL;
        assert_int_equal(vtd_create(&c, NULL, &u), VTD_EINVAL);
        c.ecap |= VTD_ECAP_DT;
        struct th t;
        th_init(&t, &c); /* with DT each is accepted */
        th_fini(&t);
    }
}

/* §7.4.1.1: every field of the page request descriptor */
static void test_desc_fields(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    struct vtd_page_req r = {.sid = DEV, .pasid_valid = true, .pasid = PASID, .priv = true, .exe = true,
                             .read = true, .write = true, .lpig = true, .prgi = 0x1A5, .addr = IOVA + 0x123};
    struct vtd_page_req_result res = send(t, &r);
    assert_int_equal(res.status, VTD_PRQ_QUEUED);
    assert_false(res.responded);
    assert_false(res.fault_recorded);
    assert_int_equal(res.desc_addr, d.q);
    uint64_t q[4];
    rd_desc(t, d.q, q);
    assert_int_equal(q[0], 0x01 | VTD_BIT(8) | (uint64_t)DEV << 16 | (uint64_t)PASID << 32 | VTD_BIT(52) |
                               VTD_BIT(53));
    assert_int_equal(q[1], VTD_BIT(0) | VTD_BIT(1) | VTD_BIT(2) | 0x1A5ULL << 3 | IOVA);
    assert_int_equal(q[2], 0);
    assert_int_equal(q[3], 0);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 32);
    assert_int_equal(th_rd64(t, VTD_REG_PQH), 0);
    assert_int_equal(th_rd32(t, VTD_REG_PRS), VTD_PRS_PPR);
    assert_int_equal(t->nmsi, 1);
    assert_int_equal(t->msi[0].addr, ev_addr());
    assert_int_equal(t->msi[0].data, EV_DATA);
    assert_false(th_rd32(t, VTD_REG_PECTL) & VTD_ECTL_IP);
    assert_int_equal(t->npresp, 0); /* queued: software answers, not the unit */
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_PPF);

    /* without PASID: PP, PASID, EXR and PMR are 0; write only; not last */
    struct vtd_page_req r2 = {.sid = DEV, .priv = true, .exe = true, .write = true, .prgi = 3,
                              .addr = IOVA + 0x5FFF};
    res = send(t, &r2);
    assert_int_equal(res.status, VTD_PRQ_QUEUED);
    assert_int_equal(res.desc_addr, d.q + 32);
    rd_desc(t, d.q + 32, q);
    assert_int_equal(q[0], 0x01 | (uint64_t)DEV << 16);
    assert_int_equal(q[1], VTD_BIT(1) | 3ULL << 3 | (IOVA + 0x5000));
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 64);
    assert_int_equal(t->nmsi, 1); /* PPR was still set: no new event */
    /* EXR only with read requested */
    struct vtd_page_req r3 = {.sid = DEV, .pasid_valid = true, .pasid = PASID, .exe = true, .write = true,
                              .addr = IOVA};
    send(t, &r3);
    rd_desc(t, d.q + 64, q);
    assert_int_equal(q[0], 0x01 | VTD_BIT(8) | (uint64_t)DEV << 16 | (uint64_t)PASID << 32);
}

/* §7.5: IM holds the event in IP; unmasking sends it; servicing PPR while
 * masked clears IP */
static void test_event_masked(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    th_wr32(t, VTD_REG_PECTL, (uint32_t)VTD_ECTL_IM);
    struct vtd_page_req r = preq(true, PASID, IOVA, false, 0);
    send(t, &r);
    assert_int_equal(t->nmsi, 0);
    assert_int_equal(th_rd32(t, VTD_REG_PECTL), (uint32_t)(VTD_ECTL_IM | VTD_ECTL_IP));
    th_wr32(t, VTD_REG_PECTL, 0);
    assert_int_equal(t->nmsi, 1);
    assert_int_equal(t->msi[0].addr, ev_addr());
    assert_int_equal(th_rd32(t, VTD_REG_PECTL), 0);
    /* masked again: a new condition (PPR cleared first), then software
     * services PPR before unmasking: no stale interrupt */
    th_wr32(t, VTD_REG_PRS, VTD_PRS_PPR);
    assert_int_equal(th_rd32(t, VTD_REG_PRS), 0);
    th_wr32(t, VTD_REG_PECTL, (uint32_t)VTD_ECTL_IM);
    send(t, &r);
    assert_true(th_rd32(t, VTD_REG_PECTL) & VTD_ECTL_IP);
    th_wr32(t, VTD_REG_PRS, VTD_PRS_PPR);
    assert_false(th_rd32(t, VTD_REG_PECTL) & VTD_ECTL_IP);
    th_wr32(t, VTD_REG_PECTL, 0);
    assert_int_equal(t->nmsi, 1);
}

/* an event only for a new condition: none while PPR (or PRO) is set */
static void test_event_only_new(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    struct vtd_page_req r = preq(false, 0, IOVA, false, 0);
    send(t, &r);
    send(t, &r);
    assert_int_equal(t->nmsi, 1);
    th_wr32(t, VTD_REG_PRS, VTD_PRS_PPR);
    send(t, &r);
    assert_int_equal(t->nmsi, 2);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 96);
}

/* PQT wraps at the end of the queue (2^PQS pages) */
static void test_wrap(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    for (unsigned pqs = 0; pqs < 2; pqs++) {
        uint64_t q = prq_init(t, pqs), last = ((uint64_t)VTD_PAGE_SIZE << pqs) - 32;
        th_wr64(t, VTD_REG_PQH, last);
        th_wr64(t, VTD_REG_PQT, last);
        struct vtd_page_req r = preq(true, PASID, IOVA + 0x1000 * pqs, false, (uint16_t)pqs);
        struct vtd_page_req_result res = send(t, &r);
        assert_int_equal(res.status, VTD_PRQ_QUEUED);
        assert_int_equal(res.desc_addr, q + last);
        assert_int_equal(th_r64(t, q + last + 8), VTD_BIT(0) | (uint64_t)pqs << 3 | (IOVA + 0x1000 * pqs));
        assert_int_equal(th_rd64(t, VTD_REG_PQT), 0);
        res = send(t, &r);
        assert_int_equal(res.desc_addr, q);
        assert_int_equal(th_rd64(t, VTD_REG_PQT), 32);
        th_wr32(t, VTD_REG_PRS, VTD_PRS_PPR);
    }
}

static void expect_resp(struct th *t, int i, uint16_t sid, bool pv, uint32_t pasid, uint16_t prgi, uint8_t code)
{
    assert_true(t->npresp > i);
    assert_int_equal(t->presp[i].sid, sid);
    assert_int_equal(t->presp[i].pasid_valid, pv);
    assert_int_equal(t->presp[i].pasid, pasid);
    assert_int_equal(t->presp[i].prgi, prgi);
    assert_int_equal(t->presp[i].code, code);
}

/* Full queue (tail one behind head): PRO set, the request dropped, Success
 * for last-in-group requests (Table 31); while PRO is set every request is
 * discarded the same way, with no event */
static void test_overflow(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    struct vtd_page_req r = preq(true, PASID, IOVA, false, 9);
    for (unsigned i = 0; i < 127; i++) /* N-1 entries of 128 */
        assert_int_equal(send(t, &r).status, VTD_PRQ_QUEUED);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 127 * 32);
    assert_int_equal(t->nmsi, 1);
    r.lpig = true;
    struct vtd_page_req_result res = send(t, &r);
    assert_int_equal(res.status, VTD_PRQ_OVERFLOW);
    assert_true(res.responded);
    assert_int_equal(res.code, VTD_PRC_SUCCESS);
    expect_resp(t, 0, DEV, true, PASID, 9, VTD_PRC_SUCCESS);
    assert_int_equal(th_rd32(t, VTD_REG_PRS), VTD_PRS_PPR | VTD_PRS_PRO);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 127 * 32);
    assert_int_equal(th_r64(t, d.q + 127 * 32), 0); /* nothing written */
    assert_int_equal(t->nmsi, 1);                   /* PPR was set: not a new condition */
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_PPF); /* no fault */

    /* software drains the queue and clears PPR; PRO still set: discarded */
    th_wr64(t, VTD_REG_PQH, 127 * 32);
    th_wr32(t, VTD_REG_PRS, VTD_PRS_PPR);
    r.lpig = false;
    res = send(t, &r);
    assert_int_equal(res.status, VTD_PRQ_OVERFLOW);
    assert_false(res.responded);
    r.lpig = true;
    r.prgi = 10;
    send(t, &r);
    expect_resp(t, 1, DEV, true, PASID, 10, VTD_PRC_SUCCESS);
    struct vtd_page_req stop = {.sid = DEV, .pasid_valid = true, .pasid = PASID, .lpig = true, .addr = IOVA};
    res = send(t, &stop); /* a stop marker needs no response */
    assert_int_equal(res.status, VTD_PRQ_OVERFLOW);
    assert_false(res.responded);
    assert_int_equal(t->npresp, 2);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 127 * 32);
    assert_int_equal(t->nmsi, 1);
    /* clearing PRO: requests are queued again, with an event */
    th_wr32(t, VTD_REG_PRS, VTD_PRS_PRO);
    res = send(t, &r);
    assert_int_equal(res.status, VTD_PRQ_QUEUED);
    assert_int_equal(res.desc_addr, d.q + 127 * 32);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 0);
    assert_int_equal(t->nmsi, 2);
    /* a stop marker is queued like any request (R=W=0) */
    res = send(t, &stop);
    assert_int_equal(res.status, VTD_PRQ_QUEUED);
    assert_int_equal(th_r64(t, d.q + 8), VTD_BIT(2) | IOVA);
}

/* PRO set while PPR is clear is a new condition: the event fires */
static void test_overflow_event(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    struct vtd_page_req r = preq(false, 0, IOVA, false, 0);
    for (unsigned i = 0; i < 127; i++)
        assert_int_equal(send(t, &r).status, VTD_PRQ_QUEUED);
    assert_int_equal(t->nmsi, 1);
    th_wr32(t, VTD_REG_PRS, VTD_PRS_PPR); /* software saw PPR, has not moved PQH yet */
    assert_int_equal(send(t, &r).status, VTD_PRQ_OVERFLOW);
    assert_int_equal(th_rd32(t, VTD_REG_PRS), VTD_PRS_PRO);
    assert_int_equal(t->nmsi, 2);
    assert_int_equal(t->msi[1].addr, ev_addr());
    assert_int_equal(t->msi[1].data, EV_DATA);
    assert_int_equal(t->npresp, 0); /* not last in group: no response */
    /* servicing PRO while masked clears IP */
    th_wr32(t, VTD_REG_PECTL, (uint32_t)VTD_ECTL_IM);
    th_wr32(t, VTD_REG_PRS, VTD_PRS_PRO);
    th_wr64(t, VTD_REG_PQH, th_rd64(t, VTD_REG_PQT));
    assert_int_equal(send(t, &r).status, VTD_PRQ_QUEUED);
    assert_true(th_rd32(t, VTD_REG_PECTL) & VTD_ECTL_IP);
    th_wr32(t, VTD_REG_PRS, VTD_PRS_PPR);
    assert_false(th_rd32(t, VTD_REG_PECTL) & VTD_ECTL_IP);
}

/* ---- Table 30: the page request column ---- */

enum { F_LEGACY, F_TTM, F_ABORT, F_ROOT_RD, F_ROOT_NP, F_ROOT_RSVD, F_CTX_RD, F_CTX_NP, F_CTX_RSVD, F_CTX_INV,
       F_PASIDE, F_PDTS, F_PRE, F_RID_PASID, F_PDE_RD, F_PDE_NP, F_PDE_RSVD, F_PE_RD, F_PE_NP, F_PE_RSVD,
       F_PGTT, F_RID_PE_NP, F_PRE_NOPASID };

struct pcase {
    int m;
    uint8_t fr;
    bool qualified;
    int lvl; /* deepest FPD read before the fault: 0 none, 1 context, 2 PASID directory, 3 PASID-table entry */
    bool pasid;
};

static const struct pcase pcases[] = {
    {F_LEGACY, VTD_FR_RTA_PRQ_LEGACY, false, 0, true},   {F_TTM, VTD_FR_RTA_TTM_INVALID, false, 0, true},
    {F_ABORT, VTD_FR_RTA_ABORT_DMA, false, 0, true},     {F_ROOT_RD, VTD_FR_SM_ROOT_READ_ERROR, false, 0, true},
    {F_ROOT_NP, VTD_FR_SM_ROOT_NOT_PRESENT, false, 0, true}, {F_ROOT_RSVD, VTD_FR_SM_ROOT_RSVD, false, 0, true},
    {F_CTX_RD, VTD_FR_SM_CTX_READ_ERROR, false, 0, true}, {F_CTX_NP, VTD_FR_SM_CTX_NOT_PRESENT, true, 1, true},
    {F_CTX_RSVD, VTD_FR_SM_CTX_RSVD, true, 1, true},     {F_CTX_INV, VTD_FR_SM_CTX_INVALID, true, 1, true},
    {F_PASIDE, VTD_FR_SM_CTX_PASIDE, true, 1, true},     {F_PDTS, VTD_FR_SM_CTX_PDTS, true, 1, true},
    {F_PRE, VTD_FR_SM_CTX_PRE, true, 1, true},           {F_RID_PASID, VTD_FR_SM_CTX_RID_PASID, true, 1, true},
    {F_PDE_RD, VTD_FR_SM_PDE_READ_ERROR, false, 1, true}, {F_PDE_NP, VTD_FR_SM_PDE_NOT_PRESENT, true, 2, true},
    {F_PDE_RSVD, VTD_FR_SM_PDE_RSVD, true, 2, true},     {F_PE_RD, VTD_FR_SM_PTE_READ_ERROR, false, 2, true},
    {F_PE_NP, VTD_FR_SM_PTE_NOT_PRESENT, true, 3, true}, {F_PE_RSVD, VTD_FR_SM_PTE_RSVD, true, 3, true},
    {F_PGTT, VTD_FR_SM_PTE_INVALID, true, 3, true},      {F_RID_PE_NP, VTD_FR_SM_PTE_NOT_PRESENT, true, 3, false},
    {F_PRE_NOPASID, VTD_FR_SM_CTX_PRE, true, 1, false},
};

static void hole(struct th *t, uint64_t pa)
{
    assert_int_equal(vtd_mem_add_hole(t->mem, pa & ~0xFFFULL, 4096), 0);
}

/* Break the structures as case m says; returns the page request that then
 * faults.  FPD is placed at fpd_level first. */
static struct vtd_page_req pbreak(struct dev *d, int m, int fpd_level)
{
    struct th *t = d->t;
    const bool sm = m != F_LEGACY && m != F_TTM && m != F_ABORT;
    const uint32_t pasid = (m == F_RID_PE_NP || m == F_PRE_NOPASID) ? 0 : PASID;
    /* the PASID whose directory and table entries the request uses */
    const uint32_t used = pasid ? PASID : RIDP;
    const uint64_t de = d->dir + 8 * (used >> 6), pe = pasid ? d->pe_pasid : d->pe_rid;
    if (sm && fpd_level == 1)
        th_w64(t, d->ctx, th_r64(t, d->ctx) | VTD_SMCTX_FPD);
    if (sm && fpd_level == 2)
        th_w64(t, de, th_r64(t, de) | VTD_PDE_FPD);
    if (sm && fpd_level == 3)
        th_w64(t, pe, th_r64(t, pe) | VTD_PE_Q0_FPD);
    struct vtd_page_req r = preq(pasid != 0, pasid, IOVA + 0x10, true, 0x42);
    r.priv = true;
    const uint64_t ra = t->rta + 16 * (DEV >> 8);
    switch (m) {
    case F_LEGACY: th_set_root(t, VTD_TTM_LEGACY); break;
    case F_TTM: th_set_root(t, 2); break;
    case F_ABORT: th_set_root(t, 3); break;
    case F_ROOT_RD: hole(t, ra); break;
    case F_ROOT_NP: th_w64(t, ra, 0); break;
    case F_ROOT_RSVD: th_w64(t, ra, th_r64(t, ra) | 0x10); break;
    case F_CTX_RD: hole(t, d->ctx); break;
    case F_CTX_NP: th_w64(t, d->ctx, th_r64(t, d->ctx) & ~VTD_SMCTX_P); break;
    case F_CTX_RSVD: th_w64(t, d->ctx + 16, 1); break;
    case F_CTX_INV: th_w64(t, d->ctx, th_r64(t, d->ctx) & ~VTD_SMCTX_DTE); break; /* PRE without DTE */
    case F_PASIDE: th_w64(t, d->ctx, th_r64(t, d->ctx) & ~VTD_SMCTX_PASIDE); break;
    case F_PDTS: r.pasid = 0x2000; break; /* PDTS=0 covers 8192 PASIDs */
    case F_PRE:
    case F_PRE_NOPASID: th_w64(t, d->ctx, th_r64(t, d->ctx) & ~VTD_SMCTX_PRE); break;
    case F_RID_PASID: r.pasid = RIDP; break;
    case F_PDE_RD: hole(t, de); break;
    case F_PDE_NP: th_w64(t, de, th_r64(t, de) & ~VTD_PDE_P); break;
    case F_PDE_RSVD: th_w64(t, de, th_r64(t, de) | 0x4); break;
    case F_PE_RD: hole(t, pe); break;
    case F_PE_NP:
    case F_RID_PE_NP: th_w64(t, pe, th_r64(t, pe) & ~VTD_PE_Q0_P); break;
    case F_PE_RSVD: th_w64(t, pe + 24, 1); break;
    case F_PGTT: th_w64(t, pe, (th_r64(t, pe) & ~VTD_PE_Q0_PGTT_MASK) | 5ULL << VTD_PE_Q0_PGTT_SHIFT); break;
    default: break;
    }
    return r;
}

static void run_pcase(void **state, const struct pcase *c, int fpd_level, bool lpig)
{
    print_message("page request fault 0x%02x FPD level %d lpig %d\n", c->fr, fpd_level, lpig);
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    struct vtd_page_req r = pbreak(&d, c->m, fpd_level);
    r.lpig = lpig;
    th_clear_logs(t);
    struct vtd_page_req_result res = send(t, &r);
    assert_int_equal(res.status, VTD_PRQ_FAULT);
    assert_int_equal(res.fault_reason, c->fr);
    /* never queued, no page request event */
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 0);
    assert_int_equal(th_rd32(t, VTD_REG_PRS), 0);
    assert_int_equal(th_r64(t, d.q), 0);
    assert_int_equal(t->nmsi, 0);
    /* Table 30: IR for a request that requires a response, else dropped */
    assert_int_equal(res.responded, lpig);
    assert_int_equal(t->npresp, lpig ? 1 : 0);
    if (lpig)
        expect_resp(t, 0, DEV, r.pasid_valid, r.pasid_valid ? r.pasid : 0, 0x42, VTD_PRC_INVALID_REQUEST);
    bool recorded = !(c->qualified && fpd_level && c->lvl >= fpd_level);
    assert_int_equal(res.fault_recorded, recorded);
    uint64_t lo, hi;
    th_frcd(t, 0, &lo, &hi);
    if (!recorded) {
        assert_false(hi & VTD_FRCD_HI_F);
        return;
    }
    assert_true(hi & VTD_FRCD_HI_F);
    assert_int_equal(VTD_FIELD_GET(hi, 39, 32), c->fr);
    assert_int_equal(hi & VTD_FRCD_HI_SID_MASK, DEV);
    /* type page request: T1=0, T2=1; no AT, no EXE */
    assert_false(hi & VTD_FRCD_HI_T1);
    assert_true(hi & VTD_FRCD_HI_T2);
    assert_int_equal(hi & VTD_FRCD_HI_AT_MASK, 0);
    assert_false(hi & VTD_FRCD_HI_EXE);
    assert_int_equal(lo, IOVA);
    assert_int_equal(!!(hi & VTD_FRCD_HI_PP), r.pasid_valid);
    assert_int_equal(!!(hi & VTD_FRCD_HI_PRIV), r.pasid_valid);
    if (r.pasid_valid)
        assert_int_equal(VTD_FIELD_GET(hi, 59, 40), r.pasid);
}

static void test_faults(void **state)
{
    for (unsigned i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++)
        for (int fpd = 0; fpd <= 3; fpd++)
            for (int lpig = 0; lpig < 2; lpig++) {
                run_pcase(state, &pcases[i], fpd, lpig);
                th_teardown(state);
            }
}

/* translation disabled: nothing is serviced; Invalid Request, no fault */
static void test_te_off(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    th_disable_te(t);
    struct vtd_page_req r = preq(true, PASID, IOVA, true, 5);
    struct vtd_page_req_result res = send(t, &r);
    assert_int_equal(res.status, VTD_PRQ_DROPPED);
    expect_resp(t, 0, DEV, true, PASID, 5, VTD_PRC_INVALID_REQUEST);
    assert_true(th_has_diag(t, VTD_DIAG_PRQ_TE_OFF));
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_PPF);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 0);
}

/* PQT beyond the queue, and a queue in memory the platform does not back */
static void test_queue_errors(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    struct vtd_page_req r = preq(true, PASID, IOVA, true, 5);
    th_wr64(t, VTD_REG_PQT, VTD_PAGE_SIZE); /* PQS=0: one page */
    struct vtd_page_req_result res = send(t, &r);
    assert_int_equal(res.status, VTD_PRQ_DROPPED);
    assert_true(th_has_diag(t, VTD_DIAG_PRQ_BAD_TAIL));
    expect_resp(t, 0, DEV, true, PASID, 5, VTD_PRC_INVALID_REQUEST);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), VTD_PAGE_SIZE);
    th_wr64(t, VTD_REG_PQT, 0);
    hole(t, d.q);
    res = send(t, &r);
    assert_int_equal(res.status, VTD_PRQ_DROPPED);
    assert_true(th_has_diag(t, VTD_DIAG_PRQ_WRITE));
    assert_int_equal(t->npresp, 2);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 0);
    assert_int_equal(th_rd32(t, VTD_REG_PRS), 0);
}

/* §6.5.3.1: a queued page request invalidates the IOTLB entry of its page,
 * so a permission software upgraded without invalidating is used on retry */
static void test_implicit_invalidation(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    uint64_t pte = th_pte_addr(t, d.sl, 4, IOVA, 1);
    th_w64(t, pte, th_r64(t, pte) & ~VTD_SL_W); /* read-only */
    struct vtd_request rd = sm_req(DEV, false, 0, IOVA + 8, VTD_R), wr = sm_req(DEV, false, 0, IOVA + 8, VTD_W);
    assert_int_equal(th_req(t, &rd).status, VTD_OK); /* cached read-only */
    th_w64(t, pte, th_r64(t, pte) | VTD_SL_W);      /* upgraded, no invalidation */
    struct vtd_result res = th_req(t, &wr);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(res.fault_reason, VTD_FR_SM_NO_WRITE);
    res = th_req(t, &wr); /* still the cached entry */
    assert_int_equal(res.status, VTD_FAULT);
    struct vtd_page_req r = preq(false, 0, IOVA, true, 1);
    r.write = true;
    assert_int_equal(send(t, &r).status, VTD_PRQ_QUEUED);
    res = th_req(t, &wr);
    assert_int_equal(res.status, VTD_OK);
    assert_int_equal(res.pa, PA + 8);
}

/* A first-level unit (fl_tables.h: FLX_SID, PASID FLX_PASID, PGTT 001)
 * whose context also enables device-TLBs and page requests, with a page
 * request queue (PQS=0). */
static struct th *fl_prq_new_mode(void **state, struct flx *x, bool nested)
{
    struct vtd_config c;
    fl_config(&c);
    struct th *t = th_new(state, &c);
    flx_init(x, t, nested, 4);
    uint64_t ca = sm_ctx_addr(t, FLX_SID);
    th_w64(t, ca, th_r64(t, ca) | VTD_SMCTX_DTE | VTD_SMCTX_PRE);
    sm_inval_all(t);
    prq_init(t, 0);
    return t;
}

static struct th *fl_prq_new(void **state, struct flx *x)
{
    return fl_prq_new_mode(state, x, false);
}

static void queue_read_request(struct th *t, uint64_t va)
{
    struct vtd_page_req pr = {.sid = FLX_SID, .pasid_valid = true, .pasid = FLX_PASID, .read = true,
                              .lpig = true, .addr = va};
    struct vtd_page_req_result res;
    assert_int_equal(vtd_page_request(t->u, &pr, &res), 0);
    assert_int_equal(res.status, VTD_PRQ_QUEUED);
}

/* §6.5.3.1 with a first-level entry (PGTT 001): the page request drops the
 * PASID's cached first-level translation of its page, and only that page
 * (Table 27: page-selective-within-PASID) (a write after a read walks again
 * here to set D, so the stale entry shown is a changed output) */
static void test_implicit_invalidation_fl(void **state)
{
    struct flx x;
    struct th *t = fl_prq_new(state, &x);
    const uint64_t leaf = VTD_FL_P | VTD_FL_RW | VTD_FL_US;
    const uint64_t va2 = LOOP_VA + 0x200000;
    flx_map(&x, LOOP_VA, LOOP_PA, 4096, leaf);
    flx_map(&x, va2, LOOP_PA + 0x1000, 4096, leaf);
    struct vtd_request rd = flx_req(LOOP_VA + 8, VTD_R, false), rd2 = flx_req(va2 + 8, VTD_R, false);
    assert_int_equal(th_req(t, &rd).pa, LOOP_PA + 8);
    assert_int_equal(th_req(t, &rd2).pa, LOOP_PA + 0x1008);
    flx_map(&x, LOOP_VA, LOOP_PA + 0x10000, 4096, leaf); /* moved, no invalidation */
    flx_map(&x, va2, LOOP_PA + 0x11000, 4096, leaf);
    assert_int_equal(th_req(t, &rd).pa, LOOP_PA + 8);     /* the cached translation */
    queue_read_request(t, LOOP_VA);
    struct vtd_result r = th_req(t, &rd);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, LOOP_PA + 0x10008);
    assert_int_equal(th_req(t, &rd2).pa, LOOP_PA + 0x1008); /* another page: still cached */
}

/* Nested (PGTT 011): Table 27 makes the implicit invalidation domain-
 * selective, so every cached translation of the domain goes, not just the
 * page's. */
static void test_implicit_invalidation_nested(void **state)
{
    struct flx x;
    struct th *t = fl_prq_new_mode(state, &x, true);
    const uint64_t leaf = VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A | VTD_FL_D;
    const uint64_t va2 = LOOP_VA + 0x200000, g1 = LOOP_PA, g2 = LOOP_PA + 0x1000, h = 0xA000000;
    flx_map(&x, LOOP_VA, g1, 4096, leaf);
    flx_map(&x, va2, g2, 4096, leaf);
    flx_sl_map(&x, g1, h, VTD_SL_R | VTD_SL_W);
    flx_sl_map(&x, g2, h + 0x1000, VTD_SL_R | VTD_SL_W);
    struct vtd_request rd = flx_req(LOOP_VA + 8, VTD_R, false), rd2 = flx_req(va2 + 8, VTD_R, false);
    assert_int_equal(th_req(t, &rd).pa, h + 8);
    assert_int_equal(th_req(t, &rd2).pa, h + 0x1008);
    flx_sl_map(&x, g1, h + 0x10000, VTD_SL_R | VTD_SL_W); /* moved in the second level, no invalidation */
    flx_sl_map(&x, g2, h + 0x11000, VTD_SL_R | VTD_SL_W);
    assert_int_equal(th_req(t, &rd).pa, h + 8);
    assert_int_equal(th_req(t, &rd2).pa, h + 0x1008);
    queue_read_request(t, LOOP_VA);
    assert_int_equal(th_req(t, &rd).pa, h + 0x10008);
    assert_int_equal(th_req(t, &rd2).pa, h + 0x11008);
}

/* A page request that faults does not invalidate anything (§6.5.3.1) */
static void test_no_implicit_invalidation_on_fault(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    uint64_t pte = th_pte_addr(t, d.sl, 4, IOVA, 1);
    th_w64(t, pte, th_r64(t, pte) & ~VTD_SL_W);
    struct vtd_request rd = sm_req(DEV, false, 0, IOVA, VTD_R), wr = sm_req(DEV, false, 0, IOVA, VTD_W);
    assert_int_equal(th_req(t, &rd).status, VTD_OK);
    th_w64(t, pte, th_r64(t, pte) | VTD_SL_W);
    struct vtd_page_req r = preq(true, RIDP, IOVA, true, 1); /* PASID == RID_PASID: 48h */
    assert_int_equal(send(t, &r).status, VTD_PRQ_FAULT);
    assert_int_equal(th_req(t, &wr).status, VTD_FAULT);
}

/* ---- wait descriptor PD (page-request drain, ECAP.PDS; §6.5.2.9, §7.10) ---- */

static uint64_t wait_pd(struct th *t, uint64_t status, uint32_t v)
{
    uint64_t w[4] = {VTD_DESC_WAIT | VTD_DESC_WAIT_SW | VTD_DESC_WAIT_PD | (uint64_t)v << VTD_DESC_WAIT_STDATA_SHIFT,
                     status, 0, 0};
    return sm_qi_submit(t, w);
}

static int pending_devtlb(struct th *t, uint16_t sid, uint64_t addr, uint64_t size)
{
    (void)t, (void)sid, (void)addr, (void)size;
    return VTD_DEVTLB_PENDING;
}

/* §7.10 step (b)-(c): a device-TLB invalidation the device has not
 * completed holds the PD wait; a page request the device sent before its
 * completion is in the queue when the wait's status write appears */
static void test_pd_drain(void **state)
{
    struct dev d;
    struct th *t = prq_dev(state, &d, NULL, DEV_FLAGS);
    uint64_t status = th_alloc_page(t);
    wait_pd(t, status, 1);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_r64(t, status), 1);

    t->on_devtlb = pending_devtlb;
    uint64_t dv[4];
    sm_desc_pdevtlb(dv, DEV, PASID, true, 0, false);
    sm_qi_submit(t, dv);
    wait_pd(t, status, 2);
    assert_int_equal(th_r64(t, status), 1); /* held */
    struct vtd_page_req r = preq(true, PASID, IOVA, true, 3);
    assert_int_equal(send(t, &r).status, VTD_PRQ_QUEUED);
    assert_int_equal(vtd_devtlb_complete(t->u, DEV), 0);
    assert_int_equal(th_r64(t, status), 2);
    assert_int_equal(th_rd64(t, VTD_REG_PQT), 32);
    assert_int_equal(th_r64(t, d.q) & 0xFF, 0x01);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
}

/* without ECAP.PDS the PD flag is reserved (IQEI=4) */
static void test_pd_reserved_without_pds(void **state)
{
    struct vtd_config c;
    prs_config(&c);
    c.ecap &= ~VTD_ECAP_PDS;
    struct dev d;
    struct th *t = prq_dev(state, &d, &c, DEV_FLAGS);
    uint64_t status = th_alloc_page(t), at = wait_pd(t, status, 1);
    assert_true(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(t, VTD_REG_IQERCD) & VTD_IQERCD_IQEI_MASK, VTD_IQEI_RSVD);
    assert_int_equal(th_rd64(t, VTD_REG_IQH), at & (VTD_PAGE_SIZE - 1));
    assert_int_equal(th_r64(t, status), 0);
}

/* ---- the whole loop: DMA fault -> page request -> software maps the page
 *      in the first-level table, invalidates, responds -> the device retries */

static void test_fault_and_retry(void **state)
{
    struct flx x;
    struct th *t = fl_prq_new(state, &x);
    uint64_t q = th_rd64(t, VTD_REG_PQA) & VTD_GENMASK(63, 12);
    flx_map(&x, 0x1000, 0x5000, 4096, VTD_FL_P | VTD_FL_RW | VTD_FL_US); /* the tables exist */
    th_clear_logs(t);
    t->npresp = 0;

    /* 1. the device writes to a page that is not mapped: fault */
    struct vtd_request dma = flx_req(LOOP_VA + 0x40, VTD_W, false);
    struct vtd_result res = th_req(t, &dma);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(res.fault_reason, VTD_FR_SM_FL_NOT_PRESENT);
    th_frcd_clear(t, 0);

    /* 2. the device asks for the page */
    struct vtd_page_req pr = {.sid = FLX_SID, .pasid_valid = true, .pasid = FLX_PASID, .read = true,
                              .write = true, .lpig = true, .prgi = 0x77, .addr = LOOP_VA};
    struct vtd_page_req_result pres;
    assert_int_equal(vtd_page_request(t->u, &pr, &pres), 0);
    assert_int_equal(pres.status, VTD_PRQ_QUEUED);
    assert_int_equal(t->npresp, 0);

    /* 3. software (the OS) takes the page request event and reads the queue */
    assert_int_equal(t->nmsi, 1);
    assert_int_equal(t->msi[0].addr, ev_addr());
    uint64_t head = th_rd64(t, VTD_REG_PQH), tail = th_rd64(t, VTD_REG_PQT);
    assert_int_equal(tail, head + 32);
    uint64_t dsc[4];
    rd_desc(t, q + head, dsc);
    assert_int_equal(dsc[0] & 0xFF, 0x01);
    uint16_t rid = (uint16_t)VTD_FIELD_GET(dsc[0], 31, 16);
    bool pp = dsc[0] & VTD_BIT(8);
    uint32_t pasid = (uint32_t)VTD_FIELD_GET(dsc[0], 51, 32);
    uint64_t addr = dsc[1] & VTD_GENMASK(63, 12);
    unsigned prgi = (unsigned)VTD_FIELD_GET(dsc[1], 11, 3);
    bool lpig = dsc[1] & VTD_BIT(2), wrr = dsc[1] & VTD_BIT(1);
    assert_int_equal(rid, FLX_SID);
    assert_true(pp && lpig && wrr);
    assert_int_equal(pasid, FLX_PASID);
    assert_int_equal(addr, LOOP_VA);
    /* ... maps the page (writable, user), invalidates the PASID's IOTLB
     * entry for it, answers the group, and consumes the descriptor */
    flx_map(&x, addr, LOOP_PA, 4096, VTD_FL_P | VTD_FL_RW | VTD_FL_US);
    uint64_t dd[4];
    sm_desc_piotlb(dd, SM_PIOTLB_PAGE, FLX_DID, pasid, addr, 0, false);
    sm_qi_submit(t, dd);
    uint64_t resp[4] = {pgr_q0(rid, pp, pasid, VTD_PRC_SUCCESS), pgr_q1(prgi), 0, 0};
    sm_qi_submit(t, resp);
    sm_qi_sync(t);
    th_wr64(t, VTD_REG_PQH, tail);
    th_wr32(t, VTD_REG_PRS, VTD_PRS_PPR);

    /* 4. the device gets the response and retries: it succeeds */
    assert_int_equal(t->npresp, 1);
    expect_resp(t, 0, FLX_SID, true, FLX_PASID, 0x77, VTD_PRC_SUCCESS);
    res = th_req(t, &dma);
    assert_int_equal(res.status, VTD_OK);
    assert_int_equal(res.pa, LOOP_PA + 0x40);
    assert_int_equal(th_rd32(t, VTD_REG_PRS), 0);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_PPF);
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
        cmocka_unit_test_teardown(test_api_errors, th_teardown),
        cmocka_unit_test(test_config_needs_dt),
        cmocka_unit_test_teardown(test_desc_fields, th_teardown),
        cmocka_unit_test_teardown(test_event_masked, th_teardown),
        cmocka_unit_test_teardown(test_event_only_new, th_teardown),
        cmocka_unit_test_teardown(test_wrap, th_teardown),
        cmocka_unit_test_teardown(test_overflow, th_teardown),
        cmocka_unit_test_teardown(test_overflow_event, th_teardown),
        cmocka_unit_test_teardown(test_faults, th_teardown),
        cmocka_unit_test_teardown(test_te_off, th_teardown),
        cmocka_unit_test_teardown(test_queue_errors, th_teardown),
        cmocka_unit_test_teardown(test_implicit_invalidation, th_teardown),
        cmocka_unit_test_teardown(test_implicit_invalidation_fl, th_teardown),
        cmocka_unit_test_teardown(test_implicit_invalidation_nested, th_teardown),
        cmocka_unit_test_teardown(test_no_implicit_invalidation_on_fault, th_teardown),
        cmocka_unit_test_teardown(test_pd_drain, th_teardown),
        cmocka_unit_test_teardown(test_pd_reserved_without_pds, th_teardown),
        cmocka_unit_test_teardown(test_fault_and_retry, th_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
