/**
 * The one error taxonomy of durable-ingest. Every failure we raise on purpose is an `IngestError` with a stable
 * `code`, a `category` and whether retrying can help. The activity boundary turns these into Temporal
 * `ApplicationFailure`s (type = code); nothing else in the code base decides retryability.
 */

export const errorCategories = [
  /** The source config or the workflow input is wrong: fix the file or the input. */
  'config',
  /** 429, 408, 5xx, network and timeouts: retrying may help (honour `retryAfterMs`). */
  'http-transient',
  /** Any other 4xx: retrying the same request cannot help. */
  'http-permanent',
  /** 401/403 or a credential that cannot be obtained. */
  'auth',
  /** The response is not what the config says (not JSON, HTML with 200, selector missing). */
  'response-shape',
  /** Postgres refused or lost a statement. */
  'database',
  /** The machine lacks something the local stack needs (a binary, a port, an environment variable). */
  'environment',
  /** Another run holds what this one needs (a source's lease): wait for it or cancel it; retrying now cannot help. */
  'conflict',
  /** Not one of ours: a bug. Retried with backoff, reported as `INTERNAL`. */
  'internal',
] as const;

export type ErrorCategory = (typeof errorCategories)[number];

export interface IngestErrorOptions {
  readonly retryable?: boolean;
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
  /** Small, JSON-safe, secret-free facts for operators (resource, status, …). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Base class of every error we raise on purpose. `code` is stable public API (it becomes the failure type). */
export class IngestError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(category: ErrorCategory, code: string, message: string, options: IngestErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IngestError';
    this.category = category;
    this.code = code;
    this.retryable =
      options.retryable ??
      (category === 'http-transient' || category === 'database' || category === 'internal');
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details ?? {};
  }
}

/** True for errors of our taxonomy (also across realms, where `instanceof` fails). */
export function isIngestError(error: unknown): error is IngestError {
  return error instanceof IngestError;
}

/** A readable message for anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
