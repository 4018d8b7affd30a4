/*
 * Cancellation and teardown lose nothing unexplained and send nothing after the end: what a
 * cancelled waitUntil, a terminated request or a request that simply ended leaves in its
 * buffers is lost with its own cause at that instant, a fetch waiting for a connection when
 * its request is cut never leaves, and the boundary of a POST in flight at the deadline.
 * Fates, causes and instants worked out here by hand; the ledger's drop records read with
 * this test's own SQL.
 */
#include "simtest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL
#define S  1000000000LL

typedef struct run {
    simrun s;
    char *dir, *ledger_db;
} run;

/* One request at t = 0 on a fresh isolate; network 1 ms each way; the immediate exporter. */
static run one(const char *runtime, const char *handler)
{
    char json[4096];
    snprintf(
        json, sizeof json,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
        " \"duration_s\": 0, \"drain_s\": 600},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300}"
        "%s%s},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"handler\": [%s]}}",
        runtime[0] ? ", " : "", runtime, handler);
    run x;
    x.dir = t_mkdtemp();
    x.s = sim_text_in(json, -1, x.dir, NULL);
    x.ledger_db = t_path(x.dir, "ledger.db");
    if (!x.s.r.verified)
        fail_msg("unverified run");
    return x;
}

static void run_free(run *x)
{
    simrun_free(&x->s);
    t_rmtree(x->dir);
    free(x->dir);
    free(x->ledger_db);
}

/* The fate of item n as "fate/cause@time_ns/layer". */
static void expect_fate_of(const run *x, int n, const char *want)
{
    expect_fate_in(x->ledger_db, n, want);
}

/* A span, then waitUntil { await 31 s; tracer.flush }: the budget (30 s) cuts it before the
 * flush. The span, orphaned in the request's tracer buffer, is lost at 30 s as
 * waituntil-cancelled - not at the isolate's idle eviction five minutes later. */
static void test_cancelled_wait_until_loses_what_it_would_have_flushed(void **state)
{
    (void)state;
    run x = one("", "{\"span\": {\"name\": \"s\", \"do\": []}},"
                    " {\"wait_until\": [{\"await\": {\"latency\": {\"fixed_s\": 31}}},"
                    "  {\"call\": \"tracer.flush\"}]}, {\"respond\": {}}");
    assert_int_equal(x.s.r.rt.wait_until_cancelled, 1);
    assert_int_equal(x.s.r.posts, 0);
    expect_fate_of(&x, 1, "lost/waituntil-cancelled@30000000000/tracer");
    run_free(&x);
}

/* A span flushed, a metric never: the request ends at 2 ms (the flush's POST and its
 * answer) with the metric in its own metrics buffer, which nothing can flush now. */
static void test_a_request_that_ends_with_items_unflushed(void **state)
{
    (void)state;
    run x = one("", "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"metric\": {\"name\": \"m\"}},"
                    " {\"call\": \"tracer.flush\"}, {\"respond\": {}}");
    expect_fate_of(&x, 1, "delivered/-@-/-");
    expect_fate_of(&x, 2, "lost/never-flushed@2000000/metrics");
    assert_int_equal(x.s.r.report.lost_by[CAUSE_NEVER_FLUSHED], 1);
    /* Its memory is given back then: nothing is left for the idle eviction. */
    assert_int_equal(x.s.r.report.exposure_items, 0);
    run_free(&x);
}

/* With a timer it set still pending, the request's buffers may yet be flushed by it: they
 * stay. The timer is frozen while the isolate is idle (the seed's point), so alone the
 * metric dies with the isolate at its idle eviction (300 s); a second request at 1 s wakes
 * the isolate, the overdue timer fires then and flushes it (late: its request ended at 0). */
