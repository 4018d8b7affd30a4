#include "support.h"

#include <curl/curl.h>
#include <dirent.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

char *t_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/edgeloss-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void t_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = t_path(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

char *t_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

typedef struct growbuf {
    char *p;
    size_t n;
} growbuf;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    growbuf *g = ud;
    size_t n = size * nmemb;
    char *np = realloc(g->p, g->n + n + 1);
    if (!np)
        return 0;
    memcpy(np + g->n, ptr, n);
    g->p = np;
    g->n += n;
    g->p[g->n] = '\0';
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    char **retry = ud;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
        const char *v = ptr + 12;
        while (*v == ' ')
            v++;
        size_t vl = n - (size_t)(v - ptr);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        free(*retry);
        *retry = strndup(v, vl);
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
    if (n > 1000)
        n = 1000; /* small pieces: several chunks */
    if (n > r->left)
        n = r->left;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    return n;
}

t_http t_request(const char *url, const t_req *req, const void *body, size_t len)
{
    t_req defaults = {0};
    if (!req)
        req = &defaults;
    t_http r = {0};
    growbuf g = {0};
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char line[512];
    const char *ct = req->content_type ? req->content_type : "application/json";
    if (*ct) {
        snprintf(line, sizeof line, "Content-Type: %s", ct);
        hdrs = curl_slist_append(hdrs, line);
    } else {
        hdrs = curl_slist_append(hdrs, "Content-Type:");
    }
    if (req->encoding) {
        snprintf(line, sizeof line, "Content-Encoding: %s", req->encoding);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (req->auth_key) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", req->auth_key);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (req->extra_header)
        hdrs = curl_slist_append(hdrs, req->extra_header);
    if (req->extra_header2)
        hdrs = curl_slist_append(hdrs, req->extra_header2);
    hdrs = curl_slist_append(hdrs, "Expect:");
    readsrc src = {body, len};
    const char *method = req->method ? req->method : "POST";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (req->chunked) {
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &src);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &g);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.retry_after);
    r.curl_code = (int)curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    r.body = g.p ? g.p : strdup("");
    return r;
}

void t_http_free(t_http *r)
{
    free(r->body);
    free(r->retry_after);
    r->body = NULL;
    r->retry_after = NULL;
}

void *t_gzip(const void *data, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

char *t_gunzip(const void *data, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return NULL;
    size_t cap = len * 8 + 1024, n = 0;
    char *out = malloc(cap);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    int rc;
    do {
        if (cap - n < 4096) {
            cap *= 2;
            out = realloc(out, cap);
        }
        zs.next_out = (Bytef *)out + n;
        zs.avail_out = (uInt)(cap - n - 1);
        rc = inflate(&zs, Z_NO_FLUSH);
        n = cap - 1 - zs.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

char *t_fixture_json(const char *path, size_t *len)
{
    size_t n = 0; /* reported as the length when the file cannot be read */
    char *raw = t_read_file(path, &n);
    if (!raw || n < 2 || (unsigned char)raw[0] != 0x1f || (unsigned char)raw[1] != 0x8b) {
        if (len)
            *len = n;
        return raw;
    }
    char *out = t_gunzip(raw, n, len);
    free(raw);
    return out;
}

static sqlite3 *open_ro(const char *db)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return NULL;
    }
    sqlite3_busy_timeout(h, 5000);
    return h;
}

int64_t t_sql_int(const char *db, const char *sql)
{
    sqlite3 *h = open_ro(db);
    if (!h)
        return -1;
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    } else {
        fprintf(stderr, "t_sql_int: %s: %s\n", sql, sqlite3_errmsg(h));
    }
    sqlite3_close(h);
    return v;
}

char *t_sql_str(const char *db, const char *sql)
{
    sqlite3 *h = open_ro(db);
    if (!h)
        return NULL;
    sqlite3_stmt *s;
    char *v = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
            v = strdup((const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
    } else {
        fprintf(stderr, "t_sql_str: %s: %s\n", sql, sqlite3_errmsg(h));
    }
    sqlite3_close(h);
    return v;
}

typedef struct sb {
    char *p;
    size_t n, cap;
} sb;

static void sb_add(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sb *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (b->p && (size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
}

static void keys(sb *b, const char *prefix, int i, const char *rid)
{
    sb_add(b,
           "\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":\"%s-%d\"}},"
           "{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"%s\"}},"
           "{\"key\":\"http.route\",\"value\":{\"stringValue\":\"/cast\"}},"
           "{\"key\":\"n\",\"value\":{\"intValue\":\"%d\"}}]",
           prefix, i, rid, i);
}

static void head(sb *b, const char *top, const char *scopes)
{
    sb_add(b,
           "{\"%s\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
           "\"value\":{\"stringValue\":\"test-svc\"}}]},\"%s\":[{\"scope\":{\"name\":\"t\"},",
           top, scopes);
}

char *t_otlp_spans(const char *prefix, int n, const char *rid)
{
    sb b = {0};
    head(&b, "resourceSpans", "scopeSpans");
    sb_add(&b, "\"spans\":[");
    for (int i = 0; i < n; i++) {
        sb_add(&b,
               "%s{\"traceId\":\"5B8EFFF798038103D269B633813FC60C\",\"spanId\":\"%016x\","
               "\"parentSpanId\":\"\",\"name\":\"span-%d\",\"kind\":2,"
               "\"startTimeUnixNano\":\"1700000000000000000\","
               "\"endTimeUnixNano\":\"1700000000001000000\",",
               i ? "," : "", (unsigned)(i + 1), i);
        keys(&b, prefix, i, rid);
        sb_add(&b, ",\"status\":{}}");
    }
    sb_add(&b, "]}]}]}");
    return b.p;
}

char *t_otlp_metrics(const char *prefix, int n, const char *rid)
{
    sb b = {0};
    head(&b, "resourceMetrics", "scopeMetrics");
    sb_add(&b, "\"metrics\":[{\"name\":\"m\",\"gauge\":{\"dataPoints\":[");
    for (int i = 0; i < n; i++) {
        sb_add(&b, "%s{\"timeUnixNano\":\"1700000000000000000\",\"asDouble\":%d.5,", i ? "," : "",
               i);
        keys(&b, prefix, i, rid);
        sb_add(&b, "}");
    }
    sb_add(&b, "]}}]}]}]}");
    return b.p;
}

char *t_otlp_logs(const char *prefix, int n, const char *rid)
{
    sb b = {0};
    head(&b, "resourceLogs", "scopeLogs");
    sb_add(&b, "\"logRecords\":[");
    for (int i = 0; i < n; i++) {
        sb_add(&b,
               "%s{\"timeUnixNano\":\"1700000000000000000\",\"severityNumber\":9,"
               "\"body\":{\"stringValue\":\"line %d\"},",
               i ? "," : "", i);
        keys(&b, prefix, i, rid);
        sb_add(&b, "}");
    }
    sb_add(&b, "]}]}]}");
    return b.p;
}

int t_spawn_ingest(const char *bin, const char *db, const char *flag, char *url, size_t urllen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(bin, bin, "--listen", "127.0.0.1:0", "--db", db, flag, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = pid > 0 ? fdopen(fds[0], "r") : NULL;
    if (!f || !fgets(url, (int)urllen, f)) {
        if (f)
            fclose(f);
        else
            close(fds[0]);
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        return -1;
    }
    url[strcspn(url, "\r\n")] = '\0';
    fclose(f);
    return (int)pid;
}
