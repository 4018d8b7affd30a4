/*
 * The exporter ABI from the plugin's side: a plugin that never reports a loss still gets
 * fates (the host's held list, the layer its hook names), a completion never resumes its
 * caller inside done(), a second done() is ignored, a plugin's own send is judged like a
 * built-in's, and what a host must refuse is refused with a message naming the problem
 * (exit 2 from the command line). Expected fates and instants worked out here by hand.
 */
#include "exporters/plugin.h"
#include "scenario.h"
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
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static const char *edgeloss_bin;

typedef struct run {
    simrun s;
    char *dir, *ledger_db;
} run;

/*
 * One request at t = 0 on a fresh isolate (no cold start), which idles out 10 s after it
 * ended; network 1 ms each way. `exporter` is the exporter object's members.
 */
static char *docn(const char *exporter, const char *handler, int requests)
{
    return exporter_doc(exporter, handler, requests, 1);
}

static char *doc(const char *exporter, const char *handler)
{
    return docn(exporter, handler, 1);
}

static run one(const char *exporter, const char *handler)
{
    char *json = doc(exporter, handler);
    run x;
    x.dir = t_mkdtemp();
    x.s = sim_text_in(json, -1, x.dir, NULL);
    x.ledger_db = t_path(x.dir, "ledger.db");
    free(json);
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

#define HOLDALL "\"plugin\": \"" HOLDALL_SO "\""
#define SPAN_AND_METRIC                                                                            \
    "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"metric\": {\"name\": \"m\"}},"                  \
    " {\"call\": \"tracer.flush\"}, {\"call\": \"metrics.flush\"}, {\"respond\": {}}"

/* The plugin takes both items (the flushes hand them over at 0) and says nothing of them
 * again; the isolate idles out at 10 s and the host loses them then, to the eviction, in the
 * layer "exporter" (no hook). */
static void test_a_plugin_that_reports_nothing_still_gets_fates(void **state)
{
    (void)state;
    run x = one(HOLDALL, SPAN_AND_METRIC);
    expect_fate_of(&x, 1, "lost/evicted-in-buffer@10000000000/exporter");
    expect_fate_of(&x, 2, "lost/evicted-in-buffer@10000000000/exporter");
    assert_int_equal(x.s.r.report.lost_by[CAUSE_EVICTED_IN_BUFFER], 2);
    assert_int_equal(x.s.r.report.lost_by[CAUSE_UNEXPLAINED], 0);
    assert_int_equal(x.s.r.posts, 0);
    run_free(&x);
}

/* The same with the introspection hook: the layer is the one it names. */
static void test_the_hook_names_the_layer(void **state)
{
    (void)state;
    run x = one(HOLDALL ", \"options\": {\"hook\": true}", SPAN_AND_METRIC);
    expect_fate_of(&x, 1, "lost/evicted-in-buffer@10000000000/holdall-buffer");
    expect_fate_of(&x, 2, "lost/evicted-in-buffer@10000000000/holdall-buffer");
    run_free(&x);
}

static char *exporter_log(const run *x)
{
    return run_exporter_log(x->dir);
}

/* done() queues the completion: tracer.flush hands the span over (call 1) and, since flush
 * reaches this exporter, then flushes it (call 2) - only after call 1 returned, so its "after
 * done" line comes first; metrics.flush likewise (calls 3 and 4). */
static void test_done_never_resumes_the_caller_inside_it(void **state)
{
    (void)state;
    run x = one(HOLDALL, SPAN_AND_METRIC);
    char *log = exporter_log(&x);
    const char *want[] = {"call 1: export of 1", "call 1: after done",  "call 2: flush of 1",
                          "call 2: after done",  "call 3: export of 1", "call 3: after done",
                          "call 4: flush of 2",  "call 4: after done"};
    const char *at = log;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *p = strstr(at, want[i]);
        if (!p)
            fail_msg("\"%s\" missing or out of order:\n%s", want[i], log);
        at = p;
    }
    /* Lines carry the virtual time and the isolate. */
    assert_non_null(strstr(log, "0.000000000 holdall isolate 1: call 1: export of 1"));
    free(log);
    run_free(&x);
    /* Finished later, from an answer: the waiting handler's next call comes after the plugin's
     * answer callback returned (at 2 ms, when the answer came). */
    x = one(HOLDALL ", \"options\": {\"send_on_flush\": true}",
            "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"call\": \"tracer.flush\"},"
            " {\"call\": \"exporter.flush\"}, {\"call\": \"exporter.flush\"}, {\"respond\": {}}");
    log = exporter_log(&x);
    const char *e = strstr(log, "0.002000000 holdall isolate 1: answered: after done");
    const char *f = strstr(log, "0.002000000 holdall isolate 1: call 4: flush of 0");
    if (!e || !f || !(e < f))
        fail_msg("the answer's completion resumed the handler inside done():\n%s", log);
    free(log);
    run_free(&x);
}

