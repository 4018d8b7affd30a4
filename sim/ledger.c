#include "ledger.h"
#include "ledger_mem.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ledger_fate_name(ledger_fate f)
{
    switch (f) {
#define LEDGER_FATE_NAME(name, text)                                                               \
    case FATE_##name:                                                                              \
        return text;
        LEDGER_FATE_MAP(LEDGER_FATE_NAME)
#undef LEDGER_FATE_NAME
    default:
        return "?";
    }
}

const char *ledger_cause_name(ledger_cause c)
{
    switch (c) {
#define LEDGER_CAUSE_NAME(name, text)                                                              \
    case CAUSE_##name:                                                                             \
        return text;
        LEDGER_CAUSE_MAP(LEDGER_CAUSE_NAME)
#undef LEDGER_CAUSE_NAME
    default:
        return "?";
    }
}

ledger_cause ledger_cause_of_death(int rt_cause)
{
    return rt_cause == RT_END_OF_RUN ? CAUSE_STRANDED_AT_END : CAUSE_EVICTED_IN_BUFFER;
}

int ledger_cause_find(const char *name)
{
    for (int c = 0; c < CAUSE_COUNT; c++)
        if (strcmp(ledger_cause_name((ledger_cause)c), name) == 0)
            return c;
    return -1;
}

static const char schema[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE requests (id INTEGER PRIMARY KEY, isolate INTEGER, arrived_ns INTEGER,"
    " responded_ns INTEGER, ended_ns INTEGER, outcome TEXT, route INTEGER, colo INTEGER,"
    " flush_in_wait_until INTEGER NOT NULL DEFAULT 0,"
    " call_ns_before_response INTEGER NOT NULL DEFAULT 0,"
    " call_ns_wait_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE isolates (id INTEGER PRIMARY KEY, created_ns INTEGER, died_ns INTEGER,"
    " cause TEXT, requests INTEGER);"
    "CREATE TABLE items (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " name TEXT, request INTEGER, isolate INTEGER, created_ns INTEGER, bytes INTEGER);"
    "CREATE INDEX items_item_id ON items(item_id);"
    "CREATE TABLE moves (item INTEGER NOT NULL, time_ns INTEGER, layer TEXT);"
    "CREATE TABLE drops (item INTEGER NOT NULL, time_ns INTEGER, cause TEXT, layer TEXT,"
    " isolate INTEGER, note TEXT);"
    "CREATE INDEX drops_item ON drops(item);"
    "CREATE TABLE attempts (id INTEGER PRIMARY KEY, time_ns INTEGER, path TEXT, attempt INTEGER,"
    " request INTEGER, isolate INTEGER, bytes INTEGER, items INTEGER, status INTEGER,"
    " sent_ns INTEGER, hop TEXT, ref TEXT);"
    "CREATE TABLE attempt_items (attempt INTEGER NOT NULL, item INTEGER NOT NULL);"
    "CREATE TABLE private_access (request INTEGER, time_ns INTEGER);"
    "CREATE TABLE faults (time_ns INTEGER, rule INTEGER, kind TEXT, request INTEGER,"
    " isolate INTEGER, path TEXT);";

enum {
    S_META,
    S_ITEM,
    S_MOVE,
    S_DROP,
    S_ATTEMPT,
    S_ATTEMPT_ITEM,
    S_ATTEMPT_STATUS,
    S_MOVE8, /* eight rows a statement: batches move together */
    S_ATTEMPT_ITEM8,
    S_REQ_NEW,
    S_REQ_RESPONDED,
    S_REQ_ENDED,
    S_ISO_NEW,
    S_ISO_DIED,
    S_PRIVATE,
    S_FLUSH_WU,
    S_CALL_RESP,
    S_CALL_WU,
    S_ATTEMPT_HOP,
    S_FAULT,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_META] = "INSERT OR REPLACE INTO meta VALUES (?, ?)",
    [S_ITEM] = "INSERT INTO items (id, item_id, kind, name, request, isolate, created_ns, bytes)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [S_MOVE] = "INSERT INTO moves VALUES (?, ?, ?)",
    [S_DROP] = "INSERT INTO drops VALUES (?, ?, ?, ?, ?, ?)",
    [S_ATTEMPT] =
        "INSERT INTO attempts (id, time_ns, path, attempt, request, isolate, bytes, items,"
        " sent_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [S_ATTEMPT_ITEM] = "INSERT INTO attempt_items VALUES (?, ?)",
    [S_MOVE8] = "INSERT INTO moves VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?),"
                " (?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?)",
    [S_ATTEMPT_ITEM8] = "INSERT INTO attempt_items VALUES (?, ?), (?, ?), (?, ?), (?, ?),"
                        " (?, ?), (?, ?), (?, ?), (?, ?)",
    [S_ATTEMPT_STATUS] = "UPDATE attempts SET status = ? WHERE id = ?",
    [S_REQ_NEW] =
        "INSERT INTO requests (id, isolate, arrived_ns, route, colo) VALUES (?, ?, ?, ?, ?)",
    [S_REQ_RESPONDED] = "UPDATE requests SET responded_ns = ? WHERE id = ?",
    [S_REQ_ENDED] = "UPDATE requests SET ended_ns = ?, outcome = ? WHERE id = ?",
    [S_ISO_NEW] = "INSERT INTO isolates (id, created_ns, requests) VALUES (?, ?, 0)",
    [S_ISO_DIED] = "UPDATE isolates SET died_ns = ?, cause = ?, requests = ? WHERE id = ?",
    [S_PRIVATE] = "INSERT INTO private_access VALUES (?, ?)",
    [S_FLUSH_WU] = "UPDATE requests SET flush_in_wait_until = 1 WHERE id = ?",
    [S_CALL_RESP] = "UPDATE requests SET call_ns_before_response = call_ns_before_response + ?"
                    " WHERE id = ?",
    [S_CALL_WU] = "UPDATE requests SET call_ns_wait_until = call_ns_wait_until + ? WHERE id = ?",
    [S_ATTEMPT_HOP] = "UPDATE attempts SET hop = ?, ref = ? WHERE id = ?",
    [S_FAULT] = "INSERT INTO faults VALUES (?, ?, ?, ?, ?, ?)",
};

struct pending_move {
    uint64_t item;
    int64_t time_ns;
    char layer[24];
};

struct ledger {
    sqlite3 *db;
    sqlite3_stmt *s[S_COUNT];
    struct pending_move pend[8];
    int npend;
    bool placed;                      /* a request's route and colo were seen */
    uint32_t route0, colo0;           /* the first request's */
    uint32_t route, colo;             /* the arriving request's (placed comes first) */
    bool routes_differ, colos_differ; /* some request had another */
    uint64_t next_item;
    uint64_t next_attempt;
    /* The largest time written to items.created_ns, attempts.time_ns, isolates.died_ns or
     * requests.ended_ns (each is written once per row): the run's end for the report. */
    int64_t end_ns;
    char path[1024];
    ledger_mem *mem;                 /* memory mode (ledger_open_memory): no database */
    uint64_t faults[FLT_KIND_COUNT]; /* fired, by kind (both modes) */
    uint64_t fault_rule_fired[LEDGER_FAULT_RULES]; /* ... by rule */
};

static void step(ledger *l, sqlite3_stmt *s)
{
    if (sqlite3_step(s) != SQLITE_DONE) {
        /* The ledger is the ground truth: a lost row would be a silent lie. */
        fprintf(stderr, "edgeloss: ledger write failed: %s\n", sqlite3_errmsg(l->db));
        abort();
    }
    sqlite3_reset(s);
}

/* Binds the arguments described by `fmt` (i: int64, t: text or NULL) and steps. */
static void run(ledger *l, int which, const char *fmt, ...)
{
    sqlite3_stmt *s = l->s[which];
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 'i') {
            sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
        } else if (fmt[i] == 'I') { /* an int, NULL when negative */
            int64_t v = va_arg(ap, int64_t);
            if (v >= 0)
                sqlite3_bind_int64(s, i + 1, v);
            else
                sqlite3_bind_null(s, i + 1);
        } else {
            const char *t = va_arg(ap, const char *);
            if (t)
                sqlite3_bind_text(s, i + 1, t, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(s, i + 1);
        }
    }
    va_end(ap);
    step(l, s);
}

sim_err ledger_open(const char *path, ledger **out, char *err, size_t errlen)
{
    *out = NULL;
    ledger *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return SIM_ELEDGER;
    }
    snprintf(l->path, sizeof l->path, "%s", path);
    /* A fresh file each run. */
    remove(path);
    char side[1100];
    snprintf(side, sizeof side, "%s-journal", path);
    remove(side);
    if (sqlite3_open_v2(path, &l->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_exec(l->db,
                     "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-131072;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(l->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot create the ledger: %s", path,
                 l->db ? sqlite3_errmsg(l->db) : "out of memory");
        ledger_close(l);
        return SIM_ELEDGER;
    }
    for (int i = 0; i < S_COUNT; i++) {
        if (sqlite3_prepare_v2(l->db, stmt_sql[i], -1, &l->s[i], NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(l->db));
            ledger_close(l);
            return SIM_ELEDGER;
        }
    }
    l->next_item = l->next_attempt = 1;
    *out = l;
    return 0;
}

sim_err ledger_open_memory(ledger **out, char *err, size_t errlen)
{
    *out = NULL;
    ledger *l = calloc(1, sizeof *l);
    if (!l || !(l->mem = lm_new())) {
        free(l);
        snprintf(err, errlen, "out of memory");
        return SIM_ELEDGER;
    }
    l->next_item = l->next_attempt = 1;
    *out = l;
    return SIM_OK;
}

bool ledger_in_memory(const ledger *l)
{
    return l->mem != NULL;
}

static void moves_flush(ledger *l);

void ledger_close(ledger *l)
{
    if (!l)
        return;
    lm_free(l->mem);
    if (l->s[S_MOVE] && l->s[S_MOVE8])
        moves_flush(l);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(l->s[i]);
    if (l->db) {
        sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(l->db);
    }
    free(l);
}

