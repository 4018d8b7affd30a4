#include "engine.h"

#include <assert.h>
#include <stdlib.h>

struct eng {
    eng_event *heap; /* binary min-heap by (time_ns, seq) */
    size_t n, cap;
    int64_t now_ns;
    uint64_t next_seq;
    uint64_t popped;
    uint64_t hash;
    uint64_t depth_sum;
    eng_observer observer;
    void *observer_ud;
};

static inline bool before(const eng_event *x, const eng_event *y)
{
    return x->time_ns < y->time_ns || (x->time_ns == y->time_ns && x->seq < y->seq);
}

static inline uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x;
    h = (h << 29) | (h >> 35);
    return h * 0x9E3779B97F4A7C15ULL;
}

eng *eng_new(void)
{
    eng *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->hash = 0xCBF29CE484222325ULL;
    e->next_seq = 1;
    return e;
}

void eng_free(eng *e)
{
    if (!e)
        return;
    free(e->heap);
    free(e);
}

int64_t eng_now(const eng *e)
{
    return e->now_ns;
}

uint64_t eng_at(eng *e, int64_t time_ns, uint32_t type, uint32_t a, uint64_t b)
{
    assert(time_ns >= e->now_ns);
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 1024;
        eng_event *h = realloc(e->heap, cap * sizeof *h);
        if (!h)
            return 0;
        e->heap = h;
        e->cap = cap;
    }
    eng_event ev = {time_ns, e->next_seq++, type, a, b};
    /* Sift up with a hole: one copy per level. */
    size_t i = e->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&ev, &e->heap[p]))
            break;
        e->heap[i] = e->heap[p];
        i = p;
    }
    e->heap[i] = ev;
    return ev.seq;
}

bool eng_pop(eng *e, eng_event *out)
{
    if (e->n == 0)
        return false;
    e->depth_sum += e->n;
    *out = e->heap[0];
    eng_event last = e->heap[--e->n];
    size_t n = e->n, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&e->heap[c + 1], &e->heap[c]))
            c++;
        if (!before(&e->heap[c], &last))
            break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n)
        e->heap[i] = last;
    e->now_ns = out->time_ns;
    e->popped++;
    /* Two rounds cover every field: the time, then seq, type and ids folded
     * into one word (rotations keep each field's bits apart). */
    uint64_t ids = out->seq ^ ((uint64_t)out->type << 56) ^ ((uint64_t)out->a << 32) ^
                   ((out->b << 17) | (out->b >> 47));
    e->hash = mix(mix(e->hash, (uint64_t)out->time_ns), ids);
    if (e->observer)
        e->observer(e->observer_ud, out);
    return true;
}

int64_t eng_peek_time(const eng *e)
{
    return e->n ? e->heap[0].time_ns : INT64_MAX;
}

size_t eng_pending(const eng *e)
{
    return e->n;
}

uint64_t eng_count(const eng *e)
{
    return e->popped;
}

uint64_t eng_hash(const eng *e)
{
    return e->hash;
}

void eng_mix(eng *e, uint64_t x)
{
    e->hash = mix(e->hash, x);
}

void eng_set_observer(eng *e, eng_observer fn, void *ud)
{
    e->observer = fn;
    e->observer_ud = ud;
}

uint64_t eng_depth_sum(const eng *e)
{
    return e->depth_sum;
}
