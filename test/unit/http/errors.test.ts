/**
 * Every error class against the sandbox's faults over real HTTP, table-driven: category, code, retryable,
 * `retryAfterMs` (seconds and HTTP-date), the phase (connect or request), a message naming source, resource, method
 * and the URL with the query-string api key redacted, and no secret anywhere in the thrown object.
 */
import { describe, expect, it } from 'vitest';
import type { Fault } from '../../../src/sandbox/faults.ts';
import type { Sandbox } from '../../../src/sandbox/server.ts';
import { createHttpClient } from '../../../src/http/client.ts';
import { failedBeforeSending } from '../../../src/http/http-errors.ts';
import type { ResourceRequester, ResourceSendOptions } from '../../../src/http/resource-request.ts';
import type { IngestError } from '../../../src/errors.ts';
import type { ExtractedRecord } from '../../../src/shared/records.ts';
import { withSandbox } from '../../sandbox/helpers.ts';
import {
  closedPort,
  expectNoSecret,
  fetchAll,
  genericPlan,
  rejectionOf,
  requester,
  sandboxSecrets,
  silentTcpServer,
  withClient,
} from './helpers.ts';

const context = withSandbox({ seed: 3, counts: { items: 400 } });
const http = withClient();
const route = '/generic/auth/api-key-query';
const queryAuth = { type: 'api_key', name: 'api_key', location: 'query', api_key: { $env: 'GENERIC_KEY' } };

function itemsResource(sandbox: Sandbox, extra: object = {}): ResourceRequester {
  const plan = genericPlan(sandbox.url, route, { auth: queryAuth, extra });
  return requester(plan, 'items', { client: http.client, env: { GENERIC_KEY: sandbox.generic.apiKey } });
}

/**
 * Fetches every record, then reads their values, as staging would: the error of the request or of the body — a
 * malformed record fails only when its value is read, after the iteration.
 */
async function failureOf(
  resource: ResourceRequester,
  options: ResourceSendOptions = {},
): Promise<IngestError> {
  return rejectionOf(
    (async () => {
      const fetched = await resource.fetchRecords(resource.render(), options);
      const records: ExtractedRecord[] = [];
      for await (const batch of fetched.batches) records.push(...batch.records);
      for (const record of records) void record.value;
    })(),
  );
}

interface ErrorCase {
  readonly name: string;
  readonly fault: Fault;
  readonly options?: ResourceSendOptions;
  readonly category: IngestError['category'];
  readonly code: string;
  readonly retryAfterMs?: readonly [number, number];
  readonly status?: number;
  /** Text the message must contain besides the request. */
  readonly says?: string;
}

