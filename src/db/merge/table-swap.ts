/**
 * A big first load's table is built while staging, not copied by the merge. When the target has no row at all, the
 * staging's rows table is created LOGGED, with the target's columns, types and order (`staging/swappable-rows.ts`): staging then
 * writes each row, its WAL and its TOAST once, on the staging connections, while the fetch goes on — the work a
 * merge would do again on one core, in one transaction (docs/loading.md). The merge then swaps that
 * table in (`swapInStagedRows`), in its own transaction, under an ACCESS EXCLUSIVE lock it never queues for: it
 * adds the load's metadata columns (`_load_id`, `_first_loaded_at`,
 * `_changed_at`, `_deleted_at`) as constant defaults — catalog entries, no row is rewritten — drops the empty table,
 * moves the staged one into its place under its name, and builds its constraints and indexes once, as they were.
 *
 * The swap is taken only when nobody could tell the tables apart, and the ordinary copy runs otherwise:
 * - no key was staged twice (the losers' removal would be a change older snapshots do not see);
 * - the table's catalog description after the swap (`tableSignature`: columns, types, defaults, constraints,
 *   indexes, owner, privileges, comments, options…) must equal the one before — else it is rolled back (savepoint);
 * - nothing else may refer to the table (views, foreign keys, triggers, rules, policies, publications, inheritance,
 *   extended statistics, functions of its row type), as those would point at the dropped table;
 * - `wal_level` is not `logical`: logical decoding would see a staging table fill instead of the table;
 * - no snapshot that another session holds may see some of the staged rows and not others. The staged rows were
 *   committed batch by batch, so a repeatable-read transaction that started during the staging (or a statement that
 *   has run since) would find part of the load in the swapped-in table, where a copied one shows it nothing. The
 *   swap therefore requires that every snapshot in the database (and every standby's, as `hot_standby_feedback`
 *   reports it) is younger than the staging's last write.
 * - no standby could hold a snapshot the primary cannot see: a standby that sends no feedback (a replication
 *   connection with no `backend_xmin`, or a physical slot with no `xmin` — a standby that is away counts too) could
 *   run a repeatable-read query spanning the swap and see part of the load, so there is no swap while one exists.
 *   A streaming backup (`pg_basebackup`, `pg_receivewal`) looks the same and also means a copy.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import type { Staging } from '../staging/registry.ts';
import { mergeTimeColumns, swapLayout, type StagedLayout } from '../staging/swappable-rows.ts';
import type { ResourceTable } from '../tables/resource-tables.ts';
import { tableSignature, type TableSignature } from '../tables/table-signature.ts';
import { coercedSql, isGuarded } from '../tables/typed-columns.ts';
import { lockNotAvailable } from './key-index.ts';

/** What a swap wrote: every staged row is a new row. */
export interface SwapCounts {
  readonly inserted: number;
  readonly coercions: Record<string, number>;
}

/**
 * Makes the staged rows table (created by `swappableRows`, `staging/swappable-rows.ts`) the target table, inside the merge's transaction, and
 * returns what it wrote; or returns undefined having changed nothing (a savepoint), when the swap cannot be proven
 * invisible (see the header) — the merge then copies as usual. Call it with the target found empty, and only when
 * no key was staged twice: removing the superseded records from the staged table would be a change that a snapshot
 * taken before the merge commits does not see (found by `loader-swap.test.ts`: such a reader saw the loser of a
 * repeated key beside its winner), so a load with repeated keys is copied.
 */
export async function swapInStagedRows(
  trx: Kysely<Database>,
  staging: Staging,
): Promise<SwapCounts | undefined> {
  const { target } = staging;
  const table = sql.id(target.schema, target.table);
  await sql`SAVEPOINT swap_in_staged_rows`.execute(trx);
  const giveUp = async (): Promise<undefined> => {
    await sql`ROLLBACK TO SAVEPOINT swap_in_staged_rows`.execute(trx);
    await sql`RELEASE SAVEPOINT swap_in_staged_rows`.execute(trx);
    return undefined;
  };
  try {
    await sql`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE NOWAIT`.execute(trx);
  } catch (error) {
    if ((error as { code?: unknown }).code !== lockNotAvailable) throw error;
    return giveUp();
  }
  const before = await tableSignature(trx, target.schema, target.table);
  const staged = await tableSignature(trx, 'ingest', `${staging.tableName}_rows`);
  if (before === undefined || staged?.persistence !== 'p') return giveUp();
  const layout = swapLayout(before, target);
  if (typeof layout === 'string') return giveUp();
  if (!(await quietAndEmpty(trx, staging))) return giveUp();
  try {
    const counts = await swapIn(trx, staging, before, layout);
    const after = await tableSignature(trx, target.schema, target.table);
    if (JSON.stringify(after) !== JSON.stringify(before)) return await giveUp();
    await sql`RELEASE SAVEPOINT swap_in_staged_rows`.execute(trx);
    return counts;
  } catch (error) {
    // A catalog situation the checks did not foresee (a name taken, an object that depends on the table, a
    // privilege): undo the swap and copy instead. Anything else (a cancel, a lost connection) goes on up.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^(42|2B|0A)/.test(code)) return giveUp();
    throw error;
  }
}

