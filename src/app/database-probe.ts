/**
 * The database half of `/healthz`: whether Postgres answers, asked on a connection of the probe's own — never one of
 * the activities' pool. A pool busy with loads would make a healthy worker look dead (and a liveness probe restart
 * it), and a hung server would leave each probe's request queued in the pool. One connection, opened when first
 * needed and kept, with a connect timeout and a statement timeout; probes that arrive while a check runs share it.
 */
import pg, { type ClientConfig } from 'pg';
import { postgresClientConfig } from '../postgres-connection.ts';

/** How long a check waits to connect, and then for its query, by default. */
export const defaultProbeTimeoutMs = 2_000;

/** The `application_name` of the probe's connection (`pg_stat_activity` shows it). */
export const probeApplicationName = 'durable-ingest healthz';

export interface DatabaseProbe {
  /**
   * True when Postgres accepts the connection within the timeout and answers `SELECT 1` within it; false otherwise
   * (never throws). Calls made while a check runs get that check's answer.
   */
  check(): Promise<boolean>;
  /** Closes the connection (waiting at most the timeout); a check after it answers false. */
  close(): Promise<void>;
}

/** A probe of the Postgres at `url` (parsed as the pool parses it: `postgresClientConfig`, TLS included). */
export function openDatabaseProbe(url: string, options: { readonly timeoutMs?: number } = {}): DatabaseProbe {
  const timeoutMs = options.timeoutMs ?? defaultProbeTimeoutMs;
  const config: ClientConfig = {
    ...postgresClientConfig(url),
    application_name: probeApplicationName,
    connectionTimeoutMillis: timeoutMs,
    // The server gives up on the query, and so does the client when the server does not answer at all.
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    keepAlive: true,
  };
  let client: pg.Client | undefined;
  let inFlight: Promise<boolean> | undefined;
  let closed = false;
  const dropped = new WeakSet<pg.Client>();

  /** Drops the connection without waiting: a server that hangs would never answer the goodbye. */
  const discard = (which: pg.Client) => {
    if (client === which) client = undefined;
    if (dropped.has(which)) return;
    dropped.add(which);
    void which.end().catch(() => undefined);
  };

  const checkOnce = async (): Promise<boolean> => {
    let current = client;
    try {
      if (current === undefined) {
        const fresh = new pg.Client(config);
        // A connection lost between checks: the next check opens another one.
        fresh.on('error', () => discard(fresh));
        current = client = fresh;
        await fresh.connect();
      }
      await current.query('SELECT 1');
      return true;
    } catch {
      if (current !== undefined) discard(current);
      return false;
    }
  };

  return {
    check() {
      if (closed) return Promise.resolve(false);
      inFlight ??= checkOnce().finally(() => (inFlight = undefined));
      return inFlight;
    },
    async close() {
      closed = true;
      await inFlight;
      const last = client;
      client = undefined;
      if (last === undefined) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        last.end().catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]).finally(() => clearTimeout(timer));
    },
  };
}
