/**
 * The range paginators' body placements (dlt's `offset_body_path`, `limit_body_path`, `page_body_path`) and
 * `has_more_path`: the state machine and the request it builds for each page, then end to end over real HTTP
 * against the sandbox (`POST /generic/search` pages by its JSON body; the GET offset and page-number routes say
 * `has_more`), resume from a checkpointed state included.
 */
import { describe, expect, it } from 'vitest';
import type { JsonValue, ResolvedPaginator } from '../../../src/shared/plan.ts';
import type { PaginateInput } from '../../../src/http/paginate/paginate.ts';
import { pageRequest } from '../../../src/http/paginate/page-request.ts';
import type { FirstPageRequest } from '../../../src/http/paginate/page-request.ts';
import { advancePagination, pageCapture } from '../../../src/http/paginate/paginator.ts';
import type { PageStep, PaginationState } from '../../../src/http/paginate/types.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import {
  collect,
  factsOf,
  failureOf,
  firstUrl,
  inputOf,
  paginators,
  policy,
  undiciSend,
  run,
  start,
} from './helpers.ts';

/** The requests of the first page and of every next step, built from `first`. */
function requestsOf(first: FirstPageRequest, paginator: ResolvedPaginator, steps: readonly PageStep[]) {
  return [
    pageRequest(first, start(paginator).next!),
    ...steps.flatMap((step) => (step.type === 'next' ? [pageRequest(first, step.next)] : [])),
  ];
}

const searchFirst: FirstPageRequest = {
  method: 'POST',
  url: `${firstUrl}`,
  headers: {},
  json: { query: 'x', page: { size: 5 } },
};

const bodyOffset = paginators.offset({
  limit: 10,
  offsetParam: null,
  limitParam: null,
  offsetBodyPath: 'page.offset',
  limitBodyPath: 'page.limit',
});

describe('body placements: the request for page N', () => {
  it('offset and limit at paths of the JSON body, on the first request too; the rest of the body kept', () => {
    const steps = run(bodyOffset, [
      factsOf({ captured: { total: 25 } }),
      factsOf({ captured: { total: 25 } }),
    ]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'next']);
    const requests = requestsOf(searchFirst, bodyOffset, steps);
    expect(requests.map((request) => request.url)).toEqual([firstUrl, firstUrl, firstUrl]);
    expect(requests.map((request) => request.body)).toEqual([
      '{"query":"x","page":{"size":5,"offset":0,"limit":10}}',
      '{"query":"x","page":{"size":5,"offset":10,"limit":10}}',
      '{"query":"x","page":{"size":5,"offset":20,"limit":10}}',
    ]);
    expect(requests[0]?.headers).toEqual({ 'content-type': 'application/json' });
    expect(steps[0]).toMatchObject({
      next: {
        type: 'fields',
        params: {},
        body: [{ path: 'page.offset', value: 10 }, { path: 'page.limit' }],
      },
    });
  });

  it('one value in the body, the other in the query (and a body created when the endpoint had none)', () => {
    const paginator = paginators.offset({ limit: 25, offsetParam: null, offsetBodyPath: '$.skip' });
    const first: FirstPageRequest = {
      method: 'POST',
      url: firstUrl,
      headers: { 'Content-Type': 'text/json' },
    };
    const steps = run(paginator, [factsOf({ captured: { total: 100 } })]);
    expect(requestsOf(first, paginator, steps)).toEqual([
      {
        method: 'POST',
        url: `${firstUrl}&limit=25`,
        headers: { 'Content-Type': 'text/json' },
        body: '{"skip":0}',
      },
      {
        method: 'POST',
        url: `${firstUrl}&limit=25`,
        headers: { 'Content-Type': 'text/json' },
        body: '{"skip":25}',
      },
    ]);
  });

  it('page_body_path: the page number in the body, replacing one the endpoint json had', () => {
    const paginator = paginators.pageNumber({
      basePage: 1,
      page: 1,
      pageParam: null,
      pageBodyPath: 'page_number',
      totalPath: 'total_pages',
    });
    const first: FirstPageRequest = { ...searchFirst, json: { query: 'x', page_number: 7 } };
    const steps = run(paginator, [
      factsOf({ captured: { total_pages: 3 } }),
      factsOf({ captured: { total_pages: 3 } }),
      factsOf({ captured: { total_pages: 3 } }),
    ]);
    expect(steps.at(-1)).toMatchObject({ type: 'done', reason: 'total-reached' });
    expect(requestsOf(first, paginator, steps).map((request) => [request.url, request.body])).toEqual([
      [firstUrl, '{"query":"x","page_number":1}'],
      [firstUrl, '{"query":"x","page_number":2}'],
      [firstUrl, '{"query":"x","page_number":3}'],
    ]);
  });

  it('all values in the query: the same `params` request as before (checkpoints keep their shape)', () => {
    expect(start(paginators.offset({ limit: 10 })).next).toEqual({
      type: 'params',
      params: { offset: '0', limit: '10' },
    });
    expect(start(paginators.pageNumber()).next).toEqual({ type: 'params', params: { page: '0' } });
  });

  it('a state with body placements survives a JSON round trip and goes on the same way', () => {
    const step = advancePagination(start(bodyOffset), factsOf({ captured: { total: 95 } }), policy);
    const copy = JSON.parse(JSON.stringify(step.state)) as PaginationState;
    expect(copy).toEqual(step.state);
    const facts = factsOf({ captured: { total: 95 } });
    expect(advancePagination(copy, facts, policy)).toEqual(advancePagination(step.state, facts, policy));
  });

  it('a state checkpointed before these fields existed still advances (they read as null)', () => {
    const legacy = { ...paginators.offset({ limit: 10 }) } as Record<string, unknown>;
    delete legacy['offsetBodyPath'];
    delete legacy['limitBodyPath'];
    delete legacy['hasMorePath'];
    const state = start(legacy as unknown as ResolvedPaginator);
    expect(pageCapture(state)).toEqual({ paths: ['total'] });
    const step = advancePagination(state, factsOf({ captured: { total: 95 } }), policy);
    expect(step).toMatchObject({
      type: 'next',
      next: { type: 'params', params: { offset: '10', limit: '10' } },
    });
  });
});

