/*
 * The scenario key table and the compiler from a validated document to the
 * modules' configs. Every key is declared once, here: validation, defaults
 * and the reference (`edgeloss keys`, scenarios/README.md) all read it.
 */
#include "scenario.h"

#include "ingest.h"

#include "cron.h"
#include "datafile.h"
#include "exporters/plugin.h"
#include "exporters/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIG 1e12
/* Seconds that still fit in int64 nanoseconds, added together: about 31 years. */
#define BIG_S 1e9

/* clang-format off */
static const sk_key keys[] = {
    {"name", SK_STRING, 0, 0, "\"\"", NULL, "what the scenario demonstrates, in one line", 0},
    {"description", SK_STRING, 0, 0, "\"\"", NULL, "what it shows and why, for the report", 0},
    {"sources", SK_ARRAY, 0, 1000, "[]", NULL, "where each parameter comes from (citations)", 0},
    {"sources[]", SK_STRING, 0, 0, NULL, NULL, "one citation", 0},
    {"seed", SK_INT, 0, 9007199254740991.0, "1", NULL, "the run's seed (--seed overrides it)", 0},
    {"seeds", SK_ARRAY, 1, 10000, NULL, NULL,
     "run every one of these seeds instead of `seed` (--seed overrides both); each seed is a run "
     "of its own, in its own directory", 0},
    {"seeds[]", SK_INT, 0, 9007199254740991.0, NULL, NULL, "a seed, each listed once", 0},

    {"workload", SK_OBJECT, 0, 0, NULL, NULL, "the arrival process", SK_REQUIRED},
    {"workload.arrivals", SK_ENUM, 0, 0, "\"poisson\"",
     "constant|poisson|bursts|diurnal|replay|cron",
     "constant rate, Poisson, Poisson during on/off bursts, Poisson following a daily curve, "
     "the timestamps of a file, or the runs of a Cron Trigger (workload.cron)", 0},
    {"workload.cron", SK_STRING, 1, 200, NULL, NULL,
     "cron: the Cron Trigger's schedule, five fields in UTC (\"0 * * * *\": hourly; "
     "docs/handlers.md); each run is a scheduled invocation, with the 15-minute wall limit "
     "(runtime.wall_limit_s) and Cloudflare's CPU limit for its interval", 0},
    {"workload.cron_times_s", SK_ARRAY, 1, 1000000, NULL, NULL,
     "cron, instead of a schedule: the runs' times, in increasing order (from start_s)", 0},
    {"workload.cron_times_s[]", SK_NUMBER, 0, BIG_S, NULL, NULL, "a run's time", 0},
    {"workload.rate_per_s", SK_NUMBER, 1e-9, 1e7, "1", NULL,
     "arrivals per second (during on periods for bursts; at the peak for diurnal)", 0},
    {"workload.start_s", SK_NUMBER, 0, BIG_S, "0", NULL, "virtual time of the first possible arrival", 0},
    {"workload.duration_s", SK_NUMBER, 0, BIG_S, "60", NULL,
     "arrivals stop after this long (0: only `requests` limits)", 0},
    {"workload.requests", SK_INT, 0, BIG, "0", NULL, "arrivals stop after this many (0: no limit)", 0},
    {"workload.burst_on", SK_DIST, 0, 0, "{\"fixed_s\": 10}", NULL, "bursts: length of an on period", 0},
    {"workload.burst_off", SK_DIST, 0, 0, "{\"fixed_s\": 600}", NULL, "bursts: length of an off period", 0},
    {"workload.drain_s", SK_NUMBER, 0, BIG_S, "60", NULL,
     "after the last arrival the run goes on this long; what is still in memory then is stranded", 0},
    {"workload.diurnal", SK_OBJECT, 0, 0, "{}", NULL,
     "diurnal: the rate follows a cosine from rate_per_s at the peak to the trough", 0},
    {"workload.diurnal.trough_rate_per_s", SK_NUMBER, 0, 1e7, "0.1", NULL,
     "the rate half a period from the peak (at most rate_per_s)", 0},
    {"workload.diurnal.peak_h", SK_NUMBER, 0, 1e6, "14", NULL,
     "when the rate peaks: hours of virtual time into each period", 0},
    {"workload.diurnal.period_h", SK_NUMBER, 0.001, 1e6, "24", NULL, "length of one cycle", 0},
    {"workload.replay", SK_OBJECT, 0, 0, NULL, NULL,
     "replay: arrivals at recorded times (a CSV file)", 0},
    {"workload.replay.file", SK_STRING, 1, 0, NULL, NULL,
     "CSV, relative to the scenario file: one timestamp per line, or a header naming columns "
     "time (required), route, colo, key; times sorted, taken relative to the first", SK_REQUIRED},
    {"workload.replay.unit", SK_ENUM, 0, 0, "\"s\"", "ns|us|ms|s", "the unit of the times", 0},
    {"workload.spans_per_request", SK_INT, 0, 100000, "0", NULL,
     "spans each client request carries into the Worker (the third seed: the Worker is the "
     "ingest): ledger items of kind carried, sent on by fetch steps with body carried", 0},
    {"workload.keys", SK_INT, 1, 1e6, "1000", NULL,
     "distinct request keys (clients), drawn uniformly, for sticky routing; durable_object: the "
     "objects, one per key", 0},

    {"runtime", SK_OBJECT, 0, 0, "{}", NULL, "the isolate model and its limits", 0},
    {"runtime.kind", SK_ENUM, 0, 0, "\"edge\"", "edge|server|durable_object",
     "edge isolates, a long-lived server process (never evicted, timers always fire), or "
     "Durable Objects (docs/handlers.md: one object per workload key, hibernation, GB-s)", 0},
    {"runtime.hibernate_after_s", SK_NUMBER, 1e-9, 3600, "10", NULL,
     "durable_object: an idle object that can hibernate (nothing pending: no request's work, "
     "timer or fetch) hibernates this long after it could, its in-memory state discarded. "
     "Cloudflare: after 10 seconds", 0},
    {"runtime.compatibility_date", SK_STRING, 10, 10, "\"2026-12-01\"", NULL,
     "the Worker's compatibility date (YYYY-MM-DD): from 2026-10-01, pending waitUntil work and "
     "timers keep a Durable Object active (durable_object_io_tasks_prevent_eviction)", 0},
    {"runtime.compatibility_flags", SK_ARRAY, 0, 16, "[]", NULL,
     "compatibility flags that override the date's behaviour", 0},
    {"runtime.compatibility_flags[]", SK_ENUM, 0, 0, NULL,
     "durable_object_io_tasks_prevent_eviction|durable_object_io_tasks_do_not_prevent_eviction",
     "a flag: pending waitUntil work and timers keep a Durable Object active, or do not", 0},
    {"runtime.max_concurrency", SK_INT, 1, 1e6, "32", NULL,
     "requests in flight per isolate before another isolate starts", 0},
    {"runtime.max_isolates", SK_INT, 0, 1e6, "0", NULL,
     "isolates at most (0: no limit); at the limit requests share the least loaded", 0},
    {"runtime.cold_start", SK_DIST, 0, 0, "{\"fixed_ms\": 5}", NULL, "isolate startup latency", 0},
    {"runtime.idle_timeout", SK_DIST, 0, 0, "{\"uniform_s\": [60, 300]}", NULL,
     "how long an idle isolate lives before eviction, drawn each time it goes idle; "
     "durable_object: how long an idle object that cannot hibernate stays in memory (default "
     "there: 70-140 s, Cloudflare's)", 0},
    {"runtime.max_lifetime_s", SK_NUMBER, 0, BIG_S, "0", NULL,
     "an isolate is evicted this long after its creation, busy or not (0: never)", 0},
    {"runtime.deploys_s", SK_ARRAY, 0, 100000, "[]", NULL,
     "times of deploys: every isolate is replaced", 0},
    {"runtime.deploys_s[]", SK_NUMBER, 0, BIG_S, NULL, NULL, "a deploy time", 0},
    {"runtime.wait_until_budget_s", SK_NUMBER, 0, 3600, "30", NULL,
     "ctx.waitUntil work may run this long after the response, then is cancelled (0: no limit)", 0},
    {"runtime.colos", SK_ARRAY, 1, 1000, NULL, NULL,
     "colos, each with its own isolates (default: one colo); arrivals spread by weight", 0},
    {"runtime.colos[]", SK_OBJECT, 0, 0, NULL, NULL, "one colo", 0},
    {"runtime.colos[].name", SK_STRING, 1, 0, NULL, NULL, "its name (e.g. an airport code)", SK_REQUIRED},
    {"runtime.colos[].weight", SK_NUMBER, 1e-9, 1e9, "1", NULL, "its share of the arrivals", 0},
    {"runtime.colos[].max_isolates", SK_INT, 0, 1e6, "0", NULL,
     "isolates at most in this colo (0: runtime.max_isolates)", 0},
    {"runtime.routing", SK_ENUM, 0, 0, "\"least_loaded\"", "least_loaded|random|sticky",
     "which live isolate with room in the colo takes a request: the least loaded, one at random, "
     "or the one that served the request's key last (workload.keys)", 0},
    {"runtime.memory_limit_mb", SK_NUMBER, 0, 1e6, "128", NULL,
     "an isolate holding more (its base, the app's memory steps and telemetry items) is evicted "
     "(cause memory); 0: no limit. Workers: 128 MB", 0},
    {"runtime.memory_base_mb", SK_NUMBER, 0, 1e6, "0", NULL,
     "what a fresh isolate holds (code, runtime) against the limit", 0},
    {"runtime.cpu_limit_ms", SK_NUMBER, 0, 1e9, "30000", NULL,
     "CPU time a request's handler and waitUntil work may use; past it the request is "
     "terminated; 0: none. Workers: 30 s by default on paid plans (10 ms on Free)", 0},
    {"runtime.subrequest_limit", SK_INT, 0, 1e9, "10000", NULL,
     "fetches per request (the app's and the exporter's); past it fetch fails at once; 0: none. "
     "Workers: 10,000 on Workers Paid (raised from 1,000 on 2026-02-11; configurable up to 10 "
     "million), 50 on Free", 0},
    {"runtime.log_limit_kb", SK_NUMBER, 0.001, 1e6, "256", NULL,
     "console.log output recorded per invocation (log steps via console); past it, lines are "
     "not recorded (lost as log-size-limit). Workers: 256 KB", 0},
    {"runtime.wall_limit_s", SK_NUMBER, 0, BIG_S, "0", NULL,
     "an invocation is cut this long after it started, handler and waitUntil work alike (0: "
     "none). Default 900 for a cron workload: Cloudflare's 15 minutes for Cron Triggers", 0},
    {"runtime.max_connections", SK_INT, 0, 1e6, "6", NULL,
     "open fetches per request; more wait for one to finish; 0: no limit. Workers: 6", 0},

    {"app", SK_OBJECT, 0, 0, NULL, NULL, "the request program", SK_REQUIRED},
    {"app.handler", SK_STEPS, 1, 1e6, NULL, NULL,
     "the steps every request runs (or give `routes`)", 0},
    {"app.routes", SK_ARRAY, 1, 1000, NULL, NULL,
     "several routes, each with its own handler; arrivals pick one by weight", 0},
    {"app.routes[]", SK_OBJECT, 0, 0, NULL, NULL, "one route", 0},
    {"app.routes[].name", SK_STRING, 1, 0, NULL, NULL, "e.g. \"GET /api\"", SK_REQUIRED},
    {"app.routes[].weight", SK_NUMBER, 1e-9, 1e9, "1", NULL, "its share of the arrivals", 0},
    {"app.routes[].handler", SK_STEPS, 1, 1e6, NULL, NULL, "the route's steps", SK_REQUIRED},
    {"app.alarm", SK_STEPS, 1, 1e6, NULL, NULL,
     "runtime.kind durable_object: the object's alarm() handler, run when an alarm set by "
     "set_alarm fires (docs/handlers.md): at least once, retried with backoff from 2 s up to 6 "
     "times when a run fails (CPU limit, 15-minute wall limit, the object killed)", 0},
    {"app.zone", SK_STRING, 1, 255, NULL, NULL,
     "the Worker's own zone (e.g. flare.dev): every subrequest it makes on a zone carries it as "
     "the WAF's cf.worker.upstream_zone", 0},
    {"app.accumulators", SK_ARRAY, 0, 1000, "[]", NULL,
     "globals that are isolate-wide accumulators (the pre-#400 ResolveLogger): never unset, "
     "drained by checkpoints into queue messages", 0},
    {"app.accumulators[]", SK_OBJECT, 0, 0, NULL, NULL, "one accumulator", 0},
    {"app.accumulators[].name", SK_STRING, 1, 0, NULL, NULL,
     "the global's name (as the steps name it)", SK_REQUIRED},
    {"app.accumulators[].checkpoint_every_s", SK_NUMBER, 0, 1e6, "0", NULL,
     "a checkpoint runs this often (an isolate timer from the first entry: it freezes while the "
     "isolate is idle); 0: never on a timer, else at least 0.001", 0},
    {"app.accumulators[].checkpoint_entries", SK_INT, 0, 1e9, "0", NULL,
     "a checkpoint runs as soon as it holds this many entries; 0: no bound", 0},

    {"variant", SK_STRING, 1, 0, "\"baseline\"", NULL,
     "the name of the run this file describes (its variants are named in `variants`)", 0},

    {"exporter", SK_OBJECT, 0, 0, NULL, NULL,
     "the telemetry SDK's exporter; without it telemetry calls are counted no-ops", 0},
    {"exporter.strategy", SK_ENUM, 0, 0, "\"threshold\"",
     "threshold|immediate|propagate|exposed|private_reach|interval|otel-batch",
     "threshold: the seed's exporter; immediate: fix A; propagate: fix B; exposed: fix C; "
     "private_reach: the seed's workaround; interval: setInterval auto-flush; otel-batch: "
     "a BatchSpanProcessor", 0},
    {"exporter.batch_items", SK_INT, 1, 1e6, "100", NULL,
     "buffered strategies POST when this many items are buffered (seed: 100)", 0},
    {"exporter.batch_bytes", SK_INT, 1, 1e9, "51200", NULL,
     "... or this many bytes of OTLP JSON (seed: 50 KB)", 0},
    {"exporter.backoff_s", SK_NUMBER, 0, 1e6, "60", NULL,
     "after a 403 the exporter waits this long before it POSTs again (Retry-After wins)", 0},
    {"exporter.breaker", SK_OBJECT, 0, 0, "{}", NULL, "circuit breaker of buffered strategies", 0},
    {"exporter.breaker.failures", SK_INT, 1, 1e6, "5", NULL, "failed flushes in a row that open it", 0},
    {"exporter.breaker.open_s", SK_NUMBER, 0, 1e6, "60", NULL, "how long it stays open", 0},
    {"exporter.breaker.successes", SK_INT, 1, 1e6, "2", NULL,
     "good answers while half-open that close it", 0},
    {"exporter.retry", SK_OBJECT, 0, 0, "{}", NULL,
     "retries of 429 and 5xx answers and of network errors", 0},
    {"exporter.retry.count", SK_INT, 0, 100, "2", NULL, "retries after the first attempt", 0},
    {"exporter.retry.backoff", SK_DIST, 0, 0, "{\"fixed_ms\": 500}", NULL,
     "wait before the first retry, doubling each time", 0},
    {"exporter.retry.honor_retry_after", SK_BOOL, 0, 0, "true", NULL,
     "wait what Retry-After says when the answer has it", 0},
    {"exporter.retry.max_wait_s", SK_NUMBER, 0, 1e6, "0", NULL,
     "no retry waits longer than this, whatever the backoff or Retry-After says (0: no cap)", 0},
    {"exporter.timeout_s", SK_NUMBER, 0, 1e6, "0", NULL,
     "each POST is aborted this long after its fetch() if no answer came (AbortSignal.timeout; the "
     "OpenTelemetry JS exporters' timeoutMillis); it then fails as a network error and may be "
     "retried; 0: never", 0},
    {"exporter.flush_budget_s", SK_NUMBER, 0, 1e6, "10", NULL,
     "a flush stops waiting for its answers after this long (0: never)", 0},
    {"exporter.interval_s", SK_NUMBER, 0.001, 1e6, "10", NULL,
     "interval strategy: the setInterval period of its auto-flush", 0},
    {"exporter.otel", SK_OBJECT, 0, 0, "{}", NULL, "otel-batch: the BatchSpanProcessor's settings", 0},
    {"exporter.otel.max_queue", SK_INT, 1, 1e7, "2048", NULL, "queue size; more is dropped", 0},
    {"exporter.otel.max_batch", SK_INT, 1, 1e6, "512", NULL, "items per export", 0},
    {"exporter.otel.delay_ms", SK_NUMBER, 0, 1e9, "5000", NULL, "scheduled delay of an export", 0},
    {"exporter.service", SK_STRING, 1, 0, "\"edge-worker\"", NULL, "resource service.name", 0},
    {"exporter.layer1", SK_ENUM, 0, 0, "\"request\"", "request|isolate",
     "the tracer's, metrics collector's and logger's buffers: one per request (the seed: they "
     "batch within a single request), or one per isolate shared by concurrent requests", 0},
    {"exporter.item_overhead_bytes", SK_INT, 0, 1e9, "512", NULL,
     "an item's memory besides its OTLP JSON (its JS objects), held while it is in memory", 0},
    {"exporter.plugin", SK_STRING, 1, 0, NULL, NULL,
     "a shared object implementing the exporter ABI (<edgeloss/exporter.h>, docs/plugins.md), "
     "relative to the scenario file; it is the strategy (leave `strategy` out). "
     "`edgeloss run --exporter-plugin` sets it for every variant", 0},
    {"exporter.js", SK_STRING, 1, 0, NULL, NULL,
     "a JavaScript exporter: a bundle (one script, CommonJS or IIFE) whose factory returns an "
     "OpenTelemetry exporter or span processor, run by Node in one vm context per isolate "
     "(docs/js-exporters.md), relative to the scenario file; it is the strategy", 0},
    {"exporter.factory", SK_STRING, 1, 0, "\"createExporter\"", NULL,
     "the JavaScript bundle's factory: module.exports.NAME (or a global), called with `options`",
     0},
    {"exporter.options", SK_CUSTOM, 0, 0, NULL, NULL,
     "a plugin's own settings: an object its configure() reads (unknown keys are refused); for "
     "a JavaScript exporter, the object its factory gets",
     0},
    {"exporter.in_process", SK_BOOL, 0, 0, "false", NULL,
     "run the plugin inside edgeloss (unprotected: its crash is edgeloss's) instead of in its "
     "own exporter host process (docs/exporter-protocol.md); `--exporter-in-process` sets it", 0},
    {"exporter.call_budget", SK_OBJECT, 0, 0, "{}", NULL,
     "an out-of-process plugin's budget per call: past it the exporter host is killed and the "
     "run is an error (exit 3)", 0},
    {"exporter.call_budget.wall_ms", SK_INT, 1, 3.6e6, "10000", NULL,
     "wall-clock milliseconds one call may take (it decides nothing else)", 0},
    {"exporter.call_budget.messages", SK_INT, 1, 1e9, "1000000", NULL,
     "messages the exporter host may send during one call", 0},

    {"network", SK_OBJECT, 0, 0, "{}", NULL, "the network between isolates and the ingest", 0},
    {"network.latency", SK_DIST, 0, 0, "{\"lognormal_ms\": {\"p50\": 20, \"p99\": 120}}",
     NULL, "one-way latency (a round trip draws twice)", 0},

    {"ingest", SK_OBJECT, 0, 0, "{}", NULL, "the mock ingest the run sends to", 0},
    {"ingest.api_key", SK_STRING, 1, 0, NULL, NULL,
     "the key the exporter sends; the ingest then requires it", 0},
    {"ingest.cap", SK_OBJECT, 0, 0, NULL, NULL,
     "items accepted per fixed window; a request past it gets 403 (the seed's per-worker cap)", 0},
    {"ingest.cap.items", SK_INT, 1, 1e12, NULL, NULL, "items per window", SK_REQUIRED},
    {"ingest.cap.window_s", SK_NUMBER, 1e-9, 1e9, NULL, NULL, "window length", SK_REQUIRED},

    {"faults", SK_OBJECT, 0, 0, "{}", NULL, "fault injection (draws from its own stream)", 0},
    {"faults.kill_isolates_per_hour", SK_NUMBER, 0, 3.6e6, "0", NULL,
     "isolates killed at random (a Poisson process; the victim uniform among live isolates)", 0},
    {"faults.rules", SK_ARRAY, 0, 1000, "[]", NULL,
     "fault rules (docs/faults.md): each a kind, a window, a probability and a target", 0},
    {"faults.rules[]", SK_OBJECT, 0, 0, NULL, NULL, "one rule", 0},
    {"faults.rules[].kind", SK_ENUM, 0, 0, NULL,
     "latency|bandwidth|refused|reset|timeout|partition|loss|status|too_large|slow|drop_answer|"
     "deploy|memory_pressure|cpu_storm",
     "what goes wrong: network (latency, bandwidth, refused, reset, timeout, partition, loss), "
     "ingest (status, too_large, slow, drop_answer) or runtime (deploy, memory_pressure, "
     "cpu_storm)", SK_REQUIRED},
    {"faults.rules[].from_s", SK_NUMBER, 0, BIG_S, "0", NULL,
     "the window's start (a deploy's instant)", 0},
    {"faults.rules[].until_s", SK_NUMBER, 0, BIG_S, NULL, NULL,
     "the window's end, excluded (default: the end of the run)", 0},
    {"faults.rules[].probability", SK_NUMBER, 0, 1, "1", NULL,
     "each request the rule matches is hit with this probability (not for loss and runtime "
     "kinds)", 0},
    {"faults.rules[].first", SK_INT, 0, 1e15, "0", NULL,
     "fire this many times at most: fail the first N (0: no limit)", 0},
    {"faults.rules[].routes", SK_ARRAY, 1, 1000, NULL, NULL,
     "target: requests sent by the code of these routes (app.routes names)", 0},
    {"faults.rules[].routes[]", SK_STRING, 0, 0, NULL, NULL, "a route name", 0},
    {"faults.rules[].colos", SK_ARRAY, 1, 1000, NULL, NULL,
     "target: requests sent from isolates of these colos (runtime.colos names)", 0},
    {"faults.rules[].colos[]", SK_STRING, 0, 0, NULL, NULL, "a colo name", 0},
    {"faults.rules[].isolates", SK_ARRAY, 1, 1000, NULL, NULL,
     "target: requests sent from these isolates (1: the first created)", 0},
    {"faults.rules[].isolates[]", SK_INT, 1, 1e15, NULL, NULL, "an isolate id", 0},
    {"faults.rules[].paths", SK_ARRAY, 1, 1000, NULL, NULL,
     "target: requests whose path starts with one of these (\"/v1/traces\")", 0},
    {"faults.rules[].paths[]", SK_STRING, 1, 0, NULL, NULL, "a path prefix", 0},
    {"faults.rules[].latency_ms", SK_NUMBER, 0, 1e9, NULL, NULL,
     "latency: added to the trip out; slow: added before the answer leaves", 0},
    {"faults.rules[].jitter_ms", SK_NUMBER, 0, 1e9, "0", NULL,
     "latency, slow: drawn uniformly in latency_ms +- jitter_ms (at least 0)", 0},
    {"faults.rules[].kb_per_s", SK_NUMBER, 1e-6, 1e12, NULL, NULL,
     "bandwidth: the body goes out at this many KB (1000 bytes) per second", 0},
    {"faults.rules[].after_s", SK_NUMBER, 0, BIG_S, "0", NULL,
     "timeout, partition, loss: the fetch rejects this long after it left (0: never; it "
     "hangs)", 0},
    {"faults.rules[].p", SK_NUMBER, 0, 1, NULL, NULL, "loss: good to bad, per request", 0},
    {"faults.rules[].r", SK_NUMBER, 0, 1, NULL, NULL, "loss: bad to good, per request", 0},
    {"faults.rules[].loss_bad", SK_NUMBER, 0, 1, "1", NULL,
     "loss: a request is lost with this in the bad state (netem's 1-h)", 0},
    {"faults.rules[].loss_good", SK_NUMBER, 0, 1, "0", NULL,
     "loss: ... and with this in the good state (netem's 1-k)", 0},
    {"faults.rules[].status", SK_INT, 429, 504, NULL, NULL,
     "status: the ingest answers it (429, 500, 502, 503 or 504), items refused", 0},
    {"faults.rules[].retry_after_s", SK_INT, 1, 86400, NULL, NULL,
     "status 429 or 503: with this Retry-After", 0},
    {"faults.rules[].max_bytes", SK_INT, 0, 1e15, NULL, NULL,
     "too_large: the ingest answers 413 to a body larger than this", 0},
    {"faults.rules[].memory_mb", SK_NUMBER, 1e-6, 1e6, NULL, NULL,
     "memory_pressure: added to what each targeted isolate holds", 0},
    {"faults.rules[].cpu_factor", SK_NUMBER, 1, 1e6, NULL, NULL,
     "cpu_storm: each CPU step costs this many times more (above 1)", 0},

    {"queue", SK_OBJECT, 0, 0, NULL, NULL,
     "a Cloudflare Queue that checkpoints send to; its batched consumer POSTs each batch to the "
     "ingest (as OTLP logs sent for no request)", 0},
    {"queue.batch_size", SK_INT, 1, 100, "10", NULL,
     "messages per consumer batch at most (max_batch_size; Cloudflare: default 10, at most 100)",
     0},
    {"queue.max_wait_s", SK_NUMBER, 0, 60, "5", NULL,
     "a partial batch is delivered this long after its first message became available "
     "(max_batch_timeout; Cloudflare: default 5, at most 60)", 0},
    {"queue.delivery_delay_s", SK_NUMBER, 0, 43200, "0", NULL,
     "a message becomes available this long after it was sent (delivery_delay; Cloudflare: at "
     "most 12 h)", 0},
    {"queue.send_latency", SK_DIST, 0, 0, "{\"fixed_ms\": 5}", NULL,
     "how long send() takes to reach the queue", 0},
    {"queue.retries", SK_INT, 0, 100, "3", NULL,
     "a batch the ingest did not accept is retried this many times, then its items are lost "
     "(max_retries; Cloudflare: default 3)", 0},
    {"queue.retry_delay_s", SK_NUMBER, 0, 43200, "0", NULL,
     "wait before a retry (retry_delay)", 0},
    {"queue.dead_letter_queue", SK_STRING, 1, 200, NULL, NULL,
     "the queue's dead-letter queue (its name): a message out of retries goes there (lost as "
     "dead-lettered: parked, not delivered) instead of being deleted (lost for its last "
     "failure)", 0},
    {"queue.consumer", SK_OBJECT, 0, 0, "{}", NULL,
     "the consumer Worker's handler (docs/handlers.md): one POST per batch, or a fetch per "
     "message under the invocation's subrequest limit", 0},
    {"queue.consumer.fan_out", SK_ENUM, 0, 0, "\"batch\"", "batch|message",
     "batch: one POST for the batch's messages; message: one fetch per message", 0},
    {"queue.consumer.subrequest_limit", SK_INT, 0, 1e9, "10000", NULL,
     "fan_out message: fetches one delivery of a batch may make; the rest fail at once (0: no "
     "limit). Workers: 10,000 on Paid, 50 on Free", 0},
    {"queue.consumer.on_error", SK_ENUM, 0, 0, "\"throw\"", "ack|retry|throw",
     "fan_out message, a message whose fetch failed: ack (caught; acknowledged with the batch, "
     "lost), retry (msg.retry(): delivered again after retry_delay_s), throw (the handler throws: "
     "the whole batch is delivered again)", 0},
    {"waf", SK_CUSTOM, 0, 0, NULL, NULL,
     "WAF rules in front of the embedded ingest, as mock-ingest's config key waf "
     "(docs/waf.md): custom rules, rate limits, plan, window, counter lag", 0},
    {"zones", SK_ARRAY, 0, 100, "[]", NULL,
     "the zones the Worker's subrequests go to, and how each routes them over time", 0},
    {"zones[]", SK_OBJECT, 0, 0, NULL, NULL, "one zone", 0},
    {"zones[].host", SK_STRING, 1, 253, NULL, NULL, "its host, as fetch urls name it",
     SK_REQUIRED},
    {"zones[].routing", SK_ARRAY, 0, 10000, "[]", NULL,
     "routing changes; before the first, and for paths none names, a zone's subrequests go "
     "through its WAF; the last change that applies wins", 0},
    {"zones[].routing[]", SK_OBJECT, 0, 0, NULL, NULL, "one change", 0},
    {"zones[].routing[].at_s", SK_NUMBER, 0, BIG_S, "0", NULL, "from this virtual time on", 0},
    {"zones[].routing[].path", SK_STRING, 1, 0, NULL, NULL,
     "only for paths starting with this (default: every path)", 0},
    {"zones[].routing[].via", SK_ENUM, 0, 0, NULL, "waf|origin",
     "through the zone's WAF, or straight to the origin", SK_REQUIRED},
    {"zones[].routing[].share", SK_NUMBER, 0, 1, "1", NULL,
     "the share of subrequests that go this way (drawn per subrequest from the pipeline's "
     "stream); the rest go the other way", 0},
    {"monitor", SK_OBJECT, 0, 0, NULL, NULL,
     "a rate monitor (the seed's staging watching production) over the carried spans recorded "
     "per window: a window is low below (1 - drop) x the median of earlier normal windows; "
     "`consecutive` low windows alert, once per episode (docs/pipeline.md)", 0},
    {"monitor.window_s", SK_NUMBER, 1e-3, 1e9, "3600", NULL, "the window", 0},
    {"monitor.baseline_windows", SK_INT, 1, 10080, "24", NULL,
     "earlier normal windows in the baseline's median (weeks with same_window_last_week)", 0},
    {"monitor.drop", SK_NUMBER, 0, 1, "0.2", NULL, "the fall that makes a window low", 0},
    {"monitor.consecutive", SK_INT, 1, 10080, "2", NULL, "low windows in a row that alert", 0},
    {"monitor.baseline", SK_ENUM, 0, 0, "\"trailing\"", "trailing|same_window_last_week",
     "the most recent normal windows, or the same window of earlier weeks", 0},
    {"naive_daily", SK_OBJECT, 0, 0, NULL, NULL,
     "the naive check the monitor is compared with: each day's recorded spans against the day "
     "before's", 0},
    {"naive_daily.day_s", SK_NUMBER, 1e-3, 1e9, "86400", NULL,
     "a day (a whole number of monitor windows)", 0},
    {"naive_daily.ratio", SK_NUMBER, 0, 1, "0.7", NULL,
     "alert when a day has fewer than ratio x the day before's", 0},
    {"pipeline", SK_OBJECT, 0, 0, "{}", NULL,
     "the origin behind the notify endpoints: a notification the ingest acknowledged queues a "
     "job; the origin's worker GETs the object and POSTs its spans to store_path, straight to "
     "the origin", 0},
    {"pipeline.job_delay", SK_DIST, 0, 0, "{\"fixed_s\": 1}", NULL,
     "from the acknowledged notification to the origin's worker taking the job", 0},
    {"pipeline.store_path", SK_STRING, 1, 0, "\"/v1/traces\"", NULL,
     "where the origin stores the spans it read (an OTLP endpoint of the ingest)", 0},

    {"expect", SK_ARRAY, 0, 1000, "[]", NULL, "acceptance checks (needs an exporter)", 0},
    {"expect[]", SK_OBJECT, 0, 0, NULL, NULL, "one check: `check` or `metric`", 0},
    {"expect[].check", SK_ENUM, 0, 0, NULL,
     "flush_lands_within_request|low_volume_no_loss|no_private_access|batching_migration|"
     "no_mixing|no_loss",
     "a named criterion: the first seed's four acceptance criteria; no_mixing (no item credited "
     "to another request), no_loss (no item lost)", 0},
    {"expect[].metric", SK_STRING, 1, 0, NULL, NULL,
     "a number of the run: items, delivered, late, duplicated, misattributed, lost, loss_ratio, "
     "lost.<cause>, duplicates, delivered_unacknowledged, posts, posts_per_item, items_per_post, "
     "delivery_delay_p50_ms, delivery_delay_p95_ms, added_response_ms, added_wait_until_ms, "
     "exposure_items, "
     "exposure_bytes, private_accesses, requests, entries, mixed_items, mixed_requests, "
     "mixed_request_ratio, evicted.<isolate cause>, "
     "lost_when_evicted.<isolate cause> (idle, lifetime, deploy, memory, killed, hibernated), "
     "gb_s (Durable Objects' billed duration), wall_limited, cpu_limited, exceptions, truncated", 0},
    {"expect[].min", SK_NUMBER, -1e18, 1e18, NULL, NULL, "metric: lowest acceptable value", 0},
    {"expect[].max", SK_NUMBER, -1e18, 1e18, NULL, NULL, "metric: highest acceptable value", 0},
    {"expect[].holds", SK_BOOL, 0, 0, "true", NULL,
     "false: the criterion must be violated (the scenario reproduces an incident)", 0},
    {"expect[].allow_vacuous", SK_BOOL, 0, 0, "false", NULL,
     "pass when there is nothing to check (else an empty population fails)", 0},
    {"expect[].min_items_per_post", SK_NUMBER, 0, 1e9, "20", NULL,
     "batching_migration: the batches a long-lived runtime must keep", 0},
    {"expect[].why", SK_STRING, 0, 0, NULL, NULL, "what the check is for (shown with its result)", 0},

    {"budget", SK_OBJECT, 0, 0, "{}", NULL,
     "how much work a run may do; work the file predicts is checked before the run (exit 2), "
     "the rest while it runs (exit 3)", 0},
    {"budget.events", SK_NUMBER, 1, 1e15, "1e9", NULL, "engine events at most", 0},
    {"budget.steps", SK_NUMBER, 1, 1e15, "1e10", NULL,
     "program steps at most (each repeat iteration counts)", 0},
    {"budget.items", SK_NUMBER, 1, 1e15, "1e8", NULL, "telemetry items created at most", 0},
    {"budget.memory_mb", SK_NUMBER, 1, 1e9, "8192", NULL,
     "what all live isolates hold (as counted against runtime.memory_limit_mb) plus the "
     "pending events, at most", 0},
    {"budget.wall_s", SK_NUMBER, 1, 1e7, "3600", NULL,
     "wall-clock time at most (stops the run; never changes what it computes)", 0},

    {"variants", SK_CUSTOM, 0, 0, "[]", NULL,
     "other runs of the same scenario side by side: objects with `name`, an optional "
     "`description`, and overrides of any of exporter, runtime, workload, app, network, ingest, "
     "faults, expect, budget (objects merge key by key; arrays and values replace)", 0},

    {"step.span", SK_OBJECT, 0, 0, NULL, NULL, "a span around nested steps", 0},
    {"step.span.name", SK_STRING, 1, 0, NULL, NULL, "span name", SK_REQUIRED},
    {"step.span.do", SK_STEPS, 0, 1e6, "[]", NULL, "steps inside the span", 0},
    {"step.await", SK_OBJECT, 0, 0, NULL, NULL,
     "an await point: the task yields and other tasks on the isolate run", 0},
    {"step.await.name", SK_STRING, 0, 0, "\"await\"", NULL, "what is awaited (for logs)", 0},
    {"step.await.latency", SK_DIST, 0, 0, NULL, NULL, "how long it takes", SK_REQUIRED},
    {"step.cpu", SK_DIST, 0, 0, NULL, NULL, "synchronous work holding the isolate's thread", 0},
    {"step.fetch", SK_OBJECT, 0, 0, NULL, NULL,
     "a subrequest: an await that counts toward the request's subrequest and connection limits "
     "(past the limit it fails at once and the program goes on)", 0},
    {"step.fetch.name", SK_STRING, 0, 0, "\"fetch\"", NULL,
     "what is fetched (for logs); with a url, the hop it is (attempts.hop, the funnel)", 0},
    {"step.fetch.latency", SK_DIST, 0, 0, NULL, NULL,
     "how long it takes (required without a url; with one, the network's latency applies each "
     "way)", 0},
    {"step.fetch.url", SK_STRING, 1, 0, NULL, NULL,
     "a destination, so that the fetch is real HTTP to the embedded ingest: r2://KEY (the "
     "object store binding, /r2/KEY, straight to the origin) or https://HOST/PATH (a "
     "subrequest on HOST's zone, through its WAF unless `zones` routes it to the origin); KEY "
     "and PATH may hold {request}, the request's id", 0},
    {"step.fetch.method", SK_ENUM, 0, 0, NULL, "POST|PUT|GET",
     "with a url: the method (default PUT for r2://, else POST)", 0},
    {"step.fetch.body", SK_ENUM, 0, 0, "\"none\"", "none|carried|notify",
     "with a url: nothing, the spans the client carried (OTLP JSON; workload.spans_per_request)"
     ", or a notification {\"object\": KEY} about the object the request last stored (its "
     "path becomes one of the ingest's notify endpoints)", 0},
    {"step.fetch.via", SK_ENUM, 0, 0, "\"zone\"", "zone|waf|origin",
     "with an https url: as the zone's routing says at that instant, or always through its WAF, "
     "or always straight to the origin", 0},
    {"step.fetch.on_error", SK_STEPS, 0, 1e6, "[]", NULL,
     "with a url: steps run when the answer is not a 2xx; the program goes on after them", 0},
    {"step.memory", SK_OBJECT, 0, 0, NULL, NULL,
     "the program holds memory (counted against runtime.memory_limit_mb)", 0},
    {"step.memory.bytes", SK_INT, 0, 1e12, NULL, NULL, "how much", SK_REQUIRED},
    {"step.memory.hold", SK_ENUM, 0, 0, "\"task\"", "task|isolate",
     "until the task ends, or for the isolate's life (a module-scope cache that only grows)", 0},
    {"step.metric", SK_OBJECT, 0, 0, NULL, NULL, "records one metric point", 0},
    {"step.metric.name", SK_STRING, 1, 0, NULL, NULL, "metric name", SK_REQUIRED},
    {"step.metric.value", SK_NUMBER, -BIG, BIG, "1", NULL, "the point's value", 0},
    {"step.log", SK_OBJECT, 0, 0, NULL, NULL, "emits one log record", 0},
    {"step.log.body", SK_STRING, 0, 0, NULL, NULL, "the record's body", SK_REQUIRED},
    {"step.log.severity", SK_ENUM, 0, 0, "\"info\"", "trace|debug|info|warn|error|fatal",
     "severity", 0},
    {"step.log.via", SK_ENUM, 0, 0, "\"sdk\"", "sdk|console",
     "sdk: the SDK's logger (its exporter); console: console.log of the record's JSON, captured "
     "by the platform (Workers Logs: shipped when the invocation is over, at most "
     "runtime.log_limit_kb per invocation; docs/handlers.md)", 0},
    {"step.global", SK_OBJECT, 0, 0, NULL, NULL,
     "an isolate global (shared by every request on the isolate)", 0},
    {"step.global.name", SK_STRING, 1, 0, NULL, NULL, "the global's name", SK_REQUIRED},
    {"step.global.op", SK_ENUM, 0, 0, NULL,
     "set|append|read|take|clear|send|put_back|checkpoint",
     "set: a fresh empty value (what it held is lost); append: add an entry (a flag resolve) made "
     "by this request; read: look at its entries; take: move them into the task (the global is "
     "left unset); clear: lose its entries; send: send what the task took from it through the "
     "telemetry path, in a payload sent for this request; put_back: return what the task took "
     "(setting it again); checkpoint: drain it into one queue message", SK_REQUIRED},
    {"step.global.on_unset", SK_ENUM, 0, 0, "\"drop\"", "drop|fresh",
     "append into an unset global (after another request took it): drop the entry, as "
     "`if let Some(log)` does, or start a fresh value, as get_or_insert does", 0},
    {"step.global.flag", SK_STRING, 1, 0, "\"flag\"", NULL,
     "append: the resolved flag the entry records", 0},
    {"step.global.variant", SK_STRING, 1, 0, "\"on\"", NULL,
     "append: the variant it resolved to", 0},
    {"step.respond", SK_OBJECT, 0, 0, NULL, NULL,
     "sends the response; must be the handler's last step", 0},
    {"step.respond.status", SK_INT, 100, 599, "200", NULL, "HTTP status", 0},
    {"step.respond.body", SK_STEPS, 1, 1e6, NULL, NULL,
     "a streamed body (docs/handlers.md): steps that produce it after the headers, in the "
     "handler; the invocation ends when they end (EOF), so a span around the respond step ends "
     "there and one before it ends at the headers", 0},
    {"step.respond.client_disconnects_after", SK_DIST, 0, 0, NULL, NULL,
     "with a body: the client goes away this long after the headers; a body still being "
     "produced then is truncated (its steps cancelled, what they held lost as "
     "client-disconnected; waitUntil work goes on)", 0},
    {"step.wait_until", SK_STEPS, 0, 1e6, NULL, NULL,
     "ctx.waitUntil: steps that run on after the response, within the budget", 0},
    {"step.set_alarm", SK_OBJECT, 0, 0, NULL, NULL,
     "this.ctx.storage.setAlarm(Date.now() + delay) on a Durable Object: replaces its alarm, "
     "which runs app.alarm then; kept in storage, so hibernation does not lose it", 0},
    {"step.set_alarm.delay", SK_DIST, 0, 0, NULL, NULL, "when the alarm fires, from now",
     SK_REQUIRED},
    {"step.throw", SK_STRING, 0, 0, NULL, NULL,
     "throws an uncaught error (its message): the task's remaining steps are skipped and its "
     "spans end on the way out; a handler that has not responded answers 500; the "
     "invocation's outcome is exception (a cron run's status; an alarm run is retried)", 0},
    {"step.set_timeout", SK_OBJECT, 0, 0, NULL, NULL, "setTimeout", 0},
    {"step.set_timeout.delay", SK_DIST, 0, 0, NULL, NULL, "delay", SK_REQUIRED},
    {"step.set_timeout.do", SK_STEPS, 0, 1e6, NULL, NULL, "the callback", SK_REQUIRED},
    {"step.set_interval", SK_OBJECT, 0, 0, NULL, NULL, "setInterval", 0},
    {"step.set_interval.every", SK_DIST, 0, 0, NULL, NULL, "period (drawn once)", SK_REQUIRED},
    {"step.set_interval.do", SK_STEPS, 0, 1e6, NULL, NULL, "the callback", SK_REQUIRED},
    {"step.call", SK_ENUM, 0, 0, NULL,
     "tracer.flush|metrics.flush|logger.flush|exporter.flush|exporter.shutdown",
     "a telemetry API call (no-ops until an exporter is configured)", 0},
    {"step.once", SK_STEPS, 0, 1e6, NULL, NULL,
     "module-scope code: runs the first time any request on the isolate reaches it (e.g. to "
     "start a setInterval once)", 0},
    {"step.repeat", SK_OBJECT, 0, 0, NULL, NULL, "runs nested steps several times", 0},
    {"step.repeat.times", SK_INT, 0, 1e6, NULL, NULL, "how many times", SK_REQUIRED},
    {"step.repeat.do", SK_STEPS, 0, 1e6, NULL, NULL, "the steps", SK_REQUIRED},
};
/* clang-format on */

