/**
 * `ingestResource`: fetch, extract, stage and merge one resource of a load. Pages stream through the extractor
 * into the resource's staging table (a few batches in flight while the next is read: `batch-pipeline.ts`); after
 * each page the paginator's state is checkpointed, so a retried attempt resumes after the last completed page
 * instead of starting over (a `single_page` response is re-streamed; staging by sequence number makes the replayed
 * rows harmless). An incremental resource asks only for its window and leaves out records outside it; its cursor
 * moves in the merge transaction (`incremental-run.ts`). When the fetch is complete, ONE transaction merges staging
 * into the table. A timer heartbeats progress (also while waiting for headers), which is how Temporal's cancellation
 * reaches the HTTP request. Returns counts only.
 */
import type { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { deleteCheckpoint, readCheckpoint, saveCheckpoint } from '../db/ledger/checkpoints.ts';
import { finishResourceRun, readResourceRuns, skipResourceRun } from '../db/ledger/ledger.ts';
import { discardParentRecords, writeParentRecords } from '../db/ledger/parent-records.ts';
import { maxBodyDepth } from '../db/tables/json-depth.ts';
import { mergeOptions, mergeStaged } from '../db/merge/merge.ts';
import { allRecordsRejectedError } from '../db/ledger/rejected-records.ts';
import type { Database } from '../db/schema.ts';
import { prepareStaging, stagingOptions } from '../db/staging/prepare.ts';
import { discardStagedFrom, type StagedProof, type Staging } from '../db/staging/registry.ts';
import { batchSeq, stageRecords } from '../db/staging/stage-records.ts';
import { IngestError } from '../errors.ts';
import type { HttpClient } from '../http/client.ts';
import type { ExtractedRecord } from '../shared/records.ts';
import { paginate, paginationInput } from '../http/paginate/paginate.ts';
import type { PaginationState } from '../http/paginate/types.ts';
import { pageSender, type ResourceRequester } from '../http/resource-request.ts';
import { openPlannedResource } from './open-requester.ts';
import { sendOnce } from './send-once.ts';
import {
  zeroCounts,
  type IncrementalReport,
  type IngestResourceInput,
  type ResourceCounts,
} from '../shared/ingest-types.ts';
import { attemptFailure, countsOf, openResourceRun } from './resource-run.ts';
import { IncrementalRun } from './incremental-run.ts';
import type { WindowFilter } from './incremental-window.ts';
import { readCursorProgress, saveCheckpointWithProgress } from '../db/ledger/cursors.ts';
import type { RetryBudget } from './retry.ts';
import { attemptState, observeAttempt, observedRun, type AttemptObserver } from './observe.ts';
import { BatchPipeline, pipelineLimits } from './batch-pipeline.ts';
import type { IngestMetrics } from '../telemetry/ingest-metrics.ts';

export interface IngestResourceDeps {
  readonly db: Kysely<Database>;
  readonly client: HttpClient;
  /** Credentials come from here, at run time: usually `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the source files are: read for credentials written inline in one (`$inline`). */
  readonly sourcesDir?: string;
  readonly retryBudget?: RetryBudget;
  /** How often progress is heartbeated (default 2 s; the activity's heartbeat timeout must be well above it). */
  readonly heartbeatIntervalMs?: number;
  /**
   * Size of one staged batch of raw JSON (default 1 MiB): big enough that a batch's fixed cost (its transaction and
   * statements) is spread over about 2 400 call records, small enough that the few a resource stages at once
   * (`pipelineLimits`: at most 3 × this in flight) stay small in memory.
   */
  readonly batchBytes?: number;
  /** The most memory one sort of a merge may use, in MB (`MergeOptions.memoryMb`). */
  readonly mergeMemoryMb?: number;
  /** Whether a big first load may swap in the table staging built (`StagingOptions.firstLoadSwap`). */
  readonly firstLoadSwap?: boolean;
  /**
   * The largest share of a table one load's `replace` or deletion detection may remove (default
   * {@link defaultMaxDeleteShare}; 1: no guard); the run input's `allowDeletes` lifts it for a resource.
   */
  readonly maxDeleteShare?: number;
  /** Where the load's facts are recorded (records, rows, merge duration, freshness, retries); nowhere if omitted. */
  readonly metrics?: IngestMetrics;
}

/** Half: an API that suddenly answers with less than half of what it had is more likely broken than emptied. */
export const defaultMaxDeleteShare = 0.5;

/** The guard's limit for a resource's merge: none when the run input allows its deletes. */
export function deleteGuard(
  deps: { readonly maxDeleteShare?: number | undefined },
  allowDeletes: boolean | undefined,
): { readonly maxDeleteShare?: number } {
  return allowDeletes === true ? {} : { maxDeleteShare: deps.maxDeleteShare ?? defaultMaxDeleteShare };
}

/** What the heartbeat says: for a person (the UI's pending activity) and for the next attempt. */
export interface ResourceProgress {
  readonly phase: 'starting' | 'fetching' | 'merging';
  readonly page: number;
  readonly fetched: number;
  readonly rejected: number;
  /** The paginator state after the last staged page (secret-free): where a retry resumes. */
  readonly resumeAfterPage: number;
}

/** Runs one attempt; a failure leaves as the `ApplicationFailure` the retry decision made. */
export async function ingestResource(
  input: IngestResourceInput,
  deps: IngestResourceDeps,
  context: Context,
): Promise<ResourceCounts> {
  let progress: ResourceProgress = {
    phase: 'starting',
    page: 0,
    fetched: 0,
    rejected: 0,
    resumeAfterPage: 0,
  };
  const beat = () => context.heartbeat(progress);
  beat();
  const ticker = setInterval(beat, deps.heartbeatIntervalMs ?? 2_000);
  const observer = observeAttempt(observedRun(input), deps.metrics);
  try {
    return await loadResource(
      input,
      deps,
      observer,
      context.cancellationSignal,
      (next) => {
        progress = next;
      },
      (message, meta) => {
        context.log.warn(message, meta);
      },
    );
  } catch (error) {
    const failure = await attemptFailure(deps.db, input, error, context.info.attempt, deps.retryBudget);
    observer.failed(failure, attemptState(context));
    throw failure;
  } finally {
    clearInterval(ticker);
  }
}

async function loadResource(
  input: IngestResourceInput,
  deps: IngestResourceDeps,
  observer: AttemptObserver,
  signal: AbortSignal,
  report: (progress: ResourceProgress) => void,
  warn: (message: string, meta: Record<string, unknown>) => void,
): Promise<ResourceCounts> {
  const { db } = deps;
  const { loadId, source, resource } = input;
  const run = { loadId, source, resource: resource.name, writeDisposition: resource.writeDisposition };
  const opened = await openPlannedResource(input, deps);
  if (opened.kind === 'skipped') {
    await skipResourceRun(db, { ...run, reason: opened.skip.reason });
    return zeroCounts;
  }
  const { requester } = opened;

  // The merge is the resource's one commit point. An earlier attempt may have committed it and died before Temporal
  // heard of it (the worker killed between the merge and the activity's completion, which makes the server retry).
  // Fetching again would re-request every page (no checkpoint left) or, with the checkpoint still there, merge an
  // EMPTY staging and overwrite the recorded counts with zeros. So: finish what that attempt left undone and return
  // the counts its merge recorded, without a single request.
  const earlier = (await readResourceRuns(db, loadId)).find((r) => r.resource === resource.name);
  if (earlier?.mergedAt != null) {
    const checkpoint = (await readCheckpoint(db, loadId, resource.name)) as PaginationState | undefined;
    await deleteCheckpoint(db, loadId, resource.name);
    if (earlier.fetched === 0 && earlier.rejected > 0) {
      throw await allRecordsRejectedError(db, { loadId, source, resource: resource.name }, earlier.rejected);
    }
    await finishResourceRun(db, { loadId, resource: resource.name, status: 'succeeded' });
    observer.succeeded();
    // Pages are not in the ledger: the checkpoint knows them when the attempt died before deleting it.
    const incremental = await IncrementalRun.open(db, input);
    return withIncremental(
      countsOf(earlier, checkpoint?.pages ?? 0),
      incremental === null
        ? null
        : await incremental.report(db, (await readCursorProgress(db, loadId, resource.name)).outside),
    );
  }

  // The disposition travels from the plan to the merge; a table that cannot hold it fails here, before a request.
  const { target, mode } = await openResourceRun(db, input);
  // An attempt after a Postgres crash finds the unlogged staging emptied: it starts the fetch again from page 1.
  const staging = await prepareStaging(db, target, loadId, { ...stagingOptions(deps), restartIfLost: true });
  if (staging.restarted) await deleteCheckpoint(db, loadId, resource.name);

  const incremental = await IncrementalRun.open(db, input);
  const fetchedInto = await observer.fetch(() =>
    resource.repeatable
      ? fetchPages(input, deps, requester, staging, signal, report, incremental, observer)
      : fetchOnce(input, deps, requester, staging, signal, observer),
  );
  const { fetched, rejected, pages, endedIgnored, filter, staged } = fetchedInto;

  report({ phase: 'merging', page: pages, fetched, rejected, resumeAfterPage: pages });
  // Only a fetch that ran to its end gets here (a failed page throws above), so replace and deletion detection
  // see the resource's complete fetch — a retried attempt's included, as its earlier pages are still staged. A
  // fetch that a response action ended may have stopped short of the last page: it deletes nothing.
  const merged = await observer.merge(resource.writeDisposition, () =>
    mergeStaged(db, staging, mode, {
      ...mergeOptions(deps),
      ...deleteGuard(deps, input.allowDeletes),
      staged,
      ...(endedIgnored
        ? {
            incompleteFetch:
              'the fetch ended on a response that response_actions ignored, so it may be partial',
          }
        : {}),
      // The cursor moves in the merge transaction: with the records, or not at all.
      ...(incremental !== null && filter !== null ? { withinMerge: incremental.withinMerge(filter) } : {}),
    }),
  );
  // A send's records are the load's once merged: a retry re-stages the response it kept (`send-once.ts`).
  if (!resource.repeatable && !merged.alreadyMerged) observer.kept(fetched);
  if (merged.deletionsSkipped !== null) {
    warn(`${source}.${resource.name}: ${merged.deletionsSkipped}`, { loadId, resource: resource.name });
  }
  await deleteCheckpoint(db, loadId, resource.name);
  // Records came and none could be loaded: that is a failure, not an empty result (which has rejected = 0 too).
  if (merged.fetched === 0 && merged.rejected > 0) {
    throw await allRecordsRejectedError(db, { loadId, source, resource: resource.name }, merged.rejected);
  }
  await finishResourceRun(db, { loadId, resource: resource.name, status: 'succeeded' });
  observer.succeeded();
  return withIncremental(
    countsOf(merged, pages),
    incremental === null ? null : await incremental.report(db, filter?.progress.outside ?? 0),
  );
}

/** The counts, with the incremental window and cursor when the resource has them. */
function withIncremental(counts: ResourceCounts, incremental: IncrementalReport | null): ResourceCounts {
  return incremental === null ? counts : { ...counts, incremental };
}

/** What a resource's fetch staged; `endedIgnored` when a response that `response_actions` ignored ended it. */
interface FetchedInto {
  readonly fetched: number;
  readonly rejected: number;
  readonly pages: number;
  readonly endedIgnored: boolean;
  /** The incremental window's filter, with the largest cursor value loaded (null: not incremental). */
  readonly filter: WindowFilter | null;
  /** What this attempt staged after its last checkpoint (or its one batch, a send's), for the merge to prove. */
  readonly staged: StagedProof;
}

/** The pages of a repeatable resource, resumed after the last checkpointed page. */
async function fetchPages(
  input: IngestResourceInput,
  deps: IngestResourceDeps,
  requester: ResourceRequester,
  staging: Staging,
  signal: AbortSignal,
  report: (progress: ResourceProgress) => void,
  incremental: IncrementalRun | null,
  observer: AttemptObserver,
): Promise<FetchedInto> {
  const { db } = deps;
  const { loadId, resource } = input;
  // Resume after the last page whose batches were all staged; drop whatever a failed attempt staged past it.
  const saved = (await readCheckpoint(db, loadId, resource.name)) as PaginationState | undefined;
  const resumeAfter = saved?.pages ?? 0;
  const fromSeq = batchSeq(resumeAfter + 1, 0);
  await discardStagedFrom(db, staging, fromSeq);
  await discardParentRecords(db, { loadId, resource: resource.name, from: fromSeq });

  const rendered = requester.render(undefined, incremental?.values);
  const send = pageSender(requester, rendered);
  const filter = incremental === null ? null : await incremental.filter(db, resumeAfter);

  let fetched = 0;
  let rejected = 0;
  /**
   * The batches staged since the last page's checkpoint, from `pageFrom` on: what the next checkpoint proves are all
   * there (`stagedAsProven`). Earlier ones need no proof: the durable commit of the checkpoint that counted them
   * flushed them to disk.
   */
  let pageFrom = fromSeq;
  let batches = 0;
  /** Records since the last checkpoint: counted once it is saved (a retry drops and re-fetches them otherwise). */
  let sinceCheckpoint = 0;
  let pages = resumeAfter;
  let part = 0;
  let done = saved?.done ?? null;
  const batchBytes = deps.batchBytes ?? 1024 * 1024;
  const stager = new BatchPipeline(db, staging, observer, pipelineLimits(batchBytes));
  report({ phase: 'fetching', page: resumeAfter + 1, fetched, rejected, resumeAfterPage: resumeAfter });
  try {
    for await (const event of paginate(
      paginationInput(resource.name, requester.endpoint, rendered, {}),
      send,
      {
        ...(saved === undefined ? {} : { resume: saved }),
        signal,
        // Deeper than the loader stages: a record nested too deep is rejected alone (`too-deep`) instead of failing
        // the whole response, as the extractor's default (256) would.
        extract: { batchBytes, maxDepth: maxBodyDepth },
      },
    )) {
      if (event.type === 'records') {
        // Records outside the incremental window are left out (and counted), as dlt does.
        const records =
          filter === null ? event.batch.records : filter.keep(event.batch.records, `page ${event.page}`);
        fetched += records.length;
        sinceCheckpoint += records.length;
        const seq = batchSeq(event.page, part++);
        await stager.stage(seq, records);
        batches += 1;
        await keepForChildren(db, input, seq, records);
        continue;
      }
      // The page's checkpoint is saved once its batches are staged, while the next page is fetched; a retry
      // resumes after the last page saved, and the records it counts are counted then (a retry re-fetches others).
      const kept = sinceCheckpoint;
      const progress = filter?.progress;
      const proven = { staging, proof: { fromSeq: pageFrom, toSeq: batchSeq(event.page + 1, 0), batches } };
      pageFrom = batchSeq(event.page + 1, 0);
      batches = 0;
      sinceCheckpoint = 0;
      pages = event.page;
      done = event.state.done;
      part = 0;
      await stager.afterStaged(async (staged) => {
        rejected += staged;
        if (progress === undefined) await saveCheckpoint(db, loadId, resource.name, event.state, proven);
        else {
          await saveCheckpointWithProgress(db, {
            loadId,
            resource: resource.name,
            state: event.state,
            progress,
            proven,
          });
        }
        observer.kept(kept);
        report({ phase: 'fetching', page: event.page + 1, fetched, rejected, resumeAfterPage: event.page });
      });
    }
    // Not `rejected += (await …)`: that reads `rejected` before the await, while a checkpoint step adds to it.
    const tail = await stager.drain();
    rejected += tail.rejected;
  } catch (error) {
    // A failed page or a cancellation: the batches still being staged end before the attempt does (see
    // docs/loading.md for what that fences). A batch that failed while the next page was being fetched came first:
    // it is the attempt's failure, unless the attempt was cancelled.
    await stager.settle();
    const first = stager.failure;
    if (first !== undefined && !signal.aborted) throw first.error;
    throw error;
  }

  return {
    fetched,
    rejected,
    pages,
    endedIgnored: done === 'response-ignored',
    filter,
    // Past the last page's checkpoint: nothing, unless a page ended without one.
    staged: { fromSeq: pageFrom, batches },
  };
}

/**
 * The one request of a resource that is not repeatable (it sends): at most once per load (see `send-once.ts`).
 * Such a resource cannot paginate: a next page would be a second send.
 */
async function fetchOnce(
  input: IngestResourceInput,
  deps: IngestResourceDeps,
  requester: ResourceRequester,
  staging: Staging,
  signal: AbortSignal,
  observer: AttemptObserver,
): Promise<FetchedInto> {
  if (input.resource.endpoint?.paginator.type !== 'single_page') {
    throw new IngestError(
      'config',
      'NON_REPEATABLE_PAGINATED',
      `${input.source}.${input.resource.name}: a resource whose request is not repeatable (it uses config values ` +
        'or is not a GET) must use the single_page paginator — each further page would repeat the request',
    );
  }
  const records = await sendOnce(
    deps.db,
    requester,
    {
      loadId: input.loadId,
      source: input.source,
      resource: input.resource.name,
      ...(input.acknowledgeSends === true ? { acknowledgeEarlier: true } : {}),
    },
    signal,
  );
  const staged = await observer.stage(batchSeq(1, 0), records.length, () =>
    stageRecords(deps.db, staging, batchSeq(1, 0), records),
  );
  await keepForChildren(deps.db, input, batchSeq(1, 0), records);
  return {
    fetched: records.length,
    rejected: staged.rejected,
    pages: 1,
    endedIgnored: false,
    filter: null,
    // The one batch, proven by the merge: no checkpoint comes between (a retry re-stages the kept response).
    staged: { fromSeq: batchSeq(1, 0), toSeq: batchSeq(2, 0), batches: 1 },
  };
}

/** Keeps what the resource's children need of a staged batch's records (nothing when no child of it runs). */
async function keepForChildren(
  db: Kysely<Database>,
  input: IngestResourceInput,
  seq: number,
  records: readonly ExtractedRecord[],
): Promise<void> {
  // Absent from plans recorded before children were kept for: nothing to keep then.
  const paths = (input.resource as { childFields?: readonly string[] }).childFields ?? [];
  if (paths.length === 0) return;
  await writeParentRecords(db, {
    loadId: input.loadId,
    resource: input.resource.name,
    seq,
    paths,
    values: records.map((record) => record.value),
  });
}
