/*
 * Ingest configuration file: parsing and strict validation. Every error names
 * the file, the JSON path and what was expected, because a silently ignored
 * typo in a cap would make a whole experiment wrong.
 */
#include "config.h"

#include "waf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct parse_ctx {
    const char *name;
    char *err;
    size_t errlen;
} parse_ctx;

static int fail(parse_ctx *pc, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(parse_ctx *pc, const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(pc->err, pc->errlen, "%s: %s: %s", pc->name, path, msg);
    return ING_CONFIG;
}

void ing_config_defaults(ing_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_body_bytes = ING_DEFAULT_MAX_BODY_BYTES;
    cfg->cap.status = 403;
    cfg->idle_timeout_s = ING_DEFAULT_IDLE_TIMEOUT_S;
    cfg->header_timeout_ns = ING_DEFAULT_HEADER_TIMEOUT_NS;
    cfg->body_timeout_ns = ING_DEFAULT_BODY_TIMEOUT_NS;
    cfg->min_body_rate = ING_DEFAULT_MIN_BODY_RATE;
    cfg->discard_limit_bytes = ING_DEFAULT_DISCARD_LIMIT_BYTES;
    cfg->max_items = ING_DEFAULT_MAX_ITEMS;
    cfg->memory_budget_bytes = ING_DEFAULT_MEMORY_BUDGET_BYTES;
}

void ing_config_free(ing_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nkeys; i++)
        free(cfg->keys[i].key);
    free(cfg->keys);
    free(cfg->waf_json);
    free(cfg->cors);
    for (size_t i = 0; i < cfg->nnotify; i++) {
        free(cfg->notify[i].path);
        free(cfg->notify[i].host);
    }
    free(cfg->notify);
    free(cfg);
}

/* Copies the notify entries of src into cfg (whose own are none yet); false when out of memory. */
static bool dup_notify(ing_config *cfg, const ing_config *src)
{
    if (!src->nnotify)
        return true;
    cfg->notify = calloc(src->nnotify, sizeof *cfg->notify);
    if (!cfg->notify)
        return false;
    for (size_t i = 0; i < src->nnotify; i++) {
        ing_notify *n = &cfg->notify[i];
        cfg->nnotify = i + 1; /* so that ing_config_free frees what was copied */
        n->path = strdup(src->notify[i].path);
        if (!n->path || (src->notify[i].host && !(n->host = strdup(src->notify[i].host))))
            return false;
    }
    return true;
}

ing_config *ing_config_dup(const ing_config *src)
{
    ing_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return NULL;
    *cfg = *src;
    cfg->keys = NULL;
    cfg->nkeys = 0;
    cfg->waf_json = NULL;
    cfg->cors = NULL;
    cfg->notify = NULL;
    cfg->nnotify = 0;
    if ((src->waf_json && !(cfg->waf_json = strdup(src->waf_json))) ||
        (src->cors && !(cfg->cors = strdup(src->cors)))) {
        ing_config_free(cfg);
        return NULL;
    }
    if (!dup_notify(cfg, src)) {
        ing_config_free(cfg);
        return NULL;
    }
    if (src->nkeys) {
        cfg->keys = calloc(src->nkeys, sizeof *cfg->keys);
        if (!cfg->keys) {
            ing_config_free(cfg);
            return NULL;
        }
        for (size_t i = 0; i < src->nkeys; i++) {
            cfg->keys[i].cap = src->keys[i].cap;
            cfg->keys[i].key = strdup(src->keys[i].key);
            cfg->nkeys = i + 1;
            if (!cfg->keys[i].key) {
                ing_config_free(cfg);
                return NULL;
            }
        }
    }
    return cfg;
}

ing_cap ing_config_cap_for(const ing_config *cfg, const char *key)
{
    if (key) {
        for (size_t i = 0; i < cfg->nkeys; i++)
            if (strcmp(cfg->keys[i].key, key) == 0 && cfg->keys[i].cap.items > 0)
                return cfg->keys[i].cap;
    }
    return cfg->cap;
}

