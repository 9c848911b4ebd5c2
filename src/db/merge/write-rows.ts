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
 * on every row. Each statement runs only when needed: a first load only inserts; a re-load runs the UPDATE, which
 * finds the staged keys the table holds as it joins (rewriting those whose content changed) and counts them, and
 * the INSERT only when staged records are left over (new keys); an unchanged re-load ships no record and runs
 * neither. The staging is locked against its writers (`mergeStaged`), so the counts read from it in separate
 * statements agree; a disagreement is a bug, and fails the merge with nothing written (`MERGE_COUNTS_DISAGREE`).
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
  // Empty-target fast path: under the lock, a table with no row at all (a first load) has no key to look up, so
  // only the plain INSERT runs (no NOT EXISTS per row).
  const occupied = await sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM ${table}) AS any`.execute(trx);
  const filled = occupied.rows[0]?.any === true;
  let shipped = 0;
  let deferredKey: DeferredPrimaryKey | undefined;
  if (filled) {
    // No lookup of the staged keys in the table here: the UPDATE finds and counts the stored ones as it joins. The
    // INSERT runs only when records are left over, and then scans every shipped row — with NOT EXISTS per row
    // when the UPDATE found some key stored.
    shipped = await shippedCount(trx, staging, duplicated);
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
  let matched = 0;
  if (filled && shipped > 0) {
    // The rows to change are updated in the table's physical order (by ctid: the table is locked against other
    // writers, so no row moves meanwhile), so each heap page is rewritten once, in sequence. In the staging's order
    // instead, a big re-load would touch pages at random and write far more WAL (a full-page image for each page
    // first touched after a checkpoint): docs/loading.md. Only the pairs (table row, staged row) are sorted — a few
    // bytes each —, and each staged row is read by its id (a TID scan) as it is written: a sort of the rows
    // themselves would hold them all in memory (about the rows table's size).
    // The pairs of unchanged rows are kept too: their count tells the INSERT whether records are left over.
    const result = await sql<Record<string, string>>`
      WITH pairs AS MATERIALIZED (
        SELECT s.ctid AS _target_tid, y._row_id,
               (s._content_hash <> y._content_hash OR s._deleted_at IS NOT NULL) AS changed
        FROM ${staged.relation} AS y
        JOIN ${table} AS s ON ${keyMatch('s', 'y')}
      ), written AS (
        UPDATE ${table} AS t SET ${sql.join([
          ...columns.map((c) => sql`${sql.id(c.column)} = ${staged.column(c)}`),
          sql`data = x._data, _content_hash = x._content_hash, _raw_hash = x._raw_hash`,
          sql`_load_id = ${loadId}::text, _changed_at = now(), _deleted_at = NULL`,
        ])}
        FROM (SELECT _target_tid, _row_id FROM pairs WHERE changed ORDER BY _target_tid) AS p
        CROSS JOIN LATERAL ${staged.rowAt(sql`p._row_id`)} AS x
        WHERE t.ctid = p._target_tid
        RETURNING ${returning}
      )
      SELECT ${counted}, (SELECT count(*) FROM pairs) AS matched,
             (SELECT count(*) FILTER (WHERE changed) FROM pairs) AS changed
      FROM written`.execute(trx);
    updated = tally(result.rows[0]);
    matched = Number(result.rows[0]?.['matched'] ?? 0);
    const changed = Number(result.rows[0]?.['changed'] ?? 0);
    // Each staged key is one shipped record, held by at most one row; and a changed pair whose staged row was
    // not read back would leave its row stale, silently.
    if (matched > shipped) {
      throw countsDisagree(staging, `${matched} staged rows are stored, of ${shipped} shipped records`);
    }
    if (updated !== changed) {
      throw countsDisagree(staging, `${updated} rows updated, of ${changed} changed`);
    }
  }
  let inserted = 0;
  // The staged keys the UPDATE did not find stored are new: they are inserted, and only they.
  if (!filled || shipped > matched) {
    // In key order: the primary key's index then grows at its right edge instead of at random pages (the sort
    // costs less than the random index writes it saves; docs/loading.md). Without the index (a big first
    // load, `key-index.ts`), the order does not matter: the key is built afterwards from the keys alone.
    const inKeyOrder =
      deferredKey === undefined
        ? sql`ORDER BY ${sql.join(target.primaryKey.map((_, i) => sql`x.${stagedKeyColumn(i)}`))}`
        : sql``;
    // Under the lock, no key is stored when the UPDATE found none: then no row needs the test.
    const fresh =
      matched > 0 ? sql`AND NOT EXISTS (SELECT 1 FROM ${table} AS s WHERE ${keyMatch('s', 'x')})` : sql``;
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
    if (filled && inserted !== shipped - matched) {
      throw countsDisagree(staging, `${inserted} rows inserted, of ${shipped - matched} new keys`);
    }
  }
  await deferredKey?.restore();
  return { inserted, updated, coercions };
}

/**
 * How many staged records are to be written: neither staged as unchanged (a key alone) nor superseded. Without a
 * repeated key none is superseded, and the batch rows' arrays give the count without unnesting them.
 */
async function shippedCount(trx: Kysely<Database>, staging: Staging, duplicated: boolean): Promise<number> {
  const { rows } = duplicated
    ? await sql<{ n: string }>`
        SELECT count(*) AS n FROM ${stagedKeys(staging)} AS k WHERE NOT k.unchanged AND NOT k.superseded`.execute(
        trx,
      )
    : await sql<{ n: string }>`
        SELECT coalesce(sum(cardinality(key_ords) - cardinality(array_positions(key_unchanged, true))), 0) AS n
        FROM ${stagingTable(staging)}`.execute(trx);
  return Number(rows[0]?.n ?? 0);
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

/**
 * The merge's counts of one staging do not agree with each other (see `insertStagedRows`): a bug, not the data's
 * fault. Thrown inside the merge's transaction, so nothing is written.
 */
function countsDisagree(staging: Staging, what: string): IngestError {
  const { target, loadId } = staging;
  return new IngestError(
    'internal',
    'MERGE_COUNTS_DISAGREE',
    `Merging ${target.source}.${target.resource} (load ${loadId}): ${what}. Nothing was written.`,
    // Not retried: a retry would stage the same records and merge them into the same disagreement.
    { retryable: false, details: { source: target.source, resource: target.resource } },
  );
}
