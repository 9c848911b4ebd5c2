/**
 * Resume after a crash, for real: the worker runs in a child process, is SIGKILLed while a paginated resource is
 * half-way through its pages and a `single_page` resource is half-way through its body, and a new worker process
 * takes over. The run completes, both tables equal what the sandbox serves, and the sandbox's request log shows that
 * no page up to the last checkpoint was requested again (the `single_page` body is re-streamed, harmlessly). And a
 * worker killed right after a resource's merge committed, before Temporal heard that the activity completed: the
 * retry on the next worker fetches nothing (the merge is the resource's one commit point) and reports the counts
 * that merge recorded, not the zeros of a second, empty merge.
 *
 * Temporal notices a dead worker's activity only when its heartbeat timeout (20 s, set in the workflow) passes,
 * so each scenario takes a little over that: what a crash costs, shown as it is. The two run
 * concurrently (each with its own database, task queue, sandbox and worker processes) to pay that wait once.
 */
import { once } from 'node:events';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/config/plan-hash.ts';
import { readCheckpoint } from '../../src/db/ledger/checkpoints.ts';
import { readResourceRuns } from '../../src/db/ledger/ledger.ts';
import type { PaginationState } from '../../src/http/paginate/types.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { until } from '../helpers/until.ts';
import { withWorkerProcesses } from '../helpers/worker-process.ts';

const perPage = 10; // as in the fixture source
const callRecords = 300; // 30 pages

// Scenario 1: killed mid-resource.
const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;
const workers = withWorkerProcesses(temporal, database, () => sandbox);

// Scenario 2: killed after the merge, before reporting it.
const database2 = withDatabase();
const temporal2 = withTemporal();
let sandbox2: Sandbox;
const workers2 = withWorkerProcesses(temporal2, database2, () => sandbox2);

beforeAll(async () => {
  sandbox = await startSandbox({
    seed: 23,
    counts: { user_call_records: callRecords, forwarding_numbers: 60 },
  });
  sandbox2 = await startSandbox({ seed: 29, counts: { user_call_records: 120 } });
});
afterAll(async () => {
  await sandbox.stop();
  await sandbox2.stop();
});

async function storedRecords(resource: string): Promise<string[]> {
  const { rows } = await sql<{ data: unknown }>`
    SELECT data FROM communications.${sql.id(resource)} WHERE _deleted_at IS NULL`.execute(database.db);
  return rows.map((row) => canonicalJson(row.data)).sort();
}

const servedRecords = (resource: 'user_call_records' | 'forwarding_numbers') =>
  [...sandbox.dataset.records(resource)].map((record) => canonicalJson(record)).sort();

const logOf = (path: string) => sandbox.log.entries().filter((entry) => entry.path.startsWith(path));

