/*
 * The `edgeloss` command as users run it: `run` and `check`, their exit codes (each of
 * 0, 1, 2, 3 and 130 provoked), stdout byte-for-byte identical across runs and across
 * --jobs, the run directories, JUnit valid against docs/junit.xsd, the unverified verdict,
 * a crashing child, the seeds list, an interrupt, and the GNU-style command line.
 * Usage: test_cli PATH-TO-EDGELOSS PATH-TO-MOCK-INGEST PATH-TO-JUNIT-XSD
 */
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *bin, *ingest_bin, *xsd;
static char *dir;

typedef struct out {
    int code;
    char *out, *err;
} out;

/* Runs edgeloss with args (NULL-terminated) and, when set, one VAR=VALUE in its environment;
 * interrupt_after_ms > 0 sends SIGINT that long after the start. */
static out run_full(const char *const *args, const char *env, int interrupt_after_ms)
{
    char *po = t_path(dir, "stdout"), *pe = t_path(dir, "stderr");
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        if (chdir(dir) != 0)
            _exit(126);
        if (env)
            putenv((char *)env);
        const char *argv[40] = {bin};
        for (int i = 0; args[i] && i < 38; i++)
            argv[i + 1] = args[i];
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    if (interrupt_after_ms > 0) {
        struct timespec ts = {interrupt_after_ms / 1000, (interrupt_after_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGINT);
    }
    int st;
    waitpid(pid, &st, 0);
    out o = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, t_read_file(po, NULL), t_read_file(pe, NULL)};
    free(po);
    free(pe);
    return o;
}

static out run(const char *const *args)
{
    return run_full(args, NULL, 0);
}

static void out_free(out *o)
{
    free(o->out);
    free(o->err);
}

/* DIR/NAME with `text` in it; the path is the caller's to free. */
static char *write_in(const char *d, const char *name, const char *text)
{
    char *p = t_path(d, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

#define expect_in(hay, needle)                                                                     \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("expected \"%s\" in:\n%s", (needle), (hay));                                  \
    } while (0)

static const char *good =
    "{\"seed\": 5, \"workload\": {\"rate_per_s\": 20, \"duration_s\": 120},"
    " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"exponential_ms\": 30}}},"
    " {\"respond\": {}}]}}";

/* An exporter, a check that holds and, in variant "broken", one that cannot. */
static const char *tele =
    "{\"name\": \"a tiny exported run\", \"seeds\": [3, 4],"
    " \"workload\": {\"rate_per_s\": 5, \"duration_s\": 20},"
    " \"app\": {\"handler\": [{\"span\": {\"name\": \"h\", \"do\": [{\"cpu\": {\"fixed_us\": "
    "100}}]}},"
    " {\"wait_until\": [{\"call\": \"tracer.flush\"}]}, {\"respond\": {}}]},"
    " \"exporter\": {\"strategy\": \"immediate\"},"
    " \"expect\": [{\"metric\": \"loss_ratio\", \"max\": 0, \"why\": \"immediate loses nothing\"}],"
    " \"variants\": [{\"name\": \"broken\", \"expect\": [{\"metric\": \"items\", \"max\": 0,"
    " \"why\": \"a check made to fail\"}]}]}";

static void test_run_is_deterministic(void **state)
{
    (void)state;
    char *p = write_in(dir, "good.json", good);
    const char *args[] = {"run", p, NULL};
    out a = run(args), b = run(args);
    assert_int_equal(a.code, 0);
    assert_int_equal(strncmp(a.out, "seed 5\n", 7), 0);
    assert_string_equal(a.out, b.out);
    expect_in(a.err, "wall time"); /* wall time only on stderr */
    assert_null(strstr(a.out, "wall"));
    const char *seeded[] = {"run", p, "--seed", "6", NULL};
    out c = run(seeded);
    assert_int_equal(c.code, 0);
    assert_int_equal(strncmp(c.out, "seed 6\n", 7), 0);
    assert_string_not_equal(strstr(a.out, "log hash"), strstr(c.out, "log hash"));
    const char *eq[] = {"run", p, "--seed=6", NULL};
    out d = run(eq);
    assert_int_equal(d.code, 0);
    assert_string_equal(c.out, d.out); /* --opt=value is --opt value */
    const char *quiet[] = {"run", p, "--quiet", NULL};
    out q = run(quiet);
    assert_int_equal(q.code, 0);
    assert_string_equal(q.err, "");
    assert_string_equal(q.out, a.out);
    out_free(&a);
    out_free(&b);
    out_free(&c);
    out_free(&d);
    out_free(&q);
    free(p);
}

static void test_out_dir(void **state)
{
    (void)state;
    char *p = write_in(dir, "good.json", good);
    char *od = t_path(dir, "run1");
    const char *args[] = {"run", p, "--out", od, NULL};
    out a = run(args);
    assert_int_equal(a.code, 0);
    char *sp = t_path(od, "baseline/seed-5/summary.json");
    size_t len;
    char *js = t_read_file(sp, &len);
    assert_non_null(js);
    cJSON *j = cJSON_ParseWithLength(js, len);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "schema_version")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "seed")->valueint, 5);
    assert_string_equal(cJSON_GetObjectItem(j, "verdict")->valuestring, "no_exporter");
    const char *h = strstr(a.out, "log hash: ");
    assert_non_null(h);
    char hash[17];
    memcpy(hash, h + 10, 16);
    hash[16] = 0;
    assert_string_equal(cJSON_GetObjectItem(j, "log_hash")->valuestring, hash);
    cJSON_Delete(j);
    free(js);
    free(sp);
    free(od);
    out_free(&a);
    free(p);
}

