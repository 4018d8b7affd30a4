/*
 * The third seed's pipeline hops in mock-ingest, end to end: the object store (PUT and GET
 * /r2/KEY), the origin's notification endpoints (the config's "notify"), and the trusted
 * X-Edgeloss-Route header that sends a request past the WAF. The real server on 127.0.0.1
 * port 0, real HTTP with libcurl (threaded, and embedded as sim/transport.c drives it), and
 * what was recorded read back with independent SQL on the file (requests, objects,
 * notifications, waf_decisions). Every expected value is derived by hand in the comments.
 */
#include "ingest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define S 1000000000LL

typedef struct fx {
    char *dir;
    char *db;
    ing_server *srv;
    bool external; /* ING_RUN_EXTERNAL: every exchange pumps the server, as transport.c does */
    char url[128];
} fx;

static fx *fx_open_db(const char *db, const char *config_json, bool trust, ing_run_mode mode)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_mkdtemp();
    assert_non_null(f->dir);
    f->db = db ? strdup(db) : t_path(f->dir, "ingest.db");
    char err[512] = "";
    ing_config *cfg = NULL;
    if (config_json && ing_config_parse(config_json, "test-config", &cfg, err, sizeof err))
        fail_msg("config: %s", err);
    ing_options opt = {.db_path = f->db, .config = cfg, .mode = mode, .trust_sim_headers = trust};
    int rc = ing_server_open(&opt, &f->srv, err, sizeof err);
    ing_config_free(cfg); /* the server keeps its own copy */
    if (rc)
        fail_msg("open: %s", err);
    f->external = mode == ING_RUN_EXTERNAL;
    snprintf(f->url, sizeof f->url, "%s", ing_server_url(f->srv));
    return f;
}

static fx *fx_open(const char *config_json, bool trust)
{
    return fx_open_db(NULL, config_json, trust, ING_RUN_THREAD);
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
    char *body; /* malloc'd, NUL-terminated; len bytes */
    size_t len;
    char content_type[128];
    char content_encoding[64];
    char allow[64];
    char reason[64]; /* X-Edgeloss-Reason */
} answer;

static void answer_free(answer *a)
{
    free(a->body);
    a->body = NULL;
}

static size_t keep_body(char *p, size_t size, size_t n, void *ud)
{
    answer *a = ud;
    size_t add = size * n;
    char *b = realloc(a->body, a->len + add + 1);
    assert_non_null(b);
    memcpy(b + a->len, p, add);
    a->len += add;
    b[a->len] = '\0';
    a->body = b;
    return add;
}

/* A response header's value into dst when the line is `name: value`. */
static void take_header(const char *line, size_t len, const char *name, char *dst, size_t dstlen)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    const char *v = line + n + 1;
    size_t vl = len - n - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    snprintf(dst, dstlen, "%.*s", (int)vl, v);
}

static size_t keep_header(char *p, size_t size, size_t n, void *ud)
{
    answer *a = ud;
    take_header(p, size * n, "Content-Type", a->content_type, sizeof a->content_type);
    take_header(p, size * n, "Content-Encoding", a->content_encoding, sizeof a->content_encoding);
    take_header(p, size * n, "Allow", a->allow, sizeof a->allow);
    take_header(p, size * n, "X-Edgeloss-Reason", a->reason, sizeof a->reason);
    return size * n;
}

/* Embedded: libcurl and the server take turns on this thread, as sim/transport.c does. */
static CURLcode perform_external(fx *f, CURL *h)
{
    CURLM *m = curl_multi_init();
    curl_multi_add_handle(m, h);
    int running = 1;
    for (int spins = 0; running && spins < 100000; spins++) {
        curl_multi_perform(m, &running);
        if (!running)
            break;
        assert_int_equal(ing_server_pump(f->srv, 0), ING_OK);
        curl_multi_perform(m, &running);
        if (!running)
            break;
        struct curl_waitfd w = {.fd = ing_server_fd(f->srv), .events = CURL_WAIT_POLLIN};
        curl_multi_poll(m, &w, 1, 1, NULL);
    }
    CURLcode code = running ? CURLE_OPERATION_TIMEDOUT : CURLE_OK;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)))
        if (msg->msg == CURLMSG_DONE)
            code = msg->data.result;
    curl_multi_remove_handle(m, h);
    curl_multi_cleanup(m);
    return code;
}

typedef struct readsrc {
    const char *p;
    size_t left;
} readsrc;

static size_t read_some(char *buf, size_t size, size_t n, void *ud)
{
    readsrc *r = ud;
    size_t take = size * n < r->left ? size * n : r->left;
    take = take > 100 ? 100 : take; /* several chunks */
    memcpy(buf, r->p, take);
    r->p += take;
    r->left -= take;
    return take;
}

typedef struct xfer_opts {
    bool chunked; /* send the body with Transfer-Encoding: chunked */
} xfer_opts;

/*
 * One exchange: `method` (GET sends no body) of `body` (len bytes) with the headers given
 * (NULL-terminated). No Content-Type is sent unless one is among them. The status is 0 when
 * the exchange failed.
 */