static const sk_schema schema = {keys, sizeof keys / sizeof keys[0], APP_MAX_DEPTH - 1};

const sk_schema *scn_schema(void)
{
    return &schema;
}

/* ---------- memory owned by the scenario ---------- */

typedef struct block {
    struct block *next;
    max_align_t mem[];
} block;

static void *alloc(scenario *s, size_t n)
{
    block *b = calloc(1, sizeof *b + n);
    if (!b)
        abort();
    b->next = s->mem;
    s->mem = b;
    return b->mem;
}

static char *sdup(scenario *s, const char *str)
{
    size_t n = strlen(str) + 1;
    char *p = alloc(s, n);
    memcpy(p, str, n);
    return p;
}

void scn_free(scenario *s)
{
    if (!s)
        return;
    scn_free(s->next);
    exp_plugin_close(s->plugin);
    block *b = s->mem;
    while (b) {
        block *nx = b->next;
        free(b);
        b = nx;
    }
    free(s);
}

/* ---------- compiling a validated document ---------- */

typedef struct cctx {
    scenario *s;
    const scn_overrides *ov;   /* what the command line replaces, or NULL */
    cJSON *defaults;           /* parsed default values, freed at the end */
    const char *path;          /* the file as opened: data files are relative to it */
    int rc;                    /* a failure while compiling values (e.g. a data file) */
    unsigned checkpoints;      /* checkpoint steps and accumulators that checkpoint */
    unsigned alarms;           /* set_alarm steps */
    const cJSON *accumulators; /* app.accumulators, known before the steps are compiled */
    char *err;
    size_t errlen;
} cctx;

