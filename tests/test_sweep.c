/*
 * Sweeps as data (sim/sweep.h), without processes: --seeds and --shard parsed (the batch
 * systems' variables through an injected table), the slices of a range, nearest-rank
 * distributions worked out by hand, the order runs come in changing no byte, the result
 * file read back to the same bytes, three shards merged equal to one sweep of the whole
 * range in every rendering, the refusals of shards that are not of one sweep, and hostile
 * result files rejected at their JSON path.
 */
#include "fault.h"
#include "sweep.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_MAX ((1ull << 53) - 1)

#define expect_in(hay, needle)                                                                     \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("expected \"%s\" in:\n%s", (needle), (hay));                                  \
    } while (0)

/* ---------------------------------------------------------------- --seeds */

static void test_parse_seeds_good(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        uint64_t first, last;
    } ok[] = {
        {"1..8", 1, 8},
        {"5", 5, 5},
        {"0..0", 0, 0},
        {"0", 0, 0},
        {"41..42", 41, 42},
        {"9007199254740991", SEED_MAX, SEED_MAX},
        {"9007199254740000..9007199254740991", 9007199254740000ull, SEED_MAX},
        {"0..99999999", 0, 99999999},         /* exactly SWP_MAX_SEEDS seeds */
        {"1000..100000999", 1000, 100000999}, /* the same count elsewhere */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t a = 77, b = 77;
        char err[256] = "";
        if (swp_parse_seeds(ok[i].spec, &a, &b, err, sizeof err) != SIM_OK)
            fail_msg("--seeds %s refused: %s", ok[i].spec, err);
        assert_int_equal(a, ok[i].first);
        assert_int_equal(b, ok[i].last);
    }
}

static void test_parse_seeds_bad(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *why;
    } bad[] = {
        {"8..1", "the last seed is before the first"},
        {"1..0", "the last seed is before the first"},
        {"a..b", "expected FIRST..LAST or one seed"},
        {"1..x", "expected FIRST..LAST or one seed"},
        {"x", "expected FIRST..LAST or one seed"},
        {"-1", "expected FIRST..LAST"},
        {"+1", "expected FIRST..LAST"},
        {" 1", "expected FIRST..LAST"},
        {"1 ", "expected FIRST..LAST"},
        {"1..", "expected FIRST..LAST"},
        {"..1", "expected FIRST..LAST"},
        {"", "expected FIRST..LAST"},
        {"..", "expected FIRST..LAST"},
        {"1...3", "expected FIRST..LAST"},
        {"1..2..3", "expected FIRST..LAST"},
        {"0x10", "expected FIRST..LAST"},
        {"1e3", "expected FIRST..LAST"},
        {"1,2", "expected FIRST..LAST"},
        {"1.5", "expected FIRST..LAST"},
        {"9007199254740992", "2^53 - 1"},       /* 2^53 */
        {"0..9007199254740992", "2^53 - 1"},    /* the last one past it */
        {"18446744073709551616", "2^53 - 1"},   /* 2^64 */
        {"18446744073709551615", "2^53 - 1"},   /* 2^64 - 1 */
        {"99999999999999999999999999", "2^53"}, /* longer than any seed */
        {"0..100000000", "more than 100000000 seeds in one sweep"},
        {"0..9007199254740991", "more than 100000000 seeds"},
        {"5..100000005", "more than 100000000 seeds"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t a, b;
        char err[256] = "";
        sim_err rc = swp_parse_seeds(bad[i].spec, &a, &b, err, sizeof err);
        if (rc != SIM_EUSAGE)
            fail_msg("--seeds \"%s\": expected SIM_EUSAGE, got %d", bad[i].spec, rc);
        if (strncmp(err, "--seeds ", 8) != 0)
            fail_msg("--seeds \"%s\": the message does not name the option: %s", bad[i].spec, err);
        expect_in(err, bad[i].spec);
        expect_in(err, bad[i].why);
    }
}

/* ---------------------------------------------------------------- --shard */

typedef struct kv {
    const char *k, *v;
} kv;

/* The injected environment: a table ended by {NULL}. */
static const char *table_env(void *ud, const char *name)
{
    for (const kv *p = ud; p && p->k; p++)
        if (strcmp(p->k, name) == 0)
            return p->v;
    return NULL;
}

#define ENV(...) ((kv[]){__VA_ARGS__, {NULL, NULL}})
#define NOENV    ((kv[]){{NULL, NULL}})

