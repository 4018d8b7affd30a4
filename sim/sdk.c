/*
 * The telemetry SDK (see sdk.h): items, layer-1 buffers, the monitoring
 * bundle's calls, and the OTLP JSON fragment of each item.
 */
#include "sdk.h"

#include "exporters/remote.h"
#include "grow.h"
#include "wlogs.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const layer_names[SIG_COUNT] = {"tracer", "metrics", "logger"};

/* A bundle call in progress (tracer.flush awaiting the exporter...). */
/* A send of entries is a call of its own kind (no program name). */
#define CALL_SEND_ENTRIES TEL_CALL_COUNT

typedef struct call_op {
    struct sdk_iso *si;
    tel_call which;   /* or CALL_SEND_ENTRIES */
    item_vec entries; /* CALL_SEND_ENTRIES: what it sends */
    tel_cont k;
    uint64_t request_id;
    uint64_t task_id; /* the task waiting for it */
    bool before_response;
    bool counted; /* a handler's or waitUntil's call: its time is the exporter's cost to the request
                   */
    int64_t started_ns;
    int stage;
    el_call call;  /* the stage's call to the exporter; finishing it resumes call_step */
    bool running;  /* call_run's loop is on the stack: a completion lets it go on */
    bool finished; /* the stage's call finished while the loop was on the stack */
    struct call_op *next;
} call_op;

/*
 * Layer 1: per request (the seed: "the Tracer and MetricsCollector already
 * have their own buffers that batch within a single request"), or one per
 * isolate (exporter.layer1 "isolate"), where one request's flush takes what
 * its concurrent neighbours buffered.
 */
typedef struct l1buf {
    uint64_t scope; /* the request, or 0 for the isolate */
    item_vec v[SIG_COUNT];
} l1buf;

typedef struct sdk_iso {
    struct sdk *s;
    rt_isolate_ref ref;
    item_vec open; /* spans started and not ended */
    l1buf *l1;     /* the tracer's, metrics collector's and logger's buffers, per scope */
    size_t nl1, capl1;
    exp_host *exp; /* created with the isolate's first telemetry */
    call_op *calls;
    exp_env env;
} sdk_iso;

struct sdk {
    exp_config cfg;
    const el_exporter *d; /* the strategy: what it can do, and its methods */
    ledger *l;
    net *n;
    queue *q;  /* where checkpoints send (NULL: no queue) */
    wlogs *wl; /* what the platform captures of console.log (NULL: none) */
    rng *ids;
    rng *exp_rng;
    uint64_t seed;
    sdk_stats stats;
    void (*log)(void *ud, const char *line); /* the exporters' log lines */
    void *log_ud;
    exp_remote *remote; /* an out-of-process plugin's exporter host */
};

sdk *sdk_new(const exp_config *cfg, ledger *l, net *n, rng *ids_rng, rng *exporter_rng,
             uint64_t seed)
{
    sdk *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->d = cfg->desc;
    s->l = l;
    s->n = n;
    s->ids = ids_rng;
    s->exp_rng = exporter_rng;
    s->seed = seed;
    return s;
}

void sdk_set_wlogs(sdk *s, wlogs *w)
{
    s->wl = w;
}

void sdk_set_queue(sdk *s, queue *q)
{
    s->q = q;
}

void sdk_set_log(sdk *s, void (*log)(void *ud, const char *line), void *ud)
{
    s->log = log;
    s->log_ud = ud;
}

void sdk_free(sdk *s)
{
    if (s)
        exp_remote_stop(s->remote);
    free(s);
}

int sdk_start_exporter(sdk *s, char *err, size_t errlen)
{
    if (!exp_is_remote(s->d) || s->remote)
        return 0;
    return exp_remote_start(s->cfg.desc_config, &s->remote, err, errlen);
}

const char *sdk_exporter_failure(const sdk *s)
{
    return s ? exp_remote_failure(s->remote) : NULL;
}

const sdk_stats *sdk_get_stats(const sdk *s)
{
    return &s->stats;
}

static bool direct(const sdk *s)
{
    return (s->d->caps & EL_CAP_TAKES_SPANS_AT_END) != 0;
}

/* ---------- ids and JSON ---------- */

static uint64_t splitmix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            abort();
        if (b->p && (size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 512;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            abort();
        b->p = np;
        b->cap = cap;
    }
}

