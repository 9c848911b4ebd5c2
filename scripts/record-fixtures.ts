/**
 * `npm run record-fixtures`: records the replay fixtures in `test/replay/histories/` from REAL runs — its own local
 * Temporal dev server and embedded Postgres (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, the Temporal config file and
 * DATABASE_URL are ignored, so the runs start from a clean slate), the sandbox API over HTTP and a real worker running the current workflow code. Deliberate: run it
 * after a workflow change that is meant to change histories (a new `patched()` branch, a new step), review the diff,
 * commit. Tests only ever read these files.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { NativeConnection } from '@temporalio/worker';
import { format } from 'prettier';
import { sql } from 'kysely';
import { planSource } from '../src/activities/plan-source.ts';
import { createDatabase } from '../src/db/database.ts';
import { startLoad } from '../src/db/ledger/ledger.ts';
import { migrateToLatest } from '../src/db/migrations.ts';
import { projectRoot } from '../src/local/paths.ts';
import { startLocalStack } from '../src/local/stack.ts';
import { readSettings } from '../src/app/settings.ts';
import { installTemporalRuntime } from '../src/logging.ts';
import type { FaultRule } from '../src/sandbox/faults.ts';
import { startSandbox } from '../src/sandbox/server.ts';
import type { IngestSourceInput } from '../src/shared/ingest-types.ts';
import { createIngestWorker } from '../src/app/ingest-worker.ts';

/** Where the fixtures live; file name = workflow id with `/` written as `__`. */
const historiesDir = fileURLToPath(new URL('../test/replay/histories/', import.meta.url));

interface Scenario {
  readonly workflowId: string;
  readonly input: IngestSourceInput;
  /** Sandbox faults active during this run only. */
  readonly faults?: readonly FaultRule[];
  /** Config values for this run only (e.g. the SMS recipient). */
  readonly env?: Readonly<Record<string, string>>;
  /** Child workflows of this run to record too (their workflow ids). */
  readonly children?: readonly string[];
  readonly expect: 'completed' | 'failed';
}

const scenarios: readonly Scenario[] = [
  { workflowId: 'fixture/communications/clean', input: { source: 'communications' }, expect: 'completed' },
  { workflowId: 'fixture/messaging/clean', input: { source: 'messaging' }, expect: 'completed' },
  {
    // Partial failure: two resources fail for good (401, HTML with 200), the rest commit, the run fails typed.
    workflowId: 'fixture/communications/partial',
    input: { source: 'communications' },
    faults: [
      { path: '/v1/call_queues', fault: { type: 'status', status: 401 } },
      { path: '/v1/ivr_prompts', fault: { type: 'html' } },
    ],
    expect: 'failed',
  },
  {
    // The SMS path: one send, then resolveChildren polls the ACCEPTED message again after a durable timer.
    workflowId: 'fixture/messaging/sms',
    input: { source: 'messaging' },
    env: { MESSAGING_CONFIG_TO: '+15550100042', MESSAGING_CONFIG_FROM: 'fixtures' },
    children: ['fixture/messaging/sms/messages'],
    expect: 'completed',
  },
  {
    // A retried resource: one 503, then success (a second activity attempt in the history).
    workflowId: 'fixture/communications/retried',
    input: { source: 'communications', resources: ['call_queues'] },
    faults: [{ path: '/v1/call_queues', fault: { type: 'status', status: 503 }, times: 1 }],
    expect: 'completed',
  },
];

