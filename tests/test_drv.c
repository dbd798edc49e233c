/* The driver (src/drv) against the model, wired only through vtd_mmio_* and
 * the sparse memory: bring-up and shutdown, domains, attach, map / unmap /
 * translate, superpages, invalidation policy, caching mode, write-buffer
 * flushing and non-coherent walks.  Every test fails on any unit diagnostic
 * (missing invalidations, reserved bits, misprogrammed registers). */
#include "drv_host.h"

#include <stdlib.h>
#include <string.h>

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define RW (VTD_DRV_PROT_READ | VTD_DRV_PROT_WRITE)

static const uint16_t DEV = SID(0, 3, 0);

static struct vtd_drv_domain *paging_domain(struct dh *h, unsigned flags)
{
    struct vtd_drv_domain_config c;
    vtd_drv_domain_config_default(&c);
    c.flags = flags;
    struct vtd_drv_domain *dom;
    assert_int_equal(vtd_drv_domain_create(h->drv, &c, &dom), 0);
    return dom;
}

static void expect_pa(struct dh *h, uint16_t sid, uint64_t iova, uint8_t acc, uint64_t pa, uint64_t psize)
{
    struct vtd_result r = dh_dma(h, sid, iova, acc);
    if (r.status != VTD_OK)
        fail_msg("DMA 0x%llx: status %d fault 0x%x", (unsigned long long)iova, r.status, r.fault_reason);
    assert_int_equal(r.pa, pa);
    if (psize)
        assert_int_equal(r.page_size, psize);
}

static void expect_fault(struct dh *h, uint16_t sid, uint64_t iova, uint8_t acc, uint8_t reason)
{
    struct vtd_result r = dh_dma(h, sid, iova, acc);
    if (r.status != VTD_FAULT)
        fail_msg("DMA 0x%llx: status %d (pa 0x%llx), expected fault 0x%x", (unsigned long long)iova, r.status,
                 (unsigned long long)r.pa, reason);
    assert_int_equal(r.fault_reason, reason);
}

/* ---- bring-up and shutdown ---- */

static void bringup_legacy(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    struct vtd_drv_info in;
    assert_int_equal(vtd_drv_info(h->drv, &in), 0);
    assert_false(in.enabled);
    assert_false(in.scalable);
    assert_true(in.qi);
    assert_true(in.ir);
    assert_true(in.posted);
    assert_int_equal(in.domains, 65536);
    assert_int_equal(in.fault_records, 8);
    assert_int_equal(in.levels_mask, (1u << 3) | (1u << 4) | (1u << 5));
    assert_int_equal(in.page_sizes, (1ULL << 12) | (1ULL << 21) | (1ULL << 30));
    /* create touches no register but reads */
    assert_int_equal(th_rd32(&h->t, VTD_REG_GSTS), 0);

    assert_int_equal(vtd_drv_enable(h->drv), 0);
    assert_int_equal(vtd_drv_enable(h->drv), VTD_DRV_EBUSY);
    uint32_t gsts = th_rd32(&h->t, VTD_REG_GSTS);
    assert_true(gsts & VTD_GSTS_TES);
    assert_true(gsts & VTD_GSTS_RTPS);
    assert_true(gsts & VTD_GSTS_QIES);
    assert_true(gsts & VTD_GSTS_IRES);
    assert_true(gsts & VTD_GSTS_IRTPS);
    assert_false(gsts & VTD_GSTS_CFIS); /* compatibility format blocked */
    uint64_t rtaddr = th_rd64(&h->t, VTD_REG_RTADDR);
    assert_int_equal(rtaddr & VTD_RTADDR_TTM_MASK, 0); /* legacy */
    assert_true((rtaddr & VTD_RTADDR_RTA_MASK) >= DH_POOL);
    uint64_t irta = th_rd64(&h->t, VTD_REG_IRTA);
    assert_int_equal(irta & VTD_IRTA_S_MASK, 7); /* 256 entries */
    assert_false(irta & VTD_IRTA_EIME);
    assert_int_equal(th_rd64(&h->t, VTD_REG_IQA) & VTD_IQA_DW, 0);
    /* the global invalidations of bring-up reached the unit */
    assert_true(h->notices[VTD_NOTICE_CONTEXT][VTD_NOTICE_GLOBAL] >= 1);
    assert_true(h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_GLOBAL] >= 1);
    /* no device attached: a DMA faults at the root entry */
    expect_fault(h, DEV, 0x1000, VTD_R, VTD_FR_ROOT_NOT_PRESENT);
    assert_int_equal(vtd_drv_fault_poll(h->drv), 1);
    assert_int_equal(h->fault[0].kind, VTD_DRV_FAULT_DMA);
    assert_int_equal(h->fault[0].reason, VTD_FR_ROOT_NOT_PRESENT);
    assert_int_equal(h->fault[0].sid, DEV);
    assert_int_equal(h->fault[0].addr, 0x1000);
    assert_int_equal(h->fault[0].access, VTD_DRV_ACC_READ);

    assert_int_equal(vtd_drv_disable(h->drv), 0);
    assert_int_equal(th_rd32(&h->t, VTD_REG_GSTS) & (VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_IRES), 0);
    /* TE=0: DMA passes untranslated */
    expect_pa(h, DEV, 0x5000, VTD_R, 0x5000, 0);
    /* enable again: the same tables */
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    assert_true(th_rd32(&h->t, VTD_REG_GSTS) & VTD_GSTS_TES);
    dh_fini(h);
}

