/*
 * SQLite recorder. WAL with synchronous=NORMAL: a committed transaction
 * survives the process being killed (power loss is out of scope), and
 * commits do not wait for fsync, which keeps grouped commits cheap.
 * The schema is documented in mock-ingest/README.md; keep the two in step.
 */
#include "store.h"

#include "ingest.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2: requests.client, for keyless caps per address (a version 1 file gains it on open).
 * waf_decisions came later without a new version: the table is only added (CREATE TABLE IF
 * NOT EXISTS gives it to an older version 2 file on open) and an older binary ignores it.
 * 3: requests.route, and the tables objects and notifications (a version 1 or 2 file gains
 * them on open). A new column is a new version: a version 2 binary would write rows without
 * it, and refuses a version 3 file instead.
 * 4: requests.acked and requests.ended, whether the answer reached the client (a version 1 to
 * 3 file gains them on open; its rows keep NULL there: not known).
 * 5: the items columns span_kind to detail, the rest of what SDKs send (a version 1 to 4 file
 * gains them on open; its rows keep NULL there: not recorded). */
#define SCHEMA_VERSION 5
#define STORE_STR2(x)  #x
#define STORE_STR(x)   STORE_STR2(x)

/* The items columns version 5 added, in table order: `sep` ends each but the last. */
#define ITEMS_V5_COLUMNS(sep)                                                                      \
    "  span_kind TEXT" sep "  status_message TEXT" sep "  trace_state TEXT" sep                    \
    "  flags INTEGER" sep "  scope_version TEXT" sep "  resource TEXT" sep                         \
    "  severity_text TEXT" sep "  body_type TEXT" sep "  unit TEXT" sep "  temporality TEXT" sep   \
    "  monotonic INTEGER" sep "  detail TEXT"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS requests ("
    "  id INTEGER PRIMARY KEY,"
    "  time_ns INTEGER NOT NULL,"
    "  wall_ns INTEGER NOT NULL,"
    "  time_source TEXT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  reason TEXT,"
    "  message TEXT,"
    "  content_type TEXT,"
    "  content_encoding TEXT,"
    "  bytes_wire INTEGER NOT NULL,"
    "  bytes_body INTEGER NOT NULL,"
    "  api_key TEXT,"
    "  client TEXT,"
    "  items_received INTEGER NOT NULL,"
    "  items_accepted INTEGER NOT NULL,"
    "  items_rejected INTEGER NOT NULL,"
    "  run TEXT,"
    "  attempt INTEGER,"
    "  route TEXT,"
    "  acked INTEGER,"
    "  ended TEXT"
    ");"
    "CREATE INDEX IF NOT EXISTS requests_key_time ON requests(api_key, time_ns);"
    "CREATE INDEX IF NOT EXISTS requests_client_time ON requests(client, time_ns);"
    "CREATE TABLE IF NOT EXISTS items ("
    "  id INTEGER PRIMARY KEY,"
    "  request INTEGER NOT NULL REFERENCES requests(id),"
    "  kind TEXT NOT NULL,"
    "  accepted INTEGER NOT NULL,"
    "  reason TEXT,"
    "  time_ns INTEGER NOT NULL,"
    "  item_id TEXT,"
    "  request_id TEXT,"
    "  sent_for TEXT,"
    "  service TEXT,"
    "  scope TEXT,"
    "  name TEXT,"
    "  trace_id TEXT,"
    "  span_id TEXT,"
    "  parent_span_id TEXT,"
    "  start_ns INTEGER,"
    "  end_ns INTEGER,"
    "  metric_type TEXT,"
    "  value REAL,"
    "  count INTEGER,"
    "  severity INTEGER,"
    "  body TEXT,"
    "  attrs TEXT," ITEMS_V5_COLUMNS(
        ",") ");"
             "CREATE INDEX IF NOT EXISTS items_item_id ON items(item_id);"
             "CREATE INDEX IF NOT EXISTS items_request_id ON items(request_id);"
             "CREATE TABLE IF NOT EXISTS waf_decisions ("
             "  request INTEGER NOT NULL REFERENCES requests(id),"
             "  rule TEXT,"
             "  action TEXT,"
             "  key TEXT,"
             "  value REAL"
             ");"
             "CREATE INDEX IF NOT EXISTS waf_decisions_request ON waf_decisions(request);"
             "CREATE TABLE IF NOT EXISTS objects ("
             "  key TEXT NOT NULL PRIMARY KEY,"
             "  body BLOB NOT NULL,"
             "  content_type TEXT,"
             "  content_encoding TEXT,"
             "  size INTEGER NOT NULL,"
             "  request INTEGER NOT NULL REFERENCES requests(id),"
             "  time_ns INTEGER NOT NULL,"
             "  run TEXT"
             ");"
             "CREATE TABLE IF NOT EXISTS notifications ("
             "  request INTEGER NOT NULL REFERENCES requests(id),"
             "  object TEXT NOT NULL,"
             "  object_known INTEGER NOT NULL,"
             "  time_ns INTEGER NOT NULL,"
             "  run TEXT"
             ");"
             "CREATE INDEX IF NOT EXISTS notifications_request ON notifications(request);"
             "CREATE INDEX IF NOT EXISTS notifications_object ON notifications(object);";

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_INSERT_REQUEST,
    Q_INSERT_ITEM,
    Q_INSERT_ITEMS, /* ITEM_ROWS rows at once */
    Q_INSERT_WAF,
    Q_OBJECT_SIZE,
    Q_PUT_OBJECT,
    Q_GET_OBJECT,
    Q_INSERT_NOTIFY,
    Q_ACK,
    Q_ACCEPTED_BY_KEY,
    Q_ACCEPTED_BY_CLIENT,
    Q_COUNT
};