/* A JSON string literal; names come from the scenario, so escape them. */
static void sb_str(sbuf *b, const char *s)
{
    sb_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            sb_printf(b, "\\u%04x", *p);
        else
            sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\"");
}

static void keys(sbuf *b, const tel_item *it)
{
    if (it->entry) {
        sb_printf(b,
                  "\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":"
                  "\"i%010" PRIu64 "\"}},{\"key\":\"edgeloss.origin_request_id\",\"value\":"
                  "{\"stringValue\":\"r%" PRIu64 "\"}},{\"key\":\"feature_flag.key\",\"value\":"
                  "{\"stringValue\":",
                  it->n, it->request_id);
        sb_str(b, it->name);
        sb_printf(b, "}},{\"key\":\"feature_flag.variant\",\"value\":{\"stringValue\":");
        sb_str(b, it->variant);
        sb_printf(b, "}}]");
        return;
    }
    sb_printf(
        b,
        "\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{\"stringValue\":\"i%010" PRIu64
        "\"}},{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":\"r%" PRIu64 "\"}}]",
        it->n, it->request_id);
}

/* The item's fragment as it goes inside the signal's list (spans, metrics, logRecords). */
static void encode(tel_item *it)
{
    sbuf b = {0};
    char tid[33], sid[17], pid[17];
    switch (it->sig) {
    case SIG_TRACES:
        hex(tid, it->trace_id, 16);
        hex(sid, it->span_id, 8);
        hex(pid, it->parent_id, 8);
        sb_printf(&b, "{\"traceId\":\"%s\",\"spanId\":\"%s\",", tid, sid);
        if (it->has_parent)
            sb_printf(&b, "\"parentSpanId\":\"%s\",", pid);
        sb_printf(&b, "\"name\":");
        sb_str(&b, it->name);
        sb_printf(&b,
                  ",\"kind\":1,\"startTimeUnixNano\":\"%" PRId64 "\",\"endTimeUnixNano\":\"%" PRId64
                  "\",",
                  it->start_ns, it->end_ns);
        keys(&b, it);
        sb_printf(&b, ",\"status\":{}}");
        break;
    case SIG_METRICS:
        sb_printf(&b, "{\"name\":");
        sb_str(&b, it->name);
        sb_printf(
            &b, ",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"%" PRId64 "\",\"asDouble\":%.17g,",
            it->end_ns, it->value);
        keys(&b, it);
        sb_printf(&b, "}]}}");
        break;
    default:
        sb_printf(&b,
                  "{\"timeUnixNano\":\"%" PRId64
                  "\",\"severityNumber\":%d,\"body\":{\"stringValue\":",
                  it->end_ns, it->severity);
        sb_str(&b, it->name);
        sb_printf(&b, "},");
        keys(&b, it);
        sb_printf(&b, "}");
        break;
    }
    it->json = b.p;
    it->len = (uint32_t)b.n;
}

/* ---------- per isolate ---------- */

static sdk_iso *iso_state(rt *r)
{
    return rt_current_isolate(r)->tel;
}

static exp_host *exporter_of(sdk_iso *si)
{
    if (!si->exp)
        si->exp = exp_host_new(&si->env);
    return si->exp;
}

static void t_born(void *ud, rt *r, rt_isolate_info *iso)
{
    sdk *s = ud;
    sdk_iso *si = calloc(1, sizeof *si);
    if (!si)
        abort();
    si->s = s;
    si->ref.id = iso->id;
    si->env =
        (exp_env){r, s->n, s->l, &s->cfg, {0, iso->id}, s->exp_rng, s->log, s->log_ud, s->remote};
    iso->tel = si;
}

static const char *const kinds[SIG_COUNT] = {"span", "metric", "log"};

/* The item's ledger row, written once its size is known: one insert, no update. */
static void ledger_row(ledger *l, tel_item *it)
{
    if (it->ledgered)
        return;
    it->ledgered = true;
    ledger_item_row(l, it->n, it->entry ? "entry" : kinds[it->sig], it->name, it->request_id,
                    it->isolate_id, it->start_ns, it->len);
}

static void drop_vec(sdk_iso *si, item_vec *v, ledger_cause cause, const char *layer)
{
    for (size_t i = 0; i < v->n; i++)
        ledger_row(si->s->l, v->v[i]); /* spans lost while open have no row yet */
    exp_dropped(&si->env, v, cause, layer);
    vec_free(si->env.r, v);
}

