/**
 * The Kysely instance over a node-postgres pool. Every db function takes a `Kysely<Database>` (or a transaction),
 * so callers decide about pooling and transactions.
 *
 * A lost connection (a Postgres restart, a terminated backend) never takes the process down: every client the pool
 * creates has an `'error'` handler from birth — idle in the pool or checked out by an activity — and the query in
 * flight rejects on its own; `databaseUnavailable` turns that rejection into a retryable `DATABASE_UNAVAILABLE`.
 * Every session gets the worker's timeouts (`DatabaseTimeouts`), so no statement or lock wait hangs an activity.
 *
 * The URL is read as `src/postgres-connection.ts` reads it (TLS with libpq's `sslmode` meanings), and a connection
 * Postgres and this client could not agree on (TLS, pg_hba.conf, password) fails as `DATABASE_TLS_FAILED` or
 * `DATABASE_ACCESS_DENIED` right where it is opened, so the worker's start, `migrate` and the CLI say so too — and
 * stop; in an activity, `databaseRefusal` makes it retryable.
 */
import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { IngestError, isIngestError } from '../errors.ts';
import { logger } from '../logging.ts';
import {
  failureDetail,
  postgresClientConfig,
  postgresRefusal,
  refusalCodes,
} from '../postgres-connection.ts';

/** Limits of each database session, in milliseconds; 0 sets none (the server's own setting applies). */
export interface DatabaseTimeouts {
  /** Opening a connection (TCP, TLS, authentication); not the wait for a free connection of the pool. */
  readonly connectMs: number;
  /** `statement_timeout`: one statement — a merge of a big resource is one, so this is generous. */
  readonly statementMs: number;
  /** `lock_timeout`: waiting for one lock (a table another merge holds, an advisory lock). */
  readonly lockMs: number;
  /** `idle_in_transaction_session_timeout`: a transaction left open with nothing running (a stuck caller). */
  readonly idleInTransactionMs: number;
}

/** The defaults for an ingest worker (README, "Using your own servers"). */
export const defaultDatabaseTimeouts: DatabaseTimeouts = {
  connectMs: 10_000,
  statementMs: 30 * 60_000,
  lockMs: 60_000,
  idleInTransactionMs: 10 * 60_000,
};

export interface CreateDatabaseOptions {
  /** Pool size; activities that load in parallel need one connection each. */
  readonly maxConnections?: number;
  readonly applicationName?: string;
  /** Per-session limits; each one left out is the default (`defaultDatabaseTimeouts`). */
  readonly timeouts?: Partial<DatabaseTimeouts>;
}

/**
 * Opens a pooled Kysely instance. Call `destroy()` when done. Reads the URL's certificate files now (a renewed one
 * counts from the next process), and throws `SETTING_INVALID` at once when its TLS parameters are wrong or name a
 * file that cannot be read; connects lazily.
 */
export function createDatabase(url: string, options: CreateDatabaseOptions = {}): Kysely<Database> {
  const timeouts = { ...defaultDatabaseTimeouts, ...options.timeouts };
  // Once, here: a client's constructor must not throw (the pool builds clients where no caller would catch it).
  const connection = postgresClientConfig(url);
  const pool = new pg.Pool({
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'durable-ingest',
    // Startup parameters of every session (a parameter of the same name in the URL wins); 0 sends none.
    statement_timeout: timeouts.statementMs,
    lock_timeout: timeouts.lockMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
    // The URL's configuration and the connect timeout go to each client: a pool's `connectionTimeoutMillis` would
    // also limit the wait for a free connection, and an activity should wait for one as long as it takes.
    Client: clientFor(connection, timeouts.connectMs),
  });
  pool.on('connect', (client) => watchClient(client));
  // An idle client that errors is removed by the pool, which re-emits the error here; `watchClient` logged it.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: explainingRefusals(pool) }) });
}

function clientFor(connection: pg.ClientConfig, connectMs: number): typeof pg.Client {
  return class extends pg.Client {
    constructor(poolOptions?: string | pg.ClientConfig) {
      super({
        ...(typeof poolOptions === 'object' ? poolOptions : {}),
        // After the pool's options: a parameter of the same name in the URL wins.
        ...connection,
        connectionTimeoutMillis: connectMs,
      });
    }
  };
}

/**
 * The pool as Kysely uses it, a refused connection explained (`postgresRefusal`). A lost or unanswered one stays as
 * node-postgres reports it: `databaseUnavailable` classifies those at the activity boundary, mid-query ones too.
 */
