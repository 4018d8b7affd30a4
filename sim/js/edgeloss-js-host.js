#!/usr/bin/env node
/*
 * edgeloss-js-host: runs a JavaScript exporter (a bundle whose factory returns an
 * OpenTelemetry exporter or span processor) inside simulated isolates, speaking the exporter
 * protocol (docs/exporter-protocol.md) on a file descriptor. edgeloss starts it with
 * `node edgeloss-js-host.js --fd 3`.
 *
 * One vm context per isolate: the bundle's module state lives in it and dies with it. Every
 * source of time, randomness and I/O in a context is the simulator's: Date, performance,
 * Math.random, crypto, setTimeout/setInterval, scheduler.wait and fetch are replaced by
 * functions that carry the protocol's services, and nothing of Node (require, process, the
 * real network, files, real timers) is reachable from it.
 *
 * Determinism: each context has its own microtask queue (microtaskMode "afterEvaluate"),
 * drained to quiescence after every delivery, before the host answers. The host's own loop is
 * synchronous: it never returns to Node's event loop, so no real timer or I/O callback can run.
 *
 * Items: the host builds real OpenTelemetry objects (ReadableSpan, ReadableLogRecord, a metric
 * record) from the items edgeloss sends, each carrying its edgeloss.item_id attribute. The
 * exporter never hands items back itself, so the host does it: a POST carries the items whose
 * ids its OTLP JSON body names; a 2xx answer releases them; any other answer gives them back
 * to the exporter, marked refused, and they are dropped with the refusal's cause when the
 * exporter reports the export failed or, at the latest, when the isolate dies.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const util = require('util');

const PROTOCOL = 1;
const MAX_FRAME = 64 << 20;
const FLUSH_AT = 64 << 10;

/* el_cause numbers (include/edgeloss/exporter.h) */
const CAUSE = {
  evicted: 0, stranded: 1, waituntil: 2, never_flushed: 3, rejected: 4, backoff: 5,
  queue_full: 6, network: 7, cpu: 8, subrequests: 9,
};
/* Their names, by number: the ledger's (docs/fates.md). */
const CAUSE_NAMES = ['evicted-in-buffer', 'stranded-at-end', 'waituntil-cancelled', 'never-flushed',
  'rejected-by-ingest', 'dropped-in-backoff', 'dropped-queue-full', 'network-error', 'cpu-limit',
  'subrequest-limit'];
/* The ABI's refusal_cause table (sim/exporters/common.c). */
function refusalCause(status) {
  switch (status) {
    case -2: return CAUSE.subrequests;
    case -3: return CAUSE.cpu;
    case -4: return CAUSE.waituntil;
    case -7: return CAUSE.network;
    default: return CAUSE.rejected;
  }
}

/* ---- framing ---- */

let fd = 3;
for (let i = 2; i < process.argv.length; i++)
  if (process.argv[i] === '--fd' && i + 1 < process.argv.length) fd = Number(process.argv[++i]);

let inbuf = Buffer.alloc(1 << 16);
let inStart = 0;
let inEnd = 0;

function readMore() {
  if (inStart > 0 && inStart === inEnd) inStart = inEnd = 0;
  if (inEnd === inbuf.length) {
    const live = inEnd - inStart;
    const nb = Buffer.alloc(live * 2 > inbuf.length ? live * 2 : inbuf.length);
    inbuf.copy(nb, 0, inStart, inEnd);
    inbuf = nb;
    inStart = 0;
    inEnd = live;
  }
  let n;
  for (;;) {
    try {
      n = fs.readSync(fd, inbuf, inEnd, inbuf.length - inEnd, null);
      break;
    } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') continue;
      process.exit(0); /* edgeloss is gone */
    }
  }
  if (n === 0) process.exit(0);
  inEnd += n;
}

function getMsg() {
  while (inEnd - inStart < 4) readMore();
  const len = inbuf.readUInt32BE(inStart);
  if (len < 1 || len > MAX_FRAME) {
    process.stderr.write(`edgeloss-js-host: a frame of ${len} bytes: not the protocol\n`);
    process.exit(2);
  }
  while (inEnd - inStart < 4 + len) readMore();
  const text = inbuf.toString('utf8', inStart + 4, inStart + 4 + len);
  inStart += 4 + len;
  if (inStart === inEnd) inStart = inEnd = 0;
  return JSON.parse(text);
}

