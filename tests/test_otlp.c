/*
 * OTLP JSON decoder units: bodies captured from the official OpenTelemetry JS
 * SDK exporters (tests/fixtures/otlp), hand-written edge cases, bad bodies.
 */
#include "gunzip.h"
#include "otlp.h"
#include "support.h"

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

static otlp_batch B;

static int decode(otlp_signal sig, const char *body, char *err)
{
    return otlp_decode(&B, sig, body, strlen(body), NULL, err, 256);
}

static otlp_signal signal_of(const char *kind)
{
    return strcmp(kind, "span") == 0     ? OTLP_SIGNAL_TRACES
           : strcmp(kind, "metric") == 0 ? OTLP_SIGNAL_METRICS
                                         : OTLP_SIGNAL_LOGS;
}

/* Every captured SDK body decodes to exactly the items the capture created. */
static void test_sdk_fixtures(void **state)
{
    (void)state;
    char *manifest = t_read_file(FIXTURES_DIR "/otlp/manifest.json", NULL);
    assert_non_null(manifest);
    cJSON *m = cJSON_Parse(manifest);
    assert_true(cJSON_IsArray(m));
    int fixtures = 0;
    const cJSON *fx;
    cJSON_ArrayForEach(fx, m)
    {
        char path[512];
        snprintf(path, sizeof path, FIXTURES_DIR "/otlp/%s",
                 cJSON_GetObjectItem(fx, "path")->valuestring);
        const char *kind = cJSON_GetObjectItem(fx, "kind")->valuestring;
        size_t len;
        char *body = t_fixture_json(path, &len);
        assert_non_null(body);
        char err[256] = "";
        int rc = otlp_decode(&B, signal_of(kind), body, len, NULL, err, sizeof err);
        if (rc)
            fail_msg("%s: %s", path, err);
        const cJSON *ids = cJSON_GetObjectItem(fx, "item_ids");
        const cJSON *rids = cJSON_GetObjectItem(fx, "request_ids");
        assert_int_equal(B.n, cJSON_GetObjectItem(fx, "item_count")->valueint);
        assert_int_equal(B.n, (size_t)cJSON_GetArraySize(ids));
        assert_int_equal(B.rejected, 0);
        for (size_t i = 0; i < B.n; i++) {
            const otlp_item *it = &B.items[i];
            assert_string_equal(otlp_kind_name(it->kind), kind);
            assert_null(it->reject);
            assert_string_equal(it->item_id, cJSON_GetArrayItem(ids, (int)i)->valuestring);
            assert_string_equal(it->request_id, cJSON_GetArrayItem(rids, (int)i)->valuestring);
            assert_string_equal(it->service, "capture-svc");
            assert_null(it->sent_for); /* the SDK resource carries no request id */
            if (it->kind == OTLP_SPAN) {
                assert_int_equal(strlen(it->trace_id), 32);
                assert_int_equal(strlen(it->span_id), 16);
                assert_true(it->start_ns > 1700000000000000000LL);
                assert_true(it->end_ns >= it->start_ns);
                assert_non_null(it->name);
            } else if (it->kind == OTLP_METRIC) {
                assert_non_null(it->metric_type);
                assert_true(it->has_value || strcmp(it->metric_type, "histogram") == 0);
                assert_true(it->end_ns > 0);
            } else {
                assert_true(it->end_ns > 0);
                assert_true(it->severity > 0);
                assert_non_null(it->body);
            }
            /* Other attributes survive as a JSON object without the join keys. */
            if (it->attrs) {
                cJSON *a = cJSON_Parse(it->attrs);
                assert_true(cJSON_IsObject(a));
                assert_null(cJSON_GetObjectItem(a, "edgeloss.item_id"));
                cJSON_Delete(a);
            }
        }
        free(body);
        fixtures++;
    }
    assert_true(fixtures >= 4);
    cJSON_Delete(m);
    free(manifest);
}

/* The traces fixture: its span with every attribute type, its status, its nesting. */
static void test_sdk_traces_details(void **state)
{
    (void)state;
    size_t len;
    char *body = t_fixture_json(FIXTURES_DIR "/otlp/traces_basic.body", &len);
    char err[256];
    assert_int_equal(otlp_decode(&B, OTLP_SIGNAL_TRACES, body, len, NULL, err, sizeof err),
                     OTLP_OK);
    int roots = 0, children = 0, errors = 0, typed = 0;
    for (size_t i = 0; i < B.n; i++) {
        const otlp_item *it = &B.items[i];
        if (it->parent_span_id[0])
            children++;
        else
            roots++;
        errors += it->severity == 2; /* status code ERROR */
        if (it->attrs && strstr(it->attrs, "true") && strstr(it->attrs, "["))
            typed++;
    }
    assert_true(roots >= 2); /* two traces */
    assert_true(children >= 1);
    assert_int_equal(errors, 1);
    assert_true(typed >= 1);
    free(body);
}

static void test_metric_point_types(void **state)
{
    (void)state;
    size_t len;
    char *body = t_fixture_json(FIXTURES_DIR "/otlp/metrics_basic.body", &len);
    char err[256];
    assert_int_equal(otlp_decode(&B, OTLP_SIGNAL_METRICS, body, len, NULL, err, sizeof err),
                     OTLP_OK);
    int sums = 0, gauges = 0, hists = 0;
    for (size_t i = 0; i < B.n; i++) {
        const otlp_item *it = &B.items[i];
        if (strcmp(it->metric_type, "sum") == 0)
            sums++;
        if (strcmp(it->metric_type, "gauge") == 0)
            gauges++;
        if (strcmp(it->metric_type, "histogram") == 0) {
            hists++;
            assert_true(it->count > 0);
            assert_true(it->has_value); /* the sum */
        }
    }
    assert_true(sums >= 2 && gauges >= 1 && hists >= 1);
    free(body);
}

static const char *span_body(const char *span_fields)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"edgeloss.request_id\","
             "\"value\":{\"stringValue\":\"payload-r\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":"
             "\"sc\"},\"spans\":[{%s}]}]}]}",
             span_fields);
    return buf;
}

