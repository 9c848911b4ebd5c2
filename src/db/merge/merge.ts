/**
 * The merge of one resource: ONE transaction takes everything staged for (load, resource) into the resource table
 * and drops the staging table. Readers see the table before or after, never half of it.
 *
 * 1. Dedupe (`dedupe.ts`): for a key staged more than once, the last one (highest batch, then position) wins; the
 *    others are marked superseded in staging (a cheap check finds whether there are any).
 * 2. Pre-filter: markers (records staging found unchanged by their raw-text hash) and staged rows whose key is
 *    live in the table with the same canonical content hash are left out — so an unchanged row is not even locked
 *    (an `ON CONFLICT … WHERE` alone would still rewrite every page).
 * 3. With the table locked against other writers (readers go on; a big first load into an empty table locks them
 *    out too while it swaps in the table staging built, `table-swap.ts`, or builds its primary key once,
 *    `key-index.ts`): `UPDATE` the existing rows whose canonical hash differs or that were deleted — the same
 *    statement counts the staged keys the table holds —, then `INSERT` the new keys, only when records are left
 *    over; staging shaped the rows already, so both only copy them (the update in the table's physical order, the
 *    insert in key order; `write-rows.ts`). Counts are the statements' row counts.
 *    The disposition (`MergeMode`): `append` writes every staged record as a new row instead
 *    (`append-rows.ts`); `replace` and deletion detection then delete / mark the rows this load did not stage
 *    (`deletions.ts`) — still in the same transaction.
 * 4. The counts go to `ingest.resource_runs` in the same transaction, so a retried activity finds them instead of
 *    counting again; the staging table and its registry rows are dropped.
 */
import { sql, type Kysely } from 'kysely';
import { IngestError, describeError } from '../../errors.ts';
import type { Database } from '../schema.ts';
import {
  stagedAsProven,
  stagedBatchesMissingError,
  stagedRowsTable,
  stagingLost,
  stagingLostError,
  stagingTable,
  type StagedProof,
  type Staging,
} from '../staging/registry.ts';
import { assertLoadOpen } from '../staging/prepare.ts';
import { inTransaction } from '../transaction.ts';
import { appendStagedRows } from './append-rows.ts';
import { markSuperseded, stagedTotals } from './dedupe.ts';
import { applyDeletions } from './deletions.ts';
import { assertDispositionFits, mergeMode, type MergeMode } from './dispositions.ts';
import { readStagedDrift, type SchemaDrift } from './drift.ts';
import { defaultKeyIndexRebuildFrom } from './key-index.ts';
import { insertStagedRows, type WriteCounts } from './write-rows.ts';

/**
 * What a merge did. `fetched` = `distinct` + duplicates; `distinct` = `inserted` + `updated` + `unchanged`. For
 * `append`, every record is a row of its own: `distinct` = `inserted` = `fetched`.
 */
export interface MergeOutcome {
  /** Records staged (duplicates included, rejected records excluded). */
  readonly fetched: number;
  /** Distinct primary keys staged. */
  readonly distinct: number;
  readonly inserted: number;
  /** Rows that changed, or had been marked deleted and reappeared. */
  readonly updated: number;
  readonly unchanged: number;
  /** Records rejected while staging (see `ingest.rejected_records`). */
  readonly rejected: number;
  /** Per typed column: staged records whose value did not fit the column (NULL there, raw value in `data`). */
  readonly coercions: Readonly<Record<string, number>>;
  /** Schema drift: top-level fields the table does not know (kept in `data` only) → records that had them. */
  readonly drift: SchemaDrift;
  /** Rows deleted (`replace`) or marked deleted (deletion detection) because this load did not have their key. */
  readonly deleted: number;
  /** Why `replace` / deletion detection deleted nothing this time (see `deletions.ts`), else null. */
  readonly deletionsSkipped: string | null;
  readonly mergeMs: number;
  /** True when this staging had been merged by an earlier attempt: the counts are the ones it recorded. */
  readonly alreadyMerged: boolean;
}

/** How a merge may use the server. */
export interface MergeOptions {
  /**
   * The most memory, in MB, one sort of the merge may use (Postgres `work_mem`, set for the merge's transaction
   * only; default {@link defaultMergeMemoryMb}). The merge sizes it to what it staged (see `sizeMergeMemory`).
   */
  readonly memoryMb?: number;
  /**
   * From how many staged records a load into an empty table drops its primary key for the insert and builds it
   * once afterwards (`key-index.ts`; default {@link defaultKeyIndexRebuildFrom}). A whole number ≥ 1.
   */
  readonly keyIndexRebuildFrom?: number;
  /**
   * Why the fetch may not hold every record of the resource although it ended without error (a response that
   * `response_actions` ignored ended it): `replace` and deletion detection then delete nothing, and say so in
   * `deletionsSkipped`.
   */
  readonly incompleteFetch?: string;
  /**
   * The largest share (0–1) of the table's live rows that `replace` or deletion detection may delete in one load;
   * more fails the merge (`DESTRUCTIVE_LOAD_REFUSED`), nothing written. Absent: no limit.
   */
  readonly maxDeleteShare?: number;
  /**
   * What the attempt that merges staged after its last checkpoint (`StagedProof`): proven there before anything is
   * written, else the merge fails with `STAGED_BATCHES_MISSING` (retryable).
   * Earlier pages are proven by the checkpoint that counts them.
   */
  readonly staged?: StagedProof;
  /**
   * Runs inside the merge transaction, after the rows are written and before it commits: what must commit with
   * the records or not at all (the incremental cursor). Never called for a merge an earlier attempt committed.
   */
  readonly withinMerge?: (
    trx: Kysely<Database>,
    merged: { readonly fetched: number; readonly rejected: number },
  ) => Promise<void>;
}

