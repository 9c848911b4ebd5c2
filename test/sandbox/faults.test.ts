import { get } from 'node:http';
import { describe, expect, it } from 'vitest';
import { fetch, request } from 'undici';
import { malformedJson, retryAfterHeader } from '../../src/sandbox/fault-replies.ts';
import type { FaultRule } from '../../src/sandbox/faults.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import {
  asObject,
  communicationsUrl,
  fetchJson,
  fetchText,
  messagingHeaders,
  usingSandbox,
  withSandbox,
} from './helpers.ts';

const context = withSandbox({ seed: 9, counts: { call_queues: 40, forwarding_numbers: 3 } });

/** Runs `body` with one fault rule on `/v1/call_queues` (or the rule's own path), removed afterwards. */
async function withFault<T>(
  rule: Omit<FaultRule, 'path'> & { path?: string },
  body: (sandbox: Sandbox) => Promise<T>,
): Promise<T> {
  const { sandbox } = context;
  const id = sandbox.faults.add({ path: '/v1/call_queues', ...rule });
  try {
    return await body(sandbox);
  } finally {
    sandbox.faults.remove(id);
  }
}

interface RawResult {
  readonly status: number | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly bytes: number;
  readonly error: string | undefined;
}

/** A GET with node:http that reports what arrived before the connection ended, however it ended. */
function rawGet(url: string): Promise<RawResult> {
  return new Promise((resolve) => {
    let status: number | undefined;
    let headers: RawResult['headers'] = {};
    let bytes = 0;
    const req = get(url, { agent: false }, (res) => {
      status = res.statusCode;
      headers = res.headers;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ status, headers, bytes, error: undefined }));
      res.on('error', (error) => resolve({ status, headers, bytes, error: error.message }));
      res.on('aborted', () => resolve({ status, headers, bytes, error: 'aborted' }));
    });
    req.on('error', (error) => resolve({ status, headers, bytes, error: error.message }));
  });
}

describe('status faults', () => {
  it.each([500, 502, 503, 504])('serves %i with a JSON error body', async (status) => {
    await withFault({ fault: { type: 'status', status }, times: 1 }, async (sandbox) => {
      const response = await fetchJson(communicationsUrl(sandbox, 'call_queues'));
      expect(response.status).toBe(status);
      expect(asObject(response.json)).toMatchObject({ status });
      expect(sandbox.log.entries().at(-1)?.fault).toBe(`status ${status}`);
      expect((await fetchText(communicationsUrl(sandbox, 'call_queues'))).status).toBe(200);
    });
  });

  it('429 with Retry-After in seconds', async () => {
    await withFault(
      { fault: { type: 'status', status: 429, retryAfter: { seconds: 2, format: 'seconds' } } },
      async (sandbox) => {
        const response = await fetchText(communicationsUrl(sandbox, 'call_queues'));
        expect(response.status).toBe(429);
        expect(response.headers['retry-after']).toBe('2');
        expect(sandbox.log.entries().at(-1)?.retryAfter).toBe('2');
      },
    );
  });

  it('429 with Retry-After as an HTTP-date, rounded UP to the next whole second', async () => {
    await withFault(
      { fault: { type: 'status', status: 429, retryAfter: { seconds: 2, format: 'http-date' } } },
      async (sandbox) => {
        const response = await fetchText(communicationsUrl(sandbox, 'call_queues'));
        const header = String(response.headers['retry-after']);
        expect(header).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
        const at = Date.parse(header);
        const arrived = sandbox.log.entries().at(-1)?.wallMs ?? Number.NaN;
        expect(at).toBeGreaterThanOrEqual(arrived + 2000);
        expect(at).toBeLessThan(arrived + 3000 + 100);
      },
    );
  });

  it('rounds the HTTP-date up, never down', () => {
    const justAfter = Date.UTC(2025, 0, 1, 0, 0, 0, 1);
    expect(retryAfterHeader({ seconds: 2, format: 'http-date' }, justAfter)).toBe(
      'Wed, 01 Jan 2025 00:00:03 GMT',
    );
    const exact = Date.UTC(2025, 0, 1, 0, 0, 0, 0);
    expect(retryAfterHeader({ seconds: 2, format: 'http-date' }, exact)).toBe(
      'Wed, 01 Jan 2025 00:00:02 GMT',
    );
    expect(retryAfterHeader({ seconds: 1.2, format: 'seconds' })).toBe('2');
  });
});

