/**
 * The checks a record passes before it is staged, in Node, and the rejection when it fails one: an issue the
 * extractor flagged (U+0000, a lone surrogate, a raw control character), not an object, a primary key missing,
 * null or not a scalar, nesting deeper than Postgres can take (`tables/json-depth.ts`), a number key too long to key
 * on exactly (`tables/key-text.ts`). A record that passes gets its key text — exactly what the merge's
 * `value ->> field` reads. Rejections go to `ingest.rejected_records` with the payload as sent.
 */
import type { ExtractedRecord } from '../../shared/records.ts';
import { longEnoughToNest, maxRecordDepth, nestsDeeperThan } from '../tables/json-depth.ts';
import { primaryKeyTexts } from '../tables/key-text.ts';
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

/** Why a record cannot be staged, or its key text when it can. */
export function checkRecord(
  record: ExtractedRecord,
  ordinal: number,
  target: ResourceTable,
  fields: readonly string[],
):
  | { readonly ok: true; readonly key: readonly string[] }
  | { readonly ok: false; readonly rejection: RecordRejection } {
  // Called for every record: no closure or array is made on the way of a good record with string keys.
  const [issue] = record.issues;
  if (issue !== undefined) return reject(record, ordinal, target, issue, issueReasons[issue] ?? issue);
  const value = record.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return reject(record, ordinal, target, 'not-an-object', 'the record is not a JSON object');
  }
  let allStrings = true;
  for (const field of fields) {
    const key = (value as Record<string, unknown>)[field];
    if (key === undefined || key === null) {
      return reject(
        record,
        ordinal,
        target,
        'missing-primary-key',
        `primary key field "${field}" is missing or null`,
      );
    }
    if (typeof key !== 'string') {
      allStrings = false;
      if (typeof key !== 'number' && typeof key !== 'boolean') {
        return reject(
          record,
          ordinal,
          target,
          'invalid-primary-key',
          `primary key field "${field}" is not a scalar`,
        );
      }
    }
  }
  // A record whose bytes are too few to nest that deep is not even decoded.
  if (
    (record.bytes === undefined || longEnoughToNest(record.bytes.length, maxRecordDepth)) &&
    nestsDeeperThan(record.text, maxRecordDepth)
  ) {
    return reject(
      record,
      ordinal,
      target,
      'too-deep',
      `the record nests arrays and objects deeper than ${maxRecordDepth} levels, which Postgres jsonb may refuse`,
    );
  }
  // A string key is its own text; numbers (and booleans) are read from the raw text (`tables/key-text.ts`).
  if (allStrings && fields.length === 1) {
    return { ok: true, key: [(value as Record<string, string>)[fields[0] as string] as string] };
  }
  const texts = primaryKeyTexts(value as Record<string, unknown>, record.text, fields);
  const key: string[] = [];
  for (const text of texts) {
    if (!text.ok) return reject(record, ordinal, target, text.code, text.reason);
    key.push(text.text);
  }
  return { ok: true, key };
}

const issueReasons: Readonly<Record<string, string>> = {
  'nul-char': 'a string holds U+0000, which Postgres text and jsonb cannot store',
  'lone-surrogate': 'a string holds a lone UTF-16 surrogate escape, which Postgres jsonb refuses',
  'raw-control-char': 'a string holds a raw control character, which strict JSON forbids',
};

function reject(
  record: ExtractedRecord,
  ordinal: number,
  target: ResourceTable,
  code: string,
  reason: string,
): { readonly ok: false; readonly rejection: RecordRejection } {
  return {
    ok: false,
    rejection: {
      ordinal,
      code,
      reason,
      recordKey: keyText(record.value, target),
      payload: storablePayload(record.text),
    },
  };
}

export function keyText(value: unknown, target: ResourceTable): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const parts = target.primaryKey.map(({ field }) => (value as Record<string, unknown>)[field]);
  if (parts.every((p) => p === undefined || p === null)) return null;
  return storablePayload(JSON.stringify(parts.length === 1 ? parts[0] : parts) ?? 'null');
}

/** Postgres text cannot hold U+0000: a raw NUL (only in an invalid record) is written as its JSON escape. */
export function storablePayload(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}
