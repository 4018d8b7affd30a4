/*
 * edgeloss: the command.
 *   edgeloss run SCENARIO [options]     simulate one scenario file, every variant and seed
 *   edgeloss check [PATH...] [options]  the CI gate: every scenario file under the paths
 *   edgeloss sweep SCENARIO --seeds A..B  many seeds: the failing ones, each metric's spread
 *   edgeloss merge RESULT...            combine a sweep's shards
 *   edgeloss shrink SCENARIO --seed N   cut a failing run down to a smaller failing scenario
 *   edgeloss report RUN_DIR... -o F     the HTML loss report of run directories
 *   edgeloss keys                       the scenario key reference (Markdown)
 * Exit codes (error.h maps every error to one): 0 every check holds, 1 a check failed or a
 * verdict could not be verified, 2 bad scenario or usage, 3 the harness failed, 130
 * interrupted. Results go to stdout (deterministic); progress, timing and errors to stderr.
 */
#include "cli.h"
#include "explore.h"
#include "progress.h"
#include "report.h"
#include "results.h"
#include "scenario.h"
#include "shrink.h"
#include "sim.h"
#include "sweep.h"
#include "summary.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef EDGELOSS_VERSION
#define EDGELOSS_VERSION "unknown"
#endif

/*
 * The one process-wide variable: a signal handler can only reach a global. Set on
 * SIGINT/SIGTERM; runs poll it between batches of events (sim_options.stop).
 */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    /* A second one means now: the run directory is left as it is, summaries unwritten. */
    if (stop_requested)
        _exit(130);
    stop_requested = 1;
}

/* In a child of `check`: the terminal's Ctrl-C and the parent's forwarded one may come
 * apart; both only ask the run to stop, never to end the child before it reports. */
static void on_signal_in_child(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: poll() in `check` wakes up to stop its children. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void die_usage(const char *cmd, const char *msg)
{
    fprintf(stderr, "edgeloss%s%s: %s\n", cmd ? " " : "", cmd ? cmd : "", msg);
    fprintf(stderr, "Try 'edgeloss %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* timing lines and attributes only */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return -1;
        *c = '/';
    }
    return mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* Closes a file written by the run; a write error anywhere in it (a full disk) is reported. */
static int close_written(FILE *f, const char *path, char *err, size_t errlen)
{
    if (!f)
        return 0;
    bool bad = ferror(f) != 0;
    int e = bad ? EIO : 0;
    if (fclose(f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    if (bad)
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(e));
    return bad ? -1 : 0;
}

/*
 * Writes a result file whole or not at all: into PATH.tmp, then renamed over PATH, so
 * an interrupted or failed write never leaves a file that looks complete. A device or a
 * pipe is written in place.
 */
/* Writes the file's content; returns 0, or -1 when it could not (out of memory). */
typedef int (*write_fn)(FILE *f, const void *ud);
static sim_err write_atomic(const char *path, write_fn fn, const void *ud, char *err, size_t errlen)
{
    char tmp[4200];
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A device or a pipe (/dev/stdout, /dev/full): written in place, not renamed over. */
        FILE *f = fopen(path, "w");
        if (!f) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return SIM_EIO;
        }
        int bad = fn(f, ud);
        if (close_written(f, path, err, errlen))
            return SIM_EIO;
        if (bad)
            snprintf(err, errlen, "%s: out of memory", path);
        return bad ? SIM_ENOMEM : SIM_OK;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return SIM_EIO;
    }
    int bad = fn(f, ud);
    if (close_written(f, tmp, err, errlen) || bad) {
        if (bad)
            snprintf(err, errlen, "%s: out of memory", path);
        remove(tmp);
        return bad ? SIM_ENOMEM : SIM_EIO;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        remove(tmp);
        return SIM_EIO;
    }
    return SIM_OK;
}

/*
 * One writer per run directory: a second run with the same --out would interleave its
 * databases with ours ("database disk image is malformed", wrong verdicts). The lock is
 * an flock on DIR/.lock, released by the kernel when this process ends however it ends.
 * Returns the descriptor to keep open, or -1 with a message printed.
 */
static int lock_run_dir(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/.lock", dir);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        fprintf(stderr, "edgeloss: %s: %s\n", p, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            fprintf(stderr,
                    "edgeloss: %s: another edgeloss run is writing this run directory; wait "
                    "for it or give another --out\n",
                    dir);
        else
            fprintf(stderr, "edgeloss: %s: cannot lock: %s\n", p, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* A run's directory: ROOT/<variant slug>/seed-<N>, so seeds and variants never share one. */
static void run_dir_of(const char *root, const scenario *s, uint64_t seed, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/seed-%" PRIu64, root, s->slug, seed);
}

/* ROOT: --out, else runs/<scenario file name without .json>. */
static void default_root(const char *prefix, const char *file, char *out, size_t len)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    snprintf(out, len, "%s/%s", prefix, base);
    size_t n = strlen(out);
    if (n > 5 && strcmp(out + n - 5, ".json") == 0)
        out[n - 5] = '\0';
}

typedef struct summary_ud {
    const scenario *s;
    const sim_result *r;
} summary_ud;

static int write_summary(FILE *f, const void *ud)
{
    const summary_ud *u = ud;
    return sum_write_json(u->s, u->r, f);
}

typedef struct file_list {
    char **v;
    size_t n, cap;
} file_list;

static void files_add(file_list *l, const char *p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        char **g = realloc(l->v, l->cap * sizeof *g);
        if (!g)
            abort();
        l->v = g;
    }
    if (!(l->v[l->n++] = strdup(p)))
        abort();
}

static void files_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* ---------------------------------------------------------------- run */

static const cli_opt run_opts[] = {
    {"--seed", 0, "N", "run with seed N instead of the scenario's seed or seeds"},
    {"--variant", 0, "NAME", "run only this variant"},
    {"--out", 'o', "DIR",
     "the run directory: DIR/<variant>/seed-<N>/ gets ledger.db,\ningest.db and summary.json "
     "(default runs/<scenario name>)"},
    {"--events", 0, "FILE",
     "write every event, one per line (seed first); with several\nruns, "
     "FILE's name inside each run's directory"},
    {"--trace", 0, "FILE", "write every step each task runs (seed first); as --events"},
    {"--ingest", 0, "URL",
     "send to this ingest instead of an embedded mock-ingest\n(run it with "
     "--trust-sim-headers)"},
    {"--ingest-db", 0, "FILE",
     "... whose database is FILE (without it no fate can be decided:\n"
     "the verdict is unverified and the exit status 1)"},
    {"--schedule", 0, "S",
     "take these scheduling choices (as explore prints them: which ready\n"
     "task runs next), the queue's order elsewhere"},
    {"--brief", 0, NULL, "one line per variant and seed instead of the whole story"},
    {"--swarm", 0, NULL,
     "switch the scenario's fault families on or off as the seed draws\n"
     "them (what sweep --swarm ran; docs/sweep.md)"},
    {"--report", 0, "FILE", "write the HTML loss report of every run made here to FILE"},
    {"--exporter-plugin", 0, "SO",
     "use this exporter plugin as every variant's exporter (a shared object built against "
     "<edgeloss/exporter.h>; docs/plugins.md)"},
    {"--exporter-js", 0, "FILE",
     "use this JavaScript exporter bundle as every variant's exporter (run by Node in one\n"
     "vm context per isolate; its factory is createExporter; docs/js-exporters.md)"},
    {"--exporter-in-process", 0, NULL,
     "load plugins into edgeloss itself instead of their own exporter host\n"
     "process: unprotected, a plugin's crash is edgeloss's"},
    {"--ledger", 0, "MODE",
     "full: keep every row; compact: once the verdict is decided, prune\n"
     "the rows of items that arrived once (delivered or late; counts,\n"
     "every other item and the report stay); auto (default): compact\n"
     "above 1M items"},
    {"--quiet", 'q', NULL, "no progress or timing lines on stderr"},
    {"--help", 'h', NULL, "show this help"},
};
#define NRUN_OPTS (sizeof run_opts / sizeof run_opts[0])

static void run_usage(FILE *f)
{
    fputs("usage: edgeloss run SCENARIO [options]\n"
          "Simulate SCENARIO (a JSON file), each of its variants and seeds in turn, and print\n"
          "what happened to every telemetry item and whether each check holds, the seed first.\n"
          "\noptions:\n",
          f);
    cli_print_options(run_opts, NRUN_OPTS, f);
    fputs("\nexit: 0 every check holds, 1 a check failed or a verdict is unverified,\n"
          "      2 bad scenario or usage, 3 the harness failed, 130 interrupted\n",
          f);
}

/* Reports the loss of an interrupted run: what was cut, and that nothing looks complete. */
static void report_interrupt(const char *file, const scenario *s, uint64_t seed, const char *err,
                             const char *dir, size_t not_started)
{
    fprintf(stderr,
            "edgeloss: interrupted: %s, variant %s, seed %" PRIu64 " stopped (%s); no "
            "summary.json was written%s%s%s; %zu run%s not started\n",
            file, s->variant, seed, err, dir ? " and " : "", dir ? dir : "",
            dir ? "/ledger.db and ingest.db are partial" : "", not_started,
            not_started == 1 ? "" : "s");
}

/* --ledger MODE. Returns 0, or -1 (a usage error, printed). */
static int parse_ledger_mode(const char *cmd, const char *v, sim_ledger_mode *out)
{
    static const char *const names[] = {"auto", "full", "compact", NULL};
    static const sim_ledger_mode modes[] = {SIM_LEDGER_AUTO, SIM_LEDGER_FULL, SIM_LEDGER_COMPACT};
    *out = SIM_LEDGER_AUTO;
    if (!v)
        return 0;
    for (int i = 0; names[i]; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = modes[i];
            return 0;
        }
    }
    char m[160];
    snprintf(m, sizeof m, "--ledger %.40s: expected full, compact or auto", v);
    die_usage(cmd, m);
    return -1;
}

