/*
 * Fault rules on their own (fault.h): each kind at its instant and only inside its window
 * and target, probability and "the first N", the header each ingest fault asks for, and
 * the Gilbert-Elliott channel against its closed forms over many draws.
 */
#include "fault.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MS 1000000LL
#define S  1000000000LL

typedef struct fired_log {
    int n;
    uint32_t rule[64];
    int64_t t[64];
} fired_log;

static void on_fired(void *ud, uint32_t rule, flt_kind kind, int64_t t, const flt_target *tg)
{
    (void)kind, (void)tg;
    fired_log *l = ud;
    if (l->n < 64) {
        l->rule[l->n] = rule;
        l->t[l->n] = t;
    }
    l->n++;
}

static flt_rule rule(flt_kind k)
{
    return (flt_rule){
        .kind = k, .from_ns = 0, .until_ns = INT64_MAX, .probability = 1, .retry_after_s = -1};
}

static flt_target req(const char *path, int64_t route, int64_t colo, uint64_t iso)
{
    return (flt_target){path, route, colo, iso, 7, 1000};
}

/* A rule acts in [from, until) only: at from yes, 1 ns before no, at until no. */
static void test_window_is_half_open(void **state)
{
    (void)state;
    flt_rule r = rule(FLT_REFUSED);
    r.from_ns = 10 * S;
    r.until_ns = 20 * S;
    fired_log log = {0};
    flt *f = flt_new(&r, 1, 1, on_fired, &log);
    flt_target t = req("/v1/traces", 0, 0, 1);
    flt_departure d;
    int64_t at[] = {10 * S - 1, 10 * S, 20 * S - 1, 20 * S};
    flt_kind want[] = {FLT_NONE, FLT_REFUSED, FLT_REFUSED, FLT_NONE};
    for (int i = 0; i < 4; i++) {
        flt_depart(f, &t, at[i], &d);
        assert_int_equal(d.fail, want[i]);
    }
    assert_int_equal(log.n, 2);
    assert_int_equal(log.t[0], 10 * S);
    assert_int_equal(log.t[1], 20 * S - 1);
    assert_int_equal(flt_fired(f, 0), 2);
    flt_free(f);
}

