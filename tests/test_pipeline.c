/*
 * The third seed's pipeline (sim/pipeline.h) end to end on small cases derived by hand:
 * carried spans, the Worker's hops as real HTTP to the embedded mock-ingest (object store,
 * a notification through or around the zone's WAF), the origin's job that reads the object
 * and stores its spans. Every expected count is worked out in the comments and read back
 * with this test's own SQL on ledger.db and ingest.db, and from the run's report.
 */
#include "simtest.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S ((int64_t)1000000000)

typedef struct run {
    simrun s;
    char *dir, *ledger_db, *ingest_db;
} run;

static run run_json(const char *json, const char *variant)
{
    run x;
    x.dir = t_mkdtemp();
    assert_non_null(x.dir);
    x.s = sim_text_in(json, -1, x.dir, variant);
    x.ledger_db = t_path(x.dir, "ledger.db");
    x.ingest_db = t_path(x.dir, "ingest.db");
    if (!x.s.r.verified)
        fail_msg("the run was not verified:\n%s", x.s.summary);
    return x;
}

static void run_free(run *x)
{
    simrun_free(&x->s);
    t_rmtree(x->dir);
    free(x->dir);
    free(x->ledger_db);
    free(x->ingest_db);
}

static int64_t lq(const run *x, const char *sql)
{
    return t_sql_int(x->ledger_db, sql);
}

static int64_t iq(const run *x, const char *sql)
{
    return t_sql_int(x->ingest_db, sql);
}

static const ledger_hop *hop(const run *x, const char *name)
{
    for (int i = 0; i < x->s.r.report.nhops; i++)
        if (strcmp(x->s.r.report.hops[i].name, name) == 0)
            return &x->s.r.report.hops[i];
    fail_msg("no hop %s", name);
    return NULL;
}

/* Three requests at 0, 1 and 2 s (constant arrivals), 2 spans each; 5 ms each way. */
#define BASE                                                                                       \
    "\"seed\": 1, \"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1, \"requests\": 3,"  \
    " \"drain_s\": 30, \"spans_per_request\": 2}, \"network\": {\"latency\": {\"fixed_ms\": 5}},"  \
    " \"exporter\": {\"strategy\": \"immediate\"}, \"pipeline\": {\"job_delay\": {\"fixed_s\": "   \
    "1}},"
#define PUT                                                                                        \
    "{\"fetch\": {\"name\": \"r2-put\", \"url\": \"r2://t/{request}\", \"body\": \"carried\"}}"
#define NOTIFY(extra)                                                                              \
    "{\"fetch\": {\"name\": \"notify\", \"url\": \"https://in.flare.dev/api/n\", \"body\":"        \
    " \"notify\"" extra "}}"

/*
 * The rate limit takes 1 notification per 10 s (fixed windows, throttling): request 1's
 * (arriving at 0.020 s: the isolate's cold start took 5 ms, its PUT 5 + 5, its own trip 5)
 * passes, requests 2's and 3's (1.015, 2.015 s on the warm isolate: counts 2 and 3 in the window
 * [0, 10)) are blocked with 429. So, by hand: r2-put        6 items in, 6 out (every PUT stored), 0
 * lost there notify        6 in, 2 out, 4 lost there (rejected-by-waf: the ingest says its WAF)
 *   fetch-object  2 in, 2 out  (request 1's job at 0.020 + 1 s: the notification's arrival)
 *   store         2 in, 2 out
 * Fates: request 1's 2 spans delivered (carried spans are never late, though the store is
 * after the request ended), 4 lost. Orphans: the objects t/2 and t/3, stored and never read.
 */
