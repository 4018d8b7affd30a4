/*
 * The second seed's shared state, counted by hand: entries of isolate globals are ledger
 * items, envelope-attributed (credited to the request whose payload carried them), lost as
 * overwritten-shared-state when another request replaces, clears or takes their global, and
 * misattributed when they reach the ingest in another request's payload. Every expectation
 * below is worked out from the program and the arrival times in the comment above it, and
 * read back from ledger.db and ingest.db with this test's own SQL - never from the
 * interpreter's counters.
 */
#include "simtest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run {
    simrun s;
    char *dir, *ledger_db, *ingest_db;
} run;

/* A generic one-off run of `json` in a fresh directory. */
static run json_run(const char *json)
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

/*
 * Two requests, 1 ms apart (constant 1000/s: A at 0, B at 1 ms), on one isolate with no cold
 * start; network 1 ms each way; the immediate exporter; `queue` adds a queue (or "").
 */
static run two(const char *handler, const char *extra)
{
    char json[8192];
    snprintf(
        json, sizeof json,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1000, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 60},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300},"
        " \"max_concurrency\": 8},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\"}%s%s,"
        " \"app\": {\"handler\": [%s]%s}}",
        extra[0] ? ", " : "", extra, handler,
        strstr(extra, "queue") ? ", \"accumulators\": [{\"name\": \"LOG\"}]" : "");
    return json_run(json);
}

static void run_free(run *x)
{
    simrun_free(&x->s);
    t_rmtree(x->dir);
    free(x->dir);
    free(x->ledger_db);
    free(x->ingest_db);
}

/* Every entry as "request:fate[:cause|:credited_to]", in item order, joined by spaces. */
static void expect_entries(const run *x, const char *want)
{
    char *got = t_sql_str(x->ledger_db,
                          "SELECT group_concat(s, ' ') FROM (SELECT request || ':' || fate ||"
                          " CASE WHEN fate = 'lost' THEN ':' || cause"
                          " WHEN fate = 'misattributed' THEN ':' || credited_to ELSE '' END AS s"
                          " FROM fates WHERE kind = 'entry' ORDER BY item)");
    if (!got || strcmp(got, want) != 0)
        fail_msg("entries: %s, want %s", got ? got : "(none)", want);
    free(got);
}

static int64_t ledger_int(const run *x, const char *sql)
{
    return t_sql_int(x->ledger_db, sql);
}

/* The bug's program with two resolves: set, A's extra 4 ms (the first request runs the
 * once-block), the body read, two resolves, scheduler.wait(0), take, send in waitUntil. */
#define ONCE_A_4MS                                                                                 \
    "{\"once\": [{\"await\": {\"name\": \"slow body\", \"latency\": {\"fixed_ms\": 4}}}]},"
#define BODY_1MS  "{\"await\": {\"name\": \"req.bytes\", \"latency\": {\"fixed_ms\": 1}}},"
#define WAIT0     "{\"await\": {\"name\": \"scheduler.wait(0)\", \"latency\": {\"fixed_ms\": 0}}},"
#define SET       "{\"global\": {\"name\": \"LOG\", \"op\": \"set\"}},"
#define TAKE      "{\"global\": {\"name\": \"LOG\", \"op\": \"take\"}},"
#define SEND_WU   "{\"wait_until\": [{\"global\": {\"name\": \"LOG\", \"op\": \"send\"}}]},"
#define RESPOND   "{\"respond\": {}}"
#define APPEND(u) "{\"global\": {\"name\": \"LOG\", \"op\": \"append\", \"on_unset\": \"" u "\"}},"

/*
 * The issue's case: A at 0 with a 5 ms body read, B at 1 ms with a 1 ms one.
 * t=0  A sets LOG, awaits its body until 5 ms.
 * t=1  B sets LOG (A's value was empty: nothing lost), awaits its body until 2 ms.
 * t=2  B resolves b1 b2 into LOG, yields at wait(0) - nobody else is ready - takes [b1 b2],
 *      sends them for itself: delivered.
 * t=5  A resolves into LOG, which B took: on_unset drop writes nothing (a1 a2 lost,
 *      overwritten-shared-state); on_unset fresh starts a new value, A takes and sends its own.
 */
