#include "headers.h"

#include "waf.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Nothing honoured: the defaults of an untrusted (or refused) request. */
static const hdr_sim sim_none = {
    .attempt = -1, .upstream_zone = "", .fault = {.retry_after_s = -1}};

/*
 * A whole number from 0 to `max`, digits only (blanks after it are the
 * header's optional whitespace, which libmicrohttpd trims in front only).
 * strtoll is not used: it accepts a sign, "-0" and blanks inside, and a
 * client could then steer the cap window with values nobody meant; checking
 * each digit before it is added keeps the accumulation from overflowing.
 */
static bool parse_uint(const char *s, int64_t max, int64_t *out)
{
    int64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (p == s)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return false;
    *out = v;
    return true;
}

/* "waf" or "origin", exactly (lower case, like the values the simulator sends), then blanks. */
static bool parse_route(const char *s, hdr_route *out)
{
    size_t n = strcspn(s, " \t");
    if (s[n + strspn(s + n, " \t")] != '\0')
        return false;
    if (n == 3 && memcmp(s, "waf", 3) == 0)
        *out = HDR_ROUTE_WAF;
    else if (n == 6 && memcmp(s, "origin", 6) == 0)
        *out = HDR_ROUTE_ORIGIN;
    else
        return false;
    return true;
}

/*
 * The next `name` or `name=value` of a fault's list (',' between, blanks around): false at
 * the end. A name or value too long for its buffer, or junk after the value, gives the name
 * "" (which names nothing, so the header is refused); *has_value says whether '=' was given.
 */
static bool next_param(const char **p, char *name, size_t namelen, char *value, size_t valuelen,
                       bool *has_value)
{
    const char *s = *p + strspn(*p, " \t");
    if (*s == '\0')
        return false;
    size_t n = strcspn(s, "=, \t");
    if (n == 0 || n >= namelen)
        n = 0;
    memcpy(name, s, n);
    name[n] = '\0';
    s += n;
    s += strspn(s, " \t");
    value[0] = '\0';
    *has_value = *s == '=';
    if (*s == '=') {
        s++;
        s += strspn(s, " \t");
        size_t m = strcspn(s, ", \t");
        if (m >= valuelen) {
            m = 0;
            name[0] = '\0'; /* not cut short and then read as a shorter number */
        }
        memcpy(value, s, m);
        value[m] = '\0';
        s += strcspn(s, ", \t");
        s += strspn(s, " \t");
    }
    if (*s == ',')
        s++;
    else if (*s != '\0')
        name[0] = '\0'; /* junk after the value */
    *p = s;
    return true;
}

/* One fault: status=N[, retry_after=S] | too_large=N | drop_answer. */
static bool parse_fault(const char *s, hdr_fault *out)
{
    char name[16], value[24];
    const char *p = s;
    bool any = false;
    bool has_value;
    while (next_param(&p, name, sizeof name, value, sizeof value, &has_value)) {
        int64_t v;
        if (strcmp(name, "status") == 0 && out->kind == HDR_FAULT_NONE &&
            parse_uint(value, 999, &v) &&
            (v == 429 || v == 500 || v == 502 || v == 503 || v == 504)) {
            out->kind = HDR_FAULT_STATUS;
            out->status = (int)v;
        } else if (strcmp(name, "retry_after") == 0 && out->retry_after_s < 0 &&
                   parse_uint(value, HDR_FAULT_MAX_RETRY_S, &v) && v >= 1) {
            out->retry_after_s = v;
        } else if (strcmp(name, "too_large") == 0 && out->kind == HDR_FAULT_NONE &&
                   parse_uint(value, HDR_FAULT_MAX_BYTES, &v)) {
            out->kind = HDR_FAULT_TOO_LARGE;
            out->max_bytes = v;
        } else if (strcmp(name, "drop_answer") == 0 && !has_value && out->kind == HDR_FAULT_NONE) {
            out->kind = HDR_FAULT_DROP_ANSWER;
        } else {
            return false;
        }
        any = true;
    }
    /* Retry-After goes with the statuses that mean "later" (RFC 9110: 429 and 503). */
    if (out->retry_after_s >= 0 &&
        !(out->kind == HDR_FAULT_STATUS && (out->status == 429 || out->status == 503)))
        return false;
    return any;
}

