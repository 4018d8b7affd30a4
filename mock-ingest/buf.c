#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char *p = realloc(b->data, cap);
    if (!p)
        return false;
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

bool ing_buf_json_str(ing_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    /* Worst case every byte becomes \u00XX. */
    if (!ing_buf_reserve(b, n * 6 + 2))
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

void *ing_arena_alloc(ing_arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    n = (n + align - 1) / align * align;
    ing_arena_block *blk = a->head;
    if (!blk || blk->cap - blk->used < n) {
        size_t cap = blk ? blk->cap * 2 : 16384;
        while (cap < n)
            cap *= 2;
        ing_arena_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->next = blk;
        nb->used = 0;
        nb->cap = cap;
        a->head = blk = nb;
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

void ing_arena_reset(ing_arena *a)
{
    /* Blocks double, so the head is the largest: keep it, drop the rest. */
    ing_arena_block *blk = a->head;
    if (!blk)
        return;
    ing_arena_block *rest = blk->next;
    while (rest) {
        ing_arena_block *nx = rest->next;
        free(rest);
        rest = nx;
    }
    blk->next = NULL;
    blk->used = 0;
}

void ing_arena_free(ing_arena *a)
{
    ing_arena_block *blk = a->head;
    while (blk) {
        ing_arena_block *nx = blk->next;
        free(blk);
        blk = nx;
    }
    a->head = NULL;
}
