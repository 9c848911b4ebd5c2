/**
 * The Postgres side of the benchmarks: the server they measure on (an embedded one of their own, or a scratch
 * database beside a given one), the steady state they start from (WAL warmed up), what they measure (WAL bytes, row
 * versions written, the server's CPU time) and the physical limit they compare with (`psql \copy` of a pre-encoded
 * file into a table of the same shape). `bench:load` and `bench:e2e` share these, so their figures mean the same.
 */
import { spawn } from 'node:child_process';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.ts';
import {
  createDatabaseIfMissing,
  dropDatabaseIfExists,
  startEmbeddedPostgres,
} from '../../src/local/postgres.ts';
import { postgresClientConfig, withoutPassword } from '../../src/postgres-connection.ts';
import { megabytes, seconds } from './figures.ts';

/** A database to benchmark in, and how to give it back. */
export interface BenchDatabase {
  readonly url: string;
  /** Where it is, for a person (never the password). */
  readonly description: string;
  readonly stop: () => Promise<void>;
}

/**
 * `external` (a server URL) → a scratch database `<its database>_<suffix>` beside it, dropped by `stop`; none → an
 * embedded Postgres of our own with durable settings (`startEmbeddedPostgres`), removed by `stop`.
 */
export async function provideBenchDatabase(
  external: string | undefined,
  suffix: string,
): Promise<BenchDatabase> {
  if (!external) {
    const running = await startEmbeddedPostgres({ database: suffix });
    return {
      url: running.url,
      description: `an embedded Postgres of its own (${running.displayUrl})`,
      stop: () => running.stop(),
    };
  }
  const parsed = new URL(external);
  const name = `${decodeURIComponent(parsed.pathname.slice(1)) || 'postgres'}_${suffix}`;
  const admin = new URL(external);
  admin.pathname = '/postgres';
  await createDatabaseIfMissing(admin.toString(), name);
  const scratch = new URL(external);
  scratch.pathname = `/${encodeURIComponent(name)}`;
  return {
    url: scratch.toString(),
    description: `the scratch database ${name} on ${parsed.host}`,
    stop: () => dropDatabaseIfExists(admin.toString(), name),
  };
}

/** The server's version and the settings that decide write throughput, on one line. */
export async function describeServer(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ version: string; settings: string }>`
    SELECT current_setting('server_version') AS version,
           string_agg(name || '=' || setting, ', ' ORDER BY name) AS settings
    FROM pg_settings
    WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'wal_level', 'max_wal_size')`.execute(
    db,
  );
  return `PostgreSQL ${rows[0]?.version} (${rows[0]?.settings})`;
}

/**
 * `psql` with ON_ERROR_STOP; rejects with its error output. Needs the PostgreSQL client installed. The password goes
 * in its environment (`PGPASSWORD`), never on its command line, which any user of the machine can read (`ps`).
 */
export function psql(url: string, command: string): Promise<void> {
  const { password } = postgresClientConfig(url);
  const env = typeof password === 'string' ? { ...process.env, PGPASSWORD: password } : process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(
      'psql',
      ['--no-psqlrc', '--quiet', '-v', 'ON_ERROR_STOP=1', '-d', withoutPassword(url), '-c', command],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let errors = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => (errors += text));
    child.on('error', (error) =>
      reject(new Error(`psql could not be started (install the PostgreSQL client): ${error.message}`)),
    );
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`psql failed (${code}): ${errors}`)),
    );
  });
}

/**
 * Waits until the kernel has written `file` to disk. The benchmarks' scratch files (records, the baseline's TSV:
 * ~0.4–0.9 GB each) would otherwise sit dirty in the page cache and be written back ~30 s later
 * (`vm.dirty_expire_centisecs`), in the middle of whatever phase then runs, competing with its WAL fsyncs for the
 * disk. Untimed.
 */
