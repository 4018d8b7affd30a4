/*
 * Latency and duration distributions, all in integer nanoseconds:
 * fixed, uniform, exponential (by mean), lognormal (by p50 and p99).
 * Golden tests use fixed and uniform only: exponential and lognormal go
 * through libm, which may differ between machines in the last bit.
 */
#ifndef SIM_DIST_H
#define SIM_DIST_H

#include "rng.h"

#include <stdint.h>

typedef enum { DIST_FIXED, DIST_UNIFORM, DIST_EXPONENTIAL, DIST_LOGNORMAL } dist_kind;

typedef struct dist {
    dist_kind kind;
    int64_t a_ns; /* fixed value; uniform low; exponential mean; lognormal p50 */
    int64_t b_ns; /* uniform high; lognormal p99 */
} dist;

static inline dist dist_fixed(int64_t ns)
{
    return (dist){DIST_FIXED, ns, ns};
}

/* One draw, >= 0. Fixed draws consume no randomness. */
int64_t dist_draw(const dist *d, rng *r);
/* The distribution's mean in ns (for reports and sanity checks). */
double dist_mean(const dist *d);
/* "fixed 5ms", "uniform 1s..5s", ... into buf. */
const char *dist_describe(const dist *d, char *buf, unsigned len);

#endif
