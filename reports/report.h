/*
 * The HTML loss report: one self-contained file (no network, no scripts, styles or fonts
 * from elsewhere; it opens from disk) made from run directories - each run's summary.json
 * and the report_* tables of its ledger.db (docs/ledger-db.md), which survive the compact
 * ledger mode. Runs of one scenario file are shown side by side (its variants and seeds:
 * the bug against each fix), every chart of a kind on the same axes.
 *
 * Every number shown as text is marked <span class="n" data-run="K" data-key="PATH">: K
 * indexes the runs in the order given, PATH names the summary.json field it shows
 * ("fates.lost"), so a test can compare what a reader sees with the data. Sections are
 * functions in one table (report.c): adding one (the mixing or WAF sections) is adding a
 * function.
 */
#ifndef REPORTS_REPORT_H
#define REPORTS_REPORT_H

#include "error.h"

#include <stddef.h>

typedef struct rpt_options {
    const char *prog; /* how reproduce commands call edgeloss (argv[0]); NULL: "edgeloss" */
} rpt_options;

/*
 * Writes the report of the runs in `dirs` (each a run directory holding summary.json)
 * to `out_path`, whole or not at all. Returns SIM_OK, SIM_EINPUT (a directory is not a
 * run directory, or its files are not edgeloss's), or SIM_EIO, with a message.
 */
sim_err rpt_write(const char *const *dirs, size_t n, const char *out_path, const rpt_options *o,
                  char *err, size_t errlen);

#endif
