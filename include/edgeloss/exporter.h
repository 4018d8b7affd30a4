/*
 * edgeloss exporter ABI: how an exporter - a built-in strategy or a plugin
 * (a shared object loaded with --exporter-plugin or "exporter": {"plugin"}) -
 * plugs into the simulated runtime. This header is all a plugin may use; it
 * links against nothing of edgeloss.
 *
 * Shape (after curl's TLS backends and SQLite's VFS): a plugin exports one
 * symbol, EL_EXPORTER_SYMBOL, a function returning its descriptor. The
 * descriptor says which ABI it was built for, what it can do (capabilities:
 * what the SDK and the checks need to know instead of its name), how big its
 * per-run configuration and per-isolate state are, and its methods. The host
 * allocates the state (zeroed) and hands it to every method as `self`.
 *
 * Everything an exporter may do goes through the host handle it gets at
 * create: virtual time, timers (frozen while the isolate is idle), a seeded
 * random stream, fetch through the simulated runtime (so eviction, await
 * interleaving, limits and faults apply to it as to any code of the
 * isolate), the host's OTLP encoder and retry policy, per-item accessors and
 * logging. Nothing reads the wall clock, the real network or a real timer.
 *
 * Rules:
 *  - Completion: export, flush and shutdown each get an el_call. The exporter
 *    finishes it exactly once with el_done(), now or later. The host never
 *    resumes the caller inside el_done(): it queues the completion on the
 *    isolate's microtask queue, drained when the exporter code returns to the
 *    host and before any other task of that isolate runs (libuv's rule: a
 *    callback is never made by the function that takes it). The same holds
 *    for every callback of the host: a timer's, send()'s and fetch()'s run
 *    later, as tasks of the isolate, never inside the call that set them up.
 *    An exporter calling its own methods (an interval's flush) passes a NULL
 *    call: el_done(h, NULL) does nothing.
 *  - Items: the host owns their memory. An exporter holds the items it was
 *    given until it hands them back: release (delivered, forget them), drop
 *    (lost, with a cause and the layer that held them), send or fetch (in
 *    flight: the host holds them until the callback gives them back). An item
 *    must not be touched after it was handed back; handing back one it does
 *    not hold (or one twice) is ignored and logged, and a send or fetch so
 *    refused is never answered. The arrays the host passes are valid only
 *    during the call.
 *  - Death: when the isolate dies, destroy() runs once. It may drop what it
 *    holds with causes of its own; whatever it still holds is lost to the
 *    death's cause, in the layer its introspection hook names (or
 *    "exporter"), so an exporter that never reports a loss still gets fates.
 *    Sends waiting for a retry die with it; POSTs on the wire meet their own
 *    fate. After destroy() no callback of it runs again. Inside destroy()
 *    the isolate is already gone: drop, release, moved, now, random and log
 *    work; timer, send, fetch and done are ignored (logged), and timer_clear
 *    only forgets the timer.
 *  - Determinism: the same scenario and seed give the same calls in the same
 *    order at the same virtual instants; use only the host's time and random.
 */
#ifndef EDGELOSS_EXPORTER_H
#define EDGELOSS_EXPORTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. A host refuses a descriptor of another version. */
#define EL_EXPORTER_ABI 1
/* The name of the function a plugin exports: const el_exporter *edgeloss_exporter(void). */
#define EL_EXPORTER_SYMBOL "edgeloss_exporter"

typedef struct el_host el_host;       /* the isolate's host: el_host.api is its services */
typedef struct el_item el_item;       /* one telemetry item, opaque */
typedef struct el_call el_call;       /* a call to finish with el_done() */
typedef struct el_options el_options; /* the scenario's exporter options, during configure */

typedef enum el_signal { EL_TRACES, EL_METRICS, EL_LOGS, EL_SIGNALS } el_signal;
/* EL_KIND_ENTRY: an entry of an isolate global, sent as a log record. */
typedef enum el_kind { EL_KIND_SPAN, EL_KIND_METRIC, EL_KIND_LOG, EL_KIND_ENTRY } el_kind;