static answer xfer_o(fx *f, const char *method, const char *path, const char *const *headers,
                     const void *body, size_t len, const xfer_opts *o)
{
    answer a = {0};
    char url[4096];
    snprintf(url, sizeof url, "%s%s", f->url, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    bool has_ct = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        hd = curl_slist_append(hd, headers[i]);
        has_ct |= strncasecmp(headers[i], "Content-Type:", 13) == 0;
    }
    if (!has_ct)
        hd = curl_slist_append(hd, "Content-Type:"); /* none, not libcurl's form type */
    hd = curl_slist_append(hd, "Expect:");
    readsrc src = {body, len};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* send "/../" as written, not resolved */
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (o && o->chunked) {
        hd = curl_slist_append(hd, "Transfer-Encoding: chunked");
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_some);
        curl_easy_setopt(h, CURLOPT_READDATA, &src);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, keep_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    CURLcode code = f->external ? perform_external(f, h) : curl_easy_perform(h);
    if (code == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    if (!a.body)
        a.body = calloc(1, 1);
    return a;
}

static answer xfer(fx *f, const char *method, const char *path, const char *const *headers,
                   const void *body, size_t len)
{
    return xfer_o(f, method, path, headers, body, len, NULL);
}

/* The status of an exchange whose answer is not needed further. */
static long status_of(fx *f, const char *method, const char *path, const char *const *headers,
                      const char *body)
{
    answer a = xfer(f, method, path, headers, body, body ? strlen(body) : 0);
    long st = a.status;
    answer_free(&a);
    return st;
}

/* The status of an exchange whose body must hold `want`. */
static void expect(fx *f, const char *method, const char *path, const char *const *headers,
                   const char *body, long status, const char *want)
{
    answer a = xfer(f, method, path, headers, body, body ? strlen(body) : 0);
    if (a.status != status || (want && !strstr(a.body, want)))
        fail_msg("%s %.60s: %ld \"%s\", expected %ld with \"%s\"", method, path, a.status, a.body,
                 status, want ? want : "");
    answer_free(&a);
}

static char *stats_of(fx *f)
{
    answer a = xfer(f, "GET", "/stats", NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    return a.body;
}

static void expect_stats(fx *f, const char *want)
{
    char *s = stats_of(f);
    if (!strstr(s, want))
        fail_msg("/stats %s lacks %s", s, want);
    free(s);
}

/*
 * PUT then GET: the same bytes and type back. Four objects, all at virtual times:
 *   traces/2026/t-1.bin  256 bytes 255, 254, ..., 0 (a NUL last), application/x-protobuf
 *   plain                "hello", no Content-Type: GET says application/octet-stream
 *   gz.json              a gzip stream, Content-Encoding gzip: given back compressed, with it
 *   empty                0 bytes
 * Each PUT answers {"key": K, "size": N}; its objects row holds the bytes, the types as sent,
 * the PUT's own requests row, its time and run. No WAF: every route is NULL.
 */
static void test_put_then_get_gives_back_the_bytes_and_type(void **state)
{
    (void)state;
    fx *f = fx_open(NULL, true);
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)(255 - i);
    const char *h_put[] = {"Content-Type: application/x-protobuf", "X-Edgeloss-Time-Ns: 5000000000",
                           "X-Edgeloss-Run: run-1", NULL};
    answer a = xfer(f, "PUT", "/r2/traces/2026/t-1.bin", h_put, bin, sizeof bin);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"key\":\"traces/2026/t-1.bin\",\"size\":256}");
    assert_string_equal(a.content_type, "application/json");
    answer_free(&a);
    a = xfer(f, "GET", "/r2/traces/2026/t-1.bin", NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.len, 256);
    assert_memory_equal(a.body, bin, 256);
    assert_string_equal(a.content_type, "application/x-protobuf");
    assert_string_equal(a.content_encoding, "");
    answer_free(&a);
    assert_int_equal(
        t_sql_intf(f->db,
                   "SELECT COUNT(*) FROM objects o JOIN requests r ON r.id = o.request"
                   " WHERE o.key = 'traces/2026/t-1.bin' AND o.size = 256"
                   " AND length(o.body) = 256 AND hex(substr(o.body, 255, 2)) = '0100'"
                   " AND o.content_type = 'application/x-protobuf'"
                   " AND o.content_encoding IS NULL AND o.time_ns = %lld AND o.run = 'run-1'"
                   " AND r.method = 'PUT' AND r.status = 200 AND r.bytes_wire = 256"
                   " AND r.time_ns = %lld AND r.run = 'run-1' AND r.route IS NULL",
                   5 * S, 5 * S),
        1);
    /* The GET is a row too: 200, nothing received, no route. */
    assert_int_equal(
        t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE method = 'GET' AND status = 200"
                          " AND reason IS NULL AND path = '/r2/traces/2026/t-1.bin'"
                          " AND route IS NULL AND bytes_wire = 0"),
        1);

    a = xfer(f, "PUT", "/r2/plain", NULL, "hello", 5);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    a = xfer(f, "GET", "/r2/plain", NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "hello");
    assert_string_equal(a.content_type, "application/octet-stream");
    answer_free(&a);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM objects WHERE key = 'plain' AND size = 5"
                                " AND content_type IS NULL"),
                     1);

    /* gzip: stored as received (not decoded), given back as stored. */
    const char *json = "{\"resourceSpans\":[]}";
    size_t gzlen = 0;
    void *gz = t_gzip(json, strlen(json), &gzlen);
    const char *h_gz[] = {"Content-Type: application/json", "Content-Encoding: gzip", NULL};
    a = xfer(f, "PUT", "/r2/gz.json", h_gz, gz, gzlen);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    a = xfer(f, "GET", "/r2/gz.json", NULL, NULL, 0); /* libcurl does not decode: no Accept */
    assert_int_equal(a.status, 200);
    assert_int_equal(a.len, gzlen);
    assert_memory_equal(a.body, gz, gzlen);
    assert_string_equal(a.content_type, "application/json");
    assert_string_equal(a.content_encoding, "gzip");
    answer_free(&a);
    assert_int_equal(
        t_sql_intf(f->db,
                   "SELECT COUNT(*) FROM objects o JOIN requests r ON r.id = o.request"
                   " WHERE o.key = 'gz.json' AND o.size = %zu AND o.content_encoding = 'gzip'"
                   " AND r.bytes_wire = %zu AND r.bytes_body = %zu",
                   gzlen, gzlen, gzlen),
        1);

    a = xfer(f, "PUT", "/r2/empty", NULL, "", 0);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"key\":\"empty\",\"size\":0}");
    answer_free(&a);
    a = xfer(f, "GET", "/r2/empty", NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.len, 0);
    answer_free(&a);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM objects WHERE key = 'empty' AND size = 0"
                                " AND length(body) = 0 AND body IS NOT NULL"),
                     1);

    /* /stats: 4 objects of 256 + 5 + gzlen + 0 bytes; 8 requests, all 200. */
    char want[128];
    snprintf(want, sizeof want, "\"objects\":{\"stored\":4,\"bytes\":%zu}", 261 + gzlen);
    expect_stats(f, want);
    expect_stats(f, "\"requests\":{\"total\":8,\"by_status\":{\"200\":8}}");
    free(gz);
    fx_close(f);
}