#define IDS "\"traceId\":\"5B8EFFF798038103D269B633813FC60C\",\"spanId\":\"00F067AA0BA902B7\""

static void test_ids_are_case_insensitive_and_normalised(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(
        decode(OTLP_SIGNAL_TRACES, span_body(IDS ",\"parentSpanId\":\"AbCdEf0123456789\""), err),
        OTLP_OK);
    assert_int_equal(B.n, 1);
    assert_null(B.items[0].reject);
    assert_string_equal(B.items[0].trace_id, "5b8efff798038103d269b633813fc60c");
    assert_string_equal(B.items[0].span_id, "00f067aa0ba902b7");
    assert_string_equal(B.items[0].parent_span_id, "abcdef0123456789");
    assert_string_equal(B.items[0].sent_for, "payload-r"); /* from the resource */
    assert_string_equal(B.items[0].scope, "sc");
}

static void test_bad_ids_reject_only_their_item(void **state)
{
    (void)state;
    static const struct {
        const char *fields;
        const char *reason;
    } cases[] = {
        {"\"traceId\":\"5b8e\",\"spanId\":\"00f067aa0ba902b7\"", "bad_trace_id"},
        {"\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"00f067aa0ba902b7\"",
         "bad_trace_id"},
        {"\"traceId\":\"W4jv95gDgQPSabYzgT/GDA==\",\"spanId\":\"00f067aa0ba902b7\"",
         "bad_trace_id"},
        {"\"spanId\":\"00f067aa0ba902b7\"", "bad_trace_id"},
        {"\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"00f067aa0ba902bz\"",
         "bad_span_id"},
        {"\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"00f067aa0ba902b7aa\"",
         "bad_span_id"},
        {"\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":7", "bad_span_id"},
        {IDS ",\"parentSpanId\":\"12\"", "bad_parent_span_id"},
        {IDS ",\"startTimeUnixNano\":\"12a\"", "bad_time"},
        {IDS ",\"startTimeUnixNano\":-5", "bad_time"},
        {IDS ",\"endTimeUnixNano\":\"99999999999999999999\"", "bad_time"},
        {IDS ",\"endTimeUnixNano\":1.5", "bad_time"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char fields[1024];
        snprintf(fields, sizeof fields, "%s},{" IDS, cases[i].fields);
        char err[256];
        assert_int_equal(decode(OTLP_SIGNAL_TRACES, span_body(fields), err), OTLP_OK);
        assert_int_equal(B.n, 2);
        assert_int_equal(B.rejected, 1);
        if (!B.items[0].reject || strcmp(B.items[0].reject, cases[i].reason) != 0)
            fail_msg("case %zu: got %s, want %s", i, B.items[0].reject ? B.items[0].reject : "-",
                     cases[i].reason);
        assert_null(B.items[1].reject);
        assert_non_null(strstr(B.first_error, "span #0"));
    }
}

static void test_times_and_ints_as_strings_or_numbers(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(
        decode(OTLP_SIGNAL_TRACES,
               span_body(IDS
                         ",\"startTimeUnixNano\":9007199254740991,"
                         "\"endTimeUnixNano\":\"1700000000000000123\",\"attributes\":["
                         "{\"key\":\"a\",\"value\":{\"intValue\":\"9007199254740993\"}},"
                         "{\"key\":\"b\",\"value\":{\"intValue\":-3}},"
                         "{\"key\":\"c\",\"value\":{\"doubleValue\":2.5}},"
                         "{\"key\":\"d\",\"value\":{\"doubleValue\":\"NaN\"}},"
                         "{\"key\":\"e\",\"value\":{}},"
                         "{\"key\":\"f\"},"
                         "{\"key\":\"g\",\"value\":{\"stringValue\":\"\"}},"
                         "{\"key\":\"h\",\"value\":{\"boolValue\":false}},"
                         "{\"key\":\"i\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":1},"
                         "{\"stringValue\":\"q\\\"\"}]}}},"
                         "{\"key\":\"j\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"x\","
                         "\"value\":{\"boolValue\":true}}]}}},"
                         "{\"key\":\"k\",\"value\":{\"bytesValue\":\"3q2+7w==\"}},"
                         "{\"value\":{\"stringValue\":\"keyless\"}}]"),
               err),
        OTLP_OK);
    const otlp_item *it = &B.items[0];
    assert_null(it->reject);
    assert_int_equal(it->start_ns, 9007199254740991LL); /* 2^53 - 1: the last exact one */
    assert_int_equal(it->end_ns, 1700000000000000123LL);
    assert_string_equal(it->attrs,
                        "{\"a\":9007199254740993,\"b\":-3,\"c\":2.5,\"d\":\"NaN\",\"e\":null,"
                        "\"f\":null,\"g\":\"\",\"h\":false,\"i\":[1,\"q\\\"\"],\"j\":{\"x\":true},"
                        "\"k\":\"3q2+7w==\"}");
    cJSON *parsed = cJSON_Parse(it->attrs);
    assert_non_null(parsed);
    cJSON_Delete(parsed);
}

static void test_optional_fields_may_be_absent_and_unknown_ignored(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(decode(OTLP_SIGNAL_TRACES,
                            span_body(IDS ",\"someFutureField\":{\"x\":[1,2]},\"flags\":257"), err),
                     OTLP_OK);
    assert_int_equal(B.n, 1);
    const otlp_item *it = &B.items[0];
    assert_null(it->reject);
    assert_null(it->name);
    assert_null(it->item_id);
    assert_null(it->attrs);
    assert_int_equal(it->start_ns, 0);
    /* Empty or absent containers are fine and hold no items. */
    const char *empties[] = {"{}",
                             "{\"resourceSpans\":[]}",
                             "{\"resourceSpans\":null}",
                             "{\"resourceSpans\":[{}]}",
                             "{\"resourceSpans\":[{\"scopeSpans\":[{}]}]}",
                             "{\"resourceMetrics\":[{\"scopeMetrics\":[]}]}"};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        assert_int_equal(decode(OTLP_SIGNAL_TRACES, empties[i], err), OTLP_OK);
        assert_int_equal(B.n, 0);
    }
}

