/*
 * The exporter protocol's framing (docs/exporter-protocol.md): one message is a 4-byte
 * big-endian length and that many bytes of UTF-8 JSON (one object, printed by cJSON). Both
 * ends - the simulator (remote.c) and a child exporter host (edgeloss-exporter-host, or any
 * program of another language) - use it over a pair of pipes.
 *
 * Writes are buffered: a message is sent when the buffer is flushed, so that a burst of
 * one-way messages costs one write(2). Reads take whatever the pipe holds and cut frames
 * out of it. Nothing here reads the clock except the wait of wire_recv, which only decides
 * when to give up on a peer (a budget), never what a run does.
 */
#ifndef SIM_EXPORTERS_WIRE_H
#define SIM_EXPORTERS_WIRE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The protocol version both ends announce in their hello (docs/exporter-protocol.md). */
#define WIRE_PROTOCOL 1

/* A frame longer than this is refused: a flood, or a peer that does not speak the protocol. */
#define WIRE_FRAME_MAX ((size_t)64 << 20)

typedef struct wire wire;

typedef enum {
    WIRE_OK = 0,
    WIRE_EOF = -1,     /* the peer closed its end (exited or crashed) */
    WIRE_TIMEOUT = -2, /* nothing complete arrived in time */
    WIRE_BAD = -3,     /* not a frame of the protocol: too long, or not a JSON object */
    WIRE_IO = -4,      /* read or write failed (errno in the message) */
} wire_status;

wire *wire_new(int in_fd, int out_fd);
/* Closes both descriptors. */
void wire_free(wire *w);

/* Queues one message (printed now; msg is not kept). */
wire_status wire_put(wire *w, const cJSON *msg);
/* Queues an already printed JSON object of len bytes. */
wire_status wire_put_text(wire *w, const char *json, size_t len);
/* Bytes queued and not written yet. */
size_t wire_queued(const wire *w);
/* Writes everything queued. */
wire_status wire_flush(wire *w);

/* The next message, waiting at most timeout_ms (-1: forever) for it; *out is the caller's to
 * cJSON_Delete. A message already read is returned without waiting. */
wire_status wire_get(wire *w, int timeout_ms, cJSON **out);

const char *wire_status_text(wire_status st);

/* A message's members: its type ("m"; "" when absent), a number (0 when absent), a string
 * (NULL when absent). */
const char *wire_type(const cJSON *m);
double wire_num(const cJSON *m, const char *key);
const char *wire_str(const cJSON *m, const char *key);

/* Bodies that are not UTF-8 travel as base64 ("body64"). */
int wire_is_utf8(const char *s, size_t len);      /* valid UTF-8 without NUL */
char *wire_b64_encode(const char *s, size_t len); /* malloc'd, NUL-terminated */
/* malloc'd, its length in *len; NULL when `s` is not base64. */
char *wire_b64_decode(const char *s, size_t *len);

#endif
