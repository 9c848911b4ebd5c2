/**
 * The errors of pagination, all `IngestError`s of the one taxonomy: a loop that does not end is a clear,
 * non-retryable error (a repeated link or cursor, too many pages, a link to another origin), as is a response the
 * paginator cannot read (a total, has-more flag or cursor missing or of the wrong type). Messages quote values
 * only after redaction.
 */
import { IngestError } from '../../errors.ts';
import type { ErrorCategory } from '../../errors.ts';

export const paginationErrorCodes = [
  'PAGINATION_MAX_PAGES',
  'PAGINATION_LOOP',
  'PAGINATION_FOREIGN_LINK',
  'PAGINATION_NEXT_URL_INVALID',
  'PAGINATION_CURSOR_INVALID',
  'PAGINATION_TOTAL_NOT_FOUND',
  'PAGINATION_TOTAL_INVALID',
  'PAGINATION_HAS_MORE_NOT_FOUND',
  'PAGINATION_HAS_MORE_INVALID',
  'PAGINATION_UNBOUNDED',
  'PAGINATION_STATE_INVALID',
] as const;
export type PaginationErrorCode = (typeof paginationErrorCodes)[number];

/** A pagination error; `details` are JSON-safe and secret-free. */
export function paginationError(
  category: ErrorCategory,
  code: PaginationErrorCode,
  message: string,
  details: Readonly<Record<string, unknown>> = {},
): IngestError {
  return new IngestError(category, code, message, { retryable: false, details });
}

/** A value for a message: JSON, cut to 100 characters. */
export function excerpt(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
