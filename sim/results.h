/*
 * Results as data: what `edgeloss check` (and the report) knows of each run - the
 * scenario file, variant and seed, whether it ran, its verdict and each check as a
 * structure - and the renderings made from it: the terminal table, JSON and JUnit XML.
 * A run that could not run (a bad file, a harness failure, a crashed child) is a result
 * too, never dropped. The order of runs is the caller's and is kept: renderings of the
 * same set are the same bytes, except the fields that measure wall time.
 */
#ifndef SIM_RESULTS_H
#define SIM_RESULTS_H

#include "check.h"
#include "error.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The results JSON's "schema_version" (docs/check.md). */
#define RES_SCHEMA_VERSION 1

typedef enum {
    RES_PASS,       /* every check holds (or it has none and nothing to verify) */
    RES_FAIL,       /* a check failed */
    RES_UNVERIFIED, /* fates could not be decided (no ingest database): never a pass */
    RES_ERROR,      /* it could not run: `err` says why */
} res_status;

typedef struct res_run {
    char *file;     /* the scenario file as found */
    char *name;     /* the scenario's one-line name ("" when the file could not be loaded) */
    char *variant;  /* NULL when the file itself could not be loaded */
    uint64_t seed;  /* meaningful when variant is set */
    sim_err err;    /* SIM_OK, or why it could not run */
    char *message;  /* err's message */
    bool telemetry; /* the run had an exporter */
    bool verified;  /* its fates were decided against the ingest's database */
    uint64_t items, lost;
    check_result *checks;
    size_t nchecks;
    char *run_dir; /* where its ledger.db, ingest.db and summary.json are, or NULL */
    /* A sweep's runs: every metric's value (check_metrics; malloc'd when read back), and
     * the fault families its rules are of and those the seed switched on (--swarm). */
    check_metric *metrics;
    size_t nmetrics;
    unsigned swarm_present, swarm_on;
    double wall_s; /* timing only: never compared, never decides */
} res_run;

typedef struct res_set {
    res_run *runs;
    size_t n, cap;
    const char *prog; /* how the reproduce commands call edgeloss (argv[0]) */
    const char *args; /* options every run had (--exporter-js FILE...), shell-quoted, or NULL */
} res_set;

/* A zeroed run appended to the set (aborts when out of memory). */
res_run *res_add(res_set *s);
void res_run_clear(res_run *r);
void res_free(res_set *s);

res_status res_status_of(const res_run *r);
const char *res_status_name(res_status st); /* "pass", "fail", "unverified", "error" */
/* The exit status for the whole set: 130 when interrupted, else the worst of 3 (the
 * harness), 2 (input), 1 (a check failed or a verdict unverified), 0. */
int res_exit_code(const res_set *s);

/* Appends a space and `arg` to buf, single-quoted when a shell would read it otherwise. */
void res_shell_arg(char *buf, size_t len, const char *arg);
/* Text for XML 1.0 (and HTML), in attributes or not: the five escapes, tab and newline as
 * references, '?' for control bytes and bytes that are not UTF-8. */
void res_xml(FILE *out, const char *s);

/* The command that reruns one run alone, shell-quoted. */
void res_reproduce(const res_set *s, const res_run *r, char *buf, size_t len);

/* The table (scenario, variant, seed, check, expected, measured, result), then each
 * failure's why and reproduce command, then a count. Colour only when `color`. */
void res_print_table(const res_set *s, FILE *out, bool color);

/* One run as JSON and back (what a child process reports to its parent). */
cJSON *res_run_json(const res_set *s, const res_run *r);
/* Returns 0, or -1 when `j` is not a run's JSON. */
int res_run_from_json(const cJSON *j, res_run *r);

/* Every run (the --json document, docs/check.md); `complete` false when interrupted;
 * `exit_code` the status the command exits with. */
cJSON *res_json(const res_set *s, bool complete, int exit_code);
/* JUnit XML (docs/junit.xsd): a testsuite per scenario file, a testcase per check. */
void res_write_junit(const res_set *s, FILE *out);

#endif
