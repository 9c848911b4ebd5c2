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

/**
 * What the server offers typed columns. `jsonValue`: SQL/JSON `JSON_VALUE(… RETURNING … NULL ON ERROR)`
 * (PostgreSQL 17+), which reads a number, date or timestamp with one soft-error parse where `pg_input_is_valid`
 * and the cast parse it twice (docs/loading.md). Both forms give the same
 * values (`typed-columns.test.ts`).
 */
export interface ServerFeatures {
  readonly jsonValue: boolean;
}

/** The features of a server whose `server_version_num` is `version`. */
export function serverFeatures(version: number): ServerFeatures {
  return { jsonValue: version >= 170000 };
}

/** A jsonpath (strict) to `path`, each step a quoted member name. */
function jsonPath(path: readonly string[]): string {
  return `strict $${path.map((step) => `.${JSON.stringify(step)}`).join('')}`;
}

/** SQL for the column's value computed from `record` (a jsonb expression): NULL when absent, null or unfit. */
export function typedValueSql(
  record: RawBuilder<unknown>,
  column: TypedColumn,
  features: ServerFeatures = { jsonValue: false },
): RawBuilder<unknown> {
  const text = textAt(record, column.path);
  if (column.type === 'text') return text;
  const value = valueAt(record, column.path);
  const type = sql.raw(column.type);
  if (column.type === 'jsonb') return sql`nullif(${value}, 'null'::jsonb)`;
  if (column.type === 'boolean') {
    return sql`CASE WHEN jsonb_typeof(${value}) = 'boolean' THEN (${value})::boolean END`;
  }
  if (numericTypes.has(column.type)) {
    // A JSON number or string whose text the type reads. SQL/JSON converts the item through the type's input
    // function (1528.5 → NULL for bigint, never rounded; "1528" → 1528), as the cast of its text does, and
    // refuses booleans, arrays and objects: the same values in one path lookup instead of three and two parses.
    if (features.jsonValue) {
      return sql`JSON_VALUE(${record}, ${jsonPath(column.path)}::jsonpath RETURNING ${type} NULL ON ERROR)`;
    }
    return sql`CASE WHEN jsonb_typeof(${value}) IN ('number', 'string')
      AND ingest.input_is_valid(${text}, ${column.type}) THEN (${text})::${type} END`;
  }
  // Dates and timestamps: ISO-8601 only (Postgres would also read 'now', 'epoch', '12/31/2024' and friends): the
  // text starts with digits as `dddd-dd-dd` — exactly `^[0-9]{4}-[0-9]{2}-[0-9]{2}`, and cheaper than the regex.
  // Only a JSON string can start so (a number, boolean, object or array cannot), so there is no type test.
  const iso = sql`translate(left(${text}, 10), '123456789', '000000000') = '0000-00-00'`;
  if (features.jsonValue) {
    return sql`CASE WHEN ${iso} THEN JSON_VALUE(${record}, ${jsonPath(column.path)}::jsonpath RETURNING ${type} NULL ON ERROR) END`;
  }
  return sql`CASE WHEN ${iso} AND ingest.input_is_valid(${text}, ${column.type}) THEN (${text})::${type} END`;
}

/**
 * True when the staged row's column is NULL although the record has a non-null value there: a coercion.
 * `row` is the alias of the written row (its `data` — or the column named `data` — and the typed column), e.g. in a
 * RETURNING list.
 */
export function coercedSql(row: string, column: TypedColumn, data = 'data'): RawBuilder<boolean> {
  const value = valueAt(sql.id(row, data), column.path);
  return sql<boolean>`(${sql.id(row, column.column)} IS NULL AND jsonb_typeof(${value}) <> 'null')`;
}
