/*
 * Faults in a run, against the real embedded mock-ingest: each does what it says at its
 * instant, and only inside its window and target. One request at t = 0 on a fresh
 * isolate, 1 ms each way, the immediate exporter: the handler's tracer.flush awaits the
 * span's export before the response, so the request lives through every retry, retries 500 ms
 * doubling. Every instant, status and fate below is worked out by hand from those numbers and
 * checked in the ledger's and the ingest's own tables.
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
    char *dir, *ledger_db, *ingest_db;
} run;

/* rules: the faults.rules array's members; retry: the exporter's retry object (NULL: two
 * retries, 500 ms doubling); timeout_s: exporter.timeout_s; runtime: more runtime keys ("");
 * span_do: the span's steps (""). */
static void one_json(char *json, size_t len, const char *rules, const char *retry, double timeout_s,
                     const char *runtime, const char *span_do)
{
    snprintf(
        json, len,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
        " \"duration_s\": 0, \"drain_s\": 600},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300},"
        " \"wait_until_budget_s\": 0%s%s},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\", \"timeout_s\": %g, \"retry\": %s},"
        " \"faults\": {\"rules\": [%s]},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"s\"%s%s%s}}, {\"call\": "
        "\"tracer.flush\"},"
        " {\"respond\": {\"status\": 200}}]}}",
        runtime[0] ? ", " : "", runtime, timeout_s,
        retry ? retry : "{\"count\": 2, \"backoff\": {\"fixed_ms\": 500}}", rules,
        span_do[0] ? ", \"do\": [" : "", span_do, span_do[0] ? "]" : "");
}

/* A scenario against the real embedded ingest, in a run directory of its own. */
static run run_json(const char *json)
{
    run x;
    x.dir = t_mkdtemp();
    x.s = sim_text_in(json, -1, x.dir, NULL);
    x.ledger_db = t_path(x.dir, "ledger.db");
    x.ingest_db = t_path(x.dir, "ingest.db");
    if (!x.s.r.verified)
        fail_msg("unverified run");
    return x;
}

/* The same scenario in the explorer's memory mode: no ingest, the ledger joined in memory. */
static sim_result memory_run(const char *json)
{
    char err[1024];
    scenario *s;
    if (scn_parse(json, "test.json", &s, err, sizeof err))
        fail_msg("%s", err);
    sim_options o = {.memory = true};
    sim_result m;
    if (sim_run(s, &o, &m, err, sizeof err))
        fail_msg("%s", err);
    scn_free(s); /* the result holds nothing of it */
    return m;
}

static run one_x(const char *rules, const char *retry, double timeout_s, const char *runtime,
                 const char *span_do)
{
    char json[8192];
    one_json(json, sizeof json, rules, retry, timeout_s, runtime, span_do);
    return run_json(json);
}

static run one_t(const char *rules, const char *retry, double timeout_s)
{
    return one_x(rules, retry, timeout_s, "", "");
}

static run one(const char *rules, const char *retry)
{
    return one_t(rules, retry, 0);
}

static void run_free(run *x)
{
    simrun_free(&x->s);
    t_rmtree(x->dir);
    free(x->dir);
    free(x->ledger_db);
    free(x->ingest_db);
}

static void expect_str(const char *db, const char *sql, const char *want)
{
    char *got = t_sql_str(db, sql);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s\n got  %s\n want %s", sql, got ? got : "(null)", want);
    free(got);
}

/* The ledger's attempts as "time_ns:status" in order, the faults as "time_ns:kind:rule". */
static void expect_attempts(const run *x, const char *want)
{
    expect_str(x->ledger_db,
               "SELECT group_concat(time_ns || ':' || status, ' ') FROM"
               " (SELECT time_ns, status FROM attempts ORDER BY id)",
               want);
}

static void expect_faults(const run *x, const char *want)
{
    expect_str(x->ledger_db,
               "SELECT COALESCE(group_concat(time_ns || ':' || kind || ':' || rule, ' '), '') FROM"
               " (SELECT * FROM faults ORDER BY rowid)",
               want);
}

