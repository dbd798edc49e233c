/* Randomized differential test: the unit (vtd_translate, vtd_walk) against
 * the reference walker (tests/ref_walk.c) on random legacy-mode tables.
 *
 * Each table set is built from its own seed (base seed + set index through
 * splitmix64), so a failing set can be replayed alone:
 *   VTD_RANDOM_SEED=<base> VTD_RANDOM_ONLY=<set> ./test_random
 * Environment knobs: VTD_RANDOM_SEED (base seed), VTD_RANDOM_SETS (table sets
 * of the cached pass; the cache-free pass runs a quarter as many),
 * VTD_RANDOM_REQS (requests per phase), VTD_RANDOM_ONLY (one set),
 * VTD_RANDOM_MAXREPORT (detailed mismatch reports before going quiet),
 * VTD_RANDOM_TRACE=1 (print every request with both outcomes),
 * VTD_RANDOM_VERBOSE=1 (print each set's configuration).
 *
 * Properties checked, for every request:
 *  - vtd_walk (cache-free by contract) == reference, always;
 *  - vtd_translate == reference after th_inval_all, and with all caches
 *    absent also right after the tables were mutated without invalidation.
 * Between mutation and invalidation the cached pass still sends requests
 * (unchecked) so that stale entries exist for the invalidation to remove. */
#include "harness.h"
#include "ref_walk.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ PRNG */

struct rng {
    uint64_t s;
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rnd(struct rng *r)
{
    return splitmix64(&r->s);
}

static uint64_t rnd_below(struct rng *r, uint64_t n)
{
    return n == 0 ? 0 : rnd(r) % n;
}

/* true with probability pct/100 */
static bool chance(struct rng *r, unsigned pct)
{
    return rnd_below(r, 100) < pct;
}

/* true with probability pm/1000 */
static bool chance_pm(struct rng *r, unsigned pm)
{
    return rnd_below(r, 1000) < pm;
}

/* ----------------------------------------------------------- parameters */

#define DEFAULT_SEED 0x1D7D5EEDULL
#define DEFAULT_SETS 2000
#define DEFAULT_REQS 64
#define MUTATION_ROUNDS 2

#define MAX_DOMAINS 5
#define MAX_LEAVES 48
#define MAX_DEVS 12
#define MAX_BUSES 3
#define MAX_TABLES 512
#define MAX_ENTS 1024
#define MAX_HOLES 64
#define RECENT 16

#define HOLE_BASE 0x40000000ULL /* unbacked pages live here (below any haw) */

enum ent_kind { ENT_DEAD, ENT_ROOT, ENT_CTX, ENT_SL };

struct leaf {
    uint64_t iova, size;
};

struct domain {
    uint64_t root; /* SLPTPTR */
    bool root_hole;
    unsigned aw;
    uint16_t did;
    int nleaves;
    struct leaf leaves[MAX_LEAVES];
};

struct dev {
    uint16_t sid;
    int dom; /* domain whose addresses requests favour, -1 none */
};

struct ent {
    uint64_t addr;
    int kind;
    int level; /* SL entries: 1..5 */
};

struct options {
    uint64_t seed;
    unsigned sets, reqs;
    long only;
    unsigned max_report;
    bool trace_reqs; /* VTD_RANDOM_TRACE: print every request and outcome */
};

struct totals {
    unsigned long sets, compared, walk_compared, unchecked;
    unsigned long ok, blocked, faults;
    unsigned long fr[256];
    unsigned long mismatches, reported;
    unsigned long cfg_rejected, cap_readback_bad, fault_clear_bad;
};

struct set {
    struct th t;
    struct ref_unit ru;
    struct rng r;
    const struct options *opt;
    struct totals *tot;
    uint64_t set_seed;
    unsigned index;
    const char *pass;
    bool no_caches;
    uint16_t next_did;
    uint64_t nholes;

    int nbus;
    uint8_t buses[MAX_BUSES];
    uint64_t ctxtab[MAX_BUSES];
    bool ctxtab_hole[MAX_BUSES];

    int ndom;
    struct domain dom[MAX_DOMAINS];
    int ndev;
    struct dev devs[MAX_DEVS];

    int ntables;
    uint64_t tables[MAX_TABLES]; /* live (backed) second-level tables */
    int nents;
    struct ent ents[MAX_ENTS];

    int nrecent;
    struct vtd_request recent[RECENT];
    char trace[4096];
};

/* ------------------------------------------------------------- options */

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return def;
    return strtoull(v, NULL, 0);
}

static void get_options(struct options *o)
{
    o->seed = env_u64("VTD_RANDOM_SEED", DEFAULT_SEED);
    o->sets = (unsigned)env_u64("VTD_RANDOM_SETS", DEFAULT_SETS);
    o->reqs = (unsigned)env_u64("VTD_RANDOM_REQS", DEFAULT_REQS);
    const char *only = getenv("VTD_RANDOM_ONLY");
    o->only = (only != NULL && *only != '\0') ? strtol(only, NULL, 0) : -1;
    o->max_report = (unsigned)env_u64("VTD_RANDOM_MAXREPORT", 10);
    o->trace_reqs = env_u64("VTD_RANDOM_TRACE", 0) != 0;
}

/* -------------------------------------------------------------- memory */

static bool is_table(const struct set *s, uint64_t a)
{
    for (int i = 0; i < s->ntables; i++)
        if (s->tables[i] == a)
            return true;
    return false;
}

static uint64_t new_table(struct set *s)
{
    uint64_t a = th_alloc_page(&s->t);
    if (s->ntables < MAX_TABLES)
        s->tables[s->ntables++] = a;
    return a;
}

static uint64_t new_hole(struct set *s)
{
    uint64_t a = HOLE_BASE + s->nholes * VTD_PAGE_SIZE;
    s->nholes++;
    assert_int_equal(vtd_mem_add_hole(s->t.mem, a, VTD_PAGE_SIZE), 0);
    return a;
}

static void record_ent(struct set *s, uint64_t addr, int kind, int level)
{
    for (int i = 0; i < s->nents; i++)
        if (s->ents[i].addr == addr) {
            s->ents[i].kind = kind;
            s->ents[i].level = level;
            return;
        }
    if (s->nents < MAX_ENTS)
        s->ents[s->nents++] = (struct ent){ addr, kind, level };
}

