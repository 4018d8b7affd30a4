/*
 * mock-ingest against what real clients do to a server: idle keep-alive connections that
 * would starve new exporters, an answer the client gave up on before it came, refusals the
 * client must be able to read whether or not it waited for 100 Continue, hostile and big honest
 * bodies against the memory bound, slowloris heads and bodies, and the protocol's details
 * (paths, HEAD, CORS, framing, gzip members, partial success, the cap's status).
 *
 * Every exchange is real HTTP on 127.0.0.1 port 0, with libcurl or with a raw socket where
 * libcurl would not send the bytes wanted or would hide what came back; what was recorded is
 * read back with independent SQL on the file. Every wait is bounded and nothing asserts on
 * speed: a bound that must not be hit is several times what the behaviour needs.
 *
 * Usage: test_ingest_clients PATH-TO-MOCK-INGEST [TEST-NAME-PATTERN] (the binary: the memory
 * test measures the server alone, in its own /proc/PID/status; the pattern, e.g. "*slow*",
 * runs only the tests it matches).
 */
#include "ingest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *mock_ingest_bin;

/* Under AddressSanitizer (the whole build is, the binary too) a process's RSS is its shadow
 * memory and quarantine more than its own: the memory test checks its bounds only without. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- the library server ---- */

typedef struct fx {
    char *dir, *db;
    ing_server *srv;
    char url[128];
    uint16_t port;
} fx;

static fx *fx_open_mode(const char *config_json, ing_run_mode mode)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = t_mkdtemp();
    assert_non_null(f->dir);
    f->db = t_path(f->dir, "ingest.db");
    char err[512] = "";
    ing_config *cfg = NULL;
    if (config_json && ing_config_parse(config_json, "test-config", &cfg, err, sizeof err))
        fail_msg("config %s: %s", config_json, err);
    ing_options opt = {.db_path = f->db, .config = cfg, .mode = mode};
    int rc = ing_server_open(&opt, &f->srv, err, sizeof err);
    ing_config_free(cfg);
    if (rc)
        fail_msg("open: %s", err);
    snprintf(f->url, sizeof f->url, "%s", ing_server_url(f->srv));
    f->port = ing_server_port(f->srv);
    return f;
}

static fx *fx_open(const char *config_json)
{
    return fx_open_mode(config_json, ING_RUN_THREAD);
}

/* Closes the server (committing what is pending); the file stays for the queries. */
static void fx_stop(fx *f)
{
    ing_server_close(f->srv);
    f->srv = NULL;
}

static void fx_close(fx *f)
{
    fx_stop(f);
    t_rmtree(f->dir);
    free(f->db);
    free(f->dir);
    free(f);
}

/* The query's value once it is `want`, waiting up to 5 s for it (a refusal's row may commit
 * just after its answer, an answer's fate just after it was written); else the last value. */
static int64_t q_wait(const char *db, int64_t want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int64_t q_wait(const char *db, int64_t want, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    int64_t v = -1;
    for (int i = 0; i < 500; i++) {
        v = t_sql_int(db, sql);
        if (v == want)
            break;
        usleep(10000);
    }
    return v;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- libcurl, with every header of the final answer ---- */

typedef struct reply {
    int code; /* CURLcode; -1: still running at the caller's bound */
    long status;
    char *body;
    size_t nbody;
    char *head; /* the final response's status line and headers */
    size_t nhead;
    bool got_100; /* a 100 Continue came first */
    curl_off_t uploaded;
} reply;

typedef struct call {
    const char *method; /* NULL: POST */
    const char *path;   /* NULL: /v1/traces */
    const char *ctype;  /* NULL: application/json */
    const char *headers[4];
    const void *body;
    size_t len;
    long timeout_ms; /* 0: 10 s */
    bool expect;     /* send Expect: 100-continue; else none (libcurl's own is removed) */
} call;

typedef struct xfer {
    CURL *h;
    struct curl_slist *hl;
    reply r;
} xfer;

static void grow(char **p, size_t *n, const char *data, size_t k)
{
    char *np = realloc(*p, *n + k + 1);
    assert_non_null(np);
    memcpy(np + *n, data, k);
    *n += k;
    np[*n] = '\0';
    *p = np;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    reply *r = ud;
    grow(&r->body, &r->nbody, ptr, size * nmemb);
    return size * nmemb;
}

static size_t on_head(char *ptr, size_t size, size_t nmemb, void *ud)
{
    reply *r = ud;
    size_t k = size * nmemb;
    if (k > 9 && strncmp(ptr, "HTTP/", 5) == 0) { /* a new response: keep the last one's head */
        const char *sp = memchr(ptr, ' ', k);
        if (sp && atoi(sp + 1) == 100)
            r->got_100 = true;
        r->nhead = 0;
    }
    grow(&r->head, &r->nhead, ptr, k);
    return k;
}

static void xfer_init(xfer *x, const char *base, const call *c)
{
    memset(x, 0, sizeof *x);
    x->r.code = -1;
    x->h = curl_easy_init();
    assert_non_null(x->h);
    char url[512], line[512];
    snprintf(url, sizeof url, "%s%s", base, c->path ? c->path : "/v1/traces");
    const char *method = c->method ? c->method : "POST";
    const char *ct = c->ctype ? c->ctype : "application/json";
    snprintf(line, sizeof line, "Content-Type:%s%s", *ct ? " " : "", ct);
    x->hl = curl_slist_append(x->hl, line);
    x->hl = curl_slist_append(x->hl, c->expect ? "Expect: 100-continue" : "Expect:");
    for (int i = 0; i < 4 && c->headers[i]; i++)
        x->hl = curl_slist_append(x->hl, c->headers[i]);
    curl_easy_setopt(x->h, CURLOPT_URL, url);
    curl_easy_setopt(x->h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->h, CURLOPT_FORBID_REUSE, 1L); /* one connection per exchange */
    curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, c->timeout_ms ? c->timeout_ms : 10000L);
    /* Waiting for 100 Continue up to 10 s: a refusal decided on the headers must come
     * before the body, not after libcurl's default 1 s made it send the body anyway. */
    curl_easy_setopt(x->h, CURLOPT_EXPECT_100_TIMEOUT_MS, 10000L);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(x->h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(x->h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, c->body ? c->body : "");
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(c->body ? c->len : 0));
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(x->h, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hl);
    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->h, CURLOPT_WRITEDATA, &x->r);
    curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(x->h, CURLOPT_HEADERDATA, &x->r);
}

/* After the transfer (its code set): the status and what was sent; frees the handle. */
static void xfer_finish(xfer *x)
{
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->r.status);
    curl_easy_getinfo(x->h, CURLINFO_SIZE_UPLOAD_T, &x->r.uploaded);
    curl_easy_cleanup(x->h);
    curl_slist_free_all(x->hl);
    x->h = NULL;
    x->hl = NULL;
    if (!x->r.body)
        x->r.body = calloc(1, 1);
    if (!x->r.head)
        x->r.head = calloc(1, 1);
}

static reply call_once(const char *base, const call *c)
{
    xfer x;
    xfer_init(&x, base, c);
    x.r.code = (int)curl_easy_perform(x.h);
    xfer_finish(&x);
    return x.r;
}

