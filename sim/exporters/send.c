/*
 * Sending a batch of items: the OTLP/HTTP JSON payload, the POST through the
 * simulated network, and the retry policy (429, 5xx and a fetch that rejected with a
 * network error: up to `retries` more attempts, the backoff doubling, Retry-After
 * honoured when asked).
 * Retry waits are timers, so they freeze in an idle isolate like any other.
 */
#include "host.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct send_op {
    exp_host *h;
    sdk_signal sig;
    item_vec items;
    uint32_t attempt;
    uint64_t sent_for; /* the request the payload says it was sent for (0: none) */
    bool in_flight;    /* else waiting for its retry timer */
    char *raw;         /* an exporter's own body (el_fetch): no retries */
    size_t raw_len;
    int64_t timeout_ns; /* each attempt's (exporter.timeout_s, or the raw POST's) */
    bool is_raw;        /* an exporter's own POST (el_fetch): no retries */
    el_sent_fn cb;
    void *ud;
    struct send_op *next;
} send_op;

static const char *const paths[SIG_COUNT] = {"/v1/traces", "/v1/metrics", "/v1/logs"};

char *exp_payload(const char *service, sdk_signal sig, const char *const *frags,
                  const uint32_t *lens, size_t n, uint64_t sent_for, size_t *len)
{
    static const char *const tops[SIG_COUNT][3] = {
        {"resourceSpans", "scopeSpans", "spans"},
        {"resourceMetrics", "scopeMetrics", "metrics"},
        {"resourceLogs", "scopeLogs", "logRecords"},
    };
    /* The request attribute is formatted apart so that the head is one snprintf either way. */
    char rid[80] = "";
    if (sent_for)
        snprintf(rid, sizeof rid,
                 ",{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"r%" PRIu64 "\"}}",
                 sent_for);
    static const char fmt[] =
        "{\"%s\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"%s\"}}%s]},\"%s\":[{\"scope\":{\"name\":"
        "\"edgeloss-sdk\",\"version\":\"1\"},\"%s\":[";
    static const char tail[] = "]}]}]}";
    int h = snprintf(NULL, 0, fmt, tops[sig][0], service, rid, tops[sig][1], tops[sig][2]);
    if (h < 0)
        abort();
    size_t total = (size_t)h + sizeof tail;
    for (size_t i = 0; i < n; i++)
        total += lens[i] + 1;
    char *b = malloc(total);
    if (!b)
        abort();
    snprintf(b, (size_t)h + 1, fmt, tops[sig][0], service, rid, tops[sig][1], tops[sig][2]);
    size_t o = (size_t)h;
    for (size_t i = 0; i < n; i++) {
        if (i)
            b[o++] = ',';
        memcpy(b + o, frags[i], lens[i]);
        o += lens[i];
    }
    memcpy(b + o, tail, sizeof tail);
    *len = o + sizeof tail - 1;
    return b;
}

static void unlink_op(send_op *op)
{
    send_op **pp = &op->h->ops;
    while (*pp && *pp != op)
        pp = &(*pp)->next;
    if (*pp)
        *pp = op->next;
}

static void on_response(void *ud, rt *r, const net_response *resp);

static void post(send_op *op)
{
    exp_host *h = op->h;
    const exp_config *cfg = h->env.cfg;
    size_t n = op->items.n;
    /* One block for the ledger numbers and the fragments' pointers and lengths. */
    uint64_t *ids = malloc((n ? n : 1) * (sizeof *ids + sizeof(const char *) + sizeof(uint32_t)));
    if (!ids)
        abort();
    const char **frags = (const char **)(ids + n);
    uint32_t *lens = (uint32_t *)(frags + n);
    for (size_t i = 0; i < n; i++) {
        ids[i] = op->items.v[i]->n;
        frags[i] = op->items.v[i]->json;
        lens[i] = op->items.v[i]->len;
    }
    size_t len;
    char *body;
    if (op->raw) {
        body = op->raw;
        len = op->raw_len;
        op->raw = NULL;
    } else {
        body = exp_payload(cfg->service, op->sig, frags, lens, n, op->sent_for, &len);
    }
    int64_t t = rt_time(h->env.r);
    for (size_t i = 0; i < n; i++)
        ledger_move(h->env.ledger, ids[i], t, "in-flight");
    net_request req = {.path = paths[op->sig],
                       .body = body,
                       .len = len,
                       .attempt = op->attempt,
                       .items = ids,
                       .nitems = n,
                       .done = on_response,
                       .ud = op,
                       .sent_for = op->sent_for,
                       .timeout_ns = op->timeout_ns};
    op->in_flight = true;
    net_fetch(h->env.net, h->env.r, &req);
    free(ids);
}

