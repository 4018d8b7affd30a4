/* Loading, checking and configuring an exporter plugin (see plugin.h). */
#include "plugin.h"

#include "error.h"
#include "schema.h"

#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct exp_plugin {
    void *dl;
    el_exporter desc; /* the plugin's, copied to this build's size: absent members are NULL */
};

#define NAME_MAX_LEN 64
#define STATE_MAX    ((size_t)1 << 30)
#define KNOWN_CAPS                                                                                 \
    (EL_CAP_TAKES_SPANS_AT_END | EL_CAP_FLUSH_REACHES_IT | EL_CAP_BATCHES_ACROSS_REQUESTS)
/* The first version's descriptor ends with destroy; layer_of is optional. */
#define DESC_MIN_SIZE (offsetof(el_exporter, destroy) + sizeof(void (*)(void)))

const char *exp_descriptor_problem(const el_exporter *d, char *why, size_t whylen)
{
    if (!d) {
        snprintf(why, whylen, "returned no descriptor (NULL)");
        return why;
    }
    if (d->abi != EL_EXPORTER_ABI) {
        snprintf(why, whylen,
                 "built for exporter ABI %u, this edgeloss speaks ABI %d: rebuild it against "
                 "this edgeloss's <edgeloss/exporter.h>",
                 d->abi, EL_EXPORTER_ABI);
        return why;
    }
    if (d->size < DESC_MIN_SIZE) {
        snprintf(why, whylen, "a descriptor of %u bytes, expected at least %zu for ABI %d", d->size,
                 DESC_MIN_SIZE, EL_EXPORTER_ABI);
        return why;
    }
    size_t nl = d->name ? strnlen(d->name, NAME_MAX_LEN + 1) : 0;
    if (nl == 0 || nl > NAME_MAX_LEN) {
        snprintf(why, whylen, "expected a name of 1 to %d characters", NAME_MAX_LEN);
        return why;
    }
    for (size_t i = 0; i < nl; i++) {
        unsigned char ch = (unsigned char)d->name[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
            snprintf(why, whylen, "expected a name of printable ASCII without spaces or quotes");
            return why;
        }
    }
    if (d->caps & ~KNOWN_CAPS) {
        snprintf(why, whylen, "capabilities 0x%x: bits 0x%x are not of ABI %d", d->caps,
                 d->caps & ~KNOWN_CAPS, EL_EXPORTER_ABI);
        return why;
    }
    if ((unsigned)d->bundle > EL_BUNDLE_PRIVATE) {
        snprintf(why, whylen, "bundle %d: expected EL_BUNDLE_NONE, _PUBLIC or _PRIVATE",
                 (int)d->bundle);
        return why;
    }
    if (d->state_size > STATE_MAX || d->config_size > STATE_MAX) {
        snprintf(why, whylen, "state_size %zu / config_size %zu: expected at most %zu bytes",
                 d->state_size, d->config_size, STATE_MAX);
        return why;
    }
    const char *missing = !d->create         ? "create"
                          : !d->export_items ? "export_items"
                          : !d->flush        ? "flush"
                          : !d->shutdown     ? "shutdown"
                          : !d->destroy      ? "destroy"
                                             : NULL;
    if (missing) {
        snprintf(why, whylen, "its method %s is NULL (only configure and layer_of are optional)",
                 missing);
        return why;
    }
    return NULL;
}

int exp_plugin_load(const char *path, exp_plugin **out, const el_exporter **desc, char *err,
                    size_t errlen)
{
    *out = NULL;
    *desc = NULL;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        snprintf(err, errlen, "%s: cannot load the exporter plugin: %s", path,
                 e ? e : "unknown error");
        return SIM_EINPUT;
    }
    /* dlsym returns an object pointer; POSIX guarantees it converts to a function's. */
    el_exporter_entry entry;
    void *sym = dlsym(dl, EL_EXPORTER_SYMBOL);
    memcpy(&entry, &sym, sizeof entry);
    if (!sym) {
        snprintf(err, errlen,
                 "%s: not an exporter plugin: it has no symbol %s (expected "
                 "const el_exporter *%s(void), see <edgeloss/exporter.h>)",
                 path, EL_EXPORTER_SYMBOL, EL_EXPORTER_SYMBOL);
        dlclose(dl);
        return SIM_EINPUT;
    }
    const el_exporter *d = entry();
    char why[300];
    if (exp_descriptor_problem(d, why, sizeof why)) {
        snprintf(err, errlen, "%s: the exporter plugin's descriptor: %s", path, why);
        dlclose(dl);
        return SIM_EINPUT;
    }
    exp_plugin *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->dl = dl;
    memcpy(&p->desc, d, d->size < sizeof p->desc ? d->size : sizeof p->desc);
    p->desc.size = sizeof p->desc;
    *out = p;
    *desc = &p->desc;
    return 0;
}

