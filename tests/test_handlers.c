/*
 * Invocations beyond a Worker's fetch, each at its boundaries, with the expected figures
 * worked out here from the scenarios.
 *
 * Durable Objects (runtime.kind "durable_object"): one object per key; a request takes 55 ms
 * on a cold object (5 ms constructor, then 10 ms await, 2 ms CPU, 38 ms await) and 50 ms on
 * a warm one, its three spans buffered by a threshold exporter that never reaches its
 * batch. An object with nothing pending becomes hibernatable at its response and hibernates
 * 10 s later, its buffer discarded; it is billed only while active or idle and unable to
 * hibernate (a timer set, a fetch or waitUntil work pending).
 *
 * Cron Triggers (workload.arrivals "cron"): the schedule's instants from 1970-01-01T00:00Z (a
 * Thursday); each run cut at 15 minutes of wall time, handler and waitUntil alike.
 *
 * Queue consumers (queue.consumer): a fetch per message under the invocation's subrequest
 * limit, what the handler does when one fails, retries and the dead-letter queue.
 */
#include "cron.h"
#include "simtest.h"
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

#define S_NS  1000000000LL
#define MS_NS 1000000LL

/*
 * A Durable Object scenario (malloc'd): `requests` requests to one object `gap_ns` apart from
 * t = 0. `runtime`: extra members of the runtime ("" for none; the idle timeout is 100 s unless
 * it sets one); `exporter`: the exporter's strategy member ("": threshold), its batch 100 items;
 * `wu`: the steps of the handler's waitUntil ("": tracer.flush, as the SDKs' READMEs say).
 */
static char *do_doc(int requests, int64_t gap_ns, const char *runtime, const char *exporter,
                    const char *wu)
{
    size_t cap = 4096 + strlen(runtime) + strlen(exporter) + strlen(wu);
    char *doc = malloc(cap);
    assert_non_null(doc);
    /* A constant workload's gap is llround(1e9 / rate): exact for these gaps. */
    int n = snprintf(
        doc, cap,
        "{\"seed\": 1,"
        " \"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": %.17g, \"requests\": %d,"
        "   \"keys\": 1, \"drain_s\": 300},"
        " \"runtime\": {\"kind\": \"durable_object\", \"cold_start\": {\"fixed_ms\": 5},"
        "   %s%s%s},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"batch_items\": 100, %s},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"request\", \"do\": ["
        "   {\"span\": {\"name\": \"storage.get\", \"do\": [{\"await\": {\"name\": \"get\","
        "     \"latency\": {\"fixed_ms\": 10}}}]}},"
        "   {\"span\": {\"name\": \"work\", \"do\": [{\"cpu\": {\"fixed_ms\": 2}}]}},"
        "   {\"await\": {\"name\": \"rpc\", \"latency\": {\"fixed_ms\": 38}}}]}},"
        "   {\"wait_until\": [%s]}, {\"respond\": {\"status\": 200}}]}}",
        1e9 / (double)gap_ns, requests,
        strstr(runtime, "idle_timeout") ? "" : "\"idle_timeout\": {\"fixed_s\": 100}",
        *runtime && !strstr(runtime, "idle_timeout") ? ", " : "", runtime,
        *exporter ? exporter : "\"strategy\": \"threshold\"",
        *wu ? wu : "{\"call\": \"tracer.flush\"}");
    assert_true(n > 0 && (size_t)n < cap);
    return doc;
}

static xrun do_run(int requests, int64_t gap_ns, const char *runtime, const char *exporter,
                   const char *wu)
{
    char *doc = do_doc(requests, gap_ns, runtime, exporter, wu);
    xrun x = xrun_text(doc);
    free(doc);
    if (x.rc)
        fail_msg("run: %s", x.err);
    return x;
}

static void expect_billed(const xrun *x, int64_t ns)
{
    if (x->r.rt.billed_ns != ns)
        fail_msg("billed %lld ns, want %lld", (long long)x->r.rt.billed_ns, (long long)ns);
    assert_true(fabs(x->r.report.gb_s - (double)ns / 1e9 * 0.125) < 1e-12);
}

/* The second request 1 ns before the hibernation finds the object with its buffer; at the
 * instant, or 1 ns after, the object has hibernated and the first request's spans with it. */
static void test_hibernation_at_10s(void **state)
{
    (void)state;
    int64_t hib = 55 * MS_NS + 10 * S_NS; /* 10.055 s: 10 s after the first response */

    xrun before = do_run(2, hib - 1, "", "", "");
    assert_int_equal(before.r.rt.isolates_created, 1);
    assert_int_equal(before.r.rt.evicted[RT_EVICT_HIBERNATED], 1);
    /* Warm: the second response at gap + 50 ms, hibernation 10 s later, all six spans. */
    int64_t died = hib - 1 + 50 * MS_NS + 10 * S_NS;
    char want[128];
    snprintf(want, sizeof want, "lost/evicted-in-buffer@%lld/exporter", (long long)died);
    for (int i = 1; i <= 6; i++)
        expect_fate_in(before.ledger_db, i, want);
    assert_int_equal(before.r.report.lost_when_evicted[RT_EVICT_HIBERNATED], 6);
    /* Billed: 55 ms, then 50 ms; never while hibernatable. */
    expect_billed(&before, 105 * MS_NS);
    xrun_free(&before);

    for (int64_t d = 0; d <= 1; d++) {
        xrun at = do_run(2, hib + d, "", "", "");
        assert_int_equal(at.r.rt.isolates_created, 2);
        assert_int_equal(at.r.rt.evicted[RT_EVICT_HIBERNATED], 2);
        snprintf(want, sizeof want, "lost/evicted-in-buffer@%lld/exporter", (long long)hib);
        for (int i = 1; i <= 3; i++)
            expect_fate_in(at.ledger_db, i, want);
        /* The second object started cold: its spans go 10 s after its response at +55 ms. */
        snprintf(want, sizeof want, "lost/evicted-in-buffer@%lld/exporter",
                 (long long)(hib + d + hib));
        for (int i = 4; i <= 6; i++)
            expect_fate_in(at.ledger_db, i, want);
        expect_billed(&at, 110 * MS_NS);
        xrun_free(&at);
    }
}

