#include "sweep.h"

#include "fault.h"
#include "summary.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

/* A whole number from 0 to max: the string is all digits, nothing else. */
static bool whole(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > (max - (uint64_t)(*p - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return true;
}

/* Seeds are exact in JSON up to 2^53 - 1, as everywhere in edgeloss. */
#define SEED_MAX ((1ull << 53) - 1)

sim_err swp_parse_seeds(const char *spec, uint64_t *first, uint64_t *last, char *err, size_t errlen)
{
    char a[32], b[32];
    const char *dots = strstr(spec, "..");
    size_t la = dots ? (size_t)(dots - spec) : strlen(spec);
    if (la >= sizeof a || (dots && strlen(dots + 2) >= sizeof b))
        goto bad;
    memcpy(a, spec, la);
    a[la] = '\0';
    snprintf(b, sizeof b, "%s", dots ? dots + 2 : a);
    if (!whole(a, SEED_MAX, first) || !whole(b, SEED_MAX, last))
        goto bad;
    if (*last < *first) {
        snprintf(err, errlen, "--seeds %.60s: the last seed is before the first", spec);
        return SIM_EUSAGE;
    }
    if (*last - *first >= SWP_MAX_SEEDS) {
        snprintf(err, errlen, "--seeds %.60s: more than %llu seeds in one sweep", spec,
                 (unsigned long long)SWP_MAX_SEEDS);
        return SIM_EUSAGE;
    }
    return SIM_OK;
bad:
    snprintf(err, errlen,
             "--seeds %.60s: expected FIRST..LAST or one seed, whole numbers from 0 to 2^53 - 1",
             spec);
    return SIM_EUSAGE;
}

/* The batch systems' variables for --shard auto, in the order they are looked for. */
static const struct {
    const char *index, *count, *min;
    unsigned base;
} known_env[] = {
    {"JOB_COMPLETION_INDEX", NULL, NULL, 0},
    {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", 0},
    {"CI_NODE_INDEX", "CI_NODE_TOTAL", NULL, 1},
};
#define NKNOWN_ENV (sizeof known_env / sizeof known_env[0])

/* A count or an index: a number, or a variable holding one. */
static sim_err shard_number(const char *what, const char *word, const char *spec,
                            const char *(*env)(void *, const char *), void *ud, uint64_t *out,
                            const char **var, char *err, size_t errlen)
{
    *var = NULL;
    if (whole(word, UINT32_MAX, out))
        return SIM_OK;
    bool name = word[0] && !isdigit((unsigned char)word[0]);
    for (const char *p = word; *p && name; p++)
        name = isalnum((unsigned char)*p) || *p == '_';
    if (!name) {
        snprintf(err, errlen,
                 "--shard %.80s: expected INDEX/COUNT, each a number, `auto` or the name of an "
                 "environment variable (JOB_COMPLETION_INDEX/4)",
                 spec);
        return SIM_EUSAGE;
    }
    const char *v = env(ud, word);
    if (!v) {
        snprintf(err, errlen, "--shard %.80s: the %s's variable %.80s is not set", spec, what,
                 word);
        return SIM_EUSAGE;
    }
    if (!whole(v, UINT32_MAX, out)) {
        snprintf(err, errlen, "--shard %.80s: %.80s=%.40s: expected a whole number", spec, word, v);
        return SIM_EUSAGE;
    }
    *var = word;
    return SIM_OK;
}

sim_err swp_parse_shard(const char *spec, const char *(*env)(void *ud, const char *name), void *ud,
                        swp_shard *out, char *err, size_t errlen)
{
    char idx[128], cnt[128];
    const char *slash = strchr(spec, '/');
    if (!slash || (size_t)(slash - spec) >= sizeof idx || strlen(slash + 1) >= sizeof cnt) {
        snprintf(err, errlen,
                 "--shard %.80s: expected INDEX/COUNT (2/8, auto/8, JOB_COMPLETION_INDEX/8)", spec);
        return SIM_EUSAGE;
    }
    memcpy(idx, spec, (size_t)(slash - spec));
    idx[slash - spec] = '\0';
    snprintf(cnt, sizeof cnt, "%s", slash + 1);
    /* `auto` and the known variables carry their own base and, maybe, their count. */
    size_t known = NKNOWN_ENV;
    if (strcmp(idx, "auto") == 0) {
        for (size_t k = 0; k < NKNOWN_ENV && known == NKNOWN_ENV; k++)
            if (env(ud, known_env[k].index))
                known = k;
        if (known == NKNOWN_ENV) {
            snprintf(err, errlen,
                     "--shard %.80s: none of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID and "
                     "CI_NODE_INDEX is set (name the variable instead of `auto`)",
                     spec);
            return SIM_EUSAGE;
        }
        snprintf(idx, sizeof idx, "%s", known_env[known].index);
    } else {
        for (size_t k = 0; k < NKNOWN_ENV; k++)
            if (strcmp(idx, known_env[k].index) == 0)
                known = k;
    }
    if (strcmp(cnt, "auto") == 0) {
        if (known == NKNOWN_ENV || !known_env[known].count) {
            snprintf(err, errlen,
                     "--shard %.80s: COUNT `auto` needs SLURM_ARRAY_TASK_ID or CI_NODE_INDEX "
                     "(they come with a count); give the number",
                     spec);
            return SIM_EUSAGE;
        }
        snprintf(cnt, sizeof cnt, "%s", known_env[known].count);
    }
    uint64_t i, n;
    const char *ivar, *nvar;
    sim_err rc = shard_number("index", idx, spec, env, ud, &i, &ivar, err, errlen);
    if (!rc)
        rc = shard_number("count", cnt, spec, env, ud, &n, &nvar, err, errlen);
    if (rc)
        return rc;
    if (ivar && known < NKNOWN_ENV) {
        uint64_t base = known_env[known].base, min;
        const char *mv = known_env[known].min ? env(ud, known_env[known].min) : NULL;
        if (mv && !whole(mv, UINT32_MAX, &min)) {
            snprintf(err, errlen, "--shard %.80s: %s=%.40s: expected a whole number", spec,
                     known_env[known].min, mv);
            return SIM_EUSAGE;
        }
        if (mv)
            base = min;
        if (i < base) {
            snprintf(err, errlen, "--shard %.80s: %s=%" PRIu64 " is below its first index %" PRIu64,
                     spec, ivar, i, base);
            return SIM_EUSAGE;
        }
        i -= base;
    }
    if (n < 1 || n > SWP_MAX_SHARDS) {
        snprintf(err, errlen, "--shard %.80s: COUNT %" PRIu64 ": expected 1 to %u", spec, n,
                 SWP_MAX_SHARDS);
        return SIM_EUSAGE;
    }
    if (i >= n) {
        snprintf(err, errlen,
                 "--shard %.80s: index %" PRIu64 "%s%s%s is not below the count %" PRIu64
                 " (indices start at 0)",
                 spec, i, ivar ? " (from " : "", ivar ? ivar : "", ivar ? ")" : "", n);
        return SIM_EUSAGE;
    }
    *out = (swp_shard){(uint32_t)i, (uint32_t)n, ivar ? ivar : "--shard"};
    return SIM_OK;
}

bool swp_slice(uint64_t first, uint64_t last, swp_shard sh, uint64_t *sfirst, uint64_t *slast)
{
    assert(sh.count >= 1 && sh.index < sh.count && last >= first);
    uint64_t total = last - first + 1; /* < 2^27, so the products below stay exact */
    uint64_t a = total * sh.index / sh.count, b = total * (sh.index + 1) / sh.count;
    if (a == b)
        return false;
    *sfirst = first + a;
    *slast = first + b - 1;
    return true;
}

/* ---------------------------------------------------------------- metrics */

static void metric_put(swp_metric *m, double v, uint64_t n)
{
    size_t lo = 0, hi = m->nvals;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->vals[mid].v < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    m->seeds += n;
    if (lo < m->nvals && m->vals[lo].v == v) {
        m->vals[lo].n += n;
        return;
    }
    if (m->nvals == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 4;
        swp_value *g = realloc(m->vals, m->cap * sizeof *g);
        if (!g)
            abort();
        m->vals = g;
    }
    memmove(m->vals + lo + 1, m->vals + lo, (m->nvals - lo) * sizeof *m->vals);
    m->vals[lo] = (swp_value){v == 0 ? 0.0 : v, n}; /* -0 and 0 are one value */
    m->nvals++;
}

static swp_metric *metric_of(swp_variant *v, const char *name)
{
    for (size_t i = 0; i < v->nmetrics; i++)
        if (strcmp(v->metrics[i].name, name) == 0)
            return &v->metrics[i];
    swp_metric *g = realloc(v->metrics, (v->nmetrics + 1) * sizeof *g);
    if (!g)
        abort();
    v->metrics = g;
    swp_metric *m = &v->metrics[v->nmetrics++];
    memset(m, 0, sizeof *m);
    check_copy(m->name, sizeof m->name, name);
    return m;
}

/* The value of nearest rank ceil(q * n). */
static double rank_value(const swp_metric *m, double q)
{
    uint64_t rank = (uint64_t)ceil(q * (double)m->seeds);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < m->nvals; i++) {
        seen += m->vals[i].n;
        if (seen >= rank)
            return m->vals[i].v;
    }
    return m->vals[m->nvals - 1].v;
}

bool swp_distribution(const swp_metric *m, swp_dist *out)
{
    if (!m->nvals)
        return false;
    *out = (swp_dist){.seeds = m->seeds,
                      .min = m->vals[0].v,
                      .p50 = rank_value(m, 0.50),
                      .p90 = rank_value(m, 0.90),
                      .p99 = rank_value(m, 0.99),
                      .max = m->vals[m->nvals - 1].v};
    return true;
}

/* ---------------------------------------------------------------- runs */

size_t swp_variant_at(swp_sweep *s, const char *name)
{
    for (size_t i = 0; i < s->nvariants; i++)
        if (strcmp(s->variants[i].name, name) == 0)
            return i;
    swp_variant *g = realloc(s->variants, (s->nvariants + 1) * sizeof *g);
    if (!g)
        abort();
    s->variants = g;
    swp_variant *v = &s->variants[s->nvariants];
    memset(v, 0, sizeof *v);
    v->name = xstrdup(name);
    return s->nvariants++;
}

static swp_check *check_of(swp_variant *v, const char *name)
{
    for (size_t i = 0; i < v->nchecks; i++)
        if (strcmp(v->checks[i].name, name) == 0)
            return &v->checks[i];
    swp_check *g = realloc(v->checks, (v->nchecks + 1) * sizeof *g);
    if (!g)
        abort();
    v->checks = g;
    swp_check *c = &v->checks[v->nchecks++];
    memset(c, 0, sizeof *c);
    check_copy(c->name, sizeof c->name, name);
    return c;
}

static swp_failure *failure_add(swp_variant *v)
{
    if (v->nfailures == v->capfailures) {
        v->capfailures = v->capfailures ? 2 * v->capfailures : 8;
        swp_failure *g = realloc(v->failures, v->capfailures * sizeof *g);
        if (!g)
            abort();
        v->failures = g;
    }
    swp_failure *f = &v->failures[v->nfailures++];
    memset(f, 0, sizeof *f);
    return f;
}

void swp_add(swp_sweep *s, size_t vi, const res_run *r, const check_metric *m, size_t nm,
             unsigned swarm_present, unsigned swarm_on)
{
    assert(vi < s->nvariants);
    swp_variant *v = &s->variants[vi];
    res_status st = res_status_of(r);
    v->runs++;
    v->status[st]++;
    v->swarm_present |= swarm_present;
    for (size_t i = 0; i < r->nchecks; i++) {
        swp_check *c = check_of(v, r->checks[i].check);
        c->failed += !r->checks[i].pass;
    }
    v->metric_runs += nm > 0;
    for (size_t i = 0; i < nm; i++) {
        swp_metric *x = metric_of(v, m[i].name);
        if (m[i].empty || !isfinite(m[i].value))
            x->empty++;
        else
            metric_put(x, m[i].value, 1);
    }
    if (st == RES_PASS)
        return;
    swp_failure *f = failure_add(v);
    f->seed = r->seed;
    f->status = st;
    f->err = r->err;
    f->message = xstrdup(r->message);
    f->swarm_on = swarm_on;
    if (r->nchecks) {
        f->checks = xcalloc(r->nchecks, sizeof *f->checks);
        memcpy(f->checks, r->checks, r->nchecks * sizeof *f->checks);
        f->nchecks = r->nchecks;
    }
}

static int cmp_failure(const void *a, const void *b)
{
    const swp_failure *x = a, *y = b;
    return (x->seed > y->seed) - (x->seed < y->seed);
}

static int cmp_metric(const void *a, const void *b)
{
    return strcmp(((const swp_metric *)a)->name, ((const swp_metric *)b)->name);
}

void swp_finish(swp_sweep *s)
{
    for (size_t i = 0; i < s->nvariants; i++) {
        swp_variant *v = &s->variants[i];
        if (v->nfailures)
            qsort(v->failures, v->nfailures, sizeof(swp_failure), cmp_failure);
        if (v->nmetrics)
            qsort(v->metrics, v->nmetrics, sizeof(swp_metric), cmp_metric);
        for (size_t k = 0; k < v->nmetrics; k++)
            if (v->metrics[k].seeds <= v->metric_runs)
                v->metrics[k].empty = v->metric_runs - v->metrics[k].seeds;
    }
}

void swp_free(swp_sweep *s)
{
    for (size_t i = 0; i < s->nvariants; i++) {
        swp_variant *v = &s->variants[i];
        for (size_t k = 0; k < v->nmetrics; k++)
            free(v->metrics[k].vals);
        for (size_t k = 0; k < v->nfailures; k++) {
            free(v->failures[k].message);
            free(v->failures[k].checks);
        }
        free(v->metrics);
        free(v->failures);
        free(v->checks);
        free(v->name);
    }
    free(s->variants);
    free(s->scenario);
    free(s->scenario_hash);
    free(s->binary);
    free(s->variant);
    memset(s, 0, sizeof *s);
}

int swp_exit_code(const swp_sweep *s)
{
    if (!s->complete)
        return sim_exit_code(SIM_EINTR);
    int worst = SIM_EXIT_OK;
    for (size_t i = 0; i < s->nvariants; i++) {
        const swp_variant *v = &s->variants[i];
        for (size_t k = 0; k < v->nfailures; k++) {
            const swp_failure *f = &v->failures[k];
            if (f->err == SIM_EINTR)
                return sim_exit_code(SIM_EINTR);
            int code = f->status == RES_ERROR ? sim_exit_code(f->err ? f->err : SIM_ECHILD)
                                              : SIM_EXIT_CHECK_FAILED;
            if (code > worst)
                worst = code;
        }
    }
    return worst;
}

void swp_reproduce(const swp_sweep *s, const swp_variant *v, const swp_failure *f, char *buf,
                   size_t len)
{
    buf[0] = '\0';
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, f->seed);
    const char *words[] = {
        s->prog ? s->prog : "edgeloss", "run", s->scenario, "--variant", v->name, "--seed", seed,
        s->swarm ? "--swarm" : NULL};
    for (size_t i = 0; i < sizeof words / sizeof *words && words[i]; i++)
        res_shell_arg(buf, len, words[i]);
    if (buf[0] == ' ')
        memmove(buf, buf + 1, strlen(buf)); /* res_shell_arg puts a space before each word */
}

/* The first check that did not pass, or NULL. */
static const check_result *first_failing(const swp_failure *f)
{
    for (size_t i = 0; i < f->nchecks; i++)
        if (!f->checks[i].pass)
            return &f->checks[i];
    return NULL;
}

/* The swarm's families as words: "network on, runtime off". */
static void swarm_words(unsigned present, unsigned on, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned f = 0; f < FLT_FAM_COUNT; f++)
        if (present >> f & 1)
            used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s %s",
                                     used ? ", " : "", flt_family_name((flt_family)f),
                                     on >> f & 1 ? "on" : "off");
    if (!used)
        snprintf(buf, len, "no fault rules");
}

