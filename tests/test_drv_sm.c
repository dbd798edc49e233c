/* The driver (src/drv) in scalable mode against a vtd_config_scalable()
 * unit, wired only through vtd_mmio_* and the sparse memory: second-level
 * (PGTT 010), pass-through (100) and first-level (001) domains, requests
 * without PASID (RID_PASID) and with a PASID.  Every test fails on any unit
 * diagnostic. */
#include "drv_host.h"

#include <stdlib.h>
#include <string.h>

#define KiB 1024ULL
#define RW (VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE)

static const uint16_t DEV = SID(0, 3, 0);

/* A scalable unit with cap_set added and ecap_clear removed; the driver
 * forced into scalable mode and enabled. */
static struct dh *sm_host_cfg(void **state, uint64_t cap_set, uint64_t ecap_clear)
{
    struct vtd_config cfg;
    vtd_config_scalable(&cfg);
    cfg.check_stale = true;
    cfg.cap |= cap_set;
    cfg.ecap &= ~ecap_clear;
    struct vtd_drv_config dc;
    vtd_drv_config_default(&dc);
    dc.flags = VTD_DRV_CFG_SCALABLE | VTD_DRV_CFG_FORCE_SCALABLE;
    struct dh *h = calloc(1, sizeof(*h));
    *state = h;
    dh_init(h, &cfg, &dc);
    h->check_flush = !(cfg.ecap & VTD_ECAP_C);
    struct vtd_drv_info in;
    assert_int_equal(vtd_drv_info(h->drv, &in), 0);
    assert_true(in.scalable);
    assert_true(in.nested);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    uint64_t rtaddr = th_rd64(&h->t, VTD_REG_RTADDR);
    assert_int_equal(rtaddr & VTD_RTADDR_TTM_MASK, (uint64_t)VTD_TTM_SCALABLE << 10);
    dh_no_diag(h);
    return h;
}

static struct dh *sm_host(void **state) { return sm_host_cfg(state, 0, 0); }

static struct vtd_drv_domain *domain(struct dh *h, int type)
{
    struct vtd_drv_domain_config c;
    vtd_drv_domain_config_default(&c);
    c.type = type;
    struct vtd_drv_domain *dom;
    assert_int_equal(vtd_drv_domain_create(h->drv, &c, &dom), 0);
    return dom;
}

static struct vtd_result req(struct dh *h, bool pv, uint32_t pasid, uint64_t iova, uint8_t acc)
{
    struct vtd_request r;
    memset(&r, 0, sizeof(r));
    r.sid = DEV;
    r.access = acc;
    r.pasid_valid = pv;
    r.pasid = pasid;
    r.addr = iova;
    return th_req(&h->t, &r);
}

static void expect_pa(struct dh *h, bool pv, uint32_t pasid, uint64_t iova, uint8_t acc, uint64_t pa)
{
    struct vtd_result r = req(h, pv, pasid, iova, acc);
    if (r.status != VTD_OK)
        fail_msg("DMA 0x%llx pasid %d/%u: status %d fault 0x%x", (unsigned long long)iova, pv, pasid, r.status,
                 r.fault_reason);
    assert_int_equal(r.pa, pa);
    dh_no_diag(h);
}

static void expect_fault(struct dh *h, bool pv, uint32_t pasid, uint64_t iova, uint8_t acc, uint8_t reason)
{
    struct vtd_result r = req(h, pv, pasid, iova, acc);
    if (r.status != VTD_FAULT)
        fail_msg("DMA 0x%llx pasid %d/%u: status %d (pa 0x%llx), expected fault 0x%x", (unsigned long long)iova, pv,
                 pasid, r.status, (unsigned long long)r.pa, reason);
    assert_int_equal(r.fault_reason, reason);
    dh_no_diag(h);
}

