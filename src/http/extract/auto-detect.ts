/**
 * dlt's auto-detection of the records in a response when `data_selector` is omitted (`find_response_page_data` in
 * dlt's rest_client detector): a non-object body is selected whole; in an object, dlt collects the lists found
 * depth-first in key order, descending through objects up to two keys deep (so lists up to three keys deep), and
 * takes the first list whose key is one of the record keys below, else the first list, else the whole object.
 * Because depth-first key order is document order, the first list under a record key can be streamed the moment it
 * is met; anything else needs the object buffered until its end (bounded by `maxRecordBytes`).
 */

/** dlt's `RECORD_KEY_PATTERNS` (exact, case-sensitive key names). */
export const recordKeys: ReadonlySet<string> = new Set([
  'data',
  'items',
  'results',
  'entries',
  'records',
  'rows',
  'entities',
  'payload',
  'content',
  'objects',
  'values',
]);

/** dlt looks into objects whose key path is at most this long (the root has an empty path). */
export const maxSearchedObjectPath = 2;

/** True when a list at `key` wins auto-detection as soon as it is met. */
export function isRecordKey(key: string): boolean {
  return recordKeys.has(key);
}
