/*
 * mock-ingest end to end: the real server on 127.0.0.1 port 0, real HTTP with
 * libcurl, and what was recorded read back with independent SQL on the file.
 */
#include "ingest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct fx {
    char *dir;
    char *db;
    ing_server *srv;
    char url[128];
} fx;

/* `trust`: honour the simulator's X-Edgeloss-* headers, as the embedded server does. */
static fx *fx_open_with(const char *config_json, bool trust)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_mkdtemp();
    assert_non_null(f->dir);
    f->db = t_path(f->dir, "ingest.db");
    char err[512] = "";
    ing_config *cfg = NULL;
    if (config_json) {
        int rc = ing_config_parse(config_json, "test-config", &cfg, err, sizeof err);
        if (rc)
            fail_msg("config: %s", err);
    }
    ing_options opt = {
        .db_path = f->db, .config = cfg, .mode = ING_RUN_THREAD, .trust_sim_headers = trust};
    int rc = ing_server_open(&opt, &f->srv, err, sizeof err);
    ing_config_free(cfg);
    if (rc)
        fail_msg("open: %s", err);
    snprintf(f->url, sizeof f->url, "%s", ing_server_url(f->srv));
    return f;
}

static fx *fx_open(const char *config_json)
{
    return fx_open_with(config_json, false);
}

static void fx_close(fx *f)
{
    if (f->srv)
        ing_server_close(f->srv);
    t_rmtree(f->dir);
    free(f->db);
    free(f->dir);
    free(f);
}

/* Stops the server (its last group committed), keeping the file for the test to read. */
static void fx_close_keep(fx *f)
{
    ing_server_close(f->srv);
    f->srv = NULL;
}

static t_http post(fx *f, const char *path, const t_req *req, const char *body)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", f->url, path);
    return t_request(url, req, body, body ? strlen(body) : 0);
}

static int64_t q(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t q(fx *f, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return t_sql_int(f->db, sql);
}

/* Every id prefix-0..n-1 recorded exactly `times` times, accepted, of `kind`. */
static void assert_ids(fx *f, const char *prefix, int n, int times, const char *kind)
{
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE item_id LIKE '%s-%%'", prefix),
                     (int64_t)n * times);
    assert_int_equal(
        q(f, "SELECT COUNT(DISTINCT item_id) FROM items WHERE item_id LIKE '%s-%%'", prefix), n);
    assert_int_equal(q(f,
                       "SELECT COUNT(*) FROM (SELECT item_id FROM items WHERE item_id LIKE '%s-%%'"
                       " GROUP BY item_id HAVING COUNT(*) != %d)",
                       prefix, times),
                     0);
    assert_int_equal(q(f,
                       "SELECT COUNT(*) FROM items WHERE item_id LIKE '%s-%%'"
                       " AND (accepted != 1 OR kind != '%s')",
                       prefix, kind),
                     0);
}

static void test_every_signal_recorded_exactly_once(void **state)
{
    (void)state;
    fx *f = fx_open(NULL);
    char *s = t_otlp_spans("sp", 8, "req-1");
    char *m = t_otlp_metrics("mp", 5, "req-2");
    char *l = t_otlp_logs("lg", 3, "req-3");
    t_http r = post(f, "/v1/traces", NULL, s);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{}");
    t_http_free(&r);
    r = post(f, "/v1/metrics", NULL, m);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    r = post(f, "/v1/logs", NULL, l);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    assert_ids(f, "sp", 8, 1, "span");
    assert_ids(f, "mp", 5, 1, "metric");
    assert_ids(f, "lg", 3, 1, "log");
    /* Join keys and decoded fields land in their columns. */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE item_id LIKE 'sp-%%'"
                          " AND request_id = 'req-1' AND service = 'test-svc'"
                          " AND trace_id = '5b8efff798038103d269b633813fc60c'"
                          " AND start_ns = 1700000000000000000 AND end_ns = 1700000000001000000"),
                     8);
    assert_int_equal(q(f, "SELECT json_extract(attrs, '$.n') FROM items WHERE item_id = 'sp-7'"),
                     7);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE attrs LIKE '%%edgeloss%%'"), 0);
    assert_int_equal(q(f, "SELECT CAST(value * 10 AS INTEGER) FROM items WHERE item_id = 'mp-4'"),
                     45);
    char *body = t_sql_str(f->db, "SELECT body FROM items WHERE item_id = 'lg-2'");
    assert_string_equal(body, "line 2");
    free(body);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 200 AND items_received"
                          " = items_accepted AND items_rejected = 0"),
                     3);
    free(s);
    free(m);
    free(l);
    fx_close(f);
}

static void test_duplicates_are_kept(void **state)
{
    (void)state;
    fx *f = fx_open(NULL);
    char *s = t_otlp_spans("dup", 4, "req-1");
    for (int i = 0; i < 2; i++) {
        t_http r = post(f, "/v1/traces", NULL, s);
        assert_int_equal(r.status, 200);
        t_http_free(&r);
    }
    assert_ids(f, "dup", 4, 2, "span");
    free(s);
    fx_close(f);
}

