'use strict';
/*
 * One scenario of scripts/sdk-check.sh: the official OpenTelemetry JS SDK (exporter-trace-otlp-http,
 * JSON over HTTP) exports spans to a running mock-ingest, and this records what the client saw.
 *
 *   node check.js SCENARIO BASE_URL OUT_DIR
 *
 * Every span carries a unique `edgeloss.item_id` attribute (mock-ingest stores it in
 * items.item_id), so the outcome the exporter's export() callback reported for each span can be
 * compared, span by span, with the database afterwards. Writes:
 *   OUT_DIR/client_items.csv  item_id,ok (1: in an export whose result was SUCCESS, 0: FAILED)
 *   OUT_DIR/client.json       counts, the exporter's errors, every HTTP attempt's outcome as the
 *                             http.Agent saw it, the SDK's own retry decisions (its diag log), and
 *                             the head of the first request it sent
 * Bounded: a watchdog ends the process after WATCHDOG_MS whatever happens.
 */
const fs = require('fs');
const path = require('path');
const http = require('http');
const api = require('@opentelemetry/api');
const { ExportResultCode } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const {
    BasicTracerProvider,
    SimpleSpanProcessor,
    BatchSpanProcessor,
    InMemorySpanExporter,
} = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');

const WATCHDOG_MS = 55000;
const [scenario, baseUrl, outDir] = process.argv.slice(2);
if (!scenario || !baseUrl || !outDir) {
    console.error('usage: node check.js SCENARIO BASE_URL OUT_DIR');
    process.exit(2);
}
const t0 = Date.now();
const since = () => Date.now() - t0;

/* ---- what the client saw ---------------------------------------------------------------- */

const rec = {
    scenario,
    exports: 0,             /* export() calls the processor made */
    export_ok: 0,
    export_failed: 0,
    spans_created: 0,
    spans_ok: 0,
    spans_failed: 0,
    double_results: 0,      /* a span given a result twice (should never happen) */
    errors: {},             /* failed exports by error text */
    error_codes: {},        /* failed exports by OTLPExporterError.code (HTTP status) or errno code */
    http: { attempts: 0, by_status: {}, net_errors: {}, retry_after: {}, sockets: 0, max_open_sockets: 0, max_request_bytes: 0 },
    sdk_diag: {},           /* the SDK's own log lines, digits folded to N, counted */
    first_request_head: null,
    notes: [],
    elapsed_ms: 0,
};
const outcome = new Map(); /* item_id -> 1 / 0 */

function bump(obj, key, by = 1) { obj[key] = (obj[key] || 0) + by; }

/* The SDK's diag log: which retries it scheduled, which it gave up (Retry-After past the deadline). */
api.diag.setLogger({
    verbose: (m) => note('verbose', m),
    debug: (m) => { if (typeof m === 'string' && !m.startsWith('items to be sent')) note('debug', m); },
    info: (m) => note('info', m),
    warn: (m) => note('warn', m),
    error: (m) => note('error', m),
}, api.DiagLogLevel.VERBOSE);
function note(level, m) {
    if (typeof m !== 'string') return;
    bump(rec.sdk_diag, `${level}: ${m.replace(/\d+/g, 'N').slice(0, 160)}`);
}

/* An http.Agent that sees every attempt (the retries included) and every socket. */
class WatchingAgent extends http.Agent {
    constructor(opts) {
        super(opts);
        this._open = 0;
    }
    createConnection(options, cb) {
        const s = super.createConnection(options, cb);
        rec.http.sockets++;
        this._open++;
        rec.http.max_open_sockets = Math.max(rec.http.max_open_sockets, this._open);
        s.once('close', () => { this._open--; });
        return s;
    }
    addRequest(req, options) {
        rec.http.attempts++;
        req.once('finish', () => {
            if (rec.first_request_head === null && typeof req._header === 'string')
                rec.first_request_head = req._header;
            const sock = req.socket;
            if (sock) { /* bytes this request wrote: head and (chunked) body */
                const n = sock.bytesWritten - (sock._sdkCheckWritten || 0);
                sock._sdkCheckWritten = sock.bytesWritten;
                rec.http.max_request_bytes = Math.max(rec.http.max_request_bytes, n);
            }
        });
        req.once('response', (res) => {
            bump(rec.http.by_status, res.statusCode);
            const ra = res.headers['retry-after'];
            if (ra !== undefined) bump(rec.http.retry_after, `${res.statusCode}:${ra}`);
        });
        req.once('error', (e) => bump(rec.http.net_errors, e.code || e.message));
        return super.addRequest(req, options);
    }
}

