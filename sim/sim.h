/*
 * One run: scenario x seed. Builds the engine, the random streams, the
 * runtime, the workload and the interpreter, pops events until the drain
 * period ends, and reports. Owns nothing global; two runs in one process are
 * independent and, for the same scenario and seed, identical.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include "app.h"
#include "runtime.h"
#include "scenario.h"
#include "telemetry.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sim_options {
    uint64_t seed;
    bool seed_set; /* else the scenario's seed */
    FILE *events;  /* when set, every event is written here, one per line, seed first */
    FILE *trace;   /* when set, every step each task runs (app.h), seed first */
} sim_options;

typedef struct sim_result {
    uint64_t seed;
    uint64_t events;
    uint64_t hash;  /* the event-log hash */
    int64_t end_ns; /* virtual time when the run ended */
    double mean_queue_depth;
    rt_stats rt;
    app_stats app;
    tel_null tel; /* telemetry calls made while no exporter is configured */
} sim_result;

/* Returns 0, or 1 with a message when memory runs out. */
int sim_run(const scenario *s, const sim_options *o, sim_result *out, char *err, size_t errlen);

/* The summary `edgeloss run` prints: the seed first, then the numbers. Deterministic. */
void sim_print_summary(const scenario *s, const sim_result *r, FILE *out);
/* The same as JSON (summary.json). */
void sim_write_summary_json(const scenario *s, const sim_result *r, FILE *out);

/* "14h00m00.000000000s" */
const char *sim_format_duration(int64_t ns, char *buf, size_t len);

#endif
