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
    uint64_t id;      /* the item id the telemetry layer gave it */
    uint64_t creator; /* the request that created it */
} entry;

typedef struct entry_list {
    entry *e;
    size_t n, cap;
} entry_list;

/* One isolate global: unset (as after a take) or a list of entries. */
typedef struct gvar {
    bool set;
    entry_list list;
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
    int64_t held;     /* bytes of OP_MEMORY held until the task ends */
    entry_list local; /* entries read or taken from globals */
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
    uint64_t work;       /* steps of repeat iterations (the only unbounded work of a task) */
    uint64_t work_limit; /* UINT64_MAX: none */
    bool exhausted;
};

void app_set_trace(app *a, FILE *trace)
{
    a->trace = trace;
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
    t->fetch = FETCH_NONE;
    t->held = 0;
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
    t->ext = task_alloc(a, &a->prog->routes[t->route < a->prog->nroutes ? t->route : 0].handler);
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
    if (why != END_DONE)
        a->stats.global_entries_lost += at->local.n;
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
        a->stats.global_entries_lost += ai->g[i].list.n;
        free(ai->g[i].list.e);
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

static void global_op(app *a, rt *r, app_task *at, const app_step *s)
{
    app_iso *ai = rt_current_isolate(r)->app;
    gvar *g = &ai->g[s->global];
    uint64_t me = rt_current_task(r)->request_id;
    switch (s->gop) {
    case GLOBAL_SET: /* a fresh value: whatever the old one held is gone */
        a->stats.global_entries_lost += g->list.n;
        g->list.n = 0;
        g->set = true;
        break;
    case GLOBAL_APPEND: {
        uint64_t id = a->tel->entry(a->tel_ud, r, a->prog->globals[s->global]);
        a->stats.global_entries++;
        if (g->set)
            list_push(&g->list, (entry){id, me});
        else
            a->stats.global_entries_lost++; /* appending to an unset global: dropped */
        break;
    }
    case GLOBAL_READ:
    case GLOBAL_TAKE:
        for (size_t i = 0; i < g->list.n; i++) {
            if (g->list.e[i].creator != me)
                a->stats.global_entries_mixed++;
            list_push(&at->local, g->list.e[i]);
        }
        if (s->gop == GLOBAL_TAKE) {
            g->list.n = 0;
            g->set = false;
        }
        break;
    case GLOBAL_CLEAR:
        a->stats.global_entries_lost += g->list.n;
        g->list.n = 0;
        break;
    }
}

/* A fetch step: the subrequest's limits first, then the await. False: the task yields. */
static bool fetch_step(app *a, rt *r, app_task *at, const app_step *s)
{
    a->stats.fetches++;
    switch (rt_subrequest_task(r, &at->conn)) {
    case RT_SUB_REFUSED:
        a->stats.fetches_refused++;
        if (a->trace)
            trace(a, r, rt_current_task(r), "fetch_refused", "Too many subrequests.");
        return true;
    case RT_SUB_QUEUED: /* resumed with the connection */
        at->fetch = FETCH_WAITING;
        at->fetch_latency_ns = dist_draw(&s->d, a->rand);
        return false;
    case RT_SUB_GO:
        break;
    }
    at->fetch = FETCH_OPEN;
    a->stats.awaits++;
    rt_await(r, dist_draw(&s->d, a->rand));
    return false;
}

/* Runs the current task until it awaits, suspends or finishes: every step. */
static __attribute__((noinline)) void run_steps(app *a, rt *r, rt_task *t, app_task *at)
{
    if (a->trace)
        trace(a, r, t, "runs", NULL);
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
                rt_finish(r);
                return;
            }
            continue;
        }
        const app_step *s = &f->b->steps[f->pc++];
        a->stats.steps++;
        if (a->trace) {
            static const char *const gops[] = {"set", "append", "read", "take", "clear"};
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
            at->resume = s->next_await;
            rt_await(r, dist_draw(&s->d, a->rand));
            return;
        case OP_CPU:
            if (!rt_cpu(r, dist_draw(&s->d, a->rand))) {
                at->resume = NULL; /* a paused task goes on after this step, wherever that is */
                return;
            }
            break;
        case OP_FETCH:
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
            a->tel->log(a->tel_ud, r, s->name, s->severity);
            STOP_IF_OVER_MEMORY();
            break;
        case OP_GLOBAL:
            global_op(a, r, at, s);
            STOP_IF_OVER_MEMORY();
            break;
        case OP_RESPOND:
            rt_respond(r, s->status);
            break;
        case OP_WAIT_UNTIL:
            rt_wait_until(r, task_alloc(a, &s->body));
            /* The work it ran inline may have taken the request over the CPU limit, or
             * paused (and this task with it). */
            if (rt_terminated(r) || rt_pausing(r)) {
                at->resume = NULL;
                return;
            }
            break;
        case OP_SET_TIMEOUT:
            rt_set_timer(r, dist_draw(&s->d, a->rand), 0, &s->body);
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
    if (s && !a->trace) {
        at->f[at->depth - 1].pc++;
        at->resume = s->next_await;
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
