/*
 * The stages in front of the request path that read a request's headers: the
 * simulator's X-Edgeloss-* headers (who may use them, which values are
 * accepted) and the WAF (waf.h) that decides on the request before the ingest
 * sees it. Kept apart from the HTTP code so that the request path asks one
 * question per stage ("what do this request's headers say?", "what does the
 * WAF say?") and server.c does not grow them; a later stage (fault injection)
 * joins here too.
 *
 * Contract of the simulator's headers (hdr_sim_read):
 *  - The headers steer the ingest: X-Edgeloss-Time-Ns picks the time every
 *    decision uses (the cap window, the WAF's rate counters), X-Edgeloss-Run
 *    and X-Edgeloss-Attempt are recorded as the simulator's run id and
 *    attempt, X-Edgeloss-Upstream-Zone and X-Edgeloss-Colo are what the WAF
 *    reads as cf.worker.upstream_zone and cf.colo.id, X-Edgeloss-Route says
 *    whether the simulator sent the request through the zone's front (the WAF
 *    decides it) or straight to the origin (it does not). So they are honoured only
 *    when the server trusts the client (ing_options.trust_sim_headers, the
 *    binary's --trust-sim-headers). Untrusted, they are ignored without being
 *    looked at (the request gets the wall clock, no run id, no attempt, the
 *    upstream zone "", colo 0 and the route through the WAF), which keeps a real
 *    SDK that forwards unknown headers working and keeps a client from choosing
 *    its own rate counter or walking past the WAF.
 *  - Trusted, every value is checked in full; a header given twice, or a value
 *    out of range, refuses the request with 400 and a message naming the header
 *    and the accepted range:
 *      X-Edgeloss-Time-Ns        decimal digits only, 0 .. 9223372036854775807 (ns)
 *      X-Edgeloss-Attempt        decimal digits only, 0 .. 4294967295
 *      X-Edgeloss-Run            1 .. 255 bytes, each printable ASCII (0x20 .. 0x7e)
 *      X-Edgeloss-Upstream-Zone  1 .. 255 bytes, each printable ASCII but the
 *                                blank (0x21 .. 0x7e): a zone name, e.g. flare.dev
 *      X-Edgeloss-Colo           decimal digits only, 0 .. 4294967295
 *      X-Edgeloss-Route          waf or origin (lower case)
 *      X-Edgeloss-Fault          one fault the server does to this request
 *                                (OTLP requests only; the simulator decided it
 *                                applies): `status=N` (429, 500, 502, 503 or
 *                                504) with an optional `, retry_after=S` (429
 *                                and 503; 1 .. 86400 s); `too_large=N` (413
 *                                for a body of more than N bytes on the wire);
 *                                `drop_answer` (recorded and committed, then the
 *                                connection is closed unanswered)
 *    (the numbers and the route may be followed by blanks, the header's
 *    optional whitespace).
 *  - No allocation; `run` and `upstream_zone` in the result point into the
 *    header values, which the caller keeps alive (libmicrohttpd does, for the
 *    request's lifetime).
 *
 * Contract of the WAF stage (hdr_waf_*):
 *  - One per server, compiled from the config's "waf" text, with its own rate
 *    counters. Not thread-safe (the counters change with every decision): only
 *    the thread that handles requests (the one running libmicrohttpd) calls
 *    hdr_waf_decide, like waf_decide.
 *  - The request it sees: method, path, the query, every header (when the
 *    simulator's headers are trusted, the X-Edgeloss-* ones are the
 *    simulator's and not the request's: rules do not see them), Host as
 *    http.host, the peer address as ip.src, and from the simulator's headers
 *    the upstream zone and the colo. Its time is the request's, as the server
 *    computed it (virtual when trusted, else the wall clock); the counters
 *    saturate at the end of the range (waf_rate.h).
 *  - It reuses scratch buffers (allocation-free once warmed up, unless a rule
 *    acted: the acts are one malloc'd block the caller frees). Out of memory
 *    for the request's headers, it answers 503 (the WAF could not decide),
 *    never lets the request through unseen.
 */
#ifndef ING_HEADERS_H
#define ING_HEADERS_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HDR_TIME_NS       "X-Edgeloss-Time-Ns"
#define HDR_RUN           "X-Edgeloss-Run"
#define HDR_ATTEMPT       "X-Edgeloss-Attempt"
#define HDR_UPSTREAM_ZONE "X-Edgeloss-Upstream-Zone"
#define HDR_COLO          "X-Edgeloss-Colo"
#define HDR_ROUTE         "X-Edgeloss-Route"
#define HDR_FAULT         "X-Edgeloss-Fault"
#define HDR_PREFIX        "X-Edgeloss-" /* every simulator header, trusted as one */
/* A response header, sent to a trusted client only: the reason of a refusal (4xx, 5xx),
 * as its requests row records it (waf, cap, bad_key, ...). */
#define HDR_REASON "X-Edgeloss-Reason"

