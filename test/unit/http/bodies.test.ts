/**
 * Response bodies over real HTTP (a local server, since the sandbox does not compress): gzip, deflate and br are
 * decoded as they stream, a small compressed body that expands past the bound fails fast (gzip bomb), corrupt or
 * unknown encodings are classified, and an error body that echoes the credentials is redacted in the excerpt — also
 * a malformed record's, whose error is thrown when its value is read, after the iteration (through `fetchRecords`
 * and through the paginator, which names the page).
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../../src/http/client.ts';
import { paginate, paginationInput } from '../../../src/http/paginate/paginate.ts';
import { pageSender } from '../../../src/http/resource-request.ts';
import type { ExtractedRecord } from '../../../src/shared/records.ts';
import {
  expectNoSecret,
  fetchAll,
  genericPlan,
  rejectionOf,
  requester,
  startLocalServer,
  withClient,
  type LocalServer,
} from './helpers.ts';

const records = Array.from({ length: 300 }, (_, i) => ({
  id: i + 1,
  name: `item ${i + 1} ✓`,
  tags: ['a', 'b'],
}));
const json = Buffer.from(JSON.stringify({ data: records }));
const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024, 0x20));
const key = 'k+y/s=cret&1234 ü';

const bodies: Readonly<Record<string, { encoding?: string; body: Buffer }>> = {
  '/gzip': { encoding: 'gzip', body: gzipSync(json) },
  '/x-gzip': { encoding: 'x-gzip', body: gzipSync(json) },
  '/deflate': { encoding: 'deflate', body: deflateSync(json) },
  '/br': { encoding: 'br', body: brotliCompressSync(json) },
  '/gzip-then-br': { encoding: 'gzip, br', body: brotliCompressSync(gzipSync(json)) },
  '/identity': { body: json },
  '/bomb': { encoding: 'gzip', body: bomb },
  '/corrupt': {
    encoding: 'gzip',
    body: Buffer.concat([gzipSync(json).subarray(0, 40), Buffer.alloc(40, 7)]),
  },
  '/zstd': { encoding: 'zstd', body: json },
};

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path === '/echo') {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'bad request', url: req.url, headers: req.headers }));
      return;
    }
    if (path === '/echo-bad-json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      // The key sits right before the syntax error, so it is inside the excerpt the extractor takes.
      res.end(`{"data": [{"id": 1, "key": ${JSON.stringify(req.headers['key'])}} oops]}`);
      return;
    }
    const entry = bodies[path];
    if (entry === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(entry.encoding === undefined ? {} : { 'content-encoding': entry.encoding }),
    });
    res.end(entry.body);
  });
});
afterAll(async () => {
  await server.stop();
});

const http = withClient({ maxBodyBytes: 1024 * 1024 });

describe('content decoding', () => {
  it.each(['/gzip', '/x-gzip', '/deflate', '/br', '/gzip-then-br', '/identity'])('%s', async (path) => {
    const resource = requester(genericPlan(server.url, path), 'items', { client: http.client, env: {} });
    expect(await fetchAll(resource)).toEqual(records);
    expect(server.received.at(-1)?.headers['accept-encoding']).toBe('gzip, deflate, br');
  });

  it('a gzip bomb stops at the decoded-size bound', async () => {
    expect(bomb.length).toBeLessThan(64 * 1024);
    const resource = requester(genericPlan(server.url, '/bomb'), 'items', { client: http.client, env: {} });
    const error = await rejectionOf(fetchAll(resource));
    expect(error).toMatchObject({ category: 'response-shape', code: 'RESPONSE_TOO_LARGE', retryable: false });
    expect(error.message).toContain('exceeds 1048576 bytes');
    expect(error.message).toContain(`GET ${server.url}/bomb`);
  });

  it('the bound applies to an uncompressed body too', async () => {
    const client = createHttpClient({ maxBodyBytes: 1000 });
    try {
      const resource = requester(genericPlan(server.url, '/identity'), 'items', { client, env: {} });
      expect((await rejectionOf(fetchAll(resource))).code).toBe('RESPONSE_TOO_LARGE');
    } finally {
      await client.close();
    }
  });

  it.each([
    ['/corrupt', 'the compressed body is corrupt'],
    ['/zstd', 'unsupported Content-Encoding "zstd"'],
  ])('%s is RESPONSE_ENCODING', async (path, says) => {
    const resource = requester(genericPlan(server.url, path), 'items', { client: http.client, env: {} });
    const error = await rejectionOf(fetchAll(resource));
    expect(error).toMatchObject({ category: 'response-shape', code: 'RESPONSE_ENCODING' });
    expect(error.message).toContain(says);
  });
});

describe('redaction', () => {
  it.each(['query', 'header', 'cookie'] as const)(
    'an error body echoing the %s api key shows no key, in any encoding',
    async (location) => {
      const plan = genericPlan(server.url, '/echo', {
        auth: { type: 'api_key', name: 'key', location, api_key: { $env: 'ECHO_KEY' } },
      });
      const resource = requester(plan, 'items', { client: http.client, env: { ECHO_KEY: key } });
      const error = await rejectionOf(fetchAll(resource));
      expect(error).toMatchObject({ category: 'http-permanent', code: 'HTTP_CLIENT_ERROR' });
      expect(error.message).toContain('body: "');
      expect(error.message).toContain('REDACTED');
      expectNoSecret(error, [key, encodeURIComponent(key), JSON.stringify(key).slice(1, -1)]);
      // The key did arrive (the test would prove nothing otherwise).
      expect(JSON.stringify(server.received.at(-1))).toContain(
        location === 'header' ? key : encodeURIComponent(key),
      );
    },
  );

  // The broken record is cut from the array as bytes: its error is thrown when its value is read, after the
  // iteration ended well — and must still name the request and quote the body redacted.
  const echoBadJson = () =>
    requester(
      genericPlan(server.url, '/echo-bad-json', {
        auth: { type: 'api_key', name: 'key', location: 'header', api_key: { $env: 'ECHO_KEY' } },
      }),
      'items',
      { client: http.client, env: { ECHO_KEY: key } },
    );

  /** The error of reading every record's value, once the records were all collected. */
  const valuesError = (records: readonly ExtractedRecord[]) =>
    rejectionOf(
      Promise.resolve().then(() => {
        for (const record of records) void record.value;
      }),
    );

  it('a malformed record echoing the key is classified by the extractor and redacted (fetchRecords)', async () => {
    const resource = echoBadJson();
    const fetched = await resource.fetchRecords(resource.render());
    const records: ExtractedRecord[] = [];
    for await (const batch of fetched.batches) records.push(...batch.records);
    expect(fetched.outcome()?.records).toBe(1);
    const error = await valuesError(records);
    expect(error).toMatchObject({ category: 'response-shape', code: 'INVALID_JSON' });
    expect(error.message).toContain(`(source "generic", resource "items": GET ${server.url}/echo-bad-json)`);
    expect(error.details['phase']).toBe('request');
    expect(error.details['index']).toBe(0);
    expect(String(error.details['excerpt'])).toContain('REDACTED');
    expectNoSecret(error, [key, JSON.stringify(key).slice(1, -1)]);
  });

  it('a malformed record echoing the key names its page and is redacted (paginate)', async () => {
    const resource = echoBadJson();
    const rendered = resource.render();
    const records: ExtractedRecord[] = [];
    const pages: number[] = [];
    for await (const event of paginate(
      paginationInput('items', resource.endpoint, rendered, {}),
      pageSender(resource, rendered),
    )) {
      if (event.type === 'records') records.push(...event.batch.records);
      else pages.push(event.page);
    }
    expect(pages).toEqual([1]);
    const error = await valuesError(records);
    expect(error).toMatchObject({ category: 'response-shape', code: 'INVALID_JSON' });
    expect(error.message).toMatch(/^page 1: /);
    expect(error.message).toContain(`GET ${server.url}/echo-bad-json`);
    expect(error.details).toMatchObject({ phase: 'request', page: 1, index: 0 });
    expect(String(error.details['excerpt'])).toContain('REDACTED');
    expectNoSecret(error, [key, JSON.stringify(key).slice(1, -1)]);
  });

  it('a bearer token and basic credentials echoed back are redacted', async () => {
    for (const auth of [
      { type: 'bearer', token: { $env: 'ECHO_KEY' } },
      { type: 'http_basic', username: 'someone', password: { $env: 'ECHO_KEY' } },
    ]) {
      const resource = requester(genericPlan(server.url, '/echo', { auth }), 'items', {
        client: http.client,
        env: { ECHO_KEY: key },
      });
      const error = await rejectionOf(fetchAll(resource));
      expectNoSecret(error, [key, Buffer.from(`someone:${key}`).toString('base64')]);
    }
  });
});
