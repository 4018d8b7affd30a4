/*
 * Exporters out of process (see remote.h): the proxy descriptor and the simulator's end of
 * the exporter protocol (docs/exporter-protocol.md).
 *
 * A call is a message to the child and a loop over what comes back until its "ret": every
 * service request in between is served by the isolate's real host at once, in the order
 * the plugin made them, so their effects are what they would be in process. The host never
 * calls into an exporter from inside one of its calls (ABI rule), so the loop never has to
 * carry a call of ours inside another.
 */
#include "remote.h"

#include "error.h"
#include "host.h"
#include "idmap.h"
#include "wire.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The layer of items the host loses when the child is gone. */
#define CRASH_LAYER "exporter-host"

typedef struct proxy proxy;

struct exp_remote {
    const exp_remote_cfg *cfg;
    pid_t pid;
    wire *w;
    bool failed;
    char failure[1500];
    idmap isos;  /* key -> proxy */
    idmap calls; /* id -> pcall: calls the child has not finished */
    uint64_t next_iso, next_call;
    char **strs; /* interned layer names: they must outlive every exporter */
    size_t nstrs, capstrs;
    uint64_t ncalls, wall_ns;
    tel_item stranger; /* what an id the child was not given stands for: held by no one */
};

/* The per-isolate state of the proxy descriptor (its state_size). */
struct proxy {
    exp_remote *rm;
    exp_host *h;
    uint64_t key;
    idmap items;  /* id -> tel_item: what the child was given and did not hand back */
    idmap cbs;    /* child's callback id -> pcb: its timers and sends */
    idmap layers; /* id -> layer, while have_layers */
    bool have_layers;
};

typedef struct pcall {
    el_call *c;
    proxy *p;
} pcall;

typedef struct pcb {
    proxy *p;
    uint64_t id, host_id; /* the child's number; a timer's id at the host */
    bool timer, periodic;
} pcb;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* An integer as JSON: cJSON prints a number past 2^31 with "%1.15g" and reads it back to
 * check it, which is most of the cost of an export's message; an integer needs neither. */
static cJSON *json_int(int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRId64, v);
    return cJSON_CreateRaw(b);
}

static const char *intern(exp_remote *rm, const char *s)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < rm->nstrs; i++)
        if (strcmp(rm->strs[i], s) == 0)
            return rm->strs[i];
    if (rm->nstrs == rm->capstrs) {
        rm->capstrs = rm->capstrs ? 2 * rm->capstrs : 8;
        if (!(rm->strs = realloc(rm->strs, rm->capstrs * sizeof *rm->strs)))
            abort();
    }
    if (!(rm->strs[rm->nstrs] = strdup(s)))
        abort();
    return rm->strs[rm->nstrs++];
}

/* ---- the child ---- */

/* The directory of the running program, where its hosts are installed. */
static int self_dir(char *dir, size_t len, const char *what, char *err, size_t errlen)
{
    ssize_t n = readlink("/proc/self/exe", dir, len - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot find %s: /proc/self/exe: %s", what, strerror(errno));
        return SIM_EINPUT;
    }
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return 0;
}

int exp_remote_host_path(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *env = getenv("EDGELOSS_EXPORTER_HOST");
    if (env && *env) {
        snprintf(out, outlen, "%s", env);
    } else {
        char self[4096];
        if (self_dir(self, sizeof self, "the exporter host", err, errlen))
            return SIM_EINPUT;
        snprintf(out, outlen, "%s/edgeloss-exporter-host", self);
    }
    if (access(out, X_OK) != 0) {
        snprintf(err, errlen,
                 "cannot run the exporter host %s (%s): install edgeloss-exporter-host beside "
                 "edgeloss, name it in EDGELOSS_EXPORTER_HOST, or run the plugin in process "
                 "(exporter.in_process, --exporter-in-process: unprotected)",
                 out, strerror(errno));
        return SIM_EINPUT;
    }
    return 0;
}

