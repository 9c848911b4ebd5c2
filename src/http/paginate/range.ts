/**
 * `offset` and `page_number`: dlt's `RangePaginator`. After each response: an empty page stops when
 * `stop_after_empty_page`; otherwise the total is read (`total_path`; missing or not an integer is an error, as in
 * dlt), the position moves by the step (the limit, or 1), and the pagination stops when it reaches the total
 * (`offset ≥ total`, `page ≥ total + base_page`: the total counts items, or pages) or the maximum
 * (`maximum_offset`, `maximum_page`: that value is not requested).
 */
import { capturedAt } from '../extract/capture.ts';
import { excerpt, paginationError } from './pagination-errors.ts';
import type { NextRequest, PageFacts, PageStep, PaginationState } from './types.ts';

/** What differs between the two range paginators. */
export interface RangeRule {
  readonly step: number;
  readonly baseIndex: number;
  readonly totalPath: string | null;
  readonly maximum: number | null;
  readonly stopAfterEmptyPage: boolean;
  /** The query parameters that ask for the page at `position`. */
  readonly params: (position: number) => Readonly<Record<string, string>>;
}

/** dlt's `int(total)`: integers, integral floats truncated, and integer strings. */
export function totalAsInteger(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

/** The request for the first page (or a resumed one) at `position`. */
export function rangeRequest(rule: RangeRule, position: number): NextRequest {
  return { type: 'params', params: rule.params(position) };
}

/** One step of a range paginator (`state.pages` counts the page just read). */
export function advanceRange(rule: RangeRule, state: PaginationState, facts: PageFacts): PageStep {
  const page = state.pages;
  const position = state.position ?? 0;
  if (rule.stopAfterEmptyPage && facts.records === 0) return done(state, 'empty-page');
  let total: number | undefined;
  if (rule.totalPath !== null) {
    const value = capturedAt(facts.captured, rule.totalPath);
    if (value === undefined || value === null) {
      throw paginationError(
        'response-shape',
        'PAGINATION_TOTAL_NOT_FOUND',
        `page ${page} has no total at ${rule.totalPath} (set total_path to where the body has it, or to null and rely on stop_after_empty_page or a maximum)`,
        { page, totalPath: rule.totalPath },
      );
    }
    total = totalAsInteger(value);
    if (total === undefined) {
      throw paginationError(
        'response-shape',
        'PAGINATION_TOTAL_INVALID',
        `page ${page}: the total at ${rule.totalPath} is not an integer: ${excerpt(value)}`,
        { page, totalPath: rule.totalPath },
      );
    }
  }
  const next = position + rule.step;
  if (total !== undefined && next >= total + rule.baseIndex) return done(state, 'total-reached', next);
  if (rule.maximum !== null && next >= rule.maximum) return done(state, 'maximum-reached', next);
  const request = rangeRequest(rule, next);
  return { type: 'next', next: request, state: { ...state, next: request, position: next } };
}

function done(
  state: PaginationState,
  reason: 'empty-page' | 'total-reached' | 'maximum-reached',
  position?: number,
): PageStep {
  return {
    type: 'done',
    reason,
    state: { ...state, next: null, done: reason, position: position ?? state.position },
  };
}
