/*
 * One run: scenario x seed x variant. Builds the engine, the random streams,
 * the runtime, the workload and the interpreter - and, with an exporter, the
 * ledger, the embedded ingest, the network and the SDK - pops events until the
 * drain period ends, decides every item's fate and evaluates the checks. Owns nothing global; two
 * runs in one process are independent and, for the same scenario and seed, identical.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include "app.h"
#include "check.h"
#include "error.h"
#include "ledger.h"
#include "runtime.h"
#include "scenario.h"
#include "sdk.h"
#include "telemetry.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Where a run is, for a progress line (wall-clock rate limiting is the caller's). */
typedef struct sim_progress {
    int64_t now_ns;     /* virtual time reached */
    int64_t horizon_ns; /* when arrivals plus the drain end (0: not known up front) */
    uint64_t events;    /* handled so far */
} sim_progress;

/* What stays in ledger.db and ingest.db after a verified run (docs/ledger-db.md). */
typedef enum sim_ledger_mode {
    SIM_LEDGER_AUTO = 0, /* compact when the run created more than SIM_COMPACT_ABOVE_ITEMS */
    SIM_LEDGER_FULL,     /* every row */
    SIM_LEDGER_COMPACT,  /* the delivered and late items' rows pruned (ledger_compact), then VACUUM
                          */
} sim_ledger_mode;

/* SIM_LEDGER_AUTO compacts a run that created more items than this. */
#define SIM_COMPACT_ABOVE_ITEMS 1000000

typedef struct sim_options {
    uint64_t seed;
    bool seed_set; /* else the scenario's seed */
    FILE *events;  /* when set, every event is written here, one per line, seed first */
    FILE *trace;   /* when set, every step each task runs (app.h), seed first */
    /* Scenarios with an exporter: */
    const char *run_dir;    /* ledger.db (and the embedded ingest's ingest.db) go here */
    const char *ingest_url; /* send to this ingest instead of an embedded one */
    const char *ingest_db;  /* ... whose database file this is (else the verdict is unverified) */
    sim_ledger_mode ledger_mode;  /* compact or not once verified (the summary is the same) */
    uint64_t compact_above_items; /* AUTO's threshold; 0: SIM_COMPACT_ABOVE_ITEMS */
    /* Checked every few thousand events: when it becomes non-zero (a signal handler sets it)
     * the run stops with SIM_EINTR. NULL: never. */
    const volatile sig_atomic_t *stop;
    /* Called every few thousand events; it must not change the run (display only). */
    void (*progress)(void *ud, const sim_progress *p);
    void *progress_ud;
    /* The interleaving explorer (explore.h): */
    bool memory;        /* no files, no ingest: the ledger's memory mode (ledger.h) decides */
    rt_chooser chooser; /* picks among ready tasks (rt_set_chooser); NULL: the queue's order */
    void *chooser_ud;
    bool latencies; /* the chooser picks await latencies too (app_set_latency_chooser) */
    /* Swarm testing (sweep --swarm): the fault families the seed switches off
     * (flt_swarm_on) have their rules off for this run. */
    bool swarm;
} sim_options;

typedef struct sim_result {
    uint64_t seed;
    uint64_t events;
    uint64_t hash;  /* the event-log hash */
    int64_t end_ns; /* virtual time when the run ended */
    double mean_queue_depth;
    /* --swarm: the fault families the scenario's rules are of, and those the seed switched
     * on (bit f for flt_family f). */
    bool swarm;
    unsigned swarm_present, swarm_on;
    rt_stats rt;
    rt_colo_stats *colos; /* per colo (ncolos; malloc'd) */
    uint32_t ncolos;
    app_stats app;
    tel_null tel; /* telemetry calls made while no exporter is configured */
    /* With an exporter: */
    bool telemetry; /* the run had an exporter, a ledger and an ingest */
    bool verified;  /* fates were decided against the ingest's database */
    bool compacted; /* the delivered and late items' rows were pruned (meta.ledger_mode compact) */
    char run_id[256];
    sdk_stats sdk;
    uint64_t posts; /* HTTP requests sent */
    ledger_report report;
    check_result *checks; /* one per expect item */
    size_t nchecks;
    bool checks_pass;
} sim_result;

void sim_result_free(sim_result *r);

/* Long-lived processes get this long after the drain period to shut down (flush). */
#define SIM_SHUTDOWN_BUDGET_NS (30 * 1000000000LL)

/*
 * Returns SIM_OK, or with a message: SIM_ENOMEM, SIM_EINGEST (the ingest could not start
 * or failed), SIM_ELEDGER, SIM_EBUDGET (what was exceeded and the key that raises it) or
 * SIM_EINTR (o->stop was set; the message says the virtual time reached). The result is
 * filled as far as the run got and must be freed either way.
 */
sim_err sim_run(const scenario *s, const sim_options *o, sim_result *out, char *err, size_t errlen);

#endif
