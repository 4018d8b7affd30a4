#include "writer.h"

#include "ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_MAX  64  /* batches kept for reuse; more are freed */
#define GROUP_MAX 256 /* requests per transaction, at most (bounds answer latency) */

struct ing_writer {
    ing_store *st;
    ing_policy *pol;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ing_job *head, *tail;
    bool stop;
    bool has_thread;
    pthread_t thread;
    otlp_batch *pool[POOL_MAX];
    size_t npool;
    store_stats stats; /* snapshot of committed counts, under mu */
    void (*after_group)(void *ud);
    void *ud;
    char err[256];
#ifdef ING_UNSAFE_ACK_BEFORE_COMMIT
    int64_t last_commit_ns;
#endif
};

/*
 * Admission that needs the database, then the rows. Sets job->status. Runs
 * again for the same job when its group is replayed, and decides the same:
 * the policy counts from the database plus the group's earlier jobs.
 * Returns false when the database refused the rows: the job is then
 * dropped (answered 503, nothing of it kept) and the group must be replayed.
 */
/*
 * An object GET: reads the object where the job stands in the queue, and decides its status
 * (200 or 404) before its row is recorded. Runs again when the group is replayed: it reads
 * again, and a PUT dropped from the group is then not seen.
 */
static void read_object(ing_writer *w, ing_job *j)
{
    store_request *rec = j->rec;
    store_object_got_free(&j->object);
    int rc =
        store_object_get(w->st, j->get_object, j->object_body, &j->object, w->err, sizeof w->err);
    if (rc == ING_OK) {
        rec->status = j->object.found ? 200 : 404;
        rec->reason = j->object.found ? NULL : "no_such_object";
        rec->message = j->object.found ? NULL : "no such object";
        return;
    }
    /* Only the read failed: the request's row is still recorded, as a 503. */
    fprintf(stderr, "mock-ingest: %s\n", w->err);
    rec->status = 503;
    rec->reason = rc == ING_NOMEM ? "internal" : "store_failed";
    rec->message = "could not read the object; retry";
}

static bool record_job(ing_writer *w, ing_job *j)
{
    store_request *rec = j->rec;
    if (j->get_object)
        read_object(w, j);
    const otlp_batch *items = j->no_items ? NULL : j->batch;
    j->status = rec->status;
    j->reason = rec->reason;
    if (rec->message && rec->message != j->message)
        snprintf(j->message, sizeof j->message, "%s", rec->message);
    if (j->admit && j->status == 200) {
        policy_verdict v;
        int64_t accepted = (int64_t)(j->batch->n - j->batch->rejected);
        if (policy_cap(w->pol, w->st, rec->api_key, rec->client, rec->time_ns, accepted, &v)) {
            j->status = rec->status = v.status;
            j->reason = rec->reason = v.reason;
            j->retry_after_s = v.retry_after_s;
            snprintf(j->message, sizeof j->message, "%s", v.message);
            rec->message = j->message;
            if (v.status == 403) {
                rec->item_reason = "cap"; /* refused whole: its items are kept as evidence */
            } else {
                items = NULL;
                j->no_items = true;
            }
        }
    }
    if (store_record(w->st, rec, items, w->err, sizeof w->err) != ING_OK) {
        fprintf(stderr, "mock-ingest: %s\n", w->err);
        j->dropped = true;
        j->status = 503;
        j->reason = "store_failed";
        snprintf(j->message, sizeof j->message, "could not record the request; retry");
        return false;
    }
    return true;
}

/*
 * After a failed record: rolls the open group back and records again, in
 * order, the jobs from `first` up to (not including) `upto` that were not
 * dropped, until one pass succeeds (each failing pass drops one more job).
 */
static void replay(ing_writer *w, ing_job *first, ing_job *upto)
{
    for (;;) {
        store_rollback(w->st);
        policy_forget(w->pol);
        ing_job *p = first;
        while (p != upto && (p->dropped || record_job(w, p)))
            p = p->next;
        if (p == upto)
            return;
    }
}

static int commit(ing_writer *w)
{
    int rc = store_commit(w->st, w->err, sizeof w->err);
    if (rc != ING_OK) {
        fprintf(stderr, "mock-ingest: %s\n", w->err);
        policy_forget(w->pol);
    }
    return rc;
}

static void release(ing_writer *w, ing_job *list)
{
    while (list) {
        ing_job *nx = list->next;
        otlp_batch *b = list->batch;
        list->done(list); /* may free the job */
        if (b)
            writer_batch_put(w, b);
        list = nx;
    }
}

