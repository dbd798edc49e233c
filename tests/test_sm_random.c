/* SPDX-License-Identifier: MIT */
/*
 * Randomized comparison of scalable-mode translation against the cache-free
 * reference (ref_sm.c, which hands PGTT 001/011 to ref_fl.c).  Each set: a
 * fresh scalable-mode unit (random PASID-cache size, CAP.CM on or off) and
 * random structures in memory: scalable-mode root halves, context entries
 * (P, FPD, PASIDE, DTE, PDTS, RID_PASID, RID_PRIV, reserved bits), PASID
 * directory entries (P, FPD, reserved bits, unreadable PASID tables) and
 * PASID-table entries of every PGTT (001 first level, 010 second level with
 * SSADE, 011 nested, 100 pass-through, a few invalid values; SRE, WPE,
 * EAFE, PWSNP, FPD, reserved bits), second-level tables per domain and
 * first-level tables per PASID (random permissions, superpages, not-present
 * entries, reserved bits, preset A/D).  Random requests (with and without
 * PASID, user / supervisor, read / write / atomic / execute) go through
 * vtd_translate and the reference; compared: status, fault reason, address,
 * page size, permission, the fault record (FR, SID, FI, T1/T2, PP, PV, PRIV,
 * EXE, or no record under FPD) and the A/D bits the reference says are set.
 *
 * Requests are often repeated, so that later ones are answered from the
 * IOTLB and the front memo (docs/model.md) while the reference walks.
 *
 * Between phases one entry of one structure is changed.  First some requests
 * run WITHOUT the invalidation: each must give the reference's result of
 * either the old or the new tables.  Then the invalidation the spec asks for
 * is sent (context-cache, PASID-cache type 7, P_IOTLB type 6, IOTLB type 2,
 * selective or global at random) and results must again equal the new
 * tables' exactly.
 *
 *   VTD_SM_RANDOM_SEED=<base> VTD_SM_RANDOM_SETS=<n> VTD_SM_RANDOM_REQS=<n> ./test_sm_random
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_sm.h"
#include "rng.h"
#include "sm_tables.h"


#define NDEV 5
static const uint16_t dev_sid[NDEV] = {SID(0, 2, 0), SID(0, 2, 1), SID(0, 0x11, 0), SID(1, 3, 0), SID(0, 0x1F, 7)};
#define NPASID 6
static const uint32_t pool[NPASID] = {0, 1, 2, 0x41, 0x123, 0x2345};
enum { K_FL, K_SL, K_NEST, K_PT };
#define NDOM 2
#define GOFF (1ULL << 36) /* nested: first-level table page h has guest-physical h + GOFF */
#define NVA 10
#define MAXENT 512

struct dom {
    uint16_t did;
    uint64_t root;
    unsigned aw;
    bool ssade;
    uint64_t iova[NVA]; /* mapped second-level input addresses */
    unsigned niova;
};

struct tree { /* first-level tables of one PASID (PGTT 001 or 011) */
    uint64_t root;
    unsigned levels;
    bool nested, eafe;
    int dom;
    uint64_t va[NVA];
};

enum { E_CTX, E_DIR, E_PE, E_SL, E_FL };
struct ent {
    uint8_t kind;
    uint8_t level;
    uint8_t dev, pi; /* E_CTX/E_DIR/E_PE: device, pool index */
    int8_t dom;      /* E_SL: domain; E_FL: pool index of the tree */
    uint64_t pa, base; /* entry address; E_SL/E_FL: first input address it maps */
};

struct set {
    struct rng r;
    struct th *t;
    struct ref_sm ref;
    bool cm;
    int kind[NPASID];
    int pdom[NPASID]; /* K_SL / K_NEST: domain index */
    struct dom dom[NDOM];
    struct tree tree[NPASID];
    uint64_t dir[NDEV];
    uint32_t rid_pasid[NDEV];
    bool has_pe[NDEV][NPASID];
    struct ent ents[MAXENT];
    unsigned nents;
};

static void remember(struct set *s, struct ent e)
{
    if (s->nents < MAXENT)
        s->ents[s->nents++] = e;
}

static uint16_t pool_did(const struct set *s, unsigned pi)
{
    return (s->kind[pi] == K_SL || s->kind[pi] == K_NEST) ? s->dom[s->pdom[pi]].did : (uint16_t)(10 + pi);
}

static int pool_index(uint32_t pasid)
{
    for (int i = 0; i < NPASID; i++)
        if (pool[i] == pasid)
            return i;
    return -1;
}

/* ---- second level ---- */

static unsigned sl_idx(uint64_t a, unsigned l) { return (unsigned)(a >> (12 + 9 * (l - 1))) & 511; }

/* Map gpa (size 4K/2M/1G) in domain d with leaf bits f; missing tables are
 * made (mostly R/W).  Returns false when the path is taken by a leaf. */
