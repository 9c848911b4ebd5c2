/**
 * Step 2 of the versioning policy: once no run that started before the patch can still be open (or replayed), the
 * old path is deleted and `patched()` becomes `deprecatePatch()`, which still tolerates the marker in histories
 * recorded by step 1. Replaying a history from BEFORE the patch against this code must fail — that is why the
 * clean-up waits.
 */
import { deprecatePatch, sleep } from '@temporalio/workflow';
import type { IngestSourceInput, LoadReport } from '../../../src/shared/ingest-types.ts';
import { ingestSource as current } from '../../../src/workflows/ingest-source.ts';

export { progressQuery } from '../../../src/workflows/ingest-source.ts';

/** The current workflow, always pausing before planning. */
export async function ingestSource(input: IngestSourceInput): Promise<LoadReport> {
  deprecatePatch('pause-before-planning');
  await sleep('1 second');
  return current(input);
}
