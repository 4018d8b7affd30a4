#include "fault.h"

#include "engine.h" /* eng_add: sums of durations saturate at the end of time */

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each rule's stream: the run's seed with a stream id of its own, far from rng.h's. */
#define FLT_STREAM_BASE 0x46415531ULL /* "FAU1" */

static const char *const names[FLT_KIND_COUNT] = {
#define FLT_KIND_NAME(name, str, family) [FLT_##name] = str,
    FLT_KIND_MAP(FLT_KIND_NAME)
#undef FLT_KIND_NAME
};
/* A kind's family, as a number: tested for every rule of every request that leaves. */
static const unsigned char family_of[FLT_KIND_COUNT] = {
#define FLT_KIND_FAMILY(name, str, fam) [FLT_##name] = FLT_FAM_##fam,
    FLT_KIND_MAP(FLT_KIND_FAMILY)
#undef FLT_KIND_FAMILY
};
static const char *const family_names[] = {"network", "ingest", "runtime"};

const char *flt_kind_name(flt_kind k)
{
    return k < FLT_KIND_COUNT ? names[k] : "none";
}

const char *flt_kind_family(flt_kind k)
{
    return k < FLT_KIND_COUNT ? family_names[family_of[k]] : "none";
}

flt_family flt_family_of(flt_kind k)
{
    assert(k < FLT_KIND_COUNT);
    return (flt_family)family_of[k];
}

const char *flt_family_name(flt_family f)
{
    assert(f < FLT_FAM_COUNT);
    return family_names[f];
}

unsigned flt_swarm_on(uint64_t seed)
{
    rng r;
    rng_seed(&r, seed, RNG_SWARM);
    unsigned on = 0;
    for (unsigned f = 0; f < FLT_FAM_COUNT; f++)
        if (rng_next(&r) >> 63)
            on |= 1u << f;
    return on;
}

int flt_kind_find(const char *name)
{
    for (int k = 0; k < FLT_KIND_COUNT; k++)
        if (strcmp(names[k], name) == 0)
            return k;
    return -1;
}

bool flt_ge_step(const flt_ge *g, bool *bad, rng *draws)
{
    double u = rng_unit(draws);
    *bad = *bad ? !(u < g->r) : u < g->p;
    double loss = *bad ? g->loss_bad : g->loss_good;
    /* Both draws are taken whatever the state, so the stream's position depends only on how
     * many requests went through the channel. */
    return rng_unit(draws) < loss;
}

typedef struct rule_state {
    rng draws;
    uint64_t fired;
    bool bad;   /* loss: the channel's state */
    bool drawn; /* partition: it drew for the request being judged (flt_arrive) */
} rule_state;

struct flt {
    const flt_rule *rules;
    size_t n;
    rule_state *st;
    flt_fired_fn fired;
    void *ud;
};

flt *flt_new(const flt_rule *rules, size_t n, uint64_t seed, flt_fired_fn fired, void *ud)
{
    flt *f = calloc(1, sizeof *f);
    if (!f || (n && !(f->st = calloc(n, sizeof *f->st)))) {
        free(f);
        return NULL;
    }
    f->rules = rules;
    f->n = n;
    f->fired = fired;
    f->ud = ud;
    for (size_t i = 0; i < n; i++)
        rng_seed(&f->st[i].draws, seed, (FLT_STREAM_BASE << 20) + i);
    return f;
}

void flt_free(flt *f)
{
    if (!f)
        return;
    free(f->st);
    free(f);
}

size_t flt_rules(const flt *f)
{
    return f->n;
}

const flt_rule *flt_rule_at(const flt *f, size_t i)
{
    assert(i < f->n);
    return &f->rules[i];
}

uint64_t flt_fired(const flt *f, size_t i)
{
    assert(i < f->n);
    return f->st[i].fired;
}

static bool in_u32(const uint32_t *v, uint32_t n, int64_t x)
{
    for (uint32_t i = 0; i < n; i++)
        if ((int64_t)v[i] == x)
            return true;
    return false;
}

/* Whether the rule applies to this request at this instant (its window and target); its
 * probability and its count are not looked at here. */
static bool matches(const flt_rule *r, const flt_target *t, int64_t now)
{
    if (now < r->from_ns || now >= r->until_ns || r->off)
        return false;
    if (r->nroutes && !in_u32(r->routes, r->nroutes, t->route))
        return false;
    if (r->ncolos && !in_u32(r->colos, r->ncolos, t->colo))
        return false;
    if (r->nisolates) {
        bool any = false;
        for (uint32_t i = 0; i < r->nisolates && !any; i++)
            any = t->isolate && r->isolates[i] == t->isolate;
        if (!any)
            return false;
    }
    if (r->npaths) {
        bool any = false;
        for (uint32_t i = 0; i < r->npaths && !any; i++)
            any = strncmp(t->path, r->paths[i], strlen(r->paths[i])) == 0;
        if (!any)
            return false;
    }
    return true;
}

/* The rule matched: does it hit this request? A rule past its "first N" is spent and draws
 * nothing more; else one draw, whether or not another rule already decided the request, so
 * that its stream does not depend on the others. */
static bool hits(flt *f, size_t i)
{
    const flt_rule *r = &f->rules[i];
    rule_state *s = &f->st[i];
    if (r->first && s->fired >= r->first)
        return false;
    if (r->probability >= 1)
        return true;
    return rng_unit(&s->draws) < r->probability;
}

