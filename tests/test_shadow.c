/* Shadowing for VMMs (caching mode): a shadow of a guest's second-level
 * tables kept only from invalidation notices (vtd_host.inval_notify) and
 * vtd_mappings() must equal the guest's tables after every invalidation, over
 * a long random sequence of maps and unmaps of 4 KiB and 2 MiB pages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define REGIONS 8                  /* 2 MiB regions in the window */
#define PAGES (REGIONS * 512)      /* 4 KiB pages in the window */
#define WINDOW ((uint64_t)PAGES << 12)
#define DID 5
#define DEV SID(0, 2, 0)
#define OPS 3000

struct shadow_test {
    uint64_t root;
    uint64_t exp[PAGES];  /* the guest's truth: pa | perm per 4 KiB page, 0 unmapped */
    uint64_t sh[PAGES];   /* the VMM's shadow */
    int mode[REGIONS];    /* 0 empty, 1 page table, 2 2 MiB leaf */
    uint64_t pt[REGIONS]; /* page table of a region in mode 1 */
    unsigned notices, walks;
    uint64_t seed;
};

static uint64_t rnd(struct shadow_test *s)
{
    s->seed ^= s->seed << 13;
    s->seed ^= s->seed >> 7;
    s->seed ^= s->seed << 17;
    return s->seed;
}

static int add_mapping(void *arg, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm)
{
    struct shadow_test *s = arg;
    for (uint64_t off = 0; off < size; off += VTD_PAGE_SIZE) {
        uint64_t page = (iova + off) >> 12;
        if (page < PAGES)
            s->sh[page] = (pa + off) | perm;
    }
    return 0;
}

static void resync(struct th *t, struct shadow_test *s, uint64_t addr, uint64_t size)
{
    uint64_t end = addr + size;
    if (addr >= WINDOW)
        return;
    if (end > WINDOW || end < addr)
        end = WINDOW;
    for (uint64_t p = addr >> 12; p < end >> 12; p++)
        s->sh[p] = 0;
    s->walks++;
    int rc = vtd_mappings(t->u, DEV, addr, end - addr, add_mapping, s);
    assert_int_equal(rc, 0);
}

static void on_notice(struct th *t, const struct vtd_inval_notice *n)
{
    struct shadow_test *s = t->user;
    s->notices++;
    if (n->cache == VTD_NOTICE_IOTLB && n->granularity == VTD_NOTICE_PAGE) {
        if (n->did == DID)
            resync(t, s, n->addr, n->size);
    } else if (n->granularity == VTD_NOTICE_GLOBAL || n->did == DID ||
               (n->granularity == VTD_NOTICE_DEVICE && n->sid == DEV)) {
        resync(t, s, 0, WINDOW);
    }
}

static void psi(struct th *t, uint64_t addr, unsigned am)
{
    th_wr64(t, t->iro, addr | am);
    th_wr64(t, t->iro + 8,
            VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_PAGE << VTD_IOTLB_IIRG_SHIFT | (uint64_t)DID << VTD_IOTLB_DID_SHIFT);
    assert_int_equal(VTD_FIELD_GET(th_rd64(t, t->iro + 8), 58, 57), VTD_IOTLB_PAGE);
}

static void domain_inval(struct th *t)
{
    th_wr64(t, t->iro + 8,
            VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_DOMAIN << VTD_IOTLB_IIRG_SHIFT | (uint64_t)DID << VTD_IOTLB_DID_SHIFT);
}

static uint64_t pde_addr(struct th *t, struct shadow_test *s, unsigned r)
{
    uint64_t a = th_pte_addr(t, s->root, 4, (uint64_t)r << 21, 2);
    assert_true(a != 0);
    return a;
}

static uint64_t perm_of(struct shadow_test *s)
{
    static const uint64_t perms[3] = {VTD_SL_R, VTD_SL_W, VTD_SL_R | VTD_SL_W};
    return perms[rnd(s) % 3];
}

/* One guest operation on region r, followed by the invalidation a driver
 * must issue under caching mode; returns nothing, updates s->exp. */
