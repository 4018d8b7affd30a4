/*
 * Fix A: export() POSTs at once and waits for the answer; nothing is kept
 * between calls, so an isolate's death can only cost a response, never a
 * buffer. flush() has nothing to do.
 */
#include "exporter.h"

#include <stdlib.h>

typedef struct wait_op {
    struct immediate *m;
    exp_k k;
    struct wait_op *next;
} wait_op;

typedef struct immediate {
    exporter base;
    exp_sender sender;
    wait_op *waits;
} immediate;

static void on_sent(void *ud, rt *r, int status, int64_t retry_after_s, item_vec *items)
{
    (void)retry_after_s;
    wait_op *w = ud;
    immediate *m = w->m;
    if (status < 200 || status >= 300)
        exp_dropped(&m->base.env, items, exp_refusal_cause(status), "in-flight");
    vec_free(items);
    wait_op **pp = &m->waits;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (*pp)
        *pp = w->next;
    exp_k k = w->k;
    free(w);
    if (k.fn)
        k.fn(k.ud, r);
}

static bool immediate_export(exporter *e, sdk_signal sig, item_vec *items, exp_k k)
{
    immediate *m = (immediate *)e;
    if (items->n == 0)
        return true;
    wait_op *w = malloc(sizeof *w);
    if (!w)
        abort();
    *w = (wait_op){m, k, m->waits};
    m->waits = w;
    send_items(&m->sender, sig, items, on_sent, w);
    return false;
}

static bool immediate_flush(exporter *e, exp_k k)
{
    (void)e, (void)k;
    return true;
}

static void immediate_destroy(exporter *e, ledger_cause cause)
{
    immediate *m = (immediate *)e;
    send_abandon_all(&m->sender, cause);
    while (m->waits) {
        wait_op *nx = m->waits->next;
        free(m->waits);
        m->waits = nx;
    }
    free(m);
}

/* These strategies hold nothing but items: shutting down is flushing. */
static const exporter_ops ops = {immediate_export, immediate_flush, immediate_flush,
                                 immediate_destroy};

exporter *exp_immediate_new(const exp_env *env)
{
    immediate *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->base.ops = &ops;
    m->base.env = *env;
    m->sender.env = &m->base.env;
    return &m->base;
}