static void test_issue_case_bug_drop(void **state)
{
    (void)state;
    run x =
        two(SET ONCE_A_4MS BODY_1MS APPEND("drop") APPEND("drop") WAIT0 TAKE SEND_WU RESPOND, "");
    expect_entries(&x, "2:delivered 2:delivered 1:lost:overwritten-shared-state "
                       "1:lost:overwritten-shared-state");
    /* Lost at 5 ms, on A's append, from LOG, and the story names who took it. */
    assert_int_equal(ledger_int(&x, "SELECT COUNT(*) FROM drops WHERE time_ns = 5000000"
                                    " AND layer = 'LOG' AND note LIKE '%request 2 had taken it%'"),
                     2);
    /* B's payload was sent for B and carried its two entries; A sent nothing. */
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM items WHERE sent_for = 'r2'"), 2);
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM requests"), 1);
    assert_true(strstr(x.s.summary, "written to LOG") != NULL);
    run_free(&x);
}

static void test_issue_case_bug_fresh(void **state)
{
    (void)state;
    run x =
        two(SET ONCE_A_4MS BODY_1MS APPEND("fresh") APPEND("fresh") WAIT0 TAKE SEND_WU RESPOND, "");
    expect_entries(&x, "2:delivered 2:delivered 1:delivered 1:delivered");
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM requests"), 2);
    run_free(&x);
}

/*
 * Fix 1 on the same arrivals: A reads its body (until 5 ms), then set, resolve, take with no
 * await between; B does the same at 2 ms. Each takes only its own: all four delivered. The
 * put_back + take at the end (no await between) hands the same entries on.
 */
static void test_issue_case_fix_sync_window(void **state)
{
    (void)state;
    run x = two(ONCE_A_4MS BODY_1MS SET APPEND("drop") APPEND("drop") TAKE WAIT0
                "{\"global\": {\"name\": \"LOG\", \"op\": \"put_back\"}}," TAKE SEND_WU RESPOND,
                "");
    expect_entries(&x, "2:delivered 2:delivered 1:delivered 1:delivered");
    /* put_back is a move back into LOG, then the take moves them to the task again. */
    assert_int_equal(ledger_int(&x, "SELECT COUNT(*) FROM moves m JOIN items i ON i.id = m.item"
                                    " WHERE i.kind = 'entry' AND m.layer = 'LOG'"),
                     4);
    run_free(&x);
}

/*
 * Fix 2 on the same arrivals: an accumulator drained by a checkpoint in waitUntil, to a queue
 * (batch 10, 1 s wait, no delay, send 5 ms). B's checkpoint at 2 ms sends [b1 b2], A's at 5 ms
 * [a1 a2]; the queue's batch (both messages, visible at 7 and 10 ms) goes 1 s after the
 * first: one POST sent for no request - each entry credited to its origin: none mixed, none
 * lost.
 */
static void test_issue_case_fix_accumulator(void **state)
{
    (void)state;
    run x = two(
        ONCE_A_4MS BODY_1MS
        "{\"global\": {\"name\": \"LOG\", \"op\": \"append\"}},"
        "{\"global\": {\"name\": \"LOG\", \"op\": \"append\"}}," WAIT0
        "{\"wait_until\": [{\"global\": {\"name\": \"LOG\", \"op\": \"checkpoint\"}}]}," RESPOND,
        "\"queue\": {\"batch_size\": 10, \"max_wait_s\": 1, \"send_latency\": "
        "{\"fixed_ms\": 5}}");
    /* Late, not lost: they reach the ingest after their requests ended (a queue is
     * asynchronous by design). */
    expect_entries(&x, "2:late 2:late 1:late 1:late");
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM requests"), 1);
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM items WHERE sent_for IS NULL"),
                     4);
    /* It left the queue at 7 ms + 1 s and reached the ingest 1 ms later. */
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT time_ns FROM requests"), 1008000000);
    run_free(&x);
}

