/**
 * The work list of a dependent resource in a real Postgres: what a parent keeps of its records (replaced per batch,
 * discarded from a resume point), the items built from this load's parent records or from the parent's table (one
 * per distinct set of parent values, missing fields left out), a polled child's carry-over between loads (final ones
 * never again, stale ones given up with a reason), and the clean-up when the load ends.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  buildChildItems,
  countChildItems,
  listPendingItems,
  readChildItems,
  settleChildItems,
} from '../../src/db/ledger/child-items.ts';
import { carryOverPolls, forgetCarriedOver, giveUpStaleItems } from '../../src/db/ledger/child-outcomes.ts';
import { finishLoad, startLoad } from '../../src/db/ledger/ledger.ts';
import { discardParentRecords, writeParentRecords } from '../../src/db/ledger/parent-records.ts';
import { ensureResourceTable } from '../../src/db/tables/auto-tables.ts';
import { withDatabase } from '../helpers/database.ts';

const database = withDatabase();
const source = 'child_work';

async function parentRecordCount(loadId: string): Promise<number> {
  const row = await database.db
    .selectFrom('ingest.parent_records')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('load_id', '=', loadId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('the parent records of a load', () => {
  it('keep only the fields children need, replaced per batch and discarded from a resume point', async () => {
    const loadId = 'parents-1';
    await startLoad(database.db, { loadId, source });
    const paths = ['id', 'owner.id'];
    const write = (seq: number, values: unknown[]) =>
      writeParentRecords(database.db, { loadId, resource: 'projects', seq, paths, values });
    await write(1, [
      { id: 1, name: 'a', owner: { id: 7 } },
      { id: 2, owner: null },
    ]);
    await write(1, [{ id: 1, name: 'a', owner: { id: 7 } }, { id: 2, owner: null }, { id: 3 }]); // a retry
    await write(2, [{ id: 4 }]);
    const rows = await database.db
      .selectFrom('ingest.parent_records')
      .select(['seq', 'ordinal', 'fields'])
      .where('load_id', '=', loadId)
      .orderBy('seq')
      .orderBy('ordinal')
      .execute();
    expect(rows.map((r) => r.fields)).toEqual([
      { id: 1, 'owner.id': 7 },
      { id: 2 }, // owner is null: it has no owner.id
      { id: 3 },
      { id: 4 },
    ]);
    await discardParentRecords(database.db, { loadId, resource: 'projects', from: 2 });
    expect(await parentRecordCount(loadId)).toBe(3);
  });
});

describe('the work list of a child', () => {
  it('has one item per distinct set of parent values of this load, numbered in parent order', async () => {
    const loadId = 'children-1';
    await startLoad(database.db, { loadId, source });
    await writeParentRecords(database.db, {
      loadId,
      resource: 'projects',
      seq: 5,
      paths: ['id', 'key'],
      values: [{ id: 30, key: 'C' }, { id: 10, key: 'A' }, { id: 30, key: 'D' }, { key: 'no id' }],
    });
    await writeParentRecords(database.db, {
      loadId: 'parents-1',
      resource: 'projects',
      seq: 9,
      paths: ['id'],
      values: [{ id: 99 }], // another load's: never this load's work
    });
    const input = {
      loadId,
      source,
      resource: 'tasks',
      parents: { from: 'run', parent: 'projects' } as const,
      paths: ['id', 'key'],
      requestPaths: ['id'],
      polled: false,
    };
    expect(await buildChildItems(database.db, input)).toBe(3);
    expect(await buildChildItems(database.db, input)).toBe(3); // a retried activity finds it built
    const items = await readChildItems(database.db, { loadId, resource: 'tasks', items: [1, 2, 3] });
    expect(items).toEqual([
      { item: 1, fields: { id: 30, key: 'C' } }, // one request per id: the first parent record's other fields
      { item: 2, fields: { id: 10, key: 'A' } },
      { item: 3, fields: { key: 'no id' } }, // the parent record without the field: the fetch reports it
    ]);
    expect(await listPendingItems(database.db, { loadId, resource: 'tasks', after: 1, limit: 10 })).toEqual([
      2, 3,
    ]);
    await settleChildItems(database.db, {
      loadId,
      resource: 'tasks',
      items: [
        { item: 1, state: 'done' },
        { item: 2, state: 'unresolvable' },
      ],
    });
    expect(await listPendingItems(database.db, { loadId, resource: 'tasks', after: 0, limit: 10 })).toEqual([
      3,
    ]);
    expect(await countChildItems(database.db, { loadId, resource: 'tasks' })).toEqual({
      items: 3,
      done: 1,
      pending: 1,
      unresolvable: 1,
    });
  });

  it('carries the items of a resolution that did not finish over to the next load, until one finishes them', async () => {
    const input = (loadId: string) => ({
      loadId,
      source,
      resource: 'comments',
      parents: { from: 'run', parent: 'issues' } as const,
      paths: ['id'],
      requestPaths: ['id'],
      polled: false,
    });
    const issues = (loadId: string, ids: number[]) =>
      writeParentRecords(database.db, {
        loadId,
        resource: 'issues',
        seq: 1,
        paths: ['id'],
        values: ids.map((id) => ({ id })),
      });
    // Load 1's parent (incremental: its cursor moved on) gave issues 1 and 2; its child failed before fetching them.
    await startLoad(database.db, { loadId: 'carry-1', source });
    await issues('carry-1', [1, 2]);
    expect(await buildChildItems(database.db, input('carry-1'))).toBe(2);
    await finishLoad(database.db, { loadId: 'carry-1', status: 'failed' });

    // Load 2's parent gives only issue 3: issues 1 and 2 are still fetched, first.
    await startLoad(database.db, { loadId: 'carry-2', source });
    await issues('carry-2', [3]);
    expect(await buildChildItems(database.db, input('carry-2'))).toBe(3);
    const items = await readChildItems(database.db, {
      loadId: 'carry-2',
      resource: 'comments',
      items: [1, 2, 3],
    });
    // The carried-over ones first (among themselves in no particular order), then this load's.
    expect(items.map((i) => i.fields['id'])).toEqual([expect.any(Number), expect.any(Number), 3]);
    expect(
      items
        .slice(0, 2)
        .map((i) => i.fields['id'] as number)
        .sort(),
    ).toEqual([1, 2]);
    await settleChildItems(database.db, {
      loadId: 'carry-2',
      resource: 'comments',
      items: items.map((i) => ({ item: i.item, state: 'done' as const })),
    });
    await forgetCarriedOver(database.db, { loadId: 'carry-2', source, resource: 'comments' });
    const left = await database.db
      .selectFrom('ingest.child_polls')
      .select('slice_hash')
      .where('source', '=', source)
      .where('resource', '=', 'comments')
      .execute();
    expect(left).toEqual([]);
  });

  it('reads the parent table when the parent did not run, leaving deleted rows and missing fields out', async () => {
    const loadId = 'children-2';
    await startLoad(database.db, { loadId, source });
    const table = await ensureResourceTable(database.db, {
      source,
      resource: 'stored_parents',
      tableName: 'stored_parents',
      primaryKey: ['key'],
    });
    const rows = [
      { key: 'a', data: { key: 'a', id: 1 }, deleted: false },
      { key: 'b', data: { key: 'b', id: 2 }, deleted: true },
      { key: 'c', data: { key: 'c', id: null }, deleted: false },
      { key: 'd', data: { key: 'd' }, deleted: false },
    ];
    for (const row of rows) {
      await sql`
        INSERT INTO ${sql.id(table.schema, table.table)}
          (${sql.id(table.primaryKey[0]!.column)}, data, _content_hash, _raw_hash, _load_id, _first_loaded_at,
           _changed_at, _deleted_at)
        VALUES (${row.key}, ${JSON.stringify(row.data)}::jsonb, 0, NULL, 'earlier', now(), now(),
                ${row.deleted ? sql`now()` : sql`NULL`})`.execute(database.db);
    }
    const count = await buildChildItems(database.db, {
      loadId,
      source,
      resource: 'stored_children',
      parents: { from: 'storage', table },
      paths: ['id'],
      requestPaths: ['id'],
      polled: false,
    });
    expect(count).toBe(3);
    const items = await readChildItems(database.db, {
      loadId,
      resource: 'stored_children',
      items: [1, 2, 3],
    });
    expect(items.map((i) => i.fields)).toEqual(expect.arrayContaining([{ id: 1 }, { id: null }, {}]));
  });

  it('of a polled child carries pending items over, never refetches final ones, and gives up stale ones', async () => {
    const polled = (loadId: string) => ({
      loadId,
      source,
      resource: 'statuses',
      parents: { from: 'run', parent: 'sends' } as const,
      paths: ['requestId'],
      requestPaths: ['requestId'],
      polled: true,
    });
    const sends = (loadId: string, ids: string[]) =>
      writeParentRecords(database.db, {
        loadId,
        resource: 'sends',
        seq: 1,
        paths: ['requestId'],
        values: ids.map((requestId) => ({ requestId })),
      });

    await startLoad(database.db, { loadId: 'poll-1', source });
    await sends('poll-1', ['r1', 'r2', 'r3']);
    expect(await buildChildItems(database.db, polled('poll-1'))).toBe(3);
    // Known across loads at once: had this load's resolution failed, the next load would poll them.
    const known = await database.db
      .selectFrom('ingest.child_polls')
      .select('state')
      .where('source', '=', source)
      .where('resource', '=', 'statuses')
      .execute();
    expect(known.map((k) => k.state)).toEqual(['pending', 'pending', 'pending']);
    await settleChildItems(database.db, {
      loadId: 'poll-1',
      resource: 'statuses',
      items: [
        { item: 1, state: 'done' },
        { item: 2, state: 'pending' },
        { item: 3, state: 'pending' },
      ],
    });
    await carryOverPolls(database.db, { loadId: 'poll-1', source, resource: 'statuses' });
    await finishLoad(database.db, { loadId: 'poll-1', status: 'succeeded' });
    expect(await parentRecordCount('poll-1')).toBe(0); // the load is over: its child work is gone

    // The next load's parent sends r1 (final: not again) and r4 (new); r2 and r3 carry over.
    await startLoad(database.db, { loadId: 'poll-2', source });
    await sends('poll-2', ['r1', 'r4']);
    expect(await buildChildItems(database.db, polled('poll-2'))).toBe(3);
    const items = await readChildItems(database.db, {
      loadId: 'poll-2',
      resource: 'statuses',
      items: [1, 2, 3],
    });
    expect(items.map((i) => i.fields['requestId'])).toEqual(['r2', 'r3', 'r4']);

    // r2 was first seen long ago: it is given up, with the reason, and not polled again.
    await sql`
      UPDATE ingest.child_items SET first_seen_at = now() - interval '2 days'
      WHERE load_id = 'poll-2' AND fields ->> 'requestId' = 'r2'`.execute(database.db);
    const givenUp = await giveUpStaleItems(database.db, {
      loadId: 'poll-2',
      source,
      resource: 'statuses',
      maxAgeMs: 86_400_000,
      requestPaths: ['requestId'],
    });
    expect(givenUp).toBe(1);
    const marked = await database.db
      .selectFrom('ingest.unresolvable_keys')
      .select(['key', 'reason'])
      .where('source', '=', source)
      .execute();
    expect(marked.map((m) => m.key)).toEqual(['r2']);
    expect(marked[0]?.reason).toContain('max_age_seconds');
    await carryOverPolls(database.db, { loadId: 'poll-2', source, resource: 'statuses' });
    const polls = await database.db
      .selectFrom('ingest.child_polls')
      .select(['state', sql<string>`fields ->> 'requestId'`.as('id')])
      .where('source', '=', source)
      .where('resource', '=', 'statuses')
      .orderBy('id')
      .execute();
    expect(polls).toEqual([
      { id: 'r1', state: 'final' },
      { id: 'r2', state: 'unresolvable' },
      { id: 'r3', state: 'pending' },
      { id: 'r4', state: 'pending' },
    ]);
  });
});
