/*
 * The edge runtime model: isolates in a colo, requests routed to them, and
 * the tasks (coroutines) that requests run on an isolate's single thread.
 * Cloudflare Workers semantics; every number is a scenario parameter.
 *
 *  - Colos: each colo has its own isolates (and its own max_isolates); the
 *    workload says which colo a request arrives at.
 *  - Routing inside a colo, among live isolates with spare concurrency:
 *    least_loaded (fewest requests in flight; ties: the oldest), random
 *    (uniform, from the runtime stream), or sticky (the isolate that last
 *    served the request's key, while it lives and has room; else least
 *    loaded). If none has room, a new isolate cold-starts and the request
 *    waits for it; at max_isolates the least loaded takes it anyway.
 *  - Lifecycle: starting -> active (a request or its waitUntil work in
 *    flight) -> idle -> evicted, by idle timeout (drawn when it goes idle),
 *    max lifetime, or deploy. Eviction destroys everything the isolate holds:
 *    globals, buffers, timers, tasks, in-flight responses. It goes idle at the
 *    instant its last request ended (inside a segment: at the task time, not
 *    when the segment began) and lives [idle, idle + timeout): an arrival at
 *    exactly the deadline finds it evicted and starts another.
 *  - One thread per isolate. A task runs until it awaits or finishes; its
 *    synchronous steps hold the thread for their modelled CPU time; ready
 *    tasks run first-in first-out by (ready time, seq).
 *  - Every event takes effect at its instant, even inside a CPU step: a
 *    segment stops at the first pending instant that may end what runs in it
 *    (a deploy, the isolate's lifetime, the next random kill - whose victim is
 *    drawn only then, so every segment across it stops -, and for waitUntil
 *    work its request's deadline). Its tasks pause there with the thread held
 *    (EV_RESUME); the ending, scheduled earlier, goes first at that instant,
 *    and if they survive it they go on with the rest of the step before
 *    anything else runs on the isolate. An ending at exactly a step's end
 *    stops it too: what would follow at that instant comes after the ending.
 *    So nothing of a request or an isolate is ever timed after its end.
 *  - respond() sends the response; ctx.waitUntil work continues after it
 *    under one budget per request (30 s by default), then is cancelled: its
 *    tasks are discarded, and its fetches still waiting for a connection never
 *    leave (they reject; the connections the cancelled tasks free do not go to
 *    them). A fetch already sent - it had its connection and its request was
 *    written, before the deadline or at its instant by work scheduled earlier -
 *    is processed by its server when it arrives.
 *  - An isolate never goes idle with work in its ready queue (a fetch's
 *    rejection, a timer task): that runs first, then it goes idle.
 *  - Timers fire only while the isolate is active, which lasts to the end of
 *    its last request's CPU. While it is idle they are frozen; when it wakes,
 *    each overdue timer (and any timer task that was mid-await) fires once at
 *    that instant, in (due, seq) order, before the request that woke it runs.
 *  - Kind "server" (a long-lived container process): one process, never
 *    evicted, timers always fire; shutdown hooks run at the end.
 *  - Kind "durable_object" (Cloudflare Durable Objects): each request goes to the object
 *    of its key (keys objects, ids 0..keys-1), which takes every request sent to it (no
 *    concurrency limit, no colo routing); the first request to an object that is not in
 *    memory starts it (cold start: its constructor). Timers always fire while it is in
 *    memory. Its lifecycle, from the Durable Objects lifecycle documentation:
 *      active     a request is being handled (from its arrival to its response); with
 *                 io_keeps_alive also while a request's waitUntil work or a timer is
 *                 pending (the 2026-10-01 change);
 *      idle, hibernatable      not active, no request's work left (waitUntil included),
 *                 no timer set, no fetch in flight and no task pending: it hibernates
 *                 hibernate_after_ns (10 s) after it entered this state - evicted with
 *                 cause "hibernated", its in-memory state (globals, buffers) discarded;
 *      idle, not hibernatable  anything of the above pending: it stays in memory and is
 *                 evicted (cause "idle") idle_timeout (70-140 s) after it stopped being
 *                 active, drawn then, pending work and all.
 *    Alarms (rt_set_alarm, this.ctx.storage.setAlarm): one per object, kept in its storage,
 *    so hibernation and eviction do not lose it; at its time it runs as an invocation of
 *    the object (alarm_route), waking or starting it. It is at least once: a run that
 *    fails - it threw (rt_threw), was terminated by the CPU limit, cut at
 *    alarm_wall_limit_ns, or killed with its object - is retried 2 s after the failure, then 4, 8,
 * 16, 32 and 64 s (6 retries), then given up. A run that succeeds deletes the alarm unless it set a
 * new one. A pending alarm does not keep an object from hibernating. It lives [entered, deadline):
 * a request at exactly the deadline finds it gone and starts it again. Billed duration
 * (rt_stats.billed_ns, Cloudflare's GB-s at 128 MB) is the wall time it is in memory and not
 * idle-hibernatable: a hibernatable object is not billed even before it hibernates. Deploys restart
 * every object. Of its storage only the alarm is modelled (what the program keeps is in-memory
 * state).
 *  - Memory (edge kind): the host reports what an isolate holds (rt_mem_add).
 *    Holding more than memory_limit_bytes, even for an instant, evicts it
 *    (cause "memory") at the instant it crossed: the running segment stops
 *    after the step that crossed (rt_pausing) and the isolate dies then;
 *    exactly the limit is allowed, one byte more is not.
 *  - Random kills (a fault): isolates die at kill_rate_per_s (a Poisson
 *    process drawn from the faults stream), the victim uniform among the
 *    live ones; cause "killed". The process stops when nothing else is
 *    pending, so it never keeps a run alive.
 *  - Fault windows (the scenario's runtime faults, rt_fault_window; edge kind only, as
 *    kills): each applies in [from, until) to the isolates it targets, and is one of two:
 *      memory pressure: a targeted isolate's memory counts memory_bytes more against
 *      memory_limit_bytes (the rule above: over it, even for an instant, evicts it then).
 *      At the window's start every targeted isolate then over the limit dies (cause
 *      "memory"; counted in fault_pressure_evictions too); a segment across the start
 *      stops there, as for a deploy, so nothing it does after is timed before the
 *      isolate's end. One born inside the window has the
 *      pressure from birth but is checked at its next rt_mem_add, not at birth: checked
 *      there, one whose base and pressure are over would die inside the arrival that
 *      started it, which would start another for the same request, and so on. The
 *      pressure is modelled, not held: rt_memory_held and peak_memory_bytes report what
 *      isolates really hold (the work budget counts host memory).
 *      CPU storm: a CPU step (rt_cpu) of a targeted isolate that starts inside the window
 *      costs cpu_factor times its CPU (rounded, saturating) - the virtual time it holds the
 *      thread and what counts against the CPU limit; overlapping storms multiply. A step
 *      is judged at its start: one begun before the window keeps its cost, and the rest of
 *      a step paused at an ending is not inflated again.
 *    Their events (EV_FAULT_START, EV_FAULT_END) are scheduled when the runtime is made, as
 *    deploys are, and only when there are windows (a run without keeps its event log); one
 *    past the run's end never pops, and they never count as something going on (the kill
 *    process stops as if they were not there). A window applies by the time (a step inside
 *    a segment at its task time), so its end needs no action: the event only marks it.
 *    The observer hears of each fault that fires (rt_observer.fault): a pressure once per
 *    isolate it targets (at the start for those live then, at birth for those born inside
 *    it), a storm once per request, at the first of its steps it inflates; steps outside
 *    any request (timers, C continuations), which no limit counts either, take the longer
 *    time without a report.
 *  - CPU limit: the CPU of a request's handler and waitUntil tasks adds up;
 *    when it would pass cpu_limit_ns the request is terminated at the instant
 *    it reaches the limit: its tasks are discarded (END_CPU_LIMIT) and it
 *    counts as cpu_limited. Timer callbacks and C continuations run outside
 *    any request's context and are not counted.
 *  - Wall limit (wall_limit_ns, the invocation kinds that have one: a cron run): an
 *    invocation is cut at arrival + limit, handler and waitUntil work alike, as waitUntil
 *    work is at its budget (its segments stop there; its fetches waiting for a connection
 *    reject); it ended, and counts as wall_limited. Its deadline is set at arrival, so
 *    a response does not move it.
 *  - Subrequests (rt_subrequest): a request (its handler and waitUntil tasks)
 *    may start subrequest_limit fetches; past it fetch fails at once. At
 *    most max_connections are open at a time; more wait in order for one to
 *    close. Timer callbacks and C continuations are not limited.
 *
 * The runtime never interprets programs: it calls its host (rt_host) to run
 * a task, and the host calls back rt_await/rt_respond/... Everything is
 * single-threaded and driven by engine events; nothing reads the wall clock.
 */
