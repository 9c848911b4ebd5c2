/**
 * Write dispositions and deletion detection on the real Postgres: merge leaves rows it did not see alone;
 * replace removes them in the merge transaction (readers see old or new, never half); append keeps every record of
 * every run in a table keyed by load position and is refused for a table keyed by the record; deletion detection
 * marks rows a complete load did not have, undeletes them when they come back, and never rewrites a row it saw.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createAppendTable } from '../../src/db/tables/append-tables.ts';
import { ensureResourceTable } from '../../src/db/tables/auto-tables.ts';
import type { MergeMode } from '../../src/db/merge/dispositions.ts';
import { mergeStaged } from '../../src/db/merge/merge.ts';
import { readResourceTable } from '../../src/db/tables/resource-tables.ts';
import { prepareStaging } from '../../src/db/staging/prepare.ts';
import { stageRecords } from '../../src/db/staging/stage-records.ts';
import { IngestError } from '../../src/errors.ts';
import type { ExtractedRecord } from '../../src/shared/records.ts';
import { withDatabase } from '../helpers/database.ts';
import { callRecord, currentTxid, extracted, rowsWrittenSince, startRun } from './loader-fixtures.ts';

const database = withDatabase();
const calls = 'communications.user_call_records';
const merge: MergeMode = { disposition: 'merge', deletionDetection: false };
const replace: MergeMode = { disposition: 'replace', deletionDetection: false };
const append: MergeMode = { disposition: 'append', deletionDetection: false };
const detect: MergeMode = { disposition: 'merge', deletionDetection: true };
let loadCounter = 0;

/** Stages `batches` (seq = index) for a new load of `source.resource`; returns the load id and the staging. */
async function stage(
  batches: readonly (readonly ExtractedRecord[])[],
  source = 'communications',
  resource = 'user_call_records',
) {
  const loadId = `disp-${++loadCounter}`;
  await startRun(database.db, loadId, source, resource);
  const staging = await prepareStaging(
    database.db,
    await readResourceTable(database.db, source, resource),
    loadId,
  );
  for (const [seq, batch] of batches.entries()) await stageRecords(database.db, staging, seq, batch);
  return { loadId, staging };
}

/** One complete load of call records with `mode`. */
async function load(records: readonly Record<string, unknown>[], mode: MergeMode) {
  const { loadId, staging } = await stage([records.map((r) => extracted(r))]);
  return { loadId, outcome: await mergeStaged(database.db, staging, mode) };
}

async function callRows() {
  const { rows } = await sql<{
    id: string;
    duration: string | null;
    _load_id: string;
    _deleted_at: Date | null;
    _changed_at: Date;
  }>`SELECT id, duration, _load_id, _deleted_at, _changed_at FROM communications.user_call_records ORDER BY id`.execute(
    database.db,
  );
  return rows;
}

async function emptyCalls(): Promise<void> {
  await sql`TRUNCATE communications.user_call_records`.execute(database.db);
}

async function recordedRun(loadId: string) {
  return database.db
    .selectFrom('ingest.resource_runs')
    .select(['deleted', 'inserted', 'updated', 'unchanged'])
    .where('load_id', '=', loadId)
    .executeTakeFirstOrThrow();
}

describe('merge', () => {
  it('leaves the rows a load did not have, and rewrites no unchanged row', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b')], merge);
    const since = await currentTxid(database.db);
    const { outcome } = await load([callRecord('a')], merge);
    expect(outcome).toMatchObject({ inserted: 0, updated: 0, unchanged: 1, deleted: 0 });
    expect((await callRows()).map((r) => [r.id, r._deleted_at])).toEqual([
      ['a', null],
      ['b', null],
    ]);
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(0);
  });
});