static bool sl_map(struct set *s, int d, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t f)
{
    struct dom *D = &s->dom[d];
    unsigned levels = D->aw + 2, leaf = size == (1ULL << 30) ? 3 : size == (2ULL << 20) ? 2 : 1;
    uint64_t table = D->root;
    for (unsigned l = levels; l > leaf; l--) {
        uint64_t ea = table + sl_idx(gpa, l) * 8, e;
        if (vtd_mem_read(s->t->mem, ea, &e, 8))
            return false; /* under an unreadable table */
        if (!e) {
            e = th_alloc_page(s->t) | VTD_SL_R | VTD_SL_W;
            if (pct(&s->r, 1)) /* an unreadable table (78h) */
                vtd_mem_add_hole(s->t->mem, e & VTD_SL_ADDR_MASK, 4096);
            if (pct(&s->r, 4))
                e &= ~(uint64_t)(pct(&s->r, 50) ? VTD_SL_W : VTD_SL_R);
            if (pct(&s->r, 20))
                e |= VTD_SL_A;
            if (pct(&s->r, 1))
                e |= VTD_BIT(51); /* reserved (haw 50) */
            th_w64(s->t, ea, e);
            remember(s, (struct ent){.kind = E_SL, .level = (uint8_t)l, .dom = (int8_t)d, .pa = ea,
                                     .base = gpa & ~((1ULL << (12 + 9 * (l - 1))) - 1)});
        } else if ((e & VTD_SL_PS) || !(e & 3) || (e & VTD_BIT(51))) {
            return false;
        }
        table = e & VTD_SL_ADDR_MASK;
    }
    uint64_t ea = table + sl_idx(gpa, leaf) * 8, old;
    if (vtd_mem_read(s->t->mem, ea, &old, 8) || old)
        return false;
    th_w64(s->t, ea, hpa | f | (leaf > 1 ? VTD_SL_PS : 0));
    remember(s, (struct ent){.kind = E_SL, .level = (uint8_t)leaf, .dom = (int8_t)d, .pa = ea, .base = gpa});
    return true;
}

static uint64_t sl_leaf_bits(struct set *s)
{
    static const uint64_t perms[] = {VTD_SL_R | VTD_SL_W, VTD_SL_R | VTD_SL_W, VTD_SL_R | VTD_SL_W,
                                     VTD_SL_R | VTD_SL_W, VTD_SL_R, VTD_SL_W, 0};
    uint64_t f = perms[below(&s->r, 7)];
    if (pct(&s->r, 30))
        f |= VTD_SL_A;
    if (pct(&s->r, 20))
        f |= VTD_SL_D;
    if (pct(&s->r, 10))
        f |= VTD_SL_SNP;
    if (pct(&s->r, 2))
        f |= VTD_BIT(51);
    return f;
}

static void build_dom(struct set *s, int d)
{
    struct dom *D = &s->dom[d];
    D->did = (uint16_t)(1 + d);
    D->aw = (unsigned)(1 + below(&s->r, 3)); /* 39, 48 or 57 bits */
    D->ssade = pct(&s->r, 40);
    D->root = th_alloc_page(s->t);
    for (unsigned i = 0; i < NVA; i++) {
        unsigned k = (unsigned)below(&s->r, 100);
        uint64_t size = k < 75 ? 4096 : k < 95 ? (2ULL << 20) : (1ULL << 30);
        uint64_t gpa = 0x40000000ULL + below(&s->r, 32) * (2ULL << 20) + below(&s->r, 512) * 4096;
        if (pct(&s->r, 10))
            gpa += below(&s->r, 4) << 30;
        gpa &= ~(size - 1);
        uint64_t hpa = (0x200000000ULL + below(&s->r, 256) * size) & ~(size - 1);
        sl_map(s, d, gpa, hpa, size, sl_leaf_bits(s));
        D->iova[D->niova++] = gpa | (below(&s->r, 4096) & ~7ULL & (size - 1));
    }
}

/* ---- first level ---- */

static uint64_t fl_bits(struct set *s, bool leaf)
{
    uint64_t b = rng_fl_bits(&s->r, leaf);
    if (pct(&s->r, 2))
        b |= VTD_BIT(51); /* reserved (haw 50) */
    return b;
}

/* a fresh first-level table page; nested: mapped in the domain's second level */
static uint64_t fl_table(struct set *s, struct tree *T)
{
    uint64_t h = th_alloc_page(s->t);
    if (pct(&s->r, 1)) /* an unreadable table (70h / 73h) */
        vtd_mem_add_hole(s->t->mem, h, 4096);
    if (T->nested) {
        uint64_t f = VTD_SL_R | VTD_SL_W;
        if (pct(&s->r, 4))
            f = pct(&s->r, 50) ? VTD_SL_R : 0;
        if (pct(&s->r, 30))
            f |= VTD_SL_A;
        sl_map(s, T->dom, h + GOFF, h, 4096, f);
    }
    return h;
}

static void fl_map(struct set *s, int pi, uint64_t va)
{
    struct tree *T = &s->tree[pi];
    int leaf = pct(&s->r, 15) ? 2 : pct(&s->r, 6) ? 3 : 1;
    uint64_t table = T->root;
    for (int l = (int)T->levels; l > leaf; l--) {
        uint64_t ea = table + sl_idx(va, (unsigned)l) * 8, e;
        if (vtd_mem_read(s->t->mem, ea, &e, 8))
            return; /* under an unreadable table */
        if (!e) {
            uint64_t h = fl_table(s, T);
            e = (T->nested ? h + GOFF : h) | fl_bits(s, false);
            if (pct(&s->r, 1))
                e |= l >= 4 ? VTD_FL_PS : 0;
            th_w64(s->t, ea, e);
            remember(s, (struct ent){.kind = E_FL, .level = (uint8_t)l, .dom = (int8_t)pi, .pa = ea,
                                     .base = va & ~((1ULL << (12 + 9 * (l - 1))) - 1)});
        } else if ((e & (VTD_FL_PS | VTD_BIT(51))) || !(e & VTD_FL_P)) {
            return;
        }
        table = (e & VTD_FL_ADDR_MASK) - (T->nested ? GOFF : 0);
    }
    uint64_t ea = table + sl_idx(va, (unsigned)leaf) * 8, old;
    if (vtd_mem_read(s->t->mem, ea, &old, 8) || old)
        return;
    uint64_t size = 1ULL << (12 + 9 * (leaf - 1)), out;
    if (T->nested) {
        /* a guest-physical page the domain maps (or nearly) */
        const struct dom *D = &s->dom[T->dom];
        out = (D->iova[below(&s->r, D->niova)] & ~(size - 1)) + (pct(&s->r, 10) ? size : 0);
    } else {
        out = (0x40000000ULL + below(&s->r, 64) * size) & ~(size - 1);
    }
    uint64_t e = out | fl_bits(s, true) | (leaf > 1 ? VTD_FL_PS : 0);
    if (pct(&s->r, 2))
        e |= leaf == 1 ? VTD_BIT(50) : VTD_BIT(13);
    th_w64(s->t, ea, e);
    remember(s, (struct ent){.kind = E_FL, .level = (uint8_t)leaf, .dom = (int8_t)pi, .pa = ea,
                             .base = va & ~(size - 1)});
}

