/* Interrupt remapping and posting, driven through MMIO and memory only: the
 * tests program IRTA, GCMD and the invalidation queue by register writes and
 * write IRTEs and posted-interrupt descriptors into memory themselves. */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096ULL
#define DEV SID(3, 4, 5)

struct ir {
    struct th t; /* first: the harness logs use it */
    uint64_t irt, iq;
    unsigned s;
    uint32_t tail;
};

static uint32_t gcmd_base(struct th *t)
{
    return th_rd32(t, VTD_REG_GSTS) & (uint32_t)VTD_GCMD_PERSISTENT;
}

static void ir_cfg(struct vtd_config *c)
{
    vtd_config_default(c);
    c->ecap |= VTD_ECAP_IR | VTD_ECAP_EIM;
    c->cap |= VTD_CAP_PI;
    c->iec_entries = 256;
}

/* A unit with an interrupt remapping table of 2^(s+1) entries latched,
 * queued invalidation on, IRE set (and CFI when cfi). */
static struct ir *ir_new(void **state, const struct vtd_config *cfg, unsigned s, bool eime, bool cfi)
{
    struct ir *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    struct vtd_config c;
    if (!cfg) {
        ir_cfg(&c);
        cfg = &c;
    }
    th_init(&r->t, cfg);
    *state = r;
    struct th *t = &r->t;
    r->s = s;
    uint64_t bytes = 16ULL << (s + 1);
    r->irt = th_alloc_page(t);
    for (uint64_t b = PAGE; b < bytes; b += PAGE)
        th_alloc_page(t);
    r->iq = th_alloc_page(t);
    th_wr64(t, VTD_REG_IQT, 0);
    th_wr64(t, VTD_REG_IQA, r->iq);
    th_wr32(t, VTD_REG_GCMD, gcmd_base(t) | VTD_GCMD_QIE);
    th_wr64(t, VTD_REG_IRTA, r->irt | (eime ? VTD_IRTA_EIME : 0) | s);
    th_wr32(t, VTD_REG_GCMD, gcmd_base(t) | VTD_GCMD_SIRTP);
    assert_true(th_rd32(t, VTD_REG_GSTS) & VTD_GSTS_IRTPS);
    if (cfi) {
        th_wr32(t, VTD_REG_GCMD, gcmd_base(t) | VTD_GCMD_CFI);
        assert_true(th_rd32(t, VTD_REG_GSTS) & VTD_GSTS_CFIS);
    }
    th_wr32(t, VTD_REG_GCMD, gcmd_base(t) | VTD_GCMD_IRE);
    assert_true(th_rd32(t, VTD_REG_GSTS) & VTD_GSTS_IRES);
    th_clear_logs(t);
    return r;
}

static int ir_teardown(void **state)
{
    struct ir *r = *state;
    if (r) {
        th_fini(&r->t);
        free(r);
    }
    return 0;
}

static void qi(struct ir *r, uint64_t lo, uint64_t hi)
{
    uint64_t a = r->iq + (uint64_t)r->tail * 16;
    th_w64(&r->t, a, lo);
    th_w64(&r->t, a + 8, hi);
    r->tail = (r->tail + 1) % 256;
    th_wr64(&r->t, VTD_REG_IQT, (uint64_t)r->tail * 16);
}
static void iec_global(struct ir *r) { qi(r, VTD_DESC_IEC, 0); }
static void iec_index(struct ir *r, uint32_t idx, unsigned im)
{
    qi(r, VTD_DESC_IEC | VTD_DESC_IEC_G | (uint64_t)im << 27 | (uint64_t)idx << 32, 0);
}

static void irte(struct ir *r, uint32_t idx, uint64_t lo, uint64_t hi)
{
    th_w64(&r->t, r->irt + idx * 16ULL, lo);
    th_w64(&r->t, r->irt + idx * 16ULL + 8, hi);
}

static uint64_t rlo(uint8_t vec, unsigned dlm, bool dm, bool rh, bool tm, uint32_t dst)
{
    return VTD_IRTE_P | (dm ? VTD_IRTE_DM : 0) | (rh ? VTD_IRTE_RH : 0) | (tm ? VTD_IRTE_TM : 0) |
           (uint64_t)dlm << 5 | (uint64_t)vec << 16 | (uint64_t)dst << 32;
}
static uint64_t xdst(uint8_t apic) { return (uint64_t)apic << 8; }
static uint64_t svt(unsigned type, unsigned sq, uint16_t sid)
{
    return sid | (uint64_t)sq << 16 | (uint64_t)type << 18;
}

static uint64_t rmsi_addr(uint32_t handle, bool shv)
{
    return VTD_MSI_ADDR_BASE | (uint64_t)(handle & 0x7FFF) << 5 | VTD_MSI_ADDR_FORMAT |
           (shv ? VTD_MSI_ADDR_SHV : 0) | (uint64_t)((handle >> 15) & 1) << 2;
}

static struct vtd_irq remap(struct ir *r, uint16_t sid, uint64_t addr, uint32_t data)
{
    struct vtd_msi m = {.sid = sid, .addr = addr, .data = data};
    struct vtd_irq o;
    assert_int_equal(vtd_remap_msi(r->t.u, &m, &o), 0);
    return o;
}
static struct vtd_irq irq(struct ir *r, uint16_t sid, uint32_t idx)
{
    return remap(r, sid, rmsi_addr(idx, false), 0);
}

