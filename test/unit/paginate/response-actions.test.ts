/**
 * dlt `response_actions` on a paginated resource, over real HTTP: the plan's resource opened with the HTTP layer,
 * its pages sent by `pageSender` and paginated against the sandbox, a status fault injected on page 2. Pagination
 * settles a page's status exactly as `fetchRecords` does a single response (`response-status.ts`).
 */
import { describe, expect, it } from 'vitest';
import { resolveSource } from '../../../src/config/resolve.ts';
import type { SourceConfig } from '../../../src/config/schema.ts';
import { paginationInput } from '../../../src/http/paginate/paginate.ts';
import { openResource, pageSender } from '../../../src/http/resource-request.ts';
import type { Fault } from '../../../src/sandbox/faults.ts';
import { rejectionOf, withClient } from '../http/helpers.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import { collect, inputOf, paginators, undiciSend } from './helpers.ts';

const context = withSandbox({ seed: 5, counts: { items: 35 }, pageSize: 10 });
const http = withClient();
const route = '/generic/pages/json-link';

/** Injects `fault` on the second request of the route while `body` runs. */
async function onPageTwo<T>(fault: Fault, body: () => Promise<T>): Promise<T> {
  const { sandbox } = context;
  sandbox.log.clear();
  const id = sandbox.faults.add({ path: route, fault, requests: { from: 2, to: 2 } });
  try {
    return await body();
  } finally {
    sandbox.faults.remove(id);
  }
}

/** The pages of the `items` resource, paginated the way the ingest activity does it. */
async function ingestPages(responseActions: readonly object[]) {
  const config = {
    name: 'generic',
    client: { base_url: context.sandbox.url },
    resources: [
      {
        name: 'items',
        primary_key: 'id',
        endpoint: {
          path: route.slice(1),
          data_selector: 'data',
          paginator: { type: 'json_link', next_url_path: 'next' },
          response_actions: responseActions,
        },
      },
    ],
  } as unknown as SourceConfig;
  const plan = resolveSource(config, { env: {} });
  const opened = openResource(plan, 'items', { client: http.client, env: {} });
  if (opened.kind !== 'ready') throw new Error('items is skipped');
  const { requester } = opened;
  const rendered = requester.render();
  const input = paginationInput('items', requester.endpoint, rendered, {});
  return collect(input, pageSender(requester, rendered));
}

function routeRequests(): number {
  return context.sandbox.log.entries({ origin: 'main' }).filter((entry) => entry.path.startsWith(route))
    .length;
}

describe('response_actions on a paginated resource (real HTTP)', () => {
  it('a 404 that an action ignores ends the pagination after page 1, with its records kept', async () => {
    const result = await onPageTwo({ type: 'status', status: 404 }, () =>
      ingestPages([{ status_code: 404, action: 'ignore' }]),
    );
    expect(result.values).toEqual([...context.sandbox.dataset.records('items')].slice(0, 10));
    expect(result.pages.map((page) => [page.page, page.records, page.done])).toEqual([
      [1, 10, null],
      [2, 0, 'response-ignored'],
    ]);
    expect(result.last).toMatchObject({ pages: 2, next: null, done: 'response-ignored' });
    expect(routeRequests()).toBe(2);
  });

  it('an action with content ignores the page only when its body contains it', async () => {
    const matched = await onPageTwo({ type: 'status', status: 404 }, () =>
      ingestPages([{ status_code: '404', content: 'Injected by the sandbox', action: 'ignore' }]),
    );
    expect(matched.pages.at(-1)?.done).toBe('response-ignored');
    expect(matched.values).toHaveLength(10);

    const error = await onPageTwo({ type: 'status', status: 404 }, () =>
      rejectionOf(ingestPages([{ status_code: 404, content: 'no such item', action: 'ignore' }])),
    );
    expect(error).toMatchObject({ code: 'HTTP_CLIENT_ERROR', category: 'http-permanent', retryable: false });
    expect(error.details).toMatchObject({
      source: 'generic',
      resource: 'items',
      status: 404,
      phase: 'request',
      page: 2,
    });
    // The request context came with the response: the body is quoted, as for any request of the HTTP layer.
    expect(String(error.details['excerpt'])).toContain('Injected by the sandbox');
  });

  it('a status no action names fails as the HTTP layer classifies it (429 transient, with Retry-After)', async () => {
    const error = await onPageTwo(
      { type: 'status', status: 429, retryAfter: { format: 'seconds', seconds: 3 } },
      () => rejectionOf(ingestPages([{ status_code: 404, action: 'ignore' }])),
    );
    expect(error).toMatchObject({ code: 'HTTP_RATE_LIMITED', category: 'http-transient', retryable: true });
    expect(error.retryAfterMs).toBe(3000);
  });

  it('a sender that returns every status (no request context) is settled the same way', async () => {
    const url = `${context.sandbox.url}${route}`;
    const actions = [{ statusCode: 404, content: null, action: 'ignore' as const }];
    const ignored = await onPageTwo({ type: 'status', status: 404 }, () =>
      collect(inputOf(url, paginators.jsonLink(), 'data', { responseActions: actions }), undiciSend()),
    );
    expect(ignored.pages.map((page) => page.done)).toEqual([null, 'response-ignored']);

    const error = await onPageTwo({ type: 'status', status: 503 }, () =>
      rejectionOf(
        collect(inputOf(url, paginators.jsonLink(), 'data', { responseActions: actions }), undiciSend()),
      ),
    );
    expect(error).toMatchObject({ code: 'HTTP_SERVER_ERROR', category: 'http-transient', retryable: true });
    // No redactor knew the credentials: the body is not quoted.
    expect(error.details['excerpt']).toBeUndefined();
  });
});
