/**
 * Hostile data: every case either loads losslessly or goes to `ingest.rejected_records` with its reason and
 * raw payload, and the good records of the same batch still land. The cases run against a table whose schema, table,
 * key and column names are hostile (quotes, dots, semicolons), with typed columns of every guarded type.
 */
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { mergeStaged, type MergeOutcome } from '../../src/db/merge/merge.ts';
import { readResourceTable, type ResourceTable } from '../../src/db/tables/resource-tables.ts';
import { maxBodyDepth } from '../../src/db/tables/json-depth.ts';
import { numericText } from '../../src/db/tables/key-text.ts';
import { prepareStaging } from '../../src/db/staging/prepare.ts';
import { stageRecords } from '../../src/db/staging/stage-records.ts';
import { extractAllRecords } from '../../src/http/extract/extract-records.ts';
import type { ExtractedRecord } from '../../src/shared/records.ts';
import { withDatabase } from '../helpers/database.ts';
import { extracted, startRun } from './loader-fixtures.ts';

const database = withDatabase();

const source = 'hostile_source';
const resource = 'hostile';
const schema = 'we"ird.sch;ema';
const tableName = 'ta"ble.v1; DROP TABLE ingest.loads; --';
const keyField = 'i"d.k;';
/** [column, field path, type]. */
const typedColumns = [
  ['n"big', ['big'], 'bigint'],
  ['dbl', ['dbl'], 'double precision'],
  ['num', ['num'], 'numeric'],
  ['int.4', ['int'], 'integer'],
  ['at', ['at'], 'timestamptz'],
  ['day;', ['day'], 'date'],
  ['flag', ['flag'], 'boolean'],
  ['a.b"c', ['a.b', 'c"d;'], 'text'],
] as const;

let loadCounter = 0;

beforeAll(async () => {
  const db = database.db;
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(db);
  await sql`
    CREATE TABLE ${sql.id(schema, tableName)} (
      ${sql.id(keyField)} text NOT NULL PRIMARY KEY,
      ${sql.join(typedColumns.map(([column, , type]) => sql`${sql.id(column)} ${sql.raw(type)}`))},
      data jsonb NOT NULL, _content_hash bigint NOT NULL, _raw_hash uuid, _load_id text NOT NULL,
      _first_loaded_at timestamptz NOT NULL, _changed_at timestamptz NOT NULL, _deleted_at timestamptz
    )`.execute(db);
  await db
    .insertInto('ingest.resource_tables')
    .values({
      source,
      resource,
      table_schema: schema,
      table_name: tableName,
      primary_key: sql<string[]>`${sql.val([keyField])}::text[]`,
      primary_key_columns: sql<string[]>`${sql.val([keyField])}::text[]`,
    })
    .execute();
  await db
    .insertInto('ingest.resource_columns')
    .values(
      typedColumns.map(([column, path, type], ordinal) => ({
        source,
        resource,
        column_name: column,
        field_path: sql<string[]>`${sql.val(path)}::text[]`,
        data_type: type,
        ordinal,
      })),
    )
    .execute();
});

async function hostileTable(): Promise<ResourceTable> {
  return readResourceTable(database.db, source, resource);
}

/** A record's text with the hostile key field first. */
function record(key: string, rest = ''): string {
  return `{${JSON.stringify(keyField)}:${key}${rest === '' ? '' : `,${rest}`}}`;
}

/** Records as the extractor yields them from a `{"data": [...]}` body of these texts (flags included). */
async function extractedFrom(texts: readonly string[]): Promise<ExtractedRecord[]> {
  const body = `{"data":[${texts.join(',')}]}`;
  const { records } = await extractAllRecords([new TextEncoder().encode(body)], {
    selector: 'data',
    maxDepth: maxBodyDepth,
    maxRecordBytes: 64 * 1024 * 1024,
  });
  return [...records];
}

