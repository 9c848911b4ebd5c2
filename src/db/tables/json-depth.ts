/**
 * How deep a record may nest before the loader rejects it (`too-deep`) instead of letting Postgres try. Postgres has
 * no fixed jsonb depth limit: its parser stops at `max_stack_depth` (with the default 2 MB, PostgreSQL 17 parses 12 000
 * levels and fails on 20 000 with 54001 "stack depth limit exceeded"). That error is not a soft input
 * error, so staging's jsonb check cannot sort it out record by record; the loader therefore refuses deeper records
 * before they reach Postgres.
 */
import { stringEnd } from './key-text.ts';

/** Deepest nesting of arrays and objects in one record that the loader stages. */
export const maxRecordDepth = 10_000;

/**
 * The extractor's `maxDepth` for a resource's responses: well beyond {@link maxRecordDepth}, so that a record nested
 * too deep reaches staging and is rejected alone while the rest of the response lands. Only a body deeper than this
 * (adversarial: 100 000 levels) fails as a whole. The scanner keeps one byte per level: 100 KB.
 */
export const maxBodyDepth = 100_000;

/**
 * Whether a JSON text of `length` characters (or bytes: a text has at least as many UTF-8 bytes as UTF-16 units)
 * could nest deeper than `limit` at all: each level takes two characters.
 */
export function longEnoughToNest(length: number, limit: number): boolean {
  return length >= 2 * (limit + 1);
}

/**
 * True when the JSON text nests arrays/objects deeper than `limit`. Free for texts too short to be that deep (each
 * level takes two characters), which is nearly every record; otherwise one pass that skips strings natively.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  if (!longEnoughToNest(text.length, limit)) return false;
  let depth = 0;
  let i = 0;
  const length = text.length;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = stringEnd(text, i);
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
    i += 1;
  }
  return false;
}
