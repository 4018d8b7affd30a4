#include "report.h"

#include "results.h"
#include "svg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef EDGELOSS_VERSION
#define EDGELOSS_VERSION "unknown"
#endif

/* Timeline rows drawn one per isolate; past this, the rest are one aggregated row. */
#define ISOLATE_ROWS 40
/* Stories shown per run. */
#define STORIES 8

typedef struct bin {
    int64_t t0, t1, created, delivered, late, duplicated, misattributed, lost;
} bin;

typedef struct iso {
    int64_t id, created_ns, died_ns, requests, items, lost, lost_at_death, attempts;
    char cause[24];
} iso;

typedef struct ibin {
    int64_t isolate, bin, requests, attempts;
} ibin;

typedef struct run {
    char dir[4096];
    cJSON *sum;
    bool tables; /* ledger.db has the report_* tables */
    bin *bins;
    size_t nbins;
    iso *isos;
    size_t nisos;
    ibin *ibins;
    size_t nibins;
    int64_t end_ns;
} run;

typedef struct rpt {
    FILE *out;
    run *runs;
    size_t n;
    const rpt_options *o;
    int64_t tmax; /* the shared time axis */
} rpt;

/* ---------------------------------------------------------------- reading */

static const cJSON *at(const cJSON *j, const char *path)
{
    char key[128];
    while (j && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        /* "pipeline.hops.2.items_in": a number indexes an array */
        j = cJSON_IsArray(j) && n && strspn(key, "0123456789") == n
                ? cJSON_GetArrayItem(j, atoi(key))
                : cJSON_GetObjectItemCaseSensitive(j, key);
        path += n + (dot ? 1 : 0);
    }
    return j;
}

static double num_at(const cJSON *j, const char *path)
{
    const cJSON *v = at(j, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str_at(const cJSON *j, const char *path)
{
    const cJSON *v = at(j, path);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void *grow(void *p, size_t n, size_t size)
{
    void *g = realloc(p, (n ? n : 1) * size);
    if (!g)
        abort();
    return g;
}

static bool table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    bool yes = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        yes = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return yes;
}

/* The report tables, when the run has them (a run without an exporter has no ledger). */
static sim_err read_tables(run *r, char *err, size_t errlen)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/ledger.db", r->dir);
    struct stat st;
    if (stat(p, &st) != 0)
        return SIM_OK;
    sqlite3 *db;
    if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", p, sqlite3_errmsg(db));
        sqlite3_close(db);
        return SIM_EINPUT;
    }
    if (!table_exists(db, "report_series") || !table_exists(db, "report_isolates") ||
        !table_exists(db, "report_isolate_bins")) {
        sqlite3_close(db);
        return SIM_OK; /* an older or unfinished ledger: the charts say so */
    }
    static const char *const q[] = {
        "SELECT t0_ns, t1_ns, created, delivered, late, duplicated, misattributed, lost FROM "
        "report_series ORDER BY bin",
        "SELECT isolate, created_ns, died_ns, requests, items, lost, lost_at_death, attempts, "
        "cause FROM report_isolates ORDER BY created_ns, isolate",
        "SELECT isolate, bin, requests, attempts FROM report_isolate_bins ORDER BY isolate, bin",
    };
    sim_err rc = SIM_OK;
    for (int t = 0; t < 3 && !rc; t++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, q[t], -1, &s, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", p, sqlite3_errmsg(db));
            rc = SIM_EINPUT;
            break;
        }
        while (sqlite3_step(s) == SQLITE_ROW) {
            int64_t v[9];
            for (int c = 0; c < 8; c++)
                v[c] = sqlite3_column_int64(s, c);
            if (t == 0) {
                r->bins = grow(r->bins, r->nbins + 1, sizeof *r->bins);
                r->bins[r->nbins++] = (bin){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
            } else if (t == 1) {
                r->isos = grow(r->isos, r->nisos + 1, sizeof *r->isos);
                iso *i = &r->isos[r->nisos++];
                *i = (iso){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], ""};
                if (sqlite3_column_type(s, 2) == SQLITE_NULL)
                    i->died_ns = -1;
                const unsigned char *c = sqlite3_column_text(s, 8);
                snprintf(i->cause, sizeof i->cause, "%s", c ? (const char *)c : "");
            } else {
                r->ibins = grow(r->ibins, r->nibins + 1, sizeof *r->ibins);
                r->ibins[r->nibins++] = (ibin){v[0], v[1], v[2], v[3]};
            }
        }
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    r->tables = !rc && r->nbins > 0;
    if (r->nbins)
        r->end_ns = r->bins[r->nbins - 1].t1;
    return rc;
}

static sim_err read_run(run *r, const char *dir, char *err, size_t errlen)
{
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    char p[4200];
    snprintf(p, sizeof p, "%s/summary.json", dir);
    FILE *f = fopen(p, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: not a run directory (no summary.json: %s)", dir,
                 strerror(errno));
        return SIM_EINPUT;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap)
            text = grow(text, cap = cap ? 2 * cap : 65536, 1);
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    r->sum = cJSON_ParseWithLength(text, len);
    free(text);
    if (!r->sum || !cJSON_IsNumber(at(r->sum, "schema_version"))) {
        snprintf(err, errlen, "%s: not an edgeloss summary.json (no schema_version)", p);
        return SIM_EINPUT;
    }
    if (num_at(r->sum, "schema_version") != 1) {
        snprintf(err, errlen, "%s: summary.json schema_version %g; this edgeloss reads 1", p,
                 num_at(r->sum, "schema_version"));
        return SIM_EINPUT;
    }
    r->end_ns = (int64_t)num_at(r->sum, "end_ns");
    return read_tables(r, err, errlen);
}

/* ---------------------------------------------------------------- writing */

static void esc(rpt *R, const char *s)
{
    svg_escape(R->out, s);
}

/* A number a reader sees, marked with the summary.json field it shows; scale 100 shows a
 * ratio as a percentage with one decimal (data-scale says so). */
static void mark(rpt *R, size_t k, const char *path, int scale)
{
    double v = num_at(R->runs[k].sum, path);
    fprintf(R->out, "<span class=\"n\" data-run=\"%zu\"", k);
    if (scale != 1)
        fprintf(R->out, " data-scale=\"%d\"", scale);
    fputs(" data-key=\"", R->out);
    esc(R, path);
    fputs("\">", R->out);
    if (isnan(v))
        fputs("–", R->out);
    else if (scale != 1)
        fprintf(R->out, "%.1f", scale * v);
    else if (v == floor(v) && fabs(v) <= 9007199254740992.0) /* every seed */
        fprintf(R->out, "%.0f", v);
    else
        fprintf(R->out, "%.4g", v);
    fputs(scale == 100 ? "</span>%" : "</span>", R->out);
}

static void num(rpt *R, size_t k, const char *path)
{
    mark(R, k, path, 1);
}

