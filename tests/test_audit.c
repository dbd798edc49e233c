/* Tests of `vtd audit` (tools/vtd/audit*.c): images built with the model
 * harness (tables written into its memory, the unit programmed through
 * MMIO), dumped into a buffer or a file and audited; the ranges found are
 * checked against the model's own translations. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "harness.h"
#include "tool.h"

#define IMG_SIZE (4ULL << 20)

/* ---- helpers ---- */

struct aud {
    uint8_t *buf;
    struct audit_image img;
    struct audit_regs regs;
    struct audit_report rep;
    char *text;     /* audit_print output */
    size_t textlen;
};

static void dump_image(struct th *t, struct aud *a, uint64_t size)
{
    a->buf = malloc(size);
    assert_non_null(a->buf);
    assert_int_equal(vtd_mem_read(t->mem, 0, a->buf, size), 0);
    a->img = (struct audit_image){.data = a->buf, .size = size, .base = 0};
}

/* registers read from the unit, as a person would read its register window */
static void regs_from_unit(struct th *t, struct audit_regs *r)
{
    memset(r, 0, sizeof *r);
    r->ver = th_rd32(t, VTD_REG_VER);
    r->cap = th_rd64(t, VTD_REG_CAP);
    r->ecap = th_rd64(t, VTD_REG_ECAP);
    r->gsts = th_rd32(t, VTD_REG_GSTS);
    r->rtaddr = th_rd64(t, VTD_REG_RTADDR);
    r->irta = th_rd64(t, VTD_REG_IRTA);
    r->iqa = th_rd64(t, VTD_REG_IQA);
    r->seen = AUDIT_REG_VER | AUDIT_REG_CAP | AUDIT_REG_ECAP | AUDIT_REG_GSTS | AUDIT_REG_RTADDR;
}

static void run(struct aud *a, int fmt, uint64_t max_entries)
{
    char err[256] = "";
    struct audit_opts o = {.max_entries = max_entries};
    int rc = audit_run(&a->img, &a->regs, &o, &a->rep, err, sizeof err);
    if (rc != 0)
        fail_msg("audit_run: %s", err);
    FILE *f = open_memstream(&a->text, &a->textlen);
    assert_non_null(f);
    audit_print(f, fmt, &a->img, &a->regs, &a->rep);
    fclose(f);
    if (getenv("VTD_AUDIT_SHOW")) /* to look at the output while debugging */
        fputs(a->text, stderr);
}

static void aud_free(struct aud *a)
{
    audit_report_free(&a->rep);
    free(a->buf);
    free(a->text);
}

static const struct audit_dev *find_dev(const struct audit_report *r, uint16_t sid, uint32_t pasid)
{
    for (size_t i = 0; i < r->ndev; i++)
        if (r->dev[i].sid == sid && r->dev[i].pasid == pasid)
            return &r->dev[i];
    fail_msg("device %04x pasid %x not in the report", sid, pasid);
    return NULL;
}

static size_t count_an(const struct audit_report *r, int kind, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nan; i++)
        if (r->an[i].kind == kind && (!needle || strstr(r->an[i].msg, needle)))
            n++;
    return n;
}

static void has_text(const struct aud *a, const char *needle)
{
    if (!strstr(a->text, needle))
        fail_msg("output lacks \"%s\":\n%s", needle, a->text);
}

/* Every range the audit reports must be what the model translates: first and
 * last page, read and write, against vtd_translate. */
static void cross_check(struct th *t, const struct audit_report *rep, const struct audit_dev *d)
{
    assert_true(d->space >= 0);
    const struct audit_space *sp = &rep->space[d->space];
    for (size_t i = 0; i < sp->nr; i++) {
        const struct audit_range *r = &sp->r[i];
        uint64_t probe[2] = {r->iova, r->iova + r->size - 4096};
        for (int k = 0; k < 2; k++) {
            struct vtd_result res = th_dma(t, d->sid, probe[k], VTD_R);
            assert_int_equal(res.status == VTD_OK, (r->perm & VTD_R) != 0);
            if (res.status == VTD_OK)
                assert_int_equal(res.pa, r->pa + (probe[k] - r->iova));
            res = th_dma(t, d->sid, probe[k], VTD_W);
            assert_int_equal(res.status == VTD_OK, (r->perm & VTD_W) != 0);
        }
        /* just past the range: not this range's translation */
        struct vtd_result res = th_dma(t, d->sid, r->iova + r->size, VTD_R);
        if (res.status == VTD_OK)
            assert_true(res.pa != r->pa + r->size || (i + 1 < sp->nr && sp->r[i + 1].iova == r->iova + r->size));
    }
}

/* ---- legacy mode ---- */

static void build_legacy(struct th *t, uint64_t *sl4, uint64_t *sl3)
{
    *sl4 = th_alloc_page(t);
    th_map(t, *sl4, 4, 0x0, 0x800000, 0x2000, 4096, VTD_SL_R | VTD_SL_W);          /* 8 KiB */
    th_map(t, *sl4, 4, 0x200000, 0x200000, 0x200000, 2ULL << 20, VTD_SL_R);          /* 2 MiB identity */
    th_map(t, *sl4, 4, 0x40000000, 0x80000000, 1ULL << 30, 1ULL << 30, VTD_SL_R | VTD_SL_W);
    th_set_ctx(t, SID(0, 2, 0), th_ctx_lo(*sl4, VTD_TT_UNTRANSLATED, false), th_ctx_hi(VTD_AW_48, 1));
    th_set_ctx(t, SID(0, 2, 1), th_ctx_lo(*sl4, VTD_TT_UNTRANSLATED, false), th_ctx_hi(VTD_AW_48, 1));
    *sl3 = th_alloc_page(t);
    th_map(t, *sl3, 3, 0x1000, 0x900000, 0x1000, 4096, VTD_SL_W);
    th_map(t, *sl3, 3, 0x2000, 0x901000, 0x1000, 4096, VTD_SL_R | VTD_SL_W);
    th_set_ctx(t, SID(0, 3, 0), th_ctx_lo(*sl3, VTD_TT_DEVTLB, false), th_ctx_hi(VTD_AW_39, 2));
    th_set_ctx(t, SID(1, 0, 0), th_ctx_lo(0, VTD_TT_PASSTHROUGH, false), th_ctx_hi(VTD_AW_48, 3));
    th_enable(t);
}

