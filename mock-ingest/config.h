/*
 * Internal: the parsed ingest configuration (ing_config is opaque outside).
 */
#ifndef ING_CONFIG_H
#define ING_CONFIG_H

#include "ingest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults for real clients (mock-ingest/README.md, "Limits"): an idle keep-alive connection
 * is dropped well before an SDK's export timeout (10 s in the JS SDK), so that idle ones never
 * make a new export wait; see conntrack.h for the deadlines. */
#define ING_DEFAULT_IDLE_TIMEOUT_S      3u
#define ING_DEFAULT_HEADER_TIMEOUT_NS   (10 * 1000000000LL)
#define ING_DEFAULT_BODY_TIMEOUT_NS     (60 * 1000000000LL)
#define ING_DEFAULT_MIN_BODY_RATE       16384u
#define ING_DEFAULT_DISCARD_LIMIT_BYTES ((size_t)64 << 20)
#define ING_DEFAULT_MAX_ITEMS           200000u
#define ING_DEFAULT_MEMORY_BUDGET_BYTES ((size_t)1 << 30)

typedef struct ing_cap {
    int64_t items;     /* most items accepted per window; 0 = no cap */
    int64_t window_ns; /* fixed windows aligned to time 0 */
    int status;        /* the answer past it: 403 (the first seed's dashboard cap, which SDKs
                          do not retry), or 429 / 503 (OTLP throttling, retried after
                          Retry-After) */
} ing_cap;

#define ING_NOTIFY_PATH_MAX 1024
#define ING_NOTIFY_HOST_MAX 253 /* the longest DNS name */

/*
 * A notification endpoint ("notify"): a POST to `path` records the object it names in the
 * notifications table instead of being routed (it takes the path from the OTLP routes, for
 * requests to `host` when one is given).
 */
typedef struct ing_notify {
    char *path; /* the exact path, e.g. /api/cloudflare-traces */
    char *host; /* NULL: any Host; else compared with the Host header, case-insensitively,
                   without the header's port */
} ing_notify;

typedef struct ing_key {
    char *key;
    ing_cap cap; /* items == 0: the config's default cap applies */
} ing_key;

struct ing_config {
    ing_key *keys; /* nkeys > 0 turns authentication on */
    size_t nkeys;
    ing_cap cap; /* default cap for every key (and for anonymous senders) */
    size_t max_body_bytes;
    unsigned connection_limit; /* 0: sized from RLIMIT_NOFILE when the server opens */
    unsigned idle_timeout_s;   /* libmicrohttpd's inactivity timeout */
    int64_t header_timeout_ns; /* conntrack.h */
    int64_t body_timeout_ns;
    uint64_t min_body_rate;     /* bytes/s; 0: none */
    size_t discard_limit_bytes; /* a refused body read and dropped, at most, before answering */
    uint64_t max_items;         /* per request; 0: none */
    size_t memory_budget_bytes; /* bodies and decoded requests held at once */
    char *cors;                 /* Access-Control-Allow-Origin; NULL: CORS off */
    /*
     * The "waf" object (waf.h), validated by compiling it, kept as JSON text: NULL for no
     * WAF. Text, not the compiled WAF: a compiled WAF holds the rate counters, which change
     * with every request and belong to one server (one thread), while a config is a value
     * that ing_config_dup copies and any number of servers may be opened from; each server
     * compiles its own WAF from the text, with fresh counters.
     */
    char *waf_json;
    ing_notify *notify; /* nnotify entries, in the file's order */
    size_t nnotify;
};

/* Defaults for a server opened without a config. */
void ing_config_defaults(ing_config *cfg);
/* Deep copy; returns NULL on allocation failure. */
ing_config *ing_config_dup(const ing_config *cfg);
/* The cap that applies to `key` (NULL: anonymous). */
ing_cap ing_config_cap_for(const ing_config *cfg, const char *key);
/* Whether `key` is one of the configured keys. */
bool ing_config_has_key(const ing_config *cfg, const char *key);
/* Whether a request for `path` with the Host header `host` (NULL: none) is a notification. */
bool ing_config_is_notify(const ing_config *cfg, const char *path, const char *host);

#endif
