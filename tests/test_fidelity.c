/*
 * Every event takes effect at its instant, even inside a CPU step: endings that fall
 * inside a segment (the run's end, a deploy, an isolate's lifetime, a random kill, a memory
 * crossing, the waitUntil deadline) stop it there, and an isolate goes idle from the instant its
 * last request ended. Each case is one request on one isolate whose fates, causes and
 * instants are worked out here by hand, with the boundaries: the ending at the step's
 * start, at its end, and one nanosecond either side.
 */
#include "simtest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL
#define S  1000000000LL

/* Runs with the immediate exporter against the embedded ingest, so fates are verified. */
static simrun run(const char *json)
{
    char *dir = t_mkdtemp();
    simrun s = sim_text_in(json, -1, dir, NULL);
    t_rmtree(dir);
    free(dir);
    if (!s.r.verified)
        fail_msg("unverified run");
    return s;
}

/*
 * One request at t = 0 on a fresh isolate (cold start 0): span "work" around an await of
 * 5 ms and a CPU step of 100 ms (5 ms .. 105 ms), then tracer.flush in waitUntil (its POST
 * leaves at 105 ms) and the response at 105 ms when nothing ends it. `runtime`: more keys.
 */
static simrun cpu_request(const char *runtime)
{
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
        " \"duration_s\": 0, \"drain_s\": 10},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 100}"
        "%s%s},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"work\", \"do\": ["
        "  {\"await\": {\"latency\": {\"fixed_ms\": 5}}}, {\"cpu\": {\"fixed_ms\": 100}}]}},"
        "  {\"wait_until\": [{\"call\": \"tracer.flush\"}]}, {\"respond\": {}}]}}",
        runtime[0] ? ", " : "", runtime);
    return run(json);
}

/* The request was ended by its isolate's death at `at`: no response, no POST, the open
 * span lost in the SDK's buffer; nothing of the request traced after `at`. */
static void assert_ended_at(const simrun *s, int64_t at)
{
    assert_int_equal(s->r.rt.responded, 0);
    assert_int_equal(s->r.rt.killed, 1);
    assert_int_equal(s->r.posts, 0);
    assert_int_equal(s->r.report.items, 1);
    assert_int_equal(s->r.report.fate[FATE_LOST], 1);
    assert_int_equal(s->r.report.lost_by[CAUSE_EVICTED_IN_BUFFER], 1);
    char line[64];
    snprintf(line, sizeof line, "%" PRId64 " r1 i1 t1 handler discarded isolate evicted", at);
    assert_int_equal(lines_starting(s->trace, line), 1);
    assert_int_equal(trace_count(s, " respond"), 0);
}

/* It ran to its end: responded at 105 ms, its span POSTed then. */
static void assert_ran_to_the_end(const simrun *s)
{
    assert_int_equal(s->r.rt.responded, 1);
    assert_int_equal(s->r.posts, 1);
    assert_int_equal(lines_starting(s->trace, "105000000 r1 i1 t2 wait_until call tracer.flush"),
                     1);
    assert_int_equal(lines_starting(s->trace, "105000000 r1 i1 t1 handler respond"), 1);
}

static void test_deploy_inside_a_cpu_step(void **state)
{
    (void)state;
    /* At 50 ms, halfway through the step: the isolate is gone then. (Before: the request
     * responded at 105 ms and its span was POSTed.) */
    simrun mid = cpu_request("\"deploys_s\": [0.05]");
    assert_ended_at(&mid, 50 * MS);
    assert_int_equal(mid.r.rt.evicted[RT_EVICT_DEPLOY], 1);
    /* The CPU it used stops at the deploy: the thread was never busy past it. */
    assert_int_equal(events_between(&mid, "task_wake", 50 * MS + 1, 200 * MS), 0);
    simrun_free(&mid);
    /* At the step's start (5 ms): the deploy was scheduled first, so it goes first. */
    simrun start = cpu_request("\"deploys_s\": [0.005]");
    assert_ended_at(&start, 5 * MS);
    simrun_free(&start);
    /* One ns before the step starts: during the await. */
    simrun before = cpu_request("\"deploys_s\": [0.004999999]");
    assert_ended_at(&before, 5 * MS - 1);
    simrun_free(&before);
    /* At the step's end (105 ms): the respond that would follow is at the same instant,
     * after the deploy scheduled long before it - so it never happens. */
    simrun end = cpu_request("\"deploys_s\": [0.105]");
    assert_ended_at(&end, 105 * MS);
    simrun_free(&end);
    simrun end_before = cpu_request("\"deploys_s\": [0.104999999]");
    assert_ended_at(&end_before, 105 * MS - 1);
    simrun_free(&end_before);
    /* One ns after: the request responded and flushed at 105 ms. */
    simrun after = cpu_request("\"deploys_s\": [0.105000001]");
    assert_ran_to_the_end(&after);
    simrun_free(&after);
}

