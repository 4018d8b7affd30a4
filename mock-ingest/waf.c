/* The WAF's rules and decisions: see waf.h. */
#include "waf.h"

#include "waf_rate.h"

#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHARS_MAX 8 /* characteristics per rate limiting rule */

typedef struct crule {
    char *id;
    waf_expr *expr;
    waf_action action;
    int status;
    char *body;
    bool skip_custom, skip_rate; /* skip: the remaining custom rules, the rate limiting phase */
} crule;

typedef struct rrule {
    char *id;
    waf_expr *expr, *counting; /* counting NULL: expr */
    char *chars[CHARS_MAX];
    size_t nchars;
    waf_rate *rate;
    int status;
    char *body;
} rrule;

struct waf {
    crule *custom;
    size_t ncustom;
    rrule *rate;
    size_t nrate;
    char *key; /* scratch for one counter key, grown to the longest (one deciding thread) */
    size_t keycap;
};

const char *waf_action_name(waf_action a)
{
    static const char *const n[] = {"block", "skip", "log", "rate_block"};
    return a <= WAF_RATE_BLOCK ? n[a] : "?";
}

void waf_free(waf *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->ncustom; i++) {
        free(w->custom[i].id);
        free(w->custom[i].body);
        waf_expr_free(w->custom[i].expr);
    }
    for (size_t i = 0; i < w->nrate; i++) {
        rrule *r = &w->rate[i];
        free(r->id);
        free(r->body);
        waf_expr_free(r->expr);
        waf_expr_free(r->counting);
        for (size_t k = 0; k < r->nchars; k++)
            free(r->chars[k]);
        waf_rate_free(r->rate);
    }
    free(w->custom);
    free(w->rate);
    free(w->key);
    free(w);
}

size_t waf_rules(const waf *w)
{
    return w->ncustom + w->nrate;
}

/* ---------- compiling ---------- */

typedef struct plan {
    const char *name;
    size_t custom, rate;  /* rules at most */
    int64_t period_max_s; /* longest counting period */
    int64_t timeout_max_s;
    bool custom_status; /* a custom block status and body */
    bool throttle;      /* mitigation_timeout 0 with block */
} plan;

/* Cloudflare's plan table (docs/waf.md): rules, periods, timeouts, custom responses. */
static const plan plans[] = {
    {"free", 5, 1, 10, 10, false, false},
    {"pro", 20, 2, 60, 3600, true, false},
    {"business", 100, 5, 600, 86400, true, false},
    {"enterprise", 1000, 100, 3600, 86400, true, true},
};

typedef struct cctx {
    char *err;
    size_t errlen;
} cctx;

static int fail(cctx *c, const char *jp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(cctx *c, const char *jp, const char *fmt, ...)
{
    int n = snprintf(c->err, c->errlen, "%s: ", jp);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return ING_CONFIG;
}

static const cJSON *member(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Refuses keys the object should not have (a typo must not silently do nothing). */
static int only_keys(cctx *c, const cJSON *o, const char *jp, const char *const *keys)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, o)
    {
        bool ok = false;
        for (size_t i = 0; keys[i]; i++)
            ok |= strcmp(m->string, keys[i]) == 0;
        if (!ok)
            return fail(c, jp, "unknown key \"%s\"", m->string);
    }
    return ING_OK;
}

static int text(cctx *c, const cJSON *o, const char *jp, const char *k, bool required,
                const char **out)
{
    const cJSON *v = member(o, k);
    *out = NULL;
    if (!v)
        return required ? fail(c, jp, "missing \"%s\"", k) : ING_OK;
    if (!cJSON_IsString(v))
        return fail(c, jp, "\"%s\": expected a string", k);
    *out = v->valuestring;
    return ING_OK;
}

/* An integer member in [lo, hi], or dflt when absent. */
static int integer(cctx *c, const cJSON *o, const char *jp, const char *k, long long lo,
                   long long hi, long long dflt, long long *out)
{
    const cJSON *v = member(o, k);
    *out = dflt;
    if (!v)
        return ING_OK;
    /* The range first: a number past long long's must not reach the conversion. */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi) ||
        v->valuedouble != floor(v->valuedouble)) {
        char jk[256];
        snprintf(jk, sizeof jk, "%s.%s", jp, k);
        return fail(c, jk, "expected a whole number from %lld to %lld", lo, hi);
    }
    *out = (long long)v->valuedouble;
    return ING_OK;
}

