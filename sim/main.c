/*
 * edgeloss: the command.
 *   edgeloss run SCENARIO [--seed N] [--out DIR] [--events FILE]
 *   edgeloss keys            the scenario key reference (Markdown)
 * Exit codes: 0 every check holds, 1 a check failed, 2 bad scenario or usage (or a run
 * directory another run is writing), 3 the harness failed (a write error, the ingest, the
 * ledger, a work budget exceeded while running).
 * Wall time goes to stderr only; stdout is deterministic.
 */
#include "scenario.h"
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_CHECK_FAILED 1
#define EXIT_HARNESS      3

static void usage(FILE *f)
{
    fputs("usage: edgeloss run SCENARIO [--seed N] [--variant NAME] [--out DIR]\n"
          "                    [--events FILE] [--trace FILE] [--ingest URL [--ingest-db FILE]]\n"
          "       edgeloss keys\n"
          "  run    simulate SCENARIO (a JSON file), each of its variants in turn, and print\n"
          "         what happened to every telemetry item and whether each check holds;\n"
          "         the seed first\n"
          "         --seed N        run with seed N instead of the scenario's\n"
          "         --variant NAME  run only this variant\n"
          "         --out DIR       the run directory: DIR/<variant>/ gets ledger.db, ingest.db\n"
          "                         and summary.json (default runs/<scenario name>)\n"
          "         --events FILE   write every event, one per line (seed first)\n"
          "         --trace FILE    write every step each task runs (seed first)\n"
          "                         (with several variants: FILE.<variant>)\n"
          "         --ingest URL    send to this ingest instead of an embedded mock-ingest\n"
          "                         (started with --trust-sim-headers);\n"
          "         --ingest-db F   ... whose database is F (else the verdict is unverified)\n"
          "  keys   print the reference of every scenario key (scenarios/README.md)\n"
          "exit: 0 every check holds, 1 a check failed, 2 bad scenario or usage,\n"
          "      3 the harness failed (a write error, the ingest, a work budget exceeded)\n",
          f);
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* for the stderr timing line only */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    /* The file's "seed" is a JSON number, exact up to 2^53 - 1: the flag takes the same range. */
    if (errno || *end || v > 9007199254740991ULL)
        return -1;
    *out = v;
    return 0;
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

static FILE *open_per_variant(const char *path, const char *slug, bool several, char *p,
                              size_t plen)
{
    if (several)
        snprintf(p, plen, "%s.%s", path, slug);
    else
        snprintf(p, plen, "%s", path);
    return fopen(p, "w");
}

/* Closes a file written by the run; a write error anywhere in it (a full disk) is reported. */
static int close_written(FILE *f, const char *path)
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
        fprintf(stderr, "edgeloss: %s: write failed: %s\n", path, strerror(e));
    return bad ? -1 : 0;
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

typedef struct run_args {
    const char *path, *out_dir, *events_path, *trace_path, *variant;
    bool brief;
    sim_options opt;
} run_args;

static int parse_run_args(int argc, char **argv, run_args *ra)
{
    static const char *const valued[] = {"--seed",   "--out",     "--events",   "--trace",
                                         "--ingest", "--variant", "--ingest-db"};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool takes = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            takes |= strcmp(a, valued[k]) == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "edgeloss: %s needs a value\n", a);
            return SCN_BAD_INPUT;
        }
        if (takes && argv[i + 1][0] == '\0') {
            fprintf(stderr, "edgeloss: %s: expected a value, got an empty string\n", a);
            return SCN_BAD_INPUT;
        }
        if (strcmp(a, "--seed") == 0) {
            if (parse_u64(argv[++i], &ra->opt.seed)) {
                fprintf(stderr, "edgeloss: --seed %s: expected a whole number from 0 to 2^53 - 1\n",
                        argv[i]);
                return SCN_BAD_INPUT;
            }
            ra->opt.seed_set = true;
        } else if (strcmp(a, "--out") == 0) {
            ra->out_dir = argv[++i];
        } else if (strcmp(a, "--events") == 0) {
            ra->events_path = argv[++i];
        } else if (strcmp(a, "--trace") == 0) {
            ra->trace_path = argv[++i];
        } else if (strcmp(a, "--ingest") == 0) {
            ra->opt.ingest_url = argv[++i];
        } else if (strcmp(a, "--ingest-db") == 0) {
            ra->opt.ingest_db = argv[++i];
        } else if (strcmp(a, "--variant") == 0) {
            ra->variant = argv[++i];
        } else if (strcmp(a, "--brief") == 0) {
            ra->brief = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "edgeloss: unknown option %s\n", a);
            usage(stderr);
            return SCN_BAD_INPUT;
        } else if (!ra->path) {
            ra->path = a;
        } else {
            fprintf(stderr, "edgeloss: one scenario at a time (got %s and %s)\n", ra->path, a);
            return SCN_BAD_INPUT;
        }
    }
    if (!ra->path) {
        usage(stderr);
        return SCN_BAD_INPUT;
    }
    if (ra->opt.ingest_db && !ra->opt.ingest_url) {
        fprintf(stderr, "edgeloss: --ingest-db goes with --ingest URL\n");
        return SCN_BAD_INPUT;
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    run_args ra = {0};
    int rc = parse_run_args(argc, argv, &ra);
    if (rc)
        return rc;
    double t0 = wall_s();
    char err[1024];
    scenario *first;
    if (scn_load(ra.path, &first, err, sizeof err)) {
        fprintf(stderr, "edgeloss: %s\n", err);
        return SCN_BAD_INPUT;
    }
    size_t nvariants = 0;
    bool found = !ra.variant;
    for (scenario *s = first; s; s = s->next) {
        nvariants++;
        found |= ra.variant && strcmp(ra.variant, s->variant) == 0;
    }
    if (!found) {
        fprintf(stderr, "edgeloss: %s has no variant \"%s\" (it has:", ra.path, ra.variant);
        for (scenario *s = first; s; s = s->next)
            fprintf(stderr, " %s", s->variant);
        fprintf(stderr, ")\n");
        scn_free(first);
        return SCN_BAD_INPUT;
    }
    bool several = !ra.variant && nvariants > 1;
    /* The run directory: --out, else runs/<scenario file name without .json>. */
    char root[4096];
    if (ra.out_dir) {
        snprintf(root, sizeof root, "%s", ra.out_dir);
    } else {
        const char *base = strrchr(ra.path, '/');
        base = base ? base + 1 : ra.path;
        snprintf(root, sizeof root, "runs/%s", base);
        size_t n = strlen(root);
        if (n > 5 && strcmp(root + n - 5, ".json") == 0)
            root[n - 5] = '\0';
    }
    int status = 0;
    uint64_t events = 0;
    double virtual_s = 0, depth_sum = 0;
    size_t ran = 0, failed = 0;
    int lock = -1;
    bool any_dir = ra.out_dir != NULL;
    for (scenario *s = first; s; s = s->next)
        any_dir |= s->has_exporter && (!ra.variant || strcmp(ra.variant, s->variant) == 0);
    if (any_dir) {
        if (make_dirs(root) != 0) {
            fprintf(stderr, "edgeloss: %s: %s\n", root, strerror(errno));
            scn_free(first);
            return SCN_BAD_INPUT;
        }
        if ((lock = lock_run_dir(root)) < 0) {
            scn_free(first);
            return SCN_BAD_INPUT;
        }
    }
    for (scenario *s = first; s; s = s->next) {
        if (ra.variant && strcmp(ra.variant, s->variant) != 0)
            continue;
        sim_options opt = ra.opt;
        char dir[4200], events_path[4300], trace_path[4300];
        snprintf(dir, sizeof dir, "%s/%s", root, s->slug);
        bool write_dir = s->has_exporter || ra.out_dir;
        if (write_dir && make_dirs(dir) != 0) {
            fprintf(stderr, "edgeloss: %s: %s\n", dir, strerror(errno));
            status = SCN_BAD_INPUT;
            break;
        }
        opt.run_dir = dir;
        if (ra.events_path && !(opt.events = open_per_variant(ra.events_path, s->slug, several,
                                                              events_path, sizeof events_path))) {
            fprintf(stderr, "edgeloss: --events %s: %s\n", events_path, strerror(errno));
            status = SCN_BAD_INPUT;
            break;
        }
        if (ra.trace_path && !(opt.trace = open_per_variant(ra.trace_path, s->slug, several,
                                                            trace_path, sizeof trace_path))) {
            fprintf(stderr, "edgeloss: --trace %s: %s\n", trace_path, strerror(errno));
            close_written(opt.events, events_path);
            status = SCN_BAD_INPUT;
            break;
        }
        sim_result r;
        int src = sim_run(s, &opt, &r, err, sizeof err);
        int wrc = close_written(opt.events, events_path);
        wrc |= close_written(opt.trace, trace_path);
        if (src) {
            fprintf(stderr, "edgeloss: %s (variant %s): %s\n", ra.path, s->variant, err);
            sim_result_free(&r);
            status = EXIT_HARNESS;
            break;
        }
        if (wrc) {
            sim_result_free(&r);
            status = EXIT_HARNESS;
            break;
        }
        if (ra.brief) {
            if (ran++ == 0)
                printf("%s — %s (seed %" PRIu64 ")\n", ra.path, s->name, r.seed);
            sim_print_brief(s, &r, stdout);
        } else {
            if (ran++)
                fputc('\n', stdout);
            sim_print_summary(s, &r, stdout);
        }
        fflush(stdout);
        if (write_dir) {
            char p[4300];
            snprintf(p, sizeof p, "%s/summary.json", dir);
            FILE *f = fopen(p, "w");
            if (!f) {
                fprintf(stderr, "edgeloss: %s: %s\n", p, strerror(errno));
                sim_result_free(&r);
                status = EXIT_HARNESS;
                break;
            }
            sim_write_summary_json(s, &r, f);
            if (close_written(f, p)) {
                sim_result_free(&r);
                status = EXIT_HARNESS;
                break;
            }
        }
        if (!r.checks_pass) {
            failed++;
            status = EXIT_CHECK_FAILED;
        }
        events += r.events;
        depth_sum += r.mean_queue_depth * (double)r.events;
        virtual_s += (double)r.end_ns / 1e9;
        sim_result_free(&r);
    }
    if (several && status <= EXIT_CHECK_FAILED && !ra.brief)
        printf("\n%zu variants run, %zu with a failed check\n", ran, failed);
    /* What was printed must have arrived: `edgeloss run ... > /dev/full` is a failure. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "edgeloss: standard output: write failed: %s\n", strerror(errno));
        status = EXIT_HARNESS;
    }
    if (lock >= 0)
        close(lock);
    double wall = wall_s() - t0;
    /* bench/engine/engine.sh reads this line (events/s and the queue depth). */
    fprintf(stderr,
            "wall time %.6f s; %.0fx faster than real time; %.0f events/s; mean queue depth %.2f\n",
            wall, virtual_s / (wall > 0 ? wall : 1e-9), (double)events / (wall > 0 ? wall : 1e-9),
            events ? depth_sum / (double)events : 0.0);
    scn_free(first);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SCN_BAD_INPUT : 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "keys") == 0) {
        sk_markdown(scn_schema(), stdout);
        return 0;
    }
    fprintf(stderr, "edgeloss: unknown command %s\n", argv[1]);
    usage(stderr);
    return SCN_BAD_INPUT;
}
