import { describe, expect, it } from 'vitest';
import { extractRecords } from '../../../src/http/extract/extract-records.ts';
import type { RecordIssue } from '../../../src/shared/records.ts';
import { expectFailure, extract } from './helpers.ts';

describe('records Postgres would reject are flagged, not fatal', () => {
  const cases: { name: string; record: string; issues: RecordIssue[]; value: unknown }[] = [
    { name: 'the \\u0000 escape', record: '{"s":"a\\u0000b"}', issues: ['nul-char'], value: { s: 'a\0b' } },
    { name: '\\u0000 in a key', record: '{"\\u0000":1}', issues: ['nul-char'], value: { '\0': 1 } },
    {
      name: 'a lone high surrogate',
      record: '{"s":"\\ud800"}',
      issues: ['lone-surrogate'],
      value: { s: '\ud800' },
    },
    {
      name: 'a lone low surrogate',
      record: '{"s":"x\\uDC00"}',
      issues: ['lone-surrogate'],
      value: { s: 'x\udc00' },
    },
    {
      name: 'two high surrogates',
      record: '["\\ud83d\\ud83d\\ude00"]',
      issues: ['lone-surrogate'],
      value: ['\ud83d\ud83d\ude00'],
    },
    {
      name: 'a high surrogate before another escape',
      record: '"\\uD800\\u0041"',
      issues: ['lone-surrogate'],
      value: '\ud800A',
    },
    {
      name: 'both problems',
      record: '["\\u0000","\\udfff"]',
      issues: ['nul-char', 'lone-surrogate'],
      value: ['\0', '\udfff'],
    },
    {
      name: 'a raw NUL byte in a string',
      record: '{"s":"a\u0000b"}',
      issues: ['nul-char', 'raw-control-char'],
      value: { s: 'a\0b' },
    },
    {
      name: 'a raw tab in a string',
      record: '{"s":"a\tb"}',
      issues: ['raw-control-char'],
      value: { s: 'a\tb' },
    },
    { name: 'a valid surrogate pair', record: '{"s":"\\ud83d\\ude00"}', issues: [], value: { s: '😀' } },
    {
      name: 'an escaped backslash before u0000',
      record: '{"s":"\\\\u0000"}',
      issues: [],
      value: { s: '\\u0000' },
    },
    {
      name: 'three backslashes before u0000',
      record: '{"s":"\\\\\\u0000"}',
      issues: ['nul-char'],
      value: { s: '\\\0' },
    },
    { name: 'a raw emoji (not an escape)', record: '{"s":"😀"}', issues: [], value: { s: '😀' } },
  ];
  it.each(cases)('$name', async ({ record, issues, value }) => {
    const body = `{"data":[{"ok":1},${record},{"ok":2}]}`;
    for (const chunking of [Infinity, 1, 5]) {
      const { records } = await extract(body, { selector: 'data' }, chunking);
      // Escapes are looked at while extracting; a raw control character (none of these cases has an escape too) is
      // found when the record's value is read.
      expect(records[1]?.issues).toEqual(issues.includes('raw-control-char') ? [] : issues);
      expect(records.map((r) => r.value)).toEqual([{ ok: 1 }, value, { ok: 2 }]);
      expect(records.map((r) => r.issues)).toEqual([[], issues, []]);
      expect(records[1]?.text).toBe(record);
    }
  });

  it('flags a selected single object too', async () => {
    const { records } = await extract('{"data":{"s":"\\u0000"}}', { selector: 'data' });
    expect(records[0]?.issues).toEqual(['nul-char']);
  });
});

