/*
 * The runtime model: routing, each eviction cause, the waitUntil budget,
 * timers frozen and caught up, the isolate's single thread, server kind,
 * fault windows (memory pressure, CPU storms).
 */
#include "engine.h"
#include "runtime.h"
#include "simtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- routing, through the C API with a scripted host ---- */

typedef struct script {
    const int64_t *duration_ns; /* per request id (1-based) */
    uint64_t isolate_of[16];
    int runs[16];
} script;

static void s_handler_start(void *ud, rt *r, rt_task *t)
{
    (void)ud, (void)r, (void)t;
}

static void s_run(void *ud, rt *r, rt_task *t)
{
    script *sc = ud;
    uint64_t id = t->request_id;
    sc->isolate_of[id] = rt_current_isolate(r)->id;
    if (sc->runs[id]++ == 0) {
        rt_await(r, sc->duration_ns[id]);
    } else {
        rt_respond(r, 200);
        rt_finish(r);
    }
}

static void s_discard(void *ud, rt *r, rt_task *t, rt_task_end why)
{
    (void)ud, (void)r, (void)t, (void)why;
}

static void s_iso(void *ud, rt *r, rt_isolate_info *iso)
{
    (void)ud, (void)r, (void)iso;
}

static void s_iso_dies(void *ud, rt *r, rt_isolate_info *iso, rt_evict c)
{
    (void)ud, (void)r, (void)iso, (void)c;
}

/* Arrivals at the given times (ns); runs to the end. */
static void drive(rt *r, eng *e, const int64_t *arrivals, int n)
{
    for (int i = 0; i < n; i++)
        eng_at(e, arrivals[i], EV_ARRIVAL, 0, (uint64_t)i + 1);
    eng_event ev;
    while (eng_pop(e, &ev)) {
        if (ev.type == EV_ARRIVAL)
            rt_request_arrive(r);
        else
            rt_handle(r, &ev);
    }
}

static void test_routing_least_loaded_with_spare_concurrency(void **state)
{
    (void)state;
    const int64_t ms = 1000000;
    /* Request durations: r1 short, r2 long, r3 medium, r4..r6 short. */
    const int64_t dur[] = {0, 10 * ms, 500 * ms, 80 * ms, 5 * ms, 5 * ms, 5 * ms};
    script sc = {.duration_ns = dur};
    rt_host host = {&sc, s_handler_start, NULL, s_run, s_discard, s_iso, s_iso_dies, NULL, NULL};
    rt_config cfg = {.kind = RT_EDGE,
                     .max_concurrency = 2,
                     .cold_start = dist_fixed(1 * ms),
                     .idle_timeout = dist_fixed(10000 * ms),
                     .wait_until_budget_ns = 30000 * ms};
    eng *e = eng_new();
    rng rr;
    rng_seed(&rr, 1, RNG_RUNTIME);
    rt *r = rt_new(e, &rr, &cfg, &host);
    /* r1, r2 fill isolate 1; r3 finds no room and starts isolate 2. At 50 ms
     * isolate 1 holds r2 and isolate 2 holds r3: a tie, the oldest wins (r4 -> 1).
     * At 100 ms isolate 1 holds r2 only, isolate 2 nothing: r5 goes to 2 (least loaded).
     * At 200 ms both hold... isolate 1 holds r2, isolate 2 none: r6 -> 2. */
    const int64_t arr[] = {0, 1 * ms, 2 * ms, 50 * ms, 100 * ms, 200 * ms};
    drive(r, e, arr, 6);
    assert_int_equal(sc.isolate_of[1], 1);
    assert_int_equal(sc.isolate_of[2], 1);
    assert_int_equal(sc.isolate_of[3], 2);
    assert_int_equal(sc.isolate_of[4], 1);
    assert_int_equal(sc.isolate_of[5], 2);
    assert_int_equal(sc.isolate_of[6], 2);
    const rt_stats *st = rt_get_stats(r);
    assert_int_equal(st->isolates_created, 2);
    assert_int_equal(st->completed, 6);
    rt_free(r);
    eng_free(e);
}

static void test_max_isolates_shares_the_least_loaded(void **state)
{
    (void)state;
    const int64_t ms = 1000000;
    const int64_t dur[] = {0, 100 * ms, 100 * ms, 100 * ms, 100 * ms};
    script sc = {.duration_ns = dur};
    rt_host host = {&sc, s_handler_start, NULL, s_run, s_discard, s_iso, s_iso_dies, NULL, NULL};
    rt_config cfg = {.kind = RT_EDGE,
                     .max_concurrency = 1,
                     .max_isolates = 2,
                     .cold_start = dist_fixed(1 * ms),
                     .idle_timeout = dist_fixed(10000 * ms)};
    eng *e = eng_new();
    rng rr;
    rng_seed(&rr, 1, RNG_RUNTIME);
    rt *r = rt_new(e, &rr, &cfg, &host);
    const int64_t arr[] = {0, 1 * ms, 2 * ms, 3 * ms};
    drive(r, e, arr, 4);
    assert_int_equal(rt_get_stats(r)->isolates_created, 2);
    assert_int_equal(sc.isolate_of[3], 1); /* both full: the least loaded, the oldest on a tie */
    assert_int_equal(sc.isolate_of[4], 2);
    rt_free(r);
    eng_free(e);
}

/* Arrivals with their colo and key; returns the isolate each request ran on (sc). */
static void drive_keys(rt *r, eng *e, const int64_t *arrivals, const uint32_t *keys, int n)
{
    for (int i = 0; i < n; i++)
        eng_at(e, arrivals[i], EV_ARRIVAL, 0, (uint64_t)i);
    eng_event ev;
    while (eng_pop(e, &ev)) {
        if (ev.type == EV_ARRIVAL) {
            rt_arrival a = {0, 0, keys[ev.b]};
            rt_request_arrive_at(r, &a);
        } else {
            rt_handle(r, &ev);
        }
    }
}

static rt *three_isolates(script *sc, rt_host *host, eng **e, rng *rr, rt_routing routing)
{
    rt_config cfg = {.kind = RT_EDGE,
                     .max_concurrency = 1,
                     .cold_start = dist_fixed(1000000),
                     .idle_timeout = dist_fixed(1000000000000LL),
                     .routing = routing,
                     .keys = 4};
    *host = (rt_host){sc, s_handler_start, NULL, s_run, s_discard, s_iso, s_iso_dies, NULL, NULL};
    *e = eng_new();
    rng_seed(rr, 1, RNG_RUNTIME);
    return rt_new(*e, rr, &cfg, host);
}

