/* The interleaving explorer: see explore.h. */
#include "explore.h"

#include "rng.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------- the printed form ---------- */

sim_err xpl_parse(const char *text, xpl_schedule *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = text;
    static const char expect[] =
        "expected a schedule as explore prints it: 0, or point:pick,... optionally after Nr/ "
        "(e.g. 2r/3:1)";
    char *end;
    if (strncmp(p, "lat/", 4) == 0) {
        out->latencies = true;
        p += 4;
    }
    errno = 0;
    if (isdigit((unsigned char)*p)) {
        unsigned long long v = strtoull(p, &end, 10);
        if (*end == 'r' && end[1] == '/' && v > 0) {
            out->requests = v;
            p = end + 2;
        }
    }
    if (strcmp(p, "0") == 0)
        return SIM_OK;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            goto bad;
        unsigned long long point = strtoull(p, &end, 10);
        if (*end != ':' || !isdigit((unsigned char)end[1]))
            goto bad;
        unsigned long long pick = strtoull(end + 1, &end, 10);
        if (errno == ERANGE || pick == 0 || pick > UINT32_MAX || out->n == XPL_CHOICES_MAX ||
            (out->n && point <= out->point[out->n - 1]))
            goto bad;
        out->point[out->n] = point;
        out->pick[out->n++] = (uint32_t)pick;
        p = end;
        if (*p == ',' && p[1])
            p++;
        else if (*p)
            goto bad;
    }
    if (out->n)
        return SIM_OK;
bad:
    snprintf(err, errlen,
             "--schedule %.60s: %s, choices in increasing order, picks >= 1, at most %d", text,
             expect, XPL_CHOICES_MAX);
    return SIM_EUSAGE;
}

void xpl_format(const xpl_schedule *s, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    if (s->latencies)
        o += (size_t)snprintf(buf, len, "lat/");
    if (s->requests && o < len)
        o += (size_t)snprintf(buf + o, len - o, "%" PRIu64 "r/", s->requests);
    if (!s->n && o < len)
        snprintf(buf + o, len - o, "0");
    for (size_t i = 0; i < s->n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%" PRIu64 ":%" PRIu32, i ? "," : "", s->point[i],
                              s->pick[i]);
}

char *xpl_format_alloc(const xpl_schedule *s)
{
    size_t len = 32 + s->n * 32; /* "lat/" "Nr/" and each "u64:u32," */
    char *b = malloc(len);
    if (!b)
        abort();
    xpl_format(s, b, len);
    return b;
}

uint32_t xpl_replay_choose(void *ud, uint64_t isolate, const uint64_t *requests, uint32_t n)
{
    (void)isolate, (void)requests;
    xpl_replay *r = ud;
    uint64_t at = r->point++;
    /* Points are increasing: the next one named is the only one that can match. */
    if (r->used < r->s->n && r->s->point[r->used] == at) {
        uint32_t k = r->s->pick[r->used++];
        return k < n ? k : n - 1;
    }
    return 0;
}

/* ---------- one run under a chooser ---------- */

/* What every strategy's chooser shares: the choices made, recorded as a schedule. */
typedef struct chooser {
    uint32_t (*pick)(struct chooser *c, const uint64_t *requests, uint32_t n);
    uint64_t point;   /* choices made so far in this run */
    xpl_schedule rec; /* its non-zero ones */
    bool overflow;    /* more than XPL_CHOICES_MAX of them */
    /* exhaustive: the prefix to replay, and each point's fan-out and pick */
    uint32_t *prefix, *fan, *picked;
    size_t nprefix, npicked, cap;
    /* pct and random */
    rng r;
    uint64_t *prio; /* by request id */
    size_t nprio;
    uint64_t change[16]; /* pct: change points, 1-based, d - 1 of them */
    uint32_t nchange;
} chooser;

