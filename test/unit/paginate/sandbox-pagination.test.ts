import { describe, expect, it } from 'vitest';
import type { ResolvedPaginator } from '../../../src/shared/plan.ts';
import { paginate } from '../../../src/http/paginate/paginate.ts';
import { paginatorStyles, type PaginatorStyle } from '../../../src/sandbox/routes-generic.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import { collect, failureOf, inputOf, paginators, undiciSend } from './helpers.ts';

const context = withSandbox({ seed: 11, counts: { items: 95, user_call_records: 200 }, pageSize: 10 });

/** Each sandbox style with the paginator configured the way its docs say. */
const configured: Record<PaginatorStyle, ResolvedPaginator> = {
  'json-link': paginators.jsonLink(),
  'header-link': paginators.headerLink(),
  offset: paginators.offset({ limit: 10 }),
  'page-number': paginators.pageNumber({ basePage: 1, page: 1, totalPath: 'total_pages' }),
  cursor: paginators.cursor(),
  'header-cursor': paginators.headerCursor('X-Next-Cursor'),
};

/** What `auto` must detect on each style's first response. */
const detected: Record<PaginatorStyle, ResolvedPaginator['type']> = {
  'json-link': 'json_link',
  'header-link': 'header_link',
  offset: 'offset',
  'page-number': 'page_number',
  cursor: 'cursor',
  'header-cursor': 'header_cursor',
};

function routeUrl(style: PaginatorStyle, query = ''): string {
  return `${context.sandbox.url}/generic/pages/${style}${query === '' ? '' : `?${query}`}`;
}

function itemsRequests(): { path: string; start: number | undefined }[] {
  return context.sandbox.log
    .entries({ origin: 'main' })
    .filter((entry) => entry.path.startsWith('/generic/pages/'))
    .map((entry) => ({ path: entry.path, start: entry.served?.start }));
}

