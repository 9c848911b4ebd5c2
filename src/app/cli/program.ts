/**
 * The `ingest` program: global options, every command, and the help. `main.ts` runs it; tests build it too.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { readSettings, type Settings } from '../settings.ts';
import { registerEntries } from './commands/entries.ts';
import { registerPlan } from './commands/plan.ts';
import { registerRun } from './commands/run.ts';
import { registerSchedule } from './commands/schedule.ts';
import { registerStatus } from './commands/status.ts';
import { registerValidate } from './commands/validate.ts';
import { createCliContext, type CliContext } from './context.ts';

export interface GlobalOptions {
  readonly sources?: string;
  readonly verbose?: boolean;
}

const examples = `
Examples:
  ingest validate                                  # every source file: each problem with its path and reason
  ingest plan communications                       # what a run would request (credentials redacted)
  ingest run messaging --resources contacts --wait # start a run and follow it to its report
  ingest status                                    # latest loads, freshness, runs going on now
  ingest schedule --help                           # schedules of runs
  ingest worker --concurrency 8                    # a worker (= npm run worker)
  ingest dev --once                                # the local stack, one run of every source (= npm start)
  ingest codec-server                              # the Web UI and temporal CLI show encrypted payloads decoded

Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_UI_URL, DATABASE_URL, INGEST_SOURCES_DIR,
INGEST_CODEC_KEYS (the workers' payload keys) and the sources' own variables (README, "Using your own servers").`;

/** The program; `settings` default to the process environment's. */
export function buildProgram(settings: () => Settings = () => readSettings()): Command {
  const program = new Command('ingest')
    .description('Operate durable-ingest: validate and plan sources, start and follow runs, inspect loads.')
    .option(
      '--sources <dir>',
      'the sources folder: one source per .yaml/.yml/.json/.ts/.js file (default: INGEST_SOURCES_DIR, else sources/)',
    )
    .option('--verbose', 'print the stack of an unexpected error')
    .showHelpAfterError('(ingest --help lists the commands; ingest <command> --help shows examples)')
    .addHelpText('after', examples)
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`ingest: ${text.replace(/^error: /, '')}`),
    });
  let context: CliContext | undefined;
  const getContext = () => {
    if (context === undefined) {
      const given = program.opts<GlobalOptions>();
      const read = settings();
      context = createCliContext(read, {
        sourcesDir: resolve(given.sources ?? read.sourcesDir),
        verbose: given.verbose === true,
      });
    }
    return context;
  };
  for (const register of [
    registerValidate,
    registerPlan,
    registerRun,
    registerStatus,
    registerSchedule,
    registerEntries,
  ]) {
    register(program, getContext);
  }
  return program;
}
