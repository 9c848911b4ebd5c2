/**
 * Decodes the complete elements of a skipped array's chunk into ONE JSON array text, `[e0,e1,…]`, for a single
 * `JSON.parse` that validates them all. Pure-ASCII regions (most JSON) are copied as latin1, with the brackets
 * written into the buffer around the region for the copy and then restored, which avoids a second copy by string
 * concatenation; others are checked to be UTF-8 (native) and decoded whole.
 */
import type { Buffer } from 'node:buffer';
import { isAscii, isUtf8 } from 'node:buffer';
import { firstInvalidUtf8 } from './decode-text.ts';

/**
 * Decodes elements `buf[starts[j], ends[j])`, `j < count`, with the bytes between them, as `[…]`. Needs one byte
 * before the first element and one after the last (the separators). Returns the offset of the first invalid byte
 * instead when the bytes are not UTF-8.
 */
export function decodeRegion(
  buf: Buffer,
  starts: Int32Array,
  ends: Int32Array,
  count: number,
): string | number {
  const regionStart = starts[0]!;
  const regionEnd = ends[count - 1]!;
  const region = buf.subarray(regionStart, regionEnd);
  if (isAscii(region)) {
    const before = buf[regionStart - 1]!;
    const after = buf[regionEnd]!;
    buf[regionStart - 1] = 0x5b; // [
    buf[regionEnd] = 0x5d; // ]
    const text = buf.toString('latin1', regionStart - 1, regionEnd + 1);
    buf[regionStart - 1] = before;
    buf[regionEnd] = after;
    return text;
  }
  if (!isUtf8(region)) return regionStart + firstInvalidUtf8(region);
  return `[${buf.toString('utf8', regionStart, regionEnd)}]`;
}
