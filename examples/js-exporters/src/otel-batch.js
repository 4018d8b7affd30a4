/*
 * The OpenTelemetry JS SDK as most Workers users run it: the SDK's own BatchSpanProcessor in
 * front of its OTLP/HTTP (JSON) trace exporter, unmodified, from npm. Bundled for a
 * fetch-based platform (build.mjs: esbuild, platform "browser", conditions worker/browser), so
 * the exporter posts with fetch() - edgeloss's - and its retries, timeouts and the processor's
 * scheduled delay run on the isolate's virtual timers.
 */
'use strict';

const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');

function createExporter(options) {
  const o = options || {};
  const exporter = new OTLPTraceExporter({
    url: o.url || 'https://ingest.example/v1/traces',
    timeoutMillis: o.timeoutMillis || 10000,
  });
  const processor = new BatchSpanProcessor(exporter, {
    maxQueueSize: o.maxQueueSize || 2048,
    maxExportBatchSize: o.maxExportBatchSize || 512,
    scheduledDelayMillis: o.scheduledDelayMillis === undefined ? 5000 : o.scheduledDelayMillis,
    exportTimeoutMillis: o.exportTimeoutMillis || 30000,
  });
  /* tracer.flush() is the processor's forceFlush(); the bundle's exporter.flush() reaches it. */
  processor.edgeloss = { name: 'otel-js-batch', bundle: 'public' };
  return processor;
}

module.exports = { createExporter };