static void pct(rpt *R, size_t k, const char *path)
{
    mark(R, k, path, 100);
}

static const char *run_title(const run *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s, seed %.0f", str_at(r->sum, "variant"), num_at(r->sum, "seed"));
    return buf;
}

static bool verified(const run *r)
{
    return cJSON_IsTrue(at(r->sum, "verified"));
}

/* The command, quoted as the terminal shows it (results.c's, for check). */
static void reproduce(rpt *R, const run *r)
{
    char cmd[4096], seed[32];
    snprintf(cmd, sizeof cmd, "%s run", R->o && R->o->prog ? R->o->prog : "edgeloss");
    res_shell_arg(cmd, sizeof cmd, str_at(r->sum, "scenario"));
    res_shell_arg(cmd, sizeof cmd, "--variant");
    res_shell_arg(cmd, sizeof cmd, str_at(r->sum, "variant"));
    snprintf(seed, sizeof seed, "%.0f", num_at(r->sum, "seed"));
    res_shell_arg(cmd, sizeof cmd, "--seed");
    res_shell_arg(cmd, sizeof cmd, seed);
    esc(R, cmd);
}

static const char *verdict_word(const char *v)
{
    if (strcmp(v, "pass") == 0)
        return "PASS";
    if (strcmp(v, "fail") == 0)
        return "FAIL";
    if (strcmp(v, "unverified") == 0)
        return "UNVERIFIED";
    return "no exporter";
}

static void sec_verdict(rpt *R)
{
    FILE *o = R->out;
    bool all_pass = true;
    for (size_t k = 0; k < R->n; k++) {
        const char *v = str_at(R->runs[k].sum, "verdict");
        all_pass &= strcmp(v, "pass") == 0 || strcmp(v, "no_exporter") == 0;
    }
    fprintf(o, "<section id=\"verdict\"><h2>Verdict: <span class=\"%s\">%s</span></h2>\n",
            all_pass ? "pass" : "fail", all_pass ? "every check holds" : "a check does not hold");
    fputs("<p>A variant that reproduces a bug states that the bug happens (a check with "
          "<code>holds: false</code>, shown as <i>not (...)</i>): it passes when the loss is "
          "there. A fix passes when the loss is gone.</p>\n",
          o);
    fputs("<table><tr><th>variant</th><th>seed</th><th>items</th><th>delivered</th><th>late</th>"
          "<th>lost</th><th>loss ratio</th><th>main cause</th><th>verdict</th></tr>\n",
          o);
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        const char *v = str_at(r->sum, "verdict");
        fputs("<tr><td>", o);
        esc(R, str_at(r->sum, "variant"));
        fputs("</td><td>", o);
        num(R, k, "seed");
        if (!verified(r)) {
            fprintf(o, "</td><td colspan=\"6\">%s</td>",
                    strcmp(v, "unverified") == 0
                        ? "unverified: no ingest database was joined, no fate decided"
                        : "no exporter: telemetry calls were no-ops");
        } else {
            fputs("</td><td>", o);
            num(R, k, "items");
            fputs("</td><td>", o);
            num(R, k, "fates.delivered");
            fputs("</td><td>", o);
            num(R, k, "fates.late");
            fputs("</td><td>", o);
            num(R, k, "fates.lost");
            fputs("</td><td>", o);
            pct(R, k, "loss_ratio");
            fputs("</td><td>", o);
            const cJSON *c, *top = NULL;
            cJSON_ArrayForEach(c, at(r->sum, "lost_by_cause"))
            {
                if (cJSON_IsNumber(c) && c->valuedouble > 0 &&
                    (!top || c->valuedouble > top->valuedouble))
                    top = c;
            }
            esc(R, top ? top->string : "");
            fputs("</td>", o);
        }
        bool bad = strcmp(v, "fail") == 0 || strcmp(v, "unverified") == 0;
        fprintf(o, "<td class=\"%s\">%s</td></tr>\n", bad ? "fail" : "pass", verdict_word(v));
    }
    fputs("</table>\n<h3>Acceptance checks</h3>\n<table><tr><th>variant</th><th>seed</th>"
          "<th>check</th><th>expected</th><th>measured</th><th>result</th><th>why</th></tr>\n",
          o);
    size_t rows = 0;
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        const cJSON *c;
        int i = 0;
        cJSON_ArrayForEach(c, at(r->sum, "checks"))
        {
            bool pass = cJSON_IsTrue(at(c, "pass"));
            char key[64];
            fputs("<tr><td>", o);
            esc(R, str_at(r->sum, "variant"));
            fputs("</td><td>", o);
            num(R, k, "seed");
            fputs("</td><td>", o);
            esc(R, str_at(c, "check"));
            fputs("</td><td>", o);
            esc(R, str_at(c, "expected"));
            fputs("</td><td>", o);
            esc(R, str_at(c, "detail"));
            fprintf(o, "</td><td class=\"%s\">%s</td><td>", pass ? "pass" : "fail",
                    pass ? "PASS" : "FAIL");
            esc(R, str_at(c, "why"));
            fputs("</td></tr>\n", o);
            (void)key;
            i++;
            rows++;
        }
    }
    if (!rows)
        fputs("<tr><td colspan=\"7\">the scenario states no checks</td></tr>\n", o);
    fputs("</table>\n<h3>Reproduce</h3>\n<p>Each run again, alone, byte for byte:</p><pre>", o);
    for (size_t k = 0; k < R->n; k++) {
        reproduce(R, &R->runs[k]);
        fputc('\n', o);
    }
    fputs("</pre></section>\n", o);
}

static const struct {
    const char *name, *text;
} fates[] =
    {
        {"delivered", "the ingest recorded it, once, before the request that made it ended"},
        {"late", "recorded, but only after the request that made it had ended (its response and "
                 "waitUntil work were over): it arrived, later than the code meant"},
        {"duplicated", "recorded more than once"},
        {"misattributed", "recorded as another request's: a span, metric or log carrying another "
                          "request's id, or an entry of an isolate global in a payload sent for "
                          "another request (mixed telemetry)"},
        {"lost", "never recorded: it left memory unsent, or was refused; the cause says why"},
},
  causes[] = {
      {"evicted-in-buffer", "it sat in an exporter or SDK buffer when its isolate was evicted "
                            "(idle, lifetime, deploy, memory, killed)"},
      {"stranded-at-end", "still buffered when the simulated period ended"},
      {"waituntil-cancelled", "its flush ran in ctx.waitUntil and was cancelled at the budget"},
      {"never-flushed", "its request ended and nothing ever sent it"},
      {"rejected-by-ingest", "the ingest answered the POST carrying it with a refusal (a cap, "
                             "a key)"},
      {"dropped-in-backoff", "dropped by the exporter while it backed off after a refusal"},
      {"dropped-queue-full", "dropped because the exporter's queue was full"},
      {"network-error", "the POST carrying it failed on the network"},
      {"cpu-limit", "its request was killed over the CPU limit with it in memory"},
      {"subrequest-limit", "the POST carrying it was refused past the subrequest limit"},
      {"overwritten-shared-state", "it was an entry of an isolate global that another request "
                                   "replaced or cleared, that was unset when it was written, or "
                                   "that a request took and never sent"},
      {"rejected-by-waf", "a span a client carried into a Worker: the last hop that carried it "
                          "on was refused by the WAF in front of the ingest"},
      {"lost-at-hop", "a carried span lost at a pipeline hop for another reason: refused, stored "
                      "but never notified about (an orphaned object), or never sent on"},
      {"exporter-crashed", "its exporter ran out of process and its host crashed, hung or broke "
                           "the protocol while it held the item, or before it was handed over "
                           "(the run is an error, exit 3)"},
      {"unexplained", "no layer reported it (a bug in the model: every run checks this is 0)"},
};

