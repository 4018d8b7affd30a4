/*
 * Fault rules (the scenario's `faults.rules`): what goes wrong, when, to whom.
 *
 * Each rule has a kind, a window in virtual time [from, until), a probability, an
 * optional "only the first N" and a target (routes, colos, isolates, paths; every list
 * given must match, an empty one matches anything). A request is judged against a rule at
 * one instant, the one at which the fault would act:
 *   - network faults (the simulator's transport applies them; the real server never sees
 *     the request): when the request leaves its sender - added latency with jitter, a
 *     bandwidth limit, connection refused, reset mid-body, a timeout with no answer, and
 *     bursty loss (Gilbert-Elliott); a partition when the request would reach the ingest
 *     (and when its answer would leave it);
 *   - ingest faults (the real server applies them, told through the X-Edgeloss-Fault
 *     header it honours only from a trusted simulator): when the request reaches the
 *     ingest - a status (429/500/502/503/504, Retry-After), 413 above a size, a slow
 *     answer, and committed-then-dropped (the data is stored, the answer never comes);
 *   - runtime faults are windows of the runtime (runtime.h rt_fault_window: memory
 *     pressure, CPU storms) and deploys; this module only names their kinds.
 *
 * Each rule draws from its own stream (derived from the run's seed and the rule's index),
 * and only for requests that match its window and target, so adding, removing or changing
 * one rule never shifts another's draws. Every fault that fires is reported to the
 * observer (the ledger's `faults` table) with its instant.
 */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include "rng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* XX(NAME, name, family) - the names are the scenario's `kind` values and the summary's
 * keys. Append only. */
#define FLT_KIND_MAP(XX)                                                                           \
    XX(LATENCY, "latency", NETWORK)                                                                \
    XX(BANDWIDTH, "bandwidth", NETWORK)                                                            \
    XX(REFUSED, "refused", NETWORK)                                                                \
    XX(RESET, "reset", NETWORK)                                                                    \
    XX(TIMEOUT, "timeout", NETWORK)                                                                \
    XX(PARTITION, "partition", NETWORK)                                                            \
    XX(LOSS, "loss", NETWORK)                                                                      \
    XX(STATUS, "status", INGEST)                                                                   \
    XX(TOO_LARGE, "too_large", INGEST)                                                             \
    XX(SLOW, "slow", INGEST)                                                                       \
    XX(DROP_ANSWER, "drop_answer", INGEST)                                                         \
    XX(DEPLOY, "deploy", RUNTIME)                                                                  \
    XX(MEMORY_PRESSURE, "memory_pressure", RUNTIME)                                                \
    XX(CPU_STORM, "cpu_storm", RUNTIME)                                                            \
    XX(KILL, "kill", RUNTIME)

typedef enum {
#define FLT_KIND_ENUM(name, str, family) FLT_##name,
    FLT_KIND_MAP(FLT_KIND_ENUM)
#undef FLT_KIND_ENUM
        FLT_KIND_COUNT
} flt_kind;

#define FLT_NONE FLT_KIND_COUNT /* no fault */

/* The families: what a sweep's --swarm switches on and off together. */
typedef enum { FLT_FAM_NETWORK, FLT_FAM_INGEST, FLT_FAM_RUNTIME, FLT_FAM_COUNT } flt_family;

const char *flt_kind_name(flt_kind k);
const char *flt_kind_family(flt_kind k);
flt_family flt_family_of(flt_kind k);
const char *flt_family_name(flt_family f); /* "network", "ingest", "runtime" */

/*
 * Swarm testing (`edgeloss sweep --swarm`, `run --swarm`): the families a seed switches
 * on, bit f for family f, each on with probability 1/2. Drawn from the seed alone, on a
 * stream of its own, so a seed switches the same families in every variant, on every
 * machine, and no other draw of the run moves.
 */
unsigned flt_swarm_on(uint64_t seed);
/* -1 when unknown. */
int flt_kind_find(const char *name);

/* The Gilbert-Elliott channel (tc netem's "loss gemodel p r 1-h 1-k"): two states, good
 * and bad; before each request the state moves (good to bad with p, bad to good with r),
 * then the request is lost with loss_bad in the bad state, loss_good in the good one.
 * In the long run it is lost with p / (p + r) * loss_bad + r / (p + r) * loss_good, and with
 * loss_bad 1 and loss_good 0 (the Gilbert model) a burst of losses lasts 1 / r requests on
 * average. */
