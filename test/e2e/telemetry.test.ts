/**
 * Metrics, health and traces of a real run. A worker wired as the entry points wire it (`openRuntime` with metrics on
 * a free loopback port and traces to an in-process OTLP/HTTP receiver, then `createWorker`) runs the communications
 * source against the sandbox, whose `call_queues` answers 429 once and whose `user_call_records` (3 000 records: two
 * staged batches) resets its body once after the first batch was staged. A real scrape of `/metrics` shows the rows
 * and the records fetched of each resource as the ledger has them (the records the reset made the retry fetch again
 * count once), the HTTP responses, both retries, the merges and each resource's freshness, next to the SDK's own
 * metrics; `/healthz` is 200 while the worker runs, 503 once it stopped, and asks Postgres on one connection of its
 * own (a pool busy with loads is healthy); the receiver gets one trace for the run with our fetch, stage and merge
 * spans under each activity's span. No secret reaches either.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/app/runtime.ts';
import { probeApplicationName } from '../../src/app/database-probe.ts';
import { sourcesFromSandbox, surveySources } from '../../src/app/sources.ts';
import { shippedSourcesDir } from '../../src/config/registry.ts';
import { readLastSuccesses } from '../../src/db/ledger/freshness.ts';
import { readResourceRuns } from '../../src/db/ledger/ledger.ts';
import { projectRoot } from '../../src/local/paths.ts';
import { communicationsResources, type SandboxResource } from '../../src/sandbox/resources.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import type { LoadReport } from '../../src/shared/ingest-types.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { until } from '../helpers/until.ts';

const database = withDatabase();
const { temporalAddress, namespace } = inject('stack');
const taskQueue = `test-${randomBytes(6).toString('hex')}`;
const workflowId = `telemetry/${taskQueue}`;
const callRecords = 3_000;
/** The worker's Postgres pool: all of it is held busy while `/healthz` is asked. */
const poolSize = 8;

let sandbox: Sandbox;
let receiver: OtlpReceiver;
let runtime: Runtime;
let worker: Worker;
let endpoint: string;

beforeAll(async () => {
  [sandbox, receiver] = await Promise.all([
    startSandbox({
      seed: 11,
      counts: { user_call_records: callRecords, blocked_allowed_phonenumbers: 20 },
      faults: [
        {
          method: 'GET',
          path: '/v1/call_queues',
          fault: { type: 'status', status: 429, retryAfter: { seconds: 1, format: 'seconds' } },
          times: 1,
        },
        {
          // ~1.3 MB of records: the connection drops once the first 1 MiB batch is staged, before the page ends.
          method: 'GET',
          path: '/v1/user_call_records',
          fault: { type: 'reset', when: 'mid-body', afterBytes: 1_200_000 },
          times: 1,
        },
      ],
    }),
    startOtlpReceiver(),
  ]);
  runtime = await openRuntime(
    { temporal: { address: temporalAddress, namespace }, databaseUrl: database.url },
    {
      maxConnections: poolSize,
      telemetry: {
        metricsAddress: { host: '127.0.0.1', port: 0 },
        tracesUrl: `${receiver.url}/v1/traces`,
      },
    },
  );
  // Bundled here, as a worker without a prebuilt bundle does: with the workflow tracing interceptors.
  const bindings = await sourcesFromSandbox(sandbox, {}, shippedSourcesDir);
  worker = await runtime.createWorker({ sources: bindings, taskQueue, concurrency: 4 });
  endpoint =
    (await runtime.telemetry.serve({
      worker,
      db: runtime.db,
      databaseUrl: database.url,
      sources: (await surveySources(bindings)).served,
    })) ?? '';
});

afterAll(async () => {
  await runtime?.close();
  await Promise.all([sandbox?.stop(), receiver?.stop()]);
});

