/*
 * Admission policy in front of the store: API keys and per-key caps. The WAF
 * layer will join it here, as another stage consulted before anything is
 * recorded as accepted.
 *
 * Caps count accepted items per sender in fixed windows aligned to time 0,
 * with the request's time (virtual when the simulator is the client). The
 * sender is the API key when keys are configured, else the client's address:
 * without keys a bearer token proves nothing, and counting per made-up key
 * would give every forged key a cap of its own. Counts come from the database
 * on first use of a (sender, window) and are then kept in memory (a cache
 * that may be dropped at any time), so a restarted server enforces the same
 * cap. Window bounds are computed with saturating arithmetic: any time from
 * 0 to INT64_MAX has a window, the last one cut short at INT64_MAX.
 */
#ifndef ING_POLICY_H
#define ING_POLICY_H

#include "config.h"
#include "store.h"

#include <stdint.h>

typedef struct ing_policy ing_policy;

typedef struct policy_verdict {
    int status;         /* 0: admitted; else the HTTP status to answer */
    const char *reason; /* short code stored with the request */
    char message[192];
    int64_t retry_after_s; /* > 0: send Retry-After */
} policy_verdict;

ing_policy *policy_new(const ing_config *cfg); /* NULL on allocation failure */
void policy_free(ing_policy *p);

/*
 * Checks the Authorization header (may be NULL). Copies the bearer key, when
 * one was sent well-formed ("Bearer KEY", nothing after it), into key[keylen]
 * (else key[0] = 0). With keys configured, returns 401 unless it names one of
 * them; without, always 0 (the key is only recorded).
 */
int policy_auth(const ing_policy *p, const char *authorization, char *key, size_t keylen,
                policy_verdict *v);

/*
 * Admits `items` accepted items at `time_ns` (>= 0) for the sender: `key`
 * when keys are configured, else `client` (the peer address; NULL when
 * unknown), counting them against its cap, or refuses the whole request with
 * the cap's status (403, 429 or 503; reason "cap") and a Retry-After. Returns 0, that status,
 * or 500 when the count could not be read.
 */
int policy_cap(ing_policy *p, ing_store *st, const char *key, const char *client, int64_t time_ns,
               int64_t items, policy_verdict *v);

/* Forget cached counts (after a group was rolled back). */
void policy_forget(ing_policy *p);

#endif
