/*
 * The ingest's SQLite recorder (the only SQLite user in mock-ingest).
 *
 * Writes are grouped: store_record() adds one HTTP request and its items (or
 * the object it stores, or its notification) to the open transaction
 * (starting one if needed); store_commit() makes the whole group durable.
 * Reads of objects (store_object_get) see the open group. A failed
 * store_record() leaves the group in an unknown state: the caller rolls it
 * back (store_rollback()) and records again the
 * requests it still wants (the writer replays the group without the failed
 * one), so a failure undoes that request alone. No savepoint per request:
 * each one copied every page it touched into a statement journal, ~10% of
 * the writer's time. The caller acknowledges a request only after store_commit()
 * returned ING_OK for the group that holds it. Single-threaded by contract:
 * one store is used by one thread at a time.
 */
#ifndef ING_STORE_H
#define ING_STORE_H

#include "otlp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ing_store ing_store;

/* One WAF rule that acted on a request: a row of waf_decisions. */
typedef struct store_waf_act {
    const char *rule;   /* the rule's id */
    const char *action; /* block, skip, log, rate_block */
    const char *key;    /* a rate limit's counter key; NULL: none */
    double value;       /* a rate limit's counter value, when key is set */
} store_waf_act;

/* An object a PUT /r2/KEY stores: a row of objects (the bytes as received, not decoded). */
typedef struct store_object {
    const char *key;
    const void *body;
    size_t size;
    const char *content_type;     /* as sent; NULL: none */
    const char *content_encoding; /* as sent; NULL: none */
} store_object;

/* An object as read back by store_object_get. */
typedef struct store_object_got {
    bool found;
    char *content_type;     /* malloc'd; NULL: none was stored */
    char *content_encoding; /* malloc'd; NULL: none was stored */
} store_object_got;

/* What is known about one HTTP request once it has been decided. */
typedef struct store_request {
    int64_t time_ns; /* virtual when time_virtual, else = wall_ns */
    int64_t wall_ns;
    bool time_virtual;
    const char *method;
    const char *path;
    int status;
    const char *reason;  /* NULL on full success; else a short code (cap, bad_json, ...) */
    const char *message; /* human-readable detail, may be NULL */
    const char *content_type;
    const char *content_encoding;
    int64_t bytes_wire; /* body bytes as received */
    int64_t bytes_body; /* after decompression */
    const char *api_key;
    const char *client;      /* the peer's address ("127.0.0.1"), NULL when unknown */
    const char *run;         /* X-Edgeloss-Run */
    int64_t attempt;         /* X-Edgeloss-Attempt, -1 when absent */
    const char *item_reason; /* when set, every item is stored rejected with this reason */
    /* With no batch: items the request carried that the database refused to record. They
     * count in items_received and items_rejected, with no items rows. */
    int64_t items_refused;
    const char *route; /* "waf", "origin" or NULL (README: requests.route) */
    /* A 2xx PUT /r2/KEY: the object it stores (replacing one of the same key). */
    const store_object *object;
    /* A 2xx notification: the object key it names, a row of notifications. */
    const char *notify_object;
    /* The WAF rules that acted on it, in order: its rows of waf_decisions. */
    const store_waf_act *waf_acts;
    size_t waf_nacts;
} store_request;

/* Room for a request row's strings when it is kept past its connection (store_request_copy). */
#define STORE_REQUEST_TEXT 2048

/*
 * *dst = *src, its strings copied into buf[len] (STORE_REQUEST_TEXT is enough for any row
 * but one with a very long path): the bounded fields first (the ingest's message, the
 * address, a key and a run of at most 255 bytes), what a client may make as long as it
 * likes last, so an 8 KB path is what gets cut, not the rest of the row. `reason`,
 * `item_reason` and `route` are static strings and stay as they are; the object,
 * notification and WAF acts are the caller's to keep or clear.
 */
void store_request_copy(store_request *dst, const store_request *src, char *buf, size_t len);

