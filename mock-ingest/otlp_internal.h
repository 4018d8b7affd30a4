/*
 * What the OTLP decoders share (otlp.c for JSON, otlp_pb.c for protobuf), so
 * that the same data in either encoding becomes the same items: how an item
 * is made and rejected, with which reason codes and messages, how attribute
 * values are written into `attrs`, and how a decode is charged to the
 * batch's budget. Internal to mock-ingest: not part of otlp.h's API.
 */
#ifndef ING_OTLP_INTERNAL_H
#define ING_OTLP_INTERNAL_H

#include "otlp.h"

/* Per-resource and per-scope context inherited by the items below them. */
typedef struct otlp_ctx {
    otlp_batch *b;
    size_t max_items; /* 0: none */
    const char *service;
    const char *scope;
    const char *sent_for;
    const char *scope_version;
    const char *resource;       /* the resource's attributes as a JSON object text */
    const char *inherit_reject; /* a resource attribute that cannot be read exactly: every
                                   item under it is rejected for it (JSON only) */
    const char *scope_reject;   /* the same for the scope's join key (JSON only) */
} otlp_ctx;

/* What a metric gives each of its points. */
typedef struct metric_info {
    const char *name;
    const char *type;
    const char *unit;
    const char *description;
    int32_t temporality;
    int8_t monotonic;
} metric_info;

/* A temporality as kept: a negative one names nothing, so it is unspecified (-1 means none). */
static inline int32_t otlp_temporality(int32_t t)
{
    return t < 0 ? 0 : t;
}

/* The reasons an item is rejected for, with the message of the request's first one. */
#define OTLP_BAD_TRACE_ID          "bad_trace_id"
#define OTLP_BAD_TRACE_ID_SPAN_MSG "traceId must be 32 hex digits, not all zero"
#define OTLP_BAD_TRACE_ID_LOG_MSG  "traceId must be empty or 32 hex digits"
#define OTLP_BAD_SPAN_ID           "bad_span_id"
#define OTLP_BAD_SPAN_ID_SPAN_MSG  "spanId must be 16 hex digits, not all zero"
#define OTLP_BAD_SPAN_ID_LOG_MSG   "spanId must be empty or 16 hex digits"
#define OTLP_BAD_PARENT_SPAN_ID    "bad_parent_span_id"
#define OTLP_BAD_PARENT_MSG        "parentSpanId must be empty or 16 hex digits"
#define OTLP_BAD_TIME              "bad_time"
#define OTLP_BAD_TIME_MSG          "times must be unsigned nanoseconds"
#define OTLP_BAD_VALUE             "bad_value"
#define OTLP_BAD_COUNT_MSG         "count must be an unsigned integer"
/* A 64-bit integer sent as a JSON number past 2^53 was rounded by the parse (cJSON keeps
 * doubles, not the digits): the item is refused rather than stored wrong. */
#define OTLP_INEXACT_INTEGER "inexact_integer"
#define OTLP_INEXACT_MSG                                                                           \
    " is a JSON number beyond 2^53, which cannot be read exactly: send 64-bit integers as strings"

/* The next item, inheriting the context; OTLP_TOO_LARGE past max_items. */
int otlp_new_item(otlp_ctx *c, otlp_kind kind, otlp_item **out);
/* Marks `it` rejected; true when it is the request's first rejection, whose message is kept. */
bool otlp_mark_rejected(otlp_batch *b, otlp_item *it, const char *reason);
/* Rejects `it` (the batch's item number `index`), keeping "<kind> #<index>: <what>" if first. */
void otlp_reject(otlp_batch *b, otlp_item *it, const char *reason, const char *what, size_t index);

/* An int64 in attrs: the digits, exactly ("%lld"). */
bool otlp_append_int(ing_buf *o, int64_t v);
/* A double in attrs: integers without a fraction, NaN and infinities as proto3 JSON strings. */
bool otlp_append_number(ing_buf *o, double d);
/* A string copied into the batch's arena (NULL on allocation failure). */
const char *otlp_keep(otlp_batch *b, const char *s);
/* A join key given as an integer, as its digits in the batch's arena. */
const char *otlp_keep_int(otlp_batch *b, int64_t v);

/*
 * An item's detail text is written into b->detail, one key at a time:
 * otlp_detail_key opens the object on its first key and writes `"key":`;
 * otlp_detail_end closes it and keeps it in the arena (*out is NULL when no
 * key was written). Both return false on allocation failure. The keys and
 * their order are the schema's (mock-ingest/README.md): both decoders write
 * them the same way, so the same data gives the same text.
 */
void otlp_detail_begin(otlp_batch *b);
bool otlp_detail_key(otlp_batch *b, const char *key);
bool otlp_detail_end(otlp_batch *b, const char **out);
/* A count, left out at 0 (proto3 sends none): `,"key":N` inside a nested object of the
 * detail (an event, a link), or `"key":N` as a key of the detail itself. */
bool otlp_put_count(ing_buf *o, const char *key, uint32_t n);
bool otlp_detail_count(otlp_batch *b, const char *key, uint32_t n);

/*
 * A decode's frame: begin charges every allocation to b->budget (what the
 * batch holds already included, after letting go what is past the limit);
 * end detaches the budget; outcome gives the decode's final code and message
 * (the limit before anything else: it is why malloc was not asked).
 */
void otlp_budget_begin(otlp_batch *b, const otlp_limits *lim);
void otlp_budget_end(otlp_batch *b);
int otlp_outcome(otlp_batch *b, int rc, const otlp_limits *lim, char *err, size_t errlen);

#endif