static void test_join_keys(void **state)
{
    (void)state;
    char err[256];
    const char *body =
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"edgeloss.request_id\","
        "\"value\":{\"stringValue\":\"res-r\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"a\","
        "\"attributes\":[{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"scope-r\"}}]"
        "},"
        "\"logRecords\":[{\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"intValue\":42}"
        "},"
        "{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"item-r\"}}],"
        "\"body\":{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"intValue\":\"1\"}}]}},"
        "\"traceId\":\"\",\"spanId\":\"\"}]},{\"logRecords\":[{}]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_LOGS, body, err), OTLP_OK);
    assert_int_equal(B.n, 2);
    assert_string_equal(B.items[0].item_id, "42");
    assert_string_equal(B.items[0].request_id, "item-r");
    assert_string_equal(B.items[0].sent_for, "scope-r"); /* the scope's overrides the resource's */
    assert_string_equal(B.items[0].body, "{\"k\":1}");
    assert_null(B.items[0].reject); /* empty ids are fine on logs */
    assert_string_equal(B.items[1].sent_for, "res-r");
    assert_null(B.items[1].item_id);
}

static void test_histogram_and_summary_points(void **state)
{
    (void)state;
    char err[256];
    const char *body =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"count\":\"4\",\"sum\":10.5,"
        "\"bucketCounts\":[\"1\",3],\"explicitBounds\":[5],\"timeUnixNano\":\"7\"}]}},"
        "{\"name\":\"s\",\"summary\":{\"dataPoints\":[{\"count\":2,\"sum\":3}]}},"
        "{\"name\":\"e\",\"exponentialHistogram\":{\"dataPoints\":[{\"count\":1,\"scale\":2}]}},"
        "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"-7\"},{\"asDouble\":\"x\"}]}}"
        "]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_METRICS, body, err), OTLP_OK);
    assert_int_equal(B.n, 5);
    assert_string_equal(B.items[0].metric_type, "histogram");
    assert_int_equal(B.items[0].count, 4);
    assert_true(B.items[0].value == 10.5);
    assert_int_equal(B.items[0].end_ns, 7);
    assert_string_equal(B.items[1].metric_type, "summary");
    assert_string_equal(B.items[2].metric_type, "exponential_histogram");
    assert_false(B.items[2].has_value);
    assert_true(B.items[3].value == -7.0);
    assert_string_equal(B.items[4].reject, "bad_value");
    assert_int_equal(B.rejected, 1);
}

#define T1 "5b8efff798038103d269b633813fc60c"
#define S1 "eee19b7ec3c1b174"

/* Every span field an SDK sends, in columns or in detail, and enum names for numbers. */
static void test_every_span_field(void **state)
{
    (void)state;
    char err[256];
    const char *body =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}},"
        "{\"key\":\"host.cpus\",\"value\":{\"intValue\":\"8\"}}]},"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"sc\",\"version\":\"1.2.3\"},\"spans\":["
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"name\":\"a\",\"kind\":2,"
        "\"traceState\":\"k=v\",\"flags\":769,\"droppedAttributesCount\":1,"
        "\"status\":{\"code\":2,\"message\":\"card declined\"},"
        "\"events\":[{\"timeUnixNano\":\"17\",\"name\":\"exception\",\"attributes\":["
        "{\"key\":\"exception.type\",\"value\":{\"stringValue\":\"E\"}}],"
        "\"droppedAttributesCount\":2},{\"name\":\"bare\"}],\"droppedEventsCount\":3,"
        "\"links\":[{\"traceId\":\"" T1 "\",\"spanId\":\"EEE19B7EC3C1B174\",\"traceState\":\"x=1\","
        "\"attributes\":[{\"key\":\"n\",\"value\":{\"intValue\":1}}],\"flags\":257},"
        "{\"traceId\":\"zz\",\"spanId\":\"\"}],\"droppedLinksCount\":4},"
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1
        "\",\"name\":\"b\",\"kind\":\"SPAN_KIND_CONSUMER\","
        "\"status\":{\"code\":\"STATUS_CODE_OK\",\"message\":\"\"},\"events\":[],\"links\":[],"
        "\"droppedEventsCount\":0}]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_TRACES, body, err), OTLP_OK);
    assert_int_equal(B.n, 2);
    const otlp_item *a = &B.items[0], *b = &B.items[1];
    assert_null(a->reject);
    assert_int_equal(a->span_kind, 2);
    assert_string_equal(otlp_span_kind_name(a->span_kind), "server");
    assert_int_equal(a->severity, 2);
    assert_string_equal(a->status_message, "card declined");
    assert_string_equal(a->trace_state, "k=v");
    assert_int_equal(a->flags, 769);
    assert_string_equal(a->scope_version, "1.2.3");
    assert_string_equal(a->resource, "{\"service.name\":\"svc\",\"host.cpus\":8}");
    assert_ptr_equal(a->resource, b->resource); /* one copy per resource */
    assert_string_equal(a->detail,
                        "{\"dropped_attributes_count\":1,\"events\":["
                        "{\"time_ns\":17,\"name\":\"exception\",\"attrs\":{\"exception.type\":"
                        "\"E\"},\"dropped_attributes_count\":2},{\"time_ns\":0,\"name\":\"bare\"}],"
                        "\"dropped_events_count\":3,\"links\":[{\"trace_id\":\"" T1 "\","
                        "\"span_id\":\"" S1 "\",\"trace_state\":\"x=1\",\"attrs\":{\"n\":1},"
                        "\"flags\":257},{\"trace_id\":\"\",\"span_id\":\"\"}],"
                        "\"dropped_links_count\":4}");
    cJSON *parsed = cJSON_Parse(a->detail);
    assert_non_null(parsed);
    cJSON_Delete(parsed);
    assert_int_equal(b->span_kind, 5);
    assert_string_equal(otlp_span_kind_name(b->span_kind), "consumer");
    assert_int_equal(b->severity, 1);
    assert_null(b->status_message); /* "" is absent, as proto3 has it */
    assert_null(b->trace_state);
    assert_int_equal(b->flags, 0);
    assert_null(b->detail); /* nothing beyond the defaults */
    assert_null(otlp_span_kind_name(9));
}

