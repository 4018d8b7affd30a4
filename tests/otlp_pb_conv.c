#include "otlp_pb_conv.h"

#include "buf.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;

/* Every message of one conversion, freed together. */
typedef struct conv {
    ing_arena arena;
} conv;

static void *mem(conv *cv, size_t n)
{
    void *p = ing_arena_alloc(&cv->arena, n ? n : 1);
    if (!p) {
        fprintf(stderr, "otlp_pb_conv: out of memory\n");
        abort();
    }
    return p;
}

static void *new_msg(conv *cv, const ProtobufCMessageDescriptor *d)
{
    void *m = mem(cv, d->sizeof_message);
    protobuf_c_message_init(d, m);
    return m;
}

static const cJSON *F(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A message list from a JSON array, one element per item (absent: none). */
typedef void *(*elem_fn)(conv *cv, const cJSON *j);
static void **list_of(conv *cv, const cJSON *arr, elem_fn fn, size_t *n)
{
    *n = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
    void **out = mem(cv, *n * sizeof *out);
    size_t i = 0;
    const cJSON *e;
    if (*n)
        cJSON_ArrayForEach(e, arr) out[i++] = fn(cv, e);
    return out;
}

static uint64_t u64_of(const cJSON *v)
{
    if (cJSON_IsString(v))
        return strtoull(v->valuestring, NULL, 10);
    return cJSON_IsNumber(v) ? (uint64_t)v->valuedouble : 0;
}

static int64_t i64_of(const cJSON *v)
{
    if (cJSON_IsString(v))
        return strtoll(v->valuestring, NULL, 10);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static double double_of(const cJSON *v)
{
    if (!cJSON_IsString(v))
        return cJSON_IsNumber(v) ? v->valuedouble : 0;
    if (strcmp(v->valuestring, "NaN") == 0)
        return NAN;
    if (strcmp(v->valuestring, "Infinity") == 0)
        return INFINITY;
    if (strcmp(v->valuestring, "-Infinity") == 0)
        return -INFINITY;
    return strtod(v->valuestring, NULL);
}

static char *str_of(conv *cv, const cJSON *v)
{
    if (!cJSON_IsString(v))
        return (char *)protobuf_c_empty_string;
    size_t n = strlen(v->valuestring);
    return memcpy(mem(cv, n + 1), v->valuestring, n + 1);
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : 0;
}

/* OTLP/JSON ids are hex, not proto3's base64. */
static ProtobufCBinaryData hex_of(conv *cv, const cJSON *v)
{
    ProtobufCBinaryData d = {0, NULL};
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return d;
    size_t n = strlen(v->valuestring) / 2;
    d.data = mem(cv, n);
    d.len = n;
    for (size_t i = 0; i < n; i++)
        d.data[i] =
            (uint8_t)(hexval(v->valuestring[2 * i]) << 4 | hexval(v->valuestring[2 * i + 1]));
    return d;
}

static int b64val(int c)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(tab, c) : NULL;
    return p ? (int)(p - tab) : -1;
}

static ProtobufCBinaryData b64_of(conv *cv, const cJSON *v)
{
    ProtobufCBinaryData d = {0, NULL};
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    d.data = mem(cv, strlen(s) / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        int x = b64val(*s);
        if (x < 0)
            continue;
        acc = acc << 6 | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d.data[d.len++] = (uint8_t)(acc >> bits);
        }
    }
    return d;
}

static void *kv_of(conv *cv, const cJSON *j);

static void *any_of(conv *cv, const cJSON *j)
{
    if (!cJSON_IsObject(j))
        return NULL;
    pb_any *a = new_msg(cv, &opentelemetry__proto__common__v1__any_value__descriptor);
    const cJSON *v;
    if ((v = F(j, "stringValue"))) {
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        a->string_value = str_of(cv, v);
    } else if ((v = F(j, "boolValue"))) {
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        a->bool_value = cJSON_IsTrue(v);
    } else if ((v = F(j, "intValue"))) {
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        a->int_value = i64_of(v);
    } else if ((v = F(j, "doubleValue"))) {
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        a->double_value = double_of(v);
    } else if ((v = F(j, "bytesValue"))) {
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
        a->bytes_value = b64_of(cv, v);
    } else if ((v = F(j, "arrayValue"))) {
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        a->array_value = new_msg(cv, &opentelemetry__proto__common__v1__array_value__descriptor);
        a->array_value->values =
            (pb_any **)list_of(cv, F(v, "values"), any_of, &a->array_value->n_values);
    } else if ((v = F(j, "kvlistValue"))) {
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        a->kvlist_value =
            new_msg(cv, &opentelemetry__proto__common__v1__key_value_list__descriptor);
        a->kvlist_value->values =
            (pb_kv **)list_of(cv, F(v, "values"), kv_of, &a->kvlist_value->n_values);
    }
    return a;
}