void ledger_meta(ledger *l, const char *key, const char *value)
{
    if (l->mem)
        return;
    run(l, S_META, "tt", key, value);
}

uint64_t ledger_item_number(ledger *l)
{
    return l->next_item++;
}

void ledger_item_row(ledger *l, uint64_t item, const char *kind, const char *name, uint64_t request,
                     uint64_t isolate, int64_t time_ns, uint32_t bytes)
{
    char id[24];
    if (time_ns > l->end_ns)
        l->end_ns = time_ns;
    if (l->mem) {
        lm_item(l->mem, item, strcmp(kind, "entry") == 0, request);
        return;
    }
    snprintf(id, sizeof id, "i%010" PRIu64, item);
    run(l, S_ITEM, "itttiiii", (int64_t)item, id, kind, name, (int64_t)request, (int64_t)isolate,
        time_ns, (int64_t)bytes);
}

uint64_t ledger_item(ledger *l, const char *kind, const char *name, uint64_t request,
                     uint64_t isolate, int64_t time_ns)
{
    uint64_t n = ledger_item_number(l);
    ledger_item_row(l, n, kind, name, request, isolate, time_ns, 0);
    return n;
}

/* Moves wait in memory and go eight rows a statement, in order. */
static void moves_flush(ledger *l)
{
    sqlite3_stmt *s = l->s[S_MOVE8];
    if (l->npend == 8) {
        for (int k = 0; k < 8; k++) {
            sqlite3_bind_int64(s, 3 * k + 1, (int64_t)l->pend[k].item);
            sqlite3_bind_int64(s, 3 * k + 2, l->pend[k].time_ns);
            sqlite3_bind_text(s, 3 * k + 3, l->pend[k].layer, -1, SQLITE_STATIC);
        }
        step(l, s);
    } else {
        for (int k = 0; k < l->npend; k++)
            run(l, S_MOVE, "iit", (int64_t)l->pend[k].item, l->pend[k].time_ns, l->pend[k].layer);
    }
    l->npend = 0;
}

void ledger_move(ledger *l, uint64_t item, int64_t time_ns, const char *layer)
{
    if (l->mem)
        return;
    struct pending_move *p = &l->pend[l->npend++];
    p->item = item;
    p->time_ns = time_ns;
    snprintf(p->layer, sizeof p->layer, "%s", layer);
    if (l->npend == 8)
        moves_flush(l);
}

void ledger_drop(ledger *l, uint64_t item, int64_t time_ns, ledger_cause cause, const char *layer,
                 uint64_t isolate)
{
    ledger_drop_note(l, item, time_ns, cause, layer, isolate, NULL);
}

void ledger_drop_note(ledger *l, uint64_t item, int64_t time_ns, ledger_cause cause,
                      const char *layer, uint64_t isolate, const char *note)
{
    if (l->mem) {
        lm_drop(l->mem, item, cause);
        return;
    }
    run(l, S_DROP, "iittit", (int64_t)item, time_ns, ledger_cause_name(cause), layer,
        (int64_t)isolate, note);
}

uint64_t ledger_attempt(ledger *l, int64_t time_ns, int64_t sent_ns, const char *path,
                        uint32_t attempt, uint64_t request, uint64_t isolate, size_t bytes,
                        size_t nitems)
{
    uint64_t id = l->next_attempt++;
    if (time_ns > l->end_ns)
        l->end_ns = time_ns;
    if (l->mem) {
        lm_attempt(l->mem, id, request, time_ns);
        return id;
    }
    run(l, S_ATTEMPT, "iitiiiiii", (int64_t)id, time_ns, path, (int64_t)attempt, (int64_t)request,
        (int64_t)isolate, (int64_t)bytes, (int64_t)nitems, sent_ns);
    return id;
}

void ledger_attempt_item(ledger *l, uint64_t attempt, uint64_t item)
{
    if (l->mem) {
        lm_attempt_items(l->mem, attempt, &item, 1);
        return;
    }
    run(l, S_ATTEMPT_ITEM, "ii", (int64_t)attempt, (int64_t)item);
}

void ledger_attempt_items(ledger *l, uint64_t attempt, const uint64_t *items, size_t n)
{
    if (l->mem) {
        lm_attempt_items(l->mem, attempt, items, n);
        return;
    }
    size_t i = 0;
    for (sqlite3_stmt *s = l->s[S_ATTEMPT_ITEM8]; i + 8 <= n; i += 8) {
        for (int k = 0; k < 8; k++) {
            sqlite3_bind_int64(s, 2 * k + 1, (int64_t)attempt);
            sqlite3_bind_int64(s, 2 * k + 2, (int64_t)items[i + (size_t)k]);
        }
        step(l, s);
    }
    for (; i < n; i++)
        ledger_attempt_item(l, attempt, items[i]);
}

void ledger_attempt_status(ledger *l, uint64_t attempt, int status)
{
    if (l->mem) {
        lm_attempt_status(l->mem, attempt, status);
        return;
    }
    run(l, S_ATTEMPT_STATUS, "ii", (int64_t)status, (int64_t)attempt);
}

void ledger_attempt_hop(ledger *l, uint64_t attempt, const char *hop, const char *ref)
{
    if (l->mem)
        return; /* the memory mode joins only what decides fates */
    run(l, S_ATTEMPT_HOP, "tti", hop, ref, (int64_t)attempt);
}

void ledger_fault(ledger *l, int64_t time_ns, int64_t rule, flt_kind kind, uint64_t request,
                  uint64_t isolate, const char *path)
{
    assert(kind < FLT_KIND_COUNT && rule < LEDGER_FAULT_RULES);
    l->faults[kind]++;
    if (rule >= 0)
        l->fault_rule_fired[rule]++;
    if (l->mem)
        return;
    run(l, S_FAULT, "iItiit", time_ns, rule, flt_kind_name(kind), (int64_t)request,
        (int64_t)isolate, path);
}

static void obs_request(void *ud, uint64_t request_id, uint64_t isolate_id, rt_request_event ev,
                        int64_t t)
{
    ledger *l = ud;
    if ((ev == RT_REQ_ENDED || ev == RT_REQ_KILLED) && t > l->end_ns)
        l->end_ns = t;
    if (l->mem) {
        if (ev != RT_REQ_RESPONDED)
            lm_request(l->mem, request_id, ev != RT_REQ_ARRIVED, t);
        return;
    }
    switch (ev) {
    case RT_REQ_ARRIVED:
        run(l, S_REQ_NEW, "iiiii", (int64_t)request_id, (int64_t)isolate_id, t, (int64_t)l->route,
            (int64_t)l->colo);
        break;
    case RT_REQ_RESPONDED:
        run(l, S_REQ_RESPONDED, "ii", t, (int64_t)request_id);
        break;
    case RT_REQ_ENDED:
        run(l, S_REQ_ENDED, "iti", t, "completed", (int64_t)request_id);
        break;
    case RT_REQ_KILLED:
        run(l, S_REQ_ENDED, "iti", t, "killed", (int64_t)request_id);
        break;
    }
}

static void obs_isolate(void *ud, const rt_isolate_info *iso, int cause, int64_t t)
{
    ledger *l = ud;
    if (cause >= 0 && t > l->end_ns)
        l->end_ns = t;
    if (l->mem)
        return;
    if (cause < 0)
        run(l, S_ISO_NEW, "ii", (int64_t)iso->id, t);
    else
        run(l, S_ISO_DIED, "itii", t, rt_evict_key((rt_evict)cause), (int64_t)iso->requests_served,
            (int64_t)iso->id);
}

static void obs_placed(void *ud, uint64_t request_id, uint32_t route, uint32_t colo)
{
    ledger *l = ud;
    if (!l->placed) {
        l->placed = true;
        l->route0 = route;
        l->colo0 = colo;
    }
    (void)request_id;
    l->route = route;
    l->colo = colo;
    l->routes_differ |= route != l->route0;
    l->colos_differ |= colo != l->colo0;
}

rt_observer ledger_observer(ledger *l)
{
    return (rt_observer){l, obs_request, obs_isolate, obs_placed, NULL, NULL};
}

void ledger_private_access(ledger *l, uint64_t request, int64_t time_ns)
{
    if (l->mem) {
        lm_private_access(l->mem);
        return;
    }
    run(l, S_PRIVATE, "ii", (int64_t)request, time_ns);
}

void ledger_flush_in_wait_until(ledger *l, uint64_t request)
{
    if (l->mem)
        return;
    run(l, S_FLUSH_WU, "i", (int64_t)request);
}

void ledger_call_time(ledger *l, uint64_t request, bool before_response, int64_t ns)
{
    if (l->mem) {
        lm_call_time(l->mem, request, before_response, ns);
        return;
    }
    run(l, before_response ? S_CALL_RESP : S_CALL_WU, "ii", ns, (int64_t)request);
}

/* ---------- after the run ---------- */

/* This run's ingest rows: all of them in a fresh ingest, else those its requests carried;
 * with `acked`, whether the answer to the request that carried the row reached the exporter
 * (ingest requests.acked: 1, 0, NULL not known). See mine_sql. */
static const char mine_all[] =
    "SELECT item_id, accepted, reason, time_ns, request_id, sent_for, NULL AS acked FROM ing.items";
static const char mine_all_acked[] =
    "SELECT i.item_id, i.accepted, i.reason, i.time_ns, i.request_id, i.sent_for, q.acked"
    " FROM ing.items i LEFT JOIN ing.requests q ON q.id = i.request";
static const char mine_run[] =
    "SELECT i.item_id, i.accepted, i.reason, i.time_ns, i.request_id, i.sent_for, %s AS acked"
    " FROM ing.items i JOIN ing.requests q ON q.id = i.request WHERE q.run = @run";

/*
 * One row per item: its fate and, when lost, the cause and layer the last
 * drop record gives (else the ingest's rejection, else "unexplained").
 * Only this run's ingest rows count (by X-Edgeloss-Run) when a run is given.
 */