static void fire(flt *f, size_t i, int64_t now, const flt_target *t)
{
    f->st[i].fired++;
    if (f->fired)
        f->fired(f->ud, (uint32_t)i, f->rules[i].kind, now, t);
}

/* latency +- jitter, at least 0, from the rule's stream (no draw when there is no jitter). */
static int64_t jittered(flt *f, size_t i)
{
    const flt_rule *r = &f->rules[i];
    if (!r->jitter_ns)
        return r->latency_ns;
    int64_t v =
        rng_range(&f->st[i].draws, r->latency_ns - r->jitter_ns, r->latency_ns + r->jitter_ns);
    return v < 0 ? 0 : v;
}

/* Whether network rule i hits this departing request (one draw from its stream, or the
 * loss channel's step), its window and target already matched. */
static bool departure_hits(flt *f, size_t i)
{
    const flt_rule *r = &f->rules[i];
    if (r->kind != FLT_LOSS)
        return hits(f, i);
    /* The channel moves with every request through it; "first N" caps the losses. */
    bool lost = flt_ge_step(&r->ge, &f->st[i].bad, &f->st[i].draws);
    return lost && !(r->first && f->st[i].fired >= r->first);
}

void flt_depart(flt *f, const flt_target *t, int64_t now, flt_departure *out)
{
    *out = (flt_departure){0, 0, FLT_NONE, 0};
    if (!f)
        return;
    /* The failures first (the first that hits decides: the others drew, and did nothing),
     * then what adds time - a bandwidth limit only to a body that goes out at all. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < f->n; i++) {
            const flt_rule *r = &f->rules[i];
            bool adds = r->kind == FLT_LATENCY || r->kind == FLT_BANDWIDTH;
            if (family_of[r->kind] != FLT_FAM_NETWORK || r->kind == FLT_PARTITION ||
                adds != (pass == 1) || !matches(r, t, now) || !departure_hits(f, i))
                continue;
            if (r->kind == FLT_LATENCY) {
                out->extra_ns = eng_add(out->extra_ns, jittered(f, i));
            } else if (r->kind == FLT_BANDWIDTH) {
                if (out->fail == FLT_REFUSED)
                    continue; /* refused at the handshake: no body went out */
                /* A tiny rate and a large body: past the end of time, not past int64. */
                double ns = ceil((double)t->bytes * 1e9 / r->bytes_per_s);
                int64_t body = ns >= (double)ENG_TIME_MAX ? ENG_TIME_MAX : (int64_t)ns;
                out->extra_ns = eng_add(out->extra_ns, body);
                out->body_ns = eng_add(out->body_ns, body);
            } else if (out->fail != FLT_NONE) {
                continue;
            } else {
                out->fail = r->kind;
                out->after_ns = r->after_ns;
            }
            fire(f, i, now, t);
        }
}

/* A partition rule that matches at `at`: one draw for this request, whether or not another
 * partition already took it (so that each rule's stream depends on its own matches only);
 * the first that hits decides. */
static bool partition_pass(flt *f, const flt_target *t, int64_t at, bool *cut, int64_t *after,
                           bool skip_drawn)
{
    bool any = false;
    for (size_t i = 0; i < f->n; i++) {
        const flt_rule *r = &f->rules[i];
        if (r->kind != FLT_PARTITION || (skip_drawn && f->st[i].drawn) || !matches(r, t, at))
            continue;
        f->st[i].drawn = true;
        if (!hits(f, i) || *cut)
            continue;
        *cut = true;
        *after = r->after_ns;
        fire(f, i, at, t);
        any = true;
    }
    return any;
}

void flt_arrive(flt *f, const flt_target *t, int64_t now, bool for_ingest, flt_arrival *out)
{
    memset(out, 0, sizeof *out);
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        f->st[i].drawn = false;
    /* First the partitions: a request they take never reaches the ingest, and nothing the
     * ingest would have done to it happens (its rules never see it). */
    if (partition_pass(f, t, now, &out->partitioned, &out->after_ns, false))
        return;
    for (size_t i = 0; for_ingest && i < f->n; i++) {
        const flt_rule *r = &f->rules[i];
        if (family_of[r->kind] != FLT_FAM_INGEST || !matches(r, t, now) || !hits(f, i))
            continue;
        if (r->kind == FLT_SLOW) {
            out->slow_ns += jittered(f, i);
        } else if (out->header[0]) {
            continue; /* the header carries one fault: the first rule's */
        } else if (r->kind == FLT_TOO_LARGE) {
            if ((int64_t)t->bytes <= r->max_bytes)
                continue; /* under its size: the ingest would do nothing */
            snprintf(out->header, sizeof out->header, "too_large=%lld", (long long)r->max_bytes);
        } else if (r->kind == FLT_STATUS) {
            if (r->retry_after_s >= 0)
                snprintf(out->header, sizeof out->header, "status=%d, retry_after=%lld", r->status,
                         (long long)r->retry_after_s);
            else
                snprintf(out->header, sizeof out->header, "status=%d", r->status);
        } else {
            snprintf(out->header, sizeof out->header, "drop_answer");
            out->drop_answer = true;
        }
        if (r->kind != FLT_SLOW)
            out->ingest = r;
        fire(f, i, now, t);
    }
    /* A slow answer may leave into a partition that began after the request arrived (a rule
     * that already drew for this request at its arrival does not draw again). */
    if (out->slow_ns &&
        partition_pass(f, t, now + out->slow_ns, &out->answer_lost, &out->after_ns, true) &&
        !out->header[0]) {
        snprintf(out->header, sizeof out->header, "drop_answer");
        out->drop_answer = true;
    }
}
