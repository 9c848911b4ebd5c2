import { describe, expect, it } from 'vitest';
import type { ResolvedPaginator } from '../../../src/shared/plan.ts';
import { advancePagination, pageCapture, startPagination } from '../../../src/http/paginate/paginator.ts';
import { pageRequest } from '../../../src/http/paginate/page-request.ts';
import type { PageStep, PaginationState } from '../../../src/http/paginate/types.ts';
import { factsOf, firstUrl, origin, paginators, policy, run, start } from './helpers.ts';

function urlsOf(paginator: ResolvedPaginator, steps: readonly PageStep[]): string[] {
  const first = { method: 'GET' as const, url: firstUrl, headers: {} };
  return [
    pageRequest(first, start(paginator).next!).url,
    ...steps.flatMap((step) => (step.type === 'next' ? [pageRequest(first, step.next).url] : [])),
  ];
}

describe('single_page', () => {
  it('is done after the first response, whatever it says', () => {
    const steps = run(paginators.singlePage(), [factsOf({ captured: { next: `${origin}/x` } })]);
    expect(steps.map((s) => s.type)).toEqual(['done']);
    expect(steps[0]).toMatchObject({
      reason: 'single-page',
      state: { pages: 1, next: null, done: 'single-page' },
    });
  });
});

describe('json_link', () => {
  it('follows the link at next_url_path until it is missing; the first request is unchanged', () => {
    const paginator = paginators.jsonLink('paging.next');
    expect(pageCapture(start(paginator))).toEqual({ paths: ['paging.next'] });
    const steps = run(paginator, [
      factsOf({ captured: { 'paging.next': `${origin}/v1/items?page=2` } }),
      factsOf({ captured: { 'paging.next': `${origin}/v1/items?page=3` }, url: `${origin}/v1/items?page=2` }),
      factsOf({ url: `${origin}/v1/items?page=3` }),
    ]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'next', 'done']);
    expect(steps[2]).toMatchObject({ reason: 'no-next-url' });
    expect(urlsOf(paginator, steps)).toEqual([
      firstUrl,
      `${origin}/v1/items?page=2`,
      `${origin}/v1/items?page=3`,
    ]);
  });

  it.each([null, ''])('a next link of %j ends the pagination', (value) => {
    const steps = run(paginators.jsonLink(), [factsOf({ captured: { next: value } })]);
    expect(steps[0]).toMatchObject({ type: 'done', reason: 'no-next-url' });
  });

  it('resolves a relative link against the URL of the response (dlt urljoin)', () => {
    const steps = run(paginators.jsonLink(), [
      factsOf({ captured: { next: '?page=2' }, url: `${origin}/v1/items?page=1` }),
      factsOf({ captured: { next: '/v2/other?page=3' }, url: `${origin}/v1/items?page=2` }),
    ]);
    expect(steps.map((s) => (s.type === 'next' && s.next.type === 'url' ? s.next.url : s.type))).toEqual([
      `${origin}/v1/items?page=2`,
      `${origin}/v2/other?page=3`,
    ]);
  });

  it('a next link that is not a string is an error', () => {
    expect(() => run(paginators.jsonLink(), [factsOf({ captured: { next: { href: 'x' } } })])).toThrow(
      expect.objectContaining({ code: 'PAGINATION_NEXT_URL_INVALID', category: 'response-shape' }),
    );
  });

  it('keeps the method, headers and JSON body of the first request for a next link', () => {
    const first = { method: 'POST' as const, url: firstUrl, headers: { a: '1' }, json: { q: 'x' } };
    expect(pageRequest(first, { type: 'url', url: `${origin}/next` })).toEqual({
      method: 'POST',
      url: `${origin}/next`,
      headers: { a: '1', 'content-type': 'application/json' },
      body: '{"q":"x"}',
    });
  });
});

describe('header_link', () => {
  it('follows the Link header rel="next" among other links, until there is none', () => {
    const steps = run(paginators.headerLink(), [
      factsOf({
        headers: {
          link: `<${origin}/v1/items?page=1>; rel="prev", <${origin}/v1/items?a=1,2&page=2>; rel="next"`,
        },
      }),
      factsOf({
        headers: { link: [`<${origin}/v1/items?page=1>; rel=first`, `</v1/items?page=3>; rel="NEXT last"`] },
      }),
      factsOf({ headers: { link: `<${origin}/v1/items?page=1>; rel="first"` } }),
    ]);
    expect(steps.map((s) => (s.type === 'next' && s.next.type === 'url' ? s.next.url : s.type))).toEqual([
      `${origin}/v1/items?a=1,2&page=2`,
      `${origin}/v1/items?page=3`,
      'done',
    ]);
    expect(steps[2]).toMatchObject({ reason: 'no-next-url' });
  });

  it('uses links_next_key', () => {
    const paginator: ResolvedPaginator = { type: 'header_link', linksNextKey: 'forward', maxPages: 10 };
    const steps = run(paginator, [factsOf({ headers: { link: `<${origin}/2>; rel="forward"` } })]);
    expect(steps[0]).toMatchObject({ type: 'next', next: { type: 'url', url: `${origin}/2` } });
  });
});