/* Why items leave an exporter unsent (the ledger's causes of the same names). */
typedef enum el_cause {
    EL_EVICTED_IN_BUFFER = 0, /* its isolate was evicted while it held them */
    EL_STRANDED_AT_END = 1,   /* the run ended while it held them */
    EL_WAITUNTIL_CANCELLED = 2,
    EL_NEVER_FLUSHED = 3,
    EL_REJECTED_BY_INGEST = 4, /* a final answer that was not 2xx */
    EL_DROPPED_IN_BACKOFF = 5, /* held back by a backoff when it died */
    EL_DROPPED_QUEUE_FULL = 6,
    EL_NETWORK_ERROR = 7,
    EL_CPU_LIMIT = 8,
    EL_SUBREQUEST_LIMIT = 9,
} el_cause;

/* Capabilities. */
/* Ended spans go straight to export() (a span processor's onEnd); else they wait in the SDK's
 * own per-signal buffers until a tracer/metrics/logger flush hands them over. */
#define EL_CAP_TAKES_SPANS_AT_END (1u << 0)
/* tracer.flush() (and metrics', logger's) also calls flush(): it reaches the exporter's POST. */
#define EL_CAP_FLUSH_REACHES_IT (1u << 1)
/* It holds items of many requests for one POST (a buffer or a queue across requests). */
#define EL_CAP_BATCHES_ACROSS_REQUESTS (1u << 2)

/* How the monitoring bundle's exporter.flush() / exporter.shutdown() reach it. */
typedef enum el_bundle {
    EL_BUNDLE_NONE,    /* not exposed: obs.exporter?.flush() does nothing */
    EL_BUNDLE_PUBLIC,  /* exposed: the call reaches it */
    EL_BUNDLE_PRIVATE, /* reached through a private field; each call counts as a private access */
} el_bundle;

/* A POST's final answer: the HTTP status (2xx delivered) or one of the host's refusals below,
 * the answer's Retry-After in seconds (-1: none; at most 10^9, so now + it in ns cannot
 * overflow), and the items it carried, given back: the callback must release, drop or keep
 * each (the array itself is the host's). */
typedef void (*el_sent_fn)(void *ud, int status, int64_t retry_after_s, el_item *const *items,
                           size_t n);
/* Statuses that are not HTTP: the runtime refused or cut the fetch, or no answer came. */
#define EL_REFUSED_SUBREQUESTS (-2) /* "Too many subrequests." */
#define EL_CANCELLED_CPU       (-3) /* its request was terminated while the fetch waited */
#define EL_CANCELLED_DEADLINE  (-4) /* its waitUntil budget ran out while the fetch waited */
#define EL_NETWORK_FAILURE     (-7) /* fetch() rejected: refused, reset, timed out, no answer */

/* A raw POST of a body the exporter built (el_encode, or its own). */
typedef struct el_fetch_req {
    el_signal signal; /* chooses the endpoint: /v1/traces, /v1/metrics, /v1/logs */
    const char *body; /* copied by the host */
    size_t len;
    int64_t timeout_ns; /* aborted this long after the fetch (0: never) */
    uint32_t attempt;   /* 1 for a first attempt; the exporter's own retries count up */
} el_fetch_req;

typedef void (*el_fn)(void *ud);

