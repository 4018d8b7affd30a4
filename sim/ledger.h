/*
 * The ground-truth ledger (ledger.db) and the fate of every item.
 *
 * While a run goes, the simulation writes what it created and attempted:
 * every telemetry item (numbered from 1, on the wire as edgeloss.item_id
 * "i0000000001"), every buffer movement and loss the SDK and exporters
 * report through their introspection hook, every HTTP attempt and its items,
 * every request's and isolate's lifetime. None of that decides a fate.
 *
 * After the run, ledger_finish() attaches the ingest's database and decides
 * each item's fate by SQL over the ledger joined with what the ingest
 * recorded (the table `fates` in ledger.db). Received items are, in this
 * precedence, misattributed (a copy was credited to another request: a span, metric or
 * log carrying another request's id, or an entry of an isolate global - envelope-attributed,
 * credited to the request its payload was sent for - in another request's payload),
 * duplicated (more than one copy), late (first copy after its request's
 * response and waitUntil work ended) or delivered; items the ingest never
 * accepted are lost, and the ledger's drop records explain why and where.
 * Delete an ingest row and its item turns lost: the exporter's word never
 * counts.
 *
 * The only SQLite user in the simulator. Single-threaded.
 */
#ifndef SIM_LEDGER_H
#define SIM_LEDGER_H

#include "error.h"
#include "fault.h"
#include "runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fates, in precedence order for received items, then lost. */
#define LEDGER_FATE_MAP(XX)                                                                        \
    XX(MISATTRIBUTED, "misattributed")                                                             \
    XX(DUPLICATED, "duplicated")                                                                   \
    XX(LATE, "late")                                                                               \
    XX(DELIVERED, "delivered")                                                                     \
    XX(LOST, "lost")

typedef enum {
#define LEDGER_FATE_ENUM(name, text) FATE_##name,
    LEDGER_FATE_MAP(LEDGER_FATE_ENUM)
#undef LEDGER_FATE_ENUM
        FATE_COUNT
} ledger_fate;

/* Loss causes: what the SDK and exporters report when an item leaves memory unsent. */
#define LEDGER_CAUSE_MAP(XX)                                                                       \
    XX(EVICTED_IN_BUFFER, "evicted-in-buffer")                                                     \
    XX(STRANDED_AT_END, "stranded-at-end")                                                         \
    XX(WAITUNTIL_CANCELLED, "waituntil-cancelled")                                                 \
    XX(NEVER_FLUSHED, "never-flushed")                                                             \
    XX(REJECTED_BY_INGEST, "rejected-by-ingest")                                                   \
    XX(DROPPED_IN_BACKOFF, "dropped-in-backoff")                                                   \
    XX(DROPPED_QUEUE_FULL, "dropped-queue-full")                                                   \
    XX(NETWORK_ERROR, "network-error")                                                             \
    XX(CPU_LIMIT, "cpu-limit")                                                                     \
    XX(SUBREQUEST_LIMIT, "subrequest-limit")                                                       \
    XX(OVERWRITTEN_SHARED_STATE, "overwritten-shared-state")                                       \
    XX(REJECTED_BY_WAF, "rejected-by-waf")                                                         \
    XX(LOST_AT_HOP, "lost-at-hop")                                                                 \
    XX(EXPORTER_CRASHED, "exporter-crashed")                                                       \
    XX(UNEXPLAINED, "unexplained")                                                                 \
    XX(DEAD_LETTERED, "dead-lettered")                                                             \
    XX(LOG_SIZE_LIMIT, "log-size-limit")                                                           \
    XX(CLIENT_DISCONNECTED, "client-disconnected")

typedef enum {
#define LEDGER_CAUSE_ENUM(name, text) CAUSE_##name,
    LEDGER_CAUSE_MAP(LEDGER_CAUSE_ENUM)
#undef LEDGER_CAUSE_ENUM
        CAUSE_COUNT
} ledger_cause;

const char *ledger_fate_name(ledger_fate f);
const char *ledger_cause_name(ledger_cause c);
/* Why what an isolate held is lost when it dies: an rt_evict, or RT_END_OF_RUN. */
ledger_cause ledger_cause_of_death(int rt_cause);
/* -1 when unknown. */
int ledger_cause_find(const char *name);