static void guest_op(struct th *t, struct shadow_test *s)
{
    unsigned r = (unsigned)(rnd(s) % REGIONS);
    uint64_t base = (uint64_t)r << 21;
    uint64_t pa_base = 0x80000000ULL + (rnd(s) % 4096) * (2ULL << 20);
    switch (s->mode[r]) {
    case 0:
        if (rnd(s) & 1) { /* map a 2 MiB page */
            uint64_t perm = perm_of(s);
            th_w64(t, pde_addr(t, s, r), pa_base | VTD_SL_PS | perm);
            for (unsigned i = 0; i < 512; i++)
                s->exp[r * 512 + i] = (pa_base + i * VTD_PAGE_SIZE) | perm;
            s->mode[r] = 2;
            psi(t, base, 9);
        } else { /* new page table with one page */
            s->pt[r] = th_alloc_page(t);
            th_w64(t, pde_addr(t, s, r), s->pt[r] | VTD_SL_R | VTD_SL_W);
            s->mode[r] = 1;
            unsigned i = (unsigned)(rnd(s) % 512);
            uint64_t perm = perm_of(s), pa = pa_base + i * VTD_PAGE_SIZE;
            th_w64(t, s->pt[r] + i * 8, pa | perm);
            s->exp[r * 512 + i] = pa | perm;
            psi(t, base + i * VTD_PAGE_SIZE, 0);
        }
        break;
    case 1: {
        unsigned op = (unsigned)(rnd(s) % 8);
        if (op == 0) { /* tear the table down */
            th_w64(t, pde_addr(t, s, r), 0);
            for (unsigned i = 0; i < 512; i++)
                s->exp[r * 512 + i] = 0;
            s->mode[r] = 0;
            psi(t, base, 9); /* IH=0: the PDE is gone too */
            break;
        }
        unsigned i = (unsigned)(rnd(s) % 512);
        if (op < 5) { /* map or remap a page */
            uint64_t perm = perm_of(s), pa = pa_base + i * VTD_PAGE_SIZE;
            th_w64(t, s->pt[r] + i * 8, pa | perm);
            s->exp[r * 512 + i] = pa | perm;
        } else { /* unmap a page */
            th_w64(t, s->pt[r] + i * 8, 0);
            s->exp[r * 512 + i] = 0;
        }
        if (rnd(s) % 16 == 0)
            domain_inval(t);
        else
            psi(t, base + i * VTD_PAGE_SIZE, 0);
        break;
    }
    default: /* unmap the 2 MiB page */
        th_w64(t, pde_addr(t, s, r), 0);
        for (unsigned i = 0; i < 512; i++)
            s->exp[r * 512 + i] = 0;
        s->mode[r] = 0;
        psi(t, base, 9);
        break;
    }
}

static void check_equal(struct th *t, struct shadow_test *s, int op)
{
    for (unsigned p = 0; p < PAGES; p++) {
        if (s->exp[p] != s->sh[p])
            fail_msg("op %d: page 0x%x: guest 0x%llx, shadow 0x%llx", op, p, (unsigned long long)s->exp[p],
                     (unsigned long long)s->sh[p]);
    }
    /* and the unit agrees on a few pages */
    for (int k = 0; k < 4; k++) {
        unsigned p = (unsigned)(rnd(s) % PAGES);
        struct vtd_result res = th_dma(t, DEV, (uint64_t)p << 12, VTD_R);
        if (s->exp[p] & VTD_SL_R) {
            assert_int_equal(res.status, VTD_OK);
            assert_int_equal(res.pa, s->exp[p] & ~0xFFFULL);
        } else {
            assert_int_equal(res.status, VTD_FAULT);
        }
    }
    /* keep fault records from filling: clear them all */
    for (unsigned i = 0; i < 8; i++)
        th_frcd_clear(t, i);
    th_wr32(t, VTD_REG_FSTS, VTD_FSTS_PFO);
}

static void test_shadow_random_sequence(void **state)
{
    (void)state;
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap |= VTD_CAP_CM;
    struct th *t = malloc(sizeof(*t));
    struct shadow_test *s = calloc(1, sizeof(*s));
    assert_non_null(t);
    assert_non_null(s);
    th_init(t, &cfg);
    s->seed = 0x5eed5eed1234ULL;
    s->root = th_alloc_page(t);
    /* the level-3 and level-2 tables of the window exist from the start */
    th_map(t, s->root, 4, 0, 0x1000000, VTD_PAGE_SIZE, VTD_PAGE_SIZE, VTD_SL_R);
    th_w64(t, th_pte_addr(t, s->root, 4, 0, 1), 0);
    th_w64(t, th_pte_addr(t, s->root, 4, 0, 2), 0);
    th_set_ctx(t, DEV, th_ctx_lo(s->root, 0, false), th_ctx_hi(VTD_AW_48, DID));
    th_enable(t);
    t->user = s;
    t->on_notice = on_notice;
    th_inval_all(t);
    assert_true(s->notices >= 2);
    for (int op = 0; op < OPS; op++) {
        guest_op(t, s);
        check_equal(t, s, op);
    }
    print_message("shadow: %d operations, %u notices, %u table walks\n", OPS, s->notices, s->walks);
    th_fini(t);
    free(s);
    free(t);
}