static void expect_fate(const run *x, const char *want)
{
    expect_str(x->ledger_db,
               "SELECT fate || '/' || COALESCE(cause, '-') || '@' || COALESCE(died_ns, '-') || '/'"
               " || COALESCE(layer, '-') FROM fates WHERE item = 1",
               want);
}

static void expect_responded(const run *x, int64_t ns)
{
    assert_int_equal(t_sql_int(x->ledger_db, "SELECT responded_ns FROM requests WHERE id = 1"), ns);
}

/* Refused, the first time only: the POST leaves at 0 (the fault fires then), fails where
 * it would have reached the ingest (1 ms: attempt status -7), the sender hears at 2 ms,
 * retries 500 ms later: 502 ms out, 503 ms in, 504 ms back. The ingest saw one request. */
static void test_refused_first_then_retried(void **state)
{
    (void)state;
    run x = one("{\"kind\": \"refused\", \"first\": 1}", NULL);
    expect_faults(&x, "0:refused:0");
    expect_attempts(&x, "1000000:-7 503000000:200");
    expect_fate(&x, "delivered/-@-/-");
    expect_responded(&x, 504 * MS);
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM requests"), 1);
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT attempt FROM requests"), 2);
    run_free(&x);
}

/* A timeout that gives up after 2 s: nothing reaches the ingest; the fetch rejects at 2 s
 * (from when it left), the retry leaves at 2.5 s and lands. */
static void test_timeout_gives_up_after(void **state)
{
    (void)state;
    run x = one("{\"kind\": \"timeout\", \"first\": 1, \"after_s\": 2}", NULL);
    expect_attempts(&x, "1000000:-7 2501000000:200");
    expect_responded(&x, 2502 * MS);
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM requests"), 1);
    run_free(&x);
}

/* A timeout with no end: the fetch hangs, holding the request open; what it carried is
 * lost as network-error from in-flight at the instant it was lost (1 ms), and the request
 * never responds. */
static void test_timeout_that_hangs(void **state)
{
    (void)state;
    run x = one("{\"kind\": \"timeout\"}", NULL);
    expect_attempts(&x, "1000000:-7");
    expect_fate(&x, "lost/network-error@1000000/in-flight");
    assert_int_equal(
        t_sql_int(x.ledger_db, "SELECT COUNT(*) FROM requests WHERE responded_ns IS NOT NULL"), 0);
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM requests"), 0);
    run_free(&x);
}

/* The exporter's own timeout (2 s) ends the hang: the fetch aborts at 2 s, the retry lands.
 * A slow answer (5 s) is aborted the same way - after the ingest committed it, so the retry
 * makes a duplicate. A body that takes longer than the timeout to go out (some hundred
 * bytes at 0.1 KB/s: seconds) is aborted on its way and never reaches the ingest: every
 * attempt fails (at 1 s, 2.5 s and 4.5 s) and the item is lost at the last. */
static void test_exporter_timeout(void **state)
{
    (void)state;
    run x = one_t("{\"kind\": \"timeout\", \"first\": 1}", NULL, 2);
    expect_attempts(&x, "1000000:-7 2501000000:200");
    expect_responded(&x, 2502 * MS);
    expect_fate(&x, "delivered/-@-/-");
    run_free(&x);
    x = one_t("{\"kind\": \"slow\", \"latency_ms\": 5000, \"first\": 1}", NULL, 2);
    expect_attempts(&x, "1000000:-7 2501000000:200");
    expect_responded(&x, 2502 * MS);
    expect_fate(&x, "duplicated/-@-/-");
    run_free(&x);
    x = one_t("{\"kind\": \"bandwidth\", \"kb_per_s\": 0.1}", NULL, 1);
    expect_attempts(&x, "1000000000:-7 2500000000:-7 4500000000:-7");
    expect_fate(&x, "lost/network-error@4500000000/in-flight");
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM requests"), 0);
    run_free(&x);
}

/* 503 with Retry-After 1 from the real server, once: the items are stored as refused with
 * the reason fault, the exporter honours the Retry-After (1 s, not its 500 ms backoff). */
