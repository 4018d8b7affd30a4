/* Helpers for simulator tests: run a scenario given as text, capture its outputs. */
#ifndef EDGELOSS_SIMTEST_H
#define EDGELOSS_SIMTEST_H

#include "scenario.h"
#include "sim.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct simrun {
    sim_result r;
    char *events;  /* the event log (malloc'd) */
    char *summary; /* what `edgeloss run` prints (malloc'd) */
    char *trace;   /* every step each task ran (malloc'd; NULL untraced) */
} simrun;

/* Parses and runs; fails the test on a bad scenario. seed < 0: the scenario's. */
simrun sim_text(const char *json, int64_t seed);
/*
 * The same without the step trace (trace NULL): the interpreter then takes its fast paths,
 * which a traced run never does, as `edgeloss run` does without --trace. dir: as in
 * sim_text_in (NULL for a scenario without an exporter).
 */
simrun sim_text_untraced(const char *json, int64_t seed, const char *dir);
/*
 * The same with a run directory (ledger.db, ingest.db) and, for files with
 * variants, the variant to run (NULL: the first).
 */
simrun sim_text_in(const char *json, int64_t seed, const char *dir, const char *variant);
void simrun_free(simrun *s);

/* A run that may end in an error, in a run directory of its own: sim_run's code and message
 * kept, so that a test can expect an EEXPORTER. A scenario that does not parse fails the test. */
typedef struct xrun {
    sim_result r;
    int rc;
    char err[2000];
    char *dir, *ledger_db;
} xrun;
xrun xrun_text(const char *json);
/*
 * A scenario for exporter tests (malloc'd): `requests` requests `gap_s` apart from t = 0, on
 * isolates with no cold start that idle out 10 s after their last request ended; network 1 ms
 * each way. `exporter` is the exporter object's members, `handler` the handler's steps.
 */
char *exporter_doc(const char *exporter, const char *handler, int requests, double gap_s);
/* The shipped scenarios and variants that run threshold (idle evictions, a busy isolate,
 * memory pressure, random kills): where a re-implementation of it must equal it item for item. */
#define THRESHOLD_TWIN_CASES 4
extern const char *const threshold_twin_cases[THRESHOLD_TWIN_CASES][2];
/* seed-000-cap-backoff.json (in scenarios_dir) written to dir/name as one file, its baseline
 * ("propagate with backoff") alone: with the built-in threshold when key is NULL, else with
 * the twin `"key": value` ("plugin" or "js") given threshold's settings as options (backoff_s
 * 300, Retry-After ignored). The malloc'd path. */
char *cap_backoff_twin_file(const char *scenarios_dir, const char *dir, const char *name,
                            const char *key, const char *value);
/* The run directory's exporter.log (malloc'd); fails the test when there is none. */
char *run_exporter_log(const char *dir);
void xrun_free(xrun *x);
/* Number of lines in the event log whose type is `type` ("task_wake"...). */
int events_of(const simrun *s, const char *type);
/* Number of event lines of `type` whose time is in [from, to) ns. */
int events_between(const simrun *s, const char *type, int64_t from, int64_t to);
/*
 * Number of trace lines containing `needle` anywhere: for needles inside a line (" await A").
 * A needle that starts with a time must use lines_starting: "5000000 r1" is inside
 * "15000000 r1".
 */
int trace_count(const simrun *s, const char *needle);
/* The trace line (without newline, static buffer) of the n-th (0-based) match, or "". */
const char *trace_line(const simrun *s, const char *needle, int nth);
/* Number of lines of `text` (a trace or an event log) that start with `prefix`. */
int lines_starting(const char *text, const char *prefix);
/* The first line of `text` that starts with `prefix` (a pointer into text, so that two can
 * be ordered), or NULL. */
const char *line_starting(const char *text, const char *prefix);

/* Fails the test unless item n's fate in the ledger is `want`: "fate/cause@died_ns/layer",
 * "-" for what is NULL (e.g. "lost/evicted-in-buffer@10000000000/exporter"). */
void expect_fate_in(const char *ledger_db, int n, const char *want);

#endif