static int cmd_run(int argc, char **argv, const char *prog_name)
{
    cli_args a;
    char err[1024];
    if (cli_parse(run_opts, NRUN_OPTS, argc, argv, &a, err, sizeof err)) {
        die_usage("run", err);
        return sim_exit_code(SIM_EUSAGE);
    }
#define OPT(name) cli_get(run_opts, NRUN_OPTS, &a, name)
    if (OPT("--help")) {
        run_usage(stdout);
        return 0;
    }
    if (a.npositional != 1) {
        die_usage("run", a.npositional ? "one scenario at a time" : "which scenario? (a file)");
        return sim_exit_code(SIM_EUSAGE);
    }
    const char *path = a.positional[0], *variant = OPT("--variant"), *out_dir = OPT("--out");
    const char *events_path = OPT("--events"), *trace_path = OPT("--trace");
    bool brief = OPT("--brief") != NULL, quiet = OPT("--quiet") != NULL;
    const char *report = OPT("--report");
    const scn_overrides ov = {.exporter_plugin = OPT("--exporter-plugin"),
                              .exporter_js = OPT("--exporter-js"),
                              .exporter_in_process = OPT("--exporter-in-process") != NULL};
    sim_options base = {.ingest_url = OPT("--ingest"),
                        .ingest_db = OPT("--ingest-db"),
                        .swarm = OPT("--swarm") != NULL};
    if (OPT("--seed")) {
        if (cli_parse_u64(OPT("--seed"), &base.seed)) {
            fprintf(stderr, "edgeloss: --seed %s: expected a whole number from 0 to 2^53 - 1\n",
                    OPT("--seed"));
            return sim_exit_code(SIM_EUSAGE);
        }
        base.seed_set = true;
    }
    if (parse_ledger_mode("run", OPT("--ledger"), &base.ledger_mode))
        return sim_exit_code(SIM_EUSAGE);
    if (base.ingest_db && !base.ingest_url) {
        die_usage("run", "--ingest-db goes with --ingest URL");
        return sim_exit_code(SIM_EUSAGE);
    }
    xpl_schedule sched;
    bool scheduled = OPT("--schedule") != NULL;
    if (scheduled && xpl_parse(OPT("--schedule"), &sched, err, sizeof err)) {
        die_usage("run", err);
        return sim_exit_code(SIM_EUSAGE);
    }
#undef OPT
    double t0 = wall_s();
    scenario *first;
    sim_err lrc = scn_load_with(path, &ov, &first, err, sizeof err);
    if (lrc) {
        fprintf(stderr, "edgeloss: %s\n", err);
        return sim_exit_code(lrc);
    }
    size_t nruns = 0;
    bool found = !variant;
    for (scenario *s = first; s; s = s->next) {
        bool on = !variant || strcmp(variant, s->variant) == 0;
        found |= on;
        nruns += on ? (base.seed_set ? 1 : s->nseeds) : 0;
    }
    if (!found) {
        fprintf(stderr, "edgeloss: %s has no variant \"%s\" (it has:", path, variant);
        for (scenario *s = first; s; s = s->next)
            fprintf(stderr, " \"%s\"", s->variant);
        fprintf(stderr, ")\n");
        scn_free(first);
        return sim_exit_code(SIM_EUSAGE);
    }
    bool several = nruns > 1;
    char root[4096];
    if (out_dir)
        snprintf(root, sizeof root, "%s", out_dir);
    else
        default_root("runs", path, root, sizeof root);
    int status = 0, lock = -1;
    bool any_dir = out_dir || report || (several && (events_path || trace_path));
    for (scenario *s = first; s; s = s->next)
        any_dir |= s->has_exporter && (!variant || strcmp(variant, s->variant) == 0);
    if (any_dir) {
        if (make_dirs(root) != 0) {
            fprintf(stderr, "edgeloss: %s: %s\n", root, strerror(errno));
            scn_free(first);
            return sim_exit_code(SIM_EUSAGE);
        }
        if ((lock = lock_run_dir(root)) < 0) {
            scn_free(first);
            return sim_exit_code(SIM_EBUSY);
        }
    }
    catch_signals();
    prog *pg = prog_new(stderr, prog_mode_for(stderr, quiet), nruns);
    uint64_t events = 0;
    double virtual_s = 0, depth_sum = 0;
    size_t ran = 0, failed = 0;
    file_list reported = {0}; /* run directories for --report */
    for (scenario *s = first; s && !status; s = s->next) {
        if (variant && strcmp(variant, s->variant) != 0)
            continue;
        size_t nseeds = base.seed_set ? 1 : s->nseeds;
        for (size_t k = 0; k < nseeds && !status; k++) {
            sim_options opt = base;
            opt.seed = base.seed_set ? base.seed : s->seeds[k];
            opt.seed_set = true;
            opt.stop = &stop_requested;
            xpl_replay replay = {&sched, 0, 0};
            if (scheduled) { /* the run explore found, the first requests only if it says so */
                opt.chooser = xpl_replay_choose;
                opt.chooser_ud = &replay;
                opt.latencies = sched.latencies;
                if (sched.requests && s->workload.requests &&
                    sched.requests > s->workload.requests) {
                    fprintf(stderr,
                            "edgeloss: --schedule %" PRIu64 "r/...: the variant %s has %" PRIu64
                            " requests; a schedule cuts to the first N, it cannot add\n",
                            sched.requests, s->variant, s->workload.requests);
                    status = sim_exit_code(SIM_EUSAGE);
                    break;
                }
                if (sched.requests)
                    s->workload.requests = sched.requests;
            }
            opt.progress = prog_within;
            opt.progress_ud = pg;
            char dir[4300], ep[4600], tp[4600], p[4400];
            run_dir_of(root, s, opt.seed, dir, sizeof dir);
            bool write_dir =
                s->has_exporter || out_dir || report || (several && (events_path || trace_path));
            if (write_dir && make_dirs(dir) != 0) {
                fprintf(stderr, "edgeloss: %s: %s\n", dir, strerror(errno));
                status = sim_exit_code(SIM_EIO);
                break;
            }
            /* The summary of an earlier run here would sit beside this run's ledger. */
            snprintf(p, sizeof p, "%s/summary.json", dir);
            if (write_dir)
                remove(p);
            opt.run_dir = dir;
            const char *const paths[2] = {events_path, trace_path};
            char *const named[2] = {ep, tp};
            FILE *files[2] = {NULL, NULL};
            for (int w = 0; w < 2 && !status; w++) {
                if (!paths[w])
                    continue;
                const char *b = strrchr(paths[w], '/');
                if (several)
                    snprintf(named[w], 4600, "%s/%s", dir, b ? b + 1 : paths[w]);
                else
                    snprintf(named[w], 4600, "%s", paths[w]);
                if (!(files[w] = fopen(named[w], "w"))) {
                    fprintf(stderr, "edgeloss: %s %s: %s\n", w ? "--trace" : "--events", named[w],
                            strerror(errno));
                    status = sim_exit_code(SIM_EUSAGE);
                }
            }
            opt.events = files[0];
            opt.trace = files[1];
            char label[512];
            snprintf(label, sizeof label, "%s %s seed %" PRIu64, path, s->variant, opt.seed);
            if (!status && brief && ran == 0)
                printf("%s — %s (seed %" PRIu64 ")\n", path, s->name, opt.seed);
            else if (!status && !brief)
                printf("%sseed %" PRIu64 "\n", ran ? "\n" : "", opt.seed);
            fflush(stdout); /* the seed first, before a run that may take minutes */
            sim_result r;
            sim_err src = SIM_OK;
            if (!status) {
                prog_run_start(pg, label);
                src = sim_run(s, &opt, &r, err, sizeof err);
                prog_run_done(pg);
                if (scheduled && !src && replay.used < sched.n)
                    fprintf(stderr,
                            "edgeloss: --schedule names choice %" PRIu64 " but this run made "
                            "only %" PRIu64 " choices: it ran the rest in the queue's order\n",
                            sched.point[replay.used], replay.point);
            } else {
                memset(&r, 0, sizeof r);
            }
            char werr[4700] = "";
            int wrc = close_written(files[0], ep, werr, sizeof werr);
            wrc |= close_written(files[1], tp, werr, sizeof werr);
            prog_clear(pg);
            if (status) {
                sim_result_free(&r);
                break;
            }
            ran++;
            if (src == SIM_EINTR) {
                report_interrupt(path, s, opt.seed, err, s->has_exporter ? dir : NULL, nruns - ran);
                status = sim_exit_code(src);
            } else if (src) {
                fprintf(stderr, "edgeloss: %s (variant %s, seed %" PRIu64 "): %s\n", path,
                        s->variant, opt.seed, err);
                status = sim_exit_code(src);
            } else if (wrc) {
                fprintf(stderr, "edgeloss: %s\n", werr);
                status = sim_exit_code(SIM_EIO);
            }
            if (status) {
                sim_result_free(&r);
                break;
            }
            if (brief) {
                if (several && nseeds > 1)
                    printf("  seed %-6" PRIu64, opt.seed);
                sum_print_brief(s, &r, stdout);
            } else {
                sum_print(s, &r, stdout);
            }
            fflush(stdout);
            if (write_dir) {
                summary_ud u = {s, &r};
                if (write_atomic(p, write_summary, &u, werr, sizeof werr)) {
                    fprintf(stderr, "edgeloss: %s\n", werr);
                    status = sim_exit_code(SIM_EIO);
                }
            }
            if (r.telemetry && !r.verified)
                fprintf(stderr,
                        "edgeloss: %s (variant %s, seed %" PRIu64 "): verdict unverified: the "
                        "ingest's database was not given (--ingest-db FILE), so no item's fate "
                        "could be decided and no check evaluated; exit status 1\n",
                        path, s->variant, opt.seed);
            if (!status && (!r.checks_pass || (r.telemetry && !r.verified))) {
                failed++;
                status = SIM_EXIT_CHECK_FAILED;
            }
            /* A failed check does not stop the other variants: only errors do. */
            if (status == SIM_EXIT_CHECK_FAILED)
                status = 0;
            if (write_dir && !status)
                files_add(&reported, dir);
            events += r.events;
            depth_sum += r.mean_queue_depth * (double)r.events;
            virtual_s += (double)r.end_ns / 1e9;
            sim_result_free(&r);
        }
    }
    if (!status && failed)
        status = SIM_EXIT_CHECK_FAILED;
    if (several && status <= SIM_EXIT_CHECK_FAILED && !brief)
        printf("\n%zu runs, %zu with a failed check or an unverified verdict\n", ran, failed);
    if (report && status <= SIM_EXIT_CHECK_FAILED && reported.n) {
        rpt_options ro = {.prog = prog_name};
        sim_err rrc =
            rpt_write((const char *const *)reported.v, reported.n, report, &ro, err, sizeof err);
        if (rrc) {
            fprintf(stderr, "edgeloss: %s\n", err);
            status = sim_exit_code(rrc);
        } else {
            printf("%sreport: %s\n", brief ? "" : "\n", report);
        }
    }
    files_free(&reported);
    /* What was printed must have arrived: `edgeloss run ... > /dev/full` is a failure. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "edgeloss: standard output: write failed: %s\n", strerror(errno));
        status = sim_exit_code(SIM_EIO);
    }
    prog_free(pg);
    if (lock >= 0)
        close(lock);
    double wall = wall_s() - t0;
    /* bench/engine/engine.sh reads this line (events/s and the queue depth). */
    if (!quiet)
        fprintf(stderr,
                "wall time %.6f s; %.0fx faster than real time; %.0f events/s; mean queue depth "
                "%.2f\n",
                wall, virtual_s / (wall > 0 ? wall : 1e-9),
                (double)events / (wall > 0 ? wall : 1e-9),
                events ? depth_sum / (double)events : 0.0);
    scn_free(first);
    return status;
}