/* ---------------------------------------------------------------- the terminal */

static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, name, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

static bool shown(const swp_variant *v, const char *name, const char *extra)
{
    if (strcmp(name, "items") == 0 || strcmp(name, "lost") == 0 ||
        strcmp(name, "loss_ratio") == 0 || listed(extra, name))
        return true;
    for (size_t i = 0; i < v->nchecks; i++)
        if (strcmp(v->checks[i].name, name) == 0)
            return true;
    return false;
}

static void print_range(const swp_sweep *s, FILE *out)
{
    uint64_t a = s->first, b = s->last;
    if (s->shard.count > 1 && !swp_slice(s->first, s->last, s->shard, &a, &b))
        fputs("no seeds", out); /* more shards than seeds: this one's slice is empty */
    else
        fprintf(out, "seeds %" PRIu64 "..%" PRIu64, a, b);
    if (s->shard.count > 1)
        fprintf(out, " (shard %u of %u, 0-based, of seeds %" PRIu64 "..%" PRIu64 ")",
                s->shard.index, s->shard.count, s->first, s->last);
}

void swp_print(const swp_sweep *s, FILE *out, const char *extra, size_t max_failures)
{
    uint64_t runs = 0;
    for (size_t i = 0; i < s->nvariants; i++)
        runs += s->variants[i].runs;
    fprintf(out, "sweep %s: ", s->scenario);
    print_range(s, out);
    fprintf(out, ", %" PRIu64 " runs%s%s\n", runs, s->swarm ? ", swarm" : "",
            s->complete ? "" : " (interrupted: incomplete)");
    char cmd[2048], words[128];
    for (size_t i = 0; i < s->nvariants; i++) {
        const swp_variant *v = &s->variants[i];
        fprintf(out,
                "\nvariant %s: %" PRIu64 " runs: %" PRIu64 " pass, %" PRIu64 " fail, %" PRIu64
                " unverified, %" PRIu64 " error\n",
                v->name, v->runs, v->status[RES_PASS], v->status[RES_FAIL],
                v->status[RES_UNVERIFIED], v->status[RES_ERROR]);
        for (size_t c = 0; c < v->nchecks; c++)
            fprintf(out, "  %-6s %s: failed on %" PRIu64 " of %" PRIu64 " seeds\n",
                    v->checks[c].failed ? "FAIL" : "PASS", v->checks[c].name, v->checks[c].failed,
                    v->runs - v->status[RES_ERROR]);
        if (v->nfailures)
            fprintf(out, "  seeds that did not pass%s:\n",
                    v->nfailures > max_failures ? " (the first ones)" : "");
        for (size_t k = 0; k < v->nfailures && k < max_failures; k++) {
            const swp_failure *f = &v->failures[k];
            const check_result *c = first_failing(f);
            fprintf(out, "    seed %" PRIu64 ": ", f->seed);
            if (f->status == RES_ERROR)
                fprintf(out, "error %s: %s\n", sim_err_name(f->err),
                        f->message ? f->message : sim_strerror(f->err));
            else if (c)
                fprintf(out, "%s: expected %s, measured %s\n", c->check, c->expected, c->detail);
            else
                fprintf(out, "unverified: no ingest database to decide fates\n");
            if (s->swarm) {
                swarm_words(v->swarm_present, f->swarm_on, words, sizeof words);
                fprintf(out, "      swarm: %s\n", words);
            }
            swp_reproduce(s, v, f, cmd, sizeof cmd);
            fprintf(out, "      reproduce: %s\n", cmd);
        }
        if (v->nfailures > max_failures)
            fprintf(out, "    ... and %zu more (the JSON lists every one)\n",
                    v->nfailures - max_failures);
        bool head = false;
        for (size_t k = 0; k < v->nmetrics; k++) {
            const swp_metric *m = &v->metrics[k];
            swp_dist d;
            if (!shown(v, m->name, extra))
                continue;
            if (!head)
                fprintf(out, "  %-28s %12s %12s %12s %12s %8s\n", "metric (nearest rank)", "min",
                        "p50", "p99", "max", "seeds");
            head = true;
            if (!swp_distribution(m, &d)) {
                fprintf(out, "  %-28s %12s %12s %12s %12s %8d\n", m->name, "-", "-", "-", "-", 0);
                continue;
            }
            fprintf(out, "  %-28s %12.6g %12.6g %12.6g %12.6g %8" PRIu64 "\n", m->name, d.min,
                    d.p50, d.p99, d.max, d.seeds);
        }
        const swp_metric *lr = NULL;
        for (size_t k = 0; k < v->nmetrics; k++)
            if (strcmp(v->metrics[k].name, "loss_ratio") == 0)
                lr = &v->metrics[k];
        swp_dist d;
        if (lr && swp_distribution(lr, &d))
            fprintf(out, "  loss <= %.4g%% on 99%% of seeds, <= %.4g%% on half; worst %.4g%%\n",
                    100 * d.p99, 100 * d.p50, 100 * d.max);
    }
    fprintf(out, "\n%s\n",
            swp_exit_code(s) == 0 ? "every seed passes every check" : "some seeds did not pass");
}

