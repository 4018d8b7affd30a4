/*
 * WAF rule expressions (mock-ingest/waf_expr.h): every operator, the
 * precedence, sets, headers and regexes evaluated against three requests,
 * each expected result worked out by hand from the request below; and
 * malformed expressions refused with the byte offset and the message a rule
 * author needs, counted by hand in the text.
 */
#include "waf_expr.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Allocation counting: the test is linked with --wrap=malloc,calloc,realloc
 * (tests/CMakeLists.txt), so every allocation the ingest library makes
 * itself comes through here. regexec's own, inside libc, do not.
 */
static size_t allocations;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    allocations++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    allocations++;
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    allocations++;
    return __real_realloc(p, n);
}

/*
 * R0: a notification from outside (no Worker zone: NULL, which reads as "");
 * X-Forwarded-For twice, in two spellings of its name.
 * R1: the same notification sent by the Worker in zone flare.dev.
 * R2: another path and method, no headers, a query with a quote and a backslash.
 */
static const char *const r0_names[] = {"Content-Type", "X-Forwarded-For", "x-forwarded-for",
                                       "User-Agent"};
static const char *const r0_values[] = {"application/json", "10.0.0.1", "192.0.2.44",
                                        "flare-worker/1.0"};
static const char *const r1_names[] = {"x-flare-source", "content-type"};
static const char *const r1_values[] = {"flare.dev", "application/json"};

static const waf_request requests[3] = {
    {.method = "POST",
     .host = "ingest.flare.dev",
     .path = "/api/notify",
     .query = "id=7&sig=ab",
     .ip = "203.0.113.9",
     .upstream_zone = NULL,
     .colo_id = 101,
     .nheaders = 4,
     .header_names = r0_names,
     .header_values = r0_values},
    {.method = "POST",
     .host = "ingest.flare.dev",
     .path = "/api/notify",
     .query = "",
     .ip = "198.51.100.5",
     .upstream_zone = "flare.dev",
     .colo_id = 245,
     .nheaders = 2,
     .header_names = r1_names,
     .header_values = r1_values},
    {.method = "PUT",
     .host = "api.example.com",
     .path = "/v1/traces",
     .query = "q=\"a\\b\"",
     .ip = "203.0.113.10",
     .upstream_zone = "",
     .colo_id = 7},
};

