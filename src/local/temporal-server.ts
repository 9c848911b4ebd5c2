/**
 * Runs a Temporal dev server (`temporal server start-dev`) as a child process: free ports, in-memory or persistent
 * SQLite, Web UI on or off, the project's search attributes registered at start, readiness awaited, clean stop.
 * Also checks an external server (`TEMPORAL_ADDRESS`) for the search attributes, with the exact fix when missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Connection, type TLSConfig } from '@temporalio/client';
import { IngestError, describeError } from '../errors.ts';
import { searchAttributeTypes } from '../shared/names.ts';
import { freePort, loopback as host } from './ports.ts';

export interface DevServerOptions {
  /** The `temporal` binary. */
  readonly binary: string;
  /** SQLite file for a persistent server; omit for in-memory (tests). */
  readonly dbFile?: string;
  /** Serve the Web UI (the user's stack) or not (tests). */
  readonly ui: boolean;
  /** Preferred gRPC port; a free one is taken when it is busy. */
  readonly preferredPort?: number;
  readonly preferredUiPort?: number;
  readonly namespace?: string;
  /** Give up waiting for readiness after this long. */
  readonly readyTimeoutMs?: number;
}

/**
 * What a connection to a secured Temporal carries besides its address (TLS, an API key, gRPC metadata), as the
 * app's settings give it; absent for a plain connection such as the dev server's. The API key is a secret.
 */
export interface TemporalConnectOptions {
  readonly tls?: TLSConfig | boolean | undefined;
  readonly apiKey?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

export interface RunningTemporal {
  /** host:port of the frontend gRPC service. */
  readonly address: string;
  readonly namespace: string;
  /** TLS and credentials of an external server; none for a dev server we started. */
  readonly connection?: TemporalConnectOptions | undefined;
  /** The Web UI, when it runs. */
  readonly uiUrl: string | undefined;
  /** True when we started the server (and so stop it). */
  readonly managed: boolean;
  stop(): Promise<void>;
}

/** Starts a dev server and resolves once its namespace answers. */
export async function startDevServer(options: DevServerOptions): Promise<RunningTemporal> {
  const namespace = options.namespace ?? 'default';
  const port = await freePort(options.preferredPort);
  const uiPort = options.ui ? await freePort(options.preferredUiPort, [port]) : 0;
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--log-level', 'warn'];
  args.push('--namespace', namespace);
  if (options.ui) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  if (options.dbFile) {
    await mkdir(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const [name, type] of searchAttributeTypes) args.push('--search-attribute', `${name}=${type}`);

  // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the server after the worker has shut
  // down (a worker whose server vanished first cannot finish its graceful shutdown).
  const child = spawn(options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = new OutputTail();
  child.stdout?.on('data', (chunk: Buffer) => log.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', (error) => log.push(Buffer.from(describeError(error))));

  const address = `${host}:${port}`;
  try {
    await waitUntilReady(address, namespace, options.readyTimeoutMs ?? 90_000, exited, log);
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
  return {
    address,
    namespace,
    uiUrl: options.ui ? `http://${host}:${uiPort}` : undefined,
    managed: true,
    stop: () => stopChild(child, exited),
  };
}

/**
 * The part of `Connection.connect` (client) and `NativeConnection.connect` (worker) options that secures a
 * connection — the one mapping of `TemporalConnectOptions`, shared with `src/app/temporal/connection.ts`.
 */
export function securedConnectionOptions(secured: TemporalConnectOptions | undefined): {
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
} {
  return {
    ...(secured?.tls === undefined ? {} : { tls: secured.tls }),
    ...(secured?.apiKey === undefined ? {} : { apiKey: secured.apiKey }),
    ...(secured?.metadata === undefined ? {} : { metadata: { ...secured.metadata } }),
  };
}

/**
 * Verifies that an external server has the project's search attributes, and says exactly how to add them if not.
 */
export async function checkSearchAttributes(
  address: string,
  namespace: string,
  secured?: TemporalConnectOptions,
): Promise<void> {
  const connection = await Connection.connect({
    address,
    connectTimeout: 10_000,
    ...securedConnectionOptions(secured),
  });
  try {
    const response = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set(Object.keys(response.customAttributes ?? {}));
    const missing = searchAttributeTypes.filter(([name]) => !known.has(name));
    if (missing.length > 0) {
      throw new IngestError(
        'environment',
        'SEARCH_ATTRIBUTES_MISSING',
        `The Temporal server at ${address} lacks the search attributes durable-ingest writes ` +
          `(${missing.map(([name]) => name).join(', ')}). ${howToAdd(address, namespace, secured, missing)}`,
      );
    }
  } finally {
    await connection.close();
  }
}

/**
 * The commands that add `missing`. For a plain server, with its address; for a secured one (TLS, an API key), a
 * bare `--address` would fail, and the credentials must not be printed: the `temporal` CLI reads the same
 * `TEMPORAL_*` variables and config file profile this process did, so the commands are run in that environment —
 * and Temporal Cloud also takes them in its UI or from `tcld`.
 */
function howToAdd(
  address: string,
  namespace: string,
  secured: TemporalConnectOptions | undefined,
  missing: typeof searchAttributeTypes,
): string {
  const plain = Object.keys(securedConnectionOptions(secured)).length === 0;
  const create = missing.map(
    ([name, type]) =>
      `  temporal operator search-attribute create ${plain ? `--address ${address} ` : ''}` +
      `--namespace ${namespace} --name ${name} --type ${type}`,
  );
  if (plain) return `Add them once:\n${create.join('\n')}`;
  const tcld = missing.map(([name, type]) => `--search-attribute ${name}=${type}`).join(' ');
  return (
    'Add them once, with the TEMPORAL_* variables (or the TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE) this process ' +
    `was given set for the \`temporal\` CLI too — it reads them, the API key and TLS files included:\n${create.join('\n')}\n` +
    `On Temporal Cloud, in the namespace's settings in the Cloud UI, or:\n` +
    `  tcld namespace search-attributes add --namespace ${namespace} ${tcld}`
  );
}

async function waitUntilReady(
  address: string,
  namespace: string,
  timeoutMs: number,
  exited: Promise<number | null>,
  log: OutputTail,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new IngestError(
        'environment',
        'TEMPORAL_DEV_SERVER_EXITED',
        `The Temporal dev server exited (code ${String(exitCode)}) before it was ready. Its output:\n${log.text()}`,
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new IngestError(
    'environment',
    'TEMPORAL_DEV_SERVER_TIMEOUT',
    `The Temporal dev server at ${address} was not ready after ${timeoutMs} ms (${describeError(lastError)}). ` +
      `Its output:\n${log.text()}`,
  );
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps the last few kilobytes of a child's output for error messages. */
class OutputTail {
  #text = '';
  push(chunk: Buffer): void {
    this.#text = (this.#text + chunk.toString('utf8')).slice(-8_000);
  }
  text(): string {
    return this.#text.trim() || '(no output)';
  }
}
