/**
 * A lost Postgres connection is a retryable `DATABASE_UNAVAILABLE`, never a dead process: a backend terminated under
 * a transaction that waits on its caller (the client is checked out of the pool, so only its own `'error'` handler
 * stands between the closed socket and an unhandled `'error'` event — vitest fails the file on one), a backend
 * terminated under a running statement, a refused connection and a connect timeout. And every session has the
 * worker's timeouts.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import getPort from 'get-port';
import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { asIngestError } from '../../src/activities/failure.ts';
import { createDatabase, defaultDatabaseTimeouts } from '../../src/db/database.ts';
import type { Database } from '../../src/db/schema.ts';
import { logger } from '../../src/logging.ts';
import { withDatabase } from '../helpers/database.ts';
import { until } from '../helpers/until.ts';

const database = withDatabase();

afterEach(() => {
  vi.restoreAllMocks();
});

/** Resolves with the next warning the process logger writes (and keeps it off the test output). */
function nextWarning(): Promise<unknown[]> {
  return new Promise((resolve) => {
    vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => resolve(args));
  });
}

async function backendPid(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db);
  const pid = rows[0]?.pid;
  if (pid === undefined) throw new Error('no backend pid');
  return pid;
}

async function terminate(pid: number): Promise<void> {
  const { rows } = await sql<{ done: boolean }>`SELECT pg_terminate_backend(${pid}) AS done`.execute(
    database.db,
  );
  expect(rows[0]?.done).toBe(true);
}

function expectUnavailable(error: unknown): void {
  const classified = asIngestError(error);
  expect(classified).toMatchObject({ category: 'database', code: 'DATABASE_UNAVAILABLE', retryable: true });
  expect(classified.message).not.toContain(database.url);
  expect(classified.message).not.toContain('@');
}

describe('a lost connection', () => {
  it('under a transaction waiting on its caller: warns, rejects the transaction as DATABASE_UNAVAILABLE, and the pool goes on', async () => {
    const warned = nextWarning();
    let pidOf: (pid: number) => void = () => {};
    const pidKnown = new Promise<number>((resolve) => (pidOf = resolve));
    let proceed: () => void = () => {};
    const held = new Promise<void>((resolve) => (proceed = resolve));
    const transaction = database.db.transaction().execute(async (trx) => {
      pidOf(await backendPid(trx));
      await held;
      await sql`SELECT 1`.execute(trx);
    });
    const outcome = transaction.then(
      () => undefined,
      (error: unknown) => error,
    );

    const pid = await pidKnown;
    await terminate(pid);
    // The client notices while nobody queries it: the 'error' event, which a handler must take.
    const [fields, message] = await warned;
    expect(JSON.stringify([fields, message])).not.toContain(database.url);
    proceed();

    const error = await outcome;
    expect(error).toBeInstanceOf(Error);
    expectUnavailable(error);
    // The dead client left the pool: the next query gets a new backend.
    expect(await backendPid(database.db)).not.toBe(pid);
  });

  it('under a running statement: the statement rejects as DATABASE_UNAVAILABLE', async () => {
    const warned = nextWarning();
    let pidOf: (pid: number) => void = () => {};
    const pidKnown = new Promise<number>((resolve) => (pidOf = resolve));
    const sleeping = database.db.connection().execute(async (connection) => {
      pidOf(await backendPid(connection));
      await sql`SELECT pg_sleep(60)`.execute(connection);
    });
    const outcome = sleeping.then(
      () => undefined,
      (error: unknown) => error,
    );
    const pid = await pidKnown;
    await until('the sleep running', async () => {
      const { rows } = await sql<{ active: boolean }>`
        SELECT state = 'active' AND query LIKE '%pg_sleep%' AS active
        FROM pg_stat_activity WHERE pid = ${pid}`.execute(database.db);
      return rows[0]?.active === true ? true : undefined;
    });
    await terminate(pid);
    const error = await outcome;
    expect((error as { code?: unknown }).code).toBe('57P01'); // admin_shutdown, SQLSTATE class 57
    expectUnavailable(error);
    // The statement fails on the server's FATAL message; the socket closes just after, and only then does the
    // client know it is dead (its 'error' event, the warning) — a query in between would still draw it from the pool.
    await warned;
    expect(await backendPid(database.db)).not.toBe(pid);
  });

  it('refused: a server that is not there is DATABASE_UNAVAILABLE', async () => {
    const port = await getPort({ host: '127.0.0.1' });
    const db = createDatabase(`postgres://nobody:secret@127.0.0.1:${port}/nothing`, { maxConnections: 1 });
    try {
      const error = await sql`SELECT 1`.execute(db).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect((error as { code?: unknown }).code).toBe('ECONNREFUSED');
      expectUnavailable(error);
      expect(asIngestError(error).message).not.toContain('secret');
    } finally {
      await db.destroy();
    }
  });

  it('times out connecting to a server that never answers, as DATABASE_UNAVAILABLE', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const db = createDatabase(`postgres://nobody:secret@127.0.0.1:${address.port}/nothing`, {
      maxConnections: 1,
      timeouts: { connectMs: 200 },
    });
    try {
      const error = await sql`SELECT 1`.execute(db).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expectUnavailable(error);
    } finally {
      await db.destroy();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('session timeouts', () => {
  async function show(db: Kysely<Database>, setting: string): Promise<string | undefined> {
    const { rows } = await sql<Record<string, string>>`SELECT current_setting(${setting}) AS value`.execute(
      db,
    );
    return rows[0]?.['value'];
  }

  it('every new connection has the defaults: statement 30 min, lock 1 min, idle in transaction 10 min', async () => {
    expect(defaultDatabaseTimeouts).toMatchObject({
      statementMs: 30 * 60_000,
      lockMs: 60_000,
      idleInTransactionMs: 10 * 60_000,
    });
    const db = createDatabase(database.url, { maxConnections: 1 });
    try {
      const { rows } = await sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(db);
      expect(rows[0]?.statement_timeout).toBe('30min');
      expect(await show(db, 'lock_timeout')).toBe('1min');
      expect(await show(db, 'idle_in_transaction_session_timeout')).toBe('10min');
    } finally {
      await db.destroy();
    }
  });

  it('the options override them, and a statement over its limit is cancelled (not a lost connection)', async () => {
    const db = createDatabase(database.url, {
      maxConnections: 1,
      timeouts: { statementMs: 300, lockMs: 2_000 },
    });
    try {
      expect(await show(db, 'statement_timeout')).toBe('300ms');
      expect(await show(db, 'lock_timeout')).toBe('2s');
      expect(await show(db, 'idle_in_transaction_session_timeout')).toBe('10min');
      const error = await sql`SELECT pg_sleep(5)`.execute(db).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect((error as { code?: unknown }).code).toBe('57014'); // query_canceled
      expect(asIngestError(error).code).toBe('INTERNAL');
      expect(await show(db, 'statement_timeout')).toBe('300ms'); // the same session goes on
    } finally {
      await db.destroy();
    }
  });
});