/* Expected results for R0, R1, R2, as a string: "TFT". */
static const struct {
    const char *expr;
    const char *want;
} cases[] = {
    /* eq == ne != on strings: exact, case-sensitive */
    {"http.request.method eq \"POST\"", "TTF"},
    {"http.request.method == \"post\"", "FFF"},
    {"http.request.method ne \"POST\"", "FFT"},
    {"http.request.method != \"PUT\"", "TTF"},
    {"http.host eq \"ingest.flare.dev\"", "TTF"},
    {"ip.src eq \"203.0.113.9\"", "TFF"},
    {"http.request.uri.query eq \"\"", "FTF"},
    /* the escapes: R2's query is q="a\b" */
    {"http.request.uri.query eq \"q=\\\"a\\\\b\\\"\"", "FFT"},
    /* contains */
    {"http.host contains \"flare\"", "TTF"},
    {"http.request.uri.path contains \"/v1/\"", "FFT"},
    {"http.request.uri.query contains \"sig=\"", "TFF"},
    /* integers: eq ne lt le gt ge in their two spellings; colo ids 101, 245, 7 */
    {"cf.colo.id eq 101", "TFF"},
    {"cf.colo.id == 245", "FTF"},
    {"cf.colo.id ne 7", "TTF"},
    {"cf.colo.id != 101", "FTT"},
    {"cf.colo.id lt 101", "FFT"},
    {"cf.colo.id le 101", "TFT"},
    {"cf.colo.id gt 101", "FTF"},
    {"cf.colo.id ge 101", "TTF"},
    {"cf.colo.id < 8", "FFT"},
    {"cf.colo.id <= 7", "FFT"},
    {"cf.colo.id > 244", "FTF"},
    {"cf.colo.id >= 245", "FTF"},
    {"cf.colo.id lt 9223372036854775807", "TTT"},
    /* sets */
    {"cf.colo.id in {7 245}", "FTT"},
    {"cf.colo.id in {1 2 3}", "FFF"},
    {"http.request.method in {\"GET\" \"PUT\"}", "FFT"},
    {"ip.src in {\"203.0.113.9\" \"203.0.113.10\"}", "TFT"},
    {"ip.src in {\"203.0.113.1\"}", "FFF"},
    /* functions */
    {"starts_with(http.request.uri.path, \"/api/\")", "TTF"},
    {"ends_with(http.host, \".com\")", "FFT"},
    /* longer than the value: no match, no read before it */
    {"ends_with(http.request.uri.path, \"/api/notify/\")", "FFF"},
    {"starts_with(http.request.uri.path, \"\")", "TTT"},
    /* regexes: searched, not anchored unless the regex says so */
    {"http.request.uri.path matches \"notify\"", "TTF"},
    {"http.request.uri.path matches \"^/api/(notify|events)$\"", "TTF"},
    {"http.request.uri.path ~ \"^/v[0-9]+/\"", "FFT"},
    {"http.host matches \"\\\\.dev$\"", "TTF"},
    /* at the size limit exactly: x{1024} is 1,024 elements */
    {"http.host matches \"x{1024}\"", "FFF"},
    {"http.host matches \"ab{1023}\"", "FFF"},
    /* cf.worker.upstream_zone: "" for ordinary traffic (R0's NULL too) */
    {"cf.worker.upstream_zone eq \"\"", "TFT"},
    {"cf.worker.upstream_zone ne \"\"", "FTF"},
    {"cf.worker.upstream_zone eq \"flare.dev\"", "FTF"},
    /* the seed's rate limit: notifications from outside only */
    {"(http.request.uri.path eq \"/api/notify\" and cf.worker.upstream_zone eq \"\")", "TFF"},
    /* not */
    {"not http.request.method eq \"POST\"", "FFT"},
    {"! (cf.colo.id eq 7)", "TTF"},
    {"not not cf.colo.id eq 7", "FFT"},
    /* and / or / xor, both spellings */
    {"cf.colo.id eq 101 and http.request.method eq \"POST\"", "TFF"},
    {"cf.colo.id eq 101 && http.request.method eq \"PUT\"", "FFF"},
    {"cf.colo.id eq 101 or cf.colo.id eq 7", "TFT"},
    {"cf.colo.id eq 101 || http.request.uri.path eq \"/nope\"", "TFF"},
    {"cf.colo.id eq 101 xor http.request.method eq \"POST\"", "FTF"},
    /* a chain of xors is its parity: R0 T^F^T, R1 F^T^F, R2 F^F^T */
    {"cf.colo.id eq 101 ^^ cf.colo.id eq 245 ^^ ip.src contains \"203\"", "FTT"},
    /*
     * Precedence. a or b and c is a or (b and c): R2 has a (colo 7) and not c
     * (not POST), so it matches; (a or b) and c would not.
     */
    {"cf.colo.id eq 7 or http.host contains \"flare\" and http.request.method eq \"POST\"", "TTT"},
    {"cf.colo.id eq 7 || http.host contains \"flare\" && http.request.method eq \"GET\"", "FFT"},
    /* not a and b is (not a) and b: R2 is not colo 101 but not POST either, false;
     * not (a and b) would make it true */
    {"not cf.colo.id eq 101 and http.request.method eq \"POST\"", "FTF"},
    /* a xor b and c is a xor (b and c): R2 T xor (T and F) = T; (a xor b) and c = F */
    {"cf.colo.id eq 7 xor http.request.method eq \"PUT\" and http.host contains \"flare\"", "FFT"},
    /* a or b xor c is a or (b xor c): R2 T or (T xor T) = T; (a or b) xor c = F */
    {"cf.colo.id eq 7 or http.request.method eq \"PUT\" xor ip.src contains \"203\"", "TFT"},
    /* parentheses override: R2 (T or F) and F */
    {"(cf.colo.id eq 7 or http.host contains \"flare\") and http.request.method eq \"POST\"",
     "TTF"},
    {"((cf.colo.id eq 7))", "FFT"},
    /* no spaces, and every kind of blank */
    {"cf.colo.id==7&&http.request.method==\"PUT\"", "FFT"},
    {"\thttp.request.method\neq\r\n\"POST\" ", "TTF"},
    /* headers: any value, names case-insensitive on both sides */
    {"http.request.headers[\"content-type\"] eq \"application/json\"", "TTF"},
    {"http.request.headers[\"Content-Type\"] contains \"json\"", "TTF"},
    {"http.request.headers[\"x-forwarded-for\"] eq \"10.0.0.1\"", "TFF"},
    {"http.request.headers[\"x-forwarded-for\"] eq \"192.0.2.44\"", "TFF"},
    /* ne too holds when one value holds it (R0's 192.0.2.44); absent holds nothing */
    {"http.request.headers[\"x-forwarded-for\"] ne \"10.0.0.1\"", "TFF"},
    {"not http.request.headers[\"x-forwarded-for\"] eq \"10.0.0.1\"", "FTT"},
    {"http.request.headers[\"x-forwarded-for\"] in {\"192.0.2.44\" \"198.51.100.1\"}", "TFF"},
    {"http.request.headers[\"user-agent\"] matches \"^flare-worker/[0-9]\"", "TFF"},
    {"starts_with(http.request.headers[\"x-flare-source\"], \"flare\")", "FTF"},
    {"ends_with(http.request.headers[\"x-forwarded-for\"], \".44\")", "TFF"},
    /* a name's prefix is another name */
    {"http.request.headers[\"x-forwarded\"] eq \"10.0.0.1\"", "FFF"},
    /* the exclusion Cloudflare's rate limiting troubleshooting page recommends */
    {"(cf.worker.upstream_zone == \"\" or cf.worker.upstream_zone != \"flare.dev\")", "TFT"},
    /* a skip rule by a header of the sender's or the zone */
    {"http.request.headers[\"x-flare-source\"] eq \"flare.dev\" or cf.worker.upstream_zone eq "
     "\"flare.dev\"",
     "FTF"},
};