static const char fates_sql[] =
    "DROP TABLE IF EXISTS fates;"
    "CREATE TABLE fates AS "
    "WITH mine AS (%s),"
    /* Every ingest row of a ledger item, in one pass: its copies, first receipt,
     * refusal and copies sent for another request. */
    " got AS (SELECT l.id AS item, SUM(m.accepted = 1) AS copies,"
    "  MIN(CASE WHEN m.accepted = 1 THEN m.time_ns END) AS first_ns,"
    "  MIN(CASE WHEN m.accepted = 0 THEN m.reason END) AS reason,"
    /* Whom a copy was credited to: an entry of a global (kind 'entry') to the request its
     * payload was sent for (envelope attribution; a payload sent for no request, a queue's
     * batch, credits each entry to its origin), any other item to its own request id. */
    "  SUM(m.accepted = 1 AND CASE WHEN l.kind = 'entry'"
    "   THEN m.sent_for IS NOT NULL AND m.sent_for IS NOT ('r' || l.request)"
    "   ELSE m.request_id IS NOT ('r' || l.request) END) AS mis,"
    /* ... and the request its first such copy (by receipt) was credited to. */
    "  substr(MIN(CASE WHEN m.accepted = 1 AND l.kind = 'entry'"
    "   AND m.sent_for IS NOT ('r' || l.request) THEN printf('%%020d', m.time_ns) || m.sent_for"
    "   WHEN m.accepted = 1 AND l.kind != 'entry' AND m.request_id IS NOT ('r' || l.request)"
    "   THEN printf('%%020d', m.time_ns) || COALESCE(m.request_id, '') END), 21) AS credited,"
    /* Whether an accepted copy's answer reached the exporter: 2 one did, 1 none did but some
     * are not known (acked NULL: an older ingest, or one killed first), 0 every one was lost. */
    "  MAX(CASE WHEN m.accepted = 1 THEN CASE m.acked WHEN 1 THEN 2 WHEN 0 THEN 0 ELSE 1 END"
    "   END) AS ack"
    /* Ledger items by rowid from the id's digits (checked against the whole id): */
    /* a scan of the ingest rows, no text index lookups. */
    "  FROM mine m CROSS JOIN items l ON l.id = CAST(substr(m.item_id, 2) AS INTEGER)"
    "   AND l.item_id = m.item_id GROUP BY l.id),"
    " lastdrop AS (SELECT d.item, d.cause, d.layer, d.isolate, d.time_ns, d.note FROM drops d"
    "  WHERE d.rowid = (SELECT MAX(rowid) FROM drops WHERE item = d.item))"
    " SELECT l.id AS item, l.item_id, l.kind, l.name, l.request, l.isolate, l.created_ns, l.bytes,"
    "  CASE WHEN COALESCE(g.copies, 0) = 0 THEN 'lost'"
    "   WHEN g.mis > 0 THEN 'misattributed'"
    "   WHEN g.copies > 1 THEN 'duplicated'"
    /* Spans a client carried into a Worker are processed later by design (pipeline.h): the
     * lifetime of the request that brought them bounds nothing. */
    "   WHEN l.kind != 'carried' AND q.ended_ns IS NOT NULL AND g.first_ns > q.ended_ns"
    "   THEN 'late'"
    "   ELSE 'delivered' END AS fate,"
    "  CASE WHEN COALESCE(g.copies, 0) = 0 THEN COALESCE(d.cause,"
    "   CASE WHEN g.reason IS NOT NULL THEN 'rejected-by-ingest' END, 'unexplained') END AS cause,"
    "  CASE WHEN COALESCE(g.copies, 0) = 0 THEN d.layer END AS layer,"
    "  CASE WHEN COALESCE(g.copies, 0) = 0 THEN d.isolate END AS died_on,"
    "  CASE WHEN COALESCE(g.copies, 0) = 0 THEN d.time_ns END AS died_ns,"
    "  CASE WHEN g.copies > 0 THEN g.first_ns END AS first_ns, COALESCE(g.copies, 0) AS copies,"
    "  CASE WHEN g.mis > 0 THEN g.credited END AS credited_to,"
    "  CASE WHEN COALESCE(g.copies, 0) = 0 THEN d.note END AS note,"
    /* 0: recorded, but delivered unacknowledged (an extra count, not a fate). */
    "  CASE g.ack WHEN 2 THEN 1 WHEN 0 THEN 0 END AS acked"
    " FROM items l LEFT JOIN got g ON g.item = l.id"
    "  LEFT JOIN requests q ON q.id = l.request"
    "  LEFT JOIN lastdrop d ON d.item = l.id"
    " ORDER BY l.id;"
    "CREATE INDEX fates_request ON fates(request);";

static int64_t q_int(sqlite3 *db, const char *sql, int64_t dflt)
{
    sqlite3_stmt *s;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
            v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

/* Whether the attached ingest records acknowledgements (requests.acked, its schema 4). */
static bool ingest_has_acks(sqlite3 *db)
{
    return q_int(db,
                 "SELECT COUNT(*) FROM pragma_table_info('requests', 'ing') WHERE name = 'acked'",
                 0) == 1;
}

/*
 * The `mine` of fates_sql (sqlite3_free it; NULL: out of memory). The acknowledgements cost a
 * lookup of each ingest row's request by primary key (measured: about 0.15 s per million
 * rows); an ingest that records none needs none (NULL: not known).
 */
static char *mine_sql(const char *run_id, bool has_acks)
{
    if (run_id)
        return sqlite3_mprintf(mine_run, has_acks ? "q.acked" : "NULL");
    return sqlite3_mprintf("%s", has_acks ? mine_all_acked : mine_all);
}

/* A pipeline's funnel by hop and its orphaned objects (the ingest attached as ing). */
static void pipeline_report(sqlite3 *db, const char *run_id, ledger_report *out)
{
    out->carried_recorded = (uint64_t)q_int(
        db, "SELECT COUNT(*) FROM fates WHERE kind = 'carried' AND fate != 'lost'", 0);
    sqlite3_exec(db, "CREATE INDEX IF NOT EXISTS attempts_ref ON attempts(ref)", NULL, NULL, NULL);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(
            db,
            "SELECT a.hop, COUNT(DISTINCT ai.item),"
            " COUNT(DISTINCT CASE WHEN a.status BETWEEN 200 AND 299 THEN ai.item END),"
            " (SELECT COUNT(*) FROM fates f WHERE f.fate = 'lost' AND f.kind = 'carried'"
            "  AND f.layer = a.hop)"
            " FROM attempts a JOIN attempt_items ai ON ai.attempt = a.id"
            " WHERE a.hop IS NOT NULL GROUP BY a.hop ORDER BY MIN(a.time_ns), a.hop",
            -1, &s, NULL) == SQLITE_OK) {
        while (out->nhops < LEDGER_HOPS && sqlite3_step(s) == SQLITE_ROW) {
            ledger_hop *h = &out->hops[out->nhops++];
            snprintf(h->name, sizeof h->name, "%s", (const char *)sqlite3_column_text(s, 0));
            h->in = (uint64_t)sqlite3_column_int64(s, 1);
            h->out = (uint64_t)sqlite3_column_int64(s, 2);
            h->lost_here = (uint64_t)sqlite3_column_int64(s, 3);
        }
        sqlite3_finalize(s);
    }
    if (q_int(db, "SELECT COUNT(*) FROM ing.sqlite_master WHERE name = 'objects'", 0) != 1)
        return;
    /* Stored (the ingest has it) and never read by an origin job. */
    char *sql = sqlite3_mprintf(
        "SELECT o.key, (SELECT a.request FROM attempts a WHERE a.ref = o.key ORDER BY a.id"
        " LIMIT 1), (SELECT a.items FROM attempts a WHERE a.ref = o.key ORDER BY a.id LIMIT 1)"
        " FROM ing.objects o WHERE %s NOT EXISTS (SELECT 1 FROM attempts a WHERE"
        " a.ref = o.key AND a.hop = 'fetch-object' AND a.status = 200) ORDER BY o.time_ns, o.key",
        run_id ? "o.run = @run AND" : "");
    if (!sql)
        abort();
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        int idx = sqlite3_bind_parameter_index(s, "@run");
        if (idx)
            sqlite3_bind_text(s, idx, run_id, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW) {
            if (out->norphans < LEDGER_ORPHANS) {
                ledger_orphan *o = &out->orphan_list[out->norphans++];
                snprintf(o->key, sizeof o->key, "%s", (const char *)sqlite3_column_text(s, 0));
                o->request = (uint64_t)sqlite3_column_int64(s, 1);
                o->items = (uint64_t)sqlite3_column_int64(s, 2);
            }
            out->orphans++;
        }
        sqlite3_finalize(s);
    }
    sqlite3_free(sql);
}

int64_t *ledger_carried_receipts(ledger *l, size_t *n)
{
    *n = 0;
    if (l->mem)
        return NULL;
    size_t cnt = (size_t)q_int(
        l->db, "SELECT COUNT(*) FROM fates WHERE kind = 'carried' AND first_ns IS NOT NULL", 0);
    if (!cnt)
        return NULL;
    int64_t *t = malloc(cnt * sizeof *t);
    sqlite3_stmt *s;
    if (!t || sqlite3_prepare_v2(l->db,
                                 "SELECT first_ns FROM fates WHERE kind = 'carried' AND first_ns"
                                 " IS NOT NULL ORDER BY first_ns",
                                 -1, &s, NULL) != SQLITE_OK) {
        free(t);
        return NULL;
    }
    while (*n < cnt && sqlite3_step(s) == SQLITE_ROW)
        t[(*n)++] = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return t;
}