static void *kv_of(conv *cv, const cJSON *j)
{
    pb_kv *kv = new_msg(cv, &opentelemetry__proto__common__v1__key_value__descriptor);
    kv->key = str_of(cv, F(j, "key"));
    kv->value = any_of(cv, F(j, "value"));
    return kv;
}

static pb_kv **kvs_of(conv *cv, const cJSON *arr, size_t *n)
{
    return (pb_kv **)list_of(cv, arr, kv_of, n);
}

static Opentelemetry__Proto__Resource__V1__Resource *resource_of(conv *cv, const cJSON *j)
{
    if (!cJSON_IsObject(j))
        return NULL;
    Opentelemetry__Proto__Resource__V1__Resource *r =
        new_msg(cv, &opentelemetry__proto__resource__v1__resource__descriptor);
    r->attributes = kvs_of(cv, F(j, "attributes"), &r->n_attributes);
    r->dropped_attributes_count = (uint32_t)u64_of(F(j, "droppedAttributesCount"));
    return r;
}

static Opentelemetry__Proto__Common__V1__InstrumentationScope *scope_of(conv *cv, const cJSON *j)
{
    if (!cJSON_IsObject(j))
        return NULL;
    Opentelemetry__Proto__Common__V1__InstrumentationScope *s =
        new_msg(cv, &opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
    s->name = str_of(cv, F(j, "name"));
    s->version = str_of(cv, F(j, "version"));
    s->attributes = kvs_of(cv, F(j, "attributes"), &s->n_attributes);
    return s;
}

/* ---- traces ---- */

static void *event_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Trace__V1__Span__Event *e =
        new_msg(cv, &opentelemetry__proto__trace__v1__span__event__descriptor);
    e->time_unix_nano = u64_of(F(j, "timeUnixNano"));
    e->name = str_of(cv, F(j, "name"));
    e->attributes = kvs_of(cv, F(j, "attributes"), &e->n_attributes);
    return e;
}

static void *link_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Trace__V1__Span__Link *l =
        new_msg(cv, &opentelemetry__proto__trace__v1__span__link__descriptor);
    l->trace_id = hex_of(cv, F(j, "traceId"));
    l->span_id = hex_of(cv, F(j, "spanId"));
    l->trace_state = str_of(cv, F(j, "traceState"));
    l->attributes = kvs_of(cv, F(j, "attributes"), &l->n_attributes);
    l->flags = (uint32_t)u64_of(F(j, "flags"));
    return l;
}

static void *span_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Trace__V1__Span *s =
        new_msg(cv, &opentelemetry__proto__trace__v1__span__descriptor);
    s->trace_id = hex_of(cv, F(j, "traceId"));
    s->span_id = hex_of(cv, F(j, "spanId"));
    s->trace_state = str_of(cv, F(j, "traceState"));
    s->parent_span_id = hex_of(cv, F(j, "parentSpanId"));
    s->flags = (uint32_t)u64_of(F(j, "flags"));
    s->name = str_of(cv, F(j, "name"));
    s->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)i64_of(F(j, "kind"));
    s->start_time_unix_nano = u64_of(F(j, "startTimeUnixNano"));
    s->end_time_unix_nano = u64_of(F(j, "endTimeUnixNano"));
    s->attributes = kvs_of(cv, F(j, "attributes"), &s->n_attributes);
    s->dropped_attributes_count = (uint32_t)u64_of(F(j, "droppedAttributesCount"));
    s->events = (Opentelemetry__Proto__Trace__V1__Span__Event **)list_of(cv, F(j, "events"),
                                                                         event_of, &s->n_events);
    s->links = (Opentelemetry__Proto__Trace__V1__Span__Link **)list_of(cv, F(j, "links"), link_of,
                                                                       &s->n_links);
    const cJSON *st = F(j, "status");
    if (cJSON_IsObject(st)) {
        s->status = new_msg(cv, &opentelemetry__proto__trace__v1__status__descriptor);
        s->status->message = str_of(cv, F(st, "message"));
        s->status->code =
            (Opentelemetry__Proto__Trace__V1__Status__StatusCode)i64_of(F(st, "code"));
    }
    return s;
}

