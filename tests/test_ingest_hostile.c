/*
 * Hostile HTTP input against mock-ingest. Every case is one real request made
 * with libcurl to the real server on 127.0.0.1 port 0, with the status it must
 * get, a part of the message it must carry, and what it may leave in the
 * database, read back with independent SQL on the file. The cases run in table
 * order against five servers (trusting or not, keys, caps), because some of
 * them build on the ones before (a cap fills up). Afterwards every server must
 * still answer, and every item acknowledged before and during the attack must
 * still be there, once, accepted; the capped servers are then restarted on
 * their files and must enforce the same caps.
 *
 * Usage: test_ingest_hostile PATH-TO-MOCK-INGEST (the binary, for its
 * --trust-sim-headers flag).
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *mock_ingest_bin;

/* ---- the servers ---- */

enum {
    S_TRUSTED,        /* no keys, no cap, trusts X-Edgeloss-* (as the embedded one) */
    S_UNTRUSTED,      /* no keys, no cap, does not (the standalone default) */
    S_KEYED,          /* keys alpha and beta, 5 items each per window */
    S_CAPPED,         /* no keys, 5 items per client address per window */
    S_CAPPED_TRUSTED, /* no keys, 5 items per 60 s window of virtual time */
    S_COUNT
};

/* Windows of 9e9 s: the wall clock stays in window 0 (aligned to 1970) for
 * centuries, so a cap on the wall clock cannot roll over during the test. */
static const char *const srv_config[S_COUNT] = {
    [S_TRUSTED] = "{\"max_body_bytes\": 1048576}",
    [S_UNTRUSTED] = "{\"max_body_bytes\": 1048576}",
    [S_KEYED] = "{\"keys\": [\"alpha\", \"beta\"], \"cap\": {\"items\": 5, \"window_s\": 9e9}}",
    [S_CAPPED] = "{\"cap\": {\"items\": 5, \"window_s\": 9e9}}",
    [S_CAPPED_TRUSTED] = "{\"cap\": {\"items\": 5, \"window_s\": 60}}",
};
static const bool srv_trust[S_COUNT] = {[S_TRUSTED] = true, [S_CAPPED_TRUSTED] = true};
static const char *const srv_name[S_COUNT] = {"trusted", "untrusted", "keyed", "capped",
                                              "capped-trusted"};

typedef struct server {
    char *dir, *db;
    ing_server *srv;
    char url[128];
} server;

static void server_start(server *s, int which)
{
    char err[512] = "";
    ing_config *cfg = NULL;
    if (ing_config_parse(srv_config[which], srv_name[which], &cfg, err, sizeof err))
        fail_msg("config: %s", err);
    ing_options opt = {.db_path = s->db,
                       .config = cfg,
                       .mode = ING_RUN_THREAD,
                       .trust_sim_headers = srv_trust[which]};
    int rc = ing_server_open(&opt, &s->srv, err, sizeof err);
    ing_config_free(cfg);
    if (rc)
        fail_msg("open %s: %s", srv_name[which], err);
    snprintf(s->url, sizeof s->url, "%s", ing_server_url(s->srv));
}