static int cfail(cctx *c, const char *jpath, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cfail(cctx *c, const char *jpath, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sk_verror(c->err, c->errlen, c->s->file, jpath, fmt, ap);
    va_end(ap);
    return SIM_EINPUT;
}

/* A member of `obj` (key path kpath.leaf), or the table's default for it. */
static const cJSON *val(cctx *c, const cJSON *obj, const char *kpath, const char *leaf)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, leaf) : NULL;
    if (v)
        return v;
    char full[256];
    snprintf(full, sizeof full, "%s%s%s", kpath, *kpath ? "." : "", leaf);
    const sk_key *k = sk_find(&schema, full);
    if (!k) {
        fprintf(stderr, "edgeloss: internal error: key %s is not in the table\n", full);
        abort();
    }
    if (!k->def)
        return NULL;
    cJSON *d = cJSON_Parse(k->def);
    if (!d)
        abort();
    cJSON_AddItemToArray(c->defaults, d);
    return d;
}

static double num(cctx *c, const cJSON *obj, const char *kpath, const char *leaf)
{
    const cJSON *v = val(c, obj, kpath, leaf);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(cctx *c, const cJSON *obj, const char *kpath, const char *leaf)
{
    const cJSON *v = val(c, obj, kpath, leaf);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static bool flag(cctx *c, const cJSON *obj, const char *kpath, const char *leaf)
{
    return cJSON_IsTrue(val(c, obj, kpath, leaf));
}

static char *dup_cb(void *ud, const char *str)
{
    return sdup(ud, str);
}

/*
 * A plugin out of process: its exporter host is started now to read the descriptor and check
 * the options (the run starts its own), and the strategy is the proxy that speaks to it.
 */
static int remote_strategy(cctx *c, const cJSON *ex, const cJSON *opt, const char *path,
                           bool forced, bool js, exp_config *e)
{
    scenario *s = c->s;
    char host[4096], script[4096], why[2000];
    if (js ? exp_remote_js_paths(host, sizeof host, script, sizeof script, why, sizeof why)
           : exp_remote_host_path(host, sizeof host, why, sizeof why)) {
        if (js)
            return c->rc = cfail(c, "$.exporter.js", "%s", why);
        snprintf(c->err, c->errlen, "%s: %s", s->file, why);
        return c->rc = SIM_EINPUT;
    }
    exp_remote_cfg *rc = alloc(s, sizeof *rc);
    rc->host = sdup(s, host);
    rc->script = js ? sdup(s, script) : NULL;
    rc->factory = js ? sdup(s, str(c, ex, "exporter", "factory")) : NULL;
    rc->plugin = sdup(s, path);
    rc->file = s->file;
    const cJSON *budget = val(c, ex, "exporter", "call_budget");
    rc->budget_ms = (int64_t)num(c, budget, "exporter.call_budget", "wall_ms");
    rc->budget_messages = (uint64_t)num(c, budget, "exporter.call_budget", "messages");
    if (opt) {
        char *t = cJSON_PrintUnformatted(opt);
        if (!t)
            abort();
        rc->options = sdup(s, t);
        cJSON_free(t);
    }
    el_exporter *d = alloc(s, sizeof *d);
    char *name = alloc(s, 80);
    if (exp_remote_probe(rc, d, name, 80, why, sizeof why)) {
        /* An option's error names its own path; the plugin's own problems are the plugin's. */
        if (strncmp(why, s->file, strlen(s->file)) == 0)
            snprintf(c->err, c->errlen, "%s", why);
        else if (forced)
            snprintf(c->err, c->errlen, "--exporter-%s: %s", js ? "js" : "plugin", why);
        else
            return c->rc = cfail(c, js ? "$.exporter.js" : "$.exporter.plugin", "%s", why);
        return c->rc = SIM_EINPUT;
    }
    e->desc = d;
    e->desc_config = rc;
    return 0;
}

/*
 * The strategy: a built-in by name, or a plugin (the file's `plugin`, or the command line's,
 * which wins), loaded and configured from `options` now, so that a missing file, symbol or
 * option fails before anything runs.
 */
static int load_strategy(cctx *c, const cJSON *ex, exp_config *e)
{
    scenario *s = c->s;
    const cJSON *pl = ex ? cJSON_GetObjectItemCaseSensitive(ex, "plugin") : NULL;
    const cJSON *opt = ex ? cJSON_GetObjectItemCaseSensitive(ex, "options") : NULL;
    /* A scenario without an exporter has nothing for --exporter-plugin to replace. */
    const char *forced = ex && c->ov ? c->ov->exporter_plugin : NULL;
    /* --exporter-js replaces every exporter as --exporter-plugin does (which wins over it). */
    const char *forced_js = ex && c->ov && !forced ? c->ov->exporter_js : NULL;
    const cJSON *js = ex && !forced ? cJSON_GetObjectItemCaseSensitive(ex, "js") : NULL;
    if (js || forced_js) {
        if (!forced_js && (cJSON_GetObjectItemCaseSensitive(ex, "strategy") || pl))
            return c->rc = cfail(c, "$.exporter.js",
                                 "a JavaScript exporter is the strategy: give one of `strategy`, "
                                 "`plugin` and `js`");
        if (!forced_js && flag(c, ex, "exporter", "in_process"))
            return c->rc = cfail(c, "$.exporter.in_process",
                                 "a JavaScript exporter always runs in a Node process of its "
                                 "own: in_process is for plugins");
        char path[4096];
        if (forced_js)
            snprintf(path, sizeof path, "%s", forced_js);
        else
            df_resolve(c->path, js->valuestring, path, sizeof path);
        if (access(path, R_OK) != 0) {
            char why[4400];
            snprintf(why, sizeof why, "cannot read %s (%s)%s", path, strerror(errno),
                     errno == ENOENT ? ": a bundle is built (docs/js-exporters.md)" : "");
            if (!forced_js)
                return c->rc = cfail(c, "$.exporter.js", "%s", why);
            snprintf(c->err, c->errlen, "--exporter-js: %s", why);
            return c->rc = SIM_EINPUT;
        }
        return remote_strategy(c, ex, opt, path, forced_js != NULL, true, e);
    }
    if (ex && !forced && cJSON_GetObjectItemCaseSensitive(ex, "factory"))
        return c->rc =
                   cfail(c, "$.exporter.factory", "a factory is a JavaScript exporter's (`js`)");
    bool plugin = pl || forced;
    if (!plugin) {
        if (opt)
            return c->rc = cfail(c, "$.exporter.options",
                                 "options are a plugin's; a built-in strategy's settings are "
                                 "keys of the exporter object");
        /* The schema knows the built-ins' names: an unknown one never gets here. A built-in
         * reads its settings from the exporter object itself, validated by the key table. */
        e->desc = exp_builtin_find(str(c, ex, "exporter", "strategy"));
    } else {
        if (!forced && cJSON_GetObjectItemCaseSensitive(ex, "strategy"))
            return c->rc = cfail(c, "$.exporter.strategy",
                                 "a plugin is the strategy: give `strategy` or `plugin`, not both");
        char given[4096], path[4200];
        if (forced)
            snprintf(given, sizeof given, "%s", forced);
        else
            df_resolve(c->path, pl->valuestring, given, sizeof given);
        /* dlopen would search the library path for a bare name */
        snprintf(path, sizeof path, "%s%s", strchr(given, '/') ? "" : "./", given);
        char why[1500];
        bool in_process =
            (c->ov && c->ov->exporter_in_process) || flag(c, ex, "exporter", "in_process");
        if (!in_process)
            return remote_strategy(c, ex, opt, path, forced != NULL, false, e);
        if (exp_plugin_load(path, &s->plugin, &e->desc, why, sizeof why)) {
            if (!forced)
                return c->rc = cfail(c, "$.exporter.plugin", "%s", why);
            snprintf(c->err, c->errlen, "--exporter-plugin: %s", why);
            return c->rc = SIM_EINPUT;
        }
    }
    void *config = e->desc->config_size ? alloc(s, e->desc->config_size) : NULL;
    if (exp_configure(e->desc, plugin ? opt : ex, plugin, s->file,
                      plugin ? "$.exporter.options" : "$.exporter", config, dup_cb, s, c->err,
                      c->errlen))
        return c->rc = SIM_EINPUT;
    e->desc_config = config;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* An empirical distribution's samples, from the document or a file, sorted. */
static void load_samples(cctx *c, const cJSON *v, const char *jpath, dist *d)
{
    const cJSON *m = v->child;
    double unit = (double)d->a_ns;
    size_t n = 0;
    int64_t *xs;
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(m, "file");
    if (!file) {
        xs = alloc(c->s, (size_t)cJSON_GetArraySize(m) * sizeof *xs);
        const cJSON *x;
        cJSON_ArrayForEach(x, m) xs[n++] = (int64_t)llround(x->valuedouble * unit);
    } else {
        char path[4096], why[600];
        df_resolve(c->path, file->valuestring, path, sizeof path);
        df_table t;
        if (df_load(path, &t, why, sizeof why)) {
            c->rc = cfail(c, jpath, "%s.file: %s", m->string, why);
            return;
        }
        xs = alloc(c->s, (t.nrows ? t.nrows : 1) * sizeof *xs);
        for (size_t i = 0; i < t.nrows; i++) {
            double x;
            bool number = df_number(t.rows[i].cells[0], &x);
            if (!number && i == 0)
                continue; /* a header */
            if (!number || x < 0 || x * unit > (double)DIST_MAX_NS) {
                c->rc = cfail(c, jpath, "%s.file: %s:%u: expected a sample >= 0, got \"%s\"",
                              m->string, path, t.rows[i].line, t.rows[i].cells[0]);
                df_free(&t);
                return;
            }
            xs[n++] = (int64_t)llround(x * unit);
        }
        df_free(&t);
        if (n == 0 || n > UINT32_MAX) {
            c->rc = cfail(c, jpath, "%s.file: %s: expected 1 to 2^32 samples, got %zu", m->string,
                          path, n);
            return;
        }
    }
    qsort(xs, n, sizeof *xs, cmp_i64);
    d->samples = xs;
    d->nsamples = (uint32_t)n;
}

/* `jp`: the value's JSON path for messages (NULL: "$.<kpath>.<leaf>"). */
static dist dstp(cctx *c, const cJSON *obj, const char *kpath, const char *leaf, const char *jp)
{
    dist d = dist_fixed(0);
    char why[256];
    const cJSON *v = val(c, obj, kpath, leaf);
    if (v && sk_parse_dist(v, &d, why, sizeof why))
        abort(); /* validated before */
    if (v && d.kind == DIST_EMPIRICAL) {
        char jpath[512];
        if (jp)
            snprintf(jpath, sizeof jpath, "%s.%s", jp, leaf);
        else
            snprintf(jpath, sizeof jpath, "$.%s.%s", kpath, leaf);
        load_samples(c, v, jpath, &d);
    }
    return d;
}

static dist dst(cctx *c, const cJSON *obj, const char *kpath, const char *leaf)
{
    return dstp(c, obj, kpath, leaf, NULL);
}

static int64_t secs(double s)
{
    return (int64_t)llround(s * 1e9);
}

static int severity_number(const char *s)
{
    /* OpenTelemetry severityNumber of each level's first value. */
    static const struct {
        const char *name;
        int n;
    } t[] = {{"trace", 1}, {"debug", 5}, {"info", 9}, {"warn", 13}, {"error", 17}, {"fatal", 21}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, s) == 0)
            return t[i].n;
    return 9;
}

/* Whether app.accumulators names `name` (read before the steps are compiled). */
static bool is_accumulator(const cctx *c, const char *name)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, c->accumulators)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(x, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return true;
    }
    return false;
}