/* Every seed of `seeds` is a run of its own, in its own directory; the JSON has the metrics. */
static void test_seeds_each_run(void **state)
{
    (void)state;
    char *p = write_in(dir, "tele.json", tele);
    char *od = t_path(dir, "seeds");
    const char *args[] = {"run", p, "--out", od, "--variant", "baseline", NULL};
    out a = run(args);
    assert_int_equal(a.code, 0);
    expect_in(a.out, "seed 3\n");
    expect_in(a.out, "\nseed 4\n");
    expect_in(a.out, "2 runs, 0 with a failed check");
    for (int s = 3; s <= 4; s++) {
        char rel[64];
        snprintf(rel, sizeof rel, "baseline/seed-%d/summary.json", s);
        char *sp = t_path(od, rel);
        size_t len;
        char *js = t_read_file(sp, &len);
        assert_non_null(js);
        cJSON *j = cJSON_ParseWithLength(js, len);
        assert_int_equal(cJSON_GetObjectItem(j, "seed")->valueint, s);
        assert_string_equal(cJSON_GetObjectItem(j, "verdict")->valuestring, "pass");
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "loss_ratio")));
        cJSON *m = cJSON_GetObjectItem(j, "metrics");
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(m, "lost.evicted-in-buffer")));
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(m, "evicted.idle")));
        cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "checks"), 0);
        assert_string_equal(cJSON_GetObjectItem(c0, "check")->valuestring, "loss_ratio");
        assert_string_equal(cJSON_GetObjectItem(c0, "expected")->valuestring, "loss_ratio <= 0");
        assert_string_equal(cJSON_GetObjectItem(c0, "why")->valuestring, "immediate loses nothing");
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c0, "pass")));
        cJSON_Delete(j);
        free(js);
        free(sp);
    }
    /* --seed picks one: the seeds list is not run then. */
    const char *one[] = {"run", p, "--out", od, "--variant", "baseline", "--seed", "9", NULL};
    out b = run(one);
    assert_int_equal(b.code, 0);
    assert_null(strstr(b.out, "seed 3"));
    char *nine = t_path(od, "baseline/seed-9/ledger.db");
    assert_true(exists(nine));
    free(nine);
    out_free(&a);
    out_free(&b);
    free(od);
    free(p);
}

