/*
 * libFuzzer harness: mock-ingest's OTLP/HTTP JSON decoder, the whole decode
 * of one request body (otlp_decode) as the server runs it after inflating.
 *
 * Input: the first byte picks the signal (its value mod 3: '0' traces,
 * '1' metrics, '2' logs), the rest is the body, not NUL-terminated (as the
 * server passes it), decoded under limits (10000 items: few enough that a
 * refusal is reachable within -max_len; 64 MiB). Besides memory
 * errors and UB, the decoder's documented contract is checked: a bad or too
 * large request holds no items and says why; an accepted one stays within
 * the limits (items, footprint); an accepted item's ids are "" or lower-case
 * hex of the right length; its attributes are one JSON object text.
 * Mutations are JSON-aware (json_mutator.h), past the signal byte.
 */
#include "json_mutator.h"
#include "otlp.h"
#include "otlp_item_check.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return fuzz_json_mutate(data, size, max_size, seed, 1);
}

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_otlp_json: contract broken: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const otlp_signal signals[] = {OTLP_SIGNAL_TRACES, OTLP_SIGNAL_METRICS,
                                          OTLP_SIGNAL_LOGS};
    static const otlp_kind kinds[] = {OTLP_SPAN, OTLP_METRIC, OTLP_LOG};
    if (size < 1)
        return 0;
    int pick = data[0] % 3;
    otlp_batch b;
    memset(&b, 0, sizeof b);
    char err[256] = "";
    const otlp_limits lim = {.max_items = 10000, .max_memory = (size_t)64 << 20};
    int rc =
        otlp_decode(&b, signals[pick], (const char *)data + 1, size - 1, &lim, err, sizeof err);
    if (!check_decode(rc, &b, &lim, kinds[pick], err))
        broken("otlp_decode returned an unknown code");
    otlp_batch_free(&b);
    return 0;
}