static uint32_t global_index(cctx *c, const char *name)
{
    app_program *p = &c->s->program;
    for (uint32_t i = 0; i < p->nglobals; i++)
        if (strcmp(p->globals[i], name) == 0)
            return i;
    /* Few globals: grow one by one. */
    const char **ng = alloc(c->s, (p->nglobals + 1) * sizeof *ng);
    if (p->nglobals)
        memcpy(ng, p->globals, p->nglobals * sizeof *ng);
    ng[p->nglobals] = sdup(c->s, name);
    p->globals = ng;
    return p->nglobals++;
}

typedef enum { IN_HANDLER, IN_WAIT_UNTIL, IN_TIMER } block_ctx;

static int compile_block(cctx *c, const cJSON *arr, const char *jpath, block_ctx where,
                         bool last_of_handler, app_block *out);

/* The bytes a URL's key or path may hold: unreserved and sub-delims, '/', '{' '}' for
 * {request}, and (in a path) the query's '?', '=', '&'. */
static bool url_chars(const char *s, bool path)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') &&
            !strchr("-._~/{}", ch) && !(path && strchr("?=&%:+,;", ch)))
            return false;
    }
    return true;
}

/* {request} is the only placeholder; any other brace is a mistake. */
static bool braces_ok(const char *s)
{
    for (const char *b = strpbrk(s, "{}"); b; b = strpbrk(b, "{}")) {
        if (strncmp(b, "{request}", 9) != 0)
            return false;
        b += 9;
    }
    return true;
}

/* A fetch step's destination: its url, method, body, route and on_error steps, into the
 * scenario's pipeline config (s->dest is 1 + its index). */
static int compile_dest(cctx *c, const cJSON *v, const char *jp, block_ctx where, app_step *st)
{
    scenario *s = c->s;
    pl_config *pc = &s->pipeline;
    const char *url = str(c, v, "step.fetch", "url");
    char ujp[600];
    snprintf(ujp, sizeof ujp, "%s.url", jp);
    pl_fetch f = {.hop = st->name, .zone = -1};
    if (strncmp(url, "r2://", 5) == 0) {
        const char *key = url + 5;
        if (!*key || *key == '/' || strstr(key, "..") || !url_chars(key, false) ||
            !braces_ok(key) || strlen(key) > 900)
            return cfail(c, ujp,
                         "expected r2://KEY with a key of 1 to 900 bytes of letters, digits, "
                         "-._~/ and {request}, not starting with / nor holding .., got \"%s\"",
                         url);
        f.object = true;
        char *path = alloc(s, strlen(key) + 5);
        sprintf(path, "/r2/%s", key);
        f.path = path;
    } else if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
        const char *host = strstr(url, "://") + 3;
        const char *slash = strchr(host, '/');
        size_t hl = slash ? (size_t)(slash - host) : strlen(host);
        char hbuf[256];
        if (!slash || hl == 0 || hl >= sizeof hbuf)
            return cfail(c, ujp,
                         "expected https://HOST/PATH (a host of 1 to 255 bytes and a "
                         "path), got \"%s\"",
                         url);
        memcpy(hbuf, host, hl);
        hbuf[hl] = '\0';
        for (size_t i = 0; i < hl; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:",
                        hbuf[i]))
                return cfail(c, ujp,
                             "expected a host of letters, digits, '.', '-' and a port, "
                             "got \"%s\"",
                             hbuf);
        if (!url_chars(slash, true) || !braces_ok(slash) || strlen(slash) > 900)
            return cfail(c, ujp,
                         "expected a path of at most 900 bytes of letters, digits, -._~/?=&%%:+,; "
                         "and {request}, got \"%s\"",
                         slash);
        f.host = sdup(s, hbuf);
        f.path = sdup(s, slash);
        for (uint32_t i = 0; i < pc->nzones; i++)
            if (strcasecmp(pc->zones[i].host, hbuf) == 0)
                f.zone = (int32_t)i;
    } else {
        return cfail(c, ujp, "expected r2://KEY or https://HOST/PATH, got \"%s\"", url);
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "method");
    f.method = sdup(s, m ? m->valuestring : f.object ? "PUT" : "POST");
    const char *body = str(c, v, "step.fetch", "body");
    f.body = strcmp(body, "carried") == 0  ? PL_BODY_CARRIED
             : strcmp(body, "notify") == 0 ? PL_BODY_NOTIFY
                                           : PL_BODY_NONE;
    const char *via = str(c, v, "step.fetch", "via");
    f.via = strcmp(via, "waf") == 0      ? PL_VIA_WAF
            : strcmp(via, "origin") == 0 ? PL_VIA_ORIGIN
                                         : PL_VIA_ZONE;
    char bjp[600];
    snprintf(bjp, sizeof bjp, "%s.body", jp);
    if (strcmp(f.method, "GET") == 0 && f.body != PL_BODY_NONE)
        return cfail(c, bjp, "a GET sends no body, got \"%s\"", body);
    if (f.object && f.body == PL_BODY_NOTIFY)
        return cfail(c, bjp, "a notification goes to a zone (https://), not to the object store");
    if (f.body == PL_BODY_NOTIFY) {
        const char *ph = strstr(f.path, "{request}"), *qm = strchr(f.path, '?');
        if (ph && (!qm || ph < qm))
            return cfail(c, ujp,
                         "a notification's path is one of the ingest's endpoints: {request} "
                         "may only be in its query, got \"%s\"",
                         url);
    }
    if (f.object && f.via != PL_VIA_ZONE) {
        snprintf(bjp, sizeof bjp, "%s.via", jp);
        return cfail(c, bjp, "the object store is a binding, never behind a WAF: no \"via\"");
    }
    snprintf(bjp, sizeof bjp, "%s.on_error", jp);
    int rc = compile_block(c, val(c, v, "step.fetch", "on_error"), bjp, where, false, &st->body);
    if (rc)
        return rc;
    pl_fetch *nf = alloc(s, (pc->nfetches + 1) * sizeof *nf);
    if (pc->nfetches)
        memcpy(nf, pc->fetches, pc->nfetches * sizeof *nf);
    nf[pc->nfetches] = f;
    pc->fetches = nf;
    st->dest = ++pc->nfetches;
    return 0;
}

/*
 * workload.cron: the trigger's runs in [start, start + duration) become replayed arrivals,
 * each a scheduled invocation. Unless the runtime says otherwise, each is cut at 15 minutes
 * of wall time, and its CPU limit is Cloudflare's for the schedule's interval: 30 s when
 * runs come less than an hour apart, 15 minutes otherwise.
 */
#define CRON_MAX_RUNS 1000000

static int compile_cron(cctx *c, const char *expr, const cJSON *list, const cJSON *r, wl_config *wc,
                        rt_config *rc)
{
    scenario *s = c->s;
    size_t n;
    int64_t *t;
    if (expr) {
        cron_spec spec;
        char err[300];
        if (cron_parse(expr, &spec, err, sizeof err))
            return cfail(c, "$.workload.cron", "%s", err);
        if (wc->duration_ns == 0)
            return cfail(c, "$.workload.duration_s",
                         "a cron workload needs a duration (its runs are the schedule's "
                         "instants inside it)");
        int64_t until = eng_add(wc->start_ns, wc->duration_ns);
        n = cron_times(&spec, wc->start_ns, until, NULL, 0);
        if (n == 0)
            return cfail(c, "$.workload.cron",
                         "the schedule \"%s\" never fires in [start_s, start_s + duration_s)",
                         expr);
        if (n > CRON_MAX_RUNS)
            return cfail(c, "$.workload.duration_s",
                         "the schedule fires %zu times in it: at most %d runs (shorten the "
                         "duration)",
                         n, CRON_MAX_RUNS);
        t = alloc(s, n * sizeof *t);
        cron_times(&spec, wc->start_ns, until, t, n);
    } else {
        /* The runs' times, listed (after start_s, in increasing order). */
        n = (size_t)cJSON_GetArraySize(list);
        t = alloc(s, (n ? n : 1) * sizeof *t);
        size_t i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, list)
        {
            t[i] = eng_add(wc->start_ns, secs(x->valuedouble));
            if (i && t[i] <= t[i - 1]) {
                char jp[64];
                snprintf(jp, sizeof jp, "$.workload.cron_times_s[%zu]", i);
                return cfail(c, jp, "expected run times in increasing order");
            }
            i++;
        }
        wc->duration_ns = 0; /* the list says when it ends */
        expr = "(cron_times_s)";
    }
    int64_t gap = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (i && t[i] - t[i - 1] < gap)
            gap = t[i] - t[i - 1];
        t[i] -= wc->start_ns; /* replay offsets */
    }
    wc->kind = WL_REPLAY;
    wc->replay_ns = t;
    wc->nreplay = n;
    s->cron = sdup(s, expr);
    if (!cJSON_GetObjectItemCaseSensitive(r, "wall_limit_s"))
        rc->wall_limit_ns = secs(900);
    if (!cJSON_GetObjectItemCaseSensitive(r, "cpu_limit_ms"))
        rc->cpu_limit_ns = gap < secs(3600) ? secs(30) : secs(900);
    return 0;
}

/* runtime.compatibility_date and _flags: whether pending I/O keeps a Durable Object active
 * (Cloudflare's change of 2026-10-01: the default from that date, or either flag). */
static int compile_compat(cctx *c, const cJSON *r, rt_config *rc)
{
    const char *date = str(c, r, "runtime", "compatibility_date");
    bool ok = strlen(date) == 10 && date[4] == '-' && date[7] == '-';
    for (int i = 0; ok && i < 10; i++)
        ok = i == 4 || i == 7 || (date[i] >= '0' && date[i] <= '9');
    if (!ok)
        return cfail(c, "$.runtime.compatibility_date", "expected a date YYYY-MM-DD, got \"%s\"",
                     date);
    rc->io_keeps_alive = strcmp(date, "2026-10-01") >= 0; /* ISO dates order as strings */
    const cJSON *flags = val(c, r, "runtime", "compatibility_flags");
    int on = -1, i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, flags)
    {
        int v = strcmp(f->valuestring, "durable_object_io_tasks_prevent_eviction") == 0;
        if (on >= 0 && on != v) {
            char jp[64];
            snprintf(jp, sizeof jp, "$.runtime.compatibility_flags[%d]", i);
            return cfail(c, jp, "expected one of the two flags, not both (they contradict)");
        }
        on = v;
        i++;
    }
    if (on >= 0)
        rc->io_keeps_alive = on;
    return 0;
}

/* zones: each host's routing changes (read before the program: its fetches name hosts). */
static int compile_zones(cctx *c, const cJSON *root)
{
    pl_config *pc = &c->s->pipeline;
    const cJSON *zs = val(c, root, "", "zones");
    int n = cJSON_GetArraySize(zs);
    if (!n)
        return 0;
    pl_zone *zv = alloc(c->s, (size_t)n * sizeof *zv);
    int i = 0;
    const cJSON *z;
    cJSON_ArrayForEach(z, zs)
    {
        char jp[96];
        zv[i].host = sdup(c->s, str(c, z, "zones[]", "host"));
        for (int k = 0; k < i; k++)
            if (strcasecmp(zv[k].host, zv[i].host) == 0) {
                snprintf(jp, sizeof jp, "$.zones[%d].host", i);
                return cfail(c, jp, "duplicate zone host \"%s\"", zv[i].host);
            }
        const cJSON *rs = val(c, z, "zones[]", "routing");
        int nr = cJSON_GetArraySize(rs);
        pl_routing *rv = nr ? alloc(c->s, (size_t)nr * sizeof *rv) : NULL;
        int k = 0;
        const cJSON *ro;
        double last = -1;
        cJSON_ArrayForEach(ro, rs)
        {
            double at = num(c, ro, "zones[].routing[]", "at_s");
            if (at < last) {
                snprintf(jp, sizeof jp, "$.zones[%d].routing[%d].at_s", i, k);
                return cfail(c, jp, "expected changes in time order: %g comes after %g", at, last);
            }
            last = at;
            rv[k].at_ns = secs(at);
            const cJSON *pa = cJSON_GetObjectItemCaseSensitive(ro, "path");
            rv[k].path = pa ? sdup(c->s, pa->valuestring) : NULL;
            double share = num(c, ro, "zones[].routing[]", "share");
            bool waf = strcmp(str(c, ro, "zones[].routing[]", "via"), "waf") == 0;
            rv[k].waf_share = waf ? share : 1 - share;
            k++;
        }
        zv[i].routing = rv;
        zv[i].nrouting = (uint32_t)nr;
        i++;
    }
    pc->zones = zv;
    pc->nzones = (uint32_t)n;
    return 0;
}

/*
 * `last_of_handler`: this block ends the handler (respond may be its last step).
 * Returns 0 or SIM_EINPUT.
 */
