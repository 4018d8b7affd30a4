/*
 * Acceptance checks (`expect` in a scenario), evaluated on a run's ledger
 * report. Named checks carry the first seed's four acceptance criteria;
 * metric checks bound any number the report has. A check over an empty
 * population fails unless it says allow_vacuous. `holds: false` asserts
 * that a criterion is violated: how a scenario states that it reproduces an
 * incident.
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include "exporters/exporter.h"
#include "ledger.h"
#include "runtime.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    CHECK_FLUSH_LANDS_WITHIN_REQUEST,
    CHECK_LOW_VOLUME_NO_LOSS,
    CHECK_NO_PRIVATE_ACCESS,
    CHECK_BATCHING_MIGRATION,
    CHECK_NO_MIXING, /* no item credited to another request (the second seed) */
    CHECK_NO_LOSS,   /* no item lost */
    CHECK_METRIC,
} check_kind;

typedef struct expect_item {
    check_kind kind;
    const char *metric; /* CHECK_METRIC */
    bool has_min, has_max;
    double min, max;
    bool holds; /* false: the criterion must be violated */
    bool allow_vacuous;
    double min_items_per_post; /* batching_migration's bound */
    const char *why;
} expect_item;

/* "flush_lands_within_request|...|no_mixing|no_loss" */
extern const char check_names[];
/* -1 when unknown. */
int check_find(const char *name);
const char *check_name(check_kind k);

/* Whether `metric` names a number of the report; writes the known names into `list`. */
bool check_metric_known(const char *metric, char *list, size_t listlen);

/* One number a metric check can name, with its value in a report. */
typedef struct check_metric {
    char name[64];
    double value;
    bool empty; /* its population is empty (a ratio over nothing): the value means nothing */
} check_metric;

/* Every metric a check can name, valued from `r`. Returns how many there are (writes at
 * most `cap`); CHECK_METRICS_MAX is always enough. */
#define CHECK_METRICS_MAX 192
size_t check_metrics(const ledger_report *r, check_metric *out, size_t cap);

/* What the run was (for checks that depend on it). */
typedef struct check_run {
    const el_exporter *exporter; /* its name and capabilities */
    rt_kind runtime;
    uint32_t batch_items;
} check_run;

/*
 * One check's outcome, as data: the terminal, summary.json, JUnit and the report are
 * rendered from it. Self-contained (no pointers into the scenario), so it can be copied
 * between processes.
 */
typedef struct check_result {
    char check[64];     /* the criterion's name, or the metric's */
    bool pass;          /* the check is satisfied, `holds` and vacuity applied */
    bool holds;         /* the scenario's `holds`: false means the criterion must be violated */
    bool vacuous;       /* its population was empty */
    double measured;    /* the number the criterion judged (NAN: none) */
    char expected[160]; /* what had to be true, e.g. "lost == 0", "not (loss_ratio <= 0.01)" */
    char detail[256];   /* the measurement in words */
    char why[512];      /* the scenario's `why` ("" when it gave none) */
} check_result;

check_result check_eval(const expect_item *e, const ledger_report *r, const check_run *run);

/* Copies src into dst[n], cut (when it must be) before a whole UTF-8 character. */
void check_copy(char *dst, size_t n, const char *src);

/* The one-line form the run summary prints: "PASS low_volume_no_loss: 0 of 120 items ..." */
void check_format(const check_result *c, char *buf, size_t len);

#endif
