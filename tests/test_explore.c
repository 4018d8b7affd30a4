/*
 * The interleaving explorer: a scenario whose default order is clean but one other order at
 * one instant loses and mixes (found, replayed, and absent from a plain run); the number of
 * schedules of three requests counted by hand; both fixes of the second seed clean within
 * the bound; the PCT miss probability from n, k, d and N; the same seed, the same search;
 * and the command line's exit statuses. argv[1]: the edgeloss binary.
 */
#include "explore.h"
#include "simtest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *edgeloss_bin;

/*
 * A at 0 and B at 2 ms each read their body (1 ms), set LOG, resolve one entry, wait 2 ms,
 * take LOG and send it. A's wait and B's body read both end at 3 ms; A's wake was scheduled
 * first (at 1 ms, B's at 2 ms), so the queue's order runs A first: A takes its own entry, B
 * then sets, resolves and takes its own - clean. The other pick at that instant (choice 0,
 * pick 1) runs B first: B's set wipes A's entry (lost) and A takes B's (mixed).
 */
static const char depth2[] =
    "{\"seed\": 1,"
    " \"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 500, \"requests\": 2,"
    " \"duration_s\": 0, \"drain_s\": 1},"
    " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300}},"
    " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
    " \"exporter\": {\"strategy\": \"immediate\"},"
    " \"app\": {\"handler\": ["
    "  {\"await\": {\"name\": \"req.bytes\", \"latency\": {\"fixed_ms\": 1}}},"
    "  {\"global\": {\"name\": \"LOG\", \"op\": \"set\"}},"
    "  {\"global\": {\"name\": \"LOG\", \"op\": \"append\"}},"
    "  {\"await\": {\"name\": \"scheduler.wait\", \"latency\": {\"fixed_ms\": 2}}},"
    "  {\"global\": {\"name\": \"LOG\", \"op\": \"take\"}},"
    "  {\"wait_until\": [{\"global\": {\"name\": \"LOG\", \"op\": \"send\"}}]},"
    "  {\"respond\": {}}]},"
    " \"expect\": [{\"check\": \"no_mixing\"}, {\"check\": \"no_loss\"}]}";

/*
 * Three requests arrive during a 5 ms cold start and all start when the isolate is ready:
 * each awaits 0 (its wake-up ready at once, at the same instant) and responds. Each pick
 * takes one of the ready segments, and a request's second segment becomes ready the moment
 * its first has run: every interleaving of three chains of two segments that keeps each
 * chain in order is one schedule, 6! / (2! 2! 2!) = 90, and nothing to lose.
 */
static const char three[] =
    "{\"seed\": 1,"
    " \"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1000, \"requests\": 3,"
    " \"duration_s\": 0, \"drain_s\": 1},"
    " \"runtime\": {\"cold_start\": {\"fixed_ms\": 5}, \"idle_timeout\": {\"fixed_s\": 300}},"
    " \"exporter\": {\"strategy\": \"immediate\"},"
    " \"app\": {\"handler\": [{\"await\": {\"name\": \"yield\", \"latency\": {\"fixed_ms\": 0}}},"
    " {\"respond\": {}}]}}";

static scenario *parse(const char *json)
{
    scenario *s = NULL;
    char err[512];
    if (scn_parse(json, "test.json", &s, err, sizeof err))
        fail_msg("%s", err);
    return s;
}

static xpl_result explore(const scenario *s, xpl_strategy st, const char *dir)
{
    xpl_options o = {.strategy = st, .seed = 1, .confirm_dir = dir, .runs = 200};
    xpl_result r;
    char err[512];
    if (xpl_explore(s, &o, &r, err, sizeof err))
        fail_msg("%s", err);
    return r;
}

