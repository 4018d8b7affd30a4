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

/* Every stored column of every item, in a fixed order: what must not depend on the encoding. */
static char *item_rows(const char *db)
{
    /* quote(): NULL and the text 'NULL' differ, and so do 1 and '1'. */
    return t_sql_str(
        db, "SELECT group_concat(r, char(10)) FROM (SELECT quote(kind) || '|' || quote(accepted) "
            "|| '|' || quote(reason) || '|' || quote(item_id) || '|' || quote(request_id) || '|' "
            "|| quote(sent_for) || '|' || quote(service) || '|' || quote(scope) || '|' || quote(n"
            "ame) || '|' || quote(trace_id) || '|' || quote(span_id) || '|' || quote(parent_span_"
            "id) || '|' || quote(start_ns) || '|' || quote(end_ns) || '|' || quote(metric_type) |"
            "| '|' || quote(value) || '|' || quote(count) || '|' || quote(severity) || '|' || quo"
            "te(body) || '|' || quote(attrs) AS r FROM items ORDER BY item_id, id)");
}

/* Sends every fixture of one encoding of manifest_both.json to a fresh server: its rows. */
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
    char *rows = item_rows(db);
    t_rmtree(dir);
    free(db);
    free(dir);
    return rows;
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
