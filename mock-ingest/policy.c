#include "policy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One (key, window) whose accepted count is known. Few keys: a linear table. */
typedef struct cap_entry {
    char *key; /* NULL: anonymous */
    int64_t window;
    int64_t count;
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
        free(p->entries[i].key);
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

int policy_auth(const ing_policy *p, const char *authorization, char *key, size_t keylen,
                policy_verdict *v)
{
    key[0] = '\0';
    memset(v, 0, sizeof *v);
    if (authorization) {
        const char *s = authorization;
        while (*s == ' ')
            s++;
        if (strncasecmp(s, "Bearer ", 7) == 0) {
            s += 7;
            while (*s == ' ')
                s++;
            size_t n = strcspn(s, " \t");
            if (n > 0 && n < keylen) {
                memcpy(key, s, n);
                key[n] = '\0';
            }
        }
    }
    if (p->cfg->nkeys == 0)
        return 0;
    if (key[0] == '\0') {
        v->status = 401;
        v->reason = "unauthorized";
        snprintf(v->message, sizeof v->message,
                 "missing API key: send Authorization: Bearer <key>");
        return 401;
    }
    if (!ing_config_has_key(p->cfg, key)) {
        v->status = 401;
        v->reason = "unauthorized";
        snprintf(v->message, sizeof v->message, "unknown API key");
        return 401;
    }
    return 0;
}

static bool same_key(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Floor division, so negative times still fall into windows aligned to 0. */
static int64_t window_of(int64_t t, int64_t w)
{
    int64_t q = t / w;
    return (t % w != 0 && t < 0) ? q - 1 : q;
}

int policy_cap(ing_policy *p, ing_store *st, const char *key, int64_t time_ns, int64_t items,
               policy_verdict *v)
{
    memset(v, 0, sizeof *v);
    ing_cap cap = ing_config_cap_for(p->cfg, key);
    if (cap.items <= 0 || items <= 0)
        return 0;
    int64_t win = window_of(time_ns, cap.window_ns);
    cap_entry *e = NULL;
    for (size_t i = 0; i < p->n; i++) {
        if (same_key(p->entries[i].key, key)) {
            e = &p->entries[i];
            break;
        }
    }
    if (e && e->window != win)
        e->count = -1; /* another window: count again from the database */
    if (!e) {
        if (p->n == p->cap) {
            size_t nc = p->cap ? p->cap * 2 : 8;
            cap_entry *ne = realloc(p->entries, nc * sizeof *ne);
            if (!ne)
                goto fail;
            p->entries = ne;
            p->cap = nc;
        }
        e = &p->entries[p->n];
        e->key = key ? strdup(key) : NULL;
        if (key && !e->key)
            goto fail;
        e->count = -1;
        p->n++;
    }
    e->window = win;
    if (e->count < 0) {
        int64_t from = win * cap.window_ns;
        if (store_accepted_in(st, key, from, from + cap.window_ns, &e->count) != 0) {
            e->count = -1;
            goto fail;
        }
    }
    if (e->count + items > cap.items) {
        int64_t end_ns = (win + 1) * cap.window_ns;
        v->status = 403;
        v->reason = "cap";
        v->retry_after_s = (end_ns - time_ns + 999999999) / 1000000000;
        snprintf(v->message, sizeof v->message,
                 "cap exceeded: %lld of %lld items used in this window, request has %lld",
                 (long long)e->count, (long long)cap.items, (long long)items);
        return 403;
    }
    e->count += items;
    return 0;
fail:
    v->status = 500;
    v->reason = "internal";
    snprintf(v->message, sizeof v->message, "cannot read cap usage");
    return 500;
}