/* ---------------------------------------------------------------- check */

static const cli_opt check_opts[] = {
    {"--jobs", 'j', "N",
     "run N scenario runs at once, each in a child process with its\nown "
     "embedded ingest (default 1)"},
    {"--junit", 0, "FILE", "write the results as JUnit XML: a testcase per check"},
    {"--json", 0, "FILE", "write the results as JSON (docs/check.md)"},
    {"--report-dir", 0, "DIR", "write an HTML loss report per scenario file into DIR"},
    {"--exporter-plugin", 0, "SO",
     "use this exporter plugin as every scenario's exporter, as for run"},
    {"--exporter-js", 0, "FILE",
     "use this JavaScript exporter bundle as every scenario's exporter, as for run"},
    {"--exporter-in-process", 0, NULL,
     "load plugins into edgeloss itself (unprotected), as for run"},
    {"--ledger", 0, "MODE", "full, compact or auto (default): as for run"},
    {"--out", 'o', "DIR",
     "the runs' directories go under DIR (default runs/check):\n"
     "DIR/<scenario>/<variant>/seed-<N>/"},
    {"--seed", 0, "N", "run every scenario with seed N instead of its seed or seeds"},
    {"--quiet", 'q', NULL, "no progress on stderr"},
    {"--help", 'h', NULL, "show this help"},
};
#define NCHECK_OPTS (sizeof check_opts / sizeof check_opts[0])

static void check_usage(FILE *f)
{
    fputs("usage: edgeloss check [PATH...] [options]\n"
          "Run every scenario file under the PATHs (files, or folders searched recursively for\n"
          "*.json; default: scenarios), every variant and seed, and every check; print a table\n"
          "and, for each failure, why and the command that reproduces it.\n"
          "\noptions:\n",
          f);
    cli_print_options(check_opts, NCHECK_OPTS, f);
    fputs("\nexit: 0 every check holds, 1 a check failed (or a verdict could not be verified),\n"
          "      2 bad scenario or usage, 3 the harness failed (the ingest could not start, a\n"
          "      full disk, a crashed child), 130 interrupted\n",
          f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, hidden ones left out, sorted: the order is the output's. */
static int list_dir(const char *dir, file_list *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            files_add(names, e->d_name);
    closedir(d);
    if (names->n) /* qsort of nothing is undefined with a null array */
        qsort(names->v, names->n, sizeof *names->v, cmp_str);
    return 0;
}

/* The same file named twice (or by two paths) is run once. */
static bool already_listed(const file_list *l, const char *path)
{
    char a[4096], b[4096];
    if (!realpath(path, a))
        snprintf(a, sizeof a, "%s", path);
    for (size_t i = 0; i < l->n; i++) {
        if (!realpath(l->v[i], b))
            snprintf(b, sizeof b, "%s", l->v[i]);
        if (strcmp(a, b) == 0)
            return true;
    }
    return false;
}

/* Every *.json under dir, recursively, skipping hidden entries. Returns 0 or -1 (errno). */
static int find_scenarios(const char *dir, file_list *out, int depth)
{
    if (depth > 32) {
        errno = ELOOP;
        return -1;
    }
    file_list here = {0};
    if (list_dir(dir, &here) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < here.n; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", here.v[i]);
        struct stat st;
        if (stat(p, &st) != 0)
            continue; /* a dangling link: nothing to run */
        size_t n = strlen(p);
        if (S_ISDIR(st.st_mode))
            rc |= find_scenarios(p, out, depth + 1);
        else if (n > 5 && strcmp(p + n - 5, ".json") == 0 && !already_listed(out, p))
            files_add(out, p);
    }
    files_free(&here);
    return rc;
}

/* One scenario run for a child process to do. */
typedef struct job {
    const scenario *s;
    sim_ledger_mode ledger_mode;
    bool swarm;    /* sweep --swarm */
    bool metrics;  /* report every metric's value (a sweep's distributions) */
    size_t result; /* index into the result set */
    pid_t pid;
    int fd;
    char *buf;
    size_t len, cap;
    double t0;
} job;

static void child_report(int fd, const res_set *set, const res_run *r)
{
    cJSON *j = res_run_json(set, r);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    size_t n = text ? strlen(text) : 0;
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(3);
        off += (size_t)w;
    }
    free(text);
}

/*
 * The child: one run, its summary.json, and its result as JSON on `fd`. It never returns.
 * EDGELOSS_TEST_CRASH=<variant> makes the child running that variant abort before it runs:
 * how the tests show a crashed child is reported (exit 3), not lost.
 */
static void child_main(const job *j, res_set *set, res_run *r, int fd)
{
    const scenario *s = j->s;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal_in_child;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    const char *crash = getenv("EDGELOSS_TEST_CRASH");
    if (crash && strcmp(crash, s->variant) == 0)
        abort();
    char err[1024];
    sim_options opt = {.seed = r->seed,
                       .seed_set = true,
                       .run_dir = r->run_dir,
                       .ledger_mode = j->ledger_mode,
                       .stop = &stop_requested,
                       .swarm = j->swarm};
    if (make_dirs(r->run_dir) != 0) {
        r->err = SIM_EIO;
        snprintf(err, sizeof err, "%s: %s", r->run_dir, strerror(errno));
        r->message = strdup(err);
        child_report(fd, set, r);
        _exit(0);
    }
    char p[4400];
    snprintf(p, sizeof p, "%s/summary.json", r->run_dir);
    remove(p);
    sim_result res;
    sim_err rc = sim_run(s, &opt, &res, err, sizeof err);
    /* A run whose exporter host failed still has its fates: its summary is written too. */
    if (!rc || rc == SIM_EEXPORTER) {
        summary_ud u = {s, &res};
        char werr[1024];
        sim_err wrc = write_atomic(p, write_summary, &u, werr, sizeof werr);
        if (wrc) {
            rc = wrc;
            snprintf(err, sizeof err, "%s", werr);
        }
    }
    r->err = rc;
    r->message = rc ? strdup(err) : NULL;
    r->telemetry = res.telemetry;
    r->verified = res.verified;
    r->items = res.report.items;
    r->lost = res.report.fate[FATE_LOST];
    r->nchecks = rc ? 0 : res.nchecks;
    r->checks = res.checks;
    r->swarm_present = res.swarm_present;
    r->swarm_on = res.swarm_on;
    check_metric m[CHECK_METRICS_MAX];
    if (!rc && j->metrics && res.verified) {
        r->nmetrics = check_metrics(&res.report, m, CHECK_METRICS_MAX);
        r->metrics = m;
    }
    child_report(fd, set, r);
    _exit(0);
}

static void finish_job(res_set *set, job *j, int wstatus)
{
    res_run *r = &set->runs[j->result];
    res_run got;
    cJSON *doc = NULL;
    bool ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && j->len > 0;
    if (ok) {
        doc = cJSON_ParseWithLength(j->buf, j->len);
        ok = doc && res_run_from_json(doc, &got) == 0;
        if (!ok && doc)
            res_run_clear(&got);
    }
    cJSON_Delete(doc);
    char msg[256];
    if (ok) {
        /* Where and what was run is the parent's; what happened is the child's. */
        r->err = got.err;
        r->message = got.message;
        got.message = NULL;
        r->telemetry = got.telemetry;
        r->verified = got.verified;
        r->items = got.items;
        r->lost = got.lost;
        r->checks = got.checks;
        r->nchecks = got.nchecks;
        got.checks = NULL;
        r->metrics = got.metrics;
        r->nmetrics = got.nmetrics;
        got.metrics = NULL;
        r->swarm_present = got.swarm_present;
        r->swarm_on = got.swarm_on;
        res_run_clear(&got);
    } else {
        r->err = SIM_ECHILD;
        if (WIFSIGNALED(wstatus))
            snprintf(msg, sizeof msg, "the child process running it was killed by signal %d (%s)",
                     WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
        else
            snprintf(msg, sizeof msg,
                     "the child process running it exited with status %d without a result",
                     WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
        r->message = strdup(msg);
    }
    r->wall_s = wall_s() - j->t0;
    free(j->buf);
    j->buf = NULL;
    close(j->fd);
    j->fd = -1;
}

/* Told of each run as its result is in (a sweep folds it in and lets it go). */
typedef void (*job_done_fn)(void *ud, res_set *set, size_t result);

/* Runs the jobs, at most `width` at once. Returns the number cut by an interrupt. */
static size_t run_jobs(res_set *set, job *jobs, size_t njobs, size_t width, prog *pg,
                       job_done_fn on_done, void *ud)
{
    size_t next = 0, active = 0, done = 0;
    bool forwarded = false;
    job **live = calloc(width, sizeof *live);
    struct pollfd *pfd = calloc(width, sizeof *pfd);
    if (!live || !pfd)
        abort();
    while (done < njobs) {
        while (active < width && next < njobs && !stop_requested) {
            job *j = &jobs[next++];
            res_run *r = &set->runs[j->result];
            int p[2];
            fflush(NULL); /* a child must not inherit unwritten output */
            if (pipe(p) != 0) {
                r->err = SIM_ECHILD;
                r->message = strdup(strerror(errno));
                done++;
                if (on_done)
                    on_done(ud, set, j->result);
                continue;
            }
            j->t0 = wall_s();
            char label[512];
            snprintf(label, sizeof label, "%s %s seed %" PRIu64, r->file, r->variant, r->seed);
            prog_run_start(pg, label);
            pid_t pid = fork();
            if (pid == 0) {
                close(p[0]);
                child_main(j, set, r, p[1]);
            }
            close(p[1]);
            if (pid < 0) {
                close(p[0]);
                r->err = SIM_ECHILD;
                r->message = strdup(strerror(errno));
                done++;
                if (on_done)
                    on_done(ud, set, j->result);
                continue;
            }
            j->pid = pid;
            j->fd = p[0];
            live[active++] = j;
        }
        if (active == 0) {
            if (next < njobs && stop_requested)
                break;
            continue;
        }
        if (stop_requested && !forwarded) {
            /* A SIGTERM to this process alone: the children stop too, at their next batch. */
            for (size_t i = 0; i < active; i++)
                kill(live[i]->pid, SIGINT);
            forwarded = true;
        }
        for (size_t i = 0; i < active; i++)
            pfd[i] = (struct pollfd){.fd = live[i]->fd, .events = POLLIN};
        if (poll(pfd, active, 1000) < 0)
            continue; /* EINTR: look at stop_requested */
        char running[300];
        const res_run *first = &set->runs[live[0]->result];
        snprintf(running, sizeof running, "%s %s seed %" PRIu64 "%s", first->file, first->variant,
                 first->seed, active > 1 ? " and others" : "");
        prog_tick(pg, running);
        for (size_t i = 0; i < active;) {
            job *j = live[i];
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                i++;
                continue;
            }
            if (j->len + 4096 > j->cap) {
                j->cap = j->cap ? 2 * j->cap : 8192;
                char *g = realloc(j->buf, j->cap);
                if (!g)
                    abort();
                j->buf = g;
            }
            ssize_t n = read(j->fd, j->buf + j->len, j->cap - j->len);
            if (n < 0 && errno == EINTR) {
                i++;
                continue;
            }
            if (n > 0) {
                j->len += (size_t)n;
                i++;
                continue;
            }
            int ws = 0;
            while (waitpid(j->pid, &ws, 0) < 0 && errno == EINTR)
                ;
            finish_job(set, j, ws);
            prog_run_done(pg);
            done++;
            if (on_done)
                on_done(ud, set, j->result);
            live[i] = live[--active];
            pfd[i] = pfd[active];
        }
    }
    free(live);
    free(pfd);
    size_t cut = 0;
    for (; next < njobs; next++, cut++) {
        res_run *r = &set->runs[jobs[next].result];
        r->err = SIM_EINTR;
        r->message = strdup("not run: interrupted before it started");
    }
    return cut;
}

static bool use_color(FILE *f)
{
    /* NO_COLOR set to anything but "" turns colour off (no-color.org), as a dumb terminal does. */
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(fileno(f)) && !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);
}

static int write_junit(FILE *f, const void *ud)
{
    res_write_junit(ud, f);
    return 0;
}

typedef struct json_ud {
    const res_set *set;
    bool complete;
    int exit_code;
} json_ud;

static int write_json(FILE *f, const void *ud)
{
    const json_ud *u = ud;
    cJSON *j = res_json(u->set, u->complete, u->exit_code);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (text)
        fprintf(f, "%s\n", text);
    free(text);
    return text ? 0 : -1;
}

/*
 * A report per scenario file, of its runs that finished (a run that could not run has no
 * summary to show; the table says why). Prints where each is. Returns an exit status.
 */
static int write_reports(const res_set *set, const file_list *files, const file_list *stems,
                         const char *dir, const char *prog_name)
{
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "edgeloss check: %s: %s\n", dir, strerror(errno));
        return sim_exit_code(SIM_EIO);
    }
    int status = 0;
    bool first = true;
    for (size_t i = 0; i < files->n; i++) {
        const char **dirs = calloc(set->n ? set->n : 1, sizeof *dirs);
        if (!dirs)
            abort();
        size_t n = 0;
        for (size_t k = 0; k < set->n; k++) {
            const res_run *r = &set->runs[k];
            if (strcmp(r->file, files->v[i]) == 0 && r->run_dir && r->err == SIM_OK)
                dirs[n++] = r->run_dir;
        }
        if (n) {
            char path[4300], err[1024];
            snprintf(path, sizeof path, "%s/%s.html", dir, stems->v[i]);
            rpt_options ro = {.prog = prog_name};
            sim_err rc = rpt_write(dirs, n, path, &ro, err, sizeof err);
            if (rc) {
                /* Runs this check made itself: failing to report them is the harness's. */
                fprintf(stderr, "edgeloss check: %s\n", err);
                if (sim_exit_code(SIM_EIO) > status)
                    status = sim_exit_code(SIM_EIO);
            } else {
                printf("%s%s\n", first ? "\nreports (open in a browser):\n  " : "  ", path);
                first = false;
            }
        }
        free(dirs);
    }
    return status;
}

