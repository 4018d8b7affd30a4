#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct prog {
    FILE *out;
    prog_mode mode;
    size_t total, done;
    double t0, run_t0, last;
    char label[256];
    bool shown; /* a live line is on the terminal */
};

/* The pace of updates: a terminal redraws often; a log gets a line now and then. */
#define LIVE_EVERY_S  0.25
#define PLAIN_EVERY_S 5.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* display only */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

prog_mode prog_mode_for(FILE *out, bool quiet)
{
    if (quiet)
        return PROG_OFF;
    const char *term = getenv("TERM");
    if (isatty(fileno(out)) && !(term && strcmp(term, "dumb") == 0))
        return PROG_LIVE;
    return PROG_PLAIN;
}

prog *prog_new(FILE *out, prog_mode mode, size_t total_runs)
{
    prog *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->out = out;
    p->mode = mode;
    p->total = total_runs;
    p->t0 = p->last = now_s();
    return p;
}

void prog_free(prog *p)
{
    if (!p)
        return;
    prog_clear(p);
    free(p);
}

static void clock_text(double s, char *buf, size_t len)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
}

static void vtime_text(int64_t ns, char *buf, size_t len)
{
    double s = (double)ns / 1e9;
    long t = (long)s;
    if (t >= 3600)
        snprintf(buf, len, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(buf, len, "%.1fs", s);
}

static void show(prog *p, const char *text)
{
    if (p->mode == PROG_LIVE) {
        /* \r, the line, then erase what a longer earlier line left. */
        fprintf(p->out, "\r%.*s\033[K", 200, text);
        p->shown = true;
    } else {
        fprintf(p->out, "%s\n", text);
    }
    fflush(p->out);
}

static void runs_text(prog *p, char *buf, size_t len)
{
    double el = now_s() - p->t0;
    char e[32], eta[32] = "";
    clock_text(el, e, sizeof e);
    if (p->done && p->done < p->total) {
        char t[32];
        clock_text(el / (double)p->done * (double)(p->total - p->done), t, sizeof t);
        snprintf(eta, sizeof eta, ", ETA %s", t);
    }
    snprintf(buf, len, "[%zu/%zu runs, %s%s]", p->done, p->total, e, eta);
}

static bool due(prog *p, bool force)
{
    double t = now_s();
    if (p->mode == PROG_OFF ||
        (!force && t - p->last < (p->mode == PROG_LIVE ? LIVE_EVERY_S : PLAIN_EVERY_S)))
        return false;
    p->last = t;
    return true;
}

void prog_run_start(prog *p, const char *label)
{
    if (!p)
        return;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->run_t0 = now_s();
    if (p->mode != PROG_LIVE || !due(p, true))
        return;
    char runs[96], line[400];
    runs_text(p, runs, sizeof runs);
    snprintf(line, sizeof line, "%s %s", runs, p->label);
    show(p, line);
}

void prog_run_done(prog *p)
{
    if (!p)
        return;
    p->done++;
    /* A log gets the count on its schedule only: short runs stay silent there. */
    if (!due(p, p->mode == PROG_LIVE))
        return;
    char runs[96];
    runs_text(p, runs, sizeof runs);
    show(p, runs);
}

void prog_tick(prog *p, const char *running)
{
    if (!p || !due(p, false))
        return;
    char runs[96], line[512];
    runs_text(p, runs, sizeof runs);
    snprintf(line, sizeof line, "%s running: %s", runs, running);
    show(p, line);
}

void prog_within(void *ud, const sim_progress *sp)
{
    prog *p = ud;
    if (!p || !due(p, false))
        return;
    char runs[96], v[32], h[32] = "", line[512];
    runs_text(p, runs, sizeof runs);
    vtime_text(sp->now_ns, v, sizeof v);
    if (sp->horizon_ns > 0) {
        char hz[24];
        vtime_text(sp->horizon_ns, hz, sizeof hz);
        double pc = 100.0 * (double)sp->now_ns / (double)sp->horizon_ns;
        snprintf(h, sizeof h, " of %s (%.0f%%)", hz, pc > 100 ? 100 : pc);
    }
    double el = now_s() - p->run_t0;
    snprintf(line, sizeof line, "%s %s: virtual %s%s, %.2f M events/s", runs, p->label, v, h,
             el > 0 ? (double)sp->events / el / 1e6 : 0.0);
    show(p, line);
}

void prog_clear(prog *p)
{
    if (p && p->shown) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
        p->shown = false;
    }
}