static void test_expressions_against_requests(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        waf_expr *e = NULL;
        char err[256] = "";
        size_t pos = 99;
        int rc = waf_expr_parse(cases[i].expr, &e, err, sizeof err, &pos);
        if (rc != ING_OK)
            fail_msg("%s: rc %d: %s", cases[i].expr, rc, err);
        assert_non_null(e);
        assert_string_equal(err, "");
        for (size_t r = 0; r < 3; r++) {
            bool want = cases[i].want[r] == 'T';
            if (waf_expr_eval(e, &requests[r]) != want)
                fail_msg("%s on R%zu: expected %s", cases[i].expr, r, want ? "true" : "false");
        }
        waf_expr_free(e);
    }
}

/* All fields NULL and no headers: every string reads as "". */
static void test_empty_request(void **state)
{
    (void)state;
    const waf_request none = {0};
    static const struct {
        const char *expr;
        bool want;
    } c[] = {
        {"http.host eq \"\" and http.request.method eq \"\" and http.request.uri.path eq \"\" "
         "and http.request.uri.query eq \"\" and ip.src eq \"\" and cf.worker.upstream_zone "
         "eq \"\" and cf.colo.id eq 0",
         true},
        {"http.request.uri.path matches \"^$\"", true},
        {"http.request.headers[\"host\"] eq \"\"", false},
        {"not http.request.headers[\"host\"] contains \"\"", true},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        waf_expr *e = NULL;
        char err[256];
        assert_int_equal(waf_expr_parse(c[i].expr, &e, err, sizeof err, NULL), ING_OK);
        if (waf_expr_eval(e, &none) != c[i].want)
            fail_msg("%s on the empty request: expected %d", c[i].expr, c[i].want);
        waf_expr_free(e);
    }
}

