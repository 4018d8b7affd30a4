/*
 * Whether an answer reached its client (requests.acked, ended), through the writer and the
 * store without a server: jobs submitted with tickets, writer_ack as the server calls it once
 * libmicrohttpd said how a request ended, and the file read back with independent SQL. Both
 * writer modes (its own thread, drained inline), a record the database refuses (no row: the
 * ack changes nothing, and a later row that takes its id keeps its own ack), a replayed group,
 * a refused ack, the counts in store_stats (kept and loaded at open), and a version 3 file
 * upgraded in place.
 */
#include "config.h"
#include "ingest.h"
#include "policy.h"
#include "store.h"
#include "support.h"
#include "writer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct fx {
    char *dir, *db;
    ing_config *cfg;
    ing_policy *pol;
    ing_store *st;
    ing_writer *w;
} fx;

/* One request as the server hands it over: its job, the row to record and a done flag. */
typedef struct tjob {
    ing_job job;
    store_request rec;
    char path[64];
    atomic_int done;
    int status; /* as the writer answered */
} tjob;

static void exec_sql(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(h);
}

static void fx_open_store(fx *f, bool threaded)
{
    char err[512];
    if (store_open(f->db, &f->st, err, sizeof err) != ING_OK)
        fail_msg("%s", err);
    assert_int_equal(writer_open(&f->w, f->st, f->pol, threaded, NULL, NULL), ING_OK);
}

/* `db_sql` (may be NULL) is run on the file before the store opens it: planted triggers. */
static fx *fx_open(bool threaded, const char *db_sql)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_mkdtemp();
    f->db = t_path(f->dir, "ingest.db");
    char err[512];
    assert_int_equal(ing_config_parse("{}", "test", &f->cfg, err, sizeof err), ING_OK);
    f->pol = policy_new(f->cfg);
    assert_non_null(f->pol);
    if (db_sql) {
        /* The schema first, so that a trigger has its table (the store keeps both). */
        exec_sql(f->db, store_schema_sql());
        exec_sql(f->db, "PRAGMA user_version = 5;");
        exec_sql(f->db, db_sql);
    }
    fx_open_store(f, threaded);
    return f;
}

static void fx_close_store(fx *f)
{
    writer_close(f->w);
    store_close(f->st);
    f->w = NULL;
    f->st = NULL;
}

static void fx_close(fx *f)
{
    fx_close_store(f);
    policy_free(f->pol);
    ing_config_free(f->cfg);
    t_rmtree(f->dir);
    free(f->db);
    free(f->dir);
    free(f);
}

static void job_done(ing_job *job)
{
    tjob *t = job->ud;
    t->status = job->status;
    atomic_store(&t->done, 1);
}

/*
 * A decided OTLP request at `path` with `status`, carrying `accepted` accepted items and
 * `rejected` rejected ones (item ids "<path>-<i>"; one named "boom" when `boom`, for a planted
 * trigger), and a ticket when `ticketed`.
 */
