/**
 * The sandbox server: both seed APIs and the generic routes on one loopback listener, plus a second "other origin"
 * listener for cross-origin redirects (it serves the same routes WITHOUT checking credentials, like a download
 * host, and logs every credential that reaches it). Applies faults, keeps the request log, and streams bodies.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTokenStore } from './auth.ts';
import {
  createCallLog,
  createChanges,
  createClock,
  type CallLogState,
  type ChangesState,
  type SandboxClock,
} from './changes.ts';
import { writeReply } from './body-writer.ts';
import { sandboxConfigValues, type SandboxConfigValues } from './config-values.ts';
import { createDataset, type Dataset } from './dataset.ts';
import { bodyShaping, faultReply, withContentType } from './fault-replies.ts';
import { createFaultBook, describeFault, type Fault, type FaultBook } from './faults.ts';
import { createProjectDataset, type ProjectDataset } from './generators-projects.ts';
import { createMessagingStore, type MessagingState } from './messaging-store.ts';
import {
  resolveSandboxOptions,
  type ResolvedGenericCredentials,
  type ResolvedSandboxOptions,
  type SandboxOptions,
} from './options.ts';
import { jsonReply, type Reply } from './reply.ts';
import {
  createRequestLog,
  detectCredentials,
  isCredentialParam,
  redactTarget,
  type MutableLogEntry,
  type Origin,
  type RequestLog,
  type RequestLogWriter,
} from './request-log.ts';
import { communicationsRoutes } from './routes-communications.ts';
import { genericChildRoutes } from './routes-generic-children.ts';
import { genericChangesRoutes } from './routes-generic-changes.ts';
import { genericSearchRoutes } from './routes-generic-search.ts';
import { genericRoutes } from './routes-generic.ts';
import { messagingRoutes } from './routes-messaging.ts';
import { createRouter, type RouteContext, type Router } from './routing.ts';
import type { SandboxServices } from './services.ts';

/** A running sandbox. */
export interface Sandbox {
  /** `http://127.0.0.1:<port>`: the base URL of both seed APIs and the generic routes. */
  readonly url: string;
  readonly port: number;
  /** The second listener redirects can point to (`redirect` faults with `target: 'other-origin'`). */
  readonly otherOrigin: { readonly url: string; readonly port: number };
  /** The complete settings (defaults applied), including every expected credential. */
  readonly settings: ResolvedSandboxOptions;
  /** The expected API keys of the two seed APIs. */
  readonly keys: ResolvedSandboxOptions['keys'];
  /** The credentials of the generic auth routes. */
  readonly generic: ResolvedGenericCredentials;
  /** The data served, record by record, as values and exact JSON text. */
  readonly dataset: Dataset;
  /** The clock of all changing data: strictly increasing, starts at 2025-01-01T00:00:00.000Z, never the wall clock. */
  readonly clock: SandboxClock;
  /**
   * The records of `GET /generic/changes`: `mutate({ add, change, at })`, `records()` (all, as served now),
   * `window(since, before)` (what an `updated_since`/`updated_before` request returns).
   */
  readonly changes: ChangesState;
  /** New call records (`add(n, { at })`) and `window(dateFrom, dateTo)` of `/v1/user_call_records`. */
  readonly callLog: CallLogState;
  /** The projects of `/generic/projects` and the tasks of `/generic/projects/{projectId}/tasks`, as served. */
  readonly projects: ProjectDataset;
  /**
   * Config values the sandbox suggests per source (`{ messaging: { to, from } }`): the app binds each as the
   * environment variable `<SOURCE>_CONFIG_<KEY>` (e.g. `MESSAGING_CONFIG_TO`), so that `sms` sends to a test number.
   */
  readonly configValues: SandboxConfigValues;
  readonly log: RequestLog;
  /** Add, list, remove and clear fault rules at runtime. */
  readonly faults: FaultBook;
  /** Sends per `to`, message polls, preloading and expiry of messages. */
  readonly messaging: MessagingState;
  /** The request IDs created by `messages.preload` (in order; expired ones included). */
  readonly preloadedMessageIds: readonly string[];
  /** OAuth2 tokens: how many were issued, and expiring them all at once. */
  readonly tokens: { readonly issuedCount: number; expireAll(): void };
  /** Closes both listeners and every open connection. */
  stop(): Promise<void>;
}

/** Path of the unauthenticated health check (used by the standalone entry and benchmarks to wait for readiness). */
export const healthPath = '/__sandbox/health';

