/*
 * Scenario files: every malformed input is rejected with the file, the JSON
 * path and what was expected; defaults come from the key table; the
 * reference in scenarios/README.md is the table's.
 */
#include "scenario.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W          "\"workload\": {\"requests\": 1}"
#define H          "\"app\": {\"handler\": [{\"respond\": {}}]}"
#define STEPS(s)   "{" W ", \"app\": {\"handler\": [" s "]}}"
#define RUNTIME(r) "{" W ", \"runtime\": {" r "}, " H "}"

static const struct {
    const char *json;
    const char *msg;
} bad[] = {
    {"", "test.json: $: not valid JSON (near line 1, column 1)"},
    {"{\n  \"workload\": {,\n}", "test.json: $: not valid JSON (near line 2, column 17)"},
    {"[]", "test.json: $: expected an object, got an array"},
    {"{}", "test.json: $: missing \"workload\""},
    {"{" W "}", "test.json: $: missing \"app\""},
    {"{\"worklaod\": {}, " H "}",
     "$.worklaod: unknown key \"worklaod\" (did you mean \"workload\"?)"},
    {"{\"workload\": {\"arival\": \"poisson\"}, " H "}",
     "$.workload.arival: unknown key \"arival\" (did you mean \"arrivals\"?)"},
    {"{\"workload\": {\"zzz\": 1}, " H "}",
     "$.workload.zzz: unknown key \"zzz\" (expected one of: arrivals,"},
    {"{\"workload\": {\"arrivals\": \"gaussian\"}, " H "}",
     "$.workload.arrivals: expected one of constant|poisson|bursts|diurnal|replay|cron, got "
     "\"gaussian\""},
    {"{\"workload\": {\"rate_per_s\": \"5\"}, " H "}",
     "$.workload.rate_per_s: expected a number, got a string"},
    {"{\"workload\": {\"rate_per_s\": -1}, " H "}",
     "$.workload.rate_per_s: expected a number from 1e-09 to 1e+07, got -1"},
    {"{\"workload\": {\"requests\": 1.5}, " H "}",
     "$.workload.requests: expected a whole number, got 1.5"},
    {"{\"workload\": {\"duration_s\": 0}, " H "}",
     "$.workload: either duration_s or requests must be > 0"},
    {RUNTIME("\"kind\": \"vm\""),
     "$.runtime.kind: expected one of edge|server|durable_object, got \"vm\""},
    {RUNTIME("\"max_concurrency\": 0"),
     "$.runtime.max_concurrency: expected a number from 1 to 1e+06, got 0"},
    {RUNTIME("\"cold_start\": 5"), "$.runtime.cold_start: expected a distribution"},
    {RUNTIME("\"cold_start\": {\"fixed_parsecs\": 5}"),
     "$.runtime.cold_start: \"fixed_parsecs\": expected <kind>_<unit>"},
    {RUNTIME("\"cold_start\": {\"gaussian_ms\": 5}"),
     "$.runtime.cold_start: \"gaussian_ms\": unknown kind"},
    {RUNTIME("\"cold_start\": {\"uniform_ms\": [5, 1]}"), "\"uniform_ms\": expected low <= high"},
    {RUNTIME("\"cold_start\": {\"uniform_ms\": 5}"), "\"uniform_ms\": expected [low, high]"},
    {RUNTIME("\"idle_timeout\": {\"lognormal_s\": {\"p50\": 40, \"p99\": 5}}"),
     "$.runtime.idle_timeout: \"lognormal_s\": expected 0 < p50 < p99"},
    {RUNTIME("\"idle_timeout\": {\"lognormal_s\": {\"p50\": 1}}"),
     "expected {\"p50\": x, \"p99\": y}"},
    {RUNTIME("\"idle_timeout\": {\"exponential_ms\": 0}"),
     "\"exponential_ms\": expected the mean, a number > 0"},
    {RUNTIME("\"idle_timeout\": {\"fixed_ms\": 1, \"fixed_s\": 2}"),
     "$.runtime.idle_timeout: expected a distribution"},
    {RUNTIME("\"idle_timeout\": {\"fixed_ms\": -3}"), "expected a duration from 0"},
    {RUNTIME("\"deploys_s\": [10, 5]"),
     "$.runtime.deploys_s[1]: expected deploy times in increasing order"},
    {RUNTIME("\"deploys_s\": [\"x\"]"), "$.runtime.deploys_s[0]: expected a number, got a string"},
    {RUNTIME("\"deploys_s\": 5"), "$.runtime.deploys_s: expected an array, got a number"},
    {RUNTIME("\"colos\": 3"), "$.runtime.colos: expected an array, got a number"},
    {RUNTIME("\"colos\": []"), "$.runtime.colos: expected 1 to 1000 elements, got 0"},
    {RUNTIME("\"colos\": [{\"weight\": 2}]"), "$.runtime.colos[0]: missing \"name\""},
    {RUNTIME("\"colos\": [{\"name\": \"fra\", \"weight\": 0}]"),
     "$.runtime.colos[0].weight: expected a number from"},
    {RUNTIME("\"colos\": [{\"name\": \"fra\"}, {\"name\": \"fra\"}]"),
     "$.runtime.colos[1].name: duplicate colo name \"fra\""},
    {RUNTIME("\"routing\": \"round_robin\""),
     "$.runtime.routing: expected one of least_loaded|random|sticky"},
    {RUNTIME("\"memory_limit_mb\": -1"), "$.runtime.memory_limit_mb: expected a number from 0"},
    {RUNTIME("\"cpu_limit_ms\": \"10\""), "$.runtime.cpu_limit_ms: expected a number"},
    {RUNTIME("\"subrequest_limit\": 1.5"),
     "$.runtime.subrequest_limit: expected a whole number, got 1.5"},
    {RUNTIME("\"max_connections\": -6"), "$.runtime.max_connections: expected a number from 0"},
    {RUNTIME("\"idle_timeout\": {\"empirical_ms\": []}"),
     "$.runtime.idle_timeout: \"empirical_ms\": expected a non-empty array of samples"},
    {RUNTIME("\"idle_timeout\": {\"empirical_ms\": [1, \"x\"]}"),
     "$.runtime.idle_timeout: \"empirical_ms\"[1]: expected a number"},
    {RUNTIME("\"idle_timeout\": {\"empirical_ms\": {\"file\": \"/nonexistent/lat.csv\"}}"),
     "$.runtime.idle_timeout: empirical_ms.file: /nonexistent/lat.csv: cannot open"},
    {STEPS("{\"fetch\": {\"latency\": {\"empirical_s\": {\"file\": \"/nonexistent/f\"}}}}"),
     "$.app.handler[0].fetch.latency: empirical_s.file: /nonexistent/f: cannot open"},
    {STEPS("{\"fetch\": {}}"), "$.app.handler[0].fetch: missing \"latency\""},
    {STEPS("{\"memory\": {\"bytes\": -1}}"),
     "$.app.handler[0].memory.bytes: expected a number from 0"},
    {STEPS("{\"memory\": {\"bytes\": 1, \"hold\": \"forever\"}}"),
     "$.app.handler[0].memory.hold: expected one of task|isolate"},
    {"{" W ", \"app\": {\"handler\": [{\"respond\": {}}], \"routes\": [{\"name\": \"a\", "
     "\"handler\": [{\"respond\": {}}]}]}}",
     "$.app: expected exactly one of \"handler\" or \"routes\""},
    {"{" W ", \"app\": {\"routes\": [{\"name\": \"a\"}]}}", "$.app.routes[0]: missing \"handler\""},
    {"{" W ", \"app\": {\"routes\": [{\"name\": \"a\", \"handler\": [{\"respond\": {}}]}, "
     "{\"name\": \"a\", \"handler\": [{\"respond\": {}}]}]}}",
     "$.app.routes[1].name: duplicate route name \"a\""},
    {"{" W ", \"app\": {\"routes\": [{\"name\": \"a\", \"handler\": [{\"respond\": {}}, "
     "{\"cpu\": {\"fixed_us\": 1}}]}]}}",
     "$.app.routes[0].handler[0].respond: respond must be the handler's last step"},
    {"{\"workload\": {\"arrivals\": \"diurnal\", \"rate_per_s\": 1, \"requests\": 5, "
     "\"diurnal\": {\"trough_rate_per_s\": 2}}, " H "}",
     "$.workload.diurnal.trough_rate_per_s: expected at most rate_per_s"},
    {"{\"workload\": {\"arrivals\": \"replay\"}, " H "}",
     "$.workload: replay goes with \"arrivals\": \"replay\""},
    {"{\"workload\": {\"requests\": 1, \"replay\": {\"file\": \"x.csv\"}}, " H "}",
     "$.workload.replay: replay goes with"},
    {"{\"workload\": {\"arrivals\": \"replay\", \"replay\": {}}, " H "}",
     "$.workload.replay: missing \"file\""},
    {"{\"workload\": {\"arrivals\": \"replay\", \"replay\": {\"file\": \"/nonexistent.csv\"}}, " H
     "}",
     "$.workload.replay.file: /nonexistent.csv: cannot open"},
    {"{\"faults\": {\"kill_isolates_per_hour\": -1}, " W ", " H "}",
     "$.faults.kill_isolates_per_hour: expected a number from 0"},
    {"{" W ", \"app\": {\"handler\": []}}", "$.app.handler: expected at least 1 step(s)"},
    {"{" W ", \"app\": {\"handler\": {}}}",
     "$.app.handler: expected an array of steps, got an object"},
    {"{" W ", \"app\": {}}", "$.app: expected exactly one of \"handler\" or \"routes\""},
    {STEPS("{\"awiat\": {}}"),
     "$.app.handler[0]: unknown step \"awiat\" (did you mean \"await\"?)"},
    {STEPS("{\"await\": {\"latency\": {\"fixed_ms\": 1}}, \"respond\": {}}"),
     "$.app.handler[0]: expected a step: an object with exactly one key"},
    {STEPS("{\"await\": {}}"), "$.app.handler[0].await: missing \"latency\""},
    {STEPS("{\"await\": {\"latncy\": {\"fixed_ms\": 1}}}"),
     "$.app.handler[0].await.latncy: unknown key \"latncy\" (did you mean \"latency\"?)"},
    {STEPS("{\"metric\": {\"name\": \"m\", \"value\": \"x\"}}"),
     "$.app.handler[0].metric.value: expected a number, got a string"},
    {STEPS("{\"log\": {\"body\": \"b\", \"severity\": \"loud\"}}"),
     "$.app.handler[0].log.severity: expected one of trace|debug|info|warn|error|fatal, got "
     "\"loud\""},
    {STEPS("{\"global\": {\"name\": \"G\", \"op\": \"push\"}}"),
     "$.app.handler[0].global.op: expected one of set|append|read|take|clear"},
    {STEPS("{\"respond\": {}}, {\"metric\": {\"name\": \"m\"}}"),
     "$.app.handler[0].respond: respond must be the handler's last step"},
    {STEPS("{\"wait_until\": [{\"respond\": {}}]}"),
     "$.app.handler[0].wait_until[0].respond: respond is only valid in app.handler"},
    {STEPS("{\"span\": {\"name\": \"s\", \"do\": [{\"respond\": {}}, {\"cpu\": {\"fixed_us\": "
           "1}}]}}"),
     "$.app.handler[0].span.do[0].respond: respond must be the handler's last step"},
    {STEPS("{\"call\": \"tracer.flsh\"}"), "$.app.handler[0].call: expected one of tracer.flush|"},
    {STEPS("{\"span\": {\"do\": []}}"), "$.app.handler[0].span: missing \"name\""},
    {STEPS("{\"repeat\": {\"times\": -1, \"do\": []}}"),
     "$.app.handler[0].repeat.times: expected a number from 0"},
    {STEPS("{\"set_interval\": {\"every\": {\"fixed_s\": 0}, \"do\": []}}"),
     "$.app.handler[0].set_interval: every: expected a period > 0"},
    {STEPS("{\"set_timeout\": {\"delay\": {\"fixed_s\": 1}}}"),
     "$.app.handler[0].set_timeout: missing \"do\""},
    {STEPS("{\"respond\": {\"status\": 999}}"),
     "$.app.handler[0].respond.status: expected a number from 100 to 599"},
    {STEPS("{\"cpu\": {\"fixed\": 3}}"), "$.app.handler[0].cpu: \"fixed\": expected <kind>_<unit>"},
    {STEPS("{\"span\": {\"name\": \"a\", \"do\": [{\"span\": {\"name\": \"b\", \"do\": [{\"span\": "
           "{\"name\": \"c\","
           " \"do\": [{\"span\": {\"name\": \"d\", \"do\": [{\"span\": {\"name\": \"e\", \"do\": "
           "[{\"span\": {\"name\":"
           " \"f\", \"do\": [{\"span\": {\"name\": \"g\", \"do\": [{\"span\": {\"name\": \"h\", "
           "\"do\": [{\"span\":"
           " {\"name\": \"i\", \"do\": [{\"span\": {\"name\": \"j\", \"do\": [{\"span\": "
           "{\"name\": \"k\", \"do\":"
           " [{\"span\": {\"name\": \"l\", \"do\": [{\"span\": {\"name\": \"m\", \"do\": "
           "[{\"span\": {\"name\": \"n\","
           " \"do\": [{\"span\": {\"name\": \"o\", \"do\": [{\"span\": {\"name\": \"p\", \"do\": "
           "[]}}]}}]}}]}}]}}]}}]}}"
           "]}}]}}]}}]}}]}}]}}]}}]}}]}}"),
     "steps nested too deeply (at most 15 levels)"},
    {"{\"seed\": -1, " W ", " H "}", "$.seed: expected a number from 0"},
    {"{\"sources\": [1], " W ", " H "}", "$.sources[0]: expected a string, got a number"},
    {"{\"waf\": {\"custom_rules\": [{\"id\": \"a\", \"expression\": \"http.host eq\","
     " \"action\": \"block\"}]}, \"exporter\": {}, " W ", " H "}",
     "test.json: $.waf.custom_rules[0].expression: position 12: expected a string"},
    {"{\"waf\": {}, " W ", " H "}", "$.waf: a WAF is in front of the ingest"},
    {"{\"workload\": {\"spans_per_request\": 2}, " H "}", "$.exporter: carried spans"},
    {"{\"app\": {\"handler\": [{\"fetch\": {\"url\": \"ftp://x/y\"}}]}, \"exporter\": {}, " W "}",
     "$.app.handler[0].fetch.url: expected r2://KEY or https://HOST/PATH"},
    {"{\"app\": {\"handler\": [{\"fetch\": {\"url\": \"r2://../x\"}}]}, \"exporter\": {}, " W "}",
     "$.app.handler[0].fetch.url: expected r2://KEY"},
    {"{\"app\": {\"handler\": [{\"fetch\": {\"url\": \"r2://a/{req}\"}}]}, \"exporter\": {}, " W
     "}",
     "$.app.handler[0].fetch.url: expected r2://KEY"},
    {"{\"app\": {\"handler\": [{\"fetch\": {\"url\": \"r2://k\", \"body\": \"notify\"}}]},"
     " \"exporter\": {}, " W "}",
     "$.app.handler[0].fetch.body: a notification goes to a zone"},
    {"{\"app\": {\"handler\": [{\"fetch\": {\"url\": \"https://h/p\", \"method\": \"GET\","
     " \"body\": \"carried\"}}]}, \"exporter\": {}, " W "}",
     "$.app.handler[0].fetch.body: a GET sends no body"},
    {"{\"app\": {\"handler\": [{\"fetch\": {\"name\": \"x\"}}]}, " W "}",
     "$.app.handler[0].fetch: missing \"latency\" (or a \"url\""},
    {"{\"zones\": [{\"host\": \"a\", \"routing\": [{\"at_s\": 5, \"via\": \"waf\"},"
     " {\"at_s\": 1, \"via\": \"origin\"}]}], " W ", " H "}",
     "$.zones[0].routing[1].at_s: expected changes in time order"},
    {"{\"app\": {\"handler\": [{\"fetch\": {\"url\": \"https://h/n/{request}\", \"body\":"
     " \"notify\"}}]}, \"exporter\": {}, " W "}",
     "$.app.handler[0].fetch.url: a notification's path is one of the ingest's endpoints"},
    {"{\"zones\": [{\"host\": \"a\"}, {\"host\": \"A\"}], " W ", " H "}",
     "$.zones[1].host: duplicate zone host"},
    {"{\"app\": {\"zone\": \"a b\", \"handler\": [{\"respond\": {}}]}, " W "}",
     "$.app.zone: expected a zone name of printable ASCII without blanks, got a byte 0x20"},
    {"{\"workload\": {\"requests\": 1000, \"spans_per_request\": 1000}, \"exporter\": {},"
     " \"budget\": {\"items\": 1000}, " H "}",
     "$.budget.items: the scenario predicts 6e+04 telemetry items (60 requests x 1e+03 per"},
    {"{\"network\": {\"faults\": []}, " W ", " H "}", "$.network.faults: unknown key"},
    {"{\"exporter\": {\"kind\": \"threshold\"}, " W ", " H "}",
     "$.exporter.kind: unknown key \"kind\" (expected one of: strategy,"},
    {"{\"exporter\": {\"strategy\": \"batchy\"}, " W ", " H "}",
     "$.exporter.strategy: expected one of threshold|immediate|propagate|exposed|private_reach|"},
    {"{\"exporter\": {\"batch_items\": 0}, " W ", " H "}",
     "$.exporter.batch_items: expected a number from 1"},
    {"{\"exporter\": {\"retry\": {\"backof\": {}}}, " W ", " H "}",
     "$.exporter.retry.backof: unknown key \"backof\" (did you mean \"backoff\"?)"},
    {"{\"ingest\": {\"cap\": {\"items\": 5}}, " W ", " H "}", "$.ingest.cap: missing \"window_s\""},
    /* Shared state: what the second seed's steps may not say. */
    {"{" W ", \"app\": {\"handler\": [{\"global\": {\"name\": \"L\", \"op\": \"take\", "
     "\"on_unset\": \"fresh\"}}, {\"respond\": {}}]}}",
     "$.app.handler[0].global: \"on_unset\" goes with op append only, not take"},
    {"{" W ", \"app\": {\"handler\": [{\"global\": {\"name\": \"L\", \"op\": \"checkpoint\"}},"
     " {\"respond\": {}}]}}",
     "$.app: a checkpoint sends to a queue: add a \"queue\" object"},
    {"{" W ", \"queue\": {}, \"app\": {\"accumulators\": [{\"name\": \"L\"}], \"handler\": "
     "[{\"global\": {\"name\": \"L\", \"op\": \"take\"}}, {\"respond\": {}}]}}",
     "$.app.handler[0].global: \"L\" is an accumulator (app.accumulators): never set, taken or "
     "cleared"},
    {"{" W ", \"queue\": {}, \"app\": {\"accumulators\": [{\"name\": \"M\"}], \"handler\": "
     "[{\"global\": {\"name\": \"L\", \"op\": \"append\"}}, {\"respond\": {}}]}}",
     "$.app.accumulators[0].name: expected the name of a global a step uses, got \"M\""},
    {"{" W ", \"queue\": {}, \"app\": {\"accumulators\": [{\"name\": \"L\", "
     "\"checkpoint_every_s\": 1e-9}], \"handler\": [{\"global\": {\"name\": \"L\", \"op\": "
     "\"append\"}}, {\"respond\": {}}]}}",
     "$.app.accumulators[0].checkpoint_every_s: expected 0 (no timer) or at least 0.001"},
    {"{" W ", \"queue\": {\"batch_size\": 0}, " H "}",
     "$.queue.batch_size: expected a number from 1"},
    {"{\"ingest\": {\"api_key\": \"\"}, " W ", " H "}",
     "$.ingest.api_key: expected a non-empty string"},
    {"{\"expect\": [{\"check\": \"low_volume_no_loss\"}], " W ", " H "}",
     "$.expect: checks need telemetry to check: add an exporter"},
    {"{\"exporter\": {}, \"expect\": [{\"check\": \"no_losses\"}], " W ", " H "}",
     "$.expect[0].check: expected one of flush_lands_within_request|low_volume_no_loss|"},
    {"{\"exporter\": {}, \"expect\": [{\"metric\": \"loss_rate\", \"max\": 0.1}], " W ", " H "}",
     "$.expect[0].metric: no metric \"loss_rate\" (expected one of: items,"},
    {"{\"exporter\": {}, \"expect\": [{\"metric\": \"lost.evaporated\", \"max\": 0}], " W ", " H
     "}",
     "$.expect[0].metric: no metric \"lost.evaporated\""},
    {"{\"exporter\": {}, \"expect\": [{\"metric\": \"loss_ratio\"}], " W ", " H "}",
     "$.expect[0]: a metric check needs min, max or both"},
    {"{\"exporter\": {}, \"expect\": [{\"metric\": \"loss_ratio\", \"min\": 2, \"max\": 1}], " W
     ", " H "}",
     "$.expect[0]: expected min <= max"},
    {"{\"exporter\": {}, \"expect\": [{\"check\": \"no_private_access\", \"metric\": \"lost\", "
     "\"max\": 0}], " W ", " H "}",
     "$.expect[0]: expected exactly one of \"check\" or \"metric\""},
    {"{\"exporter\": {}, \"expect\": [{\"chek\": \"no_private_access\"}], " W ", " H "}",
     "$.expect[0].chek: unknown key \"chek\" (did you mean \"check\"?)"},
    {"{\"variants\": {}, " W ", " H "}", "$.variants: expected an array of variants"},
    {"{\"variants\": [{}], " W ", " H "}", "$.variants[0]: missing \"name\""},
    {"{\"variants\": [{\"name\": \"a\"}, {\"name\": \"a\"}], " W ", " H "}",
     "$.variants[1]: duplicate variant name"},
    {"{\"variants\": [{\"name\": \"baseline\"}], " W ", " H "}",
     "$.variants[0]: duplicate variant name"},
    {"{\"variants\": [{\"name\": \"a\", \"colour\": 1}], " W ", " H "}",
     "$.variants[0].colour: unknown key \"colour\" (expected one of: name, description, exporter,"},
    {"{\"variants\": [{\"name\": \"a\", \"exporter\": {\"strategy\": \"fast\"}}], " W ", " H "}",
     "$.variants[0].exporter.strategy: expected one of threshold|"},
    {"{\"variants\": [{\"name\": \"a\", \"runtime\": {\"max_concurrency\": -1}}], " W ", " H "}",
     "$.variants[0].runtime.max_concurrency: expected a number from 1"},
    {"{\"variants\": [{\"name\": \"b\", \"app\": {\"handler\": [{\"respond\": {}}, {\"cpu\": "
     "{\"fixed_us\": 1}}]}}], " W ", " H "}",
     "test.json (variant b): $.app.handler[0].respond: respond must be the handler's last step"},
    {"{\"workload\": {\"routes\": []}, " H "}", "$.workload.routes: unknown key \"routes\""},
};