/*
 * Each file's directory and report name: its name without .json, and when two files
 * share one (a/x.json, b/x.json), "-2", "-3"... until no other file has it.
 */
static void unique_stems(const file_list *files, file_list *stems)
{
    for (size_t i = 0; i < files->n; i++) {
        char base[4200], name[4300];
        default_root(".", files->v[i], base, sizeof base);
        snprintf(name, sizeof name, "%s", base + 2);
        for (int k = 2;; k++) {
            bool taken = false;
            for (size_t j = 0; j < stems->n && !taken; j++)
                taken = strcmp(stems->v[j], name) == 0;
            /* A suffixed name must not be a later file's own name either. */
            for (size_t j = i + 1; j < files->n && !taken && k > 2; j++) {
                char other[4200];
                default_root(".", files->v[j], other, sizeof other);
                taken = strcmp(other + 2, name) == 0;
            }
            if (!taken)
                break;
            snprintf(name, sizeof name, "%s-%d", base + 2, k);
        }
        files_add(stems, name);
    }
}

static int cmd_check(int argc, char **argv, const char *prog_name)
{
    cli_args a;
    char err[1024];
    if (cli_parse(check_opts, NCHECK_OPTS, argc, argv, &a, err, sizeof err)) {
        die_usage("check", err);
        return sim_exit_code(SIM_EUSAGE);
    }
#define OPT(name) cli_get(check_opts, NCHECK_OPTS, &a, name)
    if (OPT("--help")) {
        check_usage(stdout);
        return 0;
    }
    uint64_t width = 1, seed = 0;
    if (OPT("--jobs") && (cli_parse_u64(OPT("--jobs"), &width) || width < 1 || width > 256)) {
        char m[200];
        snprintf(m, sizeof m, "--jobs %.60s: expected a whole number from 1 to 256", OPT("--jobs"));
        die_usage("check", m);
        return sim_exit_code(SIM_EUSAGE);
    }
    if (OPT("--seed") && cli_parse_u64(OPT("--seed"), &seed)) {
        fprintf(stderr, "edgeloss check: --seed %s: expected a whole number from 0 to 2^53 - 1\n",
                OPT("--seed"));
        return sim_exit_code(SIM_EUSAGE);
    }
    const char *junit = OPT("--junit"), *json = OPT("--json"), *out_dir = OPT("--out");
    const char *report_dir = OPT("--report-dir");
    const scn_overrides ov = {.exporter_plugin = OPT("--exporter-plugin"),
                              .exporter_js = OPT("--exporter-js"),
                              .exporter_in_process = OPT("--exporter-in-process") != NULL};
    sim_ledger_mode ledger_mode;
    if (parse_ledger_mode("check", OPT("--ledger"), &ledger_mode))
        return sim_exit_code(SIM_EUSAGE);
    bool quiet = OPT("--quiet") != NULL, seed_set = OPT("--seed") != NULL;
#undef OPT
    file_list files = {0};
    static const char *const default_paths[] = {"scenarios"};
    size_t npaths = a.npositional ? a.npositional : 1;
    for (size_t i = 0; i < npaths; i++) {
        const char *p = a.npositional ? a.positional[i] : default_paths[0];
        struct stat st;
        if (stat(p, &st) != 0) {
            fprintf(stderr, "edgeloss check: %s: %s\n", p, strerror(errno));
            files_free(&files);
            return sim_exit_code(SIM_EUSAGE);
        }
        if (S_ISDIR(st.st_mode)) {
            if (find_scenarios(p, &files, 0) != 0) {
                fprintf(stderr, "edgeloss check: %s: %s\n", p, strerror(errno));
                files_free(&files);
                return sim_exit_code(SIM_EUSAGE);
            }
        } else if (!already_listed(&files, p)) {
            files_add(&files, p);
        }
    }
    if (files.n == 0) {
        fprintf(stderr, "edgeloss check: no scenario files (*.json) under the given paths\n");
        free(files.v);
        return sim_exit_code(SIM_EUSAGE);
    }
    char root[4096];
    snprintf(root, sizeof root, "%s", out_dir ? out_dir : "runs/check");
    if (make_dirs(root) != 0) {
        fprintf(stderr, "edgeloss check: %s: %s\n", root, strerror(errno));
        files_free(&files);
        return sim_exit_code(SIM_EUSAGE);
    }
    int lock = lock_run_dir(root);
    if (lock < 0) {
        files_free(&files);
        return sim_exit_code(SIM_EBUSY);
    }

    /* What the command line replaced in every file: part of every reproduce command. */
    char args[8400] = "";
    if (ov.exporter_plugin) {
        res_shell_arg(args, sizeof args, "--exporter-plugin");
        res_shell_arg(args, sizeof args, ov.exporter_plugin);
    }
    if (ov.exporter_js) {
        res_shell_arg(args, sizeof args, "--exporter-js");
        res_shell_arg(args, sizeof args, ov.exporter_js);
    }
    if (ov.exporter_in_process)
        res_shell_arg(args, sizeof args, "--exporter-in-process");
    const char *extra = args[0] == ' ' ? args + 1 : args;
    res_set set = {.prog = prog_name, .args = extra};
    scenario **loaded = calloc(files.n, sizeof *loaded);
    if (!loaded)
        abort();
    size_t njobs = 0;
    for (size_t i = 0; i < files.n; i++) {
        sim_err rc = scn_load_with(files.v[i], &ov, &loaded[i], err, sizeof err);
        if (rc) {
            res_run *r = res_add(&set);
            r->file = strdup(files.v[i]);
            r->name = strdup("");
            r->err = rc;
            r->message = strdup(err);
            continue;
        }
        for (scenario *s = loaded[i]; s; s = s->next)
            njobs += seed_set ? 1 : s->nseeds;
    }
    file_list stems = {0};
    unique_stems(&files, &stems);
    job *jobs = calloc(njobs ? njobs : 1, sizeof *jobs);
    if (!jobs)
        abort();
    size_t nj = 0;
    /* Runs in file order, a bad file's error where the file is: rebuild the set in order. */
    res_set ordered = {.prog = prog_name, .args = extra};
    size_t bad = 0;
    for (size_t i = 0; i < files.n; i++) {
        if (!loaded[i]) {
            *res_add(&ordered) = set.runs[bad++];
            continue;
        }
        char froot[4200];
        snprintf(froot, sizeof froot, "%s/%s", root, stems.v[i]);
        for (scenario *s = loaded[i]; s; s = s->next) {
            size_t ns = seed_set ? 1 : s->nseeds;
            for (size_t k = 0; k < ns; k++) {
                res_run *r = res_add(&ordered);
                r->file = strdup(files.v[i]);
                r->name = strdup(s->name);
                r->variant = strdup(s->variant);
                r->seed = seed_set ? seed : s->seeds[k];
                char dir[4400];
                run_dir_of(froot, s, r->seed, dir, sizeof dir);
                r->run_dir = strdup(dir);
                jobs[nj++] =
                    (job){.s = s, .result = ordered.n - 1, .fd = -1, .ledger_mode = ledger_mode};
            }
        }
    }
    free(set.runs); /* its runs moved into `ordered` */
    catch_signals();
    prog *pg = prog_new(stderr, prog_mode_for(stderr, quiet), nj);
    size_t cut = run_jobs(&ordered, jobs, nj, (size_t)width, pg, NULL, NULL);
    prog_free(pg);
    bool complete = !stop_requested;

    res_print_table(&ordered, stdout, use_color(stdout));
    int status = res_exit_code(&ordered);
    if (!complete)
        fprintf(stderr,
                "edgeloss check: interrupted: %zu of %zu runs not started; the results "
                "written say so (\"complete\": false)\n",
                cut, nj);
    if (junit && write_atomic(junit, write_junit, &ordered, err, sizeof err)) {
        fprintf(stderr, "edgeloss check: %s\n", err);
        status = sim_exit_code(SIM_EIO);
    }
    if (report_dir && complete) {
        int rrc = write_reports(&ordered, &files, &stems, report_dir, prog_name);
        if (rrc > status)
            status = rrc;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "edgeloss check: standard output: write failed: %s\n", strerror(errno));
        status = sim_exit_code(SIM_EIO);
    }
    /* An interrupt is what happened, whatever else failed on the way out. */
    if (!complete)
        status = sim_exit_code(SIM_EINTR);
    /* Last, so that its exit_code is the status this process exits with. */
    json_ud ju = {&ordered, complete, status};
    if (json && write_atomic(json, write_json, &ju, err, sizeof err)) {
        fprintf(stderr, "edgeloss check: %s\n", err);
        if (complete)
            status = sim_exit_code(SIM_EIO);
    }
    res_free(&ordered);
    files_free(&stems);
    free(jobs);
    for (size_t i = 0; i < files.n; i++) {
        scn_free(loaded[i]);
        free(files.v[i]);
    }
    free(loaded);
    free(files.v);
    close(lock);
    return status;
}

