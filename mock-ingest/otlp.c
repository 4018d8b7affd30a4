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
#include <strings.h>

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

/* How reading a number went: exact, malformed, or a JSON number past 2^53 (rounded). */
typedef enum { RD_OK, RD_BAD, RD_INEXACT } rd;

/* 2^53: from here a double no longer holds every integer, so the digits sent are unknown. */
#define EXACT_LIMIT 9007199254740992.0

/* A uint64 as string of digits or JSON number; must fit int64 (year 2262). */
static rd parse_u64(const cJSON *v, int64_t *out)
{
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return RD_OK;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= 0) || d >= 9223372036854775807.0 || d != floor(d))
            return RD_BAD;
        if (d >= EXACT_LIMIT)
            return RD_INEXACT;
        *out = (int64_t)d;
        return RD_OK;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return RD_BAD;
    int64_t acc = 0;
    for (const char *p = v->valuestring; *p; p++) {
        if (*p < '0' || *p > '9')
            return RD_BAD;
        int d = *p - '0';
        if (acc > (INT64_MAX - d) / 10)
            return RD_BAD;
        acc = acc * 10 + d;
    }
    *out = acc;
    return RD_OK;
}

/* A signed int64 as string or number (intValue, asInt, severityNumber). */
static rd parse_i64(const cJSON *v, int64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d > -9223372036854775808.0 && d < 9223372036854775807.0) || d != floor(d))
            return RD_BAD;
        if (fabs(d) >= EXACT_LIMIT)
            return RD_INEXACT;
        *out = (int64_t)d;
        return RD_OK;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return RD_BAD;
    errno = 0;
    char *end;
    long long x = strtoll(v->valuestring, &end, 10);
    if (errno || *end)
        return RD_BAD;
    *out = x;
    return RD_OK;
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

/*
 * A proto3 JSON enum: its number, or its name (`prefix` then one of `names`,
 * indexed by value, in any case). Absent is 0; false for anything else.
 */
static bool parse_enum(const cJSON *v, const char *prefix, const char *const *names, int n,
                       int32_t *out)
{
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return true;
    if (cJSON_IsString(v)) {
        size_t pl = strlen(prefix);
        if (strncmp(v->valuestring, prefix, pl) == 0)
            for (int i = 0; i < n; i++)
                if (strcasecmp(v->valuestring + pl, names[i]) == 0) {
                    *out = i;
                    return true;
                }
    }
    int64_t x;
    if (parse_i64(v, &x) != RD_OK || x < INT32_MIN || x > INT32_MAX)
        return false;
    *out = (int32_t)x;
    return true;
}

/* A uint32 field (a dropped count, flags): 0 when absent or not one. */
static uint32_t parse_u32(const cJSON *v)
{
    int64_t x;
    return parse_i64(v, &x) == RD_OK && x > 0 && x <= UINT32_MAX ? (uint32_t)x : 0;
}

static const cJSON *field(const cJSON *obj, const char *name)
{
    /* Case-sensitive as proto3 JSON is; cJSON's default lookup is not. */
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/*
 * What writing an item's nested values found wrong, reported once the item
 * is written: the first value that could not be read exactly, and the first
 * malformed one (with its reason and message).
 */
typedef struct quirks {
    const char *inexact;
    const char *bad_reason;
    const char *bad_msg;
} quirks;

static void quirk_bad(quirks *q, const char *reason, const char *msg)
{
    if (!q->bad_reason) {
        q->bad_reason = reason;
        q->bad_msg = msg;
    }
}

static void quirk_read(quirks *q, rd r, const char *what, const char *reason, const char *msg)
{
    if (r == RD_INEXACT && !q->inexact)
        q->inexact = what;
    else if (r == RD_BAD)
        quirk_bad(q, reason, msg);
}

static bool append_any(ing_buf *o, const cJSON *any, quirks *q);

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

static bool append_kvlist(ing_buf *o, const cJSON *values, quirks *q)
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
            !append_any(o, field(kv, "value"), q))
            return false;
    }
    return ing_buf_putc(o, '}');
}

/* An AnyValue as plain JSON: strings, numbers, booleans, arrays, objects, null. */
static bool append_any(ing_buf *o, const cJSON *any, quirks *q)
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
        rd r = parse_i64(v, &i);
        if (r == RD_INEXACT && !q->inexact)
            q->inexact = "an intValue";
        if (r == RD_OK)
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
                if (!append_any(o, e, q))
                    return false;
            }
        }
        return ing_buf_putc(o, ']');
    }
    if ((v = field(any, "kvlistValue"))) {
        const cJSON *vals = field(v, "values");
        return cJSON_IsArray(vals) ? append_kvlist(o, vals, q) : ing_buf_puts(o, "{}");
    }
    return ing_buf_puts(o, "null"); /* an empty AnyValue */
}

