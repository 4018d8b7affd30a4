/*
 * OTLP/HTTP protobuf decoder. protobuf-c unpacks the request into a tree
 * drawn from the batch's body arena (charged to its budget, as the cJSON
 * tree is); the tree is then walked once into the same items the JSON
 * decoder makes, through the helpers both share (otlp_internal.h), and dies
 * with the arena's reset.
 */
#include "otlp_pb.h"

#include "otlp_internal.h"

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <stdio.h>
#include <string.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array;
typedef Opentelemetry__Proto__Common__V1__KeyValueList pb_kvlist;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pb_link;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hist_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint pb_exp_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint pb_summary_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets pb_buckets;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar pb_exemplar;
typedef Opentelemetry__Proto__Logs__V1__LogRecord pb_log;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pb_traces_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest pb_metrics_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest pb_logs_req;

/* The generated names of the oneof cases, shortened. */
#define ANY_(c)           OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##c
#define METRIC_(c)        OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_##c
#define NUMBER_AS_DOUBLE  OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE
#define NUMBER_AS_INT     OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT
#define HISTOGRAM_HAS_SUM OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_SUM_SUM
#define EXP_HISTOGRAM_HAS_SUM                                                                      \
    OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__HAS_SUM_SUM
#define HISTOGRAM_HAS_MIN OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_MIN_MIN
#define HISTOGRAM_HAS_MAX OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_MAX_MAX
#define EXP_HISTOGRAM_HAS_MIN                                                                      \
    OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__HAS_MIN_MIN
#define EXP_HISTOGRAM_HAS_MAX                                                                      \
    OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__HAS_MAX_MAX
#define EXEMPLAR_AS_DOUBLE OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE
#define EXEMPLAR_AS_INT    OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT

/* ---- attribute values, as the JSON decoder writes them ---- */

static bool append_any(ing_buf *o, const pb_any *v);

/* bytesValue as proto3 JSON sends it (standard, padded base64), quoted. */
static bool append_base64(ing_buf *o, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!ing_buf_reserve(o, (n + 2) / 3 * 4 + 2))
        return false;
    char *w = o->data + o->len;
    *w++ = '"';
    size_t i = 0;
    for (; n - i >= 3; i += 3) {
        uint32_t x = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *w++ = tab[x >> 18];
        *w++ = tab[x >> 12 & 63];
        *w++ = tab[x >> 6 & 63];
        *w++ = tab[x & 63];
    }
    if (n - i > 0) {
        uint32_t x = (uint32_t)p[i] << 16 | (n - i > 1 ? (uint32_t)p[i + 1] << 8 : 0);
        *w++ = tab[x >> 18];
        *w++ = tab[x >> 12 & 63];
        *w++ = n - i > 1 ? tab[x >> 6 & 63] : '=';
        *w++ = '=';
    }
    *w++ = '"';
    *w = '\0';
    o->len = (size_t)(w - o->data);
    return true;
}

static bool append_array(ing_buf *o, const pb_array *a)
{
    if (!ing_buf_putc(o, '['))
        return false;
    for (size_t i = 0; a && i < a->n_values; i++)
        if ((i && !ing_buf_putc(o, ',')) || !append_any(o, a->values[i]))
            return false;
    return ing_buf_putc(o, ']');
}

/* Key-values as one JSON object, every key included (a kvlistValue, nested attributes). */
static bool append_kvs(ing_buf *o, pb_kv *const *kvs, size_t n)
{
    if (!ing_buf_putc(o, '{'))
        return false;
    for (size_t i = 0; i < n; i++) {
        const pb_kv *kv = kvs[i];
        if ((i && !ing_buf_putc(o, ',')) || !ing_buf_json_str(o, kv->key) ||
            !ing_buf_putc(o, ':') || !append_any(o, kv->value))
            return false;
    }
    return ing_buf_putc(o, '}');
}

static bool append_kvlist(ing_buf *o, const pb_kvlist *l)
{
    return append_kvs(o, l ? l->values : NULL, l ? l->n_values : 0);
}

/* An AnyValue as plain JSON; absent or empty is null (recursion bounded by OTLP_PB_MAX_DEPTH). */
static bool append_any(ing_buf *o, const pb_any *v)
{
    switch (v ? v->value_case : ANY_(_NOT_SET)) {
    case ANY_(STRING_VALUE):
        return ing_buf_json_str(o, v->string_value);
    case ANY_(BOOL_VALUE):
        return ing_buf_puts(o, v->bool_value ? "true" : "false");
    case ANY_(INT_VALUE):
        return otlp_append_int(o, v->int_value);
    case ANY_(DOUBLE_VALUE):
        return otlp_append_number(o, v->double_value);
    case ANY_(BYTES_VALUE):
        return append_base64(o, v->bytes_value.data, v->bytes_value.len);
    case ANY_(ARRAY_VALUE):
        return append_array(o, v->array_value);
    case ANY_(KVLIST_VALUE):
        return append_kvlist(o, v->kvlist_value);
    default:
        return ing_buf_puts(o, "null");
    }
}

