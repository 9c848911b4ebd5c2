/**
 * The merge of one resource: ONE transaction takes everything staged for (load, resource) into the resource table
 * and drops the staging table. Readers see the table before or after, never half of it.
 *
 * 1. Dedupe: for a key staged more than once, the last one (highest batch, then position) wins; the others are
 *    deleted from staging (a cheap check finds whether there are any).
 * 2. Pre-filter: markers (records staging found unchanged by their raw-text hash) and staged rows whose key is
 *    live in the table with the same canonical content hash are left out — so an unchanged row is not even locked
 *    (PERF-NOTES: `ON CONFLICT … WHERE` alone still rewrites every page).
 * 3. With the table locked against other writers (readers go on; a big first load into an empty table locks them
 *    out too while it swaps in the table staging built, `table-swap.ts`, or builds its primary key once,
 *    `key-index.ts`): `UPDATE` the existing rows whose canonical
 *    hash differs or that were deleted, then `INSERT` the new keys — each only when the key table says it has
 *    work; staging shaped the rows already, so both only copy them (the update in the table's physical order, the
 *    insert in key order). Counts are the statements' row counts.
 *    The disposition (`MergeMode`, issue 7): `append` writes every staged record as a new row instead
 *    (`append-table.ts`); `replace` and deletion detection then delete / mark the rows this load did not stage
 *    (`deletions.ts`) — still in the same transaction.
 * 4. The counts go to `ingest.resource_runs` in the same transaction, so a retried activity finds them instead of
 *    counting again; the staging table and its registry rows are dropped.
 */
import { sql, type Kysely } from 'kysely';
import { IngestError, describeError } from '../errors.ts';
import { readStagedDrift, type SchemaDrift } from './drift.ts';
import { appendStagedRows } from './append-table.ts';
import { applyDeletions } from './deletions.ts';
import { assertDispositionFits, mergeMode, type MergeMode } from './dispositions.ts';
import type { Database } from './schema.ts';
import {
  stagedKeyColumn,
  stagedKeyHashes,
  stagedKeys,
  stagedRows,
  stagedRowsTable,
  stagingLost,
  stagingLostError,
  stagingTable,
  type Staging,
} from './staging.ts';
import { defaultKeyIndexRebuildFrom, deferPrimaryKey, type DeferredPrimaryKey } from './key-index.ts';
import { swapInStagedRows } from './table-swap.ts';
import { inTransaction } from './transaction.ts';
import { coercedSql, isGuarded } from './typed-columns.ts';

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
}

/**
 * 1 GB: enough to sort 1 M staged call records (≈ 800 MB of shaped rows) in memory. Postgres allocates only what the
 * sort holds, so a small resource uses little; lower it (`npm run worker -- --merge-memory <MB>`) on a small server.
 */
export const defaultMergeMemoryMb = 1024;

/** The merge options of an activity's dependencies (the worker's `--merge-memory`). */
export function mergeOptions(deps: { readonly mergeMemoryMb?: number | undefined }): MergeOptions {
  return deps.mergeMemoryMb === undefined ? {} : { memoryMb: deps.mergeMemoryMb };
}

/** The floor: what the merge used before it was sized (a sort of up to ~70 k call records fits). */
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
      const registered = await trx
        .selectFrom('ingest.staging_tables')
        .select('table_name')
        .where('load_id', '=', loadId)
        .where('resource', '=', target.resource)
        .executeTakeFirst();
      if (registered === undefined) return recordedOutcome(trx, staging);
      // A server crash emptied the unlogged staging: merging what is left would silently drop the rest.
      if (await stagingLost(trx, staging)) throw stagingLostError(staging, true);
      // Typed columns read timestamps without a zone as UTC, whatever the session says.
      await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
      await sizeMergeMemory(trx, staging, memoryMb);

      const stage = stagingTable(staging);
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
      const { deleted, skipped: deletionsSkipped } = await applyDeletions(trx, staging, mode);
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
 * How many records are staged, how many distinct keys, and whether a key is staged more than once. First a cheap,
 * exact test: the keys' 64-bit hashes (`key_hashes`, stored by staging) are all distinct → no key repeats, so
 * `distinct = fetched` (measured 0.55 s for 1 M keys, against 1.4 s hashing the key texts here and 1.8 s grouping
 * them). Only when some hash repeats — a duplicate key, or (rarely) two keys that share a hash — are the keys
 * themselves counted.
 */