/* map, translate, unmap (strict: invalidated before return), fault */
static void map_cycle(struct dh *h, struct vtd_drv_domain *dom, bool pv, uint32_t pasid, uint8_t unmapped_reason)
{
    assert_int_equal(vtd_drv_map(dom, 0x10000, 0x7000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_map(dom, 0x200000, 0x8000000, 2048 * KiB, RW), 0);
    expect_pa(h, pv, pasid, 0x10010, VTD_W, 0x7000010);
    expect_pa(h, pv, pasid, 0x10ff8, VTD_R, 0x7000ff8);
    expect_pa(h, pv, pasid, 0x3ff000, VTD_R, 0x81ff000);
    expect_fault(h, pv, pasid, 0x11000, VTD_R, unmapped_reason);
    assert_int_equal(vtd_drv_unmap(dom, 0x10000, 4 * KiB, NULL), 0);
    expect_fault(h, pv, pasid, 0x10010, VTD_R, unmapped_reason);
    expect_pa(h, pv, pasid, 0x200000, VTD_R, 0x8000000);
    assert_int_equal(vtd_drv_unmap(dom, 0x200000, 2048 * KiB, NULL), 0);
    expect_fault(h, pv, pasid, 0x3ff000, VTD_R, unmapped_reason);
    vtd_drv_fault_poll(h->drv);
}

static void second_level(void **state)
{
    struct dh *h = sm_host(state);
    struct vtd_drv_domain *dom = domain(h, VTD_DRV_DOM_PAGING);
    /* nothing attached: the root entry's LP is 0 */
    expect_fault(h, false, 0, 0x1000, VTD_R, VTD_FR_SM_ROOT_NOT_PRESENT);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    map_cycle(h, dom, false, 0, VTD_FR_SM_SL_PERM);
    /* a PASID the directory has no table for */
    expect_fault(h, true, 77, 0x1000, VTD_R, VTD_FR_SM_PDE_NOT_PRESENT);
    /* the same domain also under PASID 5 */
    assert_int_equal(vtd_drv_attach_pasid(dom, DEV, 5, 0), 0);
    map_cycle(h, dom, true, 5, VTD_FR_SM_SL_PERM);
    /* PASID 6 shares PASID 5's table page but is not present */
    expect_fault(h, true, 6, 0x1000, VTD_R, VTD_FR_SM_PTE_NOT_PRESENT);
    assert_int_equal(vtd_drv_map(dom, 0x40000, 0x9000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 5), 0);
    expect_fault(h, true, 5, 0x40000, VTD_R, VTD_FR_SM_PTE_NOT_PRESENT);
    expect_pa(h, false, 0, 0x40000, VTD_R, 0x9000000);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    expect_fault(h, false, 0, 0x40000, VTD_R, VTD_FR_SM_CTX_NOT_PRESENT);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_domain_destroy(dom), 0);
    dh_fini(h);
}

static void pass_through(void **state)
{
    struct dh *h = sm_host(state);
    struct vtd_drv_domain *pt = domain(h, VTD_DRV_DOM_PASSTHROUGH);
    struct vtd_drv_domain *sl = domain(h, VTD_DRV_DOM_PAGING);
    assert_int_equal(vtd_drv_attach(pt, DEV, 0), 0);
    expect_pa(h, false, 0, 0x12345678, VTD_W, 0x12345678);
    assert_int_equal(vtd_drv_map(sl, 0x5000, 0xa000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_attach_pasid(sl, DEV, 9, 0), 0);
    expect_pa(h, true, 9, 0x5004, VTD_R, 0xa000004);
    expect_pa(h, false, 0, 0x5004, VTD_R, 0x5004);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    expect_fault(h, false, 0, 0x5000, VTD_R, VTD_FR_SM_PTE_NOT_PRESENT);
    expect_pa(h, true, 9, 0x5004, VTD_R, 0xa000004);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 9), 0);
    expect_fault(h, true, 9, 0x5000, VTD_R, VTD_FR_SM_CTX_NOT_PRESENT);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_domain_destroy(pt), 0);
    assert_int_equal(vtd_drv_domain_destroy(sl), 0);
    dh_fini(h);
}

static void first_level(void **state)
{
    struct dh *h = sm_host(state);
    struct vtd_drv_domain *fl = domain(h, VTD_DRV_DOM_FIRST_LEVEL);
    assert_int_equal(vtd_drv_attach(fl, DEV, 0), 0);
    map_cycle(h, fl, false, 0, VTD_FR_SM_FL_NOT_PRESENT);
    assert_int_equal(vtd_drv_attach_pasid(fl, DEV, 3, 0), 0);
    map_cycle(h, fl, true, 3, VTD_FR_SM_FL_NOT_PRESENT);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 3), 0);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_domain_destroy(fl), 0);
    dh_fini(h);
}

