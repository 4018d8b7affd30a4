/*
 * JavaScript exporters (docs/js-exporters.md): the Node host's contexts live and die with
 * their isolates, their clocks are virtual, their failures are stopped and reported, and the
 * JavaScript re-creation of the first seed's exporter equals the built-in threshold item for
 * item. Fates are derived by hand from each scenario below.
 *
 * argv[1]: the edgeloss binary (for the runs made as a user makes them).
 */
#include "ledger.h"
#include "scenario.h"
#include "sim.h"
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
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static const char *edgeloss_bin;

#define FAULTY_JS "\"js\": \"" JS_TESTS_DIR "/faulty.js\""
#define SPAN_AND_METRIC                                                                            \
    "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"metric\": {\"name\": \"m\"}},"                  \
    " {\"call\": \"tracer.flush\"}, {\"call\": \"metrics.flush\"}, {\"respond\": {}}"

static xrun xone(const char *exporter, const char *handler, int requests, double gap_s)
{
    char *json = exporter_doc(exporter, handler, requests, gap_s);
    xrun x = xrun_text(json);
    free(json);
    return x;
}

static char *exporter_log(const xrun *x)
{
    return run_exporter_log(x->dir);
}

/*
 * The context's buffer dies with its isolate: tracer.flush hands the span (item 1) to the
 * exporter at 0, which keeps it in an array of its module; the isolate idles out at 10 s
 * and the span is lost then, evicted-in-buffer, in the layer "exporter". The metric (item 2)
 * reaches an exporter that takes only traces: dropped at 0 as never-flushed, and said so.
 */
static void test_the_context_buffer_dies_with_its_isolate(void **state)
{
    (void)state;
    xrun x = xone(FAULTY_JS ", \"options\": {\"how\": \"hold\"}", SPAN_AND_METRIC, 1, 1);
    assert_int_equal(x.rc, 0);
    expect_fate_in(x.ledger_db, 1, "lost/evicted-in-buffer@10000000000/exporter");
    expect_fate_in(x.ledger_db, 2, "lost/never-flushed@0/exporter");
    assert_int_equal(x.r.report.lost_by[CAUSE_UNEXPLAINED], 0);
    assert_int_equal(x.r.posts, 0);
    char *log = exporter_log(&x);
    assert_non_null(strstr(log, "the exporter takes no metrics: 1 dropped as never-flushed"));
    free(log);
    xrun_free(&x);
}

/*
 * The exporter names why what it holds dies (edgeloss.causeAtDeath): the span held at the 10 s
 * eviction dies as the cause it names; a name that is not a cause is logged and the death's
 * own applies.
 */
static void test_the_exporter_may_name_the_cause_at_death(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"dropped-in-backoff", "lost/dropped-in-backoff@10000000000/exporter"},
        {"bogus", "lost/evicted-in-buffer@10000000000/exporter"},
    };
    for (size_t i = 0; i < 2; i++) {
        char ex[300];
        snprintf(ex, sizeof ex, FAULTY_JS ", \"options\": {\"how\": \"hold\", \"cause\": \"%s\"}",
                 cases[i][0]);
        xrun x = xone(ex, SPAN_AND_METRIC, 1, 1);
        assert_int_equal(x.rc, 0);
        expect_fate_in(x.ledger_db, 1, cases[i][1]);
        char *log = exporter_log(&x);
        bool said = strstr(log, "causeAtDeath() returned \"bogus\": not one of") != NULL;
        assert_int_equal(said, i == 1);
        free(log);
        xrun_free(&x);
    }
}

/*
 * Two requests 20 s apart: the first isolate idles out at 10 s, so the second runs in a new
 * one - a new context, whose module state starts again ("seen 1" both times). Every clock
 * reads the virtual time of the call (0 s, then 20 s), nothing of Node is reachable, and the
 * random sources are the isolate's seeded stream: a second run logs the very same lines.
 */
