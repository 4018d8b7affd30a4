#include "shrink.h"

#include "cli.h"
#include "datafile.h"
#include "results.h"
#include "scenario.h"
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- small helpers */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* only to stop at --max-time and to time the search */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fmt_num(double v, char *buf, size_t len)
{
    snprintf(buf, len, "%.15g", v);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static cJSON *jdup(const cJSON *v)
{
    cJSON *d = cJSON_Duplicate(v, 1);
    if (!d)
        abort(); /* only memory can fail */
    return d;
}

static cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

/* Sets o[key] to a number, adding the member when absent. */
static void set_number(cJSON *o, const char *key, double v)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (it && cJSON_IsNumber(it)) {
        cJSON_SetNumberValue(it, v);
        return;
    }
    cJSON *n = cJSON_CreateNumber(v);
    if (!n)
        abort();
    if (it)
        cJSON_ReplaceItemInObjectCaseSensitive(o, key, n);
    else
        cJSON_AddItemToObject(o, key, n);
}

/* o[key] as an object, created when absent. */
static cJSON *section(cJSON *o, const char *key)
{
    cJSON *s = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!s) {
        s = cJSON_CreateObject();
        if (!s)
            abort();
        cJSON_AddItemToObject(o, key, s);
    }
    return s;
}

/* A short name for an array element, for the descriptions: the first of the members that
 * usually name one. */
static void elem_name(const cJSON *e, char *buf, size_t len)
{
    static const char *const keys[] = {"name", "id", "host", "check", "metric", "kind", "path"};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = get(e, keys[i]);
        if (cJSON_IsString(v)) {
            snprintf(buf, len, " (%s \"%.60s\")", keys[i], v->valuestring);
            return;
        }
    }
    if (cJSON_IsNumber(e)) {
        char n[32];
        fmt_num(e->valuedouble, n, sizeof n);
        snprintf(buf, len, " (%s)", n);
    }
}

/* ---------------------------------------------------------------- the reductions */

/*
 * The list is enumerated by one walk over the document: every place a reduction applies is a
 * "site", numbered in walk order. Counting walks without changing anything; applying walks
 * a copy and changes it at site k, then stops (what follows in the walk may point into
 * what was just removed).
 */
typedef struct walk {
    size_t target; /* the site to apply; SIZE_MAX: count only */
    size_t n;      /* sites seen */
    bool done;
    char *what;
    size_t whatlen;
} walk;

static bool site(walk *w)
{
    if (w->done)
        return false;
    if (w->n++ != w->target)
        return false;
    w->done = true;
    return true;
}

static void say(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(walk *w, const char *fmt, ...)
{
    if (!w->what || !w->whatlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->what, w->whatlen, fmt, ap);
    va_end(ap);
}

/* Ways to lower a number. */
#define NUM_HALF  1u /* v / 2: rounded down to a whole number from 2 up, to 1-2-5 below */
#define NUM_MINUS 2u /* v - 1 */

typedef struct num_spec {
    const char *key;
    double def;  /* its value when absent (NAN: nothing to lower when absent) */
    double min;  /* no candidate below */
    double jump; /* tried first: the smallest useful value (NAN: none) */
    unsigned how;
    bool integer;
    bool zero_unbounded; /* 0 means "no limit": there is nothing to lower */
} num_spec;

/* Fractions of a second (or of a rate) below this are not worth a run. */
#define NUM_GRAIN 0.001

/* Below 1, halving goes down the 1-2-5 ladder (0.5, 0.2, 0.1, 0.05, ...): the largest of its
 * values at most v / 2, so that a shrunk file says 0.01 s rather than 0.0078125 s. */
static double ladder_half(double v)
{
    double h = v / 2;
    if (h <= 0)
        return 0;
    int e = (int)floor(log10(h));
    static const double m[] = {5, 2, 1};
    for (int k = e; k > e - 2; k--) {
        for (int i = 0; i < 3; i++) {
            /* m / 10^-k: the nearest double to the decimal, as a file would write it */
            double x = k < 0 ? m[i] / pow(10, -k) : m[i] * pow(10, k);
            if (x <= h)
                return x;
        }
    }
    return h;
}

/* At most this many candidates for one number: the jump, half, the steps between half
 * and minus one (one per halving of the gap: 53 at most for a double), minus one. */
#define NUM_CANDIDATES_MAX 64

/* The candidates below v, in order, without repeats. Returns how many. */
static int num_candidates(const num_spec *sp, double v, double c[NUM_CANDIDATES_MAX])
{
    int n = 0;
    double lo = sp->integer ? sp->min : fmax(sp->min, NUM_GRAIN);
    double x[NUM_CANDIDATES_MAX];
    int nx = 0;
    if (!isnan(sp->jump))
        x[nx++] = sp->jump;
    if (sp->how & NUM_HALF)
        x[nx++] = sp->integer || v >= 2 ? floor(v / 2) : ladder_half(v);
    /* Between half (which passed, if this is tried) and minus one: v - 1/4 of v, v - 1/8,
     * ... so that a number that must stay large is found by bisection, in about log2(v)
     * runs rather than one run per unit. */
    if ((sp->how & NUM_HALF) && (sp->how & NUM_MINUS) && v >= 4)
        for (double d = floor((v - floor(v / 2)) / 2); d >= 2 && nx < NUM_CANDIDATES_MAX - 1;
             d = floor(d / 2))
            x[nx++] = v - d;
    if (sp->how & NUM_MINUS)
        x[nx++] = v - 1;
    for (int i = 0; i < nx; i++) {
        bool ok = x[i] < v && (x[i] >= lo || (i == 0 && !isnan(sp->jump) && x[i] >= sp->min));
        for (int j = 0; ok && j < n; j++)
            ok = c[j] != x[i];
        if (ok)
            c[n++] = x[i];
    }
    return n;
}

/* The number holder[key] (holder: the object, or NULL when its section is absent; then
 * `parent` gets section `sec` when a reduction applies). */
static void reduce_number(walk *w, cJSON *parent, const char *sec, cJSON *holder, const char *path,
                          const num_spec *sp)
{
    if (w->done)
        return;
    if (holder && !cJSON_IsObject(holder))
        return;
    const cJSON *it = holder ? cJSON_GetObjectItemCaseSensitive(holder, sp->key) : NULL;
    double v;
    if (it) {
        if (!cJSON_IsNumber(it))
            return;
        v = it->valuedouble;
    } else {
        if (isnan(sp->def))
            return;
        v = sp->def;
    }
    if (sp->zero_unbounded && v == 0)
        return;
    double c[NUM_CANDIDATES_MAX];
    int n = num_candidates(sp, v, c);
    for (int i = 0; i < n; i++) {
        if (!site(w))
            continue;
        if (!holder)
            holder = section(parent, sec);
        set_number(holder, sp->key, c[i]);
        char a[32], b[32];
        fmt_num(v, a, sizeof a);
        fmt_num(c[i], b, sizeof b);
        say(w, "%s.%s: %s%s -> %s", path, sp->key, a, it ? "" : " (default)", b);
        return;
    }
}

/* Removes o[key] when present. */
static void drop_member(walk *w, cJSON *o, const char *key, const char *path)
{
    if (w->done || !get(o, key) || !site(w))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    say(w, "%s%s%s: removed", path, path[0] ? "." : "", key);
}

/* Removes each element of an array in turn, while more than `keep` remain. */
static void drop_elements(walk *w, cJSON *arr, const char *path, int keep)
{
    if (w->done || !cJSON_IsArray(arr))
        return;
    int n = cJSON_GetArraySize(arr);
    for (int i = 0; n > keep && i < n; i++) {
        if (!site(w))
            continue;
        char name[96];
        elem_name(cJSON_GetArrayItem(arr, i), name, sizeof name);
        cJSON_DeleteItemFromArray(arr, i);
        say(w, "%s[%d]%s: removed", path, i, name);
        return;
    }
}

/* ---- program steps */

/* The step's operation (its one key) and argument. */
static const char *step_kind(const cJSON *st, const cJSON **arg)
{
    if (!cJSON_IsObject(st) || !st->child || !st->child->string)
        return NULL;
    *arg = st->child;
    return st->child->string;
}

static void step_desc(const cJSON *st, char *buf, size_t len)
{
    const cJSON *arg;
    const char *k = step_kind(st, &arg);
    if (!k) {
        snprintf(buf, len, "step");
        return;
    }
    static const char *const named[][2] = {
        {"span", "name"},   {"await", "name"},  {"fetch", "name"},   {"log", "body"},
        {"metric", "name"}, {"global", "name"}, {"repeat", "times"}, {"respond", "status"}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strcmp(k, named[i][0]) != 0)
            continue;
        const cJSON *v = get(arg, named[i][1]);
        if (cJSON_IsString(v)) {
            snprintf(buf, len, "%s \"%.60s\"", k, v->valuestring);
            return;
        }
        if (cJSON_IsNumber(v)) {
            char n[32];
            fmt_num(v->valuedouble, n, sizeof n);
            snprintf(buf, len, "%s %s", k, n);
            return;
        }
    }
    if (cJSON_IsString(arg))
        snprintf(buf, len, "%s %.60s", k, arg->valuestring);
    else
        snprintf(buf, len, "%s", k);
}