async function stagedTotals(
  trx: Kysely<Database>,
  staging: Staging,
): Promise<{ readonly fetched: number; readonly distinct: number; readonly duplicated: boolean }> {
  const keyList = sql.join(staging.target.primaryKey.map((k) => sql.id('k', k.column)));
  const hashes = await stagedKeyHashes(trx, staging);
  const quick = await sql<{ rows: string; repeats: boolean }>`
    SELECT (SELECT coalesce(sum(cardinality(key_ords)), 0) FROM ${stagingTable(staging)}) AS rows,
           (SELECT count(*) <> count(DISTINCT s.h) FROM ${hashes} AS s) AS repeats`.execute(trx);
  const fetched = Number(quick.rows[0]?.rows ?? 0);
  if (quick.rows[0]?.repeats !== true) return { fetched, distinct: fetched, duplicated: false };
  const totals = await sql<{ rows: string; keys: string; duplicated: string }>`
    SELECT coalesce(sum(n), 0) AS rows, count(*) AS keys, count(*) FILTER (WHERE n > 1) AS duplicated
    FROM (SELECT count(*) AS n FROM ${stagedKeys(staging)} AS k GROUP BY ${keyList}) AS per_key`.execute(trx);
  return {
    fetched: Number(totals.rows[0]?.rows ?? 0),
    distinct: Number(totals.rows[0]?.keys ?? 0),
    duplicated: Number(totals.rows[0]?.duplicated ?? 0) > 0,
  };
}

/**
 * Sets the merge transaction's `work_mem` to what its sort of the staged rows needs — their size (measured: a sort
 * of 1 M shaped rows held 797 MB, the rows table being 796 MB) plus a margin — between 64 MB and `capMb`. In
 * memory, the sort of 1 M rows took the merge from 11.3–17.9 s (spilling 0.8 GB to temporary files at 64 MB) to
 * 11.4–12.7 s (docs/loading.md). Postgres allocates as the sort grows, so this is a limit, not a reservation.
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

/**
 * Last write wins: records, per batch, the ordinals that a later record (higher seq, then ord) of the same key
 * overrides (`superseded`). Decides afresh each time.
 */
async function markSuperseded(trx: Kysely<Database>, staging: Staging): Promise<void> {
  const stage = stagingTable(staging);
  const keyList = sql.join(staging.target.primaryKey.map((k) => sql.id('k', k.column)));
  await sql`UPDATE ${stage} SET superseded = '{}' WHERE cardinality(superseded) > 0`.execute(trx);
  await sql`
    UPDATE ${stage} AS b SET superseded = d.ords
    FROM (
      SELECT seq, array_agg(ord ORDER BY ord) AS ords
      FROM (
        SELECT k.seq, k.ord, row_number() OVER (PARTITION BY ${keyList} ORDER BY k.seq DESC, k.ord DESC) AS rank
        FROM ${stagedKeys(staging)} AS k
        WHERE (${keyList}) IN (SELECT ${keyList} FROM ${stagedKeys(staging)} AS k GROUP BY ${keyList} HAVING count(*) > 1)
      ) AS ranked
      WHERE rank > 1
      GROUP BY seq
    ) AS d
    WHERE b.seq = d.seq`.execute(trx);
}

interface WriteCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly coercions: Record<string, number>;
}

