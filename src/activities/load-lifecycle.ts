/**
 * `beginLoad` and `finishLoad`: the two ends of a run in the ledger, and the source's lease between them.
 *
 * The lease is the run's `running` load row (a unique index allows one per source). `beginLoad` first looks at the
 * source's running loads: one whose workflow run has ended (terminated, timed out, its worker killed for good) is
 * reconciled as `abandoned`; one whose run is still going means the source is busy, and this run fails fast with
 * `SOURCE_BUSY` naming the other run. Two runs that start at the same instant meet at the unique index instead.
 * `finishLoad` closes the load with the workflow's report, which releases the lease, and drops what the load kept
 * only while it ran (the staging of every resource that did not merge, checkpoints, child work). Once the lease is
 * taken, `beginLoad` also cleans up after the source's earlier loads: what a closed load still holds (a staging
 * `finishLoad` found locked), rejected records older than the source's retention (`rejected_records.retention_days`,
 * default 30 days), and ledger rows older than the worker's ledger retention (`ledgerRetentionDays`, default 180
 * days; docs/loading.md).
 */
import type { Kysely } from 'kysely';
import { finishLoad as closeLoad, reconcileAbandonedLoads, startLoad } from '../db/ledger/ledger.ts';
import { defaultRejectedRetentionDays, purgeRejectedRecords } from '../db/ledger/rejected-records.ts';
import { defaultLedgerRetentionDays, purgeLedger, sweepClosedLoads } from '../db/ledger/retention.ts';
import type { Database } from '../db/schema.ts';
import { IngestError } from '../errors.ts';
import type {
  BeginLoadInput,
  BeginLoadResult,
  FinishLoadInput,
  IngestOutcome,
} from '../shared/ingest-types.ts';

/** Tells whether a workflow run is still running (the Temporal client's describe, in production). */
export type RunStatusLookup = (workflowId: string, runId: string) => Promise<'running' | 'closed'>;

export interface LoadLifecycleDeps {
  readonly db: Kysely<Database>;
  readonly runStatus: RunStatusLookup;
  /** True when this worker talks to the sandbox API (recorded on the load). */
  readonly sandbox?: boolean;
  /** The build that ran the load (recorded on the load). */
  readonly buildVersion?: string;
  /**
   * Days a finished load stays in the ledger, with its resource runs (default {@link defaultLedgerRetentionDays}):
   * the worker's `INGEST_LEDGER_RETENTION_DAYS`. Applied to the source's loads when a load of it begins.
   */
  readonly ledgerRetentionDays?: number;
}

/** The load id of a workflow run: its run id, so a retried `beginLoad` finds its own load. */
export function loadIdOf(input: Pick<BeginLoadInput, 'runId'>): string {
  return input.runId;
}

/** Takes the source's lease and opens the load; `SOURCE_BUSY` when another run of the source is still going. */
export async function beginLoad(input: BeginLoadInput, deps: LoadLifecycleDeps): Promise<BeginLoadResult> {
  const loadId = loadIdOf(input);
  const holders = await deps.db
    .selectFrom('ingest.loads')
    .select(['load_id', 'workflow_id', 'run_id', 'started_at'])
    .where('source', '=', input.source)
    .where('status', '=', 'running')
    .where('load_id', '<>', loadId)
    .execute();
  for (const holder of holders) {
    if (holder.workflow_id === null || holder.run_id === null) continue;
    if ((await deps.runStatus(holder.workflow_id, holder.run_id)) === 'running') {
      throw busy(input.source, holder.workflow_id, holder.run_id, holder.started_at);
    }
  }
  // Every other running load of the source belongs to a run that has ended: mark it abandoned, drop its staging.
  if (holders.length > 0) await reconcileAbandonedLoads(deps.db, input.source, { exceptLoadId: loadId });
  try {
    await startLoad(deps.db, {
      loadId,
      source: input.source,
      workflowId: input.workflowId,
      runId: input.runId,
      planHash: input.planHash,
      sandbox: deps.sandbox ?? false,
      ...(deps.buildVersion === undefined ? {} : { buildVersion: deps.buildVersion }),
    });
  } catch (error) {
    if ((error as { code?: unknown }).code !== '23505') throw error;
    // Another run took the lease between our look and our insert.
    const winner = await deps.db
      .selectFrom('ingest.loads')
      .select(['workflow_id', 'run_id', 'started_at'])
      .where('source', '=', input.source)
      .where('status', '=', 'running')
      .where('load_id', '<>', loadId)
      .executeTakeFirst();
    throw busy(
      input.source,
      winner?.workflow_id ?? '(unknown)',
      winner?.run_id ?? '(unknown)',
      winner?.started_at,
    );
  }
  // Under the lease, nothing else writes the source's ledger: what its closed loads still hold goes, then rejected
  // payloads (possibly personal data) older than the source's retention, then ledger rows older than the worker's.
  await sweepClosedLoads(deps.db, input.source);
  await purgeRejectedRecords(
    deps.db,
    input.source,
    input.rejectedRetentionDays ?? defaultRejectedRetentionDays,
  );
  await purgeLedger(deps.db, input.source, deps.ledgerRetentionDays ?? defaultLedgerRetentionDays);
  return { loadId };
}

const loadStatusOf = { ok: 'succeeded', partial: 'partial', failed: 'failed' } as const satisfies Record<
  IngestOutcome,
  string
>;

/**
 * Closes the load with the run's outcome and report (idempotent), releasing the source's lease, and drops the
 * load's staging and checkpoints (`ledger.ts`). Every resource of the run has finished or been cancelled by now; one
 * still finishing after a cancellation fails when its staging goes, and cannot stage again (`LOAD_CLOSED`).
 */
export async function finishLoad(input: FinishLoadInput, deps: LoadLifecycleDeps): Promise<void> {
  const failed = input.resources.filter((r) => r.status === 'failed');
  await closeLoad(deps.db, {
    loadId: input.loadId,
    status: loadStatusOf[input.outcome],
    error:
      failed.length === 0
        ? null
        : failed.map((r) => `${r.resource}: ${r.reason?.message ?? 'failed'}`).join('; '),
    report: { outcome: input.outcome, resources: input.resources },
  });
}

function busy(source: string, workflowId: string, runId: string, since: Date | undefined): IngestError {
  return new IngestError(
    'conflict',
    'SOURCE_BUSY',
    `source "${source}" is already being ingested by workflow ${workflowId} (run ${runId})` +
      `${since ? ` since ${since.toISOString()}` : ''}; one run per source at a time — wait for it or cancel it`,
    { retryable: false, details: { source, workflowId, runId } },
  );
}
