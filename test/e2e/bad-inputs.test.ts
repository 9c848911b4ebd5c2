/**
 * The bad-input matrix, end to end: every hostile response of `bad-inputs.cases.ts` through the product path — a
 * source file in a sources folder, a real worker, one real `ingestSource` run (one resource per row), an API of the
 * test's own on loopback answering each resource badly, and a real Postgres. Each row asserts the resource's
 * classified outcome (loaded, after how many attempts, or failed with which code and category, retried or not — read
 * from the run's history), the records rejected with their reason either way, that its table holds exactly the good
 * records or nothing (never part of a response or of a fetch), and that no staging is left behind. The source's own
 * `retry` block sets the retry budget. Two more runs: a source whose credential variable is not set, and a file with
 * an unknown paginator.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FailureFacts } from '../../src/activities/failure.ts';
import { loadSourceConfig } from '../../src/config/load.ts';
import type { Database } from '../../src/db/schema.ts';
import { isIngestError } from '../../src/errors.ts';
import { createHttpClient, type HttpClient } from '../../src/http/client.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { resourceFailures, type ResourceFailure } from '../helpers/activity-failures.ts';
import { withDatabase } from '../helpers/database.ts';
import { dataBody, replies, startHostileApi, type HostileApi, type Reply } from '../helpers/hostile-api.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { apiKey, cases, describeOutcome, source } from './bad-inputs.cases.ts';

const database = withDatabase();
const temporal = withTemporal();

/**
 * The hostile source's retry budget (its `retry` block), kept short: a retryable failure gets `max_attempts`
 * attempts, after backoffs of at most 0.1 s, then 0.2 s. A `Retry-After` is waited for (at least 1 s: the default
 * floor).
 */
const retry = { max_attempts: 3, initial_delay_seconds: 0.1, max_delay_seconds: 1 } as const;
/**
 * The worker's bound on a decoded body here: 128 MiB instead of the default 1 GiB, so the trailing-spaces bomb
 * stops after 128 MiB of decoding (vitest's module runner scans whitespace several times slower than node does).
 */
const maxBodyBytes = 128 * 1024 * 1024;

interface RunResult {
  readonly workflowId: string;
  readonly report?: LoadReport;
  readonly failure?: ApplicationFailure;
}

let api: HostileApi;
let sourcesDir: string;
let http: HttpClient | undefined;
let hostileRun: RunResult;
let noKeyRun: RunResult;
let brokenRun: RunResult;
let failures: ReadonlyMap<string, ResourceFailure>;
/** How far the process's peak resident memory rose above its resident memory before the runs, in bytes. */
let peakRssGrowth = 0;
let stopWorker: () => void = () => undefined;
let worker: Promise<unknown> = Promise.resolve();

beforeAll(async () => {
  api = await startHostileApi(
    new Map([
      ...cases.map((c): [string, Reply] => [`/r/${c.resource}`, c.reply]),
      ['/moved', replies.body(dataBody(['{"id":"1"}']))],
    ]),
  );
  sourcesDir = await mkdtemp(join(tmpdir(), 'bad-inputs-'));
  await writeSources();
  for (const c of cases) if (c.typedTable === true) await createTypedTable(database.db, c.resource);

  // The kernel's high-water mark (`maxRSS`, in KiB) misses no peak, however short; a sampler on this busy event
  // loop could. Against the resident size before the runs: any peak above it counts, even one before them.
  const baseline = process.memoryUsage().rss;
  const released = new Promise<void>((resolve) => {
    stopWorker = resolve;
  });
  http = createHttpClient({ maxBodyBytes });
  worker = temporal.withWorker(database.db, () => released, {
    env: { HOSTILE_API_KEY: apiKey },
    sourcesDir,
    activities: { http, heartbeatIntervalMs: 200 },
  });
  // A worker that cannot start ends the wait at once instead of at the hook's timeout.
  const workerEnded = worker.then(() =>
    Promise.reject(new Error('the worker stopped before the runs ended')),
  );
  workerEnded.catch(() => undefined);
  [hostileRun, noKeyRun, brokenRun] = await Promise.race([
    Promise.all([run(source), run('hostile_no_key'), run('hostile_broken')]),
    workerEnded,
  ]);
  peakRssGrowth = process.resourceUsage().maxRSS * 1024 - baseline;
  failures = await resourceFailures(temporal.client, hostileRun.workflowId);
}, 120_000);

afterAll(async () => {
  stopWorker();
  await worker;
  await http?.close();
  await api.close();
  await rm(sourcesDir, { recursive: true, force: true });
});

