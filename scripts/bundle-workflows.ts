/**
 * `npm run bundle`: builds the workflow bundle once, for workers that should not bundle at start-up
 * (`npm run worker -- --workflow-bundle dist/workflow-bundle.js`). Deploy the bundle with the code it was built from.
 * `--tracing` adds the workflow tracing interceptors, for workers with an OTLP endpoint (docs/operations.md).
 * `--encrypt-failures` (implied when INGEST_CODEC_KEYS is set where it runs) bundles the encrypting failure
 * converter, so that the workflow code encrypts its own failure messages as the workers' does (docs/orchestration.md,
 * "Encrypted payloads"); a worker with keys refuses a bundle without it. The keys themselves are never in the bundle.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { encryptingFailureConverterPath } from '../src/app/codec/data-converter.ts';
import { bundleWorkflows } from '../src/app/ingest-worker.ts';
import { readSettings } from '../src/app/settings.ts';

const args = process.argv.slice(2);
const target = resolve(args.find((arg) => !arg.startsWith('--')) ?? 'dist/workflow-bundle.js');
const encryptFailures = args.includes('--encrypt-failures') || readSettings().codec !== undefined;
const started = performance.now();
const { code } = await bundleWorkflows(
  encryptFailures ? { failureConverterPath: encryptingFailureConverterPath } : undefined,
  { tracing: args.includes('--tracing') },
);
await mkdir(dirname(target), { recursive: true });
await writeFile(target, code);
console.log(
  `workflow bundle: ${target} (${(code.length / 1024).toFixed(0)} KiB, ${Math.round(performance.now() - started)} ms; ` +
    `failure messages ${encryptFailures ? 'encrypted: for workers with INGEST_CODEC_KEYS' : 'in clear: for workers without INGEST_CODEC_KEYS'})`,
);