/* Exactly one fault record pending: check and clear it. */
static void expect_record(struct ir *r, uint8_t fr, uint16_t sid, uint32_t index)
{
    struct th *t = &r->t;
    int found = 0;
    for (unsigned i = 0; i < 8; i++) {
        uint64_t lo, hi;
        th_frcd(t, i, &lo, &hi);
        if (!(hi & VTD_FRCD_HI_F))
            continue;
        found++;
        assert_int_equal((hi >> 32) & 0xFF, fr);
        assert_int_equal(hi & 0xFFFF, sid);
        assert_int_equal(lo, (uint64_t)index << 48);
        assert_false(hi & (VTD_FRCD_HI_T1 | VTD_FRCD_HI_T2)); /* a write */
        th_frcd_clear(t, i);
    }
    assert_int_equal(found, 1);
    assert_false(th_rd32(t, VTD_REG_FSTS) & VTD_FSTS_PPF);
}
static void expect_no_record(struct ir *r)
{
    for (unsigned i = 0; i < 8; i++) {
        uint64_t lo, hi;
        th_frcd(&r->t, i, &lo, &hi);
        assert_false(hi & VTD_FRCD_HI_F);
    }
}
static void expect_fault(struct ir *r, struct vtd_irq o, uint8_t fr, uint16_t sid, uint32_t index)
{
    assert_int_equal(o.status, VTD_FAULT);
    assert_int_equal(o.fault_reason, fr);
    assert_true(o.fault_recorded);
    expect_record(r, fr, sid, index);
}
static void expect_remapped(struct vtd_irq o, uint8_t vec, unsigned dlm, bool dm, bool rh, bool tm, uint32_t dest)
{
    assert_int_equal(o.status, VTD_OK);
    assert_int_equal(o.kind, VTD_IRQ_REMAPPED);
    assert_int_equal(o.vector, vec);
    assert_int_equal(o.delivery_mode, dlm);
    assert_int_equal(o.dest_logical, dm);
    assert_int_equal(o.redir_hint, rh);
    assert_int_equal(o.level_triggered, tm);
    assert_int_equal(o.dest, dest);
}

/* ---- registers ---- */

static void test_irta_register(void **state)
{
    struct vtd_config c;
    ir_cfg(&c);
    struct th *t = th_new(state, &c);
    th_wr64(t, VTD_REG_IRTA, ~0ULL);
    assert_int_equal(th_rd64(t, VTD_REG_IRTA), VTD_GENMASK(51, 12) | VTD_IRTA_EIME | 0xF);
    assert_true(th_has_diag(t, VTD_DIAG_REG_RESERVED)); /* bits 63:52, 10:4 */
    assert_int_equal(th_rd32(t, VTD_REG_GSTS), 0);        /* nothing latched */
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_SIRTP);
    assert_int_equal(th_rd32(t, VTD_REG_GSTS), VTD_GSTS_IRTPS);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_CFI);
    assert_int_equal(th_rd32(t, VTD_REG_GSTS), VTD_GSTS_IRTPS | VTD_GSTS_CFIS);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_CFI | VTD_GCMD_IRE);
    assert_int_equal(th_rd32(t, VTD_REG_GSTS), VTD_GSTS_IRTPS | VTD_GSTS_CFIS | VTD_GSTS_IRES);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_IRE);
    assert_int_equal(th_rd32(t, VTD_REG_GSTS), VTD_GSTS_IRTPS | VTD_GSTS_IRES);
    th_wr32(t, VTD_REG_GCMD, 0);
    assert_int_equal(th_rd32(t, VTD_REG_GSTS), VTD_GSTS_IRTPS);
    th_fini(t);

    /* EIME writable only with ECAP.EIM; IRE before SIRTP is diagnosed */
    c.ecap &= ~VTD_ECAP_EIM;
    th_init(t, &c);
    th_wr64(t, VTD_REG_IRTA, 0x5000 | VTD_IRTA_EIME | 3);
    assert_int_equal(th_rd64(t, VTD_REG_IRTA), 0x5003);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_IRE);
    assert_true(th_has_diag(t, VTD_DIAG_IR_IRE_NO_IRTP));
    assert_int_equal(th_rd32(t, VTD_REG_GSTS), VTD_GSTS_IRES);
    th_fini(t);

    /* without ECAP.IR there is no IRTA and the commands are unsupported */
    vtd_config_default(&c);
    c.ecap &= ~(VTD_ECAP_IR | VTD_ECAP_EIM);
    c.cap &= ~VTD_CAP_PI;
    th_init(t, &c);
    th_wr64(t, VTD_REG_IRTA, 0x5000);
    assert_true(th_has_diag(t, VTD_DIAG_MMIO_UNKNOWN));
    assert_int_equal(th_rd64(t, VTD_REG_IRTA), 0);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_IRE);
    assert_true(th_has_diag(t, VTD_DIAG_GCMD_UNSUPPORTED));
    assert_int_equal(th_rd32(t, VTD_REG_GSTS), 0);
    struct vtd_msi m = {.sid = DEV, .addr = rmsi_addr(1, false)};
    struct vtd_irq o;
    assert_int_equal(vtd_remap_msi(t->u, &m, &o), 0);
    assert_int_equal(o.kind, VTD_IRQ_PASSTHROUGH);
}

static void test_bad_args(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, false, false);
    struct vtd_msi m = {.sid = DEV, .addr = 0xFED00000};
    struct vtd_irq o;
    assert_int_equal(vtd_remap_msi(r->t.u, &m, &o), VTD_EINVAL);
    m.addr = 1ULL << 32 | VTD_MSI_ADDR_BASE;
    assert_int_equal(vtd_remap_msi(r->t.u, &m, &o), VTD_EINVAL);
    assert_int_equal(vtd_remap_msi(NULL, &m, &o), VTD_EINVAL);
    assert_int_equal(vtd_remap_msi(r->t.u, NULL, &o), VTD_EINVAL);
    assert_int_equal(vtd_remap_msi(r->t.u, &m, NULL), VTD_EINVAL);
    expect_no_record(r);
}

/* ---- pass-through and compatibility format ---- */

