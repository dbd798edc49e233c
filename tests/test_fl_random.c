/* SPDX-License-Identifier: MIT */
/*
 * Randomized comparison of first-level and nested translation against the
 * cache-free reference (ref_fl.c).  Each set: a fresh scalable-mode unit,
 * a random PASID entry (PGTT 001 or 011, 4 or 5 levels, SRE, WPE, EAFE,
 * PWSNP, SSADE), random first-level tables (P, R/W, U/S, PS, A/D/EA preset,
 * reserved bits, unreadable tables, addresses beyond the second-level width)
 * and for nested random second-level mappings of the table pages and data
 * pages (R/W, A/D preset, reserved bits, holes).  Random requests (read,
 * write, atomic; user or supervisor) go through vtd_translate (caches on),
 * and, as the reference says, the result must match and the A/D/EA bits the
 * reference lists must be set in memory afterwards.  Between phases one
 * entry is changed and invalidated (P_IOTLB PASID-selective, or
 * iotlb_inv_dsc for second-level entries).
 *
 *   VTD_FL_RANDOM_SEED=<base> VTD_FL_RANDOM_SETS=<n> ./test_fl_random
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_tables.h"
#include "rng.h"
#include "ref_fl.h"


#define NVA 12
struct set {
    struct rng r;
    struct flx x;
    struct ref_fl ref;
    uint64_t va[NVA];
    uint64_t ents[256]; /* entries written (for mutation) */
    unsigned nents;
};

static uint64_t rnd_va(struct set *s)
{
    /* a few clustered regions so tables are shared; sometimes the upper half */
    uint64_t base = (below(&s->r, 4) << 39) | (below(&s->r, 3) << 30) | (below(&s->r, 3) << 21);
    uint64_t va = base | (below(&s->r, 8) << 12);
    if (s->x.levels == 5 && pct(&s->r, 30))
        va |= below(&s->r, 4) << 48;
    if (pct(&s->r, 10))
        va |= s->x.levels == 5 ? 0xFF00000000000000ULL | (1ULL << 56) | (0xFFULL << 48)
                               : 0xFFFF800000000000ULL;
    return va;
}

static uint64_t fl_bits(struct set *s, bool leaf) { return rng_fl_bits(&s->r, leaf); }

static unsigned fl_index(uint64_t va, int level) { return (unsigned)(va >> (12 + 9 * (level - 1))) & 511; }

static void remember(struct set *s, uint64_t pa)
{
    if (s->nents < 256)
        s->ents[s->nents++] = pa;
}

/* a second-level mapping for a page (nested) with random permission */
static void sl_page(struct set *s, uint64_t gpa, uint64_t hpa)
{
    uint64_t f = VTD_SL_R | VTD_SL_W;
    unsigned k = (unsigned)below(&s->r, 100);
    if (k < 6)
        f = VTD_SL_R;
    else if (k < 9)
        f = VTD_SL_W;
    else if (k < 10)
        f = 0;
    if (pct(&s->r, 30))
        f |= VTD_SL_A;
    if (pct(&s->r, 3))
        f |= VTD_SL_SNP;
    if (pct(&s->r, 2))
        f |= VTD_BIT(51); /* reserved (HAW 50) */
    flx_sl_map(&s->x, gpa, hpa, f);
    remember(s, flx_sl_pte(&s->x, gpa, 1));
}

