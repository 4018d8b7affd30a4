/*
 * The scenario's exporter settings (scenario.c parses them from the "exporter" object): the
 * host's sending policy (retries, timeout, service name), the SDK's layer 1, and the built-in
 * strategies' own settings, which a built-in gets as its configuration (el_exporter.create's
 * `config`). A plugin gets its own configuration from "exporter.options" instead.
 */
#ifndef SIM_EXPORTERS_CONFIG_H
#define SIM_EXPORTERS_CONFIG_H

#include "dist.h"

#include <edgeloss/exporter.h>

#include <stdbool.h>
#include <stdint.h>

typedef struct exp_config {
    /* The strategy: a built-in's descriptor or a plugin's, and its parsed configuration (a
     * built-in's is this struct). */
    const el_exporter *desc;
    const void *desc_config;
    /* The host's sending (send.c), for every strategy. */
    uint32_t retries;   /* for 429 and 5xx */
    dist retry_backoff; /* doubles each retry */
    bool honor_retry_after;
    int64_t retry_max_wait_ns; /* no retry waits longer (backoff or Retry-After; 0: no cap) */
    int64_t fetch_timeout_ns;  /* each POST is aborted this long after its fetch() (0: never) */
    const char *service;
    /* The SDK (sdk.c). */
    bool layer1_per_request;      /* the SDK's own buffers: per request (else per isolate) */
    uint32_t item_overhead_bytes; /* an item's memory besides its JSON (the JS objects) */
    /* The built-in buffered strategies (buffered.c). */
    uint32_t batch_items; /* POST when this many items are buffered */
    uint32_t batch_bytes; /* ... or this many bytes of OTLP JSON */
    int64_t backoff_ns;   /* after a 403 (Retry-After wins when present) */
    uint32_t breaker_failures, breaker_successes;
    int64_t breaker_open_ns;
    int64_t flush_budget_ns; /* a flush gives up waiting after this (0: never) */
    int64_t interval_ns;     /* an auto-flush period (0: none; the interval strategy's) */
    /* otel-batch (otel_batch.c). */
    uint32_t otel_max_queue, otel_max_batch;
    int64_t otel_delay_ns;
} exp_config;

#endif
