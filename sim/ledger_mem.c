/* The ledger's memory mode: see ledger_mem.h. */
#include "ledger_mem.h"

#include "grow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mitem {
    uint64_t request;
    uint64_t credited; /* entries: the request of the first copy credited to another one */
    int64_t first_ns;
    uint32_t copies;
    int8_t cause; /* of the last drop; -1: none */
    bool entry, mixed, known;
} mitem;

struct ledger_mem {
    mitem *items; /* by item number */
    size_t nitems, capitems;
    int64_t *ended; /* by request id: when it ended (-1: not yet) */
    size_t nreq, capreq;
    /* By request id, as `ended`: the time telemetry calls kept it waiting, before its
     * response and in its waitUntil work (requests.call_ns_* of a file ledger), and
     * whether it arrived (ids are every request's, but a table is only as long as needed). */
    int64_t *call_resp, *call_wu;
    bool *arrived;
    size_t capcall;
    uint64_t requests;
    uint64_t attempts;
    uint64_t attempt_items;
    /* The attempt being written (net writes attempt, items, status in a row). */
    uint64_t cur_attempt, cur_request;
    int64_t cur_time;
    uint64_t *cur_items;
    size_t ncur, capcur;
    int64_t call_resp_ns, call_wu_ns;
    uint64_t private_accesses;
};

ledger_mem *lm_new(void)
{
    return calloc(1, sizeof(ledger_mem));
}

void lm_free(ledger_mem *m)
{
    if (!m)
        return;
    free(m->items);
    free(m->ended);
    free(m->call_resp);
    free(m->call_wu);
    free(m->arrived);
    free(m->cur_items);
    free(m);
}

static mitem *at(ledger_mem *m, uint64_t item)
{
    while (m->nitems <= item) {
        GROW_FOR(m->items, m->nitems, m->capitems, 64);
        memset(&m->items[m->nitems], 0, sizeof *m->items);
        m->items[m->nitems].cause = -1;
        m->nitems++;
    }
    return &m->items[item];
}

void lm_item(ledger_mem *m, uint64_t item, bool entry, uint64_t request)
{
    mitem *it = at(m, item);
    it->known = true;
    it->entry = entry;
    it->request = request;
}

void lm_drop(ledger_mem *m, uint64_t item, ledger_cause cause)
{
    at(m, item)->cause = (int8_t)cause;
}

void lm_attempt(ledger_mem *m, uint64_t attempt, uint64_t request, int64_t time_ns)
{
    m->attempts++;
    m->cur_attempt = attempt;
    m->cur_request = request;
    m->cur_time = time_ns;
    m->ncur = 0;
}

void lm_attempt_items(ledger_mem *m, uint64_t attempt, const uint64_t *items, size_t n)
{
    if (attempt != m->cur_attempt)
        return;
    for (size_t i = 0; i < n; i++) {
        GROW_FOR(m->cur_items, m->ncur, m->capcur, 64);
        m->cur_items[m->ncur++] = items[i];
    }
    m->attempt_items += n;
}

void lm_attempt_status(ledger_mem *m, uint64_t attempt, int status)
{
    if (attempt != m->cur_attempt || status < 200 || status > 299)
        return;
    for (size_t i = 0; i < m->ncur; i++) {
        mitem *it = at(m, m->cur_items[i]);
        if (it->copies++ == 0 || m->cur_time < it->first_ns)
            it->first_ns = m->cur_time;
        /* The envelope credits an entry; a payload sent for no request (0) credits none. */
        if (it->entry && m->cur_request && m->cur_request != it->request && !it->mixed) {
            it->mixed = true;
            it->credited = m->cur_request;
        }
    }
    m->ncur = 0;
}

/* The per-request tables hold request ids up to `request`. */
static void requests_to(ledger_mem *m, uint64_t request)
{
    while (m->nreq <= request) {
        GROW_FOR(m->ended, m->nreq, m->capreq, 64);
        if (m->capcall < m->capreq) {
            int64_t *a = realloc(m->call_resp, m->capreq * sizeof *a);
            int64_t *b = a ? realloc(m->call_wu, m->capreq * sizeof *b) : NULL;
            bool *c = b ? realloc(m->arrived, m->capreq * sizeof *c) : NULL;
            if (a)
                m->call_resp = a;
            if (b)
                m->call_wu = b;
            if (!c)
                abort();
            m->arrived = c;
            m->capcall = m->capreq;
        }
        m->call_resp[m->nreq] = m->call_wu[m->nreq] = 0;
        m->arrived[m->nreq] = false;
        m->ended[m->nreq++] = -1;
    }
}

