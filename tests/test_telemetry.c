/*
 * Exporters against a live embedded ingest, the seed's loss derived by hand,
 * and determinism with real HTTP. Expected numbers are worked out here from
 * the scenario, and checked against the run's files with independent SQL.
 */
#include "simtest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

/*
 * Three requests 10 s apart on one isolate (cold start 1 ms, idle eviction 60 s
 * after the last): each makes one span, one metric point and one log record,
 * then flushes the tracer, the collector, the logger and obs.exporter?.
 * 9 items in all; network latency fixed at 5 ms each way.
 */
static const char *three(const char *exporter_json)
{
    static char buf[2048];
    snprintf(
        buf, sizeof buf,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 0.1, \"requests\": 3,"
        " \"duration_s\": 0, \"drain_s\": 300},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 1}, \"idle_timeout\": {\"fixed_s\": 60}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 5}},"
        " \"exporter\": %s,"
        " \"app\": {\"handler\": ["
        "  {\"span\": {\"name\": \"work\", \"do\": [{\"await\": {\"latency\": {\"fixed_ms\": "
        "10}}}]}},"
        "  {\"metric\": {\"name\": \"m\"}}, {\"log\": {\"body\": \"done\"}},"
        "  {\"wait_until\": [{\"call\": \"tracer.flush\"}, {\"call\": \"metrics.flush\"},"
        "   {\"call\": \"logger.flush\"}, {\"call\": \"exporter.flush\"}]},"
        "  {\"respond\": {}}]}}",
        exporter_json);
    return buf;
}

