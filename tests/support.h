/*
 * Helpers shared by the tests: temporary directories, HTTP with libcurl and
 * independent SQL reads of a database file. Tests never ask the code under
 * test what it stored; they read the file with their own queries.
 */
#ifndef EDGELOSS_TEST_SUPPORT_H
#define EDGELOSS_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* A fresh directory under $TMPDIR (or /tmp); malloc'd path. */
char *t_mkdtemp(void);
/* Removes a directory and the files in it (one level). */
void t_rmtree(const char *dir);
/* Joins dir and name into a malloc'd path. */
char *t_path(const char *dir, const char *name);

/* Reads a whole file; NULL when it cannot. *len gets its size. */
char *t_read_file(const char *path, size_t *len);

typedef struct t_http {
    long status;
    char *body;        /* response body, NUL-terminated, malloc'd */
    char *retry_after; /* Retry-After header value or NULL */
    int curl_code;     /* CURLE_OK (0) when the exchange completed */
} t_http;

typedef struct t_req {
    const char *method;       /* default POST */
    const char *content_type; /* default application/json; "" sends none */
    const char *encoding;     /* Content-Encoding header, or NULL */
    const char *auth_key;     /* sends Authorization: Bearer KEY */
    const char *extra_header; /* one more "Name: value" header */
    const char *extra_header2;
    int chunked; /* send with Transfer-Encoding: chunked */
} t_req;

/*
 * Starts the mock-ingest binary `bin` on 127.0.0.1 port 0 recording into `db`, with one
 * more argument `flag` (or none), and reads its first line, the base URL, into url. Returns
 * its pid (the caller kills and reaps it), or -1 - a process that started and said nothing
 * is killed, not left behind.
 */
int t_spawn_ingest(const char *bin, const char *db, const char *flag, char *url, size_t urllen);

/* One request; body may be NULL for none. Free with t_http_free. */
t_http t_request(const char *url, const t_req *req, const void *body, size_t len);
void t_http_free(t_http *r);

/* gzip-compresses a buffer (malloc'd result). */
void *t_gzip(const void *data, size_t len, size_t *out_len);
/* Decompresses gzip (malloc'd, NUL-terminated); NULL when invalid. */
char *t_gunzip(const void *data, size_t len, size_t *out_len);
/* Reads a fixture file, gunzipping it when it starts with the gzip magic. */
char *t_fixture_json(const char *path, size_t *len);

/* First column of the first row of a query as an integer (-1 on error). */
int64_t t_sql_int(const char *db, const char *sql);
/* The same with the query formatted (printf). */
int64_t t_sql_intf(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* First column of the first row as a malloc'd string (NULL when none). */
char *t_sql_str(const char *db, const char *sql);

/*
 * OTLP JSON bodies with n items whose edgeloss.item_id is "<prefix>-<i>" and
 * whose edgeloss.request_id is `request_id`. malloc'd, NUL-terminated.
 */
char *t_otlp_spans(const char *prefix, int n, const char *request_id);
char *t_otlp_metrics(const char *prefix, int n, const char *request_id);
char *t_otlp_logs(const char *prefix, int n, const char *request_id);

/* ---- raw TCP to 127.0.0.1, for what libcurl will not send or cannot show ---- */

/* Monotonic clock in milliseconds. */
int64_t t_now_ms(void);
/* A blocking TCP connection to 127.0.0.1:port; -1 when it cannot connect. */
int t_connect_local(uint16_t port);
/*
 * Sends n bytes within timeout_ms (never SIGPIPE); returns how many were sent: fewer when the
 * peer closed or reset the connection, or the time ran out.
 */
size_t t_send_all(int fd, const void *data, size_t n, int timeout_ms);
/*
 * Reads until the peer closes the connection (EOF or reset) or timeout_ms passes (0: only what
 * is there now). What arrives is appended to *buf (malloc'd, NUL-terminated; *len its size)
 * when buf is not NULL, else dropped. Returns 1 when the peer closed it, 0 when not.
 */
int t_recv_until_close(int fd, int timeout_ms, char **buf, size_t *len);
/*
 * Reads one HTTP/1.x response within timeout_ms, after any 1xx: head and body framed by
 * Content-Length or chunked (or until close), no body when `no_body` (the answer to a HEAD),
 * for a 204 or a 304. *resp gets the whole final response (malloc'd, NUL-terminated). Returns
 * its status, or -1 when no complete response arrived.
 */
int t_read_response(int fd, int timeout_ms, int no_body, char **resp, size_t *len);
/* The value of header `name` (case-insensitive) in a response head, blanks trimmed, into
 * out; 0 when absent. `head` may run on into the body: the search stops at the blank line. */
int t_http_header(const char *head, const char *name, char *out, size_t outlen);
/* Where the body of a whole response starts (after the blank line); NULL when it has none. */
const char *t_http_body(const char *resp);

/* A field of /proc/PID/status in kB ("VmRSS", "VmHWM"); -1 when it cannot be read. */
int64_t t_proc_status_kb(int pid, const char *field);
/* Writes text into dir/name; returns the malloc'd path (NULL when it cannot be written). */
char *t_write_file(const char *dir, const char *name, const char *text);

/* Runs argv (stdout and stderr to /dev/null, no shell: names may hold quotes); its exit code,
 * -1 when it did not exit. */
int t_spawn_quiet(char *const argv[]);
/* The one run directory under out (out/<variant>/seed-N), malloc'd; NULL when there is none. */
char *t_run_dir(const char *out);
/* Every item of a run directory's ledger.db as "item:fate/cause@died_ns/layer", in item order,
 * space-separated (malloc'd): what two runs that must agree item for item compare. */
char *t_fates(const char *dir);

#endif
