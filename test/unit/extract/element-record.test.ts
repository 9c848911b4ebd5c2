/**
 * `ElementRecord`, a record of an array kept as its bytes: built without parsing, it parses once, when its value is
 * read, and keeps the value; a record that is not JSON throws then — `INVALID_JSON` naming the record, passed
 * through the extraction's `decorateFailure` — and one with a raw control character gets its issue then. Through
 * `extractRecords`, the same decorator also finishes the errors the iteration throws, but not the body stream's own.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../src/errors.ts';
import { ElementRecord } from '../../../src/http/extract/element-record.ts';
import { extractRecords } from '../../../src/http/extract/extract-records.ts';
import { noIssues } from '../../../src/http/extract/record-issues.ts';
import type { ExtractedRecord } from '../../../src/shared/records.ts';
import { streamOf } from './helpers.ts';

/** A decorator that says it ran, and how often. */
function marking(): { readonly decorate: (error: IngestError) => IngestError; readonly calls: () => number } {
  let calls = 0;
  return {
    decorate: (error) => {
      calls += 1;
      return new IngestError(error.category, error.code, `decorated: ${error.message}`, {
        retryable: error.retryable,
        details: { ...error.details, page: 3 },
      });
    },
    calls: () => calls,
  };
}

function elementRecord(
  text: string,
  { offset = 0, index = 0, decorate = (error: IngestError) => error } = {},
): ElementRecord {
  return new ElementRecord(Buffer.from(text), noIssues, offset, index, decorate);
}

/** What reading `value` throws (it must throw an IngestError). */
function valueError(record: ExtractedRecord): IngestError {
  try {
    void record.value;
  } catch (error) {
    if (error instanceof IngestError) return error;
    throw error;
  }
  throw new Error('expected reading the value to throw');
}

describe('ElementRecord', () => {
  it('is built from bytes that are not JSON without failing: they fail when its value is read', () => {
    const record = elementRecord('{"a":1,}');
    expect(record.text).toBe('{"a":1,}');
    expect(valueError(record).code).toBe('INVALID_JSON');
  });

  it('parses once and keeps the value', () => {
    const record = elementRecord(' {"a":[1,2],"s":"é"} ');
    const value = record.value;
    expect(value).toEqual({ a: [1, 2], s: 'é' });
    expect(record.value).toBe(value);
    expect(record.bytes.toString('utf8')).toBe(' {"a":[1,2],"s":"é"} ');
  });

  it('names the record and where it is in the body', () => {
    const text = '{"a":1,"b":tru}';
    const error = valueError(elementRecord(text, { offset: 1000, index: 7 }));
    expect(error).toMatchObject({ category: 'response-shape', code: 'INVALID_JSON', retryable: false });
    expect(error.message).toContain('record 7');
    expect(error.details['index']).toBe(7);
    const offset = error.details['offset'] as number;
    expect(offset).toBeGreaterThanOrEqual(1000);
    expect(offset).toBeLessThanOrEqual(1000 + text.length);
  });

  it('gets its raw-control-char issue when its value is read', () => {
    const record = elementRecord('{"s":"a\tb"}');
    expect(record.issues).toEqual([]);
    expect(record.value).toEqual({ s: 'a\tb' });
    expect(record.issues).toEqual(['raw-control-char']);
  });

  it('throws its error through the decorator, which a good record never calls', () => {
    const { decorate, calls } = marking();
    expect(elementRecord('{"a":1}', { decorate }).value).toEqual({ a: 1 });
    expect(calls()).toBe(0);
    const error = valueError(elementRecord('[1,,2]', { index: 2, decorate }));
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toMatch(/^decorated: record 2 /);
    expect(error.details).toMatchObject({ index: 2, page: 3 });
    expect(calls()).toBe(1);
  });
});

describe('decorateFailure of an extraction', () => {
  it('finishes the error of a record read after the iteration ended well', async () => {
    const { decorate } = marking();
    const extraction = extractRecords(streamOf('{"data":[{"a":1},{"a":tru}]}', 5), {
      selector: 'data',
      decorateFailure: decorate,
    });
    const records: ExtractedRecord[] = [];
    for await (const batch of extraction) records.push(...batch.records);
    expect(extraction.outcome?.records).toBe(2);
    expect(records[0]?.value).toEqual({ a: 1 });
    const error = valueError(records[1] as ExtractedRecord);
    expect(error.message).toMatch(/^decorated: record 1 /);
    expect(error.details).toMatchObject({ index: 1, page: 3 });
  });

  it('finishes the errors the iteration throws', async () => {
    const { decorate } = marking();
    const extraction = extractRecords(streamOf('{"data":[{"a":1},{"a":'), {
      selector: 'data',
      decorateFailure: decorate,
    });
    await expect(
      (async () => {
        for await (const batch of extraction) void batch;
      })(),
    ).rejects.toMatchObject({
      code: 'TRUNCATED_BODY',
      message: expect.stringMatching(/^decorated: /) as unknown,
    });
  });

  it('leaves the body stream’s own errors as they are', async () => {
    const { decorate, calls } = marking();
    const reset = new Error('connection reset');
    function* body(): Generator<Uint8Array> {
      yield Buffer.from('{"data":[{"a":1},');
      throw reset;
    }
    const extraction = extractRecords(body(), { selector: 'data', decorateFailure: decorate });
    await expect(
      (async () => {
        for await (const batch of extraction) void batch;
      })(),
    ).rejects.toBe(reset);
    expect(calls()).toBe(0);
  });
});