describe('has_more_path', () => {
  const hasMore = (options: Partial<Extract<ResolvedPaginator, { type: 'offset' }>> = {}) =>
    paginators.offset({ limit: 10, totalPath: null, hasMorePath: 'meta.has_more', ...options });

  it('is captured with the total, and stops the pagination when false', () => {
    expect(pageCapture(start(hasMore({ totalPath: 'total' })))).toEqual({
      paths: ['total', 'meta.has_more'],
    });
    expect(pageCapture(start(hasMore()))).toEqual({ paths: ['meta.has_more'] });
    const steps = run(hasMore(), [
      factsOf({ captured: { 'meta.has_more': true } }),
      factsOf({ captured: { 'meta.has_more': true } }),
      factsOf({ captured: { 'meta.has_more': false } }),
    ]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'next', 'done']);
    expect(steps[2]).toMatchObject({
      reason: 'has-more-false',
      state: { pages: 3, position: 30, next: null, done: 'has-more-false' },
    });
  });

  it('page_number too; the total still stops first when both say so', () => {
    const paginator = paginators.pageNumber({ totalPath: 'total', hasMorePath: 'has_more' });
    const steps = run(paginator, [
      factsOf({ captured: { total: 2, has_more: true } }),
      factsOf({ captured: { total: 2, has_more: false } }),
    ]);
    expect(steps.map((s) => (s.type === 'done' ? s.reason : s.type))).toEqual(['next', 'total-reached']);
    const flagOnly = run(paginators.pageNumber({ totalPath: null, hasMorePath: 'has_more' }), [
      factsOf({ captured: { has_more: false } }),
    ]);
    expect(flagOnly[0]).toMatchObject({ type: 'done', reason: 'has-more-false' });
  });

  it('an empty page stops before the flag is read (stop_after_empty_page)', () => {
    expect(run(hasMore(), [factsOf({ records: 0 })])[0]).toMatchObject({ reason: 'empty-page' });
  });

  it('a missing or null flag is an error, as in dlt, naming the path and the page', () => {
    for (const captured of [{}, { 'meta.has_more': null }]) {
      let thrown: unknown;
      try {
        run(hasMore(), [factsOf({ captured: { 'meta.has_more': true } }), factsOf({ captured })]);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({
        code: 'PAGINATION_HAS_MORE_NOT_FOUND',
        category: 'response-shape',
        retryable: false,
        details: { page: 2, hasMorePath: 'meta.has_more' },
      });
      expect((thrown as Error).message).toContain('page 2');
      expect((thrown as Error).message).toContain('meta.has_more');
    }
  });

  it('a flag that is not a boolean (a string, a number, an object) is a response-shape error', () => {
    for (const value of ['false', 0, 1, { more: true }]) {
      const run1 = () => run(hasMore(), [factsOf({ captured: { 'meta.has_more': value } })]);
      expect(run1).toThrow(
        expect.objectContaining({ code: 'PAGINATION_HAS_MORE_INVALID', category: 'response-shape' }),
      );
      expect(run1).toThrow(/^page 1: the has-more flag at meta\.has_more is not a boolean \(true\/false\): /);
    }
  });

  it('counts as a way to stop: no PAGINATION_UNBOUNDED with has_more_path alone', () => {
    const alone = hasMore({ stopAfterEmptyPage: false });
    expect(() => start(alone)).not.toThrow();
    const unbounded = () => start(hasMore({ stopAfterEmptyPage: false, hasMorePath: null }));
    expect(unbounded).toThrow(expect.objectContaining({ code: 'PAGINATION_UNBOUNDED' }));
    expect(unbounded).toThrow(/has_more_path/);
    expect(() =>
      start(paginators.pageNumber({ totalPath: null, stopAfterEmptyPage: false, hasMorePath: 'has_more' })),
    ).not.toThrow();
  });
});