/* ---------------------------------------------------------------- sweep */

static const cli_opt sweep_opts[] = {
    {"--seeds", 0, "A..B", "the seeds to run, first to last inclusive (or one seed)"},
    {"--jobs", 'j', "N", "run N seeds at once, each in a child process (default 1)"},
    {"--variant", 0, "NAME", "sweep only this variant (default: every variant)"},
    {"--swarm", 0, NULL,
     "per seed, switch each fault family of the scenario on or off\nat random (the seed "
     "decides; `run --swarm` replays it)"},
    {"--shard", 0, "I/N",
     "run slice I of N of the seeds (0-based); I may be `auto` or a\nvariable's name: "
     "JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, ..."},
    {"--result", 0, "FILE", "write the result file that `edgeloss merge` combines"},
    {"--json", 0, "FILE", "write the sweep's summary as JSON (docs/sweep.md)"},
    {"--junit", 0, "FILE", "write JUnit XML: a testcase per check over the seeds"},
    {"--metric", 0, "NAMES", "also show these metrics' spread (comma-separated)"},
    {"--out", 'o', "DIR",
     "the runs' directories go under DIR (default runs/sweep/<scenario>):\n"
     "DIR/<variant>/seed-<N>/"},
    {"--keep", 0, "WHICH", "which runs' directories stay: failing (default), all or none"},
    {"--ledger", 0, "MODE", "full, compact or auto (default): as for run"},
    {"--quiet", 'q', NULL, "no progress on stderr"},
    {"--help", 'h', NULL, "show this help"},
};
#define NSWEEP_OPTS (sizeof sweep_opts / sizeof sweep_opts[0])

static void sweep_usage(FILE *f)
{
    fputs("usage: edgeloss sweep SCENARIO --seeds A..B [options]\n"
          "Run one scenario file over many seeds, in parallel processes; print the seeds that\n"
          "fail with their first failing check and the command that reproduces each, and\n"
          "every metric's spread across the seeds (min, p50, p99, max). The output is the\n"
          "same whatever --jobs. With --shard, run one slice and write --result; `edgeloss\n"
          "merge` combines the slices into what one sweep of the whole range gives.\n"
          "\noptions:\n",
          f);
    cli_print_options(sweep_opts, NSWEEP_OPTS, f);
    fputs("\nexit: as check: 0 every seed passes, 1 a check failed (or a verdict is unverified),\n"
          "      2 bad scenario or usage, 3 the harness failed, 130 interrupted\n",
          f);
}

