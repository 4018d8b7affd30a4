#include "results.h"

#include "summary.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

res_run *res_add(res_set *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        res_run *g = realloc(s->runs, cap * sizeof *g);
        if (!g)
            abort();
        s->runs = g;
        s->cap = cap;
    }
    res_run *r = &s->runs[s->n++];
    memset(r, 0, sizeof *r);
    return r;
}

void res_run_clear(res_run *r)
{
    free(r->file);
    free(r->name);
    free(r->variant);
    free(r->message);
    free(r->checks);
    free(r->run_dir);
    free(r->metrics);
    memset(r, 0, sizeof *r);
}

void res_free(res_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        res_run_clear(&s->runs[i]);
    free(s->runs);
    s->runs = NULL;
    s->n = s->cap = 0;
}

res_status res_status_of(const res_run *r)
{
    if (r->err != SIM_OK || !r->variant)
        return RES_ERROR;
    if (r->telemetry && !r->verified)
        return RES_UNVERIFIED;
    for (size_t i = 0; i < r->nchecks; i++)
        if (!r->checks[i].pass)
            return RES_FAIL;
    return RES_PASS;
}

const char *res_status_name(res_status st)
{
    static const char *const names[] = {"pass", "fail", "unverified", "error"};
    return names[st];
}

int res_exit_code(const res_set *s)
{
    int worst = SIM_EXIT_OK;
    for (size_t i = 0; i < s->n; i++) {
        const res_run *r = &s->runs[i];
        if (r->err == SIM_EINTR)
            return sim_exit_code(SIM_EINTR);
        int code = res_status_of(r) == RES_ERROR  ? sim_exit_code(r->err ? r->err : SIM_ECHILD)
                   : res_status_of(r) == RES_PASS ? SIM_EXIT_OK
                                                  : SIM_EXIT_CHECK_FAILED;
        if (code > worst)
            worst = code;
    }
    return worst;
}

void res_shell_arg(char *buf, size_t len, const char *arg)
{
    size_t used = strlen(buf);
    bool plain = arg[0] != '\0';
    for (const char *p = arg; *p; p++)
        plain &= strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%",
                        *p) != NULL;
    if (used + 1 < len)
        buf[used++] = ' ';
    if (plain) {
        snprintf(buf + used, len - used, "%s", arg);
        return;
    }
    if (used + 1 < len)
        buf[used++] = '\'';
    for (const char *p = arg; *p && used + 5 < len; p++) {
        if (*p == '\'') {
            memcpy(buf + used, "'\\''", 4);
            used += 4;
        } else {
            buf[used++] = *p;
        }
    }
    if (used + 1 < len)
        buf[used++] = '\'';
    buf[used < len ? used : len - 1] = '\0';
}

void res_reproduce(const res_set *s, const res_run *r, char *buf, size_t len)
{
    buf[0] = '\0';
    snprintf(buf, len, "%s", s->prog ? s->prog : "edgeloss");
    res_shell_arg(buf, len, "run");
    res_shell_arg(buf, len, r->file);
    if (!r->variant)
        return;
    res_shell_arg(buf, len, "--variant");
    res_shell_arg(buf, len, r->variant);
    char seed[24];
    snprintf(seed, sizeof seed, "%" PRIu64, r->seed);
    res_shell_arg(buf, len, "--seed");
    res_shell_arg(buf, len, seed);
    /* Without the exporter the command line gave, the command would run another one. */
    if (s->args && *s->args) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, " %s", s->args);
    }
}

/* ---- the terminal table ---- */

enum { COL_FILE, COL_VARIANT, COL_SEED, COL_CHECK, COL_EXPECTED, COL_MEASURED, COL_RESULT, NCOL };

typedef struct row {
    const char *cell[NCOL];
    char seed[24], measured[32];
    res_status st;
} row;

static const char *measured_text(double v, char *buf, size_t len)
{
    if (isnan(v))
        return "-";
    snprintf(buf, len, "%.6g", v);
    return buf;
}

