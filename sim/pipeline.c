/* The third seed's pipeline: see pipeline.h. */
#include "pipeline.h"

#include "events.h"
#include "exporters/exporter.h"
#include "grow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What one request's Worker holds and how far its items got. Its items' loss is decided
 * once, when nothing can change it any more: the request is over (ended or killed) and no
 * hop carrying them is still on its way to its server. A hop's failure is remembered, not
 * dropped at once: the program may try again (on_error), and a notification the server
 * acknowledged hands the items to the origin even if its answer never gets back.
 */
typedef struct pl_req {
    uint64_t isolate;
    uint64_t *items;
    size_t n;
    char *key;             /* the object it last stored (acknowledged at the Worker), or NULL */
    const char *stored_by; /* that PUT's hop */
    bool sent;             /* some hop carried the items */
    bool handed;           /* a notification about them was acknowledged: the origin's now */
    uint32_t inflight;     /* hops carrying them that have not reached their server */
    bool over;             /* the request ended or was killed */
    ledger_cause death;    /* killed: how (CAUSE_COUNT: it ended) */
    int64_t over_ns;
    bool failed; /* the last hop that carried them failed: */
    ledger_cause fail_cause;
    const char *fail_hop;
    int64_t fail_ns;
    char fail_note[160];
} pl_req;

/* One fetch in flight for the program: what its answer updates. */
typedef struct pl_call {
    pipeline *p;
    uint64_t request;
    uint32_t fetch;
    char *key; /* a PUT's object key */
    pl_done done;
    void *ud;
    uint64_t tag;
    struct pl_call *next_free;
} pl_call;

/* A job at the origin: the object to read, the items it holds. */
typedef enum { JOB_QUEUED, JOB_GET, JOB_STORE } pl_stage;

typedef struct pl_job {
    uint64_t id; /* 0: free */
    uint32_t slot;
    pipeline *p;
    char *key;
    uint64_t *items;
    size_t n;
    pl_stage stage;
    bool stored_at_server; /* its store reached the ingest: what it recorded decides */
    int64_t failed_ns;     /* its GET or store failed on the network then (-1: not) */
    net_dest store_dest;   /* the store's destination: tells this job of the arrival */
    net_dest get_dest;     /* the GET's: tells this job if the network failed it */
    struct pl_job *next_free;
} pl_job;

static void get_arrived(void *ud, uint64_t request, const char *ref, const uint64_t *items,
                        size_t nitems, const net_response *resp);

/* What a destination's arrived hook needs: the pipeline and which fetch it is. */
typedef struct pl_dest_ctx {
    struct pipeline *p;
    uint32_t fetch;
} pl_dest_ctx;

struct pipeline {
    eng *e;
    rng *rand;
    const pl_config *cfg;
    net *n;
    ledger *l;
    net_dest *dests; /* one per cfg->fetches */
    pl_dest_ctx *dctx;
    pl_req **reqs; /* by request id (ids are dense from 1) */
    size_t nreqs;
    pl_call **calls; /* every call record, for pl_free */
    size_t ncalls, capcalls;
    pl_call *free_calls;
    pl_job **jobs;
    uint32_t njobs, capjobs;
    pl_job *free_jobs;
    uint64_t next_job;
    pl_stats stats;
};

static void hop_arrived(void *ud, uint64_t request, const char *ref, const uint64_t *items,
                        size_t nitems, const net_response *resp);

pipeline *pl_new(eng *e, rng *r, const pl_config *cfg, net *n, ledger *l)
{
    pipeline *p = calloc(1, sizeof *p);
    if (!p || (cfg->nfetches && (!(p->dests = calloc(cfg->nfetches, sizeof *p->dests)) ||
                                 !(p->dctx = calloc(cfg->nfetches, sizeof *p->dctx))))) {
        if (p)
            free(p->dests);
        free(p);
        return NULL;
    }
    p->e = e;
    p->rand = r;
    p->cfg = cfg;
    p->n = n;
    p->l = l;
    p->next_job = 1;
    for (uint32_t i = 0; i < cfg->nfetches; i++) {
        const pl_fetch *f = &cfg->fetches[i];
        net_dest *d = &p->dests[i];
        d->method = f->method;
        d->host = f->host;
        d->upstream_zone = f->object ? NULL : cfg->worker_zone;
        d->content_type = f->body == PL_BODY_NONE ? NULL : "application/json";
        d->with_colo = !f->object;
        p->dctx[i] = (pl_dest_ctx){p, i};
        d->arrived = hop_arrived;
        d->arrived_ud = &p->dctx[i];
    }
    return p;
}

