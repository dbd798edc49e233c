/* Primary fault recording through MMIO: fault records, FSTS, the fault
 * event (FECTL/FEDATA/FEADDR/FEUADDR) and FPD, against docs/model.md. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define EV_ADDR_LO 0xFEE0F00Cu
#define EV_ADDR_HI 0x00000001u
#define EV_DATA 0x4321u
#define EV_ADDR ((uint64_t)EV_ADDR_HI << 32 | EV_ADDR_LO)

/* ---------------------------------------------------------------- helpers */

static struct th *new_th_cfg(void **state, const struct vtd_config *cfg)
{
    struct th *t = th_new(state, cfg);
    th_wr32(t, VTD_REG_FEDATA, EV_DATA);
    th_wr32(t, VTD_REG_FEADDR, EV_ADDR_LO);
    th_wr32(t, VTD_REG_FEUADDR, EV_ADDR_HI);
    th_wr32(t, VTD_REG_FECTL, 0);
    th_enable(t);
    th_clear_logs(t);
    return t;
}

static struct th *new_th(void **state)
{
    return new_th_cfg(state, NULL);
}

static int teardown(void **state)
{
    return th_teardown(state);
}

static uint32_t fsts(struct th *t)
{
    return th_rd32(t, VTD_REG_FSTS);
}

static unsigned fri(struct th *t)
{
    return (unsigned)VTD_FIELD_GET(fsts(t), 15, 8);
}

static unsigned nrec(struct th *t)
{
    return (unsigned)VTD_FIELD_GET(t->cfg.cap, 47, 40) + 1;
}

/* A source-id on a bus whose root entry is not present (buses 0x20..0x9F). */
static uint16_t rsid(unsigned i)
{
    return SID(0x20 + i, i & 31, i & 7);
}

/* The high qword a record must hold (legacy request, no PASID). */
static uint64_t rec_hi(uint16_t sid, uint8_t fr, uint8_t access, uint8_t at)
{
    uint64_t hi = VTD_FRCD_HI_F | sid | (uint64_t)fr << VTD_FRCD_HI_FR_SHIFT |
                  (uint64_t)at << VTD_FRCD_HI_AT_SHIFT;
    if (access & VTD_R)
        hi |= VTD_FRCD_HI_T1;
    if ((access & (VTD_R | VTD_W)) == (VTD_R | VTD_W))
        hi |= VTD_FRCD_HI_T2;
    return hi;
}

static void check_rec(struct th *t, unsigned i, uint16_t sid, uint64_t addr, uint8_t fr,
                      uint8_t access, uint8_t at)
{
    uint64_t lo, hi;
    th_frcd(t, i, &lo, &hi);
    print_message("record %u: lo %#llx hi %#llx\n", i, (unsigned long long)lo,
                  (unsigned long long)hi);
    assert_int_equal(lo, addr & VTD_FRCD_LO_FI_MASK);
    assert_int_equal(hi & VTD_FRCD_HI_F, VTD_FRCD_HI_F);
    assert_int_equal(hi & VTD_FRCD_HI_SID_MASK, sid);
    assert_int_equal(VTD_FIELD_GET(hi, 39, 32), fr);
    assert_int_equal(!!(hi & VTD_FRCD_HI_T1), !!(access & VTD_R));
    assert_int_equal(!!(hi & VTD_FRCD_HI_T2), (access & (VTD_R | VTD_W)) == (VTD_R | VTD_W));
    assert_int_equal(VTD_FIELD_GET(hi, 61, 60), at);
    assert_int_equal(hi & VTD_FRCD_HI_PP, 0);
    assert_int_equal(hi & VTD_FRCD_HI_PV_MASK, 0);
    assert_int_equal(hi & (VTD_FRCD_HI_PRIV | VTD_FRCD_HI_EXE), 0);
    assert_int_equal(hi, rec_hi(sid, fr, access, at)); /* nothing else set */
}

static void check_rec_sid(struct th *t, unsigned i, uint16_t sid, uint64_t addr)
{
    uint64_t lo, hi;
    th_frcd(t, i, &lo, &hi);
    assert_true(hi & VTD_FRCD_HI_F);
    assert_int_equal(hi & VTD_FRCD_HI_SID_MASK, sid);
    assert_int_equal(lo, addr & VTD_FRCD_LO_FI_MASK);
}

static void check_empty(struct th *t, unsigned i)
{
    uint64_t lo, hi;
    th_frcd(t, i, &lo, &hi);
    assert_int_equal(hi & VTD_FRCD_HI_F, 0);
}

static bool rec_pending(struct th *t, unsigned i)
{
    uint64_t lo, hi;
    th_frcd(t, i, &lo, &hi);
    return (hi & VTD_FRCD_HI_F) != 0;
}

/* A root-not-present read fault from sid; returns whether it was recorded. */
static bool root_fault(struct th *t, uint16_t sid, uint64_t addr)
{
    struct vtd_result r = th_dma(t, sid, addr, VTD_R);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_ROOT_NOT_PRESENT);
    return r.fault_recorded;
}

static void check_msi(struct th *t, int i, uint64_t addr, uint32_t data)
{
    assert_true(t->nmsi > i);
    assert_int_equal(t->msi[i].addr, addr);
    assert_int_equal(t->msi[i].data, data);
}

static void clear_all(struct th *t)
{
    for (unsigned i = 0; i < nrec(t); i++)
        th_frcd_clear(t, i);
}

/* sid gets its own 4-level domain (DID = 1 + devfn, different tables need
 * different domain ids) mapping iova -> pa with leaf flags; TT, FPD given. */