/* ---------------------------------------------------------------- JSON */

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRIu64, v); /* exact past 2^53 */
    cJSON_AddRawToObject(o, k, digits);
}

/* A value as the shortest text that reads back as the same double. cJSON's own printing
 * settles for 15 digits whenever they come within DBL_EPSILON of the value, which moves
 * some values by an ulp and makes neighbours one value: not what a merge can use. */
static cJSON *exact_number(double v)
{
    char text[40];
    if (!isfinite(v))
        return cJSON_CreateNull(); /* never kept: swp_add and the reader leave them out */
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(text);
}

static cJSON *swarm_json(unsigned present, unsigned on)
{
    cJSON *o = cJSON_CreateObject();
    for (unsigned f = 0; f < FLT_FAM_COUNT; f++)
        if (present >> f & 1)
            cJSON_AddBoolToObject(o, flt_family_name((flt_family)f), on >> f & 1);
    return o;
}

static cJSON *failure_json(const swp_sweep *s, const swp_variant *v, const swp_failure *f)
{
    cJSON *j = cJSON_CreateObject();
    add_u64(j, "seed", f->seed);
    cJSON_AddStringToObject(j, "status", res_status_name(f->status));
    if (f->err != SIM_OK) {
        cJSON *e = cJSON_AddObjectToObject(j, "error");
        cJSON_AddStringToObject(e, "code", sim_err_name(f->err));
        cJSON_AddNumberToObject(e, "exit", sim_exit_code(f->err));
        cJSON_AddStringToObject(e, "message", f->message ? f->message : sim_strerror(f->err));
    } else {
        cJSON_AddNullToObject(j, "error");
    }
    const check_result *c = first_failing(f);
    if (c)
        cJSON_AddStringToObject(j, "first_failing", c->check);
    else
        cJSON_AddNullToObject(j, "first_failing");
    if (s->swarm)
        cJSON_AddItemToObject(j, "swarm", swarm_json(v->swarm_present, f->swarm_on));
    cJSON *a = cJSON_AddArrayToObject(j, "checks");
    for (size_t i = 0; i < f->nchecks; i++)
        cJSON_AddItemToArray(a, sum_check_json(&f->checks[i]));
    char cmd[2048];
    swp_reproduce(s, v, f, cmd, sizeof cmd);
    cJSON_AddStringToObject(j, "reproduce", cmd);
    return j;
}