static uint64_t rnd_va(struct set *s, unsigned levels)
{
    uint64_t va = (below(&s->r, 3) << 39) | (below(&s->r, 3) << 30) | (below(&s->r, 3) << 21) |
                  (below(&s->r, 8) << 12);
    if (levels == 5 && pct(&s->r, 30))
        va |= below(&s->r, 4) << 48;
    if (pct(&s->r, 10))
        va |= levels == 5 ? 0xFF00000000000000ULL : 0xFFFF800000000000ULL;
    return va;
}

static void build_tree(struct set *s, int pi)
{
    struct tree *T = &s->tree[pi];
    T->nested = s->kind[pi] == K_NEST;
    T->dom = s->pdom[pi];
    T->levels = pct(&s->r, 30) ? 5 : 4;
    T->eafe = pct(&s->r, 30);
    T->root = fl_table(s, T);
    for (unsigned i = 0; i < NVA; i++) {
        T->va[i] = rnd_va(s, T->levels);
        fl_map(s, pi, T->va[i]);
    }
}

/* ---- scalable-mode structures ---- */

static void build_pe(struct set *s, unsigned dv, unsigned pi)
{
    uint64_t q[8];
    const uint16_t did = pool_did(s, pi);
    const struct tree *T = &s->tree[pi];
    const struct dom *D = &s->dom[s->pdom[pi]];
    switch (s->kind[pi]) {
    case K_FL: sm_pe_fl(q, T->root, T->levels == 5, did); break;
    case K_NEST: sm_pe_nested(q, T->root + GOFF, T->levels == 5, D->root, D->aw, did); break;
    case K_SL: sm_pe_sl(q, D->root, D->aw, did); break;
    default: sm_pe_pt(q, did); break;
    }
    if (s->kind[pi] == K_SL || s->kind[pi] == K_NEST) {
        if (D->ssade)
            q[0] |= VTD_PE_Q0_SSADE;
    }
    if (s->kind[pi] == K_FL || s->kind[pi] == K_NEST) {
        if (T->eafe)
            q[2] |= VTD_PE_Q2_EAFE;
        if (pct(&s->r, 30))
            q[2] |= VTD_PE_Q2_WPE;
    }
    if (pct(&s->r, 90))
        q[1] |= VTD_PE_Q1_PWSNP;
    if (pct(&s->r, 85))
        q[2] |= VTD_PE_Q2_SRE;
    if (pct(&s->r, 5))
        q[0] |= VTD_PE_Q0_FPD;
    if (pct(&s->r, 3))
        q[0] &= ~VTD_PE_Q0_P;
    unsigned k = (unsigned)below(&s->r, 100);
    if (k < 2)
        q[1] |= VTD_BIT(16 + below(&s->r, 7)); /* 86:80 */
    else if (k < 3)
        q[3] |= VTD_BIT(below(&s->r, 64));
    else if (k < 5)
        q[0] ^= VTD_BIT(8); /* PGTT 000, 101, 110 or 111 */
    uint64_t pa = sm_set_pe(s->t, s->dir[dv], pool[pi], q);
    s->has_pe[dv][pi] = true;
    remember(s, (struct ent){.kind = E_PE, .dev = (uint8_t)dv, .pi = (uint8_t)pi, .pa = pa});
}