static void test_a_pending_timer_may_still_flush(void **state)
{
    (void)state;
    const char *handler = "{\"metric\": {\"name\": \"m\"}},"
                          " {\"once\": [{\"set_timeout\": {\"delay\": {\"fixed_ms\": 100},"
                          "  \"do\": [{\"call\": \"metrics.flush\"}]}}]}, {\"respond\": {}}";
    run alone = one("", handler);
    expect_fate_of(&alone, 1, "lost/evicted-in-buffer@300000000000/metrics");
    run_free(&alone);
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 600},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\"}, \"app\": {\"handler\": [%s]}}",
        handler);
    run woken;
    woken.dir = t_mkdtemp();
    woken.s = sim_text_in(json, -1, woken.dir, NULL);
    woken.ledger_db = t_path(woken.dir, "ledger.db");
    expect_fate_of(&woken, 1, "late/-@-/-");
    run_free(&woken);
}

/*
 * Six 60 s fetches hold the request's six connections; the waitUntil flush's POST queues as
 * the seventh. At 30 s the budget cancels the fetches, freeing their connections - which
 * must not send the queued POST: it never left. 0 POSTs; the span lost as
 * waituntil-cancelled at 30 s from the connection queue.
 */
#define SIX_FETCHES(ms)                                                                            \
    " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"                      \
    " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"                      \
    " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"                      \
    " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"                      \
    " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"                      \
    " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": " ms "}}}]},"

static void test_a_queued_post_is_not_sent_by_the_cancellation(void **state)
{
    (void)state;
    run x = one(
        "", "{\"span\": {\"name\": \"s\", \"do\": []}}," SIX_FETCHES(
                "60000") " {\"wait_until\": [{\"call\": \"tracer.flush\"}]}, {\"respond\": {}}");
    assert_int_equal(x.s.r.posts, 0);
    assert_int_equal(x.s.r.rt.wait_until_cancelled, 7);
    expect_fate_of(&x, 1, "lost/waituntil-cancelled@30000000000/in-flight");
    assert_int_equal(x.s.r.report.lost_by[CAUSE_UNEXPLAINED], 0);
    run_free(&x);
}

/*
 * The same queued POST when the CPU limit (10 ms) terminates the request: a 50 ms CPU step
 * after the flush. Its rejection runs at the termination instant, before the isolate may go
 * idle: the span is lost as cpu-limit at 10 ms (it was "unexplained", or recorded 30 s
 * late when another request woke the isolate).
 */
static void test_a_queued_post_when_the_cpu_limit_terminates(void **state)
{
    (void)state;
    run x = one("\"cpu_limit_ms\": 10",
                "{\"span\": {\"name\": \"s\", \"do\": []}}," SIX_FETCHES(
                    "60000") " {\"wait_until\": [{\"call\": \"tracer.flush\"}]},"
                             " {\"cpu\": {\"fixed_ms\": 50}}, {\"respond\": {}}");
    assert_int_equal(x.s.r.rt.cpu_limited, 1);
    assert_int_equal(x.s.r.posts, 0);
    expect_fate_of(&x, 1, "lost/cpu-limit@10000000/in-flight");
    assert_int_equal(x.s.r.report.lost_by[CAUSE_UNEXPLAINED], 0);
    run_free(&x);
}

/*
 * A POST in flight at the deadline: the sixth fetch frees its connection at T and the queued
 * POST leaves then. Sent before the deadline (T = 30 s - 1 ns), or at the deadline's instant
 * by work scheduled before it (T = 30 s: the fetch's wake-up was scheduled at 0, the
 * deadline at the response), it is processed when it arrives - late, its request having
 * ended at 30 s. Still waiting at the deadline (T = 30 s + 1 ns): it never leaves.
 */