/* Firmware left translation, QI and IR on with other tables: enable starts clean. */
static void bringup_over_firmware(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    /* "firmware": root table, TE on */
    th_enable(&h->t);
    assert_true(th_rd32(&h->t, VTD_REG_GSTS) & VTD_GSTS_TES);
    vtd_drv_destroy(h->drv);
    assert_int_equal(vtd_drv_create(&h->ops, &h->dcfg, &h->drv), 0);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_map(dom, 0x10000, 0x7000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    expect_pa(h, DEV, 0x10010, VTD_W, 0x7000010, 4 * KiB);
    dh_fini(h);
}

static void bringup_register_invalidation(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.ecap &= ~(VTD_ECAP_QI | VTD_ECAP_IR | VTD_ECAP_EIM | VTD_ECAP_DT);
    cfg.cap &= ~VTD_CAP_PI;
    struct dh *h = dh_new(state, &cfg, NULL);
    struct vtd_drv_info in;
    vtd_drv_info(h->drv, &in);
    assert_false(in.qi);
    assert_false(in.ir);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    assert_int_equal(th_rd32(&h->t, VTD_REG_GSTS) & (VTD_GSTS_QIES | VTD_GSTS_IRES), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0x200000, 0x3000000, 8 * KiB, RW), 0);
    expect_pa(h, DEV, 0x201008, VTD_R, 0x3001008, 4 * KiB);
    assert_int_equal(vtd_drv_unmap(dom, 0x200000, 8 * KiB, NULL), 0);
    expect_fault(h, DEV, 0x201008, VTD_R, VTD_FR_NO_READ);
    struct vtd_drv_stats st;
    vtd_drv_stats(h->drv, &st);
    assert_true(st.reg_invals >= 3);
    assert_int_equal(st.qi_submits, 0);
    assert_int_equal(h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_PAGE], 1);
    /* no interrupt remapping without QI */
    uint32_t idx;
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 1, &idx), VTD_DRV_ENOTSUP);
    assert_int_equal(vtd_drv_fault_poll(h->drv), 1);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    assert_int_equal(vtd_drv_domain_destroy(dom), 0);
    dh_fini(h);
}

/* The unit runs its queue on its own schedule (qi_async): the driver's
 * polling loop must wait for the status write. */
static void run_queue(struct dh *h)
{
    vtd_qi_run(h->t.u);
}

static void async_queue(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.qi_async = true;
    struct dh *h = dh_new(state, &cfg, NULL);
    h->on_relax = run_queue;
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0x10000, 0x8000000, 4 * KiB, RW), 0);
    expect_pa(h, DEV, 0x10000, VTD_R, 0x8000000, 4 * KiB);
    int before = h->relax_calls;
    assert_int_equal(vtd_drv_unmap(dom, 0x10000, 4 * KiB, NULL), 0);
    assert_true(h->relax_calls > before); /* it had to wait */
    expect_fault(h, DEV, 0x10000, VTD_R, VTD_FR_NO_READ);
    /* a unit that never runs its queue: the wait times out */
    vtd_drv_destroy(h->drv);
    h->on_relax = NULL;
    h->dcfg.poll_limit = 50;
    assert_int_equal(vtd_drv_create(&h->ops, &h->dcfg, &h->drv), 0);
    assert_int_equal(vtd_drv_enable(h->drv), VTD_DRV_ETIMEDOUT);
    h->on_relax = run_queue;
    vtd_qi_run(h->t.u);
    dh_fini(h);
}

static void create_errors(void **state)
{
    struct dh *h = calloc(1, sizeof(*h));
    *state = h;
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.ecap &= ~VTD_ECAP_C;
    dh_init_unit(h, &cfg);
    struct vtd_drv *d;
    struct vtd_drv_ops ops = h->ops;
    ops.flush = NULL;
    assert_int_equal(vtd_drv_create(&ops, NULL, &d), VTD_DRV_ENOTSUP); /* non-coherent, no flush */
    ops = h->ops;
    ops.page_alloc = NULL;
    assert_int_equal(vtd_drv_create(&ops, NULL, &d), VTD_DRV_EINVAL);
    ops = h->ops;
    ops.lock = NULL;
    struct vtd_drv_config dc;
    vtd_drv_config_default(&dc);
    dc.flags = VTD_DRV_CFG_SCALABLE | VTD_DRV_CFG_FORCE_SCALABLE;
    assert_int_equal(vtd_drv_create(&ops, &dc, &d), VTD_DRV_ENOTSUP); /* no SMTS on this unit */
    dc.flags = VTD_DRV_CFG_SCALABLE; /* falls back to legacy */
    assert_int_equal(vtd_drv_create(&ops, &dc, &d), 0);
    struct vtd_drv_info in;
    vtd_drv_info(d, &in);
    assert_false(in.scalable);
    vtd_drv_destroy(d);
    dc.flags = 1u << 20;
    assert_int_equal(vtd_drv_create(&ops, &dc, &d), VTD_DRV_EINVAL);
    vtd_drv_config_default(&dc);
    dc.qi_order = 8;
    assert_int_equal(vtd_drv_create(&ops, &dc, &d), VTD_DRV_EINVAL);
    /* allocation failure at create */
    h->fail_page_allocs_after = 0;
    assert_int_equal(vtd_drv_create(&ops, NULL, &d), VTD_DRV_ENOMEM);
    h->fail_page_allocs_after = -1;
    assert_int_equal(h->pages_live, 0);
    assert_int_equal(h->bytes_live, 0);
    dh_no_diag(h);
    dh_fini(h);
}

/* ---- map / unmap / translate ---- */

