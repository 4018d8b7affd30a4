#include "transport.h"

#include "ingest.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define POST_TIMEOUT_MS 15000 /* a harness error past this: nothing simulated takes real time */

struct transport {
    CURLM *multi;
    CURL *easy;
    ing_server *ingest; /* embedded, or NULL */
    char url[256];
    char auth[300];
    char run[160];
    char *resp; /* the response body: kept whole when wanted, else its first RESP_SMALL bytes */
    size_t resp_len, resp_cap, resp_max;
    bool resp_over; /* a wanted body went past TRANSPORT_BODY_MAX */
    int64_t retry_after_s;
    char reason[24];
};

#define RESP_SMALL 4096 /* what is kept of a body nobody reads (an error's message) */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    transport *t = ud;
    size_t len = size * n;
    size_t room = t->resp_max - t->resp_len;
    if (len > room && t->resp_max == TRANSPORT_BODY_MAX)
        t->resp_over = true;
    size_t take = len < room ? len : room;
    if (t->resp_len + take + 1 > t->resp_cap) {
        size_t cap = t->resp_cap ? t->resp_cap : RESP_SMALL + 1;
        while (cap < t->resp_len + take + 1)
            cap *= 2;
        char *b = realloc(t->resp, cap);
        if (!b) {
            t->resp_over = true;
            return 0; /* libcurl stops the transfer: a harness error */
        }
        t->resp = b;
        t->resp_cap = cap;
    }
    memcpy(t->resp + t->resp_len, p, take);
    t->resp_len += take;
    t->resp[t->resp_len] = '\0';
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    transport *t = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        t->retry_after_s = strtoll(p + 12, NULL, 10);
    static const char rh[] = "X-Edgeloss-Reason:";
    if (len > sizeof rh - 1 && strncasecmp(p, rh, sizeof rh - 1) == 0) {
        const char *v = p + sizeof rh - 1;
        size_t vn = len - (sizeof rh - 1);
        while (vn && (*v == ' ' || *v == '\t'))
            v++, vn--;
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
            vn--;
        if (vn >= sizeof t->reason)
            vn = sizeof t->reason - 1;
        memcpy(t->reason, v, vn);
        t->reason[vn] = '\0';
    }
    return len;
}

sim_err transport_open(const transport_config *cfg, transport **out, char *err, size_t errlen)
{
    *out = NULL;
    transport *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return SIM_EINGEST;
    }
    if (cfg->url) {
        snprintf(t->url, sizeof t->url, "%s", cfg->url);
        size_t n = strlen(t->url);
        while (n && t->url[n - 1] == '/')
            t->url[--n] = '\0';
    } else {
        ing_config *icfg = NULL;
        if (cfg->ingest_json &&
            ing_config_parse(cfg->ingest_json, "scenario ingest", &icfg, err, errlen) != ING_OK) {
            free(t);
            return SIM_EINGEST;
        }
        /* Its only client is this process: the virtual time, run id and attempt it
         * sends are the simulation's own, so the ingest may count caps by them. */
        ing_options opt = {.db_path = cfg->ingest_db,
                           .config = icfg,
                           .mode = ING_RUN_EXTERNAL,
                           .trust_sim_headers = true};
        int rc = ing_server_open(&opt, &t->ingest, err, errlen);
        ing_config_free(icfg);
        if (rc) {
            free(t);
            return SIM_EINGEST;
        }
        snprintf(t->url, sizeof t->url, "%s", ing_server_url(t->ingest));
    }
    if (cfg->api_key)
        snprintf(t->auth, sizeof t->auth, "Authorization: Bearer %s", cfg->api_key);
    snprintf(t->run, sizeof t->run, "X-Edgeloss-Run: %s", cfg->run_id ? cfg->run_id : "");
    t->multi = curl_multi_init();
    t->easy = curl_easy_init();
    if (!t->multi || !t->easy) {
        snprintf(err, errlen, "cannot initialise libcurl");
        transport_close(t);
        return SIM_EINGEST;
    }
    *out = t;
    return 0;
}

const char *transport_url(const transport *t)
{
    return t->url;
}