static int expression(cctx *c, const cJSON *o, const char *jp, const char *k, bool required,
                      waf_expr **out)
{
    const char *t;
    int rc = text(c, o, jp, k, required, &t);
    *out = NULL;
    if (rc || !t)
        return rc;
    char msg[300];
    size_t pos;
    rc = waf_expr_parse(t, out, msg, sizeof msg, &pos);
    if (rc == ING_CONFIG) {
        char jk[256];
        snprintf(jk, sizeof jk, "%s.%s", jp, k);
        return fail(c, jk, "%s", msg);
    }
    return rc;
}

static bool in_set(long long v, const long long *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == v)
            return true;
    return false;
}

static int response(cctx *c, const cJSON *o, const char *jp, const plan *pl, int dflt,
                    size_t body_max, int *status, char **body)
{
    long long st;
    int rc = integer(c, o, jp, "status", 400, 499, dflt, &st);
    if (rc)
        return rc;
    const char *b;
    if ((rc = text(c, o, jp, "body", false, &b)))
        return rc;
    if (pl && !pl->custom_status && (member(o, "status") || b))
        return fail(c, jp, "a custom response (status, body) needs the Pro plan or above, not %s",
                    pl->name);
    if (b && strlen(b) > body_max)
        return fail(c, jp, "\"body\": at most %lld bytes", (long long)body_max);
    *status = (int)st;
    if (!(*body = strdup(b ? b : "")))
        return ING_NOMEM;
    return ING_OK;
}

static int compile_custom(cctx *c, const cJSON *x, const char *jp, const plan *pl, crule *r)
{
    static const char *const keys[] = {"id",   "expression", "action", "status",
                                       "body", "skip",       NULL};
    int rc = only_keys(c, x, jp, keys);
    const char *id, *action;
    if (rc || (rc = text(c, x, jp, "id", true, &id)) ||
        (rc = text(c, x, jp, "action", true, &action)))
        return rc;
    if (!(r->id = strdup(id)))
        return ING_NOMEM;
    if ((rc = expression(c, x, jp, "expression", true, &r->expr)))
        return rc;
    if (strcmp(action, "block") == 0)
        r->action = WAF_BLOCK;
    else if (strcmp(action, "skip") == 0)
        r->action = WAF_SKIP;
    else if (strcmp(action, "log") == 0)
        r->action = WAF_LOG;
    else
        return fail(c, jp, "\"action\": expected block, skip or log, got \"%s\"", action);
    const cJSON *sk = member(x, "skip");
    if ((r->action == WAF_SKIP) != (sk != NULL))
        return fail(c, jp, "\"skip\" goes with action skip, and action skip needs it");
    if (sk) {
        const cJSON *e;
        if (!cJSON_IsArray(sk) || cJSON_GetArraySize(sk) == 0)
            return fail(c, jp, "\"skip\": expected a list of custom, rate_limits");
        cJSON_ArrayForEach(e, sk)
        {
            if (cJSON_IsString(e) && strcmp(e->valuestring, "custom") == 0)
                r->skip_custom = true;
            else if (cJSON_IsString(e) && strcmp(e->valuestring, "rate_limits") == 0)
                r->skip_rate = true;
            else
                return fail(c, jp,
                            "\"skip\": expected custom (the remaining custom rules) or "
                            "rate_limits (the rate limiting phase)");
        }
    }
    if (r->action == WAF_BLOCK)
        return response(c, x, jp, pl, 403, 2048, &r->status, &r->body);
    if (member(x, "status") || member(x, "body"))
        return fail(c, jp, "\"status\" and \"body\" go with action block");
    return ING_OK;
}

