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
 */
#include "exporter.h"

#include <stdlib.h>

typedef struct otel otel;

typedef struct sig_timer {
    otel *o;
    sdk_signal sig;
    uint64_t timer; /* 0: none armed */
} sig_timer;

typedef struct force_op {
    otel *o;
    int pending;
    exp_k k;
    struct force_op *next;
} force_op;

struct otel {
    exporter base;
    exp_sender sender;
    item_vec q[SIG_COUNT];
    sig_timer timers[SIG_COUNT];
    force_op *forces;
    force_op background; /* batches nobody waits for */
};

static void on_sent(void *ud, rt *r, int status, int64_t retry_after_s, item_vec *items)
{
    (void)retry_after_s;
    force_op *f = ud;
    otel *o = f->o;
    if (status < 200 || status >= 300)
        exp_dropped(&o->base.env, items, exp_refusal_cause(status), "in-flight");
    vec_free(items);
    if (f != &o->background && --f->pending == 0) {
        force_op **pp = &o->forces;
        while (*pp && *pp != f)
            pp = &(*pp)->next;
        if (*pp)
            *pp = f->next;
        exp_k k = f->k;
        free(f);
        if (k.fn)
            k.fn(k.ud, r);
    }
}

/* Sends up to max_batch queued items of one signal; returns how many batches went. */
static int export_batches(otel *o, sdk_signal sig, bool all, force_op *f)
{
    uint32_t max = o->base.env.cfg->otel_max_batch;
    int sent = 0;
    while (o->q[sig].n && (all || sent == 0)) {
        item_vec batch = {0};
        size_t n = o->q[sig].n < max ? o->q[sig].n : max;
        for (size_t i = 0; i < n; i++)
            vec_push(&batch, o->q[sig].v[i]);
        for (size_t i = n; i < o->q[sig].n; i++)
            o->q[sig].v[i - n] = o->q[sig].v[i];
        o->q[sig].n -= n;
        send_items(&o->sender, sig, &batch, on_sent, f);
        free(batch.v);
        sent++;
        f->pending++;
    }
    return sent;
}

static void timer_fire(void *ud, rt *r)
{
    (void)r;
    sig_timer *t = ud;
    t->timer = 0;
    export_batches(t->o, t->sig, true, &t->o->background);
}

static bool otel_export(exporter *e, sdk_signal sig, item_vec *items, exp_k k)
{
    (void)k; /* onEnd is synchronous */
    otel *o = (otel *)e;
    const exp_config *c = e->env.cfg;
    for (size_t i = 0; i < items->n; i++) {
        tel_item *it = items->v[i];
        if (o->q[sig].n >= c->otel_max_queue) {
            item_vec one = {&it, 1, 1};
            exp_dropped(&e->env, &one, CAUSE_DROPPED_QUEUE_FULL, "queue");
            item_free(it);
            continue;
        }
        exp_moved_one(&e->env, it, "queue");
        vec_push(&o->q[sig], it);
    }
    items->n = 0;
    if (o->q[sig].n >= c->otel_max_batch)
        export_batches(o, sig, false, &o->background);
    else if (o->q[sig].n && !o->timers[sig].timer)
        o->timers[sig].timer = exp_timer(&e->env, c->otel_delay_ns, 0, timer_fire, &o->timers[sig]);
    return true;
}

static bool otel_flush(exporter *e, exp_k k)
{
    otel *o = (otel *)e;
    force_op *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->o = o;
    f->k = k;
    for (int g = 0; g < SIG_COUNT; g++)
        export_batches(o, (sdk_signal)g, true, f);
    if (f->pending == 0) {
        free(f);
        return true;
    }
    f->next = o->forces;
    o->forces = f;
    return false;
}

static void otel_destroy(exporter *e, ledger_cause cause)
{
    otel *o = (otel *)e;
    for (int g = 0; g < SIG_COUNT; g++) {
        exp_dropped(&e->env, &o->q[g], cause, "queue");
        vec_free(&o->q[g]);
    }
    send_abandon_all(&o->sender, cause);
    while (o->forces) {
        force_op *nx = o->forces->next;
        free(o->forces);
        o->forces = nx;
    }
    free(o);
}

/* These strategies hold nothing but items: shutting down is flushing. */
static const exporter_ops ops = {otel_export, otel_flush, otel_flush, otel_destroy};

exporter *exp_otel_batch_new(const exp_env *env)
{
    otel *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    o->base.ops = &ops;
    o->base.env = *env;
    o->sender.env = &o->base.env;
    for (int g = 0; g < SIG_COUNT; g++)
        o->timers[g] = (sig_timer){o, (sdk_signal)g, 0};
    o->background.o = o;
    return &o->base;
}
