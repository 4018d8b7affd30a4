'use strict';
/*
 * Captures the SAME telemetry, exported once by the official OpenTelemetry JS SDK's OTLP/HTTP
 * JSON exporters (exporter-{trace,metrics,logs}-otlp-http) and once by its protobuf exporters
 * (exporter-{trace,metrics,logs}-otlp-proto), as request bodies for edgeloss's tests: a decoder
 * of either encoding must turn each pair into identical database rows.
 *
 *   node scripts/sdk/capture.js tests/fixtures/otlp
 *
 * (run `npm ci` in scripts/sdk first). For each signal S in traces, metrics, logs it writes
 *   OUTDIR/S_both.json.body, OUTDIR/S_both.pb.body     the raw request bodies, as received
 *                                                      (compression 'none': not gzip)
 *   OUTDIR/S_both.json.headers, OUTDIR/S_both.pb.headers   the request line and headers as
 *                                                      received, Host left out (its port is random)
 *   OUTDIR/manifest_both.json                          the pairs: content types, item ids
 * Everything that the SDK lets a caller set is fixed (ids through a seeded id generator, span,
 * event and log times); the metrics SDK reads the clock itself (Date.now), so Date.now is frozen
 * to a fixed instant while metrics are recorded and collected. A recapture is byte-identical.
 *
 * Before writing anything it checks each pair: the protobuf body is decoded by the schema
 * decoder below (independent of the SDK), the JSON body is parsed, both are brought to one
 * canonical form and must be equal, and the items (spans, metric points, log records) must be
 * exactly the ones made here, by edgeloss.item_id. Exit 0 when all is well, 1 on a mismatch,
 * 2 on a usage error. A watchdog ends the process after 25 s whatever happens.
 */
const fs = require('fs');
const path = require('path');
const http = require('http');
const crypto = require('crypto');
const assert = require('assert/strict');

/* OTEL_* settings in the environment would override what is configured here. */
for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];

const api = require('@opentelemetry/api');
const { resourceFromAttributes, defaultResource } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { MeterProvider, PeriodicExportingMetricReader, AggregationType } = require('@opentelemetry/sdk-metrics');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const EXPORTERS = {
    traces: {
        json: require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter,
        pb: require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter,
    },
    metrics: {
        json: require('@opentelemetry/exporter-metrics-otlp-http').OTLPMetricExporter,
        pb: require('@opentelemetry/exporter-metrics-otlp-proto').OTLPMetricExporter,
    },
    logs: {
        json: require('@opentelemetry/exporter-logs-otlp-http').OTLPLogExporter,
        pb: require('@opentelemetry/exporter-logs-otlp-proto').OTLPLogExporter,
    },
};
const PKG = {
    traces: { json: '@opentelemetry/exporter-trace-otlp-http', pb: '@opentelemetry/exporter-trace-otlp-proto' },
    metrics: { json: '@opentelemetry/exporter-metrics-otlp-http', pb: '@opentelemetry/exporter-metrics-otlp-proto' },
    logs: { json: '@opentelemetry/exporter-logs-otlp-http', pb: '@opentelemetry/exporter-logs-otlp-proto' },
};
const { SpanKind, SpanStatusCode, ValueType, ROOT_CONTEXT, trace, TraceFlags } = api;
api.diag.setLogger(new api.DiagConsoleLogger(), api.DiagLogLevel.WARN);

const WATCHDOG_MS = 25000;
const OUTDIR = process.argv[2];
if (!OUTDIR || process.argv.length > 3) {
    console.error('usage: node scripts/sdk/capture.js OUTDIR');
    process.exit(2);
}
setTimeout(() => {
    console.error(`capture: still running after ${WATCHDOG_MS} ms, giving up`);
    process.exit(1);
}, WATCHDOG_MS).unref();

/* The exporters restrict "exports": find each package.json through its main entry. */
function pkgVersion(name) {
    let dir = path.dirname(require.resolve(name));
    for (;;) {
        const p = path.join(dir, 'package.json');
        if (fs.existsSync(p)) {
            const j = JSON.parse(fs.readFileSync(p, 'utf8'));
            if (j.name === name) return j.version;
        }
        const up = path.dirname(dir);
        if (up === dir) throw new Error(`package.json of ${name} not found`);
        dir = up;
    }
}

/* ---- the receiving end ------------------------------------------------------------------ */

let requests = [];
const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
        requests.push({
            method: req.method,
            url: req.url,
            httpVersion: req.httpVersion,
            rawHeaders: req.rawHeaders,
            headers: req.headers,
            body: Buffer.concat(chunks),
        });
        /* An empty ExportServiceResponse in the encoding that was asked for. */
        const pb = /protobuf/.test(req.headers['content-type'] || '');
        const out = pb ? Buffer.alloc(0) : Buffer.from('{}');
        res.writeHead(200, {
            'content-type': pb ? 'application/x-protobuf' : 'application/json',
            'content-length': out.length,
        });
        res.end(out);
    });
});

/* Runs flush (which must make exactly one export) and returns that one request. */
async function captureOne(label, flush) {
    requests = [];
    await flush();
    await new Promise(r => setTimeout(r, 50));
    const got = requests;
    requests = [];
    assert.equal(got.length, 1, `${label}: expected exactly 1 request, got ${got.length}`);
    return got[0];
}

/* ---- the data set ------------------------------------------------------------------------ */

/* 2025-01-01T00:00:00Z; HrTime [seconds, nanoseconds] so times carry sub-millisecond digits. */
const BASE_S = 1735689600;
const BASE_MS = BASE_S * 1000;
const at = (ms, ns = 0) => [BASE_S + Math.floor(ms / 1000), (ms % 1000) * 1e6 + ns];