/*
 * R2: the last writer wins, whole. PUT k "first" (text/plain), then PUT k "second!!" (no
 * type): one row, 8 bytes, no type any more, pointing at the second PUT (requests id 2);
 * GET gives "second!!" as application/octet-stream. /stats: 1 object of 8 bytes.
 */
static void test_a_put_replaces_the_object(void **state)
{
    (void)state;
    fx *f = fx_open(NULL, true);
    const char *h1[] = {"Content-Type: text/plain", "X-Edgeloss-Time-Ns: 1", NULL};
    const char *h2[] = {"X-Edgeloss-Time-Ns: 2", NULL};
    assert_int_equal(status_of(f, "PUT", "/r2/k", h1, "first"), 200);
    assert_int_equal(status_of(f, "PUT", "/r2/k", h2, "second!!"), 200);
    answer a = xfer(f, "GET", "/r2/k", NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "second!!");
    assert_string_equal(a.content_type, "application/octet-stream");
    answer_free(&a);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM objects"), 1);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM objects WHERE key = 'k' AND size = 8"
                                       " AND content_type IS NULL AND request = 2 AND time_ns = 2"),
                     1);
    expect_stats(f, "\"objects\":{\"stored\":1,\"bytes\":8}");
    fx_close(f);
}

/*
 * An absent object: 404 with the usual status body (google.rpc NOT_FOUND is code 5, as for
 * every error of the server), reason no_such_object. The GET is read and recorded by the
 * writer, so its row is committed when the answer arrives: queried at once, no waiting.
 */
static void test_get_of_an_absent_object_is_404(void **state)
{
    (void)state;
    fx *f = fx_open(NULL, true);
    answer a = xfer(f, "GET", "/r2/nothing/here", NULL, NULL, 0);
    assert_int_equal(a.status, 404);
    assert_string_equal(a.body, "{\"code\":5,\"message\":\"no such object\"}");
    assert_string_equal(a.content_type, "application/json");
    answer_free(&a);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM requests WHERE status = 404"
                                " AND reason = 'no_such_object' AND message = 'no such object'"
                                " AND path = '/r2/nothing/here'"),
                     1);
    /* Wrong methods: 405, Allow says GET, PUT. */
    a = xfer(f, "DELETE", "/r2/x", NULL, NULL, 0);
    assert_int_equal(a.status, 405);
    assert_string_equal(a.allow, "GET, PUT");
    answer_free(&a);
    fx_close(f);
}

/*
 * Keys: 1..1024 bytes of [A-Za-z0-9._~/-], no "..", no leading '/'. Each bad one is refused
 * with 400, reason bad_key, a message saying what is wrong, for PUT and GET alike:
 *   ""            (the path /r2/)                 missing
 *   "/abs"        (/r2//abs)                      starts with '/'
 *   "a/../b", "a..b", "%2e%2e/x" (decoded: "../x")  contains ".."
 *   "sp%20ace"    (decoded: a blank at byte 2)    byte 2 (0x20)
 *   "star*"                                       byte 4 ('*')
 *   "a%00b"       (left escaped: a NUL would cut the key to "a")   byte 1 ('%')
 *   1025 x 'k'                                    1025 bytes
 * 9 keys x 2 methods = 18 refusals; 1024 x 'k' is accepted (PUT 200, GET 200): 20 rows, one
 * object.
 */
static void test_bad_keys_are_refused(void **state)
{
    (void)state;
    fx *f = fx_open(NULL, true);
    static char k1024[1024 + 5], k1025[1025 + 5];
    snprintf(k1024, sizeof k1024, "/r2/%s", "");
    memset(k1024 + 4, 'k', 1024);
    k1024[4 + 1024] = '\0';
    snprintf(k1025, sizeof k1025, "/r2/");
    memset(k1025 + 4, 'k', 1025);
    k1025[4 + 1025] = '\0';
    const struct {
        const char *path, *msg;
    } bad[] = {
        {"/r2/", "object key missing"},
        {"/r2//abs", "object key starts with '/'"},
        {"/r2/a/../b", "object key contains \\\"..\\\""},
        {"/r2/a..b", "object key contains \\\"..\\\""},
        {"/r2/%2e%2e/x", "object key contains \\\"..\\\""},
        {"/r2/sp%20ace", "object key: byte 2 (0x20) not allowed"},
        {"/r2/star*", "object key: byte 4 ('*') not allowed"},
        {"/r2/a%00b", "object key: byte 1 ('%') not allowed"},
        {k1025, "object key of 1025 bytes"},
    };
    const char *methods[] = {"PUT", "GET"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (int m = 0; m < 2; m++)
            expect(f, methods[m], bad[i].path, NULL, m == 0 ? "x" : NULL, 400, bad[i].msg);
    assert_int_equal(status_of(f, "PUT", k1024, NULL, "x"), 200);
    assert_int_equal(status_of(f, "GET", k1024, NULL, NULL), 200);
    wait_rows(f->db, 20);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE status = 400"
                                       " AND reason = 'bad_key'"),
                     18);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM objects"), 1);
    assert_int_equal(t_sql_intf(f->db, "SELECT length(key) FROM objects"), 1024);
    fx_close(f);
}

/*
 * The body limit is the server's max_body_bytes (here 1024, the least allowed), on the bytes
 * as received: 1024 bytes are stored, 1025 are refused with 413 too_large - announced by
 * Content-Length (refused before the body is read) or chunked (refused as it grows). The
 * refused PUTs store nothing: GET of their key is 404. Rows: 200, 413, 413, then the GETs
 * 200 and 404 = 5; one object.
 */
static void test_put_over_the_body_limit_is_413(void **state)
{
    (void)state;
    fx *f = fx_open("{\"max_body_bytes\": 1024}", true);
    char body[1025];
    memset(body, 'b', sizeof body);
    answer a = xfer(f, "PUT", "/r2/fits", NULL, body, 1024);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"key\":\"fits\",\"size\":1024}");
    answer_free(&a);
    a = xfer(f, "PUT", "/r2/big", NULL, body, 1025);
    assert_int_equal(a.status, 413);
    assert_non_null(strstr(a.body, "body exceeds the size limit"));
    answer_free(&a);
    xfer_opts chunked = {.chunked = true};
    a = xfer_o(f, "PUT", "/r2/big-chunked", NULL, body, 1025, &chunked);
    assert_int_equal(a.status, 413);
    answer_free(&a);
    assert_int_equal(status_of(f, "GET", "/r2/fits", NULL, NULL), 200);
    assert_int_equal(status_of(f, "GET", "/r2/big", NULL, NULL), 404);
    wait_rows(f->db, 5);
    assert_int_equal(
        t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE status = 413"
                          " AND reason = 'too_large' AND path IN ('/r2/big', '/r2/big-chunked')"),
        2);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM objects"), 1);
    fx_close(f);
}