/* Wraps the real exporter: records the export() result of every span it was given. */
class CountingExporter {
    constructor(inner) { this.inner = inner; }
    export(spans, resultCallback) {
        rec.exports++;
        this.inner.export(spans, (result) => {
            const ok = result.code === ExportResultCode.SUCCESS;
            if (ok) rec.export_ok++;
            else {
                rec.export_failed++;
                const e = result.error || {};
                bump(rec.errors, String(e.message || e).replace(/\d{3,}/g, 'N').slice(0, 160));
                bump(rec.error_codes, e.code !== undefined ? String(e.code) : 'none');
                if (e.data && rec.notes.length < 5) rec.notes.push(`error body: ${String(e.data).slice(0, 200)}`);
            }
            for (const s of spans) {
                const id = s.attributes['edgeloss.item_id'];
                if (outcome.has(id)) rec.double_results++;
                outcome.set(id, ok ? 1 : 0);
            }
            resultCallback(result);
        });
    }
    shutdown() { return this.inner.shutdown(); }
    forceFlush() { return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve(); }
}

function makeExporter(extra = {}) {
    const agent = new WatchingAgent({ keepAlive: true });
    return new CountingExporter(new OTLPTraceExporter({
        url: `${baseUrl}/v1/traces`,
        httpAgentOptions: async () => agent, /* the default agent is exactly new http.Agent({keepAlive: true}) */
        ...extra,
    }));
}

function makeProvider(processor) {
    return new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'sdk-check' }),
        spanProcessors: [processor],
    });
}

let seq = 0;
function endSpans(tracer, n, attrs = {}) {
    for (let i = 0; i < n; i++) {
        const id = `${scenario}-${String(seq++).padStart(6, '0')}`;
        tracer.startSpan('sdk-check', { attributes: { 'edgeloss.item_id': id, ...attrs } }).end();
        rec.spans_created++;
    }
}

const describe = (e) => (Array.isArray(e) ? e.map(describe).join('; ')
    : e instanceof Error ? `${e.name}: ${e.message}` : String(e));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function finish(provider) {
    try { await provider.forceFlush(); } catch (e) { rec.notes.push(`forceFlush rejected: ${describe(e)}`); }
    try { await provider.shutdown(); } catch (e) { rec.notes.push(`shutdown rejected: ${describe(e)}`); }
}

/* ---- the scenarios ---------------------------------------------------------------------- */

