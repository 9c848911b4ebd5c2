/**
 * UTF-8 bytes → string, strictly: invalid UTF-8 is a response-shape error, never silently replaced by U+FFFD. Pure
 * ASCII (most JSON) takes the latin1 path, which copies bytes without decoding; both checks are native (simdutf).
 */
import type { Buffer } from 'node:buffer';
import { isAscii, isUtf8 } from 'node:buffer';

/** Decoded text and whether it was pure ASCII (then string offsets equal byte offsets). */
export interface DecodedText {
  readonly text: string;
  readonly ascii: boolean;
}

/** Decodes `buf[start, end)`; returns the offset (within `buf`) of the first invalid byte instead when not UTF-8. */
export function decodeUtf8(buf: Buffer, start: number, end: number): DecodedText | number {
  const bytes = buf.subarray(start, end);
  if (isAscii(bytes)) return { text: buf.toString('latin1', start, end), ascii: true };
  if (!isUtf8(bytes)) return start + firstInvalidUtf8(bytes);
  return { text: buf.toString('utf8', start, end), ascii: false };
}

/** Offset of the first byte that breaks UTF-8 in `bytes` (its length when there is none). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k += 1) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += need + 1;
  }
  return i;
}