static void test_routing_sticky_by_key(void **state)
{
    (void)state;
    const int64_t ms = 1000000;
    /* r1..r3 overlap (keys 0, 1, 2) and start isolates 1, 2, 3. Later, one at a time:
     * key 2 returns to isolate 3, key 1 to isolate 2, key 0 to isolate 1 - where
     * least_loaded would send each to isolate 1 (all idle: the oldest). Key 3 is new:
     * least loaded, isolate 1. */
    const int64_t dur[] = {0, 50 * ms, 50 * ms, 50 * ms, 1 * ms, 1 * ms, 1 * ms, 1 * ms};
    const int64_t arr[] = {0, 1 * ms, 2 * ms, 100 * ms, 200 * ms, 300 * ms, 400 * ms};
    const uint32_t keys[] = {0, 1, 2, 2, 1, 0, 3};
    script sc = {.duration_ns = dur};
    rt_host host;
    eng *e;
    rng rr;
    rt *r = three_isolates(&sc, &host, &e, &rr, RT_ROUTE_STICKY);
    drive_keys(r, e, arr, keys, 7);
    const uint64_t want[] = {0, 1, 2, 3, 3, 2, 1, 1};
    for (int i = 1; i <= 7; i++)
        assert_int_equal(sc.isolate_of[i], want[i]);
    rt_free(r);
    eng_free(e);
    /* The same arrivals, least loaded: every later request goes to the oldest. */
    script ll = {.duration_ns = dur};
    r = three_isolates(&ll, &host, &e, &rr, RT_ROUTE_LEAST_LOADED);
    drive_keys(r, e, arr, keys, 7);
    for (int i = 4; i <= 7; i++)
        assert_int_equal(ll.isolate_of[i], 1);
    rt_free(r);
    eng_free(e);
}

static void test_routing_random_spreads_deterministically(void **state)
{
    (void)state;
    const int64_t ms = 1000000;
    int64_t dur[16] = {0, 50 * ms, 50 * ms, 50 * ms};
    int64_t arr[15] = {0, 1 * ms, 2 * ms};
    uint32_t keys[15] = {0};
    for (int i = 3; i < 15; i++) {
        dur[i + 1] = 1 * ms;
        arr[i] = (i - 2) * 100 * ms;
    }
    uint64_t first[16] = {0};
    for (int run = 0; run < 2; run++) {
        script sc = {.duration_ns = dur};
        rt_host host;
        eng *e;
        rng rr;
        rt *r = three_isolates(&sc, &host, &e, &rr, RT_ROUTE_RANDOM);
        drive_keys(r, e, arr, keys, 15);
        int used[4] = {0};
        for (int i = 4; i <= 15; i++)
            used[sc.isolate_of[i]]++;
        /* 12 requests over 3 idle isolates: each gets some (p of missing one < 0.025). */
        assert_true(used[1] > 0 && used[2] > 0 && used[3] > 0);
        assert_int_equal(rt_get_stats(r)->isolates_created, 3);
        if (run == 0)
            memcpy(first, sc.isolate_of, sizeof first);
        else
            assert_memory_equal(first, sc.isolate_of, sizeof first);
        rt_free(r);
        eng_free(e);
    }
}

/* A host for many requests: request `id` awaits latency_ns(id) once, then responds; where
 * each ran is recorded. */
enum { REC_REQS = 3000 };

typedef struct rec_host {
    int64_t (*latency_ns)(uint64_t id);
    uint64_t isolate_of[REC_REQS + 1];
    uint8_t runs[REC_REQS + 1];
} rec_host;

static void rec_run(void *ud, rt *r, rt_task *t)
{
    rec_host *h = ud;
    uint64_t id = t->request_id;
    h->isolate_of[id] = rt_current_isolate(r)->id;
    if (h->runs[id]++ == 0) {
        rt_await(r, h->latency_ns(id));
    } else {
        rt_respond(r, 200);
        rt_finish(r);
    }
}

static rt_host rec_start(rec_host *h, int64_t (*latency_ns)(uint64_t id))
{
    memset(h, 0, sizeof *h);
    h->latency_ns = latency_ns;
    return (rt_host){h, s_handler_start, NULL, rec_run, s_discard, s_iso, s_iso_dies, NULL, NULL};
}

/* Random routing draws among the isolates with room only: one at its limit is not a
 * candidate, even when it is the oldest. Replayed with the runtime's own stream (its only
 * consumer here: fixed cold start and idle timeout draw nothing). */
enum { RR_REQS = 200 };

static int64_t rr_latency(uint64_t id)
{
    /* 1, 2, 3 and 5 hold their isolates; the rest leave within 5 ms */
    bool holds = id == 1 || id == 2 || id == 3 || id == 5;
    return holds ? 1000000000000LL : (id <= 6 ? 5000000 : 1000000);
}

static void test_routing_random_only_among_isolates_with_room(void **state)
{
    (void)state;
    const int64_t ms = 1000000;
    static rec_host h;
    rt_host host = rec_start(&h, rr_latency);
    rt_config cfg = {.kind = RT_EDGE,
                     .max_concurrency = 2,
                     .cold_start = dist_fixed(1 * ms),
                     .idle_timeout = dist_fixed(1000000 * ms),
                     .routing = RT_ROUTE_RANDOM};
    eng *e = eng_new();
    rng rr;
    rng_seed(&rr, 9, RNG_RUNTIME);
    rt *r = rt_new(e, &rr, &cfg, &host);
    /* 1-6 at 0: 1, 2 fill isolate 1; 3, 4 fill isolate 2; 5, 6 fill isolate 3 (each time only
     * one has room: no draw). 4 and 6 leave at 6 ms: isolate 1 full, 2 and 3 at one of two.
     * From 7 on, one at a time, each gone before the next. */
    int64_t arr[RR_REQS];
    for (int i = 0; i < RR_REQS; i++)
        arr[i] = i < 6 ? 0 : (i - 5) * 10 * ms;
    drive(r, e, arr, RR_REQS);
    assert_int_equal(rt_get_stats(r)->isolates_created, 3);
    assert_int_equal(h.isolate_of[1], 1);
    assert_int_equal(h.isolate_of[2], 1);
    assert_int_equal(h.isolate_of[3], 2);
    assert_int_equal(h.isolate_of[4], 2);
    assert_int_equal(h.isolate_of[5], 3);
    assert_int_equal(h.isolate_of[6], 3);
    rng mine;
    rng_seed(&mine, 9, RNG_RUNTIME);
    int on[4] = {0};
    for (int id = 7; id <= RR_REQS; id++) {
        uint64_t want = 2 + (uint64_t)rng_range(&mine, 0, 1); /* isolate 2 or 3, never 1 */
        assert_int_equal(h.isolate_of[id], want);
        on[h.isolate_of[id]]++;
    }
    assert_true(on[2] > 70 && on[3] > 70);
    rt_free(r);
    eng_free(e);
}

/* Many isolates: routing answers from an index by load past cfg.load_index_min isolates
 * in a colo, from a scan below. Both must place every request on the same isolate. */
enum { WAVE_REQS = REC_REQS };

/* 1..64 ms, from the request id alone (the same in every run). */
static int64_t wave_latency(uint64_t id)
{
    uint64_t h = id * 0x9E3779B97F4A7C15ULL;
    return (int64_t)(1 + (h >> 58)) * 1000000;
}