/* Build the path for va, with random bits on the way, and a random leaf size. */
static void map_va(struct set *s, uint64_t va)
{
    struct flx *x = &s->x;
    struct th *t = x->t;
    int leaf_level = pct(&s->r, 15) ? 2 : pct(&s->r, 8) ? 3 : 1;
    uint64_t table = x->fl_root;
    for (int l = x->levels; l > leaf_level; l--) {
        uint64_t ea = table + fl_index(va, l) * 8, e = th_r64(t, ea);
        if (!e) {
            uint64_t h = th_alloc_page(t);
            if (pct(&s->r, 2))
                vtd_mem_add_hole(t->mem, h, 4096);
            uint64_t g = x->nested ? h + FLX_GOFF : h;
            if (x->nested)
                sl_page(s, g, h);
            e = g | fl_bits(s, false);
            if (pct(&s->r, 2))
                e |= l >= 4 ? VTD_FL_PS : VTD_BIT(51); /* reserved (HAW 50) */
            if (x->nested && pct(&s->r, 2))
                e = (e & ~VTD_FL_ADDR_MASK) | (1ULL << 48) | (h & 0xFFFFF000); /* beyond AW, below HAW */
            th_w64(t, ea, e);
            remember(s, ea);
        } else if ((e & VTD_FL_PS) || !(e & VTD_FL_P)) {
            return; /* covered by a leaf already, or broken on purpose */
        }
        uint64_t g = e & VTD_FL_ADDR_MASK;
        table = x->nested ? g - FLX_GOFF : g;
        if (x->nested && (g >> 48))
            return;
        if (vtd_mem_read(t->mem, table, &e, 8))
            return; /* a hole */
    }
    uint64_t ea = table + fl_index(va, leaf_level) * 8;
    if (th_r64(t, ea))
        return;
    uint64_t size = 1ULL << (12 + 9 * (leaf_level - 1));
    uint64_t out = (0x40000000ULL + below(&s->r, 64) * size) & ~(size - 1);
    if (leaf_level == 3)
        out = (1 + below(&s->r, 8)) << 30;
    uint64_t e = out | fl_bits(s, true) | (leaf_level > 1 ? VTD_FL_PS : 0);
    if (pct(&s->r, 3))
        e |= leaf_level == 1 ? VTD_BIT(50) : VTD_BIT(13); /* reserved */
    th_w64(t, ea, e);
    remember(s, ea);
    if (x->nested) {
        /* the data: the 4 KiB page of va's output */
        uint64_t gpa = out + (va & (size - 1) & ~0xFFFULL);
        sl_page(s, gpa, 0x100000000ULL + (gpa & 0xFFFFFFF000ULL));
    }
}

static void setup_set(void **state, struct set *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->r.s = seed;
    struct vtd_config c;
    fl_config(&c);
    c.haw = 50;
    c.check_stale = false;
    if (pct(&s->r, 20))
        c.cap &= ~VTD_CAP_FL1GP;
    struct th *t = th_new(state, &c);
    bool nested = pct(&s->r, 50);
    int levels = pct(&s->r, 30) ? 5 : 4;
    flx_init(&s->x, t, nested, levels);
    struct flx *x = &s->x;
    if (pct(&s->r, 30))
        x->q[2] |= VTD_PE_Q2_WPE;
    if (pct(&s->r, 10))
        x->q[2] &= ~VTD_PE_Q2_SRE;
    if (pct(&s->r, 30))
        x->q[2] |= VTD_PE_Q2_EAFE;
    if (pct(&s->r, 8))
        x->q[1] &= ~VTD_PE_Q1_PWSNP;
    if (nested && pct(&s->r, 30))
        x->q[0] |= VTD_PE_Q0_SSADE;
    flx_update_pe(x);
    for (unsigned i = 0; i < NVA; i++) {
        s->va[i] = rnd_va(s);
        map_va(s, s->va[i]);
    }
    s->ref = (struct ref_fl){.cap = c.cap, .ecap = c.ecap, .haw = c.haw,
                             .mgaw = (unsigned)VTD_FIELD_GET(c.cap, 21, 16) + 1, .nested = nested,
                             .levels = (unsigned)levels, .flptptr = x->q[2] & VTD_PE_Q2_FSPTPTR_MASK,
                             .sre = x->q[2] & VTD_PE_Q2_SRE, .wpe = x->q[2] & VTD_PE_Q2_WPE,
                             .eafe = x->q[2] & VTD_PE_Q2_EAFE, .pwsnp = x->q[1] & VTD_PE_Q1_PWSNP,
                             .slptptr = x->sl_root, .aw = 2, .ssade = x->q[0] & VTD_PE_Q0_SSADE};
}

static unsigned mismatches;
static unsigned outcomes[256]; /* by fault reason, [0] = translated */

