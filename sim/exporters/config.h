/*
 * The host's exporter settings (scenario.c parses them from the "exporter" object): which
 * strategy, its configuration as its configure() parsed it (a built-in's from the exporter
 * object, a plugin's from exporter.options), the host's sending policy (retries, timeout,
 * service name) and the SDK's layer 1.
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
} exp_config;

#endif