/* The nested step arrays of a step, with the member that holds them ("" the argument
 * itself); `wrapper`: whether replacing the step by them is a reduction. */
typedef struct nested {
    const char *kind, *member;
    bool wrapper;
} nested;
static const nested nesting[] = {
    {"span", "do", true},         {"repeat", "do", true},      {"once", "", true},
    {"wait_until", "", true},     {"set_timeout", "do", true}, {"set_interval", "do", true},
    {"fetch", "on_error", false},
};

static cJSON *nested_steps(cJSON *st, const nested *ns)
{
    const cJSON *arg;
    const char *k = step_kind(st, &arg);
    if (!k || strcmp(k, ns->kind) != 0)
        return NULL;
    cJSON *a = ns->member[0] ? cJSON_GetObjectItemCaseSensitive(arg, ns->member) : (cJSON *)arg;
    return cJSON_IsArray(a) ? a : NULL;
}

/* arr[i] replaced by copies of the items of `kids`. The array is rebuilt by appending:
 * cJSON_InsertItemInArray fails inside a parsed array in the cJSON Debian 12 ships. */
static void splice(cJSON *arr, int i, const cJSON *kids)
{
    int n = cJSON_GetArraySize(arr);
    cJSON **items = malloc((size_t)n * sizeof *items);
    if (!items)
        abort();
    for (int j = 0; j < n; j++)
        items[j] = cJSON_DetachItemFromArray(arr, 0);
    for (int j = 0; j < n; j++) {
        if (j != i) {
            cJSON_AddItemToArray(arr, items[j]);
            continue;
        }
        const cJSON *k;
        cJSON_ArrayForEach(k, kids) cJSON_AddItemToArray(arr, jdup(k));
        cJSON_Delete(items[j]);
    }
    free(items);
}

static const num_spec times_spec = {"times", NAN, 1, 1, NUM_HALF | NUM_MINUS, true, false};

static void reduce_steps(walk *w, cJSON *arr, const char *path, int depth)
{
    if (w->done || !cJSON_IsArray(arr) || depth > 32)
        return;
    int n = cJSON_GetArraySize(arr);
    for (int i = 0; i < n && !w->done; i++) {
        cJSON *st = cJSON_GetArrayItem(arr, i);
        char sp[1024], desc[160];
        snprintf(sp, sizeof sp, "%s[%d]", path, i);
        step_desc(st, desc, sizeof desc);
        if (site(w)) {
            cJSON_DeleteItemFromArray(arr, i);
            say(w, "%s (%s): removed", sp, desc);
            return;
        }
        for (size_t j = 0; j < sizeof nesting / sizeof nesting[0]; j++) {
            cJSON *kids = nested_steps(st, &nesting[j]);
            if (!kids || !nesting[j].wrapper || cJSON_GetArraySize(kids) == 0 || !site(w))
                continue;
            /* Unwrapped: its steps take its place. */
            int nk = cJSON_GetArraySize(kids);
            splice(arr, i, kids);
            say(w, "%s (%s): unwrapped into its %d step%s", sp, desc, nk, nk == 1 ? "" : "s");
            return;
        }
        const cJSON *arg;
        const char *k = step_kind(st, &arg);
        if (k && strcmp(k, "repeat") == 0) {
            char rp[1100];
            snprintf(rp, sizeof rp, "%s.repeat", sp);
            reduce_number(w, NULL, NULL, (cJSON *)arg, rp, &times_spec);
        }
        for (size_t j = 0; j < sizeof nesting / sizeof nesting[0] && !w->done; j++) {
            cJSON *kids = nested_steps(st, &nesting[j]);
            if (!kids)
                continue;
            char kp[1100];
            snprintf(kp, sizeof kp, "%s.%s%s%s", sp, nesting[j].kind,
                     nesting[j].member[0] ? "." : "", nesting[j].member);
            reduce_steps(w, kids, kp, depth + 1);
        }
    }
}

static size_t count_steps(const cJSON *arr, int depth)
{
    if (!cJSON_IsArray(arr) || depth > 32)
        return 0;
    size_t n = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, arr)
    {
        n++;
        for (size_t j = 0; j < sizeof nesting / sizeof nesting[0]; j++)
            n += count_steps(nested_steps((cJSON *)st, &nesting[j]), depth + 1);
    }
    return n;
}

/* ---- distributions */

/* A distribution that is not fixed: {"<kind>_<unit>": value} with one member. */
static bool is_dist(const cJSON *o, char *kind, size_t klen, const char **unit)
{
    static const char *const kinds[] = {"uniform", "exponential", "lognormal", "empirical"};
    static const char *const units[] = {"ns", "us", "ms", "s", "min", "h"};
    if (!cJSON_IsObject(o) || !o->child || o->child->next || !o->child->string)
        return false;
    const char *k = o->child->string, *us = strchr(k, '_');
    if (!us)
        return false;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strlen(kinds[i]) != (size_t)(us - k) || strncmp(k, kinds[i], (size_t)(us - k)) != 0)
            continue;
        for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
            if (strcmp(us + 1, units[u]) == 0) {
                snprintf(kind, klen, "%s", kinds[i]);
                *unit = units[u];
                return true;
            }
        }
    }
    return false;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The fixed value that stands for a distribution: the middle of a uniform range, the mean of
 * an exponential, the median of a lognormal or of inline samples. False when there is none
 * (samples in a file). */
static bool dist_typical(const char *kind, const cJSON *v, double *out)
{
    if (strcmp(kind, "exponential") == 0 && cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (strcmp(kind, "uniform") == 0 && cJSON_GetArraySize(v) == 2) {
        const cJSON *a = cJSON_GetArrayItem(v, 0), *b = cJSON_GetArrayItem(v, 1);
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b))
            return false;
        *out = (a->valuedouble + b->valuedouble) / 2;
        return true;
    }
    if (strcmp(kind, "lognormal") == 0 && cJSON_IsNumber(get(v, "p50"))) {
        *out = get(v, "p50")->valuedouble;
        return true;
    }
    if (strcmp(kind, "empirical") == 0 && cJSON_IsArray(v)) {
        int n = cJSON_GetArraySize(v);
        if (n == 0)
            return false;
        double *xs = malloc((size_t)n * sizeof *xs);
        if (!xs)
            abort();
        int m = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, v) xs[m++] = cJSON_IsNumber(x) ? x->valuedouble : 0;
        qsort(xs, (size_t)m, sizeof *xs, cmp_double);
        *out = xs[(m - 1) / 2];
        free(xs);
        return true;
    }
    return false;
}