static void test_bad_item_rejected_alone(void **state)
{
    (void)state;
    fx *f = fx_open(NULL);
    const char *body =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"00f067aa0ba902b7\","
        " \"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":\"ok-1\"}}]},"
        "{\"traceId\":\"not-hex\",\"spanId\":\"00f067aa0ba902b7\","
        " \"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":\"bad-1\"}}]},"
        "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"0000000000000000\","
        " \"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":\"bad-2\"}}]}"
        "]}]}]}";
    t_http r = post(f, "/v1/traces", NULL, body);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"rejectedSpans\":\"2\""));
    assert_non_null(strstr(r.body, "errorMessage"));
    t_http_free(&r);
    assert_int_equal(q(f, "SELECT accepted FROM items WHERE item_id = 'ok-1'"), 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE item_id = 'bad-1' AND accepted = 0"
                          " AND reason = 'bad_trace_id'"),
                     1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE item_id = 'bad-2' AND accepted = 0"
                          " AND reason = 'bad_span_id'"),
                     1);
    assert_int_equal(q(f, "SELECT items_accepted * 10 + items_rejected FROM requests"), 12);
    fx_close(f);
}

/*
 * A request refused as a whole leaves its request row and no item rows. A
 * refusal may be answered before its row commits (only a 2xx waits for the
 * commit), so the row is awaited for a bounded time.
 */
static void expect_refused(fx *f, const char *path, const t_req *req, const void *body, size_t len,
                           long status, const char *reason, const char *msg_part)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", f->url, path);
    int64_t items_before = q(f, "SELECT COUNT(*) FROM items");
    int64_t requests_before = q(f, "SELECT COUNT(*) FROM requests");
    t_http r = t_request(url, req, body, len);
    assert_int_equal(r.curl_code, 0);
    assert_int_equal(r.status, status);
    if (msg_part && !strstr(r.body, msg_part))
        fail_msg("answer %s lacks \"%s\"", r.body, msg_part);
    assert_non_null(strstr(r.body, "\"code\":"));
    t_http_free(&r);
    for (int i = 0; i < 300 && q(f, "SELECT COUNT(*) FROM requests") == requests_before; i++)
        usleep(10000);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests"), requests_before + 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items"), items_before);
    assert_int_equal(q(f,
                       "SELECT COUNT(*) FROM requests WHERE id = (SELECT MAX(id) FROM requests)"
                       " AND status = %ld AND reason = '%s'",
                       status, reason),
                     1);
}

static void test_bad_requests_get_the_right_4xx(void **state)
{
    (void)state;
    fx *f = fx_open_with("{\"max_body_bytes\": 65536}", true);
    const char *nojson = "{\"resourceSpans\": [";
    expect_refused(f, "/v1/traces", NULL, nojson, strlen(nojson), 400, "bad_json", "JSON");
    expect_refused(f, "/v1/traces", NULL, "[1,2]", 5, 400, "bad_json", "object");
    expect_refused(f, "/v1/traces", NULL, "\"x\"", 3, 400, "bad_json", "object");
    expect_refused(f, "/v1/traces", NULL, "", 0, 400, "bad_json", "empty");
    expect_refused(f, "/v1/traces", NULL, "{} trailing", 11, 400, "bad_json", "trailing");
    const char *badc = "{\"resourceSpans\": {\"scopeSpans\": []}}";
    expect_refused(f, "/v1/traces", NULL, badc, strlen(badc), 400, "bad_json",
                   "$.resourceSpans: expected an array");
    const char *badspans = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[1]}]}]}";
    expect_refused(f, "/v1/logs", NULL, badspans, strlen(badspans), 400, "bad_json",
                   "logRecords[0]");

    /* Protobuf is decoded: a truncated message is a bad request, answered with a
     * google.rpc.Status in protobuf (code 3, INVALID_ARGUMENT: bytes 08 03). */
    t_req proto = {.content_type = "application/x-protobuf"};
    char url[256];
    snprintf(url, sizeof url, "%s/v1/traces", f->url);
    t_http pr = t_request(url, &proto, "\x0a\x05", 2);
    assert_int_equal(pr.status, 400);
    assert_true(strlen(pr.body) >= 2 && memcmp(pr.body, "\x08\x03", 2) == 0);
    t_http_free(&pr);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE reason = 'bad_protobuf'"), 1);
    t_req text = {.content_type = "text/plain"};
    expect_refused(f, "/v1/traces", &text, "{}", 2, 415, "unsupported_media_type",
                   "application/json or application/x-protobuf");
    t_req none = {.content_type = ""};
    expect_refused(f, "/v1/metrics", &none, "{}", 2, 415, "unsupported_media_type", NULL);
    t_req br = {.encoding = "br"};
    expect_refused(f, "/v1/logs", &br, "{}", 2, 415, "unsupported_encoding", "gzip");
    expect_refused(f, "/v1/nothing", NULL, "{}", 2, 404, "not_found", NULL);
    /* POST / is not the health check (GET, HEAD): a wrong method, with Allow saying so. */
    expect_refused(f, "/", NULL, "{}", 2, 405, "method_not_allowed", "GET and HEAD");
    t_req get = {.method = "GET"};
    expect_refused(f, "/v1/traces", &get, NULL, 0, 405, "method_not_allowed", "POST");
    t_req put = {.method = "PUT"};
    expect_refused(f, "/v1/logs", &put, "{}", 2, 405, "method_not_allowed", NULL);
    t_req del = {.method = "DELETE"};
    expect_refused(f, "/stats", &del, NULL, 0, 405, "method_not_allowed", "GET");

    /* Over the limit: declared length, chunked upload, and after decompression. */
    size_t big_n = 200000;
    char *big = malloc(big_n);
    memset(big, ' ', big_n);
    big[0] = '{';
    big[big_n - 1] = '}';
    expect_refused(f, "/v1/traces", NULL, big, big_n, 413, "too_large", NULL);
    /* Its row says what the client tried to send: the declared length. */
    assert_int_equal(q(f, "SELECT bytes_wire FROM requests WHERE status = 413 ORDER BY id DESC"
                          " LIMIT 1"),
                     (int64_t)big_n);
    t_req chunked = {.chunked = 1};
    expect_refused(f, "/v1/traces", &chunked, big, big_n, 413, "too_large", NULL);
    /* Chunked, the bytes received when it went past the limit. */
    int64_t got = q(f, "SELECT bytes_wire FROM requests WHERE status = 413 ORDER BY id DESC"
                       " LIMIT 1");
    assert_true(got > 0 && got <= (int64_t)big_n);
    size_t gz_n;
    void *gz = t_gzip(big, big_n, &gz_n);
    assert_true(gz_n < 65536);
    t_req gzip = {.encoding = "gzip"};
    expect_refused(f, "/v1/traces", &gzip, gz, gz_n, 413, "too_large", "decompressed");
    expect_refused(f, "/v1/traces", &gzip, "{}", 2, 400, "bad_gzip", "gzip");
    free(gz);
    free(big);
    t_req vt = {.extra_header = "X-Edgeloss-Time-Ns: soon"};
    expect_refused(f, "/v1/traces", &vt, "{}", 2, 400, "bad_header", "X-Edgeloss-Time-Ns");

    /* After all that, the server still accepts good data. */
    char *s = t_otlp_spans("after", 3, "r");
    t_http r = post(f, "/v1/traces", NULL, s);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    assert_ids(f, "after", 3, 1, "span");
    free(s);
    fx_close(f);
}

