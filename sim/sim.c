#include "sim.h"

#include "engine.h"
#include "net.h"
#include "transport.h"
#include "rng.h"
#include "workload.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

typedef struct run {
    FILE *events;
} run;

static void write_event(void *ud, const eng_event *ev)
{
    run *r = ud;
    fprintf(r->events, "%" PRId64 " %" PRIu64 " %s %" PRIu32 " %" PRIu64 "\n", ev->time_ns, ev->seq,
            ev_name(ev->type), ev->a, ev->b);
}

static double wall_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the wall-time budget only: it stops, never decides */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The work budget, checked every BUDGET_EVERY events (a deterministic point: the same
 * run stops at the same event) and at the end; the interpreter checks its own steps.
 * Returns 0, or -1 with what was exceeded and the key that raises it.
 */
#define BUDGET_EVERY 1024
static int over_budget(const scenario *s, eng *e, const rt *rtm, const app *a, const sdk *k,
                       const tel_null *tel, double wall0, char *err, size_t errlen)
{
    const scn_budget *b = &s->budget;
    static const char tail[] = "raise it in the scenario's \"budget\" if the run is meant to be "
                               "this big";
    uint64_t items = 0;
    if (k) {
        const sdk_stats *st = sdk_get_stats(k);
        items = st->spans + st->metrics + st->logs;
    } else {
        items = tel->spans + tel->metrics + tel->logs;
    }
    int64_t mem = eng_add(rt_memory_held(rtm), (int64_t)(eng_pending(e) * sizeof(eng_event)));
    if (app_exhausted(a))
        snprintf(err, errlen, "work budget exceeded: %.3g program steps (budget.steps); %s",
                 (double)b->steps, tail);
    else if (eng_count(e) >= b->events)
        snprintf(err, errlen, "work budget exceeded: %.3g engine events (budget.events); %s",
                 (double)b->events, tail);
    else if (items > b->items)
        snprintf(err, errlen, "work budget exceeded: %.3g telemetry items (budget.items); %s",
                 (double)b->items, tail);
    else if (mem > b->memory_bytes)
        snprintf(err, errlen,
                 "work budget exceeded: isolates and pending events hold %.0f MB "
                 "(budget.memory_mb %.0f); %s",
                 (double)mem / 1048576.0, (double)b->memory_bytes / 1048576.0, tail);
    else if ((eng_count(e) / BUDGET_EVERY) % 64 == 0 && wall_now_s() - wall0 > b->wall_s)
        snprintf(err, errlen, "work budget exceeded: %.0f s of wall time (budget.wall_s); %s",
                 b->wall_s, tail);
    else
        return 0;
    return -1;
}

void sim_result_free(sim_result *r)
{
    free(r->checks);
    r->checks = NULL;
    r->nchecks = 0;
    free(r->colos);
    r->colos = NULL;
    r->ncolos = 0;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x;
    h = (h << 29) | (h >> 35);
    return h * 0x9E3779B97F4A7C15ULL;
}