static void reduce_dists(walk *w, cJSON *node, const char *path, int depth)
{
    if (w->done || depth > 48 || (!cJSON_IsObject(node) && !cJSON_IsArray(node)))
        return;
    int i = 0;
    for (cJSON *c = node->child; c && !w->done; c = c->next, i++) {
        char cp[1100];
        if (cJSON_IsArray(node))
            snprintf(cp, sizeof cp, "%s[%d]", path, i);
        else
            snprintf(cp, sizeof cp, "%s%s%s", path, path[0] ? "." : "", c->string);
        char kind[16];
        const char *unit;
        double x;
        if (is_dist(c, kind, sizeof kind, &unit) && dist_typical(kind, c->child, &x)) {
            if (!site(w))
                continue;
            char key[32], num[32];
            snprintf(key, sizeof key, "fixed_%s", unit);
            fmt_num(x, num, sizeof num);
            say(w, "%s: %s -> %s %s", cp, c->child->string, key, num);
            cJSON_DeleteItemFromObjectCaseSensitive(c, c->child->string);
            cJSON_AddNumberToObject(c, key, x);
            return;
        }
        reduce_dists(w, c, cp, depth + 1);
    }
}

/* ---- the list */

/* Sections a scenario loads without (each has a default or is optional). */
static const char *const optional_sections[] = {"faults", "waf",     "zones",       "pipeline",
                                                "queue",  "monitor", "naive_daily", "ingest"};

static const num_spec workload_specs[] = {
    {"requests", NAN, 1, 1, NUM_HALF | NUM_MINUS, true, true},
    {"duration_s", 60, NUM_GRAIN, NUM_GRAIN, NUM_HALF | NUM_MINUS, false, true},
    {"drain_s", 60, 0, 0, NUM_HALF | NUM_MINUS, false, false},
    {"rate_per_s", 1, 1e-9, NUM_GRAIN, NUM_HALF, false, false},
    {"start_s", NAN, 0, 0, 0, false, false},
    {"spans_per_request", NAN, 0, 0, NUM_HALF | NUM_MINUS, true, false},
};
static const num_spec concurrency_spec = {"max_concurrency",    32,   1,    1,
                                          NUM_HALF | NUM_MINUS, true, false};
static const num_spec isolates_spec = {"max_isolates", NAN, 1, 1, NUM_HALF | NUM_MINUS, true, true};
static const num_spec retry_spec = {"count", NAN, 0, 0, NUM_HALF | NUM_MINUS, true, false};

/* After a reduction is applied the walk stops: the pointers it holds may point into what
 * was just removed. */
#define STOP_IF_DONE                                                                               \
    do {                                                                                           \
        if (w->done)                                                                               \
            return;                                                                                \
    } while (0)

static void enumerate(walk *w, cJSON *doc)
{
    for (size_t i = 0; i < sizeof optional_sections / sizeof optional_sections[0]; i++)
        drop_member(w, doc, optional_sections[i], "");
    STOP_IF_DONE;
    drop_elements(w, get(doc, "expect"), "expect", 1);
    STOP_IF_DONE;
    cJSON *faults = get(doc, "faults");
    drop_elements(w, get(faults, "rules"), "faults.rules", 0);
    STOP_IF_DONE;
    const cJSON *kill = get(faults, "kill_isolates_per_hour");
    if (cJSON_IsNumber(kill) && kill->valuedouble > 0)
        drop_member(w, faults, "kill_isolates_per_hour", "faults");
    STOP_IF_DONE;

    cJSON *appo = get(doc, "app");
    cJSON *routes = get(appo, "routes");
    drop_elements(w, routes, "app.routes", 1);
    STOP_IF_DONE;
    if (cJSON_GetArraySize(routes) == 1 && !get(appo, "handler") &&
        cJSON_IsArray(get(cJSON_GetArrayItem(routes, 0), "handler")) && site(w)) {
        char name[96];
        elem_name(cJSON_GetArrayItem(routes, 0), name, sizeof name);
        cJSON_AddItemToObject(appo, "handler", jdup(get(cJSON_GetArrayItem(routes, 0), "handler")));
        cJSON_DeleteItemFromObjectCaseSensitive(appo, "routes");
        say(w, "app.routes: its one route%s -> app.handler", name);
        return;
    }
    cJSON *runtime = get(doc, "runtime");
    cJSON *colos = get(runtime, "colos");
    drop_elements(w, colos, "runtime.colos", 1);
    STOP_IF_DONE;
    if (cJSON_GetArraySize(colos) == 1)
        drop_member(w, runtime, "colos", "runtime");
    STOP_IF_DONE;
    drop_elements(w, get(runtime, "deploys_s"), "runtime.deploys_s", 0);
    STOP_IF_DONE;
    drop_elements(w, get(appo, "accumulators"), "app.accumulators", 0);
    STOP_IF_DONE;
    cJSON *zones = get(doc, "zones");
    drop_elements(w, zones, "zones", 0);
    STOP_IF_DONE;
    for (int i = 0; i < cJSON_GetArraySize(zones); i++) {
        char p[64];
        snprintf(p, sizeof p, "zones[%d].routing", i);
        drop_elements(w, get(cJSON_GetArrayItem(zones, i), "routing"), p, 0);
        STOP_IF_DONE;
    }
    cJSON *waf = get(doc, "waf");
    for (cJSON *c = cJSON_IsObject(waf) ? waf->child : NULL; c; c = c->next) {
        char p[128];
        snprintf(p, sizeof p, "waf.%.100s", c->string);
        drop_elements(w, c, p, 0);
        STOP_IF_DONE;
    }

    cJSON *wlo = get(doc, "workload");
    const cJSON *arr = get(wlo, "arrivals");
    const char *arrivals = cJSON_IsString(arr) ? arr->valuestring : "poisson";
    bool replay = strcmp(arrivals, "replay") == 0;
    for (size_t i = 0; i < sizeof workload_specs / sizeof workload_specs[0]; i++) {
        /* a replay's times are the file's: its rate means nothing */
        if (!(replay && strcmp(workload_specs[i].key, "rate_per_s") == 0))
            reduce_number(w, doc, "workload", wlo, "workload", &workload_specs[i]);
        STOP_IF_DONE;
    }
    if (wlo && strcmp(arrivals, "constant") != 0 && !replay && site(w)) {
        char was[32];
        snprintf(was, sizeof was, "%s%s", arrivals, arr ? "" : " (default)");
        cJSON *c = cJSON_CreateString("constant");
        if (!c)
            abort();
        if (arr)
            cJSON_ReplaceItemInObjectCaseSensitive(wlo, "arrivals", c);
        else
            cJSON_AddItemToObject(wlo, "arrivals", c);
        cJSON_DeleteItemFromObjectCaseSensitive(wlo, "burst_on");
        cJSON_DeleteItemFromObjectCaseSensitive(wlo, "burst_off");
        cJSON_DeleteItemFromObjectCaseSensitive(wlo, "diurnal");
        say(w, "workload.arrivals: %s -> constant", was);
        return;
    }

    reduce_number(w, doc, "runtime", runtime, "runtime", &concurrency_spec);
    STOP_IF_DONE;
    reduce_number(w, doc, "runtime", runtime, "runtime", &isolates_spec);
    STOP_IF_DONE;
    for (int i = 0; i < cJSON_GetArraySize(colos); i++) {
        char p[64];
        snprintf(p, sizeof p, "runtime.colos[%d]", i);
        reduce_number(w, NULL, NULL, cJSON_GetArrayItem(colos, i), p, &isolates_spec);
        STOP_IF_DONE;
    }
    reduce_number(w, NULL, NULL, get(get(doc, "exporter"), "retry"), "exporter.retry", &retry_spec);
    STOP_IF_DONE;

    reduce_steps(w, get(appo, "handler"), "app.handler", 0);
    STOP_IF_DONE;
    for (int i = 0; i < cJSON_GetArraySize(routes); i++) {
        char p[64];
        snprintf(p, sizeof p, "app.routes[%d].handler", i);
        reduce_steps(w, get(cJSON_GetArrayItem(routes, i), "handler"), p, 0);
        STOP_IF_DONE;
    }

    /* Fixed distributions everywhere but in what is not the model (checks, citations, the
     * WAF's configuration, passed to the ingest as it is). */
    for (cJSON *c = doc->child; c; c = c->next) {
        if (strcmp(c->string, "expect") == 0 || strcmp(c->string, "sources") == 0 ||
            strcmp(c->string, "waf") == 0)
            continue;
        reduce_dists(w, c, c->string, 1);
        STOP_IF_DONE;
    }
}
#undef STOP_IF_DONE