/* An executable named `name` in $PATH. */
static int on_path(const char *name, char *out, size_t outlen)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(out, outlen, "%.*s/%s", (int)n, n ? path : ".", name);
        if (access(out, X_OK) == 0)
            return 0;
        path += n + (path[n] == ':');
    }
    return -1;
}

int exp_remote_js_paths(char *node, size_t nodelen, char *script, size_t scriptlen, char *err,
                        size_t errlen)
{
    const char *env = getenv("EDGELOSS_NODE");
    if (env && *env) {
        snprintf(node, nodelen, "%s", env);
        if (access(node, X_OK) != 0) {
            snprintf(err, errlen, "cannot run EDGELOSS_NODE=%s (%s)", node, strerror(errno));
            return SIM_EINPUT;
        }
    } else if (on_path("node", node, nodelen)) {
        snprintf(err, errlen,
                 "a JavaScript exporter needs Node.js 18 or later: no `node` on PATH (install "
                 "Debian's nodejs, or name one in EDGELOSS_NODE)");
        return SIM_EINPUT;
    }
    env = getenv("EDGELOSS_JS_HOST");
    if (env && *env) {
        snprintf(script, scriptlen, "%s", env);
    } else {
        char self[4096];
        if (self_dir(self, sizeof self, "the JavaScript host", err, errlen))
            return SIM_EINPUT;
        snprintf(script, scriptlen, "%s/edgeloss-js-host.js", self);
        if (access(script, R_OK) != 0)
            snprintf(script, scriptlen, "%s/../share/edgeloss/js/edgeloss-js-host.js", self);
    }
    if (access(script, R_OK) != 0) {
        snprintf(err, errlen,
                 "cannot read the JavaScript host %s (%s): install edgeloss's share/edgeloss/js, "
                 "or name edgeloss-js-host.js in EDGELOSS_JS_HOST",
                 script, strerror(errno));
        return SIM_EINPUT;
    }
    return 0;
}

static const char *what_ended(pid_t pid, char *buf, size_t len, bool killed)
{
    int st = 0;
    pid_t got = 0;
    /* A child that closed its end is on its way out: give it a moment, then make sure. */
    for (int i = 0; i < 100 && !killed && (got = waitpid(pid, &st, WNOHANG)) == 0; i++)
        usleep(10000);
    if (got == 0) {
        kill(pid, SIGKILL);
        got = waitpid(pid, &st, 0);
    }
    if (got != pid)
        snprintf(buf, len, "ended (%s)", strerror(errno));
    else if (WIFSIGNALED(st) && !killed)
        snprintf(buf, len, "crashed (killed by signal %d, %s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else if (WIFEXITED(st))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    else
        snprintf(buf, len, "was killed");
    return buf;
}

static int spawn_child(exp_remote *rm, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "the exporter host: socketpair: %s", strerror(errno));
        return SIM_EINPUT;
    }
    /* dup2 onto itself would keep close-on-exec: keep the child's end off 3. */
    if (sv[1] == 3) {
        int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
        close(sv[1]);
        sv[1] = moved;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    posix_spawn_file_actions_adddup2(&fa, 2, 1); /* a plugin's printf must not reach our stdout */
    char *native[] = {(char *)rm->cfg->host, "--fd", "3", NULL};
    char *js[] = {(char *)rm->cfg->host, (char *)rm->cfg->script, "--fd", "3", NULL};
    char **argv = rm->cfg->script ? js : native;
    int rc = posix_spawn(&rm->pid, rm->cfg->host, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        rm->pid = 0;
        snprintf(err, errlen, "cannot start the exporter host %s: %s", rm->cfg->host, strerror(rc));
        return SIM_EINPUT;
    }
    rm->w = wire_new(sv[0], sv[0]);
    return 0;
}

