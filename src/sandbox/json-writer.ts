/**
 * Writes JSON text straight into a byte buffer: pre-encoded fragments, digits, hex and integers byte by byte, with
 * no intermediate strings. This is how the benchmark resource is generated: building strings and encoding them
 * costs more CPU than everything else, and the garbage makes V8 grow its heap by tens of MB while streaming.
 * Strings that need escaping go through {@link JsonByteWriter.text} or are pre-quoted with {@link quotedBytes}.
 */
import type { Random } from './random.ts';

const hexCodes = Buffer.from('0123456789abcdef');
const base36Codes = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

/** A fixed piece of JSON, encoded once. */
export function fragment(text: string): Buffer {
  return Buffer.from(text);
}

/** Each string as a quoted, escaped JSON string in UTF-8, encoded once. */
export function quotedBytes(values: readonly string[]): readonly Buffer[] {
  return values.map((value) => Buffer.from(JSON.stringify(value)));
}

/** A growable window on a byte buffer; `position` is where the next byte goes. */
export class JsonByteWriter {
  buffer: Buffer;
  position = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  /** Makes room for `bytes` more bytes (a larger copy when needed; the chunker keeps this rare). */
  reserve(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return;
    const larger = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.position + bytes));
    this.buffer.copy(larger, 0, 0, this.position);
    this.buffer = larger;
  }

  /** Pre-encoded bytes (a fragment or a quoted string). */
  bytes(source: Uint8Array): void {
    this.reserve(source.length);
    const { buffer } = this;
    let at = this.position;
    // A native copy wins past a few dozen bytes; below that the call costs more than the loop.
    if (source.length > 24) {
      buffer.set(source, at);
      this.position = at + source.length;
      return;
    }
    for (let i = 0; i < source.length; i += 1) buffer[at++] = source[i] as number;
    this.position = at;
  }

  /** Any text, UTF-8-encoded (it must already be valid JSON where it lands). */
  text(text: string): void {
    this.reserve(text.length * 3);
    this.position += this.buffer.write(text, this.position);
  }

  /** One ASCII character by code. */
  byte(code: number): void {
    this.reserve(1);
    this.buffer[this.position++] = code;
  }

  /** `count` random decimal digits (9 per PRNG call). */
  digits(random: Random, count: number): void {
    this.reserve(count);
    const { buffer } = this;
    let at = this.position;
    for (let left = count; left > 0;) {
      const take = left > 9 ? 9 : left;
      // < 10^9 < 2^31: small-integer arithmetic (`| 0` is Math.floor here), the same digits, faster.
      let value = (random() * 10 ** take) | 0;
      for (let i = take - 1; i >= 0; i -= 1) {
        buffer[at + i] = 48 + (value % 10);
        value = (value / 10) | 0;
      }
      at += take;
      left -= take;
    }
    this.position = at;
  }

  /** `count` random lowercase hex digits (8 per PRNG call). */
  hexDigits(random: Random, count: number): void {
    this.reserve(count);
    const { buffer } = this;
    let at = this.position;
    for (let left = count; left > 0;) {
      const take = left > 8 ? 8 : left;
      // < 16^8 = 2^32: `>>> 0` is Math.floor here, and nibbles come off with shifts — the same digits, faster.
      let value = (random() * 16 ** take) >>> 0;
      for (let i = take - 1; i >= 0; i -= 1) {
        buffer[at + i] = hexCodes[value & 15] as number;
        value >>>= 4;
      }
      at += take;
      left -= take;
    }
    this.position = at;
  }

  /** A non-negative safe integer in base 10 (others go through `text`). */
  integer(value: number): void {
    this.radix(value, 10, base36Codes);
  }

  /** A non-negative safe integer in base 36 (lowercase). */
  base36(value: number): void {
    this.radix(value, 36, base36Codes);
  }

  /** Two decimal digits, zero-padded (0–99). */
  twoDigits(value: number): void {
    this.reserve(2);
    this.buffer[this.position++] = 48 + Math.floor(value / 10);
    this.buffer[this.position++] = 48 + (value % 10);
  }

  /** Copies bytes already written (`start` to `end`) to the end: repeats an id inside a record. */
  repeat(start: number, end: number): void {
    this.reserve(end - start);
    this.buffer.copyWithin(this.position, start, end);
    this.position += end - start;
  }

  private radix(value: number, base: number, codes: Buffer): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      this.text(value.toString(base));
      return;
    }
    let length = 1;
    for (let rest = Math.floor(value / base); rest > 0; rest = Math.floor(rest / base)) length += 1;
    this.reserve(length);
    let at = this.position + length;
    this.position = at;
    let rest = value;
    do {
      this.buffer[--at] = codes[rest % base] as number;
      rest = Math.floor(rest / base);
    } while (rest > 0);
  }
}