/* A domain id nobody uses yet, within CAP.ND (very rarely beyond it: Bh). */
static uint64_t did_fresh(struct set *s)
{
    unsigned nd = (unsigned)((s->ru.cap & VTD_CAP_ND_MASK) >> VTD_CAP_ND_SHIFT);
    unsigned bits = 4 + 2 * nd;
    s->next_did = (uint16_t)(s->next_did + 1 + rnd_below(&s->r, 3));
    uint64_t did = bits >= 16 ? s->next_did : (s->next_did & ((1u << bits) - 1));
    if (bits < 16 && chance_pm(&s->r, 5))
        did |= 1u << (bits + rnd_below(&s->r, 16 - bits));
    return did;
}

static unsigned haw_of(const struct set *s)
{
    return s->ru.haw;
}

/* A random page-aligned output address below 2^haw, aligned to size. */
static uint64_t rnd_out(struct set *s, uint64_t size)
{
    struct rng *r = &s->r;
    if (chance(r, 3)) {
        /* the interrupt range (Eh) */
        if (size == VTD_PAGE_SIZE)
            return VTD_INTR_RANGE_BASE + rnd_below(r, 256) * VTD_PAGE_SIZE;
        return VTD_INTR_RANGE_BASE & ~(size - 1);
    }
    uint64_t lim = haw_of(s) >= 64 ? ~0ULL : (1ULL << haw_of(s)) - 1;
    if (chance(r, 30))
        lim = 0xFFFFFFFFULL; /* low memory, where the PMR low region lives */
    return rnd(r) & lim & ~(size - 1);
}

/* ------------------------------------------------------ config & unit */

static uint64_t sagaw_bit(unsigned aw)
{
    return 1ULL << (VTD_CAP_SAGAW_SHIFT + aw);
}

static bool cfg_accepted(const struct vtd_config *cfg)
{
    struct vtd_mem *m;
    struct vtd_host h;
    struct vtd *u;
    memset(&h, 0, sizeof(h));
    if (vtd_mem_create(1ULL << 24, &m) != 0)
        return false;
    vtd_mem_host(m, &h);
    int rc = vtd_create(cfg, &h, &u);
    if (rc == 0)
        vtd_destroy(u);
    vtd_mem_destroy(m);
    return rc == 0;
}

static void random_config(struct set *s, struct vtd_config *cfg)
{
    struct rng *r = &s->r;
    vtd_config_default(cfg);
    if (chance(r, 40)) {
        if (chance(r, 30))
            cfg->cap ^= VTD_CAP_ZLR;
        if (chance(r, 30)) {
            cfg->cap &= ~VTD_CAP_SLLPS_MASK;
            static const uint64_t sllps[] = { 0, 1, 3 }; /* 1 GiB implies 2 MiB */
            cfg->cap |= sllps[rnd_below(r, 3)] << VTD_CAP_SLLPS_SHIFT;
        }
        if (chance(r, 35)) {
            uint64_t sg = 0;
            while (sg == 0)
                sg = rnd_below(r, 8);
            cfg->cap &= ~VTD_CAP_SAGAW_MASK;
            unsigned minw = 0;
            for (unsigned aw = 1; aw <= 3; aw++)
                if (sg & (1u << (aw - 1))) {
                    cfg->cap |= sagaw_bit(aw);
                    if (minw == 0)
                        minw = 30 + 9 * aw;
                }
            /* MGAW between the smallest SAGAW width and 57 */
            unsigned w = minw + (unsigned)rnd_below(r, 57 - minw + 1);
            if (chance(r, 50))
                w = 57;
            cfg->cap &= ~VTD_CAP_MGAW_MASK;
            cfg->cap |= (uint64_t)(w - 1) << VTD_CAP_MGAW_SHIFT;
        } else if (chance(r, 15)) {
            /* MGAW narrower than some supported AGAW */
            unsigned w = 39 + (unsigned)rnd_below(r, 57 - 39 + 1);
            cfg->cap &= ~VTD_CAP_MGAW_MASK;
            cfg->cap |= (uint64_t)(w - 1) << VTD_CAP_MGAW_SHIFT;
        }
        if (chance(r, 20))
            cfg->cap ^= VTD_CAP_PSI;
        if (chance(r, 20))
            cfg->cap |= VTD_CAP_CM;
        if (chance(r, 10))
            cfg->cap ^= VTD_CAP_PLMR;
        if (chance(r, 10))
            cfg->cap ^= VTD_CAP_PHMR;
        if (chance(r, 15) && (cfg->ecap & VTD_ECAP_QI))
            cfg->ecap ^= VTD_ECAP_DT; /* DT needs QI (model.md) */
        if (chance(r, 15))
            cfg->ecap ^= VTD_ECAP_PT;
        if (chance(r, 15))
            cfg->ecap ^= VTD_ECAP_SC;
        if (chance(r, 15)) /* VER 1.0: PMRs do not check remapped output */
            cfg->ver = 0x10;
        if (chance(r, 10)) { /* fewer domain-id bits: 2^(4 + 2 ND) domains */
            cfg->cap &= ~VTD_CAP_ND_MASK;
            cfg->cap |= 1 + rnd_below(r, 6);
        }
        if (chance(r, 15)) {
            static const uint8_t haws[] = { 32, 36, 39, 40, 46, 48 };
            cfg->haw = haws[rnd_below(r, sizeof(haws))];
        }
    }
    if (s->no_caches) {
        cfg->iotlb_entries = 0;
        cfg->context_cache_entries = 0;
        cfg->pwc_entries = 0;
    } else if (chance(r, 35)) {
        /* small caches: evictions and conflicts */
        static const uint32_t ents[] = { 1, 2, 4, 8, 16 };
        cfg->iotlb_entries = ents[rnd_below(r, 5)];
        cfg->iotlb_ways = 1u << rnd_below(r, 3);
        while (cfg->iotlb_ways > cfg->iotlb_entries)
            cfg->iotlb_ways >>= 1;
        cfg->context_cache_entries = ents[rnd_below(r, 5)];
        cfg->pwc_entries = ents[rnd_below(r, 5)];
    }
    /* half the sets without stale checking: that is when the unit answers
     * cache hits from its fast path and front cache */
    if (chance(r, 50))
        cfg->check_stale = false;
    if (!cfg_accepted(cfg)) {
        s->tot->cfg_rejected++;
        fprintf(stderr, "note: set %u: config cap=%#" PRIx64 " ecap=%#" PRIx64 " haw=%u rejected; using default\n",
                s->index, cfg->cap, cfg->ecap, cfg->haw);
        bool nc = s->no_caches;
        vtd_config_default(cfg);
        if (nc) {
            cfg->iotlb_entries = 0;
            cfg->context_cache_entries = 0;
            cfg->pwc_entries = 0;
        }
    }
}

/* -------------------------------------------------- second-level tables */

