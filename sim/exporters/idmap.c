/* Ids to pointers (see idmap.h). */
#include "idmap.h"

#include <stdlib.h>

static size_t slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

static void grow(idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    idmap_slot *ns = calloc(cap, sizeof *ns);
    if (!ns)
        abort();
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->s[i].val)
            continue;
        size_t j = slot_of(m->s[i].key, cap);
        while (ns[j].val)
            j = (j + 1) & (cap - 1);
        ns[j] = m->s[i];
    }
    free(m->s);
    m->s = ns;
    m->cap = cap;
}

void *idmap_put(idmap *m, uint64_t key, void *val)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    size_t j = slot_of(key, m->cap);
    while (m->s[j].val && m->s[j].key != key)
        j = (j + 1) & (m->cap - 1);
    void *old = m->s[j].val;
    if (!old)
        m->n++;
    m->s[j].key = key;
    m->s[j].val = val;
    return old;
}

void *idmap_get(const idmap *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    size_t j = slot_of(key, m->cap);
    while (m->s[j].val) {
        if (m->s[j].key == key)
            return m->s[j].val;
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

void *idmap_del(idmap *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1, j = slot_of(key, m->cap);
    while (m->s[j].val && m->s[j].key != key)
        j = (j + 1) & mask;
    if (!m->s[j].val)
        return NULL;
    void *val = m->s[j].val;
    m->s[j].val = NULL;
    m->n--;
    /* Backward shift: move up every later entry of the run that the hole cut off from home. */
    for (size_t k = (j + 1) & mask; m->s[k].val; k = (k + 1) & mask) {
        size_t home = slot_of(m->s[k].key, m->cap);
        /* k stays when its home lies cyclically in (j, k]. */
        if (j <= k ? (home > j && home <= k) : (home > j || home <= k))
            continue;
        m->s[j] = m->s[k];
        m->s[k].val = NULL;
        j = k;
    }
    return val;
}

void idmap_free(idmap *m)
{
    free(m->s);
    m->s = NULL;
    m->n = m->cap = 0;
}
