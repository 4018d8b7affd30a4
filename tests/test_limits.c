/*
 * The runtime's limits and breadth, each at its boundary: memory, CPU,
 * subrequests and connections, random kills, colos, routes, diurnal and
 * replayed workloads, empirical distributions. Then the loss each limit
 * causes, recorded with its cause against a live embedded ingest, and
 * determinism. Expected numbers are worked out here from the scenarios.
 */
#include "datafile.h"
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

#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifdef T_ASAN
/* From the sanitizer runtime; declared here as not every compiler ships its header. */
size_t __sanitizer_get_current_allocated_bytes(void);
#elif defined(__GLIBC__)
#include <malloc.h>
#endif

#define MS 1000000LL
#define S  1000000000LL

static simrun with_exporter(const char *json);

/* One request at t=0 on a fresh isolate (cold start 0), with `runtime` and `handler`;
 * `traced`: with the step trace. */
static simrun one_run(const char *runtime, const char *handler, bool traced)
{
    char json[4096];
    snprintf(
        json, sizeof json,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 1,"
        " \"duration_s\": 0, \"drain_s\": 10},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 100}"
        "%s%s},"
        " \"app\": {\"handler\": [%s]}}",
        runtime[0] ? ", " : "", runtime, handler);
    return traced ? sim_text(json, -1) : sim_text_untraced(json, -1, NULL);
}

static simrun one(const char *runtime, const char *handler)
{
    return one_run(runtime, handler, true);
}

/* ---- memory ---- */

static void test_memory_limit_at_its_boundary(void **state)
{
    (void)state;
    /* 1 MB = 1048576 bytes: exactly that is allowed, one byte more is not. */
    simrun at = one("\"memory_limit_mb\": 1",
                    "{\"memory\": {\"bytes\": 1048576, \"hold\": \"isolate\"}}, {\"respond\": {}}");
    assert_int_equal(at.r.rt.evicted[RT_EVICT_MEMORY], 0);
    assert_int_equal(at.r.rt.peak_memory_bytes, 1048576);
    assert_int_equal(at.r.rt.alive_at_end, 1);
    simrun over =
        one("\"memory_limit_mb\": 1",
            "{\"memory\": {\"bytes\": 1048577, \"hold\": \"isolate\"}}, {\"respond\": {}}");
    assert_int_equal(over.r.rt.evicted[RT_EVICT_MEMORY], 1);
    assert_int_equal(over.r.rt.alive_at_end, 0);
    assert_non_null(strstr(over.summary, "evicted: idle 0 lifetime 0 deploy 0 memory 1 killed 0"));
    /* The isolate's base counts: half a MB of base plus half a MB is the limit exactly. */
    simrun base =
        one("\"memory_limit_mb\": 1, \"memory_base_mb\": 0.5",
            "{\"memory\": {\"bytes\": 524288, \"hold\": \"isolate\"}}, {\"respond\": {}}");
    assert_int_equal(base.r.rt.evicted[RT_EVICT_MEMORY], 0);
    simrun base1 =
        one("\"memory_limit_mb\": 1, \"memory_base_mb\": 0.5",
            "{\"memory\": {\"bytes\": 524289, \"hold\": \"isolate\"}}, {\"respond\": {}}");
    assert_int_equal(base1.r.rt.evicted[RT_EVICT_MEMORY], 1);
    simrun_free(&at);
    simrun_free(&over);
    simrun_free(&base);
    simrun_free(&base1);
}

/* Task-held memory adds up across concurrent requests and is given back when they end. */
static simrun two_requests(double rate)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": %g, \"requests\": 2,"
             " \"duration_s\": 0, \"drain_s\": 10},"
             " \"runtime\": {\"memory_limit_mb\": 1, \"cold_start\": {\"fixed_ms\": 0},"
             "  \"idle_timeout\": {\"fixed_s\": 100}},"
             " \"app\": {\"handler\": [{\"memory\": {\"bytes\": 600000}},"
             "  {\"await\": {\"latency\": {\"fixed_ms\": 10}}}, {\"respond\": {}}]}}",
             rate);
    return sim_text(json, -1);
}

static void test_memory_held_by_concurrent_requests(void **state)
{
    (void)state;
    simrun apart = two_requests(1); /* 1 s apart: 600 KB at a time */
    assert_int_equal(apart.r.rt.evicted[RT_EVICT_MEMORY], 0);
    assert_int_equal(apart.r.rt.peak_memory_bytes, 600000);
    assert_int_equal(apart.r.rt.completed, 2);
    simrun together = two_requests(1000); /* 1 ms apart: 1.2 MB while both wait */
    assert_int_equal(together.r.rt.evicted[RT_EVICT_MEMORY], 1);
    assert_int_equal(together.r.rt.killed, 2);
    assert_int_equal(together.r.rt.lost_responses, 2);
    /* Evicted at the instant the second request crossed the limit (1 ms). */
    assert_int_equal(events_between(&together, "memory_limit", 1 * MS, 1 * MS + 1), 1);
    assert_int_equal(events_of(&together, "memory_limit"), 1);
    simrun_free(&apart);
    simrun_free(&together);
}

/* ---- CPU ---- */