static cJSON *status_json(const uint64_t *status, uint64_t runs)
{
    cJSON *o = cJSON_CreateObject();
    add_u64(o, "runs", runs);
    for (int st = RES_PASS; st <= RES_ERROR; st++)
        add_u64(o, res_status_name((res_status)st), status[st]);
    return o;
}

/* The part both documents share; `raw` adds what a merge needs. */
static cJSON *sweep_json(const swp_sweep *s, bool raw)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "schema_version", SWP_SCHEMA_VERSION);
    cJSON_AddStringToObject(j, "kind", raw ? "edgeloss sweep result" : "edgeloss sweep");
    cJSON_AddBoolToObject(j, "complete", s->complete);
    if (!raw)
        cJSON_AddNumberToObject(j, "exit_code", swp_exit_code(s));
    cJSON_AddStringToObject(j, "scenario", s->scenario);
    cJSON_AddStringToObject(j, "scenario_hash", s->scenario_hash);
    cJSON_AddStringToObject(j, "binary", s->binary);
    if (s->variant)
        cJSON_AddStringToObject(j, "variant", s->variant);
    else
        cJSON_AddNullToObject(j, "variant");
    cJSON *seeds = cJSON_AddObjectToObject(j, "seeds");
    add_u64(seeds, "first", s->first);
    add_u64(seeds, "last", s->last);
    cJSON_AddBoolToObject(j, "swarm", s->swarm);
    if (raw) {
        cJSON *sh = cJSON_AddObjectToObject(j, "shard");
        cJSON_AddNumberToObject(sh, "index", s->shard.index);
        cJSON_AddNumberToObject(sh, "count", s->shard.count);
    }
    uint64_t total[4] = {0}, runs = 0;
    for (size_t i = 0; i < s->nvariants; i++) {
        runs += s->variants[i].runs;
        for (int st = 0; st < 4; st++)
            total[st] += s->variants[i].status[st];
    }
    cJSON_AddItemToObject(j, "totals", status_json(total, runs));
    cJSON *vs = cJSON_AddArrayToObject(j, "variants");
    for (size_t i = 0; i < s->nvariants; i++) {
        const swp_variant *v = &s->variants[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToArray(vs, x);
        cJSON_AddStringToObject(x, "variant", v->name);
        cJSON_AddItemToObject(x, "totals", status_json(v->status, v->runs));
        add_u64(x, "metric_runs", v->metric_runs);
        if (s->swarm) {
            cJSON *fam = cJSON_AddArrayToObject(x, "swarm_families");
            for (unsigned f = 0; f < FLT_FAM_COUNT; f++)
                if (v->swarm_present >> f & 1)
                    cJSON_AddItemToArray(fam, cJSON_CreateString(flt_family_name((flt_family)f)));
        }
        cJSON *cs = cJSON_AddArrayToObject(x, "checks");
        for (size_t c = 0; c < v->nchecks; c++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "check", v->checks[c].name);
            add_u64(o, "failed_seeds", v->checks[c].failed);
            cJSON_AddItemToArray(cs, o);
        }
        cJSON *ms = cJSON_AddObjectToObject(x, "metrics");
        for (size_t k = 0; k < v->nmetrics; k++) {
            const swp_metric *m = &v->metrics[k];
            cJSON *o = cJSON_AddObjectToObject(ms, m->name);
            add_u64(o, "seeds", m->seeds);
            add_u64(o, "empty", m->empty);
            swp_dist d;
            if (raw) {
                cJSON *vals = cJSON_AddArrayToObject(o, "values");
                for (size_t q = 0; q < m->nvals; q++) {
                    cJSON *pair = cJSON_CreateArray();
                    cJSON_AddItemToArray(pair, exact_number(m->vals[q].v));
                    char digits[24];
                    snprintf(digits, sizeof digits, "%" PRIu64, m->vals[q].n);
                    cJSON_AddItemToArray(pair, cJSON_CreateRaw(digits));
                    cJSON_AddItemToArray(vals, pair);
                }
            } else if (swp_distribution(m, &d)) {
                cJSON_AddNumberToObject(o, "min", d.min);
                cJSON_AddNumberToObject(o, "p50", d.p50);
                cJSON_AddNumberToObject(o, "p90", d.p90);
                cJSON_AddNumberToObject(o, "p99", d.p99);
                cJSON_AddNumberToObject(o, "max", d.max);
            } else {
                static const char *const none[] = {"min", "p50", "p90", "p99", "max"};
                for (size_t q = 0; q < 5; q++)
                    cJSON_AddNullToObject(o, none[q]);
            }
        }
        cJSON *fs = cJSON_AddArrayToObject(x, "failures");
        for (size_t k = 0; k < v->nfailures; k++)
            cJSON_AddItemToArray(fs, failure_json(s, v, &v->failures[k]));
    }
    return j;
}