/* hibernate_after_s moves the boundary, to the nanosecond. */
static void test_hibernate_after_setting(void **state)
{
    (void)state;
    xrun x = do_run(1, S_NS, "\"hibernate_after_s\": 2.5", "", "");
    expect_fate_in(x.ledger_db, 1, "lost/evicted-in-buffer@2555000000/exporter");
    assert_int_equal(x.r.rt.hibernatable_periods, 1);
    xrun_free(&x);
}

/*
 * A setInterval auto-flush (the interval exporter, 10 s) keeps the object from hibernating.
 * Before 2026-10-01 it is idle and not hibernatable: evicted (cause idle) 100 s after its
 * response (idle_timeout fixed here), billed the whole time, its spans flushed at 10 s (late:
 * after their request ended). From
 * 2026-10-01 the timer keeps it active: in memory to the run's end at 300 s, billed for it.
 */
static void test_timer_blocks_hibernation(void **state)
{
    (void)state;
    xrun old =
        do_run(1, S_NS, "\"compatibility_date\": \"2026-09-30\"", "\"strategy\": \"interval\"", "");
    assert_int_equal(old.r.rt.evicted[RT_EVICT_IDLE], 1);
    assert_int_equal(old.r.rt.evicted[RT_EVICT_HIBERNATED], 0);
    /* Received after their request ended: late, not lost. */
    assert_int_equal(old.r.report.fate[FATE_LATE], 3);
    assert_int_equal(old.r.report.fate[FATE_LOST], 0);
    expect_billed(&old, 55 * MS_NS + 100 * S_NS);
    xrun_free(&old);

    xrun now = do_run(1, S_NS, "", "\"strategy\": \"interval\"", "");
    assert_int_equal(now.r.rt.evicted[RT_EVICT_IDLE], 0);
    assert_int_equal(now.r.rt.alive_at_end, 1);
    assert_int_equal(now.r.report.fate[FATE_LATE], 3);
    expect_billed(&now, 300 * S_NS);
    xrun_free(&now);

    /* The flag overrides the date, both ways. */
    xrun flag = do_run(1, S_NS,
                       "\"compatibility_date\": \"2026-09-30\", \"compatibility_flags\": "
                       "[\"durable_object_io_tasks_prevent_eviction\"]",
                       "\"strategy\": \"interval\"", "");
    expect_billed(&flag, 300 * S_NS);
    xrun_free(&flag);
    xrun optout = do_run(1, S_NS,
                         "\"compatibility_flags\": "
                         "[\"durable_object_io_tasks_do_not_prevent_eviction\"]",
                         "\"strategy\": \"interval\"", "");
    expect_billed(&optout, 55 * MS_NS + 100 * S_NS);
    xrun_free(&optout);
}

/*
 * waitUntil work after the response: 200 s of awaits, then a flush that reaches the exporter
 * (propagate). Before 2026-10-01 nothing keeps the object: idle at its response (55 ms),
 * not hibernatable, evicted with the work pending at 100.055 s - its spans lost in the
 * tracer, not yet flushed. From
 * 2026-10-01 the work keeps it active: the flush at 200.055 s delivers them, its POST (1 ms
 * each way) answered at 200.057 s, and it hibernates 10 s later.
 */
static void test_waituntil_keeps_alive_from_2026_10_01(void **state)
{
    (void)state;
    const char *wu = "{\"await\": {\"name\": \"slow\", \"latency\": {\"fixed_s\": 200}}},"
                     " {\"call\": \"tracer.flush\"}";
    xrun old = do_run(1, S_NS, "\"compatibility_date\": \"2026-09-30\", \"wait_until_budget_s\": 0",
                      "\"strategy\": \"propagate\"", wu);
    for (int i = 1; i <= 3; i++)
        expect_fate_in(old.ledger_db, i, "lost/evicted-in-buffer@100055000000/tracer");
    assert_int_equal(old.r.rt.evicted[RT_EVICT_IDLE], 1);
    expect_billed(&old, 55 * MS_NS + 100 * S_NS);
    xrun_free(&old);

    xrun now = do_run(1, S_NS, "\"wait_until_budget_s\": 0", "\"strategy\": \"propagate\"", wu);
    assert_int_equal(now.r.report.fate[FATE_DELIVERED], 3);
    assert_int_equal(now.r.rt.evicted[RT_EVICT_HIBERNATED], 1);
    expect_billed(&now, 200 * S_NS + 57 * MS_NS);
    xrun_free(&now);
}

/* Flushing before idling: the POST in flight blocks hibernation (billed), then the object
 * hibernates with nothing in its buffer. */
