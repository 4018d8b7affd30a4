/*
 * The fate join on hand-built runs: a ledger written through its API and an
 * ingest database written row by row, producing every fate and every cause.
 * The checker is separate from the code that might lose: nothing here runs
 * an exporter.
 */
#include "check.h"
#include "ledger.h"
#include "store.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int64_t S = 1000000000LL;

typedef struct fx {
    char *dir, *ledger_db, *ingest_db;
    ledger *l;
    sqlite3 *ing;
} fx;

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

/* One accepted (or rejected) copy of item n, received at t, carrying request_id rid. */
static void receive(fx *f, const char *run, int n, int64_t t, const char *rid, int accepted,
                    const char *reason)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO requests (time_ns, wall_ns, time_source, method, path, status,"
             " bytes_wire, bytes_body, items_received, items_accepted, items_rejected, run)"
             " VALUES (%lld, 0, 'virtual', 'POST', '/v1/traces', %d, 0, 0, 1, %d, %d, '%s');"
             "INSERT INTO items (request, kind, accepted, reason, time_ns, item_id, request_id)"
             " VALUES (last_insert_rowid(), 'span', %d, %s%s%s, %lld, 'i%010d', '%s');",
             (long long)t, accepted ? 200 : 403, accepted, !accepted, run, accepted,
             reason ? "'" : "", reason ? reason : "NULL", reason ? "'" : "", (long long)t, n, rid);
    exec(f->ing, sql);
}

/* One accepted copy of entry n (no request id of its own) in a payload sent for `sent_for`
 * (NULL: for no request, as a queue's batch). */
static void receive_entry(fx *f, const char *run, int n, int64_t t, const char *sent_for)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO requests (time_ns, wall_ns, time_source, method, path, status,"
             " bytes_wire, bytes_body, items_received, items_accepted, items_rejected, run)"
             " VALUES (%lld, 0, 'virtual', 'POST', '/v1/logs', 200, 0, 0, 1, 1, 0, '%s');"
             "INSERT INTO items (request, kind, accepted, time_ns, item_id, sent_for)"
             " VALUES (last_insert_rowid(), 'log', 1, %lld, 'i%010d', %s%s%s);",
             (long long)t, run, (long long)t, n, sent_for ? "'" : "", sent_for ? sent_for : "NULL",
             sent_for ? "'" : "");
    exec(f->ing, sql);
}

/* One accepted copy of item n (for request 1) in a POST of its own, whose answer's fate the
 * ingest recorded as `acked`: "1" reached the exporter, "0" did not, "NULL" not known. */
static void receive_acked(fx *f, const char *run, int n, int64_t t, const char *acked)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO requests (time_ns, wall_ns, time_source, method, path, status,"
             " bytes_wire, bytes_body, items_received, items_accepted, items_rejected, run, acked,"
             " ended) VALUES (%lld, 0, 'virtual', 'POST', '/v1/traces', 200, 0, 0, 1, 1, 0, '%s',"
             " %s, 'completed');"
             "INSERT INTO items (request, kind, accepted, time_ns, item_id, request_id)"
             " VALUES (last_insert_rowid(), 'span', 1, %lld, 'i%010d', 'r1');",
             (long long)t, run, acked, (long long)t, n);
    exec(f->ing, sql);
}

static fx *setup_run(void)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_mkdtemp();
    f->ledger_db = t_path(f->dir, "ledger.db");
    f->ingest_db = t_path(f->dir, "ingest.db");
    char err[256];
    assert_int_equal(ledger_open(f->ledger_db, &f->l, err, sizeof err), 0);
    assert_int_equal(sqlite3_open(f->ingest_db, &f->ing), SQLITE_OK);
    exec(f->ing, store_schema_sql());
    return f;
}

static void teardown_run(fx *f)
{
    ledger_close(f->l);
    sqlite3_close(f->ing);
    t_rmtree(f->dir);
    free(f->ledger_db);
    free(f->ingest_db);
    free(f->dir);
    free(f);
}

