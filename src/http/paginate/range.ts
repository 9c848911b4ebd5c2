/**
 * `offset` and `page_number`: dlt's `RangePaginator`. After each response: an empty page stops when
 * `stop_after_empty_page`; otherwise the total is read (`total_path`; missing or not an integer is an error, as in
 * dlt) and the has-more flag (`has_more_path`; missing, null or not a boolean is an error — dlt raises on a missing
 * one too), the position moves by the step (the limit, or 1), and the pagination stops when it reaches the total
 * (`offset ≥ total`, `page ≥ total + base_page`: the total counts items, or pages) or the maximum
 * (`maximum_offset`, `maximum_page`: that value is not requested), or when the flag is `false`.
 *
 * Each value (offset, limit, page) goes in a query parameter, or at a dotted path of the JSON body
 * (`offset_body_path`, `limit_body_path`, `page_body_path`), on every request including the first.
 */
import { capturedAt } from '../extract/capture.ts';
import { excerpt, paginationError } from './pagination-errors.ts';
import type { BodyValue, NextRequest, PageFacts, PageStep, PaginationState } from './types.ts';

/** Where one value of a range request goes: a query parameter, a path of the JSON body, or nowhere (both null). */
export interface RangeField {
  readonly param: string | null;
  readonly bodyPath: string | null;
  readonly value: number;
}

/** What differs between the two range paginators. */
export interface RangeRule {
  readonly step: number;
  readonly baseIndex: number;
  readonly totalPath: string | null;
  readonly maximum: number | null;
  /** A boolean in the response: `false` ends the pagination (dlt's `has_more_path`). */
  readonly hasMorePath: string | null;
  readonly stopAfterEmptyPage: boolean;
  /** The values that ask for the page at `position`, in request order (offset before limit). */
  readonly fields: (position: number) => readonly RangeField[];
}

/** dlt's `int(total)`: integers, integral floats truncated, and integer strings. */
export function totalAsInteger(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * The request for the first page (or a resumed one) at `position`: `params` when every value is a query parameter
 * (the shape checkpoints always had), `fields` when some go in the body.
 */
export function rangeRequest(rule: RangeRule, position: number): NextRequest {
  const params: Record<string, string> = {};
  const body: BodyValue[] = [];
  for (const field of rule.fields(position)) {
    if (field.param !== null) params[field.param] = String(field.value);
    else if (field.bodyPath !== null) body.push({ path: field.bodyPath, value: field.value });
  }
  return body.length === 0 ? { type: 'params', params } : { type: 'fields', params, body };
}

/** The total at `total_path` of the page just read, or undefined without a `total_path`. */
function readTotal(rule: RangeRule, page: number, facts: PageFacts): number | undefined {
  if (rule.totalPath === null) return undefined;
  const value = capturedAt(facts.captured, rule.totalPath);
  if (value === undefined || value === null) {
    throw paginationError(
      'response-shape',
      'PAGINATION_TOTAL_NOT_FOUND',
      `page ${page} has no total at ${rule.totalPath} (set total_path to where the body has it, or to null and rely on stop_after_empty_page or a maximum)`,
      { page, totalPath: rule.totalPath },
    );
  }
  const total = totalAsInteger(value);
  if (total === undefined) {
    throw paginationError(
      'response-shape',
      'PAGINATION_TOTAL_INVALID',
      `page ${page}: the total at ${rule.totalPath} is not an integer: ${excerpt(value)}`,
      { page, totalPath: rule.totalPath },
    );
  }
  return total;
}

/** The flag at `has_more_path` of the page just read, or undefined without a `has_more_path`. */
function readHasMore(rule: RangeRule, page: number, facts: PageFacts): boolean | undefined {
  if (rule.hasMorePath === null) return undefined;
  const value = capturedAt(facts.captured, rule.hasMorePath);
  if (value === undefined || value === null) {
    throw paginationError(
      'response-shape',
      'PAGINATION_HAS_MORE_NOT_FOUND',
      `page ${page} has no has-more flag at ${rule.hasMorePath} (set has_more_path to where the body has a true/false, or remove it and rely on total_path, stop_after_empty_page or a maximum)`,
      { page, hasMorePath: rule.hasMorePath },
    );
  }
  if (typeof value !== 'boolean') {
    throw paginationError(
      'response-shape',
      'PAGINATION_HAS_MORE_INVALID',
      `page ${page}: the has-more flag at ${rule.hasMorePath} is not a boolean (true/false): ${excerpt(value)}`,
      { page, hasMorePath: rule.hasMorePath },
    );
  }
  return value;
}

/** One step of a range paginator (`state.pages` counts the page just read). */
export function advanceRange(rule: RangeRule, state: PaginationState, facts: PageFacts): PageStep {
  const page = state.pages;
  const position = state.position ?? 0;
  if (rule.stopAfterEmptyPage && facts.records === 0) return done(state, 'empty-page');
  const total = readTotal(rule, page, facts);
  const hasMore = readHasMore(rule, page, facts);
  const next = position + rule.step;
  if (total !== undefined && next >= total + rule.baseIndex) return done(state, 'total-reached', next);
  if (rule.maximum !== null && next >= rule.maximum) return done(state, 'maximum-reached', next);
  if (hasMore === false) return done(state, 'has-more-false', next);
  const request = rangeRequest(rule, next);
  return { type: 'next', next: request, state: { ...state, next: request, position: next } };
}

function done(
  state: PaginationState,
  reason: 'empty-page' | 'total-reached' | 'maximum-reached' | 'has-more-false',
  position?: number,
): PageStep {
  return {
    type: 'done',
    reason,
    state: { ...state, next: null, done: reason, position: position ?? state.position },
  };
}