/* A second done() on a finished call is ignored and logged; the run goes on as before. */
static void test_a_second_done_is_ignored(void **state)
{
    (void)state;
    run x = one(HOLDALL ", \"options\": {\"done_twice\": true}", SPAN_AND_METRIC);
    char *log = exporter_log(&x);
    assert_non_null(strstr(log, "done() called again on a finished call: ignored"));
    assert_non_null(strstr(log, "call 4: flush of 2"));
    free(log);
    expect_fate_of(&x, 2, "lost/evicted-in-buffer@10000000000/exporter");
    run_free(&x);
}

/* send_on_flush: exporter.flush (the bundle exposes it) sends each signal with the host's
 * send at 0; the answers come at 2 ms; both delivered, the request waits for them. */
static void test_a_plugins_send_is_judged_like_a_builtins(void **state)
{
    (void)state;
    run x = one(HOLDALL ", \"options\": {\"send_on_flush\": true}",
                "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"metric\": {\"name\": \"m\"}},"
                " {\"call\": \"tracer.flush\"}, {\"call\": \"metrics.flush\"},"
                " {\"call\": \"exporter.flush\"}, {\"respond\": {}}");
    expect_fate_of(&x, 1, "delivered/-@-/-");
    expect_fate_of(&x, 2, "delivered/-@-/-");
    assert_int_equal(x.s.r.posts, 2);
    assert_int_equal(x.s.r.report.fate[FATE_LOST], 0);
    run_free(&x);
}

/* Same scenario and seed, same event log hash, with a plugin as with a built-in. */
static void test_a_plugin_run_is_deterministic(void **state)
{
    (void)state;
    const char *h = "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"call\": \"tracer.flush\"},"
                    " {\"call\": \"exporter.flush\"}, {\"respond\": {}}";
    run a = one(HOLDALL ", \"options\": {\"send_on_flush\": true}", h);
    run b = one(HOLDALL ", \"options\": {\"send_on_flush\": true}", h);
    assert_true(a.s.r.hash == b.s.r.hash);
    assert_string_equal(a.s.events, b.s.events);
    run_free(&a);
    run_free(&b);
}

/* A plugin's mistakes cost it, never the run: an item released twice in one list is refused
 * (and stays held: lost at the eviction); destroy() asking for a timer, a send and the end of a
 * call that never ended is told the isolate is gone; a periodic timer cleared in its first
 * firing while more firings were queued (a 1 ms tick behind a 5 ms CPU step) fires once. */
static void test_a_plugins_mistakes_are_refused(void **state)
{
    (void)state;
    run x = one(HOLDALL ", \"options\": {\"release_twice\": true}",
                "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"call\": \"tracer.flush\"},"
                " {\"call\": \"exporter.flush\"}, {\"respond\": {}}");
    char *log = exporter_log(&x);
    assert_non_null(strstr(log, "release(): item 1 of 2 is not held by this exporter (it is "
                                "listed twice): ignored"));
    free(log);
    expect_fate_of(&x, 1, "lost/evicted-in-buffer@10000000000/exporter");
    run_free(&x);

    x = one(HOLDALL ", \"options\": {\"rude_destroy\": true, \"hang_flush\": true}",
            "{\"span\": {\"name\": \"s\", \"do\": []}},"
            " {\"wait_until\": [{\"call\": \"tracer.flush\"}]}, {\"respond\": {}}");
    log = exporter_log(&x);
    assert_non_null(strstr(log, "timer() inside destroy(): the isolate is gone, ignored"));
    assert_non_null(strstr(log, "send() inside destroy(): the isolate is gone, ignored"));
    assert_non_null(strstr(log, "done() inside destroy(): the isolate is gone, ignored"));
    assert_null(strstr(log, "a timer was set in destroy()"));
    free(log);
    /* The send was refused: the span is the death's, not in flight. */
    assert_int_equal(x.s.r.posts, 0);
    assert_int_equal(x.s.r.report.fate[FATE_LOST], 1);
    assert_int_equal(x.s.r.report.lost_by[CAUSE_UNEXPLAINED], 0);
    run_free(&x);

    x = one(HOLDALL ", \"options\": {\"tick_ms\": 1, \"rude_destroy\": true}",
            "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"call\": \"tracer.flush\"},"
            " {\"cpu\": {\"fixed_ms\": 5}}, {\"respond\": {}}");
    log = exporter_log(&x);
    const char *t = strstr(log, "tick");
    if (!t || strstr(t + 4, "tick"))
        fail_msg("a cleared timer fired %s:\n%s", t ? "again" : "never", log);
    free(log);
    run_free(&x);
}