static unsigned sl_index(uint64_t iova, int level)
{
    return (unsigned)((iova >> (VTD_PAGE_SHIFT + VTD_LEVEL_STRIDE * (level - 1))) & 0x1FF);
}

static uint64_t rnd_perm(struct rng *r, unsigned rw, unsigned ro, unsigned wo)
{
    unsigned x = (unsigned)rnd_below(r, 100);
    if (x < rw)
        return VTD_SL_R | VTD_SL_W;
    if (x < rw + ro)
        return VTD_SL_R;
    if (x < rw + ro + wo)
        return VTD_SL_W;
    return 0; /* not present */
}

/* Bits legacy mode ignores (model.md: 6:2, 63, 61:52; 10:8 are not listed as
 * reserved either). */
static uint64_t rnd_ignored(struct rng *r)
{
    uint64_t m = VTD_GENMASK(6, 2) | VTD_GENMASK(61, 52) | VTD_BIT(63);
    if (chance(r, 30))
        m |= VTD_GENMASK(10, 8);
    return rnd(r) & m;
}

/* One reserved-bit violation suitable for an entry at `level`. */
static uint64_t rnd_reserved_sl(struct set *s, int level, bool leaf, int levels)
{
    struct rng *r = &s->r;
    for (int tries = 0; tries < 8; tries++) {
        switch (rnd_below(r, 5)) {
        case 0:
            if (haw_of(s) < 52)
                return VTD_BIT(haw_of(s) + rnd_below(r, 52 - haw_of(s)));
            break;
        case 1:
            if (!leaf)
                return VTD_SL_SNP;
            if (!(s->ru.ecap & VTD_ECAP_SC))
                return VTD_SL_SNP;
            break;
        case 2:
            if (!leaf || !(s->ru.ecap & VTD_ECAP_DT))
                return VTD_SL_TM;
            break;
        case 3:
            if (level >= 4 && level <= levels)
                return VTD_SL_PS;
            break;
        case 4:
            if (leaf && level == 2)
                return VTD_BIT(12 + rnd_below(r, 9));
            if (leaf && level == 3)
                return VTD_BIT(12 + rnd_below(r, 18));
            break;
        }
    }
    return VTD_SL_TM | VTD_SL_SNP;
}

/* A non-leaf entry pointing at `next`. */
static uint64_t inter_entry(struct set *s, int level, int levels, uint64_t next)
{
    struct rng *r = &s->r;
    uint64_t e = next | rnd_perm(r, 90, 4, 4);
    if (chance(r, 8))
        e |= rnd_ignored(r) & ~VTD_GENMASK(10, 8);
    if (chance(r, 2))
        e |= rnd_reserved_sl(s, level, false, levels);
    return e;
}

static bool map_one(struct set *s, struct domain *d, uint64_t iova, int target)
{
    struct rng *r = &s->r;
    int levels = (int)d->aw + 2;
    if (!is_table(s, d->root) || d->aw < 1 || d->aw > 3 || target > 3)
        return false; /* root unbacked (from the start or punched later) */
    uint64_t table = d->root;
    for (int level = levels; level > target; level--) {
        uint64_t ea = table + sl_index(iova, level) * 8;
        uint64_t e = th_r64(&s->t, ea);
        if (e == 0) {
            bool hole = chance(r, 2);
            uint64_t nt = hole ? new_hole(s) : new_table(s);
            e = inter_entry(s, level, levels, nt);
            th_w64(&s->t, ea, e);
            record_ent(s, ea, ENT_SL, level);
            if (hole)
                return false;
        }
        if ((level == 2 || level == 3) && (e & VTD_SL_PS))
            return false; /* a leaf is in the way */
        uint64_t next = e & VTD_SL_ADDR_MASK;
        if (!is_table(s, next))
            return false;
        table = next;
    }
    uint64_t ea = table + sl_index(iova, target) * 8;
    if (th_r64(&s->t, ea) != 0)
        return false;
    uint64_t size = 1ULL << (VTD_PAGE_SHIFT + VTD_LEVEL_STRIDE * (target - 1));
    uint64_t e = rnd_out(s, size) | rnd_perm(r, 62, 14, 14);
    if (target > 1)
        e |= VTD_SL_PS;
    if (chance(r, 20))
        e |= VTD_SL_SNP;
    if (chance(r, 10))
        e |= VTD_SL_TM;
    if (chance(r, 15))
        e |= rnd_ignored(r);
    if (target == 1 && chance(r, 3))
        e |= VTD_SL_PS; /* bit 7 of a PTE: not listed as reserved */
    if (chance(r, 3))
        e |= rnd_reserved_sl(s, target, true, levels);
    if (chance(r, 2) && (e & (VTD_SL_R | VTD_SL_W)) == 0)
        e = 0; /* a plain empty slot */
    if (e == 0)
        return false;
    th_w64(&s->t, ea, e);
    record_ent(s, ea, ENT_SL, target);
    if (d->nleaves < MAX_LEAVES)
        d->leaves[d->nleaves++] = (struct leaf){ iova & ~(size - 1), size };
    return true;
}

static void map_random(struct set *s, struct domain *d, const uint64_t *region, int nregion)
{
    struct rng *r = &s->r;
    unsigned agaw = 30 + 9 * d->aw;
    int target;
    unsigned x = (unsigned)rnd_below(r, 100);
    target = x < 60 ? 1 : x < 85 ? 2 : 3;
    if (target == 2 && !(s->ru.cap & VTD_CAP_SLLPS_2M) && chance(r, 70))
        target = 1;
    if (target == 3 && !(s->ru.cap & VTD_CAP_SLLPS_1G) && chance(r, 70))
        target = 1;
    uint64_t iova;
    if (nregion == 0 || chance(r, 10)) {
        iova = rnd(r) & ((1ULL << agaw) - 1);
    } else {
        iova = region[rnd_below(r, (uint64_t)nregion)] + rnd_below(r, 4) * (1ULL << 30) +
               rnd_below(r, 8) * (1ULL << 21) + rnd_below(r, 16) * VTD_PAGE_SIZE;
        iova &= (1ULL << agaw) - 1;
    }
    map_one(s, d, iova, target);
}

/* --------------------------------------------------- root and contexts */

static int bus_slot(const struct set *s, uint8_t bus)
{
    for (int i = 0; i < s->nbus; i++)
        if (s->buses[i] == bus)
            return i;
    return -1;
}

