#include "schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 512

typedef struct vctx {
    const sk_schema *s;
    const char *file;
    char *err;
    size_t errlen;
} vctx;

static int fail(vctx *v, const char *jpath, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sk_verror(char *err, size_t errlen, const char *file, const char *jpath, const char *fmt,
              va_list ap)
{
    char msg[384];
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(err, errlen, "%s: %s: %s", file, jpath, msg);
    return SIM_EINPUT;
}

int sk_error(char *err, size_t errlen, const char *file, const char *jpath, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sk_verror(err, errlen, file, jpath, fmt, ap);
    va_end(ap);
    return SIM_EINPUT;
}

static int fail(vctx *v, const char *jpath, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sk_verror(v->err, v->errlen, v->file, jpath, fmt, ap);
    va_end(ap);
    return SIM_EINPUT;
}

const sk_key *sk_find(const sk_schema *s, const char *path)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].path, path) == 0)
            return &s->keys[i];
    return NULL;
}

/* The parent of a key path ("a.b.c" -> "a.b", "a" -> ""), and its last part. */
static void split(const char *path, char *parent, size_t plen, const char **leaf)
{
    const char *dot = strrchr(path, '.');
    if (!dot) {
        parent[0] = '\0';
        *leaf = path;
        return;
    }
    size_t n = (size_t)(dot - path);
    if (n >= plen)
        n = plen - 1;
    memcpy(parent, path, n);
    parent[n] = '\0';
    *leaf = dot + 1;
}

size_t sk_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* "did you mean" among the children of `parent`, or the list of them. */
static int unknown(vctx *v, const char *jpath, const char *parent, const char *name,
                   const char *what)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < v->s->n; i++) {
        char p[PATH_MAX_LEN];
        const char *leaf;
        split(v->s->keys[i].path, p, sizeof p, &leaf);
        if (strcmp(p, parent) != 0 || strchr(leaf, '[') || strcmp(leaf, "") == 0)
            continue;
        size_t d = sk_distance(name, leaf);
        if (d < best_d) {
            best_d = d;
            best = leaf;
        }
        int n = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", leaf);
        if (n > 0 && (size_t)n < sizeof list - used)
            used += (size_t)n;
    }
    size_t len = strlen(name);
    if (best && best_d <= (len < 6 ? 2 : len / 3))
        return fail(v, jpath, "unknown %s \"%s\" (did you mean \"%s\"?)", what, name, best);
    return fail(v, jpath, "unknown %s \"%s\" (expected one of: %s)", what, name, list);
}

const char *sk_type_name(const cJSON *x)
{
    if (cJSON_IsObject(x))
        return "an object";
    if (cJSON_IsArray(x))
        return "an array";
    if (cJSON_IsString(x))
        return "a string";
    if (cJSON_IsNumber(x))
        return "a number";
    if (cJSON_IsBool(x))
        return "a boolean";
    return "null";
}

static bool in_choices(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static int validate(vctx *v, const cJSON *x, const char *jpath, const char *kpath, const sk_key *k,
                    unsigned depth);

static int validate_steps(vctx *v, const cJSON *x, const char *jpath, const sk_key *k,
                          unsigned depth)
{
    if (!cJSON_IsArray(x))
        return fail(v, jpath, "expected an array of steps, got %s", sk_type_name(x));
    int n = cJSON_GetArraySize(x);
    if (n < k->min)
        return fail(v, jpath, "expected at least %.0f step(s)", k->min);
    if (depth > v->s->max_depth)
        return fail(v, jpath, "steps nested too deeply (at most %u levels)", v->s->max_depth);
    int i = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, x)
    {
        char sp[PATH_MAX_LEN];
        snprintf(sp, sizeof sp, "%s[%d]", jpath, i++);
        if (!cJSON_IsObject(st) || cJSON_GetArraySize(st) != 1)
            return fail(v, sp,
                        "expected a step: an object with exactly one key naming the operation, "
                        "e.g. {\"await\": {...}}");
        const char *op = st->child->string;
        /* "span.name" would otherwise find the field's key and pass as a step. */
        if (strpbrk(op, ".[]"))
            return unknown(v, sp, "step", op, "step");
        char kp[PATH_MAX_LEN], jp[PATH_MAX_LEN];
        snprintf(kp, sizeof kp, "step.%s", op);
        snprintf(jp, sizeof jp, "%s.%s", sp, op);
        const sk_key *opk = sk_find(v->s, kp);
        if (!opk)
            return unknown(v, sp, "step", op, "step");
        if (validate(v, st->child, jp, kp, opk, depth + 1))
            return SIM_EINPUT;
    }
    return 0;
}

