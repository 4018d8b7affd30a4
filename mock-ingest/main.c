/*
 * mock-ingest: standalone OTLP/HTTP JSON ingest recording into SQLite.
 *   mock-ingest [--listen 127.0.0.1:PORT] --db FILE [--config FILE.json] [--trust-sim-headers]
 * Valued options take `--opt VALUE` or `--opt=VALUE`; -h/--help and --version print and
 * exit 0 wherever they appear. The first line on stdout is exactly the base URL. Runs
 * until SIGINT/SIGTERM, then commits what is pending and exits 0.
 */
#include "ingest.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#ifndef EDGELOSS_VERSION
#define EDGELOSS_VERSION "unknown"
#endif

static void usage(FILE *f)
{
    fputs("usage: mock-ingest [--listen HOST:PORT] --db FILE [--config FILE.json]"
          " [--trust-sim-headers]\n"
          "  --listen HOST:PORT   numeric IPv4 address and port (port 0 picks a free one);\n"
          "                       default 127.0.0.1:4318, the OTLP/HTTP port SDKs expect\n"
          "  --db FILE            SQLite database to record into (created if missing)\n"
          "  --config FILE.json   API keys, caps and limits (see mock-ingest/README.md)\n"
          "  --trust-sim-headers  honour the simulator's X-Edgeloss-* request headers\n"
          "                       (virtual time for caps, run id, attempt); only when every\n"
          "                       client is the simulator (edgeloss run --ingest URL).\n"
          "                       Without it they are ignored: wall clock, no run id\n"
          "  -h, --help           print this help and exit\n"
          "  --version            print the version and exit\n"
          "A value is given as --opt VALUE or --opt=VALUE.\n"
          "The first line printed is the base URL, e.g. http://127.0.0.1:4318\n",
          f);
}

static int parse_listen(const char *arg, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg || (size_t)(colon - arg) >= hostlen)
        return -1;
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || colon[1] == '\0' || p < 0 || p > 65535)
        return -1;
    *port = (uint16_t)p;
    return 0;
}

enum { OPT_LISTEN, OPT_DB, OPT_CONFIG, OPT_TRUST, OPT_HELP, OPT_VERSION, OPT_N };

static const struct {
    const char *name;
    bool valued;
} options[OPT_N] = {
    [OPT_LISTEN] = {"--listen", true}, [OPT_DB] = {"--db", true},
    [OPT_CONFIG] = {"--config", true}, [OPT_TRUST] = {"--trust-sim-headers", false},
    [OPT_HELP] = {"--help", false},    [OPT_VERSION] = {"--version", false},
};

/* Optimal string alignment distance: Levenshtein plus adjacent transpositions. */
static size_t osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
    enum { MAX = 64 };
    if (la >= MAX || lb >= MAX)
        return SIZE_MAX;
    size_t d[MAX][MAX];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/*
 * The known option closest to `name` (its first `len` bytes, leading dashes ignored), or
 * NULL when none is close: within 1 edit of a short option, 2 of one of 6+ letters, or
 * `name` is the start of an option (at least 3 letters of it).
 */
static const char *suggest(const char *name, size_t len)
{
    while (len && *name == '-') {
        name++;
        len--;
    }
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (int k = 0; k < OPT_N; k++) {
        const char *cand = options[k].name + 2;
        size_t cl = strlen(cand);
        size_t d = osa_distance(name, len, cand, cl);
        if (d > (cl < 6 ? 1u : 2u))
            d = (len >= 3 && len < cl && strncmp(name, cand, len) == 0) ? cl - len : SIZE_MAX;
        if (d < best_d) {
            best_d = d;
            best = options[k].name;
        }
    }
    return best;
}

