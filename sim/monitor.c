#include "monitor.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const baseline_names[] = {"trailing", "same_window_last_week"};
_Static_assert(sizeof baseline_names / sizeof baseline_names[0] ==
                   MON_BASELINE_SAME_WINDOW_LAST_WEEK + 1,
               "a name per baseline");

const char *mon_baseline_name(mon_baseline b)
{
    return (unsigned)b <= MON_BASELINE_SAME_WINDOW_LAST_WEEK ? baseline_names[b] : "unknown";
}

sim_err mon_baseline_parse(const char *name, mon_baseline *out, char *err, size_t errlen)
{
    for (unsigned i = 0; i <= MON_BASELINE_SAME_WINDOW_LAST_WEEK; i++) {
        if (strcmp(name, baseline_names[i]) == 0) {
            *out = (mon_baseline)i;
            return SIM_OK;
        }
    }
    snprintf(err, errlen,
             "monitor.baseline: expected \"trailing\" or \"same_window_last_week\", "
             "got \"%s\"",
             name);
    return SIM_EINPUT;
}

/* Durations in messages are the scenario's seconds, not our nanoseconds. */
static double secs(int64_t ns)
{
    return (double)ns / 1e9;
}

static sim_err fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static sim_err fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return SIM_EINPUT;
}

mon_config mon_config_default(void)
{
    return (mon_config){.window_ns = (int64_t)3600 * 1000000000,
                        .baseline_windows = 24,
                        .drop = 0.2,
                        .consecutive = 2,
                        .baseline = MON_BASELINE_TRAILING};
}

sim_err mon_validate(const mon_config *c, char *err, size_t errlen)
{
    if (c->window_ns <= 0)
        return fail(err, errlen,
                    "monitor.window_s: expected a positive number of seconds, got %.9g",
                    secs(c->window_ns));
    if (c->baseline_windows < 1 || c->baseline_windows > MON_BASELINE_MAX)
        return fail(err, errlen,
                    "monitor.baseline_windows: expected an integer from 1 to %d, got %" PRIu32,
                    MON_BASELINE_MAX, c->baseline_windows);
    /* Written so that NaN fails too. */
    if (!(c->drop > 0 && c->drop < 1))
        return fail(err, errlen,
                    "monitor.drop: expected a number between 0 and 1 (exclusive), got %g", c->drop);
    if (c->consecutive < 1 || c->consecutive > MON_CONSECUTIVE_MAX)
        return fail(err, errlen,
                    "monitor.consecutive: expected an integer from 1 to %d, got %" PRIu32,
                    MON_CONSECUTIVE_MAX, c->consecutive);
    if ((unsigned)c->baseline > MON_BASELINE_SAME_WINDOW_LAST_WEEK)
        return fail(err, errlen,
                    "monitor.baseline: expected \"trailing\" or \"same_window_last_week\", got "
                    "kind %d",
                    (int)c->baseline);
    if (c->baseline == MON_BASELINE_SAME_WINDOW_LAST_WEEK && MON_WEEK_NS % c->window_ns != 0)
        return fail(err, errlen,
                    "monitor.window_s: expected a window that divides a week (604800 s) with "
                    "baseline \"same_window_last_week\", got %.9g",
                    secs(c->window_ns));
    return SIM_OK;
}

/* Every alert time is at most n * window_ns: it must be an instant. */
static sim_err check_span(const char *key, size_t n, int64_t window_ns, char *err, size_t errlen)
{
    if ((uint64_t)n > (uint64_t)(INT64_MAX / window_ns))
        return fail(err, errlen,
                    "%s: a series of %zu windows of %.9g s ends past the last representable "
                    "instant",
                    key, n, secs(window_ns));
    return SIM_OK;
}

/* Hoare's selection: afterwards v[k] is the k-th smallest, nothing before it is larger and
 * nothing after it smaller. Indices are signed: the inner scans may step past either end
 * of the range by one. */
