/*
 * Arrival processes: constant rate, Poisson, and on/off bursts (Poisson
 * arrivals during "on" periods, none during "off" ones), for a duration or a
 * number of requests. Draws only from the workload stream, so changing the
 * runtime or faults never moves an arrival. After the last arrival the run
 * drains for drain_ns, then EV_END is scheduled.
 */
#ifndef SIM_WORKLOAD_H
#define SIM_WORKLOAD_H

#include "dist.h"
#include "engine.h"
#include "rng.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum { WL_CONSTANT, WL_POISSON, WL_BURSTS } wl_kind;

typedef struct wl_config {
    wl_kind kind;
    double rate_per_s; /* constant and Poisson; during bursts' on periods */
    int64_t start_ns;
    int64_t duration_ns; /* arrivals stop at start + duration (0: no limit) */
    uint64_t requests;   /* arrivals stop after this many (0: no limit) */
    dist burst_on;       /* length of an on period */
    dist burst_off;      /* length of an off period */
    int64_t drain_ns;
} wl_config;

typedef struct wl wl;

wl *wl_new(eng *e, rng *workload_rng, const wl_config *cfg);
void wl_free(wl *w);
/* Schedules the first arrival (or the end, if there is none). */
void wl_start(wl *w);
/* On EV_ARRIVAL: schedules the next arrival, or the end after the last. */
void wl_arrived(wl *w);
uint64_t wl_arrivals(const wl *w);

#endif