describe('broken responses fail with a classified error', () => {
  const cases: { name: string; body: string; code: string; selector?: string; message?: RegExp }[] = [
    { name: 'an HTML page', body: '<!doctype html><html>…</html>', code: 'BODY_NOT_JSON' },
    { name: 'plain text', body: 'Service Unavailable', code: 'BODY_NOT_JSON', selector: 'data' },
    {
      name: 'truncated inside a record',
      body: '{"data":[{"id":1},{"id":',
      code: 'TRUNCATED_BODY',
      message: /inside record 1/,
    },
    { name: 'truncated inside a string', body: '{"data":[{"id":"abc', code: 'TRUNCATED_BODY' },
    { name: 'truncated after the array', body: '{"data":[1,2]', code: 'TRUNCATED_BODY' },
    { name: 'truncated in a key', body: '{"da', code: 'TRUNCATED_BODY' },
    { name: 'truncated before a value', body: '{"data":', code: 'TRUNCATED_BODY' },
    { name: 'truncated in a literal', body: '{"data":nul', code: 'INVALID_JSON' },
    { name: 'garbage after the document', body: '{"data":[1]} <html>', code: 'TRAILING_GARBAGE' },
    { name: 'a second document', body: '[1][2]', code: 'TRAILING_GARBAGE', selector: '$' },
    { name: 'a NUL byte after the document', body: '[1]\u0000', code: 'TRAILING_GARBAGE', selector: '$' },
    { name: 'a trailing comma', body: '{"data":[1,2,]}', code: 'INVALID_JSON', message: /missing/ },
    { name: 'a doubled comma', body: '{"data":[1,,2]}', code: 'INVALID_JSON' },
    { name: 'a leading comma', body: '{"data":[,1]}', code: 'INVALID_JSON' },
    {
      name: 'mismatched brackets',
      body: '{"data":[{"a":[1}]}',
      code: 'INVALID_JSON',
      message: /does not match/,
    },
    {
      name: 'an invalid record',
      body: '{"data":[{"a":1},{a:2}]}',
      code: 'INVALID_JSON',
      message: /record 1 is not valid JSON/,
    },
    { name: 'a raw NUL between tokens', body: '{"data":[1,\u00002]}', code: 'INVALID_JSON' },
    { name: 'an invalid skipped value', body: '{"meta":{"a":tru},"data":[1]}', code: 'INVALID_JSON' },
    { name: 'an invalid skipped array', body: '{"meta":[1,x],"data":[1]}', code: 'INVALID_JSON' },
    { name: 'a missing colon', body: '{"data" [1]}', code: 'INVALID_JSON', message: /":"/ },
    { name: 'a non-string key', body: '{data:[1]}', code: 'INVALID_JSON' },
    { name: 'a missing comma between members', body: '{"meta":1 "data":[1]}', code: 'INVALID_JSON' },
    { name: 'an array closed by a brace', body: '{"data":[1}', code: 'INVALID_JSON' },
  ];
  it.each(cases)('$name → $code', async ({ body, code, selector, message }) => {
    for (const chunking of [Infinity, 1]) {
      const error = await expectFailure(body, code, { selector: selector ?? 'data' }, chunking);
      if (message !== undefined) expect(error.message).toMatch(message);
      expect(error.retryable).toBe(false);
    }
  });

  it('finds the same errors without a selector', async () => {
    await expectFailure('{"data":[1,2', 'TRUNCATED_BODY');
    await expectFailure('{"x":{"y":1}} x', 'TRAILING_GARBAGE');
    await expectFailure('[1,2] x', 'TRAILING_GARBAGE');
    await expectFailure('<html>', 'BODY_NOT_JSON');
  });

  it('points at the offending bytes with a short excerpt, never the whole body', async () => {
    const body = `{"data":[${'{"id":1},'.repeat(10_000)}{"id":oops}]}`;
    const error = await expectFailure(body, 'INVALID_JSON', { selector: 'data' }, 4096);
    expect(error.message).toContain('record 10000');
    // JSON.parse names no position for this error: the site is the start of the record.
    expect(error.details['offset']).toBe(body.indexOf('{"id":oops}'));
    const excerpt = String(error.details['excerpt']);
    expect(excerpt.length).toBeLessThanOrEqual(200);
    expect(excerpt).toContain('⟨here⟩{\\"id\\":oops}');
    expect(error.message.length).toBeLessThan(600);
  });

  it('keeps the records yielded before a late error (the caller must treat the response as failed)', async () => {
    const body = `{"data":[${'1,'.repeat(99)}1]} trailing`;
    const seen: unknown[] = [];
    const extraction = extractRecords([new TextEncoder().encode(body)], {
      selector: 'data',
      batchRecords: 10,
    });
    await expect(
      (async () => {
        for await (const batch of extraction) seen.push(...batch.records);
      })(),
    ).rejects.toMatchObject({ code: 'TRAILING_GARBAGE' });
    // Full batches went out while streaming; the last partial batch waits for the end of the body.
    expect(seen).toHaveLength(100);
    expect(extraction.outcome).toBeUndefined();
  });
});

