/**
 * When to retry a failed activity attempt, and after how long. Temporal's retry policy has no jitter and counts a
 * 429 like any other failure, so the activity decides: exponential backoff with jitter for transient failures; at
 * least `Retry-After` for rate limiting (with a floor, so `Retry-After: 0` is no hot loop, and a ceiling above which
 * the resource fails with a clear message). Rate-limited attempts spend the time budget (the activity's
 * schedule-to-close timeout), not the attempt budget. Pure: the caller passes the counts and a random source.
 */
import type { IngestError } from '../errors.ts';

export interface RetryBudget {
  /** Backoff of the first transient retry; each next one doubles (`multiplier`), up to `maxDelayMs`. */
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  /** Transient failures (not counting rate limiting) after which the resource gives up. */
  readonly maxAttempts: number;
  /** The shortest wait a `Retry-After` can ask for (0 or a past date become this). */
  readonly retryAfterFloorMs: number;
  /** A `Retry-After` longer than this fails the resource instead of waiting. */
  readonly retryAfterCeilingMs: number;
}

export const defaultRetryBudget: RetryBudget = {
  initialDelayMs: 1_000,
  multiplier: 2,
  maxDelayMs: 60_000,
  maxAttempts: 8,
  retryAfterFloorMs: 1_000,
  retryAfterCeilingMs: 5 * 60_000,
};

/** What the attempts so far were: transient failures and rate-limited replies, this one included. */
export interface AttemptCounts {
  readonly transientFailures: number;
  readonly rateLimited: number;
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number; readonly rateLimited: boolean }
  | { readonly retry: false; readonly reason: string };

/** True for a failure whose server asked us to wait (429, or 503 with `Retry-After`). */
export function isRateLimited(error: IngestError): boolean {
  return error.retryable && error.retryAfterMs !== undefined;
}

/**
 * Decides about one failed attempt. `counts` already include this failure. Equal jitter keeps each backoff within
 * [base/2, base], so delays grow from one attempt to the next while two workers never retry in lockstep.
 */
export function decideRetry(
  error: IngestError,
  counts: AttemptCounts,
  budget: RetryBudget = defaultRetryBudget,
  random: () => number = Math.random,
): RetryDecision {
  if (!error.retryable) return { retry: false, reason: `${error.code} is not retryable` };
  if (isRateLimited(error)) {
    const asked = error.retryAfterMs ?? 0;
    if (asked > budget.retryAfterCeilingMs) {
      return {
        retry: false,
        reason:
          `the API asked to wait ${formatMs(asked)} (Retry-After), longer than the ceiling of ` +
          `${formatMs(budget.retryAfterCeilingMs)}; the resource fails instead of waiting`,
      };
    }
    // A little jitter on top, never below what the server asked for.
    const floor = Math.max(asked, budget.retryAfterFloorMs);
    return {
      retry: true,
      delayMs: Math.ceil(floor + random() * Math.min(1_000, floor * 0.1)),
      rateLimited: true,
    };
  }
  if (counts.transientFailures >= budget.maxAttempts) {
    return {
      retry: false,
      reason: `gave up after ${counts.transientFailures} transient failures (the budget is ${budget.maxAttempts})`,
    };
  }
  const exponent = Math.max(0, counts.transientFailures - 1);
  const base = Math.min(budget.maxDelayMs, budget.initialDelayMs * budget.multiplier ** exponent);
  return { retry: true, delayMs: Math.ceil(base / 2 + random() * (base / 2)), rateLimited: false };
}

function formatMs(ms: number): string {
  return ms >= 60_000
    ? `${(ms / 60_000).toFixed(1)} min`
    : `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}
