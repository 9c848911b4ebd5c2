/**
 * The rows of the bad-input matrix about what records hold (`bad-inputs.cases.ts` has the rows about responses and
 * takes these after its own): keys missing, repeated or of the wrong type, NULs and lone surrogates, numbers beyond
 * int64, double and numeric, invalid dates, huge and deeply nested values. Most load with some records rejected or
 * some values coerced to NULL in a typed column; docs/extraction.md, "Bad inputs and what happens", lists them too.
 */
import { sql, type Kysely } from 'kysely';
import { expect } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { dataBody, replies } from '../helpers/hostile-api.ts';
import type { Case } from './bad-inputs.cases.ts';

const tenMegabytes = 10 * 1024 * 1024;
const cesuSurrogate = Buffer.from([0xed, 0xa0, 0x80]); // U+D800 encoded as if it were a character: not UTF-8

/** `[[[…]]]`, `depth` levels deep. */
export const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** The rows. */
export const recordCases: readonly Case[] = [
  {
    title: 'a 10 MB string in a record',
    resource: 'string_10mb',
    reply: replies.body(dataBody([`{"id":"1","text":"${'a'.repeat(tenMegabytes)}"}`, '{"id":"2"}'])),
    outcome: { loaded: ['1', '2'] },
    check: async ({ db }) => {
      const { rows } = await sql<{ n: number }>`
        SELECT length(data->>'text') AS n FROM hostile.string_10mb WHERE id = '1'`.execute(db);
      expect(rows[0]?.n).toBe(tenMegabytes);
    },
  },
  {
    title: 'a record nested 10 000 levels deep',
    resource: 'nested_record',
    reply: replies.body(dataBody([`{"id":"1","deep":${nested(10_000)}}`, '{"id":"2"}'])),
    outcome: { loaded: ['2'], rejected: { 'too-deep': 1 } },
  },
  {
    title: 'null and missing primary keys',
    resource: 'null_keys',
    reply: replies.body(dataBody(['{"id":"1"}', '{"id":null}', '{"name":"no id"}'])),
    outcome: { loaded: ['1'], rejected: { 'missing-primary-key': 2 } },
  },
  {
    title: 'a primary key twice in one response',
    resource: 'duplicate_keys',
    reply: replies.body(dataBody(['{"id":"1","v":"first"}', '{"id":"2"}', '{"id":"1","v":"last"}'])),
    outcome: { loaded: ['1', '2'] },
    check: async ({ db }) => {
      const { rows } = await sql<{ v: string }>`
        SELECT data->>'v' AS v FROM hostile.duplicate_keys WHERE id = '1'`.execute(db);
      expect(rows).toEqual([{ v: 'last' }]);
    },
  },
  {
    title: 'a primary key changing type (5, "5", true, an object, a list)',
    resource: 'key_changes_type',
    reply: replies.body(
      dataBody([
        '{"id":5,"v":"number"}',
        '{"id":"5","v":"string"}',
        '{"id":true}',
        '{"id":{"n":5}}',
        '{"id":[5]}',
      ]),
    ),
    outcome: { loaded: ['5', 'true'], rejected: { 'invalid-primary-key': 2 } },
    check: async ({ db }) => {
      const { rows } = await sql<{ v: string }>`
        SELECT data->>'v' AS v FROM hostile.key_changes_type WHERE id = '5'`.execute(db);
      expect(rows).toEqual([{ v: 'string' }]); // 5 and "5" are one key: the last record wins
    },
  },
  {
    title: 'a raw NUL byte inside a string',
    resource: 'raw_nul',
    reply: replies.body(dataBody(['{"id":"1","s":"a\u0000b"}', '{"id":"2"}'])),
    outcome: { loaded: ['2'], rejected: { 'nul-char': 1 } },
  },
  {
    title: 'an escaped \\u0000 inside a string',
    resource: 'escaped_nul',
    reply: replies.body(dataBody(['{"id":"1","s":"a\\u0000b"}', '{"id":"2"}'])),
    outcome: { loaded: ['2'], rejected: { 'nul-char': 1 } },
  },
  {
    title: 'lone surrogate escapes (\\ud800, \\udc00)',
    resource: 'lone_surrogate_escape',
    reply: replies.body(
      dataBody(['{"id":"1","s":"\\ud800 alone"}', '{"id":"2","s":"\\udc00"}', '{"id":"3"}']),
    ),
    outcome: { loaded: ['3'], rejected: { 'lone-surrogate': 2 } },
  },
  {
    title: 'a lone surrogate as raw bytes (not UTF-8)',
    resource: 'lone_surrogate_bytes',
    reply: replies.body(
      Buffer.concat([Buffer.from('{"data":[{"id":"1","s":"'), cesuSurrogate, Buffer.from('"}]}')]),
    ),
    outcome: { failed: 'INVALID_UTF8', category: 'response-shape', retried: false },
  },
  {
    title: 'integers beyond int64 (as keys and values)',
    resource: 'beyond_int64',
    typedTable: true,
    reply: replies.body(
      dataBody([
        '{"id":12345678901234567890,"count":12345678901234567890}',
        '{"id":12345678901234567891,"count":-98765432109876543210}',
        '{"id":"3","count":42}',
      ]),
    ),
    outcome: { loaded: ['12345678901234567890', '12345678901234567891', '3'] },
    check: async ({ db, loadId }) => {
      const { rows } = await sql<{ id: string; count: string | null; raw: string }>`
        SELECT id, count::text AS count, data->>'count' AS raw FROM hostile.beyond_int64 ORDER BY id`.execute(
        db,
      );
      expect(rows).toEqual([
        { id: '12345678901234567890', count: null, raw: '12345678901234567890' },
        { id: '12345678901234567891', count: null, raw: '-98765432109876543210' },
        { id: '3', count: '42', raw: '42' },
      ]);
      expect(await coercions(db, loadId, 'beyond_int64')).toEqual({ count: 2 });
    },
  },
  {
    title: 'numbers beyond double (1e400, long decimals) and beyond numeric (1e999999)',
    resource: 'beyond_double',
    typedTable: true,
    reply: replies.body(
      dataBody([
        '{"id":"1","ratio":1e400}',
        '{"id":"2","ratio":0.1000000000000000055511151231257827}',
        '{"id":"3","ratio":1e999999}',
        '{"id":"4","ratio":0.5}',
      ]),
    ),
    outcome: { loaded: ['1', '2', '4'], rejected: { 'invalid-json': 1 } },
    check: async ({ db, loadId }) => {
      const { rows } = await sql<{ id: string; ratio: number | null; exact: boolean }>`
        SELECT id, ratio, data->'ratio' = ANY (ARRAY['1e400', '0.1000000000000000055511151231257827', '0.5']::jsonb[])
          AS exact
        FROM hostile.beyond_double ORDER BY id`.execute(db);
      expect(rows).toEqual([
        { id: '1', ratio: null, exact: true },
        { id: '2', ratio: 0.1, exact: true },
        { id: '4', ratio: 0.5, exact: true },
      ]);
      expect(await coercions(db, loadId, 'beyond_double')).toEqual({ ratio: 1 });
    },
  },
  {
    title: 'invalid dates (2024-02-30T25:61:00Z, "not a date")',
    resource: 'invalid_dates',
    typedTable: true,
    reply: replies.body(
      dataBody([
        '{"id":"1","created_at":"2024-02-30T25:61:00Z"}',
        '{"id":"2","created_at":"not a date"}',
        '{"id":"3","created_at":"2024-02-29T12:00:00Z"}',
      ]),
    ),
    outcome: { loaded: ['1', '2', '3'] },
    check: async ({ db, loadId }) => {
      const { rows } = await sql<{ id: string; created_at: Date | null; raw: string }>`
        SELECT id, created_at, data->>'created_at' AS raw FROM hostile.invalid_dates ORDER BY id`.execute(db);
      expect(rows.map((r) => [r.id, r.created_at?.toISOString() ?? null, r.raw])).toEqual([
        ['1', null, '2024-02-30T25:61:00Z'],
        ['2', null, 'not a date'],
        ['3', '2024-02-29T12:00:00.000Z', '2024-02-29T12:00:00Z'],
      ]);
      expect(await coercions(db, loadId, 'invalid_dates')).toEqual({ created_at: 2 });
    },
  },
];

/** A resource run's coercions (typed column → values that did not fit it). */
async function coercions(
  db: Kysely<Database>,
  loadId: string,
  resource: string,
): Promise<Record<string, number>> {
  const row = await db
    .selectFrom('ingest.resource_runs')
    .select('coercions')
    .where('load_id', '=', loadId)
    .where('resource', '=', resource)
    .executeTakeFirstOrThrow();
  return row.coercions;
}