static uint32_t choose(void *ud, uint64_t isolate, const uint64_t *requests, uint32_t n)
{
    (void)isolate;
    chooser *c = ud;
    uint32_t k = c->pick(c, requests, n);
    if (k) {
        if (c->rec.n < XPL_CHOICES_MAX) {
            c->rec.point[c->rec.n] = c->point;
            c->rec.pick[c->rec.n++] = k;
        } else {
            c->overflow = true;
        }
    }
    c->point++;
    return k;
}

static uint32_t pick_dfs(chooser *c, const uint64_t *requests, uint32_t n)
{
    (void)requests;
    size_t j = c->npicked;
    uint32_t k = j < c->nprefix ? (c->prefix[j] < n ? c->prefix[j] : n - 1) : 0;
    if (j == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        if (!(c->fan = realloc(c->fan, c->cap * sizeof *c->fan)) ||
            !(c->picked = realloc(c->picked, c->cap * sizeof *c->picked)))
            abort();
    }
    c->fan[j] = n;
    c->picked[j] = k;
    c->npicked++;
    return k;
}

static uint64_t *prio_of(chooser *c, uint64_t request)
{
    if (request >= c->nprio) { /* a request the first run did not see: lowest of the initial */
        size_t n = (size_t)request + 1;
        if (!(c->prio = realloc(c->prio, n * sizeof *c->prio)))
            abort();
        for (size_t i = c->nprio; i < n; i++)
            c->prio[i] = 16 + i % 7; /* above every change point's, below the table's */
        c->nprio = n;
    }
    return &c->prio[request];
}

static uint32_t highest(chooser *c, const uint64_t *requests, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (*prio_of(c, requests[i]) > *prio_of(c, requests[best]))
            best = i;
    return best;
}

static uint32_t pick_pct(chooser *c, const uint64_t *requests, uint32_t n)
{
    uint32_t k = highest(c, requests, n);
    for (uint32_t i = 0; i < c->nchange; i++) {
        if (c->change[i] == c->point + 1) { /* the i-th change: that request drops to i + 1 */
            *prio_of(c, requests[k]) = i + 1;
            k = highest(c, requests, n);
        }
    }
    return k;
}

static uint32_t pick_random(chooser *c, const uint64_t *requests, uint32_t n)
{
    (void)requests;
    return (uint32_t)rng_range(&c->r, 0, n - 1);
}

/* Checks the memory mode can decide (the rest wait for the confirming run). */
static bool memory_checkable(const expect_item *e)
{
    if (e->kind == CHECK_NO_MIXING || e->kind == CHECK_NO_LOSS ||
        e->kind == CHECK_NO_PRIVATE_ACCESS)
        return true;
    if (e->kind != CHECK_METRIC)
        return false;
    static const char *const no[] = {"delivery_delay", "exposure", "evicted.", "lost_when_evicted"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strncmp(e->metric, no[i], strlen(no[i])) == 0)
            return false;
    return true;
}

/* Whether a finished run is bad (explore.h), and why. all: every check counts (a full run). */
static bool is_bad(const scenario *s, const sim_result *r, bool all, char *why, size_t len)
{
    const ledger_report *p = &r->report;
    if (p->fate[FATE_LOST] || p->fate[FATE_MISATTRIBUTED]) {
        int c = 0;
        for (int i = 1; i < CAUSE_COUNT; i++)
            if (p->lost_by[i] > p->lost_by[c])
                c = i;
        snprintf(why, len, "%" PRIu64 " of %" PRIu64 " items lost%s%s%s, %" PRIu64 " mixed",
                 p->fate[FATE_LOST], p->items, p->fate[FATE_LOST] ? " (most " : "",
                 p->fate[FATE_LOST] ? ledger_cause_name((ledger_cause)c) : "",
                 p->fate[FATE_LOST] ? ")" : "", p->fate[FATE_MISATTRIBUTED]);
        return true;
    }
    for (size_t i = 0; i < r->nchecks && i < s->nexpects; i++) {
        if (s->expects[i].holds && !r->checks[i].pass &&
            (all || memory_checkable(&s->expects[i]))) {
            snprintf(why, len, "check %s failed: %s", r->checks[i].check, r->checks[i].detail);
            return true;
        }
    }
    return false;
}

