/**
 * `npm run bench:e2e`: the product end to end against the physical limit — a Temporal dev server, the product's
 * worker as production starts it (built as `npm run build` builds it, into a folder of its own under `dist/`, and
 * started with the node flags of `npm run worker:prod`, a child process), Postgres, and the sandbox API over HTTP (a
 * child process too), on 1 M `user_call_records` in two shapes: one `single_page` body, and the same records 1,000
 * to a page.
 *
 *   npm run bench:e2e -- [--records 1000000] [--quick] [--repeat 1] [--postgres-url <url>]
 *                        [--shapes single,paged] [--phases first,unchanged,changed,empty] [--out bench/results/]
 *                        [--profile <dir>]
 *
 * Each phase is one `ingestSource` run started with the Temporal client and timed from start to result. First, a
 * source of 14 resources whose API returns empty lists: the orchestration's own cost (a first run that creates their
 * tables, then 3 timed runs). Then per shape: the first load into the empty table and, right after it (and an
 * untimed VACUUM ANALYZE of the loaded table, which autovacuum would otherwise run during it), the baseline —
 * `psql \copy` of the loaded rows, pre-encoded as TSV (not timed), into a table of the same shape — `--repeat`
 * pairs back to back (on a shared machine both vary by ±20 % or more from run to run: the ratio is the median of the
 * pairs'); an unchanged re-load; an all-changed re-load (the sandbox restarted with `--revision 2`: every record
 * changed, ids kept), both against the median first load and COPY. For each run: wall time, rows/s, the ratio to
 * COPY, rows rewritten (row versions, `xmin`), WAL bytes, the worker's peak resident memory (sampled from its process
 * every 100 ms) and CPU time, Postgres's and the API's CPU time, and the 1-minute load average at its start. It
 * prints a table and a verdict on each target ("(under load)" when a phase started with the load average above the
 * CPU count), writes the figures to `<out>/e2e-<timestamp>.json`, and exits 1 when a target is missed (`npm run
 * bench` reports that).
 *
 * Postgres: an embedded one of its own (durable settings), or with `--postgres-url` a scratch database
 * `<name>_bench_e2e` beside the given one, dropped at the end. Temporal: always a dev server of its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { sql } from 'kysely';
import { projectRoot } from '../src/local/paths.ts';
import { megabytes, median, seconds } from './shared/figures.ts';
import { runCopyBaseline, writeCopyFile } from './shared/postgres.ts';
import { openHarness, type Harness } from './e2e/harness.ts';
import { expectCounts, measureRun, type RunFigures } from './e2e/measure.ts';
import { processMemory } from './e2e/processes.ts';
import {
  printResults,
  verdicts,
  writeResults,
  type CopyFigures,
  type EmptyResult,
  type LoadPair,
  type ShapeResult,
} from './e2e/report.ts';
import {
  callRecords,
  callRecordsTable,
  emptyResourceCount,
  emptySource,
  shapes,
  type Shape,
} from './e2e/sources.ts';

const phases = ['first', 'unchanged', 'changed', 'empty'] as const;
type Phase = (typeof phases)[number];
const quickRecords = 50_000;
const emptyRuns = 3;

function listOf<T extends string>(allowed: readonly T[]) {
  return (text: string): T[] => {
    const items = text.split(',').map((item) => item.trim());
    const wrong = items.filter((item) => !(allowed as readonly string[]).includes(item));
    if (wrong.length > 0 || items.length === 0)
      throw new InvalidArgumentError(`expected a comma-separated list of ${allowed.join(', ')}`);
    return items as T[];
  };
}

const program = new Command('npm run bench:e2e --')
  .description('The product end to end (dev server, worker, Postgres, sandbox over HTTP) against COPY.')
  .option(
    '--records <n>',
    'call records (the targets are stated for 1,000,000)',
    (text: string) => {
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
      return n;
    },
    1_000_000,
  )
  .option('--quick', `${quickRecords.toLocaleString('en')} records unless --records is given: a smoke check`)
  .option(
    '--repeat <n>',
    'first load + COPY pairs per shape, back to back: the ratio is the median of the pairs (default 1)',
    (text: string) => {
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
      return n;
    },
    1,
  )
  .option('--postgres-url <url>', 'a scratch database beside this server (default: an embedded Postgres 17)')
  .addOption(
    new Option('--shapes <list>', `shapes of the call records: ${shapes.join(',')}`)
      .argParser(listOf(shapes))
      .default([...shapes]),
  )
  .addOption(
    new Option('--phases <list>', `phases: ${phases.join(',')} (unchanged and changed need first)`)
      .argParser(listOf(phases))
      .default([...phases]),
  )
  .option('--out <dir>', 'where the JSON of the run goes', join(projectRoot, 'bench', 'results'))
  .option(
    '--profile <dir>',
    'run the worker under --cpu-prof: its .cpuprofile is written to <dir> when it stops',
  )
  .parse(process.argv.slice(2), { from: 'user' });
const options = program.opts<{
  records: number;
  quick?: boolean;
  repeat: number;
  postgresUrl?: string;
  shapes: Shape[];
  phases: Phase[];
  out: string;
  profile?: string;
}>();
const records =
  options.quick === true && program.getOptionValueSource('records') === 'default'
    ? quickRecords
    : options.records;
const selected = new Set(options.phases);
if ((selected.has('unchanged') || selected.has('changed')) && !selected.has('first'))
  program.error('--phases: unchanged and changed re-load what first loads: add first');

await main();

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg()[0] ?? 0;
  console.log(
    `bench:e2e — ${records.toLocaleString('en')} call records; starting Postgres, Temporal, the bundle…`,
  );
  const scratch = await mkdtemp(join(tmpdir(), 'durable-ingest-bench-e2e-'));
  let harness: Harness | undefined;
  try {
    harness = await openHarness({
      records,
      postgresUrl: options.postgresUrl,
      scratch,
      profileDir: options.profile === undefined ? undefined : resolve(options.profile),
    });
    const h = harness;
    const measured = await (async () => {
      const empty = selected.has('empty') ? await runEmpty(h) : undefined;
      const results: ShapeResult[] = [];
      for (const shape of options.shapes) results.push(await runShape(h, shape, scratch));
      return { empty, results };
    })().catch((error: unknown) => {
      console.error(`the worker's last log lines:\n${h.workerOutput().slice(-4000)}`);
      throw error;
    });
    const e2e = {
      startedAt,
      records,
      commit: commitOf(),
      machine: {
        cpus: cpus().length,
        memoryBytes: totalmem(),
        node: process.version,
        loadAverage: { before: loadBefore, after: loadavg()[0] ?? 0 },
      },
      postgres: h.postgres,
      worker: { idleRssBytes: h.idleRssBytes, peakRssBytes: (await processMemory(h.workerPid)).peak },
      shapes: measured.results,
      ...(measured.empty === undefined ? {} : { empty: measured.empty }),
    };
    const verdictList = verdicts(e2e);
    printResults(e2e, verdictList);
    console.log(
      `load average (1 min): ${loadBefore.toFixed(2)} before, ${e2e.machine.loadAverage.after.toFixed(2)} after; ` +
        `commit ${e2e.commit}; ${h.postgres}`,
    );
    console.log(`figures written to ${await writeResults(resolve(options.out), e2e, verdictList)}`);
    // `npm run bench` reports a benchmark that missed a target by its exit code.
    if (verdictList.some((verdict) => !verdict.pass)) process.exitCode = 1;
  } finally {
    await harness?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

function log(run: RunFigures): void {
  console.log(
    `${run.label}: ${seconds(run.wallMs)}${run.swapped ? ' (swapped in)' : ''}, WAL ${megabytes(run.walBytes)}, ` +
      `rows written ${run.rowsWritten ?? 'n/a'}, worker peak RSS ${megabytes(run.worker.peakRssBytes)}, ` +
      `counts ${JSON.stringify(run.counts)}`,
  );
}

/**
 * `--repeat` pairs of a first load into the empty table and its COPY baseline, back to back, then the unchanged and
 * all-changed re-loads of one shape.
 */