static bool is_string(const pb_any *v)
{
    return v && v->value_case == ANY_(STRING_VALUE);
}

/* The AnyValue case of a log body (OTLP_BODY_*), NULL for an empty one. */
static const char *body_type(const pb_any *v)
{
    switch (v ? v->value_case : ANY_(_NOT_SET)) {
    case ANY_(STRING_VALUE):
        return OTLP_BODY_STRING;
    case ANY_(BOOL_VALUE):
        return OTLP_BODY_BOOL;
    case ANY_(INT_VALUE):
        return OTLP_BODY_INT;
    case ANY_(DOUBLE_VALUE):
        return OTLP_BODY_DOUBLE;
    case ANY_(BYTES_VALUE):
        return OTLP_BODY_BYTES;
    case ANY_(ARRAY_VALUE):
        return OTLP_BODY_ARRAY;
    case ANY_(KVLIST_VALUE):
        return OTLP_BODY_KVLIST;
    default:
        return NULL;
    }
}

/* A string field in the arena, NULL when "" (proto3 cannot tell it from absent). */
static const char *keep_set(otlp_batch *b, const char *s)
{
    return s && s[0] ? otlp_keep(b, s) : NULL;
}

/* The string form of a join-key attribute (a string, or an int written out), or NULL. */
static const char *key_value(otlp_batch *b, const pb_any *v)
{
    if (is_string(v))
        return otlp_keep(b, v->string_value);
    if (v && v->value_case == ANY_(INT_VALUE))
        return otlp_keep_int(b, v->int_value);
    return NULL;
}

/* The item's join keys out of its attributes, and the rest as one JSON object (NULL: none). */
static bool take_attrs(otlp_batch *b, pb_kv *const *attrs, size_t n, otlp_item *it)
{
    it->attrs = NULL;
    ing_buf *o = &b->scratch;
    ing_buf_reset(o);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const char *key = attrs[i]->key;
        if (strcmp(key, OTLP_ATTR_ITEM_ID) == 0) {
            it->item_id = key_value(b, attrs[i]->value);
            continue;
        }
        if (strcmp(key, OTLP_ATTR_REQUEST_ID) == 0) {
            it->request_id = key_value(b, attrs[i]->value);
            continue;
        }
        if (!ing_buf_putc(o, any ? ',' : '{') || !ing_buf_json_str(o, key) ||
            !ing_buf_putc(o, ':') || !append_any(o, attrs[i]->value))
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

/* ---- fields with JSON counterparts ---- */

/*
 * A raw id as lower-case hex into `out` (2 * want + 1 bytes). Empty is fine
 * when optional; otherwise exactly `want` bytes, not all zero (the spec's
 * invalid id). On failure `out` is "".
 */
static bool hex_id(const ProtobufCBinaryData *id, size_t want, bool required, char *out)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\0';
    if (id->len == 0)
        return !required;
    if (id->len != want)
        return false;
    bool nonzero = false;
    for (size_t i = 0; i < want; i++) {
        nonzero |= id->data[i] != 0;
        out[2 * i] = hex[id->data[i] >> 4];
        out[2 * i + 1] = hex[id->data[i] & 15];
    }
    out[2 * want] = '\0';
    if (!nonzero)
        out[0] = '\0';
    return nonzero;
}

/* A fixed64 time or count into an int64: past INT64_MAX is refused (0), as in JSON. */
static bool to_i64(uint64_t v, int64_t *out)
{
    *out = v > INT64_MAX ? 0 : (int64_t)v;
    return v <= INT64_MAX;
}

/* Rejects `it`, the batch's latest item (no other is made while it is written). */
static void reject_it(otlp_batch *b, otlp_item *it, const char *reason, const char *what)
{
    otlp_reject(b, it, reason, what, (size_t)(it - b->items));
}

/* ---- detail, as the JSON decoder writes it ---- */

/* Bytes as quoted lower-case hex, of any length ("" when empty). */
static bool put_hex(ing_buf *o, const ProtobufCBinaryData *id)
{
    static const char hex[] = "0123456789abcdef";
    if (!ing_buf_reserve(o, 2 * id->len + 2))
        return false;
    o->data[o->len++] = '"';
    for (size_t i = 0; i < id->len; i++) {
        o->data[o->len++] = hex[id->data[i] >> 4];
        o->data[o->len++] = hex[id->data[i] & 15];
    }
    o->data[o->len++] = '"';
    o->data[o->len] = '\0';
    return true;
}

/* `,"key":"hex"` for an id that is set. */
static bool put_id(ing_buf *o, const char *key, const ProtobufCBinaryData *id)
{
    return id->len == 0 || (ing_buf_putc(o, ',') && ing_buf_json_str(o, key) &&
                            ing_buf_putc(o, ':') && put_hex(o, id));
}