static void check_compat(struct vtd_irq o)
{
    assert_int_equal(o.status, VTD_OK);
    assert_int_equal(o.kind, VTD_IRQ_PASSTHROUGH);
    assert_int_equal(o.vector, 0x41);
    assert_int_equal(o.delivery_mode, 1);
    assert_true(o.level_triggered);
    assert_int_equal(o.dest, 0x7C);
    assert_true(o.dest_logical);
    assert_true(o.redir_hint);
}

static void test_passthrough_and_compat(void **state)
{
    struct vtd_config c;
    ir_cfg(&c);
    struct th *t = th_new(state, &c);
    /* IRES=0: every interrupt passes through, both formats decoded as compatibility */
    struct vtd_msi m = {.sid = DEV, .addr = VTD_MSI_ADDR_BASE | 0x7C << 12 | 0xC, .data = 0x8141};
    struct vtd_irq o;
    assert_int_equal(vtd_remap_msi(t->u, &m, &o), 0);
    check_compat(o);
    m.data = 0x0030;
    m.addr = VTD_MSI_ADDR_BASE | 0x12 << 12;
    assert_int_equal(vtd_remap_msi(t->u, &m, &o), 0);
    assert_int_equal(o.kind, VTD_IRQ_PASSTHROUGH);
    assert_int_equal(o.vector, 0x30);
    assert_int_equal(o.dest, 0x12);
    assert_false(o.dest_logical || o.redir_hint || o.level_triggered);
    th_teardown(state);

    /* IRES=1, CFIS=0: blocked 25h, FI 0 */
    struct ir *r = ir_new(state, NULL, 7, false, false);
    struct vtd_irq b = remap(r, DEV, VTD_MSI_ADDR_BASE | 0x7C << 12 | 0xC, 0x8141);
    expect_fault(r, b, VTD_FR_IR_COMPAT_BLOCKED, DEV, 0);
    /* CFI set: passed through */
    th_wr32(&r->t, VTD_REG_GCMD, gcmd_base(&r->t) | VTD_GCMD_CFI);
    check_compat(remap(r, DEV, VTD_MSI_ADDR_BASE | 0x7C << 12 | 0xC, 0x8141));
    expect_no_record(r);
    /* EIME=1 blocks even with CFIS */
    th_wr64(&r->t, VTD_REG_IRTA, r->irt | VTD_IRTA_EIME | 7);
    th_wr32(&r->t, VTD_REG_GCMD, gcmd_base(&r->t) | VTD_GCMD_SIRTP);
    assert_true(th_rd32(&r->t, VTD_REG_GSTS) & VTD_GSTS_CFIS);
    expect_fault(r, remap(r, SID(9, 1, 2), VTD_MSI_ADDR_BASE, 0x30), VTD_FR_IR_COMPAT_BLOCKED, SID(9, 1, 2), 0);
    /* IRE cleared: pass-through again */
    th_wr32(&r->t, VTD_REG_GCMD, gcmd_base(&r->t) & ~VTD_GCMD_IRE);
    check_compat(remap(r, DEV, VTD_MSI_ADDR_BASE | 0x7C << 12 | 0xC, 0x8141));
    expect_no_record(r);
}

/* ---- remapped IRTEs ---- */

static void test_remapped_fields_xapic(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, false, false);
    for (unsigned i = 0; i < 64; i++) {
        uint8_t vec = (uint8_t)(0x20 + i * 3), apic = (uint8_t)(i * 37 + 1);
        unsigned dlm = i & 7;
        bool dm = i & 8, rh = i & 16, tm = i & 32;
        uint32_t idx = i * 3 + 1;
        /* AVAIL bits 11:8 are software's */
        irte(r, idx, rlo(vec, dlm, dm, rh, tm, (uint32_t)xdst(apic)) | (uint64_t)(i & 15) << 8, 0);
        expect_remapped(irq(r, DEV, idx), vec, dlm, dm, rh, tm, apic);
    }
    /* subhandle: index = handle + data[15:0] */
    irte(r, 200, rlo(0x99, 0, false, false, false, (uint32_t)xdst(5)), 0);
    expect_remapped(remap(r, DEV, rmsi_addr(150, true), 50), 0x99, 0, false, false, false, 5);
    /* data ignored without SHV; address bits 1:0 ignored */
    irte(r, 150, rlo(0x98, 0, false, false, false, (uint32_t)xdst(6)), 0);
    expect_remapped(remap(r, DEV, rmsi_addr(150, false) | 3, 50), 0x98, 0, false, false, false, 6);
    expect_no_record(r);
    assert_int_equal(r->t.nmsi, 0);
}

static void test_remapped_fields_x2apic(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, true, false);
    static const uint32_t dst[] = {0, 1, 0xFF, 0x100, 0x12345678, 0xFFFFFFFF};
    for (unsigned i = 0; i < 6; i++) {
        irte(r, i, rlo((uint8_t)(0xE0 + i), 4, i & 1, i & 2, i & 4, dst[i]), 0);
        expect_remapped(irq(r, DEV, i), (uint8_t)(0xE0 + i), 4, i & 1, i & 2, i & 4, dst[i]);
    }
    expect_no_record(r);
}

static void test_handle_bit15(void **state)
{
    struct ir *r = ir_new(state, NULL, 15, false, false); /* 65536 entries */
    irte(r, 0x8005, rlo(0x55, 0, false, false, false, (uint32_t)xdst(9)), 0);
    expect_remapped(irq(r, DEV, 0x8005), 0x55, 0, false, false, false, 9);
    irte(r, 0xFFFF, rlo(0x56, 0, false, false, false, (uint32_t)xdst(10)), 0);
    expect_remapped(remap(r, DEV, rmsi_addr(0xFFF0, true), 0xF), 0x56, 0, false, false, false, 10);
    /* handle + subhandle beyond 16 bits is beyond any table */
    expect_fault(r, remap(r, DEV, rmsi_addr(0xFFF0, true), 0x10), VTD_FR_IR_INDEX, DEV, 0);
    expect_no_record(r);
}

