#include "net.h"

#include "ingest.h" /* mock-ingest: its default body limit */

#include "grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fetch {
    uint64_t id; /* 0: free */
    uint32_t slot;
    rt_isolate_ref iso;
    uint64_t request_id; /* the sender's (its limits, its continuation) */
    uint64_t sent_for;   /* the payload's (the ledger's attempt) */
    char path[32];
    char *long_path; /* a path that does not fit `path` (an object's key), malloc'd */
    const net_dest *dest;
    const char *route;
    const char *hop;
    char *ref;        /* malloc'd */
    bool keeps_items; /* net_request.keeps_items */
    bool at_server;   /* it arrived: what is left is the answer's way back */
    int64_t colo;     /* -1: not sent */
    char *resp_body;  /* the answer's body, when the destination wants it */
    size_t resp_len;
    char *body;
    size_t len;
    uint32_t attempt;
    uint64_t *items;
    size_t nitems;
    net_done done;
    net_direct_done direct_done;
    void *ud;
    bool direct; /* net_post_direct: no isolate, no connection, no continuation task */
    rng *draws;  /* its latencies' stream (a direct POST's sender's; else the network's) */
    net_response resp;
    int64_t sent_ns; /* when it left (from an isolate: holding a connection) */
    rt_conn conn;
    struct net *owner;
    struct fetch *next_free;
} fetch;

struct net {
    eng *e;
    rng *rand;
    net_config cfg;
    transport *t;
    ledger *l;
    fetch **slots; /* stable pointers: continuations hold them */
    uint32_t nslots, capslots;
    fetch *free_list;
    uint64_t next_id;
    uint64_t sent;
    char error[512];
};

net *net_new(eng *e, rng *network_rng, const net_config *cfg, transport *t, ledger *l)
{
    net *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->e = e;
    n->rand = network_rng;
    n->cfg = *cfg;
    n->t = t;
    n->l = l;
    n->next_id = 1;
    return n;
}

static void release(net *n, fetch *f)
{
    free(f->body);
    free(f->items);
    free(f->long_path);
    free(f->resp_body);
    free(f->ref);
    f->ref = NULL;
    f->body = NULL;
    f->items = NULL;
    f->long_path = NULL;
    f->resp_body = NULL;
    f->id = 0;
    f->next_free = n->free_list;
    n->free_list = f;
}

void net_free(net *n)
{
    if (!n)
        return;
    for (uint32_t i = 0; i < n->nslots; i++) {
        free(n->slots[i]->body);
        free(n->slots[i]->items);
        free(n->slots[i]->long_path);
        free(n->slots[i]->resp_body);
        free(n->slots[i]->ref);
        free(n->slots[i]);
    }
    free(n->slots);
    free(n);
}

const char *net_error(const net *n)
{
    return n->error[0] ? n->error : NULL;
}

uint64_t net_requests(const net *n)
{
    return n->sent;
}

/* The request will never reach its server: its destination hears of it (net_dest.arrived). */
static void never_arrives(fetch *f, int status, int64_t t)
{
    const net_dest *d = f->dest;
    if (d && d->arrived) {
        net_response resp = {status, -1, t, NULL, 0, ""};
        d->arrived(d->arrived_ud, f->request_id, f->ref, f->items, f->nitems, &resp);
    }
}

static void net_go(void *ud, rt *r);
static void net_cancel(void *ud, rt *r, int cause);
static void deliver(void *ud, rt *r);
static void undelivered(void *ud, rt *r, int cause);

/* A cleared record from the pool (or a new slot), with its id and what every fetch carries. */
static fetch *fetch_new(net *n, const char *path, char *body, size_t len, uint32_t attempt,
                        const uint64_t *items, size_t nitems, void *ud)
{
    fetch *f = n->free_list;
    uint32_t slot;
    if (f) {
        n->free_list = f->next_free;
        slot = f->slot;
    } else {
        GROW_FOR(n->slots, n->nslots, n->capslots, 16);
        f = calloc(1, sizeof *f);
        if (!f)
            abort();
        slot = n->nslots;
        n->slots[n->nslots++] = f;
    }
    memset(f, 0, sizeof *f);
    f->owner = n;
    f->id = n->next_id++;
    f->draws = n->rand;
    f->colo = -1;
    if (strlen(path) < sizeof f->path)
        snprintf(f->path, sizeof f->path, "%s", path);
    else if (!(f->long_path = strdup(path)))
        abort();
    f->body = body;
    f->len = len;
    f->attempt = attempt;
    if (nitems) {
        f->items = malloc(nitems * sizeof *f->items);
        if (!f->items)
            abort();
        memcpy(f->items, items, nitems * sizeof *f->items);
    }
    f->nitems = nitems;
    f->ud = ud;
    f->slot = slot;
    return f;
}

