/*
 * The WAF in mock-ingest's request path, end to end: the real server on 127.0.0.1 port 0,
 * real HTTP with libcurl, the rules from the config's "waf" key, and what was recorded read
 * back with independent SQL on the file (requests and waf_decisions). Every expected status
 * is derived by hand from the rule (docs/waf.md): the third seed's rate limit (3 per 10 s per
 * ip.src, fixed windows, 60 s mitigation) counts the Worker's own notifications unless a
 * custom skip rule exempts them; custom blocks answer their status and body before
 * authentication; the standalone binary applies the rules from its config file to a real
 * client's requests; a malformed rule is refused at startup with its path and position.
 */
#include "ingest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define S 1000000000LL

static const char *mock_ingest_bin;

/* The third seed's rate limit, on the ingest's traces path. */
#define RL_TRACES                                                                                  \
    "{\"id\": \"traces-rl\", \"expression\": \"http.request.uri.path eq \\\"/v1/traces\\\"\","     \
    " \"characteristics\": [\"ip.src\"], \"requests_per_period\": 3, \"period_s\": 10,"            \
    " \"mitigation_timeout_s\": 60, \"body\": \"{\\\"error\\\":\\\"rate limited\\\"}\"}"
#define RL_BODY "{\"error\":\"rate limited\"}"

static const char seed_cfg[] =
    "{\"waf\": {\"window\": \"fixed\", \"rate_limits\": [" RL_TRACES "]}}";

/* Flare's fix: a custom rule skipping the rate limiting phase for the Worker's own zone. */
static const char skip_cfg[] =
    "{\"waf\": {\"window\": \"fixed\", \"custom_rules\": [{\"id\": \"own-worker\","
    " \"expression\": \"cf.worker.upstream_zone eq \\\"flare.dev\\\"\", \"action\": \"skip\","
    " \"skip\": [\"rate_limits\"]}], \"rate_limits\": [" RL_TRACES "]}}";

typedef struct fx {
    char *dir;
    char *db;
    ing_server *srv;
    char url[128];
} fx;

static fx *fx_open_mode(const char *config_json, bool trust, ing_run_mode mode)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_mkdtemp();
    assert_non_null(f->dir);
    f->db = t_path(f->dir, "ingest.db");
    char err[512] = "";
    ing_config *cfg = NULL;
    if (config_json && ing_config_parse(config_json, "test-config", &cfg, err, sizeof err))
        fail_msg("config: %s", err);
    ing_options opt = {.db_path = f->db, .config = cfg, .mode = mode, .trust_sim_headers = trust};
    int rc = ing_server_open(&opt, &f->srv, err, sizeof err);
    ing_config_free(cfg); /* the server keeps its own copy */
    if (rc)
        fail_msg("open: %s", err);
    snprintf(f->url, sizeof f->url, "%s", ing_server_url(f->srv));
    return f;
}

static fx *fx_open(const char *config_json, bool trust)
{
    return fx_open_mode(config_json, trust, ING_RUN_THREAD);
}

static void fx_close(fx *f)
{
    ing_server_close(f->srv);
    t_rmtree(f->dir);
    free(f->db);
    free(f->dir);
    free(f);
}

/* A refusal may be answered just before its row commits: wait (bounded) for n rows. */
static void wait_rows(const char *db, int64_t n)
{
    for (int i = 0; i < 500 && t_sql_intf(db, "SELECT COUNT(*) FROM requests") < n; i++)
        usleep(10000);
    assert_int_equal(t_sql_intf(db, "SELECT COUNT(*) FROM requests"), n);
}

typedef struct answer {
    long status;
    char body[512];
    char content_type[64];
} answer;

static size_t keep_body(char *p, size_t size, size_t n, void *ud)
{
    answer *a = ud;
    size_t len = strlen(a->body), add = size * n;
    size_t room = sizeof a->body - 1 - len;
    memcpy(a->body + len, p, add < room ? add : room);
    a->body[len + (add < room ? add : room)] = '\0';
    return size * n;
}