size_t shr_reductions(const cJSON *doc)
{
    if (!cJSON_IsObject(doc))
        return 0;
    walk w = {.target = SIZE_MAX};
    /* Counting changes nothing: the walk only reads when no site is the target. */
    enumerate(&w, (cJSON *)doc);
    return w.n;
}

cJSON *shr_reduce(const cJSON *doc, size_t k, char *what, size_t whatlen)
{
    if (what && whatlen)
        what[0] = '\0';
    if (!cJSON_IsObject(doc) || k == SIZE_MAX)
        return NULL;
    cJSON *copy = jdup(doc);
    walk w = {.target = k, .what = what, .whatlen = whatlen};
    enumerate(&w, copy);
    if (!w.done) {
        cJSON_Delete(copy);
        return NULL;
    }
    return copy;
}

/* ---------------------------------------------------------------- printing */

static void print_value(FILE *f, const cJSON *v, int ind);

static bool all_scalars(const cJSON *arr)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            return false;
    }
    return true;
}

static void print_scalar(FILE *f, const cJSON *v)
{
    /* cJSON prints a member's value alone, escaped as JSON wants. */
    char *s = cJSON_PrintUnformatted(v);
    if (!s)
        abort();
    fputs(s, f);
    cJSON_free(s);
}

static void print_key(FILE *f, const char *key)
{
    cJSON *k = cJSON_CreateString(key);
    if (!k)
        abort();
    print_scalar(f, k);
    cJSON_Delete(k);
}

static void print_value(FILE *f, const cJSON *v, int ind)
{
    bool obj = cJSON_IsObject(v);
    if (!obj && !cJSON_IsArray(v)) {
        print_scalar(f, v);
        return;
    }
    if (!v->child) {
        fputs(obj ? "{}" : "[]", f);
        return;
    }
    if (!obj && all_scalars(v)) { /* [20, 60] on one line, as the scenario files have it */
        fputc('[', f);
        for (const cJSON *c = v->child; c; c = c->next) {
            print_scalar(f, c);
            if (c->next)
                fputs(", ", f);
        }
        fputc(']', f);
        return;
    }
    fputs(obj ? "{\n" : "[\n", f);
    for (const cJSON *c = v->child; c; c = c->next) {
        fprintf(f, "%*s", ind + 2, "");
        if (obj) {
            print_key(f, c->string);
            fputs(": ", f);
        }
        print_value(f, c, ind + 2);
        fputs(c->next ? ",\n" : "\n", f);
    }
    fprintf(f, "%*s%c", ind, "", obj ? '}' : ']');
}

char *shr_print(const cJSON *doc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    print_value(f, doc, 0);
    fputc('\n', f);
    if (fclose(f) != 0)
        abort();
    return buf;
}

void shr_measure(const cJSON *doc, shr_size *out)
{
    const cJSON *wlo = get(doc, "workload"), *appo = get(doc, "app");
    const cJSON *d = get(wlo, "duration_s"), *dr = get(wlo, "drain_s");
    out->duration_s = cJSON_IsNumber(d) ? d->valuedouble : 60;
    out->drain_s = cJSON_IsNumber(dr) ? dr->valuedouble : 60;
    const cJSON *routes = get(appo, "routes");
    out->routes = (size_t)cJSON_GetArraySize(routes);
    out->steps = count_steps(get(appo, "handler"), 0);
    const cJSON *r;
    cJSON_ArrayForEach(r, routes) out->steps += count_steps(get(r, "handler"), 0);
    out->fault_rules = (size_t)cJSON_GetArraySize(get(get(doc, "faults"), "rules"));
    const cJSON *colos = get(get(doc, "runtime"), "colos");
    out->colos = colos ? (size_t)cJSON_GetArraySize(colos) : 1;
    out->expects = (size_t)cJSON_GetArraySize(get(doc, "expect"));
    /* the model's size: not the prose around it, which the result rewrites */
    cJSON *model = jdup(doc);
    cJSON_DeleteItemFromObjectCaseSensitive(model, "name");
    cJSON_DeleteItemFromObjectCaseSensitive(model, "description");
    cJSON_DeleteItemFromObjectCaseSensitive(model, "sources");
    char *text = shr_print(model);
    out->bytes = strlen(text);
    free(text);
    cJSON_Delete(model);
}

/* ---------------------------------------------------------------- running */

typedef enum { STOP_NONE, STOP_RUNS, STOP_TIME, STOP_INTR } stop_why;

typedef struct ctx {
    const shr_options *o;
    uint64_t causes;            /* the causes a candidate's lost items may have (0: any) */
    volatile sig_atomic_t halt; /* what the run polls (sim_options.stop) */
    double t0, max_time_s;
    uint64_t max_runs;
    bool bounded; /* the bounds apply to this run (never to the first) */
    stop_why why;
    uint64_t runs, tried;
} ctx;

/* A run's verdict on the target and what the size lines need. */
typedef struct verdict {
    check_result cr;
    uint64_t arrivals, items, isolates;
} verdict;

static void on_progress(void *ud, const sim_progress *p)
{
    ctx *c = ud;
    /* Stops the run only; what it computes up to here is the same either way. */
    if (c->o->stop && *c->o->stop)
        c->halt = 1;
    if (c->bounded && wall_now() - c->t0 >= c->max_time_s) {
        c->why = STOP_TIME;
        c->halt = 1;
    }
    if (c->o->progress)
        prog_within(c->o->progress, p);
}

static void clean_run_dir(const char *dir)
{
    static const char *const dbs[] = {"ledger.db", "ingest.db"};
    static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < 4; j++) {
            char p[4200];
            snprintf(p, sizeof p, "%s/%s%s", dir, dbs[i], sides[j]);
            remove(p);
        }
    }
}

/*
 * Whether the run fails like `like`: a check of its name that does not pass, and vacuous
 * exactly when it was. Without the second half a search slips from "items were lost" to
 * "nothing to check" (a vacuous check fails too), which is a different failure.
 */
/* The causes of the run's lost items, one bit each (ledger_cause). */
static uint64_t lost_causes(const sim_result *r)
{
    uint64_t m = 0;
    for (int k = 0; k < CAUSE_COUNT; k++)
        if (r->report.lost_by[k])
            m |= 1ull << k;
    return m;
}

/*
 * Fails like `like`, for the same reasons: an item lost to a cause the first run lost none
 * to is another failure, though the check's number fails still (a loss shrunk into one of
 * the run's end, drain_s cut to 0, instead of the ingest's 503s).
 */
static bool fails(const sim_result *r, const check_result *like, uint64_t causes, check_result *out)
{
    if (causes && (lost_causes(r) & ~causes))
        return false;
    for (size_t i = 0; i < r->nchecks; i++) {
        const check_result *c = &r->checks[i];
        if (!c->pass && c->vacuous == like->vacuous && strcmp(c->check, like->check) == 0) {
            if (out)
                *out = r->checks[i];
            return true;
        }
    }
    return false;
}

/*
 * Loads and runs one document. *loaded false (and SIM_OK): it does not load (`err` says why).
 * With c->bounded, a bound reached before the run returns SIM_EINTR with c->why set, and
 * so does a run cut by --max-time or a stop request. `r` is filled by a run made and must
 * then be freed (*ran).
 */