static void sec_definitions(rpt *R)
{
    FILE *o = R->out;
    fputs("<section id=\"definitions\"><h2>What the words mean</h2>\n<p>Every telemetry item "
          "(a span, a metric point, a log record) created in the simulation is followed from its "
          "creation to the ingest's database. Its <b>fate</b>:</p><dl>",
          o);
    for (size_t i = 0; i < sizeof fates / sizeof fates[0]; i++)
        fprintf(o, "<dt>%s</dt><dd>%s</dd>", fates[i].name, fates[i].text);
    fputs("</dl><p>A lost item's <b>cause</b>:</p><dl>", o);
    for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
        fprintf(o, "<dt>%s</dt><dd>%s</dd>", causes[i].name, causes[i].text);
    fputs("</dl><p>All times are virtual: the simulated clock, not the wall clock.</p>"
          "</section>\n",
          o);
}

/* Runs with fates: the charts' subjects. */
static bool charted(const run *r)
{
    return verified(r);
}

static void sec_funnel(rpt *R)
{
    FILE *o = R->out;
    static const char *const step[] = {"created", "sent", "accepted", "recorded"};
    fputs("<section id=\"funnel\"><h2>From creation to the ingest</h2>\n<p>How many items "
          "reached each step: <b>created</b> by the program, <b>sent</b> in at least one POST "
          "that left its isolate, <b>accepted</b> in a POST the ingest answered 2xx, "
          "<b>recorded</b> in the ingest's database. The gap between two steps is where items "
          "were lost. The bars share one scale.</p>\n<table class=\"funnel\"><tr><th>run</th>"
          "<th>created</th><th>sent</th><th>accepted</th><th>recorded</th><th></th></tr>\n",
          o);
    double max = 0;
    for (size_t k = 0; k < R->n; k++)
        if (charted(&R->runs[k]))
            max = fmax(max, num_at(R->runs[k].sum, "funnel.created"));
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        if (!charted(r) || !at(r->sum, "funnel"))
            continue;
        char t[300], key[32], tip[200];
        fputs("<tr><td>", o);
        esc(R, run_title(r, t, sizeof t));
        fputs("</td>", o);
        for (int s = 0; s < 4; s++) {
            snprintf(key, sizeof key, "funnel.%s", step[s]);
            fputs("<td>", o);
            num(R, k, key);
            fputs("</td>", o);
        }
        fputs("<td>", o);
        svg g;
        svg_begin(&g, o, 300, 40, "the funnel");
        g.left = g.right = g.top = g.bottom = 0;
        g.x1 = max > 0 ? max : 1;
        g.y1 = 4;
        for (int s = 0; s < 4; s++) {
            snprintf(key, sizeof key, "funnel.%s", step[s]);
            double v = num_at(r->sum, key);
            snprintf(tip, sizeof tip, "%s: %.0f", step[s], v);
            if (v > 0)
                svg_rect(&g, 0, 3.1 - s, v, 3.9 - s, "funnel", tip);
        }
        svg_end(&g);
        fputs("</td></tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

static void sec_causes(rpt *R)
{
    FILE *o = R->out;
    fputs("<section id=\"causes\"><h2>Lost items by cause</h2>\n<table class=\"bars\"><tr>"
          "<th>run</th><th>cause</th><th>lost</th><th></th></tr>\n",
          o);
    double max = 0;
    for (size_t k = 0; k < R->n; k++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, at(R->runs[k].sum, "lost_by_cause"))
        {
            if (cJSON_IsNumber(c))
                max = fmax(max, c->valuedouble);
        }
    }
    size_t none = 0;
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        if (!charted(r))
            continue;
        char t[300], key[96], tip[200];
        const cJSON *c;
        bool any = false;
        cJSON_ArrayForEach(c, at(r->sum, "lost_by_cause"))
        {
            if (!cJSON_IsNumber(c) || c->valuedouble <= 0)
                continue;
            any = true;
            snprintf(key, sizeof key, "lost_by_cause.%s", c->string);
            fputs("<tr><td>", o);
            esc(R, run_title(r, t, sizeof t));
            fputs("</td><td>", o);
            esc(R, c->string);
            fputs("</td><td>", o);
            num(R, k, key);
            fputs("</td><td>", o);
            svg g;
            svg_begin(&g, o, 360, 16, c->string);
            g.left = g.right = g.top = g.bottom = 0;
            g.x1 = max > 0 ? max : 1;
            g.y1 = 1;
            snprintf(tip, sizeof tip, "%s: %.0f items", c->string, c->valuedouble);
            svg_rect(&g, 0, 0.1, c->valuedouble, 0.9, "lost", tip);
            svg_end(&g);
            fputs("</td></tr>\n", o);
        }
        none += !any;
    }
    fputs("</table>\n", o);
    if (none) {
        fputs("<p>Nothing lost in: ", o);
        size_t i = 0;
        for (size_t k = 0; k < R->n; k++) {
            const run *r = &R->runs[k];
            if (!charted(r) || num_at(r->sum, "fates.lost") > 0)
                continue;
            char t[300];
            fputs(i++ ? ", " : "", o);
            esc(R, run_title(r, t, sizeof t));
        }
        fputs(".</p>\n", o);
    }
    fputs("</section>\n", o);
}

/* Evictions per bin, by cause, from the isolates' deaths: the shaded periods. */
static void shade_evictions(svg *g, const run *r)
{
    if (!r->nbins)
        return;
    int64_t width = r->bins[0].t1 - r->bins[0].t0;
    if (width <= 0)
        return;
    size_t nb = r->nbins;
    size_t *count = calloc(nb, sizeof *count);
    const char **cause = calloc(nb, sizeof *cause);
    if (!count || !cause)
        abort();
    for (size_t i = 0; i < r->nisos; i++) {
        const iso *s = &r->isos[i];
        if (s->died_ns < 0 || strcmp(s->cause, "end") == 0 || !s->cause[0])
            continue;
        size_t b = (size_t)(s->died_ns / width);
        if (b >= nb)
            b = nb - 1;
        count[b]++;
        cause[b] = s->cause;
    }
    for (size_t b = 0; b < nb; b++) {
        if (!count[b])
            continue;
        char tip[160];
        snprintf(tip, sizeof tip, "%zu isolate%s evicted here (last: %s)", count[b],
                 count[b] == 1 ? "" : "s", cause[b]);
        svg_band(g, (double)r->bins[b].t0, (double)r->bins[b].t1, "evict", tip);
    }
    free(count);
    free(cause);
}

