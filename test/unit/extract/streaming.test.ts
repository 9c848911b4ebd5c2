import { describe, expect, it } from 'vitest';
import { extractRecords } from '../../../src/http/extract/extract-records.ts';
import type { RecordBatch } from '../../../src/shared/records.ts';
import { extract, streamOf } from './helpers.ts';

const encoder = new TextEncoder();

/** A body that sends `head`, then waits until `release()` before sending `tail`; records whether it was closed. */
function gatedBody(head: string, tail: string) {
  let release = (): void => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const state = { finished: false, closed: false };
  async function* body() {
    try {
      yield encoder.encode(head.slice(0, 7));
      yield encoder.encode(head.slice(7));
      await gate;
      yield encoder.encode(tail);
      state.finished = true;
    } finally {
      state.closed = true;
    }
  }
  return { body: body(), release, state };
}

describe('streaming', () => {
  it('yields the first batch while the body is still arriving', async () => {
    const { body, release, state } = gatedBody('{"data":[{"id":1},{"id":2},{"id":3},{"i', 'd":4}]}');
    const iterator = extractRecords(body, { selector: 'data', batchRecords: 2 })[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(state.finished).toBe(false);
    if (first.done === true) throw new Error('no first batch');
    expect(first.value.records.map((record) => record.text)).toEqual(['{"id":1}', '{"id":2}']);
    release();
    const rest: RecordBatch[] = [];
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
      rest.push(next.value);
    expect(rest.flatMap((batch) => batch.records.map((record) => record.value))).toEqual([
      { id: 3 },
      { id: 4 },
    ]);
    expect(state.finished).toBe(true);
  });

  it('closes the body when the consumer stops early', async () => {
    const { body, state } = gatedBody('{"data":[1,2,3,4,', '5]}');
    const extraction = extractRecords(body, { selector: 'data', batchRecords: 2 });
    for await (const batch of extraction) {
      expect(batch.records).toHaveLength(2);
      break;
    }
    expect(state.closed).toBe(true);
    expect(extraction.outcome).toBeUndefined();
  });

  it('closes the body when the body is broken', async () => {
    let closed = false;
    function* body() {
      try {
        yield encoder.encode('[1,2] garbage');
        yield encoder.encode('more');
      } finally {
        closed = true;
      }
    }
    const extraction = extractRecords(body(), { selector: '$' });
    await expect(
      (async () => {
        for await (const _batch of extraction);
      })(),
    ).rejects.toMatchObject({ code: 'TRAILING_GARBAGE' });
    expect(closed).toBe(true);
  });

  it('passes on an error of the body stream itself', async () => {
    async function* body() {
      yield encoder.encode('{"data":[1,');
      await Promise.resolve();
      throw new Error('socket hang up');
    }
    await expect(
      (async () => {
        for await (const _batch of extractRecords(body(), { selector: 'data' }));
      })(),
    ).rejects.toThrow('socket hang up');
  });

  it('can be iterated only once', async () => {
    const extraction = extractRecords(streamOf('[1]'), {});
    for await (const _batch of extraction);
    expect(() => extraction[Symbol.asyncIterator]()).toThrow(/only once/);
  });

  it('cuts batches at batchRecords records', async () => {
    const body = `[${Array.from({ length: 25 }, (_, i) => i).join(',')}]`;
    const sizes: number[] = [];
    for await (const batch of extractRecords(streamOf(body, 4), { batchRecords: 10 }))
      sizes.push(batch.records.length);
    expect(sizes).toEqual([10, 10, 5]);
  });

  it('seals a batch with the record that reaches batchBytes, and counts bytes in UTF-8', async () => {
    const body = '["aaaa","éé","b",1]'; // 6, 6, 3 and 1 bytes
    const batches: RecordBatch[] = [];
    for await (const batch of extractRecords(streamOf(body), { batchBytes: 10 })) batches.push(batch);
    expect(batches.map((batch) => [batch.records.length, batch.bytes])).toEqual([
      [2, 12],
      [2, 4],
    ]);
  });

  it('handles one huge chunk of many small records (parsed in bounded groups)', async () => {
    const count = 30_000;
    const body = `{"data":[${Array.from({ length: count }, (_, i) => `{"i":${i},"s":"${i % 97 === 0 ? 'ü' : 'u'}"}`).join(',')}]}`;
    const { records, outcome } = await extract(body, { selector: 'data' });
    expect(outcome.records).toBe(count);
    expect(records[count - 1]?.text).toBe(`{"i":${count - 1},"s":"u"}`);
    expect(records.every((record, i) => (record.value as { i: number }).i === i)).toBe(true);
  });

  it('gives the same records for every chunk size', async () => {
    const body =
      '{"meta":{"a":[1,{"b":"]}"}]},"data":[ {"x":"\\"}"} , [1,[2]] ,"é😀",-1.5e3,null ],"z":"\\\\"}';
    const reference = (await extract(body, { selector: 'data' })).records;
    expect(reference.map((record) => record.text)).toEqual([
      '{"x":"\\"}"}',
      '[1,[2]]',
      '"é😀"',
      '-1.5e3',
      'null',
    ]);
    for (let size = 1; size <= body.length; size += 1) {
      const { records } = await extract(body, { selector: 'data' }, size);
      expect(records).toEqual(reference);
    }
  });
});
