/*
 * conntrack: which connections are over the limit and which have missed a deadline, on a
 * clock the test moves by hand (every expected verdict derived from the limits below).
 */
#include "conntrack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#define S  1000000000LL
#define MS 1000000LL

static const ct_limits LIM = {.limit = 3,
                              .overflow = 16,
                              .head_ns = 2 * S,
                              .over_head_ns = 1 * S,
                              .body_ns = 10 * S,
                              .min_rate = 1000,
                              .rate_grace_ns = 1 * S};

typedef struct seen {
    ct_conn *who[8];
    ct_late why[8];
    int n;
} seen;

static void note(void *ud, ct_conn *c, ct_late why)
{
    seen *s = ud;
    assert_true(s->n < 8);
    s->who[s->n] = c;
    s->why[s->n++] = why;
}

static void test_the_connections_past_the_limit_are_marked(void **state)
{
    (void)state;
    ct_table *t = ct_new(&LIM);
    ct_conn *c[5];
    for (int i = 0; i < 5; i++)
        c[i] = ct_open(t, 10 + i, 0);
    assert_int_equal(ct_count(t), 5);
    assert_false(c[0]->over_limit || c[1]->over_limit || c[2]->over_limit);
    assert_true(c[3]->over_limit && c[4]->over_limit);
    /* A slot freed: the next one is served again; those marked stay marked. */
    ct_close(t, c[0]);
    ct_close(t, c[3]);
    ct_close(t, c[4]);
    ct_conn *d = ct_open(t, 20, 0);
    assert_false(d->over_limit);
    ct_conn *e = ct_open(t, 21, 0);
    assert_true(e->over_limit);
    ct_free(t);
}

static void test_a_head_too_slow_is_late_once(void **state)
{
    (void)state;
    ct_table *t = ct_new(&LIM);
    seen s = {0};
    ct_conn *a = ct_open(t, 1, 0);
    /* 2 s allowed for a head: at 2 s exactly it is on time, 100 ms later it is late. */
    assert_int_equal(ct_sweep(t, 2 * S, note, &s), 0);
    assert_int_equal(ct_sweep(t, 2 * S + 50 * MS, note, &s), 0); /* no sweep within 100 ms */
    assert_int_equal(ct_sweep(t, 2 * S + 100 * MS, note, &s), 1);
    assert_ptr_equal(s.who[0], a);
    assert_int_equal(s.why[0], CT_LATE_HEAD);
    assert_true(a->expired);
    assert_int_equal(ct_sweep(t, 10 * S, note, &s), 0); /* told once */
    ct_free(t);
}

static void test_a_connection_over_the_limit_has_a_shorter_head_deadline(void **state)
{
    (void)state;
    ct_table *t = ct_new(&LIM);
    seen s = {0};
    for (int i = 0; i < 3; i++)
        ct_open(t, i, 0);
    ct_conn *over = ct_open(t, 9, 0);
    assert_true(over->over_limit);
    assert_int_equal(ct_sweep(t, 1 * S + 1, note, &s), 1);
    assert_ptr_equal(s.who[0], over);
    ct_free(t);
}

static void test_an_answered_connection_waits_for_its_next_head_from_then(void **state)
{
    (void)state;
    ct_table *t = ct_new(&LIM);
    seen s = {0};
    ct_conn *a = ct_open(t, 1, 0);
    ct_head(a, 1 * S);
    ct_body_bytes(a, 100000);
    ct_busy(a);
    /* Busy (being recorded): no deadline, however long. */
    assert_int_equal(ct_sweep(t, 30 * S, note, &s), 0);
    ct_answered(a, 30 * S);
    assert_null(a->request);
    assert_int_equal(ct_sweep(t, 32 * S, note, &s), 0);
    assert_int_equal(ct_sweep(t, 32 * S + 200 * MS, note, &s), 1);
    assert_int_equal(s.why[0], CT_LATE_HEAD);
    ct_free(t);
}

static void test_a_body_is_late_past_its_deadline_or_too_slow(void **state)
{
    (void)state;
    ct_table *t = ct_new(&LIM);
    seen s = {0};
    /* Fast enough (2000 B/s against 1000), but 10 s is all a body gets. */
    ct_conn *steady = ct_open(t, 1, 0);
    ct_head(steady, 0);
    /* Too slow: 500 B in its first 1.5 s, checked once 1 s has passed. */
    ct_conn *slow = ct_open(t, 2, 0);
    ct_head(slow, 0);
    ct_body_bytes(slow, 500);
    ct_body_bytes(steady, 3000);
    /* At 0.9 s the rate is not checked yet (grace), though 500 B is below it. */
    assert_int_equal(ct_sweep(t, 900 * MS, note, &s), 0);
    assert_int_equal(ct_sweep(t, 1500 * MS, note, &s), 1);
    assert_ptr_equal(s.who[0], slow);
    assert_int_equal(s.why[0], CT_SLOW_BODY);
    for (int64_t ms = 2000; ms <= 10000; ms += 1000) {
        ct_body_bytes(steady, 2000);
        assert_int_equal(ct_sweep(t, ms * MS, note, &s), 0);
    }
    assert_int_equal(ct_sweep(t, 10 * S + 100 * MS, note, &s), 1);
    assert_ptr_equal(s.who[1], steady);
    assert_int_equal(s.why[1], CT_LATE_BODY);
    ct_free(t);
}

static void test_no_minimum_rate_when_it_is_zero(void **state)
{
    (void)state;
    ct_limits lim = LIM;
    lim.min_rate = 0;
    ct_table *t = ct_new(&lim);
    seen s = {0};
    ct_conn *a = ct_open(t, 1, 0);
    ct_head(a, 0);
    assert_int_equal(ct_sweep(t, 9 * S, note, &s), 0);
    assert_int_equal(ct_sweep(t, 10 * S + 1, note, &s), 1);
    assert_int_equal(s.why[0], CT_LATE_BODY);
    ct_free(t);
}

static void test_the_timeout_says_when_to_sweep(void **state)
{
    (void)state;
    ct_table *t = ct_new(&LIM);
    seen s = {0};
    assert_int_equal(ct_timeout_ms(t, 0), -1); /* nothing open: nothing to wake for */
    ct_open(t, 1, 0);
    assert_int_equal(ct_timeout_ms(t, 0), 0); /* never swept: now */
    ct_sweep(t, 0, note, &s);
    assert_int_equal(ct_timeout_ms(t, 0), 100);
    assert_int_equal(ct_timeout_ms(t, 40 * MS), 60);
    assert_int_equal(ct_timeout_ms(t, 150 * MS), 0);
    ct_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_connections_past_the_limit_are_marked),
        cmocka_unit_test(test_a_head_too_slow_is_late_once),
        cmocka_unit_test(test_a_connection_over_the_limit_has_a_shorter_head_deadline),
        cmocka_unit_test(test_an_answered_connection_waits_for_its_next_head_from_then),
        cmocka_unit_test(test_a_body_is_late_past_its_deadline_or_too_slow),
        cmocka_unit_test(test_no_minimum_rate_when_it_is_zero),
        cmocka_unit_test(test_the_timeout_says_when_to_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