static void write_root(struct set *s, int slot)
{
    struct rng *r = &s->r;
    uint64_t ea = s->t.rta + (uint64_t)s->buses[slot] * VTD_ROOT_SIZE;
    uint64_t lo = s->ctxtab[slot] | VTD_ROOT_LO_P, hi = 0;
    if (chance(r, 5))
        lo &= ~VTD_ROOT_LO_P;
    if (chance(r, 3)) {
        switch (rnd_below(r, 3)) {
        case 0:
            lo |= VTD_BIT(1 + rnd_below(r, 11));
            break;
        case 1:
            hi |= VTD_BIT(rnd_below(r, 64));
            break;
        default:
            lo |= VTD_BIT(haw_of(s) + rnd_below(r, 64 - haw_of(s)));
            break;
        }
    }
    th_w64(&s->t, ea, lo);
    th_w64(&s->t, ea + 8, hi);
    record_ent(s, ea, ENT_ROOT, 0);
}

/* Context entry for dev i on domain di (or a pass-through / odd one). */
static void write_ctx(struct set *s, int i, int di, unsigned tt)
{
    struct rng *r = &s->r;
    struct dev *dv = &s->devs[i];
    int slot = bus_slot(s, (uint8_t)(dv->sid >> 8));
    if (slot < 0 || s->ctxtab_hole[slot])
        return;
    uint64_t ea = s->ctxtab[slot] + (uint64_t)(dv->sid & 0xFF) * VTD_CTX_SIZE;
    struct domain *d = &s->dom[di];
    uint64_t slptptr = d->root;
    unsigned aw = d->aw;
    uint64_t did = d->did;
    if (tt == VTD_TT_PASSTHROUGH) {
        did = did_fresh(s);
        if (chance(r, 85)) {
            /* a supported AW */
            do
                aw = 1 + (unsigned)rnd_below(r, 3);
            while (!(s->ru.cap & sagaw_bit(aw)));
        } else {
            aw = (unsigned)rnd_below(r, 8);
        }
        if (chance(r, 50))
            slptptr = 0;
    } else if (chance(r, 4)) {
        /* an AW the domain was not built for: its own domain id */
        aw = (unsigned)rnd_below(r, 8);
        did = did_fresh(s);
    }
    uint64_t lo = slptptr | ((uint64_t)tt << VTD_CTX_LO_TT_SHIFT) | VTD_CTX_LO_P;
    uint64_t hi = (uint64_t)aw | (did << VTD_CTX_HI_DID_SHIFT);
    if (chance(r, 8))
        lo &= ~VTD_CTX_LO_P;
    if (chance(r, 15))
        lo |= VTD_CTX_LO_FPD;
    if (chance(r, 10))
        hi |= rnd(r) & VTD_CTX_HI_AVAIL_MASK;
    if (chance(r, 3)) {
        switch (rnd_below(r, 4)) {
        case 0:
            lo |= VTD_BIT(4 + rnd_below(r, 8));
            break;
        case 1:
            hi |= VTD_CTX_HI_RSVD7;
            break;
        case 2:
            hi |= VTD_BIT(24 + rnd_below(r, 40));
            break;
        default:
            lo |= VTD_BIT(haw_of(s) + rnd_below(r, 64 - haw_of(s)));
            break;
        }
    }
    th_w64(&s->t, ea, lo);
    th_w64(&s->t, ea + 8, hi);
    record_ent(s, ea, ENT_CTX, 0);
    dv->dom = di;
}

static unsigned rnd_tt(struct rng *r)
{
    unsigned x = (unsigned)rnd_below(r, 100);
    return x < 42 ? VTD_TT_UNTRANSLATED : x < 80 ? VTD_TT_DEVTLB : x < 95 ? VTD_TT_PASSTHROUGH : VTD_TT_RESERVED;
}

/* ---------------------------------------------------------- build a set */

/* Global invalidation.  The model refuses register-based invalidation while
 * the latched TTM is not legacy (CAIG=00): such sets fault 30h on every
 * request without reading a table, so nothing needs invalidating. */
static void inval_all(struct set *s)
{
    if (s->ru.ttm == VTD_TTM_LEGACY)
        th_inval_all(&s->t);
}

static void program_pmr(struct set *s)
{
    struct rng *r = &s->r;
    bool any = false;
    if ((s->ru.cap & VTD_CAP_PLMR) && chance(r, 70)) {
        /* bits 31:20 (model.md: 1 MiB granularity) */
        uint32_t base = (uint32_t)(rnd_below(r, 4096) << 20);
        uint32_t limit = chance(r, 10) ? (uint32_t)(rnd_below(r, 4096) << 20)
                                       : (uint32_t)(base + (rnd_below(r, 4) << 20));
        if (chance(r, 30)) { /* near the tables and the low addresses requests use */
            base = (uint32_t)(rnd_below(r, 8) << 20);
            limit = base + (uint32_t)(rnd_below(r, 3) << 20);
        }
        th_wr32(&s->t, VTD_REG_PLMBASE, base);
        th_wr32(&s->t, VTD_REG_PLMLIMIT, limit);
        s->ru.plmbase = base;
        s->ru.plmlimit = limit;
        any = true;
    }
    if ((s->ru.cap & VTD_CAP_PHMR) && chance(r, 70)) {
        uint64_t m = VTD_GENMASK(haw_of(s) - 1, 20); /* bits haw-1:20 */
        uint64_t base = rnd(r) & m;
        if (chance(r, 40))
            base = (rnd(r) & VTD_GENMASK(35, 20)) & m;
        uint64_t limit = chance(r, 10) ? (rnd(r) & m) : ((base + (rnd_below(r, 4) << 20)) & m);
        th_wr64(&s->t, VTD_REG_PHMBASE, base);
        th_wr64(&s->t, VTD_REG_PHMLIMIT, limit);
        s->ru.phmbase = base;
        s->ru.phmlimit = limit;
        any = true;
    }
    if (any) {
        th_wr32(&s->t, VTD_REG_PMEN, (uint32_t)VTD_PMEN_EPM);
        s->ru.epm = true;
    }
}