static sim_err run_doc(ctx *c, const cJSON *doc, bool *loaded, bool *ran, sim_result *r, char *err,
                       size_t errlen)
{
    const shr_options *o = c->o;
    *loaded = *ran = false;
    char *text = cJSON_PrintUnformatted(doc);
    if (!text)
        abort();
    scenario *s;
    int prc = scn_parse(text, o->file, &s, err, errlen);
    cJSON_free(text);
    if (prc)
        return prc == SIM_EINPUT ? SIM_OK : (sim_err)prc;
    *loaded = true;
    if (o->stop && *o->stop)
        c->why = STOP_INTR;
    else if (c->bounded && c->runs >= c->max_runs)
        c->why = STOP_RUNS;
    else if (c->bounded && wall_now() - c->t0 >= c->max_time_s)
        c->why = STOP_TIME;
    if (c->why != STOP_NONE) {
        scn_free(s);
        snprintf(err, errlen, "%s",
                 c->why == STOP_INTR   ? "interrupted before the run started"
                 : c->why == STOP_RUNS ? "the run bound was reached"
                                       : "the time bound was reached");
        return SIM_EINTR;
    }
    c->halt = 0;
    sim_options so = {.seed = o->seed,
                      .seed_set = true,
                      .run_dir = o->run_dir,
                      .stop = &c->halt,
                      .progress = on_progress,
                      .progress_ud = c};
    clean_run_dir(o->run_dir);
    char label[160];
    snprintf(label, sizeof label, "shrink run %" PRIu64, c->runs + 1);
    prog_run_start(o->progress, label);
    sim_err rc = sim_run(s, &so, r, err, errlen);
    prog_run_done(o->progress);
    clean_run_dir(o->run_dir);
    scn_free(s);
    *ran = true;
    c->runs++;
    if (rc == SIM_EINTR && c->why == STOP_NONE)
        c->why = STOP_INTR;
    return rc;
}

static void fill_verdict(const sim_result *r, verdict *v)
{
    v->arrivals = r->rt.arrived;
    v->items = r->report.items;
    v->isolates = r->rt.isolates_created;
}

/* A candidate: SHR_FAILS with its verdict, SHR_PASSES, or SHR_NOLOAD (a budget exceeded
 * counts as not loading: it is not the failure being kept). */
static sim_err try_doc(ctx *c, const cJSON *doc, const check_result *like, shr_outcome *oc,
                       verdict *v, char *err, size_t errlen)
{
    bool loaded, ran;
    sim_result r;
    sim_err rc = run_doc(c, doc, &loaded, &ran, &r, err, errlen);
    *oc = SHR_NOLOAD;
    if (ran) {
        if (rc == SIM_OK && r.verified) {
            *oc = fails(&r, like, c->causes, v ? &v->cr : NULL) ? SHR_FAILS : SHR_PASSES;
            if (v)
                fill_verdict(&r, v);
        }
        sim_result_free(&r);
    }
    return rc == SIM_EBUDGET ? SIM_OK : rc;
}

sim_err shr_try(const cJSON *doc, const shr_options *o, const check_result *like, shr_outcome *out,
                char *err, size_t errlen)
{
    ctx c = {.o = o, .causes = o->causes};
    return try_doc(&c, doc, like, out, NULL, err, errlen);
}

/* ---------------------------------------------------------------- the search */

static void add_taken(shr_result *out, const char *what)
{
    out->accepted++;
    /* Steps of one number in a row read as one change: "600 -> 300", "300 -> 150" are
     * "600 -> 150". Only paths without a name in them (those cannot shift meaning). */
    const char *arrow = strstr(what, " -> "), *colon = strstr(what, ": ");
    if (arrow && colon && colon < arrow && !memchr(what, '(', (size_t)(colon - what))) {
        size_t plen = (size_t)(colon - what);
        for (size_t i = out->ntaken; i-- > 0;) {
            char *t = out->taken[i];
            const char *ta = strstr(t, " -> ");
            if (strncmp(t, what, plen + 2) != 0 || !ta)
                continue;
            /* the earlier change's target must be this one's source */
            size_t from_len = (size_t)(arrow - (colon + 2));
            const char *from = colon + 2;
            /* (a pin's target carries a note in parentheses) */
            if (strncmp(ta + 4, from, from_len) != 0 ||
                (ta[4 + from_len] != '\0' && strncmp(ta + 4 + from_len, " (", 2) != 0))
                break;
            size_t keep = (size_t)(ta - t) + 4;
            char *m = malloc(keep + strlen(arrow + 4) + 1);
            if (!m)
                abort();
            memcpy(m, t, keep);
            strcpy(m + keep, arrow + 4);
            free(t);
            out->taken[i] = m;
            return;
        }
    }
    char **v = realloc(out->taken, (out->ntaken + 1) * sizeof *v);
    if (!v)
        abort();
    out->taken = v;
    out->taken[out->ntaken++] = xstrdup(what);
}

static void logf_taken(const ctx *c, const char *what)
{
    if (!c->o->log)
        return;
    prog_clear(c->o->progress);
    fprintf(c->o->log, "edgeloss shrink: run %" PRIu64 ": taken: %s\n", c->runs, what);
    fflush(c->o->log);
}

/* The names the scenario's checks go by (check_result.check): `check`, or `metric`. */
static bool doc_has_check(const cJSON *doc, const char *name, char *list, size_t listlen)
{
    bool found = false;
    size_t used = 0;
    list[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, get(doc, "expect"))
    {
        const cJSON *n = get(e, "check");
        if (!cJSON_IsString(n))
            n = get(e, "metric");
        if (!cJSON_IsString(n))
            continue;
        found |= strcmp(n->valuestring, name) == 0;
        if (used < listlen)
            used += (size_t)snprintf(list + used, listlen - used, "%s%s", used ? ", " : "",
                                     n->valuestring);
    }
    return found;
}

static const char *variant_of(const cJSON *doc)
{
    const cJSON *v = get(doc, "variant");
    return cJSON_IsString(v) ? v->valuestring : "baseline";
}

/*
 * The pins: equivalent documents that open up reductions. Only the target check's expect item
 * kept (the others do not change the run); `requests` set to the arrivals the first run made
 * and `max_isolates` to the isolates it created (limits it never reached), so that halving
 * them means something. Each is still verified by a run.
 */
static cJSON *pin(const cJSON *doc, int which, int target, const verdict *v, char *what,
                  size_t whatlen)
{
    what[0] = '\0';
    if (which == 0) {
        const cJSON *ex = get(doc, "expect");
        if (cJSON_GetArraySize(ex) <= 1 || target < 0 || target >= cJSON_GetArraySize(ex))
            return NULL;
        cJSON *d = jdup(doc);
        cJSON *keep = jdup(cJSON_GetArrayItem(ex, target));
        cJSON *arr = cJSON_CreateArray();
        if (!arr)
            abort();
        cJSON_AddItemToArray(arr, keep);
        cJSON_ReplaceItemInObjectCaseSensitive(d, "expect", arr);
        snprintf(what, whatlen, "expect: only expect[%d] kept, the check being shrunk (%d removed)",
                 target, cJSON_GetArraySize(ex) - 1);
        return d;
    }
    const char *sec = which == 1 ? "workload" : "runtime";
    const char *key = which == 1 ? "requests" : "max_isolates";
    uint64_t n = which == 1 ? v->arrivals : v->isolates;
    const cJSON *cur = get(get(doc, sec), key);
    double now = cJSON_IsNumber(cur) ? cur->valuedouble : 0;
    if (n == 0 || (now != 0 && now <= (double)n))
        return NULL;
    if (which == 2 && get(get(doc, "runtime"), "colos")) {
        /* per-colo limits fall back to this one: leave a file with colos as it is */
        return NULL;
    }
    cJSON *d = jdup(doc);
    set_number(section(d, sec), key, (double)n);
    char a[32];
    fmt_num(now, a, sizeof a);
    snprintf(what, whatlen, "%s.%s: %s%s -> %" PRIu64 " (the %s the first run made)", sec, key, a,
             cur ? "" : " (default)", n, which == 1 ? "arrivals" : "isolates");
    return d;
}

