/*
 * A test plugin for the process boundary. It buffers what it is given and, at flush(), sends
 * it with the host's send, releasing or dropping each item by the answer. Options:
 *   fail_in    "export", "flush", "timer", "sent" or "destroy": where to fail (default none)
 *   how        "abort" (a crash), "spin" (never returns), "flood" (logs without end), or
 *              "garbage" (writes bytes that are not a frame onto the host's socket, fd 3)
 *   timer_ms   a one-shot timer set at create (logs "timer"; fail_in "timer" fails there)
 *   services   flush() uses the round-trip services: random() into the log, encode() of the
 *              first half then a raw fetch() of that body, and a fetch() of the second half
 *              with a body that is not UTF-8 (so not JSON: the ingest refuses it)
 * Built against the public header alone, like any plugin.
 */
#include <edgeloss/exporter.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cfg {
    const char *fail_in, *how;
    int64_t timer_ms;
    int services;
} cfg;

typedef struct st {
    el_host *h;
    const cfg *c;
    el_items held;
} st;

static int configure(void *config, el_options *o)
{
    cfg *c = config;
    return o->api->string(o, "fail_in", "none", &c->fail_in) ||
           o->api->string(o, "how", "abort", &c->how) ||
           o->api->integer(o, "timer_ms", 0, 0, 100000, &c->timer_ms) ||
           o->api->boolean(o, "services", 0, &c->services);
}

static void maybe_fail(st *s, const char *where)
{
    if (strcmp(s->c->fail_in, where) != 0)
        return;
    if (strcmp(s->c->how, "spin") == 0) {
        for (volatile unsigned long i = 0;; i++)
            ;
    } else if (strcmp(s->c->how, "flood") == 0) {
        for (;;)
            s->h->api->log(s->h, "flood");
    } else if (strcmp(s->c->how, "garbage") == 0) {
        static const char junk[] = "\0\0\0\5hello";
        if (write(3, junk, sizeof junk - 1) < 0)
            abort();
        return;
    }
    abort();
}

static void on_timer(void *ud)
{
    st *s = ud;
    s->h->api->log(s->h, "timer");
    maybe_fail(s, "timer");
}

static void create(void *self, el_host *h, const void *config)
{
    st *s = self;
    s->h = h;
    s->c = config;
    if (s->c->timer_ms)
        h->api->timer(h, s->c->timer_ms * 1000000, 0, on_timer, s);
}

static void export_items(void *self, el_signal sig, el_item *const *items, size_t n, el_call *call)
{
    (void)sig;
    st *s = self;
    if (el_items_add(&s->held, items, n))
        abort();
    maybe_fail(s, "export");
    el_done(s->h, call);
}

static void sent(void *ud, int status, int64_t retry_after_s, el_item *const *items, size_t n)
{
    (void)retry_after_s;
    st *s = ud;
    char line[80];
    snprintf(line, sizeof line, "answer %d for %zu items", status, n);
    s->h->api->log(s->h, line);
    maybe_fail(s, "sent");
    if (status >= 200 && status < 300)
        s->h->api->release(s->h, items, n);
    else
        s->h->api->drop(s->h, items, n, s->h->api->refusal_cause(status), "faulty");
}

static void flush(void *self, el_call *call)
{
    st *s = self;
    maybe_fail(s, "flush");
    if (!s->held.n) {
        el_done(s->h, call);
        return;
    }
    el_signal sig = s->h->api->item_signal(s->held.v[0]);
    if (!s->c->services) {
        s->h->api->send(s->h, sig, s->held.v, s->held.n, sent, s);
    } else {
        char line[80];
        snprintf(line, sizeof line, "random %016" PRIx64, s->h->api->random(s->h));
        s->h->api->log(s->h, line);
        size_t half = (s->held.n + 1) / 2, len = 0;
        char *body = s->h->api->encode(s->h, sig, s->held.v, half, &len);
        el_fetch_req req = {sig, body, len, 0, 1};
        s->h->api->fetch(s->h, &req, s->held.v, half, sent, s);
        free(body);
        if (s->held.n > half) {
            static const char binary[] = "\xff\xfe not json";
            el_fetch_req bad = {sig, binary, sizeof binary - 1, 0, 1};
            s->h->api->fetch(s->h, &bad, s->held.v + half, s->held.n - half, sent, s);
        }
    }
    s->held.n = 0; /* in flight: the answers give them back */
    el_done(s->h, call);
}

static void shutdown_(void *self, el_call *call)
{
    st *s = self;
    el_done(s->h, call);
}

static void destroy(void *self, el_cause cause)
{
    (void)cause;
    st *s = self;
    maybe_fail(s, "destroy");
    el_items_free(&s->held);
}

static const el_exporter desc = {
    .abi = EL_EXPORTER_ABI,
    .size = sizeof(el_exporter),
    .name = "faulty",
    .caps = EL_CAP_BATCHES_ACROSS_REQUESTS, /* only exporter.flush() reaches its flush */
    .bundle = EL_BUNDLE_PUBLIC,
    .config_size = sizeof(cfg),
    .state_size = sizeof(st),
    .configure = configure,
    .create = create,
    .export_items = export_items,
    .flush = flush,
    .shutdown = shutdown_,
    .destroy = destroy,
};

EL_EXPORT const el_exporter *edgeloss_exporter(void)
{
    return &desc;
}
