/**
 * `npm run bundle`: builds the workflow bundle once, for workers that should not bundle at start-up
 * (`npm run worker -- --workflow-bundle dist/workflow-bundle.js`). Deploy the bundle with the code it was built from.
 * Its flags (`--tracing`, `--encrypt-failures`) are `workflowBundleOptions`'s. `npm run build` writes it too, beside
 * the built worker.
 */
import { resolve } from 'node:path';
import { workflowBundleOptions, writeWorkflowBundle } from './workflow-bundle.ts';

const args = process.argv.slice(2);
const target = resolve(args.find((arg) => !arg.startsWith('--')) ?? 'dist/workflow-bundle.js');
console.log(await writeWorkflowBundle(target, workflowBundleOptions(args)));