static void reply_free(reply *r)
{
    free(r->body);
    free(r->head);
    r->body = r->head = NULL;
}

static bool reply_header(const reply *r, const char *name, char *out, size_t outlen)
{
    return r->head && t_http_header(r->head, name, out, outlen);
}

/*
 * Runs the transfers at once to their ends, for at most bound_ms, pumping `srv` between turns
 * when given (ING_RUN_EXTERNAL); each one's CURLcode into its reply (-1: cut at the bound).
 */
static void run_all(xfer *xs, int n, int64_t bound_ms, ing_server *srv)
{
    CURLM *m = curl_multi_init();
    for (int i = 0; i < n; i++)
        curl_multi_add_handle(m, xs[i].h);
    int64_t end = t_now_ms() + bound_ms;
    int running = n;
    while (t_now_ms() < end) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)))
            for (int i = 0; i < n; i++)
                if (msg->msg == CURLMSG_DONE && xs[i].h == msg->easy_handle)
                    xs[i].r.code = (int)msg->data.result;
        if (!running)
            break;
        if (srv) {
            struct curl_waitfd w = {.fd = ing_server_fd(srv), .events = CURL_WAIT_POLLIN};
            curl_multi_poll(m, &w, 1, 20, NULL);
            assert_int_equal(ing_server_pump(srv, 0), ING_OK);
        } else {
            curl_multi_poll(m, NULL, 0, 100, NULL);
        }
    }
    for (int i = 0; i < n; i++) {
        curl_multi_remove_handle(m, xs[i].h);
        xfer_finish(&xs[i]);
    }
    curl_multi_cleanup(m);
}

/* ---- bodies ---- */

/* {"padding":"xxx..."} of exactly n bytes: JSON whose content does not matter. */
static char *padding_json(size_t n)
{
    char *b = malloc(n + 1);
    assert_non_null(b);
    memset(b, 'x', n);
    memcpy(b, "{\"padding\":\"", 12);
    memcpy(b + n - 2, "\"}", 2);
    b[n] = '\0';
    return b;
}

/* {"resourceSpans":[{"scopeSpans":[{"spans":[{},{},...]}]}]} of exactly n bytes. */
static char *empty_spans(size_t n, size_t *count)
{
    static const char open[] = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[";
    static const char close[] = "]}]}]}";
    char *b = malloc(n + 1);
    assert_non_null(b);
    size_t pos = sizeof open - 1, k = 0;
    memcpy(b, open, pos);
    while (pos + 3 + sizeof close - 1 <= n) {
        if (k++)
            b[pos++] = ',';
        b[pos++] = '{';
        b[pos++] = '}';
    }
    while (pos < n - (sizeof close - 1))
        b[pos++] = ' ';
    memcpy(b + pos, close, sizeof close);
    *count = k;
    return b;
}

/* '{', spaces, '}': n bytes of a valid and empty OTLP request. */
static char *spaces_object(size_t n)
{
    char *b = malloc(n + 1);
    assert_non_null(b);
    memset(b, ' ', n);
    b[0] = '{';
    b[n - 1] = '}';
    b[n] = '\0';
    return b;
}

/* A raw HTTP/1.1 POST of body to path, keep-alive (malloc'd; its length into *len). */
static char *raw_post(const char *path, const char *body, size_t blen, size_t *len)
{
    char head[512];
    int h = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     path, blen);
    char *r = malloc((size_t)h + blen + 1);
    assert_non_null(r);
    memcpy(r, head, (size_t)h);
    memcpy(r + h, body, blen);
    r[(size_t)h + blen] = '\0';
    *len = (size_t)h + blen;
    return r;
}

/* ---- 1. idle keep-alive connections do not starve a new exporter ---- */

/*
 * {"connection_limit": 8, "idle_timeout_s": 1}: eight clients each export once on a keep-alive
 * connection and keep it open, idle - all the slots. Three more exporters get 503 with
 * Retry-After: 1 and Connection: close at once (not a silent wait in the listen backlog until
 * their own timeout), recorded with reason connection_limit; the idle connections are closed
 * by the server about a second later, and an export gets 200 then.
 */
static void test_idle_connections_do_not_starve_new_exporters(void **state)
{
    (void)state;
    enum { IDLE = 8, MORE = 3 };
    fx *f = fx_open("{\"connection_limit\": 8, \"idle_timeout_s\": 1}");
    int fd[IDLE];
    /* No connection can have been idle for a second before a second after this. */
    int64_t idle_from = t_now_ms();
    for (int i = 0; i < IDLE; i++) {
        fd[i] = t_connect_local(f->port);
        assert_true(fd[i] >= 0);
        char prefix[16];
        snprintf(prefix, sizeof prefix, "idle%d", i);
        char *body = t_otlp_spans(prefix, 1, prefix);
        size_t len;
        char *req = raw_post("/v1/traces", body, strlen(body), &len);
        assert_int_equal(t_send_all(fd[i], req, len, 5000), len);
        free(req);
        free(body);
    }
    for (int i = 0; i < IDLE; i++) {
        char *resp = NULL;
        int st = t_read_response(fd[i], 10000, 0, &resp, NULL);
        if (st != 200)
            fail_msg("idle connection %d: its export got %d: %.200s", i, st, resp);
        /* The answer announces when an idle connection is closed. */
        char ka[32] = "";
        if (!t_http_header(resp, "Keep-Alive", ka, sizeof ka) || strcmp(ka, "timeout=1") != 0)
            fail_msg("idle connection %d: Keep-Alive \"%s\", expected \"timeout=1\"", i, ka);
        free(resp);
    }

    /*
     * An exporter that starts while every idle connection is still open (none has reached EOF
     * on this side) and less than the idle timeout after they went idle finds all the slots
     * held: it must get 503 at once. One that starts later may find a slot freed (200).
     */
    bool closed[IDLE] = {false};
    int refused = 0, late = 0;
    for (int k = 0; k < MORE; k++) {
        bool all_open = true;
        for (int i = 0; i < IDLE; i++) {
            if (!closed[i] && t_recv_until_close(fd[i], 0, NULL, NULL))
                closed[i] = true;
            all_open = all_open && !closed[i];
        }
        bool in_time = all_open && t_now_ms() < idle_from + 1000;
        char prefix[16];
        snprintf(prefix, sizeof prefix, "more%d", k);
        char *body = t_otlp_spans(prefix, 1, prefix);
        call c = {.body = body, .len = strlen(body), .timeout_ms = 5000};
        int64_t t0 = t_now_ms();
        reply r = call_once(f->url, &c);
        int64_t took = t_now_ms() - t0;
        free(body);
        char ra[32] = "", conn[64] = "";
        reply_header(&r, "Retry-After", ra, sizeof ra);
        reply_header(&r, "Connection", conn, sizeof conn);
        printf("  exporter %d: curl %d, status %ld after %lld ms, Retry-After \"%s\","
               " Connection \"%s\"%s\n",
               k, r.code, r.status, (long long)took, ra, conn,
               in_time ? "" : " (started after the idle timeout could have passed)");
        if (r.code != CURLE_OK)
            fail_msg("exporter %d: %s (a wait for a slot instead of an answer)", k,
                     curl_easy_strerror((CURLcode)r.code));
        if (r.status == 503) {
            refused++;
            if (strcmp(ra, "1") != 0 || strcasecmp(conn, "close") != 0)
                fail_msg("exporter %d: 503 with Retry-After \"%s\" and Connection \"%s\", expected"
                         " \"1\" and \"close\"",
                         k, ra, conn);
        } else if (r.status == 200 && !in_time) {
            late++;
        } else {
            fail_msg("exporter %d: status %ld after %lld ms; it started while all 8 slots were"
                     " held by idle connections: expected 503 at once",
                     k, r.status, (long long)took);
        }
        reply_free(&r);
    }
    if (late)
        printf("  note: %d exporters started after the idle timeout could have passed\n", late);

    /* The idle connections are closed by the server (EOF or reset), 1 s after their answer. */
    int nclosed = 0;
    for (int i = 0; i < IDLE; i++) {
        int ms = (int)(idle_from + 5000 - t_now_ms());
        nclosed += closed[i] || t_recv_until_close(fd[i], ms > 0 ? ms : 0, NULL, NULL);
        close(fd[i]);
    }
    /* The server may count a connection it is closing for a moment longer: then the export is
     * told 503 and Retry-After: 1, and retries as an SDK does. */
    char *body = t_otlp_spans("after", 2, "after");
    call c = {.body = body, .len = strlen(body), .timeout_ms = 5000};
    long after_status = 0;
    int after_code = 0, after_tries = 0;
    do {
        if (after_tries++)
            sleep(1);
        reply r = call_once(f->url, &c);
        after_status = r.status;
        after_code = r.code;
        if (after_status == 503)
            refused++;
        reply_free(&r);
    } while (after_status == 503 && after_tries < 3);
    free(body);
    int64_t rows503 = q_wait(f->db, refused,
                             "SELECT COUNT(*) FROM requests WHERE status = 503"
                             " AND reason = 'connection_limit'");
    int64_t idle_items = t_sql_intf(
        f->db, "SELECT COUNT(*) FROM items WHERE item_id LIKE 'idle%%' AND accepted = 1");
    int64_t after_items = t_sql_intf(
        f->db, "SELECT COUNT(*) FROM items WHERE item_id LIKE 'after-%%' AND accepted = 1");
    fx_close(f);
    printf("  %d of %d idle connections closed by the server; the export after: curl %d, %ld\n",
           nclosed, IDLE, after_code, after_status);
    assert_int_equal(nclosed, IDLE);
    assert_int_equal(after_code, CURLE_OK);
    assert_int_equal(after_status, 200);
    assert_int_equal(rows503, refused);
    assert_int_equal(idle_items, IDLE);
    assert_int_equal(after_items, 2);
}