static void test_gzip_and_chunked_bodies(void **state)
{
    (void)state;
    fx *f = fx_open(NULL);
    char *s = t_otlp_spans("gz", 20, "r1");
    size_t gz_n;
    void *gz = t_gzip(s, strlen(s), &gz_n);
    char url[256];
    snprintf(url, sizeof url, "%s/v1/traces", f->url);
    t_req gzip = {.encoding = "gzip"};
    t_http r = t_request(url, &gzip, gz, gz_n);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    assert_ids(f, "gz", 20, 1, "span");
    assert_int_equal(q(f, "SELECT bytes_wire FROM requests WHERE content_encoding = 'gzip'"),
                     (int64_t)gz_n);
    assert_int_equal(q(f, "SELECT bytes_body FROM requests WHERE content_encoding = 'gzip'"),
                     (int64_t)strlen(s));
    free(gz);
    free(s);

    s = t_otlp_logs("ch", 40, "r2");
    assert_true(strlen(s) > 3000); /* several 1000-byte chunks */
    t_req chunked = {.chunked = 1};
    r = t_request((snprintf(url, sizeof url, "%s/v1/logs", f->url), url), &chunked, s, strlen(s));
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    assert_ids(f, "ch", 40, 1, "log");
    /* gzip and chunked together. */
    gz = t_gzip(s, strlen(s), &gz_n);
    t_req both = {.chunked = 1, .encoding = "gzip"};
    r = t_request(url, &both, gz, gz_n);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    assert_ids(f, "ch", 40, 2, "log");
    free(gz);
    free(s);
    fx_close(f);
}

static void test_virtual_time_and_sim_headers(void **state)
{
    (void)state;
    fx *f = fx_open_with(NULL, true);
    char *s = t_otlp_spans("vt", 2, "r");
    t_req req = {.extra_header = "X-Edgeloss-Time-Ns: 123456789",
                 .extra_header2 = "X-Edgeloss-Run: run-42"};
    t_http r = post(f, "/v1/traces", &req, s);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    assert_int_equal(q(f, "SELECT time_ns FROM requests"), 123456789);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE time_source = 'virtual'"
                          " AND run = 'run-42' AND attempt IS NULL"),
                     1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE time_ns = 123456789"), 2);
    assert_true(q(f, "SELECT wall_ns FROM requests") > 1600000000LL * 1000000000LL);
    t_req att = {.extra_header = "X-Edgeloss-Attempt: 3"};
    r = post(f, "/v1/traces", &att, s);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    assert_int_equal(q(f, "SELECT attempt FROM requests WHERE id = 2"), 3);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE id = 2 AND time_source = 'wall'"
                          " AND time_ns = wall_ns"),
                     1);
    free(s);
    fx_close(f);
}

