import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { deleteCheckpoint, readCheckpoint, saveCheckpoint } from '../../src/db/ledger/checkpoints.ts';
import {
  finishLoad,
  finishResourceRun,
  readResourceRuns,
  reconcileAbandonedLoads,
  skipResourceRun,
  startLoad,
  startResourceRun,
} from '../../src/db/ledger/ledger.ts';
import { mergeStaged } from '../../src/db/merge/merge.ts';
import { assertSchemaCurrent } from '../../src/db/migrations.ts';
import { projectRoot } from '../../src/local/paths.ts';
import { readResourceTable } from '../../src/db/tables/resource-tables.ts';
import { prepareStaging } from '../../src/db/staging/prepare.ts';
import { stagingTableName } from '../../src/db/staging/registry.ts';
import { stageRecords } from '../../src/db/staging/stage-records.ts';
import { withDatabase } from '../helpers/database.ts';
import { callRecord, extracted } from './loader-fixtures.ts';

const database = withDatabase();

async function tableExists(name: string): Promise<boolean> {
  const { rows } = await sql<{ t: string | null }>`SELECT to_regclass(${name})::text AS t`.execute(
    database.db,
  );
  return rows[0]?.t != null;
}

describe('the schema', () => {
  it('is current after the migrations, with every system table', async () => {
    await expect(
      assertSchemaCurrent(database.db, { folder: join(projectRoot, 'migrations') }),
    ).resolves.toBeUndefined();
    for (const table of [
      'loads',
      'resource_runs',
      'checkpoints',
      'rejected_records',
      'send_intents',
      'parent_records',
      'child_items',
      'child_polls',
      'resource_tables',
      'resource_columns',
      'staging_tables',
      'staged_batches',
    ]) {
      expect(await tableExists(`ingest.${table}`)).toBe(true);
    }
  });

  it('keeps one send intent per load and resource', async () => {
    await startLoad(database.db, { loadId: 'send-load', source: 'messaging-send-test' });
    await database.db
      .insertInto('ingest.send_intents')
      .values({ load_id: 'send-load', resource: 'sms', source: 'messaging-send-test' })
      .execute();
    await expect(
      database.db
        .insertInto('ingest.send_intents')
        .values({ load_id: 'send-load', resource: 'sms', source: 'messaging-send-test' })
        .execute(),
    ).rejects.toMatchObject({ code: '23505' }); // unique_violation
    await database.db
      .updateTable('ingest.send_intents')
      .set({ status: 'sent', replied_at: new Date() })
      .where('load_id', '=', 'send-load')
      .execute();
    const intent = await database.db.selectFrom('ingest.send_intents').selectAll().executeTakeFirstOrThrow();
    expect(intent).toMatchObject({ status: 'sent', resource: 'sms' });
  });
});