/* Variants: a variant's options merge key by key with the file's (hook from the file,
 * done_twice from the variant); a variant naming a built-in strategy drops the file's plugin
 * and options; one naming another plugin does not inherit the file's options. */
static void test_variants_switch_exporters(void **state)
{
    (void)state;
    char *base = doc(HOLDALL ", \"options\": {\"hook\": true}", SPAN_AND_METRIC);
    size_t len = strlen(base) + 1024;
    char *json = malloc(len);
    assert_non_null(json);
    /* Close the document with its variants in place of its last brace. */
    snprintf(json, len,
             "%.*s, \"variants\": [{\"name\": \"twice\", \"exporter\": {\"options\": "
             "{\"done_twice\": true}}}, {\"name\": \"builtin\", \"exporter\": {\"strategy\": "
             "\"immediate\"}}, {\"name\": \"other\", \"exporter\": {\"plugin\": \"" TWIN_SO
             "\"}}]}",
             (int)(strlen(base) - 1), base);
    free(base);
    char err[2048];
    scenario *all = NULL;
    if (scn_parse(json, "v.json", &all, err, sizeof err))
        fail_msg("%s", err);
    const char *want[] = {"holdall", "holdall", "immediate", "threshold-twin"};
    size_t i = 0;
    for (scenario *v = all; v; v = v->next, i++) {
        assert_true(i < 4);
        assert_string_equal(v->exporter.desc->name, want[i]);
    }
    assert_int_equal(i, 4);
    scn_free(all);
    run x;
    x.dir = t_mkdtemp();
    x.s = sim_text_in(json, -1, x.dir, "twice");
    x.ledger_db = t_path(x.dir, "ledger.db");
    char *log = exporter_log(&x);
    assert_non_null(strstr(log, "done() called again"));
    free(log);
    expect_fate_of(&x, 1, "lost/evicted-in-buffer@10000000000/holdall-buffer");
    run_free(&x);
    free(json);
}

/* Parses a one-request scenario with this exporter; returns the error ("" when it parsed). */
static char *parse_error(const char *exporter, const scn_overrides *ov)
{
    char *json = doc(exporter, "{\"respond\": {}}");
    static char err[2048];
    err[0] = '\0';
    scenario *s = NULL;
    int rc = scn_parse_with(json, "t.json", ov, &s, err, sizeof err);
    free(json);
    scn_free(s);
    if (rc == 0)
        err[0] = '\0';
    else
        assert_int_equal(rc, SIM_EINPUT);
    return err;
}

static void expect_refused(const char *exporter, const char *want1, const char *want2)
{
    const char *err = parse_error(exporter, NULL);
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fail_msg("exporter {%s}: got \"%s\", want \"%s\"%s%s", exporter, err, want1,
                 want2 ? " and " : "", want2 ? want2 : "");
}

static void test_what_a_host_refuses(void **state)
{
    (void)state;
    expect_refused("\"plugin\": \"" BROKEN_ABI_SO "\"", "t.json: $.exporter.plugin: ",
                   "built for exporter ABI 99, this edgeloss speaks ABI 1");
    expect_refused("\"plugin\": \"" BROKEN_NOSYM_SO "\"", "not an exporter plugin",
                   "no symbol edgeloss_exporter");
    expect_refused("\"plugin\": \"" BROKEN_NULL_SO "\"", "its method flush is NULL", NULL);
    expect_refused("\"plugin\": \"" BROKEN_NODESC_SO "\"", "returned no descriptor", NULL);
    expect_refused("\"plugin\": \"/nonexistent/libnone.so\"", "$.exporter.plugin",
                   "cannot load the exporter plugin");
    expect_refused("\"plugin\": \"" HOLDALL_SO "\", \"strategy\": \"threshold\"",
                   "$.exporter.strategy: a plugin is the strategy", NULL);
    expect_refused("\"strategy\": \"threshold\", \"options\": {}",
                   "$.exporter.options: options are a plugin's", NULL);
    /* Options: the plugin's reads, in the scenario's error style. */
    expect_refused(HOLDALL ", \"options\": {\"hook\": 3}",
                   "t.json: $.exporter.options.hook: expected true or false, got a number", NULL);
    expect_refused(HOLDALL ", \"options\": {\"hok\": true}",
                   "$.exporter.options.hok: unknown option of holdall (did you mean hook?)", NULL);
    expect_refused(
        HOLDALL ", \"options\": {\"zzzzzzzz\": 1}",
        "unknown option of holdall (it reads: hook, send_on_flush, done_twice, release_twice, "
        "tick_ms, rude_destroy, hang_flush)",
        NULL);
    expect_refused(HOLDALL ", \"options\": [1]", "$.exporter.options: expected an object", NULL);
    /* And what it accepts. */
    assert_string_equal(parse_error(HOLDALL ", \"options\": {\"hook\": false}", NULL), "");
    /* The command line's plugin replaces the file's strategy. */
    scn_overrides ov = {.exporter_plugin = BROKEN_ABI_SO};
    const char *err = parse_error("\"strategy\": \"threshold\"", &ov);
    assert_non_null(strstr(err, "--exporter-plugin: "));
    assert_non_null(strstr(err, "ABI 99"));
    ov.exporter_plugin = HOLDALL_SO;
    assert_string_equal(parse_error("\"strategy\": \"threshold\"", &ov), "");
}