static const char *env_lookup(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

/* Who ran it: shards of different binaries must not merge (their runs may differ). */
static void binary_identity(char *out, size_t len)
{
    char hex[17] = "unknown";
    FILE *f = fopen("/proc/self/exe", "rb");
    if (f) {
        uint64_t h = SWP_HASH_INIT;
        unsigned char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            h = swp_hash(h, buf, n);
        fclose(f);
        snprintf(hex, sizeof hex, "%016" PRIx64, h);
    }
    snprintf(out, len, "edgeloss %s (executable %s)", EDGELOSS_VERSION, hex);
}

/* Removes a run's directory and what is in it (files, and folders of files). */
static void remove_tree(const char *dir, int depth)
{
    DIR *d = depth < 8 ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[4400];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p, depth + 1);
        else
            remove(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

typedef struct sweep_ud {
    swp_sweep *sw;
    const size_t *variant_of; /* per result index: the sweep's variant index */
    int keep;                 /* 0 failing, 1 all, 2 none */
} sweep_ud;

/* A run's result is in: fold it into the sweep, drop its directory unless kept, free it. */
static void sweep_done(void *ud, res_set *set, size_t result)
{
    sweep_ud *u = ud;
    res_run *r = &set->runs[result];
    swp_add(u->sw, u->variant_of[result], r, r->metrics, r->nmetrics, r->swarm_present,
            r->swarm_on);
    bool pass = res_status_of(r) == RES_PASS;
    if (r->run_dir && (u->keep == 2 || (u->keep == 0 && pass))) {
        remove_tree(r->run_dir, 0);
        char *slash = strrchr(r->run_dir, '/');
        if (slash) { /* the variant's folder too, once its last run is gone */
            *slash = '\0';
            rmdir(r->run_dir);
        }
    }
    res_run_clear(r);
}

typedef struct sweep_out {
    const swp_sweep *sw;
    bool raw;
} sweep_out;

static int write_sweep_json(FILE *f, const void *ud)
{
    const sweep_out *o = ud;
    cJSON *j = o->raw ? swp_result_json(o->sw) : swp_json(o->sw);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (text)
        fprintf(f, "%s\n", text);
    free(text);
    return text ? 0 : -1;
}

static int write_sweep_junit(FILE *f, const void *ud)
{
    swp_write_junit(ud, f);
    return 0;
}

/* The renderings both sweep and merge write. Returns the exit status. */
static int sweep_outputs(const char *cmd, const swp_sweep *sw, const char *json, const char *junit,
                         const char *result, const char *metrics)
{
    char err[1024];
    swp_print(sw, stdout, metrics, 10);
    int status = swp_exit_code(sw);
    sweep_out raw = {sw, true}, sum = {sw, false};
    if (result && write_atomic(result, write_sweep_json, &raw, err, sizeof err)) {
        fprintf(stderr, "edgeloss %s: %s\n", cmd, err);
        status = sim_exit_code(SIM_EIO);
    }
    if (junit && write_atomic(junit, write_sweep_junit, sw, err, sizeof err)) {
        fprintf(stderr, "edgeloss %s: %s\n", cmd, err);
        status = sim_exit_code(SIM_EIO);
    }
    if (json && write_atomic(json, write_sweep_json, &sum, err, sizeof err)) {
        fprintf(stderr, "edgeloss %s: %s\n", cmd, err);
        status = sim_exit_code(SIM_EIO);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "edgeloss %s: standard output: write failed: %s\n", cmd, strerror(errno));
        status = sim_exit_code(SIM_EIO);
    }
    if (!sw->complete)
        status = sim_exit_code(SIM_EINTR);
    return status;
}

static int cmd_sweep(int argc, char **argv, const char *prog_name)
{
    cli_args a;
    char err[1024];
    if (cli_parse(sweep_opts, NSWEEP_OPTS, argc, argv, &a, err, sizeof err)) {
        die_usage("sweep", err);
        return sim_exit_code(SIM_EUSAGE);
    }
#define OPT(name) cli_get(sweep_opts, NSWEEP_OPTS, &a, name)
    if (OPT("--help")) {
        sweep_usage(stdout);
        return 0;
    }
    if (a.npositional != 1) {
        die_usage("sweep", a.npositional ? "one scenario at a time" : "which scenario? (a file)");
        return sim_exit_code(SIM_EUSAGE);
    }
    if (!OPT("--seeds")) {
        die_usage("sweep", "which seeds? (--seeds A..B)");
        return sim_exit_code(SIM_EUSAGE);
    }
    uint64_t first, last, width = 1;
    if (swp_parse_seeds(OPT("--seeds"), &first, &last, err, sizeof err)) {
        die_usage("sweep", err);
        return sim_exit_code(SIM_EUSAGE);
    }
    if (OPT("--jobs") && (cli_parse_u64(OPT("--jobs"), &width) || width < 1 || width > 256)) {
        snprintf(err, sizeof err, "--jobs %.60s: expected a whole number from 1 to 256",
                 OPT("--jobs"));
        die_usage("sweep", err);
        return sim_exit_code(SIM_EUSAGE);
    }
    swp_shard shard = {0, 1, "--shard"};
    if (OPT("--shard") &&
        swp_parse_shard(OPT("--shard"), env_lookup, NULL, &shard, err, sizeof err)) {
        die_usage("sweep", err);
        return sim_exit_code(SIM_EUSAGE);
    }
    int keep = 0;
    if (OPT("--keep")) {
        static const char *const keeps[] = {"failing", "all", "none"};
        keep = -1;
        for (int k = 0; k < 3; k++)
            if (strcmp(OPT("--keep"), keeps[k]) == 0)
                keep = k;
        if (keep < 0) {
            snprintf(err, sizeof err, "--keep %.60s: expected failing, all or none", OPT("--keep"));
            die_usage("sweep", err);
            return sim_exit_code(SIM_EUSAGE);
        }
    }
    sim_ledger_mode ledger_mode;
    if (parse_ledger_mode("sweep", OPT("--ledger"), &ledger_mode))
        return sim_exit_code(SIM_EUSAGE);
    const char *path = a.positional[0], *only = OPT("--variant");
    const char *json = OPT("--json"), *junit = OPT("--junit"), *result = OPT("--result");
    const char *metrics = OPT("--metric");
    bool quiet = OPT("--quiet") != NULL, swarm = OPT("--swarm") != NULL;
    char root[4096];
    if (OPT("--out"))
        snprintf(root, sizeof root, "%s", OPT("--out"));
    else
        default_root("runs/sweep", path, root, sizeof root);
#undef OPT

    char *text;
    scenario *first_s;
    if (scn_read(path, &text, err, sizeof err) ||
        (scn_parse(text, path, &first_s, err, sizeof err) && (free(text), 1))) {
        fprintf(stderr, "edgeloss sweep: %s\n", err);
        return sim_exit_code(SIM_EINPUT);
    }
    char hash[17], binary[256];
    swp_hash_hex(text, strlen(text), hash);
    free(text);
    binary_identity(binary, sizeof binary);
    size_t nvariants = 0;
    for (scenario *s = first_s; s; s = s->next)
        nvariants += !only || strcmp(s->variant, only) == 0;
    if (!nvariants) {
        fprintf(stderr, "edgeloss sweep: %s: no variant named \"%s\" (variants:", path, only);
        for (scenario *s = first_s; s; s = s->next)
            fprintf(stderr, " \"%s\"", s->variant);
        fputs(")\n", stderr);
        scn_free(first_s);
        return sim_exit_code(SIM_EUSAGE);
    }
    if (swarm) {
        bool any = false;
        for (scenario *s = first_s; s; s = s->next)
            any |= s->nfault_rules > 0;
        if (!any && !quiet)
            fprintf(stderr,
                    "edgeloss sweep: note: %s has no fault rules: --swarm switches "
                    "nothing\n",
                    path);
    }
    if (make_dirs(root) != 0) {
        fprintf(stderr, "edgeloss sweep: %s: %s\n", root, strerror(errno));
        scn_free(first_s);
        return sim_exit_code(SIM_EUSAGE);
    }
    int lock = lock_run_dir(root);
    if (lock < 0) {
        scn_free(first_s);
        return sim_exit_code(SIM_EBUSY);
    }

    swp_sweep sw = {.scenario = strdup(path),
                    .scenario_hash = strdup(hash),
                    .binary = strdup(binary),
                    .variant = only ? strdup(only) : NULL,
                    .first = first,
                    .last = last,
                    .swarm = swarm,
                    .shard = shard,
                    .prog = prog_name};
    if (!sw.scenario || !sw.scenario_hash || !sw.binary || (only && !sw.variant))
        abort();
    uint64_t sa = 0, sz = 0;
    size_t nseeds = swp_slice(first, last, shard, &sa, &sz) ? (size_t)(sz - sa + 1) : 0;
    size_t nj = nseeds * nvariants;
    /* The selected variants, each in the result in the file's order even with no seeds. */
    const scenario **sel = calloc(nvariants, sizeof *sel);
    if (!sel)
        abort();
    for (scenario *s = first_s; s; s = s->next)
        if (!only || strcmp(s->variant, only) == 0)
            sel[swp_variant_at(&sw, s->variant)] = s;
    catch_signals();
    prog *pg = prog_new(stderr, prog_mode_for(stderr, quiet), nj);
    double t0 = wall_s();
    /* In chunks, so that what is held does not grow with the range: each run's result is
     * folded in as it arrives, and a chunk's jobs go with it. */
    enum { CHUNK = 4096 };
    job *jobs = calloc(CHUNK, sizeof *jobs);
    size_t *variant_of = calloc(CHUNK, sizeof *variant_of);
    if (!jobs || !variant_of)
        abort();
    size_t started = 0;
    for (size_t base = 0; base < nj && !stop_requested; base += CHUNK) {
        size_t n = nj - base < CHUNK ? nj - base : CHUNK;
        res_set set = {.prog = prog_name};
        for (size_t k = 0; k < n; k++) {
            size_t vi = (base + k) / nseeds;
            const scenario *s = sel[vi];
            res_run *r = res_add(&set);
            r->file = strdup(path);
            r->name = strdup(s->name);
            r->variant = strdup(s->variant);
            r->seed = sa + (base + k) % nseeds;
            char dir[4400];
            run_dir_of(root, s, r->seed, dir, sizeof dir);
            r->run_dir = strdup(dir);
            variant_of[k] = vi;
            jobs[k] = (job){.s = s,
                            .result = k,
                            .fd = -1,
                            .ledger_mode = ledger_mode,
                            .swarm = swarm,
                            .metrics = true};
        }
        sweep_ud u = {&sw, variant_of, keep};
        /* Runs never started (an interrupt) are not folded in: the sweep says it is
         * incomplete, and its counts are of the runs made. */
        started += n - run_jobs(&set, jobs, n, (size_t)width, pg, sweep_done, &u);
        res_free(&set);
    }
    double wall = wall_s() - t0;
    prog_free(pg);
    free(jobs);
    free(variant_of);
    free(sel);
    sw.complete = !stop_requested;
    swp_finish(&sw);
    int status = sweep_outputs("sweep", &sw, json, junit, result, metrics);
    /* bench/sweep.sh reads this line; wall time is no part of any result. */
    if (!quiet)
        fprintf(stderr, "sweep: %zu runs in %.3f s wall: %.2f runs/s with %" PRIu64 " jobs\n",
                started, wall, wall > 0 ? (double)started / wall : 0.0, width);
    size_t kept = 0;
    for (size_t i = 0; i < sw.nvariants; i++)
        kept += keep == 1 ? sw.variants[i].runs : keep == 0 ? sw.variants[i].nfailures : 0;
    if (kept && !quiet)
        fprintf(stderr, "sweep: the run directories of %zu %sruns are under %s/\n", kept,
                keep == 1 ? "" : "failing ", root);
    swp_free(&sw);
    scn_free(first_s);
    close(lock);
    return status;
}

/* ---------------------------------------------------------------- merge */

static const cli_opt merge_opts[] = {
    {"--json", 0, "FILE", "write the merged summary as JSON (as sweep --json)"},
    {"--junit", 0, "FILE", "write JUnit XML (as sweep --junit)"},
    {"--result", 0, "FILE", "write the merged result file (it merges again)"},
    {"--metric", 0, "NAMES", "also show these metrics' spread (comma-separated)"},
    {"--help", 'h', NULL, "show this help"},
};
#define NMERGE_OPTS (sizeof merge_opts / sizeof merge_opts[0])

static void merge_usage(FILE *f)
{
    fputs("usage: edgeloss merge RESULT... [options]\n"
          "Combine the result files of a sweep's shards (sweep --shard I/N --result FILE) into\n"
          "the summary, JSON, JUnit and exit status one sweep of the whole range gives. Shards\n"
          "of different scenario files or contents, binaries, seed ranges, variants, swarm or\n"
          "shard counts are refused, as are a missing, repeated or interrupted shard.\n"
          "\noptions:\n",
          f);
    cli_print_options(merge_opts, NMERGE_OPTS, f);
    fputs("\nexit: as sweep; 2 when the files are not shards of one sweep\n", f);
}

static int cmd_merge(int argc, char **argv, const char *prog_name)
{
    cli_args a;
    char err[2048];
    if (cli_parse(merge_opts, NMERGE_OPTS, argc, argv, &a, err, sizeof err)) {
        die_usage("merge", err);
        return sim_exit_code(SIM_EUSAGE);
    }
#define OPT(name) cli_get(merge_opts, NMERGE_OPTS, &a, name)
    if (OPT("--help")) {
        merge_usage(stdout);
        return 0;
    }
    if (!a.npositional) {
        die_usage("merge", "which result files? (written by sweep --result)");
        return sim_exit_code(SIM_EUSAGE);
    }
    swp_sweep *shards = calloc(a.npositional, sizeof *shards);
    swp_sweep **ptr = calloc(a.npositional, sizeof *ptr);
    if (!shards || !ptr)
        abort();
    int status = 0;
    size_t n = 0;
    for (; n < a.npositional && !status; n++) {
        const char *file = a.positional[n];
        char *text = NULL;
        FILE *f = fopen(file, "rb");
        size_t len = 0, cap = 0;
        if (f) {
            for (;;) {
                if (len + 65536 > cap) {
                    cap = cap ? 2 * cap : 1 << 20;
                    char *g = realloc(text, cap + 1);
                    if (!g)
                        abort();
                    text = g;
                }
                size_t got = fread(text + len, 1, cap - len, f);
                len += got;
                if (got == 0)
                    break;
            }
            bool bad = ferror(f);
            fclose(f);
            if (bad) {
                free(text);
                text = NULL;
            }
        }
        if (!text) {
            fprintf(stderr, "edgeloss merge: %s: cannot read: %s\n", file, strerror(errno));
            status = sim_exit_code(SIM_EINPUT);
            break;
        }
        text[len] = '\0';
        cJSON *j = cJSON_ParseWithLength(text, len);
        free(text);
        sim_err rc = j ? swp_result_from_json(j, file, &shards[n], err, sizeof err) : SIM_EINPUT;
        if (!j)
            snprintf(err, sizeof err, "%s: $: not valid JSON", file);
        cJSON_Delete(j);
        if (rc) {
            fprintf(stderr, "edgeloss merge: %s\n", err);
            status = sim_exit_code(SIM_EINPUT);
            n++; /* freed below */
            break;
        }
        shards[n].prog = prog_name;
        ptr[n] = &shards[n];
    }
    swp_sweep all = {0};
    if (!status) {
        if (swp_merge(ptr, (const char *const *)a.positional, n, &all, err, sizeof err)) {
            fprintf(stderr, "edgeloss merge: %s\n", err);
            status = sim_exit_code(SIM_EINPUT);
        } else {
            all.prog = prog_name;
            status = sweep_outputs("merge", &all, OPT("--json"), OPT("--junit"), OPT("--result"),
                                   OPT("--metric"));
        }
    }
#undef OPT
    swp_free(&all);
    for (size_t i = 0; i < n; i++)
        swp_free(&shards[i]);
    free(shards);
    free(ptr);
    return status;
}

/* ---------------------------------------------------------------- report */

static const cli_opt report_opts[] = {
    {"--out", 'o', "FILE.html", "where the report goes (required)"},
    {"--help", 'h', NULL, "show this help"},
};
#define NREPORT_OPTS (sizeof report_opts / sizeof report_opts[0])

static void report_usage(FILE *f)
{
    fputs("usage: edgeloss report RUN_DIR... -o FILE.html\n"
          "Write one self-contained HTML loss report (it opens from disk) of the runs in the\n"
          "RUN_DIRs: directories holding a run's summary.json and ledger.db, or folders with\n"
          "such directories inside (searched recursively, in name order). The runs are shown\n"
          "side by side, every chart of a kind on the same axes.\n"
          "\noptions:\n",
          f);
    cli_print_options(report_opts, NREPORT_OPTS, f);
}

/* The run directories under `dir`: itself when it holds summary.json, else its subfolders'. */
static int find_runs(const char *dir, file_list *out, int depth)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/summary.json", dir);
    struct stat st;
    if (stat(p, &st) == 0) {
        files_add(out, dir);
        return 0;
    }
    if (depth > 8)
        return 0;
    file_list here = {0};
    if (list_dir(dir, &here) != 0)
        return -1;
    for (size_t i = 0; i < here.n; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, here.v[i]);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            find_runs(p, out, depth + 1);
    }
    files_free(&here);
    return 0;
}

