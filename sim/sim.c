#include "sim.h"

#include "engine.h"
#include "net.h"
#include "pipeline.h"
#include "queue.h"
#include "wlogs.h"
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
static sim_err over_budget(const scenario *s, eng *e, const rt *rtm, const app *a, const sdk *k,
                           const pipeline *pl, const tel_null *tel, double wall0, char *err,
                           size_t errlen)
{
    const scn_budget *b = &s->budget;
    static const char tail[] = "raise it in the scenario's \"budget\" if the run is meant to be "
                               "this big";
    uint64_t items = 0;
    if (k) {
        const sdk_stats *st = sdk_get_stats(k);
        items = st->spans + st->metrics + st->logs + st->entries;
    } else {
        items = tel->spans + tel->metrics + tel->logs + tel->entries;
    }
    if (pl)
        items += pl_get_stats(pl)->carried;
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
        return SIM_OK;
    return SIM_EBUDGET;
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
    const scenario *s; /* the scenario, or `swarmed` */
    scenario swarmed;  /* --swarm: a shallow copy whose rules of the families off are off */
    void *swarm_mem;   /* the copy's own arrays */
    const sim_options *o;
    sim_result *out;
    rng r_workload, r_runtime, r_app, r_net, r_ids, r_exp, r_faults, r_place, r_queue, r_pipe;
    rng r_wlogs;
    eng *e;
    ledger *l;
    transport *tp;
    net *n;
    flt *faults;            /* when the scenario has fault rules */
    queue *q;               /* when the scenario has one */
    wlogs *wl;              /* what the platform captures of console.log (console logs) */
    pipeline *pl;           /* when the scenario has one */
    rt_observer ledger_obs; /* what the fan-out observer passes on */
    sdk *k;
    app *a;
    rt *rtm;
    wl *w;
    run events; /* --events */
    bool ended; /* the runtime tore its isolates down */
    char ingest_db[4096];
    FILE *xlog; /* exporter.log, opened with its first line */
    bool xlog_failed;
} run_parts;

/* An exporter's log line (el_host_api.log) into the run directory's exporter.log. */
static void exporter_log(void *ud, const char *line)
{
    run_parts *p = ud;
    if (!p->xlog && !p->xlog_failed) {
        char path[4200];
        snprintf(path, sizeof path, "%s/exporter.log", p->o && p->o->run_dir ? p->o->run_dir : ".");
        p->xlog = fopen(path, "w");
        p->xlog_failed = !p->xlog;
    }
    if (p->xlog)
        fprintf(p->xlog, "%s\n", line);
}

/* The ledger's file and the ingest (embedded, fresh, or the one given). */
static sim_err run_open_files(run_parts *p, char *err, size_t errlen)
{
    const scenario *s = p->s;
    const sim_options *o = p->o;
    sim_result *out = p->out;
    const char *dir = o && o->run_dir ? o->run_dir : ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    sim_err rc = ledger_open(path, &p->l, err, errlen);
    if (rc)
        return rc;
    ledger_meta(p->l, "scenario", s->file);
    ledger_meta(p->l, "variant", s->variant);
    ledger_meta(p->l, "run", out->run_id);
    ledger_meta(p->l, "strategy", s->exporter.desc->name);
    char seed[24];
    snprintf(seed, sizeof seed, "%" PRIu64, out->seed);
    ledger_meta(p->l, "seed", seed);
    ledger_meta(p->l, "ledger_mode", "full"); /* until ledger_compact says otherwise */
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
    if ((rc = transport_open(&tc, &p->tp, err, errlen)))
        return rc;
    ledger_meta(p->l, "ingest", transport_url(p->tp));
    return SIM_OK;
}

/* The pipeline's hooks into the program (app.h) and the runtime's observer. */
static void dest_starts(void *ud, rt *r, uint64_t request)
{
    pl_request_starts(ud, r, request);
}

static void dest_send(void *ud, rt *r, uint32_t dest, app_dest_done done, void *done_ud,
                      uint64_t tag)
{
    pl_fetch_send(ud, r, dest, done, done_ud, tag);
}

static void fan_request(void *ud, uint64_t request_id, uint64_t isolate_id, rt_request_event ev,
                        int64_t t)
{
    run_parts *p = ud;
    p->ledger_obs.request(p->ledger_obs.ud, request_id, isolate_id, ev, t);
    if (ev == RT_REQ_ENDED && p->pl)
        pl_request_ended(p->pl, request_id, t);
}