typedef struct search {
    const scenario *s;
    const xpl_options *o;
    xpl_result *out;
    chooser c;
    uint64_t seed;  /* the scenario seed explored */
    uint64_t cut;   /* requests, 0: as the scenario says */
    bool shrinking; /* runs count as shrink_runs, not schedules */
    char *err;
    size_t errlen;
} search;

/* Runs once under the search's chooser (reset for the run). Returns SIM_OK and *bad. */
static sim_err run_once(search *x, bool *bad, char *why, size_t whylen, sim_result *keep)
{
    scenario sc = *x->s;
    if (x->cut)
        sc.workload.requests = x->cut;
    sim_options opt = {.seed = x->seed, .seed_set = true, .memory = true};
    opt.chooser = choose;
    opt.chooser_ud = &x->c;
    opt.latencies = x->o->latencies;
    x->c.point = 0;
    x->c.npicked = 0;
    memset(&x->c.rec, 0, sizeof x->c.rec);
    x->c.rec.requests = x->cut;
    x->c.rec.latencies = x->o->latencies;
    x->c.overflow = false;
    sim_result r;
    sim_err rc = sim_run(&sc, &opt, &r, x->err, x->errlen);
    if (!rc)
        *bad = is_bad(x->s, &r, false, why, whylen); /* (an overflowing schedule shrinks) */
    *(x->shrinking ? &x->out->shrink_runs : &x->out->schedules) += 1;
    if (keep && !rc)
        *keep = r;
    else
        sim_result_free(&r);
    return rc;
}

/* One schedule of a search: SIM_OK, *found when it was bad. */
static sim_err try_schedule(search *x, bool *found, char *why, size_t whylen)
{
    bool bad = false;
    sim_err rc = run_once(x, &bad, why, whylen, NULL);
    *found = !rc && bad;
    return rc;
}

static sim_err search_dfs(search *x, uint64_t bound, bool *found, char *why, size_t whylen)
{
    x->c.pick = pick_dfs;
    x->c.nprefix = 0;
    *found = false;
    for (uint64_t runs = 0;; runs++) {
        if (runs == bound) {
            x->out->bound_hit = true;
            return SIM_OK;
        }
        sim_err rc = try_schedule(x, found, why, whylen);
        if (rc || *found)
            return rc;
        /* The next schedule: the last choice that has an untried sibling, one further. */
        size_t j = x->c.npicked;
        while (j > 0 && x->c.picked[j - 1] + 1 >= x->c.fan[j - 1])
            j--;
        if (j == 0) {
            x->out->complete = true;
            return SIM_OK;
        }
        if (!(x->c.prefix = realloc(x->c.prefix, j * sizeof *x->c.prefix)))
            abort();
        memcpy(x->c.prefix, x->c.picked, (j - 1) * sizeof *x->c.prefix);
        x->c.prefix[j - 1] = x->c.picked[j - 1] + 1;
        x->c.nprefix = j;
    }
}