/*
 * Items are inserted ITEM_ROWS per statement (the rest one by one): one
 * sqlite3_step per 8 rows instead of per row took ~15% off recording a
 * request of the benchmark (8 spans). Rows are inserted in order, so ids
 * still follow arrival order.
 */
#define ITEM_COLS 34
#define ITEM_ROWS 8
#define ITEM_COLUMNS                                                                               \
    "INSERT INTO items (request, kind, accepted, reason, time_ns, item_id, request_id,"            \
    " sent_for, service, scope, name, trace_id, span_id, parent_span_id, start_ns, end_ns,"        \
    " metric_type, value, count, severity, body, attrs, span_kind, status_message, trace_state,"   \
    " flags, scope_version, resource, severity_text, body_type, unit, temporality, monotonic,"     \
    " detail) VALUES "
#define ITEM_VALUES "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

static const char *const query_sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_INSERT_REQUEST] =
        "INSERT INTO requests (time_ns, wall_ns, time_source, method, path, status, reason,"
        " message, content_type, content_encoding, bytes_wire, bytes_body, api_key, client,"
        " items_received, items_accepted, items_rejected, run, attempt, route)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [Q_INSERT_ITEM] = ITEM_COLUMNS ITEM_VALUES,
    [Q_INSERT_ITEMS] =
        ITEM_COLUMNS ITEM_VALUES "," ITEM_VALUES "," ITEM_VALUES "," ITEM_VALUES "," ITEM_VALUES
                                 "," ITEM_VALUES "," ITEM_VALUES "," ITEM_VALUES,
    [Q_INSERT_WAF] = "INSERT INTO waf_decisions (request, rule, action, key, value)"
                     " VALUES (?,?,?,?,?)",
    [Q_OBJECT_SIZE] = "SELECT size FROM objects WHERE key = ?",
    /* R2 semantics: the last writer wins, whole (the row is replaced, not merged). */
    [Q_PUT_OBJECT] = "INSERT OR REPLACE INTO objects (key, body, content_type, content_encoding,"
                     " size, request, time_ns, run) VALUES (?,?,?,?,?,?,?,?)",
    [Q_GET_OBJECT] = "SELECT body, content_type, content_encoding FROM objects WHERE key = ?",
    [Q_INSERT_NOTIFY] = "INSERT INTO notifications (request, object, object_known, time_ns, run)"
                        " VALUES (?,?,?,?,?)",
    /* By primary key, in the open group; RETURNING gives what the counts need without a
     * second statement. `acked IS NULL`: a request's first answer is the one it had. */
    [Q_ACK] = "UPDATE requests SET acked = ?, ended = ? WHERE id = ? AND acked IS NULL"
              " RETURNING status, items_accepted",
    [Q_ACCEPTED_BY_KEY] = "SELECT COALESCE(SUM(items_accepted), 0) FROM requests"
                          " WHERE api_key IS ? AND time_ns BETWEEN ? AND ?"
                          " AND status BETWEEN 200 AND 299",
    [Q_ACCEPTED_BY_CLIENT] = "SELECT COALESCE(SUM(items_accepted), 0) FROM requests"
                             " WHERE client IS ? AND time_ns BETWEEN ? AND ?"
                             " AND status BETWEEN 200 AND 299",
};