static void map_dev(struct th *t, uint16_t sid, uint64_t iova, uint64_t pa, uint64_t flags,
                    unsigned tt, bool fpd)
{
    uint64_t slpt = th_alloc_page(t);
    th_map(t, slpt, 4, iova, pa, 4096, 4096, flags);
    th_set_ctx(t, sid, th_ctx_lo(slpt, tt, fpd), th_ctx_hi(VTD_AW_48, (uint16_t)(1 + (sid & 0xFF))));
}

/* ----------------------------------------------------- record contents */

static void test_record_root_not_present(void **state)
{
    struct th *t = new_th(state);
    uint16_t sid = SID(0x21, 3, 1);
    const uint64_t addr = 0x0000123456789ABCULL;
    assert_int_equal(fsts(t), 0);
    struct vtd_result r = th_dma(t, sid, addr, VTD_R);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_ROOT_NOT_PRESENT);
    assert_true(r.fault_recorded);
    check_rec(t, 0, sid, addr, VTD_FR_ROOT_NOT_PRESENT, VTD_R, VTD_AT_UNTRANSLATED);
    assert_int_equal(th_rd64(t, t->fro), 0x0000123456789000ULL);
    for (unsigned i = 1; i < nrec(t); i++) {
        uint64_t lo, hi;
        th_frcd(t, i, &lo, &hi);
        assert_int_equal(lo, 0);
        assert_int_equal(hi, 0);
    }
    assert_int_equal(fsts(t), VTD_FSTS_PPF); /* FRI 0, PFO 0 */
    assert_int_equal(t->nmsi, 1);
    check_msi(t, 0, EV_ADDR, EV_DATA);
    /* 4-byte reads of the record's dwords */
    uint64_t hi = rec_hi(sid, VTD_FR_ROOT_NOT_PRESENT, VTD_R, VTD_AT_UNTRANSLATED);
    assert_int_equal(th_rd32(t, t->fro + 0), 0x56789000);
    assert_int_equal(th_rd32(t, t->fro + 0) | (uint64_t)th_rd32(t, t->fro + 4) << 32,
                     0x0000123456789000ULL);
    assert_int_equal(th_rd32(t, t->fro + 8), (uint32_t)hi);
    assert_int_equal(th_rd32(t, t->fro + 12), (uint32_t)(hi >> 32));
}

static void test_record_fi_above_mgaw(void **state)
{
    /* spec: FI bits 63:MGAW are reserved (0); default MGAW is 57 bits */
    struct th *t = new_th(state);
    uint16_t sid = rsid(3);
    assert_true(root_fault(t, sid, 0xF1FFFFFFFFFFF123ULL));
    uint64_t lo, hi;
    th_frcd(t, 0, &lo, &hi);
    assert_int_equal(lo, 0x01FFFFFFFFFFF000ULL);
    assert_int_equal(hi & VTD_FRCD_HI_SID_MASK, sid);
}

static void test_record_ctx_not_present(void **state)
{
    struct th *t = new_th(state);
    uint16_t sid = SID(3, 0x1F, 7);
    th_set_ctx(t, sid, 0, 0);
    struct vtd_result r = th_dma(t, sid, 0xFFFFF000, VTD_W);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_CTX_NOT_PRESENT);
    assert_true(r.fault_recorded);
    check_rec(t, 0, sid, 0xFFFFF000, VTD_FR_CTX_NOT_PRESENT, VTD_W, VTD_AT_UNTRANSLATED);
}

static void test_record_permission_faults(void **state)
{
    struct th *t = new_th(state);
    uint16_t ro = SID(1, 1, 0), wo = SID(1, 2, 0), at = SID(1, 3, 0), np = SID(1, 4, 0);
    map_dev(t, ro, 0x40001000, 0x50001000, VTD_SL_R, VTD_TT_UNTRANSLATED, false);
    map_dev(t, wo, 0x40002000, 0x50002000, VTD_SL_W, VTD_TT_UNTRANSLATED, false);
    map_dev(t, at, 0x40003000, 0x50003000, VTD_SL_R, VTD_TT_UNTRANSLATED, false);
    map_dev(t, np, 0x40004000, 0x50004000, VTD_SL_R | VTD_SL_W, VTD_TT_UNTRANSLATED, false);

    /* sanity: the permitted direction works and records nothing */
    assert_int_equal(th_dma(t, ro, 0x40001234, VTD_R).status, VTD_OK);
    assert_int_equal(th_dma(t, wo, 0x40002234, VTD_W).status, VTD_OK);
    assert_int_equal(fsts(t), 0);

    struct vtd_result r = th_dma(t, ro, 0x40001234, VTD_W);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_NO_WRITE);
    assert_true(r.fault_recorded);
    r = th_dma(t, wo, 0x40002238, VTD_R);
    assert_int_equal(r.fault_reason, VTD_FR_NO_READ);
    assert_true(r.fault_recorded);
    r = th_dma(t, at, 0x40003FF8, VTD_R | VTD_W); /* atomic on a read-only page */
    assert_int_equal(r.fault_reason, VTD_FR_NO_WRITE);
    assert_true(r.fault_recorded);
    r = th_dma(t, np, 0x40005000, VTD_R | VTD_W); /* atomic on a not-present page */
    assert_int_equal(r.fault_reason, VTD_FR_NO_READ);
    assert_true(r.fault_recorded);
    r = th_dma(t, np, 0x40006000, VTD_W); /* collapsed: np has a pending record */
    assert_false(r.fault_recorded);

    check_rec(t, 0, ro, 0x40001234, VTD_FR_NO_WRITE, VTD_W, VTD_AT_UNTRANSLATED);
    check_rec(t, 1, wo, 0x40002238, VTD_FR_NO_READ, VTD_R, VTD_AT_UNTRANSLATED);
    check_rec(t, 2, at, 0x40003FF8, VTD_FR_NO_WRITE, VTD_R | VTD_W, VTD_AT_UNTRANSLATED);
    check_rec(t, 3, np, 0x40005000, VTD_FR_NO_READ, VTD_R | VTD_W, VTD_AT_UNTRANSLATED);
    check_empty(t, 4);
    assert_int_equal(fsts(t), VTD_FSTS_PPF);
    assert_int_equal(t->nmsi, 1);
}