/* Items and losses by the requests' route or colo, the most lost first. */
static int groups(sqlite3 *db, const char *column, ledger_group *out)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT q.%s, COUNT(*), SUM(f.fate = 'lost') FROM fates f JOIN requests q"
             " ON q.id = f.request WHERE q.%s IS NOT NULL GROUP BY q.%s ORDER BY 3 DESC, 1"
             " LIMIT %d",
             column, column, column, LEDGER_GROUPS);
    sqlite3_stmt *s;
    int n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return 0;
    while (n < LEDGER_GROUPS && sqlite3_step(s) == SQLITE_ROW) {
        out[n].index = (uint32_t)sqlite3_column_int64(s, 0);
        out[n].items = (uint64_t)sqlite3_column_int64(s, 1);
        out[n].lost = (uint64_t)sqlite3_column_int64(s, 2);
        n++;
    }
    sqlite3_finalize(s);
    return n;
}

/* Rows of (an isolate's death cause, a count) into counts indexed by rt_evict. */
static void by_evict_cause(sqlite3 *db, const char *sql, uint64_t *counts)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *cause = (const char *)sqlite3_column_text(s, 0);
        for (int c = 0; cause && c < RT_EVICT_COUNT; c++)
            if (strcmp(cause, rt_evict_key((rt_evict)c)) == 0)
                counts[c] = (uint64_t)sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
}

static double q_double(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    double v = NAN;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
            v = sqlite3_column_double(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

/* The p50 and p95 (nearest rank) of the received items' delivery delay, in ms: one ordered pass. */
static void delay_percentiles(sqlite3 *db, double *p50, double *p95)
{
    *p50 = *p95 = NAN;
    int64_t n = q_int(db, "SELECT COUNT(*) FROM fates WHERE fate != 'lost'", 0);
    if (n == 0)
        return;
    int64_t k50 = (n * 50 + 99) / 100 - 1, k95 = (n * 95 + 99) / 100 - 1;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT (first_ns - created_ns) / 1e6 FROM fates WHERE fate != 'lost'"
                           " ORDER BY first_ns - created_ns",
                           -1, &s, NULL) != SQLITE_OK)
        return;
    for (int64_t i = 0; i <= k95 && sqlite3_step(s) == SQLITE_ROW; i++) {
        if (i == k50)
            *p50 = sqlite3_column_double(s, 0);
        if (i == k95)
            *p95 = sqlite3_column_double(s, 0);
    }
    sqlite3_finalize(s);
}

/*
 * The 99th percentile (nearest rank) over every request of its two call times, in ms (NAN
 * when there is no request). Exact, without sorting the table (a sort of ten million rows
 * spills to disk and takes tens of seconds): a radix select. One scan finds the largest
 * values, a second counts each column's values in 65,536 buckets of equal width, and the
 * bucket that holds the rank gives the value at once when all its values are equal; else it
 * is counted again, finer, while it holds many rows, and its few rows are then sorted.
 */
#define P99_BUCKETS 65536

typedef struct p99_pass {
    const char *col;
    int shift; /* a value's bucket: value >> shift */
    int64_t *count, *lo, *hi;
} p99_pass;

static int bits_of(int64_t v)
{
    int b = 0;
    while (v > 0 && b < 63)
        v >>= 1, b++;
    return b;
}

static void p99_add(p99_pass *p, int64_t b, int64_t v)
{
    if (p->count[b]++ == 0) {
        p->lo[b] = p->hi[b] = v;
    } else {
        if (v < p->lo[b])
            p->lo[b] = v;
        if (v > p->hi[b])
            p->hi[b] = v;
    }
}

/* Counts the column's values in [lo, hi] into the pass's buckets, by (value - lo) >> shift. */
static void p99_count(sqlite3 *db, p99_pass *p, int64_t lo, int64_t hi)
{
    memset(p->count, 0, 3 * P99_BUCKETS * sizeof *p->count);
    int b = bits_of(hi - lo);
    p->shift = b > 16 ? b - 16 : 0;
    char *sql = sqlite3_mprintf("SELECT %s FROM requests WHERE %s BETWEEN %lld AND %lld", p->col,
                                p->col, (long long)lo, (long long)hi);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            int64_t v = sqlite3_column_int64(s, 0);
            int64_t k = (v - lo) >> p->shift;
            assert(k >= 0 && k < P99_BUCKETS);
            p99_add(p, k, v);
        }
        sqlite3_finalize(s);
    }
    sqlite3_free(sql);
}

/* The value of rank k (0-based) of the column, its buckets counted over the whole table: the
 * bucket that holds the rank, narrowed again while it holds several values and many rows (a
 * single outlier would otherwise put nearly every row in one bucket), then sorted. */
static double p99_of(sqlite3 *db, p99_pass *p, int64_t k)
{
    for (int level = 0;; level++) {
        int64_t below = 0;
        int b = 0;
        while (b < P99_BUCKETS && below + p->count[b] <= k)
            below += p->count[b++];
        assert(b < P99_BUCKETS); /* the counts add up to the rows */
        if (p->lo[b] == p->hi[b])
            return (double)p->lo[b] / 1e6;
        int64_t lo = p->lo[b], hi = p->hi[b];
        k -= below;
        if (p->count[b] > 4096 && level < 4) {
            p99_count(db, p, lo, hi);
            continue;
        }
        char *sql =
            sqlite3_mprintf("SELECT %s / 1e6 FROM requests WHERE %s BETWEEN %lld AND %lld"
                            " ORDER BY %s LIMIT 1 OFFSET %lld",
                            p->col, p->col, (long long)lo, (long long)hi, p->col, (long long)k);
        double v = q_double(db, sql);
        sqlite3_free(sql);
        return v;
    }
}

static void requests_p99(sqlite3 *db, double *resp_ms, double *wu_ms)
{
    *resp_ms = *wu_ms = NAN;
    static const char *const cols[2] = {"call_ns_before_response", "call_ns_wait_until"};
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT COUNT(*), MAX(call_ns_before_response), MAX(call_ns_wait_until)"
                           " FROM requests",
                           -1, &s, NULL) != SQLITE_OK)
        return;
    int64_t n = 0, max[2] = {0, 0};
    if (sqlite3_step(s) == SQLITE_ROW) {
        n = sqlite3_column_int64(s, 0);
        max[0] = sqlite3_column_int64(s, 1);
        max[1] = sqlite3_column_int64(s, 2);
    }
    sqlite3_finalize(s);
    if (n == 0)
        return;
    int64_t *mem = calloc(6 * (size_t)P99_BUCKETS, sizeof *mem);
    if (!mem)
        abort();
    p99_pass p[2];
    for (int c = 0; c < 2; c++) {
        int b = bits_of(max[c]);
        p[c] = (p99_pass){cols[c], b > 16 ? b - 16 : 0, mem + (3 * c) * P99_BUCKETS,
                          mem + (3 * c + 1) * P99_BUCKETS, mem + (3 * c + 2) * P99_BUCKETS};
    }
    if (sqlite3_prepare_v2(db, "SELECT call_ns_before_response, call_ns_wait_until FROM requests",
                           -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW)
            for (int c = 0; c < 2; c++) {
                int64_t v = sqlite3_column_int64(s, c);
                int64_t b = v > 0 ? v >> p[c].shift : 0;
                assert(b < P99_BUCKETS);
                p99_add(&p[c], b, v);
            }
        sqlite3_finalize(s);
    }
    int64_t k = (n * 99 + 99) / 100 - 1;
    *resp_ms = p99_of(db, &p[0], k);
    *wu_ms = p99_of(db, &p[1], k);
    free(mem);
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x;
    h = (h << 29) | (h >> 35);
    return h * 0x9E3779B97F4A7C15ULL;
}

/* Hash of every ingest row of this run, in id order, without ports, dates, wall times, sizes. */
static uint64_t ingest_hash(sqlite3 *db, const char *run_id)
{
    /* Every items column but the row ids, whatever the ingest's schema version: the
     * columns a later version adds (version 5: what SDKs send beyond the first fields)
     * are hashed once the ingest has them. */
#define ITEM_COLUMNS "SELECT i.*"
    static const char *const sql[] = {
        "SELECT q.time_ns, q.method, q.path, q.status, q.reason, q.bytes_body, q.items_received,"
        " q.items_accepted, q.items_rejected, q.attempt FROM ing.requests q"
        " WHERE @run IS NULL OR q.run = @run ORDER BY q.id",
        ITEM_COLUMNS " FROM ing.items i JOIN ing.requests q ON q.id = i.request"
                     " WHERE q.run = @run ORDER BY i.id",
        /* A fresh ingest holds this run only: no join needed. */
        ITEM_COLUMNS " FROM ing.items i ORDER BY i.id",
    };
#undef ITEM_COLUMNS
    uint64_t h = 0x84222325CBF29CE4ULL;
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *s;
        const char *q = sql[k == 1 && !run_id ? 2 : k];
        if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK)
            return 0;
        if (run_id)
            sqlite3_bind_text(s, sqlite3_bind_parameter_index(s, "@run"), run_id, -1,
                              SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW) {
            int n = sqlite3_column_count(s);
            for (int c = 0; c < n; c++) {
                const char *name = sqlite3_column_name(s, c);
                if (k == 1 && (strcmp(name, "id") == 0 || strcmp(name, "request") == 0))
                    continue; /* arrival order on this server: not the run's */
                switch (sqlite3_column_type(s, c)) {
                case SQLITE_INTEGER:
                    h = mix(h, (uint64_t)sqlite3_column_int64(s, c));
                    break;
                case SQLITE_FLOAT: {
                    double d = sqlite3_column_double(s, c);
                    uint64_t bits;
                    memcpy(&bits, &d, sizeof bits);
                    h = mix(h, bits);
                    break;
                }
                case SQLITE_TEXT: {
                    /* Eight bytes at a time, then the tail with the length. */
                    const unsigned char *t = sqlite3_column_text(s, c);
                    size_t len = (size_t)sqlite3_column_bytes(s, c), i = 0;
                    for (; i + 8 <= len; i += 8) {
                        uint64_t w;
                        memcpy(&w, t + i, 8);
                        h = mix(h, w);
                    }
                    uint64_t tail = 0;
                    memcpy(&tail, t + i, len - i);
                    h = mix(mix(h, tail), 0xFF00000000000000ULL | len);
                    break;
                }
                default:
                    h = mix(h, 0xAB);
                }
            }
        }
        sqlite3_finalize(s);
    }
    return h;
}