describe('metrics, health and traces of a run', () => {
  let report: LoadReport;
  let metrics: Sample[];
  let healthWhileRunning: { status: number; body: unknown };
  const startedAt = Math.floor(Date.now() / 1000);

  it('runs the source while /metrics and /healthz are served', async () => {
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    report = await worker.runUntil(async () => {
      const done = await runtime.client.workflow.execute<typeof ingestSource>('ingestSource', {
        taskQueue,
        workflowId,
        args: [{ source: 'communications' }],
      });
      healthWhileRunning = await health();
      // Recorded as the activities finish; the scrape is read until the last merge is in it.
      metrics = await until('every merge in the scrape', async () => {
        const samples = parse(await scrape());
        const merges = sum(samples, 'ingest_merge_duration_seconds_count', {});
        return merges === communicationsResources.length ? samples : undefined;
      });
      return done;
    });
    expect(report.outcome).toBe('ok');
  });

  it('counts the rows of each resource as the ledger has them, and its last success', async () => {
    const runs = await readResourceRuns(database.db, report.loadId);
    expect(runs.map((run) => run.resource).sort()).toEqual([...communicationsResources].sort());
    for (const run of runs) {
      const labels = { source: 'communications', resource: run.resource };
      const served = [...sandbox.dataset.records(run.resource as SandboxResource)].length;
      expect(run.inserted, run.resource).toBe(served);
      expect(sum(metrics, 'ingest_rows_total', { ...labels, outcome: 'inserted' }), run.resource).toBe(
        served,
      );
      expect(sum(metrics, 'ingest_rows_total', { ...labels, outcome: 'updated' }), run.resource).toBe(0);
      // Counted once kept: the records the reset made the retry fetch again count once.
      expect(sum(metrics, 'ingest_records_fetched_total', labels), run.resource).toBe(run.fetched);
      expect(run.fetched, run.resource).toBe(
        report.resources.find((r) => r.resource === run.resource)?.counts.fetched,
      );
      expect(sum(metrics, 'ingest_merge_duration_seconds_count', labels), run.resource).toBe(1);
      const freshness = sum(metrics, 'ingest_last_success_timestamp_seconds', labels);
      expect(freshness, run.resource).toBeGreaterThanOrEqual(startedAt);
      expect(freshness, run.resource).toBeLessThanOrEqual(Date.now() / 1000);
    }
    // The ledger's last successes, which a restarted worker's gauge starts from, say the same.
    for (const last of await readLastSuccesses(database.db)) {
      const labels = { source: last.source, resource: last.resource };
      const gauge = sum(metrics, 'ingest_last_success_timestamp_seconds', labels);
      expect(Math.abs(gauge - last.at.getTime() / 1000), last.resource).toBeLessThan(2);
    }
  });

  it('counts the HTTP responses by origin and status, and the rate-limited retry with its wait', () => {
    const origin = { origin: sandbox.url };
    const pages = report.resources.reduce((total, r) => total + r.counts.pages, 0);
    expect(pages).toBeGreaterThanOrEqual(communicationsResources.length);
    expect(sum(metrics, 'ingest_http_responses_total', { ...origin, status: '200' })).toBeGreaterThanOrEqual(
      pages,
    );
    expect(sum(metrics, 'ingest_http_responses_total', { ...origin, status_class: '4xx' })).toBe(1);
    expect(sum(metrics, 'ingest_http_responses_total', { ...origin, status: '429' })).toBe(1);
    const retry = { resource: 'call_queues', reason: 'rate_limited' };
    expect(sum(metrics, 'ingest_retry_delay_seconds_count', retry)).toBe(1);
    expect(sum(metrics, 'ingest_retry_delay_seconds_sum', retry)).toBeGreaterThanOrEqual(1);
    // The reset: a transient retry of user_call_records, and nothing else.
    expect(sum(metrics, 'ingest_retry_delay_seconds_count', { reason: 'transient' })).toBe(1);
    expect(
      sum(metrics, 'ingest_retry_delay_seconds_count', {
        resource: 'user_call_records',
        reason: 'transient',
      }),
    ).toBe(1);
    expect(sum(metrics, 'ingest_resource_failures_total', {})).toBe(0);
  });

  it("serves the SDK's own metrics from the same endpoint, each one the dashboard shows", async () => {
    const names = new Set(metrics.map((sample) => sample.name));
    const dashboard = JSON.parse(
      await readFile(join(projectRoot, 'docs/grafana-dashboard.json'), 'utf8'),
    ) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
    const shown = new Set(
      exprs.flatMap((expr) => [...expr.matchAll(/\btemporal_[a-z_]+/g)].map(([name]) => name)),
    );
    expect(shown).toContain('temporal_worker_task_slots_available');
    for (const name of shown) expect(names, name).toContain(name);
    expect(sum(metrics, 'temporal_worker_task_slots_available', { task_queue: taskQueue })).toBeGreaterThan(
      0,
    );
  });

  it('labels by names and origins only: no URL path or query, no secret', async () => {
    const text = await scrape();
    expect(text).not.toContain(sandbox.keys.communications);
    const origins = metrics.flatMap((sample) =>
      sample.labels['origin'] === undefined ? [] : [sample.labels['origin']],
    );
    expect(origins.length).toBeGreaterThan(0);
    for (const origin of origins) expect(origin).toBe(new URL(origin).origin);
  });

  it('asks Postgres on one connection of its own: healthy while every pool connection is busy', async () => {
    const held: Promise<void>[] = [];
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const taken: Promise<void>[] = [];
    for (let i = 0; i < poolSize; i++) {
      let acquired = () => {};
      taken.push(new Promise<void>((resolve) => (acquired = resolve)));
      held.push(
        runtime.db.connection().execute(async (connection) => {
          await sql`SELECT 1`.execute(connection);
          acquired();
          await gate;
        }),
      );
    }
    try {
      await Promise.all(taken);
      const probes = await Promise.all([health(), health(), health(), health(), health()]);
      for (const probe of probes) expect(probe.body).toMatchObject({ database: 'ok' });
      const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = ${database.name} AND application_name = ${probeApplicationName}`.execute(database.db);
      expect(Number(rows[0]?.n)).toBe(1);
    } finally {
      release();
      await Promise.all(held);
    }
  });

  it('answers /healthz 200 while the worker runs, 503 once it stopped', async () => {
    expect(healthWhileRunning).toEqual({
      status: 200,
      body: { status: 'ok', worker: 'RUNNING', database: 'ok' },
    });
    const stopped = await health();
    expect(stopped.status).toBe(503);
    expect(stopped.body).toMatchObject({ status: 'unavailable', database: 'ok' });
  });

  it('traces the run: one trace, our fetch, stage and merge spans under each activity span', async () => {
    await runtime.close(); // flushes the spans still buffered
    const spans = receiver.spans();
    expect(receiver.serviceNames()).toEqual(new Set(['durable-ingest']));
    const start = spans.find((span) => span.name === 'StartWorkflow:ingestSource');
    expect(start, 'the client span that starts the run').toBeDefined();
    const activities = spans.filter((span) => span.name === 'RunActivity:ingestResource');
    expect(activities.length).toBeGreaterThanOrEqual(communicationsResources.length);
    for (const span of spans) expect(span.traceId, span.name).toBe(start?.traceId);
    for (const resource of communicationsResources) {
      for (const name of ['ingest.fetch', 'ingest.stage', 'ingest.merge']) {
        const ours = spans.filter(
          (span) => span.name === name && span.attributes['ingest.resource'] === resource,
        );
        expect(ours.length, `${name} ${resource}`).toBeGreaterThanOrEqual(1);
        for (const span of ours) {
          const parent = activities.find((activity) => activity.spanId === span.parentSpanId);
          expect(parent, `the activity span above ${name} ${resource}`).toBeDefined();
        }
      }
    }
    const merge = spans.find(
      (span) => span.name === 'ingest.merge' && span.attributes['ingest.resource'] === 'user_call_records',
    );
    expect(merge?.attributes['ingest.inserted']).toBe(callRecords);
    expect(receiver.bodies()).not.toContain(sandbox.keys.communications);
  });
});

async function scrape(): Promise<string> {
  const response = await fetch(`${endpoint}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

async function health(): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${endpoint}/healthz`);
  return { status: response.status, body: await response.json() };
}

/** One line of the Prometheus text format. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name ?? ''] = (value ?? '').replace(/\\(.)/g, '$1');
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`. */
function sum(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>>): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
    .reduce((total, s) => total + s.value, 0);
}

/** A span as the OTLP/HTTP JSON exporter sends it (the fields the test reads). */
interface ReceivedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

interface OtlpReceiver {
  readonly url: string;
  spans(): ReceivedSpan[];
  serviceNames(): Set<string>;
  /** Every body received, as text. */
  bodies(): string;
  stop(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: (Omit<ReceivedSpan, 'attributes'> & { attributes?: OtlpAttribute[] })[] }[];
  }[];
}

/** An OTLP/HTTP traces receiver on loopback that keeps what it gets (JSON, as the exporter posts it). */
async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') received.push(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const exports = () => received.map((body) => JSON.parse(body) as OtlpExport);
  const value = (v: OtlpValue): unknown =>
    v.stringValue ??
    (v.intValue === undefined ? undefined : Number(v.intValue)) ??
    v.boolValue ??
    v.doubleValue;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () =>
      exports().flatMap((body) =>
        (body.resourceSpans ?? []).flatMap((r) =>
          (r.scopeSpans ?? []).flatMap((scope) =>
            (scope.spans ?? []).map((span) => ({
              ...span,
              attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, value(a.value)])),
            })),
          ),
        ),
      ),
    serviceNames: () =>
      new Set(
        exports().flatMap((body) =>
          (body.resourceSpans ?? []).flatMap((r) =>
            (r.resource?.attributes ?? [])
              .filter((a) => a.key === 'service.name')
              .map((a) => a.value.stringValue ?? ''),
          ),
        ),
      ),
    bodies: () => received.join('\n'),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