static void test_record_not_present_write(void **state)
{
    struct th *t = new_th(state);
    uint16_t sid = SID(1, 5, 0);
    map_dev(t, sid, 0x1000, 0x2000, VTD_SL_R | VTD_SL_W, VTD_TT_UNTRANSLATED, false);
    struct vtd_result r = th_dma(t, sid, 0x7000, VTD_W);
    assert_int_equal(r.fault_reason, VTD_FR_NO_WRITE);
    check_rec(t, 0, sid, 0x7000, VTD_FR_NO_WRITE, VTD_W, VTD_AT_UNTRANSLATED);
}

static void test_record_at_field(void **state)
{
    struct th *t = new_th(state);
    uint16_t a = SID(2, 1, 0), b = SID(2, 2, 0), c = rsid(5);
    /* TT=00: translation and translated requests are blocked (Dh) */
    map_dev(t, a, 0x9000, 0xA000, VTD_SL_R | VTD_SL_W, VTD_TT_UNTRANSLATED, false);
    map_dev(t, b, 0x9000, 0xA000, VTD_SL_R | VTD_SL_W, VTD_TT_UNTRANSLATED, false);

    struct vtd_request q;
    memset(&q, 0, sizeof(q));
    q.sid = a;
    q.at = VTD_AT_TRANSLATION_REQ;
    q.access = VTD_R;
    q.addr = 0x9000;
    struct vtd_result r = th_req(t, &q);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_TT_BLOCKED);
    assert_true(r.fault_recorded);

    q.sid = b;
    q.at = VTD_AT_TRANSLATED;
    q.access = VTD_W;
    q.addr = 0xA123;
    r = th_req(t, &q);
    assert_int_equal(r.fault_reason, VTD_FR_TT_BLOCKED);
    assert_true(r.fault_recorded);

    q.sid = c; /* translated request, root not present */
    q.at = VTD_AT_TRANSLATED;
    q.access = VTD_R;
    q.addr = 0xB000;
    r = th_req(t, &q);
    assert_int_equal(r.fault_reason, VTD_FR_ROOT_NOT_PRESENT);
    assert_true(r.fault_recorded);

    /* the default unit has ECAP.DT: AT records the request's address type */
    check_rec(t, 0, a, 0x9000, VTD_FR_TT_BLOCKED, VTD_R, VTD_AT_TRANSLATION_REQ);
    check_rec(t, 1, b, 0xA123, VTD_FR_TT_BLOCKED, VTD_W, VTD_AT_TRANSLATED);
    check_rec(t, 2, c, 0xB000, VTD_FR_ROOT_NOT_PRESENT, VTD_R, VTD_AT_TRANSLATED);
}

/* AT is reserved (reads 0) on a unit without ECAP.DT. */
static void test_record_at_field_without_dt(void **state)
{
    (void)state;
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.ecap &= ~(VTD_ECAP_DT | VTD_ECAP_QI | VTD_ECAP_IR | VTD_ECAP_EIM); /* IR needs QI */
    cfg.cap &= ~VTD_CAP_PI;
    struct th *t = malloc(sizeof(*t));
    assert_non_null(t);
    th_init(t, &cfg);
    th_enable(t);
    struct vtd_request q;
    memset(&q, 0, sizeof(q));
    q.sid = SID(7, 0, 0);
    q.at = VTD_AT_TRANSLATED;
    q.access = VTD_R;
    q.addr = 0xB000;
    struct vtd_result r = th_req(t, &q);
    assert_int_equal(r.fault_reason, VTD_FR_ROOT_NOT_PRESENT);
    check_rec(t, 0, q.sid, 0xB000, VTD_FR_ROOT_NOT_PRESENT, VTD_R, 0);
    th_fini(t);
    free(t);
}

static void test_record_read_errors(void **state)
{
    struct th *t = new_th(state);
    const uint64_t hole = 0x7000000000ULL;
    assert_int_equal(vtd_mem_add_hole(t->mem, hole, 0x10000), 0);
    /* context table in a hole: 9h */
    uint16_t sid = SID(0x11, 0, 1);
    th_w64(t, t->rta + 0x11 * VTD_ROOT_SIZE, hole | VTD_ROOT_LO_P);
    struct vtd_result r = th_dma(t, sid, 0x3000, VTD_R);
    assert_int_equal(r.fault_reason, VTD_FR_CTX_READ_ERROR);
    assert_true(r.fault_recorded);
    check_rec(t, 0, sid, 0x3000, VTD_FR_CTX_READ_ERROR, VTD_R, VTD_AT_UNTRANSLATED);

    /* root table in a hole: 8h */
    th_wr64(t, VTD_REG_RTADDR, hole + 0x8000);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_TE | VTD_GCMD_SRTP);
    th_inval_all(t);
    uint16_t sid2 = SID(0x12, 0, 0);
    r = th_dma(t, sid2, 0x4000, VTD_W);
    assert_int_equal(r.fault_reason, VTD_FR_ROOT_READ_ERROR);
    assert_true(r.fault_recorded);
    check_rec(t, 1, sid2, 0x4000, VTD_FR_ROOT_READ_ERROR, VTD_W, VTD_AT_UNTRANSLATED);
}