static void test_a_post_in_flight_at_the_deadline(void **state)
{
    (void)state;
    const struct {
        const char *fetch_ms;
        uint64_t posts;
        const char *fate;
    } cases[] = {
        {"29999.999999", 1, "late/-@-/-"},
        {"30000", 1, "late/-@-/-"},
        {"30000.000001", 0, "lost/waituntil-cancelled@30000000000/in-flight"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char handler[2048];
        snprintf(handler, sizeof handler,
                 "{\"span\": {\"name\": \"s\", \"do\": []}},"
                 " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"
                 " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"
                 " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"
                 " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"
                 " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 60000}}}]},"
                 " {\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": %s}}}]},"
                 " {\"wait_until\": [{\"call\": \"tracer.flush\"}]}, {\"respond\": {}}",
                 cases[i].fetch_ms);
        run x = one("", handler);
        if (x.s.r.posts != cases[i].posts)
            fail_msg("fetch %s ms: %" PRIu64 " POSTs, want %" PRIu64, cases[i].fetch_ms,
                     x.s.r.posts, cases[i].posts);
        expect_fate_of(&x, 1, cases[i].fate);
        run_free(&x);
    }
}

/*
 * The deadline's rejection of a queued POST runs on the isolate; when the isolate dies
 * before it could, the loss is still reported, with the rejection's cause and instant.
 * Every request computes 1 s before it responds: request 1 responds at 1 s, so its
 * deadline is at 31 s; request 2 arrives at 30.99 s and holds the thread past it; a deploy
 * at 31.5 s stops that and takes the isolate before the rejection ran.
 */
static void test_a_rejection_that_never_ran_is_still_reported(void **state)
{
    (void)state;
    char json[4096];
    snprintf(json, sizeof json,
             "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 0.032268473701193935,"
             " \"requests\": 2, \"duration_s\": 0, \"drain_s\": 100},"
             " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"deploys_s\": [31.5]},"
             " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
             " \"exporter\": {\"strategy\": \"immediate\"},"
             " \"app\": {\"routes\": [{\"name\": \"x\", \"handler\": [%s]}]}}",
             "{\"span\": {\"name\": \"s\", \"do\": []}}," SIX_FETCHES(
                 "60000") " {\"wait_until\": [{\"call\": \"tracer.flush\"}]},"
                          " {\"cpu\": {\"fixed_ms\": 1000}}, {\"respond\": {}}");
    run x;
    x.dir = t_mkdtemp();
    x.s = sim_text_in(json, -1, x.dir, NULL);
    x.ledger_db = t_path(x.dir, "ledger.db");
    if (!x.s.r.verified)
        fail_msg("unverified run (an invariant failed?)");
    assert_int_equal(x.s.r.rt.evicted[RT_EVICT_DEPLOY], 1);
    expect_fate_of(&x, 1, "lost/waituntil-cancelled@31000000000/connection-queue");
    assert_int_equal(x.s.r.report.lost_by[CAUSE_UNEXPLAINED], 0);
    run_free(&x);
}

/*
 * A timer the request set fires at the deadline's instant (scheduled before it) and, its
 * CPU running to 1.1 s, puts a metric in the request's buffer then. The deadline, popping
 * after it at 1 s, ends the request: the metric is lost as waituntil-cancelled - at 1.1 s,
 * never before it was made.
 */
static void test_an_item_a_timer_made_past_the_deadline(void **state)
{
    (void)state;
    run x = one(
        "\"wait_until_budget_s\": 1",
        "{\"set_timeout\": {\"delay\": {\"fixed_s\": 1}, \"do\": [{\"cpu\": {\"fixed_ms\": 100}},"
        "  {\"metric\": {\"name\": \"t\"}}]}},"
        " {\"wait_until\": [{\"await\": {\"latency\": {\"fixed_s\": 2}}}]}, {\"respond\": {}}");
    expect_fate_of(&x, 1, "lost/waituntil-cancelled@1100000000/metrics");
    run_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancelled_wait_until_loses_what_it_would_have_flushed),
        cmocka_unit_test(test_a_request_that_ends_with_items_unflushed),
        cmocka_unit_test(test_a_pending_timer_may_still_flush),
        cmocka_unit_test(test_a_queued_post_is_not_sent_by_the_cancellation),
        cmocka_unit_test(test_a_queued_post_when_the_cpu_limit_terminates),
        cmocka_unit_test(test_a_post_in_flight_at_the_deadline),
        cmocka_unit_test(test_a_rejection_that_never_ran_is_still_reported),
        cmocka_unit_test(test_an_item_a_timer_made_past_the_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
