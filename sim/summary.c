/*
 * A run's result rendered: the summary `edgeloss run` prints, its one-line form, and
 * summary.json (docs/summary-json.md documents every field). Renders only; the run is
 * sim.h's.
 */
#include "summary.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sum_format_duration(int64_t ns, char *buf, size_t len)
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

static void print_telemetry(const scenario *s, const sim_result *r, FILE *out)
{
    const ledger_report *p = &r->report;
    fprintf(out,
            "exporter: %s; %" PRIu64 " spans, %" PRIu64 " metric points, %" PRIu64
            " logs created; %" PRIu64 " POSTs sent\n",
            s->exporter.desc->name, r->sdk.spans, r->sdk.metrics, r->sdk.logs, r->posts);
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
    }
    if (p->mixed_items)
        fprintf(out,
                "mixed: %" PRIu64 " entries of isolate globals reached the ingest in payloads sent "
                "for %" PRIu64 " other requests\n",
                p->mixed_items, p->mixed_requests);
    if (p->unacknowledged)
        fprintf(out,
                "delivered unacknowledged: %" PRIu64 " items recorded by the ingest, but no "
                "answer to a POST that carried them reached its exporter (it saw a failure and "
                "may send them again)\n",
                p->unacknowledged);
    uint64_t faults = 0;
    for (int k = 0; k < FLT_KIND_COUNT; k++)
        faults += p->faults[k];
    if (faults || s->nfault_rules) {
        fprintf(out, "faults: %" PRIu64 " fired", faults);
        const char *sep = ":";
        for (int k = 0; k < FLT_KIND_COUNT; k++)
            if (p->faults[k]) {
                fprintf(out, "%s %s %" PRIu64, sep, flt_kind_name((flt_kind)k), p->faults[k]);
                sep = ",";
            }
        fprintf(out, "; duplicates %" PRIu64 " (extra copies the ingest accepted)\n",
                p->copies_extra);
    }
    for (int i = 0; i < p->nstories; i++)
        fprintf(out, "  story: %s\n", p->stories[i].text);
    if (p->fate[FATE_LOST]) {
        if (p->exposure_items)
            fprintf(out,
                    "exposure: one eviction destroyed at most %" PRIu64 " items (%" PRIu64
                    " bytes)\n",
                    p->exposure_items, p->exposure_bytes);
    }
    if (p->carried) {
        fprintf(out,
                "pipeline: %" PRIu64 " spans carried in, %" PRIu64 " recorded; by hop:", p->carried,
                p->carried_recorded);
        for (int i = 0; i < p->nhops; i++)
            fprintf(out, " %s %" PRIu64 " -> %" PRIu64 " (%" PRIu64 " lost there)%s",
                    p->hops[i].name, p->hops[i].in, p->hops[i].out, p->hops[i].lost_here,
                    i + 1 < p->nhops ? "," : "");
        fprintf(out, "\norphaned objects: %" PRIu64, p->orphans);
        for (int i = 0; i < p->norphans; i++)
            fprintf(out, "%s%s (request %" PRIu64 ", %" PRIu64 " items)", i ? ", " : ": ",
                    p->orphan_list[i].key, p->orphan_list[i].request, p->orphan_list[i].items);
        fprintf(out, "%s\n", p->orphans > (uint64_t)p->norphans ? ", ..." : "");
    }
    const ledger_watch *w = &p->watch;
    if (w->monitor) {
        fprintf(out, "rate monitor: %" PRIu64 " alert%s", w->alerts, w->alerts == 1 ? "" : "s");
        for (uint64_t i = 0; i < w->alerts && i < LEDGER_ALERTS; i++)
            fprintf(out,
                    "%s at %.0f s (%.0f spans against a baseline of %.0f; the dip began at "
                    "%.0f s)",
                    i ? "," : ":", (double)w->alert_ns[i] / 1e9, w->alert_count[i],
                    w->alert_baseline[i], (double)w->episode_ns[i] / 1e9);
        fputc('\n', out);
    }
    if (w->daily) {
        fprintf(out, "naive daily check: %" PRIu64 " alert%s", w->daily_alerts,
                w->daily_alerts == 1 ? "" : "s");
        for (uint64_t i = 0; i < w->daily_alerts && i < LEDGER_ALERTS; i++)
            fprintf(out, "%s at %.0f s (%" PRIu64 " spans against %" PRIu64 ")", i ? "," : ":",
                    (double)w->daily_alert_ns[i] / 1e9, w->daily_today[i], w->daily_yesterday[i]);
        fputc('\n', out);
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
            char line[512];
            check_format(&r->checks[i], line, sizeof line);
            fprintf(out, "  %s\n", line);
            failed += !r->checks[i].pass;
        }
        fprintf(out, "verdict: %s (%zu of %zu checks hold as expected)\n", failed ? "FAIL" : "PASS",
                r->nchecks - failed, r->nchecks);
    }
}