static void test_flush_before_idle(void **state)
{
    (void)state;
    xrun x = do_run(3, 20 * S_NS, "", "\"strategy\": \"propagate\"", "");
    assert_int_equal(x.r.report.fate[FATE_DELIVERED], 9);
    assert_int_equal(x.r.report.fate[FATE_LOST], 0);
    assert_int_equal(x.r.rt.evicted[RT_EVICT_HIBERNATED], 3);
    /* Each object: 55 ms to its response, its POST answered 2 ms later. */
    expect_billed(&x, 3 * 57 * MS_NS);
    xrun_free(&x);
}

static void test_deterministic(void **state)
{
    (void)state;
    char *doc = do_doc(5, 7 * S_NS, "\"idle_timeout\": {\"uniform_s\": [70, 140]}",
                       "\"strategy\": \"interval\"", "");
    xrun a = xrun_text(doc), b = xrun_text(doc);
    free(doc);
    assert_int_equal(a.rc, 0);
    assert_int_equal(a.r.hash, b.r.hash);
    assert_int_equal(a.r.rt.billed_ns, b.r.rt.billed_ns);
    xrun_free(&a);
    xrun_free(&b);
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *runtime, *path;
    } bad[] = {
        {"\"compatibility_date\": \"2026-1-01\"", "$.runtime.compatibility_date"},
        {"\"compatibility_flags\": [\"durable_object_io_tasks_prevent_eviction\","
         " \"durable_object_io_tasks_do_not_prevent_eviction\"]",
         "$.runtime.compatibility_flags[1]"},
        {"\"compatibility_flags\": [\"nodejs_compat\"]", "$.runtime.compatibility_flags[0]"},
        {"\"hibernate_after_s\": 0", "$.runtime.hibernate_after_s"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *doc = do_doc(1, S_NS, bad[i].runtime, "", "");
        scenario *s = NULL;
        char err[1024];
        assert_int_not_equal(scn_parse(doc, "t.json", &s, err, sizeof err), 0);
        if (!strstr(err, bad[i].path))
            fail_msg("%s: %s", bad[i].path, err);
        free(doc);
    }
}

/* The schedule's instants, in minutes from t = 0, for `hours` of virtual time. */
static size_t cron_minutes(const char *expr, double hours, int64_t *out, size_t cap)
{
    cron_spec c;
    char err[300];
    if (cron_parse(expr, &c, err, sizeof err))
        fail_msg("%s", err);
    size_t n = cron_times(&c, 0, (int64_t)(hours * 3600 * S_NS), out, cap);
    for (size_t i = 0; i < n && i < cap; i++) {
        assert_true(cron_matches(&c, out[i]));
        out[i] /= 60 * S_NS;
    }
    return n;
}