static uint64_t run_waves(rec_host *w, uint32_t index_min, uint32_t max_isolates)
{
    const int64_t ms = 1000000;
    rt_host host = rec_start(w, wave_latency);
    rt_config cfg = {.kind = RT_EDGE,
                     .max_concurrency = 3,
                     .max_isolates = max_isolates,
                     .cold_start = dist_fixed(2 * ms),
                     .idle_timeout = (dist){DIST_UNIFORM, 5 * ms, 200 * ms, NULL, 0},
                     .wait_until_budget_ns = 30000 * ms,
                     .load_index_min = index_min};
    eng *e = eng_new();
    rng rr;
    rng_seed(&rr, 3, RNG_RUNTIME);
    rt *r = rt_new(e, &rr, &cfg, &host);
    /* Ten waves of 300 arrivals 50 us apart, 400 ms apart: the isolates grow past the
     * index's threshold in each and shrink below half of it in between. */
    int64_t arr[WAVE_REQS];
    for (int i = 0; i < WAVE_REQS; i++)
        arr[i] = (i / 300) * 400 * ms + (i % 300) * 50000;
    drive(r, e, arr, WAVE_REQS);
    assert_int_equal(rt_get_stats(r)->completed, WAVE_REQS);
    uint64_t created = rt_get_stats(r)->isolates_created;
    if (!max_isolates)
        assert_true(created > 10 * 40); /* past 32 isolates in every wave */
    uint64_t hash = eng_hash(e);
    rt_free(r);
    eng_free(e);
    return hash;
}

static void test_routing_index_picks_as_the_scan(void **state)
{
    (void)state;
    static rec_host scan, indexed, low;
    for (uint32_t max = 0; max <= 40; max += 40) { /* unlimited; and sharing at 40 */
        uint64_t h_scan = run_waves(&scan, UINT32_MAX, max);
        uint64_t h_default = run_waves(&indexed, 0, max);
        uint64_t h_low = run_waves(&low, 2, max); /* the index on and off all the time */
        assert_memory_equal(scan.isolate_of, indexed.isolate_of, sizeof scan.isolate_of);
        assert_memory_equal(scan.isolate_of, low.isolate_of, sizeof scan.isolate_of);
        assert_int_equal(h_scan, h_default);
        assert_int_equal(h_scan, h_low);
    }
}

/* ---- the rest through scenarios and their traces ---- */

static void test_idle_eviction(void **state)
{
    (void)state;
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 0.001, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 10},"
        " \"runtime\": {\"idle_timeout\": {\"fixed_s\": 100}, \"cold_start\": {\"fixed_ms\": 1}},"
        " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"fixed_ms\": 5}}}, {\"respond\": "
        "{}}]}}",
        -1);
    assert_int_equal(s.r.rt.isolates_created, 2);
    assert_int_equal(s.r.rt.evicted[RT_EVICT_IDLE], 1);
    assert_int_equal(s.r.rt.alive_at_end, 1);
    assert_int_equal(s.r.rt.completed, 2);
    /* Evicted exactly idle_timeout after it went idle (response at 6 ms). */
    assert_int_equal(events_between(&s, "idle_evict", 100006000000, 100006000001), 1);
    assert_non_null(line_starting(s.trace, "1000001000000 r2 i2 t2 handler runs"));
    simrun_free(&s);
}

static void test_lifetime_eviction_kills_in_flight(void **state)
{
    (void)state;
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 0.01, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 60},"
        " \"runtime\": {\"max_lifetime_s\": 5, \"cold_start\": {\"fixed_ms\": 1}},"
        " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"fixed_s\": 10}}}, {\"respond\": "
        "{}}]}}",
        -1);
    assert_int_equal(s.r.rt.evicted[RT_EVICT_LIFETIME], 2);
    assert_int_equal(s.r.rt.killed, 2);
    assert_int_equal(s.r.rt.lost_responses, 2);
    assert_int_equal(s.r.rt.responded, 0);
    assert_int_equal(trace_count(&s, "discarded isolate evicted"), 2);
    simrun_free(&s);
}

static void test_deploy_replaces_every_isolate(void **state)
{
    (void)state;
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 10, \"duration_s\": 10,"
        " \"drain_s\": 30},"
        " \"runtime\": {\"deploys_s\": [5.05], \"max_concurrency\": 1, \"cold_start\": "
        "{\"fixed_ms\": 1},"
        "  \"idle_timeout\": {\"fixed_s\": 1000}},"
        " \"app\": {\"handler\": [{\"await\": {\"latency\": {\"fixed_ms\": 150}}}, {\"respond\": "
        "{}}]}}",
        -1);
    /* 150 ms per request at 10/s with concurrency 1: two isolates alternate. The deploy at
     * 5.05 s kills the request that arrived at 5.0 s and the one from 4.9 s, whose response
     * was due at 5.05 s too: the deploy was scheduled first, so it pops first. */
    assert_int_equal(s.r.rt.evicted[RT_EVICT_DEPLOY], 2);
    assert_int_equal(s.r.rt.killed, 2);
    assert_int_equal(s.r.rt.lost_responses, 2);
    assert_int_equal(s.r.rt.isolates_created, 4);
    assert_int_equal(s.r.rt.alive_at_end, 2);
    assert_int_equal(s.r.rt.arrived, 100);
    assert_int_equal(s.r.rt.completed, 98);
    assert_non_null(
        line_starting(s.trace, "5050000000 r50 i2 t50 handler discarded isolate evicted"));
    simrun_free(&s);
}

static const char *budget_scenario(int await_s)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"workload\": {\"arrivals\": \"constant\", \"requests\": 1, \"duration_s\": 0,"
             " \"drain_s\": 100},"
             " \"runtime\": {\"wait_until_budget_s\": 30, \"cold_start\": {\"fixed_ms\": 1}},"
             " \"app\": {\"handler\": [{\"wait_until\": [{\"await\": {\"name\": \"slow\","
             " \"latency\": {\"fixed_s\": %d}}}, {\"metric\": {\"name\": \"after\"}}]},"
             " {\"respond\": {}}]}}",
             await_s);
    return buf;
}

static void test_wait_until_budget_cancels(void **state)
{
    (void)state;
    simrun over = sim_text(budget_scenario(40), -1);
    assert_int_equal(over.r.rt.wait_until_cancelled, 1);
    assert_int_equal(over.r.tel.metrics, 0); /* the step after the await never ran */
    assert_int_equal(over.r.rt.completed, 1);
    assert_non_null(line_starting(over.trace, "30001000000 r1 i1 t2 wait_until cancelled"));
    simrun_free(&over);

    simrun under = sim_text(budget_scenario(20), -1);
    assert_int_equal(under.r.rt.wait_until_cancelled, 0);
    assert_int_equal(under.r.tel.metrics, 1);
    assert_non_null(line_starting(under.trace, "20001000000 r1 i1 t2 wait_until metric after"));
    simrun_free(&under);
}