const SCHEMA_URL = 'https://opentelemetry.io/schemas/1.30.0';
const resource = () =>
    defaultResource().merge(
        resourceFromAttributes(
            {
                'service.name': 'edgeloss-both',
                'service.version': '2.0.1',
                'service.namespace': 'edgeloss',
                'deployment.environment.name': 'fixture',
                'host.cpu.count': 8,
                'edgeloss.fixture': true,
                'edgeloss.sample_ratio': 0.125,
                'edgeloss.zones': ['eu-1', 'us-2'],
            },
            { schemaUrl: SCHEMA_URL },
        ),
    );

/* Deterministic (seeded, random-looking) trace and span ids. */
function seqIdGenerator(seed) {
    let t = 0;
    let s = 0;
    const h = (kind, n, len) =>
        crypto.createHash('sha256').update(`${seed}/${kind}/${n}`).digest('hex').slice(0, len);
    return {
        generateTraceId: () => h('trace', ++t, 32),
        generateSpanId: () => h('span', ++s, 16),
    };
}

/* Each signal's items get edgeloss.item_id it-<prefix>-NNNN and the edgeloss.request_id of the
 * (pretend) request they were made for; `made` lists them for the check. */
function itemIds(prefix) {
    let n = 0;
    const made = [];
    const ids = req => {
        const id = `it-${prefix}-${String(++n).padStart(4, '0')}`;
        made.push({ id, req });
        return { 'edgeloss.item_id': id, 'edgeloss.request_id': req };
    };
    return { ids, made };
}

/* A parent that came over the wire (remote, sampled, with a tracestate). */
const REMOTE_PARENT = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: api.createTraceState('edgeloss=t61rcWkgMzE,vendor=1'),
};

function makeSpans(tracer) {
    const { ids, made } = itemIds('bs');
    const ctxOf = span => trace.setSpan(ROOT_CONTEXT, span);

    /* Trace 1: SERVER -> INTERNAL, SERVER -> CLIENT (error, exception event) -> INTERNAL */
    const root = tracer.startSpan(
        'GET /checkout',
        {
            kind: SpanKind.SERVER,
            startTime: at(0, 125),
            attributes: {
                ...ids('req-1'),
                'http.request.method': 'GET',
                'url.path': '/checkout',
                'http.response.status_code': 200,
                'edgeloss.negative_int': -7,
                'edgeloss.big_int': Number.MAX_SAFE_INTEGER,
                'edgeloss.epoch_ms': BASE_MS + 123,
                'edgeloss.ratio': 0.25,
                'edgeloss.negative_double': -1.5e-3,
                'edgeloss.sampled': true,
                'edgeloss.cached': false,
                'edgeloss.empty': '',
                'edgeloss.unicode': 'grüße, 世界 ✓',
                'edgeloss.tags': ['a', 'b', 'c'],
                'edgeloss.ints': [1, -2, 3],
                'edgeloss.doubles': [0.5, 1.5, -2.25],
                'edgeloss.flags': [true, false],
                'edgeloss.empty_array': [],
                'edgeloss.sparse': ['x', null, 'z'],
            },
        },
        ROOT_CONTEXT,
    );
    root.addEvent('cart.loaded', { 'cart.items': 3, 'cart.total': 42.5 }, at(1, 500));
    const validate = tracer.startSpan(
        'validate-cart',
        {
            kind: SpanKind.INTERNAL,
            startTime: at(1, 1),
            attributes: { ...ids('req-1'), 'cart.items': 3, 'cart.valid': true },
        },
        ctxOf(root),
    );
    validate.end(at(5, 999999));
    const pay = tracer.startSpan(
        'POST /payments',
        {
            kind: SpanKind.CLIENT,
            startTime: at(6),
            attributes: {
                ...ids('req-1'),
                'http.request.method': 'POST',
                'server.address': 'payments.internal',
                'server.port': 8443,
            },
        },
        ctxOf(root),
    );
    const err = new Error('card declined');
    err.name = 'PaymentDeclined';
    err.stack = 'PaymentDeclined: card declined\n    at pay (checkout.js:10:5)\n    at main (checkout.js:20:3)';
    pay.recordException(err, at(9, 42));
    pay.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed: card declined' });
    const serialize = tracer.startSpan(
        'serialize-payment',
        { kind: SpanKind.INTERNAL, startTime: at(7), attributes: { ...ids('req-1'), 'payload.bytes': 512 } },
        ctxOf(pay),
    );
    serialize.end(at(8));
    pay.end(at(10));
    root.setStatus({ code: SpanStatusCode.OK });
    root.end(at(12, 7));

    /* Trace 2: PRODUCER (linked to trace 1's root) */
    const publish = tracer.startSpan(
        'publish orders',
        {
            kind: SpanKind.PRODUCER,
            startTime: at(20),
            links: [
                {
                    context: root.spanContext(),
                    attributes: { 'link.reason': 'follows-checkout', 'link.seq': 1 },
                },
            ],
            attributes: { ...ids('req-2'), 'messaging.system': 'kafka', 'messaging.batch.message_count': 2 },
        },
        ROOT_CONTEXT,
    );
    publish.end(at(21, 250000));

    /* Trace 3 (the remote parent's): CONSUMER, linked to the producer */
    const consume = tracer.startSpan(
        'process orders',
        {
            kind: SpanKind.CONSUMER,
            startTime: at(30),
            links: [{ context: publish.spanContext() }],
            attributes: { ...ids('req-3'), 'messaging.operation.type': 'process', 'edgeloss.lag_ms': 9.75 },
        },
        trace.setSpanContext(ROOT_CONTEXT, REMOTE_PARENT),
    );
    consume.end(at(45));
    return { made, paySpanContext: pay.spanContext() };
}

