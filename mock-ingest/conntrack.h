/*
 * The connections mock-ingest holds open, and the deadlines that keep real clients from
 * starving one another (the only module that decides when a connection has taken too long).
 *
 * libmicrohttpd 0.9.75 has one timer per connection, an inactivity timeout: it closes a
 * connection idle for that long, but a client that sends one byte every few seconds is never
 * idle, and a connection beyond MHD_OPTION_CONNECTION_LIMIT waits silently in the listen
 * backlog. So the server tracks every connection here, from libmicrohttpd's connection
 * notifications, and this table decides:
 *  - which connections are over the limit: the first `limit` are served; up to `overflow` more
 *    are accepted only to be answered 503 with Retry-After and closed (a fast answer instead of
 *    a silent backlog); the daemon's own limit is limit + overflow;
 *  - which have missed a deadline: a request head not complete within `head_ns` of the
 *    connection opening or of its previous answer (`over_head_ns` for one over the limit); a body
 *    not complete within `body_ns` of its head, or arriving slower than `min_rate` bytes/s once
 *    `rate_grace_ns` into it. A request being decoded, recorded or answered has no deadline here
 *    (the inactivity timeout still bounds a client that stops reading its answer).
 *
 * Times are the caller's monotonic clock in ns: these deadlines protect the server from real
 * clients, and no result of a run depends on them (the simulator's requests arrive whole, in
 * microseconds). Single-threaded: the thread running libmicrohttpd only.
 */
#ifndef ING_CONNTRACK_H
#define ING_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ct_limits {
    unsigned limit;        /* connections served at once (>= 1) */
    unsigned overflow;     /* more accepted only to be refused */
    int64_t head_ns;       /* a request head's deadline, from the connection opening or its
                              previous answer */
    int64_t over_head_ns;  /* the same for a connection over the limit */
    int64_t body_ns;       /* a body's deadline, from its head */
    uint64_t min_rate;     /* body bytes per second at least, averaged; 0: no minimum */
    int64_t rate_grace_ns; /* how far into a body the rate is first checked */
} ct_limits;

typedef enum {
    CT_HEAD, /* waiting for a request head: idle keep-alive, or still sending headers */
    CT_BODY, /* head complete, body arriving */
    CT_BUSY, /* decoded, being recorded or answered: no deadline here */
} ct_state;

typedef enum { CT_LATE_HEAD = 1, CT_LATE_BODY, CT_SLOW_BODY } ct_late;

typedef struct ct_conn ct_conn;
struct ct_conn {
    ct_conn *prev, *next;
    int fd;
    bool over_limit; /* beyond the first `limit` when it opened: to be refused */
    bool expired;    /* a deadline passed; the caller was told once */
    ct_state state;
    int64_t since_ns; /* when the current state began */
    uint64_t body_bytes;
    void *request; /* the caller's request on it while one is in progress, else NULL */
};

typedef struct ct_table ct_table;

/* NULL when out of memory. */
ct_table *ct_new(const ct_limits *lim);
void ct_free(ct_table *t);
const ct_limits *ct_get_limits(const ct_table *t);

/* A connection accepted at now_ns; NULL when out of memory. */
ct_conn *ct_open(ct_table *t, int fd, int64_t now_ns);
void ct_close(ct_table *t, ct_conn *c);
unsigned ct_count(const ct_table *t);

/* Its request's head is complete: the body's deadline starts. */
void ct_head(ct_conn *c, int64_t now_ns);
void ct_body_bytes(ct_conn *c, size_t n);
/* Its body is complete: no deadline until it is answered. */
void ct_busy(ct_conn *c);
/* Its answer is out: waiting for the next head. */
void ct_answered(ct_conn *c, int64_t now_ns);

typedef void (*ct_late_fn)(void *ud, ct_conn *c, ct_late why);
/*
 * Calls `late` once for each connection that has missed a deadline by now_ns (marking it
 * expired); the caller closes it. Scans at most every 100 ms of now_ns, so it may be called
 * on every loop turn. Returns how many were late.
 */
unsigned ct_sweep(ct_table *t, int64_t now_ns, ct_late_fn late, void *ud);
/* Milliseconds until the next sweep is due (-1: no connection is open). */
int ct_timeout_ms(const ct_table *t, int64_t now_ns);

#endif