static void test_funnel_by_hand(void **state)
{
    (void)state;
    run x = run_json(
        "{" BASE " \"app\": {\"zone\": \"flare.dev\", \"handler\": [" PUT ", " NOTIFY(
            "") "]},"
                " \"waf\": {\"window\": \"fixed\", \"rate_limits\": [{\"id\": \"api\","
                " \"expression\": \"http.request.uri.path eq \\\"/api/n\\\"\","
                " \"requests_per_period\": 1, \"period_s\": 10, \"mitigation_timeout_s\": 0}]}}",
        NULL);
    const ledger_report *r = &x.s.r.report;
    assert_int_equal(r->carried, 6);
    assert_int_equal(r->carried_recorded, 2);
    assert_int_equal(r->fate[FATE_DELIVERED], 2);
    assert_int_equal(r->fate[FATE_LATE], 0);
    assert_int_equal(r->fate[FATE_LOST], 4);
    assert_int_equal(r->lost_by[CAUSE_REJECTED_BY_WAF], 4);
    assert_int_equal(r->nhops, 4);
    static const char *const order[] = {"r2-put", "notify", "fetch-object", "store"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(r->hops[i].name, order[i]);
    const ledger_hop *h = hop(&x, "r2-put");
    assert_true(h->in == 6 && h->out == 6 && h->lost_here == 0);
    h = hop(&x, "notify");
    assert_true(h->in == 6 && h->out == 2 && h->lost_here == 4);
    h = hop(&x, "fetch-object");
    assert_true(h->in == 2 && h->out == 2 && h->lost_here == 0);
    h = hop(&x, "store");
    assert_true(h->in == 2 && h->out == 2 && h->lost_here == 0);
    assert_int_equal(r->orphans, 2);
    assert_string_equal(r->orphan_list[0].key, "t/2");
    assert_int_equal(r->orphan_list[0].request, 2);
    assert_int_equal(r->orphan_list[0].items, 2);
    assert_string_equal(r->orphan_list[1].key, "t/3");
    /* The ingest's own rows: 3 objects, 1 notification (the blocked ones wrote none), two
     * 429s recorded with reason waf, and request 1's spans stored. */
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM objects"), 3);
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM notifications WHERE object = 't/1'"), 1);
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM notifications"), 1);
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM requests WHERE status = 429 AND reason = 'waf'"
                            " AND path = '/api/n'"),
                     2);
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM items WHERE accepted = 1"), 2);
    /* The ledger's: the store at 0.020 (notify arrival) + 1 s (the job) + 5 ms (GET) + 5 ms
     * (back) + 5 ms (the POST's arrival) = 1.035 s; the drops name the notify hop. */
    assert_int_equal(lq(&x, "SELECT MIN(first_ns) FROM fates WHERE fate = 'delivered'"),
                     1035000000);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE cause = 'rejected-by-waf'"
                            " AND layer = 'notify' AND request IN (2, 3)"),
                     4);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM attempts WHERE hop = 'notify' AND"
                            " status = 429 AND ref IN ('t/2', 't/3')"),
                     2);
    run_free(&x);
}

/*
 * The routing changes at 1.5 s from straight to the origin to through the WAF, whose custom
 * rule blocks the notify path (403): requests 1 and 2 (notifications arriving at 0.020 and 1.015 s)
 * pass, request 3's (2.015 s) is blocked. The WAF saw one request only.
 */
static void test_routing_change(void **state)
{
    (void)state;
    run x = run_json(
        "{" BASE " \"app\": {\"zone\": \"flare.dev\", \"handler\": [" PUT
        ", " NOTIFY("") "]},"
                        " \"zones\": [{\"host\": \"in.flare.dev\", \"routing\": [{\"at_s\": 0, "
                        "\"via\": \"origin\"},"
                        " {\"at_s\": 1.5, \"via\": \"waf\"}]}],"
                        " \"waf\": {\"custom_rules\": [{\"id\": \"no-api\","
                        " \"expression\": \"starts_with(http.request.uri.path, \\\"/api/\\\")\","
                        " \"action\": \"block\"}]}}",
        NULL);
    const ledger_report *r = &x.s.r.report;
    assert_int_equal(r->fate[FATE_DELIVERED], 4);
    assert_int_equal(r->lost_by[CAUSE_REJECTED_BY_WAF], 2);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE fate = 'lost' AND request = 3"), 2);
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM waf_decisions"), 1);
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM requests WHERE path = '/api/n' AND status = 403"
                            " AND time_ns = 2015000000"),
                     1);
    /* The Worker's zone went along as its upstream zone; colo 0 as the colo. */
    run_free(&x);
}

