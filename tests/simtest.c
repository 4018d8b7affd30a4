#include "simtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static simrun run_text(const char *json, int64_t seed, const char *dir, const char *variant,
                       bool traced);

simrun sim_text(const char *json, int64_t seed)
{
    return run_text(json, seed, NULL, NULL, true);
}

simrun sim_text_untraced(const char *json, int64_t seed, const char *dir)
{
    return run_text(json, seed, dir, NULL, false);
}

simrun sim_text_in(const char *json, int64_t seed, const char *dir, const char *variant)
{
    return run_text(json, seed, dir, variant, true);
}

static simrun run_text(const char *json, int64_t seed, const char *dir, const char *variant,
                       bool traced)
{
    simrun out = {0};
    char err[1024];
    scenario *first;
    if (scn_parse(json, "test.json", &first, err, sizeof err))
        fail_msg("scenario: %s", err);
    scenario *s = first;
    while (variant && s && strcmp(s->variant, variant) != 0)
        s = s->next;
    if (!s)
        fail_msg("no variant %s", variant);
    size_t elen = 0, slen = 0, tlen = 0;
    FILE *ev = open_memstream(&out.events, &elen);
    FILE *tr = traced ? open_memstream(&out.trace, &tlen) : NULL;
    sim_options o = {.seed = seed < 0 ? 0 : (uint64_t)seed,
                     .seed_set = seed >= 0,
                     .events = ev,
                     .trace = tr,
                     .run_dir = dir};
    if (sim_run(s, &o, &out.r, err, sizeof err))
        fail_msg("run: %s", err);
    fclose(ev);
    if (tr)
        fclose(tr);
    FILE *sum = open_memstream(&out.summary, &slen);
    sim_print_summary(s, &out.r, sum);
    fclose(sum);
    scn_free(first);
    return out;
}

void simrun_free(simrun *s)
{
    sim_result_free(&s->r);
    free(s->trace);
    free(s->events);
    free(s->summary);
}

int events_of(const simrun *s, const char *type)
{
    int n = 0;
    size_t tl = strlen(type);
    for (const char *p = s->events; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        /* "time seq type a b" */
        const char *sp1 = memchr(p, ' ', len);
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - p)) : NULL;
        if (sp2 && strncmp(sp2 + 1, type, tl) == 0 && sp2[1 + tl] == ' ')
            n++;
        p = nl ? nl + 1 : p + len;
    }
    return n;
}

int trace_count(const simrun *s, const char *needle)
{
    int n = 0;
    for (const char *p = s->trace; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

const char *trace_line(const simrun *s, const char *needle, int nth)
{
    static char line[512];
    line[0] = '\0';
    const char *p = s->trace;
    for (int i = 0; p && (p = strstr(p, needle)); p++, i++) {
        if (i < nth)
            continue;
        const char *start = p;
        while (start > s->trace && start[-1] != '\n')
            start--;
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, start, len);
        line[len] = '\0';
        break;
    }
    return line;
}