static void test_svt_sq(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, false, false);
    uint16_t want = SID(0x12, 0x3, 0x5); /* function 101b */
    for (unsigned sq = 0; sq < 4; sq++) {
        uint32_t idx = 10 + sq;
        irte(r, idx, rlo(0x40, 0, false, false, false, 0), svt(VTD_SVT_SID, sq, want));
        for (unsigned fn = 0; fn < 8; fn++) {
            /* ignored function bits: SQ 1 bit 2, SQ 2 bits 2:1, SQ 3 bits 2:0 */
            unsigned ign = sq == 0 ? 0 : sq == 1 ? 4 : sq == 2 ? 6 : 7;
            bool ok = ((fn ^ 5) & ~ign & 7) == 0;
            struct vtd_irq o = irq(r, SID(0x12, 0x3, fn), idx);
            if (ok) {
                assert_int_equal(o.status, VTD_OK);
            } else {
                expect_fault(r, o, VTD_FR_IR_SID, SID(0x12, 0x3, fn), idx);
            }
        }
        /* device and bus are always compared */
        expect_fault(r, irq(r, SID(0x12, 0x4, 5), idx), VTD_FR_IR_SID, SID(0x12, 0x4, 5), idx);
        expect_fault(r, irq(r, SID(0x13, 0x3, 5), idx), VTD_FR_IR_SID, SID(0x13, 0x3, 5), idx);
    }
    /* SVT=2: bus in [SID[15:8], SID[7:0]] inclusive; SQ ignored */
    irte(r, 20, rlo(0x40, 0, false, false, false, 0), svt(VTD_SVT_BUS, 3, 0x1020));
    assert_int_equal(irq(r, SID(0x10, 0, 0), 20).status, VTD_OK);
    assert_int_equal(irq(r, SID(0x18, 31, 7), 20).status, VTD_OK);
    assert_int_equal(irq(r, SID(0x20, 1, 1), 20).status, VTD_OK);
    expect_fault(r, irq(r, SID(0x0F, 0, 0), 20), VTD_FR_IR_SID, SID(0x0F, 0, 0), 20);
    expect_fault(r, irq(r, SID(0x21, 0, 0), 20), VTD_FR_IR_SID, SID(0x21, 0, 0), 20);
    /* SVT=0: anyone; SID/SQ fields ignored */
    irte(r, 21, rlo(0x40, 0, false, false, false, 0), svt(VTD_SVT_NONE, 2, 0xFFFF));
    assert_int_equal(irq(r, SID(0, 0, 0), 21).status, VTD_OK);
    /* SVT=3 is reserved: 24h */
    irte(r, 22, rlo(0x40, 0, false, false, false, 0), svt(3, 0, DEV));
    expect_fault(r, irq(r, DEV, 22), VTD_FR_IR_RSVD, DEV, 22);
    expect_no_record(r);
}

/* ---- faults ---- */

static void test_fault_reasons(void **state)
{
    struct ir *r = ir_new(state, NULL, 3, false, false); /* 16 entries */
    irte(r, 5, rlo(0x40, 0, false, false, false, 0), 0);
    /* 20h: data[31:16] set in a remappable request (with or without SHV) */
    expect_fault(r, remap(r, DEV, rmsi_addr(5, true), 0x10000), VTD_FR_IR_REQ_RSVD, DEV, 0);
    expect_fault(r, remap(r, DEV, rmsi_addr(5, false), 0x80000000u), VTD_FR_IR_REQ_RSVD, DEV, 0);
    /* 21h: index 16 beyond a 16-entry table */
    expect_fault(r, irq(r, DEV, 16), VTD_FR_IR_INDEX, DEV, 16);
    expect_fault(r, remap(r, DEV, rmsi_addr(15, true), 1), VTD_FR_IR_INDEX, DEV, 16);
    /* 22h: P=0 */
    expect_fault(r, irq(r, DEV, 6), VTD_FR_IR_NOT_PRESENT, DEV, 6);
    /* 24h: each reserved field */
    static const uint64_t lo_bits[] = {VTD_BIT(12), VTD_BIT(13), VTD_BIT(14), VTD_BIT(24), VTD_BIT(31),
                                       VTD_BIT(32), VTD_BIT(39), VTD_BIT(48), VTD_BIT(63)};
    for (unsigned i = 0; i < sizeof(lo_bits) / sizeof(lo_bits[0]); i++) {
        irte(r, 7, rlo(0x40, 0, false, false, false, 0) | lo_bits[i], 0);
        iec_index(r, 7, 0);
        expect_fault(r, irq(r, DEV, 7), VTD_FR_IR_RSVD, DEV, 7);
    }
    static const uint64_t hi_bits[] = {VTD_BIT(20), VTD_BIT(40), VTD_BIT(63)};
    for (unsigned i = 0; i < 3; i++) {
        irte(r, 7, rlo(0x40, 0, false, false, false, 0), hi_bits[i]);
        iec_index(r, 7, 0);
        expect_fault(r, irq(r, DEV, 7), VTD_FR_IR_RSVD, DEV, 7);
    }
    /* 26h */
    irte(r, 8, rlo(0x40, 0, false, false, false, 0), svt(VTD_SVT_SID, 0, SID(1, 1, 1)));
    expect_fault(r, irq(r, DEV, 8), VTD_FR_IR_SID, DEV, 8);
    expect_remapped(irq(r, DEV, 5), 0x40, 0, false, false, false, 0);
    /* 23h: the table in memory the platform does not back (entry 9 was never
     * cached; entry 5 is, and keeps working until invalidated) */
    assert_int_equal(vtd_mem_add_hole(r->t.mem, r->irt, 16), 0);
    expect_fault(r, irq(r, DEV, 9), VTD_FR_IR_READ_ERROR, DEV, 9);
    assert_true(th_has_diag(&r->t, VTD_DIAG_READ_ERROR));
    expect_remapped(irq(r, DEV, 5), 0x40, 0, false, false, false, 0);
    iec_global(r);
    expect_fault(r, irq(r, DEV, 5), VTD_FR_IR_READ_ERROR, DEV, 5);
    expect_no_record(r);
    ir_teardown(state);
    *state = NULL;

    /* bit 15 (IM) is reserved without CAP.PI */
    struct vtd_config c;
    ir_cfg(&c);
    c.cap &= ~VTD_CAP_PI;
    r = ir_new(state, &c, 3, false, false);
    irte(r, 1, rlo(0x40, 0, false, false, false, 0) | VTD_IRTE_IM, 0);
    expect_fault(r, irq(r, DEV, 1), VTD_FR_IR_RSVD, DEV, 1);
}