describe('header_cursor', () => {
  it('sends the header cursor as cursor_param on the first request, until the header is gone', () => {
    const paginator = paginators.headerCursor('X-Next-Cursor');
    const steps = run(paginator, [
      factsOf({ headers: { 'x-next-cursor': 'c2' } }),
      factsOf({ headers: { 'x-next-cursor': 'c3' } }),
      factsOf({ headers: { 'x-next-cursor': '' } }),
    ]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'next', 'done']);
    expect(steps[2]).toMatchObject({ reason: 'no-next-cursor' });
    expect(urlsOf(paginator, steps)).toEqual([firstUrl, `${firstUrl}&cursor=c2`, `${firstUrl}&cursor=c3`]);
  });
});

describe('cursor', () => {
  it('sends the cursor at cursor_path as cursor_param, replacing the previous one', () => {
    const paginator = paginators.cursor();
    expect(pageCapture(start(paginator))).toEqual({ paths: ['cursors.next'] });
    const steps = run(paginator, [
      factsOf({ captured: { 'cursors.next': 'a b+c' } }),
      factsOf({ captured: { 'cursors.next': 42 } }),
      factsOf({ captured: { 'cursors.next': null } }),
    ]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'next', 'done']);
    expect(urlsOf(paginator, steps)).toEqual([
      firstUrl,
      `${firstUrl}&cursor=a%20b%2Bc`,
      `${firstUrl}&cursor=42`,
    ]);
  });

  it.each([undefined, null, '', 0, false])('a cursor of %j ends the pagination (dlt: falsy)', (value) => {
    const captured = value === undefined ? {} : { 'cursors.next': value };
    expect(run(paginators.cursor(), [factsOf({ captured })])[0]).toMatchObject({
      type: 'done',
      reason: 'no-next-cursor',
    });
  });

  it('puts the cursor at cursor_body_path of the JSON body', () => {
    const paginator = paginators.cursor({ cursorPath: 'nextPageToken', cursorBodyPath: 'page.token' });
    const [step] = run(paginator, [factsOf({ captured: { nextPageToken: 't2' } })]);
    expect(step).toMatchObject({ type: 'next', next: { type: 'body', path: 'page.token', value: 't2' } });
    const first = {
      method: 'POST' as const,
      url: firstUrl,
      headers: {},
      json: { query: 'x', page: { size: 5 } },
    };
    expect(
      pageRequest(first, step!.type === 'next' ? step!.next : { type: 'params', params: {} }),
    ).toMatchObject({
      url: firstUrl,
      body: '{"query":"x","page":{"size":5,"token":"t2"}}',
    });
  });

  it('a cursor that is an object or a list is an error', () => {
    expect(() => run(paginators.cursor(), [factsOf({ captured: { 'cursors.next': { a: 1 } } })])).toThrow(
      expect.objectContaining({ code: 'PAGINATION_CURSOR_INVALID' }),
    );
  });
});

