/*
 * `edgeloss shrink`: from a run that fails a check, search for a smaller scenario that
 * still fails the same check, and write it as a scenario file of one variant with its
 * seed (docs/shrink.md).
 *
 * The search works on one variant's whole document (scn_variant_doc) with `seed` set and
 * `seeds` removed. Every candidate is a real run: scn_parse of its text (named by the
 * original file, so that data files given relative to it still resolve), then sim_run
 * with the embedded ingest, real HTTP and SQLite, in a scratch run directory whose
 * databases are removed after each run. A candidate "fails" when one of its checks has
 * the target's name, does not pass, and is vacuous (its population empty) exactly when the
 * first run's failure was: "nothing to check" is not the failure being kept; and it loses
 * no item to a cause the first run lost none to (a loss turned into another is another
 * failure: cutting drain_s to 0 strands items at the run's end). A candidate
 * that does not load, or that exceeds its work budget while running, does not fail: so
 * reductions may be optimistic.
 *
 * Reductions are a finite, ordered list computed from the document alone (shr_reductions,
 * shr_reduce): each one makes the document strictly smaller in a well-founded sense (a
 * part removed, a step unwrapped, a number lowered towards a floor, a distribution made
 * fixed), so the search ends. The greedy search goes through them in order, takes the
 * first candidate that still fails and carries on from the same index in the new
 * document; it stops when every reduction of the current document has been tried since
 * the last one taken (the result is then 1-minimal with respect to the list: each single
 * reduction of it passes or does not load), or at a bound (max_runs, max_time_s), an
 * interrupt or a harness error. Which candidates are tried depends only on the runs'
 * verdicts, which are deterministic: without a bound or an interrupt, the same input gives
 * the same result, byte for byte. The wall clock is read only to stop.
 */
#ifndef SIM_SHRINK_H
#define SIM_SHRINK_H

#include "check.h"
#include "error.h"
#include "progress.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SHR_DEFAULT_MAX_RUNS 500
#define SHR_DEFAULT_MAX_TIME 600.0 /* seconds of wall time */

/* How many single reductions `doc` (a one-variant scenario document) has. */
size_t shr_reductions(const cJSON *doc);
/*
 * The k-th of them applied to a copy of `doc` (cJSON_Delete it), its description written to
 * `what` ("workload.duration_s: 600 -> 300", "app.handler[1] (await \"kv.get\"): removed");
 * NULL when k >= shr_reductions(doc). The copy is not validated: it may not load.
 */
cJSON *shr_reduce(const cJSON *doc, size_t k, char *what, size_t whatlen);

/* What a document has, and what a run of it made (for the before/after lines). */
typedef struct shr_size {
    uint64_t requests; /* arrivals in the run */
    uint64_t items;    /* telemetry items the run created */
    double duration_s; /* workload.duration_s (default 60; 0: only `requests` limits) */
    double drain_s;    /* workload.drain_s (default 60) */
    size_t steps;      /* program steps, nested ones included, over the handler or every route */
    size_t routes;     /* app.routes (0: one handler) */
    size_t fault_rules, colos, expects;
    size_t bytes; /* the document printed as shr_write writes it, without name, description
                     and sources */
} shr_size;

/* The document's part of a shr_size (requests and items are left as they are). */
void shr_measure(const cJSON *doc, shr_size *out);

typedef struct shr_options {
    uint64_t seed;       /* every run's seed; written into the result's `seed` */
    const char *check;   /* the check to keep failing (check_result.check); NULL: the first that
                            fails in the first run */
    const char *file;    /* the scenario file as opened: names it in messages, and data files
                            are found relative to it */
    const char *run_dir; /* an existing scratch directory for the runs' databases */
    uint64_t max_runs;   /* runs at most, the first included (0: SHR_DEFAULT_MAX_RUNS) */
    double max_time_s;   /* wall seconds at most, checked between runs and within them; the
                            first run is never cut (0: SHR_DEFAULT_MAX_TIME) */
    const volatile sig_atomic_t *stop; /* when it becomes non-zero the search stops (EINTR) */
    prog *progress;                    /* progress line (NULL: none) */
    FILE *log;                         /* a line per reduction taken (NULL: none) */
    /* shr_try: a candidate that loses an item to a cause outside these (bit per
     * ledger_cause) fails differently, so it passes (0: any cause). The search uses the
     * first run's causes (shr_result.causes). */
    uint64_t causes;
} shr_options;

