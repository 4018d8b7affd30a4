#include "gunzip.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* zlib counts in uInt: input longer than that is handed over in slices. */
typedef struct source {
    const unsigned char *next; /* not yet handed to zlib */
    size_t left;
} source;

static void refill(z_stream *zs, source *src)
{
    if (zs->avail_in != 0 || src->left == 0)
        return;
    size_t n = src->left < UINT_MAX ? src->left : UINT_MAX;
    zs->next_in = (Bytef *)src->next;
    zs->avail_in = (uInt)n;
    src->next += n;
    src->left -= n;
}

static size_t input_left(const z_stream *zs, const source *src)
{
    return zs->avail_in + src->left;
}

/* Output room for one inflate call: one byte past the limit tells that it was exceeded. */
static size_t out_room(const ing_buf *out, size_t limit)
{
    size_t room = out->cap - out->len - 1;
    size_t allowed = limit - out->len; /* out->len <= limit here */
    if (allowed < SIZE_MAX && room > allowed + 1)
        room = allowed + 1;
    return room < UINT_MAX ? room : UINT_MAX;
}

/* After a member's end: true when the rest starts with the next member's magic. */
static bool next_member(z_stream *zs, source *src)
{
    if (zs->avail_in < 2 && src->left != 0) {
        /* The magic straddles two slices: too rare (4 GiB bodies) to be worth more
         * than moving the slice back. */
        src->next -= zs->avail_in;
        src->left += zs->avail_in;
        zs->avail_in = 0;
        refill(zs, src);
    }
    return zs->avail_in >= 2 && zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b;
}

/* One step of inflating; 0 to go on, 1 when the last member ended, else an HTTP status. */
static int step(z_stream *zs, source *src, ing_buf *out, size_t limit, const char **msg)
{
    if (!ing_buf_reserve(out, 65536)) {
        *msg = "out of memory";
        return 500;
    }
    refill(zs, src);
    size_t room = out_room(out, limit);
    zs->next_out = (Bytef *)out->data + out->len;
    zs->avail_out = (uInt)room;
    int rc = inflate(zs, Z_NO_FLUSH);
    out->len += room - zs->avail_out;
    if (out->len > limit) {
        *msg = "decompressed body exceeds the size limit";
        return 413;
    }
    if (rc == Z_STREAM_END) {
        if (input_left(zs, src) == 0)
            return 1;
        if (!next_member(zs, src)) {
            *msg = "body is not valid gzip (data after the end of the gzip stream)";
            return 400;
        }
        inflateReset(zs);
        return 0;
    }
    if (rc == Z_MEM_ERROR) {
        *msg = "out of memory";
        return 500;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
        *msg = "body is not valid gzip";
        return 400;
    }
    /* All input read, room left, and no end: the member was cut short. (Z_BUF_ERROR
     * with input and room left cannot happen: it means no progress was possible.) */
    if (zs->avail_out != 0 && (input_left(zs, src) == 0 || rc == Z_BUF_ERROR)) {
        *msg = "body is not valid gzip (truncated)";
        return 400;
    }
    return 0;
}

int ing_gunzip(const void *in, size_t len, size_t limit, ing_buf *out, const char **msg)
{
    ing_buf_reset(out);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        *msg = "cannot initialise gzip";
        return 500;
    }
    source src = {in, len};
    int st;
    while ((st = step(&zs, &src, out, limit, msg)) == 0)
        ;
    inflateEnd(&zs);
    if (out->data)
        out->data[out->len] = '\0';
    return st == 1 ? 0 : st;
}
