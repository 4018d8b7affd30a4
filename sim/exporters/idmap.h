/*
 * A map from 64-bit ids to pointers (open addressing, linear probing, deletion by backward
 * shift), for the two ends of the exporter protocol: items, isolates, calls and callbacks
 * are named on the wire by number and found again here. Running out of memory aborts.
 */
#ifndef SIM_EXPORTERS_IDMAP_H
#define SIM_EXPORTERS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct idmap_slot {
    uint64_t key;
    void *val; /* NULL: the slot is free (a value is never NULL) */
} idmap_slot;

typedef struct idmap {
    idmap_slot *s;
    size_t n, cap; /* cap: a power of two, or 0 */
} idmap;

/* Sets key to val (not NULL); returns what it replaced, or NULL. */
void *idmap_put(idmap *m, uint64_t key, void *val);
void *idmap_get(const idmap *m, uint64_t key);
/* Removes key; returns what it mapped to, or NULL. */
void *idmap_del(idmap *m, uint64_t key);
void idmap_free(idmap *m);

/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->s[i].val) ... (no changes meanwhile). */

#endif
