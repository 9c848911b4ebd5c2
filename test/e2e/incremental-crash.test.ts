/**
 * An incremental resource under a worker crash, for real: the worker process is SIGKILLed half-way through the
 * second run's window and a new worker process takes over. The resumed attempt asks for the same window (from the
 * cursor the first run stored), continues after its last checkpointed page, and the run ends with the table equal
 * to the sandbox's data and the cursor at the largest cursor value — stored once, by the one merge.
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/db/ledger/checkpoints.ts';
import { readCursor } from '../../src/db/ledger/cursors.ts';
import type { PaginationState } from '../../src/http/paginate/types.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { until } from '../helpers/until.ts';
import { withWorkerProcesses } from '../helpers/worker-process.ts';

const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;
const workers = withWorkerProcesses(temporal, database, () => sandbox);
const sourceFile = fileURLToPath(new URL('./fixtures/sources/changes.yaml', import.meta.url));

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 41, changes: 60 });
});
afterAll(() => sandbox.stop());

const env = () => ({ SOURCE_FILE: sourceFile, CHANGES_API_KEY: sandbox.generic.apiKey });
const run = (n: number) =>
  temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
    taskQueue: temporal.taskQueue,
    workflowId: `incremental-crash/${temporal.taskQueue}/${n}`,
    args: [{ source: 'changes' }],
  });
const since = () =>
  sandbox.log
    .entries()
    .filter((e) => e.path.startsWith('/generic/changes'))
    .map((e) => new URL(e.path, 'http://x').searchParams.get('updated_since'));

describe('an incremental resource whose worker is killed mid-window', () => {
  it('resumes with the same window and stores the cursor once, at the largest value', async () => {
    const first = await workers.start(env());
    expect((await (await run(1)).result()).outcome).toBe('ok');
    const stored = await readCursor(database.db, 'changes', 'changes');
    expect(stored).not.toBeNull();

    sandbox.changes.mutate({ add: 200, change: 10 }); // about 21 pages at 10 a page
    sandbox.log.clear();
    sandbox.faults.add({ path: '/generic/changes', fault: { type: 'slow-headers', delayMs: 150 } });
    const handle = await run(2);
    const loadId = handle.firstExecutionRunId;
    await until('4 checkpointed pages', async () => {
      const state = (await readCheckpoint(database.db, loadId, 'changes')) as PaginationState | undefined;
      return (state?.pages ?? 0) >= 4 ? true : undefined;
    });
    first.kill('SIGKILL');
    await once(first, 'exit');
    expect(await readCursor(database.db, 'changes', 'changes')).toBe(stored); // nothing merged yet

    await workers.start(env());
    const report = await handle.result();
    expect(report.outcome).toBe('ok');

    // Before and after the kill, every request asked for the window from the first run's cursor.
    expect(new Set(since())).toEqual(new Set([stored]));
    const { rows } = await sql<{ data: { id: number } }>`SELECT data FROM changes.changes`.execute(
      database.db,
    );
    const table = new Map(rows.map((r) => [r.data.id, r.data]));
    const served = sandbox.changes.records();
    expect(table.size).toBe(served.length);
    for (const record of served) expect(table.get(record.id)).toEqual(record);
    const latest = served
      .map((r) => r.updatedAt)
      .sort()
      .at(-1);
    expect(await readCursor(database.db, 'changes', 'changes')).toBe(latest);
    expect(report.resources[0]?.counts.incremental).toMatchObject({ start: stored, cursor: latest });
    const ledger = await database.db
      .selectFrom('ingest.resource_runs')
      .select(['attempts', 'incremental'])
      .where('load_id', '=', loadId)
      .executeTakeFirstOrThrow();
    expect(ledger.attempts).toBeGreaterThanOrEqual(2);
    expect(ledger.incremental).toMatchObject({ start: stored });
  }, 120_000);
});