/** The swap itself (see `swapInStagedRows`), inside its savepoint. */
async function swapIn(
  trx: Kysely<Database>,
  staging: Staging,
  before: TableSignature,
  layout: StagedLayout,
): Promise<SwapCounts> {
  const { target, loadId } = staging;
  const table = sql.id(target.schema, target.table);
  const rowsName = `${staging.tableName}_rows`;
  const rows = sql.id('ingest', rowsName);
  // The literals below (the load id, comments) are quoted by doubling quotes, which is all it takes with this on.
  await sql`SET LOCAL standard_conforming_strings = on`.execute(trx);
  const counts = await countStagedRows(trx, rows, target);

  // The table takes the target's shape: staging's bookkeeping columns go, the merge-time ones come as constants.
  const added = layout.mergeTime.map((column) => {
    const value = mergeTimeColumns.get(column.name)?.(loadId);
    return sql`ADD COLUMN ${sql.id(column.name)} ${sql.raw(column.type)}${
      column.collate === null ? sql`` : sql` COLLATE ${sql.raw(column.collate)}`
    }${value === undefined ? sql`` : sql` DEFAULT ${value}`}${column.notNull ? sql` NOT NULL` : sql``}`;
  });
  await sql`ALTER TABLE ${rows} DROP COLUMN _seq, DROP COLUMN _ord, RESET (autovacuum_enabled), ${sql.join(added)}`.execute(
    trx,
  );
  // The constants stay as the rows' values (`attmissingval`); the columns' defaults become the target's.
  const defaults = layout.mergeTime.flatMap((column) =>
    mergeTimeColumns.get(column.name)?.(loadId) === undefined && column.default === null
      ? []
      : [
          column.default === null
            ? sql`ALTER COLUMN ${sql.id(column.name)} DROP DEFAULT`
            : sql`ALTER COLUMN ${sql.id(column.name)} SET DEFAULT ${sql.raw(column.default)}`,
        ],
  );
  if (defaults.length > 0) await sql`ALTER TABLE ${rows} ${sql.join(defaults)}`.execute(trx);
  for (const { column, staged: name } of layout.staged) {
    if (name !== column.name) {
      await sql`ALTER TABLE ${rows} RENAME COLUMN ${sql.id(name)} TO ${sql.id(column.name)}`.execute(trx);
    }
  }
  await sql`DROP TABLE ${table}`.execute(trx);
  await sql`ALTER TABLE ${rows} SET SCHEMA ${sql.id(target.schema)}`.execute(trx);
  await sql`ALTER TABLE ${sql.id(target.schema, rowsName)} RENAME TO ${sql.id(target.table)}`.execute(trx);

  // Constraints (the primary key first) and indexes, built once from all rows, with their own names.
  const constraints = [...before.constraints].sort(([, a], [, b]) => Number(b === 'p') - Number(a === 'p'));
  for (const [name, , definition] of constraints) {
    await sql`ALTER TABLE ${table} ADD CONSTRAINT ${sql.id(name)} ${sql.raw(definition)}`.execute(trx);
  }
  const constraintIndexes = new Set(before.constraints.map(([, , , index]) => index));
  for (const [name, definition, comment] of before.indexes) {
    if (!constraintIndexes.has(name)) await sql.raw(definition).execute(trx);
    if (comment !== null) {
      await sql`COMMENT ON INDEX ${sql.id(target.schema, name)} IS ${sql.lit(comment)}`.execute(trx);
    }
  }
  if (before.comment !== null)
    await sql`COMMENT ON TABLE ${table} IS ${sql.lit(before.comment)}`.execute(trx);
  for (const column of before.columns) {
    if (column.comment !== null) {
      await sql`COMMENT ON COLUMN ${sql.id(target.schema, target.table, column.name)} IS ${sql.lit(column.comment)}`.execute(
        trx,
      );
    }
  }
  await copyPrivileges(trx, table, before, await tableSignature(trx, target.schema, target.table));
  return counts;
}