static bool known_characteristic(const char *s)
{
    static const char *const known[] = {"ip.src", "http.host", "http.request.uri.path",
                                        "http.request.method"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(s, known[i]) == 0)
            return true;
    size_t n = strlen(s);
    static const char hp[] = "http.request.headers[\"";
    return strncmp(s, hp, sizeof hp - 1) == 0 && n > sizeof hp + 1 && strcmp(s + n - 2, "\"]") == 0;
}

static int compile_rate(cctx *c, const cJSON *x, const char *jp, const plan *pl, waf_window window,
                        int64_t lag_ns, rrule *r)
{
    static const char *const keys[] = {"id",
                                       "expression",
                                       "counting_expression",
                                       "characteristics",
                                       "requests_per_period",
                                       "period_s",
                                       "mitigation_timeout_s",
                                       "status",
                                       "body",
                                       NULL};
    int rc = only_keys(c, x, jp, keys);
    const char *id;
    if (rc || (rc = text(c, x, jp, "id", true, &id)))
        return rc;
    if (!(r->id = strdup(id)))
        return ING_NOMEM;
    if ((rc = expression(c, x, jp, "expression", true, &r->expr)) ||
        (rc = expression(c, x, jp, "counting_expression", false, &r->counting)))
        return rc;
    const cJSON *ch = member(x, "characteristics");
    if (ch) {
        const cJSON *e;
        if (!cJSON_IsArray(ch) || cJSON_GetArraySize(ch) > CHARS_MAX)
            return fail(c, jp, "\"characteristics\": expected a list of at most %d", CHARS_MAX);
        cJSON_ArrayForEach(e, ch)
        {
            if (!cJSON_IsString(e) || !known_characteristic(e->valuestring))
                return fail(c, jp,
                            "\"characteristics\": expected ip.src, http.host, "
                            "http.request.uri.path, http.request.method or "
                            "http.request.headers[\"name\"] (cf.colo.id is always one)");
            if (!(r->chars[r->nchars++] = strdup(e->valuestring)))
                return ING_NOMEM;
        }
    }
    long long rpp, period, timeout;
    static const long long periods[] = {10, 60, 120, 300, 600, 3600};
    static const long long timeouts[] = {0, 10, 60, 120, 300, 600, 3600, 86400};
    if ((rc = integer(c, x, jp, "requests_per_period", 1, 1000000000, 0, &rpp)) ||
        (rc = integer(c, x, jp, "period_s", 1, 3600, 0, &period)) ||
        (rc = integer(c, x, jp, "mitigation_timeout_s", 0, 86400, 0, &timeout)))
        return rc;
    if (!member(x, "requests_per_period") || !member(x, "period_s"))
        return fail(c, jp, "missing \"requests_per_period\" or \"period_s\"");
    if (!in_set(period, periods, 6))
        return fail(c, jp, "\"period_s\": expected 10, 60, 120, 300, 600 or 3600, got %lld",
                    period);
    if (!in_set(timeout, timeouts, 8))
        return fail(c, jp,
                    "\"mitigation_timeout_s\": expected 0, 10, 60, 120, 300, 600, 3600 or 86400, "
                    "got %lld",
                    timeout);
    if (pl && period > pl->period_max_s)
        return fail(c, jp, "\"period_s\": the %s plan counts over %lld s at most", pl->name,
                    (long long)pl->period_max_s);
    if (pl && timeout > pl->timeout_max_s)
        return fail(c, jp, "\"mitigation_timeout_s\": the %s plan blocks for %lld s at most",
                    pl->name, (long long)pl->timeout_max_s);
    if (pl && timeout == 0 && !pl->throttle)
        return fail(c, jp,
                    "\"mitigation_timeout_s\" 0 (throttle) with block is Enterprise only, not "
                    "%s",
                    pl->name);
    waf_rate_cfg rc_ = {rpp, period * 1000000000LL, timeout * 1000000000LL, lag_ns, window};
    if (!(r->rate = waf_rate_new(&rc_)))
        return ING_NOMEM;
    return response(c, x, jp, pl, 429, 30720, &r->status, &r->body);
}