cJSON *swp_json(const swp_sweep *s)
{
    return sweep_json(s, false);
}

cJSON *swp_result_json(const swp_sweep *s)
{
    return sweep_json(s, true);
}

/* ---------------------------------------------------------------- JUnit */

void swp_write_junit(const swp_sweep *s, FILE *out)
{
    size_t tests = 0, failures = 0, errors = 0;
    for (size_t i = 0; i < s->nvariants; i++) {
        const swp_variant *v = &s->variants[i];
        tests += v->nchecks + (v->status[RES_ERROR] || v->status[RES_UNVERIFIED] || !v->nchecks);
        for (size_t c = 0; c < v->nchecks; c++)
            failures += v->checks[c].failed > 0;
        errors += v->status[RES_ERROR] > 0;
        failures += !v->status[RES_ERROR] && v->status[RES_UNVERIFIED] > 0;
    }
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"edgeloss sweep\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "time=\"0.000\">\n",
            tests, failures, errors);
    char cmd[2048], range[64];
    snprintf(range, sizeof range, "seeds %" PRIu64 "..%" PRIu64, s->first, s->last);
    for (size_t i = 0; i < s->nvariants; i++) {
        const swp_variant *v = &s->variants[i];
        bool runs_case = v->status[RES_ERROR] || v->status[RES_UNVERIFIED] || !v->nchecks;
        size_t nf = 0;
        for (size_t c = 0; c < v->nchecks; c++)
            nf += v->checks[c].failed > 0;
        bool err = v->status[RES_ERROR] > 0;
        nf += !err && v->status[RES_UNVERIFIED] > 0;
        fputs("  <testsuite name=\"", out);
        res_xml(out, s->scenario);
        fputs(" (", out);
        res_xml(out, v->name);
        fprintf(out, ", %s)\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" time=\"0.000\">\n",
                range, v->nchecks + runs_case, nf, err);
        for (size_t c = 0; c < v->nchecks; c++) {
            const swp_check *ch = &v->checks[c];
            fputs("    <testcase classname=\"", out);
            res_xml(out, v->name);
            fputs("\" name=\"", out);
            res_xml(out, ch->name);
            fputs("\" time=\"0.000\"", out);
            if (!ch->failed) {
                fputs("/>\n", out);
                continue;
            }
            fprintf(out,
                    ">\n      <failure type=\"check\" message=\"failed on %" PRIu64 " of %" PRIu64
                    " seeds\">",
                    ch->failed, v->runs - v->status[RES_ERROR]);
            for (size_t k = 0; k < v->nfailures; k++) {
                const swp_failure *f = &v->failures[k];
                for (size_t q = 0; q < f->nchecks; q++) {
                    const check_result *r = &f->checks[q];
                    if (r->pass || strcmp(r->check, ch->name) != 0)
                        continue;
                    fprintf(out, "seed %" PRIu64 ": expected ", f->seed);
                    res_xml(out, r->expected);
                    fputs(", measured ", out);
                    res_xml(out, r->detail);
                    swp_reproduce(s, v, f, cmd, sizeof cmd);
                    fputs("\nreproduce: ", out);
                    res_xml(out, cmd);
                    fputs("\n", out);
                    break;
                }
            }
            fputs("</failure>\n    </testcase>\n", out);
        }
        if (runs_case) {
            fputs("    <testcase classname=\"", out);
            res_xml(out, v->name);
            fputs("\" name=\"runs\" time=\"0.000\"", out);
            if (!v->status[RES_ERROR] && !v->status[RES_UNVERIFIED]) {
                fputs("/>\n", out);
            } else {
                const swp_failure *first = NULL;
                for (size_t k = 0; k < v->nfailures && !first; k++)
                    if (v->failures[k].status == (err ? RES_ERROR : RES_UNVERIFIED))
                        first = &v->failures[k];
                assert(first);
                fprintf(out,
                        ">\n      <%s type=\"%s\" message=\"%" PRIu64 " of %" PRIu64 " seeds %s\">",
                        err ? "error" : "failure", err ? sim_err_name(first->err) : "unverified",
                        err ? v->status[RES_ERROR] : v->status[RES_UNVERIFIED], v->runs,
                        err ? "could not run" : "could not be verified");
                for (size_t k = 0; k < v->nfailures; k++) {
                    const swp_failure *f = &v->failures[k];
                    if (f->status != RES_ERROR && (err || f->status != RES_UNVERIFIED))
                        continue;
                    fprintf(out, "seed %" PRIu64 ": ", f->seed);
                    res_xml(out, f->status == RES_ERROR ? sim_err_name(f->err) : "unverified");
                    fputs(": ", out);
                    res_xml(out, f->message               ? f->message
                                 : f->status == RES_ERROR ? sim_strerror(f->err)
                                                          : "no ingest database to decide fates");
                    swp_reproduce(s, v, f, cmd, sizeof cmd);
                    fputs("\nreproduce: ", out);
                    res_xml(out, cmd);
                    fputs("\n", out);
                }
                fprintf(out, "</%s>\n    </testcase>\n", err ? "error" : "failure");
            }
        }
        fputs("  </testsuite>\n", out);
    }
    fputs("</testsuites>\n", out);
}

/* ---------------------------------------------------------------- reading a result file */

typedef struct rd {
    const char *file;
    char *err;
    size_t errlen;
} rd;

static sim_err rd_fail(rd *r, const char *path, const char *expected)
{
    snprintf(r->err, r->errlen, "%s: %s: expected %s", r->file, path, expected);
    return SIM_EINPUT;
}

/* Member `key` of `o` of the type `is` checks, or NULL after writing the error. */
static const cJSON *rd_get(rd *r, const cJSON *o, const char *path, const char *key,
                           cJSON_bool (*is)(const cJSON *), const char *what)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!x || !is(x)) {
        char p[256], e[128];
        snprintf(p, sizeof p, "%s.%s", path, key);
        snprintf(e, sizeof e, "%s", what);
        rd_fail(r, p, e);
        return NULL;
    }
    return x;
}