static int exit_code(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* From the command line: exit 2 and the message, for the flag and for the file's key. */
static void test_the_command_line_exits_2(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *file = t_path(dir, "s.json");
    char *json = doc("\"strategy\": \"threshold\"", "{\"respond\": {}}");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    free(json);
    const char *bad[] = {BROKEN_ABI_SO, BROKEN_NOSYM_SO, "/nonexistent/libnone.so"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd,
                 "'%s' run '%s' --quiet --out '%s/o' --exporter-plugin '%s' "
                 ">/dev/null 2>&1",
                 edgeloss_bin, file, dir, bad[i]);
        assert_int_equal(exit_code(cmd), 2);
        snprintf(cmd, sizeof cmd,
                 "'%s' check '%s' --quiet --out '%s/o' --exporter-plugin '%s' "
                 ">/dev/null 2>&1",
                 edgeloss_bin, file, dir, bad[i]);
        assert_int_equal(exit_code(cmd), 2);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "'%s' run '%s' --quiet --out '%s/o' --exporter-plugin '%s' >/dev/null 2>&1",
             edgeloss_bin, file, dir, HOLDALL_SO);
    assert_int_equal(exit_code(cmd), 0);
    free(file);
    t_rmtree(dir);
    free(dir);
}

/* ---- the example plugin against its built-in twin ---- */

/* Runs FILE's VARIANT (its seed) into OUT, with PLUGIN as its exporter if not NULL (in
 * edgeloss's own process when in_process). */
static void cli_run_mode(const char *file, const char *variant, const char *plugin, bool in_process,
                         const char *out)
{
    char *argv[] = {(char *)edgeloss_bin,
                    "run",
                    (char *)file,
                    "--variant",
                    (char *)variant,
                    "--quiet",
                    "--out",
                    (char *)out,
                    plugin ? "--exporter-plugin" : NULL,
                    (char *)plugin,
                    in_process ? "--exporter-in-process" : NULL,
                    NULL};
    int rc = t_spawn_quiet(argv);
    if (rc != 0 && rc != 1) /* 1: an expectation of the file failed, which is the same for both */
        fail_msg("edgeloss run %s --variant %s%s%s: exit %d", file, variant,
                 plugin ? " --exporter-plugin " : "", plugin ? plugin : "", rc);
}

static void cli_run(const char *file, const char *variant, const char *plugin, const char *out)
{
    cli_run_mode(file, variant, plugin, false, out);
}

/* Every item's fate, cause, instant and layer, and the log hash: what must be identical. */
static char *outcome(const char *dir)
{
    char *fates = t_fates(dir);
    char *sum_path = t_path(dir, "summary.json");
    char *sum = t_read_file(sum_path, NULL);
    assert_non_null(fates);
    assert_non_null(sum);
    const char *h = strstr(sum, "\"log_hash\"");
    assert_non_null(h);
    size_t len = strlen(fates) + 64;
    char *o = malloc(len);
    assert_non_null(o);
    snprintf(o, len, "%.30s %s", h, fates);
    free(fates);
    free(sum_path);
    free(sum);
    return o;
}