/*
 * on_error: a refused notification is retried straight to the origin and its items are
 * handed on after all - delivered, no drop left standing, the ledger's invariants hold (an
 * item is never sent after it was lost: the loss is decided only when the request is over).
 */
static void test_on_error_retry_recovers(void **state)
{
    (void)state;
    run x = run_json("{" BASE " \"app\": {\"zone\": \"flare.dev\", \"handler\": [" PUT ", " NOTIFY(
                         ", \"on_error\": [{\"fetch\": {\"name\": \"notify-retry\", \"url\":"
                         " \"https://in.flare.dev/api/n\", \"body\": \"notify\", \"via\": "
                         "\"origin\"}}]") "]},"
                                          " \"waf\": {\"custom_rules\": [{\"id\": \"no-api\","
                                          " \"expression\": \"starts_with(http.request.uri.path, "
                                          "\\\"/api/\\\")\","
                                          " \"action\": \"block\"}]}}",
                     NULL);
    const ledger_report *r = &x.s.r.report;
    assert_int_equal(r->fate[FATE_DELIVERED], 6);
    assert_int_equal(r->fate[FATE_LOST], 0);
    assert_true(hop(&x, "notify")->out == 0 && hop(&x, "notify-retry")->out == 6);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM drops"), 0);
    run_free(&x);
}

/*
 * What the Worker never hands on is lost where it stopped: without a notify step every
 * object is an orphan and its spans are lost at the object store's hop; without any hop
 * they are lost in the Worker.
 */
static void test_what_is_never_handed_on(void **state)
{
    (void)state;
    run x = run_json("{" BASE " \"app\": {\"handler\": [" PUT "]}}", NULL);
    assert_int_equal(x.s.r.report.lost_by[CAUSE_LOST_AT_HOP], 6);
    assert_int_equal(x.s.r.report.orphans, 3);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE layer = 'r2-put' AND note LIKE"
                            " 'stored as t/_ and never notified about%'"),
                     6);
    run_free(&x);
    x = run_json("{" BASE " \"app\": {\"handler\": [{\"respond\": {}}]}}", NULL);
    assert_int_equal(x.s.r.report.lost_by[CAUSE_LOST_AT_HOP], 6);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE layer = 'worker'"), 6);
    run_free(&x);
}

/*
 * Everything at once: random isolate kills, a 3 ms CPU limit, a 10 ms waitUntil budget that
 * cuts notifications short, the API's rate limit, and an on_error retry straight to the
 * origin. Whatever happens, every carried span has one fate, every loss has its reason (the
 * run is verified: no unexplained loss, nothing sent after it was lost), and the notify hop's
 * refusals are accounted for: either retried (retry's items) or lost there, rejected by the
 * WAF - even when the refusal's answer never got back to a Worker whose waitUntil was over.
 */
