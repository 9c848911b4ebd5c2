import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../src/errors.ts';
import { extractRecords } from '../../../src/http/extract/extract-records.ts';
import type { SelectedKind } from '../../../src/http/extract/types.ts';
import { expectFailure, extract, streamOf, valuesOf } from './helpers.ts';

describe('selection with a data_selector', () => {
  const cases: { name: string; body: string; selector: string; values: unknown[]; selected: SelectedKind }[] =
    [
      {
        name: 'an array under data',
        body: '{"data":[{"id":1},{"id":2}]}',
        selector: 'data',
        values: [{ id: 1 }, { id: 2 }],
        selected: 'array',
      },
      { name: '$.data', body: '{"data":[1]}', selector: '$.data', values: [1], selected: 'array' },
      {
        name: 'a nested path',
        body: '{"a":{"b":{"c":[true,false]}}}',
        selector: 'a.b.c',
        values: [true, false],
        selected: 'array',
      },
      {
        name: 'a quoted key',
        body: '{"odd.key":[1,2]}',
        selector: "$['odd.key']",
        values: [1, 2],
        selected: 'array',
      },
      {
        name: 'keys before and after',
        body: '{"meta":{"x":[1,{"y":"]"}]},"data":[3],"links":{"next":null}}',
        selector: 'data',
        values: [3],
        selected: 'array',
      },
      {
        name: 'a top-level array with $',
        body: '[{"id":"a"},{"id":"b"}]',
        selector: '$',
        values: [{ id: 'a' }, { id: 'b' }],
        selected: 'array',
      },
      {
        name: 'an object: one record',
        body: '{"data":{"requestId":"r1","status":"ACCEPTED"}}',
        selector: 'data',
        values: [{ requestId: 'r1', status: 'ACCEPTED' }],
        selected: 'object',
      },
      {
        name: 'the whole object with $',
        body: '{"id":7}',
        selector: '$',
        values: [{ id: 7 }],
        selected: 'object',
      },
      { name: 'null: no records', body: '{"data":null}', selector: 'data', values: [], selected: 'null' },
      { name: 'an empty array', body: '{"data":[]}', selector: 'data', values: [], selected: 'array' },
      {
        name: 'an empty array with spaces',
        body: '{"data":[ \n ]}',
        selector: 'data',
        values: [],
        selected: 'array',
      },
      {
        name: 'a scalar: one record',
        body: '{"data":"x"}',
        selector: 'data',
        values: ['x'],
        selected: 'scalar',
      },
      {
        name: 'scalars in an array',
        body: '{"data":[1,"two",null,true,[3],{}]}',
        selector: 'data',
        values: [1, 'two', null, true, [3], {}],
        selected: 'array',
      },
      {
        name: 'escaped keys are compared decoded',
        body: '{"d\\u0061ta":[1]}',
        selector: 'data',
        values: [1],
        selected: 'array',
      },
    ];
  it.each(cases)('$name', async ({ body, selector, values, selected }) => {
    const { records, outcome } = await extract(body, { selector });
    expect(records.map((record) => record.value)).toEqual(values);
    expect(outcome.selected).toBe(selected);
    expect(outcome.records).toBe(values.length);
    expect(outcome.autoDetected).toBe(false);
  });

  it('keeps each record’s exact text: whitespace inside, big numbers and long decimals untouched', async () => {
    const body =
      '{"data": [\n  {"id": 12345678901234567890123, "price": 0.100000000000000000000001},\n  {"n":1e400 , "s":"\\u00e9\\/"}\n]}';
    const { records } = await extract(body, { selector: 'data' });
    expect(records.map((record) => record.text)).toEqual([
      '{"id": 12345678901234567890123, "price": 0.100000000000000000000001}',
      '{"n":1e400 , "s":"\\u00e9\\/"}',
    ]);
    expect(records[0]?.value).toEqual({ id: Number('12345678901234567890123'), price: 0.1 });
    expect(records[1]?.value).toEqual({ n: Infinity, s: 'é/' });
  });

  it('reports totals and the selector in the outcome', async () => {
    const body = '{"data":[{"a":"é"},{"b":2}]}';
    const { outcome } = await extract(body, { selector: '$["data"]' });
    expect(outcome).toEqual({
      records: 2,
      bytes: Buffer.byteLength('{"a":"é"}') + 7,
      bodyBytes: Buffer.byteLength(body),
      selected: 'array',
      selector: '$.data',
      autoDetected: false,
    });
  });

  it('names the path and the keys that were there when the selector is missing', async () => {
    const error = await expectFailure('{"items":[1],"meta":{},"count":1}', 'SELECTOR_NOT_FOUND', {
      selector: 'data',
    });
    expect(error.message).toContain('$.data');
    expect(error.message).toContain('"items", "meta", "count"');
    expect(error.details).toMatchObject({ selector: '$.data', keys: ['items', 'meta', 'count'] });
  });

  it('fails when the path runs into something that is not an object', async () => {
    const error = await expectFailure('{"data":[1]}', 'SELECTOR_NOT_FOUND', { selector: 'data.items' });
    expect(error.message).toContain('the value at $.data is an array');
    await expectFailure('[1,2]', 'SELECTOR_NOT_FOUND', { selector: 'data' });
    await expectFailure('null', 'SELECTOR_NOT_FOUND', { selector: 'data' });
  });

  it('refuses a selected key that occurs twice (JSON.parse would take the last, a stream the first)', async () => {
    await expectFailure('{"data":[1],"data":[2]}', 'AMBIGUOUS_SELECTION', { selector: 'data' });
  });

  it('validates the options when the extraction is created, before reading the body', () => {
    let read = false;
    const body = (function* () {
      read = true;
      yield new Uint8Array();
    })();
    for (const options of [
      { selector: 'data[*]' },
      { maxDepth: 0 },
      { batchRecords: 1.5 },
      { maxRecordBytes: -1 },
    ]) {
      expect(() => extractRecords(body, options)).toThrow(IngestError);
    }
    expect(() => extractRecords(body, { maxDepth: 0 })).toThrow(/maxDepth: expected an integer from 1/);
    expect(read).toBe(false);
  });
});

