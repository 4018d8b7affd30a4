/*
 * The HTTP side of mock-ingest (the only libmicrohttpd user).
 *
 * libmicrohttpd runs in "external" epoll mode, pumped by ing_server_pump():
 * from the server's own HTTP thread (ING_RUN_THREAD) or from the caller's
 * loop (ING_RUN_EXTERNAL). Requests refused on their headers are answered at
 * once, the WAF's blocks among them (the WAF stage, headers.h, runs first on
 * every request but GET /stats and those the simulator routed to the origin,
 * on this thread only). A complete body (OTLP, a notification, an object to
 * store) is decoded on this thread, then its connection is suspended and the
 * request handed to the writer (writer.h), which admits, records and commits
 * it with whatever else is queued, and only then resumes the connection with
 * its answer: a 2xx always follows its commit. An object GET goes through the
 * writer too, which reads it in queue order: it sees every PUT before it.
 *
 * In ING_RUN_THREAD the writer has its own thread and each request is handed
 * over as soon as it is decoded, not at the end of the loop turn: the writer
 * records the first requests of a burst while this thread decodes the rest,
 * and those form the next group. Handing over a whole turn at once made the
 * two threads take turns (all connections decoded, then all committed, then
 * all answered), so one of them was always idle. Embedded (ING_RUN_EXTERNAL)
 * the pump drains the writer inline after the turn, because the simulator
 * sends one request at a time and a cross-thread hand-off would only add
 * wake-ups.
 */
#define _GNU_SOURCE /* POLLRDHUP: whether the peer closed before its answer (peer_gone) */
#include "ingest.h"

#include "buf.h"
#include "config.h"
#include "conntrack.h"
#include "gunzip.h"
#include "headers.h"
#include "objects.h"
#include "otlp.h"
#include "otlp_pb.h"
#include "policy.h"
#include "store.h"
#include "writer.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

const char *ing_strerror(int err)
{
    switch (err) {
#define ING_ERR_MSG(name, msg)                                                                     \
    case ING_##name:                                                                               \
        return msg;
        ING_ERR_MAP(ING_ERR_MSG)
#undef ING_ERR_MSG
    }
    return "unknown error";
}

typedef enum {
    ROUTE_TRACES,
    ROUTE_METRICS,
    ROUTE_LOGS,
    ROUTE_STATS,
    ROUTE_OBJECT, /* the object store, GET and PUT /r2/KEY (objects.h) */
    ROUTE_NOTIFY, /* a configured notification endpoint (config.h, "notify") */
    ROUTE_HEALTH, /* GET or HEAD /: a health check, not recorded */
    ROUTE_NONE
} route;

typedef struct conn conn;

struct ing_server {
    /* Connections closed for drop_answer whose "internal error" line libmicrohttpd has yet
     * to log: it is the fault working, not a failure (log_line drops it). Touched only by
     * the thread that runs the daemon, which calls the logger from inside its processing. */
    unsigned drops_unlogged;
    struct MHD_Daemon *d;
    ing_store *st;
    ing_policy *pol;
    ing_writer *w;
    ing_config *cfg;
    hdr_waf *waf; /* NULL: no WAF; used on the HTTP thread only (headers.h) */
    ing_run_mode mode;
    bool trust_sim_headers; /* honour X-Edgeloss-* (headers.h) */
    bool told_untrusted;    /* the one note that they were ignored has been printed */
    uint16_t port;
    char url[64];
    int epoll_fd;
    int wake_fd; /* eventfd: the writer and close() wake the HTTP thread */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    ing_buf inflated;  /* HTTP-thread scratch */
    uint64_t progress; /* handler calls so far: a pump runs libmicrohttpd while this moves */
    ct_table *ct;      /* every open connection and its deadlines (conntrack.h) */
    /* Bytes of bodies and decoded requests held now, against memory_budget_bytes: taken on
     * the HTTP thread, given back there or on the writer's (conn_done). */
    atomic_size_t held;
    bool trim_due;   /* a burst held memory: give it back to the system once idle */
    int64_t busy_ns; /* the last pump that saw memory held */
};

/* One HTTP request (libmicrohttpd's per-request closure). */
struct conn {
    ing_server *srv;
    struct MHD_Connection *mc;
    route rt;
    bool answered; /* response decided; queue it on the next call */
    bool suspended;
    bool queued; /* the response has been handed to libmicrohttpd */
    int status;
    int64_t retry_after_s;
    ing_buf body;
    ing_buf resp;
    const char *resp_type;     /* the answer's Content-Type; NULL: application/json */
    const char *resp_encoding; /* the answer's Content-Encoding (a stored object's); NULL: none */
    store_request rec;
    store_object object;              /* a PUT /r2/KEY: what it stores */
    char notify_key[OBJ_KEY_MAX + 1]; /* a notification: the object it names */
    ing_job job;                      /* while suspended: owned by the writer */
    ct_conn *tc;        /* its connection's deadlines; NULL once the connection closed */
    ing_ticket *ticket; /* its row, for how its answer ended (writer_ack); NULL: no row */
    bool unrecorded;    /* a health check or a preflight: no row */
    bool pb;            /* an OTLP request in protobuf: decoded and answered in protobuf */
    bool answer_now;    /* decided on its headers and the body must not be read */
    bool close_after;   /* Connection: close (over the connection limit, a bad framing) */
    bool peer_gone;     /* the peer had closed when its answer was queued */
    const char *ended;  /* why the server ended it (a deadline), for requests.ended */
    hdr_fault fault;    /* X-Edgeloss-Fault of an OTLP request (trusted only) */
    size_t discarded;   /* body bytes read and dropped after the answer was decided */
    size_t body_held;   /* of srv->held: c->body's capacity */
    size_t batch_held;  /* of srv->held: the decoded batch's footprint */
    char key[256];
    char client[64]; /* peer address: the sender a keyless cap counts */
    char message[256];
};

/*
 * A request answered before the writer saw it (refused on its headers or
 * for its size): its row is recorded later, from copies, because the
 * connection may be gone by then.
 */
typedef struct detached {
    ing_job job;
    store_request rec;
    char text[STORE_REQUEST_TEXT];
} detached;

static int64_t wall_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The deadlines' clock (conntrack.h): real clients' time, never a run's. */
static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Takes n bytes of the memory budget; false when they are not there. */
static bool hold(ing_server *srv, size_t n)
{
    size_t budget = srv->cfg->memory_budget_bytes;
    size_t cur = atomic_load(&srv->held);
    do {
        if (n > budget || cur > budget - n)
            return false;
    } while (!atomic_compare_exchange_weak(&srv->held, &cur, cur + n));
    return true;
}

static void release(ing_server *srv, size_t *n)
{
    atomic_fetch_sub(&srv->held, *n);
    *n = 0;
}

/* Frees a request's body and gives its memory back to the budget. */
static void drop_body(conn *c)
{
    ing_buf_free(&c->body);
    release(c->srv, &c->body_held);
}

static const char *header(struct MHD_Connection *mc, const char *name)
{
    return MHD_lookup_connection_value(mc, MHD_HEADER_KIND, name);
}

