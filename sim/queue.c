#include "queue.h"

#include "events.h"
#include "grow.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    MSG_IN_TRANSIT, /* sent, not arrived: "queue-send" */
    MSG_DELAYED,    /* arrived, its delivery delay running: "queue" */
    MSG_READY,      /* visible, waiting for its batch: "queue" */
    MSG_BATCHED,    /* its batch's: in flight, or waiting to retry */
} msg_state;

typedef struct qmsg {
    uint64_t id; /* 0: free */
    uint32_t slot;
    msg_state state;
    uint64_t isolate; /* its sender: the ledger's isolate while it travels */
    queue_sent sent;  /* told when send() settles (NULL: nobody waits) */
    void *sent_ud;
    uint32_t deliveries; /* fan-out: times it was in a delivered batch */
    bool accepted;       /* fan-out: the ingest answered a 2xx to one of its POSTs */
    int last_status;     /* fan-out: its last POST's answer (or a refusal) */
    size_t n;
    /* One allocation: n ledger numbers, n lengths, then the fragments back to back. */
    unsigned char *data;
    struct qmsg *next_free;
} qmsg;

struct qbatch;
typedef struct qpost {
    struct qbatch *b;
    uint32_t i;
} qpost;

typedef struct qbatch {
    uint64_t id; /* 0: free */
    uint32_t slot;
    uint32_t attempt; /* 1 for the first try */
    bool in_flight;
    qmsg **msgs; /* in FIFO order */
    uint32_t nmsgs;
    /* Fan-out: each message's POST (its callback's ud), answers still awaited. */
    struct qpost *posts;
    uint32_t pending;
    struct queue *q;
    struct qbatch *next_free;
} qbatch;

struct queue {
    eng *e;
    rng *rand;
    queue_config cfg;
    net *net;
    ledger *l;
    /* Messages and batches by slot, stable pointers: events name them by (slot, id), and
     * the network's callback holds its batch. */
    qmsg **msgs;
    uint32_t nmsgs, capmsgs;
    qmsg *free_msgs;
    uint64_t next_msg;
    qbatch **batches;
    uint32_t nbatches, capbatches;
    qbatch *free_batches;
    uint64_t next_batch;
    /* Visible messages not yet in a batch, oldest first: fewer than batch_size between
     * events, since a full batch leaves at once. */
    qmsg **ready;
    uint32_t nready, capready;
    /* The batch timer's generation: a QUEUE_TIMEOUT with another b is stale. */
    uint64_t timer_gen;
    bool ended;
    queue_stats stats;
};

static const char *const default_paths[SIG_COUNT] = {"/v1/traces", "/v1/metrics", "/v1/logs"};

queue_config queue_config_default(void)
{
    return (queue_config){
        .batch_size = 10,
        .max_wait_ns = 5000000000LL,
        .delivery_delay_ns = 0,
        .send_latency = dist_fixed(0),
        .max_retries = 3,
        .retry_delay_ns = 0,
        .sig = SIG_LOGS,
        .service = "edgeloss-queue",
        .path = NULL,
    };
}

queue *queue_new(eng *e, rng *r, const queue_config *cfg, net *n, ledger *l)
{
    /* A batch of nothing would never fill: the scenario validates batch_size >= 1. */
    assert(cfg->batch_size >= 1 && cfg->sig < SIG_COUNT);
    queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->e = e;
    q->rand = r;
    q->cfg = *cfg;
    if (!q->cfg.path)
        q->cfg.path = default_paths[cfg->sig];
    if (!q->cfg.service)
        q->cfg.service = "edgeloss-queue";
    q->net = n;
    q->l = l;
    q->next_msg = 1;
    q->next_batch = 1;
    return q;
}

static uint64_t *msg_ids(const qmsg *m)
{
    return (uint64_t *)m->data;
}

static uint32_t *msg_lens(const qmsg *m)
{
    return (uint32_t *)(m->data + m->n * sizeof(uint64_t));
}

static char *msg_frags(const qmsg *m)
{
    return (char *)(m->data + m->n * (sizeof(uint64_t) + sizeof(uint32_t)));
}