static void test_cron_expressions(void **state)
{
    (void)state;
    int64_t m[64];
    assert_int_equal(cron_minutes("*/15 * * * *", 1, m, 64), 4);
    assert_int_equal(m[0], 0);
    assert_int_equal(m[3], 45);
    assert_int_equal(cron_minutes("5,35 */6 * * *", 24, m, 64), 8);
    assert_int_equal(m[2], 6 * 60 + 5);
    /* Weekdays at 09:00 over the first week: Thu 1 Jan 1970, Fri 2, then Mon 5 to Wed 7. */
    assert_int_equal(cron_minutes("0 9 * * MON-FRI", 7 * 24, m, 64), 5);
    static const int64_t days[] = {0, 1, 4, 5, 6};
    for (int i = 0; i < 5; i++)
        assert_int_equal(m[i], days[i] * 1440 + 9 * 60);
    /* Sunday is 0 and 7: Sun 4 Jan. */
    assert_int_equal(cron_minutes("30 2 * * 7", 7 * 24, m, 64), 1);
    assert_int_equal(m[0], 3 * 1440 + 150);
    /* Day of month and day of week both restricted: either matches (the 2nd, a Friday, and
     * Saturday the 3rd of January). */
    assert_int_equal(cron_minutes("0 0 3 * FRI", 7 * 24, m, 64), 2);
    assert_int_equal(m[0], 1 * 1440);
    assert_int_equal(m[1], 2 * 1440);
    /* Months: the 1st of each month at midnight in 1970: Feb 1 is day 31, Mar 1 day 59. */
    assert_int_equal(cron_minutes("0 0 1 * *", 24 * 90, m, 64), 3);
    assert_int_equal(m[1], 31 * 1440);
    assert_int_equal(m[2], 59 * 1440);
    assert_int_equal(cron_minutes("0 0 29 FEB *", 24 * 366 * 3, m, 64), 1); /* 1972 */
    assert_int_equal(m[0], (365 + 365 + 31 + 28) * 1440);

    static const char *const bad[][2] = {
        {"* * * *", "expected 5 fields"},        {"* * * * * *", "got more"},
        {"60 * * * *", "minute field"},          {"0 24 * * *", "hour field"},
        {"0 0 0 * *", "day of month field"},     {"0 0 L * *", "day of month field"},
        {"0 0 * * 1#2", "no L, W, # or ?"},      {"5-1 * * * *", "low to high"},
        {"*/0 * * * *", "a step of at least 1"}, {"0 0 * FOO *", "month field"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cron_spec c;
        char err[300];
        assert_int_equal(cron_parse(bad[i][0], &c, err, sizeof err), -1);
        if (!strstr(err, bad[i][1]))
            fail_msg("\"%s\": %s (want %s)", bad[i][0], err, bad[i][1]);
    }
}

/* One hourly run of a job of `job_s` seconds in one span, flushed in waitUntil (propagate;
 * network 1 ms each way), optionally with a CPU step of cpu_s seconds. */
static xrun cron_run(const char *cron, const char *job_s, const char *cpu_s)
{
    char doc[2048];
    snprintf(
        doc, sizeof doc,
        "{\"seed\": 1,"
        " \"workload\": {\"arrivals\": \"cron\", \"cron\": \"%s\", \"duration_s\": 3600,"
        "   \"drain_s\": 3600},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"propagate\"},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"job\", \"do\": ["
        "   {\"await\": {\"name\": \"work\", \"latency\": {\"fixed_s\": %s}}}%s%s%s]}},"
        "   {\"wait_until\": [{\"call\": \"tracer.flush\"}]}, {\"respond\": {\"status\": 200}}]}}",
        cron, job_s, cpu_s ? ", {\"cpu\": {\"fixed_s\": " : "", cpu_s ? cpu_s : "",
        cpu_s ? "}}" : "");
    xrun x = xrun_text(doc);
    if (x.rc)
        fail_msg("run: %s", x.err);
    return x;
}

/*
 * The 15-minute wall limit at its boundary. A job ending at 899.99 s flushes in waitUntil
 * (its POST answered 2 ms later): ok, delivered. One ending 1 ns before 900 s sends its POST,
 * which reaches the ingest after the cut: recorded but late, and the run exceeded the limit.
 * One of exactly 900 s is cut in the handler at its end: its open span lost at 900 s.
 */
static void test_cron_wall_limit_at_15_minutes(void **state)
{
    (void)state;
    xrun ok = cron_run("0 * * * *", "899.99", NULL);
    assert_int_equal(ok.r.rt.wall_limited, 0);
    assert_int_equal(ok.r.rt.completed, 1);
    assert_int_equal(ok.r.report.fate[FATE_DELIVERED], 1);
    xrun_free(&ok);

    xrun edge = cron_run("0 * * * *", "899.999999999", NULL);
    assert_int_equal(edge.r.rt.wall_limited, 1);
    assert_int_equal(edge.r.report.fate[FATE_LATE], 1);
    xrun_free(&edge);

    xrun cut = cron_run("0 * * * *", "900", NULL);
    assert_int_equal(cut.r.rt.wall_limited, 1);
    assert_int_equal(cut.r.report.wall_limited, 1);
    expect_fate_in(cut.ledger_db, 1, "lost/waituntil-cancelled@900000000000/open-span");
    xrun_free(&cut);
}

/* A cron workload refused, naming the path: a bad schedule, one that never fires in the
 * window, a schedule without arrivals "cron" and the reverse, no duration. */
static void test_cron_refused(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"\"arrivals\": \"cron\", \"cron\": \"61 * * * *\", \"duration_s\": 3600",
         "$.workload.cron: cron \"61 * * * *\": minute field"},
        {"\"arrivals\": \"cron\", \"cron\": \"0 0 31 2 *\", \"duration_s\": 86400",
         "$.workload.cron: the schedule \"0 0 31 2 *\" never fires"},
        {"\"arrivals\": \"constant\", \"cron\": \"0 * * * *\"",
         "$.workload.cron: cron and cron_times_s go with"},
        {"\"arrivals\": \"cron\", \"duration_s\": 3600",
         "$.workload: cron and cron_times_s go with"},
        {"\"arrivals\": \"cron\", \"cron\": \"* * * * *\", \"duration_s\": 0, \"requests\": 5",
         "$.workload.duration_s: a cron workload needs a duration"},
        {"\"arrivals\": \"cron\", \"cron_times_s\": [60, 60]",
         "$.workload.cron_times_s[1]: expected run times in increasing order"},
        {"\"arrivals\": \"cron\", \"cron\": \"* * * * *\", \"cron_times_s\": [60]",
         "$.workload.cron_times_s: give cron or cron_times_s, not both"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[1024];
        snprintf(doc, sizeof doc,
                 "{\"workload\": {%s}, \"app\": {\"handler\": [{\"respond\": {\"status\": 200}}]}}",
                 bad[i][0]);
        scenario *s = NULL;
        char err[1024];
        assert_int_not_equal(scn_parse(doc, "t.json", &s, err, sizeof err), 0);
        if (!strstr(err, bad[i][1]))
            fail_msg("want %s, got %s", bad[i][1], err);
    }
}

/* A list of run times instead of a schedule: runs at 0, 30 min and 90 min, so the smallest gap
 * (30 min) gives the 30 s CPU limit; each run's 31 s step is terminated at 30 s of CPU. */
static void test_cron_times_list(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"seed\": 1, \"workload\": {\"arrivals\": \"cron\", \"cron_times_s\": [0, 1800, 5400],"
        "   \"drain_s\": 60},"
        " \"app\": {\"handler\": [{\"cpu\": {\"fixed_s\": 31}}, {\"respond\": {\"status\": "
        "200}}]}}";
    simrun x = sim_text(doc, -1);
    assert_int_equal(x.r.rt.arrived, 3);
    assert_int_equal(x.r.rt.cpu_limited, 3);
    assert_int_equal(lines_starting(x.events, "1800000000000 "), 1);
    assert_int_equal(x.r.end_ns, 5460LL * S_NS);
    simrun_free(&x);
}

/* CPU: 15 minutes for an hourly schedule, 30 s for one every 30 minutes (terminated at 30 s
 * of CPU: 1 s of await, then the step, so at 31 s). */
