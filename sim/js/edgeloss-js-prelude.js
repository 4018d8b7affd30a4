/*
 * The prelude of every isolate's context (run by edgeloss-js-host.js before the bundle): the
 * Workers-like globals, each driven by the simulator through the host's bridge, and the
 * dispatcher that turns the protocol's calls into calls of the exporter. Everything here is
 * created in the context's own realm, so that its promises run on the context's microtask
 * queue, which the host drains after every delivery.
 */
(function (g) {
  'use strict';
  const bridge = g.__edgeloss_bridge;
  delete g.__edgeloss_bridge;
  const hidden = (name, value) =>
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  const global = (name, value) =>
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: true });

  /* ---- time: virtual, in ns since the run's start ---- */
  const nowNs = () => bridge.now();
  const RealDate = Date;
  function VDate(...a) {
    if (!new.target) return new RealDate(Math.floor(nowNs() / 1e6)).toString();
    return Reflect.construct(RealDate, a.length ? a : [Math.floor(nowNs() / 1e6)], new.target);
  }
  VDate.prototype = RealDate.prototype;
  Object.defineProperty(RealDate.prototype, 'constructor', { value: VDate, writable: true, configurable: true });
  VDate.now = () => Math.floor(nowNs() / 1e6);
  VDate.parse = RealDate.parse;
  VDate.UTC = RealDate.UTC;
  global('Date', VDate);
  /* Intl formats "now" when given no date: the virtual now. */
  if (typeof Intl === 'object' && Intl.DateTimeFormat) {
    const P = Intl.DateTimeFormat.prototype;
    const getFormat = Object.getOwnPropertyDescriptor(P, 'format').get;
    const formatToParts = P.formatToParts;
    Object.defineProperty(P, 'format', {
      configurable: true,
      get() {
        const f = getFormat.call(this);
        return (d) => f(d === undefined ? new VDate() : d);
      },
    });
    P.formatToParts = function (d) { return formatToParts.call(this, d === undefined ? new VDate() : d); };
  }
  global('performance', Object.freeze({ timeOrigin: 0, now: () => nowNs() / 1e6 }));

  /* ---- randomness: the exporter's seeded stream (sfc32, seeded by one draw) ---- */
  let sa = 0, sb = 0, sc = 0, sd = 0, seeded = false;
  function next32() {
    if (!seeded) {
      const hex = bridge.random();
      sa = parseInt(hex.slice(0, 8), 16) | 0;
      sb = parseInt(hex.slice(8, 16), 16) | 0;
      sc = (sa ^ 0x9e3779b9) | 0;
      sd = 1;
      seeded = true;
      for (let i = 0; i < 12; i++) next32();
    }
    const t = (((sa + sb) | 0) + sd) | 0;
    sd = (sd + 1) | 0;
    sa = sb ^ (sb >>> 9);
    sb = (sc + (sc << 3)) | 0;
    sc = (sc << 21) | (sc >>> 11);
    sc = (sc + t) | 0;
    return t >>> 0;
  }
  Math.random = () => (next32() * 2 ** 21 + (next32() >>> 11)) / 2 ** 53;
  const crypto = {
    getRandomValues(a) {
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (let i = 0; i < bytes.length; i += 4) {
        const r = next32();
        for (let k = 0; k < 4 && i + k < bytes.length; k++) bytes[i + k] = (r >>> (8 * k)) & 255;
      }
      return a;
    },
    randomUUID() {
      const b = crypto.getRandomValues(new Uint8Array(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };
  global('crypto', crypto);

  /* ---- timers: the isolate's, frozen while it is idle ---- */
  const timers = new Map(); /* id -> {fn, args, periodic} */
  function addTimer(fn, ms, args, periodic) {
    if (typeof fn !== 'function') throw new TypeError('the callback must be a function');
    const d = Math.max(0, Math.round((Number(ms) || 0) * 1e6));
    /* Node's and the Workers' intervals run at most once a millisecond */
    const id = bridge.timer(d, periodic ? Math.max(d, 1e6) : 0);
    timers.set(id, { fn, args, periodic });
    return id;
  }
  function clear(id) {
    if (typeof id === 'object' && id !== null) id = id.id;
    if (timers.delete(id)) bridge.timerClear(id);
  }
  global('setTimeout', (fn, ms, ...args) => addTimer(fn, ms, args, false));
  global('setInterval', (fn, ms, ...args) => addTimer(fn, ms, args, true));
  global('clearTimeout', clear);
  global('clearInterval', clear);
  global('queueMicrotask', (fn) => { Promise.resolve().then(fn); });
  global('scheduler', Object.freeze({ wait: (ms) => new Promise((r) => addTimer(r, ms, [], false)) }));

  /* ---- console: the run's exporter.log ---- */
  const show = (v) => {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return `${v.name}: ${v.message}`;
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  };
  const line = (level) => (...a) => bridge.log(`console.${level}: ${a.map(show).join(' ')}`);
  global('console', Object.freeze({
    log: line('log'), info: line('info'), warn: line('warn'), error: line('error'),
    debug: line('debug'), trace: line('trace'),
  }));

  /* ---- text, URLs, encodings ---- */
  class VTextEncoder {
    get encoding() { return 'utf-8'; }
    encode(s = '') {
      const str = unescape(encodeURIComponent(String(s)));
      const out = new Uint8Array(str.length);
      for (let i = 0; i < str.length; i++) out[i] = str.charCodeAt(i);
      return out;
    }
  }
  class VTextDecoder {
    get encoding() { return 'utf-8'; }
    decode(b) {
      if (b === undefined) return '';
      const u = ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
      let s = '';
      for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode.apply(null, u.subarray(i, i + 8192));
      try { return decodeURIComponent(escape(s)); } catch (e) { return s; }
    }
  }
  /* Garbage collection must not decide anything: a WeakRef holds its target, and a
   * FinalizationRegistry never calls back. */
  global('WeakRef', class WeakRef {
    constructor(t) { this._t = t; }
    deref() { return this._t; }
  });
  global('FinalizationRegistry', class FinalizationRegistry {
    register() {}
    unregister() { return false; }
  });
  global('TextEncoder', VTextEncoder);
  global('TextDecoder', VTextDecoder);
  global('self', g);

  /* ---- fetch and its classes ---- */
  class Headers {
    constructor(init) {
      this._m = new Map();
      if (init instanceof Headers) for (const [k, v] of init) this.set(k, v);
      else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
      else if (init && typeof init === 'object') for (const k of Object.keys(init)) this.set(k, init[k]);
    }
    get(k) { const v = this._m.get(String(k).toLowerCase()); return v === undefined ? null : v; }
    set(k, v) { this._m.set(String(k).toLowerCase(), String(v)); }
    append(k, v) { const o = this.get(k); this.set(k, o === null ? v : `${o}, ${v}`); }
    has(k) { return this._m.has(String(k).toLowerCase()); }
    delete(k) { this._m.delete(String(k).toLowerCase()); }
    forEach(fn) { for (const [k, v] of this._m) fn(v, k, this); }
    entries() { return this._m.entries(); }
    keys() { return this._m.keys(); }
    values() { return this._m.values(); }
    [Symbol.iterator]() { return this._m.entries(); }
  }
  const bodyText = (b) => {
    if (b == null) return '';
    if (typeof b === 'string') return b;
    if (ArrayBuffer.isView(b) || b instanceof ArrayBuffer) return new VTextDecoder().decode(b);
    return String(b);
  };
  class Body {
    async text() { return bodyText(this._body); }
    async json() { return JSON.parse(bodyText(this._body)); }
    async arrayBuffer() { return new VTextEncoder().encode(bodyText(this._body)).buffer; }
  }
  class Response extends Body {
    constructor(body = null, init = {}) {
      super();
      this._body = body;
      this.status = init.status === undefined ? 200 : init.status;
      this.statusText = init.statusText || '';
      this.headers = new Headers(init.headers);
      this.ok = this.status >= 200 && this.status < 300;
      this.url = init.url || '';
    }
    clone() { return new Response(this._body, this); }
  }
  class Request extends Body {
    constructor(input, init = {}) {
      super();
      this.url = input instanceof Request ? input.url : String(input);
      this.method = init.method || (input instanceof Request ? input.method : 'GET');
      this.headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
      this._body = init.body !== undefined ? init.body : input instanceof Request ? input._body : null;
      this.signal = init.signal || null;
    }
  }
  class AbortSignal {
    constructor() { this.aborted = false; this.reason = undefined; this._l = []; this.onabort = null; }
    addEventListener(type, fn) { if (type === 'abort') this._l.push(fn); }
    removeEventListener(type, fn) { this._l = this._l.filter((x) => x !== fn); }
    throwIfAborted() { if (this.aborted) throw this.reason; }
    static timeout(ms) { const c = new AbortController(); setTimeout(() => c.abort(), ms); return c.signal; }
  }
  class AbortController {
    constructor() { this.signal = new AbortSignal(); }
    abort(reason) {
      const s = this.signal;
      if (s.aborted) return;
      s.aborted = true;
      s.reason = reason !== undefined ? reason : Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
      const ev = { type: 'abort', target: s };
      if (typeof s.onabort === 'function') s.onabort(ev);
      for (const fn of s._l) fn(ev);
    }
  }
  const flights = new Map(); /* cb -> {resolve, reject, url, settled} */
  function fetch(input, init = {}) {
    const req = input instanceof Request ? input : new Request(input, init);
    const body = init.body !== undefined ? init.body : req._body;
    const signal = init.signal || req.signal;
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) return reject(signal.reason);
      const cb = bridge.fetch(req.url, body);
      const f = { resolve, reject, url: req.url, settled: false };
      flights.set(cb, f);
      if (signal)
        signal.addEventListener('abort', () => {
          if (f.settled) return;
          f.settled = true; /* the POST goes on; its answer is not this caller's any more */
          reject(signal.reason);
        });
    });
  }
  global('fetch', fetch);
  global('Headers', Headers);
  global('Request', Request);
  global('Response', Response);
  global('AbortController', AbortController);
  global('AbortSignal', AbortSignal);
  if (typeof g.URL !== 'function') {
    /* The protocol's URLs need only their parts. */
    class URL {
      constructor(u, base) {
        const s = base !== undefined && !/^[a-z]+:/i.test(String(u)) ? String(base).replace(/\/$/, '') + '/' + String(u).replace(/^\//, '') : String(u);
        const m = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(s);
        if (!m) throw new TypeError(`Invalid URL: ${s}`);
        this.protocol = m[1]; this.host = m[2]; this.hostname = m[2].replace(/:\d+$/, '');
        this.port = (/:(\d+)$/.exec(m[2]) || [])[1] || '';
        this.pathname = m[3] || '/'; this.search = m[4] || ''; this.hash = m[5] || '';
        this.origin = `${this.protocol}//${this.host}`;
        this.href = `${this.origin}${this.pathname}${this.search}${this.hash}`;
      }
      toString() { return this.href; }
    }
    global('URL', URL);
  }

  /* ---- the bundle's module ---- */
  const module = { exports: {} };
  global('module', module);
  global('exports', module.exports);

  /* ---- items as OpenTelemetry objects ---- */
  const SAMPLED = 1;
  let resource = null;
  const scope = { name: 'edgeloss', version: '1' };
  const objects = new Map(); /* id -> the object given to the exporter */
  const anyValue = (v) => {
    if (!v || typeof v !== 'object') return v;
    if ('stringValue' in v) return v.stringValue;
    if ('intValue' in v) return Number(v.intValue);
    if ('doubleValue' in v) return v.doubleValue;
    if ('boolValue' in v) return v.boolValue;
    return JSON.stringify(v);
  };
  const attrs = (list) => {
    const a = {};
    for (const kv of list || []) a[kv.key] = anyValue(kv.value);
    return a;
  };
  const hr = (ns) => [Math.floor(ns / 1e9), ns % 1e9];
  function makeResource() {
    const o = g.module.exports.edgelossService || 'edge-worker';
    return { attributes: { 'service.name': o }, asyncAttributesPending: false, schemaUrl: undefined,
      waitForAsyncAttributes: async () => {}, merge(other) { return other || this; },
      getRawAttributes() { return Object.entries(this.attributes); } };
  }
  /* e: [id, kind, request, name, start_ns, end_ns, fragment] */
  function makeItem(e) {
    if (!resource) resource = makeResource();
    const f = JSON.parse(e[6] || '{}');
    const start = e[4], end = e[5];
    let o;
    if (e[1] === 0) {
      const ctx = { traceId: f.traceId, spanId: f.spanId, traceFlags: SAMPLED };
      o = {
        name: f.name !== undefined ? f.name : e[3],
        kind: Math.max(0, (f.kind || 1) - 1),
        spanContext: () => ctx,
        parentSpanContext: f.parentSpanId ? { traceId: f.traceId, spanId: f.parentSpanId, traceFlags: SAMPLED } : undefined,
        parentSpanId: f.parentSpanId,
        startTime: hr(start),
        endTime: hr(end),
        duration: hr(Math.max(0, end - start)),
        status: { code: 0 },
        attributes: attrs(f.attributes),
        links: [],
        events: [],
        ended: true,
        resource,
        instrumentationScope: scope,
        instrumentationLibrary: scope,
        droppedAttributesCount: 0,
        droppedEventsCount: 0,
        droppedLinksCount: 0,
      };
    } else if (e[1] === 1) {
      const dp = (f.gauge && f.gauge.dataPoints && f.gauge.dataPoints[0]) || {};
      o = {
        descriptor: { name: f.name !== undefined ? f.name : e[3], description: '', unit: '', type: 'OBSERVABLE_GAUGE', valueType: 1 },
        dataPointType: 2, /* DataPointType.GAUGE */
        aggregationTemporality: 1,
        dataPoints: [{ attributes: attrs(dp.attributes), startTime: hr(start), endTime: hr(end), value: dp.asDouble }],
        resource,
        instrumentationScope: scope,
      };
    } else {
      const a = attrs(f.attributes);
      o = {
        hrTime: hr(end),
        hrTimeObserved: hr(end),
        timestamp: hr(end),
        severityNumber: f.severityNumber,
        severityText: undefined,
        body: f.body ? anyValue(f.body) : e[3],
        attributes: a,
        resource,
        instrumentationScope: scope,
        droppedAttributesCount: 0,
        spanContext: undefined,
      };
    }
    Object.defineProperty(o, 'edgelossItemId', { value: e[0], enumerable: false });
    objects.set(e[0], o);
    return o;
  }
  const idOf = (o) => o && o.edgelossItemId;

  /* ---- the exporter ---- */
  let exp = null; /* what the factory returned */
  let caps = null;
  const SIGNAL = ['traces', 'metrics', 'logs'];
  function factory() {
    const name = bridge.factory();
    const f = typeof g.module.exports[name] === 'function' ? g.module.exports[name]
      : typeof g.module.exports === 'function' && name === 'default' ? g.module.exports
      : g.module.exports.default && typeof g.module.exports.default[name] === 'function' ? g.module.exports.default[name]
      : typeof g[name] === 'function' ? g[name] : null;
    if (!f) throw Object.assign(new Error(`the bundle has no function "${name}" (its factory: module.exports.${name} or a global)`), { jpath: '$.exporter.factory' });
    let x;
    try {
      x = f(bridge.options() || {});
    } catch (e) {
      /* The factory is what reads the options: its refusal is theirs. */
      e.jpath = '$.exporter.options';
      throw e;
    }
    if (!x || typeof x !== 'object') throw new Error(`${name}() returned ${x === null ? 'null' : typeof x}, not an exporter or span processor`);
    const processor = typeof x.onEnd === 'function' || typeof x.onEmit === 'function';
    if (!processor && typeof x.export !== 'function')
      throw new Error(`${name}() returned an object with neither export() (an exporter) nor onEnd() (a span processor)`);
    const m = x.edgeloss || {};
    const signals = m.signals || ['traces'];
    caps = {
      processor,
      signals: SIGNAL.map((s) => signals.includes(s)),
      takesSpansAtEnd: m.takesSpansAtEnd !== undefined ? !!m.takesSpansAtEnd : processor,
      flushReachesIt: m.flushReachesIt !== undefined ? !!m.flushReachesIt : typeof x.forceFlush === 'function',
      batches: m.batchesAcrossRequests !== undefined ? !!m.batchesAcrossRequests : true,
    };
    return x;
  }

  const finish = (call) => { if (call) bridge.done(call); };
  const report = (what) => (e) => {
    const at = e && typeof e.stack === 'string' ? e.stack.split('\n').find((l) => /^\s+at /.test(l)) : null;
    bridge.error = `${what}: ${e && e.name ? `${e.name}: ${e.message}` : String(e)}${at ? ` (${at.trim()})` : ''}`;
  };

  function doExport(m) {
    const list = [];
    for (const e of m.items) list.push(makeItem(e));
    if (!caps.signals[m.sig]) {
      bridge.log(`the exporter takes no ${SIGNAL[m.sig]}: ${list.length} dropped as never-flushed`);
      for (const o of list) objects.delete(idOf(o));
      bridge.drop(list.map(idOf), 3 /* never-flushed */);
      finish(m.call);
      return;
    }
    if (caps.processor) {
      for (const o of list) (m.sig === 0 ? exp.onEnd : exp.onEmit).call(exp, o);
      finish(m.call);
      return;
    }
    exp.export(list, (result) => {
      if (result && result.code !== 0) {
        if (result.error) bridge.log(`export failed: ${result.error.message || result.error}`);
        bridge.failed(list.map(idOf));
      }
      finish(m.call);
    });
  }

  function promised(fn, call, what) {
    let p;
    try {
      p = typeof fn === 'function' ? fn.call(exp) : undefined;
    } catch (e) {
      report(what)(e);
      return;
    }
    Promise.resolve(p).then(() => finish(call), (e) => { bridge.log(`${what} rejected: ${e && e.message ? e.message : e}`); finish(call); });
  }

  hidden('__edgeloss_dispatch', function () {
    const m = bridge.msg;
    switch (m.m) {
      case 'probe': {
        try {
          const x = factory();
          const meta = x.edgeloss || {};
          const bundle = { none: 0, public: 1, private: 2 }[meta.bundle || 'public'];
          if (bundle === undefined) throw new Error(`edgeloss.bundle is "${meta.bundle}": expected "none", "public" or "private"`);
          bridge.probed = {
            name: meta.name,
            caps: (caps.takesSpansAtEnd ? 1 : 0) | (caps.flushReachesIt ? 2 : 0) | (caps.batches ? 4 : 0),
            bundle,
            layerOf: typeof meta.layerOf === 'function',
          };
        } catch (e) {
          bridge.probed = { error: e && e.message ? e.message : String(e), jpath: e && e.jpath };
        }
        return;
      }
      case 'create':
        exp = factory();
        return;
      case 'export':
        doExport(m);
        return;
      case 'flush':
        promised(exp.forceFlush, m.call, 'forceFlush()');
        return;
      case 'shutdown':
        promised(exp.shutdown, m.call, 'shutdown()');
        return;
      case 'timer': {
        const t = timers.get(m.id);
        if (!t) return;
        if (!t.periodic) {
          timers.delete(m.id);
          bridge.timerGone();
        }
        try {
          t.fn.apply(g, t.args);
        } catch (e) {
          report('a timer callback')(e);
        }
        return;
      }
      case 'sent': {
        const f = flights.get(m.cb);
        flights.delete(m.cb);
        if (m.status >= 200 && m.status < 300) for (const id of m.items) objects.delete(id);
        if (!f || f.settled) return;
        f.settled = true;
        if (m.status < 0) {
          f.reject(new TypeError(m.status === -7 ? 'fetch failed: Network connection lost.' : m.status === -2 ? 'Too many subrequests.' : 'The request was cancelled.'));
          return;
        }
        const headers = {};
        if (m.retry_after >= 0) headers['retry-after'] = String(m.retry_after);
        f.resolve(new Response('', { status: m.status, headers, url: f.url }));
        return;
      }
      case 'death': {
        /* The isolate dies with these items held: the exporter may say why each is lost (the
         * host checks the names). */
        const f = exp && exp.edgeloss && exp.edgeloss.causeAtDeath;
        if (typeof f !== 'function') return;
        bridge.causes = m.items.map((id) => {
          const o = objects.get(id);
          return o ? f.call(exp.edgeloss, o, m.cause) : null;
        });
        return;
      }
      case 'layers': {
        const lo = exp.edgeloss && exp.edgeloss.layerOf;
        bridge.layers = m.items.map((id) => {
          const o = objects.get(id);
          const l = o && lo ? lo.call(exp, o) : null;
          return typeof l === 'string' ? l : null;
        });
        return;
      }
      default:
        return;
    }
  });
})(globalThis);