static void build_set(struct set *s)
{
    struct rng *r = &s->r;
    struct vtd_config cfg;
    random_config(s, &cfg);
    th_init(&s->t, &cfg);

    memset(&s->ru, 0, sizeof(s->ru));
    s->ru.cap = cfg.cap;
    s->ru.ecap = cfg.ecap;
    s->ru.haw = cfg.haw;
    s->ru.trace = s->trace;
    s->ru.trace_size = sizeof(s->trace);
    s->next_did = (uint16_t)rnd(r);
    s->ru.ver = cfg.ver;

    uint64_t cap_rb = th_rd64(&s->t, VTD_REG_CAP), ecap_rb = th_rd64(&s->t, VTD_REG_ECAP);
    if (cap_rb != cfg.cap || ecap_rb != cfg.ecap) {
        if (s->tot->cap_readback_bad++ == 0)
            fprintf(stderr, "note: CAP/ECAP read back %#" PRIx64 "/%#" PRIx64 ", configured %#" PRIx64
                    "/%#" PRIx64 "\n", cap_rb, ecap_rb, cfg.cap, cfg.ecap);
    }

    /* buses and their context tables */
    int want = 1 + (int)rnd_below(r, MAX_BUSES);
    s->nbus = 0;
    for (int k = 0; k < want; k++) {
        uint8_t b = (uint8_t)(chance(r, 50) ? rnd_below(r, 4) : rnd_below(r, 256));
        if (bus_slot(s, b) >= 0)
            continue; /* already have it */
        int i = s->nbus++;
        s->buses[i] = b;
        s->ctxtab_hole[i] = chance(r, 3);
        s->ctxtab[i] = s->ctxtab_hole[i] ? new_hole(s) : th_alloc_page(&s->t);
        write_root(s, i);
    }

    /* domains */
    s->ndom = 1 + (int)rnd_below(r, MAX_DOMAINS - 1);
    uint64_t region[4];
    for (int i = 0; i < s->ndom; i++) {
        struct domain *d = &s->dom[i];
        memset(d, 0, sizeof(*d));
        if (chance(r, 90)) {
            do
                d->aw = 1 + (unsigned)rnd_below(r, 3);
            while (!(s->ru.cap & sagaw_bit(d->aw)));
        } else {
            d->aw = 1 + (unsigned)rnd_below(r, 3);
        }
        d->did = (uint16_t)did_fresh(s);
        d->root_hole = chance(r, 3);
        d->root = d->root_hole ? new_hole(s) : new_table(s);
        unsigned agaw = 30 + 9 * d->aw;
        int nregion = 1 + (int)rnd_below(r, 4);
        for (int k = 0; k < nregion; k++)
            region[k] = (rnd(r) & ((1ULL << agaw) - 1)) & ~((1ULL << 30) - 1);
        if (chance(r, 50))
            region[0] = 0;
        int nmap = 1 + (int)rnd_below(r, 12);
        for (int k = 0; k < nmap; k++)
            map_random(s, d, region, nregion);
    }

    /* devices */
    s->ndev = 1 + (int)rnd_below(r, MAX_DEVS);
    for (int i = 0; i < s->ndev; i++) {
        int slot = (int)rnd_below(r, (uint64_t)s->nbus);
        uint8_t devfn = (uint8_t)(chance(r, 50) ? rnd_below(r, 16) : rnd_below(r, 256));
        s->devs[i].sid = (uint16_t)(s->buses[slot] << 8 | devfn);
        s->devs[i].dom = -1;
        write_ctx(s, i, (int)rnd_below(r, (uint64_t)s->ndom), rnd_tt(r));
    }

    program_pmr(s);

    /* root table: occasionally an unbacked one (8h everywhere) */
    if (chance_pm(r, 15))
        s->t.rta = new_hole(s);
    s->ru.rta = s->t.rta & VTD_GENMASK(haw_of(s) - 1, 12); /* RTA bits haw-1:12 writable */
    /* Rarely a TTM this unit does not support (model.md: 30h for everything) */
    s->ru.ttm = chance_pm(r, 15) ? 1 + (unsigned)rnd_below(r, 3) : VTD_TTM_LEGACY;
    th_set_root(&s->t, s->ru.ttm);
    if (chance(r, 6)) {
        s->ru.te = false;
    } else {
        th_enable_te(&s->t);
        s->ru.te = true;
    }
    if (getenv("VTD_RANDOM_VERBOSE"))
        fprintf(stderr, "set %u (%s): ver=%#x cap=%#" PRIx64 " ecap=%#" PRIx64 " haw=%u te=%d ttm=%u rta=%#" PRIx64
                " epm=%d iotlb=%u/%u ctx=%u pwc=%u\n", s->index, s->pass, s->ru.ver, s->ru.cap, s->ru.ecap, s->ru.haw,
                s->ru.te, s->ru.ttm, s->ru.rta, s->ru.epm, s->t.cfg.iotlb_entries, s->t.cfg.iotlb_ways,
                s->t.cfg.context_cache_entries, s->t.cfg.pwc_entries);
    inval_all(s);
}

/* ---------------------------------------------------------- mutations */

static void punch_hole(struct set *s, uint64_t page)
{
    assert_int_equal(vtd_mem_add_hole(s->t.mem, page, VTD_PAGE_SIZE), 0);
    for (int i = 0; i < s->nents; i++)
        if ((s->ents[i].addr & ~(VTD_PAGE_SIZE - 1)) == page)
            s->ents[i].kind = ENT_DEAD;
    for (int i = 0; i < s->ntables; i++)
        if (s->tables[i] == page)
            s->tables[i--] = s->tables[--s->ntables];
    for (int i = 0; i < s->nbus; i++)
        if (s->ctxtab[i] == page)
            s->ctxtab_hole[i] = true;
}

static void mutate_sl(struct set *s, const struct ent *en)
{
    struct rng *r = &s->r;
    uint64_t e = th_r64(&s->t, en->addr);
    switch (rnd_below(r, 10)) {
    case 0:
    case 1:
        e = 0;
        break;
    case 2:
        e ^= VTD_SL_R;
        break;
    case 3:
        e ^= VTD_SL_W;
        break;
    case 4:
        e ^= VTD_SL_PS;
        break;
    case 5:
        e |= rnd_reserved_sl(s, en->level, en->level == 1 || (e & VTD_SL_PS), 5);
        break;
    case 6:
        e ^= chance(r, 50) ? VTD_SL_SNP : VTD_SL_TM;
        break;
    case 7:
        /* repoint: another table, or a random output page */
        e &= ~VTD_SL_ADDR_MASK;
        if (s->ntables > 0 && chance(r, 60))
            e |= s->tables[rnd_below(r, (uint64_t)s->ntables)];
        else
            e |= rnd_out(s, VTD_PAGE_SIZE << (9 * (rnd_below(r, 3))));
        break;
    case 8:
        e = (e & ~(uint64_t)(VTD_SL_R | VTD_SL_W)) | rnd_perm(r, 40, 25, 25);
        break;
    default:
        e ^= rnd_ignored(r);
        break;
    }
    th_w64(&s->t, en->addr, e);
}

static int dev_at(const struct set *s, uint64_t ctx_addr)
{
    for (int i = 0; i < s->ndev; i++) {
        int slot = bus_slot(s, (uint8_t)(s->devs[i].sid >> 8));
        if (slot >= 0 && s->ctxtab[slot] + (uint64_t)(s->devs[i].sid & 0xFF) * VTD_CTX_SIZE == ctx_addr)
            return i;
    }
    return -1;
}

