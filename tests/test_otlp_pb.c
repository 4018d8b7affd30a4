/*
 * OTLP protobuf decoder units: requests built with the generated protobuf-c
 * API and packed, decoded with otlp_decode_pb and compared item by item, field
 * by field, with otlp_decode of the same data written as JSON by hand; the
 * SDK fixtures re-encoded as protobuf (otlp_pb_conv.h); the JS SDK's own
 * JSON/protobuf pairs; bad ids, truncated and garbage bodies, the limits, the
 * nesting bound, the answers.
 */
#include "otlp.h"
#include "otlp_pb.h"
#include "otlp_pb_conv.h"
#include "support.h"

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pb_scope_spans;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_resource_spans;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hist_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint pb_exp_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint pb_summary_point;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics pb_scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics pb_resource_metrics;
typedef Opentelemetry__Proto__Logs__V1__LogRecord pb_log;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs pb_scope_logs;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs pb_resource_logs;

static otlp_batch P; /* decoded from protobuf */
static otlp_batch J; /* decoded from JSON */
static ing_arena A;  /* the messages the tests build */

/* ---- building messages ---- */

static void *msg(const ProtobufCMessageDescriptor *d)
{
    void *m = ing_arena_alloc(&A, d->sizeof_message);
    assert_non_null(m);
    protobuf_c_message_init(d, m);
    return m;
}

/* A list of pointers in the arena: LIST(T, a, b, c) gives (T **, n). */
#define LIST(T, ...) (T *[]){__VA_ARGS__}, sizeof((T *[]){__VA_ARGS__}) / sizeof(T *)
static void **dup_list(void *const *items, size_t n)
{
    void **out = ing_arena_alloc(&A, n * sizeof *out + 1);
    assert_non_null(out);
    if (n)
        memcpy(out, items, n * sizeof *out);
    return out;
}

static ProtobufCBinaryData bin(const void *p, size_t n)
{
    ProtobufCBinaryData d = {n, ing_arena_alloc(&A, n + 1)};
    assert_non_null(d.data);
    if (n)
        memcpy(d.data, p, n);
    return d;
}

/* An id from hex digits (any count, for the bad ones). */
static ProtobufCBinaryData hex(const char *h)
{
    uint8_t raw[64];
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned x;
        sscanf(h + 2 * i, "%2x", &x);
        raw[i] = (uint8_t)x;
    }
    return bin(raw, n);
}

static pb_any *any(Opentelemetry__Proto__Common__V1__AnyValue__ValueCase c)
{
    pb_any *a = msg(&opentelemetry__proto__common__v1__any_value__descriptor);
    a->value_case = c;
    return a;
}