/*
 * A PUT's 200 follows the commit of its object (the writer's group commit): in threaded
 * mode, the file read by another connection right after each answer already holds the
 * object and its request row - 25 times over, so that an ack sent before its commit (the
 * writer thread racing the HTTP thread) would show.
 */
static void test_a_put_is_committed_when_acknowledged(void **state)
{
    (void)state;
    fx *f = fx_open(NULL, true);
    for (int i = 0; i < 25; i++) {
        char path[32], body[32];
        snprintf(path, sizeof path, "/r2/ack/%d", i);
        snprintf(body, sizeof body, "object %d", i);
        answer a = xfer(f, "PUT", path, NULL, body, strlen(body));
        assert_int_equal(a.status, 200);
        answer_free(&a);
        assert_int_equal(
            t_sql_intf(f->db,
                       "SELECT COUNT(*) FROM objects o JOIN requests r ON r.id = o.request"
                       " WHERE o.key = 'ack/%d' AND o.size = %zu AND r.status = 200",
                       i, strlen(body)),
            1);
    }
    fx_close(f);
}

/*
 * Embedded (ING_RUN_EXTERNAL, pumped by the caller's loop as sim/transport.c does): a GET
 * sees the PUT acknowledged before it, a second PUT replaces it for the next GET, and a
 * notification sees the object (object_known 1). Each 2xx's rows are in the file at once.
 */
static void test_embedded_mode_reads_its_writes(void **state)
{
    (void)state;
    fx *f = fx_open_db(NULL, "{\"notify\": [{\"path\": \"/api/cloudflare-traces\"}]}", true,
                       ING_RUN_EXTERNAL);
    const char *h[] = {"Content-Type: application/json", "X-Edgeloss-Route: origin", NULL};
    answer a = xfer(f, "PUT", "/r2/trace-1", h, "{\"v\":1}", 7);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    assert_int_equal(
        t_sql_intf(f->db, "SELECT COUNT(*) FROM objects WHERE key = 'trace-1' AND size = 7"), 1);
    a = xfer(f, "GET", "/r2/trace-1", h, NULL, 0);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"v\":1}");
    assert_string_equal(a.content_type, "application/json");
    answer_free(&a);
    a = xfer(f, "PUT", "/r2/trace-1", h, "{\"v\":22}", 8);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    a = xfer(f, "GET", "/r2/trace-1", h, NULL, 0);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"v\":22}");
    answer_free(&a);
    const char *hn[] = {"Content-Type: application/json", NULL};
    a = xfer(f, "POST", "/api/cloudflare-traces", hn, "{\"object\":\"trace-1\"}", 20);
    assert_int_equal(a.status, 202);
    assert_string_equal(a.body, "{\"queued\":true}");
    answer_free(&a);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM notifications WHERE object = 'trace-1'"
                                       " AND object_known = 1"),
                     1);
    /* No WAF: the route header's "origin" is recorded all the same (the two PUTs and two GETs
     * sent it); the notification sent none: NULL. */
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE route = 'origin'"), 4);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE route IS NULL"), 1);
    fx_close(f);
}

#define NOTIFY_CFG "{\"notify\": [{\"path\": \"/api/cloudflare-traces\"}]}"

/*
 * Notifications, in arrival order, one a second:
 *   t=1  PUT /r2/t/1
 *   t=2  notify t/1        stored: object_known 1
 *   t=3  notify t/2        not stored yet: 0
 *   t=4  PUT /r2/t/2
 *   t=5  notify t/2        now stored: 1
 *   t=6  notify t/1, gzip-encoded, with another member (ignored): 1
 * Each notification is answered 202 {"queued":true} and is one notifications row: its own
 * request's id, the object, its time and run. 4 rows, 3 known.
 */
static void test_notifications_record_whether_the_object_is_known(void **state)
{
    (void)state;
    fx *f = fx_open(NOTIFY_CFG, true);
    const struct {
        const char *method, *path, *body;
        bool gzip;
        long status;
    } steps[] = {
        {"PUT", "/r2/t/1", "span bytes", false, 200},
        {"POST", "/api/cloudflare-traces", "{\"object\": \"t/1\"}", false, 202},
        {"POST", "/api/cloudflare-traces", "{\"object\": \"t/2\"}", false, 202},
        {"PUT", "/r2/t/2", "more span bytes", false, 200},
        {"POST", "/api/cloudflare-traces", "{\"object\": \"t/2\"}", false, 202},
        {"POST", "/api/cloudflare-traces", "{\"spans\": 3, \"object\": \"t/1\"}", true, 202},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char th[64];
        snprintf(th, sizeof th, "X-Edgeloss-Time-Ns: %lld", (long long)((int64_t)(i + 1) * S));
        const char *h[] = {th, "X-Edgeloss-Run: run-n", "Content-Type: application/json",
                           steps[i].gzip ? "Content-Encoding: gzip" : NULL, NULL};
        size_t len = strlen(steps[i].body);
        void *gz = steps[i].gzip ? t_gzip(steps[i].body, len, &len) : NULL;
        answer a = xfer(f, steps[i].method, steps[i].path, h, gz ? gz : steps[i].body, len);
        free(gz);
        if (a.status != steps[i].status)
            fail_msg("step %zu: %ld %s", i, a.status, a.body);
        if (a.status == 202)
            assert_string_equal(a.body, "{\"queued\":true}");
        answer_free(&a);
    }
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM notifications"), 4);
    static const struct {
        int t_s;
        const char *object;
        int known;
    } rows[] = {{2, "t/1", 1}, {3, "t/2", 0}, {5, "t/2", 1}, {6, "t/1", 1}};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(
            t_sql_intf(f->db,
                       "SELECT COUNT(*) FROM notifications n JOIN requests r"
                       " ON r.id = n.request WHERE n.time_ns = %lld AND r.time_ns = %lld"
                       " AND n.object = '%s' AND n.object_known = %d AND n.run = 'run-n'"
                       " AND r.status = 202 AND r.reason IS NULL"
                       " AND r.path = '/api/cloudflare-traces'",
                       rows[i].t_s * S, rows[i].t_s * S, rows[i].object, rows[i].known),
            1);
    /* The gzip one: bytes_body is the decoded body's 32 bytes. */
    assert_int_equal(
        t_sql_intf(f->db, "SELECT bytes_body FROM requests WHERE time_ns = %lld", 6 * S),
        (int64_t)strlen("{\"spans\": 3, \"object\": \"t/1\"}"));
    expect_stats(f, "\"notifications\":{\"total\":4,\"object_known\":3}");
    fx_close(f);
}

