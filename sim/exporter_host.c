/*
 * edgeloss-exporter-host: runs one exporter plugin (a .so of <edgeloss/exporter.h>) in a
 * process of its own, speaking the exporter protocol (docs/exporter-protocol.md) with the
 * simulator on file descriptor 3. Every service the plugin calls becomes a message to the
 * simulator: one-way for what returns nothing (log, timers, moved, release, drop, send,
 * fetch, done), a round trip for random and encode. The clock is the simulator's: each call
 * carries the virtual time, which is what now() returns during it.
 *
 * Nothing here decides anything: the simulator's host (sim/exporters/host.c) checks what the
 * plugin hands back and keeps the fates; this program only carries the calls. A plugin that
 * crashes takes this process with it, and the simulator reports that, not a lost run.
 *
 * Usage: edgeloss-exporter-host [--fd N]   (N: the socket to the simulator, default 3)
 */
#include "exporters/idmap.h"
#include "exporters/plugin.h"
#include "exporters/wire.h"

#include <edgeloss/exporter.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct chost chost;

struct el_item {
    uint64_t id, request, iso;
    el_signal sig;
    el_kind kind;
    char *name;
    int64_t start, end;
    char *frag;
    size_t len;
    bool gone; /* handed back for good: freed when the call returns */
    struct el_item *next_gone;
};

typedef struct ciso {
    el_host pub; /* first: the handle the plugin gets */
    chost *c;
    uint64_t key;
    void *self;
    bool dying;
} ciso;

/* A callback the simulator will call back by number: a timer's or a send's. */
typedef struct cb {
    uint64_t iso;
    el_fn fn;
    el_sent_fn sent;
    void *ud;
    bool periodic;
} cb;

struct chost {
    wire *w;
    exp_plugin *pl;
    const el_exporter *d;
    void *config;
    bool configured;
    idmap items, isos, cbs;
    uint64_t next_cb;
    int64_t now;
    el_item *gone;
    char **strs; /* strings configure() kept */
    size_t nstrs, capstrs;
};

static void die(const char *what)
{
    fprintf(stderr, "edgeloss-exporter-host: %s\n", what);
    exit(4);
}

static void flush(chost *c);

/* One-way messages wait for the call's end, or until 64 KiB of them are queued: a plugin that
 * floods is then seen flooding (and stopped by its budget) instead of growing a buffer. */
static void chost_free(chost *c);

/* The simulator is gone (its end of the socket closed): nothing left to serve. */
static void leave(chost *c)
{
    chost_free(c);
    exit(0);
}

static void put(chost *c, cJSON *m)
{
    if (wire_put(c->w, m))
        die("a message too long for the protocol");
    cJSON_Delete(m);
    if (wire_queued(c->w) > 65536)
        flush(c);
}

static void flush(chost *c)
{
    if (wire_flush(c->w))
        leave(c);
}

static cJSON *msg(const char *type, const ciso *ci)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "m", type);
    if (ci)
        cJSON_AddNumberToObject(m, "iso", (double)ci->key);
    return m;
}

static ciso *ciso_of(el_host *h)
{
    return (ciso *)h;
}

static cJSON *ids(el_item *const *items, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(items[i] ? (double)items[i]->id : -1));
    return a;
}

/* Waits for the simulator's answer to a round trip. */
static cJSON *answer(chost *c, const char *type)
{
    flush(c);
    cJSON *m;
    if (wire_get(c->w, -1, &m))
        leave(c);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "m");
    if (!cJSON_IsString(t) || strcmp(t->valuestring, type) != 0)
        die("the simulator answered a round trip with another message");
    return m;
}

/* ---- the services ---- */

static int64_t s_now(el_host *h)
{
    return ciso_of(h)->c->now;
}

static uint64_t s_random(el_host *h)
{
    ciso *ci = ciso_of(h);
    put(ci->c, msg("random", ci));
    cJSON *m = answer(ci->c, "random");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "r");
    uint64_t v = cJSON_IsString(r) ? strtoull(r->valuestring, NULL, 16) : 0;
    cJSON_Delete(m);
    return v;
}

