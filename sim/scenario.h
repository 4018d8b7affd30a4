/*
 * Scenario files: one JSON document per experiment, validated against the
 * key table (scenario.c, via schema.h) and compiled into the configs of the
 * modules (workload, runtime, app). The only cJSON user in the simulator
 * besides schema.c.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include "app.h"
#include "check.h"
#include "exporters/exporter.h"
#include "net.h"
#include "runtime.h"
#include "schema.h"
#include "workload.h"

#include <stddef.h>
#include <stdint.h>

typedef struct scenario {
    char *file;
    char *name;
    char *description;
    char *variant; /* this run's name: "baseline" or one of `variants` */
    uint64_t seed;
    wl_config workload;
    rt_config runtime;
    app_program program;
    bool has_exporter; /* else telemetry calls are counted no-ops, nothing is sent */
    exp_config exporter;
    net_config network;
    char *ingest_json; /* the embedded mock-ingest's config, or NULL */
    char *api_key;     /* what the exporter sends, or NULL */
    expect_item *expects;
    size_t nexpects;
    struct scenario *next; /* the next variant of the same file, or NULL */
    void *mem;             /* owns steps, strings and arrays the configs point to */
} scenario;

/* Exit code of the CLI for a bad scenario or usage error. */
#define SCN_BAD_INPUT 2

/*
 * Loads and validates a file: its baseline and, chained through `next`, one
 * scenario per variant. On error returns SCN_BAD_INPUT with a message naming
 * the file, the JSON path and what was expected.
 */
int scn_load(const char *path, scenario **out, char *err, size_t errlen);
/* Same from text; `file` names it in messages. */
int scn_parse(const char *json, const char *file, scenario **out, char *err, size_t errlen);
/* Frees the scenario and its variants. */
void scn_free(scenario *s);

/* The key table (for the reference and tests). */
const sk_schema *scn_schema(void);

#endif
