/*
 * OTLP/HTTP JSON decoder. Parses into a per-batch arena (jsonarena.h), walks
 * the cJSON tree once and builds only what the store writes: a flat array of
 * items whose strings are copied into the batch's arena, and the non-key
 * attributes re-encoded as one compact JSON object per item (so they can be
 * queried with sqlite's json_extract).
 */
#include "otlp.h"

#include "jsonarena.h"
#include "otlp_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest items array (and scratch) a batch keeps for the next request. */
#define KEEP_BYTES ((size_t)1 << 20)

const char *otlp_kind_name(otlp_kind k)
{
    switch (k) {
    case OTLP_SPAN:
        return "span";
    case OTLP_METRIC:
        return "metric";
    case OTLP_LOG:
        return "log";
    }
    return "?";
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * An id field: absent or "" leaves `out` empty and is fine when optional.
 * Otherwise exactly `ndig` hex digits, not all zero (the spec's invalid id).
 */
static bool parse_id(const cJSON *v, char *out, size_t ndig, bool required)
{
    out[0] = '\0';
    if (!v || cJSON_IsNull(v))
        return !required;
    if (!cJSON_IsString(v))
        return false;
    const char *s = v->valuestring;
    if (s[0] == '\0')
        return !required;
    bool nonzero = false;
    size_t i = 0;
    for (; i < ndig && s[i]; i++) {
        int h = hexval((unsigned char)s[i]);
        if (h < 0)
            return false;
        nonzero |= h != 0;
        out[i] = "0123456789abcdef"[h];
    }
    out[i] = '\0';
    if (i != ndig || s[i] != '\0' || !nonzero) {
        out[0] = '\0';
        return false;
    }
    return true;
}

/* A uint64 as string of digits or JSON number; must fit int64 (year 2262). */
static bool parse_u64(const cJSON *v, int64_t *out)
{
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return true;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= 0) || d >= 9223372036854775807.0 || d != floor(d))
            return false;
        *out = (int64_t)d;
        return true;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return false;
    int64_t acc = 0;
    for (const char *p = v->valuestring; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        int d = *p - '0';
        if (acc > (INT64_MAX - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    *out = acc;
    return true;
}

/* A signed int64 as string or number (intValue, asInt, severityNumber). */
static bool parse_i64(const cJSON *v, int64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d > -9223372036854775808.0 && d < 9223372036854775807.0) || d != floor(d))
            return false;
        *out = (int64_t)d;
        return true;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return false;
    errno = 0;
    char *end;
    long long x = strtoll(v->valuestring, &end, 10);
    if (errno || *end)
        return false;
    *out = x;
    return true;
}

/* proto3 JSON doubles: a number, or "NaN"/"Infinity"/"-Infinity", or a numeric string. */
static bool parse_double(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (!cJSON_IsString(v))
        return false;
    const char *s = v->valuestring;
    if (strcmp(s, "NaN") == 0)
        *out = NAN;
    else if (strcmp(s, "Infinity") == 0)
        *out = INFINITY;
    else if (strcmp(s, "-Infinity") == 0)
        *out = -INFINITY;
    else {
        char *end;
        errno = 0;
        *out = strtod(s, &end);
        if (errno || *end || end == s)
            return false;
    }
    return true;
}

static const cJSON *field(const cJSON *obj, const char *name)
{
    /* Case-sensitive as proto3 JSON is; cJSON's default lookup is not. */
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static bool append_any(ing_buf *o, const cJSON *any);

/* Same text as "%lld", without printf: attribute values are mostly integers. */
bool otlp_append_int(ing_buf *o, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return ing_buf_append(o, p, (size_t)(tmp + sizeof tmp - p));
}

bool otlp_append_number(ing_buf *o, double d)
{
    if (isnan(d))
        return ing_buf_puts(o, "\"NaN\"");
    if (isinf(d))
        return ing_buf_puts(o, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    if (d == floor(d) && fabs(d) < 9.007199254740992e15)
        return signbit(d) && d == 0 ? ing_buf_puts(o, "-0") : otlp_append_int(o, (int64_t)d);
    return ing_buf_printf(o, "%.17g", d);
}

static bool append_kvlist(ing_buf *o, const cJSON *values)
{
    if (!ing_buf_putc(o, '{'))
        return false;
    bool first = true;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, values)
    {
        const cJSON *k = field(kv, "key");
        if (!cJSON_IsString(k))
            continue;
        if (!first && !ing_buf_putc(o, ','))
            return false;
        first = false;
        if (!ing_buf_json_str(o, k->valuestring) || !ing_buf_putc(o, ':') ||
            !append_any(o, field(kv, "value")))
            return false;
    }
    return ing_buf_putc(o, '}');
}

/* An AnyValue as plain JSON: strings, numbers, booleans, arrays, objects, null. */
static bool append_any(ing_buf *o, const cJSON *any)
{
    const cJSON *v;
    int64_t i;
    double d;
    if (!cJSON_IsObject(any))
        return ing_buf_puts(o, "null");
    if ((v = field(any, "stringValue")) && cJSON_IsString(v))
        return ing_buf_json_str(o, v->valuestring);
    if ((v = field(any, "boolValue")) && cJSON_IsBool(v))
        return ing_buf_puts(o, cJSON_IsTrue(v) ? "true" : "false");
    if ((v = field(any, "intValue"))) {
        if (parse_i64(v, &i))
            return otlp_append_int(o, i);
        return ing_buf_puts(o, "null");
    }
    if ((v = field(any, "doubleValue"))) {
        if (parse_double(v, &d))
            return otlp_append_number(o, d);
        return ing_buf_puts(o, "null");
    }
    if ((v = field(any, "bytesValue")) && cJSON_IsString(v))
        return ing_buf_json_str(o, v->valuestring); /* base64 as sent */
    if ((v = field(any, "arrayValue"))) {
        const cJSON *vals = field(v, "values");
        if (!ing_buf_putc(o, '['))
            return false;
        bool first = true;
        const cJSON *e;
        if (cJSON_IsArray(vals)) {
            cJSON_ArrayForEach(e, vals)
            {
                if (!first && !ing_buf_putc(o, ','))
                    return false;
                first = false;
                if (!append_any(o, e))
                    return false;
            }
        }
        return ing_buf_putc(o, ']');
    }
    if ((v = field(any, "kvlistValue"))) {
        const cJSON *vals = field(v, "values");
        return cJSON_IsArray(vals) ? append_kvlist(o, vals) : ing_buf_puts(o, "{}");
    }
    return ing_buf_puts(o, "null"); /* an empty AnyValue */
}

const char *otlp_keep(otlp_batch *b, const char *s)
{
    return ing_arena_strndup(&b->arena, s, strlen(s));
}

const char *otlp_keep_int(otlp_batch *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    return ing_arena_strndup(&b->arena, tmp, (size_t)n);
}

/* A string field copied into the batch's arena (NULL when absent or not a string). */
static const char *keep(otlp_batch *b, const cJSON *v)
{
    return cJSON_IsString(v) ? otlp_keep(b, v->valuestring) : NULL;
}

/* The string form of a join-key attribute (a string, or an int written out). */
static const char *key_value(otlp_batch *b, const cJSON *any)
{
    const cJSON *v = field(any, "stringValue");
    if (cJSON_IsString(v))
        return keep(b, v);
    int64_t i;
    if ((v = field(any, "intValue")) && parse_i64(v, &i))
        return otlp_keep_int(b, i);
    return NULL;
}

/*
 * Splits an attributes array into the two join keys and a JSON object text of
 * the rest. Returns false on allocation failure; a malformed entry (no string
 * key) is skipped, as the spec leaves its meaning undefined.
 */
static bool take_attrs(otlp_batch *b, const cJSON *attrs, const char **item_id,
                       const char **request_id, const char **json)
{
    *json = NULL;
    if (!cJSON_IsArray(attrs))
        return true;
    ing_buf *o = &b->scratch;
    ing_buf_reset(o);
    bool any = false;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, attrs)
    {
        const cJSON *k = field(kv, "key");
        if (!cJSON_IsString(k))
            continue;
        const char *key = k->valuestring;
        const cJSON *val = field(kv, "value");
        if (item_id && strcmp(key, OTLP_ATTR_ITEM_ID) == 0) {
            *item_id = key_value(b, val);
            continue;
        }
        if (request_id && strcmp(key, OTLP_ATTR_REQUEST_ID) == 0) {
            *request_id = key_value(b, val);
            continue;
        }
        if (!ing_buf_putc(o, any ? ',' : '{') || !ing_buf_json_str(o, key) ||
            !ing_buf_putc(o, ':') || !append_any(o, val))
            return false;
        any = true;
    }
    if (!any)
        return true;
    if (!ing_buf_putc(o, '}'))
        return false;
    *json = ing_arena_strndup(&b->arena, o->data, o->len);
    return *json != NULL;
}

/* Doubles the items array (not past max_items), charged to the batch's budget. */
static int grow_items(otlp_batch *b, size_t max_items)
{
    if (b->cap > SIZE_MAX / 2 / sizeof *b->items)
        return OTLP_NOMEM;
    size_t cap = b->cap ? b->cap * 2 : 64;
    if (max_items && cap > max_items)
        cap = max_items;
    size_t add = (cap - b->cap) * sizeof *b->items;
    if (!ing_budget_take(&b->budget, add))
        return OTLP_NOMEM;
    otlp_item *p = realloc(b->items, cap * sizeof *p);
    if (!p) {
        ing_budget_failed(&b->budget, add);
        return OTLP_NOMEM;
    }
    b->items = p;
    b->cap = cap;
    return OTLP_OK;
}

int otlp_new_item(otlp_ctx *c, otlp_kind kind, otlp_item **out)
{
    otlp_batch *b = c->b;
    if (c->max_items && b->n == c->max_items)
        return OTLP_TOO_LARGE;
    if (b->n == b->cap) {
        int rc = grow_items(b, c->max_items);
        if (rc)
            return rc;
    }
    otlp_item *it = &b->items[b->n++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->service = c->service;
    it->scope = c->scope;
    it->sent_for = c->sent_for;
    it->count = -1;
    *out = it;
    return OTLP_OK;
}

bool otlp_mark_rejected(otlp_batch *b, otlp_item *it, const char *reason)
{
    if (it->reject)
        return false;
    it->reject = reason;
    return b->rejected++ == 0;
}

void otlp_reject(otlp_batch *b, otlp_item *it, const char *reason, const char *what, size_t index)
{
    if (otlp_mark_rejected(b, it, reason))
        snprintf(b->first_error, sizeof b->first_error, "%s #%zu: %s", otlp_kind_name(it->kind),
                 index, what);
}

static int decode_span(otlp_ctx *c, const cJSON *sp)
{
    otlp_batch *b = c->b;
    size_t index = b->n;
    otlp_item *it;
    int rc = otlp_new_item(c, OTLP_SPAN, &it);
    if (rc)
        return rc;
    if (!take_attrs(b, field(sp, "attributes"), &it->item_id, &it->request_id, &it->attrs))
        return OTLP_NOMEM;
    it->name = keep(b, field(sp, "name"));
    if (!parse_id(field(sp, "traceId"), it->trace_id, 32, true))
        otlp_reject(b, it, OTLP_BAD_TRACE_ID, OTLP_BAD_TRACE_ID_SPAN_MSG, index);
    if (!parse_id(field(sp, "spanId"), it->span_id, 16, true))
        otlp_reject(b, it, OTLP_BAD_SPAN_ID, OTLP_BAD_SPAN_ID_SPAN_MSG, index);
    if (!parse_id(field(sp, "parentSpanId"), it->parent_span_id, 16, false))
        otlp_reject(b, it, OTLP_BAD_PARENT_SPAN_ID, OTLP_BAD_PARENT_MSG, index);
    if (!parse_u64(field(sp, "startTimeUnixNano"), &it->start_ns) ||
        !parse_u64(field(sp, "endTimeUnixNano"), &it->end_ns))
        otlp_reject(b, it, OTLP_BAD_TIME, OTLP_BAD_TIME_MSG, index);
    const cJSON *st = field(sp, "status");
    int64_t code = 0;
    if (cJSON_IsObject(st) && field(st, "code"))
        parse_i64(field(st, "code"), &code);
    it->severity = (int32_t)code;
    return OTLP_OK;
}

static int decode_point(otlp_ctx *c, const cJSON *pt, const char *name, const char *mtype)
{
    otlp_batch *b = c->b;
    size_t index = b->n;
    otlp_item *it;
    int rc = otlp_new_item(c, OTLP_METRIC, &it);
    if (rc)
        return rc;
    if (!cJSON_IsObject(pt)) {
        otlp_reject(b, it, "bad_point", "a data point must be an object", index);
        return OTLP_OK;
    }
    it->name = name;
    it->metric_type = mtype;
    if (!take_attrs(b, field(pt, "attributes"), &it->item_id, &it->request_id, &it->attrs))
        return OTLP_NOMEM;
    if (!parse_u64(field(pt, "startTimeUnixNano"), &it->start_ns) ||
        !parse_u64(field(pt, "timeUnixNano"), &it->end_ns))
        otlp_reject(b, it, OTLP_BAD_TIME, OTLP_BAD_TIME_MSG, index);
    const cJSON *v;
    int64_t i;
    if ((v = field(pt, "asDouble"))) {
        it->has_value = parse_double(v, &it->value);
    } else if ((v = field(pt, "asInt"))) {
        it->has_value = parse_i64(v, &i);
        it->value = (double)i;
    } else if ((v = field(pt, "sum"))) {
        it->has_value = parse_double(v, &it->value);
    }
    if (v && !it->has_value)
        otlp_reject(b, it, OTLP_BAD_VALUE, "the point's value is not a number", index);
    if ((v = field(pt, "count")) && !parse_u64(v, &it->count))
        otlp_reject(b, it, OTLP_BAD_VALUE, OTLP_BAD_COUNT_MSG, index);
    return OTLP_OK;
}

/*
 * A metric whose points cannot be read (its dataPoints is not an array): one
 * rejected item stands for them, so the client learns of it and the rest of
 * the request is still taken.
 */
static int reject_metric(otlp_ctx *c, const char *name, const char *mtype, const char *what)
{
    otlp_batch *b = c->b;
    size_t index = b->n;
    otlp_item *it;
    int rc = otlp_new_item(c, OTLP_METRIC, &it);
    if (rc)
        return rc;
    it->name = name;
    it->metric_type = mtype;
    if (!otlp_mark_rejected(b, it, "bad_data_points"))
        return OTLP_OK;
    if (name)
        snprintf(b->first_error, sizeof b->first_error, "metric \"%s\": %s", name, what);
    else
        snprintf(b->first_error, sizeof b->first_error, "metric #%zu: %s", index, what);
    return OTLP_OK;
}

/* One point type's object ("gauge": {"dataPoints": [...]}); absent or null holds no points. */
static int decode_points(otlp_ctx *c, const cJSON *data, const char *json_name, const char *name,
                         const char *mtype)
{
    char what[64];
    if (!cJSON_IsObject(data)) {
        snprintf(what, sizeof what, "%s must be an object", json_name);
        return reject_metric(c, name, mtype, what);
    }
    const cJSON *pts = field(data, "dataPoints");
    if (!pts || cJSON_IsNull(pts))
        return OTLP_OK;
    if (!cJSON_IsArray(pts))
        return reject_metric(c, name, mtype, "dataPoints must be an array");
    const cJSON *pt;
    cJSON_ArrayForEach(pt, pts)
    {
        int rc = decode_point(c, pt, name, mtype);
        if (rc)
            return rc;
    }
    return OTLP_OK;
}

static int decode_metric(otlp_ctx *c, const cJSON *m)
{
    static const struct {
        const char *json;
        const char *type;
    } types[] = {
        {"gauge", "gauge"},         {"sum", "sum"},
        {"histogram", "histogram"}, {"exponentialHistogram", "exponential_histogram"},
        {"summary", "summary"},
    };
    const char *name = keep(c->b, field(m, "name"));
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const cJSON *data = field(m, types[t].json);
        if (!data || cJSON_IsNull(data))
            continue;
        int rc = decode_points(c, data, types[t].json, name, types[t].type);
        if (rc)
            return rc;
    }
    return OTLP_OK;
}

static int decode_log(otlp_ctx *c, const cJSON *lr)
{
    otlp_batch *b = c->b;
    size_t index = b->n;
    otlp_item *it;
    int rc = otlp_new_item(c, OTLP_LOG, &it);
    if (rc)
        return rc;
    if (!take_attrs(b, field(lr, "attributes"), &it->item_id, &it->request_id, &it->attrs))
        return OTLP_NOMEM;
    it->name = keep(b, field(lr, "eventName"));
    if (!parse_u64(field(lr, "observedTimeUnixNano"), &it->start_ns) ||
        !parse_u64(field(lr, "timeUnixNano"), &it->end_ns))
        otlp_reject(b, it, OTLP_BAD_TIME, OTLP_BAD_TIME_MSG, index);
    if (!parse_id(field(lr, "traceId"), it->trace_id, 32, false))
        otlp_reject(b, it, OTLP_BAD_TRACE_ID, OTLP_BAD_TRACE_ID_LOG_MSG, index);
    if (!parse_id(field(lr, "spanId"), it->span_id, 16, false))
        otlp_reject(b, it, OTLP_BAD_SPAN_ID, OTLP_BAD_SPAN_ID_LOG_MSG, index);
    const cJSON *sev = field(lr, "severityNumber");
    int64_t s = 0;
    if (sev && !cJSON_IsNull(sev) && !parse_i64(sev, &s) && cJSON_IsString(sev))
        s = 0; /* an enum name instead of a number: keep the record, drop the number */
    it->severity = (int32_t)s;
    const cJSON *body = field(lr, "body");
    if (cJSON_IsObject(body)) {
        const cJSON *sv = field(body, "stringValue");
        if (cJSON_IsString(sv)) {
            it->body = keep(b, sv);
        } else {
            ing_buf *o = &b->scratch;
            ing_buf_reset(o);
            if (!append_any(o, body))
                return OTLP_NOMEM;
            /* An empty AnyValue is no body, as an absent one: the JS SDK's JSON exporter sends
             * {} for a record without a body, where its protobuf exporter sends nothing. */
            if (strcmp(o->data, "null") == 0)
                return OTLP_OK;
            it->body = ing_arena_strndup(&b->arena, o->data, o->len);
            if (!it->body)
                return OTLP_NOMEM;
        }
    }
    return OTLP_OK;
}

/* Where a signal's items sit: resource → scope → item arrays. */
typedef int (*item_fn)(otlp_ctx *c, const cJSON *item);
typedef struct shape {
    const char *top;    /* resourceSpans */
    const char *scopes; /* scopeSpans */
    const char *items;  /* spans */
    item_fn fn;
} shape;

static const shape shapes[] = {
    [OTLP_SIGNAL_TRACES] = {"resourceSpans", "scopeSpans", "spans", decode_span},
    [OTLP_SIGNAL_METRICS] = {"resourceMetrics", "scopeMetrics", "metrics", decode_metric},
    [OTLP_SIGNAL_LOGS] = {"resourceLogs", "scopeLogs", "logRecords", decode_log},
};

/* The resource's service.name into c->service; returns its edgeloss.request_id (or NULL). */
static const char *take_resource(otlp_ctx *c, const cJSON *rs)
{
    const char *rid = NULL;
    const cJSON *res = field(rs, "resource");
    const cJSON *attrs = cJSON_IsObject(res) ? field(res, "attributes") : NULL;
    if (!cJSON_IsArray(attrs))
        return NULL;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, attrs)
    {
        const cJSON *k = field(kv, "key");
        if (!cJSON_IsString(k))
            continue;
        if (strcmp(k->valuestring, "service.name") == 0)
            c->service = keep(c->b, field(field(kv, "value"), "stringValue"));
        else if (strcmp(k->valuestring, OTLP_ATTR_REQUEST_ID) == 0)
            rid = key_value(c->b, field(kv, "value"));
    }
    return rid;
}

