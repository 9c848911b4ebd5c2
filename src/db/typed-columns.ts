/**
 * Typed columns from the record's jsonb, in SQL, guarded so that a value that does not fit becomes NULL instead of
 * aborting the statement (the raw value stays in `data`), and the matching "was coerced" test that staging counts
 * per column. A `text` column takes any value: a string unquoted, anything else as its JSON text (never coerced).
 */
import { sql, type RawBuilder } from 'kysely';
import type { TypedColumn, TypedColumnType } from './resource-tables.ts';

/** The jsonb value at the column's path in `record`. */
function valueAt(record: RawBuilder<unknown>, path: readonly string[]): RawBuilder<unknown> {
  return path.length === 1 ? sql`(${record} -> ${path[0]})` : sql`(${record} #> ${sql.val(path)}::text[])`;
}

/** The same value as text (a JSON string unquoted, a number as written). */
function textAt(record: RawBuilder<unknown>, path: readonly string[]): RawBuilder<string> {
  return path.length === 1
    ? sql<string>`(${record} ->> ${path[0]})`
    : sql<string>`(${record} #>> ${sql.val(path)}::text[])`;
}

const numericTypes: ReadonlySet<TypedColumnType> = new Set([
  'bigint',
  'integer',
  'numeric',
  'double precision',
]);

/** True for columns whose cast can fail (everything but `text`): the ones with a coercion count. */
export function isGuarded(column: TypedColumn): boolean {
  return column.type !== 'text';
}

/** SQL for the column's value computed from `record` (a jsonb expression): NULL when absent, null or unfit. */
export function typedValueSql(record: RawBuilder<unknown>, column: TypedColumn): RawBuilder<unknown> {
  const text = textAt(record, column.path);
  if (column.type === 'text') return text;
  const value = valueAt(record, column.path);
  const type = sql.raw(column.type);
  if (column.type === 'jsonb') return sql`nullif(${value}, 'null'::jsonb)`;
  if (column.type === 'boolean') {
    return sql`CASE WHEN jsonb_typeof(${value}) = 'boolean' THEN (${value})::boolean END`;
  }
  if (numericTypes.has(column.type)) {
    return sql`CASE WHEN jsonb_typeof(${value}) IN ('number', 'string')
      AND ingest.input_is_valid(${text}, ${column.type}) THEN (${text})::${type} END`;
  }
  // Dates and timestamps: ISO-8601 only (Postgres would also read 'now', 'epoch', '12/31/2024' and friends).
  return sql`CASE WHEN ${text} ~ '^\\d{4}-\\d{2}-\\d{2}' AND jsonb_typeof(${value}) = 'string'
    AND ingest.input_is_valid(${text}, ${column.type}) THEN (${text})::${type} END`;
}

/**
 * True when the staged row's column is NULL although the record has a non-null value there: a coercion.
 * `row` is the alias of the written row (its `data` and the typed column), e.g. in a RETURNING list.
 */
export function coercedSql(row: string, column: TypedColumn): RawBuilder<boolean> {
  const value = valueAt(sql.id(row, 'data'), column.path);
  return sql<boolean>`(${sql.id(row, column.column)} IS NULL AND jsonb_typeof(${value}) <> 'null')`;
}
