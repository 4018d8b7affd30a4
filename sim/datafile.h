/*
 * Small CSV data files that scenarios point to (replayed arrival times,
 * measured latency samples): comma-separated fields, surrounding blanks
 * trimmed, blank lines and lines starting with '#' skipped, CRLF and a UTF-8
 * byte order mark accepted, a NUL byte refused. No quoting: the files hold
 * numbers and short names. Every row keeps its line number so errors can
 * name "file:line".
 *
 * A replay can hold millions of rows, so a table is three allocations
 * whatever its size: the file's text, cut in place into cells; one array of
 * every row's cell pointers, one row after another; and the rows, each
 * pointing at its run of that array. Per row that is sizeof(df_row) plus a
 * pointer per cell on top of the text: a file of 12-byte lines takes about
 * 3 times its size.
 */
#ifndef SIM_DATAFILE_H
#define SIM_DATAFILE_H

#include "error.h"
#include <stddef.h>
#include <stdint.h>

/* At most this many rows, and cells over all rows: a bound on the memory a hostile file can
 * make the loader take (~1.3 GB of index), well above a 256 MiB file of real replay lines. */
#define DF_MAX_ROWS  ((size_t)1 << 25)
#define DF_MAX_CELLS ((size_t)1 << 26)

typedef struct df_row {
    char **cells;    /* ncells pointers, within the table's `cells` */
    uint32_t ncells; /* (32 bits: 16 bytes a row, a third of a short replay line's cost) */
    uint32_t line;
} df_row;

typedef struct df_table {
    df_row *rows;
    size_t nrows;
    char *text;   /* the file, cut in place: every cell points into it */
    char **cells; /* the cells of every row, in file order */
    size_t ncells;
} df_table;

/* Reads `path`. Returns SIM_OK, or SIM_EINPUT with "PATH: reason" (or "PATH:LINE: reason") in err.
 */
sim_err df_load(const char *path, df_table *out, char *err, size_t errlen);
void df_free(df_table *t);

/* A cell as a finite number; false if it is not one. */
int df_number(const char *cell, double *out);

/* `rel` resolved against the directory of `base` (a file path) unless absolute. */
void df_resolve(const char *base, const char *rel, char *out, size_t outlen);

#endif
