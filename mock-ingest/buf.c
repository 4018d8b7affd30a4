#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ing_budget_left(const ing_budget *bg)
{
    if (!bg || !bg->limit)
        return SIZE_MAX;
    return bg->used < bg->limit ? bg->limit - bg->used : 0;
}

bool ing_budget_take(ing_budget *bg, size_t n)
{
    if (!bg)
        return true;
    if (n > ing_budget_left(bg)) {
        bg->refused = true;
        return false;
    }
    bg->used += n;
    return true;
}

void ing_budget_give(ing_budget *bg, size_t n)
{
    if (bg)
        bg->used -= n < bg->used ? n : bg->used;
}

void ing_budget_failed(ing_budget *bg, size_t n)
{
    if (!bg)
        return;
    ing_budget_give(bg, n);
    bg->nomem = true;
}

bool ing_buf_reserve(ing_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return false;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    /* Near the budget's limit, doubling's slack is what would not fit. */
    if (cap - b->cap > ing_budget_left(b->budget))
        cap = need;
    if (!ing_budget_take(b->budget, cap - b->cap))
        return false;
    char *p = realloc(b->data, cap);
    if (!p) {
        ing_budget_failed(b->budget, cap - b->cap);
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

bool ing_buf_append(ing_buf *b, const void *p, size_t n)
{
    if (!ing_buf_reserve(b, n))
        return false;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool ing_buf_puts(ing_buf *b, const char *s)
{
    return ing_buf_append(b, s, strlen(s));
}

bool ing_buf_putc(ing_buf *b, char c)
{
    return ing_buf_append(b, &c, 1);
}

bool ing_buf_printf(ing_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    if ((size_t)n < sizeof tmp)
        return ing_buf_append(b, tmp, (size_t)n);
    if (!ing_buf_reserve(b, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

/* Bytes `c` takes inside a JSON string literal beyond itself. */
static size_t json_escape_extra(unsigned char c)
{
    if (c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '\r')
        return 1;
    return c < 0x20 ? 5 : 0;
}

bool ing_buf_json_str(ing_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    /* The exact size, not the worst case of six bytes per byte: a long string
     * would otherwise grow the buffer (and charge its budget) sixfold. */
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += 1 + json_escape_extra(*p);
    if (!ing_buf_reserve(b, n + 2))
        return false;
    char *o = b->data + b->len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c >= 0x20) {
            *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (c == '\r') {
            *o++ = '\\';
            *o++ = 'r';
        } else {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return true;
}

const char *ing_buf_cstr(ing_buf *b)
{
    if (!b->data && !ing_buf_reserve(b, 0))
        return "";
    b->data[b->len] = '\0';
    return b->data;
}

void ing_buf_reset(ing_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ing_buf_free(ing_buf *b)
{
    ing_budget_give(b->budget, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

struct ing_arena_block {
    ing_arena_block *next;
    size_t used;
    size_t cap;
    max_align_t mem[];
};

/*
 * A new block's capacity for an allocation of n bytes: double the current
 * block (few mallocs for a big body), but near the budget's limit at most
 * half of what is left, so that one block does not take the whole rest.
 */
static size_t block_cap(const ing_arena *a, size_t n)
{
    size_t cap = a->head ? a->head->cap * 2 : 16384;
    while (cap < n)
        cap *= 2;
    size_t left = ing_budget_left(a->budget);
    if (left == SIZE_MAX)
        return cap;
    size_t half = left / 2;
    if (sizeof(ing_arena_block) + cap > half)
        cap = half > sizeof(ing_arena_block) + n ? half - sizeof(ing_arena_block) : n;
    return cap;
}

static ing_arena_block *new_block(ing_arena *a, size_t n)
{
    size_t cap = block_cap(a, n);
    size_t size = sizeof(ing_arena_block) + cap;
    if (!ing_budget_take(a->budget, size))
        return NULL;
    ing_arena_block *nb = malloc(size);
    if (!nb) {
        ing_budget_failed(a->budget, size);
        return NULL;
    }
    nb->next = a->head;
    nb->used = 0;
    nb->cap = cap;
    a->head = nb;
    a->held += size;
    return nb;
}

void *ing_arena_alloc(ing_arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    if (n > SIZE_MAX / 4) {
        ing_budget_failed(a->budget, 0);
        return NULL;
    }
    n = (n + align - 1) / align * align;
    ing_arena_block *blk = a->head;
    if (!blk || blk->cap - blk->used < n) {
        blk = new_block(a, n);
        if (!blk)
            return NULL;
    }
    void *p = (char *)blk->mem + blk->used;
    blk->used += n;
    return p;
}

char *ing_arena_strndup(ing_arena *a, const char *s, size_t n)
{
    char *p = ing_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void free_block(ing_arena *a, ing_arena_block *blk)
{
    size_t size = sizeof *blk + blk->cap;
    a->held -= size;
    ing_budget_give(a->budget, size);
    free(blk);
}

void ing_arena_reset(ing_arena *a)
{
    /* The largest block small enough to keep serves the next request whole;
     * a bigger one was a burst, whose memory goes back. */
    ing_arena_block *keep = NULL;
    for (ing_arena_block *blk = a->head; blk; blk = blk->next)
        if (blk->cap <= ING_ARENA_KEEP_BYTES && (!keep || blk->cap > keep->cap))
            keep = blk;
    ing_arena_block *blk = a->head;
    while (blk) {
        ing_arena_block *nx = blk->next;
        if (blk != keep)
            free_block(a, blk);
        blk = nx;
    }
    a->head = keep;
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
}

void ing_arena_free(ing_arena *a)
{
    ing_arena_block *blk = a->head;
    while (blk) {
        ing_arena_block *nx = blk->next;
        free_block(a, blk);
        blk = nx;
    }
    a->head = NULL;
}
