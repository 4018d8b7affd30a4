/*
 * The report's aggregates (report_series, report_isolates, report_isolate_bins and the
 * funnel) checked against independent SQL over the full ledger, and compact mode: the same
 * summary.json byte for byte and the same report tables as a full run, no delivered or late item's
 * row left, every other item whole, and AUTO switching at its threshold.
 */
#include "ledger.h"
#include "scenario.h"
#include "sim.h"
#include "summary.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *ingest_bin;

/*
 * Poisson arrivals on isolates evicted after 1-20 s idle, a threshold exporter of 10 items:
 * 900 items, some delivered (the POST lands within the request that filled the buffer),
 * most late, some lost with their isolate.
 */
static const char mix[] =
    "{\"seed\": 3,"
    " \"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 0.5, \"requests\": 300,"
    "  \"duration_s\": 0, \"drain_s\": 120},"
    " \"runtime\": {\"cold_start\": {\"fixed_ms\": 1}, \"idle_timeout\": {\"uniform_s\": [1, 20]}},"
    " \"network\": {\"latency\": {\"fixed_ms\": 5}},"
    " \"exporter\": {\"strategy\": \"threshold\", \"batch_items\": 10},"
    " \"app\": {\"handler\": ["
    "  {\"span\": {\"name\": \"work\", \"do\": [{\"await\": {\"latency\": {\"fixed_ms\": 10}}}]}},"
    "  {\"metric\": {\"name\": \"m\"}}, {\"log\": {\"body\": \"done\"}},"
    "  {\"wait_until\": [{\"call\": \"tracer.flush\"}, {\"call\": \"metrics.flush\"},"
    "   {\"call\": \"logger.flush\"}]},"
    "  {\"respond\": {}}]}}";

#define MIX_ITEMS 900

typedef struct moded {
    char *dir, *ledger_db, *ingest_db;
    char *summary; /* summary.json's text */
    sim_result r;
} moded;

static moded run_mode(sim_ledger_mode mode, uint64_t above, const char *ingest_url,
                      const char *ingest_db)
{
    moded m = {0};
    m.dir = t_mkdtemp();
    m.ledger_db = t_path(m.dir, "ledger.db");
    m.ingest_db = ingest_db ? strdup(ingest_db) : t_path(m.dir, "ingest.db");
    scenario *s;
    char err[1024];
    if (scn_parse(mix, "mix.json", &s, err, sizeof err))
        fail_msg("scenario: %s", err);
    sim_options o = {.run_dir = m.dir,
                     .ledger_mode = mode,
                     .compact_above_items = above,
                     .ingest_url = ingest_url,
                     .ingest_db = ingest_db};
    if (sim_run(s, &o, &m.r, err, sizeof err))
        fail_msg("run: %s", err);
    size_t len = 0;
    FILE *f = open_memstream(&m.summary, &len);
    assert_int_equal(sum_write_json(s, &m.r, f), 0);
    fclose(f);
    scn_free(s);
    return m;
}

static void moded_free(moded *m)
{
    t_rmtree(m->dir);
    sim_result_free(&m->r);
    free(m->summary);
    free(m->ledger_db);
    free(m->ingest_db);
    free(m->dir);
}