/* The host's services, valid from create() until destroy() returns. */
typedef struct el_host_api {
    uint32_t abi;  /* EL_EXPORTER_ABI of the host */
    uint32_t size; /* sizeof(el_host_api) of the host: later versions only add members */

    /* Virtual time, ns. */
    int64_t (*now)(el_host *h);
    /* The exporter's seeded random stream: 64 uniform bits. */
    uint64_t (*random)(el_host *h);
    /* A line in the run's log (exporter.log in the run directory). */
    void (*log)(el_host *h, const char *msg);
    /* A timer of the isolate: fn(ud) after delay_ns, then every period_ns if not 0; frozen while
     * the isolate is idle, gone with it. Returns its id (0: refused, fn NULL or in destroy). */
    uint64_t (*timer)(el_host *h, int64_t delay_ns, int64_t period_ns, el_fn fn, void *ud);
    void (*timer_clear)(el_host *h, uint64_t id);

    /* Items. */
    el_signal (*item_signal)(const el_item *it);
    el_kind (*item_kind)(const el_item *it);
    uint64_t (*item_id)(const el_item *it);      /* the ledger number (edgeloss.item_id) */
    uint64_t (*item_request)(const el_item *it); /* the request that made it */
    const char *(*item_name)(const el_item *it); /* span or metric name, log body, flag */
    int64_t (*item_start)(const el_item *it);
    int64_t (*item_end)(const el_item *it);
    /* Its OTLP JSON fragment (a span, a metric or a log record) and its length in bytes. */
    const char *(*item_fragment)(const el_item *it, size_t *len);

    /* Ownership (see the rules above). */
    void (*moved)(el_host *h, el_item *const *items, size_t n, const char *layer);
    void (*release)(el_host *h, el_item *const *items, size_t n);
    void (*drop)(el_host *h, el_item *const *items, size_t n, el_cause cause, const char *layer);
    /* Why items a failed POST carried are lost, by its final status. */
    el_cause (*refusal_cause)(int status);

    /* The host's sending: the OTLP/HTTP JSON payload of one signal, the POST, and the scenario's
     * retry policy (exporter.retry, exporter.timeout_s). cb(ud, ...) gets the final answer. */
    void (*send)(el_host *h, el_signal sig, el_item *const *items, size_t n, el_sent_fn cb,
                 void *ud);
    /* The host's encoder alone: the payload send() would POST (malloc'd; free() it). */
    char *(*encode)(el_host *h, el_signal sig, el_item *const *items, size_t n, size_t *len);
    /* A POST of the exporter's own body carrying `items`; no retries. */
    void (*fetch)(el_host *h, const el_fetch_req *req, el_item *const *items, size_t n,
                  el_sent_fn cb, void *ud);

    /* Finishes a call (once); the caller is resumed from the microtask queue. */
    void (*done)(el_host *h, el_call *call);
} el_host_api;

struct el_host {
    const el_host_api *api;
};

/* Reading the exporter's options ("exporter": {"options": {...}}) during configure(), which
 * runs once per scenario variant whether or not options were given. Each returns 0, or non-zero
 * after recording an error naming the file, the JSON path and what was expected (configure()
 * should then return non-zero). An absent key gets `def`. Keys the exporter never asked for
 * are refused as unknown. */
typedef struct el_options_api {
    uint32_t size;
    int (*number)(el_options *o, const char *key, double def, double min, double max, double *out);
    int (*integer)(el_options *o, const char *key, int64_t def, int64_t min, int64_t max,
                   int64_t *out);
    int (*boolean)(el_options *o, const char *key, int def, int *out);
    /* The string lives as long as the run's configuration. */
    int (*string)(el_options *o, const char *key, const char *def, const char **out);
    /* Seconds in the file, nanoseconds out, rounded as the host rounds its own durations. */
    int (*duration)(el_options *o, const char *key, double def_s, double min_s, double max_s,
                    int64_t *ns);
    /* Refuses a combination: "FILE: $.exporter.options.KEY: msg". */
    int (*fail)(el_options *o, const char *key, const char *msg);
} el_options_api;

struct el_options {
    const el_options_api *api;
};