/**
 * Starts the sandbox on `host:port` (default 127.0.0.1, a free port) and its other origin. Options are validated
 * first; an invalid option throws before anything listens.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const settings = resolveSandboxOptions(options);
  const dataset = createDataset({
    seed: settings.seed,
    counts: settings.counts,
    hostile: settings.hostile,
    revision: settings.revision,
  });
  const projects = createProjectDataset({ seed: settings.seed, count: settings.projects });
  const tokens = createTokenStore({ seed: settings.seed, ttlMs: settings.generic.tokenTtlMs });
  const messaging = createMessagingStore({ seed: settings.seed, progress: settings.messages });
  const preloadedMessageIds = settings.preload === undefined ? [] : messaging.preload(settings.preload);
  const faults = createFaultBook(settings.seed, settings.faults);
  const log = createRequestLog(settings.logLimit, settings.onRequest);
  const clock = createClock();
  const changes = createChanges(settings.seed, settings.changes, clock);
  const callLog = createCallLog(dataset, clock);
  const services: SandboxServices = { settings, dataset, projects, messaging, tokens, changes, callLog };
  const router = createRouter([
    ...communicationsRoutes(services),
    ...messagingRoutes(services),
    ...genericRoutes(services),
    ...genericChildRoutes(services),
    ...genericSearchRoutes(services),
    ...genericChangesRoutes(services),
  ]);

  const configuredSecrets = new Set([
    settings.keys.communications,
    settings.keys.messaging,
    settings.generic.apiKey,
    settings.generic.bearerToken,
    settings.generic.password,
    settings.generic.clientSecret,
  ]);
  const isKnownSecret = (value: string): boolean => configuredSecrets.has(value) || tokens.isIssued(value);
  const redactSecrets = (text: string): string => {
    let redacted = text;
    for (const secret of configuredSecrets) {
      if (secret !== '') redacted = redacted.split(secret).join('REDACTED');
    }
    return redacted;
  };
  const stopping = new AbortController();
  const origins = { main: '', other: '' };

  const handler = (origin: Origin) => (req: IncomingMessage, res: ServerResponse) => {
    // handleRequest answers 500 itself; this only keeps a bug from escaping as an unhandled rejection.
    const scope = {
      origin,
      req,
      res,
      router,
      faults,
      log,
      isKnownSecret,
      redactSecrets,
      origins,
      signal: stopping.signal,
    };
    handleRequest(scope).catch(() => res.destroy());
  };
  const main = createServer({ keepAliveTimeout: 5000 }, handler('main'));
  const other = createServer({ keepAliveTimeout: 5000 }, handler('other'));
  const port = await listen(main, settings.host, settings.port);
  let otherPort: number;
  try {
    otherPort = await listen(other, settings.host, settings.otherOriginPort);
  } catch (error) {
    await close(main);
    throw error;
  }
  origins.main = originUrl(settings.host, port);
  origins.other = originUrl(settings.host, otherPort);

  let stopped: Promise<void> | undefined;
  return {
    url: origins.main,
    port,
    otherOrigin: { url: origins.other, port: otherPort },
    settings,
    keys: settings.keys,
    generic: settings.generic,
    dataset,
    projects,
    clock,
    changes,
    callLog,
    configValues: sandboxConfigValues,
    log,
    faults,
    messaging,
    preloadedMessageIds,
    tokens: {
      get issuedCount() {
        return tokens.issuedCount;
      },
      expireAll: () => tokens.expireAll(),
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await Promise.all([close(main), close(other)]);
      })();
      return stopped;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The URL clients use for a listener: wildcard binds are reached through loopback. */
function originUrl(host: string, port: number): string {
  if (host === '0.0.0.0') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

interface RequestScope {
  readonly origin: Origin;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly router: Router;
  readonly faults: FaultBook;
  readonly log: RequestLogWriter;
  readonly isKnownSecret: (value: string) => boolean;
  readonly redactSecrets: (text: string) => string;
  readonly origins: { readonly main: string; readonly other: string };
  readonly signal: AbortSignal;
}

async function handleRequest(scope: RequestScope): Promise<void> {
  const { req, res, log, isKnownSecret } = scope;
  const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  const entry = log.begin({
    origin: scope.origin,
    method,
    path: redactTarget(url, isKnownSecret),
    credentials: detectCredentials(req, url, isKnownSecret),
  });
  // A client that goes away mid-response. Deferred, so that the writer's own verdict (reset, truncated) wins.
  res.once('close', () => {
    setImmediate(() => log.finish(entry, entry.status === undefined ? 'reset' : 'aborted'));
  });
  try {
    const outcome = await respond(scope, url, method, entry);
    log.finish(entry, outcome);
  } catch {
    if (!res.headersSent && !res.destroyed) {
      entry.status = 500;
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"sandbox internal error"}');
      log.finish(entry, 'complete');
    } else {
      res.destroy();
      log.finish(entry, 'aborted');
    }
  }
}