/* Name and description of the result: where it comes from, what still fails, what was cut. */
static void label_result(cJSON **docp, const shr_options *o, const shr_result *r,
                         const char *orig_name)
{
    cJSON *doc = *docp;
    char *desc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&desc, &len);
    if (!f)
        abort();
    char num[32];
    fmt_num(r->failed.measured, num, sizeof num);
    fprintf(f,
            "Shrunk by edgeloss shrink from %s (variant %s, seed %" PRIu64
            "): it still fails %s (expected %s; measured %s).",
            o->file, variant_of(doc), o->seed, r->check, r->failed.expected, r->failed.detail);
    if (r->minimal)
        fprintf(f, " 1-minimal: each single reduction of it passes or does not load.");
    else
        fprintf(f, " NOT proven 1-minimal: the search stopped at %s.",
                r->hit_runs   ? "its run bound (--max-runs)"
                : r->hit_time ? "its time bound (--max-time)"
                              : "an interrupt");
    if (r->ntaken) {
        fputs(" Reduced:", f);
        for (size_t i = 0; i < r->ntaken; i++)
            fprintf(f, " %s%s", r->taken[i], i + 1 < r->ntaken ? ";" : ".");
    } else {
        fputs(" Nothing could be reduced.", f);
    }
    if (orig_name && orig_name[0])
        fprintf(f, " The original: %s", orig_name);
    if (fclose(f) != 0)
        abort();
    char name[1400];
    snprintf(name, sizeof name, "shrunk from %.1000s, variant %.200s, seed %" PRIu64, o->file,
             variant_of(doc), o->seed);
    /* name, description, seed, variant first; the rest in the file's order */
    cJSON *out = cJSON_CreateObject();
    if (!out)
        abort();
    cJSON_AddStringToObject(out, "name", name);
    cJSON_AddStringToObject(out, "description", desc);
    free(desc);
    /* `sources` justify the original's parameters, which are no longer these: the
     * description names the file that has them. */
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "sources");
    cJSON_AddNumberToObject(out, "seed", (double)o->seed);
    cJSON *var = cJSON_DetachItemFromObjectCaseSensitive(doc, "variant");
    if (var)
        cJSON_AddItemToObject(out, "variant", var);
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "name");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "description");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "seed");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "seeds");
    while (doc->child) {
        cJSON *c = cJSON_DetachItemViaPointer(doc, doc->child);
        cJSON_AddItemToObject(out, c->string, c);
        /* (the key is copied before the item's own is freed) */
    }
    cJSON_Delete(doc);
    *docp = out;
}

sim_err shr_search(const cJSON *doc, const shr_options *o, shr_result *out, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    ctx c = {.o = o,
             .t0 = wall_now(),
             .max_time_s = o->max_time_s > 0 ? o->max_time_s : SHR_DEFAULT_MAX_TIME,
             .max_runs = o->max_runs ? o->max_runs : SHR_DEFAULT_MAX_RUNS};
    cJSON *cur = jdup(doc);
    set_number(cur, "seed", (double)o->seed);
    cJSON_DeleteItemFromObjectCaseSensitive(cur, "seeds");
    const cJSON *on = get(cur, "name");
    char *orig_name = xstrdup(cJSON_IsString(on) ? on->valuestring : "");
    char names[512];
    if (o->check && !doc_has_check(cur, o->check, names, sizeof names)) {
        out->no_such_check = true;
        snprintf(err, errlen, "%s (variant %s) has no check named \"%s\" (%s%s)", o->file,
                 variant_of(cur), o->check, names[0] ? "its checks: " : "it has no checks", names);
        cJSON_Delete(cur);
        free(orig_name);
        return SIM_EUSAGE;
    }
    shr_measure(cur, &out->before);

    /* The first run: what fails, and the numbers the pins use. Never cut by the bounds. */
    bool loaded, ran;
    sim_result r;
    sim_err rc = run_doc(&c, cur, &loaded, &ran, &r, err, errlen);
    out->runs = c.runs;
    if (!loaded) {
        cJSON_Delete(cur);
        free(orig_name);
        return rc ? rc : SIM_EINPUT;
    }
    if (rc) {
        char m[1024];
        snprintf(m, sizeof m, "%s", err);
        snprintf(err, errlen, "%s (variant %s, seed %" PRIu64 "): %s", o->file, variant_of(cur),
                 o->seed, m);
        out->interrupted = rc == SIM_EINTR;
        if (ran)
            sim_result_free(&r);
        cJSON_Delete(cur);
        free(orig_name);
        return rc;
    }
    verdict first = {0};
    fill_verdict(&r, &first);
    int target = -1;
    for (size_t i = 0; i < r.nchecks && target < 0; i++)
        if (!r.checks[i].pass && (!o->check || strcmp(r.checks[i].check, o->check) == 0))
            target = (int)i;
    if (target < 0) {
        out->nothing = true;
        if (o->check)
            snprintf(err, errlen,
                     "%s (variant %s) passes check %s at seed %" PRIu64 ": nothing to shrink",
                     o->file, variant_of(cur), o->check, o->seed);
        else if (!r.nchecks)
            snprintf(err, errlen,
                     "%s (variant %s) has no checks (an `expect` and an exporter): nothing to "
                     "shrink",
                     o->file, variant_of(cur));
        else
            snprintf(err, errlen,
                     "%s (variant %s) passes every check at seed %" PRIu64 ": nothing to shrink",
                     o->file, variant_of(cur), o->seed);
        sim_result_free(&r);
        cJSON_Delete(cur);
        free(orig_name);
        return SIM_EUSAGE;
    }
    first.cr = r.checks[target];
    snprintf(out->check, sizeof out->check, "%s", r.checks[target].check);
    out->causes = c.causes = lost_causes(&r);
    if ((size_t)cJSON_GetArraySize(get(cur, "expect")) != r.nchecks)
        target = -1; /* checks not one per expect item: leave the expect list to the reductions */
    sim_result_free(&r);
    out->failed = first.cr;
    out->before.requests = first.arrivals;
    out->before.items = first.items;
    verdict best = first;
    c.bounded = true;

    /* The pins, together in one run; one by one if together they do not fail. */
    cJSON *all = jdup(cur);
    char what[1024], alls[3][512];
    int npins = 0;
    for (int p = 0; p < 3; p++) {
        cJSON *d = pin(all, p, target, &first, alls[npins], sizeof alls[npins]);
        if (d) {
            cJSON_Delete(all);
            all = d;
            npins++;
        }
    }
    shr_outcome oc = SHR_PASSES;
    verdict v;
    rc = SIM_OK;
    if (npins) {
        c.tried++;
        rc = try_doc(&c, all, &first.cr, &oc, &v, err, errlen);
    }
    if (!rc && oc == SHR_FAILS) {
        cJSON_Delete(cur);
        cur = all;
        all = NULL;
        best = v;
        for (int p = 0; p < npins; p++) {
            add_taken(out, alls[p]);
            logf_taken(&c, alls[p]);
        }
    }
    cJSON_Delete(all);
    for (int p = 0; !rc && npins > 1 && oc != SHR_FAILS && p < 3; p++) {
        cJSON *d = pin(cur, p, target, &first, what, sizeof what);
        if (!d)
            continue;
        shr_outcome po;
        c.tried++;
        rc = try_doc(&c, d, &first.cr, &po, &v, err, errlen);
        if (!rc && po == SHR_FAILS) {
            cJSON_Delete(cur);
            cur = d;
            best = v;
            add_taken(out, what);
            logf_taken(&c, what);
        } else {
            cJSON_Delete(d);
        }
    }

    /* Greedy: the first candidate that still fails is taken, and the walk goes on from the
     * same index of the new document; done when every index was tried since the last one
     * taken. */
    size_t k = 0, since = 0;
    while (!rc) {
        size_t n = shr_reductions(cur);
        if (since >= n) {
            out->minimal = true;
            break;
        }
        if (k >= n)
            k = 0;
        cJSON *cand = shr_reduce(cur, k, what, sizeof what);
        if (!cand) {
            k++, since++;
            continue;
        }
        c.tried++;
        rc = try_doc(&c, cand, &first.cr, &oc, &v, err, errlen);
        if (!rc && oc == SHR_FAILS) {
            cJSON_Delete(cur);
            cur = cand;
            best = v;
            since = 0;
            add_taken(out, what);
            logf_taken(&c, what);
        } else {
            cJSON_Delete(cand);
            k++, since++;
        }
    }
    out->runs = c.runs;
    out->tried = c.tried;
    if (rc == SIM_EINTR) {
        out->hit_runs = c.why == STOP_RUNS;
        out->hit_time = c.why == STOP_TIME;
        out->interrupted = c.why == STOP_INTR;
        if (!out->interrupted)
            rc = SIM_OK;
        else
            snprintf(err, errlen, "interrupted after %" PRIu64 " runs", c.runs);
    }
    if (rc && rc != SIM_EINTR) {
        char m[1024];
        snprintf(m, sizeof m, "%s", err);
        snprintf(err, errlen, "%s (variant %s, seed %" PRIu64 "), run %" PRIu64 ": %s", o->file,
                 variant_of(cur), o->seed, c.runs, m);
        cJSON_Delete(cur);
        free(orig_name);
        return rc;
    }
    out->failed = best.cr;
    label_result(&cur, o, out, orig_name);
    free(orig_name);
    out->doc = cur;
    shr_measure(cur, &out->after);
    out->after.requests = best.arrivals;
    out->after.items = best.items;
    return rc;
}