typedef struct ledger ledger;

/* Returns SIM_OK, or SIM_ELEDGER with a message (error.h). */
sim_err ledger_open(const char *path, ledger **out, char *err, size_t errlen);
void ledger_close(ledger *l);
/* Memory mode, for the interleaving explorer (ledger_mem.h): nothing is written to a file;
 * ledger_finish joins in memory (the ingest taken as accepting every POST) and fills the
 * report's counts only; ledger_verify checks only that no loss is unexplained. */
sim_err ledger_open_memory(ledger **out, char *err, size_t errlen);
bool ledger_in_memory(const ledger *l);

void ledger_meta(ledger *l, const char *key, const char *value);

/* A new item's number (1, 2, ...). Its row follows with ledger_item_row, once its size is
 * known (complete) or it is lost before; a number without a row is a bug. */
uint64_t ledger_item_number(ledger *l);
void ledger_item_row(ledger *l, uint64_t item, const char *kind, const char *name, uint64_t request,
                     uint64_t isolate, int64_t time_ns, uint32_t bytes);
/* Both at once (its size unknown). */
uint64_t ledger_item(ledger *l, const char *kind, const char *name, uint64_t request,
                     uint64_t isolate, int64_t time_ns);
/* The item is now held by `layer` (tracer, metrics, logger, exporter, queue, in-flight...). */
void ledger_move(ledger *l, uint64_t item, int64_t time_ns, const char *layer);
/* The item left memory unsent, for this cause, from this layer. */
void ledger_drop(ledger *l, uint64_t item, int64_t time_ns, ledger_cause cause, const char *layer,
                 uint64_t isolate);
/* The same with what happened in words, for the item's story ("request 44 replaced FLAG_LOG
 * after its await req.bytes"; NULL: none). */
void ledger_drop_note(ledger *l, uint64_t item, int64_t time_ns, ledger_cause cause,
                      const char *layer, uint64_t isolate, const char *note);

/* A fault fired (fault.h) at time_ns: the scenario rule (faults.rules index; -1 for none: a
 * random kill), on a request and isolate (0: none) and a path (NULL: none). Table `faults`. */
void ledger_fault(ledger *l, int64_t time_ns, int64_t rule, flt_kind kind, uint64_t request,
                  uint64_t isolate, const char *path);

/* An HTTP attempt (time_ns: when the request reached the ingest; sent_ns: when it left its
 * isolate, holding a connection) and the items it carried. */
uint64_t ledger_attempt(ledger *l, int64_t time_ns, int64_t sent_ns, const char *path,
                        uint32_t attempt, uint64_t request, uint64_t isolate, size_t bytes,
                        size_t nitems);
void ledger_attempt_item(ledger *l, uint64_t attempt, uint64_t item);
/* The same for many items at once (fewer statements). */
void ledger_attempt_items(ledger *l, uint64_t attempt, const uint64_t *items, size_t n);
void ledger_attempt_status(ledger *l, uint64_t attempt, int status);
/* The pipeline hop an attempt is (attempts.hop: a fetch step's name, "fetch-object",
 * "store") and what it refers to (attempts.ref: an object's key); either may be NULL. */
void ledger_attempt_hop(ledger *l, uint64_t attempt, const char *hop, const char *ref);

/* Lifecycle observer for the runtime (rt_set_observer). */
rt_observer ledger_observer(ledger *l);

/* Facts about a request's telemetry calls. */
void ledger_private_access(ledger *l, uint64_t request, int64_t time_ns);
void ledger_flush_in_wait_until(ledger *l, uint64_t request);
/* Time telemetry calls kept a task waiting: before the response or in waitUntil work. */
void ledger_call_time(ledger *l, uint64_t request, bool before_response, int64_t ns);

typedef struct ledger_story {
    char text[256];
} ledger_story;

#define LEDGER_STORIES 5

/* Items of one route's (or colo's) requests and how many were lost. */
typedef struct ledger_group {
    uint32_t index; /* into app.routes or runtime.colos */
    uint64_t items, lost;
} ledger_group;

#define LEDGER_GROUPS 8 /* the groups a report keeps: the most lost first */

/* The bins of report_series and report_isolate_bins: equal widths over [0, the run's end]. */
#define LEDGER_BINS 200