static ing_job *take_all(ing_writer *w);

static void snapshot_stats(ing_writer *w)
{
    store_stats s;
    store_get_stats(w->st, &s);
    pthread_mutex_lock(&w->mu);
    w->stats = s;
    pthread_mutex_unlock(&w->mu);
}

static int run_group(ing_writer *w, ing_job *list)
{
    /* Whatever arrives while this group is being recorded joins it: the
     * commit, not the insert, is the expensive part, so the group grows
     * exactly when the writer is the bottleneck, without ever waiting. */
    ing_job *last = NULL;
    size_t n = 0;
    for (ing_job *more = list; more && n < GROUP_MAX;) {
        for (ing_job *j = more; j; j = j->next, n++) {
            if (!record_job(w, j))
                replay(w, list, j->next);
            last = j;
        }
        pthread_mutex_lock(&w->mu);
        more = n < GROUP_MAX ? take_all(w) : NULL;
        pthread_mutex_unlock(&w->mu);
        last->next = more;
    }
    int rc = ING_OK;
#ifdef ING_UNSAFE_ACK_BEFORE_COMMIT
    /* Test-only defect: answer first, commit later, so a kill loses acknowledged items. */
    release(w, list);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (now - w->last_commit_ns > 200000000) {
        w->last_commit_ns = now;
        rc = commit(w);
    }
    snapshot_stats(w);
#else
    rc = commit(w);
    if (rc != ING_OK) {
        for (ing_job *j = list; j; j = j->next) {
            if (j->status >= 200 && j->status < 300) {
                j->status = 503;
                j->reason = "store_failed";
                snprintf(j->message, sizeof j->message, "could not commit; retry");
            }
        }
    }
    snapshot_stats(w); /* before the answers: a client that got one sees its counts */
    release(w, list);
#endif
    if (w->after_group)
        w->after_group(w->ud);
    return rc;
}

static ing_job *take_all(ing_writer *w)
{
    ing_job *list = w->head;
    w->head = w->tail = NULL;
    return list;
}

static void *writer_main(void *arg)
{
    ing_writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        ing_job *list = take_all(w);
        bool stop = w->stop;
        pthread_mutex_unlock(&w->mu);
        if (list)
            run_group(w, list);
        else if (stop)
            break;
    }
    return NULL;
}

int writer_open(ing_writer **out, ing_store *st, ing_policy *pol, bool own_thread,
                void (*after_group)(void *ud), void *ud)
{
    ing_writer *w = calloc(1, sizeof *w);
    if (!w)
        return ING_NOMEM;
    w->st = st;
    w->pol = pol;
    w->after_group = after_group;
    w->ud = ud;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    store_get_stats(st, &w->stats);
    if (own_thread) {
        if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
            writer_close(w);
            return ING_THREAD;
        }
        w->has_thread = true;
    }
    *out = w;
    return ING_OK;
}

void writer_submit(ing_writer *w, ing_job *first)
{
    if (!first)
        return;
    ing_job *last = first;
    while (last->next)
        last = last->next;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = first;
    else
        w->head = first;
    w->tail = last;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int writer_drain(ing_writer *w)
{
    pthread_mutex_lock(&w->mu);
    ing_job *list = take_all(w);
    pthread_mutex_unlock(&w->mu);
    return list ? run_group(w, list) : ING_OK;
}

otlp_batch *writer_batch_get(ing_writer *w)
{
    pthread_mutex_lock(&w->mu);
    otlp_batch *b = w->npool ? w->pool[--w->npool] : NULL;
    pthread_mutex_unlock(&w->mu);
    return b ? b : calloc(1, sizeof *b);
}

void writer_batch_put(ing_writer *w, otlp_batch *b)
{
    otlp_batch_clear(b);
    pthread_mutex_lock(&w->mu);
    if (w->npool < POOL_MAX) {
        w->pool[w->npool++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&w->mu);
    if (b) {
        otlp_batch_free(b);
        free(b);
    }
}

void writer_stats(ing_writer *w, store_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}

void writer_stop(ing_writer *w)
{
    if (w->has_thread) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        w->has_thread = false;
    }
    writer_drain(w);
    store_commit(w->st, w->err, sizeof w->err);
}

void writer_close(ing_writer *w)
{
    if (!w)
        return;
    writer_stop(w);
    for (size_t i = 0; i < w->npool; i++) {
        otlp_batch_free(w->pool[i]);
        free(w->pool[i]);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
