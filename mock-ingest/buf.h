/*
 * Growable byte buffers and a bump arena. Both keep their memory on reset so
 * that a server handling many requests stops allocating once warmed up (an
 * arena keeps at most ING_ARENA_KEEP_BYTES, so that a burst of big requests
 * does not pin its peak forever).
 *
 * Either may be charged to an ing_budget: its growth is then refused before
 * it is allocated once it would take the budget past its limit, so the memory
 * a hostile input can make us hold is bounded, not just detected afterwards.
 */
#ifndef ING_BUF_H
#define ING_BUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Bytes that buffers and arenas charged to it may hold together. Callers set
 * limit (and used, for memory already held) and read the flags after a
 * failure to tell the limit from malloc.
 */
typedef struct ing_budget {
    size_t limit; /* 0: none */
    size_t used;  /* bytes charged and not given back */
    bool refused; /* a growth failed because of the limit */
    bool nomem;   /* a growth failed because malloc did */
} ing_budget;

/* Bytes the budget still allows; SIZE_MAX for no budget (NULL) or no limit. */
size_t ing_budget_left(const ing_budget *bg);
/* Charges n bytes; false (and refused set) when that would pass the limit. NULL: true. */
bool ing_budget_take(ing_budget *bg, size_t n);
/* Gives back n bytes charged for an allocation that then failed, and sets nomem. */
void ing_budget_failed(ing_budget *bg, size_t n);
/* Gives back n bytes that were freed. */
void ing_budget_give(ing_budget *bg, size_t n);

typedef struct ing_buf {
    char *data; /* always NUL-terminated when len > 0 or after ing_buf_cstr */
    size_t len;
    size_t cap;
    ing_budget *budget; /* NULL, or charged with cap */
} ing_buf;

/* Each returns false on allocation failure and leaves the buffer as it was. */
bool ing_buf_reserve(ing_buf *b, size_t extra);
bool ing_buf_append(ing_buf *b, const void *p, size_t n);
bool ing_buf_puts(ing_buf *b, const char *s);
bool ing_buf_putc(ing_buf *b, char c);
bool ing_buf_printf(ing_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `s` as a JSON string literal, quotes included. */
bool ing_buf_json_str(ing_buf *b, const char *s);
const char *ing_buf_cstr(ing_buf *b);
void ing_buf_reset(ing_buf *b);
void ing_buf_free(ing_buf *b);

/* The largest block an arena keeps across a reset. */
#define ING_ARENA_KEEP_BYTES ((size_t)1 << 20)

typedef struct ing_arena_block ing_arena_block;
typedef struct ing_arena {
    ing_arena_block *head; /* current block; older blocks follow */
    size_t held;           /* bytes malloc'd for the blocks, headers included */
    ing_budget *budget;    /* NULL, or charged with held */
} ing_arena;

/*
 * Memory valid until the next reset; pointers never move. NULL on failure
 * (with a budget, its flags say whether the limit or malloc refused).
 */
void *ing_arena_alloc(ing_arena *a, size_t n);
char *ing_arena_strndup(ing_arena *a, const char *s, size_t n);
/* Frees all blocks but the largest one of at most ING_ARENA_KEEP_BYTES. */
void ing_arena_reset(ing_arena *a);
void ing_arena_free(ing_arena *a);

#endif