static void build_dev(struct set *s, unsigned dv)
{
    uint64_t flags = 0;
    if (pct(&s->r, 85))
        flags |= VTD_SMCTX_PASIDE;
    if (pct(&s->r, 30))
        flags |= VTD_SMCTX_DTE;
    if (pct(&s->r, 6))
        flags |= VTD_SMCTX_FPD;
    unsigned pdts = (unsigned)below(&s->r, 3);
    s->rid_pasid[dv] = pool[below(&s->r, 3)];
    s->dir[dv] = sm_dev(s->t, dev_sid[dv], pdts, flags, s->rid_pasid[dv]);
    uint64_t q0 = sm_ctx_q0(s->dir[dv], pdts, flags), q1 = sm_ctx_q1(s->rid_pasid[dv], pct(&s->r, 20));
    if (pct(&s->r, 3))
        q0 &= ~VTD_SMCTX_P;
    if (pct(&s->r, 2))
        q0 |= VTD_BIT(7 + below(&s->r, 2));
    if (pct(&s->r, 2))
        q1 |= VTD_BIT(21 + below(&s->r, 40));
    uint64_t ca = sm_set_ctx(s->t, dev_sid[dv], q0, q1);
    remember(s, (struct ent){.kind = E_CTX, .dev = (uint8_t)dv, .pa = ca});
    for (unsigned pi = 0; pi < NPASID; pi++) {
        if (((uint64_t)pool[pi] >> 6) >= (1ULL << (pdts + 7)))
            continue; /* beyond the directory: requests fault 46h before reading it */
        if (pct(&s->r, 90) || pool[pi] == s->rid_pasid[dv])
            build_pe(s, dv, pi);
    }
    /* directory entries: FPD, not present, reserved, unreadable tables */
    for (unsigned pi = 0; pi < NPASID; pi++) {
        if (!s->has_pe[dv][pi])
            continue;
        uint64_t da = s->dir[dv] + (uint64_t)(pool[pi] >> 6) * 8, de = th_r64(s->t, da);
        unsigned k = (unsigned)below(&s->r, 100);
        if (k < 3)
            de |= VTD_PDE_FPD;
        else if (k < 5)
            de &= ~VTD_PDE_P;
        else if (k < 6)
            de |= VTD_BIT(2 + below(&s->r, 10));
        else if (k < 7)
            vtd_mem_add_hole(s->t->mem, de & VTD_PDE_PTP_MASK, 4096);
        th_w64(s->t, da, de);
        remember(s, (struct ent){.kind = E_DIR, .dev = (uint8_t)dv, .pi = (uint8_t)pi, .pa = da});
    }
}

static void setup_set(void **state, struct set *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->r.s = seed;
    struct vtd_config c;
    sm_config(&c);
    c.cap |= VTD_CAP_FL1GP | VTD_CAP_FL5LP;
    c.ecap |= VTD_ECAP_FLTS | VTD_ECAP_NEST | VTD_ECAP_EAFS;
    c.haw = 50;
    c.check_stale = false;
    /* capabilities the structures' reserved bits depend on */
    if (pct(&s->r, 10))
        c.ecap &= ~(VTD_ECAP_SMPWCS | VTD_ECAP_SLADS | VTD_ECAP_EAFS);
    if (pct(&s->r, 10))
        c.ecap &= ~VTD_ECAP_SLADS;
    if (pct(&s->r, 10))
        c.ecap &= ~VTD_ECAP_RPS;
    if (pct(&s->r, 10))
        c.ecap &= ~VTD_ECAP_RPRIVS;
    if (pct(&s->r, 10))
        c.ecap &= ~VTD_ECAP_SRS;
    if (pct(&s->r, 15))
        c.ver = 0x80; /* execute requests with PASID: 34h before any table */
    static const uint32_t pcs[] = {0, 4, 256};
    c.pasid_cache_entries = pcs[below(&s->r, 3)];
    s->cm = pct(&s->r, 30);
    if (s->cm)
        c.cap |= VTD_CAP_CM;
    s->t = th_new(state, &c);
    sm_qi_init(s->t);
    for (unsigned pi = 0; pi < NPASID; pi++) {
        s->kind[pi] = (int)below(&s->r, 4);
        s->pdom[pi] = (int)below(&s->r, NDOM);
    }
    for (int d = 0; d < NDOM; d++)
        build_dom(s, d);
    for (unsigned pi = 0; pi < NPASID; pi++)
        if (s->kind[pi] == K_FL || s->kind[pi] == K_NEST)
            build_tree(s, (int)pi);
    for (unsigned dv = 0; dv < NDEV; dv++)
        build_dev(s, dv);
    if (pct(&s->r, 10)) /* bus 1's lower root half with reserved bits (3Ah) */
        th_w64(s->t, s->t->rta + 16, th_r64(s->t, s->t->rta + 16) | VTD_BIT(3));
    sm_enable(s->t);
    s->ref = (struct ref_sm){.ver = (uint32_t)th_rd32(s->t, VTD_REG_VER), .cap = th_rd64(s->t, VTD_REG_CAP),
                             .ecap = th_rd64(s->t, VTD_REG_ECAP), .haw = c.haw, .rta = s->t->rta};
}

/* ---- requests ---- */

static struct vtd_request rnd_req(struct set *s)
{
    struct vtd_request q = {.at = VTD_AT_UNTRANSLATED};
    unsigned dv = (unsigned)below(&s->r, NDEV);
    q.sid = pct(&s->r, 5) ? (pct(&s->r, 50) ? SID(2, 0, 0) : SID(0, 5, 0)) : dev_sid[dv];
    static const uint8_t acc[] = {VTD_R, VTD_W, VTD_R | VTD_W};
    q.access = acc[below(&s->r, 3)];
    uint32_t pasid = s->rid_pasid[dv];
    if (pct(&s->r, 60)) {
        q.pasid_valid = true;
        pasid = pool[below(&s->r, NPASID)];
        if (pct(&s->r, 3))
            pasid = pct(&s->r, 50) ? 0x100000 + (uint32_t)below(&s->r, 16) : 0xFFFFF;
        q.pasid = pasid;
        q.priv = pct(&s->r, 30);
        if (pct(&s->r, 3))
            q.access = VTD_R | VTD_X;
    }
    int pi = pool_index(pasid);
    uint64_t a = below(&s->r, 1ULL << 32) & ~7ULL;
    if (pi >= 0 && !pct(&s->r, 5)) {
        switch (s->kind[pi]) {
        case K_FL:
        case K_NEST: a = s->tree[pi].va[below(&s->r, NVA)] | (below(&s->r, 4096) & ~7ULL); break;
        case K_SL: {
            const struct dom *D = &s->dom[s->pdom[pi]];
            a = (D->iova[below(&s->r, D->niova)] & ~0xFFFULL) | (below(&s->r, 4096) & ~7ULL);
            break;
        }
        default: break;
        }
    }
    if (pct(&s->r, 3))
        a = 0xFEE00000ULL | (below(&s->r, 256) << 12);
    else if (pct(&s->r, 3))
        a ^= 1ULL << (38 + below(&s->r, 20));
    q.addr = a;
    return q;
}