/* One answer during the start: the message, or NULL with err saying why. */
static cJSON *start_answer(exp_remote *rm, const char *want, char *err, size_t errlen)
{
    cJSON *m = NULL;
    wire_status st = wire_flush(rm->w);
    if (!st)
        st = wire_get(rm->w, (int)rm->cfg->budget_ms, &m);
    if (st) {
        char how[200];
        snprintf(err, errlen, "%s: the exporter host %s %s before its %s: %s", rm->cfg->plugin,
                 rm->cfg->host, what_ended(rm->pid, how, sizeof how, st != WIRE_EOF), want,
                 wire_status_text(st));
        rm->pid = 0;
        return NULL;
    }
    if (strcmp(wire_type(m), "error") == 0) {
        const char *t = wire_str(m, "message");
        snprintf(err, errlen, "%s", t ? t : "the exporter host refused it");
        cJSON_Delete(m);
        return NULL;
    }
    if (strcmp(wire_type(m), want) != 0) {
        snprintf(err, errlen, "%s: the exporter host %s answered \"%s\", expected \"%s\"",
                 rm->cfg->plugin, rm->cfg->host, wire_type(m), want);
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

static void remote_free(exp_remote *rm)
{
    wire_free(rm->w); /* first: the child leaves when its end is closed */
    if (rm->pid > 0) {
        char how[200];
        what_ended(rm->pid, how, sizeof how, false);
    }
    for (size_t i = 0; i < rm->nstrs; i++)
        free(rm->strs[i]);
    free(rm->strs);
    for (size_t i = 0; i < rm->calls.cap; i++)
        free(rm->calls.s[i].val);
    idmap_free(&rm->calls);
    idmap_free(&rm->isos);
    free(rm);
}

/* Starts the child, checks its protocol and loads and configures the plugin. */
static int open_child(const exp_remote_cfg *cfg, exp_remote **out, cJSON **loaded, char *err,
                      size_t errlen)
{
    *out = NULL;
    exp_remote *rm = calloc(1, sizeof *rm);
    if (!rm)
        abort();
    rm->cfg = cfg;
    if (spawn_child(rm, err, errlen)) {
        free(rm);
        return SIM_EINPUT;
    }
    cJSON *m = start_answer(rm, "hello", err, errlen);
    if (m && wire_num(m, "protocol") != WIRE_PROTOCOL) {
        snprintf(err, errlen,
                 "%s: the exporter host %s speaks exporter protocol %g, this edgeloss speaks "
                 "protocol %d: use the edgeloss-exporter-host of this edgeloss",
                 cfg->plugin, cfg->host, wire_num(m, "protocol"), WIRE_PROTOCOL);
        cJSON_Delete(m);
        m = NULL;
    }
    cJSON_Delete(m);
    if (m) {
        cJSON *load = cJSON_CreateObject();
        cJSON_AddStringToObject(load, "m", "load");
        cJSON_AddStringToObject(load, "plugin", cfg->plugin);
        if (cfg->factory)
            cJSON_AddStringToObject(load, "factory", cfg->factory);
        wire_put(rm->w, load);
        cJSON_Delete(load);
        m = start_answer(rm, "loaded", err, errlen);
    }
    if (m) {
        cJSON *conf = cJSON_CreateObject();
        cJSON_AddStringToObject(conf, "m", "configure");
        cJSON_AddItemToObject(conf, "options",
                              cfg->options ? cJSON_Parse(cfg->options) : cJSON_CreateNull());
        cJSON_AddStringToObject(conf, "file", cfg->file ? cfg->file : "?");
        cJSON_AddStringToObject(conf, "jpath", "$.exporter.options");
        wire_put(rm->w, conf);
        cJSON_Delete(conf);
        cJSON *c = start_answer(rm, "configured", err, errlen);
        /* A JavaScript exporter knows what it is only once its factory ran with the options:
         * its "configured" carries the descriptor then. */
        if (!c || cJSON_HasObjectItem(c, "caps")) {
            cJSON_Delete(m);
            m = c;
        } else {
            cJSON_Delete(c);
        }
    }
    if (!m) {
        remote_free(rm);
        return SIM_EINPUT;
    }
    *loaded = m;
    *out = rm;
    return 0;
}

int exp_remote_start(const exp_remote_cfg *cfg, exp_remote **out, char *err, size_t errlen)
{
    cJSON *loaded;
    int rc = open_child(cfg, out, &loaded, err, errlen);
    if (!rc)
        cJSON_Delete(loaded);
    return rc;
}

void exp_remote_stop(exp_remote *rm)
{
    if (!rm)
        return;
    /* For bench/exporter-boundary.sh: timing only, never compared, never decides. */
    if (getenv("EDGELOSS_EXPORTER_STATS") && rm->ncalls)
        fprintf(stderr, "exporter host: %" PRIu64 " calls, %.1f us each (mean round trip)\n",
                rm->ncalls, (double)rm->wall_ns / 1e3 / (double)rm->ncalls);
    if (!rm->failed) {
        cJSON *bye = cJSON_CreateObject();
        cJSON_AddStringToObject(bye, "m", "bye");
        wire_put(rm->w, bye);
        cJSON_Delete(bye);
        wire_flush(rm->w);
    }
    remote_free(rm);
}

const char *exp_remote_failure(const exp_remote *rm)
{
    return rm && rm->failed ? rm->failure : NULL;
}

/* ---- the child is gone ---- */

/* A call the child will never finish: finished by a task of its isolate at this instant, so
 * that its caller goes on as after any failed call. */
static void end_calls_of(proxy *p, bool finish)
{
    exp_remote *rm = p->rm;
    for (;;) {
        uint64_t key = 0;
        for (size_t i = 0; i < rm->calls.cap && !key; i++)
            if (rm->calls.s[i].val && ((pcall *)rm->calls.s[i].val)->p == p)
                key = rm->calls.s[i].key;
        if (!key)
            break;
        pcall *pc = idmap_del(&rm->calls, key);
        if (finish)
            p->h->pub.api->done(&p->h->pub, pc->c);
        free(pc);
    }
}

static void finish_orphans(void *ud)
{
    end_calls_of(ud, true);
}

static void forget_cbs(proxy *p)
{
    for (size_t i = 0; i < p->cbs.cap; i++)
        free(p->cbs.s[i].val);
    idmap_free(&p->cbs);
}

/* The child's timers will not be called any more; its sends' answers still come (their
 * items are the host's to lose), so those records stay until then or the isolate's end. */
static void clear_timers(proxy *q)
{
    for (;;) {
        pcb *k = NULL;
        for (size_t i = 0; i < q->cbs.cap && !k; i++)
            if (q->cbs.s[i].val && ((pcb *)q->cbs.s[i].val)->timer)
                k = q->cbs.s[i].val;
        if (!k)
            break;
        idmap_del(&q->cbs, k->id);
        q->h->pub.api->timer_clear(&q->h->pub, k->host_id);
        free(k);
    }
}

static void fail(exp_remote *rm, proxy *p, const char *during, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(exp_remote *rm, proxy *p, const char *during, const char *fmt, ...)
{
    if (rm->failed)
        return;
    rm->failed = true;
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(rm->failure, sizeof rm->failure,
             "the %s %s %s during %s (isolate %" PRIu64
             ", t = %.9f s); what it held, and all exported after, is lost as exporter-crashed",
             rm->cfg->script ? "JavaScript host of exporter" : "exporter host of plugin",
             rm->cfg->plugin, what, during, p ? p->h->env.iso.id : 0,
             p ? (double)rt_time(p->h->env.r) / 1e9 : 0.0);
    char line[1600];
    snprintf(line, sizeof line, "exporter host failed: %s", rm->failure);
    if (p)
        p->h->pub.api->log(&p->h->pub, line);
    fprintf(stderr, "edgeloss: %s\n", rm->failure);
    rm->pid = 0;
    /* Every isolate's exporter is gone with it, now. */
    for (size_t i = 0; i < rm->isos.cap; i++) {
        proxy *q = rm->isos.s[i].val;
        if (!q)
            continue;
        host_lose_held(q->h, CAUSE_EXPORTER_CRASHED, CRASH_LAYER);
        idmap_free(&q->items);
        clear_timers(q);
        if (!q->h->dying)
            q->h->pub.api->timer(&q->h->pub, 0, 0, finish_orphans, q);
    }
}

/* Kills the child and says why (it did not answer, flooded, or broke the protocol). */
static void kill_child(exp_remote *rm, proxy *p, const char *during, const char *why)
{
    char how[200];
    if (rm->pid > 0)
        kill(rm->pid, SIGKILL);
    what_ended(rm->pid, how, sizeof how, true);
    fail(rm, p, during, "%s: killed", why);
}

/* ---- serving the child ---- */

/* The items a message names, as the host's; an id the child was not given (or handed back
 * already) becomes an item no exporter holds, which the host refuses and logs as it would in
 * process. *all: whether every one is held. */
static tel_item **items_of(proxy *p, const cJSON *m, size_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "items"), *e;
    size_t k = 0;
    tel_item **v = malloc(((size_t)cJSON_GetArraySize(a) + 1) * sizeof *v);
    if (!v)
        abort();
    cJSON_ArrayForEach(e, a)
    {
        tel_item *it = cJSON_IsNumber(e) ? idmap_get(&p->items, (uint64_t)e->valuedouble) : NULL;
        v[k++] = it ? it : &p->rm->stranger;
    }
    *n = k;
    return v;
}

static void unmap(proxy *p, tel_item **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        idmap_del(&p->items, v[i]->n);
}

static void on_sent(void *ud, int status, int64_t retry_after_s, el_item *const *items, size_t n);

static void on_timer(void *ud);

static pcb *new_cb(proxy *p, uint64_t id)
{
    pcb *k = calloc(1, sizeof *k);
    if (!k)
        abort();
    k->p = p;
    k->id = id;
    return k;
}

/* A service request of the child; a round trip's answer is queued on the wire. Returns false
 * when it is not a message of the protocol. */
static bool serve(exp_remote *rm, proxy *cur, const cJSON *m)
{
    const char *t = wire_type(m);
    proxy *p = idmap_get(&rm->isos, (uint64_t)wire_num(m, "iso"));
    if (!p)
        p = cur;
    el_host *h = &p->h->pub;
    const el_host_api *api = h->api;
    if (strcmp(t, "log") == 0) {
        api->log(h, wire_str(m, "msg"));
    } else if (strcmp(t, "done") == 0) {
        pcall *pc = idmap_del(&rm->calls, (uint64_t)wire_num(m, "call"));
        if (pc)
            pc->p->h->pub.api->done(&pc->p->h->pub, pc->c);
        else
            api->log(h, "done() called again on a finished call: ignored");
        free(pc);
    } else if (strcmp(t, "timer") == 0) {
        uint64_t id = (uint64_t)wire_num(m, "id");
        int64_t period = (int64_t)wire_num(m, "period");
        pcb *k = new_cb(p, id);
        k->timer = true;
        k->periodic = period > 0;
        k->host_id = api->timer(h, (int64_t)wire_num(m, "delay"), period, on_timer, k);
        if (k->host_id && id)
            free(idmap_put(&p->cbs, id, k));
        else
            free(k);
    } else if (strcmp(t, "timer_clear") == 0) {
        pcb *k = idmap_del(&p->cbs, (uint64_t)wire_num(m, "id"));
        if (k)
            api->timer_clear(h, k->host_id);
        free(k);
    } else if (strcmp(t, "moved") == 0 || strcmp(t, "release") == 0 || strcmp(t, "drop") == 0) {
        size_t n;
        tel_item **v = items_of(p, m, &n);
        const char *layer = intern(rm, wire_str(m, "layer"));
        bool held = host_holds(p->h, v, n);
        if (t[0] == 'm')
            api->moved(h, v, n, layer);
        else if (t[0] == 'r') {
            if (held)
                unmap(p, v, n);
            api->release(h, v, n);
        } else {
            if (held)
                unmap(p, v, n);
            api->drop(h, v, n, (el_cause)(int)wire_num(m, "cause"), layer);
        }
        free(v);
    } else if (strcmp(t, "send") == 0 || strcmp(t, "fetch") == 0) {
        size_t n;
        tel_item **v = items_of(p, m, &n);
        /* The child names no callback (0) only inside destroy(), where the host refuses the
         * request (and logs it) without ever calling back. */
        uint64_t id = (uint64_t)wire_num(m, "cb");
        pcb *k = new_cb(p, id);
        el_signal sig = (el_signal)(int)wire_num(m, "sig");
        if (t[0] == 's') {
            api->send(h, sig, v, n, on_sent, k);
        } else {
            const char *body = wire_str(m, "body"), *b64 = wire_str(m, "body64");
            size_t len = body ? strlen(body) : 0;
            char *raw = b64 ? wire_b64_decode(b64, &len) : NULL;
            el_fetch_req req = {sig, raw ? raw : body, len, (int64_t)wire_num(m, "timeout"),
                                (uint32_t)wire_num(m, "attempt")};
            if (!body && !raw)
                req.body = NULL, req.len = 1; /* refused, as a NULL body with a length is */
            api->fetch(h, &req, v, n, on_sent, k);
            free(raw);
        }
        if (id && !p->h->dying)
            free(idmap_put(&p->cbs, id, k));
        else
            free(k);
        free(v);
    } else if (strcmp(t, "random") == 0) {
        char r[32];
        snprintf(r, sizeof r, "%016" PRIx64, api->random(h));
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "m", "random");
        cJSON_AddStringToObject(a, "r", r);
        wire_put(rm->w, a);
        cJSON_Delete(a);
    } else if (strcmp(t, "encode") == 0) {
        size_t n, len = 0;
        tel_item **v = items_of(p, m, &n);
        char *body = api->encode(h, (el_signal)(int)wire_num(m, "sig"), v, n, &len);
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "m", "encoded");
        if (body)
            cJSON_AddStringToObject(a, "body", body);
        wire_put(rm->w, a);
        cJSON_Delete(a);
        free(body);
        free(v);
    } else {
        return false;
    }
    return true;
}

