/**
 * Issue 7 at the level of a run: a resource no migration registered gets its table at run time (and reports every
 * field but its key as schema drift), a resource whose every record is rejected fails while an empty one does not,
 * and rejected payloads older than the source's retention are purged when a load of it begins. The activities run
 * in Temporal's MockActivityEnvironment against a real HTTP server and the real Postgres.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.ts';
import { resolveSource } from '../../src/config/resolve.ts';
import type { SourceConfig } from '../../src/config/schema.ts';
import type { ResolvedResource } from '../../src/shared/plan.ts';
import { ensureResourceTable } from '../../src/db/tables/auto-tables.ts';
import { readResourceRuns, startLoad } from '../../src/db/ledger/ledger.ts';
import { readResourceTable } from '../../src/db/tables/resource-tables.ts';
import type { IngestError } from '../../src/errors.ts';
import type { BeginLoadInput, IngestResourceInput, ResourceCounts } from '../../src/shared/ingest-types.ts';
import { withDatabase } from '../helpers/database.ts';
import { currentTxid, rowsWrittenSince } from './loader-fixtures.ts';

const database = withDatabase();

/** What the test API answers, per path: a JSON body. */
const bodies = new Map<string, string>();
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const body = bodies.get(new URL(request.url ?? '/', 'http://x').pathname);
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    response.end(body ?? '{"error":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const source = 'autosrc';

/** The planned resources of a source file with these resources (merge disposition, single page, `data`). */
function planned(resources: readonly Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  const config = {
    name: source,
    client: { base_url: baseUrl },
    resources: resources.map((r) => ({
      write_disposition: 'merge',
      endpoint: { path: `/${String(r['name'])}`, paginator: 'single_page', data_selector: 'data' },
      ...r,
    })),
    ...extra,
  } as unknown as SourceConfig;
  return resolveSource(config, { env: {} });
}

let loadCounter = 0;

/**
 * Runs `ingestResource` for one planned resource in a fresh load (or again in load `again`, as a retried attempt
 * would); returns the counts or the failure.
 */
async function ingest(
  resource: ResolvedResource,
  again?: string,
): Promise<{ loadId: string; result: ResourceCounts | Error }> {
  const loadId = again ?? `auto-${++loadCounter}`;
  if (again === undefined) await startLoad(database.db, { loadId, source });
  const activities = createActivities({ db: database.db, env: {}, heartbeatIntervalMs: 60_000 });
  const environment = new MockActivityEnvironment({ attempt: 1 });
  const input: IngestResourceInput = { loadId, source, baseUrl, planHash: 'h'.repeat(64), resource };
  const result = await environment
    .run((i: IngestResourceInput) => activities.ingestResource(i), input)
    .then(
      (counts) => counts as ResourceCounts,
      (error: unknown) => error as Error,
    );
  return { loadId, result };
}

async function columnsOf(
  schema: string,
  table: string,
): Promise<{ name: string; type: string; nullable: string }[]> {
  const { rows } = await sql<{ name: string; type: string; nullable: string }>`
    SELECT column_name AS name, data_type AS type, is_nullable AS nullable
    FROM information_schema.columns WHERE table_schema = ${schema} AND table_name = ${table}
    ORDER BY ordinal_position`.execute(database.db);
  return rows;
}

describe('ensureResourceTable', () => {
  it('creates the minimal table — key text NOT NULL, data, exactly the metadata of a migrated table — in the source schema', async () => {
    const table = await ensureResourceTable(database.db, {
      source: 'fresh_schema',
      resource: 'widgets',
      tableName: 'widgets',
      primaryKey: ['id'],
    });
    expect(table).toEqual({
      source: 'fresh_schema',
      resource: 'widgets',
      schema: 'fresh_schema',
      table: 'widgets',
      primaryKey: [{ field: 'id', column: 'id' }],
      columns: [],
      rowKey: 'record',
    });
    const migrated = (await columnsOf('communications', 'user_business_hours')).filter(
      (c) => c.name === 'id' || c.name === 'data' || c.name.startsWith('_'),
    );
    expect(await columnsOf('fresh_schema', 'widgets')).toEqual(migrated);
    const registered = await database.db
      .selectFrom('ingest.resource_tables')
      .selectAll()
      .where('source', '=', 'fresh_schema')
      .executeTakeFirstOrThrow();
    expect(registered).toMatchObject({
      created_by: 'auto',
      primary_key: ['id'],
      primary_key_columns: ['id'],
    });
    const { rows } = await sql<{ key: string[] }>`
      SELECT array_agg(a.attname::text ORDER BY a.attname) AS key
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = 'fresh_schema.widgets'::regclass AND i.indisprimary`.execute(database.db);
    expect(rows[0]?.key).toEqual(['id']);
  });

  it('is idempotent and safe under concurrent callers: one table, one registry row, the same answer for all', async () => {
    const spec = { source: 'race', resource: 'items', tableName: 'items', primaryKey: ['a', 'b'] };
    const tables = await Promise.all(Array.from({ length: 6 }, () => ensureResourceTable(database.db, spec)));
    for (const table of tables) expect(table).toEqual(tables[0]);
    expect(await ensureResourceTable(database.db, spec)).toEqual(tables[0]);
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM ingest.resource_tables WHERE source = 'race'`.execute(database.db);
    expect(Number(rows[0]?.n)).toBe(1);
  });

  it('quotes hostile table and key names (quotes, dots, semicolons)', async () => {
    const spec = {
      source: 'hostile_names',
      resource: 'r',
      tableName: 'ta"ble.x; DROP TABLE ingest.loads; --',
      primaryKey: ['user.id"; --'],
    };
    const table = await ensureResourceTable(database.db, spec);
    expect(table).toMatchObject({
      table: spec.tableName,
      primaryKey: [{ field: 'user.id"; --', column: 'user.id"; --' }],
    });
    expect((await columnsOf('hostile_names', spec.tableName)).map((c) => c.name)[0]).toBe('user.id"; --');
    await expect(readResourceTable(database.db, 'hostile_names', 'r')).resolves.toEqual(table);
  });

  it('refuses a resource without a primary key, a key named like a metadata column and a taken table name', async () => {
    const refusal = (spec: Parameters<typeof ensureResourceTable>[1]) =>
      ensureResourceTable(database.db, spec).then(
        () => undefined,
        (error: unknown) => error as IngestError,
      );
    const noKey = await refusal({ source: 'refuse', resource: 'logs', tableName: 'logs', primaryKey: [] });
    expect(noKey).toMatchObject({
      code: 'AUTO_TABLE_NEEDS_PRIMARY_KEY',
      category: 'config',
      retryable: false,
    });
    expect(noKey?.message).toContain('refuse.logs');
    const clash = await refusal({
      source: 'refuse',
      resource: 'x',
      tableName: 'x',
      primaryKey: ['_load_id'],
    });
    expect(clash).toMatchObject({ code: 'AUTO_TABLE_BAD_NAME' });
    const long = await refusal({
      source: 'refuse',
      resource: 'y',
      tableName: 'y'.repeat(64),
      primaryKey: ['id'],
    });
    expect(long).toMatchObject({ code: 'AUTO_TABLE_BAD_NAME' });
    // communications.user_call_records is registered for another resource.
    const taken = await refusal({
      source: 'communications',
      resource: 'calls_again',
      tableName: 'user_call_records',
      primaryKey: ['id'],
    });
    expect(taken).toMatchObject({ code: 'AUTO_TABLE_TAKEN', category: 'conflict', retryable: false });
    await sql`CREATE TABLE public.unregistered (id text)`.execute(database.db);
    const unregistered = await refusal({
      source: 'public',
      resource: 'unregistered',
      tableName: 'unregistered',
      primaryKey: ['id'],
    });
    expect(unregistered).toMatchObject({ code: 'AUTO_TABLE_TAKEN' });
  });
});

describe('a resource added to the config without a migration', () => {
  it('loads into an auto table, reports its fields as drift, and a second unchanged run rewrites no row', async () => {
    // Raw text: the big integer must reach the API's body exactly.
    bodies.set(
      '/gadgets',
      '{"data":[{"id":"g1","name":"one","size":3},{"id":"g2","name":"two","tags":["a"]},' +
        '{"id":"g3","name":"three","size":12345678901234567890}]}',
    );
    const plan = planned([{ name: 'gadgets', primary_key: 'id' }]);
    const first = await ingest(plan.resources[0]!);
    expect(first.result).toMatchObject({
      fetched: 3,
      inserted: 3,
      rejected: 0,
      drift: { name: 3, size: 2, tags: 1 },
    });
    const [run] = await readResourceRuns(database.db, first.loadId);
    expect(run).toMatchObject({ status: 'succeeded', drift: { name: 3, size: 2, tags: 1 } });
    const { rows } = await sql<{ id: string; size: string }>`
      SELECT id, data ->> 'size' AS size FROM autosrc.gadgets ORDER BY id`.execute(database.db);
    expect(rows).toEqual([
      { id: 'g1', size: '3' },
      { id: 'g2', size: null },
      { id: 'g3', size: '12345678901234567890' },
    ]);

    const since = await currentTxid(database.db);
    const second = await ingest(plan.resources[0]!);
    expect(second.result).toMatchObject({ fetched: 3, inserted: 0, updated: 0, unchanged: 3 });
    expect(await rowsWrittenSince(database.db, 'autosrc.gadgets', since)).toBe(0);
  });

  it('without a primary key (append, say) fails with a config error naming the resource, before any request', async () => {
    // The merge disposition without a key is refused by the config already; an append resource reaches the loader.
    const { result } = await ingest(planned([{ name: 'logs', write_disposition: 'append' }]).resources[0]!);
    expect(result).toBeInstanceOf(ApplicationFailure);
    expect(result).toMatchObject({ type: 'APPEND_WITHOUT_KEY', nonRetryable: true });
    expect((result as Error).message).toContain('autosrc.logs');
  });

  it('with the append disposition, gets the append table and appends a full copy on every run', async () => {
    bodies.set(
      '/events',
      '{"data":[{"id":"e1","kind":"open"},{"id":"e2","kind":"close"},{"id":"e1","kind":"again"}]}',
    );
    const plan = planned([{ name: 'events', primary_key: 'id', write_disposition: 'append' }]);
    const first = await ingest(plan.resources[0]!);
    expect(first.result).toMatchObject({ fetched: 3, inserted: 3, rejected: 0 });
    const second = await ingest(plan.resources[0]!);
    expect(second.result).toMatchObject({ fetched: 3, inserted: 3 });
    const registered = await readResourceTable(database.db, 'autosrc', 'events');
    expect(registered).toMatchObject({ rowKey: 'position', primaryKey: [{ field: 'id', column: 'id' }] });
    const { rows } = await sql<{ id: string; kind: string; loads: string }>`
      SELECT id, data ->> 'kind' AS kind, count(DISTINCT _load_id) AS loads
      FROM autosrc.events GROUP BY 1, 2 ORDER BY 1, 2`.execute(database.db);
    // Duplicates within a load are kept too: it is append.
    expect(rows).toEqual([
      { id: 'e1', kind: 'again', loads: '2' },
      { id: 'e1', kind: 'open', loads: '2' },
      { id: 'e2', kind: 'close', loads: '2' },
    ]);
  });
});

describe('a resource whose records are all rejected', () => {
  it('fails, not retryable, naming the first reason codes and keys but no payload', async () => {
    bodies.set(
      '/secrets',
      JSON.stringify({
        data: [
          { name: 'Ada Lovelace', phone: '+15550001' },
          { id: null, phone: '+15550002' },
          { id: { nested: 'x' }, phone: '+15550003' },
          { name: 'Grace', phone: '+15550004' },
        ],
      }),
    );
    const { loadId, result } = await ingest(planned([{ name: 'secrets', primary_key: 'id' }]).resources[0]!);
    expect(result).toBeInstanceOf(ApplicationFailure);
    expect(result).toMatchObject({ type: 'ALL_RECORDS_REJECTED', nonRetryable: true });
    const message = (result as Error).message;
    expect(message).toContain('all 4 record(s)');
    expect(message).toContain('missing-primary-key');
    expect(message).toContain('invalid-primary-key (key {"nested":"x"})');
    expect(message).not.toMatch(/Ada|Grace|\+1555/);
    const [run] = await readResourceRuns(database.db, loadId);
    expect(run).toMatchObject({ status: 'failed', fetched: 0, rejected: 4 });
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM ingest.rejected_records WHERE load_id = ${loadId}`.execute(database.db);
    expect(Number(rows[0]?.n)).toBe(4);
    // An attempt that finds the merge done (the worker died after it) fails the same way, without a request.
    bodies.delete('/secrets');
    const retried = await ingest(planned([{ name: 'secrets', primary_key: 'id' }]).resources[0]!, loadId);
    expect(retried.result).toMatchObject({ type: 'ALL_RECORDS_REJECTED', nonRetryable: true });
  });

  it('one record nested deeper than Postgres takes is rejected alone; the rest of the response lands', async () => {
    const deep = `${'['.repeat(30_000)}1${']'.repeat(30_000)}`;
    bodies.set('/nested', `{"data":[{"id":"n1"},{"id":"deep","a":${deep}},{"id":"n2","b":[[[[1]]]]}]}`);
    const { loadId, result } = await ingest(planned([{ name: 'nested', primary_key: 'id' }]).resources[0]!);
    expect(result).toMatchObject({ fetched: 3, inserted: 2, rejected: 1 });
    const rejected = await database.db
      .selectFrom('ingest.rejected_records')
      .select(['reason_code', 'record_key'])
      .where('load_id', '=', loadId)
      .execute();
    expect(rejected).toEqual([{ reason_code: 'too-deep', record_key: '"deep"' }]);
  });

  it('but zero records fetched is an empty result, not a failure', async () => {
    bodies.set('/empty', '{"data":[]}');
    const { result } = await ingest(planned([{ name: 'empty', primary_key: 'id' }]).resources[0]!);
    expect(result).toMatchObject({ fetched: 0, inserted: 0, rejected: 0 });
  });

  it('and one good record among the rejected ones is a success', async () => {
    bodies.set('/mixed', '{"data":[{"x":1},{"id":"ok"}]}');
    const { result } = await ingest(planned([{ name: 'mixed', primary_key: 'id' }]).resources[0]!);
    expect(result).toMatchObject({ fetched: 2, inserted: 1, rejected: 1 });
  });
});

describe('retention of rejected records', () => {
  async function reject(loadId: string, sourceName: string, ageDays: number): Promise<void> {
    await database.db
      .insertInto('ingest.rejected_records')
      .values({
        load_id: loadId,
        source: sourceName,
        resource: 'r',
        batch_seq: 0,
        ordinal: ageDays,
        reason_code: 'missing-primary-key',
        reason: 'test',
        record_key: null,
        payload: '{"personal":"data"}',
        rejected_at: sql<Date>`now() - make_interval(days => ${ageDays})`,
      })
      .execute();
  }

  async function remaining(sourceName: string): Promise<number[]> {
    const rows = await database.db
      .selectFrom('ingest.rejected_records')
      .select('ordinal')
      .where('source', '=', sourceName)
      .orderBy('ordinal')
      .execute();
    return rows.map((r) => r.ordinal);
  }

  async function begin(sourceName: string, runId: string, rejectedRetentionDays?: number): Promise<void> {
    const activities = createActivities({
      db: database.db,
      env: {},
      runStatus: () => Promise.resolve('closed'),
    });
    await new MockActivityEnvironment().run((input: BeginLoadInput) => activities.beginLoad(input), {
      source: sourceName,
      planHash: 'h'.repeat(64),
      workflowId: `wf-${runId}`,
      runId,
      resources: ['r'],
      ...(rejectedRetentionDays === undefined ? {} : { rejectedRetentionDays }),
    });
  }

  it("purges the source's rejected records older than its retention when a load begins, and only those", async () => {
    for (const age of [1, 6, 8, 40]) await reject('old-load', 'kept_source', age);
    for (const age of [1, 8]) await reject('other-load', 'other_source', age);
    await begin('kept_source', 'run-retention-7', 7);
    expect(await remaining('kept_source')).toEqual([1, 6]);
    expect(await remaining('other_source')).toEqual([1, 8]);
  });

  it('keeps 30 days when the source file does not say', async () => {
    for (const age of [29, 31]) await reject('old-load-2', 'default_source', age);
    await begin('default_source', 'run-retention-default');
    expect(await remaining('default_source')).toEqual([29]);
  });

  it('is set per source file (rejected_records.retention_days) and reaches beginLoad through the plan', () => {
    const plan = planned([{ name: 'a', primary_key: 'id' }], { rejected_records: { retention_days: 2 } });
    expect(plan.rejectedRetentionDays).toBe(2);
  });
});
