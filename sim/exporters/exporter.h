/*
 * The exporter interface: what the telemetry SDK (sdk.c) hands items to, and
 * what every export strategy implements, one file each:
 *
 *   buffered.c   its own buffer, POSTs at N items or B bytes: the seed's
 *                exporter and its fixes and workarounds, which differ only in
 *                their capabilities and configuration (common.c's descriptors:
 *                threshold, propagate, exposed, private_reach, interval)
 *   immediate.c  POSTs at once, stateless across requests (fix A)
 *   otel_batch.c an OpenTelemetry BatchSpanProcessor-style queue
 *
 * Everything is continuation-style: a call returns true when it finished
 * synchronously, else false and runs k later, on the isolate's thread (a C
 * task). Items are owned by exactly one holder at a time; every move and every
 * loss is reported to the ledger (the introspection hook) - the ledger uses
 * those only to explain a loss, never to decide one.
 */
#ifndef SIM_EXPORTER_H
#define SIM_EXPORTER_H

#include "dist.h"
#include "ledger.h"
#include "net.h"
#include "rng.h"
#include "runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SIG_TRACES, SIG_METRICS, SIG_LOGS, SIG_COUNT } sdk_signal;

/* One telemetry item. Its OTLP JSON fragment is built when it is complete. */
typedef struct tel_item {
    uint64_t n; /* ledger number; on the wire "i%010u" */
    sdk_signal sig;
    uint64_t request_id;
    uint64_t isolate_id;
    uint64_t task_id; /* spans: the task that opened it (for nesting) */
    const char *name;
    int64_t start_ns, end_ns;
    uint8_t trace_id[16], span_id[8], parent_id[8];
    bool has_parent;
    double value;
    int severity;
    char *json; /* the fragment, once complete */
    uint32_t len;
    bool ledgered;       /* its ledger row is written (sdk.c: at completion, or when lost open) */
    bool entry;          /* an entry of an isolate global (envelope-attributed, kind "entry") */
    const char *variant; /* entry: the flag's variant */
    /* What it costs its isolate's modelled memory until it is freed (rt_mem_add). */
    rt *r;
    rt_isolate_ref home;
    uint32_t charged;
} tel_item;

/* Charges `bytes` more of the item's memory to its isolate. */
void item_charge(tel_item *it, uint32_t bytes);

typedef struct item_vec {
    tel_item **v;
    size_t n, cap;
} item_vec;

void vec_push(item_vec *v, tel_item *it);
/* Moves all of `from` to the end of `to` (from becomes empty). */
void vec_append(item_vec *to, item_vec *from);
/* Moves all of `from` to the front of `to` (from becomes empty). */
void vec_prepend(item_vec *to, item_vec *from);
void vec_free(item_vec *v);
void item_free(tel_item *it);

typedef enum {
    STRAT_THRESHOLD,
    STRAT_IMMEDIATE,
    STRAT_PROPAGATE,
    STRAT_EXPOSED,
    STRAT_PRIVATE_REACH,
    STRAT_INTERVAL,
    STRAT_OTEL_BATCH,
    STRAT_COUNT
} exp_strategy;

const char *exp_strategy_name(exp_strategy s);
int exp_strategy_find(const char *name); /* -1 when unknown */

/* How the bundle's exporter.flush() and exporter.shutdown() reach an exporter. */
typedef enum {
    EXP_BUNDLE_NONE,    /* not exposed: obs.exporter?.flush() does nothing */
    EXP_BUNDLE_PUBLIC,  /* exposed: the call reaches it */
    EXP_BUNDLE_PRIVATE, /* only through a private field (base.tracer.options.export): it
                           reaches it, and each call counts as a private access */
} exp_bundle;

/*
 * What the SDK and the checks need to know about an exporter, instead of asking which one
 * it is: a strategy is its capabilities and its constructor, and nothing else tests its
 * name (the shape a plugin's descriptor will have).
 */
typedef struct exp_caps {
    /* Ended spans go straight to it (a span processor's onEnd: otel-batch); else they wait in
     * the SDK's own layer-1 buffers until a flush hands them over. */
    bool takes_spans_at_end;
    /* tracer.flush() (and metrics', logger's) also flushes its buffer: the seed's fix B. */
    bool flush_reaches_it;
    exp_bundle bundle;
    /* It holds items of many requests for one POST (a buffer or queue across requests). */
    bool batches_across_requests;
} exp_caps;

typedef struct exporter exporter;
struct exp_env;

/* A strategy: its name, its capabilities and its constructor (one per isolate). */
typedef struct exp_descriptor {
    const char *name;
    exp_caps caps;
    exporter *(*create)(const struct exp_env *env);
} exp_descriptor;

const exp_descriptor *exp_descriptor_of(exp_strategy s);

