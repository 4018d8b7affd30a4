/*
 * A test plugin that holds every item it is given and never reports a loss: what the host
 * must account for by itself. Options: hook (name its layer through layer_of), send_on_flush
 * (flush() sends everything with the host's send and finishes when the answers came),
 * done_twice (finish each call twice: the host must ignore the second), release_twice (flush
 * releases its first item listed twice: refused), tick_ms (a periodic timer from create that
 * logs "tick" and clears itself on its first firing), rude_destroy (destroy() asks for a
 * timer, a send and a done, and clears the tick timer: ignored or forgotten, never a crash),
 * hang_flush (the first flush is never finished).
 * It logs each call's start and the moment after done(), so a test can see that no caller
 * was resumed inside done().
 */
#include <edgeloss/exporter.h>

#include <stdio.h>

typedef struct cfg {
    int hook, send_on_flush, done_twice, release_twice, rude_destroy, hang_flush;
    int64_t tick_ms;
} cfg;

typedef struct hold {
    el_host *h;
    const cfg *c;
    el_items items;
    unsigned calls;
    uint64_t tick;
    el_call *waiting;
    int pending;
} hold;

static int configure(void *config, el_options *o)
{
    cfg *c = config;
    return o->api->boolean(o, "hook", 0, &c->hook) ||
           o->api->boolean(o, "send_on_flush", 0, &c->send_on_flush) ||
           o->api->boolean(o, "done_twice", 0, &c->done_twice) ||
           o->api->boolean(o, "release_twice", 0, &c->release_twice) ||
           o->api->integer(o, "tick_ms", 0, 0, 1000, &c->tick_ms) ||
           o->api->boolean(o, "rude_destroy", 0, &c->rude_destroy) ||
           o->api->boolean(o, "hang_flush", 0, &c->hang_flush);
}

static void tick(void *ud)
{
    hold *s = ud;
    s->h->api->log(s->h, "tick");
    s->h->api->timer_clear(s->h, s->tick);
}

static void create(void *self, el_host *h, const void *config)
{
    hold *s = self;
    s->h = h;
    s->c = config;
    if (s->c->tick_ms)
        s->tick = h->api->timer(h, s->c->tick_ms * 1000000, s->c->tick_ms * 1000000, tick, s);
}

static void finish(hold *s, el_call *call, unsigned n)
{
    char m[64];
    el_done(s->h, call);
    snprintf(m, sizeof m, "call %u: after done", n);
    s->h->api->log(s->h, m);
    if (s->c->done_twice)
        el_done(s->h, call);
}

static void export_items(void *self, el_signal sig, el_item *const *items, size_t n, el_call *call)
{
    (void)sig;
    hold *s = self;
    unsigned k = ++s->calls;
    char m[64];
    snprintf(m, sizeof m, "call %u: export of %zu", k, n);
    s->h->api->log(s->h, m);
    s->h->api->moved(s->h, items, n, "holdall-buffer");
    el_items_add(&s->items, items, n);
    finish(s, call, k);
}

static void on_sent(void *ud, int status, int64_t retry_after_s, el_item *const *items, size_t n)
{
    (void)retry_after_s;
    hold *s = ud;
    if (status >= 200 && status < 300)
        s->h->api->release(s->h, items, n);
    else
        s->h->api->drop(s->h, items, n, s->h->api->refusal_cause(status), "in-flight");
    if (--s->pending == 0 && s->waiting) {
        el_call *c = s->waiting;
        s->waiting = NULL;
        el_done(s->h, c);
        s->h->api->log(s->h, "answered: after done");
    }
}

static void flush(void *self, el_call *call)
{
    hold *s = self;
    unsigned k = ++s->calls;
    char m[64];
    snprintf(m, sizeof m, "call %u: flush of %zu", k, s->items.n);
    s->h->api->log(s->h, m);
    if (s->c->hang_flush && !s->waiting) {
        s->waiting = call; /* never finished: its caller waits until its isolate dies */
        return;
    }
    if (s->c->release_twice && s->items.n) {
        el_item *twice[2] = {s->items.v[0], s->items.v[0]};
        s->h->api->release(s->h, twice, 2);
    }
    if (!s->c->send_on_flush || !s->items.n || s->waiting) {
        finish(s, call, k);
        return;
    }
    /* One send per signal, in the order they came. */
    for (int g = 0; g < EL_SIGNALS; g++) {
        el_items one = {0};
        for (size_t i = 0; i < s->items.n; i++)
            if (s->h->api->item_signal(s->items.v[i]) == (el_signal)g)
                el_items_push(&one, s->items.v[i]);
        if (one.n) {
            s->pending++;
            s->h->api->send(s->h, (el_signal)g, one.v, one.n, on_sent, s);
        }
        el_items_free(&one);
    }
    s->items.n = 0;
    s->waiting = call;
}

static void nothing(void *ud)
{
    (void)ud;
}

static void ignored(void *ud, int status, int64_t retry_after_s, el_item *const *items, size_t n)
{
    (void)ud, (void)status, (void)retry_after_s, (void)items, (void)n;
}

static void destroy(void *self, el_cause cause)
{
    (void)cause;
    hold *s = self;
    if (s->c->rude_destroy) {
        const el_host_api *api = s->h->api;
        if (api->timer(s->h, 1000, 0, nothing, s) != 0)
            api->log(s->h, "a timer was set in destroy()");
        api->timer_clear(s->h, s->tick);
        if (s->items.n)
            api->send(s->h, EL_TRACES, s->items.v, 1, ignored, s);
        if (s->waiting)
            el_done(s->h, s->waiting);
    }
    el_items_free(&s->items); /* the items themselves are the host's to account for */
}

static const char *layer_of(void *self, const el_item *it)
{
    (void)it;
    const hold *s = self;
    return s->c->hook ? "holdall-buffer" : NULL;
}

static const el_exporter desc = {.abi = EL_EXPORTER_ABI,
                                 .size = sizeof(el_exporter),
                                 .name = "holdall",
                                 .caps = EL_CAP_BATCHES_ACROSS_REQUESTS | EL_CAP_FLUSH_REACHES_IT,
                                 .bundle = EL_BUNDLE_PUBLIC,
                                 .config_size = sizeof(cfg),
                                 .state_size = sizeof(hold),
                                 .configure = configure,
                                 .create = create,
                                 .export_items = export_items,
                                 .flush = flush,
                                 .shutdown = flush,
                                 .destroy = destroy,
                                 .layer_of = layer_of};

EL_EXPORT const el_exporter *edgeloss_exporter(void)
{
    return &desc;
}
