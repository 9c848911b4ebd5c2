/**
 * Postgres restarts under a running load, and the worker lives through it: the activity's statement in flight
 * fails as `DATABASE_UNAVAILABLE`, the activity retries with backoff once the server is back, and the run completes
 * with exact data.
 *
 * The test has a Postgres of its own (the shared one serves other test files at the same time): an embedded cluster
 * in a temporary folder, started as the app starts one, restarted with a fast shutdown (SIGINT: every backend is
 * terminated with 57P01, committed work is kept) and a start on the same folder and port. So that the restart
 * lands on a statement in flight rather than between two, the test holds a lock the activity's next staged batch
 * waits for. The worker runs in this process: "the worker survived" is this test finishing without an unhandled
 * error (vitest fails a file on one) and the worker still running.
 */
import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearLockedPorts } from 'get-port';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asIngestError } from '../../src/activities/failure.ts';
import { canonicalJson } from '../../src/config/plan-hash.ts';
import { createDatabase } from '../../src/db/database.ts';
import { readCheckpoint } from '../../src/db/ledger/checkpoints.ts';
import { migrateToLatest } from '../../src/db/migrations.ts';
import type { Database } from '../../src/db/schema.ts';
import type { PaginationState } from '../../src/http/paginate/types.ts';
import { migrationsFolder } from '../../src/local/paths.ts';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/local/postgres.ts';
import { logger } from '../../src/logging.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { until } from '../helpers/until.ts';

const callRecords = 300; // 30 pages of 10 (the fixture source's page size)
const temporal = withTemporal();
let scratch: string;
let dataDir: string;
let sourcesDir: string;
let postgres: RunningPostgres;
let db: Kysely<Database>;
let sandbox: Sandbox;
const logLevel = logger.level;

beforeAll(async () => {
  logger.level = 'error'; // the restart's expected warnings (lost connections, retried activities) are no news
  scratch = await mkdtemp(join(tmpdir(), 'ingest-pg-restart-'));
  await chmod(scratch, 0o755); // as root, Postgres runs as the `postgres` user, who must reach its data folder
  dataDir = join(scratch, 'postgres');
  sourcesDir = join(scratch, 'sources');
  await mkdir(sourcesDir);
  // The communications API read page by page (its `name` is `communications`).
  await copyFile(
    join(import.meta.dirname, 'fixtures', 'paged-communications.yaml'),
    join(sourcesDir, 'communications.yaml'),
  );
  [postgres, sandbox] = await Promise.all([
    startEmbeddedPostgres({ dataDir, database: 'ingest', fast: true }),
    startSandbox({ seed: 37, counts: { user_call_records: callRecords } }),
  ]);
  db = createDatabase(postgres.url, { maxConnections: 6 });
  await migrateToLatest(db, { folder: migrationsFolder });
});

afterAll(async () => {
  await db?.destroy();
  await postgres?.stop();
  await sandbox?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  logger.level = logLevel;
});

/** Restarts the cluster: a fast shutdown (every backend terminated, 57P01), then a start on the same folder and port. */
async function restart(): Promise<void> {
  const port = Number(new URL(postgres.url).port);
  await postgres.stop();
  clearLockedPorts(); // get-port holds on to the ports it gave out for a while: this one is free again
  postgres = await startEmbeddedPostgres({ dataDir, database: 'ingest', fast: true, preferredPort: port });
  expect(new URL(postgres.url).port, 'the restarted cluster is on the same port').toBe(String(port));
}

describe('a Postgres restart under a running load', () => {
  it('makes the activity retry; the worker lives on and the run completes with exact data', async () => {
    // Slow pages, so that the crash lands mid-resource (30 pages × 150 ms).
    sandbox.faults.add({ path: '/v1/user_call_records', fault: { type: 'slow-headers', delayMs: 150 } });
    const report = await temporal.withWorker(
      db,
      async (worker) => {
        const handle = await temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
          taskQueue: temporal.taskQueue,
          workflowId: `ingest/communications/${temporal.taskQueue}/pg-restart`,
          args: [{ source: 'communications', resources: ['user_call_records'] }],
        });
        await until('5 checkpointed pages', async () => {
          const state = (await readCheckpoint(db, handle.firstExecutionRunId, 'user_call_records')) as
            PaginationState | undefined;
          return (state?.pages ?? 0) >= 5 ? true : undefined;
        });

        // Hold back the next staged batch, and restart once the activity waits for it.
        let lockTaken: () => void = () => {};
        const locked = new Promise<void>((resolve) => (lockTaken = resolve));
        let proceed: () => void = () => {};
        const restarted = new Promise<void>((resolve) => (proceed = resolve));
        const holder = db
          .transaction()
          .execute(async (trx) => {
            await sql`LOCK TABLE ingest.staged_batches IN SHARE MODE`.execute(trx);
            lockTaken();
            await restarted;
            await sql`SELECT 1`.execute(trx);
          })
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        await locked;
        await until('the activity waiting for the lock', async () => {
          const { rows } = await sql<{ waiting: boolean }>`
            SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                           WHERE datname = current_database() AND wait_event_type = 'Lock') AS waiting`.execute(
            db,
          );
          return rows[0]?.waiting === true ? true : undefined;
        });
        await restart();
        proceed();
        expect(asIngestError(await holder).code).toBe('DATABASE_UNAVAILABLE');

        const result = await handle.result();
        expect(worker.getState()).toBe('RUNNING');

        // The activity failed on the restart, as a retryable DATABASE_UNAVAILABLE, and a later attempt completed.
        const { events } = await handle.fetchHistory();
        const retried = (events ?? []).flatMap((event) => {
          const started = event.activityTaskStartedEventAttributes;
          return started && (started.attempt ?? 1) > 1 ? [started] : [];
        });
        expect(retried.map((started) => started.lastFailure?.applicationFailureInfo?.type)).toEqual([
          'DATABASE_UNAVAILABLE',
        ]);
        return result;
      },
      {
        env: { COMMUNICATIONS_API_KEY: sandbox.keys.communications },
        baseUrls: { communications: sandbox.url },
        sandbox: true,
        sourcesDir,
        activities: { heartbeatIntervalMs: 200 },
      },
    );
    expect(report.outcome).toBe('ok');

    const { rows } = await sql<{ data: unknown }>`
      SELECT data FROM communications.user_call_records WHERE _deleted_at IS NULL`.execute(db);
    expect(rows.map((row) => canonicalJson(row.data)).sort()).toEqual(
      [...sandbox.dataset.records('user_call_records')].map((record) => canonicalJson(record)).sort(),
    );
  }, 60_000);
});
