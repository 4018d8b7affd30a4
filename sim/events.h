/*
 * Every engine event type (engine.h `type`) with its owner: the subsystem that schedules
 * it and handles it when it pops. The run loop (sim.c) dispatches by owner, so a new
 * subsystem adds an owner and its rows here and one case there, not a branch in the
 * middle of someone else's handler.
 *
 * Numbers are part of the event-log hash (and of the goldens' event logs): append only,
 * never renumber. Names are what --events prints.
 */
#ifndef SIM_EVENTS_H
#define SIM_EVENTS_H

#include <stdint.h>

typedef enum {
    EV_OWNER_NONE,
    EV_OWNER_WORKLOAD, /* arrivals (workload.h) */
    EV_OWNER_RUN,      /* the run itself: its end (sim.c) */
    EV_OWNER_RUNTIME,  /* isolates, tasks, timers, limits, faults (runtime.h) */
    EV_OWNER_NET,      /* fetches on their way (net.h) */
    EV_OWNER_QUEUE,    /* queue messages, batches and their timers (queue.h) */
    EV_OWNER_PIPELINE, /* the origin's jobs (pipeline.h) */
    EV_OWNER_COUNT
} ev_owner;

/* XX(NAME, number, printed name, owner, what a and b carry) */
#define EV_MAP(XX)                                                                                 \
    XX(ARRIVAL, 1, "arrival", WORKLOAD, "a = 0, b = arrival number")                               \
    XX(ISO_READY, 2, "isolate_ready", RUNTIME, "a = isolate slot, b = isolate id")                 \
    XX(THREAD_FREE, 3, "thread_free", RUNTIME, "a = isolate slot, b = isolate id")                 \
    XX(TASK_WAKE, 4, "task_wake", RUNTIME, "a = task slot, b = task id")                           \
    XX(TIMER, 5, "timer", RUNTIME, "a = timer slot, b = timer id")                                 \
    XX(IDLE_EVICT, 6, "idle_evict", RUNTIME, "a = isolate slot, b = isolate id")                   \
    XX(LIFETIME, 7, "lifetime", RUNTIME, "a = isolate slot, b = isolate id")                       \
    XX(DEPLOY, 8, "deploy", RUNTIME, "a = deploy index")                                           \
    XX(WU_DEADLINE, 9, "waituntil_deadline", RUNTIME, "a = request slot, b = request id")          \
    XX(END, 10, "end", RUN, "the drain period is over (b = 1: the shutdown budget is)")            \
    XX(FETCH_ARRIVE, 11, "fetch_arrive", NET, "a = fetch slot, b = fetch id: reaches its server")  \
    XX(FETCH_DONE, 12, "fetch_done", NET, "a = fetch slot, b = fetch id: the answer is back")      \
    XX(OOM, 13, "memory_limit", RUNTIME, "a = isolate slot, b = isolate id: over the limit")       \
    XX(KILL, 14, "kill", RUNTIME, "a random kill (a fault)")                                       \
    XX(RESUME, 15, "resume", RUNTIME, "a = isolate slot, b = isolate id: its paused tasks go on")  \
    XX(IDLE, 16, "idle", RUNTIME, "a = isolate slot, b = isolate id: its last request ended")      \
    XX(QUEUE_ARRIVE, 17, "queue_arrive", QUEUE, "a = message slot, b = message id: it arrives")    \
    XX(QUEUE_VISIBLE, 18, "queue_visible", QUEUE, "a = message slot, b = message id: delay over")  \
    XX(QUEUE_TIMEOUT, 19, "queue_timeout", QUEUE, "a = 0, b = timer generation: a partial batch")  \
    XX(QUEUE_RETRY, 20, "queue_retry", QUEUE,                                                      \
       "a = batch slot, b = batch id: its retry delay over")                                       \
    XX(PIPE_JOB, 21, "pipeline_job", PIPELINE, "a = job slot, b = job id: the origin takes it")    \
    XX(FAULT_START, 22, "fault_start", RUNTIME,                                                    \
       "a = fault window index: a runtime fault's window begins")                                  \
    XX(FAULT_END, 23, "fault_end", RUNTIME, "a = fault window index: it ends")                     \
    XX(FETCH_TIMEOUT, 24, "fetch_timeout", NET,                                                    \
       "a = fetch slot, b = fetch id: its sender's timeout, while it waits for a connection")      \
    XX(OBJ_IDLE, 25, "object_idle", RUNTIME,                                                       \
       "a = isolate slot, b = isolate id: a Durable Object's hibernation or idle eviction")        \
    XX(ALARM, 26, "alarm", RUNTIME,                                                                \
       "a = object key, b = alarm generation: a Durable Object alarm")                             \
    XX(DISCONNECT, 27, "disconnect", RUNTIME,                                                      \
       "a = request slot, b = request id: its client disconnects from a streamed body")

enum {
#define EV_ENUM(name, num, str, owner, what) EV_##name = num,
    EV_MAP(EV_ENUM)
#undef EV_ENUM
        EV_TYPE_COUNT
};

/* The owner of an event type (EV_OWNER_NONE for a number no row has). */
static inline ev_owner ev_owner_of(uint32_t type)
{
    static const unsigned char owners[EV_TYPE_COUNT] = {
#define EV_OWNER(name, num, str, owner, what) [num] = EV_OWNER_##owner,
        EV_MAP(EV_OWNER)
#undef EV_OWNER
    };
    return type < EV_TYPE_COUNT ? (ev_owner)owners[type] : EV_OWNER_NONE;
}

/* The types an owner has, as a bit mask (every number is below 32): the run loop tests
 * the runtime's, most events, with no table load. */
#define EV_OWNER_MASK(owner) (0u EV_MAP(EV_MASK_##owner))
#define EV_MASK_RUNTIME(name, num, str, owner, what)                                               \
    | (EV_OWNER_##owner == EV_OWNER_RUNTIME ? 1u << num : 0u)
_Static_assert(EV_TYPE_COUNT <= 32, "event types past 31: widen EV_OWNER_MASK");

static inline int ev_is_runtime(uint32_t type)
{
    return type < 32 && ((EV_OWNER_MASK(RUNTIME) >> type) & 1u);
}

/* "arrival", "task_wake", ...; "?" for an unknown type. */
const char *ev_name(uint32_t type);

#endif