static void test_parse_shard_good(void **state)
{
    (void)state;
    const struct {
        const char *spec;
        kv *env;
        uint32_t index, count;
        const char *from;
    } ok[] = {
        {"2/8", NOENV, 2, 8, "--shard"},
        {"0/1", NOENV, 0, 1, "--shard"},
        {"99999/100000", NOENV, 99999, 100000, "--shard"},
        /* Kubernetes' Indexed Job: 0-based, no count. */
        {"JOB_COMPLETION_INDEX/4", ENV({"JOB_COMPLETION_INDEX", "3"}), 3, 4,
         "JOB_COMPLETION_INDEX"},
        {"JOB_COMPLETION_INDEX/4", ENV({"JOB_COMPLETION_INDEX", "0"}), 0, 4,
         "JOB_COMPLETION_INDEX"},
        {"auto/4", ENV({"JOB_COMPLETION_INDEX", "2"}), 2, 4, "JOB_COMPLETION_INDEX"},
        /* Slurm: less SLURM_ARRAY_TASK_MIN when set, the count from SLURM_ARRAY_TASK_COUNT. */
        {"SLURM_ARRAY_TASK_ID/8", ENV({"SLURM_ARRAY_TASK_ID", "5"}), 5, 8, "SLURM_ARRAY_TASK_ID"},
        {"SLURM_ARRAY_TASK_ID/8", ENV({"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "1"}),
         4, 8, "SLURM_ARRAY_TASK_ID"},
        {"SLURM_ARRAY_TASK_ID/auto",
         ENV({"SLURM_ARRAY_TASK_ID", "12"}, {"SLURM_ARRAY_TASK_MIN", "10"},
             {"SLURM_ARRAY_TASK_COUNT", "3"}),
         2, 3, "SLURM_ARRAY_TASK_ID"},
        {"auto/auto", ENV({"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "2"}), 0, 2,
         "SLURM_ARRAY_TASK_ID"},
        /* GitLab's parallel jobs: 1-based, with CI_NODE_TOTAL. */
        {"CI_NODE_INDEX/auto", ENV({"CI_NODE_INDEX", "1"}, {"CI_NODE_TOTAL", "4"}), 0, 4,
         "CI_NODE_INDEX"},
        {"auto/auto", ENV({"CI_NODE_INDEX", "4"}, {"CI_NODE_TOTAL", "4"}), 3, 4, "CI_NODE_INDEX"},
        {"CI_NODE_INDEX/9", ENV({"CI_NODE_INDEX", "2"}, {"CI_NODE_TOTAL", "4"}), 1, 9,
         "CI_NODE_INDEX"},
        /* Any other variable: 0-based, as it is. */
        {"MATRIX_SHARD/6", ENV({"MATRIX_SHARD", "5"}), 5, 6, "MATRIX_SHARD"},
        {"MATRIX_SHARD/6", ENV({"MATRIX_SHARD", "0"}), 0, 6, "MATRIX_SHARD"},
        {"MATRIX_SHARD/MATRIX_TOTAL", ENV({"MATRIX_SHARD", "1"}, {"MATRIX_TOTAL", "2"}), 1, 2,
         "MATRIX_SHARD"},
        {"2/CI_NODE_TOTAL", ENV({"CI_NODE_TOTAL", "3"}), 2, 3, "--shard"},
        /* `auto` takes the first one set, in the documented order. */
        {"auto/3",
         ENV({"CI_NODE_INDEX", "1"}, {"CI_NODE_TOTAL", "3"}, {"SLURM_ARRAY_TASK_ID", "2"},
             {"JOB_COMPLETION_INDEX", "1"}),
         1, 3, "JOB_COMPLETION_INDEX"},
        {"auto/auto",
         ENV({"CI_NODE_INDEX", "1"}, {"CI_NODE_TOTAL", "3"}, {"SLURM_ARRAY_TASK_ID", "2"},
             {"SLURM_ARRAY_TASK_COUNT", "3"}),
         2, 3, "SLURM_ARRAY_TASK_ID"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        swp_shard sh = {77, 77, NULL};
        char err[512] = "";
        if (swp_parse_shard(ok[i].spec, table_env, ok[i].env, &sh, err, sizeof err) != SIM_OK)
            fail_msg("case %zu: --shard %s refused: %s", i, ok[i].spec, err);
        if (sh.index != ok[i].index || sh.count != ok[i].count)
            fail_msg("case %zu: --shard %s: %u/%u, expected %u/%u", i, ok[i].spec, sh.index,
                     sh.count, ok[i].index, ok[i].count);
        assert_non_null(sh.from);
        assert_string_equal(sh.from, ok[i].from);
    }
}

static void test_parse_shard_bad(void **state)
{
    (void)state;
    const struct {
        const char *spec;
        kv *env;
        const char *why[2];
    } bad[] = {
        {"UNSET_VAR/4", NOENV, {"UNSET_VAR is not set", "index"}},
        {"2/UNSET_TOTAL", NOENV, {"UNSET_TOTAL is not set", "count"}},
        {"auto/4", NOENV, {"none of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID and CI_NODE_INDEX"}},
        {"auto/4", ENV({"SLURM_ARRAY_TASK_COUNT", "4"}, {"CI_NODE_TOTAL", "4"}), {"none of"}},
        {"MATRIX_SHARD/4", ENV({"MATRIX_SHARD", "x"}), {"MATRIX_SHARD=x", "whole number"}},
        {"MATRIX_SHARD/4", ENV({"MATRIX_SHARD", "-1"}), {"MATRIX_SHARD=-1", "whole number"}},
        {"MATRIX_SHARD/4", ENV({"MATRIX_SHARD", ""}), {"MATRIX_SHARD=:", "whole number"}},
        {"MATRIX_SHARD/4", ENV({"MATRIX_SHARD", "1.5"}), {"MATRIX_SHARD=1.5"}},
        {"MATRIX_SHARD/4", ENV({"MATRIX_SHARD", " 2"}), {"MATRIX_SHARD= 2"}},
        {"MATRIX_SHARD/4", ENV({"MATRIX_SHARD", "4294967296"}), {"MATRIX_SHARD=4294967296"}},
        {"auto/4", ENV({"JOB_COMPLETION_INDEX", "one"}), {"JOB_COMPLETION_INDEX=one"}},
        {"2/MATRIX_TOTAL", ENV({"MATRIX_TOTAL", "three"}), {"MATRIX_TOTAL=three"}},
        {"JOB_COMPLETION_INDEX/4",
         ENV({"JOB_COMPLETION_INDEX", "4"}),
         {"index 4 (from JOB_COMPLETION_INDEX) is not below the count 4"}},
        {"8/8", NOENV, {"index 8 is not below the count 8"}},
        {"9/8", NOENV, {"index 9 is not below the count 8"}},
        {"CI_NODE_INDEX/auto",
         ENV({"CI_NODE_INDEX", "0"}, {"CI_NODE_TOTAL", "3"}),
         {"CI_NODE_INDEX=0 is below its first index 1"}},
        {"auto/auto",
         ENV({"CI_NODE_INDEX", "0"}, {"CI_NODE_TOTAL", "3"}),
         {"CI_NODE_INDEX=0 is below its first index 1"}},
        {"CI_NODE_INDEX/auto",
         ENV({"CI_NODE_INDEX", "4"}, {"CI_NODE_TOTAL", "3"}),
         {"index 3 (from CI_NODE_INDEX) is not below the count 3"}},
        {"SLURM_ARRAY_TASK_ID/auto",
         ENV({"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_MIN", "3"},
             {"SLURM_ARRAY_TASK_COUNT", "2"}),
         {"SLURM_ARRAY_TASK_ID=2 is below its first index 3"}},
        {"SLURM_ARRAY_TASK_ID/auto",
         ENV({"SLURM_ARRAY_TASK_ID", "1"}),
         {"SLURM_ARRAY_TASK_COUNT is not set"}},
        /* A first index that is not a number is refused, not read as 0. */
        {"SLURM_ARRAY_TASK_ID/4",
         ENV({"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "x1"}),
         {"SLURM_ARRAY_TASK_MIN=x1: expected a whole number"}},
        {"0/0", NOENV, {"COUNT 0: expected 1 to 100000"}},
        {"0/100001", NOENV, {"COUNT 100001: expected 1 to 100000"}},
        {"MATRIX_SHARD/MATRIX_TOTAL",
         ENV({"MATRIX_SHARD", "0"}, {"MATRIX_TOTAL", "0"}),
         {"COUNT 0"}},
        {"CI_NODE_INDEX/auto", ENV({"CI_NODE_INDEX", "1"}, {"CI_NODE_TOTAL", "0"}), {"COUNT 0"}},
        {"JOB_COMPLETION_INDEX/auto", ENV({"JOB_COMPLETION_INDEX", "1"}), {"COUNT `auto` needs"}},
        {"auto/auto", ENV({"JOB_COMPLETION_INDEX", "1"}), {"COUNT `auto` needs"}},
        {"MATRIX_SHARD/auto", ENV({"MATRIX_SHARD", "1"}), {"COUNT `auto` needs"}},
        {"1/auto", NOENV, {"COUNT `auto` needs"}},
        {"2", NOENV, {"expected INDEX/COUNT"}},
        {"2-8", NOENV, {"expected INDEX/COUNT"}},
        {"/8", NOENV, {"expected INDEX/COUNT"}},
        {"2/", NOENV, {"expected INDEX/COUNT"}},
        {"", NOENV, {"expected INDEX/COUNT"}},
        {"2/8/9", NOENV, {"expected INDEX/COUNT"}},
        {"a-b/4", NOENV, {"expected INDEX/COUNT"}},
        {"1x/4", NOENV, {"expected INDEX/COUNT"}},
        {"4294967296/8", NOENV, {"expected INDEX/COUNT"}},
        {"-1/8", NOENV, {"expected INDEX/COUNT"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        swp_shard sh;
        char err[512] = "";
        sim_err rc = swp_parse_shard(bad[i].spec, table_env, bad[i].env, &sh, err, sizeof err);
        if (rc != SIM_EUSAGE)
            fail_msg("case %zu: --shard \"%s\": expected SIM_EUSAGE, got %d", i, bad[i].spec, rc);
        if (strncmp(err, "--shard ", 8) != 0)
            fail_msg("case %zu: the message does not name the option: %s", i, err);
        expect_in(err, bad[i].spec);
        for (size_t k = 0; k < 2 && bad[i].why[k]; k++)
            expect_in(err, bad[i].why[k]);
    }
}

/* ---------------------------------------------------------------- slices */

/* Shards 0..n-1 of [first, last]: contiguous, in order, each seed once, none larger than
 * ceil(T/n) nor smaller than floor(T/n), and min(n, T) of them not empty. */
static void check_slices(uint64_t first, uint64_t last, uint32_t n)
{
    uint64_t next = first, total = last - first + 1, nonempty = 0;
    uint64_t lo = total / n, hi = (total + n - 1) / n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = 0, b = 0;
        if (!swp_slice(first, last, (swp_shard){i, n, NULL}, &a, &b)) {
            if (lo != 0)
                fail_msg("%" PRIu64 "..%" PRIu64 " / %u: slice %u empty", first, last, n, i);
            continue;
        }
        nonempty++;
        if (a != next || b < a || b > last)
            fail_msg("%" PRIu64 "..%" PRIu64 " / %u: slice %u is %" PRIu64 "..%" PRIu64
                     ", expected it to start at %" PRIu64,
                     first, last, n, i, a, b, next);
        if (b - a + 1 > hi || b - a + 1 < lo)
            fail_msg("%" PRIu64 "..%" PRIu64 " / %u: slice %u has %" PRIu64 " seeds", first, last,
                     n, i, b - a + 1);
        next = b + 1;
    }
    if (next != last + 1)
        fail_msg("%" PRIu64 "..%" PRIu64 " / %u: the slices end at %" PRIu64, first, last, n,
                 next - 1);
    assert_int_equal(nonempty, total < n ? total : n);
}

static void test_slices_cover_the_range(void **state)
{
    (void)state;
    /* By hand: what the CLI tests rely on. */
    uint64_t a, b;
    assert_true(swp_slice(1, 8, (swp_shard){0, 3, NULL}, &a, &b));
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    assert_true(swp_slice(1, 8, (swp_shard){1, 3, NULL}, &a, &b));
    assert_int_equal(a, 3);
    assert_int_equal(b, 5);
    assert_true(swp_slice(1, 8, (swp_shard){2, 3, NULL}, &a, &b));
    assert_int_equal(a, 6);
    assert_int_equal(b, 8);
    assert_false(swp_slice(1, 2, (swp_shard){0, 3, NULL}, &a, &b));
    assert_true(swp_slice(1, 2, (swp_shard){1, 3, NULL}, &a, &b));
    assert_int_equal(a, 1);
    assert_int_equal(b, 1);
    assert_true(swp_slice(7, 7, (swp_shard){0, 1, NULL}, &a, &b));
    assert_int_equal(a, 7);
    assert_int_equal(b, 7);

    static const uint64_t firsts[] = {0, 1, 1000, SEED_MAX - 1200};
    static const uint64_t totals[] = {1, 2, 3, 5, 7, 8, 10, 13, 31, 97, 100, 1000, 1201};
    for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; f++)
        for (size_t t = 0; t < sizeof totals / sizeof totals[0]; t++) {
            for (uint32_t n = 1; n <= 45; n++)
                check_slices(firsts[f], firsts[f] + totals[t] - 1, n);
            check_slices(firsts[f], firsts[f] + totals[t] - 1, 1000);
            check_slices(firsts[f], firsts[f] + totals[t] - 1, SWP_MAX_SHARDS);
        }
    /* The largest sweep over the most shards: the products stay exact. */
    check_slices(0, SWP_MAX_SEEDS - 1, SWP_MAX_SHARDS);
    check_slices(SEED_MAX - SWP_MAX_SEEDS + 1, SEED_MAX, SWP_MAX_SHARDS - 1);
    assert_true(swp_slice(0, SWP_MAX_SEEDS - 1,
                          (swp_shard){SWP_MAX_SHARDS - 1, SWP_MAX_SHARDS, NULL}, &a, &b));
    assert_int_equal(a, SWP_MAX_SEEDS - 1000);
    assert_int_equal(b, SWP_MAX_SEEDS - 1);
}

/* ---------------------------------------------------------------- building sweeps by hand */

/* One run of variant vi on `seed`, made up but deterministic: errors (with and without a
 * message), unverified runs, failures of one check or two, passes; metrics with repeated
 * values, empty populations, NaN, -0; swarm masks. */
typedef struct made {
    res_run r;
    check_result c[2];
    check_metric m[6];
    size_t nm;
    unsigned present, on;
} made;

static void make_run(size_t vi, uint64_t seed, made *b)
{
    memset(b, 0, sizeof *b);
    res_run *r = &b->r;
    r->file = (char *)"x.json";
    r->name = (char *)"a made-up sweep";
    r->variant = (char *)(vi ? "immediate" : "threshold");
    r->seed = seed;
    r->telemetry = true;
    r->verified = true;
    b->present = vi ? 0x5u : 0x7u;
    b->on = (unsigned)(seed * 5 + vi) & 7u;
    unsigned k = (unsigned)((seed * 7 + vi * 3) % 11);
    if (k == 0 || k == 1) {
        r->err = k == 0 ? SIM_ECHILD : SIM_EINPUT;
        r->message = (char *)(k == 0 ? "the child died of signal 9" : NULL);
        r->telemetry = r->verified = false;
        return;
    }
    r->verified = k != 2; /* unverified */
    unsigned lost = (unsigned)((seed * 5 + vi * 2) % 6);
    unsigned items = 100 + (unsigned)(seed % 13);
    r->items = items;
    r->lost = lost;
    b->c[0] = (check_result){.pass = lost <= 3, .holds = true, .measured = lost};
    snprintf(b->c[0].check, sizeof b->c[0].check, "lost");
    snprintf(b->c[0].expected, sizeof b->c[0].expected, "lost <= 3");
    snprintf(b->c[0].detail, sizeof b->c[0].detail, "lost = %u", lost);
    snprintf(b->c[0].why, sizeof b->c[0].why, "a <bound> & \"quotes\" that some seeds break");
    b->c[1] = (check_result){.pass = k != 5 && k != 6,
                             .holds = false,
                             .vacuous = k == 7,
                             .measured = k == 7 ? NAN : (double)k / 10};
    snprintf(b->c[1].check, sizeof b->c[1].check, "no_loss");
    snprintf(b->c[1].expected, sizeof b->c[1].expected, "not (loss_ratio <= 0.01)");
    snprintf(b->c[1].detail, sizeof b->c[1].detail, "k = %u", k);
    r->checks = b->c;
    r->nchecks = 2;
    static const char *const names[] = {"lost", "items", "loss_ratio", "delay_ms", "zero", "nan"};
    double vals[] = {lost,
                     items,
                     (double)lost / items,
                     (double)seed * 0.25,
                     (seed & 1) ? -0.0 : 0.0,
                     seed % 3 ? (double)seed : NAN};
    for (size_t i = 0; i < 6; i++) {
        snprintf(b->m[i].name, sizeof b->m[i].name, "%s", names[i]);
        b->m[i].value = vals[i];
    }
    b->m[3].empty = seed % 4 == 0;
    b->nm = 6;
}

static void add_made(swp_sweep *s, size_t vi, uint64_t seed)
{
    made b;
    make_run(vi, seed, &b);
    swp_add(s, vi, &b.r, b.m, b.nm, b.present, b.on);
}

static void sweep_init(swp_sweep *s, uint64_t first, uint64_t last, swp_shard sh, bool swarm)
{
    memset(s, 0, sizeof *s);
    s->scenario = strdup("tests/fixtures/sweep/made up.json");
    s->scenario_hash = strdup("0123456789abcdef");
    s->binary = strdup("edgeloss 0.1.0 (executable 00000000deadbeef)");
    s->first = first;
    s->last = last;
    s->swarm = swarm;
    s->shard = sh;
    s->prog = "edgeloss";
    assert_int_equal(swp_variant_at(s, "threshold"), 0);
    assert_int_equal(swp_variant_at(s, "immediate"), 1);
}

/* How a sweep's runs come in: seed order, reversed, or scattered. */
typedef enum { ASCENDING, DESCENDING, SCATTERED } order;

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The sweep (or shard) of [first, last] with every run of its slice added in `o`. */
static void build(swp_sweep *s, uint64_t first, uint64_t last, swp_shard sh, bool swarm, order o)
{
    sweep_init(s, first, last, sh, swarm);
    uint64_t a, b;
    if (swp_slice(first, last, sh, &a, &b)) {
        uint64_t n = b - a + 1, stride = 7;
        while (gcd(stride, 2 * n) != 1) /* a stride coprime with 2n visits every run once */
            stride += 2;
        for (uint64_t i = 0; i < 2 * n; i++) {
            uint64_t j = o == ASCENDING    ? i
                         : o == DESCENDING ? 2 * n - 1 - i
                                           : (i * stride + 3) % (2 * n);
            add_made(s, (size_t)(j % 2), a + j / 2);
        }
    }
    s->complete = true;
    swp_finish(s);
}

static char *print_json(cJSON *j)
{
    assert_non_null(j);
    char *t = cJSON_Print(j);
    cJSON_Delete(j);
    assert_non_null(t);
    return t;
}

/* A document as a reader gets it (whole numbers are written raw: cJSON keeps them as text
 * until parsed). */
static cJSON *reparse(cJSON *j)
{
    char *t = print_json(j);
    cJSON *back = cJSON_Parse(t);
    free(t);
    assert_non_null(back);
    return back;
}

static char *summary_text(const swp_sweep *s)
{
    return print_json(swp_json(s));
}

static char *result_text(const swp_sweep *s)
{
    return print_json(swp_result_json(s));
}

static char *junit_text(const swp_sweep *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    swp_write_junit(s, f);
    fclose(f);
    return buf;
}

static char *terminal_text(const swp_sweep *s, const char *extra)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    swp_print(s, f, extra, 10);
    fclose(f);
    return buf;
}

/* Every rendering of a and b is the same bytes (and the exit status the same). */
static void assert_same_renderings(const swp_sweep *a, const swp_sweep *b)
{
    char *x[5] = {summary_text(a), result_text(a), junit_text(a), terminal_text(a, NULL),
                  terminal_text(a, "delay_ms,zero")};
    char *y[5] = {summary_text(b), result_text(b), junit_text(b), terminal_text(b, NULL),
                  terminal_text(b, "delay_ms,zero")};
    static const char *const what[] = {"swp_json", "swp_result_json", "JUnit", "terminal",
                                       "terminal with --metric"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(x[i], y[i]) != 0)
            fail_msg("%s differs:\n%s\n---- and ----\n%s", what[i], x[i], y[i]);
        free(x[i]);
        free(y[i]);
    }
    assert_int_equal(swp_exit_code(a), swp_exit_code(b));
}

static sim_err read_text(const char *text, const char *file, swp_sweep *out, char *err,
                         size_t errlen)
{
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    sim_err rc = swp_result_from_json(j, file, out, err, errlen);
    cJSON_Delete(j);
    out->prog = "edgeloss"; /* not in the file: how the reader calls edgeloss */
    return rc;
}

/* ---------------------------------------------------------------- distributions */

/* A sweep of one variant, one metric "m": run i has value vals[i] (NAN: empty). */
static void one_metric(swp_sweep *s, const double *vals, size_t n)
{
    sweep_init(s, 1, n, (swp_shard){0, 1, NULL}, false);
    for (size_t i = 0; i < n; i++) {
        res_run r = {.variant = (char *)"threshold", .seed = i + 1};
        check_metric m = {.name = "m", .value = vals[i], .empty = isnan(vals[i])};
        swp_add(s, 0, &r, &m, 1, 0, 0);
    }
    s->complete = true;
    swp_finish(s);
    assert_int_equal(s->variants[0].nmetrics, 1);
    assert_string_equal(s->variants[0].metrics[0].name, "m");
}

static void expect_dist(const double *vals, size_t n, uint64_t seeds, uint64_t empty, double min,
                        double p50, double p90, double p99, double max)
{
    swp_sweep s;
    one_metric(&s, vals, n);
    const swp_metric *m = &s.variants[0].metrics[0];
    assert_int_equal(m->seeds, seeds);
    assert_int_equal(m->empty, empty);
    swp_dist d;
    assert_true(swp_distribution(m, &d));
    assert_int_equal(d.seeds, seeds);
    if (d.min != min || d.p50 != p50 || d.p90 != p90 || d.p99 != p99 || d.max != max)
        fail_msg("%zu values: min %g p50 %g p90 %g p99 %g max %g, expected %g %g %g %g %g", n,
                 d.min, d.p50, d.p90, d.p99, d.max, min, p50, p90, p99, max);
    swp_free(&s);
}

static void test_distributions_by_hand(void **state)
{
    (void)state;
    double v[200];
    /* 1..100: rank ceil(q n) is the value itself. */
    for (int i = 0; i < 100; i++)
        v[i] = i + 1;
    expect_dist(v, 100, 100, 0, 1, 50, 90, 99, 100);
    /* 1..200: p50 rank 100, p90 180, p99 198. */
    for (int i = 0; i < 200; i++)
        v[i] = 200 - i;
    expect_dist(v, 200, 200, 0, 1, 100, 180, 198, 200);
    /* Three values: ranks ceil(1.5) = 2, ceil(2.7) = 3, ceil(2.97) = 3. */
    expect_dist((double[]){30, 10, 20}, 3, 3, 0, 10, 20, 30, 30, 30);
    /* Four: nearest rank, no interpolation - p50 is the 2nd, not 2.5. */
    expect_dist((double[]){4, 1, 3, 2}, 4, 4, 0, 1, 2, 4, 4, 4);
    /* Duplicates: {5, 5, 5, 7}: ranks 2, 4, 4. */
    expect_dist((double[]){5, 7, 5, 5}, 4, 4, 0, 5, 5, 7, 7, 7);
    /* Ten: ranks 5, 9, 10; 9 times 0.1 and once 2.5. */
    expect_dist((double[]){0.1, 0.1, 0.1, 0.1, 2.5, 0.1, 0.1, 0.1, 0.1, 0.1}, 10, 10, 0, 0.1, 0.1,
                0.1, 2.5, 2.5);
    /* One value; -0 and 0 are one value. */
    expect_dist((double[]){42}, 1, 1, 0, 42, 42, 42, 42, 42);
    expect_dist((double[]){-0.0, 0.0, 0.0, -1}, 4, 4, 0, -1, 0, 0, 0, 0);
    /* Empty populations are left out and counted; NaN is one. */
    expect_dist((double[]){NAN, 3, NAN, 1, 2}, 5, 3, 2, 1, 2, 3, 3, 3);

    swp_sweep s;
    one_metric(&s, (double[]){5, 7, 5, 5}, 4);
    assert_int_equal(s.variants[0].metrics[0].nvals, 2); /* each value once */
    assert_true(s.variants[0].metrics[0].vals[0].v == 5);
    assert_int_equal(s.variants[0].metrics[0].vals[0].n, 3);
    swp_free(&s);

    /* Every seed empty: no distribution, nulls in the JSON, "-" on the terminal. */
    one_metric(&s, (double[]){NAN, NAN, NAN}, 3);
    swp_dist d;
    assert_false(swp_distribution(&s.variants[0].metrics[0], &d));
    cJSON *j = reparse(swp_json(&s));
    const cJSON *m = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "variants"), 0), "metrics"),
        "m");
    assert_non_null(m);
    assert_int_equal(cJSON_GetObjectItem(m, "seeds")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(m, "empty")->valueint, 3);
    static const char *const q[] = {"min", "p50", "p90", "p99", "max"};
    for (int i = 0; i < 5; i++)
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, q[i])));
    cJSON_Delete(j);
    char *t = terminal_text(&s, "m");
    expect_in(t,
              "  m                                       -            -            -            -"
              "        0\n");
    free(t);
    swp_free(&s);

    /* The JSON's percentiles are these. */
    for (int i = 0; i < 100; i++)
        v[i] = i + 1;
    one_metric(&s, v, 100);
    j = reparse(swp_json(&s));
    m = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "variants"), 0), "metrics"),
        "m");
    assert_true(cJSON_GetObjectItem(m, "min")->valuedouble == 1);
    assert_true(cJSON_GetObjectItem(m, "p50")->valuedouble == 50);
    assert_true(cJSON_GetObjectItem(m, "p90")->valuedouble == 90);
    assert_true(cJSON_GetObjectItem(m, "p99")->valuedouble == 99);
    assert_true(cJSON_GetObjectItem(m, "max")->valuedouble == 100);
    assert_int_equal(cJSON_GetObjectItem(m, "seeds")->valueint, 100);
    cJSON_Delete(j);
    swp_free(&s);
}

