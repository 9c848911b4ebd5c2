/**
 * `npm run build`: the production worker — `dist/worker.js` (our modules as built JavaScript, run by plain node:
 * `buildWorker`) and `dist/workflow-bundle.js` (the workflow code, as `npm run bundle` builds it, with its flags:
 * `--tracing`, `--encrypt-failures`). Run it after every checkout or pull: both are built from the sources of this
 * checkout and deployed with them (the built worker refuses to start when the checkout's migrations are not the ones
 * it was built with). `npm run worker:prod` runs the result (README, "Production layout").
 */
import { join } from 'node:path';
import { buildWorker, distDir } from './build-worker.ts';
import { workflowBundleOptions, writeWorkflowBundle } from './workflow-bundle.ts';

const args = process.argv.slice(2);
const started = performance.now();
const worker = await buildWorker();
console.log(`worker: ${worker} (${Math.round(performance.now() - started)} ms)`);
console.log(await writeWorkflowBundle(join(distDir, 'workflow-bundle.js'), workflowBundleOptions(args)));
