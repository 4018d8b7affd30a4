/*
 * The bodies an official OpenTelemetry SDK sent (tests/fixtures/otlp), replayed
 * byte for byte the way the SDK sent them (chunked, gzip where it was), must
 * land in the database as exactly the items the SDK created.
 */
#include "ingest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *endpoint(const char *kind)
{
    return strcmp(kind, "span") == 0     ? "/v1/traces"
           : strcmp(kind, "metric") == 0 ? "/v1/metrics"
                                         : "/v1/logs";
}

static void test_sdk_bodies_land_exactly_once(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "ingest.db");
    char err[256];
    ing_options opt = {.db_path = db, .mode = ING_RUN_THREAD};
    ing_server *srv;
    assert_int_equal(ing_server_open(&opt, &srv, err, sizeof err), 0);

    char *manifest = t_read_file(FIXTURES_DIR "/otlp/manifest.json", NULL);
    cJSON *m = cJSON_Parse(manifest);
    const cJSON *fx;
    int total = 0;
    cJSON_ArrayForEach(fx, m)
    {
        char path[512], url[256];
        snprintf(path, sizeof path, FIXTURES_DIR "/otlp/%s",
                 cJSON_GetObjectItem(fx, "path")->valuestring);
        const char *kind = cJSON_GetObjectItem(fx, "kind")->valuestring;
        const cJSON *enc = cJSON_GetObjectItem(fx, "content_encoding");
        size_t len;
        char *raw = t_read_file(path, &len);
        snprintf(url, sizeof url, "%s%s", ing_server_url(srv), endpoint(kind));
        t_req req = {.content_type = cJSON_GetObjectItem(fx, "content_type")->valuestring,
                     .encoding = cJSON_IsString(enc) ? enc->valuestring : NULL,
                     .chunked = 1};
        t_http r = t_request(url, &req, raw, len);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "{}");
        t_http_free(&r);
        const cJSON *id;
        cJSON_ArrayForEach(id, cJSON_GetObjectItem(fx, "item_ids"))
        {
            char sql[256];
            snprintf(sql, sizeof sql,
                     "SELECT COUNT(*) FROM items WHERE item_id = '%s' AND kind = '%s'"
                     " AND accepted = 1",
                     id->valuestring, kind);
            if (t_sql_int(db, sql) != 1)
                fail_msg("%s: item %s not recorded exactly once", path, id->valuestring);
            total++;
        }
        free(raw);
    }
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM items");
    assert_int_equal(t_sql_int(db, sql), total);
    cJSON_Delete(m);
    free(manifest);
    ing_server_close(srv);
    t_rmtree(dir);
    free(db);
    free(dir);
}

/*
 * Every stored column of every item (read from the table, so a column added later is
 * compared too), in a fixed order: what must not depend on the encoding. Not compared:
 * id, request and time_ns, which follow arrival.
 */
static char *item_rows(const char *db)
{
    /* quote(): NULL and the text 'NULL' differ, and so do 1 and '1'. */
    char *cols = t_sql_str(db, "SELECT group_concat('quote(' || name || ')', ' || ''|'' || ')"
                               " FROM pragma_table_info('items')"
                               " WHERE name NOT IN ('id', 'request', 'time_ns')");
    assert_non_null(cols);
    assert_non_null(strstr(cols, "quote(detail)"));
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT group_concat(r, char(10)) FROM (SELECT %s AS r FROM items"
             " ORDER BY item_id, id)",
             cols);
    free(cols);
    return t_sql_str(db, sql);
}

static void expect_fields(const char *db, const char *encoding);

/*
 * Sends every fixture of one encoding of manifest_both.json to a fresh server: its rows,
 * after checking the fields the capture set (expect_fields).
 */
