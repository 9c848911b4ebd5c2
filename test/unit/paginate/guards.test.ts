import { describe, expect, it } from 'vitest';
import type { ResolvedPaginator } from '../../../src/shared/plan.ts';
import { advancePagination, startPagination } from '../../../src/http/paginate/paginator.ts';
import { stripCredentials } from '../../../src/http/paginate/redact-url.ts';
import type { PageFacts, PaginationPolicy, PaginationState } from '../../../src/http/paginate/types.ts';
import { factsOf, firstUrl, origin, paginators, policy } from './helpers.ts';

function start(paginator: ResolvedPaginator, url = firstUrl): PaginationState {
  return startPagination(paginator, { firstUrl: url, dataSelector: 'data' });
}

/** Advances through `responses`; returns how many steps succeeded and the error that ended them, if any. */
function drive(
  state: PaginationState,
  responses: Iterable<PageFacts>,
  rules: PaginationPolicy = policy,
): { steps: number; states: PaginationState[]; error: (Error & { code?: string }) | undefined } {
  const states: PaginationState[] = [];
  try {
    for (const facts of responses) {
      const step = advancePagination(state, facts, rules);
      state = step.state;
      states.push(state);
      if (step.type === 'done') break;
    }
  } catch (error) {
    return { steps: states.length, states, error: error as Error };
  }
  return { steps: states.length, states, error: undefined };
}

function* cursorPages(cursor: (page: number) => string, count = 100_000): Iterable<PageFacts> {
  for (let page = 1; page <= count; page += 1) yield factsOf({ captured: { 'cursors.next': cursor(page) } });
}

describe('max_pages', () => {
  it('is an error when a next page is still wanted after max_pages pages', () => {
    const result = drive(
      start(paginators.cursor({ maxPages: 3 })),
      cursorPages((page) => `c${page}`),
    );
    expect(result.steps).toBe(2);
    expect(result.error).toMatchObject({ code: 'PAGINATION_MAX_PAGES', category: 'config' });
    expect(result.error?.message).toContain('3 pages');
  });

  it('is no error when the last allowed page is the last page', () => {
    const responses = [
      factsOf({ captured: { 'cursors.next': 'c2' } }),
      factsOf({ captured: { 'cursors.next': 'c3' } }),
      factsOf({ captured: { 'cursors.next': null } }),
    ];
    const result = drive(start(paginators.cursor({ maxPages: 3 })), responses);
    expect(result.error).toBeUndefined();
    expect(result.states.at(-1)).toMatchObject({ pages: 3, done: 'no-next-cursor' });
  });

  it('applies to range paginators too', () => {
    const result = drive(
      start(paginators.offset({ totalPath: null, maxPages: 2 })),
      Array.from({ length: 5 }, () => factsOf()),
    );
    expect(result.error).toMatchObject({ code: 'PAGINATION_MAX_PAGES' });
  });
});