static void mutate_ctx(struct set *s, const struct ent *en)
{
    struct rng *r = &s->r;
    uint64_t lo = th_r64(&s->t, en->addr), hi = th_r64(&s->t, en->addr + 8);
    int di = dev_at(s, en->addr);
    switch (rnd_below(r, 5)) {
    case 0:
        lo ^= VTD_CTX_LO_P;
        break;
    case 1:
        lo ^= VTD_CTX_LO_FPD;
        break;
    case 2:
        if (chance(r, 50))
            lo ^= VTD_BIT(4 + rnd_below(r, 8));
        else
            hi ^= VTD_BIT(24 + rnd_below(r, 40));
        break;
    default:
        /* another domain and/or TT: rewrite it whole */
        if (di >= 0) {
            write_ctx(s, di, (int)rnd_below(r, (uint64_t)s->ndom), rnd_tt(r));
            return;
        }
        lo = 0;
        hi = 0;
        break;
    }
    th_w64(&s->t, en->addr, lo);
    th_w64(&s->t, en->addr + 8, hi);
}

static void mutate_root(struct set *s, const struct ent *en)
{
    struct rng *r = &s->r;
    uint64_t lo = th_r64(&s->t, en->addr), hi = th_r64(&s->t, en->addr + 8);
    switch (rnd_below(r, 4)) {
    case 0:
        lo ^= VTD_ROOT_LO_P;
        break;
    case 1:
        lo ^= VTD_BIT(1 + rnd_below(r, 11));
        break;
    case 2:
        hi ^= VTD_BIT(rnd_below(r, 64));
        break;
    default:
        lo = (lo & ~VTD_ROOT_LO_CTP_MASK) | s->ctxtab[rnd_below(r, (uint64_t)s->nbus)];
        break;
    }
    th_w64(&s->t, en->addr, lo);
    th_w64(&s->t, en->addr + 8, hi);
}

static const struct ent *pick_ent(struct set *s, int kind)
{
    int n = 0;
    for (int i = 0; i < s->nents; i++)
        n += s->ents[i].kind == kind;
    if (n == 0)
        return NULL;
    int k = (int)rnd_below(&s->r, (uint64_t)n);
    for (int i = 0; i < s->nents; i++)
        if (s->ents[i].kind == kind && k-- == 0)
            return &s->ents[i];
    return NULL;
}

static void mutate(struct set *s)
{
    struct rng *r = &s->r;
    int n = 1 + (int)rnd_below(r, 4);
    for (int k = 0; k < n; k++) {
        unsigned x = (unsigned)rnd_below(r, 100);
        const struct ent *en;
        if (x < 55) {
            if ((en = pick_ent(s, ENT_SL)) != NULL)
                mutate_sl(s, en);
        } else if (x < 72) {
            struct domain *d = &s->dom[rnd_below(r, (uint64_t)s->ndom)];
            uint64_t region = 0;
            if (d->nleaves > 0)
                region = d->leaves[rnd_below(r, (uint64_t)d->nleaves)].iova & ~((1ULL << 30) - 1);
            map_random(s, d, &region, 1);
        } else if (x < 87) {
            if ((en = pick_ent(s, ENT_CTX)) != NULL)
                mutate_ctx(s, en);
        } else if (x < 95) {
            if ((en = pick_ent(s, ENT_ROOT)) != NULL)
                mutate_root(s, en);
        } else if (x < 98) {
            if (s->ntables > 1)
                punch_hole(s, s->tables[1 + rnd_below(r, (uint64_t)s->ntables - 1)]);
        } else {
            if (chance(r, 50) && s->nbus > 0) {
                int slot = (int)rnd_below(r, (uint64_t)s->nbus);
                if (!s->ctxtab_hole[slot])
                    punch_hole(s, s->ctxtab[slot]);
            } else if (s->ntables > 0) {
                punch_hole(s, s->tables[0]);
            }
        }
    }
}

/* ------------------------------------------------------------ requests */

static uint64_t width_of_sid(struct set *s, const struct dev *dv)
{
    if (dv != NULL && dv->dom >= 0)
        return 30 + 9 * s->dom[dv->dom].aw;
    return 48;
}

static uint64_t rnd_addr(struct set *s, const struct dev *dv)
{
    struct rng *r = &s->r;
    const struct domain *d = (dv != NULL && dv->dom >= 0) ? &s->dom[dv->dom] : NULL;
    unsigned w = (unsigned)width_of_sid(s, dv);
    unsigned x = (unsigned)rnd_below(r, 100);
    if (x < 55 && d != NULL && d->nleaves > 0) {
        const struct leaf *l = &d->leaves[rnd_below(r, (uint64_t)d->nleaves)];
        return l->iova + rnd_below(r, l->size);
    }
    if (x < 62) {
        const struct domain *o = &s->dom[rnd_below(r, (uint64_t)s->ndom)];
        if (o->nleaves > 0) {
            const struct leaf *l = &o->leaves[rnd_below(r, (uint64_t)o->nleaves)];
            return l->iova + rnd_below(r, l->size);
        }
    }
    if (x < 68 && d != NULL && d->nleaves > 0) {
        /* just outside a leaf */
        const struct leaf *l = &d->leaves[rnd_below(r, (uint64_t)d->nleaves)];
        return chance(r, 50) ? l->iova + l->size + rnd_below(r, VTD_PAGE_SIZE) : l->iova - 1 - rnd_below(r, 64);
    }
    if (x < 78)
        return rnd(r) & ((1ULL << w) - 1);
    if (x < 86) {
        /* above the width: a bit at or somewhat above it */
        unsigned lo = w > 40 ? w - 2 : 38;
        unsigned bit = lo + (unsigned)rnd_below(r, 64 - lo);
        return (rnd(r) & ((1ULL << w) - 1)) | (1ULL << bit);
    }
    if (x < 92)
        return VTD_INTR_RANGE_BASE - 0x1000 + rnd_below(r, 0x102000);
    if (s->ru.epm) {
        bool low = chance(r, 50);
        uint64_t base = low ? s->ru.plmbase : s->ru.phmbase;
        uint64_t lim = (low ? (uint64_t)s->ru.plmlimit : s->ru.phmlimit) | 0xFFFFF;
        if (lim >= base && chance(r, 80))
            return base + rnd_below(r, lim - base + 1);
        return chance(r, 50) ? lim + 1 + rnd_below(r, 64) : base - 1 - rnd_below(r, 64);
    }
    return rnd(r) & 0xFFFFFFFFULL;
}