int waf_compile(const cJSON *cfg, const char *jpath, waf **out, char *err, size_t errlen)
{
    *out = NULL;
    cctx c = {err, errlen};
    if (!cJSON_IsObject(cfg))
        return fail(&c, jpath, "expected an object");
    static const char *const keys[] = {"plan",         "window",      "counter_lag_s",
                                       "custom_rules", "rate_limits", NULL};
    int rc = only_keys(&c, cfg, jpath, keys);
    if (rc)
        return rc;
    const char *pn, *wn;
    if ((rc = text(&c, cfg, jpath, "plan", false, &pn)) ||
        (rc = text(&c, cfg, jpath, "window", false, &wn)))
        return rc;
    const plan *pl = NULL;
    for (size_t i = 0; pn && i < sizeof plans / sizeof plans[0]; i++)
        if (strcmp(pn, plans[i].name) == 0)
            pl = &plans[i];
    if (pn && !pl)
        return fail(&c, jpath, "\"plan\": expected free, pro, business or enterprise, got \"%s\"",
                    pn);
    if (wn && strcmp(wn, "sliding") != 0 && strcmp(wn, "fixed") != 0)
        return fail(&c, jpath, "\"window\": expected sliding or fixed, got \"%s\"", wn);
    waf_window window = wn && strcmp(wn, "fixed") == 0 ? WAF_WINDOW_FIXED : WAF_WINDOW_SLIDING;
    long long lag;
    if ((rc = integer(&c, cfg, jpath, "counter_lag_s", 0, 60, 0, &lag)))
        return rc;
    waf *w = calloc(1, sizeof *w);
    if (!w)
        return ING_NOMEM;
    const cJSON *cr = member(cfg, "custom_rules"), *rl = member(cfg, "rate_limits");
    size_t nc = cJSON_IsArray(cr) ? (size_t)cJSON_GetArraySize(cr) : 0;
    size_t nr = cJSON_IsArray(rl) ? (size_t)cJSON_GetArraySize(rl) : 0;
    if ((cr && !cJSON_IsArray(cr)) || (rl && !cJSON_IsArray(rl))) {
        rc = fail(&c, jpath, "\"custom_rules\" and \"rate_limits\" are lists");
    } else if (pl && (nc > pl->custom || nr > pl->rate)) {
        char m[160];
        snprintf(m, sizeof m, "the %s plan has at most %zu custom and %zu rate limiting rules",
                 pl->name, pl->custom, pl->rate);
        rc = fail(&c, jpath, "%s", m);
    } else if ((nc && !(w->custom = calloc(nc, sizeof *w->custom))) ||
               (nr && !(w->rate = calloc(nr, sizeof *w->rate)))) {
        rc = ING_NOMEM;
    }
    const cJSON *x, *list = rc ? NULL : cr;
    size_t i = 0;
    cJSON_ArrayForEach(x, list)
    {
        char jp[256];
        snprintf(jp, sizeof jp, "%s.custom_rules[%zu]", jpath, i);
        w->ncustom = ++i;
        if (!cJSON_IsObject(x)) {
            rc = fail(&c, jp, "expected an object");
            break;
        }
        if ((rc = compile_custom(&c, x, jp, pl, &w->custom[i - 1])))
            break;
    }
    i = 0;
    list = rc ? NULL : rl;
    cJSON_ArrayForEach(x, list)
    {
        char jp[256];
        snprintf(jp, sizeof jp, "%s.rate_limits[%zu]", jpath, i);
        w->nrate = ++i;
        if (!cJSON_IsObject(x)) {
            rc = fail(&c, jp, "expected an object");
            break;
        }
        if ((rc = compile_rate(&c, x, jp, pl, window, lag * 1000000000LL, &w->rate[i - 1])))
            break;
    }
    if (rc) {
        waf_free(w);
        return rc;
    }
    *out = w;
    return ING_OK;
}

/* ---------- deciding ---------- */

