/**
 * The one place a process is wired. Entry points read their `Settings` once, then `openRuntime` connects (Postgres
 * through Kysely, Temporal's client and worker connections), `createWorker` builds the worker from those
 * connections, and `close` tears everything down in reverse order. Which sources a worker serves and where their
 * credentials come from is decided by `sources.ts` from the sources folder — never from names in an entry point.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { createDatabase, type DatabaseTimeouts } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { IngestError } from '../errors.ts';
import { installTemporalRuntime } from '../logging.ts';
import { createIngestWorker, type IngestWorkerOptions } from './ingest-worker.ts';
import type { Settings } from './settings.ts';
import type { SourceBindings } from './sources.ts';

/** The servers a runtime connects to: from the settings, or the ones a local stack started. */
export interface Servers {
  readonly temporal: { readonly address: string; readonly namespace: string };
  readonly databaseUrl: string;
}

export interface Runtime {
  readonly servers: Servers;
  readonly db: Kysely<Database>;
  readonly client: Client;
  /** Builds (does not run) a worker on this runtime's connections. */
  createWorker(options: RuntimeWorkerOptions): Promise<Worker>;
  /** Closes the connections; run the worker to its end first. Safe to call twice. */
  close(): Promise<void>;
}

export interface RuntimeWorkerOptions {
  readonly sources: SourceBindings;
  readonly concurrency?: number;
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
}

/** Connects to Postgres, then to Temporal. */
export async function openRuntime(servers: Servers, options: OpenRuntimeOptions): Promise<Runtime> {
  installTemporalRuntime();
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
    const steps = [() => connection?.close(), () => native?.close(), () => db.destroy()];
    const failures: unknown[] = [];
    for (const step of steps)
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  };
  try {
    await options.prepareDatabase?.(db);
    const { address, namespace } = servers.temporal;
    opened.native = await NativeConnection.connect({ address });
    opened.connection = await Connection.connect({ address });
    const client = new Client({ connection: opened.connection, namespace });
    const native = opened.native;
    return {
      servers,
      db,
      client,
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
          ...(worker.workflowBundle === undefined ? {} : { workflowBundle: worker.workflowBundle }),
          ...(worker.activities === undefined ? {} : { activities: worker.activities }),
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
  const { address, namespace } = settings.temporal;
  const { databaseUrl } = settings;
  if (!address || !databaseUrl) {
    const missing = [!address && 'TEMPORAL_ADDRESS', !databaseUrl && 'DATABASE_URL'].filter(Boolean);
    throw new IngestError('environment', 'WORKER_ENV_MISSING', `Set ${missing.join(' and ')} ${hint}`);
  }
  return { temporal: { address, namespace }, databaseUrl };
}