static void test_wait_until_runs_first_segment_synchronously(void **state)
{
    (void)state;
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"constant\", \"requests\": 1, \"duration_s\": 0, "
        "\"drain_s\": 1},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 1}},"
        " \"app\": {\"handler\": [{\"wait_until\": [{\"metric\": {\"name\": \"first\"}},"
        " {\"await\": {\"latency\": {\"fixed_ms\": 1}}}, {\"metric\": {\"name\": \"second\"}}]},"
        " {\"metric\": {\"name\": \"handler\"}}, {\"respond\": {}}]}}",
        -1);
    /* JS semantics: the async body runs up to its first await before the caller continues. */
    const char *first = strstr(s.trace, "metric first");
    const char *handler = strstr(s.trace, "metric handler");
    const char *second = strstr(s.trace, "metric second");
    assert_true(first && handler && second && first < handler && handler < second);
    simrun_free(&s);
}

static const char *timer_scenario(const char *runtime_extra, int second_at_s, int idle_s)
{
    static char buf[1024];
    snprintf(
        buf, sizeof buf,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": %.17g, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 1},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 1}, \"idle_timeout\": {\"fixed_s\": %d}%s},"
        " \"app\": {\"handler\": [{\"set_timeout\": {\"delay\": {\"fixed_s\": 100},"
        " \"do\": [{\"metric\": {\"name\": \"timer\"}}]}},"
        " {\"await\": {\"latency\": {\"fixed_ms\": 5}}}, {\"respond\": {}}]}}",
        1.0 / second_at_s, idle_s, runtime_extra);
    return buf;
}

static void test_timers_freeze_while_idle_and_catch_up(void **state)
{
    (void)state;
    /* Timer due at 100.001 s; the isolate is idle from 6 ms; the next request at 300 s. */
    simrun s = sim_text(timer_scenario("", 300, 1000), -1);
    assert_int_equal(s.r.rt.timers_fired, 1);
    assert_int_equal(s.r.rt.timers_caught_up, 1);
    /* It fires at the wake-up instant, before the request that woke the isolate. */
    const char *timer = line_starting(s.trace, "300000000000 r1 i1 t2 timer runs");
    const char *req = line_starting(s.trace, "300000000000 r2 i1 t3 handler runs");
    assert_true(timer && req && timer < req);
    assert_null(line_starting(s.trace, "100001000000 "));
    simrun_free(&s);
}

static void test_eviction_discards_timers(void **state)
{
    (void)state;
    simrun s = sim_text(timer_scenario("", 300, 50), -1);
    assert_int_equal(s.r.rt.timers_fired, 0);
    assert_int_equal(s.r.rt.evicted[RT_EVICT_IDLE], 1);
    assert_int_equal(s.r.tel.metrics, 0);
    simrun_free(&s);
}

static void test_server_timers_fire_while_idle(void **state)
{
    (void)state;
    simrun s = sim_text(timer_scenario(", \"kind\": \"server\", \"deploys_s\": [50]", 300, 50), -1);
    assert_int_equal(s.r.rt.timers_fired, 1);
    assert_int_equal(s.r.rt.timers_caught_up, 0);
    assert_non_null(line_starting(s.trace, "100001000000 r1 i1 t2 timer runs"));
    assert_int_equal(s.r.rt.isolates_created, 1);
    assert_int_equal(s.r.rt.evicted[RT_EVICT_IDLE] + s.r.rt.evicted[RT_EVICT_DEPLOY], 0);
    simrun_free(&s);
}

static void test_interval_freezes_then_resumes(void **state)
{
    (void)state;
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 0.01, \"requests\": 2,"
        " \"duration_s\": 0, \"drain_s\": 25},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 1000}},"
        " \"app\": {\"handler\": [{\"set_interval\": {\"every\": {\"fixed_s\": 10},"
        " \"do\": [{\"metric\": {\"name\": \"tick\"}}]}},"
        " {\"wait_until\": [{\"await\": {\"latency\": {\"fixed_s\": 25}}}]}, {\"respond\": {}}]}}",
        -1);
    /* r1's interval ticks at 10 and 20 s while its waitUntil keeps the isolate active; idle
     * from 25 s, its 30 s tick is frozen and fires once at 100 s, when r2 wakes the isolate,
     * before r2 runs. Then r1's interval (re-armed at 100 s) and r2's own tick at 110 and
     * 120 s during r2's waitUntil; the 130 s ticks find the isolate idle again. */
    assert_non_null(line_starting(s.trace, "10000000000 r1 i1 t3 timer runs"));
    assert_non_null(line_starting(s.trace, "20000000000 r1 i1 t4 timer runs"));
    assert_null(line_starting(s.trace, "30000000000 "));
    const char *late = line_starting(s.trace, "100000000000 r1 i1 t5 timer runs");
    const char *r2 = line_starting(s.trace, "100000000000 r2 i1 t6 handler runs");
    assert_true(late && r2 && late < r2);
    assert_non_null(line_starting(s.trace, "110000000000 r1 i1 t8 timer runs"));
    assert_non_null(line_starting(s.trace, "110000000000 r2 i1 t9 timer runs"));
    assert_null(line_starting(s.trace, "130000000000 "));
    assert_int_equal(s.r.rt.timers_caught_up, 1);
    assert_int_equal(s.r.rt.timers_fired, 2 + 1 + 2 + 2);
    assert_int_equal(s.r.rt.wait_until_cancelled, 0);
    simrun_free(&s);
}

static void test_single_thread_runs_ready_tasks_fifo(void **state)
{
    (void)state;
    /* Three requests arrive during a cold start; each holds the thread 10 ms. */
    simrun s = sim_text(
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1000, \"requests\": 3,"
        " \"duration_s\": 0, \"drain_s\": 1},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 5}},"
        " \"app\": {\"handler\": [{\"cpu\": {\"fixed_ms\": 10}}, {\"respond\": {}}]}}",
        -1);
    assert_non_null(line_starting(s.trace, "5000000 r1 i1 t1 handler runs"));
    assert_non_null(line_starting(s.trace, "15000000 r2 i1 t2 handler runs"));
    assert_non_null(line_starting(s.trace, "25000000 r3 i1 t3 handler runs"));
    assert_int_equal(events_of(&s, "thread_free"), 2);
    simrun_free(&s);
}

/* ---- fault windows: memory pressure and CPU storms, through the C API ---- */

#define MS 1000000LL

/* A request's program, one op after another across run() calls. */
typedef enum { FOP_END, FOP_CPU, FOP_MEM, FOP_AWAIT, FOP_TIMER_CPU } fop_kind;
typedef struct fop {
    fop_kind k;
    int64_t v; /* CPU ns, bytes, latency ns, or the timer's delay (its callback computes 10 ms) */
} fop;

enum { FH_REQS = 16, FH_FAULTS = 32 };

typedef struct fault_call {
    uint32_t rule;
    uint64_t isolate, request;
    int64_t t;
} fault_call;