/* Whatever the order runs finish in, the same bytes. */
/* A metric one run reports and another does not (a pipeline hop the second never took) is
 * empty for the second; metrics are by name whatever order the runs listed them in. */
static void test_missing_metric_is_empty(void **state)
{
    (void)state;
    swp_sweep s = {.scenario = strdup("x.json"),
                   .scenario_hash = strdup("0"),
                   .binary = strdup("b"),
                   .first = 1,
                   .last = 3,
                   .shard = {0, 1, NULL},
                   .complete = true};
    size_t v = swp_variant_at(&s, "baseline");
    check_metric two[2] = {{.name = "zeta", .value = 1}, {.name = "hop_b", .value = 5}};
    check_metric one[1] = {{.name = "zeta", .value = 2}};
    res_run r = {.variant = "baseline", .seed = 1, .telemetry = true, .verified = true};
    swp_add(&s, v, &r, two, 2, 0, 0);
    r.seed = 2;
    swp_add(&s, v, &r, one, 1, 0, 0);
    r.seed = 3;
    r.verified = false; /* unverified: no metrics at all, so it is no metric's seed */
    swp_add(&s, v, &r, NULL, 0, 0, 0);
    swp_finish(&s);
    const swp_variant *x = &s.variants[0];
    assert_int_equal(x->metric_runs, 2);
    assert_int_equal(x->nmetrics, 2);
    assert_string_equal(x->metrics[0].name, "hop_b");
    assert_int_equal(x->metrics[0].seeds, 1);
    assert_int_equal(x->metrics[0].empty, 1);
    assert_string_equal(x->metrics[1].name, "zeta");
    assert_int_equal(x->metrics[1].seeds, 2);
    assert_int_equal(x->metrics[1].empty, 0);
    swp_free(&s);
}