/* The same request with the run ending `drain` seconds after its arrival (drain_s). */
static simrun cpu_request_ending(const char *drain)
{
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
        " \"duration_s\": 0, \"drain_s\": %s},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 100}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"work\", \"do\": ["
        "  {\"await\": {\"latency\": {\"fixed_ms\": 5}}}, {\"cpu\": {\"fixed_ms\": 100}}]}},"
        "  {\"wait_until\": [{\"call\": \"tracer.flush\"}]}, {\"respond\": {}}]}}",
        drain);
    return run(json);
}

/* The run ended while the request computed: it never responded, its span is stranded. */
static void assert_cut_by_the_end(const simrun *s, int64_t at)
{
    assert_int_equal(s->r.end_ns, at);
    assert_int_equal(s->r.rt.responded, 0);
    assert_int_equal(s->r.rt.killed, 0);
    assert_int_equal(s->r.posts, 0);
    assert_int_equal(s->r.report.items, 1);
    assert_int_equal(s->r.report.lost_by[CAUSE_STRANDED_AT_END], 1);
    assert_int_equal(trace_count(s, " respond"), 0);
}

/* The run's end stops a CPU step as a deploy does. (Before: the request "responded" at
 * 105 ms, after the run had ended at 50 ms, and the ledger's invariant stopped the run:
 * what `edgeloss shrink` found when it cut drain_s to 0.) */
static void test_run_end_inside_a_cpu_step(void **state)
{
    (void)state;
    simrun mid = cpu_request_ending("0.05");
    assert_cut_by_the_end(&mid, 50 * MS);
    simrun_free(&mid);
    /* At the step's end: the end was scheduled at the arrival, before the respond. */
    simrun end = cpu_request_ending("0.105");
    assert_cut_by_the_end(&end, 105 * MS);
    simrun_free(&end);
    simrun end_before = cpu_request_ending("0.104999999");
    assert_cut_by_the_end(&end_before, 105 * MS - 1);
    simrun_free(&end_before);
    /* A second request at 100 ms ends the workload, and with drain 0 the run, while the
     * first one computes (5 .. 105 ms): the end is known before that segment starts, though
     * the last arrival is drawn only at 100 ms. (Before: the first responded at 105 ms.) */
    simrun two = run(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 10, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 0},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 100}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"work\", \"do\": ["
        "  {\"await\": {\"latency\": {\"fixed_ms\": 5}}}, {\"cpu\": {\"fixed_ms\": 100}}]}},"
        "  {\"wait_until\": [{\"call\": \"tracer.flush\"}]}, {\"respond\": {}}]}}");
    assert_int_equal(two.r.end_ns, 100 * MS);
    assert_int_equal(two.r.rt.arrived, 2);
    assert_int_equal(two.r.rt.responded, 0);
    /* The second, arriving at the end's instant with the thread held, never starts: one
     * item, the first's span, stranded. */
    assert_int_equal(two.r.report.items, 1);
    assert_int_equal(two.r.report.lost_by[CAUSE_STRANDED_AT_END], 1);
    assert_int_equal(trace_count(&two, " respond"), 0);
    simrun_free(&two);
    /* One ns after: it responded at 105 ms (its POST still on the way when the run ends). */
    simrun after = cpu_request_ending("0.105000001");
    assert_int_equal(after.r.rt.responded, 1);
    assert_int_equal(lines_starting(after.trace, "105000000 r1 i1 t1 handler respond"), 1);
    simrun_free(&after);
}

static void test_lifetime_inside_a_cpu_step(void **state)
{
    (void)state;
    simrun mid = cpu_request("\"max_lifetime_s\": 0.06");
    assert_ended_at(&mid, 60 * MS);
    assert_int_equal(mid.r.rt.evicted[RT_EVICT_LIFETIME], 1);
    simrun_free(&mid);
    simrun end = cpu_request("\"max_lifetime_s\": 0.105");
    assert_ended_at(&end, 105 * MS);
    simrun_free(&end);
    simrun after = cpu_request("\"max_lifetime_s\": 0.105000001");
    assert_ran_to_the_end(&after);
    simrun_free(&after);
}