static const char hostile[] =
    "{\"seed\": 1, \"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 10, "
    "\"duration_s\": 60, \"drain_s\": 60, \"spans_per_request\": 4}, "
    "\"runtime\": {\"max_concurrency\": 4, \"cpu_limit_ms\": 3, \"subrequest_limit\": 50, "
    "\"wait_until_budget_s\": 0.01}, \"network\": {\"latency\": {\"uniform_ms\": [1, 30]}}, "
    "\"exporter\": {\"strategy\": \"immediate\"}, \"app\": {\"zone\": \"flare.dev\", "
    "\"handler\": [{\"cpu\": {\"uniform_ms\": [0, 4]}}, {\"fetch\": {\"name\": \"r2-put\", "
    "\"url\": \"r2://traces/{request}.json\", \"body\": \"carried\"}}, "
    "{\"wait_until\": [{\"fetch\": {\"name\": \"notify\", "
    "\"url\": \"https://ingress.flare.dev/api/cloudflare-traces\", \"body\": \"notify\", "
    "\"on_error\": [{\"fetch\": {\"name\": \"retry\", "
    "\"url\": \"https://ingress.flare.dev/api/cloudflare-traces\", \"body\": \"notify\", "
    "\"via\": \"origin\"}}]}}]}, {\"respond\": {\"status\": 202}}]}, "
    "\"zones\": [{\"host\": \"ingress.flare.dev\"}], \"waf\": {\"window\": \"fixed\", "
    "\"rate_limits\": [{\"id\": \"api-rl\", "
    "\"expression\": \"http.request.uri.path eq \\\"/api/cloudflare-traces\\\"\", "
    "\"requests_per_period\": 50, \"period_s\": 10, \"mitigation_timeout_s\": 0}, "
    "{\"id\": \"ingest-rl\", \"expression\": \"http.request.uri.path eq \\\"/v1/traces\\\"\", "
    "\"requests_per_period\": 100, \"period_s\": 10, \"mitigation_timeout_s\": 0}]}, "
    "\"pipeline\": {\"job_delay\": {\"fixed_s\": 2}, \"store_path\": \"/v1/traces\"}, "
    "\"faults\": {\"kill_isolates_per_hour\": 3000}}";

static void test_everything_at_once(void **state)
{
    (void)state;
    run x = run_json(hostile, NULL);
    const ledger_report *r = &x.s.r.report;
    uint64_t sum = 0;
    for (int f = 0; f < FATE_COUNT; f++)
        sum += r->fate[f];
    assert_int_equal(sum, r->carried);
    assert_int_equal(r->carried_recorded, r->fate[FATE_DELIVERED]);
    assert_int_equal(r->lost_by[CAUSE_UNEXPLAINED], 0);
    assert_int_equal(r->lost_by[CAUSE_LOST_AT_HOP], 0); /* every hop failure here is the WAF's */
    assert_true(r->lost_by[CAUSE_REJECTED_BY_WAF] > 0 && r->lost_by[CAUSE_CPU_LIMIT] > 0 &&
                r->lost_by[CAUSE_EVICTED_IN_BUFFER] > 0);
    const ledger_hop *n = hop(&x, "notify"), *re = hop(&x, "retry");
    assert_int_equal(n->in - n->out, n->lost_here + re->out);
    assert_int_equal(n->lost_here, r->lost_by[CAUSE_REJECTED_BY_WAF]);
    run_free(&x);
}

/*
 * The edges a review found, each by hand:
 *  - the run ends (drain 1.022 s after the last arrival at 2 s: at 3.022) while request 3's
 *    job is under way: its notification arrived at 2.015, its job starts at 3.015 (job_delay
 *    1 s), the GET reaches the ingest at 3.020 and its answer would be back at 3.025, past
 *    the end - so request 3's spans are stranded at the end, at the fetch-object hop, while
 *    requests 1 and 2 are stored (at 1.035 and 2.030 s);
 *  - a fixed key: every request PUTs r2://t/latest, so a job reads whatever is there when it
 *    runs; with a job delay of 0.5 s and requests a second apart each job still reads its
 *    own spans, but with a 1.5 s delay request 1's job (at 1.520) reads request 2's object
 *    (PUT at 1.005): its own spans are lost at fetch-object, request 2's are stored twice;
 *  - carried spans POSTed straight to the ingest's /v1/traces are handed on by the 2xx: no
 *    drop is written for them;
 *  - a timer that outlives its request has no spans to carry: its PUT fails at once and
 *    never replaces the object.
 */