static void map_sizes(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_domain_levels(dom), 4);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    /* 4 KiB, 2 MiB and 1 GiB leaves where alignment allows */
    assert_int_equal(vtd_drv_map(dom, 0x1000, 0x9000000, 4 * KiB, VTD_DRV_PROT_READ), 0);
    assert_int_equal(vtd_drv_map(dom, 2 * MiB, 0x20000000, 2 * MiB, RW), 0);
    assert_int_equal(vtd_drv_map(dom, 1 * GiB, 0x80000000, 1 * GiB, RW), 0);
    /* 2 MiB + 8 KiB, iova and pa aligned alike: one superpage and two small pages */
    assert_int_equal(vtd_drv_map(dom, 8 * MiB, 0x30000000, 2 * MiB + 8 * KiB, RW), 0);
    /* aligned iova, misaligned pa: 4 KiB pages only */
    assert_int_equal(vtd_drv_map(dom, 16 * MiB, 0x30801000, 2 * MiB, RW), 0);
    expect_pa(h, DEV, 0x1abc, VTD_R, 0x9000abc, 4 * KiB);
    expect_fault(h, DEV, 0x1abc, VTD_W, VTD_FR_NO_WRITE); /* read-only */
    expect_pa(h, DEV, 2 * MiB + 0x12345, VTD_W, 0x20012345, 2 * MiB);
    expect_pa(h, DEV, 1 * GiB + 0x3456789, VTD_R, 0x83456789, 1 * GiB);
    expect_pa(h, DEV, 8 * MiB + 0x100, VTD_R, 0x30000100, 2 * MiB);
    expect_pa(h, DEV, 10 * MiB + 0x1100, VTD_R, 0x30201100, 4 * KiB);
    expect_fault(h, DEV, 10 * MiB + 0x2000, VTD_R, VTD_FR_NO_READ);
    expect_pa(h, DEV, 17 * MiB, VTD_R, 0x30901000, 4 * KiB);
    uint64_t pa, ps;
    unsigned prot;
    assert_int_equal(vtd_drv_iova_to_phys(dom, 1 * GiB + 5, &pa, &prot, &ps), 0);
    assert_int_equal(pa, 0x80000005);
    assert_int_equal(ps, 1 * GiB);
    assert_int_equal(prot, RW);
    assert_int_equal(vtd_drv_iova_to_phys(dom, 0x1000, &pa, &prot, &ps), 0);
    assert_int_equal(prot, VTD_DRV_PROT_READ);
    assert_int_equal(vtd_drv_iova_to_phys(dom, 0x3000, &pa, &prot, NULL), VTD_DRV_ENOENT);
    /* errors */
    assert_int_equal(vtd_drv_map(dom, 0x1000, 0x9000000, 4 * KiB, RW), VTD_DRV_EEXIST);
    /* one page over a page or inside a superpage: the mapping stays as it was */
    assert_int_equal(vtd_drv_map(dom, 1 * GiB + 8 * KiB, 0x9000000, 4 * KiB, RW), VTD_DRV_EEXIST);
    assert_int_equal(vtd_drv_iova_to_phys(dom, 0x1000, &pa, &prot, NULL), 0);
    assert_int_equal(prot, VTD_DRV_PROT_READ);
    assert_int_equal(vtd_drv_iova_to_phys(dom, 1 * GiB + 8 * KiB, &pa, &prot, &ps), 0);
    assert_int_equal(pa, 0x80002000);
    assert_int_equal(ps, 1 * GiB);
    assert_int_equal(vtd_drv_map(dom, 2 * MiB - 4 * KiB, 0x9000000, 8 * KiB, RW), VTD_DRV_EEXIST);
    /* EEXIST left nothing behind: the first page of that range is still unmapped */
    assert_int_equal(vtd_drv_iova_to_phys(dom, 2 * MiB - 4 * KiB, &pa, &prot, NULL), VTD_DRV_ENOENT);
    assert_int_equal(vtd_drv_map(dom, 0x1001, 0x9000000, 4 * KiB, RW), VTD_DRV_EINVAL);
    assert_int_equal(vtd_drv_map(dom, 0x5000, 0x9000001, 4 * KiB, RW), VTD_DRV_EINVAL);
    assert_int_equal(vtd_drv_map(dom, 0x5000, 0x9000000, 0, RW), VTD_DRV_EINVAL);
    assert_int_equal(vtd_drv_map(dom, 0x5000, 0x9000000, 4 * KiB, 0), VTD_DRV_EINVAL);
    assert_int_equal(vtd_drv_map(dom, 1ULL << 48, 0x9000000, 4 * KiB, RW), VTD_DRV_EINVAL);
    assert_int_equal(vtd_drv_map(dom, (1ULL << 48) - 4 * KiB, 0x9000000, 8 * KiB, RW), VTD_DRV_EINVAL);
    /* SNP (ECAP.SC) */
    assert_int_equal(vtd_drv_map(dom, 0x6000, 0x9006000, 4 * KiB, RW | VTD_DRV_PROT_SNOOP), 0);
    assert_int_equal(vtd_drv_iova_to_phys(dom, 0x6000, &pa, &prot, NULL), 0);
    assert_int_equal(prot, RW | VTD_DRV_PROT_SNOOP);
    expect_pa(h, DEV, 0x6000, VTD_W, 0x9006000, 4 * KiB);

    uint64_t un;
    assert_int_equal(vtd_drv_unmap(dom, 0, 4 * GiB, &un), 0);
    assert_int_equal(un, 4 * KiB + 2 * MiB + 1 * GiB + 2 * MiB + 8 * KiB + 2 * MiB + 4 * KiB);
    expect_fault(h, DEV, 2 * MiB + 0x12345, VTD_W, VTD_FR_NO_WRITE);
    expect_fault(h, DEV, 1 * GiB + 0x3456789, VTD_R, VTD_FR_NO_READ);
    expect_fault(h, DEV, 0x1abc, VTD_R, VTD_FR_NO_READ);
    /* every table below the root went after its invalidation */
    struct vtd_drv_stats st;
    vtd_drv_stats(h->drv, &st);
    assert_int_equal(st.tables_allocated - st.tables_freed, 1);
    vtd_drv_fault_poll(h->drv);
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    assert_int_equal(vtd_drv_domain_destroy(dom), 0);
    dh_fini(h);
}