static void msg_release(queue *q, qmsg *m)
{
    free(m->data);
    m->data = NULL;
    m->id = 0;
    m->next_free = q->free_msgs;
    q->free_msgs = m;
}

static void batch_release(queue *q, qbatch *b)
{
    for (uint32_t i = 0; i < b->nmsgs; i++)
        if (b->msgs[i]) /* (fan-out: messages delivered again left the batch) */
            msg_release(q, b->msgs[i]);
    free(b->msgs);
    free(b->posts);
    b->posts = NULL;
    b->msgs = NULL;
    b->nmsgs = 0;
    b->id = 0;
    b->next_free = q->free_batches;
    q->free_batches = b;
}

void queue_free(queue *q)
{
    if (!q)
        return;
    for (uint32_t i = 0; i < q->nbatches; i++) {
        free(q->batches[i]->msgs);
        free(q->batches[i]->posts);
        free(q->batches[i]);
    }
    for (uint32_t i = 0; i < q->nmsgs; i++) {
        free(q->msgs[i]->data);
        free(q->msgs[i]);
    }
    free(q->batches);
    free(q->msgs);
    free(q->ready);
    free(q);
}

const queue_stats *queue_get_stats(const queue *q)
{
    return &q->stats;
}

/* Every item of m lost for `cause` at t, from `layer`. */
static void msg_drop(queue *q, const qmsg *m, int64_t t, ledger_cause cause, const char *layer,
                     uint64_t isolate)
{
    const uint64_t *ids = msg_ids(m);
    for (size_t i = 0; i < m->n; i++)
        ledger_drop(q->l, ids[i], t, cause, layer, isolate);
    q->stats.items_dropped += m->n;
}

static qmsg *msg_new(queue *q)
{
    qmsg *m = q->free_msgs;
    if (m) {
        q->free_msgs = m->next_free;
    } else {
        GROW_FOR(q->msgs, q->nmsgs, q->capmsgs, 16);
        m = calloc(1, sizeof *m);
        if (!m)
            abort();
        m->slot = q->nmsgs;
        q->msgs[q->nmsgs++] = m;
    }
    m->id = q->next_msg++;
    m->next_free = NULL;
    m->deliveries = 0;
    m->accepted = false;
    m->last_status = 0;
    return m;
}

/* send() settles: the message is the queue's (true), or it never got there (false). */
static void settle(qmsg *m, bool arrived)
{
    queue_sent cb = m->sent;
    m->sent = NULL;
    if (cb)
        cb(m->sent_ud, arrived);
}

void queue_send(queue *q, int64_t now_ns, uint64_t isolate, const uint64_t *ids,
                const char *const *frags, const uint32_t *lens, size_t n, queue_sent sent,
                void *sent_ud)
{
    q->stats.messages++;
    for (size_t i = 0; i < n; i++)
        ledger_move(q->l, ids[i], now_ns, "queue-send");
    qmsg *m = msg_new(q);
    m->state = MSG_IN_TRANSIT;
    m->isolate = isolate;
    m->sent = sent;
    m->sent_ud = sent_ud;
    m->n = n;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += lens[i];
    m->data = malloc(n * (sizeof(uint64_t) + sizeof(uint32_t)) + bytes + 1);
    if (!m->data)
        abort();
    if (n) {
        memcpy(msg_ids(m), ids, n * sizeof *ids);
        memcpy(msg_lens(m), lens, n * sizeof *lens);
    }
    char *o = msg_frags(m);
    for (size_t i = 0; i < n; i++) {
        memcpy(o, frags[i], lens[i]);
        o += lens[i];
    }
    if (q->ended) { /* no queue to arrive at any more */
        msg_drop(q, m, now_ns, CAUSE_STRANDED_AT_END, "queue-send", isolate);
        settle(m, false);
        msg_release(q, m);
        return;
    }
    int64_t at = eng_add(now_ns, dist_draw(&q->cfg.send_latency, q->rand));
    if (!eng_at(q->e, at, EV_QUEUE_ARRIVE, m->slot, m->id))
        abort();
}