describe('replace', () => {
  it('removes the rows the new load does not have, writes only what changed, and counts it', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b'), callRecord('c')], replace);
    const since = await currentTxid(database.db);
    const { loadId, outcome } = await load(
      [callRecord('a'), callRecord('b', { duration: 99 }), callRecord('d')],
      replace,
    );
    expect(outcome).toMatchObject({
      inserted: 1,
      updated: 1,
      unchanged: 1,
      deleted: 1,
      deletionsSkipped: null,
    });
    expect((await callRows()).map((r) => [r.id, r.duration])).toEqual([
      ['a', '61'],
      ['b', '99'],
      ['d', '61'],
    ]);
    // b and d are new row versions; a (unchanged) was not rewritten.
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(2);
    expect(await recordedRun(loadId)).toMatchObject({ deleted: '1', inserted: '1', updated: '1' });
  });

  it('is atomic: another connection sees the old rows until the merge commits, then only the new ones', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b'), callRecord('c')], replace);
    const { staging } = await stage([[extracted(callRecord('c')), extracted(callRecord('d'))]]);
    let seenDuringMerge: string[] = [];
    await database.db.transaction().execute(async (trx) => {
      const outcome = await mergeStaged(trx, staging, replace);
      expect(outcome).toMatchObject({ inserted: 1, unchanged: 1, deleted: 2 });
      // Another pooled connection, while the merge transaction is open: the reader is not blocked (no ACCESS
      // EXCLUSIVE lock) and sees the table as it was.
      seenDuringMerge = (await callRows()).map((r) => r.id);
    });
    expect(seenDuringMerge).toEqual(['a', 'b', 'c']);
    expect((await callRows()).map((r) => r.id)).toEqual(['c', 'd']);
  });

  it('empties the table after a complete fetch that returned no record (as dlt does)', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b')], replace);
    const { staging } = await stage([]);
    expect(await mergeStaged(database.db, staging, replace)).toMatchObject({ fetched: 0, deleted: 2 });
    expect(await callRows()).toEqual([]);
  });

  it('keeps the row of a record that was fetched but rejected with a readable key', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b'), callRecord('c')], replace);
    const nulText = '{"id":"b","name":"a\\u0000b"}';
    const { staging } = await stage([
      [extracted(callRecord('a')), extracted(JSON.parse(nulText), nulText, ['nul-char'])],
    ]);
    expect(await mergeStaged(database.db, staging, replace)).toMatchObject({ rejected: 1, deleted: 1 });
    expect((await callRows()).map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('deletes nothing when a rejected record has no readable key (the rows it stands for are unknown)', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b')], replace);
    const { staging } = await stage([[extracted(callRecord('a')), extracted({ uri: 'no id' })]]);
    const outcome = await mergeStaged(database.db, staging, replace);
    expect(outcome).toMatchObject({ rejected: 1, deleted: 0 });
    expect(outcome.deletionsSkipped).toMatch(
      /1 rejected record\(s\) of this load have no readable primary key/,
    );
    expect((await callRows()).map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('returns the recorded deleted count when the merge is retried after it committed', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b')], replace);
    const { staging } = await stage([[extracted(callRecord('a'))]]);
    const first = await mergeStaged(database.db, staging, replace);
    const again = await mergeStaged(database.db, staging, replace);
    expect(first.deleted).toBe(1);
    expect(again).toMatchObject({ alreadyMerged: true, deleted: 1 });
  });
});

describe('append', () => {
  const events = { source: 'events_api', resource: 'events', schema: 'events_api', table: 'events' };

  async function appendTable(): Promise<void> {
    await createAppendTable(database.db, {
      ...events,
      primaryKey: [{ field: 'id', column: 'id' }],
      columns: [{ column: 'duration', path: ['duration'], type: 'bigint' }],
    });
  }

  async function eventRows() {
    const { rows } = await sql<{ id: string; duration: string | null; _load_id: string }>`
      SELECT id, duration::text AS duration, _load_id FROM events_api.events
      ORDER BY _load_id, _batch_seq, _ord`.execute(database.db);
    return rows;
  }

  async function appendLoad(records: readonly Record<string, unknown>[]) {
    const { loadId, staging } = await stage(
      [records.map((r) => extracted(r))],
      events.source,
      events.resource,
    );
    return { loadId, outcome: await mergeStaged(database.db, staging, append) };
  }

  it('is described as keyed by load position, and the seed tables by the record key', async () => {
    await appendTable();
    await appendTable(); // idempotent
    expect(await readResourceTable(database.db, events.source, events.resource)).toMatchObject({
      primaryKey: [{ field: 'id', column: 'id' }],
      columns: [{ column: 'duration', path: ['duration'], type: 'bigint' }],
      rowKey: 'position',
    });
    expect((await readResourceTable(database.db, 'communications', 'user_call_records')).rowKey).toBe(
      'record',
    );
    const registered = await database.db
      .selectFrom('ingest.resource_tables')
      .select('created_by')
      .where('resource', '=', 'events')
      .executeTakeFirstOrThrow();
    expect(registered.created_by).toBe('auto');
  });

  it('needs the record key (staging keys every record): a keyless append table is refused', async () => {
    await expect(
      createAppendTable(database.db, { ...events, resource: 'keyless', table: 'keyless', primaryKey: [] }),
    ).rejects.toMatchObject({ code: 'APPEND_WITHOUT_KEY', category: 'config' });
  });

  it('keeps every record of every run: two runs of the same snapshot are two copies, duplicates included', async () => {
    await appendTable();
    await sql`TRUNCATE events_api.events`.execute(database.db);
    const snapshot = [
      { id: 'a', duration: 1 },
      { id: 'b', duration: 'long' },
      { id: 'a', duration: 2 },
    ];
    const first = await appendLoad(snapshot);
    expect(first.outcome).toMatchObject({
      fetched: 3,
      distinct: 3,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      deleted: 0,
      coercions: { duration: 1 },
    });
    const second = await appendLoad(snapshot);
    expect(second.outcome).toMatchObject({ fetched: 3, inserted: 3, unchanged: 0 });
    expect((await eventRows()).map((r) => [r._load_id, r.id, r.duration])).toEqual([
      [first.loadId, 'a', '1'],
      [first.loadId, 'b', null],
      [first.loadId, 'a', '2'],
      [second.loadId, 'a', '1'],
      [second.loadId, 'b', null],
      [second.loadId, 'a', '2'],
    ]);
  });

  it('appends a load once even when its merge is retried', async () => {
    await appendTable();
    await sql`TRUNCATE events_api.events`.execute(database.db);
    const { staging } = await stage([[extracted({ id: 'a' })]], events.source, events.resource);
    await mergeStaged(database.db, staging, append);
    expect(await mergeStaged(database.db, staging, append)).toMatchObject({
      alreadyMerged: true,
      inserted: 1,
    });
    expect(await eventRows()).toHaveLength(1);
  });

  it('is refused for a migrated table whose PRIMARY KEY is the record key, naming the resource and why', async () => {
    await emptyCalls();
    const { staging } = await stage([[extracted(callRecord('a'))]]);
    const refused = await mergeStaged(database.db, staging, append).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IngestError);
    expect(refused).toMatchObject({
      category: 'config',
      code: 'DISPOSITION_TABLE_MISMATCH',
      retryable: false,
    });
    expect((refused as Error).message).toMatch(
      /communications\.user_call_records: write_disposition append needs a table keyed by load position, but communications\.user_call_records has the record's primary key \(id\) as its PRIMARY KEY/,
    );
    expect(await callRows()).toEqual([]);
    // …and merge or replace into an append table is refused the same way.
    await appendTable();
    const events2 = await stage([[extracted({ id: 'a' })]], events.source, events.resource);
    await expect(mergeStaged(database.db, events2.staging, replace)).rejects.toThrow(
      /events_api\.events: write_disposition replace needs a table keyed by the record's primary key/,
    );
  });
});

