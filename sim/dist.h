/*
 * Latency and duration distributions, all in integer nanoseconds:
 * fixed, uniform, exponential (by mean), lognormal (by p50 and p99), and
 * empirical: measured samples (e.g. production latencies), drawn by inverse
 * transform of their distribution, interpolating between neighbours.
 * Golden tests use fixed and uniform only: exponential and lognormal go
 * through libm, which may differ between machines in the last bit.
 */
#ifndef SIM_DIST_H
#define SIM_DIST_H

#include "rng.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The longest duration a distribution gives: 1e18 ns (1e9 s, about 31.7 years). Scenario
 * values are validated against it and the unbounded kinds (exponential, lognormal) are
 * clamped to it, so a draw added to any instant of a run fits in int64 (engine.h).
 */
#define DIST_MAX_NS 1000000000000000000LL

typedef enum {
    DIST_FIXED,
    DIST_UNIFORM,
    DIST_EXPONENTIAL,
    DIST_LOGNORMAL,
    DIST_EMPIRICAL
} dist_kind;

typedef struct dist {
    dist_kind kind;
    int64_t a_ns; /* fixed value; uniform low; exponential mean; lognormal p50; empirical: unit */
    int64_t b_ns; /* uniform high; lognormal p99 */
    const int64_t *samples; /* empirical: sorted, borrowed from the scenario */
    uint32_t nsamples;
} dist;

static inline dist dist_fixed(int64_t ns)
{
    return (dist){DIST_FIXED, ns, ns, NULL, 0};
}

/* One draw, 0..DIST_MAX_NS. Fixed draws consume no randomness. */
int64_t dist_draw_slow_(const dist *d, rng *r); /* the kinds that need libm or a table */

static inline int64_t dist_draw(const dist *d, rng *r)
{
    /* Inline: the fixed and uniform latencies of most models cost no call. */
    if (d->kind == DIST_UNIFORM)
        return rng_range(r, d->a_ns, d->b_ns);
    if (d->kind == DIST_FIXED)
        return d->a_ns;
    return dist_draw_slow_(d, r);
}
/* The edges of what a draw can be: the bounds of uniform and empirical, the value of fixed;
 * for exponential and lognormal, unbounded above, their 1st and 99th percentiles (0 for
 * exponential's lower). For the explorer's latency choices. */
void dist_edges(const dist *d, int64_t *lo, int64_t *hi);
/* The distribution's mean in ns (for reports and sanity checks). */
double dist_mean(const dist *d);
/* "fixed 5ms", "uniform 1s..5s", ... into buf. */
const char *dist_describe(const dist *d, char *buf, unsigned len);

#endif