static char *fate_of(fx *f, int n)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT fate || '/' || COALESCE(cause, '-') FROM fates WHERE item = %d", n);
    return t_sql_str(f->ledger_db, sql);
}

static void expect_fate(fx *f, int n, const char *want)
{
    char *got = fate_of(f, n);
    if (!got || strcmp(got, want) != 0)
        fail_msg("item %d: fate %s, want %s", n, got ? got : "(none)", want);
    free(got);
}

static void test_every_fate_and_cause(void **state)
{
    (void)state;
    fx *f = setup_run();
    rt_observer obs = ledger_observer(f->l);
    /* Two requests on isolate 1: request 1 lives 0-10 s, request 2 5-20 s. */
    rt_isolate_info iso = {.id = 1, .requests_served = 2};
    obs.isolate(obs.ud, &iso, -1, 0);
    obs.request(obs.ud, 1, 1, RT_REQ_ARRIVED, 0);
    obs.request(obs.ud, 2, 1, RT_REQ_ARRIVED, 5 * S);
    obs.request(obs.ud, 1, 1, RT_REQ_RESPONDED, 1 * S);
    obs.request(obs.ud, 1, 1, RT_REQ_ENDED, 10 * S);
    obs.request(obs.ud, 2, 1, RT_REQ_ENDED, 20 * S);
    for (int i = 1; i <= 17; i++)
        ledger_item(f->l, "span", "s", i == 3 ? 2 : 1, 1, 1 * S);
    /* Entries of a global (envelope-attributed): 18 of request 2 overwritten; 19 of request 1
     * in request 1's payload; 20 of request 2 in request 1's (mixed); 21 of request 2 in a
     * payload sent for no request (a queue's batch: credited to its origin). */
    for (int i = 18; i <= 21; i++)
        ledger_item(f->l, "entry", "flag", i == 19 ? 1 : 2, 1, 6 * S);
    ledger_drop_note(f->l, 18, 7 * S, CAUSE_OVERWRITTEN_SHARED_STATE, "FLAG_LOG", 1,
                     "request 1 replaced FLAG_LOG");
    /* Spans a client carried into the Worker (the third seed's pipeline): 22 refused at the
     * notify hop by the WAF, 23 never sent on, 24 stored by the origin long after its request
     * ended - delivered, never late (the processing is asynchronous by design). */
    for (int i = 22; i <= 24; i++)
        ledger_item(f->l, "carried", "span", 1, 1, 1 * S);
    ledger_drop_note(f->l, 22, 3 * S, CAUSE_REJECTED_BY_WAF, "notify", 1,
                     "hop notify answered 429: refused by the ingest's waf");
    ledger_drop(f->l, 23, 10 * S, CAUSE_LOST_AT_HOP, "worker", 1);
    /* 25: held by an out-of-process exporter whose host crashed. */
    ledger_item(f->l, "span", "s", 1, 1, 1 * S);
    ledger_drop(f->l, 25, 2 * S, CAUSE_EXPORTER_CRASHED, "exporter-host", 1);
    /* 26: a queue message out of retries, parked in the dead-letter queue. */
    ledger_item(f->l, "span", "s", 1, 1, 1 * S);
    ledger_drop(f->l, 26, 3 * S, CAUSE_DEAD_LETTERED, "dead-letter-queue", 0);
    /* 27: a console.log line past its invocation's 256 KB. */
    ledger_item(f->l, "log", "l", 1, 1, 1 * S);
    ledger_drop(f->l, 27, 1 * S, CAUSE_LOG_SIZE_LIMIT, "workers-logs", 1);
    /* 28: open in a streamed body when its client disconnected. */
    ledger_item(f->l, "span", "s", 1, 1, 1 * S);
    ledger_drop(f->l, 28, 2 * S, CAUSE_CLIENT_DISCONNECTED, "open-span", 1);
    ledger_drop(f->l, 5, 30 * S, CAUSE_EVICTED_IN_BUFFER, "exporter", 1);
    ledger_drop(f->l, 6, 30 * S, CAUSE_STRANDED_AT_END, "tracer", 1);
    ledger_drop(f->l, 7, 30 * S, CAUSE_WAITUNTIL_CANCELLED, "open-span", 1);
    ledger_drop(f->l, 9, 30 * S, CAUSE_DROPPED_IN_BACKOFF, "exporter", 1);
    ledger_drop(f->l, 10, 30 * S, CAUSE_DROPPED_QUEUE_FULL, "queue", 1);
    ledger_drop(f->l, 11, 30 * S, CAUSE_NETWORK_ERROR, "in-flight", 1);
    ledger_drop(f->l, 13, 30 * S, CAUSE_EVICTED_IN_BUFFER, "exporter", 1); /* but it arrived */
    /* The last drop record explains: item 14 was dropped twice. */
    ledger_drop(f->l, 14, 30 * S, CAUSE_EVICTED_IN_BUFFER, "exporter", 1);
    ledger_drop(f->l, 14, 31 * S, CAUSE_DROPPED_IN_BACKOFF, "exporter", 1);
    ledger_drop(f->l, 15, 8 * S, CAUSE_CPU_LIMIT, "tracer", 1);
    ledger_drop(f->l, 16, 8 * S, CAUSE_SUBREQUEST_LIMIT, "exporter", 1);
    ledger_drop(f->l, 17, 10 * S, CAUSE_NEVER_FLUSHED, "tracer", 1);
    obs.isolate(obs.ud, &iso, RT_EVICT_IDLE, 30 * S);

    const char *run = "R";
    receive(f, run, 1, 2 * S, "r1", 1, NULL); /* delivered */
    receive(f, run, 2, 2 * S, "r1", 1, NULL); /* duplicated */
    receive(f, run, 2, 3 * S, "r1", 1, NULL);
    receive(f, run, 3, 6 * S, "r1", 1, NULL);      /* misattributed: created for request 2 */
    receive(f, run, 4, 11 * S, "r1", 1, NULL);     /* late: request 1 ended at 10 s */
    receive(f, run, 8, 2 * S, "r1", 0, "cap");     /* refused by the cap, no drop record */
    receive(f, run, 13, 4 * S, "r1", 1, NULL);     /* arrived: the drop record does not matter */
    receive(f, "OTHER", 12, 2 * S, "r1", 1, NULL); /* another run's row: not ours */
    receive_entry(f, run, 19, 7 * S, "r1");
    receive_entry(f, run, 20, 7 * S, "r1");
    receive_entry(f, run, 21, 8 * S, NULL);
    receive(f, run, 24, 60 * S, "r1", 1, NULL); /* after request 1 ended at 10 s */

    ledger_report r;
    char err[256];
    if (ledger_finish(f->l, f->ingest_db, run, &r, err, sizeof err))
        fail_msg("%s", err);
    expect_fate(f, 1, "delivered/-");
    expect_fate(f, 2, "duplicated/-");
    expect_fate(f, 3, "misattributed/-");
    expect_fate(f, 4, "late/-");
    expect_fate(f, 5, "lost/evicted-in-buffer");
    expect_fate(f, 6, "lost/stranded-at-end");
    expect_fate(f, 7, "lost/waituntil-cancelled");
    expect_fate(f, 8, "lost/rejected-by-ingest");
    expect_fate(f, 9, "lost/dropped-in-backoff");
    expect_fate(f, 10, "lost/dropped-queue-full");
    expect_fate(f, 11, "lost/network-error");
    expect_fate(f, 12, "lost/unexplained");
    expect_fate(f, 13, "delivered/-");
    expect_fate(f, 14, "lost/dropped-in-backoff");
    expect_fate(f, 15, "lost/cpu-limit");
    expect_fate(f, 16, "lost/subrequest-limit");
    expect_fate(f, 17, "lost/never-flushed");
    expect_fate(f, 18, "lost/overwritten-shared-state");
    expect_fate(f, 19, "delivered/-");
    expect_fate(f, 20, "misattributed/-");
    expect_fate(f, 21, "delivered/-");
    expect_fate(f, 22, "lost/rejected-by-waf");
    expect_fate(f, 23, "lost/lost-at-hop");
    expect_fate(f, 24, "delivered/-");
    expect_fate(f, 25, "lost/exporter-crashed");
    expect_fate(f, 26, "lost/dead-lettered");
    expect_fate(f, 27, "lost/log-size-limit");
    expect_fate(f, 28, "lost/client-disconnected");
    assert_int_equal(r.items, 28);
    assert_int_equal(r.fate[FATE_DELIVERED], 5);
    assert_int_equal(r.fate[FATE_DUPLICATED], 1);
    assert_int_equal(r.fate[FATE_MISATTRIBUTED], 2);
    assert_int_equal(r.fate[FATE_LATE], 1);
    assert_int_equal(r.fate[FATE_LOST], 19);
    assert_int_equal(r.entries, 4);
    assert_int_equal(r.mixed_items, 1);
    assert_int_equal(r.mixed_requests, 1);
    char *credited = t_sql_str(f->ledger_db, "SELECT credited_to FROM fates WHERE item = 20");
    assert_string_equal(credited, "r1");
    free(credited);
    assert_int_equal(r.copies_extra, 1);
    assert_int_equal(r.unacknowledged, 0); /* no answer known (acked NULL) is not one lost */
    assert_false(r.acks_unknown);
    for (int c = 0; c < CAUSE_COUNT; c++)
        assert_true(r.lost_by[c] >= 1); /* every cause appears */
    /* Exposure: the eviction of isolate 1 took items 5, 9 and 14 (in buffers). */
    assert_int_equal(r.exposure_items, 3);
    assert_true(r.nstories >= 1);

    /* Delete one ingest row: its item turns lost. */
    exec(f->ing, "DELETE FROM items WHERE item_id = 'i0000000001'");
    if (ledger_finish(f->l, f->ingest_db, run, &r, err, sizeof err))
        fail_msg("%s", err);
    expect_fate(f, 1, "lost/unexplained");
    assert_int_equal(r.fate[FATE_DELIVERED], 4);
    assert_int_equal(r.fate[FATE_LOST], 20);
    teardown_run(f);
}