static void test_record_fields_read_only(void **state)
{
    struct th *t = new_th(state);
    uint16_t sid = rsid(1);
    assert_true(root_fault(t, sid, 0x12345000));
    uint64_t hi = rec_hi(sid, VTD_FR_ROOT_NOT_PRESENT, VTD_R, VTD_AT_UNTRANSLATED);
    th_wr64(t, t->fro, ~0ULL);
    th_wr64(t, t->fro + 8, hi & ~VTD_FRCD_HI_F); /* writing F=0 does not clear it */
    th_wr64(t, t->fro + 8, 0x7FFFFFFFFFFFFFFFULL);
    check_rec(t, 0, sid, 0x12345000, VTD_FR_ROOT_NOT_PRESENT, VTD_R, VTD_AT_UNTRANSLATED);
    assert_int_equal(fsts(t), VTD_FSTS_PPF);
    /* 4-byte write of F (bit 127) to the upper dword clears it */
    th_wr32(t, t->fro + 12, 0x80000000u);
    check_empty(t, 0);
    assert_int_equal(fsts(t) & VTD_FSTS_PPF, 0);
}

/* ---------------------------------------------- order, FRI, PPF, collapse */

static void test_records_in_order_and_fri(void **state)
{
    struct th *t = new_th(state);
    for (unsigned i = 0; i < 3; i++) {
        assert_true(root_fault(t, rsid(i), 0x1000 * (i + 1)));
        assert_int_equal(fri(t), 0); /* first pending record, not next free */
        assert_true(fsts(t) & VTD_FSTS_PPF);
    }
    for (unsigned i = 0; i < 3; i++)
        check_rec(t, i, rsid(i), 0x1000 * (i + 1), VTD_FR_ROOT_NOT_PRESENT, VTD_R,
                  VTD_AT_UNTRANSLATED);
    check_empty(t, 3);

    /* PPF is read-only: writing it does nothing */
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_PPF);
    assert_true(fsts(t) & VTD_FSTS_PPF);

    /* clearing record 0 leaves PPF (records 1, 2) and FRI as latched */
    th_frcd_clear(t, 0);
    check_empty(t, 0);
    assert_int_equal(fsts(t), VTD_FSTS_PPF);
    th_frcd_clear(t, 2);
    assert_int_equal(fsts(t) & VTD_FSTS_PPF, VTD_FSTS_PPF);
    th_frcd_clear(t, 1);
    assert_int_equal(fsts(t) & (VTD_FSTS_PPF | VTD_FSTS_PFO), 0);

    /* the next fault goes to the unit's next record (3), and FRI points there */
    assert_true(root_fault(t, rsid(7), 0x7000));
    check_rec(t, 3, rsid(7), 0x7000, VTD_FR_ROOT_NOT_PRESENT, VTD_R, VTD_AT_UNTRANSLATED);
    for (unsigned i = 0; i < 3; i++)
        check_empty(t, i);
    assert_int_equal(fri(t), 3);
    assert_int_equal(fsts(t), VTD_FSTS_PPF | 3u << VTD_FSTS_FRI_SHIFT);
    /* a further fault does not move FRI */
    assert_true(root_fault(t, rsid(8), 0x8000));
    check_rec_sid(t, 4, rsid(8), 0x8000);
    assert_int_equal(fri(t), 3);
}

static void test_collapsing(void **state)
{
    struct th *t = new_th(state);
    uint16_t a = rsid(1), b = rsid(2);
    assert_true(root_fault(t, a, 0x11000));
    /* same SID, other address: collapsed (dropped) */
    struct vtd_result r = th_dma(t, a, 0x22000, VTD_W);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_ROOT_NOT_PRESENT);
    assert_false(r.fault_recorded);
    check_rec(t, 0, a, 0x11000, VTD_FR_ROOT_NOT_PRESENT, VTD_R, VTD_AT_UNTRANSLATED);
    check_empty(t, 1);
    assert_int_equal(fsts(t) & VTD_FSTS_PFO, 0);

    /* a different SID is recorded */
    assert_true(root_fault(t, b, 0x33000));
    check_rec_sid(t, 1, b, 0x33000);
    /* a SID on the same bus but another function is a different SID */
    uint16_t a2 = (uint16_t)(a ^ 1);
    assert_true(root_fault(t, a2, 0x34000));
    check_rec_sid(t, 2, a2, 0x34000);

    /* a's record cleared: a faults again and gets the next record (3) */
    th_frcd_clear(t, 0);
    assert_true(root_fault(t, a, 0x44000));
    check_empty(t, 0);
    check_rec_sid(t, 3, a, 0x44000);
    /* b still pending: still collapsed */
    assert_false(root_fault(t, b, 0x55000));
    check_empty(t, 4);
    assert_int_equal(t->nmsi, 1);
}

static void test_collapsing_other_reason(void **state)
{
    struct th *t = new_th(state);
    uint16_t sid = SID(1, 6, 0);
    map_dev(t, sid, 0x1000, 0x2000, VTD_SL_R, VTD_TT_UNTRANSLATED, false);
    struct vtd_result r = th_dma(t, sid, 0x1000, VTD_W);
    assert_int_equal(r.fault_reason, VTD_FR_NO_WRITE);
    assert_true(r.fault_recorded);
    r = th_dma(t, sid, 0x9000, VTD_R); /* 6h, same SID */
    assert_int_equal(r.fault_reason, VTD_FR_NO_READ);
    assert_false(r.fault_recorded);
    check_rec(t, 0, sid, 0x1000, VTD_FR_NO_WRITE, VTD_W, VTD_AT_UNTRANSLATED);
    check_empty(t, 1);
}