/* Counts of what has been committed, for GET /stats. */
#define STORE_MAX_STATUS  16
#define STORE_MAX_REASONS 16
typedef struct store_stats {
    int64_t requests;
    struct {
        int status;
        int64_t n;
    } by_status[STORE_MAX_STATUS];
    int64_t items_accepted[3]; /* by otlp_kind */
    int64_t items_rejected[3];
    struct {
        char reason[32];
        int64_t n;
    } rejected_by_reason[STORE_MAX_REASONS];
    /* Requests by requests.acked: whether the answer reached a client still connected (1),
     * did not (0), or is not known (NULL: not reported yet, or rows of an older schema). */
    struct {
        int64_t delivered, lost, unknown;
    } acks;
    /* Accepted items of 2xx requests whose answer never reached the client (acked = 0):
     * committed, while the exporter saw a failure and may send them again. */
    int64_t items_unacknowledged;
    int64_t objects;             /* stored (distinct keys) */
    int64_t object_bytes;        /* their sizes, summed */
    int64_t notifications;       /* rows of notifications */
    int64_t notifications_known; /* those whose object was stored when it was recorded */
    /* Filled in by the writer (writer.h), not the store: attempts the database refused
     * whose rows wait for it to take them, and those dropped past the writer's bound. */
    int64_t refusals_pending;
    int64_t refusals_dropped;
} store_stats;

/* The schema's CREATE statements (for tools that build the same tables). */
const char *store_schema_sql(void);

/* Opens the database, creating the file and the schema when missing. */
int store_open(const char *path, ing_store **out, char *err, size_t errlen);
void store_close(ing_store *st); /* commits what is pending */

/*
 * Adds the request (and the items of `batch`, may be NULL, and its WAF acts)
 * to the open group. Items the decoder rejected are stored with accepted = 0
 * and their reason. *id (may be NULL) gets the request's requests.id: valid once the group
 * commits (a rolled-back group's ids are given again to later rows).
 * Returns ING_OK or ING_DB (err says why): then the open group must be
 * rolled back with store_rollback() before anything else is recorded.
 */
int store_record(ing_store *st, const store_request *req, const otlp_batch *batch, int64_t *id,
                 char *err, size_t errlen);

/*
 * Records how the answer to request `id` (a requests.id store_record gave) ended, in the open
 * group: `acked` 1 (written whole to a client still connected), 0 (it was not), -1 (not known:
 * the column stays NULL) and `ended`, libmicrohttpd's word for it ("completed", "client_gone",
 * ...; NULL: none). A row already acknowledged keeps its first answer (a request has one), and
 * an id with no row changes nothing. Returns ING_OK or ING_DB, after which the open group
 * must be rolled back, as after a failed store_record.
 */
int store_ack(ing_store *st, int64_t id, int acked, const char *ended, char *err, size_t errlen);

/* Whether a group is open (something was recorded since the last commit). */
bool store_pending(const ing_store *st);

/* Commits the open group. On ING_DB the whole group is rolled back. */
int store_commit(ing_store *st, char *err, size_t errlen);

/* Drops the open group (nothing of it is kept). */
void store_rollback(ing_store *st);

/*
 * Reads the object `key` as the store holds it now, the open group included (the writer's
 * own connection: a PUT recorded earlier in the group is seen, and a GET is answered only
 * after that group commits). Found: its bytes into `body` (reset first) and its types into
 * *out (free with store_object_got_free). Returns ING_OK (found or not), ING_NOMEM or ING_DB.
 */
int store_object_get(ing_store *st, const char *key, ing_buf *body, store_object_got *out,
                     char *err, size_t errlen);
void store_object_got_free(store_object_got *g);

/*
 * Items accepted (2xx requests) with time_ns in [first_ns, last_ns] (both
 * included, so a window ending at INT64_MAX needs no bound past it), including
 * the open group: sent with API key `key`, or from client address `client`
 * (NULL: requests of unknown address).
 */
int store_accepted_by_key(ing_store *st, const char *key, int64_t first_ns, int64_t last_ns,
                          int64_t *out);
int store_accepted_by_client(ing_store *st, const char *client, int64_t first_ns, int64_t last_ns,
                             int64_t *out);

/* Committed counts. */
void store_get_stats(const ing_store *st, store_stats *out);

#endif