static void req_free(pl_req *q)
{
    if (!q)
        return;
    free(q->items);
    free(q->key);
    free(q);
}

static void job_release(pipeline *p, pl_job *j)
{
    free(j->key);
    free(j->items);
    j->key = NULL;
    j->items = NULL;
    j->id = 0;
    j->next_free = p->free_jobs;
    p->free_jobs = j;
}

void pl_free(pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nreqs; i++)
        req_free(p->reqs[i]);
    free(p->reqs);
    for (size_t i = 0; i < p->ncalls; i++) {
        free(p->calls[i]->key);
        free(p->calls[i]);
    }
    free(p->calls);
    for (uint32_t i = 0; i < p->njobs; i++) {
        job_release(p, p->jobs[i]);
        free(p->jobs[i]);
    }
    free(p->jobs);
    free(p->dests);
    free(p->dctx);
    free(p);
}

const pl_stats *pl_get_stats(const pipeline *p)
{
    return &p->stats;
}

static pl_req *req_of(pipeline *p, uint64_t request)
{
    return request < p->nreqs ? p->reqs[request] : NULL;
}

void pl_request_starts(pipeline *p, rt *r, uint64_t request)
{
    if (!p->cfg->spans_per_request)
        return;
    if (request >= p->nreqs) {
        size_t cap = p->nreqs ? p->nreqs : 64;
        while (cap <= request)
            cap *= 2;
        pl_req **nr = realloc(p->reqs, cap * sizeof *nr);
        if (!nr)
            abort();
        memset(nr + p->nreqs, 0, (cap - p->nreqs) * sizeof *nr);
        p->reqs = nr;
        p->nreqs = cap;
    }
    pl_req *q = calloc(1, sizeof *q);
    if (!q || !(q->items = malloc(p->cfg->spans_per_request * sizeof *q->items)))
        abort();
    q->isolate = rt_current_isolate(r)->id;
    int64_t t = rt_time(r);
    for (uint32_t i = 0; i < p->cfg->spans_per_request; i++) {
        q->items[i] = ledger_item(p->l, "carried", "span", request, q->isolate, t);
        ledger_move(p->l, q->items[i], t, "worker");
    }
    q->n = p->cfg->spans_per_request;
    p->stats.carried += q->n;
    p->reqs[request] = q;
}

/* "/r2/traces/{request}.json" with the request's id. malloc'd. */
static char *fill(const char *tmpl, uint64_t request)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, request);
    size_t n = 0;
    for (const char *s = tmpl; *s;)
        if (strncmp(s, "{request}", 9) == 0)
            n += strlen(id), s += 9;
        else
            n++, s++;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        abort();
    for (const char *s = tmpl; *s;)
        if (strncmp(s, "{request}", 9) == 0) {
            o = stpcpy(o, id);
            s += 9;
        } else {
            *o++ = *s++;
        }
    *o = '\0';
    return out;
}

/* The request's carried spans as an OTLP/HTTP JSON traces payload (malloc'd). Ids come
 * from the item numbers: no draw, the same bytes every run. */
static char *carried_payload(const pl_req *q, uint64_t request, int64_t t, size_t *len)
{
    char **frags = malloc(q->n * sizeof *frags);
    uint32_t *lens = malloc(q->n * sizeof *lens);
    if (!frags || !lens)
        abort();
    for (size_t i = 0; i < q->n; i++) {
        char buf[512];
        int k =
            snprintf(buf, sizeof buf,
                     "{\"traceId\":\"%032" PRIx64 "\",\"spanId\":\"%016" PRIx64
                     "\",\"name\":\"carried\",\"kind\":2,\"startTimeUnixNano\":\"%" PRId64
                     "\",\"endTimeUnixNano\":\"%" PRId64
                     "\",\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":"
                     "{\"stringValue\":\"i%010" PRIu64
                     "\"}},{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"r%" PRIu64
                     "\"}}],\"status\":{}}",
                     request, q->items[i], t, t, q->items[i], request);
        if (!(frags[i] = strdup(buf)))
            abort();
        lens[i] = (uint32_t)k;
    }
    char *b = exp_payload("edgeloss-client", SIG_TRACES, (const char *const *)frags, lens, q->n,
                          request, len);
    for (size_t i = 0; i < q->n; i++)
        free(frags[i]);
    free(frags);
    free(lens);
    return b;
}

