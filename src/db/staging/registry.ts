/**
 * The staging registry: which staging tables a (load, resource) has — named in `ingest.staging_tables`, its batches
 * in `ingest.staged_batches` — what they are called, how much they hold, whether a server crash emptied them
 * (`stagingLost`), and forgetting them (`discardStagedFrom`, `dropStaging`). Both tables live in the `ingest`
 * schema: the batch table `stage_<hash>` (one row per batch: the keys of its good records, as arrays) and the rows
 * table `stage_<hash>_rows` (one row per record to write, in the target's shape). docs/loading.md describes them.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { IngestError } from '../../errors.ts';
import type { Database } from '../schema.ts';
import type { ResourceTable } from '../tables/resource-tables.ts';
import type { ServerFeatures } from '../tables/typed-columns.ts';
import { inTransaction } from '../transaction.ts';

/** The staging of one resource in one load. */
export interface Staging {
  readonly loadId: string;
  readonly target: ResourceTable;
  /** Table name in the `ingest` schema. */
  readonly tableName: string;
  /**
   * The target table had no live row when the staging was prepared: no record can be unchanged, so staging skips
   * the per-key lookup of stored raw hashes (a first load). Only a concurrent writer could make this stale, and the
   * merge still compares canonical hashes, so the worst case is a record sent whole instead of as a key.
   */
  readonly targetWasEmpty: boolean;
  /** What the server offers the typed columns' SQL (`tables/typed-columns.ts`). */
  readonly features: ServerFeatures;
  /**
   * The rows table is LOGGED and has the target's columns, in its order (`swappable-rows.ts`): the target had no row at
   * all when the staging was created, so a big first load can make this table the target instead of copying it.
   */
  readonly swappable: boolean;
  /**
   * What an earlier attempt staged was lost — a server crash empties UNLOGGED tables, while the batch registry
   * (`staged_batches`) and the checkpoints, being logged, survive it — and has been discarded, as
   * `StagingOptions.restartIfLost` asked: the fetch must start again from its first page.
   */
  readonly restarted: boolean;
}

/** How the records so far stand. */
export interface StagingState {
  readonly batches: number;
  readonly records: number;
  readonly rejected: number;
  /** Highest staged sequence number, or null before the first batch. */
  readonly lastSeq: number | null;
}

/** The staging table's name for (load, resource): stable, short, and safe as an identifier. */
export function stagingTableName(loadId: string, resource: string): string {
  const digest = createHash('sha256').update(`${loadId}\u0000${resource}`).digest('hex');
  return `stage_${digest.slice(0, 24)}`;
}

/** The staging table of batches as an SQL identifier. */
export function stagingTable(staging: Staging): RawBuilder<unknown> {
  return sql`${sql.id('ingest', staging.tableName)}`;
}

/** The staging table of shaped rows (one per record to write) as an SQL identifier. */
export function stagedRowsTable(staging: Staging): RawBuilder<unknown> {
  return sql`${sql.id('ingest', `${staging.tableName}_rows`)}`;
}

/** The name of the staged row's column holding the `index`-th key field's text (what `value ->> field` reads). */
export function stagedKeyColumnName(index: number): string {
  return `_key_${index}`;
}

/** The column of a staged row holding the `index`-th key field's text, as an SQL identifier. */
export function stagedKeyColumn(index: number): RawBuilder<unknown> {
  return sql.id(stagedKeyColumnName(index));
}

/** The staged array of the `index`-th key column's values. */
export function keyArray(index: number): RawBuilder<unknown> {
  return sql.id(`key_${index}`);
}

/**
 * True when the staging's batches are registered (`staged_batches`, logged) but its UNLOGGED batch table is empty:
 * a server crash emptied it (crash recovery resets every unlogged table), so what was staged before is gone. A
 * batch with good records always writes its batch row in the same transaction as its registry row, and the two are
 * removed together, so nothing else leaves this state.
 */
export async function stagingLost(db: Kysely<Database>, staging: Staging): Promise<boolean> {
  // Not only an emptied table: a fetch that went on writing after the server came back fills it again, so any
  // registered batch of good records without its batch row means the crash took it.
  const { rows } = await sql<{ lost: boolean }>`
    SELECT c.relpersistence = 'u'
           AND EXISTS (SELECT 1 FROM ingest.staged_batches AS b
                       WHERE b.load_id = ${staging.loadId} AND b.resource = ${staging.target.resource}
                         AND b.records > 0
                         AND NOT EXISTS (SELECT 1 FROM ${stagingTable(staging)} AS t WHERE t.seq = b.seq))
           AS lost
    FROM pg_class AS c WHERE c.oid = to_regclass(${`ingest.${staging.tableName}`})`.execute(db);
  return rows[0]?.lost === true;
}

/** The staging was lost (`stagingLost`): retryable where a retry can fetch again (the merge of `ingestResource`). */
export function stagingLostError(staging: Staging, retryable: boolean): IngestError {
  const { target, loadId } = staging;
  return new IngestError(
    'database',
    'STAGING_LOST',
    `What load ${loadId} staged for ${target.source}.${target.resource} is gone: a Postgres crash empties the ` +
      'unlogged staging tables. ' +
      (retryable
        ? 'The retried attempt fetches the resource again from its start.'
        : 'Start a new load of the source (the next run reconciles this one).'),
    { retryable, details: { source: target.source, resource: target.resource } },
  );
}

