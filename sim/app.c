/*
 * The request-program interpreter: a frame stack per task, globals per
 * isolate. See app.h.
 */
#include "app.h"

#include "grow.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    tel_entry *it;    /* the telemetry layer's item (NULL with the stand-in) */
    uint64_t creator; /* the request that created it */
    uint32_t global;  /* held by a task: the global it was taken from */
} entry;

typedef struct entry_list {
    entry *e;
    size_t n, cap;
} entry_list;

struct app_iso;

/* An accumulator's checkpoint timer: what its C callback drains. */
typedef struct app_ckpt {
    struct app *a;
    struct app_iso *ai;
    uint32_t global;
} app_ckpt;

/* One isolate global: unset (as after a take) or a list of entries. */
typedef struct gvar {
    bool set;
    entry_list list;
    uint64_t taken_by; /* the request that last took it (for the stories of later entries) */
    app_ckpt *ckpt;    /* an accumulator's timer, once started */
} gvar;

typedef struct app_iso {
    gvar *g;    /* program->nglobals */
    bool *done; /* program->nonce: which once-blocks ran on this isolate */
} app_iso;

typedef enum { FRAME_BLOCK, FRAME_SPAN, FRAME_REPEAT } frame_kind;

typedef struct frame {
    const app_block *b;
    uint32_t pc;
    frame_kind kind;
    uint32_t iter;  /* FRAME_REPEAT: iterations done */
    uint32_t times; /* FRAME_REPEAT */
    uint64_t span;  /* FRAME_SPAN: the telemetry handle */
} frame;

typedef enum { FETCH_NONE, FETCH_WAITING, FETCH_OPEN } fetch_state;

typedef struct app_task {
    /* The await step the task resumes into when it is woken, if that is all it does next:
     * set as it starts, otherwise changed only by an await step (so run_steps is entered
     * only with it NULL, untraced), so a wake-up tests one pointer instead of walking
     * frame -> block -> step; NULL: run_steps decides. */
    const app_step *resume;
    frame f[APP_MAX_DEPTH];
    uint32_t depth;
    fetch_state fetch; /* a fetch step in progress */
    int64_t fetch_latency_ns;
    rt_conn conn;
    int64_t held;              /* bytes of OP_MEMORY held until the task ends */
    entry_list local;          /* entries taken from globals */
    const char *last_await;    /* what the task last awaited (for stories) */
    uint64_t gen;              /* bumped as the record is reused: a late answer sees it changed */
    bool starting;             /* a handler whose request's start the destinations must see */
    bool dest_wait;            /* waiting for a destination's answer */
    const app_step *dest_step; /* the answered step, until the task runs again */
    int dest_status;
    rt_task_ref dest_ref;
    int64_t body_from_ns; /* a streamed body's headers went at this instant (-1: no body) */
} app_task;

struct app {
    const app_program *prog;
    rng *rand;
    const tel_ops *tel;
    void *tel_ud;
    app_stats stats;
    /* Recycled task states, the last freed on top: a stack of pointers, so taking one reads
     * nothing from the task itself. */
    app_task **free_tasks;
    size_t nfree, capfree;
    FILE *trace;
    rt_chooser lat_choose; /* app_set_latency_chooser */
    void *lat_ud;
    app_dest_ops dest;   /* app_set_dest_ops; send NULL: none */
    uint64_t work;       /* steps of repeat iterations (the only unbounded work of a task) */
    uint64_t work_limit; /* UINT64_MAX: none */
    bool exhausted;
};

void app_set_trace(app *a, FILE *trace)
{
    a->trace = trace;
}

void app_set_dest_ops(app *a, const app_dest_ops *ops)
{
    a->dest = *ops;
}

void app_set_latency_chooser(app *a, rt_chooser fn, void *ud)
{
    a->lat_choose = fn;
    a->lat_ud = ud;
}

