#include "dist.h"

#include <math.h>
#include <stdio.h>

/* z of the 99th percentile of the standard normal. */
#define Z99 2.3263478740408408

int64_t dist_draw_slow_(const dist *d, rng *r)
{
    switch (d->kind) {
    case DIST_FIXED:
        return d->a_ns;
    case DIST_UNIFORM:
        return rng_range(r, d->a_ns, d->b_ns);
    case DIST_EXPONENTIAL: {
        double u = rng_unit(r);
        double v = -log1p(-u) * (double)d->a_ns;
        return v >= (double)DIST_MAX_NS ? DIST_MAX_NS : (int64_t)v;
    }
    case DIST_LOGNORMAL: {
        /* mu = ln p50; sigma from p99 = exp(mu + Z99 sigma). Box-Muller, one value per draw
         * (two uniforms), so every draw consumes the same amount of the stream. */
        double mu = log((double)d->a_ns);
        double sigma = (log((double)d->b_ns) - mu) / Z99;
        double u1 = rng_unit(r), u2 = rng_unit(r);
        double z = sqrt(-2.0 * log1p(-u1)) * cos(2.0 * M_PI * u2);
        double v = exp(mu + sigma * z);
        return v >= (double)DIST_MAX_NS ? DIST_MAX_NS : (int64_t)v;
    }
    case DIST_EMPIRICAL: {
        if (d->nsamples == 0)
            return 0;
        /* Inverse transform of the piecewise-linear CDF through the sorted samples. */
        double x = rng_unit(r) * (double)(d->nsamples - 1);
        uint32_t i = (uint32_t)x;
        if (i + 1 >= d->nsamples)
            return d->samples[d->nsamples - 1];
        double frac = x - (double)i;
        return d->samples[i] + (int64_t)((double)(d->samples[i + 1] - d->samples[i]) * frac);
    }
    }
    return 0;
}

void dist_edges(const dist *d, int64_t *lo, int64_t *hi)
{
    switch (d->kind) {
    case DIST_UNIFORM:
        *lo = d->a_ns, *hi = d->b_ns;
        return;
    case DIST_EXPONENTIAL: /* unbounded above: 0 and the 99th percentile */
        *lo = 0;
        *hi = (int64_t)fmin((double)DIST_MAX_NS, (double)d->a_ns * log(100.0));
        return;
    case DIST_LOGNORMAL: /* the 1st and 99th percentiles (symmetric in log) */
        *lo = (int64_t)((double)d->a_ns * (double)d->a_ns / (double)d->b_ns);
        *hi = d->b_ns;
        return;
    case DIST_EMPIRICAL:
        *lo = d->nsamples ? d->samples[0] : 0;
        *hi = d->nsamples ? d->samples[d->nsamples - 1] : 0;
        return;
    case DIST_FIXED:
        break;
    }
    *lo = *hi = d->a_ns;
}

double dist_mean(const dist *d)
{
    switch (d->kind) {
    case DIST_FIXED:
        return (double)d->a_ns;
    case DIST_UNIFORM:
        return ((double)d->a_ns + (double)d->b_ns) / 2.0;
    case DIST_EXPONENTIAL:
        return (double)d->a_ns;
    case DIST_LOGNORMAL: {
        double mu = log((double)d->a_ns);
        double sigma = (log((double)d->b_ns) - mu) / Z99;
        return exp(mu + sigma * sigma / 2.0);
    }
    case DIST_EMPIRICAL: {
        /* The mean of the interpolated distribution: the trapezoids between neighbours. */
        if (d->nsamples < 2)
            return d->nsamples ? (double)d->samples[0] : 0;
        double sum = 0;
        for (uint32_t i = 0; i + 1 < d->nsamples; i++)
            sum += ((double)d->samples[i] + (double)d->samples[i + 1]) / 2.0;
        return sum / (double)(d->nsamples - 1);
    }
    }
    return 0;
}

static void fmt_ns(int64_t ns, char *buf, unsigned len)
{
    if (ns % 1000000000 == 0)
        snprintf(buf, len, "%llds", (long long)(ns / 1000000000));
    else if (ns % 1000000 == 0)
        snprintf(buf, len, "%lldms", (long long)(ns / 1000000));
    else if (ns % 1000 == 0)
        snprintf(buf, len, "%lldus", (long long)(ns / 1000));
    else
        snprintf(buf, len, "%lldns", (long long)ns);
}

const char *dist_describe(const dist *d, char *buf, unsigned len)
{
    char a[32], b[32];
    fmt_ns(d->a_ns, a, sizeof a);
    fmt_ns(d->b_ns, b, sizeof b);
    switch (d->kind) {
    case DIST_FIXED:
        snprintf(buf, len, "fixed %s", a);
        break;
    case DIST_UNIFORM:
        snprintf(buf, len, "uniform %s..%s", a, b);
        break;
    case DIST_EXPONENTIAL:
        snprintf(buf, len, "exponential mean %s", a);
        break;
    case DIST_LOGNORMAL:
        snprintf(buf, len, "lognormal p50 %s p99 %s", a, b);
        break;
    case DIST_EMPIRICAL:
        if (d->nsamples) {
            fmt_ns(d->samples[0], a, sizeof a);
            fmt_ns(d->samples[d->nsamples - 1], b, sizeof b);
        }
        snprintf(buf, len, "empirical %u samples %s..%s", d->nsamples, d->nsamples ? a : "-",
                 d->nsamples ? b : "-");
        break;
    }
    return buf;
}