/* Every list given must match; within a list, any entry. */
static void test_targets(void **state)
{
    (void)state;
    static const uint32_t routes[] = {1, 2}, colos[] = {0};
    static const uint64_t isos[] = {3};
    static const char *const paths[] = {"/v1/logs"};
    flt_rule r = rule(FLT_RESET);
    r.routes = routes, r.nroutes = 2;
    r.colos = colos, r.ncolos = 1;
    r.isolates = isos, r.nisolates = 1;
    r.paths = paths, r.npaths = 1;
    flt *f = flt_new(&r, 1, 1, NULL, NULL);
    struct {
        flt_target t;
        bool hit;
    } cases[] = {
        {req("/v1/logs", 2, 0, 3), true},    {req("/v1/logs", 1, 0, 3), true},
        {req("/v1/logs", 0, 0, 3), false},   {req("/v1/logs", -1, 0, 3), false},
        {req("/v1/logs", 1, 1, 3), false},   {req("/v1/logs", 1, -1, 3), false},
        {req("/v1/logs", 1, 0, 4), false},   {req("/v1/logs", 1, 0, 0), false},
        {req("/v1/traces", 1, 0, 3), false}, {req("/v1/logsx", 1, 0, 3), true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        flt_departure d;
        flt_depart(f, &cases[i].t, 0, &d);
        if ((d.fail == FLT_RESET) != cases[i].hit)
            fail_msg("case %zu: %s", i, cases[i].hit ? "not hit" : "hit");
    }
    flt_free(f);
}

/* Probability 0.25 over 20000 matching requests: within 5 standard deviations of 5000;
 * "first 3" fires on the first three only, and draws nothing after. */
static void test_probability_and_first(void **state)
{
    (void)state;
    flt_rule r[2] = {rule(FLT_TIMEOUT), rule(FLT_LATENCY)};
    r[0].probability = 0.25;
    r[1].first = 3;
    r[1].latency_ns = 100 * MS;
    flt *f = flt_new(r, 2, 42, NULL, NULL);
    flt_target t = req("/v1/traces", 0, 0, 1);
    int timeouts = 0;
    for (int i = 0; i < 20000; i++) {
        flt_departure d;
        flt_depart(f, &t, i, &d);
        timeouts += d.fail == FLT_TIMEOUT;
        assert_int_equal(d.extra_ns, i < 3 ? 100 * MS : 0);
    }
    double sd = sqrt(20000 * 0.25 * 0.75);
    if (fabs(timeouts - 5000.0) > 5 * sd)
        fail_msg("%d timeouts of 20000 at p = 0.25", timeouts);
    assert_int_equal(flt_fired(f, 0), (uint64_t)timeouts);
    assert_int_equal(flt_fired(f, 1), 3);
    flt_free(f);
}

/* Each rule has its own stream: a rule's decisions do not change when another rule's
 * probability does (nor whether that one hits). */
static void test_rules_draw_apart(void **state)
{
    (void)state;
    bool a[500], b[500];
    for (int run = 0; run < 2; run++) {
        flt_rule r[2] = {rule(FLT_LATENCY), rule(FLT_REFUSED)};
        r[0].probability = run ? 0.9 : 0.1;
        r[0].latency_ns = MS;
        r[1].probability = 0.5;
        flt *f = flt_new(r, 2, 9, NULL, NULL);
        flt_target t = req("/v1/traces", 0, 0, 1);
        for (int i = 0; i < 500; i++) {
            flt_departure d;
            flt_depart(f, &t, i, &d);
            (run ? b : a)[i] = d.fail == FLT_REFUSED;
        }
        flt_free(f);
    }
    assert_memory_equal(a, b, sizeof a);
}

/* Latency with jitter stays in [latency - jitter, latency + jitter] (at least 0); bandwidth
 * adds the body's time on the wire, rounded up to the nanosecond; both add up. */
static void test_latency_and_bandwidth(void **state)
{
    (void)state;
    flt_rule r[2] = {rule(FLT_LATENCY), rule(FLT_BANDWIDTH)};
    r[0].latency_ns = 10 * MS;
    r[0].jitter_ns = 15 * MS;
    r[1].bytes_per_s = 3000; /* 3 KB/s */
    flt *f = flt_new(r, 2, 3, NULL, NULL);
    flt_target t = req("/v1/traces", 0, 0, 1);
    t.bytes = 1000; /* 1/3 s: 333333333.3 ns, rounded up */
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 5000; i++) {
        flt_departure d;
        flt_depart(f, &t, 0, &d);
        int64_t lat = d.extra_ns - 333333334;
        assert_true(lat >= 0 && lat <= 25 * MS);
        lo = lat < lo ? lat : lo;
        hi = lat > hi ? lat : hi;
    }
    assert_int_equal(lo, 0);   /* 10 - 15 clamps at 0, often */
    assert_true(hi > 24 * MS); /* and reaches near the top */
    flt_free(f);
}

/* The first failing rule decides; a later one that would also fail draws but does not
 * fire (it did nothing). */
static void test_first_failure_decides(void **state)
{
    (void)state;
    flt_rule r[2] = {rule(FLT_TIMEOUT), rule(FLT_REFUSED)};
    r[0].after_ns = 5 * S;
    fired_log log = {0};
    flt *f = flt_new(r, 2, 1, on_fired, &log);
    flt_target t = req("/v1/traces", 0, 0, 1);
    flt_departure d;
    flt_depart(f, &t, 0, &d);
    assert_int_equal(d.fail, FLT_TIMEOUT);
    assert_int_equal(d.after_ns, 5 * S);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.rule[0], 0);
    flt_free(f);
}

/* A refused connection sends no body: a bandwidth rule before it in the file adds no time
 * and does not fire; a latency rule still delays the handshake. A reset one went out whole. */