/** Stages the batches (seq = index) in one load of the hostile table and merges. */
async function load(batches: readonly (readonly ExtractedRecord[])[]): Promise<{
  loadId: string;
  outcome: MergeOutcome;
}> {
  const loadId = `hostile-${++loadCounter}`;
  await startRun(database.db, loadId, source, resource);
  const staging = await prepareStaging(database.db, await hostileTable(), loadId);
  for (const [seq, batch] of batches.entries()) await stageRecords(database.db, staging, seq, batch);
  return { loadId, outcome: await mergeStaged(database.db, staging) };
}

async function truncate(): Promise<void> {
  await sql`TRUNCATE ${sql.id(schema, tableName)}`.execute(database.db);
}

interface StoredRow {
  key: string;
  data: string;
  typed: Record<string, string | null>;
}

async function storedRows(): Promise<Map<string, StoredRow>> {
  const { rows } = await sql<Record<string, unknown>>`
    SELECT ${sql.id(keyField)} AS key, data::text AS data,
           ${sql.join(typedColumns.map(([column]) => sql`${sql.id(column)}::text AS ${sql.id(column)}`))}
    FROM ${sql.id(schema, tableName)}`.execute(database.db);
  return new Map(
    rows.map((row) => [
      row['key'] as string,
      {
        key: row['key'] as string,
        data: row['data'] as string,
        typed: Object.fromEntries(typedColumns.map(([column]) => [column, row[column] as string | null])),
      },
    ]),
  );
}

const deep = (levels: number, inner = '1') => '['.repeat(levels) + inner + ']'.repeat(levels);
const tenMegabytes = 'x'.repeat(10 * 1024 * 1024);

/**
 * The hostile cases. `loads`: the key it lands under and what the row must hold; `rejected`: the reason code. Each
 * record text is extracted as part of one response together with all the others and two good records.
 */