static void *scope_spans_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
        new_msg(cv, &opentelemetry__proto__trace__v1__scope_spans__descriptor);
    ss->scope = scope_of(cv, F(j, "scope"));
    ss->spans =
        (Opentelemetry__Proto__Trace__V1__Span **)list_of(cv, F(j, "spans"), span_of, &ss->n_spans);
    ss->schema_url = str_of(cv, F(j, "schemaUrl"));
    return ss;
}

static void *resource_spans_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs =
        new_msg(cv, &opentelemetry__proto__trace__v1__resource_spans__descriptor);
    rs->resource = resource_of(cv, F(j, "resource"));
    rs->scope_spans = (Opentelemetry__Proto__Trace__V1__ScopeSpans **)list_of(
        cv, F(j, "scopeSpans"), scope_spans_of, &rs->n_scope_spans);
    rs->schema_url = str_of(cv, F(j, "schemaUrl"));
    return rs;
}

/* ---- metrics ---- */

/* The point fields every point type has, at their own offsets. */
static void number_point_fill(conv *cv, const cJSON *j,
                              Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p)
{
    p->attributes = kvs_of(cv, F(j, "attributes"), &p->n_attributes);
    p->start_time_unix_nano = u64_of(F(j, "startTimeUnixNano"));
    p->time_unix_nano = u64_of(F(j, "timeUnixNano"));
    p->flags = (uint32_t)u64_of(F(j, "flags"));
    if (F(j, "asDouble")) {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
        p->as_double = double_of(F(j, "asDouble"));
    } else if (F(j, "asInt")) {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
        p->as_int = i64_of(F(j, "asInt"));
    }
}

static void *number_point_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p =
        new_msg(cv, &opentelemetry__proto__metrics__v1__number_data_point__descriptor);
    number_point_fill(cv, j, p);
    return p;
}

static uint64_t *u64s_of(conv *cv, const cJSON *arr, size_t *n)
{
    *n = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
    uint64_t *out = mem(cv, *n * sizeof *out);
    for (size_t i = 0; i < *n; i++)
        out[i] = u64_of(cJSON_GetArrayItem(arr, (int)i));
    return out;
}

static double *doubles_of(conv *cv, const cJSON *arr, size_t *n)
{
    *n = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
    double *out = mem(cv, *n * sizeof *out);
    for (size_t i = 0; i < *n; i++)
        out[i] = double_of(cJSON_GetArrayItem(arr, (int)i));
    return out;
}

static void *hist_point_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *p =
        new_msg(cv, &opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
    p->attributes = kvs_of(cv, F(j, "attributes"), &p->n_attributes);
    p->start_time_unix_nano = u64_of(F(j, "startTimeUnixNano"));
    p->time_unix_nano = u64_of(F(j, "timeUnixNano"));
    p->count = u64_of(F(j, "count"));
    if (F(j, "sum")) {
        p->has_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_SUM_SUM;
        p->sum = double_of(F(j, "sum"));
    }
    if (F(j, "min")) {
        p->has_min_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_MIN_MIN;
        p->min = double_of(F(j, "min"));
    }
    if (F(j, "max")) {
        p->has_max_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_MAX_MAX;
        p->max = double_of(F(j, "max"));
    }
    p->bucket_counts = u64s_of(cv, F(j, "bucketCounts"), &p->n_bucket_counts);
    p->explicit_bounds = doubles_of(cv, F(j, "explicitBounds"), &p->n_explicit_bounds);
    return p;
}

static Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets *
buckets_of(conv *cv, const cJSON *j)
{
    if (!cJSON_IsObject(j))
        return NULL;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets *b = new_msg(
        cv,
        &opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__descriptor);
    b->offset = (int32_t)i64_of(F(j, "offset"));
    b->bucket_counts = u64s_of(cv, F(j, "bucketCounts"), &b->n_bucket_counts);
    return b;
}

