/**
 * Everything `bench:e2e` runs against, started once: Postgres (embedded, or a scratch database beside
 * `--postgres-url`), migrated and with its WAL warmed up; a Temporal dev server; the production build (`npm run
 * build`'s worker and workflow bundle, into a folder of its own under `dist/`, removed at the end: the checkout's
 * `dist/` — an operator's build, a running `worker:prod` — is left alone); the sandbox API and the product's worker
 * as `npm run worker:prod` starts it, each in a child process; and a Temporal client. `close` stops what was
 * started, latest first, whatever failed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { readSettings } from '../../src/app/settings.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrations.ts';
import type { Database } from '../../src/db/schema.ts';
import { migrationsFolder } from '../../src/local/paths.ts';
import { provideTemporal } from '../../src/local/stack.ts';
import { buildWorker, distDir } from '../../scripts/build-worker.ts';
import { writeWorkflowBundle } from '../../scripts/workflow-bundle.ts';
import { megabytes } from '../shared/figures.ts';
import { describeServer, provideBenchDatabase, warmUpWal } from '../shared/postgres.ts';
import type { Meters } from './measure.ts';
import { sampleMemory, startSandboxProcess, startWorkerProcess, type SandboxProcess } from './processes.ts';
import { sourceEnv, writeSources, type Shape } from './sources.ts';

export interface Harness {
  readonly db: Kysely<Database>;
  readonly databaseUrl: string;
  /** The server's version and write settings. */
  readonly postgres: string;
  readonly meters: Meters;
  /** The worker's resident memory after start-up, before any run (median of 1 s of samples). */
  readonly idleRssBytes: number;
  readonly workerPid: number;
  /** The worker's last log lines (for a failure's report). */
  workerOutput(): string;
  /** Makes the worker's next run read the communications source in `shape`. */
  useShape(shape: Shape): Promise<void>;
  /** Serves every record at `revision` (the sandbox restarted on its port, so the worker's base URLs hold). */
  useRevision(revision: number): Promise<void>;
  close(): Promise<void>;
}

export async function openHarness(options: {
  readonly records: number;
  readonly postgresUrl: string | undefined;
  readonly scratch: string;
  /** Where the worker's CPU profile goes (`--profile`): written when the worker stops, at `close`. */
  readonly profileDir?: string | undefined;
}): Promise<Harness> {
  const stops: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const stop of stops.splice(0).reverse())
      await stop().catch((error: unknown) => console.error(error));
  };
  try {
    // Inside the checkout, not in the scratch folder: the built worker imports the packages of its node_modules.
    await mkdir(distDir, { recursive: true });
    const buildDir = await mkdtemp(join(distDir, 'bench-e2e-'));
    stops.push(() => rm(buildDir, { recursive: true, force: true }));
    const [database, temporal, build] = await Promise.allSettled([
      provideBenchDatabase(options.postgresUrl, 'bench_e2e'),
      provideTemporal('test', { ...readSettings(), temporal: { namespace: 'default' } }, (line) =>
        console.log(line),
      ),
      // `npm run build`, as production runs it before starting workers. The worker gets no codec keys and no
      // telemetry endpoint (`startWorkerProcess`): a bundle without the encrypting converter and the tracing.
      buildWorker(buildDir).then(() =>
        writeWorkflowBundle(join(buildDir, 'workflow-bundle.js'), { encryptFailures: false, tracing: false }),
      ),
    ]);
    if (temporal.status === 'fulfilled') stops.push(() => temporal.value.stop());
    if (database.status === 'fulfilled') stops.push(() => database.value.stop());
    if (database.status === 'rejected') throw database.reason;
    if (temporal.status === 'rejected') throw temporal.reason;
    if (build.status === 'rejected') throw build.reason;

    const db = createDatabase(database.value.url, { maxConnections: 2, applicationName: 'bench-e2e' });
    stops.push(() => db.destroy());
    await migrateToLatest(db, { folder: migrationsFolder });
    const postgres = await describeServer(db);
    console.log(`benchmarking in ${database.value.description}: ${postgres}`);
    await warmUpWal(db);

    const sourcesDir = join(options.scratch, 'sources');
    await mkdir(sourcesDir);
    await writeSources(sourcesDir, 'single');
    let sandbox: SandboxProcess = await startSandboxProcess({
      records: options.records,
      revision: 1,
      port: 0,
    });
    stops.push(() => sandbox.stop());
    const worker = await startWorkerProcess({
      temporalAddress: temporal.value.address,
      namespace: temporal.value.namespace,
      databaseUrl: database.value.url,
      buildDir,
      sourcesDir,
      env: sourceEnv(sandbox),
      profileDir: options.profileDir,
    });
    stops.push(() => worker.stop());
    const idle = sampleMemory(worker.pid);
    await new Promise((done) => setTimeout(done, 1000)); // a second of samples of the idle worker
    const idleRssBytes = (await idle.stop()).median;
    console.log(`worker started (pid ${worker.pid}), idle RSS ${megabytes(idleRssBytes)}`);

    const connection = await Connection.connect({ address: temporal.value.address });
    stops.push(() => connection.close());
    return {
      db,
      databaseUrl: database.value.url,
      postgres,
      meters: {
        db,
        client: new Client({ connection, namespace: temporal.value.namespace }),
        workerPid: worker.pid,
        apiPid: () => sandbox.pid,
      },
      idleRssBytes,
      workerPid: worker.pid,
      workerOutput: () => worker.output(),
      useShape: (shape) => writeSources(sourcesDir, shape),
      async useRevision(revision) {
        if (sandbox.revision === revision) return;
        const { port } = sandbox;
        await sandbox.stop();
        sandbox = await startSandboxProcess({ records: options.records, revision, port });
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