/* The AnyValue case of a log body (OTLP_BODY_*), NULL for an empty one. */
static const char *body_type(const cJSON *any)
{
    static const struct {
        const char *json;
        const char *type;
    } cases[] = {
        {"stringValue", OTLP_BODY_STRING}, {"boolValue", OTLP_BODY_BOOL},
        {"intValue", OTLP_BODY_INT},       {"doubleValue", OTLP_BODY_DOUBLE},
        {"bytesValue", OTLP_BODY_BYTES},   {"arrayValue", OTLP_BODY_ARRAY},
        {"kvlistValue", OTLP_BODY_KVLIST},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cJSON *v = field(any, cases[i].json);
        if (v && !cJSON_IsNull(v))
            return cases[i].type;
    }
    return NULL;
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

/* As keep, and NULL for "" too: a field proto3 cannot tell from an absent one. */
static const char *keep_set(otlp_batch *b, const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] ? otlp_keep(b, v->valuestring) : NULL;
}

/* The string form of a join-key attribute (a string, or an int written out). */
static const char *key_value(otlp_batch *b, const cJSON *any, quirks *q)
{
    const cJSON *v = field(any, "stringValue");
    if (cJSON_IsString(v))
        return keep(b, v);
    int64_t i;
    if ((v = field(any, "intValue"))) {
        rd r = parse_i64(v, &i);
        quirk_read(q, r, "a join key's intValue", NULL, NULL);
        if (r == RD_OK)
            return otlp_keep_int(b, i);
    }
    return NULL;
}

/*
 * Splits an attributes array into the two join keys and a JSON object text of
 * the rest. Returns false on allocation failure; a malformed entry (no string
 * key) is skipped, as the spec leaves its meaning undefined.
 */
static bool take_attrs(otlp_batch *b, const cJSON *attrs, otlp_item *it, quirks *q)
{
    it->attrs = NULL;
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
        if (strcmp(key, OTLP_ATTR_ITEM_ID) == 0) {
            it->item_id = key_value(b, val, q);
            continue;
        }
        if (strcmp(key, OTLP_ATTR_REQUEST_ID) == 0) {
            it->request_id = key_value(b, val, q);
            continue;
        }
        if (!ing_buf_putc(o, any ? ',' : '{') || !ing_buf_json_str(o, key) ||
            !ing_buf_putc(o, ':') || !append_any(o, val, q))
            return false;
        any = true;
    }
    if (!any)
        return true;
    if (!ing_buf_putc(o, '}'))
        return false;
    it->attrs = ing_arena_strndup(&b->arena, o->data, o->len);
    return it->attrs != NULL;
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

