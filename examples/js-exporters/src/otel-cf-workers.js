/*
 * @microlabs/otel-cf-workers' exporter path, unmodified, from npm: its OTLPFetchTraceExporter
 * (OTLP/HTTP JSON over fetch) behind its FlushOnlySpanProcessor, which keeps every ended span
 * until forceFlush() - what the package's instrument() wrapper calls in ctx.waitUntil at the
 * end of each request. edgeloss's scenario plays that wrapper: the handler's
 * waitUntil(tracer.flush()) is the processor's forceFlush().
 *
 * Version 0.9.1 (the npm "latest") exports neither class from its root, whose index also
 * loads its AsyncLocalStorage context (node:async_hooks, node:events: workerd's Node
 * compatibility), so this reaches into dist/exporter.js and dist/spanprocessor.js, which need
 * only fetch. Its otlp-transformer reads a span's instrumentationLibrary and parentSpanId (the
 * OpenTelemetry JS 1.x shape): edgeloss's spans carry both shapes.
 */
'use strict';

const { OTLPFetchTraceExporter } = require('@microlabs/otel-cf-workers/dist/exporter.js');
const { FlushOnlySpanProcessor } = require('@microlabs/otel-cf-workers/dist/spanprocessor.js');

function createExporter(options) {
  const o = options || {};
  const processor = new FlushOnlySpanProcessor(
    new OTLPFetchTraceExporter({ url: o.url || 'https://ingest.example/v1/traces', headers: o.headers || {} }),
  );
  /* Its forceFlush() never settles when it holds nothing (the package's own behaviour), so
   * only the tracer's flush reaches it: the bundle's exporter.flush() does not. */
  processor.edgeloss = { name: 'otel-cf-workers', bundle: 'none' };
  return processor;
}

module.exports = { createExporter };
