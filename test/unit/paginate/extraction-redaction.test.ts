/**
 * An extraction error on the paginated path quotes the body it failed in: the quote is redacted with the
 * credentials in play, like a status error's excerpt — also a secret the excerpt's window cuts in two, of which only
 * a part would be quoted. Served over real HTTP by a server that puts the key into a body it breaks off.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paginate } from '../../../src/http/paginate/paginate.ts';
import type { SendPage } from '../../../src/http/paginate/send-page.ts';
import { createRedactor } from '../../../src/http/redact.ts';
import { collect, failureOf, inputOf, paginators, undiciSend } from './helpers.ts';

const secret = 'sk-live-7f3a9c2e4b1d8f6a0c5e9b2d4f7a1c3e';
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    // A record that echoes the key, then a break in the JSON: right after it, or (/cut) far enough after it that the
    // excerpt's window (60 bytes before the break) starts inside the key.
    const padding = req.url?.startsWith('/cut') ? `,"p":"${'x'.repeat(40)}"` : '';
    res.end(`{"data":[{"id":1,"echo":"${secret}"${padding}} oops`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A sender whose responses carry the request context, its redactor knowing the key (as the resource's does). */
function sendWithContext(): SendPage {
  const send = undiciSend();
  return async (page, signal) => ({
    ...(await send(page, signal)),
    context: {
      source: 's',
      resource: 'items',
      method: 'GET',
      url: page.url,
      redactor: createRedactor([secret]),
    },
  });
}

describe('an extraction error of a page', () => {
  it('quotes the body with the key redacted', async () => {
    const error = await failureOf(
      collect(inputOf(`${base}/whole`, paginators.singlePage()), sendWithContext()),
    );
    expect(error.message).toMatch(/^page 1: /);
    expect(error.message).toContain('REDACTED');
    expect(error.message).not.toContain(secret.slice(0, 12));
    expect(JSON.stringify(error)).not.toContain(secret.slice(8, 20));
  });

  it('redacts the part of a key that the excerpt window cuts', async () => {
    const error = await failureOf(
      collect(inputOf(`${base}/cut`, paginators.singlePage()), sendWithContext()),
    );
    const excerpt = String((error as { details?: { excerpt?: unknown } }).details?.excerpt);
    expect(excerpt).toMatch(/^…?"REDACTED/);
    for (const text of [error.message, excerpt]) expect(text).not.toContain(secret.slice(-8));
  });

  it('is still reported without a request context (nothing to redact with)', async () => {
    const events = paginate(inputOf(`${base}/whole`, paginators.singlePage()), undiciSend());
    await expect(
      (async () => {
        for await (const event of events) void event;
      })(),
    ).rejects.toMatchObject({ category: 'response-shape' });
  });
});

describe('the excerpt redactor', () => {
  const redactor = createRedactor([secret]);
  it('redacts a secret whole, its tail at the start and its head at the end of an excerpt', () => {
    expect(redactor.excerpt(`"x ${secret} y"`)).toBe('"x REDACTED y"');
    expect(redactor.excerpt(`"${secret.slice(-9)} rest"`)).toBe('"REDACTED rest"');
    expect(redactor.excerpt(`"start ${secret.slice(0, 9)}…`)).toBe('"start REDACTED…');
  });
  it('leaves two characters alone (they tell nothing) and text without secrets as it is', () => {
    expect(redactor.excerpt(`"start ${secret.slice(0, 2)}…`)).toBe(`"start ${secret.slice(0, 2)}…`);
    expect(redactor.excerpt('"nothing here"')).toBe('"nothing here"');
  });
});