/* Position and message, counted by hand in the text (0-based byte offsets). */
static const struct {
    const char *expr;
    size_t pos;
    const char *msg; /* what follows "position N: " (a prefix of it) */
} bad[] = {
    /* unterminated string: where it was opened */
    {"http.host eq \"abc", 13,
     "expected a closing '\"' for the string opened here, got end of input"},
    {"http.host eq \"a\\n\"", 15, "expected \\\" or \\\\ (the only escapes), got \"\\n\""},
    /* unknown fields */
    {"http.hots eq \"x\"", 0, "expected a field, got unknown field \"http.hots\""},
    {"http.host eq \"x\" and cf.colo eq 1", 21, "expected a field, got unknown field \"cf.colo\""},
    {"lower(http.host) eq \"x\"", 0, "expected a field, got unknown field \"lower\""},
    /* missing operands and operators */
    {"http.host eq", 12, "expected a string, got end of input"},
    {"http.host eq \"x\" and", 20, "expected a field, a function, not or \"(\", got end of input"},
    {"and http.host eq \"x\"", 0, "expected a field, a function, not or \"(\", got \"and\""},
    {"not", 3, "expected a field, a function, not or \"(\", got end of input"},
    {"", 0, "expected a field, a function, not or \"(\", got end of input"},
    {"   ", 3, "expected a field, a function, not or \"(\", got end of input"},
    {"http.host \"x\"", 10,
     "expected an operator for a string field (eq, ne, contains, matches, in), got string \"x\""},
    /* a bare field is not a boolean here */
    {"http.host", 9,
     "expected an operator for a string field (eq, ne, contains, matches, in), "
     "got end of input"},
    /* operators are lower case */
    {"http.host EQ \"x\"", 10,
     "expected an operator for a string field (eq, ne, contains, "
     "matches, in), got \"EQ\""},
    {"cf.colo.id eq 7 7", 16,
     "expected a logical operator (and, or, xor) or the end of the expression, got integer \"7\""},
    /* unbalanced parentheses */
    {"(http.host eq \"x\"", 17,
     "expected \")\" or a logical operator (and, or, xor), got end of "
     "input"},
    {"http.host eq \"x\")", 16,
     "expected a logical operator (and, or, xor) or the end of the expression, got \")\""},
    {"()", 1, "expected a field, a function, not or \"(\", got \")\""},
    /* characters that are no token */
    {"http.host = \"a\"", 10, "expected a field, a value, an operator or a parenthesis, got \"=\""},
    {"http.host eq \"a\" & cf.colo.id eq 1", 17,
     "expected a field, a value, an operator or a parenthesis, got \"&\""},
    /* type mismatches */
    {"cf.colo.id eq \"x\"", 14, "expected an integer, got string \"x\""},
    {"http.host eq 5", 13, "expected a string, got integer \"5\""},
    {"http.host lt \"a\"", 10,
     "expected an operator for a string field (eq, ne, contains, "
     "matches, in), got \"lt\""},
    {"cf.colo.id contains 1", 11,
     "expected an operator for an integer field (eq, ne, lt, le, "
     "gt, ge, in), got \"contains\""},
    {"cf.colo.id matches \"1\"", 11, "expected an operator for an integer field"},
    {"cf.colo.id in {1 \"x\"}", 17, "expected an integer or \"}\", got string \"x\""},
    {"http.host in {\"a\" 1}", 18, "expected a string or \"}\", got integer \"1\""},
    {"starts_with(cf.colo.id, \"1\")", 12,
     "expected a string field, got integer field \"cf.colo.id\""},
    {"cf.colo.id eq 9223372036854775808", 14,
     "expected an integer from 0 to 9223372036854775807, got \"9223372036854775808\""},
    /* sets */
    {"http.host in {}", 14, "expected a string, got \"}\""},
    {"http.host in {\"a\", \"b\"}", 17, "expected a string or \"}\", got \",\""},
    {"http.host in \"a\"", 13, "expected \"{\", got string \"a\""},
    {"http.host in {\"a\"", 17, "expected a string or \"}\", got end of input"},
    /* functions */
    {"starts_with(http.host \"a\")", 22, "expected \",\", got string \"a\""},
    {"starts_with http.host", 12, "expected \"(\", got \"http.host\""},
    {"ends_with(http.host, \"a\"", 24, "expected \")\", got end of input"},
    {"ends_with(http.host, 1)", 21, "expected a string, got integer \"1\""},
    /* headers */
    {"http.request.headers eq \"x\"", 21,
     "expected [\"name\"] after http.request.headers, got \"eq\""},
    {"http.request.headers[\"\"] eq \"x\"", 21,
     "expected a header name (a non-empty string), got string \"\""},
    {"http.request.headers[\"a\" eq \"x\"", 25, "expected \"]\", got \"eq\""},
    /* regexes: at the regex's opening quote */
    {"http.request.uri.path matches \"(abc\"", 30,
     "expected a valid POSIX extended regular expression, got \"(abc\" ("},
    {"http.host ~ \"a{2,1}\"", 12, "expected a valid POSIX extended regular expression"},
    {"http.host matches \"(a)\\\\1\"", 18,
     "expected a regular expression without a backreference (not supported) (at byte 3 of the "
     "regex), got \"(a)\\1\""},
    {"http.host matches \"x{1025}\"", 18, "expected regular expressions of at most 1024 elements"},
    /* stacked quantifiers: undefined in POSIX, exponential in glibc (the fuzzer's find) */
    {"http.request.uri.path matches \"^\xff***+++++}x\"", 30,
     "expected a regular expression without a quantifier right after another (at byte 3 of"},
    {"http.host matches \"a{2}{3}\"", 18,
     "expected a regular expression without a quantifier right after another (at byte 4 of"},
    /* ab{1023} is 1,024, and one more atom is too many */
    {"http.host matches \"ab{1023}c\"", 18,
     "expected regular expressions of at most 1024 elements"},
    {"http.host matches \"(a{1,100}){1,100}\"", 18,
     "expected regular expressions of at most 1024 elements"},
    /* the limit is the expression's: 600 + 600 */
    {"http.host matches \"a{600}\" or http.request.uri.path matches \"b{600}\"", 60,
     "expected regular expressions of at most 1024 elements in all (counted repetitions "
     "multiply; 600 before this one), got \"b{600}\""},
};