static void test_cron_cpu_limit_by_interval(void **state)
{
    (void)state;
    xrun hourly = cron_run("0 * * * *", "1", "31");
    assert_int_equal(hourly.r.rt.cpu_limited, 0);
    assert_int_equal(hourly.r.report.fate[FATE_DELIVERED], 1);
    xrun_free(&hourly);
    xrun half = cron_run("*/30 * * * *", "1", "31");
    assert_int_equal(half.r.rt.arrived, 2);
    assert_int_equal(half.r.rt.cpu_limited, 2);
    expect_fate_in(half.ledger_db, 1, "lost/cpu-limit@31000000000/open-span");
    xrun_free(&half);
}

/*
 * A queue consumer that fetches once per message: 3 requests 1 ms apart each send one
 * message; they reach the queue 5 ms later, so the batch of 3 leaves at 7 ms and its POSTs
 * (20 ms each way) are answered at 47 ms. `consumer` is the consumer object's members,
 * `extra` extra members of the queue.
 */
static xrun queue_run(const char *consumer, const char *extra)
{
    char doc[2048];
    snprintf(
        doc, sizeof doc,
        "{\"seed\": 1,"
        " \"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1000, \"requests\": 3,"
        "   \"drain_s\": 120},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 300}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 20}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"queue\": {\"batch_size\": 3, \"max_wait_s\": 5, \"send_latency\": {\"fixed_ms\": 5},"
        "   \"retries\": 2, \"retry_delay_s\": 10, \"consumer\": {\"fan_out\": \"message\", "
        "%s}%s%s},"
        " \"app\": {\"handler\": [{\"global\": {\"name\": \"EVENTS\", \"op\": \"append\","
        "   \"flag\": \"f\"}}, {\"wait_until\": [{\"global\": {\"name\": \"EVENTS\","
        "   \"op\": \"checkpoint\"}}]}, {\"respond\": {\"status\": 202}}],"
        "   \"accumulators\": [{\"name\": \"EVENTS\"}]}}",
        consumer, *extra ? ", " : "", extra);
    xrun x = xrun_text(doc);
    if (x.rc)
        fail_msg("run: %s", x.err);
    return x;
}

/* The subrequest limit across one delivery of a batch, at its boundary: a batch of 3 with 3
 * allowed loses nothing; with 2, the batch's last message is refused and, caught, lost when
 * the handler returns at 47 ms. */
static void test_queue_subrequest_limit_across_a_batch(void **state)
{
    (void)state;
    xrun at = queue_run("\"subrequest_limit\": 3, \"on_error\": \"ack\"", "");
    assert_int_equal(at.r.report.fate[FATE_LOST], 0);
    assert_int_equal(at.r.report.attempts, 3);
    xrun_free(&at);
    xrun over = queue_run("\"subrequest_limit\": 2, \"on_error\": \"ack\"", "");
    assert_int_equal(over.r.report.fate[FATE_LOST], 1);
    assert_int_equal(over.r.report.attempts, 2);
    expect_fate_in(over.ledger_db, 3, "lost/subrequest-limit@47000000/queue");
    xrun_free(&over);
}

/*
 * Retries and dead-lettering. The handler throws: the batch is delivered again 10 s after each
 * failed delivery (at 10.047 s and 20.087 s), its first two messages sent again each time
 * (three copies each: duplicated); after its third delivery (retries 2) the last message is
 * out of retries at 20.127 s: dead-lettered with a dead-letter queue, else deleted as
 * subrequest-limit. With msg.retry() only the failed message comes back, alone at 10.047 s:
 * its batch leaves 5 s later (max_wait) and, first in it, gets through.
 */
static void test_queue_retries_and_dead_letters(void **state)
{
    (void)state;
    xrun dlq = queue_run("\"subrequest_limit\": 2, \"on_error\": \"throw\"",
                         "\"dead_letter_queue\": \"dlq\"");
    expect_fate_in(dlq.ledger_db, 3, "lost/dead-lettered@20127000000/dead-letter-queue");
    assert_int_equal(dlq.r.report.fate[FATE_DUPLICATED], 2);
    assert_int_equal(dlq.r.report.attempts, 6);
    xrun_free(&dlq);
    xrun del = queue_run("\"subrequest_limit\": 2, \"on_error\": \"throw\"", "");
    expect_fate_in(del.ledger_db, 3, "lost/subrequest-limit@20127000000/queue");
    xrun_free(&del);
    xrun retry = queue_run("\"subrequest_limit\": 2, \"on_error\": \"retry\"", "");
    assert_int_equal(retry.r.report.fate[FATE_LOST], 0);
    assert_int_equal(retry.r.report.fate[FATE_DUPLICATED], 0);
    assert_int_equal(retry.r.report.attempts, 3);
    xrun_free(&retry);
}

/*
 * A streamed body (respond.body): the invocation lasts to its EOF. One request, cold (5 ms),
 * a 5 ms span, a flush at the headers (propagate: it sends that span), then a body of one
 * span over 1 s: that span starts after the flush and is lost when the request ends, at EOF,
 * 1.010 s - not at the headers. Flushed at the end of the body instead, it is delivered.
 */
