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
/* Inline mode: records and commits everything submitted so far. */
int writer_drain(ing_writer *w);
/* A batch for decoding, from a pool (thread-safe); NULL on allocation failure. */
otlp_batch *writer_batch_get(ing_writer *w);
void writer_batch_put(ing_writer *w, otlp_batch *b);
/* Committed counts (thread-safe snapshot). */
void writer_stats(ing_writer *w, store_stats *out);
/*
 * Records what is queued and stops the thread: from then on the writer is inline, and what is
 * submitted later waits for writer_drain (the caller's: shutting down, the HTTP side may still
 * finish a request or two). Safe to call twice.
 */
void writer_stop(ing_writer *w);
/* writer_stop, then frees the writer. The store is the caller's to close. */
void writer_close(ing_writer *w);

#endif