/* Depths 3 and 5; a unit without superpages. */
static void map_depths(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap &= ~VTD_CAP_SLLPS_MASK;
    struct dh *h = dh_new(state, &cfg, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    for (unsigned levels = 3; levels <= 5; levels++) {
        struct vtd_drv_domain_config c;
        vtd_drv_domain_config_default(&c);
        c.levels = levels;
        struct vtd_drv_domain *dom;
        assert_int_equal(vtd_drv_domain_create(h->drv, &c, &dom), 0);
        uint16_t sid = SID(1, levels, 0);
        assert_int_equal(vtd_drv_attach(dom, sid, 0), 0);
        uint64_t top = levels == 3 ? (1ULL << 39) : levels == 4 ? (1ULL << 48) : (1ULL << 57);
        assert_int_equal(vtd_drv_map(dom, top - 4 * MiB, 0x40000000000ULL, 4 * MiB, RW), 0);
        expect_pa(h, sid, top - 0x1000, VTD_R, 0x40000000000ULL + 4 * MiB - 0x1000, 4 * KiB);
        expect_pa(h, sid, top - 4 * MiB, VTD_R, 0x40000000000ULL, 4 * KiB); /* no SLLPS: 4 KiB */
        assert_int_equal(vtd_drv_map(dom, top, 0, 4 * KiB, RW), VTD_DRV_EINVAL);
        assert_int_equal(vtd_drv_unmap(dom, top - 4 * MiB, 4 * MiB, NULL), 0);
        expect_fault(h, sid, top - 0x1000, VTD_R, VTD_FR_NO_READ);
        assert_int_equal(vtd_drv_detach(h->drv, sid), 0);
        assert_int_equal(vtd_drv_domain_destroy(dom), 0);
    }
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

static void superpage_split(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 1 * GiB, 0x140000000ULL, 1 * GiB, RW), 0);
    expect_pa(h, DEV, 1 * GiB + 0x1000, VTD_R, 0x140001000ULL, 1 * GiB); /* cached as 1 GiB */
    /* punch 4 KiB out of the middle: 1 GiB -> 2 MiB pages -> 4 KiB pages */
    uint64_t hole = 1 * GiB + 300 * MiB + 0x5000;
    uint64_t un;
    assert_int_equal(vtd_drv_unmap(dom, hole, 4 * KiB, &un), 0);
    assert_int_equal(un, 4 * KiB);
    expect_fault(h, DEV, hole, VTD_R, VTD_FR_NO_READ);
    expect_fault(h, DEV, hole + 0xFFF, VTD_W, VTD_FR_NO_WRITE);
    expect_pa(h, DEV, hole - 0x1000, VTD_R, 0x140000000ULL + 300 * MiB + 0x4000, 4 * KiB);
    expect_pa(h, DEV, hole + 0x1000, VTD_R, 0x140000000ULL + 300 * MiB + 0x6000, 4 * KiB);
    expect_pa(h, DEV, 1 * GiB + 0x1000, VTD_R, 0x140001000ULL, 2 * MiB);
    expect_pa(h, DEV, 2 * GiB - 1, VTD_R, 0x17FFFFFFFULL, 2 * MiB);
    struct vtd_drv_stats st;
    vtd_drv_stats(h->drv, &st);
    assert_int_equal(st.superpage_splits, 2);
    /* unmapping the rest of the 2 MiB piece empties and frees that table */
    uint64_t piece = 1 * GiB + 300 * MiB;
    assert_int_equal(vtd_drv_unmap(dom, piece & ~(2 * MiB - 1), 2 * MiB, &un), 0);
    assert_int_equal(un, 2 * MiB - 4 * KiB);
    vtd_drv_stats(h->drv, &st);
    assert_int_equal(st.tables_freed, 1);
    expect_fault(h, DEV, hole + 0x2000, VTD_R, VTD_FR_NO_READ);
    /* map over a split region again, then a superpage comes back */
    assert_int_equal(vtd_drv_map(dom, piece & ~(2 * MiB - 1), 0x200000000ULL, 2 * MiB, RW), 0);
    expect_pa(h, DEV, hole, VTD_R, 0x200000000ULL + (hole & (2 * MiB - 1)), 2 * MiB);
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

/* ---- invalidation policy ---- */

static void invalidation_granularity(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap = (cfg.cap & ~VTD_CAP_MAMV_MASK) | (2ULL << VTD_CAP_MAMV_SHIFT); /* up to 4 pages */
    struct dh *h = dh_new(state, &cfg, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0, 0x10000000, 64 * KiB, RW), 0);
    int psi = h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_PAGE];
    int dsi = h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_DOMAIN];
    /* [0x5000, 0x7000): covered by the aligned 4-page block at 0x4000 */
    assert_int_equal(vtd_drv_unmap(dom, 0x5000, 8 * KiB, NULL), 0);
    assert_int_equal(h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_PAGE], psi + 1);
    assert_int_equal(h->last_psi_addr, 0x4000);
    assert_int_equal(h->last_psi_size, 16 * KiB);
    /* [0x3000, 0x5000) crosses a 16 KiB boundary: needs 8 pages > MAMV: domain-selective */
    assert_int_equal(vtd_drv_unmap(dom, 0x3000, 8 * KiB, NULL), 0);
    assert_int_equal(h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_DOMAIN], dsi + 1);
    expect_fault(h, DEV, 0x3000, VTD_R, VTD_FR_NO_READ);
    expect_fault(h, DEV, 0x6000, VTD_R, VTD_FR_NO_READ);
    expect_pa(h, DEV, 0x7000, VTD_R, 0x10007000, 4 * KiB);
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

static void invalidation_without_psi(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap &= ~VTD_CAP_PSI;
    struct dh *h = dh_new(state, &cfg, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0, 0x10000000, 8 * KiB, RW), 0);
    expect_pa(h, DEV, 0x1000, VTD_R, 0x10001000, 4 * KiB);
    assert_int_equal(vtd_drv_unmap(dom, 0x1000, 4 * KiB, NULL), 0);
    assert_int_equal(h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_PAGE], 0);
    assert_true(h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_DOMAIN] >= 1);
    expect_fault(h, DEV, 0x1000, VTD_R, VTD_FR_NO_READ);
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

/* ---- deferred mode ---- */

static int nretired;
static uint64_t retired_bytes;
static void on_retire(void *arg, uint64_t iova, uint64_t size)
{
    (void)arg, (void)iova;
    nretired++;
    retired_bytes += size;
}

