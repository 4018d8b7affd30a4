/*
 * A Cloudflare Queue between producers (isolates) and the ingest.
 *
 * A producer's send() hands the queue one message: telemetry items (ledger numbers and
 * their OTLP JSON fragments). The trip to the queue draws send_latency; from its arrival
 * (when send() resolves) the message is the queue's, whatever happens to the isolate that
 * sent it; if that isolate dies first, the message is lost with it (queue_isolate_died).
 * It becomes visible to the consumer delivery_delay after it arrived.
 *
 * One batched consumer, with Cloudflare's rule: visible messages wait in FIFO order, and a
 * batch goes when batch_size of them are ready, or max_wait after the first of them became
 * visible, with what is ready then. Each batch is one real OTLP/HTTP JSON POST through the
 * simulated network (net_post_direct), its payload sent for no request; batches go
 * concurrently, each on its own. A batch the ingest does not answer with a 2xx is retried
 * after retry_delay, up to max_retries more times, then its items are lost (the refusal's
 * cause, layer "queue"). A 2xx frees the batch: what the ingest recorded decides its items'
 * fates, never the queue.
 *
 * The consumer's fan-out (fan_out_messages): instead of one POST per batch, the consumer Worker
 * makes one fetch per message, and one delivery of a batch is one invocation with its
 * subrequest limit: messages past the first subrequest_limit of a batch are refused at once
 * ("Too many subrequests"), the rest POSTed together. What the consumer does with a message
 * whose fetch failed (refused, or answered with other than a 2xx) is on_error:
 *   QUEUE_ON_ERROR_ACK    it catches the error and returns: the batch is acknowledged
 *                         implicitly and those messages are gone (lost for the failure's
 *                         cause: subrequest-limit for a refusal);
 *   QUEUE_ON_ERROR_RETRY  msg.retry() for each failed one (explicit acks for the others): it
 *                         is delivered again after retry_delay, in a later batch;
 *   QUEUE_ON_ERROR_THROW  the handler throws: the whole batch is delivered again (messages
 *                         already accepted are sent again: duplicates).
 * A message is delivered at most 1 + max_retries times; then it goes to the dead-letter queue
 * (dead_letter: lost as dead-lettered, layer "dead-letter-queue": parked, never reaching the
 * ingest in the run) or is deleted (lost for its last failure's cause). A message the ingest
 * accepted once is not lost when it is later dead-lettered: its items were recorded.
 *
 * Ledger layers: "queue-send" from send() to the arrival, then "queue" until a batch's
 * answer. Everything is in virtual time; the only draws are send_latency's, from the rng
 * given, and the network's own.
 */
#ifndef SIM_QUEUE_H
#define SIM_QUEUE_H

#include "dist.h"
#include "engine.h"
#include "exporters/exporter.h"
#include "ledger.h"
#include "net.h"
#include "rng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct queue_config {
    uint32_t batch_size;       /* messages per batch at most, >= 1 (max_batch_size) */
    int64_t max_wait_ns;       /* a partial batch goes this long after its first message
                                  became visible (max_batch_timeout) */
    int64_t delivery_delay_ns; /* visible this long after it reached the queue */
    dist send_latency;         /* producer -> queue: the send() call's trip */
    uint32_t max_retries;      /* a batch not accepted is retried this many times, then lost */
    int64_t retry_delay_ns;    /* the wait before each retry */
    sdk_signal sig;            /* the payload's OTLP signal */
    const char *service;       /* resource service.name of the payloads (borrowed) */
    const char *path;      /* the ingest endpoint (borrowed); NULL: the signal's, e.g. /v1/logs */
    bool fan_out_messages; /* a fetch per message (see above); false: one POST per batch */
    uint32_t subrequest_limit; /* per delivery of a batch, with fan_out_messages; 0: none */
    int on_error;              /* a QUEUE_ON_ERROR_*, with fan_out_messages */
    bool dead_letter;          /* a dead-letter queue takes messages out of retries */
} queue_config;

enum { QUEUE_ON_ERROR_ACK, QUEUE_ON_ERROR_RETRY, QUEUE_ON_ERROR_THROW };

/* Cloudflare's defaults: batches of 10, 5 s, no delivery delay, 3 retries at once; logs. */
queue_config queue_config_default(void);

typedef struct queue queue;

/* r draws send latencies; n carries the batches; l records moves and losses. NULL on OOM. */
queue *queue_new(eng *e, rng *r, const queue_config *cfg, net *n, ledger *l);
/* After the last event: a batch still in flight must not be answered after this. */
void queue_free(queue *q);

/*
 * A producer sends one message at now_ns (>= eng_now) from isolate `isolate`: n items,
 * ids[i] with its fragment frags[i] of lens[i] bytes (all copied). Each item moves to
 * "queue-send" at now_ns and to "queue" when the message arrives. A message sent after
 * queue_end is lost at once (stranded-at-end, "queue-send"). sent (may be NULL) is called
 * once: with true when it arrives (the send() promise resolves), false if it never does.
 */
typedef void (*queue_sent)(void *ud, bool arrived);
void queue_send(queue *q, int64_t now_ns, uint64_t isolate, const uint64_t *ids,
                const char *const *frags, const uint32_t *lens, size_t n, queue_sent sent,
                void *sent_ud);
/*
 * The isolate that sent messages still on their way died at t_ns: send() had not resolved,
 * so they never reached the queue (a send is acknowledged when the queue has it, not when
 * it leaves). Their items are lost for `cause` from "queue-send".
 */
void queue_isolate_died(queue *q, uint64_t isolate, ledger_cause cause, int64_t t_ns);
/* Handles EV_QUEUE_*; false for other types. */
bool queue_handle(queue *q, const eng_event *ev);
/*
 * The run ends at t_ns: every item the queue holds - on its way in ("queue-send", on its
 * sender's isolate), waiting for its delivery delay, ready, or in a batch waiting to retry
 * ("queue") - is lost, stranded-at-end. A batch in flight is left to the network and the
 * ingest; if its answer still comes and is not a 2xx, its items are lost for that refusal,
 * without a retry. The queue's later events are ignored.
 */
void queue_end(queue *q, int64_t t_ns);

typedef struct queue_stats {
    uint64_t messages;              /* queue_send calls */
    uint64_t batches;               /* batches formed */
    uint64_t posts;                 /* POSTs made (first tries and retries) */
    uint64_t retries;               /* of them, retries */
    uint64_t items_delivered_acked; /* items in batches answered with a 2xx */
    uint64_t items_dropped;         /* items the queue reported lost (refused, stranded) */
    uint64_t fetches_refused;       /* fan-out: message fetches past the subrequest limit */
    uint64_t redeliveries;          /* fan-out: messages delivered again (retry or throw) */
    uint64_t dead_lettered;         /* messages moved to the dead-letter queue */
} queue_stats;

const queue_stats *queue_get_stats(const queue *q);

#endif
