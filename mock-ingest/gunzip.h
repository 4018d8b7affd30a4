/*
 * gzip request bodies (Content-Encoding: gzip), inflated with a limit.
 *
 * A gzip file may hold several members one after the other (RFC 1952 2.2:
 * `cat a.gz b.gz`, pigz, some log shippers); its data is the concatenation of
 * theirs, and every member is inflated: decoding only the first would drop
 * the rest silently.
 */
#ifndef ING_GUNZIP_H
#define ING_GUNZIP_H

#include "buf.h"

#include <stddef.h>

/*
 * Inflates the `len` bytes at `in` into `out` (reset first; NUL-terminated
 * after, the terminator not counted in out->len). Returns 0, or an HTTP
 * status with *msg set to a static message:
 *  - 413: more than `limit` bytes decompressed ("decompressed body exceeds
 *    the size limit"); inflating stops one byte past the limit, so a bomb
 *    costs no more than that;
 *  - 400: not gzip, a corrupt or truncated member, or anything after a member
 *    other than the next member's magic 1f 8b ("data after the end of the
 *    gzip stream");
 *  - 500: zlib could not start or memory ran out.
 * Empty input is not gzip (400); an empty member is fine and adds nothing.
 */
int ing_gunzip(const void *in, size_t len, size_t limit, ing_buf *out, const char **msg);

#endif
