/**
 * The binary array parameters staging sends (`src/db/staging/binary-arrays.ts`), checked against Postgres's binary
 * array wire format as `array_recv` reads it: known bytes for small arrays, and a decoder written from the format
 * (not from the encoder) for the rest.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arrayHeaderBytes,
  int4Array,
  int4Oid,
  textArray,
  textOid,
  uuidArray,
  uuidOid,
} from '../../../src/db/staging/binary-arrays.ts';

/** Reads a one-dimensional binary array as Postgres's `array_recv` does: header, then length-prefixed elements. */
function decode(buffer: Buffer): { readonly oid: number; readonly elements: readonly Buffer[] } {
  expect(buffer.readInt32BE(0)).toBe(1); // ndim
  expect(buffer.readInt32BE(4)).toBe(0); // has nulls
  const oid = buffer.readInt32BE(8);
  const count = buffer.readInt32BE(12);
  expect(buffer.readInt32BE(16)).toBe(1); // lower bound
  const elements: Buffer[] = [];
  let offset = 20;
  for (let i = 0; i < count; i++) {
    const length = buffer.readInt32BE(offset);
    expect(length).toBeGreaterThanOrEqual(0); // -1 would be NULL: never sent
    elements.push(buffer.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  expect(offset).toBe(buffer.length); // nothing trails the last element
  return { oid, elements };
}

const hex = (text: string) => Buffer.from(text.replaceAll(' ', ''), 'hex');

describe('binary array header', () => {
  it('uses the oids of pg_type', () => {
    expect([textOid, int4Oid, uuidOid]).toEqual([25, 23, 2950]);
    expect(arrayHeaderBytes).toBe(20);
  });
});

describe('int4Array', () => {
  it('writes the int4[] wire format', () => {
    expect(int4Array([1, -2, 2_147_483_647])).toEqual(
      hex(
        '00000001 00000000 00000017 00000003 00000001' +
          '00000004 00000001 00000004 fffffffe 00000004 7fffffff',
      ),
    );
  });

  it('writes an empty array as a header with no element', () => {
    expect(int4Array([])).toEqual(hex('00000001 00000000 00000017 00000000 00000001'));
  });

  it('round-trips any int4', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), (values) => {
        const { oid, elements } = decode(int4Array(values));
        expect(oid).toBe(int4Oid);
        expect(elements.every((e) => e.length === 4)).toBe(true);
        expect(elements.map((e) => e.readInt32BE(0))).toEqual(values);
      }),
    );
  });
});

describe('uuidArray', () => {
  it('writes the uuid[] wire format: 16 bytes an element', () => {
    expect(uuidArray(['00112233445566778899aabbccddeeff', 'D41D8CD98F00B204E9800998ECF8427E'])).toEqual(
      hex(
        '00000001 00000000 00000b86 00000002 00000001' +
          '00000010 00112233445566778899aabbccddeeff' +
          '00000010 d41d8cd98f00b204e9800998ecf8427e',
      ),
    );
  });

  it('refuses what is not 16 bytes of hex', () => {
    expect(() => uuidArray(['d41d8cd98f00b204'])).toThrow(RangeError);
    expect(() => uuidArray(['not a digest at all, not at all!'])).toThrow(RangeError);
  });
});

describe('textArray', () => {
  it('writes the text[] wire format: UTF-8 bytes, no quoting or escaping', () => {
    const array = textArray(['a', 'é', '', '{"k": "\\"x\\""}']);
    expect(array).toEqual(
      hex(
        '00000001 00000000 00000019 00000004 00000001' +
          '00000001 61' +
          '00000002 c3a9' +
          '00000000' +
          `0000000e ${Buffer.from('{"k": "\\"x\\""}').toString('hex')}`,
      ),
    );
  });

  it('copies values given as bytes as they are', () => {
    const bytes = Buffer.from('{"id":1}');
    const { oid, elements } = decode(textArray([bytes, 'x', new Uint8Array()]));
    expect(oid).toBe(textOid);
    expect(elements.map((e) => e.toString('utf8'))).toEqual(['{"id":1}', 'x', '']);
  });

  it('round-trips any text, given as a string or as its bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' })), (values) => {
        const array = textArray(values);
        const { oid, elements } = decode(array);
        expect(oid).toBe(textOid);
        expect(elements.map((e) => e.toString('utf8'))).toEqual(values);
        expect(textArray(values.map((v) => Buffer.from(v)))).toEqual(array);
      }),
    );
  });
});
