/**
 * The state of incremental loading. `ingest.cursors` holds, per (source, resource), the cursor the last successful
 * load reached; it is written only inside that resource's merge transaction (`MergeOptions.withinMerge`), so it
 * advances exactly when the records it stands for commit — a failed, cancelled or crashed run never moves it, and a
 * merge that already committed is never redone. A run's window is decided at its first attempt and kept in its
 * `resource_runs` row, with the largest cursor value and the records left out so far, saved with each page's
 * checkpoint: a resumed attempt continues with the same window and the same running maximum.
 */
import { sql, type Kysely } from 'kysely';
import type { CursorValue } from '../../shared/plan.ts';
import type { Database } from '../schema.ts';
import type { StagedProof, Staging } from '../staging/registry.ts';
import { inTransaction } from '../transaction.ts';
import { saveCheckpoint } from './checkpoints.ts';

/** The window one resource's run asks for; `advances`: its merge moves the stored cursor. */
export interface IncrementalWindow {
  readonly start: CursorValue | null;
  readonly end: CursorValue | null;
  readonly advances: boolean;
}

/** Where a run's fetch stands: the largest cursor value loaded and the records left out, up to a checkpoint. */
export interface CursorProgress {
  readonly max: CursorValue | null;
  readonly outside: number;
}

/** The stored cursor of a resource, or null before its first successful incremental load (or after a reset). */
export async function readCursor(
  db: Kysely<Database>,
  source: string,
  resource: string,
): Promise<CursorValue | null> {
  const row = await db
    .selectFrom('ingest.cursors')
    .select('value')
    .where('source', '=', source)
    .where('resource', '=', resource)
    .executeTakeFirst();
  return row?.value ?? null;
}

/**
 * Records the window of a resource's run unless an earlier attempt did, and returns the one that holds: the first
 * attempt's (a retry must ask for the same window, whatever the stored cursor says by then).
 */
export async function fixWindow(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly resource: string; readonly window: IncrementalWindow },
): Promise<IncrementalWindow> {
  await db
    .updateTable('ingest.resource_runs')
    .set({ incremental: JSON.stringify(input.window) })
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource)
    .where('incremental', 'is', null)
    .execute();
  const row = await db
    .selectFrom('ingest.resource_runs')
    .select('incremental')
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource)
    .executeTakeFirst();
  return (row?.incremental as IncrementalWindow | null | undefined) ?? input.window;
}

/** The window an earlier attempt of this resource's run fixed, or null before the first attempt. */
export async function readWindow(
  db: Kysely<Database>,
  loadId: string,
  resource: string,
): Promise<IncrementalWindow | null> {
  const row = await db
    .selectFrom('ingest.resource_runs')
    .select('incremental')
    .where('load_id', '=', loadId)
    .where('resource', '=', resource)
    .executeTakeFirst();
  return (row?.incremental as IncrementalWindow | null | undefined) ?? null;
}

/** What the fetch had loaded at its last checkpoint. */
export async function readCursorProgress(
  db: Kysely<Database>,
  loadId: string,
  resource: string,
): Promise<CursorProgress> {
  const row = await db
    .selectFrom('ingest.resource_runs')
    .select(['cursor_max', 'outside_window'])
    .where('load_id', '=', loadId)
    .where('resource', '=', resource)
    .executeTakeFirst();
  return {
    max: (row?.cursor_max as CursorValue | null | undefined) ?? null,
    outside: Number(row?.outside_window ?? 0),
  };
}

/** Saves a page's checkpoint and, with it in one transaction, where the incremental fetch stands. */
export async function saveCheckpointWithProgress(
  db: Kysely<Database>,
  input: {
    readonly loadId: string;
    readonly resource: string;
    readonly state: unknown;
    readonly progress: CursorProgress;
    /** As `saveCheckpoint`'s: the attempt's batches, proven staged before anything is saved. */
    readonly proven?: { readonly staging: Staging; readonly proof: StagedProof };
  },
): Promise<void> {
  await inTransaction(db, async (trx) => {
    await saveCheckpoint(trx, input.loadId, input.resource, input.state, input.proven);
    await trx
      .updateTable('ingest.resource_runs')
      .set({
        cursor_max: input.progress.max === null ? null : JSON.stringify(input.progress.max),
        outside_window: String(input.progress.outside),
      })
      .where('load_id', '=', input.loadId)
      .where('resource', '=', input.resource)
      .execute();
  });
}

/**
 * Sets the stored cursor (`value`), or forgets it (`null`: a reset run that loaded nothing). Call it inside the
 * resource's merge transaction only.
 */
export async function storeCursor(
  trx: Kysely<Database>,
  input: {
    readonly source: string;
    readonly resource: string;
    readonly loadId: string;
    readonly value: CursorValue | null;
  },
): Promise<void> {
  if (input.value === null) {
    await trx
      .deleteFrom('ingest.cursors')
      .where('source', '=', input.source)
      .where('resource', '=', input.resource)
      .execute();
    return;
  }
  const value = JSON.stringify(input.value);
  await trx
    .insertInto('ingest.cursors')
    .values({ source: input.source, resource: input.resource, value, load_id: input.loadId })
    .onConflict((oc) =>
      oc
        .columns(['source', 'resource'])
        .doUpdateSet({ value, load_id: input.loadId, updated_at: sql`now()` }),
    )
    .execute();
}