describe('deletion detection', () => {
  it('works on a table whose key column has a dot in its name', async () => {
    await ensureResourceTable(database.db, {
      source: 'dotted',
      resource: 'things',
      tableName: 'things',
      primaryKey: ['thing.id'],
    });
    const run = async (ids: readonly string[]) => {
      const { staging } = await stage([ids.map((id) => extracted({ 'thing.id': id }))], 'dotted', 'things');
      return mergeStaged(database.db, staging, detect);
    };
    await run(['a', 'b', 'c']);
    expect((await run(['a', 'c'])).deleted).toBe(1);
    const { rows } = await sql<{ key: string; gone: boolean }>`
      SELECT "thing.id" AS key, _deleted_at IS NOT NULL AS gone FROM dotted.things ORDER BY 1`.execute(
      database.db,
    );
    expect(rows).toEqual([
      { key: 'a', gone: false },
      { key: 'b', gone: true },
      { key: 'c', gone: false },
    ]);
  });

  it('marks the live rows a complete load did not have, with the count and the load, rewriting nothing else', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b'), callRecord('c')], detect);
    const since = await currentTxid(database.db);
    const { loadId, outcome } = await load([callRecord('a'), callRecord('b')], detect);
    expect(outcome).toMatchObject({ inserted: 0, updated: 0, unchanged: 2, deleted: 1 });
    const c = (await callRows()).find((r) => r.id === 'c');
    expect(c?._deleted_at).toBeInstanceOf(Date);
    expect(c?._load_id).toBe(loadId);
    // Only c got a new row version: a and b, seen unchanged, were not rewritten.
    expect(await rowsWrittenSince(database.db, calls, since)).toBe(1);
    expect(await recordedRun(loadId)).toMatchObject({ deleted: '1' });
  });

  it('does not mark a deleted row again, and undeletes a row that reappears', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b'), callRecord('c')], detect);
    await load([callRecord('a'), callRecord('b')], detect);
    const before = (await callRows()).find((r) => r.id === 'c');
    const gone = await load([callRecord('a')], detect);
    expect(gone.outcome.deleted).toBe(1); // b; c was deleted already
    expect((await callRows()).find((r) => r.id === 'c')).toEqual(before);
    const back = await load([callRecord('a'), callRecord('b'), callRecord('c')], detect);
    expect(back.outcome).toMatchObject({ updated: 2, unchanged: 1, deleted: 0 });
    expect((await callRows()).map((r) => [r.id, r._deleted_at, r._load_id])).toEqual([
      ['a', null, expect.any(String)],
      ['b', null, back.loadId],
      ['c', null, back.loadId],
    ]);
  });

  it('keeps a row whose key was staged only as unchanged or superseded', async () => {
    await emptyCalls();
    await load([callRecord('a'), callRecord('b')], detect);
    // a: byte-identical (staged as a key only); b twice (the first one superseded).
    const { staging } = await stage([
      [extracted(callRecord('a')), extracted(callRecord('b', { duration: 1 }))],
      [extracted(callRecord('b', { duration: 2 }))],
    ]);
    expect(await mergeStaged(database.db, staging, detect)).toMatchObject({
      updated: 1,
      unchanged: 1,
      deleted: 0,
    });
    expect((await callRows()).map((r) => [r.id, r.duration, r._deleted_at])).toEqual([
      ['a', '61', null],
      ['b', '2', null],
    ]);
  });

  it('is refused with any disposition but merge', async () => {
    const { staging } = await stage([[extracted(callRecord('a'))]]);
    await expect(
      mergeStaged(database.db, staging, { disposition: 'replace', deletionDetection: true }),
    ).rejects.toThrow(/deletion detection needs write_disposition merge \(this load uses replace\)/);
  });
});