static void test_each_isolate_has_its_own_context_and_virtual_clocks(void **state)
{
    (void)state;
    xrun x = xone(FAULTY_JS ", \"options\": {\"how\": \"clock\"}", SPAN_AND_METRIC, 2, 20);
    assert_int_equal(x.rc, 0);
    char *log = exporter_log(&x);
    const char *one =
        strstr(log, "isolate 1: console.log: seen 1 Date.now 0 new Date 0 performance 0 random ");
    const char *two = strstr(
        log,
        "isolate 2: console.log: seen 1 Date.now 20000 new Date 20000 performance 20000 random ");
    if (!one || !two)
        fail_msg("exporter.log:\n%s", log);
    assert_non_null(strstr(one, "typeof process undefined require undefined intl 1970"));
    expect_fate_in(x.ledger_db, 1, "lost/evicted-in-buffer@10000000000/exporter");
    expect_fate_in(x.ledger_db, 3, "lost/evicted-in-buffer@30000000000/exporter");
    xrun y = xone(FAULTY_JS ", \"options\": {\"how\": \"clock\"}", SPAN_AND_METRIC, 2, 20);
    char *log2 = exporter_log(&y);
    assert_string_equal(log, log2);
    assert_int_equal(x.r.hash, y.r.hash);
    free(log);
    free(log2);
    xrun_free(&x);
    xrun_free(&y);
}

/*
 * The host hands items back for the exporter: a POST carries the items its body names, a 2xx
 * releases them, a refusal gives them back marked refused. Two requests 1 s apart on one
 * isolate, each exporting its span at once; the ingest refuses the first POST (503), answered
 * at 2 ms (1 ms each way). An exporter that reports the failure (resultCallback FAILED) loses
 * item 1 then, rejected-by-ingest; one that calls it a success keeps it, refused, until its
 * isolate dies: 10 s after request 2 ended at 1.002 s. Item 2 is delivered either way.
 */
static void test_a_refused_post_is_lost_when_the_exporter_gives_up_or_dies(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"post", "lost/rejected-by-ingest@2000000/exporter"},
        {"ignore", "lost/rejected-by-ingest@11002000000/exporter"},
    };
    for (size_t i = 0; i < 2; i++) {
        char json[2048];
        snprintf(
            json, sizeof json,
            "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 2,"
            " \"duration_s\": 0, \"drain_s\": 600},"
            " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": "
            "10}},"
            " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
            " \"faults\": {\"rules\": [{\"kind\": \"status\", \"status\": 503, \"first\": 1}]},"
            " \"exporter\": {" FAULTY_JS ", \"options\": {\"how\": \"%s\"}},"
            " \"app\": {\"handler\": [{\"span\": {\"name\": \"s\", \"do\": []}},"
            " {\"call\": \"tracer.flush\"}, {\"respond\": {}}]}}",
            cases[i][0]);
        char *dir = t_mkdtemp();
        simrun r = sim_text_in(json, -1, dir, NULL);
        char *db = t_path(dir, "ledger.db");
        expect_fate_in(db, 1, cases[i][1]);
        expect_fate_in(db, 2, "delivered/-@-/-");
        assert_int_equal(r.r.report.lost_by[CAUSE_UNEXPLAINED], 0);
        simrun_free(&r);
        free(db);
        t_rmtree(dir);
        free(dir);
    }
}

/* The run went to its end without the exporter: an error saying what and where, the span
 * exported at 0 lost then as exporter-crashed, nothing unexplained. */