static void test_bad_input_exits_2(void **state)
{
    (void)state;
    char *p = write_in(dir, "bad.json",
                       "{\"workload\": {\"rate_per_s\": \"fast\"}, \"app\": "
                       "{\"handler\": [{\"respond\": {}}]}}");
    const char *bad[] = {"run", p, NULL};
    out o = run(bad);
    assert_int_equal(o.code, 2);
    expect_in(o.err, "bad.json: $.workload.rate_per_s: expected a number");
    assert_string_equal(o.out, "");
    out_free(&o);
    const char *missing[] = {"run", "/nonexistent.json", NULL};
    o = run(missing);
    assert_int_equal(o.code, 2);
    expect_in(o.err, "/nonexistent.json: cannot open");
    out_free(&o);
    const char *seed[] = {"run", p, "--seed", "-4", NULL};
    o = run(seed);
    assert_int_equal(o.code, 2);
    out_free(&o);
    const char *none[] = {NULL};
    o = run(none);
    assert_int_equal(o.code, 2);
    out_free(&o);
    const char *twice[] = {"run", p, p, NULL};
    o = run(twice);
    assert_int_equal(o.code, 2);
    expect_in(o.err, "one scenario at a time");
    out_free(&o);
    const char *dup[] = {"{\"seeds\": [1, 2, 1], \"workload\": {}, \"app\": {\"handler\": "
                         "[{\"respond\": {}}]}}"};
    char *dp = write_in(dir, "dupseed.json", dup[0]);
    const char *dups[] = {"run", dp, NULL};
    o = run(dups);
    assert_int_equal(o.code, 2);
    expect_in(o.err, "$.seeds[2]: seed 1 is listed twice");
    out_free(&o);
    free(dp);
    free(p);
}

/* --help everywhere (exit 0, stdout), --version, did-you-mean, values that are options. */
static void test_command_line_forms(void **state)
{
    (void)state;
    char *p = write_in(dir, "good.json", good);
    const char *const helps[][4] = {{"--help"},        {"-h"},          {"run", "--help"},
                                    {"run", p, "-h"},  {"check", "-h"}, {"keys", "--help"},
                                    {"help", "check"}, {"help"}};
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        out o = run(helps[i]);
        assert_int_equal(o.code, 0);
        expect_in(o.out, "usage: edgeloss");
        assert_string_equal(o.err, "");
        out_free(&o);
    }
    out v = run((const char *[]){"--version", NULL});
    assert_int_equal(v.code, 0);
    assert_int_equal(strncmp(v.out, "edgeloss ", 9), 0);
    out_free(&v);
    static const struct {
        const char *args[6];
        const char *says;
    } bad[] = {
        {{"run", "good.json", "--varaint", "x"},
         "unknown option --varaint (did you mean --variant?)"},
        {{"run", "good.json", "--frobnicate"}, "unknown option --frobnicate"},
        {{"run", "good.json", "--out", "--variant", "x"}, "--out needs a value"},
        {{"run", "good.json", "--out="}, "--out: expected a value, got an empty string"},
        {{"run", "good.json", "--brief=yes"}, "--brief takes no value"},
        {{"chek"}, "unknown command chek (did you mean check?)"},
        {{"fly"}, "unknown command fly"},
        {{"check", "--jobs", "0"}, "--jobs 0: expected a whole number from 1 to 256"},
        {{"check", "/nonexistent-dir"}, "/nonexistent-dir: No such file or directory"},
        {{"keys", "extra"}, "takes no arguments"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out o = run(bad[i].args);
        if (o.code != 2)
            fail_msg("%s: exit %d, stderr %s", bad[i].args[0], o.code, o.err);
        expect_in(o.err, bad[i].says);
        assert_string_equal(o.out, "");
        out_free(&o);
    }
    out k = run((const char *[]){"keys", NULL});
    assert_int_equal(k.code, 0);
    expect_in(k.out, "| `runtime.idle_timeout` |");
    out_free(&k);
    free(p);
}

/* check: 0 all hold, 1 a check failed (with why and the reproduce command), 2 a bad file,
 * 3 the harness (a work budget exceeded while running; a crashed child). */
