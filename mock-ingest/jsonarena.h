/*
 * cJSON allocations from an arena, within a scope.
 *
 * Parsing an OTLP body builds hundreds of cJSON nodes that all die together a
 * few microseconds later; through malloc/free that churn was a third of the
 * HTTP thread's time. cJSON only offers process-wide hooks, so the hooks are
 * installed once and pass straight through to malloc/free, except on a thread
 * that is inside json_arena_begin()/json_arena_end(): there they draw from
 * that scope's arena and free nothing (the arena is reset afterwards).
 *
 * An arena charged to a budget (buf.h) refuses allocations past its limit:
 * cJSON_Parse then fails at once instead of building the rest of the tree,
 * and the budget's flags tell that failure from a syntax error.
 *
 * Rule: a cJSON tree built inside a scope must be deleted inside the same
 * scope (or simply dropped: the arena owns it), and trees built outside must
 * not be deleted inside one.
 */
#ifndef ING_JSONARENA_H
#define ING_JSONARENA_H

#include "buf.h"

void json_arena_begin(ing_arena *a);
/* Ends the scope and resets the arena. */
void json_arena_end(ing_arena *a);

#endif
