/**
 * A big first load's table is built while staging, not copied by the merge. When the target has no row at all, the
 * staging's rows table is created LOGGED, with the target's columns, types and order (`swappableRows`): staging then
 * writes each row, its WAL and its TOAST once, on the staging connections, while the fetch goes on — the work a
 * merge would do again on one core, in one transaction (measured in docs/loading.md). The merge then swaps that
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
 *   reports it) is younger than the staging's last write. A standby that sends no feedback is outside what a primary
 *   can see: there, a repeatable-read query that spans the swap can see part of a first load.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { lockNotAvailable } from './key-index.ts';
import type { ResourceTable } from './resource-tables.ts';
import type { Database } from './schema.ts';
import { coercedSql, isGuarded } from './typed-columns.ts';

/** The target's columns a load fills at merge time, and how (a constant default, so no row is rewritten). */
type MergeTimeValue = (loadId: string) => RawBuilder<unknown> | undefined;
const mergeTimeColumns: ReadonlyMap<string, MergeTimeValue> = new Map<string, MergeTimeValue>([
  ['_load_id', (loadId) => sql.lit(loadId)],
  ['_first_loaded_at', () => sql`now()`],
  ['_changed_at', () => sql`now()`],
  ['_deleted_at', () => undefined],
]);

/** One column of a table, as the catalog describes it. */
interface SignatureColumn {
  readonly name: string;
  readonly type: string;
  readonly notNull: boolean;
  /** `COLLATE …` when it differs from the type's own collation, else null. */
  readonly collate: string | null;
  readonly default: string | null;
  readonly identity: string;
  readonly generated: string;
  readonly storage: string;
  readonly typeStorage: string;
  readonly compression: string;
  readonly acl: unknown;
  readonly options: unknown;
  readonly statistics: number | null;
  readonly comment: string | null;
}

/** Everything about a table that a reader, writer or operator could tell apart after a swap (see the header). */
interface TableSignature {
  readonly kind: string;
  readonly persistence: string;
  /** Null for the database's default tablespace. */
  readonly tablespace: string | null;
  readonly owner: string;
  readonly ownerIsMe: boolean;
  readonly options: readonly string[];
  readonly rowSecurity: boolean;
  readonly replicaIdentity: string;
  readonly partition: boolean;
  readonly typed: boolean;
  readonly comment: string | null;
  /** [grantor, grantee (or PUBLIC), privilege, grantable], sorted; the owner's default when none were granted. */
  readonly acl: readonly (readonly [string, string, string, boolean])[];
  readonly columns: readonly SignatureColumn[];
  /** [name, type, definition, index name or null], sorted by name; NOT NULL constraints are the columns'. */
  readonly constraints: readonly (readonly [string, string, string, string | null])[];
  /** [name, definition, comment], sorted by name. */
  readonly indexes: readonly (readonly [string, string, string | null])[];
  readonly triggers: number;
  readonly policies: number;
  readonly rules: number;
  readonly inheritance: number;
  readonly publications: number;
  readonly statistics: number;
  /** Objects that depend on the table or its row type (views, foreign keys, functions): they would break. */
  readonly dependents: number;
}