/* Nested (PGTT 011): a guest's 4-level first-level table (guest-physical
 * pages at GTAB.., host pages at HTAB..) whose pages and output the
 * second-level domain maps. */
#define GTAB 0x100000ULL
#define HTAB 0x20000000ULL
static void nested(void **state)
{
    struct dh *h = sm_host(state);
    struct vtd_drv_domain *sl = domain(h, VTD_DRV_DOM_PAGING);
    const uint64_t tb = VTD_FL_P | VTD_FL_RW | VTD_FL_US;
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(vtd_drv_map(sl, GTAB + i * 4 * KiB, HTAB + i * 4 * KiB, 4 * KiB, RW), 0);
        for (unsigned e = 0; e < 512; e++)
            th_w64(&h->t, HTAB + i * 4 * KiB + e * 8, 0);
    }
    /* va 0x400000: PML4[0] -> PDPT[0] -> PD[2] -> PT[0] -> gpa 0x300000 */
    th_w64(&h->t, HTAB, (GTAB + 4 * KiB) | tb);
    th_w64(&h->t, HTAB + 4 * KiB, (GTAB + 8 * KiB) | tb);
    th_w64(&h->t, HTAB + 8 * KiB + 2 * 8, (GTAB + 12 * KiB) | tb);
    th_w64(&h->t, HTAB + 12 * KiB, 0x300000 | tb);
    assert_int_equal(vtd_drv_map(sl, 0x300000, 0xb000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_attach_nested(sl, DEV, 4, GTAB, 4, 0), 0);
    expect_pa(h, true, 4, 0x400123, VTD_W, 0xb000123);
    /* the walk set A (and D on the written leaf) in the guest's table
     * through the second level: PWSNP = 1 in the PASID entry */
    assert_true(th_r64(&h->t, HTAB) & VTD_FL_A);
    assert_int_equal(th_r64(&h->t, HTAB + 12 * KiB) & (VTD_FL_A | VTD_FL_D), VTD_FL_A | VTD_FL_D);
    expect_fault(h, true, 4, 0x401000, VTD_R, VTD_FR_SM_FL_NOT_PRESENT);
    /* the guest's tables change behind the driver: the cached translation
     * stays (stale) until vtd_drv_invalidate_pasid, page-selective or whole */
    assert_int_equal(vtd_drv_map(sl, 0x301000, 0xb001000, 4 * KiB, RW), 0);
    th_w64(&h->t, HTAB + 12 * KiB, 0x301000 | tb);
    struct vtd_result r = req(h, true, 4, 0x400123, VTD_R);
    assert_int_equal(r.pa, 0xb000123);
    assert_true(th_has_diag(&h->t, VTD_DIAG_STALE_IOTLB));
    h->t.ndiag = 0;
    assert_int_equal(vtd_drv_invalidate_pasid(h->drv, DEV, 4, 0x400000, 4 * KiB, VTD_DRV_INV_LEAF), 0);
    expect_pa(h, true, 4, 0x400123, VTD_R, 0xb001123);
    th_w64(&h->t, HTAB + 12 * KiB, 0x300000 | tb);
    assert_int_equal(vtd_drv_invalidate_pasid(h->drv, DEV, 4, 0, 0, 0), 0);
    expect_pa(h, true, 4, 0x400123, VTD_R, 0xb000123);
    assert_int_equal(vtd_drv_unmap(sl, 0x301000, 4 * KiB, NULL), 0);
    /* refusals: no such PASID entry, unaligned, unknown flag */
    assert_int_equal(vtd_drv_invalidate_pasid(h->drv, DEV, 5, 0, 0, 0), VTD_DRV_ENOENT);
    assert_int_equal(vtd_drv_invalidate_pasid(h->drv, SID(0, 9, 0), 4, 0, 0, 0), VTD_DRV_ENOENT);
    assert_int_equal(vtd_drv_invalidate_pasid(h->drv, DEV, 4, 0x400100, 4 * KiB, 0), VTD_DRV_EINVAL);
    assert_int_equal(vtd_drv_invalidate_pasid(h->drv, DEV, 4, 0, 0, 2), VTD_DRV_EINVAL);
    /* the output's second-level mapping goes: the nested walk faults in the SL */
    assert_int_equal(vtd_drv_unmap(sl, 0x300000, 4 * KiB, NULL), 0);
    expect_fault(h, true, 4, 0x400123, VTD_R, VTD_FR_SM_SL_PERM);
    /* the RID_PASID of the same device stays unattached */
    expect_fault(h, false, 0, 0x400123, VTD_R, VTD_FR_SM_PTE_NOT_PRESENT);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 4), 0);
    expect_fault(h, true, 4, 0x400123, VTD_R, VTD_FR_SM_CTX_NOT_PRESENT);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_domain_destroy(sl), 0);
    dh_fini(h);
}

