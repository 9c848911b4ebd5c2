/**
 * Pieces the resource activities (`ingestResource`, and the dependent resource's `resolveChildren` activities)
 * share: the one-resource plan an activity rebuilds from its input (the workflow hands it the planned resource,
 * never the whole plan), opening a resource's run (its table, created when no migration did, and its disposition
 * checked before any request), the counts a merge reports, and recording a failed attempt in the ledger.
 */
import { sql, type Kysely } from 'kysely';
import type { ResolvedResource, ResolvedSource } from '../shared/plan.ts';
import { startResourceRun } from '../db/ledger/ledger.ts';
import { ledgerText } from '../db/ledger/ledger-text.ts';
import { assertDispositionFits, type MergeMode } from '../db/merge/dispositions.ts';
import type { MergeOutcome } from '../db/merge/merge.ts';
import type { Database } from '../db/schema.ts';
import { ensureAppendTable } from '../db/tables/append-tables.ts';
import { ensureResourceTable } from '../db/tables/auto-tables.ts';
import type { ResourceTable } from '../db/tables/resource-tables.ts';
import type { IngestError } from '../errors.ts';
import type { ResourceCounts } from '../shared/ingest-types.ts';
import { asIngestError, countFailure, toApplicationFailure } from './failure.ts';
import { defaultRetryBudget, type AttemptCounts, type RetryBudget } from './retry.ts';
import type { ApplicationFailure } from '@temporalio/common';
import type { ResolvedRetry } from '../shared/plan.ts';

/** The plan of one planned resource, as `openResource` takes it. */
export function singleResourcePlan(input: {
  readonly source: string;
  readonly baseUrl: string;
  readonly planHash: string;
  readonly resource: ResolvedResource;
}): ResolvedSource {
  return {
    planVersion: 1,
    source: input.source,
    baseUrl: input.baseUrl,
    resources: [input.resource],
    secretVariables: [],
    warnings: [],
    hash: input.planHash,
  };
}

/**
 * Opens the resource's run in the ledger (idempotent) with its table: a resource no migration registered gets its
 * table now (created_by = 'auto'): the minimal keyed shape, or the append shape (keyed by load position) for an
 * append resource. A table that cannot hold the disposition fails here, recorded as the run's failure.
 */
export async function openResourceRun(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly source: string; readonly resource: ResolvedResource },
): Promise<{ readonly target: ResourceTable; readonly mode: MergeMode }> {
  const { loadId, source, resource } = input;
  const mode: MergeMode = {
    disposition: resource.writeDisposition,
    deletionDetection: resource.deletionDetection,
  };
  const tableSpec = {
    source,
    resource: resource.name,
    tableName: resource.tableName,
    primaryKey: resource.primaryKey,
  };
  const target =
    mode.disposition === 'append'
      ? await ensureAppendTable(db, tableSpec)
      : await ensureResourceTable(db, tableSpec);
  await startResourceRun(db, {
    loadId,
    source,
    resource: resource.name,
    writeDisposition: resource.writeDisposition,
  }); // first, so that a refusal is recorded as the run's failure
  assertDispositionFits(target, mode);
  return { target, mode };
}

/**
 * A merge's outcome (or the counts it recorded in the ledger) as the report counts it: fetched includes the
 * records rejected while staging.
 */
export function countsOf(
  merged: Pick<
    MergeOutcome,
    'fetched' | 'inserted' | 'updated' | 'unchanged' | 'deleted' | 'rejected' | 'drift'
  >,
  pages: number,
): ResourceCounts {
  return {
    fetched: merged.fetched + merged.rejected,
    inserted: merged.inserted,
    updated: merged.updated,
    unchanged: merged.unchanged,
    deleted: merged.deleted,
    rejected: merged.rejected,
    pages,
    ...(Object.keys(merged.drift).length === 0 ? {} : { drift: merged.drift }),
  };
}

/** Counts this failure in the ledger (rate limiting apart), and returns the counts the retry decision uses. */
export async function recordFailure(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly resource: ResolvedResource },
  error: IngestError,
): Promise<AttemptCounts> {
  const counted = countFailure(error, { transientFailures: 0, rateLimited: 0 });
  const row = await db
    .updateTable('ingest.resource_runs')
    .set({
      status: 'failed',
      error: ledgerText(error.message),
      finished_at: sql`now()`,
      transient_failures: sql`transient_failures + ${counted.transientFailures}`,
      rate_limited: sql`rate_limited + ${counted.rateLimited}`,
    })
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource.name)
    .returning(['transient_failures', 'rate_limited'])
    .executeTakeFirst();
  return row ? { transientFailures: row.transient_failures, rateLimited: row.rate_limited } : counted;
}

/**
 * A resource activity's failed attempt: counted in the ledger (rate limiting apart), then turned into the
 * `ApplicationFailure` the retry decision makes — with the source's budget over the worker's.
 */
export async function attemptFailure(
  db: Kysely<Database>,
  input: { readonly loadId: string; readonly resource: ResolvedResource; readonly retry?: ResolvedRetry },
  error: unknown,
  attempt: number,
  budget: RetryBudget | undefined,
): Promise<ApplicationFailure> {
  const failure = asIngestError(error);
  const counts = await recordFailure(db, input, failure).catch(() => undefined);
  return toApplicationFailure(failure, counts ?? { transientFailures: attempt, rateLimited: 0 }, {
    ...(budget ?? defaultRetryBudget),
    ...input.retry,
  });
}