static int cmd_report(int argc, char **argv, const char *prog_name)
{
    cli_args a;
    char err[1024];
    if (cli_parse(report_opts, NREPORT_OPTS, argc, argv, &a, err, sizeof err)) {
        die_usage("report", err);
        return sim_exit_code(SIM_EUSAGE);
    }
    if (a.value[cli_index(report_opts, NREPORT_OPTS, "--help")]) {
        report_usage(stdout);
        return 0;
    }
    const char *out = a.value[cli_index(report_opts, NREPORT_OPTS, "--out")];
    if (!out || !a.npositional) {
        die_usage("report", !out ? "where to? (-o FILE.html)" : "which runs? (RUN_DIR...)");
        return sim_exit_code(SIM_EUSAGE);
    }
    file_list dirs = {0};
    for (size_t i = 0; i < a.npositional; i++) {
        size_t before = dirs.n;
        if (find_runs(a.positional[i], &dirs, 0) != 0 || dirs.n == before) {
            fprintf(stderr, "edgeloss report: %s: no run directory (summary.json) there\n",
                    a.positional[i]);
            files_free(&dirs);
            return sim_exit_code(SIM_EINPUT);
        }
    }
    rpt_options ro = {.prog = prog_name};
    sim_err rc = rpt_write((const char *const *)dirs.v, dirs.n, out, &ro, err, sizeof err);
    files_free(&dirs);
    if (rc) {
        fprintf(stderr, "edgeloss report: %s\n", err);
        return sim_exit_code(rc);
    }
    printf("report: %s\n", out);
    return 0;
}

/* ---------------------------------------------------------------- the command */

/* ---------------------------------------------------------------- explore */

static const cli_opt explore_opts[] = {
    {"--variant", 0, "NAME", "the variant to explore (default: the file's first)"},
    {"--strategy", 0, "S",
     "auto (default: exhaustive, then pct past the bound), exhaustive,\npct or random"},
    {"--max-schedules", 0, "N", "exhaustive: explore at most N schedules (default 10000)"},
    {"--runs", 0, "N", "pct and random: N runs (default 1000)"},
    {"--depth", 0, "D", "pct: the bug depth to aim at, 1..16 (default 2)"},
    {"--seed", 0, "N",
     "explore the scenario with seed N (default: its seed, or the first of\nits seeds)"},
    {"--explore-seed", 0, "N", "the explorer's own draws (pct, random; default 1)"},
    {"--latencies", 0, NULL,
     "also choose every await's latency: the seed's draw, or the low or\n"
     "high edge of its distribution"},
    {"--no-shrink", 0, NULL, "report the first bad schedule as found"},
    {"--out", 'o', "DIR",
     "the confirming run's directory (default runs/explore/<scenario>/<variant>)"},
    {"--help", 'h', NULL, "show this help"},
};
#define NEXPLORE_OPTS (sizeof explore_opts / sizeof explore_opts[0])

static void explore_usage(FILE *f)
{
    fputs("usage: edgeloss explore SCENARIO [options]\n"
          "Run SCENARIO under the await orderings its requests can take (which ready task runs\n"
          "next whenever more than one is ready), find one that loses or mixes telemetry or\n"
          "fails a check, shrink it, confirm it with a full run, and print the command that\n"
          "replays it; or say what a clean search proves.\n"
          "\noptions:\n",
          f);
    cli_print_options(explore_opts, NEXPLORE_OPTS, f);
    fputs("\nexit: 0 no bad schedule found, 1 one found, 2 bad scenario or usage, 3 the harness "
          "failed\n",
          f);
}

static const char *const xpl_names[] = {"auto", "exhaustive", "pct", "random", NULL};

