/*
 * Golden runs and determinism. tests/golden/NAME.json is run and its event log
 * and step trace must equal NAME.events and NAME.trace byte for byte (their
 * first line is the seed). Goldens use fixed and uniform distributions only:
 * libm may differ between machines. To re-record after an intended change:
 * EDGELOSS_UPDATE_GOLDEN=1 ./test_golden, then review the diff.
 */
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

static void compare(const char *name, const char *ext, const char *got)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.%s", GOLDEN_DIR, name, ext);
    if (getenv("EDGELOSS_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(got, f);
        fclose(f);
        return;
    }
    char *want = t_read_file(path, NULL);
    if (!want)
        fail_msg("%s is missing", path);
    if (strcmp(want, got) != 0) {
        /* Point at the first differing line. */
        int line = 1;
        size_t i = 0;
        while (want[i] && want[i] == got[i]) {
            if (want[i] == '\n')
                line++;
            i++;
        }
        fail_msg("%s differs from the run at line %d", path, line);
    }
    free(want);
}

static simrun run_golden(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.json", GOLDEN_DIR, name);
    char *json = t_read_file(path, NULL);
    assert_non_null(json);
    simrun s = sim_text(json, -1);
    free(json);
    return s;
}

static void golden(const char *name)
{
    simrun s = run_golden(name);
    compare(name, "events", s.events);
    compare(name, "trace", s.trace);
    simrun_free(&s);
}

static void test_two_requests_flag_log(void **state)
{
    (void)state;
    golden("two_requests_flag_log");
    /* The story the golden tells, in numbers: A took B's entry, B found the global unset;
     * each resolved once more after putting back what it took. (test_shared_state runs the
     * same order with an exporter and reads the entries' fates from the ledger.) */
    simrun s = run_golden("two_requests_flag_log");
    assert_int_equal(s.r.app.global_entries, 4);
    assert_int_equal(s.r.app.global_entries_mixed, 2); /* B's first entry, taken by A twice */
    assert_int_equal(s.r.app.global_entries_lost, 0);
    simrun_free(&s);
}

static void test_three_requests_mixed(void **state)
{
    (void)state;
    golden("three_requests_mixed");
}

static void test_limits_routes_colos(void **state)
{
    (void)state;
    golden("limits_routes_colos");
    simrun s = run_golden("limits_routes_colos");
    /* Each limit is hit in the golden run (its trace shows where). */
    assert_true(s.r.rt.connection_waits > 0);
    assert_true(s.r.rt.subrequests_refused > 0);
    assert_true(s.r.rt.cpu_limited > 0);
    assert_true(s.r.rt.evicted[RT_EVICT_MEMORY] > 0);
    assert_int_equal(s.r.ncolos, 2);
    assert_true(s.r.colos[0].arrived > 0 && s.r.colos[1].arrived > 0);
    simrun_free(&s);
}

static const char *busy =
    "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 50, \"duration_s\": 600},"
    " \"runtime\": {\"idle_timeout\": {\"lognormal_s\": {\"p50\": 20, \"p99\": 200}},"
    "  \"max_concurrency\": 4, \"max_lifetime_s\": 300, \"deploys_s\": [250]},"
    " \"app\": {\"handler\": [{\"span\": {\"name\": \"r\", \"do\": ["
    "  {\"await\": {\"latency\": {\"lognormal_ms\": {\"p50\": 20, \"p99\": 300}}}},"
    "  {\"cpu\": {\"exponential_us\": 300}}, {\"global\": {\"name\": \"G\", \"op\": \"append\"}},"
    "  {\"set_timeout\": {\"delay\": {\"exponential_s\": 5}, \"do\": [{\"metric\": {\"name\": "
    "\"t\"}}]}}]}},"
    "  {\"wait_until\": [{\"await\": {\"latency\": {\"exponential_s\": 10}}}, {\"call\": "
    "\"tracer.flush\"}]},"
    "  {\"respond\": {}}]}}";

/* Same scenario and seed: the same events, trace, summary and hash, in one process. */
static void test_same_seed_same_run(void **state)
{
    (void)state;
    simrun a = sim_text(busy, 11), b = sim_text(busy, 11);
    assert_true(a.r.events > 10000);
    assert_int_equal(a.r.hash, b.r.hash);
    assert_string_equal(a.summary, b.summary);
    assert_string_equal(a.events, b.events);
    assert_string_equal(a.trace, b.trace);
    simrun c = sim_text(busy, 12);
    assert_int_not_equal(a.r.hash, c.r.hash);
    assert_string_not_equal(a.summary, c.summary);
    /* The summary starts with the seed. */
    assert_int_equal(strncmp(a.summary, "seed 11\n", 8), 0);
    simrun_free(&a);
    simrun_free(&b);
    simrun_free(&c);
}