static void expect_stopped(const char *how, const char *want)
{
    char ex[600];
    snprintf(ex, sizeof ex,
             FAULTY_JS ", \"options\": {\"how\": \"%s\"},"
                       " \"call_budget\": {\"wall_ms\": 500}",
             how);
    xrun x = xone(ex, SPAN_AND_METRIC, 1, 1);
    assert_int_equal(x.rc, SIM_EEXPORTER);
    if (!strstr(x.err, want) || !strstr(x.err, "during export_items (isolate 1, t = 0.0"))
        fail_msg("%s: got \"%s\", want \"%s\"", how, x.err, want);
    assert_non_null(strstr(x.err, "faulty.js"));
    assert_true(x.r.verified);
    expect_fate_in(x.ledger_db, 1, "lost/exporter-crashed@0/exporter-host");
    expect_fate_in(x.ledger_db, 2, "lost/exporter-crashed@0/exporter-host");
    assert_int_equal(x.r.report.lost_by[CAUSE_UNEXPLAINED], 0);
    xrun_free(&x);
}

/* An exporter that throws, one that never calls back (and has nothing pending that could),
 * and one that loops forever: each stopped and reported, the run ended. */
static void test_throwing_silent_and_spinning_exporters_are_stopped(void **state)
{
    (void)state;
    expect_stopped("throw", "reported that the exporter failed (export: TypeError: cannot read "
                            "properties of undefined");
    expect_stopped("silent", "without finishing call");
    expect_stopped("spin", "did not return within 500 ms of wall time (its per-call budget)");
}

static void expect_refused(const char *exporter, const char *want)
{
    char *json = exporter_doc(exporter, "{\"respond\": {}}", 1, 1);
    scenario *s = NULL;
    char err[2000] = "";
    int rc = scn_parse(json, "t.json", &s, err, sizeof err);
    free(json);
    scn_free(s);
    assert_int_equal(rc, SIM_EINPUT);
    if (!strstr(err, want))
        fail_msg("got \"%s\", want \"%s\"", err, want);
}

/* What cannot run is refused at load, naming the file, the JSON path and why. */
static void test_bad_bundles_and_options_are_refused(void **state)
{
    (void)state;
    expect_refused(FAULTY_JS ", \"options\": {\"how\": \"bogus\"}",
                   "t.json: $.exporter.options: " JS_TESTS_DIR "/faulty.js: options.how: "
                   "\"bogus\" is not a way to fail");
    expect_refused(FAULTY_JS ", \"factory\": \"nope\"",
                   "t.json: $.exporter.factory: " JS_TESTS_DIR "/faulty.js: the bundle has no "
                   "function \"nope\"");
    expect_refused("\"js\": \"/nonexistent/x.js\"", "t.json: $.exporter.js: cannot read "
                                                    "/nonexistent/x.js (No such file");
    expect_refused(FAULTY_JS ", \"strategy\": \"threshold\"", "give one of `strategy`");
    expect_refused(FAULTY_JS ", \"in_process\": true", "$.exporter.in_process");
    expect_refused("\"strategy\": \"threshold\", \"factory\": \"f\"", "$.exporter.factory");

    /* A node that cannot run, named by EDGELOSS_NODE. */
    setenv("EDGELOSS_NODE", "/nonexistent/node", 1);
    expect_refused(FAULTY_JS, "t.json: $.exporter.js: cannot run EDGELOSS_NODE=/nonexistent/node");
    unsetenv("EDGELOSS_NODE");

    /* --exporter-js names a bundle that is not there: the option is named, not the file. */
    char *tmp = t_mkdtemp();
    char *json = exporter_doc("\"strategy\": \"threshold\"", "{\"respond\": {}}", 1, 1);
    char *file = t_write_file(tmp, "t.json", json);
    scn_overrides ov = {.exporter_js = "/nonexistent/x.js"};
    scenario *s = NULL;
    char err[2000] = "";
    assert_int_equal(scn_load_with(file, &ov, &s, err, sizeof err), SIM_EINPUT);
    scn_free(s);
    if (!strstr(err, "--exporter-js: cannot read /nonexistent/x.js (No such file"))
        fail_msg("got \"%s\"", err);
    free(json);
    free(file);
    t_rmtree(tmp);
    free(tmp);
}

/* ---- as a user runs them ---- */

