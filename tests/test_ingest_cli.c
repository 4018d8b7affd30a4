/*
 * The `mock-ingest` command line as users type it: -h/--help and --version exit 0 with
 * their text on stdout, `--opt VALUE` and `--opt=VALUE` are the same, a missing or empty
 * value and an unknown option (with a did-you-mean) are usage errors: exit 2, the message
 * and the usage on stderr, nothing on stdout.
 * Usage: test_ingest_cli PATH-TO-MOCK-INGEST
 */
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef EDGELOSS_VERSION
#error "EDGELOSS_VERSION (the CMake project version) must be defined"
#endif

static const char *bin;
static char *dir;

typedef struct out {
    int code;
    char *out, *err;
} out;

/* Runs the binary with args (NULL-terminated), to completion. */
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
    assert_true(pid > 0);
    int st;
    waitpid(pid, &st, 0);
    out o = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, t_read_file(po, NULL), t_read_file(pe, NULL)};
    assert_non_null(o.out);
    assert_non_null(o.err);
    free(po);
    free(pe);
    return o;
}

static void out_free(out *o)
{
    free(o->out);
    free(o->err);
}

static void starts_with(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("expected to start with \"%s\", got \"%s\"", prefix, s);
}

static void contains(const char *s, const char *needle)
{
    if (!strstr(s, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, s);
}

/* A usage error: exit 2, nothing on stdout, `msg` as the first line of stderr, usage after. */
static void usage_error(const char *const *args, const char *msg)
{
    out o = run(args);
    assert_int_equal(o.code, 2);
    assert_string_equal(o.out, "");
    char line[512];
    snprintf(line, sizeof line, "mock-ingest: %s\nusage: mock-ingest ", msg);
    starts_with(o.err, line);
    out_free(&o);
}

static void test_help(void **state)
{
    (void)state;
    const char *a1[] = {"--help", NULL};
    const char *a2[] = {"-h", NULL};
    /* wherever it is, and whatever else is wrong on the line */
    const char *a3[] = {"--db", "x.db", "--listen", "127.0.0.1:0", "-h", NULL};
    const char *a4[] = {"--frob", "--help", NULL};
    const char *a5[] = {"--db", "--help", NULL};
    const char *const *all[] = {a1, a2, a3, a4, a5};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) {
        out o = run(all[k]);
        assert_int_equal(o.code, 0);
        starts_with(o.out, "usage: mock-ingest ");
        contains(o.out, "--listen HOST:PORT");
        contains(o.out, "--version");
        contains(o.out, "--opt=VALUE");
        assert_string_equal(o.err, "");
        out_free(&o);
    }
    /* no database was created by a3 */
    char *p = t_path(dir, "x.db");
    assert_int_not_equal(access(p, F_OK), 0);
    free(p);
}

static void test_version(void **state)
{
    (void)state;
    const char *a1[] = {"--version", NULL};
    const char *a2[] = {"--db", "y.db", "--version", NULL};
    const char *const *all[] = {a1, a2};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) {
        out o = run(all[k]);
        assert_int_equal(o.code, 0);
        assert_string_equal(o.out, "mock-ingest " EDGELOSS_VERSION "\n");
        assert_string_equal(o.err, "");
        out_free(&o);
    }
}

static void test_unknown_option(void **state)
{
    (void)state;
    /* it used to say "--frob needs a value" when it was the last argument */
    const char *a1[] = {"--frob", NULL};
    usage_error(a1, "unknown option --frob");
    const char *a2[] = {"--db", "x.db", "--frob", "1", NULL};
    usage_error(a2, "unknown option --frob");
    const char *a3[] = {"--lisen", "127.0.0.1:0", "--db", "x.db", NULL};
    usage_error(a3, "unknown option --lisen (did you mean --listen?)");
    const char *a4[] = {"--lisen=127.0.0.1:0", NULL};
    usage_error(a4, "unknown option --lisen (did you mean --listen?)");
    const char *a5[] = {"--conifg", "c.json", NULL}; /* a transposition is one edit */
    usage_error(a5, "unknown option --conifg (did you mean --config?)");
    const char *a6[] = {"--trust", NULL}; /* the start of an option */
    usage_error(a6, "unknown option --trust (did you mean --trust-sim-headers?)");
    const char *a7[] = {"-db", "x.db", NULL};
    usage_error(a7, "unknown option -db (did you mean --db?)");
    const char *a8[] = {"--verison", NULL};
    usage_error(a8, "unknown option --verison (did you mean --version?)");
    const char *a9[] = {"--x", NULL}; /* nothing close */
    usage_error(a9, "unknown option --x");
    const char *a10[] = {"--db", "x.db", "stray", NULL};
    usage_error(a10, "unexpected argument stray");
    const char *a11[] = {"--trust-sim-headers=yes", "--db", "x.db", NULL};
    usage_error(a11, "--trust-sim-headers takes no value");
    char *p = t_path(dir, "x.db");
    assert_int_not_equal(access(p, F_OK), 0);
    free(p);
}

