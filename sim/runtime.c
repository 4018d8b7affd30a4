/*
 * The runtime model (see runtime.h for the semantics). Objects live in pools
 * indexed by slot; events carry (slot, id) and a popped event whose id no
 * longer matches its slot is stale and ignored. Slots are reused LIFO, which
 * is deterministic; nothing is ever ordered by address.
 */
#include "runtime.h"

#include "grow.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

const char *rt_evict_key(rt_evict e)
{
    switch (e) {
#define RT_EVICT_KEY(name, key, text)                                                              \
    case RT_EVICT_##name:                                                                          \
        return key;
        RT_EVICT_MAP(RT_EVICT_KEY)
#undef RT_EVICT_KEY
    case RT_END_OF_RUN:
        return "end";
    default:
        return "?";
    }
}

typedef enum { ISO_FREE, ISO_STARTING, ISO_ACTIVE, ISO_IDLE } iso_state;
/* A Durable Object's lifecycle state (runtime.h); its isolate stays ISO_ACTIVE throughout. */
typedef enum { OBJ_ACTIVE, OBJ_IDLE, OBJ_HIBERNATABLE } obj_state;
typedef enum { T_FREE, T_READY, T_RUNNING, T_WAITING, T_SUSPENDED, T_FROZEN, T_PAUSED } task_state;

/* A task stopped mid-segment at an instant something may end it (rt_cpu), to go on there. */
typedef struct paused {
    uint32_t slot;
    uint64_t id;
    int64_t cpu_left_ns; /* of the CPU step it stopped in */
} paused;

/* Work that came due while its isolate was idle: run on wake, in (due, seq) order. */
typedef struct frozen {
    int64_t due_ns;
    uint64_t seq;
    bool is_timer; /* else a timer task's wake-up */
    uint32_t slot;
    uint64_t id;
} frozen;

typedef struct isolate {
    rt_isolate_info info;
    iso_state state;
    uint32_t in_flight;
    int64_t busy_until_ns;
    bool free_event;  /* an EV_THREAD_FREE is scheduled */
    bool free_choice; /* ... at its own instant, for a choice (rt_set_chooser) */
    uint32_t ready_head, ready_tail;
    uint32_t tasks; /* every task of this isolate, linked through iso_next */
    uint32_t timers;
    frozen *frozen;
    size_t nfrozen, capfrozen;
    int64_t idle_deadline_ns;
    /* The fault windows that target it, bits by index (fixed at birth: colo and id). */
    uint64_t fault_targets;
    int64_t mem;       /* modelled bytes held */
    bool oom_pending;  /* an EV_OOM is scheduled */
    bool dying;        /* being evicted: nothing may start on it */
    uint32_t load_pos; /* its place in its colo's load heap */
    bool idle_pending; /* its last request ended inside a segment: idle when the thread frees */
    /* The thread is held by tasks stopped mid-segment, innermost first (a waitUntil body
     * started inline stops with its parent); they go on at busy_until_ns, before anything
     * else runs on this isolate. */
    paused *paused;
    uint32_t npaused, cappaused;
    /* Kind durable_object: its requests not yet responded, its fetches in flight
     * (rt_io_begin), where it is in its lifecycle (obj_update), the instants its idle
     * eviction and its hibernation are due and the one its EV_OBJ_IDLE pops at, and since
     * when it is billed (-1: not billed now). */
    uint32_t clients, io;
    uint32_t key; /* the object's id (its workload key) */
    obj_state obj;
    int64_t obj_evict_at, obj_hib_at, obj_deadline, bill_from;
} isolate;

/*
 * A colo's live isolates, counted, and - once there are more than cfg.load_index_min (32)
 * of them - a binary min-heap by (requests in flight, id): the top is the least loaded, the
 * oldest of equals, exactly what least_loaded routing picks, so an arrival costs
 * O(log isolates) instead of a scan. Below half that the heap is dropped: for a few
 * isolates the scan is cheaper than keeping the heap in step at every arrival and every
 * request's end. Which one answers depends on the count alone, and both give the same
 * isolate (tests/test_runtime.c compares them).
 */
#define LOAD_INDEX_MIN 32

typedef struct load_heap {
    uint32_t count; /* live isolates in the colo */
    bool on;        /* the heap is kept */
    uint32_t *h;    /* isolate slots */
    uint32_t n, cap;
} load_heap;

/* A fetch waiting for a connection: a C continuation, or a task to resume. */
typedef struct waiting {
    rt_waiter w;
    rt_task_ref task;
    bool is_task;
    bool withdrawn; /* its owner gave up waiting (rt_subrequest_withdraw): skipped */
} waiting;

typedef struct request {
    uint64_t id; /* 0: free slot */
    uint32_t iso;
    uint32_t route;
    int64_t arrived_ns;
    bool responded;
    bool terminated;        /* over the CPU limit: its tasks are being discarded */
    bool cancelling;        /* its waitUntil budget is spent: its work is being cancelled */
    bool alarm;             /* a Durable Object's alarm() run (its object: the isolate's key) */
    uint32_t pending;       /* unsettled tasks: handler + waitUntil */
    int64_t cpu_ns;         /* used by its handler and waitUntil tasks */
    int64_t wu_deadline_ns; /* its waitUntil work is cancelled then (0: no deadline) */
    uint32_t subrequests, conns;
    waiting *waits; /* FIFO: waits[whead..nwaits) */
    uint32_t whead, nwaits, capwaits;
    bool threw; /* a task of it threw (rt_threw): its outcome is exception */
} request;

typedef struct task {
    rt_task pub;
    rt_fn cfn; /* TASK_CALLBACK: the C code to run */
    void *cud;
    rt_cancel_fn ccancel; /* ... and what to do if its isolate dies before it ran (or NULL) */
    uint64_t timer_id;    /* the timer whose firing made it (0: none) */
    task_state state;
    uint32_t iso, req;
    uint32_t ready_next;
    uint32_t iso_prev, iso_next;
} task;

typedef struct timer {
    uint64_t id; /* 0: free */
    uint32_t iso;
    uint64_t owner_request;
    const void *body;
    rt_fn cfn; /* a C timer (body unused) */
    void *cud;
    int64_t due_ns;
    int64_t interval_ns;
    uint32_t iso_prev, iso_next;
} timer;

/*
 * Pools of fixed-size objects in chunks that never move, so a pointer to an
 * object stays valid while others are created (the host holds its task
 * across rt_wait_until, which creates one). Slots come from the free stack
 * first (LIFO: deterministic), else the next unused one; the caller
 * initialises every field of the object (inline stores, no memset). The free
 * slots are a stack of their own, not a list through the objects: taking one
 * then reads no object memory.
 * Running out of memory aborts: a half-built model would give wrong results.
 */
#define CHUNK_BITS 8
#define CHUNK_LEN  (1u << CHUNK_BITS)

typedef struct pool {
    char **chunks;
    char *first; /* chunks[0], inline: most runs use only the first CHUNK_LEN slots */
    uint32_t nchunks;
    uint32_t n;     /* slots ever used */
    uint32_t *free; /* free slots, the last freed on top */
    uint32_t nfree, capfree;
    size_t elem;
} pool;

static void pool_init(pool *p, size_t elem)
{
    memset(p, 0, sizeof *p);
    p->elem = elem;
}

/* A slot never used yet (a new chunk when the last is full). */
static __attribute__((noinline)) uint32_t pool_fresh(pool *p)
{
    if ((p->n >> CHUNK_BITS) == p->nchunks) {
        char **nc = realloc(p->chunks, (p->nchunks + 1) * sizeof *nc);
        if (!nc || !(nc[p->nchunks] = malloc(CHUNK_LEN * p->elem)))
            abort();
        p->chunks = nc;
        p->first = nc[0];
        p->nchunks++;
    }
    return p->n++;
}

/* Inline: a request and its handler task take a slot each. */
static inline uint32_t pool_get(pool *p)
{
    if (p->nfree)
        return p->free[--p->nfree];
    return pool_fresh(p);
}

/* Appends x to a growable array of slots. Inline: every task and request freed comes here. */
static inline void u32_push(uint32_t **v, uint32_t *n, uint32_t *cap, uint32_t first_cap,
                            uint32_t x)
{
    GROW_FOR(*v, *n, *cap, first_cap);
    (*v)[(*n)++] = x;
}

static void pool_put(pool *p, uint32_t s)
{
    u32_push(&p->free, &p->nfree, &p->capfree, CHUNK_LEN, s);
}