describe.concurrent('a worker killed', () => {
  it('mid-resource: resumes after the last checkpointed page, re-streams the single page, and completes with exact data', async () => {
    // Slow enough that the kill lands mid-resource: every page waits before its headers; the single page's body
    // trickles out (once: the re-streamed body after the restart comes at full speed).
    sandbox.faults.add({ path: '/v1/user_call_records', fault: { type: 'slow-headers', delayMs: 150 } });
    sandbox.faults.add({
      path: '/v1/forwarding_numbers',
      fault: { type: 'slow-body', delayMs: 100, chunkBytes: 64 },
      times: 1,
    });

    const first = await workers.start();
    const handle = await temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
      taskQueue: temporal.taskQueue,
      workflowId: `ingest/communications/${temporal.taskQueue}/crash`,
      args: [{ source: 'communications', resources: ['user_call_records', 'forwarding_numbers'] }],
    });
    const loadId = handle.firstExecutionRunId;

    // Kill once some pages are checkpointed and the single page's body is on its way.
    await until('5 checkpointed pages and the single page mid-body', async () => {
      const state = (await readCheckpoint(database.db, loadId, 'user_call_records')) as
        PaginationState | undefined;
      const single = logOf('/v1/forwarding_numbers')[0];
      return (state?.pages ?? 0) >= 5 && single && single.bytes > 0 ? true : undefined;
    });
    first.kill('SIGKILL');
    await once(first, 'exit');
    await sandbox.log.settled();
    const lastSeqBeforeKill = Math.max(...sandbox.log.entries().map((entry) => entry.seq));
    const checkpoint = (await readCheckpoint(database.db, loadId, 'user_call_records')) as PaginationState;
    const pagesDone = checkpoint.pages;
    expect(pagesDone).toBeGreaterThanOrEqual(5);
    expect(pagesDone).toBeLessThan(callRecords / perPage);
    expect(logOf('/v1/forwarding_numbers').map((entry) => entry.outcome)).toEqual(['aborted']);

    await workers.start();
    const report = await handle.result();
    expect(report.outcome).toBe('ok');

    // Exact data.
    for (const resource of ['user_call_records', 'forwarding_numbers'] as const) {
      expect(await storedRecords(resource), resource).toEqual(servedRecords(resource));
    }

    // Pages up to the checkpoint were served once, before the kill, and never again: the new attempt's first
    // request is the page after the checkpoint.
    const pages = logOf('/v1/user_call_records').filter((entry) => entry.status === 200);
    const before = pages.filter((entry) => entry.seq <= lastSeqBeforeKill);
    const after = pages.filter((entry) => entry.seq > lastSeqBeforeKill);
    expect(before.filter((e) => e.outcome === 'complete').map((e) => e.served?.start)).toEqual(
      expect.arrayContaining(Array.from({ length: pagesDone }, (_, page) => page * perPage)),
    );
    expect(after.length).toBeGreaterThan(0);
    expect(after[0]?.served?.start).toBe(pagesDone * perPage);
    for (const entry of after) expect(entry.served?.start ?? -1).toBeGreaterThanOrEqual(pagesDone * perPage);
    expect(after.at(-1)?.served?.end).toBe(callRecords);

    // The single page was re-streamed in full by the new worker.
    const single = logOf('/v1/forwarding_numbers');
    expect(single.map((entry) => entry.outcome)).toEqual(['aborted', 'complete']);
    expect(single[1]?.seq).toBeGreaterThan(lastSeqBeforeKill);
  }, 180_000);

  it('after the merge, before reporting it: completes on the next worker without a request, with the recorded counts', async () => {
    const afterMergeRecords = 120; // 12 pages of 10
    const first = await workers2.start({ DIE_AFTER_MERGE: 'user_call_records' });
    const handle = await temporal2.client.workflow.start<typeof ingestSource>('ingestSource', {
      taskQueue: temporal2.taskQueue,
      workflowId: `ingest/communications/${temporal2.taskQueue}/after-merge`,
      args: [{ source: 'communications', resources: ['user_call_records'] }],
    });
    await once(first, 'exit');
    expect(first.signalCode).toBe('SIGKILL');
    const [run] = await readResourceRuns(database2.db, handle.firstExecutionRunId);
    expect(run?.mergedAt).not.toBeNull();
    expect(run?.inserted).toBe(afterMergeRecords);
    const requestsBefore = sandbox2.log.entries().length;
    expect(requestsBefore).toBe(afterMergeRecords / perPage);

    await workers2.start();
    const report = await handle.result();
    expect(report.outcome).toBe('ok');
    expect(report.resources[0]?.counts).toMatchObject({
      inserted: afterMergeRecords,
      updated: 0,
      unchanged: 0,
    });
    expect(sandbox2.log.entries().length).toBe(requestsBefore);

    const { rows } = await sql<{ data: unknown }>`
      SELECT data FROM communications.user_call_records WHERE _deleted_at IS NULL`.execute(database2.db);
    expect(rows.map((row) => canonicalJson(row.data)).sort()).toEqual(
      [...sandbox2.dataset.records('user_call_records')].map((record) => canonicalJson(record)).sort(),
    );
    const [finished] = await readResourceRuns(database2.db, handle.firstExecutionRunId);
    expect(finished).toMatchObject({ status: 'succeeded', inserted: afterMergeRecords });
  }, 180_000);
});
