/*
 * OTLP/HTTP protobuf decoding (Content-Type: application/x-protobuf) into the
 * same otlp_batch as the JSON decoder (otlp.h), and the protobuf answers.
 *
 * The same data sent as JSON or as protobuf gives the same items, byte for
 * byte: ids in lower-case hex, times, names, the `attrs` and `body` JSON
 * texts, the join keys, the rejections with their reason codes and messages
 * (which name the JSON fields: traceId, spanId, ...). What the encodings
 * cannot say the same way:
 *  - raw ids: an id of the wrong length (or all zero) is rejected like a
 *    JSON id of the wrong number of hex digits;
 *  - fixed64 times and counts past INT64_MAX are rejected as in JSON;
 *  - int64 values are exact, as the JSON decoder gives an intValue sent as a
 *    string (a JSON number past 2^53 has lost digits already); bytesValue
 *    comes out as standard padded base64, the text proto3 JSON sends;
 *  - proto3 has no "absent" for a string: an empty span, metric or scope
 *    name is "" (SDKs send these names in JSON too), an empty log event_name
 *    is NULL (SDKs leave it out of JSON when there is none); a histogram's
 *    and summary's count is always there, a summary's sum too (a histogram's
 *    sum only when sent: it has presence);
 *  - a metric with no data set holds no items, as in JSON.
 * Unknown fields are skipped. A body of 0 bytes is a valid, empty request.
 */
#ifndef ING_OTLP_PB_H
#define ING_OTLP_PB_H

#include "otlp.h"

/*
 * Messages may nest at most this deep (the request is level 1): protobuf-c
 * unpacks recursively, so a body that nests deeper is refused before it is
 * unpacked. It allows AnyValue arrays and lists ~500 deep (each level is two
 * messages), past what the JSON decoder accepts (cJSON's 1000 nesting levels,
 * three per AnyValue level). At the bound an unpack takes just under 1 MiB of
 * stack (measured: ~0.9 KiB a level); the threads that decode have the
 * default 8 MiB.
 */
#define OTLP_PB_MAX_DEPTH 1024

/*
 * Decodes `len` bytes of `body`, an Export{Trace,Metrics,Logs}ServiceRequest
 * as `sig` says, into `b` (reset first; reusable), within `lim` (NULL: no
 * limits). Returns what otlp_decode returns, with `err` saying why and `b`
 * holding no items on failure:
 *  - OTLP_BAD_REQUEST: not a valid message of that type, or nested deeper
 *    than OTLP_PB_MAX_DEPTH;
 *  - OTLP_TOO_LARGE: more than lim->max_items items (b->too_many_items set),
 *    or more than lim->max_memory bytes needed: the unpacked message is
 *    charged to the batch's budget like the JSON tree, so it never takes the
 *    batch's footprint past the limit;
 *  - OTLP_NOMEM: malloc failed.
 */
int otlp_decode_pb(otlp_batch *b, otlp_signal sig, const void *body, size_t len,
                   const otlp_limits *lim, char *err, size_t errlen);

/*
 * The body of a successful answer: an Export{Trace,Metrics,Logs}ServiceResponse
 * whose partial_success says how many items were rejected and why, set only
 * when `rejected` > 0 (error_message may be NULL). Replaces what `out` held.
 * OTLP_OK or OTLP_NOMEM.
 */
int otlp_encode_pb_response(otlp_signal sig, size_t rejected, const char *error_message,
                            ing_buf *out);
/*
 * The body of an error answer: a google.rpc.Status with the gRPC status
 * `code` and `message` (may be NULL). Replaces what `out` held. OTLP_OK or
 * OTLP_NOMEM.
 */
int otlp_encode_pb_status(int code, const char *message, ing_buf *out);

#endif
