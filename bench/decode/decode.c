/*
 * Decode benchmark: otlp_decode_pb against otlp_decode on the same data in
 * the same run. The protobuf body is the JSON body re-encoded with the
 * generated protobuf-c API (tests/otlp_pb_conv.h); both must give the same
 * number of items first. Each decoder reuses its batch, as the server does;
 * rounds alternate which decoder goes first, so that drift (frequency,
 * caches) does not favour one, and the median round is reported.
 *
 *   decode-bench FILE.json traces|metrics|logs [ITERATIONS_PER_ROUND [ROUNDS]]
 */
#include "otlp.h"
#include "otlp_pb.h"
#include "otlp_pb_conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct subject {
    const char *name;
    bool pb;
    const void *body;
    size_t len;
    otlp_batch batch;
    double ns[64]; /* per decode, one per round */
} subject;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int decode(subject *s, otlp_signal sig, char *err, size_t errlen)
{
    return s->pb ? otlp_decode_pb(&s->batch, sig, s->body, s->len, NULL, err, errlen)
                 : otlp_decode(&s->batch, sig, s->body, s->len, NULL, err, errlen);
}

/* Nanoseconds per decode over `iters` decodes; exits on a failed decode. */
static double run(subject *s, otlp_signal sig, long iters)
{
    char err[256];
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (decode(s, sig, err, sizeof err) != OTLP_OK) {
            fprintf(stderr, "decode-bench: %s: %s\n", s->name, err);
            exit(1);
        }
    }
    return (now_ns() - t0) / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    *len = p ? fread(p, 1, (size_t)n, f) : 0;
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr,
                "usage: decode-bench FILE.json traces|metrics|logs [ITERATIONS [ROUNDS]]\n");
        return 2;
    }
    otlp_signal sig = strcmp(argv[2], "traces") == 0    ? OTLP_SIGNAL_TRACES
                      : strcmp(argv[2], "metrics") == 0 ? OTLP_SIGNAL_METRICS
                                                        : OTLP_SIGNAL_LOGS;
    long iters = argc > 3 ? atol(argv[3]) : 20000;
    int rounds = argc > 4 ? atoi(argv[4]) : 15;
    if (iters < 1 || rounds < 1 || rounds > 64) {
        fprintf(stderr, "decode-bench: ITERATIONS >= 1, 1 <= ROUNDS <= 64\n");
        return 2;
    }
    size_t jlen, plen;
    char *json = read_file(argv[1], &jlen);
    uint8_t *pb = json ? t_otlp_json_to_pb(sig, json, jlen, &plen) : NULL;
    if (!pb) {
        fprintf(stderr, "decode-bench: %s: not an OTLP JSON body\n", argv[1]);
        return 1;
    }
    subject s[2] = {{.name = "json", .body = json, .len = jlen},
                    {.name = "protobuf", .pb = true, .body = pb, .len = plen}};
    run(&s[0], sig, iters / 10 + 1); /* warm: batches, arenas, caches */
    run(&s[1], sig, iters / 10 + 1);
    if (s[0].batch.n != s[1].batch.n || s[0].batch.n == 0) {
        fprintf(stderr, "decode-bench: %zu items from JSON, %zu from protobuf\n", s[0].batch.n,
                s[1].batch.n);
        return 1;
    }
    for (int r = 0; r < rounds; r++) {
        int first = r % 2;
        s[first].ns[r] = run(&s[first], sig, iters);
        s[1 - first].ns[r] = run(&s[1 - first], sig, iters);
    }
    size_t items = s[0].batch.n;
    double mj = median(s[0].ns, rounds), mp = median(s[1].ns, rounds);
    printf("%s: %zu items; %ld decodes per round, %d rounds, median round\n", argv[1], items, iters,
           rounds);
    printf("json      %6zu bytes  %9.0f ns/decode  %7.0f ns/item\n", jlen, mj, mj / (double)items);
    printf("protobuf  %6zu bytes  %9.0f ns/decode  %7.0f ns/item\n", plen, mp, mp / (double)items);
    printf("protobuf/json: %.3f\n", mp / mj);
    otlp_batch_free(&s[0].batch);
    otlp_batch_free(&s[1].batch);
    free(json);
    free(pb);
    return 0;
}