/* An await's or fetch's latency: the seed's draw, or an edge of its support when chosen. */
static int64_t latency(app *a, rt *r, const dist *d)
{
    int64_t v = dist_draw(d, a->rand); /* drawn either way: the stream stays the plain run's */
    if (!a->lat_choose)
        return v;
    int64_t opt[3] = {v, 0, 0};
    dist_edges(d, &opt[1], &opt[2]);
    if (opt[1] == v && opt[2] == v)
        return v;
    const rt_task *t = rt_current_task(r);
    uint32_t k = a->lat_choose(a->lat_ud, t->isolate_id, &t->request_id, 3);
    return opt[k < 3 ? k : 2];
}

void app_set_work_limit(app *a, uint64_t steps)
{
    a->work_limit = steps ? steps : UINT64_MAX;
}

bool app_exhausted(const app *a)
{
    return a->exhausted;
}

/* The step just run took the isolate over its memory limit (what it holds grows only in the
 * steps that use this): it dies at this instant, and the task runs no further. */
#define STOP_IF_OVER_MEMORY()                                                                      \
    do {                                                                                           \
        if (__builtin_expect(rt_pausing(r), 0)) {                                                  \
            at->resume = NULL;                                                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/*
 * A program can loop without ever yielding (repeat inside repeat, 10^12 iterations), so
 * no event-level check would see it: the interpreter counts its own work. Past the limit
 * the task parks in an await of 31 years (no run gets there: the budget stops it first) and the
 * run's owner sees app_exhausted() as soon as the current event returns.
 */
static bool over_budget(app *a, rt *r, uint64_t steps)
{
    if ((a->work += steps) <= a->work_limit)
        return false;
    a->exhausted = true;
    rt_await(r, DIST_MAX_NS);
    return true;
}

static const char *const op_names[] = {
    [OP_SPAN] = "span",
    [OP_AWAIT] = "await",
    [OP_CPU] = "cpu",
    [OP_METRIC] = "metric",
    [OP_LOG] = "log",
    [OP_GLOBAL] = "global",
    [OP_RESPOND] = "respond",
    [OP_WAIT_UNTIL] = "wait_until",
    [OP_SET_TIMEOUT] = "set_timeout",
    [OP_SET_INTERVAL] = "set_interval",
    [OP_CALL] = "call",
    [OP_REPEAT] = "repeat",
    [OP_ONCE] = "once",
    [OP_FETCH] = "fetch",
    [OP_MEMORY] = "memory",
    [OP_SET_ALARM] = "set_alarm",
    [OP_THROW] = "throw",
};

static void trace_at(app *a, int64_t t_ns, const rt_task *t, const char *what, const char *name)
{
    static const char *const kinds[] = {"handler", "wait_until", "timer"};
    fprintf(a->trace, "%lld r%llu i%llu t%llu %s %s%s%s\n", (long long)t_ns,
            (unsigned long long)t->request_id, (unsigned long long)t->isolate_id,
            (unsigned long long)t->id, kinds[t->kind], what, name ? " " : "", name ? name : "");
}

static void trace(app *a, rt *r, const rt_task *t, const char *what, const char *name)
{
    trace_at(a, rt_task_time(r), t, what, name);
}

app *app_new(const app_program *prog, rng *app_rng, const tel_ops *tel, void *tel_ud)
{
    app *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->prog = prog;
    a->rand = app_rng;
    a->tel = tel;
    a->tel_ud = tel_ud;
    a->work_limit = UINT64_MAX;
    return a;
}

void app_free(app *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nfree; i++) {
        free(a->free_tasks[i]->local.e);
        free(a->free_tasks[i]);
    }
    free(a->free_tasks);
    free(a);
}

const app_stats *app_get_stats(const app *a)
{
    return &a->stats;
}

static void list_push(entry_list *l, entry e)
{
    GROW_FOR(l->e, l->n, l->cap, 8);
    l->e[l->n++] = e;
}

static app_task *task_alloc(app *a, const app_block *b)
{
    app_task *t;
    if (a->nfree) {
        t = a->free_tasks[--a->nfree];
    } else {
        t = calloc(1, sizeof *t);
        if (!t)
            abort();
    }
    t->depth = 1;
    t->f[0] = (frame){.b = b, .kind = FRAME_BLOCK};
    t->resume = b->n && b->steps[0].op == OP_AWAIT ? &b->steps[0] : NULL;
    t->local.n = 0;
    t->last_await = NULL;
    t->fetch = FETCH_NONE;
    t->held = 0;
    t->gen++;
    t->starting = false;
    t->dest_wait = false;
    t->dest_step = NULL;
    t->body_from_ns = -1;
    return t;
}

static void task_recycle(app *a, app_task *t)
{
    GROW_FOR(a->free_tasks, a->nfree, a->capfree, 64);
    a->free_tasks[a->nfree++] = t;
}

/* ---------- host callbacks ---------- */

static void h_handler_start(void *ud, rt *r, rt_task *t)
{
    (void)r;
    app *a = ud;
    app_task *at =
        task_alloc(a, &a->prog->routes[t->route < a->prog->nroutes ? t->route : 0].handler);
    if (a->dest.starts) {
        at->starting = true;
        at->resume = NULL; /* run_steps tells the destinations first */
    }
    t->ext = at;
}

static void h_timer_start(void *ud, rt *r, rt_task *t, const void *body)
{
    (void)r;
    t->ext = task_alloc(ud, body);
}

static void h_discard(void *ud, rt *r, rt_task *t, rt_task_end why)
{
    app *a = ud;
    app_task *at = t->ext;
    if (!at)
        return;
    if (a->trace && why == END_EVICTED)
        trace_at(a, rt_now(r), t, "discarded", "isolate evicted");
    else if (a->trace && why == END_CANCELLED_BUDGET)
        trace_at(a, rt_now(r), t, "cancelled", "waitUntil budget spent");
    else if (a->trace && why == END_RUN_OVER)
        trace_at(a, rt_now(r), t, "stranded", "run over");
    else if (a->trace && why == END_CPU_LIMIT)
        trace_at(a, rt_time(r), t, "terminated", "request over the CPU limit");
    else if (a->trace && why == END_DISCONNECTED)
        trace_at(a, rt_now(r), t, "cancelled", "client disconnected");
    if (at->local.n) {
        /* Taken and never sent (nor put back): the take stole them from the global. */
        char note[200];
        snprintf(note, sizeof note, "request %llu took them and ended without sending them",
                 (unsigned long long)t->request_id);
        /* A task that simply ended stole them from their global (the story names it); one
         * cut short lost them from its own hands. */
        for (size_t i = 0; i < at->local.n; i++)
            a->tel->entry_lost(a->tel_ud, r, at->local.e[i].it,
                               why == END_DONE ? TEL_LOST_OVERWRITTEN : TEL_LOST_TASK, (int)why,
                               why == END_DONE ? a->prog->globals[at->local.e[i].global]
                                               : TEL_HOLDER_TASK,
                               why == END_DONE ? note : NULL);
        a->stats.global_entries_lost += at->local.n;
        at->local.n = 0;
    }
    /* What the task held goes with it (an evicted isolate's memory is gone anyway). */
    if (at->fetch == FETCH_OPEN)
        rt_conn_release(r, at->conn);
    if (at->held)
        rt_mem_add(r, rt_task_isolate_ref(r, t), -at->held);
    a->tel->task_ends(a->tel_ud, r, t, why);
    t->ext = NULL;
    task_recycle(a, at);
}

static void h_isolate_born(void *ud, rt *r, rt_isolate_info *iso)
{
    app *a = ud;
    app_iso *ai = calloc(1, sizeof *ai);
    if (!ai || (a->prog->nglobals && !(ai->g = calloc(a->prog->nglobals, sizeof *ai->g))) ||
        (a->prog->nonce && !(ai->done = calloc(a->prog->nonce, sizeof *ai->done))))
        abort();
    iso->app = ai;
    a->tel->isolate_born(a->tel_ud, r, iso);
}

static void h_isolate_dies(void *ud, rt *r, rt_isolate_info *iso, rt_evict cause)
{
    app *a = ud;
    app_iso *ai = iso->app;
    for (uint32_t i = 0; ai && i < a->prog->nglobals; i++) {
        gvar *g = &ai->g[i];
        for (size_t k = 0; k < g->list.n; k++)
            a->tel->entry_lost(a->tel_ud, r, g->list.e[k].it, TEL_LOST_ISOLATE, (int)cause,
                               a->prog->globals[i], NULL);
        a->stats.global_entries_lost += g->list.n;
        free(g->list.e);
        free(g->ckpt); /* its timer died with the isolate */
    }
    if (ai) {
        free(ai->g);
        free(ai->done);
    }
    free(ai);
    iso->app = NULL;
    a->tel->isolate_dies(a->tel_ud, r, iso, cause);
}

static void h_shutdown(void *ud, rt *r, rt_isolate_info *iso)
{
    app *a = ud;
    a->tel->shutdown(a->tel_ud, r, iso);
}

static void h_request_ends(void *ud, rt *r, rt_isolate_info *iso, uint64_t request, bool timers,
                           bool cancelled)
{
    app *a = ud;
    a->tel->request_ends(a->tel_ud, r, iso, request, timers, cancelled);
}

static void resume(void *ud, rt *r, rt_task_ref ref)
{
    (void)ud;
    rt_resume(r, ref);
}

/* The entries of `g` are lost at once: its value was replaced or cleared by request `me`. */
static void lose_all(app *a, rt *r, gvar *g, const char *name, const char *note)
{
    for (size_t i = 0; i < g->list.n; i++)
        a->tel->entry_lost(a->tel_ud, r, g->list.e[i].it, TEL_LOST_OVERWRITTEN, 0, name, note);
    a->stats.global_entries_lost += g->list.n;
    g->list.n = 0;
}

/* "request 44 replaced FLAG_LOG after its await req.bytes" */
static void act_note(char *out, size_t len, const app_task *at, uint64_t me, const char *verb,
                     const char *name)
{
    int n = snprintf(out, len, "request %llu %s %s", (unsigned long long)me, verb, name);
    if (at->last_await && n > 0 && (size_t)n < len)
        snprintf(out + n, len - (size_t)n, " after its await %s", at->last_await);
}

static void checkpoint_fire(void *ud, rt *r);

/* An accumulator drains into one queue message (nothing when it is empty). k: the task waits
 * for send() to resolve (a checkpoint step), else nobody does. False: the task must yield. */
static bool checkpoint(app *a, rt *r, gvar *g, const tel_cont *k)
{
    if (!g->list.n)
        return true;
    tel_entry **e = malloc(g->list.n * sizeof *e);
    if (!e)
        abort();
    for (size_t i = 0; i < g->list.n; i++)
        e[i] = g->list.e[i].it;
    tel_enqueued q = a->tel->entry_enqueue(a->tel_ud, r, e, g->list.n, k);
    free(e);
    if (q == TEL_ENQ_NONE)
        return true;
    a->stats.checkpoints++;
    g->list.n = 0;
    if (q == TEL_ENQ_PENDING) {
        rt_suspend(r);
        return false;
    }
    return true;
}

static void checkpoint_fire(void *ud, rt *r)
{
    app_ckpt *c = ud;
    checkpoint(c->a, r, &c->ai->g[c->global], NULL);
}

static void put_entry(app *a, rt *r, gvar *g, uint32_t gi, entry e)
{
    list_push(&g->list, e);
    a->tel->entry_moved(a->tel_ud, r, e.it, a->prog->globals[gi]);
}

/* Moves the task's entries taken from global `gi` into `to` (a list), keeping the rest. */
static void take_local(app_task *at, uint32_t gi, entry_list *to)
{
    size_t keep = 0;
    for (size_t i = 0; i < at->local.n; i++) {
        if (at->local.e[i].global == gi)
            list_push(to, at->local.e[i]);
        else
            at->local.e[keep++] = at->local.e[i];
    }
    at->local.n = keep;
}

/* Whether a block (or one nested in it) sends or puts back what was taken from global `gi`:
 * what a waitUntil closure that does captures. */
static bool block_hands_on(const app_block *b, uint32_t gi)
{
    for (uint32_t i = 0; i < b->n; i++) {
        const app_step *s = &b->steps[i];
        if (s->op == OP_GLOBAL && s->global == gi &&
            (s->gop == GLOBAL_SEND || s->gop == GLOBAL_PUT_BACK))
            return true;
        if (s->body.n && block_hands_on(&s->body, gi))
            return true;
    }
    return false;
}

/* Runs a global step; false when the task must yield (a send still in progress). */
static bool global_op(app *a, rt *r, app_task *at, const app_step *s)
{
    app_iso *ai = rt_current_isolate(r)->app;
    uint32_t gi = s->global;
    gvar *g = &ai->g[gi];
    const char *name = a->prog->globals[gi];
    const app_accumulator *acc = a->prog->accumulators ? &a->prog->accumulators[gi] : NULL;
    bool accumulator = acc && acc->on;
    uint64_t me = rt_current_task(r)->request_id;
    char note[200];
    switch (s->gop) {
    case GLOBAL_SET: /* a fresh value: whatever the old one held is gone */
        act_note(note, sizeof note, at, me, "replaced", name);
        lose_all(a, r, g, name, note);
        g->set = true;
        break;
    case GLOBAL_APPEND: {
        entry e = {a->tel->entry_new(a->tel_ud, r, name, s->flag, s->flag_variant), me, gi};
        a->stats.global_entries++;
        if (!g->set && (s->on_unset_fresh || accumulator))
            g->set = true; /* get_or_insert_with(Default::default) */
        if (!g->set) {     /* `if let Some(log) = FLAG_LOG.borrow_mut().as_mut()`: dropped */
            if (g->taken_by)
                snprintf(note, sizeof note, "%s was unset (request %llu had taken it)", name,
                         (unsigned long long)g->taken_by);
            else
                snprintf(note, sizeof note, "%s was unset", name);
            a->tel->entry_lost(a->tel_ud, r, e.it, TEL_LOST_OVERWRITTEN, 0, name, note);
            a->stats.global_entries_lost++;
            break;
        }
        list_push(&g->list, e); /* its creation put it there: no move */
        if (rt_pausing(r))
            break; /* the entry took the isolate over its memory limit: it dies now */
        if (accumulator && acc->every_ns > 0 && !g->ckpt) {
            g->ckpt = malloc(sizeof *g->ckpt);
            if (!g->ckpt)
                abort();
            *g->ckpt = (app_ckpt){a, ai, gi};
            rt_set_isolate_timer_fn(r, acc->every_ns, acc->every_ns, checkpoint_fire, g->ckpt);
        }
        if (accumulator && acc->max_entries && g->list.n >= acc->max_entries)
            checkpoint(a, r, g, NULL); /* the append does not wait for it */
        break;
    }
    case GLOBAL_READ:
        for (size_t i = 0; i < g->list.n; i++)
            if (g->list.e[i].creator != me)
                a->stats.global_entries_mixed++;
        break;
    case GLOBAL_TAKE:
        for (size_t i = 0; i < g->list.n; i++) {
            entry e = g->list.e[i];
            if (e.creator != me)
                a->stats.global_entries_mixed++;
            e.global = gi;
            list_push(&at->local, e);
            a->tel->entry_moved(a->tel_ud, r, e.it, TEL_HOLDER_TASK);
        }
        g->list.n = 0;
        g->set = false;
        g->taken_by = me;
        break;
    case GLOBAL_CLEAR:
        act_note(note, sizeof note, at, me, "cleared", name);
        lose_all(a, r, g, name, note);
        break;
    case GLOBAL_PUT_BACK: {
        entry_list mine = {0};
        take_local(at, gi, &mine);
        g->set = true;
        for (size_t i = 0; i < mine.n; i++)
            put_entry(a, r, g, gi, mine.e[i]);
        free(mine.e);
        break;
    }
    case GLOBAL_CHECKPOINT: { /* await env.QUEUE.send(batch) */
        tel_cont k = {resume, a, rt_current_ref(r)};
        if (!checkpoint(a, r, g, &k))
            return false;
        break;
    }
    case GLOBAL_SEND: {
        entry_list mine = {0};
        take_local(at, gi, &mine);
        if (!mine.n)
            break;
        tel_entry **e = malloc(mine.n * sizeof *e);
        if (!e)
            abort();
        for (size_t i = 0; i < mine.n; i++)
            e[i] = mine.e[i].it;
        tel_cont k = {resume, a, rt_current_ref(r)};
        bool sync = a->tel->entry_send(a->tel_ud, r, e, mine.n, k);
        free(e);
        free(mine.e);
        if (!sync) {
            rt_suspend(r);
            return false;
        }
        break;
    }
    }
    return true;
}

/* A fetch step: the subrequest's limits first, then the await. False: the task yields. */
static bool fetch_step(app *a, rt *r, app_task *at, const app_step *s)
{
    a->stats.fetches++;
    at->last_await = s->name;
    switch (rt_subrequest_task(r, &at->conn)) {
    case RT_SUB_REFUSED:
        a->stats.fetches_refused++;
        if (a->trace)
            trace(a, r, rt_current_task(r), "fetch_refused", "Too many subrequests.");
        return true;
    case RT_SUB_QUEUED: /* resumed with the connection */
        at->fetch = FETCH_WAITING;
        at->fetch_latency_ns = latency(a, r, &s->d);
        return false;
    case RT_SUB_GO:
        break;
    }
    at->fetch = FETCH_OPEN;
    a->stats.awaits++;
    rt_await(r, latency(a, r, &s->d));
    return false;
}

/* A destination's answer for a task that waits for it (the record may have been reused:
 * the tag says). */
static void dest_answered(void *ud, uint64_t tag, rt *r, int status)
{
    app_task *at = ud;
    if (at->gen != tag || !at->dest_wait)
        return;
    at->dest_wait = false;
    at->dest_status = status;
    rt_resume(r, at->dest_ref);
}

/* A fetch step with a destination: the real request goes; the task waits for its answer. */
static void dest_step(app *a, rt *r, app_task *at, const app_step *s)
{
    a->stats.fetches++;
    a->stats.awaits++;
    at->last_await = s->name;
    at->resume = NULL; /* it resumes into run_steps, which reads the answer */
    at->dest_wait = true;
    at->dest_step = s;
    a->dest.send(a->dest.ud, r, s->dest - 1, dest_answered, at, at->gen);
    at->dest_ref = rt_suspend(r);
}

/* Runs the current task until it awaits, suspends or finishes: every step. */
static __attribute__((noinline)) void run_steps(app *a, rt *r, rt_task *t, app_task *at)
{
    if (a->trace)
        trace(a, r, t, "runs", NULL);
    if (at->starting) {
        at->starting = false;
        a->dest.starts(a->dest.ud, r, t->request_id);
    }
    if (at->dest_step &&
        !at->dest_wait) { /* the answer is in: a failure runs the step's on_error steps */
        const app_step *s = at->dest_step;
        at->dest_step = NULL;
        bool ok = at->dest_status >= 200 && at->dest_status < 300;
        if (a->trace) {
            char st[32];
            snprintf(st, sizeof st, "%s %d", s->name, at->dest_status);
            trace(a, r, t, "answered", st);
        }
        if (!ok && s->body.n) {
            assert(at->depth < APP_MAX_DEPTH);
            at->f[at->depth++] = (frame){.b = &s->body, .kind = FRAME_BLOCK};
        }
    }
    if (at->fetch == FETCH_WAITING) { /* it has its connection now */
        at->fetch = FETCH_OPEN;
        a->stats.awaits++;
        rt_await(r, at->fetch_latency_ns);
        return;
    }
    if (at->fetch == FETCH_OPEN) { /* the response is in: the connection closes */
        at->fetch = FETCH_NONE;
        rt_conn_release(r, at->conn);
    }
    for (;;) {
        frame *f = &at->f[at->depth - 1];
        if (f->pc == f->b->n) {
            if (f->kind == FRAME_REPEAT && ++f->iter < f->times) {
                /* Only repeats make a task's work unbounded: it is counted here, the
                 * steps of the next iteration at once, not step by step. */
                if (over_budget(a, r, f->b->n + 1u))
                    return;
                f->pc = 0;
                continue;
            }
            if (f->kind == FRAME_SPAN && f->span) {
                a->tel->span_end(a->tel_ud, r, f->span);
                STOP_IF_OVER_MEMORY();
            }
            if (--at->depth == 0) {
                if (a->trace)
                    trace(a, r, t, "ends", NULL);
                if (at->body_from_ns >= 0) { /* EOF: the body is complete */
                    a->stats.bodies++;
                    a->stats.body_ns += rt_task_time(r) - at->body_from_ns;
                }
                rt_finish(r);
                return;
            }
            continue;
        }
        const app_step *s = &f->b->steps[f->pc++];
        a->stats.steps++;
        if (a->trace) {
            static const char *const gops[] = {"set",   "append", "read",     "take",
                                               "clear", "send",   "put_back", "checkpoint"};
            char name[160];
            if (s->op == OP_GLOBAL)
                snprintf(name, sizeof name, "%s %s", s->name, gops[s->gop]);
            else if (s->op == OP_CALL)
                snprintf(name, sizeof name, "%s", tel_call_name(s->call));
            else
                snprintf(name, sizeof name, "%s", s->name ? s->name : "");
            trace(a, r, t, op_names[s->op], name[0] ? name : NULL);
        }
        switch (s->op) {
        case OP_ONCE: {
            app_iso *ai = rt_current_isolate(r)->app;
            if (ai->done[s->global])
                break;
            ai->done[s->global] = true;
            assert(at->depth < APP_MAX_DEPTH);
            at->f[at->depth++] = (frame){.b = &s->body, .kind = FRAME_BLOCK};
            break;
        }
        case OP_SPAN:
        case OP_REPEAT: {
            assert(at->depth < APP_MAX_DEPTH); /* the scenario parser bounds nesting */
            if (s->op == OP_REPEAT && s->times == 0)
                break;
            frame *nf = &at->f[at->depth++];
            *nf = (frame){.b = &s->body,
                          .kind = s->op == OP_SPAN ? FRAME_SPAN : FRAME_REPEAT,
                          .times = s->times};
            if (s->op == OP_SPAN) {
                nf->span = a->tel->span_start(a->tel_ud, r, s->name);
                STOP_IF_OVER_MEMORY();
            }
            break;
        }
        case OP_AWAIT:
            a->stats.awaits++;
            at->last_await = s->name;
            at->resume = s->next_await;
            rt_await(r, latency(a, r, &s->d));
            return;
        case OP_CPU:
            if (!rt_cpu(r, dist_draw(&s->d, a->rand))) {
                at->resume = NULL; /* a paused task goes on after this step, wherever that is */
                return;
            }
            break;
        case OP_FETCH:
            if (s->dest) {
                dest_step(a, r, at, s);
                return;
            }
            if (!fetch_step(a, r, at, s))
                return;
            break;
        case OP_MEMORY:
            if (!s->for_isolate)
                at->held = at->held > INT64_MAX - s->bytes ? INT64_MAX : at->held + s->bytes;
            rt_mem_add(r, rt_current_isolate_ref(r), s->bytes);
            STOP_IF_OVER_MEMORY();
            break;
        case OP_METRIC:
            a->tel->metric(a->tel_ud, r, s->name, s->value);
            STOP_IF_OVER_MEMORY();
            break;
        case OP_LOG:
            if (s->console && a->tel->console_log)
                a->tel->console_log(a->tel_ud, r, s->name, s->severity);
            else
                a->tel->log(a->tel_ud, r, s->name, s->severity);
            STOP_IF_OVER_MEMORY();
            break;
        case OP_GLOBAL:
            if (!global_op(a, r, at, s))
                return;
            STOP_IF_OVER_MEMORY();
            break;
        case OP_RESPOND:
            rt_respond(r, s->status);
            if (s->disconnects)
                rt_disconnect_after(r, dist_draw(&s->d, a->rand));
            if (s->body.n) { /* a streamed body: produced after the headers, to its EOF */
                at->body_from_ns = rt_task_time(r);
                assert(at->depth < APP_MAX_DEPTH);
                at->f[at->depth++] = (frame){.b = &s->body, .kind = FRAME_BLOCK};
            }
            break;
        case OP_WAIT_UNTIL: {
            /* ctx.waitUntil(async () => send(log)): the closure captures what the task
             * took, so the entries go with the new task. */
            app_task *wu = task_alloc(a, &s->body);
            size_t keep = 0;
            for (size_t i = 0; i < at->local.n; i++) {
                if (block_hands_on(&s->body, at->local.e[i].global))
                    list_push(&wu->local, at->local.e[i]);
                else
                    at->local.e[keep++] = at->local.e[i];
            }
            at->local.n = keep;
            rt_wait_until(r, wu);
            /* The work it ran inline may have taken the request over the CPU limit, or
             * paused (and this task with it). */
            if (rt_terminated(r) || rt_pausing(r)) {
                at->resume = NULL;
                return;
            }
            break;
        }
        case OP_SET_TIMEOUT:
            rt_set_timer(r, dist_draw(&s->d, a->rand), 0, &s->body);
            break;
        case OP_SET_ALARM:
            rt_set_alarm(r, dist_draw(&s->d, a->rand));
            break;
        case OP_THROW:
            /* Uncaught: the runtime answers a handler that has not responded with a 500; the
             * blocks unwind as finally clauses would, their spans ending on the way out. */
            rt_threw(r);
            if (t->kind == TASK_HANDLER)
                rt_respond(r, 500);
            for (uint32_t d = 0; d < at->depth; d++) {
                at->f[d].pc = at->f[d].b->n;
                at->f[d].times = 0;
            }
            break;
        case OP_SET_INTERVAL: {
            int64_t every = dist_draw(&s->d, a->rand);
            rt_set_timer(r, every, every > 0 ? every : 1, &s->body);
            break;
        }
        case OP_CALL: {
            tel_cont k = {resume, a, rt_current_ref(r)};
            if (!a->tel->call(a->tel_ud, r, s->call, k)) {
                rt_suspend(r);
                return;
            }
            break;
        }
        }
    }
}

/*
 * Runs the current task until it awaits, suspends or finishes. Most runs are a
 * task resuming into another await: that step alone, with nothing to save, is
 * taken here; everything else (and the same step when tracing) in run_steps.
 * Whether to take it is a branch no predictor can learn (it depends on which
 * request woke), so it tests what the task set as it awaited: one load from the
 * task, not four in a row through its frame and block.
 */
static __attribute__((hot)) void h_run(void *ud, rt *r, rt_task *t) /* hot: see eng_at */
{
    app *a = ud;
    app_task *at = t->ext;
    const app_step *s = at->resume;
    if (s && !a->trace && !a->lat_choose) {
        at->f[at->depth - 1].pc++;
        at->resume = s->next_await;
        at->last_await = s->name;
        a->stats.steps++;
        a->stats.awaits++;
        rt_await(r, dist_draw(&s->d, a->rand));
        return;
    }
    run_steps(a, r, t, at);
}

rt_host app_host(app *a)
{
    return (rt_host){
        .ud = a,
        .handler_start = h_handler_start,
        .timer_start = h_timer_start,
        .run = h_run,
        .discard = h_discard,
        .isolate_born = h_isolate_born,
        .isolate_dies = h_isolate_dies,
        .shutdown = h_shutdown,
        .request_ends = a->tel->request_ends ? h_request_ends : NULL,
    };
}