/* Over the memory limit at 5 ms, then 100 ms of CPU: the isolate dies at 5 ms. */
static void test_memory_crossing_before_a_cpu_step(void **state)
{
    (void)state;
    simrun s =
        run("{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
            " \"duration_s\": 0, \"drain_s\": 10},"
            " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"memory_limit_mb\": 1},"
            " \"exporter\": {\"strategy\": \"immediate\"},"
            " \"app\": {\"handler\": [{\"span\": {\"name\": \"work\", \"do\": ["
            "  {\"await\": {\"latency\": {\"fixed_ms\": 5}}}, {\"memory\": {\"bytes\": 2000000}},"
            "  {\"cpu\": {\"fixed_ms\": 100}}, {\"metric\": {\"name\": \"after\"}}]}},"
            "  {\"call\": \"tracer.flush\"}, {\"respond\": {}}]}}");
    assert_int_equal(s.r.rt.evicted[RT_EVICT_MEMORY], 1);
    assert_int_equal(lines_starting(s.events, "5000000 "), 3); /* wake, memory_limit, resume */
    assert_int_equal(events_between(&s, "memory_limit", 5 * MS, 5 * MS + 1), 1);
    /* The CPU step and the metric after it never ran; the span died open. */
    assert_int_equal(trace_count(&s, " handler cpu"), 0);
    assert_int_equal(trace_count(&s, " handler metric"), 0);
    assert_ended_at(&s, 5 * MS);
    simrun_free(&s);
}

/*
 * waitUntil { span "late" { await A; cpu 2 s } ; tracer.flush } with a 30 s budget from the
 * response at 0. A = 29 s: the step would end at 31 s; it stops at 30 s and is cancelled
 * there, its span never flushed. A = 28 s: the step ends at exactly 30 s, after the
 * deadline (scheduled first): cancelled too; and so at 28 s + 1 ns. A = 28 s - 1 ns: it
 * ends 1 ns before, and the flush at 30 s - 1 ns is POSTed.
 */
static simrun wait_until_cpu(const char *await_ms)
{
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
        " \"duration_s\": 0, \"drain_s\": 100},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 1000}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"handler\": [{\"wait_until\": [{\"span\": {\"name\": \"late\", \"do\": ["
        "  {\"await\": {\"latency\": {\"fixed_ms\": %s}}}, {\"cpu\": {\"fixed_s\": 2}}]}},"
        "  {\"call\": \"tracer.flush\"}]}, {\"respond\": {}}]}}",
        await_ms);
    return run(json);
}

static void test_wait_until_deadline_inside_a_cpu_step(void **state)
{
    (void)state;
    const char *cancelled[] = {"29000", "28000", "28000.000001"};
    for (int i = 0; i < 3; i++) {
        simrun s = wait_until_cpu(cancelled[i]);
        assert_int_equal(s.r.rt.wait_until_cancelled, 1);
        assert_int_equal(s.r.posts, 0);
        assert_int_equal(s.r.report.fate[FATE_DELIVERED], 0);
        assert_int_equal(s.r.report.fate[FATE_LOST], 1);
        /* Discarded at the deadline, never later, and nothing of it after. */
        assert_int_equal(s.r.report.lost_by[CAUSE_WAITUNTIL_CANCELLED], 1);
        assert_int_equal(lines_starting(s.trace, "30000000000 r1 i1 t2 wait_until cancelled"), 1);
        assert_int_equal(trace_count(&s, " call tracer.flush"), 0);
        simrun_free(&s);
    }
    /* The POST leaves 1 ns before the deadline; the task, waiting for its answer, is then
     * cancelled, and the span reaches the ingest 1 ms after its request ended: late. */
    simrun ok = wait_until_cpu("27999.999999");
    assert_int_equal(ok.r.posts, 1);
    assert_int_equal(ok.r.report.fate[FATE_LATE], 1);
    assert_int_equal(lines_starting(ok.trace, "29999999999 r1 i1 t2 wait_until call tracer.flush"),
                     1);
    simrun_free(&ok);
}

/*
 * A random kill strikes at an instant drawn from the faults stream; its victim is drawn
 * then, among the isolates alive. Every segment running across that instant stops there,
 * so whichever isolate it picks, nothing of it is timed after the kill. Long CPU steps on
 * two isolates make most kills land inside one.
 */