static void test_legacy_sl(void **state)
{
    struct th *t = th_new(state, NULL);
    uint64_t sl4, sl3;
    build_legacy(t, &sl4, &sl3);
    struct aud a = {0};
    dump_image(t, &a, IMG_SIZE);
    regs_from_unit(t, &a.regs);
    run(&a, AUDIT_FMT_TEXT, 0);

    assert_true(a.rep.te);
    assert_false(a.rep.sm);
    assert_int_equal(a.rep.ndev, 4);
    const struct audit_dev *d = find_dev(&a.rep, SID(0, 2, 0), AUDIT_NO_PASID);
    assert_int_equal(d->tt, AUDIT_TT_SL);
    assert_int_equal(d->did, 1);
    const struct audit_space *sp = &a.rep.space[d->space];
    assert_int_equal(sp->levels, 4);
    assert_int_equal(sp->root, sl4);
    assert_int_equal(sp->nr, 3);
    /* two 4 KiB pages merged into one run */
    assert_int_equal(sp->r[0].iova, 0);
    assert_int_equal(sp->r[0].pa, 0x800000);
    assert_int_equal(sp->r[0].size, 0x2000);
    assert_int_equal(sp->r[0].perm, VTD_R | VTD_W);
    assert_int_equal(sp->r[1].iova, 0x200000);
    assert_int_equal(sp->r[1].size, 0x200000);
    assert_int_equal(sp->r[1].perm, VTD_R);
    assert_int_equal(sp->r[2].iova, 0x40000000);
    assert_int_equal(sp->r[2].pa, 0x80000000);
    assert_int_equal(sp->r[2].size, 1ULL << 30);
    cross_check(t, &a.rep, d);

    /* 00:02.1 shares the tables and the domain */
    const struct audit_dev *d1 = find_dev(&a.rep, SID(0, 2, 1), AUDIT_NO_PASID);
    assert_int_equal(d1->space, d->space);
    cross_check(t, &a.rep, d1);
    has_text(&a, "domain 1: 00:02.0 00:02.1");
    has_text(&a, "same tables as 00:02.0");
    has_text(&a, "    0x0000000000000000-0x0000000000001fff -> 0x0000000000800000-0x0000000000801fff  RW-  8 KiB");
    has_text(&a, "0x0000000040000000-0x000000007fffffff -> 0x0000000080000000-0x00000000bfffffff  RW-  1 GiB");

    /* 3-level, W-only page not merged with the RW one after it; TT 01 */
    const struct audit_dev *d3 = find_dev(&a.rep, SID(0, 3, 0), AUDIT_NO_PASID);
    const struct audit_space *s3 = &a.rep.space[d3->space];
    assert_int_equal(s3->levels, 3);
    assert_int_equal(s3->nr, 2);
    assert_int_equal(s3->r[0].perm, VTD_W);
    assert_int_equal(s3->r[1].perm, VTD_R | VTD_W);
    assert_true(d3->devtlb);
    cross_check(t, &a.rep, d3);
    assert_int_equal(count_an(&a.rep, AUDIT_A_DEVTLB, "00:03.0"), 1);

    /* pass-through */
    const struct audit_dev *pt = find_dev(&a.rep, SID(1, 0, 0), AUDIT_NO_PASID);
    assert_int_equal(pt->tt, AUDIT_TT_PT);
    assert_int_equal(pt->space, -1);
    has_text(&a, "pass-through devices: 01:00.0");
    assert_int_equal(count_an(&a.rep, AUDIT_A_PASSTHROUGH, "01:00.0"), 1);
    assert_int_equal(count_an(&a.rep, AUDIT_A_TABLE_WRITE, "pass-through: 01:00.0"), 1);
    /* the 2 MiB identity run, reported once for the shared space */
    assert_int_equal(count_an(&a.rep, AUDIT_A_IDENTITY, NULL), 1);
    assert_int_equal(count_an(&a.rep, AUDIT_A_IDENTITY, "0x200000-0x3fffff (read-only)"), 1);
    assert_int_equal(count_an(&a.rep, AUDIT_A_RESERVED, NULL), 0);
    assert_int_equal(count_an(&a.rep, AUDIT_A_UNREADABLE, NULL), 0);
    aud_free(&a);
}

static void test_te_off(void **state)
{
    struct th *t = th_new(state, NULL);
    uint64_t sl4 = th_alloc_page(t);
    th_map(t, sl4, 4, 0, 0x800000, 0x1000, 4096, VTD_SL_R);
    th_set_ctx(t, SID(0, 2, 0), th_ctx_lo(sl4, 0, false), th_ctx_hi(VTD_AW_48, 1));
    th_set_root(t, 0); /* root latched, TE left off */
    struct aud a = {0};
    dump_image(t, &a, IMG_SIZE);
    regs_from_unit(t, &a.regs);
    run(&a, AUDIT_FMT_TEXT, 0);
    assert_false(a.rep.te);
    assert_int_equal(a.rep.ndev, 0);
    assert_int_equal(count_an(&a.rep, AUDIT_A_PASSTHROUGH, "GSTS.TES=0"), 1);
    has_text(&a, "DMA remapping off");
    struct vtd_result r = th_dma(t, SID(0, 2, 0), 0x12345000, VTD_W); /* what the audit claims */
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, 0x12345000);
    aud_free(&a);
}

/* ---- scalable mode (tables written into memory; the model has no SM yet) ---- */