/* The offending value, quoted in the message: printable, bounded (it is stored and echoed). */
static void quote(char *dst, size_t dstlen, const char *v)
{
    size_t n = 0, i = 0;
    for (; v[i] && n + 1 < dstlen && i < 40; i++, n++)
        dst[n] = v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' && v[i] != '\\' ? v[i] : '?';
    if (v[i] && n + 4 < dstlen) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

static int refuse(hdr_sim *out, char *msg, size_t msglen, const char *name, const char *value,
                  const char *expected)
{
    *out = sim_none;
    char q[48];
    quote(q, sizeof q, value ? value : "");
    snprintf(msg, msglen, "%s: expected %s, got \"%s\"", name, expected, q);
    return 400;
}

static int refuse_twice(hdr_sim *out, char *msg, size_t msglen, const char *name)
{
    *out = sim_none;
    snprintf(msg, msglen, "%s: given more than once; send it once", name);
    return 400;
}

/* 1 to max bytes, each from lo to 0x7e. */
static bool printable_ok(const char *s, size_t max, unsigned char lo)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < lo || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

int hdr_sim_read(bool trusted, hdr_lookup_fn lookup, void *ud, hdr_sim *out, char *msg,
                 size_t msglen)
{
    *out = sim_none;
    msg[0] = '\0';
    unsigned nt = 0, nr = 0, na = 0, nz = 0, nc = 0, nrt = 0, nf = 0;
    const char *t = lookup(ud, HDR_TIME_NS, &nt);
    const char *r = lookup(ud, HDR_RUN, &nr);
    const char *a = lookup(ud, HDR_ATTEMPT, &na);
    const char *z = lookup(ud, HDR_UPSTREAM_ZONE, &nz);
    const char *c = lookup(ud, HDR_COLO, &nc);
    const char *rt = lookup(ud, HDR_ROUTE, &nrt);
    const char *f = lookup(ud, HDR_FAULT, &nf);
    if (!trusted) {
        /* Not looked at: any value is as good as none from an untrusted client (and an
         * untrusted request always goes through the WAF, and gets no fault). */
        out->ignored = nt + nr + na + nz + nc + nrt + nf > 0;
        return 0;
    }
    if (nf > 1)
        return refuse_twice(out, msg, msglen, HDR_FAULT);
    if (nt > 1)
        return refuse_twice(out, msg, msglen, HDR_TIME_NS);
    if (nr > 1)
        return refuse_twice(out, msg, msglen, HDR_RUN);
    if (na > 1)
        return refuse_twice(out, msg, msglen, HDR_ATTEMPT);
    if (nz > 1)
        return refuse_twice(out, msg, msglen, HDR_UPSTREAM_ZONE);
    if (nc > 1)
        return refuse_twice(out, msg, msglen, HDR_COLO);
    if (nrt > 1)
        return refuse_twice(out, msg, msglen, HDR_ROUTE);
    if (t) {
        if (!parse_uint(t, INT64_MAX, &out->time_ns))
            return refuse(out, msg, msglen, HDR_TIME_NS, t,
                          "a whole number of nanoseconds from 0 to 9223372036854775807");
        out->time_virtual = true;
    }
    if (a && !parse_uint(a, HDR_ATTEMPT_MAX, &out->attempt))
        return refuse(out, msg, msglen, HDR_ATTEMPT, a, "a whole number from 0 to 4294967295");
    if (r) {
        if (!printable_ok(r, HDR_RUN_MAX, 0x20)) {
            char what[96];
            snprintf(what, sizeof what, "1 to %d printable ASCII characters (%zu bytes sent)",
                     HDR_RUN_MAX, strlen(r));
            return refuse(out, msg, msglen, HDR_RUN, r, what);
        }
        out->run = r;
    }
    if (z) {
        if (!printable_ok(z, HDR_ZONE_MAX, 0x21)) {
            char what[112];
            snprintf(what, sizeof what,
                     "a zone name of 1 to %d printable ASCII characters, no blanks (%zu bytes"
                     " sent)",
                     HDR_ZONE_MAX, strlen(z));
            return refuse(out, msg, msglen, HDR_UPSTREAM_ZONE, z, what);
        }
        out->upstream_zone = z;
    }
    if (c && !parse_uint(c, HDR_COLO_MAX, &out->colo))
        return refuse(out, msg, msglen, HDR_COLO, c, "a whole number from 0 to 4294967295");
    if (rt && !parse_route(rt, &out->route))
        return refuse(out, msg, msglen, HDR_ROUTE, rt, "waf or origin");
    if (f && !parse_fault(f, &out->fault))
        return refuse(out, msg, msglen, HDR_FAULT, f,
                      "status=429|500|502|503|504 (retry_after=1..86400 with 429 or 503),"
                      " too_large=BYTES or drop_answer");
    return 0;
}

/* ---------- the WAF stage ---------- */

struct hdr_waf {
    waf *w;
    /* Scratch for one request's view, reused (only the deciding thread touches it). */
    const char **names, **values;
    size_t nheaders, cap;
    char *query;
    size_t qlen, qcap;
    bool oom; /* a scratch buffer could not grow during this request */
};

int hdr_waf_open(const char *waf_json, hdr_waf **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!waf_json)
        return ING_OK;
    hdr_waf *st = calloc(1, sizeof *st);
    cJSON *j = st ? cJSON_Parse(waf_json) : NULL;
    int rc = ING_NOMEM;
    if (j)
        rc = waf_compile(j, "$.waf", &st->w, err, errlen);
    else
        snprintf(err, errlen, "out of memory"); /* the text was printed by cJSON itself */
    cJSON_Delete(j);
    if (rc) {
        if (rc == ING_NOMEM)
            snprintf(err, errlen, "out of memory");
        hdr_waf_close(st);
        return rc;
    }
    *out = st;
    return ING_OK;
}