bool ing_config_has_key(const ing_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->nkeys; i++)
        if (strcmp(cfg->keys[i].key, key) == 0)
            return true;
    return false;
}

/*
 * The host part of a Host header: without its port, and an IPv6 literal without its
 * brackets; into *len. Cloudflare's http.host has no port either.
 */
static const char *host_name(const char *host, size_t *len)
{
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        *len = end ? (size_t)(end - host - 1) : strlen(host + 1);
        return host + 1;
    }
    *len = strcspn(host, ":");
    return host;
}

bool ing_config_is_notify(const ing_config *cfg, const char *path, const char *host)
{
    for (size_t i = 0; i < cfg->nnotify; i++) {
        const ing_notify *n = &cfg->notify[i];
        if (strcmp(n->path, path) != 0)
            continue;
        if (!n->host)
            return true;
        size_t len = 0;
        const char *name = host ? host_name(host, &len) : NULL;
        if (name && len == strlen(n->host) && strncasecmp(name, n->host, len) == 0)
            return true;
    }
    return false;
}

/* A whole number in [lo, hi]; cJSON stores numbers as double, exact up to 2^53. */
static int get_uint(parse_ctx *pc, const cJSON *v, const char *path, double lo, double hi,
                    double *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return fail(pc, path, "expected a whole number");
    if (v->valuedouble < lo || v->valuedouble > hi)
        return fail(pc, path, "expected a number from %.0f to %.0f, got %.0f", lo, hi,
                    v->valuedouble);
    *out = v->valuedouble;
    return ING_OK;
}

/* A duration in seconds, from `lo` to `hi`, into ns. */
static int get_seconds(parse_ctx *pc, const cJSON *v, const char *path, double lo, double hi,
                       int64_t *out_ns)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo) || !(v->valuedouble <= hi))
        return fail(pc, path, "expected a number of seconds from %g to %g", lo, hi);
    *out_ns = (int64_t)llround(v->valuedouble * 1e9);
    return ING_OK;
}

/* "cors": the Access-Control-Allow-Origin to send, "*" or one origin. */
static int parse_cors(parse_ctx *pc, const cJSON *v, const char *path, ing_config *cfg)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    if (!s || !*s || strlen(s) > 256 || strpbrk(s, "\r\n,"))
        return fail(pc, path, "expected \"*\" or one origin, e.g. \"http://localhost:5173\"");
    free(cfg->cors);
    if (!(cfg->cors = strdup(s)))
        return fail(pc, path, "out of memory");
    return ING_OK;
}

static int parse_cap(parse_ctx *pc, const cJSON *obj, const char *path, ing_cap *cap)
{
    char sub[128];
    if (!cJSON_IsObject(obj))
        return fail(pc, path, "expected an object {\"items\": N, \"window_s\": S}");
    cap->status = 403;
    bool have_items = false, have_window = false;
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        snprintf(sub, sizeof sub, "%s.%s", path, m->string);
        double d = 0; /* converted below even when get_uint failed (then unused) */
        if (strcmp(m->string, "items") == 0) {
            if (get_uint(pc, m, sub, 1, 9007199254740992.0, &d))
                return ING_CONFIG;
            cap->items = (int64_t)d;
            have_items = true;
        } else if (strcmp(m->string, "window_s") == 0) {
            if (!cJSON_IsNumber(m) || !(m->valuedouble > 0) || m->valuedouble > 9.2e9)
                return fail(pc, sub, "expected a number of seconds > 0");
            cap->window_ns = (int64_t)llround(m->valuedouble * 1e9);
            if (cap->window_ns <= 0)
                return fail(pc, sub, "expected at least 1 ns");
            have_window = true;
        } else if (strcmp(m->string, "status") == 0) {
            if (!cJSON_IsNumber(m) ||
                (m->valuedouble != 403 && m->valuedouble != 429 && m->valuedouble != 503))
                return fail(pc, sub, "expected 403, 429 or 503");
            cap->status = (int)m->valuedouble;
        } else {
            return fail(pc, sub, "unknown key (expected \"items\", \"window_s\" or \"status\")");
        }
    }
    if (!have_items)
        return fail(pc, path, "missing \"items\"");
    if (!have_window)
        return fail(pc, path, "missing \"window_s\"");
    return ING_OK;
}