/* The scope's name and the request its payload was sent for (the scope's over the resource's). */
static void take_scope(otlp_ctx *c, const cJSON *ss, const char *res_rid)
{
    const cJSON *scope = field(ss, "scope");
    c->scope = keep(c->b, field(scope, "name"));
    c->sent_for = res_rid;
    const cJSON *sattrs = field(scope, "attributes");
    if (!cJSON_IsArray(sattrs))
        return;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, sattrs)
    {
        const cJSON *k = field(kv, "key");
        if (cJSON_IsString(k) && strcmp(k->valuestring, OTLP_ATTR_REQUEST_ID) == 0)
            c->sent_for = key_value(c->b, field(kv, "value"));
    }
}

/* An optional array field: absent and null are empty, another type is a bad request. */
static bool is_array_or_absent(const cJSON *v)
{
    return !v || cJSON_IsNull(v) || cJSON_IsArray(v);
}

static int walk_items(otlp_ctx *c, const shape *sh, const cJSON *ss, int ri, int si, char *err,
                      size_t errlen)
{
    const cJSON *it_arr = field(ss, sh->items);
    if (!is_array_or_absent(it_arr)) {
        snprintf(err, errlen, "$.%s[%d].%s[%d].%s: expected an array", sh->top, ri, sh->scopes, si,
                 sh->items);
        return OTLP_BAD_REQUEST;
    }
    int ii = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, it_arr)
    {
        if (!cJSON_IsObject(item)) {
            snprintf(err, errlen, "$.%s[%d].%s[%d].%s[%d]: expected an object", sh->top, ri,
                     sh->scopes, si, sh->items, ii);
            return OTLP_BAD_REQUEST;
        }
        int rc = sh->fn(c, item);
        if (rc)
            return rc;
        ii++;
    }
    return OTLP_OK;
}