static void test_finds_what_the_default_order_hides(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    /* The plain run: clean. */
    simrun plain = sim_text_in(depth2, -1, dir, NULL);
    assert_true(plain.r.verified);
    assert_int_equal(plain.r.report.fate[FATE_LOST], 0);
    assert_int_equal(plain.r.report.fate[FATE_MISATTRIBUTED], 0);
    simrun_free(&plain);
    scenario *s = parse(depth2);
    xpl_result r = explore(s, XPL_EXHAUSTIVE, dir);
    assert_true(r.found);
    char sched[128];
    xpl_format(&r.bad, sched, sizeof sched);
    assert_string_equal(sched, "0:1");
    /* Confirmed by the full run with real HTTP: A's entry lost, B's mixed into A's payload. */
    assert_true(r.confirmed);
    assert_int_equal(r.full.report.fate[FATE_LOST], 1);
    assert_int_equal(r.full.report.fate[FATE_MISATTRIBUTED], 1);
    assert_int_equal(r.full.report.lost_by[CAUSE_OVERWRITTEN_SHARED_STATE], 1);
    char *db = t_path(dir, "ledger.db");
    char *f = t_sql_str(db, "SELECT group_concat(request || ':' || fate, ' ') FROM"
                            " (SELECT * FROM fates ORDER BY item)");
    assert_string_equal(f, "1:lost 2:misattributed");
    free(f);
    free(db);
    xpl_result_free(&r);
    /* The replay chooser alone reproduces it, in a run of its own. */
    xpl_schedule sc;
    char err[256];
    assert_int_equal(xpl_parse("0:1", &sc, err, sizeof err), SIM_OK);
    xpl_replay rp = {&sc, 0, 0};
    sim_options opt = {.run_dir = dir, .chooser = xpl_replay_choose, .chooser_ud = &rp};
    sim_result res;
    assert_int_equal(sim_run(s, &opt, &res, err, sizeof err), SIM_OK);
    assert_int_equal(res.report.fate[FATE_LOST], 1);
    assert_int_equal(res.report.mixed_items, 1);
    sim_result_free(&res);
    scn_free(s);
    t_rmtree(dir);
    free(dir);
}

static void test_exhaustive_count_of_three_requests(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    scenario *s = parse(three);
    xpl_result r = explore(s, XPL_EXHAUSTIVE, dir);
    assert_false(r.found);
    assert_true(r.complete);
    assert_int_equal(r.schedules, 720 / 8);
    assert_int_equal(r.requests, 3);
    /* The default order A B C A' B' C' chooses among 3, 3 (B C A'), 3 (C A' B'), 3, then 2
     * (B' C'); C' alone is no choice. */
    assert_int_equal(r.points, 5);
    xpl_result_free(&r);
    scn_free(s);
    t_rmtree(dir);
    free(dir);
}

/* scenarios/seed-001-explore.json, every variant. */
static scenario *seed001(void)
{
    scenario *first = NULL;
    char err[512];
    if (scn_load(SCENARIOS_DIR "/seed-001-explore.json", &first, err, sizeof err))
        fail_msg("%s", err);
    return first;
}

static const scenario *variant_of(const scenario *first, const char *name)
{
    for (const scenario *s = first; s; s = s->next)
        if (strcmp(s->variant, name) == 0)
            return s;
    fail_msg("no variant %s", name);
    return NULL;
}

/* The second seed's miniature: its bug is found at 2 and 3 requests (shrunk to 2), its fixes
 * explore clean, every schedule of them. */
static void test_second_seed_bug_found_fixes_clean(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    scenario *first = seed001();
    xpl_result r = explore(variant_of(first, "bug, 3 requests"), XPL_AUTO, dir);
    assert_true(r.found && r.confirmed);
    assert_int_equal(r.bad.requests, 2); /* the third request is not needed */
    xpl_result_free(&r);
    static const char *const fixes[] = {"fix 1, 3 requests", "fix 2, 3 requests"};
    for (int i = 0; i < 2; i++) {
        r = explore(variant_of(first, fixes[i]), XPL_AUTO, dir);
        if (r.found)
            fail_msg("%s: %s", fixes[i], r.why);
        assert_true(r.complete);
        assert_true(r.schedules >= 2);
        xpl_result_free(&r);
    }
    scn_free(first);
    t_rmtree(dir);
    free(dir);
}

