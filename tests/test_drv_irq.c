/* The driver's interrupt remapping and fault handling against the model:
 * IRTEs (remapped, posted, multi-message blocks), the MSI the device is
 * programmed with, IEC invalidation, posted-interrupt descriptors, fault
 * records read, reported and cleared, overflow.  No unit diagnostic is
 * allowed. */
#include "drv_host.h"

#include <stdlib.h>
#include <string.h>

static const uint16_t DEV = SID(2, 4, 1);

static struct vtd_irq remap(struct dh *h, uint16_t sid, uint64_t addr, uint32_t data)
{
    struct vtd_msi m = { .sid = sid, .addr = addr, .data = data };
    struct vtd_irq out;
    assert_int_equal(vtd_remap_msi(h->t.u, &m, &out), 0);
    return out;
}

static void remapped_xapic(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    uint32_t idx;
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 1, &idx), 0);
    struct vtd_drv_irq_target t = { .vector = 0x41, .delivery_mode = VTD_DRV_DLM_LOWEST, .dest = 0x12,
                                    .dest_logical = true, .redir_hint = true, .level = true };
    assert_int_equal(vtd_drv_irte_set_remapped(h->drv, idx, DEV, VTD_DRV_SVT_SID, &t), 0);
    uint64_t addr;
    uint32_t data;
    assert_int_equal(vtd_drv_msi_compose(h->drv, idx, false, &addr, &data), 0);
    assert_int_equal(addr & 0xFFF00000, 0xFEE00000);
    assert_true(addr & VTD_MSI_ADDR_FORMAT);
    assert_false(addr & VTD_MSI_ADDR_SHV);
    struct vtd_irq r = remap(h, DEV, addr, data);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.kind, VTD_IRQ_REMAPPED);
    assert_int_equal(r.vector, 0x41);
    assert_int_equal(r.dest, 0x12);
    assert_int_equal(r.delivery_mode, VTD_DRV_DLM_LOWEST);
    assert_true(r.dest_logical);
    assert_true(r.redir_hint);
    assert_true(r.level_triggered);
    /* reprogram: the IEC entry the unit cached is invalidated */
    t.vector = 0x42;
    t.dest = 0x7;
    t.dest_logical = t.redir_hint = t.level = false;
    t.delivery_mode = VTD_DRV_DLM_FIXED;
    assert_int_equal(vtd_drv_irte_set_remapped(h->drv, idx, DEV, VTD_DRV_SVT_SID, &t), 0);
    r = remap(h, DEV, addr, data);
    assert_int_equal(r.vector, 0x42);
    assert_int_equal(r.dest, 0x7);
    assert_false(r.level_triggered);
    /* source validation: another requester is refused (26h) */
    r = remap(h, SID(2, 4, 2), addr, data);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_IR_SID);
    /* bus range validation: a device behind a bridge, buses 2..3 */
    assert_int_equal(vtd_drv_irte_set_remapped(h->drv, idx, (uint16_t)(2 << 8 | 3), VTD_DRV_SVT_BUS, &t), 0);
    assert_int_equal(remap(h, SID(3, 0, 0), addr, data).status, VTD_OK);
    assert_int_equal(remap(h, SID(4, 0, 0), addr, data).fault_reason, VTD_FR_IR_SID);
    /* xAPIC: 8-bit destinations only */
    t.dest = 0x100;
    assert_int_equal(vtd_drv_irte_set_remapped(h->drv, idx, DEV, VTD_DRV_SVT_SID, &t), VTD_DRV_EINVAL);
    t.dest = 1;
    t.delivery_mode = 3;
    assert_int_equal(vtd_drv_irte_set_remapped(h->drv, idx, DEV, VTD_DRV_SVT_SID, &t), VTD_DRV_EINVAL);
    t.delivery_mode = VTD_DRV_DLM_FIXED;
    /* cleared: not present (22h) */
    assert_int_equal(vtd_drv_irte_clear(h->drv, idx), 0);
    r = remap(h, DEV, addr, data);
    assert_int_equal(r.status, VTD_FAULT);
    assert_int_equal(r.fault_reason, VTD_FR_IR_NOT_PRESENT);
    /* the driver reads the interrupt faults back */
    h->nfault = 0;
    assert_int_equal(vtd_drv_fault_poll(h->drv), 3);
    assert_int_equal(h->fault[0].kind, VTD_DRV_FAULT_IRQ);
    assert_int_equal(h->fault[0].reason, VTD_FR_IR_SID);
    assert_int_equal(h->fault[0].irte_index, idx);
    assert_int_equal(h->fault[0].sid, SID(2, 4, 2));
    assert_int_equal(h->fault[2].reason, VTD_FR_IR_NOT_PRESENT);
    assert_int_equal(h->fault[2].sid, DEV);
    assert_int_equal(th_rd32(&h->t, VTD_REG_FSTS) & VTD_FSTS_PPF, 0);
    /* compatibility format is blocked (CFI = 0) */
    r = remap(h, DEV, 0xFEE01000, 0x30);
    assert_int_equal(r.fault_reason, VTD_FR_IR_COMPAT_BLOCKED);
    vtd_drv_fault_poll(h->drv);
    /* free / errors */
    assert_int_equal(vtd_drv_irte_free(h->drv, idx, 1), 0);
    assert_int_equal(vtd_drv_irte_free(h->drv, idx, 1), VTD_DRV_ENOENT);
    assert_int_equal(vtd_drv_irte_set_remapped(h->drv, idx, DEV, VTD_DRV_SVT_SID, &t), VTD_DRV_ENOENT);
    assert_int_equal(vtd_drv_msi_compose(h->drv, idx, false, &addr, &data), VTD_DRV_ENOENT);
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 3, &idx), VTD_DRV_EINVAL);
    dh_fini(h);
}