/*
 * A notify entry with a host takes its path for the requests to that host only. Config:
 * /v1/traces for ingress.flare.dev.
 *   Host ingress.flare.dev, {"object": "o1"}          notification: 202
 *   Host INGRESS.Flare.DEV:8443, {"object": "o2"}     the same host (any case, no port): 202
 *   Host other.flare.dev, 2 spans                     OTLP: 200, 2 items
 *   libcurl's own Host (127.0.0.1:PORT), 2 spans      OTLP: 200, 2 items
 *   Host ingress.flare.dev, 2 spans                   a notification without "object": 400
 * 2 notifications, 4 items accepted, 5 rows.
 */
static void test_a_notify_host_takes_the_otlp_path_for_that_host(void **state)
{
    (void)state;
    fx *f = fx_open("{\"notify\": [{\"path\": \"/v1/traces\", \"host\": \"ingress.flare.dev\"}]}",
                    true);
    char *spans = t_otlp_spans("h", 2, "r");
    const char *ct = "Content-Type: application/json";
    const char *h1[] = {ct, "Host: ingress.flare.dev", NULL};
    expect(f, "POST", "/v1/traces", h1, "{\"object\": \"o1\"}", 202, "{\"queued\":true}");
    const char *h2[] = {ct, "Host: INGRESS.Flare.DEV:8443", NULL};
    expect(f, "POST", "/v1/traces", h2, "{\"object\": \"o2\"}", 202, "{\"queued\":true}");
    const char *h3[] = {ct, "Host: other.flare.dev", NULL};
    expect(f, "POST", "/v1/traces", h3, spans, 200, "{}");
    const char *h4[] = {ct, NULL};
    expect(f, "POST", "/v1/traces", h4, spans, 200, "{}");
    expect(f, "POST", "/v1/traces", h1, spans, 400,
           "$.object: expected a string of 1..1024 bytes (missing)");
    wait_rows(f->db, 5);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM notifications WHERE object IN ('o1', 'o2')"
                                " AND object_known = 0"),
                     2);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM items i JOIN requests r ON r.id = i.request"
                                " WHERE i.accepted = 1 AND r.status = 200"),
                     4);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE status = 400"
                                       " AND reason = 'bad_json' AND items_received = 0"),
                     1);
    free(spans);
    fx_close(f);
}

/*
 * Malformed notification bodies: 400 bad_json, a message naming the JSON path expected, and
 * no notifications row. A key of 1024 bytes is accepted (202), 1025 is not. Other methods
 * are 405 (Allow: POST), other encodings 415.
 */
static void test_malformed_notifications_are_refused(void **state)
{
    (void)state;
    fx *f = fx_open(NOTIFY_CFG, true);
    static char k1024[1100], k1025[1100];
    snprintf(k1024, sizeof k1024, "{\"object\": \"%01024d\"}", 0);
    snprintf(k1025, sizeof k1025, "{\"object\": \"%01025d\"}", 0);
    const struct {
        const char *body;
        size_t len; /* 0: strlen */
        const char *msg;
    } bad[] = {
        {"", 0, "$: not valid JSON (empty body at byte 0)"},
        {"nope", 0, "$: not valid JSON (error near byte 0)"},
        {"{\"object\": \"a\"} x", 0, "$: not valid JSON (trailing data at byte 16)"},
        {"{\"object\": \"a\"}\0x", 17, "$: not valid JSON (NUL byte at byte 15)"},
        {"[\"a\"]", 0, "$: expected an object {\"object\": \"KEY\"}"},
        {"{}", 0, "$.object: expected a string of 1..1024 bytes (missing)"},
        {"{\"object\": 3}", 0, "$.object: expected a string of 1..1024 bytes (not a string)"},
        {"{\"object\": \"\"}", 0, "$.object: expected a string of 1..1024 bytes (empty)"},
        {k1025, 0, "$.object: expected a string of 1..1024 bytes (too long)"},
    };
    const char *h[] = {"Content-Type: application/json", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].body);
        answer a = xfer(f, "POST", "/api/cloudflare-traces", h, bad[i].body, len);
        /* The message is a JSON string in the answer: compare against the row instead. */
        if (a.status != 400)
            fail_msg("body %zu: %ld %s", i, a.status, a.body);
        answer_free(&a);
        char *msg = t_sql_str(f->db, "SELECT message FROM requests ORDER BY id DESC LIMIT 1");
        if (!msg || strncmp(msg, bad[i].msg, strlen(bad[i].msg)) != 0)
            fail_msg("body %zu: message \"%s\", expected \"%s\"", i, msg, bad[i].msg);
        free(msg);
    }
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE status = 400"
                                       " AND reason = 'bad_json'"),
                     9);
    expect(f, "POST", "/api/cloudflare-traces", h, k1024, 202, "{\"queued\":true}");
    answer a = xfer(f, "GET", "/api/cloudflare-traces", NULL, NULL, 0);
    assert_int_equal(a.status, 405);
    assert_string_equal(a.allow, "POST");
    answer_free(&a);
    const char *hbr[] = {"Content-Type: application/json", "Content-Encoding: br", NULL};
    expect(f, "POST", "/api/cloudflare-traces", hbr, "{\"object\": \"a\"}", 415,
           "Content-Encoding must be gzip or identity");
    wait_rows(f->db, 12);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM notifications"), 1);
    assert_int_equal(t_sql_intf(f->db, "SELECT length(object) FROM notifications"), 1024);
    fx_close(f);
}

