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
/* First column of the first row as a malloc'd string (NULL when none). */
char *t_sql_str(const char *db, const char *sql);

/*
 * OTLP JSON bodies with n items whose edgeloss.item_id is "<prefix>-<i>" and
 * whose edgeloss.request_id is `request_id`. malloc'd, NUL-terminated.
 */
char *t_otlp_spans(const char *prefix, int n, const char *request_id);
char *t_otlp_metrics(const char *prefix, int n, const char *request_id);
char *t_otlp_logs(const char *prefix, int n, const char *request_id);

#endif