static size_t batch_items(const qbatch *b)
{
    size_t n = 0;
    for (uint32_t i = 0; i < b->nmsgs; i++)
        n += b->msgs[i]->n;
    return n;
}

static void on_answer(void *ud, const net_response *resp);
static void on_message_answer(void *ud, const net_response *resp);
static void fan_out_settle(queue *q, qbatch *b);

/* Fan-out: one POST per message, the first subrequest_limit of them; the rest are refused. */
static void fan_out_post(queue *q, qbatch *b)
{
    b->posts = malloc(b->nmsgs * sizeof *b->posts);
    if (!b->posts)
        abort();
    b->pending = 0;
    b->in_flight = true;
    for (uint32_t i = 0; i < b->nmsgs; i++) {
        qmsg *m = b->msgs[i];
        m->deliveries++;
        if (q->cfg.subrequest_limit && i >= q->cfg.subrequest_limit) {
            m->last_status = NET_REFUSED_SUBREQUESTS;
            q->stats.fetches_refused++;
            continue;
        }
        const uint32_t *lens = msg_lens(m);
        const char **frags = malloc((m->n ? m->n : 1) * sizeof *frags);
        if (!frags)
            abort();
        const char *f = msg_frags(m);
        for (size_t j = 0; j < m->n; j++) {
            frags[j] = f;
            f += lens[j];
        }
        size_t len;
        char *body = exp_payload(q->cfg.service, q->cfg.sig, frags, lens, m->n, 0, &len);
        free(frags);
        b->posts[i] = (qpost){b, i};
        b->pending++;
        q->stats.posts++;
        net_post_direct(q->net, q->rand, q->cfg.path, body, len, m->deliveries, msg_ids(m), m->n,
                        on_message_answer, &b->posts[i]);
    }
    if (b->pending == 0)
        fan_out_settle(q, b);
}

/* The batch's POST, attempt b->attempt, leaves now. */
static void batch_post(queue *q, qbatch *b)
{
    if (q->cfg.fan_out_messages) {
        fan_out_post(q, b);
        return;
    }
    size_t n = batch_items(b);
    /* One block for the ledger numbers and the fragments' pointers and lengths. */
    uint64_t *ids = malloc((n ? n : 1) * (sizeof *ids + sizeof(const char *) + sizeof(uint32_t)));
    if (!ids)
        abort();
    const char **frags = (const char **)(ids + n);
    uint32_t *lens = (uint32_t *)(frags + n);
    size_t k = 0;
    for (uint32_t i = 0; i < b->nmsgs; i++) {
        const qmsg *m = b->msgs[i];
        const uint64_t *mids = msg_ids(m);
        const uint32_t *mlens = msg_lens(m);
        const char *f = msg_frags(m);
        for (size_t j = 0; j < m->n; j++, k++) {
            ids[k] = mids[j];
            frags[k] = f;
            lens[k] = mlens[j];
            f += mlens[j];
        }
    }
    size_t len;
    /* Sent for no request: each item's own edgeloss.request_id says whose it is. */
    char *body = exp_payload(q->cfg.service, q->cfg.sig, frags, lens, n, 0, &len);
    b->in_flight = true;
    q->stats.posts++;
    net_post_direct(q->net, q->rand, q->cfg.path, body, len, b->attempt, ids, n, on_answer, b);
    free(ids);
}

/* What is ready (at most batch_size messages, oldest first) leaves as one batch. */
static void dispatch(queue *q)
{
    qbatch *b = q->free_batches;
    if (b) {
        q->free_batches = b->next_free;
    } else {
        GROW_FOR(q->batches, q->nbatches, q->capbatches, 8);
        b = calloc(1, sizeof *b);
        if (!b)
            abort();
        b->slot = q->nbatches;
        q->batches[q->nbatches++] = b;
    }
    b->id = q->next_batch++;
    b->q = q;
    b->attempt = 1;
    b->next_free = NULL;
    b->nmsgs = q->nready;
    b->msgs = malloc(q->nready * sizeof *b->msgs);
    if (!b->msgs)
        abort();
    memcpy(b->msgs, q->ready, q->nready * sizeof *b->msgs);
    for (uint32_t i = 0; i < b->nmsgs; i++)
        b->msgs[i]->state = MSG_BATCHED;
    q->nready = 0;
    q->timer_gen++; /* the pending timer was this batch's */
    q->stats.batches++;
    batch_post(q, b);
}