static void fan_isolate(void *ud, const rt_isolate_info *iso, int cause, int64_t t)
{
    run_parts *p = ud;
    p->ledger_obs.isolate(p->ledger_obs.ud, iso, cause, t);
    if (cause == RT_EVICT_KILLED) /* a random kill is a fault that fired, of no rule */
        ledger_fault(p->l, t, -1, FLT_KILL, 0, iso->id, NULL);
}

/* A runtime fault window fired on an isolate (and a request, for a CPU storm). */
static void fan_fault(void *ud, uint32_t rule, uint64_t isolate_id, uint64_t request_id, int64_t t)
{
    run_parts *p = ud;
    assert(rule < p->s->nfault_rules);
    ledger_fault(p->l, t, rule, p->s->fault_rules[rule].kind, request_id, isolate_id, NULL);
}

/* A network or ingest fault fired on a request (fault.h). */
static void on_fault(void *ud, uint32_t rule, flt_kind kind, int64_t t, const flt_target *tg)
{
    run_parts *p = ud;
    ledger_fault(p->l, t, rule, kind, tg->request, tg->isolate, tg->path);
}

static void fan_placed(void *ud, uint64_t request_id, uint32_t route, uint32_t colo)
{
    run_parts *p = ud;
    p->ledger_obs.placed(p->ledger_obs.ud, request_id, route, colo);
}

static void fan_killed(void *ud, uint64_t request_id, int cause, int64_t t)
{
    run_parts *p = ud;
    if (p->ledger_obs.killed)
        p->ledger_obs.killed(p->ledger_obs.ud, request_id, cause, t);
    if (p->pl)
        pl_request_killed(p->pl, request_id, cause, t);
}

/* Builds every part. Returns 0, or 1 with a message. */
static sim_err run_open(run_parts *p, char *err, size_t errlen)
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
    rng_seed(&p->r_queue, out->seed, RNG_QUEUE);
    rng_seed(&p->r_pipe, out->seed, RNG_PIPELINE);
    rng_seed(&p->r_wlogs, out->seed, RNG_WLOGS);
    if (!(p->e = eng_new())) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    if (s->has_exporter) {
        out->telemetry = true;
        make_run_id(s, o, out->seed, out->run_id, sizeof out->run_id);
        /* Memory mode: nothing on disk, nobody listening, the ledger joins (explore). */
        sim_err rc = o && o->memory ? ledger_open_memory(&p->l, err, errlen)
                                    : run_open_files(p, err, errlen);
        if (rc)
            return rc;
        p->n = net_new(p->e, &p->r_net, &s->network, p->tp, p->l);
        if (p->n && s->nfault_rules) {
            if (!(p->faults = flt_new(s->fault_rules, s->nfault_rules, out->seed, on_fault, p))) {
                snprintf(err, errlen, "out of memory");
                return SIM_ENOMEM;
            }
            net_set_faults(p->n, p->faults);
        }
        p->k = p->n ? sdk_new(&s->exporter, p->l, p->n, &p->r_ids, &p->r_exp, out->seed) : NULL;
        if (p->k && s->has_queue) {
            if (!(p->q = queue_new(p->e, &p->r_queue, &s->queue, p->n, p->l))) {
                snprintf(err, errlen, "out of memory");
                return SIM_ENOMEM;
            }
            sdk_set_queue(p->k, p->q);
        }
        if (p->k && s->console_logs) {
            if (!(p->wl = wlogs_new(p->e, p->n, &p->r_wlogs, p->l, s->exporter.service,
                                    s->log_cap_bytes))) {
                snprintf(err, errlen, "out of memory");
                return SIM_ENOMEM;
            }
            sdk_set_wlogs(p->k, p->wl);
        }
        if (p->k && !(o && o->memory))
            sdk_set_log(p->k, exporter_log, p);
        if (p->k && (rc = sdk_start_exporter(p->k, err, errlen)))
            return rc;
        if (p->k && s->has_pipeline &&
            !(p->pl = pl_new(p->e, &p->r_pipe, &s->pipeline, p->n, p->l))) {
            snprintf(err, errlen, "out of memory");
            return SIM_ENOMEM;
        }
        p->a = p->k ? app_new(&s->program, &p->r_app, sdk_ops(), p->k) : NULL;
        if (p->a && p->pl) {
            app_dest_ops ops = {p->pl, s->pipeline.spans_per_request ? dest_starts : NULL,
                                dest_send};
            app_set_dest_ops(p->a, &ops);
        }
    } else {
        p->a = app_new(&s->program, &p->r_app, tel_null_ops(), &out->tel);
    }
    rt_host host = p->a ? app_host(p->a) : (rt_host){0};
    p->rtm = p->a ? rt_new(p->e, &p->r_runtime, &s->runtime, &host) : NULL;
    p->w = p->rtm ? wl_new(p->e, &p->r_workload, &p->r_place, &s->workload) : NULL;
    if (!p->w) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    if (p->l) {
        rt_observer obs = ledger_observer(p->l);
        /* The pipeline hears of requests ending too; faults that fire in the runtime are
         * the ledger's with their rule's kind. */
        if (p->pl || s->nfault_rules || s->runtime.kill_rate_per_s > 0) {
            p->ledger_obs = obs;
            obs = (rt_observer){p, fan_request, fan_isolate, fan_placed, fan_killed, fan_fault};
        }
        rt_set_observer(p->rtm, &obs);
    }
    if (o && o->chooser)
        rt_set_chooser(p->rtm, o->chooser, o->chooser_ud);
    if (o && o->chooser && o->latencies)
        app_set_latency_chooser(p->a, o->chooser, o->chooser_ud);
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
    return SIM_OK;
}