const scenarios = {
    /* The issue's case: one export per span, hundreds of concurrent keep-alive connections, in
     * waves: the second reuses the first's idle keep-alive sockets, the third comes after
     * mock-ingest's idle_timeout_s (3 s) closed them. The exporter's own concurrencyLimit (30 by
     * default) is raised so that every span really is in flight at once. */
    async simple() {
        const exporter = makeExporter({ concurrencyLimit: 1000 });
        const provider = makeProvider(new SimpleSpanProcessor(exporter));
        const tracer = provider.getTracer('sdk-check');
        endSpans(tracer, 200);
        await sleep(1500);
        endSpans(tracer, 150);
        await sleep(3500);
        endSpans(tracer, 150);
        await finish(provider);
        rec.notes.push('waves of 200, 150 (1.5 s later, idle keep-alive sockets reused), 150 (3.5 s later, after the server closed them); concurrencyLimit 1000');
    },

    /* Keep-alive reuse right at mock-ingest's idle_timeout_s (3 s): the agent reuses sockets the
     * server is closing (mock-ingest sends no `Keep-Alive: timeout=N` hint, which Node's agent
     * would honour); those attempts die with ECONNRESET before a byte is read, and the SDK
     * retries them. */
    async keepalive_race() {
        const exporter = makeExporter({ concurrencyLimit: 1000 });
        const provider = makeProvider(new SimpleSpanProcessor(exporter));
        const tracer = provider.getTracer('sdk-check');
        endSpans(tracer, 100);
        for (const gap of [2950, 3000, 3050, 3100]) {
            await sleep(gap);
            endSpans(tracer, 100);
        }
        await finish(provider);
        rec.notes.push('waves of 100 spans, 2.95, 3.0, 3.05 and 3.1 s apart; concurrencyLimit 1000');
    },

    /* The same with the exporter's default concurrencyLimit (30): the SDK itself refuses the
     * exports past 30 in flight, before any request is made (they never reach the server). */
    async simple_default_limit() {
        const exporter = makeExporter();
        const provider = makeProvider(new SimpleSpanProcessor(exporter));
        endSpans(provider.getTracer('sdk-check'), 500);
        await finish(provider);
        rec.notes.push('500 spans ended in one go, default concurrencyLimit (30)');
    },

    async batch() {
        const exporter = makeExporter();
        const provider = makeProvider(new BatchSpanProcessor(exporter, {
            maxExportBatchSize: 512,
            maxQueueSize: 8192,        /* the default, 2048, would drop spans before any export */
            scheduledDelayMillis: 200,
        }));
        endSpans(provider.getTracer('sdk-check'), 5000);
        await finish(provider);
        rec.notes.push('BatchSpanProcessor maxExportBatchSize 512, maxQueueSize 8192');
    },

    /* A wrong key on one large export (several MiB, no Expect: 100-continue from this SDK), then
     * a small export with the right key to show the keys are what refused it. */
    async wrong_key() {
        const mem = new InMemorySpanExporter();
        const collector = makeProvider(new SimpleSpanProcessor(mem));
        const pad = 'x'.repeat(200);
        endSpans(collector.getTracer('sdk-check'), 20000, { 'sdk_check.pad': pad });
        const big = mem.getFinishedSpans();
        mem.reset();
        endSpans(collector.getTracer('sdk-check'), 100);
        const small = mem.getFinishedSpans();

        const bad = makeExporter({ headers: { Authorization: 'Bearer not-a-key' } });
        const r1 = await new Promise((r) => bad.export(big, r));
        rec.notes.push(`wrong key, ${big.length} spans: ${r1.code === 0 ? 'SUCCESS' : 'FAILED'}: ${r1.error ? `${r1.error.message} (code ${r1.error.code})` : ''}`);
        rec.wrong_key_result = { ok: r1.code === 0, code: r1.error && r1.error.code, message: r1.error && r1.error.message };
        const good = makeExporter({ headers: { Authorization: 'Bearer k1' } });
        const r2 = await new Promise((r) => good.export(small, r));
        rec.notes.push(`right key, ${small.length} spans: ${r2.code === 0 ? 'SUCCESS' : 'FAILED'}`);
        await bad.shutdown();
        await good.shutdown();
        await collector.shutdown();
    },

    /* Throttling: a cap answered 429 with Retry-After = the seconds left in the window. */
    async cap429_long() {
        const exporter = makeExporter();
        const provider = makeProvider(new BatchSpanProcessor(exporter, {
            maxExportBatchSize: 200, maxQueueSize: 8192, scheduledDelayMillis: 100,
        }));
        endSpans(provider.getTracer('sdk-check'), 2000);
        await finish(provider);
        rec.notes.push('cap 1000 items per 3600 s window, batches of 200');
    },

    async cap429_short() {
        const exporter = makeExporter();
        const provider = makeProvider(new BatchSpanProcessor(exporter, {
            maxExportBatchSize: 200, maxQueueSize: 8192, scheduledDelayMillis: 100,
        }));
        endSpans(provider.getTracer('sdk-check'), 3000);
        await finish(provider);
        rec.notes.push('cap 1000 items per 2 s window, batches of 200');
    },

    /* 300 concurrent connections against connection_limit 8: the overflow is answered 503 with
     * Retry-After: 1, the rest waits in the listen backlog. */
    async connlimit() {
        const exporter = makeExporter({ concurrencyLimit: 1000 });
        const provider = makeProvider(new SimpleSpanProcessor(exporter));
        endSpans(provider.getTracer('sdk-check'), 300);
        await finish(provider);
        rec.notes.push('300 spans ended in one go, concurrencyLimit 1000');
    },
};

function write() {
    rec.elapsed_ms = since();
    for (const v of outcome.values()) v ? rec.spans_ok++ : rec.spans_failed++;
    const lines = ['item_id,ok'];
    for (const [id, ok] of outcome) lines.push(`${id},${ok}`);
    fs.writeFileSync(path.join(outDir, 'client_items.csv'), lines.join('\n') + '\n');
    fs.writeFileSync(path.join(outDir, 'client.json'), JSON.stringify(rec, null, 1));
}

const watchdog = setTimeout(() => {
    rec.notes.push(`watchdog: scenario still running after ${WATCHDOG_MS} ms, stopped`);
    rec.watchdog = true;
    write();
    process.exit(3);
}, WATCHDOG_MS);

(async () => {
    const run = scenarios[scenario];
    if (!run) {
        console.error(`unknown scenario ${scenario} (${Object.keys(scenarios).join(', ')})`);
        process.exit(2);
    }
    await run();
    clearTimeout(watchdog);
    write();
    process.exit(0);
})().catch((e) => {
    rec.notes.push(`scenario threw: ${e && e.stack || e}`);
    rec.threw = true;
    write();
    process.exit(1);
});
