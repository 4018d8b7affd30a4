#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char check_names[] =
    "flush_lands_within_request|low_volume_no_loss|no_private_access|batching_migration";

static const char *const names[] = {"flush_lands_within_request", "low_volume_no_loss",
                                    "no_private_access", "batching_migration"};

int check_find(const char *name)
{
    for (int i = 0; i < 4; i++)
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
    if (strncmp(name, "lost.", 5) == 0) {
        int c = ledger_cause_find(name + 5);
        if (c < 0)
            return false;
        out->value = (double)(r ? r->lost_by[c] : 0);
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
        {"posts", (double)r->attempts, false},
        {"posts_per_item", items ? (double)r->attempts / items : 0, items == 0},
        {"items_per_post", r->items_per_post, isnan(r->items_per_post)},
        {"delivery_delay_p50_ms", r->delay_p50_ms, isnan(r->delay_p50_ms)},
        {"delivery_delay_p95_ms", r->delay_p95_ms, isnan(r->delay_p95_ms)},
        {"added_response_ms", r->added_response_ms, isnan(r->added_response_ms)},
        {"added_wait_until_ms", r->added_wait_until_ms, isnan(r->added_wait_until_ms)},
        {"exposure_items", (double)r->exposure_items, false},
        {"exposure_bytes", (double)r->exposure_bytes, false},
        {"private_accesses", (double)r->private_accesses, false},
        {"requests", (double)r->requests, false},
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
        "duplicates, posts, posts_per_item, items_per_post, delivery_delay_p50_ms, "
        "delivery_delay_p95_ms, added_response_ms, added_wait_until_ms, exposure_items, "
        "exposure_bytes, private_accesses, requests, evicted.<isolate cause>, "
        "lost_when_evicted.<isolate cause> (isolate causes: idle, lifetime, deploy, memory, "
        "killed)";
    snprintf(list, listlen, "%s", known);
    ledger_report zero;
    memset(&zero, 0, sizeof zero);
    zero.items_per_post = zero.delay_p50_ms = zero.delay_p95_ms = NAN;
    zero.added_response_ms = zero.added_wait_until_ms = NAN;
    metric m;
    return metric_value(metric_name, &zero, &m);
}

/* Applies `holds` and vacuity to a criterion's raw outcome. */
static check_result conclude(const expect_item *e, bool ok, bool empty, const char *detail)
{
    check_result res;
    const char *name = e->kind == CHECK_METRIC ? e->metric : check_name(e->kind);
    if (empty) {
        res.pass = e->allow_vacuous;
        snprintf(res.text, sizeof res.text, "%s %s: nothing to check (%s)%s",
                 res.pass ? "PASS" : "FAIL", name, detail,
                 res.pass ? ", allowed" : "; say allow_vacuous if that is fine");
        return res;
    }
    res.pass = ok == e->holds;
    snprintf(res.text, sizeof res.text, "%s %s%s: %s", res.pass ? "PASS" : "FAIL", name,
             e->holds ? "" : (ok ? " (expected to be violated)" : " is violated, as expected"),
             detail);
    return res;
}

check_result check_eval(const expect_item *e, const ledger_report *r, const check_run *run)
{
    char d[256];
    switch (e->kind) {
    case CHECK_FLUSH_LANDS_WITHIN_REQUEST:
        snprintf(d, sizeof d,
                 "%llu of %llu requests that flush in waitUntil had every item recorded before "
                 "their waitUntil ended",
                 (unsigned long long)(r->flush_requests - r->flush_requests_late),
                 (unsigned long long)r->flush_requests);
        return conclude(e, r->flush_requests_late == 0, r->flush_requests == 0, d);
    case CHECK_LOW_VOLUME_NO_LOSS:
        snprintf(d, sizeof d, "%llu of %llu items on isolates that served 1-10 requests were lost",
                 (unsigned long long)r->low_volume_lost, (unsigned long long)r->low_volume_items);
        return conclude(e, r->low_volume_lost == 0, r->low_volume_items == 0, d);
    case CHECK_NO_PRIVATE_ACCESS:
        snprintf(d, sizeof d, "%llu private-field accesses by the consumer",
                 (unsigned long long)r->private_accesses);
        return conclude(e, r->private_accesses == 0, r->requests == 0, d);
    case CHECK_BATCHING_MIGRATION: {
        bool propagate = run->strategy == STRAT_PROPAGATE && run->batch_items > 1;
        if (run->runtime == RT_SERVER) {
            bool kept = !isnan(r->items_per_post) && r->items_per_post >= e->min_items_per_post;
            snprintf(d, sizeof d,
                     "long-lived runtime, %s with batch_items %u: %.1f items per POST (bound %.0f)",
                     exp_strategy_name(run->strategy), run->batch_items,
                     isnan(r->items_per_post) ? 0.0 : r->items_per_post, e->min_items_per_post);
            return conclude(e, propagate && kept, r->attempts == 0, d);
        }
        snprintf(d, sizeof d, "edge runtime, %s with batch_items %u: %llu of %llu items lost",
                 exp_strategy_name(run->strategy), run->batch_items,
                 (unsigned long long)r->fate[FATE_LOST], (unsigned long long)r->items);
        return conclude(e, propagate && r->fate[FATE_LOST] == 0, r->items == 0, d);
    }
    case CHECK_METRIC: {
        metric m;
        if (!metric_value(e->metric, r, &m)) {
            check_result res = {false, ""};
            snprintf(res.text, sizeof res.text, "FAIL %s: no such metric", e->metric);
            return res;
        }
        char bounds[96] = "";
        if (e->has_min && e->has_max)
            snprintf(bounds, sizeof bounds, "expected %g..%g", e->min, e->max);
        else if (e->has_min)
            snprintf(bounds, sizeof bounds, "expected >= %g", e->min);
        else
            snprintf(bounds, sizeof bounds, "expected <= %g", e->max);
        snprintf(d, sizeof d, "%.6g (%s)", m.value, bounds);
        bool ok = (!e->has_min || m.value >= e->min) && (!e->has_max || m.value <= e->max);
        return conclude(e, ok, m.empty, d);
    }
    }
    check_result res = {false, "FAIL unknown check"};
    return res;
}