/*
 * Mixing, by hand. Two once-blocks of 4.5 ms: A (first at both) runs the first, B - arriving
 * while A waits - the second. Each resolve costs 1 ms of CPU.
 * t=0    A sets LOG, awaits once#1 until 4.5 ms.
 * t=1    B sets LOG (empty: nothing lost), skips once#1, awaits once#2 until 5.5 ms.
 * t=4.5  A skips once#2, resolves a1 (4.5) and a2 (5.5), holding the thread until 6.5, then
 *        wait(0). B, ready since 5.5, runs first.
 * t=6.5  B resolves b1 (6.5) and b2 (7.5) into the same LOG, wait(0) at 8.5.
 * t=8.5  A takes [a1 a2 b1 b2] and sends them for itself: b1 b2 reach the ingest credited to
 *        A (misattributed, mixed), one mixed request; B then takes nothing. Nothing is lost.
 */
static void test_mixing_by_hand(void **state)
{
    (void)state;
#define ONCE45  "{\"once\": [{\"await\": {\"name\": \"x\", \"latency\": {\"fixed_us\": 4500}}}]},"
#define RESOLVE APPEND("drop") "{\"cpu\": {\"fixed_ms\": 1}},"
    run x = two(SET ONCE45 ONCE45 RESOLVE RESOLVE WAIT0 TAKE SEND_WU RESPOND, "");
    expect_entries(&x, "1:delivered 1:delivered 2:misattributed:r1 2:misattributed:r1");
    char *times =
        t_sql_str(x.ledger_db, "SELECT group_concat(created_ns, ' ') FROM (SELECT"
                               " created_ns FROM items WHERE kind = 'entry' ORDER BY id)");
    assert_string_equal(times, "4500000 5500000 6500000 7500000");
    free(times);
    assert_int_equal(x.s.r.report.mixed_items, 2);
    assert_int_equal(x.s.r.report.mixed_requests, 1);
    assert_int_equal(x.s.r.report.fate[FATE_LOST], 0);
    /* The story of the first mixed entry says whom it was credited to. */
    if (!strstr(x.s.summary, "credited to request 1"))
        fail_msg("no story of the mixed entry in:\n%s", x.s.summary);
    run_free(&x);
}

/*
 * The same orders with fix 1 mix nothing: set, resolve and take happen in one synchronous
 * segment, so B's resolves can only go into the value B set.
 */
static void test_mixing_orders_fix_sync_window(void **state)
{
    (void)state;
    run x = two(ONCE45 ONCE45 SET RESOLVE RESOLVE TAKE WAIT0 SEND_WU RESPOND, "");
    expect_entries(&x, "1:delivered 1:delivered 2:delivered 2:delivered");
    run_free(&x);
}

/*
 * A global replaced by another request, and the story it gets. Both first await kv.get
 * (0.5 ms); the first request to reach the once-block resolves into LOG and awaits 5 ms.
 * t=0.5  A sets LOG, resolves a1, awaits 5 ms.
 * t=1.5  B sets LOG: a1 is lost at that instant, "request 2 replaced LOG after its await
 *        kv.get"; B takes the empty value and sends nothing. A at 5.5 ms takes nothing.
 */
static void test_replaced_story(void **state)
{
    (void)state;
    run x = two(
        "{\"await\": {\"name\": \"kv.get\", \"latency\": {\"fixed_us\": 500}}}," SET
        "{\"once\": [" APPEND("drop") "{\"await\": {\"name\": \"req.bytes\", "
                                      "\"latency\": {\"fixed_ms\": 5}}}]}," TAKE SEND_WU RESPOND,
        "");
    expect_entries(&x, "1:lost:overwritten-shared-state");
    char *note = t_sql_str(x.ledger_db, "SELECT time_ns || ' ' || layer || ' ' || note FROM drops");
    assert_string_equal(note, "1500000 LOG request 2 replaced LOG after its await kv.get");
    free(note);
    assert_true(strstr(x.s.summary, "was written to LOG at 00:00:00.000; request 2 replaced LOG "
                                    "after its await kv.get at 00:00:00.001") != NULL);
    run_free(&x);
}