/* Every metric field: temporality, monotonicity, unit, description, buckets, exemplars. */
static void test_every_metric_field(void **state)
{
    (void)state;
    char err[256];
    const char *body =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"c\",\"unit\":\"{req}\",\"description\":\"requests\",\"sum\":{"
        "\"aggregationTemporality\":1,\"isMonotonic\":true,\"dataPoints\":[{\"asInt\":3,"
        "\"flags\":1,\"exemplars\":[{\"timeUnixNano\":\"5\",\"asDouble\":\"NaN\",\"spanId\":\"" S1
        "\",\"traceId\":\"" T1 "\",\"filteredAttributes\":[{\"key\":\"u\",\"value\":"
        "{\"stringValue\":\"x\"}}]},{\"asInt\":\"-2\"}]}]}},"
        "{\"name\":\"h\",\"unit\":\"ms\",\"histogram\":{\"aggregationTemporality\":"
        "\"AGGREGATION_TEMPORALITY_CUMULATIVE\",\"dataPoints\":[{\"count\":\"4\",\"sum\":10.5,"
        "\"bucketCounts\":[\"1\",3],\"explicitBounds\":[5.5],\"min\":0.25,\"max\":9}, {}]}},"
        "{\"name\":\"e\",\"exponentialHistogram\":{\"dataPoints\":[{\"count\":3,\"scale\":-2,"
        "\"zeroCount\":\"1\",\"zeroThreshold\":0.5,\"positive\":{\"offset\":-5,\"bucketCounts\":"
        "[1,\"1\"]},\"negative\":{\"offset\":2,\"bucketCounts\":[]},\"max\":7}]}},"
        "{\"name\":\"s\",\"summary\":{\"dataPoints\":[{\"count\":2,\"sum\":3,\"quantileValues\":"
        "[{\"quantile\":0.5,\"value\":1},{\"quantile\":1,\"value\":\"Infinity\"}]}]}},"
        "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asDouble\":\"NaN\"}]}}"
        "]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_METRICS, body, err), OTLP_OK);
    assert_int_equal(B.n, 6);
    assert_int_equal(B.rejected, 0);
    const otlp_item *c = &B.items[0], *h = &B.items[1], *h2 = &B.items[2], *e = &B.items[3],
                    *s = &B.items[4], *g = &B.items[5];
    assert_string_equal(c->unit, "{req}");
    assert_int_equal(c->temporality, 1);
    assert_string_equal(otlp_temporality_name(c->temporality), "delta");
    assert_int_equal(c->monotonic, 1);
    assert_int_equal(c->flags, 1);
    assert_string_equal(c->detail,
                        "{\"description\":\"requests\",\"exemplars\":[{\"time_ns\":5,"
                        "\"value\":\"NaN\",\"span_id\":\"" S1 "\",\"trace_id\":\"" T1 "\","
                        "\"attrs\":{\"u\":\"x\"}},{\"time_ns\":0,\"value\":-2}]}");
    assert_string_equal(h->unit, "ms");
    assert_int_equal(h->temporality, 2);
    assert_int_equal(h->monotonic, -1);
    assert_string_equal(h->detail, "{\"bucket_counts\":[1,3],\"explicit_bounds\":[5.5],"
                                   "\"min\":0.25,\"max\":9}");
    assert_string_equal(h2->detail, "{\"bucket_counts\":[],\"explicit_bounds\":[]}");
    assert_int_equal(e->temporality, 0); /* sent as nothing: unspecified */
    assert_string_equal(e->detail, "{\"scale\":-2,\"zero_count\":1,\"zero_threshold\":0.5,"
                                   "\"positive\":{\"offset\":-5,\"bucket_counts\":[1,1]},"
                                   "\"max\":7}");
    assert_int_equal(s->temporality, -1);
    assert_int_equal(s->monotonic, -1);
    assert_string_equal(s->detail, "{\"quantile_values\":[{\"quantile\":0.5,\"value\":1},"
                                   "{\"quantile\":1,\"value\":\"Infinity\"}]}");
    assert_int_equal(g->temporality, -1);
    assert_null(g->unit);
    assert_null(g->detail);
    assert_true(g->has_value && isnan(g->value));
    /* A negative temporality names nothing: unspecified (found by the fuzzer). */
    assert_int_equal(
        decode(OTLP_SIGNAL_METRICS,
               "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":"
               "\"c\",\"sum\":{\"aggregationTemporality\":-5,\"dataPoints\":[{}]}}]}]}]}",
               err),
        OTLP_OK);
    assert_int_equal(B.items[0].temporality, 0);
    /* A malformed zeroThreshold is a bad value, as a malformed min or max is. */
    assert_int_equal(decode(OTLP_SIGNAL_METRICS,
                            "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":"
                            "\"e\",\"exponentialHistogram\":{\"dataPoints\":[{\"zeroThreshold\":"
                            "\"x\"},{\"zeroThreshold\":0}]}}]}]}]}",
                            err),
                     OTLP_OK);
    assert_string_equal(B.items[0].reject, "bad_value");
    assert_null(B.items[1].reject);
    assert_string_equal(B.items[1].detail, "{\"scale\":0,\"zero_count\":0}");
}