static pb_any *v_str(const char *s)
{
    pb_any *a = any(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
    a->string_value = (char *)s;
    return a;
}

static pb_any *v_int(int64_t i)
{
    pb_any *a = any(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    a->int_value = i;
    return a;
}

static pb_any *v_dbl(double d)
{
    pb_any *a = any(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
    a->double_value = d;
    return a;
}

static pb_any *v_bool(bool b)
{
    pb_any *a = any(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    a->bool_value = b;
    return a;
}

static pb_any *v_bytes(const void *p, size_t n)
{
    pb_any *a = any(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
    a->bytes_value = bin(p, n);
    return a;
}

static pb_any *v_empty(void)
{
    return any(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
}

static pb_any *v_array(pb_any *const *vals, size_t n)
{
    pb_any *a = any(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
    a->array_value = msg(&opentelemetry__proto__common__v1__array_value__descriptor);
    a->array_value->values = (pb_any **)dup_list((void *const *)vals, n);
    a->array_value->n_values = n;
    return a;
}

static pb_any *v_kvlist(pb_kv *const *kvs, size_t n)
{
    pb_any *a = any(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
    a->kvlist_value = msg(&opentelemetry__proto__common__v1__key_value_list__descriptor);
    a->kvlist_value->values = (pb_kv **)dup_list((void *const *)kvs, n);
    a->kvlist_value->n_values = n;
    return a;
}

static pb_kv *kv(const char *key, pb_any *v)
{
    pb_kv *k = msg(&opentelemetry__proto__common__v1__key_value__descriptor);
    k->key = (char *)key;
    k->value = v;
    return k;
}

/* Sets a message's repeated field from a LIST(...). */
#define SET(m, field, ...)                                                                         \
    do {                                                                                           \
        (m)->field = (void *)dup_list((void *const *)(void *)LIST(void, __VA_ARGS__));             \
        (m)->n_##field = sizeof((void *[]){__VA_ARGS__}) / sizeof(void *);                         \
    } while (0)

static pb_resource *resource(void)
{
    return msg(&opentelemetry__proto__resource__v1__resource__descriptor);
}

static pb_scope *scope(const char *name)
{
    pb_scope *s = msg(&opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
    s->name = (char *)name;
    return s;
}

static pb_span *span(const char *trace_id, const char *span_id, const char *name)
{
    pb_span *s = msg(&opentelemetry__proto__trace__v1__span__descriptor);
    s->trace_id = hex(trace_id);
    s->span_id = hex(span_id);
    s->name = (char *)name;
    return s;
}

static pb_scope_spans *scope_spans(pb_scope *sc)
{
    pb_scope_spans *ss = msg(&opentelemetry__proto__trace__v1__scope_spans__descriptor);
    ss->scope = sc;
    return ss;
}

static pb_resource_spans *resource_spans(pb_resource *r)
{
    pb_resource_spans *rs = msg(&opentelemetry__proto__trace__v1__resource_spans__descriptor);
    rs->resource = r;
    return rs;
}

static Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *traces(void)
{
    return msg(
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor);
}

/* One resource, one scope "sc", these spans. */
static ProtobufCMessage *traces_of(pb_span *const *spans, size_t n)
{
    pb_scope_spans *ss = scope_spans(scope("sc"));
    ss->spans = (pb_span **)dup_list((void *const *)spans, n);
    ss->n_spans = n;
    pb_resource_spans *rs = resource_spans(NULL);
    SET(rs, scope_spans, ss);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r = traces();
    SET(r, resource_spans, rs);
    return &r->base;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(*len + 1);
    assert_non_null(p);
    assert_int_equal(protobuf_c_message_pack(m, p), *len);
    return p;
}

/* ---- comparing the decoders ---- */

static void same_str(size_t i, const char *what, const char *json, const char *pb)
{
    if ((!json && !pb) || (json && pb && strcmp(json, pb) == 0))
        return;
    fail_msg("item %zu: %s differs: JSON %s%s%s, protobuf %s%s%s", i, what, json ? "\"" : "",
             json ? json : "NULL", json ? "\"" : "", pb ? "\"" : "", pb ? pb : "NULL",
             pb ? "\"" : "");
}

static void same_item(size_t i, const otlp_item *j, const otlp_item *p)
{
    assert_int_equal(p->kind, j->kind);
    same_str(i, "reject", j->reject, p->reject);
    same_str(i, "item_id", j->item_id, p->item_id);
    same_str(i, "request_id", j->request_id, p->request_id);
    same_str(i, "sent_for", j->sent_for, p->sent_for);
    same_str(i, "service", j->service, p->service);
    same_str(i, "scope", j->scope, p->scope);
    same_str(i, "name", j->name, p->name);
    same_str(i, "trace_id", j->trace_id, p->trace_id);
    same_str(i, "span_id", j->span_id, p->span_id);
    same_str(i, "parent_span_id", j->parent_span_id, p->parent_span_id);
    same_str(i, "metric_type", j->metric_type, p->metric_type);
    same_str(i, "body", j->body, p->body);
    same_str(i, "attrs", j->attrs, p->attrs);
    assert_int_equal(p->start_ns, j->start_ns);
    assert_int_equal(p->end_ns, j->end_ns);
    assert_int_equal(p->has_value, j->has_value);
    if (memcmp(&p->value, &j->value, sizeof p->value) != 0) /* bit for bit: NaN, -0 */
        fail_msg("item %zu: value %.17g (JSON) != %.17g (protobuf)", i, j->value, p->value);
    assert_int_equal(p->count, j->count);
    assert_int_equal(p->severity, j->severity);
    assert_int_equal(p->span_kind, j->span_kind);
    same_str(i, "status_message", j->status_message, p->status_message);
    same_str(i, "trace_state", j->trace_state, p->trace_state);
    assert_int_equal(p->flags, j->flags);
    same_str(i, "scope_version", j->scope_version, p->scope_version);
    same_str(i, "resource", j->resource, p->resource);
    same_str(i, "severity_text", j->severity_text, p->severity_text);
    same_str(i, "body_type", j->body_type, p->body_type);
    same_str(i, "unit", j->unit, p->unit);
    assert_int_equal(p->temporality, j->temporality);
    assert_int_equal(p->monotonic, j->monotonic);
    same_str(i, "detail", j->detail, p->detail);
}

static void same_items(void)
{
    assert_int_equal(P.n, J.n);
    assert_int_equal(P.rejected, J.rejected);
    assert_string_equal(P.first_error, J.first_error);
    for (size_t i = 0; i < J.n; i++)
        same_item(i, &J.items[i], &P.items[i]);
}

/* Decodes `req` packed into P and `json` into J; both must succeed with the same items. */
static void decode_both(otlp_signal sig, const ProtobufCMessage *req, const char *json)
{
    size_t len;
    uint8_t *body = pack(req, &len);
    char err[256] = "";
    if (otlp_decode_pb(&P, sig, body, len, NULL, err, sizeof err) != OTLP_OK)
        fail_msg("protobuf: %s", err);
    if (otlp_decode(&J, sig, json, strlen(json), NULL, err, sizeof err) != OTLP_OK)
        fail_msg("JSON: %s", err);
    same_items();
    free(body);
}

#define T1     "5b8efff798038103d269b633813fc60c"
#define S1     "00f067aa0ba902b7"
#define S2     "1112131415161718"
#define S3     "a1a2a3a4a5a6a7a8"
#define PARENT "0102030405060708"

/* ---- spans ---- */

/* Every AnyValue type, nested arrays and lists, as the one span's attributes. */
static pb_kv **every_type(size_t *n)
{
    static const uint8_t deadbeef[] = {0xde, 0xad, 0xbe, 0xef}, ff[] = {0xff}, z1[] = {0, 1};
    pb_kv *kvs[] = {
        kv("edgeloss.item_id", v_str("it-1")),
        kv("edgeloss.request_id", v_str("req-1")),
        kv("s", v_str("text \"quoted\"\n\x01")),
        kv("e", v_str("")),
        kv("b", v_bool(true)),
        kv("f", v_bool(false)),
        kv("i", v_int(3)),
        kv("neg", v_int(-42)),
        kv("big", v_int(9007199254740993LL)),
        kv("min", v_int(INT64_MIN)),
        kv("max", v_int(INT64_MAX)),
        kv("d", v_dbl(42.5)),
        kv("di", v_dbl(3.0)),
        kv("nz", v_dbl(-0.0)),
        kv("nan", v_dbl(NAN)),
        kv("inf", v_dbl(INFINITY)),
        kv("ninf", v_dbl(-INFINITY)),
        kv("tiny", v_dbl(1e-300)),
        kv("pi", v_dbl(3.141592653589793)),
        kv("by", v_bytes(deadbeef, sizeof deadbeef)),
        kv("by1", v_bytes(ff, 1)),
        kv("by2", v_bytes(z1, 2)),
        kv("by0", v_bytes("", 0)),
        kv("nul", v_empty()),
        kv("nov", NULL),
        kv("arr", v_array(LIST(pb_any, v_int(1), v_str("x"),
                               v_array(LIST(pb_any, v_bool(true), v_array(NULL, 0))),
                               v_kvlist(LIST(pb_kv, kv("k", v_dbl(2.5))))))),
        kv("emptyarr", v_array(NULL, 0)),
        kv("kv", v_kvlist(LIST(
                     pb_kv, kv("a", v_kvlist(LIST(pb_kv, kv("b", v_array(LIST(pb_any, v_empty()))),
                                                  kv("c", v_str("d")))))))),
        kv("emptykv", v_kvlist(NULL, 0)),
        kv("dup", v_int(1)),
        kv("dup", v_int(2)),
    };
    *n = sizeof kvs / sizeof kvs[0];
    return (pb_kv **)dup_list((void *const *)kvs, *n);
}

static const char every_type_json[] =
    "[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":\"it-1\"}},"
    "{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"req-1\"}},"
    "{\"key\":\"s\",\"value\":{\"stringValue\":\"text \\\"quoted\\\"\\n\\u0001\"}},"
    "{\"key\":\"e\",\"value\":{\"stringValue\":\"\"}},"
    "{\"key\":\"b\",\"value\":{\"boolValue\":true}},"
    "{\"key\":\"f\",\"value\":{\"boolValue\":false}},"
    "{\"key\":\"i\",\"value\":{\"intValue\":3}},"
    "{\"key\":\"neg\",\"value\":{\"intValue\":\"-42\"}},"
    "{\"key\":\"big\",\"value\":{\"intValue\":\"9007199254740993\"}},"
    "{\"key\":\"min\",\"value\":{\"intValue\":\"-9223372036854775808\"}},"
    "{\"key\":\"max\",\"value\":{\"intValue\":\"9223372036854775807\"}},"
    "{\"key\":\"d\",\"value\":{\"doubleValue\":42.5}},"
    "{\"key\":\"di\",\"value\":{\"doubleValue\":3}},"
    "{\"key\":\"nz\",\"value\":{\"doubleValue\":-0.0}},"
    "{\"key\":\"nan\",\"value\":{\"doubleValue\":\"NaN\"}},"
    "{\"key\":\"inf\",\"value\":{\"doubleValue\":\"Infinity\"}},"
    "{\"key\":\"ninf\",\"value\":{\"doubleValue\":\"-Infinity\"}},"
    "{\"key\":\"tiny\",\"value\":{\"doubleValue\":1e-300}},"
    "{\"key\":\"pi\",\"value\":{\"doubleValue\":3.141592653589793}},"
    "{\"key\":\"by\",\"value\":{\"bytesValue\":\"3q2+7w==\"}},"
    "{\"key\":\"by1\",\"value\":{\"bytesValue\":\"/w==\"}},"
    "{\"key\":\"by2\",\"value\":{\"bytesValue\":\"AAE=\"}},"
    "{\"key\":\"by0\",\"value\":{\"bytesValue\":\"\"}},"
    "{\"key\":\"nul\",\"value\":{}},"
    "{\"key\":\"nov\"},"
    "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},"
    "{\"stringValue\":\"x\"},{\"arrayValue\":{\"values\":[{\"boolValue\":true},"
    "{\"arrayValue\":{}}]}},{\"kvlistValue\":{\"values\":[{\"key\":\"k\","
    "\"value\":{\"doubleValue\":2.5}}]}}]}}},"
    "{\"key\":\"emptyarr\",\"value\":{\"arrayValue\":{\"values\":[]}}},"
    "{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":"
    "{\"kvlistValue\":{\"values\":[{\"key\":\"b\",\"value\":{\"arrayValue\":{\"values\":[{}]}}},"
    "{\"key\":\"c\",\"value\":{\"stringValue\":\"d\"}}]}}}]}}},"
    "{\"key\":\"emptykv\",\"value\":{\"kvlistValue\":{}}},"
    "{\"key\":\"dup\",\"value\":{\"intValue\":1}},"
    "{\"key\":\"dup\",\"value\":{\"intValue\":2}}]";

static void test_spans_match_json(void **state)
{
    (void)state;
    /* Resource 1: service.name and a request id; scope "lib-a" with its own (an int). */
    pb_resource *r1 = resource();
    SET(r1, attributes, kv("service.name", v_str("checkout")), kv("deployment", v_str("x")),
        kv("edgeloss.request_id", v_str("res-r")));
    pb_scope *sa = scope("lib-a");
    SET(sa, attributes, kv("edgeloss.request_id", v_int(77)));
    pb_span *s1 = span(T1, S1, "GET /a");
    s1->parent_span_id = hex(PARENT);
    s1->start_time_unix_nano = 1735689600001000123ULL; /* past a double's 53 bits */
    s1->end_time_unix_nano = 1735689600005000456ULL;
    s1->attributes = every_type(&s1->n_attributes);
    s1->status = msg(&opentelemetry__proto__trace__v1__status__descriptor);
    s1->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    s1->status->message = "boom";
    s1->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    s1->flags = 257;
    pb_span *s2 = span(T1, S2, ""); /* an empty name, an int item id, no status */
    SET(s2, attributes, kv("edgeloss.item_id", v_int(42)));
    pb_scope_spans *ssa = scope_spans(sa);
    SET(ssa, spans, s1, s2);
    /* No scope at all; an item id that is neither a string nor an int. */
    pb_span *s3 = span(T1, S3, "x");
    SET(s3, attributes, kv("edgeloss.item_id", v_bool(true)), kv("k", v_str("v")));
    pb_scope_spans *ssn = scope_spans(NULL);
    SET(ssn, spans, s3);
    pb_resource_spans *rs1 = resource_spans(r1);
    SET(rs1, scope_spans, ssa, ssn);
    /* Resource 2: none; a span with events and links (its detail). */
    pb_span *s4 = span(T1, S1, "events");
    Opentelemetry__Proto__Trace__V1__Span__Event *ev =
        msg(&opentelemetry__proto__trace__v1__span__event__descriptor);
    ev->name = "exception";
    ev->time_unix_nano = 5;
    SET(ev, attributes, kv("exception.type", v_str("E")));
    SET(s4, events, ev);
    Opentelemetry__Proto__Trace__V1__Span__Link *ln =
        msg(&opentelemetry__proto__trace__v1__span__link__descriptor);
    ln->trace_id = hex(T1);
    ln->span_id = hex(S2);
    SET(s4, links, ln);
    pb_scope_spans *ssb = scope_spans(scope("lib-b"));
    SET(ssb, spans, s4);
    pb_resource_spans *rs2 = resource_spans(NULL);
    SET(rs2, scope_spans, ssb);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = traces();
    SET(req, resource_spans, rs1, rs2);

    char json[8192];
    snprintf(json, sizeof json,
             "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
             "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
             "{\"key\":\"deployment\",\"value\":{\"stringValue\":\"x\"}},"
             "{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"res-r\"}}]},"
             "\"scopeSpans\":[{\"scope\":{\"name\":\"lib-a\",\"attributes\":[{\"key\":"
             "\"edgeloss.request_id\",\"value\":{\"intValue\":\"77\"}}]},\"spans\":["
             "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"parentSpanId\":\"" PARENT "\","
             "\"name\":\"GET "
             "/a\",\"kind\":2,\"flags\":257,\"startTimeUnixNano\":\"1735689600001000123\","
             "\"endTimeUnixNano\":\"1735689600005000456\",\"attributes\":%s,"
             "\"status\":{\"code\":2,\"message\":\"boom\"}},"
             "{\"traceId\":\"" T1 "\",\"spanId\":\"" S2 "\",\"name\":\"\",\"attributes\":["
             "{\"key\":\"edgeloss.item_id\",\"value\":{\"intValue\":42}}]}]},"
             "{\"spans\":[{\"traceId\":\"" T1 "\",\"spanId\":\"" S3 "\",\"name\":\"x\","
             "\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"boolValue\":true}},"
             "{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}}]}]}]},"
             "{\"scopeSpans\":[{\"scope\":{\"name\":\"lib-b\"},\"spans\":[{\"traceId\":\"" T1 "\","
             "\"spanId\":\"" S1 "\",\"name\":\"events\",\"events\":[{\"name\":\"exception\","
             "\"timeUnixNano\":\"5\",\"attributes\":[{\"key\":\"exception.type\",\"value\":"
             "{\"stringValue\":\"E\"}}]}],\"links\":[{\"traceId\":\"" T1 "\",\"spanId\":\"" S2
             "\"}]}]}"
             "]}]}",
             every_type_json);
    decode_both(OTLP_SIGNAL_TRACES, &req->base, json);

    /* And what they agree on is right. */
    assert_int_equal(P.n, 4);
    assert_int_equal(P.rejected, 0);
    const otlp_item *it = &P.items[0];
    assert_string_equal(it->trace_id, T1);
    assert_string_equal(it->span_id, S1);
    assert_string_equal(it->parent_span_id, PARENT);
    assert_int_equal(it->start_ns, 1735689600001000123LL);
    assert_int_equal(it->end_ns, 1735689600005000456LL);
    assert_string_equal(it->item_id, "it-1");
    assert_string_equal(it->request_id, "req-1");
    assert_string_equal(it->sent_for, "77"); /* the scope's, over the resource's */
    assert_string_equal(it->service, "checkout");
    assert_string_equal(it->scope, "lib-a");
    assert_int_equal(it->severity, 2);
    assert_string_equal(it->status_message, "boom");
    assert_int_equal(it->span_kind, 2);
    assert_int_equal(it->flags, 257);
    assert_string_equal(P.items[3].detail,
                        "{\"events\":[{\"time_ns\":5,\"name\":\"exception\",\"attrs\":"
                        "{\"exception.type\":\"E\"}}],\"links\":[{\"trace_id\":\"" T1 "\","
                        "\"span_id\":\"" S2 "\"}]}");
    assert_null(P.items[3].resource);
    assert_string_equal(it->resource, "{\"service.name\":\"checkout\",\"deployment\":\"x\","
                                      "\"edgeloss.request_id\":\"res-r\"}");
    assert_string_equal(
        it->attrs,
        "{\"s\":\"text \\\"quoted\\\"\\n\\u0001\",\"e\":\"\",\"b\":true,\"f\":false,\"i\":3,"
        "\"neg\":-42,\"big\":9007199254740993,\"min\":-9223372036854775808,"
        "\"max\":9223372036854775807,\"d\":42.5,\"di\":3,\"nz\":-0,\"nan\":\"NaN\","
        "\"inf\":\"Infinity\",\"ninf\":\"-Infinity\",\"tiny\":1e-300,"
        "\"pi\":3.1415926535897931,\"by\":\"3q2+7w==\",\"by1\":\"/w==\",\"by2\":\"AAE=\","
        "\"by0\":\"\",\"nul\":null,\"nov\":null,\"arr\":[1,\"x\",[true,[]],{\"k\":2.5}],"
        "\"emptyarr\":[],\"kv\":{\"a\":{\"b\":[null],\"c\":\"d\"}},\"emptykv\":{},\"dup\":1,"
        "\"dup\":2}");
    assert_string_equal(P.items[1].item_id, "42");
    assert_string_equal(P.items[1].name, "");
    assert_string_equal(P.items[1].parent_span_id, "");
    assert_null(P.items[1].attrs);
    assert_null(P.items[2].item_id);
    assert_null(P.items[2].scope);
    assert_string_equal(P.items[2].sent_for, "res-r");
    assert_null(P.items[3].service);
    assert_null(P.items[3].sent_for);
}

/* An intValue past 2^53 is exact from protobuf and from a JSON string; a JSON number is refused. */
static void test_int_values_render_as_json_strings_do(void **state)
{
    (void)state;
    pb_span *s = span(T1, S1, "n");
    SET(s, attributes, kv("five", v_int(5)), kv("big", v_int(9007199254740993LL)));
    char err[256];
    size_t len;
    uint8_t *body = pack(traces_of(&s, 1), &len);
    assert_int_equal(otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, body, len, NULL, err, sizeof err),
                     OTLP_OK);
    assert_string_equal(P.items[0].attrs, "{\"five\":5,\"big\":9007199254740993}");
    static const char *const forms[][2] = {{"\"5\"", "\"9007199254740993\""},
                                           {"5", "9007199254740993"}};
    for (int f = 0; f < 2; f++) {
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":\"sc\"},\"spans\":[{"
                 "\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"name\":\"n\",\"attributes\":["
                 "{\"key\":\"five\",\"value\":{\"intValue\":%s}},"
                 "{\"key\":\"big\",\"value\":{\"intValue\":%s}}]}]}]}]}",
                 forms[f][0], forms[f][1]);
        assert_int_equal(
            otlp_decode(&J, OTLP_SIGNAL_TRACES, json, strlen(json), NULL, err, sizeof err),
            OTLP_OK);
        if (f == 0)
            same_items(); /* the string form: exactly the protobuf items */
        else {            /* the number went through a double: rounded, so the span is refused */
            assert_string_equal(J.items[0].reject, "inexact_integer");
            assert_int_equal(J.rejected, 1);
            assert_non_null(strstr(J.first_error, "an intValue is a JSON number beyond 2^53"));
        }
    }
    free(body);
}

/* ---- metrics ---- */

static pb_number_point *npoint(uint64_t start, uint64_t time)
{
    pb_number_point *p = msg(&opentelemetry__proto__metrics__v1__number_data_point__descriptor);
    p->start_time_unix_nano = start;
    p->time_unix_nano = time;
    return p;
}

static pb_metric *metric(const char *name, Opentelemetry__Proto__Metrics__V1__Metric__DataCase c)
{
    pb_metric *m = msg(&opentelemetry__proto__metrics__v1__metric__descriptor);
    m->name = (char *)name;
    m->data_case = c;
    return m;
}

static void test_metrics_match_json(void **state)
{
    (void)state;
    /* gauge: a double with attributes, an int, no value, NaN. */
    pb_number_point *g1 = npoint(1, 2), *g2 = npoint(0, 3), *g3 = npoint(0, 4), *g4 = npoint(0, 5);
    g1->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    g1->as_double = 1.5;
    SET(g1, attributes, kv("edgeloss.item_id", v_str("m-1")), kv("host", v_str("a")));
    g2->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    g2->as_int = -7;
    g4->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    g4->as_double = NAN;
    pb_metric *mg = metric("g", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
    mg->gauge = msg(&opentelemetry__proto__metrics__v1__gauge__descriptor);
    SET(mg->gauge, data_points, g1, g2, g3, g4);
    /* sum: a big int, an exemplar (in the detail). */
    pb_number_point *s1 = npoint(10, 20);
    s1->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    s1->as_int = 9007199254740993LL;
    Opentelemetry__Proto__Metrics__V1__Exemplar *ex =
        msg(&opentelemetry__proto__metrics__v1__exemplar__descriptor);
    ex->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
    ex->as_double = 3;
    ex->trace_id = hex(T1);
    ex->span_id = hex(S1);
    SET(ex, filtered_attributes, kv("x", v_int(1)));
    SET(s1, exemplars, ex);
    pb_metric *ms = metric("s", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    ms->description = "a sum";
    ms->unit = "{req}";
    ms->sum = msg(&opentelemetry__proto__metrics__v1__sum__descriptor);
    ms->sum->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
    ms->sum->is_monotonic = 1;
    SET(ms->sum, data_points, s1);
    /* histogram: with a sum and buckets; with neither (count 0). */
    pb_hist_point *h1 = msg(&opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
    pb_hist_point *h2 = msg(&opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
    h1->count = 4;
    h1->has_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_SUM_SUM;
    h1->sum = 10.5;
    h1->time_unix_nano = 7;
    static uint64_t buckets[] = {1, 3};
    static double bounds[] = {5};
    h1->bucket_counts = buckets;
    h1->n_bucket_counts = 2;
    h1->explicit_bounds = bounds;
    h1->n_explicit_bounds = 1;
    h1->has_min_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__HAS_MIN_MIN;
    h1->min = 0.5;
    SET(h1, attributes, kv("edgeloss.request_id", v_str("rq")));
    pb_metric *mh = metric("h", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
    mh->histogram = msg(&opentelemetry__proto__metrics__v1__histogram__descriptor);
    SET(mh->histogram, data_points, h1, h2);
    /* exponential histogram: with a sum and buckets; without a sum. */
    pb_exp_point *e1 =
        msg(&opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor);
    pb_exp_point *e2 =
        msg(&opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor);
    e1->count = 7;
    e1->has_sum_case =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__HAS_SUM_SUM;
    e1->sum = 3.5;
    e1->scale = -2;
    e1->zero_count = 1;
    e1->positive = msg(
        &opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__descriptor);
    e1->positive->offset = -1;
    e1->positive->bucket_counts = buckets;
    e1->positive->n_bucket_counts = 2;
    e2->count = 1;
    pb_metric *me =
        metric("e", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM);
    me->exponential_histogram =
        msg(&opentelemetry__proto__metrics__v1__exponential_histogram__descriptor);
    SET(me->exponential_histogram, data_points, e1, e2);
    /* summary: with quantiles; all zero (a sum of 0 is still a sum). */
    pb_summary_point *q1 = msg(&opentelemetry__proto__metrics__v1__summary_data_point__descriptor);
    pb_summary_point *q2 = msg(&opentelemetry__proto__metrics__v1__summary_data_point__descriptor);
    q1->count = 2;
    q1->sum = 3;
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *vq =
        msg(&opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__descriptor);
    vq->quantile = 0.5;
    vq->value = 1;
    SET(q1, quantile_values, vq);
    pb_metric *mq = metric("q", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY);
    mq->summary = msg(&opentelemetry__proto__metrics__v1__summary__descriptor);
    SET(mq->summary, data_points, q1, q2);
    /* No data at all, and a gauge without points: no items, as in JSON. */
    pb_metric *mn = metric("none", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA__NOT_SET);
    pb_metric *m0 = metric("empty", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
    m0->gauge = msg(&opentelemetry__proto__metrics__v1__gauge__descriptor);

    pb_scope_metrics *sm = msg(&opentelemetry__proto__metrics__v1__scope_metrics__descriptor);
    sm->scope = scope("m-lib");
    SET(sm, metrics, mg, ms, mn, mh, me, m0, mq);
    pb_resource *r = resource();
    SET(r, attributes, kv("service.name", v_str("svc")));
    pb_resource_metrics *rm = msg(&opentelemetry__proto__metrics__v1__resource_metrics__descriptor);
    rm->resource = r;
    SET(rm, scope_metrics, sm);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req = msg(
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor);
    SET(req, resource_metrics, rm);

    const char *json =
        "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"svc\"}}]},\"scopeMetrics\":[{\"scope\":{\"name\":\"m-lib\"},"
        "\"metrics\":["
        "{\"name\":\"g\",\"gauge\":{\"dataPoints\":["
        "{\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":\"m-1\"}},"
        "{\"key\":\"host\",\"value\":{\"stringValue\":\"a\"}}],\"startTimeUnixNano\":\"1\","
        "\"timeUnixNano\":\"2\",\"asDouble\":1.5},"
        "{\"timeUnixNano\":\"3\",\"asInt\":\"-7\"},{\"timeUnixNano\":\"4\"},"
        "{\"timeUnixNano\":\"5\",\"asDouble\":\"NaN\"}]}},"
        "{\"name\":\"s\",\"description\":\"a sum\",\"unit\":\"{req}\",\"sum\":{"
        "\"aggregationTemporality\":1,\"isMonotonic\":true,\"dataPoints\":[{"
        "\"startTimeUnixNano\":\"10\",\"timeUnixNano\":\"20\",\"asInt\":\"9007199254740993\","
        "\"exemplars\":[{\"asDouble\":3,\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\","
        "\"filteredAttributes\":[{\"key\":\"x\",\"value\":{\"intValue\":\"1\"}}]}]}]}},"
        "{\"name\":\"none\"},"
        "{\"name\":\"h\",\"histogram\":{\"dataPoints\":["
        "{\"attributes\":[{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"rq\"}}],"
        "\"timeUnixNano\":\"7\",\"count\":\"4\",\"sum\":10.5,\"bucketCounts\":[\"1\",\"3\"],"
        "\"explicitBounds\":[5],\"min\":0.5},{\"count\":\"0\"}]}},"
        "{\"name\":\"e\",\"exponentialHistogram\":{\"dataPoints\":["
        "{\"count\":\"7\",\"sum\":3.5,\"scale\":-2,\"zeroCount\":\"1\",\"positive\":{\"offset\":-1,"
        "\"bucketCounts\":[\"1\",\"3\"]}},{\"count\":\"1\"}]}},"
        "{\"name\":\"empty\",\"gauge\":{}},"
        "{\"name\":\"q\",\"summary\":{\"dataPoints\":[{\"count\":\"2\",\"sum\":3,"
        "\"quantileValues\":[{\"quantile\":0.5,\"value\":1}]},{\"count\":\"0\",\"sum\":0}]}}"
        "]}]}]}";
    decode_both(OTLP_SIGNAL_METRICS, &req->base, json);

    assert_int_equal(P.n, 11);
    assert_string_equal(P.items[0].metric_type, "gauge");
    assert_string_equal(P.items[0].item_id, "m-1");
    assert_string_equal(P.items[0].attrs, "{\"host\":\"a\"}");
    assert_true(P.items[0].value == 1.5);
    assert_true(P.items[1].value == -7.0);
    assert_false(P.items[2].has_value);
    assert_true(isnan(P.items[3].value));
    assert_string_equal(P.items[4].metric_type, "sum");
    assert_true(P.items[4].value == 9007199254740992.0);
    assert_string_equal(P.items[5].metric_type, "histogram");
    assert_int_equal(P.items[5].count, 4);
    assert_true(P.items[5].has_value && P.items[5].value == 10.5);
    assert_string_equal(P.items[5].request_id, "rq");
    assert_false(P.items[6].has_value);
    assert_int_equal(P.items[6].count, 0);
    assert_string_equal(P.items[7].metric_type, "exponential_histogram");
    assert_true(P.items[7].value == 3.5);
    assert_false(P.items[8].has_value);
    assert_string_equal(P.items[9].metric_type, "summary");
    assert_true(P.items[10].has_value && P.items[10].value == 0);
    assert_string_equal(P.items[10].name, "q");
    assert_string_equal(P.items[10].service, "svc");
}

/* ---- logs ---- */

static pb_log *log_record(uint64_t time, int severity, pb_any *body)
{
    pb_log *l = msg(&opentelemetry__proto__logs__v1__log_record__descriptor);
    l->time_unix_nano = time;
    l->observed_time_unix_nano = time + 1;
    l->severity_number = (Opentelemetry__Proto__Logs__V1__SeverityNumber)severity;
    l->body = body;
    return l;
}

static void test_logs_match_json(void **state)
{
    (void)state;
    static const uint8_t z1[] = {0, 1};
    pb_log *l1 = log_record(100, 9, v_str("hello"));
    l1->severity_text = "INFO";
    l1->trace_id = hex(T1);
    l1->span_id = hex(S1);
    l1->event_name = "app.start";
    l1->flags = 1;
    SET(l1, attributes, kv("edgeloss.item_id", v_str("l-1")),
        kv("edgeloss.request_id", v_str("req-1")), kv("user", v_int(7)));
    pb_log *l2 = log_record(
               200, 17,
               v_kvlist(LIST(pb_kv, kv("k", v_int(1)),
                             kv("nested", v_array(LIST(pb_any, v_dbl(1.5), v_bool(true))))))),
           *l3 = log_record(300, 1, v_int(42)), *l4 = log_record(400, 5, v_bool(false)),
           *l5 = log_record(500, 13, v_dbl(2.5)), *l6 = log_record(600, 21, v_bytes(z1, 2)),
           *l7 = log_record(700, 0, v_empty()), *l8 = log_record(800, 24, NULL),
           *l9 = log_record(900, 2, v_array(NULL, 0)), *l10 = log_record(1000, 3, v_str(""));
    pb_scope_logs *sl = msg(&opentelemetry__proto__logs__v1__scope_logs__descriptor);
    sl->scope = scope("log-lib");
    SET(sl->scope, attributes, kv("edgeloss.request_id", v_str("scope-r")));
    SET(sl, log_records, l1, l2, l3, l4, l5);
    pb_scope_logs *sl2 = msg(&opentelemetry__proto__logs__v1__scope_logs__descriptor);
    SET(sl2, log_records, l6, l7, l8, l9, l10);
    pb_resource *r = resource();
    SET(r, attributes, kv("service.name", v_str("logsvc")),
        kv("edgeloss.request_id", v_str("res-r")));
    pb_resource_logs *rl = msg(&opentelemetry__proto__logs__v1__resource_logs__descriptor);
    rl->resource = r;
    SET(rl, scope_logs, sl, sl2);
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
        msg(&opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor);
    SET(req, resource_logs, rl);

    const char *json =
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"logsvc\"}},{\"key\":\"edgeloss.request_id\",\"value\":{"
        "\"stringValue\":\"res-r\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"log-lib\","
        "\"attributes\":[{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"scope-r\"}}]"
        "},\"logRecords\":["
        "{\"timeUnixNano\":\"100\",\"observedTimeUnixNano\":\"101\",\"severityNumber\":9,"
        "\"severityText\":\"INFO\",\"body\":{\"stringValue\":\"hello\"},\"attributes\":["
        "{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":\"l-1\"}},"
        "{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"req-1\"}},"
        "{\"key\":\"user\",\"value\":{\"intValue\":7}}],\"flags\":1,"
        "\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"eventName\":\"app.start\"},"
        "{\"timeUnixNano\":\"200\",\"observedTimeUnixNano\":\"201\",\"severityNumber\":17,"
        "\"body\":{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"intValue\":\"1\"}},"
        "{\"key\":\"nested\",\"value\":{\"arrayValue\":{\"values\":[{\"doubleValue\":1.5},"
        "{\"boolValue\":true}]}}}]}},\"traceId\":\"\",\"spanId\":\"\"},"
        "{\"timeUnixNano\":\"300\",\"observedTimeUnixNano\":\"301\",\"severityNumber\":1,"
        "\"body\":{\"intValue\":\"42\"}},"
        "{\"timeUnixNano\":\"400\",\"observedTimeUnixNano\":\"401\",\"severityNumber\":5,"
        "\"body\":{\"boolValue\":false}},"
        "{\"timeUnixNano\":\"500\",\"observedTimeUnixNano\":\"501\",\"severityNumber\":13,"
        "\"body\":{\"doubleValue\":2.5}}]},"
        "{\"logRecords\":["
        "{\"timeUnixNano\":\"600\",\"observedTimeUnixNano\":\"601\",\"severityNumber\":21,"
        "\"body\":{\"bytesValue\":\"AAE=\"}},"
        "{\"timeUnixNano\":\"700\",\"observedTimeUnixNano\":\"701\",\"body\":{}},"
        "{\"timeUnixNano\":\"800\",\"observedTimeUnixNano\":\"801\",\"severityNumber\":24},"
        "{\"timeUnixNano\":\"900\",\"observedTimeUnixNano\":\"901\",\"severityNumber\":2,"
        "\"body\":{\"arrayValue\":{}}},"
        "{\"timeUnixNano\":\"1000\",\"observedTimeUnixNano\":\"1001\",\"severityNumber\":3,"
        "\"body\":{\"stringValue\":\"\"}}]}]}]}";
    decode_both(OTLP_SIGNAL_LOGS, &req->base, json);

    assert_int_equal(P.n, 10);
    const char *bodies[] = {"hello", "{\"k\":1,\"nested\":[1.5,true]}",
                            "42",    "false",
                            "2.5",   "\"AAE=\"",
                            NULL,    NULL,
                            "[]",    ""};
    for (size_t i = 0; i < 10; i++) {
        if (bodies[i])
            assert_string_equal(P.items[i].body, bodies[i]);
        else
            assert_null(P.items[i].body);
    }
    assert_string_equal(P.items[0].name, "app.start");
    assert_null(P.items[1].name); /* no event_name: as JSON without eventName */
    assert_string_equal(P.items[0].trace_id, T1);
    assert_string_equal(P.items[0].sent_for, "scope-r");
    assert_string_equal(P.items[5].sent_for, "res-r");
    assert_int_equal(P.items[0].start_ns, 101);
    assert_int_equal(P.items[0].end_ns, 100);
    assert_int_equal(P.items[1].severity, 17);
    assert_string_equal(P.items[0].attrs, "{\"user\":7}");
}

/* ---- the SDK fixtures, re-encoded ---- */

static otlp_signal signal_of(const char *kind)
{
    return strcmp(kind, "span") == 0     ? OTLP_SIGNAL_TRACES
           : strcmp(kind, "metric") == 0 ? OTLP_SIGNAL_METRICS
                                         : OTLP_SIGNAL_LOGS;
}

/* A protobuf fixture (an SDK's protobuf exporter): its items are the manifest's. */
static void check_pb_fixture(const cJSON *fx, otlp_signal sig, const char *body, size_t len)
{
    char err[256];
    if (otlp_decode_pb(&P, sig, body, len, NULL, err, sizeof err) != OTLP_OK)
        fail_msg("%s: %s", cJSON_GetObjectItem(fx, "path")->valuestring, err);
    const cJSON *ids = cJSON_GetObjectItem(fx, "item_ids");
    assert_int_equal(P.n, (size_t)cJSON_GetArraySize(ids));
    assert_int_equal(P.rejected, 0);
    for (size_t i = 0; i < P.n; i++)
        assert_string_equal(P.items[i].item_id, cJSON_GetArrayItem(ids, (int)i)->valuestring);
}

/* Every JSON body an SDK sent, as protobuf: the same items as the JSON decoder's. */
static void test_sdk_fixtures_match_json(void **state)
{
    (void)state;
    char *manifest = t_read_file(FIXTURES_DIR "/otlp/manifest.json", NULL);
    assert_non_null(manifest);
    cJSON *m = cJSON_Parse(manifest);
    assert_true(cJSON_IsArray(m));
    int compared = 0;
    const cJSON *fx;
    cJSON_ArrayForEach(fx, m)
    {
        char path[512];
        snprintf(path, sizeof path, FIXTURES_DIR "/otlp/%s",
                 cJSON_GetObjectItem(fx, "path")->valuestring);
        otlp_signal sig = signal_of(cJSON_GetObjectItem(fx, "kind")->valuestring);
        const cJSON *ct = cJSON_GetObjectItem(fx, "content_type");
        size_t len;
        char *body = t_fixture_json(path, &len);
        assert_non_null(body);
        if (cJSON_IsString(ct) && strstr(ct->valuestring, "protobuf")) {
            check_pb_fixture(fx, sig, body, len);
            free(body);
            continue;
        }
        size_t pblen;
        uint8_t *pb = t_otlp_json_to_pb(sig, body, len, &pblen);
        assert_non_null(pb);
        char err[256];
        if (otlp_decode_pb(&P, sig, pb, pblen, NULL, err, sizeof err) != OTLP_OK)
            fail_msg("%s as protobuf: %s", path, err);
        assert_int_equal(otlp_decode(&J, sig, body, len, NULL, err, sizeof err), OTLP_OK);
        same_items();
        assert_true(P.n > 0);
        compared++;
        free(pb);
        free(body);
    }
    assert_true(compared >= 4);
    cJSON_Delete(m);
    free(manifest);
}

/* The body of the manifest entry of `pair` in `encoding` ("json" or "pb"); NULL: none. */
static char *pair_body(const cJSON *m, const char *pair, const char *encoding, otlp_signal *sig,
                       size_t *len)
{
    const cJSON *fx;
    cJSON_ArrayForEach(fx, m)
    {
        const cJSON *p = cJSON_GetObjectItem(fx, "pair"), *e = cJSON_GetObjectItem(fx, "encoding");
        if (!cJSON_IsString(p) || !cJSON_IsString(e) || strcmp(p->valuestring, pair) != 0 ||
            strcmp(e->valuestring, encoding) != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, FIXTURES_DIR "/otlp/%s",
                 cJSON_GetObjectItem(fx, "path")->valuestring);
        *sig = signal_of(cJSON_GetObjectItem(fx, "kind")->valuestring);
        return t_fixture_json(path, len);
    }
    return NULL;
}

/*
 * The same telemetry sent by the JS SDK's JSON exporters and by its protobuf exporters
 * (manifest_both.json): the same items, field by field.
 */
static void test_sdk_pairs_match(void **state)
{
    (void)state;
    char *manifest = t_read_file(FIXTURES_DIR "/otlp/manifest_both.json", NULL);
    if (!manifest)
        skip(); /* the pairs are not in this tree */
    cJSON *m = cJSON_Parse(manifest);
    assert_true(cJSON_IsArray(m));
    int pairs = 0;
    const cJSON *fx;
    cJSON_ArrayForEach(fx, m)
    {
        const cJSON *e = cJSON_GetObjectItem(fx, "encoding");
        if (!cJSON_IsString(e) || strcmp(e->valuestring, "pb") != 0)
            continue;
        const char *pair = cJSON_GetObjectItem(fx, "pair")->valuestring;
        otlp_signal sig, jsig;
        size_t plen, jlen;
        char *pb = pair_body(m, pair, "pb", &sig, &plen);
        char *json = pair_body(m, pair, "json", &jsig, &jlen);
        assert_non_null(pb);
        assert_non_null(json);
        assert_int_equal(sig, jsig);
        char err[256];
        if (otlp_decode_pb(&P, sig, pb, plen, NULL, err, sizeof err) != OTLP_OK)
            fail_msg("%s: %s", pair, err);
        assert_int_equal(otlp_decode(&J, sig, json, jlen, NULL, err, sizeof err), OTLP_OK);
        same_items();
        const cJSON *ids = cJSON_GetObjectItem(fx, "item_ids");
        assert_int_equal(P.n, (size_t)cJSON_GetArraySize(ids));
        for (size_t i = 0; i < P.n; i++)
            assert_string_equal(P.items[i].item_id, cJSON_GetArrayItem(ids, (int)i)->valuestring);
        assert_int_equal(P.rejected, 0);
        pairs++;
        free(pb);
        free(json);
    }
    assert_int_equal(pairs, 3);
    cJSON_Delete(m);
    free(manifest);
}

/* ---- per-item rejections ---- */

/* A span of `fields` (JSON) / `s` (protobuf), then a good one: only the first is rejected. */
static void reject_case(pb_span *s, const char *fields, const char *reason)
{
    pb_span *good = span(T1, S2, "good");
    char json[2048];
    snprintf(json, sizeof json,
             "{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":\"sc\"},\"spans\":["
             "{\"name\":\"bad\"%s},{\"traceId\":\"" T1 "\",\"spanId\":\"" S2 "\",\"name\":"
             "\"good\"}]}]}]}",
             fields);
    decode_both(OTLP_SIGNAL_TRACES, traces_of(LIST(pb_span, s, good)), json);
    assert_int_equal(P.n, 2);
    assert_int_equal(P.rejected, 1);
    if (!P.items[0].reject || strcmp(P.items[0].reject, reason) != 0)
        fail_msg("%s: got %s, want %s", fields, P.items[0].reject ? P.items[0].reject : "-",
                 reason);
    assert_null(P.items[1].reject);
    assert_non_null(strstr(P.first_error, "span #0: "));
}

static pb_span *with_ids(const char *trace_id, const char *span_id)
{
    return span(trace_id, span_id, "bad");
}

static void test_bad_ids_reject_only_their_item(void **state)
{
    (void)state;
    static const char zeros32[] = "00000000000000000000000000000000";
    reject_case(with_ids("5b8efff798038103d269b633813fc6", S1),
                ",\"traceId\":\"5b8efff798038103d269b633813fc6\",\"spanId\":\"" S1 "\"",
                "bad_trace_id");
    reject_case(with_ids(T1 "00", S1), ",\"traceId\":\"" T1 "00\",\"spanId\":\"" S1 "\"",
                "bad_trace_id");
    reject_case(with_ids(zeros32, S1),
                ",\"traceId\":\"00000000000000000000000000000000\","
                "\"spanId\":\"" S1 "\"",
                "bad_trace_id");
    reject_case(with_ids("", S1), ",\"spanId\":\"" S1 "\"", "bad_trace_id");
    reject_case(with_ids(T1, "00f067aa0ba902"),
                ",\"traceId\":\"" T1 "\",\"spanId\":\"00f067aa0ba902\"", "bad_span_id");
    reject_case(with_ids(T1, "0000000000000000"),
                ",\"traceId\":\"" T1 "\",\"spanId\":\"0000000000000000\"", "bad_span_id");
    reject_case(with_ids(T1, ""), ",\"traceId\":\"" T1 "\"", "bad_span_id");
    reject_case(with_ids("", ""), "", "bad_trace_id"); /* the first reason is kept */
    pb_span *s = with_ids(T1, S1);
    s->parent_span_id = hex("01020304");
    reject_case(s, ",\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"parentSpanId\":\"01020304\"",
                "bad_parent_span_id");
    s = with_ids(T1, S1);
    s->parent_span_id = hex("0000000000000000");
    reject_case(
        s, ",\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"parentSpanId\":\"0000000000000000\"",
        "bad_parent_span_id");
    s = with_ids(T1, S1);
    s->start_time_unix_nano = (uint64_t)INT64_MAX + 1;
    reject_case(s,
                ",\"traceId\":\"" T1 "\",\"spanId\":\"" S1
                "\",\"startTimeUnixNano\":\"9223372036854775808\"",
                "bad_time");
    s = with_ids(T1, S1);
    s->start_time_unix_nano = 5;
    s->end_time_unix_nano = UINT64_MAX;
    reject_case(s,
                ",\"traceId\":\"" T1 "\",\"spanId\":\"" S1
                "\",\"startTimeUnixNano\":\"5\",\"endTimeUnixNano\":\"18446744073709551615\"",
                "bad_time");
    /* The largest time that fits is a time. */
    s = with_ids(T1, S1);
    s->end_time_unix_nano = INT64_MAX;
    char err[256];
    size_t len;
    uint8_t *body = pack(traces_of(&s, 1), &len);
    assert_int_equal(otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, body, len, NULL, err, sizeof err),
                     OTLP_OK);
    assert_null(P.items[0].reject);
    assert_int_equal(P.items[0].end_ns, INT64_MAX);
    free(body);
}

/* Logs' ids may be empty, not of another length or all zero; a count past INT64_MAX. */
static void test_bad_log_ids_and_counts(void **state)
{
    (void)state;
    pb_log *l1 = log_record(1, 9, NULL), *l2 = log_record(2, 9, NULL), *l3 = log_record(3, 9, NULL),
           *l4 = log_record(4, 9, NULL);
    l1->trace_id = hex("0102030405");
    l2->span_id = hex("010203040506070809");
    l3->trace_id = hex("00000000000000000000000000000000");
    l4->time_unix_nano = UINT64_MAX;
    pb_scope_logs *sl = msg(&opentelemetry__proto__logs__v1__scope_logs__descriptor);
    SET(sl, log_records, l1, l2, l3, l4);
    pb_resource_logs *rl = msg(&opentelemetry__proto__logs__v1__resource_logs__descriptor);
    SET(rl, scope_logs, sl);
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
        msg(&opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor);
    SET(req, resource_logs, rl);
    decode_both(OTLP_SIGNAL_LOGS, &req->base,
                "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
                "{\"timeUnixNano\":\"1\",\"observedTimeUnixNano\":\"2\",\"severityNumber\":9,"
                "\"traceId\":\"0102030405\"},"
                "{\"timeUnixNano\":\"2\",\"observedTimeUnixNano\":\"3\",\"severityNumber\":9,"
                "\"spanId\":\"010203040506070809\"},"
                "{\"timeUnixNano\":\"3\",\"observedTimeUnixNano\":\"4\",\"severityNumber\":9,"
                "\"traceId\":\"00000000000000000000000000000000\"},"
                "{\"timeUnixNano\":\"18446744073709551615\",\"observedTimeUnixNano\":\"5\","
                "\"severityNumber\":9}]}]}]}");
    assert_int_equal(P.rejected, 4);
    assert_string_equal(P.items[0].reject, "bad_trace_id");
    assert_string_equal(P.items[1].reject, "bad_span_id");
    assert_string_equal(P.items[2].reject, "bad_trace_id");
    assert_string_equal(P.items[3].reject, "bad_time");
    assert_string_equal(P.first_error, "log #0: traceId must be empty or 32 hex digits");

    pb_hist_point *h = msg(&opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
    h->count = (uint64_t)INT64_MAX + 1;
    pb_metric *mh = metric("h", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
    mh->histogram = msg(&opentelemetry__proto__metrics__v1__histogram__descriptor);
    SET(mh->histogram, data_points, h);
    pb_scope_metrics *sm = msg(&opentelemetry__proto__metrics__v1__scope_metrics__descriptor);
    SET(sm, metrics, mh);
    pb_resource_metrics *rm = msg(&opentelemetry__proto__metrics__v1__resource_metrics__descriptor);
    SET(rm, scope_metrics, sm);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *mreq = msg(
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor);
    SET(mreq, resource_metrics, rm);
    decode_both(OTLP_SIGNAL_METRICS, &mreq->base,
                "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"h\","
                "\"histogram\":{\"dataPoints\":[{\"count\":\"9223372036854775808\"}]}}]}]}]}");
    assert_string_equal(P.items[0].reject, "bad_value");
    assert_string_equal(P.first_error, "metric #0: count must be an unsigned integer");
}

/* ---- bad bodies ---- */

static void test_truncated_bodies(void **state)
{
    (void)state;
    pb_span *s = span(T1, S1, "truncated");
    SET(s, attributes, kv("k", v_str("some value")), kv("n", v_int(12345)));
    s->start_time_unix_nano = 1700000000000000000ULL;
    size_t len;
    uint8_t *body = pack(traces_of(&s, 1), &len);
    char err[256];
    assert_int_equal(otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, body, len, NULL, err, sizeof err),
                     OTLP_OK);
    assert_int_equal(P.n, 1);
    /* One top-level field: every cut lands inside it. */
    for (size_t cut = 1; cut < len; cut++) {
        err[0] = '\0';
        int rc = otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, body, cut, NULL, err, sizeof err);
        if (rc != OTLP_BAD_REQUEST)
            fail_msg("cut at %zu of %zu: rc %d", cut, len, rc);
        assert_string_equal(err, "body is not a valid ExportTraceServiceRequest protobuf message");
        assert_int_equal(P.n, 0);
    }
    free(body);
}

static void test_garbage_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        size_t len;
    } cases[] = {
        {"not protobuf at all", 19},
        {"{\"resourceSpans\":[]}", 20}, /* JSON: '{' is a group start */
        {"\xff\xff\xff\xff\xff\xff\xff\xff", 8},
        {"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80", 11}, /* a varint that never ends */
        {"\x0a\x05\x12", 3},                                  /* a length past the end */
        {"\x0b", 1},                                          /* wire type 3 */
        {"\x0e\x00", 2},                                      /* wire type 6 */
        {"\x08\x01", 2},                                      /* resource_spans as a varint */
        {"\x0a\x02\x0a\x02", 4},                              /* a message cut inside */
        {"\x00", 1},                                          /* field number 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int sig = 0; sig < 3; sig++) {
            char err[256] = "";
            int rc = otlp_decode_pb(&P, (otlp_signal)sig, cases[i].body, cases[i].len, NULL, err,
                                    sizeof err);
            if (rc != OTLP_BAD_REQUEST)
                fail_msg("case %zu, signal %d: rc %d", i, sig, rc);
            assert_non_null(strstr(err, "is not a valid Export"));
            assert_int_equal(P.n, 0);
        }
    }
    /* Nothing at all is an empty request; unknown fields are skipped. */
    char err[256];
    assert_int_equal(otlp_decode_pb(&P, OTLP_SIGNAL_LOGS, NULL, 0, NULL, err, sizeof err), OTLP_OK);
    assert_int_equal(P.n, 0);
    static const uint8_t unknown[] = {0x78, 0x05, 0xa2, 0x06, 0x02, 'h', 'i'};
    assert_int_equal(
        otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, unknown, sizeof unknown, NULL, err, sizeof err),
        OTLP_OK);
    assert_int_equal(P.n, 0);
}

/* ---- nesting ---- */

/* A span whose one attribute is `levels` AnyValues, each an array holding the next. */
static ProtobufCMessage *nested(size_t levels)
{
    pb_any *v = v_empty();
    for (size_t i = 1; i < levels; i++)
        v = v_array(&v, 1);
    pb_span *s = span(T1, S1, "deep");
    SET(s, attributes, kv("deep", v));
    return traces_of(&s, 1);
}

static void test_nesting_is_bounded(void **state)
{
    (void)state;
    /* Request, ResourceSpans, ScopeSpans, Span, KeyValue: the first AnyValue is level 6,
     * and every array adds two (ArrayValue, AnyValue). */
    const size_t fits = (OTLP_PB_MAX_DEPTH - 6) / 2 + 1;
    char err[256];
    size_t len;
    uint8_t *body = pack(nested(fits), &len);
    assert_int_equal(otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, body, len, NULL, err, sizeof err),
                     OTLP_OK);
    const char *a = P.items[0].attrs;
    assert_int_equal(strlen(a), strlen("{\"deep\":null}") + 2 * (fits - 1));
    assert_int_equal(strspn(a + strlen("{\"deep\":"), "["), fits - 1);
    free(body);
    body = pack(nested(fits + 1), &len);
    assert_int_equal(otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, body, len, NULL, err, sizeof err),
                     OTLP_BAD_REQUEST);
    char want[64];
    snprintf(want, sizeof want, "body nests messages more than %d deep", OTLP_PB_MAX_DEPTH);
    assert_string_equal(err, want);
    assert_int_equal(P.n, 0);
    free(body);

    /* As deep as JSON goes (cJSON: 1000 levels, three per array), both agree. */
    const size_t deep = 300;
    char *json = malloc(deep * 40 + 512);
    assert_non_null(json);
    size_t n = (size_t)sprintf(json, "{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":"
                                     "\"sc\"},\"spans\":[{\"traceId\":\"" T1 "\",\"spanId\":\"" S1
                                     "\",\"name\":\"deep\",\"attributes\":[{\"key\":\"deep\","
                                     "\"value\":");
    for (size_t i = 1; i < deep; i++)
        n += (size_t)sprintf(json + n, "{\"arrayValue\":{\"values\":[");
    n += (size_t)sprintf(json + n, "{}");
    for (size_t i = 1; i < deep; i++)
        n += (size_t)sprintf(json + n, "]}}");
    sprintf(json + n, "}]}]}]}]}");
    decode_both(OTLP_SIGNAL_TRACES, nested(deep), json);
    free(json);
}

/* ---- limits ---- */

static int decode_lim(otlp_signal sig, const void *body, size_t len, size_t max_items,
                      size_t max_memory, char *err)
{
    otlp_limits lim = {.max_items = max_items, .max_memory = max_memory};
    return otlp_decode_pb(&P, sig, body, len, &lim, err, 256);
}

/* The JSON body of t_otlp_spans() and friends as protobuf. */
static uint8_t *pb_of(otlp_signal sig, char *json, size_t *len)
{
    uint8_t *pb = t_otlp_json_to_pb(sig, json, strlen(json), len);
    assert_non_null(pb);
    free(json);
    return pb;
}

static void test_items_limit(void **state)
{
    (void)state;
    char err[256];
    size_t len;
    uint8_t *body = pb_of(OTLP_SIGNAL_TRACES, t_otlp_spans("lim", 100, "r"), &len);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, body, len, 100, 0, err), OTLP_OK);
    assert_int_equal(P.n, 100);
    assert_string_equal(P.items[99].item_id, "lim-99");
    assert_false(P.too_many_items);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, body, len, 99, 0, err), OTLP_TOO_LARGE);
    assert_string_equal(err, "too many items in one request: more than 99");
    assert_true(P.too_many_items);
    assert_int_equal(P.n, 0);
    free(body);
    /* Points are the items of metrics; rejected ones count too. */
    pb_number_point *a = npoint(0, 1), *b = npoint(0, (uint64_t)INT64_MAX + 1), *c = npoint(0, 3);
    pb_metric *m1 = metric("a", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
    m1->gauge = msg(&opentelemetry__proto__metrics__v1__gauge__descriptor);
    SET(m1->gauge, data_points, a, b);
    pb_metric *m2 = metric("b", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    m2->sum = msg(&opentelemetry__proto__metrics__v1__sum__descriptor);
    SET(m2->sum, data_points, c);
    pb_scope_metrics *sm = msg(&opentelemetry__proto__metrics__v1__scope_metrics__descriptor);
    SET(sm, metrics, m1, m2);
    pb_resource_metrics *rm = msg(&opentelemetry__proto__metrics__v1__resource_metrics__descriptor);
    SET(rm, scope_metrics, sm);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req = msg(
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor);
    SET(req, resource_metrics, rm);
    body = pack(&req->base, &len);
    assert_int_equal(decode_lim(OTLP_SIGNAL_METRICS, body, len, 3, 0, err), OTLP_OK);
    assert_int_equal(P.n, 3);
    assert_int_equal(P.rejected, 1);
    assert_int_equal(decode_lim(OTLP_SIGNAL_METRICS, body, len, 2, 0, err), OTLP_TOO_LARGE);
    assert_true(P.too_many_items);
    free(body);
}

static void put_varint(uint8_t **w, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *(*w)++ = (uint8_t)(v | 0x80);
    *(*w)++ = (uint8_t)v;
}

/* A request of one resource, one scope, and empty spans (2 bytes each) to about `size`. */
static uint8_t *empty_spans(size_t size, size_t *len)
{
    size_t spans = size / 2, inner = 2 * spans;
    uint8_t *p = malloc(inner + 32), *w = p;
    assert_non_null(p);
    size_t ss_len = 1 + (inner >= 128 ? inner >= 16384 ? inner >= 2097152 ? 4 : 3 : 2 : 1) + inner;
    *w++ = 0x0a; /* resource_spans */
    put_varint(&w, ss_len);
    *w++ = 0x12; /* scope_spans */
    put_varint(&w, inner);
    for (size_t i = 0; i < spans; i++) {
        *w++ = 0x12; /* spans */
        *w++ = 0x00;
    }
    *len = (size_t)(w - p);
    return p;
}

/*
 * A 4 MiB body of empty spans unpacks into 2 M Span structs (~400 MB with
 * their items): under 64 MiB it is refused before that, while a realistic
 * 5000-span body passes; the footprint stays within the limit throughout.
 */
static void test_memory_limit(void **state)
{
    (void)state;
    const size_t limit = (size_t)64 << 20;
    char err[256];
    size_t len;
    uint8_t *dense = empty_spans((size_t)4 << 20, &len);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, dense, len, 0, limit, err), OTLP_TOO_LARGE);
    assert_string_equal(err, "decoding this body needs more than 67108864 bytes of memory");
    assert_false(P.too_many_items);
    assert_int_equal(P.n, 0);
    assert_true(otlp_batch_footprint(&P) <= limit);
    /* A small dense body is a valid request of rejected spans (no ids). */
    free(dense);
    dense = empty_spans(200, &len);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, dense, len, 0, limit, err), OTLP_OK);
    assert_int_equal(P.n, 100);
    assert_int_equal(P.rejected, 100);

    size_t rlen;
    uint8_t *real = pb_of(OTLP_SIGNAL_TRACES, t_otlp_spans("mem", 5000, "r"), &rlen);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, real, rlen, 0, limit, err), OTLP_OK);
    assert_int_equal(P.n, 5000);
    assert_string_equal(P.items[4999].item_id, "mem-4999");
    assert_true(otlp_batch_footprint(&P) <= limit);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, real, rlen, 0, 1 << 20, err), OTLP_TOO_LARGE);
    assert_int_equal(P.n, 0);
    assert_true(otlp_batch_footprint(&P) <= 1 << 20);
    /* Every limit up to what it needs: refused or decoded, never past the limit. */
    for (size_t lim = 4096; lim < ((size_t)4 << 20); lim = lim * 5 / 4) {
        int rc = decode_lim(OTLP_SIGNAL_TRACES, real, rlen, 0, lim, err);
        assert_true(rc == OTLP_OK || rc == OTLP_TOO_LARGE);
        assert_int_equal(P.n, rc == OTLP_OK ? 5000 : 0);
        assert_true(otlp_batch_footprint(&P) <= lim);
    }
    free(real);
    free(dense);
}