static int compile_block(cctx *c, const cJSON *arr, const char *jpath, block_ctx where,
                         bool last_of_handler, app_block *out)
{
    int n = cJSON_GetArraySize(arr);
    out->n = (uint32_t)n;
    out->steps = n ? alloc(c->s, (size_t)n * sizeof *out->steps) : NULL;
    int i = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, arr)
    {
        const cJSON *v = st->child;
        const char *op = v->string;
        app_step *s = &out->steps[i];
        char jp[512], kp[64];
        snprintf(jp, sizeof jp, "%s[%d].%s", jpath, i, op);
        snprintf(kp, sizeof kp, "step.%s", op);
        bool last = last_of_handler && i == n - 1;
        int rc = 0;
        if (strcmp(op, "span") == 0) {
            s->op = OP_SPAN;
            s->name = sdup(c->s, str(c, v, kp, "name"));
            snprintf(jp + strlen(jp), sizeof jp - strlen(jp), ".do");
            rc = compile_block(c, val(c, v, kp, "do"), jp, where, last, &s->body);
        } else if (strcmp(op, "await") == 0 || strcmp(op, "fetch") == 0) {
            s->op = op[0] == 'a' ? OP_AWAIT : OP_FETCH;
            s->name = sdup(c->s, str(c, v, kp, "name"));
            bool has_url = s->op == OP_FETCH && cJSON_GetObjectItemCaseSensitive(v, "url");
            bool has_lat = cJSON_GetObjectItemCaseSensitive(v, "latency") != NULL;
            if (has_url)
                rc = compile_dest(c, v, jp, where, s);
            else if (!has_lat)
                rc = cfail(c, jp, "missing \"latency\"%s",
                           s->op == OP_FETCH ? " (or a \"url\": a real request)" : "");
            else
                s->d = dstp(c, v, kp, "latency", jp);
        } else if (strcmp(op, "memory") == 0) {
            s->op = OP_MEMORY;
            s->bytes = (int64_t)num(c, v, kp, "bytes");
            s->for_isolate = strcmp(str(c, v, kp, "hold"), "isolate") == 0;
        } else if (strcmp(op, "cpu") == 0) {
            s->op = OP_CPU;
            char why[256];
            sk_parse_dist(v, &s->d, why, sizeof why);
            if (s->d.kind == DIST_EMPIRICAL)
                load_samples(c, v, jp, &s->d);
        } else if (strcmp(op, "metric") == 0) {
            s->op = OP_METRIC;
            s->name = sdup(c->s, str(c, v, kp, "name"));
            s->value = num(c, v, kp, "value");
        } else if (strcmp(op, "log") == 0) {
            s->op = OP_LOG;
            s->name = sdup(c->s, str(c, v, kp, "body"));
            s->severity = severity_number(str(c, v, kp, "severity"));
            s->console = strcmp(str(c, v, kp, "via"), "console") == 0;
            c->s->console_logs |= s->console;
        } else if (strcmp(op, "global") == 0) {
            static const char *const ops[] = {"set",   "append", "read",     "take",
                                              "clear", "send",   "put_back", "checkpoint"};
            s->op = OP_GLOBAL;
            s->global = global_index(c, str(c, v, kp, "name"));
            s->name = c->s->program.globals[s->global];
            const char *g = str(c, v, kp, "op");
            for (int k = 0; k < (int)(sizeof ops / sizeof ops[0]); k++)
                if (strcmp(g, ops[k]) == 0)
                    s->gop = (app_global_op)k;
            s->on_unset_fresh = strcmp(str(c, v, kp, "on_unset"), "fresh") == 0;
            s->flag = sdup(c->s, str(c, v, kp, "flag"));
            s->flag_variant = sdup(c->s, str(c, v, kp, "variant"));
            if (s->gop == GLOBAL_CHECKPOINT)
                c->checkpoints++;
            static const char *const append_only[] = {"on_unset", "flag", "variant"};
            for (size_t k = 0; k < 3; k++)
                if (s->gop != GLOBAL_APPEND && cJSON_GetObjectItemCaseSensitive(v, append_only[k]))
                    return cfail(c, jp, "\"%s\" goes with op append only, not %s", append_only[k],
                                 g);
            if (is_accumulator(c, s->name) && s->gop != GLOBAL_APPEND && s->gop != GLOBAL_READ &&
                s->gop != GLOBAL_CHECKPOINT)
                return cfail(c, jp,
                             "\"%s\" is an accumulator (app.accumulators): never set, taken or "
                             "cleared; expected op append, read or checkpoint, got %s",
                             s->name, g);
        } else if (strcmp(op, "respond") == 0) {
            s->op = OP_RESPOND;
            s->status = (int)num(c, v, kp, "status");
            if (where != IN_HANDLER)
                return cfail(c, jp, "respond is only valid in app.handler");
            if (!last)
                return cfail(c, jp,
                             "respond must be the handler's last step (put work after the "
                             "response in wait_until, or in its streamed body)");
            const cJSON *body = cJSON_GetObjectItemCaseSensitive(v, "body");
            if (cJSON_GetObjectItemCaseSensitive(v, "client_disconnects_after")) {
                if (!body)
                    return cfail(c, jp,
                                 "client_disconnects_after needs a streamed body (a response "
                                 "without one is over at its headers)");
                s->d = dstp(c, v, kp, "client_disconnects_after", jp);
                s->disconnects = true;
            }
            if (body) {
                snprintf(jp + strlen(jp), sizeof jp - strlen(jp), ".body");
                rc = compile_block(c, body, jp, IN_WAIT_UNTIL, false, &s->body);
            }
        } else if (strcmp(op, "wait_until") == 0) {
            s->op = OP_WAIT_UNTIL;
            rc = compile_block(c, v, jp, IN_WAIT_UNTIL, false, &s->body);
        } else if (strcmp(op, "throw") == 0) {
            s->op = OP_THROW;
            s->name = sdup(c->s, v->valuestring);
        } else if (strcmp(op, "set_alarm") == 0) {
            s->op = OP_SET_ALARM;
            s->d = dstp(c, v, kp, "delay", jp);
            if (c->s->runtime.kind != RT_OBJECT)
                return cfail(c, jp,
                             "set_alarm is a Durable Object's: it needs runtime.kind "
                             "\"durable_object\"");
            c->alarms++;
        } else if (strcmp(op, "set_timeout") == 0 || strcmp(op, "set_interval") == 0) {
            bool interval = op[4] == 'i';
            s->op = interval ? OP_SET_INTERVAL : OP_SET_TIMEOUT;
            s->d = dstp(c, v, kp, interval ? "every" : "delay", jp);
            if (interval && s->d.kind == DIST_FIXED && s->d.a_ns == 0)
                return cfail(c, jp, "every: expected a period > 0");
            snprintf(jp + strlen(jp), sizeof jp - strlen(jp), ".do");
            rc = compile_block(c, val(c, v, kp, "do"), jp, IN_TIMER, false, &s->body);
        } else if (strcmp(op, "call") == 0) {
            s->op = OP_CALL;
            s->call = (tel_call)tel_call_find(v->valuestring);
        } else if (strcmp(op, "once") == 0) {
            s->op = OP_ONCE;
            s->global = c->s->program.nonce++;
            rc = compile_block(c, v, jp, where, false, &s->body);
        } else if (strcmp(op, "repeat") == 0) {
            s->op = OP_REPEAT;
            s->times = (uint32_t)num(c, v, kp, "times");
            snprintf(jp + strlen(jp), sizeof jp - strlen(jp), ".do");
            rc = compile_block(c, val(c, v, kp, "do"), jp, where, false, &s->body);
        } else {
            return cfail(c, jp, "internal error: step without a compiler");
        }
        if (rc)
            return rc;
        i++;
    }
    for (i = 0; i < n; i++)
        out->steps[i].next_await =
            i + 1 < n && out->steps[i + 1].op == OP_AWAIT ? &out->steps[i + 1] : NULL;
    return 0;
}

/* ---------- predicted work (budget) ---------- */

/* What one run of a block costs at most: its steps, items and events, in doubles (they
 * multiply through nested repeats and may exceed any integer). */
typedef struct cost {
    double steps, items, events;
    bool interval; /* a setInterval is reached: timers fire for as long as an isolate lives */
    double interval_min_ns;
} cost;

static cost block_cost(const app_block *b)
{
    cost c = {0, 0, 0, false, 0};
    for (uint32_t i = 0; i < b->n; i++) {
        const app_step *s = &b->steps[i];
        c.steps += 1;
        cost in = {0, 0, 0, false, 0};
        double times = 1;
        switch (s->op) {
        case OP_SPAN:
            c.items += 1;
            in = block_cost(&s->body);
            break;
        case OP_METRIC:
        case OP_LOG:
            c.items += 1;
            break;
        case OP_GLOBAL: /* an append makes an entry, a send may POST */
            c.items += s->gop == GLOBAL_APPEND;
            c.events += 2 * (s->gop == GLOBAL_SEND || s->gop == GLOBAL_CHECKPOINT);
            break;
        case OP_AWAIT:
        case OP_SET_TIMEOUT:
            c.events += 1;
            in = block_cost(&s->body);
            break;
        case OP_FETCH:
            c.events += 2;
            break;
        case OP_REPEAT:
            times = s->times;
            c.steps += times; /* the iterations themselves */
            in = block_cost(&s->body);
            break;
        case OP_SET_INTERVAL:
            in = block_cost(&s->body);
            if (!c.interval || (double)s->d.a_ns < c.interval_min_ns)
                c.interval_min_ns = (double)s->d.a_ns;
            c.interval = true;
            break;
        default:
            in = block_cost(&s->body);
            break;
        }
        c.steps += times * in.steps;
        c.items += times * in.items;
        c.events += times * in.events;
        if (in.interval && (!c.interval || in.interval_min_ns < c.interval_min_ns))
            c.interval_min_ns = in.interval_min_ns;
        c.interval |= in.interval;
    }
    return c;
}

static int predict(cctx *c)
{
    const scenario *s = c->s;
    const wl_config *w = &s->workload;
    const scn_budget *b = &s->budget;
    double run_s = (double)(w->duration_ns + w->drain_ns) / 1e9;
    double requests =
        w->kind == WL_REPLAY ? (double)w->nreplay : w->rate_per_s * (double)w->duration_ns / 1e9;
    if (w->requests && (w->duration_ns == 0 || (double)w->requests < requests))
        requests = (double)w->requests;
    /* The expected work of a request: its routes by weight. */
    double wsum = 0;
    cost per = {0, 0, 0, false, 0};
    for (uint32_t i = 0; i < s->program.nroutes; i++)
        wsum += s->program.routes[i].weight;
    for (uint32_t i = 0; i < s->program.nroutes; i++) {
        cost rc = block_cost(&s->program.routes[i].handler);
        double share = s->program.routes[i].weight / wsum;
        per.steps += share * rc.steps;
        per.items += share * rc.items;
        per.events += share * rc.events;
        if (rc.interval && (!per.interval || rc.interval_min_ns < per.interval_min_ns))
            per.interval_min_ns = rc.interval_min_ns;
        per.interval |= rc.interval;
    }
    per.items += s->pipeline.spans_per_request; /* the spans each client carries in */
    /* Arrival, response, completion: about three events a request besides its awaits. */
    double events = requests * (3 + per.events);
    if (per.interval) /* at least one isolate fires it for the whole run */
        events += run_s * 1e9 / (per.interval_min_ns > 1 ? per.interval_min_ns : 1);
    static const char more[] = "raise it in \"budget\" if the run is meant to be this big";
    if (requests * per.items > (double)b->items)
        return cfail(c, "$.budget.items",
                     "the scenario predicts %.3g telemetry items (%.3g requests x %.3g per "
                     "request), over budget.items %.3g; %s",
                     requests * per.items, requests, per.items, (double)b->items, more);
    if (requests * per.steps > (double)b->steps)
        return cfail(c, "$.budget.steps",
                     "the scenario predicts %.3g program steps (%.3g requests x %.3g per "
                     "request), over budget.steps %.3g; %s",
                     requests * per.steps, requests, per.steps, (double)b->steps, more);
    if (events > (double)b->events)
        return cfail(c, "$.budget.events",
                     "the scenario predicts %.3g engine events (%.3g requests%s), over "
                     "budget.events %.3g; %s",
                     events, requests, per.interval ? " and a setInterval firing all run" : "",
                     (double)b->events, more);
    return 0;
}

static uint32_t fnv1a(const char *str)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)str; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* The index of `name` among n names at stride `stride` bytes, or -1. */
static int name_index(const char *name, const void *base, size_t stride, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(*(const char *const *)((const char *)base + i * stride), name) == 0)
            return (int)i;
    return -1;
}

/* workload.replay: times (and optional route, colo, key columns) from a CSV file. */
static int load_replay(cctx *c, const cJSON *rp, wl_config *wc)
{
    scenario *s = c->s;
    static const char jp[] = "$.workload.replay.file";
    const char *unit = str(c, rp, "workload.replay", "unit");
    double scale = strcmp(unit, "ns") == 0   ? 1
                   : strcmp(unit, "us") == 0 ? 1e3
                   : strcmp(unit, "ms") == 0 ? 1e6
                                             : 1e9;
    char path[4096], why[600];
    df_resolve(c->path, str(c, rp, "workload.replay", "file"), path, sizeof path);
    df_table t;
    if (df_load(path, &t, why, sizeof why))
        return cfail(c, jp, "%s", why);
    int rc = 0;
    /* A header names the columns; else the only column is the time. */
    int col_time = 0, col_route = -1, col_colo = -1, col_key = -1;
    size_t first = 0;
    double x;
    if (t.nrows && !df_number(t.rows[0].cells[0], &x)) {
        first = 1;
        col_time = -1;
        for (size_t i = 0; i < t.rows[0].ncells; i++) {
            const char *h = t.rows[0].cells[i];
            if (strcmp(h, "time") == 0 || strcmp(h, "timestamp") == 0)
                col_time = (int)i;
            else if (strcmp(h, "route") == 0)
                col_route = (int)i;
            else if (strcmp(h, "colo") == 0)
                col_colo = (int)i;
            else if (strcmp(h, "key") == 0)
                col_key = (int)i;
        }
        if (col_time < 0) {
            rc = cfail(c, jp, "%s:%u: the header has no \"time\" column", path, t.rows[0].line);
            goto done;
        }
    }
    size_t n = t.nrows - first;
    if (n == 0) {
        rc = cfail(c, jp, "%s: no timestamps", path);
        goto done;
    }
    int64_t *ts = alloc(s, n * sizeof *ts);
    uint32_t *routes = col_route >= 0 ? alloc(s, n * sizeof *routes) : NULL;
    uint32_t *colos = col_colo >= 0 ? alloc(s, n * sizeof *colos) : NULL;
    uint32_t *kv = col_key >= 0 && wc->keys ? alloc(s, n * sizeof *kv) : NULL;
    double t0 = 0, prev = 0;
    for (size_t i = 0; i < n; i++) {
        const df_row *row = &t.rows[first + i];
        int need = col_time;
        if (col_route > need)
            need = col_route;
        if (col_colo > need)
            need = col_colo;
        if (col_key > need)
            need = col_key;
        if ((int)row->ncells <= need) {
            rc = cfail(c, jp, "%s:%u: expected %d columns, got %u", path, row->line, need + 1,
                       row->ncells);
            goto done;
        }
        if (!df_number(row->cells[col_time], &x)) {
            rc = cfail(c, jp, "%s:%u: expected a time, got \"%s\"", path, row->line,
                       row->cells[col_time]);
            goto done;
        }
        if (i == 0)
            t0 = prev = x;
        if (x < prev) {
            rc = cfail(c, jp, "%s:%u: times must not decrease (%.17g after %.17g)", path, row->line,
                       x, prev);
            goto done;
        }
        prev = x;
        double off = (x - t0) * scale;
        if (off > BIG_S * 1e9) {
            rc = cfail(c, jp, "%s:%u: %.17g is more than %.0f s after the first time", path,
                       row->line, x, BIG_S);
            goto done;
        }
        ts[i] = (int64_t)llround(off);
        if (routes) {
            int ri = name_index(row->cells[col_route], s->program.routes, sizeof(app_route),
                                s->program.nroutes);
            if (ri < 0) {
                rc = cfail(c, jp, "%s:%u: no route \"%s\" in app.routes", path, row->line,
                           row->cells[col_route]);
                goto done;
            }
            routes[i] = (uint32_t)ri;
        }
        if (colos) {
            int ci = s->runtime.ncolos ? name_index(row->cells[col_colo], s->runtime.colos,
                                                    sizeof(rt_colo), s->runtime.ncolos)
                                       : -1;
            if (ci < 0) {
                rc = cfail(c, jp, "%s:%u: no colo \"%s\" in runtime.colos", path, row->line,
                           row->cells[col_colo]);
                goto done;
            }
            colos[i] = (uint32_t)ci;
        }
        if (kv) /* any text names a client: hashed onto the keys */
            kv[i] = fnv1a(row->cells[col_key]) % wc->keys;
    }
    wc->replay_ns = ts;
    wc->replay_route = routes;
    wc->replay_colo = colos;
    wc->replay_key = kv;
    wc->nreplay = n;
done:
    df_free(&t);
    return rc;
}

/* The parameters each kind takes (besides the window, probability, first and targets). */
static const struct {
    flt_kind kind;
    const char *required, *optional; /* space-separated keys */
} fault_params[] = {
    {FLT_LATENCY, "latency_ms", "jitter_ms"},
    {FLT_BANDWIDTH, "kb_per_s", ""},
    {FLT_REFUSED, "", ""},
    {FLT_RESET, "", ""},
    {FLT_TIMEOUT, "", "after_s"},
    {FLT_PARTITION, "", "after_s"},
    {FLT_LOSS, "p r", "loss_bad loss_good after_s"},
    {FLT_STATUS, "status", "retry_after_s"},
    {FLT_TOO_LARGE, "max_bytes", ""},
    {FLT_SLOW, "latency_ms", "jitter_ms"},
    {FLT_DROP_ANSWER, "", ""},
    {FLT_DEPLOY, "", ""},
    {FLT_MEMORY_PRESSURE, "memory_mb", ""},
    {FLT_CPU_STORM, "cpu_factor", ""},
};