typedef struct fhost {
    const fop *prog[FH_REQS + 1]; /* by request id */
    uint32_t pc[FH_REQS + 1];
    uint64_t isolate_of[FH_REQS + 1];
    int64_t responded_ns[FH_REQS + 1]; /* -1: never */
    int64_t killed_ns[FH_REQS + 1];    /* -1: never */
    int killed_cause[FH_REQS + 1];
    int64_t died_ns[FH_REQS + 1]; /* by isolate id; -1: never */
    int died_cause[FH_REQS + 1];
    fault_call faults[FH_FAULTS];
    int nfaults;
    int64_t cb_start_ns, cb_end_ns; /* the timer callback's CPU step */
    uint64_t types[32];             /* popped events by type */
} fhost;

static void f_timer_cb(void *ud, rt *r)
{
    fhost *h = ud;
    h->cb_start_ns = rt_task_time(r);
    rt_cpu(r, 10 * MS);
    h->cb_end_ns = rt_task_time(r);
}

static void f_run(void *ud, rt *r, rt_task *t)
{
    fhost *h = ud;
    uint64_t id = t->request_id;
    assert_true(id >= 1 && id <= FH_REQS && h->prog[id]);
    h->isolate_of[id] = rt_current_isolate(r)->id;
    for (;;) {
        fop op = h->prog[id][h->pc[id]++];
        switch (op.k) {
        case FOP_CPU:
            if (!rt_cpu(r, op.v))
                return; /* paused (run() is called again after the step) or terminated */
            break;
        case FOP_MEM:
            rt_mem_add(r, rt_current_isolate_ref(r), op.v);
            if (rt_pausing(r))
                return;
            break;
        case FOP_AWAIT:
            rt_await(r, op.v);
            return;
        case FOP_TIMER_CPU:
            rt_set_timer_fn(r, op.v, 0, f_timer_cb, h);
            break;
        case FOP_END:
            rt_respond(r, 200);
            rt_finish(r);
            return;
        }
    }
}

static void f_obs_request(void *ud, uint64_t request_id, uint64_t isolate_id, rt_request_event ev,
                          int64_t t)
{
    fhost *h = ud;
    (void)isolate_id;
    if (ev == RT_REQ_RESPONDED)
        h->responded_ns[request_id] = t;
}

static void f_obs_isolate(void *ud, const rt_isolate_info *iso, int cause, int64_t t)
{
    fhost *h = ud;
    if (cause >= 0 && iso->id <= FH_REQS) {
        h->died_ns[iso->id] = t;
        h->died_cause[iso->id] = cause;
    }
}

static void f_obs_killed(void *ud, uint64_t request_id, int cause, int64_t t)
{
    fhost *h = ud;
    h->killed_ns[request_id] = t;
    h->killed_cause[request_id] = cause;
}

static void f_obs_fault(void *ud, uint32_t rule, uint64_t isolate_id, uint64_t request_id,
                        int64_t t)
{
    fhost *h = ud;
    assert_true(h->nfaults < FH_FAULTS);
    h->faults[h->nfaults++] = (fault_call){rule, isolate_id, request_id, t};
}

static void f_count(void *ud, const eng_event *ev)
{
    fhost *h = ud;
    if (ev->type < 32)
        h->types[ev->type]++;
}

static void fhost_init(fhost *h)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i <= FH_REQS; i++)
        h->responded_ns[i] = h->killed_ns[i] = h->died_ns[i] = -1;
    h->cb_start_ns = h->cb_end_ns = -1;
}

static const rt_colo two_colos[] = {{"a", 1, 0}, {"b", 1, 0}};

/* Edge kind, one request per isolate at a time, no cold start, a memory limit of 100 bytes. */
static rt_config f_config(const rt_fault_window *w, size_t nw)
{
    return (rt_config){.kind = RT_EDGE,
                       .max_concurrency = 1,
                       .cold_start = dist_fixed(0),
                       .idle_timeout = dist_fixed(1000000 * MS),
                       .wait_until_budget_ns = 30000 * MS,
                       .colos = two_colos,
                       .ncolos = 2,
                       .memory_limit_bytes = 100,
                       .fault_windows = w,
                       .nfault_windows = nw};
}

typedef struct farr {
    int64_t at;
    uint32_t colo;
} farr;

/* Arrivals in time order (request ids 1..n), each running prog[i]; runs to the end. */
static void f_drive(fhost *h, const rt_config *cfg, const farr *a, const fop *const *prog, int n,
                    rt_stats *st)
{
    rt_host host = {h, s_handler_start, NULL, f_run, s_discard, s_iso, s_iso_dies, NULL, NULL};
    eng *e = eng_new();
    rng rr, fr;
    rng_seed(&rr, 1, RNG_RUNTIME);
    rng_seed(&fr, 1, RNG_FAULTS);
    rt *r = rt_new(e, &rr, cfg, &host);
    rt_observer obs = {h, f_obs_request, f_obs_isolate, NULL, f_obs_killed, f_obs_fault};
    rt_set_observer(r, &obs);
    rt_set_faults_rng(r, &fr);
    eng_set_observer(e, f_count, h);
    for (int i = 0; i < n; i++) {
        h->prog[i + 1] = prog[i];
        eng_at(e, a[i].at, EV_ARRIVAL, 0, (uint64_t)i);
    }
    eng_event ev;
    while (eng_pop(e, &ev)) {
        if (ev.type == EV_ARRIVAL) {
            rt_arrival arr = {a[ev.b].colo, 0, 0};
            rt_request_arrive_at(r, &arr);
        } else {
            assert_true(rt_handle(r, &ev));
        }
    }
    *st = *rt_get_stats(r);
    rt_free(r);
    eng_free(e);
}

static void assert_fault(const fhost *h, int i, uint32_t rule, uint64_t iso, uint64_t req,
                         int64_t t)
{
    assert_true(i < h->nfaults);
    assert_int_equal(h->faults[i].rule, rule);
    assert_int_equal(h->faults[i].isolate, iso);
    assert_int_equal(h->faults[i].request, req);
    assert_int_equal(h->faults[i].t, t);
}

static const fop hold60[] = {{FOP_MEM, 60}, {FOP_AWAIT, 1000 * MS}, {FOP_END, 0}};

