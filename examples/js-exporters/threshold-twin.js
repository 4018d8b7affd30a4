/*
 * The first seed's two-layer buffer, written in JavaScript from the seed's description (the
 * StackbiltCloudExporter: docs/incidents.md#seed-000): an OpenTelemetry-shaped exporter that
 * buffers what it is given, per signal, and POSTs only when it holds `batch_items` items or
 * `batch_bytes` bytes of OTLP JSON; its forceFlush() is not reached by tracer.flush(). A 403
 * (the ingest's cap) puts it into a backoff and keeps the items; a circuit breaker opens after
 * repeated failures. It retries 429, 5xx and network errors as edgeloss's own send does.
 *
 * It is the cross-check of the JavaScript host: on the same scenario and seed its fates must be
 * the built-in `threshold` strategy's, item for item (tests/test_js.c). It needs no package: it
 * is a bundle already (one CommonJS script), and encodes OTLP/HTTP JSON itself.
 */
'use strict';

const SUCCESS = 0;
const FAILED = 1;
const SIGNALS = ['traces', 'metrics', 'logs'];
const PATHS = ['/v1/traces', '/v1/metrics', '/v1/logs'];

function num(o, key, def, min, max) {
  const v = o[key] === undefined ? def : o[key];
  if (typeof v !== 'number' || !(v >= min && v <= max))
    throw new Error(`options.${key}: expected a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

/* ---- OTLP/HTTP JSON, in the shape edgeloss's own encoder writes ---- */

const nanos = (hr) => `${BigInt(hr[0]) * 1000000000n + BigInt(hr[1])}`;
const kvs = (attrs) =>
  Object.keys(attrs).map((k) => ({ key: k, value: { stringValue: String(attrs[k]) } }));

function encodeItem(sig, it) {
  if (sig === 0) {
    const c = it.spanContext();
    const o = { traceId: c.traceId, spanId: c.spanId };
    if (it.parentSpanContext) o.parentSpanId = it.parentSpanContext.spanId;
    o.name = it.name;
    o.kind = it.kind + 1;
    o.startTimeUnixNano = nanos(it.startTime);
    o.endTimeUnixNano = nanos(it.endTime);
    o.attributes = kvs(it.attributes);
    o.status = {};
    return JSON.stringify(o);
  }
  if (sig === 1) {
    const p = it.dataPoints[0];
    return JSON.stringify({
      name: it.descriptor.name,
      gauge: { dataPoints: [{ timeUnixNano: nanos(p.endTime), asDouble: p.value, attributes: kvs(p.attributes) }] },
    });
  }
  return JSON.stringify({
    timeUnixNano: nanos(it.hrTime),
    severityNumber: it.severityNumber,
    body: { stringValue: String(it.body) },
    attributes: kvs(it.attributes),
  });
}

function payload(sig, service, fragments) {
  const res = `{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":${JSON.stringify(service)}}}]}`;
  const scope = '{"scope":{"name":"edgeloss"}';
  const list = ['spans', 'metrics', 'logRecords'][sig];
  const outer = ['resourceSpans', 'resourceMetrics', 'resourceLogs'][sig];
  const inner = ['scopeSpans', 'scopeMetrics', 'scopeLogs'][sig];
  return `{"${outer}":[${res},"${inner}":[${scope},"${list}":[${fragments.join(',')}]}]}]}`;
}

/* ---- the exporter ---- */

function createExporter(options) {
  const o = options || {};
  const known = ['batch_items', 'batch_bytes', 'backoff_s', 'flush_budget_s', 'breaker_failures',
    'breaker_open_s', 'breaker_successes', 'honor_retry_after', 'retry_count', 'retry_backoff_ms',
    'endpoint', 'service'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new Error(`options.${k}: not an option of threshold-twin`);
  const cfg = {
    batchItems: num(o, 'batch_items', 100, 1, 1e6),
    batchBytes: num(o, 'batch_bytes', 51200, 1, 1e9),
    backoffMs: num(o, 'backoff_s', 60, 0, 1e6) * 1000,
    flushBudgetMs: num(o, 'flush_budget_s', 10, 0, 1e6) * 1000,
    breakerFailures: num(o, 'breaker_failures', 5, 1, 1e6),
    breakerOpenMs: num(o, 'breaker_open_s', 60, 0, 1e6) * 1000,
    breakerSuccesses: num(o, 'breaker_successes', 2, 1, 1e6),
    honorRetryAfter: o.honor_retry_after === undefined ? true : !!o.honor_retry_after,
    retries: num(o, 'retry_count', 2, 0, 100),
    retryBackoffMs: num(o, 'retry_backoff_ms', 500, 0, 1e9),
    endpoint: o.endpoint || 'https://ingest.example',
    service: o.service || 'edge-worker',
  };

  const buf = [[], [], []]; /* per signal: {item, len} */
  let bytes = 0;
  let backoffUntil = 0;
  let failures = 0;
  let successes = 0;
  let openUntil = 0;
  let halfOpen = false;

  const count = () => buf[0].length + buf[1].length + buf[2].length;

  function breaker(ok, now) {
    if (ok) {
      failures = 0;
      if (halfOpen && ++successes >= cfg.breakerSuccesses) {
        halfOpen = false;
        successes = 0;
      }
      return;
    }
    successes = 0;
    if (halfOpen || ++failures >= cfg.breakerFailures) {
      openUntil = now + cfg.breakerOpenMs;
      halfOpen = true;
      failures = 0;
    }
  }

  /* One POST with the retries of 429, 5xx and network errors: its final status. */
  async function post(sig, body) {
    let wait = cfg.retryBackoffMs;
    for (let attempt = 0; ; attempt++) {
      let status;
      let retryAfter = -1;
      try {
        const r = await fetch(cfg.endpoint + PATHS[sig], {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        status = r.status;
        const ra = r.headers.get('retry-after');
        if (ra !== null) retryAfter = Number(ra);
      } catch (e) {
        status = -7;
      }
      const retryable = status === 429 || status >= 500 || status === -7;
      if (!retryable || attempt >= cfg.retries) return { status, retryAfter };
      const ms = retryAfter >= 0 && cfg.honorRetryAfter ? retryAfter * 1000 : wait;
      wait *= 2;
      await new Promise((r) => setTimeout(r, ms));
    }
  }

  function flush() {
    return new Promise((resolve) => {
      if (performance.now() < openUntil || count() === 0) return resolve();
      let pending = 0;
      let done = false;
      let budget = null;
      const finish = () => {
        if (budget !== null) clearTimeout(budget);
        budget = null;
        if (!done) {
          done = true;
          resolve();
        }
      };
      bytes = 0;
      for (let sig = 0; sig < 3; sig++) {
        if (!buf[sig].length) continue;
        const items = buf[sig];
        buf[sig] = [];
        pending++;
        post(sig, payload(sig, cfg.service, items.map((x) => x.frag))).then(({ status, retryAfter }) => {
          const now = performance.now();
          if (status >= 200 && status < 300) {
            breaker(true, now);
          } else if (status === 403) {
            backoffUntil = now + (retryAfter >= 0 && cfg.honorRetryAfter ? retryAfter * 1000 : cfg.backoffMs);
            breaker(false, now);
            for (const x of items) bytes += x.len;
            buf[sig] = items.concat(buf[sig]);
          } else {
            breaker(false, now); /* the items are dropped: the host knows them refused */
          }
          if (--pending === 0) finish();
        });
      }
      if (cfg.flushBudgetMs > 0) budget = setTimeout(() => { budget = null; if (!done) { done = true; resolve(); } }, cfg.flushBudgetMs);
    });
  }

  return {
    export(items, resultCallback) {
      for (const it of items) {
        const sig = it.spanContext ? 0 : it.descriptor ? 1 : 2;
        const frag = encodeItem(sig, it);
        buf[sig].push({ item: it, frag, len: frag.length });
        bytes += frag.length;
      }
      if (performance.now() < backoffUntil || (count() < cfg.batchItems && bytes < cfg.batchBytes)) {
        resultCallback({ code: SUCCESS });
        return;
      }
      flush().then(() => resultCallback({ code: SUCCESS }), (e) => resultCallback({ code: FAILED, error: e }));
    },
    forceFlush: flush,
    shutdown: flush,
    /* What edgeloss needs to know (docs/js-exporters.md): tracer.flush() does not reach this
     * forceFlush (the seed's bug), and it takes metrics and logs too. */
    edgeloss: {
      name: 'threshold-twin-js',
      flushReachesIt: false,
      batchesAcrossRequests: true,
      bundle: 'none',
      signals: SIGNALS,
      /* What it holds while a 403's backoff lasts dies as dropped-in-backoff, as the seed's
       * exporter's items do (and threshold's). */
      causeAtDeath: (item, cause) =>
        cause === 'evicted-in-buffer' && performance.now() < backoffUntil ? 'dropped-in-backoff' : cause,
    },
  };
}

module.exports = { createExporter };
