/*
 * The progress line on stderr: on a terminal one live line (runs done of total and the
 * ETA; within a long run the virtual time reached and events/s), otherwise a plain line
 * every few seconds, and nothing when quiet. Reads the wall clock to pace itself and to
 * estimate; what it prints never feeds back into a run.
 */
#ifndef SIM_PROGRESS_H
#define SIM_PROGRESS_H

#include "sim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct prog prog;

typedef enum { PROG_OFF, PROG_LIVE, PROG_PLAIN } prog_mode;

/* The mode users expect: off when quiet, live on a terminal, plain lines otherwise. */
prog_mode prog_mode_for(FILE *out, bool quiet);
prog *prog_new(FILE *out, prog_mode mode, size_t total_runs);
void prog_free(prog *p);

/* A run starts (`label` names it: file, variant, seed) or ends. */
void prog_run_start(prog *p, const char *label);
void prog_run_done(prog *p);
/* While runs go on elsewhere (child processes): the count, the elapsed time and the ETA,
 * with `running` naming what is under way. */
void prog_tick(prog *p, const char *running);
/* Inside the current run (sim_options.progress). */
void prog_within(void *p, const sim_progress *sp);
/* Erases the live line, so other stderr output starts on a clean line. */
void prog_clear(prog *p);

#endif
