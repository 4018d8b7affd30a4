/*
 * Arrival processes: constant rate, Poisson, on/off bursts (Poisson arrivals
 * during "on" periods, none during "off" ones), diurnal (Poisson whose rate
 * follows a daily cosine from trough to peak, by thinning), and replay of
 * recorded timestamps; for a duration or a number of requests. Each arrival
 * also gets its colo, route and key: drawn by weight (uniform keys) from the
 * placement stream, or read from the replayed file. Times draw only from the
 * workload stream, so changing the runtime, the routes or the faults never
 * moves an arrival. After the last arrival the run drains for drain_ns, then
 * EV_END is scheduled.
 */
#ifndef SIM_WORKLOAD_H
#define SIM_WORKLOAD_H

#include "dist.h"
#include "engine.h"
#include "rng.h"
#include "runtime.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum { WL_CONSTANT, WL_POISSON, WL_BURSTS, WL_DIURNAL, WL_REPLAY } wl_kind;

typedef struct wl_config {
    wl_kind kind;
    double rate_per_s; /* constant and Poisson; during bursts' on periods */
    int64_t start_ns;
    int64_t duration_ns; /* arrivals stop at start + duration (0: no limit) */
    uint64_t requests;   /* arrivals stop after this many (0: no limit) */
    dist burst_on;       /* length of an on period */
    dist burst_off;      /* length of an off period */
    int64_t drain_ns;
    /* diurnal: rate_per_s is the peak, reached at peak_ns into each period */
    double trough_rate_per_s;
    int64_t peak_ns, period_ns;
    /* replay: arrival offsets from start_ns (sorted), and per arrival its
     * route, colo and key (each NULL: drawn as usual) */
    const int64_t *replay_ns;
    const uint32_t *replay_route, *replay_colo, *replay_key;
    uint64_t nreplay;
    /* what each arrival is drawn among (n <= 1: nothing drawn) */
    const double *colo_weights;
    uint32_t ncolos;
    const double *route_weights;
    uint32_t nroutes;
    uint32_t keys; /* 0: no key */
} wl_config;

typedef struct wl wl;

wl *wl_new(eng *e, rng *workload_rng, rng *placement_rng, const wl_config *cfg);
void wl_free(wl *w);
/* Schedules the first arrival (or the end, if there is none). */
void wl_start(wl *w);
/* On EV_ARRIVAL: the arrival's colo, route and key; schedules the next arrival, or the end. */
void wl_arrived(wl *w, uint64_t arrival, rt_arrival *out);
uint64_t wl_arrivals(const wl *w);
/* When the run ends (EV_END), known from wl_start on; ENG_TIME_MAX before. */
int64_t wl_end_at(const wl *w);

#endif
