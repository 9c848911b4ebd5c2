/** `single_page`: one request, whatever the response says (the seeds' paginator). */
import type { PageStep, PaginationState } from './types.ts';

/** Always done after the first page. */
export function advanceSinglePage(state: PaginationState): PageStep {
  return { type: 'done', reason: 'single-page', state: { ...state, next: null, done: 'single-page' } };
}
