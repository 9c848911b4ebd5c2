/**
 * Complete element bytes → records. Selected records take the lean path: the chunk's complete elements are checked
 * to be UTF-8 at once (native), copied once, and each record is a view of that copy (`element-record.ts`), neither
 * decoded nor parsed — except the few that hold a `\u` escape, decoded to look for what Postgres would refuse.
 * Whether a record is JSON is settled later, by whoever needs its value, or by Postgres as it stages the bytes as
 * jsonb (docs/extraction.md). Elements of a skipped array are only validated: decoded together as one array text
 * and parsed with ONE `JSON.parse`; if that fails, each is parsed on its own, which pins the error on one.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import type { IngestError } from '../../errors.ts';
import { decodeRegion } from './decode-region.ts';
import { decodeUtf8, firstInvalidUtf8 } from './decode-text.ts';
import type { ElementContext } from './element-record.ts';
import { ElementRecord, invalidUtf8, parseRecordText } from './element-record.ts';
import { findEscapeIssues, noIssues } from './record-issues.ts';
import type { ExtractedRecord } from '../../shared/records.ts';

export type { ElementContext } from './element-record.ts';

/** Receives records in order, with their UTF-8 size. */
export interface RecordSink {
  add(record: ExtractedRecord, bytes: number): void;
}

/**
 * Gives the complete elements `buf[starts[i], ends[i])`, `i < count` (trimmed, in order, separated only by commas
 * and whitespace), to `sink` as records. What a record throws later goes through `decorate` (the extraction's
 * `decorateFailure`).
 */
export function addRecords(
  buf: Buffer,
  starts: Int32Array,
  ends: Int32Array,
  count: number,
  sink: RecordSink,
  context: ElementContext,
  decorate: (error: IngestError) => IngestError,
): void {
  const from = starts[0]!;
  const to = ends[count - 1]!;
  if (!isUtf8(buf.subarray(from, to))) {
    const at = from + firstInvalidUtf8(buf.subarray(from, to));
    let j = 0;
    while (j < count - 1 && ends[j]! <= at) j += 1;
    throw invalidUtf8(buf, at, { ...context, firstIndex: context.firstIndex + j });
  }
  // ONE copy of the chunk's elements (the reader reuses its buffer for the next chunk); each record is a view.
  const region = Buffer.allocUnsafe(to - from);
  buf.copy(region, 0, from, to);
  // `\u` occurs only inside strings, so each hit is inside one element: only those elements are decoded.
  let escape = region.indexOf('\\u');
  for (let j = 0; j < count; j += 1) {
    const start = starts[j]! - from;
    const end = ends[j]! - from;
    let text: string | undefined;
    let issues = noIssues;
    if (escape !== -1 && escape < end) {
      text = region.toString('utf8', start, end);
      issues = findEscapeIssues(text);
      escape = region.indexOf('\\u', end);
    }
    sink.add(
      new ElementRecord(
        region.subarray(start, end),
        issues,
        context.offsetOfBytes + from + start,
        context.firstIndex + j,
        decorate,
        text,
      ),
      end - start,
    );
  }
}

/**
 * Validates the complete elements of a skipped array (spans as for {@link addRecords}, with the separator bytes
 * before the first and after the last still in `buf`): one `JSON.parse` for all, or one each to pin an error.
 */
export function validateElements(
  buf: Buffer,
  starts: Int32Array,
  ends: Int32Array,
  count: number,
  context: ElementContext,
): void {
  const text = decodeRegion(buf, starts, ends, count);
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
  if (Array.isArray(values) && values.length === count) return;
  for (let j = 0; j < count; j += 1) {
    parseElement(buf, starts[j]!, ends[j]!, { ...context, firstIndex: context.firstIndex + j });
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
  const { value, issues } = parseRecordText(text, buf, start, context);
  const flags = issues ?? findEscapeIssues(text);
  // A copy: the reader reuses `buf` for the next chunk.
  return record
    ? { text, value, issues: flags, bytes: Buffer.from(buf.subarray(start, end)) }
    : { text, value, issues: flags };
}
