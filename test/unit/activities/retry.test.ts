import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../src/errors.ts';
import { countFailure, toApplicationFailure } from '../../../src/activities/failure.ts';
import { decideRetry, defaultRetryBudget, type AttemptCounts } from '../../../src/activities/retry.ts';

const transient = new IngestError('http-transient', 'HTTP_503', 'GET /x answered 503');
const rateLimited = (ms: number) =>
  new IngestError('http-transient', 'HTTP_429', 'GET /x answered 429', { retryAfterMs: ms });
const permanent = new IngestError('http-permanent', 'HTTP_404', 'GET /x answered 404');
const counts = (transientFailures: number, rateLimitedCount = 0): AttemptCounts => ({
  transientFailures,
  rateLimited: rateLimitedCount,
});

describe('decideRetry', () => {
  it('backs off exponentially with jitter: each delay lies in [base/2, base] and the ranges grow', () => {
    const delays = (random: () => number) =>
      [1, 2, 3, 4, 5].map((n) => {
        const decision = decideRetry(transient, counts(n), defaultRetryBudget, random);
        if (!decision.retry) throw new Error('expected a retry');
        return decision.delayMs;
      });
    expect(delays(() => 0)).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(delays(() => 0.999999)).toEqual([1000, 2000, 4000, 8000, 16000]);
    const random = delays(Math.random);
    for (let i = 1; i < random.length; i++) expect(random[i]).toBeGreaterThanOrEqual(random[i - 1] ?? 0);
  });

  it('caps the backoff at maxDelayMs', () => {
    const decision = decideRetry(transient, counts(7), { ...defaultRetryBudget, maxDelayMs: 3_000 }, () => 1);
    expect(decision).toEqual({ retry: true, delayMs: 3_000, rateLimited: false });
  });

  it('gives up after maxAttempts transient failures, saying so', () => {
    const decision = decideRetry(transient, counts(8), defaultRetryBudget, () => 0);
    expect(decision).toEqual({
      retry: false,
      reason: expect.stringContaining('gave up after 8 transient failures') as unknown,
    });
  });

  it('waits at least Retry-After, with a little jitter on top', () => {
    const decision = decideRetry(rateLimited(2_000), counts(0, 1), defaultRetryBudget, () => 0.5);
    expect(decision).toEqual({ retry: true, delayMs: 2_100, rateLimited: true });
  });

  it('never turns Retry-After: 0 into a hot loop: the floor applies', () => {
    const decision = decideRetry(rateLimited(0), counts(0, 1), defaultRetryBudget, () => 0);
    expect(decision).toMatchObject({ retry: true, delayMs: defaultRetryBudget.retryAfterFloorMs });
  });

  it('fails instead of waiting beyond the ceiling', () => {
    const decision = decideRetry(rateLimited(10 * 60_000), counts(0, 1));
    expect(decision).toEqual({
      retry: false,
      reason: expect.stringContaining('longer than the ceiling of 5.0 min') as unknown,
    });
  });

  it('lets a storm of 429s spend time, not attempts', () => {
    const decision = decideRetry(rateLimited(1_000), counts(7, 500), defaultRetryBudget, () => 0);
    expect(decision).toMatchObject({ retry: true, rateLimited: true });
  });

  it('never retries what is not retryable', () => {
    expect(decideRetry(permanent, counts(0))).toEqual({ retry: false, reason: 'HTTP_404 is not retryable' });
  });
});

describe('countFailure', () => {
  it('counts rate limiting apart from other transient failures, and permanent failures not at all', () => {
    expect(countFailure(rateLimited(1), counts(1, 1))).toEqual(counts(1, 2));
    expect(countFailure(transient, counts(1, 1))).toEqual(counts(2, 1));
    expect(countFailure(permanent, counts(1, 1))).toEqual(counts(1, 1));
  });
});

describe('toApplicationFailure', () => {
  it('keeps the code as the type and sets nextRetryDelay on a retryable failure', () => {
    const failure = toApplicationFailure(transient, counts(1), defaultRetryBudget, () => 0);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'HTTP_503', nonRetryable: false, nextRetryDelay: 500 });
    expect(failure.details?.[0]).toMatchObject({
      code: 'HTTP_503',
      category: 'http-transient',
      retryable: true,
    });
  });

  it('makes permanent failures non-retryable with their message unchanged', () => {
    const failure = toApplicationFailure(permanent, counts(0));
    expect(failure).toMatchObject({ type: 'HTTP_404', nonRetryable: true, message: 'GET /x answered 404' });
  });

  it('says why a retryable failure stops being retried', () => {
    const failure = toApplicationFailure(rateLimited(3_600_000), counts(0, 1));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('Retry-After');
  });

  it('types anything else INTERNAL and retries it with backoff', () => {
    const failure = toApplicationFailure(
      new TypeError('x is undefined'),
      counts(1),
      defaultRetryBudget,
      () => 0,
    );
    expect(failure).toMatchObject({ type: 'INTERNAL', nonRetryable: false, message: 'x is undefined' });
  });
});
