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
} rng_stream;

void rng_seed(rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(rng *r);
/* Uniform in [0, 1) with 53 bits. */
double rng_unit(rng *r);
/* Uniform integer in [lo, hi] (inclusive), unbiased. */
int64_t rng_range(rng *r, int64_t lo, int64_t hi);

#endif