static void deferred_flush_queue(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain_config c;
    vtd_drv_domain_config_default(&c);
    c.flags = VTD_DRV_DOM_DEFERRED;
    c.fq_max_entries = 4;
    c.fq_max_age = 100;
    c.retire = on_retire;
    nretired = 0;
    retired_bytes = 0;
    struct vtd_drv_domain *dom;
    assert_int_equal(vtd_drv_domain_create(h->drv, &c, &dom), 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0, 0x10000000, 64 * KiB, RW), 0);
    for (uint64_t a = 0; a < 64 * KiB; a += 4 * KiB)
        expect_pa(h, DEV, a, VTD_R, 0x10000000 + a, 4 * KiB);
    int iotlb0 = h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_PAGE] + h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_DOMAIN];
    /* three unmaps: queued, nothing invalidated, nothing retired */
    for (int i = 0; i < 3; i++)
        assert_int_equal(vtd_drv_unmap(dom, i * 4 * KiB, 4 * KiB, NULL), 0);
    assert_int_equal(vtd_drv_flush_pending(dom), 3);
    assert_int_equal(nretired, 0);
    assert_int_equal(h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_PAGE] + h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_DOMAIN],
                     iotlb0);
    /* the fourth fills the queue: one invalidation retires all four */
    assert_int_equal(vtd_drv_unmap(dom, 3 * 4 * KiB, 4 * KiB, NULL), 0);
    assert_int_equal(vtd_drv_flush_pending(dom), 0);
    assert_int_equal(nretired, 4);
    assert_int_equal(h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_PAGE] + h->notices[VTD_NOTICE_IOTLB][VTD_NOTICE_DOMAIN],
                     iotlb0 + 1);
    assert_int_equal(h->last_psi_addr, 0);
    assert_int_equal(h->last_psi_size, 16 * KiB);
    for (uint64_t a = 0; a < 16 * KiB; a += 4 * KiB)
        expect_fault(h, DEV, a, VTD_R, VTD_FR_NO_READ);
    /* age bound: queued at t=1000, still there at 1099, flushed by the poll at 1100 */
    h->now = 1000;
    assert_int_equal(vtd_drv_unmap(dom, 16 * KiB, 4 * KiB, NULL), 0);
    h->now = 1099;
    assert_int_equal(vtd_drv_flush_poll(h->drv), 0);
    assert_int_equal(vtd_drv_flush_pending(dom), 1);
    h->now = 1100;
    assert_int_equal(vtd_drv_flush_poll(h->drv), 0);
    assert_int_equal(vtd_drv_flush_pending(dom), 0);
    expect_fault(h, DEV, 16 * KiB, VTD_R, VTD_FR_NO_READ);
    /* an old entry also goes with the next unmap */
    assert_int_equal(vtd_drv_unmap(dom, 20 * KiB, 4 * KiB, NULL), 0);
    h->now = 1300;
    assert_int_equal(vtd_drv_unmap(dom, 24 * KiB, 4 * KiB, NULL), 0);
    assert_int_equal(vtd_drv_flush_pending(dom), 0);
    /* explicit flush */
    assert_int_equal(vtd_drv_unmap(dom, 28 * KiB, 4 * KiB, NULL), 0);
    assert_int_equal(vtd_drv_flush_pending(dom), 1);
    assert_int_equal(vtd_drv_flush(dom), 0);
    assert_int_equal(vtd_drv_flush_pending(dom), 0);
    expect_fault(h, DEV, 28 * KiB, VTD_R, VTD_FR_NO_READ);
    /* reusing a queued range flushes it first, so the new mapping is seen */
    assert_int_equal(vtd_drv_unmap(dom, 32 * KiB, 4 * KiB, NULL), 0);
    assert_int_equal(vtd_drv_map(dom, 32 * KiB, 0x20000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_flush_pending(dom), 0);
    expect_pa(h, DEV, 32 * KiB, VTD_R, 0x20000000, 4 * KiB);
    assert_int_equal(retired_bytes, 9 * 4 * KiB);
    /* unmapping everything frees the tables only at the flush */
    struct vtd_drv_stats st0, st1;
    vtd_drv_stats(h->drv, &st0);
    assert_int_equal(vtd_drv_unmap(dom, 0, 64 * KiB, NULL), 0);
    vtd_drv_stats(h->drv, &st1);
    assert_int_equal(st1.tables_freed, st0.tables_freed);
    assert_int_equal(vtd_drv_flush(dom), 0);
    vtd_drv_stats(h->drv, &st1);
    assert_int_equal(st1.tables_freed, st0.tables_freed + 3);
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

/* A deferred unmap that empties a table leaves the unit's paging-structure
 * caches pointing into it for the table's whole span: a map of a different
 * page of that span must flush the queue first (found by test_drv_random). */
static void deferred_emptied_table_span(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, VTD_DRV_DOM_DEFERRED);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    /* the only page of its 2 MiB region: its leaf table empties on unmap */
    assert_int_equal(vtd_drv_map(dom, 0x400000, 0x30000000, 4 * KiB, RW), 0);
    expect_pa(h, DEV, 0x400000, VTD_R, 0x30000000, 4 * KiB); /* the unit caches the walk */
    assert_int_equal(vtd_drv_unmap(dom, 0x400000, 4 * KiB, NULL), 0);
    assert_int_equal(vtd_drv_flush_pending(dom), 1);
    /* another page of the same 2 MiB: a new leaf table, seen by the unit */
    assert_int_equal(vtd_drv_map(dom, 0x5ff000, 0x31000000, 4 * KiB, RW), 0);
    expect_pa(h, DEV, 0x5ff010, VTD_W, 0x31000010, 4 * KiB);
    assert_int_equal(vtd_drv_flush_pending(dom), 0);
    expect_fault(h, DEV, 0x400000, VTD_R, VTD_FR_NO_READ);
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

/* Strict unmap sets IH (keep the paging-structure caches) only when it
 * changed leaves alone: not when it unlinked a table (even one whose span is
 * exactly the range) nor when it split a superpage.  check_stale (on in
 * dh_new) reports any translation the caches would answer differently. */
static void strict_invalidation_hint(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0x400000, 0x30000000, 8 * KiB, RW), 0);
    expect_pa(h, DEV, 0x400000, VTD_R, 0x30000000, 4 * KiB);
    expect_pa(h, DEV, 0x401000, VTD_R, 0x30001000, 4 * KiB);
    /* a leaf of a table that keeps another: IH=1, the other still translates */
    assert_int_equal(vtd_drv_unmap(dom, 0x401000, 4 * KiB, NULL), 0);
    assert_int_equal(h->last_psi_addr, 0x401000);
    assert_true(h->last_psi_ih);
    expect_fault(h, DEV, 0x401000, VTD_R, VTD_FR_NO_READ);
    expect_pa(h, DEV, 0x400008, VTD_R, 0x30000008, 4 * KiB);
    /* the last leaf: its table is unlinked, IH=0 */
    assert_int_equal(vtd_drv_unmap(dom, 0x400000, 4 * KiB, NULL), 0);
    assert_false(h->last_psi_ih);
    expect_fault(h, DEV, 0x400000, VTD_R, VTD_FR_NO_READ);
    /* a new table for the same 2 MiB: the unit walks it, not the freed one */
    assert_int_equal(vtd_drv_map(dom, 0x5ff000, 0x31000000, 4 * KiB, RW), 0);
    expect_pa(h, DEV, 0x5ff010, VTD_W, 0x31000010, 4 * KiB);
    /* 2 MiB of 4 KiB pages (pa not 2 MiB aligned): unmapping all of them
     * unlinks their table although the span is exactly the range */
    assert_int_equal(vtd_drv_map(dom, 0x600000, 0x32001000, 2 * MiB, RW), 0);
    expect_pa(h, DEV, 0x7ff000, VTD_R, 0x32200000, 4 * KiB);
    assert_int_equal(vtd_drv_unmap(dom, 0x600000, 2 * MiB, NULL), 0);
    assert_int_equal(h->last_psi_addr, 0x600000);
    assert_int_equal(h->last_psi_size, 2 * MiB);
    assert_false(h->last_psi_ih);
    expect_fault(h, DEV, 0x7ff000, VTD_R, VTD_FR_NO_READ);
    /* a 2 MiB superpage partly unmapped: split, IH=0 */
    assert_int_equal(vtd_drv_map(dom, 0x800000, 0x34000000, 2 * MiB, RW), 0);
    expect_pa(h, DEV, 0x800000, VTD_R, 0x34000000, 2 * MiB);
    assert_int_equal(vtd_drv_unmap(dom, 0x800000, 4 * KiB, NULL), 0);
    assert_false(h->last_psi_ih);
    expect_fault(h, DEV, 0x800000, VTD_R, VTD_FR_NO_READ);
    expect_pa(h, DEV, 0x801000, VTD_R, 0x34001000, 4 * KiB);
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

