#include "datafile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DF_MAX_BYTES ((long)256 << 20)

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int push_row(df_table *t, size_t *cap, df_row row)
{
    if (t->nrows == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        df_row *nr = realloc(t->rows, nc * sizeof *nr);
        if (!nr)
            return -1;
        t->rows = nr;
        *cap = nc;
    }
    t->rows[t->nrows++] = row;
    return 0;
}

int df_load(const char *path, df_table *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || size > DF_MAX_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        snprintf(err, errlen, "%s: %s", path,
                 size > DF_MAX_BYTES ? "larger than 256 MiB" : "cannot read its size");
        return -1;
    }
    out->text = malloc((size_t)size + 1);
    if (!out->text || fread(out->text, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        df_free(out);
        snprintf(err, errlen, "%s: cannot read", path);
        return -1;
    }
    fclose(f);
    out->text[size] = '\0';
    if (memchr(out->text, '\0', (size_t)size)) {
        df_free(out);
        snprintf(err, errlen, "%s: a NUL byte: not a text file", path);
        return -1;
    }
    size_t cap = 0;
    unsigned line = 0;
    char *p = out->text;
    if (size >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark, as spreadsheets write */
    while (p && *p) {
        line++;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *l = trim(p);
        p = nl ? nl + 1 : NULL;
        if (!*l || *l == '#')
            continue;
        df_row row = {NULL, 0, line};
        size_t ccap = 0;
        for (char *c = l;;) {
            char *comma = strchr(c, ',');
            if (comma)
                *comma = '\0';
            if (row.ncells == ccap) {
                ccap = ccap ? ccap * 2 : 4;
                char **nc = realloc(row.cells, ccap * sizeof *nc);
                if (!nc) {
                    free(row.cells);
                    df_free(out);
                    snprintf(err, errlen, "%s: out of memory", path);
                    return -1;
                }
                row.cells = nc;
            }
            row.cells[row.ncells++] = trim(c);
            if (!comma)
                break;
            c = comma + 1;
        }
        if (push_row(out, &cap, row)) {
            free(row.cells);
            df_free(out);
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
    }
    return 0;
}

void df_free(df_table *t)
{
    for (size_t i = 0; i < t->nrows; i++)
        free(t->rows[i].cells);
    free(t->rows);
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