/* One call into the child and everything it asks for until it returns. 0, or -1 when the
 * child is gone (it may have been before the call). *ret (may be NULL) gets the "ret". */
static int rpc(proxy *p, cJSON *m, const char *during, cJSON **ret)
{
    exp_remote *rm = p->rm;
    if (ret)
        *ret = NULL;
    if (rm->failed) {
        cJSON_Delete(m);
        return -1;
    }
    p->have_layers = false;
    int64_t t0 = mono_ns();
    cJSON_AddNumberToObject(m, "iso", (double)p->key);
    cJSON_AddItemToObject(m, "t", json_int(rt_time(p->h->env.r)));
    wire_status st = wire_put(rm->w, m);
    cJSON_Delete(m);
    if (!st)
        st = wire_flush(rm->w);
    uint64_t got = 0;
    int64_t deadline = t0 + rm->cfg->budget_ms * 1000000;
    while (!st) {
        int64_t left_ms = (deadline - mono_ns()) / 1000000;
        cJSON *a;
        st = wire_get(rm->w, left_ms < 0 ? 0 : (int)left_ms, &a);
        if (st)
            break;
        if (++got > rm->cfg->budget_messages) {
            cJSON_Delete(a);
            char why[160];
            snprintf(why, sizeof why,
                     "sent more than %" PRIu64 " messages in one call (its per-call budget)",
                     rm->cfg->budget_messages);
            kill_child(rm, p, during, why);
            return -1;
        }
        if (strcmp(wire_type(a), "ret") == 0) {
            rm->ncalls++;
            rm->wall_ns += (uint64_t)(mono_ns() - t0);
            if (ret)
                *ret = a;
            else
                cJSON_Delete(a);
            return 0;
        }
        if (strcmp(wire_type(a), "fail") == 0) {
            /* The host says the exporter's own code failed (an exception it did not catch, a
             * call nothing can finish any more): the same ending as a crash, in its words. */
            char why[900];
            snprintf(why, sizeof why, "reported that the exporter failed (%.800s)",
                     wire_str(a, "message") ? wire_str(a, "message") : "?");
            cJSON_Delete(a);
            kill_child(rm, p, during, why);
            return -1;
        }
        bool ok = serve(rm, p, a);
        cJSON_Delete(a);
        if (!ok) {
            kill_child(rm, p, during, "broke the protocol (a message it may not send)");
            return -1;
        }
        st = wire_flush(rm->w);
    }
    if (st == WIRE_TIMEOUT) {
        char why[160];
        snprintf(why, sizeof why,
                 "did not return within %" PRId64 " ms of wall time (its per-call budget)",
                 rm->cfg->budget_ms);
        kill_child(rm, p, during, why);
    } else if (st == WIRE_EOF || st == WIRE_IO) {
        char how[200];
        fail(rm, p, during, "%s", what_ended(rm->pid, how, sizeof how, false));
    } else {
        kill_child(rm, p, during, wire_status_text(st));
    }
    return -1;
}