static void s_log(el_host *h, const char *text)
{
    ciso *ci = ciso_of(h);
    cJSON *m = msg("log", ci);
    cJSON_AddStringToObject(m, "msg", text ? text : "");
    put(ci->c, m);
}

static uint64_t s_timer(el_host *h, int64_t delay_ns, int64_t period_ns, el_fn fn, void *ud)
{
    ciso *ci = ciso_of(h);
    chost *c = ci->c;
    if (!fn)
        return 0;
    uint64_t id = ci->dying ? 0 : ++c->next_cb;
    cJSON *m = msg("timer", ci);
    cJSON_AddNumberToObject(m, "id", (double)id);
    cJSON_AddNumberToObject(m, "delay", (double)delay_ns);
    cJSON_AddNumberToObject(m, "period", (double)period_ns);
    put(c, m); /* inside destroy() too: the simulator logs the refusal */
    if (!id)
        return 0;
    cb *k = calloc(1, sizeof *k);
    if (!k)
        abort();
    *k = (cb){ci->key, fn, NULL, ud, period_ns > 0};
    idmap_put(&c->cbs, id, k);
    return id;
}

static void s_timer_clear(el_host *h, uint64_t id)
{
    ciso *ci = ciso_of(h);
    cb *k = idmap_get(&ci->c->cbs, id);
    if (!k || !k->fn)
        return;
    free(idmap_del(&ci->c->cbs, id));
    cJSON *m = msg("timer_clear", ci);
    cJSON_AddNumberToObject(m, "id", (double)id);
    put(ci->c, m);
}

static el_signal i_signal(const el_item *it)
{
    return it->sig;
}
static el_kind i_kind(const el_item *it)
{
    return it->kind;
}
static uint64_t i_id(const el_item *it)
{
    return it->id;
}
static uint64_t i_request(const el_item *it)
{
    return it->request;
}
static const char *i_name(const el_item *it)
{
    return it->name;
}
static int64_t i_start(const el_item *it)
{
    return it->start;
}
static int64_t i_end(const el_item *it)
{
    return it->end;
}
static const char *i_fragment(const el_item *it, size_t *len)
{
    if (len)
        *len = it->len;
    return it->frag;
}

/* Items handed back for good are forgotten when the call returns. The simulator refuses a
 * whole hand-back that names an item the plugin does not hold, or one twice; so does this, or
 * the plugin's next use of an item it still holds would find it freed. */
static void gone(chost *c, el_item *const *items, size_t n)
{
    size_t i = 0;
    for (; i < n; i++) {
        el_item *it = items[i];
        if (!it || it->gone || idmap_get(&c->items, it->id) != it)
            break;
        it->gone = true; /* a mark, so that a repeat is seen */
    }
    if (i < n) {
        for (size_t j = 0; j < i; j++)
            items[j]->gone = false;
        return;
    }
    for (i = 0; i < n; i++) {
        items[i]->next_gone = c->gone;
        c->gone = items[i];
    }
}

static void item_free(el_item *it)
{
    free(it->name);
    free(it->frag);
    free(it);
}

static void forget_gone(chost *c)
{
    while (c->gone) {
        el_item *it = c->gone;
        c->gone = it->next_gone;
        idmap_del(&c->items, it->id);
        item_free(it);
    }
}

static void s_moved(el_host *h, el_item *const *items, size_t n, const char *layer)
{
    ciso *ci = ciso_of(h);
    cJSON *m = msg("moved", ci);
    cJSON_AddItemToObject(m, "items", ids(items, n));
    if (layer)
        cJSON_AddStringToObject(m, "layer", layer);
    put(ci->c, m);
}

static void s_release(el_host *h, el_item *const *items, size_t n)
{
    ciso *ci = ciso_of(h);
    cJSON *m = msg("release", ci);
    cJSON_AddItemToObject(m, "items", ids(items, n));
    put(ci->c, m);
    gone(ci->c, items, n);
}