/* Malformed "notify" configs: refused when loaded, with the JSON path and what was expected. */
static void test_malformed_notify_configs_are_refused(void **state)
{
    (void)state;
    static char long_path[1100];
    snprintf(long_path, sizeof long_path, "{\"notify\": [{\"path\": \"/%01024d\"}]}", 0);
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"notify\": 3}", "cfg: $.notify: expected an array of {\"path\": P, \"host\": H}"},
        {"{\"notify\": [3]}", "cfg: $.notify[0]: expected an object"},
        {"{\"notify\": [{\"host\": \"a.dev\"}]}", "cfg: $.notify[0]: missing \"path\""},
        {"{\"notify\": [{\"path\": \"/a\"}, {\"path\": \"a\"}]}",
         "cfg: $.notify[1].path: expected a path starting with '/'"},
        {"{\"notify\": [{\"path\": \"/a?b=1\"}]}", "cfg: $.notify[0].path: expected a path"},
        {"{\"notify\": [{\"path\": \"/a b\"}]}", "cfg: $.notify[0].path: expected a path"},
        {"{\"notify\": [{\"path\": 3}]}", "cfg: $.notify[0].path: expected a string"},
        {"{\"notify\": [{\"path\": \"/stats\"}]}",
         "cfg: $.notify[0].path: /stats is mock-ingest's"},
        {"{\"notify\": [{\"path\": \"/r2/x\"}]}", "cfg: $.notify[0].path: /r2/x is mock-ingest's"},
        {"{\"notify\": [{\"path\": \"/a\", \"host\": \"a.dev:443\"}]}",
         "cfg: $.notify[0].host: expected a host name"},
        {"{\"notify\": [{\"path\": \"/a\", \"host\": \"\"}]}",
         "cfg: $.notify[0].host: expected a host name"},
        {"{\"notify\": [{\"path\": \"/a\", \"port\": 1}]}",
         "cfg: $.notify[0].port: unknown key (expected \"path\" or \"host\")"},
        {"{\"notify\": [{\"path\": \"/a\", \"path\": \"/b\"}]}",
         "cfg: $.notify[0].path: given more than once"},
        {"{\"notify\": [{\"path\": \"/a\", \"host\": \"A.dev\"}, {\"path\": \"/a\","
         " \"host\": \"a.DEV\"}]}",
         "cfg: $.notify[1]: the same path and host as $.notify[0]"},
        {"{\"notify\": [], \"notify\": []}", "cfg: $.notify: given more than once"},
        {long_path, "cfg: $.notify[0].path: expected a path starting with '/', 1 to 1024"},
        {"{\"notifi\": []}", "cors, waf, notify)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ing_config *c = NULL;
        char err[512] = "";
        assert_int_equal(ing_config_parse(bad[i].json, "cfg", &c, err, sizeof err), ING_CONFIG);
        assert_null(c);
        if (!strstr(err, bad[i].msg))
            fail_msg("%.80s: message \"%s\" lacks \"%s\"", bad[i].json, err, bad[i].msg);
    }
    /* What is fine: an empty list, the same path for two hosts, a host-less entry beside one. */
    ing_config *c = NULL;
    char err[512] = "";
    assert_int_equal(
        ing_config_parse("{\"notify\": [{\"path\": \"/a\", \"host\": \"x.dev\"},"
                         " {\"path\": \"/a\", \"host\": \"y.dev\"}, {\"path\": \"/a\"},"
                         " {\"path\": \"/v1/traces\", \"host\": \"127.0.0.1\"}]}",
                         "cfg", &c, err, sizeof err),
        ING_OK);
    ing_config_free(c);
    assert_int_equal(ing_config_parse("{\"notify\": []}", "cfg", &c, err, sizeof err), ING_OK);
    ing_config_free(c);
}

/* A log rule on every request, then a block of the object store's paths. */
#define ROUTE_WAF_CFG                                                                              \
    "{\"waf\": {\"custom_rules\": ["                                                               \
    " {\"id\": \"log-all\", \"expression\": \"http.request.method ne \\\"\\\"\","                  \
    "  \"action\": \"log\"},"                                                                      \
    " {\"id\": \"no-r2\", \"expression\": \"starts_with(http.request.uri.path, \\\"/r2/\\\")\","   \
    "  \"action\": \"block\", \"status\": 403}]}}"

/*
 * X-Edgeloss-Route, trusted: "origin" goes past the WAF (no rule runs: no waf_decisions row,
 * not even log-all's), "waf" or no header goes through it (log-all, then no-r2 blocks 403).
 *   PUT /r2/a   origin  200, route origin, 0 decisions
 *   GET /r2/a   origin  200 "A"
 *   PUT /r2/b   waf     403 (no-r2), route waf, 2 decisions (log, block)
 *   PUT /r2/c   -       403, route waf, 2 decisions
 *   PUT /r2/d   "WAF", "origin, waf", twice: 400 bad_header naming the header and the
 *               accepted values; route NULL, no decision (the WAF needs those headers)
 * Untrusted, the header is ignored (even a bad value): the WAF decides, 403, route waf.
 * Without a WAF: route origin when the header says so, NULL otherwise.
 */