static void test_status_with_retry_after(void **state)
{
    (void)state;
    run x =
        one("{\"kind\": \"status\", \"status\": 503, \"retry_after_s\": 1, \"first\": 1}", NULL);
    expect_faults(&x, "1000000:status:0");
    expect_attempts(&x, "1000000:503 1003000000:200");
    expect_str(x.ingest_db,
               "SELECT group_concat(status || '/' || COALESCE(reason, '-') || '/' || attempt, ' ')"
               " FROM (SELECT * FROM requests ORDER BY id)",
               "503/fault/1 200/-/2");
    expect_str(x.ingest_db,
               "SELECT group_concat(accepted || '/' || COALESCE(reason, '-'), ' ') FROM"
               " (SELECT * FROM items ORDER BY id)",
               "0/fault 1/-");
    expect_fate(&x, "delivered/-@-/-");
    run_free(&x);
}

/* Committed, then the answer dropped: the ingest has the item (acked 0), the exporter sees
 * a network error and sends it again - a duplicate, counted, not hidden. Without retries it
 * is delivered but unacknowledged. */
static void test_drop_answer_makes_a_duplicate(void **state)
{
    (void)state;
    run x = one("{\"kind\": \"drop_answer\", \"first\": 1}", NULL);
    expect_attempts(&x, "1000000:-7 503000000:200");
    expect_str(x.ingest_db,
               "SELECT group_concat(COALESCE(ended, '-') || '/' || acked, ' ') FROM"
               " (SELECT * FROM requests ORDER BY id)",
               "fault_dropped/0 completed/1");
    expect_fate(&x, "duplicated/-@-/-");
    assert_int_equal(x.s.r.report.copies_extra, 1);
    assert_int_equal(x.s.r.report.unacknowledged, 0);
    run_free(&x);

    x = one("{\"kind\": \"drop_answer\"}", "{\"count\": 0}");
    expect_attempts(&x, "1000000:-7");
    expect_fate(&x, "delivered/-@-/-");
    assert_int_equal(x.s.r.report.unacknowledged, 1);
    run_free(&x);
}

/* A partition of [0, 10 s) whose fetches give up after 3 s: attempts at 1 ms, 3.501 s and
 * 7.501 s all fall inside it; with two retries the item is lost (network-error, dropped by
 * the exporter when its last attempt failed, at 10.5 s); a third retry (12.501 s) lands. */
static void test_partition_and_its_fix(void **state)
{
    (void)state;
    const char *rule = "{\"kind\": \"partition\", \"until_s\": 10, \"after_s\": 3}";
    run x = one(rule, NULL);
    expect_attempts(&x, "1000000:-7 3501000000:-7 7501000000:-7");
    expect_fate(&x, "lost/network-error@10500000000/in-flight");
    expect_faults(&x, "1000000:partition:0 3501000000:partition:0 7501000000:partition:0");
    run_free(&x);
    x = one(rule, "{\"count\": 3, \"backoff\": {\"fixed_ms\": 500}}");
    expect_attempts(&x, "1000000:-7 3501000000:-7 7501000000:-7 12501000000:200");
    expect_fate(&x, "delivered/-@-/-");
    run_free(&x);
}

/* Latency adds to the trip out (100 ms: out at 101 ms, back at 102 ms); a slow answer
 * leaves the ingest later (2 s: back at 2.002 s); neither outside its window. */
static void test_latency_and_slow(void **state)
{
    (void)state;
    run x = one("{\"kind\": \"latency\", \"latency_ms\": 100}", NULL);
    expect_attempts(&x, "101000000:200");
    expect_responded(&x, 102 * MS);
    run_free(&x);
    x = one("{\"kind\": \"slow\", \"latency_ms\": 2000}", NULL);
    expect_attempts(&x, "1000000:200");
    expect_responded(&x, 2002 * MS);
    run_free(&x);
    x = one("{\"kind\": \"latency\", \"latency_ms\": 100, \"from_s\": 0.000000001}", NULL);
    expect_attempts(&x, "1000000:200");
    expect_faults(&x, "");
    run_free(&x);
}

