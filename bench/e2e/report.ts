/**
 * What `bench:e2e` reports: its results, the table it prints (the shape of bench/RESULTS.md's), its targets with a
 * PASS/FAIL verdict each — flagged "(under load)" when the machine was busier than its cores at the start of any
 * phase — and the JSON file of the run. The targets are stated for 1 M records (issue #25). With `--repeat N`, a
 * shape's first load and its COPY baseline are N back-to-back pairs: the ratio is the median of the pairs', and the
 * re-loads are compared with the median first load and the median COPY.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CopyRun } from '../shared/postgres.ts';
import { cpuSeconds, median, megabytes, rate, seconds } from '../shared/figures.ts';
import type { RunFigures } from './measure.ts';
import { emptyResourceCount, type Shape } from './sources.ts';

export const targets = {
  /** A first load's throughput against COPY's, both shapes. */
  firstLoadVsCopy: 0.6,
  /** An unchanged re-load's WAL: "about none". */
  unchangedWalBytes: 1e6,
  /** An unchanged re-load's time against the first load's. */
  unchangedVsFirst: 0.35,
  /** An all-changed re-load's throughput against COPY's. */
  changedVsCopy: 0.4,
  /** The worker's peak resident memory while it loads the single page, absolute and against its idle size. */
  singlePagePeakRssBytes: 300e6,
  singlePageRssVsIdle: 1.3,
  /** A whole run of the empty resources. */
  emptyRunMs: 1500,
} as const;

/** COPY of the first load's rows into a same-shaped table, right after the first load. */
export type CopyFigures = CopyRun & {
  readonly fileBytes: number;
  /** The machine's 1-minute load average when the COPY started. */
  readonly loadAverage: number;
};

/** A first load into the empty table and, right after it, its COPY baseline. */
export interface LoadPair {
  readonly first: RunFigures;
  readonly copy: CopyFigures;
}

/** The phases of one shape; each present when it ran. */
export interface ShapeResult {
  readonly shape: Shape;
  /** The first load and its baseline, `--repeat` times back to back (empty when the first load did not run). */
  readonly pairs: readonly LoadPair[];
  readonly unchanged?: RunFigures;
  readonly changed?: RunFigures;
}

/** The median figures of a shape's pairs: first-load time, COPY time, and the median of the pairs' ratios. */
export function pairMedians(
  pairs: readonly LoadPair[],
): { readonly firstMs: number; readonly copyMs: number; readonly ratio: number } | undefined {
  if (pairs.length === 0) return undefined;
  return {
    firstMs: median(pairs.map((p) => p.first.wallMs)),
    copyMs: median(pairs.map((p) => p.copy.ms)),
    ratio: median(pairs.map((p) => p.copy.ms / p.first.wallMs)),
  };
}

/** The empty resources: the first run (which creates their tables) and the timed runs after it. */
export interface EmptyResult {
  readonly creating: RunFigures;
  readonly runs: readonly RunFigures[];
  readonly medianMs: number;
}

export interface E2eResults {
  readonly startedAt: string;
  readonly records: number;
  readonly commit: string;
  readonly machine: {
    readonly cpus: number;
    readonly memoryBytes: number;
    readonly node: string;
    /** 1-minute load average before and after (each phase's own is in its figures). */
    readonly loadAverage: { readonly before: number; readonly after: number };
  };
  readonly postgres: string;
  readonly worker: {
    /** Resident memory after start-up, before any run (median of 1 s of samples). */
    readonly idleRssBytes: number;
    /** The worker's own peak (`VmHWM`) at the end of the run. */
    readonly peakRssBytes: number;
  };
  readonly shapes: readonly ShapeResult[];
  readonly empty?: EmptyResult;
}

export interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean;
  /** Some phase started with the 1-minute load average above the CPU count: the figures are not the machine's own. */
  readonly underLoad: boolean;
}

const times = (ratio: number) => `${ratio.toFixed(2)}×`;

