/**
 * What an attempt tells the metrics: a failure is a rate-limited retry (with the Retry-After delay), a transient retry
 * (with its backoff) or a failure for good (with its code), as the one boundary decided — for good on the last
 * attempt the retry policy allows too, and nothing at all when the activity was cancelled; a merge records its rows
 * by outcome and its duration, except one an earlier attempt committed (already counted).
 */
import { describe, expect, it } from 'vitest';
import { toApplicationFailure } from '../../../src/activities/failure.ts';
import { observeAttempt } from '../../../src/activities/observe.ts';
import type { MergeOutcome } from '../../../src/db/merge/merge.ts';
import { IngestError } from '../../../src/errors.ts';
import { noIngestMetrics, type IngestMetrics } from '../../../src/telemetry/ingest-metrics.ts';

/** An `IngestMetrics` that keeps what it is told. */
function recorder(): IngestMetrics & { readonly calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    ...noIngestMetrics,
    calls,
    fetched: (...args) => void calls.push(['fetched', ...args]),
    retried: (...args) => void calls.push(['retried', ...args]),
    failed: (...args) => void calls.push(['failed', ...args]),
    merged: (...args) => void calls.push(['merged', ...args]),
  };
}

const run = { loadId: 'load-1', source: 'shop', resource: 'orders' };
const labels = { source: 'shop', resource: 'orders' };
const counts = { transientFailures: 1, rateLimited: 0 };
/** An attempt of an activity without a cap on attempts (`ingestResource`'s retry policy). */
const running = { cancelled: false, attempt: 1, maximumAttempts: undefined };

describe('observeAttempt', () => {
  it('records a rate-limited retry with the delay the boundary chose', () => {
    const metrics = recorder();
    const error = new IngestError('http-transient', 'HTTP_RATE_LIMITED', '429', { retryAfterMs: 2_000 });
    const failure = toApplicationFailure(error, counts, undefined, () => 0);
    observeAttempt(run, metrics).failed(failure, running);
    expect(metrics.calls).toEqual([['retried', labels, 'rate_limited', failure.nextRetryDelay]]);
    expect(failure.nextRetryDelay).toBeGreaterThanOrEqual(2_000);
  });

  it('records a transient retry with its backoff, and a failure for good with its code', () => {
    const metrics = recorder();
    const transient = toApplicationFailure(
      new IngestError('http-transient', 'HTTP_SERVER_ERROR', '503'),
      counts,
    );
    const permanent = toApplicationFailure(
      new IngestError('http-permanent', 'HTTP_CLIENT_ERROR', '404'),
      counts,
    );
    observeAttempt(run, metrics).failed(transient, running);
    observeAttempt(run, metrics).failed(permanent, running);
    expect(metrics.calls).toEqual([
      ['retried', labels, 'transient', transient.nextRetryDelay],
      ['failed', labels, 'HTTP_CLIENT_ERROR'],
    ]);
  });

  it('records the last attempt the retry policy allows as a failure for good, not a retry', () => {
    const metrics = recorder();
    const transient = toApplicationFailure(
      new IngestError('database', 'DATABASE_UNAVAILABLE', 'gone'),
      counts,
    );
    expect(transient.nonRetryable).toBe(false);
    observeAttempt(run, metrics).failed(transient, { cancelled: false, attempt: 9, maximumAttempts: 10 });
    observeAttempt(run, metrics).failed(transient, { cancelled: false, attempt: 10, maximumAttempts: 10 });
    expect(metrics.calls).toEqual([
      ['retried', labels, 'transient', transient.nextRetryDelay],
      ['failed', labels, 'DATABASE_UNAVAILABLE'],
    ]);
  });

  it('records nothing for a cancelled attempt (a cancelled run, or its worker shutting down)', () => {
    const metrics = recorder();
    const permanent = toApplicationFailure(
      new IngestError('http-permanent', 'HTTP_CLIENT_ERROR', '404'),
      counts,
    );
    const transient = toApplicationFailure(
      new IngestError('http-transient', 'HTTP_SERVER_ERROR', '503'),
      counts,
    );
    const cancelled = { cancelled: true, attempt: 10, maximumAttempts: 10 };
    observeAttempt(run, metrics).failed(permanent, cancelled);
    observeAttempt(run, metrics).failed(transient, cancelled);
    expect(metrics.calls).toEqual([]);
  });

  it('counts records fetched when they are kept, not when a batch is staged', async () => {
    const metrics = recorder();
    const observer = observeAttempt(run, metrics);
    await observer.stage(1, 5, () => Promise.resolve({ staged: 5, rejected: 0, replaced: false }));
    expect(metrics.calls).toEqual([]);
    observer.kept(5);
    observer.kept(0);
    expect(metrics.calls).toEqual([['fetched', labels, 5]]);
  });

  it('records a merge once: not again when an earlier attempt had committed it', async () => {
    const metrics = recorder();
    const outcome = {
      inserted: 3,
      updated: 1,
      unchanged: 2,
      deleted: 0,
      rejected: 1,
      mergeMs: 250,
      alreadyMerged: false,
    } as MergeOutcome;
    const observer = observeAttempt(run, metrics);
    await observer.merge('merge', () => Promise.resolve(outcome));
    await observer.merge('merge', () => Promise.resolve({ ...outcome, alreadyMerged: true }));
    expect(metrics.calls).toEqual([['merged', { ...labels, disposition: 'merge' }, outcome, 0.25]]);
  });
});
