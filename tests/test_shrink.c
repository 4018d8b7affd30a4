/*
 * `edgeloss shrink`: a scenario known to fail (a buffering exporter whose idle isolates die
 * with the buffer) shrunk with real runs, then every single reduction of the result run to
 * show it is 1-minimal; the same bytes twice; the run bound; nothing to shrink; an unknown
 * check; data files renamed for where the result is written; the reduction list itself on
 * hand-made documents; the command line.
 */
#include "shrink.h"
#include "scenario.h"
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *edgeloss_bin;

/*
 * About 60 requests over two colos and two routes; the threshold exporter POSTs at 100
 * items, so nearly everything sits in buffers when idle isolates are evicted: no_loss fails.
 * A fault rule, a second route, nested steps, a repeat and long durations are there for the
 * shrinker to remove. The variant "fixed" (fix A) loses nothing.
 */
static const char failing[] =
    "{\"name\": \"test: a buffering exporter loses what its idle isolates held\","
    " \"description\": \"for test_shrink\", \"sources\": [\"made up\"],"
    " \"seed\": 3, \"seeds\": [3, 4],"
    " \"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 0.2, \"duration_s\": 300,"
    "  \"drain_s\": 120},"
    " \"runtime\": {\"idle_timeout\": {\"uniform_s\": [10, 30]}, \"max_concurrency\": 8,"
    "  \"colos\": [{\"name\": \"LHR\", \"weight\": 2}, {\"name\": \"CDG\"}]},"
    " \"network\": {\"latency\": {\"lognormal_ms\": {\"p50\": 5, \"p99\": 40}}},"
    " \"exporter\": {\"strategy\": \"threshold\", \"batch_items\": 100},"
    " \"faults\": {\"rules\": [{\"kind\": \"latency\", \"latency_ms\": 3}]},"
    " \"app\": {\"routes\": ["
    "  {\"name\": \"GET /a\", \"weight\": 3, \"handler\": ["
    "   {\"span\": {\"name\": \"request\", \"do\": ["
    "    {\"cpu\": {\"fixed_us\": 200}},"
    "    {\"await\": {\"name\": \"kv.get\", \"latency\": {\"lognormal_ms\": {\"p50\": 8, \"p99\": "
    "60}}}},"
    "    {\"metric\": {\"name\": \"hits\"}},"
    "    {\"repeat\": {\"times\": 3, \"do\": [{\"log\": {\"body\": \"step\"}}]}}]}},"
    "   {\"wait_until\": [{\"call\": \"tracer.flush\"}, {\"call\": \"metrics.flush\"},"
    "    {\"call\": \"logger.flush\"}]},"
    "   {\"respond\": {\"status\": 200}}]},"
    "  {\"name\": \"GET /b\", \"handler\": ["
    "   {\"span\": {\"name\": \"b\", \"do\": [{\"cpu\": {\"fixed_us\": 100}}]}},"
    "   {\"wait_until\": [{\"call\": \"tracer.flush\"}]},"
    "   {\"respond\": {\"status\": 200}}]}]},"
    " \"expect\": ["
    "  {\"metric\": \"requests\", \"min\": 1},"
    "  {\"check\": \"no_loss\", \"why\": \"nothing may be lost\"},"
    "  {\"metric\": \"loss_ratio\", \"max\": 1}],"
    " \"variants\": [{\"name\": \"fixed\", \"exporter\": {\"strategy\": \"immediate\"}}]}";

#define FILE_NAME "shrink-test.json"
#define SEED      3

static cJSON *variant_doc(const char *text, const char *file, const char *variant)
{
    char err[2048];
    cJSON *d = scn_variant_doc(text, file, variant, err, sizeof err);
    if (!d)
        fail_msg("%s", err);
    return d;
}

static shr_options opts(const char *dir, const char *file)
{
    shr_options o = {.seed = SEED, .file = file, .run_dir = dir};
    return o;
}

/* The first shrink, shared by the tests that look at it (it takes a few hundred runs). */
typedef struct shared {
    char *dir;
    shr_result r;
    char *text; /* shr_print of the result */
} shared;