typedef struct el_exporter {
    uint32_t abi;  /* EL_EXPORTER_ABI it was built for */
    uint32_t size; /* sizeof(el_exporter) it was built with */
    const char *name;
    uint32_t caps; /* EL_CAP_* */
    el_bundle bundle;
    /* Its parsed configuration, once per variant (0: none); it lives as long as the run, so
     * create() may keep the pointer. */
    size_t config_size;
    size_t state_size; /* its state per isolate (at least 1) */

    /* Optional: parses its options into `config` (zeroed, config_size bytes). */
    int (*configure)(void *config, el_options *o);
    /* The isolate's first telemetry: set up `self` (zeroed, state_size bytes). Keep `h`. */
    void (*create)(void *self, el_host *h, const void *config);
    /* Takes every item (one signal); finish `call` when the caller may go on. */
    void (*export_items)(void *self, el_signal sig, el_item *const *items, size_t n, el_call *call);
    /* Its flush(): POST what it holds, finish `call` when done (or when it gives up). */
    void (*flush)(void *self, el_call *call);
    /* shutdown(): before the process ends (a long-lived server's exit). */
    void (*shutdown)(void *self, el_call *call);
    /* The isolate died or the run ended (`cause`): drop what it holds, free what it allocated
     * (not `self`). */
    void (*destroy)(void *self, el_cause cause);
    /* Optional introspection: the layer that holds `it` ("buffer", "queue"...: a string that
     * outlives the exporter, a literal), or NULL. At the isolate's death the host asks it about
     * every item held, just before destroy(), to name the layer of those destroy() leaves. */
    const char *(*layer_of)(void *self, const el_item *it);
} el_exporter;

typedef const el_exporter *(*el_exporter_entry)(void);

/* What a plugin defines: EL_EXPORT const el_exporter *edgeloss_exporter(void) { return &d; }
 * (EL_EXPORT keeps it visible when the rest is built with -fvisibility=hidden). */
#if defined(__GNUC__) || defined(__clang__)
#define EL_EXPORT __attribute__((visibility("default")))
#else
#define EL_EXPORT
#endif
EL_EXPORT const el_exporter *edgeloss_exporter(void);

/* Shorthands over the handle. */
static inline int64_t el_now(el_host *h)
{
    return h->api->now(h);
}
static inline void el_done(el_host *h, el_call *call)
{
    h->api->done(h, call);
}

/* A growable array of items, for an exporter's own buffers. Returns 0, or -1 out of memory. */
typedef struct el_items {
    el_item **v;
    size_t n, cap;
} el_items;

static inline int el_items_reserve(el_items *v, size_t extra)
{
    if (v->n + extra <= v->cap)
        return 0;
    size_t cap = v->cap ? v->cap : 16;
    while (cap < v->n + extra)
        cap *= 2;
    el_item **nv = (el_item **)realloc(v->v, cap * sizeof *nv);
    if (!nv)
        return -1;
    v->v = nv;
    v->cap = cap;
    return 0;
}

static inline int el_items_push(el_items *v, el_item *it)
{
    if (el_items_reserve(v, 1))
        return -1;
    v->v[v->n++] = it;
    return 0;
}

/* Appends n items. */
static inline int el_items_add(el_items *v, el_item *const *items, size_t n)
{
    if (!n)
        return 0;
    if (el_items_reserve(v, n))
        return -1;
    memcpy(v->v + v->n, items, n * sizeof *items);
    v->n += n;
    return 0;
}

/* Puts n items in front. */
static inline int el_items_prepend(el_items *v, el_item *const *items, size_t n)
{
    if (!n)
        return 0;
    if (el_items_reserve(v, n))
        return -1;
    memmove(v->v + n, v->v, v->n * sizeof *v->v);
    memcpy(v->v, items, n * sizeof *items);
    v->n += n;
    return 0;
}

/* Removes the first n items. */
static inline void el_items_shift(el_items *v, size_t n)
{
    if (n > v->n)
        n = v->n;
    memmove(v->v, v->v + n, (v->n - n) * sizeof *v->v);
    v->n -= n;
}

static inline void el_items_free(el_items *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

#ifdef __cplusplus
}
#endif

#endif