static void test_review_edges(void **state)
{
    (void)state;
    run x = run_json("{\"seed\": 1, \"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1,"
                     " \"requests\": 3, \"drain_s\": 1.022, \"spans_per_request\": 2},"
                     " \"network\": {\"latency\": {\"fixed_ms\": 5}}, \"exporter\": {},"
                     " \"pipeline\": {\"job_delay\": {\"fixed_s\": 1}},"
                     " \"app\": {\"handler\": [" PUT ", " NOTIFY(", \"via\": \"origin\"") "]}}",
                     NULL);
    assert_int_equal(x.s.r.report.fate[FATE_DELIVERED], 4);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE request = 3 AND fate = 'lost' AND"
                            " cause = 'stranded-at-end' AND layer = 'fetch-object'"),
                     2);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM drops"), 2);
    run_free(&x);

    x = run_json(
        "{\"seed\": 1, \"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 1,"
        " \"requests\": 2, \"drain_s\": 10, \"spans_per_request\": 2},"
        " \"network\": {\"latency\": {\"fixed_ms\": 5}}, \"exporter\": {},"
        " \"pipeline\": {\"job_delay\": {\"fixed_s\": 1.5}},"
        " \"app\": {\"handler\": [{\"fetch\": {\"name\": \"r2-put\", \"url\":"
        " \"r2://t/latest\", \"body\": \"carried\"}}, " NOTIFY(", \"via\": \"origin\"") "]}}",
        NULL);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE request = 1 AND fate = 'lost' AND"
                            " cause = 'lost-at-hop' AND layer = 'fetch-object'"),
                     2);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE request = 2 AND fate = 'duplicated'"),
                     2);
    run_free(&x);

    x = run_json(
        "{" BASE " \"app\": {\"handler\": [{\"fetch\": {\"name\": \"direct\", \"url\":"
        " \"https://in.flare.dev/v1/traces\", \"body\": \"carried\", \"via\": \"origin\"}}]}}",
        NULL);
    assert_int_equal(x.s.r.report.fate[FATE_DELIVERED], 6);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM drops"), 0);
    run_free(&x);

    x = run_json("{" BASE " \"app\": {\"handler\": [" PUT
                 ", " NOTIFY(", \"via\": \"origin\"") ", {\"set_timeout\": {\"delay\": "
                                                      "{\"fixed_s\": 0.5}, \"do\": [" PUT "]}}]}}",
                 NULL);
    assert_int_equal(x.s.r.report.fate[FATE_DELIVERED], 6);
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM requests WHERE method = 'PUT'"), 3);
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM objects WHERE size = 0"), 0);
    run_free(&x);
}

/* The same scenario and seed give the same run: the ingest's rows and the event log. */
static void test_deterministic(void **state)
{
    (void)state;
    const char *json =
        "{\"seed\": 3, \"workload\": {\"arrivals\": \"poisson\", \"rate_per_s\": 20,"
        " \"duration_s\": 5, \"spans_per_request\": 3},"
        " \"exporter\": {\"strategy\": \"immediate\"},"
        " \"app\": {\"zone\": \"z\", \"handler\": [" PUT
        ", " NOTIFY("") "]},"
                        " \"zones\": [{\"host\": \"in.flare.dev\", \"routing\": [{\"via\": \"waf\","
                        " \"share\": 0.5}]}],"
                        " \"waf\": {\"window\": \"fixed\", \"rate_limits\": [{\"id\": \"api\","
                        " \"expression\": \"http.request.uri.path eq \\\"/api/n\\\"\","
                        " \"requests_per_period\": 5, \"period_s\": 10}]}}";
    run a = run_json(json, NULL), b = run_json(json, NULL);
    assert_true(a.s.r.report.fate[FATE_LOST] > 0 && a.s.r.report.fate[FATE_DELIVERED] > 0);
    assert_int_equal(a.s.r.report.fate[FATE_LOST], b.s.r.report.fate[FATE_LOST]);
    assert_true(a.s.r.hash == b.s.r.hash);
    assert_string_equal(a.s.events, b.s.events);
    run_free(&a);
    run_free(&b);
}