/* The built-in on file_a against the plugin on file_b, out of process and in process. */
static void expect_twins(const char *file_a, const char *file_b, const char *variant,
                         const char *plugin)
{
    char *tmp = t_mkdtemp();
    char *a = t_path(tmp, "a"), *b = t_path(tmp, "b"), *c = t_path(tmp, "c");
    cli_run(file_a, variant, NULL, a);
    cli_run(file_b, variant, plugin, b);
    cli_run_mode(file_b, variant, plugin, true, c);
    char *da = t_run_dir(a), *db = t_run_dir(b), *dc = t_run_dir(c);
    assert_non_null(da);
    assert_non_null(db);
    assert_non_null(dc);
    char *oa = outcome(da), *ob = outcome(db), *oc = outcome(dc);
    if (strcmp(oa, ob) != 0)
        fail_msg("%s (%s): the twin differs:\n built-in %.300s\n plugin   %.300s", file_a, variant,
                 oa, ob);
    if (strcmp(ob, oc) != 0)
        fail_msg("%s (%s): out of process differs from in process:\n out %.300s\n in  %.300s",
                 file_a, variant, ob, oc);
    free(oc);
    free(dc);
    free(c);
    /* Not vacuous: the runs lost and delivered items. */
    assert_non_null(strstr(oa, ":lost/"));
    assert_non_null(strstr(oa, ":delivered/"));
    free(oa);
    free(ob);
    free(da);
    free(db);
    free(a);
    free(b);
    t_rmtree(tmp);
    free(tmp);
}

/*
 * examples/exporter-plugin re-implements threshold with the public header alone: on the
 * shipped scenarios whose variant runs threshold (idle evictions, a busy isolate, memory
 * pressure and random kills), item for item the same fates and the same event-log hash.
 */
static void test_the_example_plugin_equals_its_builtin_twin(void **state)
{
    (void)state;
    const char *const(*cases)[2] = threshold_twin_cases;
    for (size_t i = 0; i < THRESHOLD_TWIN_CASES; i++) {
        char f[4096];
        snprintf(f, sizeof f, "%s/%s", SCENARIOS_DIR, cases[i][0]);
        expect_twins(f, f, cases[i][1], TWIN_SO);
    }
}

/*
 * And through the 403 path: the first seed's cap puts threshold into backoff (300 s, the
 * Retry-After ignored), items held back die as dropped-in-backoff. The twin gets the same
 * settings as its options; both files are named alike so that the runs' ids are too.
 */
static void test_the_twin_backs_off_as_the_builtin_does(void **state)
{
    (void)state;
    char *tmp = t_mkdtemp();
    char *da = t_path(tmp, "builtin"), *dbb = t_path(tmp, "plugin");
    assert_int_equal(mkdir(da, 0700), 0);
    assert_int_equal(mkdir(dbb, 0700), 0);
    char *fa = cap_backoff_twin_file(SCENARIOS_DIR, da, "s.json", NULL, NULL);
    char *fb = cap_backoff_twin_file(SCENARIOS_DIR, dbb, "s.json", "plugin", TWIN_SO);
    expect_twins(fa, fb, "propagate with backoff", NULL);
    /* The runs did go through the backoff. */
    char *out = t_path(tmp, "check");
    cli_run(fb, "propagate with backoff", NULL, out);
    char *d = t_run_dir(out);
    assert_non_null(d);
    char *db = t_path(d, "ledger.db");
    assert_true(t_sql_int(db, "SELECT count(*) FROM fates WHERE cause = 'dropped-in-backoff'") > 0);
    free(db);
    free(d);
    free(out);
    free(fa);
    free(fb);
    free(da);
    free(dbb);
    t_rmtree(tmp);
    free(tmp);
}

/* ---- the built-ins' settings against the key table ---- */

/* An el_options that answers every read with its default and checks the default and the range
 * against the scenario key table's entry for exporter.<key>. */
typedef struct recorder {
    el_options pub;
    const char *strategy;
    int reads;
} recorder;

static const sk_key *table_key(recorder *r, const char *key)
{
    char path[200];
    snprintf(path, sizeof path, "exporter.%s", key);
    const sk_key *k = sk_find(scn_schema(), path);
    if (!k || !k->def)
        fail_msg("%s reads %s, which the key table does not document with a default", r->strategy,
                 path);
    r->reads++;
    return k;
}

static void same_range(recorder *r, const char *key, const sk_key *k, double def, double min,
                       double max)
{
    if (atof(k->def) != def || k->min != min || k->max != max)
        fail_msg("%s's %s: default %g in [%g, %g]; the key table says %s in [%g, %g]", r->strategy,
                 key, def, min, max, k->def, k->min, k->max);
}

static int r_number(el_options *o, const char *key, double def, double min, double max, double *out)
{
    recorder *r = (recorder *)o;
    const sk_key *k = table_key(r, key);
    assert_int_equal(k->type, SK_NUMBER);
    same_range(r, key, k, def, min, max);
    *out = def;
    return 0;
}