static char *rows_of(const cJSON *manifest, const char *encoding)
{
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "ingest.db");
    char err[256];
    ing_options opt = {.db_path = db, .mode = ING_RUN_THREAD};
    ing_server *srv;
    assert_int_equal(ing_server_open(&opt, &srv, err, sizeof err), 0);
    const cJSON *fx;
    cJSON_ArrayForEach(fx, manifest)
    {
        if (strcmp(cJSON_GetObjectItem(fx, "encoding")->valuestring, encoding) != 0)
            continue;
        char path[512], url[256];
        snprintf(path, sizeof path, FIXTURES_DIR "/otlp/%s",
                 cJSON_GetObjectItem(fx, "path")->valuestring);
        size_t len;
        char *raw = t_read_file(path, &len);
        snprintf(url, sizeof url, "%s%s", ing_server_url(srv),
                 endpoint(cJSON_GetObjectItem(fx, "kind")->valuestring));
        const char *ct = cJSON_GetObjectItem(fx, "content_type")->valuestring;
        t_req req = {.content_type = ct, .chunked = 1};
        t_http r = t_request(url, &req, raw, len);
        if (r.status != 200)
            fail_msg("%s: status %ld", path, r.status);
        t_http_free(&r);
        free(raw);
    }
    ing_server_close(srv);
    expect_fields(db, encoding);
    char *rows = item_rows(db);
    t_rmtree(dir);
    free(db);
    free(dir);
    return rows;
}

/*
 * What scripts/sdk/capture.js made the SDK send (read off the capture by hand), as stored:
 * each query's text must come back for either encoding.
 */
