/**
 * The workflow bundle as `npm run bundle` and `npm run build` write it. `workflowBundleOptions(args)` reads their
 * flags: `--tracing` adds the workflow tracing interceptors, for workers with an OTLP endpoint (docs/operations.md);
 * `--encrypt-failures` (implied when INGEST_CODEC_KEYS is set where it runs) bundles the encrypting failure
 * converter, so that the workflow code encrypts its own failure messages as the workers' does (docs/orchestration.md,
 * "Encrypted payloads"); a worker with keys refuses a bundle without it. The keys themselves are never in the bundle.
 * `writeWorkflowBundle(target, options)` takes them explicitly, so that a caller with workers of its own (the
 * benchmark) builds what its workers need whatever the shell that runs it has set.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { encryptingFailureConverterPath } from '../src/app/codec/data-converter.ts';
import { bundleWorkflows } from '../src/app/ingest-worker.ts';
import { readSettings } from '../src/app/settings.ts';

/** What goes into a workflow bundle besides the workflow code. */
export interface WorkflowBundleOptions {
  /** The encrypting failure converter: for workers with INGEST_CODEC_KEYS. */
  readonly encryptFailures: boolean;
  /** The workflow tracing interceptors: for workers with an OTLP endpoint. */
  readonly tracing: boolean;
}

/** The options the command line `args` and this process's settings (INGEST_CODEC_KEYS) ask for. */
export function workflowBundleOptions(args: readonly string[]): WorkflowBundleOptions {
  return {
    encryptFailures: args.includes('--encrypt-failures') || readSettings().codec !== undefined,
    tracing: args.includes('--tracing'),
  };
}

/** Bundles the workflow code into `target`; returns the line that says what was written. */
export async function writeWorkflowBundle(target: string, options: WorkflowBundleOptions): Promise<string> {
  const started = performance.now();
  const { code } = await bundleWorkflows(
    options.encryptFailures ? { failureConverterPath: encryptingFailureConverterPath } : undefined,
    { tracing: options.tracing },
  );
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, code);
  return (
    `workflow bundle: ${target} (${(code.length / 1024).toFixed(0)} KiB, ${Math.round(performance.now() - started)} ms; ` +
    `failure messages ${options.encryptFailures ? 'encrypted: for workers with INGEST_CODEC_KEYS' : 'in clear: for workers without INGEST_CODEC_KEYS'})`
  );
}
