/**
 * A big first load swaps in the table staging built (`src/db/merge/table-swap.ts`) — and copies instead whenever the swap
 * could be told apart: a reader holding the table, a snapshot that could see part of the staging, something that
 * depends on the table. Real Postgres; every load here is into the emptied `user_call_records`.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { mergeStaged, type MergeOptions } from '../../src/db/merge/merge.ts';
import { readResourceTable } from '../../src/db/tables/resource-tables.ts';
import { prepareStaging, type StagingOptions } from '../../src/db/staging/prepare.ts';
import { discardStagedFrom, dropStaging, type Staging } from '../../src/db/staging/registry.ts';
import { stageRecords } from '../../src/db/staging/stage-records.ts';
import { withDatabase } from '../helpers/database.ts';
import { callRecord, extracted, startRun } from './loader-fixtures.ts';

const database = withDatabase();
const calls = 'communications.user_call_records';
/** Any staged record makes a load "big": the swap is for big first loads only (default 50 000 records). */
const big: MergeOptions = { keyIndexRebuildFrom: 1 };

/** The batches of the loads below: three records, one with a duration that does not fit. */
const batches = [
  [callRecord('r1', { duration: 7 }), callRecord('r2', { duration: 'soon' })],
  [callRecord('r3')],
];

/** Empties the table and stages `batches` for a new load `loadId`. */
async function staged(
  loadId: string,
  options: StagingOptions = {},
  records: readonly (readonly Record<string, unknown>[])[] = batches,
): Promise<Staging> {
  await sql`TRUNCATE ${sql.table(calls)}`.execute(database.db);
  await startRun(database.db, loadId, 'communications', 'user_call_records');
  const staging = await prepareStaging(
    database.db,
    await readResourceTable(database.db, 'communications', 'user_call_records'),
    loadId,
    options,
  );
  for (const [seq, batch] of records.entries()) {
    await stageRecords(
      database.db,
      staging,
      seq,
      batch.map((r) => extracted(r)),
    );
  }
  return staging;
}

async function tableOid(): Promise<number> {
  const { rows } = await sql<{ oid: number }>`SELECT ${calls}::regclass::oid::int AS oid`.execute(
    database.db,
  );
  return rows[0]?.oid ?? 0;
}

/** Every column but the load's metadata, in key order: what a swap and a copy must agree on. */
async function content() {
  const { rows } = await sql<Record<string, unknown>>`
    SELECT * FROM ${sql.table(calls)} ORDER BY id`.execute(database.db);
  return rows.map(({ _load_id, _first_loaded_at, _changed_at, ...rest }) => rest);
}

/** The table's columns as a reader sees them: name, type, nullability, default, in order. */
async function columns() {
  const { rows } = await sql`
    SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
    WHERE table_schema = 'communications' AND table_name = 'user_call_records' ORDER BY ordinal_position`.execute(
    database.db,
  );
  return rows;
}

/** A second session, for readers that hold locks or snapshots across the merge. */
async function otherSession(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: database.url });
  client.on('error', () => undefined); // a dropped connection fails the query in progress: that is the report
  await client.connect();
  return client;
}

