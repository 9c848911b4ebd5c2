/**
 * Deletion detection and replace end to end (real dev server, worker, Postgres, the sandbox over HTTP), with a source
 * that opts in on a paginated and a single-page resource. A row the API no longer has is marked deleted (or, with
 * replace, deleted) only after THAT resource's own complete fetch: never when its fetch fails half-way (the other
 * resource's complete fetch still removes its own), and a fetch that failed transiently and resumed from its
 * checkpoint counts as complete — its earlier pages are still staged, so no row it saw is removed — while a fetch
 * that an ignored response (`response_actions`) ended early removes nothing. Append into a migrated table is refused
 * before any request.
 */
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../src/activities/index.ts';
import { loadSourceConfig } from '../../src/config/load.ts';
import { resolveSource } from '../../src/config/resolve.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { SourceConfig } from '../../src/config/schema.ts';
import type { IngestSourceInput, LoadReport, PlanSourceResult } from '../../src/shared/ingest-types.ts';
import { runStatusFrom } from '../../src/app/ingest-worker.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const sourceFile = fileURLToPath(new URL('./fixtures/deleting-communications.yaml', import.meta.url));
const database = withDatabase();
const temporal = withTemporal();
const callRecords = 30; // 3 pages of 10
const forwardingNumbers = 5;
let sandbox: Sandbox;
let runs = 0;

beforeAll(async () => {
  sandbox = await startSandbox({
    seed: 31,
    counts: { user_call_records: callRecords, forwarding_numbers: forwardingNumbers },
  });
});
afterAll(() => sandbox.stop());
afterEach(() => {
  sandbox.faults.clear();
  sandbox.log.clear();
});

/**
 * Runs `ingestSource` once on an in-process worker that plans from the test-only source file (`edit` may change
 * the config first).
 */
async function ingestOnce(
  edit: (config: SourceConfig) => SourceConfig = (config) => config,
  input: Omit<IngestSourceInput, 'source'> = {},
): Promise<{ report: LoadReport; failure?: ApplicationFailure }> {
  const env = { COMMUNICATIONS_API_KEY: sandbox.keys.communications };
  const activities = createActivities({
    db: database.db,
    env,
    baseUrls: { communications: sandbox.url },
    runStatus: runStatusFrom(temporal.client),
    sandbox: true,
    heartbeatIntervalMs: 200,
    retryBudget: {
      initialDelayMs: 300,
      multiplier: 2,
      maxDelayMs: 5_000,
      maxAttempts: 5,
      retryAfterFloorMs: 300,
      retryAfterCeilingMs: 60_000,
    },
  });
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    workflowBundle: { codePath: inject('stack').workflowBundlePath },
    activities: {
      ...activities,
      async planSource(): Promise<PlanSourceResult> {
        const loaded = await loadSourceConfig(sourceFile);
        return {
          plan: resolveSource(edit(loaded.config), { env, origin: loaded.origin, baseUrl: sandbox.url }),
        };
      },
    },
  });
  const run = worker.runUntil(async () => {
    const handle = await temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
      taskQueue: temporal.taskQueue,
      workflowId: `ingest/communications/${temporal.taskQueue}/${++runs}`,
      args: [{ source: 'communications', ...input }],
    });
    return handle.result();
  });
  try {
    return { report: await run };
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
    if (cause instanceof ApplicationFailure)
      return { report: cause.details?.[0] as LoadReport, failure: cause };
    throw error;
  }
}

/** A row for a record the API does not have (any more): what deletion detection must find. */
async function insertVanishedRow(
  table: 'user_call_records' | 'forwarding_numbers',
  id: string,
): Promise<void> {
  const data = JSON.stringify({ id });
  await sql`
    INSERT INTO ${sql.id('communications', table)}
      (id, data, _content_hash, _load_id, _first_loaded_at, _changed_at)
    VALUES (${id}, ${data}::jsonb, jsonb_hash_extended(${data}::jsonb, 0), 'earlier', now(), now())`.execute(
    database.db,
  );
}

/** What became of a row: still live, marked deleted (deletion detection), or gone (replace). */
async function rowState(
  table: 'user_call_records' | 'forwarding_numbers',
  id: string,
): Promise<'live' | 'marked' | 'gone'> {
  const { rows } = await sql<{ deleted: boolean }>`
    SELECT _deleted_at IS NOT NULL AS deleted FROM ${sql.id('communications', table)} WHERE id = ${id}`.execute(
    database.db,
  );
  const row = rows[0];
  return row === undefined ? 'gone' : row.deleted ? 'marked' : 'live';
}

