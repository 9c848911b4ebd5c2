/**
 * `npm run worker`: a worker for a Temporal server and a Postgres of your own (TEMPORAL_ADDRESS, DATABASE_URL),
 * serving every source of the sources folder (`--sources`, INGEST_SOURCES_DIR, default `sources/`). At start-up it
 * logs each source it serves (file, resources, credential variables not set) and each broken file; it refuses to
 * start when a setting is invalid, the schema is behind, the folder cannot be read, a bundle cannot decrypt what
 * the worker's codec keys encrypt, or — the built worker (`npm run build`, `npm run worker:prod`) — its build is not
 * of the checkout's migrations (`BUILD_STALE`). Credentials are checked when a source runs,
 * so a source without them fails its own runs only. The sandbox API is used only when asked for with `--sandbox`
 * (and announced), never as a silent fallback. Shuts down gracefully on SIGINT/SIGTERM: in-flight activities get a
 * grace period to finish or heartbeat.
 */
import { readdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { defaultMergeMemoryMb } from '../db/merge/merge.ts';
import { assertSchemaCurrent } from '../db/migrations.ts';
import { IngestError, describeError } from '../errors.ts';
import { createHttpClient } from '../http/client.ts';
import { migrationsFolder } from '../local/paths.ts';
import { logger, setLogLevel } from '../logging.ts';
import { startSandbox, type Sandbox } from '../sandbox/server.ts';
import { parseListenAddress, type ListenAddress } from '../telemetry/telemetry-settings.ts';
import { describePayloadEncryption } from './codec/keys.ts';
import { runUntilSignal } from './ingest-worker.ts';
import { openRuntime, serversFromSettings } from './runtime.ts';
import { isEntry } from './cli/entry.ts';
import { readSettings } from './settings.ts';
import { describeAddressOrigin, describeConnectOptions } from './temporal/client-config.ts';
import { logSurvey, sourcesFromEnvironment, sourcesFromSandbox, surveySources } from './sources.ts';

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
};

/**
 * The files a worker reads at start-up: the migrations its schema check compares the database with. The built worker
 * (`npm run build`) has them as JavaScript beside it, so that it never loads tsx to read them.
 */
export interface WorkerFiles {
  readonly migrationsFolder: string;
  /** The built worker's: the checkout's `migrations/`, which `migrationsFolder` must be a build of. */
  readonly builtFrom?: string;
}

/** The migrations of a folder by name, without their extension (`0007_x.ts` is built as `0007_x.js`); none if absent. */
async function migrationNames(folder: string): Promise<string[]> {
  const files = await readdir(folder).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw error;
  });
  return files
    .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => file.replace(/\.[^.]+$/, ''))
    .sort();
}

/**
 * Refuses a built worker whose migrations (`built`) are not those of the checkout it runs in (`source`): a pull that
 * changed `migrations/` — and so, most likely, the code — without `npm run build`. Its schema check would compare
 * the database with the old list, and the rest of its code is as old.
 */
export async function assertBuildCurrent(built: string, source: string): Promise<void> {
  const [have, want] = await Promise.all([migrationNames(built), migrationNames(source)]);
  const missing = want.filter((name) => !have.includes(name));
  const extra = have.filter((name) => !want.includes(name));
  if (missing.length === 0 && extra.length === 0) return;
  const differences = [
    ...(missing.length === 0 ? [] : [`not built: ${missing.join(', ')}`]),
    ...(extra.length === 0 ? [] : [`built but no longer in ${source}: ${extra.join(', ')}`]),
  ];
  throw new IngestError(
    'environment',
    'BUILD_STALE',
    `this build (${dirname(built)}) is not of the checkout's sources: its migrations differ from ${source} ` +
      `(${differences.join('; ')}). Run \`npm run build\` in the checkout, then start the worker again.`,
    { details: { built, source, missing, extra } },
  );
}

