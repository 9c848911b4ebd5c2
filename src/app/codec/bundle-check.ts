/**
 * A prebuilt workflow bundle must match the worker's encryption. Workflow code converts its own failures inside the
 * bundle, with the failure converter the bundle was built with: a bundle built without the encrypting one would write
 * the messages of the runs' own failures in clear, on a worker that encrypts everything else. The encrypting
 * converter's module carries a mark, and webpack keeps its text in the bundle: that is what is looked for.
 */
import { readFile } from 'node:fs/promises';
import type { DataConverter } from '@temporalio/common';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { IngestError } from '../../errors.ts';
import { encryptingFailureConverterPath } from './data-converter.ts';
import { encryptingFailureConverterMark } from './failure-converter.js';

/** Whether the code of a workflow bundle has the encrypting failure converter in it. */
export function bundleEncryptsFailures(code: string): boolean {
  return code.includes(encryptingFailureConverterMark);
}

/**
 * Refuses (`WORKFLOW_BUNDLE_UNENCRYPTED`) a prebuilt bundle without the encrypting failure converter when the worker's
 * data converter encrypts; anything else passes.
 */
export async function assertBundleMatchesEncryption(
  bundle: WorkflowBundleOption,
  dataConverter: DataConverter | undefined,
): Promise<void> {
  if (dataConverter?.failureConverterPath !== encryptingFailureConverterPath) return;
  const code = 'code' in bundle ? bundle.code : await readFile(bundle.codePath, 'utf8');
  if (bundleEncryptsFailures(code)) return;
  const which = 'codePath' in bundle ? `the workflow bundle ${bundle.codePath}` : 'the workflow bundle';
  throw new IngestError(
    'environment',
    'WORKFLOW_BUNDLE_UNENCRYPTED',
    `${which} was built without the encrypting failure converter: with INGEST_CODEC_KEYS set, the messages of the ` +
      "runs' own failures would be stored in clear. Rebuild it with `npm run bundle -- --encrypt-failures`, or " +
      'start the worker without --workflow-bundle (it then bundles the workflow code itself).',
  );
}
