/**
 * Scale-out: two workers on the task queue `ingest` share one run. One is the product's worker as an operator runs
 * it (`src/app/worker.ts --concurrency 1`, a child process with its own pid, so its own identity), the other runs in
 * this process (the product's `createIngestWorker`, one activity at a time too), so while the run fans its resources
 * out four at a time neither can take them all. The product's worker polls the fixed queue `ingest`, so this file
 * works in a namespace of its own (with the project's search attributes): no other file's worker on `ingest` can take
 * its tasks, nor it theirs. The run's history says which worker started each activity; the tables hold exactly what
 * the sandbox served.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIngestWorker } from '../../src/app/ingest-worker.ts';
import { canonicalJson } from '../../src/config/plan-hash.ts';
import { communicationsResources } from '../../src/sandbox/resources.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.ts';
import { taskQueue } from '../../src/shared/names.ts';
import type { ingestSource } from '../../src/workflows/index.ts';
import { withDatabase } from '../helpers/database.ts';
import { withTemporal } from '../helpers/temporal.ts';
import { isolatedTemporalEnv } from '../helpers/temporal-env.ts';
import { registerNamespace } from '../helpers/namespace.ts';
import { until } from '../helpers/until.ts';
import { spawnWorkerEntry } from '../helpers/worker-entry.ts';

const database = withDatabase();
const temporal = withTemporal();
const { workflowBundlePath } = inject('stack');
const namespace = `scale-out-${randomBytes(4).toString('hex')}`;
let sandbox: Sandbox;
let client: Client;
let child: ChildProcess | undefined;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 13, counts: { user_call_records: 2000, forwarding_numbers: 40 } });
  await registerNamespace(temporal.client.connection, namespace);
  client = new Client({ connection: temporal.client.connection, namespace });
});

afterAll(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await sandbox.stop();
});

/** The environment both workers read their sources from: the sandbox as the communications API. */
const sourceEnv = () => ({
  COMMUNICATIONS_BASE_URL: sandbox.url,
  COMMUNICATIONS_API_KEY: sandbox.keys.communications,
});

/**
 * `npm run worker -- --concurrency 1` on this file's namespace, database and the prebuilt bundle, serving the
 * shipped sources folder; resolves once it says it started. Nothing of this process's own settings reaches it.
 */
async function startProductWorker(): Promise<ChildProcess> {
  const inherited = Object.fromEntries(
    Object.entries(isolatedTemporalEnv(process.env)).filter(
      ([name]) => !name.startsWith('INGEST_') && !name.endsWith('_API_KEY') && !name.endsWith('_BASE_URL'),
    ),
  );
  const started = spawnWorkerEntry(['--concurrency', '1', '--workflow-bundle', workflowBundlePath], {
    ...inherited,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: namespace,
    DATABASE_URL: database.url,
    ...sourceEnv(),
  });
  child = started.child;
  await started.waitFor('"worker started"');
  return started.child;
}

/** The identities polling the namespace's `ingest` activity queue now. */
async function activityPollers(): Promise<string[]> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (pollers ?? []).map((poller) => poller.identity ?? '');
}

describe('two workers on one task queue', () => {
  it('share the activities of one run, and the data lands exactly', async () => {
    const productWorker = await startProductWorker();
    const identities = {
      here: `${process.pid}@${hostname()}`,
      child: `${productWorker.pid}@${hostname()}`,
    };
    const workflowId = `scale-out/${namespace}`;
    const worker = await createIngestWorker({
      connection: temporal.nativeConnection,
      namespace,
      db: database.db,
      workflowBundle: { codePath: workflowBundlePath },
      client,
      env: sourceEnv(),
      maxConcurrentActivities: 1,
    });
    const report = await worker.runUntil(async () => {
      await until('both workers polling for activities', async () => {
        const polling = await activityPollers();
        return polling.includes(identities.here) && polling.includes(identities.child) ? true : undefined;
      });
      return client.workflow.execute<typeof ingestSource>('ingestSource', {
        taskQueue,
        workflowId,
        args: [{ source: 'communications' }],
      });
    });
    expect(report.outcome).toBe('ok');

    // Which worker started each resource's activity, from the run's history.
    const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
    const typeOf = new Map<string, string>();
    const startedBy: { type: string; identity: string }[] = [];
    for (const event of events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) typeOf.set(String(event.eventId), scheduled.activityType?.name ?? '');
      const started = event.activityTaskStartedEventAttributes;
      if (started)
        startedBy.push({
          type: typeOf.get(String(started.scheduledEventId)) ?? '',
          identity: started.identity ?? '',
        });
    }
    const resourceWorkers = new Set(
      startedBy.filter((s) => s.type === 'ingestResource').map((s) => s.identity),
    );
    expect(startedBy.filter((s) => s.type === 'ingestResource')).toHaveLength(communicationsResources.length);
    expect([...resourceWorkers].sort()).toEqual([identities.here, identities.child].sort());

    for (const resource of communicationsResources) {
      const served = [...sandbox.dataset.records(resource)].map((record) => canonicalJson(record));
      const { rows } = await sql<{ data: unknown }>`
        SELECT data FROM communications.${sql.id(resource)} WHERE _deleted_at IS NULL`.execute(database.db);
      expect(rows.map((row) => canonicalJson(row.data)).sort(), resource).toEqual(served.sort());
    }
  });
});
