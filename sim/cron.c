#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MINUTE_NS (60 * 1000000000LL)
#define DAY_MIN   (24 * 60)

typedef struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* 3-letter names of lo.. (NULL: none) */
} field;

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
                                          "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const field fields[5] = {
    {"minute", 0, 59, NULL},          {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day of week", 0, 7, day_names},
};

/* A number or a name at *p; advances past it. -1 if there is neither. */
static int value(const field *f, const char **p)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s) && v < 1000)
            v = v * 10 + (*s++ - '0');
        *p = s;
        return (int)v;
    }
    for (int i = 0; f->names && f->names[i]; i++)
        if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
            *p = s + 3;
            return f->lo + i;
        }
    return -1;
}

static int fail(char *err, size_t errlen, const char *expr, const field *f, const char *what)
{
    snprintf(err, errlen, "cron \"%s\": %s field: expected %s (%d-%d)", expr, f->name, what, f->lo,
             f->hi);
    return -1;
}

/* One field's text [s, e) into the bit set *bits. */
static int parse_field(const char *expr, const field *f, const char *s, const char *e,
                       uint64_t *bits, char *err, size_t errlen)
{
    *bits = 0;
    const char *p = s;
    while (p < e) {
        int a, b, step = 1;
        if (*p == '*') {
            a = f->lo;
            b = f->hi;
            p++;
        } else {
            if ((a = value(f, &p)) < 0)
                return fail(err, errlen, expr, f, "a value, a range, * or a step");
            b = a;
            if (p < e && *p == '-') {
                p++;
                if ((b = value(f, &p)) < 0)
                    return fail(err, errlen, expr, f, "a range's upper end");
            }
        }
        if (p < e && *p == '/') {
            p++;
            if ((step = value(f, &p)) <= 0 || step > f->hi)
                return fail(err, errlen, expr, f, "a step of at least 1 after /");
        }
        if (a < f->lo || b > f->hi || a > b)
            return fail(err, errlen, expr, f, "values in range, a range low to high");
        for (int v = a; v <= b; v += step)
            *bits |= 1ull << v;
        if (p < e && *p != ',')
            return fail(err, errlen, expr, f,
                        "values, ranges and steps separated by commas (no L, W, # or ?)");
        if (p < e)
            p++;
    }
    return 0;
}

int cron_parse(const char *expr, cron_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = expr;
    uint64_t bits[5];
    int n = 0;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (n == 5) {
            snprintf(err, errlen, "cron \"%s\": expected 5 fields, got more", expr);
            return -1;
        }
        if (n == 2 || n == 4) {
            bool any = p - s == 1 && *s == '*';
            if (n == 2)
                out->mday_any = any;
            else
                out->wday_any = any;
        }
        if (parse_field(expr, &fields[n], s, p, &bits[n], err, errlen))
            return -1;
        n++;
    }
    if (n != 5) {
        snprintf(err, errlen,
                 "cron \"%s\": expected 5 fields (minute hour day-of-month month day-of-week), "
                 "got %d",
                 expr, n);
        return -1;
    }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    return 0;
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static void civil(int64_t days, int *month, int *mday)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
}

static bool day_matches(const cron_spec *c, int64_t days)
{
    int month, mday;
    civil(days, &month, &mday);
    if (!(c->months >> month & 1))
        return false;
    int wday = (int)((days % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    bool md = c->mdays >> mday & 1, wd = c->wdays >> wday & 1;
    if (!c->mday_any && !c->wday_any)
        return md || wd;
    return md && wd;
}

bool cron_matches(const cron_spec *c, int64_t t_ns)
{
    int64_t minute = t_ns / MINUTE_NS;
    int64_t days = minute / DAY_MIN, in_day = minute % DAY_MIN;
    return (c->minutes >> (in_day % 60) & 1) && (c->hours >> (in_day / 60) & 1) &&
           day_matches(c, days);
}

size_t cron_times(const cron_spec *c, int64_t from_ns, int64_t until_ns, int64_t *out, size_t cap)
{
    size_t n = 0;
    if (from_ns < 0)
        from_ns = 0;
    int64_t m = (from_ns + MINUTE_NS - 1) / MINUTE_NS; /* the first minute start >= from */
    for (int64_t day = m / DAY_MIN; day * DAY_MIN * MINUTE_NS < until_ns; day++) {
        if (!day_matches(c, day))
            continue;
        for (int64_t k = day == m / DAY_MIN ? m % DAY_MIN : 0; k < DAY_MIN; k++) {
            int64_t t = (day * DAY_MIN + k) * MINUTE_NS;
            if (t >= until_ns)
                break;
            if ((c->hours >> (k / 60) & 1) && (c->minutes >> (k % 60) & 1)) {
                if (n < cap)
                    out[n] = t;
                n++;
            }
        }
    }
    return n;
}