/* ---- 2. an answer the client never read ---- */

/* The number after "key": inside the object after "object": of a /stats body; -1: absent. */
static int64_t stats_num(const char *body, const char *object, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":{", object);
    const char *o = strstr(body, k);
    if (!o)
        return -1;
    const char *end = strchr(o + strlen(k), '}');
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *v = strstr(o, k);
    if (!v || (end && v > end))
        return -1;
    return strtoll(v + strlen(k), NULL, 10);
}

/*
 * Embedded (ING_RUN_EXTERNAL), so that the test decides when the server runs: an exporter
 * gives up after 300 ms while the server is not pumped, and closes its connection; then the
 * server reads the request, commits it and answers a client that is gone. Its row says so
 * (acked = 0, ended 'client_gone') and its items are kept (committed: the exporter saw a failure
 * and may send them again); a request the server answered while its client waited has acked =
 * 1. The threaded server's /stats counts delivered answers.
 */
static void test_an_answer_the_client_gave_up_on_is_recorded_unacknowledged(void **state)
{
    (void)state;
    fx *f = fx_open_mode(NULL, ING_RUN_EXTERNAL);
    char *gone_body = t_otlp_spans("gone", 3, "gone");
    xfer gone;
    call c = {.body = gone_body, .len = strlen(gone_body), .timeout_ms = 300};
    xfer_init(&gone, f->url, &c);
    run_all(&gone, 1, 5000, NULL); /* not pumped: nobody answers */
    int gone_code = gone.r.code;
    reply_free(&gone.r);
    /* Now the server sees the request, and the client's close after it. */
    for (int i = 0; i < 50; i++)
        assert_int_equal(ing_server_pump(f->srv, 20), ING_OK);

    char *kept_body = t_otlp_spans("kept", 2, "kept");
    xfer kept;
    call k = {.body = kept_body, .len = strlen(kept_body), .timeout_ms = 10000};
    xfer_init(&kept, f->url, &k);
    run_all(&kept, 1, 15000, f->srv);
    int kept_code = kept.r.code;
    long kept_status = kept.r.status;
    reply_free(&kept.r);
    for (int i = 0; i < 20; i++)
        assert_int_equal(ing_server_pump(f->srv, 10), ING_OK);
    fx_stop(f);
    free(gone_body);
    free(kept_body);

    printf("  the exporter that gave up: %s\n", curl_easy_strerror((CURLcode)gone_code));
    assert_int_equal(gone_code, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(kept_code, CURLE_OK);
    assert_int_equal(kept_status, 200);
#define ROW_OF(id)                                                                                 \
    "SELECT status || ' acked=' || IFNULL(acked, 'NULL') || ' ended=' || IFNULL(ended, 'NULL')"    \
    " FROM requests WHERE id = (SELECT request FROM items WHERE item_id = '" id "')"
    char *gone_row = t_sql_str(f->db, ROW_OF("gone-0"));
    char *kept_row = t_sql_str(f->db, ROW_OF("kept-0"));
#undef ROW_OF
    printf("  its row: %s; the waiting client's: %s\n", gone_row ? gone_row : "(none)",
           kept_row ? kept_row : "(none)");
    free(gone_row);
    free(kept_row);
    assert_int_equal(
        t_sql_intf(f->db,
                   "SELECT COUNT(*) FROM items WHERE item_id LIKE 'gone-%%' AND accepted = 1"),
        3);
    assert_int_equal(
        t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE id = (SELECT request FROM items"
                          " WHERE item_id = 'gone-0') AND status = 200 AND acked = 0"
                          " AND ended = 'client_gone'"),
        1);
    assert_int_equal(
        t_sql_intf(f->db, "SELECT COUNT(*) FROM requests WHERE id = (SELECT request FROM items"
                          " WHERE item_id = 'kept-0') AND status = 200 AND acked = 1"),
        1);
    fx_close(f);

    /* Threaded: /stats counts the delivered answer (recorded just after it was written). */
    f = fx_open(NULL);
    char *body = t_otlp_spans("stat", 2, "stat");
    call s = {.body = body, .len = strlen(body)};
    reply r = call_once(f->url, &s);
    free(body);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    int64_t delivered = -1;
    char last[4096] = "";
    for (int i = 0; i < 50 && delivered < 1; i++) {
        call g = {.method = "GET", .path = "/stats"};
        r = call_once(f->url, &g);
        delivered = stats_num(r.body, "acks", "delivered");
        snprintf(last, sizeof last, "%s", r.body);
        reply_free(&r);
        if (delivered < 1)
            sleep_ms(100);
    }
    fx_close(f);
    printf("  /stats: %s\n", last);
    if (delivered < 1 || stats_num(last, "acks", "lost") < 0 ||
        stats_num(last, "acks", "unknown") < 0 || !strstr(last, "\"unacknowledged\":"))
        fail_msg("/stats %s: expected \"acks\":{\"delivered\":N >= 1,\"lost\":N,\"unknown\":N}"
                 " and items.\"unacknowledged\"",
                 last);
}

/* ---- 3. refusals decided on the headers reach the client ---- */

enum { R_KEYED, R_PLAIN, R_SMALL, R_N };
static const char *const r_config[R_N] = {
    [R_KEYED] = "{\"keys\": [\"right-key\"]}",
    [R_PLAIN] = NULL,
    [R_SMALL] = "{\"max_body_bytes\": 524288}",
};

typedef struct refusal {
    const char *name;
    int srv;
    const char *path;
    const char *ctype;
    const char *header;
    long status;
    const char *reason;
} refusal;

static const refusal refusals[] = {
    {"401 a wrong key", R_KEYED, "/v1/traces", NULL, "Authorization: Bearer wrong-key", 401,
     "unauthorized"},
    {"404 an unknown path", R_PLAIN, "/v1/nowhere", NULL, NULL, 404, "not_found"},
    {"415 text/plain", R_PLAIN, "/v1/traces", "text/plain", NULL, 415, "unsupported_media_type"},
    {"413 over max_body_bytes", R_SMALL, "/v1/traces", NULL, NULL, 413, "too_large"},
};

/*
 * A client that writes its whole request before it reads anything, as most HTTP client
 * libraries do (libcurl reads while it sends, and so sees an early answer that they would lose
 * to the reset of a connection closed with their body unread): the status it reads, or -1;
 * how much of the request it could send into *sent.
 */
static int send_whole_then_read(uint16_t port, const refusal *rf, const char *body, size_t len,
                                size_t *sent, size_t *total)
{
    char head[1024];
    int hl = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n%s%s"
                      "Content-Length: %zu\r\n\r\n",
                      rf->path, rf->ctype ? rf->ctype : "application/json",
                      rf->header ? rf->header : "", rf->header ? "\r\n" : "", len);
    int fd = t_connect_local(port);
    assert_true(fd >= 0);
    *total = (size_t)hl + len;
    *sent = t_send_all(fd, head, (size_t)hl, 10000);
    if (*sent == (size_t)hl)
        *sent += t_send_all(fd, body, len, 60000);
    char *resp = NULL;
    int st = t_read_response(fd, 30000, 0, &resp, NULL);
    free(resp);
    close(fd);
    return st;
}

