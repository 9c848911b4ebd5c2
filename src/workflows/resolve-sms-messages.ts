/**
 * `resolveSmsMessages`: the child workflow that resolves the message details behind SMS request ids. Each polling
 * pass walks the pending ids in Postgres with a keyset cursor (this run's send included: it is in `messaging.sms`),
 * fetches them in batches — one activity per batch, a few at once — and ends with ONE merge of what it staged. While
 * messages are not final, it polls again after a durable timer, for a short, bounded time (default: minutes); what
 * is still pending then is picked up by the next run, from Postgres. It continues as new after a bounded number of
 * batches, so its history stays small whatever the number of ids.
 */
import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import {
  zeroCounts,
  type ResolveActivities,
  type ResolveSmsMessagesInput,
  type ResolveState,
  type ResolveTotals,
  type ResourceCounts,
} from '../shared/ingest-types.ts';

const quick = proxyActivities<ResolveActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const fetching = proxyActivities<ResolveActivities>({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 8,
  },
});

export const resolveDefaults = {
  batchSize: 50,
  pageSize: 500,
  concurrency: 4,
  pollIntervalMs: 20_000,
  pollForMs: 5 * 60_000,
  maxBatchesPerRun: 500,
} as const;

/** Resolves pending message ids into `messages`; returns the totals (still-pending ones included). */
export async function resolveSmsMessages(input: ResolveSmsMessagesInput): Promise<ResolveTotals> {
  const settings = { ...resolveDefaults, ...definedOnly(input) };
  const lifecycle = { loadId: input.loadId, source: input.source, resource: input.resource };
  let state: ResolveState = input.state ?? {
    pass: 1,
    after: null,
    batches: 0,
    pollUntil: Date.now() + settings.pollForMs,
    pendingThisPass: 0,
    totals: { counts: zeroCounts, final: 0, unresolvable: 0, stillPending: 0, passes: 0, continuedAsNew: 0 },
    continuedAsNew: 0,
  };
  if (input.state === undefined) await quick.beginResolve(lifecycle);
  let batchesThisRun = 0;

  for (;;) {
    // One pass: keyset pages of pending ids, fetched in batches.
    for (;;) {
      if (batchesThisRun >= settings.maxBatchesPerRun) {
        await continueAsNew<typeof resolveSmsMessages>({
          ...input,
          state: { ...state, continuedAsNew: state.continuedAsNew + 1 },
        });
      }
      const limit = Math.min(
        settings.pageSize,
        (settings.maxBatchesPerRun - batchesThisRun) * settings.batchSize,
      );
      const { ids } = await quick.listPendingMessages({
        source: input.source,
        resource: input.resource,
        after: state.after,
        limit,
      });
      if (ids.length === 0) break;
      const batches = chunk(ids, settings.batchSize);
      const results = await inParallel(batches, settings.concurrency, (batchIds, index) =>
        fetching.fetchMessageBatch({
          loadId: input.loadId,
          source: input.source,
          baseUrl: input.baseUrl,
          planHash: input.planHash,
          resource: input.resource,
          ids: batchIds,
          batch: state.batches + index + 1,
        }),
      );
      batchesThisRun += batches.length;
      const pending = results.reduce((n, r) => n + r.pending, 0);
      state = {
        ...state,
        after: ids[ids.length - 1] ?? state.after,
        batches: state.batches + batches.length,
        pendingThisPass: state.pendingThisPass + pending,
        totals: {
          ...state.totals,
          final: state.totals.final + results.reduce((n, r) => n + r.final, 0),
          unresolvable: state.totals.unresolvable + results.reduce((n, r) => n + r.unresolvable, 0),
        },
      };
    }
    const merged = await quick.mergeMessagePass(lifecycle);
    state = {
      ...state,
      totals: {
        ...state.totals,
        counts: addCounts(state.totals.counts, merged),
        passes: state.totals.passes + 1,
      },
    };
    const pending = state.pendingThisPass;
    const wait = settings.pollIntervalMs;
    if (pending === 0 || Date.now() + wait > state.pollUntil) {
      const totals: ResolveTotals = {
        ...state.totals,
        stillPending: pending,
        continuedAsNew: state.continuedAsNew,
      };
      await quick.finishResolve({ ...lifecycle, totals: totals.counts });
      return totals;
    }
    await sleep(wait);
    state = { ...state, pass: state.pass + 1, after: null, pendingThisPass: 0 };
  }
}

function addCounts(a: ResourceCounts, b: ResourceCounts): ResourceCounts {
  return {
    fetched: a.fetched + b.fetched,
    inserted: a.inserted + b.inserted,
    updated: a.updated + b.updated,
    unchanged: a.unchanged + b.unchanged,
    deleted: a.deleted + b.deleted,
    rejected: a.rejected + b.rejected,
    pages: a.pages + b.pages,
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
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

function definedOnly(input: ResolveSmsMessagesInput): Partial<typeof resolveDefaults> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(resolveDefaults) as (keyof typeof resolveDefaults)[]) {
    const value = input[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}