describe('connection faults', () => {
  it('reset before headers: the client gets no status, the log says reset', async () => {
    await withFault({ fault: { type: 'reset', when: 'before-headers' }, times: 1 }, async (sandbox) => {
      await expect(request(communicationsUrl(sandbox, 'call_queues'))).rejects.toThrow();
      await sandbox.log.settled();
      const entry = sandbox.log.entries().at(-1);
      expect(entry).toMatchObject({ status: undefined, outcome: 'reset', fault: 'reset before-headers' });
    });
  });

  it('reset mid-body: status 200 and part of the body, then the connection dies', async () => {
    await withFault(
      { fault: { type: 'reset', when: 'mid-body', afterBytes: 500 }, times: 1 },
      async (sandbox) => {
        const total = Buffer.byteLength(sandbox.dataset.bodyText('call_queues'));
        const result = await rawGet(communicationsUrl(sandbox, 'call_queues'));
        expect(result.status).toBe(200);
        expect(result.error).toBeDefined();
        expect(result.bytes).toBeLessThanOrEqual(500);
        expect(result.bytes).toBeLessThan(total);
        await sandbox.log.settled();
        expect(sandbox.log.entries().at(-1)).toMatchObject({ status: 200, outcome: 'reset', bytes: 500 });
      },
    );
  });

  it('truncated body: Content-Length declares the whole body, half of it arrives, then the connection ends', async () => {
    await withFault({ fault: { type: 'truncated-body' }, times: 1 }, async (sandbox) => {
      const total = Buffer.byteLength(sandbox.dataset.bodyText('call_queues'));
      const result = await rawGet(communicationsUrl(sandbox, 'call_queues'));
      expect(result.status).toBe(200);
      expect(Number(result.headers['content-length'])).toBe(total);
      expect(result.bytes).toBe(Math.floor(total / 2));
      expect(result.error).toBeDefined();
      await sandbox.log.settled();
      expect(sandbox.log.entries().at(-1)?.outcome).toBe('truncated');
      await expect(fetchText(communicationsUrl(sandbox, 'call_queues'))).resolves.toMatchObject({
        status: 200,
      });
    });
  });

  it('slow headers: the status line comes only after the delay', async () => {
    await withFault({ fault: { type: 'slow-headers', delayMs: 300 }, times: 1 }, async (sandbox) => {
      const started = performance.now();
      const response = await fetchText(communicationsUrl(sandbox, 'call_queues'));
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      expect(response.text).toBe(sandbox.dataset.bodyText('call_queues'));
    });
  });

  it('slow body: headers at once, then the intact body trickles in pieces', async () => {
    await withFault(
      {
        path: '/v1/forwarding_numbers',
        fault: { type: 'slow-body', delayMs: 60, chunkBytes: 400 },
        times: 1,
      },
      async (sandbox) => {
        const expected = sandbox.dataset.bodyText('forwarding_numbers');
        const pieces = Math.ceil(Buffer.byteLength(expected) / 400);
        const started = performance.now();
        const response = await request(communicationsUrl(sandbox, 'forwarding_numbers'));
        const headersAfter = performance.now() - started;
        const text = await response.body.text();
        const total = performance.now() - started;
        expect(text).toBe(expected);
        expect(pieces).toBeGreaterThan(1);
        expect(total).toBeGreaterThanOrEqual(pieces * 60 - 10);
        expect(headersAfter).toBeLessThan(total - 60);
      },
    );
  });
});

describe('body faults', () => {
  it('malformed JSON with status 200 and a JSON content type', async () => {
    await withFault({ fault: { type: 'malformed-json' }, times: 1 }, async (sandbox) => {
      const response = await fetchText(communicationsUrl(sandbox, 'call_queues'));
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.text).toBe(malformedJson);
      expect(() => JSON.parse(response.text) as unknown).toThrow();
    });
  });

  it('HTML with status 200', async () => {
    await withFault({ fault: { type: 'html' }, times: 1 }, async (sandbox) => {
      const response = await fetchText(communicationsUrl(sandbox, 'call_queues'));
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.text.startsWith('<!DOCTYPE html>')).toBe(true);
    });
  });

  it('wrong content type: the real body labelled text/plain (or as told)', async () => {
    await withFault({ fault: { type: 'wrong-content-type' }, times: 1 }, async (sandbox) => {
      const response = await fetchText(communicationsUrl(sandbox, 'call_queues'));
      expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(response.text).toBe(sandbox.dataset.bodyText('call_queues'));
    });
    await withFault(
      { fault: { type: 'wrong-content-type', contentType: 'application/xml' }, times: 1 },
      async (sandbox) => {
        expect((await fetchText(communicationsUrl(sandbox, 'call_queues'))).headers['content-type']).toBe(
          'application/xml',
        );
      },
    );
  });

  it('empty 204', async () => {
    await withFault({ fault: { type: 'empty' }, times: 1 }, async (sandbox) => {
      const response = await fetchText(communicationsUrl(sandbox, 'call_queues'));
      expect(response.status).toBe(204);
      expect(response.text).toBe('');
    });
  });
});