static void test_api_keys(void **state)
{
    (void)state;
    fx *f = fx_open("{\"keys\": [\"alpha\", {\"key\": \"beta\"}]}");
    char *s = t_otlp_spans("k", 2, "r");
    expect_refused(f, "/v1/traces", NULL, s, strlen(s), 401, "unauthorized", "missing");
    t_req wrong = {.auth_key = "gamma"};
    expect_refused(f, "/v1/traces", &wrong, s, strlen(s), 401, "unauthorized", "unknown");
    /* The refused key is on its row: which key a misconfigured exporter sends. */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 401 AND api_key = 'gamma'"),
                     1);
    t_req ok = {.auth_key = "beta"};
    t_http r = post(f, "/v1/traces", &ok, s);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    assert_ids(f, "k", 2, 1, "span");
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 200 AND api_key = 'beta'"),
                     1);
    free(s);
    fx_close(f);
}

static t_http post_at(fx *f, const char *key, int64_t t_ns, const char *body)
{
    char hdr[96];
    snprintf(hdr, sizeof hdr, "X-Edgeloss-Time-Ns: %lld", (long long)t_ns);
    t_req req = {.auth_key = key, .extra_header = hdr};
    return post(f, "/v1/traces", &req, body);
}

static void test_cap_rejects_whole_request_in_virtual_windows(void **state)
{
    (void)state;
    /* 10 items per 60 s window for w1; w2 has its own, larger cap. */
    const char *cfg = "{\"keys\": [\"w1\", {\"key\": \"w2\", \"cap\": {\"items\": 100, "
                      "\"window_s\": 60}}], \"cap\": {\"items\": 10, \"window_s\": 60}}";
    fx *f = fx_open_with(cfg, true);
    const int64_t s = 1000000000LL;
    char *six = t_otlp_spans("c6", 6, "r"), *four = t_otlp_spans("c4", 4, "r"),
         *one = t_otlp_spans("c1", 1, "r"), *six2 = t_otlp_spans("d6", 6, "r");
    t_http r = post_at(f, "w1", 5 * s, six);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    r = post_at(f, "w1", 10 * s, six2); /* 6 + 6 > 10: the whole request is refused */
    assert_int_equal(r.status, 403);
    assert_non_null(r.retry_after);
    assert_string_equal(r.retry_after, "50");
    t_http_free(&r);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE item_id LIKE 'd6-%%' AND accepted = 0"
                          " AND reason = 'cap'"),
                     6);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 403 AND reason = 'cap'"
                          " AND items_received = 6 AND items_accepted = 0"),
                     1);
    r = post_at(f, "w1", 59 * s, four); /* exactly at the cap */
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    r = post_at(f, "w1", 60 * s - 1, one);
    assert_int_equal(r.status, 403);
    t_http_free(&r);
    r = post_at(f, "w2", 30 * s, six2); /* another key has its own budget */
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    r = post_at(f, "w1", 60 * s, one); /* the next window starts empty */
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE accepted = 1"), 6 + 4 + 6 + 1);

    /* Restarted on the same file, the server remembers what the window used. */
    ing_server_close(f->srv);
    ing_config *c = NULL;
    char err[256];
    assert_int_equal(ing_config_parse(cfg, "cfg", &c, err, sizeof err), 0);
    ing_options opt = {
        .db_path = f->db, .config = c, .mode = ING_RUN_THREAD, .trust_sim_headers = true};
    assert_int_equal(ing_server_open(&opt, &f->srv, err, sizeof err), 0);
    ing_config_free(c);
    snprintf(f->url, sizeof f->url, "%s", ing_server_url(f->srv));
    r = post_at(f, "w1", 61 * s, six2); /* 1 + 6 <= 10 */
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    r = post_at(f, "w1", 62 * s, six); /* 7 + 6 > 10 */
    assert_int_equal(r.status, 403);
    t_http_free(&r);
    free(six);
    free(four);
    free(one);
    free(six2);
    fx_close(f);
}

typedef struct poster {
    fx *f;
    int id;
    int posts;
    int ok;
    const char *tag; /* item id prefix (NULL: "t") */
} poster;

static void *poster_main(void *arg)
{
    poster *p = arg;
    char url[256];
    snprintf(url, sizeof url, "%s/v1/traces", p->f->url);
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    for (int i = 0; i < p->posts; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%s%d_%d", p->tag ? p->tag : "t", p->id, i);
        char *body = t_otlp_spans(prefix, 8, prefix);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        FILE *devnull = fopen("/dev/null", "w");
        curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
        long status = 0;
        if (curl_easy_perform(h) == CURLE_OK &&
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
            p->ok++;
        fclose(devnull);
        free(body);
    }
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return NULL;
}

static void test_eight_threads_concurrently(void **state)
{
    (void)state;
    fx *f = fx_open(NULL);
    enum { THREADS = 8, POSTS = 60 };
    pthread_t th[THREADS];
    poster ps[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ps[i] = (poster){f, i, POSTS, 0, NULL};
        pthread_create(&th[i], NULL, poster_main, &ps[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ps[i].ok, POSTS);
    }
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 200"), THREADS * POSTS);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE accepted = 1"), THREADS * POSTS * 8);
    assert_int_equal(q(f, "SELECT COUNT(DISTINCT item_id) FROM items"), THREADS * POSTS * 8);
    /* Each request's 8 items are attached to the one request row that carried them. */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM (SELECT request, COUNT(DISTINCT request_id) AS k,"
                          " COUNT(*) AS n FROM items GROUP BY request) WHERE k != 1 OR n != 8"),
                     0);
    fx_close(f);
}

