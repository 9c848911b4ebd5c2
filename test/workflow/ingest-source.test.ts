/**
 * The orchestration of `ingestSource` on the real dev server, with scripted activities: what the workflow decides
 * (fan-out bound, skips, partial failure, outcome, progress) independent of HTTP and Postgres. The activities'
 * own behaviour is tested against the sandbox and Postgres elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import type { ResolvedResource, ResolvedSource } from '../../src/shared/plan.ts';
import { searchAttributes } from '../../src/shared/names.ts';
import type {
  IngestActivities,
  IngestProgress,
  LoadReport,
  ResourceCounts,
} from '../../src/shared/ingest-types.ts';
import { withTemporal } from '../helpers/temporal.ts';
import type { ingestSource } from '../../src/workflows/index.ts';

const temporal = withTemporal();
const { workflowBundlePath } = inject('stack');

const counts = (fetched: number): ResourceCounts => ({
  fetched,
  inserted: fetched,
  updated: 0,
  unchanged: 0,
  deleted: 0,
  rejected: 0,
  pages: 1,
});

function resource(name: string, extra: Partial<ResolvedResource> = {}): ResolvedResource {
  return {
    name,
    tableName: name,
    primaryKey: ['id'],
    writeDisposition: 'merge',
    deletionDetection: false,
    columns: {},
    dependency: null,
    parameterDependent: false,
    repeatable: true,
    configKeys: [],
    selection: 'default',
    skip: null,
    endpoint: {
      method: 'GET',
      path: [`/${name}`],
      params: {},
      json: null,
      headers: {},
      auth: null,
      paginator: { type: 'single_page' },
      dataSelector: 'data',
      responseActions: [],
    },
    ...extra,
  } as ResolvedResource;
}

function plan(resources: readonly ResolvedResource[]): ResolvedSource {
  return {
    planVersion: 1,
    source: 'demo',
    baseUrl: 'http://127.0.0.1:1',
    resources,
    secretVariables: [],
    warnings: [],
    hash: 'h'.repeat(64),
  };
}

interface Script {
  readonly plan: ResolvedSource;
  readonly ingest: (name: string) => Promise<ResourceCounts>;
}

function scriptedActivities(script: Script, log: string[]): IngestActivities {
  return {
    planSource: () => Promise.resolve({ plan: script.plan }),
    beginLoad: () => Promise.resolve({ loadId: 'load-1' }),
    ingestResource: async ({ resource: r }) => {
      log.push(`start ${r.name}`);
      try {
        return await script.ingest(r.name);
      } finally {
        log.push(`end ${r.name}`);
      }
    },
    finishLoad: ({ outcome }) => {
      log.push(`finish ${outcome}`);
      return Promise.resolve();
    },
  };
}

async function run(script: Script, log: string[] = []) {
  const taskQueue = `${temporal.taskQueue}-${randomBytes(3).toString('hex')}`;
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: { code: await readFile(workflowBundlePath, 'utf8') },
    activities: scriptedActivities(script, log),
  });
  const workflowId = `ingest/demo/${taskQueue}`;
  const result = await worker.runUntil(
    temporal.client.workflow
      .execute<typeof ingestSource>('ingestSource', { taskQueue, workflowId, args: [{ source: 'demo' }] })
      .then(
        (report) => ({ report, error: undefined }),
        (error: unknown) => ({ report: undefined, error }),
      ),
  );
  const description = await temporal.client.workflow.getHandle(workflowId).describe();
  return { ...result, log, description };
}

describe('ingestSource orchestration', () => {
  it('loads every resource and returns the report with outcome ok', async () => {
    const { report, error, description, log } = await run({
      plan: plan([resource('a'), resource('b')]),
      ingest: (name) => Promise.resolve(counts(name === 'a' ? 3 : 5)),
    });
    expect(error).toBeUndefined();
    expect(report).toMatchObject({
      source: 'demo',
      loadId: 'load-1',
      outcome: 'ok',
      resources: [
        { resource: 'a', status: 'ok', counts: counts(3) },
        { resource: 'b', status: 'ok', counts: counts(5) },
      ],
    } satisfies Partial<LoadReport>);
    expect(log.at(-1)).toBe('finish ok');
    expect(description.searchAttributes[searchAttributes.outcome]).toEqual(['ok']);
    expect(description.searchAttributes[searchAttributes.source]).toEqual(['demo']);
  });

  it('commits the others when some fail, then fails typed and non-retryable, naming each failed resource', async () => {
    const { error, description, log } = await run({
      plan: plan([resource('good'), resource('html'), resource('denied')]),
      ingest: (name) => {
        if (name === 'html')
          throw ApplicationFailure.nonRetryable('GET /html answered HTML with 200', 'NOT_JSON');
        if (name === 'denied') throw ApplicationFailure.nonRetryable('GET /denied answered 401', 'HTTP_AUTH');
        return Promise.resolve(counts(1));
      },
    });
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    const failure = cause as ApplicationFailure;
    expect(failure.type).toBe('INGEST_PARTIAL_FAILURE');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('html: GET /html answered HTML with 200');
    expect(failure.message).toContain('denied: GET /denied answered 401');
    const report = failure.details?.[0] as LoadReport;
    expect(report.resources.map((r) => [r.resource, r.status, r.reason?.code])).toEqual([
      ['good', 'ok', undefined],
      ['html', 'failed', 'NOT_JSON'],
      ['denied', 'failed', 'HTTP_AUTH'],
    ]);
    expect(log.at(-1)).toBe('finish partial');
    expect(description.searchAttributes[searchAttributes.outcome]).toEqual(['partial']);
  });

  it('reports skipped resources with their reason and never calls them', async () => {
    const skipped = resource('sms', {
      skip: { reason: 'config values to, from are not set', missingConfig: ['to', 'from'] },
      endpoint: null,
    });
    const { report, log } = await run({
      plan: plan([resource('a'), skipped]),
      ingest: () => Promise.resolve(counts(1)),
    });
    expect(report?.resources[1]).toMatchObject({
      resource: 'sms',
      status: 'skipped',
      reason: { message: 'config values to, from are not set' },
    });
    expect(log).not.toContain('start sms');
  });

  it('runs at most four resources at once', async () => {
    let running = 0;
    let peak = 0;
    const { report } = await run({
      plan: plan(Array.from({ length: 9 }, (_, i) => resource(`r${i}`))),
      ingest: async () => {
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 150));
        running--;
        return counts(1);
      },
    });
    expect(report?.resources).toHaveLength(9);
    expect(peak).toBe(4);
  });

  it('answers the progress query while it runs and after it ended', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const taskQueue = `${temporal.taskQueue}-progress`;
    const worker = await Worker.create({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      workflowBundle: { code: await readFile(workflowBundlePath, 'utf8') },
      activities: scriptedActivities(
        {
          plan: plan([resource('fast'), resource('slow')]),
          ingest: async (name) => {
            if (name === 'slow') await gate;
            return counts(2);
          },
        },
        [],
      ),
    });
    const { during, after } = await worker.runUntil(async () => {
      const handle = await temporal.client.workflow.start<typeof ingestSource>('ingestSource', {
        taskQueue,
        workflowId: `progress-${taskQueue}`,
        args: [{ source: 'demo' }],
      });
      let seen: IngestProgress | undefined;
      for (let i = 0; i < 100; i++) {
        seen = await handle.query<IngestProgress>('progress');
        if (seen.resources.some((r) => r.resource === 'fast' && r.status === 'ok')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      release();
      await handle.result();
      return { during: seen, after: await handle.query<IngestProgress>('progress') };
    });
    expect(during).toMatchObject({ source: 'demo', loadId: 'load-1', phase: 'loading' });
    expect(during?.resources.map((r) => [r.resource, r.status])).toEqual([
      ['fast', 'ok'],
      ['slow', 'running'],
    ]);
    expect(after.phase).toBe('done');
    expect(after.resources.map((r) => r.status)).toEqual(['ok', 'ok']);
  });

  it('rejects an input without a source, non-retryably', async () => {
    const taskQueue = `${temporal.taskQueue}-bad`;
    const worker = await Worker.create({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      workflowBundle: { code: await readFile(workflowBundlePath, 'utf8') },
      activities: scriptedActivities({ plan: plan([]), ingest: () => Promise.resolve(counts(0)) }, []),
    });
    const error: unknown = await worker.runUntil(
      temporal.client.workflow
        .execute('ingestSource', { taskQueue, workflowId: `bad-${taskQueue}`, args: [{ sauce: 'x' }] })
        .catch((e: unknown) => e),
    );
    expect((error as WorkflowFailedError).cause).toMatchObject({ type: 'INVALID_INPUT', nonRetryable: true });
  });
});