static void gen_req(struct set *s, struct vtd_request *q)
{
    struct rng *r = &s->r;
    if (s->nrecent > 0 && chance(r, 25)) {
        *q = s->recent[rnd_below(r, (uint64_t)(s->nrecent < RECENT ? s->nrecent : RECENT))];
        if (chance(r, 30))
            q->addr ^= rnd_below(r, VTD_PAGE_SIZE);
        return;
    }
    memset(q, 0, sizeof(*q));
    const struct dev *dv = NULL;
    if (chance(r, 88)) {
        dv = &s->devs[rnd_below(r, (uint64_t)s->ndev)];
        q->sid = dv->sid;
    } else if (chance(r, 50)) {
        q->sid = (uint16_t)(s->buses[rnd_below(r, (uint64_t)s->nbus)] << 8 | rnd_below(r, 256));
    } else {
        q->sid = (uint16_t)rnd(r);
    }
    unsigned x = (unsigned)rnd_below(r, 100);
    q->at = x < 68 ? VTD_AT_UNTRANSLATED : x < 84 ? VTD_AT_TRANSLATION_REQ : VTD_AT_TRANSLATED;
    x = (unsigned)rnd_below(r, 100);
    if (x < 33)
        q->access = VTD_R;
    else if (x < 63)
        q->access = VTD_W;
    else if (x < 78)
        q->access = VTD_R | VTD_W;
    else if (x < 84)
        q->access = VTD_R | VTD_X;
    else {
        q->access = VTD_R;
        q->zlr = true;
    }
    if (chance(r, 5)) {
        q->pasid_valid = true;
        q->pasid = (uint32_t)rnd_below(r, 1u << 20);
        q->priv = chance(r, 50);
    }
    q->addr = rnd_addr(s, dv);
    s->recent[s->nrecent++ % RECENT] = *q;
}

/* ----------------------------------------------------------- checking */

struct steps {
    int n;
    struct vtd_walk_step st[16];
};

static void step_cb(void *arg, const struct vtd_walk_step *st)
{
    struct steps *sp = arg;
    if (sp->n < 16)
        sp->st[sp->n++] = *st;
}

static const char *status_name(int st)
{
    return st == VTD_OK ? "OK" : st == VTD_FAULT ? "FAULT" : st == VTD_BLOCKED ? "BLOCKED" : "?";
}

static void print_res(const char *who, int rc, const struct vtd_result *x)
{
    fprintf(stderr, "  %-6s rc=%d %-7s", who, rc, status_name(x->status));
    if (x->status == VTD_FAULT)
        fprintf(stderr, " fr=%02Xh", x->fault_reason);
    else if (x->status == VTD_OK)
        fprintf(stderr, " pa=%#" PRIx64 " size=%#" PRIx64 " perm=%u ats=%u", x->pa, x->page_size,
                x->perm, x->ats);
    fprintf(stderr, "\n");
}

static bool same(const struct vtd_request *q, const struct vtd_result *a, const struct vtd_result *ref)
{
    (void)q;
    if (a->status != ref->status)
        return false;
    if (ref->status == VTD_FAULT)
        return a->fault_reason == ref->fault_reason;
    if (ref->status != VTD_OK)
        return true;
    if (a->perm != ref->perm)
        return false;
    /* A translation request that met a not-present entry grants nothing; its
     * address, size and attributes mean nothing (ref page_size 0). */
    if (ref->page_size == 0)
        return true;
    return a->pa == ref->pa && a->page_size == ref->page_size && a->ats == ref->ats;
}

static void report(struct set *s, const char *what, unsigned reqno, const struct vtd_request *q,
                   int urc, const struct vtd_result *u, int wrc, const struct vtd_result *w,
                   int rrc, const struct vtd_result *ref)
{
    struct totals *tot = s->tot;
    tot->mismatches++;
    if (tot->reported >= s->opt->max_report) {
        if (tot->reported == s->opt->max_report)
            fprintf(stderr, "(further mismatch reports suppressed)\n");
        tot->reported++;
        return;
    }
    tot->reported++;
    fprintf(stderr,
            "\nMISMATCH (%s) seed=%#" PRIx64 " set=%u (set seed %#" PRIx64 ") pass=%s request #%u\n",
            what, s->opt->seed, s->index, s->set_seed, s->pass, reqno);
    fprintf(stderr, "  replay: VTD_RANDOM_SEED=%#" PRIx64 " VTD_RANDOM_ONLY=%u\n", s->opt->seed, s->index);
    fprintf(stderr, "  unit: cap=%#" PRIx64 " ecap=%#" PRIx64 " haw=%u te=%d rta=%#" PRIx64
            " epm=%d plm=[%#x,%#x] phm=[%#" PRIx64 ",%#" PRIx64 "] caches=%s\n",
            s->ru.cap, s->ru.ecap, s->ru.haw, s->ru.te, s->ru.rta, s->ru.epm, s->ru.plmbase,
            s->ru.plmlimit, s->ru.phmbase, s->ru.phmlimit, s->no_caches ? "absent" : "present");
    fprintf(stderr, "  request: sid=%02x:%02x.%x at=%u access=%s%s%s%s pasid=%s%#x addr=%#" PRIx64 "\n",
            q->sid >> 8, (q->sid >> 3) & 0x1F, q->sid & 7, q->at, (q->access & VTD_R) ? "R" : "",
            (q->access & VTD_W) ? "W" : "", (q->access & VTD_X) ? "X" : "", q->zlr ? " (ZLR)" : "",
            q->pasid_valid ? "" : "none/", q->pasid, q->addr);
    if (u != NULL)
        print_res("unit", urc, u);
    print_res("walk", wrc, w);
    print_res("ref", rrc, ref);
    struct steps sp = { 0 };
    struct vtd_result tmp;
    vtd_walk(s->t.u, q, &tmp, step_cb, &sp);
    fprintf(stderr, "  unit's walk steps:\n");
    for (int i = 0; i < sp.n; i++) {
        const struct vtd_walk_step *st = &sp.st[i];
        fprintf(stderr, "    kind=%d level=%d index=%u table=%#" PRIx64 " addr=%#" PRIx64
                " val=%016" PRIx64 " %016" PRIx64 "%s\n",
                st->kind, st->level, st->index, st->table, st->addr, st->val[1], st->val[0],
                st->read_error ? " READ ERROR" : "");
    }
    fprintf(stderr, "  reference trace:\n");
    const char *p = s->trace;
    while (*p) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(stderr, "    %.*s\n", len, p);
        p += len + (nl ? 1 : 0);
    }
}