describe('offset', () => {
  it('sends offset and limit, stopping once offset reaches the total', () => {
    const paginator = paginators.offset({ limit: 40 });
    expect(pageCapture(start(paginator))).toEqual({ paths: ['total'] });
    const steps = run(paginator, [
      factsOf({ captured: { total: 95 } }),
      factsOf({ captured: { total: 95 } }),
      factsOf({ captured: { total: 95 } }),
    ]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'next', 'done']);
    expect(steps[2]).toMatchObject({ reason: 'total-reached', state: { position: 120 } });
    expect(urlsOf(paginator, steps)).toEqual([
      `${firstUrl}&offset=0&limit=40`,
      `${firstUrl}&offset=40&limit=40`,
      `${firstUrl}&offset=80&limit=40`,
    ]);
  });

  it('accepts a total given as an integer string or a float (dlt int())', () => {
    const steps = run(paginators.offset({ limit: 10 }), [
      factsOf({ captured: { total: '20' } }),
      factsOf({ captured: { total: 20.7 } }),
    ]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'done']);
  });

  it('a missing total is an error, as in dlt (total_path: null turns it off)', () => {
    expect(() => run(paginators.offset(), [factsOf()])).toThrow(
      expect.objectContaining({ code: 'PAGINATION_TOTAL_NOT_FOUND', category: 'response-shape' }),
    );
    expect(run(paginators.offset({ totalPath: null }), [factsOf()])[0]?.type).toBe('next');
  });

  it('a total that is not an integer is an error', () => {
    expect(() => run(paginators.offset(), [factsOf({ captured: { total: 'many' } })])).toThrow(
      expect.objectContaining({ code: 'PAGINATION_TOTAL_INVALID' }),
    );
  });

  it('stops at maximum_offset without requesting it', () => {
    const steps = run(paginators.offset({ limit: 10, totalPath: null, maximumOffset: 30 }), [
      factsOf(),
      factsOf(),
      factsOf(),
    ]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'next', 'done']);
    expect(steps[2]).toMatchObject({ reason: 'maximum-reached' });
  });

  it('stops after an empty page, before reading the total; or goes on when told not to', () => {
    expect(run(paginators.offset(), [factsOf({ records: 0 })])[0]).toMatchObject({ reason: 'empty-page' });
    const goOn = paginators.offset({ stopAfterEmptyPage: false, totalPath: null, maximumOffset: 100 });
    expect(run(goOn, [factsOf({ records: 0 })])[0]?.type).toBe('next');
  });

  it('refuses a paginator with no way to stop, like dlt', () => {
    expect(() => start(paginators.offset({ totalPath: null, stopAfterEmptyPage: false }))).toThrow(
      expect.objectContaining({ code: 'PAGINATION_UNBOUNDED', category: 'config' }),
    );
  });

  it('starts at `offset` and replaces an offset the endpoint params already had', () => {
    const paginator = paginators.offset({ offset: 50, limit: 25, offsetParam: 'skip', limitParam: 'take' });
    const first = { method: 'GET' as const, url: `${origin}/v1/items?skip=0&q=a`, headers: {} };
    expect(pageRequest(first, start(paginator).next!).url).toBe(`${origin}/v1/items?q=a&skip=50&take=25`);
  });
});

describe('page_number', () => {
  it('counts pages from base_page, stopping at total pages (page ≥ total + base_page)', () => {
    const paginator = paginators.pageNumber({ basePage: 1, page: 1, totalPath: 'total_pages' });
    const steps = run(paginator, [
      factsOf({ captured: { total_pages: 3 } }),
      factsOf({ captured: { total_pages: 3 } }),
      factsOf({ captured: { total_pages: 3 } }),
    ]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'next', 'done']);
    expect(steps[2]).toMatchObject({ reason: 'total-reached' });
    expect(urlsOf(paginator, steps)).toEqual([
      `${firstUrl}&page=1`,
      `${firstUrl}&page=2`,
      `${firstUrl}&page=3`,
    ]);
  });

  it('maximum_page is not requested (dlt: stop once it is reached)', () => {
    const paginator = paginators.pageNumber({ basePage: 1, page: 1, totalPath: null, maximumPage: 3 });
    const steps = run(paginator, [factsOf(), factsOf(), factsOf()]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'done']);
    expect(steps[1]).toMatchObject({ reason: 'maximum-reached' });
  });

  it('stops after an empty page', () => {
    const steps = run(paginators.pageNumber({ totalPath: null }), [factsOf(), factsOf({ records: 0 })]);
    expect(steps.map((s) => s.type)).toEqual(['next', 'done']);
    expect(steps[1]).toMatchObject({ reason: 'empty-page' });
  });
});

describe('state', () => {
  it('is plain JSON: it survives a JSON round trip and goes on the same way', () => {
    const paginator = paginators.cursor();
    const step = advancePagination(start(paginator), factsOf({ captured: { 'cursors.next': 'c2' } }), policy);
    const copy = JSON.parse(JSON.stringify(step.state)) as PaginationState;
    expect(copy).toEqual(step.state);
    const facts = factsOf({ captured: { 'cursors.next': 'c3' } });
    expect(advancePagination(copy, facts, policy)).toEqual(advancePagination(step.state, facts, policy));
  });

  it('pins the detected data selector after the first page with records', () => {
    const state = startPagination(paginators.cursor(), { firstUrl, dataSelector: null });
    const step = advancePagination(
      state,
      { ...factsOf({ captured: { 'cursors.next': 'c2' } }), detectedSelector: '$.items' },
      policy,
    );
    expect(step.state.dataSelector).toBe('$.items');
  });

  it('refuses to advance a finished pagination', () => {
    const [step] = run(paginators.singlePage(), [factsOf()]);
    expect(() => advancePagination(step!.state, factsOf(), policy)).toThrow(
      expect.objectContaining({ code: 'PAGINATION_STATE_INVALID' }),
    );
  });
});