void exp_plugin_close(exp_plugin *p)
{
    if (!p)
        return;
    dlclose(p->dl);
    free(p);
}

/* ---- options ---- */

typedef struct opts {
    el_options pub; /* first: the handle configure() gets */
    const cJSON *obj;
    const char *file, *jpath;
    char *err;
    size_t errlen;
    bool failed;
    char **asked; /* every key it asked for, copied (a plugin may build keys in a buffer) */
    size_t nasked, capasked;
    char *(*dup)(void *ud, const char *s);
    void *dup_ud;
} opts;

static int ofail(opts *o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ofail(opts *o, const char *key, const char *fmt, ...)
{
    if (!o->failed) {
        char jp[400];
        snprintf(jp, sizeof jp, "%s.%s", o->jpath, key ? key : "?");
        va_list ap;
        va_start(ap, fmt);
        sk_verror(o->err, o->errlen, o->file, jp, fmt, ap);
        va_end(ap);
        o->failed = true;
    }
    return SIM_EINPUT;
}

/* The value at a dotted key ("breaker.failures"), or NULL. */
static const cJSON *lookup(opts *o, const char *key)
{
    if (!key)
        return NULL;
    bool seen = false;
    for (size_t i = 0; i < o->nasked && !seen; i++)
        seen = strcmp(o->asked[i], key) == 0;
    if (!seen) {
        if (o->nasked == o->capasked) {
            size_t cap = o->capasked ? 2 * o->capasked : 16;
            char **na = realloc(o->asked, cap * sizeof *na);
            if (!na)
                abort();
            o->asked = na;
            o->capasked = cap;
        }
        if (!(o->asked[o->nasked] = strdup(key)))
            abort();
        o->nasked++;
    }
    const cJSON *v = o->obj;
    const char *p = key;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char part[128];
        if (n == 0 || n >= sizeof part || !cJSON_IsObject(v))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        v = cJSON_GetObjectItemCaseSensitive(v, part);
        p += n + (dot != NULL);
    }
    return v == o->obj ? NULL : v;
}

static int o_number(el_options *eo, const char *key, double def, double min, double max,
                    double *out)
{
    opts *o = (opts *)eo;
    const cJSON *v = lookup(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return ofail(o, key, "expected a number in [%g, %g], got %s", min, max, sk_type_name(v));
    if (!(v->valuedouble >= min && v->valuedouble <= max))
        return ofail(o, key, "expected a number in [%g, %g], got %g", min, max, v->valuedouble);
    *out = v->valuedouble;
    return 0;
}

static int o_integer(el_options *eo, const char *key, int64_t def, int64_t min, int64_t max,
                     int64_t *out)
{
    opts *o = (opts *)eo;
    const cJSON *v = lookup(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
    if (!cJSON_IsNumber(v))
        return ofail(o, key, "expected an integer in [%lld, %lld], got %s", (long long)min,
                     (long long)max, sk_type_name(v));
    /* The range first: a value past int64 cannot be converted to test it. */
    if (!(d >= (double)min && d <= (double)max))
        return ofail(o, key, "expected an integer in [%lld, %lld], got %.17g", (long long)min,
                     (long long)max, d);
    if (d != floor(d))
        return ofail(o, key, "expected an integer in [%lld, %lld], got %.17g", (long long)min,
                     (long long)max, d);
    *out = (int64_t)d;
    return 0;
}

static int o_boolean(el_options *eo, const char *key, int def, int *out)
{
    opts *o = (opts *)eo;
    const cJSON *v = lookup(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsBool(v))
        return ofail(o, key, "expected true or false, got %s", sk_type_name(v));
    *out = cJSON_IsTrue(v);
    return 0;
}

static int o_string(el_options *eo, const char *key, const char *def, const char **out)
{
    opts *o = (opts *)eo;
    const cJSON *v = lookup(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsString(v))
        return ofail(o, key, "expected a string, got %s", sk_type_name(v));
    *out = o->dup(o->dup_ud, v->valuestring);
    return 0;
}

static int o_duration(el_options *eo, const char *key, double def_s, double min_s, double max_s,
                      int64_t *ns)
{
    double v;
    int rc = o_number(eo, key, def_s, min_s, max_s, &v);
    if (rc)
        return rc;
    if (!(fabs(v) < 9.2e9)) /* past int64 ns */
        return ofail((opts *)eo, key, "expected at most 9.2e9 seconds, got %g", v);
    *ns = (int64_t)llround(v * 1e9);
    return 0;
}

static int o_fail(el_options *eo, const char *key, const char *msg)
{
    return ofail((opts *)eo, key, "%s", msg ? msg : "refused by the exporter");
}

static const el_options_api options_api = {
    .size = sizeof(el_options_api),
    .number = o_number,
    .integer = o_integer,
    .boolean = o_boolean,
    .string = o_string,
    .duration = o_duration,
    .fail = o_fail,
};

/* Whether `path` (a member, dotted below `options`) is a key asked for or an object that holds
 * one; else the first member under it that is not, in `bad`. */
static bool all_asked(const opts *o, const cJSON *obj, const char *prefix, char *bad, size_t badlen)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, obj)
    {
        char path[400];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k->string);
        bool asked = false, under = false;
        size_t pl = strlen(path);
        for (size_t i = 0; i < o->nasked; i++) {
            asked |= strcmp(o->asked[i], path) == 0;
            under |= strncmp(o->asked[i], path, pl) == 0 && o->asked[i][pl] == '.';
        }
        if (asked && !strchr(k->string, '.'))
            continue;
        if (under && cJSON_IsObject(k)) {
            if (!all_asked(o, k, path, bad, badlen))
                return false;
            continue;
        }
        snprintf(bad, badlen, "%s", path);
        return false;
    }
    return true;
}