struct ing_store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    bool in_txn;
    store_stats committed;
    store_stats pending; /* what the open group adds; merged on commit */
};

const char *store_schema_sql(void)
{
    return schema_sql;
}

static int db_fail(ing_store *st, const char *what, char *err, size_t errlen)
{
    if (err)
        snprintf(err, errlen, "%s: %s", what, st && st->db ? sqlite3_errmsg(st->db) : "?");
    return ING_DB;
}

static int exec_stmt(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static void stats_add_status(store_stats *s, int status, int64_t n)
{
    for (int i = 0; i < STORE_MAX_STATUS; i++) {
        if (s->by_status[i].status == status || s->by_status[i].status == 0) {
            s->by_status[i].status = status;
            s->by_status[i].n += n;
            return;
        }
    }
    /* More distinct statuses than slots: fold into the last one as "other" (0 stays unused). */
    s->by_status[STORE_MAX_STATUS - 1].n += n;
}

static void stats_add_reason(store_stats *s, const char *reason, int64_t n)
{
    for (int i = 0; i < STORE_MAX_REASONS; i++) {
        if (s->rejected_by_reason[i].reason[0] == '\0') {
            snprintf(s->rejected_by_reason[i].reason, sizeof s->rejected_by_reason[i].reason, "%s",
                     reason);
        }
        if (strncmp(s->rejected_by_reason[i].reason, reason,
                    sizeof s->rejected_by_reason[i].reason - 1) == 0) {
            s->rejected_by_reason[i].n += n;
            return;
        }
    }
    s->rejected_by_reason[STORE_MAX_REASONS - 1].n += n;
}

static void stats_merge(store_stats *into, const store_stats *add)
{
    into->requests += add->requests;
    for (int i = 0; i < STORE_MAX_STATUS && add->by_status[i].status; i++)
        stats_add_status(into, add->by_status[i].status, add->by_status[i].n);
    for (int k = 0; k < 3; k++) {
        into->items_accepted[k] += add->items_accepted[k];
        into->items_rejected[k] += add->items_rejected[k];
    }
    for (int i = 0; i < STORE_MAX_REASONS && add->rejected_by_reason[i].reason[0]; i++)
        stats_add_reason(into, add->rejected_by_reason[i].reason, add->rejected_by_reason[i].n);
    into->objects += add->objects;
    into->object_bytes += add->object_bytes;
    into->notifications += add->notifications;
    into->notifications_known += add->notifications_known;
    into->acks.delivered += add->acks.delivered;
    into->acks.lost += add->acks.lost;
    into->acks.unknown += add->acks.unknown;
    into->items_unacknowledged += add->items_unacknowledged;
}

static int kind_index(const char *kind)
{
    return strcmp(kind, "span") == 0     ? OTLP_SPAN
           : strcmp(kind, "metric") == 0 ? OTLP_METRIC
                                         : OTLP_LOG;
}

/* The first row of `sql`'s two integer columns into *a and *b. */
static int two_ints(ing_store *st, const char *sql, int64_t *a, int64_t *b)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return SQLITE_ERROR;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *a = sqlite3_column_int64(s, 0);
        *b = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
}

static int load_object_stats(ing_store *st)
{
    store_stats *c = &st->committed;
    if (two_ints(st, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM objects", &c->objects,
                 &c->object_bytes) != SQLITE_OK)
        return SQLITE_ERROR;
    return two_ints(st, "SELECT COUNT(*), COALESCE(SUM(object_known), 0) FROM notifications",
                    &c->notifications, &c->notifications_known);
}

