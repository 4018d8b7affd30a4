/*
 * The telemetry SDK the simulated app uses, written after the seed's
 * (Stackbilt's createMonitoring): per isolate (module globals) a tracer, a
 * metrics collector and a logger, each with its own buffer and flush()
 * (layer 1), handing items to one exporter (exporters/exporter.h). Every item
 * gets a ledger number when created; its OTLP/HTTP JSON carries it as
 * edgeloss.item_id beside edgeloss.request_id.
 *
 * The monitoring bundle exposes tracer.flush(), metrics.flush() and
 * logger.flush(). `exporter.flush` in a program is `obs.exporter?.flush()`:
 * a real flush only where the bundle exposes the exporter (strategy
 * exposed), or where the consumer reaches into the tracer's private options
 * for it (private_reach, which the ledger records as private access); a
 * no-op elsewhere, as optional chaining on a missing field is.
 *
 * For otel-batch there is no layer 1: items go to the batch processor when
 * they end, and flush() is forceFlush().
 */
#ifndef SIM_SDK_H
#define SIM_SDK_H

#include "exporters/exporter.h"
#include "ledger.h"
#include "net.h"
#include "queue.h"
#include "rng.h"
#include "runtime.h"
#include "telemetry.h"

typedef struct sdk sdk;

typedef struct sdk_stats {
    uint64_t spans, metrics, logs;
    uint64_t entries; /* of isolate globals */
    uint64_t calls;
} sdk_stats;

/* ids_rng: trace and span ids; exporter_rng: the exporters' draws. The SDK is the `ud` of
 * sdk_ops(). */
sdk *sdk_new(const exp_config *cfg, ledger *l, net *n, rng *ids_rng, rng *exporter_rng,
             uint64_t seed);
void sdk_free(sdk *s);
/* Starts the run's exporter host when the strategy is an out-of-process plugin (remote.h);
 * nothing otherwise. 0, or SIM_EINPUT with why in err. */
int sdk_start_exporter(sdk *s, char *err, size_t errlen);
/* NULL, or what ended the exporter host during the run: the run is then an error. */
const char *sdk_exporter_failure(const sdk *s);
/* Checkpoints of accumulators send their messages to this queue (queue.h). */
void sdk_set_queue(sdk *s, queue *q);
/* Where console.log lines go (wlogs.h; NULL: console logs are SDK logs). */
struct wlogs;
void sdk_set_wlogs(sdk *s, struct wlogs *w);
/* Where exporters' log lines go (el_host_api.log); unset, they are dropped. */
void sdk_set_log(sdk *s, void (*log)(void *ud, const char *line), void *ud);
const tel_ops *sdk_ops(void);
const sdk_stats *sdk_get_stats(const sdk *s);

#endif
