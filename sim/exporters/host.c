/*
 * The exporter host: the ABI's services (include/edgeloss/exporter.h) over the
 * runtime, the network and the ledger, for one isolate's exporter.
 *
 * Three things make a plugin's run as faithful as a built-in's:
 *  - The host, not the exporter, knows what the exporter holds: items are on
 *    its list from export until released, dropped or sent, so at the
 *    isolate's death whatever is left is lost to the death's cause even if
 *    the exporter never says so.
 *  - A completion never runs inside el_done(): it waits on the isolate's
 *    microtask queue, which the host drains whenever exporter code returns to
 *    it (a call, a timer, an answer), so it runs before anything else of the
 *    isolate and the order of events is what the exporter's code says.
 *  - Everything it can reach is virtual: time, timers of the isolate, the
 *    exporter random stream, fetch through the simulated network.
 */
#include "host.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ABI's numbers are the simulator's: an exporter's status and causes pass unchanged. */
_Static_assert((int)EL_EVICTED_IN_BUFFER == (int)CAUSE_EVICTED_IN_BUFFER, "causes");
_Static_assert((int)EL_STRANDED_AT_END == (int)CAUSE_STRANDED_AT_END, "causes");
_Static_assert((int)EL_WAITUNTIL_CANCELLED == (int)CAUSE_WAITUNTIL_CANCELLED, "causes");
_Static_assert((int)EL_NEVER_FLUSHED == (int)CAUSE_NEVER_FLUSHED, "causes");
_Static_assert((int)EL_REJECTED_BY_INGEST == (int)CAUSE_REJECTED_BY_INGEST, "causes");
_Static_assert((int)EL_DROPPED_IN_BACKOFF == (int)CAUSE_DROPPED_IN_BACKOFF, "causes");
_Static_assert((int)EL_DROPPED_QUEUE_FULL == (int)CAUSE_DROPPED_QUEUE_FULL, "causes");
_Static_assert((int)EL_NETWORK_ERROR == (int)CAUSE_NETWORK_ERROR, "causes");
_Static_assert((int)EL_CPU_LIMIT == (int)CAUSE_CPU_LIMIT, "causes");
_Static_assert((int)EL_SUBREQUEST_LIMIT == (int)CAUSE_SUBREQUEST_LIMIT, "causes");
_Static_assert(EL_REFUSED_SUBREQUESTS == NET_REFUSED_SUBREQUESTS, "statuses");
_Static_assert(EL_CANCELLED_CPU == NET_CANCELLED_CPU, "statuses");
_Static_assert(EL_CANCELLED_DEADLINE == NET_CANCELLED_DEADLINE, "statuses");
_Static_assert(EL_NETWORK_FAILURE == NET_NETWORK_ERROR, "statuses");

struct host_timer {
    exp_host *h;
    uint64_t id;
    bool periodic;
    bool cleared; /* a periodic timer cleared: firings already queued must find it */
    el_fn fn;
    void *ud;
    host_timer *next;
};

static exp_host *host_of(el_host *h)
{
    return (exp_host *)h;
}

static void host_log(exp_host *h, const char *msg)
{
    if (!h->env.log)
        return;
    char line[1200];
    snprintf(line, sizeof line, "%.9f %s isolate %llu: %.1000s", (double)rt_time(h->env.r) / 1e9,
             h->d->name, (unsigned long long)h->env.iso.id, msg ? msg : "");
    h->env.log(h->env.log_ud, line);
}

/* ---- the held list ---- */

static bool held_by(const exp_host *h, const tel_item *it)
{
    return it && it->holder == h;
}

static void unlink_held(exp_host *h, tel_item *it)
{
    if (it->hprev)
        it->hprev->hnext = it->hnext;
    else
        h->held_head = it->hnext;
    if (it->hnext)
        it->hnext->hprev = it->hprev;
    else
        h->held_tail = it->hprev;
    it->hprev = it->hnext = NULL;
    it->holder = NULL;
}

void host_hold(exp_host *h, el_item *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tel_item *it = items[i];
        assert(!it->holder);
        it->holder = h;
        it->hprev = h->held_tail;
        it->hnext = NULL;
        if (h->held_tail)
            h->held_tail->hnext = it;
        else
            h->held_head = it;
        h->held_tail = it;
    }
}