void shr_result_free(shr_result *r)
{
    if (!r)
        return;
    cJSON_Delete(r->doc);
    for (size_t i = 0; i < r->ntaken; i++)
        free(r->taken[i]);
    free(r->taken);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- writing */

/* `dir`'s absolute form without symbolic links, or of its parent when it does not exist. */
static char *real_dir_of(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    return realpath(dir, NULL);
}

/* `target` (absolute) relative to the folder `from` (absolute): "../data/x.csv". */
static void relative_to(const char *from, const char *target, char *out, size_t len)
{
    /* the longest common prefix that ends at a component's end in both */
    size_t i = 0, common = 0;
    while (from[i] && target[i] && from[i] == target[i]) {
        i++;
        if ((from[i] == '/' || !from[i]) && target[i] == '/')
            common = i;
    }
    size_t used = 0;
    out[0] = '\0';
    /* one ".." per component of `from` past the common part */
    for (const char *p = from + common; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        while (*p && *p != '/')
            p++;
        if (used + 4 < len)
            used += (size_t)snprintf(out + used, len - used, "../");
    }
    const char *rest = target + common;
    while (*rest == '/')
        rest++;
    snprintf(out + used, len - used, "%s", rest);
}

/* A path named relative to `from_file`, renamed so that a file in `to_dir` finds it. */
static void rebase(cJSON *f, const char *from_file, const char *to_dir)
{
    if (!cJSON_IsString(f) || f->valuestring[0] == '/')
        return;
    char full[4096], rel[4096];
    df_resolve(from_file, f->valuestring, full, sizeof full);
    char *abs = realpath(full, NULL);
    char cwd[2048];
    if (abs && to_dir)
        relative_to(to_dir, abs, rel, sizeof rel);
    else if (!abs && full[0] != '/' && getcwd(cwd, sizeof cwd))
        snprintf(rel, sizeof rel, "%s/%s", cwd, full); /* it is not there: say where */
    else
        snprintf(rel, sizeof rel, "%s", abs ? abs : full);
    free(abs);
    cJSON_SetValuestring(f, rel);
}

/* Renames every data file named relative to `from_file` so that `to_file` finds it. */
static void rewrite_data(cJSON *node, const char *from_file, const char *to_dir, int depth)
{
    if (depth > 48)
        return;
    for (cJSON *c = node ? node->child : NULL; c; c = c->next) {
        if (!cJSON_IsObject(c) && !cJSON_IsArray(c))
            continue;
        bool data = c->string &&
                    (strcmp(c->string, "replay") == 0 || strncmp(c->string, "empirical_", 10) == 0);
        if (data)
            rebase(get(c, "file"), from_file, to_dir);
        rewrite_data(c, from_file, to_dir, depth + 1);
    }
}

sim_err shr_write(const cJSON *doc, const char *path, const char *from_file, char *err,
                  size_t errlen)
{
    cJSON *d = jdup(doc);
    char *to_dir = real_dir_of(path);
    if (!to_dir) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        cJSON_Delete(d);
        return SIM_EIO;
    }
    rewrite_data(d, from_file, to_dir, 0);
    /* So is an exporter plugin (exporter.plugin), relative to the scenario file. */
    rebase(get(get(d, "exporter"), "plugin"), from_file, to_dir);
    free(to_dir);
    char *text = shr_print(d);
    cJSON_Delete(d);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(text);
        return SIM_EIO;
    }
    size_t n = strlen(text);
    bool bad = fwrite(text, 1, n, f) != n;
    free(text);
    bad |= ferror(f) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    if (bad || rename(tmp, path) != 0) {
        if (!bad)
            e = errno;
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(e ? e : EIO));
        remove(tmp);
        return SIM_EIO;
    }
    return SIM_OK;
}

/* ---------------------------------------------------------------- the command */

static const cli_opt shrink_opts[] = {
    {"--seed", 0, "N", "the seed of the failing run (required)"},
    {"--variant", 0, "NAME", "the variant that fails (default: the file's own, its baseline)"},
    {"--check", 0, "NAME", "the check to keep failing (default: the first that fails)"},
    {"--out", 'o', "FILE",
     "where to write the result (default\nruns/shrink/<file stem>-<variant>-seed-<N>.json)"},
    {"--max-runs", 0, "N", "runs at most, the first included (default 500)"},
    {"--max-time", 0, "S", "wall-clock seconds at most (default 600)"},
    {"--quiet", 'q', NULL, "no progress on stderr"},
    {"--help", 'h', NULL, "show this help"},
};
#define NSHRINK_OPTS (sizeof shrink_opts / sizeof shrink_opts[0])

void shr_usage(FILE *f)
{
    fputs("usage: edgeloss shrink SCENARIO --seed N [options]\n"
          "Search for a smaller scenario that still fails the same check as SCENARIO's run at\n"
          "seed N (fewer requests, a shorter run, fewer colos, isolates, fault rules, routes and\n"
          "program steps, lower concurrency, fixed distributions) and write it as a scenario file\n"
          "of one variant with its seed. Every candidate is a real run. The result is 1-minimal\n"
          "(each single further reduction of it passes) unless a bound stopped the search.\n"
          "\noptions:\n",
          f);
    cli_print_options(shrink_opts, NSHRINK_OPTS, f);
    fputs("\nexit: 0 written, 2 bad scenario or usage or nothing to shrink, 3 the harness failed,\n"
          "      130 interrupted (the smallest failing scenario found so far is still written)\n",
          f);
}

static void die_usage(const char *msg)
{
    fprintf(stderr, "edgeloss shrink: %s\n", msg);
    fputs("Try 'edgeloss shrink --help'.\n", stderr);
}

/* mkdir -p of the folder that holds `file`. */
static int make_parent_dirs(const char *file)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", file);
    char *last = strrchr(p, '/');
    if (!last || last == p)
        return 0;
    *last = '\0';
    for (char *c = p + 1;; c++) {
        if (*c && *c != '/')
            continue;
        char keep = *c;
        *c = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return -1;
        if (!keep)
            return 0;
        *c = keep;
    }
}

static void print_sizes(const shr_size *b, const shr_size *a)
{
    char bd[32], ad[32], bdr[32], adr[32];
    fmt_num(b->duration_s, bd, sizeof bd);
    fmt_num(a->duration_s, ad, sizeof ad);
    fmt_num(b->drain_s, bdr, sizeof bdr);
    fmt_num(a->drain_s, adr, sizeof adr);
    printf("  %-14s %12s %12s\n", "", "before", "after");
    printf("  %-14s %12" PRIu64 " %12" PRIu64 "\n", "requests", b->requests, a->requests);
    printf("  %-14s %12" PRIu64 " %12" PRIu64 "\n", "items", b->items, a->items);
    printf("  %-14s %12s %12s\n", "duration_s", bd, ad);
    printf("  %-14s %12s %12s\n", "drain_s", bdr, adr);
    printf("  %-14s %12zu %12zu\n", "steps", b->steps, a->steps);
    printf("  %-14s %12zu %12zu\n", "routes", b->routes, a->routes);
    printf("  %-14s %12zu %12zu\n", "fault rules", b->fault_rules, a->fault_rules);
    printf("  %-14s %12zu %12zu\n", "colos", b->colos, a->colos);
    printf("  %-14s %12zu %12zu\n", "expect items", b->expects, a->expects);
    printf("  %-14s %12zu %12zu\n", "bytes", b->bytes, a->bytes);
}