describe('empty bodies', () => {
  it.each([
    ['no bytes', ''],
    ['only whitespace', ' \r\n\t '],
    ['only a byte order mark', '\uFEFF'],
  ])('%s: zero records, with or without a selector', async (_name, body) => {
    for (const options of [{}, { selector: 'data' }]) {
      const { records, outcome } = await extract(body, options);
      expect(records).toEqual([]);
      expect(outcome.selected).toBe('empty');
    }
  });

  it('tolerates a byte order mark before the document', async () => {
    expect(await valuesOf('\uFEFF{"data":[1]}', { selector: 'data' })).toEqual([1]);
    const split = await extract('\uFEFF[1,2]', {}, 1);
    expect(split.records.map((record) => record.value)).toEqual([1, 2]);
  });
});

describe('auto-detection (no data_selector), as dlt does it', () => {
  const cases: { name: string; body: string; values: unknown[]; selector: string; selected: SelectedKind }[] =
    [
      {
        name: 'a top-level array',
        body: '[{"id":1},{"id":2}]',
        values: [{ id: 1 }, { id: 2 }],
        selector: '$',
        selected: 'array',
      },
      {
        name: 'a list under data',
        body: '{"data":[1,2],"meta":{"n":2}}',
        values: [1, 2],
        selector: '$.data',
        selected: 'array',
      },
      {
        name: 'a record key wins over an earlier list',
        body: '{"warnings":["w"],"results":[1]}',
        values: [1],
        selector: '$.results',
        selected: 'array',
      },
      {
        name: 'each record key counts (items)',
        body: '{"items":[1]}',
        values: [1],
        selector: '$.items',
        selected: 'array',
      },
      {
        name: 'each record key counts (values)',
        body: '{"values":[1]}',
        values: [1],
        selector: '$.values',
        selected: 'array',
      },
      {
        name: 'the first record-key list in document order',
        body: '{"rows":[1],"data":[2]}',
        values: [1],
        selector: '$.rows',
        selected: 'array',
      },
      {
        name: 'a nested record-key list',
        body: '{"response":{"page":1,"entries":[{"a":1}]}}',
        values: [{ a: 1 }],
        selector: '$.response.entries',
        selected: 'array',
      },
      {
        name: 'lists three keys deep are found',
        body: '{"a":{"b":{"records":[1]}}}',
        values: [1],
        selector: '$.a.b.records',
        selected: 'array',
      },
      {
        name: 'lists four keys deep are not',
        body: '{"a":{"b":{"c":{"data":[1]}}}}',
        values: [{ a: { b: { c: { data: [1] } } } }],
        selector: '$',
        selected: 'object',
      },
      {
        name: 'no record key: the first list',
        body: '{"count":2,"calls":[1,2],"other":[3]}',
        values: [1, 2],
        selector: '$.calls',
        selected: 'array',
      },
      {
        name: 'no record key: the first list, nested',
        body: '{"x":{"y":[5]},"z":[6]}',
        values: [5],
        selector: '$.x.y',
        selected: 'array',
      },
      {
        name: 'record keys are case-sensitive',
        body: '{"Data":[1],"list":[2]}',
        values: [1],
        selector: '$.Data',
        selected: 'array',
      },
      {
        name: 'no list: the whole object is one record',
        body: '{"data":{"requestId":"r"}}',
        values: [{ data: { requestId: 'r' } }],
        selector: '$',
        selected: 'object',
      },
      {
        name: 'lists inside lists do not count',
        body: '{"meta":{"x":1},"matrix":[[1]]}',
        values: [[1]],
        selector: '$.matrix',
        selected: 'array',
      },
      { name: 'a top-level scalar', body: '"hello"', values: ['hello'], selector: '$', selected: 'scalar' },
      { name: 'a top-level null', body: 'null', values: [], selector: '$', selected: 'null' },
    ];
  it.each(cases)('$name', async ({ body, values, selector, selected }) => {
    for (const chunking of [Infinity, 1, 3]) {
      const { records, outcome } = await extract(body, {}, chunking);
      expect(records.map((record) => record.value)).toEqual(values);
      expect(outcome).toMatchObject({ selector, selected, autoDetected: true });
    }
  });

  it('keeps exact record texts when it had to buffer the object', async () => {
    const { records } = await extract('{"calls":[ {"id": 1.50} , 18014398509481985 ]}', {}, 2);
    expect(records.map((record) => record.text)).toEqual(['{"id": 1.50}', '18014398509481985']);
  });

  it('streams a record-key list without buffering the object (memory bounded by the record, not the body)', async () => {
    const big = `{"data":[${Array.from({ length: 2000 }, (_, i) => `{"i":${i},"pad":"${'x'.repeat(100)}"}`).join(',')}]}`;
    const { records } = await extract(big, { maxRecordBytes: 200 }, 1000);
    expect(records).toHaveLength(2000);
  });

  it('refuses to buffer more than maxRecordBytes while it cannot decide', async () => {
    const body = `{"calls":[${'1,'.repeat(1000)}1],"data":[1]}`;
    const error = await expectFailure(body, 'AUTO_DETECT_TOO_LARGE', { maxRecordBytes: 500 }, 100);
    expect(error.message).toContain('set data_selector');
  });

  it('checks the whole body before selecting from a buffered object', async () => {
    await expectFailure('{"calls":[1]} x', 'TRAILING_GARBAGE');
  });

  it('streams the auto-detected data while the body is still arriving', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* body() {
      yield new TextEncoder().encode('{"data":[1,2,3,');
      await gate;
      yield new TextEncoder().encode('4]}');
    }
    const iterator = extractRecords(body(), { batchRecords: 2 })[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done === true) throw new Error('no first batch');
    expect(first.value.records.map((record) => record.value)).toEqual([1, 2]);
    release();
    const rest = [];
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
      rest.push(...next.value.records);
    expect(rest.map((record) => record.value)).toEqual([3, 4]);
  });
});

describe('streamOf helper', () => {
  it('splits at the given cut points', async () => {
    const chunks = [];
    for await (const chunk of streamOf('abcdef', [1, 3])) chunks.push(new TextDecoder().decode(chunk));
    expect(chunks).toEqual(['a', 'bc', 'def']);
  });
});
