/*
 * Exporter plugins: a shared object that exports EL_EXPORTER_SYMBOL, loaded with dlopen, its
 * descriptor checked against the ABI this build speaks, and configured from the scenario's
 * "exporter.options" through el_options (include/edgeloss/exporter.h).
 *
 * Errors are SIM_EINPUT with a message naming the file (the plugin's, or the scenario's with
 * the JSON path) and what was expected.
 */
#ifndef SIM_EXPORTERS_PLUGIN_H
#define SIM_EXPORTERS_PLUGIN_H

#include <edgeloss/exporter.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct exp_plugin exp_plugin;

/* Loads `path` (a path with a slash: never searched for). */
int exp_plugin_load(const char *path, exp_plugin **out, const el_exporter **desc, char *err,
                    size_t errlen);
void exp_plugin_close(exp_plugin *p);

/* Whether a descriptor is one this host can run: NULL when it is, else why not. */
const char *exp_descriptor_problem(const el_exporter *d, char *why, size_t whylen);

/* Runs d->configure over `options` (NULL: none given) into `config` (d->config_size bytes,
 * zeroed). `file` and `jpath` ("$.exporter.options") name them in messages; keys may be
 * dotted ("breaker.failures": a member of an object). Strings it reads are copied with `dup`
 * (they must live as long as the configuration). `strict`: a key it never asked for is
 * refused (a plugin's options; a built-in reads the exporter object, whose other keys are the
 * host's or other strategies'). */
int exp_configure(const el_exporter *d, const cJSON *options, bool strict, const char *file,
                  const char *jpath, void *config, char *(*dup)(void *ud, const char *s),
                  void *dup_ud, char *err, size_t errlen);

#endif