/* Removes the scratch run directory and what a run leaves in it. */
static void remove_scratch(const char *dir)
{
    clean_run_dir(dir);
    rmdir(dir);
}

int shr_cli(int argc, char **argv, const char *prog_name, const volatile sig_atomic_t *stop)
{
    cli_args a;
    char err[4096];
    if (cli_parse(shrink_opts, NSHRINK_OPTS, argc, argv, &a, err, sizeof err)) {
        die_usage(err);
        return sim_exit_code(SIM_EUSAGE);
    }
#define OPT(name) cli_get(shrink_opts, NSHRINK_OPTS, &a, name)
    if (OPT("--help")) {
        shr_usage(stdout);
        return 0;
    }
    if (a.npositional != 1) {
        die_usage(a.npositional ? "one scenario at a time" : "which scenario? (a file)");
        return sim_exit_code(SIM_EUSAGE);
    }
    shr_options o = {.max_runs = SHR_DEFAULT_MAX_RUNS, .max_time_s = SHR_DEFAULT_MAX_TIME};
    const char *v = OPT("--seed");
    if (!v) {
        die_usage("--seed N is required: the seed of the failing run (check's reproduce "
                  "command names it)");
        return sim_exit_code(SIM_EUSAGE);
    }
    if (cli_parse_u64(v, &o.seed)) {
        snprintf(err, sizeof err, "--seed %.40s: expected a whole number from 0 to 2^53 - 1", v);
        die_usage(err);
        return sim_exit_code(SIM_EUSAGE);
    }
    if ((v = OPT("--max-runs")) && (cli_parse_u64(v, &o.max_runs) || o.max_runs == 0)) {
        snprintf(err, sizeof err, "--max-runs %.40s: expected a whole number from 1", v);
        die_usage(err);
        return sim_exit_code(SIM_EUSAGE);
    }
    if ((v = OPT("--max-time"))) {
        char *end;
        errno = 0;
        o.max_time_s = strtod(v, &end);
        if (errno || *end || !isfinite(o.max_time_s) || o.max_time_s <= 0 || o.max_time_s > 1e9) {
            snprintf(err, sizeof err, "--max-time %.40s: expected seconds above 0, up to 1e9", v);
            die_usage(err);
            return sim_exit_code(SIM_EUSAGE);
        }
    }
    const char *path = a.positional[0], *variant = OPT("--variant"), *out_opt = OPT("--out");
    o.check = OPT("--check");
    o.file = path;
    bool quiet = OPT("--quiet") != NULL;
#undef OPT
    char *text;
    int lrc = scn_read(path, &text, err, sizeof err);
    if (lrc) {
        fprintf(stderr, "edgeloss: %s\n", err);
        return sim_exit_code(lrc);
    }
    cJSON *doc = scn_variant_doc(text, path, variant, err, sizeof err);
    if (!doc) {
        scenario *all;
        /* It loads: the variant is what is missing. Name the ones there are, as run does. */
        if (variant && scn_parse(text, path, &all, err, sizeof err) == 0) {
            fprintf(stderr, "edgeloss: %s has no variant \"%s\" (it has:", path, variant);
            for (scenario *s = all; s; s = s->next)
                fprintf(stderr, " \"%s\"", s->variant);
            fprintf(stderr, ")\n");
            scn_free(all);
        } else {
            fprintf(stderr, "edgeloss: %s\n", err);
        }
        free(text);
        return sim_exit_code(SIM_EINPUT);
    }
    free(text);
    char out_path[4400];
    if (out_opt) {
        snprintf(out_path, sizeof out_path, "%s", out_opt);
    } else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char stem[1024], slug[SCN_VARIANT_MAX + 1];
        snprintf(stem, sizeof stem, "%s", base);
        size_t n = strlen(stem);
        if (n > 5 && strcmp(stem + n - 5, ".json") == 0)
            stem[n - 5] = '\0';
        snprintf(slug, sizeof slug, "%s", variant_of(doc));
        scn_slug(slug);
        snprintf(out_path, sizeof out_path, "runs/shrink/%s-%s-seed-%" PRIu64 ".json", stem, slug,
                 o.seed);
    }
    if (make_parent_dirs(out_path) != 0) {
        fprintf(stderr, "edgeloss: %s: cannot create its folder: %s\n", out_path, strerror(errno));
        cJSON_Delete(doc);
        return sim_exit_code(SIM_EUSAGE);
    }
    const char *tmp = getenv("TMPDIR");
    char scratch[4200];
    snprintf(scratch, sizeof scratch, "%s/edgeloss-shrink-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "edgeloss: %s: %s\n", scratch, strerror(errno));
        cJSON_Delete(doc);
        return sim_exit_code(SIM_EIO);
    }
    o.run_dir = scratch;
    o.stop = stop;
    o.progress = prog_new(stderr, prog_mode_for(stderr, quiet), (size_t)o.max_runs);
    o.log = quiet ? NULL : stderr;
    double t0 = wall_now();
    shr_result r;
    sim_err rc = shr_search(doc, &o, &r, err, sizeof err);
    prog_free(o.progress);
    remove_scratch(scratch);
    cJSON_Delete(doc);
    if (rc && !(rc == SIM_EINTR && r.doc)) {
        fprintf(stderr, "edgeloss: %s\n", err);
        shr_result_free(&r);
        return sim_exit_code(rc);
    }
    char werr[4600];
    if (shr_write(r.doc, out_path, path, werr, sizeof werr)) {
        fprintf(stderr, "edgeloss: %s\n", werr);
        shr_result_free(&r);
        return sim_exit_code(SIM_EIO);
    }
    printf("shrink %s, variant %s, seed %" PRIu64 "\n", path, variant_of(r.doc), o.seed);
    printf("still fails %s: expected %s, measured %s\n", r.check, r.failed.expected,
           r.failed.detail);
    print_sizes(&r.before, &r.after);
    printf("reductions taken: %" PRIu64 "%s\n", r.accepted, r.ntaken ? "" : " (none)");
    for (size_t i = 0; i < r.ntaken; i++)
        printf("  %s\n", r.taken[i]);
    if (r.minimal)
        printf("1-minimal: none of the %zu single reductions of the result fails %s (%" PRIu64
               " runs, %" PRIu64 " candidates)\n",
               shr_reductions(r.doc), r.check, r.runs, r.tried);
    else
        printf("NOT proven 1-minimal: stopped by %s after %" PRIu64 " runs (%" PRIu64
               " candidates); smaller, and it still fails %s\n",
               r.hit_runs   ? "--max-runs"
               : r.hit_time ? "--max-time"
                            : "an interrupt",
               r.runs, r.tried, r.check);
    char cmd[9000] = "";
    res_shell_arg(cmd, sizeof cmd, prog_name);
    res_shell_arg(cmd, sizeof cmd, "run");
    res_shell_arg(cmd, sizeof cmd, out_path);
    printf("wrote %s\n", out_path);
    printf("reproduce:%s --seed %" PRIu64 "\n", cmd, o.seed);
    fflush(stdout);
    if (!quiet)
        fprintf(stderr, "edgeloss shrink: %" PRIu64 " runs in %.1f s\n", r.runs, wall_now() - t0);
    int status = ferror(stdout) ? sim_exit_code(SIM_EIO) : 0;
    if (rc == SIM_EINTR) {
        fprintf(stderr, "edgeloss: %s; the smallest failing scenario so far is written\n", err);
        status = sim_exit_code(SIM_EINTR);
    }
    shr_result_free(&r);
    return status;
}