static void clock_text(char *out, size_t len, int64_t t)
{
    int64_t sec = t / 1000000000;
    snprintf(out, len, "%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%03" PRId64, sec / 3600,
             (sec / 60) % 60, sec % 60, (t / 1000000) % 1000);
}

static void stories(sqlite3 *db, ledger_report *out)
{
    /* The first lost item of each (cause, layer), then the first mixed entry. */
    static const char sql[] =
        "SELECT * FROM (SELECT f.kind, f.name, f.item_id, f.request, f.cause, f.layer, f.died_on,"
        " f.died_ns, i.cause, f.note, f.created_ns, f.credited_to, f.item FROM fates f"
        " LEFT JOIN isolates i ON i.id = f.died_on WHERE f.fate = 'lost'"
        " AND f.item IN (SELECT MIN(item) FROM fates WHERE fate = 'lost' GROUP BY cause, layer)"
        " ORDER BY f.item LIMIT 4)"
        " UNION ALL SELECT * FROM (SELECT kind, name, item_id, request, NULL, NULL, NULL, NULL,"
        " NULL, NULL, created_ns, credited_to, item FROM fates WHERE fate = 'misattributed'"
        " ORDER BY item LIMIT 1)";
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return;
    while (out->nstories < LEDGER_STORIES && sqlite3_step(s) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 0);
        const char *name = (const char *)sqlite3_column_text(s, 1);
        const char *id = (const char *)sqlite3_column_text(s, 2);
        int64_t req = sqlite3_column_int64(s, 3);
        const char *cause = (const char *)sqlite3_column_text(s, 4);
        const char *layer = (const char *)sqlite3_column_text(s, 5);
        int64_t iso = sqlite3_column_int64(s, 6);
        int64_t t = sqlite3_column_int64(s, 7);
        const char *why = (const char *)sqlite3_column_text(s, 8);
        const char *note = (const char *)sqlite3_column_text(s, 9);
        const char *credited = (const char *)sqlite3_column_text(s, 11);
        char when[48], made[48];
        clock_text(when, sizeof when, t);
        clock_text(made, sizeof made, sqlite3_column_int64(s, 10));
        char *o = out->stories[out->nstories++].text;
        size_t ol = sizeof out->stories[0].text;
        char what[96];
        snprintf(what, sizeof what, "%s \"%s\" (%s) of request %" PRId64, kind ? kind : "item",
                 name ? name : "", id ? id : "?", req);
        if (!cause && credited) { /* a mixed item */
            snprintf(o, ol, "%s, made at %s, reached the ingest credited to request %s%s", what,
                     made, credited[0] == 'r' ? credited + 1 : credited,
                     kind && strcmp(kind, "entry") == 0 ? " (in the payload sent for it)" : "");
        } else if (cause && strcmp(cause, "overwritten-shared-state") == 0) {
            snprintf(o, ol, "%s was written to %s at %s; %s at %s; the entry was never sent", what,
                     layer ? layer : "?", made, note ? note : "it was overwritten", when);
        } else if (cause && (strcmp(cause, "evicted-in-buffer") == 0 ||
                             strcmp(cause, "dropped-in-backoff") == 0 ||
                             strcmp(cause, "stranded-at-end") == 0)) {
            if (strcmp(cause, "dropped-in-backoff") == 0)
                snprintf(o, ol,
                         "%s was held in the %s buffer by a backoff after a 403 when "
                         "isolate %" PRId64 " was evicted (%s) at %s",
                         what, layer ? layer : "?", iso, why ? why : "?", when);
            else if (strcmp(cause, "stranded-at-end") == 0)
                snprintf(o, ol,
                         "%s was still in the %s buffer of isolate %" PRId64
                         " when the run ended at %s",
                         what, layer ? layer : "?", iso, when);
            else
                snprintf(o, ol,
                         "%s sat in the %s buffer when isolate %" PRId64 " was evicted (%s) at %s",
                         what, layer ? layer : "?", iso, why ? why : "?", when);
        } else if (cause && strcmp(cause, "unexplained") == 0) {
            snprintf(o, ol, "%s never reached the ingest and nothing reported losing it", what);
        } else {
            snprintf(o, ol, "%s was lost (%s%s%s) at %s on isolate %" PRId64, what,
                     cause ? cause : "?", layer ? ", from the " : "", layer ? layer : "", when,
                     iso);
        }
    }
    sqlite3_finalize(s);
}

/* Each invariant: what it says, and a query whose first row (two text columns: what and
 * whom) is a violation. */
static const struct {
    const char *what;
    const char *sql;
} invariants[] = {
    {"lost with nothing reporting the loss (cause unexplained)",
     "SELECT 'item ' || item_id, 'request ' || request FROM fates"
     " WHERE fate = 'lost' AND cause = 'unexplained' ORDER BY item LIMIT 1"},
    {"responded after its end",
     "SELECT 'request ' || id, 'responded at ' || responded_ns || ', ended at ' || ended_ns"
     " FROM requests WHERE responded_ns > ended_ns ORDER BY id LIMIT 1"},
    {"responded after its isolate died",
     "SELECT 'request ' || q.id, 'responded at ' || q.responded_ns || ', isolate ' || i.id ||"
     " ' died at ' || i.died_ns FROM requests q JOIN isolates i ON i.id = q.isolate"
     " WHERE q.responded_ns > i.died_ns ORDER BY q.id LIMIT 1"},
    {"a POST left its isolate after the isolate died",
     "SELECT 'attempt ' || a.id || ' (request ' || a.request || ')', 'sent at ' || a.sent_ns ||"
     " ', isolate ' || i.id || ' died at ' || i.died_ns FROM attempts a"
     " JOIN isolates i ON i.id = a.isolate WHERE a.sent_ns > i.died_ns ORDER BY a.id LIMIT 1"},
    {"moved after it was lost",
     "SELECT 'item ' || m.item, 'moved to ' || m.layer || ' at ' || m.time_ns || ', lost at ' ||"
     " d.time_ns FROM moves m JOIN drops d ON d.item = m.item WHERE m.time_ns > d.time_ns"
     " ORDER BY m.item LIMIT 1"},
    {"sent after it was lost",
     "SELECT 'item ' || ai.item, 'sent at ' || a.sent_ns || ' in attempt ' || a.id ||"
     " ', lost at ' || d.time_ns FROM attempt_items ai JOIN attempts a ON a.id = ai.attempt"
     " JOIN drops d ON d.item = ai.item WHERE a.sent_ns > d.time_ns ORDER BY ai.item LIMIT 1"},
    {"lost twice (two holders)",
     "SELECT 'item ' || item, COUNT(*) || ' loss records' FROM drops GROUP BY item"
     " HAVING COUNT(*) > 1 ORDER BY item LIMIT 1"},
    /* By counts (fates has no index by item; a per-item lookup would be quadratic). */
    {"have not exactly one fate each",
     "SELECT 'the items', n || ' items, ' || f || ' fates for ' || d || ' of them' FROM"
     " (SELECT (SELECT COUNT(*) FROM items) AS n, (SELECT COUNT(*) FROM fates) AS f,"
     "  (SELECT COUNT(DISTINCT item) FROM fates) AS d) WHERE n != f OR f != d"},
};

sim_err ledger_verify(ledger *l, char *err, size_t errlen)
{
    if (l->mem) /* only an unexplained loss can be seen without the tables */
        return lm_unexplained(l->mem, err, errlen);
    for (size_t k = 0; k < sizeof invariants / sizeof invariants[0]; k++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(l->db, invariants[k].sql, -1, &s, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "ledger: cannot check invariants: %s", sqlite3_errmsg(l->db));
            return SIM_ELEDGER;
        }
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            snprintf(err, errlen, "invariant violated: %s %s (%s)",
                     (const char *)sqlite3_column_text(s, 0), invariants[k].what,
                     (const char *)sqlite3_column_text(s, 1));
        sqlite3_finalize(s);
        if (rc == SQLITE_ROW)
            return SIM_ELEDGER;
        if (rc != SQLITE_DONE) {
            snprintf(err, errlen, "ledger: cannot check invariants: %s", sqlite3_errmsg(l->db));
            return SIM_ELEDGER;
        }
    }
    return 0;
}

/* ---------- the report's aggregates ---------- */

static const char report_schema[] =
    "DROP TABLE IF EXISTS report_series; DROP TABLE IF EXISTS report_isolates;"
    " DROP TABLE IF EXISTS report_isolate_bins;"
    "CREATE TABLE report_series (bin INTEGER PRIMARY KEY, t0_ns INTEGER, t1_ns INTEGER,"
    " created INTEGER, delivered INTEGER, late INTEGER, duplicated INTEGER,"
    " misattributed INTEGER, lost INTEGER);"
    "CREATE TABLE report_isolates (isolate INTEGER PRIMARY KEY, created_ns INTEGER,"
    " died_ns INTEGER, cause TEXT, requests INTEGER, items INTEGER, lost INTEGER,"
    " lost_at_death INTEGER, attempts INTEGER);"
    "CREATE TABLE report_isolate_bins (isolate INTEGER, bin INTEGER, requests INTEGER,"
    " attempts INTEGER, PRIMARY KEY (isolate, bin));";

/* Bins [t0(b), t0(b + 1)) with t0(b) = ceil(b * T / LEDGER_BINS): t is in bin
 * floor(t * LEDGER_BINS / T), and T itself in the last one. */
static int bin_of(int64_t t, int64_t T)
{
    if (t <= 0)
        return 0;
    if (t >= T)
        return LEDGER_BINS - 1;
    return (int)((unsigned __int128)t * LEDGER_BINS / (uint64_t)T);
}

static int64_t bin_start(int b, int64_t T)
{
    return (int64_t)(((unsigned __int128)b * (uint64_t)T + LEDGER_BINS - 1) / LEDGER_BINS);
}

