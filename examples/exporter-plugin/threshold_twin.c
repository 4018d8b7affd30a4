/*
 * threshold-twin: the built-in `threshold` exporter (the seed's StackbiltCloudExporter) as a
 * plugin, written against <edgeloss/exporter.h> alone. With no options a run with it gives the
 * same fates and the same event-log hash as a run with "strategy": "threshold".
 *
 *   export(items): take them into the buffer of their signal, then maybeFlush():
 *     during a backoff (after a 403 from the ingest's cap)  -> done, the items stay
 *     fewer than batch_items and under batch_bytes         -> done, the items stay
 *     else flush()
 *   flush(): while the circuit breaker is open, or with nothing buffered -> done; else POST
 *     what is buffered, one payload per signal (traces, metrics, logs), through the host's
 *     sending (its encoder and retry policy), and wait for the answers, at most
 *     flush_budget_s:
 *     2xx -> delivered; 403 -> the items go back to the front of their buffer and a backoff
 *     starts (Retry-After when honor_retry_after and the answer has one, else backoff_s);
 *     any other final answer -> the items are lost, for the cause the host names.
 *   circuit breaker: breaker_failures failed answers in a row open it for breaker_open_s;
 *     then half-open: one failure opens it again, breaker_successes good answers close it.
 *   shutdown() is flush(). destroy(): what is still buffered is lost - to "dropped in
 *     backoff" when an eviction finds it held back by a backoff, else to the death's cause.
 *
 * Options ("exporter": {"plugin": "...", "options": {...}}), all optional:
 *   batch_items 100 (1..1e6), batch_bytes 51200 (1..1e9), backoff_s 60 (0..1e6),
 *   flush_budget_s 10 (0..1e6, 0: wait for every answer), breaker_failures 5 (1..1e6),
 *   breaker_open_s 60 (0..1e6), breaker_successes 2 (1..1e6), honor_retry_after true.
 *
 * Only edgeloss_exporter() is exported; build with -fvisibility=hidden.
 */
#include <edgeloss/exporter.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define LAYER "exporter"

typedef struct config {
    uint32_t batch_items; /* POST when this many items are buffered */
    uint32_t batch_bytes; /* ... or this many bytes of OTLP JSON */
    int64_t backoff_ns;   /* after a 403 (Retry-After wins when present and honoured) */
    uint32_t breaker_failures, breaker_successes;
    int64_t breaker_open_ns;
    bool honor_retry_after;
    int64_t flush_budget_ns; /* a flush stops waiting after this (0: never) */
} config;

struct twin;

/* One flush waiting for its answers. */
typedef struct flush_op {
    struct twin *t;
    int pending; /* payloads not answered yet */
    el_call *call;
    bool done; /* the call was finished (answers or budget) */
    uint64_t budget_timer;
    struct flush_op *next;
} flush_op;

/* The state of one isolate's exporter (allocated and zeroed by the host). */
typedef struct twin {
    el_host *h;
    config cfg;
    el_items buf[EL_SIGNALS];
    uint64_t bytes; /* of everything buffered */
    int64_t backoff_until_ns;
    uint32_t failures;  /* consecutive */
    uint32_t successes; /* consecutive, while half-open */
    int64_t open_until_ns;
    bool half_open;
    flush_op *flushes;
} twin;

static uint64_t item_len(const twin *t, const el_item *it)
{
    size_t len = 0;
    t->h->api->item_fragment(it, &len);
    return len;
}

static uint64_t count(const twin *t)
{
    return t->buf[EL_TRACES].n + t->buf[EL_METRICS].n + t->buf[EL_LOGS].n;
}

static int configure(void *config_, el_options *o)
{
    config *c = config_;
    const el_options_api *api = o->api;
    int64_t batch_items, batch_bytes, failures, successes;
    int honor;
    /* Every key is asked for even after a bad one, so that none is reported as unknown. */
    int rc = 0;
    rc |= api->integer(o, "batch_items", 100, 1, 1000000, &batch_items);
    rc |= api->integer(o, "batch_bytes", 51200, 1, 1000000000, &batch_bytes);
    rc |= api->duration(o, "backoff_s", 60, 0, 1e6, &c->backoff_ns);
    rc |= api->duration(o, "flush_budget_s", 10, 0, 1e6, &c->flush_budget_ns);
    rc |= api->integer(o, "breaker_failures", 5, 1, 1000000, &failures);
    rc |= api->duration(o, "breaker_open_s", 60, 0, 1e6, &c->breaker_open_ns);
    rc |= api->integer(o, "breaker_successes", 2, 1, 1000000, &successes);
    rc |= api->boolean(o, "honor_retry_after", 1, &honor);
    if (rc)
        return rc;
    c->batch_items = (uint32_t)batch_items;
    c->batch_bytes = (uint32_t)batch_bytes;
    c->breaker_failures = (uint32_t)failures;
    c->breaker_successes = (uint32_t)successes;
    c->honor_retry_after = honor != 0;
    return 0;
}

static void create(void *self, el_host *h, const void *config_)
{
    twin *t = self;
    t->h = h;
    t->cfg = *(const config *)config_;
}

static void breaker(twin *t, bool ok, int64_t now)
{
    const config *c = &t->cfg;
    if (ok) {
        t->failures = 0;
        if (t->half_open && ++t->successes >= c->breaker_successes) {
            t->half_open = false;
            t->successes = 0;
        }
        return;
    }
    t->successes = 0;
    if (t->half_open || ++t->failures >= c->breaker_failures) {
        t->open_until_ns = now + c->breaker_open_ns;
        t->half_open = true; /* after the open period */
        t->failures = 0;
    }
}