/* Calls `fn` for every row of the table: a row per check, one per run without checks. */
static size_t rows_of(const res_set *s, row *out)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const res_run *r = &s->runs[i];
        res_status st = res_status_of(r);
        size_t k = r->nchecks && st != RES_ERROR ? r->nchecks : 1;
        for (size_t c = 0; c < k; c++, n++) {
            if (!out)
                continue;
            row *w = &out[n];
            memset(w, 0, sizeof *w);
            w->cell[COL_FILE] = r->file;
            w->cell[COL_VARIANT] = r->variant ? r->variant : "-";
            snprintf(w->seed, sizeof w->seed, "%" PRIu64, r->seed);
            w->cell[COL_SEED] = r->variant ? w->seed : "-";
            if (st == RES_ERROR || !r->nchecks) {
                w->cell[COL_CHECK] = "-";
                w->cell[COL_EXPECTED] = st == RES_UNVERIFIED ? "verified fates" : "-";
                w->cell[COL_MEASURED] = st == RES_ERROR        ? sim_err_name(r->err)
                                        : st == RES_UNVERIFIED ? "no ingest database"
                                        : r->telemetry         ? "no checks"
                                                               : "no exporter";
                w->st = st;
            } else {
                const check_result *ch = &r->checks[c];
                w->cell[COL_CHECK] = ch->check;
                w->cell[COL_EXPECTED] = ch->expected;
                w->cell[COL_MEASURED] =
                    measured_text(ch->measured, w->measured, sizeof w->measured);
                w->st = ch->pass ? RES_PASS : RES_FAIL;
            }
            static const char *const shown[] = {"PASS", "FAIL", "UNVERIFIED", "ERROR"};
            w->cell[COL_RESULT] = shown[w->st];
        }
    }
    return n;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        w += (*p & 0xC0) != 0x80;
    return w;
}

static void cell(FILE *out, const char *s, size_t w, bool last)
{
    fputs(s, out);
    if (!last)
        for (size_t i = width(s); i < w + 2; i++)
            fputc(' ', out);
}

void res_print_table(const res_set *s, FILE *out, bool color)
{
    static const char *const head[NCOL] = {"SCENARIO", "VARIANT",  "SEED",  "CHECK",
                                           "EXPECTED", "MEASURED", "RESULT"};
    static const char *const paint[] = {"\033[32m", "\033[31m", "\033[33m", "\033[31;1m"};
    size_t n = rows_of(s, NULL);
    row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        abort();
    rows_of(s, rows);
    size_t w[NCOL];
    for (int c = 0; c < NCOL; c++) {
        w[c] = width(head[c]);
        for (size_t i = 0; i < n; i++)
            if (width(rows[i].cell[c]) > w[c])
                w[c] = width(rows[i].cell[c]);
    }
    for (int c = 0; c < NCOL; c++)
        cell(out, head[c], w[c], c == NCOL - 1);
    fputc('\n', out);
    size_t counts[4] = {0};
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < NCOL - 1; c++)
            cell(out, rows[i].cell[c], w[c], false);
        if (color)
            fprintf(out, "%s%s\033[0m\n", paint[rows[i].st], rows[i].cell[COL_RESULT]);
        else
            fprintf(out, "%s\n", rows[i].cell[COL_RESULT]);
        counts[rows[i].st]++;
    }
    free(rows);

    char cmd[2048];
    size_t failed_runs = 0;
    for (size_t i = 0; i < s->n; i++) {
        const res_run *r = &s->runs[i];
        res_status st = res_status_of(r);
        if (st == RES_PASS)
            continue;
        failed_runs++;
        fputc('\n', out);
        if (r->variant)
            fprintf(out, "%s %s, variant %s, seed %" PRIu64 "\n",
                    st == RES_ERROR        ? "ERROR"
                    : st == RES_UNVERIFIED ? "UNVERIFIED"
                                           : "FAIL",
                    r->file, r->variant, r->seed);
        else
            fprintf(out, "ERROR %s\n", r->file);
        if (st == RES_ERROR)
            fprintf(out, "  %s: %s\n", sim_strerror(r->err), r->message ? r->message : "");
        if (st == RES_UNVERIFIED)
            fprintf(out, "  fates unverified: the ingest's database was not given (--ingest-db), "
                         "so no item's fate could be decided and no check evaluated\n");
        for (size_t c = 0; st == RES_FAIL && c < r->nchecks; c++) {
            const check_result *ch = &r->checks[c];
            if (ch->pass)
                continue;
            fprintf(out, "  %s\n    expected: %s\n    measured: %s\n", ch->check, ch->expected,
                    ch->detail);
            if (ch->why[0])
                fprintf(out, "    why: %s\n", ch->why);
        }
        res_reproduce(s, r, cmd, sizeof cmd);
        if (r->variant || r->err != SIM_EINPUT)
            fprintf(out, "  reproduce: %s\n", cmd);
    }
    size_t checks = 0, passed = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (res_status_of(&s->runs[i]) == RES_ERROR)
            continue;
        checks += s->runs[i].nchecks;
        for (size_t c = 0; c < s->runs[i].nchecks; c++)
            passed += s->runs[i].checks[c].pass;
    }
    fprintf(out, "\n%zu checks: %zu passed, %zu failed", checks, passed, checks - passed);
    if (counts[RES_UNVERIFIED])
        fprintf(out, ", %zu runs unverified", counts[RES_UNVERIFIED]);
    if (counts[RES_ERROR])
        fprintf(out, ", %zu could not run", counts[RES_ERROR]);
    fprintf(out, " (%zu runs, %zu not passing)\n", s->n, failed_runs);
}

