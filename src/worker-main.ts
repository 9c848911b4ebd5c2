/**
 * `npm run worker`: a worker for a Temporal server and a Postgres of your own (TEMPORAL_ADDRESS, DATABASE_URL).
 * It refuses to start when the schema is behind or when a source lacks its credentials — the sandbox API is used
 * only when asked for with `--sandbox` (and announced), never as a silent fallback. Shuts down gracefully on
 * SIGINT/SIGTERM: in-flight activities get a grace period to finish or heartbeat.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Command, InvalidArgumentError } from 'commander';
import { planSource } from './activities/plan-source.ts';
import { createDatabase } from './db/database.ts';
import { defaultMergeMemoryMb } from './db/merge.ts';
import { assertSchemaCurrent } from './db/migrations.ts';
import { IngestError, describeError } from './errors.ts';
import { createHttpClient } from './http/client.ts';
import { installTemporalRuntime, logger } from './logging.ts';
import { startSandbox, type Sandbox } from './sandbox/server.ts';
import { sourceNames } from './sources/index.ts';
import { createIngestWorker, runUntilSignal } from './worker.ts';

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
};

const program = new Command('npm run worker --')
  .description('Run a durable-ingest worker against TEMPORAL_ADDRESS and DATABASE_URL.')
  .option('--sandbox', 'serve both sources from an in-process sandbox API (demos, tests)', false)
  .option('--concurrency <n>', 'resources loading at once in this worker', positive, 8)
  .option(
    '--rate-limit <requests-per-second>',
    'at most this many requests per second to each API origin, from this worker (not across workers)',
    (value: string) => {
      const n = Number(value);
      if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number > 0');
      return n;
    },
  )
  .option(
    '--merge-memory <MB>',
    `the most memory one merge's sort may use on the Postgres server (work_mem, sized to what was staged)`,
    positive,
    defaultMergeMemoryMb,
  )
  .option(
    '--no-first-load-swap',
    'copy every first load into its table instead of swapping in the table staging built (docs/loading.md)',
  )
  .option('--workflow-bundle <file>', 'a bundle built by `npm run bundle` (default: bundle at start-up)')
  .parse();
const options = program.opts<{
  sandbox: boolean;
  concurrency: number;
  rateLimit?: number;
  mergeMemory: number;
  firstLoadSwap: boolean;
  workflowBundle?: string;
}>();

let sandbox: Sandbox | undefined;
try {
  const address = process.env['TEMPORAL_ADDRESS'];
  const databaseUrl = process.env['DATABASE_URL'];
  if (!address || !databaseUrl) {
    throw new IngestError(
      'environment',
      'WORKER_ENV_MISSING',
      `Set ${[!address && 'TEMPORAL_ADDRESS', !databaseUrl && 'DATABASE_URL'].filter(Boolean).join(' and ')} ` +
        '(or run `npm start`, which starts a local Temporal and Postgres itself).',
    );
  }
  let env: Readonly<Record<string, string | undefined>> = process.env;
  let baseUrls: Record<string, string> | undefined;
  if (options.sandbox) {
    sandbox = await startSandbox();
    logger.info({ url: sandbox.url }, 'using the sandbox API for every source (--sandbox)');
    env = {
      ...env,
      COMMUNICATIONS_API_KEY: sandbox.keys.communications,
      MESSAGING_API_KEY: sandbox.keys.messaging,
    };
    baseUrls = Object.fromEntries(sourceNames.map((name) => [name, sandbox?.url ?? '']));
  } else {
    await assertCredentials(env);
  }
  const db = createDatabase(databaseUrl, { maxConnections: options.concurrency + 4 });
  try {
    await assertSchemaCurrent(db);
    installTemporalRuntime();
    const namespace = process.env['TEMPORAL_NAMESPACE'] || 'default';
    const nativeConnection = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    try {
      const worker = await createIngestWorker({
        connection: nativeConnection,
        namespace,
        db,
        client: new Client({ connection, namespace }),
        env,
        ...(baseUrls === undefined ? {} : { baseUrls }),
        sandbox: options.sandbox,
        maxConcurrentActivities: options.concurrency,
        ...(options.workflowBundle === undefined
          ? {}
          : { workflowBundle: { codePath: options.workflowBundle } }),
        activities: {
          mergeMemoryMb: options.mergeMemory,
          firstLoadSwap: options.firstLoadSwap,
          ...(options.rateLimit === undefined
            ? {}
            : { http: createHttpClient({ requestsPerSecond: options.rateLimit }) }),
        },
      });
      // Signal handlers are in place once runUntilSignal is called: only then say so.
      const running = runUntilSignal(worker);
      logger.info({ address, namespace, concurrency: options.concurrency }, 'worker started');
      await running;
      logger.info('worker stopped');
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  } finally {
    await db.destroy();
  }
} catch (error) {
  console.error(`worker: ${describeError(error)}`);
  process.exitCode = 1;
} finally {
  await sandbox?.stop();
}

/** Every credential every source needs must be set: a worker that would fail each run refuses to start instead. */
async function assertCredentials(env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const missing: string[] = [];
  for (const source of sourceNames) {
    const { plan } = await planSource({ source }, { env });
    for (const variable of plan.secretVariables)
      if (!env[variable]) missing.push(`${variable} (source ${source})`);
  }
  if (missing.length > 0) {
    throw new IngestError(
      'environment',
      'CREDENTIALS_MISSING',
      `refusing to start: no credentials for ${missing.join(', ')}. Set them, or run with --sandbox to ingest ` +
        'from the local sandbox API instead.',
    );
  }
}
