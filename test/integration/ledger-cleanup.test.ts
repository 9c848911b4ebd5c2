/**
 * The ledger's clean-up in a real Postgres (issue #26): closing a load drops the staging and checkpoints a failed
 * resource left (idempotently), a closed load cannot stage again, a staging still locked at the close is swept by the
 * source's next load, finished loads older than the ledger retention go with their rows, and free text with U+0000
 * reaches the ledger as the visible `\u0000`.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { beginLoad, finishLoad as finishLoadActivity } from '../../src/activities/load-lifecycle.ts';
import { recordFailure } from '../../src/activities/resource-run.ts';
import { readCheckpoint, saveCheckpoint } from '../../src/db/ledger/checkpoints.ts';
import { markUnresolvable } from '../../src/db/ledger/child-outcomes.ts';
import {
  finishLoad,
  finishResourceRun,
  readResourceRuns,
  skipResourceRun,
  startLoad,
  startResourceRun,
} from '../../src/db/ledger/ledger.ts';
import { ledgerJson, ledgerText } from '../../src/db/ledger/ledger-text.ts';
import { mergeStaged } from '../../src/db/merge/merge.ts';
import { prepareStaging } from '../../src/db/staging/prepare.ts';
import { stagingTableName } from '../../src/db/staging/registry.ts';
import { stageRecords } from '../../src/db/staging/stage-records.ts';
import { readResourceTable } from '../../src/db/tables/resource-tables.ts';
import { IngestError } from '../../src/errors.ts';
import type { ResourceReport } from '../../src/shared/ingest-types.ts';
import type { ResolvedResource } from '../../src/shared/plan.ts';
import { withDatabase } from '../helpers/database.ts';
import { callRecord, extracted, startRun } from './loader-fixtures.ts';

const database = withDatabase();
const source = 'communications';
const resource = 'user_call_records';
const zero = { fetched: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0, pages: 0 };
const lifecycle = () => ({ db: database.db, runStatus: () => Promise.resolve('closed' as const) });

async function tableExists(name: string): Promise<boolean> {
  const { rows } = await sql<{ t: string | null }>`SELECT to_regclass(${name})::text AS t`.execute(
    database.db,
  );
  return rows[0]?.t != null;
}

async function countWhere(table: 'ingest.staging_tables' | 'ingest.staged_batches', loadId: string) {
  const row = await database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('load_id', '=', loadId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A load of `source` whose `resource` staged two pages and checkpointed, then failed (no merge). */
async function failedAfterStaging(loadId: string): Promise<string> {
  await startRun(database.db, loadId, source, resource);
  const staging = await prepareStaging(
    database.db,
    await readResourceTable(database.db, source, resource),
    loadId,
  );
  await stageRecords(database.db, staging, 1, [extracted(callRecord(`${loadId}-a`))]);
  await stageRecords(database.db, staging, 2, [extracted(callRecord(`${loadId}-b`))]);
  await saveCheckpoint(database.db, loadId, resource, { pages: 2, next: 'https://x/?page=3' });
  return `ingest.${stagingTableName(loadId, resource)}`;
}

async function expectStagingGone(loadId: string, table: string): Promise<void> {
  expect(await tableExists(table)).toBe(false);
  expect(await tableExists(`${table}_rows`)).toBe(false);
  expect(await countWhere('ingest.staging_tables', loadId)).toBe(0);
  expect(await countWhere('ingest.staged_batches', loadId)).toBe(0);
  expect(await readCheckpoint(database.db, loadId, resource)).toBeUndefined();
}

const failedReport = (message: string): ResourceReport => ({
  resource,
  status: 'failed',
  counts: zero,
  reason: { code: 'INVALID_JSON', message },
});

