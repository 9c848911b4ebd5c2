/**
 * The ledger: one `ingest.loads` row per run of a source and one `ingest.resource_runs` row per resource of it,
 * written as the run goes, so operators can answer "what ran, what did it change, what failed" with plain SQL
 * (docs/loading.md lists the queries). The merge writes its own counts (`merge/merge.ts`); these functions write the
 * rest. Every function is idempotent, because activities are retried.
 */
import { sql, type Kysely } from 'kysely';
import type { Database, LoadStatus, ResourceRunStatus } from '../schema.ts';
import { dropStaging } from '../staging/registry.ts';
import { forgetChildWork } from './parent-records.ts';
import { inTransaction } from '../transaction.ts';

export interface StartLoadInput {
  /** Chosen by the caller, deterministically (e.g. from the workflow run), so a retried start is a no-op. */
  readonly loadId: string;
  readonly source: string;
  readonly workflowId?: string | null;
  readonly runId?: string | null;
  readonly planHash?: string | null;
  readonly buildVersion?: string | null;
  /** True when the run talks to the sandbox API rather than the real one. */
  readonly sandbox?: boolean;
}

/** Records the start of a load (status `running`); a second call with the same id changes nothing. */
export async function startLoad(db: Kysely<Database>, input: StartLoadInput): Promise<void> {
  await db
    .insertInto('ingest.loads')
    .values({
      load_id: input.loadId,
      source: input.source,
      workflow_id: input.workflowId ?? null,
      run_id: input.runId ?? null,
      plan_hash: input.planHash ?? null,
      build_version: input.buildVersion ?? null,
      sandbox: input.sandbox ?? false,
    })
    .onConflict((oc) => oc.column('load_id').doNothing())
    .execute();
}

export interface FinishLoadInput {
  readonly loadId: string;
  readonly status: Exclude<LoadStatus, 'running'>;
  readonly error?: string | null;
  /** A small JSON-safe summary (the workflow's report). */
  readonly report?: unknown;
}

/** Records the end of a load. */
export async function finishLoad(db: Kysely<Database>, input: FinishLoadInput): Promise<void> {
  await inTransaction(db, async (trx) => {
    // What the load kept for its children is of no use once it is over (a polled child's carry-over lives on in
    // `ingest.child_polls`).
    await forgetChildWork(trx, input.loadId);
    await closeLoadRow(trx, input);
  });
}

async function closeLoadRow(db: Kysely<Database>, input: FinishLoadInput): Promise<void> {
  await db
    .updateTable('ingest.loads')
    .set({
      status: input.status,
      finished_at: sql`now()`,
      error: input.error ?? null,
      report: input.report === undefined ? null : JSON.stringify(input.report),
    })
    .where('load_id', '=', input.loadId)
    .execute();
}

export interface StartResourceRunInput {
  readonly loadId: string;
  readonly source: string;
  readonly resource: string;
  readonly writeDisposition?: 'merge' | 'replace' | 'append';
}

/**
 * Records that a resource starts (status `running`). A retried attempt calls it again: `attempts` goes up and a
 * failed row is running again; a row already finished successfully is left alone.
 */
export async function startResourceRun(db: Kysely<Database>, input: StartResourceRunInput): Promise<void> {
  await db
    .insertInto('ingest.resource_runs')
    .values({
      load_id: input.loadId,
      source: input.source,
      resource: input.resource,
      write_disposition: input.writeDisposition ?? 'merge',
    })
    .onConflict((oc) =>
      oc
        .columns(['load_id', 'resource'])
        .doUpdateSet((eb) => ({
          attempts: sql`${eb.ref('ingest.resource_runs.attempts')} + 1`,
          status: 'running',
          error: null,
          finished_at: null,
        }))
        .where('ingest.resource_runs.status', 'not in', ['succeeded', 'skipped']),
    )
    .execute();
}

/** Records a resource that does not run, with the reason. */
export async function skipResourceRun(
  db: Kysely<Database>,
  input: StartResourceRunInput & { readonly reason: string },
): Promise<void> {
  await db
    .insertInto('ingest.resource_runs')
    .values({
      load_id: input.loadId,
      source: input.source,
      resource: input.resource,
      write_disposition: input.writeDisposition ?? 'merge',
      status: 'skipped',
      skip_reason: input.reason,
      finished_at: sql`now()`,
    })
    .onConflict((oc) =>
      oc.columns(['load_id', 'resource']).doUpdateSet({ status: 'skipped', skip_reason: input.reason }),
    )
    .execute();
}

