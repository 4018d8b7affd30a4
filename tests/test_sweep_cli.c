/*
 * `edgeloss sweep` and `edgeloss merge` as users run them, on tests/fixtures/sweep/small.json
 * (two variants, three fault families; with --swarm over seeds 1..8 threshold fails 3, 6, 7
 * and immediate 2, 6, 7, 8; without it every seed fails): --jobs 2 gives the bytes --jobs 1
 * gives, three shards merged give the bytes of the whole range (stdout, JSON, JUnit valid
 * against docs/junit.xsd) and its exit status, every batch system's variable picks its
 * slice, merge refuses what is not one sweep, the reproduce commands reproduce, and the exit
 * codes and --keep.
 * Usage: test_sweep_cli PATH-TO-EDGELOSS PATH-TO-JUNIT-XSD
 */
#include "fault.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *bin, *xsd;
static char *dir;
static char fixture[4096];

typedef struct out {
    int code;
    char *out, *err;
} out;

/* The variables --shard auto reads: none leaks in from the machine running the tests. */
static const char *const batch_vars[] = {
    "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT",
    "CI_NODE_INDEX",        "CI_NODE_TOTAL",       "MATRIX_SHARD",
};

/* Runs argv (NULL-terminated; argv[0] a path) inside the test directory with the
 * VAR=VALUE settings in env (NULL-terminated, or NULL); when interrupt_when is set, SIGINT
 * once that file exists (a run has started: the handlers are in place) and 300 ms more. */
static out spawn(const char *const *argv, const char *const *env, const char *interrupt_when)
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
        for (size_t i = 0; i < sizeof batch_vars / sizeof batch_vars[0]; i++)
            unsetenv(batch_vars[i]);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (interrupt_when) {
        char *w = t_path(dir, interrupt_when);
        struct stat st;
        struct timespec ts = {0, 10 * 1000000L};
        for (int i = 0; i < 6000 && stat(w, &st) != 0; i++) /* at most a minute */
            nanosleep(&ts, NULL);
        free(w);
        ts.tv_nsec = 300 * 1000000L;
        nanosleep(&ts, NULL);
        kill(pid, SIGINT);
    }
    int st;
    waitpid(pid, &st, 0);
    out o = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, t_read_file(po, NULL), t_read_file(pe, NULL)};
    assert_non_null(o.out);
    assert_non_null(o.err);
    free(po);
    free(pe);
    return o;
}

/* edgeloss with args (NULL-terminated). */
static out run_env(const char *const *args, const char *const *env)
{
    const char *argv[48] = {bin};
    for (int i = 0; args[i]; i++) {
        assert_true(i < 46);
        argv[i + 1] = args[i];
    }
    return spawn(argv, env, NULL);
}

static out run(const char *const *args)
{
    return run_env(args, NULL);
}

/* A command line as a user pastes it into a shell. */
static out shell(const char *cmd)
{
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return spawn(argv, NULL, NULL);
}

static void out_free(out *o)
{
    free(o->out);
    free(o->err);
}

#define expect_in(hay, needle)                                                                     \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("expected \"%s\" in:\n%s", (needle), (hay));                                  \
    } while (0)

#define expect_code(o, want)                                                                       \
    do {                                                                                           \
        if ((o).code != (want))                                                                    \
            fail_msg("exit %d, expected %d; stdout:\n%s\nstderr:\n%s", (o).code, (want), (o).out,  \
                     (o).err);                                                                     \
    } while (0)

/* DIR/name (an absolute name as it is), in one of a ring of static buffers. */
static const char *in_dir(const char *name)
{
    static char bufs[64][4200];
    static int next;
    if (name[0] == '/')
        return name;
    char *b = bufs[next++ % 64];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

static char *slurp(const char *name)
{
    char *t = t_read_file(in_dir(name), NULL);
    if (!t)
        fail_msg("%s was not written", name);
    return t;
}

static cJSON *read_json(const char *name)
{
    char *t = slurp(name);
    cJSON *j = cJSON_Parse(t);
    free(t);
    if (!j)
        fail_msg("%s is not JSON", name);
    return j;
}

static bool exists(const char *name)
{
    struct stat st;
    return stat(in_dir(name), &st) == 0;
}

static void assert_same_file(const char *a, const char *b)
{
    char *x = slurp(a), *y = slurp(b);
    if (strcmp(x, y) != 0)
        fail_msg("%s and %s differ:\n%s\n---- and ----\n%s", a, b, x, y);
    free(x);
    free(y);
}

static bool xsd_valid(const char *name)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s' '%s' >/dev/null 2>&1", xsd,
             in_dir(name));
    return system(cmd) == 0;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!x)
        fail_msg("no \"%s\"", k);
    return x;
}