/* Bandwidth: the body of B bytes at 1 KB/s takes B ms more on the way out. */
static void test_bandwidth(void **state)
{
    (void)state;
    run x = one("{\"kind\": \"bandwidth\", \"kb_per_s\": 1}", NULL);
    int64_t bytes = t_sql_int(x.ledger_db, "SELECT bytes FROM attempts");
    assert_true(bytes > 100);
    expect_responded(&x, (2 + bytes) * MS);
    run_free(&x);
    /* Refused at the handshake, the body never goes out: it fails at 1 ms. Reset, the body
     * went out first: it fails where it would have arrived (1 + B ms). Both retry (at 502 ms
     * and 502 + B ms) and land after the body's time again. */
    char want[128];
    x = one("{\"kind\": \"bandwidth\", \"kb_per_s\": 1}, {\"kind\": \"refused\", \"first\": 1}",
            NULL);
    snprintf(want, sizeof want, "1000000:-7 %" PRId64 ":200", (int64_t)((503 + bytes) * MS));
    expect_attempts(&x, want);
    run_free(&x);
    x = one("{\"kind\": \"bandwidth\", \"kb_per_s\": 1}, {\"kind\": \"reset\", \"first\": 1}",
            NULL);
    snprintf(want, sizeof want, "%" PRId64 ":-7 %" PRId64 ":200", (int64_t)((1 + bytes) * MS),
             (int64_t)((503 + 2 * bytes) * MS));
    expect_attempts(&x, want);
    run_free(&x);
}

/* 413 above a size from the real server: the immediate exporter gives the item up. */
static void test_too_large(void **state)
{
    (void)state;
    run x = one("{\"kind\": \"too_large\", \"max_bytes\": 10}", NULL);
    expect_attempts(&x, "1000000:413");
    expect_fate(&x, "lost/rejected-by-ingest@2000000/in-flight");
    expect_str(x.ingest_db, "SELECT status || '/' || reason FROM requests", "413/fault");
    run_free(&x);
}

/* Targets: a rule for the logs path, or for another colo, does nothing to a span's POST. */
static void test_targets_spare_the_others(void **state)
{
    (void)state;
    run x = one("{\"kind\": \"refused\", \"paths\": [\"/v1/logs\"]},"
                " {\"kind\": \"status\", \"status\": 500, \"colos\": [\"default\"],"
                " \"paths\": [\"/v1/traces\"], \"first\": 1}",
                NULL);
    expect_faults(&x, "1000000:status:1");
    expect_attempts(&x, "1000000:500 503000000:200");
    run_free(&x);
}

/* The runtime's kinds from the scenario, at their instants. A deploy rule at 0.5 s replaces
 * the isolate while its request awaits (the span open since 0 is lost there); a pressure of
 * 200 MB from 0.5 s puts the live isolate over 128 MB and evicts it then (cause memory);
 * a CPU storm of 10 turns a 10 ms step into 100 ms, past a 50 ms CPU limit: the request is
 * terminated at 50 ms. Each fires once, on that isolate (and request). */
static void test_runtime_kinds(void **state)
{
    (void)state;
    const char *wait = "{\"await\": {\"name\": \"x\", \"latency\": {\"fixed_ms\": 1000}}}";
    run x = one_x("{\"kind\": \"deploy\", \"from_s\": 0.5}", NULL, 0, "", wait);
    expect_faults(&x, "500000000:deploy:0");
    expect_fate(&x, "lost/evicted-in-buffer@500000000/open-span");
    expect_str(x.ledger_db, "SELECT cause || '@' || died_ns FROM isolates WHERE id = 1",
               "deploy@500000000");
    run_free(&x);
    x = one_x("{\"kind\": \"memory_pressure\", \"memory_mb\": 200, \"from_s\": 0.5}", NULL, 0, "",
              wait);
    expect_faults(&x, "500000000:memory_pressure:0");
    expect_str(x.ledger_db, "SELECT cause || '@' || died_ns FROM isolates WHERE id = 1",
               "memory@500000000");
    expect_fate(&x, "lost/evicted-in-buffer@500000000/open-span");
    run_free(&x);
    x = one_x("{\"kind\": \"cpu_storm\", \"cpu_factor\": 10}", NULL, 0, "\"cpu_limit_ms\": 50",
              "{\"cpu\": {\"fixed_ms\": 10}}");
    expect_faults(&x, "0:cpu_storm:0");
    assert_int_equal(t_sql_int(x.ledger_db, "SELECT request FROM faults"), 1);
    expect_fate(&x, "lost/cpu-limit@50000000/open-span");
    run_free(&x);
    /* Outside its window (from 1 s) the same step costs 10 ms and the request completes. */
    x = one_x("{\"kind\": \"cpu_storm\", \"cpu_factor\": 10, \"from_s\": 1}", NULL, 0,
              "\"cpu_limit_ms\": 50", "{\"cpu\": {\"fixed_ms\": 10}}");
    expect_faults(&x, "");
    expect_fate(&x, "delivered/-@-/-");
    run_free(&x);
}