#define SM_CAP (VTD_FIELD_PREP(6, 2, 0) | VTD_CAP_SAGAW_39 | VTD_CAP_SAGAW_48 | VTD_CAP_SAGAW_57 | \
                VTD_FIELD_PREP(56, 21, 16) | VTD_CAP_SLLPS_2M | VTD_CAP_SLLPS_1G | VTD_CAP_FL1GP | \
                VTD_CAP_FL5LP | VTD_CAP_PI)
#define SM_ECAP (VTD_ECAP_QI | VTD_ECAP_DT | VTD_ECAP_IR | VTD_ECAP_EIM | VTD_ECAP_PT | VTD_ECAP_SC | \
                 VTD_ECAP_NEST | VTD_ECAP_PASID | VTD_FIELD_PREP(19, 39, 35) | VTD_ECAP_SMTS | \
                 VTD_ECAP_SLTS | VTD_ECAP_FLTS | VTD_ECAP_RPS)

static void sm_regs(struct audit_regs *r, uint64_t root)
{
    memset(r, 0, sizeof *r);
    r->ver = 0x60;
    r->cap = SM_CAP;
    r->ecap = SM_ECAP;
    r->gsts = (uint32_t)(VTD_GSTS_TES | VTD_GSTS_RTPS);
    r->rtaddr = root | (1ULL << VTD_RTADDR_TTM_SHIFT);
    r->seen = AUDIT_REG_CAP | AUDIT_REG_ECAP | AUDIT_REG_GSTS | AUDIT_REG_RTADDR;
}

/* first-level map of one page: 4-level, tables allocated as needed */
static void fl_map(struct th *t, uint64_t root, int levels, uint64_t va, uint64_t pa, int leaf_level,
                   uint64_t flags)
{
    uint64_t table = root;
    for (int l = levels; l > leaf_level; l--) {
        uint64_t ea = table + 8 * ((va >> (12 + 9 * (l - 1))) & 511);
        uint64_t e = th_r64(t, ea);
        if (!(e & 1)) {
            e = th_alloc_page(t) | 7; /* P, R/W, U/S */
            th_w64(t, ea, e);
        }
        table = e & VTD_SL_ADDR_MASK;
    }
    th_w64(t, table + 8 * ((va >> (12 + 9 * (leaf_level - 1))) & 511),
           pa | flags | (leaf_level > 1 ? VTD_BIT(7) : 0));
}

struct sm_layout {
    uint64_t root, ctx, dir, ptbl, sl, fl, nfl;
};

static void sm_pasid(struct th *t, const struct sm_layout *l, unsigned pasid, uint64_t q0, uint64_t q1,
                     uint64_t q2)
{
    uint64_t e = l->ptbl + 64ULL * pasid;
    th_w64(t, e + 8, q1);
    th_w64(t, e + 16, q2);
    th_w64(t, e, q0);
}

static void build_sm(struct th *t, struct sm_layout *l)
{
    l->root = th_alloc_page(t);
    l->ctx = th_alloc_page(t);
    l->dir = th_alloc_page(t);
    l->ptbl = th_alloc_page(t);
    l->sl = th_alloc_page(t);
    /* SL: IOVA 0 -> 0x800000 (8 KiB RW), GPA 0x10000000 2 MiB -> HPA 0x1000000 RW */
    th_map(t, l->sl, 4, 0, 0x800000, 0x2000, 4096, VTD_SL_R | VTD_SL_W);
    th_map(t, l->sl, 4, 0x10000000, 0x1000000, 2ULL << 20, 2ULL << 20, VTD_SL_R | VTD_SL_W);
    /* FL (4-level): a user page low, a supervisor read-only no-execute page in the upper half */
    l->fl = th_alloc_page(t);
    fl_map(t, l->fl, 4, 0x400000, 0xA00000, 1, 7);
    fl_map(t, l->fl, 4, 0xFFFF800000000000ULL, 0xB00000, 1, 1 | VTD_BIT(63));
    fl_map(t, l->fl, 4, 0x80000000, 0x40000000, 3, 3); /* 1 GiB supervisor RW */
    /* nested FL: its tables live at GPAs 0x10000000.. (HPA 0x1000000..) */
    uint64_t g = 0x10000000, h = 0x1000000;
    l->nfl = g;
    th_w64(t, h + 0x000, (g + 0x1000) | 7);           /* PML4[0] -> PDPT at GPA g+0x1000 */
    th_w64(t, h + 0x1000, (g + 0x2000) | 7);          /* PDPT[0] -> PD */
    th_w64(t, h + 0x2000, (g + 0x3000) | 7);          /* PD[0] -> PT */
    th_w64(t, h + 0x3000 + 8 * 5, (g + 0x100000) | 7); /* VA 0x5000 -> GPA g+1 MiB -> HPA h+1 MiB */
    /* root: lower context table for bus 0 */
    th_w64(t, l->root, l->ctx | 1);
    /* context 00:02.0: PASID enabled, DTE, PDTS 0 (128 directory entries), RID_PASID 0 */
    uint64_t ce = l->ctx + 32 * (2 << 3);
    th_w64(t, ce + 8, 0);
    th_w64(t, ce, l->dir | VTD_BIT(3) | VTD_BIT(2) | 1);
    th_w64(t, l->dir, l->ptbl | 1);
    sm_pasid(t, l, 0, l->sl | (2u << 6) | (VTD_AW_48 << 2) | 1, 5, 0);          /* SL, DID 5 */
    sm_pasid(t, l, 1, (4u << 6) | 1, 6, 0);                                      /* pass-through */
    sm_pasid(t, l, 2, (1u << 6) | 1, 7, l->fl | 1);                              /* FL 4-level, SRE */
    sm_pasid(t, l, 3, l->sl | (3u << 6) | (VTD_AW_48 << 2) | 1, 5, l->nfl | 1);  /* nested */
}