/* --------------------------------------------------------------- overflow */

static void test_overflow_pfo(void **state)
{
    struct th *t = new_th(state);
    unsigned n = nrec(t);
    assert_int_equal(n, 8);
    for (unsigned i = 0; i < n; i++)
        assert_true(root_fault(t, rsid(i), 0x1000 * (i + 1)));
    for (unsigned i = 0; i < n; i++)
        check_rec_sid(t, i, rsid(i), 0x1000 * (i + 1));
    assert_int_equal(fsts(t), VTD_FSTS_PPF);

    /* next record (0, wrapped) still pending: PFO, dropped */
    assert_false(root_fault(t, rsid(20), 0x99000));
    assert_int_equal(fsts(t), VTD_FSTS_PPF | VTD_FSTS_PFO);
    check_rec_sid(t, 0, rsid(0), 0x1000);
    assert_false(root_fault(t, rsid(21), 0x98000));
    assert_int_equal(fsts(t), VTD_FSTS_PPF | VTD_FSTS_PFO);
    assert_int_equal(t->nmsi, 1); /* no new event: status was set */

    /* PFO is RW1C: writing 0 leaves it */
    th_wr32(t, VTD_REG_FSTS, 0);
    assert_true(fsts(t) & VTD_FSTS_PFO);
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_PPF);
    assert_true(fsts(t) & VTD_FSTS_PFO);
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_PFO);
    assert_int_equal(fsts(t), VTD_FSTS_PPF);

    /* all records still pending: the next fault overflows again */
    assert_false(root_fault(t, rsid(22), 0x97000));
    assert_true(fsts(t) & VTD_FSTS_PFO);

    /* free record 0 and clear PFO: recording resumes at record 0 */
    th_frcd_clear(t, 0);
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_PFO);
    assert_int_equal(fsts(t), VTD_FSTS_PPF);
    assert_true(root_fault(t, rsid(23), 0x96000));
    check_rec(t, 0, rsid(23), 0x96000, VTD_FR_ROOT_NOT_PRESENT, VTD_R, VTD_AT_UNTRANSLATED);
    assert_int_equal(fsts(t) & VTD_FSTS_PFO, 0);
    assert_int_equal(fri(t), 0);
    /* record 1 is next and pending */
    assert_false(root_fault(t, rsid(24), 0x95000));
    assert_true(fsts(t) & VTD_FSTS_PFO);
    check_rec_sid(t, 1, rsid(1), 0x2000);
}

static void test_pfo_drops_even_with_free_records(void **state)
{
    struct th *t = new_th(state);
    unsigned n = nrec(t);
    for (unsigned i = 0; i <= n; i++)
        (void)root_fault(t, rsid(i), 0x1000);
    assert_int_equal(fsts(t), VTD_FSTS_PPF | VTD_FSTS_PFO);
    assert_int_equal(t->nmsi, 1);
    clear_all(t);
    assert_int_equal(fsts(t), VTD_FSTS_PFO); /* PPF gone, PFO stays */
    /* PFO set: dropped though every record is free, and no event */
    assert_false(root_fault(t, rsid(30), 0x5000));
    for (unsigned i = 0; i < n; i++)
        check_empty(t, i);
    assert_int_equal(t->nmsi, 1);
    /* clear PFO: recorded (next index is 0 after the wrap), new event */
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_PFO);
    assert_int_equal(fsts(t), 0);
    assert_true(root_fault(t, rsid(31), 0x6000));
    check_rec_sid(t, 0, rsid(31), 0x6000);
    assert_int_equal(fsts(t), VTD_FSTS_PPF);
    assert_int_equal(t->nmsi, 2);
    check_msi(t, 1, EV_ADDR, EV_DATA);
}

static void test_wraparound(void **state)
{
    struct th *t = new_th(state);
    unsigned n = nrec(t);
    for (unsigned i = 0; i < 2 * n + 3; i++) {
        assert_true(root_fault(t, rsid(i), 0x1000 * (i + 1)));
        unsigned idx = i % n;
        check_rec(t, idx, rsid(i), 0x1000 * (i + 1), VTD_FR_ROOT_NOT_PRESENT, VTD_R,
                  VTD_AT_UNTRANSLATED);
        assert_int_equal(fsts(t), VTD_FSTS_PPF | idx << VTD_FSTS_FRI_SHIFT);
        for (unsigned j = 0; j < n; j++)
            assert_int_equal(rec_pending(t, j), j == idx);
        assert_int_equal(t->nmsi, (int)i + 1); /* each a new condition */
        th_frcd_clear(t, idx);
        assert_int_equal(fsts(t) & VTD_FSTS_PPF, 0);
    }
}

static void test_wraparound_small_nfr(void **state)
{
    /* 2 records at 0x1000 (beyond the 4 KiB page) */
    struct vtd_config c;
    vtd_config_default(&c);
    c.cap &= ~(VTD_CAP_FRO_MASK | VTD_CAP_NFR_MASK);
    c.cap |= VTD_FIELD_PREP(0x100, 33, 24) | VTD_FIELD_PREP(1, 47, 40);
    struct th *t = new_th_cfg(state, &c);
    assert_int_equal(t->fro, 0x1000);
    assert_int_equal(nrec(t), 2);
    assert_true(root_fault(t, rsid(0), 0x1000));
    assert_true(root_fault(t, rsid(1), 0x2000));
    assert_int_equal(th_rd64(t, 0x1000), 0x1000);
    assert_int_equal(th_rd64(t, 0x1010), 0x2000);
    assert_int_equal(th_rd64(t, 0x1018) & VTD_FRCD_HI_SID_MASK, rsid(1));
    assert_false(root_fault(t, rsid(2), 0x3000));
    assert_int_equal(fsts(t), VTD_FSTS_PPF | VTD_FSTS_PFO);
    th_frcd_clear(t, 0);
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_PFO);
    assert_true(root_fault(t, rsid(3), 0x4000)); /* wraps to record 0 */
    check_rec_sid(t, 0, rsid(3), 0x4000);
    check_rec_sid(t, 1, rsid(1), 0x2000);
    assert_int_equal(fri(t), 0);
}