/* Runs FILE's VARIANT into OUT, with the JavaScript bundle JS as its exporter if not NULL. */
static void cli_run(const char *file, const char *variant, const char *js, const char *out)
{
    char *argv[] = {(char *)edgeloss_bin,
                    "run",
                    (char *)file,
                    "--variant",
                    (char *)variant,
                    "--quiet",
                    "--out",
                    (char *)out,
                    js ? "--exporter-js" : NULL,
                    (char *)js,
                    NULL};
    int rc = t_spawn_quiet(argv);
    if (rc != 0 && rc != 1) /* 1: an expectation of the file failed, the same for both */
        fail_msg("edgeloss run %s --variant %s%s%s: exit %d", file, variant,
                 js ? " --exporter-js " : "", js ? js : "", rc);
}

static char *fates_of_run(const char *file, const char *variant, const char *js, char **hash)
{
    char *tmp = t_mkdtemp();
    cli_run(file, variant, js, tmp);
    char *dir = t_run_dir(tmp);
    assert_non_null(dir);
    char *f = t_fates(dir);
    assert_non_null(f);
    if (hash) {
        char *sp = t_path(dir, "summary.json");
        char *sum = t_read_file(sp, NULL);
        assert_non_null(sum);
        const char *h = strstr(sum, "\"log_hash\"");
        assert_non_null(h);
        *hash = strndup(h, 40);
        free(sp);
        free(sum);
    }
    free(dir);
    t_rmtree(tmp);
    free(tmp);
    return f;
}

/* check with --exporter-js: the exporter's failure is exit 3, and the reproduce command names
 * the bundle, without which it would run another exporter. */
static void test_check_reproduces_with_the_bundle(void **state)
{
    (void)state;
    char *tmp = t_mkdtemp();
    char *json = exporter_doc("\"strategy\": \"threshold\", \"options\": {\"how\": \"throw\"}",
                              SPAN_AND_METRIC, 1, 1);
    char *file = t_write_file(tmp, "t.json", json);
    free(json);
    char *out = t_path(tmp, "out"), *log = t_path(tmp, "log");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' check '%s' --quiet --out '%s' --exporter-js '%s' > '%s' 2>&1",
             edgeloss_bin, file, out, JS_TESTS_DIR "/faulty.js", log);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3);
    char *text = t_read_file(log, NULL);
    assert_non_null(text);
    char want[4200];
    snprintf(want, sizeof want, "reproduce: %s run %s --variant baseline --seed 1 --exporter-js %s",
             edgeloss_bin, file, JS_TESTS_DIR "/faulty.js");
    if (!strstr(text, want))
        fail_msg("want \"%s\" in:\n%s", want, text);
    free(text);
    free(out);
    free(log);
    free(file);
    t_rmtree(tmp);
    free(tmp);
}

/*
 * examples/js-exporters/threshold-twin.js re-creates the first seed's exporter in JavaScript:
 * on the shipped scenarios whose variant runs threshold (idle evictions, a busy isolate,
 * memory pressure and random kills), every item's fate, cause, instant and layer are the
 * built-in's.
 */
static void test_the_javascript_twin_equals_threshold_item_for_item(void **state)
{
    (void)state;
    const char *const(*cases)[2] = threshold_twin_cases;
    for (size_t i = 0; i < THRESHOLD_TWIN_CASES; i++) {
        char f[4096];
        snprintf(f, sizeof f, "%s/%s", SCENARIOS_DIR, cases[i][0]);
        char *a = fates_of_run(f, cases[i][1], NULL, NULL);
        char *b = fates_of_run(f, cases[i][1], EXAMPLES_JS_DIR "/threshold-twin.js", NULL);
        if (strcmp(a, b) != 0)
            fail_msg("%s (%s): the JavaScript twin differs:\n built-in %.300s\n twin     %.300s",
                     cases[i][0], cases[i][1], a, b);
        /* Not vacuous: the runs lost and delivered items. */
        assert_non_null(strstr(a, ":lost/"));
        assert_non_null(strstr(a, ":delivered/"));
        free(a);
        free(b);
    }
}