/* PCT's bound: no bug in N runs of n threads (requests, plus the work of none) and k choices
 * at depth d misses one of depth d with probability at most (1 - 1/(n k^(d-1)))^N. */
static void test_pct_miss_probability(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    scenario *first = seed001();
    xpl_options o = {.strategy = XPL_PCT, .runs = 50, .depth = 2, .seed = 7, .confirm_dir = dir};
    xpl_result r;
    char err[256];
    assert_int_equal(xpl_explore(variant_of(first, "fix 1, 3 requests"), &o, &r, err, sizeof err),
                     SIM_OK);
    assert_false(r.found);
    assert_int_equal(r.requests, 3);
    assert_int_equal(r.points, 5);
    assert_int_equal(r.schedules, 1 + 50); /* the default order, then the runs */
    assert_int_equal(r.pct_runs, 50);
    /* n threads: the 3 requests and the work of none (request 0). */
    double want = pow(1.0 - 1.0 / ((3.0 + 1.0) * 5.0), 50.0);
    assert_true(fabs(r.miss_bound - want) < 1e-12);
    xpl_result_free(&r);
    scn_free(first);
    t_rmtree(dir);
    free(dir);
}

/* Same seed, same search: the random baseline twice finds the same schedule in the same
 * number of runs; another seed's search is its own. */
static void test_same_seed_same_search(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    scenario *first = seed001();
    const scenario *s = variant_of(first, "bug, 3 requests");
    char a[128], b[128];
    uint64_t na = 0;
    for (int k = 0; k < 2; k++) {
        xpl_options o = {
            .strategy = XPL_RANDOM, .runs = 500, .seed = 3, .no_shrink = true, .confirm_dir = dir};
        xpl_result r;
        char err[256];
        assert_int_equal(xpl_explore(s, &o, &r, err, sizeof err), SIM_OK);
        assert_true(r.found);
        xpl_format(&r.bad, k ? b : a, sizeof a);
        if (k)
            assert_int_equal(r.schedules, na);
        na = r.schedules;
        xpl_result_free(&r);
    }
    assert_string_equal(a, b);
    scn_free(first);
    t_rmtree(dir);
    free(dir);
}

/*
 * Latencies as choices: the body read is uniform 0.5-1.5 ms; with seed 1 A draws long enough
 * and B short enough that B's set comes after A's take - clean, and no ordering choice arises
 * (no two tasks are ever ready together). Choosing B's body read at its lower edge (0.5 ms:
 * choice 1, pick 1) puts B's set at 2.5 ms inside A's window: lost and mixed.
 */
static void test_latency_edges(void **state)
{
    (void)state;
    char *json = strdup(depth2);
    char *at = strstr(strstr(json, "req.bytes"), "{\"fixed_ms\": 1}");
    assert_non_null(at);
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s{\"uniform_us\": [500, 1500]}%s", (int)(at - json), json,
             at + strlen("{\"fixed_ms\": 1}"));
    free(json);
    char *dir = t_mkdtemp();
    simrun plain = sim_text_in(buf, -1, dir, NULL);
    assert_int_equal(plain.r.report.fate[FATE_LOST], 0);
    simrun_free(&plain);
    scenario *s = parse(buf);
    xpl_result r = explore(s, XPL_EXHAUSTIVE, dir);
    assert_false(r.found); /* orderings alone: nothing to choose */
    assert_int_equal(r.points, 0);
    xpl_result_free(&r);
    xpl_options o = {.strategy = XPL_EXHAUSTIVE, .seed = 1, .confirm_dir = dir, .latencies = true};
    char err[256];
    assert_int_equal(xpl_explore(s, &o, &r, err, sizeof err), SIM_OK);
    assert_true(r.found && r.confirmed);
    char sched[64];
    xpl_format(&r.bad, sched, sizeof sched);
    assert_string_equal(sched, "lat/1:1");
    assert_int_equal(r.points, 2); /* A's body read, then B's */
    xpl_result_free(&r);
    scn_free(s);
    t_rmtree(dir);
    free(dir);
}