/* The metrics SDK reads Date.now for record, start and collection times: frozen here. */
function withClock(fn) {
    const realNow = Date.now;
    let now = BASE_MS + 60000;
    Date.now = () => now;
    const set = ms => {
        now = BASE_MS + ms;
    };
    return Promise.resolve()
        .then(() => fn(set))
        .finally(() => {
            Date.now = realNow;
        });
}

function makeMetrics(meter, setClock) {
    const { ids, made } = itemIds('bm');
    setClock(60000);
    const counter = meter.createCounter('edgeloss.requests', {
        description: 'requests handled',
        unit: '{request}',
        valueType: ValueType.INT,
    });
    const c1 = { ...ids('req-1'), 'http.route': '/checkout', 'http.response.status_code': 200 };
    const c2 = { ...ids('req-2'), 'http.route': '/orders', 'http.response.status_code': 201 };
    counter.add(3, c1);
    counter.add(5, c2);
    setClock(60500);
    counter.add(4, c1);

    const inflight = meter.createUpDownCounter('edgeloss.inflight', {
        description: 'work in flight',
        unit: '{item}',
        valueType: ValueType.INT,
    });
    const u1 = { ...ids('req-1'), queue: 'a' };
    const u2 = { ...ids('req-2'), queue: 'b' };
    inflight.add(2, u1);
    inflight.add(-5, u2);
    inflight.add(3, u2);

    const gauge = meter.createGauge('edgeloss.temperature', {
        description: 'sensor temperature',
        unit: 'Cel',
        valueType: ValueType.DOUBLE,
    });
    setClock(61000);
    gauge.record(21.5, { ...ids('req-1'), sensor: 's1', 'sensor.ok': true });
    gauge.record(20, { ...ids('req-3'), sensor: 's2', 'sensor.ok': false }); /* a whole-number double */

    const hist = meter.createHistogram('edgeloss.latency', {
        description: 'request latency',
        unit: 'ms',
        valueType: ValueType.DOUBLE,
        advice: { explicitBucketBoundaries: [0, 5, 10, 25, 50, 100] },
    });
    const h1 = { ...ids('req-1'), 'http.route': '/checkout' };
    const h2 = { ...ids('req-2'), 'http.route': '/orders' };
    for (const v of [1.5, 7, 12.25, 80]) hist.record(v, h1);
    for (const v of [3, 250.5]) hist.record(v, h2);

    const size = meter.createHistogram('edgeloss.payload_size', {
        description: 'payload size (exponential buckets, through a view)',
        unit: 'By',
        valueType: ValueType.DOUBLE,
    });
    const e1 = { ...ids('req-2'), 'edgeloss.codec': 'json' };
    for (const v of [0, 0.25, 1, 3, 10, 100, 1000]) size.record(v, e1);
    setClock(62000);
    return { made };
}

function makeLogs(logger, spanContext) {
    const { ids, made } = itemIds('bl');
    const base = (ms, sev, text) => ({
        timestamp: at(ms, 3),
        observedTimestamp: at(ms + 1, 4),
        ...(sev !== undefined ? { severityNumber: sev } : {}),
        ...(text !== undefined ? { severityText: text } : {}),
    });
    logger.emit({ ...base(100, SeverityNumber.TRACE, 'TRACE'), body: 'entering handler', attributes: ids('req-1') });
    logger.emit({
        ...base(101, SeverityNumber.INFO, 'INFO'),
        body: {
            event: 'order.created',
            order_id: 1234,
            amount: 99.95,
            paid: true,
            tags: ['new', 'web'],
            customer: { id: 'c-7', tier: 'gold', since: 2019 },
        },
        attributes: { ...ids('req-1'), 'cache.hit': false, 'cache.key_len': 17 },
    });
    /* tied to the traces fixture's "POST /payments" span */
    logger.emit({
        ...base(102, SeverityNumber.WARN2, 'WARN2'),
        body: 'slow downstream call',
        context: trace.setSpanContext(ROOT_CONTEXT, spanContext),
        attributes: { ...ids('req-1'), 'duration.ms': 1234.5 },
    });
    logger.emit({
        ...base(103, SeverityNumber.ERROR, 'ERROR'),
        body: 'payment failed',
        eventName: 'edgeloss.payment_failed',
        attributes: {
            ...ids('req-2'),
            'exception.type': 'PaymentDeclined',
            'edgeloss.raw': new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]),
            'edgeloss.detail': { code: 402, retryable: false, hints: ['retry-later', 'other-card'] },
            'edgeloss.mixed': ['a', 1, 2.5, true],
        },
    });
    logger.emit({ ...base(104, SeverityNumber.FATAL, 'FATAL'), body: '', attributes: { ...ids('req-3'), 'edgeloss.empty': '' } });
    /* no body, no severity */
    logger.emit({ ...base(105), attributes: ids('req-3') });
    return { made };
}

/* One export through one exporter: a fresh provider each time, the same data each time. */
async function exportOnce(signal, enc, url, spanContext) {
    const Exporter = EXPORTERS[signal][enc];
    const exporter = new Exporter({ url, compression: 'none', timeoutMillis: 10000 });
    const label = `${signal}/${enc}`;
    if (signal === 'traces') {
        const provider = new BasicTracerProvider({
            resource: resource(),
            idGenerator: seqIdGenerator('both'),
            spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 512, scheduledDelayMillis: 600000 })],
        });
        const out = makeSpans(provider.getTracer('edgeloss-both', '0.2.0', { schemaUrl: SCHEMA_URL }));
        const req = await captureOne(label, () => provider.forceFlush());
        await provider.shutdown();
        return { req, ...out };
    }
    if (signal === 'metrics') {
        return withClock(async setClock => {
            const reader = new PeriodicExportingMetricReader({
                exporter,
                exportIntervalMillis: 600000,
                exportTimeoutMillis: 10000,
            });
            const provider = new MeterProvider({
                resource: resource(),
                readers: [reader],
                views: [
                    {
                        instrumentName: 'edgeloss.payload_size',
                        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 40 } },
                    },
                ],
            });
            const out = makeMetrics(provider.getMeter('edgeloss-both', '0.2.0', { schemaUrl: SCHEMA_URL }), setClock);
            const req = await captureOne(label, () => reader.forceFlush());
            requests = [];
            await provider.shutdown().catch(() => {}); /* exports once more: ignored */
            await new Promise(r => setTimeout(r, 50));
            requests = [];
            return { req, ...out };
        });
    }
    const provider = new LoggerProvider({
        resource: resource(),
        processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 512, scheduledDelayMillis: 600000 })],
    });
    const out = makeLogs(provider.getLogger('edgeloss-both', '0.2.0', { schemaUrl: SCHEMA_URL }), spanContext);
    const req = await captureOne(label, () => provider.forceFlush());
    await provider.shutdown();
    return { req, ...out };
}