static int group_setup(void **state)
{
    shared *s = calloc(1, sizeof *s);
    s->dir = t_mkdtemp();
    cJSON *doc = variant_doc(failing, FILE_NAME, NULL);
    shr_options o = opts(s->dir, FILE_NAME);
    char err[2048];
    sim_err rc = shr_search(doc, &o, &s->r, err, sizeof err);
    cJSON_Delete(doc);
    if (rc) {
        fprintf(stderr, "shr_search: %s\n", err);
        return -1;
    }
    s->text = shr_print(s->r.doc);
    *state = s;
    return 0;
}

static int group_teardown(void **state)
{
    shared *s = *state;
    shr_result_free(&s->r);
    free(s->text);
    t_rmtree(s->dir);
    free(s->dir);
    free(s);
    return 0;
}

/* The result still fails no_loss, is smaller in every way the file had room for, and every
 * single reduction of it passes or does not load. */
static void test_shrunk_is_1_minimal(void **state)
{
    shared *s = *state;
    const shr_result *r = &s->r;
    assert_string_equal(r->check, "no_loss");
    assert_true(r->minimal);
    assert_false(r->hit_runs || r->hit_time || r->interrupted);
    assert_false(r->failed.pass);
    assert_true(r->runs > 1 && r->runs <= SHR_DEFAULT_MAX_RUNS);
    assert_true(r->accepted >= r->ntaken && r->ntaken > 0);

    /* smaller */
    assert_true(r->after.requests < r->before.requests);
    assert_true(r->after.items < r->before.items);
    assert_true(r->after.steps < r->before.steps);
    assert_true(r->after.duration_s < r->before.duration_s);
    assert_true(r->after.drain_s < r->before.drain_s);
    assert_int_equal(r->after.fault_rules, 0);
    assert_int_equal(r->after.routes, 0);
    assert_int_equal(r->after.expects, 1);
    assert_true(r->after.bytes < r->before.bytes);
    assert_int_equal(r->before.fault_rules, 1);
    assert_int_equal(r->before.routes, 2);

    /* a scenario file of one variant with its seed */
    const cJSON *d = r->doc;
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "variants"));
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "seeds"));
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "sources"));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(d, "seed")->valuedouble, SEED);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "variant")->valuestring, "baseline");
    const char *name = cJSON_GetObjectItemCaseSensitive(d, "name")->valuestring;
    assert_non_null(strstr(name, "shrunk from " FILE_NAME ", variant baseline, seed 3"));
    const char *desc = cJSON_GetObjectItemCaseSensitive(d, "description")->valuestring;
    assert_non_null(strstr(desc, "still fails no_loss"));
    assert_non_null(strstr(desc, "1-minimal"));
    assert_non_null(strstr(desc, "faults: removed"));
    /* the pin to the first run's arrivals and the halvings after it read as one change */
    bool merged = false;
    for (size_t i = 0; i < r->ntaken; i++)
        merged |= strcmp(r->taken[i], "workload.requests: 0 (default) -> 1") == 0;
    assert_true(merged);

    /* it fails, run on its own */
    shr_options o = opts(s->dir, FILE_NAME);
    o.causes = r->causes; /* as the search judged its candidates */
    assert_true(r->causes != 0);
    char err[2048], what[512];
    shr_outcome oc;
    assert_int_equal(shr_try(d, &o, &r->failed, &oc, err, sizeof err), SIM_OK);
    assert_int_equal(oc, SHR_FAILS);

    /* every single reduction of it does not */
    size_t n = shr_reductions(d);
    assert_true(n > 0);
    size_t noload = 0;
    for (size_t k = 0; k < n; k++) {
        cJSON *c = shr_reduce(d, k, what, sizeof what);
        assert_non_null(c);
        assert_true(what[0] != '\0');
        assert_int_equal(shr_try(c, &o, &r->failed, &oc, err, sizeof err), SIM_OK);
        if (oc == SHR_FAILS)
            fail_msg("reduction %zu of the result still fails: %s\n%s", k, what, s->text);
        noload += oc == SHR_NOLOAD;
        cJSON_Delete(c);
    }
    assert_null(shr_reduce(d, n, what, sizeof what));
    assert_true(noload < n); /* some of them ran and passed */
}