/* A whole number, exact (written raw, so read it from its text when cJSON kept it). */
static bool rd_u64(rd *r, const cJSON *o, const char *path, const char *key, uint64_t max,
                   uint64_t *out)
{
    const cJSON *x = rd_get(r, o, path, key, cJSON_IsNumber, "a whole number");
    if (!x)
        return false;
    double d = x->valuedouble;
    if (!(d >= 0 && d <= (double)max && d == floor(d)) || d > 9007199254740991.0) {
        char p[256];
        snprintf(p, sizeof p, "%s.%s", path, key);
        rd_fail(r, p, "a whole number from 0 to 2^53 - 1 within its bounds");
        return false;
    }
    *out = (uint64_t)d;
    return true;
}

static sim_err err_code(const char *name)
{
    for (int e = 0; e < SIM_ERR_COUNT; e++)
        if (strcmp(sim_err_name(e), name) == 0)
            return (sim_err)e;
    return SIM_ERR_COUNT;
}

static int status_code(const char *name)
{
    for (int st = RES_PASS; st <= RES_ERROR; st++)
        if (strcmp(res_status_name((res_status)st), name) == 0)
            return st;
    return -1;
}

static sim_err rd_failure(rd *r, const cJSON *o, const char *path, swp_variant *v)
{
    if (!cJSON_IsObject(o))
        return rd_fail(r, path, "an object (a run that did not pass)");
    swp_failure *f = failure_add(v);
    const cJSON *st =
        rd_get(r, o, path, "status", cJSON_IsString, "\"fail\", \"unverified\" or \"error\"");
    if (!rd_u64(r, o, path, "seed", SEED_MAX, &f->seed) || !st)
        return SIM_EINPUT;
    int code = status_code(st->valuestring);
    if (code <= RES_PASS) {
        char p[256];
        snprintf(p, sizeof p, "%s.status", path);
        return rd_fail(r, p, "\"fail\", \"unverified\" or \"error\"");
    }
    f->status = (res_status)code;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (f->status == RES_ERROR) {
        char p[256];
        snprintf(p, sizeof p, "%s.error", path);
        const cJSON *c =
            cJSON_IsObject(e) ? rd_get(r, e, p, "code", cJSON_IsString, "an error code") : NULL;
        const cJSON *m = c ? rd_get(r, e, p, "message", cJSON_IsString, "a string") : NULL;
        if (!c || !m) {
            if (!cJSON_IsObject(e))
                rd_fail(r, p, "an object (code, exit, message) for a run that could not run");
            return SIM_EINPUT;
        }
        f->err = err_code(c->valuestring);
        if (f->err == SIM_ERR_COUNT || f->err == SIM_OK) {
            snprintf(p, sizeof p, "%s.error.code", path);
            return rd_fail(r, p, "an error code of the vocabulary (EINPUT, ECHILD, ...)");
        }
        f->message = xstrdup(m->valuestring);
    } else if (!cJSON_IsNull(e)) {
        char p[256];
        snprintf(p, sizeof p, "%s.error", path);
        return rd_fail(r, p, "null for a run that ran");
    }
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(o, "swarm");
    for (unsigned fam = 0; sw && fam < FLT_FAM_COUNT; fam++)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sw, flt_family_name((flt_family)fam))))
            f->swarm_on |= 1u << fam;
    const cJSON *cs = rd_get(r, o, path, "checks", cJSON_IsArray, "an array of check results");
    if (!cs)
        return SIM_EINPUT;
    int n = cJSON_GetArraySize(cs);
    f->checks = xcalloc((size_t)n, sizeof *f->checks);
    const cJSON *c;
    cJSON_ArrayForEach(c, cs)
    {
        if (sum_check_from_json(c, &f->checks[f->nchecks])) {
            char p[256];
            snprintf(p, sizeof p, "%s.checks[%zu]", path, f->nchecks);
            return rd_fail(r, p, "a check result (check, pass, holds, expected, measured, ...)");
        }
        f->nchecks++;
    }
    return SIM_OK;
}

static sim_err rd_variant(rd *r, const cJSON *o, const char *path, swp_sweep *s)
{
    if (!cJSON_IsObject(o))
        return rd_fail(r, path, "an object (a variant)");
    const cJSON *name = rd_get(r, o, path, "variant", cJSON_IsString, "the variant's name");
    if (!name)
        return SIM_EINPUT;
    size_t before = s->nvariants, vi = swp_variant_at(s, name->valuestring);
    swp_variant *v = &s->variants[vi]; /* (after the call: it may move the array) */
    if (s->nvariants == before)
        return rd_fail(r, path, "each variant once");
    char p[256];
    snprintf(p, sizeof p, "%s.totals", path);
    const cJSON *t = rd_get(r, o, path, "totals", cJSON_IsObject, "an object");
    if (!t || !rd_u64(r, t, p, "runs", SWP_MAX_SEEDS, &v->runs))
        return SIM_EINPUT;
    uint64_t sum = 0;
    for (int st = RES_PASS; st <= RES_ERROR; st++) {
        if (!rd_u64(r, t, p, res_status_name((res_status)st), SWP_MAX_SEEDS, &v->status[st]))
            return SIM_EINPUT;
        sum += v->status[st];
    }
    if (sum != v->runs)
        return rd_fail(r, p, "counts by status that add up to runs");
    if (!rd_u64(r, o, path, "metric_runs", v->runs, &v->metric_runs))
        return SIM_EINPUT;
    const cJSON *fam = cJSON_GetObjectItemCaseSensitive(o, "swarm_families"), *x;
    cJSON_ArrayForEach(x, fam)
    {
        for (unsigned f = 0; f < FLT_FAM_COUNT; f++)
            if (cJSON_IsString(x) && strcmp(x->valuestring, flt_family_name((flt_family)f)) == 0)
                v->swarm_present |= 1u << f;
    }
    const cJSON *cs = rd_get(r, o, path, "checks", cJSON_IsArray, "an array");
    if (!cs)
        return SIM_EINPUT;
    size_t i = 0;
    cJSON_ArrayForEach(x, cs)
    {
        snprintf(p, sizeof p, "%s.checks[%zu]", path, i++);
        const cJSON *cn = rd_get(r, x, p, "check", cJSON_IsString, "a check's name");
        uint64_t failed;
        if (!cn || !rd_u64(r, x, p, "failed_seeds", v->runs, &failed))
            return SIM_EINPUT;
        check_of(v, cn->valuestring)->failed = failed;
    }
    const cJSON *ms = rd_get(r, o, path, "metrics", cJSON_IsObject, "an object");
    if (!ms)
        return SIM_EINPUT;
    cJSON_ArrayForEach(x, ms)
    {
        snprintf(p, sizeof p, "%s.metrics.%.100s", path, x->string);
        if (!cJSON_IsObject(x))
            return rd_fail(r, p, "an object (seeds, empty, values)");
        swp_metric *m = metric_of(v, x->string);
        uint64_t seeds;
        if (!rd_u64(r, x, p, "seeds", v->runs, &seeds) ||
            !rd_u64(r, x, p, "empty", v->runs, &m->empty))
            return SIM_EINPUT;
        const cJSON *vals = rd_get(r, x, p, "values", cJSON_IsArray, "an array of [value, count]");
        if (!vals)
            return SIM_EINPUT;
        const cJSON *pair;
        double prev = -INFINITY;
        cJSON_ArrayForEach(pair, vals)
        {
            const cJSON *a = cJSON_GetArrayItem(pair, 0), *b = cJSON_GetArrayItem(pair, 1);
            if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsNumber(a) ||
                !cJSON_IsNumber(b) || !isfinite(a->valuedouble) || !(a->valuedouble > prev) ||
                !(b->valuedouble >= 1) || b->valuedouble != floor(b->valuedouble) ||
                b->valuedouble > (double)v->runs)
                return rd_fail(r, p,
                               "values: [value, count] pairs, values increasing, counts from 1");
            prev = a->valuedouble;
            metric_put(m, a->valuedouble, (uint64_t)b->valuedouble);
        }
        if (m->seeds != seeds || seeds + m->empty > v->metric_runs)
            return rd_fail(r, p,
                           "seeds equal to the values' counts, with empty at most metric_runs");
    }
    const cJSON *fs = rd_get(r, o, path, "failures", cJSON_IsArray, "an array");
    if (!fs)
        return SIM_EINPUT;
    i = 0;
    cJSON_ArrayForEach(x, fs)
    {
        snprintf(p, sizeof p, "%s.failures[%zu]", path, i++);
        sim_err rc = rd_failure(r, x, p, v);
        if (rc)
            return rc;
    }
    if (v->nfailures != v->runs - v->status[RES_PASS])
        return rd_fail(r, path, "one entry in failures per run that did not pass");
    /* The renderings find each status's runs among the failures (JUnit's first error). */
    uint64_t by[4] = {0};
    for (size_t k = 0; k < v->nfailures; k++)
        by[v->failures[k].status]++;
    for (int st = RES_FAIL; st <= RES_ERROR; st++)
        if (by[st] != v->status[st])
            return rd_fail(r, path, "failures whose statuses agree with the totals");
    return SIM_OK;
}

