/**
 * The client and the single-request primitive against the sandbox: cancellation through an AbortSignal (before the
 * headers and during the body, rejecting with the signal's reason), response actions that ignore a status, and a
 * response's `text()`.
 */
import { describe, expect, it } from 'vitest';
import { sendRequest } from '../../../src/http/send-request.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import { fetchAll, genericPlan, rejectionOf, requester, withClient } from './helpers.ts';

const context = withSandbox({ seed: 4, counts: { items: 2000 } });
const http = withClient();
const route = '/generic/pages/offset';

describe('cancellation', () => {
  it('an abort while waiting for the headers rejects with the signal reason', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.faults.add({ path: route, fault: { type: 'slow-headers', delayMs: 3000 }, times: 1 });
    const resource = requester(genericPlan(sandbox.url, route), 'items', { client: http.client, env: {} });
    const controller = new AbortController();
    const reason = new Error('cancelled by the test');
    setTimeout(() => controller.abort(reason), 100);
    const started = performance.now();
    await expect(fetchAll(resource, { signal: controller.signal })).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('an abort during the body rejects with the signal reason', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.faults.add({
      path: route,
      fault: { type: 'slow-body', delayMs: 200, chunkBytes: 512 },
      times: 1,
    });
    const resource = requester(genericPlan(sandbox.url, route), 'items', { client: http.client, env: {} });
    const controller = new AbortController();
    const fetched = await resource.fetchRecords(resource.render(), {
      signal: controller.signal,
      query: [['limit', '1000']],
    });
    setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    await expect(
      (async () => {
        for await (const _batch of fetched.batches) {
          // reading
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('an already aborted signal sends nothing', async () => {
    const { sandbox } = context;
    await sandbox.log.settled();
    sandbox.log.clear();
    const resource = requester(genericPlan(sandbox.url, route), 'items', { client: http.client, env: {} });
    await expect(fetchAll(resource, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(sandbox.log.entries()).toHaveLength(0);
  });
});

describe('response actions and the raw primitive', () => {
  it('a status listed in response_actions is ignored: zero records, no error', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.faults.add({ path: route, fault: { type: 'status', status: 404 }, times: 2 });
    const plan = genericPlan(sandbox.url, route, {
      extra: { response_actions: [{ status_code: 404, action: 'ignore' }] },
    });
    const resource = requester(plan, 'items', { client: http.client, env: {} });
    const fetched = await resource.fetchRecords(resource.render());
    expect([fetched.status, fetched.ignored]).toEqual([404, true]);
    // The same status with content that does not match is an error.
    const strict = requester(
      genericPlan(sandbox.url, route, {
        extra: { response_actions: [{ status_code: 404, content: 'no such thing', action: 'ignore' }] },
      }),
      'items',
      { client: http.client, env: {} },
    );
    expect((await rejectionOf(fetchAll(strict))).code).toBe('HTTP_CLIENT_ERROR');
  });

  it('sendRequest returns status, headers and a streaming body', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    const response = await sendRequest(
      { method: 'GET', url: `${sandbox.url}${route}?offset=0&limit=3`, source: 'generic', resource: 'items' },
      { client: http.client },
    );
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toContain('application/json');
    const body = JSON.parse(await response.text()) as { data: unknown[]; total: number };
    expect([body.data.length, body.total]).toEqual([3, 2000]);
  });

  it('a URL that is not absolute http(s) (a bad next link) is REQUEST_URL_INVALID, redacted, nothing sent', async () => {
    const { sandbox } = context;
    await sandbox.log.settled();
    sandbox.log.clear();
    const resource = requester(genericPlan(sandbox.url, route), 'items', { client: http.client, env: {} });
    for (const url of ['ftp://example.com/x?token=abc123', '/relative?token=abc123', 'http://[bad']) {
      const error = await rejectionOf(resource.send(resource.render(), { url }));
      expect(error).toMatchObject({ category: 'response-shape', code: 'REQUEST_URL_INVALID' });
      expect(error.message).not.toContain('abc123');
    }
    expect(sandbox.log.entries()).toHaveLength(0);
  });
});
