/*
 * Writes fuzz_otlp_pb's seeds (built and run by tests/fuzz/CMakeLists.txt,
 * into the build tree): every body of OTLP fixture manifests as protobuf -
 * the JSON ones re-encoded (tests/otlp_pb_conv.h), gunzipped first when they
 * are gzip, protobuf ones as they are - plus a few bodies of what the
 * fixtures lack (exponential histograms, summaries, every log body type,
 * nested values), each after the harness's signal byte.
 *
 *   otlp_pb_seeds OUTDIR MANIFEST...
 *
 * Seeds are named after their bodies (traces_basic.body: traces_basic.pb).
 */
#include "gunzip.h"
#include "otlp_pb_conv.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    otlp_signal sig;
    const char *json;
} extras[] = {
    {"metrics_every_type", OTLP_SIGNAL_METRICS,
     "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
     "\"stringValue\":\"s\"}}]},\"scopeMetrics\":[{\"scope\":{\"name\":\"m\"},\"metrics\":["
     "{\"name\":\"e\",\"exponentialHistogram\":{\"dataPoints\":[{\"count\":\"7\",\"sum\":3.5,"
     "\"scale\":-2,\"zeroCount\":\"1\",\"positive\":{\"offset\":-1,\"bucketCounts\":[\"1\",\"3\"]},"
     "\"negative\":{\"bucketCounts\":[\"2\"]},\"attributes\":[{\"key\":\"edgeloss.item_id\","
     "\"value\":{\"stringValue\":\"e-1\"}}]},{\"count\":\"1\"}]}},"
     "{\"name\":\"q\",\"summary\":{\"dataPoints\":[{\"count\":\"2\",\"sum\":3,\"quantileValues\":["
     "{\"quantile\":0.5,\"value\":1},{\"quantile\":1,\"value\":2}]}]}},"
     "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"-7\",\"timeUnixNano\":\"5\"},"
     "{\"asDouble\":\"NaN\"}]}},{\"name\":\"none\"}]}]}]}"},
    {"logs_every_body", OTLP_SIGNAL_LOGS,
     "{\"resourceLogs\":[{\"scopeLogs\":[{\"scope\":{\"name\":\"l\",\"attributes\":[{\"key\":"
     "\"edgeloss.request_id\",\"value\":{\"intValue\":\"5\"}}]},\"logRecords\":["
     "{\"body\":{\"bytesValue\":\"3q2+7w==\"},\"traceId\":\"5b8efff798038103d269b633813fc60c\","
     "\"spanId\":\"00f067aa0ba902b7\",\"eventName\":\"ev\",\"severityNumber\":9},"
     "{\"body\":{\"boolValue\":true}},{\"body\":{\"doubleValue\":\"-Infinity\"}},{\"body\":{}},"
     "{\"body\":{\"arrayValue\":{\"values\":[{\"kvlistValue\":{\"values\":[{\"key\":\"k\","
     "\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":\"-9223372036854775808\"}]}}}]}}]}}}"
     "]}]}]}"},
    {"traces_bad_ids", OTLP_SIGNAL_TRACES,
     "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
     "\"00000000000000000000000000000000\","
     "\"spanId\":\"00f067aa0ba902\"},{\"traceId\":\"5b8efff798038103d269b633813fc60c\","
     "\"spanId\":\"00f067aa0ba902b7\",\"parentSpanId\":\"0102\",\"endTimeUnixNano\":"
     "\"18446744073709551615\",\"attributes\":[{\"key\":\"edgeloss.item_id\",\"value\":{"
     "\"intValue\":42}},{\"key\":\"x\"}]}]}]}]}"},
};

static otlp_signal signal_of(const char *kind)
{
    return strcmp(kind, "span") == 0     ? OTLP_SIGNAL_TRACES
           : strcmp(kind, "metric") == 0 ? OTLP_SIGNAL_METRICS
                                         : OTLP_SIGNAL_LOGS;
}

static int write_seed(const char *dir, const char *name, otlp_signal sig, const void *body,
                      size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.pb", dir, name);
    FILE *f = fopen(path, "wb");
    char signal_byte = (char)('0' + (int)sig);
    int ok = f && fwrite(&signal_byte, 1, 1, f) == 1 && fwrite(body, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "otlp_pb_seeds: cannot write %s\n", path);
    return ok ? 0 : 1;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    ing_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (!ing_buf_append(&b, chunk, n))
            break;
    fclose(f);
    *len = b.len;
    return b.data ? b.data : calloc(1, 1);
}

/* One manifest entry's body as a seed: protobuf as it is, JSON re-encoded. */
static int fixture_seed(const char *base, const cJSON *fx, const char *dir)
{
    const char *file = cJSON_GetObjectItem(fx, "path")->valuestring;
    otlp_signal sig = signal_of(cJSON_GetObjectItem(fx, "kind")->valuestring);
    const cJSON *ct = cJSON_GetObjectItem(fx, "content_type");
    char path[1024], name[256];
    snprintf(path, sizeof path, "%s/%s", base, file);
    snprintf(name, sizeof name, "%s", file);
    char *dot = strrchr(name, '.');
    if (dot)
        *dot = '\0';
    size_t len;
    char *raw = read_all(path, &len);
    if (!raw) {
        fprintf(stderr, "otlp_pb_seeds: cannot read %s\n", path);
        return 1;
    }
    ing_buf plain = {0};
    const char *msg = NULL;
    if (len >= 2 && (unsigned char)raw[0] == 0x1f && (unsigned char)raw[1] == 0x8b &&
        ing_gunzip(raw, len, (size_t)64 << 20, &plain, &msg) == 0) {
        free(raw);
        len = plain.len;
        raw = plain.data;
        plain.data = NULL;
    }
    int rc;
    if (cJSON_IsString(ct) && strstr(ct->valuestring, "protobuf")) {
        rc = write_seed(dir, name, sig, raw, len);
    } else {
        size_t n;
        uint8_t *pb = t_otlp_json_to_pb(sig, raw, len, &n);
        rc = pb ? write_seed(dir, name, sig, pb, n) : 1;
        free(pb);
    }
    free(raw);
    ing_buf_free(&plain);
    return rc;
}

/* Every body of one manifest as a seed. */
static int manifest_seeds(const char *manifest, const char *dir)
{
    size_t len;
    char *text = read_all(manifest, &len);
    cJSON *m = text ? cJSON_ParseWithLength(text, len) : NULL;
    int failed = 0;
    if (!cJSON_IsArray(m)) {
        fprintf(stderr, "otlp_pb_seeds: %s is not a fixture manifest\n", manifest);
        failed = 1;
    }
    char base[1024];
    snprintf(base, sizeof base, "%s", manifest);
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(base, sizeof base, ".");
    const cJSON *fx;
    if (!failed)
        cJSON_ArrayForEach(fx, m) failed |= fixture_seed(base, fx, dir);
    cJSON_Delete(m);
    free(text);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: otlp_pb_seeds OUTDIR MANIFEST...\n");
        return 2;
    }
    int failed = 0;
    for (int i = 2; i < argc; i++)
        failed |= manifest_seeds(argv[i], argv[1]);
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        size_t n;
        uint8_t *pb = t_otlp_json_to_pb(extras[i].sig, extras[i].json, strlen(extras[i].json), &n);
        failed |= pb ? write_seed(argv[1], extras[i].name, extras[i].sig, pb, n) : 1;
        free(pb);
    }
    return failed;
}
