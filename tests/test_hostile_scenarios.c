/*
 * Hostile scenario files and command lines, as data: tests/hostile/expected.json lists
 * each file of tests/hostile/scenarios/ with the exit code and the stderr text it must
 * give. Every case also must not crash, hang (60 s) or, when refused, write a run
 * directory. The cases that cannot be files in the tree (a 70 MB file, a FIFO, a
 * directory, a run directory another run holds, a full disk) are made here.
 * Usage: test_hostile_scenarios PATH-TO-EDGELOSS
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bin;
static char *dir;

typedef struct out {
    int code; /* exit status; -signal when killed (SIGALRM: a hang) */
    char *err;
} out;

/* Runs edgeloss with args (NULL-terminated); stdout goes to `stdout_path` (NULL: a file). */
static out run(const char *const *args, const char *stdout_path)
{
    char *po = t_path(dir, "stdout"), *pe = t_path(dir, "stderr");
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(stdout_path ? stdout_path : po, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        const char *argv[32] = {bin};
        for (int i = 0; args[i] && i < 30; i++)
            argv[i + 1] = args[i];
        alarm(60); /* survives exec: a hang ends as SIGALRM */
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    out o = {WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st), t_read_file(pe, NULL)};
    if (!o.err)
        o.err = strdup("");
    free(po);
    free(pe);
    return o;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_cases_from_the_manifest(void **state)
{
    (void)state;
    char *manifest = t_read_file(HOSTILE_DIR "/expected.json", NULL);
    assert_non_null(manifest);
    cJSON *cases = cJSON_Parse(manifest);
    assert_true(cJSON_IsArray(cases));
    int n = 0, bad = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const char *file = cJSON_GetObjectItem(c, "file")->valuestring;
        int want = cJSON_GetObjectItem(c, "exit")->valueint;
        const char *msg = cJSON_GetObjectItem(c, "stderr")->valuestring;
        char path[1024], outdir[1024];
        snprintf(path, sizeof path, "%s/scenarios/%s", HOSTILE_DIR, file);
        snprintf(outdir, sizeof outdir, "%s/run-%d", dir, n++);
        const char *args[32] = {"run", path, "--brief"};
        int k = 3;
        const cJSON *extra = cJSON_GetObjectItem(c, "args");
        bool own_out = false;
        const cJSON *a;
        cJSON_ArrayForEach(a, extra)
        {
            own_out |= strcmp(a->valuestring, "--out") == 0;
            args[k++] = a->valuestring;
        }
        if (!own_out) {
            args[k++] = "--out";
            args[k++] = outdir;
        }
        args[k] = NULL;
        out o = run(args, NULL);
        bool ok = o.code == want && strstr(o.err, msg) != NULL;
        /* Refused before running: nothing of it may be on disk. */
        if (ok && want == 2 && exists(outdir)) {
            fprintf(stderr, "%s: refused, yet wrote %s\n", file, outdir);
            ok = false;
        }
        if (!ok) {
            bad++;
            fprintf(stderr, "%s: expected exit %d and \"%s\", got %d: %s\n", file, want, msg,
                    o.code, o.err);
        }
        free(o.err);
    }
    fprintf(stderr, "%d hostile scenario cases, %d wrong\n", n, bad);
    assert_true(n >= 40);
    assert_int_equal(bad, 0);
    cJSON_Delete(cases);
    free(manifest);
}

static const char *tiny = "{\"workload\": {\"requests\": 2}, \"app\": {\"handler\": "
                          "[{\"span\": {\"name\": \"s\", \"do\": []}}, {\"respond\": {}}]},"
                          " \"exporter\": {\"strategy\": \"immediate\"}}";

