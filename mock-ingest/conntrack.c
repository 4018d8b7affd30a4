#include "conntrack.h"

#include <assert.h>
#include <stdlib.h>

/* A sweep walks every connection; 100 ms keeps that cheap with thousands open while no
 * deadline (whole seconds) is missed by more than a tenth of a second. */
#define SWEEP_EVERY_NS 100000000LL

struct ct_table {
    ct_limits lim;
    ct_conn *head;
    unsigned n;
    int64_t next_sweep_ns; /* a sweep before this finds nothing new */
};

ct_table *ct_new(const ct_limits *lim)
{
    assert(lim->limit >= 1);
    ct_table *t = calloc(1, sizeof *t);
    if (t)
        t->lim = *lim;
    return t;
}

void ct_free(ct_table *t)
{
    if (!t)
        return;
    while (t->head)
        ct_close(t, t->head);
    free(t);
}

const ct_limits *ct_get_limits(const ct_table *t)
{
    return &t->lim;
}

unsigned ct_count(const ct_table *t)
{
    return t->n;
}

ct_conn *ct_open(ct_table *t, int fd, int64_t now_ns)
{
    ct_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->over_limit = t->n >= t->lim.limit;
    c->state = CT_HEAD;
    c->since_ns = now_ns;
    c->next = t->head;
    if (t->head)
        t->head->prev = c;
    t->head = c;
    t->n++;
    return c;
}

void ct_close(ct_table *t, ct_conn *c)
{
    if (!c)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    assert(t->n > 0);
    t->n--;
    free(c);
}

void ct_head(ct_conn *c, int64_t now_ns)
{
    c->state = CT_BODY;
    c->since_ns = now_ns;
    c->body_bytes = 0;
}

void ct_body_bytes(ct_conn *c, size_t n)
{
    c->body_bytes += n;
}

void ct_busy(ct_conn *c)
{
    c->state = CT_BUSY;
}

void ct_answered(ct_conn *c, int64_t now_ns)
{
    c->state = CT_HEAD;
    c->since_ns = now_ns;
    c->request = NULL;
}

static ct_late late_by(const ct_limits *lim, const ct_conn *c, int64_t now_ns)
{
    int64_t age = now_ns - c->since_ns;
    if (c->state == CT_HEAD) {
        int64_t limit = c->over_limit ? lim->over_head_ns : lim->head_ns;
        return age > limit ? CT_LATE_HEAD : 0;
    }
    if (c->state != CT_BODY)
        return 0;
    if (age > lim->body_ns)
        return CT_LATE_BODY;
    /* bytes / seconds < min_rate, without dividing: bytes * 1e9 < min_rate * age_ns. */
    if (lim->min_rate && age > lim->rate_grace_ns &&
        (double)c->body_bytes * 1e9 < (double)lim->min_rate * (double)age)
        return CT_SLOW_BODY;
    return 0;
}

unsigned ct_sweep(ct_table *t, int64_t now_ns, ct_late_fn late, void *ud)
{
    if (now_ns < t->next_sweep_ns)
        return 0;
    t->next_sweep_ns = now_ns + SWEEP_EVERY_NS;
    unsigned nlate = 0;
    for (ct_conn *c = t->head, *next; c; c = next) {
        next = c->next; /* `late` may close it */
        if (c->expired)
            continue;
        ct_late why = late_by(&t->lim, c, now_ns);
        if (why) {
            c->expired = true;
            nlate++;
            late(ud, c, why);
        }
    }
    return nlate;
}

int ct_timeout_ms(const ct_table *t, int64_t now_ns)
{
    if (!t->n)
        return -1;
    int64_t wait = t->next_sweep_ns - now_ns;
    if (wait <= 0)
        return 0;
    return (int)((wait + 999999) / 1000000);
}
