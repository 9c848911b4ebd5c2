/**
 * `npm start`: the whole pipeline on embedded defaults — Temporal (with its Web UI) and Postgres started here
 * unless TEMPORAL_ADDRESS / DATABASE_URL name others, migrations applied, the sandbox API standing in for the
 * sources it serves (announced: it is never a silent fallback), a worker on the `ingest` queue serving the sources
 * folder (`--sources`, INGEST_SOURCES_DIR, default `sources/`), one full ingestion of every source the sandbox
 * serves and of every other source whose credentials are set (against its own API) with live progress, the
 * sources not run and why, a summary table, the UI link and the Postgres connection string. Stays up until Ctrl-C;
 * `--once` exits after the summary (exit code 1 when a run failed).
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { migrateToLatest } from '../db/migrations.ts';
import { describeError } from '../errors.ts';
import { migrationsFolder } from '../local/paths.ts';
import { startLocalStack, type LocalStack } from '../local/stack.ts';
import { logger, setLogLevel } from '../logging.ts';
import { startSandbox, type Sandbox } from '../sandbox/server.ts';
import { describePayloadEncryption } from './codec/keys.ts';
import { runUntilSignal } from './ingest-worker.ts';
import { openRuntime } from './runtime.ts';
import { isEntry } from './cli/entry.ts';
import { readSettings } from './settings.ts';
import { chooseStartRuns, logSurvey, sourcesFromSandbox, surveySources } from './sources.ts';
import { ingestEach, printNotRun, printSummary } from './start-report.ts';
import { describeAddressOrigin } from './temporal/client-config.ts';

/** `npm start` (and `ingest dev`): the exit code (1: start-up failed, or with `--once` a run failed). */
export async function main(argv: readonly string[], name = 'npm start'): Promise<number> {
  const program = new Command(name)
    .description(
      'Run durable-ingest locally on embedded defaults: ingest every source the sandbox API serves, and every ' +
        'other source whose credentials are set.',
    )
    .option('--once', 'do the work, print the summary and exit (for scripts and CI)', false)
    .option(
      '--sources <dir>',
      'the sources folder: one source per .yaml/.yml/.json/.ts/.js file (default: INGEST_SOURCES_DIR, else sources/)',
    )
    .parse(argv, { from: 'user' });
  const { once, sources: sourcesOption } = program.opts<{ once: boolean; sources?: string }>();

  const say = (line = '') => process.stdout.write(`${line}\n`);

  /** Ctrl-C during start-up aborts it; after start-up the worker's own handler takes over. */
  let interrupted = false;
  const onEarlySignal = () => {
    interrupted = true;
    say('\nInterrupted — stopping…');
  };
  process.on('SIGINT', onEarlySignal);
  process.on('SIGTERM', onEarlySignal);

  let exitCode = 0;
  let stack: LocalStack | undefined;
  let sandbox: Sandbox | undefined;
  try {
    const settings = readSettings();
    setLogLevel(settings.logLevel);
    say('durable-ingest — starting the local stack (Temporal + Postgres)…');
    // A config file profile's address redirects every run: say so before connecting to it.
    const addressOrigin = describeAddressOrigin(settings.temporal);
    if (addressOrigin !== undefined)
      say(`  Temporal           ${settings.temporal.address ?? ''} ${addressOrigin}`);
    const starting = {
      stack: startLocalStack({ purpose: 'user', settings, onProgress: (line) => say(`  ${line}`) }),
      sandbox: startSandbox(),
    };
    try {
      [stack, sandbox] = await Promise.all([starting.stack, starting.sandbox]);
    } catch (error) {
      // Whichever did start is stopped below: a server left listening would keep the process from exiting.
      [stack, sandbox] = await Promise.all([
        starting.stack.catch(() => undefined),
        starting.sandbox.catch(() => undefined),
      ]);
      throw error;
    }
    const sourcesDir = resolve(sourcesOption ?? settings.sourcesDir);
    const sources = await sourcesFromSandbox(sandbox, settings.sourceEnv, sourcesDir);
    const stand = (sources.sandboxSources ?? []).join(', ') || 'no source of the folder';
    say(`  Sandbox API        ${sandbox.url}  (the local stand-in for ${stand}: no credentials needed)`);
    say(`  Sources            ${sourcesDir}`);
    say(
      `  Payloads           ${describePayloadEncryption(settings.codec)}` +
        (settings.codec === undefined ? '' : '; the UI shows them with `npm run codec-server`'),
    );
    const survey = await surveySources(sources);
    logSurvey(survey, logger);
    const { run, notRun } = chooseStartRuns(survey);
    const runtime = await openRuntime(
      { temporal: stack.temporal, databaseUrl: stack.postgres.url },
      {
        maxConnections: 12,
        databaseTimeouts: settings.databaseTimeouts,
        codec: settings.codec,
        telemetry: settings.telemetry,
        prepareDatabase: async (db) => {
          const { applied } = await migrateToLatest(db, { folder: migrationsFolder });
          say(
            `  Postgres schema    ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`,
          );
        },
      },
    );
    try {
      say('  Bundling workflows and starting the worker…');
      const worker = await runtime.createWorker({
        sources,
        activities: {
          maxDeleteShare: settings.maxDeleteShare,
          ledgerRetentionDays: settings.ledgerRetentionDays,
        },
      });
      const metrics = await runtime.telemetry.serve({
        worker,
        db: runtime.db,
        databaseUrl: runtime.servers.databaseUrl,
        sources: survey.served,
      });
      if (metrics !== undefined) say(`  Metrics            ${metrics}/metrics  (health: ${metrics}/healthz)`);
      // Promise.withResolvers is Node 22+; Node 20 is still supported.
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const running = runUntilSignal(worker, finished);
      process.off('SIGINT', onEarlySignal);
      process.off('SIGTERM', onEarlySignal);
      try {
        if (interrupted) throw new Error('interrupted');
        say('');
        printNotRun(notRun);
        say(
          run.length === 0
            ? 'No source to ingest.'
            : `Ingesting ${run.join(', ')} (watch it live in the Temporal UI)…`,
        );
        const outcomes = await ingestEach(runtime.client, run);
        printSummary(stack, outcomes, notRun);
        if (outcomes.some((outcome) => outcome.report?.outcome !== 'ok')) exitCode = 1;
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
      exitCode = 1;
    }
  } finally {
    await sandbox?.stop();
    await stack?.stop();
  }
  return exitCode;
}

if (isEntry(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
