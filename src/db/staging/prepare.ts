/**
 * Preparing the staging of one (load, resource): its two tables, created once and registered in the same
 * transaction, or found again by a retried attempt — which also finds out whether a server crash emptied them
 * (`stagingLost`) and, when the caller will fetch again from the start, discards what is registered of them.
 *
 * Both tables are UNLOGGED (no WAL for what the merge writes again; lost only with a server crash), unless the
 * target had no row at all: then the rows table is built to become the target (`swappable-rows.ts`) and both are
 * logged, so that a crash keeps them consistent with each other.
 */
import { sql, type Kysely } from 'kysely';
import { IngestError } from '../../errors.ts';
import type { Database } from '../schema.ts';
import type { ResourceTable } from '../tables/resource-tables.ts';
import { serverFeatures } from '../tables/typed-columns.ts';
import { inTransaction } from '../transaction.ts';
import {
  discardStagedFrom,
  keyArray,
  stagedKeyColumn,
  stagedRowsTable,
  stagingLost,
  stagingLostError,
  stagingTable,
  stagingTableName,
  type Staging,
} from './registry.ts';
import { swappableRows } from './swappable-rows.ts';

/** The staging options of an activity's dependencies (the worker's `--no-first-load-swap`). */
export function stagingOptions(deps: { readonly firstLoadSwap?: boolean | undefined }): StagingOptions {
  return deps.firstLoadSwap === undefined ? {} : { firstLoadSwap: deps.firstLoadSwap };
}

/** How to stage. */
export interface StagingOptions {
  /**
   * Build the rows table of a load into an EMPTY table so that the merge can swap it in (`merge/table-swap.ts`) instead
   * of copying every row again. Default true; the staging then writes WAL (a logged table), which a copied first
   * load writes at the merge instead.
   */
  readonly firstLoadSwap?: boolean;
  /**
   * When an earlier attempt's staging was lost (see `Staging.restarted`), discard what is registered of it and
   * say so, for a caller that fetches the resource again from its start; otherwise (default) refuse with
   * `STAGING_LOST`, since the records would be missing from the load.
   */
  readonly restartIfLost?: boolean;
}

/**
 * Creates (or finds, on a retry) the staging table of `target` for `loadId`. Idempotent and safe to call from
 * concurrent attempts. Call it once before `stageRecords`. Refuses (`LOAD_CLOSED`, not retryable) when the load is
 * recorded as closed: `finishLoad` drops every staging of a closed load, and an attempt still finishing after it
 * (a cancelled activity) must not create one again.
 */