static void test_fpd(void **state)
{
    struct ir *r = ir_new(state, NULL, 3, false, false);
    /* FPD suppresses 22h (read with P=0), 24h, 26h */
    irte(r, 1, VTD_IRTE_FPD, 0);
    irte(r, 2, rlo(0x40, 0, false, false, false, 0) | VTD_IRTE_FPD | VTD_BIT(13), 0);
    irte(r, 3, rlo(0x40, 0, false, false, false, 0) | VTD_IRTE_FPD, svt(VTD_SVT_SID, 0, 0));
    static const uint8_t fr[] = {0, VTD_FR_IR_NOT_PRESENT, VTD_FR_IR_RSVD, VTD_FR_IR_SID};
    for (unsigned i = 1; i <= 3; i++) {
        struct vtd_irq o = irq(r, DEV, i);
        assert_int_equal(o.status, VTD_FAULT);
        assert_int_equal(o.fault_reason, fr[i]);
        assert_false(o.fault_recorded);
    }
    expect_no_record(r);
    assert_int_equal(r->t.nmsi, 0);
    /* not qualified: 21h and 20h are recorded whatever the entries say */
    expect_fault(r, irq(r, DEV, 100), VTD_FR_IR_INDEX, DEV, 100);
    /* without FPD the same entries are recorded, and the fault event is sent */
    th_wr32(&r->t, VTD_REG_FECTL, 0);
    irte(r, 1, 0, 0);
    expect_fault(r, irq(r, DEV, 1), VTD_FR_IR_NOT_PRESENT, DEV, 1);
    assert_int_equal(r->t.nmsi, 1);
}

/* ---- interrupt entry cache ---- */

