/* Engine, random streams and distributions. */
#include "dist.h"
#include "engine.h"
#include "rng.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Equal times pop in scheduling order; the clock follows the pops. */
static void test_order_and_ties(void **state)
{
    (void)state;
    eng *e = eng_new();
    eng_at(e, 50, 1, 0, 100);
    eng_at(e, 10, 1, 0, 101);
    eng_at(e, 50, 1, 0, 102);
    eng_at(e, 10, 1, 0, 103);
    eng_at(e, 0, 1, 0, 104);
    eng_at(e, 50, 1, 0, 105);
    const uint64_t want[] = {104, 101, 103, 100, 102, 105};
    const int64_t want_t[] = {0, 10, 10, 50, 50, 50};
    eng_event ev;
    for (int i = 0; i < 6; i++) {
        assert_true(eng_pop(e, &ev));
        assert_int_equal(ev.b, want[i]);
        assert_int_equal(ev.time_ns, want_t[i]);
        assert_int_equal(eng_now(e), want_t[i]);
    }
    assert_false(eng_pop(e, &ev));
    assert_int_equal(eng_count(e), 6);
    eng_free(e);
}

/* Thousands of random pushes and pops against a simple reference. */
static void test_heap_against_reference(void **state)
{
    (void)state;
    eng *e = eng_new();
    rng r;
    rng_seed(&r, 42, 1);
    enum { N = 20000 };
    int64_t *times = calloc(N, sizeof *times);
    uint64_t *seqs = calloc(N, sizeof *seqs);
    bool *done = calloc(N, sizeof *done);
    int pushed = 0, popped = 0;
    while (popped < N) {
        if (pushed < N && (rng_next(&r) % 3 != 0 || pushed == popped)) {
            /* Many ties: times drawn from a small range above now. */
            times[pushed] = eng_now(e) + rng_range(&r, 0, 20);
            seqs[pushed] = eng_at(e, times[pushed], 1, 0, (uint64_t)pushed);
            pushed++;
            continue;
        }
        eng_event ev;
        assert_true(eng_pop(e, &ev));
        /* The reference minimum among not-yet-popped events. */
        int best = -1;
        for (int i = 0; i < pushed; i++) {
            if (done[i])
                continue;
            if (best < 0 || times[i] < times[best] ||
                (times[i] == times[best] && seqs[i] < seqs[best]))
                best = i;
        }
        assert_int_equal(ev.b, (uint64_t)best);
        done[best] = true;
        popped++;
    }
    free(times);
    free(seqs);
    free(done);
    eng_free(e);
}

/*
 * The queue changes layout with its depth (a sorted window when shallow, a heap
 * when deep): a depth that wanders across both thresholds many times, with
 * ties, and long enough for the window to reach the end of its array and move
 * back, must pop exactly as a reference does.
 */
static void test_layouts_against_reference(void **state)
{
    (void)state;
    eng *e = eng_new();
    rng r;
    rng_seed(&r, 7, 1);
    enum { OPS = 200000, MAXQ = 100 };
    struct {
        int64_t t;
        uint64_t seq, id;
    } pend[MAXQ];
    size_t n = 0, crossings = 0;
    uint64_t next_id = 0;
    bool deep = false, up = true;
    for (int op = 0; op < OPS; op++) {
        /* Drift up to ~60 pending, then down to 0, and again. */
        if (n >= 60)
            up = false;
        if (n == 0)
            up = true;
        bool push = n == 0 || (up ? rng_range(&r, 0, 9) < 7 : rng_range(&r, 0, 9) < 3);
        if (push) {
            int64_t t = eng_now(e) + rng_range(&r, 0, 20);
            pend[n].t = t;
            pend[n].id = next_id;
            pend[n].seq = eng_at(e, t, 1, 0, next_id++);
            n++;
        } else {
            size_t best = 0;
            for (size_t i = 1; i < n; i++)
                if (pend[i].t < pend[best].t ||
                    (pend[i].t == pend[best].t && pend[i].seq < pend[best].seq))
                    best = i;
            eng_event ev;
            assert_true(eng_pop(e, &ev));
            assert_int_equal(ev.b, pend[best].id);
            assert_int_equal(ev.seq, pend[best].seq);
            assert_int_equal(ev.time_ns, pend[best].t);
            pend[best] = pend[--n];
        }
        assert_int_equal(eng_pending(e), n);
        if (n > 40 && !deep)
            deep = true, crossings++;
        if (n < 4 && deep)
            deep = false, crossings++;
    }
    assert_true(crossings > 100); /* both layouts, and the switch both ways, many times */
    eng_free(e);
}