static void s_drop(el_host *h, el_item *const *items, size_t n, el_cause cause, const char *layer)
{
    ciso *ci = ciso_of(h);
    cJSON *m = msg("drop", ci);
    cJSON_AddItemToObject(m, "items", ids(items, n));
    cJSON_AddNumberToObject(m, "cause", (double)cause);
    if (layer)
        cJSON_AddStringToObject(m, "layer", layer);
    put(ci->c, m);
    gone(ci->c, items, n);
}

/* The ABI's fixed table (include/edgeloss/exporter.h): the same as the simulator's. */
static el_cause s_refusal_cause(int status)
{
    switch (status) {
    case EL_REFUSED_SUBREQUESTS:
        return EL_SUBREQUEST_LIMIT;
    case EL_CANCELLED_CPU:
        return EL_CPU_LIMIT;
    case EL_CANCELLED_DEADLINE:
        return EL_WAITUNTIL_CANCELLED;
    case EL_NETWORK_FAILURE:
        return EL_NETWORK_ERROR;
    default:
        return EL_REJECTED_BY_INGEST;
    }
}

static uint64_t callback(ciso *ci, el_sent_fn fn, void *ud)
{
    if (!fn || ci->dying)
        return 0;
    cb *k = calloc(1, sizeof *k);
    if (!k)
        abort();
    *k = (cb){ci->key, NULL, fn, ud, false};
    uint64_t id = ++ci->c->next_cb;
    idmap_put(&ci->c->cbs, id, k);
    return id;
}

static void s_send(el_host *h, el_signal sig, el_item *const *items, size_t n, el_sent_fn fn,
                   void *ud)
{
    ciso *ci = ciso_of(h);
    if (!fn)
        return;
    cJSON *m = msg("send", ci);
    cJSON_AddNumberToObject(m, "sig", (double)sig);
    cJSON_AddItemToObject(m, "items", ids(items, n));
    cJSON_AddNumberToObject(m, "cb", (double)callback(ci, fn, ud));
    put(ci->c, m);
}

static char *s_encode(el_host *h, el_signal sig, el_item *const *items, size_t n, size_t *len)
{
    ciso *ci = ciso_of(h);
    cJSON *m = msg("encode", ci);
    cJSON_AddNumberToObject(m, "sig", (double)sig);
    cJSON_AddItemToObject(m, "items", ids(items, n));
    put(ci->c, m);
    cJSON *a = answer(ci->c, "encoded");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(a, "body");
    char *out = NULL;
    if (cJSON_IsString(b)) {
        size_t l = strlen(b->valuestring);
        if (!(out = malloc(l + 1)))
            abort();
        memcpy(out, b->valuestring, l + 1);
        if (len)
            *len = l;
    }
    cJSON_Delete(a);
    return out;
}

static void s_fetch(el_host *h, const el_fetch_req *req, el_item *const *items, size_t n,
                    el_sent_fn fn, void *ud)
{
    ciso *ci = ciso_of(h);
    if (!req || !fn || (!req->body && req->len))
        return;
    cJSON *m = msg("fetch", ci);
    cJSON_AddNumberToObject(m, "sig", (double)req->signal);
    if (wire_is_utf8(req->body, req->len)) {
        char *t = malloc(req->len + 1);
        if (!t)
            abort();
        memcpy(t, req->body, req->len);
        t[req->len] = '\0';
        cJSON_AddStringToObject(m, "body", t);
        free(t);
    } else {
        char *t = wire_b64_encode(req->body, req->len);
        cJSON_AddStringToObject(m, "body64", t);
        free(t);
    }
    cJSON_AddNumberToObject(m, "timeout", (double)req->timeout_ns);
    cJSON_AddNumberToObject(m, "attempt", (double)req->attempt);
    cJSON_AddItemToObject(m, "items", ids(items, n));
    cJSON_AddNumberToObject(m, "cb", (double)callback(ci, fn, ud));
    put(ci->c, m);
}

/* A call is named by its number: the pointer the plugin gets is that number, never memory
 * (so a done() of a finished call reaches the simulator, which says so, and touches nothing). */
