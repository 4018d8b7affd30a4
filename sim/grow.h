/*
 * Growable arrays: room for one more element. The simulator's modules keep many arrays
 * that grow the same way - doubling from a first capacity chosen per array - and running
 * out of memory aborts (a half-built model would give wrong results, never an error).
 */
#ifndef SIM_GROW_H
#define SIM_GROW_H

#include <stddef.h>

/* The array v (*cap elements of elem bytes) reallocated to twice *cap (first_cap when
 * empty), its contents kept; *cap updated. Aborts when memory runs out. */
void *grow_array(void *v, size_t *cap, size_t elem, size_t first_cap);

/* Makes room for element n of the array v of capacity cap (lvalues of any unsigned type):
 * when n == cap, v and cap change. The test is inline, the growth out of line. */
#define GROW_FOR(v, n, cap, first_cap)                                                             \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            size_t grow_cap_ = (cap);                                                              \
            (v) = grow_array((v), &grow_cap_, sizeof *(v), (first_cap));                           \
            (cap) = grow_cap_;                                                                     \
        }                                                                                          \
    } while (0)

#endif