/* Through the zone's WAF, or straight to its origin, for a request at t. */
static const char *route_of(pipeline *p, const pl_fetch *f, const char *path, int64_t t)
{
    if (f->object || f->via == PL_VIA_ORIGIN)
        return "origin";
    if (f->via == PL_VIA_WAF || f->zone < 0)
        return "waf";
    const pl_zone *z = &p->cfg->zones[f->zone];
    double share = 1; /* a zone's default: its WAF is in front of everything */
    for (uint32_t i = 0; i < z->nrouting; i++) {
        const pl_routing *ro = &z->routing[i];
        if (ro->at_ns <= t && (!ro->path || strncmp(path, ro->path, strlen(ro->path)) == 0))
            share = ro->waf_share;
    }
    if (share >= 1)
        return "waf";
    if (share <= 0)
        return "origin";
    return rng_unit(p->rand) < share ? "waf" : "origin";
}

static ledger_cause cause_of(const net_response *resp)
{
    if (resp->status < 0)
        return exp_refusal_cause(resp->status);
    return strcmp(resp->reason, "waf") == 0 ? CAUSE_REJECTED_BY_WAF : CAUSE_LOST_AT_HOP;
}

static void drop_all(pipeline *p, const uint64_t *items, size_t n, int64_t t, ledger_cause c,
                     const char *layer, uint64_t isolate, const char *note)
{
    for (size_t i = 0; i < n; i++)
        ledger_drop_note(p->l, items[i], t, c, layer, isolate, note);
}

static void call_release(pipeline *p, pl_call *c)
{
    free(c->key);
    c->key = NULL;
    c->next_free = p->free_calls;
    p->free_calls = c;
}

/* The answer is back on the Worker's isolate. */
static void call_done(void *ud, rt *r, const net_response *resp)
{
    pl_call *c = ud;
    pipeline *p = c->p;
    const pl_fetch *f = &p->cfg->fetches[c->fetch];
    pl_req *q = req_of(p, c->request);
    /* The Worker learns the key it stored from the answer: its notifications name it. (How
     * the hop went for the items is hop_arrived's, at the server.) */
    if (q && resp->status >= 200 && resp->status < 300 && f->body == PL_BODY_CARRIED && f->object) {
        free(q->key);
        q->key = c->key;
        c->key = NULL;
        q->stored_by = f->hop;
    }
    pl_done done = c->done;
    void *dud = c->ud;
    uint64_t tag = c->tag;
    call_release(p, c);
    if (done)
        done(dud, tag, r, resp->status);
}

static void nothing_to_carry(void *ud, rt *r)
{
    net_response resp = {PL_NOTHING_TO_CARRY, -1, rt_time(r), NULL, 0, ""};
    call_done(ud, r, &resp);
}

