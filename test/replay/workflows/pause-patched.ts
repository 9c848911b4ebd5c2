/**
 * The same change as `pause-unguarded.ts`, shipped the safe way (step 1 of the versioning policy in
 * docs/orchestration.md): behind `patched()`. A run that started before the change replays as it was recorded
 * (`patched()` is false there); a new run records the patch marker and takes the new path.
 */
import { patched, sleep } from '@temporalio/workflow';
import type { IngestSourceInput, LoadReport } from '../../../src/shared/ingest-types.ts';
import { ingestSource as current } from '../../../src/workflows/ingest-source.ts';

export { progressQuery } from '../../../src/workflows/ingest-source.ts';

/** The current workflow; new runs pause for a second before planning. */
export async function ingestSource(input: IngestSourceInput): Promise<LoadReport> {
  if (patched('pause-before-planning')) await sleep('1 second');
  return current(input);
}
