// Bundles each exporter of src/ with its npm dependencies into one CommonJS script in dist/,
// what edgeloss's "exporter": {"js": ...} loads. Run `npm ci && npm run build`.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';

for (const f of readdirSync(new URL('./src', import.meta.url)).filter((n) => n.endsWith('.js'))) {
  await build({
    entryPoints: [`src/${f}`],
    outfile: `dist/${f}`,
    bundle: true,
    format: 'cjs',
    // The OpenTelemetry exporters' browser build posts with fetch(); their Node build would
    // need node:http, which no isolate has.
    platform: 'browser',
    conditions: ['worker', 'browser'],
    target: 'es2022',
    logLevel: 'warning',
  });
  console.log(`dist/${f}`);
}
