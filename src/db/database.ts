/**
 * The Kysely instance over a node-postgres pool. Every db function takes a `Kysely<Database>` (or a transaction),
 * so callers decide about pooling and transactions.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { logger } from '../logging.ts';

export interface CreateDatabaseOptions {
  /** Pool size; activities that load in parallel need one connection each. */
  readonly maxConnections?: number;
  readonly applicationName?: string;
}

/** Opens a pooled Kysely instance. Call `destroy()` when done. */
export function createDatabase(url: string, options: CreateDatabaseOptions = {}): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'durable-ingest',
  });
  // An idle client whose server goes away (a restart, or Ctrl-C reaching an embedded Postgres first) emits 'error'
  // on the pool; unhandled, that would crash the process. The next query reconnects or fails on its own.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'an idle Postgres connection was closed'));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