static void test_random_kill_inside_a_cpu_step(void **state)
{
    (void)state;
    simrun s = run("{\"seed\": 3, \"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 2,"
                   " \"requests\": 40, \"duration_s\": 0, \"drain_s\": 5},"
                   " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"max_concurrency\": 1,"
                   "  \"idle_timeout\": {\"fixed_s\": 100}, \"cpu_limit_ms\": 0},"
                   " \"faults\": {\"kill_isolates_per_hour\": 1000},"
                   " \"exporter\": {\"strategy\": \"immediate\"},"
                   " \"app\": {\"handler\": [{\"span\": {\"name\": \"w\", \"do\": ["
                   "  {\"cpu\": {\"fixed_ms\": 900}}]}}, {\"call\": \"tracer.flush\"},"
                   "  {\"respond\": {}}]}}");
    assert_true(s.r.rt.evicted[RT_EVICT_KILLED] >= 3);
    /* For each kill at k: the victim is the isolate whose tasks are discarded at k (isolate
     * ids are never reused); no trace line of it may be timed after k. */
    int checked = 0;
    for (const char *p = s.events; (p = strstr(p, " kill ")); p++) {
        const char *ls = p;
        while (ls > s.events && ls[-1] != '\n')
            ls--;
        int64_t k = strtoll(ls, NULL, 10);
        char victim[24] = "";
        for (const char *l = s.trace; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            char iso[24], what[64];
            long long t;
            if (sscanf(l, "%lld %*s %23s %*s %*s %63s", &t, iso, what) == 3 && t == k &&
                strcmp(what, "discarded") == 0) {
                snprintf(victim, sizeof victim, " %s ", iso);
                break;
            }
        }
        if (!victim[0])
            continue; /* it struck an isolate with nothing running */
        for (const char *l = s.trace; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            const char *e = strchr(l, '\n');
            char line[256];
            snprintf(line, sizeof line, "%.*s", (int)(e ? e - l : (long)strlen(l)), l);
            if (strtoll(line, NULL, 10) > k && strstr(line, victim))
                fail_msg("%s acts after its kill at %" PRId64 ": %s", victim, k, line);
        }
        checked++;
    }
    assert_true(checked >= 1);
    simrun_free(&s);
}

/*
 * A request at 0 computes 100 ms and ends at 100 ms; idle timeout 1 s. The isolate goes
 * idle at 100 ms (not at 0, when the segment began) and is evicted at 1.1 s. A second
 * request at 1.1 s - 1 ns finds it; one at exactly 1.1 s finds it evicted (an isolate
 * lives [idle, deadline), whatever order the two events pop in) and cold-starts another.
 */
static simrun idle_pair(const char *gap_s)
{
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"workload\": {\"arrivals\": \"replay\", \"replay\": {\"file\": \"%s\"},"
        " \"drain_s\": 5},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 1}},"
        " \"app\": {\"handler\": [{\"cpu\": {\"fixed_ms\": 100}}, {\"respond\": {}}]}}",
        gap_s);
    return sim_text(json, -1);
}

static void test_idle_counts_from_the_end_of_the_request(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    const struct {
        const char *second; /* when the second request arrives */
        uint64_t isolates;
    } cases[] = {{"1.05", 1}, {"1.099999999", 1}, {"1.1", 2}, {"1.100000001", 2}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *csv = t_path(dir, "arrivals.csv");
        FILE *f = fopen(csv, "w");
        assert_non_null(f);
        fprintf(f, "0\n%s\n", cases[i].second);
        fclose(f);
        simrun s = idle_pair(csv);
        assert_int_equal(s.r.rt.isolates_created, cases[i].isolates);
        /* Either way it went idle at 100 ms, when the request ended. */
        assert_int_equal(events_between(&s, "idle", 100 * MS, 100 * MS + 1), 1);
        simrun_free(&s);
        free(csv);
    }
    t_rmtree(dir);
    free(dir);
}

/* A timer task queued behind the last request's CPU runs before the isolate goes idle, and
 * the idle time counts from the end of its CPU: timer due at 5 ms, the handler computing
 * 0-20 ms, the timer's 10 ms then: idle at 30 ms, evicted at 1.03 s. (It used to stay
 * active for the rest of the run.) */
static void test_idle_after_queued_timer_work(void **state)
{
    (void)state;
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
        " \"duration_s\": 0, \"drain_s\": 10},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 1}},"
        " \"app\": {\"handler\": [{\"set_timeout\": {\"delay\": {\"fixed_ms\": 5},"
        "  \"do\": [{\"cpu\": {\"fixed_ms\": 10}}]}}, {\"cpu\": {\"fixed_ms\": 20}},"
        "  {\"respond\": {}}]}}",
        -1);
    assert_int_equal(s.r.rt.evicted[RT_EVICT_IDLE], 1);
    assert_int_equal(events_between(&s, "idle_evict", 1030 * MS, 1030 * MS + 1), 1);
    simrun_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deploy_inside_a_cpu_step),
        cmocka_unit_test(test_run_end_inside_a_cpu_step),
        cmocka_unit_test(test_lifetime_inside_a_cpu_step),
        cmocka_unit_test(test_memory_crossing_before_a_cpu_step),
        cmocka_unit_test(test_wait_until_deadline_inside_a_cpu_step),
        cmocka_unit_test(test_random_kill_inside_a_cpu_step),
        cmocka_unit_test(test_idle_counts_from_the_end_of_the_request),
        cmocka_unit_test(test_idle_after_queued_timer_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