/*
 * The WAF's rules: compiled once here so that every mistake is reported when the file is
 * loaded (waf_compile names the JSON path under $.waf and, in an expression, the byte), then
 * kept as text for the server to compile its own (config.h says why).
 */
static int parse_waf(parse_ctx *pc, const cJSON *obj, ing_config *cfg)
{
    if (cfg->waf_json)
        return fail(pc, "$.waf", "given more than once");
    char msg[512] = "";
    waf *w = NULL;
    int rc = waf_compile(obj, "$.waf", &w, msg, sizeof msg);
    waf_free(w);
    if (rc == ING_NOMEM)
        return fail(pc, "$.waf", "out of memory");
    if (rc) {
        /* msg starts with the JSON path already. */
        snprintf(pc->err, pc->errlen, "%s: %s", pc->name, msg);
        return ING_CONFIG;
    }
    char *text = cJSON_PrintUnformatted(obj);
    cfg->waf_json = text ? strdup(text) : NULL; /* the config's strings are malloc's */
    cJSON_free(text);
    if (!cfg->waf_json)
        return fail(pc, "$.waf", "out of memory");
    return ING_OK;
}

/*
 * A notify path: one the ingest would route itself, exactly (no query: libmicrohttpd gives the
 * path without it). Not /stats (the tool's own window) nor under /r2/ (the object store):
 * taking those would hide them.
 */
static int check_notify_path(parse_ctx *pc, const char *sub, const char *p)
{
    size_t n = strlen(p);
    bool ok = n >= 1 && n <= ING_NOTIFY_PATH_MAX && p[0] == '/' && !strpbrk(p, "?#");
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)p[i] >= 0x21 && (unsigned char)p[i] <= 0x7e;
    if (!ok)
        return fail(pc, sub,
                    "expected a path starting with '/', 1 to %d printable ASCII characters"
                    " without blanks, '?' or '#'",
                    ING_NOTIFY_PATH_MAX);
    if (strcmp(p, "/stats") == 0 || strncmp(p, "/r2/", 4) == 0)
        return fail(pc, sub,
                    "%s is mock-ingest's own (/stats, the object store /r2/KEY): choose"
                    " another path",
                    p);
    return ING_OK;
}

