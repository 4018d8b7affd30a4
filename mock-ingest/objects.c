#include "objects.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define KEY_RULE "1 to 1024 bytes of [A-Za-z0-9._~/-], no \"..\", no leading '/'"

static bool key_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '~' || ch == '/' || ch == '-';
}

bool obj_key_ok(const char *key, char *msg, size_t msglen)
{
    size_t n = strlen(key);
    if (n == 0) {
        snprintf(msg, msglen, "object key missing: expected " OBJ_PREFIX "KEY, KEY " KEY_RULE);
        return false;
    }
    if (n > OBJ_KEY_MAX) {
        snprintf(msg, msglen, "object key of %zu bytes: expected " KEY_RULE, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (key_char(ch))
            continue;
        /* The byte itself when it can be shown safely, else its value (it is stored). */
        if (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
            snprintf(msg, msglen, "object key: byte %zu ('%c') not allowed: expected " KEY_RULE, i,
                     ch);
        else
            snprintf(msg, msglen, "object key: byte %zu (0x%02x) not allowed: expected " KEY_RULE,
                     i, ch);
        return false;
    }
    if (key[0] == '/') {
        snprintf(msg, msglen, "object key starts with '/': expected " KEY_RULE);
        return false;
    }
    if (strstr(key, "..")) {
        snprintf(msg, msglen, "object key contains \"..\": expected " KEY_RULE);
        return false;
    }
    return true;
}

#define NOTIFY_SHAPE "{\"object\": \"KEY\"}"

/* Where cJSON stopped, as an offset into the body (0 when it does not say). */
static size_t offset_of(const char *end, const char *body)
{
    return end && end >= body ? (size_t)(end - body) : 0;
}

/* The member "object" of a parsed body: the key, or 400 with its message. */
static int take_key(const cJSON *root, char *key, size_t keylen, char *msg, size_t msglen)
{
    if (!cJSON_IsObject(root)) {
        snprintf(msg, msglen, "$: expected an object " NOTIFY_SHAPE);
        return 400;
    }
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "object");
    size_t n = cJSON_IsString(o) ? strlen(o->valuestring) : 0;
    if (!cJSON_IsString(o) || n == 0 || n > OBJ_KEY_MAX || n >= keylen) {
        const char *got = !o                   ? "missing"
                          : !cJSON_IsString(o) ? "not a string"
                          : n == 0             ? "empty"
                                               : "too long";
        snprintf(msg, msglen, "$.object: expected a string of 1..%d bytes (%s)", OBJ_KEY_MAX, got);
        return 400;
    }
    memcpy(key, o->valuestring, n + 1);
    return 0;
}

int obj_notify_decode(const char *body, size_t len, char *key, size_t keylen, char *msg,
                      size_t msglen)
{
    key[0] = '\0';
    /* cJSON takes a NUL for the end of the text, so "{...}\0junk" would pass with the junk
     * unread: JSON has no NUL outside strings (otlp.c refuses it the same way). */
    const char *nul = memchr(body, '\0', len);
    if (len == 0 || nul) {
        snprintf(msg, msglen, "$: not valid JSON (%s at byte %zu): expected " NOTIFY_SHAPE,
                 len ? "NUL byte" : "empty body", len ? (size_t)(nul - body) : (size_t)0);
        return 400;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        snprintf(msg, msglen, "$: not valid JSON (error near byte %zu): expected " NOTIFY_SHAPE,
                 offset_of(end, body));
        return 400;
    }
    size_t at = offset_of(end, body); /* bounded by len: the body need not end with a NUL */
    while (at < len &&
           (body[at] == ' ' || body[at] == '\t' || body[at] == '\r' || body[at] == '\n'))
        at++;
    int rc;
    if (at < len) {
        snprintf(msg, msglen,
                 "$: not valid JSON (trailing data at byte %zu): expected " NOTIFY_SHAPE, at);
        rc = 400;
    } else {
        rc = take_key(root, key, keylen, msg, msglen);
    }
    cJSON_Delete(root);
    return rc;
}