static int configure_checked(const el_exporter *d, void *config, opts *op, bool strict,
                             const cJSON *options, char *err, size_t errlen)
{
    const char *file = op->file, *jpath = op->jpath;
    int rc = d->configure(config, &op->pub);
    const opts *o = op;
    if (op->failed)
        return SIM_EINPUT;
    if (rc) {
        sk_error(err, errlen, file, jpath, "the exporter %s refused its options (configure: %d)",
                 d->name, rc);
        return SIM_EINPUT;
    }
    /* A key it never asked for is a typo or a setting of another exporter: say which. */
    char bad[400];
    if (strict && options && !all_asked(o, options, "", bad, sizeof bad)) {
        const char *best = NULL;
        size_t bd = SIZE_MAX;
        char list[600] = "";
        size_t ll = 0;
        for (size_t i = 0; i < o->nasked; i++) {
            size_t kd = sk_distance(bad, o->asked[i]);
            if (kd < bd) {
                bd = kd;
                best = o->asked[i];
            }
            int w = snprintf(list + ll, sizeof list - ll, "%s%s", i ? ", " : "", o->asked[i]);
            if (w > 0 && (size_t)w < sizeof list - ll)
                ll += (size_t)w;
        }
        char jp[800];
        snprintf(jp, sizeof jp, "%s.%s", jpath, bad);
        size_t bl = strlen(bad); /* the key table's rule for a did-you-mean */
        if (best && bd <= (bl < 6 ? 2 : bl / 3))
            sk_error(err, errlen, file, jp, "unknown option of %s (did you mean %s?)", d->name,
                     best);
        else
            sk_error(err, errlen, file, jp, "unknown option of %s (it reads: %s)", d->name,
                     o->nasked ? list : "nothing");
        return SIM_EINPUT;
    }
    return 0;
}

int exp_configure(const el_exporter *d, const cJSON *options, bool strict, const char *file,
                  const char *jpath, void *config, char *(*dup)(void *ud, const char *s),
                  void *dup_ud, char *err, size_t errlen)
{
    if (options && !cJSON_IsObject(options)) {
        sk_error(err, errlen, file, jpath, "expected an object of the exporter's options, got %s",
                 sk_type_name(options));
        return SIM_EINPUT;
    }
    if (!d->configure) {
        if (strict && options && options->child) {
            sk_error(err, errlen, file, jpath, "the exporter %s takes no options", d->name);
            return SIM_EINPUT;
        }
        return 0;
    }
    opts o = {.pub = {&options_api},
              .obj = options,
              .file = file,
              .jpath = jpath,
              .err = err,
              .errlen = errlen,
              .dup = dup,
              .dup_ud = dup_ud};
    int rc = configure_checked(d, config, &o, strict, options, err, errlen);
    for (size_t i = 0; i < o.nasked; i++)
        free(o.asked[i]);
    free(o.asked);
    return rc;
}
