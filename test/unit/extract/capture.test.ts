import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../src/errors.ts';
import { capturedAt, maxCapturedValues } from '../../../src/http/extract/capture.ts';
import { extractRecords } from '../../../src/http/extract/extract-records.ts';
import type { CaptureOptions } from '../../../src/http/extract/capture.ts';
import { extract } from './helpers.ts';

const chunkings = [Infinity, 1, 7] as const;

async function captureFrom(
  body: string,
  capture: CaptureOptions,
  selector?: string,
  chunking: number = Infinity,
): Promise<{ values: unknown[]; captured: readonly { selector: string; value: unknown }[] }> {
  const { records, outcome } = await extract(
    body,
    selector === undefined ? { capture } : { selector, capture },
    chunking,
  );
  return { values: records.map((r) => r.value), captured: outcome.captured ?? [] };
}

describe('capturing values outside the records in the same pass', () => {
  it.each(chunkings)('captures paths before and after the records (chunks of %s bytes)', async (chunking) => {
    const body =
      '{"cursors":{"prev":"a","next":"c2"},"data":[{"id":1},{"id":2}],"total":95,"links":{"next":"/p?page=2"}}';
    const { values, captured } = await captureFrom(
      body,
      { paths: ['cursors.next', '$.total', 'links.next', 'missing.path'] },
      'data',
      chunking,
    );
    expect(values).toEqual([{ id: 1 }, { id: 2 }]);
    expect(capturedAt(captured as never, 'cursors.next')).toBe('c2');
    expect(capturedAt(captured as never, 'total')).toBe(95);
    expect(capturedAt(captured as never, '$.links.next')).toBe('/p?page=2');
    expect(capturedAt(captured as never, 'missing.path')).toBeUndefined();
    expect(captured.map((c) => c.selector)).toEqual(['$.cursors.next', '$.total', '$.links.next']);
  });

  it('captures with auto-detected records, before and after them', async () => {
    const body = '{"meta":{"next":"n1"},"items":[1,2,3],"paging":{"totalPages":4}}';
    const { values, captured } = await captureFrom(body, { paths: ['meta.next', 'paging.totalPages'] });
    expect(values).toEqual([1, 2, 3]);
    expect(captured.map((c) => [c.selector, c.value])).toEqual([
      ['$.meta.next', 'n1'],
      ['$.paging.totalPages', 4],
    ]);
  });

  it('captures when auto-detection falls back to the first list (the body is read twice, captured once)', async () => {
    const body = '{"next":"x","things":[{"a":1}],"total":1}';
    const { values, captured } = await captureFrom(body, { paths: ['next', 'total'] });
    expect(values).toEqual([{ a: 1 }]);
    expect(captured.map((c) => [c.selector, c.value])).toEqual([
      ['$.next', 'x'],
      ['$.total', 1],
    ]);
  });

  it('captures an object that auto-detection searched for records, but not one that holds them', async () => {
    const body = '{"paging":{"next":{"href":"h"},"total":3},"wrap":{"items":[1,2]},"after":{"x":1}}';
    const { values, captured } = await captureFrom(body, { paths: ['paging', 'wrap', 'after'] });
    expect(values).toEqual([1, 2]);
    expect(captured.map((c) => [c.selector, c.value])).toEqual([
      ['$.paging', { next: { href: 'h' }, total: 3 }],
      ['$.after', { x: 1 }],
    ]);
  });

  it('captures inside an object that is the record', async () => {
    const body = '{"id":7,"next":"n"}';
    const { values, captured } = await captureFrom(body, { paths: ['next'] });
    expect(values).toEqual([{ id: 7, next: 'n' }]);
    expect(capturedAt(captured as never, 'next')).toBe('n');
  });

  it('captures a whole object at a path, and what is inside it', async () => {
    const body = '{"data":[],"next":{"href":"h","rel":"next"}}';
    const { captured } = await captureFrom(body, { paths: ['next', 'next.href'] }, 'data');
    expect(capturedAt(captured as never, 'next')).toEqual({ href: 'h', rel: 'next' });
    expect(capturedAt(captured as never, 'next.href')).toBe('h');
  });

  it('never captures arrays (they stay skipped)', async () => {
    const body = '{"data":[1],"next":[1,2]}';
    const { captured } = await captureFrom(body, { paths: ['next'] }, 'data');
    expect(captured).toEqual([]);
  });

  it('keeps the last of duplicate keys, like JSON.parse', async () => {
    const body = '{"next":"a","data":[],"next":"b"}';
    const { captured } = await captureFrom(body, { paths: ['next'] }, 'data');
    expect(capturedAt(captured as never, 'next')).toBe('b');
  });

  it('captures every member whose key matches a pattern, at any depth outside the records', async () => {
    const body =
      '{"data":[{"next":"inside a record: not captured"}],"a":{"b":{"c":{"nextPage":{"uri":"u"}}}},"Next_Token":"t"}';
    const { captured } = await captureFrom(body, { keys: [/^next/, /^uri$/] }, 'data');
    expect(captured.map((c) => [c.selector, c.value])).toEqual([
      ['$.a.b.c.nextPage', { uri: 'u' }],
      ['$.a.b.c.nextPage.uri', 'u'],
      ['$.Next_Token', 't'],
    ]);
  });

  it('key patterns with auto-detected records walk the searched objects too', async () => {
    const body = '{"pagination":{"next_cursor":"c","pages":3},"results":[{"id":1}]}';
    const { values, captured } = await captureFrom(body, { keys: [/^next/, /^pages$/] });
    expect(values).toEqual([{ id: 1 }]);
    expect(captured.map((c) => [c.selector, c.value])).toEqual([
      ['$.pagination.next_cursor', 'c'],
      ['$.pagination.pages', 3],
    ]);
  });

  it('bounds how many values are kept', async () => {
    const members = Array.from({ length: maxCapturedValues + 10 }, (_, i) => `"next${i}":${i}`).join(',');
    const { captured } = await captureFrom(`{${members},"data":[]}`, { keys: [/^next/] }, 'data');
    expect(captured).toHaveLength(maxCapturedValues);
  });

  it('leaves the outcome without `captured` when nothing was asked', async () => {
    const { outcome } = await extract('{"data":[1],"next":"x"}', { selector: 'data' });
    expect(outcome.captured).toBeUndefined();
  });

  it('a broken captured value fails the response like any skipped value', async () => {
    const extraction = extractRecords(
      (async function* () {
        yield new TextEncoder().encode('{"data":[],"next":"a\\x"}');
        await Promise.resolve();
      })(),
      { selector: 'data', capture: { paths: ['next'] } },
    );
    await expect(async () => {
      for await (const _ of extraction);
    }).rejects.toMatchObject({ category: 'response-shape' });
  });

  it('refuses a capture path outside the JSONPath subset when the extraction is created', () => {
    expect(() => extractRecords([], { capture: { paths: ['items[*].next'] } })).toThrow(IngestError);
    expect(() => extractRecords([], { capture: { paths: ['$'] } })).toThrow(/whole body/);
  });
});