/* Rejects `it` for `what`, a value that cannot be read exactly (inexact_integer). */
static void reject_inexact(otlp_batch *b, otlp_item *it, const char *what, size_t index)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s%s", what, OTLP_INEXACT_MSG);
    otlp_reject(b, it, OTLP_INEXACT_INTEGER, msg, index);
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
    size_t index = b->n;
    otlp_item *it = &b->items[b->n++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->service = c->service;
    it->scope = c->scope;
    it->scope_version = c->scope_version;
    it->resource = c->resource;
    it->sent_for = c->sent_for;
    it->count = -1;
    it->temporality = -1;
    it->monotonic = -1;
    const char *inherited = c->inherit_reject ? c->inherit_reject : c->scope_reject;
    if (inherited)
        reject_inexact(b, it, inherited, index);
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

/* Rejects the item for what writing it found (quirks), the inexact integer first. */
static void reject_quirks(otlp_batch *b, otlp_item *it, const quirks *q, size_t index)
{
    if (q->inexact)
        reject_inexact(b, it, q->inexact, index);
    if (q->bad_reason)
        otlp_reject(b, it, q->bad_reason, q->bad_msg, index);
}

/* Reads one of the item's times (a uint64 field named `name` of obj). */
static void read_time(quirks *q, const cJSON *obj, const char *name, int64_t *out)
{
    quirk_read(q, parse_u64(field(obj, name), out), name, OTLP_BAD_TIME, OTLP_BAD_TIME_MSG);
}

void otlp_detail_begin(otlp_batch *b)
{
    ing_buf_reset(&b->detail);
}

bool otlp_detail_key(otlp_batch *b, const char *key)
{
    ing_buf *o = &b->detail;
    return ing_buf_putc(o, o->len ? ',' : '{') && ing_buf_json_str(o, key) && ing_buf_putc(o, ':');
}

bool otlp_detail_end(otlp_batch *b, const char **out)
{
    *out = NULL;
    if (b->detail.len == 0)
        return true;
    if (!ing_buf_putc(&b->detail, '}'))
        return false;
    *out = ing_arena_strndup(&b->arena, b->detail.data, b->detail.len);
    return *out != NULL;
}

bool otlp_put_count(ing_buf *o, const char *key, uint32_t n)
{
    return n == 0 || (ing_buf_putc(o, ',') && ing_buf_json_str(o, key) && ing_buf_putc(o, ':') &&
                      otlp_append_int(o, n));
}

bool otlp_detail_count(otlp_batch *b, const char *key, uint32_t n)
{
    return n == 0 || (otlp_detail_key(b, key) && otlp_append_int(&b->detail, n));
}

/* otlp_put_count of a uint32 field `name` of obj. */
static bool put_count(ing_buf *o, const cJSON *obj, const char *name, const char *key)
{
    return otlp_put_count(o, key, parse_u32(field(obj, name)));
}

/* otlp_detail_count of a uint32 field `name` of obj. */
static bool detail_count(otlp_batch *b, const cJSON *obj, const char *name, const char *key)
{
    return otlp_detail_count(b, key, parse_u32(field(obj, name)));
}

/* `,"attrs":{...}` for a non-empty attributes array of obj. */
static bool put_attrs(ing_buf *o, const cJSON *obj, const char *name, quirks *q)
{
    const cJSON *attrs = field(obj, name);
    if (!cJSON_IsArray(attrs))
        return true;
    size_t mark = o->len;
    if (!ing_buf_puts(o, ",\"attrs\":") || !append_kvlist(o, attrs, q))
        return false;
    if (o->len - mark == strlen(",\"attrs\":{}"))
        o->len = mark; /* no attribute with a key */
    return true;
}

/* An id of a link or exemplar: lower-case hex, "" when absent or not hex. */
static bool put_hex(ing_buf *o, const cJSON *v)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (hexval((unsigned char)s[i]) < 0)
            n = 0;
    if (n % 2)
        n = 0;
    if (!ing_buf_reserve(o, n + 2))
        return false;
    o->data[o->len++] = '"';
    for (size_t i = 0; i < n; i++)
        o->data[o->len++] = "0123456789abcdef"[hexval((unsigned char)s[i])];
    o->data[o->len++] = '"';
    o->data[o->len] = '\0';
    return true;
}

/* `,"key":"hex"` for an id of obj that is set. */
static bool put_id(ing_buf *o, const cJSON *obj, const char *name, const char *key)
{
    const cJSON *v = field(obj, name);
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return true;
    return ing_buf_putc(o, ',') && ing_buf_json_str(o, key) && ing_buf_putc(o, ':') &&
           put_hex(o, v);
}

/* A span event: {"time_ns","name","attrs","dropped_attributes_count"}. */
static bool put_event(ing_buf *o, const cJSON *ev, quirks *q)
{
    int64_t t;
    read_time(q, ev, "timeUnixNano", &t);
    const cJSON *name = field(ev, "name");
    return ing_buf_puts(o, "{\"time_ns\":") && otlp_append_int(o, t) &&
           ing_buf_puts(o, ",\"name\":") &&
           ing_buf_json_str(o, cJSON_IsString(name) ? name->valuestring : "") &&
           put_attrs(o, ev, "attributes", q) &&
           put_count(o, ev, "droppedAttributesCount", "dropped_attributes_count") &&
           ing_buf_putc(o, '}');
}

/* A span link: {"trace_id","span_id","trace_state","attrs","dropped_attributes_count","flags"}. */
static bool put_link(ing_buf *o, const cJSON *l, quirks *q)
{
    const cJSON *ts = field(l, "traceState");
    return ing_buf_puts(o, "{\"trace_id\":") && put_hex(o, field(l, "traceId")) &&
           ing_buf_puts(o, ",\"span_id\":") && put_hex(o, field(l, "spanId")) &&
           (!cJSON_IsString(ts) || !ts->valuestring[0] ||
            (ing_buf_puts(o, ",\"trace_state\":") && ing_buf_json_str(o, ts->valuestring))) &&
           put_attrs(o, l, "attributes", q) &&
           put_count(o, l, "droppedAttributesCount", "dropped_attributes_count") &&
           put_count(o, l, "flags", "flags") && ing_buf_putc(o, '}');
}