/*
 * And through the 403 path: the first seed's cap puts threshold into its 300 s backoff (the
 * Retry-After ignored) and the items it holds then die as dropped-in-backoff. The twin keeps
 * the refused items, backs off alike, and names that cause through edgeloss.causeAtDeath:
 * the same fates, item for item.
 */
static void test_the_javascript_twin_backs_off_as_threshold_does(void **state)
{
    (void)state;
    char *tmp = t_mkdtemp();
    char *files[2] = {
        cap_backoff_twin_file(SCENARIOS_DIR, tmp, "builtin.json", NULL, NULL),
        cap_backoff_twin_file(SCENARIOS_DIR, tmp, "twin.json", "js",
                              EXAMPLES_JS_DIR "/threshold-twin.js"),
    };
    char *a = fates_of_run(files[0], "propagate with backoff", NULL, NULL);
    char *b = fates_of_run(files[1], "propagate with backoff", NULL, NULL);
    if (strcmp(a, b) != 0)
        fail_msg("seed-000-cap-backoff: the JavaScript twin differs:\n built-in %.300s\n twin     "
                 "%.300s",
                 a, b);
    /* The runs did go through the backoff. */
    assert_non_null(strstr(a, ":lost/dropped-in-backoff@"));
    assert_non_null(strstr(a, ":delivered/"));
    free(a);
    free(b);
    free(files[0]);
    free(files[1]);
    t_rmtree(tmp);
    free(tmp);
}

/*
 * The OpenTelemetry JS SDK's own BatchSpanProcessor and OTLP exporter (example 1, bundled from
 * npm): without a flush its queue dies with the evicted isolates; the same scenario and seed
 * give the same fates and log hash twice; flushing in waitUntil delivers every span.
 */
static void test_the_otel_sdk_is_deterministic_and_its_fix_works(void **state)
{
    (void)state;
    if (access(EXAMPLES_JS_DIR "/dist/otel-batch.js", R_OK) != 0)
        fail_msg("%s/dist/otel-batch.js is not built: run `npm ci && npm run build` there "
                 "(scripts/setup does)",
                 EXAMPLES_JS_DIR);
    const char *f = SCENARIOS_DIR "/js-otel-batch.json";
    char *h1, *h2;
    char *a = fates_of_run(f, "baseline", NULL, &h1);
    char *b = fates_of_run(f, "baseline", NULL, &h2);
    assert_string_equal(h1, h2);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, ":lost/evicted-in-buffer@"));
    assert_non_null(strstr(a, ":late/"));
    char *fix = fates_of_run(f, "fix: waitUntil(tracer.flush())", NULL, NULL);
    assert_null(strstr(fix, ":lost/"));
    assert_non_null(strstr(fix, ":delivered/"));
    free(a);
    free(b);
    free(fix);
    free(h1);
    free(h2);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_js EDGELOSS\n");
        return 2;
    }
    edgeloss_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_context_buffer_dies_with_its_isolate),
        cmocka_unit_test(test_the_exporter_may_name_the_cause_at_death),
        cmocka_unit_test(test_each_isolate_has_its_own_context_and_virtual_clocks),
        cmocka_unit_test(test_a_refused_post_is_lost_when_the_exporter_gives_up_or_dies),
        cmocka_unit_test(test_throwing_silent_and_spinning_exporters_are_stopped),
        cmocka_unit_test(test_bad_bundles_and_options_are_refused),
        cmocka_unit_test(test_check_reproduces_with_the_bundle),
        cmocka_unit_test(test_the_javascript_twin_equals_threshold_item_for_item),
        cmocka_unit_test(test_the_javascript_twin_backs_off_as_threshold_does),
        cmocka_unit_test(test_the_otel_sdk_is_deterministic_and_its_fix_works),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