/* ---- OTLP schema: protobuf decoding, and one canonical form for both encodings ------------- */

/* field number: [jsonName, type, message?, flags]; flags: 'r' repeated, 'o' presence kept even at
 * the default value (oneof members, proto3 `optional`). Types: string bytes id(bytes, hex in JSON)
 * bool enum uint32 int32 sint32 fixed32 int64 uint64 fixed64 sfixed64 double msg. */
const S = {
    AnyValue: {
        1: ['stringValue', 'string', null, 'o'],
        2: ['boolValue', 'bool', null, 'o'],
        3: ['intValue', 'int64', null, 'o'],
        4: ['doubleValue', 'double', null, 'o'],
        5: ['arrayValue', 'msg', 'ArrayValue', 'o'],
        6: ['kvlistValue', 'msg', 'KeyValueList', 'o'],
        7: ['bytesValue', 'bytes', null, 'o'],
    },
    ArrayValue: { 1: ['values', 'msg', 'AnyValue', 'r'] },
    KeyValueList: { 1: ['values', 'msg', 'KeyValue', 'r'] },
    KeyValue: { 1: ['key', 'string'], 2: ['value', 'msg', 'AnyValue'] },
    InstrumentationScope: {
        1: ['name', 'string'],
        2: ['version', 'string'],
        3: ['attributes', 'msg', 'KeyValue', 'r'],
        4: ['droppedAttributesCount', 'uint32'],
    },
    Resource: { 1: ['attributes', 'msg', 'KeyValue', 'r'], 2: ['droppedAttributesCount', 'uint32'] },
    /* traces */
    ExportTraceServiceRequest: { 1: ['resourceSpans', 'msg', 'ResourceSpans', 'r'] },
    ResourceSpans: {
        1: ['resource', 'msg', 'Resource'],
        2: ['scopeSpans', 'msg', 'ScopeSpans', 'r'],
        3: ['schemaUrl', 'string'],
    },
    ScopeSpans: {
        1: ['scope', 'msg', 'InstrumentationScope'],
        2: ['spans', 'msg', 'Span', 'r'],
        3: ['schemaUrl', 'string'],
    },
    Span: {
        1: ['traceId', 'id'],
        2: ['spanId', 'id'],
        3: ['traceState', 'string'],
        4: ['parentSpanId', 'id'],
        16: ['flags', 'fixed32'],
        5: ['name', 'string'],
        6: ['kind', 'enum'],
        7: ['startTimeUnixNano', 'fixed64'],
        8: ['endTimeUnixNano', 'fixed64'],
        9: ['attributes', 'msg', 'KeyValue', 'r'],
        10: ['droppedAttributesCount', 'uint32'],
        11: ['events', 'msg', 'Event', 'r'],
        12: ['droppedEventsCount', 'uint32'],
        13: ['links', 'msg', 'Link', 'r'],
        14: ['droppedLinksCount', 'uint32'],
        15: ['status', 'msg', 'Status'],
    },
    Event: {
        1: ['timeUnixNano', 'fixed64'],
        2: ['name', 'string'],
        3: ['attributes', 'msg', 'KeyValue', 'r'],
        4: ['droppedAttributesCount', 'uint32'],
    },
    Link: {
        1: ['traceId', 'id'],
        2: ['spanId', 'id'],
        3: ['traceState', 'string'],
        4: ['attributes', 'msg', 'KeyValue', 'r'],
        5: ['droppedAttributesCount', 'uint32'],
        6: ['flags', 'fixed32'],
    },
    Status: { 2: ['message', 'string'], 3: ['code', 'enum'] },
    /* metrics */
    ExportMetricsServiceRequest: { 1: ['resourceMetrics', 'msg', 'ResourceMetrics', 'r'] },
    ResourceMetrics: {
        1: ['resource', 'msg', 'Resource'],
        2: ['scopeMetrics', 'msg', 'ScopeMetrics', 'r'],
        3: ['schemaUrl', 'string'],
    },
    ScopeMetrics: {
        1: ['scope', 'msg', 'InstrumentationScope'],
        2: ['metrics', 'msg', 'Metric', 'r'],
        3: ['schemaUrl', 'string'],
    },
    Metric: {
        1: ['name', 'string'],
        2: ['description', 'string'],
        3: ['unit', 'string'],
        5: ['gauge', 'msg', 'Gauge', 'o'],
        7: ['sum', 'msg', 'Sum', 'o'],
        9: ['histogram', 'msg', 'Histogram', 'o'],
        10: ['exponentialHistogram', 'msg', 'ExponentialHistogram', 'o'],
        11: ['summary', 'msg', 'Summary', 'o'],
        12: ['metadata', 'msg', 'KeyValue', 'r'],
    },
    Gauge: { 1: ['dataPoints', 'msg', 'NumberDataPoint', 'r'] },
    Sum: {
        1: ['dataPoints', 'msg', 'NumberDataPoint', 'r'],
        2: ['aggregationTemporality', 'enum'],
        3: ['isMonotonic', 'bool'],
    },
    Histogram: { 1: ['dataPoints', 'msg', 'HistogramDataPoint', 'r'], 2: ['aggregationTemporality', 'enum'] },
    ExponentialHistogram: {
        1: ['dataPoints', 'msg', 'ExponentialHistogramDataPoint', 'r'],
        2: ['aggregationTemporality', 'enum'],
    },
    Summary: { 1: ['dataPoints', 'msg', 'SummaryDataPoint', 'r'] },
    NumberDataPoint: {
        7: ['attributes', 'msg', 'KeyValue', 'r'],
        2: ['startTimeUnixNano', 'fixed64'],
        3: ['timeUnixNano', 'fixed64'],
        4: ['asDouble', 'double', null, 'o'],
        6: ['asInt', 'sfixed64', null, 'o'],
        5: ['exemplars', 'msg', 'Exemplar', 'r'],
        8: ['flags', 'uint32'],
    },
    HistogramDataPoint: {
        9: ['attributes', 'msg', 'KeyValue', 'r'],
        2: ['startTimeUnixNano', 'fixed64'],
        3: ['timeUnixNano', 'fixed64'],
        4: ['count', 'fixed64'],
        5: ['sum', 'double', null, 'o'],
        6: ['bucketCounts', 'fixed64', null, 'r'],
        7: ['explicitBounds', 'double', null, 'r'],
        8: ['exemplars', 'msg', 'Exemplar', 'r'],
        10: ['flags', 'uint32'],
        11: ['min', 'double', null, 'o'],
        12: ['max', 'double', null, 'o'],
    },
    ExponentialHistogramDataPoint: {
        1: ['attributes', 'msg', 'KeyValue', 'r'],
        2: ['startTimeUnixNano', 'fixed64'],
        3: ['timeUnixNano', 'fixed64'],
        4: ['count', 'fixed64'],
        5: ['sum', 'double', null, 'o'],
        6: ['scale', 'sint32'],
        7: ['zeroCount', 'fixed64'],
        8: ['positive', 'msg', 'Buckets'],
        9: ['negative', 'msg', 'Buckets'],
        10: ['flags', 'uint32'],
        11: ['exemplars', 'msg', 'Exemplar', 'r'],
        12: ['min', 'double', null, 'o'],
        13: ['max', 'double', null, 'o'],
        14: ['zeroThreshold', 'double'],
    },
    Buckets: { 1: ['offset', 'sint32'], 2: ['bucketCounts', 'uint64', null, 'r'] },
    SummaryDataPoint: {
        7: ['attributes', 'msg', 'KeyValue', 'r'],
        2: ['startTimeUnixNano', 'fixed64'],
        3: ['timeUnixNano', 'fixed64'],
        4: ['count', 'fixed64'],
        5: ['sum', 'double'],
        6: ['quantileValues', 'msg', 'ValueAtQuantile', 'r'],
        8: ['flags', 'uint32'],
    },
    ValueAtQuantile: { 1: ['quantile', 'double'], 2: ['value', 'double'] },
    Exemplar: {
        7: ['filteredAttributes', 'msg', 'KeyValue', 'r'],
        2: ['timeUnixNano', 'fixed64'],
        3: ['asDouble', 'double', null, 'o'],
        6: ['asInt', 'sfixed64', null, 'o'],
        4: ['spanId', 'id'],
        5: ['traceId', 'id'],
    },
    /* logs */
    ExportLogsServiceRequest: { 1: ['resourceLogs', 'msg', 'ResourceLogs', 'r'] },
    ResourceLogs: {
        1: ['resource', 'msg', 'Resource'],
        2: ['scopeLogs', 'msg', 'ScopeLogs', 'r'],
        3: ['schemaUrl', 'string'],
    },
    ScopeLogs: {
        1: ['scope', 'msg', 'InstrumentationScope'],
        2: ['logRecords', 'msg', 'LogRecord', 'r'],
        3: ['schemaUrl', 'string'],
    },
    LogRecord: {
        1: ['timeUnixNano', 'fixed64'],
        11: ['observedTimeUnixNano', 'fixed64'],
        2: ['severityNumber', 'enum'],
        3: ['severityText', 'string'],
        5: ['body', 'msg', 'AnyValue'],
        6: ['attributes', 'msg', 'KeyValue', 'r'],
        7: ['droppedAttributesCount', 'uint32'],
        8: ['flags', 'fixed32'],
        9: ['traceId', 'id'],
        10: ['spanId', 'id'],
        12: ['eventName', 'string'],
    },
};
const ROOT = { traces: 'ExportTraceServiceRequest', metrics: 'ExportMetricsServiceRequest', logs: 'ExportLogsServiceRequest' };
const INT64 = new Set(['int64', 'uint64', 'fixed64', 'sfixed64']);
const WIRE = {
    string: 2, bytes: 2, id: 2, msg: 2, bool: 0, enum: 0, uint32: 0, int32: 0, sint32: 0,
    int64: 0, uint64: 0, fixed32: 5, fixed64: 1, sfixed64: 1, double: 1,
};