describe('redirect faults', () => {
  it('same origin: Location on this origin, credentials removed from the query', async () => {
    await withFault(
      { fault: { type: 'redirect', status: 302, target: 'same-origin' }, times: 1 },
      async (sandbox) => {
        const response = await fetchText(communicationsUrl(sandbox, 'call_queues', { extra: 'kept' }));
        expect(response.status).toBe(302);
        const location = String(response.headers.location);
        expect(location).toBe(`${sandbox.url}/v1/call_queues?extra=kept`);
        const followed = await fetchText(`${location}&api_key=${sandbox.keys.communications}`);
        expect(followed.text).toBe(sandbox.dataset.bodyText('call_queues'));
      },
    );
  });

  it.each([301, 307] as const)(
    '%i to another origin: the log shows which credentials reached it',
    async (status) => {
      await withFault(
        { fault: { type: 'redirect', status, target: 'other-origin' }, times: 2 },
        async (sandbox) => {
          const first = await fetchText(communicationsUrl(sandbox, 'call_queues'));
          expect(first.status).toBe(status);
          const location = String(first.headers.location);
          expect(location.startsWith(sandbox.otherOrigin.url)).toBe(true);
          expect(location).not.toContain('api_key');

          // A careful client follows without credentials: the other origin serves (it checks none) and saw nothing.
          const careful = await fetchText(location);
          expect(careful.text).toBe(sandbox.dataset.bodyText('call_queues'));
          expect(sandbox.log.entries({ origin: 'other' }).at(-1)).toMatchObject({
            credentials: [],
            auth: 'not-required',
          });

          // A careless client re-adds its key: the log says the real key arrived at the other origin, in the query.
          await fetchText(`${location}?api_key=${sandbox.keys.communications}`);
          expect(sandbox.log.entries({ origin: 'other' }).at(-1)?.credentials).toEqual([
            { location: 'query', name: 'api_key', matched: true },
          ]);
        },
      );
    },
  );

  it('a fetch that follows a cross-origin redirect carries a custom key header along — and the log catches it', async () => {
    const { sandbox } = context;
    const id = sandbox.faults.add({
      path: '/byon/contacts/v1',
      fault: { type: 'redirect', status: 307, target: 'other-origin' },
      times: 1,
    });
    try {
      const response = await fetch(`${sandbox.url}/byon/contacts/v1`, {
        headers: messagingHeaders(sandbox),
        redirect: 'follow',
      });
      expect(response.status).toBe(200);
      await response.text();
      const other = sandbox.log.entries({ origin: 'other' }).at(-1);
      expect(other?.route).toBe('/byon/contacts/v1');
      expect(other?.credentials).toContainEqual({ location: 'header', name: 'api_key', matched: true });
    } finally {
      sandbox.faults.remove(id);
    }
  });

  it('faults never apply on the other origin', async () => {
    await withFault({ fault: { type: 'status', status: 500 } }, async (sandbox) => {
      expect((await fetchText(`${sandbox.otherOrigin.url}/v1/call_queues`)).status).toBe(200);
    });
  });
});

