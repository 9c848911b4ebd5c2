import { sql, type RawBuilder } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ensureResourceTable } from '../../src/db/tables/auto-tables.ts';
import { mergeStaged } from '../../src/db/merge/merge.ts';
import { readResourceTable, type ResourceTable } from '../../src/db/tables/resource-tables.ts';
import { prepareStaging } from '../../src/db/staging/prepare.ts';
import {
  discardStagedFrom,
  stagedRowsTable,
  readStagingState,
  stagingTable,
  stagingTableName,
} from '../../src/db/staging/registry.ts';
import { batchSeq, stageRecords } from '../../src/db/staging/stage-records.ts';
import { stagedKeys } from '../../src/db/staging/staged-reads.ts';
import { withDatabase } from '../helpers/database.ts';
import { callRecord, currentTxid, extracted, rowsWrittenSince, startRun } from './loader-fixtures.ts';

const database = withDatabase();
const calls = 'communications.user_call_records';
let loadCounter = 0;

async function callRecordsTable(): Promise<ResourceTable> {
  return readResourceTable(database.db, 'communications', 'user_call_records');
}

/** One load of the given batches (seq = index) into user_call_records; returns the merge outcome. */
async function load(batches: readonly (readonly Record<string, unknown>[])[]) {
  const loadId = `load-${++loadCounter}`;
  await startRun(database.db, loadId, 'communications', 'user_call_records');
  const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
  for (const [seq, batch] of batches.entries()) {
    await stageRecords(
      database.db,
      staging,
      seq,
      batch.map((r) => extracted(r)),
    );
  }
  return { loadId, outcome: await mergeStaged(database.db, staging) };
}

/** An emptied user_call_records and the prepared staging of a new load `loadId` into it, with a duplicate key. */
async function stagedWithDuplicate(loadId: string, prefix: string, duration: number) {
  await sql`TRUNCATE communications.user_call_records`.execute(database.db);
  await startRun(database.db, loadId, 'communications', 'user_call_records');
  const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
  await stageRecords(database.db, staging, 0, [
    extracted(callRecord(`${prefix}1`)),
    extracted(callRecord(`${prefix}2`)),
  ]);
  await stageRecords(database.db, staging, 1, [extracted(callRecord(`${prefix}1`, { duration }))]);
  return staging;
}

/** The counts of a load into an empty table: every distinct key inserted. */
function firstLoad(fetched: number, distinct: number) {
  return { fetched, distinct, inserted: distinct, updated: 0, unchanged: 0 };
}

async function rows() {
  const { rows } = await sql<Record<string, unknown>>`
    SELECT * FROM communications.user_call_records ORDER BY id`.execute(database.db);
  return rows;
}