static tjob *job_new(fx *f, const char *path, int status, size_t accepted, size_t rejected,
                     bool ticketed, bool boom)
{
    tjob *t = calloc(1, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    t->rec = (store_request){.time_ns = 1000,
                             .wall_ns = 1000,
                             .method = "POST",
                             .path = t->path,
                             .status = status,
                             .reason = status == 200 ? (rejected ? "partial" : NULL) : "bad_json",
                             .content_type = "application/json",
                             .client = "127.0.0.1",
                             .attempt = -1};
    t->job.rec = &t->rec;
    t->job.done = job_done;
    t->job.ud = t;
    size_t n = accepted + rejected;
    if (n) {
        otlp_batch *b = writer_batch_get(f->w);
        assert_non_null(b);
        /* A batch from the pool may hold an items array already; the pool frees it. */
        b->items = realloc(b->items, n * sizeof *b->items);
        assert_non_null(b->items);
        memset(b->items, 0, n * sizeof *b->items);
        b->cap = b->n = n;
        b->rejected = rejected;
        static const char *const ids[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
        assert_true(n <= 8);
        for (size_t i = 0; i < n; i++) {
            b->items[i].kind = OTLP_SPAN;
            b->items[i].item_id = boom && i == 0 ? "boom" : ids[i];
            b->items[i].reject = i < rejected ? "bad_trace_id" : NULL;
            b->items[i].count = -1;
        }
        t->job.batch = b;
    }
    if (ticketed) {
        t->job.ticket = writer_ticket_new(f->w);
        assert_non_null(t->job.ticket);
    }
    return t;
}

static void submit(fx *f, tjob *t)
{
    writer_submit(f->w, &t->job);
}

/* In threaded mode: until the writer answered the job (bounded: a hang fails the test). */
static void wait_done(tjob *t)
{
    for (int i = 0; i < 5000 && !atomic_load(&t->done); i++)
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    assert_true(atomic_load(&t->done));
}

/* The ack the server gives once the answer was written (or not). The job keeps pointing at
 * its ticket: a job not yet recorded fills it in when it is (the ack is queued behind it). */
static void ack(fx *f, tjob *t, ing_ack a, const char *ended)
{
    writer_ack(f->w, t->job.ticket, a, ended);
}

/* requests.acked of the row at `path`: 1, 0, -1 for NULL, -2 when there is no such row. */
static int64_t acked_of(fx *f, const char *path)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT COALESCE((SELECT COALESCE(acked, -1) FROM requests WHERE path = '%s'), -2)",
             path);
    return t_sql_int(f->db, sql);
}

static void expect_ended(fx *f, const char *path, const char *want)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT ended FROM requests WHERE path = '%s'", path);
    char *got = t_sql_str(f->db, sql);
    if (want ? !got || strcmp(got, want) != 0 : got != NULL)
        fail_msg("%s: ended %s, want %s", path, got ? got : "NULL", want ? want : "NULL");
    free(got);
}