/* A POST of `body` with the headers given (NULL-terminated), Content-Type JSON unless one is
 * among them. The status is 0 when the exchange failed. */
static answer post_h(const char *base, const char *path, const char *const *headers,
                     const char *body)
{
    answer a = {0};
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    bool has_ct = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        hd = curl_slist_append(hd, headers[i]);
        has_ct |= strncasecmp(headers[i], "Content-Type:", 13) == 0;
    }
    if (!has_ct)
        hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    if (curl_easy_perform(h) == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
        char *ct = NULL;
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(a.content_type, sizeof a.content_type, "%s", ct ? ct : "");
    }
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return a;
}

/* A POST of 2 spans tagged `tag` at virtual time t_ns, with one more header (or none). */
static answer post_at(fx *f, const char *path, int64_t t_ns, const char *extra, const char *tag)
{
    char th[64];
    snprintf(th, sizeof th, "X-Edgeloss-Time-Ns: %lld", (long long)t_ns);
    const char *hs[] = {th, extra, NULL};
    char *body = t_otlp_spans(tag, 2, tag);
    answer a = post_h(f->url, path, hs, body);
    free(body);
    return a;
}

/*
 * The third seed's rate limit, 3 per 10 s per ip.src in fixed windows, mitigation 60 s:
 *   t=1,2,3 s   counts 1, 2, 3 in window [0,10): pass
 *   t=4 s       count 4 > 3: blocked (429, the rule's body), and every request of the
 *               counter is blocked until 4 + 60 = 64 s
 *   t=12 s      window [10,20), count 1, but the mitigation is in force: blocked
 *   t=13 s      /v1/logs: the rule does not match nor count it: passes
 *   t=64 s      the mitigation ended, window [60,70) count 1: passes
 */
static void test_seed_rate_limit_blocks_the_fourth(void **state)
{
    (void)state;
    fx *f = fx_open(seed_cfg, true);
    static const struct {
        const char *path;
        int64_t t_s;
        long status;
    } steps[] = {{"/v1/traces", 1, 200}, {"/v1/traces", 2, 200},  {"/v1/traces", 3, 200},
                 {"/v1/traces", 4, 429}, {"/v1/traces", 12, 429}, {"/v1/logs", 13, 200},
                 {"/v1/traces", 64, 200}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "s%zu", i);
        answer a;
        if (strcmp(steps[i].path, "/v1/logs") == 0) {
            char th[64];
            snprintf(th, sizeof th, "X-Edgeloss-Time-Ns: %lld", (long long)(steps[i].t_s * S));
            const char *hs[] = {th, NULL};
            char *body = t_otlp_logs(tag, 2, tag);
            a = post_h(f->url, "/v1/logs", hs, body);
            free(body);
        } else {
            a = post_at(f, steps[i].path, steps[i].t_s * S, NULL, tag);
        }
        if (a.status != steps[i].status)
            fail_msg("request %zu at %lld s: %ld, expected %ld (%s)", i, (long long)steps[i].t_s,
                     a.status, steps[i].status, a.body);
        if (a.status == 429) {
            assert_string_equal(a.body, RL_BODY);
            assert_string_equal(a.content_type, "application/json");
        }
    }
    wait_rows(f->db, 7);
    /* The blocked requests: reason waf, the rule in the message, no item received or kept. */
    assert_int_equal(
        t_sql_intf(f->db,
                   "SELECT COUNT(*) FROM requests WHERE status = 429 AND reason = 'waf'"
                   " AND message LIKE '%%traces-rl%%' AND items_received = 0"
                   " AND time_ns IN (%lld, %lld)",
                   4 * S, 12 * S),
        2);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM items i JOIN requests r ON r.id = i.request"
                                " WHERE r.status != 200"),
                     0);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM items WHERE accepted = 1"), 5 * 2);
    /* Their decisions, and only theirs: the rule, its counter's key and value. */
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions"), 2);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                " ON r.id = d.request WHERE r.time_ns = %lld AND r.status = 429"
                                " AND d.rule = 'traces-rl' AND d.action = 'rate_block'"
                                " AND d.key = 'colo=0|ip.src=127.0.0.1' AND d.value = 4",
                                4 * S),
                     1);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                " ON r.id = d.request WHERE r.time_ns = %lld"
                                " AND d.key = 'colo=0|ip.src=127.0.0.1' AND d.value = 1",
                                12 * S),
                     1);
    fx_close(f);
}

