/**
 * The merge's write for `merge` and `replace`: copies the rows staging shaped into the resource table — `UPDATE` the
 * rows whose content changed or that were marked deleted, `INSERT` the new keys — or, for a big first load, swaps in
 * the table staging built (`table-swap.ts`) or builds the primary key once after the insert (`key-index.ts`). Runs
 * inside the merge's transaction.
 */
import { sql, type Kysely } from 'kysely';
import { IngestError } from '../../errors.ts';
import type { Database } from '../schema.ts';
import { stagedKeyColumn, stagingTable, type Staging } from '../staging/registry.ts';
import { stagedKeys, stagedRows } from '../staging/staged-reads.ts';
import { coercedSql, isGuarded } from '../tables/typed-columns.ts';
import { deferPrimaryKey, type DeferredPrimaryKey } from './key-index.ts';
import { swapInStagedRows } from './table-swap.ts';

export interface WriteCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly coercions: Record<string, number>;
}

/**
 * Writes the staged rows. The target is locked against other writers (SHARE ROW EXCLUSIVE: readers go on), which
 * makes plain UPDATE and INSERT safe — and cheaper than `INSERT … ON CONFLICT`, whose speculative insertion costs
 * on every row. The narrow key table says which keys exist, so each statement runs only when
 * needed (a first load only inserts; a re-load of known keys only updates; an unchanged one does neither).
 * Each statement copies the rows staging shaped (`stagedRows`: key texts, typed columns, jsonb, canonical hash),
 * skips superseded records and rows whose content is stored, and counts coercions in `RETURNING`.
 */
export async function insertStagedRows(
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
    // instead, a big re-load would touch pages at random and write far more WAL (a full-page image for each page
    // first touched after a checkpoint): docs/loading.md.
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
    // In key order: the primary key's index then grows at its right edge instead of at random pages (the sort
    // costs less than the random index writes it saves; docs/loading.md). Without the index (a big first
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
