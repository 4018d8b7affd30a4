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
 * faults are modelled by the network layer (net.h, fault.h), not produced by the host.
 * The one exception is asked for: a request sent with the ingest fault drop_answer is
 * committed and left unanswered by the server, and its missing answer is a result
 * (transport_result.no_answer), not an error.
 */
#ifndef SIM_TRANSPORT_H
#define SIM_TRANSPORT_H

#include "error.h"
#include <stdbool.h>
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
    /* The response's body (transport_send with want_body): owned by the transport, valid
     * until its next request; NULL and 0 otherwise. */
    const char *body;
    size_t body_len;
    /* The ingest's trusted X-Edgeloss-Reason (why it refused: "waf", "cap", ...), else "". */
    char reason[24];
    /* The request asked for drop_answer and the server closed the connection without an
     * answer, as asked; status is then 200: it drops only a 2xx answer, after the commit. */
    bool no_answer;
} transport_result;

/* The largest response body kept (a bigger one is a harness error: no simulated server
 * answers that much). */
#define TRANSPORT_BODY_MAX (64u << 20)

/*
 * One request, as the simulated network sends it. Every request carries the simulator's
 * virtual time, run id and attempt; the rest is per destination (a fetch's url on a zone,
 * or an object store binding):
 *   method        "POST" (NULL), "PUT" or "GET" (no body sent)
 *   host          the Host header (NULL: the ingest's address), what a WAF sees as http.host
 *   upstream_zone the zone of the Worker that made the request (NULL: not a Worker's
 *                 subrequest), the WAF's cf.worker.upstream_zone
 *   colo          the data center it went through (-1: not said), the WAF's cf.colo.id
 *   route         "waf" or "origin": whether it went through the zone's front (NULL: not
 *                 said: the ingest's default, through its WAF if it has one)
 *   content_type  NULL: application/json
 *   fault         the X-Edgeloss-Fault value (fault.h flt_arrival.header; NULL or "": none)
 */
typedef struct transport_req {
    const char *method;
    const char *path;
    const char *body;
    size_t len;
    const char *content_type;
    int64_t time_ns;
    uint32_t attempt;
    const char *host;
    const char *upstream_zone;
    int64_t colo;
    const char *route;
    const char *fault;
    bool want_body;
} transport_req;

typedef struct transport transport;

/* Returns SIM_OK, or SIM_EINGEST with a message (the embedded ingest could not start). */
sim_err transport_open(const transport_config *cfg, transport **out, char *err, size_t errlen);
/* Returns SIM_OK with the status, or SIM_EINGEST (a harness error) with a message. */
sim_err transport_send(transport *t, const transport_req *req, transport_result *res, char *err,
                       size_t errlen);
/* A POST of OTLP JSON (transport_send with the defaults). */
sim_err transport_post(transport *t, const char *path, const char *body, size_t len,
                       int64_t time_ns, uint32_t attempt, transport_result *res, char *err,
                       size_t errlen);
const char *transport_url(const transport *t);
/* Closes the connection and, when embedded, the ingest (which commits). */
void transport_close(transport *t);

#endif