/* Shrinking again gives the same bytes. */
static void test_deterministic(void **state)
{
    shared *s = *state;
    char *dir = t_mkdtemp(); /* another scratch directory: nothing carries over */
    cJSON *doc = variant_doc(failing, FILE_NAME, NULL);
    shr_options o = opts(dir, FILE_NAME);
    shr_result r;
    char err[2048];
    assert_int_equal(shr_search(doc, &o, &r, err, sizeof err), SIM_OK);
    char *text = shr_print(r.doc);
    assert_string_equal(text, s->text);
    assert_int_equal(r.runs, s->r.runs);
    assert_int_equal(r.tried, s->r.tried);
    free(text);
    shr_result_free(&r);
    cJSON_Delete(doc);
    /* the run directory is left empty */
    char *db = t_path(dir, "ledger.db");
    assert_int_not_equal(access(db, F_OK), 0);
    free(db);
    t_rmtree(dir);
    free(dir);
}

/* At most 3 runs: smaller perhaps, still failing, and said to be not proven 1-minimal. */
static void test_max_runs(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    cJSON *doc = variant_doc(failing, FILE_NAME, NULL);
    shr_options o = opts(dir, FILE_NAME);
    o.max_runs = 3;
    shr_result r;
    char err[2048];
    assert_int_equal(shr_search(doc, &o, &r, err, sizeof err), SIM_OK);
    assert_true(r.runs <= 3);
    assert_true(r.hit_runs);
    assert_false(r.minimal);
    assert_non_null(r.doc);
    const char *desc = cJSON_GetObjectItemCaseSensitive(r.doc, "description")->valuestring;
    assert_non_null(strstr(desc, "NOT proven 1-minimal"));
    shr_outcome oc;
    assert_int_equal(shr_try(r.doc, &o, &r.failed, &oc, err, sizeof err), SIM_OK);
    assert_int_equal(oc, SHR_FAILS);
    shr_result_free(&r);
    cJSON_Delete(doc);
    t_rmtree(dir);
    free(dir);
}

/* A run that passes every check, or the named one, has nothing to shrink. */
static void test_nothing_to_shrink(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    shr_options o = opts(dir, FILE_NAME);
    shr_result r;
    char err[2048];

    cJSON *doc = variant_doc(failing, FILE_NAME, "fixed");
    assert_int_equal(shr_search(doc, &o, &r, err, sizeof err), SIM_EUSAGE);
    assert_true(r.nothing);
    assert_null(r.doc);
    assert_int_equal(r.runs, 1);
    assert_non_null(strstr(err, "passes every check at seed 3: nothing to shrink"));
    shr_result_free(&r);
    cJSON_Delete(doc);

    doc = variant_doc(failing, FILE_NAME, NULL);
    o.check = "loss_ratio"; /* it holds: max 1 */
    assert_int_equal(shr_search(doc, &o, &r, err, sizeof err), SIM_EUSAGE);
    assert_true(r.nothing);
    assert_non_null(strstr(err, "passes check loss_ratio at seed 3: nothing to shrink"));
    shr_result_free(&r);
    cJSON_Delete(doc);
    t_rmtree(dir);
    free(dir);
}

/* --check names no check of the scenario: an error before any run. */
static void test_unknown_check(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    shr_options o = opts(dir, FILE_NAME);
    o.check = "no_mixing";
    cJSON *doc = variant_doc(failing, FILE_NAME, NULL);
    shr_result r;
    char err[2048];
    assert_int_equal(shr_search(doc, &o, &r, err, sizeof err), SIM_EUSAGE);
    assert_true(r.no_such_check);
    assert_int_equal(r.runs, 0);
    assert_non_null(strstr(err, "no check named \"no_mixing\""));
    assert_non_null(strstr(err, "requests, no_loss, loss_ratio"));
    shr_result_free(&r);
    cJSON_Delete(doc);
    t_rmtree(dir);
    free(dir);
}

