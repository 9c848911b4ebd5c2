/**
 * `resolveChildren`: the child workflow of one dependent resource (a `resolve` param). Its first activity builds the
 * work list in Postgres — one item per distinct set of parent values, from the parent's records of this run (or,
 * when the parent did not run, from its table) — so this workflow only ever holds item numbers and counts. Each pass
 * hands the pending items out in batches (one fetch activity per batch, a few at once); a child with `poll` passes
 * again after a durable timer while some are not final, for a bounded time, and carries the rest over to the next
 * run. It ends with ONE merge of everything it staged (the resource's commit point, with its own disposition), and
 * continues as new after a bounded number of batches, so its history stays small whatever the number of parents.
 */
import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type {
  FetchChildBatchResult,
  ResolveActivities,
  ResolveChildrenInput,
  ResolveState,
  ResolveTotals,
} from '../shared/ingest-types.ts';

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
    maximumInterval: '1 minute',
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
  if (input.state === undefined) {
    await quick.beginChildren(run);
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
      const items = await quick.listChildItems({
        loadId: input.loadId,
        resource: resource.name,
        after: state.after,
        limit,
      });
      if (items.length === 0) break;
      const batches = chunk(items, settings.batchSize);
      const results = await inParallel(batches, settings.concurrency, (batch) =>
        fetching.fetchChildBatch({
          loadId: input.loadId,
          source: input.source,
          baseUrl: input.baseUrl,
          planHash: input.planHash,
          resource,
          items: batch,
          ...(input.retry === undefined ? {} : { retry: input.retry }),
        }),
      );
      batchesThisRun += batches.length;
      const fetched = results.reduce(addFetched, state.fetched);
      state = {
        ...state,
        after: items[items.length - 1] ?? state.after,
        pendingThisPass: state.pendingThisPass + results.reduce((n, r) => n + r.pending, 0),
        fetched,
      };
    }
    state = { ...state, passes: state.passes + 1 };
    if (poll === null || state.pendingThisPass === 0) break;
    if (state.pollUntil === null || Date.now() + poll.intervalMs > state.pollUntil) break;
    await sleep(poll.intervalMs);
    state = { ...state, pass: state.pass + 1, after: 0, pendingThisPass: 0 };
  }

  const counts = await merging.mergeChildren({
    ...run,
    pages: state.fetched.pages,
    incomplete: state.fetched.ignored,
  });
  const finished = await quick.finishChildren({ ...run, counts });
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