void net_fetch(net *n, rt *r, net_request *req)
{
    fetch *f = fetch_new(n, req->path, req->body, req->len, req->attempt, req->items, req->nitems,
                         req->ud);
    req->body = NULL;
    f->iso = rt_current_isolate_ref(r);
    f->request_id = rt_current_task(r)->request_id;
    f->sent_for = req->sent_for;
    f->done = req->done;
    f->dest = req->dest;
    f->route = req->route;
    f->hop = req->hop;
    f->keeps_items = req->keeps_items;
    if (req->ref && !(f->ref = strdup(req->ref)))
        abort();
    if (f->dest && f->dest->with_colo)
        f->colo = rt_current_isolate(r)->colo;
    rt_waiter w = {net_go, net_cancel, f};
    switch (rt_subrequest(r, &w, &f->conn)) {
    case RT_SUB_GO:
        net_go(f, r);
        break;
    case RT_SUB_QUEUED:
        break;
    case RT_SUB_REFUSED:
        /* fetch() rejects: its continuation runs as any other would, after this segment. */
        f->resp = (net_response){NET_REFUSED_SUBREQUESTS, -1, rt_task_time(r), NULL, 0, ""};
        never_arrives(f, NET_REFUSED_SUBREQUESTS, rt_task_time(r));
        if (!rt_post(r, f->iso, f->request_id, deliver, undelivered, f))
            release(n, f);
        break;
    }
}

/* The fetch has its connection: it leaves for the ingest. */
static void net_go(void *ud, rt *r)
{
    fetch *f = ud;
    net *n = f->owner;
    f->sent_ns = rt_time(r);
    int64_t at = eng_add(f->sent_ns, dist_draw(&n->cfg.latency, n->rand));
    if (!eng_at(n->e, at, EV_FETCH_ARRIVE, f->slot, f->id))
        abort();
}

void net_send_direct(net *n, rng *draws, net_request *req, net_direct_done done, void *ud)
{
    /* request_id and iso stay 0: the ledger's attempt belongs to no request, no isolate. */
    fetch *f =
        fetch_new(n, req->path, req->body, req->len, req->attempt, req->items, req->nitems, ud);
    req->body = NULL;
    f->direct = true;
    f->direct_done = done;
    f->draws = draws;
    f->dest = req->dest;
    f->route = req->route;
    f->hop = req->hop;
    f->keeps_items = req->keeps_items;
    if (req->ref && !(f->ref = strdup(req->ref)))
        abort();
    f->sent_ns = eng_now(n->e);
    int64_t at = eng_add(f->sent_ns, dist_draw(&n->cfg.latency, f->draws));
    if (!eng_at(n->e, at, EV_FETCH_ARRIVE, f->slot, f->id))
        abort();
}

void net_post_direct(net *n, rng *draws, const char *path, char *body, size_t len, uint32_t attempt,
                     const uint64_t *items, size_t nitems, net_direct_done done, void *ud)
{
    net_request req = {.path = path,
                       .body = body,
                       .len = len,
                       .attempt = attempt,
                       .items = items,
                       .nitems = nitems};
    net_send_direct(n, draws, &req, done, ud);
}

/* Its request died while it waited for a connection: it never left. */
static void net_cancel(void *ud, rt *r, int cause)
{
    fetch *f = ud;
    net *n = f->owner;
    if (cause == RT_CPU_LIMIT || cause == RT_WU_DEADLINE) { /* the isolate lives on: it rejects */
        f->resp = (net_response){cause == RT_CPU_LIMIT ? NET_CANCELLED_CPU : NET_CANCELLED_DEADLINE,
                                 -1,
                                 rt_time(r),
                                 NULL,
                                 0,
                                 ""};
        never_arrives(f, f->resp.status, rt_time(r));
        if (rt_post(r, f->iso, f->request_id, deliver, undelivered, f))
            return;
    } else {
        never_arrives(f, NET_DIED_WAITING, rt_time(r));
        ledger_cause c = ledger_cause_of_death(cause);
        for (size_t i = 0; i < f->nitems && !f->keeps_items; i++)
            ledger_drop(n->l, f->items[i], rt_time(r), c, "connection-queue", f->iso.id);
    }
    release(n, f);
}

static void deliver(void *ud, rt *r)
{
    fetch *f = ud;
    net_done done = f->done;
    void *dud = f->ud;
    net_response resp = f->resp;
    char *body = f->resp_body;
    f->resp_body = NULL; /* kept for the callback, not the pool */
    resp.body = body;
    resp.body_len = body ? f->resp_len : 0;
    /* The record goes back to the pool before the continuation may send again. */
    release(f->owner, f);
    done(dud, r, &resp);
    free(body);
}

/* A fetch's answer (a rejection, a response) that never reached its continuation: the
 * isolate died first, and what the request carried is lost with it, from here. */
static void undelivered(void *ud, rt *r, int cause)
{
    fetch *f = ud;
    net *n = f->owner;
    /* A rejection: the fetch never left, and its cause is the rejection's, at its instant
     * (an answer from the ingest instead decides its items' fates there). */
    if (f->resp.status < 0) {
        ledger_cause c = f->resp.status == NET_CANCELLED_DEADLINE    ? CAUSE_WAITUNTIL_CANCELLED
                         : f->resp.status == NET_CANCELLED_CPU       ? CAUSE_CPU_LIMIT
                         : f->resp.status == NET_REFUSED_SUBREQUESTS ? CAUSE_SUBREQUEST_LIMIT
                                                                     : ledger_cause_of_death(cause);
        for (size_t i = 0; i < f->nitems && !f->keeps_items; i++)
            ledger_drop(n->l, f->items[i], f->resp.sent_ns, c, "connection-queue", f->iso.id);
    }
    (void)r;
    release(n, f);
}