/*
 * The origin's store hangs (a timeout fault on /v1/ that never answers): the funnel of
 * test_funnel_by_hand without its WAF, so every job stores, at 1.035, 2.030 and 3.030 s
 * (each notification's arrival - 0.020, 1.015, 2.015 s: only the first request had a cold
 * start - + 1 s + the GET out and back + the POST's trip), and none is answered. The six spans are
 * lost as network-error from the store at those instants - not stranded at the end of the run,
 * which is when the pipeline learns nothing will come.
 */
static void test_hung_store_is_a_network_loss(void **state)
{
    (void)state;
    run x = run_json(
        "{" BASE " \"app\": {\"zone\": \"flare.dev\", \"handler\": [" PUT ", " NOTIFY(
            "") "]},"
                " \"faults\": {\"rules\": [{\"kind\": \"timeout\", \"paths\": [\"/v1/\"]}]}}",
        NULL);
    const ledger_report *r = &x.s.r.report;
    assert_int_equal(r->carried, 6);
    assert_int_equal(r->fate[FATE_LOST], 6);
    assert_int_equal(r->lost_by[CAUSE_NETWORK_ERROR], 6);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE cause = 'network-error'"
                            " AND layer = 'store'"),
                     6);
    assert_int_equal(lq(&x, "SELECT MIN(died_ns) FROM fates"), 1035000000);
    assert_int_equal(lq(&x, "SELECT MAX(died_ns) FROM fates"), 3030000000);
    assert_int_equal(iq(&x, "SELECT COUNT(*) FROM items"), 0);
    run_free(&x);
}

/*
 * Two jobs of one object key (every PUT to r2://t/fixed), both at their GET: request 1's GET
 * (at 1.020 s) is slowed 5 s on its way out, request 2's (at 3.020 s, requests 2 s apart)
 * hangs. The hung GET is request 2's job's, whatever the other job holds: its spans are lost
 * as network-error from fetch-object at 3.020 s (request 1's, read after request 2's PUT
 * replaced the object, are lost at that hop for that reason).
 */
static void test_hung_get_blames_its_own_job(void **state)
{
    (void)state;
    run x =
        run_json("{\"seed\": 1, \"workload\": {\"arrivals\": \"constant\", \"rate_per_s\": 0.5,"
                 " \"requests\": 3, \"drain_s\": 30, \"spans_per_request\": 2},"
                 " \"network\": {\"latency\": {\"fixed_ms\": 5}}, \"exporter\": {\"strategy\": "
                 "\"immediate\"},"
                 " \"pipeline\": {\"job_delay\": {\"fixed_s\": 1}},"
                 " \"app\": {\"zone\": \"flare.dev\", \"handler\": ["
                 "{\"fetch\": {\"name\": \"r2-put\", \"url\": \"r2://t/fixed\", \"body\": "
                 "\"carried\"}}, " NOTIFY("") "]}, \"faults\": {\"rules\": [{\"kind\": "
                                              "\"latency\", \"latency_ms\": 5000, \"from_s\": 1.0,"
                                              " \"until_s\": 1.5, \"paths\": [\"/r2/\"]}, "
                                              "{\"kind\": \"timeout\", \"from_s\": 3.0,"
                                              " \"until_s\": 3.5, \"paths\": [\"/r2/\"]}]}}",
                 NULL);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE request = 2 AND cause ="
                            " 'network-error' AND layer = 'fetch-object' AND died_ns = 3020000000"),
                     2);
    assert_int_equal(lq(&x, "SELECT COUNT(*) FROM fates WHERE cause = 'stranded-at-end'"), 0);
    run_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_funnel_by_hand),
        cmocka_unit_test(test_hung_store_is_a_network_loss),
        cmocka_unit_test(test_hung_get_blames_its_own_job),
        cmocka_unit_test(test_routing_change),
        cmocka_unit_test(test_on_error_retry_recovers),
        cmocka_unit_test(test_what_is_never_handed_on),
        cmocka_unit_test(test_everything_at_once),
        cmocka_unit_test(test_review_edges),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
