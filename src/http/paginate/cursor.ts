/**
 * `cursor` (dlt's `JSONResponseCursorPaginator`): the cursor is the value at `cursor_path` (default
 * `cursors.next`); like dlt, a missing or falsy one (null, "", 0, false) ends the pagination. A string or number is
 * sent as the query parameter `cursor_param` (default `cursor`) of the first request, or put at `cursor_body_path`
 * of its JSON body. An object or array is an error.
 */
import { capturedAt } from '../extract/capture.ts';
import type { CaptureOptions } from '../extract/capture.ts';
import type { ResolvedPaginator } from '../../shared/plan.ts';
import { followReference } from './loop-guard.ts';
import { excerpt, paginationError } from './pagination-errors.ts';
import type { NextRequest, PageFacts, PageStep, PaginationState } from './types.ts';

type Cursor = Extract<ResolvedPaginator, { readonly type: 'cursor' }>;

export function cursorCapture(paginator: Cursor): CaptureOptions {
  return { paths: [paginator.cursorPath] };
}

/** The end of a cursor pagination. */
export function noNextCursor(state: PaginationState): PageStep {
  return { type: 'done', reason: 'no-next-cursor', state: { ...state, next: null, done: 'no-next-cursor' } };
}

/** Follows a cursor (shared with `header_cursor`), unless it was followed before. */
export function followCursor(state: PaginationState, next: NextRequest, cursor: string): PageStep {
  const loop = followReference(state.loop, 'cursor', cursor, state.pages);
  return { type: 'next', next, state: { ...state, next, loop } };
}

export function advanceCursor(paginator: Cursor, state: PaginationState, facts: PageFacts): PageStep {
  const value = capturedAt(facts.captured, paginator.cursorPath);
  if (value === undefined || value === null || value === '' || value === 0 || value === false) {
    return noNextCursor(state);
  }
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw paginationError(
      'response-shape',
      'PAGINATION_CURSOR_INVALID',
      `page ${state.pages}: the cursor at ${paginator.cursorPath} is not a string or number: ${excerpt(value)}`,
      { page: state.pages, cursorPath: paginator.cursorPath },
    );
  }
  const next: NextRequest =
    paginator.cursorBodyPath !== null
      ? { type: 'body', path: paginator.cursorBodyPath, value }
      : { type: 'params', params: { [paginator.cursorParam ?? 'cursor']: String(value) } };
  return followCursor(state, next, String(value));
}