static int walk_resource(otlp_ctx *c, const shape *sh, const cJSON *rs, int ri, char *err,
                         size_t errlen)
{
    const char *res_rid = take_resource(c, rs);
    const cJSON *ss_arr = field(rs, sh->scopes);
    if (!is_array_or_absent(ss_arr)) {
        snprintf(err, errlen, "$.%s[%d].%s: expected an array", sh->top, ri, sh->scopes);
        return OTLP_BAD_REQUEST;
    }
    int si = 0;
    const cJSON *ss;
    cJSON_ArrayForEach(ss, ss_arr)
    {
        if (!cJSON_IsObject(ss)) {
            snprintf(err, errlen, "$.%s[%d].%s[%d]: expected an object", sh->top, ri, sh->scopes,
                     si);
            return OTLP_BAD_REQUEST;
        }
        take_scope(c, ss, res_rid);
        int rc = walk_items(c, sh, ss, ri, si, err, errlen);
        if (rc)
            return rc;
        si++;
    }
    return OTLP_OK;
}

/* Walks the signal's nesting; containers of the wrong type are a bad request. */
static int walk(otlp_batch *b, const cJSON *root, const shape *sh, size_t max_items, char *err,
                size_t errlen)
{
    const cJSON *rs_arr = field(root, sh->top);
    if (!is_array_or_absent(rs_arr)) {
        snprintf(err, errlen, "$.%s: expected an array", sh->top);
        return OTLP_BAD_REQUEST;
    }
    int ri = 0;
    const cJSON *rs;
    cJSON_ArrayForEach(rs, rs_arr)
    {
        if (!cJSON_IsObject(rs)) {
            snprintf(err, errlen, "$.%s[%d]: expected an object", sh->top, ri);
            return OTLP_BAD_REQUEST;
        }
        otlp_ctx c = {b, max_items, NULL, NULL, NULL};
        int rc = walk_resource(&c, sh, rs, ri, err, errlen);
        if (rc)
            return rc;
        ri++;
    }
    return OTLP_OK;
}