/* Without the invalidation the shadow (like the unit, under CM=1) keeps the
 * old state: a missing invalidation is visible to the VMM as a difference. */
static void test_shadow_misses_uninvalidated_change(void **state)
{
    (void)state;
    struct vtd_config cfg;
    vtd_config_default(&cfg);
    cfg.cap |= VTD_CAP_CM;
    struct th *t = malloc(sizeof(*t));
    struct shadow_test *s = calloc(1, sizeof(*s));
    assert_non_null(t);
    assert_non_null(s);
    th_init(t, &cfg);
    s->root = th_alloc_page(t);
    uint64_t pte = th_map(t, s->root, 4, 0x3000, 0x7000000, VTD_PAGE_SIZE, VTD_PAGE_SIZE, VTD_SL_R | VTD_SL_W);
    th_set_ctx(t, DEV, th_ctx_lo(s->root, 0, false), th_ctx_hi(VTD_AW_48, DID));
    th_enable(t);
    t->user = s;
    t->on_notice = on_notice;
    th_inval_all(t);
    assert_int_equal(s->sh[3], 0x7000000 | VTD_R | VTD_W);
    th_w64(t, pte, 0x9000000 | VTD_SL_R);
    assert_int_equal(s->sh[3], 0x7000000 | VTD_R | VTD_W); /* no notice yet */
    psi(t, 0x3000, 0);
    assert_int_equal(s->sh[3], 0x9000000 | VTD_R);
    /* the notice names the page-selective range exactly */
    th_fini(t);
    free(s);
    free(t);
}

static void test_mappings_api(void **state)
{
    (void)state;
    struct th t;
    th_init(&t, NULL);
    struct shadow_test *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->root = th_alloc_page(&t);
    th_map(&t, s->root, 4, 0x200000, 0x40000000, 2 << 20, 2 << 20, VTD_SL_R | VTD_SL_W);
    th_map(&t, s->root, 4, 0x5000, 0x50000000, 0x2000, VTD_PAGE_SIZE, VTD_SL_W);
    /* a non-leaf granting only R limits the leaf below it */
    th_set_ctx(&t, DEV, th_ctx_lo(s->root, 0, false), th_ctx_hi(VTD_AW_48, DID));
    assert_int_equal(vtd_mappings(t.u, DEV, 0, WINDOW, add_mapping, s), 0); /* TE off: identity */
    assert_int_equal(s->sh[7], 0x7000 | VTD_R | VTD_W);
    memset(s->sh, 0, sizeof(s->sh));
    th_enable(&t);
    assert_int_equal(vtd_mappings(t.u, DEV, 0, WINDOW, add_mapping, s), 0);
    assert_int_equal(s->sh[5], 0x50000000 | VTD_W);
    assert_int_equal(s->sh[6], 0x50001000 | VTD_W);
    assert_int_equal(s->sh[7], 0);
    assert_int_equal(s->sh[0x200], 0x40000000 | VTD_R | VTD_W);
    assert_int_equal(s->sh[0x3FF], (0x40000000 + 0x1FF000) | VTD_R | VTD_W);
    assert_int_equal(vtd_mappings(t.u, SID(9, 0, 0), 0, WINDOW, add_mapping, s), VTD_ENOENT);
    assert_int_equal(vtd_mappings(t.u, DEV, 0, 0, add_mapping, s), VTD_EINVAL);
    assert_int_equal(vtd_mappings(t.u, DEV, ~0ULL, 2, add_mapping, s), VTD_EINVAL);
    assert_int_equal(vtd_mappings(t.u, DEV, 0, WINDOW, NULL, s), VTD_EINVAL);
    /* vtd_mappings_pasid in legacy mode: without PASID it is vtd_mappings,
     * a request with PASID has no mappings (it would fault 31h) */
    memset(s->sh, 0, sizeof(s->sh));
    assert_int_equal(vtd_mappings_pasid(t.u, DEV, false, 0, false, 0, WINDOW, add_mapping, s), 0);
    assert_int_equal(s->sh[5], 0x50000000 | VTD_W);
    assert_int_equal(vtd_mappings_pasid(t.u, DEV, true, 1, false, 0, WINDOW, add_mapping, s), VTD_ENOENT);
    assert_int_equal(vtd_mappings_pasid(t.u, DEV, true, 1, false, 0, 0, add_mapping, s), VTD_EINVAL);
    th_fini(&t);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mappings_api),
        cmocka_unit_test(test_shadow_misses_uninvalidated_change),
        cmocka_unit_test(test_shadow_random_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