/** The sources folder: the hostile source (one resource per row), one whose key is not set, one broken file. */
async function writeSources(): Promise<void> {
  const client = (keyVariable: string) => ({
    base_url: api.url,
    auth: { type: 'api_key', name: 'X-Api-Key', api_key: { $env: keyVariable }, location: 'header' },
  });
  const endpoint = (path: string, extra: Readonly<Record<string, unknown>> = {}) => ({
    path: `/r/${path}`,
    data_selector: 'data',
    paginator: { type: 'single_page' },
    ...extra,
  });
  const write = (file: string, config: object) => writeFile(join(sourcesDir, file), JSON.stringify(config));
  await write('hostile.json', {
    name: source,
    client: client('HOSTILE_API_KEY'),
    retry,
    resource_defaults: { primary_key: 'id', write_disposition: 'merge' },
    resources: cases.map((c) => ({ name: c.resource, endpoint: endpoint(c.resource, c.endpoint) })),
  });
  await write('hostile-no-key.json', {
    name: 'hostile_no_key',
    client: client('HOSTILE_NO_KEY_API_KEY'),
    resources: [{ name: 'items', primary_key: 'id', endpoint: endpoint('no_key_items') }],
  });
  await write('hostile-broken.json', {
    name: 'hostile_broken',
    client: client('HOSTILE_API_KEY'),
    resources: [
      {
        name: 'items',
        primary_key: 'id',
        endpoint: endpoint('broken_items', { paginator: { type: 'infinite_scroll' } }),
      },
    ],
  });
}

/** Starts `ingestSource` for `name` and waits for its end: the report, or the typed failure. */
async function run(name: string): Promise<RunResult> {
  const workflowId = `bad-inputs/${name}/${temporal.taskQueue}`;
  const handle = await temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
    taskQueue: temporal.taskQueue,
    workflowId,
    args: [{ source: name }],
  });
  try {
    return { workflowId, report: await handle.result() };
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
    if (!(cause instanceof ApplicationFailure)) throw error;
    return { workflowId, report: cause.details?.[0] as LoadReport, failure: cause };
  }
}

/**
 * The table of a `typedTable` row, created and registered as a migration would
 * (`migrations/2026_12_01_0002_seed_source_tables.ts`): key `id`, `count bigint`, `ratio double precision`,
 * `created_at timestamptz`, then `data` and the load metadata.
 */