typedef struct iso_acc {
    uint64_t items, lost, lost_at_death, attempts;
    int64_t died_ns;
    bool died;
    int req_bin, att_bin; /* the bin of its current row in bins (-1: none yet) */
    size_t req_at, att_at;
} iso_acc;

typedef struct bin_row {
    uint64_t isolate;
    uint64_t bin;
    uint64_t requests, attempts;
} bin_row;

typedef struct report_acc {
    int64_t T;
    uint64_t niso; /* iso[id] for ids 0..niso-1 */
    iso_acc *iso;
    bin_row *rows;
    size_t nrows, caprows;
    uint64_t series[LEDGER_BINS][1 + FATE_COUNT]; /* created, then by fate */
} report_acc;

static uint64_t *bits_new(uint64_t n)
{
    uint64_t *b = calloc(n / 64 + 1, sizeof *b);
    if (!b)
        abort();
    return b;
}

static bool bit_get(const uint64_t *b, uint64_t n, int64_t i)
{
    return i >= 0 && (uint64_t)i < n && (b[(uint64_t)i / 64] >> ((uint64_t)i % 64) & 1);
}

static void bit_set(uint64_t *b, uint64_t n, int64_t i)
{
    if (i >= 0 && (uint64_t)i < n)
        b[(uint64_t)i / 64] |= 1ULL << ((uint64_t)i % 64);
}

static uint64_t bits_count(const uint64_t *b, uint64_t n)
{
    uint64_t c = 0;
    for (uint64_t w = 0; w <= n / 64; w++)
        c += (uint64_t)__builtin_popcountll(b[w]);
    return c;
}

/* One more request (or attempt) of `isolate` in bin b: runs of one bin per isolate share a
 * row, so rows stay few whatever the order (they are merged after sorting anyway). */
static void bin_add(report_acc *a, int64_t isolate, int b, bool attempt)
{
    iso_acc *ia = isolate >= 0 && (uint64_t)isolate < a->niso ? &a->iso[isolate] : NULL;
    int *cur = ia ? (attempt ? &ia->att_bin : &ia->req_bin) : NULL;
    size_t *at = ia ? (attempt ? &ia->att_at : &ia->req_at) : NULL;
    if (!cur || *cur != b) {
        if (a->nrows == a->caprows) {
            a->caprows = a->caprows ? 2 * a->caprows : 1024;
            a->rows = realloc(a->rows, a->caprows * sizeof *a->rows);
            if (!a->rows)
                abort();
        }
        a->rows[a->nrows] = (bin_row){(uint64_t)isolate, (uint64_t)b, 0, 0};
        if (cur) {
            *cur = b;
            *at = a->nrows;
        }
        a->nrows++;
    }
    bin_row *r = &a->rows[cur ? *at : a->nrows - 1];
    if (attempt)
        r->attempts++;
    else
        r->requests++;
}

static int bin_row_cmp(const void *x, const void *y)
{
    const bin_row *a = x, *b = y;
    if (a->isolate != b->isolate)
        return a->isolate < b->isolate ? -1 : 1;
    return a->bin < b->bin ? -1 : a->bin > b->bin;
}

static int fate_index(const char *fate)
{
    for (int f = 0; fate && f < FATE_COUNT; f++)
        if (strcmp(fate, ledger_fate_name((ledger_fate)f)) == 0)
            return f;
    return -1;
}

/* Prepares, or sets *msg. */
static sqlite3_stmt *prep(sqlite3 *db, const char *sql, char **msg)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK && !*msg)
        *msg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return s;
}

/* Steps an insert, or sets *msg. */
static void insert_row(sqlite3 *db, sqlite3_stmt *s, char **msg)
{
    if (sqlite3_step(s) != SQLITE_DONE && !*msg)
        *msg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    sqlite3_reset(s);
}

/* Ends a scan: a step that failed is an error, not the end of the rows. */
static void scan_end(sqlite3 *db, sqlite3_stmt *s, int rc, char **msg)
{
    if (rc != SQLITE_DONE && !*msg)
        *msg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
}

/*
 * The report_* tables, and the funnel, in one pass over each of isolates, requests,
 * attempts, attempt_items and fates (items when unverified: the fate columns are NULL
 * then). Everything is counted in memory: per isolate, per bin and a bit per item.
 * Returns 0, or -1 with *msg set.
 */
static int report_tables(ledger *l, bool verified, ledger_funnel *funnel, char **msg)
{
    sqlite3 *db = l->db;
    report_acc *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    a->T = l->end_ns > 0 ? l->end_ns : 1;
    a->niso = (uint64_t)q_int(db, "SELECT COALESCE(MAX(id), 0) FROM isolates", 0) + 1;
    a->iso = calloc(a->niso, sizeof *a->iso);
    uint64_t nitem = l->next_item, natt = l->next_attempt;
    uint64_t *sent = bits_new(nitem), *acc = bits_new(nitem), *ok = bits_new(natt);
    if (!a->iso)
        abort();
    for (uint64_t i = 0; i < a->niso; i++)
        a->iso[i].req_bin = a->iso[i].att_bin = -1;
    sqlite3_stmt *s;
    int rc;
    if (sqlite3_exec(db, report_schema, NULL, NULL, msg) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN", NULL, NULL, msg) != SQLITE_OK)
        goto out;
    if ((s = prep(db, "SELECT id, died_ns FROM isolates", msg))) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(s, 0);
            if (id >= 0 && (uint64_t)id < a->niso && sqlite3_column_type(s, 1) != SQLITE_NULL) {
                a->iso[id].died = true;
                a->iso[id].died_ns = sqlite3_column_int64(s, 1);
            }
        }
        scan_end(db, s, rc, msg);
    }
    if ((s = prep(db, "SELECT isolate, arrived_ns FROM requests", msg))) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            bin_add(a, sqlite3_column_int64(s, 0), bin_of(sqlite3_column_int64(s, 1), a->T), false);
        scan_end(db, s, rc, msg);
    }
    if ((s = prep(db, "SELECT id, isolate, sent_ns, status FROM attempts", msg))) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t iso = sqlite3_column_int64(s, 1);
            int status = sqlite3_column_int(s, 3);
            if (status >= 200 && status < 300)
                bit_set(ok, natt, sqlite3_column_int64(s, 0));
            if (iso >= 0 && (uint64_t)iso < a->niso)
                a->iso[iso].attempts++;
            bin_add(a, iso, bin_of(sqlite3_column_int64(s, 2), a->T), true);
        }
        scan_end(db, s, rc, msg);
    }
    if ((s = prep(db, "SELECT attempt, item FROM attempt_items", msg))) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t item = sqlite3_column_int64(s, 1);
            bit_set(sent, nitem, item);
            if (bit_get(ok, natt, sqlite3_column_int64(s, 0)))
                bit_set(acc, nitem, item);
        }
        scan_end(db, s, rc, msg);
    }
    if ((s = prep(db,
                  verified ? "SELECT created_ns, isolate, fate, died_on, died_ns FROM fates"
                           : "SELECT created_ns, isolate FROM items",
                  msg))) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int b = bin_of(sqlite3_column_int64(s, 0), a->T);
            int64_t iso = sqlite3_column_int64(s, 1);
            iso_acc *ia = iso >= 0 && (uint64_t)iso < a->niso ? &a->iso[iso] : NULL;
            a->series[b][0]++;
            if (ia)
                ia->items++;
            if (!verified)
                continue;
            int f = fate_index((const char *)sqlite3_column_text(s, 2));
            if (f >= 0)
                a->series[b][1 + f]++;
            if (f != FATE_LOST)
                continue;
            if (ia)
                ia->lost++;
            /* Lost when an isolate died: the loss recorded on it at the instant of its death. */
            int64_t on = sqlite3_column_int64(s, 3);
            if (sqlite3_column_type(s, 3) != SQLITE_NULL && on >= 0 && (uint64_t)on < a->niso &&
                a->iso[on].died && sqlite3_column_type(s, 4) != SQLITE_NULL &&
                sqlite3_column_int64(s, 4) == a->iso[on].died_ns)
                a->iso[on].lost_at_death++;
        }
        scan_end(db, s, rc, msg);
    }
    if (*msg)
        goto out;
    /* report_series: every bin, empty or not. The fates' columns in the table's order. */
    static const ledger_fate cols[] = {FATE_DELIVERED, FATE_LATE, FATE_DUPLICATED,
                                       FATE_MISATTRIBUTED, FATE_LOST};
    if ((s = prep(db, "INSERT INTO report_series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", msg))) {
        for (int b = 0; b < LEDGER_BINS; b++) {
            sqlite3_bind_int(s, 1, b);
            sqlite3_bind_int64(s, 2, bin_start(b, a->T));
            sqlite3_bind_int64(s, 3, b + 1 < LEDGER_BINS ? bin_start(b + 1, a->T) : a->T);
            sqlite3_bind_int64(s, 4, (int64_t)a->series[b][0]);
            for (int c = 0; c < 5; c++) {
                if (verified)
                    sqlite3_bind_int64(s, 5 + c, (int64_t)a->series[b][1 + cols[c]]);
                else
                    sqlite3_bind_null(s, 5 + c);
            }
            insert_row(db, s, msg);
        }
        sqlite3_finalize(s);
    }
    /* report_isolates: one row per isolate, in id order. */
    sqlite3_stmt *ins =
        prep(db, "INSERT INTO report_isolates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", msg);
    if (ins &&
        (s = prep(db, "SELECT id, created_ns, died_ns, cause, requests FROM isolates ORDER BY id",
                  msg))) {
        while (!*msg && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(s, 0);
            iso_acc z = {0}, *ia = id >= 0 && (uint64_t)id < a->niso ? &a->iso[id] : &z;
            for (int c = 0; c < 5; c++)
                sqlite3_bind_value(ins, 1 + c, sqlite3_column_value(s, c));
            sqlite3_bind_int64(ins, 6, (int64_t)ia->items);
            if (verified) {
                sqlite3_bind_int64(ins, 7, (int64_t)ia->lost);
                sqlite3_bind_int64(ins, 8, (int64_t)ia->lost_at_death);
            } else {
                sqlite3_bind_null(ins, 7);
                sqlite3_bind_null(ins, 8);
            }
            sqlite3_bind_int64(ins, 9, (int64_t)ia->attempts);
            insert_row(db, ins, msg);
        }
        scan_end(db, s, rc, msg);
    }
    sqlite3_finalize(ins);
    /* report_isolate_bins: the runs merged, the non-empty (isolate, bin) pairs in order. */
    if (a->nrows)
        qsort(a->rows, a->nrows, sizeof *a->rows, bin_row_cmp);
    if ((s = prep(db, "INSERT INTO report_isolate_bins VALUES (?, ?, ?, ?)", msg))) {
        for (size_t i = 0; i < a->nrows && !*msg;) {
            bin_row r = a->rows[i++];
            for (; i < a->nrows && a->rows[i].isolate == r.isolate && a->rows[i].bin == r.bin;
                 i++) {
                r.requests += a->rows[i].requests;
                r.attempts += a->rows[i].attempts;
            }
            sqlite3_bind_int64(s, 1, (int64_t)r.isolate);
            sqlite3_bind_int64(s, 2, (int64_t)r.bin);
            sqlite3_bind_int64(s, 3, (int64_t)r.requests);
            sqlite3_bind_int64(s, 4, (int64_t)r.attempts);
            insert_row(db, s, msg);
        }
        sqlite3_finalize(s);
    }
    if (!*msg)
        sqlite3_exec(db, "COMMIT", NULL, NULL, msg);
    if (funnel) {
        funnel->created = nitem - 1;
        funnel->sent = bits_count(sent, nitem);
        funnel->accepted = bits_count(acc, nitem);
    }