#ifndef SIM_RUNTIME_H
#define SIM_RUNTIME_H

#include "dist.h"
#include "engine.h"
#include "events.h"
#include "rng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { RT_EDGE, RT_SERVER, RT_OBJECT } rt_kind;

/* Why an isolate died. Append only (the values are hashed into summaries). */
#define RT_EVICT_MAP(XX)                                                                           \
    XX(IDLE, "idle", "idle timeout")                                                               \
    XX(LIFETIME, "lifetime", "max lifetime reached")                                               \
    XX(DEPLOY, "deploy", "replaced by a deploy")                                                   \
    XX(MEMORY, "memory", "over the memory limit")                                                  \
    XX(KILLED, "killed", "killed at random (a fault)")                                             \
    XX(HIBERNATED, "hibernated", "a Durable Object hibernated (its in-memory state discarded)")

typedef enum {
#define RT_EVICT_ENUM(name, key, text) RT_EVICT_##name,
    RT_EVICT_MAP(RT_EVICT_ENUM)
#undef RT_EVICT_ENUM
        RT_EVICT_COUNT
} rt_evict;

/* Not an eviction: the run is over and the isolate is torn down (what it held is stranded). */
#define RT_END_OF_RUN RT_EVICT_COUNT
/* Not an eviction either: why a request (not its isolate) was cut short. */
#define RT_CPU_LIMIT   (RT_EVICT_COUNT + 1)
#define RT_WU_DEADLINE (RT_EVICT_COUNT + 2) /* its waitUntil budget was spent */

