#include "json_mutator.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_NODES = 8192 };

typedef struct mut {
    uint64_t rng;
    cJSON *nodes[MAX_NODES];
    size_t n;
} mut;

static uint32_t next(mut *m)
{
    /* xorshift64* */
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    return (uint32_t)((m->rng * 2685821657736338717ULL) >> 32);
}

static uint32_t below(mut *m, uint32_t n)
{
    return n ? next(m) % n : 0;
}

static void collect(mut *m, cJSON *x)
{
    for (; x && m->n < MAX_NODES; x = x->next) {
        m->nodes[m->n++] = x;
        collect(m, x->child);
    }
}

/* Empties a node, keeping its key and its place among its siblings. */
static void clear(cJSON *x)
{
    cJSON_Delete(x->child);
    x->child = NULL;
    if (x->valuestring)
        cJSON_free(x->valuestring);
    x->valuestring = NULL;
    x->valueint = 0;
    x->valuedouble = 0;
}

/* Moves the value of `src` (a detached tree) into `x`; frees src's shell. */
static void take(cJSON *x, cJSON *src)
{
    clear(x);
    x->type = src->type;
    x->child = src->child;
    x->valuestring = src->valuestring;
    x->valueint = src->valueint;
    x->valuedouble = src->valuedouble;
    src->child = NULL;
    src->valuestring = NULL;
    cJSON_Delete(src);
}

static void set_number(cJSON *x, double d)
{
    clear(x);
    x->type = cJSON_Number;
    cJSON_SetNumberHelper(x, d);
}

static void set_string(cJSON *x, const char *s, size_t len)
{
    char *v = cJSON_malloc(len + 1);
    if (!v)
        return;
    memcpy(v, s, len);
    v[len] = '\0';
    clear(x);
    x->type = cJSON_String;
    x->valuestring = v;
}

static void extreme_number(mut *m, cJSON *x)
{
    static const double values[] = {0,
                                    -1,
                                    1,
                                    0.5,
                                    1e-9,
                                    5e-324,
                                    1e3,
                                    1e6,
                                    1e9,
                                    9e9,
                                    1e12,
                                    1e15,
                                    9.007199254740993e15,
                                    2147483648.0,
                                    4294967296.0,
                                    9.2233720368547e18,
                                    9.223372036854775807e18,
                                    1.8446744073709552e19,
                                    1e19,
                                    1e300,
                                    1.7976931348623157e308,
                                    -1e9,
                                    -9.3e18,
                                    -1e308};
    double d = cJSON_IsNumber(x) ? x->valuedouble : 1;
    switch (below(m, 4)) {
    case 0:
        d *= 1e3 * (1 + below(m, 1000000));
        break;
    case 1:
        d = -d;
        break;
    default:
        d = values[below(m, sizeof values / sizeof values[0])];
        break;
    }
    set_number(x, d);
}

/* A string repeated (or padded) to a length around a typical buffer's size. */
static void long_string(mut *m, cJSON *x)
{
    static const size_t lens[] = {63,  64,  65,  127, 128,  255,  256,  257,
                                  511, 512, 513, 600, 1023, 1024, 1025, 4097};
    size_t len = lens[below(m, sizeof lens / sizeof lens[0])];
    const char *s = cJSON_IsString(x) && x->valuestring[0] ? x->valuestring : "a";
    size_t sl = strlen(s);
    char *buf = malloc(len);
    if (!buf)
        return;
    for (size_t i = 0; i < len; i++)
        buf[i] = s[i % sl];
    set_string(x, buf, len);
    free(buf);
}

static void odd_string(mut *m, cJSON *x)
{
    static const char *const values[] = {"",   " ",  "\x01", "\x7f", "\xc3\x28", "\xff",
                                         "%s", "%n", "..",   "/",    "a.b",      "a[0]",
                                         "\"", "\\", "\n",   "NaN",  "-1",       "1e999"};
    const char *v = values[below(m, sizeof values / sizeof values[0])];
    set_string(x, v, strlen(v));
}

