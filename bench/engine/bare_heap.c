/*
 * The engine benchmark's floor: a bare binary min-heap event loop, nothing
 * else. 32-byte events (the layout of sim/engine.h's eng_event) ordered by
 * (time_ns, seq), in the "hold model": prefill DEPTH events, then N times pop
 * the minimum and push one event at its time plus a random increment, so the
 * queue stays at DEPTH. An event is one pop, as in edgeloss.
 *
 *   bare-heap N DEPTH [SEED]
 *
 * Prints its configuration, `events: N`, a checksum of the popped events (so
 * the loop cannot be optimised away; it also makes runs comparable) and the
 * events/s of the loop alone (CLOCK_MONOTONIC around it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct event {
    int64_t time_ns;
    uint64_t seq;
    uint32_t type;
    uint32_t a;
    uint64_t b;
} event;

_Static_assert(sizeof(event) == 32, "events are 32 bytes, as eng_event");

typedef struct heap {
    event *v;
    size_t n, cap;
    uint64_t next_seq;
} heap;

static inline int before(const event *x, const event *y)
{
    return x->time_ns < y->time_ns || (x->time_ns == y->time_ns && x->seq < y->seq);
}

/* Sift up with a hole, as sim/engine.c does. */
static void push(heap *h, int64_t time_ns, uint32_t type, uint32_t a, uint64_t b)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        event *v = realloc(h->v, cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "bare-heap: out of memory\n");
            exit(1);
        }
        h->v = v;
        h->cap = cap;
    }
    event ev = {time_ns, h->next_seq++, type, a, b};
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&ev, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = ev;
}

/* Pops the minimum into *out (the heap is not empty); sift down with a hole. */
static void pop(heap *h, event *out)
{
    *out = h->v[0];
    event last = h->v[--h->n];
    size_t n = h->n, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n)
        h->v[i] = last;
}

/* xorshift64*: increments uniform in [1, 2^25] ns (1 ns .. 33.6 ms, the model's scale). */
#define INC_BITS 25

static inline uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline int64_t increment(uint64_t *s)
{
    return 1 + (int64_t)(xorshift64s(s) >> (64 - INC_BITS));
}

static int parse_u64(const char *str, uint64_t *out)
{
    char *end;
    if (!*str || *str == '-')
        return -1;
    unsigned long long v = strtoull(str, &end, 10);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t n, depth, seed = 1;
    if (argc < 3 || argc > 4 || parse_u64(argv[1], &n) || parse_u64(argv[2], &depth) ||
        depth == 0 || (argc == 4 && parse_u64(argv[3], &seed))) {
        fprintf(stderr, "usage: bare-heap N DEPTH [SEED]   (N pops at a queue depth of DEPTH >= 1)\n");
        return 2;
    }
    uint64_t rs = seed * 0x9E3779B97F4A7C15ULL + 0xD1B54A32D192ED03ULL;
    if (!rs)
        rs = 1;
    heap h = {NULL, 0, 0, 1};
    for (uint64_t i = 0; i < depth; i++)
        push(&h, increment(&rs), 1, 0, i);
    printf("config: bare binary min-heap, 32-byte events by (time_ns, seq); hold model: "
           "depth %" PRIu64 ", %" PRIu64 " pops, each pushes popped time + uniform 1ns..%.1fms "
           "(xorshift64*, seed %" PRIu64 ")\n",
           depth, n, (double)(1ULL << INC_BITS) / 1e6, seed);
    fflush(stdout);

    uint64_t sum = 0;
    event ev;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        pop(&h, &ev);
        sum += (uint64_t)ev.time_ns ^ ev.seq;
        push(&h, ev.time_ns + increment(&rs), ev.type, ev.a, ev.b + 1);
    }
    double wall = now_s() - t0;

    printf("events: %" PRIu64 "\n", n);
    printf("queue depth: %zu; checksum %016" PRIx64 "; virtual end %" PRId64 " ns\n", h.n, sum,
           n ? ev.time_ns : 0);
    printf("wall time %.6f s (loop only); %.0f events/s\n", wall, (double)n / (wall > 0 ? wall : 1e-9));
    free(h.v);
    return 0;
}