/* A notify host: a DNS name or an IPv4 address, without a port (matched without the Host's). */
static int check_notify_host(parse_ctx *pc, const char *sub, const char *h)
{
    size_t n = strlen(h);
    bool ok = n >= 1 && n <= ING_NOTIFY_HOST_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
             (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-' || h[i] == '_';
    if (!ok)
        return fail(pc, sub,
                    "expected a host name of 1 to %d letters, digits, '.', '-' or '_', without"
                    " a port",
                    ING_NOTIFY_HOST_MAX);
    return ING_OK;
}

/* One entry of "notify": {"path": P} or {"path": P, "host": H}. */
static int parse_notify_entry(parse_ctx *pc, const cJSON *e, const char *path, ing_notify *out)
{
    if (!cJSON_IsObject(e))
        return fail(pc, path, "expected an object {\"path\": P, \"host\": H}");
    const cJSON *m;
    const char *p = NULL, *h = NULL;
    cJSON_ArrayForEach(m, e)
    {
        char sub[128];
        snprintf(sub, sizeof sub, "%s.%s", path, m->string);
        bool is_path = strcmp(m->string, "path") == 0;
        if (!is_path && strcmp(m->string, "host") != 0)
            return fail(pc, sub, "unknown key (expected \"path\" or \"host\")");
        if ((is_path ? p : h) != NULL)
            return fail(pc, sub, "given more than once");
        if (!cJSON_IsString(m))
            return fail(pc, sub, "expected a string");
        if (is_path ? check_notify_path(pc, sub, m->valuestring)
                    : check_notify_host(pc, sub, m->valuestring))
            return ING_CONFIG;
        *(is_path ? &p : &h) = m->valuestring;
    }
    if (!p)
        return fail(pc, path, "missing \"path\"");
    out->path = strdup(p);
    if (!out->path || (h && !(out->host = strdup(h))))
        return fail(pc, path, "out of memory");
    return ING_OK;
}

static bool same_notify(const ing_notify *a, const ing_notify *b)
{
    return strcmp(a->path, b->path) == 0 &&
           (a->host && b->host ? strcasecmp(a->host, b->host) == 0 : a->host == b->host);
}

static int parse_notify(parse_ctx *pc, const cJSON *arr, ing_config *cfg)
{
    if (cfg->notify)
        return fail(pc, "$.notify", "given more than once");
    if (!cJSON_IsArray(arr))
        return fail(pc, "$.notify", "expected an array of {\"path\": P, \"host\": H}");
    int n = cJSON_GetArraySize(arr);
    cfg->notify = calloc((size_t)n + 1, sizeof *cfg->notify); /* + 1: never calloc(0) */
    if (!cfg->notify)
        return fail(pc, "$.notify", "out of memory");
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        char path[64];
        snprintf(path, sizeof path, "$.notify[%d]", i);
        cfg->nnotify = (size_t)i + 1; /* so that ing_config_free frees this entry too */
        if (parse_notify_entry(pc, e, path, &cfg->notify[i]))
            return ING_CONFIG;
        for (int j = 0; j < i; j++)
            if (same_notify(&cfg->notify[j], &cfg->notify[i]))
                return fail(pc, path, "the same path and host as $.notify[%d]", j);
        i++;
    }
    return ING_OK;
}

static int parse_keys(parse_ctx *pc, const cJSON *arr, ing_config *cfg)
{
    if (!cJSON_IsArray(arr))
        return fail(pc, "$.keys", "expected an array of strings or {\"key\": K, \"cap\": {...}}");
    int n = cJSON_GetArraySize(arr);
    if (n == 0)
        return fail(pc, "$.keys", "expected at least one key (omit \"keys\" to turn auth off)");
    cfg->keys = calloc((size_t)n, sizeof *cfg->keys);
    if (!cfg->keys)
        return fail(pc, "$.keys", "out of memory");
    char path[96];
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        snprintf(path, sizeof path, "$.keys[%d]", i);
        ing_key *k = &cfg->keys[i];
        const char *key = NULL;
        if (cJSON_IsString(e)) {
            key = e->valuestring;
        } else if (cJSON_IsObject(e)) {
            const cJSON *m;
            cJSON_ArrayForEach(m, e)
            {
                char sub[128];
                snprintf(sub, sizeof sub, "%s.%s", path, m->string);
                if (strcmp(m->string, "key") == 0) {
                    if (!cJSON_IsString(m))
                        return fail(pc, sub, "expected a string");
                    key = m->valuestring;
                } else if (strcmp(m->string, "cap") == 0) {
                    if (parse_cap(pc, m, sub, &k->cap))
                        return ING_CONFIG;
                } else {
                    return fail(pc, sub, "unknown key (expected \"key\" or \"cap\")");
                }
            }
            if (!key)
                return fail(pc, path, "missing \"key\"");
        } else {
            return fail(pc, path, "expected a string or an object");
        }
        if (key[0] == '\0' || strpbrk(key, " \t\r\n"))
            return fail(pc, path, "expected a non-empty key without whitespace");
        for (int j = 0; j < i; j++)
            if (strcmp(cfg->keys[j].key, key) == 0)
                return fail(pc, path, "duplicate key \"%s\"", key);
        k->key = strdup(key);
        if (!k->key)
            return fail(pc, path, "out of memory");
        cfg->nkeys = (size_t)++i;
    }
    return ING_OK;
}

