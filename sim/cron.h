/*
 * Cron expressions, as Cloudflare's Cron Triggers read them: five fields, minute (0-59),
 * hour (0-23), day of month (1-31), month (1-12 or JAN-DEC) and day of week (0-7 or SUN-SAT,
 * 0 and 7 both Sunday), each `*`, a value, a range `a-b`, a step `*` or `a-b` followed by
 * `/n`, or a comma-separated list of those. All in UTC. When both the day of month and the
 * day of week are restricted (neither is `*`), a day matches if either does, as in cron.
 * Quartz extensions (L, W, #, ?) are refused.
 *
 * Virtual time 0 is 1970-01-01T00:00:00Z (a Thursday): a schedule fires at the start of
 * every minute that matches.
 */
#ifndef SIM_CRON_H
#define SIM_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cron_spec {
    uint64_t minutes; /* bit m: minute m matches */
    uint32_t hours;   /* bit h */
    uint32_t mdays;   /* bit d, 1..31 */
    uint16_t months;  /* bit m, 1..12 */
    uint8_t wdays;    /* bit w, 0 (Sunday)..6 */
    bool mday_any, wday_any;
} cron_spec;

/* 0, or -1 with a message naming the field and what was expected. */
int cron_parse(const char *expr, cron_spec *out, char *err, size_t errlen);
/* Does the minute starting at t_ns (a multiple of 60 s) match? */
bool cron_matches(const cron_spec *c, int64_t t_ns);
/*
 * The instants in [from_ns, until_ns) the schedule fires at, ascending, into out (at most
 * cap of them); returns how many there are in all (more than cap: the caller's bound).
 */
size_t cron_times(const cron_spec *c, int64_t from_ns, int64_t until_ns, int64_t *out, size_t cap);

#endif
