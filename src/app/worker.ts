/**
 * `npm run worker`: a worker for a Temporal server and a Postgres of your own (TEMPORAL_ADDRESS, DATABASE_URL),
 * serving every source of the sources folder (`--sources`, INGEST_SOURCES_DIR, default `sources/`). At start-up it
 * logs each source it serves (file, resources, credential variables not set) and each broken file; it refuses to
 * start only when the schema is behind or the folder cannot be read. Credentials are checked when a source runs,
 * so a source without them fails its own runs only. The sandbox API is used only when asked for with `--sandbox`
 * (and announced), never as a silent fallback. Shuts down gracefully on SIGINT/SIGTERM: in-flight activities get a
 * grace period to finish or heartbeat.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { defaultMergeMemoryMb } from '../db/merge/merge.ts';
import { assertSchemaCurrent } from '../db/migrations.ts';
import { describeError } from '../errors.ts';
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

/** Runs a worker until SIGINT/SIGTERM; the exit code (1: it could not start or failed). `ingest worker` calls it too. */
export async function main(argv: readonly string[], name = 'npm run worker --'): Promise<number> {
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
      prepareDatabase: (db) => assertSchemaCurrent(db, { folder: migrationsFolder }),
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
