#include "writer.h"

#include "ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_MAX      64  /* batches kept for reuse; more are freed */
#define GROUP_MAX     256 /* requests per transaction, at most (bounds answer latency) */
#define ACK_LINGER_NS ((int64_t)ACK_LINGER_MS * 1000000)
#define REFUSALS_MAX  4096 /* refused attempts whose rows wait for the database; more dropped */

/*
 * An attempt the database refused to record (its record or its group's commit failed): its
 * row as the client saw it, without items (their count in items_refused), kept until the
 * database takes it. Its strings are copies: the job dies with its answer.
 */
typedef struct refusal {
    store_request rec;
    char text[STORE_REQUEST_TEXT];
} refusal;

/*
 * A request's acknowledgement. Until writer_ack the job fills in `row`, on the writer's
 * thread; from writer_ack on, `node` is the ticket's place in the FIFO (rec NULL marks it an
 * ack, ticket points back here), freed by its `done` when its group is released - not
 * earlier, because a replay of that group records the ack (and maybe the job) again.
 */
struct ing_ticket {
    ing_job node;
    int64_t row; /* requests.id of the job's row; 0: none (yet, or no longer) */
    ing_ack acked;
    char ended[32]; /* "" stands for none */
};

struct ing_writer {
    ing_store *st;
    ing_policy *pol;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ing_job *head, *tail;
    size_t njobs;          /* jobs queued (acks not counted): what starts a group */
    int64_t acks_since_ns; /* monotonic time the oldest queued ack came; 0: none queued */
    bool stop;
    bool has_thread;
    pthread_t thread;
    otlp_batch *pool[POOL_MAX];
    size_t npool;
    store_stats stats; /* snapshot of committed counts, under mu */
    void (*after_group)(void *ud);
    void *ud;
    char err[256];
    refusal *refused[REFUSALS_MAX]; /* the writer thread's alone; each malloc'd */
    size_t nrefused;
    int64_t refusals_dropped;
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

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* An ack: updates its request's row, if it has one. False, like record_job, when the
 * database refused: the group is then replayed without it (the row keeps acked NULL). */
static bool record_ack(ing_writer *w, ing_job *j)
{
    const ing_ticket *t = j->ticket;
    if (t->row <= 0)
        return true;
    if (store_ack(w->st, t->row, (int)t->acked, t->ended[0] ? t->ended : NULL, w->err,
                  sizeof w->err) != ING_OK) {
        fprintf(stderr, "mock-ingest: %s\n", w->err);
        j->dropped = true;
        return false;
    }
    return true;
}

/*
 * Keeps the row of an attempt the database refused (the job's status as it will be
 * answered), so that the refusal is visible once the database takes rows again: an SDK's
 * retries of a store failure would otherwise leave no trace.
 */
static void keep_refusal(ing_writer *w, const ing_job *j)
{
    if (w->nrefused == REFUSALS_MAX) {
        w->refusals_dropped++;
        fprintf(stderr,
                "mock-ingest: %d refused attempts wait for the database already: the"
                " refusal of %s %s is not kept\n",
                REFUSALS_MAX, j->rec->method ? j->rec->method : "?",
                j->rec->path ? j->rec->path : "?");
        return;
    }
    refusal *r = malloc(sizeof *r);
    if (!r) {
        w->refusals_dropped++;
        return;
    }
    char msg[sizeof j->message + 320];
    snprintf(msg, sizeof msg, "%s (the database refused the request: %s)", j->message, w->err);
    store_request as_answered = *j->rec;
    as_answered.status = j->status;
    as_answered.reason = j->reason; /* a static string */
    as_answered.message = msg;
    store_request_copy(&r->rec, &as_answered, r->text, sizeof r->text);
    r->rec.item_reason = NULL;
    r->rec.items_refused = j->batch && !j->no_items ? (int64_t)j->batch->n : 0;
    r->rec.object = NULL; /* nothing of it is stored: a row alone */
    r->rec.notify_object = NULL;
    r->rec.waf_acts = NULL;
    r->rec.waf_nacts = 0;
    w->refused[w->nrefused] = r;
    w->nrefused++;
}

/*
 * Writes the kept refusals' rows in a transaction of their own, after a group (its answers
 * are out). All or none: while the database still refuses, they wait for the next group.
 */
static void flush_refusals(ing_writer *w)
{
    if (!w->nrefused)
        return;
    size_t i = 0;
    while (i < w->nrefused &&
           store_record(w->st, &w->refused[i]->rec, NULL, NULL, w->err, sizeof w->err) == ING_OK)
        i++;
    if (i < w->nrefused || store_commit(w->st, w->err, sizeof w->err) != ING_OK) {
        store_rollback(w->st);
        return;
    }
    for (i = 0; i < w->nrefused; i++)
        free(w->refused[i]);
    w->nrefused = 0;
}

static bool record_job(ing_writer *w, ing_job *j)
{
    if (!j->rec)
        return record_ack(w, j);
    store_request *rec = j->rec;
    if (j->ticket)
        j->ticket->row = 0; /* until its row is in: a replay or a failure may leave none */
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
            if (strcmp(v.reason, "cap") == 0) { /* 403, 429 or 503: the cap's status */
                rec->item_reason = "cap";       /* refused whole: its items are kept as evidence */
            } else {
                items = NULL;
                j->no_items = true;
            }
        }
    }
    if (store_record(w->st, rec, items, j->ticket ? &j->ticket->row : NULL, w->err,
                     sizeof w->err) != ING_OK) {
        fprintf(stderr, "mock-ingest: %s\n", w->err);
        j->dropped = true;
        j->status = 503;
        j->reason = "store_failed";
        snprintf(j->message, sizeof j->message, "could not record the request; retry");
        keep_refusal(w, j);
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
    s.refusals_pending = (int64_t)w->nrefused;
    s.refusals_dropped = w->refusals_dropped;
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
            /* Its row was rolled back, and its id will be given to a later row. */
            if (j->rec && j->ticket)
                j->ticket->row = 0;
            if (j->status >= 200 && j->status < 300) {
                j->status = 503;
                j->reason = "store_failed";
                snprintf(j->message, sizeof j->message, "could not commit; retry");
            }
            if (j->rec && !j->dropped) /* a dropped one was kept when it was dropped */
                keep_refusal(w, j);
        }
    }
    snapshot_stats(w); /* before the answers: a client that got one sees its counts */
    release(w, list);
    if (w->nrefused) {
        flush_refusals(w);
        snapshot_stats(w);
    }
