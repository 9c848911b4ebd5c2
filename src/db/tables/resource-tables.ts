/**
 * Where a resource lands: its table, primary key and typed columns, read from the registry the migrations fill
 * (`ingest.resource_tables`, `ingest.resource_columns`). The loader works from this description, so it carries no
 * copy of the migrations and every identifier it writes into SQL comes from here, quoted with `sql.id`.
 */
import { sql, type Kysely } from 'kysely';
import { IngestError } from '../../errors.ts';
import type { Database } from '../schema.ts';

export const typedColumnTypes = [
  'text',
  'bigint',
  'integer',
  'numeric',
  'double precision',
  'boolean',
  'timestamptz',
  'date',
  'jsonb',
] as const;
export type TypedColumnType = (typeof typedColumnTypes)[number];

/** A typed column, filled from `path` in the record when the value fits `type` (NULL and a coercion otherwise). */
export interface TypedColumn {
  readonly column: string;
  readonly path: readonly string[];
  readonly type: TypedColumnType;
}

/** One field of the primary key: the record's field and the (text) column holding it. */
export interface KeyColumn {
  readonly field: string;
  readonly column: string;
}

/**
 * What a table's PRIMARY KEY is: `record` — the record's primary key (merge and replace; every migrated seed
 * table); `position` — the load position {@link positionKeyColumns} of an append table (`append-tables.ts`), the
 * record's key then being ordinary columns.
 */
export type RowKey = 'record' | 'position';

/** The PRIMARY KEY columns of an append table, in order. */
export const positionKeyColumns = ['_load_id', '_batch_seq', '_ord'] as const;

/** The table a resource is loaded into. */
export interface ResourceTable {
  readonly source: string;
  readonly resource: string;
  readonly schema: string;
  readonly table: string;
  /** In key order; never empty for the merge disposition. */
  readonly primaryKey: readonly KeyColumn[];
  /** The typed columns other than the primary key's, in table order. */
  readonly columns: readonly TypedColumn[];
  /** What the table's PRIMARY KEY is (see {@link RowKey}). */
  readonly rowKey: RowKey;
}

/** Reads the registered table of a resource; throws a non-retryable `database` error when there is none. */
export async function readResourceTable(
  db: Kysely<Database>,
  source: string,
  resource: string,
): Promise<ResourceTable> {
  const table = await db
    .selectFrom('ingest.resource_tables')
    .selectAll()
    .where('source', '=', source)
    .where('resource', '=', resource)
    .executeTakeFirst();
  if (table === undefined) {
    throw new IngestError(
      'database',
      'RESOURCE_TABLE_MISSING',
      `No table is registered for ${source}.${resource} (ingest.resource_tables). Apply the migrations ` +
        '(`npm run migrate`) or add one for this resource.',
      { retryable: false, details: { source, resource } },
    );
  }
  const columns = await db
    .selectFrom('ingest.resource_columns')
    .select(['column_name', 'field_path', 'data_type'])
    .where('source', '=', source)
    .where('resource', '=', resource)
    .orderBy('ordinal')
    .execute();
  const keyColumns = new Set(table.primary_key_columns);
  return {
    source,
    resource,
    schema: table.table_schema,
    table: table.table_name,
    primaryKey: table.primary_key.map((field, index) => ({
      field,
      column: table.primary_key_columns[index] ?? field,
    })),
    columns: columns
      .filter((c) => !keyColumns.has(c.column_name))
      .map((c) => ({ column: c.column_name, path: c.field_path, type: asColumnType(c.data_type) })),
    rowKey: await readRowKey(db, table.table_schema, table.table_name),
  };
}

function asColumnType(type: string): TypedColumnType {
  if ((typedColumnTypes as readonly string[]).includes(type)) return type as TypedColumnType;
  throw new IngestError('database', 'RESOURCE_COLUMN_TYPE', `Unknown typed column type ${type}`, {
    retryable: false,
  });
}

/** Whether the table's PRIMARY KEY is the load position (an append table) or anything else (the record's key). */
export async function readRowKey(db: Kysely<Database>, schema: string, table: string): Promise<RowKey> {
  const { rows } = await sql<{ columns: string[] | null }>`
    SELECT array_agg(a.attname::text ORDER BY k.n) AS columns
    FROM pg_index AS i
    CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
    JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = to_regclass(format('%I.%I', ${schema}::text, ${table}::text)) AND i.indisprimary`.execute(
    db,
  );
  const columns = rows[0]?.columns ?? [];
  return columns.join() === positionKeyColumns.join() ? 'position' : 'record';
}
