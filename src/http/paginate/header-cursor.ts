/**
 * `header_cursor` (dlt's `HeaderCursorPaginator`): the cursor is the response header `cursor_key` (default
 * `next`), sent as the query parameter `cursor_param` (default `cursor`). No header, or an empty one: done.
 */
import type { ResolvedPaginator } from '../../shared/plan.ts';
import { followCursor, noNextCursor } from './cursor.ts';
import { headerValues } from './link-header.ts';
import type { PageFacts, PageStep, PaginationState } from './types.ts';

type HeaderCursor = Extract<ResolvedPaginator, { readonly type: 'header_cursor' }>;

export function advanceHeaderCursor(
  paginator: HeaderCursor,
  state: PaginationState,
  facts: PageFacts,
): PageStep {
  const cursor = headerValues(facts.headers, paginator.cursorKey)[0]?.trim();
  if (cursor === undefined || cursor === '') return noNextCursor(state);
  return followCursor(state, { type: 'params', params: { [paginator.cursorParam]: cursor } }, cursor);
}