static int validate_object(vctx *v, const cJSON *x, const char *jpath, const char *kpath,
                           unsigned depth)
{
    if (!cJSON_IsObject(x))
        return fail(v, jpath, "expected an object, got %s", sk_type_name(x));
    const cJSON *m;
    cJSON_ArrayForEach(m, x)
    {
        char kp[PATH_MAX_LEN], jp[PATH_MAX_LEN];
        snprintf(kp, sizeof kp, "%s%s%s", kpath, *kpath ? "." : "", m->string);
        snprintf(jp, sizeof jp, "%s.%s", jpath, m->string);
        /* A dotted member ("workload.rate_per_s" at the top) would find a nested key's row
         * and then be ignored by the compiler, which reads members by their own names. */
        const sk_key *ck = strpbrk(m->string, ".[]") ? NULL : sk_find(v->s, kp);
        if (!ck)
            return unknown(v, jp, kpath, m->string, "key");
        if (validate(v, m, jp, kp, ck, depth))
            return SIM_EINPUT;
    }
    /* Required children that are absent. */
    for (size_t i = 0; i < v->s->n; i++) {
        const sk_key *ck = &v->s->keys[i];
        if (!(ck->flags & SK_REQUIRED))
            continue;
        char parent[PATH_MAX_LEN];
        const char *leaf;
        split(ck->path, parent, sizeof parent, &leaf);
        if (strcmp(parent, kpath) == 0 && !cJSON_GetObjectItemCaseSensitive(x, leaf))
            return fail(v, jpath, "missing \"%s\" (%s)", leaf, ck->help);
    }
    return 0;
}

static int validate(vctx *v, const cJSON *x, const char *jpath, const char *kpath, const sk_key *k,
                    unsigned depth)
{
    char why[256];
    switch (k->type) {
    case SK_OBJECT:
        return validate_object(v, x, jpath, kpath, depth);
    case SK_ARRAY: {
        if (!cJSON_IsArray(x))
            return fail(v, jpath, "expected an array, got %s", sk_type_name(x));
        int n = cJSON_GetArraySize(x);
        if (n < k->min || n > k->max)
            return fail(v, jpath, "expected %.0f to %.0f elements, got %d", k->min, k->max, n);
        char kp[PATH_MAX_LEN];
        snprintf(kp, sizeof kp, "%s[]", kpath);
        const sk_key *ek = sk_find(v->s, kp);
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, x)
        {
            char jp[PATH_MAX_LEN];
            snprintf(jp, sizeof jp, "%s[%d]", jpath, i++);
            if (ek && validate(v, e, jp, kp, ek, depth))
                return SIM_EINPUT;
        }
        return 0;
    }
    case SK_INT:
    case SK_NUMBER:
        if (!cJSON_IsNumber(x))
            return fail(v, jpath, "expected %s, got %s",
                        k->type == SK_INT ? "a whole number" : "a number", sk_type_name(x));
        if (!isfinite(x->valuedouble))
            return fail(v, jpath, "expected a number from %g to %g, got one too large for a double",
                        k->min, k->max);
        if (k->type == SK_INT && x->valuedouble != floor(x->valuedouble))
            return fail(v, jpath, "expected a whole number, got %g", x->valuedouble);
        if (x->valuedouble < k->min || x->valuedouble > k->max)
            return fail(v, jpath, "expected a number from %g to %g, got %g", k->min, k->max,
                        x->valuedouble);
        return 0;
    case SK_STRING:
        if (!cJSON_IsString(x))
            return fail(v, jpath, "expected a string, got %s", sk_type_name(x));
        if (strlen(x->valuestring) < k->min)
            return fail(v, jpath, "expected a non-empty string");
        return 0;
    case SK_BOOL:
        if (!cJSON_IsBool(x))
            return fail(v, jpath, "expected true or false, got %s", sk_type_name(x));
        return 0;
    case SK_ENUM:
        if (!cJSON_IsString(x) || !in_choices(k->choices, x->valuestring))
            return fail(v, jpath, "expected one of %s, got %s%s%s", k->choices,
                        cJSON_IsString(x) ? "\"" : "",
                        cJSON_IsString(x) ? x->valuestring : sk_type_name(x),
                        cJSON_IsString(x) ? "\"" : "");
        return 0;
    case SK_DIST: {
        dist d;
        if (sk_parse_dist(x, &d, why, sizeof why))
            return fail(v, jpath, "%s", why);
        return 0;
    }
    case SK_STEPS:
        return validate_steps(v, x, jpath, k, depth);
    case SK_LATER:
        return fail(v, jpath, "not supported yet (%s)", k->help);
    case SK_CUSTOM:
        return 0;
    }
    return 0;
}

