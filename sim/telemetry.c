#include "telemetry.h"

#include <string.h>

const char *tel_call_name(tel_call c)
{
    switch (c) {
#define TEL_CALL_NAME(name, text)                                                                  \
    case TEL_##name:                                                                               \
        return text;
        TEL_CALL_MAP(TEL_CALL_NAME)
#undef TEL_CALL_NAME
    default:
        return "?";
    }
}

int tel_call_find(const char *name)
{
    for (int c = 0; c < TEL_CALL_COUNT; c++)
        if (strcmp(tel_call_name((tel_call)c), name) == 0)
            return c;
    return -1;
}

static void null_born(void *ud, rt *r, rt_isolate_info *iso)
{
    (void)ud, (void)r, (void)iso;
}

static void null_dies(void *ud, rt *r, rt_isolate_info *iso, rt_evict cause)
{
    (void)ud, (void)r, (void)iso, (void)cause;
}

static uint64_t null_span_start(void *ud, rt *r, const char *name)
{
    (void)r, (void)name;
    return ++((tel_null *)ud)->spans;
}

static void null_span_end(void *ud, rt *r, uint64_t span)
{
    (void)ud, (void)r, (void)span;
}

static void null_metric(void *ud, rt *r, const char *name, double value)
{
    (void)r, (void)name, (void)value;
    ((tel_null *)ud)->metrics++;
}

static void null_log(void *ud, rt *r, const char *body, int severity)
{
    (void)r, (void)body, (void)severity;
    ((tel_null *)ud)->logs++;
}

static tel_entry *null_entry_new(void *ud, rt *r, const char *global, const char *flag,
                                 const char *variant)
{
    (void)r, (void)global, (void)flag, (void)variant;
    ((tel_null *)ud)->entries++;
    return NULL;
}

static void null_entry_moved(void *ud, rt *r, tel_entry *e, const char *holder)
{
    (void)ud, (void)r, (void)e, (void)holder;
}

static void null_entry_lost(void *ud, rt *r, tel_entry *e, tel_loss how, int why,
                            const char *holder, const char *note)
{
    (void)ud, (void)r, (void)e, (void)how, (void)why, (void)holder, (void)note;
}

static bool null_entry_send(void *ud, rt *r, tel_entry **e, size_t n, tel_cont k)
{
    (void)r, (void)e, (void)n, (void)k;
    ((tel_null *)ud)->calls++;
    return true;
}

static tel_enqueued null_entry_enqueue(void *ud, rt *r, tel_entry **e, size_t n, const tel_cont *k)
{
    (void)ud, (void)r, (void)e, (void)n, (void)k;
    return TEL_ENQ_SENT; /* a no-op: the entries were never recorded */
}

static bool null_call(void *ud, rt *r, tel_call c, tel_cont k)
{
    (void)r, (void)c, (void)k;
    ((tel_null *)ud)->calls++;
    return true;
}

static void null_shutdown(void *ud, rt *r, rt_isolate_info *iso)
{
    (void)ud, (void)r, (void)iso;
}

static void null_task_ends(void *ud, rt *r, const rt_task *t, rt_task_end why)
{
    (void)ud, (void)r, (void)t, (void)why;
}

const tel_ops *tel_null_ops(void)
{
    static const tel_ops ops = {
        .isolate_born = null_born,
        .isolate_dies = null_dies,
        .span_start = null_span_start,
        .span_end = null_span_end,
        .metric = null_metric,
        .log = null_log,
        .entry_new = null_entry_new,
        .entry_moved = null_entry_moved,
        .entry_lost = null_entry_lost,
        .entry_send = null_entry_send,
        .entry_enqueue = null_entry_enqueue,
        .call = null_call,
        .shutdown = null_shutdown,
        .task_ends = null_task_ends,
        .request_ends = NULL, /* nothing to lose */
    };
    return &ops;
}