/* Runs `sql` on the server's database through a connection of its own (the server's is open). */
static void plant(fx *f, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/*
 * The database refuses some requests (a trigger stands in for any failure while
 * recording): each of those gets a 5xx and leaves only the row of its refusal, while the
 * requests committed in the same groups are recorded once each, never twice.
 */
static void test_a_refused_request_spares_its_group(void **state)
{
    (void)state;
    fx *f = fx_open(NULL);
    plant(f, "CREATE TRIGGER refuse BEFORE INSERT ON items WHEN NEW.item_id LIKE 'bad%' BEGIN"
             " SELECT RAISE(ABORT, 'refused by the test'); END;");
    enum { THREADS = 8, POSTS = 40 };
    pthread_t th[THREADS];
    poster ps[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ps[i] = (poster){f, i, POSTS, 0, i % 3 == 1 ? "bad" : "t"};
        pthread_create(&th[i], NULL, poster_main, &ps[i]);
    }
    int good = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ps[i].ok, i % 3 == 1 ? 0 : POSTS);
        good += i % 3 == 1 ? 0 : 1;
    }
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE item_id LIKE 'bad%%'"), 0);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items"), good * POSTS * 8);
    /* Each refused attempt has its row, written once the database took rows again (the next
     * group, or at close): its 503 as answered and its 8 items, none of them recorded. */
    fx_close_keep(f);
    int bad = THREADS - good;
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 503 AND reason ="
                          " 'store_failed' AND items_received = 8 AND items_accepted = 0 AND"
                          " items_rejected = 8 AND message LIKE '%%refused by the test%%'"),
                     bad * POSTS);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests"), THREADS * POSTS);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items i JOIN requests r ON r.id = i.request"
                          " WHERE r.status = 503"),
                     0);
    assert_int_equal(q(f, "SELECT COUNT(DISTINCT item_id) FROM items"), good * POSTS * 8);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 200"), good * POSTS);
    fx_close(f);
}

/* One POST of 4 spans with X-Edgeloss-Fault: `fault` (NULL: none). */
static t_http post_fault(fx *f, const char *prefix, const char *fault)
{
    char hdr[160];
    snprintf(hdr, sizeof hdr, "X-Edgeloss-Fault: %s", fault ? fault : "");
    t_req rq = {.extra_header = fault ? hdr : NULL};
    char *body = t_otlp_spans(prefix, 4, prefix);
    t_http r = post(f, "/v1/traces", &rq, body);
    free(body);
    return r;
}

/*
 * The ingest faults (X-Edgeloss-Fault, trusted only) do what they say against the real
 * server: the status and Retry-After, with the items kept as evidence and none accepted;
 * a 413 past the fault's size; committed-then-dropped (the client sees the connection close,
 * the rows are there, acked 0, and the retry makes a duplicate). A request without the
 * header is untouched, and an untrusted server ignores it.
 */
static void test_ingest_faults(void **state)
{
    (void)state;
    fx *f = fx_open_with(NULL, true);
    t_http r = post_fault(f, "st", "status=429, retry_after=2");
    assert_int_equal(r.status, 429);
    assert_non_null(r.retry_after);
    assert_string_equal(r.retry_after, "2");
    t_http_free(&r);
    r = post_fault(f, "s5", "status=503,retry_after=7");
    assert_int_equal(r.status, 503);
    assert_string_equal(r.retry_after, "7");
    t_http_free(&r);
    r = post_fault(f, "s0", "status=500");
    assert_int_equal(r.status, 500);
    assert_null(r.retry_after);
    t_http_free(&r);
    r = post_fault(f, "tl", "too_large=100");
    assert_int_equal(r.status, 413);
    t_http_free(&r);
    r = post_fault(f, "ok", "too_large=1000000"); /* under the fault's size: untouched */
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    r = post_fault(f, "dr", "drop_answer");
    assert_int_equal(r.status, 0); /* no answer: the connection closed */
    assert_int_not_equal(r.curl_code, 0);
    t_http_free(&r);
    r = post_fault(f, "dr", NULL); /* the exporter's retry of the same payload */
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    fx_close_keep(f);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE reason = 'fault'"), 4);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items i JOIN requests q ON q.id = i.request"
                          " WHERE q.status IN (429, 503, 500) AND i.accepted = 0 AND"
                          " i.reason = 'fault'"),
                     12);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 413 AND reason ="
                          " 'fault' AND items_received = 0 AND message LIKE '%%limit of 100'"),
                     1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE item_id LIKE 'ok-%%' AND accepted"), 4);
    /* Committed-then-dropped: recorded, acked 0; the retry's copy makes each a duplicate. */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 200 AND acked = 0 AND"
                          " ended = 'fault_dropped' AND items_accepted = 4"),
                     1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM (SELECT item_id FROM items WHERE item_id LIKE"
                          " 'dr-%%' AND accepted GROUP BY item_id HAVING COUNT(*) = 2)"),
                     4);
    fx_close(f);

    /* Untrusted: the header is not even read. */
    f = fx_open(NULL);
    r = post_fault(f, "un", "status=503");
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    fx_close(f);
}

/* A fault the server cannot do as written is refused (400 bad_header), naming the header;
 * the last three were accepted before review (a long value cut short, an empty one). */
