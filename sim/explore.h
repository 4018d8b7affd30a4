/*
 * The interleaving explorer: runs one scenario under many await orderings and finds one that
 * loses or mixes telemetry.
 *
 * The ordering space is the runtime's scheduling choices (rt_set_chooser): whenever more than
 * one task of an isolate is ready at once - awaits completing at the same instant, a request
 * arriving as another's await completes, work queued behind CPU - which runs next. A schedule
 * is the sequence of those choices; index 0 everywhere is the queue's order, what a plain
 * run takes too, except where a plain run's wake-up runs before another event of the same
 * instant (a chooser waits for them all): an arrival there may be routed differently. Its printed
 * form lists only the choices that are not 0, as `point:pick` (the point counted from 0 over the
 * run's choices, the pick an index into the ready tasks, oldest first), optionally preceded by
 * `Nr/` when the run is cut to its first N requests: "0" is the default order, "2r/3:1" the first 2
 * requests with the fourth choice taking the second-oldest ready task. With latencies explored
 * (xpl_options.latencies) every await's and fetch's latency is a choice too - the seed's draw (0),
 * or the lower (1) or upper (2) edge of its distribution (dist_edges) - and the form starts with
 * "lat/".
 *
 * Strategies:
 *  - exhaustive: every schedule, depth first (each run replays a prefix and records how many
 *    tasks were ready at each later choice), up to max_schedules;
 *  - pct: Burckhardt et al.'s probabilistic concurrency testing (ASPLOS 2010) over requests:
 *    random distinct priorities, d - 1 priority change points among the k choices of a run;
 *    the highest-priority ready request runs. One run finds a bug of depth d with probability
 *    at least 1 / (n k^(d-1)), n the requests plus one for work of no request (the threads
 *    here are requests: a request's own tasks keep their queue order), so N clean runs leave
 *    a miss probability of at most (1 - 1 / (n k^(d-1)))^N;
 *  - random: a uniform pick at every choice, as a baseline;
 *  - auto: exhaustive, and pct when the space is larger than the bound.
 * Everything draws from the explorer's own seed: same scenario, seed and options, same
 * schedules, same result.
 *
 * A schedule is bad when an item is lost or misattributed, or when an `expect` check with
 * holds true fails (checks the memory mode cannot decide - delays, exposure, evictions, the
 * first seed's named criteria - are left to the full run). The plain run (no chooser: its
 * wake-ups run at once, so routing at an instant can differ from every schedule's) is judged
 * first; a clean search ends with one full run of the plain run, which judges every check. While
 * searching, each run's verdict comes from the ledger's memory mode (ledger.h: no HTTP, no SQLite,
 * every POST taken as accepted), so a scenario that configures the ingest (a cap, an API key) is
 * refused. The bad schedule found is shrunk (fewest requests, then fewest non-zero choices) and
 * then confirmed by one full run with real HTTP and SQLite, whose fates the result carries.
 */
#ifndef SIM_EXPLORE_H
#define SIM_EXPLORE_H

#include "error.h"
#include "scenario.h"
#include "sim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XPL_CHOICES_MAX 4096 /* non-zero choices a schedule may name */

/* A schedule: the choices that are not 0, by point, and the request cut (0: none). */
typedef struct xpl_schedule {
    bool latencies; /* await latencies are choices too (printed "lat/" first) */
    uint64_t requests;
    size_t n;
    uint64_t point[XPL_CHOICES_MAX];
    uint32_t pick[XPL_CHOICES_MAX];
} xpl_schedule;

/* Parses the printed form. Returns SIM_OK, or SIM_EUSAGE with the expectation. */
sim_err xpl_parse(const char *text, xpl_schedule *out, char *err, size_t errlen);
void xpl_format(const xpl_schedule *s, char *buf, size_t len);
/* The same into a malloc'd string of the right size. */
char *xpl_format_alloc(const xpl_schedule *s);

/* Replaying a schedule in a run (edgeloss run --schedule): set chooser = xpl_replay_choose,
 * chooser_ud = a zeroed xpl_replay with `s` set. A pick past the ready tasks takes the last. */
typedef struct xpl_replay {
    const xpl_schedule *s;
    uint64_t point; /* choices made so far */
    size_t used;    /* of the schedule's choices, those the run reached */
} xpl_replay;
uint32_t xpl_replay_choose(void *ud, uint64_t isolate, const uint64_t *requests, uint32_t n);

typedef enum { XPL_AUTO, XPL_EXHAUSTIVE, XPL_PCT, XPL_RANDOM } xpl_strategy;

typedef struct xpl_options {
    xpl_strategy strategy;
    uint64_t max_schedules; /* exhaustive: the bound (default 10000) */
    uint64_t runs;          /* pct and random: how many (default 1000) */
    uint64_t scenario_seed; /* with seed_set: the scenario seed to explore (else its first) */
    bool seed_set;
    uint32_t depth; /* pct: d (default 2) */
    uint64_t seed;  /* the explorer's draws */
    bool no_shrink;
    bool latencies; /* also choose await latencies among the draw and the support's edges */
    const char *confirm_dir; /* the confirming run's directory (ledger.db, ingest.db) */
} xpl_options;

typedef struct xpl_result {
    xpl_strategy strategy; /* the one that ran (auto resolved) */
    uint64_t schedules;    /* schedules run while searching (the default order is the first) */
    uint64_t shrink_runs;  /* runs made to shrink the bad one */
    bool complete;         /* exhaustive: every schedule was run */
    bool bound_hit;        /* exhaustive: more than max_schedules */
    uint64_t requests;     /* n: requests in the default run */
    uint64_t points;       /* k: choices in the default run */
    uint64_t pct_runs;     /* pct or random: the runs made (besides the default order) */
    double miss_bound;     /* pct: the miss probability bound (NAN otherwise) */
    uint64_t seed;         /* the scenario seed explored */
    double wall_s;         /* searching only */
    bool found;
    bool plain;       /* found: the bad run is the plain one (no chooser, no --schedule) */
    bool full_only;   /* found: only the full run's checks saw it (memory mode cannot) */
    xpl_schedule bad; /* found, !plain: shrunk */
    char why[256];    /* found: what made it bad, in words */
    bool confirmed;   /* found: the full run with real HTTP was bad too */
    sim_result full;  /* the full run: of the bad schedule, or of the plain run */
    bool has_full;
} xpl_result;

/* Explores scenario `s` (one variant). Returns SIM_OK (found or not), SIM_EINPUT when the
 * scenario cannot be explored (no exporter, an ingest that refuses), or a run's error. */
sim_err xpl_explore(const scenario *s, const xpl_options *o, xpl_result *out, char *err,
                    size_t errlen);
void xpl_result_free(xpl_result *r);

#endif
