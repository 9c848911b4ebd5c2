/**
 * `npm start`: the whole pipeline on embedded defaults — Temporal (with its Web UI) and Postgres started here
 * unless TEMPORAL_ADDRESS / DATABASE_URL name others, migrations applied, the sandbox API standing in for the
 * sources it serves (announced: it is never a silent fallback), a worker on the `ingest` queue, one full ingestion
 * of every source with live progress, a summary table, the UI link and the Postgres connection string. Stays up
 * until Ctrl-C; `--once` exits after the summary (exit code 1 when a run failed).
 */
import { Command } from 'commander';
import { migrateToLatest } from '../db/migrations.ts';
import { describeError } from '../errors.ts';
import { migrationsFolder } from '../local/paths.ts';
import { startLocalStack, type LocalStack } from '../local/stack.ts';
import { setLogLevel } from '../logging.ts';
import { startSandbox, type Sandbox } from '../sandbox/server.ts';
import { runUntilSignal } from './ingest-worker.ts';
import { openRuntime, sourcesFromSandbox } from './runtime.ts';
import { readSettings } from './settings.ts';
import { ingestOnce, printSummary } from './start-report.ts';

const program = new Command('npm start')
  .description('Run durable-ingest locally on embedded defaults: ingest every source from the sandbox API.')
  .option('--once', 'do the work, print the summary and exit (for scripts and CI)', false)
  .parse();
const { once } = program.opts<{ once: boolean }>();

const say = (line = '') => process.stdout.write(`${line}\n`);

/** Ctrl-C during start-up aborts it; after start-up the worker's own handler takes over. */
let interrupted = false;
const onEarlySignal = () => {
  interrupted = true;
  say('\nInterrupted — stopping…');
};
process.on('SIGINT', onEarlySignal);
process.on('SIGTERM', onEarlySignal);

let stack: LocalStack | undefined;
let sandbox: Sandbox | undefined;
try {
  const settings = readSettings();
  setLogLevel(settings.logLevel);
  say('durable-ingest — starting the local stack (Temporal + Postgres)…');
  [stack, sandbox] = await Promise.all([
    startLocalStack({ purpose: 'user', settings, onProgress: (line) => say(`  ${line}`) }),
    startSandbox(),
  ]);
  say(`  Sandbox API        ${sandbox.url}  (the local stand-in for the sources: no credentials needed)`);
  const sources = await sourcesFromSandbox(sandbox, settings.sourceEnv);
  const runtime = await openRuntime(
    { temporal: stack.temporal, databaseUrl: stack.postgres.url },
    {
      maxConnections: 12,
      prepareDatabase: async (db) => {
        const { applied } = await migrateToLatest(db, { folder: migrationsFolder });
        say(`  Postgres schema    ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`);
      },
    },
  );
  try {
    say('  Bundling workflows and starting the worker…');
    const worker = await runtime.createWorker({ sources });
    // Promise.withResolvers is Node 22+; Node 20 is still supported.
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const running = runUntilSignal(worker, finished);
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
    try {
      if (interrupted) throw new Error('interrupted');
      const names = Object.keys(sources.baseUrls ?? {});
      say('');
      say(`Ingesting ${names.join(' and ')} (watch it live in the Temporal UI)…`);
      const reports = await Promise.all(names.map((source) => ingestOnce(runtime.client, source)));
      printSummary(stack, reports);
      if (reports.some((report) => report.outcome !== 'ok')) process.exitCode = 1;
      if (!once) say('\nRunning. Press Ctrl-C to stop.');
    } finally {
      if (once) finish();
      await running;
    }
  } finally {
    await runtime.close();
  }
  say('Stopped cleanly.');
} catch (error) {
  if (!interrupted) {
    console.error(`\nnpm start failed: ${describeError(error)}`);
    process.exitCode = 1;
  }
} finally {
  await sandbox?.stop();
  await stack?.stop();
}