/* Notes on how the bytes looked, for the report: wire types of repeated scalars (packed or
 * not), fields written at their default value, the JSON types of 64-bit fields. */
const notes = { pbPacked: new Set(), pbExplicitDefault: new Set(), pbFieldOrder: new Set(), jsonTypes: new Set(), jsonUnknown: new Set(), jsonDefault: new Set(), jsonKnownDifference: new Set() };

function readVarint(buf, pos) {
    let v = 0n;
    let shift = 0n;
    for (;;) {
        if (pos >= buf.length) throw new Error('truncated varint');
        const b = buf[pos++];
        v |= BigInt(b & 0x7f) << shift;
        if (!(b & 0x80)) return [v, pos];
        shift += 7n;
        if (shift > 63n) throw new Error('varint too long');
    }
}

function scalarFrom(type, wt, buf, pos) {
    let raw;
    if (wt === 0) [raw, pos] = readVarint(buf, pos);
    else if (wt === 1) {
        if (pos + 8 > buf.length) throw new Error('truncated fixed64');
        raw = buf.readBigUInt64LE(pos);
        if (type === 'double') raw = buf.readDoubleLE(pos);
        pos += 8;
    } else if (wt === 5) {
        if (pos + 4 > buf.length) throw new Error('truncated fixed32');
        raw = BigInt(buf.readUInt32LE(pos));
        pos += 4;
    } else throw new Error(`wire type ${wt} for ${type}`);
    let v;
    switch (type) {
        case 'bool': v = raw !== 0n; break;
        case 'enum': case 'int32': v = Number(BigInt.asIntN(32, raw)); break;
        case 'uint32': case 'fixed32': v = Number(BigInt.asUintN(32, raw)); break;
        case 'sint32': v = Number((raw >> 1n) ^ -(raw & 1n)); break;
        case 'int64': case 'sfixed64': v = BigInt.asIntN(64, raw).toString(); break;
        case 'uint64': case 'fixed64': v = BigInt.asUintN(64, raw).toString(); break;
        case 'double': v = raw; break;
        default: throw new Error(`scalar type ${type}`);
    }
    return [v, pos];
}

