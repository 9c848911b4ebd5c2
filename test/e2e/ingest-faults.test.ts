/**
 * `ingestSource` under API faults, end to end (real dev server, worker, Postgres, the sandbox over HTTP): partial
 * failure commits the rest and fails typed; 429s and 503s are retried as their headers and the backoff say (asserted
 * from the sandbox's request log); a second concurrent run of a source fails fast.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import { searchAttributes } from '../../src/shared/names.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;
let runs = 0;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 11 });
});
afterAll(() => sandbox.stop());
afterEach(() => {
  sandbox.faults.clear();
  sandbox.log.clear();
});

const workerOptions = () => ({
  env: { COMMUNICATIONS_API_KEY: sandbox.keys.communications },
  baseUrls: { communications: sandbox.url },
  sandbox: true,
  activities: {
    heartbeatIntervalMs: 200,
    retryBudget: {
      initialDelayMs: 600,
      multiplier: 2,
      maxDelayMs: 10_000,
      maxAttempts: 5,
      retryAfterFloorMs: 1_000,
      retryAfterCeilingMs: 60_000,
    },
  },
});

function start(resources?: readonly string[]) {
  return temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
    taskQueue: temporal.taskQueue,
    workflowId: `ingest/communications/${temporal.taskQueue}/${++runs}`,
    args: [{ source: 'communications', ...(resources ? { resources } : {}) }],
  });
}

async function outcomeOf(
  run: Promise<LoadReport>,
): Promise<{ report?: LoadReport; failure?: ApplicationFailure }> {
  try {
    return { report: await run };
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
    if (cause instanceof ApplicationFailure) return { failure: cause };
    throw error;
  }
}

const requestsTo = (path: string) => sandbox.log.entries().filter((entry) => entry.path.startsWith(path));

describe('ingestSource under API faults', () => {
  it('commits the healthy resources and fails typed, naming the 401 and the HTML-with-200 resources', async () => {
    sandbox.faults.add({ path: '/v1/call_queues', fault: { type: 'status', status: 401 } });
    sandbox.faults.add({ path: '/v1/ivr_prompts', fault: { type: 'html' } });
    const { failure, handle } = await temporal.withWorker(
      database.db,
      async () => {
        const handle = await start();
        return { ...(await outcomeOf(handle.result())), handle };
      },
      workerOptions(),
    );
    expect(failure?.type).toBe('INGEST_PARTIAL_FAILURE');
    expect(failure?.nonRetryable).toBe(true);
    expect(failure?.message).toMatch(/call_queues: .*401/);
    expect(failure?.message).toMatch(/ivr_prompts: /);
    const report = failure?.details?.[0] as LoadReport;
    const failed = report.resources.filter((r) => r.status === 'failed').map((r) => r.resource);
    expect(failed.sort()).toEqual(['call_queues', 'ivr_prompts']);
    // The rest committed.
    const { rows } = await sql<{
      n: string;
    }>`SELECT count(*) AS n FROM communications.forwarding_numbers`.execute(database.db);
    expect(Number(rows[0]?.n)).toBe(sandbox.dataset.count('forwarding_numbers'));
    // Non-retryable: each failing route was asked once.
    expect(requestsTo('/v1/call_queues')).toHaveLength(1);
    expect(requestsTo('/v1/ivr_prompts')).toHaveLength(1);
    const description = await handle.describe();
    expect(description.searchAttributes[searchAttributes.outcome]).toEqual(['partial']);
    const load = await database.db
      .selectFrom('ingest.loads')
      .select(['status'])
      .where('load_id', '=', report.loadId)
      .executeTakeFirstOrThrow();
    expect(load.status).toBe('partial');
    const text = JSON.stringify(await handle.fetchHistory());
    expect(text).not.toContain(sandbox.keys.communications);
  });

  it('waits at least Retry-After (seconds and HTTP-date), never spins on Retry-After: 0, backs off 503s', async () => {
    sandbox.faults.add({
      path: '/v1/call_monitoring_groups',
      fault: { type: 'status', status: 429, retryAfter: { seconds: 2, format: 'seconds' } },
      times: 1,
    });
    sandbox.faults.add({
      path: '/v1/call_queues',
      fault: { type: 'status', status: 429, retryAfter: { seconds: 2, format: 'http-date' } },
      times: 1,
    });
    sandbox.faults.add({
      path: '/v1/ivr_prompts',
      fault: { type: 'status', status: 429, retryAfter: { seconds: 0, format: 'seconds' } },
      times: 2,
    });
    sandbox.faults.add({ path: '/v1/forwarding_numbers', fault: { type: 'status', status: 503 }, times: 3 });
    const { report } = await temporal.withWorker(
      database.db,
      async () => outcomeOf((await start()).result()),
      workerOptions(),
    );
    expect(report?.outcome).toBe('ok');

    const seconds = requestsTo('/v1/call_monitoring_groups');
    expect(seconds).toHaveLength(2);
    expect((seconds[1]?.atMs ?? 0) - (seconds[0]?.atMs ?? 0)).toBeGreaterThanOrEqual(2_000);

    const dated = requestsTo('/v1/call_queues');
    expect(dated).toHaveLength(2);
    const allowedAt = Date.parse(dated[0]?.retryAfter ?? '');
    expect(Number.isNaN(allowedAt)).toBe(false);
    expect(dated[1]?.wallMs ?? 0).toBeGreaterThanOrEqual(allowedAt);

    const zero = requestsTo('/v1/ivr_prompts');
    expect(zero).toHaveLength(3);
    for (let i = 1; i < zero.length; i++) {
      expect((zero[i]?.atMs ?? 0) - (zero[i - 1]?.atMs ?? 0)).toBeGreaterThanOrEqual(1_000);
    }

    const unavailable = requestsTo('/v1/forwarding_numbers');
    expect(unavailable).toHaveLength(4);
    const gaps = unavailable.slice(1).map((entry, i) => entry.atMs - (unavailable[i]?.atMs ?? 0));
    // Equal jitter over 600 ms · 2^(n-1): each wait is at least half its base — 300, 600, 1200 ms — so the waits
    // grow (the scheduling latency of a busy machine only adds to them).
    expect(gaps[0]).toBeGreaterThanOrEqual(300);
    expect(gaps[1]).toBeGreaterThanOrEqual(600);
    expect(gaps[2]).toBeGreaterThanOrEqual(1_200);
  });

  it('cancelling a run reaches the HTTP request of a resource that is mid-body', async () => {
    sandbox.faults.add({
      path: '/v1/call_queues',
      fault: { type: 'slow-body', delayMs: 500, chunkBytes: 64 },
      times: 1,
    });
    await temporal.withWorker(
      database.db,
      async () => {
        const handle = await start(['call_queues']);
        while (requestsTo('/v1/call_queues').length === 0) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 500));
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow();
        // The heartbeat carries the cancellation to the activity, whose signal aborts the request.
        const deadline = Date.now() + 10_000;
        while (requestsTo('/v1/call_queues')[0]?.outcome === 'pending' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      workerOptions(),
    );
    const [entry] = requestsTo('/v1/call_queues');
    expect(entry?.outcome).toBe('aborted');
    expect(entry?.durationMs ?? Infinity).toBeLessThan(8_000);
  });

  it('fails a second concurrent run of the same source fast, with SOURCE_BUSY naming the first', async () => {
    sandbox.faults.add({
      path: '/v1/call_queues',
      fault: { type: 'slow-headers', delayMs: 3_000 },
      times: 1,
    });
    const { first, second, firstId } = await temporal.withWorker(
      database.db,
      async () => {
        const firstHandle = await start(['call_queues']);
        // Wait until the first run holds the lease (its resource request has reached the sandbox).
        while (requestsTo('/v1/call_queues').length === 0) await new Promise((r) => setTimeout(r, 50));
        const startedAt = Date.now();
        const secondRun = await outcomeOf((await start(['call_queues'])).result());
        const secondMs = Date.now() - startedAt;
        return {
          first: await outcomeOf(firstHandle.result()),
          second: { ...secondRun, ms: secondMs },
          firstId: firstHandle.workflowId,
        };
      },
      workerOptions(),
    );
    expect(first.report?.outcome).toBe('ok');
    expect(second.failure?.type).toBe('SOURCE_BUSY');
    expect(second.failure?.nonRetryable).toBe(true);
    expect(second.failure?.message).toContain(firstId);
    expect(second.ms).toBeLessThan(3_000);
  });
});
