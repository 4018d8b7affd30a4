/*
 * libFuzzer harness: the scenario parser and compiler (scn_parse), i.e.
 * validation against the key table, every variant merged and compiled, data
 * files loaded. Any input must give 0 (a scenario) or SIM_EINPUT with a
 * message; never a crash, a leak or undefined behaviour.
 *
 * Input: the scenario text. Data files ("file" keys) are relative to the
 * working directory: scripts/fuzz gives it links to scenarios/'s entries, so
 * the seeds' data/ files load. Mutations are JSON-aware (json_mutator.h).
 */
#include "json_mutator.h"
#include "scenario.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return fuzz_json_mutate(data, size, max_size, seed, 0);
}

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_scenario: contract broken: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size + 1);
    if (!json)
        return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    scenario *s = NULL;
    char err[1024] = "";
    int rc = scn_parse(json, "fuzz.json", &s, err, sizeof err);
    if (rc == 0) {
        if (!s)
            broken("scn_parse returned 0 without a scenario");
        for (const scenario *v = s; v; v = v->next)
            if (!v->file || !v->variant)
                broken("a compiled scenario without a file or variant name");
        scn_free(s);
    } else if (rc == SIM_EINPUT) {
        if (err[0] == '\0')
            broken("SIM_EINPUT without a message");
    } else {
        broken("scn_parse returned neither 0 nor SIM_EINPUT");
    }
    free(json);
    return 0;
}
