/**
 * What staging needs to know of a record, read from its UTF-8 bytes without decoding or parsing it: whether it is an
 * object, where the value of each primary key field is (the last occurrence of a name wins, as in jsonb and
 * `JSON.parse`), its top-level field names (schema drift counts them) and how deep it nests. One pass of a JS loop
 * over the bytes, allocating nothing per byte — nor per field: records of a batch mostly share their field names in
 * the same order, so each name's bytes are compared with the name the previous record had at that position, and
 * only a different name is decoded.
 *
 * Exact on valid JSON; on bytes that are not, it returns a verdict (never throws, loops or recurses), and staging
 * settles what they are (`staging/record-checks.ts`). Key texts follow `tables/key-text.ts`: exactly what the
 * merge's `value ->> field` reads.
 */
import type { Buffer } from 'node:buffer';
import { numericText } from './key-text.ts';

/** What {@link TopLevelScanner.scan} found. */
export const objectRecord = 0;
export const notAnObject = 1;
/** Not JSON (or raw control bytes inside a string): only a parse can tell what is wrong. */
export const malformedRecord = 2;
export type ScanVerdict = typeof objectRecord | typeof notAnObject | typeof malformedRecord;

/** Why a key field has no key text. */
export const missingKey = 0;
export const notAScalarKey = 1;
export const tooLongKey = 2;
export const malformedKey = 3;
export type KeyProblem = typeof missingKey | typeof notAScalarKey | typeof tooLongKey | typeof malformedKey;

/**
 * The top-level field names of records, in order as they occur (duplicates included), shared by every record that
 * has them: what a record's field names are, without a string per field per record.
 */
export class FieldLayout {
  /** The distinct names, for counting (a duplicated name counts once per record). */
  readonly distinct: readonly string[];