static void test_cpu_limit_at_its_boundary(void **state)
{
    (void)state;
    simrun at = one("\"cpu_limit_ms\": 10", "{\"cpu\": {\"fixed_ms\": 10}}, {\"respond\": {}}");
    assert_int_equal(at.r.rt.cpu_limited, 0);
    assert_int_equal(at.r.rt.responded, 1);
    simrun over =
        one("\"cpu_limit_ms\": 10", "{\"cpu\": {\"fixed_ns\": 10000001}}, {\"respond\": {}}");
    assert_int_equal(over.r.rt.cpu_limited, 1);
    assert_int_equal(over.r.rt.responded, 0);
    assert_int_equal(over.r.rt.completed, 0);
    /* Terminated at the instant it reached 10 ms, not after the whole step. */
    assert_int_equal(lines_starting(over.trace, "10000000 r1 i1 t1 handler terminated"), 1);
    assert_non_null(strstr(over.summary, "1 requests over the CPU limit"));
    simrun_free(&at);
    simrun_free(&over);
}

static void test_cpu_adds_up_across_handler_and_wait_until(void **state)
{
    (void)state;
    /* 6 ms in the handler, then 5 ms in waitUntil work after the response: 11 > 10. */
    const char *h = "{\"cpu\": {\"fixed_ms\": 6}}, {\"wait_until\": [{\"await\": {\"latency\": "
                    "{\"fixed_ms\": 1}}}, {\"cpu\": {\"fixed_ms\": 5}}, {\"log\": {\"body\": "
                    "\"after\"}}]}, {\"respond\": {}}";
    simrun s = one("\"cpu_limit_ms\": 10", h);
    assert_int_equal(s.r.rt.responded, 1);
    assert_int_equal(s.r.rt.cpu_limited, 1);
    /* The waitUntil task resumed at 7 ms and was stopped 4 ms later, before its log step. */
    assert_int_equal(lines_starting(s.trace, "11000000 r1 i1 t2 wait_until terminated"), 1);
    assert_int_equal(trace_count(&s, " log after"), 0);
    /* The same with the limit at 11 ms: nothing is terminated. */
    simrun ok = one("\"cpu_limit_ms\": 11", h);
    assert_int_equal(ok.r.rt.cpu_limited, 0);
    assert_int_equal(trace_count(&ok, " log after"), 1);
    /* 0: no limit at all. */
    simrun none = one("\"cpu_limit_ms\": 0", "{\"cpu\": {\"fixed_s\": 100}}, {\"respond\": {}}");
    assert_int_equal(none.r.rt.cpu_limited, 0);
    simrun_free(&s);
    simrun_free(&ok);
    simrun_free(&none);
}

/* ---- subrequests and connections ---- */

static void test_subrequest_limit_at_its_boundary(void **state)
{
    (void)state;
    const char *three = "{\"repeat\": {\"times\": 3, \"do\": [{\"fetch\": {\"latency\": "
                        "{\"fixed_ms\": 1}}}]}}, {\"respond\": {}}";
    const char *four = "{\"repeat\": {\"times\": 4, \"do\": [{\"fetch\": {\"latency\": "
                       "{\"fixed_ms\": 1}}}]}}, {\"respond\": {}}";
    simrun at = one("\"subrequest_limit\": 3", three);
    assert_int_equal(at.r.app.fetches, 3);
    assert_int_equal(at.r.app.fetches_refused, 0);
    assert_int_equal(at.r.rt.subrequests, 3);
    simrun over = one("\"subrequest_limit\": 3", four);
    assert_int_equal(over.r.app.fetches, 4);
    assert_int_equal(over.r.app.fetches_refused, 1);
    assert_int_equal(over.r.rt.subrequests_refused, 1);
    assert_int_equal(trace_count(&over, "fetch_refused Too many subrequests."), 1);
    assert_int_equal(over.r.rt.responded, 1); /* the program goes on */
    simrun_free(&at);
    simrun_free(&over);
}

/* n waitUntil tasks, each fetching for 100 ms at once. */
static simrun parallel_fetches(int n)
{
    char h[4096] = "";
    for (int i = 0; i < n; i++)
        strcat(h, "{\"wait_until\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 100}}}]}, ");
    strcat(h, "{\"respond\": {}}");
    return one("\"max_connections\": 6", h);
}

static void test_seventh_connection_waits(void **state)
{
    (void)state;
    simrun six = parallel_fetches(6);
    assert_int_equal(six.r.rt.connection_waits, 0);
    assert_int_equal(lines_starting(six.trace, "100000000 r1 i1 t7 wait_until ends"), 1);
    simrun seven = parallel_fetches(7);
    assert_int_equal(seven.r.rt.connection_waits, 1);
    /* The 7th starts when the first closes, at 100 ms, and ends at 200 ms. */
    assert_int_equal(lines_starting(seven.trace, "100000000 r1 i1 t7 wait_until ends"), 1);
    assert_int_equal(lines_starting(seven.trace, "200000000 r1 i1 t8 wait_until ends"), 1);
    simrun_free(&six);
    simrun_free(&seven);
}

static void test_timer_callbacks_are_not_limited(void **state)
{
    (void)state;
    simrun s = one("\"subrequest_limit\": 1",
                   "{\"set_timeout\": {\"delay\": {\"fixed_ms\": 1}, \"do\": [{\"repeat\": "
                   "{\"times\": 5, \"do\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 1}}}]}}]}}, "
                   "{\"await\": {\"latency\": {\"fixed_ms\": 50}}}, {\"respond\": {}}");
    assert_int_equal(s.r.app.fetches, 5);
    assert_int_equal(s.r.app.fetches_refused, 0);
    simrun_free(&s);
}