static sim_err search_pct(search *x, bool random, bool *found, char *why, size_t whylen)
{
    const xpl_options *o = x->o;
    uint32_t d = o->depth ? o->depth : 2;
    if (d > 16)
        d = 16;
    x->c.pick = random ? pick_random : pick_pct;
    rng_seed(&x->c.r, o->seed, 1000 + (uint64_t)random);
    uint64_t n = x->out->requests, k = x->out->points;
    *found = false;
    uint64_t runs = o->runs ? o->runs : 1000;
    for (uint64_t i = 0; i < runs; i++) {
        /* Distinct priorities d + 1 .. d + n + 1 for requests 0..n, shuffled. */
        size_t np = (size_t)n + 1;
        if (!(x->c.prio = realloc(x->c.prio, np * sizeof *x->c.prio)))
            abort();
        x->c.nprio = np;
        for (size_t q = 0; q < np; q++)
            x->c.prio[q] = d + 1 + q;
        for (size_t q = np; q > 1; q--) {
            size_t w = (size_t)rng_range(&x->c.r, 0, q - 1);
            uint64_t t = x->c.prio[q - 1];
            x->c.prio[q - 1] = x->c.prio[w];
            x->c.prio[w] = t;
        }
        x->c.nchange = d - 1;
        for (uint32_t q = 0; q + 1 < d; q++)
            x->c.change[q] = k ? rng_range(&x->c.r, 1, k) : 0;
        sim_err rc = try_schedule(x, found, why, whylen);
        if (rc || *found)
            return rc;
    }
    x->out->pct_runs = runs;
    if (!random && k) {
        /* n threads: the requests, and the work that belongs to none (request 0). */
        double p = 1.0 / ((double)(n + 1) * pow((double)k, (double)(d - 1)));
        x->out->miss_bound = pow(1.0 - p, (double)runs);
    }
    return SIM_OK;
}

/* Does schedule `sch` still fail? (A replay in memory mode.) */
static sim_err still_bad(search *x, const xpl_schedule *sch, bool *bad, char *why, size_t len)
{
    xpl_replay rp = {sch, 0, 0};
    scenario sc = *x->s;
    if (sch->requests)
        sc.workload.requests = sch->requests;
    sim_options opt = {.seed = x->seed,
                       .seed_set = true,
                       .memory = true,
                       .chooser = xpl_replay_choose,
                       .chooser_ud = &rp,
                       .latencies = sch->latencies};
    sim_result r;
    sim_err rc = sim_run(&sc, &opt, &r, x->err, x->errlen);
    x->out->shrink_runs++;
    if (!rc)
        *bad = is_bad(x->s, &r, false, why, len);
    sim_result_free(&r);
    return rc;
}