static void test_streamed_body_ends_at_eof(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"seed\": 1, \"workload\": {\"arrivals\": \"constant\", \"requests\": 1},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 5}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"propagate\"},"
        " \"app\": {\"handler\": ["
        "   {\"span\": {\"name\": \"fetch\", \"do\": [{\"await\": {\"name\": \"auth\","
        "     \"latency\": {\"fixed_ms\": 5}}}]}},"
        "   %s"
        "   {\"respond\": {\"status\": 200, \"body\": [{\"span\": {\"name\": \"chunk\", \"do\": ["
        "     {\"await\": {\"name\": \"t\", \"latency\": {\"fixed_s\": 1}}}]}}%s]}}]}}";
    char text[2048];
    snprintf(text, sizeof text, doc, "{\"wait_until\": [{\"call\": \"tracer.flush\"}]},", "");
    xrun at_headers = xrun_text(text);
    assert_int_equal(at_headers.rc, 0);
    expect_fate_in(at_headers.ledger_db, 1, "delivered/-@-/-");
    expect_fate_in(at_headers.ledger_db, 2, "lost/never-flushed@1010000000/tracer");
    assert_int_equal(at_headers.r.rt.completed, 1);
    xrun_free(&at_headers);
    snprintf(text, sizeof text, doc, "", ", {\"wait_until\": [{\"call\": \"tracer.flush\"}]}");
    xrun at_eof = xrun_text(text);
    assert_int_equal(at_eof.rc, 0);
    assert_int_equal(at_eof.r.report.fate[FATE_DELIVERED], 2);
    xrun_free(&at_eof);
}

/*
 * A client that disconnects mid-body: cold (5 ms), a span, a waitUntil that waits 2 s and
 * flushes (propagate), then the headers and a body that computes 1 s inside a span; the client
 * goes 0.5 s after the headers. The body is cut at 0.505 s - inside its CPU step, at that
 * instant - its span lost as client-disconnected, the response truncated; the waitUntil goes
 * on and its flush at 2.005 s delivers the first span. Without the disconnect, nothing is cut.
 */
static void test_client_disconnect_truncates_the_body(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"seed\": 1, \"workload\": {\"arrivals\": \"constant\", \"requests\": 1},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 5}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"propagate\"},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"fetch\", \"do\": []}},"
        "   {\"wait_until\": [{\"await\": {\"name\": \"w\", \"latency\": {\"fixed_s\": 2}}},"
        "     {\"call\": \"tracer.flush\"}]},"
        "   {\"respond\": {\"status\": 200%s, \"body\": [{\"span\": {\"name\": \"chunk\","
        "     \"do\": [{\"cpu\": {\"fixed_s\": 1}}]}}]}}]}}";
    char text[1024];
    snprintf(text, sizeof text, doc, ", \"client_disconnects_after\": {\"fixed_ms\": 500}");
    xrun cut = xrun_text(text);
    assert_int_equal(cut.rc, 0);
    assert_int_equal(cut.r.rt.disconnected, 1);
    assert_int_equal(cut.r.report.truncated, 1);
    expect_fate_in(cut.ledger_db, 1, "delivered/-@-/-");
    expect_fate_in(cut.ledger_db, 2, "lost/client-disconnected@505000000/open-span");
    xrun_free(&cut);
    snprintf(text, sizeof text, doc, "");
    xrun whole = xrun_text(text);
    assert_int_equal(whole.rc, 0);
    assert_int_equal(whole.r.rt.disconnected, 0);
    xrun_free(&whole);
}

/*
 * Durable Object alarms at least once. A request at 0 (cold: 5 ms) sets an alarm 1 s ahead;
 * the alarm() handler computes 31 s, past the 30 s CPU limit, so every run fails 30 s after it
 * started and is retried 2, 4, 8, 16, 32 and 64 s after each failure, then given up. A retry
 * that finds the object hibernated (10 s after the failure left it idle) starts it again, 5 ms
 * later: the runs start at 1.005, 33.005, 67.005, 105.005, 151.005 (the object still in
 * memory each time), then 213.010 (started at 151.010 on a fresh object, failed at 181.010)
 * and 307.015.
 */
/* One request to one object (cold: 5 ms) sets an alarm 1 s ahead; `alarm` is the alarm()
 * handler's one step. Checks the alarm's seven runs (six retries, then given up) and their
 * instants in the event log ("<ns> "). */
static simrun failing_alarm(const char *alarm, const char *const at[7])
{
    char doc[1024];
    snprintf(doc, sizeof doc,
             "{\"seed\": 1, \"workload\": {\"arrivals\": \"constant\", \"requests\": 1,"
             "   \"keys\": 1, \"drain_s\": 600},"
             " \"runtime\": {\"kind\": \"durable_object\", \"cold_start\": {\"fixed_ms\": 5}},"
             " \"app\": {\"handler\": [{\"set_alarm\": {\"delay\": {\"fixed_s\": 1}}},"
             "   {\"respond\": {\"status\": 200}}], \"alarm\": [%s]}}",
             alarm);
    simrun x = sim_text(doc, -1);
    assert_int_equal(x.r.rt.alarms_run, 7);
    assert_int_equal(x.r.rt.alarm_retries, 6);
    assert_int_equal(x.r.rt.alarms_given_up, 1);
    assert_int_equal(events_of(&x, "alarm"), 7);
    for (size_t i = 0; i < 7; i++) {
        const char *line = line_starting(x.events, at[i]);
        if (!line || !strstr(line, " alarm "))
            fail_msg("no alarm at %s", at[i]);
    }
    return x;
}

static void test_alarm_retries_with_backoff(void **state)
{
    (void)state;
    static const char *const at[7] = {"1005000000 ",   "33005000000 ",  "67005000000 ",
                                      "105005000000 ", "151005000000 ", "213010000000 ",
                                      "307015000000 "};
    simrun x = failing_alarm("{\"cpu\": {\"fixed_s\": 31}}", at);
    assert_int_equal(x.r.rt.cpu_limited, 7);
    simrun_free(&x);
}