/* Log severityText, flags, and which AnyValue the body was: a string "1" is not an int 1. */
static void test_every_log_field(void **state)
{
    (void)state;
    char err[256];
    const char *body =
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
        "{\"severityText\":\"WARN\",\"flags\":1,\"droppedAttributesCount\":2,"
        "\"body\":{\"stringValue\":\"1\"}},"
        "{\"body\":{\"intValue\":\"1\"}},{\"body\":{\"doubleValue\":1.5}},"
        "{\"body\":{\"boolValue\":false}},{\"body\":{\"bytesValue\":\"AQI=\"}},"
        "{\"body\":{\"arrayValue\":{\"values\":[]}}},{\"body\":{\"kvlistValue\":{}}},"
        "{\"body\":{}},{\"severityText\":\"\"}]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_LOGS, body, err), OTLP_OK);
    assert_int_equal(B.n, 9);
    static const char *const types[] = {"string", "int",    "double", "bool", "bytes",
                                        "array",  "kvlist", NULL,     NULL};
    static const char *const bodies[] = {"1",  "1",  "1.5", "false", "\"AQI=\"",
                                         "[]", "{}", NULL,  NULL};
    for (int i = 0; i < 9; i++) {
        if (types[i])
            assert_string_equal(B.items[i].body_type, types[i]);
        else
            assert_null(B.items[i].body_type);
        if (bodies[i])
            assert_string_equal(B.items[i].body, bodies[i]);
        else
            assert_null(B.items[i].body);
    }
    assert_string_equal(B.items[0].severity_text, "WARN");
    assert_int_equal(B.items[0].flags, 1);
    assert_string_equal(B.items[0].detail, "{\"dropped_attributes_count\":2}");
    assert_null(B.items[1].severity_text);
    assert_null(B.items[8].severity_text);
    assert_null(B.items[8].detail);
    /* severityNumber by its proto3 JSON name, as protobuf's number. */
    assert_int_equal(decode(OTLP_SIGNAL_LOGS,
                            "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
                            "{\"severityNumber\":\"SEVERITY_NUMBER_INFO\"},"
                            "{\"severityNumber\":\"SEVERITY_NUMBER_FATAL4\"},"
                            "{\"severityNumber\":\"LOUD\"}]}]}]}",
                            err),
                     OTLP_OK);
    assert_int_equal(B.items[0].severity, 9);
    assert_int_equal(B.items[1].severity, 24);
    assert_int_equal(B.items[2].severity, 0);
    assert_null(B.items[2].reject);
}

/*
 * 64-bit integers sent as JSON numbers: below 2^53 they are exact, from 2^53 on
 * the parse has rounded them, so the item is refused (inexact_integer, with a
 * partial-success message naming the field), never stored rounded. The same
 * values as strings are exact.
 */
static void test_big_integers_are_exact_or_refused(void **state)
{
    (void)state;
    char err[256];
    const char *body =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"startTimeUnixNano\":"
        "\"1700000000000000001\",\"endTimeUnixNano\":\"1700000000000000002\"},"
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"startTimeUnixNano\":1700000000000000001,"
        "\"endTimeUnixNano\":1700000000000000002},"
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"startTimeUnixNano\":9007199254740991},"
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"startTimeUnixNano\":9007199254740992},"
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"attributes\":[{\"key\":\"n\","
        "\"value\":{\"intValue\":-9007199254740993}}]},"
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\",\"events\":[{\"timeUnixNano\":"
        "1700000000000000003}]}"
        "]}]},{\"resource\":{\"attributes\":[{\"key\":\"big\",\"value\":{\"intValue\":"
        "4611686018427387904}}]},\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\"},"
        "{\"traceId\":\"" T1 "\",\"spanId\":\"" S1 "\"}]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_TRACES, body, err), OTLP_OK);
    assert_int_equal(B.n, 8);
    assert_null(B.items[0].reject);
    assert_int_equal(B.items[0].start_ns, 1700000000000000001LL);
    assert_int_equal(B.items[0].end_ns, 1700000000000000002LL);
    assert_string_equal(B.items[1].reject, "inexact_integer");
    assert_string_equal(B.first_error,
                        "span #1: startTimeUnixNano is a JSON number beyond 2^53, which cannot be"
                        " read exactly: send 64-bit integers as strings");
    assert_null(B.items[2].reject);
    assert_int_equal(B.items[2].start_ns, 9007199254740991LL);
    assert_string_equal(B.items[3].reject, "inexact_integer");
    assert_string_equal(B.items[4].reject, "inexact_integer");
    assert_string_equal(B.items[5].reject, "inexact_integer"); /* an event's time */
    /* A resource attribute that cannot be read exactly refuses every item it describes. */
    assert_string_equal(B.items[6].reject, "inexact_integer");
    assert_string_equal(B.items[7].reject, "inexact_integer");
    assert_int_equal(B.rejected, 6);

    const char *metrics =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"h\",\"histogram\":"
        "{\"dataPoints\":[{\"count\":9007199254740993},{\"count\":\"9007199254740993\"},"
        "{\"bucketCounts\":[1,9007199254740993]},{\"bucketCounts\":[\"9007199254740993\"]}]}},"
        "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asInt\":9007199254740993},"
        "{\"asInt\":\"9007199254740993\"}]}}]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_METRICS, metrics, err), OTLP_OK);
    assert_int_equal(B.n, 6);
    assert_string_equal(B.items[0].reject, "inexact_integer");
    assert_null(B.items[1].reject);
    assert_int_equal(B.items[1].count, 9007199254740993LL);
    assert_string_equal(B.items[2].reject, "inexact_integer");
    assert_null(B.items[3].reject);
    assert_string_equal(B.items[3].detail,
                        "{\"bucket_counts\":[9007199254740993],\"explicit_bounds\":[]}");
    assert_string_equal(B.items[4].reject, "inexact_integer");
    assert_null(B.items[5].reject);
    assert_int_equal(B.rejected, 3);

    /* A scope's join key that cannot be read exactly refuses that scope's items only. */
    const char *scoped = "{\"resourceLogs\":[{\"scopeLogs\":[{\"scope\":{\"attributes\":[{\"key\":"
                         "\"edgeloss.request_id\",\"value\":{\"intValue\":9007199254740993}}]},"
                         "\"logRecords\":[{},{}]},{\"logRecords\":[{}]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_LOGS, scoped, err), OTLP_OK);
    assert_int_equal(B.n, 3);
    assert_string_equal(B.items[0].reject, "inexact_integer");
    assert_string_equal(B.items[1].reject, "inexact_integer");
    assert_null(B.items[2].reject);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *msg;
    } cases[] = {
        {"", "empty"},
        {"{", "not valid JSON"},
        {"{\"resourceSpans\":[}", "not valid JSON"},
        {"[]", "top level"},
        {"null", "top level"},
        {"42", "top level"},
        {"{} {}", "trailing"},
        {"{\"resourceSpans\":{}}", "$.resourceSpans: expected an array"},
        {"{\"resourceSpans\":[1]}", "$.resourceSpans[0]: expected an object"},
        {"{\"resourceSpans\":[{\"scopeSpans\":\"x\"}]}", "$.resourceSpans[0].scopeSpans"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[[]]}]}", "scopeSpans[0]: expected an object"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":{}}]}]}", "spans: expected an array"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{},3]}]}]}", "spans[1]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        int rc = decode(OTLP_SIGNAL_TRACES, cases[i].body, err);
        if (rc != OTLP_BAD_REQUEST)
            fail_msg("case %zu (%s): rc %d", i, cases[i].body, rc);
        if (!strstr(err, cases[i].msg))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err, cases[i].msg);
        assert_int_equal(B.n, 0);
    }
    /* Not NUL-terminated: the decoder reads exactly len bytes. */
    char raw[3] = {'{', '}', 'x'};
    char err[256];
    assert_int_equal(otlp_decode(&B, OTLP_SIGNAL_TRACES, raw, 2, NULL, err, sizeof err), OTLP_OK);
}