export async function prepareStaging(
  db: Kysely<Database>,
  target: ResourceTable,
  loadId: string,
  options: StagingOptions = {},
): Promise<Staging> {
  // An append table takes every record as a new row: no record is ever "unchanged" there, so staging
  // treats it like an empty target and never probes it (it has no _deleted_at either).
  const { rows } =
    target.rowKey === 'position'
      ? { rows: [{ empty: true }] }
      : await sql<{ empty: boolean }>`
    SELECT NOT EXISTS (SELECT 1 FROM ${sql.id(target.schema, target.table)} WHERE _deleted_at IS NULL) AS empty`.execute(
          db,
        );
  const version = await sql<{ version: number }>`
    SELECT current_setting('server_version_num')::int AS version`.execute(db);
  const tableName = stagingTableName(loadId, target.resource);
  const staging: Staging = {
    loadId,
    target,
    tableName,
    targetWasEmpty: rows[0]?.empty === true,
    features: serverFeatures(version.rows[0]?.version ?? 0),
    swappable: false,
    restarted: false,
  };
  let restarted = false;
  const keyColumns = target.primaryKey.map((_, i) => sql`${keyArray(i)} text[] NOT NULL`);
  const rowColumns = [
    sql`_seq bigint NOT NULL, _ord integer NOT NULL`,
    ...target.primaryKey.map((_, i) => sql`${stagedKeyColumn(i)} text NOT NULL`),
    ...target.columns.map((c) => sql`${sql.id(c.column)} ${sql.raw(c.type)}`),
    sql`_data jsonb NOT NULL, _content_hash bigint NOT NULL, _raw_hash uuid NOT NULL`,
  ];
  await inTransaction(db, async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${staging.tableName}))`.execute(trx);
    // Under a share lock of the load's row, which `finishLoad` updates before it lists the stagings to drop: a close
    // that commits first is seen here; one that comes after waits for this transaction and then finds what it made.
    // A load with no row (a loader used without the ledger) is not refused.
    await assertLoadOpen(trx, target, loadId);
    const registered = await trx
      .insertInto('ingest.staging_tables')
      .values({
        load_id: loadId,
        resource: target.resource,
        source: target.source,
        table_name: staging.tableName,
      })
      .onConflict((oc) => oc.columns(['load_id', 'resource']).doNothing())
      .returning('table_name')
      .executeTakeFirst();
    // Registered before: the tables exist (they are created in the same transaction as the registry row). Skip
    // the DDL — `ALTER TABLE` and `CREATE INDEX IF NOT EXISTS` lock the tables even when there is nothing to do,
    // and concurrent batches writing into them (4 at once in resolveChildren) then deadlock with this caller.
    if (registered === undefined) {
      if (await stagingLost(trx, staging)) {
        if (options.restartIfLost !== true) throw stagingLostError(staging, false);
        await discardStagedFrom(trx, staging, 0);
        restarted = true;
      }
      return;
    }
    // Two tables. The batch table, one row per batch: for EVERY good record of the batch (the unchanged ones too),
    // its ordinal, key and whether its raw text is the one already stored — as arrays, not a row per record (a
    // narrow row and index entry per record cost about as much as the record itself). Dedupe, counts and deletion
    // detection read them through `stagedKeys`. `superseded`: ordinals a later record of the same key overrides,
    // decided by the merge. `key_hashes`: each key's 64-bit hash (`keyHashSql`, `write-batch.ts`), computed here on the staging
    // connections so the merge's test for repeated keys reads bigints instead of hashing 1 M key texts.
    // Both tables are UNLOGGED — no WAL for what the merge writes again — unless the rows table is to become the
    // target: a load into a table with no row at all stages into a table that can become it (`swappable-rows.ts`), and
    // both are logged then, so that a server crash keeps them consistent with each other.
    const swappable =
      options.firstLoadSwap !== false && staging.targetWasEmpty
        ? await swappableRows(trx, target)
        : undefined;
    const persistence = swappable === undefined ? sql`UNLOGGED` : sql``;
    await sql`
      CREATE ${persistence} TABLE IF NOT EXISTS ${stagingTable(staging)} (
        seq           bigint PRIMARY KEY,
        key_ords      integer[] NOT NULL,
        key_unchanged boolean[] NOT NULL,
        ${sql.join(keyColumns)},
        key_hashes    bigint[] NOT NULL,
        superseded    integer[] NOT NULL DEFAULT '{}'
      ) WITH (autovacuum_enabled = false)`.execute(trx);
    // A batch row holds ~60 KB of arrays per 1 000 records: stored out of line uncompressed, as random ids and hashes
    // barely compress and pglz would spend the staging's server CPU compressing them and the merge's decompressing.
    const arrays = [
      'key_ords',
      'key_unchanged',
      'key_hashes',
      ...target.primaryKey.map((_, i) => `key_${i}`),
    ];
    await sql`ALTER TABLE ${stagingTable(staging)} ${sql.join(
      arrays.map((column) => sql`ALTER COLUMN ${sql.id(column)} SET STORAGE EXTERNAL`),
    )}`.execute(trx);
    // The rows table, one row per record to write (`stagedRows`), in the target's shape: computing the typed
    // columns and the hash here, on the staging connections, takes them off the merge's single core
    // (docs/loading.md). No index: the merge reads it whole, and replacing a batch (a retry) is rare.
    if (swappable === undefined) {
      await sql`
        CREATE UNLOGGED TABLE IF NOT EXISTS ${stagedRowsTable(staging)} (${sql.join(rowColumns)})
        WITH (autovacuum_enabled = false)`.execute(trx);
      // The jsonb is stored uncompressed: the target compresses what it keeps; compressing twice costs CPU.
      await sql`ALTER TABLE ${stagedRowsTable(staging)} ALTER COLUMN _data SET STORAGE EXTERNAL`.execute(trx);
    } else {
      // The table to become the target: its columns, types and storage, in its order, then `_seq`, `_ord`.
      await sql`
        CREATE TABLE IF NOT EXISTS ${stagedRowsTable(staging)} (${swappable.columns})
        WITH (autovacuum_enabled = false)`.execute(trx);
      if (swappable.storage.length > 0) {
        await sql`ALTER TABLE ${stagedRowsTable(staging)} ${sql.join(swappable.storage)}`.execute(trx);
      }
    }
  });
  // Read from the catalog, not from this call's decision: a retried attempt finds the tables an earlier one made.
  const made = await sql<{ logged: boolean }>`
    SELECT relpersistence = 'p' AS logged FROM pg_class WHERE oid = to_regclass(${`ingest.${tableName}_rows`})`.execute(
    db,
  );
  return { ...staging, swappable: made.rows[0]?.logged === true, restarted };
}

/**
 * Refuses (`LOAD_CLOSED`) a load that is recorded as closed, holding a share lock of its row for the rest of the
 * transaction (`finishLoad` updates that row when it closes the load). A load with no row (a loader used without
 * the ledger) is not refused.
 */
export async function assertLoadOpen(
  trx: Kysely<Database>,
  target: ResourceTable,
  loadId: string,
): Promise<void> {
  const load = await trx
    .selectFrom('ingest.loads')
    .select('status')
    .where('load_id', '=', loadId)
    .forShare()
    .executeTakeFirst();
  if (load !== undefined && load.status !== 'running') throw loadClosed(target, loadId, load.status);
}

/** `LOAD_CLOSED`: the load is over (closed by `finishLoad`); nothing may stage or merge for it any more. */
function loadClosed(target: ResourceTable, loadId: string, status: string): IngestError {
  return new IngestError(
    'database',
    'LOAD_CLOSED',
    `load ${loadId} is closed (${status}): ${target.source}.${target.resource} is not staged for it any more`,
    { retryable: false, details: { source: target.source, resource: target.resource, loadId, status } },
  );
}