/* Fan-out: m failed its delivery (last_status): delivered again after retry_delay, unless it
 * is out of deliveries (or the run is over): then dead-lettered or deleted. */
static void redeliver(queue *q, qmsg *m, int64_t now)
{
    if (q->ended || m->deliveries > q->cfg.max_retries) {
        if (q->cfg.dead_letter && !q->ended)
            q->stats.dead_lettered++;
        if (!m->accepted) {
            if (q->cfg.dead_letter && !q->ended)
                msg_drop(q, m, now, CAUSE_DEAD_LETTERED, "dead-letter-queue", 0);
            else
                msg_drop(q, m, now,
                         m->last_status == NET_REFUSED_SUBREQUESTS
                             ? CAUSE_SUBREQUEST_LIMIT
                             : exp_refusal_cause(m->last_status),
                         "queue", 0);
        }
        msg_release(q, m);
        return;
    }
    q->stats.redeliveries++;
    m->state = MSG_DELAYED;
    if (!eng_at(q->e, eng_add(now, q->cfg.retry_delay_ns), EV_QUEUE_VISIBLE, m->slot, m->id))
        abort();
}

/* Fan-out: every answer of a delivery is in; the consumer's handler returns (or throws). */
static void fan_out_settle(queue *q, qbatch *b)
{
    int64_t now = eng_now(q->e);
    b->in_flight = false;
    bool failed = false;
    for (uint32_t i = 0; i < b->nmsgs; i++)
        failed |= b->msgs[i]->last_status < 200 || b->msgs[i]->last_status >= 300;
    for (uint32_t i = 0; i < b->nmsgs; i++) {
        qmsg *m = b->msgs[i];
        bool ok = m->last_status >= 200 && m->last_status < 300;
        if (ok && !(failed && q->cfg.on_error == QUEUE_ON_ERROR_THROW))
            continue; /* acknowledged: released with the batch */
        if (!ok && q->cfg.on_error == QUEUE_ON_ERROR_ACK) {
            /* Caught and acknowledged: gone, for what its fetch met. */
            msg_drop(q, m, now,
                     m->last_status == NET_REFUSED_SUBREQUESTS ? CAUSE_SUBREQUEST_LIMIT
                                                               : exp_refusal_cause(m->last_status),
                     "queue", 0);
            continue;
        }
        b->msgs[i] = NULL; /* it leaves the batch: delivered again, or dead-lettered */
        redeliver(q, m, now);
    }
    batch_release(q, b);
}

static void on_message_answer(void *ud, const net_response *resp)
{
    qpost *p = ud;
    qbatch *b = p->b;
    queue *q = b->q;
    qmsg *m = b->msgs[p->i];
    m->last_status = resp->status;
    if (resp->status >= 200 && resp->status < 300) {
        m->accepted = true;
        q->stats.items_delivered_acked += m->n;
    }
    if (--b->pending == 0)
        fan_out_settle(q, b);
}

static void became_visible(queue *q, qmsg *m, int64_t t)
{
    m->state = MSG_READY;
    GROW_FOR(q->ready, q->nready, q->capready, 16);
    q->ready[q->nready++] = m;
    if (q->nready >= q->cfg.batch_size) {
        dispatch(q);
    } else if (q->nready == 1) {
        /* The first message of the next batch starts its max_batch_timeout. */
        q->timer_gen++;
        if (!eng_at(q->e, eng_add(t, q->cfg.max_wait_ns), EV_QUEUE_TIMEOUT, 0, q->timer_gen))
            abort();
    }
}