static void test_refused_sends_no_body(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        flt_rule r[3] = {rule(FLT_BANDWIDTH), rule(FLT_LATENCY), rule(k ? FLT_RESET : FLT_REFUSED)};
        r[0].bytes_per_s = 1000;
        r[1].latency_ns = 5 * MS;
        fired_log log = {0};
        flt *f = flt_new(r, 3, 1, on_fired, &log);
        flt_target t = req("/v1/traces", 0, 0, 1);
        t.bytes = 500; /* 0.5 s on the wire */
        flt_departure d;
        flt_depart(f, &t, 0, &d);
        assert_int_equal(d.fail, k ? FLT_RESET : FLT_REFUSED);
        assert_int_equal(d.extra_ns, k ? 505 * MS : 5 * MS);
        assert_int_equal(log.n, k ? 3 : 2);
        assert_int_equal(flt_fired(f, 0), k ? 1 : 0);
        flt_free(f);
    }
}

/* The ingest's faults become the header mock-ingest reads (mock-ingest/README.md); not for
 * a destination other than the ingest's OTLP paths; a partition takes the request and
 * leaves nothing for the ingest to do. */
static void test_ingest_headers(void **state)
{
    (void)state;
    struct {
        flt_rule r;
        const char *header;
    } cases[] = {
        {{.kind = FLT_STATUS, .status = 503, .retry_after_s = 7}, "status=503, retry_after=7"},
        {{.kind = FLT_STATUS, .status = 500, .retry_after_s = -1}, "status=500"},
        {{.kind = FLT_TOO_LARGE, .max_bytes = 512, .retry_after_s = -1}, "too_large=512"},
        {{.kind = FLT_DROP_ANSWER, .retry_after_s = -1}, "drop_answer"},
    };
    flt_target t = req("/v1/traces", 0, 0, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        flt_rule r = cases[i].r;
        r.until_ns = INT64_MAX;
        r.probability = 1;
        flt *f = flt_new(&r, 1, 1, NULL, NULL);
        flt_arrival a;
        flt_arrive(f, &t, 0, true, &a);
        assert_string_equal(a.header, cases[i].header);
        assert_int_equal(a.drop_answer, r.kind == FLT_DROP_ANSWER);
        flt_arrive(f, &t, 0, false, &a);
        assert_string_equal(a.header, "");
        flt_free(f);
    }
    flt_rule r[2] = {rule(FLT_PARTITION), rule(FLT_STATUS)};
    r[0].from_ns = 5 * S;
    r[0].until_ns = 6 * S;
    r[0].after_ns = 2 * S;
    r[1].status = 429;
    flt *f = flt_new(r, 2, 1, NULL, NULL);
    flt_arrival a;
    flt_arrive(f, &t, 5 * S, true, &a);
    assert_true(a.partitioned);
    assert_int_equal(a.after_ns, 2 * S);
    assert_string_equal(a.header, "");
    flt_arrive(f, &t, 6 * S, true, &a);
    assert_false(a.partitioned);
    assert_string_equal(a.header, "status=429");
    flt_free(f);
}

/* A slow answer that leaves into a partition is lost on its way back: the ingest is asked
 * to commit and not answer (drop_answer), and the partition fires at the answer's instant. */
static void test_slow_answer_into_a_partition(void **state)
{
    (void)state;
    flt_rule r[2] = {rule(FLT_SLOW), rule(FLT_PARTITION)};
    r[0].latency_ns = 3 * S;
    r[1].from_ns = 10 * S;
    r[1].until_ns = 20 * S;
    fired_log log = {0};
    flt *f = flt_new(r, 2, 1, on_fired, &log);
    flt_target t = req("/v1/traces", 0, 0, 1);
    flt_arrival a;
    flt_arrive(f, &t, 8 * S, true, &a); /* answers at 11 s */
    assert_false(a.partitioned);
    assert_true(a.answer_lost);
    assert_true(a.drop_answer);
    assert_string_equal(a.header, "drop_answer");
    assert_int_equal(a.slow_ns, 3 * S);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.rule[1], 1);
    assert_int_equal(log.t[1], 11 * S);
    flt_arrive(f, &t, 6 * S, true, &a); /* answers at 9 s: before it */
    assert_false(a.answer_lost);
    assert_string_equal(a.header, "");
    flt_free(f);
}