const cases: readonly {
  readonly name: string;
  readonly text: string;
  readonly outcome:
    | {
        readonly loads: string;
        readonly data?: (data: string) => void;
        readonly typed?: Record<string, string | null>;
      }
    | { readonly rejected: string; readonly key?: string | null };
}[] = [
  { name: 'no primary key', text: '{"other":1}', outcome: { rejected: 'missing-primary-key', key: null } },
  {
    name: 'a null primary key',
    text: record('null'),
    outcome: { rejected: 'missing-primary-key', key: null },
  },
  { name: 'an object as primary key', text: record('{"a":1}'), outcome: { rejected: 'invalid-primary-key' } },
  { name: 'not an object', text: '[1,2]', outcome: { rejected: 'not-an-object', key: null } },
  { name: 'U+0000 in a string', text: record('"nul"', '"s":"a\\u0000b"'), outcome: { rejected: 'nul-char' } },
  {
    name: 'U+0000 in a field name',
    text: record('"nul-key"', '"a\\u0000":1'),
    outcome: { rejected: 'nul-char' },
  },
  {
    name: 'a lone high surrogate',
    text: record('"lone-high"', '"s":"\\ud800x"'),
    outcome: { rejected: 'lone-surrogate' },
  },
  {
    name: 'a lone low surrogate',
    text: record('"lone-low"', '"s":"\\udc00"'),
    outcome: { rejected: 'lone-surrogate' },
  },
  {
    name: 'a surrogate pair (loads)',
    text: record('"pair"', '"s":"\\ud83d\\ude00"'),
    outcome: { loads: 'pair', data: (data) => expect(JSON.parse(data)).toMatchObject({ s: '😀' }) },
  },
  {
    name: 'a raw control character in a string',
    text: record('"raw-control"', '"s":"a\u0001b"'),
    outcome: { rejected: 'raw-control-char' },
  },
  {
    name: 'a number beyond int64, in data and in a bigint column',
    text: record('"big-data"', '"big":12345678901234567890,"x":-98765432109876543210'),
    outcome: {
      loads: 'big-data',
      data: (data) => {
        expect(data).toContain('"big": 12345678901234567890');
        expect(data).toContain('"x": -98765432109876543210');
      },
      typed: { 'n"big': null },
    },
  },
  {
    name: 'a number beyond int32 in an integer column',
    text: record('"int-overflow"', '"int":2147483648'),
    outcome: { loads: 'int-overflow', typed: { 'int.4': null } },
  },
  {
    name: 'a number beyond double precision, in a double column',
    text: record('"huge-double"', '"dbl":1e400,"num":1e400'),
    outcome: {
      loads: 'huge-double',
      data: (data) => expect(data).toContain(`"dbl": 1${'0'.repeat(400)}`),
      typed: { dbl: null, num: `1${'0'.repeat(400)}` },
    },
  },
  {
    name: 'more digits than a double holds',
    text: record(
      '"long-decimal"',
      '"dbl":0.1000000000000000055511151231257827,"num":0.1000000000000000055511151231257827',
    ),
    outcome: {
      loads: 'long-decimal',
      data: (data) => expect(data).toContain('"num": 0.1000000000000000055511151231257827'),
      typed: { num: '0.1000000000000000055511151231257827' },
    },
  },
  {
    name: 'a number beyond numeric range (Postgres refuses the record)',
    text: record('"beyond-numeric"', '"num":1e200000'),
    outcome: { rejected: 'invalid-json' },
  },
  {
    name: 'malformed dates',
    text: record('"bad-dates"', '"at":"2024-02-30T25:61:00Z","day":"0000-00-00"'),
    outcome: {
      loads: 'bad-dates',
      data: (data) => expect(data).toContain('"at": "2024-02-30T25:61:00Z"'),
      typed: { at: null, 'day;': null },
    },
  },
  {
    name: 'a date without a zone (read as UTC) and a valid date',
    text: record('"good-dates"', '"at":"2024-07-19 10:21:02","day":"2024-02-29","flag":true'),
    outcome: {
      loads: 'good-dates',
      typed: { at: '2024-07-19 10:21:02+00', 'day;': '2024-02-29', flag: 'true' },
    },
  },
  {
    name: 'a string where a boolean is typed',
    text: record('"flag-string"', '"flag":"yes"'),
    outcome: { loads: 'flag-string', typed: { flag: null } },
  },
  {
    name: 'nesting at the loader limit (10 000 levels)',
    text: record('"deep-ok"', `"a":${deep(9_999)}`),
    outcome: { loads: 'deep-ok', data: (data) => expect(data).toContain(deep(9_997)) },
  },
  {
    name: 'nesting one level beyond the loader limit',
    text: record('"too-deep"', `"a":${deep(10_000)}`),
    outcome: { rejected: 'too-deep' },
  },
  {
    name: "nesting beyond Postgres' own limit (20 000 levels, refused with 54001 otherwise)",
    text: record('"too-deep-for-postgres"', `"a":${deep(20_000)}`),
    outcome: { rejected: 'too-deep' },
  },
  {
    name: 'a 10 MB string',
    text: record('"ten-mb"', `"s":"${tenMegabytes}"`),
    outcome: {
      loads: 'ten-mb',
      data: (data) =>
        expect(data.length).toBe(tenMegabytes.length + `{"s": "", "i\\"d.k;": "ten-mb"}`.length),
    },
  },
  {
    name: 'a big integer primary key',
    text: record('12345678901234567890'),
    outcome: { loads: '12345678901234567890' },
  },
  {
    name: 'the next big integer primary key (must not collapse with the previous one)',
    text: record('12345678901234567891'),
    outcome: { loads: '12345678901234567891' },
  },
  { name: 'a decimal primary key keeps its scale', text: record('1.0'), outcome: { loads: '1.0' } },
  { name: 'an exponent primary key', text: record('1e3'), outcome: { loads: '1000' } },
  { name: 'a negative zero primary key', text: record('-0'), outcome: { loads: '0' } },
  { name: 'a boolean primary key', text: record('true'), outcome: { loads: 'true' } },
  {
    name: 'a primary key with quotes, dots and semicolons',
    text: record(JSON.stringify(`a"b.c; DROP TABLE x; --`)),
    outcome: { loads: `a"b.c; DROP TABLE x; --` },
  },
  {
    name: 'a numeric primary key too long to key on',
    text: record('1e5000'),
    outcome: { rejected: 'invalid-primary-key' },
  },
  {
    name: 'a duplicated key field (the last one counts, as in jsonb)',
    text: `{${JSON.stringify(keyField)}:7,"z":1,${JSON.stringify(keyField)}:8}`,
    outcome: { loads: '8' },
  },
];

