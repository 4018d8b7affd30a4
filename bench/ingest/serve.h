/*
 * The libmicrohttpd set-up every ingest baseline shares with mock-ingest: one
 * thread, epoll, "external" mode pumped by poll() + MHD_run(), so the
 * benchmark compares what happens per request and not threading models.
 */
#ifndef BENCH_SERVE_H
#define BENCH_SERVE_H

#include <microhttpd.h>

/* Body accumulation for access handlers. */
typedef struct bench_body {
    char *data;
    size_t len, cap;
} bench_body;

/* Appends; returns 0 on success. */
int bench_body_append(bench_body *b, const char *p, size_t n);

/*
 * Listens on 127.0.0.1:port (0 = any), prints the base URL as the first stdout
 * line, and serves with `handler` until SIGINT/SIGTERM. Returns an exit code.
 */
int bench_serve(unsigned short port, MHD_AccessHandlerCallback handler, void *cls,
                MHD_RequestCompletedCallback done);

#endif