static void pool_free(pool *p)
{
    for (uint32_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    free(p->free);
}

/* The storms that fired for the request in a slot (rt_observer.fault), while it is `id`. */
typedef struct storm_fired {
    uint64_t id;
    uint64_t windows;
} storm_fired;

struct rt {
    eng *e;
    int64_t mem_held; /* the memory of every live isolate, saturating (rt_memory_held) */
    rng *rand;
    rng *faults;
    rt_config cfg;
    rt_colo one_colo; /* when the config names none */
    rt_colo_stats *colo_stats;
    load_heap *loads;       /* one per colo */
    uint32_t indexed_colos; /* how many have their heap on */
    rt_isolate_ref *sticky; /* sticky routing: the isolate of each key */
    /* Durable Objects: each object's alarm (its storage's; 0: none), the failed runs of it
     * so far, and a generation that makes an EV_ALARM of a replaced alarm stale. */
    int64_t *alarm_at;
    uint32_t *alarm_tries;
    uint64_t *alarm_gen;
    bool kill_scheduled;
    int64_t next_kill_ns; /* the pending random kill (ENG_TIME_MAX: none) */
    int64_t run_end_ns;   /* the run's end (rt_set_run_end; ENG_TIME_MAX: not known yet) */
    uint32_t next_deploy; /* the first deploy not yet applied */
    bool pausing;         /* the running segment stops at pause_ns (rt_cpu, rt_mem_add) */
    int64_t pause_ns;
    /* Fault windows (cfg.fault_windows), as bit masks by index: which are pressures, which
     * storms, and which have begun (their EV_FAULT_START popped). */
    uint64_t pressure_windows, storm_windows, faults_started;
    uint32_t fault_events;    /* of theirs still pending: never "something going on" */
    storm_fired *storm_fired; /* by request slot; only with an observer of faults */
    /* Client disconnects pending (rt_disconnect_after), by request slot while it is `id`. */
    struct disconnect {
        uint64_t id;
        int64_t at_ns;
    } * disc;
    uint32_t capdisc;
    uint32_t capstorm;
    rt_host host;
    rt_observer obs;
    rt_stats stats;

    pool isos;
    /* Live isolates in creation (= id) order: an array, so routing reads them without
     * following links. */
    uint32_t *live;
    uint32_t nlive, caplive;
    uint64_t next_iso_id;
    pool reqs;
    uint64_t next_req_id;
    pool tasks;
    uint64_t next_task_id;
    pool timers;
    uint64_t next_timer_id;

    /* Scheduling choices (rt_set_chooser): who picks the next ready task, and whether the
     * running kick loop is the deferred one (EV_THREAD_FREE) that may pick. */
    rt_chooser chooser;
    void *chooser_ud;
    bool choosing;
    uint64_t *choice_reqs; /* the ready tasks' requests, passed to the chooser */
    uint32_t capchoice;

    /* The running task (a stack of one, plus waitUntil children run inline). */
    uint32_t cur;
    int64_t seg_start_ns;
    int64_t seg_cpu_ns;
    uint64_t freeze_seq; /* orders frozen work that came due at the same instant */
    uint32_t last_timer; /* slot of the timer rt_set_timer made last */
    int64_t acting_ns;   /* >= 0: the instant the runtime acts at outside a task (a termination) */
    /* > 0 while the runtime tears something down (a request, waitUntil work, an isolate):
     * callbacks may make tasks ready, but none runs until it is done. */
    uint32_t hold;
    /* Arrivals do more than the common case (arrival_extras): a wall limit, an alarm's wall
     * limit or Durable Objects. */
    bool arrival_extras;
};

/* ---------- pools ---------- */

/* Typed, so the element size is a constant (no multiply by a variable); the first
 * chunk without the chunk table (one dependent load fewer on every lookup). */
#define POOL_AT(p, T, s)                                                                           \
    (((T *)(void *)((s) < CHUNK_LEN ? (p).first                                                    \
                                    : (p).chunks[(s) >> CHUNK_BITS]))[(s) & (CHUNK_LEN - 1)])
#define ISO(r, s)   POOL_AT((r)->isos, isolate, s)
#define REQ(r, s)   POOL_AT((r)->reqs, request, s)
#define TASK(r, s)  POOL_AT((r)->tasks, task, s)
#define TIMER(r, s) POOL_AT((r)->timers, timer, s)

static void schedule(rt *r, int64_t t, uint32_t type, uint32_t a, uint64_t b)
{
    if (!eng_at(r->e, t, type, a, b))
        abort(); /* out of memory: a dropped event would silently change the run */
}

/* The fault windows' events, up front as deploys: none without windows, so a run without
 * keeps its event log (and its hash). An end at ENG_TIME_MAX is no event: nothing ends. */
static void faults_schedule(rt *r)
{
    assert(r->cfg.nfault_windows <= RT_MAX_FAULT_WINDOWS);
    if (r->cfg.nfault_windows > RT_MAX_FAULT_WINDOWS) /* (the scenario compiler refuses more) */
        r->cfg.nfault_windows = RT_MAX_FAULT_WINDOWS;
    for (uint32_t i = 0; i < r->cfg.nfault_windows; i++) {
        const rt_fault_window *w = &r->cfg.fault_windows[i];
        assert(w->from_ns >= 0 && w->from_ns < w->until_ns && w->until_ns <= ENG_TIME_MAX);
        assert((w->memory_bytes > 0) != (w->cpu_factor > 1));
        assert(!w->ncolos || w->colos);
        assert(!w->nisolates || w->isolates);
        if (w->memory_bytes > 0)
            r->pressure_windows |= 1ull << i;
        else
            r->storm_windows |= 1ull << i;
        schedule(r, w->from_ns, EV_FAULT_START, i, 0);
        r->fault_events++;
        if (w->until_ns < ENG_TIME_MAX) {
            schedule(r, w->until_ns, EV_FAULT_END, i, 0);
            r->fault_events++;
        }
    }
}

rt *rt_new(eng *e, rng *runtime_rng, const rt_config *cfg, const rt_host *host)
{
    rt *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->e = e;
    r->rand = runtime_rng;
    r->cfg = *cfg;
    r->next_kill_ns = ENG_TIME_MAX;
    r->run_end_ns = ENG_TIME_MAX;
    r->arrival_extras =
        cfg->kind == RT_OBJECT || cfg->wall_limit_ns > 0 || cfg->alarm_wall_limit_ns > 0;
    if (!r->cfg.load_index_min)
        r->cfg.load_index_min = LOAD_INDEX_MIN;
    r->host = *host;
    if (!cfg->ncolos) {
        r->one_colo = (rt_colo){"default", 1, cfg->max_isolates};
        r->cfg.colos = &r->one_colo;
        r->cfg.ncolos = 1;
    }
    r->colo_stats = calloc(r->cfg.ncolos, sizeof *r->colo_stats);
    r->loads = calloc(r->cfg.ncolos, sizeof *r->loads);
    bool keyed = cfg->routing == RT_ROUTE_STICKY || cfg->kind == RT_OBJECT;
    assert(cfg->kind != RT_OBJECT || cfg->keys > 0);
    if (keyed && cfg->keys)
        r->sticky = calloc(cfg->keys, sizeof *r->sticky);
    if (cfg->kind == RT_OBJECT && cfg->keys) {
        r->alarm_at = calloc(cfg->keys, sizeof *r->alarm_at);
        r->alarm_tries = calloc(cfg->keys, sizeof *r->alarm_tries);
        r->alarm_gen = calloc(cfg->keys, sizeof *r->alarm_gen);
    }
    if (!r->colo_stats || !r->loads || (keyed && cfg->keys && !r->sticky) ||
        (cfg->kind == RT_OBJECT && cfg->keys &&
         (!r->alarm_at || !r->alarm_tries || !r->alarm_gen))) {
        free(r->alarm_at);
        free(r->alarm_tries);
        free(r->alarm_gen);
        free(r->sticky);
        free(r->colo_stats);
        free(r->loads);
        free(r);
        return NULL;
    }
    pool_init(&r->isos, sizeof(isolate));
    pool_init(&r->reqs, sizeof(request));
    pool_init(&r->tasks, sizeof(task));
    pool_init(&r->timers, sizeof(timer));
    r->cur = NONE;
    r->acting_ns = -1;
    r->next_iso_id = r->next_req_id = r->next_task_id = r->next_timer_id = 1;
    for (size_t i = 0; i < cfg->ndeploys; i++)
        schedule(r, cfg->deploys_ns[i], EV_DEPLOY, (uint32_t)i, 0);
    if (cfg->kind == RT_EDGE)
        faults_schedule(r);
    return r;
}

void rt_set_chooser(rt *r, rt_chooser fn, void *ud)
{
    r->chooser = fn;
    r->chooser_ud = ud;
}

void rt_free(rt *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->isos.n; i++)
        if (ISO(r, i).state != ISO_FREE)
            free(ISO(r, i).frozen);
    for (uint32_t i = 0; i < r->reqs.n; i++)
        if (REQ(r, i).id)
            free(REQ(r, i).waits);
    free(r->colo_stats);
    for (uint32_t i = 0; r->loads && i < r->cfg.ncolos; i++)
        free(r->loads[i].h);
    free(r->loads);
    free(r->live);
    free(r->sticky);
    free(r->alarm_at);
    free(r->alarm_tries);
    free(r->alarm_gen);
    free(r->choice_reqs);
    free(r->storm_fired);
    free(r->disc);
    pool_free(&r->isos);
    pool_free(&r->reqs);
    pool_free(&r->tasks);
    pool_free(&r->timers);
    free(r);
}

void rt_set_observer(rt *r, const rt_observer *obs)
{
    r->obs = *obs;
}

/* Inline: three per request, and most runs observe none. */
static inline void notify_request(rt *r, uint32_t q, rt_request_event ev, int64_t t)
{
    if (r->obs.request)
        r->obs.request(r->obs.ud, REQ(r, q).id, ISO(r, REQ(r, q).iso).info.id, ev, t);
}

rt_isolate_ref rt_current_isolate_ref(const rt *r)
{
    assert(r->cur != NONE);
    uint32_t s = TASK(r, r->cur).iso;
    return (rt_isolate_ref){s, ISO(r, s).info.id};
}

rt_isolate_info *rt_task_isolate(rt *r, const rt_task *t)
{
    /* The host's rt_task is the first member of our task. */
    const task *tk = (const task *)(const void *)t;
    return &ISO(r, tk->iso).info;
}

rt_isolate_ref rt_task_isolate_ref(const rt *r, const rt_task *t)
{
    const task *tk = (const task *)(const void *)t;
    return (rt_isolate_ref){tk->iso, ISO(r, tk->iso).info.id};
}

bool rt_isolate_alive(const rt *r, rt_isolate_ref ref)
{
    return ref.slot < r->isos.n && ISO(r, ref.slot).state != ISO_FREE &&
           ISO(r, ref.slot).info.id == ref.id;
}

int64_t rt_now(const rt *r)
{
    return eng_now(r->e);
}

const rt_stats *rt_get_stats(const rt *r)
{
    return &r->stats;
}

const rt_config *rt_get_config(const rt *r)
{
    return &r->cfg;
}

const rt_colo_stats *rt_get_colo_stats(const rt *r, uint32_t i)
{
    return &r->colo_stats[i < r->cfg.ncolos ? i : 0];
}

/* ---------- tasks ---------- */

static void obj_update(rt *r, uint32_t s);

static uint32_t task_new(rt *r, uint32_t iso, uint32_t req, rt_task_kind kind, uint64_t req_id)
{
    uint32_t s = pool_get(&r->tasks);
    task *t = &TASK(r, s);
    /* Every field, one store each: a compound literal zeroes the whole object first with
     * `rep stos`, which costs more than the rest of task_new. */
    _Static_assert(sizeof(task) == 104 && sizeof(rt_task) == 48,
                   "a field was added to task or rt_task: initialise it here");
    t->pub.id = r->next_task_id++;
    t->pub.kind = kind;
    t->pub.request_id = req_id;
    t->pub.isolate_id = ISO(r, iso).info.id;
    t->pub.route = req != NONE ? REQ(r, req).route : 0;
    t->pub.ext = NULL;
    t->cfn = NULL;
    t->cud = NULL;
    t->ccancel = NULL;
    t->timer_id = 0;
    t->state = T_FREE;
    t->iso = iso;
    t->req = req;
    t->ready_next = NONE;
    t->iso_prev = NONE;
    t->iso_next = ISO(r, iso).tasks;
    if (t->iso_next != NONE)
        TASK(r, t->iso_next).iso_prev = s;
    ISO(r, iso).tasks = s;
    r->stats.tasks++;
    return s;
}

/* Unlinks and frees a task (after the host discarded it). */
static void task_release(rt *r, uint32_t s)
{
    task *t = &TASK(r, s);
    isolate *iso = &ISO(r, t->iso);
    if (t->iso_prev != NONE)
        TASK(r, t->iso_prev).iso_next = t->iso_next;
    else
        iso->tasks = t->iso_next;
    if (t->iso_next != NONE)
        TASK(r, t->iso_next).iso_prev = t->iso_prev;
    t->state = T_FREE;
    t->pub.id = 0;
    pool_put(&r->tasks, s);
    if (__builtin_expect(r->cfg.kind == RT_OBJECT, 0))
        obj_update(r, t->iso);
}

static void ready_push(rt *r, uint32_t iso_slot, uint32_t s)
{
    isolate *iso = &ISO(r, iso_slot);
    task *t = &TASK(r, s);
    t->state = T_READY;
    t->ready_next = NONE;
    if (iso->ready_tail != NONE)
        TASK(r, iso->ready_tail).ready_next = s;
    else
        iso->ready_head = s;
    iso->ready_tail = s;
}

static uint32_t ready_pop(rt *r, isolate *iso)
{
    uint32_t s = iso->ready_head;
    if (s != NONE) {
        iso->ready_head = TASK(r, s).ready_next;
        if (iso->ready_head == NONE)
            iso->ready_tail = NONE;
    }
    return s;
}

/* With a chooser: the ready task it picks (when there is a choice), out of the queue. */
static uint32_t ready_choose(rt *r, isolate *iso)
{
    uint32_t n = 0;
    for (uint32_t x = iso->ready_head; x != NONE; x = TASK(r, x).ready_next) {
        if (n == r->capchoice) {
            r->capchoice = r->capchoice ? 2 * r->capchoice : 16;
            r->choice_reqs = realloc(r->choice_reqs, r->capchoice * sizeof *r->choice_reqs);
            if (!r->choice_reqs)
                abort();
        }
        r->choice_reqs[n++] = TASK(r, x).pub.request_id;
    }
    if (n < 2)
        return ready_pop(r, iso);
    uint32_t k = r->chooser(r->chooser_ud, iso->info.id, r->choice_reqs, n);
    assert(k < n);
    uint32_t prev = NONE, x = iso->ready_head;
    for (uint32_t i = 0; i < k; i++) {
        prev = x;
        x = TASK(r, x).ready_next;
    }
    if (prev == NONE)
        iso->ready_head = TASK(r, x).ready_next;
    else
        TASK(r, prev).ready_next = TASK(r, x).ready_next;
    if (iso->ready_tail == x)
        iso->ready_tail = prev;
    return x;
}

static void request_terminate(rt *r, uint32_t q);
static void pause_push(rt *r, uint32_t s, int64_t cpu_left_ns);
static bool cpu_resume(rt *r, int64_t cpu_ns);

/* Runs task s; a paused task first computes what was left of the step it paused in. */
static inline __attribute__((always_inline)) void run_task_from(rt *r, uint32_t s,
                                                                int64_t cpu_left_ns)
{
    uint32_t saved = r->cur;
    r->cur = s;
    /* Chunks never move, so t stays readable even once the task is released. */
    task *t = &TASK(r, s);
    t->state = T_RUNNING;
    if (t->cfn) {
        t->cfn(t->cud, r);
        if (t->state == T_RUNNING)
            rt_finish(r);
        r->cur = saved;
        return;
    }
    if (cpu_left_ns <= 0 || cpu_resume(r, cpu_left_ns))
        r->host.run(r->host.ud, r, &t->pub);
    r->cur = saved;
    if (t->state != T_RUNNING)
        return;
    /* Still running: the segment is stopping (a waitUntil body started inline paused, or
     * the memory limit was crossed), so it pauses too, after what paused within it. */
    if (r->pausing) {
        pause_push(r, s, 0);
        return;
    }
    /* Else its request went over the CPU limit (or a host bug: run() must await, suspend
     * or finish). The outermost segment ends the request (a waitUntil run inline returns to
     * its parent), at the instant its CPU reached the limit. */
    uint32_t q = t->req;
    if (q == NONE || !REQ(r, q).terminated)
        abort();
    if (saved == NONE) {
        r->acting_ns = rt_task_time(r);
        request_terminate(r, q);
        r->acting_ns = -1;
    }
}

