/**
 * Runs a Temporal dev server (`temporal server start-dev`) as a child process: free ports, in-memory or persistent
 * SQLite, Web UI on or off, the project's search attributes registered at start, readiness awaited, clean stop.
 * Also checks an external server (`TEMPORAL_ADDRESS`) for the search attributes, with the exact fix when missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
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

export interface RunningTemporal {
  /** host:port of the frontend gRPC service. */
  readonly address: string;
  readonly namespace: string;
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
 * Verifies that an external server has the project's search attributes, and says exactly how to add them if not.
 */
export async function checkSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 10_000 });
  try {
    const response = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set(Object.keys(response.customAttributes ?? {}));
    const missing = searchAttributeTypes.filter(([name]) => !known.has(name));
    if (missing.length > 0) {
      const commands = missing.map(
        ([name, type]) =>
          `  temporal operator search-attribute create --address ${address} --namespace ${namespace} --name ${name} --type ${type}`,
      );
      throw new IngestError(
        'environment',
        'SEARCH_ATTRIBUTES_MISSING',
        `The Temporal server at ${address} lacks the search attributes durable-ingest writes ` +
          `(${missing.map(([name]) => name).join(', ')}). Add them once:\n${commands.join('\n')}`,
      );
    }
  } finally {
    await connection.close();
  }
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