/* A stop request before the first run ends: interrupted, nothing to write. */
static void test_interrupted(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    shr_options o = opts(dir, FILE_NAME);
    static volatile sig_atomic_t stop = 1;
    o.stop = &stop;
    cJSON *doc = variant_doc(failing, FILE_NAME, NULL);
    shr_result r;
    char err[2048];
    assert_int_equal(shr_search(doc, &o, &r, err, sizeof err), SIM_EINTR);
    assert_true(r.interrupted);
    assert_null(r.doc);
    shr_result_free(&r);
    cJSON_Delete(doc);
    t_rmtree(dir);
    free(dir);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* An exporter plugin named relative to the scenario is named from where the result is written. */
static void test_plugin_path(void **state)
{
    (void)state;
    char *root = t_mkdtemp();
    char lib[4096], so[4096], out_dir[4096], out[4096], file[4096], err[4096];
    snprintf(lib, sizeof lib, "%s/src", root);
    assert_int_equal(mkdir(lib, 0777), 0);
    snprintf(lib, sizeof lib, "%s/src/lib", root);
    assert_int_equal(mkdir(lib, 0777), 0);
    snprintf(out_dir, sizeof out_dir, "%s/out", root);
    assert_int_equal(mkdir(out_dir, 0777), 0);
    snprintf(so, sizeof so, "%s/libx.so", lib);
    write_text(so, "");
    snprintf(file, sizeof file, "%s/src/s.json", root);
    snprintf(out, sizeof out, "%s/x.json", out_dir);
    cJSON *doc = cJSON_Parse("{\"exporter\": {\"plugin\": \"lib/libx.so\"}}");
    assert_non_null(doc);
    assert_int_equal(shr_write(doc, out, file, err, sizeof err), SIM_OK);
    char *written = t_read_file(out, NULL);
    assert_non_null(written);
    assert_non_null(strstr(written, "\"plugin\": \"../src/lib/libx.so\""));
    free(written);
    cJSON_Delete(doc);
    t_rmtree(root);
    free(root);
}

/* A replayed workload and an empirical distribution read from files next to the scenario:
 * the result, written in another folder, names them from there and loads. */
static void test_data_files(void **state)
{
    (void)state;
    char *root = t_mkdtemp();
    char src[4096], data[4096], csv[4096], lat[4096], out_dir[4096], out[4096], file[4096];
    snprintf(src, sizeof src, "%s/src", root);
    snprintf(data, sizeof data, "%s/src/data", root);
    snprintf(out_dir, sizeof out_dir, "%s/out", root);
    assert_int_equal(mkdir(src, 0777), 0);
    assert_int_equal(mkdir(data, 0777), 0);
    assert_int_equal(mkdir(out_dir, 0777), 0);
    snprintf(csv, sizeof csv, "%s/arrivals.csv", data);
    snprintf(lat, sizeof lat, "%s/latency.csv", data);
    snprintf(file, sizeof file, "%s/replayed.json", src);
    snprintf(out, sizeof out, "%s/x.json", out_dir);
    write_text(csv, "time\n0\n1\n2\n3\n4\n5\n6\n7\n");
    write_text(lat, "ms\n3\n5\n9\n");
    char text[4096];
    snprintf(text, sizeof text,
             "{\"workload\": {\"arrivals\": \"replay\", \"replay\": {\"file\": "
             "\"data/arrivals.csv\"}, \"drain_s\": 120},"
             " \"runtime\": {\"idle_timeout\": {\"fixed_s\": 20}},"
             " \"network\": {\"latency\": {\"empirical_ms\": {\"file\": \"data/latency.csv\"}}},"
             " \"exporter\": {\"strategy\": \"threshold\"},"
             " \"app\": {\"handler\": [{\"span\": {\"name\": \"s\"}}, {\"log\": {\"body\": "
             "\"x\"}},"
             " {\"respond\": {\"status\": 200}}]},"
             " \"expect\": [{\"check\": \"no_loss\"}]}");
    write_text(file, text);
    char *dir = t_mkdtemp();
    cJSON *doc = variant_doc(text, file, NULL);
    shr_options o = {.seed = 1, .file = file, .run_dir = dir};
    shr_result r;
    char err[4096];
    assert_int_equal(shr_search(doc, &o, &r, err, sizeof err), SIM_OK);
    assert_true(r.minimal);
    assert_int_equal(shr_write(r.doc, out, file, err, sizeof err), SIM_OK);
    /* renamed from where it is written */
    size_t len;
    char *written = t_read_file(out, &len);
    assert_non_null(written);
    assert_non_null(strstr(written, "\"file\": \"../src/data/arrivals.csv\""));
    /* the network's latency was made fixed (or the file is named from there too) */
    assert_true(strstr(written, "\"file\": \"../src/data/latency.csv\"") ||
                strstr(written, "\"fixed_ms\""));
    assert_int_equal(written[len - 1], '\n');
    /* it loads from there, and fails there */
    scenario *s;
    assert_int_equal(scn_load(out, &s, err, sizeof err), SIM_OK);
    assert_int_equal(s->seed, 1);
    scn_free(s);
    cJSON *back = cJSON_Parse(written);
    assert_non_null(back);
    shr_options o2 = {.seed = 1, .file = out, .run_dir = dir};
    shr_outcome oc;
    assert_int_equal(shr_try(back, &o2, &r.failed, &oc, err, sizeof err), SIM_OK);
    assert_int_equal(oc, SHR_FAILS);
    /* in memory the names stay relative to the original */
    char *mem = shr_print(r.doc);
    assert_non_null(strstr(mem, "\"file\": \"data/arrivals.csv\""));
    free(mem);
    cJSON_Delete(back);
    free(written);
    shr_result_free(&r);
    cJSON_Delete(doc);
    t_rmtree(dir);
    free(dir);
    remove(csv);
    remove(lat);
    remove(file);
    remove(out);
    rmdir(data);
    rmdir(src);
    rmdir(out_dir);
    rmdir(root);
    free(root);
}

/* The descriptions of every reduction of a hand-made document, in order. */
static char *all_reductions(const char *json)
{
    cJSON *d = cJSON_Parse(json);
    assert_non_null(d);
    size_t n = shr_reductions(d);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (size_t k = 0; k < n; k++) {
        char what[512];
        cJSON *c = shr_reduce(d, k, what, sizeof what);
        assert_non_null(c);
        /* every reduction changes the document */
        char *a = cJSON_PrintUnformatted(d), *b = cJSON_PrintUnformatted(c);
        assert_string_not_equal(a, b);
        cJSON_free(a);
        cJSON_free(b);
        fprintf(f, "%s\n", what);
        cJSON_Delete(c);
    }
    fclose(f);
    cJSON_Delete(d);
    return buf;
}

static void test_reduction_list(void **state)
{
    (void)state;
    char *got = all_reductions(
        "{\"workload\": {\"requests\": 8, \"duration_s\": 10, \"drain_s\": 0.5},"
        " \"runtime\": {\"max_concurrency\": 2, \"idle_timeout\": {\"uniform_s\": [10, 30]}},"
        " \"queue\": {},"
        " \"app\": {\"routes\": [{\"name\": \"r\", \"handler\": ["
        "  {\"span\": {\"name\": \"s\", \"do\": [{\"repeat\": {\"times\": 5, \"do\": "
        "[{\"cpu\": {\"exponential_ms\": 2}}]}}]}},"
        "  {\"respond\": {\"status\": 200}}]}]},"
        " \"expect\": [{\"check\": \"no_loss\"}]}");
    /* Checked line by line below: the list's order is part of the contract (determinism). */
    const char *lines[] = {
        "queue: removed",
        "app.routes: its one route (name \"r\") -> app.handler",
        "workload.requests: 8 -> 1",
        "workload.requests: 8 -> 4",
        "workload.requests: 8 -> 6", /* between half and minus one: bisection */
        "workload.requests: 8 -> 7",
        "workload.duration_s: 10 -> 0.001",
        "workload.duration_s: 10 -> 5",
        "workload.duration_s: 10 -> 8",
        "workload.duration_s: 10 -> 9",
        "workload.drain_s: 0.5 -> 0",
        "workload.drain_s: 0.5 -> 0.2",
        "workload.rate_per_s: 1 (default) -> 0.001",
        "workload.rate_per_s: 1 (default) -> 0.5",
        "workload.arrivals: poisson (default) -> constant",
        "runtime.max_concurrency: 2 -> 1",
        "app.routes[0].handler[0] (span \"s\"): removed",
        "app.routes[0].handler[0] (span \"s\"): unwrapped into its 1 step",
        "app.routes[0].handler[0].span.do[0] (repeat 5): removed",
        "app.routes[0].handler[0].span.do[0] (repeat 5): unwrapped into its 1 step",
        "app.routes[0].handler[0].span.do[0].repeat.times: 5 -> 1",
        "app.routes[0].handler[0].span.do[0].repeat.times: 5 -> 2",
        "app.routes[0].handler[0].span.do[0].repeat.times: 5 -> 4",
        "app.routes[0].handler[0].span.do[0].repeat.do[0] (cpu): removed",
        "app.routes[0].handler[1] (respond 200): removed",
        "runtime.idle_timeout: uniform_s -> fixed_s 20",
        "app.routes[0].handler[0].span.do[0].repeat.do[0].cpu: exponential_ms -> fixed_ms 2",
        NULL};
    const char *p = got;
    for (int i = 0; lines[i]; i++) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            fail_msg("missing line %d: %s\ngot:\n%s", i, lines[i], got);
        if (strncmp(p, lines[i], (size_t)(nl - p)) != 0 || strlen(lines[i]) != (size_t)(nl - p))
            fail_msg("line %d: expected %s\ngot:\n%s", i, lines[i], got);
        p = nl + 1;
    }
    if (*p)
        fail_msg("extra lines:\n%s", p);
    free(got);

    /* Unwrapping puts the steps in the wrapper's place, also when it is the last one. */
    cJSON *u = cJSON_Parse("{\"workload\": {\"requests\": 1, \"duration_s\": 0.001, \"drain_s\": 0,"
                           " \"rate_per_s\": 0.001, \"arrivals\": \"constant\"},"
                           " \"runtime\": {\"max_concurrency\": 1, \"max_isolates\": 1},"
                           " \"app\": {\"handler\": [{\"log\": {\"body\": \"a\"}}, {\"span\": "
                           "{\"name\": \"s\", \"do\": [{\"metric\": {\"name\": \"m\"}}, {\"log\": "
                           "{\"body\": \"b\"}}]}}]}}");
    size_t nu = shr_reductions(u), unwrapped = 0;
    for (size_t k = 0; k < nu; k++) {
        char w[256];
        cJSON *c = shr_reduce(u, k, w, sizeof w);
        if (strcmp(w, "app.handler[1] (span \"s\"): unwrapped into its 2 steps") == 0) {
            char *t = cJSON_PrintUnformatted(
                cJSON_GetObjectItem(cJSON_GetObjectItem(c, "app"), "handler"));
            assert_string_equal(t, "[{\"log\":{\"body\":\"a\"}},{\"metric\":{\"name\":\"m\"}},"
                                   "{\"log\":{\"body\":\"b\"}}]");
            cJSON_free(t);
            unwrapped++;
        }
        cJSON_Delete(c);
    }
    assert_int_equal(unwrapped, 1);
    cJSON_Delete(u);

    /* Integers stay integers and nothing goes below its floor: requests 1, times 1 and a
     * max_concurrency of 1 have nothing left; a whole number halves to a whole number. */
    cJSON *d = cJSON_Parse("{\"workload\": {\"requests\": 1, \"duration_s\": 0.001, \"drain_s\": "
                           "0, \"rate_per_s\": 0.001, \"arrivals\": \"constant\"},"
                           " \"runtime\": {\"max_concurrency\": 1, \"max_isolates\": 1},"
                           " \"app\": {\"handler\": []}}");
    assert_int_equal(shr_reductions(d), 0);
    cJSON_Delete(d);
    d = cJSON_Parse("{\"workload\": {\"requests\": 7, \"arrivals\": \"constant\","
                    " \"duration_s\": 0.001, \"drain_s\": 0, \"rate_per_s\": 0.001},"
                    " \"runtime\": {\"max_concurrency\": 1}, \"app\": {\"handler\": []}}");
    char what[256];
    cJSON *c = shr_reduce(d, 1, what, sizeof what);
    assert_string_equal(what, "workload.requests: 7 -> 3");
    char *t = cJSON_PrintUnformatted(c);
    assert_non_null(strstr(t, "\"requests\":3,"));
    cJSON_free(t);
    cJSON_Delete(c);
    cJSON_Delete(d);
}

