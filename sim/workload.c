#include "workload.h"

#include "runtime.h"

#include <math.h>
#include <stdlib.h>

struct wl {
    eng *e;
    rng *rand;
    wl_config cfg;
    int64_t constant_gap_ns;
    double mean_gap_ns;
    uint64_t scheduled; /* arrivals scheduled so far */
    int64_t last_ns;    /* time of the last scheduled arrival */
    int64_t on_end_ns;  /* bursts: end of the current on period */
};

wl *wl_new(eng *e, rng *workload_rng, const wl_config *cfg)
{
    wl *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->e = e;
    w->rand = workload_rng;
    w->cfg = *cfg;
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
    return g > 9.2e18 ? INT64_MAX / 4 : (int64_t)g;
}

/* The time of the next arrival after `t`, or -1 when the workload is over. */
static int64_t next_time(wl *w, int64_t t)
{
    const wl_config *c = &w->cfg;
    if (c->requests && w->scheduled >= c->requests)
        return -1;
    int64_t end = c->duration_ns ? c->start_ns + c->duration_ns : INT64_MAX;
    int64_t n = t + gap(w);
    if (c->kind == WL_BURSTS) {
        /* Past the on period: skip the off period, start a new on period there. */
        while (n >= w->on_end_ns) {
            int64_t off = dist_draw(&c->burst_off, w->rand);
            int64_t on_start = w->on_end_ns + off;
            w->on_end_ns = on_start + dist_draw(&c->burst_on, w->rand);
            if (on_start >= end)
                return -1;
            n = on_start + gap(w);
        }
    }
    return n < end ? n : -1;
}

static void schedule_next(wl *w, int64_t from)
{
    int64_t t = next_time(w, from);
    if (t < 0) {
        int64_t last = w->scheduled ? w->last_ns : w->cfg.start_ns;
        eng_at(w->e, (last > eng_now(w->e) ? last : eng_now(w->e)) + w->cfg.drain_ns, EV_END, 0, 0);
        return;
    }
    w->last_ns = t;
    eng_at(w->e, t, EV_ARRIVAL, 0, ++w->scheduled);
}

void wl_start(wl *w)
{
    w->on_end_ns = w->cfg.start_ns;
    if (w->cfg.kind == WL_BURSTS)
        w->on_end_ns = w->cfg.start_ns + dist_draw(&w->cfg.burst_on, w->rand);
    /* The first arrival: constant starts at start; the others draw a first gap. */
    if (w->cfg.kind == WL_CONSTANT) {
        w->last_ns = w->cfg.start_ns;
        eng_at(w->e, w->cfg.start_ns, EV_ARRIVAL, 0, ++w->scheduled);
        return;
    }
    schedule_next(w, w->cfg.start_ns);
}

void wl_arrived(wl *w)
{
    schedule_next(w, eng_now(w->e));
}

uint64_t wl_arrivals(const wl *w)
{
    return w->scheduled;
}
