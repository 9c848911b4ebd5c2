/**
 * Decodes the complete elements of a chunk into ONE JSON array text, `[e0,e1,…]`, ready for a single `JSON.parse`,
 * and says where each element is in it (UTF-16 offsets, which differ from byte offsets after non-ASCII bytes).
 * Decoding is the costly part for mostly-ASCII bodies, so: pure-ASCII runs are copied as latin1 (no decoding), only
 * the elements that hold non-ASCII bytes — found by bisecting with the native `isAscii` — are decoded as UTF-8, and
 * the brackets are written into the buffer around an all-ASCII region for the copy, then restored, to avoid a
 * second copy by string concatenation.
 */
import type { Buffer } from 'node:buffer';
import { isAscii, isUtf8 } from 'node:buffer';
import { firstInvalidUtf8 } from './decode-text.ts';

/** Above this share of non-ASCII elements, decoding the whole region at once is cheaper. */
const maxPiecewiseShare = 1 / 8;

/** Decodes element regions; owns the reusable offset arrays (one per extraction). */
export class RegionDecoder {
  /** Where element j is in the last decoded text: `text.slice(unitStarts[j], unitEnds[j])`. */
  readonly unitStarts: Int32Array;
  readonly unitEnds: Int32Array;
  private readonly nonAscii: number[] = [];

  constructor(maxElements: number) {
    this.unitStarts = new Int32Array(maxElements);
    this.unitEnds = new Int32Array(maxElements);
  }

  /**
   * Decodes elements `buf[starts[j], ends[j])`, `j < count`, with the bytes between them, as `[…]`. Needs one byte
   * before the first element and one after the last (the separators). Returns the offset of the first invalid
   * byte instead when the bytes are not UTF-8.
   */
  decode(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number): string | number {
    const regionStart = starts[0]!;
    const regionEnd = ends[count - 1]!;
    const region = buf.subarray(regionStart, regionEnd);
    if (isAscii(region)) return this.decodeAscii(buf, starts, ends, count);
    if (!isUtf8(region)) return regionStart + firstInvalidUtf8(region);
    const nonAscii = this.nonAscii;
    nonAscii.length = 0;
    const limit = Math.max(1, Math.floor(count * maxPiecewiseShare));
    if (!collectNonAscii(buf, starts, ends, 0, count, nonAscii, limit)) {
      return this.decodeWhole(buf, starts, ends, count);
    }
    return this.decodePiecewise(buf, starts, ends, count);
  }

  private decodeAscii(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number): string {
    const regionStart = starts[0]!;
    const regionEnd = ends[count - 1]!;
    const before = buf[regionStart - 1]!;
    const after = buf[regionEnd]!;
    buf[regionStart - 1] = 0x5b; // [
    buf[regionEnd] = 0x5d; // ]
    const text = buf.toString('latin1', regionStart - 1, regionEnd + 1);
    buf[regionStart - 1] = before;
    buf[regionEnd] = after;
    const offset = 1 - regionStart;
    for (let j = 0; j < count; j += 1) {
      this.unitStarts[j] = starts[j]! + offset;
      this.unitEnds[j] = ends[j]! + offset;
    }
    return text;
  }

  private decodePiecewise(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number): string {
    const regionStart = starts[0]!;
    const regionEnd = ends[count - 1]!;
    const parts = ['['];
    // unit offset of byte b (outside non-ASCII elements) = b + shift
    let shift = 1 - regionStart;
    let copiedTo = regionStart;
    let next = 0;
    for (let j = 0; j < count; j += 1) {
      const start = starts[j]!;
      const end = ends[j]!;
      this.unitStarts[j] = start + shift;
      if (this.nonAscii[next] !== j) {
        this.unitEnds[j] = end + shift;
        continue;
      }
      next += 1;
      if (start > copiedTo) parts.push(buf.toString('latin1', copiedTo, start));
      const decoded = buf.toString('utf8', start, end);
      parts.push(decoded);
      copiedTo = end;
      this.unitEnds[j] = this.unitStarts[j]! + decoded.length;
      shift -= end - start - decoded.length;
    }
    if (regionEnd > copiedTo) parts.push(buf.toString('latin1', copiedTo, regionEnd));
    parts.push(']');
    return parts.join('');
  }

  private decodeWhole(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number): string {
    const regionStart = starts[0]!;
    const regionEnd = ends[count - 1]!;
    const text = `[${buf.toString('utf8', regionStart, regionEnd)}]`;
    // Count UTF-16 units: a lead byte starts one, a 4-byte lead two, continuation bytes none. The bytes between
    // elements are ASCII (commas, whitespace), and so are most elements even here (the native `isAscii` says
    // which): only the others are walked byte by byte.
    let unit = 1;
    let at = regionStart;
    for (let j = 0; j < count; j += 1) {
      const start = starts[j]!;
      const end = ends[j]!;
      unit += start - at;
      this.unitStarts[j] = unit;
      unit += unitsOf(buf, start, end);
      this.unitEnds[j] = unit;
      at = end;
    }
    return text;
  }
}

/**
 * Pushes (in order) the indexes in [lo, hi) of elements holding non-ASCII bytes, bisecting with `isAscii`. Returns
 * false once more than `limit` are found.
 */
function collectNonAscii(
  buf: Buffer,
  starts: Int32Array,
  ends: Int32Array,
  lo: number,
  hi: number,
  out: number[],
  limit: number,
): boolean {
  const from: number = starts[lo]!;
  const to: number = ends[hi - 1]!;
  if (isAscii(buf.subarray(from, to))) return true;
  if (hi - lo === 1) {
    out.push(lo);
    return out.length <= limit;
  }
  const mid = (lo + hi) >>> 1;
  return (
    collectNonAscii(buf, starts, ends, lo, mid, out, limit) &&
    collectNonAscii(buf, starts, ends, mid, hi, out, limit)
  );
}

/**
 * UTF-16 units of the UTF-8 bytes `buf[from, to)`: halves that `isAscii` clears count one per byte, so only short
 * runs around the non-ASCII characters are walked byte by byte (a split inside a character is harmless: each byte
 * counts on its own).
 */
function unitsOf(buf: Buffer, from: number, to: number): number {
  if (to - from <= 64) {
    let units = 0;
    for (let b = from; b < to; b += 1) units += utf16Units(buf[b]!);
    return units;
  }
  if (isAscii(buf.subarray(from, to))) return to - from;
  const mid = (from + to) >>> 1;
  return unitsOf(buf, from, mid) + unitsOf(buf, mid, to);
}

function utf16Units(byte: number): number {
  return ((byte & 0xc0) !== 0x80 ? 1 : 0) + (byte >= 0xf0 ? 1 : 0);
}
