/*
 * Request programs and their interpreter.
 *
 * A program is a tree of steps (compiled from the scenario's `app`). Each
 * task (a request's handler, its waitUntil work, a timer callback) runs as an
 * interpreter state machine over that tree: a stack of frames, no C stack
 * held across awaits. Asynchronous steps hand control back to the runtime
 * (rt_await, rt_suspend) and the task resumes from its frames later.
 *
 * Telemetry steps call the telemetry layer through tel_ops (telemetry.h);
 * isolate globals live in the interpreter's per-isolate state, so they die
 * with the isolate.
 */
#ifndef SIM_APP_H
#define SIM_APP_H

#include "dist.h"
#include "runtime.h"
#include "telemetry.h"

#include <stdint.h>
#include <stdio.h>

#define APP_MAX_DEPTH 16 /* nesting of span/repeat blocks in one task */

typedef enum {
    OP_SPAN,
    OP_AWAIT,
    OP_CPU,
    OP_METRIC,
    OP_LOG,
    OP_GLOBAL,
    OP_RESPOND,
    OP_WAIT_UNTIL,
    OP_SET_TIMEOUT,
    OP_SET_INTERVAL,
    OP_CALL,
    OP_REPEAT,
    OP_ONCE,      /* module-scope code: runs its body the first time it is reached on an isolate */
    OP_FETCH,     /* a subrequest: an await that counts toward the request's limits */
    OP_MEMORY,    /* the program holds bytes: for the rest of the task, or the isolate's life */
    OP_SET_ALARM, /* a Durable Object's this.ctx.storage.setAlarm (runtime.h: rt_set_alarm) */
    OP_THROW,     /* an uncaught exception: the task's remaining steps are skipped */
} app_op;

/*
 * Operations on an isolate global (a thread_local RefCell<Option<Vec<Entry>>>, or an
 * accumulator). Entries are telemetry items (telemetry.h: envelope-attributed):
 *   set      a fresh empty value; what the old one held is lost (overwritten-shared-state)
 *   append   a new entry of this request; into an unset global it is dropped, or starts a
 *            fresh value (on_unset)
 *   read     the task looks at the entries (the global keeps them; nothing moves)
 *   take     the entries move into the task and the global is unset
 *   clear    the entries are lost (overwritten-shared-state)
 *   send     the entries the task took from this global go out through the telemetry path
 *   put_back the entries the task took go back into the global (set again if unset)
 *   checkpoint  the global's entries go to the queue as one message (an accumulator drains)
 * Entries a task took and still holds when it ends are lost (overwritten-shared-state).
 */
typedef enum {
    GLOBAL_SET,
    GLOBAL_APPEND,
    GLOBAL_READ,
    GLOBAL_TAKE,
    GLOBAL_CLEAR,
    GLOBAL_SEND,
    GLOBAL_PUT_BACK,
    GLOBAL_CHECKPOINT,
} app_global_op;

/* A global that is an isolate-wide accumulator (the pre-#400 LazyLock ResolveLogger): never
 * unset, drained by a checkpoint every `every_ns` (an isolate timer, from its first entry;
 * 0: none) and as soon as it holds `max_entries` (0: no bound). */
typedef struct app_accumulator {
    bool on;
    int64_t every_ns;
    uint32_t max_entries;
} app_accumulator;

typedef struct app_step app_step;

typedef struct app_block {
    app_step *steps;
    uint32_t n;
} app_block;