static void *exp_point_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *p = new_msg(
        cv, &opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor);
    p->attributes = kvs_of(cv, F(j, "attributes"), &p->n_attributes);
    p->start_time_unix_nano = u64_of(F(j, "startTimeUnixNano"));
    p->time_unix_nano = u64_of(F(j, "timeUnixNano"));
    p->count = u64_of(F(j, "count"));
    if (F(j, "sum")) {
        p->has_sum_case =
            OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__HAS_SUM_SUM;
        p->sum = double_of(F(j, "sum"));
    }
    p->scale = (int32_t)i64_of(F(j, "scale"));
    p->zero_count = u64_of(F(j, "zeroCount"));
    p->positive = buckets_of(cv, F(j, "positive"));
    p->negative = buckets_of(cv, F(j, "negative"));
    return p;
}

static void *quantile_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *q = new_msg(
        cv, &opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__descriptor);
    q->quantile = double_of(F(j, "quantile"));
    q->value = double_of(F(j, "value"));
    return q;
}

static void *summary_point_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint *p =
        new_msg(cv, &opentelemetry__proto__metrics__v1__summary_data_point__descriptor);
    p->attributes = kvs_of(cv, F(j, "attributes"), &p->n_attributes);
    p->start_time_unix_nano = u64_of(F(j, "startTimeUnixNano"));
    p->time_unix_nano = u64_of(F(j, "timeUnixNano"));
    p->count = u64_of(F(j, "count"));
    p->sum = double_of(F(j, "sum"));
    p->quantile_values =
        (Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile **)list_of(
            cv, F(j, "quantileValues"), quantile_of, &p->n_quantile_values);
    return p;
}

/* The metric's data: the first point type present, as a oneof holds only one. */
static void metric_data(conv *cv, const cJSON *j, Opentelemetry__Proto__Metrics__V1__Metric *m)
{
    const cJSON *d;
    if ((d = F(j, "gauge"))) {
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
        m->gauge = new_msg(cv, &opentelemetry__proto__metrics__v1__gauge__descriptor);
        m->gauge->data_points = (Opentelemetry__Proto__Metrics__V1__NumberDataPoint **)list_of(
            cv, F(d, "dataPoints"), number_point_of, &m->gauge->n_data_points);
    } else if ((d = F(j, "sum"))) {
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
        m->sum = new_msg(cv, &opentelemetry__proto__metrics__v1__sum__descriptor);
        m->sum->data_points = (Opentelemetry__Proto__Metrics__V1__NumberDataPoint **)list_of(
            cv, F(d, "dataPoints"), number_point_of, &m->sum->n_data_points);
        m->sum->aggregation_temporality =
            (Opentelemetry__Proto__Metrics__V1__AggregationTemporality)i64_of(
                F(d, "aggregationTemporality"));
        m->sum->is_monotonic = cJSON_IsTrue(F(d, "isMonotonic"));
    } else if ((d = F(j, "histogram"))) {
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
        m->histogram = new_msg(cv, &opentelemetry__proto__metrics__v1__histogram__descriptor);
        m->histogram->data_points =
            (Opentelemetry__Proto__Metrics__V1__HistogramDataPoint **)list_of(
                cv, F(d, "dataPoints"), hist_point_of, &m->histogram->n_data_points);
        m->histogram->aggregation_temporality =
            (Opentelemetry__Proto__Metrics__V1__AggregationTemporality)i64_of(
                F(d, "aggregationTemporality"));
    } else if ((d = F(j, "exponentialHistogram"))) {
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
        m->exponential_histogram =
            new_msg(cv, &opentelemetry__proto__metrics__v1__exponential_histogram__descriptor);
        m->exponential_histogram->data_points =
            (Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint **)list_of(
                cv, F(d, "dataPoints"), exp_point_of, &m->exponential_histogram->n_data_points);
    } else if ((d = F(j, "summary"))) {
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
        m->summary = new_msg(cv, &opentelemetry__proto__metrics__v1__summary__descriptor);
        m->summary->data_points = (Opentelemetry__Proto__Metrics__V1__SummaryDataPoint **)list_of(
            cv, F(d, "dataPoints"), summary_point_of, &m->summary->n_data_points);
    }
}

static void *metric_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Metrics__V1__Metric *m =
        new_msg(cv, &opentelemetry__proto__metrics__v1__metric__descriptor);
    m->name = str_of(cv, F(j, "name"));
    m->description = str_of(cv, F(j, "description"));
    m->unit = str_of(cv, F(j, "unit"));
    metric_data(cv, j, m);
    return m;
}