static bool parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* google.rpc.Status code for an HTTP error status, as OTLP asks for error bodies. */
static int rpc_code(int status)
{
    switch (status) {
    case 400:
    case 413:
        return 3; /* INVALID_ARGUMENT */
    case 401:
        return 16; /* UNAUTHENTICATED */
    case 403:
    case 429:
        return 8; /* RESOURCE_EXHAUSTED: the cap, a WAF rate limit */
    case 404:
        return 5;
    case 405:
    case 415:
        return 12; /* UNIMPLEMENTED */
    case 503:
        return 14;
    default:
        return 13;
    }
}

/* Decides the outcome recorded for the request (its row's status, reason, message). */
static void decide(conn *c, int status, const char *reason, const char *message)
{
    c->status = status;
    c->rec.status = status;
    c->rec.reason = reason;
    if (message) {
        snprintf(c->message, sizeof c->message, "%s", message);
        c->rec.message = c->message;
    } else {
        c->rec.message = NULL;
    }
}

/* The Content-Type of a protobuf answer (OTLP/HTTP's binary encoding). */
#define PB_CONTENT_TYPE "application/x-protobuf"

/* Decides an error answer and its body; the request row records the same. */
static void set_error(conn *c, int status, const char *reason, const char *message)
{
    decide(c, status, reason, message);
    ing_buf_reset(&c->resp);
    c->answered = true;
    if (c->pb) {
        /* OTLP/HTTP: an error body is a google.rpc.Status in the request's encoding. */
        c->resp_type = PB_CONTENT_TYPE;
        if (otlp_encode_pb_status(rpc_code(status), message ? message : "", &c->resp))
            ing_buf_reset(&c->resp); /* out of memory: the status alone still says it */
        return;
    }
    ing_buf_printf(&c->resp, "{\"code\":%d,\"message\":", rpc_code(status));
    ing_buf_json_str(&c->resp, message ? message : "");
    ing_buf_putc(&c->resp, '}');
}

static route route_of(const ing_server *srv, struct MHD_Connection *mc, const char *url)
{
    /* The notify entries first: one may take an OTLP path for the requests to its host
     * (config.h), while other hosts still reach the OTLP endpoint. */
    if (ing_config_is_notify(srv->cfg, url, header(mc, MHD_HTTP_HEADER_HOST)))
        return ROUTE_NOTIFY;
    if (strncmp(url, OBJ_PREFIX, sizeof OBJ_PREFIX - 1) == 0)
        return ROUTE_OBJECT;
    if (strcmp(url, "/") == 0)
        return ROUTE_HEALTH;
    /* One trailing slash is accepted: an SDK given an endpoint ending in "/" appends
     * "v1/traces" to it, and some joins leave "/v1/traces/". */
    static const char *const p[] = {"/v1/traces", "/v1/metrics", "/v1/logs", "/stats"};
    size_t len = strlen(url);
    if (len > 1 && url[len - 1] == '/')
        len--;
    for (route r = ROUTE_TRACES; r <= ROUTE_STATS; r++)
        if (strlen(p[r]) == len && strncmp(url, p[r], len) == 0)
            return r;
    return ROUTE_NONE;
}

/* The object key of a /r2/KEY path. */
static const char *object_key(const char *path)
{
    return path + sizeof OBJ_PREFIX - 1;
}

/*
 * requests.route: "origin" when the simulator sent the request past the zone's front
 * (trusted X-Edgeloss-Route: origin; the WAF did not decide it), "waf" when the WAF decided
 * it, NULL when nothing stood in front (no WAF configured). So waf_decisions rows belong to
 * "waf" requests only.
 */
static const char *route_name(const ing_server *srv, const hdr_sim *sim)
{
    if (sim->route == HDR_ROUTE_ORIGIN)
        return "origin";
    return srv->waf ? "waf" : NULL;
}

/*
 * Gives a job to the writer now: its thread (ING_RUN_THREAD) starts on it
 * while this thread decodes the next request; inline, the pump drains it
 * after the turn.
 */
static void hand_over(ing_server *srv, ing_job *job)
{
    job->next = NULL;
    writer_submit(srv->w, job);
}

static void detached_done(ing_job *job)
{
    detached *d = job->ud;
    free((void *)d->rec.waf_acts);
    free(d);
}

/* Queues the row of a request already answered (no items, a non-2xx status). */
static void record_detached(conn *c)
{
    detached *d = calloc(1, sizeof *d);
    if (!d)
        return; /* only the record of a refusal is lost, never an acknowledged item */
    store_request_copy(&d->rec, &c->rec, d->text, sizeof d->text);
    c->rec.waf_acts = NULL; /* the detached row owns them now */
    c->rec.waf_nacts = 0;
    d->rec.object = NULL; /* refused: it stores nothing and notifies nothing */
    d->rec.notify_object = NULL;
    d->job.rec = &d->rec;
    d->job.done = detached_done;
    d->job.ud = d;
    c->ticket = writer_ticket_new(c->srv->w); /* how its answer ends comes later */
    d->job.ticket = c->ticket;
    hand_over(c->srv, &d->job);
}

typedef struct header_count {
    const char *name;
    unsigned n;
    const char *first; /* when set: whether another value differs from it */
    bool differ;
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    (void)value;
    header_count *hc = cls;
    if (key && strcasecmp(key, hc->name) == 0) {
        hc->n++;
        if (hc->first && value && strcmp(value, hc->first) != 0)
            hc->differ = true;
    }
    return MHD_YES;
}

/* hdr_lookup_fn over libmicrohttpd: the first value, and how often it was sent. */
static const char *lookup_header(void *ud, const char *name, unsigned *count)
{
    struct MHD_Connection *mc = ud;
    header_count hc = {name, 0, NULL, false};
    MHD_get_connection_values(mc, MHD_HEADER_KIND, count_header, &hc);
    *count = hc.n;
    return header(mc, name);
}

typedef struct visit_ctx {
    hdr_visit_fn visit;
    void *vud;
} visit_ctx;

static enum MHD_Result visit_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    visit_ctx *v = cls;
    v->visit(v->vud, key, value);
    return MHD_YES;
}

/* hdr_each_fn over libmicrohttpd: every header, every query argument. */
static void each_header(void *ud, hdr_visit_fn visit, void *vud)
{
    visit_ctx v = {visit, vud};
    MHD_get_connection_values(ud, MHD_HEADER_KIND, visit_value, &v);
}

static void each_query_arg(void *ud, hdr_visit_fn visit, void *vud)
{
    visit_ctx v = {visit, vud};
    MHD_get_connection_values(ud, MHD_GET_ARGUMENT_KIND, visit_value, &v);
}

/* Answers a request the WAF stage refused: the rule's status and body. */
static void refuse_waf(conn *c, const hdr_waf_verdict *v)
{
    if (!v->body) {
        set_error(c, v->status, v->reason, v->message);
        return;
    }
    decide(c, v->status, v->reason, v->message);
    ing_buf_reset(&c->resp);
    ing_buf_puts(&c->resp, v->body);
    c->resp_type = v->content_type;
    c->answered = true;
}

/* The peer's numeric address into out[len] ("" when libmicrohttpd does not know it). */
static void client_address(struct MHD_Connection *mc, char *out, size_t len)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET) {
        struct sockaddr_in in4;
        memcpy(&in4, sa, sizeof in4);
        inet_ntop(AF_INET, &in4.sin_addr, out, (socklen_t)len);
    } else if (sa && sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        inet_ntop(AF_INET6, &in6.sin6_addr, out, (socklen_t)len);
    }
}

