/**
 * The ledger: one `ingest.loads` row per run of a source and one `ingest.resource_runs` row per resource of it,
 * written as the run goes, so operators can answer "what ran, what did it change, what failed" with plain SQL
 * (docs/loading.md lists the queries). The merge writes its own counts (`merge/merge.ts`); these functions write the
 * rest. Every function is idempotent, because activities are retried.
 */
import { sql, type Kysely } from 'kysely';
import type { Database, LoadStatus, ResourceRunStatus } from '../schema.ts';
import { dropStaging } from '../staging/registry.ts';
import { inTransaction } from '../transaction.ts';
import { ledgerJson, ledgerText, ledgerTextOrNull } from './ledger-text.ts';
import { forgetChildWork } from './parent-records.ts';

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

/** How `finishLoad` drops the load's staging. */
export interface FinishLoadOptions {
  /**
   * How long dropping one staging may wait for its tables' locks (default 5 s): an activity that was cancelled may
   * still be finishing a statement on them. A staging still locked then is left to the next `beginLoad` of the
   * source (`sweepClosedLoads`), so closing the load never waits long.
   */
  readonly lockTimeoutMs?: number;
}

/**
 * Records the end of a load (any outcome) and drops what the load kept only while it ran: its checkpoints, its
 * children's work lists, and the staging of every resource that did not merge (a failed or cancelled one; a merged
 * resource's staging is already gone). Idempotent and cheap: a retry finds nothing left to drop.
 */
export async function finishLoad(
  db: Kysely<Database>,
  input: FinishLoadInput,
  options: FinishLoadOptions = {},
): Promise<void> {
  await inTransaction(db, async (trx) => {
    // The row first: its lock orders this close with `prepareStaging`, which reads the status under a share lock.
    // One that registered a staging before commits first, and the list below then sees it; one after sees the load
    // closed and refuses — so no staging of this load is created once it is closed.
    await closeLoadRow(trx, input);
    // What the load kept for its children is of no use once it is over (a polled child's carry-over lives on in
    // `ingest.child_polls`), nor are its paginators' checkpoints (a new load starts from the first page).
    await forgetChildWork(trx, input.loadId);
    await trx.deleteFrom('ingest.checkpoints').where('load_id', '=', input.loadId).execute();
  });
  await dropLoadStaging(db, input.loadId, options);
}

async function closeLoadRow(db: Kysely<Database>, input: FinishLoadInput): Promise<void> {
  await db
    .updateTable('ingest.loads')
    .set({
      status: input.status,
      finished_at: sql`now()`,
      error: ledgerTextOrNull(input.error),
      report: input.report === undefined ? null : ledgerJson(input.report),
    })
    .where('load_id', '=', input.loadId)
    .execute();
}

/** What dropping a load's staging did. */
export interface DroppedStaging {
  /** Stagings (a resource's two tables and its registry rows) dropped. */
  readonly dropped: number;
  /** Stagings left because their tables stayed locked past the timeout. */
  readonly busy: number;
}

/**
 * Drops every staging registered for `loadId` (`ingest.staging_tables`), each in its own transaction that waits
 * at most `lockTimeoutMs` for the tables' locks; a staging still locked is left (counted as `busy`). Call it only
 * for a load that is over: a writer of the staging fails when its tables go.
 */
export async function dropLoadStaging(
  db: Kysely<Database>,
  loadId: string,
  options: FinishLoadOptions = {},
): Promise<DroppedStaging> {
  const staged = await db
    .selectFrom('ingest.staging_tables')
    .select('resource')
    .where('load_id', '=', loadId)
    .execute();
  let dropped = 0;
  let busy = 0;
  for (const { resource } of staged) {
    if (db.isTransaction) {
      await dropStaging(db, loadId, resource);
      dropped += 1;
      continue;
    }
    try {
      await db.transaction().execute(async (trx) => {
        const ms = Math.max(1, Math.round(options.lockTimeoutMs ?? 5_000));
        await sql`SELECT set_config('lock_timeout', ${`${ms}ms`}, true)`.execute(trx);
        await dropStaging(trx, loadId, resource);
      });
      dropped += 1;
    } catch (error) {
      if ((error as { code?: unknown }).code !== '55P03') throw error; // lock_not_available
      busy += 1;
    }
  }
  return { dropped, busy };
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
      skip_reason: ledgerText(input.reason),
      finished_at: sql`now()`,
    })
    .onConflict((oc) =>
      oc
        .columns(['load_id', 'resource'])
        .doUpdateSet({ status: 'skipped', skip_reason: ledgerText(input.reason) }),
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
      error: ledgerTextOrNull(input.error),
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