/* One integer from a connection with `full` (and `c`, `fing`, `cing` when given) attached. */
static int64_t q2(const moded *full, const moded *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int64_t q2(const moded *full, const moded *c, const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(full->ledger_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char att[8192];
    snprintf(att, sizeof att, "ATTACH '%s' AS fing;", full->ingest_db);
    if (c)
        snprintf(att + strlen(att), sizeof att - strlen(att),
                 "ATTACH '%s' AS c; ATTACH '%s' AS cing;", c->ledger_db, c->ingest_db);
    char *msg = NULL;
    if (sqlite3_exec(db, att, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", att, msg);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Rows of `a` not in `b` plus rows of `b` not in `a`, and the difference in row counts. */
static int64_t differ(const moded *full, const moded *c, const char *a, const char *b)
{
    return q2(full, c,
              "SELECT (SELECT COUNT(*) FROM (%s EXCEPT %s)) + (SELECT COUNT(*) FROM (%s EXCEPT %s))"
              " + ABS((SELECT COUNT(*) FROM (%s)) - (SELECT COUNT(*) FROM (%s)))",
              a, b, b, a, a, b);
}

static void expect_zero(int64_t v, const char *what)
{
    if (v != 0)
        fail_msg("%s: %lld", what, (long long)v);
}

/* The run's end T as ledger.db defines it, in SQL. */
#define T_SQL                                                                                      \
    "(SELECT MAX(1, MAX((SELECT MAX(created_ns) FROM items), (SELECT MAX(time_ns) FROM attempts)," \
    " (SELECT MAX(died_ns) FROM isolates), (SELECT MAX(ended_ns) FROM requests))))"
#define BIN_SQL(col) "MIN(199, MAX(0, " col ") * 200 / " T_SQL ")"

static void test_report_tables_against_independent_sql(void **state)
{
    (void)state;
    moded m = run_mode(SIM_LEDGER_FULL, 0, NULL, NULL);
    const ledger_report *r = &m.r.report;
    assert_int_equal(r->items, MIX_ITEMS);
    /* The scenario gives every fate that matters here. */
    assert_true(r->fate[FATE_DELIVERED] > 0 && r->fate[FATE_LATE] > 0 && r->fate[FATE_LOST] > 0);
    assert_false(m.r.compacted);
    char *mode = t_sql_str(m.ledger_db, "SELECT value FROM meta WHERE key = 'ledger_mode'");
    assert_string_equal(mode, "full");
    free(mode);

    /* report_series: 200 contiguous bins from 0 to T, each item in the bin of its creation. */
    assert_int_equal(q2(&m, NULL, "SELECT COUNT(*) FROM report_series"), LEDGER_BINS);
    assert_int_equal(q2(&m, NULL, "SELECT MIN(bin) FROM report_series"), 0);
    assert_int_equal(q2(&m, NULL, "SELECT MAX(bin) FROM report_series"), LEDGER_BINS - 1);
    assert_int_equal(q2(&m, NULL, "SELECT t0_ns FROM report_series WHERE bin = 0"), 0);
    assert_int_equal(q2(&m, NULL, "SELECT t1_ns FROM report_series WHERE bin = 199"),
                     q2(&m, NULL, "SELECT " T_SQL));
    expect_zero(q2(&m, NULL,
                   "SELECT COUNT(*) FROM report_series a JOIN report_series b ON b.bin = a.bin + 1"
                   " WHERE a.t1_ns != b.t0_ns OR a.t0_ns > a.t1_ns"),
                "bins not contiguous");
    expect_zero(q2(&m, NULL,
                   "SELECT COUNT(*) FROM fates f JOIN report_series s ON s.bin = " BIN_SQL(
                       "f.created_ns") " WHERE f.created_ns < s.t0_ns OR (f.created_ns >= s.t1_ns"
                                       " AND s.bin < 199)"),
                "an item outside its bin's times");
    expect_zero(differ(&m, NULL,
                       "SELECT bin, created, delivered, late, duplicated, misattributed, lost"
                       " FROM report_series WHERE created > 0",
                       "SELECT " BIN_SQL("created_ns") ", COUNT(*), SUM(fate = 'delivered'),"
                                                       " SUM(fate = 'late'), SUM(fate = "
                                                       "'duplicated'), SUM(fate = 'misattributed'),"
                                                       " SUM(fate = 'lost') FROM fates GROUP BY 1"),
                "report_series against fates");
    expect_zero(q2(&m, NULL,
                   "SELECT COUNT(*) FROM report_series WHERE created != delivered + late +"
                   " duplicated + misattributed + lost"),
                "a bin's fates do not add up");

    /* report_isolates: every isolate, its items, losses, losses at its death, POSTs. */
    expect_zero(differ(&m, NULL, "SELECT * FROM report_isolates",
                       "SELECT i.id, i.created_ns, i.died_ns, i.cause, i.requests,"
                       " (SELECT COUNT(*) FROM fates f WHERE f.isolate = i.id),"
                       " (SELECT COUNT(*) FROM fates f WHERE f.isolate = i.id AND f.fate = 'lost'),"
                       " (SELECT COUNT(*) FROM fates f WHERE f.died_on = i.id AND f.fate = 'lost'"
                       "   AND f.died_ns = i.died_ns),"
                       " (SELECT COUNT(*) FROM attempts a WHERE a.isolate = i.id) FROM isolates i"),
                "report_isolates against isolates, fates and attempts");
    assert_true(q2(&m, NULL, "SELECT SUM(lost_at_death) FROM report_isolates") > 0);
    assert_int_equal(q2(&m, NULL, "SELECT SUM(lost_at_death) FROM report_isolates"),
                     (int64_t)r->lost_by[CAUSE_EVICTED_IN_BUFFER] +
                         (int64_t)r->lost_by[CAUSE_STRANDED_AT_END]);

    /* report_isolate_bins: requests arrived and POSTs sent, by isolate and bin, none empty. */
    expect_zero(
        differ(&m, NULL, "SELECT * FROM report_isolate_bins",
               "SELECT isolate, bin, SUM(r), SUM(a) FROM ("
               " SELECT isolate, " BIN_SQL("arrived_ns") " AS bin, 1 AS r, 0 AS a"
                                                         " FROM requests UNION ALL"
                                                         " SELECT isolate, " BIN_SQL(
                                                             "sent_ns") ", 0, 1 FROM attempts)"
                                                                        " GROUP BY isolate, bin"),
        "report_isolate_bins against requests and attempts");
    expect_zero(q2(&m, NULL,
                   "SELECT COUNT(*) FROM report_isolate_bins WHERE requests = 0 AND attempts = 0"),
                "an empty row in report_isolate_bins");

    /* The funnel. */
    assert_int_equal(r->funnel.created, MIX_ITEMS);
    assert_int_equal(r->funnel.sent,
                     q2(&m, NULL, "SELECT COUNT(DISTINCT item) FROM attempt_items"));
    assert_int_equal(r->funnel.accepted,
                     q2(&m, NULL,
                        "SELECT COUNT(DISTINCT ai.item) FROM attempt_items ai JOIN attempts a"
                        " ON a.id = ai.attempt WHERE a.status BETWEEN 200 AND 299"));
    assert_int_equal(
        r->funnel.recorded,
        q2(&m, NULL, "SELECT COUNT(DISTINCT item_id) FROM fing.items WHERE accepted = 1"));
    assert_true(r->funnel.created >= r->funnel.sent && r->funnel.sent >= r->funnel.accepted &&
                r->funnel.accepted >= r->funnel.recorded && r->funnel.recorded > 0);
    /* ... in summary.json, right after the fates. */
    char want[256];
    snprintf(want, sizeof want,
             "\"funnel\":\t{\n\t\t\"created\":\t%llu,\n\t\t\"sent\":\t%llu,\n"
             "\t\t\"accepted\":\t%llu,\n\t\t\"recorded\":\t%llu\n\t}",
             (unsigned long long)r->funnel.created, (unsigned long long)r->funnel.sent,
             (unsigned long long)r->funnel.accepted, (unsigned long long)r->funnel.recorded);
    const char *fn = strstr(m.summary, want), *fates = strstr(m.summary, "\"fates\":");
    if (!fn || !fates || fn < fates || strstr(fates + 1, "\"loss_ratio\"") < fn)
        fail_msg("no funnel after the fates in summary.json:\n%s", m.summary);
    moded_free(&m);
}

static void test_compact_keeps_the_summary_and_the_story(void **state)
{
    (void)state;
    moded full = run_mode(SIM_LEDGER_FULL, 0, NULL, NULL);
    moded c = run_mode(SIM_LEDGER_COMPACT, 0, NULL, NULL);
    assert_true(c.r.compacted);
    /* No side file left (before any reader of ours opens the files). */
    struct stat sa, sb;
    char *wal = t_path(c.dir, "ingest.db-wal");
    assert_int_not_equal(stat(wal, &sa), 0);
    free(wal);
    /* The same summary.json, byte for byte. */
    assert_string_equal(full.summary, c.summary);
    char *mode = t_sql_str(c.ledger_db, "SELECT value FROM meta WHERE key = 'ledger_mode'");
    assert_string_equal(mode, "compact");
    free(mode);
    /* The same report tables. */
    static const char *const tables[] = {"report_series", "report_isolates", "report_isolate_bins"};
    for (size_t i = 0; i < 3; i++) {
        char a[128], b[128];
        snprintf(a, sizeof a, "SELECT * FROM main.%s", tables[i]);
        snprintf(b, sizeof b, "SELECT * FROM c.%s", tables[i]);
        expect_zero(differ(&full, &c, a, b), tables[i]);
    }
    /* No delivered or late item's row left, in either file. */
    int64_t delivered =
        (int64_t)(full.r.report.fate[FATE_DELIVERED] + full.r.report.fate[FATE_LATE]);
    assert_true(delivered > 0);
    expect_zero(q2(&full, &c, "SELECT COUNT(*) FROM c.fates WHERE fate IN ('delivered', 'late')"),
                "delivered fates left");
#define DELIVERED "(SELECT item FROM main.fates WHERE fate IN ('delivered', 'late'))"
    expect_zero(q2(&full, &c, "SELECT COUNT(*) FROM c.items WHERE id IN " DELIVERED),
                "delivered items left");
    expect_zero(q2(&full, &c, "SELECT COUNT(*) FROM c.moves WHERE item IN " DELIVERED),
                "delivered moves left");
    expect_zero(q2(&full, &c, "SELECT COUNT(*) FROM c.attempt_items WHERE item IN " DELIVERED),
                "delivered attempt_items left");
    expect_zero(q2(&full, &c,
                   "SELECT COUNT(*) FROM cing.items WHERE item_id IN (SELECT item_id FROM"
                   " main.fates WHERE fate IN ('delivered', 'late'))"),
                "delivered items left in the ingest");
    /* Every other item whole: the same rows in every table as in the full run. */
#define KEPT "(SELECT item FROM main.fates WHERE fate NOT IN ('delivered', 'late'))"
    assert_int_equal(q2(&full, &c, "SELECT COUNT(*) FROM c.items"), MIX_ITEMS - delivered);
    expect_zero(
        differ(&full, &c, "SELECT * FROM main.items WHERE id IN " KEPT, "SELECT * FROM c.items"),
        "items");
    expect_zero(
        differ(&full, &c, "SELECT * FROM main.fates WHERE item IN " KEPT, "SELECT * FROM c.fates"),
        "fates");
    expect_zero(
        differ(&full, &c, "SELECT * FROM main.moves WHERE item IN " KEPT, "SELECT * FROM c.moves"),
        "moves");
    expect_zero(differ(&full, &c, "SELECT * FROM main.attempt_items WHERE item IN " KEPT,
                       "SELECT * FROM c.attempt_items"),
                "attempt_items");
    expect_zero(differ(&full, &c, "SELECT * FROM main.drops", "SELECT * FROM c.drops"), "drops");
    expect_zero(differ(&full, &c, "SELECT * FROM main.attempts", "SELECT * FROM c.attempts"),
                "attempts");
    expect_zero(differ(&full, &c, "SELECT * FROM main.isolates", "SELECT * FROM c.isolates"),
                "isolates");
    /* The ingest's rows of the other items, minus their (random) port-free ids. */
    expect_zero(differ(&full, &c,
                       "SELECT kind, accepted, reason, time_ns, item_id, request_id, sent_for,"
                       " attrs FROM fing.items WHERE item_id IN (SELECT item_id FROM main.fates"
                       " WHERE fate NOT IN ('delivered', 'late'))",
                       "SELECT kind, accepted, reason, time_ns, item_id, request_id, sent_for,"
                       " attrs FROM cing.items"),
                "ingest items");
    /* Requests: those with a remaining item stay (all of a kept item's story), the ones
     * whose items were all delivered go. */
    expect_zero(differ(&full, &c,
                       "SELECT * FROM main.requests WHERE id IN (SELECT request FROM main.fates"
                       " WHERE fate NOT IN ('delivered', 'late')) OR id NOT IN (SELECT request FROM"
                       " main.fates)",
                       "SELECT * FROM c.requests"),
                "requests");
    assert_true(q2(&full, &c, "SELECT COUNT(*) FROM c.requests") <
                q2(&full, &c, "SELECT COUNT(*) FROM main.requests"));
    expect_zero(q2(&full, &c,
                   "SELECT COUNT(*) FROM cing.items i LEFT JOIN cing.requests q ON q.id = i.request"
                   " WHERE q.id IS NULL"),
                "an ingest item without its request");
    expect_zero(q2(&full, &c,
                   "SELECT COUNT(*) FROM cing.requests q WHERE q.items_received > 0 AND NOT"
                   " EXISTS (SELECT 1 FROM cing.items i WHERE i.request = q.id)"),
                "an ingest request whose items all went");
    /* ... and the files are smaller. */
    assert_int_equal(stat(full.ledger_db, &sa), 0);
    assert_int_equal(stat(c.ledger_db, &sb), 0);
    assert_true(sb.st_size < sa.st_size);
    assert_int_equal(stat(full.ingest_db, &sa), 0);
    assert_int_equal(stat(c.ingest_db, &sb), 0);
    assert_true(sb.st_size < sa.st_size);
    moded_free(&full);
    moded_free(&c);
}

static void test_auto_compacts_above_its_threshold(void **state)
{
    (void)state;
    moded at = run_mode(SIM_LEDGER_AUTO, MIX_ITEMS, NULL, NULL); /* not more than 900 */
    moded above = run_mode(SIM_LEDGER_AUTO, MIX_ITEMS - 1, NULL, NULL);
    moded dflt = run_mode(SIM_LEDGER_AUTO, 0, NULL, NULL); /* 1,000,000 */
    assert_false(at.r.compacted);
    assert_true(above.r.compacted);
    assert_false(dflt.r.compacted);
    char *m1 = t_sql_str(at.ledger_db, "SELECT value FROM meta WHERE key = 'ledger_mode'");
    char *m2 = t_sql_str(above.ledger_db, "SELECT value FROM meta WHERE key = 'ledger_mode'");
    assert_string_equal(m1, "full");
    assert_string_equal(m2, "compact");
    free(m1);
    free(m2);
    assert_int_equal(t_sql_int(above.ledger_db, "SELECT COUNT(*) FROM fates"),
                     MIX_ITEMS - (int64_t)(above.r.report.fate[FATE_DELIVERED] +
                                           above.r.report.fate[FATE_LATE]));
    assert_int_equal(t_sql_int(at.ledger_db, "SELECT COUNT(*) FROM fates"), MIX_ITEMS);
    assert_string_equal(at.summary, above.summary);
    assert_string_equal(at.summary, dflt.summary);
    /* Compacting a full run's closed files gives the compact run's rows. */
    char err[512];
    assert_int_equal(ledger_compact_files(at.ledger_db, at.ingest_db, err, sizeof err), 0);
    expect_zero(differ(&at, &above, "SELECT * FROM main.fates", "SELECT * FROM c.fates"),
                "fates compacted from the files");
    expect_zero(differ(&at, &above, "SELECT * FROM main.moves", "SELECT * FROM c.moves"),
                "moves compacted from the files");
    expect_zero(differ(&at, &above, "SELECT * FROM main.requests", "SELECT * FROM c.requests"),
                "requests compacted from the files");
    assert_int_equal(t_sql_int(at.ingest_db, "SELECT COUNT(*) FROM items"),
                     t_sql_int(above.ingest_db, "SELECT COUNT(*) FROM items"));
    moded_free(&at);
    moded_free(&above);
    moded_free(&dflt);
}

/* An external ingest: never pruned, even in compact mode; without its database the run is
 * unverified and the report tables still exist, with the fate columns NULL. */
static void test_external_ingest(void **state)
{
    (void)state;
    char *idir = t_mkdtemp(), *idb = t_path(idir, "shared.db"), url[256];
    int pid = t_spawn_ingest(ingest_bin, idb, "--trust-sim-headers", url, sizeof url);
    assert_true(pid > 0);
    moded c = run_mode(SIM_LEDGER_COMPACT, 0, url, idb);
    assert_true(c.r.verified && c.r.compacted);
    int64_t pruned = (int64_t)(c.r.report.fate[FATE_DELIVERED] + c.r.report.fate[FATE_LATE]);
    assert_int_equal(t_sql_int(c.ledger_db, "SELECT COUNT(*) FROM items"), MIX_ITEMS - pruned);
    /* The shared ingest keeps every row it recorded. */
    assert_int_equal(t_sql_int(idb, "SELECT COUNT(DISTINCT item_id) FROM items WHERE accepted"),
                     (int64_t)c.r.report.funnel.recorded);
    moded u = run_mode(SIM_LEDGER_COMPACT, 0, url, NULL);
    assert_true(u.r.telemetry && !u.r.verified && !u.r.compacted);
    assert_int_equal(t_sql_int(u.ledger_db, "SELECT COUNT(*) FROM items"), MIX_ITEMS);
    assert_int_equal(t_sql_int(u.ledger_db, "SELECT COUNT(*) FROM report_series"), LEDGER_BINS);
    assert_int_equal(t_sql_int(u.ledger_db, "SELECT SUM(created) FROM report_series"), MIX_ITEMS);
    assert_int_equal(t_sql_int(u.ledger_db, "SELECT COUNT(*) FROM report_series WHERE delivered"
                                            " IS NOT NULL OR lost IS NOT NULL"),
                     0);
    assert_int_equal(t_sql_int(u.ledger_db, "SELECT SUM(items) FROM report_isolates"), MIX_ITEMS);
    assert_int_equal(t_sql_int(u.ledger_db, "SELECT COUNT(*) FROM report_isolates WHERE lost IS"
                                            " NOT NULL OR lost_at_death IS NOT NULL"),
                     0);
    assert_int_equal(t_sql_int(u.ledger_db, "SELECT SUM(attempts) FROM report_isolate_bins"),
                     (int64_t)u.r.posts);
    assert_null(strstr(u.summary, "\"funnel\""));
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    moded_free(&c);
    moded_free(&u);
    t_rmtree(idir);
    free(idb);
    free(idir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_compact MOCK_INGEST\n");
        return 2;
    }
    ingest_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_tables_against_independent_sql),
        cmocka_unit_test(test_compact_keeps_the_summary_and_the_story),
        cmocka_unit_test(test_auto_compacts_above_its_threshold),
        cmocka_unit_test(test_external_ingest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