enum { V_CURL, V_CURL_EXPECT, V_WHOLE, V_N };
static const char *const v_name[V_N] = {"libcurl, no Expect", "libcurl, Expect: 100-continue",
                                        "whole request, then read"};

/*
 * 401, 404, 415 and 413 (by Content-Length) for bodies of 1, 4 and 16 MiB, three clients each:
 * with Expect: 100-continue the refusal comes instead of the 100 and before any of the body;
 * without, the server reads the body (and drops it) before it answers. So libcurl gets
 * CURLE_OK and the status every time, and a client that sends all before reading gets to send
 * it all and then reads the status: never a failed send or a reset in place of the answer.
 */
static void test_refusals_on_headers_reach_the_client(void **state)
{
    (void)state;
    static const size_t mib[] = {1, 4, 16};
    enum { NR = sizeof refusals / sizeof refusals[0], PER = 3 * V_N };
    fx *srv[R_N];
    for (int i = 0; i < R_N; i++)
        srv[i] = fx_open(r_config[i]);
    char *bodies[3];
    for (int s = 0; s < 3; s++)
        bodies[s] = padding_json(mib[s] << 20);
    int bad = 0, n = 0;
    int64_t sent_to[R_N] = {0};
    for (int i = 0; i < NR; i++) {
        const refusal *rf = &refusals[i];
        for (int s = 0; s < 3; s++) {
            size_t len = mib[s] << 20;
            for (int v = 0; v < V_N; v++) {
                char what[160];
                bool ok;
                if (v == V_WHOLE) {
                    size_t sent = 0, total = 0;
                    int st =
                        send_whole_then_read(srv[rf->srv]->port, rf, bodies[s], len, &sent, &total);
                    ok = sent == total && st == rf->status;
                    snprintf(what, sizeof what, "%zu of %zu bytes sent, status %d", sent, total,
                             st);
                } else {
                    call c = {.path = rf->path,
                              .ctype = rf->ctype,
                              .headers = {rf->header},
                              .body = bodies[s],
                              .len = len,
                              .timeout_ms = 60000,
                              .expect = v == V_CURL_EXPECT};
                    reply r = call_once(srv[rf->srv]->url, &c);
                    ok = r.code == CURLE_OK && r.status == rf->status;
                    /* Refused before the body: no 100, and nothing of the body sent. */
                    if (v == V_CURL_EXPECT && (r.got_100 || r.uploaded != 0))
                        ok = false;
                    snprintf(what, sizeof what, "%s, status %ld%s, %lld body bytes sent",
                             curl_easy_strerror((CURLcode)r.code), r.status,
                             r.got_100 ? " after a 100 Continue" : "", (long long)r.uploaded);
                    reply_free(&r);
                }
                n++;
                sent_to[rf->srv]++;
                printf("  %s%s, %zu MiB, %s: %s\n", ok ? "" : "WRONG ", rf->name, mib[s], v_name[v],
                       what);
                bad += !ok;
            }
        }
    }
    /* Every refusal is recorded with its reason. */
    int64_t rows[NR];
    for (int i = 0; i < NR; i++)
        rows[i] = q_wait(srv[refusals[i].srv]->db, PER,
                         "SELECT COUNT(*) FROM requests WHERE status = %ld AND reason = '%s'",
                         refusals[i].status, refusals[i].reason);
    int64_t total[R_N];
    for (int i = 0; i < R_N; i++)
        total[i] = t_sql_intf(srv[i]->db, "SELECT COUNT(*) FROM requests");
    for (int i = 0; i < R_N; i++)
        fx_close(srv[i]);
    for (int s = 0; s < 3; s++)
        free(bodies[s]);
    if (bad)
        fail_msg("%d of %d refusals did not reach their client as expected", bad, n);
    for (int i = 0; i < NR; i++)
        if (rows[i] != PER)
            fail_msg("%s: %lld rows with its status and reason, expected %d", refusals[i].name,
                     (long long)rows[i], PER);
    for (int i = 0; i < R_N; i++)
        assert_int_equal(total[i], sent_to[i]);
}

/* ---- 4. memory: hostile bodies, then big honest ones ---- */

/* Stops the spawned binary: SIGTERM (it commits and exits), SIGKILL after 10 s. */
static int stop_child(pid_t pid)
{
    kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -2;
}

