/**
 * The ledger is consistent with what happened: each run's load is closed (never left running or abandoned) with the
 * status its report says, every resource run closed with its report's status and counts, and the counts add up to
 * the sandbox's data — a first load of a dataset resource fetched and inserted exactly its records, however many
 * times its pages were fetched again. The only failure allowed is the one the product owes an honest answer about:
 * an SMS whose reply a crash lost (`SEND_OUTCOME_UNKNOWN`), its intent then `unknown`. Nothing a run keeps only
 * while it runs (checkpoints, child work lists) is left behind. (Its child `messages` then fails `PARENT_FAILED`
 * without running, so without a resource run of its own.)
 */
import type pg from 'pg';
import {
  communicationsResources,
  isSandboxResource,
  messagingResources,
} from '../../../src/sandbox/resources.ts';
import type { Sandbox } from '../../../src/sandbox/server.ts';
import type { ResourceReport, ResourceStatus } from '../../../src/shared/ingest-types.ts';
import type { CheckResult, RunOutcome } from './result.ts';

/** A resource's report status → its ledger status. */
const runStatusOf: Readonly<Record<ResourceStatus, string>> = {
  pending: 'running',
  running: 'running',
  ok: 'succeeded',
  failed: 'failed',
  skipped: 'skipped',
};
const loadStatusOf = { ok: 'succeeded', partial: 'partial', failed: 'failed' } as const;

/**
 * The failures the product may report under chaos: an SMS whose reply was lost (never sent again), and then its
 * child, which has no parent record to resolve in this run.
 */
const allowedFailures: readonly (readonly [resource: string, code: string])[] = [
  ['sms', 'SEND_OUTCOME_UNKNOWN'],
  ['messages', 'PARENT_FAILED'],
];

/** A resource that never ran (its parent failed) has no resource run. */
const neverRan = (report: ResourceReport) => report.reason?.code === 'PARENT_FAILED';

export interface LedgerInput {
  readonly client: pg.Client;
  readonly sandbox: Sandbox;
  readonly runs: readonly RunOutcome[];
}

interface LedgerRun {
  readonly resource: string;
  readonly status: string;
  readonly fetched: string;
  readonly inserted: string;
  readonly updated: string;
  readonly unchanged: string;
  readonly deleted: string;
  readonly rejected: string;
  readonly finished: boolean;
}

/** Checks the ledger of the case's database against the runs' reports and the sandbox's data. */
export async function checkLedger(input: LedgerInput): Promise<CheckResult> {
  const problems: string[] = [];
  const { client } = input;
  for (const run of input.runs) {
    const { report, source } = run;
    if (report === undefined) {
      problems.push(`${source}: the run left no report (${run.failure ?? 'no failure either'})`);
      continue;
    }
    for (const failed of report.resources.filter((r) => r.status === 'failed')) {
      if (
        !allowedFailures.some(
          ([resource, code]) => failed.resource === resource && failed.reason?.code === code,
        )
      )
        problems.push(
          `${source}.${failed.resource} failed: ${failed.reason?.code} ${failed.reason?.message}`,
        );
    }
    const loads = await client.query<{ load_id: string; status: string; finished: boolean; report: unknown }>(
      `SELECT load_id, status, finished_at IS NOT NULL AS finished, report FROM ingest.loads WHERE workflow_id = $1`,
      [run.workflowId],
    );
    const load = loads.rows[0];
    if (loads.rows.length !== 1 || load === undefined) {
      problems.push(`${source}: ${loads.rows.length} loads for workflow ${run.workflowId}, expected 1`);
      continue;
    }
    if (load.status !== loadStatusOf[report.outcome] || !load.finished)
      problems.push(`${source}: load ${load.load_id} is ${load.status}, its run ended ${report.outcome}`);
    const stored = load.report as { outcome?: string; resources?: readonly ResourceReport[] } | null;
    if (stored?.outcome !== report.outcome || !sameStatuses(stored.resources ?? [], report.resources))
      problems.push(`${source}: the load's stored report differs from the run's result`);
    const runs = await client.query<LedgerRun>(
      `SELECT resource, status, fetched, inserted, updated, unchanged, deleted, rejected,
              finished_at IS NOT NULL AS finished
       FROM ingest.resource_runs WHERE load_id = $1`,
      [load.load_id],
    );
    const ledger = new Map(runs.rows.map((row) => [row.resource, row]));
    const ran = report.resources.filter((resource) => !neverRan(resource));
    if (ledger.size !== ran.length)
      problems.push(
        `${source}: ${ledger.size} resource runs, the report has ${ran.length} resources that ran`,
      );
    for (const resource of ran) {
      problems.push(...compareRun(source, resource, ledger.get(resource.resource), input.sandbox));
    }
    if (source === 'messaging') problems.push(...(await checkIntent(client, load.load_id, report.resources)));
  }
  problems.push(...(await leftovers(client)));
  const outcomes = input.runs.map((run) => `${run.source} ${run.report?.outcome ?? 'no report'}`);
  return { check: 'ledger', problems, facts: outcomes.join(', ') };
}