static int64_t acked_of(fx *f, int n)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COALESCE(acked, -1) FROM fates WHERE item = %d", n);
    return t_sql_int(f->ledger_db, sql);
}

/* The metric a check reads, and whether it is empty (null in summary.json). */
static double unacknowledged_metric(const ledger_report *r, bool *empty)
{
    check_metric m[CHECK_METRICS_MAX];
    size_t n = check_metrics(r, m, CHECK_METRICS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].name, "delivered_unacknowledged") == 0) {
            *empty = m[i].empty;
            return m[i].value;
        }
    }
    fail_msg("no metric delivered_unacknowledged");
    return -1;
}

/* Request 1 lives 0-10 s on isolate 1 and creates `n` spans; the isolate dies at 30 s. */
static void one_request(fx *f, int n)
{
    rt_observer obs = ledger_observer(f->l);
    rt_isolate_info iso = {.id = 1, .requests_served = 1};
    obs.isolate(obs.ud, &iso, -1, 0);
    obs.request(obs.ud, 1, 1, RT_REQ_ARRIVED, 0);
    obs.request(obs.ud, 1, 1, RT_REQ_RESPONDED, 1 * S);
    obs.request(obs.ud, 1, 1, RT_REQ_ENDED, 10 * S);
    for (int i = 1; i <= n; i++)
        ledger_item(f->l, "span", "s", 1, 1, 0);
    obs.isolate(obs.ud, &iso, RT_EVICT_IDLE, 30 * S);
}