static void retry_fire(void *ud, rt *r)
{
    (void)r;
    send_op *op = ud;
    op->attempt++;
    post(op);
}

static void finish(send_op *op, int status, int64_t retry_after_s)
{
    exp_host *h = op->h;
    unlink_op(op);
    /* The answer gives the items back to the exporter, which releases, drops or keeps them. */
    host_hold(h, (el_item *const *)op->items.v, op->items.n);
    op->cb(op->ud, status, retry_after_s, (el_item *const *)op->items.v, op->items.n);
    free(op->items.v);
    free(op->raw);
    free(op);
    host_drain(h);
}

static void on_response(void *ud, rt *r, const net_response *resp)
{
    (void)r;
    send_op *op = ud;
    op->in_flight = false;
    exp_host *h = op->h;
    const exp_config *cfg = h->env.cfg;
    bool transient =
        resp->status == 429 || resp->status >= 500 || resp->status == NET_NETWORK_ERROR;
    if (!op->is_raw && transient && op->attempt <= cfg->retries) {
        /* Doubling per attempt, saturating: 100 retries of 500 ms would overflow. */
        int64_t delay = dist_draw(&cfg->retry_backoff, h->env.rand);
        for (uint32_t i = 1; i < op->attempt && delay < ENG_TIME_MAX; i++)
            delay = eng_add(delay, delay);
        if (cfg->honor_retry_after && resp->retry_after_s >= 0)
            delay = resp->retry_after_s * 1000000000LL;
        if (cfg->retry_max_wait_ns && delay > cfg->retry_max_wait_ns)
            delay = cfg->retry_max_wait_ns; /* a Retry-After longer than the budget left */
        int64_t t = rt_time(h->env.r);
        for (size_t i = 0; i < op->items.n; i++)
            ledger_move(h->env.ledger, op->items.v[i]->n, t, "retry");
        rt_set_timer_fn(h->env.r, delay, 0, retry_fire, op);
        return;
    }
    finish(op, resp->status, resp->retry_after_s);
}

void send_items(exp_host *h, sdk_signal sig, el_item *const *items, size_t n, el_sent_fn cb,
                void *ud, const el_fetch_req *raw)
{
    send_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->h = h;
    op->sig = sig;
    op->attempt = raw && raw->attempt ? raw->attempt : 1;
    /* A request's own code sends for it; the exporter's timers and continuations (C tasks)
     * send for no request, whoever set them; a retry says what its first attempt said. */
    op->sent_for = host_running_request(h);
    op->cb = cb;
    op->ud = ud;
    op->timeout_ns = h->env.cfg->fetch_timeout_ns;
    if (raw) {
        op->raw = malloc(raw->len ? raw->len : 1);
        if (!op->raw)
            abort();
        memcpy(op->raw, raw->body, raw->len);
        op->raw_len = raw->len;
        op->timeout_ns = raw->timeout_ns > 0 ? raw->timeout_ns : 0;
        op->is_raw = true;
    }
    host_unhold(h, items, n);
    for (size_t i = 0; i < n; i++)
        vec_push(&op->items, (tel_item *)items[i]);
    op->next = h->ops;
    h->ops = op;
    post(op);
}

void send_abandon_all(exp_host *h, ledger_cause cause)
{
    while (h->ops) {
        send_op *op = h->ops;
        h->ops = op->next;
        /* In flight: the request is on the wire and will be delivered or refused on
         * its own; the response is what dies. Waiting to retry: the items die here. */
        if (!op->in_flight)
            exp_dropped(&h->env, &op->items, cause, "retry");
        vec_free(h->env.r, &op->items);
        free(op->raw);
        free(op);
    }
}