/* Entries a task took and never sent are lost when it ends, as overwritten-shared-state. */
static void test_taken_never_sent(void **state)
{
    (void)state;
    run x = two(SET APPEND("drop") WAIT0 TAKE RESPOND, "");
    expect_entries(&x, "1:lost:overwritten-shared-state 2:lost:overwritten-shared-state");
    assert_int_equal(ledger_int(&x, "SELECT COUNT(*) FROM drops WHERE note LIKE"
                                    " '%took them and ended without sending them'"),
                     2);
    run_free(&x);
}

/*
 * The golden order (tests/golden/two_requests_flag_log.json) with an exporter, A at 0 and B
 * at 1 ms: both set FLAG_LOG before their 2 ms body read, so B's set replaces A's (empty)
 * value.
 * t=2  A resolves a1 into B's value, waits 1 ms.  t=3  B resolves b1 (its wake came first).
 * t=3  A takes [a1 b1], puts them back, resolves a2 and takes [a1 b1 a2]: sent for A, b1 is
 *      mixed (credited to request 1).  t=4  B takes nothing, puts back nothing (the global is
 *      set again, empty), resolves b2, takes and sends it.
 */
static void test_golden_order_fates(void **state)
{
    (void)state;
    run x =
        two(SET "{\"await\": {\"name\": \"req.bytes\", \"latency\": {\"fixed_ms\": 2}}}," APPEND(
                "drop") "{\"await\": {\"name\": \"scheduler.wait\", \"latency\": "
                        "{\"fixed_ms\": 1}}}," TAKE
                        "{\"global\": {\"name\": \"LOG\", \"op\": \"put_back\"}}," APPEND("fresh")
                            TAKE SEND_WU RESPOND,
            "");
    expect_entries(&x, "1:delivered 2:misattributed:r1 1:delivered 2:delivered");
    run_free(&x);
}

/* An entry's wire form: a log record with the flag, its variant and its origin, and no
 * edgeloss.request_id of its own (the payload's resource says whom it was sent for). */
static void test_entry_on_the_wire(void **state)
{
    (void)state;
    run x = two(SET "{\"global\": {\"name\": \"LOG\", \"op\": \"append\", \"flag\": \"new-ui\","
                    " \"variant\": \"treatment\"}}," TAKE SEND_WU RESPOND,
                "");
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM items WHERE kind = 'log'"
                                            " AND request_id IS NULL AND sent_for = 'r1'"
                                            " AND attrs LIKE '%edgeloss.origin_request_id%r1%'"
                                            " AND attrs LIKE '%feature_flag.key%new-ui%'"
                                            " AND attrs LIKE '%feature_flag.variant%treatment%'"),
                     1);
    run_free(&x);
}

/*
 * Fix 2's trade, by hand: two requests (A at 0, B at 1 ms) each resolve one entry into an
 * accumulator checkpointed every 10 s, and end at once; the isolate goes idle at 1 ms and is
 * evicted 5 s later. Its timer, frozen while idle, never fired: both entries die with it at
 * 5.001 s (evicted-in-buffer, from LOG). With a checkpoint in each request's waitUntil the
 * same run sends [a1] at 0 and [b1] at 1 ms; the queue (send 5 ms, batch of 10, 1 s wait)
 * delivers them together at 1.005 s, at the ingest 1 ms later: late, not lost.
 */
static run trade(const char *wait_until)
{
    char json[4096];
    snprintf(
        json, sizeof json,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1000, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 60},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 5}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"queue\": {\"batch_size\": 10, \"max_wait_s\": 1, \"send_latency\": {\"fixed_ms\": 5}},"
        " \"app\": {\"accumulators\": [{\"name\": \"LOG\", \"checkpoint_every_s\": 10}],"
        " \"handler\": [{\"global\": {\"name\": \"LOG\", \"op\": \"append\"}}, %s"
        " {\"respond\": {}}]}}",
        wait_until);
    return json_run(json);
}