/* CAP.CM: not-present entries are cached, so attach and map invalidate
 * (PASID cache, P_IOTLB / IOTLB) */
static void caching_mode(void **state)
{
    struct dh *h = sm_host_cfg(state, VTD_CAP_CM, 0);
    struct vtd_drv_domain *sl = domain(h, VTD_DRV_DOM_PAGING);
    struct vtd_drv_domain *fl = domain(h, VTD_DRV_DOM_FIRST_LEVEL);
    assert_int_equal(vtd_drv_attach(sl, DEV, 0), 0);
    expect_fault(h, true, 8, 0x4000, VTD_R, VTD_FR_SM_PTE_NOT_PRESENT);
    assert_int_equal(vtd_drv_attach_pasid(fl, DEV, 8, 0), 0);
    expect_fault(h, true, 8, 0x4000, VTD_R, VTD_FR_SM_FL_NOT_PRESENT);
    assert_int_equal(vtd_drv_map(fl, 0x4000, 0x11000000, 4 * KiB, RW), 0);
    expect_pa(h, true, 8, 0x4000, VTD_R, 0x11000000);
    expect_fault(h, false, 0, 0x8000, VTD_R, VTD_FR_SM_SL_PERM);
    assert_int_equal(vtd_drv_map(sl, 0x8000, 0x12000000, 4 * KiB, RW), 0);
    expect_pa(h, false, 0, 0x8008, VTD_W, 0x12000008);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 8), 0);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_domain_destroy(sl), 0);
    assert_int_equal(vtd_drv_domain_destroy(fl), 0);
    dh_fini(h);
}

/* ECAP.C = 0, SMPWCS = 0 (so SLADS = 0): every table line the driver writes is flushed
 * before the unit may walk it */
static void non_coherent(void **state)
{
    struct dh *h = sm_host_cfg(state, 0, VTD_ECAP_C | VTD_ECAP_SMPWCS | VTD_ECAP_SLADS);
    struct vtd_drv_domain *sl = domain(h, VTD_DRV_DOM_PAGING);
    struct vtd_drv_domain *fl = domain(h, VTD_DRV_DOM_FIRST_LEVEL);
    assert_int_equal(vtd_drv_attach(sl, DEV, 0), 0);
    map_cycle(h, sl, false, 0, VTD_FR_SM_SL_PERM);
    assert_int_equal(vtd_drv_attach_pasid(fl, DEV, 70, 0), 0);
    map_cycle(h, fl, true, 70, VTD_FR_SM_FL_NOT_PRESENT);
    assert_true(h->nflush > 0);
    assert_int_equal(h->ndirty, 0);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 70), 0);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_domain_destroy(sl), 0);
    assert_int_equal(vtd_drv_domain_destroy(fl), 0);
    dh_fini(h);
}

/* Emptied tables are unlinked and freed exactly when their last present
 * entry goes, also after a superpage split (the count starts at 512). */
static long live_tables(struct dh *h)
{
    struct vtd_drv_stats st;
    vtd_drv_stats(h->drv, &st);
    return (long)(st.tables_allocated - st.tables_freed);
}