async function createTypedTable(db: Kysely<Database>, resource: string): Promise<void> {
  const columns: readonly (readonly [name: string, type: string])[] = [
    ['id', 'text'],
    ['count', 'bigint'],
    ['ratio', 'double precision'],
    ['created_at', 'timestamptz'],
  ];
  await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(source)}`.execute(db);
  await sql`
    CREATE TABLE ${sql.id(source, resource)} (
      ${sql.join(columns.map(([name, type]) => sql`${sql.id(name)} ${sql.raw(type)}`))},
      data jsonb NOT NULL, _content_hash bigint NOT NULL, _raw_hash uuid, _load_id text NOT NULL,
      _first_loaded_at timestamptz NOT NULL, _changed_at timestamptz NOT NULL, _deleted_at timestamptz,
      PRIMARY KEY (id)
    )`.execute(db);
  await sql`
    INSERT INTO ingest.resource_tables (source, resource, table_schema, table_name, primary_key, primary_key_columns)
    VALUES (${source}, ${resource}, ${source}, ${resource}, ARRAY['id'], ARRAY['id'])`.execute(db);
  for (const [index, [name, type]] of columns.entries()) {
    await sql`
      INSERT INTO ingest.resource_columns (source, resource, column_name, field_path, data_type, ordinal)
      VALUES (${source}, ${resource}, ${name}, ARRAY[${name}], ${type}, ${index + 1})`.execute(db);
  }
}

/** The keys in a resource's table, sorted (none when the table does not exist). */
async function keysIn(db: Kysely<Database>, resource: string): Promise<string[]> {
  const { rows: found } = await sql<{ exists: boolean }>`
    SELECT to_regclass(${`${source}.${resource}`}) IS NOT NULL AS exists`.execute(db);
  if (found[0]?.exists !== true) return [];
  const { rows } = await sql<{ id: string }>`SELECT id FROM ${sql.id(source, resource)} ORDER BY id`.execute(
    db,
  );
  return rows.map((r) => r.id);
}

/** The records of the run rejected for `resource`, counted by reason code. */
async function rejectedByCode(db: Kysely<Database>, loadId: string, resource: string) {
  const rows = await db
    .selectFrom('ingest.rejected_records')
    .select('reason_code')
    .where('load_id', '=', loadId)
    .where('resource', '=', resource)
    .execute();
  const counts: Record<string, number> = {};
  for (const { reason_code } of rows) counts[reason_code] = (counts[reason_code] ?? 0) + 1;
  return counts;
}

describe('bad inputs through ingestSource: a classified outcome each, nothing partial', () => {
  it.each(cases.map((c) => ({ ...c, name: `${c.title} → ${describeOutcome(c.outcome)}` })))(
    '$name',
    async (c) => {
      const db = database.db;
      const loadId = hostileRun.report?.loadId ?? '';
      const report = hostileRun.report?.resources.find((r) => r.resource === c.resource);
      const requests = api.requests(`/r/${c.resource}`).length;
      const rejected = await rejectedByCode(db, loadId, c.resource);
      expect(rejected).toEqual(c.outcome.rejected ?? {});
      if ('loaded' in c.outcome) {
        expect(report?.status).toBe('ok');
        expect(await keysIn(db, c.resource)).toEqual([...c.outcome.loaded].sort());
        expect(report?.counts.rejected).toBe(Object.values(rejected).reduce((a, b) => a + b, 0));
        expect(failures.has(c.resource)).toBe(false);
        expect(requests).toBe(c.outcome.attempts ?? 1);
      } else {
        expect(report?.status).toBe('failed');
        expect(report?.reason?.code).toBe(c.outcome.failed);
        const failure = failures.get(c.resource);
        expect(failure?.type).toBe(c.outcome.failed);
        expect(failure?.facts.category).toBe(c.outcome.category);
        expect(failure?.facts.retryable).toBe(c.outcome.retried);
        // Each attempt is one request per page it reached (the paginated row fails on its second page).
        expect(requests).toBe((c.outcome.retried ? retry.max_attempts : 1) * (c.requestsPerAttempt ?? 1));
        // Nothing partial: not one record of the response (or of the pages before the broken one) landed.
        expect(await keysIn(db, c.resource)).toEqual([]);
      }
      const staged = await db
        .selectFrom('ingest.staging_tables')
        .select('resource')
        .where('load_id', '=', loadId)
        .where('resource', '=', c.resource)
        .execute();
      expect(staged).toEqual([]);
      await c.check?.({ db, loadId, api });
    },
  );

  it('the run ends partial, leaves no staging table at all, and its history never holds the key', async () => {
    expect(hostileRun.failure?.type).toBe('INGEST_PARTIAL_FAILURE');
    expect(hostileRun.report?.outcome).toBe('partial');
    expect(hostileRun.report?.resources).toHaveLength(cases.length);
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'ingest' AND tablename LIKE 'stage\\_%'`.execute(
      database.db,
    );
    expect(rows[0]?.n).toBe(0);
    const handle = temporal.client.workflow.getHandle(hostileRun.workflowId);
    expect(JSON.stringify(await handle.fetchHistory())).not.toContain(apiKey);
  });

  it('through two 4 GiB gzip bombs and 10 MB strings, the process peaked less than 512 MiB above its start', () => {
    expect(peakRssGrowth).toBeLessThan(512 * 1024 * 1024);
  });

  it('a credential variable not set fails the run before any request → SECRET_NOT_SET (auth, not retried)', () => {
    expect(noKeyRun.failure?.type).toBe('SECRET_NOT_SET');
    expect(noKeyRun.failure?.nonRetryable).toBe(true);
    const facts = noKeyRun.failure?.details?.[0] as FailureFacts;
    expect([facts.category, facts.retryable]).toEqual(['auth', false]);
    expect(noKeyRun.failure?.message).toContain('HOSTILE_NO_KEY_API_KEY');
    expect(api.requests('/r/no_key_items')).toEqual([]);
  });

  it('an unknown paginator is refused when the config loads → CONFIG_INVALID (config, not retried)', async () => {
    const loaded = await loadSourceConfig(join(sourcesDir, 'hostile-broken.json')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isIngestError(loaded)).toBe(true);
    if (!isIngestError(loaded)) return;
    expect([loaded.code, loaded.category, loaded.retryable]).toEqual(['CONFIG_INVALID', 'config', false]);
    const problems = loaded.details['problems'] as readonly { path: string }[];
    expect(problems.map((p) => p.path)).toContain('resources[0].endpoint.paginator.type');
    // A run of it fails the same way, before any request, while the folder's other sources are served.
    expect(brokenRun.failure?.type).toBe('CONFIG_INVALID');
    expect(brokenRun.failure?.nonRetryable).toBe(true);
    expect((brokenRun.failure?.details?.[0] as FailureFacts).category).toBe('config');
    expect(api.requests('/r/broken_items')).toEqual([]);
  });
});