describe('the ledger', () => {
  it('records a load and its resource runs, idempotently, with the counts of the merge', async () => {
    const loadId = 'ledger-1';
    const input = { loadId, source: 'communications', workflowId: 'ingest/communications/1', runId: 'r1' };
    await startLoad(database.db, input);
    await startLoad(database.db, input); // a retried activity
    await startResourceRun(database.db, { loadId, source: 'communications', resource: 'user_call_records' });
    await startResourceRun(database.db, { loadId, source: 'communications', resource: 'user_call_records' });
    await skipResourceRun(database.db, {
      loadId,
      source: 'communications',
      resource: 'call_queues',
      reason: 'not selected',
    });
    const table = await readResourceTable(database.db, 'communications', 'user_call_records');
    const staging = await prepareStaging(database.db, table, loadId);
    await stageRecords(database.db, staging, 0, [
      extracted(callRecord('a')),
      extracted(callRecord('b', { startTime: 'yesterday' })),
      extracted({ uri: 'no key' }),
    ]);
    await mergeStaged(database.db, staging);
    await finishResourceRun(database.db, { loadId, resource: 'user_call_records', status: 'succeeded' });
    await finishLoad(database.db, { loadId, status: 'succeeded', report: { resources: 2 } });

    const runs = await readResourceRuns(database.db, loadId);
    expect(runs.map((r) => [r.resource, r.status])).toEqual([
      ['call_queues', 'skipped'],
      ['user_call_records', 'succeeded'],
    ]);
    expect(runs[1]).toMatchObject({
      attempts: 2,
      fetched: 2,
      inserted: 2,
      updated: 0,
      unchanged: 0,
      rejected: 1,
      coercions: { start_time: 1 },
    });
    expect(runs[1]?.mergedAt).toBeInstanceOf(Date);
    expect(runs[1]?.finishedAt).toBeInstanceOf(Date);
    const load = await database.db
      .selectFrom('ingest.loads')
      .selectAll()
      .where('load_id', '=', loadId)
      .executeTakeFirstOrThrow();
    expect(load).toMatchObject({
      status: 'succeeded',
      workflow_id: 'ingest/communications/1',
      report: { resources: 2 },
    });
  });

  it('does not reopen a resource run that already succeeded', async () => {
    const loadId = 'ledger-2';
    await startLoad(database.db, { loadId, source: 'communications' });
    await startResourceRun(database.db, { loadId, source: 'communications', resource: 'call_queues' });
    await finishResourceRun(database.db, { loadId, resource: 'call_queues', status: 'succeeded' });
    await startResourceRun(database.db, { loadId, source: 'communications', resource: 'call_queues' });
    const [run] = await readResourceRuns(database.db, loadId);
    expect(run).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('reconciles loads left running by a terminated run: abandoned, staging dropped, the new run spared', async () => {
    await startLoad(database.db, { loadId: 'dead', source: 'messaging' });
    await startResourceRun(database.db, { loadId: 'dead', source: 'messaging', resource: 'contacts' });
    const table = await readResourceTable(database.db, 'messaging', 'contacts');
    const staging = await prepareStaging(database.db, table, 'dead');
    await stageRecords(database.db, staging, 0, [extracted({ requestId: 'x', contactName: 'Ada' })]);
    await startLoad(database.db, { loadId: 'other-source', source: 'communications' });
    await startLoad(database.db, { loadId: 'current', source: 'messaging' });

    const outcome = await reconcileAbandonedLoads(database.db, 'messaging', { exceptLoadId: 'current' });
    expect(outcome).toEqual({ loads: ['dead'], resourceRuns: 1, stagingTablesDropped: 1 });
    expect(await tableExists(`ingest.${stagingTableName('dead', 'contacts')}`)).toBe(false);
    const statuses = await database.db
      .selectFrom('ingest.loads')
      .select(['load_id', 'status'])
      .where('load_id', 'in', ['dead', 'other-source', 'current'])
      .orderBy('load_id')
      .execute();
    expect(statuses).toEqual([
      { load_id: 'current', status: 'running' },
      { load_id: 'dead', status: 'abandoned' },
      { load_id: 'other-source', status: 'running' },
    ]);
    const [run] = await readResourceRuns(database.db, 'dead');
    expect(run?.status).toBe('abandoned');
    expect(await reconcileAbandonedLoads(database.db, 'messaging', { exceptLoadId: 'current' })).toEqual({
      loads: [],
      resourceRuns: 0,
      stagingTablesDropped: 0,
    });
  });
});

describe('checkpoints', () => {
  it('save, replace, read and delete a paginator state per load and resource', async () => {
    await startLoad(database.db, { loadId: 'cp', source: 'communications' });
    expect(await readCheckpoint(database.db, 'cp', 'user_call_records')).toBeUndefined();
    await saveCheckpoint(database.db, 'cp', 'user_call_records', { page: 3, next: 'https://x/?cursor=abc' });
    await saveCheckpoint(database.db, 'cp', 'user_call_records', { page: 4, next: null });
    expect(await readCheckpoint(database.db, 'cp', 'user_call_records')).toEqual({ page: 4, next: null });
    expect(await readCheckpoint(database.db, 'cp', 'call_queues')).toBeUndefined();
    await deleteCheckpoint(database.db, 'cp', 'user_call_records');
    expect(await readCheckpoint(database.db, 'cp', 'user_call_records')).toBeUndefined();
  });
});
