/**
 * The one place a process is wired. Entry points read their `Settings` once, then `openRuntime` connects (Postgres
 * through Kysely, Temporal's client and worker connections), `createWorker` builds the worker from those
 * connections, and `close` tears everything down in reverse order. Which sources a worker serves and where their
 * credentials come from is decided here from the sources' own configs — never from variable names in an entry.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { planSource } from '../activities/plan-source.ts';
import { createDatabase } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { IngestError } from '../errors.ts';
import { installTemporalRuntime } from '../logging.ts';
import type { Sandbox } from '../sandbox/server.ts';
import { sourceNames } from '../sources/index.ts';
import { createIngestWorker, type IngestWorkerOptions } from './ingest-worker.ts';
import type { Environment, Settings } from './settings.ts';

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

/** Where the sources of a worker send their requests and find their credentials. */
export interface SourceBindings {
  readonly env: Environment;
  /** Base URLs per source that win over the sources' own (`client.base_url`, `<SOURCE>_BASE_URL`). */
  readonly baseUrls?: Readonly<Record<string, string>>;
  /** True when the sources are served by the sandbox API (recorded on each load). */
  readonly sandbox: boolean;
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
  /**
   * Runs on the database before Temporal is connected (the schema check or the migrations), so that a database
   * problem is reported as such even when Temporal is unreachable too.
   */
  readonly prepareDatabase?: (db: Kysely<Database>) => Promise<void>;
}

/** Connects to Postgres, then to Temporal. */
export async function openRuntime(servers: Servers, options: OpenRuntimeOptions): Promise<Runtime> {
  installTemporalRuntime();
  const db = createDatabase(servers.databaseUrl, { maxConnections: options.maxConnections });
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
          ...(worker.sources.baseUrls === undefined ? {} : { baseUrls: worker.sources.baseUrls }),
          sandbox: worker.sources.sandbox,
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

/** The sources as their configs describe them: credentials and base URLs from the environment. */
export function sourcesFromEnvironment(env: Environment): SourceBindings {
  return { env, sandbox: false };
}

/**
 * Every source the sandbox API serves pointed at it: its base URL, and each credential variable the source's
 * config names (`$env: …`) set to the sandbox's key for that source.
 */
export async function sourcesFromSandbox(sandbox: Sandbox, env: Environment): Promise<SourceBindings> {
  const keys: Readonly<Record<string, string>> = sandbox.keys;
  const credentials: Record<string, string> = {};
  const baseUrls: Record<string, string> = {};
  for (const source of sourceNames) {
    const key = keys[source];
    if (key === undefined) continue;
    baseUrls[source] = sandbox.url;
    for (const variable of await credentialVariables(source, { env, baseUrls })) credentials[variable] = key;
  }
  return { env: { ...env, ...credentials }, baseUrls, sandbox: true };
}

/**
 * Refuses to start a worker that would fail every run of a source: each credential variable every source's config
 * names must be set. The error names each missing variable and its source (never a value).
 */
export async function assertSourceCredentials(sources: SourceBindings): Promise<void> {
  const missing: string[] = [];
  for (const source of sourceNames) {
    for (const variable of await credentialVariables(source, sources))
      if (!sources.env[variable]) missing.push(`${variable} (source ${source})`);
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

/** The credential variables a source's config names (`$env: …`), from its plan. */
async function credentialVariables(
  source: string,
  bindings: Pick<SourceBindings, 'env' | 'baseUrls'>,
): Promise<readonly string[]> {
  const { env, baseUrls } = bindings;
  const { plan } = await planSource({ source }, { env, ...(baseUrls === undefined ? {} : { baseUrls }) });
  return plan.secretVariables;
}