static void test_check_exit_codes(void **state)
{
    (void)state;
    char *cd = t_path(dir, "gate");
    mkdir(cd, 0777);
    char *sub = t_path(cd, "sub");
    mkdir(sub, 0777);
    char *ok = write_in(cd, "a-ok.json", good);
    char *te = write_in(sub, "tele.json", tele);
    char *od = t_path(dir, "gate-runs");

    out o = run((const char *[]){"check", ok, "--out", od, NULL});
    assert_int_equal(o.code, 0);
    expect_in(o.out, "SCENARIO");
    expect_in(o.out, "no exporter");
    assert_null(strstr(o.out, "\033[")); /* no colour off a terminal */
    out_free(&o);
    /* A full disk under the JUnit file is the harness's failure, not a pass. */
    o = run((const char *[]){"check", ok, "--out", od, "--junit", "/dev/full", NULL});
    assert_int_equal(o.code, 3);
    expect_in(o.err, "/dev/full: write failed: No space left on device");
    out_free(&o);

    /* The folder, recursively: tele.json's broken variant fails both its seeds. */
    o = run((const char *[]){"check", cd, "--out", od, NULL});
    assert_int_equal(o.code, 1);
    expect_in(o.out, "FAIL");
    expect_in(o.out, "expected: items <= 0");
    expect_in(o.out, "why: a check made to fail");
    char repro[512];
    snprintf(repro, sizeof repro, "reproduce: %s run %s --variant broken --seed 4", bin, te);
    expect_in(o.out, repro);
    expect_in(o.out, "4 checks: 2 passed, 2 failed");
    out_free(&o);
    /* The reproduce command reproduces. */
    out r = run((const char *[]){"run", te, "--variant", "broken", "--seed", "4", "--out", od,
                                 "--brief", NULL});
    assert_int_equal(r.code, 1);
    expect_in(r.out, "CHECKS FAIL");
    out_free(&r);

    char *bad = write_in(
        cd, "bad.json",
        "{\"workload\": {\"rate_per_s\": -1}, \"app\": {\"handler\": [{\"respond\": {}}]}}");
    o = run((const char *[]){"check", cd, "--out", od, NULL});
    assert_int_equal(o.code, 2); /* a bad file outranks a failed check */
    expect_in(o.out, "bad.json: $.workload.rate_per_s");
    expect_in(o.out, "EINPUT");
    out_free(&o);
    unlink(bad);

    char *budget = write_in(
        cd, "budget.json",
        "{\"workload\": {\"requests\": 1}, \"app\": {\"handler\": [{\"once\": [{\"set_interval\":"
        " {\"every\": {\"fixed_ms\": 10}, \"do\": [{\"set_timeout\": {\"delay\": {\"fixed_ms\":"
        " 1}, \"do\": [{\"await\": {\"latency\": {\"fixed_ms\": 1}}}]}}]}}]}, {\"respond\": {}}]},"
        " \"runtime\": {\"kind\": \"server\"}, \"budget\": {\"events\": 20000}}");
    o = run((const char *[]){"check", budget, "--out", od, NULL});
    assert_int_equal(o.code, 3);
    expect_in(o.out, "EBUDGET");
    expect_in(o.out, "(budget.events)");
    out_free(&o);
    unlink(budget);

    /* A child that dies is that run's failure, exit 3; the other runs still report. */
    o = run_full((const char *[]){"check", cd, "--out", od, "--jobs", "2", NULL},
                 "EDGELOSS_TEST_CRASH=broken", 0);
    assert_int_equal(o.code, 3);
    expect_in(o.out, "ECHILD");
    expect_in(o.out, "killed by signal 6");
    expect_in(o.out, "loss_ratio <= 0");
    out_free(&o);
    free(budget);
    free(bad);
    free(od);
    free(te);
    free(ok);
    free(sub);
    free(cd);
}

/* Zeroes every `"wall_s": N` and `time="N"`: the only fields that may differ. */
static void strip_timing(char *s)
{
    static const char *const keys[] = {"\"wall_s\":", "time=\""};
    for (int k = 0; k < 2; k++) {
        for (char *p = strstr(s, keys[k]); p; p = strstr(p + 1, keys[k])) {
            char *q = p + strlen(keys[k]);
            while (*q == ' ' || *q == '\t')
                q++;
            char *e = q;
            while ((*e >= '0' && *e <= '9') || *e == '.' || *e == 'e' || *e == '-' || *e == '+')
                e++;
            *q = '0'; /* still a number: the document still parses */
            memmove(q + 1, e, strlen(e) + 1);
        }
    }
}