describe('against the sandbox (real HTTP)', () => {
  const context = withSandbox({ seed: 23, counts: { items: 95 }, pageSize: 10 });

  function searchInput(
    paginator: ResolvedPaginator,
    json: { readonly [key: string]: JsonValue } = {},
  ): PaginateInput {
    const { sandbox } = context;
    return {
      ...inputOf(`${sandbox.url}/generic/search`, paginator),
      request: {
        method: 'POST' as const,
        url: `${sandbox.url}/generic/search`,
        headers: { 'X-API-Key': sandbox.generic.apiKey },
        json,
      },
    };
  }

  function searchBodies(): unknown[] {
    return context.sandbox.log
      .entries({ origin: 'main' })
      .filter((entry) => entry.path.startsWith('/generic/search'))
      .map((entry) => JSON.parse(entry.requestBody ?? 'null') as unknown);
  }

  function pagesRequests(): string[] {
    return context.sandbox.log
      .entries({ origin: 'main' })
      .filter((entry) => entry.path.startsWith('/generic/pages/'))
      .map((entry) => entry.path);
  }

  const items = (): unknown[] => [...context.sandbox.dataset.records('items')];

  it('offset_body_path + limit_body_path on POST /generic/search: every item once, the query kept', async () => {
    context.sandbox.log.clear();
    const paginator = paginators.offset({
      limit: 20,
      offsetParam: null,
      limitParam: null,
      offsetBodyPath: 'page.offset',
      limitBodyPath: 'page.limit',
    });
    const result = await collect(searchInput(paginator, { query: '' }), undiciSend());
    expect(result.values).toEqual(items());
    expect(result.pages.map((page) => page.records)).toEqual([20, 20, 20, 20, 15]);
    expect(result.pages.at(-1)?.done).toBe('total-reached');
    expect(searchBodies()).toEqual(
      [0, 20, 40, 60, 80].map((offset) => ({ query: '', page: { offset, limit: 20 } })),
    );
  });

  it('a filtered search: the body query narrows every page, has_more ends it', async () => {
    context.sandbox.log.clear();
    const needle = 'a';
    const expected = items().filter((item) =>
      String((item as { name: unknown }).name)
        .toLowerCase()
        .includes(needle),
    );
    expect(expected.length).toBeGreaterThan(10);
    const paginator = paginators.offset({
      limit: 10,
      offsetParam: null,
      limitParam: null,
      offsetBodyPath: 'page.offset',
      limitBodyPath: 'page.limit',
      totalPath: null,
      hasMorePath: 'has_more',
      stopAfterEmptyPage: false,
    });
    const result = await collect(searchInput(paginator, { query: needle }), undiciSend());
    expect(result.values).toEqual(expected);
    expect(result.pages).toHaveLength(Math.ceil(expected.length / 10));
    expect(result.pages.at(-1)?.done).toBe('has-more-false');
    expect(searchBodies().every((body) => (body as { query: string }).query === needle)).toBe(true);
  });

  it('page_body_path on POST /generic/search: page_number from 1, stopping at total_pages', async () => {
    context.sandbox.log.clear();
    const paginator = paginators.pageNumber({
      basePage: 1,
      page: 1,
      pageParam: null,
      pageBodyPath: 'page_number',
      totalPath: 'total_pages',
    });
    const result = await collect(searchInput(paginator, { page_size: 25 }), undiciSend());
    expect(result.values).toEqual(items());
    expect(result.pages.map((page) => page.records)).toEqual([25, 25, 25, 20]);
    expect(result.pages.at(-1)?.done).toBe('total-reached');
    expect(searchBodies()).toEqual([1, 2, 3, 4].map((page) => ({ page_size: 25, page_number: page })));
  });

  it('resumes a body-placed pagination from its checkpointed state: no page fetched twice', async () => {
    context.sandbox.log.clear();
    const paginator = paginators.pageNumber({
      basePage: 1,
      page: 1,
      pageParam: null,
      pageBodyPath: 'page_number',
      totalPath: null,
      hasMorePath: 'has_more',
    });
    const input = searchInput(paginator, { query: '' });
    const before = await collect(input, undiciSend(), { stopAfterPages: 4 });
    expect(before.pages).toHaveLength(4);
    const checkpoint = JSON.parse(JSON.stringify(before.last)) as PaginationState;
    const after = await collect(input, undiciSend(), { resume: checkpoint });
    expect([...before.values, ...after.values]).toEqual(items());
    expect(after.pages.map((page) => page.page)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(after.pages.at(-1)?.done).toBe('has-more-false');
    expect(searchBodies().map((body) => (body as { page_number: number }).page_number)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
  });

  it.each([
    [
      'offset',
      paginators.offset({ limit: 10, totalPath: null, hasMorePath: 'has_more', stopAfterEmptyPage: false }),
    ],
    [
      'page-number',
      paginators.pageNumber({
        basePage: 1,
        page: 1,
        totalPath: null,
        hasMorePath: 'has_more',
        stopAfterEmptyPage: false,
      }),
    ],
  ] as const)(
    'GET %s with has_more_path only: stops at has_more false, no request past the end',
    async (style, paginator) => {
      context.sandbox.log.clear();
      const result = await collect(
        inputOf(`${context.sandbox.url}/generic/pages/${style}`, paginator),
        undiciSend(),
      );
      expect(result.values).toEqual(items());
      expect(result.pages).toHaveLength(10);
      expect(result.pages.at(-1)).toMatchObject({ page: 10, done: 'has-more-false' });
      expect(pagesRequests()).toHaveLength(10);
    },
  );

  it('resumes a has_more pagination over GET after a checkpoint', async () => {
    context.sandbox.log.clear();
    const paginator = paginators.offset({ limit: 10, totalPath: null, hasMorePath: 'has_more' });
    const input = inputOf(`${context.sandbox.url}/generic/pages/offset`, paginator);
    const before = await collect(input, undiciSend(), { stopAfterPages: 3 });
    const after = await collect(input, undiciSend(), {
      resume: JSON.parse(JSON.stringify(before.last)) as PaginationState,
    });
    expect([...before.values, ...after.values]).toEqual(items());
    expect(pagesRequests()).toHaveLength(10);
  });

  it('has_more_path at a value that is not a boolean: a clear error naming the path and the page', async () => {
    const paginator = paginators.offset({ limit: 10, totalPath: null, hasMorePath: 'total' });
    const error = await failureOf(
      collect(inputOf(`${context.sandbox.url}/generic/pages/offset`, paginator), undiciSend()),
    );
    expect(error).toMatchObject({ code: 'PAGINATION_HAS_MORE_INVALID', category: 'response-shape' });
    expect(error.message).toBe('page 1: the has-more flag at total is not a boolean (true/false): 95');
  });

  it('has_more_path where the response has nothing: PAGINATION_HAS_MORE_NOT_FOUND on page 1', async () => {
    const paginator = paginators.offset({ limit: 10, totalPath: null, hasMorePath: 'meta.more' });
    const error = await failureOf(
      collect(inputOf(`${context.sandbox.url}/generic/pages/offset`, paginator), undiciSend()),
    );
    expect(error).toMatchObject({ code: 'PAGINATION_HAS_MORE_NOT_FOUND', details: { page: 1 } });
    expect(error.message).toContain('meta.more');
  });
});