/* ---- caching mode, write-buffer flushing, non-coherent walks ---- */

static void caching_mode(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap |= VTD_CAP_CM;
    struct dh *h = dh_new(state, &cfg, NULL);
    struct vtd_drv_info in;
    vtd_drv_info(h->drv, &in);
    assert_true(in.caching_mode);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_domain_id(dom), 1); /* DID 0 is reserved */
    /* the unit caches the not-present context entry (bus 0 has a context
     * table once another device there is attached)... */
    assert_int_equal(vtd_drv_map(dom, 0x4000, 0x11000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_attach(dom, SID(0, 9, 0), 0), 0);
    expect_fault(h, DEV, 0x4000, VTD_R, VTD_FR_CTX_NOT_PRESENT);
    /* ...and attach invalidates it */
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    expect_pa(h, DEV, 0x4000, VTD_R, 0x11000000, 4 * KiB);
    /* a not-present leaf gets cached; map invalidates it */
    expect_fault(h, DEV, 0x8000, VTD_R, VTD_FR_NO_READ);
    assert_int_equal(vtd_drv_map(dom, 0x8000, 0x12000000, 4 * KiB, RW), 0);
    expect_pa(h, DEV, 0x8000, VTD_R, 0x12000000, 4 * KiB);
    assert_int_equal(vtd_drv_unmap(dom, 0x8000, 4 * KiB, NULL), 0);
    expect_fault(h, DEV, 0x8000, VTD_R, VTD_FR_NO_READ);
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

static void write_buffer_flush(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap |= VTD_CAP_RWBF;
    struct dh *h = dh_new(state, &cfg, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    struct vtd_drv_stats st0, st1;
    vtd_drv_stats(h->drv, &st0);
    assert_int_equal(vtd_drv_map(dom, 0x4000, 0x11000000, 4 * KiB, RW), 0);
    vtd_drv_stats(h->drv, &st1);
    assert_int_equal(st1.wbf, st0.wbf + 1);
    expect_pa(h, DEV, 0x4000, VTD_R, 0x11000000, 4 * KiB);
    dh_fini(h);
    /* without RWBF: no WBF at all (the unit would report VTD_DIAG_WBF_UNNEEDED) */
    struct dh h2;
    dh_init(&h2, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h2.drv), 0);
    dom = paging_domain(&h2, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0x4000, 0x11000000, 4 * KiB, RW), 0);
    vtd_drv_stats(h2.drv, &st1);
    assert_int_equal(st1.wbf, 0);
    dh_fini(&h2);
}

static void non_coherent_walks(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.ecap &= ~VTD_ECAP_C;
    struct dh *h = calloc(1, sizeof(*h));
    *state = h;
    dh_init(h, &cfg, NULL);
    h->check_flush = true;
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0, 0x10000000, 4 * MiB, RW), 0);
    expect_pa(h, DEV, 2 * MiB + 0x1000, VTD_R, 0x10201000, 2 * MiB);
    assert_int_equal(vtd_drv_unmap(dom, 2 * MiB + 0x1000, 4 * KiB, NULL), 0); /* split */
    expect_fault(h, DEV, 2 * MiB + 0x1000, VTD_R, VTD_FR_NO_READ);
    uint32_t idx;
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 1, &idx), 0);
    struct vtd_drv_irq_target tg = { .vector = 0x40, .dest = 3 };
    assert_int_equal(vtd_drv_irte_set_remapped(h->drv, idx, DEV, VTD_DRV_SVT_SID, &tg), 0);
    assert_true(h->nflush > 0);
    assert_int_equal(h->ndirty, 0);
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

/* ---- domains and attachment ---- */

static void domain_ids(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap &= ~VTD_CAP_ND_MASK; /* ND = 0: 16 domains */
    struct dh *h = dh_new(state, &cfg, NULL);
    struct vtd_drv_domain *dom[17];
    for (int i = 0; i < 16; i++) {
        assert_int_equal(vtd_drv_domain_create(h->drv, NULL, &dom[i]), 0);
        assert_int_equal(vtd_drv_domain_id(dom[i]), i);
    }
    assert_int_equal(vtd_drv_domain_create(h->drv, NULL, &dom[16]), VTD_DRV_ENOSPC);
    assert_int_equal(vtd_drv_domain_destroy(dom[5]), 0);
    assert_int_equal(vtd_drv_domain_create(h->drv, NULL, &dom[5]), 0);
    assert_int_equal(vtd_drv_domain_id(dom[5]), 5);
    dh_fini(h);
    /* caching mode: 15 */
    cfg.cap |= VTD_CAP_CM;
    struct dh h2;
    dh_init(&h2, &cfg, NULL);
    for (int i = 0; i < 15; i++) {
        assert_int_equal(vtd_drv_domain_create(h2.drv, NULL, &dom[i]), 0);
        assert_int_equal(vtd_drv_domain_id(dom[i]), i + 1);
    }
    assert_int_equal(vtd_drv_domain_create(h2.drv, NULL, &dom[15]), VTD_DRV_ENOSPC);
    struct vtd_drv_domain_config c;
    vtd_drv_domain_config_default(&c);
    c.type = VTD_DRV_DOM_FIRST_LEVEL;
    assert_int_equal(vtd_drv_domain_create(h2.drv, &c, &dom[15]), VTD_DRV_ENOTSUP); /* legacy mode */
    assert_int_equal(vtd_drv_invalidate_pasid(h2.drv, SID(0, 3, 0), 1, 0, 0, 0), VTD_DRV_ENOTSUP); /* legacy */
    c.type = 99;
    assert_int_equal(vtd_drv_domain_create(h2.drv, &c, &dom[15]), VTD_DRV_EINVAL);
    dh_fini(&h2);
}

