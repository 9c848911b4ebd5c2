/**
 * `npm run bundle`: builds the workflow bundle once, for workers that should not bundle at start-up
 * (`npm run worker -- --workflow-bundle dist/workflow-bundle.js`). Deploy the bundle with the code it was built from.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { bundleWorkflows } from '../src/app/ingest-worker.ts';

const target = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
const started = performance.now();
const { code } = await bundleWorkflows();
await mkdir(dirname(target), { recursive: true });
await writeFile(target, code);
console.log(
  `workflow bundle: ${target} (${(code.length / 1024).toFixed(0)} KiB, ${Math.round(performance.now() - started)} ms)`,
);
