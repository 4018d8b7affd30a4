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
#include "fault.h"
#include "net.h"
#include "monitor.h"
#include "pipeline.h"
#include "queue.h"
#include "runtime.h"
#include "schema.h"
#include "workload.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/*
 * How much work one run may do before it is stopped (scenario key `budget`). Work that can
 * be predicted from the file (requests x items or steps per request, interval timers) is
 * checked when the scenario is compiled (a bad scenario, exit 2); the rest while running
 * (sim_run stops with SIM_EBUDGET, exit 3). Defaults are what a laptop survives.
 */
typedef struct scn_budget {
    uint64_t events;      /* engine events popped */
    uint64_t steps;       /* program steps interpreted (repeat iterations count) */
    uint64_t items;       /* telemetry items created */
    int64_t memory_bytes; /* what live isolates hold plus the pending events */
    double wall_s;        /* wall-clock seconds (a harness limit, never a model decision) */
} scn_budget;

typedef struct scenario {
    char *file;
    char *name;
    char *description;
    char *variant;          /* this run's name: "baseline" or one of `variants` */
    char *cron;             /* workload.cron: the schedule its runs come from (NULL: none) */
    bool has_alarm;         /* app.alarm: a Durable Object's alarm() handler, the last route */
    bool console_logs;      /* some log step goes to console.log (Workers Logs: wlogs.h) */
    int64_t log_cap_bytes;  /* runtime.log_limit_kb: what an invocation's console may record */
    char *slug;             /* the variant's run directory name (scn_slug), unique in the file */
    unsigned variant_index; /* 0 the baseline, then the variants in the file's order */
    uint64_t seed;          /* the first of seeds */
    uint64_t *seeds;        /* `seeds`, or just `seed`: every seed `run` and `check` run */
    size_t nseeds;
    wl_config workload;
    rt_config runtime;
    app_program program;
    bool has_exporter; /* else telemetry calls are counted no-ops, nothing is sent */
    exp_config exporter;
    uint32_t batch_items; /* exporter.batch_items, as the batching_migration check reads it */
    net_config network;
    /* faults.rules (fault.h), index i the file's i-th: the network's and the ingest's act
     * through net_set_faults; the runtime's are also runtime.fault_windows and deploys. */
    flt_rule *fault_rules;
    size_t nfault_rules;
    uint32_t *deploy_rules; /* per runtime.deploys_ns: the rule that made it, or UINT32_MAX */
    bool has_queue;         /* checkpoints send to it */
    queue_config queue;
    bool has_pipeline; /* carried spans or fetches with a destination (pipeline.h) */
    pl_config pipeline;
    bool has_monitor, has_daily; /* rate watchers over the carried spans recorded (monitor.h) */
    mon_config monitor;
    mon_daily_config daily;
    char *ingest_json; /* the embedded mock-ingest's config, or NULL */
    char *api_key;     /* what the exporter sends, or NULL */
    expect_item *expects;
    size_t nexpects;
    scn_budget budget;
    struct exp_plugin *plugin; /* exporter.plugin, loaded (closed by scn_free) */
    struct scenario *next;     /* the next variant of the same file, or NULL */
    void *mem;                 /* owns steps, strings and arrays the configs point to */
} scenario;

/* ingest.api_key: a bearer token of 1..255 printable ASCII characters, no spaces (what the
 * embedded ingest accepts and an HTTP header carries). */
#define SCN_API_KEY_MAX 255

/* The longest variant name: it names a directory (at most 255 bytes on most systems). */
#define SCN_VARIANT_MAX 200

/* A variant name as a directory name, in place: '/', '\\' and control characters become
 * '_'. Names are validated to be neither "." nor ".." and to have distinct slugs. */
void scn_slug(char *name);

/* The largest scenario file read: 64 MiB. */
#define SCN_FILE_MAX (64 << 20)

/*
 * Loads and validates a file: its baseline and, chained through `next`, one
 * scenario per variant. On error returns SIM_EINPUT (error.h) with a message naming
 * the file, the JSON path and what was expected.
 */
/* What the command line replaces in every variant of a file. */
typedef struct scn_overrides {
    const char *exporter_plugin; /* --exporter-plugin: a path with a slash, or NULL */
    const char *exporter_js;     /* --exporter-js: a JavaScript bundle, or NULL */
    bool exporter_in_process;    /* --exporter-in-process: exporter.in_process for every one */
} scn_overrides;

int scn_load(const char *path, scenario **out, char *err, size_t errlen);
int scn_load_with(const char *path, const scn_overrides *ov, scenario **out, char *err,
                  size_t errlen);
/* Reads a scenario file's text as scn_load does (size limit, no NUL bytes), malloc'd. */
int scn_read(const char *path, char **text, char *err, size_t errlen);
/* Same from text; `file` names it in messages and data files are found relative to it. */
int scn_parse(const char *json, const char *file, scenario **out, char *err, size_t errlen);
int scn_parse_with(const char *json, const char *file, const scn_overrides *ov, scenario **out,
                   char *err, size_t errlen);
/*
 * The document one variant compiles from: the file's keys with the variant's merged in,
 * `variants` removed and `variant` set to its name (variant NULL: the baseline). A valid
 * scenario of one variant: scn_parse of its text gives that variant alone. NULL with a
 * message when the text is not a valid scenario or has no such variant. cJSON_Delete it.
 */
cJSON *scn_variant_doc(const char *json, const char *file, const char *variant, char *err,
                       size_t errlen);
/* Frees the scenario and its variants. */
void scn_free(scenario *s);

/* The key table (for the reference and tests). */
const sk_schema *scn_schema(void);

#endif
