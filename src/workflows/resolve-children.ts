/**
 * `resolveChildren`: the child workflow of one dependent resource (a `resolve` param). Its first activity builds the
 * work list in Postgres — one item per distinct set of parent values, from the parent's records of this run (or,
 * when the parent did not run, from its table) — so this workflow only ever holds item numbers and counts. Each pass
 * hands the pending items out in batches (one fetch activity per batch, a few at once); a child with `poll` passes
 * again after a durable timer while some are not final, for a bounded time, and carries the rest over to the next
 * run. It ends with ONE merge of everything it staged (the resource's commit point, with its own disposition), and
 * continues as new after a bounded number of batches, so its history stays small whatever the number of parents.
 */
import { continueAsNew, proxyActivities, setCurrentDetails, sleep } from '@temporalio/workflow';
import type {
  FetchChildBatchResult,
  ResolveActivities,
  ResolveChildrenInput,
  ResolveState,
  ResolveTotals,
} from '../shared/ingest-types.ts';
import {
  beginChildrenSummary,
  fetchBatchSummary,
  finishChildrenSummary,
  listItemsSummary,
  mergeChildrenSummary,
  pollWaitSummary,
  resolveProgressDetails,
} from './ui-metadata.ts';

const quick = proxyActivities<ResolveActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const merging = proxyActivities<ResolveActivities>({
  startToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const fetching = proxyActivities<ResolveActivities>({
  // One batch of parent value sets, each with its own pagination: heartbeats say it is alive.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  // Retries are decided by the activity (nextRetryDelay, non-retryable failures, its attempt budget).
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    // As for `ingestResource`: only a timeout waits by this backoff (the activity sets nextRetryDelay otherwise).
    maximumInterval: '10 seconds',
    maximumAttempts: 10,
  },
});

export const resolveDefaults = {
  batchSize: 50,
  pageSize: 500,
  concurrency: 4,
  maxBatchesPerRun: 500,
} as const;

const nothingFetched: FetchChildBatchResult = {
  fetched: 0,
  rejected: 0,
  pages: 0,
  done: 0,
  pending: 0,
  unresolvable: 0,
  ignored: false,
};

/** Fetches the dependent resource once per set of parent values and merges it; returns the totals. */
export async function resolveChildren(input: ResolveChildrenInput): Promise<ResolveTotals> {
  const settings = { ...resolveDefaults, ...definedOnly(input) };
  const { resource } = input;
  const poll = resource.poll;
  const run = { loadId: input.loadId, source: input.source, resource };
  let state: ResolveState;
  // The run's current details in the Web UI: phase, pass and counts so far.
  const showDetails = (phase: Parameters<typeof resolveProgressDetails>[1]) =>
    setCurrentDetails(
      resolveProgressDetails(resource, phase, state.pass, state.fetched, state.pendingThisPass),
    );
  if (input.state === undefined) {
    setCurrentDetails(resolveProgressDetails(resource, 'building the work list', 1, nothingFetched, 0));
    await quick.beginChildren.executeWithOptions({ summary: beginChildrenSummary(resource) }, [run]);
    state = {
      pass: 1,
      after: 0,
      pollUntil: poll === null ? null : Date.now() + poll.runForMs,
      pendingThisPass: 0,
      fetched: nothingFetched,
      passes: 0,
      continuedAsNew: 0,
    };
  } else state = input.state;
  let batchesThisRun = 0;
  showDetails('fetching');

  for (;;) {
    // One pass: the pending items, in keyset pages, fetched in batches.
    for (;;) {
      if (batchesThisRun >= settings.maxBatchesPerRun) {
        await continueAsNew<typeof resolveChildren>({
          ...input,
          state: { ...state, continuedAsNew: state.continuedAsNew + 1 },
        });
      }
      const limit = Math.min(
        settings.pageSize,
        (settings.maxBatchesPerRun - batchesThisRun) * settings.batchSize,
      );
      const pass = state.pass;
      const items = await quick.listChildItems.executeWithOptions(
        { summary: listItemsSummary(resource, state.after, pass) },
        [{ loadId: input.loadId, resource: resource.name, after: state.after, limit }],
      );
      if (items.length === 0) break;
      const batches = chunk(items, settings.batchSize);
      const results = await inParallel(batches, settings.concurrency, (batch) =>
        fetching.fetchChildBatch.executeWithOptions({ summary: fetchBatchSummary(resource, batch, pass) }, [
          {
            loadId: input.loadId,
            source: input.source,
            baseUrl: input.baseUrl,
            planHash: input.planHash,
            resource,
            items: batch,
            ...(input.retry === undefined ? {} : { retry: input.retry }),
          },
        ]),
      );
      batchesThisRun += batches.length;
      const fetched = results.reduce(addFetched, state.fetched);
      state = {
        ...state,
        after: items[items.length - 1] ?? state.after,
        pendingThisPass: state.pendingThisPass + results.reduce((n, r) => n + r.pending, 0),
        fetched,
      };
      showDetails('fetching');
    }
    state = { ...state, passes: state.passes + 1 };
    if (poll === null || state.pendingThisPass === 0) break;
    if (state.pollUntil === null || Date.now() + poll.intervalMs > state.pollUntil) break;
    showDetails('waiting to poll');
    await sleep(poll.intervalMs, { summary: pollWaitSummary(resource, poll.intervalMs, state.pass + 1) });
    state = { ...state, pass: state.pass + 1, after: 0, pendingThisPass: 0 };
    showDetails('fetching');
  }

  showDetails('merging');
  const counts = await merging.mergeChildren.executeWithOptions({ summary: mergeChildrenSummary(resource) }, [
    {
      ...run,
      pages: state.fetched.pages,
      incomplete: state.fetched.ignored,
      ...(input.allowDeletes === true ? { allowDeletes: true } : {}),
    },
  ]);
  setCurrentDetails(
    resolveProgressDetails(resource, 'finishing', state.pass, state.fetched, state.pendingThisPass, counts),
  );
  const finished = await quick.finishChildren.executeWithOptions(
    { summary: finishChildrenSummary(resource) },
    [{ ...run, counts }],
  );
  setCurrentDetails(
    resolveProgressDetails(resource, 'done', state.pass, state.fetched, state.pendingThisPass, counts),
  );
  return {
    counts,
    items: finished.items,
    unresolvable: finished.unresolvable,
    stillPending: finished.stillPending,
    passes: state.passes,
    continuedAsNew: state.continuedAsNew,
  };
}

function addFetched(a: FetchChildBatchResult, b: FetchChildBatchResult): FetchChildBatchResult {
  return {
    fetched: a.fetched + b.fetched,
    rejected: a.rejected + b.rejected,
    pages: a.pages + b.pages,
    done: a.done + b.done,
    pending: a.pending + b.pending,
    unresolvable: a.unresolvable + b.unresolvable,
    ignored: a.ignored || b.ignored,
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

function definedOnly(input: ResolveChildrenInput): Partial<typeof resolveDefaults> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(resolveDefaults) as (keyof typeof resolveDefaults)[]) {
    const value = input[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}