sim_err swp_result_from_json(const cJSON *j, const char *file, swp_sweep *out, char *err,
                             size_t errlen)
{
    memset(out, 0, sizeof *out);
    rd r = {file, err, errlen};
    if (!cJSON_IsObject(j))
        return rd_fail(&r, "$", "an object (an edgeloss sweep result file)");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "edgeloss sweep result") != 0)
        return rd_fail(&r, "$.kind",
                       "\"edgeloss sweep result\" (a file written by sweep --result; the "
                       "--json summary cannot be merged)");
    uint64_t version, idx, cnt;
    if (!rd_u64(&r, j, "$", "schema_version", 1000, &version))
        return SIM_EINPUT;
    if (version != SWP_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "%s: $.schema_version: %" PRIu64 ", this edgeloss reads version %d only", file,
                 version, SWP_SCHEMA_VERSION);
        return SIM_EINPUT;
    }
    const cJSON *sc = rd_get(&r, j, "$", "scenario", cJSON_IsString, "a string");
    const cJSON *h = sc ? rd_get(&r, j, "$", "scenario_hash", cJSON_IsString, "a string") : NULL;
    const cJSON *b = h ? rd_get(&r, j, "$", "binary", cJSON_IsString, "a string") : NULL;
    const cJSON *c = b ? rd_get(&r, j, "$", "complete", cJSON_IsBool, "true or false") : NULL;
    const cJSON *sw = c ? rd_get(&r, j, "$", "swarm", cJSON_IsBool, "true or false") : NULL;
    const cJSON *seeds = sw ? rd_get(&r, j, "$", "seeds", cJSON_IsObject, "an object") : NULL;
    const cJSON *sh = seeds ? rd_get(&r, j, "$", "shard", cJSON_IsObject, "an object") : NULL;
    const cJSON *vs = sh ? rd_get(&r, j, "$", "variants", cJSON_IsArray, "an array") : NULL;
    const cJSON *var = cJSON_GetObjectItemCaseSensitive(j, "variant");
    if (!vs || !rd_u64(&r, seeds, "$.seeds", "first", SEED_MAX, &out->first) ||
        !rd_u64(&r, seeds, "$.seeds", "last", SEED_MAX, &out->last) ||
        !rd_u64(&r, sh, "$.shard", "count", SWP_MAX_SHARDS, &cnt) ||
        !rd_u64(&r, sh, "$.shard", "index", SWP_MAX_SHARDS, &idx))
        return SIM_EINPUT;
    if (!cJSON_IsString(var) && !cJSON_IsNull(var))
        return rd_fail(&r, "$.variant", "a variant's name or null");
    if (out->last < out->first || out->last - out->first >= SWP_MAX_SEEDS)
        return rd_fail(&r, "$.seeds", "first <= last, at most 10^8 seeds");
    if (cnt < 1 || idx >= cnt)
        return rd_fail(&r, "$.shard", "0 <= index < count");
    out->scenario = xstrdup(sc->valuestring);
    out->scenario_hash = xstrdup(h->valuestring);
    out->binary = xstrdup(b->valuestring);
    out->variant = cJSON_IsString(var) ? xstrdup(var->valuestring) : NULL;
    out->complete = cJSON_IsTrue(c);
    out->swarm = cJSON_IsTrue(sw);
    out->shard = (swp_shard){(uint32_t)idx, (uint32_t)cnt, "--shard"};
    const cJSON *v;
    size_t i = 0;
    cJSON_ArrayForEach(v, vs)
    {
        char p[64];
        snprintf(p, sizeof p, "$.variants[%zu]", i++);
        sim_err rc = rd_variant(&r, v, p, out);
        if (rc)
            return rc;
    }
    uint64_t a = 0, z = 0;
    uint64_t want = swp_slice(out->first, out->last, out->shard, &a, &z) ? z - a + 1 : 0;
    for (size_t k = 0; k < out->nvariants; k++) {
        const swp_variant *x = &out->variants[k];
        for (size_t q = 0; q < x->nfailures; q++)
            if (x->failures[q].seed < a || x->failures[q].seed > z || want == 0 ||
                (q && x->failures[q].seed <= x->failures[q - 1].seed)) {
                char p[64];
                snprintf(p, sizeof p, "$.variants[%zu].failures[%zu].seed", k, q);
                return rd_fail(&r, p, "seeds in increasing order within the shard's slice");
            }
        if (out->complete && x->runs != want) {
            char p[64];
            snprintf(p, sizeof p, "$.variants[%zu].totals.runs", k);
            return rd_fail(&r, p, "one run per seed of the shard's slice (the file says complete)");
        }
    }
    return SIM_OK;
}

