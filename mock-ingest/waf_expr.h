/*
 * WAF rule expressions: a parser and evaluator for the subset of Cloudflare's
 * Rules language that WAF custom rules and rate limiting rules are written in,
 * so that a WAF stage in front of the ingest (policy.h) can decide which
 * requests a rule applies to exactly as the rule's text says, e.g. the seed
 * incident's rate limit that also counted a Worker's own notifications:
 *   (http.request.uri.path eq "/api/notify" and cf.worker.upstream_zone eq "")
 *
 * The language:
 *  - Fields (strings unless noted):
 *      http.request.method  http.host  http.request.uri.path
 *      http.request.uri.query  ip.src  cf.worker.upstream_zone
 *      http.request.headers["name"]   every value of that header (below)
 *      cf.colo.id                     an integer
 *  - Comparisons, field on the left: eq == ne != (strings and integers);
 *    lt < le <= gt > ge >= (integers); contains, matches ~ (strings);
 *    in {v1 v2 ...} (a space-separated set of strings, or of integers for an
 *    integer field); starts_with(field, "x") and ends_with(field, "x").
 *  - Logic, from the tightest: not !, and &&, xor ^^, or ||; parentheses.
 *    Comparisons bind tighter than all of them (Cloudflare's precedence), so
 *    `not a eq "x" and b` is `(not (a eq "x")) and b`.
 *  - Strings in double quotes; the only escapes are \" and \\ (a regex's
 *    backslash is written twice: "\\.php$"). Integers are decimal digits,
 *    0 .. INT64_MAX. Operators and field names are lower case.
 *  - Matching is byte-exact and case-sensitive (Cloudflare's, without its
 *    lower() function). matches searches (unanchored) with a POSIX extended
 *    regular expression, compiled once by waf_expr_parse; backreferences are
 *    refused (Cloudflare's regex engine has none, and glibc's turns them
 *    exponential) and counted repetitions are bounded (WAF_EXPR_MAX_REGEX_SIZE).
 *  - Not in this subset: other fields, bare boolean fields, IP literals and
 *    CIDR sets (ip.src is compared as a quoted string), raw strings r"...",
 *    integer ranges in sets, wildcard, lower() and the other functions.
 *
 * Headers have array semantics, like Cloudflare's any(...[*] op value): the
 * comparison holds when at least one value of the named header holds it,
 * for every operator, ne included; a header that is absent holds nothing.
 * So `http.request.headers["x"] ne "a"` is false without an X header, and
 * "no value is a" is written `not http.request.headers["x"] eq "a"`. Names
 * match case-insensitively (the expression's is lowercased, as Cloudflare's
 * are; the request's may come in any case).
 *
 * Contract:
 *  - waf_expr_parse refuses any text it cannot evaluate exactly as written:
 *    unknown fields, operators of the wrong type (`cf.colo.id eq "x"`), bad
 *    regexes. Every refusal is ING_CONFIG with "position N: expected X, got Y"
 *    in err (N: the 0-based byte offset of what was wrong, also in *err_pos).
 *  - Hostile text cannot exhaust the stack or the memory: at most
 *    WAF_EXPR_MAX_LEN bytes, WAF_EXPR_MAX_DEPTH nested parentheses and nots,
 *    WAF_EXPR_MAX_REGEX_SIZE regex elements in all.
 *  - waf_expr_eval allocates nothing and recurses at most as deep as the
 *    nesting (and/or/xor chains are evaluated in a loop). It only reads the
 *    expression: one expression may be evaluated from several threads.
 *    regexec (glibc) may allocate internally for a matches comparison.
 */
#ifndef ING_WAF_EXPR_H
#define ING_WAF_EXPR_H

#include "ingest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Cloudflare's limit for a rule expression is 4,096 characters; this one
 * counts bytes, so it is the same for ASCII text and stricter for UTF-8. */
#define WAF_EXPR_MAX_LEN 4096
/* Parentheses and nots nested in each other; the parser and the evaluator
 * recurse once per level, so this bounds their stack. */
#define WAF_EXPR_MAX_DEPTH 64
/*
 * Regex elements in all the expression's regexes, counted as glibc compiles
 * them: each atom is one, a group the sum of its parts, and a counted
 * repetition multiplies (x{100} is 100, (x{10}){10} is 100, + * ? count
 * twice). glibc copies the repeated part that many times, and its memory and
 * matching time grow with the copies: (a{1,100}){1,100} (10,000) took 480 MB
 * and 6 s on a 5,000-byte value. The worst 1,024-element regex measured,
 * ([[:alpha:]]|[0-9]){1,512}$, took 21 MB and 1.4 s on such a value; the
 * regexes rules use (a path pattern, [a-f0-9]{64}) count tens.
 */
#define WAF_EXPR_MAX_REGEX_SIZE 1024

typedef struct waf_expr waf_expr;

/*
 * The request an expression is evaluated against. Every string may be NULL,
 * which reads as "" (cf.worker.upstream_zone is "" for ordinary traffic:
 * only a Worker's subrequest has one). Header i is header_names[i] with
 * header_values[i]; a header sent twice is two entries; a NULL name is
 * skipped, a NULL value reads as "". The arrays may be NULL when nheaders is 0.
 */
typedef struct waf_request {
    const char *method;        /* http.request.method, e.g. "POST" */
    const char *host;          /* http.host */
    const char *path;          /* http.request.uri.path, without the query */
    const char *query;         /* http.request.uri.query, without the '?' */
    const char *ip;            /* ip.src, as text */
    const char *upstream_zone; /* cf.worker.upstream_zone */
    int64_t colo_id;           /* cf.colo.id */
    size_t nheaders;
    const char *const *header_names;
    const char *const *header_values;
} waf_request;

/*
 * Parses a NUL-terminated expression. Returns ING_OK with *out set, or with
 * *out NULL: ING_CONFIG (the text is not a valid expression), ING_NOMEM, or
 * ING_USAGE (text or out is NULL). On an error the message goes to
 * err[errlen] (may be NULL/0) and its byte offset to *err_pos (may be NULL).
 */
int waf_expr_parse(const char *text, waf_expr **out, char *err, size_t errlen, size_t *err_pos);

/* Whether the request matches. Neither argument may be NULL. */
bool waf_expr_eval(const waf_expr *e, const waf_request *r);

/* NULL is fine. */
void waf_expr_free(waf_expr *e);

#endif