static void s_done(el_host *h, el_call *call)
{
    if (!call)
        return;
    ciso *ci = ciso_of(h);
    cJSON *m = msg("done", ci);
    cJSON_AddNumberToObject(m, "call", (double)(uintptr_t)call);
    put(ci->c, m);
}

static const el_host_api api = {
    .abi = EL_EXPORTER_ABI,
    .size = sizeof(el_host_api),
    .now = s_now,
    .random = s_random,
    .log = s_log,
    .timer = s_timer,
    .timer_clear = s_timer_clear,
    .item_signal = i_signal,
    .item_kind = i_kind,
    .item_id = i_id,
    .item_request = i_request,
    .item_name = i_name,
    .item_start = i_start,
    .item_end = i_end,
    .item_fragment = i_fragment,
    .moved = s_moved,
    .release = s_release,
    .drop = s_drop,
    .refusal_cause = s_refusal_cause,
    .send = s_send,
    .encode = s_encode,
    .fetch = s_fetch,
    .done = s_done,
};

/* ---- the simulator's calls ---- */

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static char *keep_str(void *ud, const char *s)
{
    chost *c = ud;
    if (c->nstrs == c->capstrs) {
        c->capstrs = c->capstrs ? 2 * c->capstrs : 8;
        if (!(c->strs = realloc(c->strs, c->capstrs * sizeof *c->strs)))
            abort();
    }
    return c->strs[c->nstrs++] = xstrdup(s);
}

static void error_reply(chost *c, const char *message)
{
    cJSON *m = msg("error", NULL);
    cJSON_AddStringToObject(m, "message", message);
    put(c, m);
}

static void on_load(chost *c, const cJSON *m)
{
    const char *path = wire_str(m, "plugin");
    char err[2000];
    if (c->d) {
        error_reply(c, "a plugin is loaded already");
        return;
    }
    if (!path || exp_plugin_load(path, &c->pl, &c->d, err, sizeof err)) {
        error_reply(c, path ? err : "load: expected \"plugin\": a path");
        return;
    }
    cJSON *r = msg("loaded", NULL);
    cJSON_AddStringToObject(r, "name", c->d->name);
    cJSON_AddNumberToObject(r, "caps", c->d->caps);
    cJSON_AddNumberToObject(r, "bundle", c->d->bundle);
    cJSON_AddBoolToObject(r, "layer_of", c->d->layer_of != NULL);
    put(c, r);
}

static void on_configure(chost *c, const cJSON *m)
{
    if (!c->d || c->configured) {
        error_reply(c, c->d ? "configured already" : "configure before load");
        return;
    }
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(m, "options");
    c->config = calloc(1, c->d->config_size ? c->d->config_size : 1);
    if (!c->config)
        abort();
    char err[2000];
    const char *file = wire_str(m, "file"), *jpath = wire_str(m, "jpath");
    if (exp_configure(c->d, opt && !cJSON_IsNull(opt) ? opt : NULL, true, file ? file : "?",
                      jpath ? jpath : "$.exporter.options", c->config, keep_str, c, err,
                      sizeof err)) {
        error_reply(c, err);
        return;
    }
    c->configured = true;
    put(c, msg("configured", NULL));
}

static ciso *iso_in(chost *c, const cJSON *m)
{
    ciso *ci = idmap_get(&c->isos, (uint64_t)wire_num(m, "iso"));
    if (!ci)
        die("a call for an isolate that was not created");
    return ci;
}

static void on_create(chost *c, const cJSON *m)
{
    if (!c->configured)
        die("create before configure");
    uint64_t key = (uint64_t)wire_num(m, "iso");
    if (!key || idmap_get(&c->isos, key))
        die("create: a bad or repeated isolate");
    ciso *ci = calloc(1, sizeof *ci);
    if (!ci)
        abort();
    ci->pub.api = &api;
    ci->c = c;
    ci->key = key;
    if (!(ci->self = calloc(1, c->d->state_size ? c->d->state_size : 1)))
        abort();
    idmap_put(&c->isos, key, ci);
    c->d->create(ci->self, &ci->pub, c->config);
}