static inline __attribute__((always_inline)) void run_task(rt *r, uint32_t s)
{
    run_task_from(r, s, 0);
}

static void request_settle(rt *r, uint32_t req_slot);
static void go_idle(rt *r, uint32_t s);

/* The segment stopped at r->pause_ns: the thread is held until then (EV_RESUME). */
static __attribute__((noinline)) void segment_paused(rt *r, uint32_t iso_slot, int64_t now)
{
    isolate *iso = &ISO(r, iso_slot);
    r->pausing = false;
    if (iso->state == ISO_FREE)
        return;
    /* (No paused task when a C continuation crossed the memory limit: it ran to its end.) */
    assert(r->pause_ns >= now);
    (void)now;
    /* Held: nothing else may take the thread, not even at the pause's own instant before
     * EV_RESUME pops (make_ready and kick compare with busy_until_ns). */
    iso->busy_until_ns = ENG_TIME_MAX;
    schedule(r, r->pause_ns, EV_RESUME, iso_slot, iso->info.id);
    return;
}

/*
 * A segment that began at `now` is over: its CPU holds the thread, or - stopped at an
 * instant something may end it - the thread is held until then, when its paused tasks go
 * on first (EV_RESUME). The isolate, or NULL if it is gone or its thread is held so.
 */
static inline __attribute__((always_inline)) isolate *segment_over(rt *r, uint32_t iso_slot,
                                                                   int64_t now)
{
    isolate *iso = &ISO(r, iso_slot);
    if (__builtin_expect(r->pausing, 0)) {
        segment_paused(r, iso_slot, now);
        return NULL;
    }
    if (iso->state == ISO_FREE)
        return NULL;
    if (r->seg_cpu_ns > 0)
        iso->busy_until_ns = now + r->seg_cpu_ns;
    return iso;
}

/* The paused tasks of the isolate go on, innermost first, in one segment at `now`; the
 * thread it held is free again when they yield. */
static void resume_paused(rt *r, uint32_t iso_slot, int64_t now)
{
    isolate *iso = &ISO(r, iso_slot);
    paused *list = iso->paused;
    uint32_t n = iso->npaused;
    iso->paused = NULL;
    iso->npaused = iso->cappaused = 0;
    iso->busy_until_ns = now;
    r->seg_start_ns = now;
    r->seg_cpu_ns = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = list[i].slot;
        if (s >= r->tasks.n || TASK(r, s).pub.id != list[i].id || TASK(r, s).state != T_PAUSED)
            continue;   /* discarded meanwhile (a waitUntil deadline) */
        if (r->pausing) /* stopped again: the rest waits behind what just paused */
            pause_push(r, s, list[i].cpu_left_ns);
        else
            run_task_from(r, s, list[i].cpu_left_ns);
    }
    free(list);
    segment_over(r, iso_slot, now);
}

/*
 * Runs task s on the isolate's free thread at `now` until it yields; its CPU then holds the
 * thread. The isolate, or NULL if it is gone or its thread is held.
 */
static inline __attribute__((always_inline)) isolate *run_segment(rt *r, uint32_t iso_slot,
                                                                  uint32_t s, int64_t now)
{
    r->seg_start_ns = now;
    r->seg_cpu_ns = 0;
    run_task(r, s);
    return segment_over(r, iso_slot, now);
}

/* No request left and nothing ready: idle now if the thread is free, else when its CPU
 * ends (EV_IDLE; a held thread goes on at EV_RESUME, whose kick comes back here). */
static __attribute__((noinline)) void idle_when_free(rt *r, uint32_t s, int64_t now)
{
    isolate *iso = &ISO(r, s);
    if (now >= iso->busy_until_ns) {
        go_idle(r, s);
    } else if (iso->busy_until_ns != ENG_TIME_MAX) {
        iso->idle_pending = false; /* EV_IDLE takes it from here */
        schedule(r, iso->busy_until_ns, EV_IDLE, s, iso->info.id);
    }
}

/* Runs ready tasks while the isolate's thread is free. */
static void kick(rt *r, uint32_t iso_slot)
{
    /* The thread is taken by the running task (or a teardown is in progress); the kick
     * loop that is already running, or the one after the teardown, goes on. */
    if (r->cur != NONE || r->hold)
        return;
    int64_t now = eng_now(r->e);
    for (;;) {
        isolate *iso = &ISO(r, iso_slot);
        if (iso->state != ISO_ACTIVE)
            return;
        if (iso->ready_head == NONE) {
            if (__builtin_expect(iso->idle_pending, 0) && iso->in_flight == 0)
                idle_when_free(r, iso_slot, now);
            return;
        }
        if (__builtin_expect(r->chooser != NULL, 0) && !r->choosing && now >= iso->busy_until_ns) {
            /* A choice is made among everything ready at this instant: after the events
             * already due now (their wake-ups join the queue), at an EV_THREAD_FREE. */
            if (!iso->free_event) {
                iso->free_event = iso->free_choice = true;
                schedule(r, now, EV_THREAD_FREE, iso_slot, iso->info.id);
            }
            return;
        }
        if (now < iso->busy_until_ns) {
            /* ENG_TIME_MAX: held by paused tasks, whose EV_RESUME frees it. */
            if (!iso->free_event && iso->busy_until_ns != ENG_TIME_MAX) {
                iso->free_event = true;
                schedule(r, iso->busy_until_ns, EV_THREAD_FREE, iso_slot, iso->info.id);
            }
            return;
        }
        uint32_t next;
        if (__builtin_expect(r->chooser != NULL, 0)) {
            /* One pick per choice: what this segment makes ready at this instant (a zero
             * await, a waitUntil) is a candidate of the next, after its events. */
            next = ready_choose(r, iso);
            r->choosing = false;
        } else {
            next = ready_pop(r, iso);
        }
        if (!run_segment(r, iso_slot, next, now))
            return;
    }
}

/*
 * Task s became ready at `now`: what ready_push + kick do, without the queue in the common
 * case (nothing else ready, the thread free: it runs now). Inline in its two callers (a
 * wake-up, an arrival), which have the isolate at hand.
 */
static inline __attribute__((always_inline)) void make_ready(rt *r, uint32_t iso_slot, uint32_t s,
                                                             int64_t now)
{
    isolate *iso = &ISO(r, iso_slot);
    if (iso->ready_head == NONE && iso->state == ISO_ACTIVE && r->cur == NONE && !r->hold &&
        now >= iso->busy_until_ns && !r->chooser) {
        isolate *after = run_segment(r, iso_slot, s, now);
        if (after && after->ready_head != NONE)
            kick(r, iso_slot); /* it made others ready (a waitUntil resumed, a timer) */
        return;
    }
    ready_push(r, iso_slot, s);
    kick(r, iso_slot);
}

/* ---------- colo load heaps ---------- */

static inline bool load_before(rt *r, uint32_t x, uint32_t y)
{
    const isolate *a = &ISO(r, x), *b = &ISO(r, y);
    return a->in_flight < b->in_flight || (a->in_flight == b->in_flight && a->info.id < b->info.id);
}

static inline void load_place(rt *r, load_heap *lh, uint32_t i, uint32_t s)
{
    lh->h[i] = s;
    ISO(r, s).load_pos = i;
}