void host_unhold(exp_host *h, el_item *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (held_by(h, items[i]))
            unlink_held(h, items[i]);
}

/* An exporter that hands back an item it does not hold, or one item twice, is broken: say so,
 * touch nothing. (Each item is marked while the list is checked, so a repeat is seen.) */
static size_t held_prefix(exp_host *h, el_item *const *items, size_t n, bool *twice)
{
    exp_host *mark = (exp_host *)&h->nocall; /* an address no host is at */
    size_t i = 0;
    for (; i < n; i++) {
        if (!held_by(h, items[i]))
            break;
        items[i]->holder = mark;
    }
    *twice = i < n && items[i] && items[i]->holder == mark;
    for (size_t j = 0; j < i; j++)
        items[j]->holder = h;
    return i;
}

bool host_holds(exp_host *h, el_item *const *items, size_t n)
{
    bool twice;
    return held_prefix(h, items, n, &twice) == n;
}

static bool check_held(exp_host *h, el_item *const *items, size_t n, const char *what)
{
    bool twice;
    size_t i = held_prefix(h, items, n, &twice);
    if (i == n)
        return true;
    char m[200];
    snprintf(m, sizeof m, "%s: item %zu of %zu is not held by this exporter%s: ignored", what, i, n,
             twice ? " (it is listed twice)" : "");
    host_log(h, m);
    return false;
}

/* Inside destroy() the isolate is already gone: nothing may be set up for it any more. */
static bool alive(exp_host *h, const char *what)
{
    if (!h->dying)
        return true;
    char m[160];
    snprintf(m, sizeof m, "%s inside destroy(): the isolate is gone, ignored", what);
    host_log(h, m);
    return false;
}

/* ---- microtasks ---- */

void host_drain(exp_host *h)
{
    while (h->mq_head) {
        el_call *c = h->mq_head;
        h->mq_head = c->next;
        if (!h->mq_head)
            h->mq_tail = NULL;
        c->next = NULL;
        c->state = EXP_CALL_DONE;
        c->fn(c->ud);
    }
}

static void h_done(el_host *hh, el_call *c)
{
    exp_host *h = host_of(hh);
    if (!c || c == &h->nocall || !c->fn)
        return;
    if (!alive(h, "done()"))
        return; /* its caller dies with the isolate */
    if (c->state != EXP_CALL_PENDING) {
        host_log(h, "done() called again on a finished call: ignored");
        return;
    }
    c->state = EXP_CALL_QUEUED;
    if (h->mq_tail)
        h->mq_tail->next = c;
    else
        h->mq_head = c;
    h->mq_tail = c;
}

/* ---- services ---- */

uint64_t host_running_request(const exp_host *h)
{
    const rt_task *t = rt_current_task(h->env.r);
    return t && t->kind != TASK_CALLBACK ? t->request_id : 0;
}

static int64_t h_now(el_host *hh)
{
    return rt_time(host_of(hh)->env.r);
}

static uint64_t h_random(el_host *hh)
{
    return rng_next(host_of(hh)->env.rand);
}

static void h_log(el_host *hh, const char *msg)
{
    host_log(host_of(hh), msg);
}

static void timer_unlink(exp_host *h, host_timer *t)
{
    host_timer **pp = &h->timers;
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
}

static void timer_fire(void *ud, rt *r)
{
    (void)r;
    host_timer *t = ud;
    exp_host *h = t->h;
    el_fn fn = t->fn;
    void *fud = t->ud;
    if (t->cleared)
        return; /* a firing queued before it was cleared */
    if (!t->periodic) {
        timer_unlink(h, t);
        free(t);
    }
    fn(fud);
    host_drain(h);
}

static uint64_t h_timer(el_host *hh, int64_t delay_ns, int64_t period_ns, el_fn fn, void *ud)
{
    exp_host *h = host_of(hh);
    if (!fn || !alive(h, "timer()"))
        return 0;
    host_timer *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    *t = (host_timer){h, 0, period_ns > 0, false, fn, ud, h->timers};
    h->timers = t;
    t->id = rt_set_timer_fn(h->env.r, delay_ns < 0 ? 0 : delay_ns, period_ns > 0 ? period_ns : 0,
                            timer_fire, t);
    return t->id;
}