static void test_missing_value(void **state)
{
    (void)state;
    const char *a1[] = {"--db", NULL};
    usage_error(a1, "--db needs a value");
    const char *a2[] = {"--db", "--listen", "127.0.0.1:0", NULL};
    usage_error(a2, "--db needs a value");
    const char *a3[] = {"--db", "x.db", "--listen", NULL};
    usage_error(a3, "--listen needs a value");
    const char *a4[] = {"--config", "--trust-sim-headers", "--db", "x.db", NULL};
    usage_error(a4, "--config needs a value");
    const char *a5[] = {"--db=", NULL};
    usage_error(a5, "--db needs a value");
    const char *a6[] = {"--db", "", NULL};
    usage_error(a6, "--db needs a value");
    const char *a7[] = {"--db", "x.db", "--listen=", NULL};
    usage_error(a7, "--listen needs a value");
    const char *a8[] = {"--listen", "127.0.0.1:0", NULL};
    usage_error(a8, "--db FILE is required");
    char *p = t_path(dir, "x.db");
    assert_int_not_equal(access(p, F_OK), 0);
    free(p);
}

/* `=VALUE` reaches the option: a bad value gives that option's own error, naming it. */
static void test_equals_value_is_parsed(void **state)
{
    (void)state;
    char *db = t_path(dir, "x.db");
    char dbarg[512];
    snprintf(dbarg, sizeof dbarg, "--db=%s", db);
    const char *a1[] = {"--listen=nowhere", dbarg, NULL};
    out o = run(a1);
    assert_int_equal(o.code, 2);
    assert_string_equal(o.out, "");
    starts_with(o.err, "mock-ingest: --listen nowhere: expected HOST:PORT");
    out_free(&o);

    char *cfg = t_path(dir, "missing.json");
    char cfgarg[512];
    snprintf(cfgarg, sizeof cfgarg, "--config=%s", cfg);
    const char *a2[] = {dbarg, cfgarg, NULL};
    o = run(a2);
    assert_int_equal(o.code, 2);
    starts_with(o.err, "mock-ingest: ");
    contains(o.err, cfg);
    contains(o.err, "cannot open");
    out_free(&o);
    /* the same with the value as the next argument */
    const char *a3[] = {"--db", db, "--config", cfg, NULL};
    o = run(a3);
    assert_int_equal(o.code, 2);
    contains(o.err, cfg);
    contains(o.err, "cannot open");
    out_free(&o);
    assert_int_not_equal(access(db, F_OK), 0);
    free(cfg);
    free(db);
}

/* The server starts with `=VALUE` options, records into that file, stops on SIGTERM. */
static void test_equals_value_starts_server(void **state)
{
    (void)state;
    char *db = t_path(dir, "eq.db"), *pe = t_path(dir, "server.stderr");
    char dbarg[512];
    snprintf(dbarg, sizeof dbarg, "--db=%s", db);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fds[1], 1);
        dup2(fe, 2);
        close(fds[0]);
        close(fds[1]);
        execl(bin, bin, "--listen=127.0.0.1:0", dbarg, "--trust-sim-headers", (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    assert_non_null(f);
    char url[128] = "";
    char *got = fgets(url, sizeof url, f);
    fclose(f);
    if (!got) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("mock-ingest printed no URL");
    }
    starts_with(url, "http://127.0.0.1:");
    kill(pid, SIGTERM); /* commits what is pending, exits 0 */
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *err = t_read_file(pe, NULL);
    assert_non_null(err);
    char want[600];
    snprintf(want, sizeof want, "recording into %s;", db);
    contains(err, want);
    contains(err, "honoured (--trust-sim-headers)");
    free(err);
    assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM requests"), 0);
    free(pe);
    free(db);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-MOCK-INGEST\n", argv[0]);
        return 2;
    }
    bin = argv[1];
    dir = t_mkdtemp();
    /* relative names such as x.db land in the temporary directory, checked and removed */
    if (!dir || chdir(dir) != 0) {
        fprintf(stderr, "test_ingest_cli: no temporary directory\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_unknown_option),
        cmocka_unit_test(test_missing_value),
        cmocka_unit_test(test_equals_value_is_parsed),
        cmocka_unit_test(test_equals_value_starts_server),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (chdir("/") != 0)
        rc = 1;
    t_rmtree(dir);
    free(dir);
    return rc;
}
