/**
 * The communications source end to end: the real dev server and worker, the sandbox over HTTP, a real Postgres.
 * Every resource lands, each table equals what the sandbox served, and a second run over unchanged data rewrites
 * no row (row versions). The API key never reaches the workflow history.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import { communicationsResources } from '../../src/sandbox/resources.ts';
import { canonicalJson } from '../../src/config/plan-hash.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 7, counts: { user_call_records: 1500, forwarding_numbers: 40 } });
});
afterAll(() => sandbox.stop());

async function runOnce(id: string): Promise<LoadReport> {
  return temporal.withWorker(
    database.db,
    () =>
      temporal.client.workflow.execute<typeof ingestSource>('ingestSource', {
        taskQueue: temporal.taskQueue,
        workflowId: id,
        args: [{ source: 'communications' }],
      }),
    {
      env: { COMMUNICATIONS_API_KEY: sandbox.keys.communications },
      baseUrls: { communications: sandbox.url },
      sandbox: true,
    },
  );
}

describe('the communications source, end to end', () => {
  let first: LoadReport;

  it('lands every resource, each table equal to what the sandbox served', async () => {
    first = await runOnce(`ingest/communications/${temporal.taskQueue}/1`);
    expect(first.outcome).toBe('ok');
    expect(first.resources.map((r) => r.resource).sort()).toEqual([...communicationsResources].sort());
    for (const resource of communicationsResources) {
      const served = [...sandbox.dataset.records(resource)].map((record) => canonicalJson(record));
      const { rows } = await sql<{ data: unknown }>`
        SELECT data FROM communications.${sql.id(resource)} WHERE _deleted_at IS NULL`.execute(database.db);
      const stored = rows.map((row) => canonicalJson(row.data));
      expect(stored.sort(), resource).toEqual(served.sort());
      const report = first.resources.find((r) => r.resource === resource);
      expect(report?.counts.inserted, resource).toBe(served.length);
    }
  });

  it('a second run over unchanged data rewrites no row', async () => {
    const before = await rowVersions();
    const second = await runOnce(`ingest/communications/${temporal.taskQueue}/2`);
    expect(second.outcome).toBe('ok');
    for (const report of second.resources) {
      expect(report.counts, report.resource).toMatchObject({ inserted: 0, updated: 0 });
    }
    expect(await rowVersions()).toEqual(before);
  });

  it('never writes the API key into the workflow history', async () => {
    const history = await temporal.client.workflow
      .getHandle(`ingest/communications/${temporal.taskQueue}/1`)
      .fetchHistory();
    const text = JSON.stringify(history);
    const key = sandbox.keys.communications;
    expect(text).not.toContain(key);
    expect(text).not.toContain(Buffer.from(key).toString('base64'));
    // Payloads are base64 in the exported history: decode every one of them and search again.
    const decoded = [...text.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
      Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
    );
    expect(decoded.length).toBeGreaterThan(0);
    for (const payload of decoded) expect(payload).not.toContain(key);
  });
});

async function rowVersions(): Promise<Record<string, string[]>> {
  const versions: Record<string, string[]> = {};
  for (const resource of communicationsResources) {
    const { rows } = await sql<{ v: string }>`
      SELECT xmin::text AS v FROM communications.${sql.id(resource)} ORDER BY 1`.execute(database.db);
    versions[resource] = rows.map((r) => r.v);
  }
  return versions;
}