static void test_fault_pressure_evicts_at_its_start(void **state)
{
    (void)state;
    /* Three isolates hold 60 bytes each from 0 to 1 s: 1 and 3 in colo 0, 2 in colo 1.
     * Rule 7 adds 50 bytes from 100 ms to isolates of colo 0 that are 1 or 2: only isolate
     * 1 (2 is listed but in colo 1; 3 is in colo 0 but not listed) - 110 > 100, it dies at
     * 100 ms exactly with its request. Rule 9 adds 30 to colo 1: isolate 2 at 90 lives. */
    static const uint32_t colo0[] = {0}, colo1[] = {1};
    static const uint64_t ones[] = {1, 2};
    const rt_fault_window w[] = {
        {.from_ns = 100 * MS,
         .until_ns = 500 * MS,
         .memory_bytes = 50,
         .colos = colo0,
         .ncolos = 1,
         .isolates = ones,
         .nisolates = 2,
         .rule = 7},
        {.from_ns = 100 * MS,
         .until_ns = 500 * MS,
         .memory_bytes = 30,
         .colos = colo1,
         .ncolos = 1,
         .rule = 9},
    };
    rt_config cfg = f_config(w, 2);
    const farr a[] = {{0, 0}, {0, 1}, {0, 0}};
    const fop *const prog[] = {hold60, hold60, hold60};
    static fhost h;
    fhost_init(&h);
    rt_stats st;
    f_drive(&h, &cfg, a, prog, 3, &st);
    assert_int_equal(h.isolate_of[1], 1);
    assert_int_equal(h.isolate_of[2], 2);
    assert_int_equal(h.isolate_of[3], 3);
    assert_int_equal(h.died_ns[1], 100 * MS);
    assert_int_equal(h.died_cause[1], RT_EVICT_MEMORY);
    assert_int_equal(h.killed_ns[1], 100 * MS);
    assert_int_equal(h.killed_cause[1], RT_EVICT_MEMORY);
    assert_int_equal(h.responded_ns[1], -1);
    assert_int_equal(h.responded_ns[2], 1000 * MS);
    assert_int_equal(h.responded_ns[3], 1000 * MS);
    assert_int_equal(h.died_cause[2], RT_EVICT_IDLE);
    assert_int_equal(h.died_cause[3], RT_EVICT_IDLE);
    assert_int_equal(st.evicted[RT_EVICT_MEMORY], 1);
    assert_int_equal(st.fault_pressure_evictions, 1);
    /* The pressure is modelled, not held: the peak is what an isolate held. */
    assert_int_equal(st.peak_memory_bytes, 60);
    /* Each window's start fired once per isolate it targets: rule 7 on isolate 1 (which it
     * evicted), rule 9 on isolate 2. */
    assert_int_equal(h.nfaults, 2);
    assert_fault(&h, 0, 7, 1, 0, 100 * MS);
    assert_fault(&h, 1, 9, 2, 0, 100 * MS);
    assert_int_equal(h.types[EV_FAULT_START], 2);
    assert_int_equal(h.types[EV_FAULT_END], 2);
}

static void test_fault_pressure_gone_after_its_end(void **state)
{
    (void)state;
    /* 50 bytes more on every isolate in [100 ms, 200 ms), limit 100. Each holds 40 first (90
     * with the pressure at its start: all live), then adds 20: isolate 1 at 150 ms (110:
     * dies then), isolate 2 at exactly 200 ms (60, the pressure is gone: lives, and even
     * reaches the limit exactly at 300 ms). Isolate 3 goes over on its own at 300 ms. */
    const rt_fault_window w[] = {
        {.from_ns = 100 * MS, .until_ns = 200 * MS, .memory_bytes = 50, .rule = 4}};
    static const fop p1[] = {{FOP_MEM, 40}, {FOP_AWAIT, 150 * MS}, {FOP_MEM, 20}, {FOP_END, 0}};
    static const fop p2[] = {{FOP_MEM, 40},         {FOP_AWAIT, 200 * MS}, {FOP_MEM, 20},
                             {FOP_AWAIT, 100 * MS}, {FOP_MEM, 40},         {FOP_END, 0}};
    static const fop p3[] = {
        {FOP_MEM, 40}, {FOP_AWAIT, 300 * MS}, {FOP_MEM, 60}, {FOP_MEM, 1}, {FOP_END, 0}};
    rt_config cfg = f_config(w, 1);
    const farr a[] = {{0, 0}, {0, 0}, {0, 0}};
    const fop *const prog[] = {p1, p2, p3};
    static fhost h;
    fhost_init(&h);
    rt_stats st;
    f_drive(&h, &cfg, a, prog, 3, &st);
    assert_int_equal(h.died_ns[1], 150 * MS);
    assert_int_equal(h.died_cause[1], RT_EVICT_MEMORY);
    assert_int_equal(h.responded_ns[2], 300 * MS);
    assert_int_equal(h.died_cause[2], RT_EVICT_IDLE);
    assert_int_equal(h.died_ns[3], 300 * MS);
    assert_int_equal(h.died_cause[3], RT_EVICT_MEMORY);
    assert_int_equal(st.evicted[RT_EVICT_MEMORY], 2);
    assert_int_equal(st.fault_pressure_evictions, 1); /* isolate 3 died after the window */
    assert_int_equal(st.peak_memory_bytes, 101);
    assert_int_equal(h.nfaults, 3); /* at the start, on each isolate (none over then) */
    for (int i = 0; i < 3; i++)
        assert_fault(&h, i, 4, (uint64_t)i + 1, 0, 100 * MS);
}

static void test_fault_pressure_checks_a_fresh_isolate_at_its_first_mem_add(void **state)
{
    (void)state;
    /* A fresh isolate holds 60 (its base); 50 more from 10 ms, limit 100. Both isolates are
     * born at 20 ms, inside the window, over the limit with the pressure (110) - and live on:
     * they are checked at their next rt_mem_add. Isolate 1 frees 10 at 25 ms (100: exactly
     * the limit, allowed) and dies at its +1 at 30 ms; isolate 2 dies at its +1 at 25 ms. */
    const rt_fault_window w[] = {
        {.from_ns = 10 * MS, .until_ns = 1000 * MS, .memory_bytes = 50, .rule = 3}};
    static const fop p1[] = {
        {FOP_AWAIT, 5 * MS}, {FOP_MEM, -10}, {FOP_AWAIT, 5 * MS}, {FOP_MEM, 1}, {FOP_END, 0}};
    static const fop p2[] = {{FOP_AWAIT, 5 * MS}, {FOP_MEM, 1}, {FOP_END, 0}};
    rt_config cfg = f_config(w, 1);
    cfg.memory_base_bytes = 60;
    const farr a[] = {{20 * MS, 0}, {20 * MS, 0}};
    const fop *const prog[] = {p1, p2};
    static fhost h;
    fhost_init(&h);
    rt_stats st;
    f_drive(&h, &cfg, a, prog, 2, &st);
    assert_int_equal(h.isolate_of[1], 1);
    assert_int_equal(h.isolate_of[2], 2);
    assert_int_equal(h.died_ns[1], 30 * MS);
    assert_int_equal(h.died_cause[1], RT_EVICT_MEMORY);
    assert_int_equal(h.died_ns[2], 25 * MS);
    assert_int_equal(h.died_cause[2], RT_EVICT_MEMORY);
    assert_int_equal(st.fault_pressure_evictions, 2);
    /* Fired at birth: the window had begun (10 ms) and no isolate was live then. */
    assert_int_equal(h.nfaults, 2);
    assert_fault(&h, 0, 3, 1, 0, 20 * MS);
    assert_fault(&h, 1, 3, 2, 0, 20 * MS);
}

/* One storm (x3, [100, 200) ms) and another (x2, [160, 300) ms), with and without a CPU limit
 * of 25 ms. */
