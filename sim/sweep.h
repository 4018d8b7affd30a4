/*
 * Sweeps as data: one scenario file over a range of seeds (`edgeloss sweep`), what its runs
 * said, and the renderings made from it - the terminal summary, the JSON, JUnit XML and an
 * exit status as `check` has.
 *
 * What a sweep keeps is what merges exactly: per variant, its runs counted by status, each
 * check's failing seeds, each metric's values as a multiset (value and how many seeds had
 * it: percentiles come from it exactly, whatever the order the runs finished in), and every
 * run that did not pass in full. Two sweeps of the same file, binary and options over
 * disjoint slices of the range merge into what one sweep over both would have been, byte
 * for byte in every rendering: which is how shards on different machines combine
 * (`edgeloss merge`). A shard's result file is that data, written and read back.
 *
 * Nothing here reads the clock, the environment (the shard's index comes through a lookup
 * the caller passes) or a file; wall time is no part of any rendering.
 */
#ifndef SIM_SWEEP_H
#define SIM_SWEEP_H

#include "check.h"
#include "error.h"
#include "results.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The result file's and the JSON's "schema_version" (docs/sweep.md). */
#define SWP_SCHEMA_VERSION 1
/* At most this many seeds in one sweep, and this many shards. */
#define SWP_MAX_SEEDS  100000000ull
#define SWP_MAX_SHARDS 100000u

/* Which slice of the range a process runs: shard `index` of `count` (0-based). */
typedef struct swp_shard {
    uint32_t index, count;
    const char *from; /* where the index came from: "--shard", or the variable's name */
} swp_shard;

/*
 * Parses "A..B" (inclusive) or "A" into first and last. Returns SIM_OK or SIM_EUSAGE with
 * the message.
 */
sim_err swp_parse_seeds(const char *spec, uint64_t *first, uint64_t *last, char *err,
                        size_t errlen);

/*
 * Parses --shard's "INDEX/COUNT". INDEX is a number from 0, the name of an environment
 * variable holding one, or `auto`: the variable a batch system sets for an array member
 * (JOB_COMPLETION_INDEX, Kubernetes' Indexed Job, 0-based; SLURM_ARRAY_TASK_ID, less
 * SLURM_ARRAY_TASK_MIN; CI_NODE_INDEX, GitLab's parallel jobs, 1-based), the first one set.
 * COUNT is a number, a variable's name or `auto` (SLURM_ARRAY_TASK_COUNT, CI_NODE_TOTAL for
 * the variable INDEX came from). `env` looks a variable up (getenv, or a test's table).
 * Returns SIM_OK, or SIM_EUSAGE naming the variable and what it held.
 */
sim_err swp_parse_shard(const char *spec, const char *(*env)(void *ud, const char *name), void *ud,
                        swp_shard *out, char *err, size_t errlen);

/* The seeds shard i of n runs: a contiguous slice, [*first, *last]; false when empty. The
 * slices of 0..n-1 cover the range exactly once, in order. */
bool swp_slice(uint64_t first, uint64_t last, swp_shard sh, uint64_t *sfirst, uint64_t *slast);

/* One metric's values across the seeds of a variant. */
typedef struct swp_value {
    double v;
    uint64_t n; /* how many seeds had it */
} swp_value;

typedef struct swp_metric {
    char name[64];
    swp_value *vals; /* sorted by value, each value once */
    size_t nvals, cap;
    uint64_t seeds; /* seeds with a value (the n of the percentiles) */
    uint64_t empty; /* seeds where its population was empty (no value) */
} swp_metric;

/* What the percentiles are: nearest rank, so "p99 = x" reads "x or less on 99% of seeds". */
typedef struct swp_dist {
    uint64_t seeds;
    double min, p50, p90, p99, max;
} swp_dist;
/* False when the metric has no value on any seed. */
bool swp_distribution(const swp_metric *m, swp_dist *out);

/* A run that did not pass: failed a check, unverified, or could not run. */
typedef struct swp_failure {
    uint64_t seed;
    res_status status;
    sim_err err;   /* SIM_OK unless status is RES_ERROR */
    char *message; /* err's message, or NULL */
    check_result *checks;
    size_t nchecks;
    unsigned swarm_on; /* --swarm: the families the seed switched on */
} swp_failure;

/* A check of the variant, and the seeds it failed on. */
typedef struct swp_check {
    char name[64];
    uint64_t failed;
} swp_check;

