/**
 * The checks a record passes before it is staged, in Node, and the rejection when it fails one: an issue (U+0000 or
 * a lone surrogate escape, flagged by the extractor; a raw control character inside a string, found when the record
 * is parsed), not an object, a primary key missing, null or not a scalar, nesting deeper than Postgres can take
 * (`tables/json-depth.ts`), a number key too long to key on exactly (`tables/key-text.ts`). They read the record's
 * bytes (`tables/record-top-level.ts`), never its parsed value: a record that passes gets its key text — exactly
 * what the merge's `value ->> field` reads — and its field names. Rejections go to `ingest.rejected_records` with the
 * payload as sent.
 *
 * Whether a record is JSON at all is settled by Postgres as it stages the record (`stage-records.ts`), or here, by
 * `JSON.parse`, for the few that are rejected, refused or that the scanner finds malformed: a record that is not
 * JSON must fail the load as the body's error, never turn into a rejection — so reading `value` of such a record
 * throws that error, and it is let through.
 */
import type { Buffer } from 'node:buffer';
import { IngestError } from '../../errors.ts';
import type { ExtractedRecord, RecordIssue } from '../../shared/records.ts';
import { maxRecordDepth } from '../tables/json-depth.ts';
import { maxNumericKeyDigits } from '../tables/key-text.ts';
import {
  malformedKey,
  malformedRecord,
  missingKey,
  notAScalarKey,
  notAnObject,
  tooLongKey,
  type FieldLayout,
  type TopLevelScanner,
} from '../tables/record-top-level.ts';
import type { ResourceTable } from '../tables/resource-tables.ts';

/** A record that will not be staged, and why. `ordinal` is its 0-based position in the batch. */
export interface RecordRejection {
  readonly ordinal: number;
  /**
   * Stable code: an extractor issue (`nul-char`, `lone-surrogate`, `raw-control-char`), `missing-primary-key`,
   * `invalid-primary-key`, `not-an-object`, `too-deep` or `invalid-json`.
   */
  readonly code: string;
  readonly reason: string;
  readonly recordKey: string | null;
  readonly payload: string;
}

/** A record that will not be staged. */
type Rejected = { readonly ok: false; readonly rejection: RecordRejection };

/** A record's checks: its key text and field names when it can be staged, or its rejection. */
export type CheckedRecord =
  { readonly ok: true; readonly key: readonly string[]; readonly layout: FieldLayout } | Rejected;

/**
 * Why a record cannot be staged, or its key text and field names when it can. `bytes` are the record's UTF-8 bytes,
 * `scanner` reads them (for the target's key fields, in order). Throws the extraction's error for a record that is
 * not JSON and would be rejected.
 */
export function checkRecord(
  record: ExtractedRecord,
  bytes: Buffer,
  ordinal: number,
  target: ResourceTable,
  scanner: TopLevelScanner,
): CheckedRecord {
  const [issue] = record.issues;
  if (issue !== undefined) return reject(record, ordinal, target, issue, issueReasons[issue]);
  const verdict = scanner.scan(bytes);
  if (verdict === malformedRecord) return notJson(record, ordinal, target);
  if (verdict === notAnObject) {
    // The scanner stops at its first byte: parsing it finds a raw control character in it, then the reason given.
    return classify(record, ordinal, target, 'not-an-object', 'the record is not a JSON object');
  }
  const fields = target.primaryKey;
  // Called for every record: only the key array is made on the way of a good record.
  const key: string[] = [];
  let tooLong = -1;
  for (let f = 0; f < fields.length; f++) {
    const text = scanner.keyText(bytes, f);
    if (typeof text === 'string') {
      key.push(text);
    } else if (text === tooLongKey) {
      // Rejected below, once the depth (the graver reason) is known.
      if (tooLong === -1) tooLong = f;
      key.push('');
    } else if (text === malformedKey) {
      return notJson(record, ordinal, target);
    } else {
      // The other problems: a new KeyProblem does not compile here until rejectKey handles it.
      return rejectKey(record, ordinal, target, fields[f]!.field, text);
    }
  }
  if (scanner.depth > maxRecordDepth) {
    return reject(
      record,
      ordinal,
      target,
      'too-deep',
      `the record nests arrays and objects deeper than ${maxRecordDepth} levels, which Postgres jsonb may refuse`,
    );
  }
  if (tooLong !== -1) {
    return reject(
      record,
      ordinal,
      target,
      'invalid-primary-key',
      `primary key field "${fields[tooLong]!.field}" is a number that cannot be keyed exactly (more than ${maxNumericKeyDigits} digits)`,
    );
  }
  return { ok: true, key, layout: scanner.layout };
}