typedef bool (*put_fn)(ing_buf *o, const cJSON *v, quirks *q);

/* `"key":[...]` into the detail for a non-empty array field of obj (its objects only). */
static bool detail_list(otlp_batch *b, const cJSON *obj, const char *name, const char *key,
                        put_fn put, quirks *q)
{
    const cJSON *arr = field(obj, name);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return true;
    ing_buf *o = &b->detail;
    if (!otlp_detail_key(b, key) || !ing_buf_putc(o, '['))
        return false;
    bool first = true;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsObject(e))
            continue;
        if ((!first && !ing_buf_putc(o, ',')) || !put(o, e, q))
            return false;
        first = false;
    }
    return ing_buf_putc(o, ']');
}

static const char *const span_kinds[] = {"unspecified", "internal", "server",
                                         "client",      "producer", "consumer"};
static const char *const temporalities[] = {"unspecified", "delta", "cumulative"};
static const char *const status_codes[] = {"unset", "ok", "error"};
static const char *const severities[] = {
    "unspecified", "trace",  "trace2", "trace3", "trace4", "debug",  "debug2", "debug3", "debug4",
    "info",        "info2",  "info3",  "info4",  "warn",   "warn2",  "warn3",  "warn4",  "error",
    "error2",      "error3", "error4", "fatal",  "fatal2", "fatal3", "fatal4"};

const char *otlp_span_kind_name(int32_t kind)
{
    return kind >= 0 && kind < 6 ? span_kinds[kind] : NULL;
}

const char *otlp_temporality_name(int32_t t)
{
    return t >= 0 && t < 3 ? temporalities[t] : NULL;
}

static int decode_span(otlp_ctx *c, const cJSON *sp)
{
    otlp_batch *b = c->b;
    size_t index = b->n;
    otlp_item *it;
    int rc = otlp_new_item(c, OTLP_SPAN, &it);
    if (rc)
        return rc;
    quirks q = {0};
    if (!take_attrs(b, field(sp, "attributes"), it, &q))
        return OTLP_NOMEM;
    it->name = keep(b, field(sp, "name"));
    if (!parse_id(field(sp, "traceId"), it->trace_id, 32, true))
        otlp_reject(b, it, OTLP_BAD_TRACE_ID, OTLP_BAD_TRACE_ID_SPAN_MSG, index);
    if (!parse_id(field(sp, "spanId"), it->span_id, 16, true))
        otlp_reject(b, it, OTLP_BAD_SPAN_ID, OTLP_BAD_SPAN_ID_SPAN_MSG, index);
    if (!parse_id(field(sp, "parentSpanId"), it->parent_span_id, 16, false))
        otlp_reject(b, it, OTLP_BAD_PARENT_SPAN_ID, OTLP_BAD_PARENT_MSG, index);
    read_time(&q, sp, "startTimeUnixNano", &it->start_ns);
    read_time(&q, sp, "endTimeUnixNano", &it->end_ns);
    const cJSON *st = field(sp, "status");
    int32_t code = 0;
    if (cJSON_IsObject(st)) {
        parse_enum(field(st, "code"), "STATUS_CODE_", status_codes, 3, &code);
        it->status_message = keep_set(b, field(st, "message"));
    }
    it->severity = code;
    parse_enum(field(sp, "kind"), "SPAN_KIND_", span_kinds, 6, &it->span_kind);
    it->trace_state = keep_set(b, field(sp, "traceState"));
    it->flags = parse_u32(field(sp, "flags"));
    otlp_detail_begin(b);
    if (!detail_count(b, sp, "droppedAttributesCount", "dropped_attributes_count") ||
        !detail_list(b, sp, "events", "events", put_event, &q) ||
        !detail_count(b, sp, "droppedEventsCount", "dropped_events_count") ||
        !detail_list(b, sp, "links", "links", put_link, &q) ||
        !detail_count(b, sp, "droppedLinksCount", "dropped_links_count") ||
        !otlp_detail_end(b, &it->detail))
        return OTLP_NOMEM;
    reject_quirks(b, it, &q, index);
    return OTLP_OK;
}

/*
 * A number array field of obj as [...] (absent: []): bucket counts (uint64, `counts`) or
 * explicit bounds (doubles).
 */