static void test_checkpoint_trade_by_hand(void **state)
{
    (void)state;
    run x = trade("");
    expect_entries(&x, "1:lost:evicted-in-buffer 2:lost:evicted-in-buffer");
    assert_int_equal(ledger_int(&x, "SELECT COUNT(*) FROM drops WHERE time_ns = 5001000000"
                                    " AND layer = 'LOG'"),
                     2);
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM requests"), 0);
    run_free(&x);

    x = trade("{\"wait_until\": [{\"global\": {\"name\": \"LOG\", \"op\": \"checkpoint\"}}]},");
    expect_entries(&x, "1:late 2:late");
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT time_ns FROM requests"), 1006000000);
    assert_int_equal(ledger_int(&x, "SELECT COUNT(*) FROM drops"), 0);
    run_free(&x);
}

/*
 * A POST still on the wire when the run ends (sent at 0, 100 ms to the ingest, the run over
 * at 50 ms): its items are lost then, stranded-at-end from in-flight - not unexplained.
 */
static void test_in_flight_at_the_end(void **state)
{
    (void)state;
    run x =
        json_run("{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
                 " \"duration_s\": 0, \"drain_s\": 0.05},"
                 " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}},"
                 " \"network\": {\"latency\": {\"fixed_ms\": 100}},"
                 " \"exporter\": {\"strategy\": \"immediate\"},"
                 " \"app\": {\"handler\": [" SET APPEND("drop") TAKE SEND_WU RESPOND "]}}");
    expect_entries(&x, "1:lost:stranded-at-end");
    char *d = t_sql_str(x.ledger_db, "SELECT time_ns || ' ' || layer FROM drops");
    assert_string_equal(d, "50000000 in-flight");
    free(d);
    run_free(&x);
}

/*
 * An exporter's own timer sends for no request: the interval strategy's flush (every 1 s)
 * carries entries of two requests that each sent theirs into its buffer (their waitUntil
 * waits 2 s, keeping the isolate awake so the timer fires at 1 s). Nothing interleaves (A at
 * 0, B at 1 ms), so nothing may be mixed: each entry is credited to its origin, not to the
 * request that happened to start the exporter's timer.
 */
static void test_exporter_timer_sends_for_no_request(void **state)
{
    (void)state;
    run x = json_run(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1000, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 5},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"interval\", \"interval_s\": 1},"
        " \"app\": {\"handler\": [" SET APPEND("drop") TAKE
        "{\"wait_until\": [{\"global\": {\"name\": \"LOG\", \"op\": \"send\"}},"
        " {\"await\": {\"latency\": {\"fixed_s\": 2}}}]}," RESPOND "]}}");
    expect_entries(&x, "1:delivered 2:delivered");
    assert_int_equal(t_sql_int(x.ingest_db, "SELECT COUNT(*) FROM items WHERE sent_for IS NULL"),
                     2);
    run_free(&x);
}

/* Same program and seed, same run: the mixing case twice, to the hash and the summary. */
static void test_same_run_twice(void **state)
{
    (void)state;
    run a = two(SET ONCE45 ONCE45 RESOLVE RESOLVE WAIT0 TAKE SEND_WU RESPOND, "");
    run b = two(SET ONCE45 ONCE45 RESOLVE RESOLVE WAIT0 TAKE SEND_WU RESPOND, "");
    assert_int_equal(a.s.r.hash, b.s.r.hash);
    assert_string_equal(a.s.summary, b.s.summary);
    run_free(&a);
    run_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_case_bug_drop),
        cmocka_unit_test(test_issue_case_bug_fresh),
        cmocka_unit_test(test_issue_case_fix_sync_window),
        cmocka_unit_test(test_issue_case_fix_accumulator),
        cmocka_unit_test(test_mixing_by_hand),
        cmocka_unit_test(test_mixing_orders_fix_sync_window),
        cmocka_unit_test(test_replaced_story),
        cmocka_unit_test(test_taken_never_sent),
        cmocka_unit_test(test_golden_order_fates),
        cmocka_unit_test(test_entry_on_the_wire),
        cmocka_unit_test(test_checkpoint_trade_by_hand),
        cmocka_unit_test(test_same_run_twice),
        cmocka_unit_test(test_in_flight_at_the_end),
        cmocka_unit_test(test_exporter_timer_sends_for_no_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