/* Edges a review found, each once unexplained, mistimed or miscounted:
 *  - a failed POST whose rejection comes back to a dead isolate (a deploy at 20 s, the
 *    rejection due at 40 s) is lost as network-error when it failed (1 ms);
 *  - one whose rejection is due after the run's end (after_s 1000) the same;
 *  - a body too slow to finish before the end of time is stranded at the end, not an event
 *    in the past;
 *  - ingest rules never see a request a partition took: the 503 fires at the first attempt
 *    that arrives (12.501 s), after three partitioned ones;
 *  - a too_large rule does not fire for a body within its size;
 *  - a timeout shorter than the trip out rejects at its time (1 s), not at the arrival. */
static void test_review_edges(void **state)
{
    (void)state;
    run x = one("{\"kind\": \"timeout\", \"after_s\": 40}, {\"kind\": \"deploy\", \"from_s\": 20}",
                "{\"count\": 0}");
    expect_fate(&x, "lost/network-error@1000000/in-flight");
    run_free(&x);
    x = one("{\"kind\": \"timeout\", \"after_s\": 1000}", "{\"count\": 0}");
    expect_fate(&x, "lost/network-error@1000000/in-flight");
    run_free(&x);
    x = one("{\"kind\": \"bandwidth\", \"kb_per_s\": 0.000001}", "{\"count\": 0}");
    expect_str(x.ledger_db, "SELECT fate || '/' || cause || '/' || layer FROM fates",
               "lost/stranded-at-end/in-flight");
    run_free(&x);
    x = one("{\"kind\": \"partition\", \"until_s\": 10, \"after_s\": 3},"
            " {\"kind\": \"status\", \"status\": 503, \"first\": 1}",
            "{\"count\": 3, \"backoff\": {\"fixed_ms\": 500}}");
    expect_faults(&x, "1000000:partition:0 3501000000:partition:0 7501000000:partition:0"
                      " 12501000000:status:1");
    expect_fate(&x, "lost/rejected-by-ingest@12502000000/in-flight");
    run_free(&x);
    x = one("{\"kind\": \"too_large\", \"max_bytes\": 100000}", NULL);
    expect_faults(&x, "");
    expect_fate(&x, "delivered/-@-/-");
    run_free(&x);
    x = one(
        "{\"kind\": \"latency\", \"latency_ms\": 10000}, {\"kind\": \"timeout\", \"after_s\": 1}",
        "{\"count\": 0}");
    expect_attempts(&x, "1000000000:-7");
    expect_fate(&x, "lost/network-error@1000000000/in-flight");
    run_free(&x);
}

/* The exporter's timeout runs while a POST waits for a connection (AbortSignal.timeout runs
 * from fetch()): with one connection per request, held for ever by the handler's own fetch
 * (a hang on /api/), the span's POST - its flush in waitUntil after a 10 ms await - waits
 * from 10 ms, is withdrawn from the queue at its deadline, 2.010 s, and rejects then: its
 * span is lost as network-error at that instant, having never left (no attempt), instead of
 * waiting until the run's end. */
