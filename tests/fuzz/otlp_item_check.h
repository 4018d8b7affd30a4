/*
 * What every decoded OTLP item must satisfy, whichever decoder made it: the fuzz harnesses'
 * shared contract. Each harness defines broken(), which reports and aborts.
 */
#ifndef FUZZ_OTLP_ITEM_CHECK_H
#define FUZZ_OTLP_ITEM_CHECK_H

#include "otlp.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

static void broken(const char *what);

static void check_id(const char *id, size_t ndig)
{
    size_t n = strlen(id);
    if (n != 0 && n != ndig)
        broken("an accepted item's id has the wrong length");
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            broken("an accepted item's id is not lower-case hex");
}

/* Reads every string the item points to (ASan checks they are live). */
static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

/* A JSON text column: NULL, or an object cJSON reads back. */
static void check_object(const char *text, const char *what)
{
    if (!text)
        return;
    cJSON *a = cJSON_Parse(text);
    if (!cJSON_IsObject(a))
        broken(what);
    cJSON_Delete(a);
}

static void check_item(const otlp_item *it, otlp_kind kind)
{
    if (it->kind != kind)
        broken("an item of another signal");
    touch(it->reject);
    touch(it->item_id);
    touch(it->request_id);
    touch(it->sent_for);
    touch(it->service);
    touch(it->scope);
    touch(it->name);
    touch(it->metric_type);
    touch(it->body);
    touch(it->status_message);
    touch(it->trace_state);
    touch(it->scope_version);
    touch(it->severity_text);
    touch(it->unit);
    if ((it->body_type == NULL) != (it->body == NULL))
        broken("a body without its type, or a type without a body");
    if (it->kind != OTLP_SPAN && it->span_kind != 0)
        broken("a span kind on another item");
    if (it->monotonic < -1 || it->monotonic > 1 || it->temporality < -1)
        broken("monotonic or temporality out of range");
    if (it->reject)
        return;
    check_id(it->trace_id, 32);
    check_id(it->span_id, 16);
    check_id(it->parent_span_id, 16);
    check_object(it->attrs, "attrs is not a JSON object text");
    check_object(it->resource, "resource is not a JSON object text");
    check_object(it->detail, "detail is not a JSON object text");
}

/*
 * A decode's outcome: OTLP_OK with items within the limits, each well-formed, or a failure that
 * holds no items and says why. False when rc is no known code (the caller names its decoder).
 */
static bool check_decode(int rc, const otlp_batch *b, const otlp_limits *lim, otlp_kind kind,
                         const char *err)
{
    if (rc == OTLP_OK) {
        if (b->n > b->cap || b->rejected > b->n)
            broken("item counts");
        if (b->n > lim->max_items)
            broken("more items than max_items");
        if (otlp_batch_footprint(b) > lim->max_memory)
            broken("a footprint past max_memory");
        for (size_t i = 0; i < b->n; i++)
            check_item(&b->items[i], kind);
        if (b->rejected && b->first_error[0] == '\0')
            broken("items rejected without a first_error");
        return true;
    }
    if (rc == OTLP_BAD_REQUEST || rc == OTLP_NOMEM || rc == OTLP_TOO_LARGE) {
        if (b->n != 0)
            broken("a failed decode holds items");
        if (err[0] == '\0')
            broken("a failed decode without a message");
        return true;
    }
    return false;
}

#endif