/* ---- random kills ---- */

static const char *kills =
    "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 10, \"duration_s\": 600,"
    " \"drain_s\": 10},"
    " \"runtime\": {\"cold_start\": {\"fixed_ms\": 5}, \"idle_timeout\": {\"fixed_s\": 100}},"
    " \"faults\": {\"kill_isolates_per_hour\": 60},"
    " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"fixed_ms\": 50}}}, {\"respond\": {}}]}}";

static void test_random_kills_are_a_deterministic_fault(void **state)
{
    (void)state;
    simrun a = sim_text(kills, 7);
    simrun b = sim_text(kills, 7);
    simrun c = sim_text(kills, 8);
    /* One an minute for ten minutes, give or take (Poisson). */
    assert_in_range(a.r.rt.evicted[RT_EVICT_KILLED], 3, 25);
    /* Isolates are always alive here (idle for 100 s at most): every kill event kills one. */
    assert_int_equal(a.r.rt.evicted[RT_EVICT_KILLED], events_of(&a, "kill"));
    assert_int_equal(a.r.rt.isolates_created, a.r.rt.evicted[RT_EVICT_KILLED] + 1);
    assert_true(a.r.hash == b.r.hash);
    assert_string_equal(a.summary, b.summary);
    assert_true(a.r.hash != c.r.hash);
    /* The arrivals do not move: the faults draw from their own stream. */
    assert_int_equal(a.r.rt.arrived, b.r.rt.arrived);
    simrun_free(&a);
    simrun_free(&b);
    simrun_free(&c);
}

static void test_kills_never_keep_a_run_alive(void **state)
{
    (void)state;
    /* A huge kill rate: the run still ends when its work is done. */
    simrun s = one("", "{\"respond\": {}}");
    simrun k = sim_text("{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, "
                        "\"requests\": 1, \"duration_s\": 0, \"drain_s\": 10},"
                        " \"faults\": {\"kill_isolates_per_hour\": 3600000},"
                        " \"app\": {\"handler\": [{\"respond\": {}}]}}",
                        -1);
    assert_true(k.r.end_ns <= 11 * S);
    assert_int_equal(s.r.rt.evicted[RT_EVICT_KILLED], 0);
    simrun_free(&s);
    simrun_free(&k);
}

/* ---- colos and routes ---- */

static void test_colos_by_weight_with_their_own_isolates(void **state)
{
    (void)state;
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 100, \"requests\": 4000,"
        " \"duration_s\": 0, \"drain_s\": 10},"
        " \"runtime\": {\"colos\": [{\"name\": \"fra\", \"weight\": 3, \"max_isolates\": 1},"
        "  {\"name\": \"lhr\", \"weight\": 1, \"max_isolates\": 1}],"
        "  \"idle_timeout\": {\"fixed_s\": 1000}},"
        " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"fixed_ms\": 20}}}, "
        "{\"respond\": {}}]}}",
        1);
    assert_int_equal(s.r.ncolos, 2);
    assert_int_equal(s.r.colos[0].arrived + s.r.colos[1].arrived, 4000);
    assert_in_range(s.r.colos[0].arrived, 2880, 3120); /* 3000 +- 4 sigma */
    /* One isolate each: a colo never borrows another's. */
    assert_int_equal(s.r.colos[0].isolates_created, 1);
    assert_int_equal(s.r.colos[1].isolates_created, 1);
    assert_int_equal(s.r.rt.isolates_created, 2);
    assert_non_null(strstr(s.summary, "colos: fra "));
    simrun_free(&s);
}

static void test_routes_by_weight_run_their_programs(void **state)
{
    (void)state;
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 100, \"requests\": 4000,"
        " \"duration_s\": 0},"
        " \"app\": {\"routes\": ["
        "  {\"name\": \"GET /\", \"weight\": 1, \"handler\": [{\"await\": {\"name\": \"A\", "
        "\"latency\": {\"fixed_ms\": 1}}}, {\"respond\": {}}]},"
        "  {\"name\": \"POST /api\", \"weight\": 3, \"handler\": [{\"await\": {\"name\": \"B\", "
        "\"latency\": {\"fixed_ms\": 1}}}, {\"respond\": {}}]}]}}",
        1);
    int a = trace_count(&s, " await A\n"), b = trace_count(&s, " await B\n");
    assert_int_equal(a + b, 4000);
    assert_in_range(a, 890, 1110); /* 1000 +- 4 sigma */
    simrun_free(&s);
}

/* ---- workloads ---- */

/* Arrival events in [from, to) ns. */
static int arrivals_between(const simrun *s, int64_t from, int64_t to)
{
    return events_between(s, "arrival", from, to);
}

static void test_diurnal_rate_follows_the_day(void **state)
{
    (void)state;
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"diurnal\", \"rate_per_s\": 2, \"duration_s\": 86400,"
        " \"diurnal\": {\"trough_rate_per_s\": 0.2, \"peak_h\": 14}, \"drain_s\": 1},"
        " \"app\": {\"handler\": [{\"respond\": {}}]}}",
        3);
    int64_t h = 3600 * S;
    int peak = arrivals_between(&s, 13 * h + h / 2, 14 * h + h / 2);
    int trough = arrivals_between(&s, 1 * h + h / 2, 2 * h + h / 2);
    /* About 2/s around 14:00 (7,100 in the hour) and 0.2/s around 02:00 (730). */
    assert_in_range(peak, 6700, 7500);
    assert_in_range(trough, 600, 860);
    /* The whole day: the mean rate is (2 + 0.2) / 2. */
    assert_in_range(s.r.rt.arrived, 93500, 96600);
    simrun_free(&s);
}

