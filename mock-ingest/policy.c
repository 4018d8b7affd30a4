#include "policy.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * A sender's count in its current window: few senders (keys, or the
 * addresses of a test bench), so a linear table; bounded all the same.
 */
#define POLICY_MAX_ENTRIES 4096

typedef struct cap_entry {
    char *who;     /* key or client address; NULL: a client of unknown address */
    int64_t first; /* the window's first ns */
    int64_t count; /* accepted items in it; -1: read it from the database */
} cap_entry;

struct ing_policy {
    ing_config *cfg;
    cap_entry *entries;
    size_t n, cap;
};

ing_policy *policy_new(const ing_config *cfg)
{
    ing_policy *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cfg = ing_config_dup(cfg);
    if (!p->cfg) {
        free(p);
        return NULL;
    }
    return p;
}

void policy_forget(ing_policy *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->entries[i].who);
    p->n = 0;
}

void policy_free(ing_policy *p)
{
    if (!p)
        return;
    policy_forget(p);
    free(p->entries);
    ing_config_free(p->cfg);
    free(p);
}

/* Skips blanks: libmicrohttpd trims the ends of a value, not the inside. */
static const char *skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/*
 * The bearer key of an Authorization value, or the reason there is none. A
 * value with anything after the key is refused rather than cut at the first
 * blank: "Bearer alpha junk" is not alpha's request.
 */
static const char *bearer_key(const char *authorization, char *key, size_t keylen)
{
    if (!authorization)
        return "missing API key: send Authorization: Bearer <key>";
    const char *s = skip_blanks(authorization);
    if (strncasecmp(s, "Bearer", 6) != 0 || (s[6] != ' ' && s[6] != '\t' && s[6] != '\0'))
        return "unsupported Authorization scheme: send Authorization: Bearer <key>";
    s = skip_blanks(s + 6);
    size_t n = strcspn(s, " \t");
    if (n == 0)
        return "missing API key: send Authorization: Bearer <key>";
    if (*skip_blanks(s + n) != '\0')
        return "malformed Authorization: expected Bearer <key> with nothing after the key";
    if (n >= keylen)
        return "unknown API key (longer than any key accepted)";
    memcpy(key, s, n);
    key[n] = '\0';
    return NULL;
}

int policy_auth(const ing_policy *p, const char *authorization, char *key, size_t keylen,
                policy_verdict *v)
{
    key[0] = '\0';
    memset(v, 0, sizeof *v);
    const char *problem = bearer_key(authorization, key, keylen);
    if (p->cfg->nkeys == 0)
        return 0; /* no keys: whatever was sent is only recorded */
    if (!problem && !ing_config_has_key(p->cfg, key))
        problem = "unknown API key";
    if (!problem)
        return 0;
    v->status = 401;
    v->reason = "unauthorized";
    snprintf(v->message, sizeof v->message, "%s", problem);
    return 401;
}

static bool same_sender(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/*
 * The window holding t: [first, last], aligned to 0, `w` ns long, with
 * `last` saturated at INT64_MAX. Computed from t's offset into its window so
 * that no intermediate value leaves int64_t: (t / w + 1) * w overflowed for t
 * near INT64_MAX (one request with X-Edgeloss-Time-Ns: 9223372036854775807
 * was undefined behaviour, and aborted the sanitizer build).
 */
static void window_bounds(int64_t t, int64_t w, int64_t *first, int64_t *last)
{
    int64_t off = t % w;
    if (off < 0)
        off += w; /* floor, so negative times still fall into windows aligned to 0 */
    *first = t < INT64_MIN + off ? INT64_MIN : t - off;
    *last = *first > INT64_MAX - (w - 1) ? INT64_MAX : *first + (w - 1);
}

/* Finds or adds the cache entry of a sender; NULL on allocation failure. */
static cap_entry *entry_for(ing_policy *p, const char *who)
{
    for (size_t i = 0; i < p->n; i++)
        if (same_sender(p->entries[i].who, who))
            return &p->entries[i];
    /* Only a cache of the database: dropping it when it grows costs a recount,
     * and keeps a client with many addresses from growing it without bound. */
    if (p->n >= POLICY_MAX_ENTRIES)
        policy_forget(p);
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 8;
        cap_entry *ne = realloc(p->entries, nc * sizeof *ne);
        if (!ne)
            return NULL;
        p->entries = ne;
        p->cap = nc;
    }
    cap_entry *e = &p->entries[p->n];
    e->who = who ? strdup(who) : NULL;
    if (who && !e->who)
        return NULL;
    e->count = -1;
    p->n++;
    return e;
}

int policy_cap(ing_policy *p, ing_store *st, const char *key, const char *client, int64_t time_ns,
               int64_t items, policy_verdict *v)
{
    memset(v, 0, sizeof *v);
    bool by_key = p->cfg->nkeys > 0;
    ing_cap cap = ing_config_cap_for(p->cfg, by_key ? key : NULL);
    if (cap.items <= 0 || items <= 0)
        return 0;
    const char *who = by_key ? key : client;
    int64_t first, last;
    window_bounds(time_ns, cap.window_ns, &first, &last);
    cap_entry *e = entry_for(p, who);
    if (!e)
        goto fail;
    if (e->count >= 0 && e->first != first)
        e->count = -1; /* another window: count again from the database */
    e->first = first;
    if (e->count < 0) {
        int rc = by_key ? store_accepted_by_key(st, who, first, last, &e->count)
                        : store_accepted_by_client(st, who, first, last, &e->count);
        if (rc != 0) {
            e->count = -1;
            goto fail;
        }
    }
    if (e->count > cap.items - items) {
        v->status = cap.status ? cap.status : 403;
        v->reason = "cap";
        /* Whole seconds until the window's last ns has passed; last - time_ns
         * is in [0, window) and cannot overflow, unlike the window's end. */
        v->retry_after_s = (last - time_ns) / 1000000000 + 1;
        snprintf(v->message, sizeof v->message,
                 "cap exceeded: %lld of %lld items used in this window, request has %lld",
                 (long long)e->count, (long long)cap.items, (long long)items);
        return v->status;
    }
    e->count += items;
    return 0;
fail:
    v->status = 500;
    v->reason = "internal";
    snprintf(v->message, sizeof v->message, "cannot read cap usage");
    return 500;
}
