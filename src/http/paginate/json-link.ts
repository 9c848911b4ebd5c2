/**
 * `json_link` (dlt's `JSONLinkPaginator`, alias `json_response`): the next URL is the value at `next_url_path` in
 * the body (default `next`). Missing, null or empty: done. Not a string: an error. Relative links resolve against
 * the response's URL; the next request is that URL alone (dlt drops the endpoint's params for it).
 */
import { capturedAt } from '../extract/capture.ts';
import type { CaptureOptions } from '../extract/capture.ts';
import type { ResolvedPaginator } from '../../shared/plan.ts';
import { followReference } from './loop-guard.ts';
import { resolveNextUrl } from './next-url.ts';
import { excerpt, paginationError } from './pagination-errors.ts';
import type { PageFacts, PageStep, PaginationPolicy, PaginationState } from './types.ts';

type JsonLink = Extract<ResolvedPaginator, { readonly type: 'json_link' }>;

export function jsonLinkCapture(paginator: JsonLink): CaptureOptions {
  return { paths: [paginator.nextUrlPath] };
}

/** Follows a next URL (shared with `header_link`): redacted, origin-checked, not seen before. */
export function followNextUrl(
  link: string,
  state: PaginationState,
  facts: PageFacts,
  policy: PaginationPolicy,
): PageStep {
  const url = resolveNextUrl(link, facts.url, policy, state.pages);
  const loop = followReference(state.loop, 'url', url, state.pages);
  const next = { type: 'url', url } as const;
  return { type: 'next', next, state: { ...state, next, loop } };
}

/** The end of a link-following pagination. */
export function noNextUrl(state: PaginationState): PageStep {
  return { type: 'done', reason: 'no-next-url', state: { ...state, next: null, done: 'no-next-url' } };
}

export function advanceJsonLink(
  paginator: JsonLink,
  state: PaginationState,
  facts: PageFacts,
  policy: PaginationPolicy,
): PageStep {
  const value = capturedAt(facts.captured, paginator.nextUrlPath);
  if (value === undefined || value === null || value === '') return noNextUrl(state);
  if (typeof value !== 'string') {
    throw paginationError(
      'response-shape',
      'PAGINATION_NEXT_URL_INVALID',
      `page ${state.pages}: the next link at ${paginator.nextUrlPath} is not a string: ${excerpt(value)}`,
      { page: state.pages, nextUrlPath: paginator.nextUrlPath },
    );
  }
  return followNextUrl(value, state, facts, policy);
}