/* The printed form: two-space indentation, short arrays of numbers on one line. */
static void test_print(void **state)
{
    (void)state;
    cJSON *d = cJSON_Parse("{\"a\": {\"b\": [1, 2], \"c\": []}, \"d\": [{\"e\": \"x\\\"y\"}],"
                           " \"f\": {}}");
    char *t = shr_print(d);
    assert_string_equal(t, "{\n"
                           "  \"a\": {\n"
                           "    \"b\": [1, 2],\n"
                           "    \"c\": []\n"
                           "  },\n"
                           "  \"d\": [\n"
                           "    {\n"
                           "      \"e\": \"x\\\"y\"\n"
                           "    }\n"
                           "  ],\n"
                           "  \"f\": {}\n"
                           "}\n");
    free(t);
    cJSON_Delete(d);
}

static int run_cmd(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The command as users run it: writes the file, prints how to reproduce it, and the file
 * fails its check when run; usage errors exit 2. */
static void test_cli(void **state)
{
    (void)state;
    if (!edgeloss_bin)
        skip();
    char *dir = t_mkdtemp();
    char file[4096], out[4096], so[4096], cmd[16384];
    snprintf(file, sizeof file, "%s/failing.json", dir);
    snprintf(out, sizeof out, "%s/small.json", dir);
    snprintf(so, sizeof so, "%s/stdout.txt", dir);
    write_text(file, failing);
    snprintf(cmd, sizeof cmd, "'%s' shrink '%s' --seed 3 --out '%s' --quiet > '%s' 2>&1",
             edgeloss_bin, file, out, so);
    assert_int_equal(run_cmd(cmd), 0);
    size_t len;
    char *text = t_read_file(so, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "still fails no_loss"));
    assert_non_null(strstr(text, "1-minimal: none of the"));
    assert_non_null(strstr(text, "wrote "));
    assert_non_null(strstr(text, " run "));
    assert_non_null(strstr(text, "--seed 3\n"));
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' run '%s' --seed 3 --quiet --out '%s/runs' > /dev/null 2>&1",
             edgeloss_bin, out, dir);
    assert_int_equal(run_cmd(cmd), 1); /* its check fails */

    snprintf(cmd, sizeof cmd, "'%s' shrink '%s' > /dev/null 2>&1", edgeloss_bin, file);
    assert_int_equal(run_cmd(cmd), 2); /* no --seed */
    snprintf(cmd, sizeof cmd, "'%s' shrink '%s' --seed 3 --check nope > /dev/null 2>&1",
             edgeloss_bin, file);
    assert_int_equal(run_cmd(cmd), 2);
    snprintf(cmd, sizeof cmd, "'%s' shrink '%s' --seed 3 --variant fixed --out '%s' 2> '%s'",
             edgeloss_bin, file, out, so);
    assert_int_equal(run_cmd(cmd), 2);
    text = t_read_file(so, &len);
    assert_non_null(strstr(text, "nothing to shrink"));
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' shrink '%s' --seed 3 --variant nope 2> '%s'", edgeloss_bin,
             file, so);
    assert_int_equal(run_cmd(cmd), 2);
    text = t_read_file(so, &len);
    assert_non_null(strstr(text, "has no variant \"nope\" (it has: \"baseline\" \"fixed\")"));
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' help shrink > '%s'", edgeloss_bin, so);
    assert_int_equal(run_cmd(cmd), 0);
    text = t_read_file(so, &len);
    assert_non_null(strstr(text, "--max-runs"));
    free(text);
    t_rmtree(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    edgeloss_bin = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(test_shrunk_is_1_minimal),
        cmocka_unit_test(test_deterministic),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduction_list),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_max_runs),
        cmocka_unit_test(test_nothing_to_shrink),
        cmocka_unit_test(test_unknown_check),
        cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_data_files),
        cmocka_unit_test(test_plugin_path),
        cmocka_unit_test(test_cli),
    };
    int bad = cmocka_run_group_tests_name("shrink", tests, NULL, NULL);
    return bad + cmocka_run_group_tests_name("shrink: one search", shared_tests, group_setup,
                                             group_teardown);
}
