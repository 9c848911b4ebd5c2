/**
 * A raw U+0000 in a response body, end to end (real dev server, worker, Postgres, the sandbox over HTTP behind a
 * small proxy that puts the NUL into one route's body): V8's `JSON.parse` quotes the NUL in its message, and the
 * ledger must still record it — as the visible `\u0000` — so the run ends `partial` with the resource's error and
 * its load closed (not left `running`), and the failed resource's staging dropped.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResourceRuns } from '../../src/db/ledger/ledger.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';

const database = withDatabase();
const temporal = withTemporal();
let sandbox: Sandbox;
let proxy: Server;
let proxyUrl: string;

/** The route whose body gets a raw NUL where its first record's `id` value should be. */
const broken = '/v1/call_queues';

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 26 });
  proxy = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(new URL(req.url ?? '/', sandbox.url), {
        method: req.method ?? 'GET',
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(
            (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
          ),
        ),
      });
      let body = Buffer.from(await upstream.arrayBuffer());
      if ((req.url ?? '').startsWith(broken)) {
        body = Buffer.from(body.toString('utf8').replace('"id":', '"id":\u0000,"was":'));
      }
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
        'content-length': String(body.length),
      });
      res.end(body);
    })().catch((error: unknown) => {
      res.writeHead(502).end(String(error));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await sandbox.stop();
});

describe('a raw NUL in a response body', () => {
  it('fails the resource with its error in the ledger (escaped) and closes the load, partial', async () => {
    const failure = await temporal.withWorker(
      database.db,
      async () => {
        const handle = await temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
          taskQueue: temporal.taskQueue,
          workflowId: `ingest/communications/${temporal.taskQueue}/nul`,
          args: [{ source: 'communications', resources: ['call_queues', 'forwarding_numbers'] }],
        });
        try {
          await handle.result();
          return undefined;
        } catch (error) {
          return error instanceof WorkflowFailedError ? error.cause : error;
        }
      },
      {
        env: { COMMUNICATIONS_API_KEY: sandbox.keys.communications },
        baseUrls: { communications: proxyUrl },
        sandbox: true,
        activities: { heartbeatIntervalMs: 200 },
      },
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe('INGEST_PARTIAL_FAILURE');
    const report = (failure as ApplicationFailure).details?.[0] as LoadReport;
    const failed = report.resources.find((r) => r.resource === 'call_queues');
    expect(failed?.status).toBe('failed');
    expect(failed?.reason?.code).toBe('INVALID_JSON');
    expect(failed?.reason?.message).toContain('\u0000'); // the run's own report keeps what V8 said

    const load = await database.db
      .selectFrom('ingest.loads')
      .select(['status', 'error', 'report'])
      .where('load_id', '=', report.loadId)
      .executeTakeFirstOrThrow();
    expect(load.status).toBe('partial');
    expect(load.error).toContain('call_queues: ');
    expect(load.error).toContain('\\u0000');
    expect(load.error).not.toContain('\u0000');
    expect(JSON.stringify(load.report)).toContain('INVALID_JSON');

    const runs = await readResourceRuns(database.db, report.loadId);
    expect(runs.map((r) => [r.resource, r.status])).toEqual([
      ['call_queues', 'failed'],
      ['forwarding_numbers', 'succeeded'],
    ]);
    const run = runs.find((r) => r.resource === 'call_queues');
    expect(run?.error).toContain('is not valid JSON');
    expect(run?.error).toContain('\\u0000');
    // The failed resource's staging went with the close.
    const staged = await database.db
      .selectFrom('ingest.staging_tables')
      .select('resource')
      .where('load_id', '=', report.loadId)
      .execute();
    expect(staged).toEqual([]);
  }, 45_000);
});