out:
    if (*msg)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    free(sent);
    free(acc);
    free(ok);
    free(a->rows);
    free(a->iso);
    free(a);
    return *msg ? -1 : 0;
}

sim_err ledger_finish_unverified(ledger *l, char *err, size_t errlen)
{
    char *msg = NULL;
    moves_flush(l);
    if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, &msg) == SQLITE_OK)
        report_tables(l, false, NULL, &msg);
    sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL); /* ledger_close commits */
    if (!msg)
        return SIM_OK;
    snprintf(err, errlen, "ledger: %s", msg);
    sqlite3_free(msg);
    return SIM_ELEDGER;
}

/* ---------- compact mode ---------- */

/* What compaction deletes: a bit per item, per ledger request and per ingest request. */
typedef struct prune {
    uint64_t *item, nitem;
    uint64_t *req, nreq;
    uint64_t *ing_req, ning_req;
} prune;

static void fn_pruned_item(sqlite3_context *c, int n, sqlite3_value **v)
{
    (void)n;
    const prune *p = sqlite3_user_data(c);
    sqlite3_result_int(c, bit_get(p->item, p->nitem, sqlite3_value_int64(v[0])));
}

/* An ingest item_id that is exactly a pruned ledger item's "i0000000073". */
static void fn_pruned_item_id(sqlite3_context *c, int n, sqlite3_value **v)
{
    (void)n;
    const prune *p = sqlite3_user_data(c);
    const unsigned char *t = sqlite3_value_text(v[0]);
    int64_t id = 0;
    bool ok = t && t[0] == 'i' && sqlite3_value_bytes(v[0]) == 11;
    for (int i = 1; ok && i < 11; i++) {
        ok = t[i] >= '0' && t[i] <= '9';
        id = id * 10 + (t[i] - '0');
    }
    sqlite3_result_int(c, ok && bit_get(p->item, p->nitem, id));
}

static void fn_pruned_request(sqlite3_context *c, int n, sqlite3_value **v)
{
    (void)n;
    const prune *p = sqlite3_user_data(c);
    sqlite3_result_int(c, bit_get(p->req, p->nreq, sqlite3_value_int64(v[0])));
}

static void fn_pruned_ing_request(sqlite3_context *c, int n, sqlite3_value **v)
{
    (void)n;
    const prune *p = sqlite3_user_data(c);
    sqlite3_result_int(c, bit_get(p->ing_req, p->ning_req, sqlite3_value_int64(v[0])));
}

/* Requests (ids < n) that had a row in `sql` (id, pruned) and all of them pruned. */
static uint64_t *all_pruned(sqlite3 *db, const char *sql, uint64_t n, char **msg)
{
    uint64_t *had = bits_new(n), *kept = bits_new(n);
    sqlite3_stmt *s = prep(db, sql, msg);
    int rc = SQLITE_DONE;
    while (s && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        bit_set(had, n, id);
        if (!sqlite3_column_int(s, 1))
            bit_set(kept, n, id);
    }
    if (s)
        scan_end(db, s, rc, msg);
    for (uint64_t w = 0; w <= n / 64; w++)
        had[w] &= ~kept[w];
    free(kept);
    return had;
}