function explainingRefusals(pool: pg.Pool): PostgresPool {
  return {
    connect: () =>
      pool.connect().catch((error: unknown) => {
        throw postgresRefusal(error) ?? error;
      }),
    end: () => pool.end(),
  };
}

/**
 * Gives a pooled client its `'error'` handler for life. A client emits `'error'` when its connection dies — idle or
 * checked out (in a transaction waiting on its caller, say) — and an `'error'` event nobody listens to crashes the
 * process. The query in flight, if any, rejects by itself, and the pool drops the dead client when it comes back.
 * One warning per client (a terminated backend reports its FATAL message, then the closed socket).
 */
function watchClient(client: pg.PoolClient): void {
  let reported = false;
  client.on('error', (error) => {
    if (reported) return;
    reported = true;
    logger.warn(
      { err: failureDetail(error) },
      'a Postgres connection was lost; the work on it fails and is retried',
    );
  });
}

/** SQLSTATEs of a lost or refused connection: class 08, and the server shutting down, crashing or starting up. */
const unavailableStates = new Set(['57P01', '57P02', '57P03']);
/** Socket errors of a server that is away or went away. */
const unavailableSocketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/**
 * node-postgres's own errors of a dead connection carry no code, so these are matched by message — the one place
 * we do: "Connection terminated unexpectedly" (the socket closed under a query; pg-pool's "… due to connection
 * timeout" too), "timeout expired" (a client's connect timeout), "Client has encountered a connection error and is
 * not queryable" (a later query on a client whose connection died, e.g. the ROLLBACK of its transaction).
 */
const codelessUnavailable = [
  /^Connection terminated\b/,
  /^timeout expired$/,
  /connection error and is not queryable/,
];

/**
 * A retryable `DATABASE_UNAVAILABLE` when `error` (or an error in its `cause` chain — a db function's wrapping
 * `IngestError` included —, or one of an `AggregateError`'s) means the connection to Postgres was lost or refused; otherwise undefined. The message
 * holds the code and pg's or the server's short text — never the connection string.
 */
export function databaseUnavailable(error: unknown): IngestError | undefined {
  const found = findUnavailable(error, 0);
  if (found === undefined) return undefined;
  return new IngestError(
    'database',
    'DATABASE_UNAVAILABLE',
    `Postgres is unavailable: the connection was lost or refused (${found})`,
    {
      retryable: true,
      // A db function's wrapper (`MERGE_FAILED`, …) keeps its facts (source, resource) and says what failed.
      details: isIngestError(error)
        ? { ...error.details, failed: error.code, reason: found }
        : { reason: found },
    },
  );
}

function findUnavailable(error: unknown, depth: number): string | undefined {
  if (depth > 5 || !(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || unavailableStates.has(code) || unavailableSocketCodes.has(code))
      return failureDetail(error);
  } else if (codelessUnavailable.some((pattern) => pattern.test(error.message))) {
    return failureDetail(error);
  }
  if (error instanceof AggregateError) {
    for (const inner of error.errors as unknown[]) {
      const found = findUnavailable(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return findUnavailable(error.cause, depth + 1);
}

/**
 * A retryable copy of the refusal (`DATABASE_TLS_FAILED`, `DATABASE_ACCESS_DENIED`: `postgresRefusal`) in `error` —
 * thrown as is (a merge rethrows it), as the cause of a db function's wrapping error (`STAGE_FAILED`, …) or as the
 * node-postgres error it explains — for the activity boundary; otherwise undefined. Its code is kept, so an operator
 * reads the refusal, not the step it broke. Retryable there because the worker connected with the same URL before:
 * what changed is the server (a rotated certificate, a failover, a pg_hba.conf edit), and the retry budget bounds it.
 */
export function databaseRefusal(error: unknown): IngestError | undefined {
  const refusal = findRefusalError(error, 0) ?? postgresRefusal(error);
  if (refusal === undefined) return undefined;
  return new IngestError('database', refusal.code, refusal.message, {
    retryable: true,
    details:
      isIngestError(error) && error !== refusal
        ? { ...error.details, ...refusal.details, failed: error.code }
        : refusal.details,
  });
}

function findRefusalError(error: unknown, depth: number): IngestError | undefined {
  if (depth > 5 || !(error instanceof Error)) return undefined;
  if (isIngestError(error) && refusalCodes.has(error.code)) return error;
  if (error instanceof AggregateError) {
    for (const inner of error.errors as unknown[]) {
      const found = findRefusalError(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return findRefusalError(error.cause, depth + 1);
}