/* `,"attrs":{...}` for non-empty attributes: every key, the join keys too. */
static bool put_attrs(ing_buf *o, pb_kv *const *attrs, size_t n)
{
    return n == 0 || (ing_buf_puts(o, ",\"attrs\":") && append_kvs(o, attrs, n));
}

/* A time in detail; past INT64_MAX it is 0 and rejects the item, as the item's own times. */
static bool put_time(otlp_batch *b, otlp_item *it, uint64_t t)
{
    int64_t v;
    if (!to_i64(t, &v))
        reject_it(b, it, OTLP_BAD_TIME, OTLP_BAD_TIME_MSG);
    return otlp_append_int(&b->detail, v);
}

/* A span event: {"time_ns","name","attrs","dropped_attributes_count"}. */
static bool put_event(otlp_batch *b, otlp_item *it, const pb_event *ev)
{
    ing_buf *o = &b->detail;
    return ing_buf_puts(o, "{\"time_ns\":") && put_time(b, it, ev->time_unix_nano) &&
           ing_buf_puts(o, ",\"name\":") && ing_buf_json_str(o, ev->name) &&
           put_attrs(o, ev->attributes, ev->n_attributes) &&
           otlp_put_count(o, "dropped_attributes_count", ev->dropped_attributes_count) &&
           ing_buf_putc(o, '}');
}

/* A span link: {"trace_id","span_id","trace_state","attrs","dropped_attributes_count","flags"}. */
static bool put_link(ing_buf *o, const pb_link *l)
{
    return ing_buf_puts(o, "{\"trace_id\":") && put_hex(o, &l->trace_id) &&
           ing_buf_puts(o, ",\"span_id\":") && put_hex(o, &l->span_id) &&
           (!l->trace_state[0] ||
            (ing_buf_puts(o, ",\"trace_state\":") && ing_buf_json_str(o, l->trace_state))) &&
           put_attrs(o, l->attributes, l->n_attributes) &&
           otlp_put_count(o, "dropped_attributes_count", l->dropped_attributes_count) &&
           otlp_put_count(o, "flags", l->flags) && ing_buf_putc(o, '}');
}

static bool span_detail(otlp_batch *b, otlp_item *it, const pb_span *sp)
{
    ing_buf *o = &b->detail;
    otlp_detail_begin(b);
    if (!otlp_detail_count(b, "dropped_attributes_count", sp->dropped_attributes_count))
        return false;
    if (sp->n_events) {
        if (!otlp_detail_key(b, "events") || !ing_buf_putc(o, '['))
            return false;
        for (size_t i = 0; i < sp->n_events; i++)
            if ((i && !ing_buf_putc(o, ',')) || !put_event(b, it, sp->events[i]))
                return false;
        if (!ing_buf_putc(o, ']'))
            return false;
    }
    if (!otlp_detail_count(b, "dropped_events_count", sp->dropped_events_count))
        return false;
    if (sp->n_links) {
        if (!otlp_detail_key(b, "links") || !ing_buf_putc(o, '['))
            return false;
        for (size_t i = 0; i < sp->n_links; i++)
            if ((i && !ing_buf_putc(o, ',')) || !put_link(o, sp->links[i]))
                return false;
        if (!ing_buf_putc(o, ']'))
            return false;
    }
    return otlp_detail_count(b, "dropped_links_count", sp->dropped_links_count) &&
           otlp_detail_end(b, &it->detail);
}

/* Bucket counts as [...]; one past INT64_MAX is 0 and rejects the item, as JSON. */
static bool put_u64s(otlp_batch *b, otlp_item *it, const uint64_t *v, size_t n)
{
    ing_buf *o = &b->detail;
    if (!ing_buf_putc(o, '['))
        return false;
    for (size_t i = 0; i < n; i++) {
        int64_t x;
        if (!to_i64(v[i], &x))
            reject_it(b, it, OTLP_BAD_VALUE, "bucket counts must be unsigned integers");
        if ((i && !ing_buf_putc(o, ',')) || !otlp_append_int(o, x))
            return false;
    }
    return ing_buf_putc(o, ']');
}

/* `"key":d` into the detail. */
static bool detail_double(otlp_batch *b, const char *key, double d)
{
    return otlp_detail_key(b, key) && otlp_append_number(&b->detail, d);
}

/* An exponential histogram's positive or negative buckets, when it has any. */
static bool detail_buckets(otlp_batch *b, otlp_item *it, const char *key, const pb_buckets *bk)
{
    if (!bk || bk->n_bucket_counts == 0)
        return true;
    ing_buf *o = &b->detail;
    return otlp_detail_key(b, key) && ing_buf_puts(o, "{\"offset\":") &&
           otlp_append_int(o, bk->offset) && ing_buf_puts(o, ",\"bucket_counts\":") &&
           put_u64s(b, it, bk->bucket_counts, bk->n_bucket_counts) && ing_buf_putc(o, '}');
}

