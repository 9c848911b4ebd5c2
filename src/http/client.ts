/**
 * The HTTP client: one undici `Agent` (a connection pool per origin, kept alive and reused), the three timeouts and
 * a connector that marks every error it produces, so that a failure can be said to have happened before the request
 * was sent (connect phase). Closing it closes every connection.
 */
import { Agent, buildConnector, Client, type Dispatcher } from 'undici';

/** Timeouts in milliseconds. */
export interface HttpTimeouts {
  /** To establish a connection (TCP and TLS). Default 10 s. */
  readonly connectMs: number;
  /** From sending the request to the end of the response headers. Default 30 s. */
  readonly headersMs: number;
  /** Longest pause between two body chunks (an idle timeout, not a total). Default 60 s. */
  readonly bodyMs: number;
}

export const defaultTimeouts: HttpTimeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 60_000 };

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  readonly timeouts?: Partial<HttpTimeouts>;
  /** Connections per origin. Default 8. */
  readonly connectionsPerOrigin?: number;
  /** How long an idle connection is kept for reuse. Default 10 s (a server's shorter `keep-alive` hint wins). */
  readonly keepAliveMs?: number;
  /** Largest decoded body, in bytes (after gzip/deflate/br). Default 1 GiB. */
  readonly maxBodyBytes?: number;
  /**
   * At most this many requests per second to each origin, from this client (so: per worker, not across workers).
   * Requests beyond it wait their turn, evenly spaced. Default: no limit.
   */
  readonly requestsPerSecond?: number;
  /** Told of every response and every wait for a rate-limit slot (metrics); by origin only, never a URL. */
  readonly observer?: HttpObserver;
}

/** What a client reports as it goes (the worker's metrics implement it). Must be cheap and must not throw. */
export interface HttpObserver {
  /** A response's status line arrived from `origin` (`scheme://host[:port]`): each redirect hop and 401 too. */
  response(origin: string, status: number): void;
  /** A request waited `waitMs` for its slot under `requestsPerSecond`. */
  throttled(origin: string, waitMs: number): void;
}

/** A client shared by the requests of an activity (or a worker). */
export interface HttpClient {
  readonly timeouts: HttpTimeouts;
  readonly maxBodyBytes: number;
  /** The pooled dispatcher requests go through. */
  readonly dispatcher: Dispatcher;
  /** A dispatcher with a connection of its own for one request (close it afterwards): nothing is reused. */
  freshDispatcher(origin: string): Dispatcher & { close(): Promise<void> };
  /** True when this error came out of the connector: the connection was never established. */
  isConnectError(error: unknown): boolean;
  /** Connections opened so far (a measure of reuse). */
  readonly connectionsOpened: number;
  /** Waits for this origin's next request slot under `requestsPerSecond` (at once when there is no limit). */
  acquire(origin: string, signal?: AbortSignal): Promise<void>;
  /** The observer given at creation, if any: `sendRequest` reports each response to it. */
  readonly observer?: HttpObserver | undefined;
  close(): Promise<void>;
}

export const defaultMaxBodyBytes = 1024 * 1024 * 1024;

/** Creates a client. Call `close()` when done (e.g. when the worker shuts down). */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const timeouts: HttpTimeouts = { ...defaultTimeouts, ...options.timeouts };
  const connectErrors = new WeakSet<object>();
  let opened = 0;
  const base = buildConnector({ timeout: timeouts.connectMs });
  const connect: buildConnector.connector = (connectOptions, callback) => {
    base(connectOptions, (...args) => {
      const [error] = args;
      if (error === null) opened += 1;
      else connectErrors.add(error);
      callback(...args);
    });
  };
  const common = {
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyMs,
    keepAliveTimeout: options.keepAliveMs ?? 10_000,
    connect,
  };
  const agent = new Agent({ ...common, connections: options.connectionsPerOrigin ?? 8 });
  const acquire = createRateLimiter(options.requestsPerSecond, options.observer);
  return {
    timeouts,
    maxBodyBytes: options.maxBodyBytes ?? defaultMaxBodyBytes,
    dispatcher: agent,
    freshDispatcher: (origin) => new Client(origin, { ...common, pipelining: 1 }),
    isConnectError: (error) => typeof error === 'object' && error !== null && connectErrors.has(error),
    get connectionsOpened() {
      return opened;
    },
    acquire,
    observer: options.observer,
    close: () => agent.close(),
  };
}

/**
 * Even spacing per origin: each request takes the next free slot, `1000 / rate` ms after the previous one, and
 * waits until it comes. No bursts, no drift, and a waiting request can be cancelled.
 */
function createRateLimiter(
  rate: number | undefined,
  observer: HttpObserver | undefined,
): (origin: string, signal?: AbortSignal) => Promise<void> {
  if (rate === undefined) return () => Promise.resolve();
  if (!(rate > 0) || !Number.isFinite(rate))
    throw new RangeError(`requestsPerSecond must be > 0, got ${rate}`);
  const interval = 1000 / rate;
  const nextSlot = new Map<string, number>();
  return (origin, signal) => {
    const now = performance.now();
    const slot = Math.max(now, nextSlot.get(origin) ?? now);
    nextSlot.set(origin, slot + interval);
    const wait = slot - now;
    if (wait <= 0) return Promise.resolve();
    observer?.throttled(origin, wait);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, wait);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        },
        { once: true },
      );
    });
  };
}