static int cmd_explore(int argc, char **argv, const char *prog_name)
{
    cli_args a;
    char err[1024];
    if (cli_parse(explore_opts, NEXPLORE_OPTS, argc, argv, &a, err, sizeof err)) {
        die_usage("explore", err);
        return sim_exit_code(SIM_EUSAGE);
    }
#define OPT(name) cli_get(explore_opts, NEXPLORE_OPTS, &a, name)
    if (OPT("--help")) {
        explore_usage(stdout);
        return 0;
    }
    if (a.npositional != 1) {
        die_usage("explore", a.npositional ? "one scenario at a time" : "which scenario? (a file)");
        return sim_exit_code(SIM_EUSAGE);
    }
    xpl_options xo = {.seed = 1};
    const char *st = OPT("--strategy");
    if (st) {
        int k = 0;
        while (xpl_names[k] && strcmp(xpl_names[k], st) != 0)
            k++;
        if (!xpl_names[k]) {
            snprintf(err, sizeof err, "--strategy %.40s: expected auto, exhaustive, pct or random",
                     st);
            die_usage("explore", err);
            return sim_exit_code(SIM_EUSAGE);
        }
        xo.strategy = (xpl_strategy)k;
    }
    static const char *const nums[] = {"--max-schedules", "--runs", "--depth", "--explore-seed",
                                       "--seed"};
    uint64_t *dst[] = {&xo.max_schedules, &xo.runs, NULL, &xo.seed, &xo.scenario_seed};
    for (int i = 0; i < 5; i++) {
        const char *v = OPT(nums[i]);
        uint64_t n = 0;
        if (!v)
            continue;
        xo.seed_set |= i == 4;
        if (cli_parse_u64(v, &n) || (i < 3 && n == 0) || (i == 2 && n > 16)) {
            snprintf(err, sizeof err, "%s %.40s: expected a whole number%s", nums[i], v,
                     i == 2  ? " from 1 to 16"
                     : i < 2 ? " from 1"
                             : "");
            die_usage("explore", err);
            return sim_exit_code(SIM_EUSAGE);
        }
        if (dst[i])
            *dst[i] = n;
        else
            xo.depth = (uint32_t)n;
    }
    xo.no_shrink = OPT("--no-shrink") != NULL;
    xo.latencies = OPT("--latencies") != NULL;
    const char *path = a.positional[0], *variant = OPT("--variant"), *out_dir = OPT("--out");
#undef OPT
    scenario *first;
    sim_err lrc = scn_load(path, &first, err, sizeof err);
    if (lrc) {
        fprintf(stderr, "edgeloss: %s\n", err);
        return sim_exit_code(lrc);
    }
    scenario *s = first;
    while (variant && s && strcmp(s->variant, variant) != 0)
        s = s->next;
    if (!s) {
        fprintf(stderr, "edgeloss: %s has no variant \"%s\"\n", path, variant);
        scn_free(first);
        return sim_exit_code(SIM_EUSAGE);
    }
    char dir[4300];
    if (out_dir) {
        snprintf(dir, sizeof dir, "%s", out_dir);
    } else {
        char root[4096];
        default_root("runs/explore", path, root, sizeof root);
        snprintf(dir, sizeof dir, "%s/%s", root, s->slug);
    }
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "edgeloss: %s: %s\n", dir, strerror(errno));
        scn_free(first);
        return sim_exit_code(SIM_EIO);
    }
    xo.confirm_dir = dir;
    xpl_result r;
    sim_err rc = xpl_explore(s, &xo, &r, err, sizeof err);
    if (rc) {
        fprintf(stderr, "edgeloss: %s\n", err);
        xpl_result_free(&r);
        scn_free(first);
        return sim_exit_code(rc);
    }
    printf("explore %s, variant %s, seed %" PRIu64 ": %" PRIu64 " requests, %" PRIu64
           " scheduling choices in the default order\n",
           path, s->variant, r.seed, r.requests, r.points);
    printf("strategy %s: %" PRIu64 " schedules in %.3f s (%.0f per second), verdicts in memory\n",
           xpl_names[r.strategy], r.schedules, r.wall_s,
           r.wall_s > 0 ? (double)r.schedules / r.wall_s : 0.0);
    int status = 0;
    /* The replay command, every word quoted for a shell. */
    char qpath[8200] = "", qvar[1200] = "", qprog[8200] = ""; /* each " word", quoted */
    res_shell_arg(qprog, sizeof qprog, prog_name);
    res_shell_arg(qpath, sizeof qpath, path);
    res_shell_arg(qvar, sizeof qvar, s->variant);
    const ledger_report *f = &r.full.report;
    if (r.found) {
        char *sched = xpl_format_alloc(&r.bad);
        if (r.full_only)
            printf("FOUND: the plain run fails a check only a full run decides: %s\n", r.why);
        else if (r.plain)
            printf("FOUND: the plain run (no reordering) is bad already: %s\n", r.why);
        else
            printf("FOUND a bad schedule: %s\n"
                   "  schedule %s (%zu non-default choice%s%s; shrunk in %" PRIu64 " more runs)\n",
                   r.why, sched, r.bad.n, r.bad.n == 1 ? "" : "s",
                   r.bad.requests ? ", the first requests only" : "", r.shrink_runs);
        printf("  %s by a full run with real HTTP and SQLite: %" PRIu64 " items, %" PRIu64
               " lost, %" PRIu64 " misattributed (%s)\n",
               r.confirmed ? "confirmed" : "NOT confirmed", f->items, f->fate[FATE_LOST],
               f->fate[FATE_MISATTRIBUTED], dir);
        for (int i = 0; i < f->nstories; i++)
            printf("  story: %s\n", f->stories[i].text);
        printf("  replay:%s run%s --variant%s --seed %" PRIu64 "%s%s\n", qprog, qpath, qvar, r.seed,
               r.plain ? "" : " --schedule ", r.plain ? "" : sched);
        free(sched);
        status = r.confirmed ? 1 : sim_exit_code(SIM_ELEDGER);
        if (!r.confirmed)
            fprintf(stderr, "edgeloss: the memory verdict and the full run disagree: a bug in "
                            "edgeloss (the full run's directory is kept)\n");
    } else {
        if (r.complete)
            printf("clean: all %" PRIu64 " schedules explored (exhaustive): none loses, mixes or "
                   "fails a check\n",
                   r.schedules);
        else if (r.strategy == XPL_EXHAUSTIVE)
            printf("incomplete: the space has more than %" PRIu64 " schedules and none of those "
                   "run was bad; this proves nothing about the rest (--strategy pct, or raise "
                   "--max-schedules)\n",
                   r.schedules);
        else if (r.strategy == XPL_PCT && !isnan(r.miss_bound))
            printf("clean: no bug of depth <= %u found in %" PRIu64
                   " runs (pct); a bug of depth %u would have been missed with probability <= "
                   "%.3g (n = %" PRIu64 " requests + 1, k = %" PRIu64 " choices)\n",
                   xo.depth ? xo.depth : 2, r.pct_runs, xo.depth ? xo.depth : 2, r.miss_bound,
                   r.requests, r.points);
        else
            printf("clean: no bad schedule in %" PRIu64 " %s runs (a baseline: no bound on what "
                   "was missed)\n",
                   r.pct_runs, xpl_names[r.strategy]);
        printf("  the plain run, in full with real HTTP and SQLite, agrees: %" PRIu64
               " items, every check that holds true passes (%s)\n",
               f->items, dir);
    }
    if (r.has_full) {
        char sp[4400];
        snprintf(sp, sizeof sp, "%s/summary.json", dir);
        FILE *sf = fopen(sp, "w");
        if (!sf || sum_write_json(s, &r.full, sf) != 0)
            fprintf(stderr, "edgeloss: %s: cannot write the summary\n", sp);
        if (sf)
            fclose(sf);
    }
    xpl_result_free(&r);
    scn_free(first);
    return status;
}

static void usage(FILE *f)
{
    fputs("usage: edgeloss COMMAND [options]\n"
          "Find where edge telemetry gets lost: simulate the runtime, run the exporter, send\n"
          "every export to a mock ingest and account for every item.\n"
          "\ncommands:\n"
          "  run SCENARIO     simulate one scenario file and tell every item's fate\n"
          "  check [PATH...]  the CI gate: run every scenario under the paths, every check\n"
          "  sweep SCENARIO   run many seeds; the failing ones and each metric's spread\n"
          "  merge FILE...    combine the result files of a sweep's shards\n"
          "  shrink SCENARIO  cut a failing run down to a smaller scenario that still fails\n"
          "  report DIR...    write the HTML loss report of run directories\n"
          "  explore SCENARIO search the await orderings for one that loses or mixes\n"
          "  keys             print the reference of every scenario key (Markdown)\n"
          "  help [COMMAND]   this help, or a command's\n"
          "\n  -h, --help       show this help\n"
          "      --version    print the version\n"
          "\n'edgeloss COMMAND --help' tells a command's options.\n"
          "exit: 0 every check holds, 1 a check failed or a verdict is unverified,\n"
          "      2 bad scenario or usage, 3 the harness failed, 130 interrupted\n",
          f);
}

static int cmd_keys(int argc, char **argv)
{
    static const cli_opt opts[] = {{"--help", 'h', NULL, "show this help"}};
    cli_args a;
    char err[256];
    if (cli_parse(opts, 1, argc, argv, &a, err, sizeof err) || a.npositional) {
        die_usage("keys", a.npositional ? "takes no arguments" : err);
        return sim_exit_code(SIM_EUSAGE);
    }
    if (a.value[0]) {
        fputs("usage: edgeloss keys\nPrint the reference of every scenario key as Markdown "
              "(scenarios/README.md).\n",
              stdout);
        return 0;
    }
    sk_markdown(scn_schema(), stdout);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const commands[] = {"run",    "check",   "sweep", "merge", "shrink",
                                           "report", "explore", "keys",  "help",  NULL};
    if (argc < 2) {
        usage(stderr);
        return sim_exit_code(SIM_EUSAGE);
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("edgeloss %s\n", EDGELOSS_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        const char *on = argc > 2 ? argv[2] : NULL;
        if (on && strcmp(on, "run") == 0)
            run_usage(stdout);
        else if (on && strcmp(on, "check") == 0)
            check_usage(stdout);
        else if (on && strcmp(on, "report") == 0)
            report_usage(stdout);
        else if (on && strcmp(on, "explore") == 0)
            explore_usage(stdout);
        else if (on && strcmp(on, "sweep") == 0)
            sweep_usage(stdout);
        else if (on && strcmp(on, "merge") == 0)
            merge_usage(stdout);
        else if (on && strcmp(on, "shrink") == 0)
            shr_usage(stdout);
        else if (on && strcmp(on, "keys") == 0)
            return cmd_keys(1, (char *[]){"--help", NULL});
        else if (!on)
            usage(stdout);
        else {
            die_usage(NULL, "help: no such command");
            return sim_exit_code(SIM_EUSAGE);
        }
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2, argv[0]);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 2, argv + 2, argv[0]);
    if (strcmp(cmd, "keys") == 0)
        return cmd_keys(argc - 2, argv + 2);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc - 2, argv + 2, argv[0]);
    if (strcmp(cmd, "explore") == 0)
        return cmd_explore(argc - 2, argv + 2, argv[0]);
    if (strcmp(cmd, "sweep") == 0) {
        /* Once here, not in each child: libcurl's global set-up (OpenSSL's among it) is
         * inherited by every fork instead of redone per run. */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return cmd_sweep(argc - 2, argv + 2, argv[0]);
    }
    if (strcmp(cmd, "merge") == 0)
        return cmd_merge(argc - 2, argv + 2, argv[0]);
    if (strcmp(cmd, "shrink") == 0) {
        catch_signals(); /* a run stops at its next batch; a second signal ends it now */
        return shr_cli(argc - 2, argv + 2, argv[0], &stop_requested);
    }
    char msg[256];
    const char *near = cli_nearest(cmd, commands);
    if (cmd[0] == '-')
        snprintf(
            msg, sizeof msg,
            "unknown option %.100s (commands come first: run, check, sweep, merge, shrink, report, "
            "explore, keys)",
            cmd);
    else if (near)
        snprintf(msg, sizeof msg, "unknown command %.100s (did you mean %s?)", cmd, near);
    else
        snprintf(msg, sizeof msg,
                 "unknown command %.100s (commands: run, check, sweep, merge, shrink, report, "
                 "explore, keys)",
                 cmd);
    die_usage(NULL, msg);
    return sim_exit_code(SIM_EUSAGE);
}