bool net_handle(net *n, rt *r, const eng_event *ev)
{
    if (ev->type != EV_FETCH_ARRIVE && ev->type != EV_FETCH_DONE)
        return false;
    if (ev->a >= n->nslots || n->slots[ev->a]->id != ev->b)
        return true;
    fetch *f = n->slots[ev->a];
    if (ev->type == EV_FETCH_ARRIVE) {
        f->at_server = true;
        /* No transport (memory mode): taken as accepted, unless the ingest's default body
         * limit would refuse it (a scenario with other ingest settings is not run so). */
        transport_result res = {f->len > ING_DEFAULT_MAX_BODY_BYTES ? 413 : 200, -1, NULL, 0, ""};
        char err[512];
        const net_dest *d = f->dest;
        transport_req tr = {.method = d ? d->method : NULL,
                            .path = f->long_path ? f->long_path : f->path,
                            .body = f->body,
                            .len = f->len,
                            .content_type = d ? d->content_type : NULL,
                            .time_ns = ev->time_ns,
                            .attempt = f->attempt,
                            .host = d ? d->host : NULL,
                            .upstream_zone = d ? d->upstream_zone : NULL,
                            .colo = f->colo,
                            .route = f->route,
                            .want_body = d && d->want_body};
        if (n->t && transport_send(n->t, &tr, &res, err, sizeof err) != 0) {
            snprintf(n->error, sizeof n->error, "%s", err);
            return true;
        }
        if (tr.want_body && res.body) {
            if (!(f->resp_body = malloc(res.body_len + 1)))
                abort();
            memcpy(f->resp_body, res.body, res.body_len);
            f->resp_body[res.body_len] = '\0';
            f->resp_len = res.body_len;
        }
        n->sent++;
        uint64_t a = ledger_attempt(n->l, ev->time_ns, f->sent_ns, tr.path, f->attempt, f->sent_for,
                                    f->iso.id, f->len, f->nitems);
        ledger_attempt_items(n->l, a, f->items, f->nitems);
        ledger_attempt_status(n->l, a, res.status);
        if (f->hop || f->ref)
            ledger_attempt_hop(n->l, a, f->hop, f->ref);
        /* Any server may answer Retry-After: 1e30; past NET_RETRY_AFTER_MAX_S it means "never"
         * for any run, and in range it converts to nanoseconds without overflow. */
        int64_t ra =
            res.retry_after_s > NET_RETRY_AFTER_MAX_S ? NET_RETRY_AFTER_MAX_S : res.retry_after_s;
        f->resp = (net_response){res.status, ra, ev->time_ns, NULL, 0, ""};
        snprintf(f->resp.reason, sizeof f->resp.reason, "%s", res.reason);
        if (d && d->arrived) {
            net_response seen = f->resp;
            seen.body = f->resp_body;
            seen.body_len = f->resp_body ? f->resp_len : 0;
            d->arrived(d->arrived_ud, f->request_id, f->ref, f->items, f->nitems, &seen);
        }
        free(f->body);
        f->body = NULL;
        if (!eng_at(n->e, eng_add(ev->time_ns, dist_draw(&n->cfg.latency, f->draws)), EV_FETCH_DONE,
                    ev->a, f->id))
            abort();
        return true;
    }
    if (f->direct) {
        /* No connection to give back and no isolate to run on: the answer is the caller's
         * at once. The record is back in the pool first, so done may post again. */
        net_direct_done done = f->direct_done;
        void *dud = f->ud;
        net_response resp = f->resp;
        char *body = f->resp_body;
        f->resp_body = NULL;
        resp.body = body;
        resp.body_len = body ? f->resp_len : 0;
        release(n, f);
        done(dud, &resp);
        free(body);
        return true;
    }
    rt_conn_release(r, f->conn);
    /* The response reaches the isolate: its continuation runs there, if it still lives.
     * (If the isolate dies before that task runs, the record stays out of the pool
     * until net_free: rare, and bounded by the run.) */
    if (!rt_post(r, f->iso, f->request_id, deliver, undelivered, f))
        release(n, f);
    return true;
}

void net_end(net *n, int64_t t_ns)
{
    /* Still on the wire: sent before the end, arriving after it, where no event pops. */
    for (uint32_t i = 0; i < n->nslots; i++) {
        fetch *f = n->slots[i];
        if (!f->id || f->at_server)
            continue;
        never_arrives(f, NET_STRANDED, t_ns);
        for (size_t k = 0; k < f->nitems && !f->keeps_items; k++)
            ledger_drop(n->l, f->items[k], t_ns, CAUSE_STRANDED_AT_END, "in-flight", f->iso.id);
        release(n, f);
    }
}
