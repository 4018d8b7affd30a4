/*
 * The WAF's rules and decisions (mock-ingest/waf.h), by hand: the third seed's shape - a rate
 * limit on the notification path that also counted the Worker's own subrequests, and the
 * skip rule that exempts them; blocks, logs and skips in order; counters per characteristic
 * and per colo; malformed configurations named by JSON path and position; plan limits.
 */
#include "waf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define S 1000000000LL

static waf *compile(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    waf *w = NULL;
    char err[512] = "";
    if (waf_compile(j, "$.waf", &w, err, sizeof err) != ING_OK)
        fail_msg("%s", err);
    cJSON_Delete(j);
    return w;
}

static void expect_error(const char *json, const char *want)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    waf *w = NULL;
    char err[512] = "";
    int rc = waf_compile(j, "$.waf", &w, err, sizeof err);
    cJSON_Delete(j);
    if (rc != ING_CONFIG || w)
        fail_msg("accepted: %s", json);
    if (!strstr(err, want))
        fail_msg("message\n  %s\nlacks\n  %s", err, want);
}

/* The seed: 3 notifications per 10 s per IP on /api/notify, blocking for 60 s. */
static const char seed_rules[] =
    "{\"window\": \"fixed\", \"rate_limits\": [{\"id\": \"notify-rl\","
    " \"expression\": \"http.request.uri.path eq \\\"/api/notify\\\"\","
    " \"characteristics\": [\"ip.src\"], \"requests_per_period\": 3, \"period_s\": 10,"
    " \"mitigation_timeout_s\": 60}]}";

static waf_request notify(const char *ip, const char *zone, int64_t colo)
{
    return (waf_request){.method = "POST",
                         .host = "flare.dev",
                         .path = "/api/notify",
                         .ip = ip,
                         .upstream_zone = zone,
                         .colo_id = colo};
}

/*
 * Without the skip rule, a visitor's 2 requests and the Worker's 2 same-zone notifications
 * for them (same IP: the visitor's) share one counter: the 4th is blocked with 429, and the
 * 60 s mitigation blocks the 5th too, whoever sends it.
 */
static void test_seed_rate_limit_counts_the_worker(void **state)
{
    (void)state;
    waf *w = compile(seed_rules);
    const char *zones[] = {"", "flare.dev", "", "flare.dev", ""};
    char got[8];
    for (int i = 0; i < 5; i++) {
        waf_request r = notify("1.2.3.4", zones[i], 17);
        waf_decision d;
        waf_decide(w, &r, i * S, &d);
        got[i] = d.blocked ? 'B' : 'P';
        if (i == 3) {
            assert_int_equal(d.status, 429);
            assert_int_equal(d.nacts, 1);
            assert_string_equal(d.acts[0].rule_id, "notify-rl");
            assert_int_equal(d.acts[0].action, WAF_RATE_BLOCK);
            assert_string_equal(d.acts[0].key, "colo=17|ip.src=1.2.3.4");
            assert_true(d.acts[0].rate == 4.0);
        }
    }
    got[5] = '\0';
    assert_string_equal(got, "PPPBB");
    waf_free(w);
}

/* Flare's fix: a custom skip rule of the rate limiting phase for the Worker's own zone. The
 * Worker's notifications are not counted: the visitor's 3 pass, its 4th is blocked. */
static void test_seed_skip_rule_exempts_the_worker(void **state)
{
    (void)state;
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"window\": \"fixed\", \"custom_rules\": [{\"id\": \"own-worker\","
        " \"expression\": \"cf.worker.upstream_zone eq \\\"flare.dev\\\"\", \"action\": \"skip\","
        " \"skip\": [\"rate_limits\"]}], %s",
        strchr(seed_rules, '"') + strlen("\"window\": \"fixed\", "));
    waf *w = compile(json);
    const char *zones[] = {"", "flare.dev", "", "flare.dev", "", "flare.dev", ""};
    char got[8];
    for (int i = 0; i < 7; i++) {
        waf_request r = notify("1.2.3.4", zones[i], 17);
        waf_decision d;
        waf_decide(w, &r, i * S, &d);
        got[i] = d.blocked ? 'B' : 'P';
        if (zones[i][0]) { /* the skip acted and is listed */
            assert_int_equal(d.nacts, 1);
            assert_int_equal(d.acts[0].action, WAF_SKIP);
        }
    }
    got[7] = '\0';
    assert_string_equal(got, "PPPPPPB");
    waf_free(w);
}

/* Custom rules in order: a log goes on, a block ends it (403 and its body), skip of the
 * remaining custom rules stops before a later block; counters per colo and per key. */
