#include "wlogs.h"

#include "exporters/exporter.h"
#include "grow.h"

#include <stdlib.h>
#include <string.h>

/* One open invocation's captured lines. Few are open at once (the requests in flight), so
 * they are found by a scan. */
typedef struct inv {
    uint64_t request, isolate;
    int64_t bytes; /* recorded so far */
    bool capped;   /* the cap was reached: nothing more is recorded */
    uint64_t *ids;
    uint32_t *lens;
    char *text; /* the lines back to back */
    size_t n, cap, tlen, tcap;
} inv;

/* A shipped invocation's POST, until its answer. */
typedef struct shipment {
    wlogs *w;
    uint64_t *ids;
    size_t n;
} shipment;

struct wlogs {
    eng *e;
    net *net;
    rng *draws;
    ledger *l;
    const char *service;
    int64_t cap_bytes;
    inv *open;
    size_t nopen, capopen;
    wlogs_stats stats;
};

wlogs *wlogs_new(eng *e, net *n, rng *draws, ledger *l, const char *service, int64_t cap_bytes)
{
    wlogs *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->e = e;
    w->net = n;
    w->draws = draws;
    w->l = l;
    w->service = service ? service : "edgeloss-workers-logs";
    w->cap_bytes = cap_bytes;
    return w;
}

static void inv_free(inv *v)
{
    free(v->ids);
    free(v->lens);
    free(v->text);
}

void wlogs_free(wlogs *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nopen; i++)
        inv_free(&w->open[i]);
    free(w->open);
    free(w);
}

const wlogs_stats *wlogs_get_stats(const wlogs *w)
{
    return &w->stats;
}

static inv *find(wlogs *w, uint64_t request)
{
    for (size_t i = 0; i < w->nopen; i++)
        if (w->open[i].request == request)
            return &w->open[i];
    return NULL;
}

void wlogs_write(wlogs *w, uint64_t request, uint64_t isolate, uint64_t item, const char *frag,
                 uint32_t len, int64_t t_ns)
{
    w->stats.lines++;
    inv *v = find(w, request);
    if (!v) {
        GROW_FOR(w->open, w->nopen, w->capopen, 8);
        v = &w->open[w->nopen++];
        *v = (inv){.request = request, .isolate = isolate};
    }
    if (v->capped || v->bytes + (int64_t)len > w->cap_bytes) {
        if (!v->capped)
            w->stats.invocations_capped++;
        v->capped = true;
        w->stats.lines_dropped++;
        ledger_drop(w->l, item, t_ns, CAUSE_LOG_SIZE_LIMIT, "workers-logs", isolate);
        return;
    }
    v->bytes += len;
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 16;
        v->ids = realloc(v->ids, v->cap * sizeof *v->ids);
        v->lens = realloc(v->lens, v->cap * sizeof *v->lens);
        if (!v->ids || !v->lens)
            abort();
    }
    if (v->tlen + len > v->tcap) {
        v->tcap = (v->tlen + len) * 2;
        if (!(v->text = realloc(v->text, v->tcap)))
            abort();
    }
    memcpy(v->text + v->tlen, frag, len);
    v->tlen += len;
    v->ids[v->n] = item;
    v->lens[v->n++] = len;
    ledger_move(w->l, item, t_ns, "workers-logs");
}

static void on_answer(void *ud, const net_response *resp)
{
    shipment *sh = ud;
    if (resp->status < 200 || resp->status >= 300) {
        ledger_cause c = exp_refusal_cause(resp->status);
        for (size_t i = 0; i < sh->n; i++)
            ledger_drop(sh->w->l, sh->ids[i], eng_now(sh->w->e), c, "workers-logs", 0);
    }
    free(sh->ids);
    free(sh);
}

/* Open invocation i is over at t_ns: its lines leave then as one POST, and it is closed. */
static void ship(wlogs *w, size_t i, int64_t t_ns)
{
    inv *v = &w->open[i];
    if (v->n) {
        const char **frags = malloc(v->n * sizeof *frags);
        shipment *sh = malloc(sizeof *sh);
        if (!frags || !sh)
            abort();
        const char *p = v->text;
        for (size_t k = 0; k < v->n; k++) {
            frags[k] = p;
            p += v->lens[k];
        }
        size_t len;
        char *body = exp_payload(w->service, SIG_LOGS, frags, v->lens, v->n, 0, &len);
        free(frags);
        *sh = (shipment){w, v->ids, v->n};
        v->ids = NULL; /* the shipment's now */
        w->stats.posts++;
        net_request req = {.path = "/v1/logs",
                           .body = body,
                           .len = len,
                           .attempt = 1,
                           .items = sh->ids,
                           .nitems = sh->n,
                           .at_ns = t_ns};
        net_send_direct(w->net, w->draws, &req, on_answer, sh);
    }
    inv_free(v);
    w->open[i] = w->open[--w->nopen];
}

void wlogs_invocation_over(wlogs *w, uint64_t request, int64_t t_ns)
{
    for (size_t i = 0; i < w->nopen; i++)
        if (w->open[i].request == request) {
            ship(w, i, t_ns);
            return;
        }
}

void wlogs_isolate_died(wlogs *w, uint64_t isolate, int64_t t_ns)
{
    /* Oldest first: the order they opened in (a closed one's slot takes the last, so scan
     * for the smallest request each time; few are open). */
    for (;;) {
        size_t best = w->nopen;
        for (size_t i = 0; i < w->nopen; i++)
            if (w->open[i].isolate == isolate &&
                (best == w->nopen || w->open[i].request < w->open[best].request))
                best = i;
        if (best == w->nopen)
            return;
        ship(w, best, t_ns);
    }
}

void wlogs_end(wlogs *w, int64_t t_ns)
{
    for (size_t i = 0; i < w->nopen; i++) {
        inv *v = &w->open[i];
        for (size_t k = 0; k < v->n; k++)
            ledger_drop(w->l, v->ids[k], t_ns, CAUSE_STRANDED_AT_END, "workers-logs", v->isolate);
        inv_free(v);
    }
    w->nopen = 0;
}