static char *write_file(const char *name, const char *text)
{
    char *p = t_path(dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void expect(out o, int code, const char *msg)
{
    if (o.code != code || !strstr(o.err, msg))
        fprintf(stderr, "expected exit %d and \"%s\", got %d: %s\n", code, msg, o.code, o.err);
    assert_int_equal(o.code, code);
    assert_non_null(strstr(o.err, msg));
    free(o.err);
}

static void test_files_that_are_not_scenarios(void **state)
{
    (void)state;
    /* 70 MB: refused by its size, before it is read (a sparse file costs no disk). */
    char *big = t_path(dir, "big.json");
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 70 << 20), 0);
    close(fd);
    expect(run((const char *[]){"run", big, NULL}, NULL), 2,
           "larger than the 64 MiB a scenario file may have");
    /* A FIFO with no writer would block open() and read(): refused at once. */
    char *fifo = t_path(dir, "fifo.json");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    expect(run((const char *[]){"run", fifo, NULL}, NULL), 2, "not a regular file");
    expect(run((const char *[]){"run", dir, NULL}, NULL), 2,
           "expected a scenario file, got a directory");
    free(big);
    free(fifo);
}

static void test_a_run_directory_has_one_writer(void **state)
{
    (void)state;
    char *scn = write_file("tiny.json", tiny);
    char *out_dir = t_path(dir, "locked");
    assert_int_equal(mkdir(out_dir, 0755), 0);
    char *lock = t_path(out_dir, ".lock");
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0); /* as a running edgeloss holds it */
    expect(run((const char *[]){"run", scn, "--out", out_dir, NULL}, NULL), 2,
           "another edgeloss run is writing this run directory");
    char *variant_dir = t_path(out_dir, "baseline");
    assert_false(exists(variant_dir));
    free(variant_dir);
    close(fd); /* released: the next run may write */
    out o = run((const char *[]){"run", scn, "--out", out_dir, NULL}, NULL);
    assert_int_equal(o.code, 0);
    free(o.err);
    char *summary = t_path(out_dir, "baseline/seed-1/summary.json");
    assert_true(exists(summary));
    free(summary);
    free(lock);
    free(out_dir);
    free(scn);
}

static void test_write_errors_fail_the_run(void **state)
{
    (void)state;
    char *scn = write_file("tiny2.json", tiny);
    char *out_dir = t_path(dir, "full");
    expect(run((const char *[]){"run", scn, "--out", out_dir, "--events", "/dev/full", NULL}, NULL),
           3, "/dev/full: write failed: No space left on device");
    expect(run((const char *[]){"run", scn, "--out", out_dir, "--trace", "/dev/full", NULL}, NULL),
           3, "/dev/full: write failed");
    expect(run((const char *[]){"run", scn, "--out", out_dir, NULL}, "/dev/full"), 3,
           "standard output: write failed");
    free(out_dir);
    free(scn);
}

/* A variant named to escape lands inside --out, under its slug. */
static void test_variant_names_stay_inside_the_run_directory(void **state)
{
    (void)state;
    char *scn = write_file(
        "escape.json", "{\"workload\": {\"requests\": 1}, \"app\": {\"handler\": [{\"respond\": "
                       "{}}]}, \"exporter\": {\"strategy\": \"immediate\"}, \"variants\": "
                       "[{\"name\": \"../../escaped\"}]}");
    char *out_dir = t_path(dir, "esc/inner");
    out o = run((const char *[]){"run", scn, "--out", out_dir, NULL}, NULL);
    assert_int_equal(o.code, 0);
    free(o.err);
    char *inside = t_path(out_dir, ".._.._escaped/seed-1/ledger.db");
    char *outside = t_path(dir, "escaped");
    assert_true(exists(inside));
    assert_false(exists(outside));
    free(inside);
    free(outside);
    free(out_dir);
    free(scn);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_hostile_scenarios PATH-TO-EDGELOSS\n");
        return 2;
    }
    bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    dir = t_mkdtemp();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_from_the_manifest),
        cmocka_unit_test(test_files_that_are_not_scenarios),
        cmocka_unit_test(test_a_run_directory_has_one_writer),
        cmocka_unit_test(test_write_errors_fail_the_run),
        cmocka_unit_test(test_variant_names_stay_inside_the_run_directory),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    /* t_rmtree removes one level; the run directories are deeper. */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
    return rc;
}