/*
 * Counts c->body's growth against the memory budget. Past it, the body is dropped and the
 * request refused with 503 and Retry-After: other requests hold the memory now, and the same
 * request fits once they are recorded.
 */
static bool account_body(conn *c)
{
    if (c->body.cap <= c->body_held)
        return true;
    size_t more = c->body.cap - c->body_held;
    if (hold(c->srv, more)) {
        c->body_held += more;
        return true;
    }
    drop_body(c);
    set_error(c, 503, "memory_budget",
              "the server's memory budget is held by other requests; retry");
    c->retry_after_s = 1;
    return false;
}

/*
 * Refuses a body announced over the limit (413) before it is read; else reserves room for it
 * (one allocation instead of doublings). A chunked upload has no Content-Length: the upload
 * path checks it as it grows.
 */
static void check_length(conn *c)
{
    int64_t clen = 0;
    if (parse_int64(header(c->mc, MHD_HTTP_HEADER_CONTENT_LENGTH), &clen) &&
        (uint64_t)clen > c->srv->cfg->max_body_bytes) {
        set_error(c, 413, "too_large", "body exceeds the size limit");
        c->rec.bytes_wire = clen; /* announced, not read: what the client tried to send */
        return;
    }
    if (clen > 0 && ing_buf_reserve(&c->body, (size_t)clen))
        account_body(c);
}

/* A body the ingest decodes (OTLP, notifications) may be gzip; nothing else is understood. */
static bool check_encoding(conn *c)
{
    const char *ce = c->rec.content_encoding;
    if (ce && strcasecmp(ce, "gzip") != 0 && strcasecmp(ce, "identity") != 0) {
        set_error(c, 415, "unsupported_encoding", "Content-Encoding must be gzip or identity");
        return false;
    }
    return true;
}

/* Whether a Content-Type names `type`, parameters (";charset=...") aside, in any case. */
static bool media_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* OTLP/HTTP's binary encoding, by either name SDKs send. */
static bool is_protobuf(const char *ct)
{
    return media_type_is(ct, "application/x-protobuf") || media_type_is(ct, "application/protobuf");
}

/* An OTLP request's headers: method, content type and encoding, the API key, the size. */
static void check_otlp(conn *c, const char *method)
{
    store_request *r = &c->rec;
    if (strcmp(method, "POST") != 0) {
        set_error(c, 405, "method_not_allowed", "OTLP/HTTP endpoints accept POST only");
        return;
    }
    if (!c->pb && !media_type_is(r->content_type, "application/json")) {
        set_error(c, 415, "unsupported_media_type",
                  "Content-Type must be application/json or application/x-protobuf (OTLP/HTTP)");
        return;
    }
    if (!check_encoding(c))
        return;
    policy_verdict v;
    int refused = policy_auth(c->srv->pol, header(c->mc, MHD_HTTP_HEADER_AUTHORIZATION), c->key,
                              sizeof c->key, &v);
    /* Recorded on a 401 too: which key was refused is what a user looks for. (Caps count
     * the accepted items of 2xx rows only.) */
    if (c->key[0])
        r->api_key = c->key;
    if (refused) {
        set_error(c, v.status, v.reason, v.message);
        return;
    }
    check_length(c);
}

/*
 * An object store request's headers: GET or PUT, a key the store accepts, the size. No API
 * key (keys guard the OTLP ingest; R2 is the Worker's binding) and any type and encoding:
 * the bytes are stored as received.
 */
static void check_object(conn *c, const char *method)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0) {
        set_error(c, 405, "method_not_allowed", OBJ_PREFIX "KEY accepts GET and PUT");
        return;
    }
    char msg[192];
    if (!obj_key_ok(object_key(c->rec.path), msg, sizeof msg)) {
        set_error(c, 400, "bad_key", msg);
        return;
    }
    check_length(c);
}

/*
 * A notification's headers: POST, an encoding the ingest can decode, the size. No API key
 * (the origin's own endpoint) and any Content-Type: the body is read as JSON whatever it
 * says, as an origin's handler calling JSON.parse would.
 */
static void check_notify(conn *c, const char *method)
{
    if (strcmp(method, "POST") != 0) {
        set_error(c, 405, "method_not_allowed", "notification endpoints accept POST only");
        return;
    }
    if (check_encoding(c))
        check_length(c);
}

/*
 * Two Content-Length headers that disagree leave the body's end ambiguous (the way requests
 * are smuggled past a proxy): refused with 400, and the connection closed without reading a
 * body whose length is unknown. Equal repeats are one length (RFC 9110, 8.6).
 */
static bool framing_ok(conn *c)
{
    unsigned n = 0;
    const char *first = lookup_header(c->mc, MHD_HTTP_HEADER_CONTENT_LENGTH, &n);
    if (n < 2)
        return true;
    header_count hc = {MHD_HTTP_HEADER_CONTENT_LENGTH, 0, first, false};
    MHD_get_connection_values(c->mc, MHD_HEADER_KIND, count_header, &hc);
    if (!hc.differ)
        return true;
    set_error(c, 400, "bad_header", "conflicting Content-Length headers");
    c->answer_now = true;
    c->close_after = true;
    return false;
}

/*
 * What is not an export, answered on its headers and not recorded: a health check (GET /,
 * HEAD on / or an OTLP path, as load balancers and SDK readiness checks send) and, with
 * "cors" configured, a browser's preflight. True when it was one of them.
 */
static bool answer_probe(conn *c, const char *method)
{
    bool otlp = c->rt == ROUTE_TRACES || c->rt == ROUTE_METRICS || c->rt == ROUTE_LOGS;
    bool health = (c->rt == ROUTE_HEALTH && strcmp(method, "GET") == 0) ||
                  ((c->rt == ROUTE_HEALTH || otlp) && strcmp(method, "HEAD") == 0);
    bool preflight = c->srv->cfg->cors && strcmp(method, "OPTIONS") == 0 &&
                     header(c->mc, "Origin") && header(c->mc, "Access-Control-Request-Method");
    if (!health && !preflight)
        return false;
    c->unrecorded = true;
    c->answered = true;
    c->status = preflight ? 204 : 200;
    ing_buf_reset(&c->resp);
    if (health)
        ing_buf_puts(&c->resp, "{\"status\":\"ok\",\"service\":\"mock-ingest\"}");
    return true;
}