/* Between batches of events: the budget, a stop request and the progress line. */
static sim_err run_between(run_parts *p, double wall0, char *err, size_t errlen)
{
    sim_err rc =
        over_budget(p->s, p->e, p->rtm, p->a, p->k, p->pl, &p->out->tel, wall0, err, errlen);
    if (rc)
        return rc;
    const sim_options *o = p->o;
    if (o && o->stop && *o->stop) {
        snprintf(err, errlen, "interrupted at %.3f s of virtual time, after %" PRIu64 " events",
                 (double)eng_now(p->e) / 1e9, eng_count(p->e));
        return SIM_EINTR;
    }
    if (o && o->progress) {
        const wl_config *w = &p->s->workload;
        sim_progress pr = {eng_now(p->e), 0, eng_count(p->e)};
        if (w->duration_ns > 0 && !w->replay_ns)
            pr.horizon_ns = eng_add(eng_add(w->start_ns, w->duration_ns), w->drain_ns);
        o->progress(o->progress_ud, &pr);
    }
    return SIM_OK;
}

/*
 * Pops events until the run is over, each handled by its owner (events.h). Returns SIM_OK,
 * or an error with a message: SIM_EINGEST, SIM_EBUDGET, SIM_EINTR.
 */
static sim_err run_loop(run_parts *p, char *err, size_t errlen)
{
    const scenario *s = p->s;
    double wall0 = wall_now_s();
    sim_err rc;
    wl_start(p->w);
    /* Known before any segment runs: one that starts long before the last arrival may
     * still cross the end. */
    rt_set_run_end(p->rtm, wl_end_at(p->w));
    eng_event ev;
    bool shutting_down = false;
    /* The budget between batches of events: a counter in a register, not a test of the
     * engine's count on every event. */
    for (uint32_t batch = BUDGET_EVERY; eng_pop(p->e, &ev);) {
        if (--batch == 0) {
            batch = BUDGET_EVERY;
            if ((rc = run_between(p, wall0, err, errlen)))
                return rc;
        }
        if (__builtin_expect(ev_is_runtime(ev.type), 1)) { /* most events: one bit test */
            if (__builtin_expect(ev.type == EV_DEPLOY, 0) && s->deploy_rules && p->l &&
                s->deploy_rules[ev.a] != UINT32_MAX)
                ledger_fault(p->l, ev.time_ns, s->deploy_rules[ev.a], FLT_DEPLOY, 0, 0, NULL);
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
                return SIM_EINGEST;
            }
            break;
        case EV_OWNER_QUEUE:
            if (p->q)
                queue_handle(p->q, &ev);
            break;
        case EV_OWNER_PIPELINE:
            if (p->pl)
                pl_handle(p->pl, &ev);
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
    if ((rc = over_budget(s, p->e, p->rtm, p->a, p->k, p->pl, &p->out->tel, wall0, err, errlen)))
        return rc;
    rt_end(p->rtm);
    if (p->wl)
        wlogs_end(p->wl, eng_now(p->e));
    if (p->q)
        queue_end(p->q, eng_now(p->e));
    if (p->pl) /* the origin's jobs not started */
        pl_end(p->pl, eng_now(p->e));
    if (p->n) /* then what is still on the wire, its batches' too */
        net_end(p->n, eng_now(p->e));
    p->ended = true;
    return SIM_OK;
}

/*
 * Compact mode, once the verdict is in: the delivered items' rows go (the report and the
 * summary were computed before). An external ingest's database is never pruned.
 */
static sim_err run_compact(run_parts *p, char *err, size_t errlen)
{
    const sim_options *o = p->o;
    sim_ledger_mode mode = o ? o->ledger_mode : SIM_LEDGER_AUTO;
    uint64_t above = o && o->compact_above_items ? o->compact_above_items : SIM_COMPACT_ABOVE_ITEMS;
    if (mode == SIM_LEDGER_FULL || (mode == SIM_LEDGER_AUTO && p->out->report.items <= above))
        return SIM_OK;
    sim_err rc = ledger_compact(p->l, o && o->ingest_url ? NULL : p->ingest_db, err, errlen);
    p->out->compacted = !rc;
    return rc;
}

/* The rate watchers over the carried spans recorded per window, up to the run's end. */
static void watch(run_parts *p, ledger_watch *w)
{
    const scenario *s = p->s;
    size_t n = 0;
    int64_t *times = ledger_carried_receipts(p->l, &n);
    const mon_config *mc = &s->monitor;
    size_t nw = mon_series_windows(eng_now(p->e), mc->window_ns);
    uint64_t *counts = calloc(nw ? nw : 1, sizeof *counts);
    if (!counts)
        abort();
    mon_series(times, n, mc->window_ns, eng_now(p->e), counts, nw, NULL);
    free(times);
    w->window_ns = mc->window_ns;
    char err[256];
    size_t na = 0;
    if ((w->monitor = s->has_monitor)) {
        mon_alert al[LEDGER_ALERTS];
        if (mon_rate(mc, counts, nw, al, LEDGER_ALERTS, &na, err, sizeof err) == SIM_OK) {
            w->alerts = na;
            for (size_t i = 0; i < na && i < LEDGER_ALERTS; i++) {
                w->alert_ns[i] = al[i].at_ns;
                w->episode_ns[i] = al[i].start_ns;
                w->alert_count[i] = (double)al[i].count;
                w->alert_baseline[i] = al[i].baseline;
            }
        }
    }
    if ((w->daily = s->has_daily)) {
        mon_day_alert dl[LEDGER_ALERTS];
        if (mon_daily(&s->daily, mc->window_ns, counts, nw, dl, LEDGER_ALERTS, &na, err,
                      sizeof err) == SIM_OK) {
            w->daily_alerts = na;
            for (size_t i = 0; i < na && i < LEDGER_ALERTS; i++) {
                w->daily_alert_ns[i] = dl[i].at_ns;
                w->daily_today[i] = dl[i].today;
                w->daily_yesterday[i] = dl[i].yesterday;
            }
        }
    }
    free(counts);
}

/* The numbers, every item's fate and the checks. Returns SIM_OK, or SIM_ELEDGER with a message. */
static sim_err run_verdict(run_parts *p, char *err, size_t errlen)
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
        return SIM_OK;
    out->sdk = *sdk_get_stats(p->k);
    out->posts = net_requests(p->n);
    transport_close(p->tp); /* the embedded ingest commits and closes */
    p->tp = NULL;
    if (!p->ingest_db[0] && !(o && o->memory))
        return ledger_finish_unverified(p->l, err, errlen); /* the report tables, no fates */
    const char *only = o && o->ingest_url ? out->run_id : NULL;
    sim_err rc = ledger_finish(p->l, p->ingest_db, only, &out->report, err, errlen);
    if (!rc)
        rc = ledger_verify(p->l, err, errlen);
    if (rc)
        return rc;
    out->verified = true;
    out->hash = mix(out->hash, out->report.ingest_hash);
    if (s->has_monitor || s->has_daily)
        watch(p, &out->report.watch);
    out->report.gb_s = rt_gb_s(out->rt.billed_ns);
    out->report.wall_limited = out->rt.wall_limited;
    out->report.cpu_limited = out->rt.cpu_limited;
    out->report.exceptions = out->rt.exceptions;
    out->report.truncated = out->rt.disconnected;
    check_run cr = {s->exporter.desc, s->runtime.kind, s->batch_items};
    out->checks = calloc(s->nexpects ? s->nexpects : 1, sizeof *out->checks);
    if (!out->checks)
        abort();
    out->nchecks = s->nexpects;
    for (size_t i = 0; i < s->nexpects; i++) {
        out->checks[i] = check_eval(&s->expects[i], &out->report, &cr);
        out->checks_pass &= out->checks[i].pass;
    }
    return o && o->memory ? SIM_OK : run_compact(p, err, errlen);
}

