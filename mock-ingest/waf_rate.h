/*
 * The counters of one WAF rate limiting rule, with Cloudflare's semantics as its docs give
 * them (docs/waf.md cites each point):
 *
 *  - one counter per key: the values of the rule's counting characteristics, joined by the
 *    caller, always with the data center's id (cf.colo.id) among them - counters are per
 *    colo, never shared;
 *  - every request the rule's counting expression matches counts, blocked or not (by default
 *    the counting expression is the rule's); the request that takes the counter over
 *    requests_per_period is itself blocked, and so is any request the rule matches while the
 *    counter is over or under a mitigation, counted or not;
 *  - the rate over a period: in fixed windows (aligned to time 0) the count of the current
 *    window; in the approximate sliding window the previous window's count weighted by the
 *    part of it still inside the period, plus the current window's:
 *        rate = previous * (period - elapsed) / period + current
 *    (Cloudflare's description of its rate limiting counters; which one a run uses is a
 *    parameter, since the current docs do not name the algorithm);
 *  - mitigation_timeout 0 throttles: only requests over the rate are blocked; otherwise the
 *    request over the rate starts a block of every request of that counter for the timeout;
 *  - counts land late ("up to a few seconds"): a request's own count takes effect lag_ns after
 *    it, so with a lag it does not count against itself and a burst shorter than the lag
 *    passes.
 *
 * All times are the caller's (virtual when the simulator is the client), non-decreasing per
 * key; nothing reads a clock. Single-threaded by contract.
 */
#ifndef ING_WAF_RATE_H
#define ING_WAF_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { WAF_WINDOW_SLIDING, WAF_WINDOW_FIXED } waf_window;

typedef struct waf_rate_cfg {
    int64_t requests_per_period; /* >= 1 */
    int64_t period_ns;           /* > 0 */
    int64_t mitigation_ns;       /* 0: throttle */
    int64_t lag_ns;              /* >= 0 */
    waf_window window;
} waf_rate_cfg;

typedef struct waf_rate waf_rate;

/* NULL when out of memory. */
waf_rate *waf_rate_new(const waf_rate_cfg *cfg);
void waf_rate_free(waf_rate *r);

typedef struct waf_rate_verdict {
    bool block;
    double rate;              /* the counter's rate as this request saw it */
    int64_t blocked_until_ns; /* a mitigation in force (0: none) */
} waf_rate_verdict;

/* A request the rule matched, for counter `key`, at t_ns. Returns false only when out of
 * memory (the verdict is then a pass). */
bool waf_rate_hit(waf_rate *r, const char *key, int64_t t_ns, waf_rate_verdict *out);
/* A request the rule matched but its counting expression did not, for counter `key`, at t_ns:
 * it adds no count, and is blocked if the counter is over the rate or under a mitigation
 * (Cloudflare's example of a rule that counts only 400 responses and blocks every request to
 * the path). Creates no counter. */
void waf_rate_peek(waf_rate *r, const char *key, int64_t t_ns, waf_rate_verdict *out);
/* Counters held (distinct keys), for tests and memory figures. */
size_t waf_rate_keys(const waf_rate *r);

#endif
