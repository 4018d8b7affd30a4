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

/*
 * Characteristics from headers, Cloudflare's example (ip.src and x-api-key): requests with
 * the same key from two IPs count apart, and so do two keys from one IP; the header's name
 * matches in any case; a request without the header has its own counter (value ""). Values
 * longer than any fixed buffer and values holding the key's separator never share a counter
 * with a different combination.
 */
static void test_header_characteristics(void **state)
{
    (void)state;
    waf *w =
        compile("{\"window\": \"fixed\", \"rate_limits\": [{\"id\": \"api\","
                " \"expression\": \"http.request.uri.path eq \\\"/v1/logs\\\"\","
                " \"characteristics\": [\"ip.src\", \"http.request.headers[\\\"x-api-key\\\"]\"],"
                " \"requests_per_period\": 1, \"period_s\": 60}]}");
    const char *names[] = {"Host", "X-API-Key"};
    char longa[600], longb[600];
    memset(longa, 'k', sizeof longa - 1);
    longa[sizeof longa - 1] = '\0';
    memcpy(longb, longa, sizeof longb);
    longb[sizeof longb - 2] = 'z'; /* differs only in its last byte */
    struct {
        const char *ip, *apikey; /* NULL: no header */
        bool blocked;
        const char *key; /* when blocked */
    } steps[] = {
        {"1.1.1.1", "alpha", false, NULL},
        {"2.2.2.2", "alpha", false, NULL}, /* another IP, another counter */
        {"1.1.1.1", "beta", false, NULL},  /* another key, another counter */
        {"1.1.1.1", NULL, false, NULL},    /* no header: a counter of its own */
        {"1.1.1.1", "alpha", true,
         "colo=3|ip.src=1.1.1.1|http.request.headers[\"x-api-key\"]=alpha"},
        {"1.1.1.1", NULL, true, "colo=3|ip.src=1.1.1.1|http.request.headers[\"x-api-key\"]="},
        {"1.1.1.1", longa, false, NULL},
        {"1.1.1.1", longb, false, NULL}, /* truncating keys would have shared longa's */
        {"1.1.1.1", longb, true, NULL},
        /* '|' in a value is escaped: unescaped, these two combinations would both be
         * ip.src=1.1.1.1|x-api-key=p|x-api-key=q and share a counter */
        {"1.1.1.1", "p|http.request.headers[\"x-api-key\"]=q", false, NULL},
        {"1.1.1.1|http.request.headers[\"x-api-key\"]=p", "q", false, NULL},
        {"1.1.1.1", "a|b%c", false, NULL},
        {"1.1.1.1", "a|b%c", true,
         "colo=3|ip.src=1.1.1.1|http.request.headers[\"x-api-key\"]=a%7Cb%25c"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *values[] = {"ingest.example", steps[i].apikey};
        waf_request r = {.method = "POST",
                         .host = "ingest.example",
                         .path = "/v1/logs",
                         .ip = steps[i].ip,
                         .colo_id = 3,
                         .nheaders = steps[i].apikey ? 2 : 1,
                         .header_names = names,
                         .header_values = values};
        waf_decision d;
        waf_decide(w, &r, (int64_t)i * S, &d);
        if (d.blocked != steps[i].blocked)
            fail_msg("step %zu: blocked %d, expected %d", i, d.blocked, steps[i].blocked);
        if (steps[i].key)
            assert_string_equal(d.acts[0].key, steps[i].key);
    }
    waf_free(w);
}

/*
 * A counting expression apart from the rule's (Cloudflare's "Example B" counts only some of
 * the requests the rule matches): here only requests with x-retry count, every request to
 * the path is blocked once the counter is over. Requests that match the counting expression
 * but not the rule count and are never blocked themselves. Throttle (timeout 0): over the
 * rate, an uncounted request is blocked too; it adds nothing, so the rate falls back as the
 * counted ones leave the window.
 */
static void test_counting_expression(void **state)
{
    (void)state;
    waf *w =
        compile("{\"window\": \"fixed\", \"rate_limits\": [{\"id\": \"retries\","
                " \"expression\": \"http.request.uri.path eq \\\"/v1/traces\\\"\","
                " \"counting_expression\": \"http.request.headers[\\\"x-retry\\\"] ne \\\"\\\"\","
                " \"requests_per_period\": 2, \"period_s\": 10}]}");
    const char *names[] = {"x-retry"};
    const char *values[] = {"1"};
    waf_request plain = {.method = "POST", .path = "/v1/traces", .ip = "1.1.1.1"};
    waf_request retry = plain;
    retry.nheaders = 1;
    retry.header_names = names;
    retry.header_values = values;
    waf_request elsewhere = retry; /* counts, never blocked: the rule does not match it */
    elsewhere.path = "/v1/logs";
    waf_decision d;
    /* plain requests never count: 5 of them pass, and make no counter at all */
    for (int i = 0; i < 5; i++) {
        waf_decide(w, &plain, i, &d);
        assert_false(d.blocked);
    }
    waf_decide(w, &retry, 10, &d); /* count 1 */
    assert_false(d.blocked);
    waf_decide(w, &elsewhere, 11, &d); /* count 2: not the rule's path, passes */
    assert_false(d.blocked);
    waf_decide(w, &plain, 12, &d); /* rate 2, not over: passes, counts nothing */
    assert_false(d.blocked);
    waf_decide(w, &elsewhere, 13, &d); /* count 3: over, but the rule does not match it */
    assert_false(d.blocked);
    waf_decide(w, &plain, 14, &d); /* over (3 > 2): blocked although it never counts */
    assert_true(d.blocked);
    assert_int_equal(d.status, 429);
    assert_true(d.acts[0].rate == 3.0);
    waf_decide(w, &plain, 15, &d);
    assert_true(d.blocked);
    waf_decide(w, &plain, 10 * S, &d); /* the next fixed window: rate 0, throttle lifts */
    assert_false(d.blocked);
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
    /* Numbers past any integer's range are refused, never converted (UBSan's find). */
    expect_error("{\"rate_limits\": [{\"id\": \"r\", \"expression\": \"ip.src eq \\\"x\\\"\","
                 " \"requests_per_period\": 5, \"period_s\": 1e19}]}",
                 "$.waf.rate_limits[0].period_s: expected a whole number from 1 to 3600");
    expect_error("{\"rate_limits\": [{\"id\": \"r\", \"expression\": \"ip.src eq \\\"x\\\"\","
                 " \"requests_per_period\": -1e300, \"period_s\": 10}]}",
                 "requests_per_period: expected a whole number from 1 to 1000000000");
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
        cmocka_unit_test(test_header_characteristics),
        cmocka_unit_test(test_counting_expression),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