static unsigned mismatches, stale_old, stale_new, nreq;
static unsigned outcomes[256];

static bool same_res(const struct vtd_result *a, const struct vtd_result *b)
{
    return a->status == b->status && (a->status != VTD_FAULT || a->fault_reason == b->fault_reason) &&
           (a->status != VTD_OK || (a->pa == b->pa && a->page_size == b->page_size && a->perm == b->perm));
}

static struct set *cur;
static unsigned cur_phase;
static struct ent last;

static void report(unsigned set_no, const char *what, const struct vtd_request *q, const struct vtd_result *got,
                   const struct vtd_result *want)
{
    if (mismatches < 12) {
        int pi = q->pasid_valid ? pool_index(q->pasid) : -1;
        for (unsigned dv = 0; dv < NDEV && !q->pasid_valid; dv++)
            if (dev_sid[dv] == q->sid)
                pi = pool_index(cur->rid_pasid[dv]);
        if (pi >= 0)
            print_message("  kind %d dom %d levels %u pc %u cm %d\n", cur->kind[pi], cur->pdom[pi],
                          cur->tree[pi].levels, cur->t->cfg.pasid_cache_entries, cur->cm);
    }
    if (mismatches < 12)
        print_message("set %u: %s: sid %04x pasid %d/0x%x priv %d acc %u addr 0x%llx: unit %d/0x%x pa 0x%llx size "
                      "0x%llx perm %u, reference %d/0x%x pa 0x%llx size 0x%llx perm %u\n",
                      set_no, what, q->sid, q->pasid_valid, q->pasid, q->priv, q->access,
                      (unsigned long long)q->addr, got->status, got->fault_reason, (unsigned long long)got->pa,
                      (unsigned long long)got->page_size, got->perm, want->status, want->fault_reason,
                      (unsigned long long)want->pa, (unsigned long long)want->page_size, want->perm);
    mismatches++;
}

/* the fault record the request must have left (or none) */
static bool check_record(struct set *s, const struct vtd_request *q, const struct ref_sm_out *o,
                         const struct vtd_result *got)
{
    struct th *t = s->t;
    unsigned nrec = 0;
    bool ok = true;
    for (unsigned k = 0; k < 8; k++) {
        uint64_t lo, hi;
        th_frcd(t, k, &lo, &hi);
        if (!(hi & VTD_FRCD_HI_F))
            continue;
        nrec++;
        uint64_t want = q->sid | (uint64_t)o->res.fault_reason << VTD_FRCD_HI_FR_SHIFT | VTD_FRCD_HI_F |
                        ((q->access & VTD_R) ? VTD_FRCD_HI_T1 : 0) |
                        ((q->access & (VTD_R | VTD_W)) == (VTD_R | VTD_W) ? VTD_FRCD_HI_T2 : 0) |
                        (q->pasid_valid ? VTD_FRCD_HI_PP | (uint64_t)(q->pasid & 0xFFFFF) << VTD_FRCD_HI_PV_SHIFT : 0) |
                        (q->priv ? VTD_FRCD_HI_PRIV : 0) | ((q->access & VTD_X) ? VTD_FRCD_HI_EXE : 0);
        if (hi != want || lo != (q->addr & VTD_GENMASK(56, 12))) {
            if (mismatches < 12)
                print_message("record: lo 0x%llx hi 0x%llx, want lo 0x%llx hi 0x%llx\n", (unsigned long long)lo,
                              (unsigned long long)hi, (unsigned long long)(q->addr & VTD_GENMASK(56, 12)),
                              (unsigned long long)want);
            ok = false;
        }
        th_frcd_clear(t, k);
    }
    th_wr32(t, VTD_REG_FSTS, th_rd32(t, VTD_REG_FSTS));
    bool rec = o->res.status == VTD_FAULT && o->recorded;
    if (nrec != (rec ? 1u : 0u) || got->fault_recorded != rec) {
        if (mismatches < 12)
            print_message("records: %u, recorded %d, reference says %d\n", nrec, got->fault_recorded, rec);
        ok = false;
    }
    return ok;
}

static void trace_step(void *arg, const struct vtd_walk_step *st)
{
    (void)arg;
    print_message("  step %d level %d addr 0x%llx val 0x%llx\n", st->kind, st->level, (unsigned long long)st->addr,
                  (unsigned long long)st->val[0]);
}

static void one_req(struct set *s, unsigned set_no, struct vtd_request q)
{
    struct ref_sm_out o;
    ref_sm_translate(&s->ref, s->t->mem, &q, &o);
    struct vtd_result got = th_req(s->t, &q);
    nreq++;
    outcomes[o.res.status == VTD_OK ? 0 : o.res.status == VTD_BLOCKED ? 1 : o.res.fault_reason]++;
    if (!same_res(&got, &o.res)) {
        report(set_no, "mismatch", &q, &got, &o.res);
        if (getenv("VTD_SM_RANDOM_TRACE")) {
            struct vtd_result r2;
            vtd_walk(s->t->u, &q, &r2, trace_step, NULL);
        }
        if (mismatches < 12) {
            sm_inval_all(s->t);
            struct vtd_result again = th_req(s->t, &q);
            print_message("  after a global invalidation: %s (phase %u, last change kind %d level %u pa 0x%llx)\n",
                          same_res(&again, &o.res) ? "agrees" : "still differs", cur_phase, last.kind, last.level,
                          (unsigned long long)last.pa);
        }
        check_record(s, &q, &o, &got);
        return;
    }
    bool ok = check_record(s, &q, &o, &got);
    for (unsigned k = 0; got.status == VTD_OK && k < o.upd.n; k++) {
        uint64_t v = th_r64(s->t, o.upd.u[k].pa);
        if ((v & o.upd.u[k].bits) != o.upd.u[k].bits) {
            if (mismatches < 12)
                print_message("bits 0x%llx not set at 0x%llx\n", (unsigned long long)o.upd.u[k].bits,
                              (unsigned long long)o.upd.u[k].pa);
            ok = false;
        }
    }
    if (!ok)
        report(set_no, "record or A/D", &q, &got, &o.res);
}