/*
 * The visitor's requests (no upstream zone) and the Worker's same-zone notifications
 * (X-Edgeloss-Upstream-Zone: flare.dev, the visitor's IP) alternate, one a second from t=0:
 *   visitor, worker, visitor, worker, visitor, worker, visitor
 * Without the skip rule all seven count on one counter: 1, 2, 3 pass, the 4th (t=3, the
 * Worker's) is blocked and the 60 s mitigation blocks the rest: P P P B B B B.
 * With it, the Worker's are skipped before the rate limit and never counted: the visitor's
 * count 1 (t=0), 2 (t=2), 3 (t=4), 4 (t=6): P P P P P P B.
 */
static void run_zones(const char *cfg, const char *want, const char *db_check_rule)
{
    fx *f = fx_open(cfg, true);
    char got[8];
    for (int i = 0; i < 7; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "z%d", i);
        answer a = post_at(f, "/v1/traces", i * S,
                           i % 2 ? "X-Edgeloss-Upstream-Zone: flare.dev" : NULL, tag);
        assert_true(a.status == 200 || a.status == 429);
        got[i] = a.status == 200 ? 'P' : 'B';
    }
    got[7] = '\0';
    assert_string_equal(got, want);
    wait_rows(f->db, 7);
    assert_int_equal(
        t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE status = 429 AND reason = 'waf'"),
        (int64_t)(strchr(want, '\0') - strchr(want, 'B')));
    if (db_check_rule) {
        /* Each of the Worker's requests got its skip row (no key, no value), in the same
         * transaction as its 200; the block is the visitor's 4th, at value 4. */
        assert_int_equal(t_sql_intf(f->db,
                                    "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                    " ON r.id = d.request WHERE r.status = 200"
                                    " AND r.time_ns IN (%lld, %lld, %lld) AND d.rule = '%s'"
                                    " AND d.action = 'skip' AND d.key IS NULL AND d.value IS NULL",
                                    1 * S, 3 * S, 5 * S, db_check_rule),
                         3);
        assert_int_equal(t_sql_intf(f->db,
                                    "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                    " ON r.id = d.request WHERE r.time_ns = %lld"
                                    " AND d.action = 'rate_block' AND d.value = 4"
                                    " AND d.key = 'colo=0|ip.src=127.0.0.1'",
                                    6 * S),
                         1);
        assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions"), 4);
    } else {
        assert_int_equal(t_sql_intf(f->db,
                                    "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                    " ON r.id = d.request WHERE r.time_ns = %lld AND d.value = 4",
                                    3 * S),
                         1);
        assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions"), 4);
    }
    fx_close(f);
}

static void test_the_worker_counts_without_the_skip_rule(void **state)
{
    (void)state;
    run_zones(seed_cfg, "PPPBBBB", NULL);
}

static void test_the_skip_rule_exempts_the_worker(void **state)
{
    (void)state;
    run_zones(skip_cfg, "PPPPPPB", "own-worker");
}