static void test_scalable(void **state)
{
    struct th *t = th_new(state, NULL);
    struct sm_layout l;
    build_sm(t, &l);
    struct aud a = {0};
    dump_image(t, &a, IMG_SIZE + (32ULL << 20));
    sm_regs(&a.regs, l.root);
    run(&a, AUDIT_FMT_TEXT, 0);
    assert_true(a.rep.sm);
    assert_int_equal(a.rep.ndev, 4);

    const struct audit_dev *d0 = find_dev(&a.rep, SID(0, 2, 0), 0);
    assert_true(d0->rid_pasid);
    assert_int_equal(d0->tt, AUDIT_TT_SL);
    assert_int_equal(d0->did, 5);
    const struct audit_space *s0 = &a.rep.space[d0->space];
    assert_int_equal(s0->nr, 2);
    assert_int_equal(s0->r[0].pa, 0x800000);
    assert_int_equal(s0->r[0].size, 0x2000);

    assert_int_equal(find_dev(&a.rep, SID(0, 2, 0), 1)->tt, AUDIT_TT_PT);

    const struct audit_dev *d2 = find_dev(&a.rep, SID(0, 2, 0), 2);
    assert_int_equal(d2->tt, AUDIT_TT_FL);
    const struct audit_space *s2 = &a.rep.space[d2->space];
    assert_int_equal(s2->nr, 3);
    assert_int_equal(s2->r[0].iova, 0x400000);
    assert_int_equal(s2->r[0].pa, 0xA00000);
    assert_int_equal(s2->r[0].perm, VTD_R | VTD_W | VTD_X | AUDIT_U);
    assert_int_equal(s2->r[1].iova, 0x80000000);
    assert_int_equal(s2->r[1].size, 1ULL << 30);
    assert_int_equal(s2->r[1].perm, VTD_R | VTD_W | VTD_X);
    assert_int_equal(s2->r[2].iova, 0xFFFF800000000000ULL); /* canonical upper half */
    assert_int_equal(s2->r[2].perm, VTD_R);
    has_text(&a, "0xffff800000000000-0xffff800000000fff -> 0x0000000000b00000-0x0000000000b00fff  R--S");

    const struct audit_dev *d3 = find_dev(&a.rep, SID(0, 2, 0), 3);
    assert_int_equal(d3->tt, AUDIT_TT_NESTED);
    const struct audit_space *s3 = &a.rep.space[d3->space];
    assert_int_equal(s3->nr, 1);
    assert_int_equal(s3->r[0].iova, 0x5000);
    assert_int_equal(s3->r[0].pa, 0x1100000);
    /* nested FL tables (HPA 0x1000000..) are reachable for writing through the
       SL mapping of GPA 0x10000000: the device can write its own FL tables */
    assert_true(count_an(&a.rep, AUDIT_A_TABLE_WRITE, "its own") > 0);
    assert_int_equal(count_an(&a.rep, AUDIT_A_RESERVED, NULL), 0);
    aud_free(&a);
}

static void test_sm_reserved_and_unreadable(void **state)
{
    struct th *t = th_new(state, NULL);
    struct sm_layout l;
    build_sm(t, &l);
    /* PGTT 5 (reserved), and a PASID entry with reserved bit 129 */
    sm_pasid(t, &l, 4, (5u << 6) | 1, 8, 0);
    sm_pasid(t, &l, 5, (4u << 6) | 1, 8, VTD_BIT(1));
    /* a directory entry pointing outside the image */
    th_w64(t, l.dir + 8, 0x7000000000ULL | 1);
    /* context 00:03.0 with reserved bits set in qword 2 */
    uint64_t ce = l.ctx + 32 * (3 << 3);
    th_w64(t, ce + 16, 1);
    th_w64(t, ce, l.dir | 1);
    struct aud a = {0};
    dump_image(t, &a, IMG_SIZE + (32ULL << 20));
    sm_regs(&a.regs, l.root);
    run(&a, AUDIT_FMT_TEXT, 0);
    assert_int_equal(find_dev(&a.rep, SID(0, 2, 0), 4)->tt, AUDIT_TT_BLOCKED);
    assert_int_equal(count_an(&a.rep, AUDIT_A_RESERVED, "PGTT reserved"), 1);
    assert_int_equal(find_dev(&a.rep, SID(0, 2, 0), 5)->tt, AUDIT_TT_BLOCKED);
    assert_int_equal(count_an(&a.rep, AUDIT_A_RESERVED, "qword 2"), 1);
    assert_int_equal(count_an(&a.rep, AUDIT_A_UNREADABLE, "PASID table at 0x7000000000"), 1);
    assert_int_equal(find_dev(&a.rep, SID(0, 3, 0), AUDIT_NO_PASID)->tt, AUDIT_TT_BLOCKED);
    assert_int_equal(count_an(&a.rep, AUDIT_A_RESERVED, "scalable-mode context entry"), 1);
    aud_free(&a);
}

/* ---- anomalies (legacy) ---- */