static void test_order_does_not_matter(void **state)
{
    (void)state;
    for (int swarm = 0; swarm < 2; swarm++) {
        swp_sweep a, b, c;
        build(&a, 1, 40, (swp_shard){0, 1, NULL}, swarm, ASCENDING);
        build(&b, 1, 40, (swp_shard){0, 1, NULL}, swarm, DESCENDING);
        build(&c, 1, 40, (swp_shard){0, 1, NULL}, swarm, SCATTERED);
        assert_same_renderings(&a, &b);
        assert_same_renderings(&a, &c);
        /* It is not vacuous: every kind of outcome is in there, and the failures by seed. */
        for (size_t v = 0; v < 2; v++) {
            const swp_variant *x = &a.variants[v];
            assert_int_equal(x->runs, 40);
            assert_true(x->status[RES_PASS] && x->status[RES_FAIL] && x->status[RES_UNVERIFIED] &&
                        x->status[RES_ERROR]);
            assert_int_equal(x->nfailures, 40 - x->status[RES_PASS]);
            for (size_t k = 1; k < x->nfailures; k++)
                assert_true(x->failures[k - 1].seed < x->failures[k].seed);
        }
        /* And a different run changes the bytes (the comparison can fail). */
        char *t1 = summary_text(&a);
        swp_free(&c);
        build(&c, 1, 40, (swp_shard){0, 1, NULL}, swarm, SCATTERED);
        made m;
        make_run(0, 41, &m);
        c.last = 41;
        swp_add(&c, 0, &m.r, m.m, m.nm, m.present, m.on);
        swp_finish(&c);
        char *t2 = summary_text(&c);
        assert_string_not_equal(t1, t2);
        free(t1);
        free(t2);
        swp_free(&a);
        swp_free(&b);
        swp_free(&c);
    }
}

/* The renderings say what the runs were: counts, first failing checks, reproduce commands,
 * swarm, exit codes - by hand for a few seeds. */