static void test_replay_arrives_at_the_recorded_times(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *csv = t_path(dir, "arrivals.csv");
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("# exported from the access log\ntime,route,key\n1700000000.5,b,alice\n"
          "1700000001.0,a,bob\n1700000001.0,a,alice\n\n1700000002.25,b,carol\n",
          f);
    fclose(f);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"workload\": {\"arrivals\": \"replay\", \"start_s\": 10, \"drain_s\": 1,"
             " \"replay\": {\"file\": \"%s\"}},"
             " \"runtime\": {\"routing\": \"sticky\"},"
             " \"app\": {\"routes\": ["
             "  {\"name\": \"a\", \"handler\": [{\"await\": {\"name\": \"A\", \"latency\": "
             "{\"fixed_ms\": 1}}}, {\"respond\": {}}]},"
             "  {\"name\": \"b\", \"handler\": [{\"await\": {\"name\": \"B\", \"latency\": "
             "{\"fixed_ms\": 1}}}, {\"respond\": {}}]}]}}",
             csv);
    simrun s = sim_text(json, -1);
    assert_int_equal(s.r.rt.arrived, 4);
    /* Relative to the first timestamp, from start_s. */
    assert_int_equal(arrivals_between(&s, 10 * S, 10 * S + 1), 1);
    assert_int_equal(arrivals_between(&s, 10 * S + S / 2, 10 * S + S / 2 + 1), 2);
    assert_int_equal(arrivals_between(&s, 11 * S + 3 * S / 4, 11 * S + 3 * S / 4 + 1), 1);
    assert_int_equal(trace_count(&s, " await A\n"), 2);
    assert_int_equal(trace_count(&s, " await B\n"), 2);
    simrun_free(&s);

    /* Times that go back are an error naming the file and line. */
    f = fopen(csv, "w");
    fputs("5\n7\n6\n", f);
    fclose(f);
    scenario *sc;
    char err[1024];
    snprintf(json, sizeof json,
             "{\"workload\": {\"arrivals\": \"replay\", \"replay\": {\"file\": \"%s\"}},"
             " \"app\": {\"handler\": [{\"respond\": {}}]}}",
             csv);
    assert_int_equal(scn_parse(json, "t.json", &sc, err, sizeof err), SIM_EINPUT);
    char want[600];
    snprintf(want, sizeof want, "t.json: $.workload.replay.file: %s:3: times must not decrease",
             csv);
    if (!strstr(err, want))
        fail_msg("%s", err);
    /* An unknown route in the file. */
    f = fopen(csv, "w");
    fputs("time,route\n1,x\n", f);
    fclose(f);
    snprintf(json, sizeof json,
             "{\"workload\": {\"arrivals\": \"replay\", \"replay\": {\"file\": \"%s\"}},"
             " \"app\": {\"handler\": [{\"respond\": {}}]}}",
             csv);
    assert_int_equal(scn_parse(json, "t.json", &sc, err, sizeof err), SIM_EINPUT);
    assert_non_null(strstr(err, ":2: no route \"x\" in app.routes"));
    t_rmtree(dir);
    free(csv);
    free(dir);
}

static void test_empirical_distribution_from_samples(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *csv = t_path(dir, "lat.csv");
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("latency_ms\n30\n10\n20\n", f); /* a header, unsorted */
    fclose(f);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"workload\": {\"requests\": 1},"
             " \"network\": {\"latency\": {\"empirical_ms\": {\"file\": \"%s\"}}},"
             " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"empirical_us\": [250]}}},"
             " {\"respond\": {}}]}}",
             csv);
    scenario *sc;
    char err[1024];
    assert_int_equal(scn_parse(json, "t.json", &sc, err, sizeof err), 0);
    const dist *d = &sc->network.latency;
    assert_int_equal(d->kind, DIST_EMPIRICAL);
    assert_int_equal(d->nsamples, 3);
    assert_int_equal(d->samples[0], 10 * MS);
    assert_int_equal(d->samples[2], 30 * MS);
    rng r;
    rng_seed(&r, 1, RNG_NETWORK);
    int64_t lo = INT64_MAX, hi = 0;
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t x = dist_draw(d, &r);
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        sum += (double)x;
    }
    assert_true(lo >= 10 * MS && hi <= 30 * MS);
    assert_true(lo < 11 * MS && hi > 29 * MS);
    assert_true(sum / 100000 > 19.8 * MS && sum / 100000 < 20.2 * MS);
    assert_true(dist_mean(d) == 20.0 * MS);
    const dist *one_sample = &sc->program.routes[0].handler.steps[0].d;
    assert_int_equal(dist_draw(one_sample, &r), 250000);
    scn_free(sc);
    t_rmtree(dir);
    free(csv);
    free(dir);
}

/* ---- teardown while other work is waiting (found in review) ---- */