/* The memory mode's join against the full run's SQL on the same run: every count it fills. */
static void same_verdict(const scenario *s, const char *schedule, const char *dir)
{
    xpl_schedule sc;
    char err[256];
    assert_int_equal(xpl_parse(schedule, &sc, err, sizeof err), SIM_OK);
    sim_result r[2];
    for (int full = 0; full < 2; full++) {
        xpl_replay rp = {&sc, 0, 0};
        sim_options o = {
            .memory = !full, .run_dir = dir, .chooser = xpl_replay_choose, .chooser_ud = &rp};
        if (sim_run(s, &o, &r[full], err, sizeof err))
            fail_msg("%s: %s", s->variant, err);
    }
    const ledger_report *m = &r[0].report, *f = &r[1].report;
    assert_true(f->items > 0);
    assert_int_equal(m->items, f->items);
    for (int i = 0; i < FATE_COUNT; i++)
        if (m->fate[i] != f->fate[i])
            fail_msg("%s %s: %s %llu in memory, %llu in full", s->variant, schedule,
                     ledger_fate_name((ledger_fate)i), (unsigned long long)m->fate[i],
                     (unsigned long long)f->fate[i]);
    for (int c = 0; c < CAUSE_COUNT; c++)
        assert_int_equal(m->lost_by[c], f->lost_by[c]);
    assert_int_equal(m->entries, f->entries);
    assert_int_equal(m->mixed_items, f->mixed_items);
    assert_int_equal(m->mixed_requests, f->mixed_requests);
    assert_int_equal(m->attempts, f->attempts);
    assert_int_equal(m->requests, f->requests);
    assert_true(fabs(m->added_wait_until_ms - f->added_wait_until_ms) < 1e-9);
    sim_result_free(&r[0]);
    sim_result_free(&r[1]);
}

static void test_memory_verdict_equals_the_full_one(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    scenario *first = seed001();
    for (const scenario *s = first; s; s = s->next) {
        same_verdict(s, "0", dir);
        same_verdict(s, "0:1", dir);
        same_verdict(s, "1:1,3:1", dir);
    }
    scn_free(first);
    /* At load: the second seed's bug, 8 per isolate, cut to 400 requests (lost, mixed, many
     * payloads), and fix 2's trade (a queue, evictions). */
    static const char *const files[] = {"/seed-001-flag-log-bug.json",
                                        "/seed-001-checkpoint-trade.json"};
    for (int i = 0; i < 2; i++) {
        char path[512], err[512];
        snprintf(path, sizeof path, "%s%s", SCENARIOS_DIR, files[i]);
        if (scn_load(path, &first, err, sizeof err))
            fail_msg("%s", err);
        first->workload.requests = 400;
        same_verdict(first, "0", dir);
        scn_free(first);
    }
    /* Every export strategy of the first seed (its interval and otel-batch exporters send
     * from their own timers, for no request; the buffered ones from later requests). */
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/seed-000-low-volume.json", SCENARIOS_DIR);
    if (scn_load(path, &first, err, sizeof err))
        fail_msg("%s", err);
    for (scenario *v = first; v; v = v->next) {
        v->workload.requests = 150;
        same_verdict(v, "0", dir);
    }
    scn_free(first);
    t_rmtree(dir);
    free(dir);
}