static void test_timeout_while_queued(void **state)
{
    (void)state;
    const char *json =
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
        " \"duration_s\": 0, \"drain_s\": 600},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300},"
        " \"wait_until_budget_s\": 0, \"max_connections\": 1},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\", \"timeout_s\": 2, \"retry\": {\"count\": 0}},"
        " \"app\": {\"zone\": \"flare.dev\", \"handler\": [{\"span\": {\"name\": \"s\"}},"
        " {\"wait_until\": [{\"await\": {\"name\": \"x\", \"latency\": {\"fixed_ms\": 10}}},"
        " {\"call\": \"tracer.flush\"}]},"
        " {\"fetch\": {\"name\": \"api\", \"url\": \"https://in.flare.dev/api/n\", \"body\":"
        " \"notify\"}}, {\"respond\": {\"status\": 200}}]},"
        " \"faults\": {\"rules\": [{\"kind\": \"timeout\", \"paths\": [\"/api/\"]}]}}";
    run x = run_json(json);
    expect_fate(&x, "lost/network-error@2010000000/in-flight");
    expect_attempts(&x, "1000000:-7");
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM requests"), 0);
    run_free(&x);
}

/* The explorer's memory mode (no ingest: the ledger joins in memory) stands in for the
 * ingest's side of a fault as the real server does it: the same fates and causes as the
 * run against the real server, fault for fault. */
static void test_memory_mode_agrees(void **state)
{
    (void)state;
    const char *rules[] = {
        "{\"kind\": \"status\", \"status\": 503, \"first\": 1}",
        "{\"kind\": \"status\", \"status\": 500}",
        "{\"kind\": \"too_large\", \"max_bytes\": 10}",
        "{\"kind\": \"drop_answer\", \"first\": 1}",
        "{\"kind\": \"drop_answer\"}",
        "{\"kind\": \"partition\", \"until_s\": 10, \"after_s\": 3}",
        "{\"kind\": \"refused\", \"first\": 2}",
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        run x = one(rules[i], NULL);
        char json[8192];
        one_json(json, sizeof json, rules[i], NULL, 0, "", "");
        sim_result m = memory_run(json);
        for (int f = 0; f < FATE_COUNT; f++)
            if (m.report.fate[f] != x.s.r.report.fate[f])
                fail_msg("%s: %s %" PRIu64 " in memory, %" PRIu64 " against the server", rules[i],
                         ledger_fate_name((ledger_fate)f), m.report.fate[f], x.s.r.report.fate[f]);
        for (int c = 0; c < CAUSE_COUNT; c++)
            assert_int_equal(m.report.lost_by[c], x.s.r.report.lost_by[c]);
        assert_int_equal(m.report.copies_extra, x.s.r.report.copies_extra);
        /* The cost, nearest-rank over the requests, in both. */
        assert_true(m.report.added_response_p99_ms == x.s.r.report.added_response_p99_ms);
        assert_true(m.report.added_response_ms == x.s.r.report.added_response_ms);
        assert_int_equal(m.report.faults[FLT_STATUS] + m.report.faults[FLT_DROP_ANSWER],
                         x.s.r.report.faults[FLT_STATUS] + x.s.r.report.faults[FLT_DROP_ANSWER]);
        sim_result_free(&m);
        run_free(&x);
    }
}

/* The cost's p99 is exact: the file ledger's radix select, the memory mode's sort and an
 * ORDER BY over ledger.db's requests agree, on 400 requests whose flushes wait a jittered
 * slow answer (0 to 2 s) - varied values, several per bucket. */
static void test_p99_is_exact(void **state)
{
    (void)state;
    const char *json =
        "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 20, \"requests\": 400,"
        " \"duration_s\": 60, \"drain_s\": 60},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300}},"
        " \"network\": {\"latency\": {\"uniform_ms\": [1, 9]}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"faults\": {\"rules\": [{\"kind\": \"slow\", \"latency_ms\": 1000, \"jitter_ms\": "
        "1000}]},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"s\"}}, {\"call\": \"tracer.flush\"},"
        " {\"wait_until\": [{\"span\": {\"name\": \"t\"}}, {\"call\": \"tracer.flush\"}]},"
        " {\"respond\": {\"status\": 200}}]}}";
    run x = run_json(json);
    const char *cols[2] = {"call_ns_before_response", "call_ns_wait_until"};
    double got[2] = {x.s.r.report.added_response_p99_ms, x.s.r.report.added_wait_until_p99_ms};
    for (int c = 0; c < 2; c++) {
        int64_t want = t_sql_intf(x.ledger_db,
                                  "SELECT %s FROM requests ORDER BY %s LIMIT 1 OFFSET"
                                  " (SELECT (COUNT(*) * 99 + 99) / 100 - 1 FROM requests)",
                                  cols[c], cols[c]);
        assert_true(want > 100 * MS); /* a real spread, not all zeros */
        if (got[c] != (double)want / 1e6)
            fail_msg("%s: p99 %.6f ms, ORDER BY says %.6f", cols[c], got[c], (double)want / 1e6);
        assert_true(t_sql_intf(x.ledger_db, "SELECT COUNT(DISTINCT %s) FROM requests", cols[c]) >
                    100);
    }
    sim_result m = memory_run(json);
    assert_true(m.report.added_response_p99_ms == got[0]);
    assert_true(m.report.added_wait_until_p99_ms == got[1]);
    sim_result_free(&m);
    run_free(&x);
}