/* Lets the server come to rest: it answers /stats (so every request before is done), 1 s. */
static void settle(const char *url)
{
    call g = {.method = "GET", .path = "/stats", .timeout_ms = 10000};
    reply r = call_once(url, &g);
    reply_free(&r);
    sleep_ms(1000);
}

/*
 * The binary alone, with {"memory_budget_bytes": 268435456}. Eight 4 MiB bodies of empty spans
 * (1.4 million items each) at once: each is refused, 413 (items per request, the decoder's
 * bound) or 503 (the budget), none times out, the peak stays under 768 MiB and the memory is
 * given back. Then eight honest 5000-span bodies at once are all accepted, every item recorded,
 * and the memory is given back again.
 */
static void test_memory_stays_bounded(void **state)
{
    (void)state;
    enum { N = 8, SPANS = 5000 };
    char *dir = t_mkdtemp();
    assert_non_null(dir);
    char *db = t_path(dir, "ingest.db");
    /* idle_timeout_s: the one HTTP thread decodes each 4 MiB body in turn, and the others'
     * connections move no bytes meanwhile; 8 of them under AddressSanitizer on a busy
     * 2-core machine took more than the default 3 s, and two were closed unanswered. That
     * is not what this test measures. */
    char *cfg = t_write_file(dir, "ingest.json",
                             "{\"memory_budget_bytes\": 268435456, \"idle_timeout_s\": 60}\n");
    assert_non_null(cfg);
    char flag[600], url[128];
    snprintf(flag, sizeof flag, "--config=%s", cfg);
    pid_t pid = t_spawn_ingest(mock_ingest_bin, db, flag, url, sizeof url);
    assert_true(pid > 0);

    settle(url);
    int64_t base = t_proc_status_kb(pid, "VmRSS");
    size_t count = 0;
    char *junk = empty_spans((size_t)4 << 20, &count);
    xfer xs[N];
    for (int i = 0; i < N; i++) {
        call c = {.body = junk, .len = (size_t)4 << 20, .timeout_ms = 30000};
        xfer_init(&xs[i], url, &c);
    }
    run_all(xs, N, 60000, NULL);
    int refused = 0;
    char seen[N][96];
    for (int i = 0; i < N; i++) {
        snprintf(seen[i], sizeof seen[i], "%s, %ld", curl_easy_strerror((CURLcode)xs[i].r.code),
                 xs[i].r.status);
        refused += xs[i].r.code == CURLE_OK && (xs[i].r.status == 413 || xs[i].r.status == 503);
        reply_free(&xs[i].r);
    }
    free(junk);
    int64_t hwm = t_proc_status_kb(pid, "VmHWM");
    settle(url);
    int64_t after_junk = t_proc_status_kb(pid, "VmRSS");

    char *honest[N];
    for (int i = 0; i < N; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "mem%d", i);
        honest[i] = t_otlp_spans(prefix, SPANS, prefix);
        call c = {.body = honest[i], .len = strlen(honest[i]), .timeout_ms = 60000};
        xfer_init(&xs[i], url, &c);
    }
    run_all(xs, N, 90000, NULL);
    int accepted = 0;
    for (int i = 0; i < N; i++) {
        accepted += xs[i].r.code == CURLE_OK && xs[i].r.status == 200;
        reply_free(&xs[i].r);
        free(honest[i]);
    }
    settle(url);
    int64_t after_honest = t_proc_status_kb(pid, "VmRSS");
    int64_t hwm_end = t_proc_status_kb(pid, "VmHWM");
    int exit_code = stop_child(pid); /* before any assertion */

    printf("  %zu empty spans per 4 MiB body:", count);
    for (int i = 0; i < N; i++)
        printf("%s %s", i ? ";" : "", seen[i]);
    printf("\n  VmRSS at rest %lld MiB, VmHWM after them %lld MiB, VmRSS after them %lld MiB;"
           " after %d honest bodies %lld MiB (VmHWM %lld MiB)\n",
           (long long)base >> 10, (long long)hwm >> 10, (long long)after_junk >> 10, N,
           (long long)after_honest >> 10, (long long)hwm_end >> 10);
    int64_t items =
        t_sql_intf(db, "SELECT COUNT(*) FROM items WHERE item_id LIKE 'mem%%' AND accepted = 1");
    t_rmtree(dir);
    free(cfg);
    free(db);
    free(dir);
    assert_int_equal(exit_code, 0);
    assert_true(base > 0);
    if (refused != N)
        fail_msg("%d of %d hostile bodies were refused with 413 or 503", refused, N);
    assert_int_equal(accepted, N);
    assert_int_equal(items, N * SPANS);
    if (UNDER_ASAN) {
        printf("  note: built with AddressSanitizer: the RSS bounds are not checked\n");
        return;
    }
    if (hwm >= 768 << 10)
        fail_msg("peak RSS %lld MiB with 8 hostile bodies, expected under 768 MiB",
                 (long long)hwm >> 10);
    if (after_junk >= base + (96 << 10))
        fail_msg("RSS %lld MiB after the hostile bodies, expected under %lld + 96 MiB",
                 (long long)after_junk >> 10, (long long)base >> 10);
    if (after_honest >= base + (96 << 10))
        fail_msg("RSS %lld MiB after the honest bodies, expected under %lld + 96 MiB",
                 (long long)after_honest >> 10, (long long)base >> 10);
}

/* ---- 5. slowloris ---- */

typedef struct exporter {
    const char *url;
    int attempts, refused;
    int code;
    long status;
} exporter;

/* An exporter that retries after a 503's Retry-After: at most 8 attempts of 5 s each. */
static void *export_with_retries(void *arg)
{
    exporter *e = arg;
    char *body = t_otlp_spans("loris", 3, "loris");
    while (e->attempts < 8) {
        e->attempts++;
        call c = {.body = body, .len = strlen(body), .timeout_ms = 5000};
        reply r = call_once(e->url, &c);
        e->code = r.code;
        e->status = r.status;
        char ra[32] = "";
        reply_header(&r, "Retry-After", ra, sizeof ra);
        reply_free(&r);
        if (e->code != CURLE_OK || e->status != 503)
            break;
        e->refused++;
        int s = atoi(ra);
        sleep_ms(1000 * (s < 1 ? 1 : s > 2 ? 2 : s));
    }
    free(body);
    return NULL;
}

/*
 * {"connection_limit": 16, "header_timeout_s": 1}: 26 clients each send a request line and a
 * header, then one more header byte every 300 ms for 4 s - never idle, never done. The server
 * closes every one within 5 s (the head's deadline counts from the connection's start, not from
 * its last byte), and an exporter that retries on 503 after its Retry-After gets its 200.
 */
