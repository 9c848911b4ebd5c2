/**
 * `RegionDecoder`: the UTF-16 offsets it gives each element are where that element is in the decoded array text,
 * on each of its paths: an all-ASCII region (copied as latin1), a region with a few non-ASCII elements (decoded one
 * by one), and one where many are (decoded whole, the offsets counted from the bytes: long elements whose non-ASCII
 * characters — 2, 3 and 4 bytes in UTF-8 — sit anywhere, split into halves, and short ones walked byte by byte).
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { RegionDecoder } from '../../../src/http/extract/decode-region.ts';

/** `[e0, e1, …]` as bytes, with each element's byte range. */
function region(elements: readonly string[]): { buf: Buffer; starts: Int32Array; ends: Int32Array } {
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

function decodedElements(elements: readonly string[]): string[] {
  const { buf, starts, ends } = region(elements);
  const decoder = new RegionDecoder(elements.length);
  const text = decoder.decode(buf, starts, ends, elements.length);
  if (typeof text !== 'string') throw new Error(`invalid UTF-8 at ${text}`);
  expect(JSON.parse(text)).toHaveLength(elements.length);
  return elements.map((_, j) => text.slice(decoder.unitStarts[j], decoder.unitEnds[j]));
}

const filler = 'x'.repeat(150);
const accented = ['é', '静', '😀', 'Ångström', 'Отряд 😀 静か'];

describe('RegionDecoder', () => {
  it('places every element of a region where most elements hold non-ASCII characters anywhere', () => {
    const elements: string[] = [];
    for (let j = 0; j < 60; j += 1) {
      const char = accented[j % accented.length] as string;
      const at = (j * 37) % filler.length;
      const value = j % 5 === 4 ? filler : filler.slice(0, at) + char + filler.slice(at) + char;
      elements.push(JSON.stringify({ n: j, value }));
    }
    expect(decodedElements(elements)).toEqual(elements);
  });

  it('places short elements and elements that are a single 4-byte character', () => {
    const elements = ['"😀"', '1', '"é"', JSON.stringify({ s: '😀'.repeat(40) }), '"a"', '"静"'];
    expect(decodedElements(elements)).toEqual(elements);
  });

  it('places the elements of an all-ASCII region', () => {
    const elements = Array.from({ length: 20 }, (_, j) => JSON.stringify({ n: j, value: filler }));
    expect(decodedElements(elements)).toEqual(elements);
  });

  it('places the elements of a region where few elements hold non-ASCII characters', () => {
    const elements = Array.from({ length: 40 }, (_, j) =>
      JSON.stringify({ n: j, value: j % 20 === 7 ? `${filler}😀é${filler}` : filler }),
    );
    expect(decodedElements(elements)).toEqual(elements);
  });
});