/* The value of one characteristic (a header's first value; "" when absent). */
static const char *char_value(const waf_request *r, const char *ch)
{
    if (strcmp(ch, "ip.src") == 0)
        return r->ip ? r->ip : "";
    if (strcmp(ch, "http.host") == 0)
        return r->host ? r->host : "";
    if (strcmp(ch, "http.request.uri.path") == 0)
        return r->path ? r->path : "";
    if (strcmp(ch, "http.request.method") == 0)
        return r->method ? r->method : "";
    size_t n = strlen(ch) - strlen("http.request.headers[\"") - 2;
    const char *name = ch + strlen("http.request.headers[\"");
    for (size_t i = 0; i < r->nheaders; i++)
        if (strlen(r->header_names[i]) == n && strncasecmp(r->header_names[i], name, n) == 0)
            return r->header_values[i];
    return "";
}

static bool key_put(waf *w, size_t *n, const char *s, size_t len)
{
    if (*n + len + 1 > w->keycap) {
        size_t cap = w->keycap ? w->keycap : 256;
        while (*n + len + 1 > cap)
            cap *= 2;
        char *k = realloc(w->key, cap);
        if (!k)
            return false;
        w->key = k;
        w->keycap = cap;
    }
    memcpy(w->key + *n, s, len);
    *n += len;
    w->key[*n] = '\0';
    return true;
}

/* "colo=N|characteristic=value|...": a value's '|' and '%' are written %7C and %25, so two
 * different combinations never share a counter. NULL when out of memory. */
static const char *counter_key(waf *w, const rrule *rr, const waf_request *r)
{
    char colo[32];
    size_t n = 0;
    int cn = snprintf(colo, sizeof colo, "colo=%lld", (long long)r->colo_id);
    if (!key_put(w, &n, colo, (size_t)cn))
        return NULL;
    for (size_t k = 0; k < rr->nchars; k++) {
        if (!key_put(w, &n, "|", 1) || !key_put(w, &n, rr->chars[k], strlen(rr->chars[k])) ||
            !key_put(w, &n, "=", 1))
            return NULL;
        for (const char *v = char_value(r, rr->chars[k]); *v;) {
            size_t run = strcspn(v, "|%");
            if (!key_put(w, &n, v, run))
                return NULL;
            v += run;
            if (*v && !key_put(w, &n, *v == '|' ? "%7C" : "%25", 3))
                return NULL;
            v += *v != '\0';
        }
    }
    return w->key;
}

static waf_act *act(waf_decision *d, const char *id, waf_action a)
{
    if (d->nacts == WAF_ACTS_MAX)
        return NULL;
    waf_act *x = &d->acts[d->nacts++];
    *x = (waf_act){id, a, "", 0};
    return x;
}

void waf_decide(waf *w, const waf_request *r, int64_t t_ns, waf_decision *out)
{
    memset(out, 0, sizeof *out);
    bool skip_rate = false;
    for (size_t i = 0; i < w->ncustom; i++) {
        const crule *c = &w->custom[i];
        if (!waf_expr_eval(c->expr, r))
            continue;
        act(out, c->id, c->action);
        if (c->action == WAF_BLOCK) {
            out->blocked = true;
            out->status = c->status;
            out->body = c->body;
            return;
        }
        if (c->action == WAF_SKIP) {
            skip_rate |= c->skip_rate;
            if (c->skip_custom)
                break;
        }
    }
    if (skip_rate)
        return;
    for (size_t i = 0; i < w->nrate; i++) {
        rrule *rr = &w->rate[i];
        bool match = waf_expr_eval(rr->expr, r);
        bool counts = rr->counting ? waf_expr_eval(rr->counting, r) : match;
        if (!counts && !match)
            continue;
        const char *key = counter_key(w, rr, r);
        if (!key) {
            out->oom = true;
            return;
        }
        waf_rate_verdict v;
        if (counts && !waf_rate_hit(rr->rate, key, t_ns, &v)) {
            out->oom = true;
            return;
        }
        if (!counts)
            waf_rate_peek(rr->rate, key, t_ns, &v);
        if (!v.block || !match)
            continue;
        waf_act *a = act(out, rr->id, WAF_RATE_BLOCK);
        if (a) {
            a->key = key;
            a->rate = v.rate;
        }
        out->blocked = true;
        out->status = rr->status;
        out->body = rr->body;
        return;
    }
}