static void test_malformed_scenarios(void **state)
{
    (void)state;
    assert_true(sizeof bad / sizeof bad[0] >= 30);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scenario *s = NULL;
        char err[1024] = "";
        int rc = scn_parse(bad[i].json, "test.json", &s, err, sizeof err);
        if (rc != SIM_EINPUT || s)
            fail_msg("case %zu accepted: %s", i, bad[i].json);
        if (!strstr(err, bad[i].msg))
            fail_msg("case %zu: message\n  %s\nlacks\n  %s", i, err, bad[i].msg);
        if (strncmp(err, "test.json: $", 12) != 0 && strncmp(err, "test.json (variant ", 19) != 0)
            fail_msg("case %zu: message does not start with the file and a JSON path: %s", i, err);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    scenario *s;
    char err[256];
    assert_int_equal(scn_load("/nonexistent/x.json", &s, err, sizeof err), SIM_EINPUT);
    assert_non_null(strstr(err, "/nonexistent/x.json: cannot open"));
}

static void test_defaults_come_from_the_table(void **state)
{
    (void)state;
    scenario *s;
    char err[256];
    assert_int_equal(scn_parse("{" W ", " H "}", "d.json", &s, err, sizeof err), 0);
    assert_int_equal(s->seed, 1);
    assert_int_equal(s->workload.kind, WL_POISSON);
    assert_int_equal(s->workload.drain_ns, 60000000000LL);
    assert_int_equal(s->runtime.kind, RT_EDGE);
    assert_int_equal(s->runtime.max_concurrency, 32);
    assert_int_equal(s->runtime.wait_until_budget_ns, 30000000000LL);
    assert_int_equal(s->runtime.cold_start.kind, DIST_FIXED);
    assert_int_equal(s->runtime.cold_start.a_ns, 5000000);
    assert_int_equal(s->runtime.idle_timeout.kind, DIST_UNIFORM);
    assert_int_equal(s->runtime.idle_timeout.b_ns, 300000000000LL);
    assert_int_equal(s->program.nroutes, 1);
    assert_int_equal(s->program.routes[0].handler.n, 1);
    /* The runtime's limits default to Cloudflare's (Workers Paid). */
    assert_int_equal(s->runtime.memory_limit_bytes, 128LL << 20);
    assert_int_equal(s->runtime.cpu_limit_ns, 30000000000LL);
    assert_int_equal(s->runtime.subrequest_limit, 10000);
    assert_int_equal(s->runtime.max_connections, 6);
    assert_int_equal(s->runtime.ncolos, 0);
    assert_int_equal(s->runtime.routing, RT_ROUTE_LEAST_LOADED);
    assert_true(s->runtime.kill_rate_per_s == 0);
    scn_free(s);
}