static int r_integer(el_options *o, const char *key, int64_t def, int64_t min, int64_t max,
                     int64_t *out)
{
    recorder *r = (recorder *)o;
    const sk_key *k = table_key(r, key);
    assert_int_equal(k->type, SK_INT);
    same_range(r, key, k, (double)def, (double)min, (double)max);
    *out = def;
    return 0;
}

static int r_boolean(el_options *o, const char *key, int def, int *out)
{
    recorder *r = (recorder *)o;
    const sk_key *k = table_key(r, key);
    assert_int_equal(k->type, SK_BOOL);
    assert_string_equal(k->def, def ? "true" : "false");
    *out = def;
    return 0;
}

static int r_string(el_options *o, const char *key, const char *def, const char **out)
{
    (void)o, (void)key;
    *out = def;
    fail_msg("no built-in reads a string");
    return 1;
}

static int r_duration(el_options *o, const char *key, double def_s, double min_s, double max_s,
                      int64_t *ns)
{
    double v;
    int rc = r_number(o, key, def_s, min_s, max_s, &v);
    *ns = (int64_t)(v * 1e9);
    return rc;
}

static int r_fail(el_options *o, const char *key, const char *msg)
{
    (void)o;
    fail_msg("%s: %s", key, msg);
    return 1;
}

/* A built-in parses its own settings, with the table's defaults and ranges: the table is their
 * reference (scenarios/README.md) and validates them first, so the two must say the same. */
/* ---- the process boundary ---- */

#define FAULTY "\"plugin\": \"" FAULTY_SO "\""
/* Keeps the request, so its isolate, active while the answers come (at 2 ms). */
#define AWAIT_50MS "{\"await\": {\"latency\": {\"fixed_ms\": 50}}}"
#define SPAN_FLUSH_BOTH                                                                            \
    "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"call\": \"tracer.flush\"},"                     \
    " {\"call\": \"exporter.flush\"}, {\"respond\": {}}"

static xrun xone(const char *exporter, const char *handler, int requests)
{
    char *json = docn(exporter, handler, requests);
    xrun x = xrun_text(json);
    free(json);
    return x;
}

/* The run went to its end without the exporter: an error saying what and where, and every
 * item accounted for (nothing unexplained). */
static void expect_failed(const xrun *x, const char *want1, const char *want2)
{
    assert_int_equal(x->rc, SIM_EEXPORTER);
    if (!strstr(x->err, want1) || (want2 && !strstr(x->err, want2)))
        fail_msg("got \"%s\", want \"%s\"%s%s", x->err, want1, want2 ? " and " : "",
                 want2 ? want2 : "");
    assert_non_null(strstr(x->err, FAULTY_SO));
    assert_true(x->r.verified);
    assert_int_equal(x->r.report.lost_by[CAUSE_UNEXPLAINED], 0);
}

/*
 * The plugin aborts in its first export (the tracer's flush of request 1 at 0 s): item 1 is
 * lost then as exporter-crashed, in layer exporter-host; request 2's span at 1 s, exported to
 * an exporter that is gone, likewise at 1 s. The run still ends (its isolate idles out at
 * 11 s) and is an error naming the crash, the call and the instant.
 */
static void test_a_crashing_exporter_host_is_reported(void **state)
{
    (void)state;
    xrun x = xone(FAULTY ", \"options\": {\"fail_in\": \"export\"}", SPAN_FLUSH_BOTH, 2);
    expect_failed(&x, "crashed (killed by signal 6", "during export_items (isolate 1, t = 0.0");
    expect_fate_in(x.ledger_db, 1, "lost/exporter-crashed@0/exporter-host");
    expect_fate_in(x.ledger_db, 2, "lost/exporter-crashed@1000000000/exporter-host");
    assert_int_equal(x.r.report.lost_by[CAUSE_EXPORTER_CRASHED], 2);
    xrun_free(&x);

    /* In the answer's callback: the POST of item 1 (sent at 0, answered at 2 ms: 1 ms each
     * way) was acknowledged, so item 1 is delivered whatever its exporter does next; item 2,
     * at 1 s, never reaches one. */
    x = xone(FAULTY ", \"options\": {\"fail_in\": \"sent\"}",
             "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"call\": \"tracer.flush\"},"
             " {\"call\": \"exporter.flush\"}, " AWAIT_50MS ", {\"respond\": {}}",
             2);
    expect_failed(&x, "crashed (killed by signal 6", "during a send's answer");
    expect_fate_in(x.ledger_db, 1, "delivered/-@-/-"); /* acknowledged: the host saw the 200 */
    expect_fate_in(x.ledger_db, 2, "lost/exporter-crashed@1000000000/exporter-host");
    xrun_free(&x);

    /* In a timer at 5 ms (the request keeps the isolate awake), and in destroy() at the idle
     * eviction (10 s after the one request):
     * what it held then is the crash's. */
    x = xone(FAULTY ", \"options\": {\"fail_in\": \"timer\", \"timer_ms\": 5}",
             "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"call\": \"tracer.flush\"},"
             " " AWAIT_50MS ", {\"respond\": {}}",
             1);
    expect_failed(&x, "crashed", "during a timer (isolate 1, t = 0.005");
    expect_fate_in(x.ledger_db, 1, "lost/exporter-crashed@5000000/exporter-host");
    xrun_free(&x);
    x = xone(FAULTY ", \"options\": {\"fail_in\": \"destroy\"}",
             "{\"span\": {\"name\": \"s\", \"do\": []}}, {\"call\": \"tracer.flush\"},"
             " {\"respond\": {}}",
             1);
    expect_failed(&x, "crashed", "during destroy (isolate 1, t = 10.0");
    expect_fate_in(x.ledger_db, 1, "lost/exporter-crashed@10000000000/exporter-host");
    xrun_free(&x);
}

