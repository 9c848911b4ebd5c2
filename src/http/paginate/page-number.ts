/**
 * `page_number` (dlt's `PageNumberPaginator`): `page_param` (default `page`) from `page` (default `base_page`,
 * default 0), one more each page. Stops as a range paginator does (`range.ts`): empty page,
 * `page ≥ total + base_page` (`total_path`, default `total`, counts pages), `maximum_page` (not requested).
 */
import type { ResolvedPaginator } from '../../shared/plan.ts';
import type { RangeRule } from './range.ts';

type PageNumber = Extract<ResolvedPaginator, { readonly type: 'page_number' }>;

export function pageNumberRule(paginator: PageNumber): RangeRule {
  return {
    step: 1,
    baseIndex: paginator.basePage,
    totalPath: paginator.totalPath,
    maximum: paginator.maximumPage,
    stopAfterEmptyPage: paginator.stopAfterEmptyPage,
    params: (position) => ({ [paginator.pageParam]: String(position) }),
  };
}