static void on_headers(conn *c, const char *url, const char *method)
{
    struct MHD_Connection *mc = c->mc;
    ing_server *srv = c->srv;
    store_request *r = &c->rec;
    r->wall_ns = wall_now_ns();
    r->time_ns = r->wall_ns;
    r->method = method;
    r->path = url;
    r->attempt = -1;
    r->status = 200;
    r->content_type = header(mc, MHD_HTTP_HEADER_CONTENT_TYPE);
    r->content_encoding = header(mc, MHD_HTTP_HEADER_CONTENT_ENCODING);
    client_address(mc, c->client, sizeof c->client);
    r->client = c->client[0] ? c->client : NULL;
    c->rt = route_of(srv, mc, url);
    /* From here on its errors are answered in its encoding (set_error). */
    c->pb = (c->rt == ROUTE_TRACES || c->rt == ROUTE_METRICS || c->rt == ROUTE_LOGS) &&
            is_protobuf(r->content_type);

    hdr_sim sim;
    char msg[256];
    if (hdr_sim_read(srv->trust_sim_headers, lookup_header, mc, &sim, msg, sizeof msg)) {
        set_error(c, 400, "bad_header", msg); /* route NULL: the WAF did not see it */
        return;
    }
    if (sim.ignored && !srv->told_untrusted) {
        srv->told_untrusted = true;
        fprintf(stderr, "mock-ingest: ignoring X-Edgeloss-* request headers (wall clock, no run"
                        " id): start with --trust-sim-headers to honour them\n");
    }
    if (sim.time_virtual) {
        r->time_ns = sim.time_ns;
        r->time_virtual = true;
    }
    r->run = sim.run;
    r->attempt = sim.attempt;
    if (c->rt == ROUTE_TRACES || c->rt == ROUTE_METRICS || c->rt == ROUTE_LOGS)
        c->fault = sim.fault; /* the other paths have no fault of their own (headers.h) */
    r->route = route_name(srv, &sim);
    if (c->tc && c->tc->over_limit && ct_count(srv->ct) > ct_get_limits(srv->ct)->limit) {
        /* Accepted only to say so (conntrack.h): a client waiting in the listen backlog
         * would time out and retry blind, or give up. Counted again now: connections that
         * closed since it was accepted may have left room. */
        char m[128];
        snprintf(m, sizeof m, "too many connections (limit %u): retry after 1 s",
                 ct_get_limits(srv->ct)->limit);
        set_error(c, 503, "connection_limit", m);
        c->retry_after_s = 1;
        c->close_after = true;
        return;
    }
    if (!framing_ok(c))
        return;
    if (srv->waf && c->rt != ROUTE_STATS && sim.route != HDR_ROUTE_ORIGIN) {
        /* The WAF sits in front of the origin: it sees every request first, whatever its
         * path and method, before the routing, content checks, authentication and the body
         * (only /stats, the tool's own window, is not the origin's, and what the simulator
         * routed straight to the origin - an R2 binding, say - never passed the zone's
         * front). This runs on the thread running libmicrohttpd only, the one thread that
         * may use the WAF. */
        hdr_waf_in in = {.method = method,
                         .path = url,
                         .ip = c->client,
                         .sim = &sim,
                         .trusted = srv->trust_sim_headers,
                         .t_ns = r->time_ns,
                         .each_header = each_header,
                         .each_query_arg = each_query_arg,
                         .ud = mc};
        hdr_waf_verdict wv;
        hdr_waf_decide(srv->waf, &in, &wv);
        r->waf_acts = wv.acts;
        r->waf_nacts = wv.nacts;
        if (wv.status) {
            refuse_waf(c, &wv);
            return;
        }
    }
    if (c->rt != ROUTE_NONE && answer_probe(c, method))
        return;
    switch (c->rt) {
    case ROUTE_NONE:
        set_error(c, 404, "not_found",
                  "unknown path: expected /v1/traces, /v1/metrics, /v1/logs, " OBJ_PREFIX
                  "KEY or /stats");
        return;
    case ROUTE_HEALTH:
        set_error(c, 405, "method_not_allowed", "/ accepts GET and HEAD");
        return;
    case ROUTE_STATS:
        if (strcmp(method, "GET") != 0)
            set_error(c, 405, "method_not_allowed", "/stats accepts GET");
        return;
    case ROUTE_OBJECT:
        check_object(c, method);
        return;
    case ROUTE_NOTIFY:
        check_notify(c, method);
        return;
    default:
        check_otlp(c, method);
        return;
    }
}

/*
 * A request's decode may hold DECODE_BASE_BYTES plus this many bytes per body byte (the parsed
 * tree and the items). A real export needs about 8 per byte (18 MiB for 5000 spans in 2.2 MB);
 * max_items_per_request of the smallest items, `{}`, need about 80 MiB in all; a 4 MiB body of
 * nothing else would need ~350 MB and is refused at its share instead (issue 20).
 */
#define DECODE_BYTES_PER_BYTE 16
#define DECODE_BASE_BYTES     ((size_t)96 << 20)
/* Once this much was held at once, memory is given back to the system when the server is
 * idle again (glibc keeps freed heap memory otherwise). */
#define TRIM_AFTER_BYTES   ((size_t)64 << 20)
#define SCRATCH_KEEP_BYTES ((size_t)1 << 20)

/* The inflate scratch is kept between requests, unless a large body grew it. */
static void drop_scratch(ing_server *srv)
{
    if (srv->inflated.cap > SCRATCH_KEEP_BYTES)
        ing_buf_free(&srv->inflated);
}

static otlp_signal signal_of(route r)
{
    return r == ROUTE_TRACES    ? OTLP_SIGNAL_TRACES
           : r == ROUTE_METRICS ? OTLP_SIGNAL_METRICS
                                : OTLP_SIGNAL_LOGS;
}

static const char *rejected_field(route r)
{
    return r == ROUTE_TRACES    ? "rejectedSpans"
           : r == ROUTE_METRICS ? "rejectedDataPoints"
                                : "rejectedLogRecords";
}

/*
 * The body as the ingest decodes it, gunzipped when it was sent so, into *data and *len
 * (r->bytes_body). False when it was refused (decided: 413, 400 or 503).
 */
static bool decoded_body(conn *c, const char **data, size_t *len)
{
    ing_server *srv = c->srv;
    store_request *r = &c->rec;
    *data = c->body.data ? c->body.data : "";
    *len = c->body.len;
    if (!r->content_encoding || strcasecmp(r->content_encoding, "gzip") != 0)
        return true;
    const char *msg = NULL;
    int st = ing_gunzip(c->body.data, c->body.len, srv->cfg->max_body_bytes, &srv->inflated, &msg);
    if (st) {
        decide(c, st, st == 413 ? "too_large" : st == 400 ? "bad_gzip" : "internal", msg);
        return false;
    }
    *data = srv->inflated.data;
    *len = srv->inflated.len;
    r->bytes_body = (int64_t)*len;
    return true;
}