static void test_schedule_text(void **state)
{
    (void)state;
    xpl_schedule s;
    char err[256], buf[128];
    assert_int_equal(xpl_parse("2r/3:1,7:2", &s, err, sizeof err), SIM_OK);
    assert_int_equal(s.requests, 2);
    assert_int_equal(s.n, 2);
    xpl_format(&s, buf, sizeof buf);
    assert_string_equal(buf, "2r/3:1,7:2");
    assert_int_equal(xpl_parse("0", &s, err, sizeof err), SIM_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(xpl_parse("lat/2r/0:2", &s, err, sizeof err), SIM_OK);
    assert_true(s.latencies);
    xpl_format(&s, buf, sizeof buf);
    assert_string_equal(buf, "lat/2r/0:2");
    static const char *const bad[] = {"",  "x",   "3:0",  "3:1,2:1", "3:1,",
                                      "3", "2r/", "-1:1", "lat/",    "lat/lat/1:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (xpl_parse(bad[i], &s, err, sizeof err) != SIM_EUSAGE)
            fail_msg("\"%s\" accepted", bad[i]);
    assert_non_null(strstr(err, "expected a schedule as explore prints it"));
}

/* The command line: 1 and the replay command when found, the replay failing the checks
 * the plain run passes, 0 when clean, 2 on bad input. */
static int sh(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_command_line(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *file = t_path(dir, "d2.json");
    FILE *f = fopen(file, "w");
    fputs(depth2, f);
    fclose(f);
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s explore %s --out %s/x 2>&1", edgeloss_bin, file, dir);
    assert_int_equal(sh(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "FOUND a bad schedule"));
    assert_non_null(strstr(out, "confirmed by a full run with real HTTP and SQLite"));
    char want[1200];
    snprintf(want, sizeof want, "replay: %s run %s --variant baseline --seed 1 --schedule 0:1",
             edgeloss_bin, file);
    assert_non_null(strstr(out, want));
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/r --quiet --schedule 0:1 >/dev/null 2>&1",
             edgeloss_bin, file, dir);
    assert_int_equal(sh(cmd, out, sizeof out), 1);
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/p --quiet >/dev/null 2>&1", edgeloss_bin, file,
             dir);
    assert_int_equal(sh(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s explore %s --strategy dfs 2>&1", edgeloss_bin, file);
    assert_int_equal(sh(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s run %s --schedule 3:0 2>&1", edgeloss_bin, file);
    assert_int_equal(sh(cmd, out, sizeof out), 2);
    /* A clean one. */
    f = fopen(file, "w");
    fputs(three, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s explore %s --out %s/c 2>&1", edgeloss_bin, file, dir);
    assert_int_equal(sh(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "clean: all 90 schedules explored (exhaustive)"));
    assert_non_null(strstr(out, "the plain run, in full with real HTTP and SQLite, agrees"));
    /* An ingest that refuses cannot be explored in memory. */
    f = fopen(file, "w");
    fputs("{\"workload\": {\"requests\": 1}, \"exporter\": {}, \"ingest\": {\"api_key\": \"k\"},"
          " \"app\": {\"handler\": [{\"respond\": {}}]}}",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s explore %s --out %s/k 2>&1", edgeloss_bin, file, dir);
    assert_int_equal(sh(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "remove the ingest's cap and api_key"));
    free(file);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir); /* run directories nest */
    assert_int_equal(system(cmd), 0);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_explore EDGELOSS\n");
        return 2;
    }
    edgeloss_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finds_what_the_default_order_hides),
        cmocka_unit_test(test_exhaustive_count_of_three_requests),
        cmocka_unit_test(test_second_seed_bug_found_fixes_clean),
        cmocka_unit_test(test_pct_miss_probability),
        cmocka_unit_test(test_same_seed_same_search),
        cmocka_unit_test(test_latency_edges),
        cmocka_unit_test(test_memory_verdict_equals_the_full_one),
        cmocka_unit_test(test_schedule_text),
        cmocka_unit_test(test_command_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
