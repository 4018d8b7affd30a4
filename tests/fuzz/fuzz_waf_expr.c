/*
 * libFuzzer harness: WAF rule expressions (mock-ingest/waf_expr.h), the parse
 * of any text and, when it parses, its evaluation against fixed requests.
 *
 * Input: the expression text; a NUL-terminated copy is parsed (the API takes
 * a C string, so an embedded NUL ends the text there). Besides memory errors,
 * leaks, UB and timeouts (a regex that compiles or matches for too long: the
 * size limit is what prevents it), the documented contract is checked:
 * ING_OK with an expression and no message, or ING_CONFIG without one and
 * with "position N: expected ..., got ..." where N is the returned offset,
 * inside the text (or at the length limit); evaluation gives the same answer
 * twice. Mutations are libFuzzer's own, with tests/fuzz/waf_expr/waf_expr.dict.
 */
#include "waf_expr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_waf_expr: contract broken: %s\n", what);
    abort();
}

/* Every field set, headers with two values of one name in two spellings; and nothing at all. */
static const char *const names[] = {"Content-Type", "X-Forwarded-For", "x-forwarded-for",
                                    "User-Agent", NULL};
static const char *const values[] = {"application/json", "10.0.0.1", "192.0.2.44", "curl/8.5.0",
                                     "orphan"};
static const waf_request requests[] = {
    {.method = "POST",
     .host = "ingest.flare.dev",
     .path = "/api/notify",
     .query = "id=7&sig=\"a\\b\"",
     .ip = "203.0.113.9",
     .upstream_zone = "flare.dev",
     .colo_id = 245,
     .nheaders = 5,
     .header_names = names,
     .header_values = values},
    {.colo_id = 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);
    waf_expr *e = NULL;
    char err[512] = "";
    size_t pos = SIZE_MAX;
    int rc = waf_expr_parse(text, &e, err, sizeof err, &pos);
    if (rc == ING_OK) {
        if (!e)
            broken("ING_OK without an expression");
        if (err[0])
            broken("ING_OK with a message");
        for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++)
            if (waf_expr_eval(e, &requests[i]) != waf_expr_eval(e, &requests[i]))
                broken("two evaluations of one request differ");
        waf_expr_free(e);
    } else if (rc == ING_CONFIG) {
        if (e)
            broken("ING_CONFIG with an expression");
        if (pos > len || pos > WAF_EXPR_MAX_LEN)
            broken("an error position outside the text");
        char prefix[64];
        snprintf(prefix, sizeof prefix, "position %zu: expected ", pos);
        if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, ", got "))
            broken("a message not of the form \"position N: expected ..., got ...\"");
    } else if (rc != ING_NOMEM) {
        broken("waf_expr_parse returned neither ING_OK, ING_CONFIG nor ING_NOMEM");
    }
    free(text);
    return 0;
}