/* An exemplar: {"time_ns","value","span_id","trace_id","attrs"}. */
static bool put_exemplar(otlp_batch *b, otlp_item *it, const pb_exemplar *ex)
{
    ing_buf *o = &b->detail;
    if (!ing_buf_puts(o, "{\"time_ns\":") || !put_time(b, it, ex->time_unix_nano))
        return false;
    if (ex->value_case == EXEMPLAR_AS_DOUBLE &&
        (!ing_buf_puts(o, ",\"value\":") || !otlp_append_number(o, ex->as_double)))
        return false;
    if (ex->value_case == EXEMPLAR_AS_INT &&
        (!ing_buf_puts(o, ",\"value\":") || !otlp_append_int(o, ex->as_int)))
        return false;
    return put_id(o, "span_id", &ex->span_id) && put_id(o, "trace_id", &ex->trace_id) &&
           put_attrs(o, ex->filtered_attributes, ex->n_filtered_attributes) && ing_buf_putc(o, '}');
}

/* A point's detail ends with its exemplars. */
static bool detail_exemplars(otlp_batch *b, otlp_item *it, pb_exemplar *const *ex, size_t n)
{
    ing_buf *o = &b->detail;
    if (n) {
        if (!otlp_detail_key(b, "exemplars") || !ing_buf_putc(o, '['))
            return false;
        for (size_t i = 0; i < n; i++)
            if ((i && !ing_buf_putc(o, ',')) || !put_exemplar(b, it, ex[i]))
                return false;
        if (!ing_buf_putc(o, ']'))
            return false;
    }
    return otlp_detail_end(b, &it->detail);
}

/* ---- items ---- */

static int decode_span(otlp_ctx *c, const pb_span *sp)
{
    otlp_batch *b = c->b;
    size_t index = b->n;
    otlp_item *it;
    int rc = otlp_new_item(c, OTLP_SPAN, &it);
    if (rc)
        return rc;
    if (!take_attrs(b, sp->attributes, sp->n_attributes, it))
        return OTLP_NOMEM;
    it->name = otlp_keep(b, sp->name);
    if (!hex_id(&sp->trace_id, 16, true, it->trace_id))
        otlp_reject(b, it, OTLP_BAD_TRACE_ID, OTLP_BAD_TRACE_ID_SPAN_MSG, index);
    if (!hex_id(&sp->span_id, 8, true, it->span_id))
        otlp_reject(b, it, OTLP_BAD_SPAN_ID, OTLP_BAD_SPAN_ID_SPAN_MSG, index);
    if (!hex_id(&sp->parent_span_id, 8, false, it->parent_span_id))
        otlp_reject(b, it, OTLP_BAD_PARENT_SPAN_ID, OTLP_BAD_PARENT_MSG, index);
    if (!to_i64(sp->start_time_unix_nano, &it->start_ns) ||
        !to_i64(sp->end_time_unix_nano, &it->end_ns))
        otlp_reject(b, it, OTLP_BAD_TIME, OTLP_BAD_TIME_MSG, index);
    it->severity = sp->status ? (int32_t)sp->status->code : 0;
    it->status_message = sp->status ? keep_set(b, sp->status->message) : NULL;
    it->span_kind = (int32_t)sp->kind;
    it->trace_state = keep_set(b, sp->trace_state);
    it->flags = sp->flags;
    return span_detail(b, it, sp) ? OTLP_OK : OTLP_NOMEM;
}

/* One point's item: its metric's fields, its attributes, times and flags; detail begun. */
static int new_point(otlp_ctx *c, const metric_info *m, pb_kv *const *attrs, size_t n_attrs,
                     uint64_t start, uint64_t time, uint32_t flags, otlp_item **out)
{
    otlp_batch *b = c->b;
    int rc = otlp_new_item(c, OTLP_METRIC, out);
    if (rc)
        return rc;
    otlp_item *it = *out;
    it->name = m->name;
    it->metric_type = m->type;
    it->unit = m->unit;
    it->temporality = m->temporality;
    it->monotonic = m->monotonic;
    it->flags = flags;
    if (!take_attrs(b, attrs, n_attrs, it))
        return OTLP_NOMEM;
    if (!to_i64(start, &it->start_ns) || !to_i64(time, &it->end_ns))
        reject_it(b, it, OTLP_BAD_TIME, OTLP_BAD_TIME_MSG);
    otlp_detail_begin(b);
    if (m->description &&
        (!otlp_detail_key(b, "description") || !ing_buf_json_str(&b->detail, m->description)))
        return OTLP_NOMEM;
    return OTLP_OK;
}