async function runShape(h: Harness, shape: Shape, scratch: string): Promise<ShapeResult> {
  if (!selected.has('first')) return { shape, pairs: [] };
  const { db } = h;
  const input = { source: callRecords.source, resources: [callRecords.resource] };
  const run = async (label: string) => {
    const figures = await measureRun(h.meters, `${shape}: ${label}`, input, callRecordsTable);
    log(figures);
    return figures;
  };
  await h.useShape(shape);
  const pairs: LoadPair[] = [];
  let file: { readonly path: string; readonly bytes: number } | undefined;
  for (let pair = 1; pair <= options.repeat; pair++) {
    const which = options.repeat === 1 ? '' : ` (pair ${pair})`;
    await h.useRevision(1);
    await sql`TRUNCATE ${sql.table(callRecordsTable)}`.execute(db);
    await sql`CHECKPOINT`.execute(db);
    const first = await run(`first load${which}`);
    expectCounts(first, { fetched: records, inserted: records });
    // Untimed: the fresh table's vacuum and statistics now, or autovacuum would do them during the baseline.
    await sql`VACUUM ANALYZE ${sql.table(callRecordsTable)}`.execute(db);
    file ??= await writeCopyFile(h.databaseUrl, scratch, callRecordsTable);
    const loadAverage = loadavg()[0] ?? 0;
    const copy: CopyFigures = {
      ...(await runCopyBaseline(db, h.databaseUrl, file.path, { table: callRecordsTable, rows: records })),
      fileBytes: file.bytes,
      loadAverage,
    };
    console.log(`${shape}: COPY baseline${which}: ${seconds(copy.ms)}, WAL ${megabytes(copy.walBytes)}`);
    pairs.push({ first, copy });
  }

  let unchanged: RunFigures | undefined;
  if (selected.has('unchanged')) {
    // The steady state a re-load meets: statistics and the visibility map up to date (autovacuum's work).
    await sql`VACUUM ANALYZE ${sql.table(callRecordsTable)}`.execute(db);
    await sql`CHECKPOINT`.execute(db);
    unchanged = await run('unchanged re-load');
    expectCounts(unchanged, { fetched: records, unchanged: records, inserted: 0, updated: 0 });
  }
  let changed: RunFigures | undefined;
  if (selected.has('changed')) {
    await h.useRevision(2);
    await sql`CHECKPOINT`.execute(db);
    changed = await run('all-changed re-load');
    expectCounts(changed, { fetched: records, updated: records, inserted: 0 });
  }
  return {
    shape,
    pairs,
    ...(unchanged === undefined ? {} : { unchanged }),
    ...(changed === undefined ? {} : { changed }),
  };
}

/** The empty resources: a first run that creates their tables, then the timed runs. */
async function runEmpty(h: Harness): Promise<EmptyResult> {
  const input = { source: emptySource };
  const all: RunFigures[] = [];
  for (let index = 0; index <= emptyRuns; index++) {
    const label = index === 0 ? 'first run, creating their tables' : `run ${index}`;
    const figures = await measureRun(h.meters, `${emptyResourceCount} empty resources: ${label}`, input);
    log(figures);
    if (figures.resources !== emptyResourceCount)
      throw new Error(`${figures.label}: ${figures.resources} resources ran, not ${emptyResourceCount}`);
    expectCounts(figures, { fetched: 0 });
    all.push(figures);
  }
  const [creating, ...runs] = all as [RunFigures, ...RunFigures[]];
  return { creating, runs, medianMs: median(runs.map((r) => r.wallMs)) };
}

/**
 * The commit measured, `+dirty` when the working tree has changes. Read-only git commands: `status` without its
 * optional index refresh, which would take the index lock another git command in this tree may need.
 */
function commitOf(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['--no-optional-locks', ...args], { cwd: projectRoot, encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain') === '' ? head : `${head}+dirty`;
  } catch {
    return 'unknown';
  }
}
