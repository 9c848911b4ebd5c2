/**
 * The request log tests read: when each request arrived (monotonic and wall clock), what it asked for (path with
 * secrets redacted), what it got (status, fault, bytes, outcome), which records it was served, and which
 * credentials arrived where — by name and whether they matched a secret the sandbox knows, never the value.
 */
import type { IncomingMessage } from 'node:http';
import {
  authorizationCredentials,
  basicCredentials,
  headerValue,
  parseCookies,
  type AuthOutcome,
} from './auth.ts';
import type { SandboxResource } from './resources.ts';

/** Which listener received a request: the sandbox itself, or the "other origin" redirects can point to. */
export type Origin = 'main' | 'other';

export type CredentialLocation = 'query' | 'header' | 'cookie' | 'authorization' | 'body';

/** A credential seen on a request: where, under which name, and whether it is a secret the sandbox knows. */
export interface CredentialSighting {
  readonly location: CredentialLocation;
  /** Parameter, header or cookie name; for `authorization`, the scheme (`Bearer`, `Basic`). */
  readonly name: string;
  /** True when the value is a configured key/password/secret or an issued token (the value itself is not kept). */
  readonly matched: boolean;
}

export type RequestOutcome = 'pending' | 'complete' | 'reset' | 'truncated' | 'aborted';

/** The records a response carried: `start` to `end` (exclusive) of the resource. */
export interface ServedRange {
  readonly resource: SandboxResource;
  readonly start: number;
  readonly end: number;
}

export interface RequestLogEntry {
  /** 1, 2, 3… in arrival order, across both origins. */
  readonly seq: number;
  readonly origin: Origin;
  /** `performance.now()` when the request arrived: compare with the test's own `performance.now()`. */
  readonly atMs: number;
  /** `Date.now()` when the request arrived. */
  readonly wallMs: number;
  readonly method: string;
  /** The route template (`/messaging/v1/messages/{requestId}`), or undefined when no route matched. */
  readonly route: string | undefined;
  /** Path and query as received, credential values replaced by `REDACTED`. */
  readonly path: string;
  /**
   * The request body as text, for routes that take a JSON body (`POST /generic/search`); known secrets replaced by
   * `REDACTED`. Undefined for every other route (the OAuth2 token request's form body is never kept).
   */
  readonly requestBody: string | undefined;
  /** The status sent; undefined when the connection was reset before any header. */
  readonly status: number | undefined;
  /** The fault applied, e.g. `status 429 (retry-after 2s as seconds)`, or undefined. */
  readonly fault: string | undefined;
  /** The `Retry-After` header sent, if any. */
  readonly retryAfter: string | undefined;
  readonly auth: AuthOutcome;
  readonly credentials: readonly CredentialSighting[];
  readonly served: ServedRange | undefined;
  readonly outcome: RequestOutcome;
  /** Body bytes handed to the socket so far (live while the response streams). */
  readonly bytes: number;
  /** Time from arrival to the end of the response; undefined while pending. */
  readonly durationMs: number | undefined;
}

/** A log entry while its request is in flight (internal to the server). */
export type MutableLogEntry = { -readonly [K in keyof RequestLogEntry]: RequestLogEntry[K] };

/** Filters for {@link RequestLog.entries}. */
export interface RequestLogFilter {
  readonly origin?: Origin;
  /** The route template, e.g. `/v1/call_queues`. */
  readonly route?: string;
  readonly method?: string;
}

/** The log as tests see it. */
export interface RequestLog {
  /** Snapshots of the entries (oldest first), optionally filtered. */
  entries(filter?: RequestLogFilter): readonly RequestLogEntry[];
  /** Forgets every entry (sequence numbers keep counting). */
  clear(): void;
  /** Resolves once no request is in flight (e.g. after a client saw a reset). */
  settled(): Promise<void>;
}

/** The writable side, used by the server. */
export interface RequestLogWriter extends RequestLog {
  begin(init: Pick<RequestLogEntry, 'origin' | 'method' | 'path' | 'credentials'>): MutableLogEntry;
  finish(entry: MutableLogEntry, outcome: Exclude<RequestOutcome, 'pending'>): void;
}

