import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { communicationsUrl, usingSandbox } from './helpers.ts';

describe('streamed bodies', () => {
  it('respect backpressure: a client that stops reading stops the generator; the body then completes intact', async () => {
    await usingSandbox({ counts: { user_call_records: 150_000 } }, async (sandbox) => {
      const expectedBytes = [...sandbox.dataset.bodyChunks('user_call_records')].reduce(
        (sum, chunk) => sum + chunk.length,
        0,
      );
      expect(expectedBytes).toBeGreaterThan(60_000_000);
      const response = await request(communicationsUrl(sandbox, 'user_call_records'), {
        highWaterMark: 64 * 1024,
      });
      const reader = (response.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      const first = await reader.next();
      let received = first.done === true ? 0 : first.value.length;
      // Stop reading for a while: without backpressure the server would write the whole body into memory.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const writtenWhilePaused = sandbox.log.entries().at(-1)?.bytes ?? 0;
      expect(writtenWhilePaused).toBeLessThan(24 * 1024 * 1024);
      for (let next = await reader.next(); next.done !== true; next = await reader.next())
        received += next.value.length;
      expect(received).toBe(expectedBytes);
      await sandbox.log.settled();
      expect(sandbox.log.entries().at(-1)).toMatchObject({ outcome: 'complete', bytes: expectedBytes });
    });
  });

  it('a client that goes away mid-body is logged as aborted and the server stops writing', async () => {
    await usingSandbox({ counts: { user_call_records: 150_000 } }, async (sandbox) => {
      const controller = new AbortController();
      const response = await request(communicationsUrl(sandbox, 'user_call_records'), {
        signal: controller.signal,
      });
      const reader = (response.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      await reader.next();
      controller.abort();
      await expect(reader.next()).rejects.toThrow();
      await sandbox.log.settled();
      const entry = sandbox.log.entries().at(-1);
      expect(entry?.outcome).toBe('aborted');
      expect(entry?.bytes ?? 0).toBeLessThan(60_000_000);
    });
  });
});

describe('concurrent streams', () => {
  it('several large responses at once each get exactly the dataset body (chunk buffers are never shared)', async () => {
    await usingSandbox({ counts: { user_call_records: 20_000, contacts: 5000 } }, async (sandbox) => {
      const digest = (text: string): string => createHash('sha256').update(text).digest('hex');
      const expected = digest(sandbox.dataset.bodyText('user_call_records'));
      const expectedContacts = digest(sandbox.dataset.bodyText('contacts'));
      const read = async (url: string, headers: Record<string, string> = {}): Promise<string> => {
        const hash = createHash('sha256');
        const response = await request(url, { headers });
        for await (const chunk of response.body as AsyncIterable<Buffer>) hash.update(chunk);
        return hash.digest('hex');
      };
      const results = await Promise.all([
        read(communicationsUrl(sandbox, 'user_call_records')),
        read(`${sandbox.url}/byon/contacts/v1`, { api_key: sandbox.keys.messaging }),
        read(communicationsUrl(sandbox, 'user_call_records')),
        read(communicationsUrl(sandbox, 'user_call_records')),
      ]);
      expect(results).toEqual([expected, expectedContacts, expected, expected]);
    });
  });
});
