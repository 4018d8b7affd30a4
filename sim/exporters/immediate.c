/*
 * Fix A: export() POSTs at once and waits for the answer; nothing is kept
 * between calls, so an isolate's death can only cost a response, never a
 * buffer. flush() has nothing to do. Written against the ABI only.
 */
#include <edgeloss/exporter.h>

#include <stdlib.h>

typedef struct wait_op {
    struct immediate *m;
    el_call *call;
    struct wait_op *next;
} wait_op;

typedef struct immediate {
    el_host *h;
    const el_host_api *api;
    wait_op *waits;
} immediate;

static void on_sent(void *ud, int status, int64_t retry_after_s, el_item *const *items, size_t n)
{
    (void)retry_after_s;
    wait_op *w = ud;
    immediate *m = w->m;
    if (status < 200 || status >= 300)
        m->api->drop(m->h, items, n, m->api->refusal_cause(status), "in-flight");
    else
        m->api->release(m->h, items, n);
    wait_op **pp = &m->waits;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (*pp)
        *pp = w->next;
    el_call *call = w->call;
    free(w);
    el_done(m->h, call);
}

static void immediate_export(void *self, el_signal sig, el_item *const *items, size_t n,
                             el_call *call)
{
    immediate *m = self;
    if (n == 0) {
        el_done(m->h, call);
        return;
    }
    wait_op *w = malloc(sizeof *w);
    if (!w)
        abort();
    *w = (wait_op){m, call, m->waits};
    m->waits = w;
    m->api->send(m->h, sig, items, n, on_sent, w);
}

static void immediate_flush(void *self, el_call *call)
{
    immediate *m = self;
    el_done(m->h, call);
}

static void immediate_destroy(void *self, el_cause cause)
{
    (void)cause; /* it holds nothing: what is in flight meets its own fate */
    immediate *m = self;
    while (m->waits) {
        wait_op *nx = m->waits->next;
        free(m->waits);
        m->waits = nx;
    }
}

static void immediate_create(void *self, el_host *h, const void *config)
{
    (void)config;
    immediate *m = self;
    m->h = h;
    m->api = h->api;
}

/* It holds nothing but items: shutting down is flushing. */
const el_exporter exp_immediate = {.abi = EL_EXPORTER_ABI,
                                   .size = sizeof(el_exporter),
                                   .name = "immediate",
                                   .caps = 0,
                                   .bundle = EL_BUNDLE_NONE,
                                   .state_size = sizeof(immediate),
                                   .create = immediate_create,
                                   .export_items = immediate_export,
                                   .flush = immediate_flush,
                                   .shutdown = immediate_flush,
                                   .destroy = immediate_destroy};