static int number_points(otlp_ctx *c, const metric_info *m, pb_number_point *const *pts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pb_number_point *p = pts[i];
        otlp_item *it;
        int rc = new_point(c, m, p->attributes, p->n_attributes, p->start_time_unix_nano,
                           p->time_unix_nano, p->flags, &it);
        if (rc)
            return rc;
        if (p->value_case == NUMBER_AS_DOUBLE) {
            it->has_value = true;
            it->value = p->as_double;
        } else if (p->value_case == NUMBER_AS_INT) {
            it->has_value = true;
            it->value = (double)p->as_int;
        }
        if (!detail_exemplars(c->b, it, p->exemplars, p->n_exemplars))
            return OTLP_NOMEM;
    }
    return OTLP_OK;
}

/* What histogram, exponential histogram and summary points have in common. */
typedef struct dist_point {
    pb_kv *const *attrs;
    size_t n_attrs;
    uint64_t start, time, count;
    uint32_t flags;
    bool has_sum;
    double sum;
} dist_point;

/* A distribution's point: its count, and its sum when there is one. */
static int dist_item(otlp_ctx *c, const metric_info *m, const dist_point *p, otlp_item **out)
{
    int rc = new_point(c, m, p->attrs, p->n_attrs, p->start, p->time, p->flags, out);
    if (rc)
        return rc;
    otlp_item *it = *out;
    it->has_value = p->has_sum;
    it->value = p->has_sum ? p->sum : 0;
    if (!to_i64(p->count, &it->count))
        reject_it(c->b, it, OTLP_BAD_VALUE, OTLP_BAD_COUNT_MSG);
    return OTLP_OK;
}

static int histogram_points(otlp_ctx *c, const metric_info *m, pb_hist_point *const *pts, size_t n)
{
    otlp_batch *b = c->b;
    for (size_t i = 0; i < n; i++) {
        const pb_hist_point *p = pts[i];
        dist_point d = {p->attributes,
                        p->n_attributes,
                        p->start_time_unix_nano,
                        p->time_unix_nano,
                        p->count,
                        p->flags,
                        p->has_sum_case == HISTOGRAM_HAS_SUM,
                        p->sum};
        otlp_item *it;
        int rc = dist_item(c, m, &d, &it);
        if (rc)
            return rc;
        if (!otlp_detail_key(b, "bucket_counts") ||
            !put_u64s(b, it, p->bucket_counts, p->n_bucket_counts) ||
            !otlp_detail_key(b, "explicit_bounds") || !ing_buf_putc(&b->detail, '['))
            return OTLP_NOMEM;
        for (size_t j = 0; j < p->n_explicit_bounds; j++)
            if ((j && !ing_buf_putc(&b->detail, ',')) ||
                !otlp_append_number(&b->detail, p->explicit_bounds[j]))
                return OTLP_NOMEM;
        if (!ing_buf_putc(&b->detail, ']') ||
            (p->has_min_case == HISTOGRAM_HAS_MIN && !detail_double(b, "min", p->min)) ||
            (p->has_max_case == HISTOGRAM_HAS_MAX && !detail_double(b, "max", p->max)) ||
            !detail_exemplars(b, it, p->exemplars, p->n_exemplars))
            return OTLP_NOMEM;
    }
    return OTLP_OK;
}

static int exp_histogram_points(otlp_ctx *c, const metric_info *m, pb_exp_point *const *pts,
                                size_t n)
{
    otlp_batch *b = c->b;
    for (size_t i = 0; i < n; i++) {
        const pb_exp_point *p = pts[i];
        dist_point d = {p->attributes,
                        p->n_attributes,
                        p->start_time_unix_nano,
                        p->time_unix_nano,
                        p->count,
                        p->flags,
                        p->has_sum_case == EXP_HISTOGRAM_HAS_SUM,
                        p->sum};
        otlp_item *it;
        int rc = dist_item(c, m, &d, &it);
        if (rc)
            return rc;
        int64_t zero;
        if (!to_i64(p->zero_count, &zero))
            reject_it(b, it, OTLP_BAD_VALUE, OTLP_BAD_COUNT_MSG);
        if (!otlp_detail_key(b, "scale") || !otlp_append_int(&b->detail, p->scale) ||
            !otlp_detail_key(b, "zero_count") || !otlp_append_int(&b->detail, zero) ||
            (p->zero_threshold != 0 && !detail_double(b, "zero_threshold", p->zero_threshold)) ||
            !detail_buckets(b, it, "positive", p->positive) ||
            !detail_buckets(b, it, "negative", p->negative) ||
            (p->has_min_case == EXP_HISTOGRAM_HAS_MIN && !detail_double(b, "min", p->min)) ||
            (p->has_max_case == EXP_HISTOGRAM_HAS_MAX && !detail_double(b, "max", p->max)) ||
            !detail_exemplars(b, it, p->exemplars, p->n_exemplars))
            return OTLP_NOMEM;
    }
    return OTLP_OK;
}

