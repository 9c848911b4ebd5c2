/**
 * The Kysely instance over a node-postgres pool. Every db function takes a `Kysely<Database>` (or a transaction),
 * so callers decide about pooling and transactions.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
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
  // The pool's clients by backend pid: lets the merge find the connection under its Kysely transaction, to run a
  // COPY on it (Kysely has no COPY).
  const clients = new Map<number, pg.PoolClient>();
  pool.on('connect', (client) => {
    const pid = backendPid(client);
    if (pid === undefined) return;
    clients.set(pid, client);
    client.once('end', () => clients.delete(pid));
  });
  pool.on('remove', (client) => {
    const pid = backendPid(client);
    if (pid !== undefined) clients.delete(pid);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  handles.set(db, { config: { ...pool.options }, clients });
  return db;
}

interface PoolHandle {
  /** The pool's connection settings (for a connection of its own, outside the pool). */
  readonly config: pg.ClientConfig;
  readonly clients: ReadonlyMap<number, pg.PoolClient>;
}

const handles = new WeakMap<Kysely<Database>, PoolHandle>();

function backendPid(client: pg.ClientBase): number | undefined {
  const pid = (client as { processID?: unknown }).processID;
  return typeof pid === 'number' ? pid : undefined;
}

/**
 * The raw node-postgres connection under `trx` (a transaction or connection of `db`, which must come from
 * {@link createDatabase}), and the settings to open another connection to the same server; undefined when `db`
 * was made elsewhere. For a COPY only: the caller must await it before `trx` runs anything else.
 */
export async function rawConnection(
  db: Kysely<Database>,
  trx: Kysely<Database>,
): Promise<{ client: pg.ClientBase; config: pg.ClientConfig } | undefined> {
  const handle = handles.get(db);
  if (handle === undefined) return undefined;
  const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx);
  const client = rows[0] === undefined ? undefined : handle.clients.get(rows[0].pid);
  return client === undefined ? undefined : { client, config: handle.config };
}