static void t_dies(void *ud, rt *r, rt_isolate_info *iso, rt_evict cause)
{
    sdk *s = ud;
    /* Console output the platform captured is not the isolate's: it ships (unless the run is
     * over, when it is stranded with the rest). */
    if (s->wl && (int)cause != RT_END_OF_RUN)
        wlogs_isolate_died(s->wl, iso->id, rt_time(r));
    sdk_iso *si = iso->tel;
    if (!si)
        return;
    ledger_cause c = ledger_cause_of_death((int)cause);
    if (s->q) /* what it sent to the queue and was not acknowledged yet */
        queue_isolate_died(s->q, iso->id, c, rt_time(r));
    drop_vec(si, &si->open, c, "open-span");
    for (size_t i = 0; i < si->nl1; i++)
        for (int g = 0; g < SIG_COUNT; g++)
            drop_vec(si, &si->l1[i].v[g], c, layer_names[g]);
    free(si->l1);
    if (si->exp)
        exp_host_destroy(si->exp, c);
    while (si->calls) {
        call_op *nx = si->calls->next;
        /* A call its isolate's death cut kept its request waiting until then. */
        if (si->calls->counted)
            ledger_call_time(s->l, si->calls->request_id, si->calls->before_response,
                             rt_time(r) - si->calls->started_ns);
        free(si->calls->entries.v); /* the exporter took the items, not the vector */
        free(si->calls);
        si->calls = nx;
    }
    free(si);
    iso->tel = NULL;
}

static l1buf *l1_for(sdk_iso *si, uint64_t request)
{
    uint64_t scope = si->s->cfg.layer1_per_request ? request : 0;
    for (size_t i = 0; i < si->nl1; i++)
        if (si->l1[i].scope == scope)
            return &si->l1[i];
    GROW_FOR(si->l1, si->nl1, si->capl1, 4);
    l1buf *b = &si->l1[si->nl1++];
    memset(b, 0, sizeof *b);
    b->scope = scope;
    return b;
}

/* Forgets a scope's buffers once they are empty (their vectors' memory too). */
static void l1_tidy(sdk_iso *si, l1buf *b)
{
    for (int g = 0; g < SIG_COUNT; g++)
        if (b->v[g].n)
            return;
    for (int g = 0; g < SIG_COUNT; g++)
        free(b->v[g].v);
    size_t i = (size_t)(b - si->l1);
    memmove(si->l1 + i, si->l1 + i + 1, (si->nl1 - i - 1) * sizeof *si->l1);
    si->nl1--;
}

static tel_item *new_item(sdk *s, rt *r, sdk_signal sig, const char *name)
{
    tel_item *it = calloc(1, sizeof *it);
    if (!it)
        abort();
    const rt_task *t = rt_current_task(r);
    it->sig = sig;
    it->request_id = t->request_id;
    it->isolate_id = t->isolate_id;
    it->task_id = t->id;
    it->name = name;
    it->start_ns = it->end_ns = rt_task_time(r);
    it->n = ledger_item_number(s->l);
    it->home = rt_current_isolate_ref(r);
    item_charge(r, it, s->cfg.item_overhead_bytes);
    return it;
}

/* A complete item goes to layer 1 (or straight to the exporter for otel-batch). */
static void complete(sdk *s, sdk_iso *si, rt *r, tel_item *it)
{
    encode(it);
    item_charge(r, it, it->len);
    ledger_row(s->l, it);
    if (!direct(s)) {
        ledger_move(s->l, it->n, rt_task_time(r), layer_names[it->sig]);
        vec_push(&l1_for(si, it->request_id)->v[it->sig], it);
        return;
    }
    item_vec one = {&it, 1, 1};
    exp_host_export(exporter_of(si), it->sig, &one, NULL);
}

static uint64_t t_span_start(void *ud, rt *r, const char *name)
{
    sdk *s = ud;
    sdk_iso *si = iso_state(r);
    tel_item *it = new_item(s, r, SIG_TRACES, name);
    s->stats.spans++;
    /* One trace per request; the parent is the task's innermost open span. */
    uint64_t a = splitmix(s->seed ^ (it->request_id * 0x9E3779B97F4A7C15ULL));
    uint64_t b = splitmix(a);
    memcpy(it->trace_id, &a, 8);
    memcpy(it->trace_id + 8, &b, 8);
    uint64_t sid = rng_next(s->ids) | 1; /* never all zero */
    memcpy(it->span_id, &sid, 8);
    for (size_t i = si->open.n; i-- > 0;) {
        if (si->open.v[i]->task_id == it->task_id) {
            memcpy(it->parent_id, si->open.v[i]->span_id, 8);
            it->has_parent = true;
            break;
        }
    }
    /* An open span's first holder is implied by its creation: no move row for it. */
    vec_push(&si->open, it);
    return it->n;
}