static void h_timer_clear(el_host *hh, uint64_t id)
{
    exp_host *h = host_of(hh);
    for (host_timer *t = h->timers; t; t = t->next) {
        if (t->id != id || t->cleared)
            continue;
        if (h->dying) { /* the runtime let go of the isolate's timers already */
            timer_unlink(h, t);
            free(t);
            return;
        }
        rt_clear_timer(h->env.r, id);
        /* A periodic timer may have more than one firing queued on a busy isolate, and the
         * runtime discards only the first: the record stays (until the isolate dies) for the
         * rest to find it cleared. A one-shot has at most one, which is gone now. */
        if (t->periodic) {
            t->cleared = true;
        } else {
            timer_unlink(h, t);
            free(t);
        }
        return;
    }
}

static el_signal i_signal(const el_item *it)
{
    return (el_signal)it->sig;
}

static el_kind i_kind(const el_item *it)
{
    return it->entry ? EL_KIND_ENTRY : (el_kind)it->sig;
}

static uint64_t i_id(const el_item *it)
{
    return it->n;
}

static uint64_t i_request(const el_item *it)
{
    return it->request_id;
}

static const char *i_name(const el_item *it)
{
    return it->name ? it->name : "";
}

static int64_t i_start(const el_item *it)
{
    return it->start_ns;
}

static int64_t i_end(const el_item *it)
{
    return it->end_ns;
}

static const char *i_fragment(const el_item *it, size_t *len)
{
    if (len)
        *len = it->len;
    return it->json ? it->json : "";
}

static void h_moved(el_host *hh, el_item *const *items, size_t n, const char *layer)
{
    exp_host *h = host_of(hh);
    if (!check_held(h, items, n, "moved()"))
        return;
    int64_t t = rt_time(h->env.r);
    for (size_t i = 0; i < n; i++)
        ledger_move(h->env.ledger, items[i]->n, t, layer ? layer : "exporter");
}

/* Items handed back for good: off the held list, their memory given back. */
static void forget(exp_host *h, el_item *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unlink_held(h, items[i]);
        item_free(h->env.r, items[i]);
    }
}

static void h_release(el_host *hh, el_item *const *items, size_t n)
{
    exp_host *h = host_of(hh);
    if (check_held(h, items, n, "release()"))
        forget(h, items, n);
}

static void h_drop(el_host *hh, el_item *const *items, size_t n, el_cause cause, const char *layer)
{
    exp_host *h = host_of(hh);
    if (!check_held(h, items, n, "drop()"))
        return;
    if ((int)cause < 0 || (int)cause > (int)EL_SUBREQUEST_LIMIT) {
        host_log(h, "drop(): not a cause of the ABI: counted as rejected-by-ingest");
        cause = EL_REJECTED_BY_INGEST;
    }
    item_vec v = {(tel_item **)items, n, n};
    exp_dropped(&h->env, &v, (ledger_cause)cause, layer ? layer : "exporter");
    forget(h, items, n);
}

void host_lose(exp_host *h, el_item *const *items, size_t n, ledger_cause cause, const char *layer)
{
    if (!check_held(h, items, n, "lose"))
        return;
    item_vec v = {(tel_item **)items, n, n};
    exp_dropped(&h->env, &v, cause, layer);
    forget(h, items, n);
}

void host_lose_held(exp_host *h, ledger_cause cause, const char *layer)
{
    while (h->held_head) {
        tel_item *it = h->held_head;
        item_vec one = {&it, 1, 1};
        exp_dropped(&h->env, &one, cause, layer);
        forget(h, &it, 1);
    }
}

static el_cause h_refusal_cause(int status)
{
    return (el_cause)exp_refusal_cause(status);
}

static bool signal_ok(exp_host *h, el_signal sig, const char *what)
{
    if ((unsigned)sig < EL_SIGNALS)
        return true;
    char m[120];
    snprintf(m, sizeof m, "%s: signal %d is not one of the ABI's: ignored", what, (int)sig);
    host_log(h, m);
    return false;
}