static void test_units_convert(void **state)
{
    (void)state;
    scenario *s;
    char err[256];
    assert_int_equal(
        scn_parse("{" W ", \"runtime\": {\"cold_start\": {\"uniform_us\": [1.5, 2]},"
                  " \"idle_timeout\": {\"fixed_min\": 2}, \"max_lifetime_s\": 0.25}, " H "}",
                  "u.json", &s, err, sizeof err),
        0);
    assert_int_equal(s->runtime.cold_start.a_ns, 1500);
    assert_int_equal(s->runtime.cold_start.b_ns, 2000);
    assert_int_equal(s->runtime.idle_timeout.a_ns, 120000000000LL);
    assert_int_equal(s->runtime.max_lifetime_ns, 250000000);
    scn_free(s);
}

/* scenarios/README.md carries the table as `edgeloss keys` prints it. */
static void test_reference_matches_the_table(void **state)
{
    (void)state;
    char *doc = t_read_file(SCENARIOS_DIR "/README.md", NULL);
    assert_non_null(doc);
    char *gen = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&gen, &len);
    sk_markdown(scn_schema(), f);
    fclose(f);
    if (!strstr(doc, gen))
        fail_msg("scenarios/README.md is out of date: regenerate its key table with "
                 "`build/sim/edgeloss keys`");
    free(gen);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_scenarios),          cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_defaults_come_from_the_table), cmocka_unit_test(test_units_convert),
        cmocka_unit_test(test_reference_matches_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