static void flush_finish(flush_op *op)
{
    twin *t = op->t;
    flush_op **pp = &t->flushes;
    while (*pp && *pp != op)
        pp = &(*pp)->next;
    if (*pp)
        *pp = op->next;
    bool finish = !op->done;
    el_call *call = op->call;
    if (op->budget_timer)
        t->h->api->timer_clear(t->h, op->budget_timer);
    free(op);
    if (finish)
        el_done(t->h, call);
}

/* The final answer for one signal's payload. */
static void on_sent(void *ud, int status, int64_t retry_after_s, el_item *const *items, size_t n)
{
    flush_op *op = ud;
    twin *t = op->t;
    el_host *h = t->h;
    int64_t now = el_now(h);
    if (status >= 200 && status < 300) {
        breaker(t, true, now);
        h->api->release(h, items, n); /* on the wire and acknowledged: forget them */
    } else if (status == 403) {
        /* The cap: back off, keep the items for later (as the seed's exporter does). A
         * Retry-After is at most ~31 years, backoff_s at most 1e6 s: no overflow. */
        t->backoff_until_ns =
            now + (retry_after_s >= 0 && t->cfg.honor_retry_after ? retry_after_s * 1000000000LL
                                                                  : t->cfg.backoff_ns);
        breaker(t, false, now);
        el_signal sig = n ? h->api->item_signal(items[0]) : EL_TRACES;
        for (size_t i = 0; i < n; i++)
            t->bytes += item_len(t, items[i]);
        h->api->moved(h, items, n, LAYER);
        if (el_items_prepend(&t->buf[sig], items, n))
            abort();
    } else {
        breaker(t, false, now);
        h->api->drop(h, items, n, h->api->refusal_cause(status), LAYER);
    }
    if (--op->pending == 0)
        flush_finish(op);
}

static void budget_spent(void *ud)
{
    flush_op *op = ud;
    op->budget_timer = 0;
    if (op->done)
        return;
    op->done = true;
    el_done(op->t->h, op->call);
}

static void flush(void *self, el_call *call)
{
    twin *t = self;
    el_host *h = t->h;
    if (el_now(h) < t->open_until_ns || count(t) == 0) {
        el_done(h, call);
        return;
    }
    flush_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->t = t;
    op->call = call;
    op->next = t->flushes;
    t->flushes = op;
    int sigs = 0;
    for (int g = 0; g < EL_SIGNALS; g++)
        sigs += t->buf[g].n > 0;
    op->pending = sigs;
    t->bytes = 0;
    for (int g = 0; g < EL_SIGNALS; g++) {
        if (!t->buf[g].n)
            continue;
        /* The buffer is emptied before the items are handed over: they are the host's now. */
        el_items items = t->buf[g];
        t->buf[g] = (el_items){0};
        h->api->send(h, (el_signal)g, items.v, items.n, on_sent, op);
        el_items_free(&items);
    }
    if (t->cfg.flush_budget_ns > 0)
        op->budget_timer = h->api->timer(h, t->cfg.flush_budget_ns, 0, budget_spent, op);
}

static void export_items(void *self, el_signal sig, el_item *const *items, size_t n, el_call *call)
{
    twin *t = self;
    el_host *h = t->h;
    for (size_t i = 0; i < n; i++)
        t->bytes += item_len(t, items[i]);
    h->api->moved(h, items, n, LAYER);
    if (el_items_add(&t->buf[sig], items, n))
        abort();
    /* maybeFlush() */
    if (el_now(h) < t->backoff_until_ns ||
        (count(t) < t->cfg.batch_items && t->bytes < t->cfg.batch_bytes)) {
        el_done(h, call);
        return;
    }
    flush(t, call);
}

static void destroy(void *self, el_cause cause)
{
    twin *t = self;
    el_host *h = t->h;
    /* Items held back by a backoff die for that reason: say so. */
    el_cause held = cause == EL_EVICTED_IN_BUFFER && el_now(h) < t->backoff_until_ns
                        ? EL_DROPPED_IN_BACKOFF
                        : cause;
    for (int g = 0; g < EL_SIGNALS; g++) {
        h->api->drop(h, t->buf[g].v, t->buf[g].n, held, LAYER);
        el_items_free(&t->buf[g]);
    }
    /* Sends waiting for a retry die with the isolate (the host drops them); the flushes
     * waiting for answers are never answered now. */
    while (t->flushes) {
        flush_op *nx = t->flushes->next;
        free(t->flushes);
        t->flushes = nx;
    }
}

/* Everything it holds is in its buffer (in flight, the host holds it). destroy() drops it all
 * itself, so this only names the layer for a plugin that would not. */
static const char *layer_of(void *self, const el_item *it)
{
    (void)self, (void)it;
    return LAYER;
}

static const el_exporter descriptor = {
    .abi = EL_EXPORTER_ABI,
    .size = sizeof(el_exporter),
    .name = "threshold-twin",
    .caps = EL_CAP_BATCHES_ACROSS_REQUESTS,
    .bundle = EL_BUNDLE_NONE,
    .config_size = sizeof(config),
    .state_size = sizeof(twin),
    .configure = configure,
    .create = create,
    .export_items = export_items,
    .flush = flush,
    .shutdown = flush, /* it holds nothing but items: shutting down is flushing */
    .destroy = destroy,
    .layer_of = layer_of,
};

EL_EXPORT const el_exporter *edgeloss_exporter(void)
{
    return &descriptor;
}
