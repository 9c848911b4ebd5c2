/**
 * The response-level failures of record extraction, as `IngestError`s of category `response-shape` with a stable
 * code, the body offset where it went wrong and a short excerpt of the bytes there — never the whole body.
 */
import { IngestError } from '../../errors.ts';

export const extractErrorCodes = [
  /** The body does not start like JSON (an HTML error page with status 200, plain text, …). */
  'BODY_NOT_JSON',
  /** JSON syntax error inside the document (or a record that `JSON.parse` refuses). */
  'INVALID_JSON',
  /** The body ended inside the document. */
  'TRUNCATED_BODY',
  /** Something other than whitespace follows the JSON document. */
  'TRAILING_GARBAGE',
  /** The bytes are not UTF-8. */
  'INVALID_UTF8',
  /** Arrays and objects nest deeper than `maxDepth`. */
  'NESTING_TOO_DEEP',
  /** A record is larger than `maxRecordBytes`. */
  'RECORD_TOO_LARGE',
  /** A value outside the records, skipped or buffered whole, is larger than `maxRecordBytes`. */
  'VALUE_TOO_LARGE',
  /** Auto-detection would have to buffer more than `maxRecordBytes` before it can decide: set `data_selector`. */
  'AUTO_DETECT_TOO_LARGE',
  /** The `data_selector` path is not in the body. */
  'SELECTOR_NOT_FOUND',
  /** The selected key occurs twice in the same object. */
  'AMBIGUOUS_SELECTION',
] as const;
export type ExtractErrorCode = (typeof extractErrorCodes)[number];

/** Where in the body a failure is: the bytes at hand and the body offset of their first byte. */
export interface FailureSite {
  readonly bytes: Uint8Array;
  readonly at: number;
  readonly offsetOfBytes: number;
}

const excerptBefore = 60;
const excerptAfter = 100;
const excerptMaxChars = 200;

/** A response-shape error; with a site, the message ends with the body offset and an excerpt of the bytes there. */
export function extractError(
  code: ExtractErrorCode,
  message: string,
  site?: FailureSite,
  details: Readonly<Record<string, unknown>> = {},
): IngestError {
  if (site === undefined) return new IngestError('response-shape', code, message, { details });
  const offset = site.offsetOfBytes + site.at;
  const excerpt = excerptAround(site.bytes, site.at);
  return new IngestError('response-shape', code, `${message} (at body byte ${offset}, near ${excerpt})`, {
    details: { ...details, offset, excerpt },
  });
}

/**
 * At most 200 characters of the bytes around `at`, decoded leniently and quoted like a JSON string so that
 * control bytes and NULs are visible; `⟨here⟩` marks the spot.
 */
export function excerptAround(bytes: Uint8Array, at: number): string {
  const clamped = Math.max(0, Math.min(at, bytes.length));
  const start = Math.max(0, clamped - excerptBefore);
  const end = Math.min(bytes.length, clamped + excerptAfter);
  const before = Buffer.from(bytes.buffer, bytes.byteOffset + start, clamped - start).toString('utf8');
  const after = Buffer.from(bytes.buffer, bytes.byteOffset + clamped, end - clamped).toString('utf8');
  let quoted = `${JSON.stringify(before).slice(0, -1)}⟨here⟩${JSON.stringify(after).slice(1)}`;
  if (start > 0) quoted = `…${quoted}`;
  if (end < bytes.length) quoted = `${quoted}…`;
  return quoted.length <= excerptMaxChars ? quoted : `${quoted.slice(0, excerptMaxChars - 1)}…`;
}
