/*
 * mock-ingest: standalone OTLP/HTTP JSON ingest recording into SQLite.
 *   mock-ingest --listen 127.0.0.1:PORT --db FILE [--config FILE.json] [--trust-sim-headers]
 * The first line on stdout is exactly the base URL. Runs until SIGINT/SIGTERM,
 * then commits what is pending and exits 0.
 */
#include "ingest.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: mock-ingest --listen HOST:PORT --db FILE [--config FILE.json]"
          " [--trust-sim-headers]\n"
          "  --listen HOST:PORT   numeric IPv4 address and port (port 0 picks a free one);\n"
          "                       default 127.0.0.1:0\n"
          "  --db FILE            SQLite database to record into (created if missing)\n"
          "  --config FILE.json   API keys, caps and limits (see mock-ingest/README.md)\n"
          "  --trust-sim-headers  honour the simulator's X-Edgeloss-* request headers\n"
          "                       (virtual time for caps, run id, attempt); only when every\n"
          "                       client is the simulator (edgeloss run --ingest URL).\n"
          "                       Without it they are ignored: wall clock, no run id\n"
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

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0", *db = NULL, *config_path = NULL;
    bool trust = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--trust-sim-headers") == 0) {
            trust = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mock-ingest: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        if (strcmp(a, "--listen") == 0)
            listen = argv[++i];
        else if (strcmp(a, "--db") == 0)
            db = argv[++i];
        else if (strcmp(a, "--config") == 0)
            config_path = argv[++i];
        else {
            fprintf(stderr, "mock-ingest: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!db) {
        fprintf(stderr, "mock-ingest: --db FILE is required\n");
        usage(stderr);
        return 2;
    }
    char host[64];
    uint16_t port;
    if (parse_listen(listen, host, sizeof host, &port)) {
        fprintf(stderr, "mock-ingest: --listen %s: expected HOST:PORT, e.g. 127.0.0.1:0\n", listen);
        return 2;
    }
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
            "/v1/metrics, /v1/logs; GET %s/stats; X-Edgeloss-* headers %s\n",
            db, ing_server_url(srv), ing_server_url(srv),
            trust ? "honoured (--trust-sim-headers)" : "ignored");
    int sig;
    sigwait(&set, &sig);
    ing_server_close(srv);
    return 0;
}