typedef struct shr_result {
    cJSON *doc;          /* the smallest failing document found (`seed` set): the first run's
                            document when none was found; NULL when there is nothing to shrink */
    char check[64];      /* the check it fails */
    uint64_t causes;     /* the first run's lost items' causes: each candidate keeps to them */
    check_result failed; /* that check's result in the run of `doc` */
    uint64_t runs;       /* runs made (candidates that did not load are not runs) */
    uint64_t tried;      /* candidates tried, loaded or not */
    uint64_t accepted;   /* reductions taken (pins included) */
    char **taken;        /* what they changed, in order; successive changes of one number
                            merged ("workload.duration_s: 600 -> 1") */
    size_t ntaken;
    bool minimal;            /* every reduction of `doc` was tried: 1-minimal */
    bool hit_runs, hit_time; /* stopped by max_runs or max_time_s (not proven 1-minimal) */
    bool interrupted;        /* stopped by o->stop (the search returns SIM_EINTR) */
    bool nothing;            /* the first run does not fail the check: nothing to shrink */
    bool no_such_check;      /* o->check names no check of the scenario */
    shr_size before, after;
} shr_result;

/*
 * Shrinks `doc` (scn_variant_doc's document; not changed). Returns SIM_OK with the result;
 * SIM_EUSAGE with a message when there is nothing to shrink (out->nothing) or no such check
 * (out->no_such_check); SIM_EINPUT when `doc` does not load; the first run's error (its
 * exit status is sim_exit_code's); SIM_EINTR when interrupted (out->doc is still the
 * smallest found so far, out->interrupted set, when the first run had finished); a harness
 * error of a later run (SIM_EINGEST, SIM_ELEDGER, SIM_ENOMEM, SIM_EIO). Free the result
 * either way.
 */
sim_err shr_search(const cJSON *doc, const shr_options *o, shr_result *out, char *err,
                   size_t errlen);
void shr_result_free(shr_result *r);

/* What one run of a document did with respect to a check. */
typedef enum { SHR_PASSES, SHR_FAILS, SHR_NOLOAD } shr_outcome;
/*
 * One run of `doc` as the search runs a candidate (o->seed, o->file, o->run_dir; the bounds
 * are not applied): SHR_FAILS when it fails like `like` (a check of that name does not pass,
 * and is vacuous exactly when `like` is, and no lost item's cause is outside o->causes),
 * SHR_NOLOAD when it does not load or exceeds its
 * work budget, else SHR_PASSES. Returns SIM_OK, or a harness error or SIM_EINTR.
 */
sim_err shr_try(const cJSON *doc, const shr_options *o, const check_result *like, shr_outcome *out,
                char *err, size_t errlen);

/*
 * Writes `doc` to `path` (whole or not at all: PATH.tmp renamed over it) as a scenario file:
 * two-space indentation, a newline at the end. Data files (workload.replay.file, an empirical
 * distribution's file) named relative to `from_file` are renamed relative to `path`'s
 * folder, so that the written file loads from where it is. Returns SIM_OK, or SIM_EIO with a
 * message.
 */
sim_err shr_write(const cJSON *doc, const char *path, const char *from_file, char *err,
                  size_t errlen);
/* The text shr_write writes (malloc'd), data file names as they are. */
char *shr_print(const cJSON *doc);

/* The command: argv without the command word; returns the exit status. `stop` is the
 * caller's signal flag (SIGINT, SIGTERM): the search stops when it becomes non-zero and
 * writes what it has. */
int shr_cli(int argc, char **argv, const char *prog, const volatile sig_atomic_t *stop);
/* Its help text. */
void shr_usage(FILE *f);

#endif