export interface FinishResourceRunInput {
  readonly loadId: string;
  readonly resource: string;
  readonly status: Extract<ResourceRunStatus, 'succeeded' | 'failed'>;
  readonly error?: string | null;
  /** Rows marked deleted by deletion detection. */
  readonly deleted?: number;
}

/** Records the end of a resource run (the counts of its merge are already there). */
export async function finishResourceRun(db: Kysely<Database>, input: FinishResourceRunInput): Promise<void> {
  await db
    .updateTable('ingest.resource_runs')
    .set({
      status: input.status,
      error: input.error ?? null,
      finished_at: sql`now()`,
      ...(input.deleted === undefined ? {} : { deleted: input.deleted }),
    })
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource)
    .execute();
}

/** A resource run as recorded (counts as numbers). */
export interface ResourceRunRecord {
  readonly loadId: string;
  readonly source: string;
  readonly resource: string;
  readonly status: ResourceRunStatus;
  readonly attempts: number;
  readonly fetched: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly rejected: number;
  readonly coercions: Readonly<Record<string, number>>;
  /** Schema drift: top-level fields the table does not know (kept in `data` only) → records that had them. */
  readonly drift: Readonly<Record<string, number>>;
  readonly error: string | null;
  readonly skipReason: string | null;
  readonly startedAt: Date;
  readonly mergedAt: Date | null;
  readonly mergeMs: number | null;
  readonly finishedAt: Date | null;
}

/** The resource runs of a load, by resource name. */
export async function readResourceRuns(
  db: Kysely<Database>,
  loadId: string,
): Promise<readonly ResourceRunRecord[]> {
  const rows = await db
    .selectFrom('ingest.resource_runs')
    .selectAll()
    .where('load_id', '=', loadId)
    .orderBy('resource')
    .execute();
  return rows.map((r) => ({
    loadId: r.load_id,
    source: r.source,
    resource: r.resource,
    status: r.status,
    attempts: r.attempts,
    fetched: Number(r.fetched),
    inserted: Number(r.inserted),
    updated: Number(r.updated),
    unchanged: Number(r.unchanged),
    deleted: Number(r.deleted),
    rejected: Number(r.rejected),
    coercions: r.coercions,
    drift: r.drift,
    error: r.error,
    skipReason: r.skip_reason,
    startedAt: r.started_at,
    mergedAt: r.merged_at,
    mergeMs: r.merge_ms,
    finishedAt: r.finished_at,
  }));
}

export interface ReconcileOutcome {
  /** Loads that were left `running` and are now `abandoned`. */
  readonly loads: readonly string[];
  readonly resourceRuns: number;
  readonly stagingTablesDropped: number;
}

/**
 * Marks the loads of `source` left `running` by a run that was terminated (and their running resource runs) as
 * `abandoned`, and drops their staging tables. Call it at the start of a run, under the source's lease, passing
 * the new run's own load id so it is spared.
 */
export async function reconcileAbandonedLoads(
  db: Kysely<Database>,
  source: string,
  options: { readonly exceptLoadId?: string } = {},
): Promise<ReconcileOutcome> {
  return inTransaction(db, async (trx) => {
    let query = trx
      .updateTable('ingest.loads')
      .set({
        status: 'abandoned',
        finished_at: sql`now()`,
        error: 'abandoned: the run ended without finishing its load (terminated, timed out or crashed)',
      })
      .where('source', '=', source)
      .where('status', '=', 'running');
    if (options.exceptLoadId !== undefined) query = query.where('load_id', '<>', options.exceptLoadId);
    const loads = (await query.returning('load_id').execute()).map((r) => r.load_id);
    if (loads.length === 0) return { loads, resourceRuns: 0, stagingTablesDropped: 0 };
    const runs = await trx
      .updateTable('ingest.resource_runs')
      .set({ status: 'abandoned', finished_at: sql`now()`, error: 'abandoned with its load' })
      .where('load_id', 'in', loads)
      .where('status', '=', 'running')
      .executeTakeFirst();
    const staged = await trx
      .selectFrom('ingest.staging_tables')
      .select(['load_id', 'resource'])
      .where('load_id', 'in', loads)
      .execute();
    for (const s of staged) await dropStaging(trx, s.load_id, s.resource);
    for (const loadId of loads) await forgetChildWork(trx, loadId);
    return { loads, resourceRuns: Number(runs.numUpdatedRows), stagingTablesDropped: staged.length };
  });
}