/** The 1-minute load average at the start of every phase of the run (runs and COPYs). */
export function phaseLoads(results: E2eResults): number[] {
  const runs = results.shapes.flatMap(({ pairs, unchanged, changed }) => [
    ...pairs.flatMap((p) => [p.first.loadAverage, p.copy.loadAverage]),
    ...[unchanged, changed].flatMap((run) => (run === undefined ? [] : [run.loadAverage])),
  ]);
  const empty = results.empty === undefined ? [] : [results.empty.creating, ...results.empty.runs];
  return [...runs, ...empty.map((run) => run.loadAverage)];
}

/** Every target the run has the figures for. */
export function verdicts(results: E2eResults): Verdict[] {
  const underLoad = phaseLoads(results).some((load) => load > results.machine.cpus);
  const out: Omit<Verdict, 'underLoad'>[] = [];
  for (const { shape, pairs, unchanged, changed } of results.shapes) {
    const medians = pairMedians(pairs);
    if (medians !== undefined) {
      out.push({
        target: `${shape}: first load ≥ ${targets.firstLoadVsCopy}× COPY`,
        measured:
          pairs.length === 1
            ? times(medians.ratio)
            : `${times(medians.ratio)} (median of ${pairs.length} pairs: ` +
              `${pairs.map((p) => times(p.copy.ms / p.first.wallMs)).join(', ')})`,
        pass: medians.ratio >= targets.firstLoadVsCopy,
      });
    }
    if (unchanged !== undefined) {
      out.push({
        target: `${shape}: unchanged re-load rewrites 0 rows`,
        measured: String(unchanged.rowsWritten),
        pass: unchanged.rowsWritten === 0,
      });
      out.push({
        target: `${shape}: unchanged re-load ~0 WAL (< ${megabytes(targets.unchangedWalBytes)})`,
        measured: `${unchanged.walBytes.toLocaleString('en')} bytes`,
        pass: unchanged.walBytes < targets.unchangedWalBytes,
      });
      if (medians !== undefined) {
        const ratio = unchanged.wallMs / medians.firstMs;
        out.push({
          target: `${shape}: unchanged re-load ≤ ${targets.unchangedVsFirst}× the first load's time`,
          measured: times(ratio),
          pass: ratio <= targets.unchangedVsFirst,
        });
      }
    }
    if (changed !== undefined && medians !== undefined) {
      const ratio = medians.copyMs / changed.wallMs;
      out.push({
        target: `${shape}: all-changed re-load ≥ ${targets.changedVsCopy}× COPY`,
        measured: times(ratio),
        pass: ratio >= targets.changedVsCopy,
      });
    }
    if (shape === 'single') {
      const runs = [...pairs.map((p) => p.first), unchanged, changed];
      const peak = Math.max(0, ...runs.map((run) => run?.worker.peakRssBytes ?? 0));
      if (peak > 0) {
        const idle = results.worker.idleRssBytes;
        out.push({
          target: `single: worker peak RSS ≤ ${megabytes(targets.singlePagePeakRssBytes)}`,
          measured: megabytes(peak),
          pass: peak <= targets.singlePagePeakRssBytes,
        });
        out.push({
          target: `single: worker peak RSS ≤ ${targets.singlePageRssVsIdle}× idle (${megabytes(idle)})`,
          measured: times(peak / idle),
          pass: peak <= targets.singlePageRssVsIdle * idle,
        });
      }
    }
  }
  if (results.empty !== undefined) {
    out.push({
      target: `${emptyResourceCount} empty resources: the whole run ≤ ${seconds(targets.emptyRunMs)}`,
      measured: `${(results.empty.medianMs / 1000).toFixed(2)} s (median of ${results.empty.runs.length})`,
      pass: results.empty.medianMs <= targets.emptyRunMs,
    });
  }
  return out.map((verdict) => ({ ...verdict, underLoad }));
}

