/**
 * What a 2xx's `Content-Type` decides, over real HTTP (a local server): JSON types, no type, `text/plain` and
 * `application/octet-stream` are read as JSON — a body that is not JSON then fails `BODY_NOT_JSON`, as it does
 * without a type — while HTML fails `RESPONSE_HTML` and any other type (XML, CSV…) `RESPONSE_CONTENT_TYPE`, before
 * the body is parsed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fetchAll,
  genericPlan,
  rejectionOf,
  requester,
  startLocalServer,
  withClient,
  type LocalServer,
} from './helpers.ts';

const records = [{ id: 1 }, { id: 2, name: 'two' }];
const json = JSON.stringify({ data: records });

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const type = url.searchParams.get('type');
    const body = url.pathname === '/json' ? json : 'OK, nothing to see';
    res.writeHead(200, type === null ? {} : { 'content-type': type }).end(body);
  });
});
afterAll(async () => {
  await server.stop();
});

const http = withClient();

const resourceAt = (path: string, type: string | null) =>
  requester(genericPlan(server.url, path, { extra: type === null ? {} : { params: { type } } }), 'items', {
    client: http.client,
    env: {},
  });

describe('a 2xx body by its Content-Type', () => {
  it.each([
    'application/json',
    'application/vnd.api+json; charset=utf-8',
    'text/json',
    'text/plain',
    'text/plain; charset=utf-8',
    'application/octet-stream',
    null,
  ])('%s: a JSON body is read', async (type) => {
    expect(await fetchAll(resourceAt('/json', type))).toEqual(records);
  });

  it.each(['text/plain; charset=utf-8', 'application/octet-stream', null])(
    '%s: a body that is not JSON fails BODY_NOT_JSON',
    async (type) => {
      const error = await rejectionOf(fetchAll(resourceAt('/text', type)));
      expect([error.code, error.category, error.retryable]).toEqual([
        'BODY_NOT_JSON',
        'response-shape',
        false,
      ]);
    },
  );

  it.each([
    ['text/html; charset=utf-8', 'RESPONSE_HTML'],
    ['application/xhtml+xml', 'RESPONSE_HTML'],
    ['application/xml', 'RESPONSE_CONTENT_TYPE'],
    ['text/csv', 'RESPONSE_CONTENT_TYPE'],
    ['image/png', 'RESPONSE_CONTENT_TYPE'],
  ])('%s: refused as %s, even with a JSON body', async (type, code) => {
    const error = await rejectionOf(fetchAll(resourceAt('/json', type)));
    expect([error.code, error.category, error.retryable]).toEqual([code, 'response-shape', false]);
    expect(error.details['contentType']).toBe(type.split(';')[0]);
  });
});