#endif
    if (w->after_group)
        w->after_group(w->ud);
    return rc;
}

static ing_job *take_all(ing_writer *w)
{
    ing_job *list = w->head;
    w->head = w->tail = NULL;
    w->njobs = 0;
    w->acks_since_ns = 0;
    return list;
}

/* Under mu: whether what is queued makes a group now (stop: whatever is queued). */
static bool group_due(const ing_writer *w, bool all)
{
    if (!w->head)
        return false;
    return all || w->njobs || now_ns() - w->acks_since_ns >= ACK_LINGER_NS;
}

static void *writer_main(void *arg)
{
    ing_writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->stop && !group_due(w, false)) {
            if (!w->head) {
                pthread_cond_wait(&w->cv, &w->mu);
                continue;
            }
            /* Acks alone: wait for a job to share their group, until they are due. */
            int64_t due = w->acks_since_ns + ACK_LINGER_NS;
            struct timespec ts = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000};
            int rc = pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            (void)rc; /* ETIMEDOUT or a wake-up: group_due decides either way */
        }
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
    /* The acks' linger is timed on the monotonic clock, like acks_since_ns. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
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
    size_t n = 1;
    for (; last->next; n++)
        last = last->next;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = first;
    else
        w->head = first;
    w->tail = last;
    w->njobs += n;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int drain(ing_writer *w, bool all)
{
    pthread_mutex_lock(&w->mu);
    ing_job *list = group_due(w, all) ? take_all(w) : NULL;
    pthread_mutex_unlock(&w->mu);
    return list ? run_group(w, list) : ING_OK;
}

int writer_drain(ing_writer *w)
{
    return drain(w, false);
}

int writer_timeout_ms(ing_writer *w)
{
    pthread_mutex_lock(&w->mu);
    bool queued = w->head != NULL;
    int64_t left = !queued || w->njobs ? 0 : w->acks_since_ns + ACK_LINGER_NS - now_ns();
    pthread_mutex_unlock(&w->mu);
    if (!queued)
        return -1;
    /* Rounded up: a caller that waits this long finds them due. */
    return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

static void ticket_done(ing_job *job)
{
    free(job->ticket);
}

ing_ticket *writer_ticket_new(ing_writer *w)
{
    (void)w; /* a plain allocation: the writer keeps no list of tickets */
    return calloc(1, sizeof(ing_ticket));
}

void writer_ack(ing_writer *w, ing_ticket *t, ing_ack acked, const char *ended)
{
    if (!t)
        return;
    t->acked = acked;
    snprintf(t->ended, sizeof t->ended, "%s", ended ? ended : "");
    ing_job *n = &t->node;
    memset(n, 0, sizeof *n);
    n->ticket = t;
    n->done = ticket_done;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = n;
    else
        w->head = n;
    w->tail = n;
    /* Only the first ack of a queue without jobs wakes the thread, to time its linger;
     * otherwise a job's submit wakes it, or it is busy and takes the ack with its group. */
    if (!w->acks_since_ns) {
        w->acks_since_ns = now_ns();
        if (!w->njobs)
            pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
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
    drain(w, true);
    store_commit(w->st, w->err, sizeof w->err);
    flush_refusals(w);
}

void writer_close(ing_writer *w)
{
    if (!w)
        return;
    writer_stop(w);
    /* The database never took them: stderr is the last place their record can go. */
    for (size_t i = 0; i < w->nrefused; i++) {
        const store_request *r = &w->refused[i]->rec;
        fprintf(stderr,
                "mock-ingest: not recorded: %s %s at time_ns %lld answered %d %s, %lld items\n",
                r->method ? r->method : "?", r->path ? r->path : "?", (long long)r->time_ns,
                r->status, r->reason ? r->reason : "", (long long)r->items_refused);
        free(w->refused[i]);
    }
    for (size_t i = 0; i < w->npool; i++) {
        otlp_batch_free(w->pool[i]);
        free(w->pool[i]);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