static el_call *call_in(const cJSON *m)
{
    return (el_call *)(uintptr_t)(uint64_t)wire_num(m, "call");
}

static void on_export(chost *c, const cJSON *m)
{
    ciso *ci = iso_in(c, m);
    el_signal sig = (el_signal)wire_num(m, "sig");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "items");
    size_t n = (size_t)cJSON_GetArraySize(a), k = 0;
    el_item **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        abort();
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        /* [id, kind, request, name, start, end, fragment] */
        el_item *it = calloc(1, sizeof *it);
        if (!it)
            abort();
        const cJSON *f[7] = {0}, *x = e->child;
        for (size_t i = 0; i < 7 && x; i++, x = x->next)
            f[i] = x;
        double d[7];
        for (size_t i = 0; i < 7; i++)
            d[i] = cJSON_IsNumber(f[i]) ? f[i]->valuedouble : 0;
        it->id = (uint64_t)d[0];
        it->kind = (el_kind)(int)d[1];
        it->request = (uint64_t)d[2];
        it->name = xstrdup(cJSON_IsString(f[3]) ? f[3]->valuestring : "");
        it->start = (int64_t)d[4];
        it->end = (int64_t)d[5];
        it->frag = xstrdup(cJSON_IsString(f[6]) ? f[6]->valuestring : "");
        it->len = strlen(it->frag);
        it->sig = sig;
        it->iso = ci->key;
        el_item *old = idmap_get(&c->items, it->id);
        if (old) /* the simulator gives an item once; a repeat replaces what we kept */
            item_free(old);
        idmap_put(&c->items, it->id, it);
        v[k++] = it;
    }
    c->d->export_items(ci->self, sig, v, k, call_in(m));
    free(v);
}

static el_item **items_in(chost *c, const cJSON *m, size_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "items");
    size_t k = 0;
    el_item **v = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof *v);
    if (!v)
        abort();
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        el_item *it = idmap_get(&c->items, (uint64_t)e->valuedouble);
        if (it)
            v[k++] = it;
    }
    *n = k;
    return v;
}

static void on_timer(chost *c, const cJSON *m)
{
    uint64_t id = (uint64_t)wire_num(m, "id");
    cb *k = idmap_get(&c->cbs, id);
    if (!k || !k->fn)
        return; /* cleared meanwhile */
    el_fn fn = k->fn;
    void *ud = k->ud;
    if (!k->periodic)
        free(idmap_del(&c->cbs, id));
    fn(ud);
}

static void on_sent(chost *c, const cJSON *m)
{
    cb *k = idmap_del(&c->cbs, (uint64_t)wire_num(m, "cb"));
    if (!k || !k->sent) {
        free(k);
        return;
    }
    size_t n;
    el_item **v = items_in(c, m, &n);
    k->sent(k->ud, (int)wire_num(m, "status"), (int64_t)wire_num(m, "retry_after"), v, n);
    free(v);
    free(k);
}

static void on_layers(chost *c, const cJSON *m, cJSON *ret)
{
    ciso *ci = iso_in(c, m);
    cJSON *out = cJSON_AddArrayToObject(ret, "layers");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "items"), *e;
    cJSON_ArrayForEach(e, a)
    {
        el_item *it = idmap_get(&c->items, (uint64_t)e->valuedouble);
        const char *l = it && c->d->layer_of ? c->d->layer_of(ci->self, it) : NULL;
        cJSON_AddItemToArray(out, l ? cJSON_CreateString(l) : cJSON_CreateNull());
    }
}