static void expect_acks(const store_stats *s, int64_t delivered, int64_t lost, int64_t unknown,
                        int64_t items_unacknowledged)
{
    if (s->acks.delivered != delivered || s->acks.lost != lost || s->acks.unknown != unknown ||
        s->items_unacknowledged != items_unacknowledged)
        fail_msg("acks delivered %lld lost %lld unknown %lld, items unacknowledged %lld; want "
                 "%lld %lld %lld, %lld",
                 (long long)s->acks.delivered, (long long)s->acks.lost, (long long)s->acks.unknown,
                 (long long)s->items_unacknowledged, (long long)delivered, (long long)lost,
                 (long long)unknown, (long long)items_unacknowledged);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_past_linger(void)
{
    nanosleep(&(struct timespec){.tv_nsec = (ACK_LINGER_MS + 5) * 1000000L}, NULL);
}

/*
 * Inline: a delivered and a lost answer land on their rows, with how they ended; acks alone
 * wait for a job's group (no commit of their own), up to the linger, and then a drain records
 * them alone. The counts: requests by ack, and the lost 2xx's accepted items (not its rejected
 * ones, and nothing of a lost refusal).
 */
static void test_delivered_and_lost_inline(void **state)
{
    (void)state;
    fx *f = fx_open(false, NULL);
    tjob *a = job_new(f, "/a", 200, 3, 0, true, false);
    tjob *b = job_new(f, "/b", 200, 2, 1, true, false);
    tjob *c = job_new(f, "/c", 400, 0, 0, true, false);
    submit(f, a);
    submit(f, b);
    submit(f, c);
    assert_int_equal(writer_timeout_ms(f->w), 0); /* jobs: due now */
    assert_int_equal(writer_drain(f->w), ING_OK);
    assert_true(a->done && b->done && c->done);
    assert_int_equal(writer_timeout_ms(f->w), -1);
    assert_int_equal(acked_of(f, "/a"), -1); /* answered, not yet written */
    store_stats s;
    writer_stats(f->w, &s);
    expect_acks(&s, 0, 0, 3, 0);

    int64_t t0 = mono_ns();
    ack(f, a, ING_ACK_DELIVERED, "completed");
    ack(f, b, ING_ACK_LOST, "client_gone");
    ack(f, c, ING_ACK_LOST, "timeout");
    int left = writer_timeout_ms(f->w);
    assert_int_equal(writer_drain(f->w), ING_OK);
    assert_true(left >= 0 && left <= ACK_LINGER_MS);
    /* Not due yet, if this ran within the linger (a slow machine may not): no group. */
    if (mono_ns() - t0 < (int64_t)ACK_LINGER_MS * 1000000) {
        assert_true(left > 0);
        assert_int_equal(acked_of(f, "/a"), -1);
    }
    sleep_past_linger();
    assert_int_equal(writer_timeout_ms(f->w), 0);
    assert_int_equal(writer_drain(f->w), ING_OK);
    assert_int_equal(writer_timeout_ms(f->w), -1);
    assert_int_equal(acked_of(f, "/a"), 1);
    assert_int_equal(acked_of(f, "/b"), 0);
    assert_int_equal(acked_of(f, "/c"), 0);
    expect_ended(f, "/a", "completed");
    expect_ended(f, "/b", "client_gone");
    expect_ended(f, "/c", "timeout");
    writer_stats(f->w, &s);
    expect_acks(&s, 1, 2, 0, 2); /* b's 2 accepted items; c is a 400 */
    assert_int_equal(t_sql_int(f->db, "SELECT COUNT(*) FROM requests WHERE status BETWEEN 200"
                                      " AND 299 AND acked = 0"),
                     1);

    /* Reopened: the counts come from the file. */
    fx_close_store(f);
    fx_open_store(f, false);
    writer_stats(f->w, &s);
    expect_acks(&s, 1, 2, 0, 2);
    free(a);
    free(b);
    free(c);
    fx_close(f);
}

/*
 * An ack rides with the next job: one drain records the job's row and the earlier request's
 * ack, in one group. ING_ACK_UNKNOWN keeps acked NULL but says how it ended; an ack of the job
 * recorded in the same group as it lands on it.
 */
static void test_acks_ride_with_the_next_job(void **state)
{
    (void)state;
    fx *f = fx_open(false, NULL);
    tjob *a = job_new(f, "/a", 200, 1, 0, true, false);
    submit(f, a);
    assert_int_equal(writer_drain(f->w), ING_OK);
    ack(f, a, ING_ACK_LOST, "read_error");
    tjob *b = job_new(f, "/b", 200, 4, 0, true, false);
    tjob *c = job_new(f, "/c", 200, 1, 0, true, false);
    submit(f, b);
    submit(f, c);
    ack(f, c, ING_ACK_UNKNOWN, "shutdown"); /* queued behind c: c's row exists by then */
    assert_int_equal(writer_drain(f->w), ING_OK);
    assert_true(b->done && c->done);
    assert_int_equal(acked_of(f, "/a"), 0);
    expect_ended(f, "/a", "read_error");
    assert_int_equal(acked_of(f, "/b"), -1);
    assert_int_equal(acked_of(f, "/c"), -1);
    expect_ended(f, "/c", "shutdown");
    store_stats s;
    writer_stats(f->w, &s);
    expect_acks(&s, 0, 1, 2, 1);
    ack(f, b, ING_ACK_DELIVERED, NULL);
    fx_close_store(f); /* writer_close records the queued ack */
    assert_int_equal(acked_of(f, "/b"), 1);
    expect_ended(f, "/b", NULL);
    fx_open_store(f, false);
    writer_stats(f->w, &s);
    expect_acks(&s, 1, 1, 1, 1);
    free(a);
    free(b);
    free(c);
    fx_close(f);
}

/*
 * The writer's own thread: acks are recorded without any drain, within the linger when no job
 * comes (polled for up to 5 s); and an ack queued just before writer_close is recorded too.
 */
static void test_acks_on_the_writer_thread(void **state)
{
    (void)state;
    fx *f = fx_open(true, NULL);
    tjob *a = job_new(f, "/a", 200, 2, 0, true, false);
    tjob *b = job_new(f, "/b", 200, 3, 0, true, false);
    submit(f, a);
    submit(f, b);
    wait_done(a);
    wait_done(b);
    assert_int_equal(a->status, 200);
    ack(f, a, ING_ACK_DELIVERED, "completed");
    ack(f, b, ING_ACK_LOST, "client_gone");
    int64_t got = -1;
    for (int i = 0; i < 500 && got != 0; i++) {
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
        got = acked_of(f, "/b");
    }
    assert_int_equal(got, 0);
    assert_int_equal(acked_of(f, "/a"), 1);
    store_stats s;
    writer_stats(f->w, &s);
    expect_acks(&s, 1, 1, 0, 3);

    tjob *c = job_new(f, "/c", 200, 1, 0, true, false);
    submit(f, c);
    wait_done(c);
    ack(f, c, ING_ACK_LOST, "timeout");
    writer_close(f->w); /* well within the linger: the stop records it */
    f->w = NULL;
    assert_int_equal(acked_of(f, "/c"), 0);
    expect_ended(f, "/c", "timeout");
    store_close(f->st);
    f->st = NULL;
    fx_open_store(f, true);
    writer_stats(f->w, &s);
    expect_acks(&s, 1, 2, 0, 4);
    free(a);
    free(b);
    free(c);
    fx_close(f);
}

/*
 * Tickets without a row are freed without an update: never on a job, NULL, and a job whose
 * record the database refused (an item insert fails after its request row went in: that
 * row's id is given to the next job after the replay, and the refused job's lost ack must
 * not land on it). A refused request (400) has its row, and its ack. Run under ASan, a ticket
 * not freed is a leak.
 */
static void test_tickets_without_a_row(void **state)
{
    (void)state;
    fx *f = fx_open(false, "CREATE TRIGGER boom BEFORE INSERT ON items WHEN NEW.item_id = 'boom'"
                           " BEGIN SELECT RAISE(ABORT, 'planted'); END;");
    writer_ack(f->w, NULL, ING_ACK_DELIVERED, "completed");
    writer_ack(f->w, writer_ticket_new(f->w), ING_ACK_LOST, "client_gone");
    tjob *a = job_new(f, "/a", 200, 1, 0, true, false);
    tjob *x = job_new(f, "/x", 200, 2, 0, true, true);
    tjob *b = job_new(f, "/b", 200, 1, 0, true, false);
    tjob *r = job_new(f, "/r", 400, 0, 0, true, false);
    submit(f, a);
    submit(f, x);
    submit(f, b);
    submit(f, r);
    assert_int_equal(writer_drain(f->w), ING_OK);
    assert_int_equal(x->status, 503); /* dropped: only its refusal is kept, after the group */
    assert_int_equal(a->status, 200);
    assert_int_equal(b->status, 200);
    assert_int_equal(acked_of(f, "/x"), -1);
    assert_int_equal(t_sql_int(f->db, "SELECT id FROM requests WHERE path = '/b'"), 2);
    assert_int_equal(t_sql_int(f->db, "SELECT COUNT(*) FROM requests WHERE path = '/x' AND"
                                      " status = 503 AND reason = 'store_failed' AND"
                                      " items_received = 2 AND items_rejected = 2 AND id = 4"),
                     1);
    ack(f, x, ING_ACK_LOST, "client_gone");    /* its row would have been 2 */
    ack(f, b, ING_ACK_DELIVERED, "completed"); /* 2 is b's */
    ack(f, a, ING_ACK_DELIVERED, "completed");
    ack(f, r, ING_ACK_LOST, "client_gone");
    fx_close_store(f);
    assert_int_equal(acked_of(f, "/a"), 1);
    assert_int_equal(acked_of(f, "/b"), 1);
    assert_int_equal(acked_of(f, "/r"), 0);
    assert_int_equal(acked_of(f, "/x"), -1); /* its lost ack has no row to land on */
    assert_int_equal(t_sql_int(f->db, "SELECT COUNT(*) FROM requests"), 4);
    fx_open_store(f, false);
    store_stats s;
    writer_stats(f->w, &s);
    expect_acks(&s, 2, 1, 1, 0); /* r is not a 2xx: no item of it counts; x's is not known */
    free(a);
    free(x);
    free(b);
    free(r);
    fx_close(f);
}

/*
 * A group replayed after a rollback: a job's ack queued behind it in the same group lands on
 * the job's row as recorded by the replay, and an ack the database refuses (a planted trigger
 * on its `ended`) is dropped alone - its row keeps NULL, the group's jobs and other acks stay.
 * The counts follow the file.
 */
static void test_a_replayed_group_keeps_the_right_rows(void **state)
{
    (void)state;
    fx *f = fx_open(true, "CREATE TRIGGER boom BEFORE INSERT ON items WHEN NEW.item_id = 'boom'"
                          " BEGIN SELECT RAISE(ABORT, 'planted'); END;"
                          "CREATE TRIGGER refuse BEFORE UPDATE ON requests WHEN NEW.ended ="
                          " 'refused' BEGIN SELECT RAISE(ABORT, 'planted'); END;");
    writer_stop(f->w); /* inline from here: the whole queue is one group */
    tjob *p = job_new(f, "/p", 200, 2, 0, true, false);
    submit(f, p);
    assert_int_equal(writer_drain(f->w), ING_OK);
    tjob *a = job_new(f, "/a", 200, 1, 0, true, false);
    tjob *x = job_new(f, "/x", 200, 1, 0, true, true);
    tjob *b = job_new(f, "/b", 200, 2, 0, true, false);
    submit(f, a);
    ack(f, a, ING_ACK_LOST, "client_gone"); /* before the failure: replayed */
    submit(f, x);
    ack(f, p, ING_ACK_LOST, "refused"); /* refused by the database: dropped alone */
    submit(f, b);
    ack(f, b, ING_ACK_LOST, "timeout"); /* after the failure */
    ack(f, x, ING_ACK_DELIVERED, "completed");
    assert_int_equal(writer_drain(f->w), ING_OK);
    assert_int_equal(x->status, 503);
    assert_int_equal(acked_of(f, "/p"), -1);
    expect_ended(f, "/p", NULL);
    assert_int_equal(acked_of(f, "/a"), 0);
    assert_int_equal(acked_of(f, "/b"), 0);
    assert_int_equal(acked_of(f, "/x"), -1); /* its refusal's row, written after the group */
    assert_int_equal(t_sql_int(f->db, "SELECT COUNT(*) FROM requests WHERE acked IS NOT NULL"), 2);
    store_stats s;
    writer_stats(f->w, &s);
    expect_acks(&s, 0, 2, 2, 3);
    fx_close_store(f);
    fx_open_store(f, false);
    writer_stats(f->w, &s);
    expect_acks(&s, 0, 2, 2, 3);
    free(p);
    free(a);
    free(x);
    free(b);
    fx_close(f);
}

/*
 * A version 3 file (requests without acked and ended) is upgraded in place: version 4, its
 * rows kept with acked NULL (not known) and counted so; new rows get their acks. A file of a
 * later version (5) is refused, naming both versions.
 */
static void test_a_version_3_file_is_upgraded(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "v3.db");
    exec_sql(db, "CREATE TABLE requests (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,"
                 " wall_ns INTEGER NOT NULL, time_source TEXT NOT NULL, method TEXT NOT NULL,"
                 " path TEXT NOT NULL, status INTEGER NOT NULL, reason TEXT, message TEXT,"
                 " content_type TEXT, content_encoding TEXT, bytes_wire INTEGER NOT NULL,"
                 " bytes_body INTEGER NOT NULL, api_key TEXT, client TEXT,"
                 " items_received INTEGER NOT NULL, items_accepted INTEGER NOT NULL,"
                 " items_rejected INTEGER NOT NULL, run TEXT, attempt INTEGER, route TEXT);"
                 "CREATE TABLE items (id INTEGER PRIMARY KEY, request INTEGER NOT NULL, kind TEXT"
                 " NOT NULL, accepted INTEGER NOT NULL, reason TEXT, time_ns INTEGER NOT NULL,"
                 " item_id TEXT, request_id TEXT, sent_for TEXT, service TEXT, scope TEXT,"
                 " name TEXT, trace_id TEXT, span_id TEXT, parent_span_id TEXT, start_ns"
                 " INTEGER, end_ns INTEGER, metric_type TEXT, value REAL, count INTEGER,"
                 " severity INTEGER, body TEXT, attrs TEXT);"
                 "INSERT INTO requests VALUES (1, 5, 5, 'virtual', 'POST', '/old', 200,"
                 " NULL, NULL, 'application/json', NULL, 10, 10, NULL, '127.0.0.1', 5, 5, 0,"
                 " 'old-run', 0, NULL);"
                 "PRAGMA user_version = 3;");
    fx *f = calloc(1, sizeof *f);
    f->dir = dir;
    f->db = db;
    char err[512];
    assert_int_equal(ing_config_parse("{}", "test", &f->cfg, err, sizeof err), ING_OK);
    f->pol = policy_new(f->cfg);
    fx_open_store(f, false);
    assert_int_equal(t_sql_int(db, "PRAGMA user_version"), 5);
    /* Version 5's items columns came too: old rows keep NULL there. */
    assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM pragma_table_info('items') WHERE name"
                                   " IN ('span_kind', 'status_message', 'trace_state', 'flags',"
                                   " 'scope_version', 'resource', 'severity_text', 'body_type',"
                                   " 'unit', 'temporality', 'monotonic', 'detail')"),
                     12);
    assert_int_equal(acked_of(f, "/old"), -1);
    expect_ended(f, "/old", NULL);
    store_stats s;
    writer_stats(f->w, &s);
    expect_acks(&s, 0, 0, 1, 0);
    tjob *a = job_new(f, "/a", 200, 3, 0, true, false);
    submit(f, a);
    assert_int_equal(writer_drain(f->w), ING_OK);
    ack(f, a, ING_ACK_LOST, "client_gone");
    fx_close_store(f);
    assert_int_equal(acked_of(f, "/a"), 0);
    assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM requests WHERE id = 1 AND run ="
                                   " 'old-run' AND acked IS NULL AND ended IS NULL"),
                     1);
    fx_open_store(f, false);
    writer_stats(f->w, &s);
    expect_acks(&s, 0, 1, 1, 3);
    fx_close_store(f);

    /* A later version is refused. */
    exec_sql(db, "PRAGMA user_version = 6;");
    ing_store *st = NULL;
    assert_int_equal(store_open(db, &st, err, sizeof err), ING_DB);
    assert_null(st);
    if (!strstr(err, "schema version 6, expected 5"))
        fail_msg("%s", err);
    free(a);
    policy_free(f->pol);
    ing_config_free(f->cfg);
    t_rmtree(dir);
    free(db);
    free(dir);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivered_and_lost_inline),
        cmocka_unit_test(test_acks_ride_with_the_next_job),
        cmocka_unit_test(test_acks_on_the_writer_thread),
        cmocka_unit_test(test_tickets_without_a_row),
        cmocka_unit_test(test_a_replayed_group_keeps_the_right_rows),
        cmocka_unit_test(test_a_version_3_file_is_upgraded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