/* A summary's sum has no presence in the protocol: every summary point has one. */
static int summary_points(otlp_ctx *c, const metric_info *m, pb_summary_point *const *pts, size_t n)
{
    otlp_batch *b = c->b;
    for (size_t i = 0; i < n; i++) {
        const pb_summary_point *p = pts[i];
        dist_point d = {p->attributes,
                        p->n_attributes,
                        p->start_time_unix_nano,
                        p->time_unix_nano,
                        p->count,
                        p->flags,
                        true,
                        p->sum};
        otlp_item *it;
        int rc = dist_item(c, m, &d, &it);
        if (rc)
            return rc;
        ing_buf *o = &b->detail;
        if (!otlp_detail_key(b, "quantile_values") || !ing_buf_putc(o, '['))
            return OTLP_NOMEM;
        for (size_t j = 0; j < p->n_quantile_values; j++) {
            const Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *q =
                p->quantile_values[j];
            if ((j && !ing_buf_putc(o, ',')) || !ing_buf_puts(o, "{\"quantile\":") ||
                !otlp_append_number(o, q->quantile) || !ing_buf_puts(o, ",\"value\":") ||
                !otlp_append_number(o, q->value) || !ing_buf_putc(o, '}'))
                return OTLP_NOMEM;
        }
        if (!ing_buf_putc(o, ']') || !otlp_detail_end(b, &it->detail))
            return OTLP_NOMEM;
    }
    return OTLP_OK;
}

/* One item per point; a metric with no data set holds none, as a JSON one without a type. */
static int decode_metric(otlp_ctx *c, const pb_metric *m)
{
    otlp_batch *b = c->b;
    metric_info mi = {otlp_keep(b, m->name),       NULL, keep_set(b, m->unit),
                      keep_set(b, m->description), -1,   -1};
    switch (m->data_case) {
    case METRIC_(GAUGE):
        mi.type = "gauge";
        return number_points(c, &mi, m->gauge->data_points, m->gauge->n_data_points);
    case METRIC_(SUM):
        mi.type = "sum";
        mi.temporality = otlp_temporality((int32_t)m->sum->aggregation_temporality);
        mi.monotonic = m->sum->is_monotonic ? 1 : 0;
        return number_points(c, &mi, m->sum->data_points, m->sum->n_data_points);
    case METRIC_(HISTOGRAM):
        mi.type = "histogram";
        mi.temporality = otlp_temporality((int32_t)m->histogram->aggregation_temporality);
        return histogram_points(c, &mi, m->histogram->data_points, m->histogram->n_data_points);
    case METRIC_(EXPONENTIAL_HISTOGRAM):
        mi.type = "exponential_histogram";
        mi.temporality =
            otlp_temporality((int32_t)m->exponential_histogram->aggregation_temporality);
        return exp_histogram_points(c, &mi, m->exponential_histogram->data_points,
                                    m->exponential_histogram->n_data_points);
    case METRIC_(SUMMARY):
        mi.type = "summary";
        return summary_points(c, &mi, m->summary->data_points, m->summary->n_data_points);
    default:
        return OTLP_OK;
    }
}

static int decode_log(otlp_ctx *c, const pb_log *lr)
{
    otlp_batch *b = c->b;
    size_t index = b->n;
    otlp_item *it;
    int rc = otlp_new_item(c, OTLP_LOG, &it);
    if (rc)
        return rc;
    if (!take_attrs(b, lr->attributes, lr->n_attributes, it))
        return OTLP_NOMEM;
    /* SDKs leave eventName out of JSON when a record has none. */
    it->name = lr->event_name[0] ? otlp_keep(b, lr->event_name) : NULL;
    if (!hex_id(&lr->trace_id, 16, false, it->trace_id))
        otlp_reject(b, it, OTLP_BAD_TRACE_ID, OTLP_BAD_TRACE_ID_LOG_MSG, index);
    if (!hex_id(&lr->span_id, 8, false, it->span_id))
        otlp_reject(b, it, OTLP_BAD_SPAN_ID, OTLP_BAD_SPAN_ID_LOG_MSG, index);
    /* After the ids: the JSON decoder reports a bad time last too. */
    if (!to_i64(lr->observed_time_unix_nano, &it->start_ns) ||
        !to_i64(lr->time_unix_nano, &it->end_ns))
        otlp_reject(b, it, OTLP_BAD_TIME, OTLP_BAD_TIME_MSG, index);
    it->severity = (int32_t)lr->severity_number;
    it->severity_text = keep_set(b, lr->severity_text);
    it->flags = lr->flags;
    otlp_detail_begin(b);
    if (!otlp_detail_count(b, "dropped_attributes_count", lr->dropped_attributes_count) ||
        !otlp_detail_end(b, &it->detail))
        return OTLP_NOMEM;
    const pb_any *body = lr->body;
    /* No body when absent or an empty AnyValue, as the JSON decoder reads them. */
    if (!(it->body_type = body_type(body)))
        return OTLP_OK;
    if (is_string(body)) {
        it->body = otlp_keep(b, body->string_value);
        return OTLP_OK;
    }
    ing_buf *o = &b->scratch;
    ing_buf_reset(o);
    if (!append_any(o, body))
        return OTLP_NOMEM;
    it->body = ing_arena_strndup(&b->arena, o->data, o->len);
    return it->body ? OTLP_OK : OTLP_NOMEM;
}

