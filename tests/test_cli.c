/*
 * The `edgeloss` command as users run it: exit codes (0 ok, 2 bad input or
 * usage), stdout byte-for-byte identical across runs, the run directory.
 * Usage: test_cli PATH-TO-EDGELOSS
 */
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bin;
static char *dir;

typedef struct out {
    int code;
    char *out, *err;
} out;

static out run(const char *const *args)
{
    char *po = t_path(dir, "stdout"), *pe = t_path(dir, "stderr");
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        const char *argv[16] = {bin};
        for (int i = 0; args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    out o = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, t_read_file(po, NULL), t_read_file(pe, NULL)};
    free(po);
    free(pe);
    return o;
}

static void out_free(out *o)
{
    free(o->out);
    free(o->err);
}

static char *write_file(const char *name, const char *text)
{
    char *p = t_path(dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static const char *good =
    "{\"seed\": 5, \"workload\": {\"rate_per_s\": 20, \"duration_s\": 120},"
    " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"exponential_ms\": 30}}},"
    " {\"respond\": {}}]}}";

static void test_run_is_deterministic(void **state)
{
    (void)state;
    char *p = write_file("good.json", good);
    const char *args[] = {"run", p, NULL};
    out a = run(args), b = run(args);
    assert_int_equal(a.code, 0);
    assert_int_equal(strncmp(a.out, "seed 5\n", 7), 0);
    assert_string_equal(a.out, b.out);
    assert_non_null(strstr(a.err, "wall time")); /* wall time only on stderr */
    assert_null(strstr(a.out, "wall"));
    const char *seeded[] = {"run", p, "--seed", "6", NULL};
    out c = run(seeded);
    assert_int_equal(c.code, 0);
    assert_int_equal(strncmp(c.out, "seed 6\n", 7), 0);
    assert_string_not_equal(strstr(a.out, "log hash"), strstr(c.out, "log hash"));
    out_free(&a);
    out_free(&b);
    out_free(&c);
    free(p);
}

static void test_out_dir(void **state)
{
    (void)state;
    char *p = write_file("good.json", good);
    char *od = t_path(dir, "run1");
    const char *args[] = {"run", p, "--out", od, NULL};
    out a = run(args);
    assert_int_equal(a.code, 0);
    char *vd = t_path(od, "baseline");
    char *sp = t_path(vd, "summary.json");
    char *js = t_read_file(sp, NULL);
    assert_non_null(js);
    const char *h = strstr(a.out, "log hash: ");
    assert_non_null(h);
    char hash[17];
    memcpy(hash, h + 10, 16);
    hash[16] = 0;
    assert_non_null(strstr(js, hash));
    assert_non_null(strstr(js, "\"seed\": 5"));
    free(js);
    unlink(sp);
    rmdir(vd);
    rmdir(od);
    free(sp);
    free(vd);
    free(od);
    out_free(&a);
    free(p);
}

static void test_bad_input_exits_2(void **state)
{
    (void)state;
    char *p = write_file("bad.json", "{\"workload\": {\"rate_per_s\": \"fast\"}, \"app\": "
                                     "{\"handler\": [{\"respond\": {}}]}}");
    const char *bad[] = {"run", p, NULL};
    out o = run(bad);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.err, "bad.json: $.workload.rate_per_s: expected a number"));
    assert_string_equal(o.out, "");
    out_free(&o);
    const char *missing[] = {"run", "/nonexistent.json", NULL};
    o = run(missing);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.err, "/nonexistent.json: cannot open"));
    out_free(&o);
    const char *opt[] = {"run", p, "--frobnicate", NULL};
    o = run(opt);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.err, "unknown option --frobnicate"));
    out_free(&o);
    const char *seed[] = {"run", p, "--seed", "-4", NULL};
    o = run(seed);
    assert_int_equal(o.code, 2);
    out_free(&o);
    const char *none[] = {NULL};
    o = run(none);
    assert_int_equal(o.code, 2);
    out_free(&o);
    const char *cmd[] = {"fly", NULL};
    o = run(cmd);
    assert_int_equal(o.code, 2);
    out_free(&o);
    const char *keys[] = {"keys", NULL};
    o = run(keys);
    assert_int_equal(o.code, 0);
    assert_non_null(strstr(o.out, "| `runtime.idle_timeout` |"));
    out_free(&o);
    free(p);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-EDGELOSS\n", argv[0]);
        return 2;
    }
    bin = argv[1];
    dir = t_mkdtemp();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_is_deterministic),
        cmocka_unit_test(test_out_dir),
        cmocka_unit_test(test_bad_input_exits_2),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    t_rmtree(dir);
    free(dir);
    return rc;
}