typedef struct exp_config {
    exp_strategy strategy;
    uint32_t batch_items; /* buffered: POST when this many items are buffered */
    uint32_t batch_bytes; /* ... or this many bytes of OTLP JSON */
    int64_t backoff_ns;   /* after a 403 (Retry-After wins when present) */
    uint32_t breaker_failures, breaker_successes;
    int64_t breaker_open_ns;
    uint32_t retries;   /* for 429 and 5xx */
    dist retry_backoff; /* doubles each retry */
    bool honor_retry_after;
    int64_t retry_max_wait_ns; /* no retry waits longer (backoff or Retry-After; 0: no cap) */
    int64_t flush_budget_ns;   /* a flush gives up waiting after this (0: never) */
    int64_t fetch_timeout_ns;  /* each POST is aborted this long after its fetch() (0: never) */
    int64_t interval_ns; /* buffered: an auto-flush period (0: none; the interval strategy's) */
    uint32_t otel_max_queue, otel_max_batch;
    int64_t otel_delay_ns;
    const char *service;
    bool layer1_per_request;      /* the SDK's own buffers: per request (else per isolate) */
    uint32_t item_overhead_bytes; /* an item's memory besides its JSON (the JS objects) */
} exp_config;

/* What an exporter may use. */
typedef struct exp_env {
    rt *r;
    net *net;
    ledger *ledger;
    const exp_config *cfg;
    rt_isolate_ref iso; /* only its id is meaningful here: the ledger's isolate */
    rng *rand;          /* the exporter stream */
} exp_env;

typedef void (*exp_done)(void *ud, rt *r);
typedef struct exp_k {
    exp_done fn;
    void *ud;
} exp_k;

typedef struct exporter_ops {
    /* Takes every item of `items` (one signal); `items` is left empty. */
    bool (*export_items)(exporter *e, sdk_signal sig, item_vec *items, exp_k k);
    /* The exporter's own flush (what its public or private flush() does). */
    bool (*flush)(exporter *e, exp_k k);
    /* shutdown(): send what is held before the process ends (a server's exit). */
    bool (*shutdown)(exporter *e, exp_k k);
    /* The isolate died or the run ended: report every item held as lost, free all. */
    void (*destroy)(exporter *e, ledger_cause cause);
} exporter_ops;

struct exporter {
    const exporter_ops *ops;
    exp_env env;
};

exporter *exp_buffered_new(const exp_env *env);
exporter *exp_immediate_new(const exp_env *env);
exporter *exp_otel_batch_new(const exp_env *env);

/*
 * The host's services. An exporter reaches the runtime, the network and the ledger through
 * these only - never through exp_env's members - so that what it may do is this list (what a
 * plugin's host handle will offer), and eviction, limits and faults apply to it as to any
 * code on the isolate.
 */
/* The current virtual time, inside or outside a task. */
int64_t exp_now(const exp_env *env);
/* A timer of the isolate (frozen while it is idle): fn after delay_ns, then every
 * period_ns if it is not 0. Returns its id, for exp_timer_clear. */
uint64_t exp_timer(const exp_env *env, int64_t delay_ns, int64_t period_ns, rt_fn fn, void *ud);
void exp_timer_clear(const exp_env *env, uint64_t timer);
/* fetch() from the running task, through the simulated network (net.h). */
void exp_fetch(const exp_env *env, net_request *req);
/* The request of the running task, or 0 for a C continuation (an exporter's timer or a
 * response's), which runs for no request whoever set it up. */
uint64_t exp_running_request(const exp_env *env);
/* The item went into one of the exporter's layers (a queue). */
void exp_moved_one(const exp_env *env, const tel_item *it, const char *layer);

/* ---- sending: shared by every strategy (send.c) ---- */

typedef struct send_op send_op;
/* The host's sending, for a strategy that wants it (every built-in does): its batches in
 * flight or waiting to retry. A strategy embeds one and sends through it; nothing of it is
 * in the exporter itself. */
typedef struct exp_sender {
    const exp_env *env; /* the owning exporter's */
    send_op *ops;
} exp_sender;
/*
 * The final answer for a batch after the retry policy: the HTTP status of
 * the last attempt (2xx delivered; 403 the cap; else refused or exhausted),
 * the batch's items, and the Retry-After of the last answer. The callback
 * owns the items from then on (free them, or put them back in a buffer).
 */
typedef void (*send_done)(void *ud, rt *r, int status, int64_t retry_after_s, item_vec *items);

/*
 * The OTLP/HTTP JSON payload of one signal around n items' fragments (malloc'd; its length
 * in *len), with resource attributes service.name and, when sent_for is not 0, the request it
 * is sent for as edgeloss.request_id "r<sent_for>" (0: a payload sent for no request, e.g. a
 * queue's batch, has none).
 */
char *exp_payload(const char *service, sdk_signal sig, const char *const *frags,
                  const uint32_t *lens, size_t n, uint64_t sent_for, size_t *len);
/* Encodes and POSTs `items` (taken) to the signal's endpoint, retrying per the config. */
void send_items(exp_sender *snd, sdk_signal sig, item_vec *items, send_done cb, void *ud);
/* On destroy: items waiting for a retry are lost; items in flight are left to their fate. */
void send_abandon_all(exp_sender *snd, ledger_cause cause);

/* Ledger helpers. */
void exp_moved(const exp_env *env, const item_vec *items, const char *layer);
void exp_dropped(const exp_env *env, const item_vec *items, ledger_cause cause, const char *layer);
/* Why items a failed send carried are lost, by the final status (net.h's runtime refusals). */
ledger_cause exp_refusal_cause(int status);

#endif
