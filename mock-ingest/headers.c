#include "headers.h"

#include <stdio.h>
#include <string.h>

/*
 * A whole number from 0 to `max`, digits only (blanks after it are the
 * header's optional whitespace, which libmicrohttpd trims in front only).
 * strtoll is not used: it accepts a sign, "-0" and blanks inside, and a
 * client could then steer the cap window with values nobody meant; checking
 * each digit before it is added keeps the accumulation from overflowing.
 */
static bool parse_uint(const char *s, int64_t max, int64_t *out)
{
    int64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (p == s)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return false;
    *out = v;
    return true;
}

/* The offending value, quoted in the message: printable, bounded (it is stored and echoed). */
static void quote(char *dst, size_t dstlen, const char *v)
{
    size_t n = 0, i = 0;
    for (; v[i] && n + 1 < dstlen && i < 40; i++, n++)
        dst[n] = v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' && v[i] != '\\' ? v[i] : '?';
    if (v[i] && n + 4 < dstlen) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

static int refuse(hdr_sim *out, char *msg, size_t msglen, const char *name, const char *value,
                  const char *expected)
{
    *out = (hdr_sim){.attempt = -1};
    char q[48];
    quote(q, sizeof q, value ? value : "");
    snprintf(msg, msglen, "%s: expected %s, got \"%s\"", name, expected, q);
    return 400;
}

static int refuse_twice(hdr_sim *out, char *msg, size_t msglen, const char *name)
{
    *out = (hdr_sim){.attempt = -1};
    snprintf(msg, msglen, "%s: given more than once; send it once", name);
    return 400;
}

static bool run_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HDR_RUN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

int hdr_sim_read(bool trusted, hdr_lookup_fn lookup, void *ud, hdr_sim *out, char *msg,
                 size_t msglen)
{
    *out = (hdr_sim){.attempt = -1};
    msg[0] = '\0';
    unsigned nt = 0, nr = 0, na = 0;
    const char *t = lookup(ud, HDR_TIME_NS, &nt);
    const char *r = lookup(ud, HDR_RUN, &nr);
    const char *a = lookup(ud, HDR_ATTEMPT, &na);
    if (!trusted) {
        /* Not looked at: any value is as good as none from an untrusted client. */
        out->ignored = nt + nr + na > 0;
        return 0;
    }
    if (nt > 1)
        return refuse_twice(out, msg, msglen, HDR_TIME_NS);
    if (nr > 1)
        return refuse_twice(out, msg, msglen, HDR_RUN);
    if (na > 1)
        return refuse_twice(out, msg, msglen, HDR_ATTEMPT);
    if (t) {
        if (!parse_uint(t, INT64_MAX, &out->time_ns))
            return refuse(out, msg, msglen, HDR_TIME_NS, t,
                          "a whole number of nanoseconds from 0 to 9223372036854775807");
        out->time_virtual = true;
    }
    if (a && !parse_uint(a, HDR_ATTEMPT_MAX, &out->attempt))
        return refuse(out, msg, msglen, HDR_ATTEMPT, a, "a whole number from 0 to 4294967295");
    if (r) {
        if (!run_ok(r)) {
            char what[96];
            snprintf(what, sizeof what, "1 to %d printable ASCII characters (%zu bytes sent)",
                     HDR_RUN_MAX, strlen(r));
            return refuse(out, msg, msglen, HDR_RUN, r, what);
        }
        out->run = r;
    }
    return 0;
}
