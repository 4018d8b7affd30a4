/*
 * The third seed's pipeline: a Worker that is itself the ingest (Flare's ingress), its
 * subrequests to zones and to an object store, and the origin that processes what it
 * was told about. Every hop is real HTTP (net.h, transport.h) to mock-ingest.
 *
 * Items. Each client request carries spans_per_request spans: ledger items of kind
 * "carried", created as the request starts on its isolate, held by the Worker (layer
 * "worker"). Their fate is still decided by the ledger joined with the ingest: they are
 * delivered only when the final store (mock-ingest's /v1/traces) recorded them; "late"
 * does not apply to them (their processing is asynchronous by design).
 *
 * Hops. A fetch step with a destination (scenario.h: `url`) is a hop named by the step:
 *  - "r2://KEY" is the object store binding: a PUT (or GET) of /r2/KEY, straight to the
 *    origin (a binding, not zone traffic: no WAF, no upstream zone);
 *  - "https://HOST/PATH" is a subrequest on HOST's zone: the Worker's zone as the upstream
 *    zone (the WAF's cf.worker.upstream_zone), the isolate's colo, and a route - through the
 *    zone's WAF or straight to the origin - from the zone's routing at that instant (the
 *    Worker's own zone goes through its WAF unless its routing says otherwise: the seed's
 *    surprise), unless the step says which.
 * A step's body is none, the request's carried spans (OTLP JSON), or a notification naming
 * the object the request last stored ({"object": KEY}). KEY and PATH may hold {request},
 * the request's id.
 * How a hop went is taken at its server (or where the runtime gave it up), whatever
 * becomes of its answer: a notification acknowledged there hands the items to the origin,
 * and so does a 2xx to an ingest endpoint for carried spans; any other answer is remembered
 * as the reason they may be lost there - rejected-by-waf when the ingest says its WAF
 * refused it, else lost-at-hop, the hop named as the drop's layer - until a later hop (an
 * on_error retry) does better. The program goes on either way, as Flare's did. Once handed
 * on, the spans are the origin's: later hops of the Worker send copies the ledger does not
 * follow. Work that outlives its request (a timer) has no spans to carry: such a fetch fails
 * at once with PL_NOTHING_TO_CARRY.
 * A job's GET may find the object replaced by a later PUT of the same key: the spans it no
 * longer holds are lost there (lost-at-hop, fetch-object).
 *
 * The origin. A notification the server acknowledged (its notify endpoint committed it)
 * queues a job at the origin at that instant, whatever becomes of the answer's way back:
 * after job_delay the origin's worker GETs the object (hop "fetch-object") and POSTs what
 * it read to store_path (hop "store"), both straight to the origin. A job whose object is
 * missing, or whose store is refused, loses its items there (lost-at-hop, or the ingest's
 * refusal). Jobs draw only from the pipeline's own stream.
 *
 * Requests. When a request ends, what it still held and never handed on is lost: items no
 * hop carried (lost-at-hop, layer "worker"), items stored but never notified about (an
 * orphaned object: lost-at-hop, the object store's hop). A request killed with its isolate
 * loses what it held as the isolate's death says (evicted-in-buffer ...); one over the CPU
 * limit, as cpu-limit.
 */
#ifndef SIM_PIPELINE_H
#define SIM_PIPELINE_H

#include "dist.h"
#include "engine.h"
#include "ledger.h"
#include "net.h"
#include "rng.h"
#include "runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { PL_BODY_NONE, PL_BODY_CARRIED, PL_BODY_NOTIFY } pl_body;
typedef enum { PL_VIA_ZONE, PL_VIA_WAF, PL_VIA_ORIGIN } pl_via;

/* From at_ns on, requests to the zone whose path starts with `path` (NULL: every path) go
 * through its WAF with probability waf_share (1: all, 0: none: straight to the origin). */
typedef struct pl_routing {
    int64_t at_ns;
    const char *path;
    double waf_share;
} pl_routing;

typedef struct pl_zone {
    const char *host; /* e.g. ingress.flare.dev */
    const pl_routing *routing;
    uint32_t nrouting; /* in the order given; the last that applies wins */
} pl_zone;

/* A fetch step's destination, compiled from the scenario (owned by it). */
typedef struct pl_fetch {
    const char *hop; /* the step's name */
    bool object;     /* r2://: the object store */
    const char *host;
    const char *path; /* "/r2/KEY" or "/PATH", with {request} left to fill */
    const char *method;
    pl_body body;
    pl_via via;
    int32_t zone; /* index into pl_config.zones, or -1 (a host with no zone: its WAF) */
} pl_fetch;

typedef struct pl_config {
    uint32_t spans_per_request;
    const char *worker_zone; /* the Worker's zone: every zone subrequest's upstream zone */
    const pl_zone *zones;
    uint32_t nzones;
    const pl_fetch *fetches; /* every fetch step with a destination, indexed by app_step */
    uint32_t nfetches;
    dist job_delay;         /* notification acknowledged -> the origin's worker takes the job */
    const char *store_path; /* where the origin stores spans: "/v1/traces" */
} pl_config;

typedef struct pipeline pipeline;

/* r draws the routing's shares and the jobs' delays. NULL on OOM. */
pipeline *pl_new(eng *e, rng *r, const pl_config *cfg, net *n, ledger *l);
void pl_free(pipeline *p);

/* The request starts on its isolate: its carried items are created, held by the Worker. */
void pl_request_starts(pipeline *p, rt *r, uint64_t request);

/* A carried-spans fetch from work that outlived its request (a timer): nothing to send. */
#define PL_NOTHING_TO_CARRY (-7)

/* How a hop's fetch ended, for the program: the status (net.h's negative ones when the
 * runtime refused it); tag is the caller's, given back. */
typedef void (*pl_done)(void *ud, uint64_t tag, rt *r, int status);

/* From inside a task: the fetch of destination `fetch` (an index into cfg.fetches) for the
 * running task's request. done runs on the isolate when the answer is back (never if the
 * isolate died). */
void pl_fetch_send(pipeline *p, rt *r, uint32_t fetch, pl_done done, void *ud, uint64_t tag);

/* Lifecycle (from the runtime's observer): the request ended, or was killed (cause: an
 * rt_evict, RT_END_OF_RUN, or RT_CPU_LIMIT). */
void pl_request_ended(pipeline *p, uint64_t request, int64_t t_ns);
void pl_request_killed(pipeline *p, uint64_t request, int cause, int64_t t_ns);

/* Handles EV_PIPE_JOB; false for other types. */
bool pl_handle(pipeline *p, const eng_event *ev);

/* The run is over at t_ns: jobs not taken are lost (stranded-at-end, layer "origin-queue"),
 * and so are those whose GET or store is under way ("fetch-object", "store") unless the
 * store already reached the ingest. Call before net_end. */
void pl_end(pipeline *p, int64_t t_ns);

typedef struct pl_stats {
    uint64_t carried; /* items created (a work budget counts them) */
} pl_stats;
const pl_stats *pl_get_stats(const pipeline *p);

#endif