static void t_span_end(void *ud, rt *r, uint64_t span)
{
    sdk *s = ud;
    sdk_iso *si = iso_state(r);
    for (size_t i = si->open.n; i-- > 0;) {
        tel_item *it = si->open.v[i];
        if (it->n != span)
            continue;
        memmove(si->open.v + i, si->open.v + i + 1, (si->open.n - i - 1) * sizeof *si->open.v);
        si->open.n--;
        it->end_ns = rt_task_time(r);
        complete(s, si, r, it);
        return;
    }
}

static void t_metric(void *ud, rt *r, const char *name, double value)
{
    sdk *s = ud;
    tel_item *it = new_item(s, r, SIG_METRICS, name);
    it->value = value;
    s->stats.metrics++;
    complete(s, iso_state(r), r, it);
}

/* console.log(JSON.stringify(record)): the record is complete at once and the platform has
 * its line; the isolate keeps nothing. */
static void t_log(void *ud, rt *r, const char *body, int severity);

static void t_console_log(void *ud, rt *r, const char *body, int severity)
{
    sdk *s = ud;
    if (!s->wl) {
        t_log(ud, r, body, severity);
        return;
    }
    tel_item *it = new_item(s, r, SIG_LOGS, body);
    it->severity = severity;
    s->stats.logs++;
    encode(it);
    ledger_row(s->l, it);
    const rt_task *t = rt_current_task(r);
    wlogs_write(s->wl, t->request_id, rt_current_isolate(r)->id, it->n, it->json, it->len,
                rt_time(r));
    item_free(r, it);
}

static void t_log(void *ud, rt *r, const char *body, int severity)
{
    sdk *s = ud;
    tel_item *it = new_item(s, r, SIG_LOGS, body);
    it->severity = severity;
    s->stats.logs++;
    complete(s, iso_state(r), r, it);
}

/*
 * An entry of an isolate global: a log record of the resolve (the flag, its variant, the
 * request that made it as edgeloss.origin_request_id), complete at once. It carries no
 * edgeloss.request_id of its own: the consumer credits it to the request its payload was
 * sent for (envelope attribution), so the ledger does too (fates: kind 'entry').
 */
static tel_entry *t_entry_new(void *ud, rt *r, const char *global, const char *flag,
                              const char *variant)
{
    sdk *s = ud;
    (void)global;
    tel_item *it = new_item(s, r, SIG_LOGS, flag ? flag : "flag");
    it->entry = true;
    it->severity = 9; /* INFO */
    it->variant = variant ? variant : "on";
    s->stats.entries++;
    encode(it);
    item_charge(r, it, it->len);
    ledger_row(s->l, it);
    return it;
}

static void t_entry_moved(void *ud, rt *r, tel_entry *e, const char *holder)
{
    if (e)
        ledger_move(((sdk *)ud)->l, e->n, rt_time(r), holder);
}

static void t_entry_lost(void *ud, rt *r, tel_entry *e, tel_loss how, int why, const char *holder,
                         const char *note)
{
    sdk *s = ud;
    if (!e)
        return;
    ledger_cause c = CAUSE_OVERWRITTEN_SHARED_STATE;
    if (how == TEL_LOST_ISOLATE)
        c = ledger_cause_of_death(why);
    else if (how == TEL_LOST_TASK)
        c = why == END_CPU_LIMIT          ? CAUSE_CPU_LIMIT
            : why == END_CANCELLED_BUDGET ? CAUSE_WAITUNTIL_CANCELLED
            : why == END_DISCONNECTED     ? CAUSE_CLIENT_DISCONNECTED
            : why == END_RUN_OVER         ? CAUSE_STRANDED_AT_END
                                          : CAUSE_EVICTED_IN_BUFFER;
    int64_t t = rt_time(r);
    ledger_drop_note(s->l, e->n, t > e->end_ns ? t : e->end_ns, c, holder, e->isolate_id, note);
    item_free(r, e);
}