const char *rt_evict_key(rt_evict e);

typedef enum { RT_ROUTE_LEAST_LOADED, RT_ROUTE_RANDOM, RT_ROUTE_STICKY } rt_routing;

typedef struct rt_colo {
    const char *name;
    double weight;         /* share of arrivals (the workload draws the colo) */
    uint32_t max_isolates; /* 0: no limit */
} rt_colo;

/* At most this many fault windows per run: what fired is kept as a bit mask of them. */
#define RT_MAX_FAULT_WINDOWS 64

/* A runtime fault window (the scenario's faults.rules[] of kinds memory_pressure and cpu_storm):
 * in [from_ns, until_ns) it applies to every targeted isolate. An isolate is targeted when its
 * colo is listed (or ncolos is 0) and its id is listed (or nisolates is 0). Exactly one of
 * memory_bytes > 0 and cpu_factor > 1. */
typedef struct rt_fault_window {
    int64_t from_ns, until_ns; /* 0 <= from_ns < until_ns; until_ns ENG_TIME_MAX: to the end */
    int64_t memory_bytes;      /* memory pressure: > 0, added to what each targeted isolate holds */
    /* CPU storm: > 1, each CPU step on a targeted isolate costs this many times more; 0 for a
     * pressure */
    double cpu_factor;
    const uint32_t *colos; /* target colo indices (borrowed); ncolos 0: every colo */
    uint32_t ncolos;
    const uint64_t *isolates; /* target isolate ids (borrowed); nisolates 0: every isolate */
    uint32_t nisolates;
    uint32_t rule; /* the scenario rule's index, passed to the observer */
} rt_fault_window;

