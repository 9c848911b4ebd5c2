/**
 * Postgres over TLS as the Postgres URL asks for it (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`), through
 * `createDatabase` and the stack's `DATABASE_URL` check: a verified session is encrypted and migrations run over it;
 * `require` encrypts without a CA (libpq's meaning); `verify-ca` checks the chain but not the host name; a wrong CA,
 * a host the certificate is not for, a server without TLS, plaintext against a `hostssl`-only server, a wrong
 * password and a missing client certificate each fail classified, never with the password — and, raised in an
 * activity's db work (staging, merge), keep their code at the activity boundary, which retries them.
 *
 * The TLS server is an embedded cluster of this file's own, its certificates made here with `openssl` (a CA, a
 * server certificate for the name `localhost` only — not for the address 127.0.0.1 —, a client certificate; another
 * CA that signed nothing of the server's). TLS is switched on and pg_hba.conf replaced by reloading the
 * configuration, which a new session shows.
 */
import { chmod, chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { asIngestError, toApplicationFailure } from '../../src/activities/failure.ts';
import { readSettings } from '../../src/app/settings.ts';
import { createDatabase } from '../../src/db/database.ts';
import { mergeStaged } from '../../src/db/merge/merge.ts';
import { assertSchemaCurrent, migrateToLatest } from '../../src/db/migrations.ts';
import type { Staging } from '../../src/db/staging/registry.ts';
import { stageRecords } from '../../src/db/staging/stage-records.ts';
import { migrationsFolder } from '../../src/local/paths.ts';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/local/postgres.ts';
import { providePostgres } from '../../src/local/stack.ts';
import { postgresClientConfig } from '../../src/postgres-connection.ts';
import { createOtherCa, createTestCertificates } from '../helpers/tls-certificates.ts';
import { until } from '../helpers/until.ts';

let scratch: string;
let postgres: RunningPostgres;
let password: string;
const file = (name: string) => join(scratch, name);

/** `postgres.url` with these query parameters. */
function urlWith(parameters: Record<string, string>, base = postgres.url): string {
  const url = new URL(base);
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  return url.toString();
}

/** `postgres.url` by the name its certificate is for (`localhost`, not 127.0.0.1), with these query parameters. */
function byNameWith(parameters: Record<string, string>): string {
  const url = new URL(postgres.url);
  url.hostname = 'localhost';
  return urlWith(parameters, url.toString());
}

/** Runs one statement on a new session (a new connection sees the server's configuration as reloaded). */
async function query<T>(url: string, text: string): Promise<T | undefined> {
  const client = new pg.Client(postgresClientConfig(url));
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<{ value: T }>(`SELECT (${text}) AS value`)).rows[0]?.value;
  } finally {
    await client.end();
  }
}

/** The error of the first query on a new `createDatabase` pool for `url`. */
async function firstQueryError(url: string): Promise<unknown> {
  const db = createDatabase(url, { maxConnections: 1 });
  try {
    return await sql`SELECT 1`.execute(db).then(
      () => new Error('the query succeeded'),
      (error: unknown) => error,
    );
  } finally {
    await db.destroy();
  }
}

function expectRefused(error: unknown, code: string): void {
  // Where it is raised (a start), it stops the process; the activity boundary keeps its code and retries it.
  expect(error).toMatchObject({ category: 'database', code, retryable: false });
  expect(asIngestError(error)).toMatchObject({ code, retryable: true });
  expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(password);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ingest-pg-tls-'));
  await chmod(scratch, 0o755); // as root, Postgres runs as the `postgres` user, who reads its certificate here
  [postgres] = await Promise.all([
    startEmbeddedPostgres({ database: 'ingest', fast: true }),
    // The server's certificate names `localhost` only (not 127.0.0.1); the client's is for the user `ingest`.
    createTestCertificates(scratch, { serverAltNames: 'DNS:localhost', clientSubject: '/CN=ingest' }),
    createOtherCa(scratch),
  ]);
  password = decodeURIComponent(new URL(postgres.url).password);

  // The server's key must belong to the user the server runs as, readable by it alone.
  const dataDirectory = await query<string>(postgres.url, `current_setting('data_directory')`);
  const owner = await stat(dataDirectory ?? '');
  await chown(file('server.key'), owner.uid, owner.gid);
  await chmod(file('server.key'), 0o600);
  const admin = new pg.Client(postgresClientConfig(postgres.url));
  await admin.connect();
  try {
    for (const [name, value] of [
      ['ssl_cert_file', file('server.pem')],
      ['ssl_key_file', file('server.key')],
      ['ssl_ca_file', file('ca.pem')], // to verify client certificates
      ['ssl', 'on'],
    ] as const) {
      await admin.query(`ALTER SYSTEM SET ${name} = ${admin.escapeLiteral(value)}`);
    }
    await admin.query('SELECT pg_reload_conf()');
  } finally {
    await admin.end();
  }
  await until('TLS on', async () =>
    (await query<string>(postgres.url, `current_setting('ssl')`)) === 'on' ? true : undefined,
  );
});