static void test_next_index_resets_when_te_off(void **state)
{
    struct th *t = new_th(state);
    assert_true(root_fault(t, rsid(0), 0x1000));
    assert_true(root_fault(t, rsid(1), 0x2000));
    assert_true(root_fault(t, rsid(2), 0x3000));
    clear_all(t);
    /* TE stays on: the index keeps going (3) */
    assert_true(root_fault(t, rsid(3), 0x4000));
    check_rec_sid(t, 3, rsid(3), 0x4000);
    clear_all(t);
    /* TE off (IRE clear too): the index returns to 0 */
    th_disable_te(t);
    th_enable_te(t);
    assert_true(root_fault(t, rsid(4), 0x5000));
    check_rec_sid(t, 0, rsid(4), 0x5000);
    check_empty(t, 4);
    assert_int_equal(fri(t), 0);
}

static void test_pasid_request_legacy(void **state)
{
    /* 31h: not qualified (recorded under FPD); no PASID in the record */
    struct th *t = new_th(state);
    uint16_t sid = SID(6, 1, 0);
    map_dev(t, sid, 0x1000, 0x2000, VTD_SL_R | VTD_SL_W, VTD_TT_UNTRANSLATED, true);
    struct vtd_request q;
    memset(&q, 0, sizeof(q));
    q.sid = sid;
    q.at = VTD_AT_UNTRANSLATED;
    q.access = VTD_R;
    q.pasid_valid = true;
    q.pasid = 0x1234;
    q.priv = true;
    q.addr = 0x1000;
    struct vtd_result r = th_req(t, &q);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_RTA_PASID_LEGACY);
    assert_true(r.fault_recorded);
    assert_true(th_has_diag(t, VTD_DIAG_REQ_PASID_LEGACY));
    check_rec(t, 0, sid, 0x1000, VTD_FR_RTA_PASID_LEGACY, VTD_R, 0);
    /* the same request without PASID is fine */
    q.pasid_valid = false;
    q.priv = false;
    r = th_req(t, &q);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, 0x2000);
}

static void test_interrupt_range_faults(void **state)
{
    struct th *t = new_th(state);
    uint16_t sid = SID(6, 2, 0);
    map_dev(t, sid, 0x1000, 0x2000, VTD_SL_R | VTD_SL_W, VTD_TT_UNTRANSLATED, false);
    /* untranslated write there: an interrupt, blocked, no record */
    struct vtd_result r = th_dma(t, sid, 0xFEE00000, VTD_W);
    assert_int_equal(r.status, VTD_BLOCKED);
    assert_false(r.fault_recorded);
    assert_true(th_has_diag(t, VTD_DIAG_REQ_INTR_RANGE));
    assert_int_equal(fsts(t), 0);
    /* a read there faults Eh */
    r = th_dma(t, sid, 0xFEEFF008, VTD_R);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_INTR_RANGE);
    assert_true(r.fault_recorded);
    check_rec(t, 0, sid, 0xFEEFF008, VTD_FR_INTR_RANGE, VTD_R, 0);
    /* output in the range: Eh as well */
    uint16_t sid2 = SID(6, 3, 0);
    map_dev(t, sid2, 0x5000, 0xFEE01000, VTD_SL_R | VTD_SL_W, VTD_TT_UNTRANSLATED, false);
    r = th_dma(t, sid2, 0x5010, VTD_W);
    assert_int_equal(r.fault_reason, VTD_FR_INTR_RANGE);
    check_rec(t, 1, sid2, 0x5010, VTD_FR_INTR_RANGE, VTD_W, 0);
}

/* ----------------------------------------------------------- fault event */

static void test_event_once(void **state)
{
    struct th *t = new_th(state);
    assert_int_equal(t->nmsi, 0);
    assert_true(root_fault(t, rsid(0), 0x1000));
    assert_int_equal(t->nmsi, 1);
    check_msi(t, 0, EV_ADDR, EV_DATA);
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), 0);
    assert_true(root_fault(t, rsid(1), 0x1000));
    assert_true(root_fault(t, rsid(2), 0x1000));
    assert_false(root_fault(t, rsid(2), 0x1000));
    assert_int_equal(t->nmsi, 1);

    /* clearing one record keeps PPF: still no event */
    th_frcd_clear(t, 0);
    assert_true(root_fault(t, rsid(3), 0x1000));
    assert_int_equal(t->nmsi, 1);

    /* all cleared: next fault is a new event, with the current registers */
    clear_all(t);
    th_wr32(t, VTD_REG_FEDATA, 0x99);
    th_wr64(t, VTD_REG_FEADDR, 0x00000002FEE00ABCULL);
    assert_true(root_fault(t, rsid(4), 0x1000));
    assert_int_equal(t->nmsi, 2);
    check_msi(t, 1, 0x00000002FEE00ABCULL, 0x99);
}