/* ---------------------------------------------------------------- merging */

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void merge_variant(swp_variant *into, const swp_variant *from)
{
    into->runs += from->runs;
    into->metric_runs += from->metric_runs;
    for (int st = 0; st < 4; st++)
        into->status[st] += from->status[st];
    into->swarm_present |= from->swarm_present;
    for (size_t c = 0; c < from->nchecks; c++)
        check_of(into, from->checks[c].name)->failed += from->checks[c].failed;
    for (size_t k = 0; k < from->nmetrics; k++) {
        const swp_metric *m = &from->metrics[k];
        swp_metric *x = metric_of(into, m->name);
        x->empty += m->empty;
        for (size_t q = 0; q < m->nvals; q++)
            metric_put(x, m->vals[q].v, m->vals[q].n);
    }
    for (size_t k = 0; k < from->nfailures; k++) {
        const swp_failure *f = &from->failures[k];
        swp_failure *g = failure_add(into);
        *g = *f;
        g->message = xstrdup(f->message);
        g->checks = NULL;
        if (f->nchecks) {
            g->checks = xcalloc(f->nchecks, sizeof *g->checks);
            memcpy(g->checks, f->checks, f->nchecks * sizeof *g->checks);
        }
    }
}

/* What a shard says of the sweep it belongs to, field by field. */
static const char *const field_names[] = {
    "scenario files", "scenario contents", "edgeloss binaries", "seed ranges",
    "--variant",      "--swarm",           "shard counts",      "variants"};

static void field_text(const swp_sweep *x, int f, char *buf, size_t len)
{
    switch (f) {
    case 0:
        snprintf(buf, len, "%s", x->scenario);
        break;
    case 1:
        snprintf(buf, len, "%s", x->scenario_hash);
        break;
    case 2:
        snprintf(buf, len, "%s", x->binary);
        break;
    case 3:
        snprintf(buf, len, "seeds %" PRIu64 "..%" PRIu64, x->first, x->last);
        break;
    case 4:
        snprintf(buf, len, "%s", x->variant ? x->variant : "every variant");
        break;
    case 5:
        snprintf(buf, len, "%s", x->swarm ? "on" : "off");
        break;
    case 6:
        snprintf(buf, len, "%u shards", x->shard.count);
        break;
    default: {
        size_t used = 0;
        snprintf(buf, len, "none");
        for (size_t i = 0; i < x->nvariants && used + 1 < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s\"%s\"", i ? ", " : "",
                                     x->variants[i].name);
        break;
    }
    }
}

/* The same variants in the same order (every shard lists each, with or without seeds). */
static bool same_variants(const swp_sweep *a, const swp_sweep *b)
{
    if (a->nvariants != b->nvariants)
        return false;
    for (size_t i = 0; i < a->nvariants; i++)
        if (strcmp(a->variants[i].name, b->variants[i].name) != 0)
            return false;
    return true;
}

/* The first field two shards differ in, or -1. */
static int differs(const swp_sweep *a, const swp_sweep *b)
{
    return !same_str(a->scenario, b->scenario)             ? 0
           : !same_str(a->scenario_hash, b->scenario_hash) ? 1
           : !same_str(a->binary, b->binary)               ? 2
           : a->first != b->first || a->last != b->last    ? 3
           : !same_str(a->variant, b->variant)             ? 4
           : a->swarm != b->swarm                          ? 5
           : a->shard.count != b->shard.count              ? 6
           : !same_variants(a, b)                          ? 7
                                                           : -1;
}

sim_err swp_merge(swp_sweep *const *shards, const char *const *files, size_t n, swp_sweep *out,
                  char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (n == 0) {
        snprintf(err, errlen, "no result files to merge");
        return SIM_EUSAGE;
    }
    const swp_sweep *a = shards[0];
    bool *seen = xcalloc(a->shard.count, sizeof *seen);
    sim_err rc = SIM_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        const swp_sweep *b = shards[i];
        int what = differs(a, b);
        if (what >= 0) {
            char x[512], y[512];
            field_text(a, what, x, sizeof x);
            field_text(b, what, y, sizeof y);
            snprintf(err, errlen,
                     "%s and %s are shards of different sweeps: their %s differ (%s and %s)",
                     files[0], files[i], field_names[what], x, y);
            rc = SIM_EINPUT;
        } else if (seen[b->shard.index]) {
            snprintf(err, errlen, "%s: shard %u of %u is given twice", files[i], b->shard.index,
                     b->shard.count);
            rc = SIM_EINPUT;
        } else if (!b->complete) {
            snprintf(err, errlen,
                     "%s: shard %u of %u was interrupted (\"complete\": false): run it again",
                     files[i], b->shard.index, b->shard.count);
            rc = SIM_EINPUT;
        }
        if (!rc)
            seen[b->shard.index] = true;
    }
    for (uint32_t k = 0; k < a->shard.count && !rc; k++) {
        uint64_t x, y;
        if (!seen[k] &&
            swp_slice(a->first, a->last, (swp_shard){k, a->shard.count, NULL}, &x, &y)) {
            snprintf(err, errlen,
                     "shard %u of %u (seeds %" PRIu64 "..%" PRIu64 ") is missing: merge every "
                     "shard of the sweep",
                     k, a->shard.count, x, y);
            rc = SIM_EINPUT;
        }
    }
    free(seen);
    if (rc)
        return rc;
    out->scenario = xstrdup(a->scenario);
    out->scenario_hash = xstrdup(a->scenario_hash);
    out->binary = xstrdup(a->binary);
    out->variant = xstrdup(a->variant);
    out->first = a->first;
    out->last = a->last;
    out->swarm = a->swarm;
    out->shard = (swp_shard){0, 1, "merge"};
    out->complete = true;
    out->prog = a->prog;
    /* Variants in the first shard's order: every shard ran them in the file's order. */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < shards[i]->nvariants; k++) {
            size_t vi = swp_variant_at(out, shards[i]->variants[k].name);
            merge_variant(&out->variants[vi], &shards[i]->variants[k]);
        }
    swp_finish(out);
    for (size_t k = 0; k < out->nvariants; k++)
        if (out->variants[k].runs != out->last - out->first + 1) {
            snprintf(err, errlen,
                     "the shards hold %" PRIu64 " runs of variant \"%s\", not one per seed of "
                     "%" PRIu64 "..%" PRIu64,
                     out->variants[k].runs, out->variants[k].name, out->first, out->last);
            swp_free(out);
            return SIM_EINPUT;
        }
    return SIM_OK;
}

uint64_t swp_hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

void swp_hash_hex(const void *data, size_t len, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, swp_hash(SWP_HASH_INIT, data, len));
}
