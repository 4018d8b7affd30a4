/*
 * Rate watchers over a run's throughput, for the third seed: Flare's staging watched
 * production and noticed "/v1/traces getting hit about 50% less than usual", while an
 * earlier, smaller dip over a weekend went unnoticed. From a series of processed item
 * counts per window, this module computes when each of two watchers would have alerted:
 *
 *  - the rate monitor (mon_rate): each window against a baseline of recent normal windows;
 *  - the naive daily check (mon_daily): each day's total against the previous day's.
 *
 * Pure and deterministic: no I/O, no clock, no globals. Window i of a series covers the
 * virtual time [i * window_ns, (i + 1) * window_ns); a watcher can only know a window's count
 * when it closes, so every alert is timed at the end of the window (or day) that fired it.
 * Alerts are data, written into the caller's array; when there are more than its capacity,
 * all are counted and the first ones stored. The caller renders them (JSON, HTML).
 *
 * The rate monitor. A window is judged once its baseline is known, and is "low" when
 * count < (1 - drop) * baseline. An alert fires at the end of the `consecutive`-th low window
 * in a row; the run of low windows is an episode, and it gets one alert: the monitor stays
 * quiet until a window is not low, then re-arms. Episodes shorter than `consecutive` windows
 * give none. A zero baseline (no traffic) never alerts: no count is below zero.
 *
 * The baseline of a window is the median of `baseline_windows` (K) earlier windows that
 * were not low - every low window, of the current episode or of an earlier one, is left
 * out. Why: with a plain trailing median, an ongoing dip becomes the new normal once it
 * fills half the K windows (the episode "ends" after about K/2 windows while traffic is
 * still down), and for K windows after a long dip the baseline is still depressed, so a
 * relapse right after a recovery goes unseen. Leaving low windows out keeps the baseline on
 * the traffic as it was before the dip. The consequence, by design: the monitor never
 * learns a lower normal while it is low - a lasting drop, even a legitimate one, is one
 * alert and one episode until traffic comes back (a rise, not being low, is learnt at once).
 * Windows not yet judged (the warm-up below) count as normal: a dip during the warm-up is
 * part of the first baselines. The median of an even number of counts is the mean of the
 * middle two.
 *
 * Which earlier windows the median takes (mon_baseline):
 *  - MON_BASELINE_TRAILING ("trailing"): the K most recent normal windows. No window is
 *    judged before K windows are known (windows 0..K-1 never alert; the first alert can
 *    fire at the end of window K + consecutive - 1). It knows no weekly pattern: an
 *    ordinary weekend that is more than `drop` below the weekdays alerts like an incident
 *    (with K = 24 h of 1 h windows, drop 0.2 and M 2, weekends at 70% of weekdays alert at
 *    02:00 every Saturday, and the episode lasts until Monday since the weekend never becomes
 *    normal). tests/test_monitor.c shows it.
 *  - MON_BASELINE_SAME_WINDOW_LAST_WEEK ("same_window_last_week"): the same window (same
 *    hour of the same weekday) in each of the K most recent weeks in which it was normal, as
 *    a real monitor compares with a week ago: a weekly pattern is its own baseline. K counts
 *    weeks here: no window is judged before K weeks are known. A week must be a whole
 *    number of windows.
 *
 * The naive daily check. At the end of each day d >= 1 (days counted from the series'
 * start), it compares the day's total with the previous day's and alerts when
 * today < ratio * yesterday (and yesterday > 0). A day must be a whole number of windows; a
 * last, partial day is not judged. Every day is judged, each alone: a drop spread over two
 * days, or one that lasts (the next day compares with the dipped one), can stay above the
 * ratio every day. Totals saturate at UINT64_MAX; comparisons are in doubles (exact up to
 * 2^53 items a day).
 *
 * The configurations come from a scenario's keys `monitor` {window_s, baseline_windows,
 * drop, consecutive, baseline} and `naive_daily` {day_s, ratio}: the validators name those
 * keys in their messages.
 */
#ifndef SIM_MONITOR_H
#define SIM_MONITOR_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MON_WEEK_NS         ((int64_t)604800 * 1000000000) /* same_window_last_week's period */
#define MON_BASELINE_MAX    10080 /* baseline_windows at most: a week of 1-minute windows */
#define MON_CONSECUTIVE_MAX 10080

typedef enum { MON_BASELINE_TRAILING, MON_BASELINE_SAME_WINDOW_LAST_WEEK } mon_baseline;

