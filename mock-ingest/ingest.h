/*
 * mock-ingest: an OTLP/HTTP JSON ingest server that records every request and
 * every item it receives into SQLite. Public API of the library; the standalone
 * binary (main.c) and the simulator both use only this header.
 *
 * Contract, in one place:
 *  - A 2xx is sent only after the transaction holding the request's rows has
 *    committed (WAL, synchronous=NORMAL: durable across a process kill).
 *  - Nothing is deduplicated: an item received twice is two rows.
 *  - The object store (PUT and GET /r2/KEY) reads its writes: a GET sees every PUT
 *    acknowledged before it (both go through the writer, in arrival order).
 *  - The simulator's headers (X-Edgeloss-Time-Ns, -Run, -Attempt, -Route, ...) are
 *    honoured only when the server is opened with trust_sim_headers; then a request's
 *    X-Edgeloss-Time-Ns is the virtual time used for recording and for every
 *    time-based decision (caps). Otherwise, or without it, the wall clock is.
 *  - Caps count per API key when keys are configured, else per client address.
 *  - Requests are decoded and committed on one thread: the server's own
 *    thread (ING_RUN_THREAD) or the caller's (ING_RUN_EXTERNAL, pumped with
 *    ing_server_pump). Both run the same code; only who calls it differs.
 *    Commits are grouped: everything decoded in one pump is one transaction.
 *
 * The database schema is documented in mock-ingest/README.md.
 */
#ifndef EDGELOSS_INGEST_H
#define EDGELOSS_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request body larger than this (after decompression) is refused with 413 unless the
 * configuration says otherwise (max_body_bytes): 20 MiB, the OpenTelemetry Collector's
 * default, which a 5000-span batch of a common SDK fits. */
#define ING_DEFAULT_MAX_BODY_BYTES ((size_t)20 << 20)

/* One vocabulary of error codes: enum, names and messages from one table. */
#define ING_ERR_MAP(XX)                                                                            \
    XX(OK, "success")                                                                              \
    XX(USAGE, "invalid argument")                                                                  \
    XX(CONFIG, "invalid configuration")                                                            \
    XX(NOMEM, "out of memory")                                                                     \
    XX(DB, "database error")                                                                       \
    XX(LISTEN, "cannot listen")                                                                    \
    XX(THREAD, "cannot start thread")

typedef enum {
#define ING_ERR_ENUM(name, msg) ING_##name,
    ING_ERR_MAP(ING_ERR_ENUM)
#undef ING_ERR_ENUM
} ing_err;

const char *ing_strerror(int err);

typedef enum {
    ING_RUN_THREAD,   /* the server runs its own thread; the caller only opens and closes */
    ING_RUN_EXTERNAL, /* the caller drives it with ing_server_pump() */
} ing_run_mode;

typedef struct ing_config ing_config; /* keys, caps and limits; see ing_config_load */

typedef struct ing_options {
    const char *listen_host;  /* numeric IPv4 address; NULL means 127.0.0.1 */
    uint16_t port;            /* 0 picks a free port */
    const char *db_path;      /* SQLite file, created if missing; required */
    const ing_config *config; /* NULL: no keys, no caps, default limits */
    ing_run_mode mode;
    /*
     * Honour the X-Edgeloss-* request headers, which let the client choose the
     * time caps are counted in and the run it is recorded under: only for a
     * client that is the simulator (the embedded server, or the binary's
     * --trust-sim-headers). False: they are ignored (wall clock, no run id,
     * no attempt), as for any client that could lie.
     */
    bool trust_sim_headers;
} ing_options;

typedef struct ing_server ing_server;

/*
 * Loads a JSON config file. On error returns ING_CONFIG with a message naming
 * the file, the JSON path and what was expected. Free with ing_config_free.
 */
int ing_config_load(const char *path, ing_config **out, char *err, size_t errlen);
/* Same from a string; `name` stands for the file in messages. */
int ing_config_parse(const char *json, const char *name, ing_config **out, char *err,
                     size_t errlen);
void ing_config_free(ing_config *cfg);

/*
 * Opens the database and starts listening. The config is copied; the caller
 * may free it afterwards. On error nothing is left open.
 */
int ing_server_open(const ing_options *opt, ing_server **out, char *err, size_t errlen);

/* The bound port (the real one when 0 was asked) and "http://HOST:PORT". */
uint16_t ing_server_port(const ing_server *srv);
const char *ing_server_url(const ing_server *srv);
/* The connections served at once (config connection_limit, else sized from RLIMIT_NOFILE). */
unsigned ing_server_connection_limit(const ing_server *srv);

/*
 * ING_RUN_EXTERNAL only. A file descriptor that becomes readable when the
 * server has work; poll it together with the caller's own (e.g. pass it to
 * curl_multi_poll as an extra fd), then call ing_server_pump(srv, 0).
 */
int ing_server_fd(const ing_server *srv);

/*
 * ING_RUN_EXTERNAL only. How long the caller may wait before the next pump
 * at most, in ms (-1: no limit; 0: pump again now - libmicrohttpd has work
 * that no file descriptor will announce, e.g. a resumed connection).
 */
int ing_server_timeout_ms(const ing_server *srv);

/*
 * ING_RUN_EXTERNAL only. Waits up to timeout_ms (0: do not wait) for network
 * activity, handles every ready connection, then commits what was decoded
 * and releases those responses. Returns ING_OK or ING_DB.
 */
int ing_server_pump(ing_server *srv, int timeout_ms);

/* Stops listening, commits what is pending, closes the database. NULL is fine. */
void ing_server_close(ing_server *srv);

#endif
