/**
 * The checks staging makes of each record (`src/db/staging/record-checks.ts`), on records as the extractor gives
 * them (bytes, parsed only when their value is read): a record that is not JSON throws the extraction's error
 * whatever it would have been rejected for; a raw control character is the reason a record is rejected, object or
 * not; JSON that Postgres refused is `invalid-json`; and a scanner that calls good JSON malformed fails the load
 * rather than reject the record.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { checkRecord, classify, type CheckedRecord } from '../../../src/db/staging/record-checks.ts';
import { maxBodyDepth } from '../../../src/db/tables/json-depth.ts';
import {
  malformedRecord,
  TopLevelScanner,
  type ScanVerdict,
} from '../../../src/db/tables/record-top-level.ts';
import type { ResourceTable } from '../../../src/db/tables/resource-tables.ts';
import type { IngestError } from '../../../src/errors.ts';
import { extractAllRecords } from '../../../src/http/extract/extract-records.ts';
import type { ExtractedRecord } from '../../../src/shared/records.ts';
import { errorOf } from '../../helpers/ingest-errors.ts';

const target: ResourceTable = {
  source: 'src',
  resource: 'items',
  schema: 'public',
  table: 'items',
  primaryKey: [{ field: 'id', column: 'id' }],
  columns: [],
  rowKey: 'record',
};

/** The one record of an array holding `text`, as the extractor gives it (nested as deep as staging gets them). */
async function recordOf(text: string): Promise<ExtractedRecord> {
  const { records } = await extractAllRecords([Buffer.from(`[${text}]`)], {
    selector: '$',
    maxDepth: maxBodyDepth,
  });
  expect(records).toHaveLength(1);
  return records[0] as ExtractedRecord;
}

function check(record: ExtractedRecord, scanner = new TopLevelScanner(['id'])): CheckedRecord {
  return checkRecord(record, Buffer.from(record.bytes ?? record.text), 0, target, scanner);
}

async function checked(text: string): Promise<CheckedRecord> {
  return check(await recordOf(text));
}

async function rejectedAs(text: string): Promise<string> {
  const result = await checked(text);
  if (result.ok) throw new Error(`expected ${text} to be rejected`);
  return result.rejection.code;
}

/** The IngestError checking `text` throws. */
async function thrownBy(text: string): Promise<IngestError> {
  const record = await recordOf(text);
  return errorOf(() => check(record));
}

describe('checkRecord', () => {
  it('gives a good record its key text and field names', async () => {
    const result = await checked('{"id": 1.50e1, "name": "x"}');
    expect(result.ok && { key: result.key, names: result.layout.names }).toEqual({
      key: ['15.0'],
      names: ['id', 'name'],
    });
  });

  it('rejects what it can name', async () => {
    expect(await rejectedAs('{"name":"x"}')).toBe('missing-primary-key');
    expect(await rejectedAs('{"id":null}')).toBe('missing-primary-key');
    expect(await rejectedAs('{"id":{"a":1}}')).toBe('invalid-primary-key');
    expect(await rejectedAs(`{"id":1${'0'.repeat(1000)}}`)).toBe('invalid-primary-key');
    expect(await rejectedAs('[1,2]')).toBe('not-an-object');
    expect(await rejectedAs('{"id":"\\u0000"}')).toBe('nul-char');
  });

  it('rejects a record too deep before its key too long', async () => {
    const deep = `${'['.repeat(10_001)}${']'.repeat(10_001)}`;
    expect(await rejectedAs(`{"id":1${'0'.repeat(1000)},"a":${deep}}`)).toBe('too-deep');
  });

  it('throws the extraction error for a record that is not JSON, whatever else is wrong with it', async () => {
    for (const text of [
      '{"id":1,}',
      '{"name":tru}',
      '{"id":"\\x"}',
      '[1,,2]',
      '"\\x"',
      '{"id":"\\u0000",}',
    ]) {
      const error = await thrownBy(text);
      expect({ text, code: error.code, category: error.category }).toEqual({
        text,
        code: 'INVALID_JSON',
        category: 'response-shape',
      });
      expect(error.details['index']).toBe(0);
    }
  });

  it('rejects a raw control character inside a string, in an object or not', async () => {
    expect(await rejectedAs('{"id":1,"s":"a\tb"}')).toBe('raw-control-char');
    expect(await rejectedAs('"a\nb"')).toBe('raw-control-char');
    expect(await rejectedAs('["a\u0001b"]')).toBe('raw-control-char');
    const result = await checked('{"id":1,"s":"a\tb"}');
    expect(!result.ok && result.rejection.recordKey).toBe('1');
  });

  it('fails, rather than reject, a record the scanner calls malformed although it is JSON', async () => {
    class WrongScanner extends TopLevelScanner {
      override scan(): ScanVerdict {
        return malformedRecord;
      }
    }
    const record = await recordOf('{"id":1}');
    expect(errorOf(() => check(record, new WrongScanner(['id'])))).toMatchObject({
      category: 'internal',
      code: 'RECORD_SCAN_MISMATCH',
      retryable: false,
    });
  });
});

describe('classify (a record Postgres refused as jsonb)', () => {
  it('rejects JSON Postgres cannot take as invalid-json, with its key', async () => {
    const record = await recordOf('{"id":7,"n":1e999999}');
    const { rejection } = classify(record, 4, target, 'invalid-json', 'Postgres refused the record as jsonb');
    expect(rejection).toEqual({
      ordinal: 4,
      code: 'invalid-json',
      reason: 'Postgres refused the record as jsonb',
      recordKey: '7',
      payload: '{"id":7,"n":1e999999}',
    });
  });

  it('rejects a record with a raw control character for it', async () => {
    const record = await recordOf('{"id":7,"s":"a\tb"}');
    expect(classify(record, 0, target, 'invalid-json', 'refused').rejection.code).toBe('raw-control-char');
  });

  it('throws the extraction error for a record that is not JSON', async () => {
    const record = await recordOf('{"id":7,"n":NaN}');
    expect(errorOf(() => classify(record, 0, target, 'invalid-json', 'refused'))).toMatchObject({
      code: 'INVALID_JSON',
      category: 'response-shape',
    });
  });
});