/* A checkpoint step waiting for its send() to resolve. */
typedef struct enq_wait {
    sdk *s;
    rt *r;
    rt_isolate_ref iso;
    uint64_t request;
    bool counted, before_response;
    int64_t started_ns;
    tel_cont k;
} enq_wait;

static void enq_resume(void *ud, rt *r)
{
    enq_wait *w = ud;
    if (w->counted)
        ledger_call_time(w->s->l, w->request, w->before_response, rt_time(r) - w->started_ns);
    tel_cont k = w->k;
    free(w);
    k.fn(k.ud, r, k.ref);
}

static void enq_cancel(void *ud, rt *r, int cause)
{
    (void)r, (void)cause;
    free(ud);
}

/* The queue has the message (or never will): the waiting task goes on, on its isolate. */
static void enq_settled(void *ud, bool arrived)
{
    enq_wait *w = ud;
    if (!arrived || !rt_post(w->r, w->iso, w->request, enq_resume, enq_cancel, w))
        free(w);
}

static tel_enqueued t_entry_enqueue(void *ud, rt *r, tel_entry **e, size_t n, const tel_cont *k)
{
    sdk *s = ud;
    if (!s->q)
        return TEL_ENQ_NONE;
    enq_wait *w = NULL;
    if (k) {
        const rt_task *t = rt_current_task(r);
        if (!(w = malloc(sizeof *w)))
            abort();
        *w = (enq_wait){s,
                        r,
                        rt_current_isolate_ref(r),
                        t->request_id,
                        t->kind == TASK_HANDLER || t->kind == TASK_WAIT_UNTIL,
                        t->kind == TASK_HANDLER,
                        rt_task_time(r),
                        *k};
    }
    const char **frags = malloc(n * sizeof *frags);
    uint32_t *lens = malloc(n * sizeof *lens);
    uint64_t *ids = malloc(n * sizeof *ids);
    if (!frags || !lens || !ids)
        abort();
    for (size_t i = 0; i < n; i++) {
        frags[i] = e[i]->json;
        lens[i] = e[i]->len;
        ids[i] = e[i]->n;
    }
    queue_send(s->q, rt_time(r), rt_current_isolate(r)->id, ids, frags, lens, n,
               w ? enq_settled : NULL, w);
    for (size_t i = 0; i < n; i++)
        item_free(r, e[i]); /* the queue holds its copy: the isolate's memory is given back */
    free(frags);
    free(lens);
    free(ids);
    return w ? TEL_ENQ_PENDING : TEL_ENQ_SENT;
}

/* Drops what request `id`'s own layer-1 buffers hold (per-request layer 1), freeing it. */
static void drop_request_buffers(sdk_iso *si, uint64_t id, ledger_cause cause)
{
    for (size_t i = 0; i < si->nl1; i++) {
        if (si->l1[i].scope != id)
            continue;
        for (int g = 0; g < SIG_COUNT; g++)
            drop_vec(si, &si->l1[i].v[g], cause, layer_names[g]);
        l1_tidy(si, &si->l1[i]);
        return;
    }
}

/*
 * A request ended with items in its own layer-1 buffers: only its calls could flush them
 * (or a timer it set, still pending), and none is left. They are lost now, at the instant
 * its last work ended, not at an eviction much later, and their memory is given back.
 */
static void t_request_ends(void *ud, rt *r, rt_isolate_info *iso, uint64_t request, bool timers,
                           bool cancelled)
{
    sdk *s = ud;
    (void)r;
    if (s->wl)
        wlogs_invocation_over(s->wl, request, rt_time(r));
    sdk_iso *si = iso->tel;
    if (!si || !s->cfg.layer1_per_request || timers)
        return;
    drop_request_buffers(si, request, cancelled ? CAUSE_WAITUNTIL_CANCELLED : CAUSE_NEVER_FLUSHED);
}

/*
 * A waitUntil task cut by the budget, or a task of a request terminated by the
 * CPU limit: the spans it had open die with it; for the CPU limit, so does
 * what its request's own layer-1 buffers held.
 */
