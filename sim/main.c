/*
 * edgeloss: the command.
 *   edgeloss run SCENARIO [--seed N] [--out DIR] [--events FILE]
 *   edgeloss keys            the scenario key reference (Markdown)
 * Exit codes: 0 success, 1 a run failed, 2 bad scenario or usage.
 * Wall time goes to stderr only; stdout is deterministic.
 */
#include "scenario.h"
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage(FILE *f)
{
    fputs("usage: edgeloss run SCENARIO [--seed N] [--out DIR] [--events FILE] [--trace FILE]\n"
          "       edgeloss keys\n"
          "  run    simulate SCENARIO (a JSON file) and print what happened; the seed first\n"
          "         --seed N       run with seed N instead of the scenario's\n"
          "         --out DIR      write the run directory (summary.json) to DIR\n"
          "         --events FILE  write every event, one per line (seed first)\n"
          "         --trace FILE   write every step each task runs (seed first)\n"
          "  keys   print the reference of every scenario key (scenarios/README.md)\n"
          "exit: 0 ok, 1 a run failed, 2 bad scenario or usage\n",
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
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *out_dir = NULL, *events_path = NULL, *trace_path = NULL;
    sim_options opt = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--seed") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--events") == 0 ||
             strcmp(a, "--trace") == 0) &&
            i + 1 >= argc) {
            fprintf(stderr, "edgeloss: %s needs a value\n", a);
            return SCN_BAD_INPUT;
        }
        if (strcmp(a, "--seed") == 0) {
            if (parse_u64(argv[++i], &opt.seed)) {
                fprintf(stderr, "edgeloss: --seed %s: expected a whole number >= 0\n", argv[i]);
                return SCN_BAD_INPUT;
            }
            opt.seed_set = true;
        } else if (strcmp(a, "--out") == 0) {
            out_dir = argv[++i];
        } else if (strcmp(a, "--events") == 0) {
            events_path = argv[++i];
        } else if (strcmp(a, "--trace") == 0) {
            trace_path = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "edgeloss: unknown option %s\n", a);
            usage(stderr);
            return SCN_BAD_INPUT;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "edgeloss: one scenario at a time (got %s and %s)\n", path, a);
            return SCN_BAD_INPUT;
        }
    }
    if (!path) {
        usage(stderr);
        return SCN_BAD_INPUT;
    }
    double t0 = wall_s();
    char err[1024];
    scenario *s;
    if (scn_load(path, &s, err, sizeof err)) {
        fprintf(stderr, "edgeloss: %s\n", err);
        return SCN_BAD_INPUT;
    }
    if (out_dir && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "edgeloss: --out %s: %s\n", out_dir, strerror(errno));
        scn_free(s);
        return SCN_BAD_INPUT;
    }
    if (events_path && !(opt.events = fopen(events_path, "w"))) {
        fprintf(stderr, "edgeloss: --events %s: %s\n", events_path, strerror(errno));
        scn_free(s);
        return SCN_BAD_INPUT;
    }
    if (trace_path && !(opt.trace = fopen(trace_path, "w"))) {
        fprintf(stderr, "edgeloss: --trace %s: %s\n", trace_path, strerror(errno));
        if (opt.events)
            fclose(opt.events);
        scn_free(s);
        return SCN_BAD_INPUT;
    }
    sim_result r;
    int rc = sim_run(s, &opt, &r, err, sizeof err);
    if (opt.events)
        fclose(opt.events);
    if (opt.trace)
        fclose(opt.trace);
    if (rc) {
        fprintf(stderr, "edgeloss: %s\n", err);
        scn_free(s);
        return 1;
    }
    sim_print_summary(s, &r, stdout);
    if (out_dir) {
        char p[4096];
        snprintf(p, sizeof p, "%s/summary.json", out_dir);
        FILE *f = fopen(p, "w");
        if (!f) {
            fprintf(stderr, "edgeloss: %s: %s\n", p, strerror(errno));
            scn_free(s);
            return 1;
        }
        sim_write_summary_json(s, &r, f);
        fclose(f);
    }
    double wall = wall_s() - t0;
    fprintf(stderr,
            "wall time %.6f s; %.0fx faster than real time; %.0f events/s; mean queue depth %.2f\n",
            wall, (double)r.end_ns / 1e9 / (wall > 0 ? wall : 1e-9),
            (double)r.events / (wall > 0 ? wall : 1e-9), r.mean_queue_depth);
    scn_free(s);
    return 0;
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
