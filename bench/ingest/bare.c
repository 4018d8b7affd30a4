/* The ceiling: libmicrohttpd reading each body and answering 200, nothing else. */
#include "serve.h"

#include <stdlib.h>

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version;
    bench_body *b = *con_cls;
    if (!b) {
        *con_cls = calloc(1, sizeof *b);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        int rc = bench_body_append(b, upload, *upload_size);
        *upload_size = 0;
        return rc ? MHD_NO : MHD_YES;
    }
    static char ok[] = "{}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof ok - 1, ok, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result q = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return q;
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
                 enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    bench_body *b = *con_cls;
    if (b)
        free(b->data);
    free(b);
}

int main(int argc, char **argv)
{
    return bench_serve(argc > 1 ? (unsigned short)atoi(argv[1]) : 0, handler, NULL, done);
}