static void h_send(el_host *hh, el_signal sig, el_item *const *items, size_t n, el_sent_fn cb,
                   void *ud)
{
    exp_host *h = host_of(hh);
    if (!cb || !signal_ok(h, sig, "send()") || !check_held(h, items, n, "send()") ||
        !alive(h, "send()"))
        return;
    send_items(h, (sdk_signal)sig, items, n, cb, ud, NULL);
}

static char *h_encode(el_host *hh, el_signal sig, el_item *const *items, size_t n, size_t *len)
{
    exp_host *h = host_of(hh);
    if (!signal_ok(h, sig, "encode()") || !check_held(h, items, n, "encode()"))
        return NULL;
    size_t l;
    char *b = exp_items_payload(h->env.cfg->service, (sdk_signal)sig, items, n,
                                host_running_request(h), &l);
    if (len)
        *len = l;
    return b;
}

static void h_fetch(el_host *hh, const el_fetch_req *req, el_item *const *items, size_t n,
                    el_sent_fn cb, void *ud)
{
    exp_host *h = host_of(hh);
    if (!req || !cb || (!req->body && req->len) || !signal_ok(h, req->signal, "fetch()") ||
        !check_held(h, items, n, "fetch()") || !alive(h, "fetch()"))
        return;
    send_items(h, (sdk_signal)req->signal, items, n, cb, ud, req);
}

static const el_host_api api = {
    .abi = EL_EXPORTER_ABI,
    .size = sizeof(el_host_api),
    .now = h_now,
    .random = h_random,
    .log = h_log,
    .timer = h_timer,
    .timer_clear = h_timer_clear,
    .item_signal = i_signal,
    .item_kind = i_kind,
    .item_id = i_id,
    .item_request = i_request,
    .item_name = i_name,
    .item_start = i_start,
    .item_end = i_end,
    .item_fragment = i_fragment,
    .moved = h_moved,
    .release = h_release,
    .drop = h_drop,
    .refusal_cause = h_refusal_cause,
    .send = h_send,
    .encode = h_encode,
    .fetch = h_fetch,
    .done = h_done,
};

/* ---- the SDK's side ---- */

exp_host *exp_host_new(const exp_env *env)
{
    exp_host *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    h->pub.api = &api;
    h->env = *env;
    h->d = env->cfg->desc;
    h->self = calloc(1, h->d->state_size ? h->d->state_size : 1);
    if (!h->self)
        abort();
    h->d->create(h->self, &h->pub, env->cfg->desc_config);
    host_drain(h);
    return h;
}

static el_call *call_of(exp_host *h, el_call *call)
{
    if (!call)
        return &h->nocall;
    call->state = EXP_CALL_PENDING;
    call->next = NULL;
    return call;
}

void exp_host_export(exp_host *h, sdk_signal sig, item_vec *items, el_call *call)
{
    size_t n = items->n;
    items->n = 0;
    host_hold(h, (el_item *const *)items->v, n);
    h->d->export_items(h->self, (el_signal)sig, (el_item *const *)items->v, n, call_of(h, call));
    host_drain(h);
}

void exp_host_flush(exp_host *h, el_call *call)
{
    h->d->flush(h->self, call_of(h, call));
    host_drain(h);
}

void exp_host_shutdown(exp_host *h, el_call *call)
{
    h->d->shutdown(h->self, call_of(h, call));
    host_drain(h);
}

void exp_host_destroy(exp_host *h, ledger_cause cause)
{
    /* The introspection hook names the layers while the exporter's state still says them. */
    if (h->d->layer_of)
        for (tel_item *it = h->held_head; it; it = it->hnext)
            it->hlayer = h->d->layer_of(h->self, it);
    h->dying = true;
    h->d->destroy(h->self, (el_cause)cause);
    send_abandon_all(h, cause);
    /* What it did not account for itself is lost to the death, in the layer it held it in. */
    while (h->held_head) {
        tel_item *it = h->held_head;
        item_vec one = {&it, 1, 1};
        exp_dropped(&h->env, &one, cause, it->hlayer ? it->hlayer : "exporter");
        forget(h, &it, 1);
    }
    while (h->timers) {
        host_timer *nx = h->timers->next;
        free(h->timers);
        h->timers = nx;
    }
    /* Nothing may still wait: every entry into exporter code drains. */
    assert(!h->mq_head);
    free(h->self);
    free(h);
}