/* Counters are per colo (X-Edgeloss-Colo, trusted): colo 2's requests have their own. */
static void test_counters_per_colo_and_sim_header_ranges(void **state)
{
    (void)state;
    fx *f = fx_open(seed_cfg, true);
    static const struct {
        int colo;
        long status;
    } steps[] = {{1, 200}, {1, 200}, {1, 200}, {2, 200}, {1, 429}, {2, 200}};
    for (int i = 0; i < 6; i++) {
        char ch[48], tag[16];
        snprintf(ch, sizeof ch, "X-Edgeloss-Colo: %d", steps[i].colo);
        snprintf(tag, sizeof tag, "c%d", i);
        answer a = post_at(f, "/v1/traces", (i + 1) * S, ch, tag);
        assert_int_equal(a.status, steps[i].status);
    }
    wait_rows(f->db, 6);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                " ON r.id = d.request WHERE r.time_ns = %lld"
                                " AND d.key = 'colo=1|ip.src=127.0.0.1' AND d.value = 4",
                                5 * S),
                     1);
    /* Trusted, the new headers are checked in full like the others: 400, bad_header. */
    static const struct {
        const char *h1, *h2, *msg;
    } bad[] = {
        {"X-Edgeloss-Colo: x", NULL, "X-Edgeloss-Colo: expected a whole number"},
        {"X-Edgeloss-Colo: 4294967296", NULL, "from 0 to 4294967295"},
        {"X-Edgeloss-Colo: -1", NULL, "X-Edgeloss-Colo"},
        {"X-Edgeloss-Upstream-Zone: flare dev", NULL, "X-Edgeloss-Upstream-Zone: expected a zone"},
        {"X-Edgeloss-Upstream-Zone: a", "X-Edgeloss-Upstream-Zone: b", "given more than once"},
        {"X-Edgeloss-Colo: 1", "X-Edgeloss-Colo: 1", "X-Edgeloss-Colo: given more than once"},
    };
    char *body = t_otlp_spans("bad", 1, "r");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *hs[] = {bad[i].h1, bad[i].h2, NULL};
        answer a = post_h(f->url, "/v1/traces", hs, body);
        assert_int_equal(a.status, 400);
        if (!strstr(a.body, bad[i].msg))
            fail_msg("%s: answer %s lacks %s", bad[i].h1, a.body, bad[i].msg);
    }
    free(body);
    wait_rows(f->db, 6 + (int64_t)(sizeof bad / sizeof bad[0]));
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE reason = 'bad_header'"),
                     (int64_t)(sizeof bad / sizeof bad[0]));
    fx_close(f);
}

/*
 * The last virtual times: counting at 9223372036854775807 ns with a 60 s mitigation must not
 * overflow (UBSan aborts on it in the sanitizer build): the 4th is blocked as at any time.
 */
static void test_the_last_virtual_times(void **state)
{
    (void)state;
    fx *f = fx_open(seed_cfg, true);
    char got[6];
    for (int i = 0; i < 5; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "max%d", i);
        answer a = post_at(f, "/v1/traces", INT64_MAX - (i < 4 ? 4 - i : 0), NULL, tag);
        got[i] = a.status == 200 ? 'P' : a.status == 429 ? 'B' : '?';
    }
    got[5] = '\0';
    assert_string_equal(got, "PPPBB");
    wait_rows(f->db, 5);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM requests WHERE time_ns = 9223372036854775807"
                                " AND status = 429 AND reason = 'waf'"),
                     1);
    fx_close(f);
}

/*
 * Custom rules in order, in front of everything else: a log rule acting on every POST, a
 * 451 block on a header or the query, a default (403) block, and a rule on a simulator
 * header, which rules do not see when those headers are trusted (they are the simulator's,
 * not the request's) and do when not (then they are ordinary headers of a client).
 */
static const char custom_cfg[] =
    "{\"keys\": [\"k\"], \"waf\": {\"custom_rules\": ["
    "{\"id\": \"log-all\", \"expression\": \"http.request.method eq \\\"POST\\\"\","
    " \"action\": \"log\"},"
    "{\"id\": \"legal\", \"expression\": \"http.request.headers[\\\"x-region\\\"] eq \\\"xx\\\""
    " or http.request.uri.query contains \\\"deny\\\"\", \"action\": \"block\", \"status\": 451,"
    " \"body\": \"unavailable for legal reasons\"},"
    "{\"id\": \"plain\", \"expression\": \"http.request.headers[\\\"x-tag\\\"] eq \\\"bad\\\"\","
    " \"action\": \"block\"},"
    "{\"id\": \"sim\", \"expression\": \"http.request.headers[\\\"x-edgeloss-run\\\"] eq"
    " \\\"run-1\\\"\", \"action\": \"block\", \"status\": 418}]}}";