/**
 * The rejection of a record read as a whole — one Postgres refused as jsonb (`invalid-json`: a number beyond
 * numeric's range, say), one that is not an object (`not-an-object`) — with `code` and `reason`, unless parsing it
 * finds an issue, which is then the reason given (raw control characters inside strings). A record that is not JSON
 * at all throws the extraction's error, as reading its `value` does.
 */
export function classify(
  record: ExtractedRecord,
  ordinal: number,
  target: ResourceTable,
  code: string,
  reason: string,
): Rejected {
  const value = record.value;
  const [issue] = record.issues;
  return issue === undefined
    ? rejection(record, value, ordinal, target, code, reason)
    : rejection(record, value, ordinal, target, issue, issueReasons[issue]);
}

/**
 * A record whose bytes the scanner found not to be JSON: parsed, it is JSON with raw control characters inside
 * strings (rejected with that issue), or not JSON at all (reading `value` throws the extraction's error). One that
 * parses without an issue means the scanner is wrong, not the record: that fails the load instead of rejecting a
 * good record, and retrying would not help.
 */
function notJson(record: ExtractedRecord, ordinal: number, target: ResourceTable): Rejected {
  const value = record.value;
  const [issue] = record.issues;
  if (issue !== undefined) return rejection(record, value, ordinal, target, issue, issueReasons[issue]);
  throw new IngestError(
    'internal',
    'RECORD_SCAN_MISMATCH',
    `record ${ordinal} of a ${target.source}.${target.resource} batch is JSON, but the byte scanner found it malformed (tables/record-top-level.ts)`,
    { retryable: false, details: { source: target.source, resource: target.resource, ordinal } },
  );
}

const issueReasons: Readonly<Record<RecordIssue, string>> = {
  'nul-char': 'a string holds U+0000, which Postgres text and jsonb cannot store',
  'lone-surrogate': 'a string holds a lone UTF-16 surrogate escape, which Postgres jsonb refuses',
  'raw-control-char': 'a string holds a raw control character, which strict JSON forbids',
};

/** The rejection of a record whose key field `field` is missing (or null) or not a scalar. */
function rejectKey(
  record: ExtractedRecord,
  ordinal: number,
  target: ResourceTable,
  field: string,
  problem: typeof missingKey | typeof notAScalarKey,
): Rejected {
  switch (problem) {
    case missingKey:
      return reject(
        record,
        ordinal,
        target,
        'missing-primary-key',
        `primary key field "${field}" is missing or null`,
      );
    case notAScalarKey:
      return reject(
        record,
        ordinal,
        target,
        'invalid-primary-key',
        `primary key field "${field}" is not a scalar`,
      );
  }
}

/** Rejects a record once `JSON.parse` has accepted it (reading `value` throws for a record that is not JSON). */
function reject(
  record: ExtractedRecord,
  ordinal: number,
  target: ResourceTable,
  code: string,
  reason: string,
): Rejected {
  return rejection(record, record.value, ordinal, target, code, reason);
}

function rejection(
  record: ExtractedRecord,
  value: unknown,
  ordinal: number,
  target: ResourceTable,
  code: string,
  reason: string,
): Rejected {
  return {
    ok: false,
    rejection: {
      ordinal,
      code,
      reason,
      recordKey: keyText(value, target),
      payload: storablePayload(record.text),
    },
  };
}

/** A rejected record's key as JSON (for operators): its key fields' values, or null when it has none. */
function keyText(value: unknown, target: ResourceTable): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const parts = target.primaryKey.map(({ field }) => (value as Record<string, unknown>)[field]);
  if (parts.every((p) => p === undefined || p === null)) return null;
  return storablePayload(JSON.stringify(parts.length === 1 ? parts[0] : parts) ?? 'null');
}

/** Postgres text cannot hold U+0000: a raw NUL (only in an invalid record) is written as its JSON escape. */
function storablePayload(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}