/**
 * 1 GB: enough to sort about a million staged call records in memory. Postgres allocates only what the
 * sort holds, so a small resource uses little; lower it (`npm run worker -- --merge-memory <MB>`) on a small server.
 */
export const defaultMergeMemoryMb = 1024;

/** The merge options of an activity's dependencies (the worker's `--merge-memory`). */
export function mergeOptions(deps: { readonly mergeMemoryMb?: number | undefined }): MergeOptions {
  return deps.mergeMemoryMb === undefined ? {} : { memoryMb: deps.mergeMemoryMb };
}

/** The floor of the merge's `work_mem` (a sort of some tens of thousands of call records fits). */
const minMergeMemoryMb = 64;

/**
 * Merges the staging of (load, resource) into its table in one transaction and drops the staging. Idempotent: once
 * merged, calling it again returns the recorded counts (from the resource run) with `alreadyMerged: true`.
 * Give it the pool, not a transaction (it opens its own, unless it is given one). `mode` is the resource's write
 * disposition and deletion detection (default: plain merge); a table that cannot hold it is refused (`config`).
 * Call it only after the resource's fetch is complete: `replace` and deletion detection take whatever is staged
 * as the whole table.
 */
export async function mergeStaged(
  db: Kysely<Database>,
  staging: Staging,
  mode: MergeMode = mergeMode,
  options: MergeOptions = {},
): Promise<MergeOutcome> {
  const started = performance.now();
  const { loadId, target } = staging;
  const appends = mode.disposition === 'append';
  const memoryMb = options.memoryMb ?? defaultMergeMemoryMb;
  if (!Number.isInteger(memoryMb) || memoryMb < 1) {
    throw new IngestError(
      'config',
      'MERGE_MEMORY_INVALID',
      `The merge memory must be a whole number of MB ≥ 1, not ${String(options.memoryMb)}`,
      { retryable: false },
    );
  }
  const rebuildFrom = options.keyIndexRebuildFrom ?? defaultKeyIndexRebuildFrom;
  if (!Number.isInteger(rebuildFrom) || rebuildFrom < 1) {
    throw new IngestError(
      'config',
      'MERGE_OPTION_INVALID',
      `keyIndexRebuildFrom must be a whole number ≥ 1, not ${String(options.keyIndexRebuildFrom)}`,
      { retryable: false },
    );
  }
  try {
    assertDispositionFits(target, mode);
    return await inTransaction(db, async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${staging.tableName}))`.execute(trx);
      // Fenced by the load's row (share lock; `finishLoad` updates it when the run closes the load): a merge either
      // commits before the load closes, or — an attempt the run has given up on, still finishing — is refused after.
      await assertLoadOpen(trx, target, loadId);
      const registered = await trx
        .selectFrom('ingest.staging_tables')
        .select('table_name')
        .where('load_id', '=', loadId)
        .where('resource', '=', target.resource)
        .executeTakeFirst();
      if (registered === undefined) return recordedOutcome(trx, staging);
      const stage = stagingTable(staging);
      // No batch is staged or discarded while the merge reads the staging: its counts, read in separate
      // statements, must agree (`write-rows.ts`). A writer (an attempt given up on, still running) waits until the
      // merge ends and then finds the staging gone, as it would at the DROP below; one that holds the tables
      // already finishes first (the merge takes them in the order writers do: batch table, then rows table). The
      // fence above still decides whether the merge may commit.
      await sql`LOCK TABLE ${stage}, ${stagedRowsTable(staging)} IN SHARE MODE`.execute(trx);
      // A server crash emptied the unlogged staging: merging what is left would silently drop the rest.
      if (await stagingLost(trx, staging)) throw stagingLostError(staging, true);
      // Nor may it merge without a batch the attempt staged after its last checkpoint (`stagedAsProven`): a crash
      // took it, and the retry fetches it again. Read under the lock: no batch of records can be staged meanwhile.
      if (options.staged !== undefined) {
        const { rows } = await sql<{ proven: boolean }>`
          SELECT ${stagedAsProven(staging, options.staged)} AS proven`.execute(trx);
        if (rows[0]?.proven !== true) throw stagedBatchesMissingError(staging, options.staged);
      }
      // Typed columns read timestamps without a zone as UTC, whatever the session says.
      await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
      await sizeMergeMemory(trx, staging, memoryMb);

      const { fetched, distinct: keys, duplicated } = await stagedTotals(trx, staging);
      let distinct = keys;
      // Append keeps every record: no winners to decide.
      if (duplicated && !appends) await markSuperseded(trx, staging);
      const writeRows = async (): Promise<WriteCounts> =>
        appends
          ? { ...(await appendStagedRows(trx, staging)), updated: 0 }
          : insertStagedRows(trx, staging, duplicated, fetched >= rebuildFrom);

      // The staged batches are jsonb already (staging refused what Postgres would not store), and typed columns
      // are guarded casts: writing cannot fail on a value.
      const counts = await writeRows();
      if (appends) distinct = fetched;
      const { inserted, updated, coercions } = counts;
      // Issue 7 — the one place deletions happen: after the rows are written, before the staging is dropped.
      const { deleted, skipped: deletionsSkipped } = await applyDeletions(
        trx,
        staging,
        mode,
        options.incompleteFetch,
        options.maxDeleteShare,
      );
      const perBatch = await trx
        .selectFrom('ingest.staged_batches')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('rejected'), sql<string>`0`).as('rejected'))
        .where('load_id', '=', loadId)
        .where('resource', '=', target.resource)
        .executeTakeFirst();
      const rejected = Number(perBatch?.rejected ?? 0);
      const drift = await readStagedDrift(trx, staging);

      // The rows table is gone already when a first load swapped it in as the table.
      await sql`DROP TABLE ${stage}`.execute(trx);
      await sql`DROP TABLE IF EXISTS ${stagedRowsTable(staging)}`.execute(trx);
      await trx
        .deleteFrom('ingest.staging_tables')
        .where('load_id', '=', loadId)
        .where('resource', '=', target.resource)
        .execute();
      await options.withinMerge?.(trx, { fetched, rejected });
      const mergeMs = Math.round(performance.now() - started);
      await trx
        .updateTable('ingest.resource_runs')
        .set({
          fetched,
          inserted,
          updated,
          unchanged: distinct - inserted - updated,
          deleted,
          rejected,
          coercions: JSON.stringify(coercions),
          drift: JSON.stringify(drift),
          merged_at: sql`now()`,
          merge_ms: mergeMs,
        })
        .where('load_id', '=', loadId)
        .where('resource', '=', target.resource)
        .execute();
      return {
        fetched,
        distinct,
        inserted,
        updated,
        unchanged: distinct - inserted - updated,
        rejected,
        coercions,
        drift,
        deleted,
        deletionsSkipped,
        mergeMs,
        alreadyMerged: false,
      };
    });
  } catch (error) {
    if (error instanceof IngestError) throw error;
    throw new IngestError(
      'database',
      'MERGE_FAILED',
      `Merging ${target.source}.${target.resource} (load ${loadId}) failed: ${describeError(error)}`,
      { cause: error, details: { source: target.source, resource: target.resource } },
    );
  }
}

/**
 * Sets the merge transaction's `work_mem` to what its sort of the staged rows needs — about the size of the rows
 * table, plus a margin — between 64 MB and `capMb`, so that the sort stays in memory instead of spilling to
 * temporary files (docs/loading.md). Postgres allocates as the sort grows, so this is a limit, not a reservation.
 */
async function sizeMergeMemory(trx: Kysely<Database>, staging: Staging, capMb: number): Promise<void> {
  const { rows } = await sql<{ bytes: string }>`
    SELECT coalesce(pg_relation_size(to_regclass(${`ingest.${staging.tableName}_rows`})), 0) AS bytes`.execute(
    trx,
  );
  const neededMb = Math.ceil((Number(rows[0]?.bytes ?? 0) * 1.2) / 2 ** 20) + 16;
  const mb = Math.min(capMb, Math.max(minMergeMemoryMb, neededMb));
  // The same limit for a primary key built once (`key-index.ts`): its sort holds the keys alone, so it fits.
  await sql`SELECT set_config('work_mem', ${`${mb}MB`}, true),
                   set_config('maintenance_work_mem', ${`${mb}MB`}, true)`.execute(trx);
}

/** The counts an earlier attempt recorded, or a non-retryable error when nothing was staged or merged. */
async function recordedOutcome(trx: Kysely<Database>, staging: Staging): Promise<MergeOutcome> {
  const run = await trx
    .selectFrom('ingest.resource_runs')
    .selectAll()
    .where('load_id', '=', staging.loadId)
    .where('resource', '=', staging.target.resource)
    .executeTakeFirst();
  if (run?.merged_at == null) {
    throw new IngestError(
      'database',
      'STAGING_MISSING',
      `Nothing is staged for ${staging.target.source}.${staging.target.resource} in load ${staging.loadId}: ` +
        'call prepareStaging first.',
      { retryable: false },
    );
  }
  const inserted = Number(run.inserted);
  const updated = Number(run.updated);
  const unchanged = Number(run.unchanged);
  return {
    fetched: Number(run.fetched),
    distinct: inserted + updated + unchanged,
    inserted,
    updated,
    unchanged,
    rejected: Number(run.rejected),
    coercions: run.coercions,
    drift: run.drift,
    deleted: Number(run.deleted),
    deletionsSkipped: null,
    mergeMs: run.merge_ms ?? 0,
    alreadyMerged: true,
  };
}
