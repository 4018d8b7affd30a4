/* Item vectors, the strategies' descriptors and ledger helpers shared by the exporters. */
#include "exporter.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void reserve(item_vec *v, size_t extra)
{
    if (v->n + extra <= v->cap)
        return;
    size_t cap = v->cap ? v->cap : 16;
    while (cap < v->n + extra)
        cap *= 2;
    tel_item **nv = realloc(v->v, cap * sizeof *nv);
    if (!nv)
        abort();
    v->v = nv;
    v->cap = cap;
}

void vec_push(item_vec *v, tel_item *it)
{
    reserve(v, 1);
    v->v[v->n++] = it;
}

void vec_append(item_vec *to, item_vec *from)
{
    if (!from->n)
        return;
    reserve(to, from->n);
    memcpy(to->v + to->n, from->v, from->n * sizeof *from->v);
    to->n += from->n;
    from->n = 0;
}

void vec_prepend(item_vec *to, item_vec *from)
{
    if (!from->n)
        return;
    reserve(to, from->n);
    memmove(to->v + from->n, to->v, to->n * sizeof *to->v);
    memcpy(to->v, from->v, from->n * sizeof *from->v);
    to->n += from->n;
    from->n = 0;
}

void vec_free(item_vec *v)
{
    for (size_t i = 0; i < v->n; i++)
        item_free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

void item_charge(tel_item *it, uint32_t bytes)
{
    it->charged += bytes;
    if (it->r)
        rt_mem_add(it->r, it->home, bytes);
}

ledger_cause exp_refusal_cause(int status)
{
    switch (status) {
    case NET_REFUSED_SUBREQUESTS:
        return CAUSE_SUBREQUEST_LIMIT;
    case NET_CANCELLED_CPU:
        return CAUSE_CPU_LIMIT;
    case NET_CANCELLED_DEADLINE:
        return CAUSE_WAITUNTIL_CANCELLED;
    case NET_NETWORK_ERROR:
        return CAUSE_NETWORK_ERROR;
    default:
        return CAUSE_REJECTED_BY_INGEST;
    }
}

void item_free(tel_item *it)
{
    if (!it)
        return;
    /* A dead isolate's memory is gone already: rt_mem_add ignores it. */
    if (it->r && it->charged)
        rt_mem_add(it->r, it->home, -(int64_t)it->charged);
    free(it->json);
    free(it);
}

/* Every built-in strategy: the seed's exporter, its fixes and workarounds (one buffered
 * exporter configured five ways), fix A, and a BatchSpanProcessor. */
static const exp_descriptor descriptors[STRAT_COUNT] = {
    [STRAT_THRESHOLD] = {"threshold", {false, false, EXP_BUNDLE_NONE, true}, exp_buffered_new},
    [STRAT_IMMEDIATE] = {"immediate", {false, false, EXP_BUNDLE_NONE, false}, exp_immediate_new},
    [STRAT_PROPAGATE] = {"propagate", {false, true, EXP_BUNDLE_NONE, true}, exp_buffered_new},
    [STRAT_EXPOSED] = {"exposed", {false, false, EXP_BUNDLE_PUBLIC, true}, exp_buffered_new},
    [STRAT_PRIVATE_REACH] = {"private_reach",
                             {false, false, EXP_BUNDLE_PRIVATE, true},
                             exp_buffered_new},
    [STRAT_INTERVAL] = {"interval", {false, false, EXP_BUNDLE_NONE, true}, exp_buffered_new},
    [STRAT_OTEL_BATCH] = {"otel-batch", {true, false, EXP_BUNDLE_NONE, true}, exp_otel_batch_new},
};

const exp_descriptor *exp_descriptor_of(exp_strategy s)
{
    assert(s < STRAT_COUNT);
    return &descriptors[s];
}

const char *exp_strategy_name(exp_strategy s)
{
    return s < STRAT_COUNT ? descriptors[s].name : "?";
}

int exp_strategy_find(const char *name)
{
    for (int s = 0; s < STRAT_COUNT; s++)
        if (strcmp(descriptors[s].name, name) == 0)
            return s;
    return -1;
}

int64_t exp_now(const exp_env *env)
{
    return rt_time(env->r);
}

uint64_t exp_timer(const exp_env *env, int64_t delay_ns, int64_t period_ns, rt_fn fn, void *ud)
{
    return rt_set_timer_fn(env->r, delay_ns, period_ns, fn, ud);
}

void exp_timer_clear(const exp_env *env, uint64_t timer)
{
    rt_clear_timer(env->r, timer);
}

void exp_fetch(const exp_env *env, net_request *req)
{
    net_fetch(env->net, env->r, req);
}

uint64_t exp_running_request(const exp_env *env)
{
    const rt_task *t = rt_current_task(env->r);
    return t && t->kind != TASK_CALLBACK ? t->request_id : 0;
}

void exp_moved_one(const exp_env *env, const tel_item *it, const char *layer)
{
    ledger_move(env->ledger, it->n, exp_now(env), layer);
}

void exp_moved(const exp_env *env, const item_vec *items, const char *layer)
{
    int64_t t = exp_now(env);
    for (size_t i = 0; i < items->n; i++)
        ledger_move(env->ledger, items->v[i]->n, t, layer);
}

void exp_dropped(const exp_env *env, const item_vec *items, ledger_cause cause, const char *layer)
{
    int64_t t = exp_now(env);
    /* Never before the item reached its holder: a timer task's segment may have put it
     * there at a task time past the event that now drops it (a deadline at that segment's
     * start, which only ends waitUntil work). */
    for (size_t i = 0; i < items->n; i++)
        ledger_drop(env->ledger, items->v[i]->n, t > items->v[i]->end_ns ? t : items->v[i]->end_ns,
                    cause, layer, env->iso.id);
}