static void expect_fields(const char *db, const char *encoding)
{
    static const char *const want[][2] = {
        /* spans: kind, status message, events (an exception), links, traceState, flags */
        {"SELECT span_kind || '|' || severity || '|' || status_message FROM items"
         " WHERE name = 'POST /payments'",
         "client|2|payment failed: card declined"},
        {"SELECT span_kind || '|' || severity || '|' || quote(status_message) FROM items"
         " WHERE name = 'GET /checkout'",
         "server|1|NULL"},
        {"SELECT group_concat(span_kind, ',') FROM (SELECT span_kind FROM items"
         " WHERE kind = 'span' ORDER BY start_ns)",
         "server,internal,client,internal,producer,consumer"},
        {"SELECT json_extract(detail, '$.events[0].name') || '|' ||"
         " json_extract(detail, '$.events[0].time_ns') || '|' ||"
         " json_extract(detail, '$.events[0].attrs.\"exception.type\"') || '|' ||"
         " json_extract(detail, '$.events[0].attrs.\"exception.message\"')"
         " FROM items WHERE name = 'POST /payments'",
         "exception|1735689600009000042|PaymentDeclined|card declined"},
        {"SELECT detail FROM items WHERE name = 'GET /checkout'",
         "{\"events\":[{\"time_ns\":1735689600001000500,\"name\":\"cart.loaded\",\"attrs\":"
         "{\"cart.items\":3,\"cart.total\":42.5}}]}"},
        {"SELECT detail FROM items WHERE name = 'publish orders'",
         "{\"links\":[{\"trace_id\":\"be5788954a01f425e975fe715f1634cd\",\"span_id\":"
         "\"8272614d15132a16\",\"attrs\":{\"link.reason\":\"follows-checkout\",\"link.seq\":1},"
         "\"flags\":257}]}"},
        {"SELECT trace_state || '|' || flags FROM items WHERE name = 'process orders'",
         "edgeloss=t61rcWkgMzE,vendor=1|769"},
        {"SELECT COUNT(*) FROM items WHERE kind = 'span' AND flags = 257 AND trace_state IS NULL",
         "5"},
        {"SELECT scope_version || '|' || json_extract(resource, '$.\"service.version\"') || '|' ||"
         " json_extract(resource, '$.\"host.cpu.count\"') || '|' ||"
         " json_extract(resource, '$.\"service.name\"') FROM items WHERE name = 'GET /checkout'",
         "0.2.0|2.0.1|8|edgeloss-both"},
        {"SELECT COUNT(DISTINCT resource) || '|' || COUNT(*) FROM items WHERE resource LIKE"
         " '%\"edgeloss.zones\":[\"eu-1\",\"us-2\"]%'",
         "1|21"},
        /* logs: severity text, flags, body types */
        {"SELECT group_concat(quote(severity_text) || ':' || quote(body_type) || ':' || flags,"
         " ',') FROM (SELECT * FROM items WHERE kind = 'log' ORDER BY end_ns)",
         "'TRACE':'string':0,'INFO':'kvlist':0,'WARN2':'string':1,'ERROR':'string':0,"
         "'FATAL':'string':0,NULL:NULL:0"},
        {"SELECT json_extract(body, '$.customer.since') FROM items WHERE body_type = 'kvlist'",
         "2019"},
        {"SELECT quote(body) FROM items WHERE severity_text = 'FATAL'", "''"},
        /* metrics: temporality, monotonicity, unit, description, buckets, bounds, min, max */
        {"SELECT group_concat(name || ':' || metric_type || ':' || quote(temporality) || ':' ||"
         " quote(monotonic) || ':' || unit, ',') FROM (SELECT DISTINCT name, metric_type,"
         " temporality, monotonic, unit FROM items WHERE kind = 'metric' ORDER BY name)",
         "edgeloss.inflight:sum:'cumulative':0:{item},"
         "edgeloss.latency:histogram:'cumulative':NULL:ms,"
         "edgeloss.payload_size:exponential_histogram:'cumulative':NULL:By,"
         "edgeloss.requests:sum:'cumulative':1:{request},"
         "edgeloss.temperature:gauge:NULL:NULL:Cel"},
        {"SELECT detail FROM items WHERE item_id = 'it-bm-0007'",
         "{\"description\":\"request latency\",\"bucket_counts\":[0,1,1,1,0,1,0],"
         "\"explicit_bounds\":[0,5,10,25,50,100],\"min\":1.5,\"max\":80}"},
        {"SELECT detail FROM items WHERE item_id = 'it-bm-0009'",
         "{\"description\":\"payload size (exponential buckets, through a view)\",\"scale\":1,"
         "\"zero_count\":1,\"positive\":{\"offset\":-5,\"bucket_counts\":[1,0,0,0,1,0,0,0,1,0,"
         "0,1,0,0,0,0,0,0,1,0,0,0,0,0,1]},\"min\":0,\"max\":1000}"},
        {"SELECT detail FROM items WHERE item_id = 'it-bm-0005'",
         "{\"description\":\"sensor temperature\"}"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *got = t_sql_str(db, want[i][0]);
        if (!got || strcmp(got, want[i][1]) != 0)
            fail_msg("%s: %s\n got:  %s\n want: %s", encoding, want[i][0], got ? got : "NULL",
                     want[i][1]);
        free(got);
    }
}

/*
 * The same data through the JS SDK's JSON and protobuf exporters (captured by
 * scripts/sdk/capture.js) must give identical rows: ids, times, values, attributes and all.
 */
static void test_json_and_protobuf_of_the_same_data_give_the_same_rows(void **state)
{
    (void)state;
    char *text = t_read_file(FIXTURES_DIR "/otlp/manifest_both.json", NULL);
    cJSON *m = cJSON_Parse(text);
    assert_non_null(m);
    char *json = rows_of(m, "json");
    char *pb = rows_of(m, "pb");
    assert_non_null(json);
    assert_true(strlen(json) > 100);
    if (strcmp(json, pb) != 0) {
        /* Name the first row that differs. */
        const char *a = json, *b = pb;
        while (*a && *a == *b)
            a++, b++;
        while (a > json && a[-1] != '\n')
            a--, b--;
        fail_msg("first different row:\n json: %.300s\n pb:   %.300s", a, b);
    }
    free(json);
    free(pb);
    cJSON_Delete(m);
    free(text);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdk_bodies_land_exactly_once),
        cmocka_unit_test(test_json_and_protobuf_of_the_same_data_give_the_same_rows),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
