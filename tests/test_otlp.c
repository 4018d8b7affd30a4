/*
 * OTLP JSON decoder units: bodies captured from the official OpenTelemetry JS
 * SDK exporters (tests/fixtures/otlp), hand-written edge cases, bad bodies.
 */
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
    return otlp_decode(&B, sig, body, strlen(body), err, 256);
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
        int rc = otlp_decode(&B, signal_of(kind), body, len, err, sizeof err);
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
    assert_int_equal(otlp_decode(&B, OTLP_SIGNAL_TRACES, body, len, err, sizeof err), OTLP_OK);
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
    assert_int_equal(otlp_decode(&B, OTLP_SIGNAL_METRICS, body, len, err, sizeof err), OTLP_OK);
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
                         ",\"startTimeUnixNano\":1700000000000000000,"
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
    assert_int_equal(it->start_ns, 1700000000000000000LL);
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
    assert_int_equal(otlp_decode(&B, OTLP_SIGNAL_TRACES, raw, 2, err, sizeof err), OTLP_OK);
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
        cmocka_unit_test(test_optional_fields_may_be_absent_and_unknown_ignored),
        cmocka_unit_test(test_join_keys),
        cmocka_unit_test(test_histogram_and_summary_points),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_batch_reuse_is_independent),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