describe('closing a load', () => {
  it('drops the staging and checkpoints a failed resource left, idempotently; a merged one keeps its rows', async () => {
    const loadId = 'close-1';
    const table = await failedAfterStaging(loadId);
    // Another resource of the load merged: its rows stay, its staging was dropped by the merge.
    await startResourceRun(database.db, { loadId, source, resource: 'call_queues' });
    const queues = await readResourceTable(database.db, source, 'call_queues');
    const merged = await prepareStaging(database.db, queues, loadId);
    await stageRecords(database.db, merged, 1, [extracted({ id: 'q-1', name: 'Queue' })]);
    await mergeStaged(database.db, merged);
    expect(await tableExists(table)).toBe(true);

    const input = {
      loadId,
      source,
      workflowId: 'wf',
      outcome: 'partial' as const,
      resources: [failedReport('boom'), { resource: 'call_queues', status: 'ok' as const, counts: zero }],
    };
    await finishLoadActivity(input, lifecycle());
    await expectStagingGone(loadId, table);
    await finishLoadActivity(input, lifecycle()); // a retried activity
    const load = await database.db
      .selectFrom('ingest.loads')
      .select(['status', 'error'])
      .where('load_id', '=', loadId)
      .executeTakeFirstOrThrow();
    expect(load).toEqual({ status: 'partial', error: `${resource}: boom` });
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM communications.call_queues WHERE id = 'q-1'`.execute(database.db);
    expect(Number(rows[0]?.n)).toBe(1);
  });

  it('refuses to stage for a closed load (a cancelled attempt still finishing), creating nothing', async () => {
    const loadId = 'close-2';
    const table = await failedAfterStaging(loadId);
    await finishLoad(database.db, { loadId, status: 'failed', error: 'x' });
    await expect(
      prepareStaging(database.db, await readResourceTable(database.db, source, resource), loadId),
    ).rejects.toMatchObject({ code: 'LOAD_CLOSED', retryable: false });
    await expectStagingGone(loadId, table);
  });

  it('refuses the merge of an attempt still finishing after its load closed, writing nothing', async () => {
    const loadId = 'close-merge';
    await failedAfterStaging(loadId);
    const staging = await prepareStaging(
      database.db,
      await readResourceTable(database.db, source, resource),
      loadId,
    );
    // The run closed the load while this attempt was on its way to its merge (its staging not dropped yet).
    await sql`UPDATE ingest.loads SET status = 'failed' WHERE load_id = ${loadId}`.execute(database.db);
    const { rows: before } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM communications.user_call_records`.execute(database.db);
    await expect(mergeStaged(database.db, staging)).rejects.toMatchObject({
      code: 'LOAD_CLOSED',
      retryable: false,
    });
    const { rows: after } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM communications.user_call_records`.execute(database.db);
    expect(after).toEqual(before);
  });

  it('leaves a staging that stays locked past the timeout to the next load of the source, which sweeps it', async () => {
    const loadId = 'close-3';
    const table = await failedAfterStaging(loadId);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // An attempt still reading the staging (a merge that was cancelled, say) holds a lock on it.
    const holder = database.db.transaction().execute(async (trx) => {
      await sql`LOCK TABLE ${sql.table(table)} IN ACCESS SHARE MODE`.execute(trx);
      locked();
      await released;
    });
    await isLocked;
    try {
      await finishLoad(database.db, { loadId, status: 'failed' }, { lockTimeoutMs: 100 });
    } finally {
      release();
      await holder;
    }
    const closed = await database.db
      .selectFrom('ingest.loads')
      .select('status')
      .where('load_id', '=', loadId)
      .executeTakeFirstOrThrow();
    expect(closed.status).toBe('failed');
    expect(await tableExists(table)).toBe(true);
    expect(await readCheckpoint(database.db, loadId, resource)).toBeUndefined();

    await beginLoad(
      { source, planHash: 'h', workflowId: 'wf-next', runId: 'close-3-next', resources: [resource] },
      lifecycle(),
    );
    await expectStagingGone(loadId, table);
    await finishLoad(database.db, { loadId: 'close-3-next', status: 'succeeded' });
  });
});

describe('the ledger retention', () => {
  const daysAgo = (days: number) => sql<Date>`now() - make_interval(days => ${days})`;

  async function finishedLoad(loadId: string, loadSource: string, days: number): Promise<void> {
    await startLoad(database.db, { loadId, source: loadSource });
    await startResourceRun(database.db, { loadId, source: loadSource, resource });
    await finishLoad(database.db, { loadId, status: 'succeeded' });
    await database.db
      .updateTable('ingest.loads')
      .set({ started_at: daysAgo(days + 1), finished_at: daysAgo(days) })
      .where('load_id', '=', loadId)
      .execute();
  }

  async function remaining(table: 'ingest.loads' | 'ingest.resource_runs' | 'ingest.send_intents') {
    const rows = await database.db
      .selectFrom(table)
      .select('load_id')
      .where('load_id', 'like', 'ret-%')
      .orderBy('load_id')
      .execute();
    return rows.map((r) => r.load_id);
  }

  it("purges, when a load begins, the source's finished loads older than it (default 180 days), with their rows", async () => {
    const retained = 'retention';
    await finishedLoad('ret-old', retained, 200);
    await finishedLoad('ret-recent', retained, 10);
    await finishedLoad('ret-other-source', 'retention-other', 400);
    await database.db
      .insertInto('ingest.send_intents')
      .values([
        { load_id: 'ret-old', resource, source: retained },
        { load_id: 'ret-recent', resource, source: retained },
      ])
      .execute();
    await markUnresolvable(database.db, { loadId: 'ret-old', source: retained, resource: 'sms' }, [
      { key: 'old-key', httpStatus: 404, reason: 'gone' },
      { key: 'new-key', httpStatus: 404, reason: 'gone' },
    ]);
    await database.db
      .updateTable('ingest.unresolvable_keys')
      .set({ marked_at: daysAgo(200) })
      .where('key', '=', 'old-key')
      .execute();

    const begin = (runId: string) => ({
      source: retained,
      planHash: 'h',
      workflowId: `wf-${runId}`,
      runId,
      resources: [resource],
    });
    await beginLoad(begin('ret-run-1'), lifecycle());
    expect(await remaining('ingest.loads')).toEqual(['ret-other-source', 'ret-recent', 'ret-run-1']);
    expect(await remaining('ingest.resource_runs')).toEqual(['ret-other-source', 'ret-recent']);
    expect(await remaining('ingest.send_intents')).toEqual(['ret-recent']);
    const keys = await database.db
      .selectFrom('ingest.unresolvable_keys')
      .select('key')
      .where('source', '=', retained)
      .execute();
    expect(keys.map((k) => k.key)).toEqual(['new-key']);

    // A shorter retention from the worker; the running load (the lease) is never purged.
    await finishLoad(database.db, { loadId: 'ret-run-1', status: 'succeeded' });
    await beginLoad(begin('ret-run-2'), { ...lifecycle(), ledgerRetentionDays: 5 });
    expect(await remaining('ingest.loads')).toEqual(['ret-other-source', 'ret-run-1', 'ret-run-2']);
    expect(await remaining('ingest.send_intents')).toEqual([]);
    await finishLoad(database.db, { loadId: 'ret-run-2', status: 'succeeded' });
  });
});

describe('U+0000 in ledger text', () => {
  const nul = 'Unexpected token \'\u0000\', "{"id":\u0000}" is not valid JSON';
  const escaped = 'Unexpected token \'\\u0000\', "{"id":\\u0000}" is not valid JSON';

  it('is written as the visible \\u0000 by every writer of free text, which then succeeds', async () => {
    const loadId = 'nul-1';
    await startRun(database.db, loadId, source, resource);
    const error = new IngestError('response-shape', 'INVALID_JSON', `record 1 is not valid JSON: ${nul}`);
    await recordFailure(database.db, { loadId, resource: { name: resource } as ResolvedResource }, error);
    const [run] = await readResourceRuns(database.db, loadId);
    expect(run).toMatchObject({ status: 'failed', error: `record 1 is not valid JSON: ${escaped}` });

    await finishResourceRun(database.db, { loadId, resource, status: 'failed', error: nul });
    await skipResourceRun(database.db, { loadId, source, resource: 'call_queues', reason: nul });
    expect((await readResourceRuns(database.db, loadId)).map((r) => [r.error, r.skipReason])).toEqual([
      [null, escaped],
      [escaped, null],
    ]);

    await markUnresolvable(database.db, { loadId, source, resource: 'sms' }, [
      { key: 'k\u0000', httpStatus: 404, reason: nul },
    ]);
    const key = await database.db
      .selectFrom('ingest.unresolvable_keys')
      .select(['key', 'reason'])
      .where('load_id', '=', loadId)
      .executeTakeFirstOrThrow();
    expect(key).toEqual({ key: 'k\\u0000', reason: escaped });

    await finishLoadActivity(
      {
        loadId,
        source,
        workflowId: 'wf',
        outcome: 'failed',
        resources: [{ ...failedReport(nul), counts: { ...zero, drift: { 'a\u0000b': 1 } } }],
      },
      lifecycle(),
    );
    const load = await database.db
      .selectFrom('ingest.loads')
      .select(['status', 'error', 'report'])
      .where('load_id', '=', loadId)
      .executeTakeFirstOrThrow();
    expect(load.status).toBe('failed');
    expect(load.error).toBe(`${resource}: ${escaped}`);
    const report = load.report as { resources: ResourceReport[] };
    expect(report.resources[0]?.reason?.message).toBe(escaped);
    expect(report.resources[0]?.counts.drift).toEqual({ 'a\\u0000b': 1 });
  });

  it('leaves other text as it is, and a backslash before "u0000" is not mistaken for U+0000', () => {
    expect(ledgerText('plain ✓ text')).toBe('plain ✓ text');
    expect(ledgerText('a\\u0000b')).toBe('a\\u0000b');
    expect(JSON.parse(ledgerJson({ t: 'a\\u0000b', n: 'x\u0000', list: ['\u0000'] }))).toEqual({
      t: 'a\\u0000b',
      n: 'x\\u0000',
      list: ['\\u0000'],
    });
    expect(ledgerJson(undefined)).toBe('null');
  });
});