void sum_print(const scenario *s, const sim_result *r, FILE *out)
{
    char dur[64];
    const rt_stats *st = &r->rt;
    fprintf(out, "scenario %s%s%s\n", s->file, s->name[0] ? " — " : "", s->name);
    if (s->next || strcmp(s->variant, "baseline") != 0 || r->telemetry)
        fprintf(out, "variant %s\n", s->variant);
    if (r->swarm) {
        fprintf(out, "swarm:");
        const char *sep = "";
        for (unsigned f = 0; f < FLT_FAM_COUNT; f++)
            if (r->swarm_present >> f & 1) {
                fprintf(out, "%s %s %s", sep, flt_family_name((flt_family)f),
                        r->swarm_on >> f & 1 ? "on" : "off");
                sep = ",";
            }
        fprintf(out, "%s (the seed's draw; --swarm replays it)\n",
                r->swarm_present ? "" : " no fault rules to switch");
    }
    fprintf(out,
            "requests: %" PRIu64 " arrived, %" PRIu64 " responded, %" PRIu64 " completed, %" PRIu64
            " killed by eviction (%" PRIu64 " before responding)\n",
            st->arrived, st->responded, st->completed, st->killed, st->lost_responses);
    fprintf(out, "isolates: %" PRIu64 " created, %" PRIu64 " alive at end; evicted:",
            st->isolates_created, st->alive_at_end);
    for (int c = 0; c < RT_EVICT_COUNT; c++)
        fprintf(out, " %s %" PRIu64, rt_evict_key((rt_evict)c), st->evicted[c]);
    fputc('\n', out);
    if (r->app.bodies || st->disconnected)
        fprintf(out,
                "streamed responses: %" PRIu64 " bodies to EOF, %.3f s from headers to EOF on "
                "average; %" PRIu64 " truncated (their client disconnected)\n",
                r->app.bodies,
                r->app.bodies ? (double)r->app.body_ns / 1e9 / (double)r->app.bodies : 0.0,
                st->disconnected);
    if (s->cron)
        fprintf(out,
                "scheduled (cron \"%s\"): %" PRIu64 " runs; outcome ok %" PRIu64
                ", exception %" PRIu64 ", exceeded_wall %" PRIu64 ", exceeded_cpu %" PRIu64
                ", killed %" PRIu64 "\n",
                s->cron, st->arrived, st->completed - st->wall_limited - st->exceptions,
                st->exceptions, st->wall_limited, st->cpu_limited, st->killed);
    if (s->runtime.kind == RT_OBJECT)
        fprintf(out,
                "durable objects: %" PRIu64 " started, %" PRIu64 " hibernated; billed %.3f s of "
                "wall time = %.4f GB-s at 128 MB (hibernatable %" PRIu64 " times)\n",
                st->isolates_created, st->evicted[RT_EVICT_HIBERNATED], (double)st->billed_ns / 1e9,
                rt_gb_s(st->billed_ns), st->hibernatable_periods);
    if (s->has_alarm)
        fprintf(out,
                "alarms: %" PRIu64 " runs, %" PRIu64 " retries after a failed run, %" PRIu64
                " given up after their last retry\n",
                st->alarms_run, st->alarm_retries, st->alarms_given_up);
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
    fprintf(out, "virtual duration: %s\n", sum_format_duration(r->end_ns, dur, sizeof dur));
    fprintf(out, "log hash: %016" PRIx64 "\n", r->hash);
}

