/*
 * What most users run today: an OpenTelemetry BatchSpanProcessor-style queue
 * in front of an OTLP/HTTP exporter, per signal.
 *
 *   an ended item is queued; past max_queue it is dropped (dropped-queue-full)
 *   max_batch queued -> export one batch now, without waiting
 *   else a timer of `delay` (scheduledDelayMillis) exports what is queued -
 *     a setTimeout, so it does not fire while the isolate is idle
 *   forceFlush() (what flush() is here) exports everything and waits
 * A refused batch is dropped, as the OTLP exporter does after its retries.
 * Written against the ABI only; its settings are the exporter object's `otel`
 * (scenarios/README.md).
 */
#include <edgeloss/exporter.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct otel_config {
    uint32_t max_queue, max_batch;
    int64_t delay_ns;
} otel_config;

typedef struct otel otel;

typedef struct sig_timer {
    otel *o;
    el_signal sig;
    uint64_t timer; /* 0: none armed */
} sig_timer;

typedef struct force_op {
    otel *o;
    int pending;
    el_call *call;
    struct force_op *next;
} force_op;

struct otel {
    el_host *h;
    const el_host_api *api;
    const otel_config *c;
    el_items q[EL_SIGNALS];
    sig_timer timers[EL_SIGNALS];
    force_op *forces;
    force_op background; /* batches nobody waits for */
};

static void on_sent(void *ud, int status, int64_t retry_after_s, el_item *const *items, size_t n)
{
    (void)retry_after_s;
    force_op *f = ud;
    otel *o = f->o;
    if (status < 200 || status >= 300)
        o->api->drop(o->h, items, n, o->api->refusal_cause(status), "in-flight");
    else
        o->api->release(o->h, items, n);
    if (f != &o->background && --f->pending == 0) {
        force_op **pp = &o->forces;
        while (*pp && *pp != f)
            pp = &(*pp)->next;
        if (*pp)
            *pp = f->next;
        el_call *call = f->call;
        free(f);
        el_done(o->h, call);
    }
}

/* Sends up to max_batch queued items of one signal; returns how many batches went. */
static int export_batches(otel *o, el_signal sig, bool all, force_op *f)
{
    uint32_t max = o->c->max_batch;
    int sent = 0;
    while (o->q[sig].n && (all || sent == 0)) {
        size_t n = o->q[sig].n < max ? o->q[sig].n : max;
        el_items batch = {0};
        if (el_items_add(&batch, o->q[sig].v, n))
            abort();
        el_items_shift(&o->q[sig], n);
        o->api->send(o->h, sig, batch.v, batch.n, on_sent, f);
        el_items_free(&batch);
        sent++;
        f->pending++;
    }
    return sent;
}

static void timer_fire(void *ud)
{
    sig_timer *t = ud;
    t->timer = 0;
    export_batches(t->o, t->sig, true, &t->o->background);
}

static void otel_export(void *self, el_signal sig, el_item *const *items, size_t n, el_call *call)
{
    otel *o = self;
    const otel_config *c = o->c;
    for (size_t i = 0; i < n; i++) {
        el_item *it = items[i];
        if (o->q[sig].n >= c->max_queue) {
            o->api->drop(o->h, &it, 1, EL_DROPPED_QUEUE_FULL, "queue");
            continue;
        }
        o->api->moved(o->h, &it, 1, "queue");
        if (el_items_push(&o->q[sig], it))
            abort();
    }
    if (o->q[sig].n >= c->max_batch)
        export_batches(o, sig, false, &o->background);
    else if (o->q[sig].n && !o->timers[sig].timer)
        o->timers[sig].timer = o->api->timer(o->h, c->delay_ns, 0, timer_fire, &o->timers[sig]);
    el_done(o->h, call); /* onEnd is synchronous */
}

static void otel_flush(void *self, el_call *call)
{
    otel *o = self;
    force_op *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->o = o;
    f->call = call;
    for (int g = 0; g < EL_SIGNALS; g++)
        export_batches(o, (el_signal)g, true, f);
    if (f->pending == 0) {
        free(f);
        el_done(o->h, call);
        return;
    }
    f->next = o->forces;
    o->forces = f;
}

static void otel_destroy(void *self, el_cause cause)
{
    otel *o = self;
    for (int g = 0; g < EL_SIGNALS; g++) {
        o->api->drop(o->h, o->q[g].v, o->q[g].n, cause, "queue");
        el_items_free(&o->q[g]);
    }
    while (o->forces) {
        force_op *nx = o->forces->next;
        free(o->forces);
        o->forces = nx;
    }
}

static int otel_configure(void *config, el_options *o)
{
    otel_config *c = config;
    const el_options_api *api = o->api;
    int64_t queue = 0, batch = 0;
    double delay_ms = 0;
    int rc = api->integer(o, "otel.max_queue", 2048, 1, 10000000, &queue) ||
             api->integer(o, "otel.max_batch", 512, 1, 1000000, &batch) ||
             api->number(o, "otel.delay_ms", 5000, 0, 1e9, &delay_ms);
    c->max_queue = (uint32_t)queue;
    c->max_batch = (uint32_t)batch;
    c->delay_ns = (int64_t)llround(delay_ms * 1e6);
    return rc;
}

static void otel_create(void *self, el_host *h, const void *config)
{
    otel *o = self;
    o->h = h;
    o->api = h->api;
    o->c = config;
    for (int g = 0; g < EL_SIGNALS; g++)
        o->timers[g] = (sig_timer){o, (el_signal)g, 0};
    o->background.o = o;
}

/* It holds nothing but items: shutting down is flushing. */
const el_exporter exp_otel_batch = {.abi = EL_EXPORTER_ABI,
                                    .size = sizeof(el_exporter),
                                    .name = "otel-batch",
                                    .caps =
                                        EL_CAP_TAKES_SPANS_AT_END | EL_CAP_BATCHES_ACROSS_REQUESTS,
                                    .bundle = EL_BUNDLE_NONE,
                                    .config_size = sizeof(otel_config),
                                    .state_size = sizeof(otel),
                                    .configure = otel_configure,
                                    .create = otel_create,
                                    .export_items = otel_export,
                                    .flush = otel_flush,
                                    .shutdown = otel_flush,
                                    .destroy = otel_destroy};