typedef struct rt_config {
    rt_kind kind;
    uint32_t max_concurrency; /* requests in flight per isolate */
    uint32_t max_isolates;    /* 0: no limit; at the limit requests share the least loaded */
    dist cold_start;
    dist idle_timeout;
    int64_t max_lifetime_ns;   /* 0: none */
    const int64_t *deploys_ns; /* sorted; borrowed from the scenario */
    size_t ndeploys;
    int64_t wait_until_budget_ns;
    const rt_colo *colos; /* borrowed; NULL: one colo "default" with max_isolates */
    uint32_t ncolos;
    rt_routing routing;
    uint32_t keys;              /* sticky: request keys are 0..keys-1 */
    int64_t memory_limit_bytes; /* 0: none */
    int64_t memory_base_bytes;  /* what a fresh isolate holds */
    int64_t cpu_limit_ns;       /* per request; 0: none */
    uint32_t subrequest_limit;  /* per request; 0: none */
    uint32_t max_connections;   /* open subrequests per request; 0: none */
    double kill_rate_per_s;     /* random kills; 0: none (needs rt_set_faults_rng) */
    /* Routing keeps an index of a colo's isolates by load once it has more than this many
     * (0: 32); fewer are scanned. Either way the same isolate is picked: tests set it to
     * compare the two. */
    uint32_t load_index_min;
    /* Memory pressures and CPU storms (at most RT_MAX_FAULT_WINDOWS; ignored by the server
     * kind); borrowed. */
    const rt_fault_window *fault_windows;
    size_t nfault_windows;
    /* Kind "durable_object" (see the header comment): an object hibernates this long after it
     * became idle and hibernatable (0: 10 s); idle_timeout is how long an idle object that
     * cannot hibernate stays in memory. io_keeps_alive: the 2026-10-01 behaviour (compatibility
     * flag durable_object_io_tasks_prevent_eviction), under which pending waitUntil work and
     * timers keep an object active. */
    int64_t hibernate_after_ns;
    bool io_keeps_alive;
    /* Every invocation is cut this long after it arrived (0: none): its handler and its
     * waitUntil work are discarded (END_CANCELLED_BUDGET) and it counts as wall_limited.
     * Cron Triggers, queue consumers and Durable Object alarms: 15 minutes. With it, the
     * waitUntil budget after a response does not apply: the wall limit bounds it all. */
    int64_t wall_limit_ns;
    /* Durable Object alarms (rt_set_alarm): the route their invocations run (its handler is
     * the alarm() handler) and their wall limit (0: none; Cloudflare: 15 minutes). */
    uint32_t alarm_route;
    int64_t alarm_wall_limit_ns;
} rt_config;

/* Its event types are rows of events.h (owner RUNTIME). */

/* TASK_CALLBACK: C code (a timer's or a response's continuation) run on the isolate's thread. */
typedef enum { TASK_HANDLER, TASK_WAIT_UNTIL, TASK_TIMER, TASK_CALLBACK } rt_task_kind;
typedef enum {
    END_DONE,
    END_CANCELLED_BUDGET,
    END_EVICTED,
    END_RUN_OVER,
    END_CPU_LIMIT,   /* its request went over the CPU limit */
    END_DISCONNECTED /* its client disconnected while it produced a streamed body */
} rt_task_end;

typedef struct rt rt;

/* What the host sees of a task. */
typedef struct rt_task {
    uint64_t id;
    rt_task_kind kind;
    uint64_t request_id; /* the request it belongs to (timers: the one that set them) */
    uint64_t isolate_id;
    uint32_t route; /* the request's route (rt_arrival) */
    void *ext;      /* the host's state (e.g. the interpreter's frames) */
} rt_task;