static cJSON *call_msg(const char *type)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "m", type);
    return m;
}

static cJSON *id_array(el_item *const *items, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)items[i]->n));
    return a;
}

static void on_timer(void *ud)
{
    pcb *k = ud;
    proxy *p = k->p;
    uint64_t id = k->id;
    if (!k->periodic) /* the host forgets a one-shot once it fired */
        free(idmap_del(&p->cbs, id));
    cJSON *m = call_msg("timer");
    cJSON_AddNumberToObject(m, "id", (double)id);
    rpc(p, m, "a timer", NULL);
}

static void on_sent(void *ud, int status, int64_t retry_after_s, el_item *const *items, size_t n)
{
    pcb *k = ud;
    proxy *p = k->p;
    uint64_t id = k->id;
    free(idmap_del(&p->cbs, id));
    if (p->rm->failed) {
        host_lose(p->h, items, n, CAUSE_EXPORTER_CRASHED, CRASH_LAYER);
        return;
    }
    cJSON *m = call_msg("sent");
    cJSON_AddNumberToObject(m, "cb", (double)id);
    cJSON_AddNumberToObject(m, "status", status);
    cJSON_AddNumberToObject(m, "retry_after", (double)retry_after_s);
    cJSON_AddItemToObject(m, "items", id_array(items, n));
    rpc(p, m, "a send's answer", NULL);
}