/** Runs a worker until SIGINT/SIGTERM; the exit code (1: it could not start or failed). `ingest worker` calls it too. */
export async function main(
  argv: readonly string[],
  name = 'npm run worker --',
  files: WorkerFiles = { migrationsFolder },
): Promise<number> {
  const program = new Command(name)
    .description('Run a durable-ingest worker against TEMPORAL_ADDRESS and DATABASE_URL.')
    .option(
      '--sources <dir>',
      'the sources folder: one source per .yaml/.yml/.json/.ts/.js file (default: INGEST_SOURCES_DIR, else sources/)',
    )
    .option(
      '--sandbox',
      'point the sources the sandbox API serves (communications, messaging) at an in-process sandbox (demos, tests)',
      false,
    )
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
    .option(
      '--metrics-address <[host:]port>',
      'serve /metrics (Prometheus) and /healthz here; a bare port is on loopback (default: INGEST_METRICS_ADDRESS, else none)',
      (value: string) => {
        try {
          return parseListenAddress(value, '--metrics-address');
        } catch (error) {
          throw new InvalidArgumentError(describeError(error));
        }
      },
    )
    .parse(argv, { from: 'user' });
  const options = program.opts<{
    sources?: string;
    sandbox: boolean;
    concurrency: number;
    rateLimit?: number;
    mergeMemory: number;
    firstLoadSwap: boolean;
    workflowBundle?: string;
    metricsAddress?: ListenAddress;
  }>();

  let sandbox: Sandbox | undefined;
  let exitCode = 0;
  try {
    if (files.builtFrom !== undefined) await assertBuildCurrent(files.migrationsFolder, files.builtFrom);
    const settings = readSettings();
    setLogLevel(settings.logLevel);
    const servers = serversFromSettings(
      settings,
      '(or run `npm start`, which starts a local Temporal and Postgres itself).',
    );
    const sourcesDir = resolve(options.sources ?? settings.sourcesDir);
    let sources = sourcesFromEnvironment(settings.sourceEnv, sourcesDir);
    if (options.sandbox) {
      sandbox = await startSandbox();
      sources = await sourcesFromSandbox(sandbox, settings.sourceEnv, sourcesDir);
      const served = sources.sandboxSources ?? [];
      logger.info(
        { url: sandbox.url, sources: served },
        `using the sandbox API for ${served.length === 0 ? 'no source' : served.join(', ')} (--sandbox)`,
      );
    }
    const survey = await surveySources(sources);
    logSurvey(survey, logger);
    const runtime = await openRuntime(servers, {
      maxConnections: options.concurrency + 4,
      databaseTimeouts: settings.databaseTimeouts,
      codec: settings.codec,
      telemetry: {
        ...settings.telemetry,
        metricsAddress: options.metricsAddress ?? settings.telemetry.metricsAddress,
      },
      prepareDatabase: (db) => assertSchemaCurrent(db, { folder: files.migrationsFolder }),
    });
    try {
      // A traced worker with a bundle built without the workflow tracing interceptors: said, not refused.
      if (options.workflowBundle !== undefined) await runtime.telemetry.checkBundle(options.workflowBundle);
      const worker = await runtime.createWorker({
        sources,
        concurrency: options.concurrency,
        ...(options.workflowBundle === undefined
          ? {}
          : { workflowBundle: { codePath: options.workflowBundle } }),
        activities: {
          mergeMemoryMb: options.mergeMemory,
          firstLoadSwap: options.firstLoadSwap,
          maxDeleteShare: settings.maxDeleteShare,
          ledgerRetentionDays: settings.ledgerRetentionDays,
          ...(options.rateLimit === undefined
            ? {}
            : {
                http: createHttpClient({
                  requestsPerSecond: options.rateLimit,
                  observer: runtime.telemetry.metrics.http,
                }),
              }),
        },
      });
      // Served before the worker runs: /healthz says 503 until it polls.
      const metrics = await runtime.telemetry.serve({
        worker,
        db: runtime.db,
        databaseUrl: servers.databaseUrl,
        sources: survey.served,
      });
      if (metrics !== undefined)
        logger.info({ metrics: `${metrics}/metrics`, health: `${metrics}/healthz` }, 'serving metrics');
      // Signal handlers are in place once runUntilSignal is called: only then say so.
      const running = runUntilSignal(worker);
      const { address, namespace, connection } = servers.temporal;
      const security = describeConnectOptions(connection); // e.g. "TLS, API key": never the key itself
      const addressOrigin = describeAddressOrigin(settings.temporal); // a config file profile's, when it is
      // Whether payloads are encrypted, by key id: an empty INGEST_CODEC_KEYS counts as unset, and this says so.
      const payloads = describePayloadEncryption(settings.codec);
      logger.info(
        { address, namespace, security, addressOrigin, payloads, concurrency: options.concurrency },
        'worker started',
      );
      await running;
      logger.info('worker stopped');
    } finally {
      await runtime.close();
    }
  } catch (error) {
    console.error(`worker: ${describeError(error)}`);
    exitCode = 1;
  } finally {
    await sandbox?.stop();
  }
  return exitCode;
}

if (isEntry(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