/* An isolate that may die: rt_isolate_alive says whether it still lives. */
typedef struct rt_isolate_ref_s {
    uint32_t slot;
    uint64_t id;
} rt_isolate_ref;

/* A reference that survives the task: resuming a dead task is a no-op. */
typedef struct rt_task_ref {
    uint32_t slot;
    uint64_t id;
} rt_task_ref;

typedef struct rt_isolate_info {
    uint64_t id;
    int64_t created_ns;
    uint32_t requests_served;
    uint32_t colo;
    void *app; /* host state per isolate (globals) */
    void *tel; /* telemetry state per isolate (SDK, exporters) */
} rt_isolate_info;

typedef struct rt_host {
    void *ud;
    /* A request starts on an isolate: set t->ext for its handler. */
    void (*handler_start)(void *ud, rt *r, rt_task *t);
    /* A timer fires: set t->ext to run `body`. */
    void (*timer_start)(void *ud, rt *r, rt_task *t, const void *body);
    /* Runs the task until it awaits (rt_await/rt_suspend) or finishes (rt_finish). */
    void (*run)(void *ud, rt *r, rt_task *t);
    /* The task will never run again; free t->ext. */
    void (*discard)(void *ud, rt *r, rt_task *t, rt_task_end why);
    /* An isolate is born / dies (with everything it holds). */
    void (*isolate_born)(void *ud, rt *r, rt_isolate_info *iso);
    void (*isolate_dies)(void *ud, rt *r, rt_isolate_info *iso, rt_evict cause);
    /* Server kind: the process is shutting down at the end of the run. */
    void (*shutdown)(void *ud, rt *r, rt_isolate_info *iso);
    /* A request ended (responded, its waitUntil work settled - or `cancelled` by its budget)
     * at rt_time(r), on `iso`; `timers`: timers it set are still pending or running there
     * (they may still act for it). NULL: not wanted. */
    void (*request_ends)(void *ud, rt *r, rt_isolate_info *iso, uint64_t request, bool timers,
                         bool cancelled);
} rt_host;

typedef struct rt_stats {
    uint64_t arrived;
    uint64_t responded;
    uint64_t completed;      /* response sent and all waitUntil work settled */
    uint64_t killed;         /* in flight when their isolate died */
    uint64_t lost_responses; /* killed before responding */
    uint64_t isolates_created;
    uint64_t evicted[RT_EVICT_COUNT];
    uint64_t alive_at_end;
    uint64_t tasks;
    uint64_t wait_until_cancelled; /* tasks cut by the budget */
    uint64_t timers_fired;
    uint64_t timers_caught_up; /* fired late, on wake, after being frozen */
    uint64_t cpu_limited;      /* requests terminated by the CPU limit */
    uint64_t wall_limited;     /* invocations cut at the wall limit (rt_config.wall_limit_ns) */
    uint64_t exceptions;       /* invocations that ended normally but a task of theirs threw */
    uint64_t disconnected;     /* streamed bodies cut by their client's disconnect (truncated) */
    uint64_t subrequests;      /* fetches admitted under a request's limits */
    uint64_t subrequests_refused;
    uint64_t connection_waits;  /* fetches that waited for a connection */
    uint64_t peak_memory_bytes; /* of any isolate (what it held: no fault's pressure) */
    /* Evicted for memory at an instant a memory pressure applied to them. */
    uint64_t fault_pressure_evictions;
    /* Kind durable_object: wall time objects were billed for (active, or idle in memory and
     * unable to hibernate), summed over objects; and how often one became hibernatable. */
    int64_t billed_ns;
    uint64_t hibernatable_periods;
    /* Durable Object alarms: invocations run (retries included), retries scheduled after a
     * failed run, and alarms given up after their last retry failed. */
    uint64_t alarms_run, alarm_retries, alarms_given_up;
} rt_stats;