static void clear_faults(struct set *s)
{
    uint32_t fsts = th_rd32(&s->t, VTD_REG_FSTS);
    if (!(fsts & (VTD_FSTS_PPF | VTD_FSTS_PFO)))
        return;
    unsigned nfr = (unsigned)((s->ru.cap & VTD_CAP_NFR_MASK) >> VTD_CAP_NFR_SHIFT) + 1;
    for (unsigned i = 0; i < nfr; i++)
        th_frcd_clear(&s->t, i);
    th_wr32(&s->t, VTD_REG_FSTS, (uint32_t)VTD_FSTS_PFO);
    fsts = th_rd32(&s->t, VTD_REG_FSTS);
    if (fsts & (VTD_FSTS_PPF | VTD_FSTS_PFO)) {
        if (s->tot->fault_clear_bad++ == 0)
            fprintf(stderr, "note: FSTS=%#x after clearing every record and PFO\n", fsts);
    }
}

/* One request: reference, cache-free walk and (if check_unit) the unit. */
static void check_one(struct set *s, const struct vtd_request *q, unsigned reqno, bool check_unit,
                      const char *phase)
{
    struct vtd_result ref, w, u;
    memset(&u, 0, sizeof(u));
    memset(&w, 0, sizeof(w));
    int rrc = ref_translate(&s->ru, s->t.mem, q, &ref);
    assert_int_equal(rrc, 0);
    int wrc = vtd_walk(s->t.u, q, &w, NULL, NULL);
    int urc = vtd_translate(s->t.u, q, &u);

    s->tot->walk_compared++;
    if (wrc != 0 || !same(q, &w, &ref)) {
        char what[64];
        snprintf(what, sizeof(what), "vtd_walk, %s", phase);
        report(s, what, reqno, q, urc, &u, wrc, &w, rrc, &ref);
    } else if (check_unit) {
        s->tot->compared++;
        if (urc != 0 || !same(q, &u, &ref)) {
            char what[64];
            snprintf(what, sizeof(what), "vtd_translate, %s", phase);
            report(s, what, reqno, q, urc, &u, wrc, &w, rrc, &ref);
        }
    } else {
        s->tot->unchecked++;
    }
    if (ref.status == VTD_OK)
        s->tot->ok++;
    else if (ref.status == VTD_BLOCKED)
        s->tot->blocked++;
    else {
        s->tot->faults++;
        s->tot->fr[ref.fault_reason]++;
    }
    if (s->opt->trace_reqs)
        fprintf(stderr, "  [%s #%u] sid=%04x at=%u acc=%u%s%s addr=%#" PRIx64 " -> unit %s fr=%02x pa=%#" PRIx64
                " perm=%u | ref %s fr=%02x\n", phase, reqno, q->sid, q->at, q->access, q->zlr ? " zlr" : "",
                q->pasid_valid ? " pasid" : "", q->addr, status_name(u.status), u.fault_reason, u.pa, u.perm,
                status_name(ref.status), ref.fault_reason);
    if (urc == 0 && u.status == VTD_FAULT)
        clear_faults(s);
}

static void run_requests(struct set *s, unsigned n, bool check_unit, const char *phase)
{
    for (unsigned i = 0; i < n; i++) {
        struct vtd_request q;
        gen_req(s, &q);
        check_one(s, &q, i, check_unit, phase);
    }
}

static void run_set(const struct options *opt, struct totals *tot, unsigned index, bool no_caches)
{
    struct set *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->opt = opt;
    s->tot = tot;
    s->index = index;
    s->no_caches = no_caches;
    s->pass = no_caches ? "no-caches" : "caches";
    /* hash the base seed first, so that seeds s and s+1 do not share sets */
    uint64_t b = opt->seed ^ (no_caches ? 0xCAC4EULL << 32 : 0);
    uint64_t x = splitmix64(&b) + index;
    s->set_seed = splitmix64(&x);
    s->r.s = s->set_seed;

    build_set(s);
    run_requests(s, opt->reqs, true, "after build + th_inval_all");
    for (int round = 0; round < MUTATION_ROUNDS; round++) {
        mutate(s);
        /* Cached pass: exercise (and so fill) the caches with the old
         * tables' results; the property is only that invalidation ends it.
         * Without caches the unit must follow memory at once. */
        run_requests(s, opt->reqs / 4, no_caches, "after mutation, no invalidation");
        inval_all(s);
        run_requests(s, opt->reqs, true, "after mutation + th_inval_all");
    }
    tot->sets++;
    th_fini(&s->t);
    free(s);
}

static void run_pass(bool no_caches)
{
    struct options opt;
    struct totals *tot = calloc(1, sizeof(*tot));
    assert_non_null(tot);
    get_options(&opt);
    unsigned sets = no_caches ? (opt.sets + 3) / 4 : opt.sets;
    fprintf(stderr, "test_random (%s): seed %#" PRIx64 ", %u table sets x %u requests/phase%s\n",
            no_caches ? "caches absent" : "caches present", opt.seed, sets, opt.reqs,
            opt.only >= 0 ? " (one set only)" : "");
    for (unsigned i = 0; i < sets; i++) {
        if (opt.only >= 0 && (long)i != opt.only)
            continue;
        run_set(&opt, tot, i, no_caches);
    }
    fprintf(stderr, "test_random (%s): %lu sets, %lu walk comparisons, %lu unit comparisons, %lu unchecked; "
            "reference outcomes: %lu OK, %lu blocked, %lu faults\n  fault reasons:",
            no_caches ? "caches absent" : "caches present", tot->sets, tot->walk_compared, tot->compared,
            tot->unchecked, tot->ok, tot->blocked, tot->faults);
    for (int i = 0; i < 256; i++)
        if (tot->fr[i])
            fprintf(stderr, " %02Xh:%lu", i, tot->fr[i]);
    fprintf(stderr, "\n");
    if (tot->cfg_rejected)
        fprintf(stderr, "  configs rejected by vtd_create: %lu\n", tot->cfg_rejected);
    if (tot->cap_readback_bad)
        fprintf(stderr, "  CAP/ECAP readback differed from the config: %lu sets\n", tot->cap_readback_bad);
    if (tot->fault_clear_bad)
        fprintf(stderr, "  fault status not cleared: %lu times\n", tot->fault_clear_bad);
    fprintf(stderr, "  mismatches: %lu\n", tot->mismatches);
    unsigned long mism = tot->mismatches;
    free(tot);
    if (mism != 0)
        fail_msg("%lu mismatches between the unit and the reference walker", mism);
}

static void test_random_cached(void **state)
{
    (void)state;
    run_pass(false);
}

static void test_random_no_caches(void **state)
{
    (void)state;
    run_pass(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_cached),
        cmocka_unit_test(test_random_no_caches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