static void test_batch_reuse_is_independent(void **state)
{
    (void)state;
    char err[256];
    char *a = t_otlp_spans("a", 50, "ra");
    char *b = t_otlp_logs("b", 2, "rb");
    assert_int_equal(decode(OTLP_SIGNAL_TRACES, a, err), OTLP_OK);
    assert_int_equal(B.n, 50);
    assert_int_equal(decode(OTLP_SIGNAL_LOGS, b, err), OTLP_OK);
    assert_int_equal(B.n, 2);
    assert_string_equal(B.items[1].item_id, "b-1");
    assert_int_equal(B.rejected, 0);
    assert_string_equal(B.first_error, "");
    free(a);
    free(b);
}

/* ---- limits ---- */

static int decode_lim(otlp_signal sig, const char *body, size_t len, size_t max_items,
                      size_t max_memory, char *err)
{
    otlp_limits lim = {.max_items = max_items, .max_memory = max_memory};
    return otlp_decode(&B, sig, body, len, &lim, err, 256);
}

/* {"resourceSpans":[{"scopeSpans":[{"spans":[{},{},...]}]}]} of about `size` bytes. */
static char *empty_spans(size_t size, size_t *len)
{
    static const char head[] = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[";
    static const char tail[] = "]}]}]}";
    char *p = malloc(size + sizeof head + sizeof tail);
    assert_non_null(p);
    size_t n = strlen(head);
    memcpy(p, head, n);
    for (size_t i = 0; n + 3 + strlen(tail) <= size; i++) {
        if (i)
            p[n++] = ',';
        p[n++] = '{';
        p[n++] = '}';
    }
    memcpy(p + n, tail, sizeof tail);
    *len = n + strlen(tail);
    return p;
}

static void test_items_limit(void **state)
{
    (void)state;
    char err[256];
    char *body = t_otlp_spans("lim", 100, "r");
    size_t len = strlen(body);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, body, len, 100, 0, err), OTLP_OK);
    assert_int_equal(B.n, 100);
    assert_false(B.too_many_items);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, body, len, 99, 0, err), OTLP_TOO_LARGE);
    assert_string_equal(err, "too many items in one request: more than 99");
    assert_true(B.too_many_items);
    assert_int_equal(B.n, 0);
    /* Rejected items count too: they are items of the request. */
    const char *metrics = "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
                          "{\"name\":\"a\",\"gauge\":{\"dataPoints\":[{\"asDouble\":\"x\"},{}]}},"
                          "{\"name\":\"b\",\"sum\":{\"dataPoints\":{}}}]}]}]}";
    assert_int_equal(decode_lim(OTLP_SIGNAL_METRICS, metrics, strlen(metrics), 3, 0, err), OTLP_OK);
    assert_int_equal(B.n, 3);
    assert_int_equal(decode_lim(OTLP_SIGNAL_METRICS, metrics, strlen(metrics), 2, 0, err),
                     OTLP_TOO_LARGE);
    assert_true(B.too_many_items);
    free(body);
}

/*
 * A 4 MiB body of empty spans costs ~350 MB to decode without a limit (1.4 M cJSON nodes and
 * items): under 64 MiB it is refused as too large, while a realistic 5000-span body of half
 * the size passes with room to spare.
 */
static void test_memory_limit(void **state)
{
    (void)state;
    const size_t limit = (size_t)64 << 20;
    char err[256];
    size_t len;
    char *dense = empty_spans((size_t)4 << 20, &len);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, dense, len, 0, limit, err), OTLP_TOO_LARGE);
    assert_string_equal(err, "decoding this body needs more than 67108864 bytes of memory");
    assert_false(B.too_many_items);
    assert_int_equal(B.n, 0);
    assert_true(otlp_batch_footprint(&B) <= limit);

    char *real = t_otlp_spans("mem", 5000, "r");
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, real, strlen(real), 0, limit, err), OTLP_OK);
    assert_int_equal(B.n, 5000);
    assert_string_equal(B.items[4999].item_id, "mem-4999");
    assert_true(otlp_batch_footprint(&B) <= limit);
    /* The same body under a tight limit: refused, never a partial batch. */
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, real, strlen(real), 0, 1 << 20, err),
                     OTLP_TOO_LARGE);
    assert_int_equal(B.n, 0);
    /* A limit below what the batch kept: it lets that go, and a small body still fits. */
    char *small = t_otlp_spans("s", 3, "r");
    assert_int_equal(decode(OTLP_SIGNAL_TRACES, real, err), OTLP_OK);
    assert_int_equal(decode_lim(OTLP_SIGNAL_TRACES, small, strlen(small), 0, 256 << 10, err),
                     OTLP_OK);
    assert_int_equal(B.n, 3);
    assert_true(otlp_batch_footprint(&B) <= 256 << 10);
    free(small);
    free(real);
    free(dense);
}