/* A random request, often repeated (the repeats hit the IOTLB and then the
 * unit's front memo, which must give the same), sometimes followed by the
 * same page read or written (a write after reads must still set D). */
static void one_request(struct set *s, unsigned set_no)
{
    struct vtd_request q = rnd_req(s);
    one_req(s, set_no, q);
    if (!pct(&s->r, 40))
        return;
    one_req(s, set_no, q);
    one_req(s, set_no, q);
    if (pct(&s->r, 40) && !(q.access & VTD_X)) {
        q.access = q.access == VTD_R ? VTD_W : VTD_R;
        one_req(s, set_no, q);
        one_req(s, set_no, q);
    }
}

/* ---- changes and their invalidations ---- */

static void qi(struct set *s, const uint64_t d[4]) { sm_qi_submit(s->t, d); }

static void inval_pasid_entry(struct set *s, unsigned pi)
{
    uint64_t d[4];
    uint16_t did = pool_did(s, pi);
    if (pct(&s->r, 20)) {
        sm_desc_pc(d, SM_PC_GLOBAL, 0, 0);
        qi(s, d);
    } else {
        sm_desc_pc(d, pct(&s->r, 50) ? SM_PC_PASID : SM_PC_DOMAIN, did, pool[pi]);
        qi(s, d);
        if (s->cm) { /* cached entries that faulted carry domain-id 0 (§6.2.3) */
            sm_desc_pc(d, SM_PC_PASID, 0, pool[pi]);
            qi(s, d);
        }
    }
    if (pct(&s->r, 30) || s->kind[pi] == K_PT) {
        sm_desc_iotlb(d, pct(&s->r, 30) ? 1 : 2, did, 0, 0, false);
        qi(s, d);
    } else {
        sm_desc_piotlb(d, SM_PIOTLB_PASID, did, pool[pi], 0, 0, false);
        qi(s, d);
    }
}

static void invalidate(struct set *s, const struct ent *e)
{
    uint64_t d[4];
    switch (e->kind) {
    case E_CTX:
        sm_desc_cc(d, pct(&s->r, 30) ? 1 : 3, 0, dev_sid[e->dev], 0);
        qi(s, d);
        for (unsigned pi = 0; pi < NPASID; pi++)
            inval_pasid_entry(s, pi);
        break;
    case E_DIR:
        for (unsigned pi = 0; pi < NPASID; pi++)
            if (pool[pi] >> 6 == pool[e->pi] >> 6)
                inval_pasid_entry(s, pi);
        break;
    case E_PE: inval_pasid_entry(s, e->pi); break;
    case E_SL: {
        const struct dom *D = &s->dom[e->dom];
        unsigned am = 9 * (e->level - 1u);
        if (am <= 18 && pct(&s->r, 70))
            sm_desc_iotlb(d, 3, D->did, e->base, am, false);
        else
            sm_desc_iotlb(d, pct(&s->r, 20) ? 1 : 2, D->did, 0, 0, false);
        qi(s, d);
        break;
    }
    default: { /* E_FL */
        unsigned am = 9 * (e->level - 1u), pi = (unsigned)e->dom;
        if (am <= 18 && pct(&s->r, 70))
            sm_desc_piotlb(d, SM_PIOTLB_PAGE, pool_did(s, pi), pool[pi], e->base, am, false);
        else
            sm_desc_piotlb(d, SM_PIOTLB_PASID, pool_did(s, pi), pool[pi], 0, 0, false);
        qi(s, d);
        break;
    }
    }
    sm_qi_sync(s->t);
}

/* the one change: XOR `mask` into the qword at `pa` (mask 0: none) */
struct change {
    uint64_t pa, mask;
};

static void toggle(struct set *s, const struct change *c)
{
    if (c->mask)
        th_w64(s->t, c->pa, th_r64(s->t, c->pa) ^ c->mask);
}