/* Per colo. */
typedef struct rt_colo_stats {
    uint64_t arrived;
    uint64_t isolates_created;
} rt_colo_stats;

/*
 * Scheduling choices, for the interleaving explorer (explore.h). With a chooser, a task that
 * becomes ready never runs at once: the isolate's thread takes its next task at an
 * EV_THREAD_FREE at that instant, after the events already due then (so every task that
 * becomes ready at the instant is a candidate), and whenever more than one task is ready
 * it calls fn with their requests in queue order (oldest first); fn returns the index of
 * the one to run. Always 0 is the queue's order (a run without a chooser can take the same
 * order or, where a wake-up runs before a same-instant event, a different one).
 */
typedef uint32_t (*rt_chooser)(void *ud, uint64_t isolate, const uint64_t *requests, uint32_t n);
void rt_set_chooser(rt *r, rt_chooser fn, void *ud);

/* The runtime takes its rng streams and engine from the caller (the sim). */
rt *rt_new(eng *e, rng *runtime_rng, const rt_config *cfg, const rt_host *host);
void rt_free(rt *r);

/* What the workload decided about an arrival. */
typedef struct rt_arrival {
    uint32_t colo;  /* < ncolos */
    uint32_t route; /* passed to the host in rt_task.route */
    uint32_t key;   /* sticky routing: < keys */
} rt_arrival;

/* Duration in GB-s for billed_ns of Durable Object wall time (128 MB per object). */
double rt_gb_s(int64_t billed_ns);

/* A request arrives now: route it, start it (maybe after a cold start). */
uint64_t rt_request_arrive(rt *r);
uint64_t rt_request_arrive_at(rt *r, const rt_arrival *a);
/* The stream random kills draw from (the faults stream); needed when kill_rate_per_s > 0. */
void rt_set_faults_rng(rt *r, rng *faults_rng);
/* The run ends at `end_ns` (edge kind: everything stops there, so a segment across it
 * stops at it, as at a deploy; a long-lived process shuts down then instead). */
void rt_set_run_end(rt *r, int64_t end_ns);
/* Handles one engine event of the runtime's types. False if the type is not ours. */
bool rt_handle(rt *r, const eng_event *ev);
/* Server kind, end of the run: each live process runs its shutdown hook (as a C task). */
void rt_shutdown(rt *r);
/*
 * End of the run: every live isolate is counted and torn down (isolate_dies
 * with RT_END_OF_RUN, tasks discarded with END_RUN_OVER), so the host sees
 * what was still in memory.
 */
void rt_end(rt *r);

/* --- calls for the host, from inside run() --- */

/* The logical time inside the running task: now plus the CPU its segment used. */
int64_t rt_task_time(const rt *r);
/*
 * Adds modelled CPU time to the running segment (holds the isolate's thread).
 * False when the host must return from run() at once without awaiting or finishing:
 * the step took the task's request over the CPU limit (rt_terminated: the request is
 * terminated), or an ending is pending inside the step (rt_pausing: the task pauses at
 * that instant and run() is called again there to go on after the step, if it survives).
 */
bool rt_cpu(rt *r, int64_t cpu_ns);
/*
 * The running segment stops: an ending is pending at the instant the task has reached
 * (rt_cpu), or the isolate went over its memory limit (rt_mem_add). The host returns from
 * run() before its next step, its state kept; run() is called again to go on.
 */
bool rt_pausing(const rt *r);
/* The running task's request was terminated: run() must return without awaiting or finishing. */
bool rt_terminated(const rt *r);
/* Inside a task, its logical time; outside, the engine's time. */
int64_t rt_time(const rt *r);
/* Suspends the running task for latency_ns (after its CPU); other tasks run meanwhile. */
void rt_await(rt *r, int64_t latency_ns);
/* The running task, as a reference that survives it. */
rt_task_ref rt_current_ref(const rt *r);
/* Suspends the running task until rt_resume(ref) is called from an event. */
rt_task_ref rt_suspend(rt *r);
/* Makes a suspended task ready again (no-op if it died meanwhile). */
void rt_resume(rt *r, rt_task_ref ref);
/* The running task has finished its program. */
void rt_finish(rt *r);
/* Sends the running task's request's response (once; later calls are ignored). */
void rt_respond(rt *r, int status);
/*
 * ctx.waitUntil from the running task: a new task of the same request whose
 * ext the host has prepared. As in JS, it runs its first synchronous segment
 * right away, inside the caller's segment, before the caller continues.
 */