static void test_the_route_header_goes_past_the_waf(void **state)
{
    (void)state;
    fx *f = fx_open(ROUTE_WAF_CFG, true);
    const char *origin[] = {"X-Edgeloss-Route: origin", NULL};
    const char *waf[] = {"X-Edgeloss-Route: waf", NULL};
    assert_int_equal(status_of(f, "PUT", "/r2/a", origin, "A"), 200);
    answer a = xfer(f, "GET", "/r2/a", origin, NULL, 0);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "A");
    answer_free(&a);
    assert_int_equal(status_of(f, "PUT", "/r2/b", waf, "B"), 403);
    assert_int_equal(status_of(f, "PUT", "/r2/c", NULL, "C"), 403);
    const char *bad1[] = {"X-Edgeloss-Route: WAF", NULL};
    const char *bad2[] = {"X-Edgeloss-Route: origin, waf", NULL};
    const char *bad3[] = {"X-Edgeloss-Route: origin", "X-Edgeloss-Route: origin", NULL};
    expect(f, "PUT", "/r2/d", bad1, "D", 400,
           "X-Edgeloss-Route: expected waf or origin, got \\\"WAF\\\"");
    expect(f, "PUT", "/r2/d", bad2, "D", 400, "X-Edgeloss-Route: expected waf or origin");
    expect(f, "PUT", "/r2/d", bad3, "D", 400, "X-Edgeloss-Route: given more than once");
    wait_rows(f->db, 7);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests r WHERE r.route = 'origin'"
                                       " AND r.status = 200 AND r.path = '/r2/a' AND NOT EXISTS"
                                       " (SELECT 1 FROM waf_decisions d WHERE d.request = r.id)"),
                     2);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM requests r JOIN waf_decisions d"
                                " ON d.request = r.id WHERE r.route = 'waf' AND r.status = 403"
                                " AND r.reason = 'waf' AND r.path IN ('/r2/b', '/r2/c')"
                                " AND d.rule IN ('log-all', 'no-r2')"),
                     4);
    assert_int_equal(t_sql_intf(f->db,
                                "SELECT COUNT(*) FROM requests r WHERE r.route IS NULL"
                                " AND r.status = 400 AND r.reason = 'bad_header' AND NOT EXISTS"
                                " (SELECT 1 FROM waf_decisions d WHERE d.request = r.id)"),
                     3);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions"), 4);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM objects"), 1);
    fx_close(f);

    /* Untrusted: the header is the client's own, ignored; the WAF decides everything. */
    f = fx_open(ROUTE_WAF_CFG, false);
    assert_int_equal(status_of(f, "PUT", "/r2/a", origin, "A"), 403);
    assert_int_equal(status_of(f, "PUT", "/r2/a", bad1, "A"), 403);
    wait_rows(f->db, 2);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE route = 'waf'"
                                       " AND status = 403"),
                     2);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions WHERE rule = 'no-r2'"),
                     2);
    fx_close(f);

    /* No WAF: nothing decides; the route is the header's when given. */
    f = fx_open(NULL, true);
    assert_int_equal(status_of(f, "PUT", "/r2/a", origin, "A"), 200);
    assert_int_equal(status_of(f, "PUT", "/r2/b", waf, "B"), 200);
    assert_int_equal(status_of(f, "PUT", "/r2/c", NULL, "C"), 200);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE route = 'origin'"), 1);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE route IS NULL"), 2);
    fx_close(f);
}

/*
 * The seed's surprise: the Worker's notifications go back through the zone's WAF and are
 * rate limited. Rule: the notify path, 3 per 10 s per ip.src, fixed windows, mitigation 0
 * (only the requests over the rate are blocked), default answer 429:
 *   t=1, 2, 3 s   counts 1, 2, 3 in window [0, 10): 202, one notifications row each
 *   t=4 s         count 4 > 3: 429, reason waf, no notifications row (the body is never read)
 *   t=11 s        window [10, 20), count 1: 202
 * The R2 PUT of the object (routed to origin, at t=0) is not counted and not decided.
 * Decisions: one, the 4th's rate_block at value 4 on colo=0|ip.src=127.0.0.1.
 */
static void test_a_waf_rate_limit_blocks_the_fourth_notification(void **state)
{
    (void)state;
    fx *f = fx_open("{\"notify\": [{\"path\": \"/api/cloudflare-traces\"}],"
                    " \"waf\": {\"window\": \"fixed\", \"rate_limits\": [{\"id\": \"notify-rl\","
                    " \"expression\": \"http.request.uri.path eq \\\"/api/cloudflare-traces\\\"\","
                    " \"characteristics\": [\"ip.src\"], \"requests_per_period\": 3,"
                    " \"period_s\": 10, \"mitigation_timeout_s\": 0}]}}",
                    true);
    const char *hput[] = {"X-Edgeloss-Time-Ns: 0", "X-Edgeloss-Route: origin", NULL};
    assert_int_equal(status_of(f, "PUT", "/r2/t", hput, "spans"), 200);
    static const struct {
        int t_s;
        long status;
    } steps[] = {{1, 202}, {2, 202}, {3, 202}, {4, 429}, {11, 202}};
    for (size_t i = 0; i < 5; i++) {
        char th[64];
        snprintf(th, sizeof th, "X-Edgeloss-Time-Ns: %lld", (long long)(steps[i].t_s * S));
        const char *h[] = {th, "Content-Type: application/json", NULL};
        answer a = xfer(f, "POST", "/api/cloudflare-traces", h, "{\"object\": \"t\"}", 15);
        if (a.status != steps[i].status)
            fail_msg("notification at %d s: %ld %s", steps[i].t_s, a.status, a.body);
        if (a.status == 429)
            assert_non_null(strstr(a.body, "blocked by WAF rate limiting rule notify-rl"));
        answer_free(&a);
    }
    wait_rows(f->db, 6);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM notifications WHERE object_known = 1"),
                     4);
    assert_int_equal(
        t_sql_intf(f->db,
                   "SELECT COUNT(*) FROM notifications n JOIN requests r ON r.id = n.request"
                   " WHERE r.time_ns = %lld",
                   4 * S),
        0);
    assert_int_equal(
        t_sql_intf(f->db,
                   "SELECT COUNT(*) FROM requests r JOIN waf_decisions d ON d.request = r.id"
                   " WHERE r.time_ns = %lld AND r.status = 429 AND r.reason = 'waf'"
                   " AND r.route = 'waf' AND d.rule = 'notify-rl' AND d.action = 'rate_block'"
                   " AND d.value = 4 AND d.key = 'colo=0|ip.src=127.0.0.1'",
                   4 * S),
        1);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM waf_decisions"), 1);
    assert_int_equal(t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE route = 'origin'"), 1);
    expect_stats(f, "\"notifications\":{\"total\":4,\"object_known\":4}");
    fx_close(f);
}

/*
 * Trusted, a refusal says why in X-Edgeloss-Reason, the row's reason (the simulator tells a
 * WAF block from the ingest's own refusal by it): a WAF block "waf", an absent object
 * "no_such_object", a bad key "bad_key"; a 2xx says nothing. Untrusted, it is never sent.
 */