/* ---- JSON ---- */

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *res_run_json(const res_set *s, const res_run *r)
{
    cJSON *j = cJSON_CreateObject();
    add_str(j, "scenario", r->file);
    add_str(j, "name", r->name);
    add_str(j, "variant", r->variant);
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRIu64, r->seed); /* exact past 10^15 */
    if (r->variant)
        cJSON_AddRawToObject(j, "seed", digits);
    else
        cJSON_AddNullToObject(j, "seed");
    cJSON_AddStringToObject(j, "status", res_status_name(res_status_of(r)));
    if (r->err != SIM_OK) {
        cJSON *e = cJSON_AddObjectToObject(j, "error");
        cJSON_AddStringToObject(e, "code", sim_err_name(r->err));
        cJSON_AddNumberToObject(e, "exit", sim_exit_code(r->err));
        add_str(e, "message", r->message ? r->message : sim_strerror(r->err));
    } else {
        cJSON_AddNullToObject(j, "error");
    }
    cJSON_AddBoolToObject(j, "telemetry", r->telemetry);
    cJSON_AddBoolToObject(j, "verified", r->verified);
    cJSON_AddNumberToObject(j, "items", (double)r->items);
    cJSON_AddNumberToObject(j, "lost", (double)r->lost);
    if (r->verified && r->items)
        cJSON_AddNumberToObject(j, "loss_ratio", (double)r->lost / (double)r->items);
    else
        cJSON_AddNullToObject(j, "loss_ratio");
    cJSON *a = cJSON_AddArrayToObject(j, "checks");
    for (size_t i = 0; i < r->nchecks; i++)
        cJSON_AddItemToArray(a, sum_check_json(&r->checks[i]));
    add_str(j, "run_dir", r->run_dir);
    if (r->nmetrics) {
        cJSON *m = cJSON_AddObjectToObject(j, "metrics");
        for (size_t i = 0; i < r->nmetrics; i++)
            if (r->metrics[i].empty || !isfinite(r->metrics[i].value))
                cJSON_AddNullToObject(m, r->metrics[i].name);
            else
                cJSON_AddNumberToObject(m, r->metrics[i].name, r->metrics[i].value);
    }
    if (r->swarm_present || r->swarm_on) {
        cJSON_AddNumberToObject(j, "swarm_present", r->swarm_present);
        cJSON_AddNumberToObject(j, "swarm_on", r->swarm_on);
    }
    char cmd[2048];
    res_reproduce(s, r, cmd, sizeof cmd);
    cJSON_AddStringToObject(j, "reproduce", cmd);
    cJSON_AddNumberToObject(j, "wall_s", r->wall_s);
    return j;
}

static char *get_str(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? dup_or_null(v->valuestring) : NULL;
}