/* ---- resource → scope → items ---- */

/*
 * The resource's service.name and all its attributes into c; its
 * edgeloss.request_id (or NULL) into *rid. False on allocation failure.
 */
static bool take_resource(otlp_ctx *c, const pb_resource *res, const char **rid)
{
    *rid = NULL;
    if (!res || res->n_attributes == 0)
        return true;
    for (size_t i = 0; i < res->n_attributes; i++) {
        const pb_kv *kv = res->attributes[i];
        const pb_any *v = kv->value;
        if (strcmp(kv->key, "service.name") == 0)
            c->service = is_string(v) ? otlp_keep(c->b, v->string_value) : NULL;
        else if (strcmp(kv->key, OTLP_ATTR_REQUEST_ID) == 0)
            *rid = key_value(c->b, v);
    }
    /* Kept once: every item of the resource points to it. */
    ing_buf *o = &c->b->scratch;
    ing_buf_reset(o);
    if (!append_kvs(o, res->attributes, res->n_attributes))
        return false;
    c->resource = ing_arena_strndup(&c->b->arena, o->data, o->len);
    return c->resource != NULL;
}

/* The scope's name and the request its payload was sent for (the scope's over the resource's). */
static void take_scope(otlp_ctx *c, const pb_scope *scope, const char *res_rid)
{
    c->scope = scope ? otlp_keep(c->b, scope->name) : NULL;
    c->scope_version = scope ? keep_set(c->b, scope->version) : NULL;
    c->sent_for = res_rid;
    for (size_t i = 0; scope && i < scope->n_attributes; i++)
        if (strcmp(scope->attributes[i]->key, OTLP_ATTR_REQUEST_ID) == 0)
            c->sent_for = key_value(c->b, scope->attributes[i]->value);
}

static int walk_traces(otlp_batch *b, const ProtobufCMessage *m, size_t max_items)
{
    const pb_traces_req *req = (const pb_traces_req *)m;
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
        otlp_ctx c = {.b = b, .max_items = max_items};
        const char *rid;
        if (!take_resource(&c, rs->resource, &rid))
            return OTLP_NOMEM;
        for (size_t s = 0; s < rs->n_scope_spans; s++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[s];
            take_scope(&c, ss->scope, rid);
            for (size_t i = 0; i < ss->n_spans; i++) {
                int rc = decode_span(&c, ss->spans[i]);
                if (rc)
                    return rc;
            }
        }
    }
    return OTLP_OK;
}

static int walk_metrics(otlp_batch *b, const ProtobufCMessage *m, size_t max_items)
{
    const pb_metrics_req *req = (const pb_metrics_req *)m;
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[r];
        otlp_ctx c = {.b = b, .max_items = max_items};
        const char *rid;
        if (!take_resource(&c, rm->resource, &rid))
            return OTLP_NOMEM;
        for (size_t s = 0; s < rm->n_scope_metrics; s++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[s];
            take_scope(&c, sm->scope, rid);
            for (size_t i = 0; i < sm->n_metrics; i++) {
                int rc = decode_metric(&c, sm->metrics[i]);
                if (rc)
                    return rc;
            }
        }
    }
    return OTLP_OK;
}

static int walk_logs(otlp_batch *b, const ProtobufCMessage *m, size_t max_items)
{
    const pb_logs_req *req = (const pb_logs_req *)m;
    for (size_t r = 0; r < req->n_resource_logs; r++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[r];
        otlp_ctx c = {.b = b, .max_items = max_items};
        const char *rid;
        if (!take_resource(&c, rl->resource, &rid))
            return OTLP_NOMEM;
        for (size_t s = 0; s < rl->n_scope_logs; s++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[s];
            take_scope(&c, sl->scope, rid);
            for (size_t i = 0; i < sl->n_log_records; i++) {
                int rc = decode_log(&c, sl->log_records[i]);
                if (rc)
                    return rc;
            }
        }
    }
    return OTLP_OK;
}

typedef struct shape {
    const ProtobufCMessageDescriptor *request;
    int (*walk)(otlp_batch *b, const ProtobufCMessage *m, size_t max_items);
} shape;

static const shape shapes[] = {
    [OTLP_SIGNAL_TRACES] =
        {&opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
         walk_traces},
    [OTLP_SIGNAL_METRICS] =
        {&opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
         walk_metrics},
    [OTLP_SIGNAL_LOGS] =
        {&opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
         walk_logs},
};

/* ---- the nesting, before protobuf-c's recursive unpack sees it ---- */

/* A varint at *p; false when it is cut short or runs past 10 bytes. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *p < end && shift < 70; shift += 7) {
        uint8_t byte = *(*p)++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/*
 * Whether the message of type `d` in [p, end) nests messages at most `left`
 * more levels deep. Only the nesting is judged: a malformed field ends the
 * scan with true, and protobuf-c's unpack refuses the body for it.
 */
