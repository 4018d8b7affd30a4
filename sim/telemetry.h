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

typedef struct tel_ops {
    /* Per-isolate state (stored in iso->tel) and its death, with everything it holds. */
    void (*isolate_born)(void *ud, rt *r, rt_isolate_info *iso);
    void (*isolate_dies)(void *ud, rt *r, rt_isolate_info *iso, rt_evict cause);
    /* Spans nest per task; span_start returns a handle for span_end (0: none). */
    uint64_t (*span_start)(void *ud, rt *r, const char *name);
    void (*span_end)(void *ud, rt *r, uint64_t span);
    void (*metric)(void *ud, rt *r, const char *name, double value);
    void (*log)(void *ud, rt *r, const char *body, int severity);
    /* An entry appended to an isolate global (a flag-log record): its item id. */
    uint64_t (*entry)(void *ud, rt *r, const char *global);
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
