/**
 * How code outside staging reads what is staged — how it is stored is staging's business: `stagedKeys` (every good
 * record's key, position and flags), `stagedKeyHashes` (their 64-bit hashes) and `stagedRows` (the rows to write,
 * in the target's shape).
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import type { TypedColumn } from '../tables/resource-tables.ts';
import { typedValueSql } from '../tables/typed-columns.ts';
import { keyArray, stagedRowsTable, stagingTable, type Staging } from './registry.ts';

/**
 * Every good staged record's key, as a relation to select from: `seq, ord`, the key columns (named as in the
 * target), `unchanged` (its raw text is the one stored) and `superseded` (a later record of the same key wins;
 * valid once the merge has decided the winners). The one way for code outside staging to read staged keys — how
 * they are stored is staging's business. Give it an alias: `FROM ${stagedKeys(staging)} AS k`.
 */
export function stagedKeys(staging: Staging): RawBuilder<unknown> {
  const { primaryKey } = staging.target;
  const keys = primaryKey.map((k, i) => sql`u.${keyArray(i)} AS ${sql.id(k.column)}`);
  return sql`(
    SELECT b.seq, u.ord, ${sql.join(keys)}, u.unchanged,
           (cardinality(b.superseded) > 0 AND u.ord = ANY (b.superseded)) AS superseded
    FROM ${stagingTable(staging)} AS b
    CROSS JOIN LATERAL unnest(b.key_ords, b.key_unchanged, ${sql.join(primaryKey.map((_, i) => sql`b.${keyArray(i)}`))})
      AS u(ord, unchanged, ${sql.join(primaryKey.map((_, i) => keyArray(i)))})
  )`;
}

/**
 * Every good staged record's key hash (`keyHashSql` in `write-batch.ts`: equal keys have equal hashes), as a
 * relation `(h)` to select from. Give it an alias.
 */
export function stagedKeyHashes(staging: Staging): RawBuilder<unknown> {
  return sql`(SELECT h FROM ${stagingTable(staging)} AS b CROSS JOIN LATERAL unnest(b.key_hashes) AS h)`;
}

/**
 * The staged rows to write, as a relation to select from, and how to read each target column from it. A row has
 * `_seq`, `_ord`, the key texts (`stagedKeyColumn`), the typed columns, `_data` (the record's jsonb),
 * `_content_hash` (`contentHashSql`), `_raw_hash` and `_row_id` (where the row is stored: `rowAt` reads it back).
 * `withoutSuperseded` leaves out the records a later one of the same key overrides (valid once the merge has
 * decided them). A typed column the staging does not have with the same type (the table was migrated between
 * staging and merge) is computed from `_data` instead. `column` reads from the alias `x`: give it to the relation,
 * or to `rowAt`'s row, that a statement reads the columns from.
 *
 * `rowAt(id)` is the one staged row whose `_row_id` is `id` (a column of an outer relation), fetched directly: a
 * statement can then sort and join the narrow `_row_id`s and read each wide row once, at the end, instead of
 * carrying the rows through its sort. Within one statement the id is stable (nothing moves a row its snapshot sees).
 */
export async function stagedRows(
  db: Kysely<Database>,
  staging: Staging,
  { withoutSuperseded }: { readonly withoutSuperseded: boolean },
): Promise<{
  readonly relation: RawBuilder<unknown>;
  readonly rowAt: (id: RawBuilder<unknown>) => RawBuilder<unknown>;
  readonly column: (column: TypedColumn) => RawBuilder<unknown>;
}> {
  const staged = await stagingColumns(db, `${staging.tableName}_rows`);
  const filter = withoutSuperseded
    ? sql`WHERE NOT EXISTS (
        SELECT 1 FROM ${stagingTable(staging)} AS b
        WHERE b.seq = r._seq AND cardinality(b.superseded) > 0 AND r._ord = ANY (b.superseded))`
    : sql``;
  return {
    relation: sql`(SELECT r.*, r.ctid AS _row_id FROM ${stagedRowsTable(staging)} AS r ${filter})`,
    // `OFFSET 0` keeps the subquery apart, so that the planner fetches each row by its id (a TID scan per row)
    // rather than joining the whole table by hash — which would hold every wide row in memory again.
    rowAt: (id) => sql`(SELECT r.* FROM ${stagedRowsTable(staging)} AS r WHERE r.ctid = ${id} OFFSET 0)`,
    column: (c) =>
      staged.get(c.column) === formatTypes[c.type]
        ? sql.id('x', c.column)
        : typedValueSql(sql.id('x', '_data'), c, staging.features),
  };
}

/** The columns of the staging table `ingest.<table>`, with their types as `format_type` prints them. */
async function stagingColumns(db: Kysely<Database>, table: string): Promise<ReadonlyMap<string, string>> {
  const { rows } = await sql<{ name: string; type: string }>`
    SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
    WHERE attrelid = ${`ingest.${table}`}::regclass AND attnum > 0 AND NOT attisdropped`.execute(db);
  return new Map(rows.map((row) => [row.name, row.type]));
}

/** How `format_type` prints each typed column type. */
const formatTypes: Readonly<Record<TypedColumn['type'], string>> = {
  text: 'text',
  bigint: 'bigint',
  integer: 'integer',
  numeric: 'numeric',
  'double precision': 'double precision',
  boolean: 'boolean',
  timestamptz: 'timestamp with time zone',
  date: 'date',
  jsonb: 'jsonb',
};