static void one_request(struct set *s, unsigned set_no, unsigned i)
{
    static const uint8_t acc[] = {VTD_R, VTD_W, VTD_R | VTD_W};
    uint64_t va = s->va[below(&s->r, NVA)] | (below(&s->r, 4096) & ~7ULL);
    if (pct(&s->r, 5))
        va ^= 1ULL << (47 + below(&s->r, 12)); /* maybe not canonical */
    struct vtd_request q = flx_req(va, acc[below(&s->r, 3)], pct(&s->r, 30));
    struct vtd_result want, got;
    struct ref_fl_upd upd;
    ref_fl_translate(&s->ref, s->x.t->mem, &q, &want, &upd);
    got = th_req(s->x.t, &q);
    bool same = want.status == got.status && want.fault_reason == got.fault_reason &&
                (want.status != VTD_OK || (want.pa == got.pa && want.page_size == got.page_size &&
                                           want.perm == got.perm));
    for (unsigned k = 0; same && want.status == VTD_OK && k < upd.n; k++) {
        uint64_t v = th_r64(s->x.t, upd.u[k].pa);
        if ((v & upd.u[k].bits) != upd.u[k].bits) {
            if (mismatches < 10)
                print_message("set %u req %u: bits 0x%llx not set at 0x%llx\n", set_no, i,
                              (unsigned long long)upd.u[k].bits, (unsigned long long)upd.u[k].pa);
            same = false;
        }
    }
    outcomes[want.status == VTD_OK ? 0 : want.fault_reason]++;
    if (!same) {
        if (mismatches < 10)
            print_message("set %u req %u: va 0x%llx acc %u priv %d nested %d levels %u: unit %d/0x%x pa 0x%llx "
                          "size 0x%llx perm %u, reference %d/0x%x pa 0x%llx size 0x%llx perm %u\n",
                          set_no, i, (unsigned long long)va, q.access, q.priv, s->ref.nested, s->ref.levels,
                          got.status, got.fault_reason, (unsigned long long)got.pa,
                          (unsigned long long)got.page_size, got.perm, want.status, want.fault_reason,
                          (unsigned long long)want.pa, (unsigned long long)want.page_size, want.perm);
        mismatches++;
    }
    /* clear fault records so that recording never runs out */
    th_wr32(s->x.t, VTD_REG_FSTS, th_rd32(s->x.t, VTD_REG_FSTS));
    for (unsigned k = 0; k < 8; k++)
        th_frcd_clear(s->x.t, k);
}

static void mutate(struct set *s)
{
    if (!s->nents)
        return;
    uint64_t pa = s->ents[below(&s->r, s->nents)], v = th_r64(s->x.t, pa);
    static const uint64_t flips[] = {VTD_FL_P, VTD_FL_RW, VTD_FL_US, VTD_FL_A, VTD_FL_D, VTD_FL_EA};
    v ^= flips[below(&s->r, 6)];
    th_w64(s->x.t, pa, v);
    /* the matching invalidation: P_IOTLB for first-level entries, and a
     * domain-selective IOTLB invalidation for second-level ones */
    uint64_t d[4];
    sm_desc_piotlb(d, SM_PIOTLB_PASID, FLX_DID, FLX_PASID, 0, 0, false);
    sm_qi_submit(s->x.t, d);
    sm_desc_iotlb(d, 2, FLX_DID, 0, 0, false);
    sm_qi_submit(s->x.t, d);
    sm_qi_sync(s->x.t);
}

static void test_fl_random(void **state)
{
    uint64_t seed = env_u64("VTD_FL_RANDOM_SEED", 0xF1F1);
    unsigned sets = (unsigned)env_u64("VTD_FL_RANDOM_SETS", 60);
    unsigned reqs = (unsigned)env_u64("VTD_FL_RANDOM_REQS", 60);
    mismatches = 0;
    for (unsigned n = 0; n < sets; n++) {
        struct set *s = calloc(1, sizeof(*s));
        assert_non_null(s);
        setup_set(state, s, seed * 1000003 + n);
        for (unsigned phase = 0; phase < 3; phase++) {
            for (unsigned i = 0; i < reqs; i++)
                one_request(s, n, phase * reqs + i);
            mutate(s);
        }
        th_teardown(state);
        free(s);
    }
    for (unsigned k = 0; k < 256; k++)
        if (outcomes[k])
            print_message("%s 0x%02x: %u\n", k ? "fault" : "ok", k, outcomes[k]);
    if (mismatches)
        fail_msg("%u mismatches (seed 0x%llx)", mismatches, (unsigned long long)seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fl_random, th_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