/* A call that never returns, one that floods and one that writes what is not a frame: each
 * stopped by the budget or the framing, the child killed, the run ended and reported. */
static void test_hangs_floods_and_garbage_are_stopped(void **state)
{
    (void)state;
    xrun x = xone(FAULTY ", \"options\": {\"fail_in\": \"flush\", \"how\": \"spin\"},"
                         " \"call_budget\": {\"wall_ms\": 300}",
                  SPAN_FLUSH_BOTH, 2);
    expect_failed(&x, "did not return within 300 ms of wall time (its per-call budget): killed",
                  "during flush (isolate 1, t = 0.0");
    expect_fate_in(x.ledger_db, 1, "lost/exporter-crashed@0/exporter-host");
    xrun_free(&x);

    x = xone(FAULTY ", \"options\": {\"fail_in\": \"export\", \"how\": \"flood\"},"
                    " \"call_budget\": {\"messages\": 1000}",
             SPAN_FLUSH_BOTH, 1);
    expect_failed(&x, "sent more than 1000 messages in one call (its per-call budget): killed",
                  "during export_items");
    expect_fate_in(x.ledger_db, 1, "lost/exporter-crashed@0/exporter-host");
    xrun_free(&x);

    x = xone(FAULTY ", \"options\": {\"fail_in\": \"export\", \"how\": \"garbage\"}",
             SPAN_FLUSH_BOTH, 1);
    expect_failed(&x, "not a frame of the protocol", "during export_items");
    xrun_free(&x);
}

/* The round-trip services (random, encode, a raw fetch with a JSON body and one with a body
 * that is not UTF-8) give the same run out of process as in process: fates, event log and
 * every line the exporter logged. And two runs out of process are the same run. */
static void test_out_of_process_is_the_same_run(void **state)
{
    (void)state;
    const char *ex = FAULTY ", \"options\": {\"services\": true, \"timer_ms\": 3}";
    char exin[512];
    snprintf(exin, sizeof exin, "%s, \"in_process\": true", ex);
    const char *handler =
        "{\"span\": {\"name\": \"a\", \"do\": []}},"
        " {\"span\": {\"name\": \"b\", \"do\": []}},"
        " {\"span\": {\"name\": \"c\", \"do\": []}}, {\"call\": \"tracer.flush\"},"
        " {\"call\": \"exporter.flush\"}, " AWAIT_50MS ", {\"respond\": {}}";
    run out = one(ex, handler), in = one(exin, handler), again = one(ex, handler);
    assert_string_equal(out.s.events, in.s.events);
    assert_string_equal(out.s.events, again.s.events);
    char *lo = exporter_log(&out), *li = exporter_log(&in);
    assert_string_equal(lo, li);
    /* Not vacuous: the services were used and the two fetches met their fates. */
    assert_non_null(strstr(lo, "random "));
    assert_non_null(strstr(lo, "timer"));
    char *fo = t_sql_str(out.ledger_db, "SELECT group_concat(item || fate || COALESCE(cause, ''),"
                                        " ' ') FROM (SELECT * FROM fates ORDER BY item)");
    char *fi = t_sql_str(in.ledger_db, "SELECT group_concat(item || fate || COALESCE(cause, ''),"
                                       " ' ') FROM (SELECT * FROM fates ORDER BY item)");
    assert_string_equal(fo, fi);
    expect_fate_of(&out, 1, "delivered/-@-/-");
    expect_fate_of(&out, 3, "lost/rejected-by-ingest@2000000/faulty");
    free(fo);
    free(fi);
    free(lo);
    free(li);
    run_free(&out);
    run_free(&in);
    run_free(&again);
}