static double get_num(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int res_run_from_json(const cJSON *j, res_run *r)
{
    memset(r, 0, sizeof *r);
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(j, "checks");
    if (!cJSON_IsObject(j) || !cJSON_IsArray(checks))
        return -1;
    r->file = get_str(j, "scenario");
    r->name = get_str(j, "name");
    r->variant = get_str(j, "variant");
    /* Near enough for a reader; `check` keeps its own copy of where and what was run. */
    r->seed = (uint64_t)get_num(j, "seed");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsObject(e)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        r->err = SIM_ECHILD;
        for (int c = 1; c < SIM_ERR_COUNT && cJSON_IsString(code); c++)
            if (strcmp(code->valuestring, sim_err_name(c)) == 0)
                r->err = (sim_err)c;
        r->message = get_str(e, "message");
    }
    r->telemetry = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "telemetry"));
    r->verified = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "verified"));
    r->items = (uint64_t)get_num(j, "items");
    r->lost = (uint64_t)get_num(j, "lost");
    r->run_dir = get_str(j, "run_dir");
    r->wall_s = get_num(j, "wall_s");
    r->swarm_present = (unsigned)get_num(j, "swarm_present");
    r->swarm_on = (unsigned)get_num(j, "swarm_on");
    const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(j, "metrics"), *m;
    if (cJSON_IsObject(metrics)) {
        int nm = cJSON_GetArraySize(metrics);
        r->metrics = calloc(nm ? (size_t)nm : 1, sizeof *r->metrics);
        if (!r->metrics)
            abort();
        cJSON_ArrayForEach(m, metrics)
        {
            check_metric *x = &r->metrics[r->nmetrics++];
            check_copy(x->name, sizeof x->name, m->string);
            x->empty = !cJSON_IsNumber(m);
            x->value = x->empty ? NAN : m->valuedouble;
        }
    }
    int n = cJSON_GetArraySize(checks);
    r->checks = calloc(n ? (size_t)n : 1, sizeof *r->checks);
    if (!r->checks)
        abort();
    const cJSON *c;
    cJSON_ArrayForEach(c, checks)
    {
        if (sum_check_from_json(c, &r->checks[r->nchecks]))
            return -1;
        r->nchecks++;
    }
    return 0;
}

cJSON *res_json(const res_set *s, bool complete, int exit_code)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "schema_version", RES_SCHEMA_VERSION);
    cJSON_AddBoolToObject(j, "complete", complete);
    cJSON_AddNumberToObject(j, "exit_code", exit_code);
    size_t counts[4] = {0}, checks = 0, failed = 0;
    for (size_t i = 0; i < s->n; i++) {
        counts[res_status_of(&s->runs[i])]++;
        for (size_t c = 0; c < s->runs[i].nchecks; c++) {
            checks++;
            failed += !s->runs[i].checks[c].pass;
        }
    }
    cJSON *t = cJSON_AddObjectToObject(j, "totals");
    cJSON_AddNumberToObject(t, "runs", (double)s->n);
    for (int st = 0; st < 4; st++)
        cJSON_AddNumberToObject(t, res_status_name((res_status)st), (double)counts[st]);
    cJSON_AddNumberToObject(t, "checks", (double)checks);
    cJSON_AddNumberToObject(t, "checks_failed", (double)failed);
    cJSON *a = cJSON_AddArrayToObject(j, "runs");
    for (size_t i = 0; i < s->n; i++)
        cJSON_AddItemToArray(a, res_run_json(s, &s->runs[i]));
    return j;
}

/* ---- JUnit ---- */

/* The length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static int utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    int n = c >= 0xC2 && c <= 0xDF   ? 2
            : c >= 0xE0 && c <= 0xEF ? 3
            : c >= 0xF0 && c <= 0xF4 ? 4
                                     : 0;
    /* The second byte's range rules out overlong forms, surrogates and past U+10FFFF. */
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (n && (p[1] < lo || p[1] > hi))
        return 0;
    for (int k = 2; k < n; k++)
        if (p[k] < 0x80 || p[k] > 0xBF)
            return 0;
    return n;
}

void res_xml(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_len(p);
        switch (n == 1 ? *p : 0x80) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        /* As references, they survive in attributes too (a parser turns raw ones to spaces). */
        case '\t':
            fputs("&#9;", out);
            break;
        case '\n':
            fputs("&#10;", out);
            break;
        case 0x80:
            if (n)
                fwrite(p, 1, (size_t)n, out);
            else
                fputc('?', out); /* not UTF-8: XML cannot carry it */
            break;
        default:
            fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
        }
        p += n ? n : 1;
    }
}