/**
 * The target still has no row (a concurrent writer could have filled it since staging began), and no snapshot
 * could see part of the staged rows (see the header): no replication connection or physical slot lacks an `xmin`
 * (a standby without feedback), and every snapshot held in this database, by a standby
 * (`hot_standby_feedback`) or a replication slot is younger than the staging's last write — the newest `xmin` of
 * its batches' registry rows (`staged_batches`: every staged or re-sent batch writes its own; the merge, which
 * rewrites the batch rows themselves when it marks superseded records, does not touch them) and of the staging's
 * registry row (which `discardStagedFrom` touches). A session whose snapshot this
 * role may not see (`pg_stat_activity` hides it without `pg_read_all_stats`) counts as old. Autovacuum workers are
 * left out: they read only the table they process, and neither the locked target nor the staging (autovacuum off)
 * is one.
 */
async function quietAndEmpty(trx: Kysely<Database>, staging: Staging): Promise<boolean> {
  const { target } = staging;
  const { rows } = await sql<{ empty: boolean; quiet: boolean }>`
    WITH newest AS (
      SELECT least((SELECT min(age(b.xmin)) FROM ingest.staged_batches AS b
                    WHERE b.load_id = ${staging.loadId} AND b.resource = ${target.resource}),
                   (SELECT age(r.xmin) FROM ingest.staging_tables AS r
                    WHERE r.load_id = ${staging.loadId} AND r.resource = ${target.resource})) AS age
    )
    SELECT NOT EXISTS (SELECT 1 FROM ${sql.id(target.schema, target.table)}) AS empty,
           NOT EXISTS (
             SELECT 1 FROM pg_stat_activity AS a, newest
             WHERE a.pid <> pg_backend_pid()
               AND (a.datname = current_database() OR a.backend_type = 'walsender')
               AND a.backend_type <> 'autovacuum worker'
               AND ((a.backend_xmin IS NOT NULL AND age(a.backend_xmin) >= newest.age)
                    OR a.query = '<insufficient privilege>'))
           AND NOT EXISTS (
             SELECT 1 FROM pg_replication_slots AS s, newest
             WHERE s.xmin IS NOT NULL AND age(s.xmin) >= newest.age)
           AND NOT EXISTS (
             SELECT 1 FROM pg_stat_activity AS w
             WHERE w.backend_type = 'walsender' AND w.backend_xmin IS NULL)
           AND NOT EXISTS (
             SELECT 1 FROM pg_replication_slots AS s
             WHERE s.slot_type = 'physical' AND s.xmin IS NULL) AS quiet`.execute(trx);
  return rows[0]?.empty === true && rows[0]?.quiet === true;
}

/** How many staged rows there are, and per typed column how many did not fit (NULL, though the record has a value). */
async function countStagedRows(
  trx: Kysely<Database>,
  rows: RawBuilder<unknown>,
  target: ResourceTable,
): Promise<SwapCounts> {
  const guarded = target.columns.filter(isGuarded);
  const { rows: result } = await sql<Record<string, string>>`
    SELECT ${sql.join([
      sql`count(*) AS n`,
      ...guarded.map(
        (c, i) => sql`count(*) FILTER (WHERE ${coercedSql('r', c, '_data')}) AS ${sql.id(`c${i}`)}`,
      ),
    ])}
    FROM ${rows} AS r`.execute(trx);
  const coercions: Record<string, number> = {};
  guarded.forEach((c, i) => {
    const count = Number(result[0]?.[`c${i}`] ?? 0);
    if (count > 0) coercions[c.column] = count;
  });
  return { inserted: Number(result[0]?.['n'] ?? 0), coercions };
}

/**
 * Grants on the swapped-in table what was granted on the one it replaced (by its owner; anything else refused the
 * swap), after revoking what default privileges gave the new table. Nothing to do when they already agree.
 */
async function copyPrivileges(
  trx: Kysely<Database>,
  table: RawBuilder<unknown>,
  before: TableSignature,
  now: TableSignature | undefined,
): Promise<void> {
  if (now === undefined || JSON.stringify(now.acl) === JSON.stringify(before.acl)) return;
  const grantee = (name: string) => (name === 'PUBLIC' ? sql`PUBLIC` : sql.id(name));
  const others = (acl: TableSignature['acl']) => acl.filter(([, name]) => name !== before.owner);
  for (const name of new Set(others(now.acl).map(([, name]) => name))) {
    await sql`REVOKE ALL ON ${table} FROM ${grantee(name)}`.execute(trx);
  }
  for (const [, name, privilege, grantable] of others(before.acl)) {
    if (!privileges.has(privilege)) continue; // an unknown privilege: the signatures then differ, and the swap is undone
    await sql`GRANT ${sql.raw(privilege)} ON ${table} TO ${grantee(name)}${
      grantable ? sql` WITH GRANT OPTION` : sql``
    }`.execute(trx);
  }
}

const privileges: ReadonlySet<string> = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'TRUNCATE',
  'REFERENCES',
  'TRIGGER',
  'MAINTAIN',
]);
