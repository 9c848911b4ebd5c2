/**
 * Small pieces the resource activities share: the one-resource plan an activity rebuilds from its input (the
 * workflow hands it the planned resource, never the whole plan), and the counts a merge reports.
 */
import type { ResolvedResource, ResolvedSource } from '../shared/plan.ts';
import type { MergeOutcome } from '../db/merge/merge.ts';
import type { ResourceCounts } from '../shared/ingest-types.ts';

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