/*
 * JSON allows a member twice and cJSON keeps both, but every reader here takes the first:
 * a second "rate_per_s" would be silently ignored. Walks the whole document (its depth is
 * bounded by cJSON's nesting limit). O(members^2) per object: objects here are small.
 */
static int no_duplicates(vctx *v, const cJSON *x, char *jpath, size_t used)
{
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, x)
    {
        int n = cJSON_IsObject(x) ? snprintf(jpath + used, PATH_MAX_LEN - used, ".%s", m->string)
                                  : snprintf(jpath + used, PATH_MAX_LEN - used, "[%d]", i);
        size_t sub = n < 0 ? used : used + (size_t)n;
        if (sub >= PATH_MAX_LEN)
            sub = PATH_MAX_LEN - 1;
        if (cJSON_IsObject(x))
            for (const cJSON *o = x->child; o != m; o = o->next)
                if (strcmp(o->string, m->string) == 0)
                    return fail(v, jpath,
                                "duplicate key \"%s\" (JSON readers disagree on which "
                                "one counts; give it once)",
                                m->string);
        if ((cJSON_IsObject(m) || cJSON_IsArray(m)) && no_duplicates(v, m, jpath, sub))
            return SIM_EINPUT;
        jpath[used] = '\0';
        i++;
    }
    return 0;
}

int sk_validate(const sk_schema *s, const char *file, const cJSON *root, char *err, size_t errlen)
{
    vctx v = {s, file, err, errlen};
    char jpath[PATH_MAX_LEN] = "$";
    if (cJSON_IsObject(root) && no_duplicates(&v, root, jpath, 1))
        return SIM_EINPUT;
    return validate_object(&v, root, "$", "", 0);
}

int sk_validate_at(const sk_schema *s, const char *file, const cJSON *x, const char *jpath,
                   const char *kpath, char *err, size_t errlen)
{
    vctx v = {s, file, err, errlen};
    const sk_key *k = sk_find(s, kpath);
    if (!k)
        return fail(&v, jpath, "internal error: no key %s", kpath);
    return validate(&v, x, jpath, kpath, k, 0);
}

int sk_unknown(const sk_schema *s, const char *file, const char *jpath, const char *parent,
               const char *name, char *err, size_t errlen)
{
    vctx v = {s, file, err, errlen};
    return unknown(&v, jpath, parent, name, "key");
}

static const struct {
    const char *name;
    double ns;
} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"min", 60e9}, {"h", 3600e9}};