static struct change mutate(struct set *s, const struct ent *e)
{
    struct change c = {.pa = e->pa};
    uint64_t v;
    if (vtd_mem_read(s->t->mem, e->pa, &v, 8))
        return c; /* in a page made unreadable on purpose */
    switch (e->kind) {
    case E_CTX: {
        static const uint64_t f[] = {VTD_SMCTX_P, VTD_SMCTX_FPD, VTD_SMCTX_PASIDE, VTD_BIT(7)};
        unsigned k = (unsigned)below(&s->r, 5);
        if (k == 4) {
            c.pa = e->pa + 8;
            c.mask = VTD_SMCTX_Q1_RID_PRIV;
        } else {
            c.mask = f[k];
        }
        break;
    }
    case E_DIR: {
        static const uint64_t f[] = {VTD_PDE_P, VTD_PDE_FPD, VTD_BIT(2)};
        c.mask = f[below(&s->r, 3)];
        break;
    }
    case E_PE: {
        unsigned k = (unsigned)below(&s->r, 6);
        static const uint64_t f[] = {VTD_PE_Q0_P, VTD_PE_Q0_FPD, VTD_BIT(8)};
        static const uint64_t q2[] = {VTD_PE_Q2_SRE, VTD_PE_Q2_WPE, VTD_PE_Q2_SRE};
        if (k >= 3) {
            c.pa = e->pa + 16;
            c.mask = q2[k - 3];
        } else {
            c.mask = f[k];
        }
        break;
    }
    case E_SL: {
        static const uint64_t f[] = {VTD_SL_R, VTD_SL_W, VTD_SL_A, VTD_SL_D, VTD_BIT(51), VTD_SL_R | VTD_SL_W};
        c.mask = f[below(&s->r, 6)];
        break;
    }
    default: {
        static const uint64_t f[] = {VTD_FL_P, VTD_FL_RW, VTD_FL_US, VTD_FL_A, VTD_FL_D, VTD_FL_EA, VTD_BIT(51)};
        c.mask = f[below(&s->r, 7)];
        break;
    }
    }
    toggle(s, &c);
    return c;
}

static uint32_t eff_pasid(const struct set *s, const struct vtd_request *q)
{
    if (q->pasid_valid)
        return q->pasid;
    for (unsigned dv = 0; dv < NDEV; dv++)
        if (dev_sid[dv] == q->sid)
            return s->rid_pasid[dv];
    return 0xFFFFFFFFu;
}

/* a request that goes through entry e when one is found quickly */
static struct vtd_request req_for(struct set *s, const struct ent *e)
{
    struct vtd_request q = rnd_req(s);
    for (unsigned tries = 0; tries < 40; tries++, q = rnd_req(s)) {
        const uint32_t p = eff_pasid(s, &q);
        const int pi = pool_index(p);
        const uint64_t off = below(&s->r, 1ULL << (12 + 9 * (e->level - 1u))) & ~7ULL;
        switch (e->kind) {
        case E_CTX:
            if (q.sid == dev_sid[e->dev])
                return q;
            break;
        case E_DIR:
        case E_PE:
            if (q.sid == dev_sid[e->dev] && p == pool[e->pi])
                return q;
            break;
        case E_SL:
            if (pi >= 0 && s->kind[pi] == K_SL && s->pdom[pi] == e->dom) {
                q.addr = e->base + off;
                return q;
            }
            break;
        default:
            if (pi == e->dom) {
                q.addr = e->base + off;
                return q;
            }
            break;
        }
    }
    return q;
}

/* requests between a change and its invalidation: the old or the new
 * result (the old one computed with the change undone for a moment, so that
 * A/D bits set meanwhile count in both) */
static void stale_window(struct set *s, unsigned set_no, const struct ent *e, unsigned n)
{
    const struct change c = mutate(s, e);
    for (unsigned i = 0; i < n; i++) {
        struct vtd_request q = pct(&s->r, 70) ? req_for(s, e) : rnd_req(s);
        struct ref_sm_out old, now;
        toggle(s, &c);
        ref_sm_translate(&s->ref, s->t->mem, &q, &old);
        toggle(s, &c);
        ref_sm_translate(&s->ref, s->t->mem, &q, &now);
        struct vtd_result got = th_req(s->t, &q);
        nreq++;
        bool o = same_res(&got, &old.res), w = same_res(&got, &now.res);
        if (!o && !w)
            report(set_no, "stale window: neither old nor new", &q, &got, &now.res);
        else if (o && !w)
            stale_old++;
        else if (w && !o)
            stale_new++;
        for (unsigned k = 0; k < 8; k++)
            th_frcd_clear(s->t, k);
        th_wr32(s->t, VTD_REG_FSTS, th_rd32(s->t, VTD_REG_FSTS));
    }
}

/* ---- vtd_mappings_pasid against the reference ---- */

struct mlist {
    unsigned n;
    struct { uint64_t iova, pa, size; uint8_t perm; } m[1024];
};
static unsigned nmaps, nmap_checks;

static int collect(void *arg, uint64_t iova, uint64_t pa, uint64_t size, uint8_t perm)
{
    struct mlist *l = arg;
    if (l->n < 1024) {
        l->m[l->n].iova = iova;
        l->m[l->n].pa = pa;
        l->m[l->n].size = size;
        l->m[l->n].perm = perm;
        l->n++;
    }
    return 0;
}

static bool ad_or_intr(unsigned fr) { return fr == 0x7C || fr == 0x90 || fr == 0x77 || fr == 0x87; }