static void test_renderings_by_hand(void **state)
{
    (void)state;
    swp_sweep s;
    sweep_init(&s, 3, 5, (swp_shard){0, 1, NULL}, true);
    free(s.variant);
    s.variant = strdup("it's");
    size_t vi = swp_variant_at(&s, "it's");
    assert_int_equal(vi, 2);
    check_result fail = {.check = "lost",
                         .pass = false,
                         .holds = true,
                         .measured = 7,
                         .expected = "lost <= 3",
                         .detail = "lost = 7"};
    check_result ok = {.check = "no_loss",
                       .pass = true,
                       .holds = true,
                       .measured = 0,
                       .expected = "lost == 0",
                       .detail = "lost = 0"};
    check_result two[2] = {ok, fail};
    res_run r4 = {.variant = (char *)"it's",
                  .seed = 4,
                  .telemetry = true,
                  .verified = true,
                  .checks = two,
                  .nchecks = 2};
    res_run r3 = {.variant = (char *)"it's",
                  .seed = 3,
                  .err = SIM_ECHILD,
                  .message = (char *)"killed by signal 9"};
    res_run r5 = {.variant = (char *)"it's",
                  .seed = 5,
                  .telemetry = true,
                  .verified = true,
                  .checks = &ok,
                  .nchecks = 1};
    swp_add(&s, vi, &r4, NULL, 0, 0x3, 0x2);
    swp_add(&s, vi, &r3, NULL, 0, 0x3, 0x1);
    swp_add(&s, vi, &r5, NULL, 0, 0x3, 0x0);
    s.complete = true;
    swp_finish(&s);
    const swp_variant *v = &s.variants[vi];
    assert_int_equal(v->nfailures, 2);
    assert_int_equal(v->failures[0].seed, 3);
    assert_int_equal(v->failures[1].seed, 4);
    char cmd[512];
    swp_reproduce(&s, v, &v->failures[1], cmd, sizeof cmd);
    assert_string_equal(cmd, "edgeloss run 'tests/fixtures/sweep/made up.json' --variant "
                             "'it'\\''s' --seed 4 --swarm");
    s.swarm = false;
    s.prog = NULL;
    swp_reproduce(&s, v, &v->failures[0], cmd, sizeof cmd);
    assert_string_equal(cmd, "edgeloss run 'tests/fixtures/sweep/made up.json' --variant "
                             "'it'\\''s' --seed 3");
    s.swarm = true;
    s.prog = "/opt/bin/edgeloss";
    /* An error run is a harness failure: 3. */
    assert_int_equal(swp_exit_code(&s), 3);

    char *t = terminal_text(&s, NULL);
    expect_in(t, "sweep tests/fixtures/sweep/made up.json: seeds 3..5, 3 runs, swarm\n");
    expect_in(t, "\nvariant it's: 3 runs: 1 pass, 1 fail, 0 unverified, 1 error\n");
    expect_in(t, "  PASS   no_loss: failed on 0 of 2 seeds\n");
    expect_in(t, "  FAIL   lost: failed on 1 of 2 seeds\n");
    expect_in(t, "    seed 3: error ECHILD: killed by signal 9\n"
                 "      swarm: network on, ingest off\n"
                 "      reproduce: /opt/bin/edgeloss run 'tests/fixtures/sweep/made up.json' "
                 "--variant 'it'\\''s' --seed 3 --swarm\n");
    expect_in(t, "    seed 4: lost: expected lost <= 3, measured lost = 7\n"
                 "      swarm: network off, ingest on\n");
    expect_in(t, "\nsome seeds did not pass\n");
    free(t);

    cJSON *j = reparse(swp_json(&s));
    assert_int_equal(cJSON_GetObjectItem(j, "exit_code")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring, "edgeloss sweep");
    assert_null(cJSON_GetObjectItem(j, "shard")); /* the summary has no shard */
    const cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "variants"), 2);
    const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(x, "failures"), 1);
    assert_int_equal(cJSON_GetObjectItem(f, "seed")->valueint, 4);
    assert_string_equal(cJSON_GetObjectItem(f, "first_failing")->valuestring, "lost");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "swarm"), "network")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "swarm"), "ingest")));
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "swarm"), "runtime"));
    f = cJSON_GetArrayItem(cJSON_GetObjectItem(x, "failures"), 0);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "error"), "code")->valuestring,
                        "ECHILD");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f, "first_failing")));
    cJSON_Delete(j);

    t = junit_text(&s);
    expect_in(t, "<testsuites name=\"edgeloss sweep\" tests=\"5\" failures=\"1\" errors=\"1\"");
    expect_in(t, "<testsuite name=\"tests/fixtures/sweep/made up.json (it&apos;s, seeds 3..5)\" "
                 "tests=\"3\" failures=\"1\" errors=\"1\"");
    expect_in(t, "<failure type=\"check\" message=\"failed on 1 of 2 seeds\">seed 4: expected "
                 "lost &lt;= 3, measured lost = 7\n");
    expect_in(t, "<error type=\"ECHILD\" message=\"1 of 3 seeds could not run\">seed 3: ECHILD: "
                 "killed by signal 9\n");
    free(t);

    /* Unverified alone: 1. Interrupted: 130. */
    swp_sweep u;
    sweep_init(&u, 1, 1, (swp_shard){0, 1, NULL}, false);
    res_run ru = {.variant = (char *)"threshold", .seed = 1, .telemetry = true};
    swp_add(&u, 0, &ru, NULL, 0, 0, 0);
    u.complete = true;
    swp_finish(&u);
    assert_int_equal(swp_exit_code(&u), 1);
    u.complete = false;
    assert_int_equal(swp_exit_code(&u), 130);
    t = terminal_text(&u, NULL);
    expect_in(t, "seeds 1..1, 1 runs (interrupted: incomplete)\n");
    expect_in(t, "    seed 1: unverified: no ingest database to decide fates\n");
    free(t);
    swp_free(&u);
    swp_free(&s);

    /* A shard's first line names its slice; more shards than seeds: an empty one. */
    build(&u, 1, 2, (swp_shard){1, 3, NULL}, false, ASCENDING);
    t = terminal_text(&u, NULL);
    expect_in(t, "made up.json: seeds 1..1 (shard 1 of 3, 0-based, of seeds 1..2), 2 runs\n");
    free(t);
    swp_free(&u);
    build(&u, 1, 2, (swp_shard){0, 3, NULL}, false, ASCENDING);
    t = terminal_text(&u, NULL);
    expect_in(t, "made up.json: no seeds (shard 0 of 3, 0-based, of seeds 1..2), 0 runs\n");
    expect_in(t, "\nvariant threshold: 0 runs: 0 pass, 0 fail, 0 unverified, 0 error\n");
    free(t);
    swp_free(&u);

    /* Every seed passing: 0. */
    sweep_init(&u, 1, 2, (swp_shard){0, 1, NULL}, false);
    for (uint64_t seed = 1; seed <= 2; seed++) {
        res_run rp = {.variant = (char *)"immediate",
                      .seed = seed,
                      .telemetry = true,
                      .verified = true,
                      .checks = &ok,
                      .nchecks = 1};
        swp_add(&u, 1, &rp, NULL, 0, 0, 0);
    }
    u.complete = true;
    swp_finish(&u);
    assert_int_equal(swp_exit_code(&u), 0);
    t = terminal_text(&u, NULL);
    expect_in(t, "\nevery seed passes every check\n");
    free(t);
    swp_free(&u);
}

/* ---------------------------------------------------------------- result files */

static void test_result_round_trip(void **state)
{
    (void)state;
    static const struct {
        uint64_t first, last;
        swp_shard sh;
        bool swarm;
    } cases[] = {
        {1, 23, {0, 1, NULL}, true},
        {1, 23, {0, 1, NULL}, false},
        {1, 23, {1, 3, NULL}, true},
        {100, 140, {2, 3, NULL}, false},
        {1, 2, {0, 3, NULL}, true},                    /* an empty slice */
        {SEED_MAX - 30, SEED_MAX, {3, 4, NULL}, true}, /* seeds past 2^52 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swp_sweep s, back;
        build(&s, cases[i].first, cases[i].last, cases[i].sh, cases[i].swarm, SCATTERED);
        free(s.variant);
        s.variant = i % 2 ? strdup("threshold") : NULL; /* only the field: both variants are in */
        char *t1 = result_text(&s), err[512] = "";
        if (read_text(t1, "r.json", &back, err, sizeof err) != SIM_OK)
            fail_msg("case %zu: its own result file refused: %s\n%s", i, err, t1);
        char *t2 = result_text(&back);
        assert_string_equal(t1, t2);
        assert_same_renderings(&s, &back);
        assert_int_equal(back.shard.index, cases[i].sh.index);
        assert_int_equal(back.shard.count, cases[i].sh.count);
        assert_int_equal(back.first, cases[i].first);
        assert_int_equal(back.last, cases[i].last);
        assert_true(back.swarm == cases[i].swarm);
        assert_true(back.complete);
        /* The file is a result, not the summary; it has the shard and the exact values. */
        cJSON *j = cJSON_Parse(t1);
        assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring, "edgeloss sweep result");
        assert_int_equal(cJSON_GetObjectItem(j, "schema_version")->valueint, SWP_SCHEMA_VERSION);
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "shard"), "count")->valueint,
                         cases[i].sh.count);
        assert_null(cJSON_GetObjectItem(j, "exit_code"));
        cJSON_Delete(j);
        if (cases[i].first > 1000) { /* seeds written digit for digit */
            char digits[32];
            snprintf(digits, sizeof digits, "%" PRIu64, cases[i].last);
            expect_in(t1, digits);
        }
        free(t1);
        free(t2);
        swp_free(&s);
        swp_free(&back);
    }
}

static const char *const files[] = {"s0.json", "s1.json", "s2.json", "s3.json"};

/* Shards i of 3 of 1..23, each built in another order, each written and read back. */
static void three_shards(swp_sweep sh[3], bool reread, bool swarm)
{
    for (uint32_t i = 0; i < 3; i++) {
        swp_sweep s;
        build(&s, 1, 23, (swp_shard){i, 3, "--shard"}, swarm, (order)((i + 1) % 3));
        if (!reread) {
            sh[i] = s;
            continue;
        }
        char *t = result_text(&s), err[512];
        if (read_text(t, files[i], &sh[i], err, sizeof err) != SIM_OK)
            fail_msg("shard %u refused: %s", i, err);
        free(t);
        swp_free(&s);
    }
}