static void on_answer(void *ud, const net_response *resp)
{
    qbatch *b = ud;
    queue *q = b->q;
    b->in_flight = false;
    if (resp->status >= 200 && resp->status < 300) {
        q->stats.items_delivered_acked += batch_items(b);
        batch_release(q, b);
        return;
    }
    int64_t now = eng_now(q->e);
    if (!q->ended && b->attempt <= q->cfg.max_retries) {
        if (!eng_at(q->e, eng_add(now, q->cfg.retry_delay_ns), EV_QUEUE_RETRY, b->slot, b->id))
            abort();
        return;
    }
    /* Out of retries (or the run is over and nothing will retry it): the refusal is why. */
    ledger_cause cause = exp_refusal_cause(resp->status);
    for (uint32_t i = 0; i < b->nmsgs; i++)
        msg_drop(q, b->msgs[i], now, cause, "queue", 0);
    batch_release(q, b);
}

bool queue_handle(queue *q, const eng_event *ev)
{
    switch (ev->type) {
    case EV_QUEUE_ARRIVE:
    case EV_QUEUE_VISIBLE: {
        if (ev->a >= q->nmsgs || q->msgs[ev->a]->id != ev->b || q->ended)
            return true;
        qmsg *m = q->msgs[ev->a];
        if (ev->type == EV_QUEUE_ARRIVE) {
            assert(m->state == MSG_IN_TRANSIT);
            const uint64_t *ids = msg_ids(m);
            for (size_t i = 0; i < m->n; i++)
                ledger_move(q->l, ids[i], ev->time_ns, "queue");
            settle(m, true);
            if (q->cfg.delivery_delay_ns > 0) {
                m->state = MSG_DELAYED;
                if (!eng_at(q->e, eng_add(ev->time_ns, q->cfg.delivery_delay_ns), EV_QUEUE_VISIBLE,
                            m->slot, m->id))
                    abort();
                return true;
            }
        } else {
            assert(m->state == MSG_DELAYED);
        }
        became_visible(q, m, ev->time_ns);
        return true;
    }
    case EV_QUEUE_TIMEOUT:
        if (ev->b == q->timer_gen && q->nready && !q->ended)
            dispatch(q);
        return true;
    case EV_QUEUE_RETRY: {
        if (ev->a >= q->nbatches || q->batches[ev->a]->id != ev->b || q->ended)
            return true;
        qbatch *b = q->batches[ev->a];
        b->attempt++;
        q->stats.retries++;
        batch_post(q, b);
        return true;
    }
    default:
        return false;
    }
}

void queue_end(queue *q, int64_t t_ns)
{
    if (q->ended)
        return;
    q->ended = true;
    q->nready = 0;
    q->timer_gen++;
    /* Slot order: deterministic, and the order the drops are written in. */
    for (uint32_t i = 0; i < q->nmsgs; i++) {
        qmsg *m = q->msgs[i];
        if (!m->id || m->state == MSG_BATCHED)
            continue;
        if (m->state == MSG_IN_TRANSIT) { /* still on its sender's side of the trip */
            msg_drop(q, m, t_ns, CAUSE_STRANDED_AT_END, "queue-send", m->isolate);
            settle(m, false);
        } else
            msg_drop(q, m, t_ns, CAUSE_STRANDED_AT_END, "queue", 0);
        msg_release(q, m);
    }
    for (uint32_t i = 0; i < q->nbatches; i++) {
        qbatch *b = q->batches[i];
        if (!b->id || b->in_flight) /* in flight: the network and the ingest decide */
            continue;
        for (uint32_t k = 0; k < b->nmsgs; k++)
            msg_drop(q, b->msgs[k], t_ns, CAUSE_STRANDED_AT_END, "queue", 0);
        batch_release(q, b);
    }
}

void queue_isolate_died(queue *q, uint64_t isolate, ledger_cause cause, int64_t t_ns)
{
    for (uint32_t i = 0; i < q->nmsgs; i++) {
        qmsg *m = q->msgs[i];
        if (!m->id || m->state != MSG_IN_TRANSIT || m->isolate != isolate)
            continue;
        msg_drop(q, m, t_ns, cause, "queue-send", isolate);
        settle(m, false);
        msg_release(q, m);
    }
}