static void test_slow_heads_do_not_starve_an_exporter(void **state)
{
    (void)state;
    enum { SLOW = 26 };
    static const char head[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\n";
    static const char drip[] = "X-Slowloris: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    fx *f = fx_open("{\"connection_limit\": 16, \"header_timeout_s\": 1}");
    int fd[SLOW];
    int64_t closed_at[SLOW] = {0};
    int64_t start = t_now_ms();
    for (int i = 0; i < SLOW; i++) {
        fd[i] = t_connect_local(f->port);
        assert_true(fd[i] >= 0);
        if (t_send_all(fd[i], head, sizeof head - 1, 1000) != sizeof head - 1)
            closed_at[i] = t_now_ms();
    }
    exporter e = {.url = f->url};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, export_with_retries, &e), 0);
    for (int tick = 0; t_now_ms() < start + 4000; tick++) {
        for (int i = 0; i < SLOW; i++) {
            if (closed_at[i])
                continue;
            if (t_recv_until_close(fd[i], 0, NULL, NULL) ||
                t_send_all(fd[i], &drip[tick % (sizeof drip - 1)], 1, 1000) != 1)
                closed_at[i] = t_now_ms();
        }
        int64_t next = start + 300 * (int64_t)(tick + 1);
        if (next > t_now_ms())
            sleep_ms((int)(next - t_now_ms()));
    }
    /* No more bytes: every one must be closed by 5 s from the start. */
    for (int i = 0; i < SLOW; i++) {
        if (closed_at[i])
            continue;
        int ms = (int)(start + 5000 - t_now_ms());
        if (t_recv_until_close(fd[i], ms > 0 ? ms : 0, NULL, NULL))
            closed_at[i] = t_now_ms();
    }
    pthread_join(th, NULL);
    int open = 0;
    int64_t last = 0;
    for (int i = 0; i < SLOW; i++) {
        close(fd[i]);
        if (!closed_at[i])
            open++;
        else if (closed_at[i] - start > last)
            last = closed_at[i] - start;
    }
    fx_close(f);
    printf("  %d of %d slow heads still open at 5 s (the last closed at %lld ms); the exporter:"
           " %d attempts, %d refused with 503, then %s, %ld\n",
           open, SLOW, (long long)last, e.attempts, e.refused, curl_easy_strerror((CURLcode)e.code),
           e.status);
    assert_int_equal(open, 0);
    assert_int_equal(e.code, CURLE_OK);
    assert_int_equal(e.status, 200);
}

/*
 * {"body_timeout_s": 2, "min_body_rate": 1000}: a complete head announcing 1000 bytes, then one
 * byte every 300 ms. The server closes the connection within 5 s and records the request with
 * 408, reason body_timeout.
 */
