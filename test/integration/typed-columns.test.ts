/**
 * The guarded typed columns, on the real server: the two SQL forms `typedValueSql` writes (SQL/JSON
 * `JSON_VALUE … NULL ON ERROR` on PostgreSQL 17+, `pg_input_is_valid` + cast before) give the same value — for dates
 * and timestamps as the form they replaced (an ISO regex, a JSON type test, `pg_input_is_valid` and the cast), for
 * numbers as each other — for every kind of value.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { TypedColumn } from '../../src/db/tables/resource-tables.ts';
import { serverFeatures, typedValueSql } from '../../src/db/tables/typed-columns.ts';
import { withDatabase } from '../helpers/database.ts';

const database = withDatabase();

const values: readonly unknown[] = [
  '2024-07-19T10:21:02.000Z',
  '2024-07-19T10:21:02.123456+05:30',
  '2024-07-19 10:21:02',
  '2024-07-19',
  '2024-07-19T10:21',
  '2024-07-19 BC',
  '2024-02-30',
  '2024-13-01',
  '2024-07-19T25:00:00Z',
  '294277-01-01',
  '0000-01-01',
  '9999-12-31T23:59:59.999999Z',
  '2024-7-19',
  ' 2024-07-19',
  '2024-07-19x',
  '2024-07-19 garbage',
  '２０２４-07-19',
  '12/31/2024',
  'now',
  'epoch',
  'infinity',
  '',
  20240719,
  -2024,
  1.5,
  true,
  null,
  ['2024-07-19'],
  { at: '2024-07-19' },
];

/** What the typed columns computed before this form: the oracle. */
function previousForm(column: TypedColumn) {
  const text = sql`(v.d #>> ${sql.val(column.path)}::text[])`;
  const value = sql`(v.d #> ${sql.val(column.path)}::text[])`;
  return sql`CASE WHEN ${text} ~ '^\\d{4}-\\d{2}-\\d{2}' AND jsonb_typeof(${value}) = 'string'
    AND ingest.input_is_valid(${text}, ${column.type}) THEN (${text})::${sql.raw(column.type)} END`;
}

describe('guarded typed columns', () => {
  for (const type of ['timestamptz', 'date'] as const) {
    for (const path of [['at'], ['when', 'at']]) {
      it(`${type} at ${path.join('.')}: both forms agree with the previous one on ${values.length} values`, async () => {
        const column: TypedColumn = { column: 'at', path, type };
        const record = (value: unknown) =>
          path.length === 1 ? { [path[0] as string]: value } : { when: { at: value }, other: 1 };
        const { rows } = await database.db.transaction().execute(async (trx) => {
          await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
          return sql<{ json: string; previous: string | null; cast: string | null; sqlJson: string | null }>`
            SELECT v.d::text AS json, (${previousForm(column)})::text AS previous,
                   (${typedValueSql(sql`v.d`, column, { jsonValue: false })})::text AS cast,
                   (${typedValueSql(sql`v.d`, column, { jsonValue: true })})::text AS "sqlJson"
            FROM jsonb_array_elements(${JSON.stringify(values.map(record))}::jsonb) AS v(d)`.execute(trx);
        });
        expect(rows).toHaveLength(values.length);
        for (const row of rows) {
          expect({ json: row.json, cast: row.cast }).toEqual({ json: row.json, cast: row.previous });
          expect({ json: row.json, sqlJson: row.sqlJson }).toEqual({ json: row.json, sqlJson: row.previous });
        }
        // The test has teeth: some values fit, some do not.
        expect(rows.filter((r) => r.previous !== null).length).toBeGreaterThanOrEqual(6);
        expect(rows.filter((r) => r.previous === null).length).toBeGreaterThanOrEqual(15);
      });
    }
  }

  // Raw JSON texts, so that big and long numbers reach jsonb exactly.
  const numbers: readonly string[] = [
    '1528',
    '-7',
    '0',
    '1528.5',
    '1528.0',
    '1e3',
    '1.5e-3',
    '2147483647',
    '2147483648',
    '9223372036854775807',
    '9223372036854775808',
    '12345678901234567890',
    '0.1000000000000000055511151231257827',
    '"12345678901234567890"',
    '"0.1000000000000000055511151231257827"',
    '"1528"',
    '" 12 "',
    '"0x10"',
    '"1_000"',
    '"NaN"',
    '"Infinity"',
    '"-inf"',
    '"1e5"',
    '""',
    '"twelve"',
    'true',
    'false',
    'null',
    '[1]',
    '{"n":1}',
  ];
  for (const type of ['bigint', 'integer', 'numeric', 'double precision'] as const) {
    it(`${type}: SQL/JSON and the cast agree on ${numbers.length} values`, async () => {
      for (const path of [['n'], ['at', 'n']]) {
        const column: TypedColumn = { column: 'n', path, type };
        const texts = numbers.map((value) =>
          path.length === 1 ? `{"n":${value}}` : `{"at":{"n":${value}},"other":1}`,
        );
        const { rows } = await sql<{ json: string; cast: string | null; sqlJson: string | null }>`
          SELECT v.d::text AS json,
                 (${typedValueSql(sql`v.d`, column, { jsonValue: false })})::text AS cast,
                 (${typedValueSql(sql`v.d`, column, { jsonValue: true })})::text AS "sqlJson"
          FROM unnest(${texts}::text[]) AS t(text), LATERAL (SELECT t.text::jsonb AS d) AS v`.execute(
          database.db,
        );
        expect(rows).toHaveLength(texts.length);
        for (const row of rows) {
          expect({ json: row.json, sqlJson: row.sqlJson }).toEqual({ json: row.json, sqlJson: row.cast });
        }
        expect(rows.filter((r) => r.cast !== null).length).toBeGreaterThanOrEqual(5);
        expect(rows.filter((r) => r.cast === null).length).toBeGreaterThanOrEqual(6);
      }
    });
  }

  it('uses SQL/JSON from PostgreSQL 17 on', async () => {
    expect(serverFeatures(160004)).toEqual({ jsonValue: false });
    expect(serverFeatures(170010)).toEqual({ jsonValue: true });
    const { rows } = await sql<{ version: number }>`
      SELECT current_setting('server_version_num')::int AS version`.execute(database.db);
    expect(serverFeatures(rows[0]?.version ?? 0).jsonValue).toBe((rows[0]?.version ?? 0) >= 170000);
  });
});