  constructor(
    readonly names: readonly string[],
    /** Each name as its bytes appear in the record (escapes and all). */
    readonly spelled: readonly Uint8Array[],
    /** For each position, the index of the key field it names, or -1. */
    readonly keyField: Int32Array,
  ) {
    this.distinct = [...new Set(names)];
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const noFields = new FieldLayout([], [], new Int32Array(0));

/** Scans the records of a batch one after another (not reentrant: the results are those of the last scan). */
export class TopLevelScanner {
  /** The field names of the last object scanned. */
  layout: FieldLayout = noFields;
  /** Deepest nesting of the last object scanned (the object itself is level 1). */
  depth = 0;
  /** Where each key field's value is in the last object scanned (`valueStarts[f]` is -1 when it is absent). */
  private readonly valueStarts: Int32Array;
  private readonly valueEnds: Int32Array;
  /** Layouts met in this batch, by their names, so that records alternating between shapes share them. */
  private readonly layouts = new Map<string, FieldLayout>();
  /** Names of the object being scanned, once it differs from `layout`. */
  private names: string[] = [];
  private spelled: Uint8Array[] = [];
  /** Depth of the value {@link valueEnd} last walked. */
  private nested = 0;

  constructor(private readonly fields: readonly string[]) {
    this.valueStarts = new Int32Array(fields.length);
    this.valueEnds = new Int32Array(fields.length);
  }

  /** Scans one complete record `bytes` (a JSON value, perhaps surrounded by whitespace). */
  scan(bytes: Buffer): ScanVerdict {
    const n = bytes.length;
    this.valueStarts.fill(-1);
    this.depth = 0;
    let i = skipSpace(bytes, 0);
    if (i >= n) return malformedRecord;
    if (bytes[i] !== OPEN_BRACE) return notAnObject;
    let depth = 1;
    const previous = this.layout;
    let same = true;
    let position = 0;
    i = skipSpace(bytes, i + 1);
    if (bytes[i] === CLOSE_BRACE) {
      i += 1;
    } else {
      for (;;) {
        if (bytes[i] !== QUOTE) return malformedRecord;
        const keyStart = i + 1;
        const keyEnd = stringEnd(bytes, keyStart);
        if (keyEnd < 0) return malformedRecord;
        let field: number;
        if (
          same &&
          position < previous.names.length &&
          spelledAs(previous.spelled[position]!, bytes, keyStart, keyEnd)
        ) {
          field = previous.keyField[position]!;
        } else {
          if (same) {
            same = false;
            this.names = previous.names.slice(0, position);
            this.spelled = previous.spelled.slice(0, position);
          }
          const name = stringText(bytes, keyStart, keyEnd);
          if (name === undefined) return malformedRecord;
          this.names.push(name);
          // A copy, not a view: the layout outlives this record.
          this.spelled.push(new Uint8Array(bytes.subarray(keyStart, keyEnd)));
          field = this.fields.indexOf(name);
        }
        position += 1;
        i = skipSpace(bytes, keyEnd + 1);
        if (bytes[i] !== COLON) return malformedRecord;
        const valueStart = skipSpace(bytes, i + 1);
        const end = this.valueEnd(bytes, valueStart);
        if (end < 0) return malformedRecord;
        if (1 + this.nested > depth) depth = 1 + this.nested;
        if (field !== -1) {
          this.valueStarts[field] = valueStart;
          this.valueEnds[field] = end;
        }
        i = skipSpace(bytes, end);
        const c = bytes[i];
        if (c === COMMA) {
          i = skipSpace(bytes, i + 1);
          continue;
        }
        if (c === CLOSE_BRACE) {
          i += 1;
          break;
        }
        return malformedRecord;
      }
    }
    if (skipSpace(bytes, i) !== n) return malformedRecord;
    if (!same || position !== previous.names.length) this.layout = this.layoutOf(same, position);
    this.depth = depth;
    return objectRecord;
  }

  /** The text of key field `field` of the last object scanned, or why it has none. */
  keyText(bytes: Buffer, field: number): string | KeyProblem {
    const start = this.valueStarts[field]!;
    if (start === -1) return missingKey;
    const end = this.valueEnds[field]!;
    switch (bytes[start]) {
      case QUOTE:
        return stringText(bytes, start + 1, end - 1) ?? malformedKey;
      case OPEN_BRACE:
      case OPEN_BRACKET:
        return notAScalarKey;
      case 0x6e: // null
        return missingKey;
      case 0x74: // true
        return 'true';
      case 0x66: // false
        return 'false';
      default:
        return numericText(latin1(bytes, start, end)) ?? tooLongKey;
    }
  }

  /**
   * The end of the value starting at `at`, and its depth in `nested` (0 for a scalar or string, 1 for a flat
   * container); -1 when the bytes end first or no value starts there.
   */
  private valueEnd(bytes: Buffer, at: number): number {
    this.nested = 0;
    const n = bytes.length;
    if (at >= n) return -1;
    const first = bytes[at]!;
    if (first === QUOTE) {
      const end = stringEnd(bytes, at + 1);
      return end < 0 ? -1 : end + 1;
    }
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      let i = at;
      while (i < n && !endsScalar(bytes[i]!)) i += 1;
      return i === at ? -1 : i;
    }
    let level = 1;
    let deepest = 1;
    let i = at + 1;
    while (i < n) {
      const c = bytes[i]!;
      if (c === QUOTE) {
        const end = stringEnd(bytes, i + 1);
        if (end < 0) return -1;
        i = end + 1;
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        level += 1;
        if (level > deepest) deepest = level;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        level -= 1;
        if (level === 0) {
          this.nested = deepest;
          return i + 1;
        }
      }
      i += 1;
    }
    return -1;
  }

  /** The layout of the object just scanned: the previous one cut short, or the names collected. */
  private layoutOf(same: boolean, count: number): FieldLayout {
    const names = same ? this.layout.names.slice(0, count) : this.names;
    const spelled = same ? this.layout.spelled.slice(0, count) : this.spelled;
    const id = JSON.stringify(names);
    const known = this.layouts.get(id);
    if (known !== undefined) return known;
    const layout = new FieldLayout(
      names,
      spelled,
      Int32Array.from(names, (name) => this.fields.indexOf(name)),
    );
    this.layouts.set(id, layout);
    return layout;
  }
}

/**
 * The index of the closing quote of the string whose contents start at `from`; -1 when the bytes end first or hold
 * a raw control byte (strict JSON forbids them: the record is not JSON as sent).
 */
function stringEnd(bytes: Buffer, from: number): number {
  const n = bytes.length;
  let i = from;
  while (i < n) {
    const c = bytes[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i += 2;
    else if (c < 0x20) return -1;
    else i += 1;
  }
  return -1;
}

/** The string whose contents are `bytes[from, to)`; undefined when its escapes are not JSON. */
function stringText(bytes: Buffer, from: number, to: number): string | undefined {
  let ascii = true;
  for (let i = from; i < to; i += 1) {
    const c = bytes[i]!;
    if (c === BACKSLASH) {
      try {
        return JSON.parse(utf8(bytes, from - 1, to + 1)) as string;
      } catch {
        return undefined;
      }
    }
    if (c >= 0x80) ascii = false;
  }
  return ascii ? latin1(bytes, from, to) : utf8(bytes, from, to);
}

/** Whether `spelled` is `bytes[from, to)`. */
function spelledAs(spelled: Uint8Array, bytes: Buffer, from: number, to: number): boolean {
  if (spelled.length !== to - from) return false;
  for (let k = 0; k < spelled.length; k += 1) if (spelled[k] !== bytes[from + k]) return false;
  return true;
}

function skipSpace(bytes: Buffer, at: number): number {
  let i = at;
  const n = bytes.length;
  while (i < n) {
    const c = bytes[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i += 1;
  }
  return i;
}

/** A byte that ends a number or literal: whitespace or structure. */
function endsScalar(c: number): boolean {
  return (
    c === COMMA ||
    c === CLOSE_BRACE ||
    c === CLOSE_BRACKET ||
    c === 0x20 ||
    c === 0x0a ||
    c === 0x0d ||
    c === 0x09 ||
    c === COLON ||
    c === QUOTE ||
    c === OPEN_BRACE ||
    c === OPEN_BRACKET
  );
}

function latin1(bytes: Buffer, from: number, to: number): string {
  return bytes.toString('latin1', from, to);
}

function utf8(bytes: Buffer, from: number, to: number): string {
  return bytes.toString('utf8', from, to);
}