static void test_budget_cancel_while_a_connection_frees(void **state)
{
    (void)state;
    /* At the 50 ms deadline, cancelling B (which holds the only connection) hands it to A,
     * which is waiting; meanwhile C would be ready to run. Nothing may run until every
     * waitUntil task of the request is cancelled, and the run must end. */
    simrun s = one(
        "\"max_connections\": 1, \"wait_until_budget_s\": 0.05",
        "{\"wait_until\": [{\"await\": {\"latency\": {\"fixed_ms\": 10}}}, {\"fetch\": {\"name\": "
        "\"B\", \"latency\": {\"fixed_ms\": 5}}}]},"
        "{\"wait_until\": [{\"await\": {\"latency\": {\"fixed_ms\": 40}}}, {\"cpu\": "
        "{\"fixed_ms\": "
        "10}}, {\"await\": {\"latency\": {\"fixed_s\": 1}}}]},"
        "{\"wait_until\": [{\"await\": {\"latency\": {\"fixed_ms\": 45}}}]},"
        "{\"wait_until\": [{\"fetch\": {\"name\": \"A\", \"latency\": {\"fixed_s\": 1}}}]},"
        "{\"respond\": {}}");
    assert_int_equal(s.r.rt.completed, 1);
    assert_int_equal(lines_starting(s.trace, "50000000 r1 i1 t4 wait_until runs"), 0);
    simrun_free(&s);
}

#define CPU_TERMINATION(conns)                                                                     \
    "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 100, \"requests\": 2,"            \
    " \"duration_s\": 0, \"drain_s\": 5},"                                                         \
    " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"cpu_limit_ms\": 50,"                      \
    "  \"max_connections\": " #conns ", \"idle_timeout\": {\"fixed_s\": 100}},"                    \
    " \"network\": {\"latency\": {\"fixed_ms\": 10}}, \"exporter\": {\"strategy\": "               \
    "\"immediate\"},"                                                                              \
    " \"app\": {\"handler\": [{\"metric\": {\"name\": \"m\"}}, {\"log\": {\"body\": \"x\"}},"      \
    "  {\"wait_until\": [{\"call\": \"metrics.flush\"}]}, {\"wait_until\": [{\"call\": "           \
    "\"logger.flush\"}]},"                                                                         \
    "  {\"cpu\": {\"fixed_ms\": 100}}, {\"respond\": {}}]}}"

static void test_cpu_termination_keeps_the_thread_busy(void **state)
{
    (void)state;
    /* r1 burns CPU past the 50 ms limit while a POST of its waits for the one connection:
     * cancelling that POST must not let r2 run inside r1's CPU time. */
    const char *runs[] = {CPU_TERMINATION(1), CPU_TERMINATION(6)};
    for (int i = 0; i < 2; i++) {
        simrun s = with_exporter(runs[i]);
        assert_int_equal(s.r.rt.cpu_limited, 2);
        /* r2's first step runs when r1's CPU time is over, not before. */
        assert_int_equal(strncmp(trace_line(&s, " r2 i1 ", 0), "50000000 r2 i1 ", 15), 0);
        assert_int_equal(lines_starting(s.trace, "50000000 r1 i1 t1 handler terminated"), 1);
        simrun_free(&s);
    }
}

static void test_placement_never_moves_arrivals(void **state)
{
    (void)state;
    simrun x = sim_text("{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 10, "
                        "\"duration_s\": 60}, \"app\": {\"handler\": [{\"respond\": {}}]}}",
                        5);
    simrun y = sim_text(
        "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 10, \"duration_s\": 60},"
        " \"runtime\": {\"routing\": \"sticky\", \"colos\": [{\"name\": \"x\"}, {\"name\": "
        "\"y\"}]},"
        " \"app\": {\"routes\": [{\"name\": \"a\", \"handler\": [{\"respond\": {}}]},"
        " {\"name\": \"b\", \"handler\": [{\"respond\": {}}]}]}}",
        5);
    assert_int_equal(x.r.rt.arrived, y.r.rt.arrived);
    for (int64_t t = 0; t < 60 * S; t += S)
        assert_int_equal(arrivals_between(&x, t, t + S), arrivals_between(&y, t, t + S));
    simrun_free(&x);
    simrun_free(&y);
}

static void test_memory_spikes_and_overflow(void **state)
{
    (void)state;
    /* A spike kills the isolate at the step that made it: the segment goes no further (the
     * CPU after it never runs, the request never responds). */
    simrun spike = one("", "{\"memory\": {\"bytes\": 1000000000}}, {\"cpu\": {\"fixed_ms\": 10}},"
                           " {\"respond\": {}}");
    assert_int_equal(spike.r.rt.evicted[RT_EVICT_MEMORY], 1);
    assert_int_equal(spike.r.rt.responded, 0);
    assert_int_equal(trace_count(&spike, " handler cpu"), 0);
    /* So ten million steps of 1 TB each stop at the first: 1 TB held, then evicted. */
    const char *huge_steps = "{\"repeat\": {\"times\": 100, \"do\": [{\"repeat\": {\"times\":"
                             " 100000, \"do\": [{\"memory\": {\"bytes\": 1000000000000}}]}}]}},"
                             " {\"respond\": {}}";
    simrun huge = one_run("", huge_steps, false);
    assert_int_equal(huge.r.rt.evicted[RT_EVICT_MEMORY], 1);
    assert_true(huge.r.rt.peak_memory_bytes == 1000000000000ULL);
    /* Without a limit they all run: more than int64 can count, in one segment, saturates
     * (UBSan would object). Untraced: a trace of its ten million steps is 260 MB, 2.6 s of
     * the 2.7 (13 s under the sanitizers), and nothing here reads it. */
    simrun unlimited = one_run("\"memory_limit_mb\": 0", huge_steps, false);
    assert_int_equal(unlimited.r.rt.evicted[RT_EVICT_MEMORY], 0);
    assert_true(unlimited.r.rt.peak_memory_bytes == INT64_MAX);
    simrun_free(&spike);
    simrun_free(&huge);
    simrun_free(&unlimited);
    scenario *sc;
    char err[512];
    assert_int_equal(scn_parse("{\"workload\": {\"requests\": 1}, \"runtime\": {\"memory_base_mb\":"
                               " 200}, \"app\": {\"handler\": [{\"respond\": {}}]}}",
                               "t.json", &sc, err, sizeof err),
                     SIM_EINPUT);
    assert_non_null(strstr(err, "t.json: $.runtime.memory_base_mb: expected less than "
                                "memory_limit_mb (128)"));
}