static void test_event_masked(void **state)
{
    struct th *t = new_th(state);
    th_wr32(t, VTD_REG_FECTL, VTD_ECTL_IM);
    assert_true(root_fault(t, rsid(0), 0x1000));
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), VTD_ECTL_IM | VTD_ECTL_IP);
    assert_int_equal(t->nmsi, 0);
    assert_true(root_fault(t, rsid(1), 0x1000));
    assert_int_equal(t->nmsi, 0);
    /* keeping IM set (rewrite) sends nothing */
    th_wr32(t, VTD_REG_FECTL, VTD_ECTL_IM);
    assert_int_equal(t->nmsi, 0);
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), VTD_ECTL_IM | VTD_ECTL_IP);
    /* unmask: the held event is sent once, IP clears */
    th_wr32(t, VTD_REG_FECTL, 0);
    assert_int_equal(t->nmsi, 1);
    check_msi(t, 0, EV_ADDR, EV_DATA);
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), 0);
    th_wr32(t, VTD_REG_FECTL, VTD_ECTL_IM);
    th_wr32(t, VTD_REG_FECTL, 0);
    assert_int_equal(t->nmsi, 1);
}

static void test_event_masked_then_serviced(void **state)
{
    struct th *t = new_th(state);
    th_wr32(t, VTD_REG_FECTL, VTD_ECTL_IM);
    assert_true(root_fault(t, rsid(0), 0x1000));
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), VTD_ECTL_IM | VTD_ECTL_IP);
    /* software services the record while masked: IP clears, no stale MSI */
    th_frcd_clear(t, 0);
    assert_int_equal(fsts(t) & VTD_FSTS_PPF, 0);
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), VTD_ECTL_IM);
    th_wr32(t, VTD_REG_FECTL, 0);
    assert_int_equal(t->nmsi, 0);
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), 0);
    /* and the next fault is delivered at once */
    assert_true(root_fault(t, rsid(1), 0x1000));
    assert_int_equal(t->nmsi, 1);
}

static void test_event_masked_pfo_serviced(void **state)
{
    /* IP stays while any status remains; clears only when all is serviced */
    struct th *t = new_th(state);
    th_wr32(t, VTD_REG_FECTL, VTD_ECTL_IM);
    for (unsigned i = 0; i <= nrec(t); i++)
        (void)root_fault(t, rsid(i), 0x1000);
    assert_int_equal(fsts(t), VTD_FSTS_PPF | VTD_FSTS_PFO);
    clear_all(t);
    assert_int_equal(fsts(t), VTD_FSTS_PFO);
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), VTD_ECTL_IM | VTD_ECTL_IP);
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_PFO);
    assert_int_equal(fsts(t), 0);
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), VTD_ECTL_IM);
    th_wr32(t, VTD_REG_FECTL, 0);
    assert_int_equal(t->nmsi, 0);
}

static void test_no_event_when_status_pending(void **state)
{
    struct th *t = new_th(state);
    assert_true(root_fault(t, rsid(0), 0x1000));
    assert_int_equal(t->nmsi, 1);
    th_wr32(t, VTD_REG_FECTL, VTD_ECTL_IM);
    assert_true(root_fault(t, rsid(1), 0x1000)); /* PPF already set: no event */
    assert_int_equal(th_rd32(t, VTD_REG_FECTL), VTD_ECTL_IM);
    th_wr32(t, VTD_REG_FECTL, 0);
    assert_int_equal(t->nmsi, 1);
}

static void test_no_msi_callback(void **state)
{
    /* the unit works without an msi callback */
    (void)state;
    struct vtd_mem *m = NULL;
    assert_int_equal(vtd_mem_create(0, &m), 0);
    struct vtd_host h;
    memset(&h, 0, sizeof(h));
    vtd_mem_host(m, &h);
    struct vtd *u = NULL;
    assert_int_equal(vtd_create(NULL, &h, &u), 0);
    vtd_mmio_write(u, VTD_REG_FECTL, 0, 4);
    vtd_mmio_write(u, VTD_REG_GCMD, VTD_GCMD_TE, 4);
    struct vtd_request q;
    memset(&q, 0, sizeof(q));
    q.sid = 0x100;
    q.access = VTD_R;
    q.addr = 0x1000;
    struct vtd_result r;
    assert_int_equal(vtd_translate(u, &q, &r), 0);
    assert_int_equal(r.status, VTD_FAULT);
    assert_true(r.fault_recorded);
    assert_int_equal(vtd_mmio_read(u, VTD_REG_FSTS, 4), VTD_FSTS_PPF);
    vtd_destroy(u);
    vtd_mem_destroy(m);
}

/* -------------------------------------------------------------------- FPD */

