/*
 * The simulator's one error vocabulary. Every sim/ function that can fail returns a
 * sim_err and writes what happened into the caller's message buffer; the command maps a
 * code to an exit status in one place (sim_exit_code), as mock-ingest's ING_ERR_MAP and
 * libuv's UV_ERRNO_MAP do. A check that does not hold is not an error: it is a result
 * (check.h); its exit status is SIM_EXIT_CHECK_FAILED.
 */
#ifndef SIM_ERROR_H
#define SIM_ERROR_H

/* XX(name, exit status, what it means) */
#define SIM_ERR_MAP(XX)                                                                            \
    XX(OK, 0, "success")                                                                           \
    XX(EINPUT, 2, "bad scenario file")                                                             \
    XX(EUSAGE, 2, "bad usage")                                                                     \
    XX(EBUSY, 2, "run directory in use by another run")                                            \
    XX(ENOMEM, 3, "out of memory")                                                                 \
    XX(EIO, 3, "write failed")                                                                     \
    XX(EINGEST, 3, "the ingest failed")                                                            \
    XX(ELEDGER, 3, "the ledger failed")                                                            \
    XX(EBUDGET, 3, "work budget exceeded while running")                                           \
    XX(ECHILD, 3, "a run's child process crashed")                                                 \
    XX(EEXPORTER, 3, "the exporter host failed")                                                   \
    XX(EINTR, 130, "interrupted")

typedef enum {
#define SIM_ERR_ENUM(name, exit, msg) SIM_##name,
    SIM_ERR_MAP(SIM_ERR_ENUM)
#undef SIM_ERR_ENUM
        SIM_ERR_COUNT
} sim_err;

/* Exit statuses that are not errors. */
#define SIM_EXIT_OK           0
#define SIM_EXIT_CHECK_FAILED 1 /* a check failed, or a verdict could not be verified */

/* What a code means ("bad scenario file"); "unknown error" past the table. */
const char *sim_strerror(int err);
/* The code's name ("EINPUT"), for results as data. */
const char *sim_err_name(int err);
/* The command's exit status for a code: 2 input or usage, 3 the harness, 130 interrupted. */
int sim_exit_code(int err);

#endif