static bool xsd_valid(const char *xml)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s' '%s' >/dev/null 2>&1", xsd, xml);
    return system(cmd) == 0;
}

/* --jobs 2 prints, writes JSON and JUnit identical to --jobs 1 (timing aside); valid JUnit. */
static void test_check_jobs_and_formats(void **state)
{
    (void)state;
    char *cd = t_path(dir, "jobs");
    mkdir(cd, 0777);
    char *te = write_in(cd, "tele.json", tele);
    char *ok = write_in(cd, "ok.json", good);
    char *bad = write_in(cd, "zz-bad.json",
                         "{\"workload\": {\"rate_per_s\": \"x\"}, \"app\": {\"handler\": []}}");
    char *texts[2][3];
    for (int j = 0; j < 2; j++) {
        char name[64], od[64];
        snprintf(od, sizeof od, "jobs-runs"); /* the same: run_dir is in the JSON */
        snprintf(name, sizeof name, "j%d.xml", j);
        char *xml = t_path(dir, name);
        snprintf(name, sizeof name, "j%d.json", j);
        char *json = t_path(dir, name);
        out o = run((const char *[]){"check", cd, "--jobs", j ? "2" : "1", "--junit", xml, "--json",
                                     json, "--out", od, NULL});
        assert_int_equal(o.code, 2);
        assert_true(xsd_valid(xml));
        texts[j][0] = o.out;
        texts[j][1] = t_read_file(xml, NULL);
        texts[j][2] = t_read_file(json, NULL);
        strip_timing(texts[j][1]);
        strip_timing(texts[j][2]);
        free(o.err);
        free(xml);
        free(json);
    }
    for (int k = 0; k < 3; k++)
        assert_string_equal(texts[0][k], texts[1][k]);
    /* The JUnit names a failure's expected, measured and reproduce command. */
    expect_in(texts[0][1], "<failure type=\"check\" message=\"expected items &lt;= 0, measured ");
    expect_in(texts[0][1], "reproduce: ");
    expect_in(texts[0][1], "<error type=\"EINPUT\"");
    cJSON *j = cJSON_Parse(texts[0][2]);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "schema_version")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "exit_code")->valueint, 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "complete")));
    cJSON *t = cJSON_GetObjectItem(j, "totals");
    assert_int_equal(cJSON_GetObjectItem(t, "runs")->valueint, 6); /* 1 + 2 x 2 seeds + bad */
    assert_int_equal(cJSON_GetObjectItem(t, "fail")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(t, "error")->valueint, 1);
    cJSON_Delete(j);
    for (int a = 0; a < 2; a++)
        for (int k = 0; k < 3; k++)
            free(texts[a][k]);
    free(bad);
    free(ok);
    free(te);
    free(cd);
}

/* Files of one name get directories of their own; a file named twice runs once; the JSON's
 * exit_code is the status the command exits with, even when a later write fails. */
static void test_check_names_and_duplicates(void **state)
{
    (void)state;
    char *cd = t_path(dir, "names");
    mkdir(cd, 0777);
    const char *sub[] = {"a", "b", "c"};
    char *files[3];
    for (int i = 0; i < 3; i++) {
        char *d = t_path(cd, sub[i]);
        mkdir(d, 0777);
        files[i] = write_in(d, i == 2 ? "x-2.json" : "x.json", good);
        free(d);
    }
    out o = run((const char *[]){"check", cd, files[0], cd, "--out", "names-runs", "--json",
                                 "names.json", "--junit", "/nonexistent-dir/j.xml", NULL});
    assert_int_equal(o.code, 3);
    char *jp = t_path(dir, "names.json");
    char *js = t_read_file(jp, NULL);
    cJSON *j = cJSON_Parse(js);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "exit_code")->valueint, 3);
    cJSON *runs = cJSON_GetObjectItem(j, "runs");
    assert_int_equal(cJSON_GetArraySize(runs), 3);
    const char *want[] = {"names-runs/x/baseline/seed-5", "names-runs/x-3/baseline/seed-5",
                          "names-runs/x-2/baseline/seed-5"};
    for (int i = 0; i < 3; i++)
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetArrayItem(runs, i), "run_dir")->valuestring, want[i]);
    cJSON_Delete(j);
    free(js);
    free(jp);
    out_free(&o);
    for (int i = 0; i < 3; i++)
        free(files[i]);
    free(cd);
}