static int to_ns(double x, double unit, int64_t *out, char *why, size_t whylen)
{
    double ns = x * unit;
    if (!isfinite(ns) || ns < 0 || ns > (double)DIST_MAX_NS) {
        snprintf(why, whylen, "expected a duration from 0 to %g s (about 31 years), got %g",
                 (double)DIST_MAX_NS / 1e9, x);
        return SIM_EINPUT;
    }
    *out = (int64_t)llround(ns);
    return 0;
}

int sk_parse_dist(const cJSON *v, dist *out, char *why, size_t whylen)
{
    static const char expect[] =
        "expected a distribution: {\"fixed_ms\": 5}, {\"uniform_s\": [1, 5]}, "
        "{\"exponential_ms\": 100} (the mean), {\"lognormal_ms\": {\"p50\": 5, \"p99\": 40}}, "
        "{\"empirical_ms\": [3, 5, 40]} or {\"empirical_ms\": {\"file\": \"latencies.csv\"}}";
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) != 1) {
        snprintf(why, whylen, "%s", expect);
        return SIM_EINPUT;
    }
    const cJSON *m = v->child;
    const char *us = strrchr(m->string, '_');
    double unit = 0;
    for (size_t i = 0; us && i < sizeof units / sizeof units[0]; i++)
        if (strcmp(us + 1, units[i].name) == 0)
            unit = units[i].ns;
    size_t klen = us ? (size_t)(us - m->string) : 0;
    if (unit == 0) {
        snprintf(why, whylen,
                 "\"%s\": expected <kind>_<unit> with unit ns, us, ms, s, min or h; %s", m->string,
                 expect);
        return SIM_EINPUT;
    }
    if (klen == 5 && strncmp(m->string, "fixed", 5) == 0) {
        out->kind = DIST_FIXED;
        if (!cJSON_IsNumber(m)) {
            snprintf(why, whylen, "\"%s\": expected a number", m->string);
            return SIM_EINPUT;
        }
        if (to_ns(m->valuedouble, unit, &out->a_ns, why, whylen))
            return SIM_EINPUT;
        out->b_ns = out->a_ns;
        return 0;
    }
    if (klen == 7 && strncmp(m->string, "uniform", 7) == 0) {
        out->kind = DIST_UNIFORM;
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 || !cJSON_IsNumber(m->child) ||
            !cJSON_IsNumber(m->child->next)) {
            snprintf(why, whylen, "\"%s\": expected [low, high]", m->string);
            return SIM_EINPUT;
        }
        if (to_ns(m->child->valuedouble, unit, &out->a_ns, why, whylen) ||
            to_ns(m->child->next->valuedouble, unit, &out->b_ns, why, whylen))
            return SIM_EINPUT;
        if (out->a_ns > out->b_ns) {
            snprintf(why, whylen, "\"%s\": expected low <= high", m->string);
            return SIM_EINPUT;
        }
        return 0;
    }
    if (klen == 11 && strncmp(m->string, "exponential", 11) == 0) {
        out->kind = DIST_EXPONENTIAL;
        if (!cJSON_IsNumber(m) || !(m->valuedouble > 0)) {
            snprintf(why, whylen, "\"%s\": expected the mean, a number > 0", m->string);
            return SIM_EINPUT;
        }
        if (to_ns(m->valuedouble, unit, &out->a_ns, why, whylen))
            return SIM_EINPUT;
        out->b_ns = 0;
        return 0;
    }
    if (klen == 9 && strncmp(m->string, "lognormal", 9) == 0) {
        out->kind = DIST_LOGNORMAL;
        const cJSON *p50 = cJSON_GetObjectItemCaseSensitive(m, "p50");
        const cJSON *p99 = cJSON_GetObjectItemCaseSensitive(m, "p99");
        if (!cJSON_IsObject(m) || cJSON_GetArraySize(m) != 2 || !cJSON_IsNumber(p50) ||
            !cJSON_IsNumber(p99)) {
            snprintf(why, whylen, "\"%s\": expected {\"p50\": x, \"p99\": y}", m->string);
            return SIM_EINPUT;
        }
        if (!(p50->valuedouble > 0) || !(p99->valuedouble > p50->valuedouble)) {
            snprintf(why, whylen, "\"%s\": expected 0 < p50 < p99", m->string);
            return SIM_EINPUT;
        }
        if (to_ns(p50->valuedouble, unit, &out->a_ns, why, whylen) ||
            to_ns(p99->valuedouble, unit, &out->b_ns, why, whylen))
            return SIM_EINPUT;
        if (out->a_ns < 1 || out->b_ns <= out->a_ns) {
            snprintf(why, whylen, "\"%s\": p50 and p99 must differ by at least 1 ns", m->string);
            return SIM_EINPUT;
        }
        return 0;
    }
    if (klen == 9 && strncmp(m->string, "empirical", 9) == 0) {
        /* Shape only: the scenario compiler loads the samples (sk_empirical_samples). */
        out->kind = DIST_EMPIRICAL;
        out->a_ns = (int64_t)unit;
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(m, "file");
        if (cJSON_IsObject(m) && cJSON_GetArraySize(m) == 1 && cJSON_IsString(file) &&
            file->valuestring[0])
            return 0;
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) < 1) {
            snprintf(why, whylen,
                     "\"%s\": expected a non-empty array of samples or {\"file\": \"path\"}",
                     m->string);
            return SIM_EINPUT;
        }
        int i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, m)
        {
            int64_t ns;
            if (!cJSON_IsNumber(x)) {
                snprintf(why, whylen, "\"%s\"[%d]: expected a number", m->string, i);
                return SIM_EINPUT;
            }
            if (to_ns(x->valuedouble, unit, &ns, why, whylen))
                return SIM_EINPUT;
            i++;
        }
        return 0;
    }
    snprintf(why, whylen, "\"%s\": unknown kind; %s", m->string, expect);
    return SIM_EINPUT;
}