const cases: readonly ErrorCase[] = [
  {
    name: '429 with Retry-After in seconds',
    fault: { type: 'status', status: 429, retryAfter: { seconds: 2, format: 'seconds' } },
    category: 'http-transient',
    code: 'HTTP_RATE_LIMITED',
    retryAfterMs: [2000, 2000],
    status: 429,
    says: 'HTTP 429 Too Many Requests (retry after 2000 ms)',
  },
  {
    name: '429 with Retry-After as an HTTP-date',
    fault: { type: 'status', status: 429, retryAfter: { seconds: 3, format: 'http-date' } },
    category: 'http-transient',
    code: 'HTTP_RATE_LIMITED',
    // The date is rounded up to a whole second by the server: 3 s to 4 s from when it was sent.
    retryAfterMs: [2500, 4000],
    status: 429,
  },
  {
    name: '503 with Retry-After',
    fault: { type: 'status', status: 503, retryAfter: { seconds: 1, format: 'seconds' } },
    category: 'http-transient',
    code: 'HTTP_SERVER_ERROR',
    retryAfterMs: [1000, 1000],
    status: 503,
  },
  ...[500, 502, 504].map((status): ErrorCase => ({
    name: `${status}`,
    fault: { type: 'status', status },
    category: 'http-transient',
    code: 'HTTP_SERVER_ERROR',
    status,
  })),
  {
    name: '408',
    fault: { type: 'status', status: 408 },
    category: 'http-transient',
    code: 'HTTP_REQUEST_TIMEOUT',
    status: 408,
  },
  ...[400, 404, 422].map((status): ErrorCase => ({
    name: `${status}`,
    fault: { type: 'status', status },
    category: 'http-permanent',
    code: 'HTTP_CLIENT_ERROR',
    status,
    says: 'Injected by the sandbox.',
  })),
  {
    name: '401',
    fault: { type: 'status', status: 401 },
    category: 'auth',
    code: 'HTTP_UNAUTHORIZED',
    status: 401,
  },
  {
    name: '403',
    fault: { type: 'status', status: 403 },
    category: 'auth',
    code: 'HTTP_FORBIDDEN',
    status: 403,
  },
  {
    name: 'HTML with 200',
    fault: { type: 'html' },
    category: 'response-shape',
    code: 'RESPONSE_HTML',
    status: 200,
    says: 'Down for maintenance',
  },
  {
    name: 'a content type that is not JSON (XML)',
    fault: { type: 'wrong-content-type', contentType: 'application/xml' },
    category: 'response-shape',
    code: 'RESPONSE_CONTENT_TYPE',
    status: 200,
    says: 'application/xml',
  },
  {
    name: 'malformed JSON with 200',
    fault: { type: 'malformed-json' },
    category: 'response-shape',
    code: 'INVALID_JSON',
    says: 'NaN',
  },
  {
    name: 'connection reset before the headers',
    fault: { type: 'reset', when: 'before-headers' },
    category: 'http-transient',
    code: 'HTTP_NETWORK_ERROR',
  },
  {
    name: 'connection reset during the body',
    fault: { type: 'reset', when: 'mid-body' },
    category: 'http-transient',
    code: 'HTTP_BODY_INCOMPLETE',
  },
  {
    name: 'body shorter than its Content-Length',
    fault: { type: 'truncated-body' },
    category: 'http-transient',
    code: 'HTTP_BODY_INCOMPLETE',
  },
  {
    name: 'slow headers',
    fault: { type: 'slow-headers', delayMs: 1500 },
    options: { headersTimeoutMs: 200 },
    category: 'http-transient',
    code: 'HTTP_HEADERS_TIMEOUT',
  },
  {
    name: 'slow body',
    fault: { type: 'slow-body', delayMs: 1500, chunkBytes: 4096 },
    options: { bodyTimeoutMs: 200 },
    category: 'http-transient',
    code: 'HTTP_BODY_TIMEOUT',
  },
];

describe('error classification against the sandbox', () => {
  it.each(cases)('$name → $category $code', async (errorCase) => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.faults.add({ path: route, fault: errorCase.fault, times: 1 });
    const error = await failureOf(itemsResource(sandbox), errorCase.options);
    await sandbox.log.settled();
    expect(error.category).toBe(errorCase.category);
    expect(error.code).toBe(errorCase.code);
    expect(error.retryable).toBe(errorCase.category === 'http-transient');
    if (errorCase.retryAfterMs === undefined) expect(error.retryAfterMs).toBeUndefined();
    else {
      expect(Number.isInteger(error.retryAfterMs)).toBe(true);
      expect(error.retryAfterMs).toBeGreaterThanOrEqual(errorCase.retryAfterMs[0]);
      expect(error.retryAfterMs).toBeLessThanOrEqual(errorCase.retryAfterMs[1]);
    }
    expect(error.details['phase']).toBe('request');
    expect(failedBeforeSending(error)).toBe(false);
    if (errorCase.status !== undefined) expect(error.details['status']).toBe(errorCase.status);
    expect(error.message).toContain(
      `source "generic", resource "items": GET ${sandbox.url}${route}?api_key=REDACTED`,
    );
    if (errorCase.says !== undefined) expect(error.message).toContain(errorCase.says);
    expectNoSecret(error, sandboxSecrets(sandbox));
  });

  it('a selector missing from the body is SELECTOR_NOT_FOUND naming the request', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    const error = await failureOf(itemsResource(sandbox, { data_selector: 'results' }));
    expect(error).toMatchObject({ category: 'response-shape', code: 'SELECTOR_NOT_FOUND', retryable: false });
    expect(error.message).toContain(`GET ${sandbox.url}${route}?api_key=REDACTED`);
    expect(error.details['phase']).toBe('request');
    expectNoSecret(error, sandboxSecrets(sandbox));
  });

  it('a 204 is zero records, not an error', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.faults.add({ path: route, fault: { type: 'empty' }, times: 1 });
    const resource = itemsResource(sandbox);
    const fetched = await resource.fetchRecords(resource.render());
    let count = 0;
    for await (const batch of fetched.batches) count += batch.records.length;
    expect([fetched.status, count, fetched.outcome()?.selected]).toEqual([204, 0, 'empty']);
  });

  it('the real body labelled text/plain is read as JSON, as without a type', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    const expected = await fetchAll(itemsResource(sandbox));
    sandbox.faults.add({ path: route, fault: { type: 'wrong-content-type' }, times: 1 });
    expect(await fetchAll(itemsResource(sandbox))).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
  });
});