static void x2apic_multi_and_exhaustion(void **state)
{
    struct vtd_drv_config dc;
    vtd_drv_config_default(&dc);
    dc.flags = VTD_DRV_CFG_X2APIC | VTD_DRV_CFG_COMPAT_IRQ;
    dc.ir_order = 6; /* 64 entries */
    struct dh *h = dh_new(state, NULL, &dc);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    uint64_t irta = th_rd64(&h->t, VTD_REG_IRTA);
    assert_true(irta & VTD_IRTA_EIME);
    assert_int_equal(irta & VTD_IRTA_S_MASK, 5);
    assert_true(th_rd32(&h->t, VTD_REG_GSTS) & VTD_GSTS_CFIS);
    uint32_t one, blk;
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 1, &one), 0);
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 8, &blk), 0);
    assert_int_equal(blk % 8, 0);
    for (unsigned k = 0; k < 8; k++) {
        struct vtd_drv_irq_target t = { .vector = (uint8_t)(0x50 + k), .dest = 0x12345 + k };
        assert_int_equal(vtd_drv_irte_set_remapped(h->drv, blk + k, DEV, VTD_DRV_SVT_SID, &t), 0);
    }
    uint64_t addr;
    uint32_t data;
    assert_int_equal(vtd_drv_msi_compose(h->drv, blk, true, &addr, &data), 0);
    assert_true(addr & VTD_MSI_ADDR_SHV);
    for (unsigned k = 0; k < 8; k++) {
        struct vtd_irq r = remap(h, DEV, addr, data + k); /* message k of the block */
        assert_int_equal(r.status, VTD_OK);
        assert_int_equal(r.vector, 0x50 + k);
        assert_int_equal(r.dest, 0x12345 + k);
    }
    /* the table fills: 64 - 1 - 8 = 55 more single entries, then ENOSPC */
    uint32_t x;
    for (int i = 0; i < 55; i++)
        assert_int_equal(vtd_drv_irte_alloc(h->drv, 1, &x), 0);
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 1, &x), VTD_DRV_ENOSPC);
    /* IEC invalidation of a block and of everything */
    assert_int_equal(vtd_drv_iec_invalidate(h->drv, blk + 1, 3), 0);
    assert_int_equal(vtd_drv_iec_invalidate(h->drv, 0, 0), 0);
    assert_int_equal(vtd_drv_irte_free(h->drv, blk, 8), 0);
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 8, &x), 0);
    assert_int_equal(x, blk);
    struct vtd_drv_stats st;
    vtd_drv_stats(h->drv, &st);
    assert_true(st.iec_invals >= 12);
    dh_fini(h);
}