/* A data file with `content`, named in a scenario `head` + its path + `tail`. */
static void data_file_error(const char *dir, const char *content, size_t len, const char *head,
                            const char *tail, const char *want)
{
    char *csv = t_path(dir, "d.csv");
    FILE *f = fopen(csv, "wb");
    assert_non_null(f);
    fwrite(content, 1, len, f);
    fclose(f);
    char json[1024];
    snprintf(json, sizeof json, "%s%s%s", head, csv, tail);
    scenario *sc = NULL;
    char err[1024] = "";
    int rc = scn_parse(json, "t.json", &sc, err, sizeof err);
    if (!want) {
        if (rc)
            fail_msg("rejected: %s", err);
        scn_free(sc);
    } else if (rc != SIM_EINPUT || !strstr(err, want)) {
        fail_msg("got \"%s\", want \"%s\"", err, want);
    }
    free(csv);
}

static void test_data_file_edges(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    const char *rh = "{\"workload\": {\"arrivals\": \"replay\", \"replay\": {\"file\": \"";
    const char *rtail = "\"}}, \"app\": {\"handler\": [{\"respond\": {}}]}}";
    const char *sh = "{\"workload\": {\"requests\": 1}, \"network\": {\"latency\": "
                     "{\"empirical_ms\": {\"file\": \"";
    const char *st = "\"}}}, \"app\": {\"handler\": [{\"respond\": {}}]}}";
    data_file_error(dir, "0\n1\n1e11\n", 9, rh, rtail,
                    ":3: 100000000000 is more than 1000000000 s");
    data_file_error(dir, "0\n1\n\0 2\n3\n", 10, rh, rtail, "a NUL byte: not a text file");
    data_file_error(dir, "\xEF\xBB\xBFtime\r\n0\r\n1\r\n", 15, rh, rtail, NULL);
    data_file_error(dir, "-500\n10\n20\n", 11, sh, st, ":1: expected a sample >= 0, got \"-500\"");
    data_file_error(dir, "ms\n10\n20\n", 9, sh, st, NULL);
    t_rmtree(dir);
    free(dir);
}

/* Bytes handed out by the allocator and not yet freed; -1 where it cannot say. */
static long long heap_in_use(void)
{
#ifdef T_ASAN
    return (long long)__sanitizer_get_current_allocated_bytes(); /* glibc's counts are idle */
#elif defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 33)
    struct mallinfo2 m = mallinfo2();
    return (long long)(m.uordblks + m.hblkhd);
#else
    return -1;
#endif
#else
    return -1;
#endif
}

enum { BIG_ROWS = 200000 };

/*
 * A replay of 200,000 rows, mostly 12-byte lines as a recorded replay has them: loaded right
 * (values, cells, line numbers past comments, blank lines and CRLF), and in memory the text,
 * one df_row per row and one pointer per cell - no allocation per row. A loader with a
 * malloc'd cells array per row and doubling rows took 15-18 MB for this 2.4 MB file; the text,
 * rows and cell pointers are 8.8 MB (12 + 32 bytes a line).
 */