static void table_freeing(void **state)
{
    struct dh *h = sm_host(state);
    struct vtd_drv_domain *sl = domain(h, VTD_DRV_DOM_PAGING);
    assert_int_equal(vtd_drv_attach(sl, DEV, 0), 0);
    long base = live_tables(h);
    assert_int_equal(vtd_drv_map(sl, 0x10000, 0x7000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_map(sl, 0x11000, 0x7100000, 4 * KiB, RW), 0);
    long two = live_tables(h); /* PDPT, PD, PT below the root */
    assert_int_equal(two, base + 3);
    assert_int_equal(vtd_drv_unmap(sl, 0x10000, 4 * KiB, NULL), 0);
    assert_int_equal(live_tables(h), two);
    expect_pa(h, false, 0, 0x11008, VTD_R, 0x7100008);
    assert_int_equal(vtd_drv_unmap(sl, 0x11000, 4 * KiB, NULL), 0);
    assert_int_equal(live_tables(h), base);
    expect_fault(h, false, 0, 0x11008, VTD_R, VTD_FR_SM_SL_PERM);
    /* a 2 MiB leaf split by a 4 KiB unmap, then unmapped page by page */
    assert_int_equal(vtd_drv_map(sl, 0x200000, 0x8000000, 2048 * KiB, RW), 0);
    assert_int_equal(live_tables(h), base + 2);
    for (uint64_t off = 0; off < 2048 * KiB; off += 4 * KiB) {
        assert_int_equal(vtd_drv_unmap(sl, 0x200000 + off, 4 * KiB, NULL), 0);
        if (off + 4 * KiB < 2048 * KiB) {
            assert_int_equal(live_tables(h), base + 3);
            expect_pa(h, false, 0, 0x200000 + off + 4 * KiB, VTD_R, 0x8000000 + off + 4 * KiB);
        }
    }
    assert_int_equal(live_tables(h), base);
    expect_fault(h, false, 0, 0x3ff000, VTD_R, VTD_FR_SM_SL_PERM);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_domain_destroy(sl), 0);
    dh_fini(h);
}

/* ATS device (scalable DTE = 1): translation requests succeed, unmap
 * invalidates the device-TLB; ATS with a PASID attach is refused */
static void ats_device(void **state)
{
    struct dh *h = sm_host(state);
    struct vtd_drv_domain *sl = domain(h, VTD_DRV_DOM_PAGING);
    assert_int_equal(vtd_drv_attach(sl, DEV, VTD_DRV_ATTACH_ATS), 0);
    assert_int_equal(vtd_drv_attach_pasid(sl, DEV, 2, VTD_DRV_ATTACH_ATS), VTD_DRV_ENOTSUP);
    assert_int_equal(vtd_drv_map(sl, 0x40000, 0x23000000, 16 * KiB, RW), 0);
    struct vtd_request rq = { .sid = DEV, .at = VTD_AT_TRANSLATION_REQ, .access = VTD_W, .addr = 0x41000 };
    struct vtd_result r = th_req(&h->t, &rq);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, 0x23001000);
    assert_int_equal(r.perm, VTD_R | VTD_W);
    assert_int_equal(vtd_drv_unmap(sl, 0x41000, 4 * KiB, NULL), 0);
    assert_int_equal(h->ndevtlb, 1);
    assert_int_equal(h->devtlb_sid, DEV);
    assert_int_equal(h->devtlb_addr, 0x41000);
    assert_int_equal(h->devtlb_size, 4 * KiB);
    r = th_req(&h->t, &rq);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.perm, 0);
    dh_no_diag(h);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    assert_int_equal(h->ndevtlb, 2);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_domain_destroy(sl), 0);
    dh_fini(h);
}

/* FPD from the attach flag.  vtd_drv_attach_pasid puts it in that PASID's
 * entry only; vtd_drv_attach puts it in the context entry too, which
 * suppresses the qualified faults of every request of the device. */
static void expect_suppressed(struct dh *h, bool pv, uint32_t pasid, bool suppressed)
{
    struct vtd_result r = req(h, pv, pasid, 0x1000, VTD_R);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_SM_SL_PERM);
    assert_int_equal(r.fault_recorded, !suppressed);
    assert_int_equal(th_rd32(&h->t, VTD_REG_FSTS) & VTD_FSTS_PPF, suppressed ? 0 : VTD_FSTS_PPF);
    assert_int_equal(vtd_drv_fault_poll(h->drv), suppressed ? 0 : 1);
    dh_no_diag(h);
}

