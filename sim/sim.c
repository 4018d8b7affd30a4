#include "sim.h"

#include "engine.h"
#include "rng.h"
#include "workload.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct run {
    FILE *events;
} run;

static void write_event(void *ud, const eng_event *ev)
{
    run *r = ud;
    fprintf(r->events, "%" PRId64 " %" PRIu64 " %s %" PRIu32 " %" PRIu64 "\n", ev->time_ns, ev->seq,
            rt_event_name(ev->type), ev->a, ev->b);
}

int sim_run(const scenario *s, const sim_options *o, sim_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->seed = o && o->seed_set ? o->seed : s->seed;
    rng r_workload, r_runtime, r_app;
    rng_seed(&r_workload, out->seed, RNG_WORKLOAD);
    rng_seed(&r_runtime, out->seed, RNG_RUNTIME);
    rng_seed(&r_app, out->seed, RNG_APP);

    eng *e = eng_new();
    app *a = e ? app_new(&s->program, &r_app, tel_null_ops(), &out->tel) : NULL;
    rt_host host = a ? app_host(a) : (rt_host){0};
    rt *rtm = a ? rt_new(e, &r_runtime, &s->runtime, &host) : NULL;
    wl *w = rtm ? wl_new(e, &r_workload, &s->workload) : NULL;
    if (!w) {
        snprintf(err, errlen, "out of memory");
        wl_free(w);
        rt_free(rtm);
        app_free(a);
        eng_free(e);
        return 1;
    }
    if (o && o->trace) {
        fprintf(o->trace, "seed %" PRIu64 "\n", out->seed);
        app_set_trace(a, o->trace);
    }
    run ctx = {o ? o->events : NULL};
    if (ctx.events) {
        fprintf(ctx.events, "seed %" PRIu64 "\n", out->seed);
        eng_set_observer(e, write_event, &ctx);
    }
    wl_start(w);
    eng_event ev;
    while (eng_pop(e, &ev)) {
        if (ev.type == EV_ARRIVAL) {
            wl_arrived(w);
            rt_request_arrive(rtm);
        } else if (ev.type == EV_END) {
            break;
        } else {
            rt_handle(rtm, &ev);
        }
    }
    rt_end(rtm);
    out->events = eng_count(e);
    out->hash = eng_hash(e);
    out->end_ns = eng_now(e);
    out->mean_queue_depth = out->events ? (double)eng_depth_sum(e) / (double)out->events : 0;
    out->rt = *rt_get_stats(rtm);
    out->app = *app_get_stats(a);
    wl_free(w);
    rt_free(rtm);
    app_free(a);
    eng_free(e);
    return 0;
}

const char *sim_format_duration(int64_t ns, char *buf, size_t len)
{
    int64_t s = ns / 1000000000, frac = ns % 1000000000;
    snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m%02" PRId64 ".%09" PRId64 "s", s / 3600,
             (s / 60) % 60, s % 60, frac);
    return buf;
}

void sim_print_summary(const scenario *s, const sim_result *r, FILE *out)
{
    char dur[64];
    const rt_stats *st = &r->rt;
    fprintf(out, "seed %" PRIu64 "\n", r->seed);
    fprintf(out, "scenario %s%s%s\n", s->file, s->name[0] ? " — " : "", s->name);
    fprintf(out,
            "requests: %" PRIu64 " arrived, %" PRIu64 " responded, %" PRIu64 " completed, %" PRIu64
            " killed by eviction (%" PRIu64 " before responding)\n",
            st->arrived, st->responded, st->completed, st->killed, st->lost_responses);
    fprintf(out, "isolates: %" PRIu64 " created, %" PRIu64 " alive at end; evicted:",
            st->isolates_created, st->alive_at_end);
    for (int c = 0; c < RT_EVICT_COUNT; c++)
        fprintf(out, " %s %" PRIu64, rt_evict_key((rt_evict)c), st->evicted[c]);
    fputc('\n', out);
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
    uint64_t tcalls = r->tel.spans + r->tel.metrics + r->tel.logs + r->tel.calls;
    fprintf(out,
            "telemetry: no exporter configured: %" PRIu64 " spans, %" PRIu64
            " metric points, %" PRIu64 " logs, %" PRIu64
            " API calls were ledger-less no-ops (%" PRIu64 " total)\n",
            r->tel.spans, r->tel.metrics, r->tel.logs, r->tel.calls, tcalls);
    fprintf(out, "events: %" PRIu64 "\n", r->events);
    fprintf(out, "virtual duration: %s\n", sim_format_duration(r->end_ns, dur, sizeof dur));
    fprintf(out, "log hash: %016" PRIx64 "\n", r->hash);
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
            "  \"globals\": {\"entries\": %" PRIu64 ", \"mixed\": %" PRIu64 ", \"lost\": %" PRIu64
            "},\n",
            r->app.global_entries, r->app.global_entries_mixed, r->app.global_entries_lost);
    fprintf(out,
            "  \"telemetry_noops\": {\"spans\": %" PRIu64 ", \"metrics\": %" PRIu64
            ", \"logs\": %" PRIu64 ", \"calls\": %" PRIu64 "},\n",
            r->tel.spans, r->tel.metrics, r->tel.logs, r->tel.calls);
    fprintf(out,
            "  \"events\": %" PRIu64 ",\n  \"end_ns\": %" PRId64 ",\n  \"log_hash\": \"%016" PRIx64
            "\"\n}\n",
            r->events, r->end_ns, r->hash);
}
