/**
 * `npm start`: the whole local pipeline on embedded defaults — Temporal (with its Web UI) and Postgres started
 * here unless TEMPORAL_ADDRESS / DATABASE_URL name others, migrations applied, a worker on the `ingest` queue,
 * a health check through it, and a summary of where everything is. Stays up until Ctrl-C; `--once` exits.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Command } from 'commander';
import { createDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrations.ts';
import { describeError } from './errors.ts';
import { installTemporalRuntime } from './logging.ts';
import { startLocalStack, type LocalStack } from './local/stack.ts';
import { taskQueue } from './shared/names.ts';
import { createIngestWorker, runUntilSignal } from './worker.ts';
import type { HealthReport } from './workflows/index.ts';

const program = new Command('npm start')
  .description('Run durable-ingest locally on embedded defaults.')
  .option('--once', 'do the work, print the summary and exit (for scripts and CI)', false)
  .parse();
const { once } = program.opts<{ once: boolean }>();

const say = (line = '') => process.stdout.write(`${line}\n`);

/** Ctrl-C during start-up aborts it; after start-up the worker's own handler takes over. */
let interrupted = false;
const onEarlySignal = () => {
  interrupted = true;
  say('\nInterrupted — stopping…');
};
process.on('SIGINT', onEarlySignal);
process.on('SIGTERM', onEarlySignal);

let stack: LocalStack | undefined;
try {
  say('durable-ingest — starting the local stack (Temporal + Postgres)…');
  stack = await startLocalStack({ purpose: 'user', onProgress: (line) => say(`  ${line}`) });
  const db = createDatabase(stack.postgres.url, { maxConnections: 10 });
  try {
    const { applied } = await migrateToLatest(db);
    say(`  Postgres schema: ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`);
    installTemporalRuntime();
    const nativeConnection = await NativeConnection.connect({ address: stack.temporal.address });
    const connection = await Connection.connect({ address: stack.temporal.address });
    try {
      say('  Bundling workflows and starting the worker…');
      const client = new Client({ connection, namespace: stack.temporal.namespace });
      const worker = await createIngestWorker({
        connection: nativeConnection,
        namespace: stack.temporal.namespace,
        db,
        client,
      });
      // Promise.withResolvers is Node 22+; Node 20 is still supported.
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const running = runUntilSignal(worker, finished);
      process.off('SIGINT', onEarlySignal);
      process.off('SIGTERM', onEarlySignal);
      try {
        if (interrupted) throw new Error('interrupted');
        const health = await client.workflow.execute<() => Promise<HealthReport>>('healthCheck', {
          taskQueue,
          workflowId: `health/${new Date().toISOString()}`,
          workflowExecutionTimeout: '2 minutes',
        });
        printSummary(stack, health);
        if (!once) say('\nRunning. Press Ctrl-C to stop.');
      } finally {
        if (once) finish();
        await running;
      }
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  } finally {
    await db.destroy();
  }
  say('Stopped cleanly.');
} catch (error) {
  if (!interrupted) {
    console.error(`\nnpm start failed: ${describeError(error)}`);
    process.exitCode = 1;
  }
} finally {
  await stack?.stop();
}

function printSummary(running: LocalStack, health: HealthReport): void {
  const { temporal, postgres } = running;
  const origin = (managed: boolean) => (managed ? 'started here' : 'from the environment');
  say('');
  say('Ready.');
  say(
    `  Temporal UI        ${temporal.uiUrl ?? '(not available: set TEMPORAL_UI_URL for an external server)'}`,
  );
  say(
    `  Temporal address   ${temporal.address}  namespace ${temporal.namespace}  (${origin(temporal.managed)})`,
  );
  say(`  Postgres           ${redactPassword(postgres.url)}  (${origin(postgres.managed)})`);
  say(`  Worker             task queue "${taskQueue}"`);
  say(
    `  Health check       ok — the worker reached Postgres ${health.database.serverVersion} (database ${health.database.database})`,
  );
  say('');
  say('  Ingestion workflows are not here yet: `ingestSource` lands with the orchestration issue (#8).');
  say('  This run proves the stack: Temporal → worker → activity → Postgres.');
}

/** Shows the local cluster's fixed password, hides any other (DATABASE_URL may carry a real one). */
function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password && parsed.password !== 'ingest') parsed.password = '***';
  return parsed.toString();
}