static void test_iec_stale_until_invalidated(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, false, false);
    for (uint32_t i = 0; i < 64; i++)
        irte(r, i, rlo((uint8_t)(0x20 + i), 0, false, false, false, 0), 0);
    for (uint32_t i = 0; i < 64; i++)
        assert_int_equal(irq(r, DEV, i).vector, 0x20 + i); /* cached */
    for (uint32_t i = 0; i < 64; i++)
        irte(r, i, rlo((uint8_t)(0x80 + i), 0, false, false, false, 0), 0);
    assert_false(th_has_diag(&r->t, VTD_DIAG_STALE_IEC));
    for (uint32_t i = 0; i < 64; i++)
        assert_int_equal(irq(r, DEV, i).vector, 0x20 + i); /* stale */
    assert_true(th_has_diag(&r->t, VTD_DIAG_STALE_IEC));
    /* index-selective: IIDX 8, IM 3 -> 8..15 */
    iec_index(r, 8, 3);
    for (uint32_t i = 0; i < 64; i++)
        assert_int_equal(irq(r, DEV, i).vector, (i >= 8 && i < 16 ? 0x80 : 0x20) + i);
    /* IM 0: one entry */
    iec_index(r, 33, 0);
    th_clear_logs(&r->t);
    assert_int_equal(irq(r, DEV, 33).vector, 0x80 + 33);
    assert_int_equal(irq(r, DEV, 33).vector, 0x80 + 33); /* refilled: matches memory */
    assert_false(th_has_diag(&r->t, VTD_DIAG_STALE_IEC));
    assert_int_equal(irq(r, DEV, 32).vector, 0x20 + 32);
    assert_int_equal(irq(r, DEV, 34).vector, 0x20 + 34);
    /* a not-present entry made non-present stays cached as present until invalidated */
    irte(r, 40, 0, 0);
    assert_int_equal(irq(r, DEV, 40).status, VTD_OK);
    /* global */
    iec_global(r);
    for (uint32_t i = 0; i < 64; i++) {
        if (i == 40)
            continue;
        assert_int_equal(irq(r, DEV, i).vector, 0x80 + i);
    }
    expect_fault(r, irq(r, DEV, 40), VTD_FR_IR_NOT_PRESENT, DEV, 40);
    /* not-present entries are not cached: making one present takes effect at once */
    irte(r, 40, rlo(0x77, 0, false, false, false, 0), 0);
    assert_int_equal(irq(r, DEV, 40).vector, 0x77);
    /* the queue ran cleanly */
    assert_false(th_rd32(&r->t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    /* reserved bits in an IEC descriptor: IQE with IQEI=4 */
    qi(r, VTD_DESC_IEC | VTD_BIT(20), 0);
    assert_true(th_rd32(&r->t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_int_equal(th_rd64(&r->t, VTD_REG_IQERCD) & 0xF, VTD_IQEI_RSVD);
}

static void test_iec_absent(void **state)
{
    struct vtd_config c;
    ir_cfg(&c);
    c.iec_entries = 0;
    struct ir *r = ir_new(state, &c, 7, false, false);
    irte(r, 3, rlo(0x30, 0, false, false, false, 0), 0);
    assert_int_equal(irq(r, DEV, 3).vector, 0x30);
    irte(r, 3, rlo(0x31, 0, false, false, false, 0), 0);
    assert_int_equal(irq(r, DEV, 3).vector, 0x31);
    iec_global(r); /* still a valid descriptor */
    assert_false(th_rd32(&r->t, VTD_REG_FSTS) & VTD_FSTS_IQE);
}

static void sirtp_case(void **state, bool esirtps)
{
    struct vtd_config c;
    ir_cfg(&c);
    if (esirtps)
        c.cap |= VTD_CAP_ESIRTPS;
    struct ir *r = ir_new(state, &c, 7, false, false);
    irte(r, 4, rlo(0x30, 0, false, false, false, 0), 0);
    assert_int_equal(irq(r, DEV, 4).vector, 0x30);
    /* a second table latched by SIRTP */
    uint64_t t2 = th_alloc_page(&r->t);
    th_w64(&r->t, t2 + 4 * 16, rlo(0x31, 0, false, false, false, 0));
    th_wr64(&r->t, VTD_REG_IRTA, t2 | 7);
    assert_int_equal(irq(r, DEV, 4).vector, 0x30); /* IRTA alone changes nothing */
    th_wr32(&r->t, VTD_REG_GCMD, gcmd_base(&r->t) | VTD_GCMD_SIRTP);
    assert_int_equal(irq(r, DEV, 4).vector, esirtps ? 0x31 : 0x30);
    iec_global(r);
    assert_int_equal(irq(r, DEV, 4).vector, 0x31);
    /* IRE off and on again: the IEC is invalidated only with ESIRTPS */
    th_w64(&r->t, t2 + 4 * 16, rlo(0x32, 0, false, false, false, 0));
    th_wr32(&r->t, VTD_REG_GCMD, gcmd_base(&r->t) & ~VTD_GCMD_IRE);
    th_wr32(&r->t, VTD_REG_GCMD, gcmd_base(&r->t) | VTD_GCMD_IRE);
    assert_int_equal(irq(r, DEV, 4).vector, esirtps ? 0x32 : 0x31);
    ir_teardown(state);
    *state = NULL;
}

static void test_sirtp_esirtps(void **state)
{
    sirtp_case(state, false);
    sirtp_case(state, true);
}

/* ---- posting ---- */

static uint64_t plo(uint8_t vec, uint64_t pda, bool urg)
{
    return VTD_IRTE_P | VTD_IRTE_IM | (urg ? VTD_IRTE_URG : 0) | (uint64_t)vec << 16 |
           ((pda >> 6) & 0x3FFFFFF) << 38;
}
static uint64_t phi(uint64_t pda) { return pda & VTD_GENMASK(63, 32); }
static uint64_t pctl(bool on, bool sn, uint8_t nv, uint32_t ndst)
{
    return (on ? VTD_PID_ON : 0) | (sn ? VTD_PID_SN : 0) | (uint64_t)nv << 16 | (uint64_t)ndst << 32;
}

static void test_posted(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, false, false);
    struct th *t = &r->t;
    uint64_t pd = th_alloc_page(t) + 0x40;
    for (unsigned k = 0; k < 8; k++) {
        bool on = k & 1, sn = k & 2, urg = k & 4;
        uint8_t vec = (uint8_t)(0x30 + k * 29);
        for (unsigned q = 0; q < 8; q++)
            th_w64(t, pd + q * 8, 0);
        th_w64(t, pd + 32, pctl(on, sn, 0xF2, 0x1700)); /* xAPIC: APIC id 0x17 in 15:8 */
        irte(r, 30 + k, plo(vec, pd, urg), svt(VTD_SVT_SID, 0, DEV));
        t->nmsi = 0;
        struct vtd_irq o = irq(r, DEV, 30 + k);
        assert_int_equal(o.status, VTD_OK);
        assert_int_equal(o.kind, VTD_IRQ_POSTED);
        assert_int_equal(o.vector, vec);
        assert_int_equal(o.pid_addr, pd);
        bool notify = !on && (urg || !sn);
        assert_int_equal(o.notified, notify);
        for (unsigned q = 0; q < 4; q++)
            assert_int_equal(th_r64(t, pd + q * 8), q == vec / 64 ? 1ULL << (vec % 64) : 0);
        assert_int_equal(th_r64(t, pd + 32), pctl(on || notify, sn, 0xF2, 0x1700));
        assert_int_equal(t->nmsi, notify ? 1 : 0);
        if (notify) {
            assert_int_equal(t->msi[0].addr, 0xFEE00000ULL | 0x17 << 12);
            assert_int_equal(t->msi[0].data, 0xF2);
        }
    }
    /* a second post of a pending vector with ON set: coalesced, no notification */
    t->nmsi = 0;
    assert_false(irq(r, DEV, 30).notified);
    assert_int_equal(t->nmsi, 0);
    expect_no_record(r);
    /* source validation applies to posted entries too */
    expect_fault(r, irq(r, SID(0, 0, 1), 30), VTD_FR_IR_SID, SID(0, 0, 1), 30);
    /* reserved bits of a posted IRTE (7:2, 13:12, 37:24, 95:84) */
    static const uint64_t lo_bits[] = {VTD_IRTE_DM, VTD_BIT(7), VTD_BIT(12), VTD_BIT(24), VTD_BIT(37)};
    for (unsigned i = 0; i < 5; i++) {
        irte(r, 50, plo(0x40, pd, false) | lo_bits[i], 0);
        iec_index(r, 50, 0);
        expect_fault(r, irq(r, DEV, 50), VTD_FR_IR_RSVD, DEV, 50);
    }
    irte(r, 50, plo(0x40, pd, false), VTD_BIT(20));
    iec_index(r, 50, 0);
    expect_fault(r, irq(r, DEV, 50), VTD_FR_IR_RSVD, DEV, 50);
}

static void test_posted_x2apic_and_high_pda(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, true, false);
    struct th *t = &r->t;
    uint64_t pd = 0x123456780ULL + 0x40; /* above 4 GiB: PDA_H */
    th_w64(t, pd + 32, pctl(false, false, 0xEC, 0xABCDEF12));
    irte(r, 1, plo(0xFF, pd, false), phi(pd));
    struct vtd_irq o = irq(r, DEV, 1);
    assert_true(o.notified);
    assert_int_equal(o.pid_addr, pd);
    assert_int_equal(th_r64(t, pd + 24), 1ULL << 63);
    assert_int_equal(t->nmsi, 1);
    assert_int_equal(t->msi[0].addr, 0xFEE00000ULL | 0x12 << 12 | 0xABCDEFULL << 40);
    assert_int_equal(t->msi[0].data, 0xEC);
}

static void test_posted_descriptor_errors(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, false, false);
    struct th *t = &r->t;
    uint64_t pd = th_alloc_page(t);
    /* 28h: reserved control bits, xAPIC NDST bits outside 15:8, reserved bytes 40..63 */
    static const uint64_t bad[] = {VTD_BIT(2), VTD_BIT(15), VTD_BIT(24), VTD_BIT(31), VTD_BIT(32),
                                   VTD_BIT(48), VTD_BIT(63)};
    for (unsigned i = 0; i < 7; i++) {
        th_w64(t, pd + 32, pctl(false, false, 0xF0, 0x100) | bad[i]);
        irte(r, 2, plo(0x40, pd, false), 0);
        expect_fault(r, irq(r, DEV, 2), VTD_FR_IR_PID_RSVD, DEV, 2);
        assert_int_equal(th_r64(t, pd + 8), 0); /* nothing posted */
    }
    th_w64(t, pd + 32, pctl(false, false, 0xF0, 0x100));
    th_w64(t, pd + 48, 1);
    expect_fault(r, irq(r, DEV, 2), VTD_FR_IR_PID_RSVD, DEV, 2);
    th_w64(t, pd + 48, 0);
    assert_true(irq(r, DEV, 2).notified);
    /* 27h: descriptor in memory the platform does not back */
    uint64_t hole = 0x80000000ULL;
    assert_int_equal(vtd_mem_add_hole(t->mem, hole, PAGE), 0);
    irte(r, 3, plo(0x40, hole, false), 0);
    expect_fault(r, irq(r, DEV, 3), VTD_FR_IR_PID_READ_ERROR, DEV, 3);
    assert_true(th_has_diag(t, VTD_DIAG_IR_PID));
}

