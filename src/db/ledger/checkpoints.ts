/**
 * Checkpoints: a paginator's state (JSON, secrets removed) per load and resource, so a retried attempt resumes at
 * the page after the last one it staged. Saved after the page's batches are staged, never before.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import {
  stagedAsProven,
  stagedBatchesMissingError,
  type StagedProof,
  type Staging,
} from '../staging/registry.ts';

/**
 * Saves (replaces) the checkpoint of (load, resource). `state` must be JSON-serialisable. With `proven`, the same
 * statement first proves that the attempt's batches are all staged (`stagedAsProven`): when they are not, nothing is
 * saved and it throws `STAGED_BATCHES_MISSING` (retryable), so a checkpoint never counts a batch a crash took. The
 * checkpoint commits durably, which flushes the batches it counts to disk with it.
 */
export async function saveCheckpoint(
  db: Kysely<Database>,
  loadId: string,
  resource: string,
  state: unknown,
  proven?: { readonly staging: Staging; readonly proof: StagedProof },
): Promise<void> {
  const { rows } = await sql<{ saved: number }>`
    INSERT INTO ingest.checkpoints (load_id, resource, state)
    SELECT ${loadId}, ${resource}, ${JSON.stringify(state)}::jsonb
    WHERE ${proven === undefined ? sql`true` : stagedAsProven(proven.staging, proven.proof)}
    ON CONFLICT (load_id, resource) DO UPDATE SET state = excluded.state, updated_at = now()
    RETURNING 1 AS saved`.execute(db);
  if (rows.length === 0 && proven !== undefined)
    throw stagedBatchesMissingError(proven.staging, proven.proof);
}

/** The saved state of (load, resource), or undefined when there is none. */
export async function readCheckpoint(
  db: Kysely<Database>,
  loadId: string,
  resource: string,
): Promise<unknown> {
  const row = await db
    .selectFrom('ingest.checkpoints')
    .select('state')
    .where('load_id', '=', loadId)
    .where('resource', '=', resource)
    .executeTakeFirst();
  return row?.state;
}

/** Removes the checkpoint of (load, resource) (after its merge, for instance). */
export async function deleteCheckpoint(
  db: Kysely<Database>,
  loadId: string,
  resource: string,
): Promise<void> {
  await db
    .deleteFrom('ingest.checkpoints')
    .where('load_id', '=', loadId)
    .where('resource', '=', resource)
    .execute();
}