void hdr_waf_close(hdr_waf *st)
{
    if (!st)
        return;
    waf_free(st->w);
    free(st->names);
    free(st->values);
    free(st->query);
    free(st);
}

typedef struct view {
    hdr_waf *st;
    bool trusted;
    const char *host;
} view;

static void add_header(void *vud, const char *name, const char *value)
{
    view *v = vud;
    hdr_waf *st = v->st;
    if (!name || st->oom)
        return;
    if (v->trusted && strncasecmp(name, HDR_PREFIX, sizeof HDR_PREFIX - 1) == 0)
        return; /* the simulator's, not the request's */
    if (!value)
        value = "";
    if (!v->host && strcasecmp(name, "Host") == 0)
        v->host = value;
    if (st->nheaders == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 32;
        const char **n = realloc(st->names, cap * sizeof *n);
        if (n)
            st->names = n;
        const char **vals = n ? realloc(st->values, cap * sizeof *vals) : NULL;
        if (!vals) {
            st->oom = true;
            return;
        }
        st->values = vals;
        st->cap = cap;
    }
    st->names[st->nheaders] = name;
    st->values[st->nheaders++] = value;
}

static bool query_put(hdr_waf *st, const char *s, size_t n)
{
    if (st->qlen + n + 1 > st->qcap) {
        size_t cap = st->qcap ? st->qcap : 256;
        while (st->qlen + n + 1 > cap)
            cap *= 2;
        char *q = realloc(st->query, cap);
        if (!q)
            return false;
        st->query = q;
        st->qcap = cap;
    }
    memcpy(st->query + st->qlen, s, n);
    st->qlen += n;
    st->query[st->qlen] = '\0';
    return true;
}