#define HDR_ATTEMPT_MAX 4294967295LL /* the simulator sends a uint32_t */
#define HDR_RUN_MAX     255
#define HDR_ZONE_MAX    255
#define HDR_COLO_MAX    4294967295LL

/*
 * Looks up a request header by name (case-insensitive): the first value, or
 * NULL when absent, and in *count how many times the header was given.
 */
typedef const char *(*hdr_lookup_fn)(void *ud, const char *name, unsigned *count);

/* How the simulator routed a request (X-Edgeloss-Route). */
typedef enum {
    HDR_ROUTE_WAF,    /* through the zone's front: the WAF decides it (also when absent) */
    HDR_ROUTE_ORIGIN, /* straight to the origin (e.g. an R2 binding): the WAF does not */
} hdr_route;

/* What X-Edgeloss-Fault asks the server to do to the request (hdr_sim.fault). */
typedef enum {
    HDR_FAULT_NONE,
    HDR_FAULT_STATUS,     /* answer `status` (and Retry-After), its items kept rejected */
    HDR_FAULT_TOO_LARGE,  /* answer 413 when the body has more than `max_bytes` on the wire */
    HDR_FAULT_DROP_ANSWER /* record and commit as usual, then close without an answer */
} hdr_fault_kind;

typedef struct hdr_fault {
    hdr_fault_kind kind;
    int status;            /* HDR_FAULT_STATUS */
    int64_t retry_after_s; /* HDR_FAULT_STATUS: -1 for none */
    int64_t max_bytes;     /* HDR_FAULT_TOO_LARGE */
} hdr_fault;

#define HDR_FAULT_MAX_BYTES   2147483647LL
#define HDR_FAULT_MAX_RETRY_S 86400

typedef struct hdr_sim {
    bool time_virtual;         /* X-Edgeloss-Time-Ns was honoured: time_ns is virtual */
    int64_t time_ns;           /* when time_virtual */
    const char *run;           /* X-Edgeloss-Run when honoured, else NULL */
    int64_t attempt;           /* X-Edgeloss-Attempt when honoured, else -1 */
    const char *upstream_zone; /* X-Edgeloss-Upstream-Zone when honoured, else "" */
    int64_t colo;              /* X-Edgeloss-Colo when honoured, else 0 */
    hdr_route route;           /* X-Edgeloss-Route when honoured, else HDR_ROUTE_WAF */
    hdr_fault fault;           /* X-Edgeloss-Fault when honoured, else HDR_FAULT_NONE */
    bool ignored;              /* untrusted, and at least one X-Edgeloss-* header was sent */
} hdr_sim;

/*
 * Reads the simulator's headers through `lookup`. Returns 0 with *out filled,
 * or 400 with *out reset to "nothing honoured" and a message in msg[msglen].
 */
int hdr_sim_read(bool trusted, hdr_lookup_fn lookup, void *ud, hdr_sim *out, char *msg,
                 size_t msglen);

/* ---------- the WAF stage ---------- */

typedef struct hdr_waf hdr_waf;

/* Called once per header (or query argument: value NULL when it has no '='), in order. */
typedef void (*hdr_visit_fn)(void *vud, const char *name, const char *value);
/* Visits every header (or query argument) of the request `ud`. */
typedef void (*hdr_each_fn)(void *ud, hdr_visit_fn visit, void *vud);

/*
 * Compiles the WAF from the config's "waf" text (config.h). NULL text: no WAF, *out NULL
 * and ING_OK. Else ING_OK, or ING_CONFIG / ING_NOMEM with a message.
 */
int hdr_waf_open(const char *waf_json, hdr_waf **out, char *err, size_t errlen);
void hdr_waf_close(hdr_waf *st); /* NULL is fine */

typedef struct hdr_waf_in {
    const char *method;
    const char *path; /* without the query */
    const char *ip;   /* the peer's address; NULL or "" when unknown */
    const hdr_sim *sim;
    bool trusted; /* the simulator's headers are honoured: hide them from the rules */
    int64_t t_ns; /* the request's time (>= 0) */
    hdr_each_fn each_header;
    hdr_each_fn each_query_arg;
    void *ud; /* passed to both */
} hdr_waf_in;

typedef struct hdr_waf_verdict {
    int status;               /* 0: the request goes on; else answer it with this status */
    const char *reason;       /* when status: "waf" (a rule blocked), "internal" (503) */
    const char *body;         /* when status: the answer, the rule's body (owned by the
                                 stage); NULL: answer with `message` as a status */
    const char *content_type; /* of body: application/json, text/html or text/plain */
    char message[192];        /* when status: for the request row, e.g. the rule's id */
    store_waf_act *acts;      /* the rules that acted, in order; one malloc'd block (NULL
                                 when none acted): the caller frees it */
    size_t nacts;
} hdr_waf_verdict;

/* The WAF's decision on one request (st may not be NULL). */
void hdr_waf_decide(hdr_waf *st, const hdr_waf_in *in, hdr_waf_verdict *out);

#endif
