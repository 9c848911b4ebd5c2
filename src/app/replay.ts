/**
 * `npm run replay -- <history.json | workflowId>`: replays one workflow history against the current workflow code
 * and prints the verdict. A file is a history exported with `temporal workflow show --output json`; anything else
 * is a workflow id whose latest run is fetched from TEMPORAL_ADDRESS (namespace TEMPORAL_NAMESPACE or `default`).
 * Exit code: 0 replays deterministically, 1 non-deterministic, 2 the replay could not run (bad file, no server…).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describeError } from '../errors.ts';
import {
  bundleWorkflowsFrom,
  fetchWorkflowHistory,
  installReplayRuntime,
  formatVerdict,
  readHistoryFile,
  replayHistories,
  type HistoryToReplay,
} from './replay-history.ts';
import { setLogLevel } from '../logging.ts';
import { readSettings } from './settings.ts';
import { codecDataConverter } from './codec/data-converter.ts';
import { isEntry } from './cli/entry.ts';

/** `npm run replay -- …` and `ingest replay …`: the exit code (0 ok, 1 non-deterministic, 2 could not replay). */
export async function main(argv: readonly string[], name = 'npm run replay --'): Promise<number> {
  const program = new Command(name)
    .description('Replay one workflow history against the current workflow code and print the verdict.')
    .argument(
      '<history>',
      'a history file (`temporal workflow show --workflow-id <id> --output json > h.json`), or a workflow id ' +
        'to fetch from TEMPORAL_ADDRESS',
    )
    .option(
      '--workflows <module>',
      'replay against this workflows module instead of src/workflows/index.ts (e.g. a candidate change)',
    )
    .addHelpText(
      'after',
      '\nAn encrypted history replays with the keys of INGEST_CODEC_KEYS.' +
        '\nExit code: 0 ok, 1 non-deterministic, 2 the replay could not run.',
    )
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  try {
    return await replay(program.args[0] ?? '', program.opts<{ workflows?: string }>());
  } catch (error) {
    console.error(`replay: ${describeError(error)}`);
    return 2;
  }
}

async function replay(target: string, options: { workflows?: string }): Promise<number> {
  const settings = readSettings();
  setLogLevel(settings.logLevel);
  let item: HistoryToReplay;
  if (target.endsWith('.json') || existsSync(target)) {
    item = await readHistoryFile(target);
  } else {
    const { address, namespace, connection } = settings.temporal;
    if (!address) {
      console.error(
        `replay: "${target}" is not a file; to fetch it as a workflow id, set TEMPORAL_ADDRESS (see --help).`,
      );
      return 2;
    }
    item = await fetchWorkflowHistory(target, { address, namespace, connection });
  }
  installReplayRuntime();
  const workflowBundle =
    options.workflows === undefined ? undefined : await bundleWorkflowsFrom(resolve(options.workflows));
  const [verdict] = await replayHistories([item], {
    ...(workflowBundle === undefined ? {} : { workflowBundle }),
    // An encrypted history decodes with the keys of INGEST_CODEC_KEYS (a missing one is named in the verdict).
    dataConverter: codecDataConverter(settings.codec),
  });
  if (!verdict) throw new Error('replay produced no verdict');
  console.log(formatVerdict(verdict));
  return verdict.kind === 'ok' ? 0 : verdict.kind === 'non-deterministic' ? 1 : 2;
}

if (isEntry(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