async function respond(
  scope: RequestScope,
  url: URL,
  method: string,
  entry: MutableLogEntry,
): Promise<'complete' | 'truncated' | 'reset' | 'aborted'> {
  const { req, res, origin, signal } = scope;
  if (url.pathname === healthPath) {
    entry.route = healthPath;
    return finish(scope, entry, jsonReply(200, { status: 'ok' }), undefined);
  }
  const match = scope.router.match(method, url.pathname);
  if (match.type !== 'not-found')
    entry.route = match.type === 'found' ? match.route.template : match.template;

  // Faults apply on the main origin only: the other origin is the "elsewhere" a redirect leads to.
  const decision = origin === 'main' ? scope.faults.decide(method, url.pathname) : undefined;
  const fault = decision?.fault;
  if (fault !== undefined) entry.fault = describeFault(fault);

  if (fault?.type === 'slow-headers' && decision?.phase !== 'after-handler') {
    await sleep(fault.delayMs, undefined, { signal }).catch(() => undefined);
    if (res.destroyed || signal.aborted) return 'aborted';
  }
  const resetNow = (): 'reset' => {
    req.socket.destroy();
    return 'reset';
  };
  const redirectContext = {
    url,
    sameOrigin: origin === 'main' ? scope.origins.main : scope.origins.other,
    otherOrigin: scope.origins.other,
    isCredentialParam: (name: string, value: string) => isCredentialParam(name, value, scope.isKnownSecret),
  };

  if (decision?.phase === 'before-handler' && fault !== undefined) {
    if (fault.type === 'reset' && fault.when === 'before-headers') return resetNow();
    if (fault.type === 'slow-headers') {
      // The API has handled the request (an SMS IS sent); its answer is late: a client timeout loses it.
      await sleep(fault.delayMs, undefined, { signal }).catch(() => undefined);
      if (res.destroyed || signal.aborted) return 'aborted';
    }
    const substitute = faultReply(fault, redirectContext);
    if (substitute !== undefined) return finish(scope, entry, substitute, undefined);
  }

  let reply: Reply;
  if (match.type === 'found') {
    const ctx: RouteContext = {
      req,
      url,
      params: match.params,
      origin,
      baseUrl: origin === 'main' ? scope.origins.main : scope.origins.other,
      enforceAuth: origin === 'main',
      setAuth: (outcome) => {
        entry.auth = outcome;
      },
      addCredentials: (sightings) => {
        entry.credentials = [...entry.credentials, ...sightings];
      },
      readBody: (limit) => readBody(req, limit ?? 1024 * 1024),
      recordBody: (text) => {
        entry.requestBody = scope.redactSecrets(text);
      },
    };
    reply = await match.route.handle(ctx);
  } else if (match.type === 'method-not-allowed') {
    reply = jsonReply(
      405,
      { error: 'method_not_allowed', allowed: match.allowed },
      { allow: match.allowed.join(', ') },
    );
  } else {
    reply = jsonReply(404, { error: 'not_found', message: `No route for ${method} ${url.pathname}.` });
  }

  if (decision?.phase === 'after-handler' && fault !== undefined) {
    if (fault.type === 'reset' && fault.when === 'before-headers') return resetNow();
    if (fault.type === 'slow-headers') {
      // The API has handled the request (an SMS IS sent); its answer is late: a client timeout loses it.
      await sleep(fault.delayMs, undefined, { signal }).catch(() => undefined);
      if (res.destroyed || signal.aborted) return 'aborted';
    }
    reply = faultReply(fault, redirectContext) ?? reply;
    if (fault.type === 'wrong-content-type')
      reply = withContentType(reply, fault.contentType ?? 'text/plain; charset=utf-8');
  }
  return finish(scope, entry, reply, fault);
}

async function finish(
  scope: RequestScope,
  entry: MutableLogEntry,
  reply: Reply,
  fault: Fault | undefined,
): Promise<'complete' | 'truncated' | 'reset' | 'aborted'> {
  entry.status = reply.status;
  entry.retryAfter = reply.headers['retry-after'];
  entry.served = reply.served;
  const result = await writeReply(scope.res, reply, bodyShaping(fault, reply), scope.signal, (bytes) => {
    entry.bytes = bytes;
  });
  entry.bytes = result.bytes;
  return result.outcome;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error(`request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.once('error', reject);
  });
}