/* ---------------------------------------------------------------- faults */

/* The run's fault rules (summary.json's faults.rules), NULL when it has none. */
static const cJSON *fault_rules(const run *r)
{
    const cJSON *rules = at(r->sum, "faults.rules");
    return cJSON_GetArraySize(rules) > 0 ? rules : NULL;
}

/* A deploy happens at from_s and lasts no time: a marker, not a window. */
static bool fault_instant(const cJSON *rule)
{
    return cJSON_IsNull(at(rule, "until_s")) && strcmp(str_at(rule, "kind"), "deploy") == 0;
}

/* The family's class, so a network outage, an ingest refusal and a runtime event differ at
 * a glance; a family this report does not know gets the plain "fault". An instant adds
 * "fault-at": a band two pixels wide needs to be near opaque to be seen. */
static const char *fault_class(const cJSON *rule, bool instant, char *buf, size_t len)
{
    static const char *const families[] = {"network", "ingest", "runtime"};
    const char *f = str_at(rule, "family"), *cls = "fault";
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(f, families[i]) == 0)
            cls = f;
    snprintf(buf, len, "%s%s%s", cls == f ? "fault-" : "", cls, instant ? " fault-at" : "");
    return buf;
}

/* A band's window as its tooltip ends: "10 s–20 s", "at 52 s" (an instant), "10 s–the end
 * of the run"; seconds as summary.json has them. */
static void fault_window_text(const cJSON *rule, char *buf, size_t len)
{
    double from = num_at(rule, "from_s"), until = num_at(rule, "until_s");
    if (fault_instant(rule))
        snprintf(buf, len, "at %g s", from);
    else if (isnan(until))
        snprintf(buf, len, "%g s–the end of the run", from);
    else
        snprintf(buf, len, "%g s–%g s", from, until);
}

/* Each fault rule's window, a band behind the data coloured by family: an instant is a
 * thin band at its time, a window without an end runs to the chart's end. Windows are
 * clipped to the chart (its x range), so a rule past the end of every run draws nothing. */
static void shade_faults(svg *g, const run *r)
{
    const cJSON *rule;
    cJSON_ArrayForEach(rule, fault_rules(r))
    {
        bool instant = fault_instant(rule);
        double from = num_at(rule, "from_s") * 1e9, until = num_at(rule, "until_s") * 1e9;
        if (isnan(from))
            continue;  /* not a rule this report can place */
        if (instant) { /* two pixels wide, centred on its time */
            double px = (g->x1 - g->x0) / (g->width - g->left - g->right);
            until = from + px;
            from -= px;
        } else if (isnan(until)) {
            until = g->x1;
        }
        from = fmax(from, g->x0);
        until = fmin(until, g->x1);
        if (until < from)
            continue;
        char win[96], tip[300], cls[48];
        double fired = num_at(rule, "fired");
        fault_window_text(rule, win, sizeof win);
        snprintf(tip, sizeof tip, "rule %.0f: %s (%s), fired %.0f time%s, %s",
                 num_at(rule, "index"), str_at(rule, "kind"), str_at(rule, "family"), fired,
                 fired == 1 ? "" : "s", win);
        svg_band(g, from, until, fault_class(rule, instant, cls, sizeof cls), tip);
    }
}

/* One rule of run k: its index, kind, family, window (its ends marked) and times fired. */
static void fault_row(rpt *R, size_t k, int i)
{
    FILE *o = R->out;
    const cJSON *rule = cJSON_GetArrayItem(fault_rules(&R->runs[k]), i);
    bool instant = fault_instant(rule);
    char key[96];
    fputs("<tr><td>", o);
    snprintf(key, sizeof key, "faults.rules.%d.index", i);
    num(R, k, key);
    fputs("</td><td>", o);
    esc(R, str_at(rule, "kind"));
    fputs("</td><td>", o);
    esc(R, str_at(rule, "family"));
    fputs(instant ? "</td><td>at " : "</td><td>", o);
    snprintf(key, sizeof key, "faults.rules.%d.from_s", i);
    num(R, k, key);
    fputs(" s", o);
    if (!instant && cJSON_IsNull(at(rule, "until_s"))) {
        fputs(" to the end", o);
    } else if (!instant) {
        fputs(" to ", o);
        snprintf(key, sizeof key, "faults.rules.%d.until_s", i);
        num(R, k, key);
        fputs(" s", o);
    }
    fputs("</td><td>", o);
    snprintf(key, sizeof key, "faults.rules.%d.fired", i);
    num(R, k, key);
    fputs("</td></tr>\n", o);
}

/* What the scenario's faults did to each run: every rule with its window and how often it
 * fired, the counts by kind, the duplicates retries made and what the faults cost the
 * Worker in time. */
static void sec_faults(rpt *R)
{
    FILE *o = R->out;
    bool any = false;
    for (size_t k = 0; k < R->n; k++)
        any |= at(R->runs[k].sum, "faults") != NULL;
    if (!any)
        return;
    fputs("<section id=\"faults\"><h2>Faults</h2>\n<p>The faults the scenario injected: each "
          "rule with its window of virtual time (a deploy is an instant; a window without an "
          "end lasts to the end of the run) and the times it fired, then the counts by kind "
          "(random kills fire without a rule). <b>Duplicates</b>: extra copies of items the "
          "ingest accepted, typically made by retrying a POST whose answer was lost. The cost: "
          "the 99th percentile, over requests, of the time telemetry calls kept a request "
          "waiting in <code>ctx.waitUntil</code> and before its response. The rules' windows "
          "are shaded in the charts over virtual time.</p>\n",
          o);
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        if (!at(r->sum, "faults"))
            continue;
        char t[300], key[96];
        fprintf(o, "<div class=\"run\" data-run=\"%zu\"><h3>", k);
        esc(R, run_title(r, t, sizeof t));
        fputs("</h3><p>", o);
        num(R, k, "faults.total");
        fputs(" faults fired", o);
        const cJSON *c;
        int i = 0;
        cJSON_ArrayForEach(c, at(r->sum, "faults.fired"))
        {
            snprintf(key, sizeof key, "faults.fired.%s", c->string);
            fputs(i++ ? ", " : ": ", o);
            esc(R, c->string);
            fputc(' ', o);
            num(R, k, key);
        }
        fputs(". Duplicates ", o);
        num(R, k, "metrics.duplicates");
        fputs(". Telemetry calls added, at the 99th percentile, ", o);
        num(R, k, "metrics.added_wait_until_p99_ms");
        fputs(" ms in waitUntil and ", o);
        num(R, k, "metrics.added_response_p99_ms");
        fputs(" ms before the response.</p>\n", o);
        int nr = cJSON_GetArraySize(fault_rules(r));
        if (nr)
            fputs("<table><tr><th>rule</th><th>kind</th><th>family</th><th>window</th>"
                  "<th>fired</th></tr>\n",
                  o);
        for (i = 0; i < nr; i++)
            fault_row(R, k, i);
        fputs(nr ? "</table></div>\n" : "<p>No rule: only random kills.</p></div>\n", o);
    }
    fputs("</section>\n", o);
}