/* "trailing", "same_window_last_week". */
const char *mon_baseline_name(mon_baseline b);
/* The scenario's `monitor.baseline` string; SIM_EINPUT naming the choices when unknown. */
sim_err mon_baseline_parse(const char *name, mon_baseline *out, char *err, size_t errlen);

typedef struct mon_config {
    int64_t window_ns;         /* the series' window (monitor.window_s), > 0 */
    uint32_t baseline_windows; /* K: windows in the baseline's median, 1..MON_BASELINE_MAX */
    double drop;               /* low when count < (1 - drop) * baseline; 0 < drop < 1 */
    uint32_t consecutive;      /* M: low windows in a row that fire, 1..MON_CONSECUTIVE_MAX */
    mon_baseline baseline;     /* which earlier windows the median takes */
} mon_config;

/* 1 h windows, a 24-window trailing baseline, drop 0.2, 2 in a row. */
mon_config mon_config_default(void);

/* SIM_EINPUT with a message naming the key, e.g. "monitor.drop: expected a number between
 * 0 and 1 (exclusive), got 1.5". */
sim_err mon_validate(const mon_config *c, char *err, size_t errlen);

typedef struct mon_alert {
    size_t window;    /* the window that fired: the episode's M-th low one */
    int64_t at_ns;    /* when: that window's end, (window + 1) * window_ns */
    uint64_t count;   /* that window's count */
    double baseline;  /* and its baseline */
    int64_t start_ns; /* the episode's start: its first low window's start */
    int64_t end_ns;   /* the episode's end: the start of the first window after it that is not
                         low; -1 when the series ends still low */
} mon_alert;

/*
 * The rate monitor over counts[0..n). Writes the first min(alerts, cap) alerts into out (may
 * be NULL when cap is 0) and their number into *nalerts. SIM_EINPUT when the config is bad
 * or the series' end (n * window_ns) does not fit in int64; SIM_ENOMEM when its scratch
 * memory cannot be had (2K counts for trailing; K counts and n bytes for
 * same_window_last_week). Time O(n K) at worst, memmoves of K counts for trailing.
 */
sim_err mon_rate(const mon_config *c, const uint64_t *counts, size_t n, mon_alert *out, size_t cap,
                 size_t *nalerts, char *err, size_t errlen);

typedef struct mon_daily_config {
    int64_t day_ns; /* naive_daily.day_s: a whole number of the series' windows */
    double ratio;   /* alert when today < ratio * yesterday; 0 < ratio <= 1 */
} mon_daily_config;

/* 86,400 s days, ratio 0.7. */
mon_daily_config mon_daily_config_default(void);

/* SIM_EINPUT naming the key; window_ns (> 0) is the series' window, which a day must be a
 * whole number of. */
sim_err mon_daily_validate(const mon_daily_config *c, int64_t window_ns, char *err, size_t errlen);

typedef struct mon_day_alert {
    size_t day;         /* d >= 1: the day judged */
    int64_t at_ns;      /* when: its end, (d + 1) * day_ns */
    uint64_t today;     /* its total */
    uint64_t yesterday; /* the previous day's */
} mon_day_alert;

/* The naive daily check over counts[0..n) of windows of window_ns; out, cap and *nalerts as
 * mon_rate's. SIM_EINPUT when the config is bad or n * window_ns does not fit in int64. */
sim_err mon_daily(const mon_daily_config *c, int64_t window_ns, const uint64_t *counts, size_t n,
                  mon_day_alert *out, size_t cap, size_t *nalerts, char *err, size_t errlen);

/*
 * The series of a run: whole windows only, horizon_ns / window_ns of them. A partial last
 * window is left out: shorter, it would look like a dip to the monitor.
 */
size_t mon_series_windows(int64_t horizon_ns, int64_t window_ns);

typedef struct mon_series_stats {
    uint64_t counted; /* events in the series' windows */
    uint64_t outside; /* events before 0 or at or after horizon_ns: ignored */
    uint64_t tail;    /* events inside the horizon but in its partial last window: left out */
} mon_series_stats;

/*
 * counts[i] = the events of times[0..n) (sorted or not, ns) in window i, for i < nwindows
 * (which must be mon_series_windows(horizon_ns, window_ns)); an event at exactly
 * (i + 1) * window_ns is window i + 1's. window_ns > 0, horizon_ns >= 0. st may be NULL.
 */
void mon_series(const int64_t *times, size_t n, int64_t window_ns, int64_t horizon_ns,
                uint64_t *counts, size_t nwindows, mon_series_stats *st);

/* The median of v[0..n), n >= 1 (the mean of the middle two when n is even); reorders v.
 * Linear on average (a selection, not a sort). */
double mon_median(uint64_t *v, size_t n);

#endif