/* The query as "name=value&name" again, from the arguments libmicrohttpd parsed (decoded). */
static void add_query_arg(void *vud, const char *name, const char *value)
{
    view *v = vud;
    hdr_waf *st = v->st;
    if (!name || st->oom)
        return;
    bool ok = (st->qlen == 0 || query_put(st, "&", 1)) && query_put(st, name, strlen(name)) &&
              (!value || (query_put(st, "=", 1) && query_put(st, value, strlen(value))));
    if (!ok)
        st->oom = true;
}

static const char *content_type_of(const char *body)
{
    body += strspn(body, " \t\r\n");
    return *body == '{' || *body == '[' ? "application/json"
           : *body == '<'               ? "text/html"
                                        : "text/plain";
}

/* The acts as rows, in one block: the array, then the rule ids and keys copied after it. */
static store_waf_act *copy_acts(const waf_decision *d)
{
    size_t size = d->nacts * sizeof(store_waf_act);
    for (size_t i = 0; i < d->nacts; i++)
        size += strlen(d->acts[i].rule_id) + 1 + strlen(d->acts[i].key) + 1;
    store_waf_act *out = malloc(size);
    if (!out)
        return NULL; /* only the record of the acts is lost; the decision stands */
    char *p = (char *)(out + d->nacts);
    for (size_t i = 0; i < d->nacts; i++) {
        const waf_act *a = &d->acts[i];
        size_t n = strlen(a->rule_id) + 1;
        out[i].rule = memcpy(p, a->rule_id, n);
        p += n;
        out[i].action = waf_action_name(a->action);
        out[i].key = NULL;
        out[i].value = 0;
        if (a->key[0]) {
            n = strlen(a->key) + 1;
            out[i].key = memcpy(p, a->key, n);
            p += n;
            out[i].value = a->rate;
        }
    }
    return out;
}

void hdr_waf_decide(hdr_waf *st, const hdr_waf_in *in, hdr_waf_verdict *out)
{
    memset(out, 0, sizeof *out);
    st->nheaders = 0;
    st->qlen = 0;
    if (st->query)
        st->query[0] = '\0';
    st->oom = false;
    view v = {st, in->trusted, NULL};
    in->each_header(in->ud, add_header, &v);
    in->each_query_arg(in->ud, add_query_arg, &v);
    if (st->oom) {
        out->status = 503;
        out->reason = "internal";
        snprintf(out->message, sizeof out->message,
                 "out of memory reading the request for the WAF; retry");
        return;
    }
    waf_request r = {.method = in->method,
                     .host = v.host,
                     .path = in->path,
                     .query = st->qlen ? st->query : "",
                     .ip = in->ip,
                     .upstream_zone = in->sim ? in->sim->upstream_zone : "",
                     .colo_id = in->sim ? in->sim->colo : 0,
                     .nheaders = st->nheaders,
                     .header_names = st->names,
                     .header_values = st->values};
    int64_t t = in->t_ns < 0 ? 0 : in->t_ns;
    waf_decision d;
    waf_decide(st->w, &r, t, &d);
    if (d.oom) {
        out->status = 503;
        out->reason = "internal";
        snprintf(out->message, sizeof out->message,
                 "out of memory deciding the WAF's rules; retry");
        return;
    }
    if (d.nacts && (out->acts = copy_acts(&d)))
        out->nacts = d.nacts;
    if (!d.blocked)
        return;
    out->status = d.status;
    out->reason = "waf";
    /* The block ends the list, unless more rules acted than a decision lists. */
    const waf_act *last = d.nacts ? &d.acts[d.nacts - 1] : NULL;
    if (last && last->action != WAF_BLOCK && last->action != WAF_RATE_BLOCK)
        last = NULL;
    if (last && last->key[0])
        snprintf(out->message, sizeof out->message,
                 "blocked by WAF rate limiting rule %s (counter %s at %g)", last->rule_id,
                 last->key, last->rate);
    else
        snprintf(out->message, sizeof out->message, "blocked by WAF rule %s",
                 last ? last->rule_id : "(not listed: too many rules acted)");
    if (d.body && d.body[0]) {
        out->body = d.body;
        out->content_type = content_type_of(d.body);
    }
}
