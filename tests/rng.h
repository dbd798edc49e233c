/* Seeded pseudo-random numbers for the randomized tests (splitmix64), and
 * the random first-level entry bits test_fl_random and test_sm_random share. */
#ifndef VTD_TEST_RNG_H
#define VTD_TEST_RNG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <vtd/defs.h>

struct rng {
    uint64_t s;
};
static inline uint64_t rnd(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static inline uint64_t below(struct rng *r, uint64_t n) { return rnd(r) % n; }
static inline bool pct(struct rng *r, unsigned p) { return below(r, 100) < p; }

static inline uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = getenv(name);
    return (v && *v) ? strtoull(v, NULL, 0) : def;
}

/* P (97%), R/W and U/S (85% each), A (40%), D on leaves (30%), EA (20%),
 * and 10% of the time bit 9 and bits 62:52, which are ignored */
static inline uint64_t rng_fl_bits(struct rng *r, bool leaf)
{
    uint64_t b = VTD_FL_P;
    if (pct(r, 85))
        b |= VTD_FL_RW;
    if (pct(r, 85))
        b |= VTD_FL_US;
    if (pct(r, 40))
        b |= VTD_FL_A;
    if (leaf && pct(r, 30))
        b |= VTD_FL_D;
    if (pct(r, 20))
        b |= VTD_FL_EA;
    if (pct(r, 3))
        b &= ~VTD_FL_P;
    if (pct(r, 10))
        b |= VTD_BIT(9) | (below(r, 0x7FF) << 52); /* ignored */
    return b;
}

#endif
