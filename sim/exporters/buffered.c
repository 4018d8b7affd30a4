/*
 * The seed's exporter (StackbiltCloudExporter): layer 2, a buffer of its own.
 *
 *   export(items): push, then maybeFlush():
 *     during a backoff (a 403 from the cap)            -> return, items stay
 *     fewer than batch_items and under batch_bytes    -> return, items stay
 *     else flush()
 *   flush(): while the circuit breaker is open -> return; else POST what is
 *     buffered, one payload per signal, and wait for the answers (at most
 *     flush_budget):
 *     2xx -> done; 403 -> the items go back to the buffer and a backoff
 *     starts (Retry-After, else backoff_s); other refusals (and retries
 *     exhausted) -> the items are dropped as rejected.
 *   circuit breaker: `failures` failed flushes in a row open it for open_s;
 *     then half-open, `successes` good answers close it.
 *
 * threshold, propagate, exposed, private_reach and interval all use this
 * exporter; they differ in their capabilities (who can call flush(): the SDK
 * asks the descriptor) and, for interval, in a setInterval(flush) made when
 * the exporter is created. Written against the ABI only
 * (include/edgeloss/exporter.h), as a plugin would be: it reads its settings
 * from the scenario's exporter object in configure() (their reference is the
 * scenario key table, scenarios/README.md; test_plugin checks that the
 * defaults and ranges here are the table's).
 */
#include <edgeloss/exporter.h>

#include <stdbool.h>
#include <stdlib.h>

typedef struct buffered_config {
    uint32_t batch_items; /* POST when this many items are buffered */
    uint32_t batch_bytes; /* ... or this many bytes of OTLP JSON */
    int64_t backoff_ns;   /* after a 403 (Retry-After wins when present and honoured) */
    uint32_t breaker_failures, breaker_successes;
    int64_t breaker_open_ns;
    int64_t flush_budget_ns; /* a flush gives up waiting after this (0: never) */
    int64_t interval_ns;     /* an auto-flush period (0: none; the interval strategy's) */
    bool honor_retry_after;
} buffered_config;

typedef struct flush_op {
    struct buffered *b;
    int pending; /* payloads not answered yet */
    el_call *call;
    bool done; /* the caller was resumed (answers or budget) */
    uint64_t budget_timer;
    struct flush_op *next;
} flush_op;

typedef struct buffered {
    el_host *h;
    const el_host_api *api;
    const buffered_config *c;
    el_items buf[EL_SIGNALS];
    uint64_t bytes;
    int64_t backoff_until_ns;
    uint32_t failures;  /* consecutive */
    uint32_t successes; /* consecutive, while half-open */
    int64_t open_until_ns;
    bool half_open;
    flush_op *flushes;
} buffered;

static void push_all(el_items *v, el_item *const *items, size_t n)
{
    if (el_items_add(v, items, n))
        abort();
}

static void buffered_destroy(void *self, el_cause cause)
{
    buffered *b = self;
    /* Items held back by a backoff die for that reason: say so. */
    el_cause held = cause == EL_EVICTED_IN_BUFFER && el_now(b->h) < b->backoff_until_ns
                        ? EL_DROPPED_IN_BACKOFF
                        : cause;
    for (int g = 0; g < EL_SIGNALS; g++) {
        b->api->drop(b->h, b->buf[g].v, b->buf[g].n, held, "exporter");
        el_items_free(&b->buf[g]);
    }
    while (b->flushes) {
        flush_op *nx = b->flushes->next;
        free(b->flushes);
        b->flushes = nx;
    }
}

static uint64_t count(const buffered *b)
{
    return b->buf[EL_TRACES].n + b->buf[EL_METRICS].n + b->buf[EL_LOGS].n;
}

static void breaker(buffered *b, bool ok, int64_t now)
{
    const buffered_config *c = b->c;
    if (ok) {
        b->failures = 0;
        if (b->half_open && ++b->successes >= c->breaker_successes) {
            b->half_open = false;
            b->successes = 0;
        }
        return;
    }
    b->successes = 0;
    if (b->half_open || ++b->failures >= c->breaker_failures) {
        b->open_until_ns = now + c->breaker_open_ns;
        b->half_open = true; /* after the open period */
        b->failures = 0;
    }
}

static void flush_finish(flush_op *op)
{
    buffered *b = op->b;
    flush_op **pp = &b->flushes;
    while (*pp && *pp != op)
        pp = &(*pp)->next;
    if (*pp)
        *pp = op->next;
    bool resume = !op->done;
    el_call *call = op->call;
    if (op->budget_timer)
        b->api->timer_clear(b->h, op->budget_timer);
    free(op);
    if (resume)
        el_done(b->h, call);
}

static void on_sent(void *ud, int status, int64_t retry_after_s, el_item *const *items, size_t n)
{
    flush_op *op = ud;
    buffered *b = op->b;
    const el_host_api *api = b->api;
    int64_t now = el_now(b->h);
    if (status >= 200 && status < 300) {
        breaker(b, true, now);
        api->release(b->h, items, n); /* on the wire and acknowledged: forget them */
    } else if (status == 403) {
        /* The cap: back off, keep the items for later (as the seed's exporter does). A
         * Retry-After is at most ~31 years (net.h), so this cannot overflow. */
        b->backoff_until_ns =
            now + (retry_after_s >= 0 && b->c->honor_retry_after ? retry_after_s * 1000000000LL
                                                                 : b->c->backoff_ns);
        breaker(b, false, now);
        el_signal sig = n ? api->item_signal(items[0]) : EL_TRACES;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            api->item_fragment(items[i], &len);
            b->bytes += len;
        }
        api->moved(b->h, items, n, "exporter");
        if (el_items_prepend(&b->buf[sig], items, n))
            abort();
    } else {
        breaker(b, false, now);
        api->drop(b->h, items, n, api->refusal_cause(status), "exporter");
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
    el_done(op->b->h, op->call);
}