/* What the batch holds is reported, and a burst's memory goes back on clear. */
static void test_footprint_and_release(void **state)
{
    (void)state;
    char err[256];
    otlp_batch_free(&B);
    assert_int_equal(otlp_batch_footprint(&B), 0);
    char *small = t_otlp_spans("s", 8, "r");
    assert_int_equal(decode(OTLP_SIGNAL_TRACES, small, err), OTLP_OK);
    size_t warm = otlp_batch_footprint(&B);
    assert_true(warm >= 64 * sizeof(otlp_item));
    /* Warmed up, the same small body allocates nothing more. */
    assert_int_equal(decode(OTLP_SIGNAL_TRACES, small, err), OTLP_OK);
    assert_int_equal(otlp_batch_footprint(&B), warm);

    char *big = t_otlp_spans("b", 20000, "r");
    assert_int_equal(decode(OTLP_SIGNAL_TRACES, big, err), OTLP_OK);
    assert_true(otlp_batch_footprint(&B) > (size_t)4 << 20);
    otlp_batch_clear(&B);
    /* At most ~1 MiB kept per buffer: items array, item arena, JSON arena, scratch. */
    assert_true(otlp_batch_footprint(&B) <= (size_t)4 << 20);
    assert_int_equal(B.cap, 0); /* 20000 items' array was a burst */
    free(big);
    free(small);
}

static void test_arena_keeps_at_most_a_mib(void **state)
{
    (void)state;
    ing_arena a = {0};
    for (int i = 0; i < 1000; i++)
        assert_non_null(ing_arena_alloc(&a, 8000));
    assert_true(a.held > (size_t)4 << 20);
    ing_arena_reset(&a);
    assert_true(a.held > 0 && a.held <= ING_ARENA_KEEP_BYTES + 64);
    for (int i = 0; i < 30; i++)
        assert_non_null(ing_arena_alloc(&a, 8000));
    size_t held = a.held;
    ing_arena_reset(&a);
    assert_int_equal(a.held, held); /* one block that fits the next request: kept */
    /* A budget refuses before malloc and says so; near its limit blocks get smaller. */
    ing_budget bg = {.limit = held + 100000, .used = held};
    a.budget = &bg;
    assert_null(ing_arena_alloc(&a, held)); /* more than the kept block and the budget */
    assert_true(bg.refused);
    assert_false(bg.nomem);
    assert_non_null(ing_arena_alloc(&a, held - 1000)); /* fills the kept block */
    assert_non_null(ing_arena_alloc(&a, 10000));       /* a new block, of what is left */
    assert_int_equal(a.held, bg.used);
    assert_true(bg.used <= bg.limit);
    while (ing_arena_alloc(&a, 1000))
        ;
    assert_true(bg.used <= bg.limit);
    a.budget = NULL;
    ing_arena_free(&a);
    assert_int_equal(a.held, 0);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    static const char good[] = "{\"resourceSpans\":[]}";
    const size_t n = sizeof good - 1;
    const size_t at[] = {0, n / 2, n - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        char body[sizeof good];
        memcpy(body, good, n);
        body[at[i]] = '\0';
        char err[256], want[64];
        assert_int_equal(otlp_decode(&B, OTLP_SIGNAL_TRACES, body, n, NULL, err, sizeof err),
                         OTLP_BAD_REQUEST);
        snprintf(want, sizeof want, "body holds a NUL byte at offset %zu", at[i]);
        assert_string_equal(err, want);
    }
    /* After the value, where cJSON would stop reading and call it the end. */
    char err[256];
    assert_int_equal(otlp_decode(&B, OTLP_SIGNAL_TRACES, "{}\0{\"x\"", 7, NULL, err, sizeof err),
                     OTLP_BAD_REQUEST);
    assert_string_equal(err, "body holds a NUL byte at offset 2");
}

/* A metric whose points are not an array is one rejected item; the request goes through. */
static void test_data_points_not_an_array(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *type;
    } types[] = {
        {"gauge", "gauge"},         {"sum", "sum"},
        {"histogram", "histogram"}, {"exponentialHistogram", "exponential_histogram"},
        {"summary", "summary"},
    };
    static const char *bad[] = {"{}", "\"x\"", "7", "true"};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (size_t v = 0; v < sizeof bad / sizeof bad[0]; v++) {
            char body[1024], err[256];
            snprintf(body, sizeof body,
                     "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
                     "{\"name\":\"bad.%s\",\"%s\":{\"dataPoints\":%s}},"
                     "{\"name\":\"good\",\"gauge\":{\"dataPoints\":[{\"asDouble\":1.5}]}}"
                     "]}]}]}",
                     types[t].json, types[t].json, bad[v]);
            assert_int_equal(decode(OTLP_SIGNAL_METRICS, body, err), OTLP_OK);
            assert_int_equal(B.n, 2);
            assert_int_equal(B.rejected, 1);
            const otlp_item *it = &B.items[0];
            assert_int_equal(it->kind, OTLP_METRIC);
            assert_string_equal(it->reject, "bad_data_points");
            assert_string_equal(it->metric_type, types[t].type);
            char name[64], want[192];
            snprintf(name, sizeof name, "bad.%s", types[t].json);
            assert_string_equal(it->name, name);
            snprintf(want, sizeof want, "metric \"%s\": dataPoints must be an array", name);
            assert_string_equal(B.first_error, want);
            assert_null(B.items[1].reject);
            assert_string_equal(B.items[1].name, "good");
            assert_true(B.items[1].value == 1.5);
        }
    }
    /* The point type itself not an object: the same, one rejected item. */
    char err[256];
    const char *body =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"s\",\"sum\":[1]},{\"name\":\"g\",\"gauge\":{}},"
        "{\"name\":\"n\",\"gauge\":{\"dataPoints\":null}},{\"name\":\"z\",\"sum\":null}"
        "]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_METRICS, body, err), OTLP_OK);
    assert_int_equal(B.n, 1); /* no points, null points and a null sum hold nothing */
    assert_int_equal(B.rejected, 1);
    assert_string_equal(B.first_error, "metric \"s\": sum must be an object");
    /* Without a name, its index says which. */
    body = "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
           "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{}]}},{\"gauge\":{\"dataPoints\":{}}}"
           "]}]}]}";
    assert_int_equal(decode(OTLP_SIGNAL_METRICS, body, err), OTLP_OK);
    assert_int_equal(B.n, 2);
    assert_string_equal(B.first_error, "metric #1: dataPoints must be an array");
}

/* ---- gunzip ---- */

