/*
 * Sending a batch of items: the OTLP/HTTP JSON payload, the POST through the
 * simulated network, and the retry policy (429, 5xx and a fetch that rejected with a
 * network error: up to `retries` more attempts, the backoff doubling, Retry-After
 * honoured when asked).
 * Retry waits are timers, so they freeze in an idle isolate like any other.
 */
#include "exporter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct send_op {
    exp_sender *snd;
    sdk_signal sig;
    item_vec items;
    uint32_t attempt;
    uint64_t sent_for; /* the request the payload says it was sent for (0: none) */
    bool in_flight;    /* else waiting for its retry timer */
    send_done cb;
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
    send_op **pp = &op->snd->ops;
    while (*pp && *pp != op)
        pp = &(*pp)->next;
    if (*pp)
        *pp = op->next;
}

static void on_response(void *ud, rt *r, const net_response *resp);

static void post(send_op *op)
{
    const exp_env *env = op->snd->env;
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
    char *body = exp_payload(env->cfg->service, op->sig, frags, lens, n, op->sent_for, &len);
    exp_moved(env, &op->items, "in-flight");
    net_request req = {.path = paths[op->sig],
                       .body = body,
                       .len = len,
                       .attempt = op->attempt,
                       .items = ids,
                       .nitems = n,
                       .done = on_response,
                       .ud = op,
                       .sent_for = op->sent_for,
                       .timeout_ns = env->cfg->fetch_timeout_ns};
    op->in_flight = true;
    exp_fetch(env, &req);
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
    const exp_env *env = op->snd->env;
    const exp_config *cfg = env->cfg;
    bool transient =
        resp->status == 429 || resp->status >= 500 || resp->status == NET_NETWORK_ERROR;
    if (transient && op->attempt <= cfg->retries) {
        /* Doubling per attempt, saturating: 100 retries of 500 ms would overflow. */
        int64_t delay = dist_draw(&cfg->retry_backoff, env->rand);
        for (uint32_t i = 1; i < op->attempt && delay < ENG_TIME_MAX; i++)
            delay = eng_add(delay, delay);
        if (cfg->honor_retry_after && resp->retry_after_s >= 0)
            delay = resp->retry_after_s * 1000000000LL;
        if (cfg->retry_max_wait_ns && delay > cfg->retry_max_wait_ns)
            delay = cfg->retry_max_wait_ns; /* a Retry-After longer than the budget left */
        exp_moved(env, &op->items, "retry");
        exp_timer(env, delay, 0, retry_fire, op);
        return;
    }
    finish(op, r, resp->status, resp->retry_after_s);
}

void send_items(exp_sender *snd, sdk_signal sig, item_vec *items, send_done cb, void *ud)
{
    send_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->snd = snd;
    op->sig = sig;
    op->attempt = 1;
    /* A request's own code sends for it; the exporter's timers and continuations (C tasks)
     * send for no request, whoever set them; a retry says what its first attempt said. */
    op->sent_for = exp_running_request(snd->env);
    op->cb = cb;
    op->ud = ud;
    vec_append(&op->items, items);
    op->next = snd->ops;
    snd->ops = op;
    post(op);
}

void send_abandon_all(exp_sender *snd, ledger_cause cause)
{
    while (snd->ops) {
        send_op *op = snd->ops;
        snd->ops = op->next;
        /* In flight: the request is on the wire and will be delivered or refused on
         * its own; the response is what dies. Waiting to retry: the items die here. */
        if (!op->in_flight)
            exp_dropped(snd->env, &op->items, cause, "retry");
        vec_free(&op->items);
        free(op);
    }
}
