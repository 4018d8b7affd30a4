/*
 * Workers Logs: what the platform captures of an invocation's console output, and ships.
 *
 * A program's `log` step with `via: "console"` is a console.log of the record (its OTLP JSON
 * line) instead of a call into the SDK: the runtime captures it, not the isolate, so it
 * survives the isolate's death. Cloudflare records at most `cap_bytes` (256 KB) of log lines
 * per invocation: a line that would take the invocation past it, and every line after it, is
 * not recorded (lost, cause log-size-limit, layer "workers-logs"). Exactly the cap is kept.
 *
 * When the invocation is over - it ended, was terminated, or its isolate died under it - its
 * captured lines go to the ingest as one OTLP/HTTP JSON logs POST through the simulated
 * network, sent for no request (each record names its own request). A POST not answered with
 * a 2xx loses its items for that refusal (the platform does not retry here). Lines of an
 * invocation still open when the run ends are stranded-at-end.
 *
 * Ledger layer "workers-logs" from the line's write to the POST's answer. Single-threaded,
 * virtual time; its only draws are the network's, from the rng given.
 */
#ifndef SIM_WLOGS_H
#define SIM_WLOGS_H

#include "engine.h"
#include "ledger.h"
#include "net.h"
#include "rng.h"

#include <stddef.h>
#include <stdint.h>

/* Cloudflare's per-invocation log limit (workers/platform/limits: 256 KB). */
#define WLOGS_CAP_DEFAULT (256 * 1024)

typedef struct wlogs wlogs;

typedef struct wlogs_stats {
    uint64_t lines;         /* console.log lines written */
    uint64_t lines_dropped; /* past an invocation's cap: not recorded */
    uint64_t invocations_capped;
    uint64_t posts;
} wlogs_stats;

/* service: the payloads' resource service.name (borrowed). NULL on OOM. */
wlogs *wlogs_new(eng *e, net *n, rng *draws, ledger *l, const char *service, int64_t cap_bytes);
void wlogs_free(wlogs *w);

/* Invocation `request` on `isolate` writes item's line (frag, len bytes) at t_ns. */
void wlogs_write(wlogs *w, uint64_t request, uint64_t isolate, uint64_t item, const char *frag,
                 uint32_t len, int64_t t_ns);
/* The invocation is over at t_ns (>= the engine's now: a task's time): its captured lines are
 * shipped then. */
void wlogs_invocation_over(wlogs *w, uint64_t request, int64_t t_ns);
/* The isolate died at t_ns: every invocation of it still open is over (its lines ship). */
void wlogs_isolate_died(wlogs *w, uint64_t isolate, int64_t t_ns);
/* The run ends: what open invocations captured is stranded-at-end. */
void wlogs_end(wlogs *w, int64_t t_ns);

const wlogs_stats *wlogs_get_stats(const wlogs *w);

#endif