static const cJSON *variant_of(const cJSON *doc, const char *name)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, get(doc, "variants"))
    {
        if (strcmp(get(v, "variant")->valuestring, name) == 0)
            return v;
    }
    fail_msg("no variant %s", name);
    return NULL;
}

/* The seeds of a variant's failures, as "3,6,7". */
static void failing_seeds(const cJSON *doc, const char *variant, char *buf, size_t len)
{
    const cJSON *f;
    size_t used = 0;
    buf[0] = '\0';
    cJSON_ArrayForEach(f, get(variant_of(doc, variant), "failures")) used +=
        (size_t)snprintf(buf + used, len - used, "%s%d", used ? "," : "", get(f, "seed")->valueint);
}

/* Removes a directory and everything under it. */
static void rm_tree(const char *p)
{
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char q[4400];
        struct stat st;
        snprintf(q, sizeof q, "%s/%s", p, e->d_name);
        if (lstat(q, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(q);
        else
            remove(q);
    }
    if (d)
        closedir(d);
    rmdir(p);
}

/* The whole range as everything below compares with: 1..8, --swarm, --jobs 1. */
static out whole;

static int setup(void **state)
{
    (void)state;
    whole = run((const char *[]){"sweep", fixture, "--seeds", "1..8", "--swarm", "--jobs", "1",
                                 "--json", "w1.json", "--junit", "w1.xml", "--out", "runs-j1",
                                 "--quiet", NULL});
    return whole.code == 1 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    out_free(&whole);
    return 0;
}

/* ---------------------------------------------------------------- --jobs */

static void test_jobs_2_equals_jobs_1(void **state)
{
    (void)state;
    out j2 = run((const char *[]){"sweep", fixture, "--seeds", "1..8", "--swarm", "--jobs", "2",
                                  "--json", "w2.json", "--junit", "w2.xml", "--out", "runs-j2",
                                  "--quiet", NULL});
    expect_code(j2, 1);
    assert_string_equal(j2.out, whole.out);
    assert_same_file("w1.json", "w2.json");
    assert_same_file("w1.xml", "w2.xml");
    assert_true(xsd_valid("w1.xml"));
    assert_string_equal(whole.err, ""); /* --quiet */

    /* What it says, by hand from the fixture. */
    char first[4400];
    snprintf(first, sizeof first, "sweep %s: seeds 1..8, 16 runs, swarm\n", fixture);
    assert_int_equal(strncmp(whole.out, first, strlen(first)), 0);
    expect_in(whole.out, "\nvariant threshold: 8 runs: 5 pass, 3 fail, 0 unverified, 0 error\n"
                         "  FAIL   lost: failed on 3 of 8 seeds\n"
                         "  seeds that did not pass:\n"
                         "    seed 3: lost: expected lost <= 200, measured lost = 202\n"
                         "      swarm: network on, ingest off, runtime on\n");
    expect_in(whole.out, "\nvariant immediate: 8 runs: 4 pass, 4 fail, 0 unverified, 0 error\n"
                         "  FAIL   lost: failed on 4 of 8 seeds\n");
    expect_in(whole.out, "\nsome seeds did not pass\n");
    expect_in(whole.out, "metric (nearest rank)");
    assert_null(strstr(whole.out, "wall"));

    cJSON *j = read_json("w1.json");
    assert_string_equal(get(j, "kind")->valuestring, "edgeloss sweep");
    assert_int_equal(get(j, "exit_code")->valueint, 1);
    assert_true(cJSON_IsTrue(get(j, "complete")));
    assert_true(cJSON_IsTrue(get(j, "swarm")));
    assert_int_equal(get(get(j, "totals"), "runs")->valueint, 16);
    assert_int_equal(get(get(j, "totals"), "pass")->valueint, 9);
    assert_int_equal(get(get(j, "totals"), "fail")->valueint, 7);
    assert_null(cJSON_GetObjectItem(j, "shard"));
    char seeds[128];
    failing_seeds(j, "threshold", seeds, sizeof seeds);
    assert_string_equal(seeds, "3,6,7");
    failing_seeds(j, "immediate", seeds, sizeof seeds);
    assert_string_equal(seeds, "2,6,7,8");
    /* Each failure says which families its seed switched on: flt_swarm_on's draw. */
    static const char *const fam[] = {"network", "ingest", "runtime"};
    const cJSON *v, *f;
    int checked = 0;
    cJSON_ArrayForEach(v, get(j, "variants"))
    {
        assert_int_equal(cJSON_GetArraySize(get(v, "swarm_families")), 3);
        cJSON_ArrayForEach(f, get(v, "failures"))
        {
            unsigned on = flt_swarm_on((uint64_t)get(f, "seed")->valueint);
            for (int k = 0; k < 3; k++)
                assert_true(cJSON_IsTrue(get(get(f, "swarm"), fam[k])) == ((on >> k & 1) != 0));
            expect_in(get(f, "reproduce")->valuestring, " --swarm");
            assert_string_equal(get(f, "first_failing")->valuestring, "lost");
            checked++;
        }
    }
    assert_int_equal(checked, 7);
    cJSON_Delete(j);

    char *xml = slurp("w1.xml");
    expect_in(xml, "<testsuites name=\"edgeloss sweep\" tests=\"2\" failures=\"2\" errors=\"0\"");
    expect_in(xml, "<failure type=\"check\" message=\"failed on 3 of 8 seeds\">seed 3: expected "
                   "lost &lt;= 200, measured lost = 202\n");
    free(xml);
    out_free(&j2);
}

/* ---------------------------------------------------------------- shards and merge */

static void test_three_shards_merge_to_the_whole(void **state)
{
    (void)state;
    static const char *const slice[] = {"seeds 1..2", "seeds 3..5", "seeds 6..8"};
    static const char *const runs[] = {"4 runs", "6 runs", "6 runs"};
    for (int i = 0; i < 3; i++) {
        char sh[16], res[32];
        snprintf(sh, sizeof sh, "%d/3", i);
        snprintf(res, sizeof res, "r%d.json", i);
        out o = run((const char *[]){"sweep", fixture, "--seeds", "1..8", "--swarm", "--shard", sh,
                                     "--result", res, "--out", "runs-shards", "--quiet", NULL});
        expect_code(o, 1); /* each slice has a failing seed */
        char want[4400];
        snprintf(want, sizeof want,
                 "sweep %s: %s (shard %d of 3, 0-based, of seeds 1..8), %s, swarm\n", fixture,
                 slice[i], i, runs[i]);
        assert_int_equal(strncmp(o.out, want, strlen(want)), 0);
        cJSON *r = read_json(res);
        assert_string_equal(get(r, "kind")->valuestring, "edgeloss sweep result");
        assert_int_equal(get(get(r, "shard"), "index")->valueint, i);
        assert_int_equal(get(get(r, "shard"), "count")->valueint, 3);
        cJSON_Delete(r);
        out_free(&o);
    }
    out m = run((const char *[]){"merge", "r0.json", "r1.json", "r2.json", "--json", "m.json",
                                 "--junit", "m.xml", "--result", "mr.json", NULL});
    expect_code(m, 1); /* the whole's */
    assert_string_equal(m.out, whole.out);
    assert_string_equal(m.err, "");
    assert_same_file("m.json", "w1.json");
    assert_same_file("m.xml", "w1.xml");
    assert_true(xsd_valid("m.xml"));
    out_free(&m);
    /* In any order; and the merged result merges again, alone. */
    m = run((const char *[]){"merge", "r2.json", "r0.json", "r1.json", "--json", "m2.json", NULL});
    expect_code(m, 1);
    assert_string_equal(m.out, whole.out);
    assert_same_file("m2.json", "w1.json");
    out_free(&m);
    m = run((const char *[]){"merge", "mr.json", "--json", "m3.json", NULL});
    expect_code(m, 1);
    assert_string_equal(m.out, whole.out);
    assert_same_file("m3.json", "w1.json");
    out_free(&m);
}

/* Each batch system's variable, through the command line: the first line names the slice. */
static void test_shard_from_the_environment(void **state)
{
    (void)state;
    static const struct {
        const char *env[4], *shard, *slice, *result;
    } cases[] = {
        {{"JOB_COMPLETION_INDEX=2"}, "auto/3", "seeds 5..6 (shard 2 of 3,", "e2.json"},
        {{"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=2", "SLURM_ARRAY_TASK_COUNT=3"},
         "auto/auto",
         "seeds 3..4 (shard 1 of 3,",
         "e1.json"},
        {{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_COUNT=3"},
         "SLURM_ARRAY_TASK_ID/auto",
         "seeds 1..2 (shard 0 of 3,",
         "e0.json"},
        {{"CI_NODE_INDEX=3", "CI_NODE_TOTAL=3"}, "auto/auto", "seeds 5..6 (shard 2 of 3,", NULL},
        {{"MATRIX_SHARD=1"}, "MATRIX_SHARD/3", "seeds 3..4 (shard 1 of 3,", NULL},
        /* `auto` takes JOB_COMPLETION_INDEX before CI_NODE_INDEX. */
        {{"CI_NODE_INDEX=3", "CI_NODE_TOTAL=3", "JOB_COMPLETION_INDEX=0"},
         "auto/3",
         "seeds 1..2 (shard 0 of 3,",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[20] = {"sweep",     fixture,     "--seeds", "1..6",
                                "--variant", "threshold", "--shard", cases[i].shard,
                                "--out",     "runs-env",  "--quiet"};
        size_t n = 11;
        if (cases[i].result) {
            args[n++] = "--result";
            args[n++] = cases[i].result;
        }
        args[n] = NULL;
        out o = run_env(args, cases[i].env);
        expect_code(o, 1); /* without --swarm threshold fails every seed */
        char want[4400];
        snprintf(want, sizeof want, "sweep %s: %s 0-based, of seeds 1..6), 2 runs\n", fixture,
                 cases[i].slice);
        if (strncmp(o.out, want, strlen(want)) != 0)
            fail_msg("case %zu: expected the first line\n%s\ngot\n%s", i, want, o.out);
        out_free(&o);
    }
    /* The three shards from three batch systems are one sweep: merged, they are the whole. */
    out w = run((const char *[]){"sweep", fixture, "--seeds", "1..6", "--variant", "threshold",
                                 "--out", "runs-env", "--quiet", NULL});
    expect_code(w, 1);
    out m = run((const char *[]){"merge", "e0.json", "e1.json", "e2.json", NULL});
    expect_code(m, 1);
    assert_string_equal(m.out, w.out);
    out_free(&w);
    out_free(&m);

    /* Variables that say nothing usable: exit 2, before any run. */
    static const struct {
        const char *env[3], *shard, *why;
    } bad[] = {
        {{"CI_NODE_INDEX=0", "CI_NODE_TOTAL=3"},
         "auto/auto",
         "CI_NODE_INDEX=0 is below its first index 1"},
        {{"CI_NODE_INDEX=4", "CI_NODE_TOTAL=3"},
         "auto/auto",
         "index 3 (from CI_NODE_INDEX) is not below the count 3"},
        {{NULL}, "MATRIX_SHARD/3", "MATRIX_SHARD is not set"},
        {{"MATRIX_SHARD=two"}, "MATRIX_SHARD/3", "MATRIX_SHARD=two: expected a whole number"},
        {{"JOB_COMPLETION_INDEX=3"}, "auto/3", "is not below the count 3"},
        {{"JOB_COMPLETION_INDEX=1"}, "auto/auto", "COUNT `auto` needs"},
        {{NULL}, "auto/3", "none of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID and CI_NODE_INDEX"},
        {{"SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_MIN=2"},
         "auto/4",
         "SLURM_ARRAY_TASK_ID=1 is below its first index 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out o = run_env((const char *[]){"sweep", fixture, "--seeds", "1..6", "--shard",
                                         bad[i].shard, "--out", "runs-env-bad", NULL},
                        bad[i].env);
        expect_code(o, 2);
        expect_in(o.err, "edgeloss sweep: --shard ");
        expect_in(o.err, bad[i].why);
        assert_string_equal(o.out, "");
        assert_false(exists("runs-env-bad"));
        out_free(&o);
    }
}

/* Copies src to name with the first `from` in it replaced by `to`. */
static void edit_copy(const char *src, const char *name, const char *from, const char *to)
{
    char *t = slurp(src);
    char *at = strstr(t, from);
    if (!at)
        fail_msg("no \"%s\" in %s", from, src);
    FILE *f = fopen(in_dir(name), "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(at - t), t, to, at + strlen(from));
    fclose(f);
    free(t);
}

static void expect_refusal(const char *const *args, const char *why1, const char *why2)
{
    out o = run(args);
    expect_code(o, 2);
    expect_in(o.err, "edgeloss merge: ");
    expect_in(o.err, why1);
    if (why2)
        expect_in(o.err, why2);
    assert_string_equal(o.out, ""); /* nothing half-merged */
    out_free(&o);
}

static void test_merge_refuses(void **state)
{
    (void)state;
    /* r0..r2: test_three_shards_merge_to_the_whole's shards (1..8, --swarm, 3 shards). */
    assert_true(exists("r0.json") && exists("r1.json") && exists("r2.json"));
    out o = run((const char *[]){"sweep", fixture, "--seeds", "1..9", "--swarm", "--shard", "1/3",
                                 "--result", "x-range.json", "--out", "runs-x", "--quiet", NULL});
    expect_code(o, 1);
    out_free(&o);
    expect_refusal((const char *[]){"merge", "r0.json", "x-range.json", "r2.json", NULL},
                   "r0.json and x-range.json are shards of different sweeps",
                   "their seed ranges differ (seeds 1..8 and seeds 1..9)");
    o = run((const char *[]){"sweep", fixture, "--seeds", "1..8", "--shard", "1/3", "--result",
                             "x-noswarm.json", "--out", "runs-x", "--quiet", NULL});
    expect_code(o, 1);
    out_free(&o);
    expect_refusal((const char *[]){"merge", "r0.json", "x-noswarm.json", "r2.json", NULL},
                   "their --swarm differ (on and off)", NULL);
    o = run((const char *[]){"sweep", fixture, "--seeds", "1..8", "--swarm", "--shard", "1/3",
                             "--variant", "threshold", "--result", "x-variant.json", "--out",
                             "runs-x", "--quiet", NULL});
    expect_code(o, 1);
    out_free(&o);
    expect_refusal((const char *[]){"merge", "r0.json", "x-variant.json", "r2.json", NULL},
                   "their --variant differ (every variant and threshold)", NULL);
    /* A missing shard, one twice. */
    expect_refusal((const char *[]){"merge", "r0.json", "r2.json", NULL},
                   "shard 1 of 3 (seeds 3..5) is missing", NULL);
    expect_refusal((const char *[]){"merge", "r0.json", "r1.json", "r1.json", "r2.json", NULL},
                   "r1.json: shard 1 of 3 is given twice", NULL);
    /* Edited result files: another binary, an interrupted shard. */
    edit_copy("r1.json", "x-binary.json", "\"binary\":\t\"edgeloss ",
              "\"binary\":\t\"edgeloss 9.9.9 ");
    expect_refusal((const char *[]){"merge", "r0.json", "x-binary.json", "r2.json", NULL},
                   "their edgeloss binaries differ", "9.9.9");
    edit_copy("r1.json", "x-part.json", "\"complete\":\ttrue", "\"complete\":\tfalse");
    expect_refusal((const char *[]){"merge", "r0.json", "x-part.json", "r2.json", NULL},
                   "x-part.json: shard 1 of 3 was interrupted", NULL);
    /* Not result files: the --json summary, XML, nothing. */
    expect_refusal((const char *[]){"merge", "w1.json", NULL}, "w1.json: $.kind",
                   "the --json summary cannot be merged");
    expect_refusal((const char *[]){"merge", "r0.json", "w1.xml", NULL},
                   "w1.xml: $: not valid JSON", NULL);
    expect_refusal((const char *[]){"merge", "r0.json", "no-such.json", NULL},
                   "no-such.json: cannot read", NULL);
    expect_refusal((const char *[]){"merge", NULL}, "which result files?", NULL);

    /* A scenario file changed between shards, under the same path: one byte of its
     * description. The same shards of the unchanged file merge. */
    mkdir(in_dir("edit"), 0777);
    edit_copy(fixture, "edit/small.json", "\"description\"", "\"description\"");
    char *path = strdup(in_dir("edit/small.json"));
    for (int i = 0; i < 3; i++) {
        char sh[8], res[32];
        snprintf(sh, sizeof sh, "%d/3", i);
        snprintf(res, sizeof res, "c%d.json", i);
        if (i == 2) { /* "Small enough" -> "Small Enough" */
            edit_copy(fixture, "edit/small.json", "Small enough", "Small Enough");
            snprintf(res, sizeof res, "c2-changed.json");
        }
        o = run((const char *[]){"sweep", path, "--seeds", "1..3", "--variant", "threshold",
                                 "--shard", sh, "--result", res, "--out", "runs-c", "--quiet",
                                 NULL});
        expect_code(o, 1);
        out_free(&o);
    }
    expect_refusal((const char *[]){"merge", "c0.json", "c1.json", "c2-changed.json", NULL},
                   "c0.json and c2-changed.json are shards of different sweeps",
                   "their scenario contents differ");
    edit_copy(fixture, "edit/small.json", "\"description\"", "\"description\"");
    o = run((const char *[]){"sweep", path, "--seeds", "1..3", "--variant", "threshold", "--shard",
                             "2/3", "--result", "c2.json", "--out", "runs-c", "--quiet", NULL});
    expect_code(o, 1);
    out_free(&o);
    o = run((const char *[]){"merge", "c0.json", "c1.json", "c2.json", NULL});
    expect_code(o, 1);
    char first[4400];
    snprintf(first, sizeof first, "sweep %s: seeds 1..3, 3 runs\n", path);
    assert_int_equal(strncmp(o.out, first, strlen(first)), 0);
    out_free(&o);
    /* Another shard count. */
    o = run((const char *[]){"sweep", path, "--seeds", "1..3", "--variant", "threshold", "--shard",
                             "1/2", "--result", "c-count.json", "--out", "runs-c", "--quiet",
                             NULL});
    expect_code(o, 1);
    out_free(&o);
    expect_refusal((const char *[]){"merge", "c0.json", "c-count.json", "c2.json", NULL},
                   "their shard counts differ (3 shards and 2 shards)", NULL);
    /* Another path (the same bytes): another scenario file. */
    expect_refusal((const char *[]){"merge", "r0.json", "c1.json", NULL},
                   "their scenario files differ", path);
    free(path);
}

/* ---------------------------------------------------------------- reproducing */

/* Runs a failure entry's reproduce command in a directory of its own and checks that the
 * run fails the same check with the same measured value, and the same swarm. */
static void reproduce(const cJSON *failure, const char *variant, const char *where)
{
    const char *cmd = get(failure, "reproduce")->valuestring;
    int seed = get(failure, "seed")->valueint;
    mkdir(in_dir(where), 0777);
    char line[8400];
    snprintf(line, sizeof line, "cd '%s' && %s", in_dir(where), cmd);
    out o = shell(line);
    expect_code(o, 1);
    const cJSON *want = cJSON_GetArrayItem(get(failure, "checks"), 0);
    char fail_line[512];
    snprintf(fail_line, sizeof fail_line, "  FAIL %s: %s\n", get(want, "check")->valuestring,
             get(want, "detail")->valuestring);
    expect_in(o.out, fail_line);
    char rel[512];
    snprintf(rel, sizeof rel, "%s/runs/small/%s/seed-%d/summary.json", where, variant, seed);
    cJSON *sum = read_json(rel);
    assert_int_equal(get(sum, "seed")->valueint, seed);
    const cJSON *got = cJSON_GetArrayItem(get(sum, "checks"), 0);
    assert_string_equal(get(got, "check")->valuestring, get(want, "check")->valuestring);
    assert_true(cJSON_IsFalse(get(got, "pass")));
    assert_true(get(got, "measured")->valuedouble == get(want, "measured")->valuedouble);
    assert_string_equal(get(got, "detail")->valuestring, get(want, "detail")->valuestring);
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(failure, "swarm");
    if (sw) {
        assert_true(cJSON_Compare(get(sum, "swarm"), sw, true));
        static const char *const fam[] = {"network", "ingest", "runtime"};
        char words[128];
        snprintf(words, sizeof words, "swarm: network %s, ingest %s, runtime %s",
                 cJSON_IsTrue(get(sw, fam[0])) ? "on" : "off",
                 cJSON_IsTrue(get(sw, fam[1])) ? "on" : "off",
                 cJSON_IsTrue(get(sw, fam[2])) ? "on" : "off");
        expect_in(o.out, words);
    } else {
        assert_null(cJSON_GetObjectItemCaseSensitive(sum, "swarm"));
    }
    cJSON_Delete(sum);
    out_free(&o);
}

/* Random kills are the runtime family's: a seed that switches it off has none. */
static void test_swarm_switches_random_kills(void **state)
{
    (void)state;
    char *path = t_write_file(
        dir, "kills.json",
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 2, \"duration_s\": 120,"
        " \"drain_s\": 10},"
        " \"runtime\": {\"idle_timeout\": {\"fixed_s\": 300}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"faults\": {\"kill_isolates_per_hour\": 600},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"r\", \"do\": [{\"cpu\": {\"fixed_ms\": "
        "1}}]}},"
        " {\"respond\": {}}]}}");
    int seen[2] = {0, 0};
    for (uint64_t seed = 1; seed <= 8 && !(seen[0] && seen[1]); seed++) {
        bool on = flt_swarm_on(seed) >> FLT_FAM_RUNTIME & 1;
        if (seen[on])
            continue;
        seen[on] = 1;
        char sd[32], out_dir[64], sum[128];
        snprintf(sd, sizeof sd, "%" PRIu64, seed);
        snprintf(out_dir, sizeof out_dir, "runs-k%" PRIu64, seed);
        out o = run((const char *[]){"run", "kills.json", "--seed", sd, "--swarm", "--out", out_dir,
                                     "--quiet", NULL});
        expect_code(o, 0);
        expect_in(o.out, on ? "swarm: runtime on" : "swarm: runtime off");
        out_free(&o);
        snprintf(sum, sizeof sum, "%s/baseline/seed-%" PRIu64 "/summary.json", out_dir, seed);
        cJSON *j = read_json(sum);
        assert_true(cJSON_IsTrue(get(get(j, "swarm"), "runtime")) == on);
        double kills = get(get(get(j, "faults"), "fired"), "kill")->valuedouble;
        if (on)
            assert_true(kills > 0); /* 600 an hour over two minutes: about 20 */
        else
            assert_true(kills == 0);
        cJSON_Delete(j);
    }
    assert_true(seen[0] && seen[1]);
    free(path);
}

static void test_reproduce_commands(void **state)
{
    (void)state;
    cJSON *j = read_json("w1.json");
    const cJSON *tf = get(variant_of(j, "threshold"), "failures");
    const cJSON *imf = get(variant_of(j, "immediate"), "failures");
    reproduce(cJSON_GetArrayItem(tf, 0), "threshold", "repro-t3"); /* 3 */
    reproduce(cJSON_GetArrayItem(imf, cJSON_GetArraySize(imf) - 1), "immediate",
              "repro-i8"); /* 8 */
    cJSON_Delete(j);
    /* Without --swarm: the command has none, the run no swarm. */
    out o = run((const char *[]){"sweep", fixture, "--seeds", "4", "--variant", "immediate",
                                 "--json", "ns.json", "--out", "runs-ns", "--quiet", NULL});
    expect_code(o, 1);
    out_free(&o);
    j = read_json("ns.json");
    const cJSON *f = cJSON_GetArrayItem(get(variant_of(j, "immediate"), "failures"), 0);
    assert_null(strstr(get(f, "reproduce")->valuestring, "--swarm"));
    assert_null(cJSON_GetObjectItemCaseSensitive(f, "swarm"));
    assert_int_equal(get(f, "seed")->valueint, 4);
    reproduce(f, "immediate", "repro-ns");
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------- exit codes, --keep */

static void test_exit_codes_and_keep(void **state)
{
    (void)state;
    /* Every seed passing: 0, and no run directory stays (nor the variant's folder). */
    out o = run((const char *[]){"sweep", fixture, "--seeds", "4..5", "--swarm", "--variant",
                                 "threshold", "--json", "pass.json", "--out", "keep-pass",
                                 "--quiet", NULL});
    expect_code(o, 0);
    expect_in(o.out, "variant threshold: 2 runs: 2 pass, 0 fail, 0 unverified, 0 error\n");
    expect_in(o.out, "\nevery seed passes every check\n");
    assert_null(strstr(o.out, "variant immediate"));
    cJSON *j = read_json("pass.json");
    assert_int_equal(get(j, "exit_code")->valueint, 0);
    assert_string_equal(get(j, "variant")->valuestring, "threshold");
    cJSON_Delete(j);
    assert_true(exists("keep-pass"));
    assert_false(exists("keep-pass/threshold"));
    out_free(&o);

    /* Seed 3 fails, 4 passes: by default the failing run's directory stays. */
    static const struct {
        const char *keep, *out;
        bool seed3, seed4, folder;
    } keeps[] = {
        {NULL, "keep-default", true, false, true},
        {"failing", "keep-failing", true, false, true},
        {"all", "keep-all", true, true, true},
        {"none", "keep-none", false, false, false},
    };
    for (size_t i = 0; i < sizeof keeps / sizeof keeps[0]; i++) {
        const char *args[20] = {"sweep",     fixture,     "--seeds", "3..4",       "--swarm",
                                "--variant", "threshold", "--out",   keeps[i].out, "--quiet"};
        if (keeps[i].keep) {
            args[10] = "--keep";
            args[11] = keeps[i].keep;
        }
        o = run(args);
        expect_code(o, 1);
        char p[256];
        snprintf(p, sizeof p, "%s/threshold/seed-3/summary.json", keeps[i].out);
        if (exists(p) != keeps[i].seed3)
            fail_msg("--keep %s: seed 3 %s", keeps[i].keep, keeps[i].seed3 ? "gone" : "kept");
        snprintf(p, sizeof p, "%s/threshold/seed-3/ledger.db", keeps[i].out);
        assert_true(exists(p) == keeps[i].seed3);
        snprintf(p, sizeof p, "%s/threshold/seed-4", keeps[i].out);
        if (exists(p) != keeps[i].seed4)
            fail_msg("--keep %s: seed 4 %s", keeps[i].keep, keeps[i].seed4 ? "gone" : "kept");
        snprintf(p, sizeof p, "%s/threshold", keeps[i].out);
        assert_true(exists(p) == keeps[i].folder);
        out_free(&o);
    }

    /* Usage and input: 2, with the reason, before any run. */
    static const struct {
        const char *args[12], *why;
    } bad[] = {
        {{"--seeds", "8..1"}, "--seeds 8..1: the last seed is before the first"},
        {{"--seeds", "x"}, "--seeds x: expected FIRST..LAST"},
        {{"--seeds", "1..100000001"}, "more than 100000000 seeds"},
        {{"--seeds", "9007199254740992"}, "2^53 - 1"},
        {{NULL}, "which seeds?"},
        {{"--seeds", "1..8", "--shard", "3/3"}, "index 3 is not below the count 3"},
        {{"--seeds", "1..8", "--shard", "1"}, "--shard 1: expected INDEX/COUNT"},
        {{"--seeds", "1..8", "--shard", "0/0"}, "COUNT 0"},
        {{"--seeds", "1..8", "--variant", "nope"},
         "no variant named \"nope\" (variants: \"threshold\" \"immediate\")"},
        {{"--seeds", "1..8", "--jobs", "0"}, "--jobs 0: expected a whole number from 1 to 256"},
        {{"--seeds", "1..8", "--keep", "some"}, "--keep some: expected failing, all or none"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[20] = {"sweep", fixture};
        size_t n = 2;
        for (size_t k = 0; bad[i].args[k]; k++)
            args[n++] = bad[i].args[k];
        args[n++] = "--out";
        args[n++] = "runs-bad";
        args[n] = NULL;
        o = run(args);
        expect_code(o, 2);
        expect_in(o.err, bad[i].why);
        assert_string_equal(o.out, "");
        assert_false(exists("runs-bad"));
        out_free(&o);
    }
    /* Bad scenario files: missing, not JSON, not a scenario. */
    FILE *f = fopen(in_dir("broken.json"), "w");
    fputs("{\"workload\": {\"rate_per_s\": ", f);
    fclose(f);
    f = fopen(in_dir("wrong.json"), "w");
    fputs("{\"workload\": {\"rate_per_s\": \"x\"}, \"app\": {\"handler\": []}}", f);
    fclose(f);
    static const char *const files[] = {"no-such-scenario.json", "broken.json", "wrong.json"};
    for (size_t i = 0; i < 3; i++) {
        o = run((const char *[]){"sweep", in_dir(files[i]), "--seeds", "1..2", "--out", "runs-bad",
                                 NULL});
        expect_code(o, 2);
        expect_in(o.err, "edgeloss sweep: ");
        expect_in(o.err, files[i]);
        assert_string_equal(o.out, "");
        assert_false(exists("runs-bad"));
        out_free(&o);
    }
    o = run((const char *[]){"sweep", "--help", NULL});
    expect_code(o, 0);
    expect_in(o.out, "usage: edgeloss sweep SCENARIO --seeds A..B");
    out_free(&o);
    o = run((const char *[]){"merge", "--help", NULL});
    expect_code(o, 0);
    expect_in(o.out, "usage: edgeloss merge RESULT...");
    out_free(&o);
}

/* Interrupted: 130, the files say incomplete, and such a result does not merge. */
static void test_interrupt(void **state)
{
    (void)state;
    const char *argv[] = {bin,      "sweep",   fixture, "--seeds",  "1..300",  "--result", "i.json",
                          "--json", "ij.json", "--out", "runs-int", "--quiet", NULL};
    out o = spawn(argv, NULL, "runs-int/threshold/seed-1");
    expect_code(o, 130);
    expect_in(o.out, "(interrupted: incomplete)");
    cJSON *j = read_json("ij.json");
    assert_true(cJSON_IsFalse(get(j, "complete")));
    assert_int_equal(get(j, "exit_code")->valueint, 130);
    cJSON_Delete(j);
    j = read_json("i.json");
    assert_true(cJSON_IsFalse(get(j, "complete")));
    cJSON_Delete(j);
    out_free(&o);
    expect_refusal((const char *[]){"merge", "i.json", NULL},
                   "i.json: shard 0 of 1 was interrupted", NULL);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PATH-TO-EDGELOSS PATH-TO-JUNIT-XSD\n", argv[0]);
        return 2;
    }
    /* Absolute: the commands run inside the test directory. */
    static char paths[2][4096];
    for (int i = 0; i < 2; i++)
        if (!realpath(argv[i + 1], paths[i]))
            return 2;
    bin = paths[0];
    xsd = paths[1];
    if (!realpath(FIXTURES_DIR "/sweep/small.json", fixture))
        return 2;
    dir = t_mkdtemp();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_2_equals_jobs_1),
        cmocka_unit_test(test_three_shards_merge_to_the_whole),
        cmocka_unit_test(test_shard_from_the_environment),
        cmocka_unit_test(test_merge_refuses),
        cmocka_unit_test(test_swarm_switches_random_kills),
        cmocka_unit_test(test_reproduce_commands),
        cmocka_unit_test(test_exit_codes_and_keep),
        cmocka_unit_test(test_interrupt),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    rm_tree(dir);
    free(dir);
    return rc;
}
