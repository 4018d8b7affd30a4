/*
 * The interface between request programs and the telemetry layer (the SDK
 * and exporters under test). The interpreter calls these; the telemetry layer
 * may call back into the runtime (rt_task_time, and later fetch) but never
 * into the interpreter except through the `done` continuation of call().
 *
 * Until exporters are configured, tel_null_ops() stands in: every call is a
 * no-op that is only counted, and no item is recorded in any ledger. Runs say
 * so in their summary.
 */
#ifndef SIM_TELEMETRY_H
#define SIM_TELEMETRY_H

#include "runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The telemetry API calls a program can make. Append only. */
#define TEL_CALL_MAP(XX)                                                                           \
    XX(TRACER_FLUSH, "tracer.flush")                                                               \
    XX(METRICS_FLUSH, "metrics.flush")                                                             \
    XX(LOGGER_FLUSH, "logger.flush")                                                               \
    XX(EXPORTER_FLUSH, "exporter.flush")                                                           \
    XX(EXPORTER_SHUTDOWN, "exporter.shutdown")

typedef enum {
#define TEL_CALL_ENUM(name, text) TEL_##name,
    TEL_CALL_MAP(TEL_CALL_ENUM)
#undef TEL_CALL_ENUM
        TEL_CALL_COUNT
} tel_call;

const char *tel_call_name(tel_call c);
/* Looks a call up by its program name ("tracer.flush"); -1 if unknown. */
int tel_call_find(const char *name);

/* How an asynchronous call resumes its caller: fn(ud, r, ref), kept by value. */
typedef struct tel_cont {
    void (*fn)(void *ud, rt *r, rt_task_ref ref);
    void *ud;
    rt_task_ref ref;
} tel_cont;

/* An entry of an isolate global, as the interpreter holds it (opaque). */
typedef struct el_item tel_entry;

/* The holder of entries a task took from a global. */
#define TEL_HOLDER_TASK "task-local"

/* Why an entry of a global was lost. */
typedef enum {
    TEL_LOST_OVERWRITTEN, /* its global was replaced or cleared, or it was taken and never sent */
    TEL_LOST_TASK,        /* the task holding it ended abnormally (why: rt_task_end) */
    TEL_LOST_ISOLATE,     /* its isolate died with it in a global (why: rt_evict, RT_END_OF_RUN) */
} tel_loss;

typedef enum {
    TEL_ENQ_NONE,    /* no queue is configured: nothing was taken */
    TEL_ENQ_SENT,    /* taken, nobody waits */
    TEL_ENQ_PENDING, /* taken; the continuation runs when the queue has it */
} tel_enqueued;

typedef struct tel_ops {
    /* Per-isolate state (stored in iso->tel) and its death, with everything it holds. */
    void (*isolate_born)(void *ud, rt *r, rt_isolate_info *iso);
    void (*isolate_dies)(void *ud, rt *r, rt_isolate_info *iso, rt_evict cause);
    /* Spans nest per task; span_start returns a handle for span_end (0: none). */
    uint64_t (*span_start)(void *ud, rt *r, const char *name);
    void (*span_end)(void *ud, rt *r, uint64_t span);
    void (*metric)(void *ud, rt *r, const char *name, double value);
    void (*log)(void *ud, rt *r, const char *body, int severity);
    /* console.log of a log record: the platform captures it (Workers Logs, wlogs.h), not the
     * SDK. NULL: treated as log. */
    void (*console_log)(void *ud, rt *r, const char *body, int severity);
    /*
     * Entries of isolate globals (a flag-resolve log record): telemetry items of their own
     * (kind "entry"), envelope-attributed - the consumer credits an entry to the request
     * whose payload carried it. The interpreter holds the handle while the entry sits in a
     * global or a task; the telemetry layer owns the item. entry_new: a new entry made by
     * the running task's request, held by `global` (NULL: nothing is recorded, as with the
     * stand-in; the interpreter keeps NULL handles all the same).
     */
    tel_entry *(*entry_new)(void *ud, rt *r, const char *global, const char *flag,
                            const char *variant);
    /* The entry is now held by `holder` (a global's name, or TEL_HOLDER_TASK). */
    void (*entry_moved)(void *ud, rt *r, tel_entry *e, const char *holder);
    /* The entry left memory unsent (the handle is dead after this): `how` says why, `why`
     * refines it (an rt_task_end for TEL_LOST_TASK, an rt_evict or RT_END_OF_RUN for
     * TEL_LOST_ISOLATE); note: what happened, in words, for its story (may be NULL). */
    void (*entry_lost)(void *ud, rt *r, tel_entry *e, tel_loss how, int why, const char *holder,
                       const char *note);
    /* Sends entries (taken) through the telemetry path, in a payload sent for the running
     * task's request: as call() for completion (true: done now; else k runs later). */
    bool (*entry_send)(void *ud, rt *r, tel_entry **e, size_t n, tel_cont k);
    /* A checkpoint: the entries (taken) go to the queue as one message. k NULL: nobody
     * waits (a timer's or a size bound's checkpoint); else k runs once the queue has the
     * message (send() resolved), never if it does not get there. */
    tel_enqueued (*entry_enqueue)(void *ud, rt *r, tel_entry **e, size_t n, const tel_cont *k);
    /*
     * An API call. Returns true when it completed synchronously; otherwise it
     * returns false and runs k.fn once later, from an event (never if the
     * isolate dies first). Resuming a task that died meanwhile is harmless.
     */
    bool (*call)(void *ud, rt *r, tel_call c, tel_cont k);
    /* Server kind, end of run. */
    void (*shutdown)(void *ud, rt *r, rt_isolate_info *iso);
    /* A task will never run again (its open spans die with it). */
    void (*task_ends)(void *ud, rt *r, const rt_task *t, rt_task_end why);
    /* A request ended normally (rt_host.request_ends): what only it could still flush, and
     * nothing can now, is lost (never-flushed). NULL: not wanted (no call per request). */
    void (*request_ends)(void *ud, rt *r, rt_isolate_info *iso, uint64_t request, bool timers,
                         bool cancelled);
} tel_ops;

typedef struct tel_null {
    uint64_t spans, metrics, logs, entries, calls;
} tel_null;

/* The stand-in: counts into a tel_null passed as `ud`. */
const tel_ops *tel_null_ops(void);

#endif
