/**
 * `offset` (dlt's `OffsetPaginator`): the offset (starting at `offset`, default 0) and the limit (`limit`) on every
 * request — as the query parameters `offset_param` (default `offset`) and `limit_param` (default `limit`), or at
 * `offset_body_path` / `limit_body_path` of the JSON body; the offset grows by the limit. Stops as a range
 * paginator does (`range.ts`): empty page, `offset ≥ total` (`total_path`, default `total`), `maximum_offset`,
 * `has_more_path` false.
 */
import type { ResolvedPaginator } from '../../shared/plan.ts';
import type { RangeRule } from './range.ts';

type Offset = Extract<ResolvedPaginator, { readonly type: 'offset' }>;

export function offsetRule(paginator: Offset): RangeRule {
  // A state checkpointed before the body placements and has_more_path existed lacks those fields: null.
  const offsetBodyPath = paginator.offsetBodyPath ?? null;
  const limitBodyPath = paginator.limitBodyPath ?? null;
  return {
    step: paginator.limit,
    baseIndex: 0,
    totalPath: paginator.totalPath,
    maximum: paginator.maximumOffset,
    hasMorePath: paginator.hasMorePath ?? null,
    stopAfterEmptyPage: paginator.stopAfterEmptyPage,
    fields: (position) => [
      { param: paginator.offsetParam ?? null, bodyPath: offsetBodyPath, value: position },
      { param: paginator.limitParam ?? null, bodyPath: limitBodyPath, value: paginator.limit },
    ],
  };
}