static void test_fpd_suppresses_qualified(void **state)
{
    struct th *t = new_th(state);
    struct vtd_stats s0, s1;
    uint16_t np = SID(4, 0, 0), wo = SID(4, 1, 0), rs = SID(4, 2, 0), aw = SID(4, 3, 0);
    /* FPD=1 in a not-present context entry */
    th_set_ctx(t, np, VTD_CTX_LO_FPD, 0);
    /* FPD=1, present, page without R */
    map_dev(t, wo, 0x1000, 0x2000, VTD_SL_W, VTD_TT_UNTRANSLATED, true);
    /* FPD=1, reserved bit 4 set */
    uint64_t sl = th_alloc_page(t);
    th_set_ctx(t, rs, th_ctx_lo(sl, VTD_TT_UNTRANSLATED, true) | VTD_BIT(4), th_ctx_hi(VTD_AW_48, 2));
    /* FPD=1, 3-level table, address beyond 39 bits */
    uint64_t sl3 = th_alloc_page(t);
    th_map(t, sl3, 3, 0x1000, 0x2000, 4096, 4096, VTD_SL_R | VTD_SL_W);
    th_set_ctx(t, aw, th_ctx_lo(sl3, VTD_TT_UNTRANSLATED, true), th_ctx_hi(VTD_AW_39, 3));
    vtd_get_stats(t->u, &s0);

    struct vtd_result r = th_dma(t, np, 0x1000, VTD_R);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_CTX_NOT_PRESENT);
    assert_false(r.fault_recorded);
    r = th_dma(t, wo, 0x1000, VTD_R);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_NO_READ);
    assert_false(r.fault_recorded);
    r = th_dma(t, rs, 0x1000, VTD_R);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_CTX_RSVD);
    assert_false(r.fault_recorded);
    r = th_dma(t, aw, 1ULL << 40, VTD_R);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_ADDR_BEYOND_AW);
    assert_false(r.fault_recorded);
    /* the permitted access of the FPD device works */
    assert_int_equal(th_dma(t, wo, 0x1000, VTD_W).status, VTD_OK);

    assert_int_equal(fsts(t), 0);
    for (unsigned i = 0; i < nrec(t); i++)
        check_empty(t, i);
    assert_int_equal(t->nmsi, 0);
    vtd_get_stats(t->u, &s1);
    assert_int_equal(s1.faults - s0.faults, 4);
    assert_int_equal(s1.faults_recorded, s0.faults_recorded);

    /* root-level faults are recorded regardless, starting at record 0 */
    uint16_t root = rsid(9);
    assert_true(root_fault(t, root, 0x3000));
    check_rec(t, 0, root, 0x3000, VTD_FR_ROOT_NOT_PRESENT, VTD_R, VTD_AT_UNTRANSLATED);
    assert_int_equal(t->nmsi, 1);
    vtd_get_stats(t->u, &s0);
    assert_int_equal(s0.faults_recorded - s1.faults_recorded, 1);
}

static void test_fpd_clear_records(void **state)
{
    /* the same faults with FPD=0 are recorded (the FPD bit is what suppresses) */
    struct th *t = new_th(state);
    uint16_t np = SID(4, 0, 0), wo = SID(4, 1, 0);
    th_set_ctx(t, np, 0, 0);
    map_dev(t, wo, 0x1000, 0x2000, VTD_SL_W, VTD_TT_UNTRANSLATED, false);
    struct vtd_result r = th_dma(t, np, 0x1000, VTD_R);
    assert_true(r.fault_recorded);
    r = th_dma(t, wo, 0x1000, VTD_R);
    assert_true(r.fault_recorded);
    check_rec(t, 0, np, 0x1000, VTD_FR_CTX_NOT_PRESENT, VTD_R, VTD_AT_UNTRANSLATED);
    check_rec(t, 1, wo, 0x1000, VTD_FR_NO_READ, VTD_R, VTD_AT_UNTRANSLATED);
}

static void test_fpd_does_not_cover_other_devfn(void **state)
{
    struct th *t = new_th(state);
    uint16_t fpd = SID(5, 0, 0), other = SID(5, 0, 1);
    th_set_ctx(t, fpd, VTD_CTX_LO_FPD, 0);
    th_set_ctx(t, other, 0, 0);
    assert_false(th_dma(t, fpd, 0x1000, VTD_W).fault_recorded);
    struct vtd_result r = th_dma(t, other, 0x1000, VTD_W);
    assert_true(r.fault_recorded);
    check_rec(t, 0, other, 0x1000, VTD_FR_CTX_NOT_PRESENT, VTD_W, VTD_AT_UNTRANSLATED);
}

static void test_te_off_no_faults(void **state)
{
    struct th *t = new_th(state);
    th_disable_te(t);
    struct vtd_result r = th_dma(t, rsid(0), 0x1000, VTD_W);
    assert_int_equal(r.status, VTD_OK);
    assert_false(r.fault_recorded);
    assert_int_equal(fsts(t), 0);
    check_empty(t, 0);
    assert_int_equal(t->nmsi, 0);
}

/* ------------------------------------------------------------------ main */

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest record_tests[] = {
        T(test_record_root_not_present),
        T(test_record_fi_above_mgaw),
        T(test_record_ctx_not_present),
        T(test_record_permission_faults),
        T(test_record_not_present_write),
        T(test_record_at_field),
        cmocka_unit_test(test_record_at_field_without_dt),
        T(test_record_read_errors),
        T(test_record_fields_read_only),
    };
    const struct CMUnitTest order_tests[] = {
        T(test_records_in_order_and_fri),
        T(test_collapsing),
        T(test_collapsing_other_reason),
        T(test_overflow_pfo),
        T(test_pfo_drops_even_with_free_records),
        T(test_wraparound),
        T(test_wraparound_small_nfr),
        T(test_next_index_resets_when_te_off),
        T(test_pasid_request_legacy),
        T(test_interrupt_range_faults),
    };
    const struct CMUnitTest event_tests[] = {
        T(test_event_once),
        T(test_event_masked),
        T(test_event_masked_then_serviced),
        T(test_event_masked_pfo_serviced),
        T(test_no_event_when_status_pending),
        T(test_no_msi_callback),
    };
    const struct CMUnitTest fpd_tests[] = {
        T(test_fpd_suppresses_qualified),
        T(test_fpd_clear_records),
        T(test_fpd_does_not_cover_other_devfn),
        T(test_te_off_no_faults),
    };
    int fails = 0;
    fails += cmocka_run_group_tests_name("faults_record", record_tests, NULL, NULL);
    fails += cmocka_run_group_tests_name("faults_order", order_tests, NULL, NULL);
    fails += cmocka_run_group_tests_name("faults_event", event_tests, NULL, NULL);
    fails += cmocka_run_group_tests_name("faults_fpd", fpd_tests, NULL, NULL);
    return fails != 0;
}