/* Final call of an OTLP request: decode it into c->job for the writer. */
static void on_otlp_body(conn *c)
{
    ing_server *srv = c->srv;
    const char *data;
    size_t len;
    if (c->fault.kind == HDR_FAULT_TOO_LARGE && c->rec.bytes_wire > c->fault.max_bytes) {
        char m[128];
        snprintf(m, sizeof m, "fault: body of %lld bytes over the fault's limit of %lld",
                 (long long)c->rec.bytes_wire, (long long)c->fault.max_bytes);
        decide(c, 413, "fault", m);
        return;
    }
    if (!decoded_body(c, &data, &len))
        return;
    otlp_batch *b = writer_batch_get(srv->w);
    if (!b) {
        decide(c, 503, "internal", "out of memory; retry");
        return;
    }
    char err[256];
    otlp_signal sig = signal_of(c->rt);
    /* What the decode may use: its share (a dense body of empty items costs far more than a
     * real one of the same size), within what the budget has left. */
    size_t held = atomic_load(&srv->held), budget = srv->cfg->memory_budget_bytes;
    size_t left = budget > held ? budget - held : 0;
    size_t share = len > (SIZE_MAX - DECODE_BASE_BYTES) / DECODE_BYTES_PER_BYTE
                       ? SIZE_MAX
                       : DECODE_BASE_BYTES + len * DECODE_BYTES_PER_BYTE;
    otlp_limits lim = {.max_items = srv->cfg->max_items,
                       .max_memory = share < left ? share
                                     : left       ? left
                                                  : 1};
    int rc = c->pb ? otlp_decode_pb(b, sig, data, len, &lim, err, sizeof err)
                   : otlp_decode(b, sig, data, len, &lim, err, sizeof err);
    if (rc != OTLP_OK) {
        bool too_many = b->too_many_items;
        writer_batch_put(srv->w, b); /* may free it */
        if (rc == OTLP_TOO_LARGE && too_many) {
            decide(c, 413, "too_many_items", err);
        } else if (rc == OTLP_TOO_LARGE && lim.max_memory < share && held > c->body_held) {
            /* Others hold the memory it needs: it fits once they are recorded. */
            decide(c, 503, "memory_budget", err);
            c->retry_after_s = 1;
        } else if (rc == OTLP_TOO_LARGE) {
            decide(c, 413, "too_large", err);
        } else {
            decide(c, rc == OTLP_NOMEM ? 503 : 400,
                   rc == OTLP_NOMEM ? "internal"
                   : c->pb          ? "bad_protobuf"
                                    : "bad_json",
                   err);
        }
        return;
    }
    c->batch_held = otlp_batch_footprint(b);
    if (atomic_fetch_add(&srv->held, c->batch_held) + c->batch_held > TRIM_AFTER_BYTES)
        srv->trim_due = true;
    c->job.batch = b;
    if (c->fault.kind == HDR_FAULT_STATUS) {
        /* As a refusing backend answers: nothing accepted, its items kept as evidence (like
         * a cap's), not admitted, so they count against no cap. */
        char m[64];
        snprintf(m, sizeof m, "fault: status %d", c->fault.status);
        decide(c, c->fault.status, "fault", m);
        if (c->fault.retry_after_s > 0)
            c->job.retry_after_s = c->fault.retry_after_s; /* the answer's, after the commit */
        c->rec.item_reason = "fault";
        return;
    }
    decide(c, 200, b->rejected ? "partial" : NULL, b->rejected ? b->first_error : NULL);
    c->job.admit = true;
}

/*
 * Final call of an object store request. A PUT stores the bytes as received (never
 * decoded: GET gives back what was sent, with its Content-Type and Content-Encoding). A GET
 * is read by the writer where it stands in the queue (writer.h), after every PUT submitted
 * before it, which also decides its 200 or 404.
 */
static void on_object_body(conn *c)
{
    store_request *r = &c->rec;
    if (strcmp(r->method, "GET") == 0) {
        c->job.get_object = object_key(r->path);
        c->job.object_body = &c->resp;
        return;
    }
    c->object = (store_object){.key = object_key(r->path),
                               .body = c->body.data,
                               .size = c->body.len,
                               .content_type = r->content_type,
                               .content_encoding = r->content_encoding};
    r->object = &c->object;
    decide(c, 200, NULL, NULL);
}

/* Final call of a notification: the object it names, for its row; answered 202. */
static void on_notify_body(conn *c)
{
    const char *data;
    size_t len;
    if (!decoded_body(c, &data, &len))
        return;
    char msg[192];
    if (obj_notify_decode(data, len, c->notify_key, sizeof c->notify_key, msg, sizeof msg)) {
        decide(c, 400, "bad_json", msg);
        return;
    }
    c->rec.notify_object = c->notify_key;
    decide(c, 202, NULL, NULL);
}

/* Final call of a request for the writer: what it records, by route. */
static void on_body(conn *c)
{
    c->rec.bytes_wire = (int64_t)c->body.len;
    c->rec.bytes_body = c->rec.bytes_wire;
    if (c->rt == ROUTE_OBJECT) {
        on_object_body(c); /* stores the body as it is: kept until the connection ends */
        return;
    }
    if (c->rt == ROUTE_NOTIFY)
        on_notify_body(c);
    else
        on_otlp_body(c);
    drop_body(c); /* decoded: what is recorded was copied */
    drop_scratch(c->srv);
}

/* The answer to a request the writer recorded with a 2xx, by route. */
static void success_body(conn *c, const ing_job *job)
{
    if (job->get_object) {
        /* The writer read the object's bytes into c->resp already. */
        const char *ct = job->object.content_type;
        c->resp_type = ct && ct[0] ? ct : "application/octet-stream";
        c->resp_encoding = job->object.content_encoding;
        return;
    }
    ing_buf_reset(&c->resp);
    if (c->rt == ROUTE_OBJECT) {
        ing_buf_puts(&c->resp, "{\"key\":");
        ing_buf_json_str(&c->resp, c->object.key);
        ing_buf_printf(&c->resp, ",\"size\":%zu}", c->object.size);
        return;
    }
    if (c->rt == ROUTE_NOTIFY) {
        ing_buf_puts(&c->resp, "{\"queued\":true}");
        return;
    }
    const otlp_batch *b = job->batch;
    if (c->pb) {
        c->resp_type = PB_CONTENT_TYPE;
        if (otlp_encode_pb_response(signal_of(c->rt), b ? b->rejected : 0,
                                    b ? b->first_error : NULL, &c->resp))
            ing_buf_reset(&c->resp); /* an empty response message is all-success */
        return;
    }
    if (b && b->rejected) {
        ing_buf_printf(&c->resp, "{\"partialSuccess\":{\"%s\":\"%zu\",\"errorMessage\":",
                       rejected_field(c->rt), b->rejected);
        ing_buf_json_str(&c->resp, b->first_error);
        ing_buf_puts(&c->resp, "}}");
    } else {
        ing_buf_puts(&c->resp, "{}");
    }
}

/* Writer thread, after the commit: the answer, then the connection resumes. */
static void conn_done(ing_job *job)
{
    conn *c = job->ud;
    release(c->srv, &c->batch_held); /* the writer is done with the batch */
    c->retry_after_s = job->retry_after_s;
    if (job->status >= 200 && job->status < 300) {
        c->status = job->status;
        success_body(c, job);
        c->answered = true;
    } else {
        set_error(c, job->status, job->reason, job->message);
    }
    c->suspended = false;
    MHD_resume_connection(c->mc);
}

static void stats_body(ing_server *srv, ing_buf *o)
{
    store_stats s;
    writer_stats(srv->w, &s);
    ing_buf_printf(o, "{\"requests\":{\"total\":%lld,\"by_status\":{", (long long)s.requests);
    for (int i = 0; i < STORE_MAX_STATUS && s.by_status[i].status; i++)
        ing_buf_printf(o, "%s\"%d\":%lld", i ? "," : "", s.by_status[i].status,
                       (long long)s.by_status[i].n);
    ing_buf_puts(o, "}},\"items\":{");
    const char *what[2] = {"accepted", "rejected"};
    for (int a = 0; a < 2; a++) {
        const int64_t *v = a == 0 ? s.items_accepted : s.items_rejected;
        ing_buf_printf(o, "%s\"%s\":{\"span\":%lld,\"metric\":%lld,\"log\":%lld}", a ? "," : "",
                       what[a], (long long)v[OTLP_SPAN], (long long)v[OTLP_METRIC],
                       (long long)v[OTLP_LOG]);
    }
    ing_buf_printf(o, ",\"unacknowledged\":%lld", (long long)s.items_unacknowledged);
    ing_buf_puts(o, "},\"rejected_by_reason\":{");
    for (int i = 0; i < STORE_MAX_REASONS && s.rejected_by_reason[i].reason[0]; i++) {
        if (i)
            ing_buf_putc(o, ',');
        ing_buf_json_str(o, s.rejected_by_reason[i].reason);
        ing_buf_printf(o, ":%lld", (long long)s.rejected_by_reason[i].n);
    }
    ing_buf_printf(o, "},\"objects\":{\"stored\":%lld,\"bytes\":%lld}", (long long)s.objects,
                   (long long)s.object_bytes);
    ing_buf_printf(o, ",\"notifications\":{\"total\":%lld,\"object_known\":%lld}",
                   (long long)s.notifications, (long long)s.notifications_known);
    ing_buf_printf(o, ",\"acks\":{\"delivered\":%lld,\"lost\":%lld,\"unknown\":%lld}",
                   (long long)s.acks.delivered, (long long)s.acks.lost, (long long)s.acks.unknown);
    ing_buf_printf(o, ",\"refusals\":{\"pending\":%lld,\"dropped\":%lld}}",
                   (long long)s.refusals_pending, (long long)s.refusals_dropped);
}

