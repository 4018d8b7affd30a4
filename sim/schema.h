/*
 * Declarative validation of JSON documents (scenario files) against one table
 * of keys: name, type, range, default and help for each. The same table
 * drives the parser's defaults and the generated reference
 * (scenarios/README.md), so a key cannot be documented one way and parsed
 * another.
 *
 * Paths are dotted ("runtime.idle_timeout"); "[]" stands for an array's
 * elements ("runtime.deploys_s[]"); program steps are keyed "step.<op>" and
 * their fields "step.<op>.<field>", wherever a program appears.
 *
 * Errors name the file, the JSON path of the offending value ($.app.handler[2]
 * .await.latency) and what was expected; an unknown key gets a did-you-mean.
 */
#ifndef SIM_SCHEMA_H
#define SIM_SCHEMA_H

#include "error.h"
#include "dist.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    SK_OBJECT,
    SK_ARRAY,
    SK_INT,
    SK_NUMBER,
    SK_STRING,
    SK_BOOL,
    SK_ENUM,
    SK_DIST,   /* a distribution object, see sk_parse_dist */
    SK_STEPS,  /* a program: an array of one-key step objects */
    SK_LATER,  /* declared by the design, not built yet: "not supported yet" */
    SK_CUSTOM, /* validated by the caller (e.g. variants, whose members are other keys' overrides)
                */
} sk_type;

#define SK_REQUIRED 1u

typedef struct sk_key {
    const char *path;
    sk_type type;
    double min, max;     /* SK_INT/SK_NUMBER value range; SK_ARRAY/SK_STEPS length range */
    const char *def;     /* the default as JSON text; NULL: none (absent means absent) */
    const char *choices; /* SK_ENUM: "a|b|c" */
    const char *help;
    unsigned flags;
} sk_key;

typedef struct sk_schema {
    const sk_key *keys;
    size_t n;
    unsigned max_depth; /* deepest nesting of step bodies */
} sk_schema;

const sk_key *sk_find(const sk_schema *s, const char *path);

/* Validates the whole document. Returns SIM_OK, or SIM_EINPUT with
 * "FILE: $.path: what was expected" (every function here returns those two). */
int sk_validate(const sk_schema *s, const char *file, const cJSON *root, char *err, size_t errlen);
/* Validates `x` as the key `kpath`, reporting errors at `jpath` (for SK_CUSTOM callers). */
int sk_validate_at(const sk_schema *s, const char *file, const cJSON *x, const char *jpath,
                   const char *kpath, char *err, size_t errlen);
/* The same "unknown key" message the validator gives, with a did-you-mean among kpath's children.
 */
int sk_unknown(const sk_schema *s, const char *file, const char *jpath, const char *parent,
               const char *name, char *err, size_t errlen);

/*
 * A distribution: an object with one member "<kind>_<unit>", where kind is
 * fixed (a number), uniform ([low, high]), exponential (the mean) or
 * lognormal ({"p50": x, "p99": y}), and unit is ns, us, ms, s, min or h.
 * Returns SIM_OK, or SIM_EINPUT with what was wrong in `why`.
 */
int sk_parse_dist(const cJSON *v, dist *out, char *why, size_t whylen);

/* Writes "FILE: JPATH: message" into err (every validation message's shape); returns
 * SIM_EINPUT. */
int sk_error(char *err, size_t errlen, const char *file, const char *jpath, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int sk_verror(char *err, size_t errlen, const char *file, const char *jpath, const char *fmt,
              va_list ap) __attribute__((format(printf, 5, 0)));

/* What a value is, for messages: "a number", "an object", "null"... */
const char *sk_type_name(const cJSON *x);

/* The edit distance between two names (SIZE_MAX past 64 bytes): every did-you-mean's. */
size_t sk_distance(const char *a, const char *b);

/* The reference of every key as a Markdown table (scenarios/README.md). */
void sk_markdown(const sk_schema *s, FILE *out);

#endif