static void buffered_flush(void *self, el_call *call)
{
    buffered *b = self;
    int64_t now = el_now(b->h);
    if (now < b->open_until_ns || count(b) == 0) {
        el_done(b->h, call);
        return;
    }
    flush_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->b = b;
    op->call = call;
    op->next = b->flushes;
    b->flushes = op;
    int sigs = 0;
    for (int g = 0; g < EL_SIGNALS; g++)
        sigs += b->buf[g].n > 0;
    op->pending = sigs;
    b->bytes = 0;
    for (int g = 0; g < EL_SIGNALS; g++) {
        if (!b->buf[g].n)
            continue;
        el_items items = b->buf[g];
        b->buf[g] = (el_items){0};
        b->api->send(b->h, (el_signal)g, items.v, items.n, on_sent, op);
        el_items_free(&items);
    }
    if (b->c->flush_budget_ns > 0)
        op->budget_timer = b->api->timer(b->h, b->c->flush_budget_ns, 0, budget_spent, op);
}

static void buffered_export(void *self, el_signal sig, el_item *const *items, size_t n,
                            el_call *call)
{
    buffered *b = self;
    const buffered_config *c = b->c;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        b->api->item_fragment(items[i], &len);
        b->bytes += len;
    }
    b->api->moved(b->h, items, n, "exporter");
    push_all(&b->buf[sig], items, n);
    /* maybeFlush() */
    if (el_now(b->h) < b->backoff_until_ns ||
        (count(b) < c->batch_items && b->bytes < c->batch_bytes)) {
        el_done(b->h, call);
        return;
    }
    buffered_flush(self, call);
}

static void interval_fire(void *ud)
{
    buffered_flush(ud, NULL);
}

static int buffered_configure(void *config, el_options *o)
{
    buffered_config *c = config;
    const el_options_api *api = o->api;
    int64_t items = 0, bytes = 0, failures = 0, successes = 0;
    int honor = 0;
    int rc = api->integer(o, "batch_items", 100, 1, 1000000, &items) ||
             api->integer(o, "batch_bytes", 51200, 1, 1000000000, &bytes) ||
             api->duration(o, "backoff_s", 60, 0, 1e6, &c->backoff_ns) ||
             api->integer(o, "breaker.failures", 5, 1, 1000000, &failures) ||
             api->duration(o, "breaker.open_s", 60, 0, 1e6, &c->breaker_open_ns) ||
             api->integer(o, "breaker.successes", 2, 1, 1000000, &successes) ||
             api->duration(o, "flush_budget_s", 10, 0, 1e6, &c->flush_budget_ns) ||
             /* The host's retry policy reads it too: a 403's Retry-After is honoured alike. */
             api->boolean(o, "retry.honor_retry_after", 1, &honor);
    c->batch_items = (uint32_t)items;
    c->batch_bytes = (uint32_t)bytes;
    c->breaker_failures = (uint32_t)failures;
    c->breaker_successes = (uint32_t)successes;
    c->honor_retry_after = honor != 0;
    return rc;
}

/* The interval strategy is the buffered exporter with an auto-flush timer. */
static int interval_configure(void *config, el_options *o)
{
    buffered_config *c = config;
    return buffered_configure(config, o) ||
           o->api->duration(o, "interval_s", 10, 0.001, 1e6, &c->interval_ns);
}

static void buffered_create(void *self, el_host *h, const void *config)
{
    buffered *b = self;
    b->h = h;
    b->api = h->api;
    b->c = config;
    if (b->c->interval_ns > 0)
        b->api->timer(h, b->c->interval_ns, b->c->interval_ns, interval_fire, b);
}

/* These strategies hold nothing but items: shutting down is flushing. */
#define BUFFERED(sym, nm, cp, bd, conf)                                                            \
    const el_exporter sym = {.abi = EL_EXPORTER_ABI,                                               \
                             .size = sizeof(el_exporter),                                          \
                             .name = nm,                                                           \
                             .caps = EL_CAP_BATCHES_ACROSS_REQUESTS | (cp),                        \
                             .bundle = bd,                                                         \
                             .config_size = sizeof(buffered_config),                               \
                             .state_size = sizeof(buffered),                                       \
                             .configure = conf,                                                    \
                             .create = buffered_create,                                            \
                             .export_items = buffered_export,                                      \
                             .flush = buffered_flush,                                              \
                             .shutdown = buffered_flush,                                           \
                             .destroy = buffered_destroy}

BUFFERED(exp_threshold, "threshold", 0, EL_BUNDLE_NONE, buffered_configure);
BUFFERED(exp_propagate, "propagate", EL_CAP_FLUSH_REACHES_IT, EL_BUNDLE_NONE, buffered_configure);
BUFFERED(exp_exposed, "exposed", 0, EL_BUNDLE_PUBLIC, buffered_configure);
BUFFERED(exp_private_reach, "private_reach", 0, EL_BUNDLE_PRIVATE, buffered_configure);
BUFFERED(exp_interval, "interval", 0, EL_BUNDLE_NONE, interval_configure);
