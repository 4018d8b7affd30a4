/*
 * The WAF: compiled rules and the decision for one request (docs/waf.md has the semantics,
 * each point from Cloudflare's documentation).
 *
 * A request goes through the custom rules in order, then the rate limiting rules in order:
 *  - custom rule actions: block (a status, default 403, and a body; terminating), skip (the
 *    remaining custom rules and/or the rate limiting phase; not terminating), log (recorded,
 *    not terminating);
 *  - a rate limiting rule counts the request when its counting expression matches (by
 *    default its expression), on a counter keyed by its characteristics' values and the colo
 *    (waf_rate.h), and blocks (a status, default 429) when its counter says so.
 * The first block ends the evaluation. Every rule that acted is listed in the decision, for
 * the ingest to record next to the request.
 *
 * The configuration, as JSON (waf_compile):
 *   {"plan": "free|pro|business|enterprise",          optional: enforce that plan's limits
 *    "window": "sliding|fixed",                         the rate estimate (default sliding)
 *    "counter_lag_s": 0,                                counts land this late (default 0)
 *    "custom_rules": [{"id", "expression", "action": "block|skip|log",
 *                      "status", "body", "skip": ["custom", "rate_limits"]}],
 *    "rate_limits": [{"id", "expression", "counting_expression", "characteristics": [...],
 *                     "requests_per_period", "period_s", "mitigation_timeout_s",
 *                     "status", "body"}]}
 * Characteristics: ip.src, http.host, http.request.uri.path, http.request.method,
 * http.request.headers["name"] (cf.colo.id is always one, implicitly).
 *
 * Not thread-safe: the rate counters change with every decision (one WAF per server
 * thread, like the store).
 */
#ifndef ING_WAF_H
#define ING_WAF_H

#include "waf_expr.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct waf waf;

typedef enum { WAF_BLOCK, WAF_SKIP, WAF_LOG, WAF_RATE_BLOCK } waf_action;

/* One rule that acted on a request. */
typedef struct waf_act {
    const char *rule_id; /* the rule's, owned by the WAF */
    waf_action action;
    const char *key; /* rate limits: the counter's key, owned by the WAF until the next
                        decision; else "" */
    double rate;     /* rate limits: the counter's rate as the request saw it */
} waf_act;

#define WAF_ACTS_MAX 16 /* acts recorded per request (the first ones) */

typedef struct waf_decision {
    bool oom; /* out of memory: no decision was reached (the caller answers 503) */
    bool blocked;
    int status;       /* when blocked */
    const char *body; /* when blocked: the rule's (may be ""), owned by the WAF */
    waf_act acts[WAF_ACTS_MAX];
    size_t nacts;
} waf_decision;

/*
 * Compiles `cfg` (the object above). Errors name jpath's key and, for expressions, the byte
 * ("$.waf.custom_rules[1].expression: position 12: expected ..."). Returns ING_OK, ING_CONFIG
 * or ING_NOMEM.
 */
int waf_compile(const cJSON *cfg, const char *jpath, waf **out, char *err, size_t errlen);
void waf_free(waf *w);
size_t waf_rules(const waf *w); /* custom and rate limiting rules */

/* The decision for request r at t_ns (virtual or wall time: the caller's). */
void waf_decide(waf *w, const waf_request *r, int64_t t_ns, waf_decision *out);

const char *waf_action_name(waf_action a);

#endif