static void test_merge_equals_the_whole(void **state)
{
    (void)state;
    for (int swarm = 0; swarm < 2; swarm++) {
        swp_sweep whole, sh[3], merged, again;
        char err[1024] = "";
        build(&whole, 1, 23, (swp_shard){0, 1, "--shard"}, swarm, ASCENDING);
        three_shards(sh, true, swarm);
        /* Given in any order. */
        swp_sweep *ptr[3] = {&sh[2], &sh[0], &sh[1]};
        const char *names[3] = {files[2], files[0], files[1]};
        if (swp_merge(ptr, names, 3, &merged, err, sizeof err) != SIM_OK)
            fail_msg("merge refused: %s", err);
        assert_same_renderings(&whole, &merged);
        assert_int_equal(swp_exit_code(&merged), 3); /* it has errors: the harness's */
        /* A merged result merges again, alone. */
        char *t = result_text(&merged);
        swp_sweep back;
        assert_int_equal(read_text(t, "m.json", &back, err, sizeof err), SIM_OK);
        free(t);
        swp_sweep *one[1] = {&back};
        assert_int_equal(swp_merge(one, files, 1, &again, err, sizeof err), SIM_OK);
        assert_same_renderings(&whole, &again);
        swp_free(&back);
        swp_free(&again);
        swp_free(&merged);
        for (int i = 0; i < 3; i++)
            swp_free(&sh[i]);

        /* The same from the shards as built (not read back), in their order. */
        three_shards(sh, false, swarm);
        swp_sweep *in_order[3] = {&sh[0], &sh[1], &sh[2]};
        assert_int_equal(swp_merge(in_order, files, 3, &merged, err, sizeof err), SIM_OK);
        assert_same_renderings(&whole, &merged);
        swp_free(&merged);
        /* Two shards are not the whole. */
        swp_sweep *two[2] = {&sh[0], &sh[1]};
        assert_int_equal(swp_merge(two, files, 2, &merged, err, sizeof err), SIM_EINPUT);
        swp_free(&merged);
        for (int i = 0; i < 3; i++)
            swp_free(&sh[i]);
        swp_free(&whole);
    }

    /* More shards than seeds: the empty slice's shard merges to nothing, and may be absent. */
    swp_sweep whole, sh[3], merged;
    char err[1024];
    build(&whole, 1, 2, (swp_shard){0, 1, NULL}, true, ASCENDING);
    for (uint32_t i = 0; i < 3; i++)
        build(&sh[i], 1, 2, (swp_shard){i, 3, NULL}, true, DESCENDING);
    assert_int_equal(sh[0].variants[0].runs, 0);
    swp_sweep *all[3] = {&sh[0], &sh[1], &sh[2]};
    assert_int_equal(swp_merge(all, files, 3, &merged, err, sizeof err), SIM_OK);
    assert_same_renderings(&whole, &merged);
    swp_free(&merged);
    assert_int_equal(swp_merge(all + 1, files + 1, 2, &merged, err, sizeof err), SIM_OK);
    assert_same_renderings(&whole, &merged);
    swp_free(&merged);
    for (int i = 0; i < 3; i++)
        swp_free(&sh[i]);
    swp_free(&whole);
}

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = v ? strdup(v) : NULL;
}

static void test_merge_refuses(void **state)
{
    (void)state;
    enum {
        SCENARIO,
        HASH,
        BINARY,
        LAST,
        FIRST,
        VARIANT,
        SWARM,
        COUNT,
        TWICE,
        MISSING,
        PART,
        NCASES
    };
    static const char *const why[NCASES][3] = {
        [SCENARIO] = {"s0.json and s1.json are shards of different sweeps", "scenario files",
                      "(tests/fixtures/sweep/made up.json and other.json)"},
        [HASH] = {"s0.json and s1.json", "scenario contents",
                  "(0123456789abcdef and fedcba9876543210)"},
        [BINARY] = {"s0.json and s1.json", "edgeloss binaries", "edgeloss 0.2.0"},
        [LAST] = {"s0.json and s1.json", "seed ranges differ"},
        [FIRST] = {"s0.json and s1.json", "seed ranges differ"},
        [VARIANT] = {"s0.json and s1.json", "--variant differ", "(every variant and threshold)"},
        [SWARM] = {"s0.json and s1.json", "--swarm differ", "(on and off)"},
        [COUNT] = {"s0.json and s1.json", "shard counts differ"},
        [TWICE] = {"s2.json: shard 1 of 3 is given twice"},
        [MISSING] = {"shard 1 of 3 (seeds 8..15) is missing"},
        [PART] = {"s1.json: shard 1 of 3 was interrupted", "run it again"},
    };
    for (int c = 0; c < NCASES; c++) {
        swp_sweep sh[3], out;
        three_shards(sh, true, true);
        swp_sweep *ptr[4] = {&sh[0], &sh[1], &sh[2]};
        size_t n = 3;
        switch (c) {
        case SCENARIO:
            set_str(&sh[1].scenario, "other.json");
            break;
        case HASH:
            set_str(&sh[1].scenario_hash, "fedcba9876543210");
            break;
        case BINARY:
            set_str(&sh[1].binary, "edgeloss 0.2.0 (executable 00000000deadbeef)");
            break;
        case LAST:
            sh[1].last = 24;
            break;
        case FIRST:
            sh[1].first = 0;
            break;
        case VARIANT:
            set_str(&sh[1].variant, "threshold");
            break;
        case SWARM:
            sh[1].swarm = false;
            break;
        case COUNT:
            sh[1].shard.count = 4;
            break;
        case TWICE:
            ptr[2] = &sh[1];
            ptr[3] = &sh[2];
            n = 4;
            break;
        case MISSING:
            ptr[1] = &sh[2];
            n = 2;
            break;
        case PART:
            sh[1].complete = false;
            break;
        }
        char err[1024] = "";
        sim_err rc = swp_merge(ptr, files, n, &out, err, sizeof err);
        if (rc != SIM_EINPUT)
            fail_msg("case %d: merged (rc %d), expected a refusal", c, rc);
        for (int k = 0; k < 3 && why[c][k]; k++)
            expect_in(err, why[c][k]);
        swp_free(&out);
        for (int i = 0; i < 3; i++)
            swp_free(&sh[i]);
    }
    /* The first shard decides: a mismatch in it is named the same way. */
    swp_sweep sh[3], out;
    three_shards(sh, true, true);
    set_str(&sh[0].variant, "immediate");
    swp_sweep *ptr[3] = {&sh[0], &sh[1], &sh[2]};
    char err[1024];
    assert_int_equal(swp_merge(ptr, files, 3, &out, err, sizeof err), SIM_EINPUT);
    expect_in(err, "--variant differ (immediate and every variant)");
    swp_free(&out);
    for (int i = 0; i < 3; i++)
        swp_free(&sh[i]);
    /* A shard whose variants are not the others' (renamed, or one dropped by hand). */
    three_shards(sh, true, true);
    assert_true(sh[1].nvariants >= 2);
    free(sh[1].variants[1].name);
    sh[1].variants[1].name = strdup("bogus");
    assert_int_equal(swp_merge(ptr, files, 3, &out, err, sizeof err), SIM_EINPUT);
    expect_in(err, "s0.json and s1.json are shards of different sweeps: their variants differ");
    expect_in(err, "\"bogus\"");
    swp_free(&out);
    /* The same variants, but a shard holding fewer runs than its slice has seeds. */
    for (int i = 0; i < 3; i++)
        swp_free(&sh[i]);
    three_shards(sh, true, true);
    sh[2].variants[0].runs--;
    sh[2].variants[0].status[RES_PASS]--;
    assert_int_equal(swp_merge(ptr, files, 3, &out, err, sizeof err), SIM_EINPUT);
    expect_in(err, "not one per seed of 1..23");
    swp_free(&out);
    /* Nothing to merge. */
    assert_int_equal(swp_merge(ptr, files, 0, &out, err, sizeof err), SIM_EUSAGE);
    expect_in(err, "no result files");
    for (int i = 0; i < 3; i++)
        swp_free(&sh[i]);
}

/* ---------------------------------------------------------------- hostile result files */

/* The item at `path` ("variants[0].totals.runs") of doc, and its parent and place. */
static cJSON *at(cJSON *doc, const char *path, cJSON **parent, char *key, size_t keylen, int *idx)
{
    cJSON *o = doc, *up = NULL;
    const char *p = path;
    key[0] = '\0';
    *idx = -1;
    while (*p && o) {
        if (*p == '.')
            p++;
        if (*p == '[') {
            int i = atoi(p + 1);
            p = strchr(p, ']') + 1;
            up = o;
            key[0] = '\0';
            *idx = i;
            o = cJSON_GetArrayItem(o, i);
            continue;
        }
        size_t n = strcspn(p, ".[");
        assert_true(n < keylen);
        memcpy(key, p, n);
        key[n] = '\0';
        p += n;
        up = o;
        *idx = -1;
        o = cJSON_GetObjectItemCaseSensitive(o, key);
    }
    *parent = up;
    return o;
}

/* Sets the item at `path` to the JSON `text` (NULL: deletes it; "=PATH": a copy of that). */
static void set_at(cJSON *doc, const char *path, const char *text)
{
    cJSON *parent, *now;
    char key[128];
    int idx;
    now = at(doc, path, &parent, key, sizeof key, &idx);
    if (!parent)
        fail_msg("no parent for %s", path);
    cJSON *v = NULL;
    if (text && text[0] == '=') {
        cJSON *p2;
        char k2[128];
        int i2;
        cJSON *src = at(doc, text + 1, &p2, k2, sizeof k2, &i2);
        assert_non_null(src);
        v = cJSON_Duplicate(src, true);
    } else if (text) {
        v = cJSON_Parse(text);
        if (!v)
            fail_msg("bad replacement %s", text);
    }
    if (idx >= 0) {
        if (!v)
            cJSON_DeleteItemFromArray(parent, idx);
        else if (now)
            cJSON_ReplaceItemInArray(parent, idx, v);
        else
            cJSON_AddItemToArray(parent, v);
    } else {
        if (!v)
            cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
        else if (now)
            cJSON_ReplaceItemInObjectCaseSensitive(parent, key, v);
        else
            cJSON_AddItemToObject(parent, key, v);
    }
}