static void *scope_metrics_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
        new_msg(cv, &opentelemetry__proto__metrics__v1__scope_metrics__descriptor);
    sm->scope = scope_of(cv, F(j, "scope"));
    sm->metrics = (Opentelemetry__Proto__Metrics__V1__Metric **)list_of(cv, F(j, "metrics"),
                                                                        metric_of, &sm->n_metrics);
    sm->schema_url = str_of(cv, F(j, "schemaUrl"));
    return sm;
}

static void *resource_metrics_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm =
        new_msg(cv, &opentelemetry__proto__metrics__v1__resource_metrics__descriptor);
    rm->resource = resource_of(cv, F(j, "resource"));
    rm->scope_metrics = (Opentelemetry__Proto__Metrics__V1__ScopeMetrics **)list_of(
        cv, F(j, "scopeMetrics"), scope_metrics_of, &rm->n_scope_metrics);
    rm->schema_url = str_of(cv, F(j, "schemaUrl"));
    return rm;
}

/* ---- logs ---- */

static void *log_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Logs__V1__LogRecord *l =
        new_msg(cv, &opentelemetry__proto__logs__v1__log_record__descriptor);
    l->time_unix_nano = u64_of(F(j, "timeUnixNano"));
    l->observed_time_unix_nano = u64_of(F(j, "observedTimeUnixNano"));
    l->severity_number =
        (Opentelemetry__Proto__Logs__V1__SeverityNumber)i64_of(F(j, "severityNumber"));
    l->severity_text = str_of(cv, F(j, "severityText"));
    l->body = any_of(cv, F(j, "body"));
    l->attributes = kvs_of(cv, F(j, "attributes"), &l->n_attributes);
    l->flags = (uint32_t)u64_of(F(j, "flags"));
    l->trace_id = hex_of(cv, F(j, "traceId"));
    l->span_id = hex_of(cv, F(j, "spanId"));
    l->event_name = str_of(cv, F(j, "eventName"));
    return l;
}

static void *scope_logs_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Logs__V1__ScopeLogs *sl =
        new_msg(cv, &opentelemetry__proto__logs__v1__scope_logs__descriptor);
    sl->scope = scope_of(cv, F(j, "scope"));
    sl->log_records = (Opentelemetry__Proto__Logs__V1__LogRecord **)list_of(
        cv, F(j, "logRecords"), log_of, &sl->n_log_records);
    sl->schema_url = str_of(cv, F(j, "schemaUrl"));
    return sl;
}

static void *resource_logs_of(conv *cv, const cJSON *j)
{
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rl =
        new_msg(cv, &opentelemetry__proto__logs__v1__resource_logs__descriptor);
    rl->resource = resource_of(cv, F(j, "resource"));
    rl->scope_logs = (Opentelemetry__Proto__Logs__V1__ScopeLogs **)list_of(
        cv, F(j, "scopeLogs"), scope_logs_of, &rl->n_scope_logs);
    rl->schema_url = str_of(cv, F(j, "schemaUrl"));
    return rl;
}

/* ---- requests ---- */

static ProtobufCMessage *request_of(conv *cv, otlp_signal sig, const cJSON *root)
{
    if (sig == OTLP_SIGNAL_TRACES) {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r = new_msg(
            cv,
            &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor);
        r->resource_spans = (Opentelemetry__Proto__Trace__V1__ResourceSpans **)list_of(
            cv, F(root, "resourceSpans"), resource_spans_of, &r->n_resource_spans);
        return &r->base;
    }
    if (sig == OTLP_SIGNAL_METRICS) {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *r = new_msg(
            cv,
            &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor);
        r->resource_metrics = (Opentelemetry__Proto__Metrics__V1__ResourceMetrics **)list_of(
            cv, F(root, "resourceMetrics"), resource_metrics_of, &r->n_resource_metrics);
        return &r->base;
    }
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *r = new_msg(
        cv, &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor);
    r->resource_logs = (Opentelemetry__Proto__Logs__V1__ResourceLogs **)list_of(
        cv, F(root, "resourceLogs"), resource_logs_of, &r->n_resource_logs);
    return &r->base;
}

uint8_t *t_otlp_json_to_pb(otlp_signal sig, const char *json, size_t len, size_t *out_len)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return NULL;
    }
    conv cv = {0};
    const ProtobufCMessage *m = request_of(&cv, sig, root);
    *out_len = protobuf_c_message_get_packed_size(m);
    uint8_t *out = malloc(*out_len ? *out_len : 1);
    if (out)
        protobuf_c_message_pack(m, out);
    ing_arena_free(&cv.arena);
    cJSON_Delete(root);
    return out;
}