/**
 * Writes the staged rows. The target is locked against other writers (SHARE ROW EXCLUSIVE: readers go on), which
 * makes plain UPDATE and INSERT safe — measured ~1.5× faster than `INSERT … ON CONFLICT`, whose speculative
 * insertion costs on every row. The narrow key table says which keys exist, so each statement runs only when
 * needed (a first load only inserts; a re-load of known keys only updates; an unchanged one does neither).
 * Each statement copies the rows staging shaped (`stagedRows`: key texts, typed columns, jsonb, canonical hash),
 * skips superseded records and rows whose content is stored, and counts coercions in `RETURNING`.
 */
async function insertStagedRows(
  trx: Kysely<Database>,
  staging: Staging,
  duplicated: boolean,
  /** Enough records that, into an empty table, building the primary key once beats maintaining it (`key-index.ts`). */
  big: boolean,
): Promise<WriteCounts> {
  const { target, loadId } = staging;
  const table = sql.id(target.schema, target.table);
  await sql`LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
  const keyMatch = (alias: string, other: string) =>
    sql.join(
      target.primaryKey.map(
        (k, i) => sql`${sql.id(alias, k.column)} = ${sql.id(other)}.${stagedKeyColumn(i)}`,
      ),
      sql` AND `,
    );
  const keysMatch = sql.join(
    target.primaryKey.map((k) => sql`t.${sql.id(k.column)} = k.${sql.id(k.column)}`),
    sql` AND `,
  );
  // Empty-target fast path: under the lock, a table with no row at all (a first load) has no key to probe, so the
  // per-key existence count is skipped and only the plain INSERT runs (no NOT EXISTS per row).
  const occupied = await sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM ${table}) AS any`.execute(trx);
  let shipped = 1;
  let existing = 0;
  let deferredKey: DeferredPrimaryKey | undefined;
  if (occupied.rows[0]?.any === true) {
    const plan = await sql<{ shipped: string; existing: string }>`
      SELECT count(*) AS shipped, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ${table} AS t WHERE ${keysMatch})) AS existing
      FROM ${stagedKeys(staging)} AS k WHERE NOT k.unchanged AND NOT k.superseded`.execute(trx);
    shipped = Number(plan.rows[0]?.shipped ?? 0);
    existing = Number(plan.rows[0]?.existing ?? 0);
  } else {
    await refuseStaleMarkers(trx, staging);
    // A big first load whose staging was built to become the table: swap it in instead of copying it, when that
    // cannot be told apart (`table-swap.ts`: no repeated key among others); else build the primary key once after
    // the copy (`key-index.ts`).
    if (big && staging.swappable && !duplicated) {
      const swapped = await swapInStagedRows(trx, staging);
      if (swapped !== undefined) return { ...swapped, updated: 0 };
    }
    if (big) deferredKey = await deferPrimaryKey(trx, target);
  }

  const columns = target.columns;
  // Staging shaped every record already (key texts, typed columns, hash): the statements below only copy rows.
  const staged = await stagedRows(trx, staging, { withoutSuperseded: duplicated });
  const rows = sql`${staged.relation} AS x`;
  const guarded = columns.filter(isGuarded);
  const returning = sql.join(
    guarded.length === 0
      ? [sql`1 AS one`]
      : guarded.map((c, i) => sql`${coercedSql('t', c)} AS ${sql.id(`c${i}`)}`),
  );
  const counted = sql.join([
    sql`count(*) AS n`,
    ...guarded.map((_, i) => sql`count(*) FILTER (WHERE ${sql.id(`c${i}`)}) AS ${sql.id(`c${i}`)}`),
  ]);
  const coercions: Record<string, number> = {};
  const tally = (row: Record<string, string> | undefined): number => {
    guarded.forEach((c, i) => {
      const count = Number(row?.[`c${i}`] ?? 0);
      if (count > 0) coercions[c.column] = (coercions[c.column] ?? 0) + count;
    });
    return Number(row?.['n'] ?? 0);
  };

  let updated = 0;
  if (existing > 0) {
    // The rows to change are updated in the table's physical order (by ctid: the table is locked against other
    // writers, so no row moves meanwhile), so each heap page is rewritten once, in sequence. In the staging's order
    // instead, a 1 M-row re-load touched pages at random and wrote 3× the WAL (full-page images after every
    // checkpoint): docs/loading.md.
    const result = await sql<Record<string, string>>`
      WITH written AS (
        UPDATE ${table} AS t SET ${sql.join([
          ...columns.map((c) => sql`${sql.id(c.column)} = ${staged.column(c)}`),
          sql`data = x._data, _content_hash = x._content_hash, _raw_hash = x._raw_hash`,
          sql`_load_id = ${loadId}::text, _changed_at = now(), _deleted_at = NULL`,
        ])}
        FROM (
          SELECT y.*, s.ctid AS _target_tid
          FROM ${staged.relation} AS y
          JOIN ${table} AS s ON ${keyMatch('s', 'y')}
          WHERE s._content_hash <> y._content_hash OR s._deleted_at IS NOT NULL
          ORDER BY s.ctid
        ) AS x
        WHERE t.ctid = x._target_tid
        RETURNING ${returning}
      )
      SELECT ${counted} FROM written`.execute(trx);
    updated = tally(result.rows[0]);
  }
  let inserted = 0;
  if (shipped > existing) {
    // In key order: the primary key's index then grows at its right edge instead of at random pages (measured
    // 1 M rows: 18–22 s → 10–12 s for the write, sort included; docs/loading.md). Without the index (a big first
    // load, `key-index.ts`), the order does not matter: the key is built afterwards from the keys alone.
    const inKeyOrder =
      deferredKey === undefined
        ? sql`ORDER BY ${sql.join(target.primaryKey.map((_, i) => sql`x.${stagedKeyColumn(i)}`))}`
        : sql``;
    const fresh =
      existing > 0 ? sql`AND NOT EXISTS (SELECT 1 FROM ${table} AS s WHERE ${keyMatch('s', 'x')})` : sql``;
    const result = await sql<Record<string, string>>`
      WITH written AS (
        INSERT INTO ${table} AS t (${sql.join([
          ...target.primaryKey.map((k) => sql.id(k.column)),
          ...columns.map((c) => sql.id(c.column)),
          sql`data, _content_hash, _raw_hash, _load_id, _first_loaded_at, _changed_at, _deleted_at`,
        ])})
        SELECT ${sql.join([
          ...target.primaryKey.map((_, i) => sql`x.${stagedKeyColumn(i)}`),
          ...columns.map((c) => staged.column(c)),
          sql`x._data, x._content_hash, x._raw_hash, ${loadId}::text, now(), now(), NULL::timestamptz`,
        ])}
        FROM ${rows}
        WHERE true ${fresh}
        ${inKeyOrder}
        RETURNING ${returning}
      )
      SELECT ${counted} FROM written`.execute(trx);
    inserted = tally(result.rows[0]);
  }
  await deferredKey?.restore();
  return { inserted, updated, coercions };
}

/**
 * A record staged as unchanged (its raw text was the stored one) was not sent: its row in the table is its copy.
 * When the table has no row at merge time — emptied by someone else while this load staged — such records would
 * vanish while counted as unchanged. Refuse instead: the load must start again (a cheap test per batch row; a first
 * load has no such record).
 */
async function refuseStaleMarkers(trx: Kysely<Database>, staging: Staging): Promise<void> {
  const { rows } = await sql<{ stale: boolean }>`
    SELECT EXISTS (SELECT 1 FROM ${stagingTable(staging)} WHERE true = ANY (key_unchanged)) AS stale`.execute(
    trx,
  );
  if (rows[0]?.stale !== true) return;
  const { target, loadId } = staging;
  throw new IngestError(
    'database',
    'STAGING_STALE',
    `${target.source}.${target.resource} was emptied while load ${loadId} staged it: records staged as unchanged ` +
      'have no stored copy any more. Start a new load of the source (the next run reconciles this one).',
    { retryable: false, details: { source: target.source, resource: target.resource } },
  );
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