/*
 * Whether the peer has already closed its side: an SDK that timed out and gave up. Its answer
 * would still be written (the socket takes it), so libmicrohttpd would call the request
 * completed; only this tells that the acknowledgement reached no one. (A client that
 * half-closes and still reads is counted gone too; HTTP clients do not do that.)
 */
static bool peer_gone(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return false;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* CORS (config "cors"): the origin allowed, on every answer to a browser's request. */
static void add_cors(const conn *c, struct MHD_Response *resp)
{
    const char *allow = c->srv->cfg->cors;
    if (!allow || !header(c->mc, "Origin"))
        return;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    if (strcmp(allow, "*") != 0)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_EXPOSE_HEADERS, "Retry-After");
    if (c->status != 204)
        return;
    /* The preflight: what the browser may send next, cached for a day. */
    const char *asked = header(c->mc, "Access-Control-Request-Headers");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS,
                            "POST, GET, PUT, HEAD, OPTIONS");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_HEADERS,
                            asked ? asked : "Content-Type, Content-Encoding, Authorization");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
}

static enum MHD_Result queue(conn *c)
{
    c->peer_gone = peer_gone(c->mc);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        c->resp.len, c->resp.data ? c->resp.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            c->resp_type ? c->resp_type : "application/json");
    if (c->resp_encoding)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, c->resp_encoding);
    if (c->status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                c->rt == ROUTE_STATS    ? "GET"
                                : c->rt == ROUTE_OBJECT ? "GET, PUT"
                                : c->rt == ROUTE_HEALTH ? "GET, HEAD"
                                                        : "POST");
    if (c->close_after) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    } else {
        /* Says when an idle connection will be closed, for the clients that read the hint
         * and stop reusing a socket before then (node 20's http.Agent, the JS SDK's, does
         * not: it reuses one the server is closing, gets ECONNRESET and retries). */
        char ka[32];
        snprintf(ka, sizeof ka, "timeout=%u", c->srv->cfg->idle_timeout_s);
        MHD_add_response_header(resp, "Keep-Alive", ka);
    }
    add_cors(c, resp);
    if (c->retry_after_s > 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%lld", (long long)c->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    /* The simulator's channel back (trusted only, like its request headers): why a request
     * was refused, the row's reason, so that it can tell a WAF block from the ingest's own
     * refusal without reading the database in the middle of a run. */
    if (c->srv->trust_sim_headers && c->status >= 400 && c->rec.reason)
        MHD_add_response_header(resp, HDR_REASON, c->rec.reason);
    enum MHD_Result rc = MHD_queue_response(c->mc, (unsigned)c->status, resp);
    MHD_destroy_response(resp);
    c->queued = rc == MHD_YES;
    return rc;
}

/*
 * Whether a request answered on its headers is answered at once, or only after its body has
 * been read and dropped. A client still uploading when the connection closes gets EPIPE or a
 * reset instead of the status (and the JS SDK retries: one export became four 401 rows), so
 * the status waits for the body, unless nothing follows, the client asked first (Expect:
 * 100-continue: the refusal replaces the 100 and the body is never sent), the body is too
 * large to read for nothing, or its framing is ambiguous.
 */
static bool answer_before_body(const conn *c)
{
    if (c->answer_now || c->unrecorded)
        return true;
    int64_t clen = 0;
    bool has_len = parse_int64(header(c->mc, MHD_HTTP_HEADER_CONTENT_LENGTH), &clen);
    if (!header(c->mc, MHD_HTTP_HEADER_TRANSFER_ENCODING) && (!has_len || clen <= 0))
        return true;
    const char *expect = header(c->mc, MHD_HTTP_HEADER_EXPECT);
    if (expect && strcasecmp(expect, "100-continue") == 0)
        return true;
    return has_len && (uint64_t)clen > c->srv->cfg->discard_limit_bytes;
}

/* The first call: the request's head. */
static enum MHD_Result on_head(ing_server *srv, struct MHD_Connection *mc, const char *url,
                               const char *method, void **con_cls)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return MHD_NO;
    c->srv = srv;
    c->mc = mc;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    c->tc = ci ? ci->socket_context : NULL;
    if (c->tc) {
        ct_head(c->tc, mono_ns());
        c->tc->request = c;
    }
    *con_cls = c;
    on_headers(c, url, method);
    if (!c->answered)
        return MHD_YES;
    if (!c->unrecorded)
        record_detached(c);
    if (answer_before_body(c))
        return queue(c);
    return MHD_YES; /* answered once the body has been read (and dropped) */
}

/* A piece of the body. */
static enum MHD_Result on_upload(conn *c, const char *data, size_t n)
{
    ing_server *srv = c->srv;
    if (c->tc)
        ct_body_bytes(c->tc, n);
    if (c->answered) {
        /* Dropped: the answer is decided. Past the bound, answer now (the connection then
         * closes with the rest unread). */
        c->discarded += n;
        if (!c->queued && c->discarded > srv->cfg->discard_limit_bytes)
            queue(c);
        return MHD_YES;
    }
    if (c->body.len + n > srv->cfg->max_body_bytes) {
        /* A body without Content-Length grew past the limit. */
        c->rec.bytes_wire = (int64_t)(c->body.len + n); /* received so far */
        drop_body(c);
        set_error(c, 413, "too_large", "body exceeds the size limit");
        record_detached(c);
        c->discarded = n;
        return MHD_YES;
    }
    if (!ing_buf_append(&c->body, data, n))
        return MHD_NO;
    if (!account_body(c))
        record_detached(c);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    ing_server *srv = cls;
    srv->progress++;
    conn *c = *con_cls;
    if (!c)
        return on_head(srv, mc, url, method, con_cls);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return on_upload(c, upload_data, n);
    }
    /* Final call (again after a resume, or after an early answer could not be queued). */
    if (c->suspended || c->queued)
        return MHD_YES;
    if (c->tc)
        ct_busy(c->tc);
    if (c->answered && c->fault.kind == HDR_FAULT_DROP_ANSWER && c->status >= 200 &&
        c->status < 300) {
        /* Committed, then the answer is lost: the client sees the connection close, and a
         * retry makes a duplicate. */
        c->ended = "fault_dropped";
        srv->drops_unlogged++;
        return MHD_NO;
    }
    if (c->answered)
        return queue(c);
    if (c->rt == ROUTE_STATS) {
        c->status = 200;
        stats_body(srv, &c->resp);
        return queue(c);
    }
    on_body(c);
    c->job.rec = &c->rec;
    c->job.done = conn_done;
    c->job.ud = c;
    c->ticket = writer_ticket_new(srv->w);
    c->job.ticket = c->ticket;
    /* Suspended before it is submitted: the writer may resume it at once (from
     * its thread; libmicrohttpd acts on the resume in a later MHD_run). */
    c->suspended = true;
    MHD_suspend_connection(mc);
    hand_over(srv, &c->job);
    return MHD_YES;
}

