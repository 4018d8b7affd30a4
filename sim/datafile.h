/*
 * Small CSV data files that scenarios point to (replayed arrival times,
 * measured latency samples): comma-separated fields, surrounding blanks
 * trimmed, blank lines and lines starting with '#' skipped, CRLF and a UTF-8
 * byte order mark accepted, a NUL byte refused. No quoting: the files hold
 * numbers and short names. Every row keeps its line number so errors can
 * name "file:line".
 */
#ifndef SIM_DATAFILE_H
#define SIM_DATAFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct df_row {
    char **cells;
    size_t ncells;
    unsigned line;
} df_row;

typedef struct df_table {
    df_row *rows;
    size_t nrows;
    char *text; /* the file, cut in place */
} df_table;

/* Reads `path`. Returns 0, or -1 with "PATH: reason" in err. */
int df_load(const char *path, df_table *out, char *err, size_t errlen);
void df_free(df_table *t);

/* A cell as a finite number; false if it is not one. */
int df_number(const char *cell, double *out);

/* `rel` resolved against the directory of `base` (a file path) unless absolute. */
void df_resolve(const char *base, const char *rel, char *out, size_t outlen);

#endif