/* Adds n requests of this status and acked (NULL: SQLITE_NULL) holding `accepted` items. */
static void stats_add_requests(store_stats *c, int status, int acked_type, int64_t acked, int64_t n,
                               int64_t accepted)
{
    stats_add_status(c, status, n);
    c->requests += n;
    if (acked_type == SQLITE_NULL) {
        c->acks.unknown += n;
    } else if (acked) {
        c->acks.delivered += n;
    } else {
        c->acks.lost += n;
        if (status >= 200 && status < 300)
            c->items_unacknowledged += accepted;
    }
}

/* Counts what an existing database already holds, so /stats survives a restart. */
static int load_stats(ing_store *st)
{
    sqlite3_stmt *s;
    /* One scan of requests for the statuses and the acknowledgements. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT status, acked, COUNT(*), COALESCE(SUM(items_accepted), 0)"
                           " FROM requests GROUP BY status, acked",
                           -1, &s, NULL) != SQLITE_OK)
        return SQLITE_ERROR;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int acked_type = sqlite3_column_type(s, 1); /* before any conversion of the value */
        stats_add_requests(&st->committed, sqlite3_column_int(s, 0), acked_type,
                           sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
                           sqlite3_column_int64(s, 3));
    }
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(st->db,
                           "SELECT kind, accepted, reason, COUNT(*) FROM items"
                           " GROUP BY kind, accepted, reason",
                           -1, &s, NULL) != SQLITE_OK)
        return SQLITE_ERROR;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 0);
        int k = kind_index(kind ? kind : "");
        int64_t n = sqlite3_column_int64(s, 3);
        if (sqlite3_column_int(s, 1)) {
            st->committed.items_accepted[k] += n;
        } else {
            st->committed.items_rejected[k] += n;
            const char *r = (const char *)sqlite3_column_text(s, 2);
            stats_add_reason(&st->committed, r ? r : "unknown", n);
        }
    }
    sqlite3_finalize(s);
    return load_object_stats(st);
}

static bool has_table(ing_store *st, const char *name)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    return found;
}

/*
 * Creates the schema, or brings a file of an older version up to this one, in one
 * transaction: a server killed in the middle leaves the file as it was, at its old version.
 * New columns come before the schema, whose indexes on them would fail otherwise.
 */
static int set_up_schema(ing_store *st, int version, char **msg)
{
    /* Version 1 lacks requests.client; its rows keep NULL there (their address was never
     * known), so keyless caps count only newer rows. Versions 1 and 2 lack requests.route;
     * their rows keep NULL (no route was recorded; no WAF was routed around either).
     * Versions 1 to 3 lack requests.acked and ended; their rows keep NULL (not known: no
     * server recorded whether those answers reached their clients). Version 0 is a new file. */
    const char *add_client = version == 1 ? "ALTER TABLE requests ADD COLUMN client TEXT;" : "";
    const char *add_route =
        version == 1 || version == 2 ? "ALTER TABLE requests ADD COLUMN route TEXT;" : "";
    const char *add_acked = version >= 1 && version <= 3
                                ? "ALTER TABLE requests ADD COLUMN acked INTEGER;"
                                  "ALTER TABLE requests ADD COLUMN ended TEXT;"
                                : "";
    /* Versions 1 to 4 lack the items columns of the fields SDKs send beyond the first ones:
     * their rows keep NULL there (those fields were dropped). */
    const char *add_fields =
        version >= 1 && version <= 4 && has_table(st, "items")
            ? "ALTER TABLE items ADD COLUMN" ITEMS_V5_COLUMNS(";ALTER TABLE items ADD COLUMN") ";"
            : ""; /* a file without items gets it whole from the schema */
    int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, add_client, NULL, NULL, msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, add_route, NULL, NULL, msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, add_acked, NULL, NULL, msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, add_fields, NULL, NULL, msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, schema_sql, NULL, NULL, msg);
    if (rc == SQLITE_OK && version != SCHEMA_VERSION)
        rc =
            sqlite3_exec(st->db, "PRAGMA user_version=" STORE_STR(SCHEMA_VERSION), NULL, NULL, msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, msg);
    if (rc != SQLITE_OK)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_open(const char *path, ing_store **out, char *err, size_t errlen)
{
    *out = NULL;
    ing_store *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return ING_NOMEM;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open database: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : "out of memory");
        store_close(st);
        return ING_DB;
    }
    sqlite3_busy_timeout(st->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(st->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA wal_autocheckpoint=4000; PRAGMA temp_store=MEMORY;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : "cannot set up the database");
        sqlite3_free(msg);
        store_close(st);
        return ING_DB;
    }
    sqlite3_stmt *v;
    int version = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK) {
        if (sqlite3_step(v) == SQLITE_ROW)
            version = sqlite3_column_int(v, 0);
        sqlite3_finalize(v);
    }
    if (version < 0 || version > SCHEMA_VERSION) {
        snprintf(err, errlen, "%s: schema version %d, expected %d (use a fresh file)", path,
                 version, SCHEMA_VERSION);
        store_close(st);
        return ING_DB;
    }
    if (set_up_schema(st, version, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : "cannot set up schema");
        sqlite3_free(msg);
        store_close(st);
        return ING_DB;
    }
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, query_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->q[i],
                               NULL) != SQLITE_OK) {
            db_fail(st, path, err, errlen);
            store_close(st);
            return ING_DB;
        }
    }
    if (load_stats(st) != SQLITE_OK) {
        db_fail(st, path, err, errlen);
        store_close(st);
        return ING_DB;
    }
    *out = st;
    return ING_OK;
}