/* How far items got (docs/ledger-db.md): each count includes the next. */
typedef struct ledger_funnel {
    uint64_t created;  /* items numbered */
    uint64_t sent;     /* in at least one POST that reached the ingest (attempt_items) */
    uint64_t accepted; /* in at least one POST the ingest answered with a 2xx */
    uint64_t recorded; /* the ingest recorded an accepted copy (fate other than lost) */
} ledger_funnel;

/* One hop of a pipeline (attempts.hop): the items it carried, the ones it handed on with a
 * 2xx, and the ones lost there (their last drop names it). */
#define LEDGER_HOPS 12
typedef struct ledger_hop {
    char name[48];
    uint64_t in, out, lost_here;
} ledger_hop;

/* An object the ingest stored that no origin job ever read: its key, the request that
 * stored it and the items it holds. */
#define LEDGER_ORPHANS 5
typedef struct ledger_orphan {
    char key[128];
    uint64_t request, items;
} ledger_orphan;

/* What the run's rate watchers said (monitor.h), filled by the caller after ledger_finish:
 * processed items per window of the carried spans' first receipts. */
#define LEDGER_ALERTS 8
typedef struct ledger_watch {
    bool monitor, daily;                                        /* configured */
    uint64_t alerts, daily_alerts;                              /* counted */
    int64_t alert_ns[LEDGER_ALERTS], episode_ns[LEDGER_ALERTS]; /* the first ones */
    double alert_count[LEDGER_ALERTS], alert_baseline[LEDGER_ALERTS];
    int64_t daily_alert_ns[LEDGER_ALERTS];
    uint64_t daily_today[LEDGER_ALERTS], daily_yesterday[LEDGER_ALERTS];
    int64_t window_ns;
} ledger_watch;

/* faults.rules at most (the scenario's bound). */
#define LEDGER_FAULT_RULES 1000

typedef struct ledger_report {
    uint64_t items;
    uint64_t fate[FATE_COUNT];
    uint64_t lost_by[CAUSE_COUNT];
    uint64_t copies_extra; /* received copies beyond the first */
    uint64_t attempts;
    double items_per_post; /* mean items per HTTP attempt (NAN: none) */
    double delay_p50_ms;   /* creation to first receipt, received items (NAN: none) */
    double delay_p95_ms;
    double added_response_ms;   /* mean per request: telemetry calls before the response */
    double added_wait_until_ms; /* mean per request: telemetry calls in waitUntil work */
    double added_response_p99_ms, added_wait_until_p99_ms; /* their 99th percentiles
                                                              (nearest rank; NAN: no request) */
    uint64_t faults[FLT_KIND_COUNT];               /* faults that fired, by kind (ledger_fault) */
    uint64_t fault_rule_fired[LEDGER_FAULT_RULES]; /* ... by rule (faults.rules index) */
    uint64_t exposure_items;                       /* most items one eviction destroyed */
    uint64_t exposure_bytes;                       /* most bytes one eviction destroyed */
    uint64_t requests;
    uint64_t private_accesses;
    uint64_t evicted[RT_EVICT_COUNT]; /* isolates that died, by cause */
    uint64_t
        lost_when_evicted[RT_EVICT_COUNT]; /* items lost in buffers, by their isolate's death */
    ledger_group by_route[LEDGER_GROUPS], by_colo[LEDGER_GROUPS];
    int nby_route, nby_colo;
    /* acceptance populations and violations */
    uint64_t flush_requests,
        flush_requests_late; /* requests flushing in waitUntil; not landed in time */
    uint64_t low_volume_items, low_volume_lost; /* items on isolates that served 1-10 requests */
    uint64_t ingest_hash; /* of the ingest rows, excluding ports, dates, wall times, gzip sizes */
    /* Entries of isolate globals (kind 'entry', envelope-attributed): how many, how many
     * reached the ingest in a payload sent for another request (mixed), and the requests
     * such payloads were sent for. */
    uint64_t entries, mixed_items, mixed_requests;
    ledger_story stories[LEDGER_STORIES];
    int nstories;
    ledger_funnel funnel;
    /* Received items (any fate but lost) whose every accepted copy came in a POST whose answer
     * never reached its exporter (the ingest's requests.acked = 0): recorded, while the
     * exporter saw a failure and may send them again - delivered but unacknowledged, counted
     * beside the fates. A copy whose answer is not known (acked NULL) does not count.
     * acks_unknown: the ingest records no acknowledgements (older than its schema 4), so the
     * count is 0 for want of them. Memory mode: 0, known (every answer reaches its isolate). */
    uint64_t unacknowledged;
    bool acks_unknown;
    /* A pipeline's (pipeline.h): spans carried into the Worker, how many were recorded, each
     * hop in the order it first ran, and the orphaned objects. */
    uint64_t carried, carried_recorded;
    ledger_hop hops[LEDGER_HOPS];
    int nhops;
    uint64_t orphans;
    ledger_orphan orphan_list[LEDGER_ORPHANS];
    int norphans;
    ledger_watch watch;
    /* Not the ledger's: the runtime's billed duration of Durable Objects (runtime.h), in GB-s,
     * set by the run beside the loss so checks can weigh the two (0 for other kinds). */
    double gb_s;
    /* The same for the runtime's limits: invocations cut at the wall limit (a cron run past
     * 15 minutes) and requests terminated by the CPU limit. */
    uint64_t wall_limited, cpu_limited, exceptions, truncated;
} ledger_report;

