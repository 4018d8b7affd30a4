/* Item vectors, the built-in strategies' table and ledger helpers shared by the host. */
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

void vec_free(rt *r, item_vec *v)
{
    for (size_t i = 0; i < v->n; i++)
        item_free(r, v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

void item_charge(rt *r, tel_item *it, uint32_t bytes)
{
    it->charged += bytes;
    rt_mem_add(r, it->home, bytes);
}

char *exp_items_payload(const char *service, sdk_signal sig, tel_item *const *items, size_t n,
                        uint64_t sent_for, size_t *len)
{
    const char **frags = malloc((n ? n : 1) * sizeof *frags);
    uint32_t *lens = malloc((n ? n : 1) * sizeof *lens);
    if (!frags || !lens)
        abort();
    for (size_t i = 0; i < n; i++) {
        frags[i] = items[i]->json;
        lens[i] = items[i]->len;
    }
    char *b = exp_payload(service, sig, frags, lens, n, sent_for, len);
    free(frags);
    free(lens);
    return b;
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

void item_free(rt *r, tel_item *it)
{
    if (!it)
        return;
    assert(!it->holder);
    /* A dead isolate's memory is gone already: rt_mem_add ignores it. */
    if (it->charged)
        rt_mem_add(r, it->home, -(int64_t)it->charged);
    free(it->json);
    free(it);
}

/* Every built-in strategy: the seed's exporter, its fixes and workarounds (one buffered
 * exporter configured five ways), fix A, and a BatchSpanProcessor. */
static const el_exporter *const builtins[] = {
    &exp_threshold,     &exp_immediate, &exp_propagate,  &exp_exposed,
    &exp_private_reach, &exp_interval,  &exp_otel_batch,
};

const el_exporter *exp_builtin_find(const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
        if (strcmp(builtins[i]->name, name) == 0)
            return builtins[i];
    return NULL;
}

void exp_dropped(const exp_env *env, const item_vec *items, ledger_cause cause, const char *layer)
{
    int64_t t = rt_time(env->r);
    /* Never before the item reached its holder: a timer task's segment may have put it
     * there at a task time past the event that now drops it (a deadline at that segment's
     * start, which only ends waitUntil work). */
    for (size_t i = 0; i < items->n; i++)
        ledger_drop(env->ledger, items->v[i]->n, t > items->v[i]->end_ns ? t : items->v[i]->end_ns,
                    cause, layer, env->iso.id);
}