typedef struct hostile {
    char path[2][96], text[2][160];
    char want[96];  /* in the message, after "h.json: " */
    char want2[96]; /* and this, when set */
} hostile;

/* Appends a case: `text` at `path` (NULL: deleted), `want` in the message. */
static hostile *add_case(hostile *h, size_t *n, size_t cap, const char *path, const char *text,
                         const char *want)
{
    assert_true(*n < cap);
    hostile *c = &h[(*n)++];
    memset(c, 0, sizeof *c);
    snprintf(c->path[0], sizeof c->path[0], "%s", path);
    snprintf(c->text[0], sizeof c->text[0], "%s", text ? text : "\1"); /* \1: delete */
    snprintf(c->want, sizeof c->want, "%s", want);
    return c;
}

static void test_hostile_result_files(void **state)
{
    (void)state;
    /* The base: shard 1 of 3 of 1..30 (seeds 11..20), with swarm. */
    swp_sweep s;
    build(&s, 1, 30, (swp_shard){1, 3, NULL}, true, ASCENDING);
    char *base = result_text(&s);
    /* What the cases below rely on: 10 runs in variant 0, a fail, an error and an unverified
     * run among them (R1: one more than the runs). */
    const swp_variant *v0 = &s.variants[0];
    assert_int_equal(v0->runs, 10);
    const char *R1 = "11";
    int F = -1, E = -1, U = -1;
    for (size_t k = 0; k < v0->nfailures; k++) {
        if (F < 0 && v0->failures[k].status == RES_FAIL)
            F = (int)k;
        if (E < 0 && v0->failures[k].status == RES_ERROR)
            E = (int)k;
        if (U < 0 && v0->failures[k].status == RES_UNVERIFIED)
            U = (int)k;
    }
    assert_true(F >= 0 && E >= 0 && U >= 0 && v0->nfailures >= 3);
    unsigned pass = (unsigned)v0->status[RES_PASS];
    uint64_t fseed = v0->failures[0].seed;
    assert_true(fseed >= 11 && fseed <= 20);
    /* The metric "lost" of variant 0, as the cases replace it. */
    char fp[3][64];
    snprintf(fp[0], sizeof fp[0], "variants[0].failures[%d]", F);
    snprintf(fp[1], sizeof fp[1], "variants[0].failures[%d]", E);
    snprintf(fp[2], sizeof fp[2], "variants[0].failures[%d]", U);
    const char *lostm = "variants[0].metrics.lost";

    hostile h[128];
    size_t n = 0;
#define CASE1(p, t, w) add_case(h, &n, sizeof h / sizeof h[0], (p), (t), (w))
    char p[128], t[160];
    CASE1("kind", "\"edgeloss sweep\"", "$.kind: expected \"edgeloss sweep result\"");
    snprintf(h[n - 1].want2, sizeof h[n - 1].want2, "the --json summary cannot be merged");
    CASE1("kind", NULL, "$.kind");
    CASE1("kind", "1", "$.kind");
    CASE1("schema_version", "2", "$.schema_version: 2, this edgeloss reads version 1 only");
    CASE1("schema_version", "0", "$.schema_version: 0");
    CASE1("schema_version", "\"1\"", "$.schema_version: expected a whole number");
    CASE1("schema_version", "1.5", "$.schema_version");
    CASE1("schema_version", "1e300", "$.schema_version");
    CASE1("schema_version", NULL, "$.schema_version");
    CASE1("scenario", "7", "$.scenario: expected a string");
    CASE1("scenario_hash", NULL, "$.scenario_hash");
    CASE1("binary", "null", "$.binary");
    CASE1("complete", "\"yes\"", "$.complete: expected true or false");
    CASE1("swarm", "1", "$.swarm");
    CASE1("variant", "3", "$.variant: expected a variant's name or null");
    CASE1("seeds", "[1, 23]", "$.seeds: expected an object");
    CASE1("seeds.first", "\"1\"", "$.seeds.first: expected a whole number");
    CASE1("seeds.first", "-1", "$.seeds.first");
    CASE1("seeds.first", "1.5", "$.seeds.first");
    CASE1("seeds.last", "1e20", "$.seeds.last");
    CASE1("seeds.last", "9007199254740992", "$.seeds.last");
    CASE1("seeds.last", "18446744073709551617", "$.seeds.last");
    CASE1("seeds.last", "1e400", "$.seeds.last");
    CASE1("seeds.first", "31", "$.seeds: expected first <= last");
    CASE1("seeds.last", "100000001", "$.seeds: expected first <= last, at most 10^8 seeds");
    CASE1("shard", NULL, "$.shard");
    CASE1("shard.index", "3", "$.shard: expected 0 <= index < count");
    CASE1("shard.count", "0", "$.shard: expected 0 <= index < count");
    CASE1("shard.count", "100001", "$.shard.count");
    CASE1("shard.count", "4294967299", "$.shard.count");
    CASE1("shard.index", "0.5", "$.shard.index");
    CASE1("shard.index", "-1", "$.shard.index");
    CASE1("variants", "{}", "$.variants: expected an array");
    CASE1("variants[1]", "[]", "$.variants[1]: expected an object (a variant)");
    CASE1("variants[1]", "\"immediate\"", "$.variants[1]: expected an object");
    CASE1("variants[1]", "null", "$.variants[1]");
    CASE1("variants[1].variant", "\"threshold\"", "$.variants[1]: expected each variant once");
    CASE1("variants[0].variant", "null", "$.variants[0].variant");
    CASE1("variants[0].totals", "7", "$.variants[0].totals: expected an object");
    CASE1("variants[0].totals.runs", "-1", "$.variants[0].totals.runs");
    CASE1("variants[0].totals.runs", "1e300", "$.variants[0].totals.runs");
    CASE1("variants[0].totals.runs", "\"10\"", "$.variants[0].totals.runs");
    CASE1("variants[0].totals.pass", "1.5", "$.variants[0].totals.pass");
    CASE1("variants[0].totals.error", "18446744073709551616", "$.variants[0].totals.error");
    CASE1("variants[0].totals.unverified", NULL, "$.variants[0].totals.unverified");
    snprintf(t, sizeof t, "%u", pass + 1);
    CASE1("variants[0].totals.pass", t,
          "$.variants[0].totals: expected counts by status that add up to runs");
    CASE1("variants[0].totals.runs", R1, "$.variants[0].totals: expected counts by status");
    CASE1("variants[0].totals.runs", "9", "$.variants[0].totals: expected counts by status");
    CASE1("variants[0].checks", "{}", "$.variants[0].checks: expected an array");
    CASE1("variants[0].checks[0]", "3", "$.variants[0].checks[0].check");
    CASE1("variants[0].checks[0].check", "5", "$.variants[0].checks[0].check");
    CASE1("variants[0].checks[1].failed_seeds", R1, "$.variants[0].checks[1].failed_seeds");
    CASE1("variants[0].checks[0].failed_seeds", "-2", "$.variants[0].checks[0].failed_seeds");
    CASE1("variants[0].metrics", "[]", "$.variants[0].metrics: expected an object");
    CASE1(lostm, "[]", "$.variants[0].metrics.lost: expected an object");
    CASE1("variants[0].metrics.lost.seeds", "\"7\"", "$.variants[0].metrics.lost.seeds");
    CASE1("variants[0].metrics.lost.empty", R1, "$.variants[0].metrics.lost.empty");
    CASE1("variants[0].metrics.lost.values", "{}", "$.variants[0].metrics.lost.values");
    static const char *const values[] = {
        "[[2, 1], [1, 1]]", /* not increasing */
        "[[1, 1], [1, 1]]", /* a value twice */
        "[[1, 0]]",         /* a count of 0 */
        "[[1, 1.5]]",       /* a fractional count */
        "[[1, -1]]",        /* negative */
        "[[1, 11]]",        /* more seeds than runs */
        "[[1, 1e300]]",     /* huge */
        "[[1, 2, 3]]",      /* not a pair */
        "[[1]]",            /* half a pair */
        "[1]",              /* not an array */
        "[[\"1\", 1]]",     /* a string */
        "[[1, \"1\"]]",     /* a string count */
        "[[null, 1]]",      /* no value */
        "[[1e400, 1]]",     /* infinite */
        "[[-1e400, 1]]",    /* minus infinite */
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        snprintf(t, sizeof t, "{\"seeds\": 1, \"empty\": 0, \"values\": %s}", values[i]);
        CASE1(lostm, t, "$.variants[0].metrics.lost: expected values: [value, count] pairs");
    }
    CASE1(lostm, "{\"seeds\": 2, \"empty\": 0, \"values\": [[1, 1]]}",
          "$.variants[0].metrics.lost: expected seeds equal to the values' counts");
    CASE1(lostm, "{\"seeds\": 0, \"empty\": 0, \"values\": [[1, 1]]}",
          "$.variants[0].metrics.lost: expected seeds equal");
    CASE1(lostm, "{\"seeds\": 1, \"empty\": 10, \"values\": [[1, 1]]}",
          "$.variants[0].metrics.lost: expected seeds equal to the values' counts, with empty at "
          "most metric_runs");
    CASE1("variants[0].metric_runs", NULL, "$.variants[0].metric_runs: expected a whole number");
    CASE1("variants[0].metric_runs", R1, "$.variants[0].metric_runs");
    CASE1("variants[0].metric_runs", "\"10\"", "$.variants[0].metric_runs");
    CASE1("variants[0].failures", "{}", "$.variants[0].failures: expected an array");
    CASE1("variants[0].failures", "[]",
          "$.variants[0]: expected one entry in failures per run that did not pass");
    CASE1(fp[0], NULL, "$.variants[0]: expected one entry in failures per run");
    CASE1("variants[0].failures[0]", "7", "$.variants[0].failures[0]: expected an object");
    CASE1("variants[0].failures[0].seed", "10",
          "$.variants[0].failures[0].seed: expected seeds in increasing order within the "
          "shard's slice");
    CASE1("variants[0].failures[0].seed", "21", "$.variants[0].failures[0].seed");
    CASE1("variants[0].failures[0].seed", "\"11\"", "$.variants[0].failures[0].seed");
    CASE1("variants[0].failures[0].seed", "1e30", "$.variants[0].failures[0].seed");
    CASE1("variants[0].failures[0].seed", "-11", "$.variants[0].failures[0].seed");
    CASE1("variants[0].failures[1].seed", "=variants[0].failures[0].seed",
          "$.variants[0].failures[1].seed: expected seeds in increasing order");
    CASE1("variants[0].failures[0].status", "\"pass\"", "$.variants[0].failures[0].status");
    CASE1("variants[0].failures[0].status", "\"broken\"", "$.variants[0].failures[0].status");
    CASE1("variants[0].failures[0].status", "2", "$.variants[0].failures[0].status");
    snprintf(p, sizeof p, "%s.error", fp[1]);
    CASE1(p, "null", "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s: expected an object (code, exit, message)",
             p);
    snprintf(p, sizeof p, "%s.error.code", fp[1]);
    CASE1(p, "\"ENOPE\"", "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s: expected an error code", p);
    CASE1(p, "\"OK\"", "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s: expected an error code", p);
    CASE1(p, "9", "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s", p);
    snprintf(p, sizeof p, "%s.error.message", fp[1]);
    CASE1(p, NULL, "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s", p);
    snprintf(p, sizeof p, "%s.error", fp[0]);
    CASE1(p, "{\"code\": \"EIO\", \"exit\": 3, \"message\": \"x\"}", "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s: expected null for a run that ran", p);
    snprintf(p, sizeof p, "%s.checks", fp[0]);
    CASE1(p, "{}", "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s: expected an array", p);
    snprintf(p, sizeof p, "%s.checks[0]", fp[0]);
    CASE1(p, "{\"check\": 1, \"pass\": false}", "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s: expected a check result", p);
    CASE1(p, "[]", "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s: expected a check result", p);
    CASE1(p, "{\"check\": \"lost\"}", "");
    snprintf(h[n - 1].want, sizeof h[n - 1].want, "$.%s: expected a check result", p);
    /* Statuses that do not agree with the totals: the error run said to be a failure (the
     * JUnit writer looks for the error run the totals count), the unverified one too. */
    snprintf(p, sizeof p, "%s.status", fp[1]);
    CASE1(p, "\"fail\"", "$.variants[0]: expected failures whose statuses agree with the totals");
    snprintf(h[n - 1].path[1], sizeof h[n - 1].path[1], "%s.error", fp[1]);
    snprintf(h[n - 1].text[1], sizeof h[n - 1].text[1], "null");
    snprintf(p, sizeof p, "%s.status", fp[2]);
    CASE1(p, "\"fail\"", "$.variants[0]: expected failures whose statuses agree");
    snprintf(p, sizeof p, "%s.status", fp[0]);
    CASE1(p, "\"unverified\"", "$.variants[0]: expected failures whose statuses agree");
    /* Complete, but not one run per seed of its slice. */
    snprintf(t, sizeof t, "%u", pass + 1);
    CASE1("variants[0].totals.runs", R1,
          "$.variants[0].totals.runs: expected one run per seed of the shard's slice");
    snprintf(h[n - 1].path[1], sizeof h[n - 1].path[1], "variants[0].totals.pass");
    snprintf(h[n - 1].text[1], sizeof h[n - 1].text[1], "%s", t);
#undef CASE1

    for (size_t i = 0; i < n; i++) {
        cJSON *doc = cJSON_Parse(base);
        assert_non_null(doc);
        for (int k = 0; k < 2 && h[i].path[k][0]; k++)
            set_at(doc, h[i].path[k], h[i].text[k][0] == '\1' ? NULL : h[i].text[k]);
        swp_sweep out;
        char err[1024] = "";
        sim_err rc = swp_result_from_json(doc, "h.json", &out, err, sizeof err);
        if (rc != SIM_EINPUT) {
            char *txt = cJSON_Print(doc);
            fail_msg("case %zu (%s = %s): accepted (rc %d):\n%s", i, h[i].path[0], h[i].text[0], rc,
                     txt);
        }
        char want[128];
        snprintf(want, sizeof want, "h.json: %s", h[i].want);
        if (!strstr(err, want))
            fail_msg("case %zu (%s = %s): expected \"%s\" in: %s", i, h[i].path[0], h[i].text[0],
                     want, err);
        if (h[i].want2[0])
            expect_in(err, h[i].want2);
        swp_free(&out);
        cJSON_Delete(doc);
    }

    /* Not an object at all. */
    static const char *const docs[] = {"null", "[]", "\"edgeloss sweep result\"", "3", "{}"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        cJSON *doc = cJSON_Parse(docs[i]);
        swp_sweep out;
        char err[512] = "";
        assert_int_equal(swp_result_from_json(doc, "h.json", &out, err, sizeof err), SIM_EINPUT);
        expect_in(err, i < 4 ? "h.json: $: expected an object" : "h.json: $.kind");
        swp_free(&out);
        cJSON_Delete(doc);
    }

    /* The base itself reads (the cases fail for what they change) and a summary does not. */
    swp_sweep back;
    char err[512];
    assert_int_equal(read_text(base, "h.json", &back, err, sizeof err), SIM_OK);
    swp_free(&back);
    char *sum = summary_text(&s);
    assert_int_equal(read_text(sum, "sweep.json", &back, err, sizeof err), SIM_EINPUT);
    expect_in(err, "sweep.json: $.kind");
    swp_free(&back);
    free(sum);
    free(base);
    swp_free(&s);
}

