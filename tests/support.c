#include "support.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
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

int64_t t_sql_intf(const char *db, const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof sql)
        return -1; /* a query cut short would count something else */
    return t_sql_int(db, sql);
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

int64_t t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int t_connect_local(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Milliseconds left until `deadline` (t_now_ms), at least 0. */
static int left_ms(int64_t deadline)
{
    int64_t d = deadline - t_now_ms();
    return d > 0 ? (int)d : 0;
}

size_t t_send_all(int fd, const void *data, size_t n, int timeout_ms)
{
    const char *p = data;
    size_t sent = 0;
    int64_t deadline = t_now_ms() + timeout_ms;
    while (sent < n) {
        ssize_t k = send(fd, p + sent, n - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            sent += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            break; /* EPIPE, ECONNRESET: the peer is gone */
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int ms = left_ms(deadline);
        if (ms == 0 || poll(&pf, 1, ms) <= 0)
            break;
    }
    return sent;
}

static void buf_append(char **buf, size_t *len, const char *data, size_t n)
{
    char *nb = realloc(*buf, *len + n + 1);
    if (!nb)
        return;
    memcpy(nb + *len, data, n);
    *len += n;
    nb[*len] = '\0';
    *buf = nb;
}

int t_recv_until_close(int fd, int timeout_ms, char **buf, size_t *len)
{
    int64_t deadline = t_now_ms() + timeout_ms;
    size_t dummy = 0;
    if (buf && !len)
        len = &dummy;
    if (buf && !*buf) {
        *buf = calloc(1, 1);
        *len = 0;
    }
    char chunk[65536];
    for (;;) {
        ssize_t k = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (k > 0) {
            if (buf)
                buf_append(buf, len, chunk, (size_t)k);
            continue;
        }
        if (k == 0)
            return 1;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return 1; /* ECONNRESET and the like: closed by the peer */
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int ms = left_ms(deadline);
        if (ms == 0 || poll(&pf, 1, ms) <= 0)
            return 0;
    }
}

/* Whether `s` contains `word`, ignoring case. */
static bool has_word(const char *s, const char *word)
{
    size_t wl = strlen(word);
    for (; *s; s++)
        if (strncasecmp(s, word, wl) == 0)
            return true;
    return false;
}

/* Whether the chunked body starting at b (n bytes) is complete: its last chunk and trailer. */
static int chunked_complete(const char *b, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        const char *eol = memchr(b + pos, '\n', n - pos);
        if (!eol)
            return 0;
        unsigned long size = strtoul(b + pos, NULL, 16);
        pos = (size_t)(eol - b) + 1;
        if (size == 0) {
            /* Trailer lines, then an empty line. */
            for (;;) {
                const char *e = memchr(b + pos, '\n', n - pos);
                if (!e)
                    return 0;
                size_t line = (size_t)(e - (b + pos));
                pos = (size_t)(e - b) + 1;
                if (line == 0 || (line == 1 && b[pos - 2] == '\r'))
                    return 1;
            }
        }
        if (n - pos < size + 2)
            return 0;
        pos += size + 2;
    }
    return 0;
}

int t_read_response(int fd, int timeout_ms, int no_body, char **resp, size_t *len)
{
    int64_t deadline = t_now_ms() + timeout_ms;
    char *b = calloc(1, 1);
    size_t n = 0;
    int status = -1;
    bool closed = false;
    for (;;) {
        char *end = b ? strstr(b, "\r\n\r\n") : NULL;
        if (end && n >= 12 && strncmp(b, "HTTP/1.", 7) == 0) {
            int st = atoi(b + 9);
            size_t head = (size_t)(end - b) + 4;
            if (st >= 100 && st < 200) { /* 100 Continue and the like: the next one counts */
                memmove(b, b + head, n - head + 1);
                n -= head;
                continue;
            }
            char v[64];
            size_t body = n - head;
            bool done;
            if (no_body || st == 204 || st == 304)
                done = true;
            else if (t_http_header(b, "Content-Length", v, sizeof v))
                done = body >= (size_t)strtoull(v, NULL, 10);
            else if (t_http_header(b, "Transfer-Encoding", v, sizeof v) && has_word(v, "chunked"))
                done = chunked_complete(b + head, body);
            else
                done = closed; /* framed by the close */
            if (done) {
                status = st;
                break;
            }
        }
        if (closed)
            break;
        char chunk[65536];
        ssize_t k = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (k > 0) {
            buf_append(&b, &n, chunk, (size_t)k);
            continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            closed = true;
            continue;
        }
        if (errno == EINTR)
            continue;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int ms = left_ms(deadline);
        if (ms == 0 || poll(&pf, 1, ms) <= 0)
            break;
    }
    if (resp)
        *resp = b;
    else
        free(b);
    if (len)
        *len = n;
    return status;
}

int t_http_header(const char *head, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *line = strstr(head, "\n"); /* past the status line */
    while (line) {
        line++;
        if (*line == '\r' || *line == '\n' || *line == '\0')
            return 0; /* the blank line: end of the head */
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = strcspn(v, "\r\n");
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (outlen) {
                if (vl >= outlen)
                    vl = outlen - 1;
                memcpy(out, v, vl);
                out[vl] = '\0';
            }
            return 1;
        }
        line = strchr(line, '\n');
    }
    return 0;
}

const char *t_http_body(const char *resp)
{
    const char *end = strstr(resp, "\r\n\r\n");
    return end ? end + 4 : NULL;
}

int64_t t_proc_status_kb(int pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t fl = strlen(field);
    int64_t v = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            v = strtoll(line + fl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

char *t_write_file(const char *dir, const char *name, const char *text)
{
    char *p = t_path(dir, name);
    FILE *f = fopen(p, "w");
    if (!f) {
        free(p);
        return NULL;
    }
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        free(p);
        return NULL;
    }
    return p;
}

int t_spawn_quiet(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *t_run_dir(const char *out)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "find '%s' -name summary.json", out);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    char line[4096] = "";
    char *got = fgets(line, sizeof line, p);
    pclose(p);
    if (!got || !strchr(line, '/'))
        return NULL;
    line[strcspn(line, "\n")] = '\0';
    *strrchr(line, '/') = '\0';
    return strdup(line);
}

char *t_fates(const char *dir)
{
    char *db = t_path(dir, "ledger.db");
    char *fates = t_sql_str(db, "SELECT group_concat(item || ':' || fate || '/' ||"
                                " COALESCE(cause, '-') || '@' || COALESCE(died_ns, '-') || '/' ||"
                                " COALESCE(layer, '-'), ' ') FROM (SELECT * FROM fates ORDER BY"
                                " item)");
    free(db);
    return fates;
}
