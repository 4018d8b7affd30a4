/*
 * A JavaScript exporter that misbehaves on purpose (tests/test_js.c): options.how says how,
 * options.after how many export() calls go well first.
 *   throw   export() throws a TypeError
 *   silent  export() never calls its resultCallback, and nothing is pending that could
 *   spin    export() loops forever
 *   hold    a well-behaved buffer that never posts (what its isolate's death must cost it)
 *   clock   logs what every clock and random source says, then behaves as hold
 *   post    POSTs each export at once; a refusal fails the export (resultCallback FAILED)
 *   ignore  the same, but calls every export a success (as a processor that drops failures)
 * options.cause, when given, is what edgeloss.causeAtDeath answers for every item.
 */
'use strict';

let seen = 0; /* module state: one per context, so per isolate */

function createExporter(options) {
  const how = options.how || 'hold';
  const after = options.after || 0;
  if (!['throw', 'silent', 'spin', 'hold', 'clock', 'post', 'ignore'].includes(how)) throw new Error(`options.how: "${how}" is not a way to fail`);
  let calls = 0;
  const held = [];
  return {
    export(items, resultCallback) {
      if (how === 'clock') {
        console.log(`seen ${++seen} Date.now ${Date.now()} new Date ${new Date().getTime()} performance ${performance.now()}` +
          ` random ${Math.random()} uuid ${crypto.randomUUID()} typeof process ${typeof process} require ${typeof require}` +
          ` intl ${new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric' }).format()}`);
      }
      if (calls++ >= after) {
        if (how === 'throw') throw new TypeError('cannot read properties of undefined (reading "spanContext")');
        if (how === 'silent') return;
        if (how === 'spin') for (;;);
      }
      if (how === 'post' || how === 'ignore') {
        const spans = items.map((s) => ({
          traceId: s.spanContext().traceId, spanId: s.spanContext().spanId, name: s.name, kind: 1,
          startTimeUnixNano: '0', endTimeUnixNano: '0',
          attributes: Object.keys(s.attributes).map((k) => ({ key: k, value: { stringValue: String(s.attributes[k]) } })),
        }));
        const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 't' }, spans }] }] });
        fetch('https://ingest.example/v1/traces', { method: 'POST', body }).then(
          (r) => resultCallback({ code: r.ok || how === 'ignore' ? 0 : 1, error: r.ok ? undefined : new Error(`HTTP ${r.status}`) }),
          (e) => resultCallback({ code: how === 'ignore' ? 0 : 1, error: e }));
        return;
      }
      for (const it of items) held.push(it);
      resultCallback({ code: 0 });
    },
    forceFlush: async () => {},
    shutdown: async () => {},
    edgeloss: {
      name: `faulty-${how}`,
      flushReachesIt: false,
      causeAtDeath: options.cause === undefined ? undefined : () => options.cause,
    },
  };
}

module.exports = { createExporter };
