/**
 * The SMS path end to end (real dev server, worker, Postgres, the sandbox over HTTP): `sms` (side effects) sends at
 * most once whatever happens to its reply, and `messages` — a child with `poll` — is resolved by `resolveChildren`:
 * this run's request id, or, when `sms` does not run, the ids stored in Postgres, in batches, continuing as new,
 * with 404s as per-record outcomes.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planSource } from '../../src/activities/plan-source.ts';
import { startLoad } from '../../src/db/ledger/ledger.ts';
import { createHttpClient } from '../../src/http/client.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport, ResolveTotals } from '../../src/shared/ingest-types.ts';
import type { ingestSource, resolveChildren } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;
let runs = 0;
const to = '+15550100001';

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 3, messages: { finalAfterPolls: 0 } });
});
afterAll(() => sandbox.stop());
afterEach(() => {
  sandbox.faults.clear();
  sandbox.log.clear();
});

function workerOptions(extra: { readonly headersMs?: number; readonly sms?: boolean } = {}) {
  return {
    env: {
      MESSAGING_API_KEY: sandbox.keys.messaging,
      ...(extra.sms === false ? {} : { MESSAGING_CONFIG_TO: to, MESSAGING_CONFIG_FROM: 'durable-ingest' }),
    },
    baseUrls: { messaging: sandbox.url },
    sandbox: true,
    activities: {
      heartbeatIntervalMs: 200,
      ...(extra.headersMs === undefined
        ? {}
        : { http: createHttpClient({ timeouts: { headersMs: extra.headersMs } }) }),
    },
  };
}

async function ingest(
  options: ReturnType<typeof workerOptions>,
  resources?: readonly string[],
  extra: { readonly acknowledgeSends?: readonly string[] } = {},
) {
  return temporal.withWorker(
    database.db,
    async () => {
      try {
        const report = await temporal.client.workflow.execute<typeof ingestSource>('ingestSource', {
          taskQueue: temporal.taskQueue,
          workflowId: `ingest/messaging/${temporal.taskQueue}/${++runs}`,
          args: [{ source: 'messaging', ...(resources ? { resources } : {}), ...extra }],
        });
        return { report, failure: undefined };
      } catch (error) {
        const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
        if (!(cause instanceof ApplicationFailure)) throw error;
        return { report: cause.details?.[0] as LoadReport, failure: cause };
      }
    },
    options,
  );
}

const sends = () => sandbox.messaging.sendCount(to);

describe('the SMS path', () => {
  it('sends exactly one SMS and lands its message with a final status', async () => {
    const before = sends();
    const { report, failure } = await ingest(workerOptions());
    expect(failure).toBeUndefined();
    expect(sends() - before).toBe(1);
    const intent = await database.db
      .selectFrom('ingest.send_intents')
      .select('status')
      .where('load_id', '=', report.loadId)
      .executeTakeFirstOrThrow();
    expect(intent.status).toBe('sent');
    // The message behind the request id this run's send returned, resolved by the child workflow in this run.
    const { rows } = await sql<{ status: string }>`
      SELECT m.status FROM messaging.messages AS m
      JOIN messaging.sms AS s ON s.request_id = m.request_id
      WHERE s._load_id = ${report.loadId}`.execute(database.db);
    expect(rows).toHaveLength(1);
    expect(['DELIVERED', 'UNDELIVERABLE', 'REJECTED', 'EXPIRED']).toContain(rows[0]?.status);
    expect(report.resources.find((r) => r.resource === 'messages')).toMatchObject({ status: 'ok' });
  });

  it('does not send again when the reply is lost after the send: the resource reports outcome unknown', async () => {
    sandbox.faults.add({
      path: '/messaging/v1/sms',
      fault: { type: 'reset', when: 'before-headers' },
      phase: 'after-handler',
      times: 1,
    });
    const before = sends();
    const { report, failure } = await ingest(workerOptions());
    expect(sends() - before).toBe(1);
    expect(failure?.type).toBe('INGEST_PARTIAL_FAILURE');
    const sms = report.resources.find((r) => r.resource === 'sms');
    expect(sms).toMatchObject({ status: 'failed', reason: { code: 'SEND_OUTCOME_UNKNOWN' } });
    expect(sandbox.log.entries().filter((e) => e.path.startsWith('/messaging/v1/sms'))).toHaveLength(1);

    // That send may have gone out: the next run does not send until an operator acknowledges it.
    const blocked = await ingest(workerOptions(), ['sms']);
    expect(sends() - before).toBe(1);
    expect(blocked.report.resources.find((r) => r.resource === 'sms')).toMatchObject({
      status: 'failed',
      reason: { code: 'SEND_OUTCOME_UNKNOWN_EARLIER' },
    });
    const acknowledged = await ingest(workerOptions(), ['sms'], { acknowledgeSends: ['sms'] });
    expect(acknowledged.failure).toBeUndefined();
    expect(sends() - before).toBe(2);
  });

  it('does not send again when the request times out after reaching the server', async () => {
    sandbox.faults.add({
      path: '/messaging/v1/sms',
      fault: { type: 'slow-headers', delayMs: 3_000 },
      phase: 'after-handler',
      times: 1,
    });
    const before = sends();
    const { report } = await ingest(workerOptions({ headersMs: 500 }));
    await sandbox.log.settled();
    expect(sends() - before).toBe(1);
    expect(report.resources.find((r) => r.resource === 'sms')).toMatchObject({
      status: 'failed',
      reason: { code: 'SEND_OUTCOME_UNKNOWN' },
    });
  });

  it('without to/from sends nothing and still resolves the pending ids stored in Postgres', async () => {
    const ids = sandbox.messaging.preload({ count: 30 });
    await insertSmsRows(ids);
    const before = sandbox.messaging.sendCounts();
    const { report, failure } = await ingest(workerOptions({ sms: false }));
    expect(failure).toBeUndefined();
    expect(sandbox.messaging.sendCounts()).toEqual(before);
    expect(report.resources.find((r) => r.resource === 'sms')).toMatchObject({ status: 'skipped' });
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM messaging.messages WHERE request_id = ANY(${ids})`.execute(database.db);
    expect(Number(rows[0]?.n)).toBe(ids.length);
  });

  it('resolves 5 000 pending ids in batches, continues as new, and marks a 404 id unresolvable', async () => {
    const ids = sandbox.messaging.preload({ count: 5_000, expiredEvery: 1_000 });
    await insertSmsRows(ids);
    const loadId = `resolve-${temporal.taskQueue}`;
    await startLoad(database.db, { loadId, source: 'messaging' });
    const { plan } = await planSource(
      { source: 'messaging', resources: ['messages'] },
      { env: { MESSAGING_API_KEY: sandbox.keys.messaging }, baseUrls: { messaging: sandbox.url } },
    );
    const resource = plan.resources.find((r) => r.name === 'messages');
    if (!resource) throw new Error('no messages resource in the plan');
    const workflowId = `resolve/${temporal.taskQueue}`;
    const totals = await temporal.withWorker(
      database.db,
      () =>
        temporal.client.workflow.execute<typeof resolveChildren>('resolveChildren', {
          taskQueue: temporal.taskQueue,
          workflowId,
          args: [
            {
              loadId,
              source: 'messaging',
              baseUrl: plan.baseUrl,
              planHash: plan.hash,
              resource,
              batchSize: 100,
              maxBatchesPerRun: 15,
            },
          ],
        }),
      workerOptions({ sms: false }),
    );
    const expired = ids.filter((_, i) => (i + 1) % 1_000 === 0).length;
    expect(totals satisfies ResolveTotals).toMatchObject({ unresolvable: expired, stillPending: 0 });
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM messaging.messages WHERE request_id = ANY(${ids})`.execute(database.db);
    expect(Number(rows[0]?.n)).toBe(ids.length - expired);
    const marked = await database.db
      .selectFrom('ingest.unresolvable_keys')
      .select('key')
      .where('key', 'in', ids)
      .execute();
    expect(marked).toHaveLength(expired);
    // It continued as new (5 000 ids / 100 per batch = 50 batches, at most 15 per run): the chain has 4 runs.
    expect(totals.continuedAsNew).toBeGreaterThanOrEqual(3);
    const description = await temporal.client.workflow.getHandle(workflowId).describe();
    expect(description.raw.workflowExecutionInfo?.firstRunId).not.toBe(description.runId);
  }, 180_000);
});

/** Rows of `messaging.sms` for ids sent by earlier runs (what the sandbox preloaded as old messages). */
async function insertSmsRows(ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 1_000) {
    const chunk = ids.slice(i, i + 1_000);
    const data = chunk.map((id) => JSON.stringify({ requestId: id, status: 'ACCEPTED' }));
    await sql`
      INSERT INTO messaging.sms
        (request_id, status, data, _content_hash, _raw_hash, _load_id, _first_loaded_at, _changed_at)
      SELECT d->>'requestId', 'ACCEPTED', d, 0, md5(d::text)::uuid, 'earlier', now(), now()
      FROM unnest(${data}::jsonb[]) AS d
      ON CONFLICT DO NOTHING`.execute(database.db);
  }
}