/* Runs the channel over n requests: the loss rate and the mean length of runs of losses. */
static void ge_measure(const flt_ge *g, uint64_t seed, long n, double *rate, double *burst)
{
    rng draws;
    rng_seed(&draws, seed, 77);
    bool bad = false, prev = false;
    long lost = 0, bursts = 0;
    for (long i = 0; i < n; i++) {
        bool l = flt_ge_step(g, &bad, &draws);
        lost += l;
        bursts += l && !prev;
        prev = l;
    }
    *rate = (double)lost / (double)n;
    *burst = bursts ? (double)lost / (double)bursts : 0;
}

/* Gilbert (loss_bad 1, loss_good 0): loss rate p / (p + r), mean burst 1 / r. Gilbert-Elliott
 * in general: p / (p + r) * loss_bad + r / (p + r) * loss_good. Over 2 million requests the
 * measured values are within 3% of the closed forms (their standard errors are well under
 * 1% here). */
static void test_gilbert_elliott_closed_forms(void **state)
{
    (void)state;
    struct {
        flt_ge g;
    } cases[] = {{{0.05, 0.3, 1, 0}}, {{0.01, 0.1, 1, 0}}, {{0.2, 0.5, 1, 0}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const flt_ge *g = &cases[i].g;
        double rate, burst;
        ge_measure(g, 1 + i, 2000000, &rate, &burst);
        double want_rate = g->p / (g->p + g->r), want_burst = 1 / g->r;
        if (fabs(rate / want_rate - 1) > 0.03 || fabs(burst / want_burst - 1) > 0.03)
            fail_msg("p %g r %g: rate %.5f (want %.5f), burst %.4f (want %.4f)", g->p, g->r, rate,
                     want_rate, burst, want_burst);
    }
    flt_ge ge = {0.05, 0.25, 0.8, 0.02};
    double rate, burst;
    ge_measure(&ge, 5, 2000000, &rate, &burst);
    double want = 0.05 / 0.3 * 0.8 + 0.25 / 0.3 * 0.02;
    if (fabs(rate / want - 1) > 0.03)
        fail_msg("Gilbert-Elliott: rate %.5f, want %.5f", rate, want);
}

/* A loss rule's channel moves only for the requests it matches; the losses fire. */
static void test_loss_rule(void **state)
{
    (void)state;
    flt_rule r = rule(FLT_LOSS);
    r.ge = (flt_ge){0.1, 0.4, 1, 0};
    r.after_ns = 3 * S;
    flt *f = flt_new(&r, 1, 11, NULL, NULL);
    flt_target t = req("/v1/traces", 0, 0, 1);
    long lost = 0, n = 200000;
    for (long i = 0; i < n; i++) {
        flt_departure d;
        flt_depart(f, &t, 0, &d);
        if (d.fail == FLT_LOSS) {
            lost++;
            assert_int_equal(d.after_ns, 3 * S);
        }
    }
    assert_int_equal(flt_fired(f, 0), (uint64_t)lost);
    double rate = (double)lost / (double)n;
    if (fabs(rate / 0.2 - 1) > 0.05)
        fail_msg("loss rate %.4f, want 0.2", rate);
    flt_free(f);
}

static void test_kind_names(void **state)
{
    (void)state;
    for (int k = 0; k < FLT_KIND_COUNT; k++)
        assert_int_equal(flt_kind_find(flt_kind_name((flt_kind)k)), k);
    assert_int_equal(flt_kind_find("nope"), -1);
    assert_string_equal(flt_kind_family(FLT_PARTITION), "network");
    assert_string_equal(flt_kind_family(FLT_SLOW), "ingest");
    assert_string_equal(flt_kind_family(FLT_CPU_STORM), "runtime");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_is_half_open),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_probability_and_first),
        cmocka_unit_test(test_rules_draw_apart),
        cmocka_unit_test(test_latency_and_bandwidth),
        cmocka_unit_test(test_first_failure_decides),
        cmocka_unit_test(test_refused_sends_no_body),
        cmocka_unit_test(test_ingest_headers),
        cmocka_unit_test(test_slow_answer_into_a_partition),
        cmocka_unit_test(test_gilbert_elliott_closed_forms),
        cmocka_unit_test(test_loss_rule),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
