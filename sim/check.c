#include "check.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char check_names[] = "flush_lands_within_request|low_volume_no_loss|no_private_access|"
                           "batching_migration|no_mixing|no_loss";

static const char *const names[] = {
    "flush_lands_within_request", "low_volume_no_loss", "no_private_access",
    "batching_migration",         "no_mixing",          "no_loss"};
_Static_assert(sizeof names / sizeof names[0] == CHECK_METRIC, "a name per named check");

int check_find(const char *name)
{
    for (int i = 0; i < CHECK_METRIC; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *check_name(check_kind k)
{
    return k < CHECK_METRIC ? names[k] : "metric";
}

/* A metric's value and whether its population is empty. */
typedef struct metric {
    const char *name;
    double value;
    bool empty;
} metric;

static bool metric_value(const char *name, const ledger_report *r, metric *out)
{
    out->name = name;
    out->empty = false;
    double items = (double)r->items;
    uint64_t faults = 0;
    for (int k = 0; k < FLT_KIND_COUNT; k++)
        faults += r->faults[k];
    if (strncmp(name, "lost.", 5) == 0) {
        int c = ledger_cause_find(name + 5);
        if (c < 0)
            return false;
        out->value = (double)(r ? r->lost_by[c] : 0);
        return true;
    }
    if (strncmp(name, "faults.", 7) == 0) {
        int k = flt_kind_find(name + 7);
        if (k < 0)
            return false;
        out->value = (double)r->faults[k];
        return true;
    }
    static const char ev[] = "evicted.", lwe[] = "lost_when_evicted.";
    bool is_ev = strncmp(name, ev, sizeof ev - 1) == 0;
    if (is_ev || strncmp(name, lwe, sizeof lwe - 1) == 0) {
        const char *key = name + (is_ev ? sizeof ev : sizeof lwe) - 1;
        for (int c = 0; c < RT_EVICT_COUNT; c++) {
            if (strcmp(key, rt_evict_key((rt_evict)c)) == 0) {
                out->value = (double)(is_ev ? r->evicted[c] : r->lost_when_evicted[c]);
                return true;
            }
        }
        return false;
    }
    static const char hin[] = "hop_in.", hout[] = "hop_out.", hlost[] = "hop_lost.";
    const char *hop = NULL;
    int which = strncmp(name, hin, sizeof hin - 1) == 0       ? (hop = name + sizeof hin - 1, 0)
                : strncmp(name, hout, sizeof hout - 1) == 0   ? (hop = name + sizeof hout - 1, 1)
                : strncmp(name, hlost, sizeof hlost - 1) == 0 ? (hop = name + sizeof hlost - 1, 2)
                                                              : -1;
    if (which >= 0) {
        /* A hop the run never used carried nothing: 0, an empty population. */
        out->value = 0;
        out->empty = true;
        for (int i = 0; r && i < r->nhops; i++)
            if (strcmp(r->hops[i].name, hop) == 0) {
                out->value = (double)(which == 0   ? r->hops[i].in
                                      : which == 1 ? r->hops[i].out
                                                   : r->hops[i].lost_here);
                out->empty = r->hops[i].in == 0;
            }
        return *hop != '\0';
    }
    for (int f = 0; f < FATE_COUNT; f++) {
        if (strcmp(name, ledger_fate_name((ledger_fate)f)) == 0) {
            out->value = (double)(r ? r->fate[f] : 0);
            return true;
        }
    }
    struct {
        const char *name;
        double value;
        bool empty;
    } t[] = {
        {"items", items, false},
        {"loss_ratio", items ? (double)r->fate[FATE_LOST] / items : 0, items == 0},
        {"duplicates", (double)r->copies_extra, false},
        {"delivered_unacknowledged", (double)r->unacknowledged, r->acks_unknown},
        {"posts", (double)r->attempts, false},
        {"posts_per_item", items ? (double)r->attempts / items : 0, items == 0},
        {"items_per_post", r->items_per_post, isnan(r->items_per_post)},
        {"delivery_delay_p50_ms", r->delay_p50_ms, isnan(r->delay_p50_ms)},
        {"delivery_delay_p95_ms", r->delay_p95_ms, isnan(r->delay_p95_ms)},
        {"added_response_ms", r->added_response_ms, isnan(r->added_response_ms)},
        {"added_wait_until_ms", r->added_wait_until_ms, isnan(r->added_wait_until_ms)},
        {"added_response_p99_ms", r->added_response_p99_ms, isnan(r->added_response_p99_ms)},
        {"added_wait_until_p99_ms", r->added_wait_until_p99_ms, isnan(r->added_wait_until_p99_ms)},
        {"faults", (double)faults, false},
        {"exposure_items", (double)r->exposure_items, false},
        {"exposure_bytes", (double)r->exposure_bytes, false},
        {"private_accesses", (double)r->private_accesses, false},
        {"requests", (double)r->requests, false},
        {"entries", (double)r->entries, false},
        {"mixed_items", (double)r->mixed_items, false},
        {"mixed_requests", (double)r->mixed_requests, false},
        {"mixed_request_ratio", r->requests ? (double)r->mixed_requests / (double)r->requests : 0,
         r->requests == 0},
        {"carried", (double)r->carried, false},
        {"carried_recorded", (double)r->carried_recorded, false},
        {"orphans", (double)r->orphans, false},
        {"monitor_alerts", (double)r->watch.alerts, !r->watch.monitor},
        {"monitor_first_alert_s", r->watch.alerts ? (double)r->watch.alert_ns[0] / 1e9 : 0,
         r->watch.alerts == 0},
        {"monitor_latency_s",
         r->watch.alerts ? (double)(r->watch.alert_ns[0] - r->watch.episode_ns[0]) / 1e9 : 0,
         r->watch.alerts == 0},
        {"naive_alerts", (double)r->watch.daily_alerts, !r->watch.daily},
        {"gb_s", r->gb_s, false},
        {"wall_limited", (double)r->wall_limited, false},
        {"cpu_limited", (double)r->cpu_limited, false},
        {"exceptions", (double)r->exceptions, false},
        {"truncated", (double)r->truncated, false},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(t[i].name, name) == 0) {
            out->value = t[i].value;
            out->empty = t[i].empty;
            return true;
        }
    }
    return false;
}

bool check_metric_known(const char *metric_name, char *list, size_t listlen)
{
    static const char known[] =
        "items, delivered, late, duplicated, misattributed, lost, loss_ratio, lost.<cause>, "
        "duplicates, delivered_unacknowledged, posts, posts_per_item, items_per_post, "
        "delivery_delay_p50_ms, "
        "delivery_delay_p95_ms, added_response_ms, added_wait_until_ms, added_response_p99_ms, "
        "added_wait_until_p99_ms, faults, faults.<kind> (docs/faults.md), exposure_items, "
        "exposure_bytes, private_accesses, requests, entries, mixed_items, mixed_requests, "
        "mixed_request_ratio, evicted.<isolate cause>, "
        "lost_when_evicted.<isolate cause> (isolate causes: idle, lifetime, deploy, memory, "
        "killed, hibernated), carried, carried_recorded, orphans, hop_in.<hop>, hop_out.<hop>, "
        "hop_lost.<hop>, monitor_alerts, monitor_first_alert_s, monitor_latency_s, naive_alerts, "
        "gb_s, wall_limited, cpu_limited, exceptions, truncated";
    snprintf(list, listlen, "%s", known);
    ledger_report zero;
    memset(&zero, 0, sizeof zero);
    zero.items_per_post = zero.delay_p50_ms = zero.delay_p95_ms = NAN;
    zero.added_response_ms = zero.added_wait_until_ms = NAN;
    zero.added_response_p99_ms = zero.added_wait_until_p99_ms = NAN;
    metric m;
    return metric_value(metric_name, &zero, &m);
}

size_t check_metrics(const ledger_report *r, check_metric *out, size_t cap)
{
    static const char *const plain[] = {"items",
                                        "loss_ratio",
                                        "duplicates",
                                        "delivered_unacknowledged",
                                        "posts",
                                        "posts_per_item",
                                        "items_per_post",
                                        "delivery_delay_p50_ms",
                                        "delivery_delay_p95_ms",
                                        "added_response_ms",
                                        "added_wait_until_ms",
                                        "added_response_p99_ms",
                                        "added_wait_until_p99_ms",
                                        "faults",
                                        "exposure_items",
                                        "exposure_bytes",
                                        "private_accesses",
                                        "requests",
                                        "entries",
                                        "mixed_items",
                                        "mixed_requests",
                                        "mixed_request_ratio",
                                        "carried",
                                        "carried_recorded",
                                        "orphans",
                                        "monitor_alerts",
                                        "monitor_first_alert_s",
                                        "monitor_latency_s",
                                        "naive_alerts",
                                        "gb_s",
                                        "wall_limited",
                                        "cpu_limited",
                                        "exceptions",
                                        "truncated"};
    char name[64];
    size_t n = 0;
#define EMIT(nm)                                                                                   \
    do {                                                                                           \
        metric m;                                                                                  \
        bool known = metric_value((nm), r, &m);                                                    \
        assert(known);                                                                             \
        (void)known;                                                                               \
        if (n < cap) {                                                                             \
            snprintf(out[n].name, sizeof out[n].name, "%s", (nm));                                 \
            out[n].value = m.value;                                                                \
            out[n].empty = m.empty;                                                                \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)
    for (int f = 0; f < FATE_COUNT; f++)
        EMIT(ledger_fate_name((ledger_fate)f));
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        EMIT(plain[i]);
    for (int c = 0; c < CAUSE_COUNT; c++) {
        snprintf(name, sizeof name, "lost.%s", ledger_cause_name((ledger_cause)c));
        EMIT(name);
    }
    for (int c = 0; c < RT_EVICT_COUNT; c++) {
        snprintf(name, sizeof name, "evicted.%s", rt_evict_key((rt_evict)c));
        EMIT(name);
        snprintf(name, sizeof name, "lost_when_evicted.%s", rt_evict_key((rt_evict)c));
        EMIT(name);
    }
    for (int k = 0; k < FLT_KIND_COUNT; k++) {
        snprintf(name, sizeof name, "faults.%s", flt_kind_name((flt_kind)k));
        EMIT(name);
    }
    for (int i = 0; i < r->nhops; i++) {
        snprintf(name, sizeof name, "hop_in.%.40s", r->hops[i].name);
        EMIT(name);
        snprintf(name, sizeof name, "hop_out.%.40s", r->hops[i].name);
        EMIT(name);
        snprintf(name, sizeof name, "hop_lost.%.40s", r->hops[i].name);
        EMIT(name);
    }
#undef EMIT
    return n;
}

void check_copy(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n) {
        len = n - 1;
        /* Back to the start of the character the cut fell in. */
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Applies `holds` and vacuity to a criterion's raw outcome. */
static check_result conclude(const expect_item *e, bool ok, bool empty, double measured,
                             const char *expected, const char *detail)
{
    check_result res;
    memset(&res, 0, sizeof res);
    snprintf(res.check, sizeof res.check, "%s",
             e->kind == CHECK_METRIC ? e->metric : check_name(e->kind));
    res.holds = e->holds;
    res.vacuous = empty;
    res.measured = empty ? NAN : measured; /* over nothing, a number would mislead */
    check_copy(res.why, sizeof res.why, e->why ? e->why : "");
    if (e->holds)
        snprintf(res.expected, sizeof res.expected, "%s", expected);
    else
        snprintf(res.expected, sizeof res.expected, "not (%s)", expected);
    if (empty) {
        res.pass = e->allow_vacuous;
        snprintf(res.detail, sizeof res.detail, "nothing to check (%s)%s", detail,
                 res.pass ? ", allowed" : "; say allow_vacuous if that is fine");
        return res;
    }
    res.pass = ok == e->holds;
    snprintf(res.detail, sizeof res.detail, "%s", detail);
    return res;
}

void check_format(const check_result *c, char *buf, size_t len)
{
    const char *how = "";
    if (!c->vacuous && !c->holds)
        how = c->pass ? " is violated, as expected" : " (expected to be violated)";
    snprintf(buf, len, "%s %s%s: %s", c->pass ? "PASS" : "FAIL", c->check, how, c->detail);
}

check_result check_eval(const expect_item *e, const ledger_report *r, const check_run *run)
{
    char d[256], x[160];
    switch (e->kind) {
    case CHECK_FLUSH_LANDS_WITHIN_REQUEST:
        snprintf(d, sizeof d,
                 "%llu of %llu requests that flush in waitUntil had every item recorded before "
                 "their waitUntil ended",
                 (unsigned long long)(r->flush_requests - r->flush_requests_late),
                 (unsigned long long)r->flush_requests);
        return conclude(e, r->flush_requests_late == 0, r->flush_requests == 0,
                        (double)r->flush_requests_late, "requests recorded late == 0", d);
    case CHECK_LOW_VOLUME_NO_LOSS:
        snprintf(d, sizeof d, "%llu of %llu items on isolates that served 1-10 requests were lost",
                 (unsigned long long)r->low_volume_lost, (unsigned long long)r->low_volume_items);
        return conclude(e, r->low_volume_lost == 0, r->low_volume_items == 0,
                        (double)r->low_volume_lost, "low-volume items lost == 0", d);
    case CHECK_NO_PRIVATE_ACCESS:
        snprintf(d, sizeof d, "%llu private-field accesses by the consumer",
                 (unsigned long long)r->private_accesses);
        return conclude(e, r->private_accesses == 0, r->requests == 0, (double)r->private_accesses,
                        "private_accesses == 0", d);
    case CHECK_BATCHING_MIGRATION: {
        /* The fourth acceptance criterion: a user who batches keeps batches that the SDK's
         * flush reaches (the seed's fix B), whichever exporter gives them. */
        uint32_t caps = run->exporter->caps;
        bool propagate = (caps & EL_CAP_BATCHES_ACROSS_REQUESTS) &&
                         (caps & EL_CAP_FLUSH_REACHES_IT) && run->batch_items > 1;
        if (run->runtime == RT_SERVER) {
            bool kept = !isnan(r->items_per_post) && r->items_per_post >= e->min_items_per_post;
            snprintf(d, sizeof d,
                     "long-lived runtime, %s with batch_items %u: %.1f items per POST (bound %.0f)",
                     run->exporter->name, run->batch_items,
                     isnan(r->items_per_post) ? 0.0 : r->items_per_post, e->min_items_per_post);
            snprintf(x, sizeof x,
                     "strategy propagate, batch_items > 1, "
                     "items_per_post >= %g",
                     e->min_items_per_post);
            return conclude(e, propagate && kept, r->attempts == 0, r->items_per_post, x, d);
        }
        snprintf(d, sizeof d, "edge runtime, %s with batch_items %u: %llu of %llu items lost",
                 run->exporter->name, run->batch_items, (unsigned long long)r->fate[FATE_LOST],
                 (unsigned long long)r->items);
        return conclude(e, propagate && r->fate[FATE_LOST] == 0, r->items == 0,
                        (double)r->fate[FATE_LOST],
                        "strategy propagate, batch_items > 1, lost == 0", d);
    }
    case CHECK_NO_MIXING:
        /* Every item credited to its own request: spans, metrics and logs by their
         * request id, entries of globals by the payload that carried them. */
        snprintf(d, sizeof d,
                 "%llu items credited to another request (%llu of %llu entries of globals, in "
                 "payloads sent for %llu requests)",
                 (unsigned long long)r->fate[FATE_MISATTRIBUTED],
                 (unsigned long long)r->mixed_items, (unsigned long long)r->entries,
                 (unsigned long long)r->mixed_requests);
        return conclude(e, r->fate[FATE_MISATTRIBUTED] == 0, r->items == 0,
                        (double)r->fate[FATE_MISATTRIBUTED], "misattributed == 0", d);
    case CHECK_NO_LOSS:
        snprintf(d, sizeof d, "%llu of %llu items lost", (unsigned long long)r->fate[FATE_LOST],
                 (unsigned long long)r->items);
        return conclude(e, r->fate[FATE_LOST] == 0, r->items == 0, (double)r->fate[FATE_LOST],
                        "lost == 0", d);
    case CHECK_METRIC: {
        metric m;
        if (!metric_value(e->metric, r, &m)) {
            /* The scenario is validated against the same table: unreachable from a file. */
            check_result res = conclude(e, false, false, NAN, "a known metric", "no such metric");
            res.pass = false;
            return res;
        }
        if (e->has_min && e->has_max)
            snprintf(x, sizeof x, "%g <= %s <= %g", e->min, e->metric, e->max);
        else if (e->has_min)
            snprintf(x, sizeof x, "%s >= %g", e->metric, e->min);
        else
            snprintf(x, sizeof x, "%s <= %g", e->metric, e->max);
        if (m.empty)
            snprintf(d, sizeof d, "%s has no value: its population is empty", e->metric);
        else
            snprintf(d, sizeof d, "%s = %.6g", e->metric, m.value);
        bool ok = (!e->has_min || m.value >= e->min) && (!e->has_max || m.value <= e->max);
        return conclude(e, ok, m.empty, m.empty ? NAN : m.value, x, d);
    }
    }
    assert(!"a check kind without an evaluation");
    abort();
}
