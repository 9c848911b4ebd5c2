/**
 * `decodeRegion`: the array text it decodes holds exactly the elements, on both of its paths — an all-ASCII region
 * (copied as latin1 with brackets written around it, then restored) and one with non-ASCII characters (decoded
 * whole) — and it names the first byte that is not UTF-8.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { decodeRegion } from '../../../src/http/extract/decode-region.ts';

/** `[e0, e1, …]` as bytes, with each element's byte range. */
function region(elements: readonly (string | Buffer)[]): {
  buf: Buffer;
  starts: Int32Array;
  ends: Int32Array;
} {
  const starts = new Int32Array(elements.length);
  const ends = new Int32Array(elements.length);
  const parts: Buffer[] = [Buffer.from('[')];
  let at = 1;
  elements.forEach((element, j) => {
    const bytes = Buffer.from(element);
    const separator = Buffer.from(j === elements.length - 1 ? ']' : ', ');
    starts[j] = at;
    ends[j] = at + bytes.length;
    at += bytes.length + separator.length;
    parts.push(bytes, separator);
  });
  return { buf: Buffer.concat(parts), starts, ends };
}

const filler = 'x'.repeat(150);

describe('decodeRegion', () => {
  it('decodes an all-ASCII region and leaves the buffer as it was', () => {
    const elements = Array.from({ length: 20 }, (_, j) => JSON.stringify({ n: j, value: filler }));
    const { buf, starts, ends } = region(elements);
    const before = Buffer.from(buf);
    const text = decodeRegion(buf, starts, ends, elements.length);
    expect(JSON.parse(text as string)).toEqual(elements.map((e) => JSON.parse(e) as unknown));
    expect(buf.equals(before)).toBe(true);
  });

  it('decodes a region with characters of 2, 3 and 4 bytes', () => {
    const elements = ['"😀"', '1', '"é"', JSON.stringify({ s: '静'.repeat(40) }), '"a"'];
    const { buf, starts, ends } = region(elements);
    const text = decodeRegion(buf, starts, ends, elements.length);
    expect(JSON.parse(text as string)).toEqual(elements.map((e) => JSON.parse(e) as unknown));
  });

  it('returns the offset of the first byte that is not UTF-8', () => {
    const bad = Buffer.from([0x22, 0x61, 0xed, 0xa0, 0x80, 0x22]); // "a" + an encoded surrogate
    const { buf, starts, ends } = region(['"é"', bad]);
    const at = decodeRegion(buf, starts, ends, 2);
    expect(at).toBe((starts[1] as number) + 2);
  });
});