/* ---- the proxy descriptor ---- */

static uint64_t call_id(exp_remote *rm, proxy *p, el_call *c)
{
    pcall *pc = malloc(sizeof *pc);
    if (!pc)
        abort();
    *pc = (pcall){c, p};
    uint64_t id = ++rm->next_call;
    idmap_put(&rm->calls, id, pc);
    return id;
}

static void r_create(void *self, el_host *h, const void *config)
{
    (void)config;
    proxy *p = self;
    p->h = (exp_host *)h;
    p->rm = p->h->env.remote;
    assert(p->rm);
    p->key = ++p->rm->next_iso;
    idmap_put(&p->rm->isos, p->key, p);
    rpc(p, call_msg("create"), "create", NULL);
}

static void r_export(void *self, el_signal sig, el_item *const *items, size_t n, el_call *call)
{
    proxy *p = self;
    exp_remote *rm = p->rm;
    if (rm->failed) {
        host_lose(p->h, items, n, CAUSE_EXPORTER_CRASHED, CRASH_LAYER);
        p->h->pub.api->done(&p->h->pub, call);
        return;
    }
    cJSON *m = call_msg("export");
    cJSON_AddNumberToObject(m, "call", (double)call_id(rm, p, call));
    cJSON_AddNumberToObject(m, "sig", sig);
    cJSON *a = cJSON_AddArrayToObject(m, "items");
    for (size_t i = 0; i < n; i++) {
        const tel_item *it = items[i];
        cJSON *e = cJSON_CreateArray();
        cJSON_AddItemToArray(e, json_int((int64_t)it->n));
        cJSON_AddItemToArray(e, cJSON_CreateNumber(it->entry ? EL_KIND_ENTRY : (int)it->sig));
        cJSON_AddItemToArray(e, json_int((int64_t)it->request_id));
        cJSON_AddItemToArray(e, cJSON_CreateString(it->name ? it->name : ""));
        cJSON_AddItemToArray(e, json_int(it->start_ns));
        cJSON_AddItemToArray(e, json_int(it->end_ns));
        cJSON_AddItemToArray(e, cJSON_CreateString(it->json ? it->json : ""));
        cJSON_AddItemToArray(a, e);
        idmap_put(&p->items, it->n, items[i]);
    }
    rpc(p, m, "export_items", NULL);
}

