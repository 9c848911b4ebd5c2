import { describe, expect, it } from 'vitest';
import { communicationsResources, isSingleObjectResource } from '../../src/sandbox/resources.ts';
import { asObject, communicationsUrl, fetchJson, fetchText, usingSandbox, withSandbox } from './helpers.ts';

const context = withSandbox({ seed: 7, counts: { call_queues: 3, user_call_records: 57 }, pageSize: 10 });

describe('communications API (seed 000)', () => {
  it.each(communicationsResources)(
    'GET /v1/%s serves exactly the dataset body with the key in the query',
    async (resource) => {
      const { sandbox } = context;
      const response = await fetchText(communicationsUrl(sandbox, resource));
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.text).toBe(sandbox.dataset.bodyText(resource));
      const data = asObject(JSON.parse(response.text)).data;
      if (isSingleObjectResource(resource)) {
        expect(typeof asObject(data).id).toBe('string');
      } else {
        expect(Array.isArray(data)).toBe(true);
        const records = data as Record<string, unknown>[];
        expect(records).toHaveLength(sandbox.dataset.count(resource));
        for (const record of records) expect(typeof record.id).toBe('string');
        expect(new Set(records.map((record) => record.id)).size).toBe(records.length);
      }
    },
  );

  it('serves the configured count, and an empty list for a count of 0', async () => {
    const { sandbox } = context;
    const queues = await fetchJson(communicationsUrl(sandbox, 'call_queues'));
    expect(asObject(queues.json).data).toHaveLength(3);
    await usingSandbox({ counts: { ivr_prompts: 0 } }, async (empty) => {
      const prompts = await fetchText(communicationsUrl(empty, 'ivr_prompts'));
      expect(prompts.status).toBe(200);
      expect(prompts.text).toBe('{"data":[]}');
    });
  });

  it('business hours are one object with weekly ranges', async () => {
    const { sandbox } = context;
    const body = await fetchJson(communicationsUrl(sandbox, 'company_business_hours'));
    const data = asObject(asObject(body.json).data);
    expect(Object.keys(asObject(data.weeklyRanges))).toEqual([
      'monday',
      'tuesday',
      'wednesday',
      'thursday',
      'friday',
      'saturday',
      'sunday',
    ]);
  });

  it.each([
    ['no key', ''],
    ['a wrong key', '?api_key=wrong'],
    ['the key in a header only', ''],
  ])('answers 401 with a JSON body and no data for %s', async (_name, query) => {
    const { sandbox } = context;
    const response = await fetchJson(`${sandbox.url}/v1/call_queues${query}`, {
      headers: { api_key: sandbox.keys.communications },
    });
    expect(response.status).toBe(401);
    const body = asObject(response.json);
    expect(body.error).toBe('unauthorized');
    expect(body).not.toHaveProperty('data');
    expect(sandbox.log.entries().at(-1)?.auth).toBe(query === '' ? 'missing' : 'invalid');
  });

  it('the multi-page call records walk to exactly the single-page records, with the key on every page', async () => {
    const { sandbox } = context;
    const seen: unknown[] = [];
    let next: string | undefined = communicationsUrl(sandbox, 'user_call_records', {
      page: '1',
      perPage: '10',
    });
    let pages = 0;
    while (next !== undefined) {
      const page = asObject((await fetchJson(next)).json);
      seen.push(...(page.data as unknown[]));
      const paging = asObject(page.paging);
      expect(paging).toMatchObject({ perPage: 10, totalPages: 6, totalElements: 57 });
      const nextPage = asObject(page.navigation).nextPage as { uri: string } | undefined;
      expect(nextPage?.uri ?? '').not.toContain('api_key');
      next = nextPage === undefined ? undefined : `${nextPage.uri}&api_key=${sandbox.keys.communications}`;
      pages += 1;
    }
    expect(pages).toBe(6);
    expect(seen).toEqual([...sandbox.dataset.records('user_call_records')]);
  });

  it('pages of call records need the key too, and reject bad paging values', async () => {
    const { sandbox } = context;
    expect((await fetchText(`${sandbox.url}/v1/user_call_records?page=1`)).status).toBe(401);
    expect((await fetchText(communicationsUrl(sandbox, 'user_call_records', { page: '0' }))).status).toBe(
      400,
    );
    expect(
      (await fetchText(communicationsUrl(sandbox, 'user_call_records', { perPage: '5000' }))).status,
    ).toBe(400);
    const beyond = await fetchJson(
      communicationsUrl(sandbox, 'user_call_records', { page: '99', perPage: '10' }),
    );
    expect(asObject(beyond.json).data).toEqual([]);
  });

  it('logs which records each request served', async () => {
    const { sandbox } = context;
    await fetchText(communicationsUrl(sandbox, 'user_call_records', { page: '3', perPage: '10' }));
    expect(sandbox.log.entries().at(-1)?.served).toEqual({
      resource: 'user_call_records',
      start: 20,
      end: 30,
    });
    await fetchText(communicationsUrl(sandbox, 'call_queues'));
    expect(sandbox.log.entries().at(-1)?.served).toEqual({ resource: 'call_queues', start: 0, end: 3 });
  });

  it('answers 404 for an unknown path and 405 for a wrong method', async () => {
    const { sandbox } = context;
    expect((await fetchText(communicationsUrl(sandbox, 'nope'))).status).toBe(404);
    const post = await fetchText(communicationsUrl(sandbox, 'call_queues'), { method: 'POST', body: '' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
  });
});
