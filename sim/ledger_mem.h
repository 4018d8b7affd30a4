/*
 * The ledger's memory mode (ledger_open_memory): the facts a verdict needs, kept in arrays,
 * and the fates decided by a join in C instead of SQL over two databases. For the
 * interleaving explorer, which runs thousands of schedules: no SQLite, no files, and no
 * ingest - the transport is absent and every POST that reaches the ingest is taken as
 * accepted (a 200), so the scenario must not configure the ingest to refuse (explore.c
 * checks). A schedule it finds is confirmed by a full run, whose ledger and ingest decide.
 *
 * What the join decides is what ledger_finish decides for the same facts: an item with no
 * accepted copy is lost (its cause from its last drop, else unexplained); an entry (kind
 * "entry") in a copy credited to another request is misattributed, spans, metrics and
 * logs never are (they carry their own request); more than one copy is duplicated; the
 * first copy after its request ended is late. It fills the report's counts (items, fates,
 * causes, entries, mixed items and requests, posts, requests, telemetry call times,
 * private accesses) and leaves the rest empty (NaN or 0: delays, exposure, evictions,
 * groups, stories). No item is unacknowledged (ledger_report.unacknowledged 0, known): with
 * no transport, every answer reaches its isolate. Used only through ledger.c.
 */
#ifndef SIM_LEDGER_MEM_H
#define SIM_LEDGER_MEM_H

#include "ledger.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ledger_mem ledger_mem;

ledger_mem *lm_new(void);
void lm_free(ledger_mem *m);
void lm_item(ledger_mem *m, uint64_t item, bool entry, uint64_t request);
void lm_drop(ledger_mem *m, uint64_t item, ledger_cause cause);
void lm_attempt(ledger_mem *m, uint64_t attempt, uint64_t request, int64_t time_ns);
void lm_attempt_items(ledger_mem *m, uint64_t attempt, const uint64_t *items, size_t n);
void lm_attempt_status(ledger_mem *m, uint64_t attempt, int status);
void lm_request(ledger_mem *m, uint64_t request, bool ended, int64_t t);
void lm_call_time(ledger_mem *m, uint64_t request, bool before_response, int64_t ns);
void lm_private_access(ledger_mem *m);
/* SIM_OK, or SIM_ELEDGER naming the first item lost with nothing reporting the loss. */
sim_err lm_unexplained(const ledger_mem *m, char *err, size_t errlen);
/* The report of the run so far (see above). */
void lm_finish(ledger_mem *m, ledger_report *out);

#endif