/* One query over the ledger with the ingest attached as `ing`, on a connection of our own. */
static int64_t joined(const char *ledger_db, const char *ingest, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(ledger_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char att[1200];
    snprintf(att, sizeof att, "ATTACH DATABASE '%s' AS ing", ingest);
    assert_int_equal(sqlite3_exec(db, att, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

typedef struct want {
    const char *exporter;
    int delivered, late, lost;
    const char *cause; /* of the lost ones */
    int posts;
    int private_accesses;
} want;

static void check_strategy(const want *w)
{
    char *d = t_mkdtemp();
    simrun s = sim_text_in(three(w->exporter), 1, d, NULL);
    char *ldb = t_path(d, "ledger.db"), *ingest = t_path(d, "ingest.db");
    const ledger_report *r = &s.r.report;
    if (r->items != 9 || (int)r->fate[FATE_DELIVERED] != w->delivered ||
        (int)r->fate[FATE_LATE] != w->late || (int)r->fate[FATE_LOST] != w->lost)
        fail_msg("%s: %llu items, delivered %llu late %llu lost %llu; want 9, %d %d %d",
                 w->exporter, (unsigned long long)r->items,
                 (unsigned long long)r->fate[FATE_DELIVERED],
                 (unsigned long long)r->fate[FATE_LATE], (unsigned long long)r->fate[FATE_LOST],
                 w->delivered, w->late, w->lost);
    assert_int_equal((int)s.r.posts, w->posts);
    assert_int_equal((int)r->private_accesses, w->private_accesses);
    /* Independent reads: the ingest holds exactly the received items, once each... */
    assert_int_equal(t_sql_intf(ingest, "SELECT COUNT(*) FROM items WHERE accepted = 1"),
                     w->delivered + w->late);
    assert_int_equal(
        t_sql_intf(ingest, "SELECT COUNT(DISTINCT item_id) FROM items WHERE accepted = 1"),
        w->delivered + w->late);
    assert_int_equal(t_sql_intf(ingest, "SELECT COUNT(*) FROM requests"), w->posts);
    /* ... every one of them is a ledger item carrying its creator's request id ... */
    assert_int_equal(t_sql_intf(ldb, "SELECT COUNT(*) FROM items"), 9);
    assert_int_equal(joined(ldb, ingest,
                            "SELECT COUNT(*) FROM items l JOIN ing.items i ON i.item_id = l.item_id"
                            " AND i.request_id = 'r' || l.request AND i.accepted = 1"),
                     w->delivered + w->late);
    /* ... the ledger's own rows are whole: every item with its size and at least one
     * holder, every POST's items listed ... */
    assert_int_equal(t_sql_intf(ldb, "SELECT COUNT(*) FROM items WHERE bytes > 0"), 9);
    assert_int_equal(t_sql_intf(ldb, "SELECT COUNT(DISTINCT item) FROM moves"), 9);
    assert_int_equal(t_sql_intf(ldb, "SELECT COUNT(*) FROM attempt_items"),
                     t_sql_intf(ldb, "SELECT COALESCE(SUM(items), 0) FROM attempts"));
    /* ... and the lost ones carry the cause the run reported. */
    if (w->lost) {
        assert_int_equal(
            t_sql_intf(ldb, "SELECT COUNT(*) FROM fates WHERE fate = 'lost' AND cause = '%s'",
                       w->cause),
            w->lost);
    }
    simrun_free(&s);
    t_rmtree(d);
    free(ldb);
    free(ingest);
    free(d);
}

static void test_each_strategy_against_a_live_ingest(void **state)
{
    (void)state;
    const want wants[] = {
        /* 9 buffered items never reach 100: all die with the isolate, no POST at all. */
        {"{\"strategy\": \"threshold\"}", 0, 0, 9, "evicted-in-buffer", 0, 0},
        /* Each flush POSTs its request's one item of each signal: 3 x 3 POSTs. */
        {"{\"strategy\": \"immediate\"}", 9, 0, 0, NULL, 9, 0},
        {"{\"strategy\": \"propagate\"}", 9, 0, 0, NULL, 9, 0},
        /* exposed and private_reach: obs.exporter.flush() POSTs all three signals. */
        {"{\"strategy\": \"exposed\"}", 9, 0, 0, NULL, 9, 0},
        {"{\"strategy\": \"private_reach\"}", 9, 0, 0, NULL, 9, 3},
        /* A 7 s interval, armed at the first flush (~11 ms): the isolate is idle by then,
         * so the tick freezes and fires when request 2 wakes the isolate at 10 s, sending
         * request 1's items (late); the same at 20 s for request 2's; request 3's die
         * with the isolate. */
        {"{\"strategy\": \"interval\", \"interval_s\": 7}", 0, 6, 3, "evicted-in-buffer", 6, 0},
        /* forceFlush on tracer.flush/metrics.flush/logger.flush, one POST per signal that
         * holds items: the first call sends all three of the request's items. */
        {"{\"strategy\": \"otel-batch\"}", 9, 0, 0, NULL, 9, 0},
        /* Batches of 4, items arriving one flush call at a time: request 2's tracer.flush
         * brings the buffer to 4 and sends it (request 1's three items late, request 2's
         * span on time), request 3's metrics.flush does it again (request 2's metric and
         * log late, request 3's span and metric on time); request 3's log is left. Three
         * POSTs (one per signal) each time. */
        {"{\"strategy\": \"threshold\", \"batch_items\": 4}", 3, 5, 1, "evicted-in-buffer", 6, 0},
    };
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++)
        check_strategy(&wants[i]);
}

/*
 * The first seed by hand: N requests 10 s apart on one isolate (idle timeout
 * 60 s, so one isolate serves them all), each with 5 spans and 3 metric points
 * (8 items) flushed in waitUntil. With the seed's exporter the items reach the
 * exporter's buffer and stay under 100 while N <= 12: all 8N are lost when the
 * isolate is evicted (and isolates serving 1-10 requests lose items: the check
 * fails for N <= 10). At N = 13 the 13th request's tracer.flush makes
 * 96 + 5 = 101 >= 100: one POST per signal (65 spans, 36 points) carries it all;
 * requests 1-12's 96 items land after those requests ended (late), the 13th's
 * 5 spans on time, and its 3 points, handed over by metrics.flush after that,
 * stay under the threshold and die with the isolate.
 */
static const char *seed_by_hand(int n, const char *strategy)
{
    static char buf[4096];
    snprintf(
        buf, sizeof buf,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 0.1, \"requests\": %d,"
        " \"duration_s\": 0, \"drain_s\": 600},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 5}, \"idle_timeout\": {\"fixed_s\": 60}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 20}},"
        " \"exporter\": {\"strategy\": \"%s\"},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"request\", \"do\": ["
        "   {\"span\": {\"name\": \"a\", \"do\": [{\"await\": {\"latency\": {\"fixed_ms\": 8}}}]}},"
        "   {\"span\": {\"name\": \"b\", \"do\": [{\"cpu\": {\"fixed_us\": 500}}]}},"
        "   {\"span\": {\"name\": \"c\", \"do\": [{\"await\": {\"latency\": {\"fixed_ms\": "
        "15}}}]}},"
        "   {\"span\": {\"name\": \"d\", \"do\": []}},"
        "   {\"metric\": {\"name\": \"x\"}}, {\"metric\": {\"name\": \"y\"}}, {\"metric\": "
        "{\"name\": \"z\"}}]}},"
        "  {\"wait_until\": [{\"call\": \"tracer.flush\"}, {\"call\": \"metrics.flush\"}]},"
        "  {\"respond\": {}}]},"
        " \"expect\": [{\"check\": \"low_volume_no_loss\", \"allow_vacuous\": true},"
        "   {\"check\": \"flush_lands_within_request\"}]}",
        n, strategy);
    return buf;
}

static void test_seed_loss_derived_by_hand(void **state)
{
    (void)state;
    char *d = t_mkdtemp();
    for (int n = 1; n <= 10; n += 9) {
        simrun s = sim_text_in(seed_by_hand(n, "threshold"), 1, d, NULL);
        const ledger_report *r = &s.r.report;
        assert_int_equal(r->items, 8 * n);
        assert_int_equal(r->fate[FATE_LOST], 8 * n);
        assert_int_equal(r->lost_by[CAUSE_EVICTED_IN_BUFFER], 8 * n);
        assert_int_equal(r->attempts, 0);
        assert_int_equal(r->exposure_items, 8 * n); /* one eviction took them all */
        assert_false(s.r.checks_pass);
        assert_false(s.r.checks[0].pass); /* an isolate with 1-10 requests lost items */
        assert_non_null(strstr(s.summary, "sat in the exporter buffer when isolate 1 was evicted"));
        simrun_free(&s);

        /* Changing only the strategy flips the verdict. */
        s = sim_text_in(seed_by_hand(n, "immediate"), 1, d, NULL);
        assert_int_equal(s.r.report.fate[FATE_DELIVERED], 8 * n);
        assert_int_equal(s.r.report.fate[FATE_LOST], 0);
        assert_true(s.r.checks_pass);
        simrun_free(&s);
    }
    simrun s = sim_text_in(seed_by_hand(13, "threshold"), 1, d, NULL);
    const ledger_report *r = &s.r.report;
    assert_int_equal(r->items, 104);
    assert_int_equal(r->fate[FATE_LOST], 3);
    assert_int_equal(r->lost_by[CAUSE_EVICTED_IN_BUFFER], 3);
    assert_int_equal(r->fate[FATE_LATE], 96);
    assert_int_equal(r->fate[FATE_DELIVERED], 5);
    assert_int_equal(r->attempts, 2);
    assert_true(r->items_per_post == 50.5);
    assert_false(s.r.checks[1].pass); /* requests 1-12 did not land within their lifetime */
    /* Both POSTs' items listed in the ledger (65 spans and 36 points: eight rows a statement
     * and a remainder), each exactly once, and every item given its holders. */
    char *ldb = t_path(d, "ledger.db");
    assert_int_equal(t_sql_intf(ldb, "SELECT COUNT(*) FROM attempt_items"), 101);
    assert_int_equal(t_sql_intf(ldb, "SELECT COUNT(DISTINCT item) FROM attempt_items"), 101);
    assert_int_equal(t_sql_intf(ldb, "SELECT COUNT(DISTINCT item) FROM moves"), 104);
    free(ldb);
    simrun_free(&s);
    t_rmtree(d);
    free(d);
}

/* An OpenTelemetry queue of 2: a request's 5 spans overflow it before its forceFlush. */
static void test_otel_queue_full(void **state)
{
    (void)state;
    char *d = t_mkdtemp();
    simrun s = sim_text_in(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 0.1, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 300},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 1}, \"idle_timeout\": {\"fixed_s\": 60}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 5}},"
        " \"exporter\": {\"strategy\": \"otel-batch\", \"otel\": {\"max_queue\": 2,"
        "  \"max_batch\": 512, \"delay_ms\": 100000}},"
        " \"app\": {\"handler\": [{\"repeat\": {\"times\": 5, \"do\": [{\"span\": {\"name\": "
        "\"s\"}}]}},"
        "  {\"wait_until\": [{\"call\": \"tracer.flush\"}]}, {\"respond\": {}}]}}",
        1, d, NULL);
    assert_int_equal(s.r.report.items, 10);
    assert_int_equal(s.r.report.fate[FATE_DELIVERED], 4);
    assert_int_equal(s.r.report.lost_by[CAUSE_DROPPED_QUEUE_FULL], 6);
    simrun_free(&s);
    t_rmtree(d);
    free(d);
}

static void test_same_seed_same_hash_with_real_http(void **state)
{
    (void)state;
    char *d1 = t_mkdtemp(), *d2 = t_mkdtemp();
    const char *json = three("{\"strategy\": \"immediate\"}");
    simrun a = sim_text_in(json, 5, d1, NULL), b = sim_text_in(json, 5, d2, NULL);
    assert_string_equal(a.summary, b.summary);
    assert_int_equal(a.r.hash, b.r.hash);
    assert_int_not_equal(a.r.report.ingest_hash, 0);
    assert_int_equal(a.r.report.ingest_hash, b.r.report.ingest_hash);
    simrun c = sim_text_in(three("{\"strategy\": \"propagate\"}"), 5, d1, NULL);
    assert_int_not_equal(a.r.hash, c.r.hash);
    simrun_free(&a);
    simrun_free(&b);
    simrun_free(&c);
    t_rmtree(d1);
    t_rmtree(d2);
    free(d1);
    free(d2);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dir = NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_strategy_against_a_live_ingest),
        cmocka_unit_test(test_seed_loss_derived_by_hand),
        cmocka_unit_test(test_otel_queue_full),
        cmocka_unit_test(test_same_seed_same_hash_with_real_http),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