/*
 * Delivered but unacknowledged: an item whose every accepted copy came in a POST whose answer
 * never reached the exporter (ingest requests.acked = 0) is counted, its fate unchanged; one
 * answer that reached it (acked = 1), or one not known (NULL), and it is not. A rejected
 * copy's answer does not count. Decided alike for a shared ingest (by run) and a fresh one
 * (every row), and compaction keeps such an item's rows.
 */
static void test_delivered_unacknowledged(void **state)
{
    (void)state;
    for (int shared = 1; shared >= 0; shared--) {
        fx *f = setup_run();
        one_request(f, 7);
        ledger_drop(f->l, 6, 5 * S, CAUSE_EVICTED_IN_BUFFER, "exporter", 1);
        const char *run = "R";
        receive_acked(f, run, 1, 2 * S, "0"); /* its only copy: counted, delivered */
        receive_acked(f, run, 2, 2 * S, "0"); /* one lost, one reached: not counted */
        receive_acked(f, run, 2, 3 * S, "1");
        receive_acked(f, run, 3, 2 * S, "NULL"); /* not known: not counted */
        receive_acked(f, run, 4, 2 * S, "0");    /* duplicated, both lost: counted */
        receive_acked(f, run, 4, 3 * S, "0");
        receive(f, run, 5, 2 * S, "r1", 0, "bad_trace_id"); /* rejected, answer reached */
        exec(f->ing, "UPDATE requests SET acked = 1 WHERE id = (SELECT MAX(id) FROM requests)");
        receive_acked(f, run, 5, 3 * S, "0");  /* its only accepted copy: counted */
        receive_acked(f, run, 7, 11 * S, "0"); /* late, counted */
        ledger_report r;
        char err[256];
        if (ledger_finish(f->l, f->ingest_db, shared ? run : NULL, &r, err, sizeof err))
            fail_msg("%s", err);
        if (ledger_verify(f->l, err, sizeof err))
            fail_msg("%s", err);
        expect_fate(f, 1, "delivered/-");
        expect_fate(f, 2, "duplicated/-");
        expect_fate(f, 3, "delivered/-");
        expect_fate(f, 4, "duplicated/-");
        expect_fate(f, 5, "delivered/-");
        expect_fate(f, 6, "lost/evicted-in-buffer");
        expect_fate(f, 7, "late/-");
        static const int64_t want[] = {0, 0, 1, -1, 0, 0, -1, 0}; /* by item; -1: NULL */
        for (int i = 1; i <= 7; i++)
            if (acked_of(f, i) != want[i])
                fail_msg("shared %d: item %d acked %lld, want %lld", shared, i,
                         (long long)acked_of(f, i), (long long)want[i]);
        assert_int_equal(r.unacknowledged, 4);
        assert_false(r.acks_unknown);
        assert_int_equal(r.fate[FATE_DELIVERED], 3);
        bool empty = true;
        assert_true(unacknowledged_metric(&r, &empty) == 4.0);
        assert_false(empty);
        if (!shared) {
            /* Compacted: of the items that arrived once, the unacknowledged keep their rows. */
            if (ledger_compact(f->l, NULL, err, sizeof err))
                fail_msg("%s", err);
            char *kept = t_sql_str(f->ledger_db, "SELECT group_concat(item, ',') FROM"
                                                 " (SELECT item FROM fates ORDER BY item)");
            assert_string_equal(kept, "1,2,4,5,6,7");
            free(kept);
        }
        teardown_run(f);
    }
}

