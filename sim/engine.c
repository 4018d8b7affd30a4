#include "engine.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/*
 * Two layouts of the one queue, chosen by its depth alone (so the choice is
 * as deterministic as the events):
 *  - shallow (the common case): a window q[head..head+n) of events sorted by
 *    (time_ns, seq). A pop takes q[head] - no comparison, no branch on the
 *    data - and a push shifts the events after it up by one, scanning from
 *    the tail, where events scheduled after a latency land (a push at the
 *    array's end moves the window back to the front first);
 *  - deep: a binary min-heap in q[0..n), so a deep queue stays O(log n).
 * A sorted array is already a heap, so deepening past WINDOW_MAX only moves
 * the window to the front; shallowing to WINDOW_MIN sorts the heap back
 * (the gap between the two keeps a depth near one threshold from converting
 * at every event). Either way events pop in exactly (time_ns, seq) order.
 */
#define WINDOW_MAX 32   /* window -> heap when a push would go deeper */
#define WINDOW_MIN 8    /* heap -> window when a pop leaves this few */
#define MIN_CAP    1024 /* above WINDOW_MAX, so a window always fits */

struct eng {
    eng_event *q;
    size_t n, cap;
    size_t head; /* shallow: the sorted events are q[head..head+n) */
    bool heap;   /* the deep layout */
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
    e->q = malloc(MIN_CAP * sizeof *e->q);
    if (!e->q) {
        free(e);
        return NULL;
    }
    e->cap = MIN_CAP;
    e->hash = 0xCBF29CE484222325ULL;
    e->next_seq = 1;
    return e;
}

void eng_free(eng *e)
{
    if (!e)
        return;
    free(e->q);
    free(e);
}

int64_t eng_now(const eng *e)
{
    return e->now_ns;
}

/* Sift up with a hole: one copy per level. */
static void heap_push(eng_event *h, size_t i, eng_event ev)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&ev, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = ev;
}

/* Removes h[0] from a heap of n + 1 events (n left). */
static void heap_pop(eng_event *h, size_t n)
{
    eng_event last = h[n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&h[c + 1], &h[c]))
            c++;
        if (!before(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (n)
        h[i] = last;
}

/* The window, moved to q[0..n). */
static void window_to_front(eng *e)
{
    memmove(e->q, e->q + e->head, e->n * sizeof *e->q);
    e->head = 0;
}

/* The heap, popped in order into a window at q[0]. */
static void heap_to_window(eng *e)
{
    eng_event tmp[WINDOW_MIN];
    size_t n = e->n;
    for (size_t i = 0; i < n; i++) {
        tmp[i] = e->q[0];
        heap_pop(e->q, n - 1 - i);
    }
    memcpy(e->q, tmp, n * sizeof *tmp);
    e->head = 0;
    e->heap = false;
}

/* Inserts ev into the sorted window (there is room after it). Its seq is the largest yet,
 * so it goes after every event at its time or earlier. */
static inline void window_insert(eng *e, eng_event ev)
{
    eng_event *lo = e->q + e->head, *p = lo + e->n;
    while (p > lo && p[-1].time_ns > ev.time_ns) {
        p[0] = p[-1];
        p--;
    }
    *p = ev;
    e->n++;
}

/* The rare paths of eng_at, out of line so the common one saves few registers. */
static __attribute__((noinline)) uint64_t push_slow(eng *e, eng_event ev)
{
    if (!e->heap) {
        window_to_front(e);
        if (e->n < WINDOW_MAX) { /* it had reached the end of the array */
            window_insert(e, ev);
            return ev.seq;
        }
        e->heap = true; /* too deep: a sorted array is already a heap */
    }
    if (e->n == e->cap) {
        eng_event *q = realloc(e->q, 2 * e->cap * sizeof *q);
        if (!q)
            return 0;
        e->q = q;
        e->cap *= 2;
    }
    heap_push(e->q, e->n++, ev);
    return ev.seq;
}

/* hot: with rt_await and app.c's h_run, what every event passes through outside the loop;
 * gcc keeps the three together (.text.hot). Code layout alone moves the engine benchmark by
 * a few percent (BENCHMARKS.md): 1.03x measured for this. */
__attribute__((hot)) uint64_t eng_at(eng *e, int64_t time_ns, uint32_t type, uint32_t a, uint64_t b)
{
    assert(time_ns >= e->now_ns);
    if (e->heap || e->n == WINDOW_MAX || e->head + e->n == e->cap)
        return push_slow(e, (eng_event){time_ns, e->next_seq++, type, a, b});
    uint64_t seq = e->next_seq++;
    window_insert(e, (eng_event){time_ns, seq, type, a, b});
    return seq;
}

static __attribute__((noinline)) eng_event pop_heap(eng *e)
{
    eng_event ev = e->q[0];
    heap_pop(e->q, --e->n);
    if (e->n == WINDOW_MIN)
        heap_to_window(e);
    return ev;
}

bool eng_pop(eng *e, eng_event *out)
{
    if (e->n == 0)
        return false;
    e->depth_sum += e->n;
    eng_event ev;
    if (!e->heap) {
        ev = e->q[e->head++];
        e->n--;
    } else {
        ev = pop_heap(e);
    }
    e->now_ns = ev.time_ns;
    e->popped++;
    /* Two rounds cover every field: the time, then seq, type and ids folded
     * into one word (rotations keep each field's bits apart). Hashed from the
     * local copy: reading *out back right after storing it stalls. */
    uint64_t ids =
        ev.seq ^ ((uint64_t)ev.type << 56) ^ ((uint64_t)ev.a << 32) ^ ((ev.b << 17) | (ev.b >> 47));
    e->hash = mix(mix(e->hash, (uint64_t)ev.time_ns), ids);
    *out = ev;
    if (e->observer)
        e->observer(e->observer_ud, out);
    return true;
}

int64_t eng_peek_time(const eng *e)
{
    if (e->n == 0)
        return INT64_MAX;
    return e->q[e->heap ? 0 : e->head].time_ns;
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
