/*
 * Growable byte buffers and a bump arena. Both keep their memory on reset so
 * that a server handling many requests stops allocating once warmed up.
 */
#ifndef ING_BUF_H
#define ING_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ing_buf {
    char *data; /* always NUL-terminated when len > 0 or after ing_buf_cstr */
    size_t len;
    size_t cap;
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

typedef struct ing_arena_block ing_arena_block;
typedef struct ing_arena {
    ing_arena_block *head; /* current block; older blocks follow */
} ing_arena;

/* Memory valid until the next reset; pointers never move. NULL on failure. */
void *ing_arena_alloc(ing_arena *a, size_t n);
char *ing_arena_strndup(ing_arena *a, const char *s, size_t n);
/* Frees all but the largest block. */
void ing_arena_reset(ing_arena *a);
void ing_arena_free(ing_arena *a);

#endif
