/**
 * What the suite prints: one line per case as it finishes (outcome, duration, key numbers), then a table of every
 * case, then — when a check failed — what differed, check by check. Nothing printed here may hold a secret: the
 * checks describe where a key was found, never the key.
 */
import type { CaseRun } from './case.ts';
import type { CheckResult } from './checks/result.ts';

/** A case and what its checks found. */
export interface CaseVerdict {
  readonly run: CaseRun;
  readonly checks: readonly CheckResult[];
  /** The whole case: set-up, runs and checks. */
  readonly durationMs: number;
}

const passed = (verdict: CaseVerdict) => verdict.checks.every((check) => check.problems.length === 0);

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function factsOf(verdict: CaseVerdict, check: string): string {
  return verdict.checks.find((c) => c.check === check)?.facts ?? '—';
}

/** The case's one line. */
export function caseLine(verdict: CaseVerdict): string {
  const { run } = verdict;
  const { tally } = run;
  return [
    `case ${run.spec.name}: ${passed(verdict) ? 'PASS' : 'FAIL'} in ${seconds(verdict.durationMs)}`,
    `${factsOf(verdict, 'disruptions')}${run.spec.storm ? ', storm' : ''}`,
    `${tally.requests} requests (${tally.faults} faulted, ${tally.otherOrigin} to the other origin)`,
    factsOf(verdict, 'ledger'),
    factsOf(verdict, 'tables'),
    `Retry-After: ${factsOf(verdict, 'retry-after')}`,
    `SMS: ${factsOf(verdict, 'sends')}`,
    `swept ${factsOf(verdict, 'secrets')}`,
  ].join(' — ');
}

/** The final table, one row per case. */
export function summaryTable(verdicts: readonly CaseVerdict[], totalMs: number): string {
  const rows = verdicts.map((verdict) => [
    verdict.run.spec.name,
    passed(verdict) ? 'PASS' : 'FAIL',
    seconds(verdict.durationMs),
    seconds(verdict.run.runMs),
    String(verdict.run.landed.filter((d) => d.kind === 'kill').length),
    String(verdict.run.landed.filter((d) => d.kind === 'postgres-stop').length),
    verdict.run.spec.storm ? 'on' : 'off',
    String(verdict.run.tally.requests),
    String(verdict.run.tally.faults),
    factsOf(verdict, 'ledger'),
  ]);
  const header = [
    'case',
    'outcome',
    'duration',
    'runs',
    'kills',
    'pg stops',
    'storm',
    'requests',
    'faults',
    'loads',
  ];
  const all = verdicts.every(passed);
  const footer = ['total', all ? 'PASS' : 'FAIL', seconds(totalMs), '', '', '', '', '', '', ''];
  const table = [header, ...rows, footer];
  const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(header), rule, ...rows.map(line), rule, line(footer)].join('\n');
}

/** What differed, per failed case and check. */
export function differences(verdicts: readonly CaseVerdict[]): string {
  const out: string[] = [];
  for (const verdict of verdicts.filter((v) => !passed(v))) {
    out.push(`case ${verdict.run.spec.name}:`);
    for (const check of verdict.checks.filter((c) => c.problems.length > 0)) {
      out.push(`  ${check.check}:`);
      for (const problem of check.problems.slice(0, 20)) out.push(`    - ${problem}`);
      if (check.problems.length > 20) out.push(`    … and ${check.problems.length - 20} more`);
    }
  }
  return out.join('\n');
}

/** True when every check of every case passed. */
export function allPassed(verdicts: readonly CaseVerdict[]): boolean {
  return verdicts.every(passed);
}