static void t_task_ends(void *ud, rt *r, const rt_task *t, rt_task_end why)
{
    sdk *s = ud;
    if (why != END_CANCELLED_BUDGET && why != END_CPU_LIMIT && why != END_DISCONNECTED)
        return; /* evictions and the end of the run are handled per isolate */
    if (why == END_CPU_LIMIT && s->wl) /* terminated: the invocation is over */
        wlogs_invocation_over(s->wl, t->request_id, rt_time(r));
    sdk_iso *si = rt_task_isolate(r, t)->tel;
    if (!si)
        return;
    ledger_cause cause = why == END_CPU_LIMIT      ? CAUSE_CPU_LIMIT
                         : why == END_DISCONNECTED ? CAUSE_CLIENT_DISCONNECTED
                                                   : CAUSE_WAITUNTIL_CANCELLED;
    /* A call it was waiting for kept it waiting until now: that is the exporter's cost to
     * the request, even though the call never returns to it (a hung POST holds a waitUntil
     * until its budget cuts it). */
    for (call_op *op = si->calls; op; op = op->next)
        if (op->task_id == t->id && op->counted) {
            ledger_call_time(s->l, op->request_id, op->before_response,
                             rt_time(r) - op->started_ns);
            op->counted = false;
        }
    /* Terminated, the request ends here: what its own layer-1 buffers hold, nothing will
     * flush now. (Cut by its budget, it ends when the last of its work is discarded, and
     * t_request_ends decides, knowing whether a timer of its own may still flush.) */
    if (why == END_CPU_LIMIT && s->cfg.layer1_per_request)
        drop_request_buffers(si, t->request_id, cause);
    item_vec gone = {0};
    size_t keep = 0;
    for (size_t i = 0; i < si->open.n; i++) {
        if (si->open.v[i]->task_id == t->id)
            vec_push(&gone, si->open.v[i]);
        else
            si->open.v[keep++] = si->open.v[i];
    }
    si->open.n = keep;
    drop_vec(si, &gone, cause, "open-span");
}

/* ---------- bundle calls ---------- */

static void call_done(call_op *op, rt *r)
{
    sdk_iso *si = op->si;
    int64_t now = rt_time(si->env.r);
    if (op->counted)
        ledger_call_time(si->s->l, op->request_id, op->before_response, now - op->started_ns);
    tel_cont k = op->k;
    call_op **pp = &si->calls;
    while (*pp && *pp != op)
        pp = &(*pp)->next;
    if (*pp)
        *pp = op->next;
    free(op->entries.v); /* the exporter took the items */
    free(op);
    if (k.fn)
        k.fn(k.ud, r, k.ref);
}

static void call_step(call_op *op);

/* The exporter finished a stage's call (from the isolate's microtask queue). */
static void call_resume(void *ud)
{
    call_op *op = ud;
    if (op->running)
        op->finished = true; /* call_run's loop goes on */
    else
        call_step(op);
}

static bool call_run(call_op *op)
{
    /* Runs stages until one goes asynchronous; true when the whole call finished now. A
     * stage's call that the exporter finished at once has been resumed from the microtask
     * queue by the time the host returns, before anything else of the isolate ran. */
    sdk_iso *si = op->si;
    sdk *s = si->s;
    op->running = true;
    for (;;) {
        exp_host *e = exporter_of(si);
        op->call = (el_call){.fn = call_resume, .ud = op};
        op->finished = false;
        int stage = op->stage++;
        switch (op->which) {
        case TEL_TRACER_FLUSH:
        case TEL_METRICS_FLUSH:
        case TEL_LOGGER_FLUSH: {
            sdk_signal sig = op->which == TEL_TRACER_FLUSH    ? SIG_TRACES
                             : op->which == TEL_METRICS_FLUSH ? SIG_METRICS
                                                              : SIG_LOGS;
            if (direct(s)) { /* OpenTelemetry: forceFlush the processor */
                if (stage > 0)
                    goto finished;
                exp_host_flush(e, &op->call);
                break;
            }
            if (stage == 0) {
                l1buf *b = l1_for(si, op->request_id);
                if (b->v[sig].n == 0) {
                    l1_tidy(si, b);
                    goto finished; /* `if (this.buffer.length === 0) return;` */
                }
                item_vec items = {0};
                vec_append(&items, &b->v[sig]);
                l1_tidy(si, b);
                exp_host_export(e, sig, &items, &op->call);
                free(items.v);
            } else if (stage == 1 && (s->d->caps & EL_CAP_FLUSH_REACHES_IT)) {
                exp_host_flush(e, &op->call); /* fix B: flush reaches the exporter */
            } else {
                goto finished;
            }
            break;
        }
        case CALL_SEND_ENTRIES:
            if (stage > 0)
                goto finished;
            exp_host_export(e, SIG_LOGS, &op->entries, &op->call);
            break;
        case TEL_EXPORTER_FLUSH:
        case TEL_EXPORTER_SHUTDOWN:
            if (stage > 0)
                goto finished;
            if (s->d->bundle == EL_BUNDLE_PRIVATE) {
                /* base.tracer.options.export: a private field */
                ledger_private_access(s->l, op->request_id, rt_time(si->env.r));
            } else if (s->d->bundle == EL_BUNDLE_NONE) {
                goto finished; /* obs.exporter?.flush(): nothing on the bundle */
            }
            if (op->which == TEL_EXPORTER_SHUTDOWN)
                exp_host_shutdown(e, &op->call);
            else
                exp_host_flush(e, &op->call);
            break;
        default:
            goto finished;
        }
        if (!op->finished) {
            op->running = false;
            return false;
        }
    }
finished:
    op->running = false;
    return true;
}