function isDefault(type, v) {
    return v === 0 || v === '0' || v === '' || v === false || (type === 'double' && Object.is(v, 0));
}

/* Protobuf bytes -> canonical object (defaults left out unless the field keeps presence). */
function pbDecode(buf, msgName, where = msgName) {
    const schema = S[msgName];
    const out = {};
    let pos = 0;
    let lastField = 0;
    while (pos < buf.length) {
        let key;
        [key, pos] = readVarint(buf, pos);
        const num = Number(key >> 3n);
        const wt = Number(key & 7n);
        const f = schema[num];
        if (!f) throw new Error(`${where}: unknown field ${num}`);
        const [name, type, sub, flags = ''] = f;
        if (num < lastField) notes.pbFieldOrder.add(`${msgName}: field ${num} (${name}) after field ${lastField}`);
        lastField = num;
        const rep = flags.includes('r');
        const keep = flags.includes('o');
        let vals = [];
        if (wt === 2 && WIRE[type] !== 2) {
            /* packed repeated scalars */
            if (!rep) throw new Error(`${where}.${name}: length-delimited but not repeated`);
            notes.pbPacked.add(`${msgName}.${name}: packed`);
            let len;
            [len, pos] = readVarint(buf, pos);
            const end = pos + Number(len);
            while (pos < end) {
                let v;
                [v, pos] = scalarFrom(type, WIRE[type], buf, pos);
                vals.push(v);
            }
        } else if (wt === 2) {
            let len;
            [len, pos] = readVarint(buf, pos);
            const end = pos + Number(len);
            if (end > buf.length) throw new Error(`${where}.${name}: truncated`);
            const bytes = buf.subarray(pos, end);
            pos = end;
            if (type === 'string') vals.push(bytes.toString('utf8'));
            else if (type === 'id') vals.push(bytes.toString('hex'));
            else if (type === 'bytes') vals.push(bytes.toString('base64'));
            else vals.push(pbDecode(bytes, sub, `${where}.${name}`));
        } else {
            if (wt !== WIRE[type]) throw new Error(`${where}.${name}: wire type ${wt}, want ${WIRE[type]}`);
            if (rep) notes.pbPacked.add(`${msgName}.${name}: NOT packed`);
            let v;
            [v, pos] = scalarFrom(type, wt, buf, pos);
            vals.push(v);
        }
        for (const v of vals) {
            if (rep) (out[name] ||= []).push(v);
            else if (keep || !isDefault(type, v) || type === 'msg') out[name] = v;
            else notes.pbExplicitDefault.add(`${msgName}.${name} = ${v}`);
        }
    }
    return out;
}

/* JSON (as the JSON exporter wrote it) -> the same canonical form. */
function jsonCanon(obj, msgName, where = msgName) {
    const schema = S[msgName];
    const byName = {};
    for (const f of Object.values(schema)) byName[f[0]] = f;
    const out = {};
    for (const [k, v] of Object.entries(obj)) {
        const f = byName[k];
        if (!f) {
            notes.jsonUnknown.add(`${msgName}.${k} = ${JSON.stringify(v)}`);
            continue;
        }
        const [name, type, sub, flags = ''] = f;
        const conv = x => {
            if (type === 'msg') return jsonCanon(x, sub, `${where}.${name}`);
            if (INT64.has(type)) {
                notes.jsonTypes.add(`${msgName}.${name} (${type}): JSON ${typeof x}`);
                if (typeof x === 'number') assert.ok(Number.isSafeInteger(x), `${where}.${name}: ${x} not exact`);
                return BigInt(x).toString();
            }
            if (type === 'double') {
                notes.jsonTypes.add(`${msgName}.${name} (double): JSON ${typeof x}${Number.isInteger(x) ? ', whole numbers without a point' : ''}`);
                return Number(x);
            }
            if (type === 'id') {
                notes.jsonTypes.add(`${msgName}.${name} (bytes): JSON hex string`);
                assert.match(x, /^([0-9a-f]{2})*$/, `${where}.${name}: not lower-case hex`);
                return x;
            }
            if (type === 'bytes') {
                notes.jsonTypes.add(`${msgName}.${name} (bytes): JSON base64 string`);
                return x;
            }
            if (type === 'enum' || type === 'uint32' || type === 'fixed32' || type === 'int32' || type === 'sint32') {
                notes.jsonTypes.add(`${msgName}.${name} (${type}): JSON ${typeof x}`);
                return Number(x);
            }
            return x;
        };
        if (flags.includes('r')) {
            assert.ok(Array.isArray(v), `${where}.${name}: not an array`);
            if (v.length) out[name] = v.map(conv);
            else notes.jsonDefault.add(`${msgName}.${name} = []`);
        } else {
            const c = conv(v);
            /* The one known difference: a record without a body gets "body":{} (an empty
             * AnyValue) in JSON, and no field 5 at all in protobuf. Both mean no body. */
            if (msgName === 'LogRecord' && name === 'body' && Object.keys(c).length === 0) {
                notes.jsonKnownDifference.add('LogRecord.body = {} in JSON where protobuf has no body field');
                continue;
            }
            if (flags.includes('o') || type === 'msg' || !isDefault(type, c)) out[name] = c;
            else notes.jsonDefault.add(`${msgName}.${name} = ${JSON.stringify(v)}`);
        }
    }
    return out;
}