static void test_a_slow_body_is_cut_off(void **state)
{
    (void)state;
    static const char head[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    fx *f = fx_open("{\"body_timeout_s\": 2, \"min_body_rate\": 1000}");
    int fd = t_connect_local(f->port);
    assert_true(fd >= 0);
    assert_int_equal(t_send_all(fd, head, sizeof head - 1, 1000), sizeof head - 1);
    int64_t start = t_now_ms(), closed_at = 0;
    int sent = 0;
    while (!closed_at && t_now_ms() < start + 5000) {
        if (t_recv_until_close(fd, 300, NULL, NULL) ||
            t_send_all(fd, sent ? " " : "{", 1, 1000) != 1)
            closed_at = t_now_ms();
        else
            sent++;
    }
    int64_t ended = closed_at ? closed_at : t_now_ms();
    close(fd);
    int64_t rows = q_wait(f->db, 1,
                          "SELECT COUNT(*) FROM requests WHERE status = 408"
                          " AND reason = 'body_timeout'");
    char *row = t_sql_str(f->db, "SELECT status || ' ' || IFNULL(reason, 'NULL') FROM requests"
                                 " ORDER BY id DESC LIMIT 1");
    fx_close(f);
    printf("  %d body bytes sent; %s after %lld ms; its row: %s\n", sent,
           closed_at ? "closed by the server" : "still open", (long long)(ended - start),
           row ? row : "(none)");
    free(row);
    assert_true(closed_at != 0);
    assert_int_equal(rows, 1);
}

/* ---- 6. protocol details, by hand on a raw socket ---- */

enum { P_PLAIN, P_CORS_ANY, P_CORS_ONE, P_CAP, P_CAP_429, P_CAP_503, P_N };
static const char *const p_config[P_N] = {
    [P_PLAIN] = NULL,
    [P_CORS_ANY] = "{\"cors\": \"*\"}",
    [P_CORS_ONE] = "{\"cors\": \"http://app.example\"}",
    [P_CAP] = "{\"cap\": {\"items\": 2, \"window_s\": 9e9}}",
    [P_CAP_429] = "{\"cap\": {\"items\": 2, \"window_s\": 9e9, \"status\": 429}}",
    [P_CAP_503] = "{\"cap\": {\"items\": 2, \"window_s\": 9e9, \"status\": 503}}",
};

typedef enum {
    PB_NONE,
    PB_SPANS,          /* n spans, item ids {p}-0... */
    PB_GZIP_TWO,       /* 5 spans: half of the text in one gzip member, the rest in another */
    PB_BAD_DATAPOINTS, /* a good gauge point {p}-0 and a metric with "dataPoints": {} */
    PB_NUL,            /* n = 1 spans with a raw NUL byte inside the span's name */
    PB_SPACES_12M,     /* {, 12 MiB of blanks, } */
    PB_SPACES_21M,
} pbody;

typedef enum { CL_ONE, CL_TWICE_EQUAL, CL_TWICE_DIFFERENT } pframing;

#define PREFLIGHT                                                                                  \
    "Origin: http://app.example\r\nAccess-Control-Request-Method: POST\r\n"                        \
    "Access-Control-Request-Headers: content-type\r\n"
#define ORIGIN "Origin: http://app.example\r\n"

typedef struct pcase {
    const char *name;
    int srv;
    const char *method;  /* NULL: POST */
    const char *path;    /* NULL: /v1/traces */
    const char *headers; /* more header lines, each ending in \r\n */
    pbody body;
    int n;
    pframing framing;
    long status;
    /* "Name: text": present, its value containing text (case-insensitive); "Name=text": present
     * with exactly that value; "Name": present. */
    const char *has[3];
    const char *lacks[3]; /* header names that must be absent */
    const char *body_has[3];
    bool no_body;      /* nothing after the head */
    const char *check; /* SQL that must give 1, {p} standing for the case's item prefix */
} pcase;

#define NO_ITEMS "SELECT COUNT(*) = 0 FROM items WHERE item_id LIKE '{p}%'"
#define LAST_ROW(cond)                                                                             \
    "SELECT COUNT(*) FROM requests WHERE id = (SELECT MAX(id) FROM requests) AND " cond
#define ACCEPTED(k)                                                                                \
    "SELECT COUNT(*) = " #k " FROM items WHERE item_id LIKE '{p}-%' AND accepted = 1"
#define NO_CORS                                                                                    \
    .lacks = {"Access-Control-Allow-Origin", "Access-Control-Allow-Methods",                       \
              "Access-Control-Allow-Headers"}

static const pcase pcases[] = {
    {"POST /v1/traces/ (a trailing slash) is /v1/traces", P_PLAIN, .path = "/v1/traces/",
     .body = PB_SPANS, .n = 2, .status = 200, .check = ACCEPTED(2)},
    {"GET / answers 200 JSON with \"status\":\"ok\"", P_PLAIN, "GET", "/", .status = 200,
     .has = {"Content-Type: application/json"}, .body_has = {"\"status\":\"ok\""}},
    {"HEAD / answers 200 without a body", P_PLAIN, "HEAD", "/", .status = 200, .no_body = true},
    {"HEAD /v1/traces answers 200 without a body", P_PLAIN, "HEAD", "/v1/traces", .status = 200,
     .no_body = true},
    {"HEAD /v1/metrics answers 200 without a body", P_PLAIN, "HEAD", "/v1/metrics", .status = 200,
     .no_body = true},
    {"HEAD /v1/logs answers 200 without a body", P_PLAIN, "HEAD", "/v1/logs", .status = 200,
     .no_body = true},
    {"OPTIONS without \"cors\" is 405, without CORS headers", P_PLAIN, "OPTIONS", "/v1/traces",
     PREFLIGHT, .status = 405, NO_CORS},
    {"a POST with an Origin without \"cors\" gets no CORS header", P_PLAIN, .headers = ORIGIN,
     .body = PB_SPANS, .n = 1, .status = 200, NO_CORS, .check = ACCEPTED(1)},
    {"/v1/traces%00 is an unknown path", P_PLAIN, .path = "/v1/traces%00", .body = PB_SPANS, .n = 1,
     .status = 404, .check = NO_ITEMS},
    {"two Content-Length headers that differ: 400", P_PLAIN, .body = PB_SPANS, .n = 1,
     .framing = CL_TWICE_DIFFERENT, .status = 400, .check = NO_ITEMS},
    {"two equal Content-Length headers are accepted", P_PLAIN, .body = PB_SPANS, .n = 2,
     .framing = CL_TWICE_EQUAL, .status = 200, .check = ACCEPTED(2)},
    {"two gzip members: one stream, the items of both", P_PLAIN,
     .headers = "Content-Encoding: gzip\r\n", .body = PB_GZIP_TWO, .status = 200,
     .check = ACCEPTED(5)},
    {"\"dataPoints\": {} beside a good metric: 200 with partialSuccess", P_PLAIN,
     .path = "/v1/metrics", .body = PB_BAD_DATAPOINTS, .status = 200,
     .body_has = {"\"partialSuccess\"", "\"rejectedDataPoints\":\"1\"", "\"errorMessage\":\""},
     .check = "SELECT COUNT(*) FROM items i JOIN requests r ON r.id = i.request WHERE"
              " i.item_id = '{p}-0' AND i.accepted = 1 AND r.status = 200"
              " AND r.reason = 'partial'"},
    {"a raw NUL byte inside the JSON: 400", P_PLAIN, .body = PB_NUL, .n = 1, .status = 400,
     .check = LAST_ROW("status = 400 AND reason = 'bad_json'")},
    {"12 MiB is under the default max_body_bytes (20 MiB)", P_PLAIN, .body = PB_SPACES_12M,
     .status = 200},
    {"21 MiB is over it: 413", P_PLAIN, .body = PB_SPACES_21M, .status = 413,
     .check = LAST_ROW("status = 413 AND reason = 'too_large'")},
    {"\"cors\": \"*\": the preflight gets 204 and the CORS headers", P_CORS_ANY, "OPTIONS",
     "/v1/traces", PREFLIGHT, .status = 204,
     .has = {"Access-Control-Allow-Origin=*", "Access-Control-Allow-Methods: POST",
             "Access-Control-Allow-Headers: Content-Type"}},
    {"\"cors\": \"*\": a preflight for /v1/logs too", P_CORS_ANY, "OPTIONS", "/v1/logs", PREFLIGHT,
     .status = 204,
     .has = {"Access-Control-Allow-Origin=*", "Access-Control-Allow-Methods: POST",
             "Access-Control-Allow-Headers: Content-Type"}},
    {"\"cors\": \"*\": a POST with an Origin gets Access-Control-Allow-Origin", P_CORS_ANY,
     .headers = ORIGIN, .body = PB_SPANS, .n = 1, .status = 200,
     .has = {"Access-Control-Allow-Origin=*"}, .check = ACCEPTED(1)},
    {"\"cors\": an origin: the preflight allows that origin", P_CORS_ONE, "OPTIONS", "/v1/traces",
     PREFLIGHT, .status = 204,
     .has = {"Access-Control-Allow-Origin=http://app.example", "Access-Control-Allow-Methods: POST",
             "Access-Control-Allow-Headers: Content-Type"}},
    {"\"cors\": an origin: a POST from it gets it back", P_CORS_ONE, .headers = ORIGIN,
     .body = PB_SPANS, .n = 1, .status = 200,
     .has = {"Access-Control-Allow-Origin=http://app.example"}, .check = ACCEPTED(1)},
    {"a cap answers 403 by default", P_CAP, .body = PB_SPANS, .n = 3, .status = 403,
     .check = LAST_ROW("status = 403 AND reason = 'cap'")},
    {"a cap with \"status\": 429 answers 429 with Retry-After", P_CAP_429, .body = PB_SPANS, .n = 3,
     .status = 429, .has = {"Retry-After"}, .check = LAST_ROW("status = 429 AND reason = 'cap'")},
    {"a cap with \"status\": 503 answers 503 with Retry-After", P_CAP_503, .body = PB_SPANS, .n = 3,
     .status = 503, .has = {"Retry-After"}, .check = LAST_ROW("status = 503 AND reason = 'cap'")},
};

/* A good gauge point {p}-0 (%s: the prefix) and a metric whose "dataPoints" is an object. */
#define BAD_DATAPOINTS                                                                             \
    "{\"resourceMetrics\":[{\"resource\":{},\"scopeMetrics\":[{\"scope\":{\"name\":\"t\"},"        \
    "\"metrics\":[{\"name\":\"good\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":"                \
    "\"1700000000000000000\",\"asDouble\":1.5,\"attributes\":[{\"key\":\"edgeloss.item_id\","      \
    "\"value\":{\"stringValue\":\"%s-0\"}}]}]}},"                                                  \
    "{\"name\":\"bad\",\"gauge\":{\"dataPoints\":{}}}]}]}]}"

/* The case's body, its length into *len (may hold a NUL). */
static char *pcase_body(const pcase *c, const char *prefix, size_t *len)
{
    char *b = NULL;
    switch (c->body) {
    case PB_NONE:
        *len = 0;
        return NULL;
    case PB_SPANS:
        b = t_otlp_spans(prefix, c->n, prefix);
        *len = strlen(b);
        return b;
    case PB_GZIP_TWO: {
        /* One document, its first half gzipped, then the rest in a second member: decoded
         * as one stream (RFC 1952: a gzip file is a series of members), it is whole. */
        char *doc = t_otlp_spans(prefix, 5, prefix);
        size_t n = strlen(doc), half = n / 2, n1, n2;
        char *g1 = t_gzip(doc, half, &n1), *g2 = t_gzip(doc + half, n - half, &n2);
        b = malloc(n1 + n2);
        assert_non_null(b);
        memcpy(b, g1, n1);
        memcpy(b + n1, g2, n2);
        *len = n1 + n2;
        free(doc);
        free(g1);
        free(g2);
        return b;
    }
    case PB_BAD_DATAPOINTS: {
        size_t n = sizeof BAD_DATAPOINTS + strlen(prefix);
        b = malloc(n);
        assert_non_null(b);
        snprintf(b, n, BAD_DATAPOINTS, prefix);
#undef BAD_DATAPOINTS
        *len = strlen(b);
        return b;
    }
    case PB_NUL: {
        b = t_otlp_spans(prefix, 1, prefix);
        *len = strlen(b);
        char *name = strstr(b, "\"span-0\"");
        assert_non_null(name);
        name[3] = '\0'; /* "sp\0n-0" */
        return b;
    }
    case PB_SPACES_12M:
        *len = (size_t)12 << 20;
        return spaces_object(*len);
    case PB_SPACES_21M:
        *len = (size_t)21 << 20;
        return spaces_object(*len);
    }
    return NULL;
}

/* tmpl with every {p} replaced by prefix. */
static void subst(const char *tmpl, const char *prefix, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *s = tmpl; *s && o + 1 < outlen;) {
        if (strncmp(s, "{p}", 3) == 0) {
            o += (size_t)snprintf(out + o, outlen - o, "%s", prefix);
            s += 3;
        } else {
            out[o++] = *s++;
        }
    }
    out[o < outlen ? o : outlen - 1] = '\0';
}