void pl_fetch_send(pipeline *p, rt *r, uint32_t fetch, pl_done done, void *ud, uint64_t tag)
{
    const pl_fetch *f = &p->cfg->fetches[fetch];
    uint64_t request = rt_current_task(r)->request_id;
    pl_req *q = req_of(p, request);
    int64_t t = rt_time(r);
    char *path = fill(f->path, request);
    char *body = NULL;
    size_t len = 0;
    const uint64_t *items = NULL;
    size_t nitems = 0;
    const char *ref = NULL;
    /* Once a notification handed the spans on, they are the origin's: what the Worker sends
     * later are copies the ledger does not follow (an item is never sent after it is lost). */
    bool follow = q && !q->handed;
    if (f->body == PL_BODY_CARRIED && q) {
        body = carried_payload(q, request, t, &len);
        if (follow) {
            items = q->items;
            nitems = q->n;
            q->sent = true;
            q->inflight++;
        }
    } else if (f->body == PL_BODY_NOTIFY) {
        const char *key = q && q->key ? q->key : "";
        size_t kl = strlen(key);
        if (!(body = malloc(kl + 16)))
            abort();
        len = (size_t)sprintf(body, "{\"object\":\"%s\"}", key); /* keys need no escaping */
        if (follow && q->key) {
            items = q->items;
            nitems = q->n;
            ref = q->key;
            q->inflight++;
        }
    }
    pl_call *c = p->free_calls;
    if (c) {
        p->free_calls = c->next_free;
    } else {
        GROW_FOR(p->calls, p->ncalls, p->capcalls, 16);
        if (!(c = calloc(1, sizeof *c)))
            abort();
        p->calls[p->ncalls++] = c;
    }
    *c = (pl_call){p, request, fetch, NULL, done, ud, tag, NULL};
    if (f->body == PL_BODY_CARRIED && !q) {
        /* Its request is over (a timer's work): the Worker holds no spans of it any more.
         * Sending an empty object would replace the real one: the fetch fails at once. */
        free(path);
        free(body);
        if (!rt_post(r, rt_current_isolate_ref(r), request, nothing_to_carry, NULL, c))
            call_release(p, c);
        return;
    }
    if (f->object && f->body == PL_BODY_CARRIED) {
        /* the key is the path after /r2/ */
        if (!(c->key = strdup(path + 4)))
            abort();
        ref = c->key;
    }
    net_request req = {.path = path,
                       .body = body,
                       .len = len,
                       .attempt = 1,
                       .items = items,
                       .nitems = nitems,
                       .done = call_done,
                       .ud = c,
                       .sent_for = request,
                       .dest = &p->dests[fetch],
                       .route = route_of(p, f, path, t),
                       .hop = f->hop,
                       .ref = ref,
                       .keeps_items = true};
    net_fetch(p->n, r, &req);
    free(path);
}

/* ---------- the origin ---------- */

static void store_arrived(void *ud, uint64_t request, const char *ref, const uint64_t *items,
                          size_t nitems, const net_response *resp);

static void queue_job(pipeline *p, const char *ref, const uint64_t *items, size_t nitems, int64_t t)
{
    pl_job *j = p->free_jobs;
    if (j) {
        p->free_jobs = j->next_free;
    } else {
        GROW_FOR(p->jobs, p->njobs, p->capjobs, 16);
        if (!(j = calloc(1, sizeof *j)))
            abort();
        j->slot = p->njobs;
        p->jobs[p->njobs++] = j;
    }
    j->id = p->next_job++;
    j->p = p;
    j->stage = JOB_QUEUED;
    j->stored_at_server = false;
    j->failed_ns = -1;
    j->store_dest = (net_dest){.arrived = store_arrived, .arrived_ud = j};
    j->get_dest =
        (net_dest){.method = "GET", .want_body = true, .arrived = get_arrived, .arrived_ud = j};
    if (!(j->key = strdup(ref)) || !(j->items = malloc(nitems * sizeof *j->items)))
        abort();
    memcpy(j->items, items, nitems * sizeof *j->items);
    j->n = nitems;
    for (size_t i = 0; i < nitems; i++)
        ledger_move(p->l, items[i], t, "origin-queue");
    if (!eng_at(p->e, eng_add(t, dist_draw(&p->cfg->job_delay, p->rand)), EV_PIPE_JOB, j->slot,
                j->id))
        abort();
}

static void settle(pipeline *p, uint64_t request, pl_req *q);

/* A hop of the Worker's reached its server (or never will): a notification acknowledged
 * there queues the origin's job at once, whatever becomes of its answer. */
