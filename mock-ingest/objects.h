/*
 * The object store (R2) and the origin's notifications, as far as one request's bytes go:
 * which keys the store accepts, and what a notification's body must say. Pure functions (no
 * I/O, nothing kept): the rows are the store's (store.h), the routing is server.c's, so the
 * request path asks one question each and the rules live in one place.
 *
 * Keys (PUT and GET /r2/KEY): 1 to OBJ_KEY_MAX bytes of [A-Za-z0-9._~/-] (R2 itself takes
 * any UTF-8; this is the safe subset the simulator uses), no ".." anywhere and no leading
 * '/', so that a key never reads as a path that climbs or is absolute when an object is
 * looked at as a file. libmicrohttpd has percent-decoded the path already: "%2e%2e" is ".."
 * here and refused like it.
 *
 * Notifications: a JSON object with a member "object", a string of 1 to OBJ_KEY_MAX bytes
 * (other members are ignored, as an origin reading one field of a JSON body would); the key
 * need not name a stored object (notifications.object_known records whether it does).
 */
#ifndef ING_OBJECTS_H
#define ING_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>

#define OBJ_KEY_MAX 1024
#define OBJ_PREFIX  "/r2/" /* the store's paths: OBJ_PREFIX KEY */

/* Whether `key` is one the store accepts; else false, with what is wrong in msg[msglen]. */
bool obj_key_ok(const char *key, char *msg, size_t msglen);

/*
 * Decodes a notification's body ({"object": KEY}, len bytes, need not be NUL-terminated):
 * the key into key[keylen] (keylen > OBJ_KEY_MAX). Returns 0, or 400 with a message naming
 * the JSON path that was expected ($ or $.object). (cJSON does not tell running out of
 * memory from a malformed text: both are a 400.)
 */
int obj_notify_decode(const char *body, size_t len, char *key, size_t keylen, char *msg,
                      size_t msglen);

#endif
