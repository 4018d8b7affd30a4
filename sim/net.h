/*
 * The simulated network between isolates and the ingest.
 *
 * fetch() from inside a task draws a one-way latency; when the request
 * reaches the ingest (an engine event) it is sent for real (transport.h) at
 * that virtual instant, the attempt and its items are written to the ledger,
 * and the response travels back for another drawn latency. If the isolate
 * died in between, the response is lost, not the delivery: the continuation
 * never runs. Otherwise it runs as a C task on the isolate's thread.
 * Requests are sent one at a time, in event order.
 *
 * Every fetch is a subrequest of the sending task's request (runtime.h): past
 * the request's subrequest limit it fails at once, nothing sent, with the
 * status NET_REFUSED_SUBREQUESTS; past its open connections it waits for one
 * to close (the response's arrival closes it). If the request is terminated
 * by the CPU limit while its fetch waits, the fetch fails with
 * NET_CANCELLED_CPU, and when its waitUntil budget runs out then, with
 * NET_CANCELLED_DEADLINE: it never left. A fetch already sent (it had its
 * connection and its request was written) is processed by its server when it
 * arrives, whatever happened to its request meanwhile. If the isolate dies, the
 * unsent fetch is lost with it.
 *
 * A component outside the isolates (a queue's consumer) posts with net_post_direct: the
 * same latencies and the same real send, without any of the isolate's limits.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "dist.h"
#include "engine.h"
#include "fault.h"
#include "ledger.h"
#include "rng.h"
#include "runtime.h"
#include "transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct net_config {
    dist latency; /* one way; a round trip draws twice */
} net_config;

/* Statuses of fetches that never reached the ingest (the runtime refused them). */
#define NET_REFUSED_SUBREQUESTS (-2) /* "Too many subrequests." */
#define NET_CANCELLED_CPU       (-3) /* the request was terminated while the fetch waited */
#define NET_CANCELLED_DEADLINE  (-4) /* its waitUntil budget ran out while the fetch waited */
#define NET_DIED_WAITING        (-5) /* its isolate died while it waited for a connection */
#define NET_STRANDED            (-6) /* the run ended while it was on its way */
/* A network fault (fault.h): fetch() rejects with a network error ("Network connection
 * lost"): refused, reset, timed out, lost in a partition or on a lossy link, or its answer
 * never came back (the ingest may have committed it: drop_answer, a partition on the way
 * back). */
#define NET_NETWORK_ERROR (-7)

/* A longer Retry-After is taken as this (1e9 s, about 31 years: past any run's end). */
#define NET_RETRY_AFTER_MAX_S 1000000000LL

typedef struct net_response {
    int status;
    int64_t retry_after_s; /* -1: none; else 0..NET_RETRY_AFTER_MAX_S */
    int64_t sent_ns;       /* when the request reached the ingest */
    /* With net_dest.want_body: the response's body, the network's, valid during the done
     * callback only (NULL and 0 otherwise). */
    const char *body;
    size_t body_len;
    /* Why the ingest refused it, when it says (its trusted X-Edgeloss-Reason: "waf", "cap",
     * ...): explanation only, never a fate. "" when it did not. */
    char reason[24];
} net_response;

/*
 * Where a request goes beyond the ingest's OTLP paths (transport.h, transport_req): the
 * method, the Host a WAF sees, the Worker zone it is a subrequest of, the content type,
 * whether the caller reads the answer's body. Owned by the caller (a scenario's compiled
 * destination), alive for the run. NULL in a net_request: a POST of OTLP JSON.
 * From an isolate, with_colo sends the isolate's colo as the WAF's cf.colo.id.
 */
typedef struct net_dest {
    const char *method;
    const char *host;
    const char *upstream_zone;
    const char *content_type;
    bool want_body;
    bool with_colo;
    /* Called once per request to this destination: when it reached its server and was
     * answered, at that instant (the server's side of the exchange: what it committed,
     * whatever becomes of the answer's trip back), or when it will never reach it (refused
     * or cancelled before it left, its isolate died while it waited for a connection, the
     * run ended while it was on its way: a negative status), with the sender's request, the
     * request's ref and items. NULL: none. */
    void (*arrived)(void *ud, uint64_t request, const char *ref, const uint64_t *items,
                    size_t nitems, const net_response *resp);
    void *arrived_ud;
} net_dest;

typedef void (*net_done)(void *ud, rt *r, const net_response *resp);