/*
 * An alarm lives in the object's storage: set 30 s ahead, it outlives the hibernation at
 * 10.005 s and starts the object again at 30.005 s; a run that succeeds deletes it (one run).
 * The buffer the request left (threshold, flushed into it in waitUntil) was discarded with
 * the hibernation, so the alarm's exporter.flush finds nothing: the span is lost at 10.005 s.
 * An alarm 5 s ahead runs on the same object first and its flush delivers the span.
 */
static void test_alarm_survives_hibernation(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"seed\": 1, \"workload\": {\"arrivals\": \"constant\", \"requests\": 1, \"keys\": 1,"
        "   \"drain_s\": 600},"
        " \"runtime\": {\"kind\": \"durable_object\", \"cold_start\": {\"fixed_ms\": 5}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"exposed\", \"batch_items\": 100},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"request\", \"do\": []}},"
        "   {\"wait_until\": [{\"call\": \"tracer.flush\"}]},"
        "   {\"set_alarm\": {\"delay\": {\"fixed_s\": %d}}}, {\"respond\": {\"status\": 200}}],"
        "   \"alarm\": [{\"call\": \"exporter.flush\"}]}}";
    char text[1024];
    snprintf(text, sizeof text, doc, 30);
    xrun x = xrun_text(text);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.r.rt.alarms_run, 1);
    assert_int_equal(x.r.rt.isolates_created, 2);
    expect_fate_in(x.ledger_db, 1, "lost/evicted-in-buffer@10005000000/exporter");
    xrun_free(&x);
    snprintf(text, sizeof text, doc, 5);
    xrun y = xrun_text(text);
    assert_int_equal(y.rc, 0);
    assert_int_equal(y.r.rt.alarms_run, 1);
    assert_int_equal(y.r.rt.isolates_created, 1);
    assert_int_equal(y.r.report.fate[FATE_LOST], 0);
    xrun_free(&y);
}

/*
 * Workers Logs' cap per invocation. Two requests 1 s apart each console.log three records,
 * 10 ms apart (their lines are the records' JSON, ~220 bytes each). With the cap at exactly
 * the first request's three lines, all six are recorded; one byte less, its third line is
 * not (lost at its write, 20 ms), and the second request, an invocation of its own, keeps all
 * of its own. Lines ship when their invocation is over, so what is recorded arrives late.
 */
static char *console_doc(const char *limit_kb, int lines, int body_bytes)
{
    static const char fmt[] =
        "{\"seed\": 1, \"workload\": {\"arrivals\": \"constant\", \"requests\": 2,"
        "   \"rate_per_s\": 1},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}%s%s},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"handler\": [{\"repeat\": {\"times\": %d, \"do\": ["
        "   {\"log\": {\"body\": \"%s\", \"via\": \"console\"}},"
        "   {\"await\": {\"name\": \"db\", \"latency\": {\"fixed_ms\": 10}}}]}},"
        "   {\"respond\": {\"status\": 200}}]}}";
    char *body = malloc((size_t)body_bytes + 1);
    assert_non_null(body);
    memset(body, 'x', (size_t)body_bytes);
    body[body_bytes] = '\0';
    size_t cap = sizeof fmt + (size_t)body_bytes + 64;
    char *doc = malloc(cap);
    assert_non_null(doc);
    snprintf(doc, cap, fmt, limit_kb ? ", \"log_limit_kb\": " : "", limit_kb ? limit_kb : "", lines,
             body);
    free(body);
    return doc;
}

static void test_log_cap_per_invocation(void **state)
{
    (void)state;
    char *doc = console_doc(NULL, 3, 15);
    xrun probe = xrun_text(doc);
    free(doc);
    assert_int_equal(probe.rc, 0);
    assert_int_equal(probe.r.report.fate[FATE_LATE], 6);
    int64_t first = t_sql_int(probe.ledger_db, "SELECT SUM(bytes) FROM items WHERE request = 1");
    int64_t second = t_sql_int(probe.ledger_db, "SELECT SUM(bytes) FROM items WHERE request = 2");
    int64_t two = t_sql_int(probe.ledger_db, "SELECT SUM(bytes) FROM items WHERE id IN (4, 5)");
    /* (Later ids and times print longer: the second request's lines are no shorter.) */
    assert_true(first > 600 && first < 800 && second >= first && two < first);
    xrun_free(&probe);

    char kb[64];
    snprintf(kb, sizeof kb, "%.17g", (double)second / 1024.0);
    doc = console_doc(kb, 3, 15);
    xrun at = xrun_text(doc);
    free(doc);
    assert_int_equal(at.rc, 0);
    assert_int_equal(at.r.report.fate[FATE_LOST], 0);
    xrun_free(&at);

    /* One byte under the first invocation's three lines: each invocation loses its third. */
    snprintf(kb, sizeof kb, "%.17g", (double)(first - 1) / 1024.0);
    doc = console_doc(kb, 3, 15);
    xrun over = xrun_text(doc);
    free(doc);
    assert_int_equal(over.rc, 0);
    assert_int_equal(over.r.report.fate[FATE_LOST], 2);
    expect_fate_in(over.ledger_db, 3, "lost/log-size-limit@20000000/workers-logs");
    expect_fate_in(over.ledger_db, 6, "lost/log-size-limit@1020000000/workers-logs");
    xrun_free(&over);
}

