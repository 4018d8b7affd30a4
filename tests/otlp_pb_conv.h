/*
 * OTLP/JSON request bodies re-encoded as OTLP/protobuf with the generated
 * protobuf-c API, by the proto3 JSON mapping (hex ids, nanosecond times and
 * int64s as strings or numbers, base64 bytes, "NaN"/"Infinity" doubles):
 * the same data in the other encoding, for the tests that compare the two
 * decoders on the SDK fixtures, the decode benchmark and the fuzz seeds.
 * Spans keep their events and links, points their buckets and quantiles
 * (what a protobuf exporter would send too), not exemplars.
 */
#ifndef EDGELOSS_TEST_OTLP_PB_CONV_H
#define EDGELOSS_TEST_OTLP_PB_CONV_H

#include "otlp.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The request of signal `sig` in `len` bytes of JSON, packed: malloc'd, its
 * size in *out_len. NULL when the JSON does not parse or is not an object.
 */
uint8_t *t_otlp_json_to_pb(otlp_signal sig, const char *json, size_t len, size_t *out_len);

#endif