static bool word_in(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = list; (p = strstr(p, w)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/* A rule's target list of names (routes, colos), as indices. */
static int fault_names(cctx *c, const cJSON *x, const char *key, const char *jp,
                       const char *const *names, uint32_t nnames, uint32_t **out, uint32_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(x, key);
    *out = NULL;
    *n = 0;
    if (!arr)
        return 0;
    int len = cJSON_GetArraySize(arr);
    *out = alloc(c->s, (size_t)len * sizeof **out);
    for (int k = 0; k < len; k++) {
        const char *nm = cJSON_GetArrayItem(arr, k)->valuestring;
        uint32_t j = 0;
        while (j < nnames && strcmp(names[j], nm) != 0)
            j++;
        if (j == nnames) {
            char kp[96], known[512] = "";
            snprintf(kp, sizeof kp, "%s.%s[%d]", jp, key, k);
            for (uint32_t i = 0; i < nnames; i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s\"%s\"",
                         i ? ", " : "", names[i]);
            return cfail(c, kp, "no %s named \"%s\" (the scenario's: %s)",
                         strcmp(key, "routes") == 0 ? "route" : "colo", nm,
                         nnames ? known : "none");
        }
        (*out)[(*n)++] = j;
    }
    return 0;
}

static int cmp_deploy(const void *a, const void *b)
{
    const int64_t *x = a, *y = b; /* pairs: time, rule */
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] > y[1]) - (x[1] < y[1]);
}

/* faults.rules: each rule checked against its kind, its targets resolved to indices; the
 * runtime's kinds become runtime windows and deploys. */
static int compile_faults(cctx *c, const cJSON *root)
{
    scenario *s = c->s;
    const cJSON *rules = val(c, val(c, root, "", "faults"), "faults", "rules");
    int n = cJSON_GetArraySize(rules);
    s->nfault_rules = (size_t)n;
    s->fault_rules = n ? alloc(s, (size_t)n * sizeof *s->fault_rules) : NULL;
    rt_config *rc = &s->runtime;
    const char *colo_names[1000];
    uint32_t ncolo = rc->ncolos ? rc->ncolos : 1;
    for (uint32_t i = 0; i < ncolo; i++)
        colo_names[i] = rc->ncolos ? rc->colos[i].name : "default";
    const char *route_names[1000];
    uint32_t nroute = 0;
    for (uint32_t i = 0; i < s->program.nroutes && s->program.routes[i].name[0]; i++)
        route_names[nroute++] = s->program.routes[i].name;
    rt_fault_window *win = NULL;
    size_t nwin = 0;
    int64_t *deps = NULL; /* time, rule pairs */
    size_t ndep = 0;
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, rules)
    {
        char jp[64];
        snprintf(jp, sizeof jp, "$.faults.rules[%d]", i);
        flt_rule *r = &s->fault_rules[i];
        const char *kind = str(c, x, "faults.rules[]", "kind");
        r->kind = (flt_kind)flt_kind_find(kind);
        size_t pk = 0;
        while (fault_params[pk].kind != r->kind)
            pk++;
        const cJSON *m;
        cJSON_ArrayForEach(m, x)
        {
            static const char common[] = "kind from_s until_s probability first routes colos "
                                         "isolates paths";
            if (word_in(common, m->string) || word_in(fault_params[pk].required, m->string) ||
                word_in(fault_params[pk].optional, m->string))
                continue;
            char kp[96];
            snprintf(kp, sizeof kp, "%s.%s", jp, m->string);
            return cfail(c, kp, "not a parameter of kind %s (its parameters: %s%s%s)", kind,
                         fault_params[pk].required, *fault_params[pk].optional ? " " : "",
                         *fault_params[pk].optional ? fault_params[pk].optional : "");
        }
        char req[64];
        snprintf(req, sizeof req, "%s", fault_params[pk].required);
        for (char *w = strtok(req, " "); w; w = strtok(NULL, " "))
            if (!cJSON_GetObjectItemCaseSensitive(x, w))
                return cfail(c, jp, "kind %s needs \"%s\"", kind, w);
        r->from_ns = secs(num(c, x, "faults.rules[]", "from_s"));
        const cJSON *until = cJSON_GetObjectItemCaseSensitive(x, "until_s");
        r->until_ns = until ? secs(until->valuedouble) : INT64_MAX;
        if (r->until_ns <= r->from_ns) {
            char kp[96];
            snprintf(kp, sizeof kp, "%s.until_s", jp);
            return cfail(c, kp, "expected more than from_s (%g): the window would be empty",
                         num(c, x, "faults.rules[]", "from_s"));
        }
        r->probability = num(c, x, "faults.rules[]", "probability");
        r->first = (uint64_t)num(c, x, "faults.rules[]", "first");
        bool runtime = strcmp(flt_kind_family(r->kind), "runtime") == 0;
        if (runtime && rc->kind == RT_SERVER)
            return cfail(c, jp,
                         "kind %s acts on edge isolates: runtime.kind \"server\" is one "
                         "long-lived process, never replaced, evicted or CPU-limited",
                         kind);
        if (runtime && rc->kind == RT_OBJECT && r->kind != FLT_DEPLOY)
            return cfail(c, jp,
                         "kind %s acts on edge isolates, not on Durable Objects "
                         "(runtime.kind \"durable_object\")",
                         kind);
        if ((r->kind == FLT_LOSS || runtime) && cJSON_GetObjectItemCaseSensitive(x, "probability"))
            return cfail(c, jp, "kind %s takes no probability (%s)", kind,
                         r->kind == FLT_LOSS ? "its channel decides each loss"
                                             : "it applies to every isolate it targets");
        if (runtime && (cJSON_GetObjectItemCaseSensitive(x, "first") ||
                        cJSON_GetObjectItemCaseSensitive(x, "routes") ||
                        cJSON_GetObjectItemCaseSensitive(x, "paths")))
            return cfail(c, jp, "kind %s targets isolates, not requests: no first, routes or paths",
                         kind);
        if (r->kind == FLT_DEPLOY && (until || cJSON_GetObjectItemCaseSensitive(x, "colos") ||
                                      cJSON_GetObjectItemCaseSensitive(x, "isolates")))
            return cfail(c, jp,
                         "a deploy is an instant (from_s) and replaces every isolate: no "
                         "until_s, colos or isolates");
        uint32_t *routes, *colos;
        if (cJSON_GetObjectItemCaseSensitive(x, "routes") && !nroute)
            return cfail(c, jp, "routes: the app has a single handler, no app.routes to name");
        if (fault_names(c, x, "routes", jp, route_names, nroute, &routes, &r->nroutes) ||
            fault_names(c, x, "colos", jp, colo_names, ncolo, &colos, &r->ncolos))
            return SIM_EINPUT;
        r->routes = routes;
        r->colos = colos;
        const cJSON *isos = cJSON_GetObjectItemCaseSensitive(x, "isolates");
        if (isos) {
            uint64_t *iv = alloc(s, (size_t)cJSON_GetArraySize(isos) * sizeof *iv);
            const cJSON *e;
            cJSON_ArrayForEach(e, isos) iv[r->nisolates++] = (uint64_t)e->valuedouble;
            r->isolates = iv;
        }
        const cJSON *paths = cJSON_GetObjectItemCaseSensitive(x, "paths");
        if (paths) {
            const char **pv = alloc(s, (size_t)cJSON_GetArraySize(paths) * sizeof *pv);
            const cJSON *e;
            cJSON_ArrayForEach(e, paths) pv[r->npaths++] = sdup(s, e->valuestring);
            r->paths = pv;
        }
        r->latency_ns = (int64_t)llround(num(c, x, "faults.rules[]", "latency_ms") * 1e6);
        r->jitter_ns = (int64_t)llround(num(c, x, "faults.rules[]", "jitter_ms") * 1e6);
        r->bytes_per_s = num(c, x, "faults.rules[]", "kb_per_s") * 1000.0;
        r->after_ns = secs(num(c, x, "faults.rules[]", "after_s"));
        r->ge = (flt_ge){num(c, x, "faults.rules[]", "p"), num(c, x, "faults.rules[]", "r"),
                         num(c, x, "faults.rules[]", "loss_bad"),
                         num(c, x, "faults.rules[]", "loss_good")};
        r->status = (int)num(c, x, "faults.rules[]", "status");
        const cJSON *ra = cJSON_GetObjectItemCaseSensitive(x, "retry_after_s");
        r->retry_after_s = ra ? (int64_t)ra->valuedouble : -1;
        r->max_bytes = (int64_t)num(c, x, "faults.rules[]", "max_bytes");
        r->memory_bytes = (int64_t)llround(num(c, x, "faults.rules[]", "memory_mb") * 1048576.0);
        r->cpu_factor = num(c, x, "faults.rules[]", "cpu_factor");
        if (r->kind == FLT_STATUS && r->status != 429 && r->status != 500 && r->status != 502 &&
            r->status != 503 && r->status != 504) {
            char kp[96];
            snprintf(kp, sizeof kp, "%s.status", jp);
            return cfail(c, kp, "expected 429, 500, 502, 503 or 504, got %d", r->status);
        }
        if (ra && r->status != 429 && r->status != 503) {
            char kp[96];
            snprintf(kp, sizeof kp, "%s.retry_after_s", jp);
            return cfail(c, kp, "Retry-After goes with 429 and 503, not %d", r->status);
        }
        if (r->kind == FLT_CPU_STORM && r->cpu_factor <= 1) {
            char kp[96];
            snprintf(kp, sizeof kp, "%s.cpu_factor", jp);
            return cfail(c, kp, "expected more than 1 (1 changes nothing)");
        }
        if (r->kind == FLT_LOSS && r->ge.p + r->ge.r <= 0) {
            char kp[96];
            snprintf(kp, sizeof kp, "%s.p", jp);
            return cfail(c, kp, "expected p + r > 0 (the channel would never move)");
        }
        if (r->kind == FLT_MEMORY_PRESSURE || r->kind == FLT_CPU_STORM) {
            if (nwin == RT_MAX_FAULT_WINDOWS)
                return cfail(c, jp, "more than %d memory_pressure and cpu_storm rules",
                             RT_MAX_FAULT_WINDOWS);
            if (!win)
                win = alloc(s, RT_MAX_FAULT_WINDOWS * sizeof *win);
            win[nwin++] = (rt_fault_window){
                .from_ns = r->from_ns,
                .until_ns = r->until_ns == INT64_MAX ? ENG_TIME_MAX : r->until_ns,
                .memory_bytes = r->kind == FLT_MEMORY_PRESSURE ? r->memory_bytes : 0,
                .cpu_factor = r->kind == FLT_CPU_STORM ? r->cpu_factor : 0,
                .colos = r->colos,
                .ncolos = r->ncolos,
                .isolates = r->isolates,
                .nisolates = r->nisolates,
                .rule = (uint32_t)i};
        }
        if (r->kind == FLT_DEPLOY) {
            if (!deps)
                deps = alloc(s, (size_t)(n + (int)rc->ndeploys) * 2 * sizeof *deps);
            deps[2 * ndep] = r->from_ns;
            deps[2 * ndep++ + 1] = i;
        }
        i++;
    }
    rc->fault_windows = win;
    rc->nfault_windows = nwin;
    if (ndep) {
        /* The deploy rules join runtime.deploys_s, in time order (a rule after a listed deploy
         * at the same instant). */
        for (size_t k = 0; k < rc->ndeploys; k++) {
            deps[2 * ndep] = rc->deploys_ns[k];
            deps[2 * ndep++ + 1] = -1;
        }
        qsort(deps, ndep, 2 * sizeof *deps, cmp_deploy);
        int64_t *dv = alloc(s, ndep * sizeof *dv);
        s->deploy_rules = alloc(s, ndep * sizeof *s->deploy_rules);
        for (size_t k = 0; k < ndep; k++) {
            dv[k] = deps[2 * k];
            s->deploy_rules[k] = deps[2 * k + 1] < 0 ? UINT32_MAX : (uint32_t)deps[2 * k + 1];
        }
        rc->deploys_ns = dv;
        rc->ndeploys = ndep;
    }
    return 0;
}

