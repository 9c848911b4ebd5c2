/**
 * The suite's command line. The full suite (default): a million call records, each case a two-source load with its
 * own disruptions — `kills` (10 worker SIGKILLs), `postgres` (3 immediate Postgres stops) and `storm` (the fault
 * storm); `all` (the three at once) on request. `--small` is CI's variant: 10 000 records and the `all` case with 1
 * kill and 1 stop — a minute at most, where each kill alone costs Temporal's 20 s heartbeat timeout and more (see
 * docs/orchestration.md, "The chaos suite"). Flags given explicitly win over either preset. The same seed gives the
 * same data, disruption points and faults.
 */
import { randomInt } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import type { CaseSpec } from './case.ts';

export interface ChaosOptions {
  readonly seed: number;
  /** Call records the sandbox serves (the big resource). */
  readonly records: number;
  readonly cases: readonly CaseSpec[];
  readonly small: boolean;
  /** Keep the temporary folder (Postgres cluster, worker logs) after the run. */
  readonly keep: boolean;
  /** Print each disruption as it lands. */
  readonly verbose: boolean;
}

export const caseNames = ['kills', 'postgres', 'storm', 'all'] as const;
type CaseName = (typeof caseNames)[number];

const presets = {
  full: { records: 1_000_000, kills: 10, postgresStops: 3, cases: ['kills', 'postgres', 'storm'] },
  small: { records: 10_000, kills: 1, postgresStops: 1, cases: ['all'] },
} as const satisfies Record<
  string,
  { records: number; kills: number; postgresStops: number; cases: readonly CaseName[] }
>;

const whole = (min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
  return n;
};

const caseList = (value: string): CaseName[] => {
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(caseNames as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown case ${unknown.join(', ')}; expected ${caseNames.join(', ')}`);
  return names as CaseName[];
};

/** Parses the flags (`argv` without node and the script). */
export function parseOptions(argv: readonly string[]): ChaosOptions {
  const program = new Command('npm run test:chaos --')
    .description(
      'Load both sources from the sandbox under worker SIGKILLs, immediate Postgres stops and a fault storm, then ' +
        'check that the result is exact (docs/orchestration.md, "The chaos suite").',
    )
    .option(
      '--seed <n>',
      'seed of the data, the disruption points and the fault schedule (default: random)',
      whole(0),
    )
    .option(
      '--records <n>',
      `call records (default ${presets.full.records}; --small: ${presets.small.records})`,
      whole(1),
    )
    .option('--kills <n>', `worker SIGKILLs per case that kills (default ${presets.full.kills})`, whole(0))
    .option(
      '--postgres-stops <n>',
      `immediate Postgres stops per case that stops it (default ${presets.full.postgresStops})`,
      whole(0),
    )
    .option(
      '--cases <list>',
      `cases to run, comma-separated (default ${presets.full.cases.join(',')})`,
      caseList,
    )
    .option(
      '--small',
      `CI's variant: ${presets.small.records} records, the \`all\` case, ${presets.small.kills} kill, ${presets.small.postgresStops} Postgres stop`,
      false,
    )
    .option(
      '--keep',
      'keep the temporary folder (Postgres cluster, worker logs) and print where it is',
      false,
    )
    .option('--verbose', 'print each disruption as it lands', false)
    .parse(argv, { from: 'user' });
  const flags = program.opts<{
    seed?: number;
    records?: number;
    kills?: number;
    postgresStops?: number;
    cases?: CaseName[];
    small: boolean;
    keep: boolean;
    verbose: boolean;
  }>();
  const preset = flags.small ? presets.small : presets.full;
  const kills = flags.kills ?? preset.kills;
  const postgresStops = flags.postgresStops ?? preset.postgresStops;
  const specs: Record<CaseName, CaseSpec> = {
    kills: { name: 'kills', kills, postgresStops: 0, storm: false },
    postgres: { name: 'postgres', kills: 0, postgresStops, storm: false },
    storm: { name: 'storm', kills: 0, postgresStops: 0, storm: true },
    all: { name: 'all', kills, postgresStops, storm: true },
  };
  return {
    seed: flags.seed ?? randomInt(2 ** 31),
    records: flags.records ?? preset.records,
    cases: (flags.cases ?? preset.cases).map((name) => specs[name]),
    small: flags.small,
    keep: flags.keep,
    verbose: flags.verbose,
  };
}
