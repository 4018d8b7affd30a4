#include "cli.h"

#include "schema.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_nearest(const char *name, const char *const *names)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, len = strlen(name);
    for (size_t i = 0; names[i]; i++) {
        size_t d = sk_distance(name, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best && best_d <= (len < 6 ? 2 : len / 3) ? best : NULL;
}

static const cli_opt *find(const cli_opt *opts, size_t nopts, const char *name, size_t len)
{
    for (size_t i = 0; i < nopts; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static sim_err unknown(const cli_opt *opts, size_t nopts, const char *arg, size_t len, char *err,
                       size_t errlen)
{
    const char *names[CLI_MAX_OPTS + 1];
    for (size_t i = 0; i < nopts; i++)
        names[i] = opts[i].name;
    names[nopts] = NULL;
    char given[128];
    snprintf(given, sizeof given, "%.*s", (int)(len < 100 ? len : 100), arg);
    const char *near = cli_nearest(given, names);
    if (near)
        snprintf(err, errlen, "unknown option %s (did you mean %s?)", given, near);
    else
        snprintf(err, errlen, "unknown option %s (see --help)", given);
    return SIM_EUSAGE;
}

sim_err cli_parse(const cli_opt *opts, size_t nopts, int argc, char **argv, cli_args *out,
                  char *err, size_t errlen)
{
    assert(nopts <= CLI_MAX_OPTS);
    memset(out, 0, sizeof *out);
    bool options = true;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!options || a[0] != '-' || a[1] == '\0') {
            if (out->npositional == CLI_MAX_ARGS) {
                snprintf(err, errlen, "more than %d arguments", CLI_MAX_ARGS);
                return SIM_EUSAGE;
            }
            out->positional[out->npositional++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options = false;
            continue;
        }
        const cli_opt *o = NULL;
        const char *value = NULL;
        if (a[1] != '-') {
            /* -h: one letter, no bundling (no option here is worth the ambiguity). */
            for (size_t k = 0; k < nopts && a[2] == '\0'; k++)
                if (opts[k].short_name == a[1])
                    o = &opts[k];
            if (!o)
                return unknown(opts, nopts, a, strlen(a), err, errlen);
        } else {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            if (!(o = find(opts, nopts, a, len)))
                return unknown(opts, nopts, a, len, err, errlen);
            if (eq) {
                if (!o->value) {
                    snprintf(err, errlen, "%s takes no value", o->name);
                    return SIM_EUSAGE;
                }
                value = eq + 1;
            }
        }
        if (o->value && !value) {
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
                snprintf(err, errlen, "%s needs a value (%s)", o->name, o->value);
                return SIM_EUSAGE;
            }
            value = argv[++i];
        }
        if (o->value && value[0] == '\0') {
            snprintf(err, errlen, "%s: expected a value, got an empty string", o->name);
            return SIM_EUSAGE;
        }
        out->value[o - opts] = o->value ? value : "";
    }
    return SIM_OK;
}

size_t cli_index(const cli_opt *opts, size_t nopts, const char *name)
{
    for (size_t i = 0; i < nopts; i++)
        if (strcmp(opts[i].name, name) == 0)
            return i;
    assert(!"an option not in its command's table");
    return 0;
}

const char *cli_get(const cli_opt *opts, size_t nopts, const cli_args *a, const char *name)
{
    return a->value[cli_index(opts, nopts, name)];
}

void cli_print_options(const cli_opt *opts, size_t nopts, FILE *out)
{
    for (size_t i = 0; i < nopts; i++) {
        char name[80];
        char sh[5] = "    ";
        if (opts[i].short_name)
            snprintf(sh, sizeof sh, "-%c, ", opts[i].short_name);
        snprintf(name, sizeof name, "%s%s%s%s", sh, opts[i].name, opts[i].value ? " " : "",
                 opts[i].value ? opts[i].value : "");
        fprintf(out, "  %-26s ", name);
        for (const char *h = opts[i].help; *h; h++) {
            fputc(*h, out);
            if (*h == '\n')
                fprintf(out, "  %-26s ", "");
        }
        fputc('\n', out);
    }
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > 9007199254740991ULL)
        return -1;
    *out = v;
    return 0;
}