static void test_anomalies(void **state)
{
    struct th *t = th_new(state, NULL);
    uint64_t sl = th_alloc_page(t);
    /* device 00:05.0 maps the root table writable, the IRT read-only, the
       interrupt range as IOVA and as PA */
    th_map(t, sl, 4, 0x10000000, t->rta, 0x1000, 4096, VTD_SL_R | VTD_SL_W);
    th_map(t, sl, 4, 0xFEE00000, 0x700000, 0x1000, 4096, VTD_SL_R | VTD_SL_W);
    th_map(t, sl, 4, 0x30000000, 0xFEE00000, 0x1000, 4096, VTD_SL_W);
    th_set_ctx(t, SID(0, 5, 0), th_ctx_lo(sl, 0, false), th_ctx_hi(VTD_AW_48, 9));
    /* device 00:06.0 maps 00:05.0's page table (its PML4) writable */
    uint64_t sl6 = th_alloc_page(t);
    th_map(t, sl6, 4, 0x0, sl, 0x1000, 4096, VTD_SL_R | VTD_SL_W);
    th_set_ctx(t, SID(0, 6, 0), th_ctx_lo(sl6, 0, false), th_ctx_hi(VTD_AW_48, 10));
    /* 00:07.0: same DID 10 with other tables; a PD entry loops to the PML4;
       a reserved bit (SNP in a non-leaf entry) */
    uint64_t sl7 = th_alloc_page(t);
    th_map(t, sl7, 4, 0x0, 0x900000, 0x1000, 4096, VTD_SL_R);
    uint64_t pde = th_pte_addr(t, sl7, 4, 0x0, 2);
    th_w64(t, pde + 8, sl7 | VTD_SL_R | VTD_SL_W);              /* PD[1] -> the PML4 */
    th_w64(t, sl7 + 8, th_alloc_page(t) | VTD_SL_R | VTD_SL_SNP); /* PML4[1]: SNP reserved */
    th_set_ctx(t, SID(0, 7, 0), th_ctx_lo(sl7, 0, false), th_ctx_hi(VTD_AW_48, 10));
    /* 00:08.0: tables outside the image */
    th_set_ctx(t, SID(0, 8, 0), th_ctx_lo(0x40000000, 0, false), th_ctx_hi(VTD_AW_48, 11));
    /* 00:09.0: AW 57 is supported, AW 4 is not */
    th_set_ctx(t, SID(0, 9, 0), th_ctx_lo(sl, 0, false), th_ctx_hi(4, 12));
    /* interrupt remapping table (256 entries) and invalidation queue */
    uint64_t irt = th_alloc_page(t);
    th_w64(t, irt + 8, SID(0, 5, 0) | (1ULL << 18));                        /* SVT 01 */
    th_w64(t, irt, 1 | (0x30ULL << 16) | (0x2ULL << 32));                     /* remapped, vector 0x30, dest 2 */
    th_w64(t, irt + 16 + 8, SID(0, 5, 0) | (0x12345678ULL << 32) | (1ULL << 18));
    th_w64(t, irt + 16, 1 | VTD_IRTE_IM | (0x41ULL << 16) | ((0x9abcdec0ULL >> 6) << 38)); /* posted */
    th_w64(t, irt + 32 + 8, 0);                                               /* SVT 00 */
    th_w64(t, irt + 32, 1 | (0x50ULL << 16) | VTD_BIT(24));                   /* reserved bit 24 */
    uint64_t iq = th_alloc_page(t);
    th_map(t, sl6, 4, 0x5000, iq, 0x1000, 4096, VTD_SL_R | VTD_SL_W);        /* 00:06.0 writes the IQ */
    th_map(t, sl6, 4, 0x6000, irt, 0x1000, 4096, VTD_SL_R);         /* read-only: no anomaly */
    th_wr64(t, VTD_REG_IRTA, irt | VTD_BIT(11) | 7);
    th_wr32(t, VTD_REG_GCMD, (uint32_t)VTD_GCMD_SIRTP);
    th_wr64(t, VTD_REG_IQA, iq);
    th_enable(t);

    struct aud a = {0};
    dump_image(t, &a, IMG_SIZE);
    regs_from_unit(t, &a.regs);
    assert_int_equal(a.regs.irta, irt | VTD_BIT(11) | 7);
    run(&a, AUDIT_FMT_TEXT, 0);
    const struct audit_report *r = &a.rep;
    assert_int_equal(count_an(r, AUDIT_A_TABLE_WRITE, "00:05.0 can write the unit's root table"), 1);
    assert_int_equal(count_an(r, AUDIT_A_TABLE_WRITE, "00:06.0 can write device 00:05.0"), 1);
    assert_int_equal(count_an(r, AUDIT_A_TABLE_WRITE, "invalidation queue"), 1);
    assert_int_equal(count_an(r, AUDIT_A_TABLE_WRITE, "interrupt remapping table"), 0);
    assert_int_equal(count_an(r, AUDIT_A_INTR_RANGE, "maps IOVA 0xfee00000"), 1);
    assert_int_equal(count_an(r, AUDIT_A_INTR_RANGE, "to physical 0xfee00000"), 1);
    assert_int_equal(count_an(r, AUDIT_A_LOOP, NULL), 1);
    assert_int_equal(count_an(r, AUDIT_A_RESERVED, "SL PML4 entry 1"), 1);
    assert_int_equal(count_an(r, AUDIT_A_DID_CONFLICT, "domain 10"), 1);
    assert_int_equal(count_an(r, AUDIT_A_UNREADABLE, "0x40000000 is outside the image"), 1);
    assert_int_equal(find_dev(r, SID(0, 9, 0), AUDIT_NO_PASID)->tt, AUDIT_TT_BLOCKED);
    assert_int_equal(count_an(r, AUDIT_A_RESERVED, "AW not supported"), 1);
    /* the model agrees: the reserved PML4 entry and the AW fault */
    struct vtd_result res = th_dma(t, SID(0, 7, 0), 1ULL << 39, VTD_R);
    assert_int_equal(res.status, VTD_FAULT);
    assert_int_equal(res.fault_reason, VTD_FR_SL_RSVD);
    res = th_dma(t, SID(0, 9, 0), 0, VTD_R);
    assert_int_equal(res.fault_reason, VTD_FR_CTX_INVALID);
    cross_check(t, r, find_dev(r, SID(0, 6, 0), AUDIT_NO_PASID));
    /* IRT */
    assert_true(r->eime);
    assert_int_equal(r->irt_entries, 256);
    assert_int_equal(r->nirte, 3);
    assert_false(r->irte[0].posted);
    assert_true(r->irte[1].posted);
    assert_true(r->irte[2].rsvd);
    assert_int_equal(count_an(r, AUDIT_A_IRTE, "IRTE 2: SVT 00"), 1);
    assert_int_equal(count_an(r, AUDIT_A_RESERVED, "IRTE 2"), 1);
    has_text(&a, "IRTE 0     remapped  vector 0x30  dest 0x2 physical fixed edge  SID 00:05.0 SQ 0 SVT 1");
    has_text(&a, "IRTE 1     posted    vector 0x41  PDA 0x123456789abcdec0  SID 00:05.0 SQ 0 SVT 1");
    has_text(&a, "invalidation queue: 0x");
    aud_free(&a);
}