/** The catalog description of `schema.table`, or undefined when there is no such table. */
async function tableSignature(
  db: Kysely<Database>,
  schema: string,
  table: string,
): Promise<TableSignature | undefined> {
  const { rows } = await sql<{ signature: TableSignature }>`
    SELECT jsonb_build_object(
      'kind', c.relkind, 'persistence', c.relpersistence,
      'tablespace', (SELECT spcname FROM pg_tablespace WHERE oid = c.reltablespace),
      'owner', pg_get_userbyid(c.relowner), 'ownerIsMe', pg_get_userbyid(c.relowner) = current_user,
      'options', coalesce(c.reloptions, '{}'), 'rowSecurity', c.relrowsecurity OR c.relforcerowsecurity,
      'replicaIdentity', c.relreplident, 'partition', c.relispartition, 'typed', c.reloftype <> 0,
      'comment', obj_description(c.oid, 'pg_class'),
      'acl', (SELECT coalesce(jsonb_agg(jsonb_build_array(g.grantor, g.grantee, g.privilege, g.grantable)
                                        ORDER BY g.grantor, g.grantee, g.privilege), '[]')
              FROM (SELECT pg_get_userbyid(a.grantor) AS grantor,
                           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
                           a.privilege_type AS privilege, a.is_grantable AS grantable
                    FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a) AS g),
      'columns', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull,
                    'collate', CASE WHEN a.attcollation <> t.typcollation
                                    THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
                    'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity,
                    'generated', a.attgenerated, 'storage', a.attstorage, 'typeStorage', t.typstorage,
                    'compression', a.attcompression, 'acl', a.attacl, 'options', a.attoptions,
                    'statistics', a.attstattarget, 'comment', col_description(c.oid, a.attnum)) ORDER BY a.attnum), '[]')
                  FROM pg_attribute AS a
                  JOIN pg_type AS t ON t.oid = a.atttypid
                  LEFT JOIN pg_collation AS co ON co.oid = a.attcollation
                  LEFT JOIN pg_namespace AS cn ON cn.oid = co.collnamespace
                  LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'constraints', (SELECT coalesce(jsonb_agg(jsonb_build_array(k.conname, k.contype, pg_get_constraintdef(k.oid),
                                                                  ki.relname) ORDER BY k.conname), '[]')
                      FROM pg_constraint AS k LEFT JOIN pg_class AS ki ON ki.oid = k.conindid
                      WHERE k.conrelid = c.oid AND k.contype <> 'n'),
      'indexes', (SELECT coalesce(jsonb_agg(jsonb_build_array(ic.relname, pg_get_indexdef(i.indexrelid),
                                                              obj_description(i.indexrelid, 'pg_class'))
                                            ORDER BY ic.relname), '[]')
                  FROM pg_index AS i JOIN pg_class AS ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid),
      'triggers', (SELECT count(*) FROM pg_trigger AS g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal),
      'policies', (SELECT count(*) FROM pg_policy AS p WHERE p.polrelid = c.oid),
      'rules', (SELECT count(*) FROM pg_rewrite AS r WHERE r.ev_class = c.oid),
      'inheritance', (SELECT count(*) FROM pg_inherits AS h WHERE h.inhrelid = c.oid OR h.inhparent = c.oid),
      'publications', (SELECT count(*) FROM pg_publication_rel AS p WHERE p.prrelid = c.oid),
      'statistics', (SELECT count(*) FROM pg_statistic_ext AS s WHERE s.stxrelid = c.oid),
      'dependents', (SELECT count(*) FROM pg_depend AS d
                     WHERE d.deptype = 'n'
                       AND ((d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid)
                         OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = c.reltype)
                         OR (d.refclassid = 'pg_class'::regclass
                             AND d.refobjid IN (SELECT indexrelid FROM pg_index WHERE indrelid = c.oid))))
    ) AS signature
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = ${schema} AND c.relname = ${table}`.execute(db);
  return rows[0]?.signature;
}

/**
 * The staged table's layout for `target` (`stagedLayout`), or why `target` cannot be swapped for a table built while
 * staging. Equality of the signatures after the swap is the final test; this refuses early what could never pass
 * it, or what would break.
 */
function swapLayout(signature: TableSignature, target: ResourceTable): StagedLayout | string {
  if (signature.kind !== 'r' || signature.partition || signature.typed || signature.inheritance > 0) {
    return 'it is not a plain table';
  }
  if (signature.persistence !== 'p') return 'it is not a logged table';
  if (!signature.ownerIsMe) return 'it is owned by another role';
  if (signature.tablespace !== null) return 'it is in a tablespace of its own';
  if (signature.options.length > 0) return 'it has storage options';
  if (signature.rowSecurity || signature.policies > 0) return 'it has row security';
  if (signature.replicaIdentity !== 'd') return 'its replica identity is not the default';
  if (signature.triggers > 0 || signature.rules > 0) return 'it has triggers or rules';
  if (signature.publications > 0) return 'it is published';
  if (signature.statistics > 0) return 'it has extended statistics';
  if (signature.dependents > 0) return 'other objects depend on it';
  if (signature.constraints.some(([, type]) => type === 't')) return 'it has constraint triggers';
  if (signature.acl.some(([grantor]) => grantor !== signature.owner)) {
    return 'privileges on it were granted by another role';
  }
  return stagedLayout(signature, target);
}

/** A target column and what the staged rows table holds for it. */
interface StagedColumn {
  readonly column: SignatureColumn;
  /** The staged table's column: the same, or staging's own name (`_key_<i>`, `_data`). */
  readonly staged: string;
}

/**
 * The staged table's columns in the target's order (every column staging computes), then the merge-time columns,
 * which must come last (they are added by the swap); or why the table's columns do not allow it.
 */
interface StagedLayout {
  readonly staged: readonly StagedColumn[];
  readonly mergeTime: readonly SignatureColumn[];
}

function stagedLayout(signature: TableSignature, target: ResourceTable): StagedLayout | string {
  const stagedName = new Map<string, string>([
    ...target.primaryKey.map((k, i): [string, string] => [k.column, `_key_${i}`]),
    ...target.columns.map((c): [string, string] => [c.column, c.column]),
    ['data', '_data'],
    ['_content_hash', '_content_hash'],
    ['_raw_hash', '_raw_hash'],
  ]);
  const staged: StagedColumn[] = [];
  const mergeTime: SignatureColumn[] = [];
  for (const column of signature.columns) {
    if (column.identity !== '' || column.generated !== '') return `column ${column.name} is generated`;
    if (column.acl !== null) return `column ${column.name} has privileges of its own`;
    if (column.options !== null || (column.statistics !== null && column.statistics >= 0)) {
      return `column ${column.name} has options`;
    }
    if (mergeTimeColumns.has(column.name)) {
      mergeTime.push(column);
      continue;
    }
    const name = stagedName.get(column.name);
    if (name === undefined) return `column ${column.name} is not filled by staging`;
    if (mergeTime.length > 0) return `column ${column.name} comes after the load's metadata columns`;
    if (column.default !== null) return `column ${column.name} has a default`;
    staged.push({ column, staged: name });
  }
  if (mergeTime.length !== mergeTimeColumns.size) return 'a metadata column is missing';
  if (staged.length !== stagedName.size) return 'a column staging fills is missing';
  return { staged, mergeTime };
}

