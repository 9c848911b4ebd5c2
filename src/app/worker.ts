/**
 * `npm run worker`: a worker for a Temporal server and a Postgres of your own (TEMPORAL_ADDRESS, DATABASE_URL).
 * It refuses to start when the schema is behind or when a source lacks its credentials — the sandbox API is used
 * only when asked for with `--sandbox` (and announced), never as a silent fallback. Shuts down gracefully on
 * SIGINT/SIGTERM: in-flight activities get a grace period to finish or heartbeat.
 */
import { Command, InvalidArgumentError } from 'commander';
import { defaultMergeMemoryMb } from '../db/merge/merge.ts';
import { assertSchemaCurrent } from '../db/migrations.ts';
import { describeError } from '../errors.ts';
import { createHttpClient } from '../http/client.ts';
import { migrationsFolder } from '../local/paths.ts';
import { logger, setLogLevel } from '../logging.ts';
import { startSandbox, type Sandbox } from '../sandbox/server.ts';
import { runUntilSignal } from './ingest-worker.ts';
import {
  assertSourceCredentials,
  openRuntime,
  serversFromSettings,
  sourcesFromEnvironment,
  sourcesFromSandbox,
} from './runtime.ts';
import { readSettings } from './settings.ts';

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
  const settings = readSettings();
  setLogLevel(settings.logLevel);
  const servers = serversFromSettings(
    settings,
    '(or run `npm start`, which starts a local Temporal and Postgres itself).',
  );
  let sources = sourcesFromEnvironment(settings.sourceEnv);
  if (options.sandbox) {
    sandbox = await startSandbox();
    logger.info({ url: sandbox.url }, 'using the sandbox API for every source (--sandbox)');
    sources = await sourcesFromSandbox(sandbox, settings.sourceEnv);
  } else {
    await assertSourceCredentials(sources);
  }
  const runtime = await openRuntime(servers, {
    maxConnections: options.concurrency + 4,
    prepareDatabase: (db) => assertSchemaCurrent(db, { folder: migrationsFolder }),
  });
  try {
    const worker = await runtime.createWorker({
      sources,
      concurrency: options.concurrency,
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
    const { address, namespace } = servers.temporal;
    logger.info({ address, namespace, concurrency: options.concurrency }, 'worker started');
    await running;
    logger.info('worker stopped');
  } finally {
    await runtime.close();
  }
} catch (error) {
  console.error(`worker: ${describeError(error)}`);
  process.exitCode = 1;
} finally {
  await sandbox?.stop();
}