static void run_storms(fhost *h, int64_t cpu_limit_ns, rt_stats *st)
{
    const rt_fault_window w[] = {
        {.from_ns = 100 * MS, .until_ns = 200 * MS, .cpu_factor = 3, .rule = 1},
        {.from_ns = 160 * MS, .until_ns = 300 * MS, .cpu_factor = 2, .rule = 2},
    };
    static const fop ten[] = {{FOP_CPU, 10 * MS}, {FOP_END, 0}};
    static const fop twenty[] = {{FOP_CPU, 20 * MS}, {FOP_END, 0}};
    static const fop two_fives[] = {{FOP_CPU, 5 * MS}, {FOP_CPU, 5 * MS}, {FOP_END, 0}};
    static const fop timer[] = {
        {FOP_TIMER_CPU, 1 * MS}, {FOP_CPU, 10 * MS}, {FOP_AWAIT, 100 * MS}, {FOP_END, 0}};
    rt_config cfg = f_config(w, 2);
    cfg.cpu_limit_ns = cpu_limit_ns;
    const farr a[] = {{0, 0},        {90 * MS, 0},  {150 * MS, 0},
                      {170 * MS, 1}, {250 * MS, 0}, {400 * MS, 0}};
    const fop *const prog[] = {ten, twenty, ten, two_fives, timer, ten};
    fhost_init(h);
    f_drive(h, &cfg, a, prog, 6, st);
}

static void test_fault_cpu_storm_inflates_steps(void **state)
{
    (void)state;
    static fhost h;
    rt_stats st;
    run_storms(&h, 0, &st);
    /* r1 at 0 and r6 at 400 ms: outside both storms, 10 ms. r2's step starts at 90 ms,
     * before the first storm: 20 ms, to 110 ms. r3's 10 ms step at 150 ms: x3, 30 ms, to
     * 180 ms (judged at its start: the x2 from 160 ms does not apply). r4 at 170 ms (in colo
     * 1: isolate 2): both storms, 5 ms x6 = 30 ms, then at 200 ms only the second, 5 ms
     * x2 = 10 ms: 210 ms. r5 at 250 ms on isolate 1: 10 ms x2, to 270 ms; its timer (due
     * 251 ms) runs its callback when the thread frees, 10 ms x2 from 270 to 290 ms. */
    assert_int_equal(h.responded_ns[1], 10 * MS);
    assert_int_equal(h.responded_ns[2], 110 * MS);
    assert_int_equal(h.responded_ns[3], 180 * MS);
    assert_int_equal(h.isolate_of[4], 2);
    assert_int_equal(h.responded_ns[4], 210 * MS);
    assert_int_equal(h.isolate_of[5], 1);
    assert_int_equal(h.cb_start_ns, 270 * MS);
    assert_int_equal(h.cb_end_ns, 290 * MS);
    assert_int_equal(h.responded_ns[5], 370 * MS);
    assert_int_equal(h.responded_ns[6], 410 * MS);
    assert_int_equal(st.cpu_limited, 0);
    /* Once per (storm, request), at the first step it inflated; none for the callback. */
    assert_int_equal(h.nfaults, 4);
    assert_fault(&h, 0, 1, 1, 3, 150 * MS);
    assert_fault(&h, 1, 1, 2, 4, 170 * MS);
    assert_fault(&h, 2, 2, 2, 4, 170 * MS);
    assert_fault(&h, 3, 2, 1, 5, 250 * MS);
    assert_int_equal(h.types[EV_FAULT_START], 2);
    assert_int_equal(h.types[EV_FAULT_END], 2);

    /* With a CPU limit of 25 ms the inflated CPU counts: r3 (30 ms from 150 ms) is
     * terminated at 175 ms, r4 (30 ms from 170 ms) at 195 ms. r5's 20 ms is under it, and
     * its timer's callback counts against no request. */
    run_storms(&h, 25 * MS, &st);
    assert_int_equal(h.responded_ns[1], 10 * MS);
    assert_int_equal(h.responded_ns[2], 110 * MS);
    assert_int_equal(h.responded_ns[3], -1);
    assert_int_equal(h.killed_ns[3], 175 * MS);
    assert_int_equal(h.killed_cause[3], RT_CPU_LIMIT);
    assert_int_equal(h.responded_ns[4], -1);
    assert_int_equal(h.killed_ns[4], 195 * MS);
    assert_int_equal(h.killed_cause[4], RT_CPU_LIMIT);
    assert_int_equal(h.responded_ns[5], 370 * MS);
    assert_int_equal(h.cb_end_ns, 290 * MS);
    assert_int_equal(h.responded_ns[6], 410 * MS);
    assert_int_equal(st.cpu_limited, 2);
    assert_int_equal(h.nfaults, 4);
    assert_fault(&h, 0, 1, 1, 3, 150 * MS);
    assert_fault(&h, 3, 2, 1, 5, 250 * MS);
}

static void test_fault_storm_step_paused_keeps_its_cost(void **state)
{
    (void)state;
    /* A 10 ms step at 0 under a x3 storm costs 30 ms. A pressure on its isolate begins at
     * 10 ms (1 byte: it survives): the segment stops there, then goes on with the 20 ms
     * left - not inflated again (60 ms) - and responds at 30 ms. The request's CPU is 10 +
     * 20 = 30 ms: a limit of exactly that passes. */
    const rt_fault_window w[] = {
        {.from_ns = 0, .until_ns = 1000 * MS, .cpu_factor = 3, .rule = 0},
        {.from_ns = 10 * MS, .until_ns = ENG_TIME_MAX, .memory_bytes = 1, .rule = 1},
    };
    static const fop ten[] = {{FOP_CPU, 10 * MS}, {FOP_END, 0}};
    rt_config cfg = f_config(w, 2);
    cfg.cpu_limit_ns = 30 * MS;
    const farr a[] = {{0, 0}};
    const fop *const prog[] = {ten};
    static fhost h;
    fhost_init(&h);
    rt_stats st;
    f_drive(&h, &cfg, a, prog, 1, &st);
    assert_int_equal(h.responded_ns[1], 30 * MS);
    assert_int_equal(st.cpu_limited, 0);
    assert_int_equal(h.types[EV_RESUME], 1);
    assert_int_equal(h.types[EV_FAULT_START], 2);
    assert_int_equal(h.types[EV_FAULT_END], 1); /* the pressure lasts to the end: no event */
    assert_int_equal(h.nfaults, 2);
    assert_fault(&h, 0, 0, 1, 1, 0);
    assert_fault(&h, 1, 1, 1, 0, 10 * MS);
}