let outq = [];
let outBytes = 0;

function flush() {
  if (!outq.length) return;
  const b = outq.length === 1 ? outq[0] : Buffer.concat(outq, outBytes);
  outq = [];
  outBytes = 0;
  let off = 0;
  while (off < b.length) {
    try {
      off += fs.writeSync(fd, b, off, b.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') continue;
      process.exit(0);
    }
  }
}

function putMsg(obj) {
  const s = JSON.stringify(obj);
  const len = Buffer.byteLength(s);
  const b = Buffer.allocUnsafe(4 + len);
  b.writeUInt32BE(len, 0);
  b.write(s, 4);
  outq.push(b);
  outBytes += b.length;
  if (outBytes > FLUSH_AT) flush();
}

const put = putMsg;

/* A round trip during a call: edgeloss answers at once. */
function ask(obj, want) {
  put(obj);
  flush();
  const a = getMsg();
  if (a.m !== want) {
    process.stderr.write(`edgeloss-js-host: expected "${want}", got "${a.m}"\n`);
    process.exit(2);
  }
  return a;
}

/* ---- the bundle ---- */

let bundlePath = null;
let bundleScript = null;
let factoryName = 'createExporter';
let options = null;
const preludeSource = fs.readFileSync(path.join(__dirname, 'edgeloss-js-prelude.js'), 'utf8');
const preludeScript = new vm.Script(preludeSource, { filename: 'edgeloss-js-prelude.js' });
const dispatchScript = new vm.Script('__edgeloss_dispatch()', { filename: 'edgeloss-dispatch' });

function fail(message) {
  /* The exporter's own failure: edgeloss stops this host and reports it (exit 3). */
  put({ m: 'fail', message });
  flush();
  process.exit(1);
}

/* An exception in one line: its name, message and where it was thrown. */
function errText(e) {
  if (!(e && typeof e === 'object' && typeof e.stack === 'string')) return String(e);
  const lines = e.stack.split('\n');
  /* A SyntaxError says where in its first line; others in their first frame. */
  const at = /^\S.*:\d+$/.test(lines[0]) ? lines[0] : lines.find((l) => /^\s+at /.test(l));
  return `${e.name}: ${e.message}${at ? ` (${at.trim()})` : ''}`;
}

/* ---- isolates ---- */

/* Drops items with their causes: [id, cause] pairs, one message per cause. */
function dropAll(iso, pairs) {
  const byCause = new Map();
  for (const [id, cause] of pairs) {
    iso.items.delete(id);
    if (!byCause.has(cause)) byCause.set(cause, []);
    byCause.get(cause).push(id);
  }
  for (const [cause, items] of byCause) put({ m: 'drop', iso: iso.key, items, cause, layer: 'exporter' });
}

const defaultName = () => path.basename(bundlePath).replace(/\.[cm]?js$/, '');

class Iso {
  constructor(key) {
    this.key = key;
    this.t = 0;
    this.items = new Map(); /* id -> {posts, flying, refused} held by the exporter */
    this.flights = new Map(); /* cb -> ids */
    this.nextId = 0;
    this.timers = 0; /* live timers of the context */
    this.calls = new Set(); /* calls not finished */
    this.bridge = makeBridge(this);
    this.ctx = vm.createContext(Object.create(null), {
      name: `isolate ${key}`,
      microtaskMode: 'afterEvaluate',
      codeGeneration: { strings: true, wasm: false },
    });
    this.ctx.__edgeloss_bridge = this.bridge;
    preludeScript.runInContext(this.ctx);
    try {
      bundleScript.runInContext(this.ctx);
    } catch (e) {
      if (key === 0) throw e;
      fail(`loading the bundle: ${errText(e)}`);
    }
  }

  deliver(msg) {
    this.bridge.msg = msg;
    try {
      dispatchScript.runInContext(this.ctx);
    } catch (e) {
      fail(`${msg.m}: ${errText(e)}`);
    }
    this.bridge.msg = null;
    if (this.bridge.error) fail(this.bridge.error);
  }
}

const isos = new Map();

function idsIn(text) {
  const ids = [];
  const re = /"edgeloss\.item_id"\s*,\s*"value"\s*:\s*\{\s*"stringValue"\s*:\s*"i0*(\d+)"/g;
  let m;
  while ((m = re.exec(text)) !== null) ids.push(Number(m[1]));
  return ids;
}

function signalOf(url) {
  const u = String(url);
  if (u.includes('/v1/metrics')) return 1;
  if (u.includes('/v1/logs')) return 2;
  return 0;
}

function makeBridge(iso) {
  /* The probe's context (key 0) runs only the factory: it may not ask edgeloss anything. */
  const put = iso.key === 0 ? () => {} : putMsg;
  return {
    msg: null,
    error: null,
    options: () => options,
    factory: () => factoryName,
    now: () => iso.t,
    log: (s) => put({ m: 'log', iso: iso.key, msg: String(s) }),
    random: () => (iso.key === 0 ? '0123456789abcdef' : ask({ m: 'random', iso: iso.key }, 'random').r),
    timer(delayNs, periodNs) {
      const id = ++iso.nextId; /* timers and callbacks share one numbering (the protocol) */
      iso.timers++;
      put({ m: 'timer', iso: iso.key, id, delay: delayNs, period: periodNs });
      return id;
    },
    timerClear(id) {
      iso.timers--;
      put({ m: 'timer_clear', iso: iso.key, id });
    },
    timerGone() {
      iso.timers--;
    },
    /* A POST; returns its callback number. body: a string or bytes. */
    fetch(url, body) {
      let text;
      let b64 = null;
      if (body && (ArrayBuffer.isView(body) || body.byteLength !== undefined)) {
        const buf = ArrayBuffer.isView(body) ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.from(body);
        text = buf.toString('utf8');
        if (!Buffer.from(text, 'utf8').equals(buf)) b64 = buf.toString('base64');
      } else text = body == null ? '' : String(body);
      const ids = [];
      let attempt = 1;
      for (const id of idsIn(text)) {
        const it = iso.items.get(id);
        if (!it || it.flying) continue; /* not the exporter's to send (again) */
        it.flying = true;
        it.posts++;
        if (it.posts > attempt) attempt = it.posts;
        ids.push(id);
      }
      const cb = ++iso.nextId;
      iso.flights.set(cb, ids);
      const m = { m: 'fetch', iso: iso.key, sig: signalOf(url), timeout: 0, attempt, items: ids, cb };
      if (b64 !== null) m.body64 = b64;
      else m.body = text;
      put(m);
      return cb;
    },
    done(call) {
      if (!iso.calls.delete(call)) return;
      put({ m: 'done', iso: iso.key, call });
    },
    /* The exporter said an export failed: what of it was refused is lost now. */
    failed(ids) {
      const pairs = [];
      for (const id of ids) {
        const it = iso.items.get(id);
        if (it && !it.flying && it.refused !== undefined) pairs.push([id, refusalCause(it.refused)]);
      }
      dropAll(iso, pairs);
    },
    drop: (ids, cause) => dropAll(iso, ids.map((id) => [id, cause])),
    pending: () => iso.timers > 0 || iso.flights.size > 0,
  };
}

/* The answer to a POST: its items released (2xx) or given back refused. */
function settle(iso, cb, status) {
  const ids = iso.flights.get(cb) || [];
  iso.flights.delete(cb);
  const ok = status >= 200 && status < 300;
  const gone = [];
  for (const id of ids) {
    const it = iso.items.get(id);
    if (!it) continue;
    it.flying = false;
    if (ok) {
      iso.items.delete(id);
      gone.push(id);
    } else it.refused = status;
  }
  if (gone.length) put({ m: 'release', iso: iso.key, items: gone });
}

function stuckCheck(iso, what) {
  if (iso.calls.size && !iso.bridge.pending())
    fail(`${what}: the exporter returned without finishing call ${[...iso.calls][0]} ` +
      '(its resultCallback or promise), and nothing pending (a timer, a fetch) can finish it');
}

/* ---- the probe: the factory, its caps ---- */

function probe() {
  const iso = new Iso(0);
  iso.deliver({ m: 'probe' });
  return iso.bridge.probed;
}

function ret(extra) {
  put(Object.assign({ m: 'ret' }, extra || {}));
  flush();
}

/* ---- the loop ---- */

put({ m: 'hello', protocol: PROTOCOL, host: 'edgeloss-js-host', node: process.versions.node });
flush();

for (;;) {
  const msg = getMsg();
  switch (msg.m) {
    case 'load': {
      const major = Number(process.versions.node.split('.')[0]);
      if (major < 18) {
        put({ m: 'error', message: `${msg.plugin}: Node ${process.versions.node} is too old: a JavaScript exporter needs Node 18 or later (name one in EDGELOSS_NODE)` });
        flush();
        break;
      }
      try {
        bundlePath = msg.plugin;
        if (msg.factory) factoryName = msg.factory;
        const src = fs.readFileSync(bundlePath, 'utf8');
        bundleScript = new vm.Script(src, { filename: bundlePath });
        put({ m: 'loaded', name: defaultName(), caps: 0, bundle: 1, layer_of: false });
      } catch (e) {
        put({ m: 'error', message: `${msg.plugin}: ${e.code === 'ENOENT' ? 'no such file' : errText(e)}` });
      }
      flush();
      break;
    }
    case 'configure': {
      options = msg.options === undefined ? null : msg.options;
      let got;
      try {
        got = probe();
      } catch (e) {
        got = { error: errText(e), jpath: '$.exporter.js' };
      }
      if (!got || got.error) {
        const jpath = (got && got.jpath) || '$.exporter.js';
        put({ m: 'error', message: `${msg.file}: ${jpath}: ${bundlePath}: ${got ? got.error : 'no answer'}` });
      } else {
        put({ m: 'configured', name: got.name || defaultName(), caps: got.caps, bundle: got.bundle, layer_of: got.layerOf });
      }
      flush();
      break;
    }
    case 'create': {
      const iso = new Iso(msg.iso);
      isos.set(msg.iso, iso);
      iso.t = msg.t;
      iso.deliver(msg);
      ret();
      break;
    }
    case 'export': case 'flush': case 'shutdown': case 'timer': case 'sent': case 'layers': {
      const iso = isos.get(msg.iso);
      if (!iso) {
        put({ m: 'log', iso: msg.iso, msg: `a ${msg.m} for an isolate this host does not have: ignored` });
        ret();
        break;
      }
      iso.t = msg.t;
      if (msg.call) iso.calls.add(msg.call);
      if (msg.m === 'export') for (const e of msg.items) iso.items.set(e[0], { posts: 0, flying: false, refused: undefined });
      if (msg.m === 'sent') settle(iso, msg.cb, msg.status);
      iso.deliver(msg);
      if (msg.m === 'layers') {
        ret({ layers: iso.bridge.layers || [] });
        break;
      }
      stuckCheck(iso, msg.m === 'export' ? 'export' : msg.m);
      ret();
      break;
    }
    case 'destroy': {
      const iso = isos.get(msg.iso);
      if (iso) {
        iso.t = msg.t;
        /* The exporter may name why what it holds dies (edgeloss.causeAtDeath); else what came
         * back refused and was never said to be failed dies for its refusal, and the rest for
         * the isolate's death (the host's default). */
        const held = [];
        for (const [id, it] of iso.items) if (!it.flying) held.push(id);
        iso.bridge.causes = null;
        if (held.length) iso.deliver({ m: 'death', cause: CAUSE_NAMES[msg.cause], items: held, t: msg.t });
        const named = iso.bridge.causes;
        const pairs = [];
        for (let i = 0; i < held.length; i++) {
          const it = iso.items.get(held[i]);
          let c = named && named[i] != null ? CAUSE_NAMES.indexOf(named[i]) : -1;
          if (c < 0 && named && named[i] != null)
            put({ m: 'log', iso: iso.key, msg: `causeAtDeath() returned ${JSON.stringify(named[i])}: not one of ${CAUSE_NAMES.join(', ')}; the default applies` });
          if (c < 0 && it.refused !== undefined) c = refusalCause(it.refused);
          if (c >= 0) pairs.push([held[i], c]);
        }
        dropAll(iso, pairs);
        isos.delete(msg.iso); /* the context, its buffers and its timers are gone */
      }
      ret();
      break;
    }
    case 'bye':
      flush();
      process.exit(0);
      break;
    default:
      put({ m: 'error', message: `edgeloss-js-host: unknown message "${msg.m}"` });
      flush();
      process.exit(2);
  }
}
