/*
 * Admission policy in front of the store: API keys and per-key caps. The WAF
 * layer will join it here, as another stage consulted before anything is
 * recorded as accepted.
 *
 * Caps count accepted items per key in fixed windows aligned to time 0, with
 * the request's time (virtual when the simulator is the client). Counts come
 * from the database on first use of a (key, window) and are then kept in
 * memory, so a restarted server enforces the same cap.
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
 * one was sent, into key[keylen] (else key[0] = 0). Returns 0 or 401.
 */
int policy_auth(const ing_policy *p, const char *authorization, char *key, size_t keylen,
                policy_verdict *v);

/*
 * Admits `items` accepted items for `key` at `time_ns`, counting them against
 * the cap, or refuses the whole request with 403. Returns 0, 403, or 500 when
 * the count could not be read.
 */
int policy_cap(ing_policy *p, ing_store *st, const char *key, int64_t time_ns, int64_t items,
               policy_verdict *v);

/* Forget cached counts (after a group was rolled back). */
void policy_forget(ing_policy *p);

#endif