int ing_config_parse(const char *json, const char *name, ing_config **out, char *err, size_t errlen)
{
    parse_ctx pc = {name ? name : "config", err, errlen};
    *out = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        size_t off = end ? (size_t)(end - json) : 0;
        return fail(&pc, "$", "not valid JSON (error near byte %zu)", off);
    }
    ing_config *cfg = malloc(sizeof *cfg);
    if (!cfg) {
        cJSON_Delete(root);
        return fail(&pc, "$", "out of memory");
    }
    ing_config_defaults(cfg);
    int rc = ING_OK;
    if (!cJSON_IsObject(root)) {
        rc = fail(&pc, "$", "expected an object");
        goto done;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, root)
    {
        char path[96];
        snprintf(path, sizeof path, "$.%s", m->string);
        double d = 0; /* converted below even when get_uint failed (then unused) */
        if (strcmp(m->string, "keys") == 0) {
            rc = parse_keys(&pc, m, cfg);
        } else if (strcmp(m->string, "cap") == 0) {
            rc = parse_cap(&pc, m, path, &cfg->cap);
        } else if (strcmp(m->string, "max_body_bytes") == 0) {
            rc = get_uint(&pc, m, path, 1024, (double)((size_t)1 << 32), &d);
            cfg->max_body_bytes = (size_t)d;
        } else if (strcmp(m->string, "connection_limit") == 0) {
            rc = get_uint(&pc, m, path, 1, 65536, &d);
            cfg->connection_limit = (unsigned)d;
        } else if (strcmp(m->string, "idle_timeout_s") == 0 ||
                   strcmp(m->string, "connection_timeout_s") == 0) { /* its older name */
            rc = get_uint(&pc, m, path, 1, 3600, &d);
            cfg->idle_timeout_s = (unsigned)d;
        } else if (strcmp(m->string, "header_timeout_s") == 0) {
            rc = get_seconds(&pc, m, path, 0.1, 3600, &cfg->header_timeout_ns);
        } else if (strcmp(m->string, "body_timeout_s") == 0) {
            rc = get_seconds(&pc, m, path, 0.1, 86400, &cfg->body_timeout_ns);
        } else if (strcmp(m->string, "min_body_rate") == 0) {
            rc = get_uint(&pc, m, path, 0, 1e12, &d);
            cfg->min_body_rate = (uint64_t)d;
        } else if (strcmp(m->string, "discard_limit_bytes") == 0) {
            rc = get_uint(&pc, m, path, 0, (double)((size_t)1 << 32), &d);
            cfg->discard_limit_bytes = (size_t)d;
        } else if (strcmp(m->string, "max_items_per_request") == 0) {
            rc = get_uint(&pc, m, path, 1, 1e9, &d);
            cfg->max_items = (uint64_t)d;
        } else if (strcmp(m->string, "memory_budget_bytes") == 0) {
            rc = get_uint(&pc, m, path, 1 << 20, (double)((size_t)1 << 40), &d);
            cfg->memory_budget_bytes = (size_t)d;
        } else if (strcmp(m->string, "cors") == 0) {
            rc = parse_cors(&pc, m, path, cfg);
        } else if (strcmp(m->string, "waf") == 0) {
            rc = parse_waf(&pc, m, cfg);
        } else if (strcmp(m->string, "notify") == 0) {
            rc = parse_notify(&pc, m, cfg);
        } else {
            rc = fail(&pc, path,
                      "unknown key (expected one of keys, cap, max_body_bytes, "
                      "connection_limit, idle_timeout_s, header_timeout_s, body_timeout_s, "
                      "min_body_rate, discard_limit_bytes, max_items_per_request, "
                      "memory_budget_bytes, cors, waf, notify)");
        }
        if (rc)
            break;
    }
done:
    cJSON_Delete(root);
    if (rc) {
        ing_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return ING_OK;
}

int ing_config_load(const char *path, ing_config **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return ING_CONFIG;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory", path);
                return ING_NOMEM;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return ING_CONFIG;
    }
    buf[len] = '\0';
    int rc = ing_config_parse(buf, path, out, err, errlen);
    free(buf);
    return rc;
}
