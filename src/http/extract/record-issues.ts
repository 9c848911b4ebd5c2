/**
 * Per-record checks for what Postgres text/jsonb rejects although `JSON.parse` accepts it: U+0000 and lone UTF-16
 * surrogates, which JSON can only carry as `\u` escapes (raw surrogates are invalid UTF-8 and rejected earlier). Also
 * the lenient reading of raw control bytes inside strings, so that one bad record is flagged instead of failing the
 * whole response.
 */
import type { RecordIssue } from '../../shared/records.ts';
import { recordIssues } from '../../shared/records.ts';

/** Shared by every record without issues (most of them): no allocation per record. */
export const noIssues: readonly RecordIssue[] = Object.freeze([]);

const BACKSLASH = 0x5c;

/**
 * The issues of a record's JSON text, found from its `\u` escapes; `noIssues` when it has none. Exact on JSON, where
 * every backslash run lies inside a string and pairs up from its start. The text may not have been parsed yet (a
 * record of an array, `element-record.ts`): on one that is not JSON the issues may be wrong, which does not matter —
 * reading its `value` throws, and staging reads it before it rejects a record for its issues
 * (`staging/record-checks.ts`).
 */
export function findEscapeIssues(text: string): readonly RecordIssue[] {
  let at = text.indexOf('\\u');
  if (at === -1) return noIssues;
  let nul = false;
  let lone = false;
  while (at !== -1) {
    let runStart = at;
    while (runStart > 0 && text.charCodeAt(runStart - 1) === BACKSLASH) runStart -= 1;
    if (((at - runStart) & 1) === 1) {
      // `\\u…`: an escaped backslash followed by a plain `u`.
      at = text.indexOf('\\u', at + 2);
      continue;
    }
    const code = readHex4(text, at + 2);
    let next = at + 6;
    if (code === 0) {
      nul = true;
    } else if (code >= 0xd800 && code <= 0xdbff) {
      const low =
        text.charCodeAt(next) === BACKSLASH && text.charCodeAt(next + 1) === 0x75
          ? readHex4(text, next + 2)
          : -1;
      if (low >= 0xdc00 && low <= 0xdfff) next += 6;
      else lone = true;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      lone = true;
    }
    at = text.indexOf('\\u', next);
  }
  return issueList(nul, lone, false);
}

/**
 * Escapes raw control bytes (U+0000–U+001F) inside strings as `\u00XX`, so that `JSON.parse` reads what the sender
 * meant. Returns undefined when the text has none inside strings (then the text is broken in another way).
 */
export function escapeRawControlChars(text: string): string | undefined {
  let out = '';
  let copiedTo = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (!inString) {
      if (c === 0x22) inString = true;
    } else if (c === BACKSLASH) {
      i += 1;
    } else if (c === 0x22) {
      inString = false;
    } else if (c < 0x20) {
      out += text.slice(copiedTo, i) + '\\u' + c.toString(16).padStart(4, '0');
      copiedTo = i + 1;
    }
  }
  if (copiedTo === 0) return undefined;
  return out + text.slice(copiedTo);
}

/** Issues of a record that needed {@link escapeRawControlChars}: its raw control bytes plus its escapes. */
export function rawControlIssues(escapedText: string): readonly RecordIssue[] {
  const escapes = findEscapeIssues(escapedText);
  return issueList(escapes.includes('nul-char'), escapes.includes('lone-surrogate'), true);
}

function issueList(nul: boolean, lone: boolean, rawControl: boolean): readonly RecordIssue[] {
  if (!nul && !lone && !rawControl) return noIssues;
  const flags = { 'nul-char': nul, 'lone-surrogate': lone, 'raw-control-char': rawControl } as const;
  return Object.freeze(recordIssues.filter((issue) => flags[issue]));
}

function readHex4(text: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + 4; i += 1) {
    const digit = hexValue(text.charCodeAt(i));
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