static void junit_case(FILE *out, const res_run *r, size_t c, double t)
{
    const char *check = c < r->nchecks ? r->checks[c].check : NULL; /* SIZE_MAX: the run */
    fputs("    <testcase classname=\"", out);
    res_xml(out, r->file);
    fputs("\" name=\"", out);
    if (r->variant) {
        res_xml(out, r->variant);
        fprintf(out, " / seed %" PRIu64, r->seed);
    } else {
        fputs("(load)", out);
    }
    if (check) {
        fputs(" / ", out);
        res_xml(out, check);
        /* The same criterion checked twice (two bounds): names stay unique. */
        size_t same = 0;
        for (size_t k = 0; k < c; k++)
            same += strcmp(r->checks[k].check, check) == 0;
        if (same)
            fprintf(out, " #%zu", same + 1);
    }
    fprintf(out, "\" time=\"%.3f\"", t);
}

typedef struct junit_counts {
    size_t tests, failures, errors;
    double wall_s;
} junit_counts;

/* The counts of runs [from, to): a testcase per check, or one for a run without any. */
static junit_counts count_cases(const res_set *s, size_t from, size_t to)
{
    junit_counts n = {0, 0, 0, 0.0};
    for (size_t i = from; i < to; i++) {
        const res_run *r = &s->runs[i];
        res_status st = res_status_of(r);
        n.tests += st == RES_ERROR || !r->nchecks ? 1 : r->nchecks;
        n.errors += st == RES_ERROR;
        n.failures += st == RES_UNVERIFIED;
        for (size_t c = 0; st == RES_FAIL && c < r->nchecks; c++)
            n.failures += !r->checks[c].pass;
        n.wall_s += r->wall_s;
    }
    return n;
}

void res_write_junit(const res_set *s, FILE *out)
{
    junit_counts all = count_cases(s, 0, s->n);
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"edgeloss check\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "time=\"%.3f\">\n",
            all.tests, all.failures, all.errors, all.wall_s);
    char cmd[2048];
    for (size_t i = 0; i < s->n;) {
        /* A testsuite per scenario file: its runs are adjacent. */
        size_t end = i;
        while (end < s->n && strcmp(s->runs[end].file, s->runs[i].file) == 0)
            end++;
        junit_counts n = count_cases(s, i, end);
        fputs("  <testsuite name=\"", out);
        res_xml(out, s->runs[i].file);
        fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", n.tests,
                n.failures, n.errors, n.wall_s);
        for (; i < end; i++) {
            const res_run *r = &s->runs[i];
            res_status st = res_status_of(r);
            res_reproduce(s, r, cmd, sizeof cmd);
            if (st == RES_ERROR || !r->nchecks) {
                junit_case(out, r, SIZE_MAX, r->wall_s);
                if (st == RES_PASS) {
                    fputs("/>\n", out);
                    continue;
                }
                fputs(">\n", out);
                if (st == RES_ERROR) {
                    fputs("      <error type=\"", out);
                    res_xml(out, sim_err_name(r->err));
                    fputs("\" message=\"", out);
                    res_xml(out, r->message ? r->message : sim_strerror(r->err));
                    fputs("\">", out);
                    res_xml(out, sim_strerror(r->err));
                    fputs(": ", out);
                    res_xml(out, r->message ? r->message : "");
                } else {
                    fputs("      <failure type=\"unverified\" message=\"fates unverified: no "
                          "ingest database\">fates unverified: the ingest's database was not "
                          "given, so no item's fate could be decided",
                          out);
                }
                fputs("\nreproduce: ", out);
                res_xml(out, cmd);
                fputs(st == RES_ERROR ? "</error>\n" : "</failure>\n", out);
                fputs("    </testcase>\n", out);
                continue;
            }
            for (size_t c = 0; c < r->nchecks; c++) {
                const check_result *ch = &r->checks[c];
                /* The run's time goes to its first check: the suite sums to the run. */
                junit_case(out, r, c, c == 0 ? r->wall_s : 0.0);
                if (ch->pass) {
                    fputs("/>\n", out);
                    continue;
                }
                fputs(">\n      <failure type=\"check\" message=\"expected ", out);
                res_xml(out, ch->expected);
                fputs(", measured ", out);
                res_xml(out, ch->detail);
                fputs("\">expected: ", out);
                res_xml(out, ch->expected);
                fputs("\nmeasured: ", out);
                res_xml(out, ch->detail);
                if (ch->why[0]) {
                    fputs("\nwhy: ", out);
                    res_xml(out, ch->why);
                }
                fputs("\nreproduce: ", out);
                res_xml(out, cmd);
                fputs("</failure>\n    </testcase>\n", out);
            }
        }
        fputs("  </testsuite>\n", out);
    }
    fputs("</testsuites>\n", out);
}