static void attach_detach(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *a = paging_domain(h, 0), *b = paging_domain(h, 0);
    assert_int_equal(vtd_drv_map(a, 0x1000, 0x21000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_map(b, 0x1000, 0x22000000, 4 * KiB, RW), 0);
    uint16_t s1 = SID(0, 1, 0), s2 = SID(5, 0x1f, 7), s3 = SID(0, 1, 1);
    assert_int_equal(vtd_drv_attach(a, s1, 0), 0);
    assert_int_equal(vtd_drv_attach(b, s2, 0), 0);
    assert_int_equal(vtd_drv_attach(a, s3, 0), 0);
    assert_int_equal(vtd_drv_attach(b, s1, 0), VTD_DRV_EEXIST);
    assert_ptr_equal(vtd_drv_domain_of(h->drv, s1), a);
    assert_ptr_equal(vtd_drv_domain_of(h->drv, s2), b);
    assert_null(vtd_drv_domain_of(h->drv, SID(9, 0, 0)));
    expect_pa(h, s1, 0x1000, VTD_R, 0x21000000, 4 * KiB);
    expect_pa(h, s3, 0x1000, VTD_R, 0x21000000, 4 * KiB);
    expect_pa(h, s2, 0x1000, VTD_R, 0x22000000, 4 * KiB);
    assert_int_equal(vtd_drv_domain_destroy(a), VTD_DRV_EBUSY);
    /* detach: the cached context entry must not survive */
    assert_int_equal(vtd_drv_detach(h->drv, s1), 0);
    assert_int_equal(vtd_drv_detach(h->drv, s1), VTD_DRV_ENOENT);
    expect_fault(h, s1, 0x1000, VTD_R, VTD_FR_CTX_NOT_PRESENT);
    expect_pa(h, s3, 0x1000, VTD_R, 0x21000000, 4 * KiB);
    /* move s1 to b */
    assert_int_equal(vtd_drv_attach(b, s1, 0), 0);
    expect_pa(h, s1, 0x1000, VTD_R, 0x22000000, 4 * KiB);
    /* FPD: the fault is not recorded */
    assert_int_equal(vtd_drv_detach(h->drv, s2), 0);
    assert_int_equal(vtd_drv_attach(b, s2, VTD_DRV_ATTACH_FPD), 0);
    struct vtd_result r = dh_dma(h, s2, 0x9000, VTD_R);
    assert_int_equal(r.status, VTD_FAULT);
    assert_false(r.fault_recorded);
    assert_int_equal(vtd_drv_attach(b, SID(1, 1, 1), 1u << 7), VTD_DRV_EINVAL);
    vtd_drv_fault_poll(h->drv);
    dh_fini(h);
}

static void passthrough_domain(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain_config c;
    vtd_drv_domain_config_default(&c);
    c.type = VTD_DRV_DOM_PASSTHROUGH;
    struct vtd_drv_domain *pt;
    assert_int_equal(vtd_drv_domain_create(h->drv, &c, &pt), 0);
    assert_int_equal(vtd_drv_domain_root(pt), 0);
    assert_int_equal(vtd_drv_attach(pt, DEV, 0), 0);
    expect_pa(h, DEV, 0x123456789ULL, VTD_W, 0x123456789ULL, 0);
    assert_int_equal(vtd_drv_map(pt, 0, 0, 4 * KiB, RW), VTD_DRV_EINVAL);
    assert_int_equal(vtd_drv_attach(pt, SID(0, 4, 0), VTD_DRV_ATTACH_ATS), VTD_DRV_ENOTSUP);
    /* without ECAP.PT */
    dh_fini(h);
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.ecap &= ~VTD_ECAP_PT;
    struct dh h2;
    dh_init(&h2, &cfg, NULL);
    assert_int_equal(vtd_drv_domain_create(h2.drv, &c, &pt), VTD_DRV_ENOTSUP);
    dh_fini(&h2);
}

/* A device with a device-TLB: TT=01, unmaps reach the endpoint. */
static void ats_device(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, VTD_DRV_ATTACH_ATS), 0);
    assert_int_equal(vtd_drv_map(dom, 0x40000, 0x23000000, 16 * KiB, RW), 0);
    struct vtd_request rq = { .sid = DEV, .at = VTD_AT_TRANSLATION_REQ, .access = VTD_W, .addr = 0x41000 };
    struct vtd_result r = th_req(&h->t, &rq);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.pa, 0x23001000);
    assert_int_equal(r.perm, VTD_R | VTD_W);
    assert_int_equal(vtd_drv_unmap(dom, 0x41000, 8 * KiB, NULL), 0);
    assert_int_equal(h->ndevtlb, 1);
    assert_int_equal(h->devtlb_sid, DEV);
    assert_int_equal(h->devtlb_addr, 0x40000);
    assert_int_equal(h->devtlb_size, 16 * KiB);
    assert_int_equal(vtd_drv_unmap(dom, 0x40000, 4 * KiB, NULL), 0);
    assert_int_equal(h->devtlb_addr, 0x40000);
    assert_int_equal(h->devtlb_size, 4 * KiB);
    r = th_req(&h->t, &rq);
    assert_int_equal(r.perm, 0);
    /* detach invalidates the whole device-TLB */
    assert_int_equal(vtd_drv_detach(h->drv, DEV), 0);
    assert_int_equal(h->ndevtlb, 3);
    assert_int_equal(h->devtlb_size, 0);
    dh_fini(h);
}

