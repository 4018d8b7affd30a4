/*
 * Real HTTP for the simulation (the only libcurl user in the simulator).
 *
 * Every export the simulated exporters make is a real POST, made
 * synchronously at the virtual instant the request reaches the ingest. By
 * default the ingest is mock-ingest embedded in this process, driven from
 * this thread (ING_RUN_EXTERNAL): libcurl and the server take turns on one
 * core, which on a 2-core machine is several times faster than a round trip
 * between two threads. With a URL, an external ingest is used instead.
 *
 * A transport failure is a harness error, never a simulated fate: network
 * faults are modelled by the network layer, not produced by the host.
 */
#ifndef SIM_TRANSPORT_H
#define SIM_TRANSPORT_H

#include "error.h"
#include <stddef.h>
#include <stdint.h>

typedef struct transport_config {
    const char *url;         /* external ingest base URL; NULL: embed mock-ingest */
    const char *ingest_db;   /* embedded: the database file to create */
    const char *ingest_json; /* embedded: mock-ingest config as JSON text, or NULL */
    const char *api_key;     /* sent as Authorization: Bearer KEY, or NULL */
    const char *run_id;      /* sent as X-Edgeloss-Run */
} transport_config;

typedef struct transport_result {
    int status;            /* HTTP status */
    int64_t retry_after_s; /* Retry-After in seconds, -1 when absent */
} transport_result;

typedef struct transport transport;

/* Returns SIM_OK, or SIM_EINGEST with a message (the embedded ingest could not start). */
sim_err transport_open(const transport_config *cfg, transport **out, char *err, size_t errlen);
/* Returns SIM_OK with the status, or SIM_EINGEST (a harness error) with a message. */
sim_err transport_post(transport *t, const char *path, const char *body, size_t len,
                       int64_t time_ns, uint32_t attempt, transport_result *res, char *err,
                       size_t errlen);
const char *transport_url(const transport *t);
/* Closes the connection and, when embedded, the ingest (which commits). */
void transport_close(transport *t);

#endif