void rt_wait_until(rt *r, void *ext);
/* setTimeout (interval_ns == 0) or setInterval from the running task. */
uint64_t rt_set_timer(rt *r, int64_t delay_ns, int64_t interval_ns, const void *body);

/*
 * C continuations. fn(ud, r) runs as a task of its own on the isolate's
 * thread (so it may call rt_cpu, rt_set_timer_fn, rt_post, rt_resume), then
 * finishes; it must not await. Like every task it waits for the thread, is
 * frozen while the isolate is idle, and dies with the isolate (fn never runs;
 * `ud` is the owner's to free). The task counts toward no request's lifetime.
 */
typedef void (*rt_fn)(void *ud, rt *r);
/* A timer that runs fn (setTimeout/setInterval of C code), from inside a task. */
uint64_t rt_set_timer_fn(rt *r, int64_t delay_ns, int64_t interval_ns, rt_fn fn, void *ud);
/* The same for the isolate itself (module-scope code): its callbacks belong to no request, so
 * no request counts it as a timer that may still act for it. */
uint64_t rt_set_isolate_timer_fn(rt *r, int64_t delay_ns, int64_t interval_ns, rt_fn fn, void *ud);
/* Cancels a timer set by the running isolate (no-op when it already fired or died). */
void rt_clear_timer(rt *r, uint64_t timer_id);
/* What a C continuation's owner does when its isolate dies before it ran: cause is an
 * rt_evict or RT_END_OF_RUN. */
typedef void (*rt_cancel_fn)(void *ud, rt *r, int cause);
/* Queues fn on a live isolate now (a promise continuation); false if it died. If the
 * isolate dies first, cancel (may be NULL) runs instead, with the same ud. */
bool rt_post(rt *r, struct rt_isolate_ref_s ref, uint64_t request_id, rt_fn fn, rt_cancel_fn cancel,
             void *ud);
/* The running handler's client disconnects delay_ns from now (after the headers of a streamed
 * body): if the handler still runs then, it is discarded there (END_DISCONNECTED: the body is
 * truncated, counted in disconnected); its waitUntil work goes on. Its segments stop at that
 * instant, as at any ending. */
void rt_disconnect_after(rt *r, int64_t delay_ns);

/* The running task threw (an uncaught exception): its request's outcome is exception, and an
 * alarm run that threw is retried. The host finishes the task as usual. */
void rt_threw(rt *r);

/* this.ctx.storage.setAlarm(now + delay_ns) from a task on a Durable Object: replaces its
 * alarm (and its retries). Ignored for other kinds. */
void rt_set_alarm(rt *r, int64_t delay_ns);

/* The running task's isolate (for globals and telemetry state). */
rt_isolate_info *rt_current_isolate(rt *r);
const rt_task *rt_current_task(const rt *r);

/* The engine's current time (outside a task's segment). */
int64_t rt_now(const rt *r);

rt_isolate_ref rt_current_isolate_ref(const rt *r);
/* The isolate a task (as passed to the host) runs on. */
rt_isolate_info *rt_task_isolate(rt *r, const rt_task *t);
rt_isolate_ref rt_task_isolate_ref(const rt *r, const rt_task *t);
bool rt_isolate_alive(const rt *r, rt_isolate_ref ref);

/* --- I/O outside the runtime's subrequest accounting --- */