describe('the connect phase', () => {
  it('a refused port fails in the connect phase: nothing was sent', async () => {
    const port = await closedPort();
    const plan = genericPlan(`http://127.0.0.1:${port}`, route, { auth: queryAuth });
    const resource = requester(plan, 'items', {
      client: http.client,
      env: { GENERIC_KEY: 'secret-key-123456' },
    });
    const error = await failureOf(resource);
    expect(error).toMatchObject({ category: 'http-transient', code: 'HTTP_NETWORK_ERROR', retryable: true });
    expect(error.details['phase']).toBe('connect');
    expect(error.details['causeCode']).toBe('ECONNREFUSED');
    expect(failedBeforeSending(error)).toBe(true);
    expect(error.message).toContain(`GET http://127.0.0.1:${port}${route}?api_key=REDACTED`);
    expectNoSecret(error, ['secret-key-123456']);
  });

  it('a TLS handshake that never completes is a connect timeout (connect phase)', async () => {
    const silent = await silentTcpServer();
    const client = createHttpClient({ timeouts: { connectMs: 200 } });
    try {
      const plan = genericPlan(`https://127.0.0.1:${silent.port}`, route, { auth: queryAuth });
      const resource = requester(plan, 'items', { client, env: { GENERIC_KEY: 'secret-key-123456' } });
      const error = await failureOf(resource);
      expect(error).toMatchObject({ category: 'http-transient', code: 'HTTP_CONNECT_TIMEOUT' });
      expect(error.details['phase']).toBe('connect');
      expectNoSecret(error, ['secret-key-123456']);
    } finally {
      await client.close();
      await silent.stop();
    }
  });

  it('a TLS failure (https to a plain HTTP port) is in the connect phase', async () => {
    const { sandbox } = context;
    const plan = genericPlan(sandbox.url.replace('http:', 'https:'), route, { auth: queryAuth });
    const resource = requester(plan, 'items', {
      client: http.client,
      env: { GENERIC_KEY: sandbox.generic.apiKey },
    });
    const error = await failureOf(resource);
    expect(error).toMatchObject({ category: 'http-transient', code: 'HTTP_NETWORK_ERROR' });
    expect(error.details['phase']).toBe('connect');
    expectNoSecret(error, sandboxSecrets(sandbox));
  });

  it('a reset after the request was sent is in the request phase, even before any header', async () => {
    const { sandbox } = context;
    sandbox.faults.clear();
    sandbox.faults.add({ path: route, fault: { type: 'reset', when: 'before-headers' }, times: 1 });
    const error = await failureOf(itemsResource(sandbox));
    await sandbox.log.settled();
    expect(error.details['phase']).toBe('request');
    expect(sandbox.log.entries({ route }).at(-1)?.outcome).toBe('reset');
  });
});
