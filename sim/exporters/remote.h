/*
 * Exporters out of process: a plugin run by a child exporter host (edgeloss-exporter-host,
 * or any program speaking docs/exporter-protocol.md), so that its crash, hang or flood ends
 * in a report instead of taking the run with it.
 *
 * To the rest of the simulator an out-of-process exporter is one more el_exporter: a proxy
 * descriptor whose methods carry every call to the child and answer the child's service
 * requests with the isolate's real host (host.c) - so the held list, the microtask rule and
 * every check of the ABI are the same code as in process, and the fates are too.
 *
 * One child per run (exp_remote_start, by the SDK), plus a short-lived one when the scenario
 * is loaded (exp_remote_probe) to read the plugin's descriptor and check its options, so
 * that a bad plugin or option is exit 2 before anything runs.
 *
 * Budget: every call to the child gets budget_ms of wall time and budget_messages messages
 * from it. A child that exceeds either, dies, or breaks the protocol is killed; the run goes
 * on to its end with the exporter gone - what it held, and everything exported to it from
 * then on, is lost as exporter-crashed - and exp_remote_failure() says what happened, which
 * makes the run an error (exit 3). The wall clock decides only that: never what a run does.
 */
#ifndef SIM_EXPORTERS_REMOTE_H
#define SIM_EXPORTERS_REMOTE_H

#include <edgeloss/exporter.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a child needs: the run's configuration of an out-of-process plugin. */
typedef struct exp_remote_cfg {
    const char *host;    /* the exporter host program */
    const char *script;  /* its script (the JavaScript host run by node), or NULL */
    const char *plugin;  /* what it loads: a .so, or a JavaScript bundle */
    const char *factory; /* a bundle's factory function, or NULL */
    const char *options; /* the options object as JSON text, or NULL */
    const char *file;    /* the scenario file, for messages */
    int64_t budget_ms;   /* wall time per call */
    uint64_t budget_messages;
} exp_remote_cfg;

typedef struct exp_remote exp_remote;

/* The exporter host to run: $EDGELOSS_EXPORTER_HOST, else edgeloss-exporter-host beside the
 * running program. 0, or SIM_EINPUT when there is none (why in err). */
int exp_remote_host_path(char *out, size_t outlen, char *err, size_t errlen);

/* A JavaScript exporter's host: node ($EDGELOSS_NODE, else `node` on PATH, version 18 or
 * later is checked by the host itself) and edgeloss-js-host.js ($EDGELOSS_JS_HOST, else beside
 * the running program, else in ../share/edgeloss/js/ from it). 0, or SIM_EINPUT (why in err). */
int exp_remote_js_paths(char *node, size_t nodelen, char *script, size_t scriptlen, char *err,
                        size_t errlen);

/* Starts a child for cfg, loads and configures its plugin, and fills *desc with the proxy
 * descriptor (name, caps and bundle the plugin's; its name copied into name_buf). Then stops
 * it. Errors are SIM_EINPUT, naming the plugin or the option. */
int exp_remote_probe(const exp_remote_cfg *cfg, el_exporter *desc, char *name_buf, size_t name_len,
                     char *err, size_t errlen);
/* Whether d is a proxy descriptor (its config is an exp_remote_cfg). */
bool exp_is_remote(const el_exporter *d);

/* The run's child. SIM_EINPUT (it cannot start or refuses the plugin) or 0. */
int exp_remote_start(const exp_remote_cfg *cfg, exp_remote **out, char *err, size_t errlen);
/* Says goodbye and reaps it (killing it if it does not leave). NULL is fine. With
 * EDGELOSS_EXPORTER_STATS set it prints the calls made and their mean round trip on stderr. */
void exp_remote_stop(exp_remote *r);
/* NULL, or what ended the child during the run (its crash, hang, flood or protocol error). */
const char *exp_remote_failure(const exp_remote *r);

#endif
