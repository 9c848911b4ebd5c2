/**
 * The messaging source end to end (real dev server, worker, Postgres, the sandbox over HTTP): the three independent
 * resources land equal to what the sandbox served; `sms` is skipped without `to`/`from` and sends nothing.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/config/plan-hash.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 5, counts: { contacts: 120, phones: 0, registrations: 33 } });
});
afterAll(() => sandbox.stop());

describe('the messaging source, end to end', () => {
  let report: LoadReport;

  it('lands contacts, phones and registrations equal to what the sandbox served (204 for none)', async () => {
    report = await temporal.withWorker(
      database.db,
      () =>
        temporal.client.workflow.execute<typeof ingestSource>('ingestSource', {
          taskQueue: temporal.taskQueue,
          workflowId: `ingest/messaging/${temporal.taskQueue}`,
          args: [{ source: 'messaging' }],
        }),
      {
        env: { MESSAGING_API_KEY: sandbox.keys.messaging },
        baseUrls: { messaging: sandbox.url },
        sandbox: true,
      },
    );
    expect(report.outcome).toBe('ok');
    for (const resource of ['contacts', 'phones', 'registrations'] as const) {
      const served = [...sandbox.dataset.records(resource)].map((record) => canonicalJson(record)).sort();
      const { rows } = await sql<{ data: unknown }>`SELECT data FROM messaging.${sql.id(resource)}`.execute(
        database.db,
      );
      expect(rows.map((row) => canonicalJson(row.data)).sort(), resource).toEqual(served);
    }
    expect(report.resources.find((r) => r.resource === 'phones')?.counts.fetched).toBe(0);
    // `messages` (a resolve child of `sms`) ran as its own child workflow.
    const child = await temporal.client.workflow
      .getHandle(`ingest/messaging/${temporal.taskQueue}/messages`)
      .describe();
    expect(child.type).toBe('resolveChildren');
    expect(report.resources.find((r) => r.resource === 'messages')?.status).toBe('ok');
  });

  it('never writes the API key into the workflow histories (parent and child), payloads decoded', async () => {
    const key = sandbox.keys.messaging;
    for (const id of [
      `ingest/messaging/${temporal.taskQueue}`,
      `ingest/messaging/${temporal.taskQueue}/messages`,
    ]) {
      const text = JSON.stringify(await temporal.client.workflow.getHandle(id).fetchHistory());
      expect(text, id).not.toContain(key);
      expect(text, id).not.toContain(Buffer.from(key).toString('base64'));
      const decoded = [...text.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
        Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
      );
      expect(decoded.length, id).toBeGreaterThan(0);
      for (const payload of decoded) expect(payload, id).not.toContain(key);
    }
  });

  it('skips sms without to/from, with the reason, and sends nothing', () => {
    const sms = report.resources.find((r) => r.resource === 'sms');
    expect(sms).toMatchObject({ status: 'skipped' });
    expect(sms?.reason?.message).toContain('MESSAGING_CONFIG_TO');
    expect(sandbox.log.entries().filter((entry) => entry.path.startsWith('/messaging/v1/sms'))).toHaveLength(
      0,
    );
  });
});
