/**
 * Records as they travel from HTTP to Postgres: the extractor (http) produces them, staging (db) consumes them.
 * Deliberately free of imports, so that neither layer has to know the other.
 */

/**
 * Problems of one record that Postgres text/jsonb would reject. They are flags, not errors: the loader rejects that
 * record with the reason and still loads the good records of the same response.
 * - `nul-char`: a string (key or value) holds U+0000, as the escape `\u0000` or as a raw NUL byte.
 * - `lone-surrogate`: a `\uD800`–`\uDFFF` escape that is not half of a surrogate pair.
 * - `raw-control-char`: a raw control byte (U+0000–U+001F) inside a string, which strict JSON forbids; `value` is
 *   parsed as if it had been escaped, `text` is left exactly as sent.
 */
export const recordIssues = ['nul-char', 'lone-surrogate', 'raw-control-char'] as const;
export type RecordIssue = (typeof recordIssues)[number];

/**
 * One record of a response. `text` and `value` may be computed on first access (the records of an array are kept as
 * bytes until then): reading `value` of a record that is not JSON throws the `INVALID_JSON` error its extraction
 * would throw (naming the request and page it came from), and a record with raw control characters inside strings
 * gets its `raw-control-char` issue when `value` is read.
 */
export interface ExtractedRecord {
  /** The exact JSON text of the record as sent (surrounding whitespace excluded): lossless for big numbers. */
  readonly text: string;
  /** `JSON.parse(text)` (numbers beyond 2^53 or with long decimals are rounded here, never in `text`). */
  readonly value: unknown;
  /**
   * The text's UTF-8 bytes as received, when the extractor has them at hand (a view: do not modify it). Staging
   * sends these instead of encoding `text` again; when present they must be exactly `text`'s UTF-8 encoding.
   */
  readonly bytes?: Uint8Array;
  /** Empty for a good record; see {@link RecordIssue}. */
  readonly issues: readonly RecordIssue[];
}

/** Records in body order; `bytes` is the UTF-8 size of their texts. */
export interface RecordBatch {
  readonly records: readonly ExtractedRecord[];
  readonly bytes: number;
}