/* One outlier (a 100 s slow answer, once) among 9,000 requests whose waits differ by
 * microseconds: counted over the whole range, nearly every request falls in the first
 * bucket, which the select counts again, finer, before it sorts; still the ORDER BY's value. */
static void test_p99_with_an_outlier(void **state)
{
    (void)state;
    const char *json =
        "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 300, \"requests\": 9000,"
        " \"duration_s\": 60, \"drain_s\": 200},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300},"
        " \"max_concurrency\": 1000000},"
        " \"network\": {\"latency\": {\"uniform_ms\": [1, 2]}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"faults\": {\"rules\": [{\"kind\": \"slow\", \"latency_ms\": 100000, \"first\": 1}]},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"s\"}}, {\"call\": \"tracer.flush\"},"
        " {\"respond\": {\"status\": 200}}]}}";
    run x = run_json(json);
    assert_true(t_sql_int(x.ledger_db, "SELECT MAX(call_ns_before_response) FROM requests") >
                100 * S);
    int64_t want = t_sql_int(x.ledger_db,
                             "SELECT call_ns_before_response FROM requests ORDER BY"
                             " call_ns_before_response LIMIT 1 OFFSET (SELECT (COUNT(*) * 99 + 99)"
                             " / 100 - 1 FROM requests)");
    assert_true(want < 10 * MS);
    if (x.s.r.report.added_response_p99_ms != (double)want / 1e6)
        fail_msg("p99 %.6f ms, ORDER BY says %.6f", x.s.r.report.added_response_p99_ms,
                 (double)want / 1e6);
    run_free(&x);
}

/* Same scenario and seed, same event log hash and the same ingest rows, with probabilistic
 * faults of every family. */
static void test_deterministic(void **state)
{
    (void)state;
    const char *rules = "{\"kind\": \"refused\", \"probability\": 0.5},"
                        " {\"kind\": \"latency\", \"latency_ms\": 50, \"jitter_ms\": 40},"
                        " {\"kind\": \"status\", \"status\": 503, \"probability\": 0.3}";
    run a = one(rules, "{\"count\": 6}");
    run b = one(rules, "{\"count\": 6}");
    assert_int_equal(a.s.r.hash, b.s.r.hash);
    assert_int_equal(a.s.r.report.ingest_hash, b.s.r.report.ingest_hash);
    assert_int_equal(a.s.r.report.faults[FLT_REFUSED], b.s.r.report.faults[FLT_REFUSED]);
    run_free(&a);
    run_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_first_then_retried),
        cmocka_unit_test(test_timeout_gives_up_after),
        cmocka_unit_test(test_timeout_that_hangs),
        cmocka_unit_test(test_exporter_timeout),
        cmocka_unit_test(test_status_with_retry_after),
        cmocka_unit_test(test_drop_answer_makes_a_duplicate),
        cmocka_unit_test(test_partition_and_its_fix),
        cmocka_unit_test(test_latency_and_slow),
        cmocka_unit_test(test_bandwidth),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_targets_spare_the_others),
        cmocka_unit_test(test_runtime_kinds),
        cmocka_unit_test(test_review_edges),
        cmocka_unit_test(test_timeout_while_queued),
        cmocka_unit_test(test_memory_mode_agrees),
        cmocka_unit_test(test_p99_is_exact),
        cmocka_unit_test(test_p99_with_an_outlier),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
