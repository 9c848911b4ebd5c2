import { describe, expect, it } from 'vitest';
import { defaultMaxPages } from '../../../src/shared/plan.ts';
import { extractAllRecords } from '../../../src/http/extract/extract-records.ts';
import { autoCapture, detectPaginator } from '../../../src/http/paginate/auto-detect.ts';
import type { PageFacts } from '../../../src/http/paginate/types.ts';
import { factsOf, origin } from './helpers.ts';

/** The facts of a body as the driver gets them: captured in the extractor's single pass. */
async function factsOfBody(body: string, headers: PageFacts['headers'] = {}): Promise<PageFacts> {
  const { records, outcome } = await extractAllRecords([new TextEncoder().encode(body)], {
    capture: autoCapture,
  });
  return { ...factsOf({ headers, records: records.length }), captured: outcome.captured ?? [] };
}

async function detect(body: string, headers: PageFacts['headers'] = {}) {
  return detectPaginator(await factsOfBody(body, headers), defaultMaxPages);
}

describe('auto detection of the paginator (dlt PaginatorFactory, first match wins)', () => {
  it('header_link: a Link header with rel="next" (even when the body has a next link)', async () => {
    const detection = await detect(`{"data":[],"next":"${origin}/2"}`, { link: `<${origin}/2>; rel="next"` });
    expect(detection.paginator).toEqual({
      type: 'header_link',
      linksNextKey: 'next',
      maxPages: defaultMaxPages,
    });
  });

  it('header_cursor (ours): a next-cursor header', async () => {
    for (const name of ['x-next-cursor', 'next-page-token', 'x-next_token']) {
      const detection = await detect('[1,2]', { [name]: 'abc' });
      expect(detection.paginator).toMatchObject({
        type: 'header_cursor',
        cursorKey: name,
        cursorParam: 'cursor',
      });
    }
    expect((await detect('[1]', { 'x-next-cursor': '' })).paginator.type).toBe('single_page');
  });

  it('json_link: the first next… key whose value is a link (absolute or starting with /)', async () => {
    expect((await detect(`{"data":[1],"next":"${origin}/2"}`)).paginator).toMatchObject({
      type: 'json_link',
      nextUrlPath: '$.next',
    });
    expect(
      (await detect('{"items":[1],"meta":{"paging":{"nextPage":"/v1/items?page=2"}}}')).paginator,
    ).toMatchObject({
      type: 'json_link',
      nextUrlPath: '$.meta.paging.nextPage',
    });
  });

  it('json_link: a next object with an href or url member', async () => {
    const body = `{"data":[1],"links":{"self":{"href":"/1"},"next":{"rel":"next","href":"${origin}/2"}}}`;
    expect((await detect(body)).paginator).toMatchObject({
      type: 'json_link',
      nextUrlPath: '$.links.next.href',
    });
  });

  it('json_link detection looks around the records, before or after them, but never inside them', async () => {
    const body = `{"data":[{"next":"${origin}/inside"}],"count":1}`;
    expect((await detect(body)).paginator.type).toBe('single_page');
  });

  it('page_number: total_pages / pages / totalPages, with the current page read from a sibling', async () => {
    expect((await detect('{"data":[1],"page":1,"page_size":10,"total_pages":10}')).paginator).toMatchObject({
      type: 'page_number',
      totalPath: '$.total_pages',
      basePage: 1,
      page: 1,
      pageParam: 'page',
    });
    expect(await detect('{"data":[1],"paging":{"totalPages":6,"currentPage":0}}')).toMatchObject({
      paginator: { type: 'page_number', totalPath: '$.paging.totalPages', basePage: 0 },
      position: 0,
    });
    // No current page: dlt's defaults (page 0 first, so the next request asks for page 1).
    expect(await detect('{"data":[1],"pages":"4"}')).toMatchObject({
      paginator: { type: 'page_number', basePage: 0, page: 0 },
      position: 0,
    });
  });

  it('offset (ours): an object with integer offset, limit and total', async () => {
    expect(await detect('{"data":[1],"total":95,"offset":0,"limit":10}')).toMatchObject({
      paginator: { type: 'offset', limit: 10, offset: 0, totalPath: '$.total', offsetParam: 'offset' },
      position: 0,
    });
    expect((await detect('{"data":[1],"total":95,"offset":0,"limit":0}')).paginator.type).toBe('single_page');
  });

  it('cursor: a next… value that is not a link', async () => {
    expect((await detect('{"data":[1],"cursors":{"next":"aXRlbXM6MTA"},"has_more":true}')).paginator).toEqual(
      {
        type: 'cursor',
        cursorPath: '$.cursors.next',
        cursorParam: 'cursor',
        cursorBodyPath: null,
        maxPages: defaultMaxPages,
      },
    );
    expect((await detect('{"results":[1],"next_cursor":12345}')).paginator).toMatchObject({
      type: 'cursor',
      cursorPath: '$.next_cursor',
    });
  });

  it('single_page: nothing that looks like pagination (a null next, a list, a plain object)', async () => {
    for (const body of ['{"data":[1],"next":null}', '[1,2,3]', '{"id":1}', '']) {
      expect((await detect(body)).paginator).toEqual({ type: 'single_page' });
    }
  });
});