/* Without host->mem_cmpxchg64 the unit reads and writes. */
static void test_posted_no_cmpxchg(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, false, false);
    struct th *t = &r->t;
    vtd_destroy(t->u);
    t->host.mem_cmpxchg64 = NULL;
    struct vtd_config c;
    ir_cfg(&c);
    assert_int_equal(vtd_create(&c, &t->host, &t->u), 0);
    r->tail = 0;
    th_wr64(t, VTD_REG_IRTA, r->irt | 7);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_SIRTP);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_IRE);
    uint64_t pd = th_alloc_page(t);
    th_w64(t, pd + 32, pctl(false, false, 0xF0, 0x200));
    irte(r, 2, plo(0x41, pd, false), 0);
    assert_true(irq(r, DEV, 2).notified);
    assert_int_equal(th_r64(t, pd + 8), 2);
    assert_int_equal(th_r64(t, pd + 32), pctl(true, false, 0xF0, 0x200));
    assert_false(irq(r, DEV, 2).notified);
}

static void test_reset(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, true, true);
    struct th *t = &r->t;
    irte(r, 1, rlo(0x30, 0, false, false, false, 7), 0);
    assert_int_equal(irq(r, DEV, 1).kind, VTD_IRQ_REMAPPED);
    vtd_reset(t->u);
    assert_int_equal(th_rd64(t, VTD_REG_IRTA), 0);
    assert_int_equal(th_rd32(t, VTD_REG_GSTS), 0);
    assert_int_equal(irq(r, DEV, 1).kind, VTD_IRQ_PASSTHROUGH);
    /* the IEC was emptied: a new table is read */
    irte(r, 1, rlo(0x31, 0, false, false, false, (uint32_t)xdst(7)), 0);
    th_wr64(t, VTD_REG_IRTA, r->irt | 7);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_SIRTP);
    th_wr32(t, VTD_REG_GCMD, VTD_GCMD_IRE);
    struct vtd_irq o = irq(r, DEV, 1);
    expect_remapped(o, 0x31, 0, false, false, false, 7); /* xAPIC now */
}

/* ---- IOAPIC ---- */

static void test_ioapic_rte(void **state)
{
    struct ir *r = ir_new(state, NULL, 15, false, false);
    uint16_t ioapic = SID(0xF0, 0x1F, 0);
    irte(r, 0x8123, rlo(0x61, 0, false, false, true, (uint32_t)xdst(3)), svt(VTD_SVT_SID, 0, ioapic));
    /* index[14:0] in 63:49, index[15] in bit 11, format bit 48, TM 15, vector 7:0 */
    uint64_t rte = (uint64_t)0x0123 << 49 | VTD_BIT(48) | VTD_BIT(11) | VTD_BIT(15) | 0x61;
    struct vtd_msi m;
    assert_int_equal(vtd_ioapic_rte_to_msi(rte, ioapic, &m), 0);
    assert_int_equal(m.sid, ioapic);
    assert_int_equal(m.addr, rmsi_addr(0x8123, false));
    assert_int_equal(m.data, 0x8061);
    struct vtd_irq o;
    assert_int_equal(vtd_remap_msi(r->t.u, &m, &o), 0);
    expect_remapped(o, 0x61, 0, false, false, true, 3);
    assert_int_equal(vtd_ioapic_rte_to_msi(rte & ~VTD_BIT(48), ioapic, &m), VTD_EINVAL);
    assert_int_equal(vtd_ioapic_rte_to_msi(rte, ioapic, NULL), VTD_EINVAL);
}

/* ---- the posting race ---- */

