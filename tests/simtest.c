#include "simtest.h"

#include "summary.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include <inttypes.h>
#include <stdint.h>
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
    fprintf(sum, "seed %" PRIu64 "\n", out.r.seed);
    sum_print(s, &out.r, sum);
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

/*
 * The event line at p, "time seq type a b", ending at nl (or the text's end): its time and
 * type. False for other lines (the seed). Reads the line once: sscanf on the log would
 * measure the whole rest of it on every call (quadratic over a day of events).
 */
static bool event_at(const char *p, const char *nl, int64_t *t, const char **type, size_t *tlen)
{
    if (p == nl || *p < '0' || *p > '9')
        return false; /* strtoll would skip blanks, newlines included */
    char *q;
    int64_t v = strtoll(p, &q, 10);
    if (q == nl || *q++ != ' ')
        return false;
    while (q < nl && *q >= '0' && *q <= '9')
        q++; /* the sequence number */
    if (q == nl || *q++ != ' ')
        return false;
    const char *sp = memchr(q, ' ', (size_t)(nl - q));
    *t = v;
    *type = q;
    *tlen = (size_t)((sp ? sp : nl) - q);
    return true;
}

int events_between(const simrun *s, const char *type, int64_t from, int64_t to)
{
    int n = 0;
    size_t want = strlen(type);
    for (const char *p = s->events; p && *p;) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl : p + strlen(p);
        int64_t t;
        const char *ty;
        size_t tl;
        if (event_at(p, end, &t, &ty, &tl) && tl == want && memcmp(ty, type, tl) == 0 &&
            t >= from && t < to)
            n++;
        p = nl ? nl + 1 : end;
    }
    return n;
}

int events_of(const simrun *s, const char *type)
{
    return events_between(s, type, INT64_MIN, INT64_MAX); /* no event is at INT64_MAX */
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

int lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return n;
}

const char *line_starting(const char *text, const char *prefix)
{
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, len) == 0)
            return p;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return NULL;
}

void expect_fate_in(const char *ledger_db, int n, const char *want)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT fate || '/' || COALESCE(cause, '-') || '@' || COALESCE(died_ns, '-') || '/'"
             " || COALESCE(layer, '-') FROM fates WHERE item = %d",
             n);
    char *got = t_sql_str(ledger_db, sql);
    if (!got || strcmp(got, want) != 0)
        fail_msg("item %d: %s, want %s", n, got ? got : "(none)", want);
    free(got);
}

xrun xrun_text(const char *json)
{
    xrun x = {0};
    scenario *s;
    if (scn_parse(json, "t.json", &s, x.err, sizeof x.err))
        fail_msg("scenario: %s", x.err);
    x.dir = t_mkdtemp();
    x.ledger_db = t_path(x.dir, "ledger.db");
    sim_options o = {.run_dir = x.dir};
    x.rc = sim_run(s, &o, &x.r, x.err, sizeof x.err);
    scn_free(s);
    return x;
}

void xrun_free(xrun *x)
{
    sim_result_free(&x->r);
    t_rmtree(x->dir);
    free(x->dir);
    free(x->ledger_db);
}

char *run_exporter_log(const char *dir)
{
    char *p = t_path(dir, "exporter.log");
    char *text = t_read_file(p, NULL);
    free(p);
    assert_non_null(text);
    return text;
}

char *cap_backoff_twin_file(const char *scenarios_dir, const char *dir, const char *name,
                            const char *key, const char *value)
{
    char *src = t_path(scenarios_dir, "seed-000-cap-backoff.json");
    char *text = t_read_file(src, NULL);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    cJSON_DeleteItemFromObject(root, "variants");
    cJSON_DeleteItemFromObject(root, "expect");
    cJSON *ex = cJSON_GetObjectItem(root, "exporter");
    cJSON_DeleteItemFromObject(ex, "strategy");
    if (!key) {
        cJSON_AddStringToObject(ex, "strategy", "threshold");
    } else {
        cJSON_DeleteItemFromObject(ex, "backoff_s");
        cJSON_AddStringToObject(ex, key, value);
        cJSON *o = cJSON_AddObjectToObject(ex, "options");
        cJSON_AddNumberToObject(o, "backoff_s", 300);
        cJSON_AddFalseToObject(o, "honor_retry_after");
    }
    char *out = cJSON_Print(root);
    char *path = t_write_file(dir, name, out);
    assert_non_null(path);
    free(out);
    cJSON_Delete(root);
    free(text);
    free(src);
    return path;
}

const char *const threshold_twin_cases[THRESHOLD_TWIN_CASES][2] = {
    {"seed-000-low-volume.json", "threshold"},
    {"seed-000-busy-worker.json", "threshold"},
    {"faults-runtime-memory-pressure.json", "threshold (the seed's exporter)"},
    {"limits-memory.json", "random kills, buffering exporter"},
};

char *exporter_doc(const char *exporter, const char *handler, int requests, double gap_s)
{
    char *json = malloc(8192);
    assert_non_null(json);
    snprintf(
        json, 8192,
        "{\"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": %g, \"requests\": %d,"
        " \"duration_s\": 0, \"drain_s\": 600},"
        " \"runtime\": {\"cold_start\": {\"fixed_ms\": 0}, \"idle_timeout\": {\"fixed_s\": 10}},"
        " \"network\": {\"latency\": {\"fixed_ms\": 1}},"
        " \"exporter\": {%s},"
        " \"app\": {\"handler\": [%s]}}",
        1 / gap_s, requests, exporter, handler);
    return json;
}
