/**
 * Checkpoints: a paginator's state (JSON, secrets removed) per load and resource, so a retried attempt resumes at
 * the page after the last one it staged. Saved after the page's batches are staged, never before.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** Saves (replaces) the checkpoint of (load, resource). `state` must be JSON-serialisable. */
export async function saveCheckpoint(
  db: Kysely<Database>,
  loadId: string,
  resource: string,
  state: unknown,
): Promise<void> {
  const json = JSON.stringify(state);
  await db
    .insertInto('ingest.checkpoints')
    .values({ load_id: loadId, resource, state: json })
    .onConflict((oc) =>
      oc.columns(['load_id', 'resource']).doUpdateSet({ state: json, updated_at: sql`now()` }),
    )
    .execute();
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