static uint64_t hash_of(const int64_t *times, int n)
{
    eng *e = eng_new();
    for (int i = 0; i < n; i++)
        eng_at(e, times[i], 2, (uint32_t)i, (uint64_t)i);
    eng_event ev;
    while (eng_pop(e, &ev))
        ;
    uint64_t h = eng_hash(e);
    eng_free(e);
    return h;
}

/* Moving one event by 1 ns, or swapping two, changes the hash. */
static void test_hash_sees_every_event(void **state)
{
    (void)state;
    int64_t t[] = {5, 10, 15, 20};
    uint64_t base = hash_of(t, 4);
    assert_int_equal(hash_of(t, 4), base);
    int64_t moved[] = {5, 11, 15, 20};
    assert_int_not_equal(hash_of(moved, 4), base);
    int64_t swapped[] = {10, 5, 15, 20}; /* same times, other ids at each */
    assert_int_not_equal(hash_of(swapped, 4), base);
    int64_t fewer[] = {5, 10, 15};
    assert_int_not_equal(hash_of(fewer, 3), base);
}

/* Streams are independent: drawing from one never moves another. */
static void test_streams_independent(void **state)
{
    (void)state;
    rng a1, b1, a2, b2;
    rng_seed(&a1, 7, RNG_WORKLOAD);
    rng_seed(&b1, 7, RNG_FAULTS);
    rng_seed(&a2, 7, RNG_WORKLOAD);
    rng_seed(&b2, 7, RNG_FAULTS);
    for (int i = 0; i < 1000; i++)
        rng_next(&b2); /* a subsystem that draws more */
    for (int i = 0; i < 100; i++)
        assert_int_equal(rng_next(&a1), rng_next(&a2));
    /* Different streams and different seeds differ. */
    rng c, d;
    rng_seed(&c, 7, RNG_RUNTIME);
    rng_seed(&d, 8, RNG_WORKLOAD);
    rng_seed(&a1, 7, RNG_WORKLOAD);
    uint64_t x = rng_next(&a1);
    assert_int_not_equal(x, rng_next(&c));
    assert_int_not_equal(x, rng_next(&d));
    (void)b1;
}

/* The generator's output is pinned: a change here changes every run ever recorded. */
static void test_rng_pinned(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 1, 1);
    assert_int_equal(rng_next(&r), 0xbaa24e21d05c2935ULL);
    assert_int_equal(rng_next(&r), 0x19ac350577648864ULL);
    for (int i = 0; i < 10000; i++) {
        int64_t v = rng_range(&r, -3, 3);
        assert_true(v >= -3 && v <= 3);
        double u = rng_unit(&r);
        assert_true(u >= 0 && u < 1);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_distributions(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 3, RNG_APP);
    dist f = dist_fixed(1234);
    assert_int_equal(dist_draw(&f, &r), 1234);
    dist u = {DIST_UNIFORM, 100, 200, NULL, 0};
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 10000; i++) {
        int64_t v = dist_draw(&u, &r);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    assert_int_equal(lo, 100);
    assert_int_equal(hi, 200);
    enum { N = 200000 };
    int64_t *v = malloc(N * sizeof *v);
    dist ex = {DIST_EXPONENTIAL, 1000000, 0, NULL, 0};
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += (double)dist_draw(&ex, &r);
    assert_true(fabs(sum / N - 1e6) < 1e4); /* mean within 1% */
    /* Lognormal by p50 and p99: the sample quantiles land there. */
    dist ln = {DIST_LOGNORMAL, 5000000, 40000000, NULL, 0};
    for (int i = 0; i < N; i++)
        v[i] = dist_draw(&ln, &r);
    qsort(v, N, sizeof *v, cmp_i64);
    double p50 = (double)v[N / 2], p99 = (double)v[N * 99 / 100];
    assert_true(fabs(p50 / 5e6 - 1) < 0.02);
    assert_true(fabs(p99 / 4e7 - 1) < 0.05);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_ties),
        cmocka_unit_test(test_heap_against_reference),
        cmocka_unit_test(test_layouts_against_reference),
        cmocka_unit_test(test_hash_sees_every_event),
        cmocka_unit_test(test_streams_independent),
        cmocka_unit_test(test_rng_pinned),
        cmocka_unit_test(test_distributions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