/* requests.acked and .ended: whether the answer reached a client still there, and how the
 * request ended as libmicrohttpd tells it. */
static void tell_ack(conn *c, enum MHD_RequestTerminationCode toe)
{
    static const char *const names[] = {
        [MHD_REQUEST_TERMINATED_COMPLETED_OK] = "completed",
        [MHD_REQUEST_TERMINATED_WITH_ERROR] = "error",
        [MHD_REQUEST_TERMINATED_TIMEOUT_REACHED] = "timeout",
        [MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN] = "shutdown",
        [MHD_REQUEST_TERMINATED_READ_ERROR] = "read_error",
        [MHD_REQUEST_TERMINATED_CLIENT_ABORT] = "client_abort",
    };
    const char *ended = (unsigned)toe < sizeof names / sizeof *names ? names[toe] : "unknown";
    ing_ack ack = ING_ACK_LOST;
    if (c->ended)
        ended = c->ended;
    else if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && c->peer_gone)
        ended = "client_gone";
    else if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && c->queued)
        ack = ING_ACK_DELIVERED;
    else if (toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
        ack = ING_ACK_UNKNOWN;
    writer_ack(c->srv->w, c->ticket, ack, ended);
    c->ticket = NULL;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    conn *c = *con_cls;
    if (!c)
        return;
    if (c->ticket)
        tell_ack(c, toe);
    if (c->tc)
        ct_answered(c->tc, mono_ns());
    drop_body(c);
    release(c->srv, &c->batch_held);
    ing_buf_free(&c->resp);
    free((void *)c->rec.waf_acts);
    store_object_got_free(&c->job.object);
    free(c);
    *con_cls = NULL;
}

/* libmicrohttpd's connection notifications: the table of open connections (conntrack.h). */
static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    ing_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        /* NULL when out of memory: that connection simply has no deadlines. */
        *socket_context = ct_open(srv->ct, ci ? ci->connect_fd : -1, mono_ns());
        return;
    }
    ct_conn *t = *socket_context;
    if (t && t->request)
        ((conn *)t->request)->tc = NULL;
    ct_close(srv->ct, t);
    *socket_context = NULL;
}

/*
 * A connection past a deadline (conntrack.h) is shut down: libmicrohttpd sees the end of the
 * stream on its next read and closes it. A body cut short is recorded, 408 body_timeout, so the
 * database says what became of the request; its answer never left (acked 0).
 */
static void on_late(void *ud, ct_conn *t, ct_late why)
{
    (void)ud;
    conn *c = t->request;
    if (c && why != CT_LATE_HEAD) {
        c->ended = "deadline";
        if (!c->answered) {
            drop_body(c);
            set_error(c, 408, "body_timeout",
                      why == CT_SLOW_BODY ? "body arrived slower than min_body_rate"
                                          : "body not complete within body_timeout_s");
            record_detached(c);
        }
    }
    if (t->fd >= 0)
        shutdown(t->fd, SHUT_RDWR);
}

/*
 * libmicrohttpd's own unescaping of the path and the query arguments, except that a text
 * holding "%00" is left as it came: decoded, the NUL would cut it short without a trace
 * (PUT /r2/a%00b would store the key "a", and the row would say /r2/a). Left escaped, its
 * '%' is refused where it matters (an object key) and routes nowhere else.
 */
static size_t unescape(void *cls, struct MHD_Connection *mc, char *s)
{
    (void)cls;
    (void)mc;
    for (const char *p = strchr(s, '%'); p; p = strchr(p + 1, '%'))
        if (p[1] == '0' && p[2] == '0')
            return strlen(s);
    return MHD_http_unescape(s);
}

static void wake(void *ud)
{
    ing_server *srv = ud;
    uint64_t one = 1;
    ssize_t n = write(srv->wake_fd, &one, sizeof one);
    (void)n; /* a full counter already means "wake up" */
}

/*
 * libmicrohttpd 0.9.75 in epoll mode may read data in one run and act on it
 * in the next, without any fd or MHD_get_timeout() announcing it: run again
 * while runs make progress (handler calls), so what arrived is handled now.
 */
static void run_until_idle(ing_server *srv)
{
    for (int i = 0; i < 16; i++) {
        uint64_t before = srv->progress;
        MHD_run(srv->d);
        if (srv->progress == before && i > 0)
            break;
    }
}

/*
 * After a burst that held much memory, once nothing has been held for a while: glibc keeps
 * freed heap memory for reuse, so the burst's peak would stay the process's size.
 */
static void trim_when_idle(ing_server *srv, int64_t now_ns)
{
    if (atomic_load(&srv->held) > 0) {
        srv->busy_ns = now_ns;
        return;
    }
    if (srv->trim_due && now_ns - srv->busy_ns > 200000000) {
        srv->trim_due = false;
#ifdef __GLIBC__
        malloc_trim(0);
#endif
    }
}

/* Connections past their deadlines are shut down, then libmicrohttpd closes them. */
static void sweep(ing_server *srv)
{
    int64_t now = mono_ns();
    if (ct_sweep(srv->ct, now, on_late, srv))
        run_until_idle(srv);
    trim_when_idle(srv, now);
}

/* The sooner of libmicrohttpd's timeout and the next sweep, in ms (-1: none). */
static int next_timeout_ms(const ing_server *srv)
{
    MHD_UNSIGNED_LONG_LONG mhd_to;
    int to = -1;
    if (MHD_get_timeout(srv->d, &mhd_to) == MHD_YES)
        to = mhd_to > INT_MAX ? INT_MAX : (int)mhd_to;
    int ct = ct_timeout_ms(srv->ct, mono_ns());
    if (ct >= 0 && (to < 0 || ct < to))
        to = ct;
    if (srv->trim_due && (to < 0 || to > 250))
        to = 250;
    /* Embedded, a lone acknowledgement outcome is recorded by a pump (writer.h). */
    int w = srv->mode == ING_RUN_EXTERNAL ? writer_timeout_ms(srv->w) : -1;
    if (w >= 0 && (to < 0 || w < to))
        to = w;
    return to;
}

/* One turn of the HTTP loop; `inline_writer` also records and commits what it decoded. */
static int pump(ing_server *srv, int timeout_ms, bool inline_writer)
{
    int next = timeout_ms != 0 ? next_timeout_ms(srv) : -1;
    if (next >= 0 && (timeout_ms < 0 || next < timeout_ms))
        timeout_ms = next;
    if (timeout_ms != 0) {
        struct pollfd fds[2] = {{.fd = srv->epoll_fd, .events = POLLIN},
                                {.fd = srv->wake_fd, .events = POLLIN}};
        if (poll(fds, 2, timeout_ms) > 0 && (fds[1].revents & POLLIN)) {
            uint64_t v;
            ssize_t n = read(srv->wake_fd, &v, sizeof v);
            (void)n;
        }
    }
    run_until_idle(srv);
    sweep(srv);
    if (!inline_writer)
        return ING_OK;
    int rc = writer_drain(srv->w);
    /* Send the answers the commit released now, not on the next wake-up. */
    run_until_idle(srv);
    return rc;
}