/* Prunes db (the ledger, the ingest attached as `ing` when with_ingest). 0, or -1 and *msg. */
static int compact(sqlite3 *db, bool with_ingest, char **msg)
{
    prune p = {0};
    p.nitem = (uint64_t)q_int(db, "SELECT COALESCE(MAX(id), 0) FROM items", 0) + 1;
    p.item = bits_new(p.nitem);
    /* Items that arrived once, for their own request - delivered or late: their counts, the
     * report's series and their isolates' totals are kept; their per-item rows go. A big
     * batching run is mostly late items: pruning only the delivered would keep nearly all.
     * One delivered unacknowledged (acked 0) keeps its rows, like a duplicate: its exporter
     * saw a failure. fates of a run older than that column have none. */
    bool acked =
        q_int(db, "SELECT COUNT(*) FROM pragma_table_info('fates', 'main') WHERE name = 'acked'",
              0) == 1;
    sqlite3_stmt *s = prep(db,
                           acked ? "SELECT item FROM fates WHERE fate IN ('delivered', 'late')"
                                   " AND acked IS NOT 0"
                                 : "SELECT item FROM fates WHERE fate IN ('delivered', 'late')",
                           msg);
    int rc = SQLITE_DONE;
    while (s && (rc = sqlite3_step(s)) == SQLITE_ROW)
        bit_set(p.item, p.nitem, sqlite3_column_int64(s, 0));
    if (s)
        scan_end(db, s, rc, msg);
    static const struct {
        const char *name;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {{"edgeloss_pruned_item", fn_pruned_item},
               {"edgeloss_pruned_item_id", fn_pruned_item_id},
               {"edgeloss_pruned_request", fn_pruned_request},
               {"edgeloss_pruned_ing_request", fn_pruned_ing_request}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (sqlite3_create_function(db, fns[i].name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, &p,
                                    fns[i].fn, NULL, NULL) != SQLITE_OK &&
            !*msg)
            *msg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    p.nreq = (uint64_t)q_int(db, "SELECT COALESCE(MAX(id), 0) FROM requests", 0) + 1;
    if (!*msg)
        p.req =
            all_pruned(db, "SELECT request, edgeloss_pruned_item(item) FROM fates", p.nreq, msg);
    if (with_ingest && !*msg) {
        p.ning_req = (uint64_t)q_int(db, "SELECT COALESCE(MAX(id), 0) FROM ing.requests", 0) + 1;
        p.ing_req = all_pruned(
            db, "SELECT request, edgeloss_pruned_item_id(item_id) FROM ing.items", p.ning_req, msg);
    }
    static const char ledger_sql[] =
        "BEGIN;"
        "DELETE FROM moves WHERE edgeloss_pruned_item(item);"
        "DELETE FROM attempt_items WHERE edgeloss_pruned_item(item);"
        "DELETE FROM fates WHERE edgeloss_pruned_item(item);"
        "DELETE FROM items WHERE edgeloss_pruned_item(id);"
        "DELETE FROM requests WHERE edgeloss_pruned_request(id);"
        "INSERT OR REPLACE INTO meta VALUES ('ledger_mode', 'compact');";
    static const char ingest_sql[] =
        "DELETE FROM ing.items WHERE edgeloss_pruned_item_id(item_id);"
        "DELETE FROM ing.requests WHERE edgeloss_pruned_ing_request(id);";
    if (!*msg && (sqlite3_exec(db, ledger_sql, NULL, NULL, msg) != SQLITE_OK ||
                  (with_ingest && sqlite3_exec(db, ingest_sql, NULL, NULL, msg) != SQLITE_OK) ||
                  sqlite3_exec(db, "COMMIT", NULL, NULL, msg) != SQLITE_OK))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (!*msg)
        sqlite3_exec(db, with_ingest ? "VACUUM; VACUUM ing;" : "VACUUM;", NULL, NULL, msg);
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        sqlite3_create_function(db, fns[i].name, 1, SQLITE_UTF8, NULL, NULL, NULL, NULL);
    free(p.item);
    free(p.req);
    free(p.ing_req);
    return *msg ? -1 : 0;
}

/* Attaches the ingest for compaction: no journal while it is rewritten (as the ledger), WAL
 * again after, as mock-ingest leaves its files. */
static int compact_with(sqlite3 *db, const char *ingest_db, char **msg)
{
    if (!ingest_db)
        return compact(db, false, msg);
    sqlite3_stmt *s = prep(db, "ATTACH DATABASE ? AS ing", msg);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, ingest_db, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        *msg = sqlite3_mprintf("%s: %s", ingest_db, sqlite3_errmsg(db));
        return -1;
    }
    if (q_int(db, "SELECT COUNT(*) FROM ing.sqlite_master WHERE name = 'items'", 0) != 1)
        *msg = sqlite3_mprintf("%s: not an ingest database (no items table)", ingest_db);
    else if (sqlite3_exec(db,
                          "PRAGMA ing.journal_mode=OFF; PRAGMA ing.synchronous=OFF;"
                          " PRAGMA ing.cache_size=-65536;",
                          NULL, NULL, msg) == SQLITE_OK)
        compact(db, true, msg);
    sqlite3_exec(db, "PRAGMA ing.journal_mode=WAL", NULL, NULL, NULL);
    sqlite3_exec(db, "DETACH DATABASE ing", NULL, NULL, NULL);
    return *msg ? -1 : 0;
}

sim_err ledger_compact(ledger *l, const char *ingest_db, char *err, size_t errlen)
{
    char *msg = NULL;
    moves_flush(l);
    sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL); /* ledger_finish left one open */
    if (q_int(l->db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'fates'", 0) != 1)
        msg = sqlite3_mprintf("no fates to compact by (the run is not verified)");
    else
        compact_with(l->db, ingest_db, &msg);
    sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL); /* ledger_close commits */
    if (!msg)
        return SIM_OK;
    snprintf(err, errlen, "ledger: compacting: %s", msg);
    sqlite3_free(msg);
    return SIM_ELEDGER;
}

sim_err ledger_compact_files(const char *ledger_db, const char *ingest_db, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    if (sqlite3_open_v2(ledger_db, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        msg = sqlite3_mprintf("%s: %s", ledger_db, db ? sqlite3_errmsg(db) : "out of memory");
    else if (q_int(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'fates'", 0) != 1)
        msg = sqlite3_mprintf("%s: no fates table (not a finished, verified run)", ledger_db);
    else if (sqlite3_exec(db,
                          "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                          " PRAGMA cache_size=-131072;",
                          NULL, NULL, &msg) == SQLITE_OK)
        compact_with(db, ingest_db, &msg);
    sqlite3_close(db);
    if (!msg)
        return SIM_OK;
    snprintf(err, errlen, "ledger: compacting: %s", msg);
    sqlite3_free(msg);
    return SIM_ELEDGER;
}

sim_err ledger_finish(ledger *l, const char *ingest_db, const char *run_id, ledger_report *out,
                      char *err, size_t errlen)
{
    if (l->mem) { /* the join in memory (ledger_mem.h): no ingest database to read */
        (void)ingest_db, (void)run_id, (void)err, (void)errlen;
        lm_finish(l->mem, out);
        memcpy(out->faults, l->faults, sizeof out->faults);
        memcpy(out->fault_rule_fired, l->fault_rule_fired, sizeof out->fault_rule_fired);
        return SIM_OK;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->faults, l->faults, sizeof out->faults);
    memcpy(out->fault_rule_fired, l->fault_rule_fired, sizeof out->fault_rule_fired);
    sqlite3 *db = l->db;
    char *msg = NULL;
    moves_flush(l);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    /* Every numbered item has its row (rows come when an item is complete or lost). */
    int64_t rows = q_int(db, "SELECT COUNT(*) FROM items", 0);
    if (rows != (int64_t)l->next_item - 1) {
        snprintf(err, errlen, "ledger: %" PRIu64 " items numbered, %" PRId64 " recorded",
                 l->next_item - 1, rows);
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        return SIM_ELEDGER;
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS ing", -1, &s, NULL) != SQLITE_OK) {
        msg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_bind_text(s, 1, ingest_db, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE ||
        q_int(db, "SELECT COUNT(*) FROM ing.sqlite_master WHERE name = 'items'", 0) != 1) {
        snprintf(err, errlen, "%s: not an ingest database (no items table)", ingest_db);
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        return SIM_ELEDGER;
    }
    /* The fates statement with the run bound (several statements: run them one by one). */
    bool has_acks = ingest_has_acks(db);
    char *mine = mine_sql(run_id, has_acks);
    char *sql = mine ? sqlite3_mprintf(fates_sql, mine) : NULL;
    sqlite3_free(mine);
    if (!sql)
        abort();
    const char *tail = sql;
    while (tail && *tail) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
            msg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
            sqlite3_free(sql);
            goto fail;
        }
        if (!st)
            break;
        int idx = sqlite3_bind_parameter_index(st, "@run");
        if (idx && run_id)
            sqlite3_bind_text(st, idx, run_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            msg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
            sqlite3_free(sql);
            goto fail;
        }
    }
    sqlite3_free(sql);
    /* One pass for the counts by fate and cause, the extra copies, the items on
     * low-volume isolates (1-10 requests, the seed's population) and the unacknowledged. */
    sqlite3_stmt *g;
    if (sqlite3_prepare_v2(db,
                           "SELECT f.fate, f.cause, COUNT(*), SUM(MAX(f.copies - 1, 0)),"
                           " SUM(i.requests BETWEEN 1 AND 10), SUM(f.acked = 0) FROM fates f"
                           " LEFT JOIN isolates i ON i.id = f.isolate GROUP BY f.fate, f.cause",
                           -1, &g, NULL) != SQLITE_OK) {
        msg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
        goto fail;
    }
    while (sqlite3_step(g) == SQLITE_ROW) {
        const char *fate = (const char *)sqlite3_column_text(g, 0);
        const char *cause = (const char *)sqlite3_column_text(g, 1);
        uint64_t n = (uint64_t)sqlite3_column_int64(g, 2);
        uint64_t low = (uint64_t)sqlite3_column_int64(g, 4);
        out->items += n;
        out->copies_extra += (uint64_t)sqlite3_column_int64(g, 3);
        out->low_volume_items += low;
        out->unacknowledged += (uint64_t)sqlite3_column_int64(g, 5);
        if (fate && strcmp(fate, "lost") == 0)
            out->low_volume_lost += low;
        for (int f = 0; f < FATE_COUNT; f++)
            if (fate && strcmp(fate, ledger_fate_name((ledger_fate)f)) == 0)
                out->fate[f] += n;
        int c = cause ? ledger_cause_find(cause) : -1;
        if (c >= 0)
            out->lost_by[c] += n;
    }
    sqlite3_finalize(g);
    out->acks_unknown = !has_acks;
    out->attempts = (uint64_t)q_int(db, "SELECT COUNT(*) FROM attempts", 0);
    out->items_per_post = q_double(db, "SELECT AVG(items) FROM attempts");
    delay_percentiles(db, &out->delay_p50_ms, &out->delay_p95_ms);
    out->requests = (uint64_t)q_int(db, "SELECT COUNT(*) FROM requests", 0);
    out->added_response_ms =
        q_double(db, "SELECT AVG(call_ns_before_response) / 1e6 FROM requests");
    out->added_wait_until_ms = q_double(db, "SELECT AVG(call_ns_wait_until) / 1e6 FROM requests");
    requests_p99(db, &out->added_response_p99_ms, &out->added_wait_until_p99_ms);
    /* Scans of the lost items: only when there are any. */
    bool evicted = out->lost_by[CAUSE_EVICTED_IN_BUFFER] || out->lost_by[CAUSE_DROPPED_IN_BACKOFF];
    if (evicted) {
        out->exposure_items = (uint64_t)q_int(
            db,
            "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM fates WHERE fate = 'lost'"
            " AND cause IN ('evicted-in-buffer', 'dropped-in-backoff') GROUP BY died_on)",
            0);
        out->exposure_bytes = (uint64_t)q_int(
            db,
            "SELECT MAX(b) FROM (SELECT SUM(bytes) AS b FROM fates WHERE fate = 'lost'"
            " AND cause IN ('evicted-in-buffer', 'dropped-in-backoff') GROUP BY died_on)",
            0);
    }
    out->private_accesses = (uint64_t)q_int(db, "SELECT COUNT(*) FROM private_access", 0);
    by_evict_cause(db,
                   "SELECT cause, COUNT(*) FROM isolates WHERE cause IS NOT NULL GROUP BY cause",
                   out->evicted);
    /* Where the loss concentrates, when there is a choice of routes or colos. */
    if (l->routes_differ)
        out->nby_route = groups(db, "route", out->by_route);
    if (l->colos_differ)
        out->nby_colo = groups(db, "colo", out->by_colo);
    if (evicted)
        by_evict_cause(db,
                       "SELECT i.cause, COUNT(*) FROM fates f JOIN isolates i ON i.id = f.died_on"
                       " WHERE f.fate = 'lost' AND f.cause IN ('evicted-in-buffer', "
                       "'dropped-in-backoff') GROUP BY i.cause",
                       out->lost_when_evicted);
    out->flush_requests =
        (uint64_t)q_int(db, "SELECT COUNT(*) FROM requests WHERE flush_in_wait_until = 1", 0);
    out->flush_requests_late = (uint64_t)q_int(
        db,
        "SELECT COUNT(*) FROM requests q WHERE q.flush_in_wait_until = 1 AND EXISTS ("
        " SELECT 1 FROM fates f WHERE f.request = q.id AND (f.fate = 'lost'"
        " OR q.ended_ns IS NULL OR f.first_ns > q.ended_ns))",
        0);
    out->ingest_hash = ingest_hash(db, run_id);
    out->entries = (uint64_t)q_int(db, "SELECT COUNT(*) FROM fates WHERE kind = 'entry'", 0);
    if (out->fate[FATE_MISATTRIBUTED]) {
        out->mixed_items = (uint64_t)q_int(
            db, "SELECT COUNT(*) FROM fates WHERE kind = 'entry' AND fate = 'misattributed'", 0);
        out->mixed_requests = (uint64_t)q_int(db,
                                              "SELECT COUNT(DISTINCT credited_to) FROM fates"
                                              " WHERE kind = 'entry' AND fate = 'misattributed'",
                                              0);
    }
    stories(db, out);
    if ((out->carried =
             (uint64_t)q_int(db, "SELECT COUNT(*) FROM fates WHERE kind = 'carried'", 0)))
        pipeline_report(db, run_id, out);
    sqlite3_exec(db, "DETACH DATABASE ing", NULL, NULL, NULL);
    /* The report's aggregates, from the ledger and fates alone. */
    if (report_tables(l, true, &out->funnel, &msg))
        goto fail;
    out->funnel.recorded = out->items - out->fate[FATE_LOST];
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL); /* ledger_close commits */
    return 0;
fail:
    snprintf(err, errlen, "ledger: %s", msg ? msg : "database error");
    sqlite3_free(msg);
    return SIM_ELEDGER;
}