size_t otlp_batch_footprint(const otlp_batch *b)
{
    return b->cap * sizeof *b->items + b->arena.held + b->json.held + b->scratch.cap;
}

void otlp_batch_clear(otlp_batch *b)
{
    b->n = 0;
    b->rejected = 0;
    b->first_error[0] = '\0';
    ing_arena_reset(&b->arena);
    ing_arena_reset(&b->json);
    if (b->cap * sizeof *b->items > KEEP_BYTES) {
        free(b->items);
        b->items = NULL;
        b->cap = 0;
    }
    if (b->scratch.cap > KEEP_BYTES)
        ing_buf_free(&b->scratch);
}

/* Frees everything the batch kept for reuse (it holds no items). */
static void release(otlp_batch *b)
{
    free(b->items);
    b->items = NULL;
    b->cap = 0;
    ing_arena_free(&b->arena);
    ing_arena_free(&b->json);
    ing_buf_free(&b->scratch);
}

/*
 * Charges every allocation of the decode to b->budget, what the batch holds
 * already included: its footprint stays within the limit throughout.
 */
void otlp_budget_begin(otlp_batch *b, const otlp_limits *lim)
{
    size_t limit = lim ? lim->max_memory : 0;
    if (limit && otlp_batch_footprint(b) > limit)
        release(b);
    b->budget = (ing_budget){.limit = limit, .used = otlp_batch_footprint(b)};
    b->arena.budget = &b->budget;
    b->json.budget = &b->budget;
    b->scratch.budget = &b->budget;
}

