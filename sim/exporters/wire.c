/* The exporter protocol's framing (see wire.h). */
#include "wire.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct buf {
    char *p;
    size_t n, cap, off; /* off: what the reader has consumed */
} buf;

struct wire {
    int in, out;
    buf r, w;
    bool is_pipe;
};

static void reserve(buf *b, size_t extra)
{
    if (b->n + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + extra)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np)
        abort();
    b->p = np;
    b->cap = cap;
}

wire *wire_new(int in_fd, int out_fd)
{
    wire *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->in = in_fd;
    w->out = out_fd;
    return w;
}

void wire_free(wire *w)
{
    if (!w)
        return;
    if (w->in >= 0)
        close(w->in);
    if (w->out >= 0 && w->out != w->in)
        close(w->out);
    free(w->r.p);
    free(w->w.p);
    free(w);
}

wire_status wire_put_text(wire *w, const char *json, size_t len)
{
    if (len > WIRE_FRAME_MAX)
        return WIRE_BAD;
    reserve(&w->w, len + 4);
    unsigned char *h = (unsigned char *)w->w.p + w->w.n;
    h[0] = (unsigned char)(len >> 24);
    h[1] = (unsigned char)(len >> 16);
    h[2] = (unsigned char)(len >> 8);
    h[3] = (unsigned char)len;
    memcpy(w->w.p + w->w.n + 4, json, len);
    w->w.n += len + 4;
    return WIRE_OK;
}

wire_status wire_put(wire *w, const cJSON *msg)
{
    char *s = cJSON_PrintUnformatted(msg);
    if (!s)
        abort();
    wire_status st = wire_put_text(w, s, strlen(s));
    cJSON_free(s);
    return st;
}

size_t wire_queued(const wire *w)
{
    return w->w.n;
}

wire_status wire_flush(wire *w)
{
    size_t off = 0;
    while (off < w->w.n) {
        /* A socket: no SIGPIPE when the peer is gone (EPIPE instead). A pipe: write(2). */
        ssize_t k = w->is_pipe ? write(w->out, w->w.p + off, w->w.n - off)
                               : send(w->out, w->w.p + off, w->w.n - off, MSG_NOSIGNAL);
        if (k < 0 && errno == ENOTSOCK) {
            w->is_pipe = true;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno == EPIPE ? WIRE_EOF : WIRE_IO;
        off += (size_t)k;
    }
    w->w.n = 0;
    return WIRE_OK;
}

/* A complete frame at the read offset: its length, or 0 when more bytes are needed. */
static wire_status frame_ready(const wire *w, size_t *len)
{
    size_t have = w->r.n - w->r.off;
    *len = 0;
    if (have < 4)
        return WIRE_OK;
    const unsigned char *h = (const unsigned char *)w->r.p + w->r.off;
    size_t l = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | (size_t)h[3];
    if (l > WIRE_FRAME_MAX || l == 0)
        return WIRE_BAD;
    if (have - 4 >= l)
        *len = l;
    return WIRE_OK;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

wire_status wire_get(wire *w, int timeout_ms, cJSON **out)
{
    *out = NULL;
    int64_t deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : -1;
    for (;;) {
        size_t len;
        wire_status st = frame_ready(w, &len);
        if (st)
            return st;
        if (len) {
            const char *p = w->r.p + w->r.off + 4;
            cJSON *j = cJSON_ParseWithLength(p, len);
            w->r.off += len + 4;
            if (w->r.off == w->r.n)
                w->r.off = w->r.n = 0;
            if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                return WIRE_BAD;
            }
            *out = j;
            return WIRE_OK;
        }
        /* Keep the buffer compact before reading more. */
        if (w->r.off) {
            memmove(w->r.p, w->r.p + w->r.off, w->r.n - w->r.off);
            w->r.n -= w->r.off;
            w->r.off = 0;
        }
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - mono_ms();
            if (left <= 0)
                return WIRE_TIMEOUT;
            wait = left > 1 << 30 ? 1 << 30 : (int)left;
        }
        struct pollfd pfd = {w->in, POLLIN, 0};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return WIRE_IO;
        if (pr == 0)
            return WIRE_TIMEOUT;
        reserve(&w->r, 65536);
        ssize_t k = read(w->in, w->r.p + w->r.n, w->r.cap - w->r.n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return WIRE_IO;
        if (k == 0)
            return WIRE_EOF;
        w->r.n += (size_t)k;
    }
}

const char *wire_status_text(wire_status st)
{
    switch (st) {
    case WIRE_OK:
        return "ok";
    case WIRE_EOF:
        return "the peer closed the pipe";
    case WIRE_TIMEOUT:
        return "no answer in time";
    case WIRE_BAD:
        return "not a frame of the protocol (a 4-byte length up to 64 MiB, then a JSON object)";
    case WIRE_IO:
        return "the pipe failed";
    }
    return "unknown";
}

const char *wire_type(const cJSON *m)
{
    const char *t = wire_str(m, "m");
    return t ? t : "";
}

double wire_num(const cJSON *m, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const char *wire_str(const cJSON *m, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int wire_is_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        size_t extra = c < 0x80             ? 0
                       : (c & 0xe0) == 0xc0 ? 1
                       : (c & 0xf0) == 0xe0 ? 2
                       : (c & 0xf8) == 0xf0 ? 3
                                            : 9;
        if (c == 0 || extra == 9 || (extra == 1 && c < 0xc2) || i + extra >= len)
            return 0;
        uint32_t cp = extra == 0 ? c : c & (0x3f >> extra);
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += extra + 1;
    }
    return 1;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *wire_b64_encode(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    char *o = malloc((len + 2) / 3 * 4 + 1), *q = o;
    if (!o)
        abort();
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        *q++ = b64[v >> 18 & 63];
        *q++ = b64[v >> 12 & 63];
        *q++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
        *q++ = i + 2 < len ? b64[v & 63] : '=';
    }
    *q = '\0';
    return o;
}

char *wire_b64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    if (n % 4)
        return NULL;
    char *o = malloc(n / 4 * 3 + 1);
    if (!o)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            char ch = s[i + j];
            const char *at = ch ? strchr(b64, ch) : NULL;
            if (ch == '=' && i + 4 == n && j >= 2) {
                pad++;
                v <<= 6;
                continue;
            }
            if (!at || pad) {
                free(o);
                return NULL;
            }
            v = v << 6 | (uint32_t)(at - b64);
        }
        o[k++] = (char)(v >> 16);
        if (pad < 2)
            o[k++] = (char)(v >> 8);
        if (pad < 1)
            o[k++] = (char)v;
    }
    *len = k;
    return o;
}