/*
 * Every answer reached its exporter (the usual run): the received items are acknowledged, none
 * counted. An ingest older than the acknowledgements
 * (schema 3: no acked column) has them not known: 0, and the metric empty.
 */
static void test_acknowledgements_all_or_none(void **state)
{
    (void)state;
    for (int old = 0; old <= 1; old++) {
        fx *f = setup_run();
        if (old)
            exec(f->ing, "ALTER TABLE requests DROP COLUMN acked;"
                         "ALTER TABLE requests DROP COLUMN ended;");
        one_request(f, 2);
        ledger_drop(f->l, 2, 5 * S, CAUSE_EVICTED_IN_BUFFER, "exporter", 1);
        if (old)
            receive(f, "R", 1, 2 * S, "r1", 1, NULL);
        else
            receive_acked(f, "R", 1, 2 * S, "1");
        ledger_report r;
        char err[256];
        if (ledger_finish(f->l, f->ingest_db, NULL, &r, err, sizeof err))
            fail_msg("%s", err);
        expect_fate(f, 1, "delivered/-");
        assert_int_equal(acked_of(f, 1), old ? -1 : 1);
        assert_int_equal(acked_of(f, 2), -1); /* lost: no answer to speak of */
        assert_int_equal(r.unacknowledged, 0);
        assert_int_equal(r.acks_unknown, old);
        bool empty = false;
        assert_true(unacknowledged_metric(&r, &empty) == 0.0);
        assert_int_equal(empty, old);
        teardown_run(f);
    }
}