/* Where this run's items are told apart from other runs' in a shared ingest. */
static void make_run_id(const scenario *s, const sim_options *o, uint64_t seed, char *out,
                        size_t len)
{
    const char *base = strrchr(s->file, '/');
    base = base ? base + 1 : s->file;
    int n = snprintf(out, len, "%s/%s/seed%" PRIu64, base, s->variant, seed);
    if (o && o->ingest_url && n > 0 && (size_t)n < len) {
        /* An external ingest may hold earlier runs of the same scenario: tell them apart.
         * (Only the run id carries this; decisions never see it.) */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(out + n, len - (size_t)n, "/%ld.%09ld", (long)ts.tv_sec, ts.tv_nsec);
    }
    /* It travels as an HTTP header the ingest accepts as 1..255 printable ASCII bytes:
     * a variant or file name's other bytes (UTF-8, a CR LF) become '_'. */
    for (unsigned char *p = (unsigned char *)out; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '_';
}

/*
 * One run's parts, owned together: the streams (each subsystem its own, so adding one
 * does not reshuffle another), the engine and everything driven by it. A run is
 * open -> loop -> verdict -> close, as libuv's uv_run is a list of phases.
 */
typedef struct run_parts {
    const scenario *s;
    const sim_options *o;
    sim_result *out;
    rng r_workload, r_runtime, r_app, r_net, r_ids, r_exp, r_faults, r_place;
    eng *e;
    ledger *l;
    transport *tp;
    net *n;
    sdk *k;
    app *a;
    rt *rtm;
    wl *w;
    run events; /* --events */
    bool ended; /* the runtime tore its isolates down */
    char ingest_db[4096];
} run_parts;

/* Builds every part. Returns 0, or 1 with a message. */
static int run_open(run_parts *p, char *err, size_t errlen)
{
    const scenario *s = p->s;
    const sim_options *o = p->o;
    sim_result *out = p->out;
    rng_seed(&p->r_workload, out->seed, RNG_WORKLOAD);
    rng_seed(&p->r_runtime, out->seed, RNG_RUNTIME);
    rng_seed(&p->r_app, out->seed, RNG_APP);
    rng_seed(&p->r_net, out->seed, RNG_NETWORK);
    rng_seed(&p->r_ids, out->seed, RNG_IDS);
    rng_seed(&p->r_exp, out->seed, RNG_EXPORTER);
    rng_seed(&p->r_faults, out->seed, RNG_FAULTS);
    rng_seed(&p->r_place, out->seed, RNG_PLACEMENT);
    if (!(p->e = eng_new())) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    if (s->has_exporter) {
        out->telemetry = true;
        make_run_id(s, o, out->seed, out->run_id, sizeof out->run_id);
        const char *dir = o && o->run_dir ? o->run_dir : ".";
        char path[4096];
        snprintf(path, sizeof path, "%s/ledger.db", dir);
        if (ledger_open(path, &p->l, err, errlen))
            return 1;
        ledger_meta(p->l, "scenario", s->file);
        ledger_meta(p->l, "variant", s->variant);
        ledger_meta(p->l, "run", out->run_id);
        ledger_meta(p->l, "strategy", exp_strategy_name(s->exporter.strategy));
        char seed[24];
        snprintf(seed, sizeof seed, "%" PRIu64, out->seed);
        ledger_meta(p->l, "seed", seed);
        transport_config tc = {.api_key = s->api_key, .run_id = out->run_id};
        if (o && o->ingest_url) {
            tc.url = o->ingest_url;
            if (o->ingest_db)
                snprintf(p->ingest_db, sizeof p->ingest_db, "%s", o->ingest_db);
        } else {
            snprintf(p->ingest_db, sizeof p->ingest_db, "%s/ingest.db", dir);
            /* A fresh ingest per run: the join must see this run only. */
            static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
            for (size_t i = 0; i < 4; i++) {
                char f[4200];
                snprintf(f, sizeof f, "%s%s", p->ingest_db, sides[i]);
                remove(f);
            }
            tc.ingest_db = p->ingest_db;
            tc.ingest_json = s->ingest_json;
        }
        if (transport_open(&tc, &p->tp, err, errlen))
            return 1;
        ledger_meta(p->l, "ingest", transport_url(p->tp));
        p->n = net_new(p->e, &p->r_net, &s->network, p->tp, p->l);
        p->k = p->n ? sdk_new(&s->exporter, p->l, p->n, &p->r_ids, &p->r_exp, out->seed) : NULL;
        p->a = p->k ? app_new(&s->program, &p->r_app, sdk_ops(), p->k) : NULL;
    } else {
        p->a = app_new(&s->program, &p->r_app, tel_null_ops(), &out->tel);
    }
    rt_host host = p->a ? app_host(p->a) : (rt_host){0};
    p->rtm = p->a ? rt_new(p->e, &p->r_runtime, &s->runtime, &host) : NULL;
    p->w = p->rtm ? wl_new(p->e, &p->r_workload, &p->r_place, &s->workload) : NULL;
    if (!p->w) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    if (p->l) {
        rt_observer obs = ledger_observer(p->l);
        rt_set_observer(p->rtm, &obs);
    }
    rt_set_faults_rng(p->rtm, &p->r_faults);
    if (o && o->trace) {
        fprintf(o->trace, "seed %" PRIu64 "\n", out->seed);
        app_set_trace(p->a, o->trace);
    }
    p->events.events = o ? o->events : NULL;
    if (p->events.events) {
        fprintf(p->events.events, "seed %" PRIu64 "\n", out->seed);
        eng_set_observer(p->e, write_event, &p->events);
    }
    app_set_work_limit(p->a, s->budget.steps);
    return 0;
}

/*
 * Pops events until the run is over, each handled by its owner (events.h). Returns 0, 1
 * with a message (a harness error), or SIM_OVER_BUDGET.
 */
static int run_loop(run_parts *p, char *err, size_t errlen)
{
    const scenario *s = p->s;
    double wall0 = wall_now_s();
    wl_start(p->w);
    eng_event ev;
    bool shutting_down = false;
    /* The budget between batches of events: a counter in a register, not a test of the
     * engine's count on every event. */
    for (uint32_t batch = BUDGET_EVERY; eng_pop(p->e, &ev);) {
        if (--batch == 0) {
            batch = BUDGET_EVERY;
            if (over_budget(s, p->e, p->rtm, p->a, p->k, &p->out->tel, wall0, err, errlen))
                return SIM_OVER_BUDGET;
        }
        if (__builtin_expect(ev_is_runtime(ev.type), 1)) { /* most events: one bit test */
            rt_handle(p->rtm, &ev);
            continue;
        }
        switch (ev_owner_of(ev.type)) {
        case EV_OWNER_WORKLOAD: {
            rt_arrival arr;
            wl_arrived(p->w, ev.b, &arr);
            rt_request_arrive_at(p->rtm, &arr);
            break;
        }
        case EV_OWNER_NET:
            net_handle(p->n, p->rtm, &ev);
            if (net_error(p->n)) {
                snprintf(err, errlen, "%s", net_error(p->n));
                return 1;
            }
            break;
        case EV_OWNER_RUN:
            /* A long-lived process shuts down (flushing) before the run ends. */
            if (s->runtime.kind == RT_SERVER && !shutting_down) {
                shutting_down = true;
                rt_shutdown(p->rtm);
                eng_at(p->e, eng_add(ev.time_ns, SIM_SHUTDOWN_BUDGET_NS), EV_END, 0, 1);
                break;
            }
            goto over;
        default:
            assert(!"an event type without an owner (events.h)");
            abort();
        }
    }
over:
    if (over_budget(s, p->e, p->rtm, p->a, p->k, &p->out->tel, wall0, err, errlen))
        return SIM_OVER_BUDGET;
    rt_end(p->rtm);
    p->ended = true;
    return 0;
}

/* The numbers, every item's fate and the checks. Returns 0, or 1 with a message. */
static int run_verdict(run_parts *p, char *err, size_t errlen)
{
    const scenario *s = p->s;
    const sim_options *o = p->o;
    sim_result *out = p->out;
    out->events = eng_count(p->e);
    out->hash = eng_hash(p->e);
    out->end_ns = eng_now(p->e);
    out->mean_queue_depth = out->events ? (double)eng_depth_sum(p->e) / (double)out->events : 0;
    out->rt = *rt_get_stats(p->rtm);
    out->ncolos = rt_get_config(p->rtm)->ncolos; /* one when the scenario names none */
    out->colos = calloc(out->ncolos, sizeof *out->colos);
    if (!out->colos)
        abort();
    for (uint32_t i = 0; i < out->ncolos; i++)
        out->colos[i] = *rt_get_colo_stats(p->rtm, i);
    out->app = *app_get_stats(p->a);
    if (!s->has_exporter)
        return 0;
    out->sdk = *sdk_get_stats(p->k);
    out->posts = net_requests(p->n);
    transport_close(p->tp); /* the embedded ingest commits and closes */
    p->tp = NULL;
    if (!p->ingest_db[0])
        return 0;
    const char *only = o && o->ingest_url ? out->run_id : NULL;
    if (ledger_finish(p->l, p->ingest_db, only, &out->report, err, errlen) ||
        ledger_verify(p->l, err, errlen))
        return 1;
    out->verified = true;
    out->hash = mix(out->hash, out->report.ingest_hash);
    check_run cr = {s->exporter.strategy, s->runtime.kind, s->exporter.batch_items};
    out->checks = calloc(s->nexpects ? s->nexpects : 1, sizeof *out->checks);
    if (!out->checks)
        abort();
    out->nchecks = s->nexpects;
    for (size_t i = 0; i < s->nexpects; i++) {
        out->checks[i] = check_eval(&s->expects[i], &out->report, &cr);
        out->checks_pass &= out->checks[i].pass;
    }
    return 0;
}

static void run_close(run_parts *p)
{
    /* A run stopped early still tears its isolates down: their per-isolate state (the
     * app's globals, the SDK's buffers) is freed there. */
    if (p->rtm && !p->ended)
        rt_end(p->rtm);
    wl_free(p->w);
    rt_free(p->rtm);
    app_free(p->a);
    sdk_free(p->k);
    net_free(p->n);
    transport_close(p->tp);
    ledger_close(p->l);
    eng_free(p->e);
}

int sim_run(const scenario *s, const sim_options *o, sim_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->seed = o && o->seed_set ? o->seed : s->seed;
    out->checks_pass = true;
    run_parts *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    p->s = s;
    p->o = o;
    p->out = out;
    int rc = run_open(p, err, errlen);
    if (!rc)
        rc = run_loop(p, err, errlen);
    if (!rc)
        rc = run_verdict(p, err, errlen);
    run_close(p);
    free(p);
    return rc;
}

const char *sim_format_duration(int64_t ns, char *buf, size_t len)
{
    int64_t s = ns / 1000000000, frac = ns % 1000000000;
    snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m%02" PRId64 ".%09" PRId64 "s", s / 3600,
             (s / 60) % 60, s % 60, frac);
    return buf;
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const char *group_name(const scenario *s, bool route, uint32_t i)
{
    if (route)
        return i < s->program.nroutes ? s->program.routes[i].name : "?";
    return i < s->runtime.ncolos ? s->runtime.colos[i].name : "?";
}

/* "lost by route: POST /render 60 of 2262 (2.7%); ..." when there are several. */
static void print_groups(const scenario *s, bool route, const ledger_group *g, int n, FILE *out)
{
    if ((route ? s->program.nroutes : s->runtime.ncolos) < 2 || n == 0)
        return;
    fprintf(out, "lost by %s:", route ? "route" : "colo");
    for (int i = 0; i < n; i++)
        fprintf(out, "%s %s %" PRIu64 " of %" PRIu64 " (%.1f%%)", i ? ";" : "",
                group_name(s, route, g[i].index), g[i].lost, g[i].items,
                g[i].items ? 100.0 * (double)g[i].lost / (double)g[i].items : 0.0);
    fputc('\n', out);
}

static void json_groups(const scenario *s, bool route, const ledger_group *g, int n, FILE *out);

static void print_telemetry(const scenario *s, const sim_result *r, FILE *out)
{
    const ledger_report *p = &r->report;
    fprintf(out,
            "exporter: %s; %" PRIu64 " spans, %" PRIu64 " metric points, %" PRIu64
            " logs created; %" PRIu64 " POSTs sent\n",
            exp_strategy_name(s->exporter.strategy), r->sdk.spans, r->sdk.metrics, r->sdk.logs,
            r->posts);
    if (!r->verified) {
        fprintf(out, "fates: unverified (no ingest database to join: give --ingest-db)\n");
        return;
    }
    fprintf(out, "fates of %" PRIu64 " items:", p->items);
    for (int f = 0; f < FATE_COUNT; f++)
        fprintf(out, " %s %" PRIu64 " (%.1f%%)%s", ledger_fate_name((ledger_fate)f), p->fate[f],
                pct(p->fate[f], p->items), f + 1 < FATE_COUNT ? "," : "\n");
    if (p->fate[FATE_LOST]) {
        fprintf(out, "lost by cause:");
        for (int c = 0; c < CAUSE_COUNT; c++)
            if (p->lost_by[c])
                fprintf(out, " %s %" PRIu64, ledger_cause_name((ledger_cause)c), p->lost_by[c]);
        fputc('\n', out);
        print_groups(s, true, p->by_route, p->nby_route, out);
        print_groups(s, false, p->by_colo, p->nby_colo, out);
        for (int i = 0; i < p->nstories; i++)
            fprintf(out, "  story: %s\n", p->stories[i].text);
        if (p->exposure_items)
            fprintf(out,
                    "exposure: one eviction destroyed at most %" PRIu64 " items (%" PRIu64
                    " bytes)\n",
                    p->exposure_items, p->exposure_bytes);
    }
    fprintf(out, "exports: %" PRIu64 " attempts", p->attempts);
    if (p->attempts)
        fprintf(out, ", %.1f items per POST", p->items_per_post);
    if (p->fate[FATE_LOST] < p->items)
        fprintf(out, "; delivery delay p50 %.3f ms, p95 %.3f ms", p->delay_p50_ms, p->delay_p95_ms);
    fprintf(out, "; telemetry calls added %.3f ms before responses, %.3f ms in waitUntil\n",
            p->added_response_ms, p->added_wait_until_ms);
    if (r->nchecks) {
        size_t failed = 0;
        for (size_t i = 0; i < r->nchecks; i++) {
            fprintf(out, "  %s\n", r->checks[i].text);
            failed += !r->checks[i].pass;
        }
        fprintf(out, "verdict: %s (%zu of %zu checks hold as expected)\n", failed ? "FAIL" : "PASS",
                r->nchecks - failed, r->nchecks);
    }
}

void sim_print_summary(const scenario *s, const sim_result *r, FILE *out)
{
    char dur[64];
    const rt_stats *st = &r->rt;
    fprintf(out, "seed %" PRIu64 "\n", r->seed);
    fprintf(out, "scenario %s%s%s\n", s->file, s->name[0] ? " — " : "", s->name);
    if (s->next || strcmp(s->variant, "baseline") != 0 || r->telemetry)
        fprintf(out, "variant %s\n", s->variant);
    fprintf(out,
            "requests: %" PRIu64 " arrived, %" PRIu64 " responded, %" PRIu64 " completed, %" PRIu64
            " killed by eviction (%" PRIu64 " before responding)\n",
            st->arrived, st->responded, st->completed, st->killed, st->lost_responses);
    fprintf(out, "isolates: %" PRIu64 " created, %" PRIu64 " alive at end; evicted:",
            st->isolates_created, st->alive_at_end);
    for (int c = 0; c < RT_EVICT_COUNT; c++)
        fprintf(out, " %s %" PRIu64, rt_evict_key((rt_evict)c), st->evicted[c]);
    fputc('\n', out);
    if (s->runtime.ncolos > 1) {
        fprintf(out, "colos:");
        for (uint32_t i = 0; i < r->ncolos; i++)
            fprintf(out, "%s %s %" PRIu64 " requests, %" PRIu64 " isolates", i ? ";" : "",
                    s->runtime.colos[i].name, r->colos[i].arrived, r->colos[i].isolates_created);
        fputc('\n', out);
    }
    if (st->cpu_limited || st->subrequests_refused || st->connection_waits || r->app.fetches)
        fprintf(out,
                "limits: %" PRIu64 " requests over the CPU limit; %" PRIu64 " subrequests, %" PRIu64
                " refused past the limit, %" PRIu64 " waited for a connection\n",
                st->cpu_limited, st->subrequests, st->subrequests_refused, st->connection_waits);
    if (st->peak_memory_bytes)
        fprintf(out, "memory: peak %.1f MB held by one isolate (limit %.0f MB)\n",
                (double)st->peak_memory_bytes / 1048576.0,
                (double)s->runtime.memory_limit_bytes / 1048576.0);
    fprintf(out,
            "tasks: %" PRIu64 " run, %" PRIu64
            " waitUntil cancelled by the budget; timers: %" PRIu64 " fired, %" PRIu64
            " of them late after a freeze\n",
            st->tasks, st->wait_until_cancelled, st->timers_fired, st->timers_caught_up);
    if (r->app.global_entries)
        fprintf(out,
                "isolate globals: %" PRIu64 " entries, %" PRIu64
                " read by another request, %" PRIu64 " lost\n",
                r->app.global_entries, r->app.global_entries_mixed, r->app.global_entries_lost);
    if (!r->telemetry) {
        uint64_t tcalls = r->tel.spans + r->tel.metrics + r->tel.logs + r->tel.calls;
        fprintf(out,
                "telemetry: no exporter configured: %" PRIu64 " spans, %" PRIu64
                " metric points, %" PRIu64 " logs, %" PRIu64
                " API calls were ledger-less no-ops (%" PRIu64 " total)\n",
                r->tel.spans, r->tel.metrics, r->tel.logs, r->tel.calls, tcalls);
    } else {
        print_telemetry(s, r, out);
    }
    fprintf(out, "events: %" PRIu64 "\n", r->events);
    fprintf(out, "virtual duration: %s\n", sim_format_duration(r->end_ns, dur, sizeof dur));
    fprintf(out, "log hash: %016" PRIx64 "\n", r->hash);
}

void sim_print_brief(const scenario *s, const sim_result *r, FILE *out)
{
    const ledger_report *p = &r->report;
    fprintf(out, "  %-32s ", s->variant);
    if (!r->telemetry) {
        fprintf(out, "%" PRIu64 " requests, no exporter\n", r->rt.arrived);
        return;
    }
    if (!r->verified) {
        fprintf(out, "unverified (no ingest database)\n");
        return;
    }
    fprintf(out, "%6" PRIu64 " items: lost %5.1f%%, late %5.1f%%", p->items,
            pct(p->fate[FATE_LOST], p->items), pct(p->fate[FATE_LATE], p->items));
    int top = -1;
    for (int c = 0; c < CAUSE_COUNT; c++)
        if (p->lost_by[c] && (top < 0 || p->lost_by[c] > p->lost_by[top]))
            top = c;
    fprintf(out, " %-22s", top >= 0 ? ledger_cause_name((ledger_cause)top) : "");
    size_t held = 0;
    for (size_t i = 0; i < r->nchecks; i++)
        held += r->checks[i].pass;
    if (r->nchecks)
        fprintf(out, " %s %zu/%zu\n", r->checks_pass ? "checks hold" : "CHECKS FAIL", held,
                r->nchecks);
    else
        fprintf(out, " (no checks)\n");
}

static void json_str(FILE *out, const char *str)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void sim_write_summary_json(const scenario *s, const sim_result *r, FILE *out)
{
    const rt_stats *st = &r->rt;
    fprintf(out, "{\n  \"seed\": %" PRIu64 ",\n  \"scenario\": ", r->seed);
    json_str(out, s->file);
    fprintf(out, ",\n  \"name\": ");
    json_str(out, s->name);
    fprintf(out, ",\n");
    fprintf(out,
            "  \"requests\": {\"arrived\": %" PRIu64 ", \"responded\": %" PRIu64
            ", \"completed\": %" PRIu64 ", \"killed\": %" PRIu64 ", \"lost_responses\": %" PRIu64
            "},\n",
            st->arrived, st->responded, st->completed, st->killed, st->lost_responses);
    fprintf(out,
            "  \"isolates\": {\"created\": %" PRIu64 ", \"alive_at_end\": %" PRIu64
            ", \"evicted\": {",
            st->isolates_created, st->alive_at_end);
    for (int c = 0; c < RT_EVICT_COUNT; c++)
        fprintf(out, "%s\"%s\": %" PRIu64, c ? ", " : "", rt_evict_key((rt_evict)c),
                st->evicted[c]);
    fprintf(out, "}},\n");
    fprintf(out,
            "  \"tasks\": {\"run\": %" PRIu64 ", \"wait_until_cancelled\": %" PRIu64
            ", \"timers_fired\": %" PRIu64 ", \"timers_caught_up\": %" PRIu64 "},\n",
            st->tasks, st->wait_until_cancelled, st->timers_fired, st->timers_caught_up);
    fprintf(out,
            "  \"limits\": {\"cpu_limited\": %" PRIu64 ", \"subrequests\": %" PRIu64
            ", \"subrequests_refused\": %" PRIu64 ", \"connection_waits\": %" PRIu64
            ", \"peak_memory_bytes\": %" PRIu64 "},\n",
            st->cpu_limited, st->subrequests, st->subrequests_refused, st->connection_waits,
            st->peak_memory_bytes);
    fprintf(out, "  \"colos\": [");
    for (uint32_t i = 0; i < r->ncolos; i++) {
        fprintf(out, "%s{\"name\": ", i ? ", " : "");
        json_str(out, s->runtime.ncolos ? s->runtime.colos[i].name : "default");
        fprintf(out, ", \"arrived\": %" PRIu64 ", \"isolates_created\": %" PRIu64 "}",
                r->colos[i].arrived, r->colos[i].isolates_created);
    }
    fprintf(out, "],\n");
    fprintf(out,
            "  \"globals\": {\"entries\": %" PRIu64 ", \"mixed\": %" PRIu64 ", \"lost\": %" PRIu64
            "},\n",
            r->app.global_entries, r->app.global_entries_mixed, r->app.global_entries_lost);
    fprintf(out,
            "  \"telemetry_noops\": {\"spans\": %" PRIu64 ", \"metrics\": %" PRIu64
            ", \"logs\": %" PRIu64 ", \"calls\": %" PRIu64 "},\n",
            r->tel.spans, r->tel.metrics, r->tel.logs, r->tel.calls);
    if (r->telemetry) {
        const ledger_report *p = &r->report;
        fprintf(out, "  \"variant\": ");
        json_str(out, s->variant);
        fprintf(out, ",\n  \"run_id\": ");
        json_str(out, r->run_id);
        fprintf(out, ",\n  \"strategy\": \"%s\",\n  \"verified\": %s,\n",
                exp_strategy_name(s->exporter.strategy), r->verified ? "true" : "false");
        fprintf(out, "  \"items\": %" PRIu64 ",\n  \"fates\": {", p->items);
        for (int f = 0; f < FATE_COUNT; f++)
            fprintf(out, "%s\"%s\": %" PRIu64, f ? ", " : "", ledger_fate_name((ledger_fate)f),
                    p->fate[f]);
        fprintf(out, "},\n  \"lost_by_cause\": {");
        for (int c = 0; c < CAUSE_COUNT; c++)
            fprintf(out, "%s\"%s\": %" PRIu64, c ? ", " : "", ledger_cause_name((ledger_cause)c),
                    p->lost_by[c]);
        fprintf(out, "},\n  \"by_route\": ");
        json_groups(s, true, p->by_route, p->nby_route, out);
        fprintf(out, ",\n  \"by_colo\": ");
        json_groups(s, false, p->by_colo, p->nby_colo, out);
        fprintf(out,
                ",\n  \"posts\": %" PRIu64 ",\n  \"exposure\": {\"items\": %" PRIu64
                ", \"bytes\": %" PRIu64 "},\n  \"stories\": [",
                p->attempts, p->exposure_items, p->exposure_bytes);
        for (int i = 0; i < p->nstories; i++) {
            fputs(i ? ", " : "", out);
            json_str(out, p->stories[i].text);
        }
        fprintf(out, "],\n  \"checks\": [");
        for (size_t i = 0; i < r->nchecks; i++) {
            fprintf(out, "%s{\"pass\": %s, \"text\": ", i ? ", " : "",
                    r->checks[i].pass ? "true" : "false");
            json_str(out, r->checks[i].text);
            fputc('}', out);
        }
        fprintf(out, "],\n  \"verdict\": \"%s\",\n",
                !r->verified     ? "unverified"
                : r->checks_pass ? "pass"
                                 : "fail");
    }
    fprintf(out,
            "  \"events\": %" PRIu64 ",\n  \"end_ns\": %" PRId64 ",\n  \"log_hash\": \"%016" PRIx64
            "\"\n}\n",
            r->events, r->end_ns, r->hash);
}

static void json_groups(const scenario *s, bool route, const ledger_group *g, int n, FILE *out)
{
    fputc('[', out);
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s{\"name\": ", i ? ", " : "");
        json_str(out, group_name(s, route, g[i].index));
        fprintf(out, ", \"items\": %" PRIu64 ", \"lost\": %" PRIu64 "}", g[i].items, g[i].lost);
    }
    fputc(']', out);
}
