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
    char *ref;         /* malloc'd */
    bool keeps_items;  /* net_request.keeps_items */
    bool at_server;    /* it arrived: what is left is the answer's way back */
    int64_t colo;      /* -1: not sent */
    int64_t app_route; /* the sender's route and colo (fault targets; -1: none) */
    int64_t sender_colo;
    flt_kind fail;    /* a network fault decided when it left (FLT_NONE: none) */
    int64_t after_ns; /* ... and when its fetch gives up, after it left (0: never) */
    bool hung;        /* lost on the network with no answer to come: its items go at net_end */
    int64_t lost_ns;
    int64_t timeout_ns; /* its sender aborts it this long after fetch() (0: never) */
    int64_t fetch_ns;   /* when fetch() was called (it may then wait for a connection) */
    bool aborted_out;   /* it is given up before it could reach its server */
    bool failed;        /* the network failed it (never_arrives has been called) */
    bool queued;        /* waiting for a connection */
    bool left;          /* it went on its way (depart) */
    char *resp_body;    /* the answer's body, when the destination wants it */
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
    flt *faults;
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

void net_set_faults(net *n, flt *faults)
{
    n->faults = faults;
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
    f->app_route = f->sender_colo = -1;
    f->fail = FLT_NONE;
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
    rt_io_begin(r, f->iso); /* until deliver: a Durable Object with it cannot hibernate */
    f->request_id = rt_current_task(r)->request_id;
    f->sent_for = req->sent_for;
    f->done = req->done;
    f->dest = req->dest;
    f->route = req->route;
    f->hop = req->hop;
    f->keeps_items = req->keeps_items;
    f->timeout_ns = req->timeout_ns;
    f->fetch_ns = rt_task_time(r);
    if (req->ref && !(f->ref = strdup(req->ref)))
        abort();
    if (f->dest && f->dest->with_colo)
        f->colo = rt_current_isolate(r)->colo;
    f->sender_colo = rt_current_isolate(r)->colo;
    const rt_task *task = rt_current_task(r);
    if (task->kind == TASK_HANDLER || task->kind == TASK_WAIT_UNTIL)
        f->app_route = task->route;
    rt_waiter w = {net_go, net_cancel, f};
    switch (rt_subrequest(r, &w, &f->conn)) {
    case RT_SUB_GO:
        net_go(f, r);
        break;
    case RT_SUB_QUEUED:
        f->queued = true;
        /* AbortSignal.timeout runs while it waits too. */
        if (f->timeout_ns &&
            !eng_at(n->e, eng_add(f->fetch_ns, f->timeout_ns), EV_FETCH_TIMEOUT, f->slot, f->id))
            abort();
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

static const char *fetch_path(const fetch *f)
{
    return f->long_path ? f->long_path : f->path;
}

static flt_target target_of(const fetch *f)
{
    return (flt_target){fetch_path(f), f->app_route,  f->sender_colo,
                        f->iso.id,     f->request_id, f->len};
}

/* How long after it left its sender aborts it (AbortSignal.timeout runs from fetch(): a
 * POST that waited for a connection has less left, 0 when none is; -1: never). */
static int64_t timeout_left(const fetch *f)
{
    if (!f->timeout_ns)
        return -1;
    int64_t left = eng_add(f->fetch_ns, f->timeout_ns) - f->sent_ns;
    return left > 0 ? left : 0;
}

/* It leaves now (f->sent_ns): its trip out, with what the network's faults add to it. */
static void depart(net *n, fetch *f)
{
    f->left = true;
    int64_t trip = dist_draw(&n->cfg.latency, f->draws);
    if (n->faults) {
        flt_target tg = target_of(f);
        flt_departure d;
        flt_depart(n->faults, &tg, f->sent_ns, &d);
        trip = eng_add(trip, d.extra_ns);
        f->fail = d.fail;
        f->after_ns = d.after_ns;
    }
    /* Given up while it is still on its way out - by its sender's timeout, or by a timeout
     * or loss whose time is up first - it never gets there: the fetch rejects then. */
    int64_t give_up = timeout_left(f);
    if ((f->fail == FLT_TIMEOUT || f->fail == FLT_LOSS) && f->after_ns &&
        (give_up < 0 || f->after_ns < give_up))
        give_up = f->after_ns;
    if (give_up >= 0 && give_up < trip) {
        f->aborted_out = true;
        if (!eng_at(n->e, eng_add(f->sent_ns, give_up), EV_FETCH_DONE, f->slot, f->id))
            abort();
        return;
    }
    if (!eng_at(n->e, eng_add(f->sent_ns, trip), EV_FETCH_ARRIVE, f->slot, f->id))
        abort();
}

/* The fetch has its connection: it leaves for the ingest. */
static void net_go(void *ud, rt *r)
{
    fetch *f = ud;
    f->queued = false;
    f->sent_ns = rt_time(r);
    depart(f->owner, f);
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
    f->timeout_ns = req->timeout_ns;
    if (req->ref && !(f->ref = strdup(req->ref)))
        abort();
    f->sent_ns = f->fetch_ns = req->at_ns > eng_now(n->e) ? req->at_ns : eng_now(n->e);
    depart(n, f);
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
    rt_io_end(r, f->iso);
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
                         : f->resp.status == NET_NETWORK_ERROR       ? CAUSE_NETWORK_ERROR
                                                                     : ledger_cause_of_death(cause);
        /* A network error left and failed on the way (or its sender gave up before it got a
         * connection); the others never left. */
        const char *layer =
            f->resp.status == NET_NETWORK_ERROR && f->left ? "in-flight" : "connection-queue";
        for (size_t i = 0; i < f->nitems && !f->keeps_items; i++)
            ledger_drop(n->l, f->items[i], f->resp.sent_ns, c, layer, f->iso.id);
    }
    (void)r;
    release(n, f);
}

/* Its attempt as the ledger keeps it: when it reached its server (or failed on the way),
 * with the status its sender saw. */
static void write_attempt(net *n, fetch *f, int64_t t, int status)
{
    uint64_t a = ledger_attempt(n->l, t, f->sent_ns, fetch_path(f), f->attempt, f->sent_for,
                                f->iso.id, f->len, f->nitems);
    ledger_attempt_items(n->l, a, f->items, f->nitems);
    ledger_attempt_status(n->l, a, status);
    if (f->hop || f->ref)
        ledger_attempt_hop(n->l, a, f->hop, f->ref);
}

/* No answer comes back: the fetch gives up after_ns after it left (at once if that has
 * passed), or never - it hangs, and what it carried is lost from here, as the run ends. */
static void answer_never_comes(net *n, fetch *f, int64_t now, int64_t after_ns)
{
    f->resp = (net_response){NET_NETWORK_ERROR, -1, now, NULL, 0, ""};
    free(f->body);
    f->body = NULL;
    int64_t left = timeout_left(f);
    if (left >= 0 && (!after_ns || left < after_ns))
        after_ns = left > 0 ? left : 1; /* its sender stops waiting first */
    if (!after_ns) {
        f->hung = true;
        f->lost_ns = now;
        return;
    }
    int64_t at = eng_add(f->sent_ns, after_ns);
    if (!eng_at(n->e, at > now ? at : now, EV_FETCH_DONE, f->slot, f->id))
        abort();
}

/* Its answer (or its failure) reaches the sender at `at` - unless the sender's timeout
 * passes first: then the fetch rejects then, with a network error (an AbortError). */
static void answer_at(net *n, fetch *f, int64_t now, int64_t at)
{
    if (f->timeout_ns) {
        int64_t deadline = eng_add(f->fetch_ns, f->timeout_ns);
        if (deadline < at) {
            at = deadline > now ? deadline : now;
            free(f->resp_body);
            f->resp_body = NULL;
            f->resp = (net_response){NET_NETWORK_ERROR, -1, now, NULL, 0, ""};
        }
    }
    if (!eng_at(n->e, at, EV_FETCH_DONE, f->slot, f->id))
        abort();
}

/* It failed on the network (fault.h): it never reaches its server. */
static void failed_on_the_way(net *n, fetch *f, int64_t now, bool answers, int64_t after_ns)
{
    f->failed = true;
    write_attempt(n, f, now, NET_NETWORK_ERROR);
    never_arrives(f, NET_NETWORK_ERROR, now);
    if (!answers) {
        answer_never_comes(n, f, now, after_ns);
        return;
    }
    /* Refused or reset: the sender hears of it after the way back. */
    f->resp = (net_response){NET_NETWORK_ERROR, -1, now, NULL, 0, ""};
    free(f->body);
    f->body = NULL;
    answer_at(n, f, now, eng_add(now, dist_draw(&n->cfg.latency, f->draws)));
}

/* EV_FETCH_ARRIVE: it reaches its server now, unless a fault stops it. */
static void arrive(net *n, fetch *f, const eng_event *ev)
{
    int64_t now = ev->time_ns;
    if (f->fail != FLT_NONE) {
        failed_on_the_way(n, f, now, f->fail == FLT_REFUSED || f->fail == FLT_RESET, f->after_ns);
        return;
    }
    const net_dest *d = f->dest;
    const char *path = fetch_path(f);
    flt_arrival fa = {0};
    if (n->faults) {
        flt_target tg = target_of(f);
        bool otlp =
            (!d || !d->method || strcmp(d->method, "POST") == 0) && strncmp(path, "/v1/", 4) == 0;
        flt_arrive(n->faults, &tg, now, otlp, &fa);
        if (fa.partitioned) {
            failed_on_the_way(n, f, now, false, fa.after_ns);
            return;
        }
    }
    f->at_server = true; /* its server processes it: what is left is the answer's way back */
    /* When the answer would be back (drawn now, whatever happens to it); a sender whose
     * timeout passes first never reads it, and its server sees it leave (drop_answer), as a
     * real server sees an aborted client close. */
    int64_t back = eng_add(eng_add(now, fa.slow_ns), dist_draw(&n->cfg.latency, f->draws));
    bool asked = strncmp(fa.header, "status=", 7) == 0 || fa.drop_answer;
    bool aborted = f->timeout_ns && eng_add(f->fetch_ns, f->timeout_ns) < back;
    if (aborted && !fa.header[0]) {
        snprintf(fa.header, sizeof fa.header, "drop_answer");
        fa.drop_answer = true;
    }
    /* No transport (memory mode): taken as accepted, unless the ingest's default body
     * limit would refuse it (a scenario with other ingest settings is not run so). */
    transport_result res = {
        f->len > ING_DEFAULT_MAX_BODY_BYTES ? 413 : 200, -1, NULL, 0, "", false};
    if (!n->t && fa.ingest) { /* no server: what the real one does with the header */
        const flt_rule *ir = fa.ingest;
        if (ir->kind == FLT_STATUS)
            res = (transport_result){ir->status, ir->retry_after_s, NULL, 0, "fault", false};
        else if (ir->kind == FLT_TOO_LARGE && (int64_t)f->len > ir->max_bytes)
            res = (transport_result){413, -1, NULL, 0, "fault", false};
    }
    if (!n->t && fa.drop_answer && res.status == 200)
        res.no_answer = true; /* as the real server: committed, not answered */
    char err[512];
    transport_req tr = {.method = d ? d->method : NULL,
                        .path = path,
                        .body = f->body,
                        .len = f->len,
                        .content_type = d ? d->content_type : NULL,
                        .time_ns = now,
                        .attempt = f->attempt,
                        .host = d ? d->host : NULL,
                        .upstream_zone = d ? d->upstream_zone : NULL,
                        .colo = f->colo,
                        .route = f->route,
                        .fault = fa.header,
                        .want_body = d && d->want_body};
    if (n->t && transport_send(n->t, &tr, &res, err, sizeof err) != 0) {
        snprintf(n->error, sizeof n->error, "%s", err);
        return;
    }
    /* A fault the ingest was asked for and did not do: it does not trust this simulator's
     * headers, and the run would record faults that never happened. */
    if (n->t && asked && !res.no_answer && res.status >= 200 && res.status < 300) {
        snprintf(n->error, sizeof n->error,
                 "harness error: the ingest at %s answered %d to a request with "
                 "X-Edgeloss-Fault: %s - it ignores the simulator's headers; ingest faults need "
                 "a trusted ingest (mock-ingest --trust-sim-headers, or the embedded one)",
                 transport_url(n->t), res.status, fa.header);
        return;
    }
    if (tr.want_body && res.body) {
        if (!(f->resp_body = malloc(res.body_len + 1)))
            abort();
        memcpy(f->resp_body, res.body, res.body_len);
        f->resp_body[res.body_len] = '\0';
        f->resp_len = res.body_len;
    }
    n->sent++;
    /* What the sender sees: the answer, or none (its server committed and hung up, the
     * answer went into a partition, or the sender stopped waiting before it came). */
    bool lost_answer = res.no_answer || fa.answer_lost || aborted;
    /* The memory mode's ledger takes an attempt's status as the ingest's record (ledger_mem.h):
     * there it is what the ingest did, whatever its sender saw. */
    write_attempt(n, f, now,
                  lost_answer && !ledger_in_memory(n->l) ? NET_NETWORK_ERROR : res.status);
    /* Any server may answer Retry-After: 1e30; past NET_RETRY_AFTER_MAX_S it means "never"
     * for any run, and in range it converts to nanoseconds without overflow. */
    int64_t ra =
        res.retry_after_s > NET_RETRY_AFTER_MAX_S ? NET_RETRY_AFTER_MAX_S : res.retry_after_s;
    f->resp = (net_response){res.status, ra, now, NULL, 0, ""};
    snprintf(f->resp.reason, sizeof f->resp.reason, "%s", res.reason);
    if (d && d->arrived) {
        /* The server's side of it: what it did, whatever becomes of the answer. */
        net_response seen = f->resp;
        seen.body = f->resp_body;
        seen.body_len = f->resp_body ? f->resp_len : 0;
        d->arrived(d->arrived_ud, f->request_id, f->ref, f->items, f->nitems, &seen);
    }
    free(f->body);
    f->body = NULL;
    if (fa.answer_lost) {
        answer_never_comes(n, f, now, fa.after_ns);
        return;
    }
    if (res.no_answer) { /* the connection closed: the sender hears of it when that reaches it */
        free(f->resp_body);
        f->resp_body = NULL;
        f->resp = (net_response){NET_NETWORK_ERROR, -1, now, NULL, 0, ""};
    }
    answer_at(n, f, now, back);
}

bool net_handle(net *n, rt *r, const eng_event *ev)
{
    if (ev->type != EV_FETCH_ARRIVE && ev->type != EV_FETCH_DONE && ev->type != EV_FETCH_TIMEOUT)
        return false;
    if (ev->a >= n->nslots || n->slots[ev->a]->id != ev->b)
        return true;
    fetch *f = n->slots[ev->a];
    if (ev->type == EV_FETCH_TIMEOUT) {
        /* Its time is up while it still waits for a connection: it never leaves, and its
         * fetch rejects now (an AbortError). Gone from the queue already, it is on its way. */
        if (f->queued && rt_subrequest_withdraw(r, f->conn, f)) {
            f->queued = false;
            f->resp = (net_response){NET_NETWORK_ERROR, -1, ev->time_ns, NULL, 0, ""};
            never_arrives(f, NET_NETWORK_ERROR, ev->time_ns);
            if (!rt_post(r, f->iso, f->request_id, deliver, undelivered, f))
                undelivered(f, r, RT_END_OF_RUN);
        }
        return true;
    }
    if (ev->type == EV_FETCH_ARRIVE) {
        arrive(n, f, ev);
        return true;
    }
    if (f->aborted_out) { /* given up before it got anywhere */
        f->aborted_out = false;
        f->failed = true;
        write_attempt(n, f, ev->time_ns, NET_NETWORK_ERROR);
        never_arrives(f, NET_NETWORK_ERROR, ev->time_ns);
        f->resp = (net_response){NET_NETWORK_ERROR, -1, ev->time_ns, NULL, 0, ""};
        free(f->body);
        f->body = NULL;
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
    /* Its isolate is gone: what a failure's items were is lost with it (undelivered). */
    if (!rt_post(r, f->iso, f->request_id, deliver, undelivered, f))
        undelivered(f, r, RT_END_OF_RUN);
    return true;
}

void net_end(net *n, int64_t t_ns)
{
    /* Still on the wire: sent before the end, arriving after it, where no event pops. */
    for (uint32_t i = 0; i < n->nslots; i++) {
        fetch *f = n->slots[i];
        if (f->id && (f->hung || f->failed)) {
            /* No answer was ever coming: what it carried was lost when the network lost it
             * (its server never had it, or its sender never heard: drop_answer's items
             * are recorded, and keep their fate). */
            /* (Failed, its rejection was still on its way back: the same loss, when it
             * failed.) */
            for (size_t k = 0; k < f->nitems && !f->keeps_items; k++)
                ledger_drop(n->l, f->items[k], f->hung ? f->lost_ns : f->resp.sent_ns,
                            CAUSE_NETWORK_ERROR, "in-flight", f->iso.id);
            release(n, f);
            continue;
        }
        if (!f->id || f->at_server)
            continue;
        never_arrives(f, NET_STRANDED, t_ns);
        for (size_t k = 0; k < f->nitems && !f->keeps_items; k++)
            ledger_drop(n->l, f->items[k], t_ns, CAUSE_STRANDED_AT_END, "in-flight", f->iso.id);
        release(n, f);
    }
}