static void test_custom_rules_block_before_authentication(void **state)
{
    (void)state;
    fx *f = fx_open(custom_cfg, true);
    char *spans = t_otlp_spans("cu", 2, "r");
    /* 1: a keyed request from region xx: 451 with the rule's body, as text. */
    const char *h1[] = {"X-Edgeloss-Time-Ns: 1", "Authorization: Bearer k", "X-Region: xx", NULL};
    answer a = post_h(f->url, "/v1/traces", h1, spans);
    assert_int_equal(a.status, 451);
    assert_string_equal(a.body, "unavailable for legal reasons");
    assert_string_equal(a.content_type, "text/plain");
    /* 2: no key and a body that is not JSON: the WAF answers first, not 401 or 415. */
    const char *h2[] = {"X-Edgeloss-Time-Ns: 2", "X-Region: xx", "Content-Type: text/plain", NULL};
    a = post_h(f->url, "/v1/traces", h2, "not json");
    assert_int_equal(a.status, 451);
    /* 3: the query (http.request.uri.query, without the '?'). */
    const char *h3[] = {"X-Edgeloss-Time-Ns: 3", "Authorization: Bearer k", NULL};
    a = post_h(f->url, "/v1/logs?mode=deny&x", h3, spans);
    assert_int_equal(a.status, 451);
    /* 4: the header the rule looks at comes after 200 others: the WAF sees every header. */
    const char *h4[205];
    char filler[200][24];
    size_t n = 0;
    h4[n++] = "X-Edgeloss-Time-Ns: 4";
    h4[n++] = "Authorization: Bearer k";
    for (int i = 0; i < 200; i++) {
        snprintf(filler[i], sizeof filler[i], "X-Filler-%d: %d", i, i);
        h4[n++] = filler[i];
    }
    h4[n++] = "X-Tag: bad";
    h4[n] = NULL;
    a = post_h(f->url, "/v1/traces", h4, spans);
    assert_int_equal(a.status, 403); /* a custom block's default */
    assert_non_null(strstr(a.body, "\"code\":"));
    assert_non_null(strstr(a.body, "plain"));
    /* 5: trusted, X-Edgeloss-Run is the simulator's: the rule on it does not see it. */
    const char *h5[] = {"X-Edgeloss-Time-Ns: 5", "Authorization: Bearer k", "X-Edgeloss-Run: run-1",
                        NULL};
    a = post_h(f->url, "/v1/traces", h5, spans);
    assert_int_equal(a.status, 200);
    /* 6: the WAF lets it through (logging it), authentication refuses it. */
    const char *h6[] = {"X-Edgeloss-Time-Ns: 6", NULL};
    a = post_h(f->url, "/v1/traces", h6, spans);
    assert_int_equal(a.status, 401);
    wait_rows(f->db, 6);
    /* Rows: every request got log-all's row; the blocked ones their block row after it. */
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions WHERE rule = 'log-all'"
                                       " AND action = 'log' AND key IS NULL AND value IS NULL"),
                     6);
    assert_int_equal(
        t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                          " ON r.id = d.request WHERE d.rule = 'legal' AND d.action = 'block'"
                          " AND r.status = 451 AND r.reason = 'waf' AND r.time_ns IN (1, 2, 3)"
                          " AND r.items_received = 0"),
        3);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                " ON r.id = d.request WHERE d.rule = 'plain' AND r.status = 403"
                                " AND r.reason = 'waf' AND r.time_ns = 4"),
                     1);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                " ON r.id = d.request WHERE r.time_ns = 5 AND r.status = 200"),
                     1);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                       " ON r.id = d.request WHERE r.time_ns = 6 AND r.status = 401"
                                       " AND r.reason = 'unauthorized'"),
                     1);
    /* In each request's rows, the acts keep their order (log first, then the block). */
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions a JOIN waf_decisions b"
                                       " ON a.request = b.request AND a.rowid > b.rowid"
                                       " WHERE a.rule = 'log-all'"),
                     0);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM items WHERE accepted = 1"), 2);
    fx_close(f);

    /* Untrusted, X-Edgeloss-Run is an ordinary header of the client's: rule "sim" sees it. */
    f = fx_open(custom_cfg, false);
    const char *h7[] = {"Authorization: Bearer k", "X-Edgeloss-Run: run-1", NULL};
    a = post_h(f->url, "/v1/traces", h7, spans);
    assert_int_equal(a.status, 418);
    wait_rows(f->db, 1);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions WHERE rule = 'sim'"), 1);
    fx_close(f);
    free(spans);
}