static bool put_numbers(ing_buf *o, const cJSON *obj, const char *name, bool counts, quirks *q)
{
    if (!ing_buf_putc(o, '['))
        return false;
    const cJSON *arr = field(obj, name);
    bool first = true;
    const cJSON *e;
    if (cJSON_IsArray(arr)) {
        cJSON_ArrayForEach(e, arr)
        {
            if (!first && !ing_buf_putc(o, ','))
                return false;
            first = false;
            int64_t v = 0;
            double d = 0;
            bool ok;
            if (counts) {
                quirk_read(q, parse_u64(e, &v), name, OTLP_BAD_VALUE,
                           "bucket counts must be unsigned integers");
                ok = otlp_append_int(o, v);
            } else {
                if (!parse_double(e, &d))
                    quirk_bad(q, OTLP_BAD_VALUE, "explicitBounds must be numbers");
                ok = otlp_append_number(o, d);
            }
            if (!ok)
                return false;
        }
    } else if (arr && !cJSON_IsNull(arr)) {
        quirk_bad(q, OTLP_BAD_VALUE, "bucket counts and bounds must be arrays");
    }
    return ing_buf_putc(o, ']');
}

/* `"key":d` into the detail for an optional double field of obj that is present. */
static bool detail_double(otlp_batch *b, const cJSON *obj, const char *name, const char *key,
                          quirks *q)
{
    const cJSON *v = field(obj, name);
    double d;
    if (!v || cJSON_IsNull(v))
        return true;
    if (!parse_double(v, &d)) {
        quirk_bad(q, OTLP_BAD_VALUE, "min, max and zeroThreshold must be numbers");
        return true;
    }
    return otlp_detail_key(b, key) && otlp_append_number(&b->detail, d);
}

/* An exponential histogram's positive or negative buckets, when it has any. */
static bool detail_buckets(otlp_batch *b, const cJSON *pt, const char *name, quirks *q)
{
    const cJSON *bk = field(pt, name);
    const cJSON *counts = field(bk, "bucketCounts");
    if (!cJSON_IsArray(counts) || cJSON_GetArraySize(counts) == 0)
        return true;
    int64_t offset = 0;
    if (parse_i64(field(bk, "offset"), &offset) != RD_OK || offset < INT32_MIN ||
        offset > INT32_MAX)
        offset = 0;
    ing_buf *o = &b->detail;
    return otlp_detail_key(b, name) && ing_buf_puts(o, "{\"offset\":") &&
           otlp_append_int(o, offset) && ing_buf_puts(o, ",\"bucket_counts\":") &&
           put_numbers(o, bk, "bucketCounts", true, q) && ing_buf_putc(o, '}');
}

/* A summary's quantile: {"quantile","value"}. */
static bool put_quantile(ing_buf *o, const cJSON *qv, quirks *q)
{
    double quantile = 0, value = 0;
    const cJSON *v;
    if ((v = field(qv, "quantile")) && !parse_double(v, &quantile))
        quirk_bad(q, OTLP_BAD_VALUE, "quantile values must be numbers");
    if ((v = field(qv, "value")) && !parse_double(v, &value))
        quirk_bad(q, OTLP_BAD_VALUE, "quantile values must be numbers");
    return ing_buf_puts(o, "{\"quantile\":") && otlp_append_number(o, quantile) &&
           ing_buf_puts(o, ",\"value\":") && otlp_append_number(o, value) && ing_buf_putc(o, '}');
}

/* An exemplar: {"time_ns","value","span_id","trace_id","attrs"}. */
static bool put_exemplar(ing_buf *o, const cJSON *ex, quirks *q)
{
    int64_t t;
    read_time(q, ex, "timeUnixNano", &t);
    if (!ing_buf_puts(o, "{\"time_ns\":") || !otlp_append_int(o, t))
        return false;
    const cJSON *v;
    double d;
    int64_t i;
    if ((v = field(ex, "asDouble"))) {
        if (!parse_double(v, &d))
            quirk_bad(q, OTLP_BAD_VALUE, "an exemplar's value must be a number");
        else if (!ing_buf_puts(o, ",\"value\":") || !otlp_append_number(o, d))
            return false;
    } else if ((v = field(ex, "asInt"))) {
        rd r = parse_i64(v, &i);
        quirk_read(q, r, "an exemplar's asInt", OTLP_BAD_VALUE,
                   "an exemplar's value must be a number");
        if (r == RD_OK && (!ing_buf_puts(o, ",\"value\":") || !otlp_append_int(o, i)))
            return false;
    }
    return put_id(o, ex, "spanId", "span_id") && put_id(o, ex, "traceId", "trace_id") &&
           put_attrs(o, ex, "filteredAttributes", q) && ing_buf_putc(o, '}');
}

