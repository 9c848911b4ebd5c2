/**
 * A record of the array fast path: its UTF-8 bytes as received, and nothing else until someone asks. Staging needs
 * only the bytes (Postgres parses them as jsonb), so decoding every record into a string and parsing it into a JS
 * value happens only for the records whose `text` or `value` is read
 * (a rejected record's payload, a child's parent fields, an incremental cursor). The bytes were checked to be UTF-8
 * when they were cut from the body; whether they are JSON is checked when `value` is read, and a record that is not
 * fails exactly as extraction fails on it: `INVALID_JSON` naming the record and its body offset, passed through the
 * extraction's `decorateFailure` (the request and page it came from, the excerpt redacted) — one function per
 * extraction, which every record refers to.
 */
import { Buffer } from 'node:buffer';
import { isIngestError, type IngestError } from '../../errors.ts';
import { decodeUtf8 } from './decode-text.ts';
import type { FailureSite } from './extract-errors.ts';
import { extractError } from './extract-errors.ts';
import { escapeRawControlChars, rawControlIssues } from './record-issues.ts';
import type { ExtractedRecord, RecordIssue } from '../../shared/records.ts';

/** Where elements are: for error messages. */
export interface ElementContext {
  /** Body offset of `buf[0]`. */
  readonly offsetOfBytes: number;
  /** Index of the first element: among the records, or in its (skipped) array; -1 for a lone value or key. */
  readonly firstIndex: number;
  /** What the bytes are: a selected `record`, an `element` of a skipped array, a skipped `value`, a `key`. */
  readonly noun: 'record' | 'element' | 'value' | 'key';
}

/** `value` not parsed yet (`undefined` cannot say it: a record is never `undefined`, but keep the two apart). */
const unparsed = Symbol('unparsed');

/** A record that decodes its text and parses its value on first access (both kept). */
export class ElementRecord implements ExtractedRecord {
  #text: string | undefined;
  #value: unknown = unparsed;
  #issues: readonly RecordIssue[];

  constructor(
    /** The record's bytes: a view of the chunk's copy, which all records of the chunk share. */
    readonly bytes: Buffer,
    /** The issues of its `\u` escapes; a raw control character is found when the record is parsed. */
    issues: readonly RecordIssue[],
    /** Body offset of its first byte, and its index among the records: where an error points. */
    private readonly offset: number,
    private readonly index: number,
    /** The extraction's `decorateFailure`, applied to what this record throws. */
    private readonly decorate: (error: IngestError) => IngestError,
    /** Its text, when it was decoded already (to look at its escapes). */
    text?: string,
  ) {
    this.#issues = issues;
    this.#text = text;
  }

  get text(): string {
    if (this.#text !== undefined) return this.#text;
    const decoded = decodeUtf8(this.bytes, 0, this.bytes.length);
    if (typeof decoded === 'number') throw this.decorate(invalidUtf8(this.bytes, decoded, this.context()));
    this.#text = decoded.text;
    return decoded.text;
  }

  /** `JSON.parse(text)`; a text with raw control characters inside strings is parsed as if they were escaped. */
  get value(): unknown {
    if (this.#value !== unparsed) return this.#value;
    const text = this.text;
    let parsed: ReturnType<typeof parseRecordText>;
    try {
      parsed = parseRecordText(text, this.bytes, 0, this.context());
    } catch (error) {
      throw isIngestError(error) ? this.decorate(error) : error;
    }
    if (parsed.issues !== undefined) this.#issues = parsed.issues;
    this.#value = parsed.value;
    return parsed.value;
  }

  /** Empty for a good record; `raw-control-char` (and what its escaped text shows) once `value` found one. */
  get issues(): readonly RecordIssue[] {
    return this.#issues;
  }

  private context(): ElementContext {
    return { offsetOfBytes: this.offset, firstIndex: this.index, noun: 'record' };
  }
}

/**
 * `JSON.parse` of one element's text `buf[start, …)`, leniently: raw control bytes inside strings are read as if
 * escaped, and then `issues` says so. Anything else `JSON.parse` refuses throws an `INVALID_JSON` IngestError.
 */
export function parseRecordText(
  text: string,
  buf: Uint8Array,
  start: number,
  context: ElementContext,
): { readonly value: unknown; readonly issues?: readonly RecordIssue[] } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    const escaped = escapeRawControlChars(text);
    if (escaped !== undefined) {
      try {
        return { value: JSON.parse(escaped) as unknown, issues: rawControlIssues(escaped) };
      } catch {
        // Broken in another way too: report the original error.
      }
    }
    const at = start + errorByteOffset(text, error);
    throw extractError(
      'INVALID_JSON',
      `${describeElement(context)} is not valid JSON: ${(error as Error).message.slice(0, 120)}`,
      site(buf, at, context),
      indexDetails(context),
    );
  }
}

export function invalidUtf8(buf: Uint8Array, at: number, context: ElementContext): IngestError {
  return extractError(
    'INVALID_UTF8',
    `${describeElement(context)} is not valid UTF-8`,
    site(buf, at, context),
    indexDetails(context),
  );
}

/** "record 3", "element 3 of a skipped array", "a skipped value", "an object key". */
function describeElement(context: ElementContext): string {
  switch (context.noun) {
    case 'record':
      return `record ${context.firstIndex}`;
    case 'element':
      return `element ${context.firstIndex} of a skipped array`;
    case 'value':
      return 'a skipped value';
    case 'key':
      return 'an object key';
  }
}

function indexDetails(context: ElementContext): Readonly<Record<string, unknown>> {
  return context.firstIndex >= 0 ? { index: context.firstIndex } : {};
}

/** Byte offset, within `text`, of the position a `JSON.parse` error names (0 when it names none). */
function errorByteOffset(text: string, error: unknown): number {
  const match = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  if (match === null) return 0;
  return Buffer.byteLength(text.slice(0, Number(match[1])));
}

function site(buf: Uint8Array, at: number, context: ElementContext): FailureSite {
  return { bytes: buf, at, offsetOfBytes: context.offsetOfBytes };
}