sim_err transport_send(transport *t, const transport_req *req, transport_result *res, char *err,
                       size_t errlen)
{
    const char *method = req->method ? req->method : "POST";
    bool get = strcmp(method, "GET") == 0;
    char url[2048], vt[64], att[48], ct[160], host[300], zone[300], colo[48], route[40], fault[96];
    snprintf(url, sizeof url, "%s%s", t->url, req->path);
    snprintf(vt, sizeof vt, "X-Edgeloss-Time-Ns: %lld", (long long)req->time_ns);
    snprintf(att, sizeof att, "X-Edgeloss-Attempt: %u", req->attempt);
    snprintf(ct, sizeof ct, "Content-Type: %s",
             req->content_type ? req->content_type : "application/json");
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    if (!get)
        h = curl_slist_append(h, ct);
    h = curl_slist_append(h, vt);
    h = curl_slist_append(h, att);
    h = curl_slist_append(h, t->run);
    if (t->auth[0])
        h = curl_slist_append(h, t->auth);
    if (req->host) {
        snprintf(host, sizeof host, "Host: %s", req->host);
        h = curl_slist_append(h, host);
    }
    if (req->upstream_zone) {
        snprintf(zone, sizeof zone, "X-Edgeloss-Upstream-Zone: %s", req->upstream_zone);
        h = curl_slist_append(h, zone);
    }
    if (req->colo >= 0) {
        snprintf(colo, sizeof colo, "X-Edgeloss-Colo: %lld", (long long)req->colo);
        h = curl_slist_append(h, colo);
    }
    if (req->route) {
        snprintf(route, sizeof route, "X-Edgeloss-Route: %s", req->route);
        h = curl_slist_append(h, route);
    }
    bool drop_asked = false;
    if (req->fault && req->fault[0]) {
        snprintf(fault, sizeof fault, "X-Edgeloss-Fault: %s", req->fault);
        h = curl_slist_append(h, fault);
        drop_asked = strstr(req->fault, "drop_answer") != NULL;
    }
    CURL *e = t->easy;
    curl_easy_reset(e); /* a GET after a PUT must not keep the PUT's settings */
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    if (get) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)POST_TIMEOUT_MS);
    if (drop_asked) {
        /* libcurl sends a request again, once, when a reused connection closes with no
         * answer (it takes it for a stale keep-alive): a dropped answer would then be
         * committed twice, a duplicate no simulated exporter made. A fresh connection is
         * never retried. */
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    t->resp_len = 0;
    if (t->resp)
        t->resp[0] = '\0';
    t->resp_max = req->want_body ? TRANSPORT_BODY_MAX : RESP_SMALL;
    t->resp_over = false;
    t->retry_after_s = -1;
    t->reason[0] = '\0';
    curl_multi_add_handle(t->multi, e);
    int running = 1;
    CURLcode code = CURLE_OK;
    /* libcurl and the server take turns on this thread: each makes whatever
     * progress it can without blocking; only when neither moved do we wait on
     * both ends at once. (The server may have work no fd announces, such as a
     * kept-alive connection it already knows to be readable: pump it anyway.) */
    while (running) {
        if (curl_multi_perform(t->multi, &running) != CURLM_OK) {
            code = CURLE_FAILED_INIT;
            break;
        }
        if (!running)
            break;
        if (t->ingest) {
            if (ing_server_pump(t->ingest, 0) != ING_OK) {
                snprintf(err, errlen, "embedded ingest: database error");
                curl_multi_remove_handle(t->multi, e);
                curl_slist_free_all(h);
                return SIM_EINGEST;
            }
            if (curl_multi_perform(t->multi, &running) != CURLM_OK) {
                code = CURLE_FAILED_INIT;
                break;
            }
            if (!running)
                break;
            /* Both ends are in this process: whatever is pending is milliseconds away
             * at most, and a short wait costs little if an fd stays silent. */
            int to = ing_server_timeout_ms(t->ingest);
            if (to < 0 || to > 1)
                to = 1;
            struct curl_waitfd w = {.fd = ing_server_fd(t->ingest), .events = CURL_WAIT_POLLIN};
            curl_multi_poll(t->multi, &w, 1, to, NULL);
        } else {
            curl_multi_poll(t->multi, NULL, 0, 100, NULL);
        }
    }
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(t->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            code = m->data.result;
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(t->multi, e);
    curl_slist_free_all(h);
    if (t->resp_over) {
        snprintf(err, errlen, "harness error: %s %s answered more than %u MiB", method, url,
                 TRANSPORT_BODY_MAX >> 20);
        return SIM_EINGEST;
    }
    res->no_answer = false;
    /* Asked for: the server committed and hung up (libcurl's "empty reply"). */
    if (drop_asked && (code == CURLE_GOT_NOTHING || code == CURLE_RECV_ERROR ||
                       code == CURLE_PARTIAL_FILE || code == CURLE_SEND_ERROR)) {
        res->status = 200; /* the server drops only a 2xx answer: it committed */
        res->retry_after_s = -1;
        res->reason[0] = '\0';
        res->body = req->want_body ? "" : NULL;
        res->body_len = 0;
        res->no_answer = true;
        return 0;
    }
    if (code != CURLE_OK) {
        snprintf(err, errlen, "harness error: %s %s failed: %s (no fault asked for it)", method,
                 url, curl_easy_strerror(code));
        return SIM_EINGEST;
    }
    res->status = (int)status;
    res->retry_after_s = t->retry_after_s;
    snprintf(res->reason, sizeof res->reason, "%s", t->reason);
    res->body = req->want_body ? (t->resp ? t->resp : "") : NULL;
    res->body_len = req->want_body ? t->resp_len : 0;
    return 0;
}

sim_err transport_post(transport *t, const char *path, const char *body, size_t len,
                       int64_t time_ns, uint32_t attempt, transport_result *res, char *err,
                       size_t errlen)
{
    transport_req req = {
        .path = path, .body = body, .len = len, .time_ns = time_ns, .attempt = attempt, .colo = -1};
    return transport_send(t, &req, res, err, errlen);
}

void transport_close(transport *t)
{
    if (!t)
        return;
    if (t->easy)
        curl_easy_cleanup(t->easy);
    if (t->multi)
        curl_multi_cleanup(t->multi);
    ing_server_close(t->ingest);
    free(t->resp);
    free(t);
}