/* Names and whys no XML parser would take raw - a tab, markup, a cut in the middle of a
 * character, bytes that are not UTF-8 - still give well-formed, schema-valid JUnit. */
static void test_junit_survives_hostile_text(void **state)
{
    (void)state;
    char why[700] = "ab";
    for (int i = 0; i < 300; i++)
        strcat(why, "\xc3\xa9"); /* 602 bytes: the 511-byte field cuts inside a character */
    char scn[2048];
    snprintf(scn, sizeof scn,
             "{\"workload\": {\"requests\": 3}, \"app\": {\"handler\": [{\"respond\": {}}]},"
             " \"exporter\": {\"strategy\": \"immediate\"}, \"expect\": [{\"metric\":"
             " \"items\", \"max\": -1, \"why\": \"%s\"}], \"variants\": [{\"name\":"
             " \"a\\tb <&> \xff\xfe\"}]}",
             why);
    char *p = write_in(dir, "hostile-text.json", scn);
    out o = run((const char *[]){"check", p, "--out", "hostile-text", "--junit", "ht.xml", NULL});
    assert_int_equal(o.code, 1);
    char *xml = t_path(dir, "ht.xml");
    assert_true(xsd_valid(xml));
    free(xml);
    out_free(&o);
    free(p);
}

/* An external ingest without its database: fates cannot be decided, so never exit 0. */
static void test_unverified_is_not_a_pass(void **state)
{
    (void)state;
    char *db = t_path(dir, "ext-ingest.db");
    char url[256];
    int pid = t_spawn_ingest(ingest_bin, db, "--trust-sim-headers", url, sizeof url);
    assert_true(pid > 0);
    char *p = write_in(dir, "tele.json", tele);
    out o = run((const char *[]){"run", p, "--variant", "baseline", "--seed", "3", "--ingest", url,
                                 "--out", "unverified", NULL});
    out v = run((const char *[]){"run", p, "--variant", "baseline", "--seed", "3", "--ingest", url,
                                 "--ingest-db", db, "--out", "verified", NULL});
    /* The server goes before any assertion can leave it running. */
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    assert_int_equal(o.code, 1);
    expect_in(o.out, "fates: unverified");
    expect_in(o.err, "verdict unverified");
    assert_int_equal(v.code, 0);
    out_free(&o);
    out_free(&v);
    free(p);
    free(db);
}

/* An ingest fault against an external ingest that does not trust the simulator's headers
 * would be recorded as fired while nothing happened: the run stops as a harness error
 * (exit 3) saying why. Against a trusted one the fault happens (the 503s are stored). */
static void test_ingest_fault_needs_a_trusted_ingest(void **state)
{
    (void)state;
    const char *scn =
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 3,"
        " \"duration_s\": 3},"
        " \"exporter\": {\"strategy\": \"immediate\", \"retry\": {\"count\": 0}},"
        " \"faults\": {\"rules\": [{\"kind\": \"status\", \"status\": 503}]},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"s\"}}, {\"call\": \"tracer.flush\"},"
        " {\"respond\": {}}]}}";
    char *p = write_in(dir, "fault-ext.json", scn);
    for (int trusted = 0; trusted < 2; trusted++) {
        char *db = t_path(dir, trusted ? "fault-trusted.db" : "fault-untrusted.db");
        char url[256];
        int pid =
            t_spawn_ingest(ingest_bin, db, trusted ? "--trust-sim-headers" : NULL, url, sizeof url);
        assert_true(pid > 0);
        url[strcspn(url, "\n")] = '\0';
        out o = run((const char *[]){"run", p, "--ingest", url, "--ingest-db", db, "--out",
                                     trusted ? "fault-trusted" : "fault-untrusted", NULL});
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        if (trusted) {
            assert_int_equal(o.code, 0);
            expect_in(o.out, "faults: 3 fired: status 3");
            assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM requests WHERE status = 503"), 3);
        } else {
            assert_int_equal(o.code, 3);
            expect_in(o.err, "ignores the simulator's headers");
            expect_in(o.err, "--trust-sim-headers");
        }
        out_free(&o);
        free(db);
    }
    free(p);
}

