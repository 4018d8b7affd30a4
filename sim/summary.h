/*
 * One run's result, rendered: the full summary `edgeloss run` prints, the one line per
 * variant of --brief, and summary.json (every field documented in docs/summary-json.md).
 * Pure rendering: nothing here changes or decides the run. Deterministic: the same result
 * renders to the same bytes.
 */
#ifndef SIM_SUMMARY_H
#define SIM_SUMMARY_H

#include "check.h"
#include "scenario.h"
#include "sim.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* summary.json's "schema_version": raised when a field changes meaning or goes away. */
#define SUM_SCHEMA_VERSION 1

/* The summary `edgeloss run` prints after its "seed N" line (printed before the run
 * starts, so a long run names its seed at once). */
void sum_print(const scenario *s, const sim_result *r, FILE *out);
/* One line: the variant, its fates, its main loss cause and its verdict. */
void sum_print_brief(const scenario *s, const sim_result *r, FILE *out);

/* "pass", "fail", "unverified" (no ingest database to join) or "no_exporter". */
const char *sum_verdict(const sim_result *r);

/* summary.json as a document (the caller deletes it), and written with a newline.
 * sum_write_json returns 0, or -1 when out of memory or the write failed. */
cJSON *sum_json(const scenario *s, const sim_result *r);
int sum_write_json(const scenario *s, const sim_result *r, FILE *out);

/* A check result as JSON and back (summary.json's "checks", and what a child process
 * reports to `edgeloss check`). sum_check_from_json returns 0, or -1 when `o` is not one. */
cJSON *sum_check_json(const check_result *c);
int sum_check_from_json(const cJSON *o, check_result *c);

/* "14h00m00.000000000s" */
const char *sum_format_duration(int64_t ns, char *buf, size_t len);

#endif