static void call_step(call_op *op)
{
    if (call_run(op))
        call_done(op, op->si->env.r);
}

static bool start_call(sdk *s, rt *r, tel_call c, item_vec *entries, tel_cont k)
{
    sdk_iso *si = iso_state(r);
    s->stats.calls++;
    const rt_task *t = rt_current_task(r);
    /* (A send of entries is not a flush of the SDK's buffers: the first seed's check of
     * flushes in waitUntil does not count it.) */
    if (t->kind == TASK_WAIT_UNTIL && c != TEL_EXPORTER_SHUTDOWN && !entries)
        ledger_flush_in_wait_until(s->l, t->request_id);
    call_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    *op = (call_op){.si = si,
                    .which = c,
                    .k = k,
                    .request_id = t->request_id,
                    .task_id = t->id,
                    .before_response = t->kind == TASK_HANDLER,
                    .counted = t->kind == TASK_HANDLER || t->kind == TASK_WAIT_UNTIL,
                    .started_ns = rt_task_time(r),
                    .next = si->calls};
    if (entries)
        vec_append(&op->entries, entries);
    si->calls = op;
    if (!call_run(op))
        return false;
    /* Finished synchronously: the caller continues without being resumed. */
    op->k.fn = NULL;
    call_done(op, r);
    return true;
}

static bool t_call(void *ud, rt *r, tel_call c, tel_cont k)
{
    return start_call(ud, r, c, NULL, k);
}

/* The entries go to the exporter as logs do (through its buffer, if it has one), so the
 * payload that carries them is sent for whichever request sends it. */
static bool t_entry_send(void *ud, rt *r, tel_entry **e, size_t n, tel_cont k)
{
    item_vec v = {0};
    for (size_t i = 0; i < n; i++)
        if (e[i])
            vec_push(&v, e[i]);
    if (!v.n)
        return true;
    bool sync = start_call(ud, r, (tel_call)CALL_SEND_ENTRIES, &v, k);
    free(v.v);
    return sync;
}

/* A long-lived process shuts down: everything buffered is handed over and flushed. */
static void t_shutdown(void *ud, rt *r, rt_isolate_info *iso)
{
    (void)ud, (void)r;
    sdk_iso *si = iso->tel;
    if (!si)
        return;
    exp_host *e = exporter_of(si);
    for (size_t i = 0; i < si->nl1; i++) {
        for (int g = 0; g < SIG_COUNT; g++) {
            if (!si->l1[i].v[g].n)
                continue;
            item_vec items = {0};
            vec_append(&items, &si->l1[i].v[g]);
            exp_host_export(e, (sdk_signal)g, &items, NULL);
            free(items.v);
        }
    }
    exp_host_shutdown(e, NULL);
}

const tel_ops *sdk_ops(void)
{
    static const tel_ops ops = {
        .isolate_born = t_born,
        .isolate_dies = t_dies,
        .span_start = t_span_start,
        .span_end = t_span_end,
        .metric = t_metric,
        .log = t_log,
        .entry_new = t_entry_new,
        .entry_moved = t_entry_moved,
        .entry_lost = t_entry_lost,
        .entry_send = t_entry_send,
        .entry_enqueue = t_entry_enqueue,
        .call = t_call,
        .shutdown = t_shutdown,
        .task_ends = t_task_ends,
        .request_ends = t_request_ends,
        .console_log = t_console_log,
    };
    return &ops;
}