static void test_order_and_keys(void **state)
{
    (void)state;
    waf *w = compile(
        "{\"window\": \"fixed\", \"custom_rules\": ["
        " {\"id\": \"log-all\", \"expression\": \"http.request.method eq \\\"POST\\\"\","
        "  \"action\": \"log\"},"
        " {\"id\": \"trusted\", \"expression\": \"ip.src eq \\\"9.9.9.9\\\"\", \"action\": "
        "\"skip\","
        "  \"skip\": [\"custom\"]},"
        " {\"id\": \"no-admin\", \"expression\": \"starts_with(http.request.uri.path, "
        "\\\"/admin\\\")\","
        "  \"action\": \"block\", \"status\": 451, \"body\": \"no\"}],"
        " \"rate_limits\": [{\"id\": \"rl\", \"expression\": \"http.host eq \\\"flare.dev\\\"\","
        "  \"requests_per_period\": 1, \"period_s\": 10}]}");
    waf_request admin = {.method = "POST", .host = "x", .path = "/admin/a", .ip = "1.1.1.1"};
    waf_decision d;
    waf_decide(w, &admin, 0, &d);
    assert_true(d.blocked);
    assert_int_equal(d.status, 451);
    assert_string_equal(d.body, "no");
    assert_int_equal(d.nacts, 2);
    assert_string_equal(d.acts[0].rule_id, "log-all");
    assert_string_equal(d.acts[1].rule_id, "no-admin");
    admin.ip = "9.9.9.9"; /* skips the remaining custom rules, not the rate limits */
    waf_decide(w, &admin, 0, &d);
    assert_false(d.blocked);
    assert_int_equal(d.nacts, 2);
    /* The rate limit: one per 10 s per colo (no characteristics: the colo alone). */
    waf_request a = {.method = "GET", .host = "flare.dev", .path = "/", .colo_id = 1};
    waf_request b = a;
    b.colo_id = 2;
    waf_decide(w, &a, 0, &d);
    assert_false(d.blocked);
    waf_decide(w, &b, 0, &d);
    assert_false(d.blocked);
    waf_decide(w, &a, 1, &d);
    assert_true(d.blocked && d.status == 429);
    assert_string_equal(d.acts[0].key, "colo=1");
    waf_free(w);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error("[]", "$.waf: expected an object");
    expect_error("{\"rules\": []}", "$.waf: unknown key \"rules\"");
    expect_error(
        "{\"custom_rules\": [{\"id\": \"a\", \"expression\": \"http.host eq\","
        " \"action\": \"block\"}]}",
        "$.waf.custom_rules[0].expression: position 12: expected a string, got end of input");
    expect_error("{\"custom_rules\": [{\"id\": \"a\", \"expression\": \"ip.src eq \\\"x\\\"\","
                 " \"action\": \"deny\"}]}",
                 "$.waf.custom_rules[0]: \"action\": expected block, skip or log, got \"deny\"");
    expect_error("{\"custom_rules\": [{\"id\": \"a\", \"expression\": \"ip.src eq \\\"x\\\"\","
                 " \"action\": \"skip\"}]}",
                 "\"skip\" goes with action skip");
    expect_error(
        "{\"rate_limits\": [{\"id\": \"r\", \"expression\": \"ip.src eq \\\"x\\\"\","
        " \"requests_per_period\": 5, \"period_s\": 30}]}",
        "$.waf.rate_limits[0]: \"period_s\": expected 10, 60, 120, 300, 600 or 3600, got 30");
    expect_error(
        "{\"rate_limits\": [{\"id\": \"r\", \"expression\": \"ip.src eq \\\"x\\\"\","
        " \"requests_per_period\": 5, \"period_s\": 10, \"mitigation_timeout_s\": 30}]}",
        "\"mitigation_timeout_s\": expected 0, 10, 60, 120, 300, 600, 3600 or 86400, got 30");
    expect_error("{\"rate_limits\": [{\"id\": \"r\", \"expression\": \"ip.src eq \\\"x\\\"\","
                 " \"requests_per_period\": 5, \"period_s\": 10, \"characteristics\": [\"ip\"]}]}",
                 "\"characteristics\": expected ip.src");
    expect_error("{\"custom_rules\": [{\"id\": \"a\", \"expression\": \"ip.src eq \\\"x\\\"\","
                 " \"action\": \"block\", \"status\": 500}]}",
                 "$.waf.custom_rules[0].status: expected a whole number from 400 to 499");
    /* Plans. */
    expect_error("{\"plan\": \"free\", \"rate_limits\": [{\"id\": \"r\", \"expression\": "
                 "\"ip.src eq \\\"x\\\"\", \"requests_per_period\": 5, \"period_s\": 60,"
                 " \"mitigation_timeout_s\": 10}]}",
                 "\"period_s\": the free plan counts over 10 s at most");
    expect_error("{\"plan\": \"business\", \"rate_limits\": [{\"id\": \"r\", \"expression\": "
                 "\"ip.src eq \\\"x\\\"\", \"requests_per_period\": 5, \"period_s\": 10}]}",
                 "0 (throttle) with block is Enterprise only, not business");
    expect_error("{\"plan\": \"free\", \"custom_rules\": [{\"id\": \"a\", \"expression\": "
                 "\"ip.src eq \\\"x\\\"\", \"action\": \"block\", \"status\": 403}]}",
                 "a custom response (status, body) needs the Pro plan or above, not free");
    expect_error("{\"plan\": \"pro\", \"rate_limits\": [{}, {}, {}]}",
                 "the pro plan has at most 20 custom and 2 rate limiting rules");
    expect_error("{\"plan\": \"gold\"}", "\"plan\": expected free, pro, business or enterprise");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_rate_limit_counts_the_worker),
        cmocka_unit_test(test_seed_skip_rule_exempts_the_worker),
        cmocka_unit_test(test_order_and_keys),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