void sum_print_brief(const scenario *s, const sim_result *r, FILE *out)
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

/* A number, or null when it means nothing (NaN: a delay over no delivered item). */
static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

/* Whole numbers are written digit for digit: cJSON would print a double with 15
 * significant digits, off by a few units past 10^15 (a seed, nanoseconds of a long run). */
static void add_u64(cJSON *o, const char *k, uint64_t v)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRIu64, v);
    cJSON_AddRawToObject(o, k, digits);
}

static cJSON *groups_json(const scenario *s, bool route, const ledger_group *g, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", group_name(s, route, g[i].index));
        add_u64(o, "items", g[i].items);
        add_u64(o, "lost", g[i].lost);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *sum_check_json(const check_result *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "check", c->check);
    cJSON_AddBoolToObject(o, "pass", c->pass);
    cJSON_AddBoolToObject(o, "holds", c->holds);
    cJSON_AddBoolToObject(o, "vacuous", c->vacuous);
    cJSON_AddStringToObject(o, "expected", c->expected);
    add_num(o, "measured", c->measured);
    cJSON_AddStringToObject(o, "detail", c->detail);
    cJSON_AddStringToObject(o, "why", c->why);
    return o;
}

int sum_check_from_json(const cJSON *o, check_result *c)
{
    memset(c, 0, sizeof *c);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "check");
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(o, "pass");
    if (!cJSON_IsString(k) || !cJSON_IsBool(pass))
        return -1;
    snprintf(c->check, sizeof c->check, "%s", k->valuestring);
    c->pass = cJSON_IsTrue(pass);
    c->holds = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "holds"));
    c->vacuous = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "vacuous"));
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "measured");
    c->measured = cJSON_IsNumber(m) ? m->valuedouble : NAN;
    static const struct {
        const char *key;
        size_t off, len;
    } strs[] = {
        {"expected", offsetof(check_result, expected), sizeof c->expected},
        {"detail", offsetof(check_result, detail), sizeof c->detail},
        {"why", offsetof(check_result, why), sizeof c->why},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, strs[i].key);
        check_copy((char *)c + strs[i].off, strs[i].len, cJSON_IsString(v) ? v->valuestring : "");
    }
    return 0;
}

const char *sum_verdict(const sim_result *r)
{
    if (!r->telemetry)
        return "no_exporter";
    if (!r->verified)
        return "unverified";
    return r->checks_pass ? "pass" : "fail";
}

/* The third seed's pipeline: spans carried, the funnel by hop, the orphaned objects. */
static cJSON *pipeline_json(const ledger_report *p)
{
    cJSON *o = cJSON_CreateObject();
    add_u64(o, "carried", p->carried);
    add_u64(o, "recorded", p->carried_recorded);
    cJSON *a = cJSON_AddArrayToObject(o, "hops");
    for (int i = 0; i < p->nhops; i++) {
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "hop", p->hops[i].name);
        add_u64(h, "items_in", p->hops[i].in);
        add_u64(h, "items_out", p->hops[i].out);
        add_u64(h, "lost_here", p->hops[i].lost_here);
        cJSON_AddItemToArray(a, h);
    }
    add_u64(o, "orphans", p->orphans);
    a = cJSON_AddArrayToObject(o, "orphan_objects");
    for (int i = 0; i < p->norphans; i++) {
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "key", p->orphan_list[i].key);
        add_u64(h, "request", p->orphan_list[i].request);
        add_u64(h, "items", p->orphan_list[i].items);
        cJSON_AddItemToArray(a, h);
    }
    return o;
}