static void run_close(run_parts *p)
{
    /* A run stopped early still tears its isolates down: their per-isolate state (the
     * app's globals, the SDK's buffers) is freed there. */
    if (p->rtm && !p->ended)
        rt_end(p->rtm);
    wl_free(p->w);
    rt_free(p->rtm);
    queue_free(p->q);
    wlogs_free(p->wl);
    pl_free(p->pl);
    flt_free(p->faults);
    app_free(p->a);
    sdk_free(p->k);
    if (p->xlog)
        fclose(p->xlog);
    net_free(p->n);
    transport_close(p->tp);
    ledger_close(p->l);
    eng_free(p->e);
}

/*
 * --swarm: the families the seed switches off keep their rules (indices, and so every
 * rule's random stream, stay the file's) but those rules never apply, and their runtime
 * windows and deploys are left out of the runtime's configuration.
 */
static sim_err swarm(run_parts *p, char *err, size_t errlen)
{
    const scenario *s = p->s;
    sim_result *out = p->out;
    out->swarm = true;
    out->swarm_on = flt_swarm_on(out->seed);
    for (size_t i = 0; i < s->nfault_rules; i++)
        out->swarm_present |= 1u << flt_family_of(s->fault_rules[i].kind);
    if (s->runtime.kill_rate_per_s > 0) /* random kills are runtime faults of no rule */
        out->swarm_present |= 1u << FLT_FAM_RUNTIME;
    if (!(out->swarm_present & ~out->swarm_on))
        return SIM_OK; /* nothing is switched off: the scenario as it is */
    const rt_config *rc = &s->runtime;
    size_t need = s->nfault_rules * sizeof(flt_rule) +
                  rc->nfault_windows * sizeof(rt_fault_window) +
                  rc->ndeploys * (sizeof(int64_t) + sizeof(uint32_t));
    char *mem = p->swarm_mem = malloc(need ? need : 1);
    if (!mem) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    p->swarmed = *s;
    flt_rule *rules = (flt_rule *)mem;
    rt_fault_window *win = (rt_fault_window *)(rules + s->nfault_rules);
    int64_t *deploys = (int64_t *)(win + rc->nfault_windows);
    uint32_t *deploy_rules = (uint32_t *)(deploys + rc->ndeploys);
    for (size_t i = 0; i < s->nfault_rules; i++) {
        rules[i] = s->fault_rules[i];
        rules[i].off = !(out->swarm_on >> flt_family_of(rules[i].kind) & 1);
    }
    size_t nwin = 0, ndep = 0;
    for (size_t i = 0; i < rc->nfault_windows; i++)
        if (!rules[rc->fault_windows[i].rule].off)
            win[nwin++] = rc->fault_windows[i];
    for (size_t k = 0; k < rc->ndeploys; k++) {
        uint32_t rule = s->deploy_rules ? s->deploy_rules[k] : UINT32_MAX;
        if (rule != UINT32_MAX && rules[rule].off)
            continue; /* a deploy of runtime.deploys_s is no fault: it stays */
        deploys[ndep] = rc->deploys_ns[k];
        deploy_rules[ndep++] = rule;
    }
    p->swarmed.fault_rules = rules;
    p->swarmed.runtime.fault_windows = win;
    p->swarmed.runtime.nfault_windows = nwin;
    p->swarmed.runtime.deploys_ns = deploys;
    p->swarmed.runtime.ndeploys = ndep;
    p->swarmed.deploy_rules = s->deploy_rules ? deploy_rules : NULL;
    if (!(out->swarm_on >> FLT_FAM_RUNTIME & 1))
        p->swarmed.runtime.kill_rate_per_s = 0;
    p->s = &p->swarmed;
    return SIM_OK;
}

sim_err sim_run(const scenario *s, const sim_options *o, sim_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->seed = o && o->seed_set ? o->seed : s->seed;
    out->checks_pass = true;
    run_parts *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return SIM_ENOMEM;
    }
    p->s = s;
    p->o = o;
    p->out = out;
    sim_err rc = o && o->swarm ? swarm(p, err, errlen) : SIM_OK;
    if (!rc)
        rc = run_open(p, err, errlen);
    if (!rc)
        rc = run_loop(p, err, errlen);
    if (!rc)
        rc = run_verdict(p, err, errlen);
    /* The run went to its end without its exporter: its results stand (what the exporter held
     * is lost as exporter-crashed), but the run is an error. */
    const char *xfail = sdk_exporter_failure(p->k);
    if (!rc && xfail) {
        snprintf(err, errlen, "%s", xfail);
        rc = SIM_EEXPORTER;
    }
    run_close(p);
    free(p->swarm_mem);
    free(p);
    return rc;
}
