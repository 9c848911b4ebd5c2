/**
 * Complete element bytes → records. The fast path decodes all complete elements of a chunk as one array text and
 * parses them with ONE `JSON.parse`; each record's raw text is then a slice of that decoded string. If that parse
 * fails (or finds a different number of elements), every element is parsed on its own, which either pins the
 * error on one record or accepts records with raw control bytes as flagged records.
 */
import { Buffer } from 'node:buffer';
import type { RegionDecoder } from './decode-region.ts';
import { decodeUtf8 } from './decode-text.ts';
import type { FailureSite } from './extract-errors.ts';
import { extractError } from './extract-errors.ts';
import { escapeRawControlChars, findEscapeIssues, noIssues, rawControlIssues } from './record-issues.ts';
import type { ExtractedRecord } from '../../shared/records.ts';

/** Receives records in order, with their UTF-8 size. */
export interface RecordSink {
  add(record: ExtractedRecord, bytes: number): void;
}

/** Where the elements are: for error messages. */
export interface ElementContext {
  /** Body offset of `buf[0]`. */
  readonly offsetOfBytes: number;
  /** Index of the first element: among the records, or in its (skipped) array; -1 for a lone value or key. */
  readonly firstIndex: number;
  /** What the bytes are: a selected `record`, an `element` of a skipped array, a skipped `value`, a `key`. */
  readonly noun: 'record' | 'element' | 'value' | 'key';
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

/**
 * Parses the complete elements `buf[starts[i], ends[i])`, `i < count` (trimmed, in order, separated only by commas
 * and whitespace, with the separator bytes before the first and after the last still in `buf`), giving each to
 * `sink`; without a sink they are only validated.
 */
export function parseElements(
  decoder: RegionDecoder,
  buf: Buffer,
  starts: Int32Array,
  ends: Int32Array,
  count: number,
  sink: RecordSink | undefined,
  context: ElementContext,
): void {
  const text = decoder.decode(buf, starts, ends, count);
  if (typeof text === 'number') {
    let j = 0;
    while (j < count - 1 && ends[j]! <= text) j += 1;
    throw invalidUtf8(buf, text, { ...context, firstIndex: context.firstIndex + j });
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch {
    values = undefined;
  }
  if (!Array.isArray(values) || values.length !== count) {
    for (let j = 0; j < count; j += 1) {
      const record = parseElement(
        buf,
        starts[j]!,
        ends[j]!,
        { ...context, firstIndex: context.firstIndex + j },
        true,
      );
      sink?.add(record, ends[j]! - starts[j]!);
    }
    return;
  }
  if (sink === undefined) return;
  const mayHaveIssues = text.includes('\\u');
  const unitStarts = decoder.unitStarts;
  const unitEnds = decoder.unitEnds;
  // Each record's bytes as received, for staging to send as they are (no second UTF-8 encoding): views of ONE copy
  // of the chunk's elements, as the reader reuses its buffer for the next chunk.
  const from = starts[0]!;
  const to = ends[count - 1]!;
  const region = Buffer.allocUnsafe(to - from);
  buf.copy(region, 0, from, to);
  for (let j = 0; j < count; j += 1) {
    const slice = text.slice(unitStarts[j], unitEnds[j]);
    sink.add(
      {
        text: slice,
        value: values[j],
        issues: mayHaveIssues ? findEscapeIssues(slice) : noIssues,
        bytes: region.subarray(starts[j]! - from, ends[j]! - from),
      },
      ends[j]! - starts[j]!,
    );
  }
}

/**
 * Parses one value `buf[start, end)` on its own: a record, or an element the batch parse refused. Raw control bytes
 * inside strings are accepted and flagged; anything else `JSON.parse` refuses is an `INVALID_JSON` error.
 */
export function parseElement(
  buf: Buffer,
  start: number,
  end: number,
  context: ElementContext,
  /** A record (not a key or a skipped value): keep a copy of its bytes (`ExtractedRecord.bytes`). */
  record = false,
): ExtractedRecord {
  const decoded = decodeUtf8(buf, start, end);
  if (typeof decoded === 'number') throw invalidUtf8(buf, decoded, context);
  const text = decoded.text;
  try {
    const value: unknown = JSON.parse(text);
    const issues = findEscapeIssues(text);
    // A copy: the reader reuses `buf` for the next chunk.
    return record
      ? { text, value, issues, bytes: Buffer.from(buf.subarray(start, end)) }
      : { text, value, issues };
  } catch (error) {
    const escaped = escapeRawControlChars(text);
    if (escaped !== undefined) {
      try {
        const value: unknown = JSON.parse(escaped);
        return { text, value, issues: rawControlIssues(escaped) };
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

/** Byte offset, within `text`, of the position a `JSON.parse` error names (0 when it names none). */
function errorByteOffset(text: string, error: unknown): number {
  const match = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  if (match === null) return 0;
  return Buffer.byteLength(text.slice(0, Number(match[1])));
}

function invalidUtf8(buf: Buffer, at: number, context: ElementContext): Error {
  return extractError(
    'INVALID_UTF8',
    `${describeElement(context)} is not valid UTF-8`,
    site(buf, at, context),
    indexDetails(context),
  );
}

function site(buf: Buffer, at: number, context: ElementContext): FailureSite {
  return { bytes: buf, at, offsetOfBytes: context.offsetOfBytes };
}
