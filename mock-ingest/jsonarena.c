#include "jsonarena.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>

/* The scope this thread is in, or NULL: scoped state, not a decision input. */
static _Thread_local ing_arena *current;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void *hook_malloc(size_t n)
{
    return current ? ing_arena_alloc(current, n) : malloc(n);
}

static void hook_free(void *p)
{
    if (!current)
        free(p);
}

static void install(void)
{
    cJSON_Hooks h = {hook_malloc, hook_free};
    cJSON_InitHooks(&h);
}

void json_arena_begin(ing_arena *a)
{
    pthread_once(&hooks_once, install);
    current = a;
}

void json_arena_end(ing_arena *a)
{
    current = NULL;
    ing_arena_reset(a);
}
