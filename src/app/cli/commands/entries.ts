/**
 * The npm-script entries as `ingest` commands: `worker`, `dev` (= `npm start`), `replay`, `migrate`, `codec-server`,
 * `sandbox`. Each hands its arguments to the entry's own `main(argv)` (its options and `--help` are the entry's),
 * imported when the command runs so that `ingest validate` does not load a worker.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../context.ts';

interface Entry {
  readonly name: string;
  readonly script: string;
  readonly description: string;
  readonly examples: readonly string[];
  /** Whether the entry takes `--sources` (the global `--sources` is handed on). */
  readonly sources: boolean;
  readonly run: (argv: readonly string[], name: string) => Promise<number | void>;
}

const entries: readonly Entry[] = [
  {
    name: 'worker',
    script: 'npm run worker',
    description: 'Run a worker for TEMPORAL_ADDRESS and DATABASE_URL (options: ingest worker --help)',
    examples: ['ingest worker --concurrency 8', 'ingest --sources ./my-sources worker --sandbox'],
    sources: true,
    run: async (argv, name) => (await import('../../worker.ts')).main(argv, name),
  },
  {
    name: 'dev',
    script: 'npm start',
    description: 'The local stack + sandbox API + a worker, one run of every source (as `npm start`)',
    examples: ['ingest dev', 'ingest dev --once'],
    sources: true,
    run: async (argv, name) => (await import('../../start.ts')).main(argv, name),
  },
  {
    name: 'replay',
    script: 'npm run replay',
    description: 'Replay a workflow history (file or workflow id) against the current workflow code',
    examples: ['ingest replay h.json', 'ingest replay ingest/messaging/2026-12-01'],
    sources: false,
    run: async (argv, name) => (await import('../../replay.ts')).main(argv, name),
  },
  {
    name: 'migrate',
    script: 'npm run migrate',
    description: 'Apply pending migrations to DATABASE_URL',
    examples: ['DATABASE_URL=postgres://… ingest migrate'],
    sources: false,
    run: async (argv) => (await import('../../migrate.ts')).main(argv),
  },
  {
    name: 'codec-server',
    script: 'npm run codec-server',
    description: 'Serve the payload codec of INGEST_CODEC_KEYS to the Web UI and the temporal CLI',
    examples: [
      'ingest codec-server',
      'ingest codec-server --port 8888 --ui-origin https://temporal.example.com',
    ],
    sources: false,
    run: async (argv, name) => (await import('../../codec-server.ts')).main(argv, name),
  },
  {
    name: 'sandbox',
    script: 'npm run sandbox',
    description: 'Serve the sandbox API standalone (options: ingest sandbox --help)',
    examples: ['ingest sandbox --port 0 --json'],
    sources: false,
    run: async (argv, name) => (await import('../../sandbox.ts')).main(argv, name),
  },
];

export const registerEntries: RegisterCommand = (program, context) => {
  for (const entry of entries) {
    program
      .command(entry.name)
      .description(entry.description)
      .argument('[args...]', `the arguments of \`${entry.script}\``)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .addHelpText(
        'after',
        [
          '',
          'Examples:',
          ...entry.examples.map((example) => `  ${example}`),
          `  ingest ${entry.name} --help`,
        ].join('\n'),
      )
      .action(async (_args: string[], _options: unknown, command: Command) => {
        const ctx = context();
        const argv = [...command.args];
        const globalSources = program.opts<{ sources?: string }>().sources;
        if (entry.sources && globalSources !== undefined && !argv.includes('--sources')) {
          argv.unshift('--sources', ctx.sourcesDir);
        }
        const code = await entry.run(argv, `ingest ${entry.name}`);
        if (typeof code === 'number') process.exitCode = code;
      });
  }
};