async function liveCount(table: 'user_call_records' | 'forwarding_numbers'): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM ${sql.id('communications', table)} WHERE _deleted_at IS NULL`.execute(
    database.db,
  );
  return Number(rows[0]?.n ?? 0);
}

/** From page 2 on, `user_call_records` answers `status`. */
function failFromPageTwo(status: number): void {
  sandbox.faults.add({
    path: '/v1/user_call_records',
    fault: { type: 'status', status },
    requests: { from: 2 },
  });
}

/** What the ledger recorded for `user_call_records` in a load. */
function callRecordsRun(loadId: string) {
  return database.db
    .selectFrom('ingest.resource_runs')
    .select(['deleted', 'write_disposition'])
    .where('load_id', '=', loadId)
    .where('resource', '=', 'user_call_records')
    .executeTakeFirstOrThrow();
}

/** The fixture as it is (deletion detection on both resources), or with replace instead. */
const dispositions = {
  'deletion detection': { edit: (config: SourceConfig) => config, removed: 'marked', recorded: 'merge' },
  replace: {
    edit: (config: SourceConfig): SourceConfig => ({
      ...config,
      resource_defaults: {
        ...config.resource_defaults,
        write_disposition: 'replace',
        deletion_detection: false,
      },
    }),
    removed: 'gone',
    recorded: 'replace',
  },
} as const;

const countsOf = (report: LoadReport, resource: string) =>
  report.resources.find((r) => r.resource === resource)?.counts;

describe('the guard against destructive loads', () => {
  it('fails a load that would remove more than half a table, writing nothing, unless the run input allows it', async () => {
    await sql`TRUNCATE communications.user_call_records, communications.forwarding_numbers`.execute(
      database.db,
    );
    expect((await ingestOnce()).report.outcome).toBe('ok');
    // More rows the API no longer has than rows it has: an API answering with less than half of what it had.
    for (let i = 0; i <= callRecords; i++) await insertVanishedRow('user_call_records', `vanished-${i}`);
    const before = await liveCount('user_call_records');

    const refused = await ingestOnce();
    const calls = refused.report.resources.find((r) => r.resource === 'user_call_records');
    expect(calls).toMatchObject({ status: 'failed', reason: { code: 'DESTRUCTIVE_LOAD_REFUSED' } });
    expect(calls?.reason?.message).toContain('allowDeletes');
    expect(await liveCount('user_call_records')).toBe(before);

    const allowed = await ingestOnce(undefined, { allowDeletes: ['user_call_records'] });
    expect(allowed.failure).toBeUndefined();
    expect(countsOf(allowed.report, 'user_call_records')?.deleted).toBe(callRecords + 1);
    expect(await liveCount('user_call_records')).toBe(callRecords);
  });
});

describe('deletion detection and replace, end to end', () => {
  it.each(Object.keys(dispositions) as (keyof typeof dispositions)[])(
    '%s: removes nothing after a failed fetch, and only the vanished rows after a complete (resumed) one',
    async (name) => {
      const { edit, removed, recorded } = dispositions[name];
      await sql`TRUNCATE communications.user_call_records, communications.forwarding_numbers`.execute(
        database.db,
      );
      const first = await ingestOnce(edit);
      expect(first.report.outcome).toBe('ok');
      expect(await liveCount('user_call_records')).toBe(callRecords);
      expect(countsOf(first.report, 'user_call_records')?.deleted).toBe(0);

      await insertVanishedRow('user_call_records', 'vanished-call');
      await insertVanishedRow('forwarding_numbers', 'vanished-number');

      // Page 2 of user_call_records fails for good (401): that resource fails after staging page 1; the other one
      // completes and removes its own vanished row.
      failFromPageTwo(401);
      const failed = await ingestOnce(edit);
      expect(failed.failure?.type).toBe('INGEST_PARTIAL_FAILURE');
      expect(failed.report.resources.find((r) => r.resource === 'user_call_records')?.status).toBe('failed');
      expect(await rowState('user_call_records', 'vanished-call')).toBe('live');
      expect(await liveCount('user_call_records')).toBe(callRecords + 1);
      expect(await rowState('forwarding_numbers', 'vanished-number')).toBe(removed);
      expect(await liveCount('forwarding_numbers')).toBe(forwardingNumbers);
      expect(countsOf(failed.report, 'forwarding_numbers')).toMatchObject({
        deleted: 1,
        unchanged: forwardingNumbers,
      });
      sandbox.faults.clear();
      sandbox.log.clear();

      // Page 2 fails once (503): the attempt fails after staging page 1, the retry resumes after its checkpoint —
      // the fetch is complete across the two attempts, so only the vanished row is removed.
      sandbox.faults.add({
        path: '/v1/user_call_records',
        fault: { type: 'status', status: 503 },
        requests: { from: 2, to: 2 },
      });
      const resumed = await ingestOnce(edit);
      expect(resumed.report.outcome).toBe('ok');
      const pageRequests = sandbox.log
        .entries()
        .filter((entry) => entry.path.startsWith('/v1/user_call_records'))
        .map((entry) => new URLSearchParams(entry.path.split('?')[1]).get('page'));
      expect(pageRequests).toEqual(['1', '2', '2', '3']);
      expect(await rowState('user_call_records', 'vanished-call')).toBe(removed);
      expect(await liveCount('user_call_records')).toBe(callRecords);
      expect(countsOf(resumed.report, 'user_call_records')).toMatchObject({
        deleted: 1,
        unchanged: callRecords,
      });
      expect(await callRecordsRun(resumed.report.loadId)).toEqual({
        deleted: '1',
        write_disposition: recorded,
      });
    },
  );

  it.each(Object.keys(dispositions) as (keyof typeof dispositions)[])(
    '%s: removes nothing when a response that response_actions ignores ends the fetch early',
    async (name) => {
      const { edit, recorded } = dispositions[name];
      await sql`TRUNCATE communications.user_call_records`.execute(database.db);
      const ignoring404 = (config: SourceConfig): SourceConfig => {
        const edited = edit(config);
        return {
          ...edited,
          resources: edited.resources.map((resource) =>
            typeof resource === 'object' &&
            resource.name === 'user_call_records' &&
            typeof resource.endpoint === 'object'
              ? {
                  ...resource,
                  endpoint: {
                    ...resource.endpoint,
                    response_actions: [{ status_code: 404, action: 'ignore' }],
                  },
                }
              : resource,
          ),
        };
      };
      const first = await ingestOnce(ignoring404);
      expect(first.report.outcome).toBe('ok');
      expect(await liveCount('user_call_records')).toBe(callRecords);
      await insertVanishedRow('user_call_records', 'vanished-call');

      // Page 2 answers 404, which the config ignores: the fetch ends there, ok, with page 1 loaded — but pages 2
      // and 3 were never seen, so neither their rows nor the vanished one may be removed.
      failFromPageTwo(404);
      const cut = await ingestOnce(ignoring404);
      expect(cut.report.resources.find((r) => r.resource === 'user_call_records')?.status).toBe('ok');
      expect(countsOf(cut.report, 'user_call_records')).toMatchObject({ deleted: 0, unchanged: 10 });
      expect(await rowState('user_call_records', 'vanished-call')).toBe('live');
      expect(await liveCount('user_call_records')).toBe(callRecords + 1);
      expect(await callRecordsRun(cut.report.loadId)).toEqual({ deleted: '0', write_disposition: recorded });
    },
  );

  it('refuses append into a migrated table keyed by the record before any request, naming the resource', async () => {
    const before = await liveCount('forwarding_numbers');
    const { failure, report } = await ingestOnce((config) => ({
      ...config,
      resources: config.resources.map((resource) =>
        typeof resource === 'object' && resource.name === 'forwarding_numbers'
          ? { ...resource, write_disposition: 'append', deletion_detection: false }
          : resource,
      ),
    }));
    expect(failure?.type).toBe('INGEST_PARTIAL_FAILURE');
    const refused = report.resources.find((r) => r.resource === 'forwarding_numbers');
    expect(refused?.status).toBe('failed');
    expect(refused?.reason?.code).toBe('DISPOSITION_TABLE_MISMATCH');
    expect(refused?.reason?.message).toMatch(
      /communications\.forwarding_numbers: write_disposition append needs a table keyed by load position/,
    );
    // Refused before fetching: not one request, not one row.
    expect(sandbox.log.entries().filter((entry) => entry.path.startsWith('/v1/forwarding_numbers'))).toEqual(
      [],
    );
    expect(await liveCount('forwarding_numbers')).toBe(before);
    expect(report.resources.find((r) => r.resource === 'user_call_records')?.status).toBe('ok');
    const run = await database.db
      .selectFrom('ingest.resource_runs')
      .select(['status', 'write_disposition', 'error'])
      .where('load_id', '=', report.loadId)
      .where('resource', '=', 'forwarding_numbers')
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed', write_disposition: 'append' });
    expect(run.error).toMatch(/DISPOSITION|append needs a table keyed by load position/);
  });
});