typedef struct flt_ge {
    double p, r, loss_bad, loss_good;
} flt_ge;
/* One request through the channel (*bad: its state, false at the start): lost or not. */
bool flt_ge_step(const flt_ge *g, bool *bad, rng *draws);

typedef struct flt_rule {
    flt_kind kind;
    int64_t from_ns, until_ns; /* [from, until); until INT64_MAX: to the end of the run */
    double probability;        /* each matching request is hit with it (loss: not used) */
    uint64_t first;            /* > 0: the rule fires this many times at most ("the first N") */
    const uint32_t *routes;    /* route indices (a request's; timers and continuations have none) */
    uint32_t nroutes;
    const uint32_t *colos; /* colo indices (the sender isolate's) */
    uint32_t ncolos;
    const uint64_t *isolates; /* isolate ids (1 the first created) */
    uint32_t nisolates;
    const char *const *paths; /* prefixes of the request's path */
    uint32_t npaths;
    /* By kind: */
    int64_t latency_ns, jitter_ns; /* latency, slow: uniform in latency +- jitter, at least 0 */
    double bytes_per_s;            /* bandwidth: the body takes len / bytes_per_s more */
    int64_t after_ns;      /* timeout, partition, loss: the sender's fetch fails this long after
                              it left (0: never; the fetch hangs) */
    flt_ge ge;             /* loss */
    int status;            /* status */
    int64_t retry_after_s; /* status 429 or 503: its Retry-After (-1: none) */
    int64_t max_bytes;     /* too_large: 413 for a body larger than this */
    int64_t memory_bytes;  /* memory_pressure */
    double cpu_factor;     /* cpu_storm */
    bool off;              /* switched off by --swarm: it never applies */
} flt_rule;

/* Who a request is, for matching: route and colo -1 when it has none (a POST of no
 * isolate: a queue's consumer). */
typedef struct flt_target {
    const char *path;
    int64_t route;
    int64_t colo;
    uint64_t isolate; /* 0: none */
    uint64_t request; /* 0: none (for the observer only) */
    size_t bytes;     /* the body's size */
} flt_target;

typedef struct flt flt;

/* Called for every fault that fires: which rule, its kind, when, on whom. */
typedef void (*flt_fired_fn)(void *ud, uint32_t rule, flt_kind kind, int64_t time_ns,
                             const flt_target *t);

/* rules borrowed (the scenario's); NULL when out of memory. */
flt *flt_new(const flt_rule *rules, size_t n, uint64_t seed, flt_fired_fn fired, void *ud);
void flt_free(flt *f);
size_t flt_rules(const flt *f);
const flt_rule *flt_rule_at(const flt *f, size_t i);

/* What the network does to a request that leaves now. */
typedef struct flt_departure {
    int64_t extra_ns; /* added to its one-way trip out (latency; bandwidth, but for a refused
                         connection, which never sends its body) */
    int64_t body_ns;  /* ... of which the body's time on the wire (bandwidth) */
    flt_kind fail;    /* FLT_NONE, or REFUSED, RESET, TIMEOUT, LOSS: it never reaches the ingest */
    int64_t after_ns; /* TIMEOUT, LOSS: the fetch fails this long after it left (0: never) */
} flt_departure;
void flt_depart(flt *f, const flt_target *t, int64_t now_ns, flt_departure *out);

/* What happens to a request that reaches the ingest now (it was not failed on departure). */
typedef struct flt_arrival {
    bool partitioned; /* it does not reach it: lost as a timeout after after_ns (from its
                         departure; 0: never) */
    int64_t after_ns;
    char header[64];        /* the X-Edgeloss-Fault value to send, "" for none */
    const flt_rule *ingest; /* the rule the header names (status, too_large, drop_answer), or
                               NULL: what a stand-in for the ingest must do */
    bool drop_answer;       /* the header asks the ingest to commit and not answer */
    int64_t slow_ns;        /* the answer leaves this much later */
    bool answer_lost;       /* a partition takes the answer on its way back (header drop_answer) */
} flt_arrival;
/* For_ingest: the request goes to the ingest's OTLP paths (the only ones that act on the
 * header); other destinations get the network's faults only. */
void flt_arrive(flt *f, const flt_target *t, int64_t now_ns, bool for_ingest, flt_arrival *out);

/* How many times rule i fired. */
uint64_t flt_fired(const flt *f, size_t i);

#endif