/**
 * Forgets every batch from `seq` on: for a fetch that restarts at an earlier position and may not reach the
 * batches it staged before (the data changed). Not needed when a retry re-sends the same batches.
 */
export async function discardStagedFrom(db: Kysely<Database>, staging: Staging, seq: number): Promise<void> {
  await discardStagedRange(db, staging, seq, null);
}

/**
 * Forgets the batches `from` ≤ seq < `to` (`to` null: every later one): what one position of the fetch staged — a
 * child's parent record fetched again, say — before it is fetched anew.
 */
export async function discardStagedRange(
  db: Kysely<Database>,
  staging: Staging,
  from: number,
  to: number | null,
): Promise<void> {
  const below = (column: string) => (to === null ? sql`true` : sql`${sql.id(column)} < ${to}`);
  await inTransaction(db, async (trx) => {
    // The registry row's xmin marks this transaction as a write of the staging (a swap waits for every snapshot
    // older than the staging's last write: `merge/table-swap.ts`).
    await trx
      .updateTable('ingest.staging_tables')
      .set({ table_name: staging.tableName })
      .where('load_id', '=', staging.loadId)
      .where('resource', '=', staging.target.resource)
      .execute();
    await sql`DELETE FROM ${stagingTable(staging)} WHERE seq >= ${from} AND ${below('seq')}`.execute(trx);
    await sql`DELETE FROM ${stagedRowsTable(staging)} WHERE _seq >= ${from} AND ${below('_seq')}`.execute(
      trx,
    );
    await sql`
      DELETE FROM ingest.staged_batches
      WHERE load_id = ${staging.loadId} AND resource = ${staging.target.resource}
        AND seq >= ${from} AND ${below('seq')}`.execute(trx);
    await sql`
      DELETE FROM ingest.rejected_records
      WHERE load_id = ${staging.loadId} AND resource = ${staging.target.resource}
        AND batch_seq >= ${from} AND ${below('batch_seq')}`.execute(trx);
  });
}

/**
 * What one attempt staged since its previous checkpoint: `batches` batches with sequence numbers from `fromSeq`
 * (the first of the page after that checkpoint) and below `toSeq` (the first of the next page; none: to the end).
 */
export interface StagedProof {
  readonly fromSeq: number;
  readonly toSeq?: number;
  readonly batches: number;
}

/**
 * Whether the batch registry holds exactly the batches `proof` counts (a condition for one statement). Batches commit
 * without waiting for the WAL flush (`write-batch.ts`): a Postgres crash can take the last ones with it while the
 * attempt, whose pooled connections were idle, goes on once the server is back. Staging keeps no other trace of a lost
 * batch, so what is saved as done — a page's checkpoint, the merge — first proves, in its own statement or
 * transaction, that every batch the attempt staged is there.
 */
export function stagedAsProven(staging: Staging, proof: StagedProof): RawBuilder<boolean> {
  return sql<boolean>`(
    SELECT count(*) = ${proof.batches} FROM ingest.staged_batches
    WHERE load_id = ${staging.loadId} AND resource = ${staging.target.resource}
      AND seq >= ${proof.fromSeq}${proof.toSeq === undefined ? sql`` : sql` AND seq < ${proof.toSeq}`})`;
}

/** A proof that failed: batches the attempt staged are gone, or others are there; its retry resumes earlier. */
export function stagedBatchesMissingError(staging: Staging, proof: StagedProof): IngestError {
  const { target, loadId } = staging;
  return new IngestError(
    'database',
    'STAGED_BATCHES_MISSING',
    `The batches load ${loadId} staged for ${target.source}.${target.resource} since its last checkpoint are not ` +
      `the ${proof.batches} it staged: some are missing (a Postgres crash took them) or another attempt, still ` +
      'running, staged more. The retried attempt fetches again from the last checkpoint.',
    { retryable: true, details: { source: target.source, resource: target.resource } },
  );
}

/** Counts of what is staged (from the batch registry: cheap). */
export async function readStagingState(db: Kysely<Database>, staging: Staging): Promise<StagingState> {
  const row = await db
    .selectFrom('ingest.staged_batches')
    .select((eb) => [
      eb.fn.countAll<string>().as('batches'),
      eb.fn.coalesce(eb.fn.sum<string>('records'), sql<string>`0`).as('records'),
      eb.fn.coalesce(eb.fn.sum<string>('rejected'), sql<string>`0`).as('rejected'),
      eb.fn.max('seq').as('last_seq'),
    ])
    .where('load_id', '=', staging.loadId)
    .where('resource', '=', staging.target.resource)
    .executeTakeFirstOrThrow();
  return {
    batches: Number(row.batches),
    records: Number(row.records),
    rejected: Number(row.rejected),
    lastSeq: row.last_seq === null ? null : Number(row.last_seq),
  };
}

/** Drops the staging table of (load, resource) and its registry rows, if any (e.g. for an abandoned load). */
export async function dropStaging(db: Kysely<Database>, loadId: string, resource: string): Promise<void> {
  const tableName = stagingTableName(loadId, resource);
  await sql`DROP TABLE IF EXISTS ${sql.table(`ingest.${tableName}`)}, ${sql.table(`ingest.${tableName}_rows`)}`.execute(
    db,
  );
  await db
    .deleteFrom('ingest.staging_tables')
    .where('load_id', '=', loadId)
    .where('resource', '=', resource)
    .execute();
}