/* Where two canonical trees differ (paths), for a readable failure. */
function diffPaths(a, b, p = '', acc = []) {
    if (acc.length > 20) return acc;
    if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || a === null || b === null) {
        if (a !== b) acc.push(`${p}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
        return acc;
    }
    if (typeof a !== 'object') {
        if (!Object.is(a, b)) acc.push(`${p}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
        return acc;
    }
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffPaths(a[k], b[k], `${p}/${k}`, acc);
    return acc;
}

/* ---- the items, for the check against what was made --------------------------------------- */

const anyPlain = v => {
    if (!v) return undefined;
    if ('stringValue' in v) return v.stringValue;
    if ('intValue' in v) return v.intValue;
    if ('doubleValue' in v) return v.doubleValue;
    if ('boolValue' in v) return v.boolValue;
    if ('bytesValue' in v) return `base64:${v.bytesValue}`;
    if ('arrayValue' in v) return (v.arrayValue.values || []).map(anyPlain);
    if ('kvlistValue' in v) return Object.fromEntries((v.kvlistValue.values || []).map(kv => [kv.key, anyPlain(kv.value)]));
    return null;
};
const attrs = list => Object.fromEntries((list || []).map(kv => [kv.key, anyPlain(kv.value)]));

function itemsOf(signal, doc) {
    const items = [];
    if (signal === 'traces') {
        for (const rs of doc.resourceSpans || [])
            for (const ss of rs.scopeSpans || [])
                for (const sp of ss.spans || []) items.push({ attrs: attrs(sp.attributes), name: sp.name, obj: sp });
    } else if (signal === 'metrics') {
        for (const rm of doc.resourceMetrics || [])
            for (const sm of rm.scopeMetrics || [])
                for (const m of sm.metrics || [])
                    for (const t of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'])
                        for (const dp of (m[t] && m[t].dataPoints) || [])
                            items.push({ attrs: attrs(dp.attributes), name: m.name, type: t, obj: dp });
    } else {
        for (const rl of doc.resourceLogs || [])
            for (const sl of rl.scopeLogs || [])
                for (const lr of sl.logRecords || []) items.push({ attrs: attrs(lr.attributes), name: lr.eventName, obj: lr });
    }
    return items;
}

/* What each signal was built to contain, on the canonical form (same for both encodings). */
function shapeChecks(signal, doc, ctx) {
    if (signal === 'traces') {
        const spans = doc.resourceSpans.flatMap(rs => rs.scopeSpans.flatMap(ss => ss.spans));
        assert.equal(spans.length, 6);
        assert.equal(new Set(spans.map(s => s.traceId)).size, 3, 'three traces');
        assert.deepEqual([...new Set(spans.map(s => s.kind))].sort(), [1, 2, 3, 4, 5], 'all five span kinds');
        const pay = spans.find(s => s.name === 'POST /payments');
        assert.deepEqual(pay.status, { message: 'payment failed: card declined', code: 2 });
        assert.equal(pay.events[0].name, 'exception');
        const consumer = spans.find(s => s.kind === 5);
        assert.equal(consumer.parentSpanId, REMOTE_PARENT.spanId);
        assert.equal(consumer.traceState, 'edgeloss=t61rcWkgMzE,vendor=1');
        assert.equal(consumer.flags, 0x301, 'sampled, parent remote');
        assert.equal(spans.flatMap(s => s.links || []).length, 2, 'two links');
        const root = spans.find(s => s.name === 'GET /checkout');
        assert.equal(root.startTimeUnixNano, `${BASE_S}000000125`);
        assert.deepEqual(attrs(root.attributes)['edgeloss.sparse'], ['x', null, 'z']);
        assert.equal(attrs(root.attributes)['edgeloss.big_int'], String(Number.MAX_SAFE_INTEGER));
        assert.equal(doc.resourceSpans[0].schemaUrl, SCHEMA_URL);
        assert.equal(doc.resourceSpans[0].scopeSpans[0].scope.version, '0.2.0');
    } else if (signal === 'metrics') {
        const ms = doc.resourceMetrics.flatMap(r => r.scopeMetrics.flatMap(s => s.metrics));
        const m = Object.fromEntries(ms.map(x => [x.name, x]));
        assert.equal(m['edgeloss.requests'].sum.isMonotonic, true);
        assert.equal(m['edgeloss.requests'].sum.aggregationTemporality, 2, 'cumulative');
        assert.deepEqual(m['edgeloss.requests'].sum.dataPoints.map(d => d.asInt), ['7', '5']);
        assert.equal(m['edgeloss.inflight'].sum.isMonotonic, undefined, 'not monotonic');
        assert.deepEqual(m['edgeloss.inflight'].sum.dataPoints.map(d => d.asInt), ['2', '-2']);
        assert.deepEqual(m['edgeloss.temperature'].gauge.dataPoints.map(d => d.asDouble), [21.5, 20]);
        const h = m['edgeloss.latency'].histogram.dataPoints[0];
        assert.deepEqual(h.explicitBounds, [0, 5, 10, 25, 50, 100]);
        assert.deepEqual(h.bucketCounts, ['0', '1', '1', '1', '0', '1', '0']);
        const e = m['edgeloss.payload_size'].exponentialHistogram.dataPoints[0];
        assert.equal(e.count, '7');
        assert.equal(e.zeroCount, '1');
        assert.ok(e.positive.offset < 0, 'a negative bucket offset (0.25)');
        for (const x of ms) for (const t of ['gauge', 'sum', 'histogram', 'exponentialHistogram'])
            for (const d of (x[t] && x[t].dataPoints) || []) {
                assert.equal(d.timeUnixNano, `${BASE_S + 62}000000000`, `${x.name}: collection time frozen`);
                assert.ok(d.startTimeUnixNano !== undefined);
            }
    } else {
        const lrs = doc.resourceLogs.flatMap(r => r.scopeLogs.flatMap(s => s.logRecords));
        assert.equal(lrs.length, 6);
        const tied = lrs.filter(l => l.traceId);
        assert.equal(tied.length, 1, 'one record with a span context');
        assert.equal(tied[0].traceId, ctx.traceId);
        assert.equal(tied[0].spanId, ctx.spanId);
        assert.equal(tied[0].flags, 1);
        assert.ok(lrs[1].body.kvlistValue, 'a map body');
        assert.equal(lrs[0].timeUnixNano, `${BASE_S}100000003`);
    }
}

/* ---- main ---------------------------------------------------------------------------------- */

function headersText(req) {
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (req.rawHeaders[i].toLowerCase() === 'host') continue;
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    return lines.join('\n') + '\n';
}

async function main() {
    await new Promise(r => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${server.address().port}`;
    const PATHS = { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' };
    const KIND = { traces: 'span', metrics: 'metric', logs: 'log' };
    const files = [];
    const manifest = [];
    let payCtx = null;
    for (const signal of ['traces', 'metrics', 'logs']) {
        const got = {};
        for (const enc of ['json', 'pb']) got[enc] = await exportOnce(signal, enc, base + PATHS[signal], payCtx);
        if (signal === 'traces') payCtx = got.json.paySpanContext;
        const j = got.json.req;
        const p = got.pb.req;
        for (const [enc, r] of [['json', j], ['pb', p]]) {
            assert.equal(r.method, 'POST');
            assert.equal(r.url, PATHS[signal]);
            assert.equal(r.headers['content-encoding'], undefined, `${signal}/${enc}: not compressed`);
        }
        assert.equal(j.headers['content-type'], 'application/json');
        assert.equal(p.headers['content-type'], 'application/x-protobuf');

        const fromJson = jsonCanon(JSON.parse(j.body.toString('utf8')), ROOT[signal]);
        const fromPb = pbDecode(p.body, ROOT[signal]);
        const d = diffPaths(fromJson, fromPb);
        if (d.length) throw new Error(`${signal}: JSON and protobuf differ:\n  ${d.join('\n  ')}`);

        const made = got.json.made;
        assert.deepEqual(got.pb.made, made, `${signal}: both runs made the same items`);
        const items = itemsOf(signal, fromPb);
        assert.equal(items.length, made.length, `${signal}: item count`);
        const want = new Map(made.map(m => [m.id, m.req]));
        for (const it of items) {
            const id = it.attrs['edgeloss.item_id'];
            assert.ok(want.has(id), `${signal}: unexpected item ${id}`);
            assert.equal(it.attrs['edgeloss.request_id'], want.get(id), `${signal}: request id of ${id}`);
            want.delete(id);
        }
        assert.equal(want.size, 0, `${signal}: items missing: ${[...want.keys()]}`);
        shapeChecks(signal, fromPb, payCtx);

        for (const [enc, r] of [['json', j], ['pb', p]]) {
            const name = `${signal}_both.${enc}`;
            files.push([`${name}.body`, r.body], [`${name}.headers`, Buffer.from(headersText(r))]);
            manifest.push({
                name,
                path: `${name}.body`,
                headers: `${name}.headers`,
                pair: `${signal}_both`,
                encoding: enc,
                content_type: r.headers['content-type'],
                content_encoding: null,
                kind: KIND[signal],
                item_count: items.length,
                item_ids: items.map(x => x.attrs['edgeloss.item_id']),
                request_ids: items.map(x => x.attrs['edgeloss.request_id']),
                sdk: `${PKG[signal][enc]}@${pkgVersion(PKG[signal][enc])}`,
            });
        }
        console.error(
            `capture: ${signal}: ${items.length} ${KIND[signal]}s; JSON ${j.body.length} bytes, protobuf ${p.body.length} bytes: same content`,
        );
    }
    fs.mkdirSync(OUTDIR, { recursive: true });
    for (const [f, b] of files) fs.writeFileSync(path.join(OUTDIR, f), b);
    fs.writeFileSync(path.join(OUTDIR, 'manifest_both.json'), JSON.stringify(manifest, null, 2) + '\n');
    console.error(`capture: wrote ${files.length} files and manifest_both.json to ${OUTDIR}`);
    if (process.env.CAPTURE_NOTES === '1') {
        for (const [k, v] of Object.entries(notes)) {
            console.error(`notes: ${k}`);
            for (const x of [...v].sort()) console.error(`  ${x}`);
        }
    }
}

main()
    .then(() => {
        server.close();
        process.exitCode = 0;
    })
    .catch(e => {
        console.error(`capture: ${e.stack || e}`);
        server.close();
        process.exit(1);
    });
