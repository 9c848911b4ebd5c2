/**
 * The merge of one resource: ONE transaction takes everything staged for (load, resource) into the resource table
 * and drops the staging table. Readers see the table before or after, never half of it.
 *
 * 1. Dedupe: for a key staged more than once, the last one (highest batch, then position) wins; the others are
 *    deleted from staging (a cheap check finds whether there are any).
 * 2. Pre-filter: markers (records staging found unchanged by their raw-text hash) and staged rows whose key is
 *    live in the table with the same canonical content hash are left out — so an unchanged row is not even locked
 *    (PERF-NOTES: `ON CONFLICT … WHERE` alone still rewrites every page).
 * 3. `INSERT … ON CONFLICT (pk) DO UPDATE … WHERE` the hash differs or the row was deleted, copying the columns
 *    staging computed (typed columns, hash); `RETURNING` tells inserts (`xmax = 0`) from updates.
 * 4. The counts go to `ingest.resource_runs` in the same transaction, so a retried activity finds them instead of
 *    counting again; the staging table and its registry rows are dropped.
 */
import { sql, type Kysely } from 'kysely';
import { IngestError, describeError } from '../errors.ts';
import type { Database } from './schema.ts';
import { stagingTable, type Staging } from './staging.ts';
import { inTransaction } from './transaction.ts';

/** What a merge did. `fetched` = `distinct` + duplicates; `distinct` = `inserted` + `updated` + `unchanged`. */
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
  readonly mergeMs: number;
  /** True when this staging had been merged by an earlier attempt: the counts are the ones it recorded. */
  readonly alreadyMerged: boolean;
}

/**
 * Merges the staging of (load, resource) into its table in one transaction and drops the staging. Idempotent: once
 * merged, calling it again returns the recorded counts (from the resource run) with `alreadyMerged: true`.
 * Give it the pool, not a transaction (it opens its own, unless it is given one).
 */
export async function mergeStaged(db: Kysely<Database>, staging: Staging): Promise<MergeOutcome> {
  const started = performance.now();
  const { loadId, target } = staging;
  try {
    return await inTransaction(db, async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${staging.tableName}))`.execute(trx);
      const registered = await trx
        .selectFrom('ingest.staging_tables')
        .select('table_name')
        .where('load_id', '=', loadId)
        .where('resource', '=', target.resource)
        .executeTakeFirst();
      if (registered === undefined) return recordedOutcome(trx, staging);
      // Typed columns read timestamps without a zone as UTC, whatever the session says.
      await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
      await sql`SET LOCAL work_mem = '64MB'`.execute(trx);

      const stage = stagingTable(staging);
      const keys = target.primaryKey.map((k) => sql.id(k.column));
      const keyList = sql.join(keys);
      const totals = await sql<{ rows: string; keys: string; duplicated: string }>`
        SELECT coalesce(sum(n), 0) AS rows, count(*) AS keys, count(*) FILTER (WHERE n > 1) AS duplicated
        FROM (SELECT count(*) AS n FROM ${stage} GROUP BY ${keyList}) AS per_key`.execute(trx);
      const fetched = Number(totals.rows[0]?.rows ?? 0);
      const distinct = Number(totals.rows[0]?.keys ?? 0);
      if (Number(totals.rows[0]?.duplicated ?? 0) > 0) {
        // Last write wins: keep the highest (seq, ord) of each key.
        await sql`
          DELETE FROM ${stage} AS s
          USING (
            SELECT ${keyList}, seq, ord,
                   row_number() OVER (PARTITION BY ${keyList} ORDER BY seq DESC, ord DESC) AS rank
            FROM ${stage}
            WHERE (${keyList}) IN (SELECT ${keyList} FROM ${stage} GROUP BY ${keyList} HAVING count(*) > 1)
          ) AS d
          WHERE ${sql.join(
            target.primaryKey.map((k) => sql`s.${sql.id(k.column)} = d.${sql.id(k.column)}`),
            sql` AND `,
          )} AND s.seq = d.seq AND s.ord = d.ord AND d.rank > 1`.execute(trx);
      }

      const table = sql.id(target.schema, target.table);
      const keyMatch = sql.join(
        target.primaryKey.map((k) => sql`t.${sql.id(k.column)} = s.${sql.id(k.column)}`),
        sql` AND `,
      );
      const columns = target.columns;
      const insertColumns = sql.join([
        ...keys,
        ...columns.map((c) => sql.id(c.column)),
        sql`data, _content_hash, _raw_hash, _load_id, _first_loaded_at, _changed_at, _deleted_at`,
      ]);
      const selectList = sql.join([
        ...target.primaryKey.map((k) => sql`s.${sql.id(k.column)}`),
        ...columns.map((c) => sql`s.${sql.id(c.column)}`),
        sql`s.data, s.content_hash, s.raw_hash, ${loadId}::text, now(), now(), NULL::timestamptz`,
      ]);
      const updates = sql.join([
        ...columns.map((c) => sql`${sql.id(c.column)} = excluded.${sql.id(c.column)}`),
        sql`data = excluded.data, _content_hash = excluded._content_hash, _raw_hash = excluded._raw_hash`,
        sql`_load_id = excluded._load_id`,
        sql`_changed_at = excluded._changed_at, _deleted_at = NULL`,
      ]);
      const merged = await sql<Record<string, string>>`
        WITH written AS (
          INSERT INTO ${table} AS t (${insertColumns})
          SELECT ${selectList}
          FROM ${stage} AS s
          WHERE s.data IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM ${table} AS t
            WHERE ${keyMatch} AND t._content_hash = s.content_hash AND t._deleted_at IS NULL
          )
          ON CONFLICT (${keyList}) DO UPDATE SET ${updates}
          WHERE t._content_hash <> excluded._content_hash OR t._deleted_at IS NOT NULL
          RETURNING (t.xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
        FROM written`.execute(trx);
      const row = merged.rows[0] ?? {};
      const inserted = Number(row['inserted'] ?? 0);
      const updated = Number(row['updated'] ?? 0);
      const perBatch = await trx
        .selectFrom('ingest.staged_batches')
        .select(['rejected', 'coercions'])
        .where('load_id', '=', loadId)
        .where('resource', '=', target.resource)
        .execute();
      let rejected = 0;
      const coercions: Record<string, number> = {};
      for (const batch of perBatch) {
        rejected += batch.rejected;
        for (const [column, count] of Object.entries(batch.coercions)) {
          coercions[column] = (coercions[column] ?? 0) + count;
        }
      }

      await sql`DROP TABLE ${stage}`.execute(trx);
      await trx
        .deleteFrom('ingest.staging_tables')
        .where('load_id', '=', loadId)
        .where('resource', '=', target.resource)
        .execute();
      const mergeMs = Math.round(performance.now() - started);
      await trx
        .updateTable('ingest.resource_runs')
        .set({
          fetched,
          inserted,
          updated,
          unchanged: distinct - inserted - updated,
          rejected,
          coercions: JSON.stringify(coercions),
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
    mergeMs: run.merge_ms ?? 0,
    alreadyMerged: true,
  };
}
