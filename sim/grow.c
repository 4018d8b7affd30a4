#include "grow.h"

#include <stdlib.h>

__attribute__((noinline)) void *grow_array(void *v, size_t *cap, size_t elem, size_t first_cap)
{
    size_t c = *cap ? *cap * 2 : first_cap;
    void *nv = realloc(v, c * elem);
    if (!nv)
        abort();
    *cap = c;
    return nv;
}