describe('a big first load', () => {
  it('stages into a logged table of the target’s shape when the table is empty', async () => {
    const staging = await staged('shape');
    expect(staging.swappable).toBe(true);
    const { rows } = await sql<{ persistence: string }>`
      SELECT relpersistence AS persistence FROM pg_class WHERE oid = ${`ingest.${staging.tableName}_rows`}::regclass`.execute(
      database.db,
    );
    expect(rows[0]?.persistence).toBe('p');
    // A retried attempt finds the same staging, swappable (read from the catalog, not remembered).
    const again = await prepareStaging(database.db, staging.target, 'shape');
    expect(again.swappable).toBe(true);
    await mergeStaged(database.db, staging, undefined, big);
  });

  it('swaps in the staged table: the rows, counts and shape a copy gives, the key enforced, nothing left', async () => {
    const copied = await mergeStaged(
      database.db,
      await staged('copy', { firstLoadSwap: false }),
      undefined,
      big,
    );
    const copiedContent = await content();
    const copiedColumns = await columns();
    const before = await tableOid();

    const staging = await staged('swap');
    const outcome = await mergeStaged(database.db, staging, undefined, big);
    expect(await tableOid()).not.toBe(before); // the path was taken
    const counts = {
      fetched: 3,
      distinct: 3,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      coercions: { duration: 1 },
    };
    expect(copied).toMatchObject(counts);
    expect(outcome).toMatchObject({ ...counts, deleted: 0, alreadyMerged: false });
    expect(await content()).toEqual(copiedContent);
    expect(await columns()).toEqual(copiedColumns);
    expect((await content()).map((r) => [r['id'], r['duration']])).toEqual([
      ['r1', '7'],
      ['r2', null],
      ['r3', '61'],
    ]);

    // The merge-time columns: this load, the merge transaction's time, not deleted.
    const { rows: meta } = await sql<{ same: boolean; load: string; deleted: number }>`
      SELECT bool_and(t._first_loaded_at = r.merged_at AND t._changed_at = r.merged_at) AS same,
             min(t._load_id) AS load, count(t._deleted_at)::int AS deleted
      FROM ${sql.table(calls)} AS t, ingest.resource_runs AS r
      WHERE r.load_id = 'swap' AND r.resource = 'user_call_records'`.execute(database.db);
    expect(meta[0]).toEqual({ same: true, load: 'swap', deleted: 0 });

    await expect(
      sql`INSERT INTO ${sql.table(calls)} SELECT * FROM ${sql.table(calls)} WHERE id = 'r1'`.execute(
        database.db,
      ),
    ).rejects.toMatchObject({ code: '23505' });
    const { rows: left } = await sql<{ rows: string | null; registered: number }>`
      SELECT to_regclass(${`ingest.${staging.tableName}_rows`})::text AS rows,
             (SELECT count(*)::int FROM ingest.staging_tables WHERE load_id = 'swap') AS registered`.execute(
      database.db,
    );
    expect(left[0]).toEqual({ rows: null, registered: 0 });

    // A retried merge finds the counts it recorded; the next load updates the swapped-in table in place.
    expect(await mergeStaged(database.db, staging, undefined, big)).toMatchObject({
      ...counts,
      alreadyMerged: true,
    });
    const after = await tableOid();
    await startRun(database.db, 'swap-next', 'communications', 'user_call_records');
    const next = await prepareStaging(database.db, staging.target, 'swap-next');
    expect(next.swappable).toBe(false);
    await stageRecords(database.db, next, 0, [
      extracted(callRecord('r1', { duration: 8 })),
      extracted(callRecord('r4')),
    ]);
    expect(await mergeStaged(database.db, next, undefined, big)).toMatchObject({ inserted: 1, updated: 1 });
    expect(await tableOid()).toBe(after);
  });

  it('keeps what was granted, commented and indexed on the table it replaces', async () => {
    const role = `reader_${randomBytes(4).toString('hex')}`;
    await sql`CREATE ROLE ${sql.id(role)}`.execute(database.db);
    try {
      await sql`GRANT SELECT, UPDATE ON ${sql.table(calls)} TO ${sql.id(role)}`.execute(database.db);
      await sql`COMMENT ON TABLE ${sql.table(calls)} IS 'call records, one per call'`.execute(database.db);
      await sql`COMMENT ON COLUMN ${sql.table(calls)}.duration IS 'seconds'`.execute(database.db);
      await sql`CREATE INDEX calls_by_start ON ${sql.table(calls)} (start_time DESC)`.execute(database.db);
      const before = await tableOid();
      await mergeStaged(database.db, await staged('kept'), undefined, big);
      expect(await tableOid()).not.toBe(before);
      const { rows } = await sql<Record<string, unknown>>`
        SELECT has_table_privilege(${role}, ${calls}, 'SELECT') AS reads,
               has_table_privilege(${role}, ${calls}, 'UPDATE') AS updates,
               has_table_privilege(${role}, ${calls}, 'DELETE') AS deletes,
               obj_description(${calls}::regclass, 'pg_class') AS comment,
               (SELECT col_description(attrelid, attnum) FROM pg_attribute
                WHERE attrelid = ${calls}::regclass AND attname = 'duration') AS duration,
               (SELECT pg_get_indexdef(indexrelid) FROM pg_index
                WHERE indexrelid = 'communications.calls_by_start'::regclass) AS index`.execute(database.db);
      expect(rows[0]).toEqual({
        reads: true,
        updates: true,
        deletes: false,
        comment: 'call records, one per call',
        duration: 'seconds',
        index:
          'CREATE INDEX calls_by_start ON communications.user_call_records USING btree (start_time DESC)',
      });
      const { rows: used } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM ${sql.table(calls)} WHERE start_time IS NOT NULL`.execute(database.db);
      expect(used[0]?.n).toBe(3);
    } finally {
      await sql`DROP INDEX IF EXISTS communications.calls_by_start`.execute(database.db);
      await sql`COMMENT ON TABLE ${sql.table(calls)} IS NULL`.execute(database.db);
      await sql`COMMENT ON COLUMN ${sql.table(calls)}.duration IS NULL`.execute(database.db);
      await sql`REVOKE ALL ON ${sql.table(calls)} FROM ${sql.id(role)}`.execute(database.db);
      await sql`DROP ROLE ${sql.id(role)}`.execute(database.db);
    }
  });

  it('copies instead, neither waiting nor blocking, when a reader holds the table', async () => {
    const staging = await staged('locked');
    const before = await tableOid();
    const reader = await otherSession();
    try {
      await reader.query(`BEGIN; SELECT count(*) FROM ${calls}`);
      expect(await mergeStaged(database.db, staging, undefined, big)).toMatchObject({ inserted: 3 });
      await reader.query('COMMIT');
    } finally {
      await reader.end();
    }
    expect(await tableOid()).toBe(before);
    expect(await content()).toHaveLength(3);
  });

  it('copies instead while a repeatable-read snapshot could see part of the staging; that reader then sees none', async () => {
    await sql`TRUNCATE ${sql.table(calls)}`.execute(database.db);
    const before = await tableOid();
    const reader = await otherSession();
    try {
      // Half the load staged, then a snapshot taken: in a swapped-in table it would see the first batch only.
      const staging = await staged('snapshot', {}, batches.slice(0, 1));
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query('SELECT 1');
      await stageRecords(
        database.db,
        staging,
        1,
        (batches[1] ?? []).map((r) => extracted(r)),
      );
      expect(await mergeStaged(database.db, staging, undefined, big)).toMatchObject({ inserted: 3 });
      expect(await tableOid()).toBe(before);
      const { rows } = await reader.query<{ n: string }>(`SELECT count(*) AS n FROM ${calls}`);
      expect(Number(rows[0]?.n)).toBe(0); // the table as it was when the snapshot was taken: empty
      await reader.query('COMMIT');
    } finally {
      await reader.end();
    }
  });

  it('swaps when every snapshot is younger than the staging’s last write: such a reader sees the whole load', async () => {
    const staging = await staged('young');
    const before = await tableOid();
    const reader = await otherSession();
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query('SELECT 1');
      expect(await mergeStaged(database.db, staging, undefined, big)).toMatchObject({ inserted: 3 });
      expect(await tableOid()).not.toBe(before);
      const { rows } = await reader.query<{ n: string }>(`SELECT count(*) AS n FROM ${calls}`);
      expect(Number(rows[0]?.n)).toBe(3);
      await reader.query('COMMIT');
    } finally {
      await reader.end();
    }
  });

  it('copies instead while a standby without feedback is connected (a replication connection with no xmin)', async () => {
    const staging = await staged('no-feedback');
    const before = await tableOid();
    // A physical replication connection that has sent no feedback: what a standby with hot_standby_feedback off
    // (or a streaming backup) looks like to the primary.
    const url = new URL(database.url);
    url.searchParams.set('replication', 'true');
    const standby = new pg.Client({ connectionString: url.toString() });
    standby.on('error', () => undefined); // ended below; a dropped connection is not this test's subject
    await standby.connect();
    try {
      expect(await mergeStaged(database.db, staging, undefined, big)).toMatchObject({ inserted: 3 });
      expect(await tableOid()).toBe(before);
    } finally {
      await standby.end();
    }
    // Gone again: the next first load swaps.
    const next = await staged('feedback-gone');
    const beforeNext = await tableOid();
    expect(await mergeStaged(database.db, next, undefined, big)).toMatchObject({ inserted: 3 });
    expect(await tableOid()).not.toBe(beforeNext);
  });

  it('counts a discard as a write of the staging: an older snapshot makes it copy', async () => {
    const staging = await staged('discard', {}, [...batches, [callRecord('r9')]]);
    const reader = await otherSession();
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query('SELECT 1');
      await discardStagedFrom(database.db, staging, 2); // r9 is gone from the load, not from that snapshot's view
      const before = await tableOid();
      expect(await mergeStaged(database.db, staging, undefined, big)).toMatchObject({
        fetched: 3,
        inserted: 3,
      });
      expect(await tableOid()).toBe(before);
      await reader.query('COMMIT');
    } finally {
      await reader.end();
    }
    expect((await content()).map((r) => r['id'])).toEqual(['r1', 'r2', 'r3']);
  });

  it('copies a load that repeats a key: the later record wins, and an older snapshot never sees the loser', async () => {
    const staging = await staged('repeated', {}, [...batches, [callRecord('r1', { duration: 9 })]]);
    const before = await tableOid();
    const reader = await otherSession();
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query('SELECT 1');
      expect(await mergeStaged(database.db, staging, undefined, big)).toMatchObject({
        fetched: 4,
        distinct: 3,
        inserted: 3,
      });
      const { rows } = await reader.query<{ n: string }>(`SELECT count(*) AS n FROM ${calls}`);
      expect(Number(rows[0]?.n)).toBe(0);
      await reader.query('COMMIT');
    } finally {
      await reader.end();
    }
    expect(await tableOid()).toBe(before);
    expect((await content()).map((r) => [r['id'], r['duration']])).toEqual([
      ['r1', '9'],
      ['r2', null],
      ['r3', '61'],
    ]);
  });

  it('copies below the threshold (the default is 50 000 records), from the same logged staging', async () => {
    const staging = await staged('small');
    expect(staging.swappable).toBe(true);
    const before = await tableOid();
    expect(await mergeStaged(database.db, staging)).toMatchObject({
      inserted: 3,
      coercions: { duration: 1 },
    });
    expect(await tableOid()).toBe(before);
    expect(await content()).toHaveLength(3);
  });

  it('replaces an empty table by swapping too, deleting nothing', async () => {
    const staging = await staged('replace');
    const before = await tableOid();
    const outcome = await mergeStaged(
      database.db,
      staging,
      { disposition: 'replace', deletionDetection: false },
      big,
    );
    expect(outcome).toMatchObject({ inserted: 3, deleted: 0 });
    expect(await tableOid()).not.toBe(before);
  });

  const refusals = [
    {
      why: 'when asked not to',
      options: { firstLoadSwap: false },
      before: sql`SELECT 1`,
      after: sql`SELECT 1`,
    },
    {
      why: 'when a view depends on the table',
      options: {},
      before: sql`CREATE VIEW public.call_ids AS SELECT id FROM communications.user_call_records`,
      after: sql`DROP VIEW public.call_ids`,
    },
    {
      why: 'when the table has a trigger',
      options: {},
      before: sql`CREATE TRIGGER calls_noop BEFORE UPDATE ON communications.user_call_records
                  FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()`,
      after: sql`DROP TRIGGER calls_noop ON communications.user_call_records`,
    },
  ];
  for (const [n, { why, options, before: create, after: drop }] of refusals.entries()) {
    it(`stages and merges as usual ${why}`, async () => {
      await create.execute(database.db);
      try {
        const staging = await staged(`refused-${n}`, options);
        expect(staging.swappable).toBe(false);
        const { rows } = await sql<{ persistence: string }>`
          SELECT relpersistence AS persistence FROM pg_class
          WHERE oid = ${`ingest.${staging.tableName}_rows`}::regclass`.execute(database.db);
        expect(rows[0]?.persistence).toBe('u');
        const before = await tableOid();
        expect(await mergeStaged(database.db, staging, undefined, big)).toMatchObject({ inserted: 3 });
        expect(await tableOid()).toBe(before);
      } finally {
        await drop.execute(database.db);
      }
    });
  }

  it('stages as usual into a table that has a row, deleted or not', async () => {
    await mergeStaged(database.db, await staged('first'), undefined, big);
    await sql`UPDATE ${sql.table(calls)} SET _deleted_at = now()`.execute(database.db);
    await startRun(database.db, 'second', 'communications', 'user_call_records');
    const staging = await prepareStaging(
      database.db,
      await readResourceTable(database.db, 'communications', 'user_call_records'),
      'second',
    );
    expect(staging.swappable).toBe(false);
    await dropStaging(database.db, 'second', 'user_call_records');
  });
});