static void sec_time(rpt *R)
{
    FILE *o = R->out;
    fputs("<section id=\"time\"><h2>Loss and late items over virtual time</h2>\n<p>Items by "
          "the time they were created: lost (red) and late (amber) per interval; the line is "
          "every item created. Shaded intervals: isolates evicted then (purple). With faults, "
          "each fault rule's window is shaded behind the data by family - network (teal), "
          "ingest (green), runtime (brown) - and a deploy is a thin line at its instant; a "
          "window without an end runs to the chart's end. Every chart here has the same "
          "axes.</p>\n",
          o);
    double ymax = 0;
    for (size_t k = 0; k < R->n; k++)
        for (size_t b = 0; b < R->runs[k].nbins; b++)
            ymax = fmax(ymax, (double)R->runs[k].bins[b].created);
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        if (!charted(r))
            continue;
        char t[300];
        fprintf(o, "<div class=\"run\" data-run=\"%zu\"><h3>", k);
        esc(R, run_title(r, t, sizeof t));
        fputs("</h3>", o);
        if (!r->tables) {
            fputs("<p class=\"muted\">This run's ledger has no report tables.</p></div>\n", o);
            continue;
        }
        svg g;
        svg_begin(&g, o, 900, 220, "lost and late items over virtual time");
        g.xfmt = svg_fmt_time_ns;
        svg_axes(&g, 0, (double)R->tmax, 0, ymax > 0 ? ymax : 1, "virtual time", "items");
        shade_faults(&g, r);
        shade_evictions(&g, r);
        double *xs = malloc(r->nbins * 2 * sizeof *xs), *ys = malloc(r->nbins * 2 * sizeof *ys);
        if (!xs || !ys)
            abort();
        for (size_t b = 0; b < r->nbins; b++) {
            const bin *x = &r->bins[b];
            char tip[200];
            snprintf(tip, sizeof tip, "%.0f lost, %.0f late of %.0f created", (double)x->lost,
                     (double)x->late, (double)x->created);
            if (x->lost)
                svg_rect(&g, (double)x->t0, 0, (double)x->t1, (double)x->lost, "lost", tip);
            if (x->late)
                svg_rect(&g, (double)x->t0, (double)x->lost, (double)x->t1,
                         (double)(x->lost + x->late), "late", tip);
            xs[2 * b] = (double)x->t0;
            xs[2 * b + 1] = (double)x->t1;
            ys[2 * b] = ys[2 * b + 1] = (double)x->created;
        }
        svg_line(&g, xs, ys, r->nbins * 2, "created", "items created");
        free(xs);
        free(ys);
        svg_end(&g);
        fputs("</div>\n", o);
    }
    fputs("</section>\n", o);
}

static int by_loss(const void *a, const void *b)
{
    const iso *x = *(const iso *const *)a, *y = *(const iso *const *)b;
    if (x->lost_at_death != y->lost_at_death)
        return x->lost_at_death > y->lost_at_death ? -1 : 1;
    if (x->requests != y->requests)
        return x->requests > y->requests ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* One row per isolate: its life, its requests per interval, its POSTs, its death. */
static void isolate_rows(rpt *R, const run *r)
{
    FILE *o = R->out;
    svg g;
    size_t nrows = r->nisos;
    svg_begin(&g, o, 900, (int)(48 + 16 * nrows), "isolate timeline");
    g.xfmt = svg_fmt_time_ns;
    g.left = 96;
    g.no_yticks = true;
    svg_axes(&g, 0, (double)R->tmax, 0, (double)nrows, "virtual time", NULL);
    shade_faults(&g, r);
    int64_t width = r->nbins ? r->bins[0].t1 - r->bins[0].t0 : 0;
    double maxreq = 1;
    for (size_t i = 0; i < r->nibins; i++)
        maxreq = fmax(maxreq, (double)r->ibins[i].requests);
    for (size_t i = 0; i < nrows; i++) {
        const iso *s = &r->isos[i];
        double y = (double)(nrows - i) - 0.5;
        double end = s->died_ns >= 0 ? (double)s->died_ns : (double)r->end_ns;
        char tip[300], lab[32];
        snprintf(tip, sizeof tip,
                 "isolate %" PRId64 ": %" PRId64 " requests, %" PRId64 " items, %" PRId64
                 " POSTs; %s",
                 s->id, s->requests, s->items, s->attempts,
                 s->died_ns >= 0 ? s->cause : "alive at the end");
        svg_rect(&g, (double)s->created_ns, y - 0.3, end, y + 0.3, "life", tip);
        snprintf(lab, sizeof lab, "isolate %" PRId64, s->id);
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", g.left - 6,
                svg_py(&g, y) + 4, lab);
        for (size_t b = 0; b < r->nibins && width > 0; b++) {
            const ibin *x = &r->ibins[b];
            if (x->isolate != s->id)
                continue;
            double t0 = (double)(x->bin * width);
            if (x->requests) {
                int level = 1 + (int)(4 * (double)x->requests / maxreq);
                char cls[16];
                snprintf(tip, sizeof tip, "%" PRId64 " requests", x->requests);
                snprintf(cls, sizeof cls, "req%d", level > 4 ? 4 : level);
                svg_rect(&g, t0, y - 0.3, t0 + (double)width, y + 0.3, cls, tip);
            }
            if (x->attempts) {
                snprintf(tip, sizeof tip, "%" PRId64 " POSTs", x->attempts);
                svg_rect(&g, t0 + (double)width * 0.45, y - 0.45, t0 + (double)width * 0.55,
                         y - 0.3, "post", tip);
            }
        }
        if (s->died_ns >= 0) {
            snprintf(tip, sizeof tip, "evicted (%s): %" PRId64 " items destroyed", s->cause,
                     s->lost_at_death);
            svg_point(&g, (double)s->died_ns, y, s->lost_at_death ? 5 : 3,
                      s->lost_at_death ? "death-loss" : "death", tip);
            if (s->lost_at_death) {
                snprintf(lab, sizeof lab, "%" PRId64, s->lost_at_death);
                svg_text(&g, (double)s->died_ns, y + 0.35, "middle", "small", lab);
            }
        }
    }
    svg_end(&g);
}

/* Too many isolates for a row each: per interval, how many were alive, how many died
 * and what their deaths destroyed; then the isolates whose deaths destroyed the most. */
