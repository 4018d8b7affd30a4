/*
 * Seeded random streams. One stream per subsystem (workload, runtime,
 * network, faults, app, ...), each derived from the run's seed and the
 * stream's id, so adding draws to one subsystem never shifts another's.
 * xoshiro256** seeded through splitmix64; no global state.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

/* The subsystems. Append only: the numbers are part of every run's identity. */
typedef enum {
    RNG_WORKLOAD = 1,
    RNG_RUNTIME = 2,
    RNG_NETWORK = 3,
    RNG_FAULTS = 4,
    RNG_APP = 5,
    RNG_IDS = 6,       /* trace and span ids */
    RNG_EXPORTER = 7,  /* exporters' own draws (retry backoff) */
    RNG_PLACEMENT = 8, /* each arrival's colo, route and key (not its time) */
    RNG_QUEUE = 9,     /* a queue's send latencies */
    RNG_PIPELINE = 10, /* the third seed's pipeline: routing shares, the origin's job delays */
    RNG_SWARM = 11,    /* which fault families a swarm run switches on (flt_swarm_on) */
    RNG_WLOGS = 12,    /* Workers Logs' POSTs (wlogs.h) */
} rng_stream;

void rng_seed(rng *r, uint64_t seed, uint64_t stream);

/* Inline: every await and latency draws, so a call per draw shows in the engine's events/s. */
static inline uint64_t rng_rotl_(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rng_rotl_(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl_(s[3], 45);
    return result;
}

/* Uniform in [0, 1), 53 bits. */
static inline double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [lo, hi] (lo when hi <= lo); Lemire's rejection, unbiased. */
static inline int64_t rng_range(rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)(hi - lo) + 1;
    if (span == 0) /* the whole 64-bit range */
        return (int64_t)rng_next(r);
    uint64_t x = rng_next(r);
    __uint128_t m = (__uint128_t)x * span;
    uint64_t l = (uint64_t)m;
    if (l < span) { /* rare: only then is the threshold (a division) needed */
        uint64_t t = -span % span;
        while (l < t) {
            x = rng_next(r);
            m = (__uint128_t)x * span;
            l = (uint64_t)m;
        }
    }
    return lo + (int64_t)(m >> 64);
}

#endif