/* The first receipt of every recorded carried span, sorted (malloc'd, *n of them; NULL
 * when none), from `fates` after ledger_finish: what the rate watchers count. */
int64_t *ledger_carried_receipts(ledger *l, size_t *n);

/*
 * The invariants of every run, checked after ledger_finish over the ledger and `fates`
 * (LEDGER_INVARIANTS, one SQL query each, the first offending row named):
 *  - no lost item has the cause "unexplained": every loss was reported where it happened;
 *  - no request responded after it ended, or after its isolate died;
 *  - no POST left its isolate after the isolate died (a POST sent before and still on the
 *    wire then is processed by the ingest when it arrives: that is allowed);
 *  - an item has one holder: it is never moved, nor sent, after it was lost, and lost once;
 *  - every created item has exactly one fate (one `fates` row per numbered item).
 * Returns SIM_OK, or SIM_ELEDGER with "invariant violated: ..." naming the item or request.
 */
sim_err ledger_verify(ledger *l, char *err, size_t errlen);

/*
 * Commits, attaches the ingest database, writes the `fates` table (with each received item's
 * `acked`: 1 an accepted copy's answer reached its exporter, 0 none did, NULL not known) and
 * fills the report, then writes the report_* aggregates (report_series, report_isolates,
 * report_isolate_bins: one pass over each table). `run` selects this run's rows in a
 * shared ingest (NULL: every row is this run's, as in the embedded ingest, which is fresh
 * per run). Returns SIM_OK, or SIM_ELEDGER with a message.
 */
sim_err ledger_finish(ledger *l, const char *ingest_db, const char *run, ledger_report *out,
                      char *err, size_t errlen);
/*
 * A finished run whose fates cannot be decided (no ingest database): commits and writes
 * the report_* tables with the columns that need a fate NULL. Returns SIM_OK, or
 * SIM_ELEDGER with a message.
 */
sim_err ledger_finish_unverified(ledger *l, char *err, size_t errlen);

/*
 * Compact mode, after ledger_finish and ledger_verify passed: deletes the rows of the items
 * that arrived once for their own request, fate `delivered` or `late`, and whose exporter was
 * not left without an answer (fates.acked is not 0) (items, moves,
 * attempt_items, fates; their rows in ingest_db's items), the requests all of whose items
 * went (in ingest_db too: its POSTs that
 * carried nothing else), sets meta.ledger_mode to `compact` and VACUUMs both files. Every
 * other row, and the report_* tables, stay. ingest_db NULL: the ledger only (an external
 * ingest is never pruned). Returns SIM_OK, or SIM_ELEDGER with a message.
 */
sim_err ledger_compact(ledger *l, const char *ingest_db, char *err, size_t errlen);
/* The same on a finished run's closed files (ledger.db with its fates table). */
sim_err ledger_compact_files(const char *ledger_db, const char *ingest_db, char *err,
                             size_t errlen);

#endif
