import { describe, expect, it } from 'vitest';
import { nextCursorHeader, paginatorStyles, type PaginatorStyle } from '../../src/sandbox/routes-generic.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { asObject, fetchJson, fetchText, usingSandbox, withSandbox } from './helpers.ts';

const context = withSandbox({ seed: 5, counts: { items: 95 }, pageSize: 10 });

interface Walk {
  readonly records: unknown[];
  readonly requests: number;
}

/** Follows one paginator style the way a client configured for it would, until it says there is no more. */
async function walk(sandbox: Sandbox, style: PaginatorStyle, pageSize?: number): Promise<Walk> {
  const base = `${sandbox.url}/generic/pages/${style}`;
  const sizeQuery =
    pageSize === undefined ? '' : style === 'offset' ? `limit=${pageSize}` : `page_size=${pageSize}`;
  const records: unknown[] = [];
  let url: string | undefined = `${base}?${sizeQuery}`;
  let requests = 0;
  while (url !== undefined && requests < 100) {
    requests += 1;
    const response = await fetchJson(url);
    expect(response.status).toBe(200);
    const body = asObject(response.json);
    const data = body.data as unknown[];
    records.push(...data);
    switch (style) {
      case 'json-link':
        url = typeof body.next === 'string' ? body.next : undefined;
        break;
      case 'header-link': {
        const link = response.headers.link;
        const match = typeof link === 'string' ? /<([^>]+)>;\s*rel="next"/.exec(link) : null;
        url = match?.[1];
        break;
      }
      case 'offset': {
        const next = Number(body.offset) + Number(body.limit);
        url = next < Number(body.total) ? `${base}?offset=${next}&limit=${String(body.limit)}` : undefined;
        break;
      }
      case 'page-number': {
        const page = Number(body.page);
        url = page < Number(body.total_pages) ? `${base}?page=${page + 1}&${sizeQuery}` : undefined;
        break;
      }
      case 'cursor': {
        const next = asObject(body.cursors).next;
        url =
          body.has_more === true && typeof next === 'string'
            ? `${base}?cursor=${next}&${sizeQuery}`
            : undefined;
        break;
      }
      case 'header-cursor': {
        const next = response.headers[nextCursorHeader.toLowerCase()];
        url = typeof next === 'string' ? `${base}?cursor=${next}&${sizeQuery}` : undefined;
        break;
      }
    }
  }
  return { records, requests };
}

describe('paginator routes over the generic dataset', () => {
  it.each(paginatorStyles)('%s: walking every page yields exactly the dataset, in order', async (style) => {
    const { sandbox } = context;
    const result = await walk(sandbox, style);
    expect(result.records).toEqual([...sandbox.dataset.records('items')]);
    expect(result.requests).toBe(10);
  });

  it.each(paginatorStyles)('%s: the client may choose the page size', async (style) => {
    const { sandbox } = context;
    const result = await walk(sandbox, style, 40);
    expect(result.records).toHaveLength(95);
    expect(result.requests).toBe(3);
  });

  it('pages report their totals and their last page', async () => {
    const { sandbox } = context;
    const offset = asObject((await fetchJson(`${sandbox.url}/generic/pages/offset?offset=90&limit=10`)).json);
    expect(offset).toMatchObject({ total: 95, offset: 90, limit: 10 });
    expect(offset.data).toHaveLength(5);
    const page = asObject((await fetchJson(`${sandbox.url}/generic/pages/page-number?page=10`)).json);
    expect(page).toMatchObject({ page: 10, total_pages: 10, total_items: 95 });
    const last = asObject((await fetchJson(`${sandbox.url}/generic/pages/json-link?page=10`)).json);
    expect(last.next).toBeNull();
    const headerLast = await fetchText(`${sandbox.url}/generic/pages/header-link?page=10`);
    expect(headerLast.headers.link).toBeUndefined();
    expect(sandbox.log.entries().at(-1)?.served).toEqual({ resource: 'items', start: 90, end: 95 });
  });

  it.each([
    ['offset', 'offset=-1'],
    ['offset', 'limit=0'],
    ['page-number', 'page=0'],
    ['json-link', 'page_size=100000'],
    ['cursor', 'cursor=bogus'],
    ['header-cursor', 'cursor=%%%'],
  ])('%s rejects %s with 400', async (style, query) => {
    const { sandbox } = context;
    expect((await fetchText(`${sandbox.url}/generic/pages/${style}?${query}`)).status).toBe(400);
  });

  it('an empty dataset is one empty page in every style', async () => {
    await usingSandbox({ counts: { items: 0 } }, async (sandbox) => {
      for (const style of paginatorStyles) {
        const result = await walk(sandbox, style);
        expect(result).toEqual({ records: [], requests: 1 });
      }
    });
  });
});
