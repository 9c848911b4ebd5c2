/**
 * `poll` end to end (real dev server, worker, Postgres, the sandbox over HTTP), with the seed's `messaging` source
 * given short poll timings in a sources directory of its own: within a run, a child is fetched again after a
 * durable timer until its status is final; a child still pending when a run stops polling is polled by the next run
 * (carried over, also when the parent does not run), and one that became final is never fetched again. The records
 * fetched metric counts each run's records once, as its ledger does, although a polled child is fetched on every
 * pass.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import { readResourceRuns } from '../../src/db/ledger/ledger.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import { noIngestMetrics, type IngestMetrics } from '../../src/telemetry/ingest-metrics.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const database = withDatabase();
const temporal = withTemporal();
const seed = fileURLToPath(new URL('../../sources/messaging.yaml', import.meta.url));
const to = '+15550100077';
let sandbox: Sandbox;
let dir: string;
let runs = 0;

/** `ingest_records_fetched_total` of the last run, per resource, as the worker recorded it. */
const counted = new Map<string, number>();
const metrics: IngestMetrics = {
  ...noIngestMetrics,
  fetched: (labels, records) => counted.set(labels.resource, (counted.get(labels.resource) ?? 0) + records),
};

/** The records counted for each resource of the run are the ledger's `fetched`. */
async function expectCountedAsLedger(report: LoadReport): Promise<void> {
  const ledger = await readResourceRuns(database.db, report.loadId);
  expect(ledger.length).toBeGreaterThan(0);
  for (const run of ledger) expect(counted.get(run.resource) ?? 0, run.resource).toBe(run.fetched);
}

/** The seed with other poll timings, as the only file of a fresh sources directory. */
async function sourcesWithPoll(poll: { interval: number; runFor: number }): Promise<string> {
  const text = (await readFile(seed, 'utf8'))
    .replace(/interval_seconds: \d+/, `interval_seconds: ${poll.interval}`)
    .replace(/run_for_seconds: \d+/, `run_for_seconds: ${poll.runFor}`);
  if (!text.includes(`run_for_seconds: ${poll.runFor}`))
    throw new Error('the seed has no poll block to adjust');
  const sources = await mkdtemp(join(dir, 'sources-'));
  await writeFile(join(sources, 'messaging.yaml'), text);
  return sources;
}

beforeAll(async () => {
  // Every message answers one non-final status before its final one.
  sandbox = await startSandbox({ seed: 11, messages: { finalAfterPolls: 1 } });
  dir = await mkdtemp(join(tmpdir(), 'ingest-poll-'));
});
afterAll(async () => {
  await sandbox.stop();
  await rm(dir, { recursive: true, force: true });
});

async function ingest(sourcesDir: string, send: boolean): Promise<LoadReport> {
  counted.clear();
  return temporal.withWorker(
    database.db,
    () =>
      temporal.client.workflow.execute<typeof ingestSource>('ingestSource', {
        taskQueue: temporal.taskQueue,
        workflowId: `poll/${temporal.taskQueue}/${++runs}`,
        args: [{ source: 'messaging', resources: ['sms', 'messages'] }],
      }),
    {
      env: {
        MESSAGING_API_KEY: sandbox.keys.messaging,
        MESSAGING_BASE_URL: sandbox.url,
        ...(send ? { MESSAGING_CONFIG_TO: to, MESSAGING_CONFIG_FROM: 'durable-ingest' } : {}),
      },
      sourcesDir,
      metrics,
      activities: { heartbeatIntervalMs: 200 },
    },
  );
}

/** The request id the load's send returned. */
async function sentIn(report: LoadReport): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    SELECT request_id AS id FROM messaging.sms WHERE _load_id = ${report.loadId}`.execute(database.db);
  expect(rows).toHaveLength(1);
  return rows[0]!.id;
}

const polls = (id: string) =>
  sandbox.log.entries().filter((e) => e.path === `/messaging/v1/messages/${id}`).length;

async function statusOf(id: string): Promise<string | undefined> {
  const { rows } = await sql<{ status: string }>`
    SELECT status FROM messaging.messages WHERE request_id = ${id}`.execute(database.db);
  return rows[0]?.status;
}

describe('a polled child', () => {
  it('is fetched again after a durable timer, within the run, until its status is final', async () => {
    const report = await ingest(await sourcesWithPoll({ interval: 1, runFor: 30 }), true);
    expect(report.outcome).toBe('ok');
    const id = await sentIn(report);
    expect(polls(id)).toBe(2);
    expect(['DELIVERED', 'UNDELIVERABLE', 'REJECTED', 'EXPIRED']).toContain(await statusOf(id));
    expect(counted.get('messages')).toBe(1); // fetched twice, one record
    await expectCountedAsLedger(report);
  });

  it('still pending when a run stops polling, is polled by the next runs until final, then never again', async () => {
    const sources = await sourcesWithPoll({ interval: 1, runFor: 0 }); // one pass per run
    const first = await ingest(sources, true);
    const a = await sentIn(first);
    expect(polls(a)).toBe(1);
    expect(await statusOf(a)).toBe('ACCEPTED'); // what the sandbox answers before the final status
    expect(counted.get('messages')).toBe(1); // still pending: counted by the merge
    await expectCountedAsLedger(first);

    // The next run sends b, and polls a again although this run's parent records hold only b.
    const second = await ingest(sources, true);
    const b = await sentIn(second);
    expect(polls(a)).toBe(2);
    expect(polls(b)).toBe(1);
    expect(await statusOf(a)).not.toBe('ACCEPTED');

    // A run without a send (sms is skipped): b is carried over and polled; a is final and not fetched again.
    const third = await ingest(sources, false);
    expect(third.resources.find((r) => r.resource === 'sms')?.status).toBe('skipped');
    expect(polls(a)).toBe(2);
    expect(polls(b)).toBe(2);
    expect(await statusOf(b)).not.toBe('ACCEPTED');
    await expectCountedAsLedger(third);
  });
});
