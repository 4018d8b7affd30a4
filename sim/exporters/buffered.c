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
 * exporter; they differ in who can call flush() (sdk.c) and, for interval,
 * in a setInterval(flush) made when the exporter is created.
 */
#include "exporter.h"

#include <stdlib.h>
#include <string.h>

typedef struct flush_op {
    struct buffered *b;
    int pending; /* payloads not answered yet */
    exp_k k;
    bool done; /* the caller was resumed (answers or budget) */
    uint64_t budget_timer;
    struct flush_op *next;
} flush_op;

typedef struct buffered {
    exporter base;
    exp_sender sender;
    item_vec buf[SIG_COUNT];
    uint64_t bytes;
    int64_t backoff_until_ns;
    uint32_t failures;  /* consecutive */
    uint32_t successes; /* consecutive, while half-open */
    int64_t open_until_ns;
    bool half_open;
    flush_op *flushes;
} buffered;

static void buffered_destroy(exporter *e, ledger_cause cause)
{
    buffered *b = (buffered *)e;
    /* Items held back by a backoff die for that reason: say so. */
    ledger_cause held = cause == CAUSE_EVICTED_IN_BUFFER && exp_now(&e->env) < b->backoff_until_ns
                            ? CAUSE_DROPPED_IN_BACKOFF
                            : cause;
    for (int g = 0; g < SIG_COUNT; g++) {
        exp_dropped(&e->env, &b->buf[g], held, "exporter");
        vec_free(&b->buf[g]);
    }
    send_abandon_all(&b->sender, cause);
    while (b->flushes) {
        flush_op *nx = b->flushes->next;
        free(b->flushes);
        b->flushes = nx;
    }
    free(b);
}

static uint64_t count(const buffered *b)
{
    return b->buf[SIG_TRACES].n + b->buf[SIG_METRICS].n + b->buf[SIG_LOGS].n;
}

static void breaker(buffered *b, bool ok, int64_t now)
{
    const exp_config *c = b->base.env.cfg;
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

static void flush_finish(flush_op *op, rt *r)
{
    buffered *b = op->b;
    flush_op **pp = &b->flushes;
    while (*pp && *pp != op)
        pp = &(*pp)->next;
    if (*pp)
        *pp = op->next;
    bool resume = !op->done;
    exp_k k = op->k;
    if (op->budget_timer)
        exp_timer_clear(&op->b->base.env, op->budget_timer);
    free(op);
    if (resume && k.fn)
        k.fn(k.ud, r);
}

static void on_sent(void *ud, rt *r, int status, int64_t retry_after_s, item_vec *items)
{
    flush_op *op = ud;
    buffered *b = op->b;
    exp_env *env = &b->base.env;
    int64_t now = exp_now(env);
    if (status >= 200 && status < 300) {
        breaker(b, true, now);
        vec_free(items); /* on the wire and acknowledged: the exporter forgets them */
    } else if (status == 403) {
        /* The cap: back off, keep the items for later (as the seed's exporter does). */
        b->backoff_until_ns = eng_add(now, retry_after_s >= 0 && env->cfg->honor_retry_after
                                               ? retry_after_s * 1000000000LL
                                               : env->cfg->backoff_ns);
        breaker(b, false, now);
        sdk_signal sig = items->n ? items->v[0]->sig : SIG_TRACES;
        for (size_t i = 0; i < items->n; i++)
            b->bytes += items->v[i]->len;
        exp_moved(env, items, "exporter");
        vec_prepend(&b->buf[sig], items);
    } else {
        breaker(b, false, now);
        exp_dropped(env, items, exp_refusal_cause(status), "exporter");
        vec_free(items);
    }
    if (--op->pending == 0)
        flush_finish(op, r);
}

static void budget_spent(void *ud, rt *r)
{
    flush_op *op = ud;
    op->budget_timer = 0;
    if (op->done)
        return;
    op->done = true;
    if (op->k.fn)
        op->k.fn(op->k.ud, r);
}

static bool buffered_flush(exporter *e, exp_k k)
{
    buffered *b = (buffered *)e;
    int64_t now = exp_now(&e->env);
    if (now < b->open_until_ns || count(b) == 0)
        return true;
    flush_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->b = b;
    op->k = k;
    op->next = b->flushes;
    b->flushes = op;
    int sigs = 0;
    for (int g = 0; g < SIG_COUNT; g++)
        sigs += b->buf[g].n > 0;
    op->pending = sigs;
    b->bytes = 0;
    for (int g = 0; g < SIG_COUNT; g++) {
        if (!b->buf[g].n)
            continue;
        item_vec items = {0};
        vec_append(&items, &b->buf[g]);
        send_items(&b->sender, (sdk_signal)g, &items, on_sent, op);
        free(items.v);
    }
    if (e->env.cfg->flush_budget_ns > 0)
        op->budget_timer = exp_timer(&e->env, e->env.cfg->flush_budget_ns, 0, budget_spent, op);
    return false;
}

static bool buffered_export(exporter *e, sdk_signal sig, item_vec *items, exp_k k)
{
    buffered *b = (buffered *)e;
    const exp_config *c = e->env.cfg;
    for (size_t i = 0; i < items->n; i++)
        b->bytes += items->v[i]->len;
    exp_moved(&e->env, items, "exporter");
    vec_append(&b->buf[sig], items);
    /* maybeFlush() */
    if (exp_now(&e->env) < b->backoff_until_ns)
        return true;
    if (count(b) < c->batch_items && b->bytes < c->batch_bytes)
        return true;
    return buffered_flush(e, k);
}

static void interval_fire(void *ud, rt *r)
{
    (void)r;
    buffered_flush(ud, (exp_k){NULL, NULL});
}

/* These strategies hold nothing but items: shutting down is flushing. */
static const exporter_ops ops = {buffered_export, buffered_flush, buffered_flush, buffered_destroy};

exporter *exp_buffered_new(const exp_env *env)
{
    buffered *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->base.ops = &ops;
    b->base.env = *env;
    b->sender.env = &b->base.env;
    if (env->cfg->interval_ns > 0)
        exp_timer(&b->base.env, env->cfg->interval_ns, env->cfg->interval_ns, interval_fire, b);
    return &b->base;
}