typedef struct net_request {
    const char *path;
    char *body; /* malloc'd; the network takes it */
    size_t len;
    uint32_t attempt;      /* 1 for the first try */
    const uint64_t *items; /* ledger numbers of the items it carries (copied) */
    size_t nitems;
    net_done done; /* runs on the isolate's thread, unless the isolate died */
    void *ud;
    uint64_t sent_for;    /* the request its payload says it was sent for (0: none): the ledger's */
    const net_dest *dest; /* NULL: a POST of OTLP JSON to the ingest */
    const char *route;    /* "waf", "origin" or NULL (transport_req.route), a static string */
    const char *hop;      /* the pipeline hop it is (ledger attempts.hop), static; or NULL */
    const char *ref;      /* what it refers to (an object's key; copied), or NULL */
    bool keeps_items;     /* the caller accounts for the items' losses (the pipeline): the
                             network records them in attempts but never drops them */
    /* The sender aborts the fetch this long after net_fetch (AbortSignal.timeout; 0: never):
     * it rejects then with NET_NETWORK_ERROR if no answer came first. Aborted on its way out,
     * it never reaches its server; aborted later, its server may have processed it (and sees
     * it go: drop_answer). Still waiting for a connection then, it leaves the queue and
     * rejects at that instant, never sent (EV_FETCH_TIMEOUT). */
    int64_t timeout_ns;
    /* net_send_direct: it leaves at this instant, when that is later than the engine's now
     * (a component acting for a task's time inside a segment); 0: now. */
    int64_t at_ns;
} net_request;

typedef struct net net;

/* t NULL: no ingest (the ledger's memory mode): every POST that arrives is answered 200. */
net *net_new(eng *e, rng *network_rng, const net_config *cfg, transport *t, ledger *l);
void net_free(net *n);
/*
 * The scenario's fault rules (fault.h), borrowed; NULL: none. Network faults act on every
 * request; ingest faults on the ingest's OTLP paths (POSTs to /v1/...). A request failed by
 * the network never reaches its server: its attempt is written with status
 * NET_NETWORK_ERROR at the instant it failed, its destination hears it never arrived, and
 * its fetch rejects with NET_NETWORK_ERROR after a round trip (refused, reset), when the
 * rule's after_ns has passed since it left (timeout, loss, partition), or never (after_ns
 * 0: it hangs, holding its connection; what it carried is lost as network-error from
 * "in-flight" at the instant it was lost, written at net_end). A request whose answer is
 * lost (drop_answer, a partition on the way back) was processed by its server: its
 * attempt's status is what its sender saw, NET_NETWORK_ERROR.
 */
void net_set_faults(net *n, flt *faults);
/* From inside a task (the sender's request and isolate are taken from it). */
void net_fetch(net *n, rt *r, net_request *req);

/*
 * A POST from a component outside the isolates (a queue's consumer). It leaves now
 * (eng_now), arrives after a latency draw and is sent for real then, its attempt and items
 * written to the ledger with request 0 and isolate 0; its answer comes back after another
 * draw to done(ud, resp), called from net_handle. No isolate, no connection limit, no
 * subrequest count: nothing can refuse or cancel it, so resp->status is always the
 * ingest's. body is malloc'd and taken; items are copied.
 */
typedef void (*net_direct_done)(void *ud, const net_response *resp);
/* Its latencies are drawn from `draws`, the sender's stream, so that a component's POSTs do
 * not shift the isolates' draws. */
void net_post_direct(net *n, rng *draws, const char *path, char *body, size_t len, uint32_t attempt,
                     const uint64_t *items, size_t nitems, net_direct_done done, void *ud);
/* The same to a destination (a GET of an object, a PUT): req's dest, route, hop and ref;
 * its done and sent_for are not used. */
void net_send_direct(net *n, rng *draws, net_request *req, net_direct_done done, void *ud);
/* The run is over at t_ns: what is still on its way to the ingest (it left, and arrives past
 * the end, where no event pops) is lost as stranded-at-end from "in-flight"; its records go.
 * Call after the runtime and the queue have ended (rt_end, queue_end). */
void net_end(net *n, int64_t t_ns);

/* Handles EV_FETCH_ARRIVE, EV_FETCH_DONE and EV_FETCH_TIMEOUT; false for other types. r may
 * be NULL when no fetch came from an isolate (only net_post_direct was used: then no
 * EV_FETCH_TIMEOUT is ever scheduled, as only a fetch queued for a connection has one). */
bool net_handle(net *n, rt *r, const eng_event *ev);
/* A harness error (a real transport failure) stops the run: the message, or NULL. */
const char *net_error(const net *n);
uint64_t net_requests(const net *n);

#endif
