/*
 * The discrete-event engine: a virtual clock in integer nanoseconds and one
 * event queue.
 *
 * Order rule: events pop in increasing (time_ns, seq). `seq` is a counter
 * that increases with every event scheduled, so events at the same instant
 * pop in the order they were scheduled (FIFO), never by memory address or
 * anything else that could vary between runs.
 *
 * Every pop is one event: it advances the clock, counts, and is folded into
 * the run's hash (time, seq, type and ids), so moving any event by 1 ns or
 * reordering two of them changes the hash. Nothing here reads the wall clock.
 * Events cannot be cancelled: their targets carry generations and ignore
 * stale ones (which still count, deterministically).
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct eng_event {
    int64_t time_ns;
    uint64_t seq;
    uint32_t type; /* meaning owned by the runtime (runtime.h) */
    uint32_t a;    /* usually a slot index */
    uint64_t b;    /* usually an object id or generation */
} eng_event;

typedef struct eng eng;

/*
 * The latest instant the model can name: INT64_MAX / 2 ns, about 146 years. Scenario
 * values are bounded so that a run ends well before it (every duration <= DIST_MAX_NS and
 * start + duration + drain <= 3 * DIST_MAX_NS), and sums the model forms as it runs
 * (a task's CPU steps, retry backoffs, a timer after an await) saturate here with
 * eng_add: such an event lies past the run's end and never pops, which is exactly what
 * an event that late means.
 */
#define ENG_TIME_MAX (INT64_MAX / 2)

/* t + d for t, d >= 0, saturating at ENG_TIME_MAX. (An instant <= ENG_TIME_MAX plus one
 * duration <= DIST_MAX_NS cannot overflow int64: hot paths that add one draw may add.) */
static inline int64_t eng_add(int64_t t, int64_t d)
{
    return d > ENG_TIME_MAX - t ? ENG_TIME_MAX : t + d;
}

/* Called for every popped event, before it is handled (event logs, goldens). */
typedef void (*eng_observer)(void *ud, const eng_event *ev);

eng *eng_new(void); /* NULL on allocation failure */
void eng_free(eng *e);

int64_t eng_now(const eng *e);
/*
 * Schedules an event at time_ns (>= now; past ENG_TIME_MAX it never pops in a run). Returns its
 * seq, or 0 if memory ran out (the caller treats that as fatal: a lost event would be a silent
 * lie).
 */
uint64_t eng_at(eng *e, int64_t time_ns, uint32_t type, uint32_t a, uint64_t b);
/* Pops the next event into *ev and advances the clock; false when none is left. */
bool eng_pop(eng *e, eng_event *ev);
/* Time of the next event (INT64_MAX when none). */
int64_t eng_peek_time(const eng *e);

size_t eng_pending(const eng *e);
uint64_t eng_count(const eng *e);
uint64_t eng_hash(const eng *e);
/* Folds a value that is part of the run's outcome (e.g. an ingest row) into the hash. */
void eng_mix(eng *e, uint64_t x);
void eng_set_observer(eng *e, eng_observer fn, void *ud);

/* Sum of queue depths at each pop (mean depth = this / count), for benchmarks. */
uint64_t eng_depth_sum(const eng *e);

#endif