/* A GET of base+path: the status (0 when the exchange failed). */
static long get_status(const char *base, const char *path)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    answer a = {0};
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
    curl_easy_cleanup(h);
    return a.status;
}

/*
 * The WAF is in front of the whole origin: it decides requests to any path and with any
 * method before the ingest's routing would answer 404 or 405. Only /stats, the tool's own
 * window, is not the origin's and is never decided.
 */
static void test_the_waf_sees_every_path_and_method(void **state)
{
    (void)state;
    fx *f = fx_open("{\"waf\": {\"custom_rules\": ["
                    " {\"id\": \"no-get\", \"expression\": \"http.request.method eq \\\"GET\\\"\","
                    "  \"action\": \"block\", \"status\": 403},"
                    " {\"id\": \"no-wp\", \"expression\":"
                    "  \"starts_with(http.request.uri.path, \\\"/wp-\\\")\","
                    "  \"action\": \"block\", \"status\": 406}]}}",
                    true);
    char *spans = t_otlp_spans("ev", 1, "r");
    assert_int_equal(get_status(f->url, "/v1/traces"), 403); /* not 405 */
    assert_int_equal(get_status(f->url, "/stats"), 200);     /* never decided */
    const char *hs[] = {"X-Edgeloss-Time-Ns: 1", NULL};
    assert_int_equal(post_h(f->url, "/wp-login.php", hs, spans).status, 406); /* not 404 */
    assert_int_equal(post_h(f->url, "/elsewhere", hs, spans).status, 404);    /* passed */
    assert_int_equal(post_h(f->url, "/v1/traces", hs, spans).status, 200);
    free(spans);
    fx_close(f);
}

/*
 * The config keeps the rules as text and every server compiles its own WAF from it: two
 * servers opened from one config do not share counters (and the config's copy, freed after
 * ing_server_open, is not needed).
 */
static void test_servers_from_one_config_count_apart(void **state)
{
    (void)state;
    fx *f1 = fx_open(seed_cfg, true), *f2 = fx_open(seed_cfg, true);
    for (int i = 0; i < 4; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "a%d", i);
        answer a = post_at(f1, "/v1/traces", (i + 1) * S, NULL, tag);
        assert_int_equal(a.status, i < 3 ? 200 : 429);
    }
    answer a = post_at(f2, "/v1/traces", 5 * S, NULL, "b0");
    assert_int_equal(a.status, 200);
    fx_close(f1);
    fx_close(f2);
}