/*
 * Each connection is a file descriptor, and a soft limit of 1024 would cap the connections
 * served (a few dozen SDK processes keep several each): raise it to the hard limit, from which
 * the server sizes its connection limit.
 */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
        return;
    rlim_t want = rl.rlim_max;
    if (want == RLIM_INFINITY || want > ((rlim_t)1 << 20))
        want = (rlim_t)1 << 20;
    if (want > rl.rlim_cur) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl); /* best effort: the old limit still works */
    }
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:4318", *db = NULL, *config_path = NULL;
    bool trust = false;
    /*
     * The first usage error is kept and reported after the scan, so that -h, --help and
     * --version win wherever they appear (e.g. after an unknown option).
     */
    char bad[512] = "";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("mock-ingest %s\n", EDGELOSS_VERSION);
            return 0;
        }
        if (strcmp(a, "--") == 0) { /* end of options; there are no operands */
            if (!bad[0] && i + 1 < argc)
                snprintf(bad, sizeof bad, "unexpected argument %s", argv[i + 1]);
            break;
        }
        if (bad[0])
            continue;
        if (a[0] != '-' || a[1] == '\0') {
            snprintf(bad, sizeof bad, "unexpected argument %s", a);
            continue;
        }
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        int k = 0;
        while (k < OPT_N &&
               !(strlen(options[k].name) == nlen && strncmp(a, options[k].name, nlen) == 0))
            k++;
        if (k == OPT_N) {
            const char *s = suggest(a, nlen);
            if (s)
                snprintf(bad, sizeof bad, "unknown option %.*s (did you mean %s?)", (int)nlen, a,
                         s);
            else
                snprintf(bad, sizeof bad, "unknown option %.*s", (int)nlen, a);
            continue;
        }
        const char *name = options[k].name;
        if (!options[k].valued) {
            if (eq)
                snprintf(bad, sizeof bad, "%s takes no value", name);
            else if (k == OPT_TRUST)
                trust = true;
            continue;
        }
        const char *val;
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            val = argv[++i];
        else
            val = NULL;
        if (!val || !*val) {
            snprintf(bad, sizeof bad, "%s needs a value", name);
            continue;
        }
        if (k == OPT_LISTEN)
            listen = val;
        else if (k == OPT_DB)
            db = val;
        else
            config_path = val;
    }
    if (bad[0]) {
        fprintf(stderr, "mock-ingest: %s\n", bad);
        usage(stderr);
        return 2;
    }
    if (!db) {
        fprintf(stderr, "mock-ingest: --db FILE is required\n");
        usage(stderr);
        return 2;
    }
    char host[64];
    uint16_t port;
    if (parse_listen(listen, host, sizeof host, &port)) {
        fprintf(stderr, "mock-ingest: --listen %s: expected HOST:PORT, e.g. 127.0.0.1:4318\n",
                listen);
        return 2;
    }
    raise_fd_limit();
    char err[512];
    ing_config *cfg = NULL;
    if (config_path && ing_config_load(config_path, &cfg, err, sizeof err)) {
        fprintf(stderr, "mock-ingest: %s\n", err);
        return 2;
    }
    /* Block the stop signals before any thread starts, so only sigwait sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    ing_options opt = {.listen_host = host,
                       .port = port,
                       .db_path = db,
                       .config = cfg,
                       .mode = ING_RUN_THREAD,
                       .trust_sim_headers = trust};
    ing_server *srv;
    int rc = ing_server_open(&opt, &srv, err, sizeof err);
    ing_config_free(cfg);
    if (rc) {
        fprintf(stderr, "mock-ingest: %s\n", err);
        return 1;
    }
    printf("%s\n", ing_server_url(srv));
    fflush(stdout);
    fprintf(stderr,
            "mock-ingest: recording into %s; POST OTLP/HTTP JSON to %s/v1/traces, "
            "/v1/metrics, /v1/logs; objects: PUT/GET %s/r2/KEY; GET %s/stats; X-Edgeloss-*"
            " headers %s; up to %u connections\n",
            db, ing_server_url(srv), ing_server_url(srv), ing_server_url(srv),
            trust ? "honoured (--trust-sim-headers)" : "ignored", ing_server_connection_limit(srv));
    int sig;
    sigwait(&set, &sig);
    ing_server_close(srv);
    return 0;
}