#define RACE_POSTS 20000
struct race {
    struct ir *r;
    uint64_t pd;
    _Atomic int done;
    _Atomic unsigned posted[256], delivered[256];
    _Atomic unsigned notified, on_clears;
    _Atomic int failed;
};
struct poster {
    struct race *x;
    unsigned first; /* vectors first .. first + 111; IRTE index = vector */
};

static void *poster_fn(void *arg)
{
    struct poster *p = arg;
    struct race *x = p->x;
    for (unsigned n = 0; n < RACE_POSTS; n++) {
        unsigned v = p->first + n % 112;
        /* post a vector only once its previous post was delivered (PIR
         * coalesces a pending vector, which is not a loss) */
        while (atomic_load(&x->delivered[v]) != atomic_load(&x->posted[v]))
            ;
        atomic_fetch_add(&x->posted[v], 1);
        struct vtd_msi m = {.sid = DEV, .addr = rmsi_addr(v, false)};
        struct vtd_irq o;
        if (vtd_remap_msi(x->r->t.u, &m, &o) || o.status != VTD_OK || o.kind != VTD_IRQ_POSTED)
            x->failed = 1;
        if (o.notified)
            atomic_fetch_add(&x->notified, 1);
    }
    return NULL;
}

/* As a VMM: clear ON, then take every PIR qword with a compare-exchange loop. */
static void drain(struct race *x)
{
    struct vtd_mem *mem = x->r->t.mem;
    uint64_t ctl = 0;
    vtd_mem_read(mem, x->pd + 32, &ctl, 8);
    while (ctl & VTD_PID_ON) {
        if (vtd_mem_cmpxchg64(mem, x->pd + 32, &ctl, ctl & ~VTD_PID_ON) == 0) {
            atomic_fetch_add(&x->on_clears, 1);
            break;
        }
    }
    for (unsigned q = 0; q < 4; q++) {
        uint64_t cur = 0;
        vtd_mem_read(mem, x->pd + q * 8, &cur, 8);
        while (cur && vtd_mem_cmpxchg64(mem, x->pd + q * 8, &cur, 0) != 0)
            ;
        for (unsigned b = 0; b < 64; b++)
            if (cur & (1ULL << b))
                atomic_fetch_add(&x->delivered[q * 64 + b], 1);
    }
}

static void *vmm_fn(void *arg)
{
    struct race *x = arg;
    while (!atomic_load(&x->done))
        drain(x);
    return NULL;
}

static void test_posting_race(void **state)
{
    struct ir *r = ir_new(state, NULL, 7, false, false);
    struct race *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    x->r = r;
    x->pd = th_alloc_page(&r->t);
    th_w64(&r->t, x->pd + 32, pctl(false, false, 0xF3, 0x2A00));
    for (unsigned v = 32; v < 256; v++)
        irte(r, v, plo((uint8_t)v, x->pd, false), 0);
    struct poster p[2] = {{x, 32}, {x, 144}};
    pthread_t th[3];
    assert_int_equal(pthread_create(&th[2], NULL, vmm_fn, x), 0);
    assert_int_equal(pthread_create(&th[0], NULL, poster_fn, &p[0]), 0);
    assert_int_equal(pthread_create(&th[1], NULL, poster_fn, &p[1]), 0);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    atomic_store(&x->done, 1);
    pthread_join(th[2], NULL);
    drain(x);
    assert_false(x->failed);
    unsigned total = 0;
    for (unsigned v = 0; v < 256; v++) {
        assert_int_equal(atomic_load(&x->delivered[v]), atomic_load(&x->posted[v]));
        total += atomic_load(&x->posted[v]);
    }
    assert_int_equal(total, 2 * RACE_POSTS);
    /* every ON 0->1 edge sent exactly one notification, and the VMM cleared
     * each edge once (ON is clear after the final drain) */
    assert_int_equal(atomic_load(&x->notified), (unsigned)r->t.nmsi);
    assert_int_equal(atomic_load(&x->on_clears), atomic_load(&x->notified));
    assert_true(atomic_load(&x->notified) >= 1);
    for (int i = 0; i < r->t.nmsi && i < TH_MAX_LOG; i++) {
        assert_int_equal(r->t.msi[i].addr, 0xFEE00000ULL | 0x2A << 12);
        assert_int_equal(r->t.msi[i].data, 0xF3);
    }
    expect_no_record(r);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_irta_register, th_teardown),
        cmocka_unit_test_teardown(test_bad_args, ir_teardown),
        cmocka_unit_test_teardown(test_passthrough_and_compat, ir_teardown),
        cmocka_unit_test_teardown(test_remapped_fields_xapic, ir_teardown),
        cmocka_unit_test_teardown(test_remapped_fields_x2apic, ir_teardown),
        cmocka_unit_test_teardown(test_handle_bit15, ir_teardown),
        cmocka_unit_test_teardown(test_svt_sq, ir_teardown),
        cmocka_unit_test_teardown(test_fault_reasons, ir_teardown),
        cmocka_unit_test_teardown(test_fpd, ir_teardown),
        cmocka_unit_test_teardown(test_iec_stale_until_invalidated, ir_teardown),
        cmocka_unit_test_teardown(test_iec_absent, ir_teardown),
        cmocka_unit_test_teardown(test_sirtp_esirtps, ir_teardown),
        cmocka_unit_test_teardown(test_posted, ir_teardown),
        cmocka_unit_test_teardown(test_posted_x2apic_and_high_pda, ir_teardown),
        cmocka_unit_test_teardown(test_posted_descriptor_errors, ir_teardown),
        cmocka_unit_test_teardown(test_posted_no_cmpxchg, ir_teardown),
        cmocka_unit_test_teardown(test_reset, ir_teardown),
        cmocka_unit_test_teardown(test_ioapic_rte, ir_teardown),
        cmocka_unit_test_teardown(test_posting_race, ir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
