/**
 * The one place a process is wired. Entry points read their `Settings` once, then `openRuntime` connects (Postgres
 * through Kysely, Temporal's client and worker connections), `createWorker` builds the worker from those
 * connections, and `close` tears everything down in reverse order. Which sources a worker serves and where their
 * credentials come from is decided by `sources.ts` from the sources folder — never from names in an entry point.
 */
import { Client, type Connection } from '@temporalio/client';
import type { NativeConnection, Worker, WorkflowBundleOption } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { createDatabase, type DatabaseTimeouts } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { IngestError } from '../errors.ts';
import type { TelemetrySettings } from '../telemetry/telemetry-settings.ts';
import { codecDataConverter } from './codec/data-converter.ts';
import type { CodecKeyring } from './codec/keys.ts';
import { createIngestWorker, type IngestWorkerOptions } from './ingest-worker.ts';
import type { Settings } from './settings.ts';
import type { SourceBindings } from './sources.ts';
import { openTelemetry, type Telemetry } from './telemetry.ts';
import { connectClient, connectWorker, type TemporalTarget } from './temporal/connection.ts';

/** The servers a runtime connects to: from the settings, or the ones a local stack started. */
export interface Servers {
  /** With TLS and credentials (`connection`) for a secured server; a dev server we started is plain. */
  readonly temporal: TemporalTarget;
  readonly databaseUrl: string;
}

export interface Runtime {
  readonly servers: Servers;
  readonly db: Kysely<Database>;
  readonly client: Client;
  /** Metrics, traces and the operator endpoint (`/metrics`, `/healthz`: `telemetry.serve({ worker, … })`). */
  readonly telemetry: Telemetry;
  /** Builds (does not run) a worker on this runtime's connections. */
  createWorker(options: RuntimeWorkerOptions): Promise<Worker>;
  /** Closes the connections; run the worker to its end first. Safe to call twice. */
  close(): Promise<void>;
}

export interface RuntimeWorkerOptions {
  readonly sources: SourceBindings;
  readonly concurrency?: number;
  /** The task queue to poll (default `ingest`, the one runs are started on). */
  readonly taskQueue?: string;
  readonly workflowBundle?: WorkflowBundleOption;
  readonly activities?: IngestWorkerOptions['activities'];
}

export interface OpenRuntimeOptions {
  /** Sizes the Postgres pool. */
  readonly maxConnections: number;
  /** Limits of each Postgres session (`Settings.databaseTimeouts`); the defaults of `createDatabase` otherwise. */
  readonly databaseTimeouts?: DatabaseTimeouts;
  /**
   * Runs on the database before Temporal is connected (the schema check or the migrations), so that a database
   * problem is reported as such even when Temporal is unreachable too.
   */
  readonly prepareDatabase?: (db: Kysely<Database>) => Promise<void>;
  /** The keys payloads are encrypted with (`Settings.codec`), for the client and the worker alike; none: clear. */
  readonly codec?: CodecKeyring | undefined;
  /** Metrics address and OTLP endpoint (`Settings.telemetry`); none: no metrics, no traces. */
  readonly telemetry?: TelemetrySettings;
}

/** Connects to Postgres, then to Temporal. */
export async function openRuntime(servers: Servers, options: OpenRuntimeOptions): Promise<Runtime> {
  // First: the Temporal runtime is installed with its metrics exporter before anything Temporal exists.
  const telemetry = await openTelemetry(options.telemetry ?? {});
  const db = createDatabase(servers.databaseUrl, {
    maxConnections: options.maxConnections,
    ...(options.databaseTimeouts === undefined ? {} : { timeouts: options.databaseTimeouts }),
  });
  const opened: { connection?: Connection | undefined; native?: NativeConnection | undefined } = {};
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const { connection, native } = opened;
    // In order, each step whatever the one before it did; the first failure is thrown once all have run.
    const steps = [
      () => telemetry.close(),
      () => connection?.close(),
      () => native?.close(),
      () => db.destroy(),
    ];
    const failures: unknown[] = [];
    for (const step of steps)
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  };
  try {
    await options.prepareDatabase?.(db);
    const { namespace } = servers.temporal;
    opened.native = await connectWorker(servers.temporal);
    opened.connection = await connectClient(servers.temporal);
    const dataConverter = codecDataConverter(options.codec);
    const client = new Client({
      connection: opened.connection,
      namespace,
      ...(dataConverter === undefined ? {} : { dataConverter }),
      ...(telemetry.tracing === undefined ? {} : { interceptors: telemetry.tracing.clientInterceptors }),
    });
    const native = opened.native;
    return {
      servers,
      db,
      client,
      telemetry,
      createWorker: (worker) =>
        createIngestWorker({
          connection: native,
          namespace,
          db,
          client,
          env: worker.sources.env,
          sourcesDir: worker.sources.sourcesDir,
          ...(worker.sources.baseUrls === undefined ? {} : { baseUrls: worker.sources.baseUrls }),
          sandbox: worker.sources.sandbox,
          ...(worker.sources.sandboxSources === undefined
            ? {}
            : { sandboxSources: worker.sources.sandboxSources }),
          ...(worker.concurrency === undefined ? {} : { maxConcurrentActivities: worker.concurrency }),
          ...(worker.taskQueue === undefined ? {} : { taskQueue: worker.taskQueue }),
          ...(dataConverter === undefined ? {} : { dataConverter }),
          ...(worker.workflowBundle === undefined ? {} : { workflowBundle: worker.workflowBundle }),
          ...(worker.activities === undefined ? {} : { activities: worker.activities }),
          metrics: telemetry.metrics,
          ...(telemetry.tracing === undefined ? {} : { tracing: telemetry.tracing }),
        }),
      close,
    };
  } catch (error) {
    await close().catch(() => undefined); // the error that stopped the start-up is the one to report
    throw error;
  }
}

/** The servers named by the settings; a missing one is an `environment` error naming the variable. */
export function serversFromSettings(settings: Settings, hint: string): Servers {
  const { address, namespace, connection } = settings.temporal;
  const { databaseUrl } = settings;
  if (!address || !databaseUrl) {
    const missing = [
      !address && 'TEMPORAL_ADDRESS (or a TEMPORAL_PROFILE with an address)',
      !databaseUrl && 'DATABASE_URL',
    ].filter(Boolean);
    throw new IngestError('environment', 'WORKER_ENV_MISSING', `Set ${missing.join(' and ')} ${hint}`);
  }
  return { temporal: { address, namespace, connection }, databaseUrl };
}
