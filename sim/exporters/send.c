/*
 * Sending a batch of items: the OTLP/HTTP JSON payload, the POST through the
 * simulated network, and the retry policy (429 and 5xx: up to `retries`
 * more attempts, the backoff doubling, Retry-After honoured when asked).
 * Retry waits are timers, so they freeze in an idle isolate like any other.
 */
#include "exporter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct send_op {
    exporter *e;
    sdk_signal sig;
    item_vec items;
    uint32_t attempt;
    bool in_flight; /* else waiting for its retry timer */
    send_done cb;
    void *ud;
    struct send_op *next;
} send_op;

static const char *const paths[SIG_COUNT] = {"/v1/traces", "/v1/metrics", "/v1/logs"};

/* The payload around the items' fragments, sent for `request` (resource attribute). */
static char *payload(const exp_config *cfg, sdk_signal sig, const item_vec *items, uint64_t request,
                     size_t *len)
{
    static const char *const tops[SIG_COUNT][3] = {
        {"resourceSpans", "scopeSpans", "spans"},
        {"resourceMetrics", "scopeMetrics", "metrics"},
        {"resourceLogs", "scopeLogs", "logRecords"},
    };
    char head[512];
    int h = snprintf(head, sizeof head,
                     "{\"%s\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
                     "{\"stringValue\":\"%s\"}},{\"key\":\"edgeloss.request_id\",\"value\":"
                     "{\"stringValue\":\"r%" PRIu64 "\"}}]},\"%s\":[{\"scope\":{\"name\":"
                     "\"edgeloss-sdk\",\"version\":\"1\"},\"%s\":[",
                     tops[sig][0], cfg->service, request, tops[sig][1], tops[sig][2]);
    static const char tail[] = "]}]}]}";
    size_t n = (size_t)h + sizeof tail;
    for (size_t i = 0; i < items->n; i++)
        n += items->v[i]->len + 1;
    char *b = malloc(n);
    if (!b)
        abort();
    memcpy(b, head, (size_t)h);
    size_t o = (size_t)h;
    for (size_t i = 0; i < items->n; i++) {
        if (i)
            b[o++] = ',';
        memcpy(b + o, items->v[i]->json, items->v[i]->len);
        o += items->v[i]->len;
    }
    memcpy(b + o, tail, sizeof tail);
    *len = o + sizeof tail - 1;
    return b;
}

static void unlink_op(send_op *op)
{
    send_op **pp = &op->e->sends;
    while (*pp && *pp != op)
        pp = &(*pp)->next;
    if (*pp)
        *pp = op->next;
}

static void on_response(void *ud, rt *r, const net_response *resp);

static void post(send_op *op)
{
    exp_env *env = &op->e->env;
    uint64_t *ids = malloc((op->items.n ? op->items.n : 1) * sizeof *ids);
    if (!ids)
        abort();
    for (size_t i = 0; i < op->items.n; i++)
        ids[i] = op->items.v[i]->n;
    size_t len;
    char *body = payload(env->cfg, op->sig, &op->items, rt_current_task(env->r)->request_id, &len);
    exp_moved(env, &op->items, "in-flight");
    net_request req = {paths[op->sig], body, len, op->attempt, ids, op->items.n, on_response, op};
    op->in_flight = true;
    net_fetch(env->net, env->r, &req);
    free(ids);
}

static void retry_fire(void *ud, rt *r)
{
    (void)r;
    send_op *op = ud;
    op->attempt++;
    post(op);
}

static void finish(send_op *op, rt *r, int status, int64_t retry_after_s)
{
    unlink_op(op);
    op->cb(op->ud, r, status, retry_after_s, &op->items);
    vec_free(&op->items); /* whatever the callback left */
    free(op);
}

static void on_response(void *ud, rt *r, const net_response *resp)
{
    send_op *op = ud;
    op->in_flight = false;
    const exp_config *cfg = op->e->env.cfg;
    bool transient = resp->status == 429 || resp->status >= 500;
    if (transient && op->attempt <= cfg->retries) {
        /* Doubling per attempt, saturating: 100 retries of 500 ms would overflow. */
        int64_t delay = dist_draw(&cfg->retry_backoff, op->e->env.rand);
        for (uint32_t i = 1; i < op->attempt && delay < ENG_TIME_MAX; i++)
            delay = eng_add(delay, delay);
        if (cfg->honor_retry_after && resp->retry_after_s >= 0)
            delay = resp->retry_after_s * 1000000000LL;
        exp_moved(&op->e->env, &op->items, "retry");
        rt_set_timer_fn(r, delay, 0, retry_fire, op);
        return;
    }
    finish(op, r, resp->status, resp->retry_after_s);
}

void send_items(exporter *e, sdk_signal sig, item_vec *items, send_done cb, void *ud)
{
    send_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->e = e;
    op->sig = sig;
    op->attempt = 1;
    op->cb = cb;
    op->ud = ud;
    vec_append(&op->items, items);
    op->next = e->sends;
    e->sends = op;
    post(op);
}

void send_abandon_all(exporter *e, ledger_cause cause)
{
    while (e->sends) {
        send_op *op = e->sends;
        e->sends = op->next;
        /* In flight: the request is on the wire and will be delivered or refused on
         * its own; the response is what dies. Waiting to retry: the items die here. */
        if (!op->in_flight)
            exp_dropped(&e->env, &op->items, cause, "retry");
        vec_free(&op->items);
        free(op);
    }
}