static void test_not_an_ingest_database(void **state)
{
    (void)state;
    fx *f = setup_run();
    exec(f->ing, "DROP TABLE items");
    ledger_report r;
    char err[256];
    assert_int_equal(ledger_finish(f->l, f->ingest_db, NULL, &r, err, sizeof err), SIM_ELEDGER);
    assert_non_null(strstr(err, "not an ingest database"));
    teardown_run(f);
}

/*
 * The invariants (ledger_verify), each planted on a run that holds them: isolate 1 lives
 * 0-30 s; request 1 arrives at 0, responds at 1 s and ends at 10 s; item 1 is delivered,
 * item 2 is lost in the exporter at 20 s. Each violation is written as the simulation
 * would have written it (the ledger's own API), or - for the fates, which only
 * ledger_finish writes - straight into the table.
 */
typedef enum {
    PLANT_NONE,
    PLANT_UNEXPLAINED,
    PLANT_RESPONDED_AFTER_END,
    PLANT_RESPONDED_AFTER_DEATH,
    PLANT_POST_AFTER_DEATH,
    PLANT_MOVED_AFTER_LOST,
    PLANT_SENT_AFTER_LOST,
    PLANT_LOST_TWICE,
    PLANT_TWO_FATES,
    PLANT_NO_ROW,
} plant;

