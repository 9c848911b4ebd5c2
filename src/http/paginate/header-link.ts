/**
 * `header_link` (dlt's `HeaderLinkPaginator`): the next URL is the `Link` header's link whose `rel` is
 * `links_next_key` (default `next`, compared case-insensitively). No such link: done.
 */
import type { ResolvedPaginator } from '../../shared/plan.ts';
import { followNextUrl, noNextUrl } from './json-link.ts';
import { findLink } from './link-header.ts';
import type { PageFacts, PageStep, PaginationPolicy, PaginationState } from './types.ts';

type HeaderLink = Extract<ResolvedPaginator, { readonly type: 'header_link' }>;

export function advanceHeaderLink(
  paginator: HeaderLink,
  state: PaginationState,
  facts: PageFacts,
  policy: PaginationPolicy,
): PageStep {
  const link = findLink(facts.headers, paginator.linksNextKey);
  if (link === undefined || link === '') return noNextUrl(state);
  return followNextUrl(link, state, facts, policy);
}