/* Moves the isolate at i up or down to where its (load, id) now belongs. */
static void load_sift(rt *r, load_heap *lh, uint32_t i)
{
    uint32_t s = lh->h[i];
    while (i > 0 && load_before(r, s, lh->h[(i - 1) / 2])) {
        load_place(r, lh, i, lh->h[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= lh->n)
            break;
        if (c + 1 < lh->n && load_before(r, lh->h[c + 1], lh->h[c]))
            c++;
        if (!load_before(r, lh->h[c], s))
            break;
        load_place(r, lh, i, lh->h[c]);
        i = c;
    }
    load_place(r, lh, i, s);
}

static void load_push(rt *r, load_heap *lh, uint32_t s)
{
    u32_push(&lh->h, &lh->n, &lh->cap, 64, s);
    load_sift(r, lh, lh->n - 1);
}

static void load_add(rt *r, uint32_t s)
{
    uint32_t colo = ISO(r, s).info.colo;
    load_heap *lh = &r->loads[colo];
    lh->count++;
    if (lh->on) {
        load_push(r, lh, s);
    } else if (lh->count > r->cfg.load_index_min) { /* build it from the live isolates */
        lh->on = true;
        r->indexed_colos++;
        for (uint32_t i = 0; i < r->nlive; i++)
            if (ISO(r, r->live[i]).info.colo == colo)
                load_push(r, lh, r->live[i]);
    }
}

static void load_remove(rt *r, uint32_t s)
{
    load_heap *lh = &r->loads[ISO(r, s).info.colo];
    lh->count--;
    if (!lh->on)
        return;
    if (lh->count < r->cfg.load_index_min / 2) {
        lh->on = false;
        r->indexed_colos--;
        lh->n = 0;
        return;
    }
    uint32_t i = ISO(r, s).load_pos, last = lh->h[--lh->n];
    if (i < lh->n) {
        load_place(r, lh, i, last);
        load_sift(r, lh, i);
    }
}

static __attribute__((noinline)) void load_resift(rt *r, uint32_t s)
{
    load_heap *lh = &r->loads[ISO(r, s).info.colo];
    if (lh->on)
        load_sift(r, lh, ISO(r, s).load_pos);
}

/* Its in_flight changed. Inline, and one test while no colo is indexed: it runs twice per
 * request, and keeping the sift in line slowed the common case by 7%. */
static inline void load_changed(rt *r, uint32_t s)
{
    if (r->indexed_colos)
        load_resift(r, s);
}

/* ---------- isolates ---------- */

static void live_unlink(rt *r, uint32_t s)
{
    uint32_t i = 0;
    while (r->live[i] != s)
        i++;
    memmove(r->live + i, r->live + i + 1, (r->nlive - i - 1) * sizeof *r->live);
    r->nlive--;
}

/* An isolate's memory went from `before` to `after`: the total follows, kept within
 * [0, ENG_TIME_MAX] (a program may ask for more than int64 holds; the budget only compares). */
static void mem_held_moved(rt *r, int64_t before, int64_t after)
{
    before = before > 0 ? before : 0;
    after = after > 0 ? after : 0;
    if (after >= before)
        r->mem_held = eng_add(r->mem_held, after - before);
    else
        r->mem_held = before - after < r->mem_held ? r->mem_held - (before - after) : 0;
}

/* ---------- fault windows ---------- */

/* The windows that target an isolate of `colo` with this id: fixed for its life. */
static uint64_t fault_targets_of(const rt *r, uint32_t colo, uint64_t id)
{
    uint64_t m = 0;
    for (uint32_t i = 0; i < r->cfg.nfault_windows; i++) {
        const rt_fault_window *w = &r->cfg.fault_windows[i];
        bool in_colo = !w->ncolos, is_one = !w->nisolates;
        for (uint32_t k = 0; k < w->ncolos && !in_colo; k++)
            in_colo = w->colos[k] == colo;
        for (uint32_t k = 0; k < w->nisolates && !is_one; k++)
            is_one = w->isolates[k] == id;
        if (in_colo && is_one)
            m |= 1ull << i;
    }
    return m;
}

static bool window_covers(const rt_fault_window *w, int64_t t)
{
    return w->from_ns <= t && t < w->until_ns;
}

/* What the memory pressures add to the isolate's memory at instant t (saturating). */
static int64_t pressure_at(const rt *r, const isolate *iso, int64_t t)
{
    int64_t p = 0;
    for (uint64_t m = iso->fault_targets & r->pressure_windows; m; m &= m - 1) {
        const rt_fault_window *w = &r->cfg.fault_windows[__builtin_ctzll(m)];
        if (window_covers(w, t))
            p = p > INT64_MAX - w->memory_bytes ? INT64_MAX : p + w->memory_bytes;
    }
    return p;
}

/* Over the memory limit at instant t, with what the pressures then add. */
static bool over_memory_limit(const rt *r, const isolate *iso, int64_t t)
{
    int64_t held = iso->mem;
    if (__builtin_expect((iso->fault_targets & r->pressure_windows) != 0, 0)) {
        int64_t p = pressure_at(r, iso, t);
        held = held > 0 && p > INT64_MAX - held ? INT64_MAX : held + p;
    }
    return held > r->cfg.memory_limit_bytes;
}

static void fault_fired(rt *r, uint32_t w, uint64_t isolate_id, uint64_t request_id, int64_t t)
{
    if (r->obs.fault)
        r->obs.fault(r->obs.ud, r->cfg.fault_windows[w].rule, isolate_id, request_id, t);
}

/* A pressure fires for an isolate born inside it at birth - once it has begun: one born at
 * its start's instant before its event popped hears of it there, with the live ones. */
static void pressure_born(rt *r, uint32_t s)
{
    const isolate *iso = &ISO(r, s);
    int64_t now = eng_now(r->e);
    for (uint64_t m = iso->fault_targets & r->pressure_windows & r->faults_started; m; m &= m - 1) {
        uint32_t w = (uint32_t)__builtin_ctzll(m);
        if (window_covers(&r->cfg.fault_windows[w], now))
            fault_fired(r, w, iso->info.id, 0, now);
    }
}

static uint32_t isolate_new(rt *r, uint32_t colo)
{
    uint32_t s = pool_get(&r->isos);
    isolate *iso = &ISO(r, s);
    *iso = (isolate){0};
    iso->info.id = r->next_iso_id++;
    iso->info.created_ns = eng_now(r->e);
    iso->info.colo = colo;
    if (__builtin_expect((r->pressure_windows | r->storm_windows) != 0, 0))
        iso->fault_targets = fault_targets_of(r, colo, iso->info.id);
    iso->mem = r->cfg.memory_base_bytes;
    mem_held_moved(r, 0, iso->mem);
    r->colo_stats[colo].isolates_created++;
    iso->state = ISO_STARTING;
    iso->ready_head = iso->ready_tail = NONE;
    iso->tasks = iso->timers = NONE;
    iso->bill_from = r->cfg.kind == RT_OBJECT ? eng_now(r->e) : -1;
    u32_push(&r->live, &r->nlive, &r->caplive, 64, s);
    load_add(r, s);
    r->stats.isolates_created++;
    r->host.isolate_born(r->host.ud, r, &iso->info);
    if (r->obs.isolate)
        r->obs.isolate(r->obs.ud, &iso->info, -1, eng_now(r->e));
    if (__builtin_expect(iso->fault_targets != 0, 0))
        pressure_born(r, s);
    int64_t startup = dist_draw(&r->cfg.cold_start, r->rand);
    schedule(r, eng_add(eng_now(r->e), startup), EV_ISO_READY, s, iso->info.id);
    if (r->cfg.kind == RT_EDGE && r->cfg.max_lifetime_ns > 0)
        schedule(r, eng_add(eng_now(r->e), r->cfg.max_lifetime_ns), EV_LIFETIME, s, iso->info.id);
    return s;
}

static void timer_release(rt *r, uint32_t s)
{
    timer *tm = &TIMER(r, s);
    isolate *iso = &ISO(r, tm->iso);
    if (tm->iso_prev != NONE)
        TIMER(r, tm->iso_prev).iso_next = tm->iso_next;
    else
        iso->timers = tm->iso_next;
    if (tm->iso_next != NONE)
        TIMER(r, tm->iso_next).iso_prev = tm->iso_prev;
    tm->id = 0;
    pool_put(&r->timers, s);
    if (r->cfg.kind == RT_OBJECT)
        obj_update(r, tm->iso);
}

static void request_release(rt *r, uint32_t q)
{
    request *rq = &REQ(r, q);
    if (rq->waits) { /* rare: only fetches that waited for a connection make it */
        free(rq->waits);
        rq->waits = NULL;
    }
    rq->whead = rq->nwaits = rq->capwaits = 0;
    rq->id = 0;
    pool_put(&r->reqs, q);
}

/* The request dies with fetches waiting for a connection: their owners are told. */
static void waits_cancel(rt *r, uint32_t q, int cause)
{
    while (REQ(r, q).whead < REQ(r, q).nwaits) {
        waiting w = REQ(r, q).waits[REQ(r, q).whead++];
        if (!w.is_task && !w.withdrawn && w.w.cancel)
            w.w.cancel(w.w.ud, r, cause);
    }
}

/* ---------- Durable Objects ---------- */

#define OBJ_HIBERNATE_AFTER_NS (10 * 1000000000LL)

double rt_gb_s(int64_t billed_ns)
{
    return (double)billed_ns / 1e9 * (128.0 / 1024.0);
}

static void bill_on(rt *r, isolate *iso, int64_t t)
{
    (void)r;
    if (iso->bill_from < 0)
        iso->bill_from = t;
}

static void bill_off(rt *r, isolate *iso, int64_t t)
{
    if (iso->bill_from >= 0) {
        assert(t >= iso->bill_from);
        r->stats.billed_ns = eng_add(r->stats.billed_ns, t - iso->bill_from);
        iso->bill_from = -1;
    }
}

/*
 * Where object s is in its lifecycle, from what it has pending now (runtime.h): called
 * wherever that changes (a request arrives, responds or leaves, a timer is set or goes, a
 * task or a fetch ends). Deadlines move with the state; EV_OBJ_IDLE at the due one decides.
 */
static void obj_update(rt *r, uint32_t s)
{
    isolate *iso = &ISO(r, s);
    if (iso->dying || iso->state == ISO_FREE)
        return;
    int64_t t = rt_time(r);
    bool busy =
        iso->clients > 0 || (r->cfg.io_keeps_alive && (iso->in_flight > 0 || iso->timers != NONE));
    if (busy) {
        iso->obj = OBJ_ACTIVE;
        iso->obj_deadline = 0;
        bill_on(r, iso, t);
        return;
    }
    if (iso->obj == OBJ_ACTIVE) {
        iso->obj_evict_at = eng_add(t, dist_draw(&r->cfg.idle_timeout, r->rand));
        iso->obj = OBJ_IDLE;
    }
    bool hib = iso->in_flight == 0 && iso->timers == NONE && iso->io == 0 && iso->tasks == NONE &&
               iso->ready_head == NONE;
    if (hib && iso->obj != OBJ_HIBERNATABLE) {
        iso->obj = OBJ_HIBERNATABLE;
        iso->obj_hib_at = eng_add(t, r->cfg.hibernate_after_ns ? r->cfg.hibernate_after_ns
                                                               : OBJ_HIBERNATE_AFTER_NS);
        r->stats.hibernatable_periods++;
        bill_off(r, iso, t);
    } else if (!hib && iso->obj == OBJ_HIBERNATABLE) {
        iso->obj = OBJ_IDLE;
        bill_on(r, iso, t);
    } else if (!hib) {
        bill_on(r, iso, t);
    }
    int64_t due = iso->obj_evict_at;
    if (iso->obj == OBJ_HIBERNATABLE && iso->obj_hib_at < due)
        due = iso->obj_hib_at;
    if (due != iso->obj_deadline) {
        iso->obj_deadline = due;
        schedule(r, due, EV_OBJ_IDLE, s, iso->info.id);
    }
}

/* Why an idle object whose deadline has come goes: it hibernates, or is evicted. */
static rt_evict obj_cause(const isolate *iso)
{
    return iso->obj == OBJ_HIBERNATABLE && iso->obj_hib_at == iso->obj_deadline
               ? RT_EVICT_HIBERNATED
               : RT_EVICT_IDLE;
}

static void evict(rt *r, uint32_t s, rt_evict cause);

/* The object of a request's key: in memory (unless its deadline has come: gone, started
 * again), or started. */
static uint32_t obj_route(rt *r, const rt_arrival *a)
{
    rt_isolate_ref ref = r->sticky[a->key];
    if (rt_isolate_alive(r, ref)) {
        isolate *iso = &ISO(r, ref.slot);
        if (iso->obj == OBJ_ACTIVE || iso->obj_deadline > eng_now(r->e))
            return ref.slot;
        evict(r, ref.slot, obj_cause(iso));
    }
    uint32_t s = isolate_new(r, a->colo);
    ISO(r, s).key = a->key;
    r->sticky[a->key] = (rt_isolate_ref){s, ISO(r, s).info.id};
    return s;
}

/* ----- alarms ----- */

#define ALARM_RETRIES     6
#define ALARM_BACKOFF0_NS (2 * 1000000000LL)

static void alarm_schedule(rt *r, uint32_t key, int64_t at)
{
    r->alarm_at[key] = at;
    schedule(r, at, EV_ALARM, key, ++r->alarm_gen[key]);
}

void rt_disconnect_after(rt *r, int64_t delay_ns)
{
    assert(r->cur != NONE);
    uint32_t q = TASK(r, r->cur).req;
    if (q == NONE || TASK(r, r->cur).pub.kind != TASK_HANDLER)
        return;
    if (q >= r->capdisc) {
        uint32_t cap = r->capdisc ? r->capdisc : 64;
        while (cap <= q)
            cap *= 2;
        struct disconnect *v = realloc(r->disc, cap * sizeof *v);
        if (!v)
            abort();
        memset(v + r->capdisc, 0, (cap - r->capdisc) * sizeof *v);
        r->disc = v;
        r->capdisc = cap;
    }
    int64_t at = eng_add(rt_task_time(r), delay_ns > 0 ? delay_ns : 0);
    r->disc[q] = (struct disconnect){REQ(r, q).id, at};
    schedule(r, at, EV_DISCONNECT, q, REQ(r, q).id);
}

static void request_end(rt *r, uint32_t q);
static uint32_t discard_request_tasks(rt *r, uint32_t q, int only, rt_task_end why);

/* The client of request q went away with its body still being produced: the handler goes
 * (its waitUntil work stays); the request ends if nothing else of it is left. */
static void disconnect(rt *r, uint32_t q)
{
    uint32_t s = REQ(r, q).iso;
    r->hold++;
    uint32_t n = discard_request_tasks(r, q, TASK_HANDLER, END_DISCONNECTED);
    r->hold--;
    if (!n)
        return;
    r->stats.disconnected++;
    REQ(r, q).pending -= n;
    if (REQ(r, q).pending == 0)
        request_end(r, q);
    kick(r, s);
}

void rt_threw(rt *r)
{
    assert(r->cur != NONE);
    uint32_t q = TASK(r, r->cur).req;
    if (q != NONE)
        REQ(r, q).threw = true;
}

void rt_set_alarm(rt *r, int64_t delay_ns)
{
    if (r->cfg.kind != RT_OBJECT || !r->alarm_at)
        return;
    uint32_t key = ISO(r, TASK(r, r->cur).iso).key;
    r->alarm_tries[key] = 0;
    alarm_schedule(r, key, eng_add(rt_time(r), delay_ns > 0 ? delay_ns : 0));
}

/* An alarm run of object `key` that fired at `fired` ended: it succeeded (the alarm is deleted
 * unless the run set a new one), or failed (retried with backoff, at most 6 times). */
static void alarm_ran(rt *r, uint32_t key, int64_t fired, bool ok)
{
    if (r->alarm_at[key] != fired)
        return; /* the run set a new alarm: that one stands */
    if (ok) {
        r->alarm_at[key] = 0;
        r->alarm_tries[key] = 0;
        r->alarm_gen[key]++;
        return;
    }
    if (r->alarm_tries[key] >= ALARM_RETRIES) {
        r->stats.alarms_given_up++;
        r->alarm_at[key] = 0;
        r->alarm_tries[key] = 0;
        r->alarm_gen[key]++;
        return;
    }
    int64_t delay = ALARM_BACKOFF0_NS << r->alarm_tries[key]++;
    r->stats.alarm_retries++;
    alarm_schedule(r, key, eng_add(rt_time(r), delay));
}

/* A request that threw or ran an alarm ended: an exception, unless its wall limit cut it
 * (an alarm run is cancelled by nothing else); an alarm run that did either failed. */
static __attribute__((noinline)) void request_outcome(rt *r, uint32_t q);

/* A request that ended (ok: within its limits), or was killed or terminated. */
static inline void alarm_outcome(rt *r, uint32_t q, bool ok)
{
    if (__builtin_expect(REQ(r, q).alarm, 0))
        alarm_ran(r, ISO(r, REQ(r, q).iso).key, REQ(r, q).arrived_ns, ok);
}

static void request_outcome(rt *r, uint32_t q)
{
    bool cut = REQ(r, q).cancelling;
    if (REQ(r, q).threw && !cut)
        r->stats.exceptions++;
    alarm_outcome(r, q, !cut && !REQ(r, q).threw);
}

void rt_io_begin(rt *r, rt_isolate_ref ref)
{
    if (r->cfg.kind == RT_OBJECT && rt_isolate_alive(r, ref))
        ISO(r, ref.slot).io++;
}

void rt_io_end(rt *r, rt_isolate_ref ref)
{
    if (r->cfg.kind != RT_OBJECT || !rt_isolate_alive(r, ref))
        return;
    assert(ISO(r, ref.slot).io > 0);
    ISO(r, ref.slot).io--;
    obj_update(r, ref.slot);
}

static void evict(rt *r, uint32_t s, rt_evict cause)
{
    isolate *iso = &ISO(r, s);
    assert(iso->state != ISO_FREE);
    iso->dying = true;
    r->hold++;
    bool over = (int)cause == RT_END_OF_RUN;
    /* Everything it holds dies with it: tasks, timers, frozen work, requests. */
    while (iso->tasks != NONE) {
        uint32_t ts = iso->tasks;
        /* A C continuation that never ran (a fetch's rejection) reports what it carried. */
        if (TASK(r, ts).cfn && TASK(r, ts).ccancel)
            TASK(r, ts).ccancel(TASK(r, ts).cud, r, (int)cause);
        r->host.discard(r->host.ud, r, &TASK(r, ts).pub, over ? END_RUN_OVER : END_EVICTED);
        task_release(r, ts);
        iso = &ISO(r, s);
    }
    while (iso->timers != NONE)
        timer_release(r, iso->timers);
    free(iso->frozen);
    iso->frozen = NULL;
    iso->nfrozen = iso->capfrozen = 0;
    free(iso->paused);
    iso->paused = NULL;
    iso->npaused = iso->cappaused = 0;
    for (uint32_t q = 0; q < r->reqs.n; q++) {
        request *rq = &REQ(r, q);
        if (rq->id && rq->iso == s) {
            waits_cancel(r, q, (int)cause);
            notify_request(r, q, RT_REQ_KILLED, eng_now(r->e));
            if (r->obs.killed)
                r->obs.killed(r->obs.ud, REQ(r, q).id, (int)cause, eng_now(r->e));
            if (!over)
                alarm_outcome(r, q, false);
            if (!over) {
                r->stats.killed++;
                if (!REQ(r, q).responded)
                    r->stats.lost_responses++;
            }
            request_release(r, q);
        }
    }
    r->host.isolate_dies(r->host.ud, r, &iso->info, cause);
    if (r->cfg.kind == RT_OBJECT)
        bill_off(r, &ISO(r, s), eng_now(r->e));
    iso = &ISO(r, s);
    mem_held_moved(r, iso->mem, 0);
    if (r->obs.isolate)
        r->obs.isolate(r->obs.ud, &iso->info, (int)cause, eng_now(r->e));
    if (!over)
        r->stats.evicted[cause]++;
    if (cause == RT_EVICT_MEMORY && (iso->fault_targets & r->pressure_windows) &&
        pressure_at(r, iso, eng_now(r->e)) > 0)
        r->stats.fault_pressure_evictions++;
    live_unlink(r, s);
    load_remove(r, s);
    iso->state = ISO_FREE;
    iso->info.id = 0;
    pool_put(&r->isos, s);
    r->hold--;
}

static int cmp_frozen(const void *a, const void *b)
{
    const frozen *x = a, *y = b;
    if (x->due_ns != y->due_ns)
        return x->due_ns < y->due_ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq; /* seqs are unique: a total order */
}

static void fire_timer(rt *r, uint32_t tslot);

/* An idle isolate gets work: overdue timers and frozen wake-ups run first. */
static void wake(rt *r, uint32_t s)
{
    isolate *iso = &ISO(r, s);
    iso->state = ISO_ACTIVE;
    if (iso->nfrozen == 0)
        return;
    qsort(iso->frozen, iso->nfrozen, sizeof *iso->frozen, cmp_frozen);
    size_t n = iso->nfrozen;
    frozen *list = malloc(n * sizeof *list);
    if (!list)
        abort();
    memcpy(list, iso->frozen, n * sizeof *list);
    iso->nfrozen = 0;
    for (size_t i = 0; i < n; i++) {
        if (list[i].is_timer) {
            if (list[i].slot < r->timers.n && TIMER(r, list[i].slot).id == list[i].id) {
                r->stats.timers_caught_up++;
                fire_timer(r, list[i].slot);
            }
        } else if (list[i].slot < r->tasks.n && TASK(r, list[i].slot).pub.id == list[i].id &&
                   TASK(r, list[i].slot).state == T_FROZEN) {
            ready_push(r, s, list[i].slot);
        }
    }
    free(list);
}

static void freeze(rt *r, uint32_t iso_slot, bool is_timer, uint32_t slot, uint64_t id, int64_t due)
{
    uint64_t seq = ++r->freeze_seq;
    isolate *iso = &ISO(r, iso_slot);
    GROW_FOR(iso->frozen, iso->nfrozen, iso->capfrozen, 8);
    iso->frozen[iso->nfrozen++] = (frozen){due, seq, is_timer, slot, id};
}

static void go_idle(rt *r, uint32_t s)
{
    isolate *iso = &ISO(r, s);
    iso->idle_pending = false;
    if (r->cfg.kind == RT_SERVER)
        return; /* a process: no idle freezing, no idle eviction */
    if (r->cfg.kind == RT_OBJECT) {
        obj_update(r, s); /* an object's idleness is its lifecycle's, not a frozen isolate's */
        return;
    }
    iso->state = ISO_IDLE;
    iso->idle_deadline_ns = eng_add(eng_now(r->e), dist_draw(&r->cfg.idle_timeout, r->rand));
    schedule(r, iso->idle_deadline_ns, EV_IDLE_EVICT, s, iso->info.id);
}

/* ---------- requests ---------- */

/* A request left isolate s (it ended, or was terminated): one fewer in flight. */
static void request_left(rt *r, uint32_t s)
{
    isolate *iso = &ISO(r, s);
    /* The count tested from the register: reloaded, gcc fuses it with `state` into one 8-byte
     * load that cannot be forwarded from the 4-byte store just made (a stall of ~4% of the
     * engine benchmark's time). */
    uint32_t left = --iso->in_flight;
    load_changed(r, s);
    if (__builtin_expect(r->cfg.kind == RT_OBJECT, 0)) {
        obj_update(r, s);
        return;
    }
    if (left == 0 && iso->state == ISO_ACTIVE) {
        /* Idle from the instant the request ended: inside a segment that is later than the
         * segment's start, so the idle timeout is drawn then (EV_IDLE), not now. And never
         * with work in its ready queue (a fetch's rejection, a timer): that runs first, and
         * the isolate goes idle when kick finds the queue empty. */
        int64_t ended = rt_time(r);
        if (ended > eng_now(r->e)) {
            schedule(r, ended, EV_IDLE, s, iso->info.id); /* (which sets idle_pending then) */
        } else if (iso->ready_head != NONE) {
            iso->idle_pending = true;
        } else {
            go_idle(r, s);
        }
    }
}

static void request_end(rt *r, uint32_t q)
{
    uint32_t s = REQ(r, q).iso;
    r->stats.completed++;
    if (__builtin_expect(REQ(r, q).alarm | REQ(r, q).threw, 0))
        request_outcome(r, q);
    /* Fetches still waiting for a connection (C continuations that outlived the
     * handler) go on outside the request's context, without limits. */
    while (REQ(r, q).whead < REQ(r, q).nwaits) {
        waiting w = REQ(r, q).waits[REQ(r, q).whead++];
        if (!w.is_task && !w.withdrawn)
            w.w.go(w.w.ud, r);
    }
    notify_request(r, q, RT_REQ_ENDED, r->cur != NONE ? rt_task_time(r) : eng_now(r->e));
    if (r->host.request_ends) {
        /* Timers it set, pending or running, may still act for it. O(timers and tasks of the
         * isolate): few, and only with a telemetry that asks. */
        uint64_t id = REQ(r, q).id;
        bool timers = false;
        for (uint32_t t = ISO(r, s).timers; t != NONE && !timers; t = TIMER(r, t).iso_next)
            timers = TIMER(r, t).owner_request == id;
        for (uint32_t t = ISO(r, s).tasks; t != NONE && !timers; t = TASK(r, t).iso_next)
            timers = TASK(r, t).pub.kind == TASK_TIMER && TASK(r, t).pub.request_id == id;
        r->host.request_ends(r->host.ud, r, &ISO(r, s).info, id, timers, REQ(r, q).cancelling);
    }
    request_release(r, q);
    request_left(r, s);
}

static void request_settle(rt *r, uint32_t q)
{
    if (--REQ(r, q).pending == 0)
        request_end(r, q);
}

static inline __attribute__((always_inline)) uint32_t route(rt *r, const rt_arrival *a)
{
    uint32_t limit = r->cfg.kind == RT_SERVER ? UINT32_MAX : r->cfg.max_concurrency;
    const load_heap *lh = &r->loads[a->colo];
    /* any: the colo's least loaded isolate, the oldest of equals; best: the same if it has
     * room (else none has); room: how many have. */
    uint32_t count = lh->count, any = NONE, best = NONE, room = 0;
    if (lh->on && r->cfg.routing != RT_ROUTE_RANDOM) {
        any = lh->h[0];
        best = ISO(r, any).in_flight < limit ? any : NONE;
    } else {
        /* The least loaded; strictly fewer wins, so ties keep the oldest. If it has room it
         * is also the least loaded of those with room, else none has. Written as selects
         * (cmov): which isolate wins is data no predictor learns, and as branches the scan
         * mispredicted about once per arrival. */
        uint64_t any_load = UINT64_MAX;
        for (uint32_t i = 0; i < r->nlive; i++) {
            uint32_t s = r->live[i];
            const isolate *iso = &ISO(r, s);
            if (iso->info.colo != a->colo)
                continue;
            uint64_t load = iso->in_flight;
            bool less = load < any_load;
            any = less ? s : any;
            any_load = less ? load : any_load;
            room += load < limit;
        }
        best = any_load < limit ? any : NONE;
    }
    uint32_t pick = NONE;
    if (r->cfg.routing == RT_ROUTE_STICKY && r->sticky) {
        rt_isolate_ref ref = r->sticky[a->key];
        if (rt_isolate_alive(r, ref) && ISO(r, ref.slot).info.colo == a->colo &&
            ISO(r, ref.slot).in_flight < limit)
            pick = ref.slot;
    } else if (r->cfg.routing == RT_ROUTE_RANDOM && room > 0) {
        int64_t k = rng_range(r->rand, 0, (int64_t)room - 1);
        for (uint32_t i = 0; i < r->nlive; i++) {
            uint32_t s = r->live[i];
            if (ISO(r, s).info.colo == a->colo && ISO(r, s).in_flight < limit && k-- == 0) {
                pick = s;
                break;
            }
        }
    }
    if (pick == NONE)
        pick = best;
    if (pick == NONE) {
        uint32_t max = r->cfg.colos[a->colo].max_isolates;
        if (any != NONE && ((max && count >= max) || r->cfg.kind == RT_SERVER))
            pick = any;
        else
            pick = isolate_new(r, a->colo);
    }
    if (r->sticky)
        r->sticky[a->key] = (rt_isolate_ref){pick, ISO(r, pick).info.id};
    return pick;
}

uint64_t rt_request_arrive(rt *r)
{
    static const rt_arrival one = {0, 0, 0};
    return rt_request_arrive_at(r, &one);
}

/* The isolate routing picked is at its idle deadline: evicted first, routed again. Out of
 * line, so that route stays inlined into the arrival. */
static __attribute__((noinline)) uint32_t reroute(rt *r, const rt_arrival *a, uint32_t s)
{
    do {
        evict(r, s, RT_EVICT_IDLE);
        s = route(r, a);
    } while (ISO(r, s).state == ISO_IDLE && ISO(r, s).idle_deadline_ns <= eng_now(r->e));
    return s;
}

/* The arrival, inlined into its two entry points: the workload's (rt_request_arrive_at, whose
 * single call site the run loop inlines) and an alarm's (alarm_arrive, out of line), so that
 * the alarms do not make the hot arrival a call of its own. */
/* What an arrival does beyond the common case: a wall limit's deadline, a Durable Object's
 * bookkeeping. Out of line: most runs have neither. */
static __attribute__((noinline)) void arrival_extras(rt *r, uint32_t q, uint32_t s, bool alarm)
{
    request *rq = &REQ(r, q);
    int64_t wall = alarm ? r->cfg.alarm_wall_limit_ns : r->cfg.wall_limit_ns;
    if (wall > 0) {
        rq->wu_deadline_ns = eng_add(eng_now(r->e), wall);
        schedule(r, rq->wu_deadline_ns, EV_WU_DEADLINE, q, rq->id);
    }
    if (r->cfg.kind == RT_OBJECT) {
        ISO(r, s).clients++;
        obj_update(r, s);
    }
}

static inline __attribute__((always_inline)) uint64_t arrive(rt *r, const rt_arrival *a, bool alarm)
{
    assert(a->colo < r->cfg.ncolos && (!r->sticky || a->key < r->cfg.keys));
    r->stats.arrived++;
    r->colo_stats[a->colo].arrived++;
    uint32_t s = __builtin_expect(r->cfg.kind == RT_OBJECT, 0) ? obj_route(r, a) : route(r, a);
    isolate *iso = &ISO(r, s);
    /* An isolate lives [idle, idle deadline): an arrival at exactly its deadline finds it
     * evicted, whichever of the two events pops first. */
    if (__builtin_expect(iso->state == ISO_IDLE, 0) && iso->idle_deadline_ns <= eng_now(r->e)) {
        s = reroute(r, a, s);
        iso = &ISO(r, s);
    }
    uint32_t q = pool_get(&r->reqs);
    request *rq = &REQ(r, q);
    /* Every field, one store each (see task_new). */
    _Static_assert(sizeof(request) == 80, "a field was added to request: initialise it here");
    rq->id = r->next_req_id++;
    rq->iso = s;
    rq->route = a->route;
    rq->arrived_ns = eng_now(r->e);
    rq->responded = false;
    rq->terminated = false;
    rq->cancelling = false;
    rq->pending = 1;
    rq->cpu_ns = 0;
    rq->wu_deadline_ns = 0;
    rq->alarm = alarm;
    rq->subrequests = rq->conns = 0;
    rq->waits = NULL;
    rq->whead = rq->nwaits = rq->capwaits = 0;
    rq->threw = false;
    iso->in_flight++;
    load_changed(r, s);
    iso->info.requests_served++;
    if (__builtin_expect(r->arrival_extras, 0)) {
        arrival_extras(r, q, s, alarm);
        iso = &ISO(r, s);
    }
    uint64_t id = rq->id;
    if (r->obs.placed)
        r->obs.placed(r->obs.ud, id, a->route, a->colo);
    notify_request(r, q, RT_REQ_ARRIVED, eng_now(r->e));
    if (iso->state == ISO_IDLE)
        wake(r, s); /* overdue timers go into the ready queue ahead of this request */
    uint32_t ts = task_new(r, s, q, TASK_HANDLER, id);
    r->host.handler_start(r->host.ud, r, &TASK(r, ts).pub);
    make_ready(r, s, ts, eng_now(r->e));
    return id;
}

uint64_t rt_request_arrive_at(rt *r, const rt_arrival *a)
{
    return arrive(r, a, false);
}

static __attribute__((noinline)) void alarm_arrive(rt *r, const rt_arrival *a)
{
    arrive(r, a, true);
}

/* ---------- timers ---------- */

static void fire_timer(rt *r, uint32_t tslot)
{
    timer *tm = &TIMER(r, tslot);
    uint32_t s = tm->iso;
    r->stats.timers_fired++;
    uint32_t ts = task_new(r, s, NONE, tm->cfn ? TASK_CALLBACK : TASK_TIMER, tm->owner_request);
    tm = &TIMER(r, tslot);
    TASK(r, ts).timer_id = tm->id;
    if (tm->cfn) {
        TASK(r, ts).cfn = tm->cfn;
        TASK(r, ts).cud = tm->cud;
    } else {
        r->host.timer_start(r->host.ud, r, &TASK(r, ts).pub, tm->body);
    }
    tm = &TIMER(r, tslot);
    ready_push(r, s, ts);
    if (tm->interval_ns > 0) {
        tm->due_ns = eng_add(eng_now(r->e), tm->interval_ns);
        schedule(r, tm->due_ns, EV_TIMER, tslot, tm->id);
    } else {
        timer_release(r, tslot);
    }
}

uint64_t rt_set_timer_fn(rt *r, int64_t delay_ns, int64_t interval_ns, rt_fn fn, void *ud)
{
    uint64_t id = rt_set_timer(r, delay_ns, interval_ns, NULL);
    timer *tm = &TIMER(r, r->last_timer);
    tm->cfn = fn;
    tm->cud = ud;
    return id;
}

uint64_t rt_set_isolate_timer_fn(rt *r, int64_t delay_ns, int64_t interval_ns, rt_fn fn, void *ud)
{
    uint64_t id = rt_set_timer_fn(r, delay_ns, interval_ns, fn, ud);
    TIMER(r, r->last_timer).owner_request = 0; /* it acts for no request */
    return id;
}

static void ready_remove(rt *r, uint32_t iso_slot, uint32_t ts)
{
    isolate *iso = &ISO(r, iso_slot);
    uint32_t prev = NONE;
    for (uint32_t x = iso->ready_head; x != NONE; x = TASK(r, x).ready_next) {
        if (x == ts) {
            if (prev == NONE)
                iso->ready_head = TASK(r, x).ready_next;
            else
                TASK(r, prev).ready_next = TASK(r, x).ready_next;
            if (iso->ready_tail == ts)
                iso->ready_tail = prev;
            return;
        }
        prev = x;
    }
}

void rt_clear_timer(rt *r, uint64_t timer_id)
{
    assert(r->cur != NONE);
    uint32_t s = TASK(r, r->cur).iso;
    for (uint32_t t = ISO(r, s).timers; t != NONE; t = TIMER(r, t).iso_next) {
        if (TIMER(r, t).id == timer_id) {
            timer_release(r, t);
            break;
        }
    }
    /* clearTimeout also stops a callback that fired but has not run yet (it waits
     * for the thread, or was frozen). */
    for (uint32_t t = ISO(r, s).tasks; t != NONE; t = TASK(r, t).iso_next) {
        task *tk = &TASK(r, t);
        if (tk->timer_id != timer_id || t == r->cur ||
            (tk->state != T_READY && tk->state != T_FROZEN))
            continue;
        if (tk->state == T_READY)
            ready_remove(r, s, t);
        r->host.discard(r->host.ud, r, &tk->pub, END_DONE);
        task_release(r, t);
        return;
    }
}

bool rt_post(rt *r, rt_isolate_ref ref, uint64_t request_id, rt_fn fn, rt_cancel_fn cancel,
             void *ud)
{
    if (!rt_isolate_alive(r, ref))
        return false;
    uint32_t ts = task_new(r, ref.slot, NONE, TASK_CALLBACK, request_id);
    TASK(r, ts).cfn = fn;
    TASK(r, ts).cud = ud;
    TASK(r, ts).ccancel = cancel;
    if (ISO(r, ref.slot).state != ISO_ACTIVE) {
        TASK(r, ts).state = T_FROZEN;
        freeze(r, ref.slot, false, ts, TASK(r, ts).pub.id, eng_now(r->e));
        return true;
    }
    ready_push(r, ref.slot, ts);
    kick(r, ref.slot);
    return true;
}

uint64_t rt_set_timer(rt *r, int64_t delay_ns, int64_t interval_ns, const void *body)
{
    assert(r->cur != NONE);
    uint32_t s = TASK(r, r->cur).iso;
    uint64_t owner = TASK(r, r->cur).pub.request_id;
    uint32_t ts = pool_get(&r->timers);
    timer *tm = &TIMER(r, ts);
    *tm = (timer){0};
    tm->id = r->next_timer_id++;
    tm->iso = s;
    tm->owner_request = owner;
    tm->body = body;
    r->last_timer = ts;
    tm->interval_ns = interval_ns;
    tm->due_ns = eng_add(rt_task_time(r), delay_ns > 0 ? delay_ns : 0);
    tm->iso_prev = NONE;
    tm->iso_next = ISO(r, s).timers;
    if (tm->iso_next != NONE)
        TIMER(r, tm->iso_next).iso_prev = ts;
    ISO(r, s).timers = ts;
    schedule(r, tm->due_ns, EV_TIMER, ts, tm->id);
    if (r->cfg.kind == RT_OBJECT)
        obj_update(r, s);
    return tm->id;
}

/* ---------- calls from the host ---------- */

int64_t rt_memory_held(const rt *r)
{
    return r->mem_held;
}

int64_t rt_task_time(const rt *r)
{
    return r->seg_start_ns + r->seg_cpu_ns;
}

int64_t rt_time(const rt *r)
{
    if (r->cur != NONE)
        return rt_task_time(r);
    return r->acting_ns >= 0 ? r->acting_ns : eng_now(r->e);
}

/* The running task's request, when the request's limits apply to it. */
static uint32_t limited_request(const rt *r)
{
    const task *t = &TASK(r, r->cur);
    if (t->req == NONE || (t->pub.kind != TASK_HANDLER && t->pub.kind != TASK_WAIT_UNTIL))
        return NONE;
    return t->req;
}

bool rt_terminated(const rt *r)
{
    assert(r->cur != NONE);
    uint32_t q = TASK(r, r->cur).req;
    return q != NONE && REQ(r, q).terminated;
}

/* The earliest start of a memory pressure on the isolate that has not begun yet. */
static __attribute__((noinline)) int64_t pressure_start_at(const rt *r, uint32_t iso, int64_t e)
{
    for (uint64_t m = ISO(r, iso).fault_targets & r->pressure_windows & ~r->faults_started; m;
         m &= m - 1) {
        int64_t from = r->cfg.fault_windows[__builtin_ctzll(m)].from_ns;
        e = from < e ? from : e;
    }
    return e;
}

/*
 * The earliest pending instant that may end the running task t: the run's end, a deploy, its
 * isolate's lifetime, the next random kill (whose victim is drawn only then, so every isolate's
 * segment stops there), the start of a memory pressure on its isolate (which may take it
 * over the limit then), and for waitUntil work its request's deadline. The memory limit
 * stops a segment where rt_mem_add sees it crossed. ENG_TIME_MAX: none.
 */
static int64_t ending_at(const rt *r, const task *t)
{
    int64_t e = r->next_kill_ns;
    if (r->cfg.kind == RT_EDGE) {
        if (r->run_end_ns < e)
            e = r->run_end_ns;
        if (r->next_deploy < r->cfg.ndeploys && r->cfg.deploys_ns[r->next_deploy] < e)
            e = r->cfg.deploys_ns[r->next_deploy];
        if (r->cfg.max_lifetime_ns > 0) {
            int64_t l = eng_add(ISO(r, t->iso).info.created_ns, r->cfg.max_lifetime_ns);
            e = l < e ? l : e;
        }
        /* (Without a memory limit a pressure ends nothing.) */
        if (__builtin_expect((r->pressure_windows & ~r->faults_started) != 0, 0) &&
            r->cfg.memory_limit_bytes > 0)
            e = pressure_start_at(r, t->iso, e);
    }
    if (__builtin_expect(r->disc != NULL, 0) && t->pub.kind == TASK_HANDLER && t->req != NONE &&
        t->req < r->capdisc && r->disc[t->req].id == REQ(r, t->req).id && r->disc[t->req].at_ns < e)
        e = r->disc[t->req].at_ns;
    if (t->req != NONE &&
        (t->pub.kind == TASK_WAIT_UNTIL || r->cfg.wall_limit_ns || REQ(r, t->req).alarm) &&
        REQ(r, t->req).wu_deadline_ns && REQ(r, t->req).wu_deadline_ns < e)
        e = REQ(r, t->req).wu_deadline_ns;
    return e;
}

static void pause_push(rt *r, uint32_t s, int64_t cpu_left_ns)
{
    task *t = &TASK(r, s);
    isolate *iso = &ISO(r, t->iso);
    GROW_FOR(iso->paused, iso->npaused, iso->cappaused, 4);
    iso->paused[iso->npaused++] = (paused){s, t->pub.id, cpu_left_ns};
    t->state = T_PAUSED;
}

/* Stops the running segment at `at` (the task time): the tasks on the stack pause there. */
static void pause_segment(rt *r, int64_t at)
{
    r->pausing = true;
    r->pause_ns = at;
}

bool rt_pausing(const rt *r)
{
    return r->pausing;
}

/* The storms a step of the running task starting at `now` is in fire for its request, once
 * each (rt_observer.fault). */
static void storms_fire(rt *r, uint32_t q, uint64_t on, int64_t now)
{
    if (q >= r->capstorm) {
        uint32_t cap = r->capstorm ? r->capstorm : 64;
        while (cap <= q)
            cap *= 2;
        storm_fired *v = realloc(r->storm_fired, cap * sizeof *v);
        if (!v)
            abort();
        memset(v + r->capstorm, 0, (cap - r->capstorm) * sizeof *v);
        r->storm_fired = v;
        r->capstorm = cap;
    }
    storm_fired *f = &r->storm_fired[q];
    if (f->id != REQ(r, q).id) /* the slot's earlier request */
        *f = (storm_fired){REQ(r, q).id, 0};
    uint64_t fresh = on & ~f->windows;
    f->windows |= on;
    for (; fresh; fresh &= fresh - 1)
        fault_fired(r, (uint32_t)__builtin_ctzll(fresh), TASK(r, r->cur).pub.isolate_id,
                    REQ(r, q).id, now);
}

/* What a step of cpu_ns costs under the storms on the running task's isolate at its start
 * (rounded, saturating at ENG_TIME_MAX). q: its limited request, or NONE. */
static __attribute__((noinline)) int64_t storm_cost(rt *r, uint32_t q, int64_t cpu_ns)
{
    const isolate *iso = &ISO(r, TASK(r, r->cur).iso);
    int64_t now = rt_task_time(r);
    double f = 1;
    uint64_t on = 0;
    for (uint64_t m = iso->fault_targets & r->storm_windows; m; m &= m - 1) {
        uint32_t w = (uint32_t)__builtin_ctzll(m);
        if (window_covers(&r->cfg.fault_windows[w], now)) {
            f *= r->cfg.fault_windows[w].cpu_factor; /* in index order: the same product */
            on |= 1ull << w;
        }
    }
    if (!on)
        return cpu_ns;
    if (q != NONE && r->obs.fault)
        storms_fire(r, q, on, now);
    double x = (double)cpu_ns * f;
    return x >= (double)ENG_TIME_MAX ? ENG_TIME_MAX : (int64_t)llround(x);
}

/* The running task computes cpu_ns (> 0) now: see rt_cpu. */
static bool cpu_take(rt *r, uint32_t q, int64_t cpu_ns)
{
    task *t = &TASK(r, r->cur);
    int64_t now = rt_task_time(r), end = eng_add(now, cpu_ns);
    /* The instant the request's CPU limit is passed, if this step passes it. */
    int64_t limit_at = ENG_TIME_MAX;
    if (q != NONE && r->cfg.cpu_limit_ns > 0 && cpu_ns > r->cfg.cpu_limit_ns - REQ(r, q).cpu_ns)
        limit_at = now + (r->cfg.cpu_limit_ns - REQ(r, q).cpu_ns);
    int64_t ending = ending_at(r, t);
    if (ending < now)
        ending = now;
    /* An ending pending inside this step (or at its end, where the ending, scheduled
     * earlier, goes first): the step computes up to that instant and the thread stops
     * there; if the task survives the ending it goes on with the rest of the step. */
    if (ending < ENG_TIME_MAX && end >= ending && ending <= limit_at) {
        int64_t ran = ending - now;
        if (q != NONE && r->cfg.cpu_limit_ns > 0)
            REQ(r, q).cpu_ns += ran;
        r->seg_cpu_ns += ran;
        pause_push(r, r->cur, cpu_ns - ran);
        pause_segment(r, ending);
        return false;
    }
    if (limit_at < ENG_TIME_MAX) {
        /* It runs up to the limit, and is stopped there. */
        r->seg_cpu_ns += limit_at - now;
        REQ(r, q).cpu_ns = r->cfg.cpu_limit_ns;
        REQ(r, q).terminated = true;
        return false;
    }
    if (q != NONE && r->cfg.cpu_limit_ns > 0)
        REQ(r, q).cpu_ns += cpu_ns;
    /* A segment's CPU saturates: a task that computes past the end of time ends with the run. */
    r->seg_cpu_ns = end - r->seg_start_ns;
    return true;
}

bool rt_cpu(rt *r, int64_t cpu_ns)
{
    assert(r->cur != NONE);
    uint32_t q = limited_request(r);
    if (q != NONE && REQ(r, q).terminated)
        return false;
    if (cpu_ns <= 0)
        return true;
    if (__builtin_expect(r->storm_windows != 0, 0))
        cpu_ns = storm_cost(r, q, cpu_ns);
    return cpu_take(r, q, cpu_ns);
}

/* The rest of a step that paused at an ending: its cost was set at its start (rt_cpu). */
static bool cpu_resume(rt *r, int64_t cpu_ns)
{
    uint32_t q = limited_request(r);
    if (q != NONE && REQ(r, q).terminated)
        return false;
    return cpu_take(r, q, cpu_ns);
}

/*
 * Discards a request's tasks (only those of kind `only`, or all: -1), from inside a
 * teardown (r->hold set: nothing runs meanwhile); returns how many.
 */
static uint32_t discard_request_tasks(rt *r, uint32_t q, int only, rt_task_end why)
{
    uint32_t s = REQ(r, q).iso, n = 0;
    uint32_t ts = ISO(r, s).tasks;
    while (ts != NONE) {
        uint32_t nx = TASK(r, ts).iso_next;
        task *t = &TASK(r, ts);
        if (t->req == q && (only < 0 || t->pub.kind == (rt_task_kind)only)) {
            if (t->state == T_READY)
                ready_remove(r, s, ts);
            r->host.discard(r->host.ud, r, &t->pub, why);
            task_release(r, ts);
            n++;
        }
        ts = nx;
    }
    return n;
}

/* Over the CPU limit (from the outermost segment, the thread free): the request ends, its
 * tasks discarded; the isolate lives on. */
static void request_terminate(rt *r, uint32_t q)
{
    uint32_t s = REQ(r, q).iso;
    r->stats.cpu_limited++;
    if (r->cfg.kind == RT_OBJECT && !REQ(r, q).responded)
        ISO(r, s).clients--;
    alarm_outcome(r, q, false);
    r->hold++; /* the kick loop this segment ran in goes on after it, with the thread's time */
    discard_request_tasks(r, q, -1, END_CPU_LIMIT);
    waits_cancel(r, q, RT_CPU_LIMIT);
    notify_request(r, q, RT_REQ_KILLED, rt_time(r));
    if (r->obs.killed)
        r->obs.killed(r->obs.ud, REQ(r, q).id, RT_CPU_LIMIT, rt_time(r));
    request_release(r, q);
    r->hold--;
    request_left(r, s);
}

/* ---------- memory ---------- */

void rt_mem_add(rt *r, rt_isolate_ref ref, int64_t delta)
{
    if (!rt_isolate_alive(r, ref) || ISO(r, ref.slot).dying)
        return;
    isolate *iso = &ISO(r, ref.slot);
    int64_t before = iso->mem;
    /* Saturates: a program may ask for more than int64 holds within one segment. */
    if (delta > 0 && iso->mem > INT64_MAX - delta)
        iso->mem = INT64_MAX;
    else
        iso->mem += delta;
    mem_held_moved(r, before, iso->mem);
    if (iso->mem > 0 && (uint64_t)iso->mem > r->stats.peak_memory_bytes)
        r->stats.peak_memory_bytes = (uint64_t)iso->mem;
    if (r->cfg.kind == RT_EDGE && r->cfg.memory_limit_bytes > 0 && !iso->oom_pending &&
        over_memory_limit(r, iso, rt_time(r))) {
        iso->oom_pending = true;
        schedule(r, rt_time(r), EV_OOM, ref.slot, ref.id);
        /* The isolate dies at this instant: its running segment goes no further. */
        if (r->cur != NONE && TASK(r, r->cur).iso == ref.slot && !r->pausing)
            pause_segment(r, rt_time(r));
    }
}

/* ---------- random kills ---------- */

static void kill_schedule(rt *r)
{
    double gap_ns = -log1p(-rng_unit(r->faults)) / r->cfg.kill_rate_per_s * 1e9;
    r->next_kill_ns = eng_add(eng_now(r->e), gap_ns > 4e18 ? (int64_t)4e18 : (int64_t)gap_ns);
    schedule(r, r->next_kill_ns, EV_KILL, 0, 0);
}

void rt_set_run_end(rt *r, int64_t end_ns)
{
    r->run_end_ns = end_ns;
}

void rt_set_faults_rng(rt *r, rng *faults_rng)
{
    r->faults = faults_rng;
    if (r->cfg.kill_rate_per_s > 0 && r->cfg.kind == RT_EDGE && !r->kill_scheduled) {
        r->kill_scheduled = true;
        kill_schedule(r);
    }
}

static void kill_one(rt *r)
{
    if (r->nlive) {
        int64_t k = rng_range(r->faults, 0, (int64_t)r->nlive - 1);
        evict(r, r->live[k], RT_EVICT_KILLED);
    }
    /* Only while something else is going on: the faults never keep a run alive (and the
     * fault windows' own events are not something going on). */
    r->next_kill_ns = ENG_TIME_MAX;
    if (eng_pending(r->e) > r->fault_events)
        kill_schedule(r);
}

/* ---------- fault windows' events ---------- */

/* A window begins. A storm acts step by step (storm_cost); a pressure fires for every live
 * isolate it targets, and evicts those it takes over the limit at once, as a deploy does: no
 * task runs at an event, and a segment across this instant stopped here (ending_at), so its
 * paused tasks die with the isolate instead of going on at their EV_RESUME. One that crossed
 * the limit on its own at this instant already has its EV_OOM coming. */
static void fault_start(rt *r, uint32_t w)
{
    assert(w < r->cfg.nfault_windows && r->fault_events > 0 && r->cur == NONE);
    r->fault_events--;
    r->faults_started |= 1ull << w;
    if (!(r->pressure_windows & (1ull << w)))
        return;
    int64_t now = eng_now(r->e);
    for (uint32_t i = 0; i < r->nlive;) {
        uint32_t s = r->live[i];
        isolate *iso = &ISO(r, s);
        if (!(iso->fault_targets & (1ull << w))) {
            i++;
            continue;
        }
        fault_fired(r, w, iso->info.id, 0, now);
        if (r->cfg.memory_limit_bytes > 0 && !iso->oom_pending && over_memory_limit(r, iso, now)) {
            evict(r, s, RT_EVICT_MEMORY); /* live[i] is the next one now */
            continue;
        }
        i++;
    }
}

/* ---------- subrequests ---------- */

static rt_sub sub_admit(rt *r, const rt_waiter *w, rt_conn *conn)
{
    assert(r->cur != NONE);
    *conn = (rt_conn){NONE, 0};
    uint32_t q = limited_request(r);
    if (q == NONE)
        return RT_SUB_GO;
    request *rq = &REQ(r, q);
    if (r->cfg.subrequest_limit && rq->subrequests >= r->cfg.subrequest_limit) {
        r->stats.subrequests_refused++;
        return RT_SUB_REFUSED;
    }
    rq->subrequests++;
    r->stats.subrequests++;
    *conn = (rt_conn){q, rq->id};
    if (!r->cfg.max_connections || rq->conns < r->cfg.max_connections) {
        rq->conns++;
        return RT_SUB_GO;
    }
    r->stats.connection_waits++;
    if (rq->nwaits == rq->capwaits) {
        if (rq->whead > 0) { /* reuse the consumed front */
            memmove(rq->waits, rq->waits + rq->whead, (rq->nwaits - rq->whead) * sizeof *rq->waits);
            rq->nwaits -= rq->whead;
            rq->whead = 0;
        }
        GROW_FOR(rq->waits, rq->nwaits, rq->capwaits, 4);
    }
    waiting *x = &rq->waits[rq->nwaits++];
    memset(x, 0, sizeof *x);
    if (w) {
        x->w = *w;
    } else {
        x->is_task = true;
        x->task = rt_suspend(r);
    }
    return RT_SUB_QUEUED;
}

rt_sub rt_subrequest(rt *r, const rt_waiter *w, rt_conn *conn)
{
    return sub_admit(r, w, conn);
}

rt_sub rt_subrequest_task(rt *r, rt_conn *conn)
{
    return sub_admit(r, NULL, conn);
}

bool rt_subrequest_withdraw(rt *r, rt_conn c, const void *ud)
{
    if (c.req == NONE || c.req >= r->reqs.n || REQ(r, c.req).id != c.id)
        return false;
    request *rq = &REQ(r, c.req);
    for (uint32_t i = rq->whead; i < rq->nwaits; i++)
        if (!rq->waits[i].is_task && !rq->waits[i].withdrawn && rq->waits[i].w.ud == ud) {
            rq->waits[i].withdrawn = true;
            return true;
        }
    return false;
}

void rt_conn_release(rt *r, rt_conn c)
{
    if (c.req == NONE || c.req >= r->reqs.n || REQ(r, c.req).id != c.id)
        return;
    request *rq = &REQ(r, c.req);
    if (rq->terminated || rq->cancelling || ISO(r, rq->iso).dying)
        return; /* its waiters are being cancelled: a freed connection must not send them */
    rq->conns--;
    while (rq->whead < rq->nwaits &&
           (!r->cfg.max_connections || rq->conns < r->cfg.max_connections)) {
        waiting w = rq->waits[rq->whead++];
        if (w.withdrawn)
            continue; /* it takes no connection */
        if (w.is_task) {
            if (w.task.slot < r->tasks.n && TASK(r, w.task.slot).pub.id == w.task.id &&
                TASK(r, w.task.slot).state == T_SUSPENDED) {
                rq->conns++;
                rt_resume(r, w.task);
            }
        } else {
            rq->conns++;
            w.w.go(w.w.ud, r);
        }
        if (REQ(r, c.req).id != c.id)
            return;
        rq = &REQ(r, c.req);
    }
}

__attribute__((hot)) void rt_await(rt *r, int64_t latency_ns) /* hot: see engine.c's eng_at */
{
    assert(r->cur != NONE);
    task *t = &TASK(r, r->cur);
    t->state = T_WAITING;
    /* No saturation needed on this hot path: the task time is at most ENG_TIME_MAX and a
     * latency at most DIST_MAX_NS, so the sum fits in int64 (engine.h). */
    assert(latency_ns <= DIST_MAX_NS);
    schedule(r, rt_task_time(r) + (latency_ns > 0 ? latency_ns : 0), EV_TASK_WAKE, r->cur,
             t->pub.id);
}

rt_task_ref rt_current_ref(const rt *r)
{
    assert(r->cur != NONE);
    return (rt_task_ref){r->cur, TASK(r, r->cur).pub.id};
}

rt_task_ref rt_suspend(rt *r)
{
    assert(r->cur != NONE);
    task *t = &TASK(r, r->cur);
    t->state = T_SUSPENDED;
    return (rt_task_ref){r->cur, t->pub.id};
}

void rt_resume(rt *r, rt_task_ref ref)
{
    if (ref.slot >= r->tasks.n || TASK(r, ref.slot).pub.id != ref.id ||
        TASK(r, ref.slot).state != T_SUSPENDED)
        return;
    task *t = &TASK(r, ref.slot);
    uint32_t s = t->iso;
    if (ISO(r, s).state == ISO_IDLE) {
        t->state = T_FROZEN;
        freeze(r, s, false, ref.slot, ref.id, eng_now(r->e));
        return;
    }
    ready_push(r, s, ref.slot);
    kick(r, s);
}

void rt_finish(rt *r)
{
    assert(r->cur != NONE);
    uint32_t s = r->cur;
    task *t = &TASK(r, s);
    uint32_t q = t->req;
    rt_task_kind kind = t->pub.kind;
    if (kind == TASK_HANDLER && q != NONE && !REQ(r, q).responded)
        rt_respond(r, 200); /* a handler that returns without responding: an implicit 200 */
    t = &TASK(r, s);
    r->host.discard(r->host.ud, r, &t->pub, END_DONE);
    task_release(r, s);
    if (q != NONE && kind != TASK_TIMER)
        request_settle(r, q);
}

void rt_respond(rt *r, int status)
{
    (void)status;
    assert(r->cur != NONE);
    uint32_t q = TASK(r, r->cur).req;
    if (q == NONE || REQ(r, q).responded)
        return;
    REQ(r, q).responded = true;
    r->stats.responded++;
    if (r->cfg.kind == RT_OBJECT) {
        ISO(r, REQ(r, q).iso).clients--;
        obj_update(r, REQ(r, q).iso);
    }
    notify_request(r, q, RT_REQ_RESPONDED, rt_task_time(r));
    /* The budget only matters when waitUntil work exists beside the handler; a wall limit,
     * set at arrival, bounds it instead. */
    if (r->cfg.wait_until_budget_ns > 0 && REQ(r, q).pending > 1 && !r->cfg.wall_limit_ns &&
        !REQ(r, q).alarm) {
        REQ(r, q).wu_deadline_ns = eng_add(rt_task_time(r), r->cfg.wait_until_budget_ns);
        schedule(r, REQ(r, q).wu_deadline_ns, EV_WU_DEADLINE, q, REQ(r, q).id);
    }
}

void rt_wait_until(rt *r, void *ext)
{
    assert(r->cur != NONE);
    task *parent = &TASK(r, r->cur);
    uint32_t q = parent->req;
    uint32_t s = parent->iso;
    uint64_t rid = parent->pub.request_id;
    uint32_t ts = task_new(r, s, q, TASK_WAIT_UNTIL, rid);
    TASK(r, ts).pub.ext = ext;
    if (q != NONE)
        REQ(r, q).pending++;
    /* As in JS: the async body runs synchronously up to its first await. */
    run_task(r, ts);
}

rt_isolate_info *rt_current_isolate(rt *r)
{
    assert(r->cur != NONE);
    return &ISO(r, TASK(r, r->cur).iso).info;
}

const rt_task *rt_current_task(const rt *r)
{
    return r->cur == NONE ? NULL : &TASK(r, r->cur).pub;
}

/* ---------- events ---------- */

static bool iso_valid(rt *r, uint32_t s, uint64_t id)
{
    return s < r->isos.n && ISO(r, s).state != ISO_FREE && ISO(r, s).info.id == id;
}

/* Every event but a task's wake-up. */
static __attribute__((noinline)) bool handle_other(rt *r, const eng_event *ev)
{
    switch (ev->type) {
    case EV_ISO_READY:
        if (iso_valid(r, ev->a, ev->b) && ISO(r, ev->a).state == ISO_STARTING) {
            wake(r, ev->a);
            if (ISO(r, ev->a).in_flight == 0)
                go_idle(r, ev->a);
            else
                kick(r, ev->a);
        }
        return true;
    case EV_THREAD_FREE:
        if (iso_valid(r, ev->a, ev->b)) {
            isolate *iso = &ISO(r, ev->a);
            iso->free_event = false;
            /* With a chooser, the thread freed by a CPU step (an event scheduled before this
             * instant) picks only after this instant's other events: kick defers it. */
            r->choosing = r->chooser != NULL && iso->free_choice;
            iso->free_choice = false;
            kick(r, ev->a);
            r->choosing = false;
        }
        return true;
    case EV_RESUME:
        /* After whatever ending was due at this instant (scheduled before the pause, so it
         * popped first): if the isolate survived, its paused tasks go on, then the rest. */
        if (iso_valid(r, ev->a, ev->b)) {
            resume_paused(r, ev->a, ev->time_ns); /* (none: the thread is free again) */
            if (iso_valid(r, ev->a, ev->b))
                kick(r, ev->a);
        }
        return true;
    case EV_IDLE:
        /* Its last request ended at this instant, or the CPU after it did: once its ready
         * work has run (kick), it goes idle (kick's idle_when_free). */
        if (iso_valid(r, ev->a, ev->b) && ISO(r, ev->a).state == ISO_ACTIVE &&
            ISO(r, ev->a).in_flight == 0) {
            ISO(r, ev->a).idle_pending = true;
            kick(r, ev->a);
        }
        return true;
    case EV_TIMER: {
        if (ev->a >= r->timers.n || TIMER(r, ev->a).id != ev->b)
            return true;
        uint32_t s = TIMER(r, ev->a).iso;
        if (ISO(r, s).state != ISO_ACTIVE) {
            freeze(r, s, true, ev->a, ev->b, ev->time_ns);
        } else {
            fire_timer(r, ev->a);
            kick(r, s);
        }
        return true;
    }
    case EV_IDLE_EVICT:
        if (iso_valid(r, ev->a, ev->b) && ISO(r, ev->a).state == ISO_IDLE &&
            ISO(r, ev->a).idle_deadline_ns == ev->time_ns)
            evict(r, ev->a, RT_EVICT_IDLE);
        return true;
    case EV_OBJ_IDLE:
        if (iso_valid(r, ev->a, ev->b) && ISO(r, ev->a).obj != OBJ_ACTIVE &&
            ISO(r, ev->a).obj_deadline == ev->time_ns)
            evict(r, ev->a, obj_cause(&ISO(r, ev->a)));
        return true;
    case EV_DISCONNECT:
        if (ev->a < r->reqs.n && REQ(r, ev->a).id == ev->b)
            disconnect(r, ev->a);
        return true;
    case EV_ALARM:
        if (r->alarm_at && ev->a < r->cfg.keys && ev->b == r->alarm_gen[ev->a] &&
            r->alarm_at[ev->a] == ev->time_ns) {
            r->stats.alarms_run++;
            rt_arrival al = {0, r->cfg.alarm_route, ev->a};
            alarm_arrive(r, &al);
        }
        return true;
    case EV_LIFETIME:
        if (iso_valid(r, ev->a, ev->b))
            evict(r, ev->a, RT_EVICT_LIFETIME);
        return true;
    case EV_OOM:
        /* Crossing the limit is fatal even if the segment let go of it again before it
         * yielded: the runtime kills on the allocation, not on an average. */
        if (iso_valid(r, ev->a, ev->b))
            evict(r, ev->a, RT_EVICT_MEMORY);
        return true;
    case EV_KILL:
        kill_one(r);
        return true;
    case EV_FAULT_START:
        fault_start(r, ev->a);
        return true;
    case EV_FAULT_END:
        /* A window applies by the time (window_covers): nothing is left to undo. */
        assert(ev->a < r->cfg.nfault_windows && r->fault_events > 0);
        r->fault_events--;
        return true;
    case EV_DEPLOY:
        r->next_deploy = ev->a + 1;
        if (r->cfg.kind != RT_SERVER) /* edge isolates and Durable Objects restart */
            while (r->nlive)          /* oldest first */
                evict(r, r->live[0], RT_EVICT_DEPLOY);
        return true;
    case EV_WU_DEADLINE: {
        uint32_t q = ev->a;
        if (q >= r->reqs.n || REQ(r, q).id != ev->b)
            return true;
        /* The budget is spent: whatever waitUntil work is unsettled is cancelled. A discarded
         * task may give back a connection and so make another ready: none runs meanwhile. */
        uint32_t s = REQ(r, q).iso;
        r->hold++;
        /* Its fetches still waiting for a connection never leave (they reject), and the
         * connections its cancelled tasks free do not go to them first. */
        REQ(r, q).cancelling = true;
        waits_cancel(r, q, RT_WU_DEADLINE);
        /* At a wall limit the handler goes too: the invocation is over. */
        bool wall = r->cfg.wall_limit_ns > 0 || REQ(r, q).alarm;
        if (wall)
            r->stats.wall_limited++;
        uint32_t n = discard_request_tasks(r, q, wall ? -1 : TASK_WAIT_UNTIL, END_CANCELLED_BUDGET);
        r->stats.wait_until_cancelled += n;
        REQ(r, q).pending -= n;
        r->hold--;
        if (REQ(r, q).pending == 0)
            request_end(r, q);
        kick(r, s);
        return true;
    }
    default:
        return false;
    }
}

/* A task's wake-up, most events of most runs: apart, so it can be inlined into the loop. */
bool rt_handle(rt *r, const eng_event *ev)
{
    if (ev->type != EV_TASK_WAKE)
        return handle_other(r, ev);
    if (ev->a >= r->tasks.n || TASK(r, ev->a).pub.id != ev->b || TASK(r, ev->a).state != T_WAITING)
        return true;
    task *t = &TASK(r, ev->a);
    uint32_t s = t->iso;
    if (ISO(r, s).state == ISO_IDLE) {
        t->state = T_FROZEN;
        freeze(r, s, false, ev->a, ev->b, ev->time_ns);
    } else {
        make_ready(r, s, ev->a, ev->time_ns);
    }
    return true;
}

static void shutdown_task(void *ud, rt *r)
{
    (void)ud;
    if (r->host.shutdown)
        r->host.shutdown(r->host.ud, r, rt_current_isolate(r));
}

void rt_shutdown(rt *r)
{
    if (r->cfg.kind != RT_SERVER)
        return;
    for (uint32_t i = 0; i < r->nlive; i++) {
        uint32_t s = r->live[i];
        rt_post(r, (rt_isolate_ref){s, ISO(r, s).info.id}, 0, shutdown_task, NULL, NULL);
    }
}

void rt_end(rt *r)
{
    r->stats.alive_at_end += r->nlive;
    while (r->nlive) /* oldest first */
        evict(r, r->live[0], (rt_evict)RT_END_OF_RUN);
}