describe('hostile records', () => {
  it('each loads losslessly or is rejected with its reason and raw payload; the good records land', async () => {
    await truncate();
    const good = [record('"good-1"', '"big":1,"dbl":1.5'), record('"good-2"')];
    const extractedRecords = await extractedFrom([good[0]!, ...cases.map((c) => c.text), good[1]!]);
    const batch = extractedRecords;
    const ordered = [undefined, ...cases, undefined];
    const { loadId, outcome } = await load([batch]);

    const rows = await storedRows();
    const rejected = await database.db
      .selectFrom('ingest.rejected_records')
      .select(['ordinal', 'reason_code', 'record_key', 'payload'])
      .where('load_id', '=', loadId)
      .execute();
    const rejectedByOrdinal = new Map(rejected.map((r) => [r.ordinal, r]));
    expect(rows.has('good-1') && rows.has('good-2')).toBe(true);
    for (const [ordinal, hostile] of ordered.entries()) {
      if (hostile === undefined) continue;
      const got = rejectedByOrdinal.get(ordinal);
      if ('rejected' in hostile.outcome) {
        expect(got?.reason_code, hostile.name).toBe(hostile.outcome.rejected);
        // The raw payload as sent (U+0000 written as its escape, which these texts already use).
        expect(got?.payload, hostile.name).toBe(hostile.text);
        if (hostile.outcome.key !== undefined)
          expect(got?.record_key, hostile.name).toBe(hostile.outcome.key);
      } else {
        expect(got, hostile.name).toBeUndefined();
        const row = rows.get(hostile.outcome.loads);
        expect(row, hostile.name).toBeDefined();
        hostile.outcome.data?.(row!.data);
        if (hostile.outcome.typed) expect(row!.typed, hostile.name).toMatchObject(hostile.outcome.typed);
      }
    }
    const rejectedCount = cases.filter((c) => 'rejected' in c.outcome).length;
    const loadedCount = cases.length - rejectedCount + good.length;
    expect(outcome).toMatchObject({ fetched: loadedCount, distinct: loadedCount, rejected: rejectedCount });
    expect(rows.size).toBe(loadedCount);
    expect(outcome.coercions).toEqual({ 'n"big': 1, 'int.4': 1, dbl: 1, at: 1, 'day;': 1, flag: 1 });
  });

  it('keys a number and the same digits as a string to the same text, last write wins (within and across runs)', async () => {
    await truncate();
    const within = await load([
      [extracted(JSON.parse(record('5')), record('5'))],
      await extractedFrom([record('"5"')]),
    ]);
    expect(within.outcome).toMatchObject({ fetched: 2, distinct: 1, inserted: 1 });
    expect(JSON.parse([...(await storedRows()).values()][0]!.data)).toEqual({ [keyField]: '5' });
    const across = await load([await extractedFrom([record('5')])]);
    expect(across.outcome).toMatchObject({ fetched: 1, distinct: 1, updated: 1, inserted: 0 });
    const rows = await storedRows();
    expect([...rows.keys()]).toEqual(['5']);
    expect(JSON.parse(rows.get('5')!.data)).toEqual({ [keyField]: 5 });
  });

  it('keeps two big integer ids apart and agrees with ->> on every number spelling', async () => {
    await truncate();
    const texts = [
      '12345678901234567890',
      '12345678901234567891',
      '1.0',
      '1',
      '1e3',
      '1E+3',
      '1.50e1',
      '-0',
      '-0.0',
      '0.000',
      '1e-3',
      '100e-2',
      '-12.3400',
      '9007199254740993',
    ];
    const { outcome } = await load([await extractedFrom(texts.map((t) => record(t)))]);
    const { rows } = await sql<{ key: string; read: string }>`
      SELECT ${sql.id(keyField)} AS key, data ->> ${keyField} AS read FROM ${sql.id(schema, tableName)}`.execute(
      database.db,
    );
    for (const row of rows) expect(row.key).toBe(row.read);
    // 1e3 and 1E+3 are both 1000; 1.50e1 is 15.0; -0 is 0; -0.0 is 0.0.
    expect(rows.map((r) => r.key).sort()).toEqual(
      [
        '0',
        '0.0',
        '0.000',
        '0.001',
        '1',
        '1.0',
        '1.00',
        '1000',
        '12345678901234567890',
        '12345678901234567891',
        '15.0',
        '-12.3400',
        '9007199254740993',
      ].sort(),
    );
    expect(outcome).toMatchObject({
      fetched: texts.length,
      distinct: texts.length - 1,
      inserted: texts.length - 1,
    });
  });

  it('finds an unchanged numeric-keyed record by its raw text on the next run (rewrites nothing)', async () => {
    await truncate();
    const batch = () => extractedFrom([record('12345678901234567890', '"v":1'), record('1.0', '"v":2')]);
    await load([await batch()]);
    const again = await load([await batch()]);
    expect(again.outcome).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
  });

  it('prints every number spelling as Postgres ->> does (2 000 random tokens)', async () => {
    let state = 0x2545f491;
    const random = (n: number) => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      return state % n;
    };
    const digits = (min: number, max: number) => {
      let out = '';
      for (let i = min + random(max - min + 1); i > 0; i -= 1) out += String(random(10));
      return out;
    };
    const tokens = Array.from({ length: 2_000 }, () => {
      const whole = random(4) === 0 ? '0' : String(1 + random(9)) + digits(0, 25);
      const fraction = random(2) === 0 ? '' : `.${digits(1, 12)}`;
      const exponent =
        random(3) === 0 ? `${random(2) === 0 ? 'e' : 'E'}${['', '+', '-'][random(3)]}${random(40)}` : '';
      return `${random(3) === 0 ? '-' : ''}${whole}${fraction}${exponent}`;
    });
    const { rows } = await sql<{ token: string; read: string }>`
      SELECT t AS token, ('{"k":' || t || '}')::jsonb ->> 'k' AS read
      FROM unnest(${sql.val(tokens)}::text[]) AS t`.execute(database.db);
    for (const row of rows) expect(numericText(row.token), row.token).toBe(row.read);
  });
});

describe('schema drift', () => {
  it('reports the top-level fields no typed column or key covers, with the records that had them', async () => {
    await truncate();
    const { loadId, outcome } = await load([
      await extractedFrom([
        record('"d1"', '"big":1,"a.b":{"x":1},"new.field":1'),
        record('"d2"', '"new.field":2,"other":null'),
      ]),
      await extractedFrom([record('"d3"', '"other":3,"dbl":1')]),
    ]);
    expect(outcome.drift).toEqual({ 'new.field': 2, other: 2 });
    const [run] = await database.db
      .selectFrom('ingest.resource_runs')
      .select('drift')
      .where('load_id', '=', loadId)
      .execute();
    expect(run?.drift).toEqual({ 'new.field': 2, other: 2 });
    // The unknown fields are kept in data.
    expect(JSON.parse((await storedRows()).get('d1')!.data)).toMatchObject({ 'new.field': 1 });
  });

  it('is empty when every field is known', async () => {
    await truncate();
    const { outcome } = await load([await extractedFrom([record('"k1"', '"big":1,"flag":true')])]);
    expect(outcome.drift).toEqual({});
  });
});