struct app_step {
    app_op op;
    const char *name; /* span, await, metric, log body, global or call target */
    dist d;           /* await latency, cpu, timer delay or interval */
    double value;     /* metric value */
    int status;       /* respond */
    int severity;     /* log severityNumber */
    uint32_t times;   /* repeat */
    uint32_t global;  /* index of the global (GLOBAL ops) */
    int64_t bytes;    /* OP_MEMORY */
    bool for_isolate; /* OP_MEMORY: held until the isolate dies (else until the task ends) */
    bool console;     /* OP_LOG: console.log, captured by the platform (else the SDK's logger) */
    bool disconnects; /* OP_RESPOND with a body: its client disconnects `d` after the headers */
    app_global_op gop;
    bool on_unset_fresh;             /* GLOBAL_APPEND into an unset global: a fresh value */
    const char *flag, *flag_variant; /* GLOBAL_APPEND: the resolve the entry records */
    tel_call call;                   /* OP_CALL */
    uint32_t dest;                   /* OP_FETCH: 1 + its destination's index (app_dest_ops),
                                        or 0: none, a latency await */
    app_block body;                  /* span, repeat, wait_until, timer bodies; OP_FETCH with a
                                        destination: its on_error steps */
    /* The next step of this block if it is an await, else NULL: what a task resumes into
     * after this step's await, known without reading the block (see h_run). */
    const app_step *next_await;
};

/* A route: the handler requests of that route run (the workload picks routes by weight). */
typedef struct app_route {
    const char *name;
    double weight;
    app_block handler;
} app_route;

typedef struct app_program {
    app_route *routes; /* at least one */
    uint32_t nroutes;
    const char **globals;          /* names, indexed by app_step.global */
    app_accumulator *accumulators; /* nglobals of them, or NULL: none is one */
    uint32_t nglobals;
    uint32_t nonce; /* OP_ONCE steps */
} app_program;

typedef struct app_stats {
    uint64_t steps;
    uint64_t awaits;
    uint64_t global_entries;       /* entries appended to globals */
    uint64_t global_entries_mixed; /* read or taken by a request other than their creator */
    uint64_t global_entries_lost;  /* overwritten, cleared, or died with their isolate */
    uint64_t checkpoints;          /* accumulator drains that sent a message */
    uint64_t fetches;
    uint64_t fetches_refused; /* past the subrequest limit (the program goes on, as if it caught) */
    uint64_t bodies;          /* streamed bodies produced to their EOF */
    int64_t body_ns;          /* their headers-to-EOF times, summed (what a span ended at the
                                 headers leaves out) */
} app_stats;

typedef struct app app;

/*
 * Fetch steps with a destination (pipeline.h) are real requests: the interpreter asks
 * `send` for them and waits for `done(ud, tag, r, status)`; a status other than a 2xx runs
 * the step's on_error steps, then the program goes on. `starts` runs as each request's
 * handler first runs (the items its client carried are created then). NULL: none.
 */
typedef void (*app_dest_done)(void *ud, uint64_t tag, rt *r, int status);
typedef struct app_dest_ops {
    void *ud;
    void (*starts)(void *ud, rt *r, uint64_t request);
    void (*send)(void *ud, rt *r, uint32_t dest, app_dest_done done, void *done_ud, uint64_t tag);
} app_dest_ops;
void app_set_dest_ops(app *a, const app_dest_ops *ops);

app *app_new(const app_program *prog, rng *app_rng, const tel_ops *tel, void *tel_ud);
/*
 * Writes one line per executed step, task start and end to `trace`:
 * "<time_ns> r<request> i<isolate> t<task> <what> [name]". Deterministic.
 */
void app_set_trace(app *a, FILE *trace);
/* Stop interpreting after this many steps of repeat iterations, the only work a task can do
 * without bound (0: no limit). */
void app_set_work_limit(app *a, uint64_t steps);
/* The limit was reached: a task is parked mid-program and the run must end (a budget). */
bool app_exhausted(const app *a);
void app_free(app *a);

/*
 * Latency choices (the explorer, explore.h): with a chooser, every await and fetch draws its
 * latency from the seed as usual, then asks fn (as rt_chooser, with the task's request) to
 * pick among that draw (0), the distribution's lower edge (1) and its upper edge (2)
 * (dist_edges); no choice when all three are equal. NULL: none.
 */
void app_set_latency_chooser(app *a, rt_chooser fn, void *ud);

/* The runtime host that runs this program (runtime.h). */
rt_host app_host(app *a);

const app_stats *app_get_stats(const app *a);

#endif