/* Every byte of a result file replaced: never a crash (what ASan checks), a reader's
 * answer either way, and what it accepts renders. */
static void test_corrupted_bytes(void **state)
{
    (void)state;
    swp_sweep s;
    build(&s, 1, 3, (swp_shard){0, 1, NULL}, true, ASCENDING);
    char *base = result_text(&s);
    cJSON *j = cJSON_Parse(base);
    char *compact = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    size_t len = strlen(compact);
    static const char repl[] = {'0', '9', '-', '"', '{', ']', 'e', 'x', ' ', '.'};
    size_t accepted = 0, rejected = 0;
    char *buf = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        for (size_t q = 0; q < 3; q++) { /* three of the replacements at each byte, in turn */
            size_t r = (i + q) % sizeof repl;
            if (compact[i] == repl[r])
                continue;
            memcpy(buf, compact, len + 1);
            buf[i] = repl[r];
            cJSON *doc = cJSON_Parse(buf);
            if (!doc)
                continue;
            swp_sweep out;
            char err[1024] = "";
            if (swp_result_from_json(doc, "c.json", &out, err, sizeof err) == SIM_OK) {
                accepted++;
                out.prog = "edgeloss";
                char *x[4] = {summary_text(&out), result_text(&out), junit_text(&out),
                              terminal_text(&out, NULL)};
                for (int k = 0; k < 4; k++)
                    free(x[k]);
            } else {
                rejected++;
                if (strncmp(err, "c.json: $", 9) != 0)
                    fail_msg("byte %zu as '%c': a message without the path: %s", i, repl[r], err);
            }
            swp_free(&out);
            cJSON_Delete(doc);
        }
    assert_true(accepted > 0 && rejected > 0);
    free(buf);
    free(compact);
    free(base);
    swp_free(&s);
}

static void test_hash(void **state)
{
    (void)state;
    char h[17];
    swp_hash_hex("", 0, h);
    assert_string_equal(h, "cbf29ce484222325"); /* FNV-1a's offset basis */
    swp_hash_hex("a", 1, h);
    assert_string_equal(h, "af63dc4c8601ec8c"); /* the published FNV-1a 64 of "a" */
    swp_hash_hex("foobar", 6, h);
    assert_string_equal(h, "85944171f73967e8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_seeds_good),
        cmocka_unit_test(test_parse_seeds_bad),
        cmocka_unit_test(test_parse_shard_good),
        cmocka_unit_test(test_parse_shard_bad),
        cmocka_unit_test(test_slices_cover_the_range),
        cmocka_unit_test(test_distributions_by_hand),
        cmocka_unit_test(test_order_does_not_matter),
        cmocka_unit_test(test_renderings_by_hand),
        cmocka_unit_test(test_result_round_trip),
        cmocka_unit_test(test_merge_equals_the_whole),
        cmocka_unit_test(test_merge_refuses),
        cmocka_unit_test(test_hostile_result_files),
        cmocka_unit_test(test_corrupted_bytes),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_missing_metric_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