function sameStatuses(a: readonly ResourceReport[], b: readonly ResourceReport[]): boolean {
  const text = (reports: readonly ResourceReport[]) =>
    reports
      .map((r) => `${r.resource}:${r.status}`)
      .sort()
      .join(',');
  return text(a) === text(b);
}

/** One resource: its ledger row against its report, and a first load's counts against the sandbox. */
function compareRun(
  source: string,
  report: ResourceReport,
  row: LedgerRun | undefined,
  sandbox: Sandbox,
): string[] {
  const name = `${source}.${report.resource}`;
  if (row === undefined) return [`${name}: no resource run in the ledger`];
  const problems: string[] = [];
  if (row.status !== runStatusOf[report.status] || !row.finished)
    problems.push(
      `${name}: the ledger says ${row.status}${row.finished ? '' : ' (not finished)'}, the report ${report.status}`,
    );
  if (report.status !== 'ok') return problems;
  const ledger = {
    fetched: Number(row.fetched) + Number(row.rejected),
    inserted: Number(row.inserted),
    updated: Number(row.updated),
    unchanged: Number(row.unchanged),
    deleted: Number(row.deleted),
    rejected: Number(row.rejected),
  };
  for (const [count, value] of Object.entries(ledger)) {
    const reported = report.counts[count as keyof typeof ledger];
    if (reported !== value)
      problems.push(`${name}: ${count} ${value} in the ledger, ${reported} in the report`);
  }
  const served = datasetCount(sandbox, report.resource) ?? (report.resource === 'sms' ? 1 : undefined);
  if (served !== undefined) {
    const expected = { fetched: served, inserted: served, updated: 0, unchanged: 0, deleted: 0, rejected: 0 };
    const got = Object.entries(expected).filter(
      ([count, value]) => ledger[count as keyof typeof ledger] !== value,
    );
    if (got.length > 0)
      problems.push(
        `${name}: a first load of ${served} records counted ${got.map(([count]) => `${count} ${ledger[count as keyof typeof ledger]}`).join(', ')}`,
      );
  }
  return problems;
}

function datasetCount(sandbox: Sandbox, resource: string): number | undefined {
  const datasets: readonly string[] = [...communicationsResources, ...messagingResources];
  return datasets.includes(resource) && isSandboxResource(resource)
    ? sandbox.dataset.count(resource)
    : undefined;
}

/** The SMS intent tells the same story as the report: `sent` when it succeeded, `unknown` when its reply was lost. */
async function checkIntent(
  client: pg.Client,
  loadId: string,
  resources: readonly ResourceReport[],
): Promise<string[]> {
  const sms = resources.find((r) => r.resource === 'sms');
  if (sms === undefined || sms.status === 'skipped') return [];
  const intents = await client.query<{ status: string }>(
    `SELECT status FROM ingest.send_intents WHERE load_id = $1 AND resource = 'sms'`,
    [loadId],
  );
  const expected = sms.status === 'ok' ? 'sent' : 'unknown';
  const found = intents.rows.map((row) => row.status);
  return found.length === 1 && found[0] === expected
    ? []
    : [`messaging.sms is ${sms.status} but its intents are [${found.join(', ')}], expected [${expected}]`];
}

/** What no closed load may leave: a load or resource run still open, checkpoints, child work lists. */
async function leftovers(client: pg.Client): Promise<string[]> {
  const counts = await client.query<Record<string, string>>(`
    SELECT (SELECT count(*) FROM ingest.loads WHERE status IN ('running', 'abandoned')) AS "open or abandoned loads",
           (SELECT count(*) FROM ingest.resource_runs WHERE status IN ('running', 'abandoned'))
             AS "open or abandoned resource runs",
           (SELECT count(*) FROM ingest.checkpoints) AS "checkpoints",
           (SELECT count(*) FROM ingest.parent_records) AS "parent records",
           (SELECT count(*) FROM ingest.child_items) AS "child work items"`);
  return Object.entries(counts.rows[0] ?? {})
    .filter(([, count]) => Number(count) > 0)
    .map(([what, count]) => `${count} ${what} left`);
}
