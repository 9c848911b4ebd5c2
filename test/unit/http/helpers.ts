/**
 * Helpers of the HTTP tests: plans for the sandbox's generic routes, a client per file, and a deep serialisation of
 * a thrown value (own properties and the whole cause chain) to prove no secret is in it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { resolveSource } from '../../../src/config/resolve.ts';
import type { ResolvedSource } from '../../../src/shared/plan.ts';
import type { SourceConfig } from '../../../src/config/schema.ts';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../../../src/http/client.ts';
import {
  openResource,
  type ResourceDeps,
  type ResourceRequester,
} from '../../../src/http/resource-request.ts';
import type { Sandbox } from '../../../src/sandbox/server.ts';

/** One HTTP client for the file, closed after all tests. */
export function withClient(options: HttpClientOptions = {}): { readonly client: HttpClient } {
  let current: HttpClient | undefined;
  beforeAll(() => {
    current = createHttpClient(options);
  });
  afterAll(async () => {
    await current?.close();
  });
  return {
    get client(): HttpClient {
      if (current === undefined) throw new Error('the client is not created yet');
      return current;
    },
  };
}

/** A one-resource source `generic` with this path and auth (default none), resolved against `baseUrl`. */
export function genericPlan(
  baseUrl: string,
  path: string,
  options: { readonly auth?: unknown; readonly env?: Record<string, string>; readonly extra?: object } = {},
): ResolvedSource {
  const config = {
    name: 'generic',
    client: { base_url: baseUrl, ...(options.auth === undefined ? {} : { auth: options.auth }) },
    resources: [
      {
        name: 'items',
        endpoint: { path, data_selector: 'data', paginator: 'single_page', ...options.extra },
      },
    ],
  } as unknown as SourceConfig;
  return resolveSource(config, { env: options.env ?? {} });
}

/** The requester of a plan's resource (fails when it is skipped). */
export function requester(plan: ResolvedSource, name: string, deps: ResourceDeps): ResourceRequester {
  const opened = openResource(plan, name, deps);
  if (opened.kind !== 'ready') throw new Error(`resource ${name} is skipped: ${opened.skip.reason}`);
  return opened.requester;
}

/** Every record of one request of a resource, as values. */
export async function fetchAll(
  resource: ResourceRequester,
  options: { readonly parent?: unknown; readonly signal?: AbortSignal } = {},
): Promise<unknown[]> {
  const fetched = await resource.fetchRecords(resource.render(options.parent), { signal: options.signal });
  const values: unknown[] = [];
  for await (const batch of fetched.batches) for (const record of batch.records) values.push(record.value);
  return values;
}

/** The error a promise rejects with (it must be an IngestError). */
export { asyncErrorOf as rejectionOf } from '../../helpers/ingest-errors.ts';

/**
 * Everything a thrown value carries, as text: message, stack, every own property (enumerable or not), recursively,
 * the cause chain included.
 */
export function serialiseError(value: unknown): string {
  const seen = new Set<unknown>();
  const visit = (item: unknown, depth: number): unknown => {
    if (item === null || typeof item !== 'object') return typeof item === 'bigint' ? String(item) : item;
    if (seen.has(item) || depth > 8) return '[seen]';
    seen.add(item);
    const out: Record<string, unknown> = {};
    for (const key of Object.getOwnPropertyNames(item)) {
      out[key] = visit((item as Record<string, unknown>)[key], depth + 1);
    }
    return out;
  };
  return `${String(value)}\n${JSON.stringify(visit(value, 0))}`;
}

/** Every secret of a sandbox (seed API keys and generic credentials) plus the tokens it issued. */
export function sandboxSecrets(sandbox: Sandbox): string[] {
  const generic = sandbox.generic;
  return [
    sandbox.keys.communications,
    sandbox.keys.messaging,
    generic.apiKey,
    generic.bearerToken,
    generic.password,
    generic.clientSecret,
    Buffer.from(`${generic.username}:${generic.password}`).toString('base64'),
  ];
}

/** Fails when the serialised error contains any of the secrets. */
export function expectNoSecret(error: unknown, secrets: readonly string[]): void {
  const text = serialiseError(error);
  for (const secret of secrets) {
    if (secret !== '' && text.includes(secret)) {
      throw new Error(`the error carries a secret (${secret.slice(0, 3)}…): ${text.slice(0, 500)}`);
    }
  }
}

/** A plain local HTTP server for what the sandbox does not serve (compressed bodies, echoed secrets). */
export interface LocalServer {
  readonly url: string;
  readonly port: number;
  /** Requests received: method, URL and headers. */
  readonly received: { method: string; url: string; headers: Record<string, unknown> }[];
  stop(): Promise<void>;
}

/** Starts a loopback server; `handle` answers each request. */
export async function startLocalServer(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<LocalServer> {
  const received: LocalServer['received'] = [];
  const server = createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never says anything (a TLS handshake to it hangs). */
export async function silentTcpServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