static void test_bad_fault_headers(void **state)
{
    (void)state;
    fx *f = fx_open_with(NULL, true);
    static const char *const bad[] = {
        "status=404",
        "status=200",
        "retry_after=2",
        "status=500, retry_after=1",
        "status=429, retry_after=0",
        "status=429, retry_after=86401",
        "drop_answer=1",
        "too_large=x",
        "too_large=",
        "status=429, too_large=5",
        "status=429 junk",
        "slow",
        "status=429,,",
        "status=00000000000000000000503garbage",
        "too_large=000000000000000000000001junk",
        "drop_answer=",
        "status=429, status=503",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t_http r = post_fault(f, "bad", bad[i]);
        if (r.status != 400 || !strstr(r.body, "X-Edgeloss-Fault"))
            fail_msg("\"%s\": %ld %s", bad[i], r.status, r.body);
        t_http_free(&r);
    }
    fx_close(f);
}

/* SQLite stores a NaN REAL as NULL: a NaN value is stored as the text 'NaN' instead. */
static void test_nan_is_stored_as_nan(void **state)
{
    (void)state;
    fx *f = fx_open(NULL);
    const char *body =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"g\",\"gauge\":{"
        "\"dataPoints\":[{\"asDouble\":\"NaN\",\"attributes\":[{\"key\":\"edgeloss.item_id\","
        "\"value\":{\"stringValue\":\"nan\"}}]},{\"asDouble\":\"-Infinity\",\"attributes\":["
        "{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":\"inf\"}}]},"
        "{\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":"
        "\"none\"}}]}]}}]}]}]}";
    t_http r = post(f, "/v1/metrics", NULL, body);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    fx_close_keep(f);
    char *got = t_sql_str(f->db, "SELECT group_concat(item_id || ':' || typeof(value) || ':' ||"
                                 " quote(value), ',') FROM items");
    assert_string_equal(got, "nan:text:'NaN',inf:real:-Inf,none:null:NULL");
    free(got);
    fx_close(f);
}

/*
 * While the database refuses every row (a trigger on requests, switched by the test), each
 * attempt gets 503 store_failed and its row waits in the writer (/stats counts it pending);
 * once the database takes rows again they are written, in arrival order, with their own
 * times, before the row of the request that found it working.
 */
static void test_refused_attempts_are_recorded_later(void **state)
{
    (void)state;
    fx *f = fx_open(NULL);
    plant(f, "CREATE TABLE ctl (refuse INTEGER); INSERT INTO ctl VALUES (1);"
             "CREATE TRIGGER refuse_all BEFORE INSERT ON requests WHEN (SELECT refuse FROM ctl)"
             " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;");
    for (int i = 0; i < 3; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "r%d", i);
        char *body = t_otlp_spans(prefix, 4, prefix);
        t_http r = post(f, "/v1/traces", NULL, body);
        assert_int_equal(r.status, 503);
        t_http_free(&r);
        free(body);
    }
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests"), 0);
    t_req get = {.method = "GET"};
    t_http st = post(f, "/stats", &get, NULL);
    assert_non_null(strstr(st.body, "\"refusals\":{\"pending\":3,\"dropped\":0}"));
    t_http_free(&st);
    plant(f, "UPDATE ctl SET refuse = 0");
    char *body = t_otlp_spans("ok", 4, "ok");
    t_http r = post(f, "/v1/traces", NULL, body);
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    free(body);
    st = post(f, "/stats", &get, NULL);
    assert_non_null(strstr(st.body, "\"refusals\":{\"pending\":0,\"dropped\":0}"));
    t_http_free(&st);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 503 AND reason ="
                          " 'store_failed' AND items_received = 4 AND items_rejected = 4 AND"
                          " message LIKE '%%disk on fire%%'"),
                     3);
    /* The 200 committed first; the refusals follow it, in the order they came. */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests r1 JOIN requests r2 ON r2.id > r1.id"
                          " WHERE r1.status = 503 AND r2.status = 503 AND r2.time_ns < r1.time_ns"),
                     0);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE accepted"), 4);
    fx_close(f);
}

/*
 * A database written before requests.client existed (schema version 1) is
 * upgraded in place: its rows stay, and still count against the caps.
 */