/* Warmed up, the same body allocates nothing more; JSON and protobuf share the batch. */
static void test_batch_reuse(void **state)
{
    (void)state;
    char err[256];
    otlp_batch_free(&P);
    size_t len;
    uint8_t *small = pb_of(OTLP_SIGNAL_TRACES, t_otlp_spans("s", 8, "r"), &len);
    assert_int_equal(otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, small, len, NULL, err, sizeof err),
                     OTLP_OK);
    size_t warm = otlp_batch_footprint(&P);
    assert_int_equal(otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, small, len, NULL, err, sizeof err),
                     OTLP_OK);
    assert_int_equal(otlp_batch_footprint(&P), warm);
    char *logs = t_otlp_logs("b", 2, "rb");
    assert_int_equal(otlp_decode(&P, OTLP_SIGNAL_LOGS, logs, strlen(logs), NULL, err, sizeof err),
                     OTLP_OK);
    assert_int_equal(P.n, 2);
    assert_int_equal(otlp_decode_pb(&P, OTLP_SIGNAL_TRACES, small, len, NULL, err, sizeof err),
                     OTLP_OK);
    assert_int_equal(P.n, 8);
    assert_string_equal(P.items[7].item_id, "s-7");
    free(logs);
    free(small);
}

/* ---- answers ---- */

