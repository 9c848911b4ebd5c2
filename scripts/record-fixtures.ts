/**
 * `npm run record-fixtures`: records the replay fixtures in `test/replay/histories/` from REAL runs — its own local
 * Temporal dev server and embedded Postgres (TEMPORAL_ADDRESS and DATABASE_URL are ignored, so the runs start from a
 * clean slate), the sandbox API over HTTP and a real worker running the current workflow code. Deliberate: run it
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
import { createDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrations.ts';
import { startLocalStack } from '../src/local/stack.ts';
import { installTemporalRuntime } from '../src/logging.ts';
import type { FaultRule } from '../src/sandbox/faults.ts';
import { startSandbox } from '../src/sandbox/server.ts';
import type { IngestSourceInput } from '../src/shared/ingest-types.ts';
import { sourceNames } from '../src/sources/index.ts';
import { createIngestWorker } from '../src/worker.ts';

/** Where the fixtures live; file name = workflow id with `/` written as `__`. */
const historiesDir = fileURLToPath(new URL('../test/replay/histories/', import.meta.url));

interface Scenario {
  readonly workflowId: string;
  readonly input: IngestSourceInput;
  /** Sandbox faults active during this run only. */
  readonly faults?: readonly FaultRule[];
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
  console.error('starting a local stack (dev server + embedded Postgres)…');
  const stack = await startLocalStack({ purpose: 'test', env, onProgress: (line) => console.error(line) });
  const sandbox = await startSandbox({ seed: 1 });
  const db = createDatabase(stack.postgres.url, { maxConnections: 8 });
  installTemporalRuntime();
  const { address, namespace } = stack.temporal;
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  try {
    await migrateToLatest(db);
    const client = new Client({ connection, namespace });
    const worker = await createIngestWorker({
      connection: nativeConnection,
      namespace,
      db,
      client,
      env: { COMMUNICATIONS_API_KEY: sandbox.keys.communications, MESSAGING_API_KEY: sandbox.keys.messaging },
      baseUrls: Object.fromEntries(sourceNames.map((name) => [name, sandbox.url])),
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
        const history = await handle.fetchHistory();
        const file = join(historiesDir, `${scenario.workflowId.replaceAll('/', '__')}.json`);
        await writeFile(file, await format(historyToJSON(history), { parser: 'json' }));
        console.error(`recorded ${file} (${ended}, ${history.events?.length ?? 0} events)`);
      }
    });
  } finally {
    await db.destroy();
    await nativeConnection.close();
    await connection.close();
    await sandbox.stop();
    await stack.stop();
  }
}

await main();
