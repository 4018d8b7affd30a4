/*
 * The floor for exports/s: a bare loop posting the same kind of pre-encoded
 * 8-span OTLP/HTTP JSON body through the same transport (libcurl and the
 * embedded mock-ingest taking turns on one thread), with nothing simulated
 * and no ledger.   bare-post N
 */
#include "transport.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An 8-span body shaped like the SDK's (sim/sdk.c, sim/exporters/send.c). */
static size_t body(char *b, size_t cap, uint64_t first)
{
    size_t o = (size_t)snprintf(b, cap,
                                "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
                                "\"service.name\",\"value\":{\"stringValue\":\"edge-worker\"}},"
                                "{\"key\":\"edgeloss.request_id\",\"value\":{\"stringValue\":"
                                "\"r%" PRIu64 "\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":"
                                "\"edgeloss-sdk\",\"version\":\"1\"},\"spans\":[",
                                first);
    for (int i = 0; i < 8; i++)
        o += (size_t)snprintf(
            b + o, cap - o,
            "%s{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"%016" PRIx64
            "\",\"name\":\"work\",\"kind\":1,\"startTimeUnixNano\":\"1000000\","
            "\"endTimeUnixNano\":\"1000000\",\"attributes\":[{\"key\":\"edgeloss.item_id\","
            "\"value\":{\"stringValue\":\"i%010" PRIu64 "\"}},{\"key\":\"edgeloss.request_id\","
            "\"value\":{\"stringValue\":\"r%" PRIu64 "\"}}],\"status\":{}}",
            i ? "," : "", (uint64_t)i + 1, first * 8 + (uint64_t)i, first);
    o += (size_t)snprintf(b + o, cap - o, "]}]}]}");
    return o;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    char dir[] = "/tmp/bare-post-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char db[64];
    snprintf(db, sizeof db, "%s/ingest.db", dir);
    char err[256];
    double t0 = now();
    transport *t;
    transport_config cfg = {.ingest_db = db, .run_id = "bare"};
    if (transport_open(&cfg, &t, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    static char b[16384];
    for (long i = 0; i < n; i++) {
        size_t len = body(b, sizeof b, (uint64_t)i + 1);
        transport_result res;
        if (transport_post(t, "/v1/traces", b, len, i * 10000000LL, 1, &res, err, sizeof err) ||
            res.status != 200) {
            fprintf(stderr, "post %ld: %s\n", i, err);
            return 1;
        }
    }
    transport_close(t);
    double wall = now() - t0;
    printf("config: bare loop, %ld POSTs of 8 spans (%zu bytes), libcurl and the embedded "
           "mock-ingest on one thread\n",
           n, body(b, sizeof b, 1));
    printf("posts: %ld\nwall: %.6f s\nexports/s: %.0f\n", n, wall, (double)n / wall);
    char side[80];
    const char *sides[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", db, sides[i]);
        unlink(side);
    }
    rmdir(dir);
    return 0;
}