afterAll(async () => {
  await postgres?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('Postgres over TLS', () => {
  it('verify-full with the CA: our session is encrypted, and migrations run over it', async () => {
    const db = createDatabase(byNameWith({ sslmode: 'verify-full', sslrootcert: file('ca.pem') }), {
      maxConnections: 1,
    });
    try {
      await migrateToLatest(db, { folder: migrationsFolder });
      await assertSchemaCurrent(db, { folder: migrationsFolder });
      const { rows } = await sql<{ ssl: boolean }>`
        SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`.execute(db);
      expect(rows).toEqual([{ ssl: true }]);
    } finally {
      await db.destroy();
    }
  });

  it('require encrypts without checking the certificate (libpq’s meaning), where verify-full would need the CA', async () => {
    expect(
      await query<boolean>(
        urlWith({ sslmode: 'require' }),
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      ),
    ).toBe(true);
  });

  it('verify-ca checks the chain, not the host name: by an address the certificate is not for, verify-ca connects and verify-full is DATABASE_TLS_FAILED', async () => {
    const byAddress = (sslmode: string) => urlWith({ sslmode, sslrootcert: file('ca.pem') });
    expect(
      await query<boolean>(
        byAddress('verify-ca'),
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      ),
    ).toBe(true);
    expectRefused(await firstQueryError(byAddress('verify-full')), 'DATABASE_TLS_FAILED');
    // By the name it is for, verify-full connects too.
    expect(
      await query<string>(
        byNameWith({ sslmode: 'verify-full', sslrootcert: file('ca.pem') }),
        'current_user',
      ),
    ).toBe('ingest');
  });

  it('a certificate from another CA is refused: DATABASE_TLS_FAILED, from the pool and from the stack’s DATABASE_URL check', async () => {
    const url = byNameWith({ sslmode: 'verify-full', sslrootcert: file('other-ca.pem') });
    expectRefused(await firstQueryError(url), 'DATABASE_TLS_FAILED');
    const checked = await providePostgres('test', readSettings({ DATABASE_URL: url })).then(
      () => new Error('the check passed'),
      (error: unknown) => error,
    );
    expectRefused(checked, 'DATABASE_TLS_FAILED');
  });

  it('a server without TLS, when the URL requires it, is DATABASE_TLS_FAILED', async () => {
    // The shared test Postgres has no TLS.
    const error = await firstQueryError(urlWith({ sslmode: 'require' }, inject('stack').databaseUrl));
    expect(error).toMatchObject({ code: 'DATABASE_TLS_FAILED', retryable: false });
  });

  it('a refusal in an activity’s db work keeps its code at the activity boundary, staging and merge alike, and is retried within the budget', async () => {
    const wrong = new URL(postgres.url);
    wrong.password = 'not-the-password';
    const db = createDatabase(wrong.toString(), { maxConnections: 1 });
    const staging: Staging = {
      loadId: '00000000-0000-4000-8000-000000000000',
      target: {
        source: 'src',
        resource: 'res',
        schema: 'public',
        table: 'res',
        primaryKey: [{ field: 'id', column: 'id' }],
        columns: [],
        rowKey: 'record',
      },
      tableName: 'stage_refused',
      targetWasEmpty: true,
      features: { jsonValue: false },
      swappable: false,
      restarted: false,
    };
    try {
      const failed = (promise: Promise<unknown>) =>
        promise.then(
          () => new Error('it succeeded'),
          (error: unknown) => error,
        );
      const staged = await failed(stageRecords(db, staging, 0, []));
      const merged = await failed(mergeStaged(db, staging));
      expect(staged).toMatchObject({ code: 'STAGE_FAILED' }); // the db function's own wrapping
      for (const error of [staged, merged]) {
        expect(asIngestError(error)).toMatchObject({ code: 'DATABASE_ACCESS_DENIED', retryable: true });
        const retried = toApplicationFailure(error, { transientFailures: 1, rateLimited: 0 });
        expect(retried).toMatchObject({ type: 'DATABASE_ACCESS_DENIED', nonRetryable: false });
        const spent = toApplicationFailure(error, { transientFailures: 8, rateLimited: 0 });
        expect(spent).toMatchObject({ type: 'DATABASE_ACCESS_DENIED', nonRetryable: true });
      }
      expect(asIngestError(staged).details).toMatchObject({
        source: 'src',
        resource: 'res',
        failed: 'STAGE_FAILED',
      });
    } finally {
      await db.destroy();
    }
  });

  it('a hostssl-only pg_hba.conf refuses sslmode=disable, and a session without the client certificate it asks for: DATABASE_ACCESS_DENIED', async () => {
    const withCertificate = byNameWith({
      sslmode: 'verify-full',
      sslrootcert: file('ca.pem'),
      sslcert: file('client.pem'),
      sslkey: file('client.key'),
    });
    const hba = await query<string>(postgres.url, `current_setting('hba_file')`);
    const loaded = await query<Date>(withCertificate, 'pg_conf_load_time()');
    await writeFile(hba ?? '', 'hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-full\n');
    await query(postgres.url, 'pg_reload_conf()');
    await until('pg_hba.conf reloaded', async () => {
      const now = await query<Date>(withCertificate, 'pg_conf_load_time()');
      return now !== undefined && loaded !== undefined && now > loaded ? true : undefined;
    });

    expectRefused(await firstQueryError(urlWith({ sslmode: 'disable' })), 'DATABASE_ACCESS_DENIED');
    expectRefused(
      await firstQueryError(byNameWith({ sslmode: 'verify-full', sslrootcert: file('ca.pem') })),
      'DATABASE_ACCESS_DENIED',
    );
    expect(await query<string>(withCertificate, 'current_user')).toBe('ingest');
  });
});
