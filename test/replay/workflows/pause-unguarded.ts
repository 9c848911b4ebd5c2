/**
 * A deliberately NON-deterministic change of `ingestSource`, for the replay tests: a pause before planning, shipped
 * without a guard. Registered under the same workflow type name, so recorded histories replay against it.
 */
import { sleep } from '@temporalio/workflow';
import type { IngestSourceInput, LoadReport } from '../../../src/shared/ingest-types.ts';
import { ingestSource as current } from '../../../src/workflows/ingest-source.ts';

export { progressQuery } from '../../../src/workflows/ingest-source.ts';

/** The current workflow with a new first step: a one-second timer. */
export async function ingestSource(input: IngestSourceInput): Promise<LoadReport> {
  await sleep('1 second');
  return current(input);
}