static void check_mappings(struct set *s, unsigned set_no, struct mlist *l, unsigned dv, bool pv, uint32_t pasid,
                           bool priv)
{
    struct vtd_request q = {.sid = dev_sid[dv], .at = VTD_AT_UNTRANSLATED, .pasid_valid = pv, .pasid = pasid,
                            .priv = pv && priv};
    l->n = 0;
    int rc = vtd_mappings_pasid(s->t->u, q.sid, pv, pasid, priv, 0, ~0ULL, collect, l);
    struct ref_sm_out o;
    if (rc == VTD_ENOENT) {
        q.access = VTD_R;
        q.addr = 0x1000;
        ref_sm_translate(&s->ref, s->t->mem, &q, &o);
        nmap_checks++;
        if (o.res.status != VTD_FAULT || (o.res.fault_reason >= 0x60 && o.res.fault_reason != 0x89)) {
            report(set_no, "mappings: ENOENT but the reference translates", &q, &o.res, &o.res);
        }
        return;
    }
    if (rc) {
        report(set_no, "mappings: error", &q, &o.res, &o.res);
        return;
    }
    nmaps += l->n;
    /* every mapping reported translates so (but for A/D and the interrupt range) */
    for (unsigned i = 0; i < l->n; i++) {
        for (unsigned k = 0; k < 2; k++) {
            uint64_t off = below(&s->r, l->m[i].size) & ~7ULL;
            q.addr = l->m[i].iova + off;
            q.access = (l->m[i].perm & VTD_R) ? VTD_R : VTD_W;
            ref_sm_translate(&s->ref, s->t->mem, &q, &o);
            nmap_checks++;
            struct vtd_result want = {.status = VTD_OK, .pa = l->m[i].pa + off, .perm = l->m[i].perm,
                                      .page_size = o.res.page_size};
            if (o.res.status == VTD_FAULT && ad_or_intr(o.res.fault_reason))
                continue;
            /* without PASID a write to the interrupt range is an interrupt
             * request (step 9), whatever the tables map there */
            if (o.res.status == VTD_BLOCKED && !pv && (q.addr >> 20) == (0xFEE00000ULL >> 20) && q.access == VTD_W)
                continue;
            if (!same_res(&o.res, &want))
                report(set_no, "mappings: reported, reference differs", &q, &want, &o.res);
        }
    }
    /* every address of the pools that translates is reported */
    int pi = pool_index(pv ? pasid : s->rid_pasid[dv]);
    for (unsigned k = 0; k < 24; k++) {
        uint64_t a = below(&s->r, 1ULL << 33);
        if (pi >= 0 && (s->kind[pi] == K_FL || s->kind[pi] == K_NEST))
            a = s->tree[pi].va[below(&s->r, NVA)] | (below(&s->r, 4096) & ~7ULL);
        else if (pi >= 0 && s->kind[pi] == K_SL)
            a = s->dom[s->pdom[pi]].iova[below(&s->r, s->dom[s->pdom[pi]].niova)];
        q.addr = a & ~7ULL;
        q.access = VTD_R;
        ref_sm_translate(&s->ref, s->t->mem, &q, &o);
        if (o.res.status == VTD_FAULT && o.res.fault_reason == 0x86) {
            q.access = VTD_W;
            ref_sm_translate(&s->ref, s->t->mem, &q, &o);
        }
        if (o.res.status != VTD_OK)
            continue;
        nmap_checks++;
        bool found = false;
        for (unsigned i = 0; i < l->n && !found; i++)
            found = q.addr >= l->m[i].iova && q.addr - l->m[i].iova < l->m[i].size &&
                    l->m[i].pa + (q.addr - l->m[i].iova) == o.res.pa && l->m[i].perm == o.res.perm;
        if (!found && l->n < 1024)
            report(set_no, "mappings: translates but not reported", &q, &o.res, &o.res);
    }
}

static void all_mappings(struct set *s, unsigned set_no)
{
    struct mlist *l = malloc(sizeof(*l));
    assert_non_null(l);
    for (unsigned dv = 0; dv < NDEV; dv++) {
        check_mappings(s, set_no, l, dv, false, 0, false);
        for (unsigned pi = 0; pi < NPASID; pi++)
            check_mappings(s, set_no, l, dv, true, pool[pi], pct(&s->r, 30));
    }
    free(l);
}

static void test_sm_random(void **state)
{
    uint64_t seed = env_u64("VTD_SM_RANDOM_SEED", 0x5A5A);
    unsigned sets = (unsigned)env_u64("VTD_SM_RANDOM_SETS", 100);
    unsigned reqs = (unsigned)env_u64("VTD_SM_RANDOM_REQS", 60);
    mismatches = stale_old = stale_new = nreq = nmaps = nmap_checks = 0;
    memset(outcomes, 0, sizeof(outcomes));
    for (unsigned n = (unsigned)env_u64("VTD_SM_RANDOM_FIRST", 0); n < sets; n++) {
        struct set *s = calloc(1, sizeof(*s));
        assert_non_null(s);
        setup_set(state, s, seed * 1000003 + n);
        cur = s;
        cur_phase = 0;
        memset(&last, 0, sizeof(last));
        for (unsigned phase = 0; phase < 6; phase++) {
            for (unsigned i = 0; i < reqs; i++)
                one_request(s, n);
            if (!s->nents)
                break;
            const struct ent e = s->ents[below(&s->r, s->nents)];
            last = e;
            cur_phase = phase + 1;
            if (pct(&s->r, 60))
                stale_window(s, n, &e, 12);
            else
                (void)mutate(s, &e);
            invalidate(s, &e);
            for (unsigned i = 0; i < reqs / 4; i++)
                one_req(s, n, req_for(s, &e));
            if (phase == 0 || phase == 5)
                all_mappings(s, n);
        }
        th_teardown(state);
        free(s);
    }
    print_message("%u sets, %u requests, %u mismatches; stale windows: %u old, %u new results; "
                  "vtd_mappings_pasid: %u mappings, %u checks\n",
                  sets, nreq, mismatches, stale_old, stale_new, nmaps, nmap_checks);
    for (unsigned k = 0; k < 256; k++)
        if (outcomes[k])
            print_message("%s 0x%02x: %u\n", k == 0 ? "ok" : k == 1 ? "blocked" : "fault", k, outcomes[k]);
    if (mismatches)
        fail_msg("%u mismatches (seed 0x%llx)", mismatches, (unsigned long long)seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sm_random, th_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