static void on_destroy(chost *c, const cJSON *m)
{
    ciso *ci = iso_in(c, m);
    ci->dying = true;
    c->d->destroy(ci->self, (el_cause)wire_num(m, "cause"));
    /* Its items, timers and callbacks are the simulator's to settle now. */
    for (size_t i = 0; i < c->items.cap; i++) {
        el_item *it = c->items.s[i].val;
        if (it && it->iso == ci->key && !it->gone) {
            it->gone = true;
            it->next_gone = c->gone;
            c->gone = it;
        }
    }
    for (;;) {
        uint64_t dead = 0;
        for (size_t i = 0; i < c->cbs.cap && !dead; i++)
            if (c->cbs.s[i].val && ((cb *)c->cbs.s[i].val)->iso == ci->key)
                dead = c->cbs.s[i].key;
        if (!dead)
            break;
        free(idmap_del(&c->cbs, dead));
    }
    idmap_del(&c->isos, ci->key);
    free(ci->self);
    free(ci);
}

static void chost_free(chost *c)
{
    for (size_t i = 0; i < c->items.cap; i++)
        if (c->items.s[i].val)
            item_free(c->items.s[i].val);
    for (size_t i = 0; i < c->isos.cap; i++) {
        ciso *ci = c->isos.s[i].val;
        if (ci) {
            free(ci->self);
            free(ci);
        }
    }
    for (size_t i = 0; i < c->cbs.cap; i++)
        free(c->cbs.s[i].val);
    idmap_free(&c->items);
    idmap_free(&c->isos);
    idmap_free(&c->cbs);
    for (size_t i = 0; i < c->nstrs; i++)
        free(c->strs[i]);
    free(c->strs);
    free(c->config);
    exp_plugin_close(c->pl);
    wire_free(c->w);
    memset(c, 0, sizeof *c);
}

int main(int argc, char **argv)
{
    int fd = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc)
            fd = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: edgeloss-exporter-host [--fd N]\n"
                    "Runs an exporter plugin for edgeloss, speaking its exporter protocol (version "
                    "%d) on file descriptor N (default 3). edgeloss starts it; see "
                    "docs/exporter-protocol.md.\n",
                    WIRE_PROTOCOL);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    chost c = {0};
    c.w = wire_new(fd, fd);
    cJSON *hello = msg("hello", NULL);
    cJSON_AddNumberToObject(hello, "protocol", WIRE_PROTOCOL);
    cJSON_AddStringToObject(hello, "host", "edgeloss-exporter-host");
    put(&c, hello);
    flush(&c);
    for (;;) {
        cJSON *m;
        wire_status st = wire_get(c.w, -1, &m);
        if (st == WIRE_EOF)
            break;
        if (st)
            die(wire_status_text(st));
        const char *t = wire_str(m, "m");
        const cJSON *tv = cJSON_GetObjectItemCaseSensitive(m, "t");
        if (cJSON_IsNumber(tv))
            c.now = (int64_t)tv->valuedouble;
        cJSON *ret = msg("ret", NULL);
        bool call = true;
        if (!t)
            die("a message without \"m\"");
        else if (strcmp(t, "bye") == 0) {
            cJSON_Delete(m);
            cJSON_Delete(ret);
            break;
        } else if (strcmp(t, "load") == 0) {
            on_load(&c, m);
            call = false;
        } else if (strcmp(t, "configure") == 0) {
            on_configure(&c, m);
            call = false;
        } else if (strcmp(t, "create") == 0)
            on_create(&c, m);
        else if (strcmp(t, "export") == 0)
            on_export(&c, m);
        else if (strcmp(t, "flush") == 0)
            c.d->flush(iso_in(&c, m)->self, call_in(m));
        else if (strcmp(t, "shutdown") == 0)
            c.d->shutdown(iso_in(&c, m)->self, call_in(m));
        else if (strcmp(t, "timer") == 0)
            on_timer(&c, m);
        else if (strcmp(t, "sent") == 0)
            on_sent(&c, m);
        else if (strcmp(t, "layers") == 0)
            on_layers(&c, m, ret);
        else if (strcmp(t, "destroy") == 0)
            on_destroy(&c, m);
        else
            die("an unknown message");
        forget_gone(&c);
        if (call)
            put(&c, ret);
        else
            cJSON_Delete(ret);
        flush(&c);
        cJSON_Delete(m);
    }
    chost_free(&c);
    return 0;
}