/* A fetch from `iso` is in flight (net.h: from its start until its answer is delivered or
 * lost): a Durable Object with one cannot hibernate. A dead isolate is ignored. */
void rt_io_begin(rt *r, rt_isolate_ref iso);
void rt_io_end(rt *r, rt_isolate_ref iso);

/* --- memory --- */

/* The isolate holds delta more bytes (or fewer); a dead isolate is ignored. */
void rt_mem_add(rt *r, rt_isolate_ref iso, int64_t delta);
/* What every live isolate holds, added up (saturating at ENG_TIME_MAX; a work budget). A
 * memory pressure is not in it: it is modelled, not host memory. */
int64_t rt_memory_held(const rt *r);

/* --- subrequests (fetch) of the running task's request --- */

/* A connection, to give back with rt_conn_release (rt_subrequest always sets it). */
typedef struct rt_conn {
    uint32_t req;
    uint64_t id;
} rt_conn;

typedef enum {
    RT_SUB_GO,     /* a connection is taken now */
    RT_SUB_QUEUED, /* go(ud, r) runs when one frees, with it taken */
    RT_SUB_REFUSED /* past the subrequest limit: the runtime's "Too many subrequests." */
} rt_sub;

typedef struct rt_waiter {
    /* The connection is yours now; called from whatever released one (inside or outside a task). */
    void (*go)(void *ud, rt *r);
    /* The request died with go pending: cause is an rt_evict, RT_END_OF_RUN or RT_CPU_LIMIT. */
    void (*cancel)(void *ud, rt *r, int cause);
    void *ud;
} rt_waiter;

/* From inside a task. For QUEUED, `w` is kept; *conn is set in every case. */
rt_sub rt_subrequest(rt *r, const rt_waiter *w, rt_conn *conn);
/* The running task waits for a connection (QUEUED for a task): it is resumed when it has one. */
rt_sub rt_subrequest_task(rt *r, rt_conn *conn);
void rt_conn_release(rt *r, rt_conn conn);
/* A waiter queued by rt_subrequest (identified by its ud) gives up waiting: neither its go
 * nor its cancel will run, and it takes no connection. False when it is not waiting (it
 * has its connection, or was cancelled). Callable outside a task. */
bool rt_subrequest_withdraw(rt *r, rt_conn conn, const void *ud);

/* Lifecycle notifications for the ledger; never decisions. */
typedef enum { RT_REQ_ARRIVED, RT_REQ_RESPONDED, RT_REQ_ENDED, RT_REQ_KILLED } rt_request_event;

typedef struct rt_observer {
    void *ud;
    void (*request)(void *ud, uint64_t request_id, uint64_t isolate_id, rt_request_event ev,
                    int64_t time_ns);
    /* born: cause < 0; died: an rt_evict or RT_END_OF_RUN */
    void (*isolate)(void *ud, const rt_isolate_info *iso, int cause, int64_t time_ns);
    /* Where an arriving request goes: its route and colo, just before RT_REQ_ARRIVED. */
    void (*placed)(void *ud, uint64_t request_id, uint32_t route, uint32_t colo);
    /* Why a request was killed, just after its RT_REQ_KILLED: an rt_evict, RT_END_OF_RUN
     * (its isolate died) or RT_CPU_LIMIT. May be NULL. */
    void (*killed)(void *ud, uint64_t request_id, int cause, int64_t time_ns);
    /* A fault window fired (see the header comment): `rule` is its rt_fault_window.rule;
     * request_id 0 for a memory pressure. May be NULL. */
    void (*fault)(void *ud, uint32_t rule, uint64_t isolate_id, uint64_t request_id,
                  int64_t time_ns);
} rt_observer;

void rt_set_observer(rt *r, const rt_observer *obs);

const rt_stats *rt_get_stats(const rt *r);
/* Colo i's counters (i < the number of colos: ncolos, or 1). */
const rt_colo_stats *rt_get_colo_stats(const rt *r, uint32_t i);
const rt_config *rt_get_config(const rt *r);

#endif