/* What the rate monitor and the naive daily check said, alerts with their times. */
/* The faults that fired: in total, by kind, and each rule with its window (docs/faults.md). */
static cJSON *faults_json(const scenario *s, const sim_result *run, const ledger_report *p)
{
    cJSON *o = cJSON_CreateObject();
    uint64_t total = 0;
    for (int k = 0; k < FLT_KIND_COUNT; k++)
        total += p->faults[k];
    add_u64(o, "total", total);
    cJSON *by = cJSON_AddObjectToObject(o, "fired");
    for (int k = 0; k < FLT_KIND_COUNT; k++) {
        bool used = p->faults[k] > 0 || (k == FLT_KILL && s->runtime.kill_rate_per_s > 0);
        for (size_t i = 0; i < s->nfault_rules && !used; i++)
            used = s->fault_rules[i].kind == (flt_kind)k;
        if (used)
            add_u64(by, flt_kind_name((flt_kind)k), p->faults[k]);
    }
    cJSON *rules = cJSON_AddArrayToObject(o, "rules");
    for (size_t i = 0; i < s->nfault_rules; i++) {
        const flt_rule *r = &s->fault_rules[i];
        cJSON *x = cJSON_CreateObject();
        add_u64(x, "index", i);
        cJSON_AddStringToObject(x, "kind", flt_kind_name(r->kind));
        cJSON_AddStringToObject(x, "family", flt_kind_family(r->kind));
        add_num(x, "from_s", (double)r->from_ns / 1e9);
        if (r->until_ns == INT64_MAX)
            cJSON_AddNullToObject(x, "until_s");
        else
            add_num(x, "until_s", (double)r->until_ns / 1e9);
        add_u64(x, "fired", i < LEDGER_FAULT_RULES ? p->fault_rule_fired[i] : 0);
        if (run->swarm)
            cJSON_AddBoolToObject(x, "on", run->swarm_on >> flt_family_of(r->kind) & 1);
        cJSON_AddItemToArray(rules, x);
    }
    return o;
}

static cJSON *watch_json(const ledger_report *p)
{
    const ledger_watch *w = &p->watch;
    cJSON *o = cJSON_CreateObject();
    if (w->monitor) {
        cJSON *m = cJSON_AddObjectToObject(o, "monitor");
        add_u64(m, "alerts", w->alerts);
        cJSON *a = cJSON_AddArrayToObject(m, "first_alerts");
        for (uint64_t i = 0; i < w->alerts && i < LEDGER_ALERTS; i++) {
            cJSON *x = cJSON_CreateObject();
            add_num(x, "at_s", (double)w->alert_ns[i] / 1e9);
            add_num(x, "episode_start_s", (double)w->episode_ns[i] / 1e9);
            add_num(x, "count", w->alert_count[i]);
            add_num(x, "baseline", w->alert_baseline[i]);
            cJSON_AddItemToArray(a, x);
        }
    }
    if (w->daily) {
        cJSON *m = cJSON_AddObjectToObject(o, "naive_daily");
        add_u64(m, "alerts", w->daily_alerts);
        cJSON *a = cJSON_AddArrayToObject(m, "first_alerts");
        for (uint64_t i = 0; i < w->daily_alerts && i < LEDGER_ALERTS; i++) {
            cJSON *x = cJSON_CreateObject();
            add_num(x, "at_s", (double)w->daily_alert_ns[i] / 1e9);
            add_u64(x, "today", w->daily_today[i]);
            add_u64(x, "yesterday", w->daily_yesterday[i]);
            cJSON_AddItemToArray(a, x);
        }
    }
    return o;
}

