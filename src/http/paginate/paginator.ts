/**
 * The paginators as one pure state machine over plain JSON: `startPagination` gives the state before the first
 * request, `pageCapture` says which body values the next response must capture, and `advancePagination` takes the
 * facts of a response and answers `{ type: 'next', next, state }` or `{ type: 'done', reason, state }`. The guards
 * that end every loop live here: `max_pages` (an error when a next page is still wanted after that many), a
 * repeated next URL or cursor (`loop-guard.ts`), links to another origin, and the range paginators' own stops.
 */
import type { ResolvedPaginator } from '../../shared/plan.ts';
import type { CaptureOptions } from '../extract/capture.ts';
import { autoCapture, detectPaginator } from './auto-detect.ts';
import { advanceCursor, cursorCapture } from './cursor.ts';
import { advanceHeaderCursor } from './header-cursor.ts';
import { advanceHeaderLink } from './header-link.ts';
import { advanceJsonLink, jsonLinkCapture } from './json-link.ts';
import { emptyLoopGuard, fingerprint, rememberReference } from './loop-guard.ts';
import { offsetRule } from './offset.ts';
import { pageNumberRule } from './page-number.ts';
import { paginationError } from './pagination-errors.ts';
import type { RangeRule } from './range.ts';
import { advanceRange, rangeRequest } from './range.ts';
import { stripCredentials } from './redact-url.ts';
import { advanceSinglePage } from './single-page.ts';
import type { ConcretePaginator, PageFacts, PageStep, PaginationPolicy, PaginationState } from './types.ts';

function rangeRuleOf(paginator: ResolvedPaginator): RangeRule | undefined {
  if (paginator.type === 'offset') return offsetRule(paginator);
  if (paginator.type === 'page_number') return pageNumberRule(paginator);
  return undefined;
}

function maxPagesOf(paginator: ResolvedPaginator): number {
  return paginator.type === 'single_page' ? 1 : paginator.maxPages;
}

/**
 * The state before the first request. `firstUrl` (the rendered endpoint URL) is remembered by the loop guard, so a
 * next link back to it is caught. A range paginator with no way to stop (no `total_path`, no maximum, no
 * `has_more_path` and `stop_after_empty_page: false`) is refused like dlt refuses it (`PAGINATION_UNBOUNDED`,
 * config).
 */
export function startPagination(
  paginator: ResolvedPaginator,
  options: {
    readonly firstUrl: string;
    readonly dataSelector: string | null;
    readonly credentialParams?: readonly string[];
  },
): PaginationState {
  const rule = rangeRuleOf(paginator);
  if (
    rule !== undefined &&
    rule.totalPath === null &&
    rule.maximum === null &&
    rule.hasMorePath === null &&
    !rule.stopAfterEmptyPage
  ) {
    throw paginationError(
      'config',
      'PAGINATION_UNBOUNDED',
      `the ${paginator.type} paginator has no way to stop: set total_path, ${paginator.type === 'offset' ? 'maximum_offset' : 'maximum_page'}, has_more_path or stop_after_empty_page`,
    );
  }
  const position =
    paginator.type === 'offset' ? paginator.offset : paginator.type === 'page_number' ? paginator.page : null;
  const first = stripCredentials(options.firstUrl, options.credentialParams ?? []);
  return {
    version: 1,
    paginator,
    dataSelector: options.dataSelector,
    pages: 0,
    next:
      rule !== undefined && position !== null ? rangeRequest(rule, position) : { type: 'params', params: {} },
    position,
    done: null,
    loop: rememberReference(emptyLoopGuard, fingerprint('url', first)),
  };
}

/** The body values the next response must capture for this state (undefined: none). */
export function pageCapture(state: PaginationState): CaptureOptions | undefined {
  const { paginator } = state;
  switch (paginator.type) {
    case 'auto':
      return autoCapture;
    case 'json_link':
      return jsonLinkCapture(paginator);
    case 'cursor':
      return cursorCapture(paginator);
    case 'offset':
    case 'page_number': {
      const paths = [paginator.totalPath, paginator.hasMorePath ?? null].filter((path) => path !== null);
      return paths.length === 0 ? undefined : { paths };
    }
    default:
      return undefined;
  }
}

function advanceConcrete(
  paginator: ConcretePaginator,
  state: PaginationState,
  facts: PageFacts,
  policy: PaginationPolicy,
): PageStep {
  switch (paginator.type) {
    case 'single_page':
      return advanceSinglePage(state);
    case 'json_link':
      return advanceJsonLink(paginator, state, facts, policy);
    case 'header_link':
      return advanceHeaderLink(paginator, state, facts, policy);
    case 'header_cursor':
      return advanceHeaderCursor(paginator, state, facts);
    case 'cursor':
      return advanceCursor(paginator, state, facts);
    case 'offset':
      return advanceRange(offsetRule(paginator), state, facts);
    case 'page_number':
      return advanceRange(pageNumberRule(paginator), state, facts);
  }
}

/**
 * The step after one response (read to its end). Pure: the same state and facts give the same answer. Throws an
 * `IngestError` when a guard fires (`PAGINATION_MAX_PAGES`, `PAGINATION_LOOP`, `PAGINATION_FOREIGN_LINK`) or the
 * response cannot be read (`PAGINATION_TOTAL_NOT_FOUND`, …); a finished pagination is `{ type: 'done' }`.
 */
export function advancePagination(
  state: PaginationState,
  facts: PageFacts,
  policy: PaginationPolicy,
): PageStep {
  if (state.next === null || state.done !== null) {
    throw paginationError('config', 'PAGINATION_STATE_INVALID', 'the pagination is already done');
  }
  let counted: PaginationState = {
    ...state,
    pages: state.pages + 1,
    dataSelector: state.dataSelector ?? facts.detectedSelector ?? null,
  };
  let paginator = state.paginator;
  if (paginator.type === 'auto') {
    const detection = detectPaginator(facts, paginator.maxPages);
    paginator = detection.paginator;
    counted = { ...counted, paginator, position: detection.position };
  }
  const step = advanceConcrete(paginator, counted, facts, policy);
  const maxPages = maxPagesOf(paginator);
  if (step.type === 'next' && step.state.pages >= maxPages) {
    throw paginationError(
      'config',
      'PAGINATION_MAX_PAGES',
      `stopped after ${step.state.pages} pages (max_pages): the API still has a next page; raise max_pages if the resource really is this large`,
      { pages: step.state.pages, maxPages },
    );
  }
  return step;
}
