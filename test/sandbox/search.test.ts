import { describe, expect, it } from 'vitest';
import { searchItems, searchPath } from '../../src/sandbox/routes-generic-search.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { asObject, fetchJson, usingSandbox, withSandbox } from './helpers.ts';

const context = withSandbox({ seed: 11, counts: { items: 23 }, pageSize: 10 });

function search(
  sandbox: Sandbox,
  body: unknown,
  headers: Record<string, string> = { 'x-api-key': sandbox.generic.apiKey },
): ReturnType<typeof fetchJson> {
  return fetchJson(`${sandbox.url}${searchPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('POST /generic/search: paging by the JSON body', () => {
  it('offset/limit in the body: walking by has_more yields every item once, in order', async () => {
    const { sandbox } = context;
    sandbox.log.clear();
    const records: unknown[] = [];
    let offset = 0;
    for (;;) {
      const response = await search(sandbox, { query: '', page: { offset, limit: 7 } });
      expect(response.status).toBe(200);
      const body = asObject(response.json);
      expect(body).toMatchObject({ total: 23, offset, limit: 7 });
      records.push(...(body.data as unknown[]));
      expect(body.has_more).toBe(offset + 7 < 23);
      if (body.has_more !== true) break;
      offset += 7;
    }
    expect(records).toEqual([...sandbox.dataset.records('items')]);
    const bodies = sandbox.log
      .entries({ route: searchPath })
      .map((entry) => JSON.parse(entry.requestBody ?? 'null') as unknown);
    expect(bodies).toEqual([0, 7, 14, 21].map((o) => ({ query: '', page: { offset: o, limit: 7 } })));
  });

  it('page_number in the body: pages from 1 with total_pages and has_more', async () => {
    const { sandbox } = context;
    const pages = [];
    for (let page = 1; page <= 4; page += 1) {
      pages.push(asObject((await search(sandbox, { page_number: page })).json));
    }
    expect(pages.map((page) => (page.data as unknown[]).length)).toEqual([10, 10, 3, 0]);
    expect(pages.map((page) => page.has_more)).toEqual([true, true, false, false]);
    expect(pages[0]).toMatchObject({ total: 23, page_number: 1, page_size: 10, total_pages: 3 });
    expect(pages.flatMap((page) => page.data as unknown[])).toEqual([...sandbox.dataset.records('items')]);
    const sized = asObject((await search(sandbox, { page_number: 2, page_size: 20 })).json);
    expect(sized).toMatchObject({ page_size: 20, total_pages: 2, has_more: false });
    expect(sized.data).toHaveLength(3);
  });

  it('defaults: no page → offset 0, limit = pageSize', async () => {
    const { sandbox } = context;
    const body = asObject((await search(sandbox, {})).json);
    expect(body).toMatchObject({ total: 23, offset: 0, limit: 10, has_more: true });
  });

  it('query filters by name, case-insensitively; totals count the matches', async () => {
    const { sandbox } = context;
    const first = sandbox.dataset.record('items', 0) as { name: string };
    const word = first.name.split(' ')[1] ?? '';
    const expected = searchItems({ dataset: sandbox.dataset }, word);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(23);
    const body = asObject((await search(sandbox, { query: word.toUpperCase(), page: { limit: 100 } })).json);
    expect(body).toMatchObject({ total: expected.length, has_more: false });
    expect(body.data).toEqual(expected);
  });

  it.each([
    ['not JSON', '{oops'],
    ['not an object', '[1]'],
    ['query not a string', { query: 3 }],
    ['negative offset', { page: { offset: -1 } }],
    ['limit too large', { page: { limit: 1001 } }],
    ['page_number 0', { page_number: 0 }],
    ['both styles', { page_number: 1, page: { offset: 0 } }],
  ])('%s → 400', async (_name, body) => {
    const { sandbox } = context;
    const response = await search(sandbox, body);
    expect(response.status).toBe(400);
    expect(asObject(response.json).error).toBe('invalid_request');
  });

  it('needs the X-API-Key header: missing or wrong → 401, never data; secrets are redacted in the log', async () => {
    const { sandbox } = context;
    const missing = await search(sandbox, { page: { offset: 0 } }, {});
    expect(missing.status).toBe(401);
    expect(asObject(missing.json).data).toBeUndefined();
    expect((await search(sandbox, {}, { 'x-api-key': 'nope' })).status).toBe(401);
    const leaked = await search(sandbox, { query: sandbox.generic.apiKey }, {});
    expect(leaked.status).toBe(401);
    const last = sandbox.log.entries({ route: searchPath }).at(-1);
    expect(last?.auth).toBe('missing');
    expect(last?.requestBody).toBe('{"query":"REDACTED"}');
  });

  it('an empty dataset: one empty page, has_more false', async () => {
    await usingSandbox({ counts: { items: 0 } }, async (sandbox) => {
      expect(asObject((await search(sandbox, {})).json)).toEqual({
        data: [],
        total: 0,
        offset: 0,
        limit: 10,
        has_more: false,
      });
    });
  });
});

describe('has_more on the GET offset and page-number routes', () => {
  it('is true before the last page and false on it and past it', async () => {
    const { sandbox } = context;
    const get = async (query: string): Promise<unknown> =>
      asObject((await fetchJson(`${sandbox.url}/generic/pages/${query}`)).json).has_more;
    expect(await get('offset?offset=0&limit=10')).toBe(true);
    expect(await get('offset?offset=12&limit=10')).toBe(true);
    expect(await get('offset?offset=13&limit=10')).toBe(false);
    expect(await get('offset?offset=50&limit=10')).toBe(false);
    expect(await get('page-number?page=2')).toBe(true);
    expect(await get('page-number?page=3')).toBe(false);
    expect(await get('page-number?page=9')).toBe(false);
  });
});
