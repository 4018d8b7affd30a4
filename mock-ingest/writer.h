/*
 * The write side of mock-ingest: a FIFO of decided requests, recorded in
 * groups, one transaction per group (group commit). Admission that needs the
 * database (caps) happens here too, in arrival order, so a cap is enforced
 * against exactly what was recorded before.
 *
 * Either the writer runs its own thread (the standalone server: decoding on
 * the HTTP thread overlaps the SQLite work of the previous group), or the
 * caller drains it inline (embedded in the simulator: no thread hand-off).
 * Both run the same group code.
 *
 * Every job is recorded in submission order, and an object GET is read in that order too
 * (writer_submit, ing_job.get_object): it sees every PUT submitted before it, so a GET that
 * follows an acknowledged PUT sees it, in both modes.
 *
 * Contract: a job's `done` callback runs after the transaction holding the
 * job's rows committed (or failed: then a 2xx job is turned into 503), on the
 * writer's thread. It must not block. After `done`, the writer no longer
 * touches the job.
 *
 * Acknowledgements: whether a request's answer reached its client is known only after the
 * answer was written, long after its job's group committed. A ticket (writer_ticket_new) on
 * the job learns the id of the request's row; writer_ack then queues the outcome behind
 * every job submitted before it, and the writer updates that row (requests.acked, ended)
 * in the next group it records. An ack alone does not make a group: it rides with the next
 * job's, or is recorded alone once it has waited ACK_LINGER_MS (or at writer_stop), so that
 * acks cost one UPDATE by primary key in a transaction that commits anyway, not a commit each.
 * What is still queued when the process is killed is lost: acked stays NULL, not known.
 */
#ifndef ING_WRITER_H
#define ING_WRITER_H

#include "otlp.h"
#include "policy.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ing_job ing_job;
typedef void (*ing_job_done)(ing_job *job);

/* Opaque: one request's row, for its acknowledgement. */
typedef struct ing_ticket ing_ticket;

/* How the answer to a request ended, for requests.acked (NULL, 0, 1). */
typedef enum {
    ING_ACK_UNKNOWN = -1, /* not known: acked stays NULL */
    ING_ACK_LOST = 0,     /* not written whole to a client still connected */
    ING_ACK_DELIVERED = 1 /* written whole to a client still connected */
} ing_ack;

/* How long an ack waits for a job to share its group before it is recorded alone. */
#define ACK_LINGER_MS 20

struct ing_job {
    ing_job *next;
    store_request *rec; /* what to record; status and reason may be changed by admission */
    otlp_batch *batch;  /* decoded items, or NULL; returned to the pool after `done` */
    bool admit;         /* a decoded OTLP body: apply caps before recording */
    /*
     * An object GET: the writer reads this key before recording the request, so that the
     * read sees every PUT submitted before it (and what it answers is released only after
     * the group commits, like a 2xx): its status becomes 200 or 404, the bytes go to
     * object_body and the types to `object` (the job's owner frees them).
     */
    const char *get_object;
    ing_buf *object_body;
    store_object_got object;
    /*
     * May be NULL. When set, the writer stores in it the id of the requests row it inserts
     * for this job (again on a replay after a rollback; none when the row is dropped or its
     * group fails to commit), for the writer_ack that follows the answer. It must stay set
     * until `done`: an ack may be queued before its job was recorded, and the job fills it.
     */
    ing_ticket *ticket;
    bool no_items; /* writer: admission decided to record the request row alone */
    bool dropped;  /* writer: the database refused its rows; none are kept */
    ing_job_done done;
    void *ud;
    /* Set by the writer before `done`: */
    int status;
    const char *reason;
    char message[192];
    int64_t retry_after_s;
};

typedef struct ing_writer ing_writer;

/*
 * `after_group` (may be NULL) runs once after each group's `done` callbacks,
 * e.g. to wake the HTTP thread. With own_thread the writer starts its thread.
 */
int writer_open(ing_writer **out, ing_store *st, ing_policy *pol, bool own_thread,
                void (*after_group)(void *ud), void *ud);
/*
 * Thread-safe. Submits the jobs linked from `first` through their `next`
 * fields, in order. Wakes the writer's thread only when it is waiting. Each
 * job must stay valid until its `done` ran.
 */
void writer_submit(ing_writer *w, ing_job *first);
/*
 * Inline mode: records and commits every job submitted so far, with the acks queued among
 * them. Acks queued without a job wait for the next one's group, at most ACK_LINGER_MS; a
 * later writer_drain records them alone then (writer_stop at once).
 */
int writer_drain(ing_writer *w);
/* Inline mode: how long the caller may wait before queued acks are due for writer_drain, in
 * ms (-1: none queued; 0: due now). Jobs are the caller's to know about. Thread-safe. */
int writer_timeout_ms(ing_writer *w);
/* A ticket for a job's request (ing_job.ticket); NULL when out of memory (then the ack is
 * simply not recorded). Thread-safe. */
ing_ticket *writer_ticket_new(ing_writer *w);
/*
 * Thread-safe. Records how the answer to the ticket's request ended: `acked` and a short text
 * `ended` ("completed", "client_gone", "timeout", "read_error", "shutdown", ...; copied, cut
 * to 31 bytes; NULL: none). Queued behind every job submitted before it (so its request row
 * exists by then); the writer updates the row in its next group, then frees the ticket. A
 * ticket whose request was never recorded (no row: never submitted, dropped, or its group did
 * not commit) is freed without an update. Every ticket must be given to writer_ack exactly
 * once (NULL is fine), after its job was submitted (or instead of submitting one), and not
 * touched after.
 */
void writer_ack(ing_writer *w, ing_ticket *t, ing_ack acked, const char *ended);
/* A batch for decoding, from a pool (thread-safe); NULL on allocation failure. */
otlp_batch *writer_batch_get(ing_writer *w);
void writer_batch_put(ing_writer *w, otlp_batch *b);
/* Committed counts (thread-safe snapshot). */
void writer_stats(ing_writer *w, store_stats *out);
/*
 * Records what is queued, acks included, and stops the thread: from then on the writer is
 * inline, and what is submitted later waits for writer_drain (the caller's: shutting down, the
 * HTTP side may still finish a request or two). Safe to call twice.
 */
void writer_stop(ing_writer *w);
/* writer_stop, then frees the writer. The store is the caller's to close. */
void writer_close(ing_writer *w);

#endif
