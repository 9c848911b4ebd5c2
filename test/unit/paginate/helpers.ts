/** Test helpers for pagination: response facts for the state machines, a real `SendPage` over undici, collecting. */
import { request } from 'undici';
import type { ResolvedPaginator } from '../../../src/shared/plan.ts';
import { defaultMaxPages } from '../../../src/shared/plan.ts';
import type { CapturedValue } from '../../../src/http/extract/capture.ts';
import { formatDataSelector, parseDataSelector } from '../../../src/http/extract/data-selector.ts';
import { paginate } from '../../../src/http/paginate/paginate.ts';
import { advancePagination, startPagination } from '../../../src/http/paginate/paginator.ts';
import type {
  PageFacts,
  PageStep,
  PaginationPolicy,
  PaginationState,
} from '../../../src/http/paginate/types.ts';
import type { PaginateInput, PaginateOptions, PaginationEvent } from '../../../src/http/paginate/paginate.ts';
import type { SendPage } from '../../../src/http/paginate/send-page.ts';

export const origin = 'https://api.example.com';
export const firstUrl = `${origin}/v1/items?sort=id`;
export const policy: PaginationPolicy = { allowedOrigins: [origin], credentialParams: [] };

/** Captured values as the extractor reports them, from `{ 'cursors.next': 'c' }`. */
export function capturedOf(values: Readonly<Record<string, unknown>>): CapturedValue[] {
  return Object.entries(values).map(([path, value]) => {
    const keys = parseDataSelector(path);
    return { path: keys, selector: formatDataSelector(keys), value };
  });
}

/** The facts of a response: 200, no headers, some records, captured values. */
export function factsOf(
  options: {
    readonly captured?: Readonly<Record<string, unknown>>;
    readonly headers?: PageFacts['headers'];
    readonly records?: number;
    readonly url?: string;
  } = {},
): PageFacts {
  return {
    status: 200,
    headers: options.headers ?? {},
    records: options.records ?? 10,
    captured: capturedOf(options.captured ?? {}),
    url: options.url ?? firstUrl,
  };
}

/** A resolved paginator with dlt's defaults, like `resolvePaginator` gives. */
export const paginators = {
  jsonLink: (nextUrlPath = 'next', maxPages = defaultMaxPages): ResolvedPaginator => ({
    type: 'json_link',
    nextUrlPath,
    maxPages,
  }),
  headerLink: (maxPages = defaultMaxPages): ResolvedPaginator => ({
    type: 'header_link',
    linksNextKey: 'next',
    maxPages,
  }),
  headerCursor: (cursorKey = 'X-Next-Cursor', maxPages = defaultMaxPages): ResolvedPaginator => ({
    type: 'header_cursor',
    cursorKey,
    cursorParam: 'cursor',
    maxPages,
  }),
  cursor: (
    options: { cursorPath?: string; cursorBodyPath?: string; maxPages?: number } = {},
  ): ResolvedPaginator => ({
    type: 'cursor',
    cursorPath: options.cursorPath ?? 'cursors.next',
    cursorParam: options.cursorBodyPath === undefined ? 'cursor' : null,
    cursorBodyPath: options.cursorBodyPath ?? null,
    maxPages: options.maxPages ?? defaultMaxPages,
  }),
  offset: (
    options: Partial<Omit<Extract<ResolvedPaginator, { type: 'offset' }>, 'type'>> = {},
  ): ResolvedPaginator => ({
    type: 'offset',
    limit: 10,
    offset: 0,
    offsetParam: 'offset',
    limitParam: 'limit',
    offsetBodyPath: null,
    limitBodyPath: null,
    totalPath: 'total',
    maximumOffset: null,
    hasMorePath: null,
    stopAfterEmptyPage: true,
    maxPages: defaultMaxPages,
    ...options,
  }),
  pageNumber: (
    options: Partial<Omit<Extract<ResolvedPaginator, { type: 'page_number' }>, 'type'>> = {},
  ): ResolvedPaginator => ({
    type: 'page_number',
    basePage: 0,
    page: options.basePage ?? 0,
    pageParam: 'page',
    pageBodyPath: null,
    totalPath: 'total',
    maximumPage: null,
    hasMorePath: null,
    stopAfterEmptyPage: true,
    maxPages: defaultMaxPages,
    ...options,
  }),
  auto: (maxPages = defaultMaxPages): ResolvedPaginator => ({ type: 'auto', maxPages }),
  singlePage: (): ResolvedPaginator => ({ type: 'single_page' }),
};

/**
 * A real `SendPage` over undici's `request` (no retries, no redirects). `query` is added to every request the way
 * an auth layer adds an `api_key`.
 */
export function undiciSend(
  query: Readonly<Record<string, string>> = {},
): SendPage & { readonly urls: string[] } {
  const urls: string[] = [];
  const send: SendPage = async (page, signal) => {
    const extra = new URLSearchParams(query).toString();
    const url = extra === '' ? page.url : `${page.url}${page.url.includes('?') ? '&' : '?'}${extra}`;
    urls.push(url);
    const response = await request(url, {
      method: page.method,
      headers: page.headers,
      ...(page.body === undefined ? {} : { body: page.body }),
      signal,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  };
  return Object.assign(send, { urls });
}

/** The input of a GET resource at `url`. */
export function inputOf(
  url: string,
  paginator: ResolvedPaginator,
  dataSelector: string | null = 'data',
  extra: Partial<PaginateInput> = {},
): PaginateInput {
  return {
    resource: 'items',
    request: { method: 'GET', url, headers: {} },
    paginator,
    dataSelector,
    ...extra,
  };
}

export interface Collected {
  readonly texts: string[];
  readonly values: unknown[];
  readonly pages: Extract<PaginationEvent, { type: 'page' }>[];
  readonly last: PaginationState | undefined;
}

/** Runs a pagination to its end (or `stopAfterPages`), collecting records and page events. */
export async function collect(
  input: PaginateInput,
  send: SendPage,
  options: PaginateOptions & { readonly stopAfterPages?: number } = {},
): Promise<Collected> {
  const texts: string[] = [];
  const values: unknown[] = [];
  const pages: Extract<PaginationEvent, { type: 'page' }>[] = [];
  for await (const event of paginate(input, send, options)) {
    if (event.type === 'records') {
      for (const record of event.batch.records) {
        texts.push(record.text);
        values.push(record.value);
      }
    } else {
      pages.push(event);
      if (options.stopAfterPages !== undefined && pages.length >= options.stopAfterPages) break;
    }
  }
  return { texts, values, pages, last: pages.at(-1)?.state };
}

/** Awaits a promise that must reject; returns the error. */
export async function failureOf(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; category?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

/** A pagination's first state for `paginator`, at {@link firstUrl}. */
export function start(paginator: ResolvedPaginator): PaginationState {
  return startPagination(paginator, { firstUrl, dataSelector: 'data' });
}

/** Feeds responses one by one to the paginator's state machine; returns every step (up to the done one). */
export function run(paginator: ResolvedPaginator, responses: readonly PageFacts[]): PageStep[] {
  let state = start(paginator);
  const steps: PageStep[] = [];
  for (const facts of responses) {
    const step = advancePagination(state, facts, policy);
    steps.push(step);
    state = step.state;
    if (step.type === 'done') break;
  }
  return steps;
}