static void timeout_hook(struct dh *h)
{
    if (h->relax_calls == 5)
        vtd_devtlb_timeout(h->t.u);
}

static void devtlb_timeout(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, VTD_DRV_ATTACH_ATS), 0);
    assert_int_equal(vtd_drv_map(dom, 0x40000, 0x23000000, 4 * KiB, RW), 0);
    h->devtlb_pending = 1;
    h->relax_calls = 0;
    h->on_relax = timeout_hook;
    assert_int_equal(vtd_drv_unmap(dom, 0x40000, 4 * KiB, NULL), VTD_DRV_ETIMEDOUT);
    assert_int_equal(h->nfault, 1);
    assert_int_equal(h->fault[0].kind, VTD_DRV_FAULT_ITE);
    assert_int_equal(h->fault[0].sid, DEV);
    assert_int_equal(th_rd32(&h->t, VTD_REG_FSTS) & VTD_FSTS_ITE, 0);
    /* the unit's diag for the time-out is expected here, and only that */
    assert_true(th_has_diag(&h->t, VTD_DIAG_QI_DEVTLB_TIMEOUT));
    th_clear_logs(&h->t);
    /* the queue works again */
    h->on_relax = NULL;
    assert_int_equal(vtd_drv_map(dom, 0x40000, 0x23000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_unmap(dom, 0x40000, 4 * KiB, NULL), 0);
    dh_fini(h);
}

/* A corrupted descriptor in the queue: IQE reported and recovered. */
static void queue_error(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    uint64_t iqa = th_rd64(&h->t, VTD_REG_IQA) & VTD_IQA_IQA_MASK;
    uint64_t tail = th_rd64(&h->t, VTD_REG_IQT);
    /* type 0 is no descriptor: IQE with IQEI = 3 */
    th_w64(&h->t, iqa + tail, 0);
    th_w64(&h->t, iqa + tail + 8, 0);
    th_wr64(&h->t, VTD_REG_IQT, tail + 16);
    assert_true(th_rd32(&h->t, VTD_REG_FSTS) & VTD_FSTS_IQE);
    assert_true(th_has_diag(&h->t, VTD_DIAG_QI_DESC_TYPE));
    th_clear_logs(&h->t);
    assert_int_equal(vtd_drv_fault_poll(h->drv), 1);
    assert_int_equal(h->fault[0].kind, VTD_DRV_FAULT_IQE);
    assert_int_equal(h->fault[0].iqei, VTD_IQEI_TYPE);
    assert_int_equal(h->fault[0].iqh, tail);
    assert_int_equal(th_rd32(&h->t, VTD_REG_FSTS) & VTD_FSTS_IQE, 0);
    assert_int_equal(th_rd64(&h->t, VTD_REG_IQH), tail + 16);
    /* the driver's queue position is behind the unit's: it resynchronises
     * only through its own tail, so re-create to continue */
    vtd_drv_destroy(h->drv);
    assert_int_equal(vtd_drv_create(&h->ops, &h->dcfg, &h->drv), 0);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0, 0x10000000, 4 * KiB, RW), 0);
    assert_int_equal(vtd_drv_unmap(dom, 0, 4 * KiB, NULL), 0);
    dh_fini(h);
}

static void leaks_and_nomem(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_domain *dom = paging_domain(h, 0);
    assert_int_equal(vtd_drv_attach(dom, DEV, 0), 0);
    /* a map that runs out of pages half way leaves nothing mapped */
    h->fail_page_allocs_after = 2;
    assert_int_equal(vtd_drv_map(dom, 0, 0x10000000, 8 * MiB + 4 * KiB, RW), VTD_DRV_ENOMEM);
    h->fail_page_allocs_after = -1;
    uint64_t pa;
    unsigned prot;
    for (uint64_t a = 0; a < 8 * MiB + 4 * KiB; a += 2 * MiB)
        assert_int_equal(vtd_drv_iova_to_phys(dom, a, &pa, &prot, NULL), VTD_DRV_ENOENT);
    struct vtd_drv_stats st;
    vtd_drv_stats(h->drv, &st);
    assert_int_equal(st.tables_allocated - st.tables_freed, 1);
    assert_int_equal(vtd_drv_map(dom, 0, 0x10000000, 8 * MiB + 4 * KiB, RW), 0);
    expect_pa(h, DEV, 8 * MiB, VTD_R, 0x10800000, 4 * KiB);
    /* destroy with domains and devices still there frees everything (dh_fini checks) */
    dh_fini(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(bringup_legacy, dh_teardown),
        cmocka_unit_test_teardown(bringup_over_firmware, dh_teardown),
        cmocka_unit_test_teardown(bringup_register_invalidation, dh_teardown),
        cmocka_unit_test_teardown(async_queue, dh_teardown),
        cmocka_unit_test_teardown(create_errors, dh_teardown),
        cmocka_unit_test_teardown(map_sizes, dh_teardown),
        cmocka_unit_test_teardown(map_depths, dh_teardown),
        cmocka_unit_test_teardown(superpage_split, dh_teardown),
        cmocka_unit_test_teardown(invalidation_granularity, dh_teardown),
        cmocka_unit_test_teardown(invalidation_without_psi, dh_teardown),
        cmocka_unit_test_teardown(deferred_flush_queue, dh_teardown),
        cmocka_unit_test_teardown(caching_mode, dh_teardown),
        cmocka_unit_test_teardown(write_buffer_flush, dh_teardown),
        cmocka_unit_test_teardown(non_coherent_walks, dh_teardown),
        cmocka_unit_test_teardown(domain_ids, dh_teardown),
        cmocka_unit_test_teardown(attach_detach, dh_teardown),
        cmocka_unit_test_teardown(passthrough_domain, dh_teardown),
        cmocka_unit_test_teardown(ats_device, dh_teardown),
        cmocka_unit_test_teardown(devtlb_timeout, dh_teardown),
        cmocka_unit_test_teardown(queue_error, dh_teardown),
        cmocka_unit_test_teardown(leaks_and_nomem, dh_teardown),
        cmocka_unit_test_teardown(deferred_emptied_table_span, dh_teardown),
        cmocka_unit_test_teardown(strict_invalidation_hint, dh_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
