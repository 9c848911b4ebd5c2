/**
 * The activities of `resolveChildren`: a dependent resource (a `resolve` param) fetched once per set of parent
 * values, with its own paginator and disposition.
 * - `beginChildren` opens the resource's run and builds its work list (`db/ledger/child-items.ts`) from the parent's
 *   records of this run, or from the parent's table when the parent did not run; a polled child adds what earlier
 *   runs left pending and gives up what is older than its `max_age_seconds`.
 * - `fetchChildBatch` fetches a batch of items (each one by `child-item-fetch.ts`): each item's pages are staged
 *   under the item's own sequence numbers (a refetch — a retry, or the next poll — replaces them), with
 *   `include_from_parent` fields added to each record; a 404 makes the item unresolvable (recorded with its reason),
 *   not a failed resource. When the resource has children of its own, it keeps their fields as a parent does.
 * - `mergeChildren` merges everything staged, ONE transaction (the resource's commit point); `finishChildren` closes
 *   the run with its counts and, for a polled child, carries pending items over to the next run.
 */
import type { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import {
  buildChildItems,
  countChildItems,
  countPendingStaged,
  listPendingItems,
  readChildItems,
  settleChildItems,
  type ParentRecordSource,
} from '../db/ledger/child-items.ts';
import {
  carryOverPolls,
  childKeyText,
  forgetCarriedOver,
  giveUpStaleItems,
  markUnresolvable,
  type UnresolvableKey,
} from '../db/ledger/child-outcomes.ts';
import { finishResourceRun, readResourceRuns } from '../db/ledger/ledger.ts';
import { allRecordsRejectedError } from '../db/ledger/rejected-records.ts';
import { mergeOptions, mergeStaged } from '../db/merge/merge.ts';
import type { ChildItemState, Database } from '../db/schema.ts';
import { prepareStaging, stagingOptions } from '../db/staging/prepare.ts';
import { readResourceTable, type ResourceTable } from '../db/tables/resource-tables.ts';
import { IngestError, isIngestError } from '../errors.ts';
import type { ResourceRequester } from '../http/resource-request.ts';
import { openPlannedResource } from './open-requester.ts';
import type {
  BeginChildrenResult,
  ChildRunInput,
  FetchChildBatchInput,
  FetchChildBatchResult,
  FinishChildrenInput,
  FinishChildrenResult,
  ListChildItemsInput,
  MergeChildrenInput,
  ResourceCounts,
} from '../shared/ingest-types.ts';
import type { ResolvedResource } from '../shared/plan.ts';
import {
  dependencyOf,
  fetchItem,
  forgetItem,
  isItemOutcome,
  isNotFound,
  pollOf,
} from './child-item-fetch.ts';
import { attemptFailure, countsOf, openResourceRun } from './resource-run.ts';
import { deleteGuard, type IngestResourceDeps } from './ingest-resource.ts';
import { toApplicationFailure } from './failure.ts';
import { attemptState, observeAttempt, observedRun, type AttemptObserver } from './observe.ts';

/** The same dependencies as `ingestResource`'s (a child is a resource too). */
export type ResolveDeps = IngestResourceDeps;

/** Opens the dependent resource's run and builds its work list (idempotent). */
export async function beginChildren(input: ChildRunInput, deps: ResolveDeps): Promise<BeginChildrenResult> {
  const { db } = deps;
  const dependency = dependencyOf(input);
  await openResourceRun(db, input);
  const parents: ParentRecordSource =
    dependency.parentRecordsFrom === 'run'
      ? { from: 'run', parent: dependency.parent }
      : { from: 'storage', table: await parentTable(db, input.source, dependency.parent) };
  const items = await buildChildItems(db, {
    loadId: input.loadId,
    source: input.source,
    resource: input.resource.name,
    parents,
    paths: childPaths(input.resource),
    polled: pollOf(input.resource) !== null,
    requestPaths: dependency.fields,
  });
  const givenUp = await giveUpStale(db, input);
  return { items, givenUp };
}

/** The next pending items of the work list. */
export async function listChildItems(
  input: ListChildItemsInput,
  deps: ResolveDeps,
): Promise<readonly number[]> {
  return listPendingItems(deps.db, input);
}

/** Fetches and stages one batch of items; a failure leaves as the `ApplicationFailure` the retry decision made. */
export async function fetchChildBatch(
  input: FetchChildBatchInput,
  deps: ResolveDeps,
  context: Context,
): Promise<FetchChildBatchResult> {
  let progress = { item: 0, of: input.items.length, fetched: 0 };
  const beat = () => context.heartbeat(progress);
  beat();
  const ticker = setInterval(beat, deps.heartbeatIntervalMs ?? 2_000);
  const observer = observeAttempt(observedRun(input), deps.metrics);
  try {
    return await observer.fetch(() =>
      fetchItems(input, deps, observer, context.cancellationSignal, (next) => {
        progress = next;
      }),
    );
  } catch (error) {
    const failure = await attemptFailure(deps.db, input, error, context.info.attempt, deps.retryBudget);
    observer.failed(failure, attemptState(context));
    throw failure;
  } finally {
    clearInterval(ticker);
  }
}

/**
 * Merges everything the resolution staged, in one transaction; a merge an earlier attempt committed is not redone.
 * A failure leaves as the `ApplicationFailure` of the activities' one boundary.
 */
export async function mergeChildren(
  input: MergeChildrenInput,
  deps: ResolveDeps,
  context: Context,
): Promise<ResourceCounts> {
  const observer = observeAttempt(observedRun(input), deps.metrics);
  try {
    return await mergeStagedChildren(input, deps, observer);
  } catch (error) {
    const failure = toApplicationFailure(error, { transientFailures: context.info.attempt, rateLimited: 0 });
    observer.failed(failure, attemptState(context));
    throw failure;
  }
}

async function mergeStagedChildren(
  input: MergeChildrenInput,
  deps: ResolveDeps,
  observer: AttemptObserver,
): Promise<ResourceCounts> {
  const { db } = deps;
  const { loadId, source, resource } = input;
  const earlier = (await readResourceRuns(db, loadId)).find((r) => r.resource === resource.name);
  if (earlier?.mergedAt != null) {
    if (earlier.fetched === 0 && earlier.rejected > 0) {
      throw await allRecordsRejectedError(db, { loadId, source, resource: resource.name }, earlier.rejected);
    }
    return countsOf(earlier, input.pages);
  }
  const target = await readResourceTable(db, source, resource.name);
  const staging = await prepareStaging(db, target, loadId, stagingOptions(deps));
  // Items still pending (a polled child not final yet) were counted at no settle: their last fetch is merged now.
  const pendingRecords = await countPendingStaged(db, { loadId, resource: resource.name });
  const merged = await observer.merge(resource.writeDisposition, () =>
    mergeStaged(
      db,
      staging,
      { disposition: resource.writeDisposition, deletionDetection: false },
      {
        ...mergeOptions(deps),
        ...deleteGuard(deps, input.allowDeletes),
        ...(input.incomplete
          ? {
              incompleteFetch:
                'the fetch of some parent record ended on a response that response_actions ignored, so it may be partial',
            }
          : {}),
      },
    ),
  );
  if (!merged.alreadyMerged) observer.kept(pendingRecords);
  if (merged.fetched === 0 && merged.rejected > 0) {
    throw await allRecordsRejectedError(db, { loadId, source, resource: resource.name }, merged.rejected);
  }
  return countsOf(merged, input.pages);
}

/** Closes the run with its counts; a polled child's pending items carry over to the next run. */
export async function finishChildren(
  input: FinishChildrenInput,
  deps: ResolveDeps,
): Promise<FinishChildrenResult> {
  const { db } = deps;
  const run = { loadId: input.loadId, resource: input.resource.name };
  if (pollOf(input.resource) !== null) {
    await giveUpStale(db, input);
    await carryOverPolls(db, { ...run, source: input.source });
  } else await forgetCarriedOver(db, { ...run, source: input.source });
  await db
    .updateTable('ingest.resource_runs')
    .set({
      fetched: String(input.counts.fetched),
      inserted: String(input.counts.inserted),
      updated: String(input.counts.updated),
      unchanged: String(input.counts.unchanged),
      rejected: String(input.counts.rejected),
    })
    .where('load_id', '=', input.loadId)
    .where('resource', '=', input.resource.name)
    .execute();
  await finishResourceRun(db, { ...run, status: 'succeeded' });
  observeAttempt(observedRun(input), deps.metrics).succeeded();
  const counted = await countChildItems(db, run);
  return { items: counted.items, unresolvable: counted.unresolvable, stillPending: counted.pending };
}

async function fetchItems(
  input: FetchChildBatchInput,
  deps: ResolveDeps,
  observer: AttemptObserver,
  signal: AbortSignal,
  report: (progress: { item: number; of: number; fetched: number }) => void,
): Promise<FetchChildBatchResult> {
  const { db } = deps;
  const { resource } = input;
  const dependency = dependencyOf(input);
  const requester = await requesterFor(input, deps);
  const target = await readResourceTable(db, input.source, resource.name);
  const staging = await prepareStaging(db, target, input.loadId, stagingOptions(deps));
  const items = await readChildItems(db, {
    loadId: input.loadId,
    resource: resource.name,
    items: input.items,
  });
  const outcome = { fetched: 0, rejected: 0, pages: 0, done: 0, pending: 0, unresolvable: 0, ignored: false };
  const settled: { item: number; state: ChildItemState; records: number }[] = [];
  const unresolvable: UnresolvableKey[] = [];
  for (const [index, item] of items.entries()) {
    signal.throwIfAborted();
    report({ item: index + 1, of: items.length, fetched: outcome.fetched });
    await forgetItem(db, staging, input, item.item);
    try {
      const fetched = await fetchItem(db, {
        staging,
        requester,
        input,
        item,
        signal,
        batchBytes: deps.batchBytes,
        observer,
      });
      outcome.fetched += fetched.records;
      outcome.rejected += fetched.rejected;
      outcome.pages += fetched.pages;
      outcome.ignored ||= fetched.ignored;
      const state = pollOf(resource) === null || fetched.final ? 'done' : 'pending';
      outcome[state] += 1;
      settled.push({ item: item.item, state, records: fetched.records });
    } catch (error) {
      if (!isItemOutcome(error)) throw error;
      // The parent's child does not exist (any more), or the parent record cannot make its request: a per-item
      // outcome, recorded with the reason; the other items go on.
      await forgetItem(db, staging, input, item.item);
      outcome.unresolvable += 1;
      settled.push({ item: item.item, state: 'unresolvable', records: 0 });
      unresolvable.push({
        key: childKeyText(item.fields, dependency.fields),
        httpStatus: isNotFound(error) ? 404 : null,
        reason: error.message,
      });
    }
  }
  const run = { loadId: input.loadId, source: input.source, resource: resource.name };
  await markUnresolvable(db, run, unresolvable);
  const done = new Set(
    await settleChildItems(db, { loadId: input.loadId, resource: resource.name, items: settled }),
  );
  // Counted when an item is done for this load (a retried batch's items once, a polled item when final); an item
  // left pending is fetched again by the next pass, or counted by the merge.
  observer.kept(settled.reduce((sum, s) => sum + (done.has(s.item) ? s.records : 0), 0));
  return outcome;
}

/** The parent fields the child uses: its resolve fields and its `include_from_parent` fields. */
function childPaths(resource: ResolvedResource): string[] {
  const dependency = resource.dependency;
  if (dependency === null) return [];
  return [
    ...new Set([...dependency.fields, ...(dependency.includeFromParent ?? []).map((f) => f.field)]),
  ].sort();
}

async function giveUpStale(db: Kysely<Database>, input: ChildRunInput): Promise<number> {
  const poll = pollOf(input.resource);
  if (poll === null) return 0;
  return giveUpStaleItems(db, {
    loadId: input.loadId,
    source: input.source,
    resource: input.resource.name,
    maxAgeMs: poll.maxAgeMs,
    requestPaths: dependencyOf(input).fields,
  });
}

/** The parent's table, or null when it has none yet (it never loaded: there is nothing to resolve). */
async function parentTable(
  db: Kysely<Database>,
  source: string,
  parent: string,
): Promise<ResourceTable | null> {
  try {
    return await readResourceTable(db, source, parent);
  } catch (error) {
    if (isIngestError(error) && error.code === 'RESOURCE_TABLE_MISSING') return null;
    throw error;
  }
}

async function requesterFor(input: FetchChildBatchInput, deps: ResolveDeps): Promise<ResourceRequester> {
  const opened = await openPlannedResource(input, deps);
  if (opened.kind === 'skipped') {
    throw new IngestError('config', 'RESOURCE_SKIPPED', `${input.resource.name}: ${opened.skip.reason}`, {
      retryable: false,
    });
  }
  return opened.requester;
}