static void test_a_refusal_says_why_to_the_simulator(void **state)
{
    (void)state;
    for (int trusted = 1; trusted >= 0; trusted--) {
        fx *f = fx_open(ROUTE_WAF_CFG, trusted);
        const char *origin[] = {"X-Edgeloss-Route: origin", NULL};
        static const struct {
            const char *method, *path;
            bool origin;
            long status;
            const char *reason;
        } steps[] = {
            {"PUT", "/r2/blocked", false, 403, "waf"},
            {"GET", "/r2/absent", true, 404, "no_such_object"},
            {"GET", "/r2/..", true, 400, "bad_key"},
            {"PUT", "/r2/fine", true, 200, ""},
        };
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
            /* Untrusted, the route header is ignored: every /r2/ request is blocked. */
            long want = trusted ? steps[i].status : 403;
            const char *why = trusted ? steps[i].reason : "";
            answer a =
                xfer(f, steps[i].method, steps[i].path, steps[i].origin ? origin : NULL, "x", 1);
            if (a.status != want || strcmp(a.reason, why) != 0)
                fail_msg("%s %s (trusted %d): %ld, reason \"%s\"; expected %ld, \"%s\"",
                         steps[i].method, steps[i].path, trusted, a.status, a.reason, want, why);
            answer_free(&a);
        }
        fx_close(f);
    }
}

static void exec_sql(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(h);
}

/*
 * A version 2 file (requests without route, no objects, no notifications) is upgraded in
 * place when a server opens it: version 4 (the current one), its row kept with route NULL,
 * the new tables there and used. Restarted, /stats counts the objects and notifications the
 * file holds. A file of a later version (5) is refused, naming both versions.
 */
static void test_a_version_2_file_is_upgraded(void **state)
{
    (void)state;
    char *dir = t_mkdtemp();
    char *db = t_path(dir, "v2.db");
    exec_sql(db, "CREATE TABLE requests (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,"
                 " wall_ns INTEGER NOT NULL, time_source TEXT NOT NULL, method TEXT NOT NULL,"
                 " path TEXT NOT NULL, status INTEGER NOT NULL, reason TEXT, message TEXT,"
                 " content_type TEXT, content_encoding TEXT, bytes_wire INTEGER NOT NULL,"
                 " bytes_body INTEGER NOT NULL, api_key TEXT, client TEXT,"
                 " items_received INTEGER NOT NULL, items_accepted INTEGER NOT NULL,"
                 " items_rejected INTEGER NOT NULL, run TEXT, attempt INTEGER);"
                 "CREATE TABLE items (id INTEGER PRIMARY KEY, request INTEGER NOT NULL, kind TEXT"
                 " NOT NULL, accepted INTEGER NOT NULL, reason TEXT, time_ns INTEGER NOT NULL,"
                 " item_id TEXT, request_id TEXT, sent_for TEXT, service TEXT, scope TEXT,"
                 " name TEXT, trace_id TEXT, span_id TEXT, parent_span_id TEXT, start_ns"
                 " INTEGER, end_ns INTEGER, metric_type TEXT, value REAL, count INTEGER,"
                 " severity INTEGER, body TEXT, attrs TEXT);"
                 "INSERT INTO requests VALUES (1, 5, 5, 'virtual', 'POST', '/v1/traces', 200,"
                 " NULL, NULL, 'application/json', NULL, 10, 10, NULL, '127.0.0.1', 0, 0, 0,"
                 " 'old-run', 0);"
                 "PRAGMA user_version = 2;");
    fx *f = fx_open_db(db, NOTIFY_CFG, true, ING_RUN_THREAD);
    assert_int_equal(status_of(f, "PUT", "/r2/new", NULL, "abc"), 200);
    const char *h[] = {"Content-Type: application/json", NULL};
    assert_int_equal(status_of(f, "POST", "/api/cloudflare-traces", h, "{\"object\": \"new\"}"),
                     202);
    fx_close(f);
    assert_int_equal(t_sql_int(db, "PRAGMA user_version"), 5);
    assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM requests WHERE id = 1"
                                   " AND run = 'old-run' AND route IS NULL"),
                     1);
    assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM objects o JOIN requests r"
                                   " ON r.id = o.request WHERE o.key = 'new' AND r.id = 2"),
                     1);
    assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM notifications WHERE request = 3"
                                   " AND object_known = 1"),
                     1);
    assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM waf_decisions"), 0); /* added too */

    /* Restarted: the counts come from the file (3 rows, 1 object of 3 bytes, 1 notification). */
    f = fx_open_db(db, NOTIFY_CFG, true, ING_RUN_THREAD);
    expect_stats(f, "\"objects\":{\"stored\":1,\"bytes\":3}");
    expect_stats(f, "\"notifications\":{\"total\":1,\"object_known\":1}");
    expect_stats(f, "\"requests\":{\"total\":3,");
    fx_close(f);

    /* A later version is refused. */
    exec_sql(db, "PRAGMA user_version = 6;");
    ing_server *srv = NULL;
    char err[512] = "";
    ing_options opt = {.db_path = db, .mode = ING_RUN_THREAD};
    assert_int_equal(ing_server_open(&opt, &srv, err, sizeof err), ING_DB);
    assert_null(srv);
    if (!strstr(err, "schema version 6, expected 5"))
        fail_msg("%s", err);
    t_rmtree(dir);
    free(db);
    free(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_then_get_gives_back_the_bytes_and_type),
        cmocka_unit_test(test_a_put_replaces_the_object),
        cmocka_unit_test(test_get_of_an_absent_object_is_404),
        cmocka_unit_test(test_bad_keys_are_refused),
        cmocka_unit_test(test_put_over_the_body_limit_is_413),
        cmocka_unit_test(test_a_put_is_committed_when_acknowledged),
        cmocka_unit_test(test_embedded_mode_reads_its_writes),
        cmocka_unit_test(test_notifications_record_whether_the_object_is_known),
        cmocka_unit_test(test_a_notify_host_takes_the_otlp_path_for_that_host),
        cmocka_unit_test(test_malformed_notifications_are_refused),
        cmocka_unit_test(test_malformed_notify_configs_are_refused),
        cmocka_unit_test(test_the_route_header_goes_past_the_waf),
        cmocka_unit_test(test_a_waf_rate_limit_blocks_the_fourth_notification),
        cmocka_unit_test(test_a_refusal_says_why_to_the_simulator),
        cmocka_unit_test(test_a_version_2_file_is_upgraded),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