static void test_shared_tables_bounded(void **state)
{
    struct th *t = th_new(state, NULL);
    /* every entry of every level points to the same next table: 512^3 leaves
       unless the budget stops it */
    uint64_t l4 = th_alloc_page(t), l3 = th_alloc_page(t), l2 = th_alloc_page(t), l1 = th_alloc_page(t);
    for (int i = 0; i < 512; i++) {
        th_w64(t, l4 + 8 * i, l3 | 3);
        th_w64(t, l3 + 8 * i, l2 | 3);
        th_w64(t, l2 + 8 * i, l1 | 3);
        th_w64(t, l1 + 8 * i, 0x800000 | 3);
    }
    th_set_ctx(t, SID(0, 1, 0), th_ctx_lo(l4, 0, false), th_ctx_hi(VTD_AW_48, 1));
    th_enable(t);
    struct aud a = {0};
    dump_image(t, &a, IMG_SIZE);
    regs_from_unit(t, &a.regs);
    run(&a, AUDIT_FMT_TEXT, 100000);
    assert_true(a.rep.truncated);
    assert_true(a.rep.space[0].truncated);
    assert_true(count_an(&a.rep, AUDIT_A_SHARED_TABLE, NULL) > 0);
    assert_int_equal(count_an(&a.rep, AUDIT_A_TRUNCATED, NULL), 1);
    assert_true(a.rep.entries_read <= 100000 + 8);
    has_text(&a, "(incomplete)");
    aud_free(&a);
}

/* ---- output formats ---- */

