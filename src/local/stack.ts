/**
 * The local stack in one call: a Temporal server and a Postgres, each either the one the environment names
 * (`TEMPORAL_ADDRESS`, `DATABASE_URL`) or one we start ourselves. Used by `npm start`, the test harness and the CLI.
 */
import { join } from 'node:path';
import pg from 'pg';
import { IngestError, describeError, isIngestError } from '../errors.ts';
import { postgresClientConfig, postgresRefusal, withoutPassword } from '../postgres-connection.ts';
import { startEmbeddedPostgres, type RunningPostgres } from './postgres.ts';
import { resolveTemporalCli, temporalCliVersion, type TemporalCliSettings } from './temporal-cli.ts';
import {
  checkSearchAttributes,
  startDevServer,
  type RunningTemporal,
  type TemporalConnectOptions,
} from './temporal-server.ts';
import { searchAttributeTypes } from '../shared/names.ts';

/** `user`: persistent state under the data folder, Web UI on. `test`: in-memory/temporary, headless, fast. */
export type StackPurpose = 'user' | 'test';

export interface LocalStack {
  readonly temporal: RunningTemporal;
  readonly postgres: RunningPostgres;
  /** Stops what we started, in reverse order; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * What the stack is told (the app reads it from the environment): external servers to use instead of starting
 * ours (`TEMPORAL_ADDRESS`, `DATABASE_URL`), the namespace and UI link, and where local state and the CLI live.
 */
export interface StackSettings {
  readonly temporal: {
    readonly address?: string | undefined;
    readonly namespace: string;
    /** The Web UI link to print for an external server. */
    readonly uiUrl?: string | undefined;
    /** TLS and credentials for the external server (`address`); a dev server we start is reached plainly. */
    readonly connection?: TemporalConnectOptions | undefined;
  };
  readonly databaseUrl?: string | undefined;
  /** The persistent data folder of `npm start` (the Temporal SQLite file, the Postgres cluster). */
  readonly dataDir: string;
  readonly temporalCli: TemporalCliSettings;
}

export interface StartStackOptions {
  readonly purpose: StackPurpose;
  readonly settings: StackSettings;
  /** Lines for a person: what is being started, slow steps. */
  readonly onProgress?: (line: string) => void;
}

/** The database the app uses on a Postgres we start. */
export const localDatabaseName = 'ingest';

/** Starts (or connects to) Temporal and Postgres in parallel. */
export async function startLocalStack(options: StartStackOptions): Promise<LocalStack> {
  const [temporal, postgres] = await Promise.allSettled([
    provideTemporal(options.purpose, options.settings, options.onProgress ?? (() => {})),
    providePostgres(options.purpose, options.settings),
  ]);
  if (temporal.status === 'rejected' || postgres.status === 'rejected') {
    if (temporal.status === 'fulfilled') await temporal.value.stop();
    if (postgres.status === 'fulfilled') await postgres.value.stop();
    throw temporal.status === 'rejected' ? temporal.reason : (postgres as PromiseRejectedResult).reason;
  }
  let stopped = false;
  return {
    temporal: temporal.value,
    postgres: postgres.value,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled([temporal.value.stop(), postgres.value.stop()]);
    },
  };
}

/** `TEMPORAL_ADDRESS` → that server; otherwise a dev server from the pinned CLI (or, failing that, the SDK). */
export async function provideTemporal(
  purpose: StackPurpose,
  settings: StackSettings,
  onProgress: (line: string) => void,
): Promise<RunningTemporal> {
  const { namespace, address: external, uiUrl, connection } = settings.temporal;
  if (external) {
    await checkSearchAttributes(external, namespace, connection);
    return {
      address: external,
      namespace,
      uiUrl,
      connection,
      managed: false,
      stop: async () => {},
    };
  }
  const persistent = purpose === 'user' ? join(settings.dataDir, 'temporal', 'dev.sqlite') : undefined;
  let binary: string;
  try {
    binary = (await resolveTemporalCli({ settings: settings.temporalCli, onProgress })).path;
  } catch (error) {
    if (isIngestError(error) && error.code === 'TEMPORAL_CLI_UNAVAILABLE') {
      return startWithSdkDownload(purpose, namespace, persistent, error, onProgress);
    }
    throw error;
  }
  return startDevServer({
    binary,
    ui: purpose === 'user',
    namespace,
    ...(persistent ? { dbFile: persistent, preferredPort: 7233, preferredUiPort: 8233 } : {}),
  });
}

/** `DATABASE_URL` → that database (checked); otherwise an embedded Postgres. */
export async function providePostgres(
  purpose: StackPurpose,
  settings: StackSettings,
): Promise<RunningPostgres> {
  const external = settings.databaseUrl;
  if (external) {
    await checkDatabase(external);
    return { url: external, displayUrl: withoutPassword(external), managed: false, stop: async () => {} };
  }
  return startEmbeddedPostgres({
    database: localDatabaseName,
    ...(purpose === 'user'
      ? { dataDir: join(settings.dataDir, 'postgres'), preferredPort: 54329 }
      : { fast: true }),
  });
}

/**
 * Connects to `DATABASE_URL` as the app will (its TLS parameters included): a wrong URL is `SETTING_INVALID`, a
 * refused connection `DATABASE_TLS_FAILED` or `DATABASE_ACCESS_DENIED`, no answer `DATABASE_UNREACHABLE`.
 */
async function checkDatabase(url: string): Promise<void> {
  const client = new pg.Client({ ...postgresClientConfig(url), connectionTimeoutMillis: 10_000 });
  // A client whose connection dies emits 'error' (fatal unhandled) besides failing the call in progress, or the
  // next one: that failure is what reports it.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw (
      postgresRefusal(error) ??
      new IngestError(
        'environment',
        'DATABASE_UNREACHABLE',
        `DATABASE_URL is set but its Postgres does not answer: ${describeError(error)}`,
      )
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Last resort on a machine with internet but no Go: the SDK downloads a released CLI and runs it. */
async function startWithSdkDownload(
  purpose: StackPurpose,
  namespace: string,
  dbFile: string | undefined,
  cause: IngestError,
  onProgress: (line: string) => void,
): Promise<RunningTemporal> {
  onProgress(`No Go toolchain: trying the Temporal SDK's download of the CLI ${temporalCliVersion}…`);
  try {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const environment = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download', version: `v${temporalCliVersion}` },
        ip: '127.0.0.1',
        namespace,
        ui: purpose === 'user',
        ...(dbFile ? { dbFilename: dbFile } : {}),
        extraArgs: searchAttributeTypes.flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
      },
    });
    const address = environment.connection.options.address;
    return {
      address,
      namespace,
      uiUrl: undefined,
      managed: true,
      stop: () => environment.teardown(),
    };
  } catch (error) {
    throw new IngestError(
      'environment',
      cause.code,
      `${cause.message}\n(The SDK's download failed too: ${describeError(error)})`,
    );
  }
}