/* An exporter host of another protocol version is refused before anything runs (exit 2);
 * one that crashes makes `check` exit 3 with the command that reproduces it. */
static void test_the_boundary_from_the_command_line(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *host = t_path(dir, "old-host");
    FILE *f = fopen(host, "w");
    assert_non_null(f);
    /* A 27-byte hello of protocol 99, then it waits for its end of the socket to close. */
    fputs("#!/bin/sh\nprintf '\\000\\000\\000\\033{\"m\":\"hello\",\"protocol\":99}' >&3\n"
          "exec cat <&3 >/dev/null\n",
          f);
    fclose(f);
    assert_int_equal(chmod(host, 0700), 0);
    char *file = t_path(dir, "t.json");
    char *json = doc(FAULTY, SPAN_FLUSH_BOTH);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    free(json);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "EDGELOSS_EXPORTER_HOST='%s' '%s' run '%s' --quiet --out '%s/o' > '%s/out' 2>&1", host,
             edgeloss_bin, file, dir, dir);
    assert_int_equal(exit_code(cmd), 2);
    char *outp = t_path(dir, "out");
    char *out = t_read_file(outp, NULL);
    assert_non_null(out);
    if (!strstr(out, "speaks exporter protocol 99, this edgeloss speaks protocol 1"))
        fail_msg("%s", out);
    free(out);

    json = doc(FAULTY ", \"options\": {\"fail_in\": \"flush\"}", SPAN_FLUSH_BOTH);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    free(json);
    snprintf(cmd, sizeof cmd, "'%s' check '%s' --out '%s/c' > '%s/out' 2>&1", edgeloss_bin, file,
             dir, dir);
    assert_int_equal(exit_code(cmd), 3);
    out = t_read_file(outp, NULL);
    assert_non_null(out);
    if (!strstr(out, "the exporter host failed: the exporter host of plugin") ||
        !strstr(out, "reproduce: "))
        fail_msg("%s", out);
    free(out);
    free(outp);
    free(file);
    free(host);
    t_rmtree(dir);
    free(dir);
}

static void test_builtin_settings_agree_with_the_key_table(void **state)
{
    (void)state;
    static const el_options_api api = {.size = sizeof api,
                                       .number = r_number,
                                       .integer = r_integer,
                                       .boolean = r_boolean,
                                       .string = r_string,
                                       .duration = r_duration,
                                       .fail = r_fail};
    static const char *const names[] = {"threshold",     "immediate", "propagate", "exposed",
                                        "private_reach", "interval",  "otel-batch"};
    int total = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const el_exporter *d = exp_builtin_find(names[i]);
        assert_non_null(d);
        assert_null(exp_descriptor_problem(d, (char[200]){0}, 200));
        if (!d->configure)
            continue;
        recorder r = {{&api}, names[i], 0};
        void *config = calloc(1, d->config_size);
        assert_non_null(config);
        assert_int_equal(d->configure(config, &r.pub), 0);
        free(config);
        total += r.reads;
    }
    /* 8 keys for each of the five buffered strategies, interval_s, 3 of otel-batch. */
    assert_int_equal(total, 5 * 8 + 1 + 3);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_plugin EDGELOSS\n");
        return 2;
    }
    edgeloss_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_plugin_that_reports_nothing_still_gets_fates),
        cmocka_unit_test(test_the_hook_names_the_layer),
        cmocka_unit_test(test_done_never_resumes_the_caller_inside_it),
        cmocka_unit_test(test_a_second_done_is_ignored),
        cmocka_unit_test(test_a_plugins_send_is_judged_like_a_builtins),
        cmocka_unit_test(test_a_plugin_run_is_deterministic),
        cmocka_unit_test(test_a_plugins_mistakes_are_refused),
        cmocka_unit_test(test_variants_switch_exporters),
        cmocka_unit_test(test_what_a_host_refuses),
        cmocka_unit_test(test_the_command_line_exits_2),
        cmocka_unit_test(test_the_example_plugin_equals_its_builtin_twin),
        cmocka_unit_test(test_the_twin_backs_off_as_the_builtin_does),
        cmocka_unit_test(test_builtin_settings_agree_with_the_key_table),
        cmocka_unit_test(test_a_crashing_exporter_host_is_reported),
        cmocka_unit_test(test_hangs_floods_and_garbage_are_stopped),
        cmocka_unit_test(test_out_of_process_is_the_same_run),
        cmocka_unit_test(test_the_boundary_from_the_command_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