/* Embedded (ING_RUN_EXTERNAL, the simulator's mode): one thread drives curl and the server. */
static void test_external_mode(void **state)
{
    (void)state;
    fx *f = fx_open_mode(seed_cfg, true, ING_RUN_EXTERNAL);
    char url[256];
    snprintf(url, sizeof url, "%s/v1/traces", f->url);
    CURLM *multi = curl_multi_init();
    char got[5];
    for (int i = 0; i < 4; i++) {
        char tag[16], th[64];
        snprintf(tag, sizeof tag, "e%d", i);
        snprintf(th, sizeof th, "X-Edgeloss-Time-Ns: %lld", (long long)((i + 1) * S));
        struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
        hd = curl_slist_append(hd, th);
        char *body = t_otlp_spans(tag, 2, tag);
        answer sink = {0};
        CURL *h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
        curl_multi_add_handle(multi, h);
        int running = 1;
        for (int spins = 0; running && spins < 10000; spins++) {
            curl_multi_perform(multi, &running);
            if (!running)
                break;
            struct curl_waitfd wfd = {.fd = ing_server_fd(f->srv), .events = CURL_WAIT_POLLIN};
            curl_multi_poll(multi, &wfd, 1, 100, NULL);
            assert_int_equal(ing_server_pump(f->srv, 0), ING_OK);
        }
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        got[i] = status == 200 ? 'P' : status == 429 ? 'B' : '?';
        curl_multi_remove_handle(multi, h);
        curl_easy_cleanup(h);
        curl_slist_free_all(hd);
        free(body);
    }
    got[4] = '\0';
    assert_string_equal(got, "PPPB");
    /* The refusal's row is queued; one more pump records it. */
    for (int i = 0; i < 100 && t_sql_intf(f->db, "SELECT COUNT(*) FROM requests") < 4; i++)
        ing_server_pump(f->srv, 10);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                " ON r.id = d.request WHERE r.time_ns = %lld AND d.value = 4",
                                4 * S),
                     1);
    curl_multi_cleanup(multi);
    fx_close(f);
}

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *p = t_path(dir, name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return p;
}

/*
 * The standalone binary with a config file holding "waf", untrusted (its default): a real
 * client's requests in wall-clock time. The rule: 3 per 60 s per ip.src on /v1/traces in
 * the approximate sliding window, mitigation 60 s. Five requests within a second: whatever
 * window edge falls among them, the 4th sees a rate of 4 - prev * elapsed / 60 > 3 (prev
 * <= 3, elapsed < 1 s) and is blocked, the 3rd at most 3 and passes; the mitigation blocks
 * the 5th. X-Edgeloss-Colo is ignored (untrusted): the key says colo 0.
 */
static void test_binary_applies_the_rules_from_its_config_file(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "ingest.db");
    char *cfg = write_file(
        dir, "ingest.json",
        "{\"waf\": {\"rate_limits\": [{\"id\": \"bin-rl\", \"expression\":"
        " \"http.request.uri.path eq \\\"/v1/traces\\\"\", \"characteristics\": [\"ip.src\"],"
        " \"requests_per_period\": 3, \"period_s\": 60, \"mitigation_timeout_s\": 60,"
        " \"body\": \"slow down\"}]}}\n");
    char flag[600], url[128];
    snprintf(flag, sizeof flag, "--config=%s", cfg);
    pid_t pid = t_spawn_ingest(mock_ingest_bin, db, flag, url, sizeof url);
    assert_true(pid > 0);
    answer got[5];
    char *body = t_otlp_spans("bin", 2, "r");
    for (int i = 0; i < 5; i++) {
        const char *hs[] = {"X-Edgeloss-Colo: 7", NULL};
        got[i] = post_h(url, "/v1/traces", hs, body);
    }
    free(body);
    kill(pid, SIGTERM); /* commits what is pending, exits 0; before any assertion */
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (int i = 0; i < 5; i++)
        if (got[i].status != (i < 3 ? 200 : 429))
            fail_msg("request %d: %ld (%s)", i, got[i].status, got[i].body);
    assert_string_equal(got[3].body, "slow down");
    assert_string_equal(got[3].content_type, "text/plain");
    assert_int_equal(
        t_sql_intf(db, "SELECT COUNT(*) FROM requests WHERE status = 429 AND reason = 'waf'"
                       " AND time_source = 'wall'"),
        2);
    assert_int_equal(t_sql_intf(db,
                                "SELECT COUNT(*) FROM waf_decisions WHERE rule = 'bin-rl'"
                                " AND action = 'rate_block' AND key = 'colo=0|ip.src=127.0.0.1'"),
                     2);
    assert_int_equal(t_sql_intf(db, "SELECT COUNT(*) FROM waf_decisions d JOIN requests r"
                                    " ON r.id = d.request WHERE r.id = (SELECT MIN(request) FROM"
                                    " waf_decisions) AND d.value > 3 AND d.value <= 4"),
                     1);
    assert_int_equal(t_sql_intf(db, "SELECT COUNT(*) FROM items WHERE accepted = 1"), 3 * 2);
    t_rmtree(dir);
    free(cfg);
    free(db);
    free(dir);
}

