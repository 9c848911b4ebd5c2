/**
 * `offset` (dlt's `OffsetPaginator`): `offset_param` (default `offset`, starting at `offset`, default 0) and
 * `limit_param` (default `limit`, value `limit`) on every request; the offset grows by the limit. Stops as a range
 * paginator does (`range.ts`): empty page, `offset ≥ total` (`total_path`, default `total`), `maximum_offset`.
 */
import type { ResolvedPaginator } from '../../shared/plan.ts';
import type { RangeRule } from './range.ts';

type Offset = Extract<ResolvedPaginator, { readonly type: 'offset' }>;

export function offsetRule(paginator: Offset): RangeRule {
  return {
    step: paginator.limit,
    baseIndex: 0,
    totalPath: paginator.totalPath,
    maximum: paginator.maximumOffset,
    stopAfterEmptyPage: paginator.stopAfterEmptyPage,
    params: (position) => ({
      [paginator.offsetParam]: String(position),
      [paginator.limitParam]: String(paginator.limit),
    }),
  };
}