static void expect_refused(const char *expr, size_t want_pos, const char *want_msg)
{
    waf_expr *e = (waf_expr *)&e; /* must come back NULL */
    char err[512] = "";
    size_t pos = 99999;
    int rc = waf_expr_parse(expr, &e, err, sizeof err, &pos);
    if (rc != ING_CONFIG)
        fail_msg("%.60s: rc %d, expected ING_CONFIG (%s)", expr, rc, err);
    assert_null(e);
    if (pos != want_pos)
        fail_msg("%.60s: position %zu, expected %zu (%s)", expr, pos, want_pos, err);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "position %zu: %s", want_pos, want_msg);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("%.60s:\n  got      \"%s\"\n  expected \"%s...\"", expr, err, prefix);
}

static void test_malformed_expressions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refused(bad[i].expr, bad[i].pos, bad[i].msg);
}

/* n "(" + "cf.colo.id eq 7" + n ")": malloc'd. */
static char *nested(size_t n, const char *open, const char *inner, const char *close)
{
    size_t lo = strlen(open), li = strlen(inner), lc = strlen(close);
    char *s = malloc(n * (lo + lc) + li + 1);
    assert_non_null(s);
    char *p = s;
    for (size_t i = 0; i < n; i++, p += lo)
        memcpy(p, open, lo);
    memcpy(p, inner, li);
    p += li;
    for (size_t i = 0; i < n; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* 64 levels parse and evaluate; the 65th "(" is at byte 64 */
    char *ok = nested(64, "(", "cf.colo.id eq 7", ")");
    waf_expr *e = NULL;
    char err[256];
    assert_int_equal(waf_expr_parse(ok, &e, err, sizeof err, NULL), ING_OK);
    assert_false(waf_expr_eval(e, &requests[0]));
    assert_true(waf_expr_eval(e, &requests[2]));
    waf_expr_free(e);
    free(ok);
    char *deep = nested(65, "(", "cf.colo.id eq 7", ")");
    expect_refused(deep, 64, "expected at most 64 nested parentheses and nots, got one more");
    free(deep);
    /* far deeper than any stack would take, refused at the same place */
    char *hostile = nested(4000, "(", "", "");
    expect_refused(hostile, 64, "expected at most 64 nested parentheses and nots");
    free(hostile);

    /* nots nest too: 64 of them are an even number, so the comparison's own value */
    char *nots = nested(64, "not ", "cf.colo.id eq 7", "");
    assert_int_equal(waf_expr_parse(nots, &e, err, sizeof err, NULL), ING_OK);
    assert_false(waf_expr_eval(e, &requests[0]));
    assert_true(waf_expr_eval(e, &requests[2]));
    waf_expr_free(e);
    free(nots);
    /* the 65th "not " starts at byte 64 * 4 */
    char *nots65 = nested(65, "not ", "cf.colo.id eq 7", "");
    expect_refused(nots65, 256, "expected at most 64 nested parentheses and nots, got one more");
    free(nots65);
    /* "!(" twice per level: the 33rd pair's "!" is the 65th level, at byte 64 */
    char *mixed = nested(33, "!(", "cf.colo.id eq 7", ")");
    expect_refused(mixed, 64, "expected at most 64 nested parentheses and nots");
    free(mixed);

    /* Long chains are not nesting: 150 ors in one level evaluate in a loop. */
    char chain[4096];
    size_t n = 0;
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(chain + n, sizeof chain - n, "%scf.colo.id eq %d", i ? " or " : "",
                              i + 1000);
    snprintf(chain + n, sizeof chain - n, " or cf.colo.id eq 7");
    assert_int_equal(waf_expr_parse(chain, &e, err, sizeof err, NULL), ING_OK);
    assert_false(waf_expr_eval(e, &requests[0]));
    assert_true(waf_expr_eval(e, &requests[2]));
    waf_expr_free(e);
}

static void test_length_limit(void **state)
{
    (void)state;
    /* "cf.colo.id eq 7" padded with blanks to exactly 4096 bytes is fine */
    char text[4098];
    memset(text, ' ', sizeof text);
    memcpy(text, "cf.colo.id eq 7", 15);
    text[4096] = '\0';
    waf_expr *e = NULL;
    char err[256];
    assert_int_equal(waf_expr_parse(text, &e, err, sizeof err, NULL), ING_OK);
    assert_true(waf_expr_eval(e, &requests[2]));
    waf_expr_free(e);
    /* one byte more is refused at byte 4096, whatever the text says */
    text[4096] = ' ';
    text[4097] = '\0';
    expect_refused(text, 4096, "expected at most 4096 bytes (Cloudflare's limit), got more");
}

static void test_usage_errors(void **state)
{
    (void)state;
    waf_expr *e = (waf_expr *)&e;
    char err[128] = "";
    assert_int_equal(waf_expr_parse(NULL, &e, err, sizeof err, NULL), ING_USAGE);
    assert_null(e);
    assert_string_equal(err, "waf_expr_parse: NULL text");
    assert_int_equal(waf_expr_parse("cf.colo.id eq 7", NULL, err, sizeof err, NULL), ING_USAGE);
    /* no message buffer, no position: still refused, nothing written */
    assert_int_equal(waf_expr_parse("cf.colo.id eq", &e, NULL, 0, NULL), ING_CONFIG);
    assert_null(e);
    /* a small buffer gets a truncated, terminated message */
    char small[12];
    assert_int_equal(waf_expr_parse("cf.colo.id eq", &e, small, sizeof small, NULL), ING_CONFIG);
    assert_string_equal(small, "position 13");
    waf_expr_free(NULL);
}

/* Evaluation allocates nothing; the count is live (parsing does allocate). */
static void test_eval_does_not_allocate(void **state)
{
    (void)state;
    waf_expr *all[sizeof cases / sizeof cases[0]];
    size_t before = allocations;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        assert_int_equal(waf_expr_parse(cases[i].expr, &all[i], err, sizeof err, NULL), ING_OK);
    }
    assert_true(allocations > before);
    before = allocations;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t r = 0; r < 3; r++)
            (void)waf_expr_eval(all[i], &requests[r]);
    assert_int_equal(allocations, before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        waf_expr_free(all[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expressions_against_requests),
        cmocka_unit_test(test_empty_request),
        cmocka_unit_test(test_malformed_expressions),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_eval_does_not_allocate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
