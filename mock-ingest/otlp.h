/*
 * OTLP/HTTP JSON decoding (the only cJSON user on the request path), and the
 * batch of items both encodings decode into (otlp_pb.h reads protobuf).
 *
 * Accepts the encoding as the official SDKs send it: hex ids in either case,
 * nanosecond times as strings or numbers, intValue as a number or a string,
 * resource/scope nesting, every metric point type, log records. Unknown fields
 * are ignored and every optional field may be absent.
 *
 * Two levels of failure:
 *  - the body is not JSON (or holds a NUL byte), or a container has the wrong
 *    type: the request is bad as a whole (otlp_decode returns
 *    OTLP_BAD_REQUEST);
 *  - one item is malformed (a bad id or time, a metric whose dataPoints is not
 *    an array): only that item is rejected, with a reason code, and the rest
 *    is accepted (OTLP partial success).
 * A request past the limits (otlp_limits) is refused as a whole
 * (OTLP_TOO_LARGE), before it has cost more memory than they allow.
 */
#ifndef ING_OTLP_H
#define ING_OTLP_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { OTLP_SPAN, OTLP_METRIC, OTLP_LOG } otlp_kind;

/* The attribute names carrying the join keys. */
#define OTLP_ATTR_ITEM_ID    "edgeloss.item_id"
#define OTLP_ATTR_REQUEST_ID "edgeloss.request_id"

typedef struct otlp_item {
    otlp_kind kind;
    const char *reject;     /* NULL, or why the decoder rejected the item */
    const char *item_id;    /* edgeloss.item_id, NULL when absent */
    const char *request_id; /* item's edgeloss.request_id: the request it was created for */
    const char *sent_for;   /* scope's or resource's edgeloss.request_id: payload's request */
    const char *service;    /* resource service.name */
    const char *scope;      /* instrumentation scope name */
    const char *name;       /* span name, metric name, or log event name */
    char trace_id[33];      /* lower-case hex, "" when absent */
    char span_id[17];
    char parent_span_id[17];
    int64_t start_ns;        /* span start, point start, log observed time; 0 when absent */
    int64_t end_ns;          /* span end, point time, log time; 0 when absent */
    const char *metric_type; /* gauge, sum, histogram, exponential_histogram, summary */
    bool has_value;
    double value;      /* number point value, or histogram/summary sum */
    int64_t count;     /* histogram/summary count; -1 when not applicable */
    int32_t severity;  /* log severityNumber, or span status code */
    const char *body;  /* log body as text (strings as-is, other values as JSON); NULL when
                          absent or an empty AnyValue */
    const char *attrs; /* other attributes as a JSON object text, NULL when none */
    /*
     * The rest of what SDKs send. Strings are NULL when absent or "" (proto3
     * cannot tell the two apart, so neither encoding does).
     */
    int32_t span_kind;          /* span kind as sent, 0 (unspecified) for other items */
    const char *status_message; /* span status message */
    const char *trace_state;    /* span traceState */
    uint32_t flags;             /* span, log record or data point flags; 0 when absent */
    const char *scope_version;  /* instrumentation scope version */
    const char *resource;       /* every resource attribute (service.name and the join key
                                   too) as a JSON object text; shared by the resource's items */
    const char *severity_text;  /* log severityText */
    const char *body_type;      /* the log body's AnyValue case (OTLP_BODY_*); NULL: no body */
    const char *unit;           /* metric unit */
    int32_t temporality;        /* aggregationTemporality of a sum or (exponential) histogram;
                                   -1 for gauge, summary and other items */
    int8_t monotonic;           /* a sum's isMonotonic, 0 or 1; -1 for other items */
    const char *detail;         /* the rest as a JSON object text (mock-ingest/README.md lists
                                   its keys per kind), NULL when it would be {} */
} otlp_item;

/* The values of otlp_item.body_type: the AnyValue case a log body was sent as. */
#define OTLP_BODY_STRING "string"
#define OTLP_BODY_BOOL   "bool"
#define OTLP_BODY_INT    "int"
#define OTLP_BODY_DOUBLE "double"
#define OTLP_BODY_BYTES  "bytes"
#define OTLP_BODY_ARRAY  "array"
#define OTLP_BODY_KVLIST "kvlist"

/* "unspecified", "internal", "server", "client", "producer", "consumer"; NULL past them. */
const char *otlp_span_kind_name(int32_t kind);
/* "unspecified", "delta", "cumulative"; NULL past them. */
const char *otlp_temporality_name(int32_t t);

typedef struct otlp_batch {
    otlp_item *items;
    size_t n;
    size_t cap;
    size_t rejected;
    char first_error[192]; /* message for partialSuccess.errorMessage */
    ing_arena arena;       /* every string the items point to */
    ing_buf scratch;       /* an item's attrs or body while it is written */
    ing_buf detail;        /* an item's detail while it is written (nests attrs of its own) */
    ing_arena json;        /* the parsed body's nodes (cJSON or protobuf-c), only during a decode */
    ing_budget budget;     /* what a decode may still hold, charged while it runs */
    bool too_many_items;   /* the last decode's OTLP_TOO_LARGE was max_items, not max_memory
                              (set by otlp_decode, kept by otlp_batch_clear) */
} otlp_batch;

enum { OTLP_OK = 0, OTLP_BAD_REQUEST = 1, OTLP_NOMEM = 2, OTLP_TOO_LARGE = 3 };

/*
 * What one otlp_decode may cost. max_memory bounds the batch's footprint
 * (otlp_batch_footprint) at every moment of the decode, memory it kept from
 * earlier requests included (when that alone is more, the batch lets it go
 * first): the parsed JSON nodes, the items array, the items' strings and the
 * scratch buffer are each refused before they are allocated past it. Bytes
 * held, not bytes used, are counted, so a body within a block or two of the
 * limit may pass or fail depending on what the batch kept from before.
 */
typedef struct otlp_limits {
    size_t max_items;  /* items in one request; 0: none */
    size_t max_memory; /* bytes the decode may hold; 0: none */
} otlp_limits;

typedef enum { OTLP_SIGNAL_TRACES, OTLP_SIGNAL_METRICS, OTLP_SIGNAL_LOGS } otlp_signal;

/*
 * Decodes `len` bytes of `body` (need not be NUL-terminated) into `b`, which
 * is reset first and may be reused across calls; `lim` may be NULL (no
 * limits). Returns OTLP_OK, or with `err` saying why and `b` holding no items:
 *  - OTLP_BAD_REQUEST: not JSON, a NUL byte in the body, a container of the
 *    wrong type;
 *  - OTLP_TOO_LARGE: more than lim->max_items items, or more than
 *    lim->max_memory bytes needed ("decoding this body needs more than N
 *    bytes of memory");
 *  - OTLP_NOMEM: malloc failed.
 */
int otlp_decode(otlp_batch *b, otlp_signal sig, const char *body, size_t len,
                const otlp_limits *lim, char *err, size_t errlen);
/*
 * Bytes of memory the batch holds now (items array, arena blocks, scratch;
 * not the struct itself): what it costs a server-wide memory budget.
 */
size_t otlp_batch_footprint(const otlp_batch *b);
/*
 * Drops the items and the parsed body. Keeps memory for reuse up to about
 * 1 MiB per buffer (items array, each arena, scratch); more was a burst, and
 * goes back.
 */
void otlp_batch_clear(otlp_batch *b);
void otlp_batch_free(otlp_batch *b);

/* "span", "metric", "log". */
const char *otlp_kind_name(otlp_kind k);

#endif
