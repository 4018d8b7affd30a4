#include "datafile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DF_MAX_BYTES ((long)256 << 20)

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

/* [*b, *e): [p, stop) without leading blanks and trailing blanks or CRs. */
static void trim_span(char *p, char *stop, char **b, char **e)
{
    while (p < stop && blank(*p))
        p++;
    while (stop > p && (blank(stop[-1]) || stop[-1] == '\r'))
        stop--;
    *b = p;
    *e = stop;
}

/* The line at p (text ends at end): its trimmed content in [*b, *e); returns the next line. */
static char *next_line(char *p, char *end, char **b, char **e)
{
    char *nl = memchr(p, '\n', (size_t)(end - p));
    trim_span(p, nl ? nl : end, b, e);
    return nl ? nl + 1 : end;
}

static int is_row(const char *b, const char *e)
{
    return b < e && *b != '#';
}

static size_t commas(const char *b, const char *e)
{
    size_t n = 0;
    for (const char *c = b; (c = memchr(c, ',', (size_t)(e - c))); c++)
        n++;
    return n;
}

/*
 * Two passes over the text: the first counts rows and cells so that each array is allocated
 * once at its exact size (no per-row allocations, no growth slack, no copies while growing)
 * and the limits are checked before anything is allocated; the second cuts and fills.
 */
static int index_text(const char *path, df_table *t, char *p, char *end, char *err, size_t errlen)
{
    size_t nrows = 0, ncells = 0;
    unsigned line = 0;
    char *b, *e;
    for (char *q = p; q < end;) {
        line++;
        q = next_line(q, end, &b, &e);
        if (!is_row(b, e))
            continue;
        nrows++;
        ncells += commas(b, e) + 1;
        if (nrows > DF_MAX_ROWS || ncells > DF_MAX_CELLS) {
            snprintf(err, errlen, "%s:%u: more than %zu %s: a data file holds at most that many",
                     path, line, nrows > DF_MAX_ROWS ? DF_MAX_ROWS : DF_MAX_CELLS,
                     nrows > DF_MAX_ROWS ? "rows" : "cells");
            return -1;
        }
    }
    if (nrows == 0)
        return 0;
    t->rows = malloc(nrows * sizeof *t->rows);
    t->cells = malloc(ncells * sizeof *t->cells);
    if (!t->rows || !t->cells) {
        snprintf(err, errlen, "%s: out of memory for %zu rows", path, nrows);
        return -1;
    }
    line = 0;
    char **cell = t->cells;
    while (p < end) {
        line++;
        p = next_line(p, end, &b, &e);
        if (!is_row(b, e))
            continue;
        *e = '\0'; /* the newline, a trailing blank or CR, or the text's own terminator */
        df_row *row = &t->rows[t->nrows++];
        *row = (df_row){cell, 0, line};
        for (char *c = b;;) {
            char *comma = memchr(c, ',', (size_t)(e - c));
            char *cb, *ce;
            trim_span(c, comma ? comma : e, &cb, &ce);
            *ce = '\0';
            *cell++ = cb;
            row->ncells++;
            if (!comma)
                break;
            c = comma + 1;
        }
    }
    t->ncells = ncells;
    return 0;
}

sim_err df_load(const char *path, df_table *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return SIM_EINPUT;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || size > DF_MAX_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        snprintf(err, errlen, "%s: %s", path,
                 size > DF_MAX_BYTES ? "larger than 256 MiB" : "cannot read its size");
        return SIM_EINPUT;
    }
    out->text = malloc((size_t)size + 1);
    if (!out->text || fread(out->text, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        df_free(out);
        snprintf(err, errlen, "%s: cannot read", path);
        return SIM_EINPUT;
    }
    fclose(f);
    out->text[size] = '\0';
    if (memchr(out->text, '\0', (size_t)size)) {
        df_free(out);
        snprintf(err, errlen, "%s: a NUL byte: not a text file", path);
        return SIM_EINPUT;
    }
    char *p = out->text;
    if (size >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark, as spreadsheets write */
    if (index_text(path, out, p, out->text + size, err, errlen)) {
        df_free(out);
        return SIM_EINPUT;
    }
    return 0;
}

void df_free(df_table *t)
{
    free(t->rows);
    free(t->cells);
    free(t->text);
    memset(t, 0, sizeof *t);
}

int df_number(const char *cell, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(cell, &end);
    if (end == cell || *end || errno || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

void df_resolve(const char *base, const char *rel, char *out, size_t outlen)
{
    const char *slash = strrchr(base, '/');
    if (rel[0] == '/' || !slash)
        snprintf(out, outlen, "%s", rel);
    else
        snprintf(out, outlen, "%.*s/%s", (int)(slash - base), base, rel);
}