static void hop_arrived(void *ud, uint64_t request, const char *ref, const uint64_t *items,
                        size_t nitems, const net_response *resp)
{
    pl_dest_ctx *dc = ud;
    pipeline *p = dc->p;
    pl_req *q = req_of(p, request);
    if (!nitems || !q)
        return; /* it carried nothing the Worker holds */
    q->inflight--;
    const pl_fetch *f = &p->cfg->fetches[dc->fetch];
    bool ok = resp->status >= 200 && resp->status < 300;
    if (ok && ref && f->body == PL_BODY_NOTIFY && !q->handed) {
        q->handed = true;
        queue_job(p, ref, items, nitems, resp->sent_ns);
    }
    if (ok && f->body == PL_BODY_CARRIED && !f->object)
        q->handed = true; /* spans POSTed to an ingest endpoint: what it recorded decides */
    /* How the hop went is known here, at its server (or where it was given up), whether or
     * not its answer ever reaches the Worker: the last one that carried the items decides. */
    if (ok) {
        q->failed = false;
    } else if (!q->handed && resp->status != NET_DIED_WAITING && resp->status != NET_STRANDED) {
        /* (those two are the isolate's death and the run's end: the request's own cause) */
        q->failed = true;
        q->fail_cause = cause_of(resp);
        q->fail_hop = f->hop;
        q->fail_ns = resp->sent_ns;
        if (resp->status < 0)
            snprintf(q->fail_note, sizeof q->fail_note, "hop %s never reached its server (%d)",
                     f->hop, resp->status);
        else
            snprintf(q->fail_note, sizeof q->fail_note, "hop %s answered %d%s%s", f->hop,
                     resp->status, resp->reason[0] ? ": refused by the ingest's " : "",
                     resp->reason);
    }
    if (q->over)
        settle(p, request, q);
}

static void job_lost(pl_job *j, int64_t t, ledger_cause c, const char *hop, const char *note)
{
    drop_all(j->p, j->items, j->n, t, c, hop, 0, note);
    job_release(j->p, j);
}

static void stored(void *ud, const net_response *resp)
{
    pl_job *j = ud;
    if (resp->status >= 200 && resp->status < 300) {
        job_release(j->p, j);
        return;
    }
    char note[160];
    snprintf(note, sizeof note, "the origin's store of %s answered %d", j->key, resp->status);
    job_lost(j, resp->sent_ns,
             resp->status < 0                   ? exp_refusal_cause(resp->status)
             : strcmp(resp->reason, "waf") == 0 ? CAUSE_REJECTED_BY_WAF
                                                : CAUSE_REJECTED_BY_INGEST,
             "store", note);
}

static void fetched(void *ud, const net_response *resp)
{
    pl_job *j = ud;
    pipeline *p = j->p;
    if (resp->status != 200 || !resp->body) {
        char note[160];
        snprintf(note, sizeof note, "the origin's GET of %s answered %d", j->key, resp->status);
        job_lost(j, resp->sent_ns, cause_of(resp), "fetch-object", note);
        return;
    }
    char *body = malloc(resp->body_len + 1);
    if (!body)
        abort();
    memcpy(body, resp->body, resp->body_len);
    body[resp->body_len] = '\0';
    /* The object may no longer hold this job's spans (a later PUT of the same key replaced
     * it): those are lost here; the store carries what the object holds of them. */
    size_t keep = 0;
    for (size_t i = 0; i < j->n; i++) {
        char id[24];
        snprintf(id, sizeof id, "\"i%010" PRIu64 "\"", j->items[i]);
        if (strstr(body, id))
            j->items[keep++] = j->items[i];
        else
            ledger_drop_note(p->l, j->items[i], resp->sent_ns, CAUSE_LOST_AT_HOP, "fetch-object", 0,
                             "the object no longer held it: a later PUT replaced it");
    }
    j->n = keep;
    j->stage = JOB_STORE;
    j->failed_ns = -1; /* its GET's; the store's own is the store's */
    net_request req = {.path = p->cfg->store_path,
                       .body = body,
                       .len = resp->body_len,
                       .attempt = 1,
                       .items = j->items,
                       .nitems = j->n,
                       .route = "origin",
                       .hop = "store",
                       .ref = j->key,
                       .dest = &j->store_dest,
                       .keeps_items = true};
    net_send_direct(p->n, p->rand, &req, stored, j);
}

bool pl_handle(pipeline *p, const eng_event *ev)
{
    if (ev->type != EV_PIPE_JOB)
        return false;
    if (ev->a >= p->njobs || p->jobs[ev->a]->id != ev->b)
        return true;
    pl_job *j = p->jobs[ev->a];
    j->stage = JOB_GET;
    char *path = malloc(strlen(j->key) + 5);
    if (!path)
        abort();
    sprintf(path, "/r2/%s", j->key);
    net_request req = {.path = path,
                       .attempt = 1,
                       .items = j->items,
                       .nitems = j->n,
                       .dest = &j->get_dest,
                       .route = "origin",
                       .hop = "fetch-object",
                       .ref = j->key,
                       .keeps_items = true};
    net_send_direct(p->n, p->rand, &req, fetched, j);
    free(path);
    return true;
}

