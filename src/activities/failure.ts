/**
 * The one boundary where errors become Temporal failures. An `IngestError` keeps its `code` as the failure type (so
 * operators and workflows can match on it), its message (already secret-free by construction), and becomes
 * non-retryable or gets a `nextRetryDelay` from `decideRetry`. Anything else is a bug: it is retried with backoff
 * like a transient failure, typed `INTERNAL`, and its message is kept (never a cause chain that might hold a
 * request).
 */
import { ApplicationFailure } from '@temporalio/common';
import { databaseRefusal, databaseUnavailable } from '../db/database.ts';
import { IngestError, describeError, isIngestError } from '../errors.ts';
import {
  decideRetry,
  defaultRetryBudget,
  isRateLimited,
  type AttemptCounts,
  type RetryBudget,
} from './retry.ts';

/** Facts about a failure that the workflow and operators can read from its details (JSON, no secrets). */
export interface FailureFacts {
  readonly code: string;
  readonly category: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * Classifies anything thrown into our taxonomy. A Postgres that refused this client (`DATABASE_TLS_FAILED`,
 * `DATABASE_ACCESS_DENIED`) or whose connection was lost or refused (a server restart: `DATABASE_UNAVAILABLE`) is
 * that, retryable — thrown as is, or as the cause of a `database` error a db function wrapped it in (`STAGE_FAILED`,
 * `MERGE_FAILED`, …): the same rule for every db function. Other unknown errors become a retryable `INTERNAL`.
 * Other categories' errors stay as they are (an `http-transient` error's cause may carry ECONNRESET too: that
 * connection was to the API).
 */
export function asIngestError(error: unknown): IngestError {
  if (isIngestError(error) && error.category !== 'database') return error;
  const database = databaseRefusal(error) ?? databaseUnavailable(error);
  if (database !== undefined) return database;
  return isIngestError(error) ? error : new IngestError('internal', 'INTERNAL', describeError(error));
}

/** Counts this failure into `before` (rate-limited replies apart from other transient failures). */
export function countFailure(error: IngestError, before: AttemptCounts): AttemptCounts {
  if (!error.retryable) return before;
  return isRateLimited(error)
    ? { ...before, rateLimited: before.rateLimited + 1 }
    : { ...before, transientFailures: before.transientFailures + 1 };
}

/**
 * Turns a failed attempt into the `ApplicationFailure` to throw. `counts` include this failure (see
 * `countFailure`).
 */
export function toApplicationFailure(
  error: unknown,
  counts: AttemptCounts,
  budget: RetryBudget = defaultRetryBudget,
  random: () => number = Math.random,
): ApplicationFailure {
  const ingest = asIngestError(error);
  const facts: FailureFacts = {
    code: ingest.code,
    category: ingest.category,
    retryable: ingest.retryable,
    ...(ingest.retryAfterMs === undefined ? {} : { retryAfterMs: ingest.retryAfterMs }),
    details: ingest.details,
  };
  const decision = decideRetry(ingest, counts, budget, random);
  if (!decision.retry) {
    const message = ingest.retryable ? `${ingest.message} (${decision.reason})` : ingest.message;
    return ApplicationFailure.create({ type: ingest.code, message, nonRetryable: true, details: [facts] });
  }
  return ApplicationFailure.create({
    type: ingest.code,
    message: ingest.message,
    nonRetryable: false,
    nextRetryDelay: decision.delayMs,
    details: [facts],
  });
}
