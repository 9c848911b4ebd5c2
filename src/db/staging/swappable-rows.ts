/**
 * The rows table a big first load stages into when it can become the target (docs/loading.md, "A first load is
 * swapped in"). When the target has no row at all, staging creates its rows table LOGGED, with the target's columns,
 * types, storage and order (`swappableRows`), so that staging writes each row, its WAL and its TOAST once, on the
 * staging connections, while the fetch goes on — the work a merge would otherwise do again on one core, in one
 * transaction. The merge then swaps that table in (`merge/table-swap.ts`), adding the load's metadata columns
 * (`mergeTimeColumns`) as constant defaults. `swapLayout` says which tables allow that, and how their columns map to
 * staging's.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import type { ResourceTable } from '../tables/resource-tables.ts';
import { tableSignature, type SignatureColumn, type TableSignature } from '../tables/table-signature.ts';
import { stagedKeyColumnName } from './registry.ts';

/** The target's columns a load fills at merge time, and how (a constant default, so no row is rewritten). */
type MergeTimeValue = (loadId: string) => RawBuilder<unknown> | undefined;
export const mergeTimeColumns: ReadonlyMap<string, MergeTimeValue> = new Map<string, MergeTimeValue>([
  ['_load_id', (loadId) => sql.lit(loadId)],
  ['_first_loaded_at', () => sql`now()`],
  ['_changed_at', () => sql`now()`],
  ['_deleted_at', () => undefined],
]);

/**
 * The staged table's layout for `target` (`stagedLayout`), or why `target` cannot be swapped for a table built while
 * staging. Equality of the signatures after the swap is the final test; this refuses early what could never pass
 * it, or what would break.
 */
export function swapLayout(signature: TableSignature, target: ResourceTable): StagedLayout | string {
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
export interface StagedColumn {
  readonly column: SignatureColumn;
  /** The staged table's column: the same, or staging's own name (`_key_<i>`, `_data`). */
  readonly staged: string;
}

/**
 * The staged table's columns in the target's order (every column staging computes), then the merge-time columns,
 * which must come last (they are added by the swap); or why the table's columns do not allow it.
 */
export interface StagedLayout {
  readonly staged: readonly StagedColumn[];
  readonly mergeTime: readonly SignatureColumn[];
}

function stagedLayout(signature: TableSignature, target: ResourceTable): StagedLayout | string {
  const stagedName = new Map<string, string>([
    ...target.primaryKey.map((k, i): [string, string] => [k.column, stagedKeyColumnName(i)]),
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
 * The definition of a staging rows table that can become `target` (see the module comment), or undefined when `target`
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
