/*
 * The naive ingest, as a first implementation would be written: for each
 * request parse the body with cJSON, walk it, and write the request and its
 * spans in a transaction of its own with prepared statements, into the same
 * schema with the same durability settings (WAL, synchronous=NORMAL), then
 * answer. Handles /v1/traces only: that is what the benchmark sends.
 */
#include "serve.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct naive {
    sqlite3 *db;
    sqlite3_stmt *ins_req, *ins_item, *set_counts;
} naive;

static const char *attr_str(const cJSON *attrs, const char *key)
{
    const cJSON *kv;
    cJSON_ArrayForEach(kv, attrs)
    {
        const cJSON *k = cJSON_GetObjectItem(kv, "key");
        if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0) {
            const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(kv, "value"), "stringValue");
            return cJSON_IsString(v) ? v->valuestring : NULL;
        }
    }
    return NULL;
}

static long long to_ll(const cJSON *v)
{
    if (cJSON_IsString(v))
        return atoll(v->valuestring);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

static int ingest(naive *n, const char *body, size_t len, int *status)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) {
        *status = 400;
        return 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    sqlite3_exec(n->db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *r = n->ins_req;
    sqlite3_bind_int64(r, 1, now);
    sqlite3_bind_int64(r, 2, now);
    sqlite3_bind_int64(r, 3, (long long)len);
    sqlite3_bind_int64(r, 4, (long long)len);
    sqlite3_step(r);
    sqlite3_reset(r);
    long long req_row = sqlite3_last_insert_rowid(n->db);
    long long count = 0;
    const cJSON *rs, *ss, *sp;
    cJSON_ArrayForEach(rs, cJSON_GetObjectItem(root, "resourceSpans"))
    {
        const char *service = attr_str(
            cJSON_GetObjectItem(cJSON_GetObjectItem(rs, "resource"), "attributes"), "service.name");
        cJSON_ArrayForEach(ss, cJSON_GetObjectItem(rs, "scopeSpans"))
        {
            const cJSON *scope = cJSON_GetObjectItem(ss, "scope");
            cJSON_ArrayForEach(sp, cJSON_GetObjectItem(ss, "spans"))
            {
                const cJSON *attrs = cJSON_GetObjectItem(sp, "attributes");
                char *attrs_json = cJSON_PrintUnformatted(attrs);
                sqlite3_stmt *s = n->ins_item;
                sqlite3_bind_int64(s, 1, req_row);
                sqlite3_bind_int64(s, 2, now);
                sqlite3_bind_text(s, 3, attr_str(attrs, "edgeloss.item_id"), -1, SQLITE_STATIC);
                sqlite3_bind_text(s, 4, attr_str(attrs, "edgeloss.request_id"), -1, SQLITE_STATIC);
                sqlite3_bind_text(s, 5, service, -1, SQLITE_STATIC);
                sqlite3_bind_text(s, 6, cJSON_GetStringValue(cJSON_GetObjectItem(scope, "name")),
                                  -1, SQLITE_STATIC);
                sqlite3_bind_text(s, 7, cJSON_GetStringValue(cJSON_GetObjectItem(sp, "name")), -1,
                                  SQLITE_STATIC);
                sqlite3_bind_text(s, 8, cJSON_GetStringValue(cJSON_GetObjectItem(sp, "traceId")),
                                  -1, SQLITE_STATIC);
                sqlite3_bind_text(s, 9, cJSON_GetStringValue(cJSON_GetObjectItem(sp, "spanId")), -1,
                                  SQLITE_STATIC);
                sqlite3_bind_text(s, 10,
                                  cJSON_GetStringValue(cJSON_GetObjectItem(sp, "parentSpanId")), -1,
                                  SQLITE_STATIC);
                sqlite3_bind_int64(s, 11, to_ll(cJSON_GetObjectItem(sp, "startTimeUnixNano")));
                sqlite3_bind_int64(s, 12, to_ll(cJSON_GetObjectItem(sp, "endTimeUnixNano")));
                sqlite3_bind_text(s, 13, attrs_json, -1, SQLITE_TRANSIENT);
                sqlite3_step(s);
                sqlite3_reset(s);
                cJSON_free(attrs_json);
                count++;
            }
        }
    }
    sqlite3_stmt *u = n->set_counts;
    sqlite3_bind_int64(u, 1, count);
    sqlite3_bind_int64(u, 2, req_row);
    sqlite3_step(u);
    sqlite3_reset(u);
    int rc = sqlite3_exec(n->db, "COMMIT", NULL, NULL, NULL);
    cJSON_Delete(root);
    *status = rc == SQLITE_OK ? 200 : 503;
    return 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)url, (void)method, (void)version;
    bench_body *b = *con_cls;
    if (!b) {
        *con_cls = calloc(1, sizeof *b);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        int rc = bench_body_append(b, upload, *upload_size);
        *upload_size = 0;
        return rc ? MHD_NO : MHD_YES;
    }
    int status;
    ingest(cls, b->data ? b->data : "", b->len, &status);
    static char ok[] = "{}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof ok - 1, ok, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result q = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return q;
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
                 enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    bench_body *b = *con_cls;
    if (b)
        free(b->data);
    free(b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: naive-ingest DB [PORT]\n");
        return 2;
    }
    naive n = {0};
    if (sqlite3_open(argv[1], &n.db) != SQLITE_OK ||
        sqlite3_exec(n.db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(n.db, store_schema_sql(), NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "naive-ingest: %s\n", sqlite3_errmsg(n.db));
        return 1;
    }
    sqlite3_prepare_v2(n.db,
                       "INSERT INTO requests (time_ns, wall_ns, time_source, method, path, status,"
                       " content_type, bytes_wire, bytes_body, items_received, items_accepted,"
                       " items_rejected) VALUES (?1, ?2, 'wall', 'POST', '/v1/traces', 200,"
                       " 'application/json', ?3, ?4, 0, 0, 0)",
                       -1, &n.ins_req, NULL);
    sqlite3_prepare_v2(n.db,
                       "INSERT INTO items (request, kind, accepted, time_ns, item_id, request_id,"
                       " service, scope, name, trace_id, span_id, parent_span_id, start_ns, end_ns,"
                       " attrs) VALUES (?1, 'span', 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                       " ?12, ?13)",
                       -1, &n.ins_item, NULL);
    sqlite3_prepare_v2(n.db,
                       "UPDATE requests SET items_received = ?1, items_accepted = ?1 WHERE id = ?2",
                       -1, &n.set_counts, NULL);
    int rc = bench_serve(argc > 2 ? (unsigned short)atoi(argv[2]) : 0, handler, &n, done);
    sqlite3_finalize(n.ins_req);
    sqlite3_finalize(n.ins_item);
    sqlite3_finalize(n.set_counts);
    sqlite3_close(n.db);
    return rc;
}