static void fault_processing_disable(void **state)
{
    struct dh *h = sm_host(state);
    struct vtd_drv_domain *sl = domain(h, VTD_DRV_DOM_PAGING);
    assert_int_equal(vtd_drv_attach(sl, DEV, 0), 0);
    assert_int_equal(vtd_drv_attach_pasid(sl, DEV, 4, 0), 0);
    assert_int_equal(vtd_drv_attach_pasid(sl, DEV, 8, VTD_DRV_ATTACH_FPD), 0);
    expect_suppressed(h, false, 0, false);
    expect_suppressed(h, true, 4, false);
    expect_suppressed(h, true, 8, true);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 4), 0);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 8), 0);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    assert_int_equal(vtd_drv_attach(sl, DEV, VTD_DRV_ATTACH_FPD), 0);
    assert_int_equal(vtd_drv_attach_pasid(sl, DEV, 4, 0), 0);
    expect_suppressed(h, false, 0, true);
    expect_suppressed(h, true, 4, true);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 4), 0);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    assert_int_equal(vtd_drv_domain_destroy(sl), 0);
    dh_fini(h);
}

static void count_fl_step(void *arg, const struct vtd_walk_step *st)
{
    *(unsigned *)arg += st->kind == VTD_STEP_FL_PTE;
}

/* A 5-level first-level domain (CAP.FL5LP): addresses above 2^48 map and
 * translate; the walk reads five levels. */
static void first_level_five_level(void **state)
{
    struct dh *h = sm_host(state);
    struct vtd_drv_domain_config c;
    vtd_drv_domain_config_default(&c);
    c.type = VTD_DRV_DOM_FIRST_LEVEL;
    c.levels = 5;
    struct vtd_drv_domain *fl;
    assert_int_equal(vtd_drv_domain_create(h->drv, &c, &fl), 0);
    assert_int_equal(vtd_drv_domain_levels(fl), 5);
    assert_int_equal(vtd_drv_attach_pasid(fl, DEV, 3, 0), 0);
    const uint64_t hi = 1ULL << 52;
    assert_int_equal(vtd_drv_map(fl, hi + 0x10000, 0x7000000, 4 * KiB, RW), 0);
    expect_pa(h, true, 3, hi + 0x10010, VTD_W, 0x7000010);
    expect_fault(h, true, 3, hi + 0x11000, VTD_R, VTD_FR_SM_FL_NOT_PRESENT);
    struct vtd_request rq = {.sid = DEV, .access = VTD_R, .pasid_valid = true, .pasid = 3, .addr = hi + 0x10000};
    struct vtd_result wr;
    unsigned fl_reads = 0;
    assert_int_equal(vtd_walk(h->t.u, &rq, &wr, count_fl_step, &fl_reads), 0);
    assert_int_equal(wr.status, VTD_OK);
    assert_int_equal(fl_reads, 5);
    assert_int_equal(vtd_drv_unmap(fl, hi + 0x10000, 4 * KiB, NULL), 0);
    expect_fault(h, true, 3, hi + 0x10010, VTD_R, VTD_FR_SM_FL_NOT_PRESENT);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_detach_pasid(h->drv, DEV, 3), 0);
    assert_int_equal(vtd_drv_domain_destroy(fl), 0);
    dh_fini(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(second_level, dh_teardown),
        cmocka_unit_test_teardown(pass_through, dh_teardown),
        cmocka_unit_test_teardown(first_level, dh_teardown),
        cmocka_unit_test_teardown(nested, dh_teardown),
        cmocka_unit_test_teardown(caching_mode, dh_teardown),
        cmocka_unit_test_teardown(non_coherent, dh_teardown),
        cmocka_unit_test_teardown(table_freeing, dh_teardown),
        cmocka_unit_test_teardown(ats_device, dh_teardown),
        cmocka_unit_test_teardown(fault_processing_disable, dh_teardown),
        cmocka_unit_test_teardown(first_level_five_level, dh_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
