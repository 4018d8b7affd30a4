/*
 * A WAF rate limiting rule's counters (mock-ingest/waf_rate.h), each expectation worked out
 * by hand: the request that makes the count R + 1 is blocked and the first of the next fixed
 * window passes; the sliding estimate at chosen instants; mitigation 0 (throttle) against a
 * timeout; the counter lag letting a burst through; counters per key (per colo).
 */
#include "waf_rate.h"

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

/* Hits `key` at each time; writes 'P' (pass) or 'B' (block) per hit into out. */
static void hits(waf_rate *r, const char *key, const int64_t *t, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        waf_rate_verdict v;
        assert_true(waf_rate_hit(r, key, t[i], &v));
        out[i] = v.block ? 'B' : 'P';
    }
    out[n] = '\0';
}

/* R = 3 per 10 s, fixed windows, throttle: 0 1 2 s pass (1, 2, 3), 3 s is the 4th (blocked),
 * 9.999 s the 5th (blocked: blocked requests count), 10 s opens window 1 (1: pass). */
static void test_fixed_window_edges(void **state)
{
    (void)state;
    waf_rate_cfg c = {3, 10 * S, 0, 0, WAF_WINDOW_FIXED};
    waf_rate *r = waf_rate_new(&c);
    const int64_t t[] = {0, 1 * S, 2 * S, 3 * S, 10 * S - 1, 10 * S, 11 * S, 12 * S, 13 * S};
    char got[16];
    hits(r, "k", t, 9, got);
    assert_string_equal(got, "PPPBBPPPB");
    waf_rate_free(r);
}

/*
 * Sliding: R = 3 per 10 s. Four hits at 0-3 s (the 4th blocked) leave window 0 with 4. At
 * 15 s, 5 s into window 1: 4 * (10 - 5) / 10 + 1 = 3.0: passes (not over 3). At 15.1 s:
 * 4 * 0.49 + 2 = 3.96: blocked. At 19 s: 4 * 0.1 + 3 = 3.4: blocked. At 25 s (window 2, 5 s
 * in): window 1 holds 3 (15, 15.1, 19): 3 * 0.5 + 1 = 2.5: passes.
 */
static void test_sliding_estimate(void **state)
{
    (void)state;
    waf_rate_cfg c = {3, 10 * S, 0, 0, WAF_WINDOW_SLIDING};
    waf_rate *r = waf_rate_new(&c);
    const int64_t t[] = {0, 1 * S, 2 * S, 3 * S, 15 * S, 15 * S + 100 * MS, 19 * S, 25 * S};
    const double rate[] = {1, 2, 3, 4, 3.0, 3.96, 3.4, 2.5};
    for (size_t i = 0; i < 8; i++) {
        waf_rate_verdict v;
        assert_true(waf_rate_hit(r, "k", t[i], &v));
        if (fabs(v.rate - rate[i]) > 1e-9)
            fail_msg("hit %zu at %lld: rate %g, want %g", i, (long long)t[i], v.rate, rate[i]);
        assert_int_equal(v.block, rate[i] > 3);
    }
    waf_rate_free(r);
}

/* A 60 s mitigation: the 4th hit (3 s) blocks the counter until 63 s, also in the next
 * window (10 s, 20 s: counts 1 and 1, under the rate, still blocked); 63 s passes. */
static void test_mitigation_timeout(void **state)
{
    (void)state;
    waf_rate_cfg c = {3, 10 * S, 60 * S, 0, WAF_WINDOW_FIXED};
    waf_rate *r = waf_rate_new(&c);
    const int64_t t[] = {0, 1 * S, 2 * S, 3 * S, 10 * S, 20 * S, 63 * S - 1, 63 * S};
    char got[16];
    hits(r, "k", t, 8, got);
    assert_string_equal(got, "PPPBBBBP");
    waf_rate_verdict v;
    waf_rate_hit(r, "k", 64 * S, &v);
    assert_int_equal(v.blocked_until_ns, 0);
    waf_rate_free(r);
}

/*
 * A 2 s lag, R = 2 per 10 s, fixed: a hit's count lands 2 s after it. Hits at 0, 0.5, 1, 1.5
 * see 0 landed: all pass (the burst goes through); at 2.1 s one has landed (0 s): pass; at
 * 2.6 s two (0, 0.5): pass; at 3.1 s three (0, 0.5, 1): blocked; at 3.6 s four: blocked.
 */
static void test_counter_lag(void **state)
{
    (void)state;
    waf_rate_cfg c = {2, 10 * S, 0, 2 * S, WAF_WINDOW_FIXED};
    waf_rate *r = waf_rate_new(&c);
    const int64_t t[] = {0, 500 * MS, 1 * S, 1500 * MS, 2100 * MS, 2600 * MS, 3100 * MS, 3600 * MS};
    char got[16];
    hits(r, "k", t, 8, got);
    assert_string_equal(got, "PPPPPPBB");
    waf_rate_free(r);
}

/* Counters per key: two colos never share one; many keys grow the table. */
static void test_per_key(void **state)
{
    (void)state;
    waf_rate_cfg c = {1, 10 * S, 0, 0, WAF_WINDOW_FIXED};
    waf_rate *r = waf_rate_new(&c);
    waf_rate_verdict v;
    assert_true(waf_rate_hit(r, "colo=1|ip=a", 0, &v) && !v.block);
    assert_true(waf_rate_hit(r, "colo=2|ip=a", 0, &v) && !v.block);
    assert_true(waf_rate_hit(r, "colo=1|ip=a", 1, &v) && v.block);
    for (int i = 0; i < 1000; i++) {
        char k[32];
        snprintf(k, sizeof k, "colo=3|ip=%d", i);
        assert_true(waf_rate_hit(r, k, 2, &v) && !v.block);
    }
    assert_int_equal(waf_rate_keys(r), 1002);
    assert_true(waf_rate_hit(r, "colo=2|ip=a", 3, &v) && v.block);
    waf_rate_free(r);
}

/* Times at the end of the range: a landing or a mitigation past INT64_MAX saturates at it (the
 * last instant), nothing overflows: with a 5 s lag the first count lands at INT64_MAX, where
 * the second request is, and both count. */
static void test_end_of_time(void **state)
{
    (void)state;
    waf_rate_cfg c = {1, 10 * S, 86400 * S, 5 * S, WAF_WINDOW_SLIDING};
    waf_rate *r = waf_rate_new(&c);
    waf_rate_verdict v;
    assert_true(waf_rate_hit(r, "k", INT64_MAX - 1, &v) && !v.block);
    assert_true(waf_rate_hit(r, "k", INT64_MAX, &v) && v.block);
    assert_true(v.rate == 2.0);
    waf_rate_cfg c0 = {1, 10 * S, 86400 * S, 0, WAF_WINDOW_SLIDING};
    waf_rate *r0 = waf_rate_new(&c0);
    assert_true(waf_rate_hit(r0, "k", INT64_MAX - 1, &v) && !v.block);
    assert_true(waf_rate_hit(r0, "k", INT64_MAX, &v) && v.block);
    assert_int_equal(v.blocked_until_ns, 0); /* a mitigation that would end past the last instant */
    waf_rate_free(r);
    waf_rate_free(r0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_window_edges),
        cmocka_unit_test(test_sliding_estimate),
        cmocka_unit_test(test_mitigation_timeout),
        cmocka_unit_test(test_counter_lag),
        cmocka_unit_test(test_per_key),
        cmocka_unit_test(test_end_of_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
