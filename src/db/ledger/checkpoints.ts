/**
 * Checkpoints: a paginator's state (JSON, secrets removed) per load and resource, so a retried attempt resumes at
 * the page after the last one it staged. Saved after the page's batches are staged, never before.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Saves (replaces) the checkpoint of (load, resource). `state` must be JSON-serialisable.
 *
 * Committed without waiting for the WAL flush (`synchronous_commit = off` for this transaction only): a load saves
 * one checkpoint per page, and a durable commit would make the next page wait for the flush of everything the
 * staging connections wrote meanwhile (megabytes, asynchronously committed). Nothing is lost by it: Postgres
 * recovers commits in WAL order, so a checkpoint that survives a server crash survives with every batch committed
 * before it — the batches it counts; one that does not survive only makes a retry resume a few pages earlier.
 */
export async function saveCheckpoint(
  db: Kysely<Database>,
  loadId: string,
  resource: string,
  state: unknown,
): Promise<void> {
  // `set_config(…, true)` in the statement itself holds for its transaction — the statement's own, or the caller's
  // (`saveCheckpointWithProgress`) — and saves the round trips of a transaction of its own.
  await sql`
    INSERT INTO ingest.checkpoints (load_id, resource, state)
    SELECT ${loadId}, ${resource}, ${JSON.stringify(state)}::jsonb
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous_commit
    ON CONFLICT (load_id, resource) DO UPDATE SET state = excluded.state, updated_at = now()`.execute(db);
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