describe('every paginator end to end against the sandbox (real HTTP)', () => {
  it.each(paginatorStyles)('%s: the dataset, every record exactly as served, in order', async (style) => {
    const { sandbox } = context;
    sandbox.log.clear();
    const result = await collect(inputOf(routeUrl(style), configured[style]), undiciSend());
    expect(result.texts).toEqual([...sandbox.dataset.recordTexts('items')]);
    expect(result.values).toEqual([...sandbox.dataset.records('items')]);
    expect(result.pages.map((page) => page.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(result.pages.at(-1)?.done).not.toBeNull();
    expect(itemsRequests().map((request) => request.start)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });

  it.each(paginatorStyles)('auto on %s: detected from the first response, same records', async (style) => {
    const { sandbox } = context;
    sandbox.log.clear();
    const result = await collect(inputOf(routeUrl(style), paginators.auto(), null), undiciSend());
    expect(result.pages[0]?.state.paginator.type).toBe(detected[style]);
    expect(result.pages[0]?.state.dataSelector).toBe('$.data');
    expect(result.texts).toEqual([...sandbox.dataset.recordTexts('items')]);
    expect(itemsRequests()).toHaveLength(10);
  });

  it('the multi-page call records: json_link at navigation.nextPage.uri, the api_key added by the sender', async () => {
    const { sandbox } = context;
    const send = undiciSend({ api_key: sandbox.keys.communications });
    const url = `${sandbox.url}/v1/user_call_records?page=1&perPage=50`;
    const linked = await collect(
      inputOf(url, paginators.jsonLink('navigation.nextPage.uri'), 'data', { credentialParams: ['api_key'] }),
      send,
    );
    expect(linked.values).toEqual([...sandbox.dataset.records('user_call_records')]);
    expect(linked.pages).toHaveLength(4);
    const auto = await collect(
      inputOf(url, paginators.auto(), null, { credentialParams: ['api_key'] }),
      send,
    );
    expect(auto.pages[0]?.state.paginator).toMatchObject({
      type: 'page_number',
      totalPath: '$.paging.totalPages',
    });
    expect(auto.values).toEqual(linked.values);
  });

  it('single_page: one request, the whole list', async () => {
    const { sandbox } = context;
    const result = await collect(
      inputOf(`${sandbox.url}/generic/auth/api-key-query`, paginators.singlePage()),
      undiciSend({ api_key: 'sandbox-generic-key' }),
    );
    expect(result.values).toHaveLength(95);
    expect(result.pages).toMatchObject([{ page: 1, done: 'single-page' }]);
  });
});

describe('each guard firing against the sandbox', () => {
  it.each([
    ['json-link', 'loop_at=3&loop_to=2', 3],
    ['header-link', 'loop_at=4', 4],
    ['cursor', 'loop_at=2&loop_to=1', 3],
    ['header-cursor', 'loop_at=2&loop_to=2', 2],
  ] as const)(
    '%s that repeats itself (%s): a clear error after %i requests, not a loop',
    async (style, query, requests) => {
      context.sandbox.log.clear();
      const error = await failureOf(
        collect(inputOf(routeUrl(style, query), configured[style]), undiciSend()),
      );
      expect(error).toMatchObject({ code: 'PAGINATION_LOOP', category: 'response-shape', retryable: false });
      expect(itemsRequests()).toHaveLength(requests);
    },
  );

  it('max_pages: an error once that many pages are read and the API still has more', async () => {
    context.sandbox.log.clear();
    const error = await failureOf(
      collect(inputOf(routeUrl('json-link'), paginators.jsonLink('next', 4)), undiciSend()),
    );
    expect(error).toMatchObject({ code: 'PAGINATION_MAX_PAGES' });
    expect(itemsRequests()).toHaveLength(4);
  });

  it('stop after an empty page: offset without a total asks once past the end, then stops', async () => {
    context.sandbox.log.clear();
    const result = await collect(
      inputOf(routeUrl('offset'), paginators.offset({ limit: 10, totalPath: null })),
      undiciSend(),
    );
    expect(result.values).toHaveLength(95);
    expect(result.pages.at(-1)).toMatchObject({ page: 11, records: 0, done: 'empty-page' });
  });

  it('total reached: offset and page_number stop at the total without an empty request', async () => {
    const offset = await collect(
      inputOf(routeUrl('offset', 'limit=40'), paginators.offset({ limit: 40 })),
      undiciSend(),
    );
    expect(offset.pages.map((page) => page.records)).toEqual([40, 40, 15]);
    expect(offset.pages.at(-1)?.done).toBe('total-reached');
    const pages = await collect(inputOf(routeUrl('page-number'), configured['page-number']), undiciSend());
    expect(pages.pages.at(-1)).toMatchObject({ page: 10, done: 'total-reached' });
  });

  it('maximum_offset and maximum_page: the maximum is not requested', async () => {
    const offset = await collect(
      inputOf(routeUrl('offset'), paginators.offset({ limit: 10, totalPath: null, maximumOffset: 30 })),
      undiciSend(),
    );
    expect(offset.values).toEqual([...context.sandbox.dataset.records('items', 0, 30)]);
    expect(offset.pages.at(-1)?.done).toBe('maximum-reached');
    const pages = await collect(
      inputOf(
        routeUrl('page-number'),
        paginators.pageNumber({ basePage: 1, page: 1, totalPath: null, maximumPage: 4 }),
      ),
      undiciSend(),
    );
    expect(pages.pages).toHaveLength(3);
    expect(pages.pages.at(-1)?.done).toBe('maximum-reached');
  });

  it('a next link to an origin that is not allowed is refused before it is requested', async () => {
    context.sandbox.log.clear();
    const error = await failureOf(
      collect(inputOf(routeUrl('json-link'), paginators.jsonLink()), undiciSend(), {
        allowedOrigins: [context.sandbox.otherOrigin.url],
      }),
    );
    expect(error).toMatchObject({ code: 'PAGINATION_FOREIGN_LINK' });
    expect(itemsRequests()).toHaveLength(1);
  });

  it('an echoed api_key never reaches the state; the sender adds the key to every request', async () => {
    const send = undiciSend({ api_key: 's3cret-key' });
    const result = await collect(
      inputOf(routeUrl('json-link'), paginators.jsonLink(), 'data', { credentialParams: ['api_key'] }),
      send,
    );
    expect(result.values).toHaveLength(95);
    expect(send.urls.every((url) => url.includes('api_key=s3cret-key'))).toBe(true);
    expect(send.urls[1]?.match(/api_key/g)).toHaveLength(1);
    expect(JSON.stringify(result.pages)).not.toContain('s3cret-key');
  });

  it('a status that is not 2xx is classified as the HTTP layer does (the body is closed)', async () => {
    const { sandbox } = context;
    const id = sandbox.faults.add({
      path: '/generic/pages/cursor',
      fault: { type: 'status', status: 503 },
      requests: { from: 2, to: 2 },
    });
    try {
      const error = await failureOf(collect(inputOf(routeUrl('cursor'), configured.cursor), undiciSend()));
      expect(error).toMatchObject({ code: 'HTTP_SERVER_ERROR', category: 'http-transient', retryable: true });
      expect(error.message).toContain('HTTP 503');
      expect(error.message).toContain('cursor=');
      expect(error.message).toContain('page 2');
    } finally {
      sandbox.faults.remove(id);
    }
  });

  it('a broken page fails the pagination with the extractor error; a lost connection passes through', async () => {
    const { sandbox } = context;
    const broken = sandbox.faults.add({
      path: '/generic/pages/offset',
      fault: { type: 'malformed-json' },
      requests: { from: 2, to: 2 },
    });
    try {
      const error = await failureOf(collect(inputOf(routeUrl('offset'), configured.offset), undiciSend()));
      expect(error).toMatchObject({ category: 'response-shape' });
    } finally {
      sandbox.faults.remove(broken);
    }
    const truncated = sandbox.faults.add({
      path: '/generic/pages/offset',
      fault: { type: 'truncated-body', afterBytes: 300 },
      times: 1,
    });
    try {
      // The body stream's own error (undici: "other side closed"): the HTTP layer classifies it.
      const error = await failureOf(collect(inputOf(routeUrl('offset'), configured.offset), undiciSend()));
      expect(error.name).toBe('SocketError');
    } finally {
      sandbox.faults.remove(truncated);
    }
  });
});

describe('resume from a saved state', () => {
  it.each(paginatorStyles)(
    '%s: continues after the saved page, requesting none of the earlier ones',
    async (style) => {
      const { sandbox } = context;
      for (const paginator of [configured[style], paginators.auto()]) {
        const input = inputOf(routeUrl(style), paginator, paginator.type === 'auto' ? null : 'data');
        const before = await collect(input, undiciSend(), { stopAfterPages: 3 });
        const saved = JSON.parse(JSON.stringify(before.last)) as typeof before.last;
        sandbox.log.clear();
        const after = await collect(input, undiciSend(), { resume: saved });
        expect(itemsRequests().map((request) => request.start)).toEqual([30, 40, 50, 60, 70, 80, 90]);
        expect(after.pages.map((page) => page.page)).toEqual([4, 5, 6, 7, 8, 9, 10]);
        expect([...before.texts, ...after.texts]).toEqual([...sandbox.dataset.recordTexts('items')]);
      }
    },
  );

  it('a state saved after the last page requests nothing', async () => {
    const input = inputOf(routeUrl('cursor'), configured.cursor);
    const all = await collect(input, undiciSend());
    context.sandbox.log.clear();
    const again = await collect(input, undiciSend(), { resume: all.last });
    expect(again.pages).toEqual([]);
    expect(itemsRequests()).toEqual([]);
  });

  it('a state that does not fit the paginator is refused', async () => {
    const all = await collect(inputOf(routeUrl('cursor'), configured.cursor), undiciSend(), {
      stopAfterPages: 1,
    });
    const error = await failureOf(
      collect(inputOf(routeUrl('offset'), configured.offset), undiciSend(), { resume: all.last }),
    );
    expect(error).toMatchObject({ code: 'PAGINATION_STATE_INVALID', category: 'config' });
  });
});

describe('cancellation', () => {
  it('an aborted signal stops before the next request', async () => {
    const controller = new AbortController();
    context.sandbox.log.clear();
    const error = await failureOf(
      (async () => {
        for await (const event of paginate(inputOf(routeUrl('cursor'), configured.cursor), undiciSend(), {
          signal: controller.signal,
        })) {
          if (event.type === 'page' && event.page === 2) controller.abort();
        }
      })(),
    );
    expect(error.name).toBe('AbortError');
    expect(itemsRequests()).toHaveLength(2);
  });
});