static void simple_call(proxy *p, const char *type, el_call *call)
{
    exp_remote *rm = p->rm;
    if (rm->failed) {
        p->h->pub.api->done(&p->h->pub, call);
        return;
    }
    cJSON *m = call_msg(type);
    cJSON_AddNumberToObject(m, "call", (double)call_id(rm, p, call));
    rpc(p, m, type, NULL);
}

static void r_flush(void *self, el_call *call)
{
    simple_call(self, "flush", call);
}

static void r_shutdown(void *self, el_call *call)
{
    simple_call(self, "shutdown", call);
}

/* The host asks item by item just before destroy(); the child is asked once for all. */
static const char *r_layer_of(void *self, const el_item *it)
{
    proxy *p = self;
    if (!p->have_layers && !p->rm->failed) {
        cJSON *m = call_msg("layers"), *ret;
        cJSON *a = cJSON_AddArrayToObject(m, "items");
        tel_item **v = malloc((p->items.n + 1) * sizeof *v);
        if (!v)
            abort();
        size_t n = 0;
        for (size_t i = 0; i < p->items.cap; i++)
            if (p->items.s[i].val)
                v[n++] = p->items.s[i].val;
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]->n));
        if (rpc(p, m, "layer_of", &ret) == 0) {
            const cJSON *ls = cJSON_GetObjectItemCaseSensitive(ret, "layers");
            size_t i = 0;
            const cJSON *l;
            idmap_free(&p->layers);
            cJSON_ArrayForEach(l, ls)
            {
                if (i < n && cJSON_IsString(l))
                    idmap_put(&p->layers, v[i]->n, (void *)intern(p->rm, l->valuestring));
                i++;
            }
            p->have_layers = true;
        }
        cJSON_Delete(ret);
        free(v);
    }
    return p->have_layers ? idmap_get(&p->layers, it->n) : NULL;
}