describe('repeated cursor or URL', () => {
  it('the same cursor twice in a row is a clear error, not a loop', () => {
    const result = drive(
      start(paginators.cursor()),
      cursorPages(() => 'same'),
    );
    expect(result.steps).toBe(1);
    expect(result.error).toMatchObject({ code: 'PAGINATION_LOOP', category: 'response-shape' });
    expect(result.error?.message).toContain('"same"');
  });

  it('a short cycle of cursors is caught at its first repeat', () => {
    const result = drive(
      start(paginators.cursor()),
      cursorPages((page) => `c${page % 3}`),
    );
    expect(result.steps).toBe(3);
    expect(result.error).toMatchObject({ code: 'PAGINATION_LOOP' });
  });

  it('a long cycle (longer than the recent window) is caught within about twice its length', () => {
    const length = 100;
    const result = drive(
      start(paginators.cursor()),
      cursorPages((page) => `c${page % length}`),
    );
    expect(result.error).toMatchObject({ code: 'PAGINATION_LOOP' });
    expect(result.steps).toBeLessThanOrEqual(3 * length);
    // The guard stays small whatever the number of pages.
    expect(JSON.stringify(result.states.at(-1)).length).toBeLessThan(1200);
  });

  it('a header cursor that repeats is caught', () => {
    const responses = Array.from({ length: 5 }, () => factsOf({ headers: { 'x-next-cursor': 'again' } }));
    expect(drive(start(paginators.headerCursor()), responses).error).toMatchObject({
      code: 'PAGINATION_LOOP',
    });
  });

  it('a next link back to the first URL is caught before it is requested', () => {
    const responses = [factsOf({ captured: { next: firstUrl } })];
    expect(drive(start(paginators.jsonLink()), responses).error).toMatchObject({ code: 'PAGINATION_LOOP' });
  });

  it('a Link header that points to the page itself is caught', () => {
    const responses = Array.from({ length: 3 }, () =>
      factsOf({ headers: { link: `<${origin}/p2>; rel="next"` } }),
    );
    const result = drive(start(paginators.headerLink()), responses);
    expect(result.steps).toBe(1);
    expect(result.error).toMatchObject({ code: 'PAGINATION_LOOP' });
  });

  it('links that differ only in an echoed credential are the same link', () => {
    const responses = [
      factsOf({ captured: { next: `${origin}/p2?api_key=one` } }),
      factsOf({ captured: { next: `${origin}/p2?api_key=two` } }),
    ];
    expect(drive(start(paginators.jsonLink()), responses).error).toMatchObject({ code: 'PAGINATION_LOOP' });
  });
});

describe('next links to another origin', () => {
  it('are refused: the source credentials would be sent there', () => {
    const responses = [factsOf({ captured: { next: 'https://evil.example.net/steal' } })];
    const result = drive(start(paginators.jsonLink()), responses);
    expect(result.error).toMatchObject({ code: 'PAGINATION_FOREIGN_LINK', category: 'response-shape' });
  });

  it('are followed when that origin is allowed', () => {
    const responses = [factsOf({ captured: { next: 'https://cdn.example.com/p2' } })];
    const rules = { ...policy, allowedOrigins: [origin, 'https://cdn.example.com'] };
    expect(drive(start(paginators.jsonLink()), responses, rules).error).toBeUndefined();
  });

  it('a scheme other than http(s) is refused', () => {
    const responses = [factsOf({ captured: { next: 'javascript:alert(1)' } })];
    expect(drive(start(paginators.jsonLink()), responses).error).toMatchObject({
      code: 'PAGINATION_NEXT_URL_INVALID',
    });
  });
});

describe('no secret in the state', () => {
  it('credentials echoed into next links are removed before they enter the state', () => {
    const rules = { ...policy, credentialParams: ['sig_key'] };
    const responses = [
      factsOf({
        captured: {
          next: `https://user:pw@api.example.com/p2?page=2&api_key=K1&SIG_KEY=K2&access_token=K3#frag`,
        },
      }),
      factsOf({ captured: { next: `${origin}/p3?Api_Key=K4&page=3` } }),
    ];
    const result = drive(start(paginators.jsonLink()), responses, rules);
    expect(result.error).toBeUndefined();
    expect(result.states.map((s) => s.next)).toEqual([
      { type: 'url', url: `${origin}/p2?page=2` },
      { type: 'url', url: `${origin}/p3?page=3` },
    ]);
    const text = JSON.stringify(result.states);
    for (const secret of ['K1', 'K2', 'K3', 'K4', 'pw', 'user']) expect(text).not.toContain(secret);
  });

  it('stripCredentials keeps the other parameters byte for byte', () => {
    expect(stripCredentials('https://h/p?q=a%20b+c&api_key=x&x=%2F&empty=&flag', [])).toBe(
      'https://h/p?q=a%20b+c&x=%2F&empty=&flag',
    );
    expect(stripCredentials('https://h/p?apikey=1', [])).toBe('https://h/p');
  });
});