static void test_version_1_database_is_upgraded(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "ingest.db");
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "CREATE TABLE requests (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,"
                     " wall_ns INTEGER NOT NULL, time_source TEXT NOT NULL, method TEXT NOT NULL,"
                     " path TEXT NOT NULL, status INTEGER NOT NULL, reason TEXT, message TEXT,"
                     " content_type TEXT, content_encoding TEXT, bytes_wire INTEGER NOT NULL,"
                     " bytes_body INTEGER NOT NULL, api_key TEXT, items_received INTEGER NOT NULL,"
                     " items_accepted INTEGER NOT NULL, items_rejected INTEGER NOT NULL, run TEXT,"
                     " attempt INTEGER);"
                     "INSERT INTO requests VALUES (1, 5000000000, 0, 'virtual', 'POST',"
                     " '/v1/traces', 200, NULL, NULL, 'application/json', NULL, 10, 10, 'k',"
                     " 4, 4, 0, 'old-run', 0);"
                     "PRAGMA user_version = 1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
    ing_config *cfg = NULL;
    char err[256];
    assert_int_equal(ing_config_parse("{\"keys\": [\"k\"], \"cap\": {\"items\": 5,"
                                      " \"window_s\": 60}}",
                                      "cfg", &cfg, err, sizeof err),
                     0);
    ing_options opt = {
        .db_path = db, .config = cfg, .mode = ING_RUN_THREAD, .trust_sim_headers = true};
    ing_server *srv;
    if (ing_server_open(&opt, &srv, err, sizeof err))
        fail_msg("open: %s", err);
    ing_config_free(cfg);
    char url[256];
    snprintf(url, sizeof url, "%s/v1/traces", ing_server_url(srv));
    char *two = t_otlp_spans("up", 2, "r");
    t_req req = {.auth_key = "k", .extra_header = "X-Edgeloss-Time-Ns: 6000000000"};
    t_http r = t_request(url, &req, two, strlen(two));
    assert_int_equal(r.status, 403); /* 4 from the old row + 2 > 5 */
    t_http_free(&r);
    char *one = t_otlp_spans("up1", 1, "r");
    r = t_request(url, &req, one, strlen(one));
    assert_int_equal(r.status, 200);
    t_http_free(&r);
    ing_server_close(srv);
    assert_int_equal(t_sql_int(db, "PRAGMA user_version"), 5);
    assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM requests WHERE id = 1 AND run = 'old-run'"
                                   " AND client IS NULL AND acked IS NULL"),
                     1);
    assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM requests WHERE client = '127.0.0.1'"), 2);
    free(two);
    free(one);
    t_rmtree(dir);
    free(db);
    free(dir);
}

static void test_stats_match_the_database(void **state)
{
    (void)state;
    fx *f = fx_open("{\"cap\": {\"items\": 5, \"window_s\": 1000}}");
    char *s = t_otlp_spans("st", 3, "r"), *m = t_otlp_metrics("sm", 2, "r");
    t_http r = post(f, "/v1/traces", NULL, s);
    t_http_free(&r);
    r = post(f, "/v1/metrics", NULL, m);
    t_http_free(&r);
    r = post(f, "/v1/traces", NULL, s); /* over the cap: 403 */
    assert_int_equal(r.status, 403);
    t_http_free(&r);
    r = post(f, "/v1/traces", NULL, "nope");
    t_http_free(&r);
    t_req get = {.method = "GET"};
    r = post(f, "/stats", &get, NULL);
    assert_int_equal(r.status, 200);
    const char *want[] = {"\"total\":4", "\"200\":2",    "\"403\":1", "\"400\":1",
                          "\"span\":3",  "\"metric\":2", "\"cap\":3"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(r.body, want[i]))
            fail_msg("/stats %s lacks %s", r.body, want[i]);
    t_http_free(&r);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests"), 4);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items WHERE reason = 'cap'"), 3);
    free(s);
    free(m);
    fx_close(f);
}

static int connect_raw(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether the peer closed `fd` within `ms` milliseconds. */
static int closed_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return 0;
    char c;
    return recv(fd, &c, 1, 0) <= 0;
}

static void test_idle_and_slow_connections_time_out(void **state)
{
    (void)state;
    fx *f = fx_open("{\"connection_timeout_s\": 1}");
    int idle = connect_raw(ing_server_port(f->srv));
    int slow = connect_raw(ing_server_port(f->srv));
    assert_true(idle >= 0 && slow >= 0);
    const char *partial = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: applicat";
    assert_true(send(slow, partial, strlen(partial), 0) > 0);
    assert_true(closed_within(idle, 4000));
    assert_true(closed_within(slow, 4000));
    close(idle);
    close(slow);
    fx_close(f);
}

/*
 * At the limit a new connection is not left in the listen backlog: it is answered 503 with
 * Retry-After and closed, and served again once a slot is free.
 */
static void test_connection_limit_holds(void **state)
{
    (void)state;
    fx *f = fx_open("{\"connection_limit\": 4, \"idle_timeout_s\": 30}");
    assert_int_equal(ing_server_connection_limit(f->srv), 4);
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = connect_raw(ing_server_port(f->srv));
        assert_true(fds[i] >= 0);
    }
    for (int i = 0; i < 4; i++)
        assert_false(closed_within(fds[i], 50));
    const char *req = "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[512];
    /* A fifth connection, while four are open, is told so at once... */
    int extra = connect_raw(ing_server_port(f->srv));
    assert_true(extra >= 0);
    assert_true(send(extra, req, strlen(req), 0) > 0);
    struct pollfd p = {.fd = extra, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t n = recv(extra, buf, sizeof buf - 1, 0);
    assert_true(n > 12);
    buf[n] = '\0';
    assert_int_equal(strncmp(buf, "HTTP/1.1 503", 12), 0);
    assert_non_null(strstr(buf, "Retry-After: 1"));
    assert_true(closed_within(extra, 5000));
    close(extra);
    /* ...and served once one of them goes away. */
    close(fds[0]);
    for (int tries = 0; tries < 50; tries++) {
        extra = connect_raw(ing_server_port(f->srv));
        assert_true(extra >= 0);
        assert_true(send(extra, req, strlen(req), 0) > 0);
        p.fd = extra;
        assert_int_equal(poll(&p, 1, 5000), 1);
        n = recv(extra, buf, sizeof buf - 1, 0);
        close(extra);
        assert_true(n > 12);
        if (strncmp(buf, "HTTP/1.1 200", 12) == 0)
            break;
        /* The server may not have seen the close yet: its slot is still taken. */
        assert_int_equal(strncmp(buf, "HTTP/1.1 503", 12), 0);
        usleep(20000);
    }
    assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
    for (int i = 1; i < 4; i++)
        close(fds[i]);
    fx_close(f);
}

