/* A WAF rate limiting rule's counters: see waf_rate.h. */
#include "waf_rate.h"

#include <stdlib.h>
#include <string.h>

/* One counter: the current and previous windows' applied counts, the counts still on their
 * way (the lag), and a mitigation in force. */
typedef struct counter {
    char *key;      /* NULL: free slot */
    int64_t window; /* index of the current window */
    int64_t cur, prev;
    int64_t *pending; /* request times whose count has not landed yet, in order */
    size_t npend, headpend, cappend;
    int64_t blocked_until;
} counter;

struct waf_rate {
    waf_rate_cfg cfg;
    counter *slots; /* open addressing, a power of two */
    size_t cap, n;
};

waf_rate *waf_rate_new(const waf_rate_cfg *cfg)
{
    waf_rate *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = *cfg;
    r->cap = 64;
    if (!(r->slots = calloc(r->cap, sizeof *r->slots))) {
        free(r);
        return NULL;
    }
    return r;
}

void waf_rate_free(waf_rate *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->cap; i++) {
        free(r->slots[i].key);
        free(r->slots[i].pending);
    }
    free(r->slots);
    free(r);
}

size_t waf_rate_keys(const waf_rate *r)
{
    return r->n;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static counter *find(counter *slots, size_t cap, const char *key)
{
    for (size_t i = fnv1a(key) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slots[i].key || strcmp(slots[i].key, key) == 0)
            return &slots[i];
}

static bool grow(waf_rate *r)
{
    size_t cap = r->cap * 2;
    counter *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < r->cap; i++)
        if (r->slots[i].key)
            *find(ns, cap, r->slots[i].key) = r->slots[i];
    free(r->slots);
    r->slots = ns;
    r->cap = cap;
    return true;
}

/* t + d for t, d >= 0, saturating: a mitigation or a landing past the end of time never
 * comes, which is what it means. */
static int64_t sat_add(int64_t t, int64_t d)
{
    return d > INT64_MAX - t ? INT64_MAX : t + d;
}

static int64_t window_of(const waf_rate *r, int64_t t)
{
    return t / r->cfg.period_ns; /* times are >= 0 */
}

/* The counter's windows moved on to window w (never back). */
static void advance(counter *c, int64_t w)
{
    if (w == c->window)
        return;
    c->prev = w == c->window + 1 ? c->cur : 0;
    c->cur = 0;
    c->window = w;
}

/* A count that landed, for a request at time t (its own window, not the landing one). */
static void land(const waf_rate *r, counter *c, int64_t t)
{
    int64_t w = window_of(r, t);
    if (w > c->window)
        advance(c, w);
    if (w == c->window)
        c->cur++;
    else if (w == c->window - 1)
        c->prev++;
    /* older: outside every period that can still be asked about */
}

/* Every count that has landed by t, in order; then the rate as a request at t sees it and
 * whether it is blocked (starting a mitigation when it goes over). */
static void judge(waf_rate *r, counter *c, int64_t t_ns, waf_rate_verdict *out)
{
    while (c->npend && sat_add(c->pending[c->headpend], r->cfg.lag_ns) <= t_ns) {
        land(r, c, c->pending[c->headpend]);
        c->headpend = (c->headpend + 1) % c->cappend;
        c->npend--;
    }
    if (window_of(r, t_ns) > c->window)
        advance(c, window_of(r, t_ns));
    double rate = (double)c->cur;
    if (r->cfg.window == WAF_WINDOW_SLIDING) {
        int64_t elapsed = t_ns - c->window * r->cfg.period_ns;
        rate += (double)c->prev * (double)(r->cfg.period_ns - elapsed) / (double)r->cfg.period_ns;
    }
    out->rate = rate;
    bool over = rate > (double)r->cfg.requests_per_period;
    if (over && r->cfg.mitigation_ns > 0 && t_ns >= c->blocked_until)
        c->blocked_until = sat_add(t_ns, r->cfg.mitigation_ns);
    out->blocked_until_ns = c->blocked_until > t_ns ? c->blocked_until : 0;
    out->block = over || out->blocked_until_ns;
}

bool waf_rate_hit(waf_rate *r, const char *key, int64_t t_ns, waf_rate_verdict *out)
{
    *out = (waf_rate_verdict){false, 0, 0};
    if (r->n * 2 >= r->cap && !grow(r))
        return false;
    counter *c = find(r->slots, r->cap, key);
    if (!c->key) {
        if (!(c->key = strdup(key)))
            return false;
        c->window = window_of(r, t_ns);
        r->n++;
    }
    /* This request's count goes in line behind the ones still landing. */
    if (c->npend == c->cappend) {
        size_t cap = c->cappend ? 2 * c->cappend : 8;
        int64_t *np = malloc(cap * sizeof *np);
        if (!np)
            return false;
        for (size_t i = 0; i < c->npend; i++)
            np[i] = c->pending[(c->headpend + i) % c->cappend];
        free(c->pending);
        c->pending = np;
        c->cappend = cap;
        c->headpend = 0;
    }
    c->pending[(c->headpend + c->npend++) % c->cappend] = t_ns;
    judge(r, c, t_ns, out);
    return true;
}

void waf_rate_peek(waf_rate *r, const char *key, int64_t t_ns, waf_rate_verdict *out)
{
    *out = (waf_rate_verdict){false, 0, 0};
    counter *c = find(r->slots, r->cap, key);
    if (c->key) /* no counter: nothing was ever counted for this key, the rate is 0 */
        judge(r, c, t_ns, out);
}