static void test_data_file_holds_many_rows_compactly(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *csv = t_path(dir, "big.csv");
    FILE *f = fopen(csv, "wb");
    assert_non_null(f);
    fputs("\xEF\xBB\xBF# recorded arrivals, one a line\n", f);
    /* line[i]: the file line of row i */
    unsigned *line = malloc(BIG_ROWS * sizeof *line);
    assert_non_null(line);
    unsigned at = 1;
    for (int i = 0; i < BIG_ROWS; i++) {
        if (i % 5000 == 4999) {
            fputs("\n# a comment, with commas\n", f);
            at += 2;
        }
        line[i] = ++at;
        if (i % 10000 == 1)
            fprintf(f, " %.9f , extra,\t \r\n", i * 1e-7); /* three cells, the last empty */
        else if (i % 1000 == 7)
            fprintf(f, "%.9f\r\n", i * 1e-7);
        else
            fprintf(f, "%.9f\n", i * 1e-7);
    }
    long size = ftell(f);
    fclose(f);
    assert_true(size > 12 * BIG_ROWS && size < 13 * BIG_ROWS); /* the ratio below needs it */

    long long before = heap_in_use();
    df_table t;
    char err[512];
    if (df_load(csv, &t, err, sizeof err))
        fail_msg("%s", err);
    long long used = heap_in_use() - before;

    assert_int_equal(t.nrows, BIG_ROWS);
    size_t cells = 0;
    for (int i = 0; i < BIG_ROWS; i++) {
        const df_row *r = &t.rows[i];
        char want[32];
        snprintf(want, sizeof want, "%.9f", i * 1e-7);
        if (strcmp(r->cells[0], want) != 0 || r->line != line[i])
            fail_msg("row %d: \"%s\" at line %u, want \"%s\" at line %u", i, r->cells[0], r->line,
                     want, line[i]);
        if (i % 10000 == 1) {
            assert_int_equal(r->ncells, 3);
            assert_string_equal(r->cells[1], "extra");
            assert_string_equal(r->cells[2], "");
        } else {
            assert_int_equal(r->ncells, 1);
        }
        /* every row's cells follow the previous row's in the one shared array */
        if (i > 0)
            assert_ptr_equal(r->cells, t.rows[i - 1].cells + t.rows[i - 1].ncells);
        cells += r->ncells;
    }
    /* The text, the rows and the cell pointers, plus the allocator's own per-allocation
     * overhead and page rounding for three allocations. */
    long long bound = size + 1 + (long long)(BIG_ROWS * sizeof(df_row) + cells * sizeof(char *));
    if (used >= 0) {
        if (used > bound + 64 * 1024)
            fail_msg("the table holds %lld bytes, more than %lld", used, bound);
        assert_true(used < 4 * (long long)size); /* ~3.7x for 12-byte lines */
    }
    df_free(&t);
    assert_true(used < 0 || heap_in_use() - before < 4096); /* given back whole */

    /* The same file as a replay: every row an arrival, 100 ns apart. */
    char json[1024];
    snprintf(json, sizeof json,
             "{\"workload\": {\"arrivals\": \"replay\", \"replay\": {\"file\": \"%s\"}},"
             " \"app\": {\"handler\": [{\"respond\": {}}]}}",
             csv);
    scenario *sc;
    if (scn_parse(json, "t.json", &sc, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(sc->workload.nreplay, BIG_ROWS);
    for (int i = 0; i < BIG_ROWS; i++)
        if (sc->workload.replay_ns[i] != (int64_t)i * 100)
            fail_msg("arrival %d at %" PRId64 " ns, want %d", i, sc->workload.replay_ns[i],
                     i * 100);
    scn_free(sc);
    free(line);
    t_rmtree(dir);
    free(csv);
    free(dir);
}

/* ---- what each limit costs the telemetry: causes recorded, against a live ingest ---- */

static simrun with_exporter(const char *json)
{
    char *dir = t_mkdtemp();
    simrun s = sim_text_in(json, -1, dir, NULL);
    t_rmtree(dir);
    free(dir);
    if (!s.r.verified)
        fail_msg("unverified run");
    return s;
}

static void test_cpu_limit_loses_the_requests_buffers(void **state)
{
    (void)state;
    /* Each request: a metric (into its own buffer), then a span whose CPU passes the limit. */
    simrun s = with_exporter(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 3,"
        " \"duration_s\": 0, \"drain_s\": 30},"
        " \"runtime\": {\"cpu_limit_ms\": 10, \"cold_start\": {\"fixed_ms\": 0}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 5}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"handler\": [{\"metric\": {\"name\": \"m\"}},"
        "  {\"span\": {\"name\": \"work\", \"do\": [{\"cpu\": {\"fixed_ms\": 20}}]}},"
        "  {\"call\": \"tracer.flush\"}, {\"call\": \"metrics.flush\"}, {\"respond\": {}}]}}");
    assert_int_equal(s.r.rt.cpu_limited, 3);
    assert_int_equal(s.r.report.items, 6);
    assert_int_equal(s.r.report.fate[FATE_LOST], 6);
    assert_int_equal(s.r.report.lost_by[CAUSE_CPU_LIMIT], 6);
    assert_non_null(strstr(s.summary, "lost by cause: cpu-limit 6"));
    simrun_free(&s);
}

static void test_losses_by_route_and_colo(void **state)
{
    (void)state;
    simrun s = with_exporter(
        "{\"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 1, \"requests\": 40,"
        " \"duration_s\": 0, \"drain_s\": 30},"
        " \"runtime\": {\"cpu_limit_ms\": 10, \"colos\": [{\"name\": \"fra\"}, {\"name\": "
        "\"lhr\"}]},"
        " \"network\": {\"latency\": {\"fixed_ms\": 5}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"routes\": ["
        "  {\"name\": \"light\", \"handler\": [{\"metric\": {\"name\": \"m\"}},"
        "   {\"call\": \"metrics.flush\"}, {\"respond\": {}}]},"
        "  {\"name\": \"heavy\", \"handler\": [{\"metric\": {\"name\": \"m\"}},"
        "   {\"cpu\": {\"fixed_ms\": 11}}, {\"call\": \"metrics.flush\"}, {\"respond\": {}}]}]}}");
    const ledger_report *p = &s.r.report;
    assert_int_equal(p->nby_route, 2);
    /* The most lost first: every heavy item, no light one. */
    assert_int_equal(p->by_route[0].index, 1);
    assert_true(p->by_route[0].items > 0);
    assert_int_equal(p->by_route[0].lost, p->by_route[0].items);
    assert_int_equal(p->by_route[1].index, 0);
    assert_int_equal(p->by_route[1].lost, 0);
    assert_int_equal(p->by_route[0].items + p->by_route[1].items, 40);
    assert_int_equal(p->nby_colo, 2);
    assert_int_equal(p->by_colo[0].lost + p->by_colo[1].lost, p->by_route[0].lost);
    assert_non_null(strstr(s.summary, "lost by route: heavy "));
    assert_non_null(strstr(s.summary, "lost by colo: "));
    simrun_free(&s);
}

static void test_subrequest_limit_loses_the_exports_past_it(void **state)
{
    (void)state;
    /* Fix A POSTs on every flush: the third POST of a request is one fetch too many. */
    simrun s = with_exporter(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 30},"
        " \"runtime\": {\"subrequest_limit\": 3, \"cold_start\": {\"fixed_ms\": 0}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 5}},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"handler\": [{\"fetch\": {\"latency\": {\"fixed_ms\": 1}}},"
        "  {\"repeat\": {\"times\": 3, \"do\": [{\"metric\": {\"name\": \"m\"}},"
        "   {\"call\": \"metrics.flush\"}]}}, {\"respond\": {}}]}}");
    assert_int_equal(s.r.report.items, 6);
    assert_int_equal(s.r.report.fate[FATE_DELIVERED], 4);
    assert_int_equal(s.r.report.lost_by[CAUSE_SUBREQUEST_LIMIT], 2);
    assert_int_equal(s.r.rt.subrequests_refused, 2);
    assert_int_equal(s.r.posts, 4);
    simrun_free(&s);
}

static void test_memory_eviction_takes_the_exporter_buffer(void **state)
{
    (void)state;
    /* The seed's exporter with thresholds it never reaches: its buffer grows with every
     * request until the isolate is over 1 MB and is evicted, buffer and all. */
    simrun s = with_exporter(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 10, \"requests\": 300,"
        " \"duration_s\": 0, \"drain_s\": 30},"
        " \"runtime\": {\"memory_limit_mb\": 1, \"cold_start\": {\"fixed_ms\": 0},"
        "  \"idle_timeout\": {\"fixed_s\": 1000}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 5}},"
        " \"exporter\": {\"strategy\": \"threshold\", \"batch_items\": 1000000,"
        "  \"batch_bytes\": 1000000000, \"item_overhead_bytes\": 1024},"
        " \"app\": {\"handler\": [{\"repeat\": {\"times\": 10, \"do\": [{\"metric\": "
        "{\"name\": \"m\"}}]}}, {\"wait_until\": [{\"call\": \"metrics.flush\"}]},"
        "  {\"respond\": {}}]}}");
    assert_true(s.r.rt.evicted[RT_EVICT_MEMORY] >= 1);
    assert_true(s.r.report.lost_by[CAUSE_EVICTED_IN_BUFFER] > 500);
    assert_non_null(strstr(s.summary, "was evicted (memory)"));
    assert_int_equal(s.r.report.evicted[RT_EVICT_MEMORY], s.r.rt.evicted[RT_EVICT_MEMORY]);
    assert_int_equal(s.r.report.lost_when_evicted[RT_EVICT_MEMORY],
                     s.r.report.lost_by[CAUSE_EVICTED_IN_BUFFER]);
    /* Nothing was delivered; what the last isolate held is stranded at the end. A request
     * that crossed the limit stopped at the metric that did it: its later metrics were
     * never made, so fewer than 300 x 10 items exist, and every one of them is lost. */
    assert_int_equal(s.r.report.fate[FATE_DELIVERED], 0);
    assert_true(s.r.report.items < 3000 && s.r.report.items > 2900);
    assert_int_equal(s.r.report.lost_by[CAUSE_EVICTED_IN_BUFFER] +
                         s.r.report.lost_by[CAUSE_STRANDED_AT_END],
                     s.r.report.items);
    simrun_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_limit_at_its_boundary),
        cmocka_unit_test(test_memory_held_by_concurrent_requests),
        cmocka_unit_test(test_cpu_limit_at_its_boundary),
        cmocka_unit_test(test_cpu_adds_up_across_handler_and_wait_until),
        cmocka_unit_test(test_subrequest_limit_at_its_boundary),
        cmocka_unit_test(test_seventh_connection_waits),
        cmocka_unit_test(test_timer_callbacks_are_not_limited),
        cmocka_unit_test(test_random_kills_are_a_deterministic_fault),
        cmocka_unit_test(test_kills_never_keep_a_run_alive),
        cmocka_unit_test(test_colos_by_weight_with_their_own_isolates),
        cmocka_unit_test(test_routes_by_weight_run_their_programs),
        cmocka_unit_test(test_diurnal_rate_follows_the_day),
        cmocka_unit_test(test_replay_arrives_at_the_recorded_times),
        cmocka_unit_test(test_empirical_distribution_from_samples),
        cmocka_unit_test(test_budget_cancel_while_a_connection_frees),
        cmocka_unit_test(test_cpu_termination_keeps_the_thread_busy),
        cmocka_unit_test(test_placement_never_moves_arrivals),
        cmocka_unit_test(test_memory_spikes_and_overflow),
        cmocka_unit_test(test_data_file_edges),
        cmocka_unit_test(test_data_file_holds_many_rows_compactly),
        cmocka_unit_test(test_cpu_limit_loses_the_requests_buffers),
        cmocka_unit_test(test_losses_by_route_and_colo),
        cmocka_unit_test(test_subrequest_limit_loses_the_exports_past_it),
        cmocka_unit_test(test_memory_eviction_takes_the_exporter_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