void lm_request(ledger_mem *m, uint64_t request, bool ended, int64_t t)
{
    requests_to(m, request);
    if (ended) {
        m->ended[request] = t;
    } else {
        m->requests++;
        m->arrived[request] = true;
    }
}

void lm_call_time(ledger_mem *m, uint64_t request, bool before_response, int64_t ns)
{
    requests_to(m, request);
    if (before_response) {
        m->call_resp_ns += ns;
        m->call_resp[request] += ns;
    } else {
        m->call_wu_ns += ns;
        m->call_wu[request] += ns;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank 99th percentile over the requests that arrived, in ms (ledger.c's
 * requests_p99 over the file's requests table); NAN when none did. */
static double requests_p99(const ledger_mem *m, const int64_t *by_request)
{
    if (!m->requests)
        return NAN;
    int64_t *v = malloc(m->requests * sizeof *v);
    if (!v)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < m->nreq; i++)
        if (m->arrived[i])
            v[n++] = by_request[i];
    qsort(v, n, sizeof *v, cmp_i64);
    double p = n ? (double)v[(n * 99 + 99) / 100 - 1] / 1e6 : NAN;
    free(v);
    return p;
}

void lm_private_access(ledger_mem *m)
{
    m->private_accesses++;
}

sim_err lm_unexplained(const ledger_mem *m, char *err, size_t errlen)
{
    for (size_t i = 1; i < m->nitems; i++) {
        const mitem *it = &m->items[i];
        if (it->known && it->copies == 0 && it->cause < 0) {
            snprintf(err, errlen,
                     "invariant violated: lost with nothing reporting the loss (cause "
                     "unexplained): item i%010zu (request %llu)",
                     i, (unsigned long long)it->request);
            return SIM_ELEDGER;
        }
    }
    return SIM_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void lm_finish(ledger_mem *m, ledger_report *out)
{
    memset(out, 0, sizeof *out);
    out->delay_p50_ms = out->delay_p95_ms = NAN;
    uint64_t *credited = malloc((m->nitems ? m->nitems : 1) * sizeof *credited);
    if (!credited)
        abort();
    size_t ncred = 0;
    for (size_t i = 1; i < m->nitems; i++) {
        const mitem *it = &m->items[i];
        if (!it->known)
            continue;
        out->items++;
        out->entries += it->entry;
        ledger_fate f;
        if (it->copies == 0) {
            f = FATE_LOST;
            out->lost_by[it->cause >= 0 ? it->cause : CAUSE_UNEXPLAINED]++;
        } else if (it->mixed) {
            f = FATE_MISATTRIBUTED;
            out->mixed_items++;
            credited[ncred++] = it->credited;
        } else if (it->copies > 1) {
            f = FATE_DUPLICATED;
        } else if (it->request < m->nreq && m->ended[it->request] >= 0 &&
                   it->first_ns > m->ended[it->request]) {
            f = FATE_LATE;
        } else {
            f = FATE_DELIVERED;
        }
        out->fate[f]++;
        if (it->copies > 1)
            out->copies_extra += it->copies - 1;
    }
    qsort(credited, ncred, sizeof *credited, cmp_u64);
    for (size_t i = 0; i < ncred; i++)
        out->mixed_requests += i == 0 || credited[i] != credited[i - 1];
    free(credited);
    out->attempts = m->attempts;
    out->items_per_post = m->attempts ? (double)m->attempt_items / (double)m->attempts : NAN;
    out->requests = m->requests;
    out->added_response_ms =
        m->requests ? (double)m->call_resp_ns / 1e6 / (double)m->requests : NAN;
    out->added_wait_until_ms =
        m->requests ? (double)m->call_wu_ns / 1e6 / (double)m->requests : NAN;
    out->added_response_p99_ms = requests_p99(m, m->call_resp);
    out->added_wait_until_p99_ms = requests_p99(m, m->call_wu);
    out->private_accesses = m->private_accesses;
    out->funnel.created = out->items;
    out->funnel.recorded = out->items - out->fate[FATE_LOST];
}