describe('when faults fire', () => {
  it('by request number: requests 2–3 of the route only', async () => {
    await withFault(
      { fault: { type: 'status', status: 503 }, requests: { from: 2, to: 3 } },
      async (sandbox) => {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i += 1)
          statuses.push((await fetchText(communicationsUrl(sandbox, 'call_queues'))).status);
        expect(statuses).toEqual([200, 503, 503, 200, 200]);
      },
    );
  });

  it('by probability: seeded, so the same seed fires on the same requests', async () => {
    const pattern = async (seed: number): Promise<number[]> =>
      usingSandbox(
        {
          seed,
          faults: [{ path: '/v1/call_queues', fault: { type: 'status', status: 500 }, probability: 0.5 }],
        },
        async (sandbox) => {
          const statuses: number[] = [];
          for (let i = 0; i < 40; i += 1)
            statuses.push((await fetchText(communicationsUrl(sandbox, 'call_queues'))).status);
          expect(sandbox.faults.list()[0]).toMatchObject({
            matched: 40,
            fired: statuses.filter((s) => s === 500).length,
          });
          return statuses;
        },
      );
    const first = await pattern(21);
    expect(await pattern(21)).toEqual(first);
    const failures = first.filter((status) => status === 500).length;
    expect(failures).toBeGreaterThan(8);
    expect(failures).toBeLessThan(32);
    expect(await pattern(22)).not.toEqual(first);
  });

  it('by method and glob path', async () => {
    const { sandbox } = context;
    const post = sandbox.faults.add({
      method: 'POST',
      path: '/v1/*',
      fault: { type: 'status', status: 500 },
    });
    const deep = sandbox.faults.add({ path: '/generic/**', fault: { type: 'status', status: 502 } });
    try {
      expect((await fetchText(communicationsUrl(sandbox, 'call_queues'))).status).toBe(200);
      expect((await fetchText(`${sandbox.url}/generic/pages/offset`)).status).toBe(502);
      expect((await fetchText(`${sandbox.url}/v1/call_queues`, { method: 'POST', body: '' })).status).toBe(
        500,
      );
    } finally {
      sandbox.faults.remove(post);
      sandbox.faults.remove(deep);
    }
  });

  it('before the handler (default) no SMS is sent; after the handler it IS sent and the answer is still lost', async () => {
    const { sandbox } = context;
    const to = '+15550009999';
    const url = `${sandbox.url}/messaging/v1/sms?to=${encodeURIComponent(to)}&from=x`;
    const before = sandbox.faults.add({
      path: '/messaging/v1/sms',
      fault: { type: 'status', status: 500 },
      times: 1,
    });
    expect((await fetchText(url, { headers: messagingHeaders(sandbox) })).status).toBe(500);
    expect(sandbox.messaging.sendCount(to)).toBe(0);
    sandbox.faults.remove(before);

    const after = sandbox.faults.add({
      path: '/messaging/v1/sms',
      fault: { type: 'reset', when: 'before-headers' },
      phase: 'after-handler',
      times: 1,
    });
    await expect(request(url, { headers: messagingHeaders(sandbox) })).rejects.toThrow();
    await sandbox.log.settled();
    expect(sandbox.messaging.sendCount(to)).toBe(1);
    sandbox.faults.remove(after);
  });

  it('slow headers after the handler: the SMS IS sent before the late answer; before it, not until the wait', async () => {
    const { sandbox } = context;
    const to = '+15550008888';
    const url = `${sandbox.url}/messaging/v1/sms?to=${encodeURIComponent(to)}&from=x`;
    const late = sandbox.faults.add({
      path: '/messaging/v1/sms',
      fault: { type: 'slow-headers', delayMs: 400 },
      phase: 'after-handler',
      times: 1,
    });
    const answered = fetchText(url, { headers: messagingHeaders(sandbox) });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sandbox.messaging.sendCount(to)).toBe(1);
    expect((await answered).status).toBe(200);
    sandbox.faults.remove(late);

    const early = sandbox.faults.add({
      path: '/messaging/v1/sms',
      fault: { type: 'slow-headers', delayMs: 400 },
      times: 1,
    });
    const waited = fetchText(url, { headers: messagingHeaders(sandbox) });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sandbox.messaging.sendCount(to)).toBe(1);
    await waited;
    expect(sandbox.messaging.sendCount(to)).toBe(2);
    sandbox.faults.remove(early);
  });

  it('rules are added, listed with counters, removed and cleared at runtime; invalid rules are refused', async () => {
    const { sandbox } = context;
    const id = sandbox.faults.add({ path: '/v1/call_queues', fault: { type: 'empty' } });
    await fetchText(communicationsUrl(sandbox, 'call_queues'));
    expect(sandbox.faults.list()).toEqual([expect.objectContaining({ id, matched: 1, fired: 1 })]);
    sandbox.faults.clear();
    expect(sandbox.faults.list()).toEqual([]);
    expect((await fetchText(communicationsUrl(sandbox, 'call_queues'))).status).toBe(200);
    expect(() => sandbox.faults.add({ path: 'v1/no-slash', fault: { type: 'empty' } })).toThrow(/path/);
    expect(() => sandbox.faults.add({ path: '/x', fault: { type: 'status', status: 200 } })).toThrow(
      /fault.status/,
    );
  });
});
