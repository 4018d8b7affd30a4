/*
 * The simulator's request headers (X-Edgeloss-*): who may use them, and which
 * values are accepted. Kept apart from the HTTP code so that the request path
 * asks one question ("what do this request's headers say?") and a later stage
 * in front of it (the WAF, fault injection) can join here without growing
 * server.c.
 *
 * Contract:
 *  - The headers steer the ingest: X-Edgeloss-Time-Ns picks the time every
 *    decision uses (the cap window), X-Edgeloss-Run and X-Edgeloss-Attempt are
 *    recorded as the simulator's run id and attempt. So they are honoured only
 *    when the server trusts the client (ing_options.trust_sim_headers, the
 *    binary's --trust-sim-headers). Untrusted, they are ignored without being
 *    looked at (the request gets the wall clock, no run id, no attempt), which
 *    keeps a real SDK that forwards unknown headers working.
 *  - Trusted, every value is checked in full; a header given twice, or a value
 *    out of range, refuses the request with 400 and a message naming the header
 *    and the accepted range:
 *      X-Edgeloss-Time-Ns   decimal digits only, 0 .. 9223372036854775807 (ns)
 *      X-Edgeloss-Attempt   decimal digits only, 0 .. 4294967295
 *      X-Edgeloss-Run       1 .. 255 bytes, each printable ASCII (0x20 .. 0x7e)
 *  - No allocation; `run` in the result points into the header value, which
 *    the caller keeps alive (libmicrohttpd does, for the request's lifetime).
 */
#ifndef ING_HEADERS_H
#define ING_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HDR_TIME_NS "X-Edgeloss-Time-Ns"
#define HDR_RUN     "X-Edgeloss-Run"
#define HDR_ATTEMPT "X-Edgeloss-Attempt"

#define HDR_ATTEMPT_MAX 4294967295LL /* the simulator sends a uint32_t */
#define HDR_RUN_MAX     255

/*
 * Looks up a request header by name (case-insensitive): the first value, or
 * NULL when absent, and in *count how many times the header was given.
 */
typedef const char *(*hdr_lookup_fn)(void *ud, const char *name, unsigned *count);

typedef struct hdr_sim {
    bool time_virtual; /* X-Edgeloss-Time-Ns was honoured: time_ns is virtual */
    int64_t time_ns;   /* when time_virtual */
    const char *run;   /* X-Edgeloss-Run when honoured, else NULL */
    int64_t attempt;   /* X-Edgeloss-Attempt when honoured, else -1 */
    bool ignored;      /* untrusted, and at least one X-Edgeloss-* header was sent */
} hdr_sim;

/*
 * Reads the simulator's headers through `lookup`. Returns 0 with *out filled,
 * or 400 with *out reset to "nothing honoured" and a message in msg[msglen].
 */
int hdr_sim_read(bool trusted, hdr_lookup_fn lookup, void *ud, hdr_sim *out, char *msg,
                 size_t msglen);

#endif