static void select_kth(uint64_t *v, ptrdiff_t n, ptrdiff_t k)
{
    ptrdiff_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint64_t pivot = v[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                uint64_t t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        /* [lo, j] <= pivot, (j, i) == pivot, [i, hi] >= pivot */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

/* The mean of lo <= hi: lo + half the gap, exact as long as the gap is, where (lo + hi) / 2
 * could wrap. */
static double middle(uint64_t lo, uint64_t hi)
{
    assert(lo <= hi);
    return (double)lo + (double)(hi - lo) / 2;
}

double mon_median(uint64_t *v, size_t n)
{
    assert(n >= 1 && n <= (size_t)PTRDIFF_MAX);
    ptrdiff_t k = (ptrdiff_t)(n / 2);
    select_kth(v, (ptrdiff_t)n, k);
    uint64_t hi = v[k];
    if (n % 2)
        return (double)hi;
    uint64_t lo = v[0];
    for (ptrdiff_t i = 1; i < k; i++)
        lo = v[i] > lo ? v[i] : lo;
    return middle(lo, hi);
}

/*
 * The trailing baseline's K most recent normal counts, twice: in arrival order (a ring, to
 * know which count leaves) and sorted (the median is read off the middle). A push is two
 * binary searches and two memmoves: O(K) bytes moved, where selecting anew each window
 * would cost O(K) comparisons - seconds for a week of 1-minute windows at K = 10080.
 */
typedef struct trail {
    uint64_t *ring, *sorted;
    size_t k, len, next;
} trail;

/* The first index of v[0..n) whose value is >= x. */
static size_t lower_bound(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void trail_push(trail *t, uint64_t x)
{
    if (t->len == t->k) {
        uint64_t old = t->ring[t->next];
        size_t at = lower_bound(t->sorted, t->len, old);
        assert(at < t->len && t->sorted[at] == old);
        memmove(t->sorted + at, t->sorted + at + 1, (t->len - at - 1) * sizeof *t->sorted);
        t->len--;
    }
    size_t at = lower_bound(t->sorted, t->len, x);
    memmove(t->sorted + at + 1, t->sorted + at, (t->len - at) * sizeof *t->sorted);
    t->sorted[at] = x;
    t->len++;
    t->ring[t->next] = x;
    t->next = (t->next + 1) % t->k;
}

static double trail_median(const trail *t)
{
    assert(t->len == t->k);
    size_t m = t->k / 2;
    return t->k % 2 ? (double)t->sorted[m] : middle(t->sorted[m - 1], t->sorted[m]);
}

sim_err mon_rate(const mon_config *c, const uint64_t *counts, size_t n, mon_alert *out, size_t cap,
                 size_t *nalerts, char *err, size_t errlen)
{
    assert(counts || n == 0);
    assert(out || cap == 0);
    *nalerts = 0;
    sim_err e = mon_validate(c, err, errlen);
    if (e == SIM_OK)
        e = check_span("monitor", n, c->window_ns, err, errlen);
    if (e != SIM_OK)
        return e;

    const size_t k = c->baseline_windows;
    const bool weekly = c->baseline == MON_BASELINE_SAME_WINDOW_LAST_WEEK;
    /* In windows: 1 for trailing (the previous windows), a week's for the same window. */
    const uint64_t period = weekly ? (uint64_t)(MON_WEEK_NS / c->window_ns) : 1;
    /* Windows before this one are never judged: the baseline needs K of them. K <= 10080
     * and period <= 6.048e14, so the product fits. */
    const uint64_t warm = (uint64_t)k * period;

    /* weekly: the K counts of a median, and which windows were low. */
    uint64_t *scratch = NULL;
    bool *low = NULL;
    trail tr = {.k = k};
    if (weekly) {
        scratch = malloc(k * sizeof *scratch);
        low = calloc(n ? n : 1, sizeof *low);
    } else {
        tr.ring = malloc(k * sizeof *tr.ring);
        tr.sorted = malloc(k * sizeof *tr.sorted);
    }
    if (weekly ? !scratch || !low : !tr.ring || !tr.sorted) {
        free(scratch);
        free(low);
        free(tr.ring);
        free(tr.sorted);
        snprintf(err, errlen, "monitor: out of memory for a baseline of %zu windows", k);
        return SIM_ENOMEM;
    }

    size_t run = 0;       /* low windows in a row, up to and including the last one */
    size_t start = 0;     /* the current episode's first window */
    size_t alerts = 0;    /* fired, stored or not */
    bool pending = false; /* the current episode fired and its end is not known yet */
    double baseline = 0;

    for (size_t i = 0; i < n; i++) {
        bool is_low = false;
        if ((uint64_t)i >= warm) {
            if (!weekly) {
                /* Windows 0..K-1 are never judged, never low: by window K the trail is full. */
                baseline = trail_median(&tr);
            } else {
                size_t got = 0;
                for (uint64_t j = i; j >= period && got < k;) {
                    j -= period;
                    if (!low[j])
                        scratch[got++] = counts[j];
                }
                /* The first K weeks are never judged, so never low: there are always K. */
                assert(got == k);
                baseline = mon_median(scratch, k);
            }
            is_low = (double)counts[i] < (1.0 - c->drop) * baseline;
        }
        if (is_low) {
            if (run++ == 0)
                start = i;
            if (run == c->consecutive) {
                if (alerts < cap)
                    out[alerts] = (mon_alert){.window = i,
                                              .at_ns = (int64_t)(i + 1) * c->window_ns,
                                              .count = counts[i],
                                              .baseline = baseline,
                                              .start_ns = (int64_t)start * c->window_ns,
                                              .end_ns = -1};
                alerts++;
                pending = true;
            }
        } else {
            if (pending && alerts <= cap)
                out[alerts - 1].end_ns = (int64_t)i * c->window_ns;
            pending = false;
            run = 0;
            if (!weekly)
                trail_push(&tr, counts[i]);
        }
        if (weekly)
            low[i] = is_low;
    }
    free(scratch);
    free(low);
    free(tr.ring);
    free(tr.sorted);
    *nalerts = alerts;
    return SIM_OK;
}

mon_daily_config mon_daily_config_default(void)
{
    return (mon_daily_config){.day_ns = (int64_t)86400 * 1000000000, .ratio = 0.7};
}

sim_err mon_daily_validate(const mon_daily_config *c, int64_t window_ns, char *err, size_t errlen)
{
    assert(window_ns > 0);
    if (c->day_ns <= 0)
        return fail(err, errlen,
                    "naive_daily.day_s: expected a positive number of seconds, got %.9g",
                    secs(c->day_ns));
    if (c->day_ns % window_ns != 0)
        return fail(err, errlen,
                    "naive_daily.day_s: expected a whole number of windows of %.9g s, got %.9g",
                    secs(window_ns), secs(c->day_ns));
    if (!(c->ratio > 0 && c->ratio <= 1))
        return fail(err, errlen,
                    "naive_daily.ratio: expected a number greater than 0 and at most 1, got %g",
                    c->ratio);
    return SIM_OK;
}

sim_err mon_daily(const mon_daily_config *c, int64_t window_ns, const uint64_t *counts, size_t n,
                  mon_day_alert *out, size_t cap, size_t *nalerts, char *err, size_t errlen)
{
    assert(counts || n == 0);
    assert(out || cap == 0);
    *nalerts = 0;
    sim_err e = mon_daily_validate(c, window_ns, err, errlen);
    if (e == SIM_OK)
        e = check_span("naive_daily", n, window_ns, err, errlen);
    if (e != SIM_OK)
        return e;

    const size_t per = (size_t)(c->day_ns / window_ns);
    const size_t days = n / per; /* a partial last day is not judged */
    uint64_t yesterday = 0;
    size_t alerts = 0;
    for (size_t d = 0; d < days; d++) {
        uint64_t today = 0;
        for (size_t w = d * per; w < (d + 1) * per; w++)
            today = counts[w] > UINT64_MAX - today ? UINT64_MAX : today + counts[w];
        if (d >= 1 && yesterday > 0 && (double)today < c->ratio * (double)yesterday) {
            if (alerts < cap)
                out[alerts] = (mon_day_alert){.day = d,
                                              .at_ns = (int64_t)(d + 1) * c->day_ns,
                                              .today = today,
                                              .yesterday = yesterday};
            alerts++;
        }
        yesterday = today;
    }
    *nalerts = alerts;
    return SIM_OK;
}

size_t mon_series_windows(int64_t horizon_ns, int64_t window_ns)
{
    assert(window_ns > 0 && horizon_ns >= 0);
    assert((uint64_t)(horizon_ns / window_ns) <= SIZE_MAX);
    return (size_t)(horizon_ns / window_ns);
}

void mon_series(const int64_t *times, size_t n, int64_t window_ns, int64_t horizon_ns,
                uint64_t *counts, size_t nwindows, mon_series_stats *st)
{
    assert(times || n == 0);
    assert(nwindows == mon_series_windows(horizon_ns, window_ns));
    assert(counts || nwindows == 0);
    mon_series_stats s = {0, 0, 0};
    if (nwindows)
        memset(counts, 0, nwindows * sizeof *counts);
    /* The series' end: fits, being at most horizon_ns. */
    const int64_t whole_ns = (int64_t)nwindows * window_ns;
    for (size_t i = 0; i < n; i++) {
        int64_t t = times[i];
        if (t < 0 || t >= horizon_ns) {
            s.outside++;
        } else if (t >= whole_ns) {
            s.tail++;
        } else {
            counts[t / window_ns]++;
            s.counted++;
        }
    }
    if (st)
        *st = s;
}
