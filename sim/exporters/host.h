/*
 * The exporter host's private parts, shared by host.c (the ABI's services) and send.c (the
 * host's sending and retry policy). Nothing outside sim/exporters/ includes this.
 */
#ifndef SIM_EXPORTERS_HOST_H
#define SIM_EXPORTERS_HOST_H

#include "exporter.h"

typedef struct send_op send_op;
typedef struct host_timer host_timer;

struct exp_host {
    el_host pub; /* first: the handle an exporter gets is this */
    exp_env env;
    const el_exporter *d;
    void *self;                      /* the exporter's state, d->state_size bytes */
    tel_item *held_head, *held_tail; /* what it holds, in the order it got them */
    el_call *mq_head, *mq_tail;      /* the isolate's microtask queue */
    el_call nocall;                  /* the call of a caller that does not wait */
    send_op *ops;                    /* sends in flight or waiting to retry */
    host_timer *timers;              /* the exporter's timers */
    bool dying;                      /* destroy() is running: the isolate is gone */
};

/* Items the exporter hands to the host (a send) or gets back (its answer). */
void host_unhold(exp_host *h, el_item *const *items, size_t n);
void host_hold(exp_host *h, el_item *const *items, size_t n);
/* Whether the exporter holds every one of the items, each once (what its hand-backs need). */
bool host_holds(exp_host *h, el_item *const *items, size_t n);
/* Items it holds lost for a reason of the host's (not an exporter's cause): its child died. */
void host_lose(exp_host *h, el_item *const *items, size_t n, ledger_cause cause, const char *layer);
/* Everything it holds, so lost. */
void host_lose_held(exp_host *h, ledger_cause cause, const char *layer);
/* Runs the microtask queue until it is empty: after every return from exporter code. */
void host_drain(exp_host *h);
/* The request of the running task, or 0 for a C continuation (a timer's or a response's). */
uint64_t host_running_request(const exp_host *h);

/* send.c: encodes (or takes `body`, then no retries) and POSTs the items, retrying per the
 * config; cb gets the final answer, with the items held by the exporter again. */
void send_items(exp_host *h, sdk_signal sig, el_item *const *items, size_t n, el_sent_fn cb,
                void *ud, const el_fetch_req *raw);
/* On destroy: items waiting for a retry are lost; items in flight are left to their fate. */
void send_abandon_all(exp_host *h, ledger_cause cause);

#endif
