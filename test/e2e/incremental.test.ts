/**
 * Incremental loading end to end (real dev server, worker, Postgres, the sandbox over HTTP) with a source file that
 * uses dlt's `endpoint.incremental`: the first run loads everything from `initial_value`; after records are added
 * and changed in the sandbox, the next run asks only for the window after the stored cursor (read from the
 * sandbox's request log) and the table equals the sandbox's data; a run that fails half-way leaves the cursor where
 * it was; a backfill window from the run input loads that window and leaves the cursor alone; a reset starts again
 * from `initial_value`.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readCursor } from '../../src/db/ledger/cursors.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { IngestSourceInput, LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const database = withDatabase();
const temporal = withTemporal();
const fixture = fileURLToPath(new URL('./fixtures/sources/changes.yaml', import.meta.url));
const initial = '2020-01-01T00:00:00.000Z';
let sandbox: Sandbox;
let sourcesDir: string;
let runs = 0;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 17, changes: 45 });
  sourcesDir = await mkdtemp(join(tmpdir(), 'ingest-incremental-'));
  await copyFile(fixture, join(sourcesDir, 'changes.yaml'));
});
afterAll(async () => {
  await sandbox.stop();
  await rm(sourcesDir, { recursive: true, force: true });
});
afterEach(() => {
  sandbox.faults.clear();
  sandbox.log.clear();
});

async function ingest(
  extra: Omit<IngestSourceInput, 'source'> = {},
): Promise<{ report: LoadReport; failure?: ApplicationFailure }> {
  return temporal.withWorker(
    database.db,
    async () => {
      try {
        const report = await temporal.client.workflow.execute<typeof ingestSource>('ingestSource', {
          taskQueue: temporal.taskQueue,
          workflowId: `incremental/${temporal.taskQueue}/${++runs}`,
          args: [{ source: 'changes', ...extra }],
        });
        return { report };
      } catch (error) {
        const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
        if (!(cause instanceof ApplicationFailure)) throw error;
        return { report: cause.details?.[0] as LoadReport, failure: cause };
      }
    },
    {
      env: { CHANGES_API_KEY: sandbox.generic.apiKey, CHANGES_BASE_URL: sandbox.url },
      sourcesDir,
      activities: { heartbeatIntervalMs: 200 },
    },
  );
}

/** The `updated_since` / `updated_before` of every request the run made. */
function windowsRequested(): { since: string | null; before: string | null }[] {
  return sandbox.log
    .entries()
    .filter((e) => e.path.startsWith('/generic/changes'))
    .map((e) => {
      const query = new URL(e.path, 'http://x').searchParams;
      return { since: query.get('updated_since'), before: query.get('updated_before') };
    });
}

async function tableRows(): Promise<Map<number, unknown>> {
  const { rows } = await sql<{ data: { id: number } }>`SELECT data FROM changes.changes`.execute(database.db);
  return new Map(rows.map((r) => [r.data.id, r.data]));
}

function expectTableEqualsSandbox(table: Map<number, unknown>): void {
  const served = sandbox.changes.records();
  expect(table.size).toBe(served.length);
  for (const record of served) expect(table.get(record.id)).toEqual(record);
}

const cursor = () => readCursor(database.db, 'changes', 'changes');
const latest = () =>
  sandbox.changes
    .records()
    .map((r) => r.updatedAt)
    .sort()
    .at(-1);

describe('incremental loading', () => {
  it('loads everything first, then only the window after the stored cursor', async () => {
    const first = await ingest();
    expect(first.failure).toBeUndefined();
    expect(new Set(windowsRequested().map((w) => w.since))).toEqual(new Set([initial]));
    expectTableEqualsSandbox(await tableRows());
    const stored = await cursor();
    expect(stored).toBe(latest());
    expect(first.report.resources[0]?.counts.incremental).toMatchObject({
      start: initial,
      advances: true,
      cursor: stored,
    });

    sandbox.log.clear();
    const mutation = sandbox.changes.mutate({ add: 3, change: 4 });
    const second = await ingest();
    expect(second.failure).toBeUndefined();
    // Every request of the second run asked for the window from the stored cursor on, and nothing before it.
    expect(new Set(windowsRequested().map((w) => w.since))).toEqual(new Set([stored]));
    expectTableEqualsSandbox(await tableRows());
    const counts = second.report.resources[0]?.counts;
    expect(counts).toMatchObject({ inserted: mutation.added.length, updated: mutation.changed.length });
    // Only the window came back: the changed and added records, and those at the stored cursor itself (closed).
    expect(counts?.fetched).toBe(sandbox.changes.window(stored as string).length);
    expect(await cursor()).toBe(latest());
  });

  it('leaves the cursor where it was when a run fails half-way', async () => {
    const before = await cursor();
    sandbox.changes.mutate({ add: 25 }); // three pages of new records
    sandbox.faults.add({
      path: '/generic/changes',
      fault: { type: 'status', status: 400 },
      requests: { from: 2 },
    });
    const { failure, report } = await ingest();
    expect(failure).toBeDefined();
    expect(report.resources[0]?.status).toBe('failed');
    expect(await cursor()).toBe(before);

    sandbox.faults.clear();
    sandbox.log.clear();
    const again = await ingest();
    expect(again.failure).toBeUndefined();
    expect(new Set(windowsRequested().map((w) => w.since))).toEqual(new Set([before]));
    expectTableEqualsSandbox(await tableRows());
    expect(await cursor()).toBe(latest());
  });

  it('loads a backfill window from the run input without moving the cursor', async () => {
    const before = await cursor();
    const all = sandbox.changes
      .records()
      .map((r) => r.updatedAt)
      .sort();
    const start = all[5] as string;
    const end = all[15] as string;
    const { report, failure } = await ingest({ window: { changes: { start, end } } });
    expect(failure).toBeUndefined();
    expect(new Set(windowsRequested().map((w) => `${w.since} ${w.before}`))).toEqual(
      new Set([`${start} ${end}`]),
    );
    expect(report.resources[0]?.counts.incremental).toMatchObject({
      start,
      end,
      advances: false,
      cursor: before,
    });
    expect(report.resources[0]?.counts.fetched).toBe(sandbox.changes.window(start, end).length);
    expect(await cursor()).toBe(before);
  });

  it('refuses a window for a resource that is not incremental, before anything loads', async () => {
    const { failure } = await ingest({ window: { nope: { start: 'x' } } });
    expect(failure?.type).toBe('RUN_INPUT_INVALID');
    expect(failure?.nonRetryable).toBe(true);
  });

  it('starts again from initial_value on reset, and stores what that run reached', async () => {
    const { failure } = await ingest({ reset: ['changes'] });
    expect(failure).toBeUndefined();
    expect(new Set(windowsRequested().map((w) => w.since))).toEqual(new Set([initial]));
    expectTableEqualsSandbox(await tableRows());
    expect(await cursor()).toBe(latest());
  });
});