typedef struct arrival {
    long long t;
    unsigned long long n;
} arrival;

/*
 * The arrivals of an event log, in order: time and arrival number (malloc'd). Each line is
 * scanned from a bounded copy: sscanf on the log itself measures all the rest of it on every
 * call, quadratic in the log's length.
 */
static arrival *arrivals_of(const char *log, size_t *n)
{
    arrival *v = NULL;
    size_t cap = 0;
    *n = 0;
    for (const char *p = log; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[256];
        size_t cl = len < sizeof line - 1 ? len : sizeof line - 1;
        memcpy(line, p, cl);
        line[cl] = '\0';
        if (strstr(line, " arrival ")) {
            long long t, seq;
            unsigned long long num;
            assert_int_equal(sscanf(line, "%lld %lld arrival 0 %llu", &t, &seq, &num), 3);
            if (*n == cap) {
                cap = cap ? cap * 2 : 512;
                v = realloc(v, cap * sizeof *v);
                assert_non_null(v);
            }
            v[(*n)++] = (arrival){t, num};
        }
        p = nl ? nl + 1 : p + len;
    }
    return v;
}

/* A change to one subsystem's draws does not move the workload's arrivals. */
static void test_runtime_change_keeps_arrivals(void **state)
{
    (void)state;
    const char *x =
        "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 5, \"duration_s\": 100},"
        " \"runtime\": {\"idle_timeout\": {\"uniform_s\": [1, 3]}},"
        " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"uniform_ms\": [1, 100]}}}]}}";
    const char *y =
        "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 5, \"duration_s\": 100},"
        " \"runtime\": {\"idle_timeout\": {\"uniform_s\": [1, 30]}},"
        " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"uniform_ms\": [1, 900]}}}]}}";
    simrun a = sim_text(x, 3), b = sim_text(y, 3);
    /* Same times and arrival numbers (seqs differ as other events interleave). */
    size_t na, nb;
    arrival *va = arrivals_of(a.events, &na), *vb = arrivals_of(b.events, &nb);
    assert_int_equal(na, nb);
    assert_true(na > 300);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(va[i].t, vb[i].t);
        assert_int_equal(va[i].n, vb[i].n);
    }
    assert_int_not_equal(a.r.hash, b.r.hash);
    free(va);
    free(vb);
    simrun_free(&a);
    simrun_free(&b);
}

/*
 * Every simulator test traces its steps, and a traced run never takes the interpreter's fast
 * paths (an await resumed into another await). Untraced - as `edgeloss run` without --trace -
 * the same scenario must pop exactly the same events. The program awaits in every position
 * the fast path must get right: after an await, at a block's start (handler, span, repeat,
 * waitUntil, timer, once), at a block's end, after and before a fetch, next to CPU steps,
 * on isolates that reach their lifetime with tasks waiting.
 */
static const char *resumes =
    "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 40, \"duration_s\": 20},"
    " \"runtime\": {\"idle_timeout\": {\"uniform_ms\": [5, 400]}, \"max_concurrency\": 3,"
    "  \"max_lifetime_s\": 3,"
    "  \"cold_start\": {\"uniform_ms\": [1, 9]}},"
    " \"app\": {\"handler\": ["
    "  {\"await\": {\"latency\": {\"uniform_ms\": [1, 30]}}},"
    "  {\"await\": {\"latency\": {\"uniform_ms\": [0, 2]}}},"
    "  {\"once\": [{\"await\": {\"latency\": {\"fixed_ms\": 3}}}]},"
    "  {\"span\": {\"name\": \"s\", \"do\": ["
    "   {\"await\": {\"latency\": {\"uniform_ms\": [1, 20]}}},"
    "   {\"cpu\": {\"uniform_us\": [100, 900]}},"
    "   {\"await\": {\"latency\": {\"uniform_ms\": [1, 20]}}},"
    "   {\"await\": {\"latency\": {\"uniform_ms\": [1, 20]}}}]}},"
    "  {\"repeat\": {\"times\": 3, \"do\": ["
    "   {\"await\": {\"latency\": {\"uniform_ms\": [1, 5]}}},"
    "   {\"fetch\": {\"latency\": {\"uniform_ms\": [1, 9]}}},"
    "   {\"await\": {\"latency\": {\"uniform_ms\": [1, 5]}}}]}},"
    "  {\"set_timeout\": {\"delay\": {\"uniform_ms\": [1, 50]}, \"do\": ["
    "   {\"await\": {\"latency\": {\"uniform_ms\": [1, 5]}}},"
    "   {\"await\": {\"latency\": {\"uniform_ms\": [1, 5]}}}, {\"metric\": {\"name\": \"t\"}}]}},"
    "  {\"wait_until\": [{\"await\": {\"latency\": {\"uniform_ms\": [1, 40]}}},"
    "   {\"await\": {\"latency\": {\"uniform_ms\": [1, 40]}}}, {\"call\": \"tracer.flush\"}]},"
    "  {\"await\": {\"latency\": {\"uniform_ms\": [1, 10]}}},"
    "  {\"respond\": {}}]}}";