/* Fewest requests first (a bounded exhaustive search at each cut), then fewest choices. */
static sim_err shrink(search *x, char *why, size_t whylen)
{
    xpl_result *out = x->out;
    uint64_t have = out->bad.requests ? out->bad.requests : out->requests;
    for (uint64_t m = 1; m < have; m++) {
        x->cut = m;
        bool found = false;
        bool bound = out->bound_hit, complete = out->complete;
        sim_err rc = search_dfs(x, 2000, &found, why, whylen);
        out->bound_hit = bound, out->complete = complete;
        if (rc)
            return rc;
        if (found) {
            out->bad = x->c.rec;
            break;
        }
    }
    x->cut = 0;
    for (size_t i = out->bad.n; i-- > 0;) {
        xpl_schedule t = out->bad;
        memmove(&t.point[i], &t.point[i + 1], (t.n - i - 1) * sizeof t.point[0]);
        memmove(&t.pick[i], &t.pick[i + 1], (t.n - i - 1) * sizeof t.pick[0]);
        t.n--;
        bool bad = false;
        char w[256];
        sim_err rc = still_bad(x, &t, &bad, w, sizeof w);
        if (rc)
            return rc;
        if (bad) {
            out->bad = t;
            snprintf(why, whylen, "%s", w);
        }
    }
    return SIM_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the throughput figure only */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

sim_err xpl_explore(const scenario *s, const xpl_options *o, xpl_result *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->miss_bound = NAN;
    if (!s->has_exporter) {
        snprintf(err, errlen, "%s: nothing to explore: no exporter, so no telemetry to lose",
                 s->file);
        return SIM_EINPUT;
    }
    if (s->has_pipeline) {
        snprintf(err, errlen,
                 "%s: explore decides fates in memory, without the ingest: a pipeline's hops "
                 "(object store, notifications, the origin) need the real one; run it instead",
                 s->file);
        return SIM_EINPUT;
    }
    if (s->ingest_json || s->api_key) {
        snprintf(err, errlen,
                 "%s: explore decides fates in memory, taking every POST as accepted: remove the "
                 "ingest's cap and api_key from the scenario to explore its orderings",
                 s->file);
        return SIM_EINPUT;
    }
    search x = {.s = s, .o = o, .out = out, .err = err, .errlen = errlen};
    x.seed = out->seed = o->seed_set ? o->scenario_seed : s->seed;
    double t0 = now_s();
    char why[256] = "";
    /* The plain run first (no chooser): what `run` does, judged like every schedule. */
    sim_options plain = {.seed = x.seed, .seed_set = true, .memory = true};
    sim_result rp0;
    sim_err rc = sim_run(s, &plain, &rp0, err, errlen);
    if (rc)
        goto done;
    bool found = is_bad(s, &rp0, false, why, sizeof why);
    sim_result_free(&rp0);
    out->plain = found;
    /* The default order: n and k. */
    x.c.pick = pick_dfs;
    sim_result r0;
    bool bad = false;
    if ((rc = run_once(&x, &bad, found ? NULL : why, found ? 0 : sizeof why, &r0)))
        goto done;
    out->requests = r0.rt.arrived;
    out->points = x.c.npicked;
    sim_result_free(&r0);
    xpl_strategy st = o->strategy;
    out->strategy = st == XPL_AUTO ? XPL_EXHAUSTIVE : st;
    found |= bad;
    if (!found && (st == XPL_AUTO || st == XPL_EXHAUSTIVE)) {
        out->schedules = 0; /* the default order is the first schedule of the search */
        rc = search_dfs(&x, o->max_schedules ? o->max_schedules : 10000, &found, why, sizeof why);
        if (!rc && !found && out->bound_hit && st == XPL_AUTO) {
            out->strategy = XPL_PCT;
            rc = search_pct(&x, false, &found, why, sizeof why);
        }
    } else if (!found) {
        rc = search_pct(&x, st == XPL_RANDOM, &found, why, sizeof why);
    }
    if (rc)
        goto done;
    if (found && !out->plain) {
        out->bad = x.c.rec;
        x.shrinking = true;
        if (!o->no_shrink && (rc = shrink(&x, why, sizeof why)))
            goto done;
    }
    out->wall_s = now_s() - t0;
    /* One full run, with real HTTP and SQLite: of the bad schedule, or of the plain run
     * (which then judges the checks the memory mode could not). */
    xpl_replay rp = {&out->bad, 0, 0};
    scenario sc = *s;
    if (found && !out->plain && out->bad.requests)
        sc.workload.requests = out->bad.requests;
    sim_options opt = {.seed = x.seed, .seed_set = true, .run_dir = o->confirm_dir};
    if (found && !out->plain) {
        opt.chooser = xpl_replay_choose;
        opt.chooser_ud = &rp;
        opt.latencies = out->bad.latencies;
    }
    if ((rc = sim_run(&sc, &opt, &out->full, err, errlen)))
        goto done;
    out->has_full = true;
    char w[256];
    bool full_bad = is_bad(s, &out->full, true, w, sizeof w);
    if (found) {
        out->confirmed = full_bad;
    } else if (full_bad) { /* a check only a full run decides */
        found = out->plain = out->full_only = out->confirmed = true;
        snprintf(why, sizeof why, "%s", w);
    }
    out->found = found;
    if (found)
        snprintf(out->why, sizeof out->why, "%s", why);
done:
    free(x.c.prefix);
    free(x.c.fan);
    free(x.c.picked);
    free(x.c.prio);
    return rc;
}

void xpl_result_free(xpl_result *r)
{
    if (r->has_full)
        sim_result_free(&r->full);
    r->has_full = false;
}