static char *gz_concat(const char *const *parts, size_t nparts, size_t *len)
{
    char *out = NULL;
    *len = 0;
    for (size_t i = 0; i < nparts; i++) {
        size_t n;
        void *z = t_gzip(parts[i], strlen(parts[i]), &n);
        out = realloc(out, *len + n);
        assert_non_null(out);
        memcpy(out + *len, z, n);
        *len += n;
        free(z);
    }
    return out;
}

static void test_gunzip_members(void **state)
{
    (void)state;
    ing_buf out = {0};
    const char *msg = NULL;
    const char *parts[] = {"{\"resourceSpans\":", "[{\"scopeSpans\":[]}]", "}"};
    for (size_t k = 1; k <= 3; k++) {
        size_t len;
        char *gz = gz_concat(parts, k, &len);
        assert_int_equal(ing_gunzip(gz, len, 1 << 20, &out, &msg), 0);
        char want[128] = "";
        for (size_t i = 0; i < k; i++)
            strcat(want, parts[i]);
        assert_int_equal(out.len, strlen(want));
        assert_string_equal(out.data, want);
        free(gz);
    }
    /* Empty members add nothing, first, between or last. */
    const char *empties[] = {"", "ab", "", "c", ""};
    size_t len;
    char *gz = gz_concat(empties, 5, &len);
    assert_int_equal(ing_gunzip(gz, len, 100, &out, &msg), 0);
    assert_string_equal(out.data, "abc");
    free(gz);
    gz = gz_concat(empties, 1, &len);
    assert_int_equal(ing_gunzip(gz, len, 100, &out, &msg), 0);
    assert_int_equal(out.len, 0);
    assert_string_equal(out.data, "");
    free(gz);
    ing_buf_free(&out);
}

static void test_gunzip_bad(void **state)
{
    (void)state;
    ing_buf out = {0};
    const char *msg = NULL;
    const char *parts[] = {"hello, ", "world"};
    size_t len;
    char *gz = gz_concat(parts, 2, &len);
    char *junk = malloc(len + 2);
    memcpy(junk, gz, len);
    /* Junk after a member, also one byte of what could be a magic. */
    static const char *tails[] = {"x", "\x1f", "\x1f\x8a", "\0\0"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        size_t n = strlen(tails[i]) ? strlen(tails[i]) : 2;
        memcpy(junk + len, tails[i], n);
        assert_int_equal(ing_gunzip(junk, len + n, 1 << 20, &out, &msg), 400);
        assert_non_null(strstr(msg, "data after the end of the gzip stream"));
    }
    /* Cut short anywhere, in the first member or the second. */
    size_t first;
    free(t_gzip(parts[0], strlen(parts[0]), &first));
    for (size_t cut = 1; cut < len; cut++) {
        if (cut == first)
            continue; /* the first member whole: valid gzip */
        msg = NULL;
        int st = ing_gunzip(gz, cut, 1 << 20, &out, &msg);
        if (st != 400)
            fail_msg("cut at %zu of %zu: status %d", cut, len, st);
        assert_non_null(msg);
    }
    assert_int_equal(ing_gunzip(gz, 0, 1 << 20, &out, &msg), 400);
    assert_int_equal(ing_gunzip("{\"resourceSpans\":[]}", 20, 1 << 20, &out, &msg), 400);
    assert_string_equal(msg, "body is not valid gzip");
    /* A corrupt second member. */
    memcpy(junk, gz, len);
    junk[first + 12] ^= 0x55;
    assert_int_equal(ing_gunzip(junk, len, 1 << 20, &out, &msg), 400);
    free(junk);
    free(gz);
    ing_buf_free(&out);
}

static void test_gunzip_limit(void **state)
{
    (void)state;
    ing_buf out = {0};
    const char *msg = NULL;
    size_t n = 300000;
    char *data = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 7);
    data[n] = '\0';
    size_t len;
    void *gz = t_gzip(data, n, &len);
    assert_int_equal(ing_gunzip(gz, len, n, &out, &msg), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, data, n);
    assert_int_equal(ing_gunzip(gz, len, n - 1, &out, &msg), 413);
    assert_string_equal(msg, "decompressed body exceeds the size limit");
    assert_true(out.len <= n); /* stopped one byte past the limit */
    /* The limit holds across members: two of n bytes. */
    const char *parts[] = {data, data};
    free(gz);
    gz = gz_concat(parts, 2, &len);
    assert_int_equal(ing_gunzip(gz, len, 2 * n, &out, &msg), 0);
    assert_int_equal(out.len, 2 * n);
    assert_int_equal(ing_gunzip(gz, len, 2 * n - 1, &out, &msg), 413);
    assert_int_equal(ing_gunzip(gz, len, n, &out, &msg), 413);
    assert_int_equal(ing_gunzip(gz, len, 0, &out, &msg), 413);
    free(gz);
    free(data);
    ing_buf_free(&out);
}

static int teardown(void **state)
{
    (void)state;
    otlp_batch_free(&B);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdk_fixtures),
        cmocka_unit_test(test_sdk_traces_details),
        cmocka_unit_test(test_metric_point_types),
        cmocka_unit_test(test_ids_are_case_insensitive_and_normalised),
        cmocka_unit_test(test_bad_ids_reject_only_their_item),
        cmocka_unit_test(test_times_and_ints_as_strings_or_numbers),
        cmocka_unit_test(test_every_span_field),
        cmocka_unit_test(test_every_metric_field),
        cmocka_unit_test(test_every_log_field),
        cmocka_unit_test(test_big_integers_are_exact_or_refused),
        cmocka_unit_test(test_optional_fields_may_be_absent_and_unknown_ignored),
        cmocka_unit_test(test_join_keys),
        cmocka_unit_test(test_histogram_and_summary_points),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_batch_reuse_is_independent),
        cmocka_unit_test(test_items_limit),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_footprint_and_release),
        cmocka_unit_test(test_arena_keeps_at_most_a_mib),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_data_points_not_an_array),
        cmocka_unit_test(test_gunzip_members),
        cmocka_unit_test(test_gunzip_bad),
        cmocka_unit_test(test_gunzip_limit),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
