/**
 * `page_number` (dlt's `PageNumberPaginator`): the page, from `page` (default `base_page`, default 0), one more each
 * page — as the query parameter `page_param` (default `page`) or at `page_body_path` of the JSON body. Stops as a
 * range paginator does (`range.ts`): empty page, `page ≥ total + base_page` (`total_path`, default `total`, counts
 * pages), `maximum_page` (not requested), `has_more_path` false.
 */
import type { ResolvedPaginator } from '../../shared/plan.ts';
import type { RangeRule } from './range.ts';

type PageNumber = Extract<ResolvedPaginator, { readonly type: 'page_number' }>;

export function pageNumberRule(paginator: PageNumber): RangeRule {
  // A state checkpointed before the body placement and has_more_path existed lacks those fields: null.
  const pageBodyPath = paginator.pageBodyPath ?? null;
  return {
    step: 1,
    baseIndex: paginator.basePage,
    totalPath: paginator.totalPath,
    maximum: paginator.maximumPage,
    hasMorePath: paginator.hasMorePath ?? null,
    stopAfterEmptyPage: paginator.stopAfterEmptyPage,
    fields: (position) => [{ param: paginator.pageParam ?? null, bodyPath: pageBodyPath, value: position }],
  };
}