static void isolate_aggregate(rpt *R, const run *r)
{
    FILE *o = R->out;
    size_t nb = r->nbins;
    double *alive = calloc(nb, sizeof *alive), *died = calloc(nb, sizeof *died);
    double *destroyed = calloc(nb, sizeof *destroyed);
    if (!alive || !died || !destroyed)
        abort();
    for (size_t i = 0; i < r->nisos; i++) {
        const iso *s = &r->isos[i];
        for (size_t b = 0; b < nb; b++) {
            const bin *x = &r->bins[b];
            if (s->created_ns < x->t1 && (s->died_ns < 0 || s->died_ns >= x->t0))
                alive[b]++;
            if (s->died_ns >= x->t0 &&
                (s->died_ns < x->t1 || (b + 1 == nb && s->died_ns == x->t1))) {
                died[b]++;
                destroyed[b] += (double)s->lost_at_death;
            }
        }
    }
    double ymax = 1, dmax = 1;
    for (size_t b = 0; b < nb; b++) {
        ymax = fmax(ymax, fmax(alive[b], died[b]));
        dmax = fmax(dmax, destroyed[b]);
    }
    fprintf(o,
            "<p>%zu isolates: too many for a row each. Per interval: isolates alive (line) "
            "and evicted (bars), then the items their evictions destroyed.</p>",
            r->nisos);
    svg g;
    svg_begin(&g, o, 900, 160, "isolates alive and evicted per interval");
    g.xfmt = svg_fmt_time_ns;
    svg_axes(&g, 0, (double)R->tmax, 0, ymax, "virtual time", "isolates");
    shade_faults(&g, r);
    double *xs = malloc(2 * nb * sizeof *xs), *ys = malloc(2 * nb * sizeof *ys);
    if (!xs || !ys)
        abort();
    char tip[160];
    for (size_t b = 0; b < nb; b++) {
        xs[2 * b] = (double)r->bins[b].t0;
        xs[2 * b + 1] = (double)r->bins[b].t1;
        ys[2 * b] = ys[2 * b + 1] = alive[b];
        if (died[b]) {
            snprintf(tip, sizeof tip, "%.0f isolates evicted", died[b]);
            svg_rect(&g, (double)r->bins[b].t0, 0, (double)r->bins[b].t1, died[b], "evicted", tip);
        }
    }
    svg_line(&g, xs, ys, 2 * nb, "alive", "isolates alive");
    svg_end(&g);
    svg_begin(&g, o, 900, 140, "items destroyed by evictions per interval");
    g.xfmt = svg_fmt_time_ns;
    svg_axes(&g, 0, (double)R->tmax, 0, dmax, "virtual time", "items destroyed");
    shade_faults(&g, r);
    bool any = false;
    for (size_t b = 0; b < nb; b++) {
        if (!destroyed[b])
            continue;
        any = true;
        snprintf(tip, sizeof tip, "%.0f items destroyed by %.0f evictions", destroyed[b], died[b]);
        svg_rect(&g, (double)r->bins[b].t0, 0, (double)r->bins[b].t1, destroyed[b], "lost", tip);
    }
    if (!any) { /* the zero line is the datum: no eviction destroyed anything */
        double zx[2] = {0, (double)R->tmax}, zy[2] = {0, 0};
        svg_line(&g, zx, zy, 2, "zero", "no eviction destroyed an item");
    }
    svg_end(&g);
    free(xs);
    free(ys);
    free(alive);
    free(died);
    free(destroyed);
    const iso **rows = malloc(r->nisos * sizeof *rows);
    if (!rows)
        abort();
    for (size_t i = 0; i < r->nisos; i++)
        rows[i] = &r->isos[i];
    qsort(rows, r->nisos, sizeof *rows, by_loss);
    fputs("<table><tr><th>isolate</th><th>lived</th><th>requests</th><th>items</th>"
          "<th>destroyed at death</th><th>died of</th></tr>",
          o);
    for (size_t i = 0; i < r->nisos && i < 10; i++) {
        const iso *s = rows[i];
        char a[32], b[32];
        svg_fmt_time_ns((double)s->created_ns, a, sizeof a);
        svg_fmt_time_ns((double)(s->died_ns >= 0 ? s->died_ns : r->end_ns), b, sizeof b);
        fprintf(o,
                "<tr><td>%" PRId64 "</td><td>%s to %s</td><td>%" PRId64 "</td><td>%" PRId64
                "</td><td>%" PRId64 "</td><td>",
                s->id, a, b, s->requests, s->items, s->lost_at_death);
        esc(R, s->died_ns >= 0 ? s->cause : "alive at the end");
        fputs("</td></tr>", o);
    }
    fputs("</table>", o);
    free(rows);
}

static void sec_isolates(rpt *R)
{
    FILE *o = R->out;
    fprintf(o,
            "<section id=\"isolates\"><h2>Isolates</h2>\n<p>Up to %d isolates: a row each, "
            "from its start to its eviction, shaded by how many requests it served in each "
            "interval, a tick per POST it sent, and a dot where it died with the number of "
            "items its death destroyed. More: counts per interval and the isolates whose "
            "deaths destroyed the most. Fault rules' windows are shaded behind, as over "
            "virtual time above.</p>\n",
            ISOLATE_ROWS);
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        if (!charted(r) || !r->tables || !r->nisos)
            continue;
        char t[300];
        fprintf(o, "<div class=\"run\" data-run=\"%zu\"><h3>", k);
        esc(R, run_title(r, t, sizeof t));
        fputs("</h3>", o);
        if (r->nisos <= ISOLATE_ROWS)
            isolate_rows(R, r);
        else
            isolate_aggregate(R, r);
        fputs("</div>\n", o);
    }
    fputs("</section>\n", o);
}

static void sec_stories(rpt *R)
{
    FILE *o = R->out;
    fputs("<section id=\"stories\"><h2>The first lost and mixed items</h2>\n", o);
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        if (!charted(r) ||
            (num_at(r->sum, "fates.lost") == 0 && num_at(r->sum, "fates.misattributed") == 0 &&
             !(num_at(r->sum, "metrics.delivered_unacknowledged") > 0)))
            continue;
        char t[300];
        fputs("<div class=\"run\"><h3>", o);
        esc(R, run_title(r, t, sizeof t));
        fputs("</h3><ol>", o);
        const cJSON *s;
        int i = 0;
        cJSON_ArrayForEach(s, at(r->sum, "stories"))
        {
            if (i++ == STORIES || !cJSON_IsString(s))
                break;
            fputs("<li>", o);
            esc(R, s->valuestring);
            fputs("</li>", o);
        }
        fputs("</ol>", o);
        if (num_at(r->sum, "metrics.mixed_items") > 0) {
            fputs("<p>Mixed: ", o);
            num(R, k, "metrics.mixed_items");
            fputs(" entries of isolate globals reached the ingest in payloads sent for ", o);
            num(R, k, "metrics.mixed_requests");
            fputs(" other requests (each credited to the request that carried it).</p>", o);
        }
        if (num_at(r->sum, "metrics.delivered_unacknowledged") > 0) {
            fputs("<p>Delivered unacknowledged: ", o);
            num(R, k, "metrics.delivered_unacknowledged");
            fputs(" items were recorded by the ingest, but no answer to a POST that carried them "
                  "reached its exporter: it saw a failure, and a retry duplicates them.</p>",
                  o);
        }
        fputs("<p>Exposure: one eviction destroyed at most ", o);
        num(R, k, "exposure.items");
        fputs(" items (", o);
        num(R, k, "exposure.bytes");
        fputs(" bytes of OTLP JSON): what a buffer puts at stake when its isolate dies.</p>"
              "</div>\n",
              o);
    }
    fputs("</section>\n", o);
}