/* The store reached the ingest: from here what it recorded decides the items' fates. Or the
 * network failed it (a fault): if no rejection comes back before the end, that is the loss. */
static void store_arrived(void *ud, uint64_t request, const char *ref, const uint64_t *items,
                          size_t nitems, const net_response *resp)
{
    (void)request, (void)ref, (void)items, (void)nitems;
    pl_job *j = ud;
    j->stored_at_server = resp->status >= 0;
    if (resp->status == NET_NETWORK_ERROR)
        j->failed_ns = resp->sent_ns;
}

/* An origin's GET the network failed (a fault): if no rejection comes back before the end,
 * that is the loss. */
static void get_arrived(void *ud, uint64_t request, const char *ref, const uint64_t *items,
                        size_t nitems, const net_response *resp)
{
    (void)request, (void)ref, (void)items, (void)nitems;
    pl_job *j = ud;
    if (resp->status == NET_NETWORK_ERROR)
        j->failed_ns = resp->sent_ns;
}

void pl_end(pipeline *p, int64_t t_ns)
{
    /* Every job still open: not taken, or its GET or store under way (the origin's requests
     * keep their items: the network drops none of them). A store the ingest already
     * answered is decided by what it recorded. */
    for (uint32_t i = 0; i < p->njobs; i++) {
        pl_job *j = p->jobs[i];
        if (!j->id || j->stored_at_server)
            continue;
        if (j->stage == JOB_QUEUED)
            job_lost(j, t_ns, CAUSE_STRANDED_AT_END, "origin-queue",
                     "the run ended before the origin's worker took the job");
        else if (j->failed_ns >= 0) /* hung, or its rejection still on its way back */
            job_lost(j, j->failed_ns, CAUSE_NETWORK_ERROR,
                     j->stage == JOB_GET ? "fetch-object" : "store",
                     "the origin's request failed on the network, and no answer came");
        else
            job_lost(j, t_ns, CAUSE_STRANDED_AT_END, j->stage == JOB_GET ? "fetch-object" : "store",
                     "the run ended while the origin's request was under way");
    }
}

/* ---------- requests ending ---------- */

/* The request is over and nothing it sent is still on its way: what it never handed on is
 * lost, for the reason that decided it. */
static void settle(pipeline *p, uint64_t request, pl_req *q)
{
    if (q->inflight)
        return;
    p->reqs[request] = NULL;
    if (!q->handed) {
        char note[200];
        const char *layer = "worker";
        ledger_cause c = CAUSE_LOST_AT_HOP;
        int64_t t = q->over_ns;
        if (q->failed) {
            c = q->fail_cause;
            layer = q->fail_hop;
            t = q->fail_ns;
            snprintf(note, sizeof note, "%s", q->fail_note);
        } else if (q->death != CAUSE_COUNT) {
            c = q->death;
            snprintf(note, sizeof note, "request %" PRIu64 " ended with its isolate", request);
        } else if (q->key) {
            layer = q->stored_by;
            snprintf(note, sizeof note, "stored as %s and never notified about: an orphaned object",
                     q->key);
        } else {
            snprintf(note, sizeof note, "request %" PRIu64 " ended without %s", request,
                     q->sent ? "a hop acknowledging them" : "any hop carrying them");
        }
        drop_all(p, q->items, q->n, t, c, layer, q->isolate, note);
    }
    req_free(q);
}

static void request_over(pipeline *p, uint64_t request, int64_t t, ledger_cause death)
{
    pl_req *q = req_of(p, request);
    if (!q || q->over)
        return;
    q->over = true;
    q->over_ns = t;
    q->death = death;
    settle(p, request, q);
}

void pl_request_ended(pipeline *p, uint64_t request, int64_t t_ns)
{
    request_over(p, request, t_ns, CAUSE_COUNT);
}

void pl_request_killed(pipeline *p, uint64_t request, int cause, int64_t t_ns)
{
    request_over(p, request, t_ns,
                 cause == RT_CPU_LIMIT ? CAUSE_CPU_LIMIT : ledger_cause_of_death(cause));
}