/* Ctrl-C stops cleanly: exit 130, says what was cut, no summary.json that looks complete. */
static void test_interrupt(void **state)
{
    (void)state;
    char *p = write_in(dir, "long.json",
                       "{\"workload\": {\"rate_per_s\": 2000, \"duration_s\": 36000},"
                       " \"app\": {\"handler\": [{\"span\": {\"name\": \"h\", \"do\":"
                       " [{\"respond\": {}}]}}]}, \"exporter\": {\"strategy\": \"threshold\"},"
                       " \"budget\": {\"items\": 1e9, \"events\": 1e10}}");
    out o = run_full((const char *[]){"run", p, "--out", "long", NULL}, NULL, 1500);
    assert_int_equal(o.code, 130);
    expect_in(o.err, "interrupted: ");
    expect_in(o.err, "no summary.json was written");
    char *sp = t_path(dir, "long/baseline/seed-1/summary.json");
    assert_false(exists(sp));
    free(sp);
    out_free(&o);
    o = run_full((const char *[]){"check", p, "--out", "long-check", "--json", "cut.json", NULL},
                 NULL, 1500);
    assert_int_equal(o.code, 130);
    char *cut = t_path(dir, "cut.json");
    char *js = t_read_file(cut, NULL);
    assert_non_null(js);
    expect_in(js, "\"complete\":\tfalse");
    expect_in(js, "EINTR");
    free(js);
    free(cut);
    out_free(&o);
    free(p);
}

/* --trace and --events with several runs go inside each run's directory. */
static void test_trace_inside_run_dirs(void **state)
{
    (void)state;
    char *p = write_in(dir, "tele.json", tele);
    out o = run((const char *[]){"run", p, "--out", "traced", "--trace", "t.txt", "--events",
                                 "ev.txt", "--brief", NULL});
    assert_int_equal(o.code, 1); /* the broken variant */
    char *in = t_path(dir, "traced/broken/seed-4/t.txt");
    char *ev = t_path(dir, "traced/baseline/seed-3/ev.txt");
    char *cwd = t_path(dir, "t.txt");
    assert_true(exists(in));
    assert_true(exists(ev));
    assert_false(exists(cwd));
    free(in);
    free(ev);
    free(cwd);
    out_free(&o);
    free(p);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PATH-TO-EDGELOSS PATH-TO-MOCK-INGEST PATH-TO-JUNIT-XSD\n",
                argv[0]);
        return 2;
    }
    /* Absolute: the commands run inside the test directory. */
    static char paths[3][4096];
    for (int i = 0; i < 3; i++)
        if (!realpath(argv[i + 1], paths[i]))
            return 2;
    bin = paths[0];
    ingest_bin = paths[1];
    xsd = paths[2];
    dir = t_mkdtemp();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_is_deterministic),
        cmocka_unit_test(test_out_dir),
        cmocka_unit_test(test_seeds_each_run),
        cmocka_unit_test(test_bad_input_exits_2),
        cmocka_unit_test(test_command_line_forms),
        cmocka_unit_test(test_check_exit_codes),
        cmocka_unit_test(test_check_jobs_and_formats),
        cmocka_unit_test(test_check_names_and_duplicates),
        cmocka_unit_test(test_junit_survives_hostile_text),
        cmocka_unit_test(test_unverified_is_not_a_pass),
        cmocka_unit_test(test_ingest_fault_needs_a_trusted_ingest),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_trace_inside_run_dirs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    t_rmtree(dir);
    free(dir);
    return rc;
}