/* A point's detail: the metric's description, then its type's fields, then exemplars. */
static bool point_detail(otlp_batch *b, const cJSON *pt, const metric_info *m, quirks *q,
                         const char **out)
{
    otlp_detail_begin(b);
    if (m->description &&
        (!otlp_detail_key(b, "description") || !ing_buf_json_str(&b->detail, m->description)))
        return false;
    const char *t = m->type;
    if (strcmp(t, "histogram") == 0) {
        if (!otlp_detail_key(b, "bucket_counts") ||
            !put_numbers(&b->detail, pt, "bucketCounts", true, q) ||
            !otlp_detail_key(b, "explicit_bounds") ||
            !put_numbers(&b->detail, pt, "explicitBounds", false, q) ||
            !detail_double(b, pt, "min", "min", q) || !detail_double(b, pt, "max", "max", q))
            return false;
    } else if (strcmp(t, "exponential_histogram") == 0) {
        int64_t scale = 0, zero = 0;
        if (parse_i64(field(pt, "scale"), &scale) != RD_OK || scale < INT32_MIN ||
            scale > INT32_MAX)
            scale = 0;
        quirk_read(q, parse_u64(field(pt, "zeroCount"), &zero), "zeroCount", OTLP_BAD_VALUE,
                   OTLP_BAD_COUNT_MSG);
        const cJSON *zt = field(pt, "zeroThreshold");
        double ztd = 0;
        /* A 0 threshold is left out (protobuf cannot send one); a malformed one is not. */
        bool zt_put = zt && !cJSON_IsNull(zt) && !(parse_double(zt, &ztd) && ztd == 0);
        if (!otlp_detail_key(b, "scale") || !otlp_append_int(&b->detail, scale) ||
            !otlp_detail_key(b, "zero_count") || !otlp_append_int(&b->detail, zero) ||
            (zt_put && !detail_double(b, pt, "zeroThreshold", "zero_threshold", q)) ||
            !detail_buckets(b, pt, "positive", q) || !detail_buckets(b, pt, "negative", q) ||
            !detail_double(b, pt, "min", "min", q) || !detail_double(b, pt, "max", "max", q))
            return false;
    } else if (strcmp(t, "summary") == 0) {
        const cJSON *qv = field(pt, "quantileValues");
        if (!otlp_detail_key(b, "quantile_values") || !ing_buf_putc(&b->detail, '['))
            return false;
        bool first = true;
        const cJSON *e;
        if (cJSON_IsArray(qv)) {
            cJSON_ArrayForEach(e, qv)
            {
                if (!cJSON_IsObject(e))
                    continue;
                if ((!first && !ing_buf_putc(&b->detail, ',')) || !put_quantile(&b->detail, e, q))
                    return false;
                first = false;
            }
        }
        if (!ing_buf_putc(&b->detail, ']'))
            return false;
    }
    return detail_list(b, pt, "exemplars", "exemplars", put_exemplar, q) && otlp_detail_end(b, out);
}

static int decode_point(otlp_ctx *c, const cJSON *pt, const metric_info *m)
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
    it->name = m->name;
    it->metric_type = m->type;
    it->unit = m->unit;
    it->temporality = m->temporality;
    it->monotonic = m->monotonic;
    it->flags = parse_u32(field(pt, "flags"));
    quirks q = {0};
    if (!take_attrs(b, field(pt, "attributes"), it, &q))
        return OTLP_NOMEM;
    read_time(&q, pt, "startTimeUnixNano", &it->start_ns);
    read_time(&q, pt, "timeUnixNano", &it->end_ns);
    const cJSON *v;
    int64_t i;
    rd r = RD_OK;
    if ((v = field(pt, "asDouble"))) {
        it->has_value = parse_double(v, &it->value);
    } else if ((v = field(pt, "asInt"))) {
        r = parse_i64(v, &i);
        it->has_value = r == RD_OK;
        it->value = (double)i;
    } else if ((v = field(pt, "sum"))) {
        it->has_value = parse_double(v, &it->value);
    }
    if (r == RD_INEXACT)
        quirk_read(&q, r, "asInt", NULL, NULL);
    else if (v && !it->has_value)
        otlp_reject(b, it, OTLP_BAD_VALUE, "the point's value is not a number", index);
    bool summary = strcmp(m->type, "summary") == 0;
    if (summary && !v) { /* a summary's sum has no presence in proto3: absent is 0 */
        it->has_value = true;
        it->value = 0;
    }
    /* Nor has a distribution's count: proto3 JSON leaves a 0 out, and protobuf says 0. */
    if (summary || strcmp(m->type, "histogram") == 0 ||
        strcmp(m->type, "exponential_histogram") == 0)
        it->count = 0;
    if ((v = field(pt, "count")))
        quirk_read(&q, parse_u64(v, &it->count), "count", OTLP_BAD_VALUE, OTLP_BAD_COUNT_MSG);
    if (!point_detail(b, pt, m, &q, &it->detail))
        return OTLP_NOMEM;
    reject_quirks(b, it, &q, index);
    return OTLP_OK;
}