static void test_responses_round_trip(void **state)
{
    (void)state;
    ing_buf out = {0};
    /* Nothing rejected: no partial_success, an empty message. */
    for (int sig = 0; sig < 3; sig++) {
        assert_int_equal(otlp_encode_pb_response((otlp_signal)sig, 0, "ignored", &out), OTLP_OK);
        assert_int_equal(out.len, 0);
    }
    assert_int_equal(otlp_encode_pb_response(OTLP_SIGNAL_TRACES, 3, "span #1: bad", &out), OTLP_OK);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *tr =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, out.len, (const uint8_t *)out.data);
    assert_non_null(tr);
    assert_non_null(tr->partial_success);
    assert_int_equal(tr->partial_success->rejected_spans, 3);
    assert_string_equal(tr->partial_success->error_message, "span #1: bad");
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(tr,
                                                                                             NULL);
    assert_int_equal(otlp_encode_pb_response(OTLP_SIGNAL_METRICS, 1, NULL, &out), OTLP_OK);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse *mr =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__unpack(
            NULL, out.len, (const uint8_t *)out.data);
    assert_non_null(mr);
    assert_int_equal(mr->partial_success->rejected_data_points, 1);
    assert_string_equal(mr->partial_success->error_message, "");
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__free_unpacked(
        mr, NULL);
    assert_int_equal(otlp_encode_pb_response(OTLP_SIGNAL_LOGS, 70000, "log #0: x", &out), OTLP_OK);
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse *lr =
        opentelemetry__proto__collector__logs__v1__export_logs_service_response__unpack(
            NULL, out.len, (const uint8_t *)out.data);
    assert_non_null(lr);
    assert_int_equal(lr->partial_success->rejected_log_records, 70000);
    assert_string_equal(lr->partial_success->error_message, "log #0: x");
    opentelemetry__proto__collector__logs__v1__export_logs_service_response__free_unpacked(lr,
                                                                                           NULL);
    /* Errors: a google.rpc.Status; out is replaced, not appended to. */
    assert_int_equal(otlp_encode_pb_status(8, "rate limited; retry", &out), OTLP_OK);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, out.len, (const uint8_t *)out.data);
    assert_non_null(st);
    assert_int_equal(st->code, 8);
    assert_string_equal(st->message, "rate limited; retry");
    google__rpc__status__free_unpacked(st, NULL);
    assert_int_equal(otlp_encode_pb_status(3, NULL, &out), OTLP_OK);
    assert_int_equal(out.len, 2); /* code only: 0x08 0x03 */
    assert_memory_equal(out.data, "\x08\x03", 2);
    ing_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spans_match_json),
        cmocka_unit_test(test_int_values_render_as_json_strings_do),
        cmocka_unit_test(test_metrics_match_json),
        cmocka_unit_test(test_logs_match_json),
        cmocka_unit_test(test_sdk_fixtures_match_json),
        cmocka_unit_test(test_sdk_pairs_match),
        cmocka_unit_test(test_bad_ids_reject_only_their_item),
        cmocka_unit_test(test_bad_log_ids_and_counts),
        cmocka_unit_test(test_truncated_bodies),
        cmocka_unit_test(test_garbage_bodies),
        cmocka_unit_test(test_nesting_is_bounded),
        cmocka_unit_test(test_items_limit),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_batch_reuse),
        cmocka_unit_test(test_responses_round_trip),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    otlp_batch_free(&P);
    otlp_batch_free(&J);
    ing_arena_free(&A);
    return rc;
}