static void test_fault_pressure_fires_once_per_isolate(void **state)
{
    (void)state;
    /* The pressure begins at 50 ms, when an arrival scheduled before the runtime was made
     * pops first and starts isolate 1: that one hears of it at the window's start, with the
     * live isolates, not also at birth. Isolate 2, born at 60 ms, hears at birth; isolate 3,
     * born in colo 1, is not targeted. */
    static const uint32_t colo0[] = {0};
    const rt_fault_window w[] = {{.from_ns = 50 * MS,
                                  .until_ns = ENG_TIME_MAX,
                                  .memory_bytes = 10,
                                  .colos = colo0,
                                  .ncolos = 1,
                                  .rule = 5}};
    static fhost h;
    fhost_init(&h);
    h.prog[1] = h.prog[2] = h.prog[3] = hold60;
    rt_host host = {&h, s_handler_start, NULL, f_run, s_discard, s_iso, s_iso_dies, NULL, NULL};
    rt_config cfg = f_config(w, 1);
    eng *e = eng_new();
    eng_at(e, 50 * MS, EV_ARRIVAL, 0, 0);
    rng rr;
    rng_seed(&rr, 1, RNG_RUNTIME);
    rt *r = rt_new(e, &rr, &cfg, &host);
    rt_observer obs = {&h, f_obs_request, f_obs_isolate, NULL, f_obs_killed, f_obs_fault};
    rt_set_observer(r, &obs);
    eng_set_observer(e, f_count, &h);
    eng_at(e, 60 * MS, EV_ARRIVAL, 0, 0);
    eng_at(e, 70 * MS, EV_ARRIVAL, 1, 0);
    eng_event ev;
    while (eng_pop(e, &ev)) {
        if (ev.type == EV_ARRIVAL) {
            rt_arrival arr = {ev.a, 0, 0};
            rt_request_arrive_at(r, &arr);
        } else {
            rt_handle(r, &ev);
        }
    }
    assert_int_equal(h.isolate_of[3], 3);
    assert_int_equal(h.nfaults, 2);
    assert_fault(&h, 0, 5, 1, 0, 50 * MS);
    assert_fault(&h, 1, 5, 2, 0, 60 * MS);
    assert_int_equal(h.types[EV_FAULT_START], 1);
    assert_int_equal(h.types[EV_FAULT_END], 0);
    assert_int_equal(rt_get_stats(r)->evicted[RT_EVICT_MEMORY], 0); /* 70 <= 100 */
    rt_free(r);
    eng_free(e);
}

static void test_fault_windows_schedule_nothing_without_windows(void **state)
{
    (void)state;
    const farr a[] = {{0, 0}, {0, 1}, {0, 0}};
    const fop *const prog[] = {hold60, hold60, hold60};
    static fhost h;
    rt_stats st;
    /* No windows: no event of theirs. */
    rt_config none = f_config(NULL, 0);
    fhost_init(&h);
    f_drive(&h, &none, a, prog, 3, &st);
    assert_int_equal(h.types[EV_FAULT_START] + h.types[EV_FAULT_END], 0);
    assert_int_equal(st.completed, 3);
    assert_int_equal(h.nfaults, 0);
    /* The server kind ignores them, as it does kills. */
    const rt_fault_window w[] = {
        {.from_ns = 100 * MS, .until_ns = 500 * MS, .memory_bytes = 50, .rule = 1},
        {.from_ns = 0, .until_ns = 500 * MS, .cpu_factor = 10, .rule = 2}};
    rt_config server = f_config(w, 2);
    server.kind = RT_SERVER;
    fhost_init(&h);
    f_drive(&h, &server, a, prog, 3, &st);
    assert_int_equal(h.types[EV_FAULT_START] + h.types[EV_FAULT_END], 0);
    assert_int_equal(st.evicted[RT_EVICT_MEMORY], 0);
    assert_int_equal(st.completed, 3);
    assert_int_equal(h.nfaults, 0);
    /* Through a scenario (the compiler makes no windows yet for one without faults). */
    simrun s =
        sim_text("{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 10, \"requests\": 5,"
                 " \"duration_s\": 0, \"drain_s\": 1},"
                 " \"runtime\": {\"cold_start\": {\"fixed_ms\": 1}},"
                 " \"app\": {\"handler\": [{\"cpu\": {\"fixed_ms\": 1}}, {\"respond\": {}}]}}",
                 -1);
    assert_int_equal(events_of(&s, "fault_start") + events_of(&s, "fault_end"), 0);
    simrun_free(&s);
}

/* Random kills stop when nothing else is pending: a window's events, pending far ahead, are
 * not something going on, so they do not keep the kills going until they pop. */
static uint64_t kills_with(const rt_fault_window *w, size_t nw, fhost *h)
{
    static const fop ten[] = {{FOP_CPU, 10 * MS}, {FOP_END, 0}};
    rt_config cfg = f_config(w, nw);
    cfg.idle_timeout = dist_fixed(1000 * MS);
    cfg.kill_rate_per_s = 20;
    const farr a[] = {{0, 0}};
    const fop *const prog[] = {ten};
    rt_stats st;
    fhost_init(h);
    f_drive(h, &cfg, a, prog, 1, &st);
    return h->types[EV_KILL];
}

static void test_fault_windows_do_not_keep_kills_going(void **state)
{
    (void)state;
    static fhost h;
    const rt_fault_window w[] = {
        {.from_ns = 1000000 * MS, .until_ns = 2000000 * MS, .cpu_factor = 2, .rule = 0}};
    uint64_t without = kills_with(NULL, 0, &h);
    uint64_t with = kills_with(w, 1, &h);
    assert_true(without > 0 && without < 200); /* at 20/s, for about the idle timeout */
    assert_int_equal(with, without);
    assert_int_equal(h.types[EV_FAULT_START], 1); /* they still pop, once each */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing_least_loaded_with_spare_concurrency),
        cmocka_unit_test(test_max_isolates_shares_the_least_loaded),
        cmocka_unit_test(test_routing_sticky_by_key),
        cmocka_unit_test(test_routing_random_spreads_deterministically),
        cmocka_unit_test(test_routing_index_picks_as_the_scan),
        cmocka_unit_test(test_routing_random_only_among_isolates_with_room),
        cmocka_unit_test(test_idle_eviction),
        cmocka_unit_test(test_lifetime_eviction_kills_in_flight),
        cmocka_unit_test(test_deploy_replaces_every_isolate),
        cmocka_unit_test(test_wait_until_budget_cancels),
        cmocka_unit_test(test_wait_until_runs_first_segment_synchronously),
        cmocka_unit_test(test_timers_freeze_while_idle_and_catch_up),
        cmocka_unit_test(test_eviction_discards_timers),
        cmocka_unit_test(test_server_timers_fire_while_idle),
        cmocka_unit_test(test_interval_freezes_then_resumes),
        cmocka_unit_test(test_single_thread_runs_ready_tasks_fifo),
        cmocka_unit_test(test_fault_pressure_evicts_at_its_start),
        cmocka_unit_test(test_fault_pressure_gone_after_its_end),
        cmocka_unit_test(test_fault_pressure_checks_a_fresh_isolate_at_its_first_mem_add),
        cmocka_unit_test(test_fault_cpu_storm_inflates_steps),
        cmocka_unit_test(test_fault_storm_step_paused_keeps_its_cost),
        cmocka_unit_test(test_fault_pressure_fires_once_per_isolate),
        cmocka_unit_test(test_fault_windows_schedule_nothing_without_windows),
        cmocka_unit_test(test_fault_windows_do_not_keep_kills_going),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