static int64_t q(const server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t q(const server *s, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return t_sql_int(s->db, sql);
}

/* ---- bodies ---- */

typedef enum {
    B_NONE,       /* no body */
    B_TEXT,       /* `text` as is */
    B_SPANS,      /* n good spans with item ids "<case>-<i>" */
    B_GZIP_SPANS, /* the same, gzip-compressed */
    B_GZIP_TEXT,  /* `text`, gzip-compressed */
    B_GZIP_TRUNC, /* n good spans, gzip-compressed, cut in half */
    B_GZIP_TWICE, /* n good spans as two gzip members back to back */
    B_GZIP_BOMB,  /* 16 MiB of JSON whitespace, ~16 KiB compressed */
    B_DEEP,       /* 100000 nested arrays */
    B_DEEP_VALUE, /* a log body nested 200 AnyValues deep (within the parser's limit) */
    B_MANY,       /* n minimal good spans with item ids */
    B_BIG,        /* 2 MiB of JSON whitespace (over the 1 MiB limit) */
    B_NUL,        /* "{", a NUL byte, "}" */
    B_JUNK,       /* n spans that are empty objects */
} body_kind;

typedef struct blob {
    char *p;
    size_t n;
} blob;

static void blob_add(blob *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void blob_add(blob *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    b->p = realloc(b->p, b->n + (size_t)k + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static blob spaces_object(size_t n)
{
    blob b = {malloc(n + 1), n};
    memset(b.p, ' ', n);
    b.p[0] = '{';
    b.p[n - 1] = '}';
    b.p[n] = '\0';
    return b;
}

static blob gzipped(blob in)
{
    blob out;
    out.p = t_gzip(in.p, in.n, &out.n);
    free(in.p);
    return out;
}

static blob make_body(body_kind kind, const char *text, int n, const char *prefix)
{
    blob b = {0};
    switch (kind) {
    case B_NONE:
        break;
    case B_TEXT:
        b.n = strlen(text);
        b.p = malloc(b.n + 1);
        memcpy(b.p, text, b.n + 1);
        break;
    case B_SPANS:
        b.p = t_otlp_spans(prefix, n, prefix);
        b.n = strlen(b.p);
        break;
    case B_GZIP_SPANS:
        b = make_body(B_SPANS, NULL, n, prefix);
        b = gzipped(b);
        break;
    case B_GZIP_TEXT:
        b = gzipped(make_body(B_TEXT, text, 0, prefix));
        break;
    case B_GZIP_TRUNC:
        b = make_body(B_GZIP_SPANS, NULL, n, prefix);
        b.n /= 2;
        break;
    case B_GZIP_TWICE: {
        blob one = make_body(B_GZIP_SPANS, NULL, n, prefix);
        b.p = malloc(one.n * 2);
        memcpy(b.p, one.p, one.n);
        memcpy(b.p + one.n, one.p, one.n);
        b.n = one.n * 2;
        free(one.p);
        break;
    }
    case B_GZIP_BOMB:
        b = gzipped(spaces_object((size_t)16 << 20));
        break;
    case B_DEEP: {
        enum { DEPTH = 100000 };
        b.p = malloc(2 * DEPTH + 1);
        memset(b.p, '[', DEPTH);
        memset(b.p + DEPTH, ']', DEPTH);
        b.n = 2 * DEPTH;
        b.p[b.n] = '\0';
        break;
    }
    case B_DEEP_VALUE:
        blob_add(&b,
                 "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"attributes\":[{\"key\":"
                 "\"edgeloss.item_id\",\"value\":{\"stringValue\":\"%s-0\"}}],\"body\":",
                 prefix);
        for (int i = 0; i < 200; i++)
            blob_add(&b, "{\"arrayValue\":{\"values\":[");
        blob_add(&b, "{\"stringValue\":\"bottom\"}");
        for (int i = 0; i < 200; i++)
            blob_add(&b, "]}}");
        blob_add(&b, "}]}]}]}");
        break;
    case B_MANY:
        blob_add(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[");
        for (int i = 0; i < n; i++)
            blob_add(&b,
                     "%s{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"%016x\","
                     "\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":"
                     "\"%s-%d\"}}]}",
                     i ? "," : "", (unsigned)i + 1, prefix, i);
        blob_add(&b, "]}]}]}");
        break;
    case B_BIG:
        b = spaces_object((size_t)2 << 20);
        break;
    case B_NUL:
        b.p = malloc(3);
        memcpy(b.p, "{\0}", 3);
        b.n = 3;
        break;
    case B_JUNK:
        blob_add(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[");
        for (int i = 0; i < n; i++)
            blob_add(&b, i ? ",{}" : "{}");
        blob_add(&b, "]}]}]}");
        break;
    }
    return b;
}

/* ---- one request ---- */

typedef struct answer {
    int curl_code;
    long status;
    char *body;
    char retry_after[32];
} answer;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    blob *b = ud;
    size_t n = size * nmemb;
    b->p = realloc(b->p, b->n + n + 1);
    memcpy(b->p + b->n, ptr, n);
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    answer *a = ud;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
        size_t i = 12;
        while (i < n && ptr[i] == ' ')
            i++;
        size_t k = 0;
        while (i < n && ptr[i] != '\r' && ptr[i] != '\n' && k + 1 < sizeof a->retry_after)
            a->retry_after[k++] = ptr[i++];
        a->retry_after[k] = '\0';
    }
    return n;
}

typedef struct readsrc {
    const char *p;
    size_t left;
} readsrc;

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    readsrc *r = ud;
    size_t n = size * nitems;
    if (n > 4096)
        n = 4096; /* many chunks */
    if (n > r->left)
        n = r->left;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    return n;
}

#define MAX_HEADERS 4

typedef struct request {
    const char *method; /* NULL: POST */
    const char *path;   /* NULL: /v1/traces */
    const char *headers[MAX_HEADERS];
    const char *from; /* source address; NULL: 127.0.0.1 */
    bool chunked;
} request;

/* Sends raw: the path as is (no dot-segment clean-up), the headers as given,
 * Content-Type: application/json unless one of them is a Content-Type. */
static answer send_raw(const char *base, const request *rq, const blob *body)
{
    answer a = {0};
    blob got = {0};
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    bool has_ct = false;
    for (int i = 0; i < MAX_HEADERS && rq->headers[i]; i++) {
        hd = curl_slist_append(hd, rq->headers[i]);
        has_ct |= strncasecmp(rq->headers[i], "Content-Type", 12) == 0;
    }
    if (!has_ct)
        hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Expect:");
    readsrc src = {body->p, body->n};
    char url[16384];
    snprintf(url, sizeof url, "%s%s", base, rq->path ? rq->path : "/v1/traces");
    const char *method = rq->method ? rq->method : "POST";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    /* curl sends a big body after "Expect: 100-continue" only once the server said go on
     * (or refused): not after its default 1 s, which on a loaded machine raced the 413 and
     * the close that follows it ("Failed sending data to the peer"). */
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 30000L);
    if (rq->from) {
        char iface[64];
        snprintf(iface, sizeof iface, "host!%s", rq->from);
        curl_easy_setopt(h, CURLOPT_INTERFACE, iface);
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") == 0 && !body->p) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (rq->chunked) {
        hd = curl_slist_append(hd, "Transfer-Encoding: chunked");
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &src);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->p ? body->p : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->n);
    }
    if (strcmp(method, "POST") != 0 && strcmp(method, "HEAD") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    a.curl_code = (int)curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    a.body = got.p ? got.p : strdup("");
    return a;
}

/* ---- the cases ---- */

#define NO_ROW  NULL /* not recorded at all (GET /stats, or refused by libmicrohttpd itself) */
#define FULL_OK "-"  /* recorded with reason NULL: full success */

typedef struct hcase {
    const char *name;
    int srv;
    request rq;
    body_kind body;
    const char *text; /* B_TEXT, B_GZIP_TEXT */
    int n;            /* items for B_SPANS, B_GZIP_*, B_MANY, B_JUNK */
    long status;
    const char *msg;    /* part of the answer's body; NULL: not checked */
    const char *reason; /* requests.reason of its row, FULL_OK, or NO_ROW */
    int accepted;       /* item rows recorded accepted */
    int rejected;       /* item rows recorded rejected */
    const char *check;  /* more about its row (alias r), must hold; NULL: none */
    const char *retry_after;
} hcase;

/* Header lines too long to write out, filled in by main() before the tests run. */
static char hdr_run256[300], hdr_run255[300], hdr_key300[400], hdr_big[40100];

#define INT64_MAX_S "9223372036854775807"
#define WALL_ONLY                                                                                  \
    "r.time_source = 'wall' AND r.time_ns = r.wall_ns AND r.run IS NULL AND r.attempt IS NULL"

/* Shorthands for the table: the request's headers, its body, what it must get. */
#define HDRS(...)       .rq = {.headers = {__VA_ARGS__}}
#define SPANS(k)        .body = B_SPANS, .n = (k)
#define TEXT(t)         .body = B_TEXT, .text = (t)
#define GET(st, m, r)   .status = (st), .msg = (m), .reason = (r)
#define ITEMS(acc, rej) .accepted = (acc), .rejected = (rej)
#define BAD_HEADER(m)   GET(400, m, "bad_header")
#define OK(acc)         GET(200, NULL, FULL_OK), ITEMS(acc, 0)
#define CAPPED(m, rej)  GET(403, m, "cap"), ITEMS(0, rej)

static const hcase cases[] = {
    /* The simulator's headers, trusted: every value out of range is a 400. */
    {"time not a number", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: soon"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Time-Ns: expected a whole number")},
    {"time negative", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: -1"), SPANS(1),
     BAD_HEADER("from 0 to 9223372036854775807")},
    {"time of 20 digits", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 99999999999999999999"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Time-Ns")},
    {"time INT64_MAX + 1", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 9223372036854775808"), SPANS(1),
     BAD_HEADER("got \\\"9223372036854775808\\\"")},
    {"time with a sign", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: +5"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Time-Ns")},
    {"time in hex", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 0x10"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Time-Ns")},
    {"time with an exponent", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 1e9"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Time-Ns")},
    {"time with a blank inside", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 12 34"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Time-Ns")},
    {"time empty", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns;"), SPANS(1), BAD_HEADER("got \\\"\\\"")},
    {"time given twice", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 5", "X-Edgeloss-Time-Ns: 6"),
     SPANS(1), BAD_HEADER("given more than once")},
    {"attempt negative", S_TRUSTED, HDRS("X-Edgeloss-Attempt: -1"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Attempt: expected a whole number from 0 to 4294967295")},
    {"attempt past uint32", S_TRUSTED, HDRS("X-Edgeloss-Attempt: 4294967296"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Attempt")},
    {"attempt a word", S_TRUSTED, HDRS("X-Edgeloss-Attempt: three"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Attempt")},
    {"run id of 256 bytes", S_TRUSTED, HDRS(hdr_run256), SPANS(1),
     BAD_HEADER("X-Edgeloss-Run: expected 1 to 255 printable ASCII characters (256 bytes sent)")},
    {"run id with a control byte", S_TRUSTED, HDRS("X-Edgeloss-Run: a\x01z"), SPANS(1),
     BAD_HEADER("got \\\"a?z\\\"")},
    {"run id not ASCII", S_TRUSTED, HDRS("X-Edgeloss-Run: caf\xc3\xa9"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Run")},
    {"run id empty", S_TRUSTED, HDRS("X-Edgeloss-Run;"), SPANS(1), BAD_HEADER("X-Edgeloss-Run")},
    /* ...and the edges of the ranges are accepted, and recorded as sent. */
    {"time INT64_MAX, no cap", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: " INT64_MAX_S), SPANS(2), OK(2),
     .check = "r.time_ns = " INT64_MAX_S " AND r.time_source = 'virtual'"},
    {"time 0 with trailing blanks", S_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 0  "), SPANS(1), OK(1),
     .check = "r.time_ns = 0 AND r.time_source = 'virtual'"},
    {"attempt at its maximum", S_TRUSTED, HDRS("X-Edgeloss-Attempt: 4294967295"), SPANS(1), OK(1),
     .check = "r.attempt = 4294967295"},
    {"run id of 255 bytes", S_TRUSTED, HDRS(hdr_run255), SPANS(1), OK(1),
     .check = "length(r.run) = 255"},

    /* Untrusted: the same headers are ignored, whatever their values. */
    {"untrusted: time, run and attempt ignored", S_UNTRUSTED,
     HDRS("X-Edgeloss-Time-Ns: 42", "X-Edgeloss-Run: forged", "X-Edgeloss-Attempt: 7"), SPANS(2),
     OK(2), .check = WALL_ONLY},
    {"untrusted: out-of-range values ignored, not refused", S_UNTRUSTED,
     HDRS("X-Edgeloss-Time-Ns: -1", "X-Edgeloss-Attempt: x", "X-Edgeloss-Run;"), SPANS(1), OK(1),
     .check = WALL_ONLY},

    /* Paths and methods. */
    {"unknown path", S_UNTRUSTED, .rq = {.path = "/v1/trace"}, SPANS(1),
     GET(404, "unknown path", "not_found")},
    {"path with a trailing slash (accepted: an SDK's endpoint joined with a slash)", S_UNTRUSTED,
     .rq = {.path = "/v1/traces/"}, SPANS(1), OK(1)},
    {"path with two trailing slashes", S_UNTRUSTED, .rq = {.path = "/v1/traces//"}, SPANS(1),
     GET(404, NULL, "not_found")},
    {"path in capitals", S_UNTRUSTED, .rq = {.path = "/V1/TRACES"}, SPANS(1),
     GET(404, NULL, "not_found")},
    {"path with a dot segment", S_UNTRUSTED, .rq = {.path = "/x/../v1/traces"}, SPANS(1),
     GET(404, NULL, "not_found"), .check = "r.path = '/x/../v1/traces'"},
    {"path of 8000 bytes", S_UNTRUSTED, .rq = {.path = NULL /* long_path, set when it runs */},
     SPANS(1), GET(404, NULL, "not_found"),
     .check = "r.message LIKE 'unknown path%' AND r.client = '127.0.0.1'"},
    {"GET an OTLP path", S_UNTRUSTED, .rq = {.method = "GET"},
     GET(405, "POST only", "method_not_allowed")},
    {"PUT an OTLP path", S_UNTRUSTED, .rq = {.method = "PUT", .path = "/v1/logs"}, TEXT("{}"),
     GET(405, NULL, "method_not_allowed")},
    {"HEAD an OTLP path (a health check, not recorded)", S_UNTRUSTED, .rq = {.method = "HEAD"},
     GET(200, NULL, NO_ROW)},
    {"OPTIONS without cors configured", S_UNTRUSTED, .rq = {.method = "OPTIONS"},
     GET(405, NULL, "method_not_allowed")},
    {"a made-up method", S_UNTRUSTED, .rq = {.method = "BREW"}, TEXT("{}"),
     GET(405, NULL, "method_not_allowed")},
    {"POST /stats", S_UNTRUSTED, .rq = {.path = "/stats"}, TEXT("{}"),
     GET(405, "/stats accepts GET", "method_not_allowed")},
    {"GET /stats is answered and not recorded", S_UNTRUSTED,
     .rq = {.method = "GET", .path = "/stats"}, GET(200, "\"requests\"", NO_ROW)},
    {"a header block over libmicrohttpd's memory", S_UNTRUSTED, HDRS(hdr_big), SPANS(1),
     GET(431, "too big", NO_ROW)},

    /* Content type and encoding. */
    {"text/plain", S_UNTRUSTED, HDRS("Content-Type: text/plain"), SPANS(1),
     GET(415, "Content-Type must be application/json", "unsupported_media_type")},
    {"truncated protobuf", S_UNTRUSTED, HDRS("Content-Type: application/x-protobuf"),
     TEXT("\x0a\x02"), GET(400, NULL, "bad_protobuf")},
    {"protobuf of no spans (an empty message is a valid one)", S_UNTRUSTED,
     HDRS("Content-Type: application/protobuf"), TEXT(""), GET(200, NULL, FULL_OK), ITEMS(0, 0)},
    {"no content type", S_UNTRUSTED, HDRS("Content-Type:"), SPANS(1),
     GET(415, NULL, "unsupported_media_type")},
    {"application/json with a suffix", S_UNTRUSTED, HDRS("Content-Type: application/jsonp"),
     SPANS(1), GET(415, NULL, "unsupported_media_type")},
    {"application/json with a charset", S_UNTRUSTED,
     HDRS("Content-Type: application/json; charset=utf-8"), SPANS(1), OK(1)},
    {"brotli", S_UNTRUSTED, HDRS("Content-Encoding: br"), SPANS(1),
     GET(415, "gzip or identity", "unsupported_encoding")},
    {"two encodings", S_UNTRUSTED, HDRS("Content-Encoding: gzip, gzip"), .body = B_GZIP_SPANS,
     .n = 1, GET(415, NULL, "unsupported_encoding")},

    /* gzip. */
    {"gzip that is not gzip", S_UNTRUSTED, HDRS("Content-Encoding: gzip"), SPANS(1),
     GET(400, "not valid gzip", "bad_gzip")},
    {"truncated gzip", S_UNTRUSTED, HDRS("Content-Encoding: gzip"), .body = B_GZIP_TRUNC, .n = 3,
     GET(400, "not valid gzip", "bad_gzip")},
    /* Members are decompressed one after the other (RFC 1952): two whole bodies back to back
     * are one body with trailing data, refused whole, never half decoded. */
    {"two gzip members, each a whole body", S_UNTRUSTED, HDRS("Content-Encoding: gzip"),
     .body = B_GZIP_TWICE, .n = 2, GET(400, "trailing data", "bad_json")},
    {"gzip bomb", S_UNTRUSTED, HDRS("Content-Encoding: gzip"), .body = B_GZIP_BOMB,
     GET(413, "decompressed body exceeds", "too_large")},
    {"gzip of truncated JSON", S_UNTRUSTED, HDRS("Content-Encoding: gzip"), .body = B_GZIP_TEXT,
     .text = "{\"resourceSpans\":[{", GET(400, "not valid JSON", "bad_json")},
    {"good gzip", S_UNTRUSTED, HDRS("Content-Encoding: gzip"), .body = B_GZIP_SPANS, .n = 3, OK(3)},

    /* Sizes. */
    {"body over the limit", S_UNTRUSTED, .body = B_BIG, GET(413, "size limit", "too_large")},
    {"chunked body over the limit", S_UNTRUSTED, .rq = {.chunked = true}, .body = B_BIG,
     GET(413, NULL, "too_large")},
    {"declared length over the limit", S_UNTRUSTED, HDRS("Content-Length: 99999999999"), TEXT("{}"),
     GET(413, "size limit", "too_large")},
    {"5000 spans", S_UNTRUSTED, .body = B_MANY, .n = 5000, OK(5000)},
    {"50000 junk spans", S_UNTRUSTED, .body = B_JUNK, .n = 50000,
     GET(200, "\"rejectedSpans\":\"50000\"", "partial"), ITEMS(0, 50000)},

    /* JSON. */
    {"empty body", S_UNTRUSTED, GET(400, "empty body", "bad_json")},
    {"truncated JSON", S_UNTRUSTED, TEXT("{\"resourceSpans\":[{\"scopeSpans\":["),
     GET(400, "not valid JSON", "bad_json")},
    {"JSON with trailing data", S_UNTRUSTED, TEXT("{} {}"), GET(400, "trailing data", "bad_json")},
    {"a NUL inside", S_UNTRUSTED, .body = B_NUL, GET(400, "NUL byte at offset", "bad_json")},
    {"100000 nested arrays", S_UNTRUSTED, .body = B_DEEP, GET(400, "not valid JSON", "bad_json")},
    {"a value nested 200 deep", S_UNTRUSTED, .rq = {.path = "/v1/logs"}, .body = B_DEEP_VALUE,
     OK(1)},
    {"root is an array", S_UNTRUSTED, TEXT("[]"), GET(400, "top level", "bad_json")},
    {"root is null", S_UNTRUSTED, TEXT("null"), GET(400, "top level", "bad_json")},
    {"root is a number", S_UNTRUSTED, .rq = {.path = "/v1/metrics"}, TEXT("42"),
     GET(400, "top level", "bad_json")},
    {"resourceSpans a string", S_UNTRUSTED, TEXT("{\"resourceSpans\":\"x\"}"),
     GET(400, "$.resourceSpans: expected an array", "bad_json")},
    {"spans an object", S_UNTRUSTED,
     TEXT("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":{}}]}]}"),
     GET(400, "expected an array", "bad_json")},
    {"ids of the wrong types", S_UNTRUSTED,
     TEXT("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
          "{\"traceId\":12345,\"spanId\":\"00f067aa0ba902b7\"},"
          "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":true},"
          "{\"traceId\":[],\"spanId\":{}},"
          "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"00f067aa0ba902b7\"}"
          "]}]}]}"),
     GET(200, "\"rejectedSpans\":\"3\"", "partial"), ITEMS(1, 3)},
    {"a time past int64", S_UNTRUSTED,
     TEXT("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
          "\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"00f067aa0ba902b7\","
          "\"startTimeUnixNano\":\"99999999999999999999\"}]}]}]}"),
     GET(200, "\"rejectedSpans\":\"1\"", "partial"), ITEMS(0, 1)},

    /* Authorization, with keys. */
    {"no key", S_KEYED, SPANS(1), GET(401, "missing API key", "unauthorized")},
    {"Basic scheme", S_KEYED, HDRS("Authorization: Basic YWxwaGE6"), SPANS(1),
     GET(401, "unsupported Authorization scheme", "unauthorized")},
    {"Bearer without a key", S_KEYED, HDRS("Authorization: Bearer"), SPANS(1),
     GET(401, "missing API key", "unauthorized")},
    {"Bearer glued to the key", S_KEYED, HDRS("Authorization: Beareralpha"), SPANS(1),
     GET(401, "unsupported Authorization scheme", "unauthorized")},
    {"a key and more", S_KEYED, HDRS("Authorization: Bearer alpha junk"), SPANS(1),
     GET(401, "nothing after the key", "unauthorized")},
    {"a key in other case", S_KEYED, HDRS("Authorization: Bearer ALPHA"), SPANS(1),
     GET(401, "unknown API key", "unauthorized")},
    {"a prefix of a key", S_KEYED, HDRS("Authorization: Bearer alph"), SPANS(1),
     GET(401, "unknown API key", "unauthorized")},
    {"a key of 300 bytes", S_KEYED, HDRS(hdr_key300), SPANS(1),
     GET(401, "unknown API key", "unauthorized")},
    {"the scheme in lower case is fine", S_KEYED, HDRS("Authorization: bearer alpha"), SPANS(3),
     OK(3), .check = "r.api_key = 'alpha'"},
    {"alpha over its cap", S_KEYED, HDRS("Authorization: Bearer alpha"), SPANS(3),
     CAPPED("cap exceeded: 3 of 5", 3)},
    {"a forged key is not a fresh cap", S_KEYED, HDRS("Authorization: Bearer gamma"), SPANS(1),
     GET(401, "unknown API key", "unauthorized")},
    {"beta has its own cap", S_KEYED, HDRS("Authorization: Bearer beta"), SPANS(5), OK(5)},

    /* Keyless caps count per client address, not per made-up bearer key. */
    {"made-up key 1", S_CAPPED, HDRS("Authorization: Bearer made-up-1"), SPANS(2), OK(2),
     .check = "r.api_key = 'made-up-1' AND r.client = '127.0.0.1'"},
    {"made-up key 2", S_CAPPED, HDRS("Authorization: Bearer made-up-2"), SPANS(2), OK(2)},
    {"made-up key 3 shares the address's cap", S_CAPPED, HDRS("Authorization: Bearer made-up-3"),
     SPANS(2), CAPPED("cap exceeded: 4 of 5", 2)},
    {"no key, the last item of the cap", S_CAPPED, SPANS(1), OK(1)},
    {"untrusted time cannot pick a fresh window", S_CAPPED,
     HDRS("X-Edgeloss-Time-Ns: " INT64_MAX_S), SPANS(1), CAPPED("cap exceeded: 5 of 5", 1),
     .check = WALL_ONLY},
    {"another address has its own cap", S_CAPPED,
     .rq = {.headers = {"Authorization: Bearer made-up-1"}, .from = "127.0.0.2"}, SPANS(1), OK(1),
     .check = "r.client = '127.0.0.2'"},
    {"...which fills up too", S_CAPPED, .rq = {.from = "127.0.0.2"}, SPANS(5),
     CAPPED("cap exceeded: 1 of 5", 5)},
    {"a third address", S_CAPPED, .rq = {.from = "127.0.0.3"}, SPANS(4), OK(4)},

    /* Caps at the end of time (the first of these was undefined behaviour: the
     * window's end overflowed int64_t), and windows of virtual time. */
    {"a cap window at INT64_MAX", S_CAPPED_TRUSTED, HDRS("X-Edgeloss-Time-Ns: " INT64_MAX_S),
     SPANS(3), OK(3), .check = "r.time_ns = " INT64_MAX_S},
    {"over the cap at INT64_MAX", S_CAPPED_TRUSTED, HDRS("X-Edgeloss-Time-Ns: " INT64_MAX_S),
     SPANS(3), CAPPED("cap exceeded: 3 of 5", 3), .retry_after = "1"},
    {"the same window just before", S_CAPPED_TRUSTED,
     HDRS("X-Edgeloss-Time-Ns: 9223372036854775806"), SPANS(2), OK(2)},
    {"past INT64_MAX", S_CAPPED_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 9223372036854775808"), SPANS(1),
     BAD_HEADER("X-Edgeloss-Time-Ns")},
    {"the last ns of window 0", S_CAPPED_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 59999999999"), SPANS(5),
     OK(5)},
    {"window 0 is full", S_CAPPED_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 59999999999"), SPANS(1),
     CAPPED(NULL, 1), .retry_after = "1"},
    {"window 1 starts empty", S_CAPPED_TRUSTED, HDRS("X-Edgeloss-Time-Ns: 60000000000"), SPANS(1),
     OK(1)},
    {"Retry-After counts to the window's end", S_CAPPED_TRUSTED,
     HDRS("X-Edgeloss-Time-Ns: 60000000000"), SPANS(5), CAPPED(NULL, 5), .retry_after = "60"},
};

enum { NCASES = sizeof cases / sizeof cases[0] };

/* Run after a restart of the capped servers on their files: the same caps hold. */
static const hcase after_restart[] = {
    {"restarted: 127.0.0.1 is still full", S_CAPPED, SPANS(1), CAPPED("cap exceeded: 5 of 5", 1)},
    {"restarted: 127.0.0.2 has 4 left", S_CAPPED, .rq = {.from = "127.0.0.2"}, SPANS(4), OK(4)},
    {"restarted: 127.0.0.2 is full now", S_CAPPED, .rq = {.from = "127.0.0.2"}, SPANS(1),
     CAPPED("cap exceeded: 5 of 5", 1)},
    {"restarted: the window at INT64_MAX is still full", S_CAPPED_TRUSTED,
     HDRS("X-Edgeloss-Time-Ns: " INT64_MAX_S), SPANS(1), CAPPED("cap exceeded: 5 of 5", 1),
     .retry_after = "1"},
    {"restarted: alpha still has 3 of 5", S_KEYED, HDRS("Authorization: Bearer alpha"), SPANS(3),
     CAPPED("cap exceeded: 3 of 5", 3)},
    {"restarted: beta is full", S_KEYED, HDRS("Authorization: Bearer beta"), SPANS(1),
     CAPPED("cap exceeded: 5 of 5", 1)},
};

enum { NAFTER = sizeof after_restart / sizeof after_restart[0] };

/* What the servers acknowledged: every one must still be there at the end. */
typedef struct acked {
    int srv;
    char prefix[16];
    int n;
} acked;

static acked acks[NCASES + NAFTER + S_COUNT];
static int nacks;

static void ack(int srv, const char *prefix, int n)
{
    acks[nacks].srv = srv;
    snprintf(acks[nacks].prefix, sizeof acks[nacks].prefix, "%s", prefix);
    acks[nacks].n = n;
    nacks++;
}

static void assert_acks_intact(server *srv)
{
    for (int i = 0; i < nacks; i++) {
        server *s = &srv[acks[i].srv];
        int64_t got = q(s,
                        "SELECT COUNT(*) FROM items i JOIN requests r ON r.id = i.request"
                        " WHERE i.item_id LIKE '%s-%%' AND i.accepted = 1 AND r.status = 200",
                        acks[i].prefix);
        int64_t all = q(s, "SELECT COUNT(*) FROM items WHERE item_id LIKE '%s-%%'", acks[i].prefix);
        if (got != acks[i].n || all != acks[i].n)
            fail_msg("%s: acknowledged %d items %s-*, %lld recorded accepted of %lld",
                     srv_name[acks[i].srv], acks[i].n, acks[i].prefix, (long long)got,
                     (long long)all);
    }
}

static int64_t requests_now(const server *s)
{
    return q(s, "SELECT COUNT(*) FROM requests");
}

typedef struct tally {
    int sent, right_status, right_message, right_record;
} tally;

/* Sends one case and checks its answer and its record; `tag` prefixes its item ids. */
static void run_case(server *srv, const hcase *c, const char *tag, tally *t)
{
    server *s = &srv[c->srv];
    blob body = make_body(c->body, c->text, c->n, tag);
    int64_t req_before = requests_now(s);
    int64_t items_before = q(s, "SELECT COUNT(*) FROM items");
    answer a = send_raw(s->url, &c->rq, &body);
    free(body.p);
    t->sent++;
    if (a.curl_code != 0)
        fail_msg("%s \"%s\": the exchange failed: %s", tag, c->name,
                 curl_easy_strerror((CURLcode)a.curl_code));
    if (a.status != c->status)
        fail_msg("%s \"%s\": status %ld, expected %ld; answer %.300s", tag, c->name, a.status,
                 c->status, a.body);
    t->right_status++;
    if (c->msg && !strstr(a.body, c->msg))
        fail_msg("%s \"%s\": answer %.300s lacks %s", tag, c->name, a.body, c->msg);
    /* The ingest's refusals carry a google.rpc.Status, in JSON or, to a protobuf request,
     * in protobuf (field 1, the code, first: byte 08); libmicrohttpd's own (NO_ROW: it
     * refused before the ingest saw the request) do not. */
    bool head = c->rq.method && strcmp(c->rq.method, "HEAD") == 0;
    bool status = strstr(a.body, "\"code\":") || a.body[0] == '\x08';
    if (c->status >= 400 && !head && c->reason != NO_ROW && !status)
        fail_msg("%s \"%s\": error answer %.300s is not a Status", tag, c->name, a.body);
    if (c->retry_after && strcmp(a.retry_after, c->retry_after) != 0)
        fail_msg("%s \"%s\": Retry-After \"%s\", expected \"%s\"", tag, c->name, a.retry_after,
                 c->retry_after);
    t->right_message++;
    free(a.body);

    if (c->reason == NO_ROW) {
        usleep(100000); /* a row would have been committed by now */
        assert_int_equal(requests_now(s), req_before);
        assert_int_equal(q(s, "SELECT COUNT(*) FROM items"), items_before);
        t->right_record++;
        return;
    }
    /* A refusal may be answered just before its row commits: wait for it. */
    for (int i = 0; i < 500 && requests_now(s) == req_before; i++)
        usleep(10000);
    if (requests_now(s) != req_before + 1)
        fail_msg("%s \"%s\": %lld request rows recorded, expected 1", tag, c->name,
                 (long long)(requests_now(s) - req_before));
    const char *last = "(SELECT MAX(id) FROM requests)";
    int64_t ok;
    if (strcmp(c->reason, FULL_OK) == 0)
        ok = q(s, "SELECT COUNT(*) FROM requests WHERE id = %s AND status = %ld AND reason IS NULL",
               last, c->status);
    else
        ok = q(s, "SELECT COUNT(*) FROM requests WHERE id = %s AND status = %ld AND reason = '%s'",
               last, c->status, c->reason);
    if (ok != 1)
        fail_msg("%s \"%s\": its row does not have status %ld and reason %s", tag, c->name,
                 c->status, c->reason);
    int64_t acc = q(s, "SELECT COUNT(*) FROM items WHERE request = %s AND accepted = 1", last);
    int64_t rej = q(s, "SELECT COUNT(*) FROM items WHERE request = %s AND accepted = 0", last);
    if (acc != c->accepted || rej != c->rejected)
        fail_msg("%s \"%s\": %lld accepted and %lld rejected items recorded, expected %d and %d",
                 tag, c->name, (long long)acc, (long long)rej, c->accepted, c->rejected);
    assert_int_equal(q(s, "SELECT COUNT(*) FROM items"), items_before + acc + rej);
    if (c->check &&
        q(s, "SELECT COUNT(*) FROM requests r WHERE r.id = %s AND (%s)", last, c->check) != 1)
        fail_msg("%s \"%s\": its row fails %s", tag, c->name, c->check);
    t->right_record++;
    if (c->status == 200 && c->accepted > 0 &&
        (c->body == B_SPANS || c->body == B_GZIP_SPANS || c->body == B_MANY))
        ack(c->srv, tag, c->accepted);
}

static void restart(server *s, int which)
{
    ing_server_close(s->srv);
    server_start(s, which);
}

static char long_path[8100];

static void test_hostile_requests(void **state)
{
    (void)state;
    server srv[S_COUNT];
    for (int i = 0; i < S_COUNT; i++) {
        srv[i].dir = t_mkdtemp();
        assert_non_null(srv[i].dir);
        srv[i].db = t_path(srv[i].dir, "ingest.db");
        server_start(&srv[i], i);
    }
    /* Acknowledged before the attack (the capped servers' budgets are left whole). */
    for (int i = S_TRUSTED; i <= S_UNTRUSTED; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "base%d", i);
        blob b = make_body(B_SPANS, NULL, 4, tag);
        request rq = {0};
        answer a = send_raw(srv[i].url, &rq, &b);
        assert_int_equal(a.status, 200);
        free(a.body);
        free(b.p);
        ack(i, tag, 4);
    }

    tally t = {0};
    for (int i = 0; i < NCASES; i++) {
        hcase c = cases[i];
        if (strcmp(c.name, "path of 8000 bytes") == 0)
            c.rq.path = long_path;
        char tag[16];
        snprintf(tag, sizeof tag, "h%03d", i);
        run_case(srv, &c, tag, &t);
    }

    /* Every server still answers, and what they acknowledged is all there. */
    int alive = 0;
    for (int i = 0; i < S_COUNT; i++) {
        request get = {.method = "GET", .path = "/stats"};
        blob none = {0};
        answer a = send_raw(srv[i].url, &get, &none);
        assert_int_equal(a.curl_code, 0);
        assert_int_equal(a.status, 200);
        free(a.body);
        alive++;
    }
    assert_acks_intact(srv);
    for (int i = 0; i < S_COUNT; i++) {
        /* Nothing claims acceptance outside a 2xx. */
        assert_int_equal(q(&srv[i], "SELECT COUNT(*) FROM items i JOIN requests r"
                                    " ON r.id = i.request WHERE i.accepted = 1"
                                    " AND r.status NOT BETWEEN 200 AND 299"),
                         0);
    }

    /* Restarted on their files, the capped servers enforce the same caps: the
     * counts come from the database (per address, per key, and up to INT64_MAX). */
    restart(&srv[S_CAPPED], S_CAPPED);
    restart(&srv[S_CAPPED_TRUSTED], S_CAPPED_TRUSTED);
    restart(&srv[S_KEYED], S_KEYED);
    for (int i = 0; i < NAFTER; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "a%03d", i);
        run_case(srv, &after_restart[i], tag, &t);
    }
    assert_acks_intact(srv);
    printf("hostile requests: %d sent, %d with the expected status, %d with the expected answer,"
           " %d recorded as expected; %d of %d servers alive after them\n",
           t.sent, t.right_status, t.right_message, t.right_record, alive, S_COUNT);
    for (int i = 0; i < S_COUNT; i++) {
        ing_server_close(srv[i].srv);
        t_rmtree(srv[i].dir);
        free(srv[i].db);
        free(srv[i].dir);
    }
}