export async function syncToDisk(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The baseline's input, not timed: the rows of `table` exactly as stored, as TSV, in key order. */
export async function writeCopyFile(
  url: string,
  scratch: string,
  table: string,
): Promise<{ readonly path: string; readonly bytes: number }> {
  const path = join(scratch, `${table.replace(/\W/g, '_')}.tsv`);
  // In key order, whatever order the loader wrote the table in: COPY of sorted rows grows the primary key at its
  // right edge, its best case (in the staging's order COPY is markedly slower, which would flatter the ratio).
  await psql(url, `\\copy (SELECT * FROM ${table} ORDER BY id) TO '${path}'`);
  await syncToDisk(path);
  return { path, bytes: (await stat(path)).size };
}

/** One COPY of the baseline. */
export interface CopyRun {
  readonly ms: number;
  readonly walBytes: number;
  readonly pgCpuMs: number | undefined;
}

/**
 * The physical limit: `\copy` of `file` (from {@link writeCopyFile}), pre-encoded, into an empty table of the same
 * shape as `table` (same primary key, typed columns and jsonb), from a checkpoint. Checks that `rows` rows landed;
 * drops the copy.
 */
export async function runCopyBaseline(
  db: Kysely<Database>,
  url: string,
  file: string,
  { table, rows }: { readonly table: string; readonly rows: number },
): Promise<CopyRun> {
  const baseline = 'ingest.bench_copy_baseline';
  await sql`DROP TABLE IF EXISTS ${sql.table(baseline)}`.execute(db);
  await sql`CREATE TABLE ${sql.table(baseline)} (LIKE ${sql.table(table)} INCLUDING ALL)`.execute(db);
  await sql`CHECKPOINT`.execute(db);
  const walBefore = await walLsn(db);
  const pgCpuBefore = await serverCpuMs(db);
  const started = performance.now();
  await psql(url, `\\copy ${baseline} FROM '${file}'`);
  const ms = performance.now() - started;
  const pgCpuAfter = await serverCpuMs(db);
  const walBytes = await walSince(db, walBefore);
  const { rows: counted } = await sql<{
    n: string;
  }>`SELECT count(*) AS n FROM ${sql.table(baseline)}`.execute(db);
  if (Number(counted[0]?.n) !== rows) throw new Error(`COPY loaded ${counted[0]?.n} rows, expected ${rows}`);
  await sql`DROP TABLE ${sql.table(baseline)}`.execute(db);
  return {
    ms,
    walBytes,
    pgCpuMs: pgCpuBefore === undefined || pgCpuAfter === undefined ? undefined : pgCpuAfter - pgCpuBefore,
  };
}

/**
 * CPU time so far of the server's processes: the postmaster's children alive now, plus what the ones that ended
 * left in the postmaster's children's time (a backend's time counts there once it has exited). Read from /proc,
 * so only for a server on this machine: undefined (printed `n/a`) unless the pid the server gives for our backend is
 * a `postgres` process here — a server in a container or on another host numbers its processes in another pid
 * namespace, where that pid is some other process or none. Unlike wall time, not inflated by a busy machine.
 */
export async function serverCpuMs(db: Kysely<Database>, { settle = true } = {}): Promise<number | undefined> {
  const ticksPerMs = 100 / 1000; // USER_HZ: 100 on Linux
  const times = async (pid: number): Promise<{ ppid: number; ticks: number } | undefined> => {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state ppid … utime(14) stime(15) cutime(16) cstime(17), numbered from the start.
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
    return { ppid: Number(fields[1]), ticks: (utime ?? 0) + (stime ?? 0) + (cutime ?? 0) + (cstime ?? 0) };
  };
  // A backend that just exited counts once the postmaster has reaped it: give it a moment (outside the timings).
  if (settle) await new Promise((resolve) => setTimeout(resolve, 300));
  const isPostgres = async (pid: number): Promise<boolean> =>
    (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() === 'postgres';
  const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db);
  const pid = rows[0]?.pid;
  if (pid === undefined || !(await isPostgres(pid))) return undefined;
  const backend = await times(pid);
  if (backend === undefined || !(await isPostgres(backend.ppid))) return undefined;
  const postmaster = backend.ppid;
  let ticks = (await times(postmaster))?.ticks ?? 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = await times(Number(entry));
    if (child?.ppid === postmaster) ticks += child.ticks;
  }
  return ticks / ticksPerMs;
}

/**
 * Brings the server's WAL to its steady state before anything is timed: a fresh cluster has no WAL segment files
 * beyond the first few, so the first GB of WAL written would create and zero-fill ~60 new 16 MB segments (with an
 * fsync each), while every later phase — and the COPY baseline — reuses the segments a checkpoint recycled: without
 * this, the first phase alone would pay for creating them. A production server is in steady state, so the
 * benchmark writes `max_wal_size` of WAL once (untimed) and checkpoints, which leaves those segments for recycling.
 */
export async function warmUpWal(db: Kysely<Database>): Promise<void> {
  const started = performance.now();
  const { rows } = await sql<{
    mb: string;
  }>`SELECT setting AS mb FROM pg_settings WHERE name = 'max_wal_size'`.execute(db);
  // ~1 KB of WAL a row (the pad does not compress: it is under the TOAST threshold).
  const count = Math.max(1, Number(rows[0]?.mb ?? 1024)) * 1000;
  await sql`DROP TABLE IF EXISTS ingest.bench_wal_warmup`.execute(db);
  await sql`CHECKPOINT`.execute(db);
  const before = await walLsn(db);
  await sql`
    CREATE TABLE ingest.bench_wal_warmup AS
    SELECT g, repeat(md5(g::text), 30) AS pad FROM generate_series(1, ${count}::int) AS g`.execute(db);
  const written = await walSince(db, before);
  await sql`DROP TABLE ingest.bench_wal_warmup`.execute(db);
  await sql`CHECKPOINT`.execute(db);
  await sql`CHECKPOINT`.execute(db);
  console.log(
    `WAL warmed up to its steady state: ${megabytes(written)} written and checkpointed in ${seconds(performance.now() - started)} (not timed)`,
  );
}

export async function walLsn(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ lsn: string }>`SELECT pg_current_wal_lsn()::text AS lsn`.execute(db);
  return rows[0]?.lsn ?? '0/0';
}

export async function walSince(db: Kysely<Database>, before: string): Promise<number> {
  const { rows } = await sql<{ bytes: string }>`
    SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${before}::pg_lsn)::bigint AS bytes`.execute(db);
  return Number(rows[0]?.bytes ?? 0);
}

/** A table's oid: a swap (`swapInStagedRows`) replaces the table, a copy keeps it. */
export async function tableOid(db: Kysely<Database>, table: string): Promise<number> {
  const { rows } = await sql<{ oid: number }>`SELECT ${table}::regclass::oid::int AS oid`.execute(db);
  return rows[0]?.oid ?? 0;
}

/** A 32-bit xid of now: row versions written by later transactions have an `xmin` after it. */
export async function currentXid(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ xid: string }>`SELECT (txid_current() % 4294967296)::text AS xid`.execute(db);
  return rows[0]?.xid ?? '0';
}

/**
 * The rows of `table` written (inserted or updated) since `xid` ({@link currentXid}), counted by their `xmin`.
 * 32-bit xids wrap around, so "since" is by `age()` (how many transactions ago), not by `>=` on the numbers: a
 * later xid may be the smaller number. Frozen rows are the oldest of all.
 */
export async function rowsWrittenSince(db: Kysely<Database>, table: string, xid: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM ${sql.table(table)} WHERE age(xmin) <= age(${xid}::text::xid)`.execute(db);
  return Number(rows[0]?.n ?? 0);
}
