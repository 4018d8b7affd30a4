/*
 * The exporter host: what the telemetry SDK (sdk.c) hands items to, and what
 * every export strategy sees of the simulator. A strategy is an el_exporter
 * (include/edgeloss/exporter.h, the ABI): the built-ins register through it
 * exactly as a plugin does, one file each -
 *
 *   buffered.c   its own buffer, POSTs at N items or B bytes: the seed's
 *                exporter and its fixes and workarounds, which differ only in
 *                their capabilities and configuration (threshold, propagate,
 *                exposed, private_reach, interval)
 *   immediate.c  POSTs at once, stateless across requests (fix A)
 *   otel_batch.c an OpenTelemetry BatchSpanProcessor-style queue
 *
 * and plugin.c loads one from a shared object. host.c implements the ABI's
 * services over the runtime, the network and the ledger: it tracks which items
 * an exporter holds (so a plugin that never reports a loss still gets fates),
 * queues completions on the isolate's microtask queue, and runs send.c's
 * sending. Items are owned by exactly one holder at a time; every move and
 * every loss is reported to the ledger - the ledger uses those only to explain
 * a loss, never to decide one.
 */
#ifndef SIM_EXPORTER_H
#define SIM_EXPORTER_H

#include "config.h"
#include "ledger.h"
#include "net.h"
#include "rng.h"
#include "runtime.h"

#include <edgeloss/exporter.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SIG_TRACES = EL_TRACES,
    SIG_METRICS = EL_METRICS,
    SIG_LOGS = EL_LOGS,
    SIG_COUNT = EL_SIGNALS
} sdk_signal;

struct exp_host;

/* One telemetry item (el_item to an exporter). Its OTLP JSON fragment is built when it is
 * complete. */
typedef struct el_item {
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
    rt_isolate_ref home;
    uint32_t charged;
    /* Held by an exporter (host.c): its list, in the order it was handed over. */
    struct exp_host *holder;
    struct el_item *hprev, *hnext;
    const char *hlayer; /* the layer its exporter's layer_of named when its isolate died */
} tel_item;

/* Charges `bytes` more of the item's memory to its isolate. */
void item_charge(rt *r, tel_item *it, uint32_t bytes);

typedef struct item_vec {
    tel_item **v;
    size_t n, cap;
} item_vec;

void vec_push(item_vec *v, tel_item *it);
/* Moves all of `from` to the end of `to` (from becomes empty). */
void vec_append(item_vec *to, item_vec *from);
/* Frees the items and the vector. */
void vec_free(rt *r, item_vec *v);
void item_free(rt *r, tel_item *it);

/* A built-in strategy by name (NULL when unknown). */
const el_exporter *exp_builtin_find(const char *name);
extern const el_exporter exp_threshold, exp_propagate, exp_exposed, exp_private_reach, exp_interval,
    exp_immediate, exp_otel_batch;

/* What the host of one isolate's exporter uses. */
typedef struct exp_env {
    rt *r;
    net *net;
    ledger *ledger;
    const exp_config *cfg;
    rt_isolate_ref iso; /* only its id is meaningful here: the ledger's isolate */
    rng *rand;          /* the exporter stream */
    /* exporter.log's lines go here (NULL: dropped); opened by the SDK on the first. */
    void (*log)(void *ud, const char *line);
    void *log_ud;
    struct exp_remote *remote; /* the run's child exporter host (an out-of-process plugin) */
} exp_env;

/* A call to an exporter, embedded in its caller's state: fn(ud) resumes the caller (NULL: a
 * call nobody waits for). */
struct el_call {
    el_fn fn;
    void *ud;
    struct el_call *next; /* the microtask queue */
    uint8_t state;        /* EXP_CALL_* */
};
enum { EXP_CALL_PENDING, EXP_CALL_QUEUED, EXP_CALL_DONE };

typedef struct exp_host exp_host;

/* Creates the isolate's exporter (the strategy's create runs now). */
exp_host *exp_host_new(const exp_env *env);
/* Hands every item of `items` (one signal) to the exporter; `items` is left empty. */
void exp_host_export(exp_host *h, sdk_signal sig, item_vec *items, el_call *call);
void exp_host_flush(exp_host *h, el_call *call);
void exp_host_shutdown(exp_host *h, el_call *call);
/* The isolate died or the run ended: the exporter's destroy, then every item it still held
 * lost to `cause`, sends waiting for a retry too; frees all. */
void exp_host_destroy(exp_host *h, ledger_cause cause);

/*
 * The OTLP/HTTP JSON payload of one signal around n items' fragments (malloc'd; its length
 * in *len), with resource attributes service.name and, when sent_for is not 0, the request it
 * is sent for as edgeloss.request_id "r<sent_for>" (0: a payload sent for no request, e.g. a
 * queue's batch, has none).
 */
char *exp_payload(const char *service, sdk_signal sig, const char *const *frags,
                  const uint32_t *lens, size_t n, uint64_t sent_for, size_t *len);
/* exp_payload around the items' own fragments. */
char *exp_items_payload(const char *service, sdk_signal sig, tel_item *const *items, size_t n,
                        uint64_t sent_for, size_t *len);
/* Why items a failed send carried are lost, by the final status (net.h's runtime refusals). */
ledger_cause exp_refusal_cause(int status);

/* Ledger helper: items lost, never before they reached their holder. */
void exp_dropped(const exp_env *env, const item_vec *items, ledger_cause cause, const char *layer);

#endif