typedef struct swp_variant {
    char *name;
    uint64_t runs, status[4]; /* by res_status */
    uint64_t metric_runs;     /* runs that reported metrics (verified): each metric's
                                 seeds + empty once swp_finish ran */
    unsigned swarm_present;   /* the fault families its rules are of */
    swp_check *checks;        /* in the scenario's order (the first run's) */
    size_t nchecks;
    swp_metric *metrics; /* in check_metrics' order */
    size_t nmetrics;
    swp_failure *failures; /* by seed once swp_finish ran */
    size_t nfailures, capfailures;
} swp_variant;

typedef struct swp_sweep {
    char *scenario;      /* the file as given on the command line */
    char *scenario_hash; /* of its bytes: shards of a changed file do not merge */
    char *binary;        /* the edgeloss that ran it: version and a hash of the executable */
    char *variant;       /* --variant, or NULL: every variant */
    uint64_t first, last;
    bool swarm;
    swp_shard shard; /* {0, 1} for the whole range */
    bool complete;   /* false: interrupted, some runs missing */
    swp_variant *variants;
    size_t nvariants;
    const char *prog; /* how reproduce commands call edgeloss */
} swp_sweep;

/* The variant's index, adding it (after the others) when new. */
size_t swp_variant_at(swp_sweep *s, const char *name);
/*
 * Folds one run of variant v in: its status, checks and metrics (m, nm: check_metrics'
 * list; none for a run that could not run). Copies what it keeps from r.
 */
void swp_add(swp_sweep *s, size_t v, const res_run *r, const check_metric *m, size_t nm,
             unsigned swarm_present, unsigned swarm_on);
/* Sorts the failures by seed and the metrics by name (what every rendering assumes: the
 * order runs finished in, or shards were given in, must not show), and counts a metric a
 * run did not report (a pipeline hop it never took) as empty for that run. */
void swp_finish(swp_sweep *s);
void swp_free(swp_sweep *s);

/* The exit status, as `check`'s: 130 interrupted, else the worst of 3, 2, 1 and 0. */
int swp_exit_code(const swp_sweep *s);

/* The command that reruns one run alone, shell-quoted. */
void swp_reproduce(const swp_sweep *s, const swp_variant *v, const swp_failure *f, char *buf,
                   size_t len);

/*
 * The terminal summary: per variant, its runs by status, the failing seeds (each with its
 * first failing check and reproduce command; the first `max_failures` of them), and each
 * shown metric's distribution. Shown: the metrics a check names, items, lost and
 * loss_ratio, and those in `extra` (comma-separated names; NULL for none).
 */
void swp_print(const swp_sweep *s, FILE *out, const char *extra, size_t max_failures);

/* The --json document (docs/sweep.md): no shard, no wall time, no run directory. */
cJSON *swp_json(const swp_sweep *s);
/* JUnit XML (docs/junit.xsd): a testsuite per variant, a testcase per check over the seeds
 * (failed when any seed failed it), one for the runs that could not run. Times are 0. */
void swp_write_junit(const swp_sweep *s, FILE *out);

/* The result file: all of the above's data, and the shard. */
cJSON *swp_result_json(const swp_sweep *s);
/* Reads one back; `file` names it in messages. SIM_EINPUT with the JSON path on anything
 * that is not a result file of this schema version. */
sim_err swp_result_from_json(const cJSON *j, const char *file, swp_sweep *out, char *err,
                             size_t errlen);

/*
 * Merges shards (read by swp_result_from_json) into one sweep over their whole range.
 * Refuses, with SIM_EINPUT and what differs: shards of different files, file contents,
 * binaries, ranges, variants, swarm or shard counts; a shard twice; a missing shard; an
 * interrupted one.
 */
sim_err swp_merge(swp_sweep *const *shards, const char *const *files, size_t n, swp_sweep *out,
                  char *err, size_t errlen);

/* FNV-1a over bytes (identities, not security): swp_hash(SWP_HASH_INIT, ...) and then
 * more bytes into the result, for data read in pieces; swp_hash_hex: one piece, as 16
 * hex digits. */
#define SWP_HASH_INIT 0xcbf29ce484222325ull
uint64_t swp_hash(uint64_t h, const void *data, size_t len);
void swp_hash_hex(const void *data, size_t len, char out[17]);

#endif