/* The embedded mode: one thread drives both libcurl and the server. */
static void test_external_mode_in_one_thread(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "ingest.db");
    char err[256];
    ing_options opt = {.db_path = db, .mode = ING_RUN_EXTERNAL};
    ing_server *srv;
    assert_int_equal(ing_server_open(&opt, &srv, err, sizeof err), 0);
    char url[256];
    snprintf(url, sizeof url, "%s/v1/logs", ing_server_url(srv));
    CURLM *multi = curl_multi_init();
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    FILE *devnull = fopen("/dev/null", "w");
    for (int i = 0; i < 5; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "ext%d", i);
        char *body = t_otlp_logs(prefix, 3, prefix);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
        curl_multi_add_handle(multi, h);
        int running = 1;
        for (int spins = 0; running && spins < 10000; spins++) {
            curl_multi_perform(multi, &running);
            if (!running)
                break;
            struct curl_waitfd wfd = {.fd = ing_server_fd(srv), .events = CURL_WAIT_POLLIN};
            curl_multi_poll(multi, &wfd, 1, 100, NULL);
            assert_int_equal(ing_server_pump(srv, 0), ING_OK);
        }
        assert_int_equal(running, 0);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        assert_int_equal(status, 200);
        curl_multi_remove_handle(multi, h);
        free(body);
        /* Answered, so already committed: visible to another connection. */
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM items WHERE request_id = '%s'", prefix);
        assert_int_equal(t_sql_int(db, sql), 3);
    }
    fclose(devnull);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    curl_multi_cleanup(multi);
    ing_server_close(srv);
    t_rmtree(dir);
    free(db);
    free(dir);
}

/* Deterministic junk and mutations: the server answers everything and stays up. */
static void test_never_crashes_on_mutated_bodies(void **state)
{
    (void)state;
    fx *f = fx_open(NULL);
    char *good = t_otlp_spans("mut", 4, "r");
    size_t n = strlen(good);
    char *buf = malloc(n + 1);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int ok = 0, bad = 0;
    for (int i = 0; i < 200; i++) {
        memcpy(buf, good, n + 1);
        for (int k = 0; k < 1 + i % 5; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t pos = (size_t)(x % n);
            buf[pos] = "{}[],:\"0x\\ -9eE"[(x >> 32) % 15];
        }
        size_t len = i % 7 == 0 ? (size_t)(x % n) : n; /* sometimes truncated */
        char url[256];
        snprintf(url, sizeof url, "%s/v1/traces", f->url);
        t_http r = t_request(url, NULL, buf, len);
        assert_int_equal(r.curl_code, 0);
        assert_true(r.status == 200 || r.status == 400);
        ok += r.status == 200;
        bad += r.status == 400;
        t_http_free(&r);
    }
    /* The mutations reach both outcomes (else this tests one path only), and
     * every answer has its row with the status that was answered. A refusal's
     * row may commit just after its answer: wait for all 200 rows. */
    assert_true(ok > 0 && bad > 0);
    for (int i = 0; i < 300 && q(f, "SELECT COUNT(*) FROM requests") < 200; i++)
        usleep(10000);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests"), 200);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 200"), ok);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM requests WHERE status = 400"), bad);
    /* Every row that claims acceptance belongs to a 200. */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM items JOIN requests r ON r.id = items.request"
                          " WHERE items.accepted = 1 AND r.status != 200"),
                     0);
    free(buf);
    free(good);
    fx_close(f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_signal_recorded_exactly_once),
        cmocka_unit_test(test_duplicates_are_kept),
        cmocka_unit_test(test_bad_item_rejected_alone),
        cmocka_unit_test(test_bad_requests_get_the_right_4xx),
        cmocka_unit_test(test_gzip_and_chunked_bodies),
        cmocka_unit_test(test_virtual_time_and_sim_headers),
        cmocka_unit_test(test_api_keys),
        cmocka_unit_test(test_cap_rejects_whole_request_in_virtual_windows),
        cmocka_unit_test(test_eight_threads_concurrently),
        cmocka_unit_test(test_a_refused_request_spares_its_group),
        cmocka_unit_test(test_refused_attempts_are_recorded_later),
        cmocka_unit_test(test_nan_is_stored_as_nan),
        cmocka_unit_test(test_ingest_faults),
        cmocka_unit_test(test_bad_fault_headers),
        cmocka_unit_test(test_stats_match_the_database),
        cmocka_unit_test(test_version_1_database_is_upgraded),
        cmocka_unit_test(test_idle_and_slow_connections_time_out),
        cmocka_unit_test(test_connection_limit_holds),
        cmocka_unit_test(test_external_mode_in_one_thread),
        cmocka_unit_test(test_never_crashes_on_mutated_bodies),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