describe('limits', () => {
  it('refuses nesting deeper than maxDepth without recursion (a million brackets)', async () => {
    const deep = '['.repeat(1_000_000);
    const error = await expectFailure(`{"data":[${deep}]}`, 'NESTING_TOO_DEEP', { selector: 'data' }, 65536);
    expect(error.message).toContain('maxDepth (256)');
    await expectFailure(deep, 'NESTING_TOO_DEEP', { selector: '$' });
    await expectFailure('{"a":'.repeat(300), 'NESTING_TOO_DEEP');
    await expectFailure(`{"meta":${'['.repeat(300)}`, 'NESTING_TOO_DEEP', { selector: 'data' });
  });

  it('counts depth from the top of the document', async () => {
    const ok = `{"data":[${'['.repeat(2)}1${']'.repeat(2)}]}`; // depth 4
    expect((await extract(ok, { selector: 'data', maxDepth: 4 })).records).toHaveLength(1);
    await expectFailure(ok, 'NESTING_TOO_DEEP', { selector: 'data', maxDepth: 3 });
    await expectFailure('{"data":{"a":{}}}', 'NESTING_TOO_DEEP', { selector: 'data', maxDepth: 2 });
  });

  it('streams a record 30 000 levels deep with its neighbours when maxDepth allows (the loader rejects it alone)', async () => {
    const deep = `${'['.repeat(30_000)}1${']'.repeat(30_000)}`;
    const body = `{"data":[{"id":"a"},{"id":"deep","a":${deep}},{"id":"b"}]}`;
    for (const chunking of [Infinity, 4096]) {
      const { records } = await extract(body, { selector: 'data', maxDepth: 100_000 }, chunking);
      expect(records.map((r) => r.text.length)).toEqual([10, 60_019, 10]);
      expect(records[1]?.issues).toEqual([]);
    }
  });

  it('refuses a record larger than maxRecordBytes, naming its index', async () => {
    const body = `{"data":[1,2,"${'x'.repeat(5000)}",4]}`;
    for (const chunking of [Infinity, 100]) {
      const error = await expectFailure(
        body,
        'RECORD_TOO_LARGE',
        { selector: 'data', maxRecordBytes: 1000 },
        chunking,
      );
      expect(error.message).toContain('record 2');
      expect(error.details).toMatchObject({ index: 2, limit: 1000 });
    }
    await expectFailure(`{"data":{"s":"${'x'.repeat(5000)}"}}`, 'RECORD_TOO_LARGE', {
      selector: 'data',
      maxRecordBytes: 1000,
    });
  });

  it('bounds skipped values by maxRecordBytes too', async () => {
    const body = `{"meta":{"s":"${'x'.repeat(5000)}"},"data":[1]}`;
    await expectFailure(body, 'VALUE_TOO_LARGE', { selector: 'data', maxRecordBytes: 1000 }, 100);
  });

  it('handles a 10 MB string inside a record when under the limit', async () => {
    const huge = 'é'.repeat(2_500_000) + '\\"' + 'x'.repeat(5_000_000);
    const body = `{"data":[{"id":1},{"big":"${huge}"},{"id":3}]}`;
    const { records } = await extract(body, { selector: 'data' }, 65536);
    expect(records).toHaveLength(3);
    expect(records[1]?.text).toBe(`{"big":"${huge}"}`);
    expect((records[1]?.value as { big: string }).big).toHaveLength(7_500_001);
  });
});

describe('bytes that are not UTF-8', () => {
  const cases: [string, number[]][] = [
    ['a lone continuation byte', [0x80]],
    ['a truncated sequence', [0xc3]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['latin1 text', [0x63, 0x61, 0x66, 0xe9]],
  ];
  it.each(cases)('%s in a record → INVALID_UTF8 with the record index', async (_name, bad) => {
    const body = new Uint8Array([
      ...Buffer.from('{"data":[{"a":"ok"},{"a":"'),
      ...bad,
      ...Buffer.from('"}]}'),
    ]);
    for (const chunking of [Infinity, 1]) {
      const error = await expectFailure(body, 'INVALID_UTF8', { selector: 'data' }, chunking);
      expect(error.details).toMatchObject({ index: 1, offset: 26 + bad.findIndex((byte) => byte >= 0x80) });
    }
  });

  it('in a key or a skipped value too', async () => {
    const key = new Uint8Array([...Buffer.from('{"d'), 0xff, ...Buffer.from('":1,"data":[1]}')]);
    await expectFailure(key, 'INVALID_UTF8', { selector: 'data' });
    const skipped = new Uint8Array([...Buffer.from('{"m":"'), 0xff, ...Buffer.from('","data":[1]}')]);
    await expectFailure(skipped, 'INVALID_UTF8', { selector: 'data' });
  });

  it('accepts multi-byte characters split across chunks', async () => {
    const body = '{"data":["é","€","😀","a\\u00e9"]}';
    const { records } = await extract(body, { selector: 'data' }, 1);
    expect(records.map((record) => record.value)).toEqual(['é', '€', '😀', 'aé']);
  });
});