async function main(): Promise<void> {
  const env = { ...process.env };
  delete env['TEMPORAL_ADDRESS'];
  delete env['DATABASE_URL'];
  env['TEMPORAL_CONFIG_FILE'] = '/dev/null'; // no profile of the user's Temporal config file: the server is our own
  console.error('starting a local stack (dev server + embedded Postgres)…');
  const settings = readSettings(env);
  const stack = await startLocalStack({
    purpose: 'test',
    // Always our own dev server, on its `default` namespace: not TEMPORAL_ADDRESS or TEMPORAL_NAMESPACE.
    settings: { ...settings, temporal: { namespace: 'default' } },
    onProgress: (line) => console.error(line),
  });
  const sandbox = await startSandbox({ seed: 1 });
  const db = createDatabase(stack.postgres.url, { maxConnections: 8 });
  installTemporalRuntime();
  const { address, namespace } = stack.temporal;
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  try {
    await migrateToLatest(db, { folder: join(projectRoot, 'migrations') });
    const client = new Client({ connection, namespace });
    // Read at call time by the activities: each scenario may add its config values.
    const workerEnv: Record<string, string | undefined> = {
      COMMUNICATIONS_API_KEY: sandbox.keys.communications,
      MESSAGING_API_KEY: sandbox.keys.messaging,
    };
    const worker = await createIngestWorker({
      connection: nativeConnection,
      namespace,
      db,
      client,
      env: workerEnv,
      // The sources the sandbox serves (a key each), all of them in the repository's sources/ folder.
      baseUrls: Object.fromEntries(Object.keys(sandbox.keys).map((name) => [name, sandbox.url])),
      sandbox: true,
    });
    await mkdir(historiesDir, { recursive: true });
    for (const old of await readdir(historiesDir)) {
      if (old.endsWith('.json')) await rm(join(historiesDir, old));
    }
    await worker.runUntil(async () => {
      for (const scenario of scenarios) {
        sandbox.faults.clear();
        for (const rule of scenario.faults ?? []) sandbox.faults.add(rule);
        delete workerEnv['MESSAGING_CONFIG_TO'];
        delete workerEnv['MESSAGING_CONFIG_FROM'];
        Object.assign(workerEnv, scenario.env);
        const handle = await client.workflow.start('ingestSource', {
          taskQueue: 'ingest',
          workflowId: scenario.workflowId,
          args: [scenario.input],
        });
        const ended = await handle.result().then(
          () => 'completed' as const,
          (error: unknown) => {
            if (error instanceof WorkflowFailedError) return 'failed' as const;
            throw error;
          },
        );
        if (ended !== scenario.expect) {
          throw new Error(`${scenario.workflowId}: expected the run to be ${scenario.expect}, it ${ended}`);
        }
        await record(client, scenario.workflowId, ended);
        for (const child of scenario.children ?? []) await record(client, child, 'completed');
      }
      await recordContinuedResolution(client, db, sandbox);
    });
  } finally {
    await db.destroy();
    await nativeConnection.close();
    await connection.close();
    await sandbox.stop();
    await stack.stop();
  }
}

/** Writes the history of `workflowId` (the run given, else the latest) as a fixture. */
async function record(client: Client, workflowId: string, ended: string, runId?: string, name = workflowId) {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const file = join(historiesDir, `${name.replaceAll('/', '__')}.json`);
  await writeFile(file, await format(historyToJSON(history), { parser: 'json' }));
  console.error(`recorded ${file} (${ended}, ${history.events?.length ?? 0} events)`);
}

/**
 * `resolveChildren` on its own over 40 stored ids (some still pending, one unknown to the API): small batches and a
 * low batch limit make it continue as new, and pending messages make it wait on a (shortened) durable timer. Records
 * the first run (it ends by continuing as new) and the last one.
 */
async function recordContinuedResolution(
  client: Client,
  db: ReturnType<typeof createDatabase>,
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
): Promise<void> {
  const ids = sandbox.messaging.preload({ count: 40, pendingEvery: 8, expiredEvery: 20 });
  const loadId = 'fixture-resolve';
  await startLoad(db, { loadId, source: 'messaging' });
  const data = ids.map((id) => JSON.stringify({ requestId: id, status: 'ACCEPTED' }));
  await sql`
    INSERT INTO messaging.sms
      (request_id, status, data, _content_hash, _raw_hash, _load_id, _first_loaded_at, _changed_at)
    SELECT d->>'requestId', 'ACCEPTED', d, 0, md5(d::text)::uuid, ${loadId}, now(), now()
    FROM unnest(${data}::jsonb[]) AS d
    ON CONFLICT DO NOTHING`.execute(db);
  const { plan } = await planSource(
    { source: 'messaging', resources: ['messages'] },
    { env: { MESSAGING_API_KEY: sandbox.keys.messaging }, baseUrls: { messaging: sandbox.url } },
  );
  const resource = plan.resources.find((r) => r.name === 'messages');
  if (!resource) throw new Error('no messages resource in the plan');
  const workflowId = 'fixture/resolve/continued';
  if (resource.poll === null) throw new Error('messages has no poll block');
  const handle = await client.workflow.start('resolveChildren', {
    taskQueue: 'ingest',
    workflowId,
    args: [
      {
        loadId,
        source: 'messaging',
        baseUrl: plan.baseUrl,
        planHash: plan.hash,
        resource: { ...resource, poll: { ...resource.poll, intervalMs: 1_000, runForMs: 30_000 } },
        batchSize: 5,
        maxBatchesPerRun: 4,
      },
    ],
  });
  await handle.result();
  await record(client, workflowId, 'continued as new', handle.firstExecutionRunId, `${workflowId}/first`);
  await record(client, workflowId, 'completed', undefined, `${workflowId}/last`);
}

await main();
