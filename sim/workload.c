#include "workload.h"

#include "runtime.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

struct wl {
    eng *e;
    rng *rand;
    rng *place; /* colo, route and key of each arrival */
    wl_config cfg;
    int64_t constant_gap_ns;
    double mean_gap_ns;
    uint64_t scheduled; /* arrivals scheduled so far */
    int64_t last_ns;    /* time of the last scheduled arrival */
    int64_t on_end_ns;  /* bursts: end of the current on period */
    int64_t end_ns;     /* the run's end (end_of_run, at wl_start) */
};

wl *wl_new(eng *e, rng *workload_rng, rng *placement_rng, const wl_config *cfg)
{
    wl *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->e = e;
    w->rand = workload_rng;
    w->place = placement_rng;
    w->cfg = *cfg;
    w->end_ns = ENG_TIME_MAX;
    w->mean_gap_ns = 1e9 / cfg->rate_per_s;
    w->constant_gap_ns = (int64_t)llround(w->mean_gap_ns);
    return w;
}

void wl_free(wl *w)
{
    free(w);
}

static int64_t gap(wl *w)
{
    if (w->cfg.kind == WL_CONSTANT)
        return w->constant_gap_ns;
    double g = -log1p(-rng_unit(w->rand)) * w->mean_gap_ns;
    return g >= (double)ENG_TIME_MAX ? ENG_TIME_MAX : (int64_t)g;
}

/* The diurnal rate at t as a share of the peak: 1 at the peak, trough/peak half a period away. */
static double diurnal_share(const wl_config *c, int64_t t)
{
    double phase = (double)((t - c->peak_ns) % c->period_ns) / (double)c->period_ns;
    double lo = c->trough_rate_per_s / c->rate_per_s;
    return lo + (1.0 - lo) * (1.0 + cos(2.0 * M_PI * phase)) / 2.0;
}

static uint32_t pick(rng *r, const double *w, uint32_t n)
{
    if (n <= 1)
        return 0;
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += w[i];
    double u = rng_unit(r) * total;
    for (uint32_t i = 0; i < n; i++) {
        if (u < w[i])
            return i;
        u -= w[i];
    }
    return n - 1;
}

/* The time of the next arrival after `t`, or -1 when the workload is over. */
static int64_t next_time(wl *w, int64_t t)
{
    const wl_config *c = &w->cfg;
    if (c->requests && w->scheduled >= c->requests)
        return -1;
    int64_t end = c->duration_ns ? c->start_ns + c->duration_ns : ENG_TIME_MAX;
    if (c->kind == WL_REPLAY) {
        if (w->scheduled >= c->nreplay)
            return -1;
        int64_t n = c->start_ns + c->replay_ns[w->scheduled];
        return n < end ? n : -1;
    }
    /* t < end <= ENG_TIME_MAX and a gap <= ENG_TIME_MAX: the sum fits in int64 unsaturated,
     * and is only compared with `end` (the hot path of every arrival: no eng_add). */
    int64_t n = t + gap(w);
    if (c->kind == WL_DIURNAL) {
        /* Thinning: candidates at the peak rate, each kept with the share of the peak now. */
        while (n < end && rng_unit(w->rand) >= diurnal_share(c, n))
            n += gap(w);
    }
    if (c->kind == WL_BURSTS) {
        /* Past the on period: skip the off period, start a new on period there. */
        while (n >= w->on_end_ns) {
            int64_t off = dist_draw(&c->burst_off, w->rand);
            int64_t on_start = eng_add(w->on_end_ns, off);
            w->on_end_ns = eng_add(on_start, dist_draw(&c->burst_on, w->rand));
            if (on_start >= end)
                return -1;
            n = eng_add(on_start, gap(w));
        }
    }
    return n < end ? n : -1;
}

static void schedule_next(wl *w, int64_t from)
{
    int64_t t = next_time(w, from);
    if (t < 0) {
        int64_t last = w->scheduled ? w->last_ns : w->cfg.start_ns;
        int64_t end = eng_add(last > eng_now(w->e) ? last : eng_now(w->e), w->cfg.drain_ns);
        assert(end == w->end_ns); /* what end_of_run foresaw */
        eng_at(w->e, end, EV_END, 0, 0);
        return;
    }
    w->last_ns = t;
    eng_at(w->e, t, EV_ARRIVAL, 0, ++w->scheduled);
}

/*
 * When the run will end: the arrivals drawn ahead on copies of the state and the random
 * stream, so the real draws are untouched. The runtime needs it before the first segment
 * that may cross it, which can start long before the last arrival is drawn. O(arrivals)
 * cheap draws, once.
 */
static int64_t end_of_run(const wl *w)
{
    wl c = *w;
    rng r = *w->rand;
    c.rand = &r;
    int64_t last = w->cfg.start_ns, t = w->cfg.start_ns;
    if (c.cfg.kind == WL_CONSTANT)
        c.scheduled = 1; /* the first arrival is at the start, undrawn */
    for (int64_t n; (n = next_time(&c, t)) >= 0; t = n) {
        c.scheduled++;
        last = n;
    }
    /* As schedule_next: the last arrival's instant (or the start, at time 0 or later). */
    return eng_add(last > eng_now(w->e) ? last : eng_now(w->e), w->cfg.drain_ns);
}

void wl_start(wl *w)
{
    w->on_end_ns = w->cfg.start_ns;
    if (w->cfg.kind == WL_BURSTS)
        w->on_end_ns = eng_add(w->cfg.start_ns, dist_draw(&w->cfg.burst_on, w->rand));
    w->end_ns = end_of_run(w);
    /* The first arrival: constant starts at start; the others draw a first gap. */
    if (w->cfg.kind == WL_REPLAY) {
        schedule_next(w, w->cfg.start_ns);
        return;
    }
    if (w->cfg.kind == WL_CONSTANT) {
        w->last_ns = w->cfg.start_ns;
        eng_at(w->e, w->cfg.start_ns, EV_ARRIVAL, 0, ++w->scheduled);
        return;
    }
    schedule_next(w, w->cfg.start_ns);
}

void wl_arrived(wl *w, uint64_t arrival, rt_arrival *out)
{
    const wl_config *c = &w->cfg;
    uint64_t i = arrival - 1; /* arrivals are numbered from 1 */
    bool rep = c->kind == WL_REPLAY && i < c->nreplay;
    out->colo =
        rep && c->replay_colo ? c->replay_colo[i] : pick(w->place, c->colo_weights, c->ncolos);
    out->route =
        rep && c->replay_route ? c->replay_route[i] : pick(w->place, c->route_weights, c->nroutes);
    out->key = rep && c->replay_key ? c->replay_key[i]
               : c->keys > 1        ? (uint32_t)rng_range(w->place, 0, c->keys - 1)
                                    : 0;
    schedule_next(w, eng_now(w->e));
}

int64_t wl_end_at(const wl *w)
{
    return w->end_ns;
}

uint64_t wl_arrivals(const wl *w)
{
    return w->scheduled;
}