static void sec_runs(rpt *R)
{
    FILE *o = R->out;
    fputs("<section id=\"runs\"><h2>The runs</h2><table><tr><th>variant</th><th>seed</th>"
          "<th>requests</th><th>isolates</th><th>events</th><th>log hash</th><th>run "
          "directory</th></tr>\n",
          o);
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        fputs("<tr><td>", o);
        esc(R, str_at(r->sum, "variant"));
        fputs("</td><td>", o);
        num(R, k, "seed");
        fputs("</td><td>", o);
        num(R, k, "requests.arrived");
        fputs("</td><td>", o);
        num(R, k, "isolates.created");
        fputs("</td><td>", o);
        num(R, k, "events");
        fputs("</td><td><code>", o);
        esc(R, str_at(r->sum, "log_hash"));
        fprintf(o, "</code></td><td><code class=\"dir\" data-run=\"%zu\">", k);
        esc(R, r->dir);
        fputs("</code></td></tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

/* A table row for element i of the summary's array `list`: its text member `name`, then
 * its numbers `cols`, each marked with its summary.json path. */
static void row(rpt *R, size_t k, const char *list, int i, const char *name,
                const char *const *cols, int ncols)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%d.%s", list, i, name);
    fputs("<tr><td>", R->out);
    esc(R, str_at(R->runs[k].sum, key));
    for (int c = 0; c < ncols; c++) {
        snprintf(key, sizeof key, "%s.%d.%s", list, i, cols[c]);
        fputs("</td><td>", R->out);
        num(R, k, key);
    }
    fputs("</td></tr>\n", R->out);
}

/* The third seed's pipeline: the funnel by hop, the orphans, what the watchers said. */
static void sec_pipeline(rpt *R)
{
    FILE *o = R->out;
    bool any = false;
    for (size_t k = 0; k < R->n; k++)
        any |= charted(&R->runs[k]) && at(R->runs[k].sum, "pipeline");
    if (!any)
        return;
    fputs("<section id=\"pipeline\"><h2>The pipeline, hop by hop</h2>\n<p>Spans the clients "
          "carried into the Worker, and each hop in the order it first ran: the items it "
          "<b>carried</b>, those it <b>handed on</b> with a 2xx, those <b>lost there</b> (their "
          "loss was decided at that hop). An <b>orphan</b> is an object the ingest stored that "
          "no origin job ever read.</p>\n",
          o);
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        if (!charted(r) || !at(r->sum, "pipeline"))
            continue;
        char t[300], key[96];
        fputs("<h3>", o);
        esc(R, run_title(r, t, sizeof t));
        fputs("</h3><p>carried ", o);
        num(R, k, "pipeline.carried");
        fputs(", recorded by the final store ", o);
        num(R, k, "pipeline.recorded");
        fputs(", orphaned objects ", o);
        num(R, k, "pipeline.orphans");
        fputs("</p>\n<table><tr><th>hop</th><th>carried</th><th>handed on</th><th>lost there"
              "</th></tr>\n",
              o);
        int nh = cJSON_GetArraySize(at(r->sum, "pipeline.hops"));
        for (int i = 0; i < nh; i++) {
            static const char *const cols[] = {"items_in", "items_out", "lost_here"};
            row(R, k, "pipeline.hops", i, "hop", cols, 3);
        }
        fputs("</table>\n", o);
        int no = cJSON_GetArraySize(at(r->sum, "pipeline.orphan_objects"));
        if (no) {
            fputs("<p>The first orphans:</p><table><tr><th>object</th><th>stored by request"
                  "</th><th>items</th></tr>\n",
                  o);
            for (int i = 0; i < no; i++) {
                static const char *const cols[] = {"request", "items"};
                row(R, k, "pipeline.orphan_objects", i, "key", cols, 2);
            }
            fputs("</table>\n", o);
        }
        if (at(r->sum, "watch.monitor")) {
            fputs("<p>The rate monitor alerted ", o);
            num(R, k, "watch.monitor.alerts");
            fputs(" time(s)", o);
            int na = cJSON_GetArraySize(at(r->sum, "watch.monitor.first_alerts"));
            for (int i = 0; i < na; i++) {
                fputs(i ? "; " : ": ", o);
                snprintf(key, sizeof key, "watch.monitor.first_alerts.%d.at_s", i);
                fputs("at ", o);
                num(R, k, key);
                fputs(" s, an episode that began at ", o);
                snprintf(key, sizeof key, "watch.monitor.first_alerts.%d.episode_start_s", i);
                num(R, k, key);
                fputs(" s", o);
            }
            fputs(".</p>\n", o);
        }
        if (at(r->sum, "watch.naive_daily")) {
            fputs("<p>The naive daily check alerted ", o);
            num(R, k, "watch.naive_daily.alerts");
            fputs(" time(s).</p>\n", o);
        }
    }
    fputs("</section>\n", o);
}

/* Invocations beyond fetch (docs/handlers.md): each Durable Object run's billed duration
 * beside its loss, and each cron run's outcomes. */
static bool beyond_fetch(const run *r)
{
    return at(r->sum, "durable_objects") || at(r->sum, "scheduled") ||
           num_at(r->sum, "requests.streamed_bodies") > 0 ||
           num_at(r->sum, "requests.truncated") > 0;
}