static void r_destroy(void *self, el_cause cause)
{
    proxy *p = self;
    exp_remote *rm = p->rm;
    cJSON *m = call_msg("destroy");
    cJSON_AddNumberToObject(m, "cause", cause);
    rpc(p, m, "destroy", NULL);
    end_calls_of(p, false); /* the calls it never finished die with their isolate */
    idmap_del(&rm->isos, p->key);
    idmap_free(&p->items);
    idmap_free(&p->layers);
    forget_cbs(p);
}

static const el_exporter proxy_template = {
    .abi = EL_EXPORTER_ABI,
    .size = sizeof(el_exporter),
    .config_size = 0, /* its config is the scenario's exp_remote_cfg */
    .state_size = sizeof(proxy),
    .create = r_create,
    .export_items = r_export,
    .flush = r_flush,
    .shutdown = r_shutdown,
    .destroy = r_destroy,
};

bool exp_is_remote(const el_exporter *d)
{
    return d && d->create == r_create;
}

int exp_remote_probe(const exp_remote_cfg *cfg, el_exporter *desc, char *name_buf, size_t name_len,
                     char *err, size_t errlen)
{
    exp_remote *rm;
    cJSON *loaded;
    int rc = open_child(cfg, &rm, &loaded, err, errlen);
    if (rc)
        return rc;
    *desc = proxy_template;
    snprintf(name_buf, name_len, "%s", wire_str(loaded, "name") ? wire_str(loaded, "name") : "?");
    desc->name = name_buf;
    desc->caps = (uint32_t)wire_num(loaded, "caps");
    desc->bundle = (el_bundle)(int)wire_num(loaded, "bundle");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(loaded, "layer_of")))
        desc->layer_of = r_layer_of;
    cJSON_Delete(loaded);
    exp_remote_stop(rm);
    return 0;
}