/* The default cap, 256 KB: 300 lines of ~1.2 KB in each of two invocations (overlapping: 3 s
 * each, 1 s apart); in each, the lines recorded are those whose running total stays within
 * 262144 bytes, and every later one is lost, from the instant of the first that does not fit. */
static void test_log_cap_256_kb(void **state)
{
    (void)state;
    char *doc = console_doc(NULL, 300, 1000);
    xrun x = xrun_text(doc);
    free(doc);
    assert_int_equal(x.rc, 0);
    int64_t lost = 0;
    for (int q = 1; q <= 2; q++) {
        int64_t total = 0, kept = 0;
        for (int i = 0; i < 300; i++) {
            int64_t b = t_sql_intf(x.ledger_db,
                                   "SELECT bytes FROM items WHERE request = %d ORDER BY id "
                                   "LIMIT 1 OFFSET %d",
                                   q, i);
            if (total + b > 256 * 1024)
                break;
            total += b;
            kept++;
        }
        assert_true(kept > 150 && kept < 300);
        assert_int_equal(t_sql_intf(x.ledger_db,
                                    "SELECT COUNT(*) FROM fates f JOIN items i ON i.id = f.item "
                                    "WHERE i.request = %d AND f.cause = 'log-size-limit'",
                                    q),
                         300 - kept);
        int first_lost = (int)t_sql_intf(
            x.ledger_db, "SELECT id FROM items WHERE request = %d ORDER BY id LIMIT 1 OFFSET %lld",
            q, (long long)kept);
        char want[96];
        snprintf(want, sizeof want, "lost/log-size-limit@%lld/workers-logs",
                 (long long)((q - 1) * 1000000000LL + kept * 10000000));
        expect_fate_in(x.ledger_db, first_lost, want);
        lost += 300 - kept;
    }
    assert_int_equal(x.r.report.lost_by[CAUSE_LOG_SIZE_LIMIT], lost);
    xrun_free(&x);
}

/*
 * An uncaught exception (throw). Two hourly cron runs, each a 1 s job in a span, then a
 * waitUntil that flushes (propagate: the span is sent and answered, 2 ms) and throws, as a raw
 * waitUntil(flushAndDispose(client)) did: each run's outcome is exception, its span delivered
 * all the same. An alarm() that throws fails its run at once and is retried 2, 4, 8, 16, 32 and
 * 64 s after each failure; retries that find the object hibernated (10 s after a failure)
 * start it again, 5 ms later: runs at 1.005, 3.005, 7.005, 15.005, 31.005, 63.010, 127.015.
 */
static void test_throw_outcomes(void **state)
{
    (void)state;
    static const char cron[] =
        "{\"seed\": 1, \"workload\": {\"arrivals\": \"cron\", \"cron\": \"0 * * * *\","
        "   \"duration_s\": 7200, \"drain_s\": 60},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {\"strategy\": \"propagate\"},"
        " \"app\": {\"handler\": [{\"span\": {\"name\": \"job\", \"do\": [{\"await\": {\"name\": "
        "   \"work\", \"latency\": {\"fixed_s\": 1}}}]}},"
        "   {\"wait_until\": [{\"call\": \"tracer.flush\"}%s]}, {\"respond\": {\"status\": "
        "200}}]}}";
    char doc[1024];
    snprintf(doc, sizeof doc, cron, ", {\"throw\": \"client disposed\"}");
    xrun raw = xrun_text(doc);
    assert_int_equal(raw.rc, 0);
    assert_int_equal(raw.r.rt.arrived, 2);
    assert_int_equal(raw.r.rt.exceptions, 2);
    assert_int_equal(raw.r.report.exceptions, 2);
    assert_int_equal(raw.r.report.fate[FATE_DELIVERED], 2);
    xrun_free(&raw);
    snprintf(doc, sizeof doc, cron, "");
    xrun caught = xrun_text(doc);
    assert_int_equal(caught.r.rt.exceptions, 0);
    assert_int_equal(caught.r.report.fate[FATE_DELIVERED], 2);
    xrun_free(&caught);

    static const char *const at[7] = {"1005000000 ",  "3005000000 ",  "7005000000 ",
                                      "15005000000 ", "31005000000 ", "63010000000 ",
                                      "127015000000 "};
    simrun x = failing_alarm("{\"throw\": \"boom\"}", at);
    assert_int_equal(x.r.rt.exceptions, 7);
    simrun_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hibernation_at_10s),
        cmocka_unit_test(test_hibernate_after_setting),
        cmocka_unit_test(test_timer_blocks_hibernation),
        cmocka_unit_test(test_waituntil_keeps_alive_from_2026_10_01),
        cmocka_unit_test(test_flush_before_idle),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_cron_expressions),
        cmocka_unit_test(test_cron_wall_limit_at_15_minutes),
        cmocka_unit_test(test_cron_cpu_limit_by_interval),
        cmocka_unit_test(test_cron_refused),
        cmocka_unit_test(test_cron_times_list),
        cmocka_unit_test(test_queue_subrequest_limit_across_a_batch),
        cmocka_unit_test(test_queue_retries_and_dead_letters),
        cmocka_unit_test(test_streamed_body_ends_at_eof),
        cmocka_unit_test(test_client_disconnect_truncates_the_body),
        cmocka_unit_test(test_alarm_retries_with_backoff),
        cmocka_unit_test(test_alarm_survives_hibernation),
        cmocka_unit_test(test_log_cap_per_invocation),
        cmocka_unit_test(test_log_cap_256_kb),
        cmocka_unit_test(test_throw_outcomes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
