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

static uint64_t null_entry(void *ud, rt *r, const char *global)
{
    (void)r, (void)global;
    return ++((tel_null *)ud)->entries;
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
    static const tel_ops ops = {null_born,      null_dies,   null_span_start,
                                null_span_end,  null_metric, null_log,
                                null_entry,     null_call,   null_shutdown,
                                null_task_ends, NULL /* request_ends: nothing to lose */};
    return &ops;
}