/*
 * A metric whose points cannot be read (its dataPoints is not an array): one
 * rejected item stands for them, so the client learns of it and the rest of
 * the request is still taken.
 */
static int reject_metric(otlp_ctx *c, const metric_info *m, const char *what)
{
    otlp_batch *b = c->b;
    size_t index = b->n;
    otlp_item *it;
    int rc = otlp_new_item(c, OTLP_METRIC, &it);
    if (rc)
        return rc;
    it->name = m->name;
    it->metric_type = m->type;
    it->unit = m->unit;
    if (!otlp_mark_rejected(b, it, "bad_data_points"))
        return OTLP_OK;
    if (m->name)
        snprintf(b->first_error, sizeof b->first_error, "metric \"%s\": %s", m->name, what);
    else
        snprintf(b->first_error, sizeof b->first_error, "metric #%zu: %s", index, what);
    return OTLP_OK;
}

/* One point type's object ("gauge": {"dataPoints": [...]}); absent or null holds no points. */
static int decode_points(otlp_ctx *c, const cJSON *data, const char *json_name, metric_info *m)
{
    char what[64];
    if (!cJSON_IsObject(data)) {
        snprintf(what, sizeof what, "%s must be an object", json_name);
        return reject_metric(c, m, what);
    }
    bool is_sum = strcmp(m->type, "sum") == 0;
    if (is_sum || strcmp(m->type, "histogram") == 0 ||
        strcmp(m->type, "exponential_histogram") == 0) {
        if (!parse_enum(field(data, "aggregationTemporality"), "AGGREGATION_TEMPORALITY_",
                        temporalities, 3, &m->temporality))
            m->temporality = 0;
        m->temporality = otlp_temporality(m->temporality);
    }
    if (is_sum)
        m->monotonic = cJSON_IsTrue(field(data, "isMonotonic"));
    const cJSON *pts = field(data, "dataPoints");
    if (!pts || cJSON_IsNull(pts))
        return OTLP_OK;
    if (!cJSON_IsArray(pts))
        return reject_metric(c, m, "dataPoints must be an array");
    const cJSON *pt;
    cJSON_ArrayForEach(pt, pts)
    {
        int rc = decode_point(c, pt, m);
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
    const char *unit = keep_set(c->b, field(m, "unit"));
    const char *description = keep_set(c->b, field(m, "description"));
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const cJSON *data = field(m, types[t].json);
        if (!data || cJSON_IsNull(data))
            continue;
        metric_info mi = {name, types[t].type, unit, description, -1, -1};
        int rc = decode_points(c, data, types[t].json, &mi);
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
    quirks q = {0};
    if (!take_attrs(b, field(lr, "attributes"), it, &q))
        return OTLP_NOMEM;
    it->name = keep(b, field(lr, "eventName"));
    read_time(&q, lr, "observedTimeUnixNano", &it->start_ns);
    read_time(&q, lr, "timeUnixNano", &it->end_ns);
    if (!parse_id(field(lr, "traceId"), it->trace_id, 32, false))
        otlp_reject(b, it, OTLP_BAD_TRACE_ID, OTLP_BAD_TRACE_ID_LOG_MSG, index);
    if (!parse_id(field(lr, "spanId"), it->span_id, 16, false))
        otlp_reject(b, it, OTLP_BAD_SPAN_ID, OTLP_BAD_SPAN_ID_LOG_MSG, index);
    /* A number, or its proto3 JSON name; anything else keeps the record and drops the number. */
    if (!parse_enum(field(lr, "severityNumber"), "SEVERITY_NUMBER_", severities, 25, &it->severity))
        it->severity = 0;
    it->severity_text = keep_set(b, field(lr, "severityText"));
    it->flags = parse_u32(field(lr, "flags"));
    const cJSON *body = field(lr, "body");
    /* An empty AnyValue is no body, as an absent one: the JS SDK's JSON exporter sends {} for
     * a record without a body, where its protobuf exporter sends nothing. */
    if (cJSON_IsObject(body) && (it->body_type = body_type(body))) {
        const cJSON *sv = field(body, "stringValue");
        if (cJSON_IsString(sv)) {
            it->body = keep(b, sv);
        } else {
            ing_buf *o = &b->scratch;
            ing_buf_reset(o);
            if (!append_any(o, body, &q))
                return OTLP_NOMEM;
            it->body = ing_arena_strndup(&b->arena, o->data, o->len);
            if (!it->body)
                return OTLP_NOMEM;
        }
    }
    otlp_detail_begin(b);
    if (!detail_count(b, lr, "droppedAttributesCount", "dropped_attributes_count") ||
        !otlp_detail_end(b, &it->detail))
        return OTLP_NOMEM;
    reject_quirks(b, it, &q, index);
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

/*
 * The resource's service.name and all its attributes into c; returns its
 * edgeloss.request_id (or NULL). Returns false on allocation failure.
 */
static bool take_resource(otlp_ctx *c, const cJSON *rs, const char **rid)
{
    *rid = NULL;
    const cJSON *res = field(rs, "resource");
    const cJSON *attrs = cJSON_IsObject(res) ? field(res, "attributes") : NULL;
    if (!cJSON_IsArray(attrs))
        return true;
    quirks q = {0};
    const cJSON *kv;
    cJSON_ArrayForEach(kv, attrs)
    {
        const cJSON *k = field(kv, "key");
        if (!cJSON_IsString(k))
            continue;
        if (strcmp(k->valuestring, "service.name") == 0)
            c->service = keep(c->b, field(field(kv, "value"), "stringValue"));
        else if (strcmp(k->valuestring, OTLP_ATTR_REQUEST_ID) == 0)
            *rid = key_value(c->b, field(kv, "value"), &q);
    }
    ing_buf *o = &c->b->scratch;
    ing_buf_reset(o);
    if (!append_kvlist(o, attrs, &q))
        return false;
    if (q.inexact)
        c->inherit_reject = "a resource attribute's intValue";
    if (o->len > 2 && !(c->resource = ing_arena_strndup(&c->b->arena, o->data, o->len)))
        return false;
    return true;
}

/* The scope's name and the request its payload was sent for (the scope's over the resource's). */
static void take_scope(otlp_ctx *c, const cJSON *ss, const char *res_rid)
{
    const cJSON *scope = field(ss, "scope");
    c->scope = keep(c->b, field(scope, "name"));
    c->scope_version = keep_set(c->b, field(scope, "version"));
    c->sent_for = res_rid;
    c->scope_reject = NULL;
    const cJSON *sattrs = field(scope, "attributes");
    if (!cJSON_IsArray(sattrs))
        return;
    quirks q = {0};
    const cJSON *kv;
    cJSON_ArrayForEach(kv, sattrs)
    {
        const cJSON *k = field(kv, "key");
        if (cJSON_IsString(k) && strcmp(k->valuestring, OTLP_ATTR_REQUEST_ID) == 0)
            c->sent_for = key_value(c->b, field(kv, "value"), &q);
    }
    if (q.inexact)
        c->scope_reject = "the scope's edgeloss.request_id intValue";
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
    const char *res_rid;
    if (!take_resource(c, rs, &res_rid))
        return OTLP_NOMEM;
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
        otlp_ctx c = {.b = b, .max_items = max_items};
        int rc = walk_resource(&c, sh, rs, ri, err, errlen);
        if (rc)
            return rc;
        ri++;
    }
    return OTLP_OK;
}

size_t otlp_batch_footprint(const otlp_batch *b)
{
    return b->cap * sizeof *b->items + b->arena.held + b->json.held + b->scratch.cap +
           b->detail.cap;
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
    if (b->detail.cap > KEEP_BYTES)
        ing_buf_free(&b->detail);
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
    ing_buf_free(&b->detail);
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
    b->detail.budget = &b->budget;
}

void otlp_budget_end(otlp_batch *b)
{
    b->arena.budget = NULL;
    b->json.budget = NULL;
    b->scratch.budget = NULL;
    b->detail.budget = NULL;
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