void otlp_budget_end(otlp_batch *b)
{
    b->arena.budget = NULL;
    b->json.budget = NULL;
    b->scratch.budget = NULL;
}

/*
 * The final code and message of a decode. An allocation that failed anywhere
 * fails the decode, also where the code went on without it (keep() gives
 * NULL, an absent string): the limit first, as it is the reason malloc was
 * not even asked.
 */
int otlp_outcome(otlp_batch *b, int rc, const otlp_limits *lim, char *err, size_t errlen)
{
    if (b->budget.refused) {
        snprintf(err, errlen, "decoding this body needs more than %zu bytes of memory",
                 lim->max_memory);
        return OTLP_TOO_LARGE;
    }
    if (rc == OTLP_TOO_LARGE) {
        snprintf(err, errlen, "too many items in one request: more than %zu", lim->max_items);
        b->too_many_items = true;
        return rc;
    }
    if (rc == OTLP_NOMEM || b->budget.nomem) {
        snprintf(err, errlen, "out of memory");
        return OTLP_NOMEM;
    }
    return rc;
}

static int parse_and_walk(otlp_batch *b, otlp_signal sig, const char *body, size_t len,
                          size_t max_items, char *err, size_t errlen);

int otlp_decode(otlp_batch *b, otlp_signal sig, const char *body, size_t len,
                const otlp_limits *lim, char *err, size_t errlen)
{
    otlp_batch_clear(b);
    b->too_many_items = false;
    if (len == 0) {
        snprintf(err, errlen, "empty body: expected a JSON object");
        return OTLP_BAD_REQUEST;
    }
    /* cJSON takes a NUL for whitespace and the end of the text, so "{}\0junk"
     * would pass with the junk unread; JSON allows no NUL outside strings, and
     * inside them it is written \u0000. */
    const char *nul = memchr(body, '\0', len);
    if (nul) {
        snprintf(err, errlen, "body holds a NUL byte at offset %zu", (size_t)(nul - body));
        return OTLP_BAD_REQUEST;
    }
    otlp_budget_begin(b, lim);
    json_arena_begin(&b->json);
    int rc = parse_and_walk(b, sig, body, len, lim ? lim->max_items : 0, err, errlen);
    /* Items hold copies in b->arena: the tree dies with the scope. */
    json_arena_end(&b->json);
    otlp_budget_end(b);
    rc = otlp_outcome(b, rc, lim, err, errlen);
    if (rc)
        otlp_batch_clear(b);
    return rc;
}

static int parse_and_walk(otlp_batch *b, otlp_signal sig, const char *body, size_t len,
                          size_t max_items, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        /* Also when an allocation failed (otlp_outcome() tells): cJSON cannot say. */
        size_t off = end && end >= body ? (size_t)(end - body) : 0;
        snprintf(err, errlen, "body is not valid JSON (error near byte %zu)", off);
        return OTLP_BAD_REQUEST;
    }
    /* Trailing garbage after the value makes the body invalid too. */
    while (end && (size_t)(end - body) < len &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && (size_t)(end - body) < len && *end != '\0') {
        snprintf(err, errlen, "body is not valid JSON (trailing data at byte %zu)",
                 (size_t)(end - body));
        return OTLP_BAD_REQUEST;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "$: expected a JSON object at the top level");
        return OTLP_BAD_REQUEST;
    }
    const shape *sh = &shapes[(unsigned)sig <= OTLP_SIGNAL_LOGS ? sig : OTLP_SIGNAL_LOGS];
    return walk(b, root, sh, max_items, err, errlen);
}

void otlp_batch_free(otlp_batch *b)
{
    otlp_batch_clear(b);
    release(b);
}