describe('the resource tables', () => {
  it('are registered with a primary key and typed columns, read by the loader', async () => {
    const table = await callRecordsTable();
    expect(table.schema).toBe('communications');
    expect(table.primaryKey).toEqual([{ field: 'id', column: 'id' }]);
    expect(table.columns).toContainEqual({ column: 'start_time', path: ['startTime'], type: 'timestamptz' });
    expect(table.columns).toContainEqual({
      column: 'from__phone_number',
      path: ['from', 'phoneNumber'],
      type: 'text',
    });
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM ingest.resource_tables`.execute(database.db);
    expect(Number(rows[0]?.n)).toBe(14);
  });
});

describe('stage and merge', () => {
  it('inserts new rows with typed columns, the raw record, hash and load metadata', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    const { loadId, outcome } = await load([[callRecord('a'), callRecord('b')], [callRecord('c')]]);
    expect(outcome).toMatchObject({
      fetched: 3,
      distinct: 3,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      rejected: 0,
    });
    const [a] = await rows();
    expect(a).toMatchObject({
      id: 'a',
      session_id: 's-a',
      duration: '61',
      from__name: 'Ada',
      to__location: 'Austin, TX',
      message__id: null,
      _load_id: loadId,
      _deleted_at: null,
    });
    expect(a?.['start_time']).toEqual(new Date('2024-07-19T10:21:02.000Z'));
    expect(a?.['data']).toEqual(callRecord('a'));
    expect(a?.['_content_hash']).toMatch(/^-?\d+$/);
  });

  it('rewrites no row for an unchanged re-load, even with keys in another order', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('a'), callRecord('b')]]);
    const since = await currentTxid(database.db);
    const reordered = Object.fromEntries(Object.entries(callRecord('a')).reverse());
    const { outcome } = await load([[reordered, callRecord('b')]]);
    expect(outcome).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(0);
  });

  it('does not send a record whose raw text is the stored one (only its key is staged)', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('a'), callRecord('b')]]);
    await startRun(database.db, 'markers', 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), 'markers');
    const reordered = Object.fromEntries(Object.entries(callRecord('b')).reverse());
    await stageRecords(database.db, staging, 0, [extracted(callRecord('a')), extracted(reordered)]);
    const { rows } = await sql<{ id: string; unchanged: boolean }>`
      SELECT id, unchanged FROM ${stagedKeys(staging)} AS k ORDER BY id`.execute(database.db);
    // `a` is byte-identical: only its key is staged; `b` has another key order: sent whole, and the merge finds it
    // unchanged by its canonical hash.
    expect(rows).toEqual([
      { id: 'a', unchanged: true },
      { id: 'b', unchanged: false },
    ]);
    const shipped = await sql<{ ord: number; key: string }>`
      SELECT _ord AS ord, _key_0 AS key FROM ${stagedRowsTable(staging)}`.execute(database.db);
    expect(shipped.rows).toEqual([{ ord: 1, key: 'b' }]);
    expect(await mergeStaged(database.db, staging)).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
  });

  it.each([
    ['encoded from their texts', false],
    ['as the extractor received them (ExtractedRecord.bytes)', true],
  ])(
    'sends the raw texts as UTF-8 bytes, %s: multibyte records land exactly, hashed by md5 of their bytes',
    async (_, withBytes) => {
      await sql`TRUNCATE communications.user_call_records`.execute(database.db);
      const record = (text: string) => ({
        ...extracted(JSON.parse(text), text),
        ...(withBytes ? { bytes: Buffer.from(text, 'utf8') } : {}),
      });
      const names = ['Zoë Ångström', 'naïve 日本語', 'emoji 😀 and \\"quotes\\"'];
      const texts = names.map((name, i) => JSON.stringify(callRecord(`mb-${i}`, { from: { name } })));
      const stage = async (loadId: string, batch: readonly string[]) => {
        await startRun(database.db, loadId, 'communications', 'user_call_records');
        const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
        await stageRecords(database.db, staging, 0, batch.map(record));
        const { rows } = await sql<{ key: string; name: string; md5: boolean; exact: boolean }>`
        SELECT r._key_0 AS key, r.from__name AS name,
               r._raw_hash = md5(t.text)::uuid AS md5, r._data = t.text::jsonb AS exact
        FROM ${stagedRowsTable(staging)} AS r
        JOIN unnest(${batch}::text[]) AS t(text) ON t.text::jsonb ->> 'id' = r._key_0
        ORDER BY r._key_0`.execute(database.db);
        return { staging, rows };
      };
      const first = await stage(`multibyte-1-${withBytes}`, texts);
      expect(first.rows).toEqual(names.map((name, i) => ({ key: `mb-${i}`, name, md5: true, exact: true })));
      expect(await mergeStaged(database.db, first.staging)).toMatchObject({ inserted: 3 });
      // A re-load where one record changed: only it is sent, copied out of the batch's bytes.
      const changed = [
        texts[0] as string,
        JSON.stringify(callRecord('mb-1', { from: { name: 'ü changed' } })),
        texts[2] as string,
      ];
      const second = await stage(`multibyte-2-${withBytes}`, changed);
      expect(second.rows).toEqual([{ key: 'mb-1', name: 'ü changed', md5: true, exact: true }]);
      expect(await mergeStaged(database.db, second.staging)).toMatchObject({ updated: 1, unchanged: 2 });
    },
  );

  it('shapes each record at staging: key text, typed columns, jsonb and hash are in the staged row', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await startRun(database.db, 'shaped', 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), 'shaped');
    await stageRecords(database.db, staging, 0, [
      extracted(callRecord('s1', { duration: 'long', startTime: '2024-07-19T10:21:02' })),
    ]);
    const { rows } = await sql<Record<string, unknown>>`
      SELECT _key_0, duration, start_time, from__name, _data, _content_hash = jsonb_hash_extended(_data, 0) AS hashed
      FROM ${stagedRowsTable(staging)}`.execute(database.db);
    expect(rows).toEqual([
      {
        _key_0: 's1',
        duration: null,
        // a timestamp without a zone is read as UTC, whatever the session's TimeZone
        start_time: new Date('2024-07-19T10:21:02.000Z'),
        from__name: 'Ada',
        _data: callRecord('s1', { duration: 'long', startTime: '2024-07-19T10:21:02' }),
        hashed: true,
      },
    ]);
    const outcome = await mergeStaged(database.db, staging);
    expect(outcome).toMatchObject({ inserted: 1, coercions: { duration: 1 } });
  });

  it('computes from the jsonb a typed column the staging lacks (a table migrated between staging and merge)', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await startRun(database.db, 'migrated', 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), 'migrated');
    await stageRecords(database.db, staging, 0, [extracted(callRecord('m1', { duration: 'n/a' }))]);
    // As if staged by a version that did not know these columns yet.
    await sql`ALTER TABLE ${stagedRowsTable(staging)} DROP COLUMN from__name, DROP COLUMN duration`.execute(
      database.db,
    );
    expect(await mergeStaged(database.db, staging)).toMatchObject({
      inserted: 1,
      coercions: { duration: 1 },
    });
    const written = await rows();
    expect(written[0]).toMatchObject({
      id: 'm1',
      from__name: 'Ada',
      duration: null,
      uri: callRecord('m1')['uri'],
    });
  });

  it("stores each staged key's 64-bit hash, from which the merge finds a repeated key", async () => {
    const staging = await stagedWithDuplicate('hashed', 'h', 5);
    const { rows: batches } = await sql<{ seq: string; hashes: string[]; expected: string[] }>`
      SELECT seq, key_hashes AS hashes,
             ARRAY(SELECT hashtextextended(k, 0)::text FROM unnest(key_0) WITH ORDINALITY AS u(k, n) ORDER BY n) AS expected
      FROM ${stagingTable(staging)} ORDER BY seq`.execute(database.db);
    expect(batches.map((r) => r.hashes.length)).toEqual([2, 1]);
    for (const batch of batches) expect(batch.hashes.map(String)).toEqual(batch.expected);
    expect(await mergeStaged(database.db, staging)).toMatchObject({ fetched: 3, distinct: 2, inserted: 2 });
    expect((await rows()).map((r) => [r['id'], r['duration']])).toEqual([
      ['h1', '5'],
      ['h2', '61'],
    ]);
  });

  it('counts composite keys exactly: parts that concatenate alike are different keys', async () => {
    const table = await ensureResourceTable(database.db, {
      source: 'composite',
      resource: 'pairs',
      tableName: 'pairs',
      primaryKey: ['a', 'b'],
    });
    await startRun(database.db, 'pairs-1', 'composite', 'pairs');
    const staging = await prepareStaging(database.db, table, 'pairs-1');
    await stageRecords(database.db, staging, 0, [
      extracted({ a: 'x', b: 'yz', v: 1 }),
      extracted({ a: 'xy', b: 'z', v: 2 }),
    ]);
    await stageRecords(database.db, staging, 1, [extracted({ a: 'x', b: 'yz', v: 3 })]);
    expect(await mergeStaged(database.db, staging)).toMatchObject({ fetched: 3, distinct: 2, inserted: 2 });
    const { rows } = await sql<{ a: string; b: string; v: number }>`
      SELECT a, b, (data ->> 'v')::int AS v FROM composite.pairs ORDER BY a, b`.execute(database.db);
    expect(rows).toEqual([
      { a: 'x', b: 'yz', v: 3 },
      { a: 'xy', b: 'z', v: 2 },
    ]);
  });

  it("sizes the merge's work_mem to what was staged, within the memory it is given", async () => {
    const workMemAfterMerge = async (loadId: string, memoryMb?: number) => {
      await startRun(database.db, loadId, 'communications', 'user_call_records');
      const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
      await stageRecords(database.db, staging, 0, [extracted(callRecord(`${loadId}-1`))]);
      return database.db.transaction().execute(async (trx) => {
        await mergeStaged(trx, staging, undefined, memoryMb === undefined ? {} : { memoryMb });
        const { rows } = await sql<{ mem: string }>`SELECT current_setting('work_mem') AS mem`.execute(trx);
        return rows[0]?.mem;
      });
    };
    // One record needs little: the floor. A cap below the floor wins.
    expect(await workMemAfterMerge('mem-default')).toBe('64MB');
    expect(await workMemAfterMerge('mem-capped', 16)).toBe('16MB');
    await startRun(database.db, 'mem-bad', 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), 'mem-bad');
    await expect(mergeStaged(database.db, staging, undefined, { memoryMb: 0 })).rejects.toMatchObject({
      code: 'MERGE_MEMORY_INVALID',
      category: 'config',
      retryable: false,
    });
  });

  it('refuses to merge records staged as unchanged once the table was emptied meanwhile, instead of losing them', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('kept-1'), callRecord('kept-2')]]);
    await startRun(database.db, 'emptied', 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), 'emptied');
    await stageRecords(database.db, staging, 0, [
      extracted(callRecord('kept-1')),
      extracted(callRecord('new-3')),
    ]);
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await expect(mergeStaged(database.db, staging)).rejects.toMatchObject({
      code: 'STAGING_STALE',
      category: 'database',
      retryable: false,
    });
    // Nothing was half-written, and the staging is still there for the next run to reconcile.
    expect(await rows()).toEqual([]);
    expect(await readStagingState(database.db, staging)).toMatchObject({ batches: 1, records: 2 });
  });

  it('forgets the batches from a sequence number on when a fetch restarts earlier', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await startRun(database.db, 'discard', 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), 'discard');
    await stageRecords(database.db, staging, 0, [extracted(callRecord('a'))]);
    await stageRecords(database.db, staging, 1, [extracted(callRecord('b')), extracted({ uri: 'no key' })]);
    await stageRecords(database.db, staging, 2, [extracted(callRecord('c'))]);
    await discardStagedFrom(database.db, staging, 1);
    expect(await readStagingState(database.db, staging)).toEqual({
      batches: 1,
      records: 1,
      rejected: 0,
      lastSeq: 0,
    });
    expect(await mergeStaged(database.db, staging)).toMatchObject({ fetched: 1, inserted: 1, rejected: 0 });
  });

  it('updates only the rows whose content changed, and records the load that changed them', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('a'), callRecord('b')]]);
    const since = await currentTxid(database.db);
    const { loadId, outcome } = await load([[callRecord('a'), callRecord('b', { duration: 62 })]]);
    expect(outcome).toMatchObject({ inserted: 0, updated: 1, unchanged: 1 });
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(1);
    const b = (await rows()).find((r) => r['id'] === 'b');
    expect(b).toMatchObject({ duration: '62', _load_id: loadId });
    expect((b?.['_changed_at'] as Date) > (b?.['_first_loaded_at'] as Date)).toBe(true);
  });

  it('re-loads a byte-identical, a changed and a new record into a full table, counting exactly', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('a'), callRecord('b')]]);
    const since = await currentTxid(database.db);
    // a: the stored raw text, staged as its key alone; b changed; f new.
    const { outcome } = await load([[callRecord('a'), callRecord('b', { duration: 62 }), callRecord('f')]]);
    expect(outcome).toMatchObject({ fetched: 3, distinct: 3, inserted: 1, updated: 1, unchanged: 1 });
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(2);
    expect((await rows()).map((r) => [r['id'], r['duration']])).toEqual([
      ['a', '61'],
      ['b', '62'],
      ['f', '61'],
    ]);
  });

  it('re-loads changed, new, reappearing, duplicated and same-content records into a full table, counting exactly', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('a'), callRecord('b'), callRecord('c'), callRecord('d'), callRecord('e')]]);
    await sql`UPDATE communications.user_call_records SET _deleted_at = now() WHERE id = 'c'`.execute(
      database.db,
    );
    const byId = async () => new Map((await rows()).map((r) => [String(r['id']), r]));
    const stored = await byId();
    const since = await currentTxid(database.db);
    const loadId = `load-${++loadCounter}`;
    await startRun(database.db, loadId, 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
    // b: the same content in another raw text (its fields reversed) — shipped, then left as it is by the merge.
    const reordered = Object.fromEntries(Object.entries(callRecord('b')).reverse());
    // d: the stored raw text — staged as its key alone, beside a repeated key (a).
    await stageRecords(
      database.db,
      staging,
      0,
      [
        callRecord('a', { duration: 1 }),
        reordered,
        callRecord('c'),
        callRecord('d'),
        callRecord('f', { duration: 5 }),
      ].map((r) => extracted(r)),
    );
    // e: a number beyond bigint's range, as the API would send it (a JSON number, not a string).
    const beyond = '12345678901234567890';
    const eText = JSON.stringify(callRecord('e', { duration: 0 })).replace(
      '"duration":0',
      `"duration":${beyond}`,
    );
    await stageRecords(database.db, staging, 1, [
      extracted(JSON.parse(eText), eText),
      extracted(callRecord('a', { duration: 2 })),
    ]);
    const outcome = await mergeStaged(database.db, staging);
    // a's first record is superseded by its second.
    expect(outcome).toMatchObject({
      fetched: 7,
      distinct: 6,
      inserted: 1,
      updated: 3,
      unchanged: 2,
      coercions: { duration: 1 },
    });
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(4);
    const after = await byId();
    expect([...after.keys()]).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(after.get('a')).toMatchObject({ duration: '2', _load_id: loadId });
    expect(after.get('b')).toEqual(stored.get('b'));
    expect(after.get('c')).toMatchObject({ _deleted_at: null, _load_id: loadId });
    expect(after.get('c')?.['_first_loaded_at']).toEqual(stored.get('c')?.['_first_loaded_at']);
    expect(after.get('d')).toEqual(stored.get('d'));
    expect(after.get('e')).toMatchObject({ duration: null, _load_id: loadId });
    const { rows: e } = await sql<{ duration: string }>`
      SELECT data ->> 'duration' AS duration FROM communications.user_call_records WHERE id = 'e'`.execute(
      database.db,
    );
    expect(e).toEqual([{ duration: beyond }]);
    expect(after.get('f')).toMatchObject({ duration: '5', _load_id: loadId });
  });

  it('loads only new keys into a full table: inserts them, rewrites none of the stored rows', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('a'), callRecord('b'), callRecord('c')]]);
    const stored = await rows();
    const since = await currentTxid(database.db);
    const { loadId, outcome } = await load([[callRecord('e'), callRecord('d')]]);
    expect(outcome).toMatchObject({ fetched: 2, distinct: 2, inserted: 2, updated: 0, unchanged: 0 });
    // The two inserted rows are the only ones written.
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(2);
    const after = await rows();
    expect(after.slice(0, 3)).toEqual(stored);
    expect(after.slice(3).map((r) => [r['id'], r['_load_id']])).toEqual([
      ['d', loadId],
      ['e', loadId],
    ]);
  });

  it('re-loads records whose fields are reordered, same content: updates, inserts and rewrites nothing', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('a'), callRecord('b')]]);
    const stored = await rows();
    const since = await currentTxid(database.db);
    const reordered = (id: string) => Object.fromEntries(Object.entries(callRecord(id)).reverse());
    const { outcome } = await load([[reordered('a'), reordered('b')]]);
    expect(outcome).toMatchObject({ fetched: 2, inserted: 0, updated: 0, unchanged: 2 });
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(0);
    expect(await rows()).toEqual(stored);
  });

  /** The table holding a and b (as stored), and the staging of a new load of it. */
  async function storedAbAndNewStaging() {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('a'), callRecord('b')]]);
    const stored = await rows();
    const loadId = `load-${++loadCounter}`;
    await startRun(database.db, loadId, 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
    return { stored, loadId, staging };
  }

  it.each([
    [
      'a shipped record is missing from the rows table',
      (staged: RawBuilder<unknown>) => sql`DELETE FROM ${staged} WHERE _key_0 = 'f'`,
    ],
    [
      'a staged row is there twice',
      (staged: RawBuilder<unknown>) => sql`INSERT INTO ${staged} SELECT * FROM ${staged} WHERE _key_0 = 'b'`,
    ],
  ])('refuses a merge whose counts disagree (%s), writing nothing', async (_, tamper) => {
    const { stored, staging } = await storedAbAndNewStaging();
    await stageRecords(database.db, staging, 0, [
      extracted(callRecord('b', { duration: 62 })),
      extracted(callRecord('f')),
    ]);
    await tamper(stagedRowsTable(staging)).execute(database.db);
    await expect(mergeStaged(database.db, staging)).rejects.toMatchObject({
      code: 'MERGE_COUNTS_DISAGREE',
      category: 'internal',
    });
    expect(await rows()).toEqual(stored);
  });

  it('refuses to merge without a batch its attempt staged (a crash took it), writing nothing', async () => {
    const { stored, loadId, staging } = await storedAbAndNewStaging();
    await stageRecords(database.db, staging, batchSeq(1, 0), [extracted(callRecord('b', { duration: 62 }))]);
    await stageRecords(database.db, staging, batchSeq(1, 1), [extracted(callRecord('f'))]);
    // What a Postgres crash leaves of a batch committed without a WAL flush: nothing, its registry row included.
    await sql`DELETE FROM ingest.staged_batches WHERE load_id = ${loadId} AND seq = ${batchSeq(1, 1)}`.execute(
      database.db,
    );
    await sql`DELETE FROM ${stagingTable(staging)} WHERE seq = ${batchSeq(1, 1)}`.execute(database.db);
    await sql`DELETE FROM ${stagedRowsTable(staging)} WHERE _seq = ${batchSeq(1, 1)}`.execute(database.db);
    const staged = { fromSeq: batchSeq(1, 0), batches: 2 };
    await expect(mergeStaged(database.db, staging, undefined, { staged })).rejects.toMatchObject({
      code: 'STAGED_BATCHES_MISSING',
      category: 'database',
      retryable: true,
    });
    expect(await rows()).toEqual(stored);
    // The batches that are there, proven: the merge goes ahead.
    const merged = await mergeStaged(database.db, staging, undefined, { staged: { ...staged, batches: 1 } });
    expect(merged).toMatchObject({ updated: 1, inserted: 0 });
  });

  it('lets the last duplicate of a key win within a load', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    const { outcome } = await load([
      [callRecord('a', { duration: 1 }), callRecord('a', { duration: 2 })],
      [callRecord('b'), callRecord('a', { duration: 3 })],
    ]);
    expect(outcome).toMatchObject({ fetched: 4, distinct: 2, inserted: 2 });
    expect((await rows()).map((r) => [r['id'], r['duration']])).toEqual([
      ['a', '3'],
      ['b', '61'],
    ]);
  });

  it('takes the empty-table fast path with duplicates, a coercion and rejected records, counting exactly', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    const since = await currentTxid(database.db);
    const nulText = '{"id":"nul","name":"a\\u0000b"}';
    const surrogateText = '{"id":"surrogate","name":"\\ud800"}';
    const loadId = `load-${++loadCounter}`;
    await startRun(database.db, loadId, 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
    await stageRecords(database.db, staging, 0, [
      extracted(callRecord('a', { duration: 1 })),
      extracted(JSON.parse(nulText), nulText, ['nul-char']),
      extracted(callRecord('b', { duration: 12345678901234567890n.toString() })),
    ]);
    await stageRecords(database.db, staging, 1, [
      extracted(callRecord('a', { duration: 2 })),
      // Refused by Postgres at the merge (not flagged): rejected there, and it must not win over 'c'.
      extracted(callRecord('c')),
      extracted(JSON.parse(surrogateText), surrogateText),
    ]);
    const outcome = await mergeStaged(database.db, staging);
    expect(outcome).toMatchObject({ ...firstLoad(4, 3), rejected: 2, coercions: { duration: 1 } });
    expect((await rows()).map((r) => [r['id'], r['duration']])).toEqual([
      ['a', '2'],
      ['b', null],
      ['c', '61'],
    ]);
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(3);
  });

  it('undeletes a row that was marked deleted when it reappears', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await load([[callRecord('a')]]);
    await sql`UPDATE communications.user_call_records SET _deleted_at = now()`.execute(database.db);
    const { outcome } = await load([[callRecord('a')]]);
    expect(outcome).toMatchObject({ updated: 1, unchanged: 0 });
    expect((await rows())[0]?.['_deleted_at']).toBeNull();
  });

  it('replaces a re-sent batch instead of duplicating it, and appends after a retried prepare', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await startRun(database.db, 'replay', 'communications', 'user_call_records');
    const table = await callRecordsTable();
    const first = await prepareStaging(database.db, table, 'replay');
    await stageRecords(database.db, first, 0, [extracted(callRecord('a')), extracted(callRecord('b'))]);
    // The activity is retried: the staging is still there, page 0 is re-sent (now with c), page 1 is new.
    const again = await prepareStaging(database.db, table, 'replay');
    expect(again.tableName).toBe(first.tableName);
    const replay = await stageRecords(database.db, again, 0, [
      extracted(callRecord('a')),
      extracted(callRecord('c')),
    ]);
    expect(replay).toEqual({ staged: 2, rejected: 0, replaced: true });
    await stageRecords(database.db, again, 1, [extracted(callRecord('d'))]);
    expect(await readStagingState(database.db, again)).toEqual({
      batches: 2,
      records: 3,
      rejected: 0,
      lastSeq: 1,
    });
    const outcome = await mergeStaged(database.db, again);
    expect(outcome).toMatchObject({ fetched: 3, inserted: 3 });
    expect((await rows()).map((r) => r['id'])).toEqual(['a', 'c', 'd']);
  });

  it('is idempotent: merging again returns the recorded counts, and the staging is gone', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await startRun(database.db, 'twice', 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), 'twice');
    await stageRecords(database.db, staging, 0, [extracted(callRecord('a'))]);
    const first = await mergeStaged(database.db, staging);
    const second = await mergeStaged(database.db, staging);
    expect(second).toMatchObject({ ...first, mergeMs: second.mergeMs, alreadyMerged: true });
    const { rows } = await sql<{ t: string | null }>`
      SELECT to_regclass(${`ingest.${stagingTableName('twice', 'user_call_records')}`})::text AS t`.execute(
      database.db,
    );
    expect(rows[0]?.t).toBeNull();
  });

  it('shows readers the old table until the merge commits', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await startRun(database.db, 'atomic', 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), 'atomic');
    await stageRecords(database.db, staging, 0, [extracted(callRecord('a')), extracted(callRecord('b'))]);
    let seenDuringMerge = -1;
    await database.db.transaction().execute(async (trx) => {
      await mergeStaged(trx, staging);
      seenDuringMerge = (await rows()).length; // another connection, outside the transaction
    });
    expect(seenDuringMerge).toBe(0);
    expect((await rows()).length).toBe(2);
  });
});

describe('a big first load', () => {
  const primaryKey = async () => {
    const { rows } = await sql<{ name: string; definition: string; index: number }>`
      SELECT conname AS name, pg_get_constraintdef(oid) AS definition, conindid::int AS index FROM pg_constraint
      WHERE conrelid = 'communications.user_call_records'::regclass AND contype = 'p'`.execute(database.db);
    expect(rows).toHaveLength(1);
    return rows[0] as { name: string; definition: string; index: number };
  };

  it('builds the primary key once: same rows and counts, the constraint as it was, still enforced', async () => {
    const before = await primaryKey();
    const staging = await stagedWithDuplicate('rebuild-1', 'r', 7);
    await stageRecords(database.db, staging, 2, [extracted(callRecord('r3', { duration: 'soon' }))]);
    const outcome = await mergeStaged(database.db, staging, undefined, { keyIndexRebuildFrom: 1 });
    expect(outcome).toMatchObject({ ...firstLoad(4, 3), coercions: { duration: 1 } });
    expect((await rows()).map((r) => [r['id'], r['duration']])).toEqual([
      ['r1', '7'],
      ['r2', '61'],
      ['r3', null],
    ]);
    const after = await primaryKey();
    expect(after).toMatchObject({ name: before.name, definition: before.definition });
    expect(after.index).not.toBe(before.index); // built anew: the path was taken
    await expect(
      sql`INSERT INTO communications.user_call_records SELECT * FROM communications.user_call_records
          WHERE id = 'r1'`.execute(database.db),
    ).rejects.toMatchObject({ code: '23505' });
    // Re-loading the same keys now updates through the rebuilt key; nothing is rebuilt for a table with rows.
    const { outcome: again } = await load([[callRecord('r1', { duration: 8 })]]);
    expect(again).toMatchObject({ inserted: 0, updated: 1 });
    expect((await primaryKey()).index).toBe(after.index);
  });

  it('keeps the index as it is below the threshold (the default is 50 000 records)', async () => {
    const before = await primaryKey();
    const staging = await stagedWithDuplicate('rebuild-small', 's', 7);
    expect(await mergeStaged(database.db, staging)).toMatchObject({ inserted: 2 });
    expect((await primaryKey()).index).toBe(before.index);
  });

  it('does not wait for, nor block, a reader that holds the table: it takes the ordinary path', async () => {
    const before = await primaryKey();
    const staging = await stagedWithDuplicate('rebuild-reader', 'q', 7);
    const outcome = await database.db.transaction().execute(async (reader) => {
      await sql`SELECT count(*) FROM communications.user_call_records`.execute(reader);
      return mergeStaged(database.db, staging, undefined, { keyIndexRebuildFrom: 1 });
    });
    expect(outcome).toMatchObject({ inserted: 2 });
    expect((await primaryKey()).index).toBe(before.index);
  });

  const dependents = [
    {
      what: 'a foreign key references',
      create: sql`CREATE TABLE public.call_notes (call_id text REFERENCES communications.user_call_records (id))`,
      drop: sql`DROP TABLE public.call_notes`,
    },
    {
      what: 'a view relies on (grouping by the key)',
      create: sql`CREATE VIEW public.call_types AS SELECT id, type FROM communications.user_call_records GROUP BY id`,
      drop: sql`DROP VIEW public.call_types`,
    },
  ];
  for (const [n, { what, create, drop }] of dependents.entries()) {
    it(`keeps the primary key ${what}`, async () => {
      const staging = await stagedWithDuplicate(`rebuild-dependent-${n}`, `d${n}-`, 7);
      await create.execute(database.db);
      try {
        const before = await primaryKey();
        expect(await mergeStaged(database.db, staging, undefined, { keyIndexRebuildFrom: 1 })).toMatchObject({
          inserted: 2,
        });
        expect((await primaryKey()).index).toBe(before.index);
      } finally {
        await drop.execute(database.db);
      }
    });
  }

  it('refuses a threshold that is not a whole number ≥ 1', async () => {
    const staging = await stagedWithDuplicate('rebuild-bad', 'b', 7);
    await expect(
      mergeStaged(database.db, staging, undefined, { keyIndexRebuildFrom: 0.5 }),
    ).rejects.toMatchObject({ code: 'MERGE_OPTION_INVALID', category: 'config', retryable: false });
  });
});

describe('lossless records', () => {
  it('keeps a big integer and a long decimal exactly, from the raw text', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    const text =
      '{"id":"big","duration":12345678901234567890,"price":0.1000000000000000055511151231257827,"n":-98765432109876543210}';
    const loadId = 'lossless';
    await startRun(database.db, loadId, 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
    await stageRecords(database.db, staging, 0, [extracted(JSON.parse(text), text)]);
    const outcome = await mergeStaged(database.db, staging);
    const { rows } = await sql<{
      duration: string;
      price: string;
      n: string;
      text: string;
      typed: string | null;
    }>`
      SELECT data->>'duration' AS duration, data->>'price' AS price, data->>'n' AS n, data::text AS text,
             duration::text AS typed
      FROM communications.user_call_records WHERE id = 'big'`.execute(database.db);
    expect(rows[0]).toMatchObject({
      duration: '12345678901234567890',
      price: '0.1000000000000000055511151231257827',
      n: '-98765432109876543210',
      typed: null,
    });
    // Beyond bigint: NULL in the typed column, counted as a coercion, exact in the jsonb.
    expect(outcome.coercions).toEqual({ duration: 1 });
  });
});

describe('typed columns', () => {
  it('are NULL when the value does not fit, with a count per column, and the raw value stays in data', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    const { outcome } = await load([
      [
        callRecord('ok'),
        callRecord('bad-date', { startTime: '2024-02-30T25:61:00Z' }),
        callRecord('not-a-date', { startTime: 'not a date' }),
        callRecord('zero-date', { startTime: '0000-00-00 00:00:00' }),
        callRecord('words', { duration: 'long', type: { nested: true } }),
        callRecord('nulls', { startTime: null, duration: null }),
        callRecord('decimal', { duration: 12.5 }),
        callRecord('string-number', { duration: '42' }),
      ],
    ]);
    expect(outcome.inserted).toBe(8);
    expect(outcome.coercions).toEqual({ start_time: 3, duration: 2 });
    const byId = new Map((await rows()).map((r) => [r['id'], r]));
    expect(byId.get('bad-date')?.['start_time']).toBeNull();
    expect((byId.get('bad-date')?.['data'] as Record<string, unknown>)['startTime']).toBe(
      '2024-02-30T25:61:00Z',
    );
    expect(byId.get('string-number')?.['duration']).toBe('42');
    // A text column takes any value: a non-string as its JSON text.
    expect(byId.get('words')?.['type']).toBe('{"nested": true}');
    expect(byId.get('nulls')?.['start_time']).toBeNull();
  });
});

describe('records Postgres cannot store', () => {
  it('do not win over an earlier good record of the same key when the merge has to reject them', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    await startRun(database.db, 'refused-last', 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), 'refused-last');
    const refused = '{"id":"a","name":"\\udc00"}';
    await stageRecords(database.db, staging, 0, [extracted(callRecord('a'))]);
    await stageRecords(database.db, staging, 1, [extracted(JSON.parse(refused), refused)]);
    expect(await mergeStaged(database.db, staging)).toMatchObject({
      fetched: 1,
      distinct: 1,
      inserted: 1,
      rejected: 1,
    });
    expect((await rows()).map((r) => r['session_id'])).toEqual(['s-a']);
  });

  it('are rejected with their reason and payload while the rest of the batch lands', async () => {
    await sql`TRUNCATE communications.user_call_records`.execute(database.db);
    const loadId = 'hostile';
    await startRun(database.db, loadId, 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
    const nulText = '{"id":"nul","name":"a\\u0000b"}';
    const surrogateText = '{"id":"surrogate","name":"\\ud800"}';
    const outcome = await stageRecords(database.db, staging, 0, [
      extracted(callRecord('good-1')),
      extracted(JSON.parse(nulText), nulText, ['nul-char']),
      extracted({ uri: 'no id' }),
      // Not flagged by the extractor: Postgres refuses it as jsonb while staging, which rejects it alone.
      extracted(JSON.parse(surrogateText), surrogateText),
      extracted([1, 2]),
      extracted(callRecord('good-2')),
    ]);
    expect(outcome).toEqual({ staged: 2, rejected: 4, replaced: false });
    const merged = await mergeStaged(database.db, staging);
    expect(merged).toMatchObject({ fetched: 2, distinct: 2, inserted: 2, rejected: 4 });
    const rejected = await database.db
      .selectFrom('ingest.rejected_records')
      .select(['ordinal', 'reason_code', 'record_key', 'payload'])
      .where('load_id', '=', loadId)
      .orderBy('ordinal')
      .execute();
    expect(rejected).toEqual([
      { ordinal: 1, reason_code: 'nul-char', record_key: '"nul"', payload: nulText },
      { ordinal: 2, reason_code: 'missing-primary-key', record_key: null, payload: '{"uri":"no id"}' },
      { ordinal: 3, reason_code: 'invalid-json', record_key: '"surrogate"', payload: surrogateText },
      { ordinal: 4, reason_code: 'not-an-object', record_key: null, payload: '[1,2]' },
    ]);
  });
});

describe('a staging a Postgres crash emptied', () => {
  /** A staging of two batches whose unlogged tables were then emptied, as crash recovery leaves them. */
  async function crashed(loadId: string) {
    await startRun(database.db, loadId, 'communications', 'user_call_records');
    // The table has rows (earlier tests), so the staging is the unlogged one.
    const staging = await prepareStaging(database.db, await callRecordsTable(), loadId);
    expect(staging.swappable).toBe(false);
    await stageRecords(database.db, staging, 0, [extracted(callRecord(`${loadId}-1`))]);
    await stageRecords(database.db, staging, 1, [extracted(callRecord(`${loadId}-2`))]);
    await sql`TRUNCATE ${stagingTable(staging)}, ${stagedRowsTable(staging)}`.execute(database.db);
    return staging;
  }

  it('is never merged as if it were the load: the merge fails, retryable, and writes nothing', async () => {
    const before = (await rows()).length;
    const staging = await crashed('lost-merge');
    await expect(mergeStaged(database.db, staging)).rejects.toMatchObject({
      code: 'STAGING_LOST',
      category: 'database',
      retryable: true,
    });
    expect((await rows()).length).toBe(before);
  });

  it('is found lost also when the fetch went on staging after the server came back', async () => {
    const before = (await rows()).length;
    const staging = await crashed('lost-then-more');
    // The activity reconnected and staged its next page into the emptied table.
    await stageRecords(database.db, staging, 2, [extracted(callRecord('lost-then-more-3'))]);
    await expect(mergeStaged(database.db, staging)).rejects.toMatchObject({
      code: 'STAGING_LOST',
      retryable: true,
    });
    expect((await rows()).length).toBe(before);
  });

  it('is refused by a retried prepare, unless the caller fetches again from the start', async () => {
    const staging = await crashed('lost-prepare');
    await expect(prepareStaging(database.db, staging.target, 'lost-prepare')).rejects.toMatchObject({
      code: 'STAGING_LOST',
      retryable: false,
    });
    const again = await prepareStaging(database.db, staging.target, 'lost-prepare', { restartIfLost: true });
    expect(again.restarted).toBe(true);
    expect(await readStagingState(database.db, again)).toMatchObject({ batches: 0, records: 0 });
    for (const [seq, id] of ['lost-prepare-1', 'lost-prepare-2'].entries()) {
      await stageRecords(database.db, again, seq, [extracted(callRecord(id))]);
    }
    expect(await mergeStaged(database.db, again)).toMatchObject({ fetched: 2, inserted: 2 });
    // A staging that was not lost is found as it is.
    await startRun(database.db, 'kept-prepare', 'communications', 'user_call_records');
    const kept = await prepareStaging(database.db, staging.target, 'kept-prepare');
    await stageRecords(database.db, kept, 0, [extracted(callRecord('kept-1'))]);
    const found = await prepareStaging(database.db, staging.target, 'kept-prepare', { restartIfLost: true });
    expect(found.restarted).toBe(false);
    expect(await readStagingState(database.db, found)).toMatchObject({ batches: 1, records: 1 });
    expect(await mergeStaged(database.db, found)).toMatchObject({ fetched: 1, inserted: 1 });
  });
});