int ing_server_pump(ing_server *srv, int timeout_ms)
{
    return pump(srv, timeout_ms, true);
}

int ing_server_timeout_ms(const ing_server *srv)
{
    return next_timeout_ms(srv);
}

unsigned ing_server_connection_limit(const ing_server *srv)
{
    return ct_get_limits(srv->ct)->limit;
}

/*
 * The connections served at once and the overflow refused with 503 (conntrack.h). Unless the
 * config says, sized from the descriptors this process may open: each connection is one, and
 * 64 are kept for the database, its journal, epoll and the rest.
 */
static void size_connections(const ing_config *cfg, ct_limits *lim)
{
    unsigned limit = cfg->connection_limit, overflow;
    if (limit) {
        overflow = limit / 8 > 16 ? limit / 8 : 16;
    } else {
        struct rlimit rl;
        uint64_t fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 1024;
        if (fds > 65536 || rl.rlim_cur == RLIM_INFINITY)
            fds = 65536; /* past this, memory (32 KiB a connection in libmicrohttpd) binds */
        uint64_t usable = fds > 64 + 32 ? fds - 64 : 32;
        overflow = (unsigned)(usable / 9 > 16 ? usable / 9 : 16);
        limit = (unsigned)(usable > overflow ? usable - overflow : 16);
    }
    *lim = (ct_limits){.limit = limit,
                       .overflow = overflow,
                       .head_ns = cfg->header_timeout_ns,
                       .over_head_ns = cfg->header_timeout_ns < 1000000000 ? cfg->header_timeout_ns
                                                                           : 1000000000,
                       .body_ns = cfg->body_timeout_ns,
                       .min_rate = cfg->min_body_rate,
                       .rate_grace_ns = 1000000000};
}

int ing_server_fd(const ing_server *srv)
{
    return srv->epoll_fd;
}

uint16_t ing_server_port(const ing_server *srv)
{
    return srv->port;
}

const char *ing_server_url(const ing_server *srv)
{
    return srv->url;
}

/* libmicrohttpd's error lines, to stderr as its own logger writes them, but for the one that
 * a drop_answer fault makes on purpose. */
static void log_line(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void log_line(void *cls, const char *fmt, va_list ap)
{
    ing_server *srv = cls;
    static const char drop[] = "Application reported internal error";
    /* It may come as the argument of a "%s". */
    va_list cp;
    va_copy(cp, ap);
    const char *text = strncmp(fmt, "%s", 2) == 0 ? va_arg(cp, const char *) : fmt;
    va_end(cp);
    if (srv->drops_unlogged && text && strncmp(text, drop, sizeof drop - 1) == 0) {
        srv->drops_unlogged--;
        return;
    }
    vfprintf(stderr, fmt, ap);
}

static void *http_thread(void *arg)
{
    ing_server *srv = arg;
    while (!atomic_load(&srv->stop))
        pump(srv, 1000, false);
    return NULL;
}

int ing_server_open(const ing_options *opt, ing_server **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!opt || !opt->db_path) {
        snprintf(err, errlen, "a database path is required");
        return ING_USAGE;
    }
    ing_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return ING_NOMEM;
    }
    srv->epoll_fd = -1;
    srv->wake_fd = -1;
    srv->mode = opt->mode;
    srv->trust_sim_headers = opt->trust_sim_headers;
    int rc = ING_NOMEM;
    if (opt->config) {
        srv->cfg = ing_config_dup(opt->config);
    } else {
        ing_config defaults;
        ing_config_defaults(&defaults);
        srv->cfg = ing_config_dup(&defaults);
    }
    if (!srv->cfg || !(srv->pol = policy_new(srv->cfg))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    rc = hdr_waf_open(srv->cfg->waf_json, &srv->waf, err, errlen);
    if (rc)
        goto fail;
    ct_limits lim;
    size_connections(srv->cfg, &lim);
    if (!(srv->ct = ct_new(&lim))) {
        snprintf(err, errlen, "out of memory");
        rc = ING_NOMEM;
        goto fail;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(opt->port);
    const char *host = opt->listen_host ? opt->listen_host : "127.0.0.1";
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "listen address %s: expected a numeric IPv4 address", host);
        rc = ING_USAGE;
        goto fail;
    }
    rc = store_open(opt->db_path, &srv->st, err, errlen);
    if (rc)
        goto fail;
    srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->wake_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        rc = ING_LISTEN;
        goto fail;
    }
    bool threaded = srv->mode == ING_RUN_THREAD;
    rc = writer_open(&srv->w, srv->st, srv->pol, threaded, threaded ? wake : NULL, srv);
    if (rc) {
        snprintf(err, errlen, "cannot start the writer");
        goto fail;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    /* The logger goes first: libmicrohttpd logs options parsed before it its own way. */
    srv->d = MHD_start_daemon(
        flags, opt->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, log_line, srv,
        MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_CONNECTION_LIMIT,
        lim.limit + lim.overflow, MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg->idle_timeout_s,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_END);
    if (!srv->d) {
        snprintf(err, errlen, "cannot listen on %s:%u", host, (unsigned)opt->port);
        rc = ING_LISTEN;
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opt->port;
    info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_EPOLL_FD);
    srv->epoll_fd = info ? info->epoll_fd : -1;
    snprintf(srv->url, sizeof srv->url, "http://%s:%u", host, (unsigned)srv->port);
    if (threaded) {
        if (pthread_create(&srv->thread, NULL, http_thread, srv) != 0) {
            snprintf(err, errlen, "cannot start the server thread");
            rc = ING_THREAD;
            goto fail;
        }
        srv->thread_started = true;
    }
    *out = srv;
    return ING_OK;
fail:
    ing_server_close(srv);
    return rc;
}

void ing_server_close(ing_server *srv)
{
    if (!srv)
        return;
    if (srv->thread_started) {
        atomic_store(&srv->stop, true);
        wake(srv);
        pthread_join(srv->thread, NULL);
    }
    /* Record and answer what is in flight (the writer resumes every suspended
     * connection), then let libmicrohttpd send those answers before it stops. The writer
     * lives until the daemon has stopped: a request those last runs complete is still
     * recorded and answered, and the daemon's last callbacks return their batches to it. */
    if (srv->w)
        writer_stop(srv->w);
    if (srv->d) {
        for (int i = 0; i < 4; i++) {
            MHD_run(srv->d);
            if (srv->w)
                writer_drain(srv->w);
        }
        MHD_stop_daemon(srv->d);
    }
    writer_close(srv->w);
    store_close(srv->st);
    hdr_waf_close(srv->waf); /* after the daemon: no request is decided any more */
    ct_free(srv->ct);        /* after the daemon: its last notifications closed every entry */
    policy_free(srv->pol);
    ing_config_free(srv->cfg);
    ing_buf_free(&srv->inflated);
    if (srv->wake_fd >= 0)
        close(srv->wake_fd);
    free(srv);
}