static void test_debugfs_and_json(void **state)
{
    struct th *t = th_new(state, NULL);
    uint64_t sl4, sl3;
    build_legacy(t, &sl4, &sl3);
    uint64_t irt = th_alloc_page(t);
    th_w64(t, irt + 8, SID(0, 2, 0) | (1ULL << 18));
    th_w64(t, irt, 1 | (0x30ULL << 16) | (0x2ULL << 32));
    th_wr64(t, VTD_REG_IRTA, irt | VTD_BIT(11) | 7);
    th_wr32(t, VTD_REG_GCMD, (uint32_t)(VTD_GCMD_SIRTP | VTD_GCMD_TE));
    th_wr32(t, VTD_REG_GCMD, (uint32_t)(VTD_GCMD_IRE | VTD_GCMD_TE));
    struct aud a = {0};
    dump_image(t, &a, IMG_SIZE);
    regs_from_unit(t, &a.regs);
    assert_true(a.regs.gsts & VTD_GSTS_IRES);
    /* through the command, from files */
    char dir[] = "/tmp/vtd-audit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ipath[64], rpath[64], opath[64];
    snprintf(ipath, sizeof ipath, "%s/img", dir);
    snprintf(rpath, sizeof rpath, "%s/regs", dir);
    snprintf(opath, sizeof opath, "%s/out", dir);
    FILE *f = fopen(ipath, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(a.buf, 1, a.img.size, f), a.img.size);
    fclose(f);
    f = fopen(rpath, "w");
    fprintf(f, "# from the register window\nVER %x\nCAP %llx\nECAP 0x%llx\nGSTS %x\nRTADDR %llx\nIRTA %llx\n",
            a.regs.ver, (unsigned long long)a.regs.cap, (unsigned long long)a.regs.ecap, a.regs.gsts,
            (unsigned long long)a.regs.rtaddr, (unsigned long long)a.regs.irta);
    fclose(f);
    char *argv[] = {"audit", "--regs", rpath, "--format=debugfs", ipath, NULL};
    fflush(stdout);
    int saved = dup(1);
    int fd = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    close(fd);
    int rc = cmd_audit(5, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    assert_int_equal(rc, 0);
    size_t n = 0;
    f = fopen(opath, "r");
    char *out = malloc(1 << 20);
    n = fread(out, 1, (1 << 20) - 1, f);
    out[n] = 0;
    fclose(f);
    a.text = out;
    char line[512];
    snprintf(line, sizeof line, "IOMMU dmar0: Root Table Address: 0x%llx\n", (unsigned long long)t->rta);
    has_text(&a, line);
    has_text(&a, "B.D.F\tRoot_entry\t\t\t\tContext_entry\t\t\t\tPASID\tPASID_table_entry\n");
    uint64_t rlo = th_r64(t, t->rta), clo = th_r64(t, th_ctx_addr(t, SID(0, 2, 0)));
    uint64_t chi = th_r64(t, th_ctx_addr(t, SID(0, 2, 0)) + 8);
    snprintf(line, sizeof line, "00:02.0\t0x0000000000000000:0x%016llx\t0x%016llx:0x%016llx\t-1    \t"
             "0x0000000000000000:0x0000000000000000:0x0000000000000000\n",
             (unsigned long long)rlo, (unsigned long long)chi, (unsigned long long)clo);
    has_text(&a, line);
    snprintf(line, sizeof line, "Device 0000:00:02.0 @0x%llx\nIOVA_PFN\t\tPML5E\t\t\tPML4E\t\t\tPDPE\t\t\tPDE\t\t\tPTE\n",
             (unsigned long long)sl4);
    has_text(&a, line);
    /* the 1 GiB leaf: PFN 0x40000, path PML4E, PDPE, zeros below */
    uint64_t pml4e = th_r64(t, sl4), pdpe = th_r64(t, th_pte_addr(t, sl4, 4, 0x40000000, 3));
    snprintf(line, sizeof line, "0x0000000040000 |\t0x0000000000000000\t0x%016llx\t0x%016llx\t0x0000000000000000\t0x0000000000000000\n",
             (unsigned long long)pml4e, (unsigned long long)pdpe);
    has_text(&a, line);
    has_text(&a, "Remapped Interrupt supported on IOMMU: dmar0\n");
    snprintf(line, sizeof line, " IR table address:%llx\n Entry SrcID   DstID    Vct IRTE_high\t\tIRTE_low\n"
             " 0     00:02.0 00000002 30  %016llx\t%016llx\n",
             (unsigned long long)irt, (unsigned long long)th_r64(t, irt + 8), (unsigned long long)th_r64(t, irt));
    has_text(&a, line);
    has_text(&a, "****\n\nPosted Interrupt supported on IOMMU: dmar0\n");
    free(out);
    a.text = NULL;
    /* JSON (fully checked by python in tests/audit_cli.sh) */
    run(&a, AUDIT_FMT_JSON, 0);
    has_text(&a, "\"mode\": \"legacy\"");
    has_text(&a, "{\"iova\": \"0x0\", \"pa\": \"0x800000\", \"size\": \"0x2000\", \"perm\": \"RW-\"}");
    has_text(&a, "\"sid\": \"01:00.0\", \"pasid\": null, \"rid_pasid\": false, \"type\": \"pass-through\"");
    has_text(&a, "\"mode\": \"remapped\", \"vector\": 48, \"sid\": \"00:02.0\"");
    unlink(ipath);
    unlink(rpath);
    unlink(opath);
    rmdir(dir);
    aud_free(&a);
}

/* ---- register files ---- */

static int parse(const char *text, const char *unit, struct audit_regs *r, char *err)
{
    return audit_regs_parse(text, strlen(text), unit, r, err, 256);
}

static void test_regs_files(void **state)
{
    (void)state;
    struct audit_regs r;
    char err[256];
    assert_int_equal(parse("VER 10\nCAP 0xd2008c40660462\necap f050da\nGSTS c7000000\n"
                           "RTADDR 0x1000  # comment\nIRTA 0x5000000f\nIQA 0x4000000\nHAW 46\n",
                           NULL, &r, err), 0);
    assert_int_equal(r.ver, 0x10);
    assert_int_equal(r.cap, 0xd2008c40660462ULL);
    assert_int_equal(r.ecap, 0xf050da);
    assert_int_equal(r.gsts, 0xc7000000);
    assert_int_equal(r.irta, 0x5000000f);
    assert_int_equal(r.haw, 46);
    /* sysfs names */
    assert_int_equal(parse("version 1:0\ncap d2008c40660462\necap f050da\naddress fed90000\n"
                           "GSTS 0\nRTADDR 0\n", NULL, &r, err), 0);
    assert_int_equal(r.ver, 0x10);
    assert_int_equal(r.unit_base, 0xfed90000);
    /* Linux iommu_regset, two units */
    const char *regset =
        "IOMMU: dmar0 Register Base Address: fed90000\n"
        "Name\t\t\tOffset\t\tContents\n"
        "VER             \t0x00\t\t0x0000000000000010\n"
        "GSTS            \t0x1c\t\t0x00000000c7000000\n"
        "FSTS            \t0x34\t\t0x0000000000000000\n"
        "CAP             \t0x08\t\t0x00d2008c40660462\n"
        "ECAP            \t0x10\t\t0x0000000000f050da\n"
        "RTADDR          \t0x20\t\t0x0000000123456000\n"
        "MTRR_PHYSBASE0  \t0x120\t\t0x0000000000000000\n"
        "\n"
        "IOMMU: dmar1 Register Base Address: fed91000\n"
        "Name\t\t\tOffset\t\tContents\n"
        "CAP             \t0x08\t\t0x1\n"
        "ECAP            \t0x10\t\t0x2\n"
        "GSTS            \t0x1c\t\t0x0\n"
        "RTADDR          \t0x20\t\t0x7000\n";
    assert_int_equal(parse(regset, NULL, &r, err), 0);
    assert_string_equal(r.name, "dmar0");
    assert_int_equal(r.rtaddr, 0x123456000);
    assert_int_equal(r.unit_base, 0xfed90000);
    assert_int_equal(parse(regset, "dmar1", &r, err), 0);
    assert_string_equal(r.name, "dmar1");
    assert_int_equal(r.rtaddr, 0x7000);
    assert_int_equal(parse(regset, "dmar7", &r, err), -1);
    assert_non_null(strstr(err, "no unit named dmar7"));
    /* JSON */
    assert_int_equal(parse("{\n  \"CAP\": \"0xd2008c40660462\",\n  \"ecap\": \"f050da\",\n"
                           "  \"GSTS\": 3271557120, \"RTADDR\": \"0x1000\", \"name\": \"dmar3\", \"version\": \"6:0\"\n}\n",
                           NULL, &r, err), 0);
    assert_int_equal(r.gsts, 3271557120u);
    assert_int_equal(r.ver, 0x60);
    assert_string_equal(r.name, "dmar3");
    /* errors name line and column */
    assert_int_equal(parse("CAP 1\nECAP 2\n  FOO 3\n", NULL, &r, err), -1);
    assert_string_equal(err, "3:3: unknown register 'FOO'");
    assert_int_equal(parse("CAP 1\nECAP 0xzz\n", NULL, &r, err), -1);
    assert_string_equal(err, "2:6: bad value '0xzz' for ECAP (want hex)");
    assert_int_equal(parse("CAP 1\nCAP 2\n", NULL, &r, err), -1);
    assert_string_equal(err, "2:1: CAP given twice");
    assert_int_equal(parse("CAP 1\nECAP 2\nGSTS 0\n", NULL, &r, err), -1);
    assert_non_null(strstr(err, "RTADDR missing"));
    assert_int_equal(parse("GSTS 100000000\n", NULL, &r, err), -1);
    assert_string_equal(err, "1:1: GSTS is a 32-bit register");
    assert_int_equal(parse("CAP 1 2 3\n", NULL, &r, err), -1);
    assert_non_null(strstr(err, "1:1: want 'NAME VALUE'"));
    assert_int_equal(parse("HAW 0x30\n", NULL, &r, err), -1);
    assert_string_equal(err, "1:5: HAW: want a decimal width");
    assert_int_equal(parse("{\"CAP\": \"1\",\n \"ECAP\" 2}", NULL, &r, err), -1);
    assert_string_equal(err, "2:9: expected ':'");
    assert_int_equal(parse("{\"CAP\": 1.5}", NULL, &r, err), -1);
    assert_string_equal(err, "1:10: want an integer");
    assert_int_equal(parse("{\"BAR\": 1}", NULL, &r, err), -1);
    assert_string_equal(err, "1:2: unknown register 'BAR'");
    assert_int_equal(parse("{\"CAP\": 1, \"ECAP\": 2, \"GSTS\": 0, \"RTADDR\": 0} x", NULL, &r, err), -1);
    assert_string_equal(err, "1:47: trailing data after the object");
    assert_int_equal(audit_regs_parse("CAP\0 1", 6, NULL, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "NUL byte"));
}

/* ---- command errors ---- */

static int run_cmd(char **argv, int argc, char *errbuf, size_t errlen)
{
    char path[] = "/tmp/vtd-audit-err-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = cmd_audit(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, errbuf, errlen - 1);
    errbuf[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
    return rc;
}

static void test_cli_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/vtd-audit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char img[64], regs[64], bad[64], out[4096];
    snprintf(img, sizeof img, "%s/img", dir);
    snprintf(regs, sizeof regs, "%s/regs", dir);
    snprintf(bad, sizeof bad, "%s/bad", dir);
    FILE *f = fopen(img, "wb");
    uint8_t zero[8192] = {0};
    fwrite(zero, 1, sizeof zero, f);
    fclose(f);
    f = fopen(regs, "w");
    fprintf(f, "CAP %llx\nECAP %llx\nGSTS 80000000\nRTADDR 0x100000\n",
            (unsigned long long)(VTD_CAP_SAGAW_48), (unsigned long long)VTD_ECAP_PT);
    fclose(f);
    f = fopen(bad, "w");
    fprintf(f, "CAP 1\nECAP  0xqq\n");
    fclose(f);
    /* truncated image: the root table is beyond its end */
    char *a1[] = {"audit", "--regs", regs, img, NULL};
    assert_int_equal(run_cmd(a1, 4, out, sizeof out), 2);
    if (!strstr(out, "root table at 0x100000 (RTADDR) is outside the image [0x0, 0x2000)"))
        fail_msg("%s", out);
    /* with --base the same image holds it (at 0x100000, all zero: no devices) */
    char *a2[] = {"audit", "--regs", regs, "--base", "0x100000", "--format", "json", img, NULL};
    assert_int_equal(run_cmd(a2, 8, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"devices\": []"));
    /* bad register file: file:line:col */
    char *a3[] = {"audit", "--regs", bad, img, NULL};
    assert_int_equal(run_cmd(a3, 4, out, sizeof out), 2);
    char want[128];
    snprintf(want, sizeof want, "vtd audit: --regs %s:2:7: bad value '0xqq' for ECAP (want hex)", bad);
    if (!strstr(out, want))
        fail_msg("%s", out);
    char *a4[] = {"audit", img, NULL};
    assert_int_equal(run_cmd(a4, 2, out, sizeof out), 2);
    assert_non_null(strstr(out, "--regs FILE is required"));
    char *a5[] = {"audit", "--regs", regs, "--format=xml", img, NULL};
    assert_int_equal(run_cmd(a5, 5, out, sizeof out), 2);
    char *a6[] = {"audit", "--regs", regs, "/nonexistent/image", NULL};
    assert_int_equal(run_cmd(a6, 4, out, sizeof out), 2);
    assert_non_null(strstr(out, "/nonexistent/image: No such file"));
    char *a7[] = {"audit", "--help", NULL};
    assert_int_equal(run_cmd(a7, 2, out, sizeof out), 0);
    assert_non_null(strstr(out, "usage: vtd audit --regs FILE"));
    char *a8[] = {"audit", "--regs", NULL};
    assert_int_equal(run_cmd(a8, 2, out, sizeof out), 2);
    /* --fail-on-anomaly: TE on, pass-through device -> exit 1 */
    f = fopen(img, "r+b");
    uint64_t root_lo = 0x1000 | 1, ctx_lo = (2u << 2) | 1, ctx_hi = 2;
    fseek(f, 0, SEEK_SET);
    fwrite(&root_lo, 8, 1, f);
    fseek(f, 0x1000 + 16 * 16, SEEK_SET); /* devfn 0x10: 00:02.0 */
    fwrite(&ctx_lo, 8, 1, f);
    fwrite(&ctx_hi, 8, 1, f);
    fclose(f);
    f = fopen(regs, "w");
    fprintf(f, "CAP %llx\nECAP %llx\nGSTS 80000000\nRTADDR 0\n",
            (unsigned long long)(VTD_CAP_SAGAW_48), (unsigned long long)VTD_ECAP_PT);
    fclose(f);
    char *a9[] = {"audit", "--regs", regs, "--fail-on-anomaly", img, NULL};
    assert_int_equal(run_cmd(a9, 5, out, sizeof out), 1);
    assert_non_null(strstr(out, "00:02.0  domain 0  pass-through"));
    unlink(img);
    unlink(regs);
    unlink(bad);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_legacy_sl, th_teardown),
        cmocka_unit_test_teardown(test_te_off, th_teardown),
        cmocka_unit_test_teardown(test_scalable, th_teardown),
        cmocka_unit_test_teardown(test_sm_reserved_and_unreadable, th_teardown),
        cmocka_unit_test_teardown(test_anomalies, th_teardown),
        cmocka_unit_test_teardown(test_shared_tables_bounded, th_teardown),
        cmocka_unit_test_teardown(test_debugfs_and_json, th_teardown),
        cmocka_unit_test(test_regs_files),
        cmocka_unit_test(test_cli_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