void store_close(ing_store *st)
{
    if (!st)
        return;
    if (st->in_txn)
        store_commit(st, NULL, 0);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(st->q[i]);
    sqlite3_close(st->db);
    free(st);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* An enum's name, or its number as sent when the protocol names none (a newer value). */
static void bind_enum(sqlite3_stmt *s, int i, int32_t v, const char *name)
{
    if (name)
        sqlite3_bind_text(s, i, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int(s, i, v);
}

/* Binds one item's ITEM_COLS values from parameter `j` on. */
static void bind_item(sqlite3_stmt *s, int j, int64_t row, const store_request *req,
                      const otlp_item *it, const char *reason)
{
    sqlite3_bind_int64(s, j++, row);
    sqlite3_bind_text(s, j++, otlp_kind_name(it->kind), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, j++, reason == NULL);
    bind_text(s, j++, reason);
    sqlite3_bind_int64(s, j++, req->time_ns);
    bind_text(s, j++, it->item_id);
    bind_text(s, j++, it->request_id);
    bind_text(s, j++, it->sent_for);
    bind_text(s, j++, it->service);
    bind_text(s, j++, it->scope);
    bind_text(s, j++, it->name);
    bind_text(s, j++, it->trace_id[0] ? it->trace_id : NULL);
    bind_text(s, j++, it->span_id[0] ? it->span_id : NULL);
    bind_text(s, j++, it->parent_span_id[0] ? it->parent_span_id : NULL);
    sqlite3_bind_int64(s, j++, it->start_ns);
    sqlite3_bind_int64(s, j++, it->end_ns);
    bind_text(s, j++, it->metric_type);
    if (it->has_value && isnan(it->value))
        sqlite3_bind_text(s, j++, "NaN", 3, SQLITE_STATIC); /* SQLite stores a NaN REAL as NULL */
    else if (it->has_value)
        sqlite3_bind_double(s, j++, it->value);
    else
        sqlite3_bind_null(s, j++);
    if (it->count >= 0)
        sqlite3_bind_int64(s, j++, it->count);
    else
        sqlite3_bind_null(s, j++);
    sqlite3_bind_int(s, j++, it->severity);
    bind_text(s, j++, it->body);
    bind_text(s, j++, it->attrs);
    if (it->kind == OTLP_SPAN)
        bind_enum(s, j++, it->span_kind, otlp_span_kind_name(it->span_kind));
    else
        sqlite3_bind_null(s, j++);
    bind_text(s, j++, it->status_message);
    bind_text(s, j++, it->trace_state);
    sqlite3_bind_int64(s, j++, it->flags);
    bind_text(s, j++, it->scope_version);
    bind_text(s, j++, it->resource);
    bind_text(s, j++, it->severity_text);
    bind_text(s, j++, it->body_type);
    bind_text(s, j++, it->unit);
    if (it->temporality >= 0)
        bind_enum(s, j++, it->temporality, otlp_temporality_name(it->temporality));
    else
        sqlite3_bind_null(s, j++);
    if (it->monotonic >= 0)
        sqlite3_bind_int(s, j++, it->monotonic);
    else
        sqlite3_bind_null(s, j++);
    bind_text(s, j++, it->detail);
}

static int insert_waf_acts(ing_store *st, int64_t row, const store_request *req)
{
    sqlite3_stmt *s = st->q[Q_INSERT_WAF];
    for (size_t i = 0; i < req->waf_nacts; i++) {
        const store_waf_act *a = &req->waf_acts[i];
        sqlite3_bind_int64(s, 1, row);
        bind_text(s, 2, a->rule);
        bind_text(s, 3, a->action);
        bind_text(s, 4, a->key);
        if (a->key)
            sqlite3_bind_double(s, 5, a->value);
        else
            sqlite3_bind_null(s, 5);
        int rc = exec_stmt(s);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

static int insert_items(ing_store *st, int64_t row, const store_request *req,
                        const otlp_batch *batch, int64_t *accepted)
{
    size_t multi_end = batch->n - batch->n % ITEM_ROWS; /* items before it go ITEM_ROWS at once */
    for (size_t i = 0; i < batch->n; i++) {
        const otlp_item *it = &batch->items[i];
        const char *reason = it->reject ? it->reject : req->item_reason;
        sqlite3_stmt *s = st->q[i < multi_end ? Q_INSERT_ITEMS : Q_INSERT_ITEM];
        int slot = i < multi_end ? (int)(i % ITEM_ROWS) : 0;
        bind_item(s, 1 + slot * ITEM_COLS, row, req, it, reason);
        if (i >= multi_end || slot == ITEM_ROWS - 1) {
            int rc = exec_stmt(s);
            if (rc != SQLITE_OK)
                return rc;
        }
        int k = (int)it->kind;
        if (reason) {
            st->pending.items_rejected[k]++;
            stats_add_reason(&st->pending, reason, 1);
        } else {
            st->pending.items_accepted[k]++;
            (*accepted)++;
        }
    }
    return SQLITE_OK;
}

/* The size of the stored object `key` into *size, or -1 when there is none. */
static int object_size(ing_store *st, const char *key, int64_t *size)
{
    sqlite3_stmt *s = st->q[Q_OBJECT_SIZE];
    bind_text(s, 1, key);
    int rc = sqlite3_step(s);
    *size = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int put_object(ing_store *st, int64_t row, const store_request *req)
{
    const store_object *o = req->object;
    int64_t old = -1; /* the size it replaces, for the counts */
    int rc = object_size(st, o->key, &old);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_stmt *s = st->q[Q_PUT_OBJECT];
    bind_text(s, 1, o->key);
    /* A NULL pointer would bind NULL, not an empty object: "" binds a zero-length blob. */
    sqlite3_bind_blob64(s, 2, o->size ? o->body : "", o->size, SQLITE_STATIC);
    bind_text(s, 3, o->content_type);
    bind_text(s, 4, o->content_encoding);
    sqlite3_bind_int64(s, 5, (int64_t)o->size);
    sqlite3_bind_int64(s, 6, row);
    sqlite3_bind_int64(s, 7, req->time_ns);
    bind_text(s, 8, req->run);
    rc = exec_stmt(s);
    sqlite3_clear_bindings(s); /* the body is the request's: no dangling pointer kept */
    if (rc != SQLITE_OK)
        return rc;
    st->pending.objects += old < 0;
    st->pending.object_bytes += (int64_t)o->size - (old < 0 ? 0 : old);
    return SQLITE_OK;
}

/*
 * object_known is decided as the row is recorded, in arrival order: a PUT that arrived
 * before the notification counts (committed earlier, or earlier in this group), one that
 * arrived after does not, even when both share a transaction - so the value does not depend
 * on how requests happened to be grouped.
 */
static int insert_notification(ing_store *st, int64_t row, const store_request *req)
{
    int64_t size = -1;
    int rc = object_size(st, req->notify_object, &size);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_stmt *s = st->q[Q_INSERT_NOTIFY];
    sqlite3_bind_int64(s, 1, row);
    bind_text(s, 2, req->notify_object);
    sqlite3_bind_int(s, 3, size >= 0);
    sqlite3_bind_int64(s, 4, req->time_ns);
    bind_text(s, 5, req->run);
    rc = exec_stmt(s);
    if (rc != SQLITE_OK)
        return rc;
    st->pending.notifications++;
    st->pending.notifications_known += size >= 0;
    return SQLITE_OK;
}

static const char *copy_into(char **pos, char *end, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if ((size_t)(end - *pos) < n + 1)
        n = end - *pos > 0 ? (size_t)(end - *pos) - 1 : 0;
    if (*pos >= end)
        return "";
    char *out = *pos;
    memcpy(out, s, n);
    out[n] = '\0';
    *pos += n + 1;
    return out;
}

void store_request_copy(store_request *dst, const store_request *src, char *buf, size_t len)
{
    *dst = *src;
    char *pos = buf, *end = buf + len;
    dst->message = copy_into(&pos, end, src->message);
    dst->client = copy_into(&pos, end, src->client);
    dst->api_key = copy_into(&pos, end, src->api_key);
    dst->run = copy_into(&pos, end, src->run);
    dst->method = copy_into(&pos, end, src->method);
    dst->content_encoding = copy_into(&pos, end, src->content_encoding);
    dst->content_type = copy_into(&pos, end, src->content_type);
    dst->path = copy_into(&pos, end, src->path);
}

int store_record(ing_store *st, const store_request *req, const otlp_batch *batch, int64_t *id,
                 char *err, size_t errlen)
{
    if (!st->in_txn) {
        if (exec_stmt(st->q[Q_BEGIN]) != SQLITE_OK)
            return db_fail(st, "begin", err, errlen);
        st->in_txn = true;
    }
    /* Counts are derived from the batch the same way insert_items stores them. */
    int64_t received = batch ? (int64_t)batch->n : req->items_refused;
    int64_t rejected = batch ? 0 : req->items_refused;
    for (size_t i = 0; batch && i < batch->n; i++)
        rejected += batch->items[i].reject != NULL || req->item_reason != NULL;
    sqlite3_stmt *s = st->q[Q_INSERT_REQUEST];
    int j = 1;
    sqlite3_bind_int64(s, j++, req->time_ns);
    sqlite3_bind_int64(s, j++, req->wall_ns);
    sqlite3_bind_text(s, j++, req->time_virtual ? "virtual" : "wall", -1, SQLITE_STATIC);
    bind_text(s, j++, req->method ? req->method : "?");
    bind_text(s, j++, req->path ? req->path : "?");
    sqlite3_bind_int(s, j++, req->status);
    bind_text(s, j++, req->reason);
    bind_text(s, j++, req->message);
    bind_text(s, j++, req->content_type);
    bind_text(s, j++, req->content_encoding);
    sqlite3_bind_int64(s, j++, req->bytes_wire);
    sqlite3_bind_int64(s, j++, req->bytes_body);
    bind_text(s, j++, req->api_key);
    bind_text(s, j++, req->client);
    sqlite3_bind_int64(s, j++, received);
    sqlite3_bind_int64(s, j++, received - rejected);
    sqlite3_bind_int64(s, j++, rejected);
    bind_text(s, j++, req->run);
    if (req->attempt >= 0)
        sqlite3_bind_int64(s, j++, req->attempt);
    else
        sqlite3_bind_null(s, j++);
    bind_text(s, j++, req->route);
    int rc = exec_stmt(s);
    int64_t accepted = 0;
    int64_t row = sqlite3_last_insert_rowid(st->db);
    bool ok2xx = req->status >= 200 && req->status < 300;
    if (rc == SQLITE_OK && req->waf_nacts)
        rc = insert_waf_acts(st, row, req);
    if (rc == SQLITE_OK && batch)
        rc = insert_items(st, row, req, batch, &accepted);
    if (rc == SQLITE_OK && req->object && ok2xx)
        rc = put_object(st, row, req);
    if (rc == SQLITE_OK && req->notify_object && ok2xx)
        rc = insert_notification(st, row, req);
    if (rc != SQLITE_OK)
        return db_fail(st, "insert", err, errlen); /* the caller rolls the group back */
    st->pending.requests++;
    st->pending.acks.unknown++; /* acked is NULL until store_ack */
    stats_add_status(&st->pending, req->status, 1);
    if (id)
        *id = row;
    return ING_OK;
}

int store_ack(ing_store *st, int64_t id, int acked, const char *ended, char *err, size_t errlen)
{
    if (!st->in_txn) {
        if (exec_stmt(st->q[Q_BEGIN]) != SQLITE_OK)
            return db_fail(st, "begin", err, errlen);
        st->in_txn = true;
    }
    sqlite3_stmt *s = st->q[Q_ACK];
    if (acked < 0)
        sqlite3_bind_null(s, 1);
    else
        sqlite3_bind_int(s, 1, acked != 0);
    bind_text(s, 2, ended);
    sqlite3_bind_int64(s, 3, id);
    int rc = sqlite3_step(s);
    int status = 0;
    int64_t accepted = 0;
    bool updated = rc == SQLITE_ROW;
    if (updated) {
        status = sqlite3_column_int(s, 0);
        accepted = sqlite3_column_int64(s, 1);
        rc = sqlite3_step(s); /* RETURNING's statement ends after its rows */
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s); /* `ended` is the caller's */
    if (rc != SQLITE_DONE)
        return db_fail(st, "acknowledgement", err, errlen); /* the caller rolls the group back */
    if (updated && acked >= 0) {
        st->pending.acks.unknown--;
        if (acked) {
            st->pending.acks.delivered++;
        } else {
            st->pending.acks.lost++;
            if (status >= 200 && status < 300)
                st->pending.items_unacknowledged += accepted;
        }
    }
    return ING_OK;
}

void store_rollback(ing_store *st)
{
    if (st->in_txn)
        exec_stmt(st->q[Q_ROLLBACK]); /* may fail if SQLite already rolled it back itself */
    st->in_txn = false;
    memset(&st->pending, 0, sizeof st->pending);
}

bool store_pending(const ing_store *st)
{
    return st->in_txn;
}

int store_commit(ing_store *st, char *err, size_t errlen)
{
    if (!st->in_txn)
        return ING_OK;
    st->in_txn = false;
    if (exec_stmt(st->q[Q_COMMIT]) != SQLITE_OK) {
        db_fail(st, "commit", err, errlen);
        exec_stmt(st->q[Q_ROLLBACK]);
        memset(&st->pending, 0, sizeof st->pending);
        return ING_DB;
    }
    stats_merge(&st->committed, &st->pending);
    memset(&st->pending, 0, sizeof st->pending);
    return ING_OK;
}

static int accepted_in(ing_store *st, int q, const char *who, int64_t first_ns, int64_t last_ns,
                       int64_t *out)
{
    sqlite3_stmt *s = st->q[q];
    bind_text(s, 1, who);
    sqlite3_bind_int64(s, 2, first_ns);
    sqlite3_bind_int64(s, 3, last_ns);
    int rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_ROW ? ING_OK : ING_DB;
}

static char *dup_column(sqlite3_stmt *s, int i, bool *oom)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    if (!t)
        return NULL;
    char *c = strdup((const char *)t);
    *oom |= c == NULL;
    return c;
}

int store_object_get(ing_store *st, const char *key, ing_buf *body, store_object_got *out,
                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ing_buf_reset(body);
    sqlite3_stmt *s = st->q[Q_GET_OBJECT];
    bind_text(s, 1, key);
    int rc = sqlite3_step(s);
    bool oom = false;
    if (rc == SQLITE_ROW) {
        out->found = true;
        const void *b = sqlite3_column_blob(s, 0);
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        oom = !ing_buf_append(body, n ? b : "", n);
        out->content_type = dup_column(s, 1, &oom);
        out->content_encoding = dup_column(s, 2, &oom);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(st, "read object", err, errlen);
    if (oom) {
        store_object_got_free(out);
        ing_buf_reset(body);
        snprintf(err, errlen, "out of memory reading the object");
        return ING_NOMEM;
    }
    return ING_OK;
}

void store_object_got_free(store_object_got *g)
{
    free(g->content_type);
    free(g->content_encoding);
    memset(g, 0, sizeof *g);
}

int store_accepted_by_key(ing_store *st, const char *key, int64_t first_ns, int64_t last_ns,
                          int64_t *out)
{
    return accepted_in(st, Q_ACCEPTED_BY_KEY, key, first_ns, last_ns, out);
}

int store_accepted_by_client(ing_store *st, const char *client, int64_t first_ns, int64_t last_ns,
                             int64_t *out)
{
    return accepted_in(st, Q_ACCEPTED_BY_CLIENT, client, first_ns, last_ns, out);
}

void store_get_stats(const ing_store *st, store_stats *out)
{
    *out = st->committed;
}