/**
 * The definition of a staging rows table that can become `target` (see the header), or undefined when `target`
 * cannot be swapped: not empty, not a keyed table, `wal_level = logical`, or anything `swapLayout` refuses. The
 * columns are the target's, in its order, named as staging names them, then `_seq` and `_ord`.
 */
export async function swappableRows(
  db: Kysely<Database>,
  target: ResourceTable,
): Promise<
  { readonly columns: RawBuilder<unknown>; readonly storage: readonly RawBuilder<unknown>[] } | undefined
> {
  if (target.rowKey !== 'record') return undefined;
  const { rows } = await sql<{ logical: boolean; empty: boolean }>`
    SELECT current_setting('wal_level') = 'logical' AS logical,
           NOT EXISTS (SELECT 1 FROM ${sql.id(target.schema, target.table)}) AS empty`.execute(db);
  if (rows[0]?.logical !== false || rows[0]?.empty !== true) return undefined;
  const signature = await tableSignature(db, target.schema, target.table);
  const layout = signature === undefined ? 'no such table' : swapLayout(signature, target);
  if (typeof layout === 'string') return undefined;
  const columns = layout.staged.map(({ column, staged }) =>
    sql.join(
      [
        sql.id(staged),
        sql.raw(column.type),
        ...(column.collate === null ? [] : [sql`COLLATE ${sql.raw(column.collate)}`]),
        ...(column.notNull ? [sql`NOT NULL`] : []),
      ],
      sql` `,
    ),
  );
  const storage = layout.staged.flatMap(({ column, staged }) => [
    ...(column.storage === column.typeStorage
      ? []
      : [
          sql`ALTER COLUMN ${sql.id(staged)} SET STORAGE ${sql.raw(storageNames[column.storage] ?? 'EXTENDED')}`,
        ]),
    ...(column.compression === ''
      ? []
      : [
          sql`ALTER COLUMN ${sql.id(staged)} SET COMPRESSION ${sql.raw(column.compression === 'l' ? 'lz4' : 'pglz')}`,
        ]),
  ]);
  return {
    columns: sql.join([...columns, sql`_seq bigint NOT NULL`, sql`_ord integer NOT NULL`]),
    storage,
  };
}

const storageNames: Readonly<Record<string, string>> = {
  p: 'PLAIN',
  e: 'EXTERNAL',
  m: 'MAIN',
  x: 'EXTENDED',
};

/** What a swap wrote: every staged row is a new row. */
export interface SwapCounts {
  readonly inserted: number;
  readonly coercions: Record<string, number>;
}

/** The staging a swap takes its table from. */
export interface SwappableStaging {
  readonly loadId: string;
  readonly target: ResourceTable;
  /** The batch table, `ingest.<name>`; the rows table is `ingest.<name>_rows`. */
  readonly tableName: string;
}

/**
 * Makes the staged rows table (created by `swappableRows`) the target table, inside the merge's transaction, and
 * returns what it wrote; or returns undefined having changed nothing (a savepoint), when the swap cannot be proven
 * invisible (see the header) — the merge then copies as usual. Call it with the target found empty, and only when
 * no key was staged twice: removing the superseded records from the staged table would be a change that a snapshot
 * taken before the merge commits does not see (found by `loader-swap.test.ts`: such a reader saw the loser of a
 * repeated key beside its winner), so a load with repeated keys is copied.
 */
export async function swapInStagedRows(
  trx: Kysely<Database>,
  staging: SwappableStaging,
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
  staging: SwappableStaging,
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
 * could see part of the staged rows (see the header): every snapshot held in this database, by a standby
 * (`hot_standby_feedback`) or a replication slot is younger than the staging's last write — the newest `xmin` of
 * its batches' registry rows (`staged_batches`: every staged or re-sent batch writes its own; the merge, which
 * rewrites the batch rows themselves when it marks superseded records, does not touch them) and of the staging's
 * registry row (which `discardStagedFrom` touches). A session whose snapshot this
 * role may not see (`pg_stat_activity` hides it without `pg_read_all_stats`) counts as old. Autovacuum workers are
 * left out: they read only the table they process, and neither the locked target nor the staging (autovacuum off)
 * is one.
 */
async function quietAndEmpty(trx: Kysely<Database>, staging: SwappableStaging): Promise<boolean> {
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
             WHERE s.xmin IS NOT NULL AND age(s.xmin) >= newest.age) AS quiet`.execute(trx);
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