/* Whether `s` contains `word`, ignoring case. */
static bool contains_nocase(const char *s, const char *word)
{
    size_t wl = strlen(word);
    for (; *s; s++)
        if (strncasecmp(s, word, wl) == 0)
            return true;
    return false;
}

/* Runs one case on its server; what is wrong into why (empty: right). */
static void run_pcase(fx *f, const pcase *c, const char *prefix, char *why, size_t whylen)
{
    why[0] = '\0';
    size_t blen = 0;
    char *body = pcase_body(c, prefix, &blen);
    const char *method = c->method ? c->method : "POST";
    bool head_only = strcmp(method, "HEAD") == 0;
    char framing[128] = "";
    if (body || strcmp(method, "POST") == 0) {
        if (c->framing == CL_ONE)
            snprintf(framing, sizeof framing, "Content-Length: %zu\r\n", blen);
        else
            snprintf(framing, sizeof framing, "Content-Length: %zu\r\nContent-Length: %zu\r\n",
                     blen, c->framing == CL_TWICE_EQUAL ? blen : blen + 7);
    }
    char head[2048];
    int hl = snprintf(
        head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s\r\n",
        method, c->path ? c->path : "/v1/traces", body ? "Content-Type: application/json\r\n" : "",
        c->headers ? c->headers : "", framing);
    int fd = t_connect_local(f->port);
    assert_true(fd >= 0);
    size_t sent = t_send_all(fd, head, (size_t)hl, 10000);
    if (sent == (size_t)hl && body)
        sent += t_send_all(fd, body, blen, 30000);
    free(body);
    char *resp = NULL;
    int st = t_read_response(fd, 30000, head_only, &resp, NULL);
    char *extra = NULL;
    size_t nextra = 0;
    if (st > 0 && c->no_body)
        t_recv_until_close(fd, 2000, &extra, &nextra);
    close(fd);
    size_t w = 0;
#define WHY(...)                                                                                   \
    do {                                                                                           \
        if (w < whylen)                                                                            \
            w += (size_t)snprintf(why + w, whylen - w, __VA_ARGS__);                               \
    } while (0)
    if (st != c->status) {
        char first[160];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(resp, "\r\n"), resp);
        WHY("status %d, expected %ld (%s%s); ", st, c->status, first[0] ? first : "no answer",
            sent < (size_t)hl + blen ? ", the request was cut short" : "");
    }
    if (st > 0) {
        for (int i = 0; i < 3 && c->has[i]; i++) {
            char name[64], v[256];
            size_t nl = strcspn(c->has[i], ":=");
            snprintf(name, sizeof name, "%.*s", (int)nl, c->has[i]);
            const char *want = c->has[i][nl] ? c->has[i] + nl + 1 : NULL;
            while (want && *want == ' ')
                want++;
            if (!t_http_header(resp, name, v, sizeof v))
                WHY("no %s header; ", name);
            else if (want && c->has[i][nl] == '=' && strcmp(v, want) != 0)
                WHY("%s: \"%s\", expected \"%s\"; ", name, v, want);
            else if (want && c->has[i][nl] == ':' && !contains_nocase(v, want))
                WHY("%s: \"%s\" lacks %s; ", name, v, want);
        }
        for (int i = 0; i < 3 && c->lacks[i]; i++) {
            char v[256];
            if (t_http_header(resp, c->lacks[i], v, sizeof v))
                WHY("%s: \"%s\" where none is expected; ", c->lacks[i], v);
        }
        const char *b = t_http_body(resp);
        for (int i = 0; i < 3 && c->body_has[i]; i++)
            if (!b || !strstr(b, c->body_has[i]))
                WHY("the body %.200s lacks %s; ", b ? b : "", c->body_has[i]);
        if (c->no_body && ((b && *b) || nextra))
            WHY("%zu body bytes after the head, expected none; ", (b ? strlen(b) : 0) + nextra);
    }
    if (c->check) {
        char sql[1024];
        subst(c->check, prefix, sql, sizeof sql);
        int64_t v = q_wait(f->db, 1, "%s", sql);
        if (v != 1)
            WHY("the database fails %s (%lld); ", sql, (long long)v);
    }
#undef WHY
    free(resp);
    free(extra);
}

static void test_protocol_details(void **state)
{
    (void)state;
    fx *srv[P_N];
    for (int i = 0; i < P_N; i++)
        srv[i] = fx_open(p_config[i]);
    enum { NP = sizeof pcases / sizeof pcases[0] };
    int bad = 0;
    for (int i = 0; i < NP; i++) {
        char prefix[16], why[2048];
        snprintf(prefix, sizeof prefix, "p%02d", i);
        run_pcase(srv[pcases[i].srv], &pcases[i], prefix, why, sizeof why);
        printf("  %-4s %s%s%s\n", why[0] ? "FAIL" : "ok", pcases[i].name, why[0] ? ": " : "", why);
        bad += why[0] != '\0';
    }
    for (int i = 0; i < P_N; i++)
        fx_close(srv[i]);
    if (bad)
        fail_msg("%d of %d protocol details are wrong (listed above)", bad, (int)NP);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s PATH-TO-MOCK-INGEST [TEST-NAME-PATTERN]\n", argv[0]);
        return 2;
    }
    if (argc == 3)
        cmocka_set_test_filter(argv[2]);
    mock_ingest_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0); /* the notes in order with cmocka's lines */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_connections_do_not_starve_new_exporters),
        cmocka_unit_test(test_an_answer_the_client_gave_up_on_is_recorded_unacknowledged),
        cmocka_unit_test(test_refusals_on_headers_reach_the_client),
        cmocka_unit_test(test_memory_stays_bounded),
        cmocka_unit_test(test_slow_heads_do_not_starve_an_exporter),
        cmocka_unit_test(test_a_slow_body_is_cut_off),
        cmocka_unit_test(test_protocol_details),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