/* Runs the binary to its exit (killed after 10 s): its exit status, stderr into errfile. */
static int run_to_exit(const char *const argv[], const char *errfile)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        dup2(nul, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -2; /* it started serving: the config was accepted */
}

static void test_malformed_waf_configs_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"waf\": 3}", "bad.json: $.waf: expected an object"},
        {"{\"waf\": {\"rules\": []}}", "bad.json: $.waf: unknown key \"rules\""},
        {"{\"waf\": {\"custom_rules\": [{\"id\": \"a\", \"expression\": \"http.host eq\","
         " \"action\": \"block\"}]}}",
         "bad.json: $.waf.custom_rules[0].expression: position 12: expected a string, got end"
         " of input"},
        {"{\"waf\": {\"rate_limits\": [{\"id\": \"r\", \"expression\": \"ip.src eq \\\"x\\\"\","
         " \"requests_per_period\": 3, \"period_s\": 30}]}}",
         "bad.json: $.waf.rate_limits[0]: \"period_s\": expected 10, 60"},
        {"{\"waf\": {\"custom_rules\": [{\"id\": \"a\", \"expression\":"
         " \"(ip.src eq \\\"1\\\" or cf.colo.id eq \\\"x\\\")\", \"action\": \"log\"}]}}",
         "bad.json: $.waf.custom_rules[0].expression: position "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ing_config *c = NULL;
        char err[512] = "";
        assert_int_equal(ing_config_parse(bad[i].json, "bad.json", &c, err, sizeof err),
                         ING_CONFIG);
        assert_null(c);
        if (!strstr(err, bad[i].msg))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].json, err, bad[i].msg);
    }

    /* The binary refuses it at startup: exit 2 (main.c: a bad --config), the file, the JSON
     * path and the position in the expression ("ip.src eq" ends at byte 9). */
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "ingest.db");
    char *errfile = t_path(dir, "stderr.txt");
    char *cfg = write_file(dir, "bad-waf.json",
                           "{\"waf\": {\"rate_limits\": [{\"id\": \"r\", \"expression\":"
                           " \"ip.src eq\", \"requests_per_period\": 3, \"period_s\": 10}]}}");
    const char *argv[] = {mock_ingest_bin, "--db", db, "--config", cfg, NULL};
    int rc = run_to_exit(argv, errfile);
    char *err = t_read_file(errfile, NULL);
    assert_non_null(err);
    char want[1024];
    snprintf(want, sizeof want,
             "mock-ingest: %s: $.waf.rate_limits[0].expression: position 9: expected a string",
             cfg);
    if (rc != 2 || !strstr(err, want))
        fail_msg("exit %d, stderr \"%s\", expected 2 and \"%s\"", rc, err, want);
    assert_int_equal(access(db, F_OK), -1); /* refused before the database was opened */
    free(err);
    t_rmtree(dir);
    free(cfg);
    free(errfile);
    free(db);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-MOCK-INGEST\n", argv[0]);
        return 2;
    }
    mock_ingest_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_rate_limit_blocks_the_fourth),
        cmocka_unit_test(test_the_worker_counts_without_the_skip_rule),
        cmocka_unit_test(test_the_skip_rule_exempts_the_worker),
        cmocka_unit_test(test_counters_per_colo_and_sim_header_ranges),
        cmocka_unit_test(test_the_last_virtual_times),
        cmocka_unit_test(test_custom_rules_block_before_authentication),
        cmocka_unit_test(test_the_waf_sees_every_path_and_method),
        cmocka_unit_test(test_servers_from_one_config_count_apart),
        cmocka_unit_test(test_external_mode),
        cmocka_unit_test(test_binary_applies_the_rules_from_its_config_file),
        cmocka_unit_test(test_malformed_waf_configs_are_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