/** A log that keeps the last `limit` entries (older ones are dropped). */
export function createRequestLog(
  limit: number,
  onFinish?: (entry: RequestLogEntry) => void,
): RequestLogWriter {
  let entries: MutableLogEntry[] = [];
  let seq = 0;
  let pending = 0;
  let waiters: (() => void)[] = [];

  const snapshot = (entry: MutableLogEntry): RequestLogEntry =>
    Object.freeze({ ...entry, credentials: Object.freeze([...entry.credentials]) });

  return {
    begin(init) {
      seq += 1;
      pending += 1;
      const entry: MutableLogEntry = {
        seq,
        origin: init.origin,
        atMs: performance.now(),
        wallMs: Date.now(),
        method: init.method,
        route: undefined,
        path: init.path,
        requestBody: undefined,
        status: undefined,
        fault: undefined,
        retryAfter: undefined,
        auth: 'not-required',
        credentials: init.credentials,
        served: undefined,
        outcome: 'pending',
        bytes: 0,
        durationMs: undefined,
      };
      entries.push(entry);
      if (entries.length > limit) entries = entries.slice(entries.length - limit);
      return entry;
    },
    finish(entry, outcome) {
      if (entry.outcome !== 'pending') return;
      entry.outcome = outcome;
      entry.durationMs = performance.now() - entry.atMs;
      pending -= 1;
      onFinish?.(snapshot(entry));
      if (pending === 0) {
        const resolve = waiters;
        waiters = [];
        for (const waiter of resolve) waiter();
      }
    },
    entries(filter = {}) {
      return entries
        .filter(
          (entry) =>
            (filter.origin === undefined || entry.origin === filter.origin) &&
            (filter.route === undefined || entry.route === filter.route) &&
            (filter.method === undefined || entry.method === filter.method.toUpperCase()),
        )
        .map(snapshot);
    },
    clear() {
      entries = entries.filter((entry) => entry.outcome === 'pending');
    },
    settled() {
      if (pending === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** Query parameters, headers and cookies whose NAME marks them as credentials, whatever their value. */
const credentialNames = new Set([
  'api_key',
  'apikey',
  'api-key',
  'x-api-key',
  'key',
  'token',
  'access_token',
  'auth',
  'auth_token',
  'x-auth-token',
  'x-access-token',
  'client_secret',
  'password',
  'secret',
  'session',
  'proxy-authorization',
]);

/**
 * Finds the credentials on a request: by name (`api_key`, `x-api-key`, `token`, …), by the `Authorization` header,
 * and by value anywhere in the query, headers or cookies (a known secret under an unexpected name still counts).
 */
export function detectCredentials(
  req: IncomingMessage,
  url: URL,
  isKnownSecret: (value: string) => boolean,
): CredentialSighting[] {
  const sightings: CredentialSighting[] = [];
  for (const [name, value] of url.searchParams) {
    if (isCredentialParam(name, value, isKnownSecret)) {
      sightings.push({ location: 'query', name, matched: isKnownSecret(value) });
    }
  }
  for (const [name, raw] of Object.entries(req.headers)) {
    if (name === 'authorization' || name === 'cookie' || raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (credentialNames.has(name) || isKnownSecret(value)) {
      sightings.push({ location: 'header', name, matched: isKnownSecret(value) });
    }
  }
  const authorization = headerValue(req, 'authorization');
  if (authorization !== undefined) {
    const scheme = authorization.split(' ', 1)[0] ?? '';
    const basic = basicCredentials(req);
    const bearer = authorizationCredentials(req, 'Bearer');
    const matched =
      basic !== undefined
        ? isKnownSecret(basic.password)
        : bearer !== undefined
          ? isKnownSecret(bearer)
          : isKnownSecret(authorization);
    sightings.push({ location: 'authorization', name: scheme, matched });
  }
  for (const [name, value] of parseCookies(headerValue(req, 'cookie'))) {
    if (credentialNames.has(name.toLowerCase()) || isKnownSecret(value)) {
      sightings.push({ location: 'cookie', name, matched: isKnownSecret(value) });
    }
  }
  return sightings;
}

/** True for a query parameter that carries a credential: by its name, or because its value is a known secret. */
export function isCredentialParam(
  name: string,
  value: string,
  isKnownSecret: (value: string) => boolean,
): boolean {
  return credentialNames.has(name.toLowerCase()) || isKnownSecret(value);
}

/** The request target with the value of every credential query parameter (and any known secret) redacted. */
export function redactTarget(url: URL, isKnownSecret: (value: string) => boolean): string {
  const params = new URLSearchParams(url.search);
  let changed = false;
  for (const [name, value] of url.searchParams) {
    if (isCredentialParam(name, value, isKnownSecret)) {
      params.set(name, 'REDACTED');
      changed = true;
    }
  }
  const query = changed ? `?${params.toString()}` : url.search;
  return `${url.pathname}${query}`;
}