cJSON *sum_json(const scenario *s, const sim_result *r)
{
    const rt_stats *st = &r->rt;
    char hex[24];
    cJSON *j = cJSON_CreateObject(), *o, *a;
    cJSON_AddNumberToObject(j, "schema_version", SUM_SCHEMA_VERSION);
    add_u64(j, "seed", r->seed);
    cJSON_AddStringToObject(j, "scenario", s->file);
    cJSON_AddStringToObject(j, "name", s->name);
    cJSON_AddStringToObject(j, "variant", s->variant);
    add_u64(j, "variant_index", s->variant_index);
    cJSON_AddStringToObject(j, "verdict", sum_verdict(r));

    o = cJSON_AddObjectToObject(j, "requests");
    add_u64(o, "arrived", st->arrived);
    add_u64(o, "responded", st->responded);
    add_u64(o, "completed", st->completed);
    add_u64(o, "killed", st->killed);
    add_u64(o, "lost_responses", st->lost_responses);
    add_u64(o, "truncated", st->disconnected);
    add_u64(o, "streamed_bodies", r->app.bodies);
    cJSON_AddNumberToObject(o, "body_mean_s",
                            r->app.bodies ? (double)r->app.body_ns / 1e9 / (double)r->app.bodies
                                          : 0.0);
    o = cJSON_AddObjectToObject(j, "isolates");
    add_u64(o, "created", st->isolates_created);
    add_u64(o, "alive_at_end", st->alive_at_end);
    cJSON *ev = cJSON_AddObjectToObject(o, "evicted");
    for (int c = 0; c < RT_EVICT_COUNT; c++)
        add_u64(ev, rt_evict_key((rt_evict)c), st->evicted[c]);
    if (s->cron) {
        o = cJSON_AddObjectToObject(j, "scheduled");
        cJSON_AddStringToObject(o, "cron", s->cron);
        add_u64(o, "runs", st->arrived);
        cJSON *oc = cJSON_AddObjectToObject(o, "outcomes");
        add_u64(oc, "ok", st->completed - st->wall_limited - st->exceptions);
        add_u64(oc, "exception", st->exceptions);
        add_u64(oc, "exceeded_wall", st->wall_limited);
        add_u64(oc, "exceeded_cpu", st->cpu_limited);
        add_u64(oc, "killed", st->killed);
    }
    if (s->runtime.kind == RT_OBJECT) {
        o = cJSON_AddObjectToObject(j, "durable_objects");
        add_u64(o, "started", st->isolates_created);
        add_u64(o, "hibernated", st->evicted[RT_EVICT_HIBERNATED]);
        add_u64(o, "hibernatable_periods", st->hibernatable_periods);
        cJSON_AddNumberToObject(o, "billed_s", (double)st->billed_ns / 1e9);
        cJSON_AddNumberToObject(o, "gb_s", rt_gb_s(st->billed_ns));
        if (s->has_alarm) {
            cJSON *al = cJSON_AddObjectToObject(o, "alarms");
            add_u64(al, "runs", st->alarms_run);
            add_u64(al, "retries", st->alarm_retries);
            add_u64(al, "given_up", st->alarms_given_up);
        }
    }
    o = cJSON_AddObjectToObject(j, "tasks");
    add_u64(o, "run", st->tasks);
    add_u64(o, "wait_until_cancelled", st->wait_until_cancelled);
    add_u64(o, "timers_fired", st->timers_fired);
    add_u64(o, "timers_caught_up", st->timers_caught_up);
    o = cJSON_AddObjectToObject(j, "limits");
    add_u64(o, "cpu_limited", st->cpu_limited);
    add_u64(o, "subrequests", st->subrequests);
    add_u64(o, "subrequests_refused", st->subrequests_refused);
    add_u64(o, "connection_waits", st->connection_waits);
    add_u64(o, "peak_memory_bytes", st->peak_memory_bytes);
    a = cJSON_AddArrayToObject(j, "colos");
    for (uint32_t i = 0; i < r->ncolos; i++) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name",
                                s->runtime.ncolos ? s->runtime.colos[i].name : "default");
        add_u64(o, "arrived", r->colos[i].arrived);
        add_u64(o, "isolates_created", r->colos[i].isolates_created);
        cJSON_AddItemToArray(a, o);
    }
    o = cJSON_AddObjectToObject(j, "globals");
    add_u64(o, "entries", r->app.global_entries);
    add_u64(o, "mixed", r->app.global_entries_mixed);
    add_u64(o, "lost", r->app.global_entries_lost);
    o = cJSON_AddObjectToObject(j, "telemetry_noops");
    add_u64(o, "spans", r->tel.spans);
    add_u64(o, "metrics", r->tel.metrics);
    add_u64(o, "logs", r->tel.logs);
    add_u64(o, "calls", r->tel.calls);

    if (r->swarm) {
        o = cJSON_AddObjectToObject(j, "swarm");
        for (unsigned f = 0; f < FLT_FAM_COUNT; f++)
            if (r->swarm_present >> f & 1)
                cJSON_AddBoolToObject(o, flt_family_name((flt_family)f), r->swarm_on >> f & 1);
    }
    cJSON_AddBoolToObject(j, "telemetry", r->telemetry);
    if (r->telemetry) {
        cJSON_AddStringToObject(j, "run_id", r->run_id);
        cJSON_AddStringToObject(j, "strategy", s->exporter.desc->name);
        cJSON_AddBoolToObject(j, "verified", r->verified);
        o = cJSON_AddObjectToObject(j, "created");
        add_u64(o, "spans", r->sdk.spans);
        add_u64(o, "metrics", r->sdk.metrics);
        add_u64(o, "logs", r->sdk.logs);
        add_u64(j, "posts_sent", r->posts);
    }
    if (r->verified) {
        const ledger_report *p = &r->report;
        add_u64(j, "items", p->items);
        o = cJSON_AddObjectToObject(j, "fates");
        for (int f = 0; f < FATE_COUNT; f++)
            add_u64(o, ledger_fate_name((ledger_fate)f), p->fate[f]);
        o = cJSON_AddObjectToObject(j, "funnel");
        add_u64(o, "created", p->funnel.created);
        add_u64(o, "sent", p->funnel.sent);
        add_u64(o, "accepted", p->funnel.accepted);
        add_u64(o, "recorded", p->funnel.recorded);
        /* null, not 0, when the ingest records no acknowledgements to count them by */
        add_num(j, "unacknowledged", p->acks_unknown ? NAN : (double)p->unacknowledged);
        add_num(j, "loss_ratio", p->items ? (double)p->fate[FATE_LOST] / (double)p->items : NAN);
        o = cJSON_AddObjectToObject(j, "lost_by_cause");
        for (int c = 0; c < CAUSE_COUNT; c++)
            add_u64(o, ledger_cause_name((ledger_cause)c), p->lost_by[c]);
        cJSON_AddItemToObject(j, "by_route", groups_json(s, true, p->by_route, p->nby_route));
        cJSON_AddItemToObject(j, "by_colo", groups_json(s, false, p->by_colo, p->nby_colo));
        add_u64(j, "posts", p->attempts);
        o = cJSON_AddObjectToObject(j, "exposure");
        add_u64(o, "items", p->exposure_items);
        add_u64(o, "bytes", p->exposure_bytes);
        a = cJSON_AddArrayToObject(j, "stories");
        for (int i = 0; i < p->nstories; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(p->stories[i].text));
        if (p->carried)
            cJSON_AddItemToObject(j, "pipeline", pipeline_json(p));
        if (p->watch.monitor || p->watch.daily)
            cJSON_AddItemToObject(j, "watch", watch_json(p));
        if (s->nfault_rules || s->runtime.kill_rate_per_s > 0)
            cJSON_AddItemToObject(j, "faults", faults_json(s, r, p));
        check_metric m[CHECK_METRICS_MAX];
        size_t nm = check_metrics(p, m, CHECK_METRICS_MAX);
        assert(nm <= CHECK_METRICS_MAX);
        o = cJSON_AddObjectToObject(j, "metrics");
        for (size_t i = 0; i < nm; i++)
            add_num(o, m[i].name, m[i].empty ? NAN : m[i].value);
    }
    a = cJSON_AddArrayToObject(j, "checks");
    for (size_t i = 0; i < r->nchecks; i++)
        cJSON_AddItemToArray(a, sum_check_json(&r->checks[i]));
    add_u64(j, "events", r->events);
    add_u64(j, "end_ns", r->end_ns > 0 ? (uint64_t)r->end_ns : 0);
    snprintf(hex, sizeof hex, "%016" PRIx64, r->hash);
    cJSON_AddStringToObject(j, "log_hash", hex);
    return j;
}

int sum_write_json(const scenario *s, const sim_result *r, FILE *out)
{
    cJSON *j = sum_json(s, r);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return -1;
    int rc = fputs(text, out) < 0 || fputc('\n', out) == EOF ? -1 : 0;
    free(text);
    return rc;
}