static void untraced_same_runs(simrun *a, simrun *b)
{
    assert_null(b->trace);
    assert_true(a->r.events > 0);
    assert_int_equal(a->r.events, b->r.events);
    assert_int_equal(a->r.hash, b->r.hash);
    assert_string_equal(a->events, b->events);
    assert_string_equal(a->summary, b->summary);
    /* The interpreter's own counters too (steps and awaits are not in the summary). */
    assert_memory_equal(&a->r.app, &b->r.app, sizeof a->r.app);
    simrun_free(a);
    simrun_free(b);
}

static void untraced_same(const char *json, int64_t seed)
{
    simrun a = sim_text(json, seed), b = sim_text_untraced(json, seed, NULL);
    untraced_same_runs(&a, &b);
}

static void test_untraced_runs_the_same(void **state)
{
    (void)state;
    /* Sizes are kept small: this test also runs under the sanitizers, ~200x slower. */
    for (int64_t seed = 1; seed <= 2; seed++) {
        simrun a = sim_text(resumes, seed), b = sim_text_untraced(resumes, seed, NULL);
        /* The program really awaits into each of those positions, and isolates reach
         * their lifetime with tasks waiting (their task states are recycled). */
        assert_true(a.r.app.awaits > 8000);
        assert_true(trace_count(&a, " fetch") > 2500);
        assert_true(trace_count(&a, "timer await") > 800);
        assert_true(trace_count(&a, "wait_until await") > 800);
        assert_true(a.r.rt.killed > 10);
        untraced_same_runs(&a, &b);
    }
    /* An exporter whose flush suspends the task until its POST is answered, then awaits:
     * the task resumes through run_steps, and only its second await is a fast one. */
    static const char *suspends =
        "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 5, \"duration_s\": 20},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 1}, \"idle_timeout\": {\"uniform_ms\": [50, "
        "900]}},"
        " \"network\": {\"latency\": {\"uniform_ms\": [2, 30]}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"handler\": ["
        "  {\"span\": {\"name\": \"work\", \"do\": [{\"await\": {\"latency\": {\"uniform_ms\": [1, "
        "20]}}}]}},"
        "  {\"wait_until\": [{\"call\": \"tracer.flush\"}, {\"await\": {\"latency\": "
        "{\"uniform_ms\": [1, 9]}}},"
        "   {\"await\": {\"latency\": {\"uniform_ms\": [1, 9]}}}]},"
        "  {\"respond\": {}}]}}";
    char *d1 = t_mkdtemp(), *d2 = t_mkdtemp();
    simrun a = sim_text_in(suspends, 4, d1, NULL), b = sim_text_untraced(suspends, 4, d2);
    assert_true(a.r.posts > 50);
    assert_true(trace_count(&a, "wait_until call tracer.flush") > 50);
    untraced_same_runs(&a, &b);
    t_rmtree(d1);
    t_rmtree(d2);
    free(d1);
    free(d2);
    static const char *const names[] = {"two_requests_flag_log", "three_requests_mixed",
                                        "limits_routes_colos"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.json", GOLDEN_DIR, names[i]);
        char *json = t_read_file(path, NULL);
        assert_non_null(json);
        untraced_same(json, -1);
        free(json);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_requests_flag_log),
        cmocka_unit_test(test_three_requests_mixed),
        cmocka_unit_test(test_limits_routes_colos),
        cmocka_unit_test(test_same_seed_same_run),
        cmocka_unit_test(test_runtime_change_keeps_arrivals),
        cmocka_unit_test(test_untraced_runs_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
