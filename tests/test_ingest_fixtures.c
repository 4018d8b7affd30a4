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

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdk_bodies_land_exactly_once),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