static void sec_handlers(rpt *R)
{
    FILE *o = R->out;
    bool any = false;
    for (size_t k = 0; k < R->n; k++)
        any |= charted(&R->runs[k]) && beyond_fetch(&R->runs[k]);
    if (!any)
        return;
    fputs("<section id=\"handlers\"><h2>Beyond fetch: cost and outcomes</h2>\n<p>A Durable "
          "Object is billed for its wall time while it is active or idle but unable to "
          "hibernate (<b>GB-s</b> at 128 MB), so what keeps one awake is a cost beside what it "
          "loses. A cron run's <b>outcome</b> is what Cloudflare records for it. A streamed "
          "response's <b>headers to EOF</b> is what a span ended at the headers leaves out of "
          "its request; a <b>truncated</b> one lost its client mid-body.</p>\n<table>"
          "<tr><th>run</th><th>lost</th><th>GB-s</th><th>objects started</th><th>hibernated"
          "</th><th>cron runs</th><th>ok</th><th>exception</th><th>exceeded wall</th>"
          "<th>exceeded CPU</th><th>streamed bodies</th><th>headers to EOF (s)</th>"
          "<th>truncated</th></tr>\n",
          o);
    static const char *const cols[] = {"durable_objects.gb_s",
                                       "durable_objects.started",
                                       "durable_objects.hibernated",
                                       "scheduled.runs",
                                       "scheduled.outcomes.ok",
                                       "scheduled.outcomes.exception",
                                       "scheduled.outcomes.exceeded_wall",
                                       "scheduled.outcomes.exceeded_cpu",
                                       "requests.streamed_bodies",
                                       "requests.body_mean_s",
                                       "requests.truncated"};
    for (size_t k = 0; k < R->n; k++) {
        const run *r = &R->runs[k];
        if (!charted(r) || !beyond_fetch(r))
            continue;
        char t[300];
        fputs("<tr><td>", o);
        esc(R, run_title(r, t, sizeof t));
        fputs("</td><td>", o);
        num(R, k, "fates.lost");
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            fputs("</td><td>", o);
            if (at(r->sum, cols[c]))
                num(R, k, cols[c]);
            else
                fputs("–", o);
        }
        fputs("</td></tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

/* The report, a section at a time: adding one is adding a function here. */
static void (*const sections[])(rpt *) = {
    sec_verdict, sec_definitions, sec_funnel,   sec_pipeline, sec_handlers, sec_causes,
    sec_faults,  sec_time,        sec_isolates, sec_stories,  sec_runs,
};

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#222;"
    "padding:0 12px}h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;"
    "padding-bottom:4px;margin-top:32px}h3{font-size:15px;margin:16px 0 6px}"
    "table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 8px;text-align:left;"
    "border-bottom:1px solid #eee;vertical-align:top}td .n,td{font-variant-numeric:tabular-nums}"
    ".pass{color:#17612b;font-weight:600}.fail{color:#b3261e;font-weight:600}"
    ".muted{color:#777}pre{background:#f6f6f6;padding:8px;overflow-x:auto}dt{font-weight:600}"
    "dd{margin:0 0 4px 16px}svg.chart text{font-size:11px;fill:#555}"
    ".axis line{stroke:#999}.axis line.grid{stroke:#eee}.d-lost{fill:#d64541}"
    ".d-late{fill:#f0a30a}.d-created{fill:none;stroke:#3b6ea8;stroke-width:1.2}"
    ".d-evict{fill:#7a5195;opacity:.15}.d-life{fill:#e8eef6}.d-req1{fill:#c6d7ec}"
    ".d-req2{fill:#9bbbe0}.d-req3{fill:#6b9bd2}.d-req4{fill:#3b6ea8}.d-post{fill:#222}"
    ".d-death{fill:#999}.d-death-loss{fill:#d64541}.d-evicted{fill:#9a86b0}"
    ".d-alive{fill:none;stroke:#3b6ea8;stroke-width:1.2}.d-zero{stroke:#d64541}"
    ".small{font-size:9px}"
    /* Fault windows: lighter than the eviction shading, one hue per family; an instant is
     * two pixels wide, so it is near opaque. */
    ".d-fault,.d-fault-network,.d-fault-ingest,.d-fault-runtime{opacity:.13}"
    ".d-fault{fill:#666}.d-fault-network{fill:#138d90}.d-fault-ingest{fill:#3a9d23}"
    ".d-fault-runtime{fill:#8c5a2b}.fault-at{opacity:.85}"
    ".d-funnel{fill:#3b6ea8}"
    "table.funnel th,table.bars th{width:150px;font-weight:normal}";

static void write_page(rpt *R)
{
    FILE *o = R->out;
    const cJSON *s = R->runs[0].sum;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>edgeloss "
          "report: ",
          o);
    esc(R, str_at(s, "name")[0] ? str_at(s, "name") : str_at(s, "scenario"));
    fprintf(o, "</title>\n<style>%s</style></head><body>\n<h1>", style);
    esc(R, str_at(s, "name")[0] ? str_at(s, "name") : str_at(s, "scenario"));
    fputs("</h1>\n<p class=\"muted\">Scenario <code>", o);
    esc(R, str_at(s, "scenario"));
    fprintf(o,
            "</code>, %zu run%s. Made by edgeloss %s from each run's summary.json and "
            "ledger.db.</p>\n",
            R->n, R->n == 1 ? "" : "s", EDGELOSS_VERSION);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        sections[i](R);
    fputs("</body></html>\n", o);
}

static int by_order(const void *a, const void *b)
{
    const run *x = a, *y = b;
    int c = strcmp(str_at(x->sum, "scenario"), str_at(y->sum, "scenario"));
    if (c)
        return c;
    /* A summary without variant_index (written before it existed) counts as the baseline. */
    double xi = num_at(x->sum, "variant_index"), yi = num_at(y->sum, "variant_index");
    double d = (isnan(xi) ? 0 : xi) - (isnan(yi) ? 0 : yi);
    if (d == 0)
        d = num_at(x->sum, "seed") - num_at(y->sum, "seed");
    if (d == 0)
        return strcmp(x->dir, y->dir);
    return d < 0 ? -1 : 1;
}

sim_err rpt_write(const char *const *dirs, size_t n, const char *out_path, const rpt_options *o,
                  char *err, size_t errlen)
{
    if (n == 0) {
        snprintf(err, errlen, "no run directories");
        return SIM_EUSAGE;
    }
    rpt R = {.n = n, .o = o};
    R.runs = calloc(n, sizeof *R.runs);
    if (!R.runs)
        abort();
    sim_err rc = SIM_OK;
    for (size_t k = 0; k < n && !rc; k++) {
        rc = read_run(&R.runs[k], dirs[k], err, errlen);
        if (!rc && R.runs[k].end_ns > R.tmax)
            R.tmax = R.runs[k].end_ns;
    }
    /* The file's order: the baseline, then each variant (the bug, then each fix); seeds. */
    if (!rc)
        qsort(R.runs, n, sizeof *R.runs, by_order);
    if (!rc) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", out_path);
        R.out = fopen(tmp, "w");
        if (!R.out) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
            rc = SIM_EIO;
        } else {
            write_page(&R);
            bool bad = ferror(R.out) != 0;
            bad |= fclose(R.out) != 0;
            if (bad || rename(tmp, out_path) != 0) {
                snprintf(err, errlen, "%s: write failed: %s", out_path,
                         strerror(errno ? errno : EIO));
                remove(tmp);
                rc = SIM_EIO;
            }
        }
    }
    for (size_t k = 0; k < n; k++) {
        cJSON_Delete(R.runs[k].sum);
        free(R.runs[k].bins);
        free(R.runs[k].isos);
        free(R.runs[k].ibins);
    }
    free(R.runs);
    return rc;
}