static int compile(cctx *c, const cJSON *root)
{
    scenario *s = c->s;
    s->name = sdup(s, str(c, root, "", "name"));
    s->description = sdup(s, str(c, root, "", "description"));
    s->seed = (uint64_t)num(c, root, "", "seed");
    const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(root, "seeds");
    int ns = seeds ? cJSON_GetArraySize(seeds) : 0;
    s->nseeds = ns ? (size_t)ns : 1;
    s->seeds = alloc(s, s->nseeds * sizeof *s->seeds);
    s->seeds[0] = s->seed;
    for (int k = 0; k < ns; k++) {
        s->seeds[k] = (uint64_t)cJSON_GetArrayItem(seeds, k)->valuedouble;
        for (int j = 0; j < k; j++) {
            if (s->seeds[j] == s->seeds[k]) {
                char jp[64];
                snprintf(jp, sizeof jp, "$.seeds[%d]", k);
                return cfail(c, jp, "seed %.0f is listed twice (each seed is one run)",
                             (double)s->seeds[k]);
            }
        }
    }
    if (ns)
        s->seed = s->seeds[0];

    const cJSON *r = val(c, root, "", "runtime");
    rt_config *rc = &s->runtime;
    const char *kind = str(c, r, "runtime", "kind");
    rc->kind = strcmp(kind, "server") == 0           ? RT_SERVER
               : strcmp(kind, "durable_object") == 0 ? RT_OBJECT
                                                     : RT_EDGE;
    rc->max_concurrency = (uint32_t)num(c, r, "runtime", "max_concurrency");
    rc->max_isolates = (uint32_t)num(c, r, "runtime", "max_isolates");
    rc->cold_start = dst(c, r, "runtime", "cold_start");
    rc->idle_timeout = dst(c, r, "runtime", "idle_timeout");
    if (rc->kind == RT_OBJECT && !cJSON_GetObjectItemCaseSensitive(r, "idle_timeout"))
        rc->idle_timeout = (dist){.kind = DIST_UNIFORM, .a_ns = secs(70), .b_ns = secs(140)};
    rc->hibernate_after_ns = secs(num(c, r, "runtime", "hibernate_after_s"));
    if (compile_compat(c, r, rc))
        return SIM_EINPUT;
    rc->max_lifetime_ns = secs(num(c, r, "runtime", "max_lifetime_s"));
    rc->wait_until_budget_ns = secs(num(c, r, "runtime", "wait_until_budget_s"));
    const cJSON *deps = val(c, r, "runtime", "deploys_s");
    int nd = cJSON_GetArraySize(deps);
    int64_t *dv = nd ? alloc(s, (size_t)nd * sizeof *dv) : NULL;
    int k = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, deps)
    {
        dv[k] = secs(d->valuedouble);
        if (k > 0 && dv[k] < dv[k - 1]) {
            char jp[64];
            snprintf(jp, sizeof jp, "$.runtime.deploys_s[%d]", k);
            return cfail(c, jp, "expected deploy times in increasing order");
        }
        k++;
    }
    rc->deploys_ns = dv;
    rc->ndeploys = (size_t)nd;
    const char *routing = str(c, r, "runtime", "routing");
    rc->routing = strcmp(routing, "random") == 0   ? RT_ROUTE_RANDOM
                  : strcmp(routing, "sticky") == 0 ? RT_ROUTE_STICKY
                                                   : RT_ROUTE_LEAST_LOADED;
    rc->memory_limit_bytes = (int64_t)llround(num(c, r, "runtime", "memory_limit_mb") * 1048576.0);
    rc->memory_base_bytes = (int64_t)llround(num(c, r, "runtime", "memory_base_mb") * 1048576.0);
    if (rc->memory_limit_bytes && rc->memory_base_bytes >= rc->memory_limit_bytes)
        return cfail(c, "$.runtime.memory_base_mb",
                     "expected less than memory_limit_mb (%g): every isolate would be over it",
                     num(c, r, "runtime", "memory_limit_mb"));
    rc->cpu_limit_ns = (int64_t)llround(num(c, r, "runtime", "cpu_limit_ms") * 1e6);
    rc->subrequest_limit = (uint32_t)num(c, r, "runtime", "subrequest_limit");
    rc->max_connections = (uint32_t)num(c, r, "runtime", "max_connections");
    rc->wall_limit_ns = secs(num(c, r, "runtime", "wall_limit_s"));
    s->log_cap_bytes = (int64_t)llround(num(c, r, "runtime", "log_limit_kb") * 1024.0);
    const cJSON *colos = cJSON_GetObjectItemCaseSensitive(r, "colos");
    double *colo_w = NULL;
    if (colos) {
        int n = cJSON_GetArraySize(colos);
        rt_colo *cv = alloc(s, (size_t)n * sizeof *cv);
        colo_w = alloc(s, (size_t)n * sizeof *colo_w);
        int i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, colos)
        {
            cv[i].name = sdup(s, str(c, x, "runtime.colos[]", "name"));
            cv[i].weight = colo_w[i] = num(c, x, "runtime.colos[]", "weight");
            cv[i].max_isolates = (uint32_t)num(c, x, "runtime.colos[]", "max_isolates");
            if (!cv[i].max_isolates)
                cv[i].max_isolates = rc->max_isolates;
            for (int j = 0; j < i; j++)
                if (strcmp(cv[j].name, cv[i].name) == 0) {
                    char jp[64];
                    snprintf(jp, sizeof jp, "$.runtime.colos[%d].name", i);
                    return cfail(c, jp, "duplicate colo name \"%s\"", cv[i].name);
                }
            i++;
        }
        rc->colos = cv;
        rc->ncolos = (uint32_t)n;
    }
    const cJSON *fl = val(c, root, "", "faults");
    rc->kill_rate_per_s = num(c, fl, "faults", "kill_isolates_per_hour") / 3600.0;

    if (compile_zones(c, root))
        return SIM_EINPUT;
    const cJSON *a = val(c, root, "", "app");
    const cJSON *wz = cJSON_GetObjectItemCaseSensitive(a, "zone");
    s->pipeline.worker_zone = wz ? sdup(s, wz->valuestring) : NULL;
    for (const char *z = s->pipeline.worker_zone; z && *z; z++)
        if ((unsigned char)*z <= 0x20 || (unsigned char)*z >= 0x7f) /* what a header carries */
            return cfail(c, "$.app.zone",
                         "expected a zone name of printable ASCII without blanks, got a byte "
                         "0x%02x",
                         (unsigned char)*z);
    c->accumulators = cJSON_GetObjectItemCaseSensitive(a, "accumulators");
    const cJSON *handler = cJSON_GetObjectItemCaseSensitive(a, "handler");
    const cJSON *routes = cJSON_GetObjectItemCaseSensitive(a, "routes");
    if (!handler == !routes)
        return cfail(c, "$.app", "expected exactly one of \"handler\" or \"routes\"");
    app_program *pg = &s->program;
    double *route_w = NULL;
    if (handler) {
        pg->routes = alloc(s, sizeof *pg->routes);
        pg->nroutes = 1;
        pg->routes[0].name = "";
        pg->routes[0].weight = 1;
        int brc =
            compile_block(c, handler, "$.app.handler", IN_HANDLER, true, &pg->routes[0].handler);
        if (brc)
            return brc;
    } else {
        int n = cJSON_GetArraySize(routes);
        pg->routes = alloc(s, (size_t)n * sizeof *pg->routes);
        route_w = alloc(s, (size_t)n * sizeof *route_w);
        pg->nroutes = (uint32_t)n;
        int i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, routes)
        {
            app_route *rt_ = &pg->routes[i];
            char jp[96];
            rt_->name = sdup(s, str(c, x, "app.routes[]", "name"));
            rt_->weight = route_w[i] = num(c, x, "app.routes[]", "weight");
            for (int j = 0; j < i; j++)
                if (strcmp(pg->routes[j].name, rt_->name) == 0) {
                    snprintf(jp, sizeof jp, "$.app.routes[%d].name", i);
                    return cfail(c, jp, "duplicate route name \"%s\"", rt_->name);
                }
            snprintf(jp, sizeof jp, "$.app.routes[%d].handler", i);
            int brc = compile_block(c, val(c, x, "app.routes[]", "handler"), jp, IN_HANDLER, true,
                                    &rt_->handler);
            if (brc)
                return brc;
            i++;
        }
    }

    /* app.alarm: a route of its own after the others, never drawn by the workload. */
    const cJSON *alarm = cJSON_GetObjectItemCaseSensitive(a, "alarm");
    s->has_alarm = alarm != NULL;
    if (alarm) {
        if (rc->kind != RT_OBJECT)
            return cfail(c, "$.app.alarm",
                         "an alarm() handler is a Durable Object's: it needs runtime.kind "
                         "\"durable_object\"");
        app_route *nr = alloc(s, (pg->nroutes + 1) * sizeof *nr);
        memcpy(nr, pg->routes, pg->nroutes * sizeof *nr);
        pg->routes = nr;
        app_route *ar = &pg->routes[pg->nroutes];
        ar->name = "alarm";
        ar->weight = 0;
        int brc = compile_block(c, alarm, "$.app.alarm", IN_HANDLER, true, &ar->handler);
        if (brc)
            return brc;
        rc->alarm_route = pg->nroutes++;
        rc->alarm_wall_limit_ns = secs(900); /* Cloudflare: 15 minutes for an alarm */
    }
    if (c->alarms && !alarm)
        return cfail(c, "$.app", "set_alarm needs the alarm() handler it runs: add app.alarm");

    const cJSON *accs = val(c, a, "app", "accumulators");
    if (cJSON_GetArraySize(accs) > 0) {
        uint32_t used = pg->nglobals; /* the globals the steps name */
        pg->accumulators = alloc(s, (used ? used : 1) * sizeof *pg->accumulators);
        int i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, accs)
        {
            char jp[96];
            snprintf(jp, sizeof jp, "$.app.accumulators[%d].name", i++);
            const char *name = str(c, x, "app.accumulators[]", "name");
            uint32_t g = 0;
            while (g < used && strcmp(pg->globals[g], name) != 0)
                g++;
            if (g == used)
                return cfail(c, jp, "expected the name of a global a step uses, got \"%s\"", name);
            if (pg->accumulators[g].on)
                return cfail(c, jp, "\"%s\" is listed twice", name);
            app_accumulator *ac = &pg->accumulators[g];
            ac->on = true;
            ac->every_ns = secs(num(c, x, "app.accumulators[]", "checkpoint_every_s"));
            if (ac->every_ns > 0 && ac->every_ns < 1000000) {
                snprintf(jp, sizeof jp, "$.app.accumulators[%d].checkpoint_every_s", i - 1);
                return cfail(c, jp, "expected 0 (no timer) or at least 0.001 (1 ms), got %g",
                             num(c, x, "app.accumulators[]", "checkpoint_every_s"));
            }
            ac->max_entries = (uint32_t)num(c, x, "app.accumulators[]", "checkpoint_entries");
            if (ac->every_ns || ac->max_entries)
                c->checkpoints++;
        }
    }
    const cJSON *qu = cJSON_GetObjectItemCaseSensitive(root, "queue");
    s->has_queue = qu != NULL;
    if (c->checkpoints && !qu)
        return cfail(c, "$.app",
                     "a checkpoint sends to a queue: add a \"queue\" object (its batch size, "
                     "wait and delivery delay)");
    if (qu) {
        queue_config *qc = &s->queue;
        qc->batch_size = (uint32_t)num(c, qu, "queue", "batch_size");
        qc->max_wait_ns = secs(num(c, qu, "queue", "max_wait_s"));
        qc->delivery_delay_ns = secs(num(c, qu, "queue", "delivery_delay_s"));
        qc->send_latency = dst(c, qu, "queue", "send_latency");
        qc->max_retries = (uint32_t)num(c, qu, "queue", "retries");
        qc->retry_delay_ns = secs(num(c, qu, "queue", "retry_delay_s"));
        qc->sig = SIG_LOGS;
        qc->dead_letter = cJSON_GetObjectItemCaseSensitive(qu, "dead_letter_queue") != NULL;
        const cJSON *co = val(c, qu, "queue", "consumer");
        qc->fan_out_messages = strcmp(str(c, co, "queue.consumer", "fan_out"), "message") == 0;
        qc->subrequest_limit = (uint32_t)num(c, co, "queue.consumer", "subrequest_limit");
        const char *oe = str(c, co, "queue.consumer", "on_error");
        qc->on_error = strcmp(oe, "ack") == 0     ? QUEUE_ON_ERROR_ACK
                       : strcmp(oe, "retry") == 0 ? QUEUE_ON_ERROR_RETRY
                                                  : QUEUE_ON_ERROR_THROW;
    }

    const cJSON *w = val(c, root, "", "workload");
    wl_config *wc = &s->workload;
    const char *arr = str(c, w, "workload", "arrivals");
    wc->kind = strcmp(arr, "constant") == 0  ? WL_CONSTANT
               : strcmp(arr, "bursts") == 0  ? WL_BURSTS
               : strcmp(arr, "diurnal") == 0 ? WL_DIURNAL
               : strcmp(arr, "replay") == 0  ? WL_REPLAY
                                             : WL_POISSON;
    wc->rate_per_s = num(c, w, "workload", "rate_per_s");
    wc->start_ns = secs(num(c, w, "workload", "start_s"));
    wc->duration_ns = secs(num(c, w, "workload", "duration_s"));
    wc->requests = (uint64_t)num(c, w, "workload", "requests");
    wc->burst_on = dst(c, w, "workload", "burst_on");
    wc->burst_off = dst(c, w, "workload", "burst_off");
    wc->drain_ns = secs(num(c, w, "workload", "drain_s"));
    wc->colo_weights = colo_w;
    wc->ncolos = rc->ncolos;
    wc->route_weights = route_w;
    wc->nroutes = pg->nroutes - (s->has_alarm ? 1 : 0); /* the workload never draws app.alarm */
    if (rc->routing == RT_ROUTE_STICKY || rc->kind == RT_OBJECT)
        rc->keys = wc->keys = (uint32_t)num(c, w, "workload", "keys");
    const cJSON *di = val(c, w, "workload", "diurnal");
    wc->trough_rate_per_s = num(c, di, "workload.diurnal", "trough_rate_per_s");
    wc->peak_ns = secs(num(c, di, "workload.diurnal", "peak_h") * 3600.0);
    wc->period_ns = secs(num(c, di, "workload.diurnal", "period_h") * 3600.0);
    if (wc->kind == WL_DIURNAL && wc->trough_rate_per_s > wc->rate_per_s)
        return cfail(c, "$.workload.diurnal.trough_rate_per_s",
                     "expected at most rate_per_s (the peak), got %g", wc->trough_rate_per_s);
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(w, "replay");
    if ((wc->kind == WL_REPLAY) != (rp != NULL))
        return cfail(c, rp ? "$.workload.replay" : "$.workload",
                     "replay goes with \"arrivals\": \"replay\" (and needs a replay object)");
    if (rp && !cJSON_GetObjectItemCaseSensitive(w, "duration_s"))
        wc->duration_ns = 0; /* the file says when it ends */
    if (rp && load_replay(c, rp, wc))
        return SIM_EINPUT;
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(w, "cron");
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(w, "cron_times_s");
    if (cr && ct)
        return cfail(c, "$.workload.cron_times_s", "give cron or cron_times_s, not both");
    if ((strcmp(arr, "cron") == 0) != (cr || ct))
        return cfail(c,
                     cr   ? "$.workload.cron"
                     : ct ? "$.workload.cron_times_s"
                          : "$.workload",
                     "cron and cron_times_s go with \"arrivals\": \"cron\" (which needs one "
                     "of them)");
    if ((cr || ct) && compile_cron(c, cr ? cr->valuestring : NULL, ct, r, wc, rc))
        return SIM_EINPUT;
    if (wc->duration_ns == 0 && wc->requests == 0 && wc->kind != WL_REPLAY)
        return cfail(c, "$.workload",
                     "either duration_s or requests must be > 0 (else it never ends)");
    if (wc->kind == WL_BURSTS && wc->burst_on.kind == DIST_FIXED && wc->burst_on.a_ns == 0)
        return cfail(c, "$.workload.burst_on", "expected on periods longer than 0");
    pl_config *plc = &s->pipeline;
    plc->spans_per_request = (uint32_t)num(c, w, "workload", "spans_per_request");
    const cJSON *pl = val(c, root, "", "pipeline");
    plc->job_delay = dst(c, pl, "pipeline", "job_delay");
    plc->store_path = sdup(s, str(c, pl, "pipeline", "store_path"));
    s->has_pipeline = plc->spans_per_request > 0 || plc->nfetches > 0;
    const cJSON *mo = cJSON_GetObjectItemCaseSensitive(root, "monitor");
    const cJSON *ndc = cJSON_GetObjectItemCaseSensitive(root, "naive_daily");
    char merr[300];
    if (mo || ndc) {
        s->has_monitor = mo != NULL;
        s->has_daily = ndc != NULL;
        mon_config *mc = &s->monitor;
        mc->window_ns = secs(num(c, mo, "monitor", "window_s"));
        mc->baseline_windows = (uint32_t)num(c, mo, "monitor", "baseline_windows");
        mc->drop = num(c, mo, "monitor", "drop");
        mc->consecutive = (uint32_t)num(c, mo, "monitor", "consecutive");
        if (mon_baseline_parse(str(c, mo, "monitor", "baseline"), &mc->baseline, merr,
                               sizeof merr) ||
            mon_validate(mc, merr, sizeof merr))
            return cfail(c, "$.monitor", "%s", merr);
        s->daily.day_ns = secs(num(c, ndc, "naive_daily", "day_s"));
        s->daily.ratio = num(c, ndc, "naive_daily", "ratio");
        if (ndc && mon_daily_validate(&s->daily, mc->window_ns, merr, sizeof merr))
            return cfail(c, "$.naive_daily", "%s", merr);
        if (!plc->spans_per_request)
            return cfail(c, mo ? "$.monitor" : "$.naive_daily",
                         "the watchers count the carried spans recorded: set "
                         "workload.spans_per_request");
    }
    if (plc->store_path[0] != '/' || !url_chars(plc->store_path, true))
        return cfail(c, "$.pipeline.store_path", "expected a path starting with /, got \"%s\"",
                     plc->store_path);
    if (c->rc)
        return c->rc;
    s->variant = sdup(s, str(c, root, "", "variant"));
    s->slug = sdup(s, s->variant);
    scn_slug(s->slug);

    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "exporter");
    s->has_exporter = ex != NULL;
    exp_config *e = &s->exporter;
    if (load_strategy(c, ex, e))
        return c->rc;
    s->batch_items = (uint32_t)num(c, ex, "exporter", "batch_items");
    const cJSON *rt_ = val(c, ex, "exporter", "retry");
    e->retries = (uint32_t)num(c, rt_, "exporter.retry", "count");
    e->retry_backoff = dst(c, rt_, "exporter.retry", "backoff");
    e->honor_retry_after = flag(c, rt_, "exporter.retry", "honor_retry_after");
    e->retry_max_wait_ns = secs(num(c, rt_, "exporter.retry", "max_wait_s"));
    e->fetch_timeout_ns = secs(num(c, ex, "exporter", "timeout_s"));
    e->service = sdup(s, str(c, ex, "exporter", "service"));
    e->layer1_per_request = strcmp(str(c, ex, "exporter", "layer1"), "request") == 0;
    e->item_overhead_bytes = (uint32_t)num(c, ex, "exporter", "item_overhead_bytes");
    s->queue.service = e->service;

    const cJSON *nw = val(c, root, "", "network");
    s->network.latency = dst(c, nw, "network", "latency");

    const cJSON *ing = val(c, root, "", "ingest");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(ing, "api_key");
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(ing, "cap");
    if (key) {
        /* It travels in an HTTP header and the embedded ingest must accept it: say so now,
         * not with a 401 on every POST of a run that otherwise exits 0. */
        const char *ks = key->valuestring;
        size_t kl = strlen(ks);
        if (kl > SCN_API_KEY_MAX)
            return cfail(c, "$.ingest.api_key", "expected at most %d characters, got %zu",
                         SCN_API_KEY_MAX, kl);
        for (size_t i = 0; i < kl; i++)
            if ((unsigned char)ks[i] <= 0x20 || (unsigned char)ks[i] >= 0x7f)
                return cfail(c, "$.ingest.api_key",
                             "expected printable ASCII without spaces (a bearer token), got a "
                             "byte 0x%02x at offset %zu",
                             (unsigned char)ks[i], i);
        s->api_key = sdup(s, ks);
    }
    const cJSON *waf = cJSON_GetObjectItemCaseSensitive(root, "waf");
    const pl_config *plc2 = &s->pipeline;
    bool notifies = false;
    for (uint32_t i = 0; i < plc2->nfetches; i++)
        notifies |= plc2->fetches[i].body == PL_BODY_NOTIFY;
    if (s->has_pipeline && !s->has_exporter)
        return cfail(c, "$.exporter",
                     "carried spans and fetches with a url need an exporter (the run's ledger "
                     "comes with it): add one, e.g. {\"strategy\": \"immediate\"}");
    if (waf && !s->has_exporter)
        return cfail(c, "$.waf",
                     "a WAF is in front of the ingest, which a run without an "
                     "exporter does not start: add an exporter");
    if (key || cap || waf || notifies) {
        /* The embedded ingest's config, built as a document: any key or number fits. */
        cJSON *cfg = cJSON_CreateObject();
        cJSON *kv = key ? cJSON_AddArrayToObject(cfg, "keys") : NULL;
        if (!cfg ||
            (key && (!kv || !cJSON_AddItemToArray(kv, cJSON_CreateString(key->valuestring)))))
            abort();
        if (cap) {
            cJSON *co = cJSON_AddObjectToObject(cfg, "cap");
            if (!co || !cJSON_AddNumberToObject(co, "items", num(c, cap, "ingest.cap", "items")) ||
                !cJSON_AddNumberToObject(co, "window_s", num(c, cap, "ingest.cap", "window_s")))
                abort();
        }
        if (waf && !cJSON_AddItemToObject(cfg, "waf", cJSON_Duplicate(waf, true)))
            abort();
        if (notifies) {
            /* Each notification's path (on its host) is one of the ingest's notify endpoints. */
            cJSON *nl = cJSON_AddArrayToObject(cfg, "notify");
            for (uint32_t i = 0; nl && i < plc2->nfetches; i++) {
                const pl_fetch *f = &plc2->fetches[i];
                bool seen = false;
                for (uint32_t j = 0; j < i; j++) /* one endpoint per path and host */
                    seen |= plc2->fetches[j].body == PL_BODY_NOTIFY &&
                            strcmp(plc2->fetches[j].path, f->path) == 0 &&
                            strcasecmp(plc2->fetches[j].host, f->host) == 0;
                if (f->body != PL_BODY_NOTIFY || seen)
                    continue;
                char path[1024];
                snprintf(path, sizeof path, "%s", f->path);
                path[strcspn(path, "?")] = '\0';
                cJSON *ne = cJSON_CreateObject();
                if (!ne || !cJSON_AddStringToObject(ne, "path", path) ||
                    !cJSON_AddStringToObject(ne, "host", f->host) || !cJSON_AddItemToArray(nl, ne))
                    abort();
            }
        }
        char *json = cJSON_PrintUnformatted(cfg);
        cJSON_Delete(cfg);
        if (!json)
            abort();
        s->ingest_json = sdup(s, json);
        cJSON_free(json);
        /* The ingest compiles it when it opens: compile it now, so that a bad rule is this
         * file's error (exit 2) with its path, not a harness error at the run's start. */
        ing_config *icfg = NULL;
        char ierr[600];
        if (ing_config_parse(s->ingest_json, s->file, &icfg, ierr, sizeof ierr) != ING_OK) {
            snprintf(c->err, c->errlen, "%s", ierr);
            return SIM_EINPUT;
        }
        ing_config_free(icfg);
    }

    const cJSON *bu = val(c, root, "", "budget");
    s->budget.events = (uint64_t)num(c, bu, "budget", "events");
    s->budget.steps = (uint64_t)num(c, bu, "budget", "steps");
    s->budget.items = (uint64_t)num(c, bu, "budget", "items");
    s->budget.memory_bytes = (int64_t)(num(c, bu, "budget", "memory_mb") * 1048576.0);
    s->budget.wall_s = num(c, bu, "budget", "wall_s");
    if (!c->rc && predict(c))
        return SIM_EINPUT;

    const cJSON *exps = val(c, root, "", "expect");
    int ne = cJSON_GetArraySize(exps);
    if (ne && !s->has_exporter)
        return cfail(c, "$.expect", "checks need telemetry to check: add an exporter");
    s->expects = ne ? alloc(s, (size_t)ne * sizeof *s->expects) : NULL;
    s->nexpects = (size_t)ne;
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, exps)
    {
        char jp[64];
        snprintf(jp, sizeof jp, "$.expect[%d]", i);
        expect_item *it = &s->expects[i++];
        const cJSON *chk = cJSON_GetObjectItemCaseSensitive(x, "check");
        const cJSON *met = cJSON_GetObjectItemCaseSensitive(x, "metric");
        const cJSON *mn = cJSON_GetObjectItemCaseSensitive(x, "min");
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(x, "max");
        if (!chk == !met)
            return cfail(c, jp, "expected exactly one of \"check\" or \"metric\"");
        it->holds = flag(c, x, "expect[]", "holds");
        it->allow_vacuous = flag(c, x, "expect[]", "allow_vacuous");
        it->min_items_per_post = num(c, x, "expect[]", "min_items_per_post");
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(x, "why");
        it->why = why ? sdup(s, why->valuestring) : NULL;
        if (chk) {
            it->kind = (check_kind)check_find(chk->valuestring);
            if (mn || mx)
                return cfail(c, jp, "min and max belong to metric checks");
            continue;
        }
        char list[512];
        if (!check_metric_known(met->valuestring, list, sizeof list)) {
            char mp[80];
            snprintf(mp, sizeof mp, "%s.metric", jp);
            return cfail(c, mp, "no metric \"%s\" (expected one of: %s)", met->valuestring, list);
        }
        it->kind = CHECK_METRIC;
        it->metric = sdup(s, met->valuestring);
        if (!mn && !mx)
            return cfail(c, jp, "a metric check needs min, max or both");
        it->has_min = mn != NULL;
        it->has_max = mx != NULL;
        it->min = mn ? mn->valuedouble : 0;
        it->max = mx ? mx->valuedouble : 0;
        if (mn && mx && it->min > it->max)
            return cfail(c, jp, "expected min <= max");
    }
    if (compile_faults(c, root))
        return SIM_EINPUT;
    return c->rc;
}