static const char *type_label(const sk_key *k, char *buf, size_t len)
{
    switch (k->type) {
    case SK_OBJECT:
        return "object";
    case SK_ARRAY:
        return "array";
    case SK_INT:
        snprintf(buf, len, "integer %g..%g", k->min, k->max);
        return buf;
    case SK_NUMBER:
        snprintf(buf, len, "number %g..%g", k->min, k->max);
        return buf;
    case SK_STRING:
        return "string";
    case SK_BOOL:
        return "boolean";
    case SK_ENUM: {
        /* "one of `a`, `b`": a bare | would split the Markdown cell. */
        size_t o = (size_t)snprintf(buf, len, "one of `");
        for (const char *p = k->choices; *p && o + 6 < len; p++) {
            if (*p == '|') {
                memcpy(buf + o, "`, `", 4);
                o += 4;
            } else {
                buf[o++] = *p;
            }
        }
        snprintf(buf + o, len - o, "`");
        return buf;
    }
    case SK_DIST:
        return "distribution";
    case SK_STEPS:
        return "steps";
    case SK_LATER:
        return "not supported yet";
    case SK_CUSTOM:
        return "see below";
    }
    return "?";
}

void sk_markdown(const sk_schema *s, FILE *out)
{
    for (int pass = 0; pass < 2; pass++) {
        fputs(pass == 0 ? "| key | type | default | meaning |\n|---|---|---|---|\n"
                        : "\n### Program steps\n\n| step | type | default | meaning |\n"
                          "|---|---|---|---|\n",
              out);
        for (size_t i = 0; i < s->n; i++) {
            const sk_key *k = &s->keys[i];
            bool is_step = strncmp(k->path, "step.", 5) == 0;
            if (is_step != (pass == 1))
                continue;
            char buf[256];
            fprintf(out, "| `%s` | %s | %s%s%s | %s |\n", is_step ? k->path + 5 : k->path,
                    type_label(k, buf, sizeof buf), k->def ? "`" : "",
                    k->def ? k->def : (k->flags & SK_REQUIRED ? "required" : ""), k->def ? "`" : "",
                    k->help);
        }
    }
}