/* ---- the binary's flag ---- */

static void test_binary_trusts_sim_headers_only_with_the_flag(void **state)
{
    (void)state;
    const char *flags[2] = {NULL, "--trust-sim-headers"};
    for (int k = 0; k < 2; k++) {
        char *dir = t_mkdtemp();
        char *db = t_path(dir, "ingest.db");
        char url[128];
        pid_t pid = t_spawn_ingest(mock_ingest_bin, db, flags[k], url, sizeof url);
        assert_true(pid > 0);
        blob b = make_body(B_SPANS, NULL, 2, k ? "flag1" : "flag0");
        request good = {.headers = {"X-Edgeloss-Time-Ns: 42", "X-Edgeloss-Run: run-7",
                                    "X-Edgeloss-Attempt: 2"}};
        answer a = send_raw(url, &good, &b);
        assert_int_equal(a.status, 200);
        free(a.body);
        request bad = {.headers = {"X-Edgeloss-Time-Ns: -42"}};
        a = send_raw(url, &bad, &b);
        assert_int_equal(a.status, k ? 400 : 200); /* checked only when trusted */
        free(a.body);
        free(b.p);
        kill(pid, SIGTERM); /* commits what is pending, exits 0 */
        int st = 0;
        waitpid(pid, &st, 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        if (k)
            assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM requests WHERE id = 1 AND"
                                           " time_ns = 42 AND time_source = 'virtual' AND"
                                           " run = 'run-7' AND attempt = 2"),
                             1);
        else
            assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM requests WHERE id = 1 AND"
                                           " time_source = 'wall' AND time_ns = wall_ns AND"
                                           " run IS NULL AND attempt IS NULL"),
                             1);
        assert_int_equal(t_sql_int(db, "SELECT COUNT(*) FROM items WHERE accepted = 1"), k ? 2 : 4);
        t_rmtree(dir);
        free(db);
        free(dir);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-MOCK-INGEST\n", argv[0]);
        return 2;
    }
    mock_ingest_bin = argv[1];
    snprintf(hdr_run256, sizeof hdr_run256, "X-Edgeloss-Run: %0256d", 0);
    snprintf(hdr_run255, sizeof hdr_run255, "X-Edgeloss-Run: %0255d", 0);
    snprintf(hdr_key300, sizeof hdr_key300, "Authorization: Bearer %0300d", 0);
    snprintf(hdr_big, sizeof hdr_big, "X-Big: %040000d", 0);
    snprintf(long_path, sizeof long_path, "/%08000d", 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_requests),
        cmocka_unit_test(test_binary_trusts_sim_headers_only_with_the_flag),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