void scn_slug(char *name)
{
    for (unsigned char *p = (unsigned char *)name; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            *p = '_';
}

/* A variant name must make a directory of its own inside the run directory. */
static int check_variant_name(const char *name, const char *file, const char *jpath, char *err,
                              size_t errlen)
{
    size_t n = strlen(name);
    if (n > SCN_VARIANT_MAX)
        return sk_error(err, errlen, file, jpath,
                        "expected a variant name of at most %d bytes (it names a directory), "
                        "got %zu",
                        SCN_VARIANT_MAX, n);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return sk_error(err, errlen, file, jpath,
                        "\"%s\" cannot be a variant name: its run directory would not be its own",
                        name);
    return 0;
}

static const char *const overridable[] = {"exporter", "runtime", "workload", "app",    "network",
                                          "ingest",   "faults",  "expect",   "budget", "queue",
                                          "waf",      "zones",   "pipeline"};

/* variants: [{name, description?, <section>: override, ...}] */
static int validate_variants(const cJSON *root, const char *file, char *err, size_t errlen)
{
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(root, "variant");
    if (cJSON_IsString(base) &&
        check_variant_name(base->valuestring, file, "$.variant", err, errlen))
        return SIM_EINPUT;
    const cJSON *vs = cJSON_GetObjectItemCaseSensitive(root, "variants");
    if (!vs)
        return 0;
    if (!cJSON_IsArray(vs))
        return sk_error(err, errlen, file, "$.variants", "expected an array of variants");
    const char *base_name = cJSON_IsString(base) ? base->valuestring : "baseline";
    char base_slug[SCN_VARIANT_MAX + 1];
    snprintf(base_slug, sizeof base_slug, "%s", base_name);
    scn_slug(base_slug);
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, vs)
    {
        char jp[64];
        snprintf(jp, sizeof jp, "$.variants[%d]", i);
        if (!cJSON_IsObject(v))
            return sk_error(err, errlen, file, jp,
                            "expected an object {\"name\": ..., <section>: <override>}");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
        if (!cJSON_IsString(name) || !name->valuestring[0])
            return sk_error(err, errlen, file, jp, "missing \"name\" (a non-empty string)");
        char np[80];
        snprintf(np, sizeof np, "%s.name", jp);
        if (check_variant_name(name->valuestring, file, np, err, errlen))
            return SIM_EINPUT;
        char slug[SCN_VARIANT_MAX + 1];
        snprintf(slug, sizeof slug, "%s", name->valuestring);
        scn_slug(slug);
        if (strcmp(name->valuestring, base_name) == 0)
            return sk_error(err, errlen, file, jp,
                            "duplicate variant name (the file itself is that variant)");
        if (strcmp(slug, base_slug) == 0)
            return sk_error(err, errlen, file, np,
                            "\"%s\" and the file's own variant \"%s\" would share the run "
                            "directory \"%s\"",
                            name->valuestring, base_name, slug);
        int j = 0;
        const cJSON *o;
        cJSON_ArrayForEach(o, vs)
        {
            if (j++ >= i)
                break;
            const cJSON *on = cJSON_GetObjectItemCaseSensitive(o, "name");
            if (!cJSON_IsString(on))
                continue;
            if (strcmp(on->valuestring, name->valuestring) == 0)
                return sk_error(err, errlen, file, jp, "duplicate variant name");
            char other[SCN_VARIANT_MAX + 1];
            snprintf(other, sizeof other, "%s", on->valuestring);
            scn_slug(other);
            if (strcmp(other, slug) == 0)
                return sk_error(err, errlen, file, np,
                                "\"%s\" and \"%s\" would share the run directory \"%s\"",
                                name->valuestring, on->valuestring, slug);
        }
        const cJSON *m;
        cJSON_ArrayForEach(m, v)
        {
            char mp[128];
            snprintf(mp, sizeof mp, "%s.%s", jp, m->string);
            if (strcmp(m->string, "name") == 0)
                continue;
            if (strcmp(m->string, "description") == 0) {
                if (!cJSON_IsString(m))
                    return sk_error(err, errlen, file, mp, "expected a string");
                continue;
            }
            bool ok = false;
            for (size_t k = 0; k < sizeof overridable / sizeof overridable[0]; k++)
                ok |= strcmp(m->string, overridable[k]) == 0;
            if (!ok)
                return sk_error(err, errlen, file, mp,
                                "unknown key \"%s\" (expected one of: name, description, "
                                "exporter, runtime, workload, app, network, ingest, faults, "
                                "expect, budget)",
                                m->string);
            if (sk_validate_at(&schema, file, m, mp, m->string, err, errlen))
                return SIM_EINPUT;
        }
        i++;
    }
    return 0;
}

/* Objects merge key by key, except distributions (one value); anything else replaces. */
static void merge(cJSON *into, const cJSON *over, const char *kpath)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, over)
    {
        char kp[256];
        snprintf(kp, sizeof kp, "%s%s%s", kpath, *kpath ? "." : "", m->string);
        const sk_key *k = sk_find(&schema, kp);
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(into, m->string);
        /* A plugin's options are not in the table, but they are an object of settings all the
         * same: a variant changes the ones it names. */
        bool object = (k && k->type == SK_OBJECT) || strcmp(kp, "exporter.options") == 0 ||
                      strncmp(kp, "exporter.options.", 17) == 0;
        if (cJSON_IsObject(cur) && cJSON_IsObject(m) && object) {
            merge(cur, m, kp);
            continue;
        }
        cJSON *copy = cJSON_Duplicate(m, 1);
        if (!copy)
            abort();
        if (cur)
            cJSON_ReplaceItemInObjectCaseSensitive(into, m->string, copy);
        else
            cJSON_AddItemToObject(into, m->string, copy);
    }
}

/* The base document with variant `v`'s keys merged in, `variants` gone and `variant` its name. */
static cJSON *variant_doc(const cJSON *root, const cJSON *v)
{
    cJSON *doc = cJSON_Duplicate(root, 1);
    cJSON *over = cJSON_Duplicate(v, 1);
    if (!doc || !over)
        abort();
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "variants");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "variant");
    cJSON_DeleteItemFromObjectCaseSensitive(over, "description");
    cJSON *name = cJSON_DetachItemFromObjectCaseSensitive(over, "name");
    /* A variant that names a strategy replaces the file's plugin, and one that names a plugin
     * replaces the file's strategy: each is the whole of "which exporter". */
    const cJSON *vex = cJSON_GetObjectItemCaseSensitive(over, "exporter");
    cJSON *dex = cJSON_GetObjectItemCaseSensitive(doc, "exporter");
    if (cJSON_IsObject(vex) && cJSON_IsObject(dex)) {
        bool vplugin = cJSON_HasObjectItem(vex, "plugin"),
             vstrat = cJSON_HasObjectItem(vex, "strategy"), vjs = cJSON_HasObjectItem(vex, "js");
        if ((vplugin || vjs) && !vstrat)
            cJSON_DeleteItemFromObjectCaseSensitive(dex, "strategy");
        if (vjs && !vplugin)
            cJSON_DeleteItemFromObjectCaseSensitive(dex, "plugin");
        if ((vplugin || vstrat) && !vjs) {
            cJSON_DeleteItemFromObjectCaseSensitive(dex, "js");
            cJSON_DeleteItemFromObjectCaseSensitive(dex, "factory");
        }
        const cJSON *bj = cJSON_GetObjectItemCaseSensitive(dex, "js");
        const cJSON *vj = cJSON_GetObjectItemCaseSensitive(vex, "js");
        if (cJSON_IsString(vj) && (!cJSON_IsString(bj) || strcmp(bj->valuestring, vj->valuestring)))
            cJSON_DeleteItemFromObjectCaseSensitive(dex, "options");
        /* Another plugin's options are not this one's. */
        const cJSON *bp = cJSON_GetObjectItemCaseSensitive(dex, "plugin");
        const cJSON *vp = cJSON_GetObjectItemCaseSensitive(vex, "plugin");
        if (cJSON_IsString(vp) && (!cJSON_IsString(bp) || strcmp(bp->valuestring, vp->valuestring)))
            cJSON_DeleteItemFromObjectCaseSensitive(dex, "options");
        if (vstrat && !vplugin) {
            cJSON_DeleteItemFromObjectCaseSensitive(dex, "plugin");
            cJSON_DeleteItemFromObjectCaseSensitive(dex, "options");
        }
    }
    merge(doc, over, "");
    cJSON_AddItemToObject(doc, "variant", name);
    cJSON_Delete(over);
    return doc;
}

/* `path`: the file as opened (data files are relative to it); `file` names it in messages. */
static int compile_doc(const cJSON *doc, const char *path, const char *file,
                       const scn_overrides *ov, scenario **out, char *err, size_t errlen)
{
    scenario *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "%s: out of memory", file);
        return SIM_EINPUT;
    }
    s->file = sdup(s, file);
    cctx c = {.s = s,
              .ov = ov,
              .defaults = cJSON_CreateArray(),
              .path = path,
              .err = err,
              .errlen = errlen};
    int rc = compile(&c, doc);
    cJSON_Delete(c.defaults);
    if (rc) {
        scn_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int scn_parse(const char *json, const char *file, scenario **out, char *err, size_t errlen)
{
    return scn_parse_with(json, file, NULL, out, err, errlen);
}

int scn_parse_with(const char *json, const char *file, const scn_overrides *ov, scenario **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        /* Line and column of the error, as editors count them. */
        int line = 1, col = 1;
        for (const char *p = json; end && p < end && *p; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        snprintf(err, errlen, "%s: $: not valid JSON (near line %d, column %d)", file, line, col);
        return SIM_EINPUT;
    }
    int rc = SIM_EINPUT;
    scenario *first = NULL;
    if (sk_validate(&schema, file, root, err, errlen) || validate_variants(root, file, err, errlen))
        goto done;
    if ((rc = compile_doc(root, file, file, ov, &first, err, errlen)))
        goto done;
    scenario **tail = &first->next;
    unsigned index = 1;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "variants"))
    {
        cJSON *doc = variant_doc(root, v);
        const char *name = cJSON_GetObjectItemCaseSensitive(doc, "variant")->valuestring;
        char vfile[1200];
        snprintf(vfile, sizeof vfile, "%s (variant %s)", file, name);
        /* The merged document must be a valid scenario in its own right. */
        rc = sk_validate(&schema, vfile, doc, err, errlen)
                 ? SIM_EINPUT
                 : compile_doc(doc, file, vfile, ov, tail, err, errlen);
        cJSON_Delete(doc);
        if (rc)
            goto done;
        /* Messages and reports name the file itself. */
        (*tail)->file = first->file;
        (*tail)->variant_index = index++;
        tail = &(*tail)->next;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc) {
        scn_free(first);
        return rc;
    }
    *out = first;
    return 0;
}

int scn_read(const char *path, char **text, char *err, size_t errlen)
{
    *text = NULL;
    /* O_NONBLOCK: opening a FIFO with no writer must not hang; only regular files are read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return SIM_EINPUT;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: expected a scenario file, got %s", path,
                 S_ISDIR(st.st_mode) ? "a directory" : "something that is not a regular file");
        close(fd);
        return SIM_EINPUT;
    }
    if (st.st_size > SCN_FILE_MAX) {
        snprintf(err, errlen, "%s: %lld bytes, larger than the %d MiB a scenario file may have",
                 path, (long long)st.st_size, SCN_FILE_MAX >> 20);
        close(fd);
        return SIM_EINPUT;
    }
    /* The size may change under us: read at most one byte past the limit to notice. */
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory", path);
        return SIM_EINPUT;
    }
    for (;;) {
        if (len == cap) {
            if (cap > SCN_FILE_MAX)
                break;
            size_t nc = cap * 2 > (size_t)SCN_FILE_MAX + 1 ? (size_t)SCN_FILE_MAX + 1 : cap * 2;
            char *nb = realloc(buf, nc + 1);
            if (!nb) {
                free(buf);
                close(fd);
                snprintf(err, errlen, "%s: out of memory", path);
                return SIM_EINPUT;
            }
            buf = nb;
            cap = nc;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return SIM_EINPUT;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (len > SCN_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than the %d MiB a scenario file may have", path,
                 SCN_FILE_MAX >> 20);
        free(buf);
        return SIM_EINPUT;
    }
    if (memchr(buf, '\0', len)) {
        snprintf(err, errlen, "%s: $: not valid JSON (a NUL byte at offset %zu)", path,
                 (size_t)((char *)memchr(buf, '\0', len) - buf));
        free(buf);
        return SIM_EINPUT;
    }
    buf[len] = '\0';
    *text = buf;
    return 0;
}

int scn_load(const char *path, scenario **out, char *err, size_t errlen)
{
    return scn_load_with(path, NULL, out, err, errlen);
}

int scn_load_with(const char *path, const scn_overrides *ov, scenario **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    char *text;
    int rc = scn_read(path, &text, err, errlen);
    if (rc)
        return rc;
    rc = scn_parse_with(text, path, ov, out, err, errlen);
    free(text);
    return rc;
}

cJSON *scn_variant_doc(const char *json, const char *file, const char *variant, char *err,
                       size_t errlen)
{
    scenario *all;
    if (scn_parse(json, file, &all, err, errlen))
        return NULL; /* validated first: what follows may trust the document's shape */
    scn_free(all);
    cJSON *root = cJSON_Parse(json);
    if (!root)
        abort(); /* it parsed a moment ago: only memory can fail */
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(root, "variant");
    if (!variant || strcmp(variant, cJSON_IsString(base) ? base->valuestring : "baseline") == 0) {
        cJSON *doc = cJSON_Duplicate(root, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "variants");
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "variant");
        cJSON_AddStringToObject(doc, "variant",
                                cJSON_IsString(base) ? base->valuestring : "baseline");
        cJSON_Delete(root);
        return doc;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "variants"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
        if (strcmp(name->valuestring, variant) == 0) {
            cJSON *doc = variant_doc(root, v);
            cJSON_Delete(root);
            return doc;
        }
    }
    cJSON_Delete(root);
    snprintf(err, errlen, "%s: no variant named \"%s\"", file, variant);
    return NULL;
}