/* Wraps the node's value in `depth` arrays or objects ({"a": ...}). */
static void nest(mut *m, cJSON *x)
{
    static const int depths[] = {1, 2, 8, 16, 17, 100, 500};
    int depth = depths[below(m, sizeof depths / sizeof depths[0])];
    bool objects = below(m, 2);
    cJSON *v = cJSON_Duplicate(x, 1);
    if (!v)
        return;
    if (v->string) {
        cJSON_free(v->string);
        v->string = NULL;
    }
    for (int i = 0; i < depth; i++) {
        cJSON *c = objects ? cJSON_CreateObject() : cJSON_CreateArray();
        if (!c) {
            cJSON_Delete(v);
            return;
        }
        if (objects)
            cJSON_AddItemToObject(c, "a", v);
        else
            cJSON_AddItemToArray(c, v);
        v = c;
    }
    take(x, v);
}

static void repeat_element(mut *m, cJSON *x)
{
    static const int times[] = {1, 2, 3, 10, 100};
    int n = cJSON_GetArraySize(x);
    if (n == 0)
        return;
    cJSON *e = cJSON_GetArrayItem(x, (int)below(m, (uint32_t)n));
    int k = times[below(m, sizeof times / sizeof times[0])];
    for (int i = 0; i < k; i++) {
        cJSON *d = cJSON_Duplicate(e, 1);
        if (!d)
            return;
        if (cJSON_IsArray(x) && d->string) {
            cJSON_free(d->string);
            d->string = NULL;
        }
        /* In an object this duplicates the key, on purpose. */
        if (cJSON_IsObject(x))
            cJSON_AddItemToObject(x, e->string, d);
        else
            cJSON_AddItemToArray(x, d);
    }
}

static void mutate_node(mut *m, cJSON *x)
{
    switch (below(m, 9)) {
    case 0:
    case 1:
        extreme_number(m, x);
        break;
    case 2:
        long_string(m, x);
        break;
    case 3:
        odd_string(m, x);
        break;
    case 4:
        nest(m, x);
        break;
    case 5:
        if (cJSON_IsArray(x) || cJSON_IsObject(x))
            repeat_element(m, x);
        else
            extreme_number(m, x);
        break;
    case 6: {
        int n = cJSON_GetArraySize(x);
        if (n > 0)
            cJSON_DeleteItemFromArray(x, (int)below(m, (uint32_t)n));
        break;
    }
    case 7: {
        /* A copy of another node's value (dup first: it may be inside x). */
        cJSON *y = m->nodes[below(m, (uint32_t)m->n)];
        cJSON *d = cJSON_Duplicate(y, 1);
        if (d)
            take(x, d);
        break;
    }
    default: {
        static const char *const values[] = {"null", "true", "false", "{}", "[]", "\"\"", "0"};
        cJSON *d = cJSON_Parse(values[below(m, sizeof values / sizeof values[0])]);
        if (d)
            take(x, d);
        break;
    }
    }
}

size_t fuzz_json_mutate(uint8_t *data, size_t size, size_t max_size, unsigned seed, size_t prefix)
{
    mut *m = malloc(sizeof *m);
    if (!m)
        return LLVMFuzzerMutate(data, size, max_size);
    m->rng = ((uint64_t)seed << 32 | seed) ^ 0x9e3779b97f4a7c15ULL;
    m->n = 0;
    cJSON *root = NULL;
    if (size > prefix && max_size > prefix && below(m, 2) != 0)
        root = cJSON_ParseWithLength((const char *)data + prefix, size - prefix);
    if (!root) {
        free(m);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    collect(m, root);
    mutate_node(m, m->nodes[below(m, (uint32_t)m->n)]);
    free(m);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    size_t len = out ? strlen(out) : 0;
    if (!out || len > max_size - prefix) {
        if (out)
            cJSON_free(out);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(data + prefix, out, len);
    cJSON_free(out);
    return prefix + len;
}