static void posted(void **state)
{
    struct dh *h = dh_new(state, NULL, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    uint64_t pid;
    assert_int_equal(vtd_drv_pid_alloc(h->drv, 0xF2, 0x05, &pid), 0);
    assert_int_equal(pid % 64, 0);
    uint32_t idx;
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 1, &idx), 0);
    assert_int_equal(vtd_drv_irte_set_posted(h->drv, idx, DEV, VTD_DRV_SVT_SID, pid, 0x33, false), 0);
    uint64_t addr;
    uint32_t data;
    assert_int_equal(vtd_drv_msi_compose(h->drv, idx, false, &addr, &data), 0);
    th_clear_logs(&h->t);
    struct vtd_irq r = remap(h, DEV, addr, data);
    assert_int_equal(r.status, VTD_OK);
    assert_int_equal(r.kind, VTD_IRQ_POSTED);
    assert_int_equal(r.vector, 0x33);
    assert_int_equal(r.pid_addr, pid);
    assert_true(r.notified);
    /* PIR bit 0x33 set, ON set, notification vector 0xF2 to APIC 5 */
    assert_int_equal(th_r64(&h->t, pid + 0) & (1ULL << 0x33), 1ULL << 0x33);
    assert_true(th_r64(&h->t, pid + 32) & VTD_PID_ON);
    assert_int_equal(h->t.nmsi, 1);
    assert_int_equal(h->t.msi[0].data, 0xF2);
    assert_int_equal(h->t.msi[0].addr, 0xFEE00000 | 0x05 << 12);
    /* ON still set: the next one only lands in PIR */
    assert_int_equal(vtd_drv_irte_set_posted(h->drv, idx, DEV, VTD_DRV_SVT_SID, pid, 0x90, true), 0);
    r = remap(h, DEV, addr, data);
    assert_false(r.notified);
    assert_true(th_r64(&h->t, pid + 16) & (1ULL << (0x90 - 128)));
    /* a caller-owned descriptor above 4 GiB */
    uint64_t mine = 0x123456780ULL;
    assert_int_equal(vtd_drv_pid_init(h->drv, mine, 0xF3, 0x09), 0);
    assert_int_equal(vtd_drv_irte_set_posted(h->drv, idx, DEV, VTD_DRV_SVT_SID, mine, 0x21, false), 0);
    r = remap(h, DEV, addr, data);
    assert_int_equal(r.pid_addr, mine);
    assert_true(r.notified);
    assert_int_equal(h->t.msi[1].data, 0xF3);
    assert_int_equal(vtd_drv_pid_init(h->drv, mine + 8, 0xF3, 0x09), VTD_DRV_EINVAL);
    assert_int_equal(vtd_drv_pid_init(h->drv, mine, 0xF3, 0x100), VTD_DRV_EINVAL); /* xAPIC */
    assert_int_equal(vtd_drv_irte_set_posted(h->drv, idx, DEV, VTD_DRV_SVT_SID, mine + 32, 1, false),
                     VTD_DRV_EINVAL);
    /* many descriptors share pages; freeing gives them back */
    uint64_t p[70];
    for (int i = 0; i < 70; i++)
        assert_int_equal(vtd_drv_pid_alloc(h->drv, 0xF0, 1, &p[i]), 0);
    for (int i = 0; i < 70; i++)
        assert_int_equal(vtd_drv_pid_free(h->drv, p[i]), 0);
    assert_int_equal(vtd_drv_pid_free(h->drv, p[0]), VTD_DRV_ENOENT);
    assert_int_equal(vtd_drv_pid_free(h->drv, pid), 0);
    dh_fini(h);
}

static void posted_needs_pi(void **state)
{
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap &= ~VTD_CAP_PI;
    struct dh *h = dh_new(state, &cfg, NULL);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    struct vtd_drv_info in;
    vtd_drv_info(h->drv, &in);
    assert_false(in.posted);
    uint32_t idx;
    assert_int_equal(vtd_drv_irte_alloc(h->drv, 1, &idx), 0);
    assert_int_equal(vtd_drv_irte_set_posted(h->drv, idx, DEV, 0, 0x1000, 1, false), VTD_DRV_ENOTSUP);
    dh_fini(h);
}

