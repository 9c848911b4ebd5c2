import { describe, expect, it } from 'vitest';
import { nextCursorHeader } from '../../src/sandbox/routes-generic.ts';
import { asObject, fetchJson, withSandbox } from './helpers.ts';

const context = withSandbox({ seed: 5, counts: { items: 95 }, pageSize: 10 });

describe('paginator routes that misbehave on request (loop guards)', () => {
  it('json-link: loop_at makes that page link back to loop_to, keeping the loop parameters', async () => {
    const { sandbox } = context;
    const base = `${sandbox.url}/generic/pages/json-link`;
    const page3 = asObject((await fetchJson(`${base}?page=3&loop_at=3&loop_to=2`)).json);
    expect(page3.next).toBe(`${sandbox.url}/generic/pages/json-link?page=2&page_size=10&loop_at=3&loop_to=2`);
    const page2 = asObject((await fetchJson(`${base}?page=2&loop_at=3&loop_to=2`)).json);
    expect(page2.next).toBe(`${sandbox.url}/generic/pages/json-link?page=3&page_size=10&loop_at=3&loop_to=2`);
  });

  it('header-link: loop_at without loop_to links a page to itself', async () => {
    const { sandbox } = context;
    const response = await fetchJson(`${sandbox.url}/generic/pages/header-link?page=4&loop_at=4`);
    expect(response.headers.link).toBe(
      `<${sandbox.url}/generic/pages/header-link?page=4&page_size=10&loop_at=4>; rel="next"`,
    );
  });

  it('cursor and header-cursor: the looping page hands out the cursor of loop_to', async () => {
    const { sandbox } = context;
    const first = asObject((await fetchJson(`${sandbox.url}/generic/pages/cursor?page_size=10`)).json);
    const firstCursor = asObject(first.cursors).next;
    const looped = asObject(
      (
        await fetchJson(
          `${sandbox.url}/generic/pages/cursor?cursor=${String(firstCursor)}&loop_at=2&loop_to=2`,
        )
      ).json,
    );
    expect(asObject(looped.cursors).next).toBe(firstCursor);
    const header = await fetchJson(`${sandbox.url}/generic/pages/header-cursor?loop_at=1`);
    const cursor = String(header.headers[nextCursorHeader.toLowerCase()]);
    expect(Buffer.from(cursor, 'base64url').toString('utf8')).toBe('items:0');
  });

  it('echoes an api_key sent in the query into the next links, like some APIs do', async () => {
    const { sandbox } = context;
    const body = asObject((await fetchJson(`${sandbox.url}/generic/pages/json-link?api_key=s3cret`)).json);
    expect(body.next).toBe(`${sandbox.url}/generic/pages/json-link?page=2&page_size=10&api_key=s3cret`);
  });

  it('refuses a loop_at that is not an integer', async () => {
    const { sandbox } = context;
    expect((await fetchJson(`${sandbox.url}/generic/pages/json-link?loop_at=x`)).status).toBe(400);
  });
});
