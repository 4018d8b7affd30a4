/*
 * libFuzzer harness: mock-ingest's OTLP/HTTP protobuf decoder, the whole
 * decode of one request body (otlp_decode_pb) as the server runs it after
 * inflating.
 *
 * Input: the first byte picks the signal (its value mod 3: '0' traces,
 * '1' metrics, '2' logs), the rest is the body, decoded under the limits of
 * fuzz_otlp_json (10000 items, 64 MiB). Besides memory errors, UB and stack
 * exhaustion (protobuf-c unpacks recursively: the nesting bound must hold),
 * the decoder's documented contract is checked: a bad or too large request
 * holds no items and says why; an accepted one stays within the limits
 * (items, footprint); an accepted item's ids are "" or lower-case hex of the
 * right length; its attributes are one JSON object text; and decoding the
 * same body again into the reused batch gives the same items. Mutations are
 * libFuzzer's own (a binary format: no JSON mutator, no dictionary).
 */
#include "otlp.h"
#include "otlp_item_check.h"
#include "otlp_pb.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_otlp_pb: contract broken: %s\n", what);
    abort();
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The fields a second decode of the same body must reproduce. */
static bool same_item(const otlp_item *a, const otlp_item *b)
{
    return a->kind == b->kind && same_str(a->reject, b->reject) &&
           same_str(a->item_id, b->item_id) && same_str(a->request_id, b->request_id) &&
           same_str(a->sent_for, b->sent_for) && same_str(a->service, b->service) &&
           same_str(a->scope, b->scope) && same_str(a->name, b->name) &&
           strcmp(a->trace_id, b->trace_id) == 0 && strcmp(a->span_id, b->span_id) == 0 &&
           strcmp(a->parent_span_id, b->parent_span_id) == 0 && a->start_ns == b->start_ns &&
           a->end_ns == b->end_ns && same_str(a->metric_type, b->metric_type) &&
           a->has_value == b->has_value && memcmp(&a->value, &b->value, sizeof a->value) == 0 &&
           a->count == b->count && a->severity == b->severity && same_str(a->body, b->body) &&
           same_str(a->attrs, b->attrs);
}

/*
 * The same body again into `b`, warm from the first decode: the same items as
 * a fresh batch's. (Near max_memory what `b` kept may tip it over: documented,
 * and out of reach within -max_len.)
 */
static void check_again(otlp_batch *b, otlp_signal sig, const uint8_t *body, size_t len,
                        const otlp_limits *lim)
{
    otlp_batch fresh;
    memset(&fresh, 0, sizeof fresh);
    char err[256] = "";
    if (otlp_decode_pb(&fresh, sig, body, len, lim, err, sizeof err) != OTLP_OK)
        broken("an accepted body refused by a fresh batch");
    if (otlp_decode_pb(b, sig, body, len, lim, err, sizeof err) != OTLP_OK)
        broken("an accepted body refused the second time");
    if (fresh.n != b->n || fresh.rejected != b->rejected ||
        strcmp(fresh.first_error, b->first_error) != 0)
        broken("a second decode of the same body differs");
    for (size_t i = 0; i < b->n; i++)
        if (!same_item(&fresh.items[i], &b->items[i]))
            broken("a second decode of the same body gives another item");
    otlp_batch_free(&fresh);
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
    int rc = otlp_decode_pb(&b, signals[pick], data + 1, size - 1, &lim, err, sizeof err);
    if (!check_decode(rc, &b, &lim, kinds[pick], err))
        broken("otlp_decode_pb returned an unknown code");
    if (rc == OTLP_OK)
        check_again(&b, signals[pick], data + 1, size - 1, &lim);
    otlp_batch_free(&b);
    return 0;
}
