/*
 * Scenario files: one JSON document per experiment, validated against the
 * key table (scenario.c, via schema.h) and compiled into the configs of the
 * modules (workload, runtime, app). The only cJSON user in the simulator
 * besides schema.c.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include "app.h"
#include "runtime.h"
#include "schema.h"
#include "workload.h"

#include <stddef.h>
#include <stdint.h>

typedef struct scenario {
    char *file;
    char *name;
    char *description;
    uint64_t seed;
    wl_config workload;
    rt_config runtime;
    app_program program;
    void *mem; /* owns steps, strings and arrays the configs point to */
} scenario;

/* Exit code of the CLI for a bad scenario or usage error. */
#define SCN_BAD_INPUT 2

/*
 * Loads and validates a file. On error returns SCN_BAD_INPUT with a message
 * naming the file, the JSON path and what was expected.
 */
int scn_load(const char *path, scenario **out, char *err, size_t errlen);
/* Same from text; `file` names it in messages. */
int scn_parse(const char *json, const char *file, scenario **out, char *err, size_t errlen);
void scn_free(scenario *s);

/* The key table (for the reference and tests). */
const sk_schema *scn_schema(void);

#endif