/* DMA faults: every record read, decoded, cleared; overflow; fault event. */
static void dma_faults(void **state)
{
    struct vtd_drv_config dc;
    vtd_drv_config_default(&dc);
    dc.fault_msi_addr = 0xFEE0F00CULL;
    dc.fault_msi_data = 0x4F;
    struct dh *h = dh_new(state, NULL, &dc);
    assert_int_equal(vtd_drv_enable(h->drv), 0);
    assert_int_equal(th_rd32(&h->t, VTD_REG_FECTL) & VTD_ECTL_IM, 0);
    struct vtd_drv_domain *dom;
    assert_int_equal(vtd_drv_domain_create(h->drv, NULL, &dom), 0);
    for (int f = 0; f < 8; f++)
        assert_int_equal(vtd_drv_attach(dom, SID(1, 0, f), 0), 0);
    assert_int_equal(vtd_drv_map(dom, 0x1000, 0x5000000, 4096, VTD_DRV_PROT_READ), 0);
    /* a write to a read-only page: 5h, recorded as a write */
    struct vtd_result r = dh_dma(h, SID(1, 0, 0), 0x1234, VTD_W);
    assert_int_equal(r.fault_reason, VTD_FR_NO_WRITE);
    assert_int_equal(h->t.nmsi, 1); /* the fault event */
    assert_int_equal(h->t.msi[0].addr, 0xFEE0F00CULL);
    assert_int_equal(h->t.msi[0].data, 0x4F);
    assert_int_equal(vtd_drv_fault_poll(h->drv), 1);
    assert_int_equal(h->fault[0].reason, VTD_FR_NO_WRITE);
    assert_int_equal(h->fault[0].access, VTD_DRV_ACC_WRITE);
    assert_int_equal(h->fault[0].addr, 0x1000);
    assert_int_equal(h->fault[0].record, 0);
    assert_int_equal(vtd_drv_fault_poll(h->drv), 0);
    /* a translation request to an unmapped page is no fault; an atomic is */
    struct vtd_request rq = { .sid = SID(1, 0, 1), .access = VTD_R | VTD_W, .addr = 0x1000 };
    r = th_req(&h->t, &rq);
    assert_int_equal(r.fault_reason, VTD_FR_NO_WRITE);
    /* overflow: 8 records, 9 faulting requesters */
    h->nfault = 0;
    assert_int_equal(vtd_drv_fault_poll(h->drv), 1);
    assert_int_equal(h->fault[0].access, VTD_DRV_ACC_ATOMIC);
    for (int f = 0; f < 8; f++)
        dh_dma(h, SID(1, 0, f), 0x100000 + f * 0x1000, VTD_R);
    dh_dma(h, SID(5, 0, 0), 0x2000, VTD_R); /* root not present: the 9th */
    assert_true(th_rd32(&h->t, VTD_REG_FSTS) & VTD_FSTS_PFO);
    h->nfault = 0;
    assert_int_equal(vtd_drv_fault_poll(h->drv), 9);
    int reads = 0, overflow = 0;
    for (int i = 0; i < 9; i++) {
        if (h->fault[i].kind == VTD_DRV_FAULT_OVERFLOW)
            overflow++;
        else if (h->fault[i].access == VTD_DRV_ACC_READ && h->fault[i].reason == VTD_FR_NO_READ)
            reads++;
    }
    assert_int_equal(reads, 8);
    assert_int_equal(overflow, 1);
    assert_int_equal(h->fault[8].kind, VTD_DRV_FAULT_OVERFLOW);
    /* records were read from FRI on: the first is record 2 (0 and 1 used before) */
    assert_int_equal(h->fault[0].record, 2);
    assert_int_equal(h->fault[0].addr, 0x100000);
    assert_int_equal(th_rd32(&h->t, VTD_REG_FSTS) & (VTD_FSTS_PFO | VTD_FSTS_PPF), 0);
    /* recording works again, and so does the event */
    int nmsi = h->t.nmsi;
    dh_dma(h, SID(5, 0, 0), 0x2000, VTD_R);
    assert_int_equal(h->t.nmsi, nmsi + 1);
    h->nfault = 0;
    assert_int_equal(vtd_drv_fault_poll(h->drv), 1);
    assert_int_equal(h->fault[0].reason, VTD_FR_ROOT_NOT_PRESENT);
    assert_int_equal(h->fault[0].sid, SID(5, 0, 0));
    dh_fini(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(remapped_xapic, dh_teardown),
        cmocka_unit_test_teardown(x2apic_multi_and_exhaustion, dh_teardown),
        cmocka_unit_test_teardown(posted, dh_teardown),
        cmocka_unit_test_teardown(posted_needs_pi, dh_teardown),
        cmocka_unit_test_teardown(dma_faults, dh_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
