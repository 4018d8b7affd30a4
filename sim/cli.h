/*
 * The command line's grammar, shared by every subcommand: options declared in a
 * table, given as `--opt value` or `--opt=value` (a value may not start with "--":
 * `--out --variant x` is a missing value, not an --out named "--variant"), `-h` and
 * `--help` everywhere, `--` ending the options, and unknown options answered with a
 * did-you-mean. Parsing only: what an option means is the caller's.
 */
#ifndef SIM_CLI_H
#define SIM_CLI_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cli_opt {
    const char *name;  /* "--out" */
    char short_name;   /* 'o', or 0 */
    const char *value; /* the value's name in the help ("DIR"); NULL: a flag */
    const char *help;  /* one line; "\n" continues it */
} cli_opt;

#define CLI_MAX_OPTS 32
#define CLI_MAX_ARGS 256

typedef struct cli_args {
    const char *value[CLI_MAX_OPTS]; /* per option: its last value, "" for a set flag, or NULL */
    const char *positional[CLI_MAX_ARGS];
    size_t npositional;
} cli_args;

/*
 * Parses argv (without the command words) against `opts`. Returns SIM_OK, or SIM_EUSAGE
 * with the message ("unknown option --frob (did you mean --from?)").
 */
sim_err cli_parse(const cli_opt *opts, size_t nopts, int argc, char **argv, cli_args *out,
                  char *err, size_t errlen);

/* The option's index in the table (it must be there). */
size_t cli_index(const cli_opt *opts, size_t nopts, const char *name);
/* Its value, or NULL when not given. */
const char *cli_get(const cli_opt *opts, size_t nopts, const cli_args *a, const char *name);

/* The options' help lines, aligned. */
void cli_print_options(const cli_opt *opts, size_t nopts, FILE *out);

/* A whole number option value from 0 to 2^53 - 1 (a seed or a count is a JSON number in the
 * files it goes into, exact only that far). Returns 0, or -1 for anything else. */
int cli_parse_u64(const char *s, uint64_t *out);

/* The closest of `names` (NULL-terminated) within a small edit distance, or NULL. */
const char *cli_nearest(const char *name, const char *const *names);

#endif
