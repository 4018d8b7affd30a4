/* Ingest config files: good ones load, bad ones name the file, the JSON path and the expectation.
 */
#include "ingest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_good_configs(void **state)
{
    (void)state;
    const char *good[] = {
        "{}",
        "{\"keys\": [\"a\", \"b\"]}",
        "{\"keys\": [{\"key\": \"a\", \"cap\": {\"items\": 100, \"window_s\": 0.5}}]}",
        ("{\"cap\": {\"items\": 1, \"window_s\": 86400}, \"max_body_bytes\": 1048576,"
         " \"connection_limit\": 8, \"connection_timeout_s\": 3}"),
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ing_config *c = NULL;
        char err[256] = "";
        if (ing_config_parse(good[i], "good.json", &c, err, sizeof err))
            fail_msg("%s: %s", good[i], err);
        assert_non_null(c);
        ing_config_free(c);
    }
}

static void test_bad_configs_say_where_and_what(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"", "bad.json: $: not valid JSON"},
        {"[]", "bad.json: $: expected an object"},
        {"{\"kyes\": []}", "bad.json: $.kyes: unknown key"},
        {"{\"keys\": \"a\"}", "bad.json: $.keys: expected an array"},
        {"{\"keys\": []}", "bad.json: $.keys: expected at least one key"},
        {"{\"keys\": [3]}", "bad.json: $.keys[0]: expected a string or an object"},
        {"{\"keys\": [\"a\", \"a\"]}", "bad.json: $.keys[1]: duplicate key"},
        {"{\"keys\": [\"\"]}", "bad.json: $.keys[0]: expected a non-empty key"},
        {"{\"keys\": [{\"cap\": {\"items\": 1, \"window_s\": 1}}]}", "$.keys[0]: missing \"key\""},
        {"{\"keys\": [{\"key\": \"a\", \"limit\": 1}]}", "$.keys[0].limit: unknown key"},
        {"{\"cap\": {\"items\": 0, \"window_s\": 1}}", "$.cap.items: expected a number from 1"},
        {"{\"cap\": {\"items\": 1.5, \"window_s\": 1}}", "$.cap.items: expected a whole number"},
        {"{\"cap\": {\"items\": 5}}", "$.cap: missing \"window_s\""},
        {"{\"cap\": {\"window_s\": 5}}", "$.cap: missing \"items\""},
        {"{\"cap\": {\"items\": 5, \"window_s\": -1}}",
         "$.cap.window_s: expected a number of seconds"},
        {"{\"cap\": 5}", "$.cap: expected an object"},
        {"{\"max_body_bytes\": 10}", "$.max_body_bytes: expected a number from 1024"},
        {"{\"connection_limit\": \"8\"}", "$.connection_limit: expected a whole number"},
        {"{\"connection_timeout_s\": 0}", "$.connection_timeout_s: expected a number from 1"},
        {"{\"waf\": []}", "bad.json: $.waf: expected an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ing_config *c = NULL;
        char err[256] = "";
        int rc = ing_config_parse(bad[i].json, "bad.json", &c, err, sizeof err);
        assert_int_equal(rc, ING_CONFIG);
        assert_null(c);
        if (!strstr(err, bad[i].msg))
            fail_msg("config %s: message \"%s\" lacks \"%s\"", bad[i].json, err, bad[i].msg);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    ing_config *c = NULL;
    char err[256];
    assert_int_equal(ing_config_load("/nonexistent/cfg.json", &c, err, sizeof err), ING_CONFIG);
    assert_non_null(strstr(err, "/nonexistent/cfg.json: cannot open"));
}

static void test_server_refuses_bad_options(void **state)
{
    (void)state;
    ing_server *srv = NULL;
    char err[256];
    ing_options none = {.db_path = NULL};
    assert_int_equal(ing_server_open(&none, &srv, err, sizeof err), ING_USAGE);
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "x.db");
    ing_options host = {.db_path = db, .listen_host = "localhost"};
    assert_int_equal(ing_server_open(&host, &srv, err, sizeof err), ING_USAGE);
    assert_non_null(strstr(err, "numeric IPv4"));
    ing_options nodir = {.db_path = "/nonexistent/dir/x.db"};
    assert_int_equal(ing_server_open(&nodir, &srv, err, sizeof err), ING_DB);
    assert_null(srv);
    assert_string_equal(ing_strerror(ING_DB), "database error");
    t_rmtree(dir);
    free(db);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_configs),
        cmocka_unit_test(test_bad_configs_say_where_and_what),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_server_refuses_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
