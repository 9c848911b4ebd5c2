/**
 * What `npm start` shows while it works: the sources it does not run and why, each run's resources as they finish
 * (from the workflow's `progress` query), then a summary table with where everything runs. Output is for a person
 * on a terminal.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describeError } from '../errors.ts';
import type { LocalStack } from '../local/stack.ts';
import type { IngestProgress, LoadReport, ResourceReport } from '../shared/ingest-types.ts';
import { taskQueue } from '../shared/names.ts';
import type { ingestSource } from '../workflows/index.ts';
import type { NotRun } from './sources.ts';

const say = (line = '') => process.stdout.write(`${line}\n`);

/**
 * Starts one run of `source`, prints each resource as it finishes, and returns the report (failed runs too). When
 * a run from an earlier `npm start` is still going (stopped mid-run, resumed by this worker), it waits for that one
 * instead: one run per source at a time.
 */
export async function ingestOnce(client: Client, source: string): Promise<LoadReport> {
  const started = await client.workflow.start<typeof ingestSource>('ingestSource', {
    taskQueue,
    workflowId: `ingest/${source}/${new Date().toISOString()}`,
    args: [{ source }],
    // The run's line in the Temporal Web UI (the workflow itself adds its phase and counts as current details).
    staticSummary: `ingest ${source} · all resources · trigger: npm start`,
  });
  try {
    return await followRun(client, source, started.workflowId);
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
    const facts =
      cause instanceof ApplicationFailure ? (cause.details?.[0] as BusyFacts | undefined) : undefined;
    const holder =
      cause instanceof ApplicationFailure && cause.type === 'SOURCE_BUSY' ? facts?.details : undefined;
    if (holder?.workflowId === undefined) throw error;
    say(`  ${source}: a run from before is still going (${holder.workflowId}); following it instead`);
    return followRun(client, source, holder.workflowId, holder.runId);
  }
}

/** How one source's run ended: its report, or why it has none (e.g. it failed while planning). */
export interface RunOutcome {
  readonly source: string;
  readonly report?: LoadReport;
  readonly failure?: string;
}

/** Runs every source in `sources` at once; one failing never stops the others. */
export async function ingestEach(client: Client, sources: readonly string[]): Promise<RunOutcome[]> {
  return Promise.all(
    sources.map((source) =>
      ingestOnce(client, source).then(
        (report): RunOutcome => ({ source, report }),
        (error: unknown): RunOutcome => {
          const failure = describeError(
            error instanceof WorkflowFailedError ? (error.cause ?? error) : error,
          );
          say(`  ${source}: failed — ${failure}`);
          return { source, failure };
        },
      ),
    ),
  );
}

/** Lists the sources that are not run, with why. */
export function printNotRun(notRun: readonly NotRun[]): void {
  if (notRun.length === 0) return;
  say('Not run:');
  for (const { source, reason } of notRun) say(`  ${source}: ${reason}`);
}

interface BusyFacts {
  readonly details?: { readonly workflowId?: string; readonly runId?: string };
}

/** Prints a run's resources as they finish and returns its report (from its failure's details when it failed). */
async function followRun(
  client: Client,
  source: string,
  workflowId: string,
  runId?: string,
): Promise<LoadReport> {
  const handle = client.workflow.getHandle<typeof ingestSource>(workflowId, runId);
  const printed = new Set<string>();
  const printNew = (resources: readonly ResourceReport[]) => {
    for (const report of resources) {
      if (report.status === 'pending' || report.status === 'running' || printed.has(report.resource))
        continue;
      printed.add(report.resource);
      say(`  ${source}.${report.resource}: ${describeReport(report)}`);
    }
  };
  // One progress query at a time, and the last one awaited before returning: the worker (which answers queries)
  // and the connection are shut down after this returns, and a query still in flight then — waiting in the gRPC
  // client's retry back-off — would throw "Channel has been shut down" from its timer and crash the process.
  let inflight: Promise<void> | undefined;
  const poll = setInterval(() => {
    if (inflight !== undefined) return;
    inflight = handle
      .query<IngestProgress>('progress')
      .then((progress) => printNew(progress.resources))
      .catch(() => undefined)
      .finally(() => {
        inflight = undefined;
      });
  }, 500);
  try {
    const report = await handle.result();
    printNew(report.resources);
    return report;
  } catch (error) {
    const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
    const details =
      cause instanceof ApplicationFailure ? (cause.details?.[0] as LoadReport | undefined) : undefined;
    if (details?.resources) {
      printNew(details.resources);
      return details;
    }
    throw error;
  } finally {
    clearInterval(poll);
    await inflight;
  }
}

function describeReport(report: ResourceReport): string {
  if (report.status === 'ok') {
    const c = report.counts;
    return `ok — ${c.fetched} fetched, ${c.inserted} new, ${c.updated} changed, ${c.unchanged} unchanged`;
  }
  return `${report.status} — ${report.reason?.message ?? ''}`;
}

export function printSummary(
  running: LocalStack,
  outcomes: readonly RunOutcome[],
  notRun: readonly NotRun[] = [],
): void {
  const reports = outcomes.flatMap((outcome) => (outcome.report === undefined ? [] : [outcome.report]));
  const { temporal, postgres } = running;
  const origin = (managed: boolean) => (managed ? 'started here' : 'from the environment');
  const header = [
    'source',
    'resource',
    'status',
    'fetched',
    'new',
    'changed',
    'unchanged',
    'rejected',
    'pages',
  ];
  const rows = reports.flatMap((report) =>
    report.resources.map((r) => [
      report.source,
      r.resource,
      r.status,
      ...[
        r.counts.fetched,
        r.counts.inserted,
        r.counts.updated,
        r.counts.unchanged,
        r.counts.rejected,
        r.counts.pages,
      ].map(String),
    ]),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `  ${cells.map((cell, i) => (i >= 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ')}`;
  say('');
  say('Summary');
  say(line(header));
  for (const row of rows) say(line(row));
  for (const outcome of outcomes) {
    const { source, report, failure } = outcome;
    say(
      `  ${source}: ${report === undefined ? `failed — ${failure ?? 'no report'}` : `${report.outcome} (load ${report.loadId})`}`,
    );
  }
  for (const { source, reason } of notRun) say(`  ${source}: not run — ${reason}`);
  const skipped = reports.flatMap((report) => report.resources.filter((r) => r.status === 'skipped'));
  if (skipped.length > 0) say('  Skipped resources are listed with their reason above.');
  say('');
  say('Ready.');
  say(
    `  Temporal UI        ${temporal.uiUrl ?? '(not available: set TEMPORAL_UI_URL for an external server)'}`,
  );
  say(
    `  Temporal address   ${temporal.address}  namespace ${temporal.namespace}  (${origin(temporal.managed)})`,
  );
  // Never the password: an embedded cluster's is in its pgpass file, DATABASE_URL's is the user's own.
  const { displayUrl, passwordFile } = postgres;
  say(
    `  Postgres           ${displayUrl}  (${origin(postgres.managed)}${passwordFile === undefined ? '' : `; password in ${passwordFile}`})`,
  );
  say(`  Worker             task queue "${taskQueue}"`);
  say(
    passwordFile === undefined
      ? `  Try                psql "$DATABASE_URL" -c 'SELECT * FROM ingest.loads'`
      : `  Try                PGPASSFILE='${passwordFile}' psql '${displayUrl}' -c 'SELECT * FROM ingest.loads'`,
  );
}