static bool depth_within(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *d,
                         unsigned left)
{
    while (p < end) {
        uint64_t key, n;
        if (!read_varint(&p, end, &key))
            return true;
        switch (key & 7) {
        case 0: /* varint */
            if (!read_varint(&p, end, &n))
                return true;
            break;
        case 1: /* 64-bit */
        case 5: /* 32-bit */
            n = (key & 7) == 1 ? 8 : 4;
            if ((size_t)(end - p) < n)
                return true;
            p += n;
            break;
        case 2: { /* length-delimited: a message when the schema says so */
            if (!read_varint(&p, end, &n) || n > (size_t)(end - p))
                return true;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                (left == 0 || !depth_within(p, p + n, f->descriptor, left - 1)))
                return false;
            p += n;
            break;
        }
        default: /* groups and invalid wire types: protobuf-c refuses them */
            return true;
        }
    }
    return true;
}

/* ---- the decode ---- */

/* The unpacked tree draws from the batch's body arena, charged to its budget; freed by reset. */
static void *arena_alloc(void *arena, size_t size)
{
    return ing_arena_alloc(arena, size);
}

static void arena_free(void *arena, void *p)
{
    (void)arena;
    (void)p;
}

static int unpack_and_walk(otlp_batch *b, const shape *sh, const uint8_t *body, size_t len,
                           size_t max_items, char *err, size_t errlen)
{
    ProtobufCAllocator alloc = {arena_alloc, arena_free, &b->json};
    ProtobufCMessage *m = protobuf_c_message_unpack(sh->request, &alloc, len, body);
    if (!m) {
        /* Also when an allocation failed (otlp_outcome() tells): protobuf-c cannot say. */
        snprintf(err, errlen, "body is not a valid %s protobuf message", sh->request->short_name);
        return OTLP_BAD_REQUEST;
    }
    return sh->walk(b, m, max_items);
}

int otlp_decode_pb(otlp_batch *b, otlp_signal sig, const void *body, size_t len,
                   const otlp_limits *lim, char *err, size_t errlen)
{
    static const uint8_t none[1];
    otlp_batch_clear(b);
    b->too_many_items = false;
    const shape *sh = &shapes[(unsigned)sig <= OTLP_SIGNAL_LOGS ? sig : OTLP_SIGNAL_LOGS];
    const uint8_t *p = len ? body : none;
    if (!depth_within(p, p + len, sh->request, OTLP_PB_MAX_DEPTH - 1)) {
        snprintf(err, errlen, "body nests messages more than %d deep", OTLP_PB_MAX_DEPTH);
        return OTLP_BAD_REQUEST;
    }
    otlp_budget_begin(b, lim);
    int rc = unpack_and_walk(b, sh, p, len, lim ? lim->max_items : 0, err, errlen);
    /* Items hold copies in b->arena: the tree dies here. */
    ing_arena_reset(&b->json);
    otlp_budget_end(b);
    rc = otlp_outcome(b, rc, lim, err, errlen);
    if (rc)
        otlp_batch_clear(b);
    return rc;
}

/* ---- answers ---- */

/* Packs `m` as the whole of `out` (kept NUL-terminated, as ing_buf's contents are). */
static int pack_into(const ProtobufCMessage *m, ing_buf *out)
{
    ing_buf_reset(out);
    size_t n = protobuf_c_message_get_packed_size(m);
    if (!ing_buf_reserve(out, n))
        return OTLP_NOMEM;
    out->len = protobuf_c_message_pack(m, (uint8_t *)out->data);
    out->data[out->len] = '\0';
    return OTLP_OK;
}

int otlp_encode_pb_response(otlp_signal sig, size_t rejected, const char *error_message,
                            ing_buf *out)
{
    char *msg = (char *)(error_message ? error_message : "");
    int64_t n = rejected > INT64_MAX ? INT64_MAX : (int64_t)rejected;
    if (sig == OTLP_SIGNAL_TRACES) {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
            OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r =
            OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
        ps.rejected_spans = n;
        ps.error_message = msg;
        r.partial_success = rejected ? &ps : NULL;
        return pack_into(&r.base, out);
    }
    if (sig == OTLP_SIGNAL_METRICS) {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess ps =
            OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse r =
            OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
        ps.rejected_data_points = n;
        ps.error_message = msg;
        r.partial_success = rejected ? &ps : NULL;
        return pack_into(&r.base, out);
    }
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse r =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
    ps.rejected_log_records = n;
    ps.error_message = msg;
    r.partial_success = rejected ? &ps : NULL;
    return pack_into(&r.base, out);
}

int otlp_encode_pb_status(int code, const char *message, ing_buf *out)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = code;
    st.message = (char *)(message ? message : "");
    return pack_into(&st.base, out);
}