/** The results as a Markdown table, then the verdicts. */
export function printResults(results: E2eResults, verdictList: readonly Verdict[]): void {
  const n = results.records;
  console.log('');
  console.log(
    '| phase | rows | wall | rows/s | × COPY | rows rewritten (xmin) | WAL | worker peak RSS | worker CPU | Postgres CPU | API CPU | inserted / updated / unchanged |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const row = (label: string, run: RunFigures, rows: number, copyMs: number | undefined) =>
    console.log(
      `| ${label} | ${rows.toLocaleString('en')} | ${seconds(run.wallMs)}${run.swapped ? ' (swapped in)' : ''} | ` +
        `${rows === 0 ? '' : rate(rows, run.wallMs)} | ${copyMs === undefined ? '' : times(copyMs / run.wallMs)} | ` +
        `${run.rowsWritten?.toLocaleString('en') ?? ''} | ${megabytes(run.walBytes)} | ` +
        `${megabytes(run.worker.peakRssBytes)} | ${seconds(run.worker.cpuMs)} | ${cpuSeconds(run.postgresCpuMs)} | ` +
        `${seconds(run.apiCpuMs)} | ${run.counts.inserted} / ${run.counts.updated} / ${run.counts.unchanged} |`,
    );
  if (results.empty !== undefined) {
    const { creating, runs } = results.empty;
    row(`${emptyResourceCount} empty resources, first run (creates their tables)`, creating, 0, undefined);
    runs.forEach((run, index) =>
      row(`${emptyResourceCount} empty resources, run ${index + 1}`, run, 0, undefined),
    );
  }
  for (const { shape, pairs, unchanged, changed } of results.shapes) {
    const name = shape === 'single' ? 'single page' : 'paged (1,000 per page)';
    pairs.forEach(({ first, copy }, index) => {
      const pair = pairs.length === 1 ? '' : ` (pair ${index + 1})`;
      row(`${name}: first load${pair}`, first, n, copy.ms);
      console.log(
        `| ${name}: COPY baseline${pair} (psql \\copy of a ${megabytes(copy.fileBytes)} TSV) | ${n.toLocaleString('en')} | ` +
          `${seconds(copy.ms)} | ${rate(n, copy.ms)} | 1.00× | ${n.toLocaleString('en')} | ${megabytes(copy.walBytes)} | ` +
          `| | ${cpuSeconds(copy.pgCpuMs)} | | |`,
      );
    });
    const copyMs = pairMedians(pairs)?.copyMs;
    if (unchanged !== undefined) row(`${name}: unchanged re-load`, unchanged, n, copyMs);
    if (changed !== undefined) row(`${name}: all-changed re-load`, changed, n, copyMs);
  }
  console.log('');
  console.log(
    `worker RSS: idle ${megabytes(results.worker.idleRssBytes)} after start-up, peak ${megabytes(results.worker.peakRssBytes)} (VmHWM)`,
  );
  if (results.records !== 1_000_000)
    console.log(`(the targets are stated for 1,000,000 records, not ${n.toLocaleString('en')})`);
  const loads = phaseLoads(results);
  if (verdictList.some((verdict) => verdict.underLoad)) {
    console.log(
      `(under load: the 1-minute load average at a phase's start reached ${Math.max(...loads).toFixed(2)}, ` +
        `above the ${results.machine.cpus} CPUs — the figures are not this machine's own)`,
    );
  }
  for (const verdict of verdictList) {
    console.log(
      `target ${verdict.target}: ${verdict.pass ? 'PASS' : 'FAIL'} (${verdict.measured})` +
        `${verdict.underLoad ? ' (under load)' : ''}`,
    );
  }
}

/** Writes `e2e-<timestamp>.json` into `dir` (created if missing); returns its path. */
export async function writeResults(
  dir: string,
  results: E2eResults,
  verdictList: readonly Verdict[],
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `e2e-${results.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(path, `${JSON.stringify({ ...results, targets, verdicts: verdictList }, null, 2)}\n`);
  return path;
}