static int verify_with(plant p, char *err, size_t errlen)
{
    fx *f = setup_run();
    rt_observer obs = ledger_observer(f->l);
    rt_isolate_info iso = {.id = 1, .requests_served = 2};
    obs.isolate(obs.ud, &iso, -1, 0);
    obs.request(obs.ud, 1, 1, RT_REQ_ARRIVED, 0);
    obs.request(obs.ud, 1, 1, RT_REQ_RESPONDED, 1 * S);
    obs.request(obs.ud, 1, 1, RT_REQ_ENDED, 10 * S);
    ledger_item(f->l, "span", "s", 1, 1, 0);
    ledger_item(f->l, "span", "s", 1, 1, 0);
    ledger_move(f->l, 2, 1 * S, "exporter");
    ledger_drop(f->l, 2, 20 * S, CAUSE_EVICTED_IN_BUFFER, "exporter", 1);
    uint64_t a = ledger_attempt(f->l, 2 * S, 1 * S, "/v1/traces", 1, 1, 1, 100, 1);
    ledger_attempt_item(f->l, a, 1);
    ledger_attempt_status(f->l, a, 200);
    switch (p) {
    case PLANT_UNEXPLAINED: /* created, never received, no loss reported */
        ledger_item(f->l, "metric", "m", 1, 1, 0);
        break;
    case PLANT_RESPONDED_AFTER_END:
        obs.request(obs.ud, 2, 1, RT_REQ_ARRIVED, 5 * S);
        obs.request(obs.ud, 2, 1, RT_REQ_RESPONDED, 12 * S);
        obs.request(obs.ud, 2, 1, RT_REQ_ENDED, 11 * S);
        break;
    case PLANT_RESPONDED_AFTER_DEATH:
        obs.request(obs.ud, 2, 1, RT_REQ_ARRIVED, 5 * S);
        obs.request(obs.ud, 2, 1, RT_REQ_RESPONDED, 31 * S);
        obs.request(obs.ud, 2, 1, RT_REQ_ENDED, 31 * S);
        break;
    case PLANT_POST_AFTER_DEATH: /* left at 31 s, its isolate dead since 30 s */
        ledger_attempt(f->l, 32 * S, 31 * S, "/v1/traces", 1, 1, 1, 100, 0);
        break;
    case PLANT_MOVED_AFTER_LOST:
        ledger_move(f->l, 2, 25 * S, "exporter");
        break;
    case PLANT_SENT_AFTER_LOST: {
        uint64_t b = ledger_attempt(f->l, 26 * S, 25 * S, "/v1/traces", 1, 1, 1, 100, 1);
        ledger_attempt_item(f->l, b, 2);
        break;
    }
    case PLANT_LOST_TWICE:
        ledger_drop(f->l, 2, 21 * S, CAUSE_DROPPED_IN_BACKOFF, "exporter", 1);
        break;
    case PLANT_NO_ROW: /* numbered, never recorded */
        ledger_item_number(f->l);
        break;
    default:
        break;
    }
    obs.isolate(obs.ud, &iso, RT_EVICT_IDLE, 30 * S);
    receive(f, "R", 1, 2 * S, "r1", 1, NULL);
    ledger_report r;
    int rc = ledger_finish(f->l, f->ingest_db, "R", &r, err, errlen);
    if (rc == 0 && p == PLANT_TWO_FATES) {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(f->ledger_db, &db), SQLITE_OK);
        exec(db, "INSERT INTO fates SELECT * FROM fates WHERE item = 1");
        sqlite3_close(db);
    }
    if (rc == 0)
        rc = ledger_verify(f->l, err, errlen);
    teardown_run(f);
    return rc;
}

static void test_each_invariant_can_fail(void **state)
{
    (void)state;
    char err[512];
    if (verify_with(PLANT_NONE, err, sizeof err))
        fail_msg("a run that holds every invariant: %s", err);
    static const struct {
        plant p;
        const char *msg;
    } cases[] = {
        {PLANT_UNEXPLAINED, "item i0000000003 lost with nothing reporting the loss"},
        {PLANT_RESPONDED_AFTER_END, "request 2 responded after its end"},
        {PLANT_RESPONDED_AFTER_DEATH, "request 2 responded after its isolate died"},
        {PLANT_POST_AFTER_DEATH, "attempt 2 (request 1) a POST left its isolate after the isolate"},
        {PLANT_MOVED_AFTER_LOST, "item 2 moved after it was lost"},
        {PLANT_SENT_AFTER_LOST, "item 2 sent after it was lost"},
        {PLANT_LOST_TWICE, "item 2 lost twice"},
        {PLANT_TWO_FATES, "the items have not exactly one fate each (2 items, 3 fates for 2"},
        {PLANT_NO_ROW, "ledger: 3 items numbered, 2 recorded"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        int rc = verify_with(cases[i].p, err, sizeof err);
        if (rc == 0 || !strstr(err, cases[i].msg))
            fail_msg("plant %d: rc %d, \"%s\", want \"%s\"", (int)cases[i].p, rc, err,
                     cases[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fate_and_cause),
        cmocka_unit_test(test_delivered_unacknowledged),
        cmocka_unit_test(test_acknowledgements_all_or_none),
        cmocka_unit_test(test_not_an_ingest_database),
        cmocka_unit_test(test_each_invariant_can_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
